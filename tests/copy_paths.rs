//! Plain transfers through both copying paths: on Linux the kernel's (splice, sendfile), and
//! the read/write loop every Unix has, forced with `NCAT_PORTABLE_COPY`.

use crate::common::*;
use std::io::{Read, Write};
use std::process::Stdio;

const PATHS: [Option<&str>; 2] = [None, Some("1")];

fn with_path(mut command: std::process::Command, portable: Option<&str>) -> std::process::Command {
    match portable {
        Some(v) => command.env("NCAT_PORTABLE_COPY", v),
        None => command.env_remove("NCAT_PORTABLE_COPY"),
    };
    command
}

/// `ncat -l > file` and `ncat host < file`: regular files at both ends.
#[test]
fn file_to_file() {
    let data = pattern(6 << 20, 21);
    for portable in PATHS {
        let dir =
            std::env::temp_dir().join(format!("ncat-copy-{}-{portable:?}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (src, dst) = (dir.join("in.bin"), dir.join("out.bin"));
        std::fs::write(&src, &data).unwrap();
        let mut listen = with_path(ncat(), portable);
        listen
            .args(["-v", "-l", "127.0.0.1", "0"])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&dst).unwrap())
            .stderr(Stdio::piped());
        let mut server = listen.spawn().unwrap();
        let mut err = std::io::BufReader::new(server.stderr.take().unwrap());
        let port = loop {
            let mut line = String::new();
            assert!(std::io::BufRead::read_line(&mut err, &mut line).unwrap() > 0);
            if let Some(p) = line.trim().strip_prefix("Ncat: Listening on 127.0.0.1:") {
                break p.to_string();
            }
        };
        let mut send = with_path(ncat(), portable);
        send.args(["127.0.0.1", &port])
            .stdin(std::fs::File::open(&src).unwrap());
        assert!(send.status().unwrap().success(), "{portable:?}");
        assert!(server.wait().unwrap().success(), "{portable:?}");
        let got = std::fs::read(&dst).unwrap();
        assert_eq!(checksum(&got), checksum(&data), "{portable:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// Pipes at both ends (`producer | ncat host`, `ncat -l | consumer`), with an echo in between,
/// so both directions run at once.
#[test]
fn pipe_to_pipe_both_ways() {
    let data = pattern(4 << 20, 22);
    for portable in PATHS {
        let (server, port) = {
            let mut args = vec!["-v"];
            args.extend(["-l", "127.0.0.1", "0", "-e", "/bin/cat"]);
            let mut command = with_path(ncat(), portable);
            command.args(&args).stdin(Stdio::null());
            let proc = Proc::spawn_command(command);
            proc.wait_stderr("Listening on ");
            let port = proc.listening_port();
            (proc, port)
        };
        let mut client = with_path(ncat(), portable);
        let mut child = client
            .args(["127.0.0.1", &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let sent = data.clone();
        let writer = std::thread::spawn(move || stdin.write_all(&sent).unwrap());
        let mut got = Vec::new();
        child.stdout.take().unwrap().read_to_end(&mut got).unwrap();
        writer.join().unwrap();
        assert!(child.wait().unwrap().success(), "{portable:?}");
        assert_eq!(checksum(&got), checksum(&data), "{portable:?}");
        drop(server);
    }
}

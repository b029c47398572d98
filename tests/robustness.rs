//! Pipes, signals and closed descriptors: each ends the program in a defined way.

use crate::common::*;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Stdio;
use std::thread;

#[test]
fn a_reader_that_goes_away_ends_the_program_quietly() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let block = vec![b'x'; 1 << 16];
        while conn.write_all(&block).is_ok() {}
    });
    // Like `ncat host port | head -c 10`.
    let mut child = ncat()
        .args(["127.0.0.1", &port])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 10];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let status = wait_child(&mut child);
    assert_eq!(status.code(), Some(0));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(stderr, "");
}

#[test]
fn closed_or_null_stdin_counts_as_eof() {
    for redirect in ["<&-", "</dev/null"] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port().to_string();
        let server = thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            conn.set_read_timeout(Some(PATIENCE)).unwrap();
            let got = read_to_end(&mut conn);
            conn.write_all(b"reply\n").unwrap();
            got
        });
        let bin = env!("CARGO_BIN_EXE_ncat");
        let out = std::process::Command::new("sh")
            .args(["-c", &format!("exec {bin} 127.0.0.1 {port} {redirect}")])
            .output()
            .unwrap();
        assert!(out.status.success(), "{redirect}");
        assert_eq!(out.stdout, b"reply\n", "{redirect}");
        assert!(server.join().unwrap().is_empty(), "{redirect}");
    }
}

#[test]
fn sigint_and_sigterm_end_every_mode_promptly_with_the_signal_status() {
    use std::os::unix::process::ExitStatusExt;
    let echo = TcpListener::bind("127.0.0.1:0").unwrap();
    let echo_port = echo.local_addr().unwrap().port().to_string();
    thread::spawn(move || {
        // Holds every connection open, silent.
        let mut held = Vec::new();
        while let Ok((conn, _)) = echo.accept() {
            held.push(conn);
        }
    });
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let modes: [&[&str]; 4] = [
            &["-v", "127.0.0.1", &echo_port],
            &["-v", "-l", "127.0.0.1", "0"],
            &["-v", "--broker", "127.0.0.1", "0"],
            &["-v", "-l", "--chat", "--ssl", "127.0.0.1", "0"],
        ];
        for args in modes {
            let mut proc = Proc::spawn(args, false);
            proc.wait_stderr(if args.contains(&"-l") || args.contains(&"--broker") {
                "Listening on "
            } else {
                "Connected to "
            });
            // SAFETY: signalling our own child.
            unsafe { libc::kill(proc.child.id() as i32, signal) };
            let status = proc
                .wait_exit_within(PATIENCE)
                .unwrap_or_else(|| panic!("{args:?} ignored signal {signal}"));
            // Killed by the signal, as Ncat is: a shell reports 128 + the signal number.
            assert_eq!(status.signal(), Some(signal), "{args:?}");
            assert!(!proc.stderr().contains("panicked"));
        }
    }
}

fn wait_child(child: &mut std::process::Child) -> std::process::ExitStatus {
    if let Some(status) = wait_for(|| child.try_wait().unwrap()) {
        return status;
    }
    let _ = child.kill();
    panic!("ncat did not exit after its reader went away");
}

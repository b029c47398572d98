//! `--allow`, `--deny` and their files, end to end.

use crate::common::*;
use std::io::{Read, Write};
use std::net::TcpStream;

/// Connects from a given loopback source address.
fn connect_from(source: &str, port: u16) -> TcpStream {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let src: std::net::SocketAddr = format!("{source}:0").parse().unwrap();
    sock.bind(&src.into()).unwrap();
    let dst: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    sock.connect(&dst.into()).unwrap();
    let stream: TcpStream = sock.into();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
}

fn is_refused(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 16];
    matches!(stream.read(&mut buf), Ok(0) | Err(_))
}

#[test]
fn allow_admits_only_listed_clients() {
    let (listener, port) = Proc::listen(&["-lk", "--allow", "127.0.0.2", "127.0.0.1", "0"]);
    let mut denied = connect_from("127.0.0.1", port);
    assert!(is_refused(&mut denied));
    listener.wait_stderr("Ncat: New connection denied: not allowed\n");
    let mut allowed = connect_from("127.0.0.2", port);
    allowed.write_all(b"in\n").unwrap();
    assert_eq!(listener.wait_stdout_len(3), b"in\n");
}

#[test]
fn deny_wins_and_single_mode_keeps_listening() {
    let (mut listener, port) = Proc::listen(&[
        "-l",
        "--allow",
        "127.0.0.0/8",
        "--deny",
        "127.0.0.1",
        "127.0.0.1",
        "0",
    ]);
    let mut denied = connect_from("127.0.0.1", port);
    assert!(is_refused(&mut denied));
    // Ncat 7.93 hangs here; we keep listening and serve the next allowed client.
    let mut ok = connect_from("127.0.0.3", port);
    ok.write_all(b"served\n").unwrap();
    assert_eq!(listener.wait_stdout_len(7), b"served\n");
    drop(ok);
    assert!(listener.wait_exit().success());
}

#[test]
fn hosts_files_take_ranges_and_any_whitespace() {
    let file = std::env::temp_dir().join(format!("ncat-allowfile-{}", std::process::id()));
    std::fs::write(&file, "127.0.0.5\n\t127.0.1-3.1,9   10.0.0.0/8\n").unwrap();
    let (listener, port) = Proc::listen(&[
        "--broker",
        "--allowfile",
        file.to_str().unwrap(),
        "127.0.0.1",
        "0",
    ]);
    let mut a = connect_from("127.0.2.9", port);
    let mut b = connect_from("127.0.0.5", port);
    let mut c = connect_from("127.0.4.1", port);
    assert!(is_refused(&mut c));
    // Two `Connection from` lines per client, then the denial.
    listener.wait_stderr("not allowed");
    // The broker logs a client and registers it under one lock, so once both lines of `b`
    // are out, what `a` sends reaches it.
    listener.wait_stderr_count("Connection from 127.0.", 6);
    a.write_all(b"hello\n").unwrap();
    assert_eq!(read_n(&mut b, 6), b"hello\n");
    let _ = std::fs::remove_file(&file);
}

#[test]
fn bad_specifications_are_fatal() {
    let run = |args: &[&str]| {
        let out = ncat().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert_eq!(
        run(&["-l", "--allow", "127.0.0.1/33"]),
        "Ncat: Illegal netmask in \"127.0.0.1/33\". Must be smaller than address bit length.\n\
         Ncat: error in host specification \"127.0.0.1/33\". QUITTING.\n"
    );
    assert_eq!(
        run(&["-l", "-n", "--deny", "localhost"]),
        "Ncat: Error resolving name \"localhost\": Name or service not known\n\
         Ncat: error in host specification \"localhost\". QUITTING.\n"
    );
    assert_eq!(
        run(&["-l", "--allowfile", "/nonexistent-file"]),
        "Ncat: can't open /nonexistent-file: No such file or directory. QUITTING.\n"
    );
    assert_eq!(
        run(&["--allow", "1.2.3.4", "127.0.0.1", "80"]),
        "Ncat: Invalid option combination: allow/deny with connect. QUITTING.\n"
    );
}

#[test]
fn deny_is_ignored_in_connect_mode() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let out = ncat()
        .args(["--deny", "127.0.0.1", "-z", "127.0.0.1", &port])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

fn hang_up(proc: &Proc) {
    // SAFETY: sending a signal to our own child.
    unsafe { libc::kill(proc.child.id() as i32, libc::SIGHUP) };
}

#[test]
fn sighup_reads_the_hosts_files_again_and_a_broken_file_keeps_the_old_lists() {
    let dir = std::env::temp_dir().join(format!("ncat-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("deny.txt");
    std::fs::write(&file, "127.0.0.9\n").unwrap();
    let path = file.to_str().unwrap();
    let (mut listener, port) = Proc::listen(&["-lk", "--denyfile", path, "127.0.0.1", "0"]);
    let mut before = connect_from("127.0.0.2", port);
    before.write_all(b"a\n").unwrap();
    listener.wait_stdout_len(2);

    std::fs::write(&file, "127.0.0.2\n").unwrap();
    hang_up(&listener);
    listener.wait_stderr("Access lists read again (SIGHUP).");
    assert!(is_refused(&mut connect_from("127.0.0.2", port)));
    listener.wait_stderr("New connection denied: not allowed");
    // A client admitted before the reload is served on.
    before.write_all(b"b\n").unwrap();
    assert_eq!(listener.wait_stdout_len(4), b"a\nb\n");

    std::fs::write(&file, "127.0.0.3/99\n").unwrap();
    hang_up(&listener);
    listener.wait_stderr("The previous access lists stay in force.");
    assert!(
        listener
            .stderr()
            .contains("Illegal netmask in \"127.0.0.3/99\"")
    );
    assert!(is_refused(&mut connect_from("127.0.0.2", port)));
    let mut other = connect_from("127.0.0.3", port);
    other.write_all(b"c\n").unwrap();
    assert_eq!(listener.wait_stdout_len(6), b"a\nb\nc\n");
    assert!(listener.is_running());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn with_hosts_files_sighup_does_not_end_an_exec_server() {
    let dir = std::env::temp_dir().join(format!("ncat-reload-exec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("allow.txt");
    std::fs::write(&file, "127.0.0.1\n").unwrap();
    let path = file.to_str().unwrap();
    let (mut listener, port) = Proc::listen(&[
        "-lk",
        "--allowfile",
        path,
        "-e",
        "/bin/cat",
        "127.0.0.1",
        "0",
    ]);
    hang_up(&listener);
    listener.wait_stderr("Access lists read again (SIGHUP).");
    let mut client = connect(port);
    client.write_all(b"echo\n").unwrap();
    assert_eq!(read_n(&mut client, 5), b"echo\n");
    assert!(listener.is_running());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn in_connect_mode_sighup_keeps_its_usual_meaning_despite_a_denyfile() {
    let dir = std::env::temp_dir().join(format!("ncat-reload-connect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("deny.txt");
    std::fs::write(&file, "10.0.0.1\n").unwrap();
    let (server, port) = tcp_server();
    let mut client = Proc::spawn(
        &["--denyfile", file.to_str().unwrap(), "127.0.0.1", &port],
        false,
    );
    let mut peer = accept_client(&server);
    // A line through first: the client is then surely running, its handlers in place.
    client.write_stdin(b"up\n");
    assert_eq!(read_n(&mut peer, 3), b"up\n");
    hang_up(&client);
    let status = client.wait_exit();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGHUP), "{status:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

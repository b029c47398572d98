//! Listen mode: single connection, keep-open and the connection limit.

use crate::common::*;
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

#[test]
fn two_user_chat_both_directions() {
    let (mut listener, port) = Proc::listen(&["-l", "127.0.0.1", "0"]);
    let mut client = Proc::spawn(&["127.0.0.1", &port.to_string()], false);
    listener.wait_stderr("Connection from 127.0.0.1:");

    client.write_stdin(b"hi from the client\n");
    assert_eq!(listener.wait_stdout_len(19), b"hi from the client\n");
    listener.write_stdin(b"hi from the listener\n");
    assert_eq!(client.wait_stdout_len(21), b"hi from the listener\n");

    // The client's stdin ends: it half-closes; the listener sees EOF and exits 0, which closes
    // the connection, so the client exits 0 too.
    client.close_stdin();
    assert!(listener.wait_exit().success());
    assert!(client.wait_exit().success());
}

#[test]
fn file_transfer_is_byte_exact() {
    let data = pattern(8 << 20, 42);
    let file = std::env::temp_dir().join(format!("ncat-transfer-{}", std::process::id()));
    std::fs::write(&file, &data).unwrap();
    // As in a script: the receiving listener's stdin is /dev/null.
    let (mut receiver, port) = Proc::listen_with(&["-l", "127.0.0.1", "0"], true);
    let sender = ncat()
        .args(["127.0.0.1", &port.to_string()])
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    assert!(
        sender.status.success(),
        "{}",
        String::from_utf8_lossy(&sender.stderr)
    );
    assert!(receiver.wait_exit().success());
    let got = receiver.wait_stdout_closed();
    assert_eq!(got.len(), data.len());
    assert_eq!(checksum(&got), checksum(&data));
}

#[test]
fn file_transfer_from_the_listener() {
    let data = pattern(3 << 20, 9);
    let (mut sender, port) = Proc::listen(&["-l", "127.0.0.1", "0"]);
    // The listener reads stdin only once a client is connected: feed it from another thread.
    let mut stdin = sender.stdin.take().unwrap();
    let feed = data.clone();
    let feeder = std::thread::spawn(move || stdin.write_all(&feed).unwrap());
    // The receiving client keeps its stdin open (as at a terminal): if it half-closed, the
    // listener would take that as the end of the session, as Ncat does.
    let mut receiver = Proc::spawn(&["127.0.0.1", &port.to_string()], false);
    let got = receiver.wait_stdout_closed();
    feeder.join().unwrap();
    assert_eq!(got.len(), data.len());
    assert_eq!(checksum(&got), checksum(&data));
    assert!(receiver.wait_exit().success());
    assert!(sender.wait_exit().success());
}

#[test]
fn single_mode_stops_listening_after_one_client() {
    let (listener, port) = Proc::listen(&["-l", "127.0.0.1", "0"]);
    let _first = connect(port);
    listener.wait_stderr("Connection from 127.0.0.1:");
    // Give the listener a moment to close its socket, then a second client is refused.
    let refused = wait_for(|| TcpStream::connect(("127.0.0.1", port)).err());
    assert!(refused.is_some(), "second connection was accepted");
}

#[test]
fn client_reset_exits_1_silently() {
    let (mut listener, port) = Proc::listen(&["-l", "127.0.0.1", "0"]);
    let conn = connect(port);
    let sock = socket2::Socket::from(conn);
    sock.set_linger(Some(Duration::ZERO)).unwrap();
    listener.wait_stderr("Connection from 127.0.0.1:");
    drop(sock);
    assert_eq!(listener.wait_exit().code(), Some(1));
}

#[test]
fn keep_open_with_three_clients() {
    let (mut listener, port) = Proc::listen(&["-lk", "127.0.0.1", "0"]);
    let mut clients: Vec<TcpStream> = (0..3).map(|_| connect(port)).collect();
    listener.wait_stderr_count("Connection from 127.0.0.1:", 3);

    // Each client's data reaches stdout; clients do not see each other.
    for (i, c) in clients.iter_mut().enumerate() {
        c.write_all(format!("client{i}\n").as_bytes()).unwrap();
        listener.wait_stdout_len(8 * (i + 1));
    }
    let out = String::from_utf8(listener.stdout()).unwrap();
    for i in 0..3 {
        assert!(out.contains(&format!("client{i}\n")), "{out}");
    }

    // stdin goes to every client.
    listener.write_stdin(b"to all\n");
    for c in clients.iter_mut() {
        assert_eq!(read_n(c, 7), b"to all\n");
    }

    // A client leaving closes only that client.
    drop(clients.pop());
    clients[0].write_all(b"still here\n").unwrap();
    listener.wait_stdout_len(24 + 11);

    // stdin EOF half-closes the clients connected now; the listener keeps running.
    listener.close_stdin();
    for c in clients.iter_mut() {
        assert_eq!(read_to_end(c), b"");
    }
    assert!(listener.is_running());
    let mut late = connect(port);
    late.write_all(b"late\n").unwrap();
    listener.wait_stdout_len(35 + 5);
}

#[test]
fn max_conns_rejects_then_frees_slots() {
    let (listener, port) = Proc::listen(&["-lk", "-m", "2", "127.0.0.1", "0"]);
    let first = connect(port);
    let _second = connect(port);
    let mut third = connect(port);
    // The third is accepted and closed at once.
    assert_eq!(read_to_end(&mut third), b"");
    listener.wait_stderr("Ncat: New connection denied: connection limit reached (2)\n");

    // When a client leaves, its slot is free again.
    drop(first);
    let mut fourth = wait_for(|| {
        let mut c = connect(port);
        c.write_all(b"x\n").ok()?;
        c.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut buf = [0u8; 1];
        match std::io::Read::read(&mut c, &mut buf) {
            Ok(0) => None, // rejected: the slot is not free yet
            _ => Some(c),  // still open: admitted
        }
    })
    .expect("a slot was freed");
    fourth.write_all(b"y\n").unwrap();
    listener.wait_stdout_len(4);
}

#[test]
fn zero_max_conns_rejects_without_hanging() {
    // Ncat 7.93 stops listening first and then hangs; we keep listening.
    let (mut listener, port) = Proc::listen(&["-l", "-m", "0", "127.0.0.1", "0"]);
    let mut c = connect(port);
    assert_eq!(read_to_end(&mut c), b"");
    let mut c = connect(port);
    assert_eq!(read_to_end(&mut c), b"");
    assert!(listener.is_running());
    assert!(listener.stderr().contains(
        "Ncat: Warning: Maximum connections ignored, since it does not take effect without -k or --broker."
    ));
}

#[test]
fn send_only_listener_notices_the_client_leaving() {
    let (mut listener, port) = Proc::listen(&["-l", "--send-only", "127.0.0.1", "0"]);
    let mut c = connect(port);
    listener.wait_stderr("Connection from 127.0.0.1:");
    listener.write_stdin(b"out\n");
    assert_eq!(read_n(&mut c, 4), b"out\n");
    c.write_all(b"ignored\n").unwrap();
    drop(c);
    assert!(listener.wait_exit().success());
    assert_eq!(listener.stdout(), b"");
}

#[test]
fn recv_only_listener_ignores_stdin() {
    // Ncat 7.991: --recv-only never reads stdin, so its EOF half-closes nothing (7.93 read
    // stdin, dropped it, and half-closed at its EOF).
    let (mut listener, port) = Proc::listen(&["-l", "--recv-only", "127.0.0.1", "0"]);
    let mut c = connect(port);
    listener.wait_stderr("Connection from 127.0.0.1:");
    listener.write_stdin(b"never sent\n");
    listener.close_stdin();
    assert_silent(&mut c, Duration::from_millis(300));
    c.write_all(b"in\n").unwrap();
    assert_eq!(listener.wait_stdout_len(3), b"in\n");
}

#[test]
fn no_shutdown_keeps_the_connection_open() {
    let (mut listener, port) = Proc::listen(&["-l", "--no-shutdown", "127.0.0.1", "0"]);
    let mut c = connect(port);
    listener.wait_stderr("Connection from 127.0.0.1:");
    listener.close_stdin();
    assert_silent(&mut c, Duration::from_millis(300));
    c.write_all(b"still\n").unwrap();
    assert_eq!(listener.wait_stdout_len(6), b"still\n");
}

#[test]
fn default_bind_is_dual_stack_with_real_ports() {
    let (listener, _) = Proc::listen(&["-l", "0"]);
    let stderr = listener.wait_stderr("Listening on 0.0.0.0:");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("Listening on"))
        .collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(lines[0].starts_with("Ncat: Listening on :::"), "{stderr}");
    assert!(
        lines[1].starts_with("Ncat: Listening on 0.0.0.0:"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(":0\n"),
        "port 0 must be reported as the real port: {stderr}"
    );
}

#[test]
fn ipv6_listener() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        return;
    }
    let (listener, port) = Proc::listen(&["-l", "::1", "0"]);
    let mut c = std::net::TcpStream::connect(("::1", port)).unwrap();
    c.write_all(b"v6\n").unwrap();
    assert_eq!(listener.wait_stdout_len(3), b"v6\n");
    assert!(listener.stderr().contains("Ncat: Connection from ::1:"));
}

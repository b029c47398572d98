//! `-u`: UDP connect and listen.

use crate::common::*;
use std::net::UdpSocket;
use std::time::Duration;

fn server() -> (UdpSocket, String) {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(PATIENCE)).unwrap();
    let port = sock.local_addr().unwrap().port().to_string();
    (sock, port)
}

#[test]
fn connect_sends_datagrams_and_an_empty_one_ends_it() {
    let (srv, port) = server();
    let mut client = Proc::spawn(&["-u", "127.0.0.1", &port], false);
    client.write_stdin(b"hello\n");
    let mut buf = vec![0u8; 70_000];
    let (n, peer) = srv.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"hello\n");
    // A datagram far above Ncat's 8 KiB arrives whole.
    let big = pattern(60_000, 3);
    srv.send_to(&big, peer).unwrap();
    assert_eq!(client.wait_stdout_len(60_000), big);
    srv.send_to(b"", peer).unwrap();
    assert!(client.wait_exit().success());
}

#[test]
fn stdin_eof_ends_the_client_unless_q_waits() {
    let (srv, port) = server();
    let mut quick = Proc::spawn(&["-u", "127.0.0.1", &port], false);
    quick.write_stdin(b"q1");
    quick.close_stdin();
    assert!(quick.wait_exit().success());
    let mut buf = [0u8; 16];
    let _ = srv.recv_from(&mut buf).unwrap();

    let mut waiting = Proc::spawn(&["-u", "-q", "2", "127.0.0.1", &port], false);
    waiting.write_stdin(b"query");
    waiting.close_stdin();
    let (n, peer) = srv.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"query");
    // Kept: the answer is delayed on purpose, so it is the -q wait after stdin's EOF that
    // receives it.
    std::thread::sleep(Duration::from_millis(200));
    srv.send_to(b"answer", peer).unwrap();
    assert_eq!(waiting.wait_stdout_len(6), b"answer");
    // Ncat 7.96 and later end the -q wait as an idle timeout: its message, status 1.
    assert_eq!(waiting.wait_exit().code(), Some(1));
    assert_eq!(waiting.stderr(), "Ncat: Idle timeout expired (2000 ms).\n");
}

#[test]
fn closed_port_is_connection_refused() {
    let (srv, port) = server();
    drop(srv);
    let mut client = Proc::spawn(&["-u", "127.0.0.1", &port], false);
    client.write_stdin(b"anyone?");
    assert_eq!(client.wait_exit().code(), Some(1));
    assert_eq!(client.stderr(), "Ncat: Connection refused.\n");
}

#[test]
fn listener_serves_the_first_peer() {
    let (mut listener, port) = Proc::listen(&["-u", "-l", "127.0.0.1", "0"]);
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(PATIENCE)).unwrap();
    peer.send_to(b"first\n", ("127.0.0.1", port)).unwrap();
    assert_eq!(listener.wait_stdout_len(6), b"first\n");
    listener.wait_stderr("Ncat: Connection from 127.0.0.1.\n");
    listener.write_stdin(b"back\n");
    let mut buf = [0u8; 64];
    let (n, _) = peer.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"back\n");
    // Another source is not heard: the socket is connected to the first peer.
    let other = UdpSocket::bind("127.0.0.1:0").unwrap();
    other.send_to(b"intruder\n", ("127.0.0.1", port)).unwrap();
    peer.send_to(b"second\n", ("127.0.0.1", port)).unwrap();
    assert_eq!(listener.wait_stdout_len(13), b"first\nsecond\n");
    // stdin EOF does not end a UDP listener (as in Ncat 7.93).
    listener.close_stdin();
    // Kept: checks that nothing (no exit) happens for a while after the EOF.
    std::thread::sleep(Duration::from_millis(200));
    assert!(listener.is_running());
}

#[test]
fn udp_option_errors() {
    for (args, msg) in [
        (
            &["-u", "-l", "--broker", "9"][..],
            "UDP mode does not support connection brokering.",
        ),
        // Ncat 7.96 and later: -q works with every protocol, and -k only with TCP.
        (
            &["-k", "-u", "127.0.0.1", "9"][..],
            "Invalid option combination: `--keep-open' with non-TCP protocol.",
        ),
    ] {
        let out = ncat().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("Ncat: {msg} QUITTING.\n")
        );
    }
}

#[test]
fn probe_reports_open_and_closed_udp_ports() {
    let (srv, port) = server();
    let out = ncat()
        .args(["-u", "-z", "-v", "-i", "300ms", "127.0.0.1", &port])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Ncat: UDP packet sent successfully\n"),
        "{stderr}"
    );
    let mut buf = [1u8; 4];
    let (n, _) = srv.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], [0]);
    drop(srv);
    let out = ncat()
        .args(["-u", "-z", "-v", "127.0.0.1", &port])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).ends_with("Ncat: Connection refused.\n"));
}

#[test]
fn exec_over_udp_listen_and_connect() {
    let (_listener, port) = Proc::listen(&[
        "-u",
        "-l",
        "-c",
        "read x; echo got $x $NCAT_PROTO",
        "127.0.0.1",
        "0",
    ]);
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(PATIENCE)).unwrap();
    peer.send_to(b"ping\n", ("127.0.0.1", port)).unwrap();
    let mut buf = [0u8; 256];
    let (n, _) = peer.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"got ping UDP\n");

    let (srv, port) = server();
    let out = ncat()
        .args(["-u", "-c", "echo hello $NCAT_PROTO", "127.0.0.1", &port])
        .output()
        .unwrap();
    assert!(out.status.success());
    let (n, _) = srv.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"hello UDP\n");
}

#[test]
fn keep_open_listener_serves_several_peers() {
    let (mut listener, port) = Proc::listen(&["-u", "-lk", "-m", "2", "127.0.0.1", "0"]);
    let peers: Vec<UdpSocket> = (0..3)
        .map(|_| {
            let s = UdpSocket::bind("127.0.0.1:0").unwrap();
            s.set_read_timeout(Some(PATIENCE)).unwrap();
            s
        })
        .collect();
    peers[0].send_to(b"one\n", ("127.0.0.1", port)).unwrap();
    listener.wait_stdout_len(4);
    peers[1].send_to(b"two\n", ("127.0.0.1", port)).unwrap();
    listener.wait_stdout_len(8);
    // A third peer is over -m 2: its datagram is dropped.
    peers[2].send_to(b"three\n", ("127.0.0.1", port)).unwrap();
    listener.wait_stderr("connection limit reached (2)");
    peers[0].send_to(b"again\n", ("127.0.0.1", port)).unwrap();
    assert_eq!(listener.wait_stdout_len(14), b"one\ntwo\nagain\n");
    // stdin goes to every admitted peer.
    listener.write_stdin(b"all\n");
    let mut buf = [0u8; 64];
    for peer in &peers[..2] {
        let (n, _) = peer.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"all\n");
    }
}

#[test]
fn keep_open_exec_runs_a_child_per_peer() {
    let (_listener, port) = Proc::listen(&[
        "-u",
        "-lk",
        "-c",
        "while read x; do echo $$ $x; done",
        "127.0.0.1",
        "0",
    ]);
    let mut buf = [0u8; 128];
    let mut ask = |peer: &UdpSocket, line: &[u8]| {
        peer.send_to(line, ("127.0.0.1", port)).unwrap();
        let n = peer.recv(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    a.set_read_timeout(Some(PATIENCE)).unwrap();
    b.set_read_timeout(Some(PATIENCE)).unwrap();
    let a1 = ask(&a, b"one\n");
    let b1 = ask(&b, b"two\n");
    let a2 = ask(&a, b"three\n");
    let pid = |s: &str| s.split(' ').next().unwrap().to_string();
    assert!(a1.ends_with(" one\n") && b1.ends_with(" two\n") && a2.ends_with(" three\n"));
    assert_eq!(pid(&a1), pid(&a2), "a peer keeps its child");
    assert_ne!(pid(&a1), pid(&b1), "each peer has its own child");
}

/// Stops `proc` (SIGSTOP) while `work` runs, so that what `work` sends queues in the kernel.
fn while_stopped(proc: &Proc, work: impl FnOnce()) {
    let pid = proc.child.id() as i32;
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    work();
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGCONT) };
}

/// A burst queued while the listener cannot read arrives whole and in order once it runs
/// again, and an empty datagram among it is skipped. The listener widens its receive queue
/// (up to `net.core.rmem_max`, to which the burst is sized) so the burst fits.
#[test]
fn a_burst_queued_while_the_listener_is_stopped_arrives_whole() {
    let (listener, port) = Proc::listen(&["-u", "-l", "127.0.0.1", "0"]);
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.connect(("127.0.0.1", port)).unwrap();
    peer.send(b"first\n").unwrap();
    assert_eq!(listener.wait_stdout_len(6), b"first\n");
    let rmem_max: usize = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(212_992);
    let count = (rmem_max / 4 / 1400).clamp(16, 1000) as u64;
    let mut expected = b"first\n".to_vec();
    while_stopped(&listener, || {
        for i in 0..count {
            if i == count / 2 {
                peer.send(b"").unwrap();
            }
            let datagram = pattern(1400, i);
            peer.send(&datagram).unwrap();
            expected.extend_from_slice(&datagram);
        }
    });
    let got = listener.wait_stdout_len(expected.len());
    assert_eq!(got.len(), expected.len(), "of {count} datagrams");
    assert!(got == expected, "datagrams cut, lost or out of order");
}

/// A client ends at an empty datagram even when more are queued behind it, after printing
/// everything before it.
#[test]
fn a_client_ends_at_an_empty_datagram_queued_behind_others() {
    let (srv, port) = server();
    let mut client = Proc::spawn(&["-u", "127.0.0.1", &port], false);
    client.write_stdin(b"hi\n");
    let mut buf = [0u8; 16];
    let (_, peer) = srv.recv_from(&mut buf).unwrap();
    let mut expected = Vec::new();
    while_stopped(&client, || {
        for i in 0..50 {
            let datagram = pattern(1000, i);
            srv.send_to(&datagram, peer).unwrap();
            expected.extend_from_slice(&datagram);
        }
        srv.send_to(b"", peer).unwrap();
        srv.send_to(b"not printed\n", peer).unwrap();
    });
    assert!(client.wait_exit().success());
    assert!(client.wait_stdout_closed() == expected);
}

/// `-t` over UDP: negotiation at the start of a datagram is answered with a datagram to its
/// sender and kept off stdout, in connect mode and by both kinds of listener.
#[test]
fn telnet_negotiation_is_answered_over_udp() {
    const NEGOTIATION: [u8; 6] = [0xff, 0xfd, 0x01, 0xff, 0xfb, 0x03];
    const ANSWER: [u8; 6] = [0xff, 0xfc, 0x01, 0xff, 0xfe, 0x03];
    let datagram = [&NEGOTIATION[..], b"login: "].concat();
    let mut buf = [0u8; 64];

    let (srv, port) = server();
    let mut client = Proc::spawn(&["-t", "-u", "127.0.0.1", &port], false);
    client.write_stdin(b"hi\n");
    let (n, peer) = srv.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"hi\n");
    srv.send_to(&datagram, peer).unwrap();
    let (n, _) = srv.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], ANSWER);
    assert_eq!(client.wait_stdout_len(7), b"login: ");
    srv.send_to(b"", peer).unwrap();
    assert!(client.wait_exit().success());

    for keep_open in [false, true] {
        let mode = if keep_open { "-lk" } else { "-l" };
        let (listener, port) = Proc::listen(&["-t", "-u", mode, "127.0.0.1", "0"]);
        let (peer, _) = server();
        peer.send_to(&datagram, ("127.0.0.1", port)).unwrap();
        let (n, _) = peer.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], ANSWER, "{mode}");
        assert_eq!(listener.wait_stdout_len(7), b"login: ", "{mode}");
    }
}

/// `-o` on a UDP listener: a refused peer's datagram is logged as Ncat logs it, then the
/// served peer's datagrams once each, the first included.
#[test]
fn listener_log_holds_the_refused_datagram_and_each_served_one_once() {
    let dir = std::env::temp_dir().join(format!("ncat-udp-log-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("out.log");
    let log_arg = log.to_str().unwrap();
    let (listener, port) = Proc::listen(&[
        "-u",
        "-l",
        "-v",
        "-o",
        log_arg,
        "--deny",
        "127.0.0.2",
        "127.0.0.1",
        "0",
    ]);
    let stranger = UdpSocket::bind("127.0.0.2:0").unwrap();
    stranger.send_to(b"denied\n", ("127.0.0.1", port)).unwrap();
    listener.wait_stderr("Connection from 127.0.0.2.");
    let (peer, _) = server();
    peer.send_to(b"first\n", ("127.0.0.1", port)).unwrap();
    peer.send_to(b"second\n", ("127.0.0.1", port)).unwrap();
    assert_eq!(listener.wait_stdout_len(13), b"first\nsecond\n");
    assert_eq!(std::fs::read(&log).unwrap(), b"denied\nfirst\nsecond\n");
    let _ = std::fs::remove_dir_all(&dir);
}

//! `-U`: Unix domain stream sockets in every mode.

use crate::common::*;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

/// A fresh socket path, removed when the test ends.
struct SocketPath(PathBuf);

impl SocketPath {
    fn new(name: &str) -> SocketPath {
        let path = std::env::temp_dir().join(format!("ncat-{name}-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        SocketPath(path)
    }

    fn as_str(&self) -> &str {
        self.0.to_str().unwrap()
    }

    fn connect(&self) -> UnixStream {
        let stream = wait_for(|| UnixStream::connect(&self.0).ok()).expect("connect");
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream
    }
}

impl Drop for SocketPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn read_exact(stream: &mut UnixStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    stream.read_exact(&mut buf).unwrap();
    buf
}

#[test]
fn two_way_session_over_a_unix_socket() {
    let path = SocketPath::new("two-way");
    let mut listener = Proc::listen_ready(&["-l", "-U", path.as_str()]);
    assert!(
        listener
            .stderr()
            .contains(&format!("Ncat: Listening on {}\n", path.as_str()))
    );
    let mut client = Proc::spawn(&["-v", "-U", path.as_str()], false);
    listener.wait_stderr("Connection from a client on Unix domain socket.");
    client.write_stdin(b"to listener\n");
    assert_eq!(listener.wait_stdout_len(12), b"to listener\n");
    listener.write_stdin(b"to client\n");
    assert_eq!(client.wait_stdout_len(10), b"to client\n");
    client.close_stdin();
    assert!(listener.wait_exit().success());
    assert!(client.wait_exit().success());
    assert!(
        client
            .stderr()
            .contains(&format!("Ncat: Connected to {}.\n", path.as_str()))
    );
    // As in Ncat, the socket file stays.
    assert!(path.0.exists());
}

#[test]
fn broker_and_chat_over_unix_sockets() {
    let path = SocketPath::new("broker");
    let broker = Proc::listen_ready(&["--broker", "-U", path.as_str()]);
    let mut a = path.connect();
    let mut b = path.connect();
    let mut c = path.connect();
    // All three are logged (and so registered) before `a` speaks.
    let unix_client = "Connection from a client on Unix domain socket.";
    broker.wait_stderr_count(unix_client, 3);
    a.write_all(b"fan out\n").unwrap();
    assert_eq!(read_exact(&mut b, 8), b"fan out\n");
    assert_eq!(read_exact(&mut c, 8), b"fan out\n");

    let path = SocketPath::new("chat");
    let _chat = Proc::listen_ready(&["-l", "--chat", "-U", path.as_str()]);
    let mut a = path.connect();
    let hello =
        b"<announce> localhost is connected as <user4>.\n<announce> already connected: nobody.\n";
    assert_eq!(read_exact(&mut a, hello.len()), hello);
}

#[test]
fn exec_over_a_unix_socket() {
    let path = SocketPath::new("exec");
    let _listener = Proc::listen_ready(&[
        "-l",
        "-U",
        path.as_str(),
        "-c",
        "echo [$NCAT_REMOTE_ADDR][$NCAT_REMOTE_PORT][$NCAT_PROTO]",
    ]);
    let mut conn = path.connect();
    let mut got = String::new();
    conn.read_to_string(&mut got).unwrap();
    assert_eq!(got, "[localhost][][TCP]\n");
}

#[test]
fn unix_socket_errors() {
    let path = SocketPath::new("errors");
    let run = |args: &[&str]| {
        let out = ncat()
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(
        run(&["-U", path.as_str()]),
        (Some(1), "Ncat: No such file or directory.\n".to_string())
    );
    std::fs::write(&path.0, b"").unwrap();
    assert_eq!(
        run(&["-l", "-U", path.as_str()]),
        (
            Some(2),
            format!(
                "Ncat: bind to {}: Address already in use. QUITTING.\n",
                path.as_str()
            )
        )
    );
    assert_eq!(
        run(&["-l", "-U"]),
        (
            Some(2),
            "Ncat: You have to specify path to a socket to listen on. QUITTING.\n".to_string()
        )
    );
    assert_eq!(
        run(&["-U"]),
        (
            Some(2),
            "Ncat: You have to specify path to a socket to connect to. QUITTING.\n".to_string()
        )
    );
    assert_eq!(
        run(&["-U", "-p", "5", "/tmp/x"]),
        (
            Some(2),
            "Ncat: Specifying source port when using Unix domain sockets doesn't make sense. QUITTING.\n"
                .to_string()
        )
    );
}

#[test]
fn unix_datagrams_both_ways() {
    use std::os::unix::net::UnixDatagram;
    let server_path = SocketPath::new("dgram-server");
    let server = UnixDatagram::bind(&server_path.0).unwrap();
    server.set_read_timeout(Some(PATIENCE)).unwrap();
    // The client makes its own temporary socket so the server can answer it.
    let mut client = Proc::spawn(&["-v", "-U", "-u", server_path.as_str()], false);
    client.write_stdin(b"hello\n");
    let mut buf = [0u8; 64];
    let (n, from) = server.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"hello\n");
    let reply_to = from
        .as_pathname()
        .expect("a named client socket")
        .to_path_buf();
    server.send_to(b"world\n", &reply_to).unwrap();
    assert_eq!(client.wait_stdout_len(6), b"world\n");
    client.close_stdin();
    assert!(client.wait_exit().success());
    assert!(
        client
            .stderr()
            .contains("used as source DGRAM Unix domain socket.")
    );
    assert!(!reply_to.exists(), "the temporary client socket is removed");

    // And a listener: it answers the first named sender.
    let listen_path = SocketPath::new("dgram-listen");
    let mut listener = Proc::listen_ready(&["-l", "-U", "-u", listen_path.as_str()]);
    let peer_path = SocketPath::new("dgram-peer");
    let peer = UnixDatagram::bind(&peer_path.0).unwrap();
    peer.set_read_timeout(Some(PATIENCE)).unwrap();
    peer.send_to(b"first\n", &listen_path.0).unwrap();
    assert_eq!(listener.wait_stdout_len(6), b"first\n");
    listener.write_stdin(b"back\n");
    let n = peer.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"back\n");
}

#[test]
fn exec_over_unix_datagrams() {
    use std::os::unix::net::UnixDatagram;
    let listen_path = SocketPath::new("dgram-exec");
    let _listener = Proc::listen_ready(&[
        "-l",
        "-U",
        "-u",
        listen_path.as_str(),
        "-c",
        "read x; echo got $x $NCAT_PROTO",
    ]);
    let peer_path = SocketPath::new("dgram-exec-peer");
    let peer = UnixDatagram::bind(&peer_path.0).unwrap();
    peer.set_read_timeout(Some(PATIENCE)).unwrap();
    peer.send_to(b"ping\n", &listen_path.0).unwrap();
    let mut buf = [0u8; 64];
    let n = peer.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"got ping UDP\n");
}

/// A datagram listener still delivers what a sender sent when the sender's socket is gone by
/// the time the listener reads it (a client that sent and quit at once).
#[test]
fn a_datagram_from_a_sender_already_gone_is_delivered() {
    use std::os::unix::net::UnixDatagram;
    let listen_path = SocketPath::new("dgram-gone-listener");
    let sender_path = SocketPath::new("dgram-gone-sender");
    let listener = Proc::listen_ready(&["-v", "-l", "-U", "-u", listen_path.as_str()]);
    let pid = listener.child.id() as i32;
    // SAFETY: signalling our own child: stopped, it reads nothing until the sender is gone.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let sender = UnixDatagram::bind(&sender_path.0).unwrap();
    sender.send_to(b"abc\n", &listen_path.0).unwrap();
    drop(sender);
    std::fs::remove_file(&sender_path.0).unwrap();
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGCONT) };
    assert_eq!(listener.wait_stdout_len(4), b"abc\n");
}

//! Connect mode against test servers written here, on loopback.

use crate::common::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn stdin_eof_half_closes_and_the_reply_still_arrives() {
    let (listener, port) = tcp_server();
    let srv = thread::spawn(move || {
        let mut conn = accept_client(&listener);
        let got = read_to_end(&mut conn);
        conn.write_all(format!("got {} bytes\n", got.len()).as_bytes())
            .unwrap();
        got
    });
    let mut client = Proc::spawn(&["-v", "127.0.0.1", &port], false);
    client.write_stdin(b"hello");
    client.close_stdin();
    let status = client.wait_exit();
    assert!(status.success(), "{status:?}: {}", client.stderr());
    assert_eq!(srv.join().unwrap(), b"hello");
    assert_eq!(client.wait_stdout_closed(), b"got 5 bytes\n");
    let stderr = client.stderr();
    assert!(
        stderr.contains(&format!("Ncat: Connected to 127.0.0.1:{port}.\n")),
        "{stderr}"
    );
    assert!(
        stderr.contains("Ncat: 5 bytes sent, 12 bytes received in "),
        "{stderr}"
    );
}

#[test]
fn peer_half_close_closes_stdout_and_stdin_still_flows() {
    let (listener, port) = tcp_server();
    let srv = thread::spawn(move || {
        let mut conn = accept_client(&listener);
        conn.write_all(b"banner\n").unwrap();
        half_close(&conn);
        read_to_end(&mut conn)
    });
    let mut client = Proc::spawn(&["127.0.0.1", &port], false);
    // stdout is closed as soon as the server's side is done, while stdin is still open.
    assert_eq!(client.wait_stdout_closed(), b"banner\n");
    client.write_stdin(b"late data");
    client.close_stdin();
    assert!(client.wait_exit().success());
    assert_eq!(srv.join().unwrap(), b"late data");
}

#[test]
fn peer_close_ends_the_client_even_with_stdin_open() {
    let (listener, port) = tcp_server();
    let srv = thread::spawn(move || {
        let mut conn = accept_client(&listener);
        conn.write_all(b"bye\n").unwrap();
    });
    let mut client = Proc::spawn(&["127.0.0.1", &port], false);
    srv.join().unwrap();
    let status = client.wait_exit_within(PATIENCE).expect("client exits");
    assert!(status.success());
    assert_eq!(client.stdout(), b"bye\n");
}

#[test]
fn recv_only_and_send_only() {
    let (listener, port) = tcp_server();
    let srv = thread::spawn(move || {
        let mut conn = accept_client(&listener);
        conn.write_all(b"data").unwrap();
        drop(conn);
        let mut conn = accept_client(&listener);
        read_to_end(&mut conn)
    });
    let mut client = Proc::spawn(&["--recv-only", "127.0.0.1", &port], false);
    assert!(client.wait_exit().success());
    assert_eq!(client.stdout(), b"data");

    let mut client = Proc::spawn(&["--send-only", "127.0.0.1", &port], false);
    client.write_stdin(b"only this");
    client.close_stdin();
    assert!(client.wait_exit().success());
    assert_eq!(srv.join().unwrap(), b"only this");
    assert_eq!(client.stdout(), b"");
}

#[test]
fn binary_round_trip_through_an_echo_server() {
    let (listener, port) = tcp_server();
    thread::spawn(move || {
        let mut conn = accept_client(&listener);
        let mut reader = conn.try_clone().unwrap();
        let mut buf = vec![0u8; 65536];
        loop {
            let n = reader.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            conn.write_all(&buf[..n]).unwrap();
        }
    });
    // Larger than the socket buffers in both directions: the two directions must not block
    // each other.
    let data = pattern(8 << 20, 7);
    let file = std::env::temp_dir().join(format!("ncat-echo-{}", std::process::id()));
    std::fs::write(&file, &data).unwrap();
    let out = ncat()
        .arg("127.0.0.1")
        .arg(&port)
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), data.len());
    assert_eq!(checksum(&out.stdout), checksum(&data));
}

#[test]
fn connection_refused_exits_1() {
    let (listener, port) = tcp_server();
    drop(listener);
    let out = ncat().args(["127.0.0.1", &port]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Ncat: Connection refused.\n"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn peer_reset_exits_1() {
    let (listener, port) = tcp_server();
    let srv = thread::spawn(move || {
        let mut conn = accept_client(&listener);
        // A byte from its stdin shows the client is connected and relaying: reset it then.
        assert_eq!(read_n(&mut conn, 1), b"x");
        let sock = socket2::Socket::from(conn);
        sock.set_linger(Some(Duration::ZERO)).unwrap();
        drop(sock);
    });
    let mut client = Proc::spawn(&["127.0.0.1", &port], false);
    client.write_stdin(b"x");
    srv.join().unwrap();
    let status = client.wait_exit();
    assert_eq!(status.code(), Some(1));
    assert_eq!(client.stderr(), "Ncat: Connection reset by peer.\n");
}

#[test]
fn source_port_and_address() {
    let (listener, port) = tcp_server();
    let free = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let srv = thread::spawn(move || {
        let (_conn, peer) = listener.accept().unwrap();
        peer
    });
    let free_text = free.to_string();
    let mut client = Proc::spawn(
        &["-s", "127.0.0.1", "-p", &free_text, "127.0.0.1", &port],
        true,
    );
    let peer = srv.join().unwrap();
    assert_eq!(peer.port(), free);
    assert!(client.wait_exit().success());
}

#[test]
fn connects_over_ipv6() {
    let Ok(listener) = TcpListener::bind("[::1]:0") else {
        return; // no IPv6 loopback on this machine
    };
    let port = listener.local_addr().unwrap().port().to_string();
    let srv = thread::spawn(move || {
        let mut conn = accept_client(&listener);
        conn.write_all(b"six\n").unwrap();
    });
    let mut client = Proc::spawn(&["-v", "-6", "::1", &port], true);
    assert!(client.wait_exit().success());
    srv.join().unwrap();
    assert_eq!(client.stdout(), b"six\n");
    assert!(
        client
            .stderr()
            .contains(&format!("Ncat: Connected to ::1:{port}."))
    );
}

#[test]
fn http_server_page() {
    // The README's client example, against a real HTTP server.
    if !have_tool("python3") {
        return;
    }
    let (listener, port) = tcp_server();
    drop(listener);
    let dir = std::env::temp_dir().join(format!("ncat-http-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<p>hello from http</p>\n").unwrap();
    let http = std::process::Command::new("python3")
        .args(["-m", "http.server", "--bind", "127.0.0.1", &port])
        .current_dir(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3 runs");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _http = Kill(http);
    wait_for(|| TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).ok())
        .expect("http server up");
    let mut client = Proc::spawn(&["127.0.0.1", &port], false);
    client.write_stdin(b"GET / HTTP/1.0\r\n\r\n");
    client.close_stdin();
    assert!(client.wait_exit().success());
    let page = String::from_utf8(client.stdout()).unwrap();
    assert!(page.starts_with("HTTP/1.0 200"), "{page}");
    assert!(page.ends_with("<p>hello from http</p>\n"), "{page}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn connect_timeout_exits_1() {
    // A listener whose accept queue is full drops new SYNs, so the connect attempt hangs.
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.bind(
        &"127.0.0.1:0"
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into(),
    )
    .unwrap();
    sock.listen(0).unwrap();
    let addr = sock.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        let c = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        c.set_nonblocking(true).unwrap();
        let _ = c.connect(&addr.into());
        fillers.push(c);
    }
    // Until the kernel shows the accept queue full (for a listener, TCP_INFO gives its length
    // and its limit), a filler's handshake may still be on its way.
    let queue_full = || {
        use std::os::fd::AsRawFd;
        // SAFETY: tcp_info is plain data, and getsockopt writes at most `len` bytes of it.
        let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
        let rc = unsafe {
            libc::getsockopt(
                sock.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_INFO,
                (&raw mut info).cast(),
                &mut len,
            )
        };
        assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
        (info.tcpi_unacked > info.tcpi_sacked).then_some(())
    };
    wait_for(queue_full).expect("the accept queue fills");
    let started = Instant::now();
    let out = ncat()
        .args(["-w", "500ms", "127.0.0.1", &addr.port().to_string()])
        .output()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "Ncat: TIMEOUT.\n");
    // It waited for the timeout (a lower bound only: a busy machine may take longer).
    assert!(took >= Duration::from_millis(450), "{took:?}");
}

#[test]
fn interrupt_ends_the_program_promptly() {
    let (listener, port) = tcp_server();
    let srv = thread::spawn(move || accept_client(&listener));
    let mut client = Proc::spawn(&["127.0.0.1", &port], false);
    let _conn = srv.join().unwrap();
    // SAFETY: sending a signal to our own child.
    unsafe { libc::kill(client.child.id() as i32, libc::SIGINT) };
    let status = client.wait_exit_within(PATIENCE).expect("exits on SIGINT");
    assert!(!status.success());
    assert!(!client.stderr().contains("panicked"));
}

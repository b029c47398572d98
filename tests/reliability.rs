//! Hostile and odd wire data: every byte value in every mode, endless lines, silent and
//! half-closing clients, datagrams at the size limits, garbage where TLS should be, and the
//! security promises (access checks, key material).

use crate::common::*;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream, UdpSocket};
use std::thread;
use std::time::Duration;

/// Every byte value, several times over.
fn all_bytes() -> Vec<u8> {
    (0..4).flat_map(|_| 0..=255u8).collect()
}

/// Sends `data` with an ncat client (`client_args` then the port) and returns what the
/// listener printed.
fn through_listener(listen_args: &[&str], client_args: &[&str], data: &[u8]) -> Vec<u8> {
    let (listener, port) = Proc::listen(listen_args);
    let port = port.to_string();
    let mut args: Vec<&str> = client_args.to_vec();
    args.push(&port);
    let mut client = Proc::spawn(&args, false);
    client.write_stdin(data);
    let got = listener.wait_stdout_len(data.len());
    client.close_stdin();
    got
}

#[test]
fn every_byte_value_passes_unchanged_in_every_mode() {
    let data = all_bytes();
    let cases: [(&[&str], &[&str]); 5] = [
        (&["-l", "127.0.0.1", "0"], &["127.0.0.1"]),
        (&["-l", "-k", "127.0.0.1", "0"], &["127.0.0.1"]),
        (&["-l", "-u", "127.0.0.1", "0"], &["-u", "127.0.0.1"]),
        (&["-l", "--ssl", "127.0.0.1", "0"], &["--ssl", "127.0.0.1"]),
        (&["-l", "-C", "127.0.0.1", "0"], &["127.0.0.1"]),
    ];
    for (listen, client) in cases {
        let got = through_listener(listen, client, &data);
        assert_eq!(got, data, "ncat {listen:?} <- ncat {client:?}");
    }
}

#[test]
fn every_byte_value_through_the_broker_and_exec() {
    let data = all_bytes();
    let (broker, port) = Proc::listen(&["--broker", "127.0.0.1", "0"]);
    let mut a = connect(port);
    let mut b = connect(port);
    broker.wait_accepted(&a);
    broker.wait_accepted(&b);
    a.write_all(&data).unwrap();
    assert_eq!(read_n(&mut b, data.len()), data);

    let (_exec, port) = Proc::listen(&["-l", "-k", "-e", "/bin/cat", "127.0.0.1", "0"]);
    let mut c = connect(port);
    c.write_all(&data).unwrap();
    half_close(&c);
    assert_eq!(read_to_end(&mut c), data);
}

/// The peak resident memory of a process, in KiB.
fn peak_rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_ten_mib_chat_line_is_relayed_in_pieces_with_bounded_memory() {
    let (listener, port) = Proc::listen(&["-l", "--chat", "127.0.0.1", "0"]);
    let mut sender = connect(port);
    let mut receiver = connect(port);
    listener.wait_accepted(&sender);
    listener.wait_accepted(&receiver);
    let size = 10 << 20;
    let writer = thread::spawn(move || {
        // A letter that no announcement contains.
        let block = vec![b'q'; 1 << 16];
        for _ in 0..size / block.len() {
            sender.write_all(&block).unwrap();
        }
        sender
    });
    let mut letters = 0;
    let mut prefixes = 0;
    let mut buf = vec![0u8; 1 << 16];
    let mut tail = Vec::new();
    while letters < size {
        let n = receiver.read(&mut buf).unwrap();
        assert!(n > 0, "EOF after {letters} bytes");
        letters += buf[..n].iter().filter(|&&b| b == b'q').count();
        tail.extend_from_slice(&buf[..n]);
        // The sender came first: <user4> (3, then the one listening socket).
        prefixes += tail.windows(7).filter(|w| w == b"<user4>").count();
        let keep = tail.len().saturating_sub(6);
        tail.drain(..keep);
    }
    let _sender = writer.join().unwrap();
    assert_eq!(letters, size);
    assert!(
        prefixes >= size / 8192,
        "pieces of at most 8 KiB: {prefixes} prefixes"
    );
    let peak = peak_rss(listener.child.id());
    eprintln!("peak RSS {peak} KiB");
    assert!(peak < 64 * 1024, "peak RSS {peak} KiB for a 10 MiB line");
}

#[test]
fn silent_and_half_closing_clients_disturb_nobody() {
    let (listener, port) = Proc::listen(&["--broker", "127.0.0.1", "0"]);
    let _silent = connect(port);
    let quitter = connect(port);
    quitter.shutdown(Shutdown::Write).unwrap();
    let mut a = connect(port);
    let mut b = connect(port);
    listener.wait_stderr_count("Connection from 127.0.0.1:", 4);
    for round in 0..3 {
        let line = format!("round {round}\n");
        a.write_all(line.as_bytes()).unwrap();
        assert_eq!(read_n(&mut b, line.len()), line.as_bytes());
    }
}

#[test]
fn datagrams_of_the_largest_size_arrive_whole_and_an_empty_one_is_harmless() {
    let (listener, port) = Proc::listen(&["-l", "-u", "127.0.0.1", "0"]);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.connect(("127.0.0.1", port)).unwrap();
    let big = pattern(65_507, 5);
    socket.send(&big).unwrap();
    assert_eq!(listener.wait_stdout_len(big.len()), big);
    // An empty datagram carries no data: nothing is printed and the listener goes on.
    socket.send(&[]).unwrap();
    socket.send(b"after\n").unwrap();
    let got = listener.wait_stdout_len(big.len() + 6);
    assert_eq!(&got[big.len()..], b"after\n");
}

#[test]
fn garbage_instead_of_tls_is_a_clean_error() {
    for reply in [
        &b""[..],
        b"HTTP/1.1 400 Bad Request\r\n\r\n",
        &[0x16, 0x03, 0x03, 0xff, 0xff, 1, 2, 3],
    ] {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port().to_string();
        let server = thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut hello = [0u8; 512];
            let _ = s.read(&mut hello);
            let _ = s.write_all(reply);
        });
        let out = ncat()
            .args(["--ssl", "127.0.0.1", &port])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        server.join().unwrap();
        assert_eq!(out.status.code(), Some(1), "{reply:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "Ncat: Input/output error.\n",
            "{reply:?}"
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_denied_client_gets_nothing_even_with_data_waiting() {
    let (mut listener, port) = Proc::listen(&["-l", "-k", "--deny", "127.0.0.1", "127.0.0.1", "0"]);
    listener.write_stdin(b"secret\n");
    // Kept: nothing is reported when (if ever) the listener reads its stdin; the pause gives
    // it the chance, so that the clients below find the data waiting.
    thread::sleep(Duration::from_millis(200));
    for _ in 0..3 {
        let mut client = connect(port);
        let mut got = Vec::new();
        let _ = client.read_to_end(&mut got);
        assert!(got.is_empty(), "a denied client read {got:?}");
    }
}

#[test]
fn ipv4_mapped_addresses_do_not_bypass_deny() {
    // Both families listen (each on its own port 0): the mapped address reaches the IPv4 one.
    let ipv4_port = |listener: &Proc| -> u16 {
        let log = listener.stderr();
        log.lines()
            .find_map(|l| l.split("Listening on 0.0.0.0:").nth(1)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{log}"))
    };
    let listener = Proc::listen_ready(&["-l", "-k", "--deny", "127.0.0.1", "0"]);
    listener.wait_stderr("Listening on 0.0.0.0:");
    let port = ipv4_port(&listener);
    let Ok(mut mapped) = TcpStream::connect(("::ffff:127.0.0.1", port)) else {
        // No IPv6 on this machine: nothing to bypass.
        return;
    };
    mapped.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut got = Vec::new();
    let _ = mapped.read_to_end(&mut got);
    assert!(got.is_empty());
    let listener = Proc::listen_ready(&["-l", "-k", "--allow", "127.0.0.1", "0"]);
    listener.wait_stderr("Listening on 0.0.0.0:");
    let port = ipv4_port(&listener);
    let _mapped = TcpStream::connect(("::ffff:127.0.0.1", port)).unwrap();
    listener.wait_stderr("Connection from 127.0.0.1:");
    assert!(!listener.stderr().contains("not allowed"));
}

#[test]
fn tls_keys_are_never_written_or_logged() {
    let dir = std::env::temp_dir().join(format!("ncat-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut command = ncat();
    command
        .args(["-vvv", "-l", "--ssl", "127.0.0.1", "0"])
        .current_dir(&dir)
        .env("TMPDIR", &dir)
        .env("HOME", &dir);
    let mut listener = Proc::spawn_command(command);
    listener.wait_stderr("Listening on ");
    let port = listener
        .stderr()
        .lines()
        .find_map(|l| {
            l.split("Listening on ")
                .nth(1)?
                .rsplit(':')
                .next()?
                .parse::<u16>()
                .ok()
        })
        .unwrap()
        .to_string();
    let out = ncat()
        .args(["--ssl", "127.0.0.1", &port])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let _ = listener.wait_exit();
    let written: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(written.is_empty(), "files appeared: {written:?}");
    assert!(!listener.stderr().contains("PRIVATE KEY"));
    let _ = std::fs::remove_dir_all(&dir);
}

//! Broker and chat modes: fan-out, announcements, escaping, framing and flow control.

use crate::common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

/// Connects `n` clients and waits until the listener has accepted them all.
fn clients(listener: &Proc, port: u16, n: usize) -> Vec<TcpStream> {
    let already = listener.stderr_count("Connection from 127.0.0.1:");
    let conns: Vec<TcpStream> = (0..n).map(|_| connect(port)).collect();
    listener.wait_stderr_count("Connection from 127.0.0.1:", already + n);
    conns
}

/// Reads what a chat client receives until `text` has arrived.
fn read_until(stream: &mut TcpStream, text: &[u8]) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    let mut searched = 0;
    loop {
        if got[searched..].windows(text.len()).any(|w| w == text) {
            break;
        }
        searched = got.len().saturating_sub(text.len());
        let n = stream.read(&mut buf).unwrap_or_else(|e| {
            panic!(
                "waiting for {:?}, got {:?}: {e}",
                String::from_utf8_lossy(text),
                String::from_utf8_lossy(&got)
            )
        });
        assert!(
            n > 0,
            "EOF while waiting for {:?}",
            String::from_utf8_lossy(text)
        );
        got.extend_from_slice(&buf[..n]);
    }
    got
}

#[test]
fn broker_fans_out_to_everyone_but_the_sender() {
    let (mut listener, port) = Proc::listen(&["--broker", "127.0.0.1", "0"]);
    let mut c = clients(&listener, port, 3);
    c[0].write_all(b"from a\n").unwrap();
    assert_eq!(read_n(&mut c[1], 7), b"from a\n");
    assert_eq!(read_n(&mut c[2], 7), b"from a\n");
    assert_silent(&mut c[0], Duration::from_millis(200));

    // The listener's stdin goes to all clients; its stdout gets nothing.
    listener.write_stdin(b"from stdin\n");
    for s in c.iter_mut() {
        assert_eq!(read_n(s, 11), b"from stdin\n");
    }
    assert_eq!(listener.stdout(), b"");

    // stdin EOF only stops reading stdin: relaying goes on.
    listener.close_stdin();
    // Kept: the broker reports nothing at stdin's EOF, so there is no event to wait on; the
    // pause lets it read the EOF before the relay below.
    thread::sleep(Duration::from_millis(100));
    c[2].write_all(b"after eof\n").unwrap();
    assert_eq!(read_n(&mut c[0], 10), b"after eof\n");
    assert_eq!(read_n(&mut c[1], 10), b"after eof\n");
    assert!(listener.is_running());

    // A client that half-closes is dropped; the others go on.
    half_close(&c[1]);
    assert_eq!(read_to_end(&mut c[1]), b"");
    c[0].write_all(b"two left\n").unwrap();
    assert_eq!(read_n(&mut c[2], 9), b"two left\n");
}

#[test]
fn broker_without_dash_l_and_max_conns() {
    let (listener, port) = Proc::listen(&["--broker", "-m", "2", "127.0.0.1", "0"]);
    let _c = clients(&listener, port, 2);
    let mut third = connect(port);
    assert_eq!(read_to_end(&mut third), b"");
    listener.wait_stderr("connection limit reached (2)");
}

#[test]
fn chat_announcements_prefixes_and_ids() {
    let (mut listener, port) = Proc::listen(&["-l", "--chat", "127.0.0.1", "0"]);
    let mut a = connect(port);
    assert_eq!(
        read_until(&mut a, b"nobody.\n"),
        b"<announce> 127.0.0.1 is connected as <user4>.\n<announce> already connected: nobody.\n"
    );
    let mut b = connect(port);
    let joined = b"<announce> 127.0.0.1 is connected as <user5>.\n<announce> already connected: 127.0.0.1 as <user4>.\n";
    assert_eq!(read_until(&mut b, b"<user4>.\n"), joined);
    assert_eq!(read_until(&mut a, b"<user4>.\n"), joined);
    let mut c = connect(port);
    let joined = b"<announce> 127.0.0.1 is connected as <user6>.\n<announce> already connected: 127.0.0.1 as <user4>, 127.0.0.1 as <user5>.\n";
    for s in [&mut a, &mut b, &mut c] {
        assert_eq!(read_until(s, b"<user5>.\n"), joined);
    }

    a.write_all(b"hello\nworld\n").unwrap();
    for s in [&mut b, &mut c] {
        assert_eq!(read_until(s, b"world\n"), b"<user4> hello\n<user4> world\n");
    }
    listener.write_stdin(b"operator here\n");
    for s in [&mut a, &mut b, &mut c] {
        assert_eq!(read_until(s, b"here\n"), b"<user0> operator here\n");
    }
    assert_silent(&mut a, Duration::from_millis(100));

    drop(b);
    for s in [&mut a, &mut c] {
        assert_eq!(
            read_until(s, b"disconnected.\n"),
            b"<announce> <user5> is disconnected.\n"
        );
    }
    // The lowest free ID is reused.
    let mut d = connect(port);
    assert_eq!(
        read_until(&mut d, b"<user6>.\n"),
        b"<announce> 127.0.0.1 is connected as <user5>.\n<announce> already connected: 127.0.0.1 as <user4>, 127.0.0.1 as <user6>.\n"
    );
    assert_eq!(listener.stdout(), b"");
    let stderr = listener.stderr();
    assert!(
        stderr.contains("Ncat: Connection from 127.0.0.1 on file descriptor 4.\n"),
        "{stderr}"
    );
}

#[test]
fn chat_ids_follow_the_listening_sockets() {
    // Dual-stack default bind: two listening sockets, so the first user is <user5>.
    let (listener, _) = Proc::listen(&["-l", "--chat", "0"]);
    let stderr = listener.wait_stderr("Listening on 0.0.0.0:");
    let port: u16 = stderr
        .lines()
        .find(|l| l.contains("Listening on 0.0.0.0:"))
        .and_then(|l| l.rsplit(':').next())
        .unwrap()
        .parse()
        .unwrap();
    let mut a = connect(port);
    assert_eq!(
        read_until(&mut a, b"nobody.\n"),
        b"<announce> 127.0.0.1 is connected as <user5>.\n<announce> already connected: nobody.\n"
    );
}

/// A chat server with two clients, <user4> and <user5>, past their join announcements.
fn chat_pair() -> (Proc, TcpStream, TcpStream) {
    chat_pair_with(&[])
}

fn chat_pair_with(extra: &[&str]) -> (Proc, TcpStream, TcpStream) {
    let mut args = vec!["-l", "--chat", "127.0.0.1", "0"];
    args.extend_from_slice(extra);
    let (listener, port) = Proc::listen(&args);
    let mut a = connect(port);
    read_until(&mut a, b"nobody.\n");
    let mut b = connect(port);
    read_until(&mut b, b"<user4>.\n");
    read_until(&mut a, b"<user4>.\n");
    (listener, a, b)
}

#[test]
fn chat_escapes_every_byte_value() {
    let (_listener, mut a, mut b) = chat_pair();

    let all: Vec<u8> = (0..=255u8).filter(|&b| b != b'\n').chain([b'\n']).collect();
    a.write_all(&all).unwrap();
    let mut expected = b"<user4> ".to_vec();
    for &byte in &all {
        match byte {
            0x20..=0x7e | b'\t' | b'\n' | b'\r' => expected.push(byte),
            _ => expected.extend_from_slice(format!("\\{byte:03o}").as_bytes()),
        }
    }
    let got = read_until(&mut b, b"\\377\n");
    assert_eq!(got, expected, "{}", String::from_utf8_lossy(&got));
}

#[test]
fn chat_utf8_lets_readable_text_through_and_escapes_what_a_terminal_acts_on() {
    let (_listener, mut a, mut b) = chat_pair_with(&["--chat-utf8"]);
    let mut line = "héllo 你好 \x1b[2J \u{9b}31m \u{202e}olleh "
        .as_bytes()
        .to_vec();
    line.extend_from_slice(b"\x80!\n");
    a.write_all(&line).unwrap();
    let got = read_until(&mut b, b"!\n");
    assert_eq!(
        String::from_utf8(got).unwrap(),
        "<user4> héllo 你好 \\033[2J \\302\\23331m \\342\\200\\256olleh \\200!\n"
    );
    // Without the option, Ncat's escaping: every byte outside ASCII.
    let (_listener, mut a, mut b) = chat_pair();
    a.write_all("é\n".as_bytes()).unwrap();
    assert_eq!(read_until(&mut b, b"\n"), b"<user4> \\303\\251\n");
}

#[test]
fn chat_console_shows_the_conversation_and_speaks_as_user0() {
    let (mut listener, mut a, mut b) = chat_pair_with(&["--chat-console"]);
    a.write_all(b"hello from a\n").unwrap();
    assert_eq!(read_until(&mut b, b"a\n"), b"<user4> hello from a\n");
    listener.write_stdin(b"the console speaks\n");
    assert_eq!(
        read_until(&mut a, b"speaks\n"),
        b"<user0> the console speaks\n"
    );
    assert_eq!(
        read_until(&mut b, b"speaks\n"),
        b"<user0> the console speaks\n"
    );
    drop(b);
    read_until(&mut a, b"is disconnected.\n");
    // The console saw what a client sees: both joins, the line, the leave; not its own line.
    let seen = wait_for(|| {
        let out = String::from_utf8_lossy(&listener.stdout()).to_string();
        out.contains("is disconnected.").then_some(out)
    })
    .expect("the console's view");
    assert_eq!(
        seen,
        "<announce> 127.0.0.1 is connected as <user4>.\n\
         <announce> already connected: nobody.\n\
         <announce> 127.0.0.1 is connected as <user5>.\n\
         <announce> already connected: 127.0.0.1 as <user4>.\n\
         <user4> hello from a\n\
         <announce> <user5> is disconnected.\n"
    );
}

#[test]
fn the_chat_extensions_need_chat() {
    for (args, message) in [
        (
            ["-l", "-k", "--chat-console"],
            "--chat-console works only with --chat.",
        ),
        (
            ["-l", "--broker", "--chat-utf8"],
            "--chat-utf8 works only with --chat.",
        ),
    ] {
        let mut command = ncat();
        command.args(args).args(["127.0.0.1", "0"]);
        let (status, _, stderr) = run_command(command, b"");
        assert_eq!(status, 2, "{args:?}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

#[test]
fn chat_frames_by_line() {
    let (_listener, mut a, mut b) = chat_pair();

    // A line sent in pieces gets one prefix. (Kept sleeps: they make the pieces arrive as
    // separate reads.)
    a.write_all(b"hel").unwrap();
    thread::sleep(Duration::from_millis(100));
    a.write_all(b"lo wor").unwrap();
    thread::sleep(Duration::from_millis(100));
    a.write_all(b"ld\nnext").unwrap();
    assert_eq!(read_until(&mut b, b"world\n"), b"<user4> hello world\n");
    assert_silent(&mut b, Duration::from_millis(200));

    // A line longer than 8 KiB is relayed in 8 KiB pieces, each with a prefix.
    let long = vec![b'x'; 20_000];
    a.write_all(b" line\n").unwrap();
    assert_eq!(read_until(&mut b, b"line\n"), b"<user4> next line\n");
    a.write_all(&long).unwrap();
    a.write_all(b"\n").unwrap();
    let got = read_until(&mut b, b"x\n");
    let mut expected = Vec::new();
    for piece in [&long[..8192], &long[8192..16384], &long[16384..]] {
        expected.extend_from_slice(b"<user4> ");
        expected.extend_from_slice(piece);
    }
    expected.push(b'\n');
    assert_eq!(got.len(), expected.len());
    assert!(got == expected);

    // An unfinished last line is relayed when its sender leaves.
    a.write_all(b"last words").unwrap();
    drop(a);
    assert_eq!(
        read_until(&mut b, b"disconnected.\n"),
        b"<user4> last words<announce> <user4> is disconnected.\n"
    );
}

#[test]
fn fast_sender_to_slow_readers_loses_nothing() {
    let (listener, port) = Proc::listen(&["--broker", "127.0.0.1", "0"]);
    let mut c = clients(&listener, port, 3);
    let data = pattern(16 << 20, 3);
    let expected = checksum(&data);
    let mut sender = c.remove(0);
    let readers: Vec<_> = c
        .into_iter()
        .enumerate()
        .map(|(i, mut s)| {
            let len = data.len();
            thread::spawn(move || {
                let mut got = Vec::with_capacity(len);
                let mut buf = vec![0u8; 16384];
                while got.len() < len {
                    let n = s.read(&mut buf).expect("read");
                    assert!(n > 0, "EOF after {} bytes", got.len());
                    got.extend_from_slice(&buf[..n]);
                    if i == 0 {
                        // The slow reader: about 40 MB/s, far below what the sender offers.
                        thread::sleep(Duration::from_micros(400));
                    }
                }
                checksum(&got)
            })
        })
        .collect();
    sender.write_all(&data).unwrap();
    for r in readers {
        assert_eq!(r.join().unwrap(), expected);
    }
}

#[test]
fn a_client_that_stops_reading_is_dropped_after_the_stall_timeout() {
    let (listener, port) =
        Proc::listen(&["--broker", "--stall-timeout", "500ms", "127.0.0.1", "0"]);
    let mut c = clients(&listener, port, 3);
    let stuck = c.pop().unwrap();
    let mut sender = c.remove(0);
    let mut reader = c.remove(0);
    // Much more than the socket buffers and the stuck client's queue can hold.
    let data = pattern(24 << 20, 11);
    let len = data.len();
    // Were the stuck client never dropped, the hub would pause for good and this read time out.
    reader.set_read_timeout(Some(PATIENCE)).unwrap();
    let reading = thread::spawn(move || {
        let mut got = Vec::with_capacity(len);
        let mut buf = vec![0u8; 65536];
        while got.len() < len {
            let n = reader.read(&mut buf).expect("read");
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
        }
        checksum(&got)
    });
    sender.write_all(&data).unwrap();
    assert_eq!(reading.join().unwrap(), checksum(&data));
    assert_dropped(stuck, len);
}

/// The stuck client was disconnected: after what was already in its socket, it gets EOF or a
/// reset, short of the `len` bytes sent.
fn assert_dropped(mut stuck: TcpStream, len: usize) {
    stuck.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut drained = 0usize;
    let mut buf = vec![0u8; 65536];
    loop {
        match stuck.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
    assert!(
        drained < len,
        "the stuck client got everything ({drained} bytes)"
    );
}

/// The stall rule measures the peer, not our writes: a reader taking 64 KiB every 50 ms from a
/// burst of many times what its queue and socket hold waits on full sockets for far longer than
/// the stall timeout, yet is never dropped, while a client that reads nothing is.
#[test]
fn a_slow_but_steady_reader_is_never_dropped() {
    let (listener, port) =
        Proc::listen(&["--broker", "--stall-timeout", "300ms", "127.0.0.1", "0"]);
    let mut c = clients(&listener, port, 3);
    let stuck = c.pop().unwrap();
    let mut sender = c.remove(0);
    let mut slow = c.remove(0);
    let data = pattern(8 << 20, 17);
    let len = data.len();
    slow.set_read_timeout(Some(PATIENCE)).unwrap();
    let reading = thread::spawn(move || {
        let mut got = Vec::with_capacity(len);
        let mut buf = vec![0u8; 65536];
        while got.len() < len {
            let n = slow.read(&mut buf).expect("read");
            assert!(
                n > 0,
                "the slow reader was dropped after {} bytes",
                got.len()
            );
            got.extend_from_slice(&buf[..n]);
            // Kept: this is the slow reader under test (slower than the sender, never stalled
            // for the whole --stall-timeout).
            thread::sleep(Duration::from_millis(50));
        }
        checksum(&got)
    });
    sender.write_all(&data).unwrap();
    assert_eq!(reading.join().unwrap(), checksum(&data));
    assert_dropped(stuck, len);
}

#[test]
fn chat_announces_a_stalled_client() {
    let (listener, port) =
        Proc::listen(&["-l", "--chat", "--stall-timeout", "300ms", "127.0.0.1", "0"]);
    let mut a = connect(port);
    read_until(&mut a, b"nobody.\n");
    let _stuck = connect(port);
    read_until(&mut a, b"<user4>.\n");
    listener.wait_stderr("Connection from 127.0.0.1:");
    // Lines flood the stuck client's queue; `a` keeps reading (its own lines are not echoed,
    // so it only sees the announcement).
    let mut flood = TcpStream::connect(("127.0.0.1", port)).unwrap();
    read_until(&mut a, b"<user6>.\n");
    let line = vec![b'z'; 1000];
    let writer = thread::spawn(move || {
        let mut line = line;
        line.push(b'\n');
        for _ in 0..20_000 {
            if flood.write_all(&line).is_err() {
                break;
            }
        }
        flood
    });
    read_until(&mut a, b"<announce> <user5> is disconnected.\n");
    drop(writer.join().unwrap());
}

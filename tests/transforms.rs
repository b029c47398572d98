//! `-C`, `-d`, `-i`, `-o`, `-x` and `--append-output`, in connect, listen and hub modes.

use crate::common::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

fn server() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    (listener, port)
}

fn temp_file(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("ncat-{name}-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

#[test]
fn crlf_converts_bare_lf_even_across_reads() {
    let (listener, port) = server();
    let srv = thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(Some(PATIENCE)).unwrap();
        read_to_end(&mut conn)
    });
    let mut client = Proc::spawn(&["-C", "127.0.0.1", &port], false);
    // Kept sleeps: they pace the writes so that they arrive as separate reads.
    client.write_stdin(b"a\nb\r\n");
    thread::sleep(Duration::from_millis(100));
    client.write_stdin(b"c\r");
    thread::sleep(Duration::from_millis(100));
    client.write_stdin(b"\nd\n");
    client.close_stdin();
    assert!(client.wait_exit().success());
    assert_eq!(srv.join().unwrap(), b"a\r\nb\r\nc\r\nd\r\n");
}

#[test]
fn crlf_in_broker_stdin() {
    let (mut listener, port) = Proc::listen(&["--broker", "-C", "127.0.0.1", "0"]);
    let mut c = connect(port);
    listener.wait_stderr("Connection from 127.0.0.1:");
    listener.write_stdin(b"line\n");
    assert_eq!(read_n(&mut c, 6), b"line\r\n");
}

#[test]
fn output_log_holds_both_directions() {
    let log = temp_file("o");
    let (listener, port) = server();
    let srv = thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.write_all(b"from server\n").unwrap();
        conn.set_read_timeout(Some(PATIENCE)).unwrap();
        read_to_end(&mut conn)
    });
    let mut client = Proc::spawn(&["-o", log.to_str().unwrap(), "127.0.0.1", &port], false);
    client.wait_stdout_len(12);
    client.write_stdin(b"from client\n");
    client.close_stdin();
    assert!(client.wait_exit().success());
    srv.join().unwrap();
    assert_eq!(std::fs::read(&log).unwrap(), b"from server\nfrom client\n");
    std::fs::remove_file(&log).unwrap();
}

#[test]
fn hex_dump_log_is_exact_and_append_adds() {
    let log = temp_file("x");
    let run = |extra: &[&str]| {
        let (listener, port) = server();
        let srv = thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            conn.set_read_timeout(Some(PATIENCE)).unwrap();
            read_to_end(&mut conn)
        });
        let mut args = vec!["-x", log.to_str().unwrap()];
        args.extend_from_slice(extra);
        args.extend(["127.0.0.1", port.as_str()]);
        let mut client = Proc::spawn(&args, false);
        client.write_stdin(b"sent-line 1\n");
        client.close_stdin();
        assert!(client.wait_exit().success());
        srv.join().unwrap();
    };
    let line = "0000   73 65 6e 74 2d 6c 69 6e  65 20 31 0a              sent-line.1.    \n";
    run(&[]);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), line);
    run(&[]);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        line,
        "truncated by default"
    );
    run(&["--append-output"]);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        format!("{line}{line}")
    );
    std::fs::remove_file(&log).unwrap();
}

#[test]
fn log_files_that_cannot_be_opened() {
    for (path, err) in [
        ("/nonexistent-dir/log", "open: No such file or directory\n"),
        ("/", "open: Is a directory\n"),
    ] {
        let out = ncat()
            .args(["-o", path, "-l", "127.0.0.1", "0"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(String::from_utf8_lossy(&out.stderr), err);
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn chat_log_shifts_ids_and_records_the_relay() {
    let log = temp_file("chat");
    let (_listener, port) = Proc::listen(&[
        "-l",
        "--chat",
        "-o",
        log.to_str().unwrap(),
        "127.0.0.1",
        "0",
    ]);
    let mut a = connect(port);
    let mut buf = [0u8; 256];
    let n = a.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("is connected as <user5>."));
    let mut b = connect(port);
    let _ = b.read(&mut buf).unwrap();
    a.write_all(b"hi\x01\n").unwrap();
    assert_eq!(read_n(&mut b, 15), b"<user5> hi\\001\n");
    let logged = wait_for(|| {
        let text = std::fs::read(&log).ok()?;
        text.windows(15)
            .any(|w| w == b"<user5> hi\\001\n")
            .then_some(text)
    })
    .expect("the relayed line is logged");
    let text = String::from_utf8_lossy(&logged);
    assert!(
        text.contains("hi\x01\n"),
        "the raw chunk is logged too: {text:?}"
    );
    assert!(
        text.contains("<announce> 127.0.0.1 is connected as <user5>."),
        "{text:?}"
    );
    let _ = std::fs::remove_file(&log);
}

#[test]
fn idle_timeout_in_connect_mode_exits_1() {
    let (listener, port) = server();
    let srv = thread::spawn(move || listener.accept().unwrap());
    let started = Instant::now();
    let mut client = Proc::spawn(&["-i", "300ms", "127.0.0.1", &port], false);
    let _conn = srv.join().unwrap();
    assert_eq!(client.wait_exit().code(), Some(1));
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(client.stderr(), "Ncat: Idle timeout expired (300 ms).\n");
}

#[test]
fn idle_timer_restarts_on_reads() {
    let (listener, port) = server();
    let srv = thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        for _ in 0..4 {
            // Kept: gaps shorter than the -i timeout are what is tested.
            thread::sleep(Duration::from_millis(150));
            conn.write_all(b".").unwrap();
        }
        conn
    });
    let mut client = Proc::spawn(&["-i", "400ms", "127.0.0.1", &port], false);
    let _conn = srv.join().unwrap();
    // 600 ms of activity in all, each gap shorter than the timeout: no expiry yet.
    assert!(client.is_running());
    assert_eq!(client.wait_exit().code(), Some(1));
    assert_eq!(client.stdout(), b"....");
}

/// A listener ended by a 300 ms `-i`: fatal, status 2.
fn assert_idle_fatal(listener: &mut Proc) {
    assert_eq!(listener.wait_exit().code(), Some(2));
    let stderr = listener.stderr();
    assert!(
        stderr.ends_with("Ncat: Idle timeout expired (300 ms). QUITTING.\n"),
        "{stderr}"
    );
}

#[test]
fn idle_timeout_in_listen_mode_is_fatal() {
    let (mut listener, port) = Proc::listen(&["-l", "-i", "300ms", "127.0.0.1", "0"]);
    let _c = connect(port);
    assert_idle_fatal(&mut listener);
}

#[test]
fn idle_timeout_in_broker_runs_only_with_clients() {
    let (mut listener, port) = Proc::listen(&["--broker", "-i", "300ms", "127.0.0.1", "0"]);
    // Kept: longer than the timeout, which would have expired had its timer run.
    thread::sleep(Duration::from_millis(600));
    assert!(
        listener.is_running(),
        "no client yet: the timer must not run"
    );
    let mut a = connect(port);
    let _b = connect(port);
    a.write_all(b"x").unwrap();
    assert_idle_fatal(&mut listener);
}

#[test]
fn delay_pauses_after_each_read() {
    let (listener, port) = server();
    thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.write_all(b"one").unwrap();
        // Kept: makes the two writes separate reads, each followed by a delay.
        thread::sleep(Duration::from_millis(50));
        conn.write_all(b"two").unwrap();
    });
    let started = Instant::now();
    let mut client = Proc::spawn(&["-d", "250ms", "127.0.0.1", &port], true);
    assert!(client.wait_exit().success());
    assert_eq!(client.stdout(), b"onetwo");
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn bad_time_values_for_d_and_i() {
    for (args, msg) in [
        (
            ["-d", "0"],
            "Invalid -d delay \"0\" (must be greater than 0 and less than 2147483s).",
        ),
        (
            ["-i", "x"],
            "Invalid -i timeout \"x\" (must be greater than 0 and less than 2147483s).",
        ),
    ] {
        let out = ncat().args(args).args(["127.0.0.1", "9"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("Ncat: {msg} QUITTING.\n")
        );
    }
}

#[test]
fn listener_logs_with_dash_o() {
    let log = temp_file("listen-o");
    let (listener, port) = Proc::listen(&["-l", "-o", log.to_str().unwrap(), "127.0.0.1", "0"]);
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.write_all(b"to the listener\n").unwrap();
    listener.wait_stdout_len(16);
    let logged = wait_for(|| std::fs::read(&log).ok().filter(|t| t.len() >= 16)).unwrap();
    assert_eq!(logged, b"to the listener\n");
    let _ = std::fs::remove_file(&log);
}

#[test]
fn telnet_negotiation_is_answered_and_stripped_across_writes() {
    let (listener, port) = server();
    let srv = thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(Some(PATIENCE)).unwrap();
        conn.write_all(&[0xff, 0xfd]).unwrap();
        // Kept: splits the negotiation across reads.
        thread::sleep(Duration::from_millis(100));
        conn.write_all(&[0x01, 0xff, 0xfb, 0x03]).unwrap();
        conn.write_all(b"login: ").unwrap();
        let mut answer = [0u8; 6];
        conn.read_exact(&mut answer).unwrap();
        answer
    });
    let mut client = Proc::spawn(&["-t", "127.0.0.1", &port], false);
    assert_eq!(srv.join().unwrap(), [0xff, 0xfc, 0x01, 0xff, 0xfe, 0x03]);
    assert_eq!(client.wait_stdout_closed(), b"login: ");
    assert!(client.wait_exit().success());
}

#[test]
fn telnet_combinations() {
    let out = ncat()
        .args(["-z", "-t", "127.0.0.1", "80"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Ncat: Invalid option combination: -z and -t. QUITTING.\n"
    );
}

#[test]
fn telnet_in_broker_mode_answers_each_client() {
    let (listener, port) = Proc::listen(&["--broker", "-t", "127.0.0.1", "0"]);
    let mut a = connect(port);
    let mut b = connect(port);
    listener.wait_stderr_count("Connection from 127.0.0.1:", 2);
    a.write_all(&[0xff, 0xfb, 0x01]).unwrap();
    a.write_all(b"hi\n").unwrap();
    assert_eq!(read_n(&mut a, 3), [0xff, 0xfe, 0x01]);
    assert_eq!(read_n(&mut b, 3), b"hi\n");
}

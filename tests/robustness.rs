//! Pipes, signals and closed descriptors: each ends the program in a defined way.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Stdio;
use std::thread;
use std::time::Duration;

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
fn closed_stdin_counts_as_eof() {
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
        .args(["-c", &format!("exec {bin} 127.0.0.1 {port} <&-")])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, b"reply\n");
    assert!(server.join().unwrap().is_empty());
}

#[test]
fn sigterm_ends_a_listener_promptly() {
    let (mut listener, port) = Proc::listen(&["--broker", "127.0.0.1", "0"]);
    let _client = connect(port);
    // SAFETY: signalling our own child.
    unsafe { libc::kill(listener.child.id() as i32, libc::SIGTERM) };
    let status = listener
        .wait_exit_within(Duration::from_secs(2))
        .expect("exits on SIGTERM");
    assert!(!status.success());
}

fn wait_child(child: &mut std::process::Child) -> std::process::ExitStatus {
    for _ in 0..1000 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    panic!("ncat did not exit after its reader went away");
}

//! Behaviours where a script written for Ncat depends on the exact outcome: each test is named
//! after the behaviour it pins down, and each was checked against Ncat on loopback.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Stdio;

/// The write end of a pipe whose read end is already closed: every write to it fails with
/// EPIPE, as for a harness that stopped reading stderr.
fn readerless_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: pipe fills two fresh descriptors; each is owned exactly once below.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: fds[0] and fds[1] were just created and nothing else owns them.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    Stdio::from(write)
}

/// A port nothing listens on right now (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn status_with_readerless_stderr(args: &[&str]) -> Option<i32> {
    let mut child = ncat()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(readerless_pipe())
        .spawn()
        .unwrap();
    child.wait().unwrap().code()
}

#[test]
fn closed_stderr_keeps_the_exit_status_of_a_refused_connection() {
    let port = free_port().to_string();
    assert_eq!(
        status_with_readerless_stderr(&["127.0.0.1", &port]),
        Some(1)
    );
}

#[test]
fn closed_stderr_keeps_the_exit_status_of_a_usage_error() {
    assert_eq!(status_with_readerless_stderr(&["--baffle"]), Some(2));
    assert_eq!(status_with_readerless_stderr(&["-l", "--baffle"]), Some(2));
    assert_eq!(status_with_readerless_stderr(&["-v", "--version"]), Some(0));
}

#[test]
fn closed_stderr_does_not_stop_a_verbose_listener_serving_clients() {
    let port = free_port();
    let mut child = ncat()
        .args(["-v", "-v", "-l", "-k", "127.0.0.1", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(readerless_pipe())
        .spawn()
        .unwrap();
    let _guard = KillOnDrop(&mut child);
    // Every client is logged (`Connection from`, `Connection closed`) to the dead stderr.
    for round in 0..3 {
        let mut client = connect(port);
        writeln!(client, "client {round}").unwrap();
        drop(client);
    }
    let mut out = _guard.0.stdout.take().unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while got.len() < b"client 0\nclient 1\nclient 2\n".len() {
        let n = out.read(&mut buf).unwrap();
        assert!(n > 0, "the listener ended: {:?}", _guard.0.try_wait());
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, b"client 0\nclient 1\nclient 2\n");
    assert!(_guard.0.try_wait().unwrap().is_none(), "still running");
}

struct KillOnDrop<'a>(&'a mut std::process::Child);

impl Drop for KillOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

//! `--pty` (an extension): exec children on a pseudo-terminal of their own.

use crate::common::*;
use std::io::{Read, Write};
use std::net::TcpStream;

/// Reads from `stream` until `needle` has arrived; returns everything read.
fn read_until(stream: &mut TcpStream, needle: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(needle) {
        match stream.read(&mut buf) {
            Ok(n) if n > 0 => got.extend_from_slice(&buf[..n]),
            other => panic!(
                "{other:?} before {needle:?}; got {:?}",
                String::from_utf8_lossy(&got)
            ),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// How many descriptors of process `pid` are pseudo-terminal masters.
fn masters_held(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.as_os_str() == "/dev/ptmx" || target.starts_with("/dev/pts/ptmx"))
        .count()
}

/// A connect-mode `ncat --pty -c SCRIPT` to a server the test plays, and that server's side.
fn pty_client(script: &str) -> (Proc, TcpStream) {
    let (listener, port) = tcp_server();
    let mut command = ncat();
    command
        .args(["127.0.0.1", &port, "--pty", "-c", script])
        .stdin(std::process::Stdio::null());
    let proc = Proc::spawn_command(command);
    let peer = accept_client(&listener);
    (proc, peer)
}

fn listener(args: &[&str]) -> (Proc, u16) {
    let mut command = ncat();
    let mut full = vec!["-v", "-l"];
    full.extend_from_slice(args);
    full.extend_from_slice(&["--pty", "127.0.0.1", "0"]);
    command
        .args(&full)
        .env("PS1", "prompt> ")
        .stdin(std::process::Stdio::null());
    let proc = Proc::spawn_command(command);
    proc.wait_stderr("Listening on ");
    let port = proc.listening_port();
    (proc, port)
}

#[test]
fn a_shell_gets_a_terminal_prompts_and_job_control() {
    let (mut server, port) = listener(&["-e", "/bin/sh"]);
    let mut client = connect(port);
    read_until(&mut client, "prompt> ");
    client
        .write_all(b"tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-$((1+2)); exec 3</dev/tty && echo ctty-$((2*2))\n")
        .unwrap();
    // (What is typed is echoed: the needles are what only the shell's output contains.)
    let seen = read_until(&mut client, "ctty-4\r\n");
    assert!(seen.contains("\r\n/dev/pts/"), "{seen:?}");
    assert!(seen.contains("all-3\r\n"), "{seen:?}");
    client.write_all(b"sleep 30 &\njobs; kill %1\n").unwrap();
    let seen = read_until(&mut client, "Running");
    assert!(seen.contains("[1]"), "{seen:?}");
    assert!(!seen.contains("job control turned off"), "{seen:?}");
    // The peer's EOF is the terminal's end of file: the shell exits, and so does the relay.
    half_close(&client);
    read_to_end(&mut client);
    assert!(server.wait_exit().success());
}

#[test]
fn the_terminal_is_released_when_the_peer_resets() {
    let (server, port) = listener(&["-k", "-c", "echo pid=$$; exec sleep 600"]);
    let mut client = connect(port);
    let seen = read_until(&mut client, "\r\n");
    let pid: u32 = seen
        .trim()
        .strip_prefix("pid=")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{seen:?}"));
    let ncat_pid = server.child.id();
    assert_eq!(masters_held(ncat_pid), 1);
    // A reset, not a close: the connection is over at once.
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket descriptor and a linger struct of the size given.
    unsafe {
        use std::os::fd::AsRawFd;
        libc::setsockopt(
            client.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    drop(client);
    // The master is closed, so the terminal hangs up: sleep gets SIGHUP and is reaped.
    wait_for(|| (masters_held(ncat_pid) == 0).then_some(())).expect("master still held");
    wait_for(|| has_ended(pid).then_some(())).expect("the child outlived its terminal");
}

#[test]
fn connect_mode_output_and_eof() {
    let (mut proc, mut peer) = pty_client("tty; read line; echo got:$line");
    let seen = read_until(&mut peer, "\r\n");
    assert!(seen.starts_with("/dev/pts/"), "{seen:?}");
    peer.write_all(b"typed\n").unwrap();
    let rest = String::from_utf8_lossy(&read_to_end(&mut peer)).into_owned();
    // The terminal echoes what is typed, and ends lines with \r\n.
    assert!(rest.contains("typed\r\n"), "{rest:?}");
    assert!(rest.ends_with("got:typed\r\n"), "{rest:?}");
    assert!(proc.wait_exit().success());
}

#[test]
fn pty_needs_a_program() {
    for args in [
        &["-l", "--pty", "9"][..],
        &["--pty", "--lua-exec", "x.lua", "h", "1"],
    ] {
        let mut command = ncat();
        command.args(args);
        let (status, _, err) = run_command(command, b"");
        assert_eq!(status, 2, "{err}");
        assert!(err.contains("--pty works only with -e or -c."), "{err}");
    }
}

#[test]
fn the_session_ends_with_the_program_and_hangs_up_what_is_left() {
    let (mut proc, mut peer) = pty_client("sleep 600 & echo bg=$!; exit 0");
    // The background job still holds the terminal, yet the connection ends with the shell.
    let seen = String::from_utf8_lossy(&read_to_end(&mut peer)).into_owned();
    let pid: u32 = seen
        .trim()
        .strip_prefix("bg=")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{seen:?}"));
    assert!(proc.wait_exit().success());
    wait_for(|| has_ended(pid).then_some(())).expect("the background job outlived its terminal");
}

//! Behaviour that changed after Ncat 7.93: each test names the Ncat version it follows.

use crate::common::*;
use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Stdio;
use std::time::Duration;

/// 7.96: connect-mode `-k` keeps sending stdin after the peer's EOF; stdout is closed.
#[test]
fn connect_mode_keep_open_sends_stdin_after_the_peers_eof() {
    let (listener, port) = tcp_server();
    let mut client = Proc::spawn(&["-k", "127.0.0.1", &port], false);
    let mut conn = accept_client(&listener);
    conn.write_all(b"bye\n").unwrap();
    conn.shutdown(Shutdown::Write).unwrap();
    assert_eq!(client.wait_stdout_closed(), b"bye\n");
    assert!(client.is_running(), "still sending stdin");
    client.write_stdin(b"after the peer's EOF\n");
    assert_eq!(read_n(&mut conn, 21), b"after the peer's EOF\n");
    client.close_stdin();
    assert_eq!(read_to_end(&mut conn), b"");
    assert_eq!(client.wait_exit().code(), Some(0));
}

/// 7.96: the same over TLS, against our own TLS listener.
#[test]
fn connect_mode_keep_open_over_tls() {
    let (mut listener, port) = Proc::listen(&["-l", "--ssl", "127.0.0.1", "0"]);
    let port = port.to_string();
    let mut client = Proc::spawn(&["-k", "--ssl", "127.0.0.1", &port], false);
    listener.wait_stderr("Connection from 127.0.0.1:");
    listener.close_stdin(); // close_notify and FIN to the client
    assert_eq!(client.wait_stdout_closed(), b"");
    client.write_stdin(b"still here\n");
    assert_eq!(listener.wait_stdout_len(11), b"still here\n");
    client.close_stdin();
    assert_eq!(client.wait_exit().code(), Some(0));
    assert_eq!(listener.wait_exit().code(), Some(0));
}

/// Without `-k`, connect mode ends at the peer's EOF (7.96), stdin still open.
#[test]
fn connect_mode_without_keep_open_ends_at_the_peers_eof() {
    let (listener, port) = tcp_server();
    let mut client = Proc::spawn(&["127.0.0.1", &port], false);
    let conn = accept_client(&listener);
    conn.shutdown(Shutdown::Write).unwrap();
    assert_eq!(client.wait_exit().code(), Some(0));
}

/// 7.96: `-q TIME` after stdin's EOF: half-close, keep printing, then end as `-i` does.
#[test]
fn quit_after_eof_waits_then_ends_like_an_idle_timeout() {
    let (listener, port) = tcp_server();
    let mut client = Proc::spawn(&["-q", "300ms", "127.0.0.1", &port], false);
    let mut conn = accept_client(&listener);
    client.write_stdin(b"last words\n");
    client.close_stdin();
    assert_eq!(
        read_to_end(&mut conn),
        b"last words\n",
        "half-closed at stdin's EOF"
    );
    conn.write_all(b"a late answer\n").unwrap();
    assert_eq!(client.wait_exit().code(), Some(1));
    assert_eq!(client.stdout(), b"a late answer\n");
    assert_eq!(client.stderr(), "Ncat: Idle timeout expired (300 ms).\n");
}

/// `-q`: the peer's EOF still ends the session first, with status 0.
#[test]
fn quit_after_eof_ends_early_at_the_peers_eof() {
    let (listener, port) = tcp_server();
    let mut client = Proc::spawn(&["-q", "1h", "127.0.0.1", &port], false);
    let mut conn = accept_client(&listener);
    client.close_stdin();
    assert_eq!(read_to_end(&mut conn), b"");
    drop(conn);
    assert_eq!(client.wait_exit().code(), Some(0));
    assert_eq!(client.stderr(), "");
}

/// `-q 0` quits at stdin's EOF at once; a negative time never quits because of it.
#[test]
fn quit_after_eof_zero_and_negative() {
    let (listener, port) = tcp_server();
    let mut client = Proc::spawn(&["-q", "0", "127.0.0.1", &port], false);
    let _conn = accept_client(&listener);
    client.close_stdin();
    assert_eq!(client.wait_exit().code(), Some(0));

    // --send-only would end at stdin's EOF; -q -1 says never.
    let mut client = Proc::spawn(&["--send-only", "-q", "-1", "127.0.0.1", &port], false);
    let mut conn = accept_client(&listener);
    client.close_stdin();
    assert_eq!(read_to_end(&mut conn), b"", "stdin's EOF was sent");
    assert_silent_exit(&mut client);
}

/// The process is still running a while after the event that would have ended it.
fn assert_silent_exit(proc: &mut Proc) {
    // Kept: a "nothing happens for a while" check; there is no event to wait on.
    std::thread::sleep(Duration::from_millis(300));
    assert!(proc.is_running(), "{}", proc.stderr());
}

/// `-q` with `--no-shutdown`: no half-close; the peer sees EOF only when the program ends.
#[test]
fn quit_after_eof_with_no_shutdown_sends_no_eof_early() {
    let (listener, port) = tcp_server();
    let mut client = Proc::spawn(&["--no-shutdown", "-q", "300ms", "127.0.0.1", &port], false);
    let mut conn = accept_client(&listener);
    client.close_stdin();
    let mut buf = [0u8; 8];
    let _ = conn.read(&mut buf); // EOF (or a reset) once the program has ended
    assert!(!client.is_running() || client.wait_exit_within(PATIENCE).is_some());
    assert_eq!(client.wait_exit().code(), Some(1));
}

/// `-q` in listen mode: a fixed deadline from stdin's EOF, ended as listen-mode `-i` ends.
#[test]
fn quit_after_eof_in_listen_modes() {
    for mode in [&["-l"][..], &["-l", "-k"], &["--broker"], &["-u", "-l"]] {
        let mut args = mode.to_vec();
        args.extend(["-q", "300ms", "127.0.0.1", "0"]);
        let (mut listener, port) = Proc::listen(&args);
        let _client = if mode.contains(&"-u") {
            let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            socket.send_to(b"hi\n", ("127.0.0.1", port)).unwrap();
            listener.wait_stdout_len(3);
            None
        } else {
            let client = connect(port);
            listener.wait_stderr("Connection from 127.0.0.1:");
            Some(client)
        };
        listener.close_stdin();
        assert_eq!(listener.wait_exit().code(), Some(2), "{mode:?}");
        assert!(
            listener
                .stderr()
                .ends_with("Ncat: Idle timeout expired (300 ms). QUITTING.\n"),
            "{mode:?}: {}",
            listener.stderr()
        );
    }
}

/// 7.95 (nmap#2685): a UDP listener goes on after stdin's EOF.
#[test]
fn a_udp_listener_outlives_stdin() {
    let (listener, port) = Proc::listen_with(&["-u", "-l", "127.0.0.1", "0"], true);
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.send_to(b"after EOF\n", ("127.0.0.1", port)).unwrap();
    assert_eq!(listener.wait_stdout_len(10), b"after EOF\n");
}

/// A pipe for the child's stdin with `typed` already in it; the test keeps a read end, so it
/// can tell afterwards whether the child took anything.
fn prefilled_stdin(typed: &[u8]) -> (Stdio, std::fs::File) {
    let mut fds = [0; 2];
    // SAFETY: pipe fills two fresh descriptors, each owned once below.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both were just created and are owned by nothing else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let mut writer = std::fs::File::from(write);
    writer.write_all(typed).unwrap();
    let ours = std::fs::File::from(read.try_clone().unwrap());
    std::mem::forget(writer); // held open, so the pipe never reads as EOF
    (Stdio::from(read), ours)
}

/// 7.991: `--recv-only` never reads stdin, in any mode.
#[test]
fn recv_only_never_reads_stdin() {
    for mode in [
        &["-l"][..],
        &["-l", "-k"],
        &["--broker"],
        &["-l", "--chat"],
        &["-u", "-l"],
        &["-u", "-l", "-k"],
    ] {
        let (stdin, mut ours) = prefilled_stdin(b"typed\n");
        let mut args = vec!["-v", "--recv-only"];
        args.extend_from_slice(mode);
        args.extend(["127.0.0.1", "0"]);
        let mut command = ncat();
        command.args(&args).stdin(stdin);
        let listener = Proc::spawn_command(command);
        listener.wait_stderr("Listening on ");
        let port: u16 = listener
            .stderr()
            .lines()
            .find_map(|l| {
                l.strip_prefix("Ncat: Listening on 127.0.0.1:")?
                    .parse()
                    .ok()
            })
            .unwrap();
        if mode.contains(&"-u") {
            let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            socket.send_to(b"ping\n", ("127.0.0.1", port)).unwrap();
        } else {
            let mut client = connect(port);
            client.write_all(b"ping\n").unwrap();
            std::mem::forget(client);
        }
        if !mode.contains(&"--broker") && !mode.contains(&"--chat") {
            listener.wait_stdout_len(5);
        } else {
            listener.wait_stderr("Connection from 127.0.0.1");
        }
        drop(listener);
        let mut left = [0u8; 6];
        ours.read_exact(&mut left).unwrap();
        assert_eq!(&left, b"typed\n", "{mode:?}: stdin was read");
    }
    // Connect mode too.
    let (server, port) = tcp_server();
    let (stdin, mut ours) = prefilled_stdin(b"typed\n");
    let mut command = ncat();
    command
        .args(["--recv-only", "127.0.0.1", &port])
        .stdin(stdin);
    let client = Proc::spawn_command(command);
    let mut conn = accept_client(&server);
    conn.write_all(b"data\n").unwrap();
    client.wait_stdout_len(5);
    drop(client);
    let mut left = [0u8; 6];
    ours.read_exact(&mut left).unwrap();
    assert_eq!(&left, b"typed\n");
}

/// 7.94 (nmap#375): a target may be a decimal integer.
#[test]
fn a_decimal_integer_target_is_an_ipv4_address() {
    let (listener, port) = tcp_server();
    let mut client = Proc::spawn(&["2130706433", &port], false);
    let mut conn = accept_client(&listener);
    client.write_stdin(b"hi\n");
    assert_eq!(read_n(&mut conn, 3), b"hi\n");
    drop(conn);
    assert_eq!(client.wait_exit().code(), Some(0));
}

/// 7.94: with `-l`, a lone argument of more than five digits is a host, not a port.
#[test]
fn a_long_number_after_listen_is_a_host() {
    let (listener, port) = Proc::listen(&["-l", "-p", "0", "2130706433"]);
    assert!(
        listener.stderr().contains("Listening on 127.0.0.1:"),
        "{}",
        listener.stderr()
    );
    let _client = connect(port);
    listener.wait_stderr("Connection from 127.0.0.1");
}

/// The children of a `-k -e` server, by their process IDs.
fn children_of(pid: u32) -> Vec<u32> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// 7.991: a termination signal to a `-l -k -e` server ends its children too; children of
/// finished connections are reaped while it runs.
#[test]
fn signals_end_exec_children_and_finished_children_are_reaped() {
    let (listener, port) = Proc::listen(&["-l", "-k", "-e", "/bin/cat", "127.0.0.1", "0"]);
    for round in 0..3 {
        let mut client = connect(port);
        let line = format!("round {round}\n");
        client.write_all(line.as_bytes()).unwrap();
        assert_eq!(read_n(&mut client, line.len()), line.as_bytes());
    }
    let pid = listener.child.id();
    wait_for(|| children_of(pid).is_empty().then_some(())).expect("every child reaped");

    drop(listener);

    // A child that never reads its stdin, so only a signal can end it. The server itself
    // still ends by the signal it got (same status as without a handler).
    for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        let (mut listener, port) =
            Proc::listen(&["-l", "-k", "-e", "/bin/sleep 1000", "127.0.0.1", "0"]);
        let pid = listener.child.id();
        let _held = connect(port);
        let child = wait_for(|| children_of(pid).first().copied()).expect("a child for the client");
        // SAFETY: signalling our own child.
        unsafe { libc::kill(pid as i32, signal) };
        let status = listener.wait_exit();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(signal)
        );
        wait_for(|| has_ended(child).then_some(())).expect("the exec child ended with the server");
    }
}

/// A `-k -e` server that ends on its own (here `-i`) ends its children too.
#[test]
fn exec_children_end_when_the_server_exits() {
    let (mut listener, port) = Proc::listen(&[
        "-l",
        "-k",
        "-i",
        "500ms",
        "-e",
        "/bin/sleep 1000",
        "127.0.0.1",
        "0",
    ]);
    let pid = listener.child.id();
    let _held = connect(port);
    let child = wait_for(|| children_of(pid).first().copied()).expect("a child for the client");
    assert_eq!(listener.wait_exit().code(), Some(2));
    wait_for(|| has_ended(child).then_some(())).expect("the exec child ended with the server");
}

/// 7.99: `-i` works in every listen mode and ends the program.
#[test]
fn idle_timeout_in_every_listen_mode() {
    for mode in [
        &["-l"][..],
        &["-l", "-k"],
        &["--broker"],
        &["-l", "--chat"],
        &["-l", "-k", "-e", "/bin/cat"],
    ] {
        let mut args = mode.to_vec();
        args.extend(["-i", "300ms", "127.0.0.1", "0"]);
        let (mut listener, port) = Proc::listen(&args);
        let _client = connect(port);
        assert_eq!(listener.wait_exit().code(), Some(2), "{mode:?}");
        assert!(
            listener
                .stderr()
                .ends_with("Ncat: Idle timeout expired (300 ms). QUITTING.\n"),
            "{mode:?}: {}",
            listener.stderr()
        );
    }
}

/// `--version` and `--help` name the Ncat version followed.
#[test]
fn version_and_help_name_the_ncat_followed() {
    let out = ncat().arg("--version").output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("compatible with Ncat 7.99"),
        "{out:?}"
    );
    let out = ncat().arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("compatible with Ncat 7.99"));
}

/// 7.95-7.96: stdin's EOF sends close_notify before the half-close (OpenSSL's server sees a
/// clean end, `DONE`, while the client still runs); `--no-shutdown` sends neither.
#[test]
fn tls_stdin_eof_sends_close_notify_unless_no_shutdown() {
    let server = OpensslServer::start("close", &[]);
    let mut client = Proc::spawn(&["--ssl", "127.0.0.1", &server.port.to_string()], false);
    client.write_stdin(b"over\n");
    server.wait_for("over\n");
    client.close_stdin();
    let seen = server.wait_for("DONE");
    assert!(!seen.contains("unexpected eof"), "{seen}");

    let server = OpensslServer::start("no-shutdown", &[]);
    let mut client = Proc::spawn(
        &[
            "--no-shutdown",
            "--ssl",
            "127.0.0.1",
            &server.port.to_string(),
        ],
        false,
    );
    client.write_stdin(b"over\n");
    server.wait_for("over\n");
    client.close_stdin();
    // Kept: checks that nothing (no close_notify, no exit) happens for a while after EOF.
    std::thread::sleep(Duration::from_millis(300));
    assert!(client.is_running());
    let seen = server.output.lock().unwrap().clone();
    assert!(
        !seen.contains("DONE") && !seen.contains("ERROR"),
        "nothing sent yet: {seen}"
    );
    drop(client); // killed: the connection ends without close_notify
    let seen = server.wait_for("unexpected eof");
    assert!(!seen.contains("DONE"), "{seen}");
}

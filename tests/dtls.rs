//! DTLS (`-u --ssl`): our client and server with each other, with Ncat 7.93's DTLS client and
//! with OpenSSL's DTLS server, in the modes a TCP client has (exec, -k, broker), and against
//! garbage and handshakes that never finish.

use crate::common::*;
use std::net::UdpSocket;
use std::process::Command;

/// A DTLS listener on a free port.
fn dtls_listener(extra: &[&str]) -> (Proc, u16) {
    let mut args = vec!["-u", "--ssl", "-l", "127.0.0.1", "0"];
    args.extend_from_slice(extra);
    Proc::listen(&args)
}

fn dtls_client(port: u16, extra: &[&str]) -> Proc {
    let port = port.to_string();
    let mut args = vec!["-u", "--ssl"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["127.0.0.1", &port]);
    Proc::spawn(&args, false)
}

/// Ncat 7.93's DTLS client, its stdin a pipe.
fn reference_dtls_client(reference: &str, port: u16) -> Proc {
    let mut command = Command::new(reference);
    command.args(["-u", "--ssl", "127.0.0.1", &port.to_string()]);
    command.stdin(std::process::Stdio::piped());
    Proc::spawn_command(command)
}

/// Waits until the listener has finished `n` peers' handshakes.
fn wait_for_peers(server: &Proc, n: usize) {
    server.wait_stderr_count("Connection from 127.0.0.1:", n);
}

#[test]
fn our_client_and_server_talk_both_ways_and_close_notify_ends_the_listener() {
    let (mut server, port) = dtls_listener(&[]);
    let mut client = dtls_client(port, &["-v"]);
    client.write_stdin(b"hello over dtls\n");
    assert_eq!(server.wait_stdout_len(16), b"hello over dtls\n");
    server.write_stdin(b"and back\n");
    assert_eq!(client.wait_stdout_len(9), b"and back\n");
    // stdin's EOF sends close_notify and ends the client; the listener reads it as the
    // peer's close and ends too, as a TCP listener does.
    client.close_stdin();
    assert!(client.wait_exit().success(), "{}", client.stderr());
    assert!(server.wait_exit().success(), "{}", server.stderr());
    let said = client.stderr();
    assert!(said.contains("SSL connection to 127.0.0.1:"), "{said}");
    assert!(said.contains("SHA-1 fingerprint: "), "{said}");
    assert!(server.stderr().contains("Connection from 127.0.0.1:"));
}

#[test]
fn ncat_793s_dtls_client_talks_to_our_server() {
    let Some(reference) = reference_ncat() else {
        return;
    };
    let (mut server, port) = dtls_listener(&[]);
    let mut client = reference_dtls_client(reference, port);
    client.write_stdin(b"from ncat 7.93\n");
    assert_eq!(server.wait_stdout_len(15), b"from ncat 7.93\n");
    server.write_stdin(b"from us\n");
    assert_eq!(client.wait_stdout_len(8), b"from us\n");
}

#[test]
fn our_client_talks_to_openssls_dtls_server_and_closes_cleanly() {
    let mut server = OpensslServer::start("dtls", &["-dtls1_2"]);
    let mut client = dtls_client(server.port, &[]);
    client.write_stdin(b"to openssl\n");
    server.wait_for("to openssl");
    {
        use std::io::Write;
        let stdin = server.child.stdin.as_mut().unwrap();
        stdin.write_all(b"from openssl\n").unwrap();
        stdin.flush().unwrap();
    }
    assert_eq!(client.wait_stdout_len(13), b"from openssl\n");
    client.close_stdin();
    assert!(client.wait_exit().success(), "{}", client.stderr());
    // OpenSSL's server reports a clean end only for a close_notify.
    server.wait_for("DONE");
}

#[test]
fn exec_serves_each_dtls_peer_its_own_child_under_k() {
    let (_server, port) = dtls_listener(&["-k", "-e", "/bin/cat"]);
    let mut first = dtls_client(port, &[]);
    let mut second = dtls_client(port, &[]);
    first.write_stdin(b"one\n");
    second.write_stdin(b"two\n");
    assert_eq!(first.wait_stdout_len(4), b"one\n");
    assert_eq!(second.wait_stdout_len(4), b"two\n");
    first.write_stdin(b"again\n");
    assert_eq!(first.wait_stdout_len(10), b"one\nagain\n");
    assert_eq!(second.stdout(), b"two\n");
}

#[test]
fn broker_relays_between_dtls_peers() {
    let (server, port) = dtls_listener(&["--broker"]);
    let mut first = dtls_client(port, &[]);
    let mut second = dtls_client(port, &[]);
    // Both sessions are in the hub once their handshakes are done.
    wait_for_peers(&server, 2);
    first.write_stdin(b"a\n");
    assert_eq!(second.wait_stdout_len(2), b"a\n");
    second.write_stdin(b"b\n");
    assert_eq!(first.wait_stdout_len(2), b"b\n");
}

#[test]
fn garbage_and_an_unfinished_handshake_do_not_stop_other_peers() {
    let (mut server, port) = dtls_listener(&["-k"]);
    let junk = UdpSocket::bind("127.0.0.1:0").unwrap();
    junk.send_to(b"not dtls at all\n", ("127.0.0.1", port))
        .unwrap();
    // A handshake record that is no ClientHello: its session never completes.
    let stalled = UdpSocket::bind("127.0.0.1:0").unwrap();
    stalled
        .send_to(
            &[0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff],
            ("127.0.0.1", port),
        )
        .unwrap();
    let mut client = dtls_client(port, &[]);
    client.write_stdin(b"still served\n");
    assert_eq!(server.wait_stdout_len(13), b"still served\n");
    assert!(server.is_running());
}

#[test]
fn ssl_verify_refuses_a_self_signed_server_and_a_trustfile_admits_it() {
    let dir = std::env::temp_dir().join(format!("ncat-dtls-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args([
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .args(["-keyout", "k.pem", "-out", "c.pem", "-days", "1"])
        .current_dir(&dir)
        .output()
        .expect("openssl is installed");
    assert!(made.status.success());
    let (cert, key) = (dir.join("c.pem"), dir.join("k.pem"));
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let (_server, port) =
        dtls_listener(&["-k", "--ssl-cert", cert, "--ssl-key", key, "-e", "/bin/cat"]);

    let mut refused = dtls_client(port, &["-v", "--ssl-verify"]);
    refused.close_stdin();
    let status = refused.wait_exit();
    assert_eq!(status.code(), Some(1), "{}", refused.stderr());
    assert!(refused.stderr().contains("Certificate verification failed"));

    let mut trusted = dtls_client(port, &["--ssl-trustfile", cert]);
    trusted.write_stdin(b"trusted\n");
    assert_eq!(trusted.wait_stdout_len(8), b"trusted\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dtls_takes_openssl_cipher_strings_and_refuses_what_openssl_refuses() {
    let (_server, port) = dtls_listener(&[
        "--ssl-ciphers",
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "-e",
        "/bin/cat",
    ]);
    let mut client = dtls_client(port, &["--ssl-ciphers", "HIGH:!aNULL"]);
    client.write_stdin(b"cipher\n");
    assert_eq!(client.wait_stdout_len(7), b"cipher\n");

    let (status, _, stderr) = run_command(
        command(&[
            "-u",
            "--ssl",
            "--ssl-ciphers",
            "NO-SUCH-CIPHER",
            "-l",
            "127.0.0.1",
            "0",
        ]),
        b"",
    );
    assert_eq!(status, 2, "{stderr}");
    assert!(
        stderr.contains("Unable to set OpenSSL cipher list: NO-SUCH-CIPHER."),
        "{stderr}"
    );
}

#[test]
fn zero_io_is_refused_with_dtls() {
    let (status, _, stderr) = run_command(command(&["-z", "-u", "--ssl", "127.0.0.1", "9"]), b"");
    assert_eq!(status, 2);
    assert!(stderr.contains("-z is not supported with DTLS"), "{stderr}");
}

fn command(args: &[&str]) -> Command {
    let mut command = ncat();
    command.args(args);
    command
}

#[test]
fn chat_over_dtls_announces_and_prefixes_as_over_tcp() {
    let (server, port) = dtls_listener(&["--chat"]);
    let first = dtls_client(port, &[]);
    let joined = first.wait_stdout_len(1);
    let joined = String::from_utf8_lossy(&joined).to_string();
    assert!(
        joined.starts_with("<announce> 127.0.0.1 is connected as <user"),
        "{joined}"
    );
    wait_for(|| {
        first
            .stdout()
            .ends_with(b"already connected: nobody.\n")
            .then_some(())
    })
    .expect("the first client's join");
    let mut second = dtls_client(port, &[]);
    wait_for_peers(&server, 2);
    wait_for(|| second.stdout().ends_with(b".\n").then_some(())).expect("the second join");
    second.write_stdin(b"hi \x01\n");
    let said = wait_for(|| {
        let out = String::from_utf8_lossy(&first.stdout()).to_string();
        out.lines().any(|l| l.starts_with("<user")).then_some(out)
    })
    .expect("a chat line");
    assert!(said.contains("> hi \\001\n"), "{said}");
}

#[test]
fn our_client_runs_exec_over_dtls_and_ncat_793_reaches_our_exec_server() {
    let server = OpensslServer::start("dtls-exec", &["-dtls1_2"]);
    let _client = {
        let port = server.port.to_string();
        Proc::spawn(
            &["-u", "--ssl", "-c", "echo from-exec", "127.0.0.1", &port],
            true,
        )
    };
    server.wait_for("from-exec");

    let Some(reference) = reference_ncat() else {
        return;
    };
    let (_server, port) = dtls_listener(&["-e", "/bin/cat"]);
    let mut client = reference_dtls_client(reference, port);
    client.write_stdin(b"echoed by cat\n");
    assert_eq!(client.wait_stdout_len(14), b"echoed by cat\n");
}

#[test]
fn lua_exec_crlf_and_the_hex_log_work_over_dtls() {
    let dir = std::env::temp_dir().join(format!("ncat-dtls-lua-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("upper.lua");
    std::fs::write(
        &script,
        "for line in io.lines() do print(line:upper()) end\n",
    )
    .unwrap();
    let log = dir.join("dump.hex");
    let (_server, port) = dtls_listener(&["--lua-exec", script.to_str().unwrap()]);
    let mut client = dtls_client(port, &["-C", "-x", log.to_str().unwrap()]);
    client.write_stdin(b"shout\n");
    // The script keeps the CR that -C added; print adds the LF.
    assert_eq!(client.wait_stdout_len(7), b"SHOUT\r\n");
    client.close_stdin();
    assert!(client.wait_exit().success());
    // -C turned the line ending into CRLF on the way out; the log shows it as sent.
    let dump = std::fs::read_to_string(&log).unwrap();
    assert!(dump.contains("73 68 6f 75 74 0d 0a"), "{dump}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn idle_timeout_ends_a_dtls_listener() {
    let (mut server, port) = dtls_listener(&["-i", "1"]);
    let mut client = dtls_client(port, &[]);
    client.write_stdin(b"then silence\n");
    server.wait_stdout_len(13);
    let status = server.wait_exit();
    assert_eq!(status.code(), Some(2));
    assert!(server.stderr().contains("Idle timeout expired (1000 ms)."));
}

#[test]
fn keep_open_sends_stdin_to_every_dtls_peer_and_prints_theirs() {
    let (mut server, port) = dtls_listener(&["-k"]);
    let mut first = dtls_client(port, &[]);
    let mut second = dtls_client(port, &[]);
    wait_for_peers(&server, 2);
    server.write_stdin(b"to all\n");
    assert_eq!(first.wait_stdout_len(7), b"to all\n");
    assert_eq!(second.wait_stdout_len(7), b"to all\n");
    first.write_stdin(b"1\n");
    server.wait_stdout_len(2);
    second.write_stdin(b"2\n");
    let mut got = server.wait_stdout_len(4);
    got.sort_unstable();
    assert_eq!(got, b"\n\n12");
}

#[test]
fn q_keeps_a_dtls_client_receiving_after_stdin_ends() {
    let (mut server, port) = dtls_listener(&[]);
    let mut client = dtls_client(port, &["-q", "5"]);
    client.write_stdin(b"bye\n");
    server.wait_stdout_len(4);
    client.close_stdin();
    server.write_stdin(b"still heard\n");
    assert_eq!(client.wait_stdout_len(12), b"still heard\n");
    assert!(client.is_running());
}

#[test]
fn a_server_that_never_answers_the_handshake_times_out_within_w() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    let mut client = Proc::spawn(&["-u", "--ssl", "-w", "2", "127.0.0.1", &port], false);
    let status = client.wait_exit();
    assert_eq!(status.code(), Some(1), "{}", client.stderr());
    assert!(client.stderr().contains("TIMEOUT."), "{}", client.stderr());
    // It did try: the ClientHello reached the socket, and was sent again after OpenSSL's first
    // one-second retransmission timer.
    let mut buf = [0u8; 2048];
    silent.set_nonblocking(true).unwrap();
    let mut hellos = 0;
    while let Ok(n) = silent.recv(&mut buf) {
        if n > 0 && buf[0] == 0x16 {
            hellos += 1;
        }
    }
    assert!(hellos >= 2, "{hellos} handshake records");
}

#[test]
fn a_chat_peer_that_vanishes_is_dropped_and_its_leave_announced() {
    let (server, port) = dtls_listener(&["--chat"]);
    let first = dtls_client(port, &[]);
    wait_for_peers(&server, 1);
    let mut second = dtls_client(port, &[]);
    wait_for_peers(&server, 2);
    // The second peer's process dies without a close_notify: its port answers the next
    // record with an ICMP refusal, which ends its session.
    second.child.kill().unwrap();
    second.child.wait().unwrap();
    let mut first = first;
    first.write_stdin(b"anyone?\n");
    let out = wait_for(|| {
        let out = String::from_utf8_lossy(&first.stdout()).to_string();
        out.contains("is disconnected.").then_some(out)
    })
    .expect("a leave announcement");
    assert!(out.contains("<announce> <user"), "{out}");
}

#[test]
fn a_peer_that_starts_over_from_the_same_port_gets_a_new_session() {
    let (server, port) = dtls_listener(&["-k", "-e", "/bin/cat"]);
    let source = unclaimed_port().to_string();
    let mut first = dtls_client(port, &["-p", &source]);
    first.write_stdin(b"first life\n");
    assert_eq!(first.wait_stdout_len(11), b"first life\n");
    // Killed: no close_notify, so the server still holds its session with this port.
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let mut again = dtls_client(port, &["-p", &source]);
    again.write_stdin(b"second life\n");
    assert_eq!(again.wait_stdout_len(12), b"second life\n");
    assert_eq!(server.stderr_count("Connection from 127.0.0.1:"), 2);
}

#[test]
fn a_large_write_goes_out_as_records_that_each_fit_a_datagram() {
    let (server, port) = dtls_listener(&[]);
    let mut client = dtls_client(port, &[]);
    let data = pattern(200_000, 7);
    client.write_stdin(&data);
    let got = server.wait_stdout_len(data.len());
    assert_eq!(checksum(&got), checksum(&data));
}

//! Behaviours where a script written for Ncat depends on the exact outcome: each test is named
//! after the behaviour it pins down, and each was checked against Ncat on loopback.

use crate::common::*;
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

/// Runs a listener on a free port with the given stdout and stdin, sends it `data` from one
/// client, and returns the listener's status and stderr once it has ended.
fn listener_fed(args: &[&str], stdout: Stdio, stdin: Stdio, data: &[u8]) -> (Option<i32>, String) {
    let port = free_port().to_string();
    let mut full: Vec<&str> = args.to_vec();
    full.extend(["127.0.0.1", &port]);
    let mut child = ncat()
        .args(&full)
        .stdin(stdin)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut client = connect(port.parse().unwrap());
    let _ = client.write_all(data);
    // Hold the connection while the listener fails, then leave.
    let outcome = finish(&mut child);
    drop(client);
    outcome
}

/// Waits for a child to end (see [`wait_child`]); returns its status and all of its stderr.
fn finish(child: &mut std::process::Child) -> (Option<i32>, String) {
    let status = wait_child(child);
    let mut err = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        pipe.read_to_string(&mut err).unwrap();
    }
    (status, err)
}

/// Waits (bounded) for a child to exit; kills it if it does not.
fn wait_child(child: &mut std::process::Child) -> Option<i32> {
    if let Some(status) = wait_for(|| child.try_wait().unwrap()) {
        return status.code();
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the listener did not end");
}

fn dev_full() -> Stdio {
    Stdio::from(std::fs::File::create("/dev/full").unwrap())
}

#[test]
fn a_full_disk_on_stdout_ends_the_listener_with_status_2() {
    for args in [
        &["-l"][..],          // the kernel-copy path
        &["-l", "-d", "1ms"], // the async path
        &["-l", "-k"],        // the hub
    ] {
        let (status, err) = listener_fed(args, dev_full(), Stdio::null(), b"hello\n");
        assert_eq!(status, Some(2), "{args:?}: {err}");
        assert_eq!(err, "write: No space left on device\n", "{args:?}");
    }
}

#[test]
fn a_full_disk_on_stdout_ends_the_udp_listener_with_status_2() {
    let port = free_port().to_string();
    let mut child = ncat()
        .args(["-u", "-l", "127.0.0.1", &port])
        .stdin(Stdio::null())
        .stdout(dev_full())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    // Datagrams until the listener is up and has failed on one (those sent before it binds
    // are lost, so one is sent at each poll of its exit).
    wait_for(|| {
        let _ = socket.send_to(b"hello\n", format!("127.0.0.1:{port}"));
        child.try_wait().unwrap()
    });
    let (status, err) = finish(&mut child);
    assert_eq!(status, Some(2), "{err}");
    assert_eq!(err, "write: No space left on device\n");
}

#[test]
fn a_closed_stdout_is_a_write_error_with_status_2() {
    use std::os::unix::process::CommandExt;
    let port = free_port().to_string();
    let mut command = ncat();
    command
        .args(["-l", "127.0.0.1", &port])
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: only close(2) between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::close(1);
            Ok(())
        });
    }
    let mut child = command.spawn().unwrap();
    let mut client = connect(port.parse().unwrap());
    client.write_all(b"hello\n").unwrap();
    let (status, err) = finish(&mut child);
    assert_eq!(status, Some(2), "{err}");
    assert_eq!(err, "write: Bad file descriptor\n");
}

#[test]
fn an_unwritable_session_log_ends_the_program_with_status_2() {
    for log in ["-o", "-x"] {
        let (status, err) = listener_fed(
            &["-l", log, "/dev/full"],
            Stdio::null(),
            Stdio::null(),
            b"hi\n",
        );
        assert_eq!(status, Some(2), "{log}: {err}");
        assert_eq!(err, "write: No space left on device\n", "{log}");
    }
}

fn directory_as_stdin() -> Stdio {
    Stdio::from(std::fs::File::open("/tmp").unwrap())
}

#[test]
fn an_unreadable_stdin_is_an_error_in_connect_mode() {
    let (listener, port) = Proc::listen(&["-l", "127.0.0.1", "0"]);
    let out = ncat()
        .args(["127.0.0.1", &port.to_string()])
        .stdin(directory_as_stdin())
        .output()
        .unwrap();
    drop(listener);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Ncat: Is a directory.\n"
    );
    // The same through the async path (-C), over UDP, and for an exec-free TLS-free -k listener.
    let (_l2, port) = Proc::listen(&["-l", "127.0.0.1", "0"]);
    let out = ncat()
        .args(["-C", "127.0.0.1", &port.to_string()])
        .stdin(directory_as_stdin())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Ncat: Is a directory.\n"
    );
    let out = ncat()
        .args(["-u", "127.0.0.1", &free_port().to_string()])
        .stdin(directory_as_stdin())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Ncat: Is a directory.\n"
    );
}

#[test]
fn an_unreadable_stdin_ends_a_listener_with_status_1() {
    for args in [&["-l"][..], &["-l", "-k"], &["-l", "--chat"]] {
        let (status, err) = listener_fed(args, Stdio::null(), directory_as_stdin(), b"hi\n");
        assert_eq!(status, Some(1), "{args:?}: {err}");
        assert_eq!(err, "", "{args:?}");
    }
}

/// Runs ncat to its end with stdin on /dev/null; returns the status and stderr.
fn run_quick(args: &[&str]) -> (Option<i32>, String) {
    let out = ncat().args(args).stdin(Stdio::null()).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_malformed_connection_count_is_an_error_even_where_it_is_ignored() {
    for args in [
        &["--max-conns", "abc", "-l"][..],
        &["-m", "abc", "-l", "-k"],
        &["-m", "3x", "--broker"],
        &["-m", "", "-l"],
    ] {
        let value = args[1];
        assert_eq!(
            run_quick(args),
            (
                Some(2),
                format!("Ncat: Invalid maximum number of connections \"{value}\". QUITTING.\n")
            ),
            "{args:?}"
        );
    }
}

#[test]
fn repeating_an_exec_option_is_refused() {
    for args in [
        &["-l", "-c", "true", "-c", "false"][..],
        &["-l", "-e", "/bin/true", "-e", "/bin/cat"],
        &["-l", "--sh-exec", "true", "--exec", "/bin/cat"],
    ] {
        assert_eq!(
            run_quick(args),
            (
                Some(2),
                "Ncat: Only one of --exec, --sh-exec, and --lua-exec is allowed. QUITTING.\n"
                    .to_string()
            ),
            "{args:?}"
        );
    }
}

#[test]
fn an_empty_host_name_asks_for_a_host() {
    assert_eq!(
        run_quick(&["", "9000"]),
        (
            Some(2),
            "Ncat: You must specify a host to connect to. QUITTING.\n".to_string()
        )
    );
}

#[test]
fn send_only_with_recv_only_ends_the_session_at_once() {
    // Connect mode: connected, then done, status 0 (the peer keeps its connection open).
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port().to_string();
    let (status, err) = run_quick(&["--send-only", "--recv-only", "127.0.0.1", &port]);
    assert_eq!((status, err.as_str()), (Some(0), ""));
    let (mut conn, _) = server.accept().unwrap();
    conn.set_read_timeout(Some(PATIENCE)).unwrap();
    assert_eq!(conn.read(&mut [0u8; 8]).unwrap(), 0, "closed, nothing sent");
    // Listen mode: the first client ends it, status 0.
    let (mut listener, port) = Proc::listen_with(
        &["--send-only", "--recv-only", "-l", "127.0.0.1", "0"],
        false,
    );
    let _client = connect(port);
    assert_eq!(listener.wait_exit().code(), Some(0));
}

/// A UDP socket that takes datagrams and never answers, and its port.
fn udp_sink() -> (std::net::UdpSocket, String) {
    let sink = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sink.local_addr().unwrap().port().to_string();
    (sink, port)
}

fn totals_line(err: &str) -> Option<&str> {
    err.lines()
        .find(|l| l.starts_with("Ncat: ") && l.contains(" bytes sent, "))
}

#[test]
fn a_verbose_udp_client_reports_its_totals() {
    let (_sink, port) = udp_sink();
    let (code, _, err) = run_command(
        {
            let mut c = ncat();
            c.args(["-v", "-u", "127.0.0.1", &port]);
            c
        },
        b"abc\n",
    );
    assert_eq!(code, 0, "{err}");
    let line = totals_line(&err).unwrap_or_else(|| panic!("no totals: {err}"));
    assert!(
        line.starts_with("Ncat: 4 bytes sent, 0 bytes received in "),
        "{line}"
    );
    assert!(line.ends_with(" seconds."), "{line}");
    // -u -z against a port that does not refuse: one byte sent.
    let (code, _, err) = run_command(
        {
            let mut c = ncat();
            c.args(["-v", "-u", "-z", "-i", "200ms", "127.0.0.1", &port]);
            c
        },
        b"",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("Ncat: UDP packet sent successfully\n"),
        "{err}"
    );
    let line = totals_line(&err).unwrap_or_else(|| panic!("no totals: {err}"));
    assert!(
        line.starts_with("Ncat: 1 bytes sent, 0 bytes received in "),
        "{line}"
    );
}

#[test]
fn a_verbose_unix_datagram_client_reports_its_totals_and_its_temporary_socket() {
    let dir = std::env::temp_dir().join(format!("ncat-dropin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let server_path = dir.join("server.sock");
    let _server = std::os::unix::net::UnixDatagram::bind(&server_path).unwrap();
    let (code, _, err) = run_command(
        {
            let mut c = ncat();
            c.args(["-v", "-U", "-u"])
                .arg(&server_path)
                .env("TMPDIR", &dir);
            c
        },
        b"abc\n",
    );
    assert_eq!(code, 0, "{err}");
    let used = err
        .lines()
        .find_map(|l| {
            l.strip_prefix("Ncat: [")?
                .strip_suffix("] used as source DGRAM Unix domain socket.")
        })
        .unwrap_or_else(|| panic!("no source socket line: {err}"))
        .to_string();
    assert!(
        totals_line(&err)
            .unwrap()
            .starts_with("Ncat: 4 bytes sent, 0 bytes received in ")
    );
    assert!(
        err.ends_with(&format!(
            "Ncat: Deleting source DGRAM Unix domain socket. [{used}]\n"
        )),
        "{err}"
    );
    assert!(!std::path::Path::new(&used).exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_refused_udp_datagram_fails_the_client_every_time() {
    // Stdin's EOF comes right after the datagram; the refusal must still decide the status.
    for _ in 0..20 {
        let port = {
            let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            s.local_addr().unwrap().port().to_string()
        };
        let (code, _, err) = run_command(
            {
                let mut c = ncat();
                c.args(["-u", "127.0.0.1", &port]);
                c
            },
            b"a\n",
        );
        assert_eq!((code, err.as_str()), (1, "Ncat: Connection refused.\n"));
    }
}

/// A scratch directory for one test's files.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ncat-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs openssl with `args` in `dir`; panics if it fails.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `openssl req -x509` as most people run it: a self-signed certificate marked as a CA, with
/// the name only in its common name.
fn usual_self_signed(dir: &std::path::Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost/O=Acme",
            "-keyout",
            "k.pem",
            "-out",
            "c.pem",
            "-days",
            "30",
        ],
    );
}

/// A TLS listener on the given certificate files; returns it and its port.
fn tls_listener(dir: &std::path::Path, cert: &str, key: &str) -> (Proc, u16) {
    let (cert, key) = (dir.join(cert), dir.join(key));
    Proc::listen(&[
        "-l",
        "--ssl",
        "--ssl-cert",
        cert.to_str().unwrap(),
        "--ssl-key",
        key.to_str().unwrap(),
        "127.0.0.1",
        "0",
    ])
}

fn verifying_client(
    dir: &std::path::Path,
    trust: &str,
    extra: &[&str],
    port: u16,
) -> (i32, Vec<u8>, String) {
    let mut command = ncat();
    command
        .args(["-v", "--ssl-verify", "--ssl-trustfile"])
        .arg(dir.join(trust))
        .args(extra)
        .args(["localhost", &port.to_string()]);
    run_command(command, b"hello\n")
}

#[test]
fn a_self_signed_ca_certificate_listed_in_the_trust_file_is_trusted() {
    let dir = scratch("trust-self");
    usual_self_signed(&dir);
    let (listener, port) = tls_listener(&dir, "c.pem", "k.pem");
    let (code, _, err) = verifying_client(&dir, "c.pem", &[], port);
    assert_eq!(code, 0, "{err}");
    assert_eq!(listener.wait_stdout_len(6), b"hello\n");
    // The name is still checked.
    let (_l2, port) = tls_listener(&dir, "c.pem", "k.pem");
    let (code, _, err) =
        verifying_client(&dir, "c.pem", &["--ssl-servername", "other.example"], port);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.ends_with("Ncat: Certificate verification error. QUITTING.\n"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_leaf_signed_by_a_trusted_ca_is_trusted_with_key_and_chain_in_one_file() {
    let dir = scratch("trust-ca");
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=Test CA",
            "-keyout",
            "ca-key.pem",
            "-out",
            "ca.pem",
            "-days",
            "30",
        ],
    );
    openssl(
        &dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "leaf-key.pem",
            "-out",
            "leaf.csr",
        ],
    );
    // With an extension, so it is an X.509 v3 certificate (the path checker refuses v1).
    std::fs::write(dir.join("leaf.ext"), "basicConstraints=CA:FALSE\n").unwrap();
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-extfile",
            "leaf.ext",
            "-out",
            "leaf.pem",
            "-days",
            "30",
        ],
    );
    let both = [
        std::fs::read(dir.join("leaf-key.pem")).unwrap(),
        std::fs::read(dir.join("leaf.pem")).unwrap(),
    ]
    .concat();
    std::fs::write(dir.join("both.pem"), both).unwrap();
    let (listener, port) = tls_listener(&dir, "both.pem", "both.pem");
    let (code, _, err) = verifying_client(&dir, "ca.pem", &[], port);
    assert_eq!(code, 0, "{err}");
    assert_eq!(listener.wait_stdout_len(6), b"hello\n");
    // Trusting only some other certificate: the chain does not check.
    usual_self_signed(&dir);
    let (_l2, port) = tls_listener(&dir, "both.pem", "both.pem");
    let (code, _, err) = verifying_client(&dir, "c.pem", &[], port);
    assert_eq!(
        (code, err.lines().last()),
        (1, Some("Ncat: Input/output error.")),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_verbose_tls_client_names_the_certificate_and_the_address_it_reached() {
    let dir = scratch("tls-verbose");
    usual_self_signed(&dir);
    let (_listener, port) = tls_listener(&dir, "c.pem", "k.pem");
    let (code, _, err) = run_command(
        {
            let mut c = ncat();
            c.args(["-v", "--ssl", "localhost", &port.to_string()]);
            c
        },
        b"",
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = err.lines().collect();
    let at = |prefix: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} in {err}"))
    };
    assert_eq!(
        lines[at("Ncat: Subject: ")],
        "Ncat: Subject: CN=localhost, O=Acme"
    );
    assert_eq!(
        lines[at("Ncat: Issuer: ")],
        "Ncat: Issuer: CN=localhost, O=Acme"
    );
    assert_eq!(
        lines[at("Ncat: Certificate verification failed")],
        "Ncat: Certificate verification failed (self-signed certificate)."
    );
    // The address reached (localhost may be ::1 or 127.0.0.1; the listener is on 127.0.0.1).
    assert_eq!(
        lines[at("Ncat: SSL connection to ")],
        format!("Ncat: SSL connection to 127.0.0.1:{port}. Acme")
    );
    assert!(at("Ncat: Subject: ") < at("Ncat: SSL connection to "));
    assert!(
        !err.contains("Ncat: Connected to "),
        "TLS says it instead: {err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_plain_client_of_a_tls_listener_is_reset_and_logged() {
    let (listener, port) = Proc::listen(&["-l", "-k", "--ssl", "127.0.0.1", "0"]);
    let mut client = connect(port);
    client.write_all(b"hello\n").unwrap();
    let mut buf = [0u8; 64];
    match client.read(&mut buf) {
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        Ok(n) => panic!("got {n} bytes instead of a reset: {:?}", &buf[..n]),
    }
    let log = listener.wait_stderr("Failed SSL connection from 127.0.0.1: ");
    let connected = log
        .find("Ncat: Connection from 127.0.0.1:")
        .expect("Connection from");
    assert!(
        connected < log.find("Failed SSL connection").unwrap(),
        "{log}"
    );
}

#[test]
fn probing_with_ssl_performs_the_handshake() {
    let quiet = |args: &[&str]| run_quick(args).0;
    // A plain listener: TCP connects, TLS does not.
    let (_plain, port) = Proc::listen(&["-l", "-k", "127.0.0.1", "0"]);
    let port = port.to_string();
    assert_eq!(quiet(&["-z", "127.0.0.1", &port]), Some(0));
    assert_eq!(quiet(&["-z", "--ssl", "127.0.0.1", &port]), Some(1));
    // A TLS listener with a self-signed certificate: --ssl passes, --ssl-verify fails.
    let (_tls, port) = Proc::listen(&["-l", "-k", "--ssl", "127.0.0.1", "0"]);
    let port = port.to_string();
    assert_eq!(quiet(&["-z", "--ssl", "127.0.0.1", &port]), Some(0));
    assert_eq!(quiet(&["-z", "--ssl-verify", "127.0.0.1", &port]), Some(1));
}

#[test]
fn probing_a_unix_socket_reports_whether_it_listens() {
    let dir = scratch("probe-unix");
    let path = dir.join("s.sock");
    let path_arg = path.to_str().unwrap();
    assert_eq!(run_quick(&["-z", "-U", path_arg]), (Some(1), String::new()));
    let (code, err) = run_quick(&["-v", "-z", "-U", path_arg]);
    assert_eq!(code, Some(1));
    assert!(err.ends_with("Ncat: No such file or directory.\n"), "{err}");
    let _listening = std::os::unix::net::UnixListener::bind(&path).unwrap();
    assert_eq!(run_quick(&["-z", "-U", path_arg]), (Some(0), String::new()));
    let (code, err) = run_quick(&["-v", "-z", "-U", path_arg]);
    assert_eq!(code, Some(0));
    assert!(
        err.contains(&format!("Ncat: Connected to {path_arg}.\n")),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_version_1_certificate_is_served() {
    let dir = scratch("tls-v1");
    openssl(
        &dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "k.pem",
            "-out",
            "c.csr",
        ],
    );
    openssl(
        &dir,
        &[
            "x509", "-req", "-in", "c.csr", "-signkey", "k.pem", "-out", "c.pem", "-days", "30",
        ],
    );
    let (listener, port) = tls_listener(&dir, "c.pem", "k.pem");
    // OpenSSL's own client (ours cannot check a v1 certificate's signature: see the README).
    let mut client = std::process::Command::new("openssl")
        .args([
            "s_client",
            "-quiet",
            "-connect",
            &format!("127.0.0.1:{port}"),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    client
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"hello\n")
        .unwrap();
    let got = listener.wait_stdout_len(6);
    let _ = client.kill();
    let _ = client.wait();
    assert_eq!(got, b"hello\n");
    // A key that is not the certificate's is still refused at start-up.
    openssl(&dir, &["genpkey", "-algorithm", "RSA", "-out", "other.pem"]);
    let out = ncat()
        .args(["-l", "--ssl", "--ssl-cert"])
        .arg(dir.join("c.pem"))
        .arg("--ssl-key")
        .arg(dir.join("other.pem"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn chat_relays_an_unfinished_last_line_when_the_connection_ends_in_a_reset() {
    let (_listener, port) = Proc::listen(&["-l", "--chat", "127.0.0.1", "0"]);
    let mut a = connect(port);
    let mut nobody = Vec::new();
    while !nobody.ends_with(b"nobody.\n") {
        let mut byte = [0u8; 1];
        a.read_exact(&mut byte).unwrap();
        nobody.push(byte[0]);
    }
    let mut b = connect(port);
    // b leaves its join announcement unread, so closing it sends a reset.
    b.peek(&mut [0u8; 1]).unwrap();
    b.write_all(b"alert: disk full").unwrap();
    drop(b);
    let mut seen = Vec::new();
    while !seen.ends_with(b"is disconnected.\n") {
        let mut byte = [0u8; 1];
        a.read_exact(&mut byte).unwrap();
        seen.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&seen);
    assert!(
        // Byte for byte as Ncat: the partial line gets no newline of its own.
        text.ends_with("<user5> alert: disk full<announce> <user5> is disconnected.\n"),
        "{text}"
    );
}

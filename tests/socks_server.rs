//! The SOCKS proxy server (`-l --proxy-type socks4|socks5`, an extension): driven by curl, by
//! ncat's own proxy client and by raw requests for the refusals.

use crate::common::*;
use std::io::Write;
use std::process::Command;

fn socks(version: &str, extra: &[&str]) -> (Proc, u16) {
    let mut args = vec!["-l", "--proxy-type", version];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["127.0.0.1", "0"]);
    Proc::listen_with(&args, true)
}

/// curl fetching a page through the proxy with `how` (`--socks5`, `--socks4a`, ...);
/// returns curl's status and the page.
fn curl_through(how: &str, port: u16, url_host: &str, extra: &[&str]) -> (i32, String) {
    let (origin_port, _request) = http_origin();
    let out = Command::new("curl")
        .args(["-s", "--max-time", "10", how, &format!("127.0.0.1:{port}")])
        .args(extra)
        .arg(format!("http://{url_host}:{origin_port}/"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn curl_through_socks5_and_socks5_hostname() {
    if !have_tool("curl") {
        return;
    }
    let (_proxy, port) = socks("socks5", &[]);
    assert_eq!(curl_through("--socks5", port, "127.0.0.1", &[]).1, "hello");
    // The name is resolved by the proxy.
    assert_eq!(
        curl_through("--socks5-hostname", port, "localhost", &[]).1,
        "hello"
    );
}

#[test]
fn curl_through_socks4_and_socks4a() {
    if !have_tool("curl") {
        return;
    }
    let (_proxy, port) = socks("socks4", &[]);
    assert_eq!(curl_through("--socks4", port, "127.0.0.1", &[]).1, "hello");
    assert_eq!(curl_through("--socks4a", port, "localhost", &[]).1, "hello");
}

#[test]
fn curl_logs_in_with_the_right_password_only() {
    if !have_tool("curl") {
        return;
    }
    let (proxy, port) = socks("socks5", &["--proxy-auth", "alice:s3:cret"]);
    let good = ["--proxy-user", "alice:s3:cret"];
    assert_eq!(
        curl_through("--socks5", port, "127.0.0.1", &good).1,
        "hello"
    );
    let (status, page) = curl_through(
        "--socks5",
        port,
        "127.0.0.1",
        &["--proxy-user", "alice:wrong"],
    );
    assert!(status != 0 && page.is_empty(), "status {status}: {page}");
    let (status, _) = curl_through("--socks5", port, "127.0.0.1", &[]);
    assert_ne!(status, 0);
    proxy.wait_stderr("SOCKS5 login refused");
}

/// ncat's own client through the proxy to an echo server: `stdin` comes back.
fn ncat_through(kind: &str, port: u16, extra: &[&str]) -> (i32, Vec<u8>, String) {
    let target = echo_origin().to_string();
    let mut command = ncat();
    command
        .args([
            "--proxy",
            &format!("127.0.0.1:{port}"),
            "--proxy-type",
            kind,
        ])
        .args(extra)
        .args(["127.0.0.1", &target]);
    run_command(command, b"through socks\n")
}

#[test]
fn ncat_as_the_client_of_each_version() {
    let (_v5, port5) = socks("socks5", &["--proxy-auth", "bob:pw"]);
    let (status, out, err) = ncat_through("socks5", port5, &["--proxy-auth", "bob:pw"]);
    assert_eq!(
        (status, out.as_slice()),
        (0, &b"through socks\n"[..]),
        "{err}"
    );
    let (status, out, _) = ncat_through("socks5", port5, &["--proxy-auth", "bob:no"]);
    assert_eq!((status, out.len()), (1, 0));

    let (_v4, port4) = socks("socks4", &["--proxy-auth", "carol"]);
    let (status, out, err) = ncat_through("socks4", port4, &["--proxy-auth", "carol"]);
    assert_eq!(
        (status, out.as_slice()),
        (0, &b"through socks\n"[..]),
        "{err}"
    );
    let (status, _, err) = ncat_through("socks4", port4, &["--proxy-auth", "dave"]);
    assert_eq!(status, 1, "{err}");
}

/// Sends `request` and returns everything the proxy answers before it closes.
fn ask(port: u16, request: &[u8]) -> Vec<u8> {
    let mut s = connect(port);
    s.write_all(request).unwrap();
    half_close(&s);
    read_to_end(&mut s)
}

/// Whether the proxy closes a client that sent `request` without answering anything (a
/// close with the request unread is a reset).
fn closed_silently(port: u16, request: &[u8]) -> bool {
    let mut s = connect(port);
    let _ = s.write_all(request);
    let mut buf = [0u8; 64];
    match std::io::Read::read(&mut s, &mut buf) {
        Ok(0) => true,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        Ok(_) => false,
    }
}

#[test]
fn unsupported_requests_get_their_reply_codes() {
    let (_v5, port) = socks("socks5", &[]);
    let closed = unclaimed_port().to_be_bytes();
    let with_request = |cmd: u8, atyp_and_addr: &[u8], port_bytes: [u8; 2]| {
        let mut req = vec![5, 1, 0, 5, cmd, 0];
        req.extend_from_slice(atyp_and_addr);
        req.extend_from_slice(&port_bytes);
        ask(port, &req)
    };
    let code = |answer: &[u8]| (answer[..2].to_vec(), answer[2]);
    // BIND and UDP ASSOCIATE: command not supported.
    for cmd in [2, 3] {
        let answer = with_request(cmd, &[1, 127, 0, 0, 1], [0, 80]);
        assert_eq!(code(&answer[2..]), (vec![5, 7], 0), "{answer:?}");
    }
    // An unknown address type, then a port nobody listens on.
    let answer = with_request(1, &[9, 1, 2], [0, 80]);
    assert_eq!(answer, [5, 0, 5, 8, 0, 1, 0, 0, 0, 0, 0, 0]);
    let answer = with_request(1, &[1, 127, 0, 0, 1], closed);
    assert_eq!(code(&answer[2..]), (vec![5, 5], 0), "{answer:?}");
    // A name that does not resolve: host unreachable.
    let mut name = vec![3, 12];
    name.extend_from_slice(b"no.such.test");
    let answer = with_request(1, &name, [0, 80]);
    assert_eq!(code(&answer[2..]), (vec![5, 4], 0), "{answer:?}");
    // No method it can accept: 0xff, then closed.
    assert_eq!(ask(port, &[5, 1, 2]), [5, 0xff]);
    // Not SOCKS5 at all: closed without a word.
    assert!(closed_silently(port, b"GET / HTTP/1.0\r\n\r\n"));

    let (_v4, port4) = socks("socks4", &[]);
    let echo = echo_origin().to_be_bytes();
    let bind = [4, 2, echo[0], echo[1], 127, 0, 0, 1, 0];
    assert_eq!(ask(port4, &bind), [0, 91, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn bytes_sent_with_the_request_reach_the_target() {
    let (_proxy, port) = socks("socks5", &[]);
    let echo = echo_origin().to_be_bytes();
    let mut req = vec![5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, echo[0], echo[1]];
    req.extend_from_slice(b"pipelined");
    let answer = ask(port, &req);
    assert_eq!(&answer[..2], [5, 0]);
    assert_eq!(&answer[2..6], [5, 0, 0, 1]);
    assert_eq!(&answer[12..], b"pipelined");
}

#[test]
fn deny_max_conns_and_family() {
    let (_denied, port) = socks("socks5", &["--deny", "127.0.0.1"]);
    assert!(closed_silently(port, &[5, 1, 0]));

    // -m 1: a second client while the first is being served is closed at once.
    let (proxy, port) = socks("socks5", &["-m", "1"]);
    let mut first = connect(port);
    first.write_all(&[5, 1, 0]).unwrap();
    assert_eq!(read_n(&mut first, 2), [5, 0]);
    assert!(closed_silently(port, &[5, 1, 0]));
    proxy.wait_stderr("connection limit reached (1)");
    drop(first);
    // Its slot is free again once it has gone.
    let mut third = wait_for(|| {
        let mut s = connect(port);
        s.write_all(&[5, 1, 0]).ok()?;
        let mut two = [0u8; 2];
        std::io::Read::read_exact(&mut s, &mut two).ok()?;
        Some(s)
    })
    .expect("served again");
    third.write_all(&[5, 3, 0, 1, 127, 0, 0, 1, 0, 80]).unwrap();
    assert_eq!(read_n(&mut third, 2), [5, 7]);

    // -4: an IPv6 target is an address type this proxy does not reach.
    let (_v4only, port) = socks("socks5", &["-4"]);
    let mut req = vec![5, 1, 0, 5, 1, 0, 4];
    req.extend_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
    req.extend_from_slice(&[0, 80]);
    assert_eq!(ask(port, &req)[2..4], [5, 8]);
}

#[test]
fn socks_inside_tls() {
    let (_proxy, port) = socks("socks5", &["--ssl"]);
    let echo = echo_origin().to_be_bytes();
    let mut req = vec![5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, echo[0], echo[1]];
    req.extend_from_slice(b"inside tls\n");
    let mut client = ncat();
    client.args(["--ssl", "127.0.0.1", &port.to_string()]);
    let (status, out, err) = run_command(client, &req);
    assert_eq!(status, 0, "{err}");
    assert_eq!(&out[..4], [5, 0, 5, 0]);
    assert_eq!(&out[12..], b"inside tls\n");
}

#[test]
fn options_that_make_no_sense_for_it_are_refused() {
    for (args, message) in [
        (
            &["-l", "--proxy-type", "socks9"][..],
            "Invalid proxy type \"socks9\"; the proxy server speaks \"http\", \"socks4\" and \"socks5\".",
        ),
        (
            &["-l", "--proxy-type", "socks5", "-e", "/bin/cat"][..],
            "Invalid option combination: --exec has no effect with --proxy-type.",
        ),
        (
            &["-l", "--proxy-type", "socks4", "--chat"][..],
            "Invalid option combination: --broker has no effect with --proxy-type.",
        ),
    ] {
        let mut command = ncat();
        command.args(args);
        let (status, _, err) = run_command(command, b"");
        assert_eq!(status, 2, "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
    }
}

#[test]
fn ncat_7_93_as_the_client() {
    let Some(reference) = reference_ncat() else {
        return;
    };
    let (_v5, port5) = socks("socks5", &["--proxy-auth", "u:pw"]);
    let (_v4, port4) = socks("socks4", &[]);
    for (port, kind, target, auth) in [
        (port5, "socks5", "127.0.0.1", Some("u:pw")),
        (port5, "socks5", "localhost", Some("u:pw")),
        (port4, "socks4", "127.0.0.1", None),
        (port4, "socks4", "localhost", None),
    ] {
        let echo = echo_origin().to_string();
        let mut command = Command::new(reference);
        command.args([
            "--proxy",
            &format!("127.0.0.1:{port}"),
            "--proxy-type",
            kind,
        ]);
        if let Some(auth) = auth {
            command.args(["--proxy-auth", auth]);
        }
        command.args([target, &echo]);
        let (status, out, err) = run_command(command, b"from ncat 7.93\n");
        assert_eq!(
            (status, out.as_slice()),
            (0, &b"from ncat 7.93\n"[..]),
            "{kind} {target}: {err}"
        );
    }
}

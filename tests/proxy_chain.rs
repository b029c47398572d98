//! Proxy chains (`--proxy a,b,...` with a scheme per hop, an extension), through ncat's own
//! HTTP and SOCKS proxy servers.

use crate::common::*;
use std::net::TcpListener;

fn proxy_server(kind: &str, extra: &[&str]) -> (Proc, u16) {
    let mut args = vec!["-l", "--proxy-type", kind];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["127.0.0.1", "0"]);
    Proc::listen_with(&args, true)
}

/// ncat through `chain` to a fresh echo server; returns status, output and stderr.
fn through(chain: &str, extra: &[&str]) -> (i32, Vec<u8>, String) {
    let target = echo_origin().to_string();
    let mut command = ncat();
    command
        .args(["--proxy", chain])
        .args(extra)
        .args(["127.0.0.1", &target]);
    run_command(command, b"along the chain\n")
}

#[test]
fn http_then_socks5_with_a_login() {
    let (_http, h) = proxy_server("http", &[]);
    let (socks, s) = proxy_server("socks5", &["--proxy-auth", "u:p", "-v"]);
    let chain = format!("http://127.0.0.1:{h},socks5://u:p@127.0.0.1:{s}");
    let (status, out, err) = through(&chain, &[]);
    assert_eq!(
        (status, out.as_slice()),
        (0, &b"along the chain\n"[..]),
        "{err}"
    );
    // The SOCKS server saw its client come from the HTTP proxy's tunnel.
    socks.wait_stderr("SOCKS5 CONNECT to 127.0.0.1:");
}

#[test]
fn socks5_then_http_with_digest_rebuilds_the_chain_for_the_credentials() {
    let (socks, s) = proxy_server("socks5", &["-v"]);
    let (_http, h) = proxy_server("http", &["--proxy-auth", "alice:wonder"]);
    let chain = format!("socks5://127.0.0.1:{s},http://alice:wonder@127.0.0.1:{h}");
    let (status, out, err) = through(&chain, &["-v"]);
    assert_eq!(
        (status, out.as_slice()),
        (0, &b"along the chain\n"[..]),
        "{err}"
    );
    // Once for the 407, once with the answer.
    socks.wait_stderr_count("SOCKS5 CONNECT to 127.0.0.1:", 2);
}

#[test]
fn three_hops_socks4_http_socks5() {
    let (_a, a) = proxy_server("socks4", &[]);
    let (_b, b) = proxy_server("http", &[]);
    let (_c, c) = proxy_server("socks5", &[]);
    let chain = format!("socks4://127.0.0.1:{a},http://127.0.0.1:{b},socks5://localhost:{c}");
    let (status, out, err) = through(&chain, &[]);
    assert_eq!(
        (status, out.as_slice()),
        (0, &b"along the chain\n"[..]),
        "{err}"
    );
}

#[test]
fn errors_say_which_hop_failed() {
    let (_http, h) = proxy_server("http", &[]);
    let (_socks, s) = proxy_server("socks5", &["--proxy-auth", "u:p"]);
    let closed = unclaimed_port();

    // The HTTP proxy cannot reach the second hop.
    let (status, _, err) = through(
        &format!("http://127.0.0.1:{h},socks5://127.0.0.1:{closed}"),
        &[],
    );
    assert_eq!(status, 1, "{err}");
    assert!(
        err.contains(&format!(
            "Ncat: Proxy 1 of 2 (http://127.0.0.1:{h}): Proxy returned status code 504."
        )),
        "{err}"
    );
    // The second hop refuses the password; the credentials are not shown.
    let (status, _, err) = through(
        &format!("http://127.0.0.1:{h},socks5://u:bad@127.0.0.1:{s}"),
        &[],
    );
    assert_eq!(status, 1, "{err}");
    assert!(
        err.contains(&format!(
            "Ncat: Proxy 2 of 2 (socks5://127.0.0.1:{s}): Error: the proxy refused the username and password."
        )),
        "{err}"
    );
    assert!(!err.contains("bad"), "{err}");
    // The first hop is not there.
    let (status, _, err) = through(
        &format!("socks5://127.0.0.1:{closed},http://127.0.0.1:{h}"),
        &[],
    );
    assert_eq!(status, 1, "{err}");
    assert!(
        err.contains("Ncat: Proxy 1 of 2 (socks5://127.0.0.1:"),
        "{err}"
    );
    assert!(
        err.contains("Proxy connection failed: Connection refused."),
        "{err}"
    );
}

#[test]
fn wait_bounds_the_whole_chain() {
    // The second hop accepts and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let (_socks, s) = proxy_server("socks5", &[]);
    let chain = format!("socks5://127.0.0.1:{s},http://127.0.0.1:{silent_port}");
    let (status, out, err) = through(&chain, &["-w", "1"]);
    assert_eq!((status, out.len()), (1, 0), "{err}");
    assert!(err.contains("Ncat: TIMEOUT."), "{err}");
    drop(silent);
}

#[test]
fn chains_take_credentials_in_their_urls_only() {
    let mut command = ncat();
    command.args([
        "--proxy",
        "socks5://a:1,http://b:2",
        "--proxy-auth",
        "u:p",
        "h",
        "1",
    ]);
    let (status, _, err) = run_command(command, b"");
    assert_eq!(status, 2, "{err}");
    assert!(
        err.contains("--proxy-auth cannot be used with a proxy chain"),
        "{err}"
    );

    // One hop with a scheme and no credentials still takes --proxy-auth.
    let (_socks, s) = proxy_server("socks5", &["--proxy-auth", "u:p"]);
    let hop = format!("socks5://127.0.0.1:{s}");
    let (status, out, err) = through(&hop, &["--proxy-auth", "u:p"]);
    assert_eq!(
        (status, out.as_slice()),
        (0, &b"along the chain\n"[..]),
        "{err}"
    );
}

#[test]
fn through_ncat_7_93s_http_proxy_as_the_last_hop() {
    let Some(reference) = reference_ncat() else {
        return;
    };
    let port = unclaimed_port();
    let mut command = std::process::Command::new(reference);
    command
        .args(["-l", "--proxy-type", "http", "127.0.0.1", &port.to_string()])
        .stdin(std::process::Stdio::null());
    let _ncat = Proc::spawn_command(command);
    wait_for(|| std::net::TcpStream::connect(("127.0.0.1", port)).ok()).expect("Ncat listens");
    let (_socks, s) = proxy_server("socks5", &[]);
    // Ncat's tunnel ends at the first EOF either way, so the client sends nothing and keeps
    // its side open, and the target speaks first, as an SSH server does.
    let banner = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = banner.local_addr().unwrap().port().to_string();
    std::thread::spawn(move || {
        let (mut s, _) = banner.accept().unwrap();
        std::io::Write::write_all(&mut s, b"SSH-2.0-banner\r\n").unwrap();
    });
    let mut command = ncat();
    let chain = format!("socks5://127.0.0.1:{s},http://127.0.0.1:{port}");
    command.args(["--proxy", &chain, "--no-shutdown", "127.0.0.1", &target]);
    let (status, out, err) = run_command(command, b"");
    assert_eq!(
        (status, out.as_slice()),
        (0, &b"SSH-2.0-banner\r\n"[..]),
        "{err}"
    );
}

#[test]
fn tls_to_the_target_runs_inside_the_chain() {
    let (_target, t) = Proc::listen(&["-l", "--ssl", "-e", "/bin/cat", "127.0.0.1", "0"]);
    let (_http, h) = proxy_server("http", &[]);
    let (_socks, s) = proxy_server("socks4", &[]);
    let mut command = ncat();
    let chain = format!("http://127.0.0.1:{h},socks4://127.0.0.1:{s}");
    command.args(["--proxy", &chain, "--ssl", "127.0.0.1", &t.to_string()]);
    let (status, out, err) = run_command(command, b"sealed\n");
    assert_eq!((status, out.as_slice()), (0, &b"sealed\n"[..]), "{err}");
}

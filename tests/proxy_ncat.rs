//! The proxy hop and the HTTP proxy server as Ncat does them. Every server case runs against
//! our server and against Ncat's own (`/usr/bin/ncat`, the reference; required under CI).

use crate::common::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::thread::{self, JoinHandle};

/// An HTTP proxy server run by `binary` on a free port, killed at the end.
struct ProxyServer {
    child: std::process::Child,
    port: u16,
}

impl Drop for ProxyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ProxyServer {
    fn start(binary: &str, extra: &[&str]) -> ProxyServer {
        let port = unclaimed_port();
        let mut command = Command::new(binary);
        command
            .args(["-l", "--proxy-type", "http"])
            .args(extra)
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = command.spawn().unwrap();
        let server = ProxyServer { child, port };
        let at = if extra.contains(&"-6") {
            "::1"
        } else {
            "127.0.0.1"
        };
        wait_for(|| TcpStream::connect((at, port)).ok()).expect("the proxy listens");
        server
    }
}

/// Both servers: ours, then Ncat's when it is there.
fn binaries() -> Vec<&'static str> {
    let mut list = vec![env!("CARGO_BIN_EXE_ncat")];
    list.extend(reference_ncat());
    list
}

/// Sends `request` over a fresh connection from `from` (an address to connect from) and
/// returns the reply's status line.
fn status_line(port: u16, to: &str, request: &str) -> String {
    let mut s = wait_for(|| TcpStream::connect((to, port)).ok()).expect("connect");
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n") {
        match s.read(&mut byte) {
            Ok(1) => got.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&got).trim_end().to_string()
}

/// An origin on `addr` that accepts connections and holds them.
fn holding_origin(addr: &str) -> u16 {
    let listener = TcpListener::bind((addr, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept() {
            held.push(s);
        }
    });
    port
}

#[test]
fn connect_to_the_proxys_own_address_is_allowed() {
    for binary in binaries() {
        let proxy = ProxyServer::start(binary, &[]);
        let request = format!("CONNECT 127.0.0.1:{} HTTP/1.0\r\n\r\n", proxy.port);
        assert_eq!(
            status_line(proxy.port, "127.0.0.1", &request),
            "HTTP/1.0 200 OK",
            "{binary}"
        );
    }
}

#[test]
fn families_restrict_where_the_proxy_connects() {
    let v4 = holding_origin("127.0.0.1");
    let v6 = holding_origin("::1");
    for binary in binaries() {
        let proxy = ProxyServer::start(binary, &["-4"]);
        let to_v6 = format!("CONNECT [::1]:{v6} HTTP/1.0\r\n\r\n");
        assert_eq!(
            status_line(proxy.port, "127.0.0.1", &to_v6),
            "HTTP/1.0 504 Gateway Timeout",
            "{binary} -4"
        );
        let proxy = ProxyServer::start(binary, &["-6"]);
        let to_v4 = format!("CONNECT 127.0.0.1:{v4} HTTP/1.0\r\n\r\n");
        assert_eq!(
            status_line(proxy.port, "::1", &to_v4),
            "HTTP/1.0 504 Gateway Timeout",
            "{binary} -6"
        );
    }
}

#[test]
fn an_ipv6_client_reaches_an_ipv4_target() {
    let v4 = holding_origin("127.0.0.1");
    for binary in binaries() {
        let proxy = ProxyServer::start(binary, &[]);
        let request = format!("CONNECT 127.0.0.1:{v4} HTTP/1.0\r\n\r\n");
        assert_eq!(
            status_line(proxy.port, "::1", &request),
            "HTTP/1.0 200 OK",
            "{binary}"
        );
    }
}

fn forwarded_headers(binary: &str, fields: &str) -> String {
    let proxy = ProxyServer::start(binary, &[]);
    let (origin, request) = http_origin();
    let get = format!("GET http://127.0.0.1:{origin}/ HTTP/1.0\r\n{fields}\r\n");
    assert_eq!(
        status_line(proxy.port, "127.0.0.1", &get),
        "HTTP/1.0 200 OK",
        "{binary}"
    );
    request.join().unwrap().to_ascii_lowercase()
}

#[test]
fn fields_named_by_connection_are_not_forwarded() {
    for binary in binaries() {
        let got = forwarded_headers(
            binary,
            "Keep-Alive: 300\r\nOne: 1\r\nConnection: keep-alive, two, close\r\nTwo: 2\r\nThree: 3\r\n",
        );
        assert!(
            !got.contains("keep-alive: 300") && !got.contains("two: 2"),
            "{binary}: {got}"
        );
        assert!(
            got.contains("one: 1") && got.contains("three: 3"),
            "{binary}: {got}"
        );
        // Several Connection lines are combined first.
        let got = forwarded_headers(
            binary,
            "Connection: keep-alive\r\nKeep-Alive: 300\r\nConnection: two\r\nOne: 1\r\nConnection: close\r\nTwo: 2\r\n",
        );
        assert!(
            !got.contains("keep-alive: 300") && !got.contains("two: 2"),
            "{binary}: {got}"
        );
        assert!(got.contains("one: 1"), "{binary}: {got}");
    }
}

#[test]
fn auth_schemes_are_case_insensitive_and_folded_lines_are_joined() {
    let origin = holding_origin("127.0.0.1");
    let connect = format!("CONNECT 127.0.0.1:{origin} HTTP/1.0\r\n");
    // "user:pass" in base64.
    let cases = [
        "Proxy-Authorization: basic dXNlcjpwYXNz\r\n",
        "Proxy-Authorization: BASIC dXNlcjpwYXNz\r\n",
        "Proxy-Authorization:\t  Basic  \r\n\t  \n dXNlcjpwYXNz\r\n",
        "Proxy-Authorization: Basic\r\n dXNlcjpwYXNz\r\n",
    ];
    for binary in binaries() {
        for auth in cases {
            let proxy = ProxyServer::start(binary, &["--proxy-auth", "user:pass"]);
            let request = format!("{connect}{auth}\r\n");
            assert_eq!(
                status_line(proxy.port, "127.0.0.1", &request),
                "HTTP/1.0 200 OK",
                "{binary}: {auth:?}"
            );
        }
    }
}

/// A proxy that accepts and records the client's address and request, then answers with
/// `reply` (or never, when it is empty).
fn scripted_proxy(replies: Vec<&'static [u8]>) -> (u16, JoinHandle<Vec<(u16, String)>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let mut seen = Vec::new();
        for reply in replies {
            let (mut s, peer) = listener.accept().unwrap();
            s.set_read_timeout(Some(PATIENCE)).unwrap();
            let mut got = vec![0u8; 4096];
            let n = s.read(&mut got).unwrap_or(0);
            seen.push((peer.port(), String::from_utf8_lossy(&got[..n]).into_owned()));
            if reply.is_empty() {
                // Silent: the connection is held, unanswered, until the client gives up.
                let _ = std::io::copy(&mut s, &mut std::io::sink());
            } else {
                let _ = s.write_all(reply);
            }
        }
        seen
    });
    (port, handle)
}

#[test]
fn the_proxy_hop_comes_from_the_source_port() {
    for kind in ["http", "socks4", "socks5"] {
        let reply: &'static [u8] = match kind {
            "http" => b"HTTP/1.0 200 OK\r\n\r\n",
            "socks4" => b"\x00\x5a\x00\x00\x00\x00\x00\x00",
            _ => b"\x05\x00",
        };
        let (proxy, seen) = scripted_proxy(vec![reply]);
        let source = unclaimed_port().to_string();
        let out = ncat()
            .args([
                "--proxy",
                &format!("127.0.0.1:{proxy}"),
                "--proxy-type",
                kind,
            ])
            .args(["-p", &source, "-w", "2", "127.0.0.1", "80"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let seen = seen.join().unwrap();
        assert_eq!(seen[0].0.to_string(), source, "{kind}: {out:?}");
    }
}

#[test]
fn wait_bounds_a_silent_proxy() {
    for kind in ["http", "socks4", "socks5"] {
        let (proxy, _seen) = scripted_proxy(vec![b""]);
        let out = ncat()
            .args([
                "--proxy",
                &format!("127.0.0.1:{proxy}"),
                "--proxy-type",
                kind,
            ])
            .args(["-w", "500ms", "127.0.0.1", "80"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{kind}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "Ncat: TIMEOUT.\n",
            "{kind}"
        );
    }
}

#[test]
fn probing_goes_through_the_proxy() {
    let (proxy, _seen) = scripted_proxy(vec![b"HTTP/1.0 200 OK\r\n\r\n"]);
    let out = ncat()
        .args([
            "-z",
            "--proxy",
            &format!("127.0.0.1:{proxy}"),
            "127.0.0.1",
            "80",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let (proxy, _seen) = scripted_proxy(vec![b"HTTP/1.0 504 Gateway Timeout\r\n\r\n"]);
    let out = ncat()
        .args([
            "-z",
            "--proxy",
            &format!("127.0.0.1:{proxy}"),
            "127.0.0.1",
            "80",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Ncat: Proxy returned status code 504.\n"
    );
}

#[test]
fn digest_is_chosen_from_a_comma_separated_challenge() {
    let challenge: &'static [u8] = b"HTTP/1.0 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"a\", Digest realm=\"b\", nonce=\"n,1\", qop=\"auth\"\r\n\r\n";
    let (proxy, seen) = scripted_proxy(vec![challenge, b"HTTP/1.0 200 OK\r\n\r\n"]);
    let _ = ncat()
        .args([
            "--proxy",
            &format!("127.0.0.1:{proxy}"),
            "--proxy-auth",
            "user:pass",
        ])
        .args(["-w", "2", "127.0.0.1", "80"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let seen = seen.join().unwrap();
    let answer = seen[1]
        .1
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("proxy-authorization:"))
        .unwrap_or_else(|| panic!("no credentials: {seen:?}"))
        .to_string();
    assert!(answer.contains(": Digest "), "{answer}");
    assert!(
        answer.contains("realm=\"b\"") && answer.contains("nonce=\"n,1\""),
        "{answer}"
    );
}

#[test]
fn a_forwarded_request_to_the_proxy_itself_is_a_loop() {
    for binary in binaries() {
        let proxy = ProxyServer::start(binary, &[]);
        let request = format!("GET http://127.0.0.1:{}/ HTTP/1.0\r\n\r\n", proxy.port);
        assert_eq!(
            status_line(proxy.port, "127.0.0.1", &request),
            "HTTP/1.0 403 Forbidden",
            "{binary}"
        );
        let proxy = ProxyServer::start(binary, &["-6"]);
        let request = format!("GET http://[::1]:{}/ HTTP/1.0\r\n\r\n", proxy.port);
        assert_eq!(
            status_line(proxy.port, "::1", &request),
            "HTTP/1.0 403 Forbidden",
            "{binary} -6"
        );
    }
}

//! The HTTP proxy server (`-l --proxy-type http`): CONNECT, forwarding, authentication and
//! error replies, driven by raw requests, by ncat's own proxy client and by curl.

use crate::common::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;

fn proxy(extra: &[&str]) -> (Proc, u16) {
    let mut args = vec!["-l", "--proxy-type", "http"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["127.0.0.1", "0"]);
    Proc::listen_with(&args, true)
}

/// Sends raw bytes to the proxy and reads its whole answer.
fn ask(port: u16, request: &[u8]) -> String {
    let mut s = connect(port);
    s.write_all(request).unwrap();
    String::from_utf8_lossy(&read_to_end(&mut s)).into_owned()
}

fn have_curl() -> bool {
    have_tool("curl")
}

#[test]
fn curl_gets_a_page_through_the_proxy() {
    if !have_curl() {
        return;
    }
    let (_proxy, port) = proxy(&[]);
    let (origin_port, request) = http_origin();
    let out = Command::new("curl")
        .args(["-s", "-i", "--proxy", &format!("http://127.0.0.1:{port}")])
        .arg(format!("http://127.0.0.1:{origin_port}/some/path?q=1"))
        .output()
        .unwrap();
    let response = String::from_utf8_lossy(&out.stdout);
    assert!(response.starts_with("HTTP/1.0 200 OK\r\n"), "{response}");
    assert!(response.contains("Connection: close\r\n"), "{response}");
    assert!(!response.contains("Keep-Alive"), "{response}");
    assert!(response.ends_with("\r\n\r\nhello"), "{response}");
    let request = request.join().unwrap();
    assert!(
        request.starts_with("GET /some/path?q=1 HTTP/1.0\r\n"),
        "{request}"
    );
    assert!(
        request.contains(&format!("Host: 127.0.0.1:{origin_port}\r\n")),
        "{request}"
    );
    assert!(request.contains("Connection: close\r\n"), "{request}");
    assert!(!request.contains("Proxy-Connection"), "{request}");
}

#[test]
fn curl_with_basic_credentials() {
    if !have_curl() {
        return;
    }
    let (_proxy, port) = proxy(&["--proxy-auth", "user:pw"]);
    let (origin_port, _request) = http_origin();
    let out = Command::new("curl")
        .args(["-s", "--proxy", &format!("http://127.0.0.1:{port}")])
        .args(["--proxy-user", "user:pw", "--proxy-basic"])
        .arg(format!("http://127.0.0.1:{origin_port}/"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello");
}

#[test]
fn connect_tunnel_with_ncat_as_the_client_using_digest() {
    let (_proxy, port) = proxy(&["--proxy-auth", "alice:wonder"]);
    let origin_port = echo_origin().to_string();
    let address = format!("127.0.0.1:{port}");
    let mut client = Command::new(env!("CARGO_BIN_EXE_ncat"))
        .args(["--proxy", &address, "--proxy-auth", "alice:wonder"])
        .args(["127.0.0.1", &origin_port])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    client
        .stdin
        .take()
        .unwrap()
        .write_all(b"through the tunnel\n")
        .unwrap();
    let out = client.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, b"through the tunnel\n");
}

#[test]
fn connect_forwards_bytes_sent_with_the_request() {
    let (_proxy, port) = proxy(&[]);
    let origin_port = echo_origin();
    let mut s = connect(port);
    s.write_all(format!("CONNECT 127.0.0.1:{origin_port} HTTP/1.1\r\n\r\nearly bytes").as_bytes())
        .unwrap();
    half_close(&s);
    let answer = read_to_end(&mut s);
    assert_eq!(answer, b"HTTP/1.0 200 OK\r\n\r\nearly bytes");
}

#[test]
fn missing_or_wrong_credentials_get_407() {
    let (_proxy, port) = proxy(&["--proxy-auth", "u:p"]);
    for request in [
        "CONNECT 127.0.0.1:1 HTTP/1.0\r\n\r\n".to_string(),
        "CONNECT 127.0.0.1:1 HTTP/1.0\r\nProxy-Authorization: Basic dTp4\r\n\r\n".to_string(),
        "CONNECT 127.0.0.1:1 HTTP/1.0\r\nProxy-Authorization: Digest username=\"u\"\r\n\r\n"
            .to_string(),
    ] {
        let answer = ask(port, request.as_bytes());
        assert!(
            answer.starts_with("HTTP/1.0 407 Proxy Authentication Required\r\n"),
            "{answer}"
        );
        assert!(answer.contains("Proxy-Authenticate: Basic realm=\"Ncat\"\r\n"));
        assert!(answer.contains("Proxy-Authenticate: Digest realm=\"Ncat\", nonce=\""));
    }
}

#[test]
fn error_replies() {
    let (_proxy, port) = proxy(&[]);
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cases = [
        (
            "DELETE http://127.0.0.1/ HTTP/1.0\r\n\r\n".to_string(),
            "HTTP/1.0 405 Method Not Allowed\r\nAllow: CONNECT, GET, HEAD, POST\r\n\r\n",
        ),
        ("garbage\r\n\r\n".into(), "HTTP/1.0 400 Bad Request\r\n\r\n"),
        (
            "CONNECT 127.0.0.1 HTTP/1.0\r\n\r\n".into(),
            "HTTP/1.0 400 Bad Request\r\n\r\n",
        ),
        (
            "GET ftp://x/ HTTP/1.0\r\n\r\n".into(),
            "HTTP/1.0 400 Bad Request\r\n\r\n",
        ),
        (
            "POST http://127.0.0.1/ HTTP/1.0\r\n\r\n".into(),
            "HTTP/1.0 400 Bad Request\r\n\r\n",
        ),
        (
            format!("GET http://x/{} HTTP/1.0\r\n\r\n", "a".repeat(1100)),
            "HTTP/1.0 413 Request Entity Too Large\r\n\r\n",
        ),
        (
            format!("CONNECT 127.0.0.1:{closed} HTTP/1.0\r\n\r\n"),
            "HTTP/1.0 504 Gateway Timeout\r\n\r\n",
        ),
    ];
    for (request, expected) in cases {
        assert_eq!(ask(port, request.as_bytes()), expected, "{request:.60}");
    }
    // A header that never ends is cut off at the limit.
    let mut s = connect(port);
    s.write_all(b"GET http://x/ HTTP/1.0\r\n").unwrap();
    let filler = format!("X-Filler: {}\r\n", "b".repeat(100));
    for _ in 0..200 {
        if s.write_all(filler.as_bytes()).is_err() {
            break;
        }
    }
    let answer = read_to_end(&mut s);
    assert!(answer.starts_with(b"HTTP/1.0 413"), "{answer:?}");
}

#[test]
fn post_bodies_are_forwarded() {
    let (_proxy, port) = proxy(&[]);
    let (origin_port, request) = http_origin();
    let answer = ask(
        port,
        format!(
            "POST http://127.0.0.1:{origin_port}/form HTTP/1.1\r\nContent-Length: 11\r\nProxy-Connection: keep-alive\r\n\r\nfield=value"
        )
        .as_bytes(),
    );
    assert!(answer.ends_with("hello"), "{answer}");
    let request = request.join().unwrap();
    assert!(request.starts_with("POST /form HTTP/1.0\r\n"), "{request}");
    assert!(request.ends_with("\r\n\r\nfield=value"), "{request}");
}

#[test]
fn it_listens_only_where_told_and_honours_deny() {
    let (proxy, port) = proxy(&["--deny", "127.0.0.1"]);
    let log = proxy.stderr();
    assert_eq!(log.matches("Listening on").count(), 1, "{log}");
    assert!(log.contains("Listening on 127.0.0.1:"), "{log}");
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _ = s.write_all(b"CONNECT 127.0.0.1:1 HTTP/1.0\r\n\r\n");
    // Closed (maybe reset, as the request was never read) without a reply.
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    assert_eq!(answer, b"");
}

#[test]
fn tls_to_the_target_through_the_proxy() {
    let (_proxy, port) = proxy(&[]);
    let (mut target, target_port) = Proc::listen(&["-l", "--ssl", "127.0.0.1", "0"]);
    target.write_stdin(b"secret reply\n");
    target.close_stdin();
    let address = format!("127.0.0.1:{port}");
    let out = Command::new(env!("CARGO_BIN_EXE_ncat"))
        .args(["--recv-only", "--ssl", "--proxy", &address, "127.0.0.1"])
        .arg(target_port.to_string())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, b"secret reply\n");
}

#[test]
fn an_https_proxy_with_ssl() {
    if !have_curl() {
        return;
    }
    let (_proxy, port) = proxy(&["--ssl"]);
    let (origin_port, _request) = http_origin();
    let out = Command::new("curl")
        .args(["-s", "--proxy-insecure"])
        .args(["--proxy", &format!("https://127.0.0.1:{port}")])
        .arg(format!("http://127.0.0.1:{origin_port}/"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello");
}

//! Connecting through proxies (`--proxy`): SOCKS4/4a, SOCKS5 and HTTP CONNECT against scripted
//! proxies on loopback, which also play the target: each sends a banner in the same write as
//! its reply (a server that speaks first), then echoes.

use crate::common::*;
use md5::{Digest, Md5};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::{self, JoinHandle};

/// A proxy that serves `connections` clients in turn with `script`, returning what each
/// script returns (the requests it saw).
fn fake_proxy<T: Send + 'static>(
    connections: usize,
    script: impl Fn(usize, &mut TcpStream) -> T + Send + 'static,
) -> (String, JoinHandle<Vec<T>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let handle = thread::spawn(move || {
        (0..connections)
            .map(|i| {
                let (mut stream, _) = listener.accept().unwrap();
                stream.set_read_timeout(Some(PATIENCE)).unwrap();
                script(i, &mut stream)
            })
            .collect()
    });
    (address, handle)
}

fn read_exact(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    stream.read_exact(&mut buf).unwrap();
    buf
}

/// Reads up to a NUL byte (SOCKS4 strings).
fn read_cstring(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = read_exact(stream, 1)[0];
        out.push(byte);
        if byte == 0 {
            return out;
        }
    }
}

/// Reads an HTTP header block.
fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(read_exact(stream, 1)[0]);
    }
    String::from_utf8(head).unwrap()
}

/// After the reply: echo until the client is done.
fn echo(stream: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 || stream.write_all(&buf[..n]).is_err() {
            break;
        }
    }
}

/// Runs ncat with `args` and `input`; returns status, stdout and stderr.
fn run_client(args: &[&str], input: &[u8], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = ncat();
    command
        .args(args)
        .env_remove("NCAT_PROXY_AUTH")
        .envs(env.iter().copied());
    let (code, stdout, stderr) = run_command(command, input);
    (code, String::from_utf8_lossy(&stdout).into_owned(), stderr)
}

#[test]
fn socks4_with_an_address_and_a_banner_in_the_reply() {
    let (proxy, seen) = fake_proxy(1, |_, s| {
        let mut request = read_exact(s, 8);
        request.extend(read_cstring(s));
        s.write_all(b"\x00\x5a\x00\x00\x00\x00\x00\x00SSH-2.0-banner\r\n")
            .unwrap();
        echo(s);
        request
    });
    let (code, out, err) = run_client(
        &[
            "--proxy",
            &proxy,
            "--proxy-type",
            "socks4",
            "--proxy-auth",
            "me",
            "10.1.2.3",
            "2222",
        ],
        b"ping\n",
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "SSH-2.0-banner\r\nping\n");
    let request = &seen.join().unwrap()[0];
    assert_eq!(request, b"\x04\x01\x08\xae\x0a\x01\x02\x03me\x00");
}

#[test]
fn socks4a_sends_the_name_to_the_proxy() {
    let (proxy, seen) = fake_proxy(1, |_, s| {
        let mut request = read_exact(s, 8);
        request.extend(read_cstring(s));
        request.extend(read_cstring(s));
        s.write_all(b"\x00\x5a\x00\x00\x00\x00\x00\x00").unwrap();
        echo(s);
        request
    });
    let (code, _, err) = run_client(
        &[
            "-v",
            "--proxy",
            &proxy,
            "--proxy-type",
            "4",
            "target.example",
            "80",
        ],
        b"",
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("Ncat: Host target.example will be resolved by the proxy."),
        "{err}"
    );
    assert!(err.contains("Ncat: Connected to proxy 127.0.0.1:"), "{err}");
    let request = &seen.join().unwrap()[0];
    assert_eq!(
        request,
        b"\x04\x01\x00\x50\x00\x00\x00\x01\x00target.example\x00"
    );
}

#[test]
fn socks4_refusal() {
    let (proxy, _seen) = fake_proxy(1, |_, s| {
        read_exact(s, 9);
        s.write_all(b"\x00\x5b\x00\x00\x00\x00\x00\x00").unwrap();
    });
    let args = [
        "--proxy",
        &proxy,
        "--proxy-type",
        "socks4",
        "10.0.0.1",
        "80",
    ];
    let (code, _, err) = run_client(&args, b"", &[]);
    assert_eq!(
        (code, err.as_str()),
        (1, "Ncat: Proxy connection failed.\n")
    );
}

/// A SOCKS5 proxy that expects `greeting`, answers `method`, and (for method 2) reads a
/// username/password request; returns the login and CONNECT request it saw.
fn socks5_proxy(
    greeting: &'static [u8],
    method: u8,
    code: u8,
) -> (String, JoinHandle<Vec<Vec<u8>>>) {
    fake_proxy(1, move |_, s| {
        assert_eq!(read_exact(s, greeting.len()), greeting);
        s.write_all(&[5, method]).unwrap();
        let mut seen = Vec::new();
        if method == 2 {
            let mut login = read_exact(s, 2);
            let user_len = usize::from(login[1]);
            login.extend(read_exact(s, user_len + 1));
            let pass_len = usize::from(login[login.len() - 1]);
            login.extend(read_exact(s, pass_len));
            s.write_all(&[1, 0]).unwrap();
            seen.extend(login);
        }
        let mut request = read_exact(s, 4);
        let rest = match request[3] {
            1 => 6,
            4 => 18,
            _ => {
                let len = read_exact(s, 1);
                request.extend(&len);
                usize::from(len[0]) + 2
            }
        };
        request.extend(read_exact(s, rest));
        seen.push(b'|');
        seen.extend(request);
        // The reply with a name as the bound address, and the target's banner, in one write.
        let mut reply = vec![5, code, 0, 3, 4];
        reply.extend(b"bind\x00\x16");
        if code == 0 {
            reply.extend(b"hello\n");
        }
        s.write_all(&reply).unwrap();
        if code == 0 {
            echo(s);
        }
        seen
    })
}

#[test]
fn socks5_without_authentication() {
    let (proxy, seen) = socks5_proxy(b"\x05\x01\x00", 0, 0);
    let (code, out, err) = run_client(
        &[
            "-v",
            "--proxy",
            &proxy,
            "--proxy-type",
            "socks5",
            "host.example",
            "22",
        ],
        b"data\n",
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "hello\ndata\n");
    assert!(err.contains("Ncat: No authentication needed."), "{err}");
    assert!(err.contains("Ncat: connection succeeded."), "{err}");
    assert_eq!(
        seen.join().unwrap()[0],
        b"|\x05\x01\x00\x03\x0chost.example\x00\x16"
    );
}

#[test]
fn socks5_with_credentials_from_the_environment() {
    let (proxy, seen) = socks5_proxy(b"\x05\x02\x00\x02", 2, 0);
    let (code, out, err) = run_client(
        &[
            "-v",
            "--proxy",
            &proxy,
            "--proxy-type",
            "5",
            "--proxy-dns",
            "local",
            "localhost",
            "22",
        ],
        b"",
        &[("NCAT_PROXY_AUTH", "user:pa:ss")],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "hello\n");
    assert!(
        err.contains("Ncat: Doing username and password authentication."),
        "{err}"
    );
    assert!(
        err.contains("Ncat: Host localhost locally resolved to "),
        "{err}"
    );
    let seen = &seen.join().unwrap()[0];
    let (login, request) = seen.split_at(seen.iter().position(|&b| b == b'|').unwrap());
    assert_eq!(login, b"\x01\x04user\x05pa:ss");
    // Resolved here: an address, not a name, goes to the proxy.
    assert!(matches!(request[4], 1 | 4), "{request:?}");
}

#[test]
fn socks5_failure_codes_are_explained() {
    let (proxy, _seen) = socks5_proxy(b"\x05\x01\x00", 0, 5);
    let args = [
        "--proxy",
        &proxy,
        "--proxy-type",
        "socks5",
        "10.0.0.1",
        "80",
    ];
    let (code, _, err) = run_client(&args, b"", &[]);
    assert_eq!(
        (code, err.as_str()),
        (1, "Ncat: Error: Connection refused.\n")
    );
}

#[test]
fn http_connect_without_authentication() {
    let (proxy, seen) = fake_proxy(1, |_, s| {
        let head = read_head(s);
        s.write_all(b"HTTP/1.0 200 Connection established\r\n\r\nbanner\n")
            .unwrap();
        echo(s);
        head
    });
    let (code, out, err) = run_client(&["--proxy", &proxy, "::1", "443"], b"x\n", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "banner\nx\n");
    assert_eq!(
        seen.join().unwrap()[0],
        "CONNECT [::1]:443 HTTP/1.0\r\n\r\n"
    );
}

/// An HTTP proxy that answers the first CONNECT with `challenge` (a 407) and the second with
/// 200, then echoes; returns the two requests.
fn challenging_proxy(challenge: &'static [u8]) -> (String, JoinHandle<Vec<String>>) {
    fake_proxy(2, move |i, s| {
        let head = read_head(s);
        if i == 0 {
            s.write_all(challenge).unwrap();
        } else {
            s.write_all(b"HTTP/1.0 200 OK\r\n\r\n").unwrap();
            echo(s);
        }
        head
    })
}

#[test]
fn http_basic_authentication_after_a_407() {
    let (proxy, seen) = challenging_proxy(
        b"HTTP/1.0 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\n\r\n",
    );
    let args = [
        "--proxy",
        &proxy,
        "--proxy-auth",
        "u:p",
        "example.invalid",
        "443",
    ];
    let (code, out, err) = run_client(&args, b"through\n", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "through\n");
    let seen = seen.join().unwrap();
    assert_eq!(seen[0], "CONNECT example.invalid:443 HTTP/1.0\r\n\r\n");
    assert_eq!(
        seen[1],
        "CONNECT example.invalid:443 HTTP/1.0\r\nProxy-Authorization: Basic dTpw\r\n\r\n"
    );
}

fn md5_hex(text: &str) -> String {
    Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The value of `name="value"` or `name=value` in a Digest header.
fn digest_param(header: &str, name: &str) -> String {
    let start = header.find(&format!("{name}=")).unwrap() + name.len() + 1;
    let rest = &header[start..];
    match rest.strip_prefix('"') {
        Some(quoted) => quoted[..quoted.find('"').unwrap()].to_string(),
        None => rest.split([',', '\r']).next().unwrap().trim().to_string(),
    }
}

#[test]
fn http_digest_authentication_after_a_407() {
    let (proxy, seen) = challenging_proxy(
        b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"r\"\r\nProxy-Authenticate: Digest realm=\"r\", nonce=\"abc123\", qop=\"auth\", opaque=\"op\"\r\nContent-Length: 0\r\n\r\n",
    );
    let args = [
        "--proxy",
        &proxy,
        "--proxy-auth",
        "alice:secret",
        "10.9.8.7",
        "25",
    ];
    let (code, _, err) = run_client(&args, b"", &[]);
    assert_eq!(code, 0, "{err}");
    let seen = seen.join().unwrap();
    let header = seen[1]
        .lines()
        .find(|l| l.starts_with("Proxy-Authorization: Digest "))
        .unwrap_or_else(|| panic!("{}", seen[1]));
    let ha1 = md5_hex("alice:r:secret");
    let ha2 = md5_hex("CONNECT:10.9.8.7:25");
    let expected = md5_hex(&format!(
        "{ha1}:abc123:{}:{}:auth:{ha2}",
        digest_param(header, "nc"),
        digest_param(header, "cnonce")
    ));
    assert_eq!(digest_param(header, "response"), expected, "{header}");
    assert_eq!(digest_param(header, "uri"), "10.9.8.7:25");
    assert_eq!(digest_param(header, "opaque"), "op");
}

#[test]
fn http_refusals_and_bad_replies() {
    let cases: [(&[u8], &str); 6] = [
        (
            b"HTTP/1.0 403 Forbidden\r\n\r\n",
            "Ncat: Proxy returned status code 403.\n",
        ),
        (
            b"HTTP/1.0 407 Proxy Authentication Required\r\n\r\n",
            "Ncat: Proxy returned status code 407.\n",
        ),
        // A status line Ncat cannot read is "status code -1"; since Ncat 7.991 the version
        // must be digits and the code exactly three digits.
        (
            b"SSH-2.0-not-a-proxy\r\n\r\n",
            "Ncat: Proxy returned status code -1.\n",
        ),
        (
            b"HTTP/1.x 200 OK\r\n\r\n",
            "Ncat: Proxy returned status code -1.\n",
        ),
        (
            b"HTTP/1.1 2000 OK\r\n\r\n",
            "Ncat: Proxy returned status code -1.\n",
        ),
        (
            b"HTTP/1.0 200 OK\r\nTrunc",
            "Ncat: Proxy connection failed: the proxy closed the connection in mid-reply.\n",
        ),
    ];
    for (reply, message) in cases {
        let (proxy, _seen) = fake_proxy(1, move |_, s| {
            read_head(s);
            s.write_all(reply).unwrap();
        });
        let (code, out, err) = run_client(&["--proxy", &proxy, "10.0.0.1", "80"], b"", &[]);
        assert_eq!((code, out.as_str(), err.as_str()), (1, "", message));
    }
}

#[test]
fn an_oversized_reply_is_an_error_not_a_hang() {
    let (proxy, _seen) = fake_proxy(1, |_, s| {
        read_head(s);
        let _ = s.write_all(b"HTTP/1.0 200 OK\r\n");
        let filler = format!("X-Filler: {}\r\n", "a".repeat(1000));
        for _ in 0..100 {
            if s.write_all(filler.as_bytes()).is_err() {
                break;
            }
        }
    });
    let (code, _, err) = run_client(&["--proxy", &proxy, "10.0.0.1", "80"], b"", &[]);
    assert_eq!(
        (code, err.as_str()),
        (1, "Ncat: Proxy returned an overlong reply.\n")
    );
}

#[test]
fn an_unreachable_proxy() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let proxy = format!("127.0.0.1:{port}");
    let (code, _, err) = run_client(&["--proxy", &proxy, "10.0.0.1", "80"], b"", &[]);
    assert_eq!(
        (code, err.as_str()),
        (1, "Ncat: Proxy connection failed: Connection refused.\n")
    );
}

#[test]
fn option_checks() {
    let fatal = |args: &[&str], message: &str| {
        let (code, out, err) = run_client(args, b"", &[]);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(out, "");
        assert_eq!(err, format!("Ncat: {message} QUITTING.\n"), "{args:?}");
    };
    fatal(
        &["--proxy", "a:1", "--proxy", "b:2", "h", "1"],
        "You can't specify more than one --proxy.",
    );
    fatal(
        &["--proxy-type", "http", "--proxy-type", "socks4", "h", "1"],
        "You can't specify more than one --proxy-type.",
    );
    fatal(
        &["--proxy", "127.0.0.1", "--proxy-type", "socks6", "h", "1"],
        "Invalid proxy type \"socks6\".",
    );
    fatal(
        &["--proxy-type", "socks4", "127.0.0.1", "1"],
        "Proxy type (--proxy-type) specified without proxy address (--proxy).",
    );
    fatal(
        &["-l", "--proxy-type", "socks6"],
        "Invalid proxy type \"socks6\"; the proxy server speaks \"http\", \"socks4\" and \"socks5\".",
    );
    fatal(
        &["--proxy", "[::1", "h", "1"],
        "Invalid proxy IPv6 address \"[::1\".",
    );
    fatal(
        &["--proxy", "127.0.0.1:http", "h", "1"],
        "Invalid proxy port number \"http\".",
    );
    fatal(
        &["--proxy", "127.0.0.1", "--proxy-dns", "sometimes", "h", "1"],
        "Invalid proxy DNS type.",
    );
    fatal(
        &["-l", "--proxy", "127.0.0.1:3128"],
        "Invalid option combination: --proxy and -l.",
    );
    fatal(
        &["-U", "--proxy", "127.0.0.1", "/tmp/x.sock"],
        "Proxy option not supported when using Unix domain sockets.",
    );
    let (code, _, err) = run_client(&["-n", "--proxy", "proxy.invalid", "h", "1"], b"", &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.starts_with("Ncat: Could not resolve proxy \"proxy.invalid\": "),
        "{err}"
    );
}

//! Connecting through a proxy (`--proxy`): HTTP CONNECT with Basic or Digest authentication,
//! SOCKS4/4a and SOCKS5. Replies are read exactly, so whatever the target sends right after
//! the proxy's answer stays in the socket and reaches stdout like any other data.

use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::{Failure, strerror};
use crate::net::connect::{Origin, connect_from};
use crate::net::resolve::{self, Family};
use crate::proxy::http::{self, Head, HeadError};
use crate::proxy::socks::{self, Destination, ReplyRest};
use crate::proxy::{ProxyDns, ProxyKind, ProxyOptions};

/// The longest proxy reply header accepted.
const HEAD_LIMIT: usize = 64 * 1024;

/// Connects to `host:port` through the proxy and returns the tunnelled connection. `auth` is
/// `--proxy-auth` (or `NCAT_PROXY_AUTH`): a SOCKS4 user id, or `user:password`.
pub async fn connect(
    opts: &ProxyOptions,
    auth: Option<&str>,
    host: &str,
    port: u16,
    family: Family,
    origin: &Origin,
) -> anyhow::Result<TcpStream> {
    let dest = destination(host, opts.dns, family)?;
    match opts.kind {
        ProxyKind::Http => http_connect(opts, auth, &dest, port, origin).await,
        ProxyKind::Socks4 => {
            let user = auth.unwrap_or_default();
            let request = socks::socks4_request(&dest, port, user).map_err(Failure::network)?;
            let mut stream = reach_proxy(opts, origin, true).await?;
            send(&mut stream, &request).await?;
            let mut reply = [0u8; 8];
            receive(&mut stream, &mut reply).await?;
            socks::socks4_reply(&reply).map_err(Failure::network)?;
            Ok(stream)
        }
        ProxyKind::Socks5 => socks5_connect(opts, auth, &dest, port, origin).await,
    }
}

/// What the proxy is asked to reach, following `--proxy-dns`.
fn destination(host: &str, dns: ProxyDns, family: Family) -> anyhow::Result<Destination> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(Destination::Addr(ip));
    }
    let by_proxy = || {
        tracing::info!("Host {host} will be resolved by the proxy.");
        Ok(Destination::Name(host.to_string()))
    };
    let locally = || {
        resolve::resolve(host, family, false).ok().map(|addrs| {
            tracing::info!("Host {host} locally resolved to {}.", addrs[0]);
            Destination::Addr(addrs[0])
        })
    };
    match dns {
        ProxyDns::Remote => by_proxy(),
        ProxyDns::Local => locally().ok_or_else(|| {
            Failure::network(format!("Error: Failed to resolve host {host} locally."))
        }),
        ProxyDns::Both => locally().map_or_else(by_proxy, Ok),
        ProxyDns::None => Err(Failure::network(format!(
            "Error: with --proxy-dns none the target must be a numeric address, not \"{host}\"."
        ))),
    }
}

/// Connects to the proxy itself (its first address that answers).
async fn reach_proxy(
    opts: &ProxyOptions,
    origin: &Origin,
    announce: bool,
) -> anyhow::Result<TcpStream> {
    let mut last = None;
    for ip in &opts.addrs {
        match connect_from(SocketAddr::new(*ip, opts.port), origin).await {
            Ok(stream) => {
                if announce {
                    tracing::info!("Connected to proxy {ip}:{}", opts.port);
                }
                return Ok(stream);
            }
            Err(e) => last = Some(e),
        }
    }
    let reason = last.map_or_else(|| "no address".into(), |e| strerror(&e));
    Err(Failure::network(format!(
        "Proxy connection failed: {reason}."
    )))
}

async fn send(stream: &mut TcpStream, bytes: &[u8]) -> anyhow::Result<()> {
    stream
        .write_all(bytes)
        .await
        .map_err(|e| Failure::network(format!("Proxy connection failed: {}.", strerror(&e))))
}

/// Reads exactly `buf.len()` bytes of a proxy's reply.
async fn receive(stream: &mut TcpStream, buf: &mut [u8]) -> anyhow::Result<()> {
    match stream.read_exact(buf).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(Failure::network(
            "Proxy connection failed: the proxy closed the connection in mid-reply.",
        )),
        Err(e) => Err(Failure::network(format!(
            "Proxy connection failed: {}.",
            strerror(&e)
        ))),
    }
}

async fn socks5_connect(
    opts: &ProxyOptions,
    auth: Option<&str>,
    dest: &Destination,
    port: u16,
    origin: &Origin,
) -> anyhow::Result<TcpStream> {
    let credentials = auth.is_some();
    let request = socks::socks5_connect(dest, port).map_err(Failure::network)?;
    let mut stream = reach_proxy(opts, origin, true).await?;
    send(&mut stream, &socks::socks5_greeting(credentials)).await?;
    let mut method = [0u8; 2];
    receive(&mut stream, &mut method).await?;
    match socks::socks5_method(&method, credentials).map_err(Failure::network)? {
        socks::USER_PASS => {
            tracing::info!("Doing username and password authentication.");
            let login =
                socks::socks5_credentials(auth.unwrap_or_default()).map_err(Failure::network)?;
            send(&mut stream, &login).await?;
            let mut status = [0u8; 2];
            receive(&mut stream, &mut status).await?;
            socks::socks5_auth_reply(&status).map_err(Failure::network)?;
        }
        _ => tracing::info!("No authentication needed."),
    }
    send(&mut stream, &request).await?;
    let mut head = [0u8; 4];
    receive(&mut stream, &mut head).await?;
    let rest = match socks::socks5_reply_rest(&head).map_err(Failure::network)? {
        ReplyRest::Bytes(n) => n,
        ReplyRest::NameThenBytes(n) => {
            let mut len = [0u8; 1];
            receive(&mut stream, &mut len).await?;
            usize::from(len[0]) + n
        }
    };
    let mut bound = vec![0u8; rest];
    receive(&mut stream, &mut bound).await?;
    tracing::info!("connection succeeded.");
    Ok(stream)
}

/// `host:port` as a CONNECT request names it (IPv6 in brackets).
fn authority(dest: &Destination, port: u16) -> String {
    match dest {
        Destination::Addr(IpAddr::V6(ip)) => format!("[{ip}]:{port}"),
        Destination::Addr(ip) => format!("{ip}:{port}"),
        Destination::Name(name) => format!("{name}:{port}"),
    }
}

async fn http_connect(
    opts: &ProxyOptions,
    auth: Option<&str>,
    dest: &Destination,
    port: u16,
    origin: &Origin,
) -> anyhow::Result<TcpStream> {
    let target = authority(dest, port);
    let (mut stream, head) = http_attempt(opts, &target, None, origin).await?;
    let head = match (head.status(), auth) {
        (Some(407), Some(auth)) => {
            let credentials = answer_challenge(&head, auth, &target)?;
            let (retry, head) = http_attempt(opts, &target, Some(&credentials), origin).await?;
            stream = retry;
            head
        }
        _ => head,
    };
    match head.status() {
        Some(200) => Ok(stream),
        Some(code) => Err(Failure::network(format!(
            "Proxy returned status code {code}."
        ))),
        None => Err(malformed_status()),
    }
}

/// One CONNECT request on a fresh connection, and the proxy's reply header.
async fn http_attempt(
    opts: &ProxyOptions,
    target: &str,
    credentials: Option<&str>,
    origin: &Origin,
) -> anyhow::Result<(TcpStream, Head)> {
    let mut stream = reach_proxy(opts, origin, false).await?;
    let mut request = format!("CONNECT {target} HTTP/1.0\r\n");
    if let Some(credentials) = credentials {
        request.push_str(&format!("Proxy-Authorization: {credentials}\r\n"));
    }
    request.push_str("\r\n");
    send(&mut stream, request.as_bytes()).await?;
    let block = match http::read_head(&mut stream, HEAD_LIMIT).await {
        Ok(block) => block,
        Err(HeadError::Closed) => {
            return Err(Failure::network(
                "Proxy connection failed: the proxy closed the connection in mid-reply.",
            ));
        }
        Err(HeadError::TooLong) => {
            return Err(Failure::network("Proxy returned an overlong reply."));
        }
        Err(HeadError::Io(e)) => {
            return Err(Failure::network(format!(
                "Proxy connection failed: {}.",
                strerror(&e)
            )));
        }
    };
    let head = Head::parse(&block)
        .filter(|h| h.status().is_some())
        .ok_or_else(malformed_status)?;
    Ok((stream, head))
}

/// A reply whose status line is not `HTTP/<digits>.<digits> <three digits> ...`: Ncat reads
/// its code as -1 and says so.
fn malformed_status() -> anyhow::Error {
    Failure::network("Proxy returned status code -1.")
}

/// Credentials for a 407 reply: Digest when the proxy offers it, Basic otherwise.
fn answer_challenge(head: &Head, auth: &str, target: &str) -> anyhow::Result<String> {
    // Digest whenever it is offered, in one header or several (as Ncat prefers it).
    let digest = head
        .all("Proxy-Authenticate")
        .flat_map(http::challenges)
        .find(|(scheme, _)| scheme.eq_ignore_ascii_case("Digest"));
    match digest {
        Some((_, challenge)) => {
            let challenge = challenge.as_str();
            let (user, pass) = auth.split_once(':').unwrap_or((auth, ""));
            http::digest_credentials(
                challenge,
                user,
                pass,
                "CONNECT",
                target,
                &http::random_token(),
            )
            .ok_or_else(|| Failure::network("Proxy returned an invalid Digest challenge."))
        }
        None => Ok(http::basic_credentials(auth)),
    }
}

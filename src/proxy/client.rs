//! Connecting through proxies (`--proxy`): HTTP CONNECT with Basic or Digest authentication,
//! SOCKS4/4a and SOCKS5, one hop or a chain of them. Every hop's handshake runs through the
//! tunnel the hops before it opened, so the connection stays the one TCP stream to the first
//! proxy. Replies are read exactly, so whatever the target sends right after the last
//! proxy's answer stays in the socket and reaches stdout like any other data.

use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::{Failure, strerror};
use crate::net::connect::{Origin, connect_from};
use crate::net::resolve::{self, Family};
use crate::proxy::http::{self, Head, HeadError};
use crate::proxy::socks::{self, Destination, ReplyRest};
use crate::proxy::{Hop, ProxyDns, ProxyKind, ProxyOptions};

/// The longest proxy reply header accepted.
const HEAD_LIMIT: usize = 64 * 1024;

/// Why one hop's handshake did not open the tunnel.
enum HopError {
    /// An HTTP proxy asked for credentials (407): the reply, to answer on a new connection.
    Challenge(Head),
    /// Anything else: the message (Ncat's, for a single proxy).
    Failed(String),
}

impl From<String> for HopError {
    fn from(message: String) -> HopError {
        HopError::Failed(message)
    }
}

/// Connects to `host:port` through the proxies and returns the tunnelled connection.
pub async fn connect(
    opts: &ProxyOptions,
    host: &str,
    port: u16,
    family: Family,
    origin: &Origin,
) -> Result<TcpStream, Failure> {
    let target = destination(host, opts.dns, family)?;
    let chained = opts.hops.len() > 1;
    let ask = |k: usize| match opts.hops.get(k + 1) {
        Some(next) => (next.destination(), next.port),
        None => (target.clone(), port),
    };
    let in_hop = |k: usize, message: String| {
        if chained {
            let hop = &opts.hops[k];
            Failure::Network(format!(
                "Proxy {} of {} ({}): {message}",
                k + 1,
                opts.hops.len(),
                hop.url()
            ))
        } else {
            Failure::Network(message)
        }
    };
    // Requests no hop can carry fail before any connection is made, as in Ncat.
    for (k, hop) in opts.hops.iter().enumerate() {
        let (dest, dest_port) = ask(k);
        let request = match hop.kind {
            ProxyKind::Http => Ok(Vec::new()),
            ProxyKind::Socks4 => socks::socks4_request(&dest, dest_port, ""),
            ProxyKind::Socks5 => socks::socks5_connect(&dest, dest_port),
        };
        request.map_err(|m| in_hop(k, m))?;
    }
    // The credentials to present to each HTTP hop: none until it asks for them.
    let mut answers: Vec<Option<String>> = vec![None; opts.hops.len()];
    'chain: loop {
        let mut stream = reach_first(opts, origin).await.map_err(|m| in_hop(0, m))?;
        for (k, hop) in opts.hops.iter().enumerate() {
            let (dest, dest_port) = ask(k);
            let step = handshake(hop, &mut stream, &dest, dest_port, answers[k].as_deref());
            match step.await {
                Ok(()) => {}
                Err(HopError::Challenge(head)) => match (&hop.auth, &answers[k]) {
                    (Some(auth), None) => {
                        let authority = authority(&dest, dest_port);
                        let answer = answer_challenge(&head, auth, &authority);
                        answers[k] = Some(answer.map_err(|m| in_hop(k, m))?);
                        continue 'chain;
                    }
                    _ => return Err(in_hop(k, "Proxy returned status code 407.".into())),
                },
                Err(HopError::Failed(message)) => return Err(in_hop(k, message)),
            }
        }
        return Ok(stream);
    }
}

/// One hop's handshake over `stream`, asking it for `dest:port`.
async fn handshake(
    hop: &Hop,
    stream: &mut TcpStream,
    dest: &Destination,
    port: u16,
    credentials: Option<&str>,
) -> Result<(), HopError> {
    match hop.kind {
        ProxyKind::Http => http_connect(stream, &authority(dest, port), credentials).await,
        ProxyKind::Socks4 => {
            let user = hop.auth.as_deref().unwrap_or_default();
            send(stream, &socks::socks4_request(dest, port, user)?).await?;
            let mut reply = [0u8; 8];
            receive(stream, &mut reply).await?;
            Ok(socks::socks4_reply(&reply)?)
        }
        ProxyKind::Socks5 => Ok(socks5_connect(stream, hop.auth.as_deref(), dest, port).await?),
    }
}

/// What the proxy is asked to reach, following `--proxy-dns`.
fn destination(host: &str, dns: ProxyDns, family: Family) -> Result<Destination, Failure> {
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
            Failure::Network(format!("Error: Failed to resolve host {host} locally."))
        }),
        ProxyDns::Both => locally().map_or_else(by_proxy, Ok),
        ProxyDns::None => Err(Failure::Network(format!(
            "Error: with --proxy-dns none the target must be a numeric address, not \"{host}\"."
        ))),
    }
}

/// Connects to the first proxy (its first address that answers).
async fn reach_first(opts: &ProxyOptions, origin: &Origin) -> Result<TcpStream, String> {
    let first = &opts.hops[0];
    let mut last = None;
    for ip in &opts.first_addrs {
        match connect_from(SocketAddr::new(*ip, first.port), origin).await {
            Ok(stream) => {
                // Ncat announces a SOCKS proxy, not an HTTP one.
                if first.kind != ProxyKind::Http {
                    tracing::info!("Connected to proxy {ip}:{}", first.port);
                }
                return Ok(stream);
            }
            Err(e) => last = Some(e),
        }
    }
    let reason = last.map_or_else(|| "no address".into(), |e| strerror(&e));
    Err(format!("Proxy connection failed: {reason}."))
}

async fn send(stream: &mut TcpStream, bytes: &[u8]) -> Result<(), String> {
    stream
        .write_all(bytes)
        .await
        .map_err(|e| format!("Proxy connection failed: {}.", strerror(&e)))
}

/// Reads exactly `buf.len()` bytes of a proxy's reply.
async fn receive(stream: &mut TcpStream, buf: &mut [u8]) -> Result<(), String> {
    match stream.read_exact(buf).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err("Proxy connection failed: the proxy closed the connection in mid-reply.".into())
        }
        Err(e) => Err(format!("Proxy connection failed: {}.", strerror(&e))),
    }
}

async fn socks5_connect(
    stream: &mut TcpStream,
    auth: Option<&str>,
    dest: &Destination,
    port: u16,
) -> Result<(), String> {
    let credentials = auth.is_some();
    let request = socks::socks5_connect(dest, port)?;
    send(stream, &socks::socks5_greeting(credentials)).await?;
    let mut method = [0u8; 2];
    receive(stream, &mut method).await?;
    if socks::socks5_method(&method, credentials)? == socks::USER_PASS {
        tracing::info!("Doing username and password authentication.");
        let login = socks::socks5_credentials(auth.unwrap_or_default())?;
        send(stream, &login).await?;
        let mut status = [0u8; 2];
        receive(stream, &mut status).await?;
        socks::socks5_auth_reply(&status)?;
    } else {
        tracing::info!("No authentication needed.");
    }
    send(stream, &request).await?;
    let mut head = [0u8; 4];
    receive(stream, &mut head).await?;
    let rest = match socks::socks5_reply_rest(&head)? {
        ReplyRest::Bytes(n) => n,
        ReplyRest::NameThenBytes(n) => {
            let mut len = [0u8; 1];
            receive(stream, &mut len).await?;
            usize::from(len[0]) + n
        }
    };
    let mut bound = vec![0u8; rest];
    receive(stream, &mut bound).await?;
    tracing::info!("connection succeeded.");
    Ok(())
}

/// `host:port` as a CONNECT request names it (IPv6 in brackets).
fn authority(dest: &Destination, port: u16) -> String {
    match dest {
        Destination::Addr(IpAddr::V6(ip)) => format!("[{ip}]:{port}"),
        Destination::Addr(ip) => format!("{ip}:{port}"),
        Destination::Name(name) => format!("{name}:{port}"),
    }
}

/// One CONNECT request; a 407 is a [`HopError::Challenge`] for the caller to answer.
async fn http_connect(
    stream: &mut TcpStream,
    target: &str,
    credentials: Option<&str>,
) -> Result<(), HopError> {
    let mut request = format!("CONNECT {target} HTTP/1.0\r\n");
    if let Some(credentials) = credentials {
        request.push_str(&format!("Proxy-Authorization: {credentials}\r\n"));
    }
    request.push_str("\r\n");
    send(stream, request.as_bytes()).await?;
    let block = match http::read_head(stream, HEAD_LIMIT).await {
        Ok(block) => block,
        Err(HeadError::Closed) => {
            return Err(
                "Proxy connection failed: the proxy closed the connection in mid-reply."
                    .to_string()
                    .into(),
            );
        }
        Err(HeadError::TooLong) => {
            return Err("Proxy returned an overlong reply.".to_string().into());
        }
        Err(HeadError::Io(e)) => {
            return Err(format!("Proxy connection failed: {}.", strerror(&e)).into());
        }
    };
    // A status line that is not `HTTP/<digits>.<digits> <three digits> ...`: Ncat reads its
    // code as -1 and says so.
    let malformed = || HopError::Failed("Proxy returned status code -1.".into());
    let head = Head::parse(&block)
        .filter(|h| h.status().is_some())
        .ok_or_else(malformed)?;
    match head.status() {
        Some(200) => Ok(()),
        Some(407) if credentials.is_none() => Err(HopError::Challenge(head)),
        Some(code) => Err(format!("Proxy returned status code {code}.").into()),
        None => Err(malformed()),
    }
}

/// Credentials for a 407 reply: Digest when the proxy offers it, Basic otherwise.
fn answer_challenge(head: &Head, auth: &str, target: &str) -> Result<String, String> {
    // Digest whenever it is offered, in one header or several (as Ncat prefers it).
    let digest = head
        .all("Proxy-Authenticate")
        .flat_map(http::challenges)
        .find(|(scheme, _)| scheme.eq_ignore_ascii_case("Digest"));
    match digest {
        Some((_, challenge)) => {
            let (user, pass) = auth.split_once(':').unwrap_or((auth, ""));
            http::digest_credentials(
                challenge.as_str(),
                user,
                pass,
                "CONNECT",
                target,
                &http::random_token(),
            )
            .ok_or_else(|| "Proxy returned an invalid Digest challenge.".into())
        }
        None => Ok(http::basic_credentials(auth)),
    }
}

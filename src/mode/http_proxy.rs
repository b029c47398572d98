//! The HTTP proxy server (`-l --proxy-type http`): CONNECT tunnels and GET/HEAD/POST
//! forwarding, with optional Basic or Digest authentication. One task per client; it listens
//! where it is told to (Ncat binds every address whatever it is given).

use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::config::Config;
use crate::error::{Failure, ModeResult};
use crate::io::tunnel;
use crate::net::access::AccessList;
use crate::net::connect;
use crate::net::listener::Arrival;
use crate::net::resolve::{Family, canonical_ip};
use crate::net::stream::{Endpoint, ReadHalf, Stream, WriteHalf};
use crate::proxy::http::{self, Head, HeadError};

/// The longest request line accepted (longer: 413).
const LINE_LIMIT: usize = 1024;
/// The longest request header accepted (longer: 413).
const HEAD_LIMIT: usize = 10 * 1024;

const BAD_REQUEST: &str = "HTTP/1.0 400 Bad Request\r\n\r\n";
const NOT_ALLOWED: &str =
    "HTTP/1.0 405 Method Not Allowed\r\nAllow: CONNECT, GET, HEAD, POST\r\n\r\n";
const TOO_LARGE: &str = "HTTP/1.0 413 Request Entity Too Large\r\n\r\n";
const FORBIDDEN: &str = "HTTP/1.0 403 Forbidden\r\n\r\n";
const GATEWAY_TIMEOUT: &str = "HTTP/1.0 504 Gateway Timeout\r\n\r\n";

/// Header fields that concern one hop only, never forwarded.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
];

/// What every client task needs.
struct Settings {
    /// `user:password` required of clients, if any.
    auth: Option<String>,
    /// The nonce of this run's Digest challenges.
    nonce: String,
    access: Arc<AccessList>,
    /// `-4` / `-6`: the only family the proxy connects to.
    family: Family,
}

/// Serves proxy clients until the listeners fail; stdin and stdout are not used.
pub async fn run(cfg: &Config, mut incoming: mpsc::Receiver<Arrival>) -> ModeResult {
    let settings = Arc::new(Settings {
        auth: cfg.proxy_auth.clone(),
        nonce: http::random_token(),
        access: cfg.access.clone(),
        family: cfg.family,
    });
    while let Some(arrival) = incoming.recv().await {
        let Ok((stream, peer)) = arrival else {
            continue;
        };
        // Denied clients are closed without a word, as in Ncat.
        if peer.ip().is_some_and(|ip| !settings.access.permits(ip)) {
            continue;
        }
        tokio::spawn(serve(stream, settings.clone()));
    }
    Err(Failure::Fatal("Unable to accept connections.".into()))
}

/// Answers one client's request.
async fn serve(stream: Stream, settings: Arc<Settings>) {
    let local = stream.local();
    let (mut reader, mut writer) = stream.into_split();
    let mut pending = BytesMut::new();
    let answer = match handle(&mut reader, &mut writer, &mut pending, &local, &settings).await {
        Ok(()) => return,
        Err(answer) => answer,
    };
    let _ = writer.write_all(answer.as_bytes()).await;
    let _ = writer.shutdown().await;
}

/// Reads the request and carries it out; an `Err` is the error reply to send.
async fn handle(
    reader: &mut ReadHalf,
    writer: &mut WriteHalf,
    pending: &mut BytesMut,
    local: &Endpoint,
    settings: &Settings,
) -> Result<(), String> {
    let block = match http::read_head_buffered(reader, pending, HEAD_LIMIT).await {
        Ok(block) => block,
        Err(HeadError::TooLong) => return Err(TOO_LARGE.into()),
        // A client that left without a request gets nothing.
        Err(HeadError::Closed | HeadError::Io(_)) => return Ok(()),
    };
    let line_len = memchr::memmem::find(&block, b"\r\n").unwrap_or(block.len());
    if line_len > LINE_LIMIT {
        return Err(TOO_LARGE.into());
    }
    let head = Head::parse(&block)
        .filter(|h| h.start[2].starts_with("HTTP/"))
        .ok_or(BAD_REQUEST)?;
    let [method, target, _] = &head.start;
    if let Some(auth) = &settings.auth
        && !authorized(&head, auth, method, &settings.nonce)
    {
        return Err(format!(
            "HTTP/1.0 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"Ncat\"\r\nProxy-Authenticate: Digest realm=\"Ncat\", nonce=\"{}\", qop=\"auth\"\r\n\r\n",
            settings.nonce
        ));
    }
    match method.as_str() {
        "CONNECT" => {
            let (host, port) = split_authority(target).ok_or(BAD_REQUEST)?;
            let origin = reach(&host, port, settings.family).await?;
            writer
                .write_all(b"HTTP/1.0 200 OK\r\n\r\n")
                .await
                .map_err(|_| String::new())?;
            tunnel::relay(reader, writer, pending.split().freeze(), origin).await;
            Ok(())
        }
        "GET" | "HEAD" | "POST" => {
            forward(reader, writer, pending, &head, local, settings.family).await
        }
        _ => Err(NOT_ALLOWED.into()),
    }
}

/// Whether the request carries the credentials the server requires.
/// Schemes are compared without regard to case (`basic`, `BASIC`), as RFC 7235 says.
pub fn authorized(head: &Head, auth: &str, method: &str, nonce: &str) -> bool {
    let Some((scheme, given)) = head.credentials("Proxy-Authorization") else {
        return false;
    };
    if scheme.eq_ignore_ascii_case("Basic") {
        return http::base64_decode(given).is_some_and(|d| d == auth.as_bytes());
    }
    if scheme.eq_ignore_ascii_case("Digest") {
        let (user, pass) = auth.split_once(':').unwrap_or((auth, ""));
        return http::digest_matches(given, user, pass, method, nonce);
    }
    false
}

/// `host:port` or `[v6]:port` (the port is required).
pub fn split_authority(authority: &str) -> Option<(String, u16)> {
    let (host, port) = match authority.strip_prefix('[') {
        Some(rest) => {
            let (host, after) = rest.split_once(']')?;
            (host, after.strip_prefix(':')?)
        }
        None => authority.rsplit_once(':')?,
    };
    let port = crate::parse::port(port)?;
    (!host.is_empty()).then(|| (host.to_string(), port))
}

/// Copies until EOF, then shuts the writer down.
async fn copy_then_close<R, W>(reader: &mut R, writer: &mut W) -> std::io::Result<()>
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    tokio::io::copy(reader, writer).await?;
    writer.shutdown().await
}

/// Whether a request's host and port name this proxy itself: a request loop, refused for
/// forwarded requests as Ncat refuses it (RFC 7230 5.7). A CONNECT to the proxy's own address
/// is carried out, as in Ncat.
async fn names_this_proxy(host: &str, port: u16, local: &Endpoint) -> bool {
    let Endpoint::Ip(me) = local else {
        return false;
    };
    if port != me.port() {
        return false;
    }
    let Ok(addrs) = tokio::net::lookup_host((host, port)).await else {
        return false;
    };
    let me = canonical_ip(me.ip());
    addrs
        .map(|a| canonical_ip(a.ip()))
        .any(|ip| ip == me || ip.is_loopback() || ip.is_unspecified())
}

/// Connects to the origin: any address of `family` (`-4`/`-6`) the name has, in turn; none
/// is a 504, as in Ncat. Like Ncat, the proxy may be asked to reach itself.
async fn reach(host: &str, port: u16, family: Family) -> Result<TcpStream, String> {
    connect::reach(host, port, family, None)
        .await
        .map_err(|_| GATEWAY_TIMEOUT.into())
}

/// Forwards a GET, HEAD or POST to an origin server as HTTP/1.0, and its response back.
async fn forward(
    reader: &mut ReadHalf,
    writer: &mut WriteHalf,
    pending: &mut BytesMut,
    head: &Head,
    local: &Endpoint,
    family: Family,
) -> Result<(), String> {
    let [method, target, _] = &head.start;
    let rest = target.strip_prefix("http://").ok_or(BAD_REQUEST)?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, "/"),
    };
    let (host, port) = if authority.ends_with(']') || !authority.contains(':') {
        (authority.trim_matches(['[', ']']).to_string(), 80)
    } else {
        split_authority(authority).ok_or(BAD_REQUEST)?
    };
    let body_len = match (method.as_str(), head.get("Content-Length")) {
        ("POST", None) => return Err(BAD_REQUEST.into()),
        (_, None) => 0,
        (_, Some(len)) => len.trim().parse::<u64>().map_err(|_| BAD_REQUEST)?,
    };
    let request = origin_request(head, path, &host, port);

    if names_this_proxy(&host, port, local).await {
        return Err(FORBIDDEN.into());
    }
    let origin = reach(&host, port, family).await?;
    let (mut origin_reader, mut origin_writer) = origin.into_split();
    let sent = async {
        origin_writer.write_all(request.as_bytes()).await?;
        let early = pending.split_to(pending.len().min(body_len as usize));
        origin_writer.write_all(&early).await?;
        let remaining = body_len - early.len() as u64;
        tokio::io::copy(&mut (&mut *reader).take(remaining), &mut origin_writer).await?;
        Ok::<(), std::io::Error>(())
    };
    if sent.await.is_err() {
        return Err(GATEWAY_TIMEOUT.into());
    }

    let mut buffered = BytesMut::new();
    let block = http::read_head_buffered(&mut origin_reader, &mut buffered, 64 * 1024)
        .await
        .map_err(|_| GATEWAY_TIMEOUT)?;
    let response = Head::parse(&block).ok_or(GATEWAY_TIMEOUT)?;
    let start = format!("HTTP/1.0 {} {}\r\n", response.start[1], response.start[2]);
    let answer = with_end_to_end_fields(start, &response, "Connection: close\r\n\r\n");
    let relayed = async {
        writer.write_all(answer.as_bytes()).await?;
        writer.write_all(&buffered).await?;
        copy_then_close(&mut origin_reader, writer).await
    };
    let _ = relayed.await;
    Ok(())
}

/// The request as the origin gets it: HTTP/1.0, the end-to-end fields, `Host` (with the port
/// unless 80) and `Connection: close`.
fn origin_request(head: &Head, path: &str, host: &str, port: u16) -> String {
    let shown = match host.contains(':') {
        true => format!("[{host}]"),
        false => host.to_string(),
    };
    let host_field = match port {
        80 => shown,
        _ => format!("{shown}:{port}"),
    };
    let start = format!("{} {path} HTTP/1.0\r\n", head.start[0]);
    let end = format!("Host: {host_field}\r\nConnection: close\r\n\r\n");
    with_end_to_end_fields(start, head, &end)
}

/// `start`, the fields of `head` that are not hop-by-hop, then `end`.
fn with_end_to_end_fields(mut start: String, head: &Head, end: &str) -> String {
    let listed = connection_options(head);
    for (name, value) in &head.fields {
        if is_end_to_end(name, &listed) {
            start.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    start.push_str(end);
    start
}

/// The field names listed in every `Connection` field, all lines combined (RFC 7230 6.1):
/// they concern this hop only.
pub fn connection_options(head: &Head) -> Vec<String> {
    head.all("Connection")
        .flat_map(|value| value.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect()
}

/// Whether a field is forwarded: not a standard hop-by-hop field, nor one `Connection` names.
pub fn is_end_to_end(name: &str, listed: &[String]) -> bool {
    let name = name.to_ascii_lowercase();
    !HOP_BY_HOP.contains(&name.as_str()) && !listed.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// What a client sends never panics the request handling (the fuzz target
        /// `proxy_requests` runs the same path under libFuzzer).
        #[test]
        fn arbitrary_requests_never_panic(
            start in "(CONNECT|GET|POST) [ -~]{0,40} HTTP/1\\.[01]",
            fields in proptest::collection::vec("[ -~\t]{0,40}", 0..8),
        ) {
            let block = format!("{start}\r\n{}\r\n\r\n", fields.join("\r\n"));
            if let Some(head) = Head::parse(block.as_bytes()) {
                let _ = split_authority(&head.start[1]);
                let _ = authorized(&head, "user:pass", &head.start[0], "nonce");
                let listed = connection_options(&head);
                for (name, _) in &head.fields {
                    let _ = is_end_to_end(name, &listed);
                }
            }
        }
    }

    #[test]
    fn authorities() {
        assert_eq!(split_authority("h:80"), Some(("h".into(), 80)));
        assert_eq!(split_authority("[::1]:443"), Some(("::1".into(), 443)));
        assert_eq!(split_authority("h"), None);
        assert_eq!(split_authority(":80"), None);
        assert_eq!(split_authority("[::1]"), None);
    }
}

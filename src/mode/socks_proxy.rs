//! The SOCKS proxy server (`-l --proxy-type socks4` or `socks5`, an extension: Ncat's server
//! speaks only HTTP). CONNECT only: SOCKS4 BIND and SOCKS5 BIND and UDP ASSOCIATE get the
//! "not supported" reply. A `socks4` server takes SOCKS4 and SOCKS4a requests, a `socks5`
//! server SOCKS5 ones; anything else is closed without a word.
//!
//! The rules: `--proxy-auth user:password` makes SOCKS5 clients log in (RFC 1929), and for
//! SOCKS4 it is the user ID clients must send. `--allow`/`--deny` close refused clients
//! silently, as the HTTP proxy server does; `-m` bounds the clients served at once (100 by
//! default, as for `-k`); `-4`/`-6` restrict the addresses the proxy connects to; `-w` bounds
//! each connection to a target; `--ssl` runs the whole exchange inside TLS. A client has 30
//! seconds to complete its request (a TLS handshake's bound). Bytes a client
//! sends right after its request (without waiting for the reply) are kept for the tunnel.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use crate::config::Config;
use crate::error::{Failure, ModeResult};
use crate::io::tunnel;
use crate::net::access::AccessList;
use crate::net::admission::Slots;
use crate::net::connect::{self, Unreachable};
use crate::net::listener::{Arrival, HANDSHAKE_TIMEOUT, log_connection};
use crate::net::resolve::Family;
use crate::net::stream::{ReadHalf, Stream, WriteHalf};
use crate::proxy::ProxyKind;
use crate::proxy::socks::{self, Destination, Parsed, Request};

/// The most a client may send before its request is complete.
const REQUEST_LIMIT: usize = 1024;

/// What every client task needs.
struct Settings {
    /// Which SOCKS the server speaks.
    version: ProxyKind,
    /// `--proxy-auth`: SOCKS5 `user:password`, or the SOCKS4 user ID.
    auth: Option<String>,
    access: Arc<AccessList>,
    family: Family,
    connect_timeout: Duration,
}

/// Serves SOCKS clients until the listeners fail; stdin and stdout are not used.
pub async fn run(
    cfg: &Config,
    version: ProxyKind,
    mut incoming: mpsc::Receiver<Arrival>,
) -> ModeResult {
    let settings = Arc::new(Settings {
        version,
        auth: cfg.proxy_auth.clone(),
        access: cfg.access.clone(),
        family: cfg.family,
        connect_timeout: cfg.connect_timeout,
    });
    let slots = Slots::new(cfg.max_conns);
    while let Some(arrival) = incoming.recv().await {
        let Ok((stream, peer)) = arrival else {
            continue;
        };
        log_connection(&peer, None);
        let Some(slot) = slots.admit(&settings.access, &peer) else {
            continue;
        };
        let settings = settings.clone();
        tokio::spawn(async move {
            serve(stream, &settings).await;
            drop(slot);
        });
    }
    Err(Failure::Fatal("Unable to accept connections.".into()))
}

/// Serves one client: its request, then the tunnel.
async fn serve(stream: Stream, settings: &Settings) {
    let (mut reader, mut writer) = stream.into_split();
    let mut pending = BytesMut::new();
    let request = async {
        match settings.version {
            ProxyKind::Socks4 => socks4_request(&mut reader, &mut pending, settings).await,
            _ => socks5_request(&mut reader, &mut writer, &mut pending, settings).await,
        }
    };
    // A client that never finishes its request does not keep its -m slot.
    let Ok(Ok(request)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, request).await else {
        return;
    };
    let socks4 = settings.version == ProxyKind::Socks4;
    let reached = if request.command != socks::CONNECT {
        Err(socks::COMMAND_NOT_SUPPORTED)
    } else {
        connect(&request, settings).await
    };
    let (code, bound) = match &reached {
        Ok(origin) => (socks::SUCCEEDED, origin.local_addr().ok()),
        Err(code) => (*code, None),
    };
    tracing::info!(
        "SOCKS{} {} to {}: {}",
        if socks4 { 4 } else { 5 },
        if request.command == socks::CONNECT {
            "CONNECT"
        } else {
            "request"
        },
        shown(&request.dest, request.port),
        if code == socks::SUCCEEDED {
            "connected".into()
        } else {
            format!("refused with code {code}")
        }
    );
    let reply = if socks4 {
        let code = match code {
            socks::SUCCEEDED => socks::SOCKS4_GRANTED,
            _ => socks::SOCKS4_REJECTED,
        };
        socks::server_socks4_reply(code, bound).to_vec()
    } else {
        socks::server_socks5_reply(code, bound)
    };
    if writer.write_all(&reply).await.is_err() {
        return;
    }
    match reached {
        Ok(target) => tunnel::relay(&mut reader, &mut writer, pending.freeze(), target).await,
        Err(_) => {
            let _ = writer.shutdown().await;
        }
    }
}

/// `host:port` for the log (IPv6 in brackets).
fn shown(dest: &Destination, port: u16) -> String {
    match dest {
        Destination::Addr(ip) => std::net::SocketAddr::new(*ip, port).to_string(),
        Destination::Name(name) => format!("{name}:{port}"),
    }
}

/// Reads one message of the client's into `pending` until `parse` takes it, and removes it
/// from there. `Err(Some(code))` is a SOCKS5 request to refuse with that code; `Err(None)`
/// is a client to close without an answer (it left, sent garbage or too much).
async fn read_message<T>(
    reader: &mut ReadHalf,
    pending: &mut BytesMut,
    parse: impl Fn(&[u8]) -> Parsed<T>,
) -> Result<T, Option<u8>> {
    loop {
        match parse(pending) {
            Parsed::Done(message, used) => {
                let _ = pending.split_to(used);
                return Ok(message);
            }
            Parsed::Refused(code) => return Err(Some(code)),
            Parsed::Invalid => return Err(None),
            Parsed::Incomplete if pending.len() >= REQUEST_LIMIT => return Err(None),
            Parsed::Incomplete => match reader.read_chunk(pending, REQUEST_LIMIT).await {
                Ok(n) if n > 0 => {}
                _ => return Err(None),
            },
        }
    }
}

/// A SOCKS4 or 4a request, with the user ID `--proxy-auth` requires.
async fn socks4_request(
    reader: &mut ReadHalf,
    pending: &mut BytesMut,
    settings: &Settings,
) -> Result<Request, ()> {
    let request = read_message(reader, pending, socks::server_socks4_request)
        .await
        .map_err(drop)?;
    if let Some(auth) = &settings.auth
        && request.user != auth.as_bytes()
    {
        tracing::info!("SOCKS4 request refused: wrong user ID");
        return Err(());
    }
    Ok(request)
}

/// The SOCKS5 greeting, the login when `--proxy-auth` asks for one, then the request. Every
/// refusal is answered here.
async fn socks5_request(
    reader: &mut ReadHalf,
    writer: &mut WriteHalf,
    pending: &mut BytesMut,
    settings: &Settings,
) -> Result<Request, ()> {
    let offered = read_message(reader, pending, socks::server_socks5_greeting)
        .await
        .map_err(drop)?;
    let wanted = match settings.auth {
        Some(_) => socks::USER_PASS,
        None => socks::NO_AUTH,
    };
    let chosen = match offered.contains(&wanted) {
        true => wanted,
        false => socks::NO_ACCEPTABLE_METHOD,
    };
    let answered = writer.write_all(&[5, chosen]).await;
    if chosen == socks::NO_ACCEPTABLE_METHOD || answered.is_err() {
        let _ = writer.shutdown().await;
        return Err(());
    }
    if let Some(auth) = &settings.auth {
        let (user, pass) = read_message(reader, pending, socks::server_socks5_login)
            .await
            .map_err(drop)?;
        let (want_user, want_pass) = auth.split_once(':').unwrap_or((auth, ""));
        let good = user == want_user.as_bytes() && pass == want_pass.as_bytes();
        let answered = writer.write_all(&[1, if good { 0 } else { 1 }]).await;
        if !good || answered.is_err() {
            tracing::info!("SOCKS5 login refused");
            let _ = writer.shutdown().await;
            return Err(());
        }
    }
    match read_message(reader, pending, socks::server_socks5_request).await {
        Ok(request) => Ok(request),
        Err(Some(code)) => {
            let _ = writer
                .write_all(&socks::server_socks5_reply(code, None))
                .await;
            let _ = writer.shutdown().await;
            Err(())
        }
        Err(None) => Err(()),
    }
}

/// Connects to what the client asked for; the error is the SOCKS5 reply code.
async fn connect(request: &Request, settings: &Settings) -> Result<tokio::net::TcpStream, u8> {
    let host = match &request.dest {
        Destination::Addr(ip) if !settings.family.admits(*ip) => {
            return Err(socks::ADDRESS_NOT_SUPPORTED);
        }
        Destination::Addr(ip) => ip.to_string(),
        Destination::Name(name) => name.clone(),
    };
    let limit = Some(settings.connect_timeout);
    connect::reach(&host, request.port, settings.family, limit)
        .await
        .map_err(|why| match why {
            Unreachable::NoAddress | Unreachable::TimedOut => socks::HOST_UNREACHABLE,
            Unreachable::Failed(e) => match e.kind() {
                std::io::ErrorKind::ConnectionRefused => socks::CONNECTION_REFUSED,
                std::io::ErrorKind::NetworkUnreachable => socks::NETWORK_UNREACHABLE,
                std::io::ErrorKind::HostUnreachable | std::io::ErrorKind::TimedOut => {
                    socks::HOST_UNREACHABLE
                }
                _ => socks::GENERAL_FAILURE,
            },
        })
}

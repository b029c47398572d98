//! Connect mode: connect to the target, then pump stdin to the socket and the socket to stdout.
//!
//! Ends with status 0 when the peer closes (stdout is closed at once) or, with `--send-only`,
//! when stdin ends; with status 1 and Ncat's message when the socket fails.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::error::{Ended, Failure, ModeResult, idle_expired, io_failure};
use crate::io::progress;
use crate::io::pump::{self, End, Rules, UNTIL_LOCAL_EOF};
use crate::io::stdio;
use crate::mode::{exec, udp};
use crate::net::connect::{Origin, connect, connect_unix};
use crate::net::dtls;
use crate::net::stream::Stream;
use crate::net::tls::{self, TlsOptions};
use crate::proxy;
use tracing::Level;

/// How long piped stdin may stay silent after the peer's EOF before the client gives up on it.
const LINGER: Duration = Duration::from_millis(500);

/// Where to connect.
pub enum Target<'a> {
    Tcp {
        /// As typed, for messages and the TLS server name.
        host: &'a str,
        addrs: &'a [IpAddr],
        port: u16,
    },
    Unix(&'a Path),
    /// DTLS over UDP (`-u --ssl`).
    Dtls {
        host: &'a str,
        addrs: &'a [IpAddr],
        port: u16,
        tls: &'a TlsOptions,
    },
}

pub async fn run(cfg: &Config, target: Target<'_>) -> ModeResult {
    let started = Instant::now();
    let ends_at_stdin_eof = match target {
        Target::Dtls { .. } => cfg.ends_at_stdin_eof_over_datagrams(false),
        _ => cfg.ends_at_stdin_eof(),
    };
    let stream = match target {
        Target::Tcp { host, addrs, port } => open_tcp(cfg, host, addrs, port).await?,
        Target::Unix(path) => Stream::Unix(connect_unix(path).await?),
        Target::Dtls {
            host,
            addrs,
            port,
            tls,
        } => {
            let dtls = dtls::Client::new(tls, tracing::enabled!(Level::INFO))?;
            let target = SocketAddr::new(addrs[0], port);
            let socket = udp::open_connected(cfg, target, false).await?;
            Stream::Dtls(Box::new(
                dtls.handshake(socket, host, cfg.connect_timeout).await?,
            ))
        }
    };
    if let Some(cmd) = &cfg.exec {
        return match exec::relay(stream, cmd, cfg).await {
            End::ReadFailed(e) | End::WriteFailed(e) => Err(io_failure(e)),
            End::IdleTimeout(idle) => Err(Failure::Network(idle_expired(idle))),
            _ => Ok(Ended::Normally),
        };
    }
    let rules = Rules {
        read_stdin: !cfg.recv_only,
        send_stdin: true,
        read_remote: !cfg.send_only,
        print_remote: true,
        shutdown_on_eof: !cfg.no_shutdown,
        end_on_stdin_eof: ends_at_stdin_eof,
        quit_after: cfg.quit_timer(),
        // -k: the peer's close only closes stdout; stdin is sent until it ends (Ncat 7.96).
        // Otherwise, at the keyboard, the peer's close ends the session at once; piped input
        // still goes out to a peer that merely half-closed.
        linger: if cfg.keep_open_connect {
            Some(UNTIL_LOCAL_EOF)
        } else {
            (!stdio::stdin_is_terminal()).then_some(LINGER)
        },
        transforms: cfg.transforms(),
        read_size: stdio::CHUNK,
        progress: cfg.progress,
    };
    let outcome = pump::run_stdio(stream, rules, &cfg.log).await;
    match outcome.end {
        End::RemoteClosed | End::StdinDone => {
            progress::log_totals(outcome.sent, outcome.received, started.elapsed());
            Ok(Ended::Normally)
        }
        End::ReadFailed(e) | End::WriteFailed(e) | End::StdinFailed(e) => Err(io_failure(e)),
        End::OutputGone => Ok(Ended::Normally),
        End::IdleTimeout(idle) => Err(Failure::Network(idle_expired(idle))),
    }
}

/// The TCP connection, directly or through the proxies, then the TLS handshake if asked for.
async fn open_tcp(
    cfg: &Config,
    host: &str,
    addrs: &[IpAddr],
    port: u16,
) -> Result<Stream, Failure> {
    // Set up before connecting, so a bad certificate file fails before any traffic.
    let tls = match cfg.tls.as_deref() {
        Some(opts) => Some(tls::Client::new(opts, tracing::enabled!(Level::INFO))?),
        None => None,
    };
    let origin = Origin {
        announce: cfg.tls.is_none(),
        source_addr: cfg.source_addr,
        source_port: cfg.source_port,
        timeout: cfg.connect_timeout,
    };
    let tcp = match &cfg.proxy {
        Some(proxy) => {
            // -w bounds the whole set-up: the proxies' connection and their handshakes.
            let hops = proxy::client::connect(proxy, host, port, cfg.family, &origin);
            tokio::time::timeout(cfg.connect_timeout, hops)
                .await
                .map_err(|_| Failure::Network("TIMEOUT.".into()))??
        }
        None => connect(addrs, port, &origin).await?,
    };
    Ok(match tls {
        Some(tls) => Stream::Tls(Box::new(
            tls.handshake(tcp, host, port, cfg.connect_timeout).await?,
        )),
        None => Stream::Tcp(tcp),
    })
}

//! `-z`: report whether ports are open without sending or reading anything.
//!
//! Each port is connected to like connect mode does (every address, `-w` each), then closed;
//! with `--ssl` the TLS handshake (and with `--ssl-verify` the certificate check) must succeed
//! too, as in Ncat. A Unix socket (`-U`) is probed the same way. With `-v` an open port shows
//! `Connected to ...` (or the TLS lines) and the statistics line, a closed one its error. The
//! status is 0 when at least one port is open, 1 otherwise. A range (`20-25`) is an extension:
//! Ncat 7.93 takes one port only.

use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::path::Path;
use std::time::Instant;

use crate::config::Config;
use crate::error::{Ended, Failure, ModeResult};
use crate::net::connect::{Origin, connect, connect_unix};
use crate::net::tls;
use crate::proxy;
use tracing::Level;

pub async fn run(
    cfg: &Config,
    host: &str,
    addrs: &[IpAddr],
    ports: RangeInclusive<u16>,
) -> ModeResult {
    let started = Instant::now();
    let tls = match cfg.tls.as_deref() {
        Some(opts) => Some(tls::Client::new(opts, tracing::enabled!(Level::INFO))?),
        None => None,
    };
    let origin = Origin {
        source_addr: cfg.source_addr,
        source_port: cfg.source_port,
        timeout: cfg.connect_timeout,
        announce: tls.is_none(),
    };
    let mut any_open = false;
    for port in ports {
        let reached = match &cfg.proxy {
            // Through a proxy, as Ncat probes: the proxy's answer decides.
            Some(proxy) => {
                let hop = proxy::client::connect(proxy, host, port, cfg.family, &origin);
                let answer = tokio::time::timeout(cfg.connect_timeout, hop)
                    .await
                    .unwrap_or_else(|_| Err(Failure::Network("TIMEOUT.".into())));
                // Ncat reports a proxy's refusal even without -v.
                if let Err(failure) = &answer
                    && !tracing::enabled!(Level::INFO)
                {
                    tracing::warn!("{}", failure.to_string().trim_start_matches("Ncat: "));
                }
                answer
            }
            None => connect(addrs, port, &origin).await,
        };
        let opened = match reached {
            Ok(tcp) => match &tls {
                Some(tls) => tls
                    .handshake(tcp, host, port, cfg.connect_timeout)
                    .await
                    .map(drop),
                None => Ok(()),
            },
            Err(failure) => Err(failure),
        };
        any_open |= report(opened, started);
    }
    Ok(if any_open {
        Ended::Normally
    } else {
        Ended::Quietly
    })
}

/// `-z -U PATH`: whether something accepts connections on the Unix socket.
pub async fn run_unix(path: &Path) -> ModeResult {
    let started = Instant::now();
    let opened = connect_unix(path).await.map(drop);
    Ok(if report(opened, started) {
        Ended::Normally
    } else {
        Ended::Quietly
    })
}

/// The `-v` line for one probe; true when the port is open.
fn report(opened: Result<(), Failure>, started: Instant) -> bool {
    match opened {
        Ok(()) => {
            crate::io::progress::log_totals(0, 0, started.elapsed());
            true
        }
        Err(failure) => {
            tracing::info!("{}", failure.to_string().trim_start_matches("Ncat: "));
            false
        }
    }
}

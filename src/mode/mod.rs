//! The modes: each reads top to bottom as the story of that mode.

pub mod connect;
pub mod exec;
pub mod http_proxy;
pub mod hub;
pub mod listen;
pub mod probe;
pub mod socks_proxy;
pub mod udp;

use std::path::Path;

use crate::config::{Config, ListenKind, Mode, Transport};
use crate::error::ModeResult;
use crate::net::stream::Endpoint;

/// Runs the configured mode and returns the exit status.
pub async fn run(cfg: Config) -> ModeResult {
    use Transport::{Datagram, Stream};
    match &cfg.mode {
        Mode::Connect {
            host,
            addrs,
            port,
            transport: Datagram,
        } => match cfg.tls.as_deref() {
            Some(tls) => {
                let target = connect::Target::Dtls {
                    host,
                    addrs,
                    port: *port,
                    tls,
                };
                connect::run(&cfg, target).await
            }
            None => udp::connect(&cfg, addrs, *port).await,
        },
        Mode::Connect {
            host,
            addrs,
            port,
            transport: Stream,
        } => {
            let target = connect::Target::Tcp {
                host,
                addrs,
                port: *port,
            };
            connect::run(&cfg, target).await
        }
        Mode::ConnectUnix {
            path,
            transport: Datagram,
        } => udp::connect_unix(&cfg, path, cfg.unix_source.as_deref()).await,
        Mode::ConnectUnix {
            path,
            transport: Stream,
        } => connect::run(&cfg, connect::Target::Unix(path)).await,
        // DTLS sessions are streams to the listener, as TLS ones are.
        Mode::Listen {
            kind,
            endpoints,
            transport,
        } if *transport == Stream || cfg.tls.is_some() => {
            listen::run(&cfg, *kind, endpoints, *transport).await
        }
        Mode::Listen {
            kind, endpoints, ..
        } => match unix_path(endpoints) {
            Some(path) => udp::listen_unix(&cfg, path).await,
            None if *kind == ListenKind::KeepOpen => udp::listen_many(&cfg, endpoints).await,
            None => udp::listen(&cfg, endpoints).await,
        },
        Mode::Probe {
            addrs,
            ports,
            transport: Datagram,
            ..
        } => udp::probe(&cfg, addrs, ports.clone()).await,
        Mode::Probe {
            host,
            addrs,
            ports,
            transport: Stream,
        } => probe::run(&cfg, host, addrs, ports.clone()).await,
        Mode::ProbeUnix { path } => probe::run_unix(path).await,
    }
}

/// The path of a Unix listener's endpoint.
fn unix_path(endpoints: &[Endpoint]) -> Option<&Path> {
    match endpoints.first() {
        Some(Endpoint::Unix(path)) => Some(path),
        _ => None,
    }
}

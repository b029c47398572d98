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

use crate::config::{Config, ListenKind, Mode};
use crate::error::ModeResult;
use crate::net::stream::Endpoint;

/// Runs the configured mode and returns the exit status.
pub async fn run(cfg: Config) -> ModeResult {
    match &cfg.mode {
        Mode::Connect { host, addrs, port } if cfg.udp => match cfg.tls.as_deref() {
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
        Mode::ConnectUnix { path } if cfg.udp => {
            udp::connect_unix(&cfg, path, cfg.unix_source.as_deref()).await
        }
        Mode::Listen { kind, endpoints } if cfg.udp && cfg.tls.is_some() => {
            listen::run(&cfg, *kind, endpoints).await
        }
        Mode::Listen { kind, endpoints } if cfg.udp => match unix_path(endpoints) {
            Some(path) => udp::listen_unix(&cfg, path).await,
            None if *kind == ListenKind::KeepOpen => udp::listen_many(&cfg, endpoints).await,
            None => udp::listen(&cfg, endpoints).await,
        },
        Mode::Probe { addrs, ports, .. } if cfg.udp => udp::probe(&cfg, addrs, ports.clone()).await,
        Mode::Connect { host, addrs, port } => {
            let target = connect::Target::Tcp {
                host,
                addrs,
                port: *port,
            };
            connect::run(&cfg, target).await
        }
        Mode::ConnectUnix { path } => connect::run(&cfg, connect::Target::Unix(path)).await,
        Mode::Listen { kind, endpoints } => listen::run(&cfg, *kind, endpoints).await,
        Mode::Probe { host, addrs, ports } => probe::run(&cfg, host, addrs, ports.clone()).await,
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

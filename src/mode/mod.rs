//! The modes: each reads top to bottom as the story of that mode.

pub mod connect;
pub mod exec;
pub mod hub;
pub mod listen;
pub mod probe;
pub mod udp;

use crate::config::{Config, ListenKind, Mode};

/// Runs the configured mode and returns the exit status.
pub async fn run(cfg: Config) -> anyhow::Result<i32> {
    match &cfg.mode {
        Mode::Connect { addrs, port, .. } if cfg.udp => udp::connect(&cfg, addrs, *port).await,
        Mode::Listen {
            kind: ListenKind::KeepOpen,
            endpoints,
        } if cfg.udp => udp::listen_many(&cfg, endpoints).await,
        Mode::Listen { endpoints, .. } if cfg.udp => udp::listen(&cfg, endpoints).await,
        Mode::Probe { addrs, ports } if cfg.udp => udp::probe(&cfg, addrs, ports.clone()).await,
        Mode::Connect { addrs, port, .. } => {
            connect::run(&cfg, connect::Target::Tcp { addrs, port: *port }).await
        }
        Mode::ConnectUnix { path } => connect::run(&cfg, connect::Target::Unix(path)).await,
        Mode::Listen { kind, endpoints } => listen::run(&cfg, *kind, endpoints).await,
        Mode::Probe { addrs, ports } => probe::run(&cfg, addrs, ports.clone()).await,
    }
}

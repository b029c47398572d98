//! The modes: each reads top to bottom as the story of that mode.

pub mod connect;
pub mod exec;
pub mod hub;
pub mod listen;
pub mod probe;

use crate::config::{Config, Mode};

/// Runs the configured mode and returns the exit status.
pub async fn run(cfg: Config) -> anyhow::Result<i32> {
    match &cfg.mode {
        Mode::Connect { addrs, port, .. } => connect::run(&cfg, addrs, *port).await,
        Mode::Listen { kind, addrs } => listen::run(&cfg, *kind, addrs).await,
        Mode::Probe { addrs, ports } => probe::run(&cfg, addrs, ports.clone()).await,
    }
}

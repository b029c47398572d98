//! `-z`: report whether ports are open without sending or reading anything.
//!
//! Each port is connected to like connect mode does (every address, `-w` each), then closed.
//! With `-v` an open port shows `Connected to ...` and the statistics line, a closed one its
//! error. The status is 0 when at least one port is open, 1 otherwise. A range (`20-25`) is an
//! extension: Ncat 7.93 takes one port only.

use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::time::Instant;

use crate::config::Config;
use crate::net::connect::{Origin, connect};

pub async fn run(
    cfg: &Config,
    addrs: &[IpAddr],
    ports: RangeInclusive<u16>,
) -> anyhow::Result<i32> {
    let started = Instant::now();
    let origin = Origin {
        source_addr: cfg.source_addr,
        source_port: cfg.source_port,
        timeout: cfg.connect_timeout,
    };
    let mut any_open = false;
    for port in ports {
        match connect(addrs, port, &origin).await {
            Ok(stream) => {
                any_open = true;
                drop(stream);
                tracing::info!(
                    "0 bytes sent, 0 bytes received in {:.2} seconds.",
                    started.elapsed().as_secs_f64()
                );
            }
            Err(failure) => tracing::info!("{}", failure.to_string().trim_start_matches("Ncat: ")),
        }
    }
    Ok(if any_open { 0 } else { 1 })
}

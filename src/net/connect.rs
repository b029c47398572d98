//! Outgoing TCP connections: every resolved address in turn, each with a fresh timeout.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};

use crate::error::{Failure, io_failure, strerror};
use crate::net::resolve::{Family, show_addr};

/// Where to connect from and how long to wait for each address.
pub struct Origin {
    pub source_addr: Option<IpAddr>,
    pub source_port: Option<u16>,
    pub timeout: Duration,
    /// Print `Connected to ...` under `-v` (not before TLS, whose `SSL connection to ...`
    /// line takes its place, as in Ncat).
    pub announce: bool,
}

/// Connects to the first address that answers. With `-v`, each failure but the last is
/// reported with `Trying next address...`; the last one is the returned network error.
pub async fn connect(addrs: &[IpAddr], port: u16, origin: &Origin) -> Result<TcpStream, Failure> {
    let mut last_reason = String::from("No address to connect to");
    for (i, ip) in addrs.iter().enumerate() {
        let target = SocketAddr::new(*ip, port);
        match connect_from(target, origin).await {
            Ok(stream) => {
                if origin.announce {
                    tracing::info!("Connected to {}.", show_addr(&target));
                }
                return Ok(stream);
            }
            Err(e) => {
                last_reason = strerror(&e);
                if i + 1 < addrs.len() {
                    tracing::info!("Connection to {ip} failed: {last_reason}.");
                    tracing::info!("Trying next address...");
                }
            }
        }
    }
    Err(Failure::Network(format!("{last_reason}.")))
}

/// Connects to a Unix stream socket (`-U`).
pub async fn connect_unix(path: &std::path::Path) -> Result<tokio::net::UnixStream, Failure> {
    match tokio::net::UnixStream::connect(path).await {
        Ok(stream) => {
            tracing::info!("Connected to {}.", path.display());
            Ok(stream)
        }
        Err(e) => Err(io_failure(e)),
    }
}

/// One connection attempt to `target` from where `origin` says (`-s`, `-p`), within its
/// timeout.
pub async fn connect_from(target: SocketAddr, origin: &Origin) -> io::Result<TcpStream> {
    let socket = match target {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    if origin.source_addr.is_some() || origin.source_port.is_some() {
        let wildcard = match target {
            SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        socket.set_reuseaddr(true)?;
        socket.bind(SocketAddr::new(
            origin.source_addr.unwrap_or(wildcard),
            origin.source_port.unwrap_or(0),
        ))?;
    }
    match tokio::time::timeout(origin.timeout, socket.connect(target)).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "TIMEOUT")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn falls_back_to_the_next_address() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // Nothing listens on 127.0.0.2 at that port: refused, then the next address is tried.
        let addrs: Vec<IpAddr> = vec!["127.0.0.2".parse().unwrap(), "127.0.0.1".parse().unwrap()];
        let origin = Origin {
            announce: true,
            source_addr: None,
            source_port: None,
            timeout: Duration::from_secs(2),
        };
        let stream = connect(&addrs, port, &origin)
            .await
            .expect("second address");
        assert_eq!(stream.peer_addr().unwrap().ip(), addrs[1]);
    }

    #[tokio::test]
    async fn the_last_failure_is_reported() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let addrs: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap()];
        let origin = Origin {
            announce: true,
            source_addr: None,
            source_port: None,
            timeout: Duration::from_secs(2),
        };
        let err = connect(&addrs, port, &origin).await.unwrap_err();
        assert_eq!(err.to_string(), "Ncat: Connection refused.");
    }
}

/// Why a proxy server could not reach the target a client asked for.
#[derive(Debug)]
pub enum Unreachable {
    /// The name did not resolve, or has no address of the family allowed (`-4`/`-6`).
    NoAddress,
    /// No connection within the time allowed.
    TimedOut,
    /// The last address tried failed so.
    Failed(io::Error),
}

/// Connects a proxy server to the target `host:port` its client named (a name or a numeric
/// address): each address of `family` in turn, within `limit` for all of them when there is one.
pub async fn reach(
    host: &str,
    port: u16,
    family: Family,
    limit: Option<Duration>,
) -> Result<TcpStream, Unreachable> {
    let attempt = async {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| Unreachable::NoAddress)?
            .filter(|a| family.admits(a.ip()))
            .collect();
        let mut last = Unreachable::NoAddress;
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last = Unreachable::Failed(e),
            }
        }
        Err(last)
    };
    match limit {
        Some(limit) => tokio::time::timeout(limit, attempt)
            .await
            .unwrap_or(Err(Unreachable::TimedOut)),
        None => attempt.await,
    }
}

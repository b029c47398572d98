//! Who is at either end of a connection: an IP address and port, or a Unix socket path.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

/// Who is at the other end (or this end) of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Ip(SocketAddr),
    /// A Unix socket path; empty for an unnamed socket.
    Unix(PathBuf),
}

impl Endpoint {
    /// The IP address, for access control (Unix peers have none).
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Endpoint::Ip(addr) => Some(addr.ip()),
            Endpoint::Unix(_) => None,
        }
    }

    /// The host part as exec children (`NCAT_*_ADDR`) and chat announcements show it:
    /// `localhost` for Unix sockets, as Ncat does.
    pub fn host(&self) -> String {
        match self {
            Endpoint::Ip(addr) => addr.ip().to_string(),
            Endpoint::Unix(_) => "localhost".into(),
        }
    }

    /// The port as exec children see it (empty for Unix sockets).
    pub fn port(&self) -> String {
        match self {
            Endpoint::Ip(addr) => addr.port().to_string(),
            Endpoint::Unix(_) => String::new(),
        }
    }
}

//! Proxies: connecting through one (`--proxy`) and being one (`-l --proxy-type http`).

pub mod client;
pub mod http;
pub mod server;
pub mod socks;

use std::net::IpAddr;

use crate::error::Failure;
use crate::parse;

/// The protocol spoken to a proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    Http,
    Socks4,
    Socks5,
}

impl ProxyKind {
    /// Parses `--proxy-type` (`4` and `5` are accepted as Ncat accepts them, and work).
    pub fn parse(arg: &str) -> Result<ProxyKind, Failure> {
        match arg {
            "http" => Ok(ProxyKind::Http),
            "socks4" | "4" => Ok(ProxyKind::Socks4),
            "socks5" | "5" => Ok(ProxyKind::Socks5),
            _ => Err(Failure::Fatal(format!("Invalid proxy type \"{arg}\"."))),
        }
    }

    /// The port assumed when `--proxy` gives none.
    pub fn default_port(self) -> u16 {
        match self {
            ProxyKind::Http => 3128,
            ProxyKind::Socks4 | ProxyKind::Socks5 => 1080,
        }
    }
}

/// `--proxy-dns`: who resolves the target's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProxyDns {
    Local,
    #[default]
    Remote,
    Both,
    None,
}

impl ProxyDns {
    pub fn parse(arg: &str) -> Result<ProxyDns, Failure> {
        match arg {
            "local" => Ok(ProxyDns::Local),
            "remote" => Ok(ProxyDns::Remote),
            "both" => Ok(ProxyDns::Both),
            "none" => Ok(ProxyDns::None),
            _ => Err(Failure::Fatal("Invalid proxy DNS type.".into())),
        }
    }
}

/// A checked `--proxy` and its companions, for connect mode.
#[derive(Debug, Clone)]
pub struct ProxyOptions {
    pub kind: ProxyKind,
    /// The proxy's addresses, tried in order, and its port.
    pub addrs: Vec<IpAddr>,
    pub port: u16,
    pub dns: ProxyDns,
}

/// Splits `--proxy`'s `host[:port]` or `[v6]:port` into the host and the port, if given.
pub fn split_address(arg: &str) -> Result<(&str, Option<u16>), Failure> {
    let bad_port = |p: &str| Failure::Fatal(format!("Invalid proxy port number \"{p}\"."));
    if let Some(rest) = arg.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            return Err(Failure::Fatal(format!(
                "Invalid proxy IPv6 address \"{arg}\"."
            )));
        };
        return match after.strip_prefix(':') {
            Some(p) => Ok((host, Some(parse::port(p).ok_or_else(|| bad_port(p))?))),
            None if after.is_empty() => Ok((host, None)),
            None => Err(bad_port(after)),
        };
    }
    match arg.split_once(':') {
        // More than one colon: a bare IPv6 address without a port.
        Some((_, rest)) if rest.contains(':') => Ok((arg, None)),
        Some((host, p)) => Ok((host, Some(parse::port(p).ok_or_else(|| bad_port(p))?))),
        None => Ok((arg, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_addresses() {
        assert_eq!(split_address("proxy:8080").unwrap(), ("proxy", Some(8080)));
        assert_eq!(split_address("proxy").unwrap(), ("proxy", None));
        assert_eq!(split_address("[::1]:1080").unwrap(), ("::1", Some(1080)));
        assert_eq!(split_address("[::1]").unwrap(), ("::1", None));
        assert_eq!(split_address("::1").unwrap(), ("::1", None));
        assert_eq!(
            split_address("[::1").unwrap_err().to_string(),
            "Ncat: Invalid proxy IPv6 address \"[::1\". QUITTING."
        );
        assert_eq!(
            split_address("proxy:99999").unwrap_err().to_string(),
            "Ncat: Invalid proxy port number \"99999\". QUITTING."
        );
    }
}

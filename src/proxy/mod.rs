//! Speaking to proxies: connecting through them (`--proxy`, one hop or a chain), and the
//! HTTP and SOCKS messages the proxy servers (`mode::http_proxy`, `mode::socks_proxy`) share.

pub mod client;
pub mod http;
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
    /// The proxies in order: the first is reached directly, each next one through the tunnel
    /// of the one before, and the last one reaches the target.
    pub hops: Vec<Hop>,
    /// The first proxy's addresses, resolved here and tried in order. Later hops' names are
    /// resolved by the hop before them.
    pub first_addrs: Vec<IpAddr>,
    pub dns: ProxyDns,
}

/// One proxy of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub kind: ProxyKind,
    /// The name or numeric address, as given (without IPv6 brackets).
    pub host: String,
    pub port: u16,
    /// `user:password` (SOCKS4: the user ID), from the hop's URL or `--proxy-auth`.
    pub auth: Option<String>,
}

impl Hop {
    /// How the hop before this one is asked to reach it.
    pub fn destination(&self) -> socks::Destination {
        match self.host.parse::<IpAddr>() {
            Ok(ip) => socks::Destination::Addr(ip),
            Err(_) => socks::Destination::Name(self.host.clone()),
        }
    }

    /// The hop as messages name it: its scheme, host and port, never its credentials.
    pub fn url(&self) -> String {
        let scheme = match self.kind {
            ProxyKind::Http => "http",
            ProxyKind::Socks4 => "socks4",
            ProxyKind::Socks5 => "socks5",
        };
        match self.host.contains(':') {
            true => format!("{scheme}://[{}]:{}", self.host, self.port),
            false => format!("{scheme}://{}:{}", self.host, self.port),
        }
    }
}

/// Reads `--proxy`: one `host[:port]` as in Ncat, or (an extension) a comma-separated chain
/// of hops, each `[scheme://][user:password@]host[:port]`. Schemes are `http`, `socks4`
/// (`socks4a`) and `socks5` (`socks5h`); a hop without one speaks `default_kind`
/// (`--proxy-type`). Percent escapes in the credentials are decoded, so `%3A` and `%40` give
/// `:` and `@`.
pub fn parse_chain(arg: &str, default_kind: ProxyKind) -> Result<Vec<Hop>, Failure> {
    arg.split(',')
        .map(|hop| parse_hop(hop, arg, default_kind))
        .collect()
}

fn parse_hop(hop: &str, whole: &str, default_kind: ProxyKind) -> Result<Hop, Failure> {
    if hop.is_empty() {
        return Err(Failure::Fatal(format!(
            "Invalid proxy chain \"{whole}\": a hop is empty."
        )));
    }
    let (kind, rest) = match hop.split_once("://") {
        Some((scheme, rest)) => {
            let kind = match scheme.to_ascii_lowercase().as_str() {
                "http" => ProxyKind::Http,
                "socks4" | "socks4a" => ProxyKind::Socks4,
                "socks5" | "socks5h" => ProxyKind::Socks5,
                _ => {
                    return Err(Failure::Fatal(format!(
                        "Invalid proxy type \"{scheme}\" in \"{hop}\"."
                    )));
                }
            };
            (kind, rest)
        }
        None => (default_kind, hop),
    };
    let (auth, address) = match rest.rsplit_once('@') {
        Some((userinfo, address)) => (Some(percent_decode(userinfo, hop)?), address),
        None => (None, rest),
    };
    let (host, port) = split_address(address)?;
    if host.is_empty() {
        return Err(Failure::Fatal(format!(
            "Invalid proxy chain \"{whole}\": a hop has no host."
        )));
    }
    Ok(Hop {
        kind,
        host: host.to_string(),
        port: port.unwrap_or(kind.default_port()),
        auth,
    })
}

/// Decodes `%XX` escapes (a URL's user information).
fn percent_decode(text: &str, hop: &str) -> Result<String, Failure> {
    let bad = || {
        Failure::Fatal(format!(
            "Invalid percent escape in the credentials of \"{hop}\"."
        ))
    };
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b != b'%' {
            out.push(b);
            continue;
        }
        let hex: Vec<u8> = bytes.by_ref().take(2).collect();
        let digits = std::str::from_utf8(&hex).map_err(|_| bad())?;
        if digits.len() != 2 {
            return Err(bad());
        }
        out.push(u8::from_str_radix(digits, 16).map_err(|_| bad())?);
    }
    String::from_utf8(out).map_err(|_| bad())
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
    fn chains() {
        let hops = parse_chain(
            "socks5://a:1081,http://us%3Aer:p%40ss@[::1]:8080,c",
            ProxyKind::Socks4,
        )
        .unwrap();
        assert_eq!(
            hops,
            [
                Hop {
                    kind: ProxyKind::Socks5,
                    host: "a".into(),
                    port: 1081,
                    auth: None
                },
                Hop {
                    kind: ProxyKind::Http,
                    host: "::1".into(),
                    port: 8080,
                    auth: Some("us:er:p@ss".into())
                },
                Hop {
                    kind: ProxyKind::Socks4,
                    host: "c".into(),
                    port: 1080,
                    auth: None
                },
            ]
        );
        assert_eq!(hops[1].url(), "http://[::1]:8080");
        assert_eq!(parse_chain("h", ProxyKind::Http).unwrap()[0].port, 3128);
        assert_eq!(
            parse_chain("SOCKS5H://h", ProxyKind::Http).unwrap()[0].kind,
            ProxyKind::Socks5
        );
        for (arg, message) in [
            ("a,,b", "Invalid proxy chain \"a,,b\": a hop is empty."),
            ("ftp://a", "Invalid proxy type \"ftp\" in \"ftp://a\"."),
            (
                "http://u:%4@a",
                "Invalid percent escape in the credentials of \"http://u:%4@a\".",
            ),
            (
                "http://u@:80",
                "Invalid proxy chain \"http://u@:80\": a hop has no host.",
            ),
            ("a:99999", "Invalid proxy port number \"99999\"."),
        ] {
            let error = parse_chain(arg, ProxyKind::Http).unwrap_err().to_string();
            assert_eq!(error, format!("Ncat: {message} QUITTING."), "{arg}");
        }
    }

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

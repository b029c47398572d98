//! Access control: `--allow`, `--allowfile`, `--deny`, `--denyfile`.
//!
//! Every address is matched as IPv6, IPv4 ones in their IPv4-mapped form (`::ffff:a.b.c.d`),
//! as Ncat does: so `::/0` also matches IPv4 clients, and an IPv4-mapped client on an IPv6
//! socket is matched as the IPv4 address it is. Deny wins: a client must be in the allow set
//! (when there is one) and not in the deny set.
//!
//! On SIGHUP (an extension) the lists are built again from their options and files, and apply
//! to the next connections; a list that fails to build leaves the old one in force.

use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, RwLock};

use crate::net::resolve::{self, Family};

/// Longest entry accepted in a hosts file.
const MAX_ENTRY: usize = 1023;

/// One entry of an allow or deny set.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// An address with a prefix length, in the IPv6 space.
    Network { addr: u128, prefix: u32 },
    /// An nmap-style IPv4 pattern: for each octet, the ranges it may take; `bits` widens it.
    Octets {
        ranges: [Vec<(u8, u8)>; 4],
        bits: u32,
    },
}

impl Entry {
    fn matches(&self, client: u128) -> bool {
        match self {
            Entry::Network { addr, prefix } => mask(client, *prefix) == mask(*addr, *prefix),
            Entry::Octets { ranges, bits } => {
                let Some(v4) = Ipv6Addr::from(client).to_ipv4_mapped() else {
                    return false;
                };
                v4.octets()
                    .iter()
                    .zip(ranges)
                    .enumerate()
                    .all(|(i, (&octet, ranges))| {
                        let keep = bits.saturating_sub(8 * i as u32).min(8);
                        let m = if keep == 0 { 0u8 } else { 0xffu8 << (8 - keep) };
                        ranges
                            .iter()
                            .any(|&(lo, hi)| (lo..=hi).any(|v| v & m == octet & m))
                    })
            }
        }
    }
}

fn mask(addr: u128, prefix: u32) -> u128 {
    if prefix == 0 {
        0
    } else {
        addr & (u128::MAX << (128 - prefix))
    }
}

fn to_v6(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => u128::from(v4.to_ipv6_mapped()),
            None => u128::from(v6),
        },
    }
}

/// A set of host specifications.
#[derive(Debug, Default, Clone)]
pub struct HostSet {
    entries: Vec<Entry>,
}

impl HostSet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let client = to_v6(ip);
        self.entries.iter().any(|e| e.matches(client))
    }
}

/// The allow and deny sets together, with Ncat's decision rule.
#[derive(Debug, Default, Clone)]
pub struct Sets {
    /// `None` when no `--allow`/`--allowfile` was given (everyone is allowed in).
    pub allow: Option<HostSet>,
    pub deny: HostSet,
}

impl Sets {
    pub fn permits(&self, ip: IpAddr) -> bool {
        self.allow.as_ref().is_none_or(|set| set.contains(ip)) && !self.deny.contains(ip)
    }
}

/// What the sets are made of: the `--allow`/`--deny` values and the files, kept so that the
/// files can be read again.
#[derive(Debug, Default, Clone)]
pub struct Source {
    pub allow: Vec<String>,
    pub allow_files: Vec<String>,
    pub deny: Vec<String>,
    pub deny_files: Vec<String>,
    pub lookup: Option<Lookup>,
}

impl Source {
    /// Builds the sets: the options' entries, then the files'.
    pub fn build(&self) -> Result<Sets, SpecError> {
        let lookup = self.lookup.unwrap_or(Lookup {
            family: Family::Any,
            numeric_only: false,
        });
        let build = |options: &[String], files: &[String]| -> Result<HostSet, SpecError> {
            let mut set = HostSet::default();
            for value in options {
                set.add_option(value, lookup)?;
            }
            for path in files {
                set.add_file(path, lookup)?;
            }
            Ok(set)
        };
        let given_allow = !self.allow.is_empty() || !self.allow_files.is_empty();
        Ok(Sets {
            allow: given_allow
                .then(|| build(&self.allow, &self.allow_files))
                .transpose()?,
            deny: build(&self.deny, &self.deny_files)?,
        })
    }
}

/// The access lists in force, shared by every accept loop, and where they came from.
#[derive(Debug, Default)]
pub struct AccessList {
    sets: RwLock<Sets>,
    source: Source,
}

impl AccessList {
    pub fn new(source: Source) -> Result<AccessList, SpecError> {
        Ok(AccessList {
            sets: RwLock::new(source.build()?),
            source,
        })
    }

    pub fn permits(&self, ip: IpAddr) -> bool {
        self.sets
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .permits(ip)
    }

    /// Whether any `--allow`/`--allowfile` was given.
    pub fn has_allow(&self) -> bool {
        !self.source.allow.is_empty() || !self.source.allow_files.is_empty()
    }

    /// Whether the lists come partly from files, which SIGHUP reads again.
    pub fn has_files(&self) -> bool {
        !self.source.allow_files.is_empty() || !self.source.deny_files.is_empty()
    }

    /// Builds the sets again; on failure the old ones stay in force.
    pub fn reload(&self) -> Result<(), SpecError> {
        let sets = self.source.build()?;
        *self.sets.write().unwrap_or_else(|p| p.into_inner()) = sets;
        Ok(())
    }
}

/// From now on, every SIGHUP reads the access lists again, saying why when they cannot be.
/// The handler is in place when this returns (so a SIGHUP right after can no longer end the
/// program). Must run inside the runtime.
pub fn reload_on_hangup(access: Arc<AccessList>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        return;
    };
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            match access.reload() {
                Ok(()) => tracing::info!("Access lists read again (SIGHUP)."),
                Err(e) => {
                    if let Some(detail) = e.detail {
                        crate::say!("Ncat: {detail}");
                    }
                    crate::say!("Ncat: {} The previous access lists stay in force.", e.fatal);
                }
            }
        }
    });
}

/// A specification that could not be used: an optional explanation line, then the fatal one.
#[derive(Debug, PartialEq, Eq)]
pub struct SpecError {
    pub detail: Option<String>,
    pub fatal: String,
}

/// How names in specifications are resolved.
#[derive(Debug, Clone, Copy)]
pub struct Lookup {
    pub family: Family,
    pub numeric_only: bool,
}

impl HostSet {
    /// Adds the comma-separated entries of one `--allow`/`--deny` value.
    pub fn add_option(&mut self, value: &str, lookup: Lookup) -> Result<(), SpecError> {
        for spec in value.split(',') {
            self.add_spec(spec, lookup).map_err(|detail| SpecError {
                detail,
                fatal: format!("error in host specification \"{spec}\"."),
            })?;
        }
        Ok(())
    }

    /// Adds the whitespace-separated entries of an `--allowfile`/`--denyfile`.
    pub fn add_file(&mut self, path: &str, lookup: Lookup) -> Result<(), SpecError> {
        let text = std::fs::read(path).map_err(|e| SpecError {
            detail: None,
            fatal: format!("can't open {path}: {}.", crate::error::strerror(&e)),
        })?;
        let text = String::from_utf8_lossy(&text);
        for spec in text.split_ascii_whitespace() {
            let result = if spec.len() > MAX_ENTRY {
                let start: String = spec.chars().take(11).collect();
                Err(Some(format!(
                    "Host specification starting with \"{start}\" is too long."
                )))
            } else {
                self.add_spec(spec, lookup)
            };
            result.map_err(|detail| SpecError {
                detail,
                fatal: format!("error in hosts file {path}."),
            })?;
        }
        Ok(())
    }

    /// Adds one entry; the error is the explanation line, if any.
    fn add_spec(&mut self, spec: &str, lookup: Lookup) -> Result<(), Option<String>> {
        if spec.is_empty() {
            return Ok(());
        }
        let (base, bits) = match spec.rsplit_once('/') {
            Some((base, bits)) => (base, Some(bits)),
            None => (spec, None),
        };
        let bits = |limit: u32| -> Result<u32, Option<String>> {
            match bits {
                None => Ok(limit),
                Some(b) => {
                    let n: u32 = b
                        .parse()
                        .map_err(|_| Some(format!("Error parsing netmask in \"{spec}\".")))?;
                    if n > limit {
                        return Err(Some(format!(
                            "Illegal netmask in \"{spec}\". Must be smaller than address bit length."
                        )));
                    }
                    Ok(n)
                }
            }
        };
        // An address with the mask, in the IPv6 space.
        let network = |ip: IpAddr| -> Result<Entry, Option<String>> {
            let prefix = match ip {
                IpAddr::V4(_) => bits(32)? + 96,
                IpAddr::V6(_) => bits(128)?,
            };
            Ok(Entry::Network {
                addr: to_v6(ip),
                prefix,
            })
        };
        if let Some(ip) = numeric_address(base) {
            self.entries.push(network(ip)?);
            return Ok(());
        }
        if let Some(ranges) = octet_pattern(base) {
            self.entries.push(Entry::Octets {
                ranges,
                bits: bits(32)?,
            });
            return Ok(());
        }
        let addrs = resolve::resolve(base, lookup.family, lookup.numeric_only)
            .map_err(|e| Some(format!("Error resolving name \"{base}\": {e}")))?;
        for ip in addrs {
            self.entries.push(network(ip)?);
        }
        Ok(())
    }
}

/// A numeric address: IPv6, or IPv4 in any form `inet_aton` takes (`127.1`, `2130706433`).
fn numeric_address(text: &str) -> Option<IpAddr> {
    if let Ok(v6) = text.parse::<Ipv6Addr>() {
        return Some(IpAddr::V6(v6));
    }
    crate::parse::inet_aton(text).map(IpAddr::V4)
}

/// An nmap-style IPv4 pattern: four octets, each `*` or a comma list of `n` or `a-b`, where
/// either end of a range may be left out.
fn octet_pattern(text: &str) -> Option<[Vec<(u8, u8)>; 4]> {
    let octets: Vec<&str> = text.split('.').collect();
    if octets.len() != 4 {
        return None;
    }
    let parse_octet = |octet: &str| -> Option<Vec<(u8, u8)>> {
        if octet == "*" {
            return Some(vec![(0, 255)]);
        }
        octet
            .split(',')
            .map(|part| {
                let number = |s: &str, default: u8| -> Option<u8> {
                    if s.is_empty() {
                        Some(default)
                    } else if s.bytes().all(|b| b.is_ascii_digit()) {
                        s.parse().ok()
                    } else {
                        None
                    }
                };
                let (lo, hi) = match part.split_once('-') {
                    Some((lo, hi)) => (number(lo, 0)?, number(hi, 255)?),
                    None if !part.is_empty() => {
                        let n = number(part, 0)?;
                        (n, n)
                    }
                    None => return None,
                };
                (lo <= hi).then_some((lo, hi))
            })
            .collect()
    };
    let parsed: Option<Vec<Vec<(u8, u8)>>> = octets.into_iter().map(parse_octet).collect();
    parsed?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    const LOOKUP: Lookup = Lookup {
        family: Family::Any,
        numeric_only: true,
    };

    fn set(specs: &[&str]) -> HostSet {
        let mut set = HostSet::default();
        for s in specs {
            set.add_option(s, LOOKUP).unwrap();
        }
        set
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_and_networks() {
        let s = set(&["127.0.0.1", "10.0.0.0/8", "2001:db8::/32"]);
        assert!(s.contains(ip("127.0.0.1")));
        assert!(!s.contains(ip("127.0.0.2")));
        assert!(s.contains(ip("10.200.3.4")));
        assert!(!s.contains(ip("11.0.0.1")));
        assert!(s.contains(ip("2001:db8::1")));
        assert!(!s.contains(ip("2001:db9::1")));
        assert!(!s.contains(ip("::1")), "127.0.0.1 is not ::1");
    }

    #[test]
    fn inet_aton_shorthand() {
        let s = set(&["127.1", "2130706434", "2"]);
        assert!(s.contains(ip("127.0.0.1")));
        assert!(s.contains(ip("127.0.0.2")));
        assert!(s.contains(ip("0.0.0.2")));
    }

    #[test]
    fn octet_ranges() {
        let s = set(&["192.168.0-3.1-254"]);
        assert!(s.contains(ip("192.168.2.7")));
        assert!(!s.contains(ip("192.168.4.7")));
        assert!(!s.contains(ip("192.168.2.255")));
        let s = set(&["10.0.0.*", "172.16.5.-5", "172.16.6.250-"]);
        assert!(s.contains(ip("10.0.0.77")));
        assert!(s.contains(ip("172.16.5.0")) && !s.contains(ip("172.16.5.6")));
        assert!(s.contains(ip("172.16.6.255")) && !s.contains(ip("172.16.6.249")));
        // A comma list inside an octet works in files (the command line splits on commas).
        let mut file_set = HostSet::default();
        file_set.add_spec("10.1.1,3.9", LOOKUP).unwrap();
        assert!(file_set.contains(ip("10.1.3.9")) && !file_set.contains(ip("10.1.2.9")));
        // /bits widens a pattern.
        let s = set(&["10.0.0.1-2/16"]);
        assert!(s.contains(ip("10.0.99.99")));
        assert!(!s.contains(ip("10.1.0.1")));
    }

    #[test]
    fn mapped_and_any() {
        let s = set(&["::/0"]);
        assert!(s.contains(ip("1.2.3.4")), "::/0 matches IPv4 clients too");
        let s = set(&["0.0.0.0/0"]);
        assert!(!s.contains(ip("::1")), "0.0.0.0/0 does not match IPv6");
        let s = set(&["127.0.0.1"]);
        assert!(
            s.contains(ip("::ffff:127.0.0.1")),
            "a mapped client is its IPv4 address"
        );
    }

    #[test]
    fn deny_wins() {
        let acl = Sets {
            allow: Some(set(&["127.0.0.1"])),
            deny: set(&["127.0.0.1"]),
        };
        assert!(!acl.permits(ip("127.0.0.1")));
        let acl = Sets {
            allow: Some(set(&["127.0.0.0/8"])),
            deny: set(&["127.0.0.2"]),
        };
        assert!(acl.permits(ip("127.0.0.1")));
        assert!(!acl.permits(ip("127.0.0.2")));
        assert!(!acl.permits(ip("10.0.0.1")));
        let acl = Sets {
            allow: None,
            deny: set(&["10.0.0.0/8"]),
        };
        assert!(acl.permits(ip("127.0.0.1")) && !acl.permits(ip("10.1.1.1")));
    }

    #[test]
    fn errors_like_ncat() {
        let err = |spec: &str| HostSet::default().add_option(spec, LOOKUP).unwrap_err();
        assert_eq!(
            err("127.0.0.1/33"),
            SpecError {
                detail: Some(
                    "Illegal netmask in \"127.0.0.1/33\". Must be smaller than address bit length."
                        .into()
                ),
                fatal: "error in host specification \"127.0.0.1/33\".".into(),
            }
        );
        assert_eq!(
            err("127.0.0.1/abc").detail.unwrap(),
            "Error parsing netmask in \"127.0.0.1/abc\"."
        );
        assert_eq!(
            err("localhost").detail.unwrap(),
            "Error resolving name \"localhost\": Name or service not known"
        );
        assert!(
            err("::1/129")
                .detail
                .unwrap()
                .starts_with("Illegal netmask")
        );
    }

    proptest! {
        #[test]
        fn parser_never_panics(spec in "[0-9a-f.:*,/ -]{0,40}") {
            let _ = HostSet::default().add_option(&spec, LOOKUP);
        }

        #[test]
        fn a_network_contains_its_own_addresses(a in any::<u32>(), bits in 0u32..=32, b in any::<u32>()) {
            let net = Ipv4Addr::from(a);
            let s = set(&[&format!("{net}/{bits}")]);
            prop_assert!(s.contains(IpAddr::V4(net)));
            let same_prefix = bits == 0 || (a ^ b) >> (32 - bits) == 0;
            prop_assert_eq!(s.contains(IpAddr::V4(Ipv4Addr::from(b))), same_prefix);
        }
    }
}

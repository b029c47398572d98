//! Name resolution through the system resolver (`getaddrinfo`), keeping its order and its
//! error texts, which Ncat prints verbatim.

use std::ffi::{CStr, CString};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Which address families a name may resolve to (`-4`, `-6`, or either).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Family {
    #[default]
    Any,
    V4,
    V6,
}

/// An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) as the IPv4 address it is; others as they
/// are. Clients are shown, matched and compared in this form.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl Family {
    /// Whether `ip` is of this family (`-4`, `-6`; any without either).
    pub fn admits(self, ip: IpAddr) -> bool {
        match self {
            Family::Any => true,
            Family::V4 => ip.is_ipv4(),
            Family::V6 => ip.is_ipv6(),
        }
    }

    fn to_libc(self) -> libc::c_int {
        match self {
            Family::Any => libc::AF_UNSPEC,
            Family::V4 => libc::AF_INET,
            Family::V6 => libc::AF_INET6,
        }
    }

    /// The wildcard addresses a listener binds when no address is given, IPv6 first as in Ncat.
    pub fn wildcards(self) -> Vec<IpAddr> {
        let v6 = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
        let v4 = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        match self {
            Family::Any => vec![v6, v4],
            Family::V4 => vec![v4],
            Family::V6 => vec![v6],
        }
    }
}

/// Resolves `host` to every address the resolver returns, in its order.
/// `numeric_only` is `-n`. The error is the resolver's own message (`gai_strerror`).
pub fn resolve(host: &str, family: Family, numeric_only: bool) -> Result<Vec<IpAddr>, String> {
    let c_host = CString::new(host).map_err(|_| "Name or service not known".to_string())?;
    // SAFETY: an all-zero addrinfo is a valid "no hints" value; the fields we need are set below.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = family.to_libc();
    hints.ai_socktype = libc::SOCK_STREAM;
    if numeric_only {
        hints.ai_flags |= libc::AI_NUMERICHOST;
    }
    let mut list: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: valid C strings and hints; `list` is freed below with freeaddrinfo.
    let rc = unsafe { libc::getaddrinfo(c_host.as_ptr(), std::ptr::null(), &hints, &mut list) };
    if rc != 0 {
        // SAFETY: gai_strerror returns a static NUL-terminated string.
        let text = unsafe { CStr::from_ptr(libc::gai_strerror(rc)) };
        return Err(text.to_string_lossy().into_owned());
    }
    let mut addrs = Vec::new();
    let mut cursor = list;
    while !cursor.is_null() {
        // SAFETY: cursor walks the list getaddrinfo returned; each ai_addr matches its family.
        let entry = unsafe { &*cursor };
        if let Some(ip) = unsafe { sockaddr_ip(entry.ai_addr) }
            && !addrs.contains(&ip)
        {
            addrs.push(ip);
        }
        cursor = entry.ai_next;
    }
    // SAFETY: list came from a successful getaddrinfo call and is freed once.
    unsafe { libc::freeaddrinfo(list) };
    if addrs.is_empty() {
        return Err("No address associated with hostname".to_string());
    }
    Ok(addrs)
}

/// Reads the IP address out of a `sockaddr` of family AF_INET or AF_INET6.
///
/// # Safety
/// `sa` must be null or point to a valid sockaddr of the family it declares.
unsafe fn sockaddr_ip(sa: *const libc::sockaddr) -> Option<IpAddr> {
    if sa.is_null() {
        return None;
    }
    // SAFETY: guaranteed by the caller; the cast matches the declared family.
    unsafe {
        match i32::from((*sa).sa_family) {
            libc::AF_INET => {
                let sin = &*(sa as *const libc::sockaddr_in);
                Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                    sin.sin_addr.s_addr,
                ))))
            }
            libc::AF_INET6 => {
                let sin6 = &*(sa as *const libc::sockaddr_in6);
                Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
            }
            _ => None,
        }
    }
}

/// Formats an address as Ncat prints it: numeric, IPv6 without brackets (`::1:4000`).
pub fn show_addr(addr: &SocketAddr) -> String {
    format!("{}:{}", addr.ip(), addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_addresses_are_ipv4() {
        assert_eq!(
            canonical_ip("::ffff:10.0.0.1".parse().unwrap()),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            canonical_ip("::1".parse().unwrap()),
            "::1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn numeric_addresses() {
        assert_eq!(
            resolve("127.0.0.1", Family::Any, true),
            Ok(vec!["127.0.0.1".parse().unwrap()])
        );
        assert_eq!(
            resolve("::1", Family::V6, true),
            Ok(vec!["::1".parse().unwrap()])
        );
        assert_eq!(
            resolve("::1", Family::V4, false),
            Err("Address family for hostname not supported".to_string())
        );
        assert_eq!(
            resolve("localhost.invalid", Family::Any, true),
            Err("Name or service not known".to_string())
        );
    }

    #[test]
    fn show_addr_has_no_brackets() {
        assert_eq!(show_addr(&"[::1]:80".parse().unwrap()), "::1:80");
        assert_eq!(show_addr(&"1.2.3.4:5".parse().unwrap()), "1.2.3.4:5");
    }
}

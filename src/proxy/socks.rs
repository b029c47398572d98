//! SOCKS4/4a and SOCKS5 (RFC 1928, with RFC 1929 username/password): the messages a client
//! sends and the checks on what the proxy answers, and for the server the parsing of what
//! clients send and the replies. No I/O here, so all of it is testable.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The destination as the proxy is told it: an address, or a name it resolves itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Addr(IpAddr),
    Name(String),
}

/// A SOCKS4 CONNECT (SOCKS4a when the destination is a name). `user` is the user id.
pub fn socks4_request(dest: &Destination, port: u16, user: &str) -> Result<Vec<u8>, String> {
    let mut req = vec![4, 1];
    req.extend_from_slice(&port.to_be_bytes());
    match dest {
        Destination::Addr(IpAddr::V4(ip)) => req.extend_from_slice(&ip.octets()),
        Destination::Addr(IpAddr::V6(_)) => {
            return Err("Error: IPv6 addresses are not supported with Socks4.".into());
        }
        // 0.0.0.x with x non-zero: the name follows the user id.
        Destination::Name(_) => req.extend_from_slice(&[0, 0, 0, 1]),
    }
    req.extend_from_slice(user.as_bytes());
    req.push(0);
    if let Destination::Name(name) = dest {
        req.extend_from_slice(name.as_bytes());
        req.push(0);
    }
    Ok(req)
}

/// Checks SOCKS4's 8-byte reply: code 90 means granted.
pub fn socks4_reply(reply: &[u8; 8]) -> Result<(), String> {
    if reply[1] == 90 {
        Ok(())
    } else {
        Err("Proxy connection failed.".into())
    }
}

/// The SOCKS5 authentication methods.
pub const NO_AUTH: u8 = 0;
pub const USER_PASS: u8 = 2;

/// The SOCKS5 greeting: no authentication, plus username/password when there are credentials.
pub fn socks5_greeting(with_credentials: bool) -> Vec<u8> {
    if with_credentials {
        vec![5, 2, NO_AUTH, USER_PASS]
    } else {
        vec![5, 1, NO_AUTH]
    }
}

/// The method the proxy chose, if it is one we offered.
pub fn socks5_method(reply: &[u8; 2], with_credentials: bool) -> Result<u8, String> {
    match *reply {
        [5, NO_AUTH] => Ok(NO_AUTH),
        [5, USER_PASS] if with_credentials => Ok(USER_PASS),
        [5, 0xff] => Err("Error: no acceptable authentication method.".into()),
        [5, _] => {
            Err("Error: the proxy chose an authentication method that was not offered.".into())
        }
        _ => Err("Error: the proxy did not answer as a SOCKS5 server.".into()),
    }
}

/// The RFC 1929 username/password request. `auth` is `user:password`, split at the first colon.
pub fn socks5_credentials(auth: &str) -> Result<Vec<u8>, String> {
    let (user, pass) = auth
        .split_once(':')
        .ok_or("Error: invalid username:password combo.")?;
    if user.len() > 255 || pass.len() > 255 {
        return Err("Error: the username and the password are limited to 255 bytes each.".into());
    }
    let mut req = vec![1, user.len() as u8];
    req.extend_from_slice(user.as_bytes());
    req.push(pass.len() as u8);
    req.extend_from_slice(pass.as_bytes());
    Ok(req)
}

/// Checks the RFC 1929 status reply.
pub fn socks5_auth_reply(reply: &[u8; 2]) -> Result<(), String> {
    if reply[1] == 0 {
        Ok(())
    } else {
        Err("Error: the proxy refused the username and password.".into())
    }
}

/// A SOCKS5 CONNECT request.
pub fn socks5_connect(dest: &Destination, port: u16) -> Result<Vec<u8>, String> {
    let mut req = vec![5, 1, 0];
    match dest {
        Destination::Addr(IpAddr::V4(ip)) => {
            req.push(1);
            req.extend_from_slice(&ip.octets());
        }
        Destination::Addr(IpAddr::V6(ip)) => {
            req.push(4);
            req.extend_from_slice(&ip.octets());
        }
        Destination::Name(name) => {
            let len = u8::try_from(name.len())
                .map_err(|_| "Error: host name too long for SOCKS5 (255 bytes at most).")?;
            req.push(3);
            req.push(len);
            req.extend_from_slice(name.as_bytes());
        }
    }
    req.extend_from_slice(&port.to_be_bytes());
    Ok(req)
}

/// Checks the first four bytes of the CONNECT reply and says how many more belong to it (the
/// bound address and port), so that nothing past the reply is consumed.
pub fn socks5_reply_rest(head: &[u8; 4]) -> Result<ReplyRest, String> {
    if head[0] != 5 {
        return Err("Error: the proxy did not answer as a SOCKS5 server.".into());
    }
    let error = match head[1] {
        0 => None,
        1 => Some("general SOCKS server failure."),
        2 => Some("connection not allowed by ruleset."),
        3 => Some("Network unreachable."),
        4 => Some("Host unreachable."),
        5 => Some("Connection refused."),
        6 => Some("TTL expired."),
        7 => Some("Command not supported."),
        8 => Some("Address type not supported."),
        _ => Some("unassigned value in the reply."),
    };
    if let Some(error) = error {
        return Err(format!("Error: {error}"));
    }
    match head[3] {
        1 => Ok(ReplyRest::Bytes(4 + 2)),
        4 => Ok(ReplyRest::Bytes(16 + 2)),
        3 => Ok(ReplyRest::NameThenBytes(2)),
        _ => Err("Error: unassigned value in the reply.".into()),
    }
}

/// What follows the CONNECT reply's first four bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum ReplyRest {
    /// Exactly this many bytes.
    Bytes(usize),
    /// A length byte, that many bytes of name, then this many.
    NameThenBytes(usize),
}

/// The outcome of parsing a client message that may not have fully arrived yet.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed<T> {
    /// More bytes are needed.
    Incomplete,
    /// Not this protocol, or over the limits: the connection is closed without an answer.
    Invalid,
    /// A SOCKS5 request that is answered with this reply code, then closed.
    Refused(u8),
    /// The message, and how many bytes of the buffer it took.
    Done(T, usize),
}

/// The longest SOCKS4 user ID or SOCKS4a host name a server accepts.
const FIELD_LIMIT: usize = 255;

/// SOCKS commands.
pub const CONNECT: u8 = 1;

/// SOCKS4 reply codes.
pub const SOCKS4_GRANTED: u8 = 90;
pub const SOCKS4_REJECTED: u8 = 91;

/// SOCKS5 reply codes (RFC 1928, section 6).
pub const SUCCEEDED: u8 = 0;
pub const GENERAL_FAILURE: u8 = 1;
pub const NETWORK_UNREACHABLE: u8 = 3;
pub const HOST_UNREACHABLE: u8 = 4;
pub const CONNECTION_REFUSED: u8 = 5;
pub const COMMAND_NOT_SUPPORTED: u8 = 7;
pub const ADDRESS_NOT_SUPPORTED: u8 = 8;

/// The method byte that refuses every method a client offered.
pub const NO_ACCEPTABLE_METHOD: u8 = 0xff;

/// A client's request, SOCKS4 or SOCKS5.
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    pub command: u8,
    pub dest: Destination,
    pub port: u16,
    /// The SOCKS4 user ID (empty for SOCKS5).
    pub user: Vec<u8>,
}

/// Reads a NUL-terminated field of at most [`FIELD_LIMIT`] bytes from the start of `buf`.
fn nul_field(buf: &[u8]) -> Parsed<&[u8]> {
    match memchr::memchr(0, buf) {
        Some(end) if end <= FIELD_LIMIT => Parsed::Done(&buf[..end], end + 1),
        Some(_) => Parsed::Invalid,
        None if buf.len() > FIELD_LIMIT => Parsed::Invalid,
        None => Parsed::Incomplete,
    }
}

/// Parses a SOCKS4 or SOCKS4a request (`VN=4 CD DSTPORT DSTIP USERID NUL [HOST NUL]`).
pub fn server_socks4_request(buf: &[u8]) -> Parsed<Request> {
    if buf.first().is_some_and(|&v| v != 4) {
        return Parsed::Invalid;
    }
    if buf.len() < 8 {
        return Parsed::Incomplete;
    }
    let port = u16::from_be_bytes([buf[2], buf[3]]);
    let ip = Ipv4Addr::new(buf[4], buf[5], buf[6], buf[7]);
    let (user, user_len) = match nul_field(&buf[8..]) {
        Parsed::Done(user, len) => (user.to_vec(), len),
        Parsed::Incomplete => return Parsed::Incomplete,
        _ => return Parsed::Invalid,
    };
    let mut used = 8 + user_len;
    // SOCKS4a: 0.0.0.x with x non-zero says a host name follows the user ID.
    let dest = match ip.octets() {
        [0, 0, 0, x] if x != 0 => match nul_field(&buf[used..]) {
            Parsed::Done(name, len) => {
                used += len;
                match std::str::from_utf8(name) {
                    Ok(name) if !name.is_empty() => Destination::Name(name.to_string()),
                    _ => return Parsed::Invalid,
                }
            }
            Parsed::Incomplete => return Parsed::Incomplete,
            _ => return Parsed::Invalid,
        },
        _ => Destination::Addr(IpAddr::V4(ip)),
    };
    Parsed::Done(
        Request {
            command: buf[1],
            dest,
            port,
            user,
        },
        used,
    )
}

/// The 8-byte SOCKS4 reply (the address fields carry the bound IPv4 address, if any).
pub fn server_socks4_reply(code: u8, bound: Option<SocketAddr>) -> [u8; 8] {
    let mut reply = [0, code, 0, 0, 0, 0, 0, 0];
    if let Some(SocketAddr::V4(addr)) = bound {
        reply[2..4].copy_from_slice(&addr.port().to_be_bytes());
        reply[4..8].copy_from_slice(&addr.ip().octets());
    }
    reply
}

/// Parses the SOCKS5 greeting (`VER=5 NMETHODS METHODS...`) into the methods offered.
pub fn server_socks5_greeting(buf: &[u8]) -> Parsed<Vec<u8>> {
    match buf {
        [] => Parsed::Incomplete,
        [v, ..] if *v != 5 => Parsed::Invalid,
        [_] => Parsed::Incomplete,
        [_, n, methods @ ..] => {
            let n = usize::from(*n);
            if n == 0 {
                Parsed::Invalid
            } else if methods.len() < n {
                Parsed::Incomplete
            } else {
                Parsed::Done(methods[..n].to_vec(), 2 + n)
            }
        }
    }
}

/// Parses the RFC 1929 request (`VER=1 ULEN UNAME PLEN PASSWD`) into the user and password.
pub fn server_socks5_login(buf: &[u8]) -> Parsed<(Vec<u8>, Vec<u8>)> {
    if buf.first().is_some_and(|&v| v != 1) {
        return Parsed::Invalid;
    }
    let Some(&user_len) = buf.get(1) else {
        return Parsed::Incomplete;
    };
    let user_end = 2 + usize::from(user_len);
    let Some(&pass_len) = buf.get(user_end) else {
        return Parsed::Incomplete;
    };
    let end = user_end + 1 + usize::from(pass_len);
    if buf.len() < end {
        return Parsed::Incomplete;
    }
    Parsed::Done(
        (buf[2..user_end].to_vec(), buf[user_end + 1..end].to_vec()),
        end,
    )
}

/// Parses a SOCKS5 request (`VER=5 CMD RSV ATYP DST.ADDR DST.PORT`). An unknown address
/// type cannot be skipped, so it is refused with its reply code.
pub fn server_socks5_request(buf: &[u8]) -> Parsed<Request> {
    if buf.first().is_some_and(|&v| v != 5) {
        return Parsed::Invalid;
    }
    if buf.len() < 5 {
        return Parsed::Incomplete;
    }
    let (addr_len, start) = match buf[3] {
        1 => (4, 4),
        4 => (16, 4),
        3 => (usize::from(buf[4]), 5),
        _ => return Parsed::Refused(ADDRESS_NOT_SUPPORTED),
    };
    let end = start + addr_len + 2;
    if buf.len() < end {
        return Parsed::Incomplete;
    }
    let addr = &buf[start..start + addr_len];
    let dest = match buf[3] {
        1 => Destination::Addr(IpAddr::from(<[u8; 4]>::try_from(addr).unwrap_or_default())),
        4 => Destination::Addr(IpAddr::from(<[u8; 16]>::try_from(addr).unwrap_or_default())),
        _ => match std::str::from_utf8(addr) {
            Ok(name) if !name.is_empty() => Destination::Name(name.to_string()),
            _ => return Parsed::Refused(HOST_UNREACHABLE),
        },
    };
    Parsed::Done(
        Request {
            command: buf[1],
            dest,
            port: u16::from_be_bytes([buf[end - 2], buf[end - 1]]),
            user: Vec::new(),
        },
        end,
    )
}

/// A SOCKS5 reply with the address the proxy connected from (all zeros when there is none).
pub fn server_socks5_reply(code: u8, bound: Option<SocketAddr>) -> Vec<u8> {
    let mut reply = vec![5, code, 0];
    match bound {
        Some(SocketAddr::V6(addr)) => {
            reply.push(4);
            reply.extend_from_slice(&addr.ip().octets());
            reply.extend_from_slice(&addr.port().to_be_bytes());
        }
        Some(SocketAddr::V4(addr)) => {
            reply.push(1);
            reply.extend_from_slice(&addr.ip().octets());
            reply.extend_from_slice(&addr.port().to_be_bytes());
        }
        None => reply.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0]),
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn socks4_and_4a_requests() {
        let dest = Destination::Addr("10.1.2.3".parse().unwrap());
        assert_eq!(
            socks4_request(&dest, 80, "me").unwrap(),
            [4, 1, 0, 80, 10, 1, 2, 3, b'm', b'e', 0]
        );
        let dest = Destination::Name("a.b".into());
        assert_eq!(
            socks4_request(&dest, 443, "").unwrap(),
            [4, 1, 1, 187, 0, 0, 0, 1, 0, b'a', b'.', b'b', 0]
        );
        let v6 = Destination::Addr("::1".parse().unwrap());
        assert!(socks4_request(&v6, 1, "").is_err());
        assert!(socks4_reply(&[0, 90, 0, 0, 0, 0, 0, 0]).is_ok());
        assert!(socks4_reply(&[0, 91, 0, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn socks5_messages() {
        assert_eq!(socks5_greeting(false), [5, 1, 0]);
        assert_eq!(socks5_greeting(true), [5, 2, 0, 2]);
        assert_eq!(
            socks5_credentials("u:p:q").unwrap(),
            [1, 1, b'u', 3, b'p', b':', b'q']
        );
        assert_eq!(
            socks5_credentials("nocolon").unwrap_err(),
            "Error: invalid username:password combo."
        );
        assert!(socks5_credentials(&format!("{}:p", "u".repeat(256))).is_err());
        assert_eq!(
            socks5_connect(&Destination::Name("host".into()), 22).unwrap(),
            [5, 1, 0, 3, 4, b'h', b'o', b's', b't', 0, 22]
        );
        assert_eq!(
            socks5_reply_rest(&[5, 5, 0, 1]).unwrap_err(),
            "Error: Connection refused."
        );
        assert_eq!(
            socks5_reply_rest(&[5, 0, 0, 4]).unwrap(),
            ReplyRest::Bytes(18)
        );
        assert!(socks5_method(&[5, 2], false).is_err());
    }

    #[test]
    fn server_reads_socks4_and_4a() {
        let req = [4, 1, 0, 80, 10, 1, 2, 3, b'm', b'e', 0, b'x'];
        let Parsed::Done(got, used) = server_socks4_request(&req) else {
            panic!("not parsed");
        };
        assert_eq!(used, 11);
        assert_eq!(got.dest, Destination::Addr("10.1.2.3".parse().unwrap()));
        assert_eq!(
            (got.command, got.port, got.user.as_slice()),
            (1, 80, &b"me"[..])
        );
        let req = socks4_request(&Destination::Name("a.b".into()), 443, "u").unwrap();
        for cut in 0..req.len() {
            assert_eq!(server_socks4_request(&req[..cut]), Parsed::Incomplete);
        }
        let Parsed::Done(got, used) = server_socks4_request(&req) else {
            panic!("not parsed");
        };
        assert_eq!(
            (got.dest, used),
            (Destination::Name("a.b".into()), req.len())
        );
        assert_eq!(server_socks4_request(&[5, 1]), Parsed::Invalid);
        let mut long = vec![4, 1, 0, 80, 1, 1, 1, 1];
        long.extend(std::iter::repeat_n(b'u', 300));
        assert_eq!(server_socks4_request(&long), Parsed::Invalid);
        assert_eq!(
            server_socks4_reply(90, Some("127.0.0.1:258".parse().unwrap())),
            [0, 90, 1, 2, 127, 0, 0, 1]
        );
    }

    #[test]
    fn server_reads_socks5() {
        assert_eq!(server_socks5_greeting(&[5, 2, 0]), Parsed::Incomplete);
        assert_eq!(
            server_socks5_greeting(&[5, 2, 0, 2, 9]),
            Parsed::Done(vec![0, 2], 4)
        );
        assert_eq!(server_socks5_greeting(&[4, 1, 0]), Parsed::Invalid);
        let login = socks5_credentials("user:pa:ss").unwrap();
        assert_eq!(
            server_socks5_login(&login),
            Parsed::Done((b"user".to_vec(), b"pa:ss".to_vec()), login.len())
        );
        assert_eq!(server_socks5_login(&login[..3]), Parsed::Incomplete);
        let req = socks5_connect(&Destination::Name("host".into()), 22).unwrap();
        for cut in 0..req.len() {
            assert_eq!(server_socks5_request(&req[..cut]), Parsed::Incomplete);
        }
        let Parsed::Done(got, used) = server_socks5_request(&req) else {
            panic!("not parsed");
        };
        assert_eq!(
            (got.dest, got.port, used),
            (Destination::Name("host".into()), 22, req.len())
        );
        let req = socks5_connect(&Destination::Addr("::1".parse().unwrap()), 7).unwrap();
        assert!(matches!(server_socks5_request(&req), Parsed::Done(r, 22) if r.port == 7));
        assert_eq!(
            server_socks5_request(&[5, 1, 0, 9, 0, 0]),
            Parsed::Refused(ADDRESS_NOT_SUPPORTED)
        );
        let reply = server_socks5_reply(0, Some("[::1]:80".parse().unwrap()));
        assert_eq!(
            socks5_reply_rest(&reply[..4].try_into().unwrap()),
            Ok(ReplyRest::Bytes(18))
        );
        assert_eq!(reply.len(), 22);
        assert_eq!(server_socks5_reply(7, None), [5, 7, 0, 1, 0, 0, 0, 0, 0, 0]);
    }

    proptest! {
        /// Whatever a client sends, parsing never panics and never claims more than it got.
        #[test]
        fn any_client_message_parses_or_is_refused(buf in proptest::collection::vec(any::<u8>(), 0..600)) {
            fn used<T>(parsed: Parsed<T>) -> usize {
                match parsed {
                    Parsed::Done(_, used) => used,
                    _ => 0,
                }
            }
            prop_assert!(used(server_socks4_request(&buf)) <= buf.len());
            prop_assert!(used(server_socks5_greeting(&buf)) <= buf.len());
            prop_assert!(used(server_socks5_login(&buf)) <= buf.len());
            prop_assert!(used(server_socks5_request(&buf)) <= buf.len());
        }

        #[test]
        fn any_reply_is_an_answer_or_an_error(head in any::<[u8; 4]>(), two in any::<[u8; 2]>(), eight in any::<[u8; 8]>()) {
            let _ = socks5_reply_rest(&head);
            let _ = socks5_method(&two, true);
            let _ = socks5_auth_reply(&two);
            let _ = socks4_reply(&eight);
        }
    }
}

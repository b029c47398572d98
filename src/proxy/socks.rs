//! SOCKS4/4a and SOCKS5 (RFC 1928, with RFC 1929 username/password): the messages a client
//! sends and the checks on what the proxy answers. No I/O here, so all of it is testable.

use std::net::IpAddr;

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

    proptest! {
        #[test]
        fn any_reply_is_an_answer_or_an_error(head in any::<[u8; 4]>(), two in any::<[u8; 2]>(), eight in any::<[u8; 8]>()) {
            let _ = socks5_reply_rest(&head);
            let _ = socks5_method(&two, true);
            let _ = socks5_auth_reply(&two);
            let _ = socks4_reply(&eight);
        }
    }
}

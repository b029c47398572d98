//! The HTTP/1.x pieces both proxy sides need: reading a header block without taking a byte of
//! what follows it, parsing it, and Basic and Digest credentials.

use std::fmt::Write as _;
use std::io;

use bytes::BytesMut;
use md5::{Digest, Md5};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpStream;

/// The end of an HTTP header block.
const END: &[u8] = b"\r\n\r\n";

/// Why a header block could not be read.
#[derive(Debug)]
pub enum HeadError {
    /// The peer closed before the block ended.
    Closed,
    /// The block is longer than the caller allows.
    TooLong,
    Io(io::Error),
}

impl From<io::Error> for HeadError {
    fn from(e: io::Error) -> Self {
        HeadError::Io(e)
    }
}

/// Reads one header block (up to and including its blank line) and nothing more: whatever the
/// peer sent after it stays in the socket for the relay. Bytes are peeked, then only the
/// header's are consumed.
pub async fn read_head(stream: &mut TcpStream, limit: usize) -> Result<Vec<u8>, HeadError> {
    let mut head = Vec::new();
    let mut buf = vec![0u8; 4096];
    loop {
        let n = stream.peek(&mut buf).await?;
        if n == 0 {
            return Err(HeadError::Closed);
        }
        // The end may straddle what was consumed already and what is peeked now.
        let carried = head.len().min(END.len() - 1);
        let mut window = head[head.len() - carried..].to_vec();
        window.extend_from_slice(&buf[..n]);
        let take = match memchr::memmem::find(&window, END) {
            Some(pos) => pos + END.len() - carried,
            None => n,
        };
        if head.len() + take > limit {
            return Err(HeadError::TooLong);
        }
        stream.read_exact(&mut buf[..take]).await?;
        head.extend_from_slice(&buf[..take]);
        if head.ends_with(END) {
            return Ok(head);
        }
    }
}

/// Reads one header block from `reader` through `buf`: returns the block, and leaves in `buf`
/// whatever arrived after it.
pub async fn read_head_buffered<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut BytesMut,
    limit: usize,
) -> Result<Vec<u8>, HeadError> {
    let mut searched = 0;
    loop {
        if let Some(pos) = memchr::memmem::find(&buf[searched..], END) {
            return Ok(buf.split_to(searched + pos + END.len()).to_vec());
        }
        if buf.len() > limit {
            return Err(HeadError::TooLong);
        }
        searched = buf.len().saturating_sub(END.len() - 1);
        buf.reserve(4096);
        if reader.read_buf(buf).await? == 0 {
            return Err(HeadError::Closed);
        }
    }
}

/// A parsed header block: the first line's three parts and the header fields, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Request: method, target, version. Response: version, status code, reason.
    pub start: [String; 3],
    pub fields: Vec<(String, String)>,
}

impl Head {
    /// Parses a header block; `None` when it is not HTTP/1.x shaped. Field values continued on
    /// lines that begin with a space or a tab (obsolete line folding, RFC 7230 3.2.4) are joined,
    /// and the white space around values is dropped.
    pub fn parse(block: &[u8]) -> Option<Head> {
        let text = unfold(std::str::from_utf8(block).ok()?);
        let mut lines = text.split("\r\n");
        let mut start = lines.next()?.splitn(3, ' ');
        let start = [
            start.next()?.to_string(),
            start.next()?.to_string(),
            start.next().unwrap_or_default().to_string(),
        ];
        if start[0].is_empty() || start[1].is_empty() {
            return None;
        }
        let mut fields = Vec::new();
        for line in lines.take_while(|l| !l.is_empty()) {
            let (name, value) = line.split_once(':')?;
            if name.is_empty() || name.contains([' ', '\t']) {
                return None;
            }
            fields.push((name.to_string(), value.trim().to_string()));
        }
        Some(Head { start, fields })
    }

    /// A field's value as an authorization scheme and what follows it (`Basic xyz`), the
    /// scheme compared without regard to case.
    pub fn credentials<'a>(&'a self, name: &str) -> Option<(&'a str, &'a str)> {
        let value = self.get(name)?.trim();
        let (scheme, rest) = value
            .split_once(|c: char| c.is_ascii_whitespace())
            .unwrap_or((value, ""));
        Some((scheme, rest.trim()))
    }

    /// The value of every field called `name` (case-insensitive).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A response's status code: `None` unless the status line is `HTTP/<digits>.<digits>`
    /// and a code of exactly three digits (Ncat 7.991's stricter reading).
    pub fn status(&self) -> Option<u16> {
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let version = self.start[0].strip_prefix("HTTP/")?;
        let (major, minor) = version.split_once('.')?;
        let code = &self.start[1];
        if !digits(major) || !digits(minor) || code.len() != 3 || !digits(code) {
            return None;
        }
        code.parse().ok()
    }
}

/// Joins folded header lines: a line break (CRLF or a bare LF) followed by spaces or tabs
/// becomes one space.
fn unfold(text: &str) -> std::borrow::Cow<'_, str> {
    let folded = |rest: &str| rest.starts_with([' ', '\t']);
    if !text
        .match_indices('\n')
        .any(|(i, _)| folded(&text[i + 1..]))
    {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('\n') {
        let (before, after) = (&rest[..i], &rest[i + 1..]);
        if folded(after) {
            out.push_str(before.strip_suffix('\r').unwrap_or(before));
            out.push(' ');
            rest = after.trim_start_matches([' ', '\t']);
        } else {
            out.push_str(before);
            out.push('\n');
            rest = after;
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// Standard base64, padded when written and taken with or without padding when read, as
/// clients send Basic credentials both ways.
const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Standard base64 with padding.
pub fn base64_encode(data: &[u8]) -> String {
    base64::Engine::encode(&BASE64, data)
}

/// Decodes standard base64; `None` for anything malformed.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    base64::Engine::decode(&BASE64, text).ok()
}

/// The `Basic` credentials for `user:pass`.
pub fn basic_credentials(auth: &str) -> String {
    format!("Basic {}", base64_encode(auth.as_bytes()))
}

fn md5_hex(parts: &[&str]) -> String {
    let digest = Md5::digest(parts.join(":").as_bytes());
    let mut hex = String::with_capacity(32);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// The challenges of one `Proxy-Authenticate` header (RFC 7235), each as its scheme and its
/// parameters: `Basic realm="a", Digest realm="b", nonce="n"` is two. Commas inside quoted
/// strings do not split.
pub fn challenges(header: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    for item in split_outside_quotes(header) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (head, rest) = item.split_once([' ', '\t']).unwrap_or((item, ""));
        match found.last_mut() {
            // `name=value` (or `name = value`) continues the current challenge.
            Some((_, params)) if head.contains('=') || rest.trim_start().starts_with('=') => {
                params.push_str(", ");
                params.push_str(item);
            }
            _ => found.push((head.to_string(), rest.trim().to_string())),
        }
    }
    found
}

/// Splits at commas that are not inside a quoted string (with `\` escapes).
fn split_outside_quotes(text: &str) -> Vec<&str> {
    let (mut parts, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// The parameters of a `Digest` challenge or answer (`realm="x", nonce="y", qop=auth`).
pub fn auth_params(text: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some((name, after)) = rest.split_once('=') else {
            break;
        };
        let name = name
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (after[..end].trim(), &after[end..]),
                None => (after.trim(), ""),
            }
        };
        params.push((name, value.to_string()));
        rest = next.trim_start().trim_start_matches(',').trim_start();
    }
    params
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The answer to a `Digest` challenge (RFC 2617, MD5, `qop=auth` when offered) for a request
/// of `method` on `uri`. `None` when the challenge lacks a realm or nonce.
pub fn digest_credentials(
    challenge: &str,
    user: &str,
    pass: &str,
    method: &str,
    uri: &str,
    cnonce: &str,
) -> Option<String> {
    let params = auth_params(challenge);
    let realm = param(&params, "realm")?;
    let nonce = param(&params, "nonce")?;
    let ha1 = md5_hex(&[user, realm, pass]);
    let ha2 = md5_hex(&[method, uri]);
    let qop_auth = param(&params, "qop").is_some_and(|q| q.split(',').any(|q| q.trim() == "auth"));
    let mut answer =
        format!("Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\"");
    if qop_auth {
        let nc = "00000001";
        let response = md5_hex(&[&ha1, nonce, nc, cnonce, "auth", &ha2]);
        let _ = write!(
            answer,
            ", response=\"{response}\", qop=auth, nc={nc}, cnonce=\"{cnonce}\""
        );
    } else {
        let response = md5_hex(&[&ha1, nonce, &ha2]);
        let _ = write!(answer, ", response=\"{response}\"");
    }
    if let Some(opaque) = param(&params, "opaque") {
        let _ = write!(answer, ", opaque=\"{opaque}\"");
    }
    answer.push_str(", algorithm=MD5");
    Some(answer)
}

/// Checks a `Digest` answer against the expected credentials and the nonce we issued.
pub fn digest_matches(answer: &str, user: &str, pass: &str, method: &str, nonce: &str) -> bool {
    let params = auth_params(answer);
    let (Some(got_user), Some(realm), Some(got_nonce), Some(uri), Some(response)) = (
        param(&params, "username"),
        param(&params, "realm"),
        param(&params, "nonce"),
        param(&params, "uri"),
        param(&params, "response"),
    ) else {
        return false;
    };
    if got_user != user || got_nonce != nonce {
        return false;
    }
    let ha1 = md5_hex(&[user, realm, pass]);
    let ha2 = md5_hex(&[method, uri]);
    let expected = match (
        param(&params, "qop"),
        param(&params, "nc"),
        param(&params, "cnonce"),
    ) {
        (Some(qop), Some(nc), Some(cnonce)) => md5_hex(&[&ha1, nonce, nc, cnonce, qop, &ha2]),
        _ => md5_hex(&[&ha1, nonce, &ha2]),
    };
    expected.eq_ignore_ascii_case(response)
}

/// A fresh random token (for nonces), as hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 16];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn base64_matches_the_rfc_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("u:p", "dTpw"),
        ] {
            assert_eq!(base64_encode(plain.as_bytes()), encoded);
            assert_eq!(base64_decode(encoded).unwrap(), plain.as_bytes());
            let unpadded = encoded.trim_end_matches('=');
            assert_eq!(base64_decode(unpadded).unwrap(), plain.as_bytes());
        }
        assert!(base64_decode("a*b").is_none());
    }

    #[test]
    fn rfc2617_digest_example() {
        // The worked example of RFC 2617 section 3.5.
        let challenge = r#"realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#;
        let answer = digest_credentials(
            challenge,
            "Mufasa",
            "Circle Of Life",
            "GET",
            "/dir/index.html",
            "0a4f113b",
        )
        .unwrap();
        assert!(
            answer.contains("response=\"6629fae49393a05397450978507c4ef1\""),
            "{answer}"
        );
        let answer = answer.strip_prefix("Digest ").unwrap();
        assert!(digest_matches(
            answer,
            "Mufasa",
            "Circle Of Life",
            "GET",
            "dcd98b7102dd2f0e8b11d0f600bfb0c093"
        ));
        assert!(!digest_matches(
            answer,
            "Mufasa",
            "wrong",
            "GET",
            "dcd98b7102dd2f0e8b11d0f600bfb0c093"
        ));
    }

    #[test]
    fn challenges_split_per_rfc_7235() {
        let found = challenges(r#"Basic realm="a, b", Digest realm="b", nonce="n,1", qop="auth""#);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0], ("Basic".into(), r#"realm="a, b""#.into()));
        assert_eq!(found[1].0, "Digest");
        assert_eq!(found[1].1, r#"realm="b", nonce="n,1", qop="auth""#);
        let params = auth_params(&found[1].1);
        assert_eq!(param(&params, "nonce"), Some("n,1"));
        assert_eq!(challenges("Negotiate, Basic realm=x").len(), 2);
    }

    #[test]
    fn folded_lines_are_joined() {
        let head = Head::parse(
            b"CONNECT h:1 HTTP/1.0\r\nProxy-Authorization:\t  Basic  \r\n\t  \n dXNlcjpwYXNz\r\nX: 1\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            head.credentials("proxy-authorization"),
            Some(("Basic", "dXNlcjpwYXNz"))
        );
        assert_eq!(head.get("X"), Some("1"));
        let head = Head::parse(
            b"CONNECT h:1 HTTP/1.0\r\nProxy-Authorization: Basic\r\n dXNlcjpwYXNz\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            head.credentials("Proxy-Authorization"),
            Some(("Basic", "dXNlcjpwYXNz"))
        );
    }

    #[test]
    fn heads_parse() {
        let head = Head::parse(b"HTTP/1.0 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\nproxy-authenticate: Digest realm=\"x\", nonce=\"n\"\r\n\r\n").unwrap();
        assert_eq!(head.status(), Some(407));
        assert_eq!(head.all("Proxy-Authenticate").count(), 2);
        assert_eq!(Head::parse(b"garbage\r\n\r\n"), None);
        assert_eq!(Head::parse(b"HTTP/1.1 200\r\nno colon\r\n\r\n"), None);
        assert_eq!(
            Head::parse(b"HTTP/1.x 200 OK\r\n\r\n").unwrap().status(),
            None
        );
        assert_eq!(
            Head::parse(b"HTTP/1.1 +20 OK\r\n\r\n").unwrap().status(),
            None
        );
        assert_eq!(
            Head::parse(b"HTTP/11 200 OK\r\n\r\n").unwrap().status(),
            None
        );
        assert_eq!(
            Head::parse(b"HTTP/1.1 2000 x\r\n\r\n").unwrap().status(),
            None
        );
    }

    proptest! {
        #[test]
        fn malformed_heads_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            if let Some(head) = Head::parse(&bytes) {
                let _ = head.status();
                for (_, value) in &head.fields {
                    let _ = auth_params(value);
                    let _ = digest_credentials(value, "u", "p", "CONNECT", "h:1", "c");
                    let _ = digest_matches(value, "u", "p", "CONNECT", "n");
                }
            }
        }

        #[test]
        fn auth_params_never_panic(text in ".{0,200}") {
            let _ = auth_params(&text);
        }

        #[test]
        fn base64_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            prop_assert_eq!(base64_decode(&base64_encode(&bytes)).unwrap(), bytes);
        }
    }
}

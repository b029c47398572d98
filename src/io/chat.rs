//! Chat-mode byte transforms: terminal-safe escaping and per-line `<userN> ` framing.
//!
//! Ncat escapes every byte outside printable ASCII (TAB, LF and CR pass). With `--chat-utf8`
//! valid printable UTF-8 passes too; what could change a terminal's state is still escaped:
//! C0 controls but TAB, LF and CR, DEL, the C1 controls U+0080-U+009F (a terminal in UTF-8
//! mode takes U+009B as CSI), the bidirectional embeddings, overrides and isolates
//! (U+202A-U+202E, U+2066-U+2069), and every byte of invalid UTF-8.

use bytes::{BufMut, BytesMut};

/// Longest piece of a line relayed under one prefix; longer lines are cut into pieces this long.
pub const MAX_LINE: usize = 8192;

/// Whether a byte passes through unescaped: printable ASCII, TAB, LF and CR.
fn is_safe(b: u8) -> bool {
    matches!(b, 0x20..=0x7e | b'\t' | b'\n' | b'\r')
}

/// Whether a character passes through unescaped under `--chat-utf8`.
fn is_safe_char(c: char) -> bool {
    match c {
        '\t' | '\n' | '\r' => true,
        '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}' => false,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => false,
        _ => true,
    }
}

/// Appends one byte as a backslash and three octal digits.
fn put_octal(b: u8, out: &mut BytesMut) {
    out.put_slice(&[
        b'\\',
        b'0' + (b >> 6),
        b'0' + ((b >> 3) & 7),
        b'0' + (b & 7),
    ]);
}

/// Appends `data` to `out`, escaping as Ncat does or, with `utf8`, as `--chat-utf8` does (see
/// the module's comment). Backslash itself is not escaped (as in Ncat).
pub fn escape_into(data: &[u8], utf8: bool, out: &mut BytesMut) {
    if utf8 {
        escape_utf8_into(data, out);
    } else {
        escape_ascii_into(data, out);
    }
}

fn escape_utf8_into(mut data: &[u8], out: &mut BytesMut) {
    out.reserve(data.len());
    while !data.is_empty() {
        let (text, invalid) = match std::str::from_utf8(data) {
            Ok(text) => (text, 0),
            Err(e) => {
                let valid = std::str::from_utf8(&data[..e.valid_up_to()]).unwrap_or_default();
                let rest = data.len() - e.valid_up_to();
                (valid, e.error_len().unwrap_or(rest))
            }
        };
        for c in text.chars() {
            let mut encoded = [0u8; 4];
            let bytes = c.encode_utf8(&mut encoded).as_bytes();
            if is_safe_char(c) {
                out.put_slice(bytes);
            } else {
                bytes.iter().for_each(|&b| put_octal(b, out));
            }
        }
        let bad = &data[text.len()..text.len() + invalid];
        bad.iter().for_each(|&b| put_octal(b, out));
        data = &data[text.len() + invalid..];
    }
}

fn escape_ascii_into(data: &[u8], out: &mut BytesMut) {
    out.reserve(data.len());
    let mut rest = data;
    while !rest.is_empty() {
        let safe = rest.iter().position(|&b| !is_safe(b)).unwrap_or(rest.len());
        out.put_slice(&rest[..safe]);
        if let Some(&b) = rest.get(safe) {
            put_octal(b, out);
            rest = &rest[safe + 1..];
        } else {
            rest = &[];
        }
    }
}

/// Cuts one sender's byte stream into lines and frames each as `<userN> ` + escaped line.
///
/// A line that arrives in pieces is held until its newline and gets one prefix; a line that grows
/// past [`MAX_LINE`] bytes is relayed in pieces of that size, each with its own prefix.
#[derive(Debug)]
pub struct LineFramer {
    prefix: Vec<u8>,
    partial: Vec<u8>,
    /// `--chat-utf8`.
    utf8: bool,
}

impl LineFramer {
    pub fn new(id: u32, utf8: bool) -> LineFramer {
        LineFramer {
            prefix: format!("<user{id}> ").into_bytes(),
            partial: Vec::new(),
            utf8,
        }
    }

    /// Frames every complete line (or full-size piece) in `data` into `out`; keeps the rest.
    pub fn push(&mut self, mut data: &[u8], out: &mut BytesMut) {
        while !data.is_empty() {
            let room = MAX_LINE - self.partial.len();
            let window = &data[..data.len().min(room)];
            match memchr::memchr(b'\n', window) {
                Some(nl) if self.partial.is_empty() => {
                    self.emit(&data[..=nl], out);
                    data = &data[nl + 1..];
                }
                Some(nl) => {
                    self.partial.extend_from_slice(&data[..=nl]);
                    self.flush(out);
                    data = &data[nl + 1..];
                }
                None if window.len() == MAX_LINE => {
                    self.emit(window, out);
                    data = &data[MAX_LINE..];
                }
                None => {
                    self.partial.extend_from_slice(window);
                    data = &data[window.len()..];
                    if self.partial.len() == MAX_LINE {
                        self.flush(out);
                    }
                }
            }
        }
    }

    /// Frames the unfinished last line, if any (the sender has left).
    pub fn finish(&mut self, out: &mut BytesMut) {
        if !self.partial.is_empty() {
            self.flush(out);
        }
    }

    fn flush(&mut self, out: &mut BytesMut) {
        let line = std::mem::take(&mut self.partial);
        self.emit(&line, out);
        self.partial = line;
        self.partial.clear();
    }

    fn emit(&self, line: &[u8], out: &mut BytesMut) {
        out.put_slice(&self.prefix);
        escape_into(line, self.utf8, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn escape(data: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        escape_into(data, false, &mut out);
        out.to_vec()
    }

    fn escape_utf8(data: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        escape_into(data, true, &mut out);
        out.to_vec()
    }

    /// The characters a terminal could act on, as `--chat-utf8` must never pass them.
    fn changes_terminal_state(c: char) -> bool {
        (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    }

    #[test]
    fn utf8_passes_readable_text_and_escapes_the_rest() {
        assert_eq!(
            escape_utf8("héllo 你好".as_bytes()),
            "héllo 你好".as_bytes()
        );
        assert_eq!(escape_utf8(b"\x1b[31m\x7f"), b"\\033[31m\\177");
        // C1 CSI, a right-to-left override, an isolate.
        assert_eq!(escape_utf8("\u{9b}".as_bytes()), b"\\302\\233");
        assert_eq!(escape_utf8("a\u{202e}b".as_bytes()), b"a\\342\\200\\256b");
        assert_eq!(escape_utf8("\u{2067}".as_bytes()), b"\\342\\201\\247");
        // Invalid UTF-8: a stray continuation byte, a cut sequence, an overlong form.
        assert_eq!(escape_utf8(b"a\x80b"), b"a\\200b");
        assert_eq!(escape_utf8(b"\xe4\xbd"), b"\\344\\275");
        assert_eq!(escape_utf8(b"\xc0\xaf!"), b"\\300\\257!");
        assert_eq!(escape_utf8(b"\t\r\n"), b"\t\r\n");
    }

    fn frame(pieces: &[&[u8]], finish: bool) -> Vec<u8> {
        let mut framer = LineFramer::new(5, false);
        let mut out = BytesMut::new();
        for p in pieces {
            framer.push(p, &mut out);
        }
        if finish {
            framer.finish(&mut out);
        }
        out.to_vec()
    }

    #[test]
    fn escapes_exactly_like_ncat() {
        assert_eq!(escape(b"\x1b[31m\x00\xff"), b"\\033[31m\\000\\377");
        assert_eq!(escape(b"a\tb\r\n"), b"a\tb\r\n");
        assert_eq!(escape(b"\\033"), b"\\033");
        assert_eq!(
            escape(b"\x7f\x80\x07\x08\x0b\x0c"),
            b"\\177\\200\\007\\010\\013\\014"
        );
        assert_eq!(escape("é".as_bytes()), b"\\303\\251");
    }

    #[test]
    fn every_byte_value() {
        for b in 0..=255u8 {
            let out = escape(&[b]);
            if is_safe(b) {
                assert_eq!(out, [b]);
            } else {
                assert_eq!(out, format!("\\{b:03o}").into_bytes());
            }
        }
    }

    #[test]
    fn one_prefix_per_line() {
        assert_eq!(frame(&[b"a\nb\n"], false), b"<user5> a\n<user5> b\n");
        assert_eq!(
            frame(&[b"hel", b"lo\nwor", b"ld\n"], false),
            b"<user5> hello\n<user5> world\n"
        );
        assert_eq!(frame(&[b"tail"], false), b"");
        assert_eq!(frame(&[b"tail"], true), b"<user5> tail");
    }

    #[test]
    fn long_lines_in_pieces() {
        let line = vec![b'x'; 20_001];
        let out = frame(&[&line[..5000], &line[5000..], b"\n"], false);
        let prefix = b"<user5> ";
        let mut expected = Vec::new();
        for piece in [&line[..8192], &line[8192..16384]] {
            expected.extend_from_slice(prefix);
            expected.extend_from_slice(piece);
        }
        expected.extend_from_slice(prefix);
        expected.extend_from_slice(&line[16384..]);
        expected.push(b'\n');
        assert_eq!(out, expected);
    }

    proptest! {
        /// Under --chat-utf8 the output is valid UTF-8 with no character a terminal acts on,
        /// whatever the input: bytes of any value, or characters of any kind.
        #[test]
        fn utf8_output_cannot_change_a_terminal(
            bytes in proptest::collection::vec(any::<u8>(), 0..2000),
            text in ".{0,200}",
        ) {
            for input in [&bytes[..], text.as_bytes()] {
                let out = escape_utf8(input);
                let out = std::str::from_utf8(&out);
                prop_assert!(out.is_ok());
                prop_assert!(!out.unwrap_or_default().chars().any(changes_terminal_state));
            }
        }

        /// Readable text passes unchanged under --chat-utf8.
        #[test]
        fn utf8_keeps_readable_text(text in "[\\PC&&[^\u{202a}-\u{202e}\u{2066}-\u{2069}]]{0,200}") {
            prop_assert_eq!(escape_utf8(text.as_bytes()), text.as_bytes());
        }

        /// Nothing a client sends reaches another terminal unescaped.
        #[test]
        fn output_is_terminal_safe(data in proptest::collection::vec(any::<u8>(), 0..3000)) {
            let out = frame(&[&data], true);
            prop_assert!(out.iter().all(|&b| is_safe(b)));
        }

        /// Framing loses nothing: removing prefixes and undoing escapes gives the input back,
        /// however the input is cut into reads. (Backslashes and `<` are replaced in the
        /// inputs: they would make the decoding below ambiguous.)
        #[test]
        fn framing_round_trips(
            data in proptest::collection::vec(any::<u8>().prop_map(|b| if b == b'\\' || b == b'<' { b'x' } else { b }), 0..20000),
            cut in 0usize..20000,
        ) {
            let cut = cut.min(data.len());
            let out = frame(&[&data[..cut], &data[cut..]], true);
            let prefix = b"<user5> ";
            let mut plain = Vec::new();
            let mut i = 0;
            while i < out.len() {
                if out[i..].starts_with(prefix) {
                    i += prefix.len();
                } else if out[i] == b'\\' {
                    let digit = |k: usize| out[i + k] - b'0';
                    plain.push((digit(1) << 6) | (digit(2) << 3) | digit(3));
                    i += 4;
                } else {
                    plain.push(out[i]);
                    i += 1;
                }
            }
            prop_assert_eq!(plain, data);
        }
    }
}

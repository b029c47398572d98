//! `-C`: bare LF becomes CRLF in data going to the network. An existing CRLF is left alone,
//! even when its CR and LF arrive in different reads.

use bytes::{BufMut, Bytes, BytesMut};

#[derive(Debug, Default)]
pub struct Crlf {
    /// The previous chunk ended with CR.
    after_cr: bool,
}

impl Crlf {
    /// One chunk converted: every mode's `-C` step.
    pub fn apply(&mut self, data: &[u8]) -> Bytes {
        let mut converted = BytesMut::with_capacity(data.len() + 16);
        self.convert(data, &mut converted);
        converted.freeze()
    }

    /// Appends `data` to `out` with every bare LF turned into CRLF.
    pub fn convert(&mut self, data: &[u8], out: &mut BytesMut) {
        out.reserve(data.len() + data.len() / 16);
        let mut rest = data;
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            let preceded_by_cr = if nl == 0 {
                self.after_cr
            } else {
                rest[nl - 1] == b'\r'
            };
            out.put_slice(&rest[..nl]);
            if !preceded_by_cr {
                out.put_u8(b'\r');
            }
            out.put_u8(b'\n');
            rest = &rest[nl + 1..];
            self.after_cr = false;
        }
        out.put_slice(rest);
        if let Some(&last) = data.last() {
            self.after_cr = last == b'\r';
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn convert(pieces: &[&[u8]]) -> Vec<u8> {
        let mut crlf = Crlf::default();
        let mut out = BytesMut::new();
        for p in pieces {
            crlf.convert(p, &mut out);
        }
        out.to_vec()
    }

    #[test]
    fn bare_lf_becomes_crlf() {
        assert_eq!(convert(&[b"a\nb\n"]), b"a\r\nb\r\n");
        assert_eq!(convert(&[b"a\r\nb"]), b"a\r\nb");
        assert_eq!(convert(&[b"\n\n"]), b"\r\n\r\n");
        assert_eq!(convert(&[b"no newline"]), b"no newline");
    }

    #[test]
    fn cr_and_lf_in_different_reads() {
        assert_eq!(convert(&[b"line\r", b"\nnext\n"]), b"line\r\nnext\r\n");
        assert_eq!(convert(&[b"line", b"\n"]), b"line\r\n");
        assert_eq!(convert(&[b"\r", b"", b"\n"]), b"\r\n");
    }

    /// The reference: the whole stream converted at once.
    fn whole(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, &b) in data.iter().enumerate() {
            if b == b'\n' && (i == 0 || data[i - 1] != b'\r') {
                out.push(b'\r');
            }
            out.push(b);
        }
        out
    }

    proptest! {
        #[test]
        fn splitting_never_changes_the_result(
            data in proptest::collection::vec(prop::sample::select(vec![b'a', b'\r', b'\n']), 0..200),
            cuts in proptest::collection::vec(0usize..200, 0..5),
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.sort_unstable();
            let mut pieces = Vec::new();
            let mut start = 0;
            for c in cuts {
                pieces.push(&data[start..c]);
                start = c;
            }
            pieces.push(&data[start..]);
            prop_assert_eq!(convert(&pieces), whole(&data));
        }
    }
}

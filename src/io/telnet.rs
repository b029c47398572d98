//! `-t`: answer Telnet option negotiation and keep it out of the output.
//!
//! Every `IAC WILL/WONT x` is refused with `IAC DONT x`, every `IAC DO/DONT x` with
//! `IAC WONT x`, as Ncat does. Unlike Ncat 7.93 (which only looks at the start of each read and
//! passes the bytes through), negotiation is recognised anywhere, across reads, and removed from
//! the data; `IAC IAC` stands for one 0xFF byte; subnegotiations are removed.

use bytes::{BufMut, BytesMut};

const IAC: u8 = 255;
const DONT: u8 = 254;
const DO: u8 = 253;
const WONT: u8 = 252;
const WILL: u8 = 251;
const SB: u8 = 250;
const SE: u8 = 240;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    #[default]
    Data,
    /// After IAC.
    Command,
    /// After IAC WILL/WONT/DO/DONT: the option byte comes next.
    Option(u8),
    /// Inside IAC SB ... IAC SE.
    Sub,
    /// IAC inside a subnegotiation.
    SubIac,
}

#[derive(Debug, Default)]
pub struct Telnet {
    state: State,
}

impl Telnet {
    /// One chunk split into its data and the answers to send back: every mode's `-t` step.
    pub fn strip(&mut self, input: &[u8]) -> (bytes::Bytes, Vec<u8>) {
        let (mut data, mut answers) = (BytesMut::new(), Vec::new());
        self.filter(input, &mut data, &mut answers);
        (data.freeze(), answers)
    }

    /// Appends the data bytes of `input` to `out` and the answers to send back to `replies`.
    pub fn filter(&mut self, input: &[u8], out: &mut BytesMut, replies: &mut Vec<u8>) {
        for &b in input {
            self.state = match (self.state, b) {
                (State::Data, IAC) => State::Command,
                (State::Data, _) => {
                    out.put_u8(b);
                    State::Data
                }
                (State::Command, IAC) => {
                    out.put_u8(IAC);
                    State::Data
                }
                (State::Command, WILL | WONT | DO | DONT) => State::Option(b),
                (State::Command, SB) => State::Sub,
                (State::Command, _) => State::Data,
                (State::Option(cmd), opt) => {
                    let answer = if matches!(cmd, WILL | WONT) {
                        DONT
                    } else {
                        WONT
                    };
                    replies.extend_from_slice(&[IAC, answer, opt]);
                    State::Data
                }
                (State::Sub, IAC) => State::SubIac,
                (State::Sub, _) => State::Sub,
                (State::SubIac, SE) => State::Data,
                (State::SubIac, _) => State::Sub,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(pieces: &[&[u8]]) -> (Vec<u8>, Vec<u8>) {
        let mut t = Telnet::default();
        let (mut out, mut replies) = (BytesMut::new(), Vec::new());
        for p in pieces {
            t.filter(p, &mut out, &mut replies);
        }
        (out.to_vec(), replies)
    }

    #[test]
    fn answers_like_ncat_and_strips() {
        let (out, replies) = run(&[&[IAC, DO, 1, IAC, WILL, 3], b"login: "]);
        assert_eq!(replies, [IAC, WONT, 1, IAC, DONT, 3]);
        assert_eq!(out, b"login: ");
    }

    #[test]
    fn sequences_split_across_reads_and_mid_chunk() {
        let (out, replies) = run(&[b"ab", &[IAC], &[DO], &[24, b'c', IAC, IAC, b'd']]);
        assert_eq!(replies, [IAC, WONT, 24]);
        assert_eq!(out, [b'a', b'b', b'c', IAC, b'd']);
    }

    #[test]
    fn subnegotiation_is_removed() {
        let (out, replies) = run(&[&[b'x', IAC, SB, 24, 1, IAC, SE, b'y']]);
        assert_eq!(out, b"xy");
        assert!(replies.is_empty());
    }

    proptest! {
        /// Without IAC, data passes unchanged however it is split.
        #[test]
        fn plain_data_passes(data in proptest::collection::vec(0u8..255, 0..500), cut in 0usize..500) {
            let cut = cut.min(data.len());
            let (out, replies) = run(&[&data[..cut], &data[cut..]]);
            prop_assert_eq!(out, data);
            prop_assert!(replies.is_empty());
        }

        /// Splitting never changes the result.
        #[test]
        fn splitting_is_invisible(data in proptest::collection::vec(any::<u8>(), 0..300), cut in 0usize..300) {
            let cut = cut.min(data.len());
            prop_assert_eq!(run(&[&data[..cut], &data[cut..]]), run(&[&data]));
        }
    }
}

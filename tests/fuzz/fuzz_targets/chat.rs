//! The chat framer and escaper: any bytes, cut anywhere, must come out as prefixed lines with
//! no byte that could drive a terminal, and never panic.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use ncat::io::chat::LineFramer;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, data)) = data.split_first() else {
        return;
    };
    let cut = usize::from(cut).min(data.len());
    let mut framer = LineFramer::new(5);
    let mut out = BytesMut::new();
    framer.push(&data[..cut], &mut out);
    framer.push(&data[cut..], &mut out);
    framer.finish(&mut out);
    // Only printable ASCII, tab, CR and LF may reach another client's terminal.
    assert!(
        out.iter()
            .all(|&b| matches!(b, 0x20..=0x7e | b'\t' | b'\n' | b'\r'))
    );
});

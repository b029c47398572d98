//! `--allow`/`--deny` specifications (numeric only, so no resolver is involved): an answer
//! or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ncat::net::access::{HostSet, Lookup};
use ncat::net::resolve::Family;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut set = HostSet::default();
    let lookup = Lookup {
        family: Family::Any,
        numeric_only: true,
    };
    if set.add_option(text, lookup).is_ok() {
        let _ = set.contains("127.0.0.1".parse().unwrap());
        let _ = set.contains("::1".parse().unwrap());
    }
});

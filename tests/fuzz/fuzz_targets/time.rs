//! Time values (`-w`, `-i`, `-d`, `-q`): a duration in range or Ncat's error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(duration) = ncat::parse::time(text, "-w timeout")
    {
        assert!(duration.as_secs() < 2_147_483);
    }
});

//! Pure parsers for Ncat's option values: times, ports and counts, with Ncat's exact error texts.

use std::time::Duration;

/// The largest time Ncat accepts, in milliseconds (a C `int`).
const MAX_MS: f64 = 2_147_483_647.0;

/// Splits the longest prefix of `s` that C's `strtod` would read as a number, after leading blanks.
/// Returns the value and the rest of the string, or `None` when no number starts the string.
fn strtod_prefix(s: &str) -> Option<(f64, &str)> {
    let s = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let bytes = s.as_bytes();
    let mut i = 0;
    let negative = match bytes.first() {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let sign = if negative { -1.0 } else { 1.0 };
    let body = &s[i..];
    let lower = body.to_ascii_lowercase();
    if lower.starts_with("infinity") {
        return Some((sign * f64::INFINITY, &body[8..]));
    }
    if lower.starts_with("inf") {
        return Some((sign * f64::INFINITY, &body[3..]));
    }
    if lower.starts_with("nan") {
        return Some((f64::NAN, &body[3..]));
    }
    if lower.starts_with("0x") {
        let digits = body[2..].bytes().take_while(u8::is_ascii_hexdigit).count();
        if digits > 0 {
            let value = u128::from_str_radix(&body[2..2 + digits.min(30)], 16).ok()? as f64;
            return Some((sign * value, &body[2 + digits..]));
        }
    }
    let b = body.as_bytes();
    let mut j = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let int_digits = j;
    let mut frac_digits = 0;
    if b.get(j) == Some(&b'.') {
        frac_digits = b[j + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if int_digits + frac_digits > 0 {
            j += 1 + frac_digits;
        }
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    if matches!(b.get(j), Some(b'e' | b'E')) {
        let mut k = j + 1;
        if matches!(b.get(k), Some(b'+' | b'-')) {
            k += 1;
        }
        let exp_digits = b[k.min(b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if exp_digits > 0 {
            j = k + exp_digits;
        }
    }
    let value: f64 = body[..j].parse().ok()?;
    Some((sign * value, &body[j..]))
}

/// Parses a time option (`-w`, `-i`, `-d`) as Ncat does: a number with an optional,
/// case-insensitive unit `ms`, `s`, `m` or `h` (seconds when none), between 1 ms and 2^31-1 ms.
/// `what` names the option in messages, e.g. `-w timeout`.
pub fn time(arg: &str, what: &str) -> Result<Duration, String> {
    let invalid =
        || format!("Invalid {what} \"{arg}\" (must be greater than 0 and less than 2147483s).");
    let (value, unit) = strtod_prefix(arg).ok_or_else(invalid)?;
    let scale = match unit.to_ascii_lowercase().as_str() {
        "" => 1000.0,
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        _ => return Err(invalid()),
    };
    let ms = (value * scale).trunc();
    if ms.is_nan() || ms <= 0.0 || ms > MAX_MS {
        return Err(invalid());
    }
    if unit.is_empty() && value >= 100.0 {
        return Err(format!(
            "Since April 2010, the default unit for {what} is seconds, so your time of \"{arg}\" is {:.1} minutes. Use \"{arg}ms\" for {arg} milliseconds.",
            value / 60.0
        ));
    }
    Ok(Duration::from_millis(ms as u64))
}

/// What `-q` says: quit this long after stdin's EOF (zero: at once), or never because of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuitAfterEof {
    After(Duration),
    Never,
}

/// Parses `-q`: a time as for `-w` (Ncat's `-q timeout` messages), a negative time for
/// "never", or zero for "at once".
pub fn quit_after_eof(arg: &str) -> Result<QuitAfterEof, String> {
    const WHAT: &str = "-q timeout";
    if let Some(magnitude) = arg.trim_start().strip_prefix('-') {
        return time(magnitude, WHAT)
            .map(|_| QuitAfterEof::Never)
            .map_err(|_| time(arg, WHAT).unwrap_err());
    }
    match strtod_prefix(arg) {
        Some((value, unit)) if value == 0.0 && matches!(unit, "" | "ms" | "s" | "m" | "h") => {
            Ok(QuitAfterEof::After(Duration::ZERO))
        }
        _ => time(arg, WHAT).map(QuitAfterEof::After),
    }
}

/// Parses a decimal port number, 0 to 65535, allowing leading blanks and a `+` sign like `strtoul`.
pub fn port(arg: &str) -> Option<u16> {
    let digits = arg
        .trim_start()
        .strip_prefix('+')
        .unwrap_or(arg.trim_start());
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits
        .parse::<u32>()
        .ok()
        .and_then(|p| u16::try_from(p).ok())
}

/// Parses a port range `FIRST-LAST` (inclusive, FIRST <= LAST).
pub fn port_range(arg: &str) -> Option<std::ops::RangeInclusive<u16>> {
    let (first, last) = arg.split_once('-')?;
    let (first, last) = (port(first)?, port(last)?);
    (first <= last).then_some(first..=last)
}

/// Whether a positional argument is a port rather than a host: it consists only of decimal digits.
pub fn is_all_digits(arg: &str) -> bool {
    !arg.is_empty() && arg.bytes().all(|c| c.is_ascii_digit())
}

/// A whole decimal number with optional leading blanks and sign, and nothing after it
/// (saturating, as `atoi` does, when it is too large); `None` for anything else (empty,
/// trailing letters).
pub fn whole_number(arg: &str) -> Option<i64> {
    let trimmed = arg.trim_start();
    let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(trimmed.parse().unwrap_or(if trimmed.starts_with('-') {
        i64::MIN
    } else {
        i64::MAX
    }))
}

/// C's `atoi`: leading blanks, an optional sign, then as many digits as there are; 0 when none.
/// Saturates instead of overflowing.
pub fn atoi(arg: &str) -> i64 {
    let s = arg.trim_start();
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut value: i64 = 0;
    for c in rest.bytes().take_while(u8::is_ascii_digit) {
        value = value.saturating_mul(10).saturating_add(i64::from(c - b'0'));
    }
    if negative { -value } else { value }
}

/// An IPv4 address in every form the C library's `inet_aton` takes: one to four parts separated
/// by dots, each decimal, octal (a leading 0) or hex (0x), the last part filling the bytes the
/// others leave (`127.1` is 127.0.0.1, `2130706433` too), and anything after white space
/// ignored, as glibc ignores it.
pub fn inet_aton(text: &str) -> Option<std::net::Ipv4Addr> {
    let bytes = text.as_bytes();
    let mut parts: Vec<u64> = Vec::with_capacity(4);
    let mut i = 0;
    loop {
        let (value, next) = aton_part(bytes, i)?;
        i = next;
        match bytes.get(i) {
            Some(b'.') if parts.len() < 3 && value <= 0xff => {
                parts.push(value);
                i += 1;
            }
            Some(b'.') => return None,
            Some(c) if !c.is_ascii_whitespace() => return None,
            _ => {
                parts.push(value);
                break;
            }
        }
    }
    // The last part fills the bytes left: 32 bits alone, 24 after one part, and so on.
    let last = *parts.last()?;
    if last >> (8 * (5 - parts.len())) != 0 {
        return None;
    }
    let high = parts[..parts.len() - 1]
        .iter()
        .enumerate()
        .fold(0u32, |acc, (k, &p)| acc | (p as u32) << (24 - 8 * k));
    Some(std::net::Ipv4Addr::from(high | last as u32))
}

/// One part of an `inet_aton` address starting at `i`: its value and where it ends.
fn aton_part(bytes: &[u8], mut i: usize) -> Option<(u64, usize)> {
    if !bytes.get(i)?.is_ascii_digit() {
        return None;
    }
    let mut base = 10;
    let mut digits = 0;
    if bytes[i] == b'0' {
        i += 1;
        if matches!(bytes.get(i), Some(b'x' | b'X')) {
            base = 16;
            i += 1;
        } else {
            base = 8;
            digits = 1;
        }
    }
    let mut value: u64 = 0;
    while let Some(&c) = bytes.get(i) {
        let digit = match c {
            b'0'..=b'7' => c - b'0',
            b'8' | b'9' if base == 8 => return None,
            b'8' | b'9' => c - b'0',
            b'a'..=b'f' if base == 16 => c - b'a' + 10,
            b'A'..=b'F' if base == 16 => c - b'A' + 10,
            _ => break,
        };
        // Past 32 bits the address is refused anyway; saturate rather than wrap.
        value = value.saturating_mul(base).saturating_add(u64::from(digit));
        digits += 1;
        i += 1;
    }
    (digits > 0).then_some((value, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_aton_forms() {
        let ip = |s: &str| inet_aton(s).map(|a| a.to_string());
        assert_eq!(ip("127.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(ip("2130706433").as_deref(), Some("127.0.0.1"));
        assert_eq!(ip("0x7f.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(ip("0177.0.0.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(ip("10.1.65535").as_deref(), Some("10.1.255.255"));
        assert_eq!(ip("1.2.3.4 junk").as_deref(), Some("1.2.3.4"));
        for bad in [
            "",
            "1.",
            ".1",
            "1..2",
            "256.1",
            "1.2.3.256",
            "08",
            "0x",
            "1.2.3.4.5",
            "1a",
        ] {
            assert_eq!(ip(bad), None, "{bad}");
        }
        assert_eq!(ip("4294967295").as_deref(), Some("255.255.255.255"));
        assert_eq!(ip("4294967296"), None);
    }

    unsafe extern "C" {
        #[link_name = "inet_aton"]
        fn c_inet_aton(cp: *const libc::c_char, inp: *mut libc::in_addr) -> libc::c_int;
    }

    /// The C library's answer, to hold ours against.
    fn libc_inet_aton(text: &str) -> Option<std::net::Ipv4Addr> {
        let c = std::ffi::CString::new(text).ok()?;
        let mut addr = libc::in_addr { s_addr: 0 };
        // SAFETY: a valid C string and an in_addr to fill.
        (unsafe { c_inet_aton(c.as_ptr(), &mut addr) } != 0)
            .then(|| std::net::Ipv4Addr::from(u32::from_be(addr.s_addr)))
    }

    proptest::proptest! {
        /// Ours agrees with glibc's on strings made of what addresses are made of.
        #[test]
        fn inet_aton_agrees_with_the_c_library(text in "[0-9a-fxX. ]{0,20}") {
            proptest::prop_assert_eq!(inet_aton(&text), libc_inet_aton(&text), "{}", text);
        }
    }
    use proptest::prelude::*;

    fn ms(arg: &str) -> Result<u128, String> {
        time(arg, "-w timeout").map(|d| d.as_millis())
    }

    #[test]
    fn times_with_units_and_decimals() {
        assert_eq!(ms("5"), Ok(5000));
        assert_eq!(ms("1.5"), Ok(1500));
        assert_eq!(ms("500ms"), Ok(500));
        assert_eq!(ms("500MS"), Ok(500));
        assert_eq!(ms("2m"), Ok(120_000));
        assert_eq!(ms("1h"), Ok(3_600_000));
        assert_eq!(ms("1e1"), Ok(10_000));
        assert_eq!(ms("0x10"), Ok(16_000));
        assert_eq!(ms("  3"), Ok(3000));
        assert_eq!(ms("99.9"), Ok(99_900));
        assert_eq!(ms("100s"), Ok(100_000));
    }

    #[test]
    fn bad_times_give_ncat_messages() {
        for bad in [
            "0", "-1", "1x", "5ms5", "0.0001", "", "abc", "nan", "inf", "2147484s",
        ] {
            let err = ms(bad).unwrap_err();
            assert_eq!(
                err,
                format!(
                    "Invalid -w timeout \"{bad}\" (must be greater than 0 and less than 2147483s)."
                ),
                "{bad}"
            );
        }
        assert_eq!(
            ms("100").unwrap_err(),
            "Since April 2010, the default unit for -w timeout is seconds, so your time of \"100\" is 1.7 minutes. Use \"100ms\" for 100 milliseconds."
        );
    }

    #[test]
    fn ports() {
        assert_eq!(port("0"), Some(0));
        assert_eq!(port("65535"), Some(65535));
        assert_eq!(port(" +80"), Some(80));
        for bad in [
            "65536",
            "20-30",
            "",
            "-1",
            "x",
            "1.5",
            "99999999999999999999",
        ] {
            assert_eq!(port(bad), None, "{bad}");
        }
    }

    #[test]
    fn port_ranges() {
        assert_eq!(port_range("20-25"), Some(20..=25));
        assert_eq!(port_range("7-7"), Some(7..=7));
        assert_eq!(port_range("25-20"), None);
        assert_eq!(port_range("20-"), None);
        assert_eq!(port_range("20-70000"), None);
    }

    #[test]
    fn quit_after_eof_forms() {
        use QuitAfterEof::*;
        assert_eq!(quit_after_eof("2"), Ok(After(Duration::from_secs(2))));
        assert_eq!(
            quit_after_eof("500ms"),
            Ok(After(Duration::from_millis(500)))
        );
        assert_eq!(quit_after_eof("0"), Ok(After(Duration::ZERO)));
        assert_eq!(quit_after_eof("-1"), Ok(Never));
        assert_eq!(quit_after_eof("-0.5s"), Ok(Never));
        assert!(
            quit_after_eof("abc")
                .unwrap_err()
                .starts_with("Invalid -q timeout \"abc\"")
        );
        assert!(
            quit_after_eof("-x")
                .unwrap_err()
                .starts_with("Invalid -q timeout \"-x\"")
        );
    }

    #[test]
    fn atoi_like_c() {
        assert_eq!(atoi("3x"), 3);
        assert_eq!(atoi("abc"), 0);
        assert_eq!(atoi(" -1"), -1);
        assert_eq!(atoi("99999999999999999999999"), i64::MAX);
    }

    proptest! {
        #[test]
        fn time_never_panics(s in "\\PC*") {
            let _ = time(&s, "-i timeout");
        }

        #[test]
        fn accepted_times_are_in_range(v in 0.001f64..99.0, unit in prop::sample::select(vec!["", "s", "ms", "m"])) {
            let arg = format!("{v}{unit}");
            if let Ok(d) = time(&arg, "-w timeout") {
                prop_assert!(d.as_millis() >= 1 && d.as_millis() <= 2_147_483_647);
            }
        }

        #[test]
        fn port_round_trips(p in any::<u16>()) {
            prop_assert_eq!(port(&p.to_string()), Some(p));
        }
    }
}

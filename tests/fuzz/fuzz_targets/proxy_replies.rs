//! What proxies send back: HTTP header blocks (with Digest challenges) and SOCKS replies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ncat::proxy::{http, socks};

fuzz_target!(|data: &[u8]| {
    if let Some(head) = http::Head::parse(data) {
        let _ = head.status();
        for value in head.all("Proxy-Authenticate") {
            let _ = http::digest_credentials(value, "u", "p", "CONNECT", "h:1", "c");
            let _ = http::digest_matches(value, "u", "p", "CONNECT", "n");
        }
    }
    if let Ok(head) = <[u8; 4]>::try_from(data.get(..4).unwrap_or_default()) {
        let _ = socks::socks5_reply_rest(&head);
    }
    if let Ok(reply) = <[u8; 8]>::try_from(data.get(..8).unwrap_or_default()) {
        let _ = socks::socks4_reply(&reply);
    }
    if let Ok(two) = <[u8; 2]>::try_from(data.get(..2).unwrap_or_default()) {
        let _ = socks::socks5_method(&two, true);
        let _ = socks::socks5_auth_reply(&two);
    }
});

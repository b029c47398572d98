//! What the HTTP proxy server reads from its clients: request header blocks (folded lines,
//! credentials in any case, Connection lists) and CONNECT authorities.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ncat::mode::http_proxy as server;
use ncat::proxy::http;

fuzz_target!(|data: &[u8]| {
    let Some(head) = http::Head::parse(data) else {
        return;
    };
    let _ = server::split_authority(&head.start[1]);
    let _ = server::authorized(&head, "user:pass", &head.start[0], "nonce");
    let listed = server::connection_options(&head);
    for (name, _) in &head.fields {
        let _ = server::is_end_to_end(name, &listed);
    }
    for value in head.all("Proxy-Authenticate") {
        let _ = http::challenges(value);
    }
});

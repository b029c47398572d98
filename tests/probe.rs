//! `-z`: report whether ports are open, one port or a range.

use crate::common::*;
use std::io::Read;
use std::net::TcpListener;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = ncat()
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn open_port_exits_0_and_sends_nothing() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    assert_eq!(
        run(&["-z", "127.0.0.1", &port]),
        (0, String::new(), String::new())
    );
    let (mut conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut got = Vec::new();
    conn.read_to_end(&mut got).unwrap();
    assert!(got.is_empty());

    let (code, _, stderr) = run(&["-zv", "127.0.0.1", &port]);
    assert_eq!(code, 0);
    assert!(
        stderr.contains(&format!("Ncat: Connected to 127.0.0.1:{port}.\n")),
        "{stderr}"
    );
    assert!(
        stderr.contains("Ncat: 0 bytes sent, 0 bytes received in "),
        "{stderr}"
    );
}

#[test]
fn closed_port_exits_1() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    assert_eq!(
        run(&["-z", "127.0.0.1", &port]),
        (1, String::new(), String::new())
    );
    let (code, _, stderr) = run(&["-z", "-v", "127.0.0.1", &port]);
    assert_eq!(code, 1);
    assert!(stderr.ends_with("Ncat: Connection refused.\n"), "{stderr}");
}

#[test]
fn port_ranges() {
    // Two neighbouring ports: the first open, the second closed.
    let (open, closed) = loop {
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let p = a.local_addr().unwrap().port();
        if p < 65535 && TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            break (a, p + 1);
        }
    };
    let first = open.local_addr().unwrap().port();
    let range = format!("{first}-{closed}");
    let (code, stdout, stderr) = run(&["-zv", "127.0.0.1", &range]);
    assert_eq!(code, 0);
    assert_eq!(stdout, "");
    assert!(
        stderr.contains(&format!("Ncat: Connected to 127.0.0.1:{first}.\n")),
        "{stderr}"
    );
    assert!(stderr.contains("Ncat: Connection refused.\n"), "{stderr}");
    let only_closed = format!("{closed}-{closed}");
    assert_eq!(run(&["-z", "127.0.0.1", &only_closed]).0, 1);
}

#[test]
fn probe_errors() {
    let (code, _, stderr) = run(&["-z", "-l", "9000"]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "Ncat: Services designed for LISTENING can't be used with -z QUITTING.\n"
    );
    let (code, _, stderr) = run(&["-z", "127.0.0.1", "30-20"]);
    assert_eq!(code, 2);
    assert_eq!(stderr, "Ncat: Invalid port number \"30-20\". QUITTING.\n");
}

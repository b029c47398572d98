//! Malformed command lines: every one ends at once with status 2, one clear message on stderr
//! and nothing on stdout (a few are network-style errors with status 1, as in Ncat).

use crate::common::{Proc, connect, ncat};
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::process::Stdio;

/// Runs ncat with `args`; it must end by itself (no network is involved, so it ends at once).
fn run(args: Vec<OsString>) -> (i32, String, String) {
    let out = ncat()
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .expect("run ncat");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn words(line: &str) -> Vec<OsString> {
    line.split(' ')
        .map(|w| OsString::from(if w == "''" { "" } else { w }))
        .collect()
}

/// `(command line, expected status, text the one message must contain)`. `''` is an empty
/// argument.
const CASES: &[(&str, i32, &str)] = &[
    // Times.
    ("-w abc 127.0.0.1 1", 2, "Invalid -w timeout \"abc\""),
    ("-w -5 127.0.0.1 1", 2, "Invalid -w timeout \"-5\""),
    ("-w 0 127.0.0.1 1", 2, "Invalid -w timeout \"0\""),
    ("-w 99999999999 127.0.0.1 1", 2, "Invalid -w timeout"),
    ("-w '' 127.0.0.1 1", 2, "Invalid -w timeout \"\""),
    ("-w 5x 127.0.0.1 1", 2, "Invalid -w timeout \"5x\""),
    ("-i 1e400 -l", 2, "Invalid -i timeout"),
    ("-d nan -l", 2, "Invalid -d delay"),
    ("-q abc -u 127.0.0.1 1", 2, "Invalid -q timeout"),
    (
        "--stall-timeout 0 --broker",
        2,
        "Invalid --stall-timeout \"0\"",
    ),
    // Ports and counts.
    ("127.0.0.1 99999999999999999999", 2, "Invalid port number"),
    ("127.0.0.1 65536", 2, "Invalid port number \"65536\""),
    ("127.0.0.1 http", 2, "Invalid port number \"http\""),
    ("127.0.0.1 -1", 2, "invalid option -- '1'"),
    (
        "-p 99999999 127.0.0.1 1",
        2,
        "Invalid source port 99999999.",
    ),
    ("-p '' 127.0.0.1 1", 2, "Invalid source port number \"\""),
    // Ncat 7.94 and later: with -p, a lone positional is the host.
    (
        "-l -p 1 2",
        2,
        "bind to 0.0.0.2:1: Cannot assign requested address.",
    ),
    (
        "-l -p 1 2 3",
        2,
        "Got more than one port specification: 1 3.",
    ),
    (
        "-lk -m -7",
        2,
        "Invalid maximum number of connections \"-7\"",
    ),
    ("-z 127.0.0.1 9-1", 2, "Invalid port number \"9-1\""),
    // Addresses and access specifications.
    ("'' 80", 2, "You must specify a host to connect to."),
    (
        "-n localhost 80",
        2,
        "Could not resolve hostname \"localhost\"",
    ),
    (
        "-s 999.1.1.1 127.0.0.1 1",
        2,
        "Could not resolve source address",
    ),
    (
        "--allow 1.2.3.4/99 -l",
        2,
        "error in host specification \"1.2.3.4/99\"",
    ),
    ("--deny 1.2.3.300 -l", 2, "error in host specification"),
    ("--allow 10.0.0.0-300 -l", 2, "error in host specification"),
    ("--proxy [::1 127.0.0.1 1", 2, "Invalid proxy IPv6 address"),
    (
        "--proxy 127.0.0.1:99999 127.0.0.1 1",
        2,
        "Invalid proxy port number \"99999\"",
    ),
    (
        "-n --proxy proxy.invalid 127.0.0.1 1",
        1,
        "Could not resolve proxy",
    ),
    // Files that do not exist or are directories.
    ("-o / -l", 2, "open: Is a directory"),
    (
        "-x /nonexistent/dir/log -l",
        2,
        "open: No such file or directory",
    ),
    (
        "--allowfile /nonexistent -l",
        2,
        "can't open /nonexistent: No such file or directory",
    ),
    ("--denyfile / -l", 2, "can't open /: Is a directory"),
    (
        "--ssl-cert / --ssl-key / -l",
        2,
        "Unable to read the certificate file \"/\": Is a directory.",
    ),
    (
        "--ssl-cert /nonexistent --ssl-key /nonexistent -l",
        2,
        "Unable to read the certificate file \"/nonexistent\": No such file or directory.",
    ),
    (
        "--ssl-trustfile / 127.0.0.1 1",
        2,
        "Unable to read the trust file \"/\": Is a directory.",
    ),
    // Conflicts.
    ("-l -s 127.0.0.1", 2, "-l and -s are incompatible"),
    (
        "-z -l",
        2,
        "Services designed for LISTENING can't be used with -z",
    ),
    (
        "-e /bin/cat -c cat 127.0.0.1 1",
        2,
        "Only one of --exec, --sh-exec, and --lua-exec",
    ),
    (
        "--broker -e /bin/cat",
        2,
        "Invalid option combination: --broker and -e.",
    ),
    (
        "-u --chat",
        2,
        "UDP mode does not support connection brokering.",
    ),
    (
        "--chat 127.0.0.1 1",
        2,
        "Invalid option combination: `--chat' with connect.",
    ),
    (
        "-z -t 127.0.0.1 1",
        2,
        "Invalid option combination: -z and -t.",
    ),
    (
        "-U --ssl /tmp/x",
        2,
        "SSL option not supported when using Unix domain sockets.",
    ),
    (
        "-z -u --ssl 127.0.0.1 1",
        2,
        "-z is not supported with DTLS",
    ),
    ("--ssl-cert a.pem 127.0.0.1 1", 2, "must be used together"),
    (
        "--proxy-type socks4 127.0.0.1 1",
        2,
        "specified without proxy address",
    ),
    (
        "--proxy-dns maybe 127.0.0.1 1",
        2,
        "Invalid proxy DNS type.",
    ),
    (
        "-l --proxy 127.0.0.1:3128",
        2,
        "Invalid option combination: --proxy and -l.",
    ),
    (
        "--ssl-ciphers DEFAULT 127.0.0.1 1",
        2,
        "OpenSSL cipher strings are not supported",
    ),
    // Not options at all.
    ("--bogus", 2, "unrecognized option '--bogus'"),
    ("-Y", 2, "invalid option -- 'Y'"),
    ("-w", 2, "option requires an argument -- 'w'"),
    (
        "--completions tcsh",
        2,
        "No completions for the shell \"tcsh\"",
    ),
];

#[test]
fn every_malformed_line_fails_cleanly() {
    for (line, status, message) in CASES {
        let (code, stdout, stderr) = run(words(line));
        assert_eq!(code, *status, "`ncat {line}`: {stderr}");
        assert_eq!(stdout, "", "`ncat {line}` wrote to stdout");
        assert!(
            stderr.contains(message),
            "`ncat {line}`: expected {message:?}, got {stderr:?}"
        );
        assert!(
            stderr.lines().count() <= 2,
            "`ncat {line}`: one message, not {stderr:?}"
        );
    }
}

#[test]
fn arguments_that_are_not_utf8() {
    for args in [
        vec![OsString::from_vec(vec![0xff, 0xfe]), "80".into()],
        vec!["-l".into(), OsString::from_vec(b"9\xff".to_vec())],
        vec![
            "--proxy".into(),
            OsString::from_vec(vec![0xc3]),
            "h".into(),
            "1".into(),
        ],
    ] {
        let (code, stdout, stderr) = run(args.clone());
        assert_eq!((code, stdout.as_str()), (2, ""), "{args:?}");
        assert!(stderr.contains("arguments must be valid UTF-8"), "{stderr}");
    }
}

#[test]
fn huge_values_are_clamped_or_refused_never_wrapped() {
    // A connection limit beyond any count is "no practical limit", as atoi saturating would be.
    let (mut listener, port) = Proc::listen_with(
        &["-lk", "-m", "99999999999999999999999", "127.0.0.1", "0"],
        true,
    );
    // It serves a client, and is still there for the next.
    drop(connect(port));
    listener.wait_stderr("Connection from 127.0.0.1:");
    assert!(listener.is_running(), "it listens");
}

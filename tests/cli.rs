//! The command line as a user meets it: help, version, and every invalid combination.

use crate::common::ncat;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = ncat()
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run ncat");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_fatal(args: &[&str], message: &str) {
    let (code, stdout, stderr) = run(args);
    assert_eq!(code, 2, "{args:?}: {stderr}");
    assert_eq!(stdout, "", "{args:?}");
    assert_eq!(stderr, format!("Ncat: {message} QUITTING.\n"), "{args:?}");
}

#[test]
fn help_goes_to_stdout() {
    for flag in ["-h", "--help", "--hel"] {
        let (code, stdout, stderr) = run(&[flag]);
        assert_eq!(code, 0);
        assert!(
            stdout.contains("Usage: ncat [options] [hostname] [port]"),
            "{stdout}"
        );
        assert!(stdout.contains("--broker"));
        assert_eq!(stderr, "");
    }
    let (code, stdout, _) = run(&["--help", "--bogus"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("Usage:"));
}

#[test]
fn version_goes_to_stderr() {
    let (code, stdout, stderr) = run(&["--version"]);
    assert_eq!(code, 0);
    assert_eq!(stdout, "");
    assert!(stderr.starts_with("Ncat: Version "), "{stderr}");
}

#[test]
fn getopt_errors() {
    let hint = "Ncat: Try `--help' or man(1) ncat for more information, usage options and help. QUITTING.\n";
    for (args, first) in [
        (
            &["--nosuchopt"][..],
            "ncat: unrecognized option '--nosuchopt'\n",
        ),
        (&["-Q"][..], "ncat: invalid option -- 'Q'\n"),
        (
            &["-l", "-w"][..],
            "ncat: option requires an argument -- 'w'\n",
        ),
        (
            &["--ver"][..],
            "ncat: option '--ver' is ambiguous; possibilities: '--verbose' '--version'\n",
        ),
        (
            &["--bogus", "--help"][..],
            "ncat: unrecognized option '--bogus'\n",
        ),
    ] {
        let (code, stdout, stderr) = run(args);
        assert_eq!(code, 2, "{args:?}");
        assert_eq!(stdout, "");
        assert_eq!(stderr, format!("{first}{hint}"), "{args:?}");
    }
}

#[test]
fn invalid_combinations_exit_2() {
    assert_fatal(&[], "You must specify a host to connect to.");
    assert_fatal(
        &["127.0.0.1", "40999", "41000"],
        "Got more than one port specification: 40999 41000.",
    );
    assert_fatal(
        &["-l", "-p", "40998", "40999", "41000"],
        "Got more than one port specification: 40998 41000.",
    );
    assert_fatal(&["127.0.0.1", "20-30"], "Invalid port number \"20-30\".");
    assert_fatal(&["127.0.0.1", "70000"], "Invalid port number \"70000\".");
    assert_fatal(
        &["--chat", "127.0.0.1", "80"],
        "Invalid option combination: `--chat' with connect.",
    );
    // Connect-mode -k is TCP only since Ncat 7.96 (7.93 refused it in connect mode).
    assert_fatal(
        &["-k", "-u", "127.0.0.1", "80"],
        "Invalid option combination: `--keep-open' with non-TCP protocol.",
    );
    assert_fatal(
        &["-k", "-U", "-u", "/tmp/nothing.sock"],
        "Invalid option combination: `--keep-open' with non-TCP protocol.",
    );
    assert_fatal(
        &["-m", "5", "127.0.0.1", "80"],
        "Invalid option combination: `--max-conns' with connect.",
    );
    assert_fatal(
        &["-l", "-s", "127.0.0.1"],
        "-l and -s are incompatible.  Specify the address and port to bind to like you would a host to connect to.",
    );
    assert_fatal(
        &["-n", "localhost", "80"],
        "Could not resolve hostname \"localhost\": Name or service not known.",
    );
    assert_fatal(
        &["-4", "::1", "80"],
        "Could not resolve hostname \"::1\": Address family for hostname not supported.",
    );
    assert_fatal(
        &["-p", "abc", "127.0.0.1", "80"],
        "Invalid source port number \"abc\".",
    );
    assert_fatal(
        &["-p", "65536", "127.0.0.1", "80"],
        "Invalid source port 65536.",
    );
    assert_fatal(
        &["-w", "0", "127.0.0.1", "80"],
        "Invalid -w timeout \"0\" (must be greater than 0 and less than 2147483s).",
    );
    assert_fatal(
        &["-w", "5ms5", "127.0.0.1", "80"],
        "Invalid -w timeout \"5ms5\" (must be greater than 0 and less than 2147483s).",
    );
    assert_fatal(
        &["-w", "100", "127.0.0.1", "80"],
        "Since April 2010, the default unit for -w timeout is seconds, so your time of \"100\" is 1.7 minutes. Use \"100ms\" for 100 milliseconds.",
    );
    assert_fatal(
        &["-lk", "-m", "-5"],
        "Invalid maximum number of connections \"-5\".",
    );
}

#[test]
fn unimplemented_options_say_so() {
    assert_fatal(
        &["--sctp", "127.0.0.1", "80"],
        "--sctp is not supported yet.",
    );
    assert_fatal(&["--vsock", "-l", "5"], "--vsock is not supported yet.");
}

#[test]
fn bind_failure_is_fatal() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    // A listening socket on the same port and address: bind fails even with SO_REUSEADDR.
    let (code, stdout, stderr) = run(&["-l", "127.0.0.1", &port]);
    assert_eq!(code, 2);
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        format!("Ncat: bind to 127.0.0.1:{port}: Address already in use. QUITTING.\n")
    );
}

#[test]
fn man_page_and_completions_come_from_the_binary() {
    let (code, page, _) = run(&["--man-page"]);
    assert_eq!(code, 0);
    assert!(page.contains("\n.TH NCAT 1 "), "{page:.200}");
    assert!(page.contains("\\-\\-broker"));
    for shell in ["bash", "zsh", "fish"] {
        let (code, script, _) = run(&["--completions", shell]);
        assert_eq!(code, 0, "{shell}");
        assert!(script.contains("proxy-type"), "{shell}");
        assert!(
            !script.contains("man-page"),
            "{shell}: hidden options stay hidden"
        );
    }
    let (code, _, err) = run(&["--completions", "tcsh"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("No completions for the shell \"tcsh\""),
        "{err}"
    );
}

#[test]
fn version_names_the_tls_library() {
    let (code, stdout, stderr) = run(&["--version"]);
    assert_eq!((code, stdout.as_str()), (0, ""));
    assert!(stderr.contains("Ncat: Version "), "{stderr}");
    assert!(stderr.contains("rustls"), "{stderr}");
}

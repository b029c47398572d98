//! The command line, in Ncat's grammar: getopt-style short and long options, interleaved with
//! `[hostname] [port]`. Values stay raw strings here; `config` validates them with Ncat's messages.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{ArgAction, CommandFactory, Parser};
use std::ffi::OsString;

use crate::error::Failure;

#[derive(Parser, Debug, Default)]
#[command(
    name = "ncat",
    disable_help_flag = true,
    disable_version_flag = true,
    infer_long_args = true,
    args_override_self = true,
    dont_collapse_args_in_usage = true
)]
pub struct Cli {
    /// IPv4 only
    #[arg(short = '4', overrides_with_all = ["ipv6", "unixsock", "vsock"])]
    pub ipv4: bool,
    /// IPv6 only
    #[arg(short = '6', overrides_with_all = ["ipv4", "unixsock", "vsock"])]
    pub ipv6: bool,
    /// Unix domain sockets only
    #[arg(short = 'U', long = "unixsock", overrides_with_all = ["ipv4", "ipv6", "vsock"])]
    pub unixsock: bool,
    /// vsock sockets only
    #[arg(long, overrides_with_all = ["ipv4", "ipv6", "unixsock"])]
    pub vsock: bool,
    /// Send CRLF as the line ending
    #[arg(short = 'C', long)]
    pub crlf: bool,
    /// Run a command through /bin/sh for each connection
    #[arg(
        short = 'c',
        long = "sh-exec",
        value_name = "command",
        allow_hyphen_values = true,
        action = ArgAction::Append
    )]
    pub sh_exec: Vec<String>,
    /// Run a program (full path) for each connection
    #[arg(
        short = 'e',
        long = "exec",
        value_name = "command",
        allow_hyphen_values = true,
        action = ArgAction::Append
    )]
    pub exec: Vec<String>,
    /// Run a Lua script for each connection
    #[arg(long = "lua-exec", value_name = "filename", action = ArgAction::Append)]
    pub lua_exec: Vec<String>,
    /// Loose source route hops (at most 8)
    #[arg(short = 'g', value_name = "hops", action = ArgAction::Append)]
    pub source_route: Vec<String>,
    /// Loose source route pointer (4, 8, 12, ...)
    #[arg(short = 'G', value_name = "n", allow_hyphen_values = true)]
    pub source_route_pointer: Option<String>,
    /// At most <n> clients at once (default 100)
    #[arg(
        short = 'm',
        long = "max-conns",
        value_name = "n",
        allow_hyphen_values = true
    )]
    pub max_conns: Option<String>,
    /// Show this screen
    #[arg(short = 'h', long = "help")]
    pub help: bool,
    /// Pause after every read
    #[arg(
        short = 'd',
        long = "delay",
        value_name = "time",
        allow_hyphen_values = true
    )]
    pub delay: Option<String>,
    /// Log session data to a file
    #[arg(short = 'o', long = "output", value_name = "filename")]
    pub output: Option<String>,
    /// Log session data to a file as hex
    #[arg(short = 'x', long = "hex-dump", value_name = "filename")]
    pub hex_dump: Option<String>,
    /// Give up after this long without data
    #[arg(
        short = 'i',
        long = "idle-timeout",
        value_name = "time",
        allow_hyphen_values = true
    )]
    pub idle_timeout: Option<String>,
    /// Local port to connect from (listen: port to bind)
    #[arg(
        short = 'p',
        long = "source-port",
        value_name = "port",
        allow_hyphen_values = true
    )]
    pub source_port: Option<String>,
    /// Local address to connect from (not with -l)
    #[arg(short = 's', long = "source", value_name = "addr")]
    pub source: Option<String>,
    /// Listen for incoming connections
    #[arg(short = 'l', long = "listen")]
    pub listen: bool,
    /// Listen: accept more clients; connect: keep sending after the peer's EOF
    #[arg(short = 'k', long = "keep-open")]
    pub keep_open: bool,
    /// Numeric addresses only, no DNS lookups
    #[arg(short = 'n', long = "nodns")]
    pub nodns: bool,
    /// Answer Telnet option negotiation
    #[arg(short = 't', long = "telnet")]
    pub telnet: bool,
    /// UDP instead of TCP
    #[arg(short = 'u', long = "udp", overrides_with = "sctp")]
    pub udp: bool,
    /// SCTP instead of TCP
    #[arg(long, overrides_with = "udp")]
    pub sctp: bool,
    /// More messages (repeat for more)
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count)]
    pub verbose: u8,
    /// Connect timeout (default 10s)
    #[arg(
        short = 'w',
        long = "wait",
        value_name = "time",
        allow_hyphen_values = true
    )]
    pub wait: Option<String>,
    /// Only report whether the port is open
    #[arg(short = 'z')]
    pub zero_io: bool,
    /// Append to -o/-x files instead of truncating
    #[arg(long = "append-output")]
    pub append_output: bool,
    /// Only send; quit when input ends
    #[arg(long = "send-only")]
    pub send_only: bool,
    /// Only receive; never send
    #[arg(long = "recv-only")]
    pub recv_only: bool,
    /// Do not half-close the socket when input ends
    #[arg(long = "no-shutdown")]
    pub no_shutdown: bool,
    /// Only these hosts may connect
    #[arg(long, value_name = "hosts", action = ArgAction::Append)]
    pub allow: Vec<String>,
    /// File listing the hosts that may connect
    #[arg(long, value_name = "file", action = ArgAction::Append)]
    pub allowfile: Vec<String>,
    /// These hosts may not connect
    #[arg(long, value_name = "hosts", action = ArgAction::Append)]
    pub deny: Vec<String>,
    /// File listing the hosts that may not connect
    #[arg(long, value_name = "file", action = ArgAction::Append)]
    pub denyfile: Vec<String>,
    /// Relay each client's data to all other clients
    #[arg(long)]
    pub broker: bool,
    /// Multi-user chat server (implies --broker)
    #[arg(long, alias = "talk")]
    pub chat: bool,
    /// Drop a broker/chat client that stops reading (2s)
    #[arg(
        long = "stall-timeout",
        value_name = "time",
        allow_hyphen_values = true
    )]
    pub stall_timeout: Option<String>,
    /// Show bytes, rate and time on stderr (extension)
    #[arg(long)]
    pub progress: bool,
    /// After stdin's EOF, wait this long, then quit (negative: never)
    #[arg(short = 'q', value_name = "time", allow_hyphen_values = true)]
    pub quit_after: Option<String>,
    /// Connect through a proxy (port 3128; SOCKS 1080)
    #[arg(long, value_name = "addr[:port]", action = ArgAction::Append)]
    pub proxy: Vec<String>,
    /// Proxy protocol: http (default), socks4 or socks5
    #[arg(long = "proxy-type", value_name = "type", action = ArgAction::Append)]
    pub proxy_type: Vec<String>,
    /// Proxy credentials, user:pass (or $NCAT_PROXY_AUTH)
    #[arg(long = "proxy-auth", value_name = "auth", action = ArgAction::Append)]
    pub proxy_auth: Vec<String>,
    /// Resolve target: local, remote (default), both, none
    #[arg(long = "proxy-dns", value_name = "type")]
    pub proxy_dns: Option<String>,
    /// Use TLS (listen: a fresh self-signed certificate)
    #[arg(long)]
    pub ssl: bool,
    /// TLS certificate (chain) file, PEM
    #[arg(long = "ssl-cert", value_name = "file")]
    pub ssl_cert: Option<String>,
    /// TLS private key file, PEM
    #[arg(long = "ssl-key", value_name = "file")]
    pub ssl_key: Option<String>,
    /// Require a trusted certificate for the server's name
    #[arg(long = "ssl-verify")]
    pub ssl_verify: bool,
    /// Also trust the certificates in this PEM file
    #[arg(long = "ssl-trustfile", value_name = "file", action = ArgAction::Append)]
    pub ssl_trustfile: Vec<String>,
    /// TLS suites to allow, by rustls name (a:b:c)
    #[arg(long = "ssl-ciphers", value_name = "list")]
    pub ssl_ciphers: Option<String>,
    /// Server name to send (SNI) and check
    #[arg(long = "ssl-servername", value_name = "name")]
    pub ssl_servername: Option<String>,
    /// ALPN protocols to offer (h2,http/1.1)
    #[arg(long = "ssl-alpn", value_name = "list")]
    pub ssl_alpn: Option<String>,
    /// Show the version and exit
    #[arg(long)]
    pub version: bool,
    /// Hidden: event engine selection (accepted for compatibility, has no effect)
    #[arg(long = "nsock-engine", value_name = "engine", hide = true)]
    pub nsock_engine: Option<String>,
    /// Hidden: print `NCAT TEST: LISTEN` when listening
    #[arg(long, hide = true)]
    pub test: bool,
    /// Hidden: print the man page (roff) and exit
    #[arg(long = "man-page", hide = true)]
    pub man_page: bool,
    /// Hidden: print a completion script for bash, zsh or fish and exit
    #[arg(long, value_name = "shell", hide = true)]
    pub completions: Option<String>,
    /// `[hostname] [port]`, or a path with -U (the synopsis shows them)
    #[arg(value_name = "ARGS", allow_hyphen_values = false, hide = true)]
    pub positionals: Vec<String>,
}

/// The help screen, in Ncat's layout (one screen, the time-unit note, then every visible option
/// in declaration order), rendered from the same definitions as the man page and completions.
pub fn help() -> String {
    let mut text = format!(
        "Ncat (Rust) {}, compatible with Ncat 7.99\n\
         Usage: ncat [options] [hostname] [port]\n\n\
         Times are in seconds unless a unit follows: 'ms' milliseconds, 's' seconds,\n\
         'm' minutes, 'h' hours (for example 500ms or 1.5m).\n",
        env!("CARGO_PKG_VERSION")
    );
    for arg in Cli::command().get_arguments() {
        if arg.is_hide_set() || arg.is_positional() {
            continue;
        }
        let left = option_label(arg);
        let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
        if left.len() < 27 {
            text.push_str(&format!("  {left:<27}{help}\n"));
        } else {
            text.push_str(&format!("  {left} {help}\n"));
        }
    }
    text.push_str(
        "\nSee ncat --man-page, docs/GUIDE.md and README.md for details and the differences from Ncat.\n",
    );
    text
}

/// `-c, --sh-exec <command>`, `      --vsock`, `-g <hops>`: an option as the help lists it.
fn option_label(arg: &clap::Arg) -> String {
    let mut label = match (arg.get_short(), arg.get_long()) {
        (Some(short), Some(long)) => format!("-{short}, --{long}"),
        (Some(short), None) => format!("-{short}"),
        (None, Some(long)) => format!("    --{long}"),
        (None, None) => String::new(),
    };
    if arg.get_action().takes_values()
        && let Some(names) = arg.get_value_names()
    {
        for name in names {
            label.push_str(&format!(" <{name}>"));
        }
    }
    label
}

/// The `--version` line (printed on stderr, like Ncat).
pub fn version_line() -> String {
    format!(
        "Ncat: Version {} ( Rust reimplementation compatible with Ncat 7.99 )",
        env!("CARGO_PKG_VERSION")
    )
}

/// The TLS library this build uses, for `--version`.
pub const TLS_LIBRARY: &str = "rustls 0.23 (ring provider)";

/// What the user asked for: run the program, or one of the informational actions.
pub enum Request {
    Run(Box<Cli>),
    Help,
    Version,
    /// `--man-page`: the manual, generated from these definitions.
    ManPage,
    /// `--completions SHELL`.
    Completions(String),
}

/// Parses the arguments. `-h`/`--help` and `--version` win when they come before any error.
pub fn parse(args: Vec<OsString>) -> Result<Request, Failure> {
    match Cli::try_parse_from(&args) {
        Ok(cli) if cli.help => Ok(Request::Help),
        Ok(cli) if cli.version => Ok(Request::Version),
        Ok(cli) if cli.man_page => Ok(Request::ManPage),
        Ok(Cli {
            completions: Some(shell),
            ..
        }) => Ok(Request::Completions(shell)),
        Ok(cli) => Ok(Request::Run(Box::new(cli))),
        Err(err) => {
            if let Some(early) = informational_before_error(&args) {
                return Ok(early);
            }
            Err(usage_error(&err, &args))
        }
    }
}

/// Ncat acts on `--help`/`--version` the moment it parses them: if one comes before the
/// first argument that fails, it wins. We approximate "fails" by parsing ever-longer prefixes.
fn informational_before_error(args: &[OsString]) -> Option<Request> {
    for end in 2..=args.len() {
        match Cli::try_parse_from(&args[..end]) {
            Ok(cli) if cli.help => return Some(Request::Help),
            Ok(cli) if cli.version => return Some(Request::Version),
            Ok(_) => {}
            // A value-taking option at the end of a prefix is not an error of the full line.
            Err(e) if e.kind() == ErrorKind::InvalidValue => {}
            Err(_) => return None,
        }
    }
    None
}

/// Maps clap's errors to getopt's wording.
fn usage_error(err: &clap::Error, args: &[OsString]) -> Failure {
    let invalid_arg = match err.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => String::new(),
    };
    // clap names options as `--wait <time>` or `-w <time>`: keep the option itself.
    let option = invalid_arg
        .split([' ', '='])
        .next()
        .unwrap_or_default()
        .to_string();
    let msg = match err.kind() {
        ErrorKind::UnknownArgument => unknown_option(&option),
        ErrorKind::InvalidValue | ErrorKind::NoEquals => {
            // A value can only be missing at the end of the line: name the option as typed there.
            let typed = args
                .last()
                .map(|a| a.to_string_lossy().into_owned())
                .unwrap_or_default();
            match typed.strip_prefix('-') {
                Some(bundle) if !bundle.starts_with('-') => format!(
                    "option requires an argument -- '{}'",
                    bundle.chars().last().unwrap_or('?')
                ),
                _ => format!("option '{option}' requires an argument"),
            }
        }
        ErrorKind::InvalidUtf8 => "arguments must be valid UTF-8".to_string(),
        ErrorKind::ArgumentConflict => format!("option '{option}' conflicts with another option"),
        _ => err
            .to_string()
            .lines()
            .next()
            .unwrap_or("invalid arguments")
            .trim_start_matches("error: ")
            .to_string(),
    };
    Failure::Usage(msg)
}

fn unknown_option(option: &str) -> String {
    if let Some(long) = option.strip_prefix("--") {
        let name = long.split('=').next().unwrap_or(long);
        let cmd = Cli::command();
        let candidates: Vec<String> = cmd
            .get_arguments()
            .filter(|a| !a.is_hide_set())
            .flat_map(|a| {
                let mut names: Vec<&str> = a.get_long().into_iter().collect();
                names.extend(a.get_all_aliases().unwrap_or_default());
                names
            })
            .filter(|l| l.starts_with(name))
            .map(|l| format!("'--{l}'"))
            .collect();
        if candidates.len() > 1 {
            return format!(
                "option '--{name}' is ambiguous; possibilities: {}",
                candidates.join(" ")
            );
        }
        format!("unrecognized option '--{name}'")
    } else {
        let short = option.trim_start_matches('-').chars().next().unwrap_or('?');
        format!("invalid option -- '{short}'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(line: &str) -> Cli {
        let args: Vec<OsString> = line.split_whitespace().map(OsString::from).collect();
        match parse(args) {
            Ok(Request::Run(cli)) => *cli,
            Ok(_) => panic!("informational request for {line}"),
            Err(e) => panic!("{line}: {e}"),
        }
    }

    fn parse_err(line: &str) -> String {
        let args: Vec<OsString> = line.split_whitespace().map(OsString::from).collect();
        match parse(args) {
            Err(e) => e.to_string().lines().next().unwrap().to_string(),
            Ok(_) => panic!("{line} parsed"),
        }
    }

    #[test]
    fn getopt_grammar() {
        let cli = parse_ok("ncat -lvnp 4000");
        assert!(cli.listen && cli.nodns && cli.verbose == 1);
        assert_eq!(cli.source_port.as_deref(), Some("4000"));
        let cli = parse_ok("ncat -w5 -m3 host 80");
        assert_eq!(cli.wait.as_deref(), Some("5"));
        assert_eq!(cli.max_conns.as_deref(), Some("3"));
        assert_eq!(cli.positionals, ["host", "80"]);
        let cli = parse_ok("ncat 127.0.0.1 4000 -l --chat");
        assert!(cli.listen && cli.chat);
        assert_eq!(cli.positionals, ["127.0.0.1", "4000"]);
        let cli = parse_ok("ncat --bro --wait=3 -vvv");
        assert!(cli.broker);
        assert_eq!(cli.verbose, 3);
        assert_eq!(cli.wait.as_deref(), Some("3"));
        let cli = parse_ok("ncat --talk -l -- -5");
        assert!(cli.chat);
        assert_eq!(cli.positionals, ["-5"]);
        let cli = parse_ok("ncat -4 -6 x");
        assert!(cli.ipv6 && !cli.ipv4);
        let cli = parse_ok("ncat -m -1 -l");
        assert_eq!(cli.max_conns.as_deref(), Some("-1"));
    }

    #[test]
    fn getopt_errors() {
        assert_eq!(
            parse_err("ncat --nosuchopt"),
            "ncat: unrecognized option '--nosuchopt'"
        );
        assert_eq!(parse_err("ncat -Q"), "ncat: invalid option -- 'Q'");
        assert_eq!(
            parse_err("ncat -w"),
            "ncat: option requires an argument -- 'w'"
        );
        assert_eq!(
            parse_err("ncat --ver"),
            "ncat: option '--ver' is ambiguous; possibilities: '--verbose' '--version'"
        );
    }

    #[test]
    fn help_and_version_act_when_parsed() {
        let run = |line: &str| parse(line.split_whitespace().map(OsString::from).collect());
        assert!(matches!(run("ncat --help --bogus"), Ok(Request::Help)));
        assert!(matches!(run("ncat -h"), Ok(Request::Help)));
        assert!(matches!(run("ncat --version"), Ok(Request::Version)));
        assert!(run("ncat --bogus --help").is_err());
    }

    #[test]
    fn the_tls_library_named_is_the_one_built_in() {
        let manifest = include_str!("../Cargo.toml");
        let rustls = manifest
            .lines()
            .find(|l| l.starts_with("rustls = "))
            .expect("rustls dependency");
        let version = TLS_LIBRARY.split(' ').nth(1).unwrap();
        assert!(rustls.contains(&format!("\"{version}.")), "{rustls}");
    }
}

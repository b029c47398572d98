//! The command line checked without I/O, in Ncat's order and with Ncat's messages.
//!
//! Ncat does I/O while it checks: it opens the `-o`/`-x` files, prints the `-v` banner,
//! resolves the proxy, `-s` and the target, and reads the access files, and a failure there
//! comes before any check further down its list. So the check records each such piece of I/O as
//! a [`Step`] where Ncat does it and goes on; [`super::prepare`] runs the steps in order and
//! reports the first failing one before the check's own failure, if there is one.

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{
    Config, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_CONNS, DEFAULT_PORT, DEFAULT_STALL_TIMEOUT,
    ListenKind, Mode, Transport,
};
use crate::cli::Cli;
use crate::error::Failure;
use crate::io::exec::ExecCommand;
use crate::net::access::{AccessList, Lookup, Source};
use crate::net::resolve::Family;
use crate::net::stream::Endpoint;
use crate::net::tls::{self, TlsOptions};
use crate::parse;
use crate::proxy::{self, ProxyDns, ProxyKind, ProxyOptions};

/// One piece of I/O the options ask for, at the point where Ncat does it.
#[derive(Debug)]
pub enum Step {
    /// `--lua-exec`: the script must load.
    LoadScript(String),
    /// `-o` / `-x`, created (or appended to with `--append-output`).
    OpenLogs {
        output: Option<String>,
        hex_dump: Option<String>,
        append: bool,
    },
    /// A line for stderr at this point: the `-v` banner, a warning.
    Notice(String),
    /// A name to resolve, and which one it is (each fails in its own words).
    Resolve {
        name: Name,
        host: String,
        lookup: Lookup,
    },
    /// `--allow`/`--deny` and their files: files read, names resolved.
    ReadAccess(Source),
}

/// Which name a [`Step::Resolve`] resolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Name {
    /// The first proxy (a network error, status 1, as in Ncat).
    Proxy,
    /// `-s`: only its first address is used.
    Source,
    /// The host to connect to, probe or listen on (a listener uses the first address).
    Target,
}

/// The checked options with the I/O still to do.
pub struct Plan {
    pub steps: Vec<Step>,
    /// The check's verdict, which counts only if every step succeeds.
    pub outcome: Result<Checked, Failure>,
}

/// Options that passed the check. What the steps find is still missing: `config` holds
/// placeholders for the mode's addresses (and a listener's own endpoint when a host was
/// given), `-s`, the logs, the access lists, a `--lua-exec` command and the TLS options.
#[derive(Debug)]
pub struct Checked {
    pub(super) config: Config,
    /// The listener's host as typed: a generated certificate is made out to it.
    pub(super) listen_host: Option<String>,
    /// The port (the first of a `-z` range).
    pub(super) port: u16,
    /// `--ssl*`, without the names a generated certificate is made out to.
    pub(super) tls: Option<TlsOptions>,
}

/// Checks the command line; never does I/O.
pub fn check(cli: &Cli) -> Plan {
    let mut steps = Vec::new();
    let outcome = check_in_order(cli, &mut steps);
    Plan { steps, outcome }
}

/// The values Ncat checks while it reads the options.
struct Values {
    connect_timeout: Duration,
    stall_timeout: Duration,
    delay: Option<Duration>,
    idle_timeout: Option<Duration>,
    quit_after: Option<parse::QuitAfterEof>,
    max_conns: usize,
}

/// The positional `[hostname] [port]`, checked.
struct IpTarget {
    /// The host as typed, if one was given.
    host: Option<String>,
    /// The port, or with `-z` a range of them.
    ports: RangeInclusive<u16>,
}

fn check_in_order(cli: &Cli, steps: &mut Vec<Step>) -> Result<Checked, Failure> {
    let early = early_checks(cli, steps)?;
    let family = if cli.ipv4 {
        Family::V4
    } else if cli.ipv6 {
        Family::V6
    } else {
        Family::Any
    };
    let lookup = Lookup {
        family,
        numeric_only: cli.nodns,
    };
    let listen = cli.listen || cli.broker;
    steps.push(Step::OpenLogs {
        output: cli.output.clone(),
        hex_dump: cli.hex_dump.clone(),
        append: cli.append_output,
    });
    if cli.verbose > 0 {
        steps.push(Step::Notice(crate::cli::version_line()));
    }
    zero_io_checks(cli, listen, early.has_exec)?;
    let proxy = proxy_options(cli, listen, lookup, steps)?;
    if proxy.is_client() && cli.zero_io && cli.udp {
        return Err(fatal("-z is not supported with --proxy and -u."));
    }
    source_address(cli, listen, lookup, steps)?;
    let has_allow = access_lists(cli, lookup, steps);
    udp_checks(cli, listen)?;
    for (given, name) in [
        (cli.chat_utf8, "--chat-utf8"),
        (cli.chat_console, "--chat-console"),
    ] {
        if given && !cli.chat {
            return Err(fatal(format!("{name} works only with --chat.")));
        }
    }
    let unix_path = unix_socket_path(cli, listen)?;
    let target = match unix_path {
        Some(_) => IpTarget {
            host: None,
            ports: DEFAULT_PORT..=DEFAULT_PORT,
        },
        None => {
            let default_port = proxy.server().map_or(DEFAULT_PORT, ProxyKind::default_port);
            let resolve = (!proxy.is_client()).then_some(lookup);
            ip_target(cli, listen, resolve, default_port, steps)?
        }
    };
    let (mode, tls) = if listen {
        let kind = listen_kind(cli, proxy.server(), early.has_exec)?;
        if kind == ListenKind::Single && cli.max_conns.is_some() {
            steps.push(Step::Notice(
                "Ncat: Warning: Maximum connections ignored, since it does not take effect without -k or --broker."
                    .into(),
            ));
        }
        let mode = listen_mode(cli, kind, unix_path, &target, family);
        (mode, tls_options(cli, true)?)
    } else {
        connect_checks(cli, has_allow)?;
        let tls = tls_options(cli, false)?;
        (connect_mode(cli, unix_path, &target)?, tls)
    };
    Ok(Checked {
        config: assemble(cli, early, mode, proxy.into_client(), family),
        listen_host: target.host.filter(|_| listen),
        port: *target.ports.start(),
        tls,
    })
}

/// What Ncat checks while it reads the options, before it does any I/O.
struct Early {
    values: Values,
    /// `-e` or `-c` (a `--lua-exec` command is made by its step).
    exec: Option<ExecCommand>,
    /// Whether any of `-e`, `-c` and `--lua-exec` was given.
    has_exec: bool,
    source_port: Option<u16>,
}

fn early_checks(cli: &Cli, steps: &mut Vec<Step>) -> Result<Early, Failure> {
    for (values, name) in [
        (&cli.proxy, "--proxy"),
        (&cli.proxy_type, "--proxy-type"),
        (&cli.proxy_auth, "--proxy-auth"),
    ] {
        if values.len() > 1 {
            return Err(fatal(format!("You can't specify more than one {name}.")));
        }
    }
    let values = values(cli)?;
    let exec = exec_command(cli, steps)?;
    let has_exec = exec.is_some() || !cli.lua_exec.is_empty();
    if let Some(name) = unsupported(cli) {
        return Err(fatal(format!("{name} is not supported yet.")));
    }
    Ok(Early {
        values,
        exec,
        has_exec,
        source_port: source_port(cli)?,
    })
}

/// The access lists are read by a step; returns whether any `--allow` was given.
fn access_lists(cli: &Cli, lookup: Lookup, steps: &mut Vec<Step>) -> bool {
    let access = Source {
        allow: cli.allow.clone(),
        allow_files: cli.allowfile.clone(),
        deny: cli.deny.clone(),
        deny_files: cli.denyfile.clone(),
        lookup: Some(lookup),
    };
    let has_allow = !access.allow.is_empty() || !access.allow_files.is_empty();
    steps.push(Step::ReadAccess(access));
    has_allow
}

fn transport(cli: &Cli) -> Transport {
    if cli.udp {
        Transport::Datagram
    } else {
        Transport::Stream
    }
}

/// The configuration with placeholders for what the steps find (see [`Checked`]).
fn assemble(
    cli: &Cli,
    early: Early,
    mode: Mode,
    proxy: Option<ProxyOptions>,
    family: Family,
) -> Config {
    let listen = matches!(mode, Mode::Listen { .. });
    let values = early.values;
    Config {
        mode,
        source_addr: None,
        unix_source: cli
            .source
            .as_ref()
            .filter(|_| cli.unixsock)
            .map(PathBuf::from),
        source_port: early.source_port.filter(|_| !listen),
        connect_timeout: values.connect_timeout,
        max_conns: values.max_conns,
        send_only: cli.send_only,
        recv_only: cli.recv_only,
        no_shutdown: cli.no_shutdown,
        stall_timeout: values.stall_timeout,
        crlf: cli.crlf,
        quit_after: values.quit_after,
        keep_open_connect: cli.keep_open && !listen,
        telnet: cli.telnet,
        chat_utf8: cli.chat_utf8,
        chat_console: cli.chat_console,
        delay: values.delay,
        idle_timeout: values.idle_timeout,
        log: Default::default(),
        access: Arc::new(AccessList::default()),
        exec: early.exec,
        test_banner: cli.test,
        tls: None,
        proxy_auth: proxy_auth(cli),
        proxy,
        family,
        progress: cli.progress,
    }
}

fn fatal(message: impl Into<String>) -> Failure {
    Failure::Fatal(message.into())
}

fn values(cli: &Cli) -> Result<Values, Failure> {
    // Checked even where the option is then ignored (single-client listen mode): a value that
    // is not a whole number is an error, never silently read as a smaller one (Ncat's atoi).
    let max_conns = match cli.max_conns.as_deref() {
        None => DEFAULT_MAX_CONNS,
        Some(arg) => match parse::whole_number(arg) {
            Some(-1) => DEFAULT_MAX_CONNS,
            Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
            _ => {
                return Err(fatal(format!(
                    "Invalid maximum number of connections \"{arg}\"."
                )));
            }
        },
    };
    Ok(Values {
        connect_timeout: time_option(&cli.wait, "-w timeout")?.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
        stall_timeout: time_option(&cli.stall_timeout, "--stall-timeout")?
            .unwrap_or(DEFAULT_STALL_TIMEOUT),
        delay: time_option(&cli.delay, "-d delay")?,
        idle_timeout: time_option(&cli.idle_timeout, "-i timeout")?,
        quit_after: cli
            .quit_after
            .as_deref()
            .map(parse::quit_after_eof)
            .transpose()
            .map_err(Failure::Fatal)?,
        max_conns,
    })
}

fn time_option(arg: &Option<String>, what: &str) -> Result<Option<Duration>, Failure> {
    arg.as_deref()
        .map(|a| parse::time(a, what))
        .transpose()
        .map_err(Failure::Fatal)
}

/// `-e` or `-c` (each given once at most, and only one of them: Ncat counts repeats too).
/// A `--lua-exec` script is loaded by a step; its command comes from there.
fn exec_command(cli: &Cli, steps: &mut Vec<Step>) -> Result<Option<ExecCommand>, Failure> {
    if cli.exec.len() + cli.sh_exec.len() + cli.lua_exec.len() > 1 {
        return Err(fatal(
            "Only one of --exec, --sh-exec, and --lua-exec is allowed.",
        ));
    }
    if cli.pty && cli.exec.is_empty() && cli.sh_exec.is_empty() {
        return Err(fatal("--pty works only with -e or -c."));
    }
    let command = match (cli.exec.first(), cli.sh_exec.first(), cli.lua_exec.first()) {
        (Some(line), _, _) => ExecCommand::direct(line),
        (_, Some(line), _) => ExecCommand::shell(line),
        (_, _, Some(script)) => {
            steps.push(Step::LoadScript(script.clone()));
            return Ok(None);
        }
        _ => return Ok(None),
    };
    Ok(Some(ExecCommand {
        pty: cli.pty,
        ..command
    }))
}

/// Options accepted on the command line whose feature this build does not have yet.
fn unsupported(cli: &Cli) -> Option<&'static str> {
    let checks: &[(bool, &'static str)] = &[
        (cli.vsock, "--vsock"),
        (!cli.source_route.is_empty(), "-g"),
        (cli.source_route_pointer.is_some(), "-G"),
        (cli.sctp, "--sctp"),
    ];
    checks.iter().find(|(set, _)| *set).map(|(_, name)| *name)
}

fn source_port(cli: &Cli) -> Result<Option<u16>, Failure> {
    let Some(arg) = cli.source_port.as_deref() else {
        return Ok(None);
    };
    let digits = arg.trim_start();
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(fatal(format!("Invalid source port number \"{arg}\".")));
    }
    parse::port(arg)
        .map(Some)
        .ok_or_else(|| fatal(format!("Invalid source port {}.", parse::atoi(arg))))
}

fn zero_io_checks(cli: &Cli, listen: bool, has_exec: bool) -> Result<(), Failure> {
    if !cli.zero_io {
        return Ok(());
    }
    if listen {
        return Err(fatal(
            "Services designed for LISTENING can't be used with -z",
        ));
    }
    if cli.telnet {
        return Err(fatal("Invalid option combination: -z and -t."));
    }
    if has_exec {
        return Err(fatal(
            "Command execution can't be done along with option -z.",
        ));
    }
    Ok(())
}

/// The credentials for either proxy side: `--proxy-auth`, else `NCAT_PROXY_AUTH` (which keeps
/// them out of `ps`).
fn proxy_auth(cli: &Cli) -> Option<String> {
    cli.proxy_auth
        .first()
        .cloned()
        .or_else(|| std::env::var("NCAT_PROXY_AUTH").ok())
}

/// What the `--proxy*` options make of this run.
enum ProxyRole {
    None,
    /// `--proxy`: a client reaching its target through proxies.
    Client(ProxyOptions),
    /// `-l --proxy-type`: a proxy server.
    Server(ProxyKind),
}

impl ProxyRole {
    fn is_client(&self) -> bool {
        matches!(self, ProxyRole::Client(_))
    }

    fn server(&self) -> Option<ProxyKind> {
        match self {
            ProxyRole::Server(kind) => Some(*kind),
            _ => None,
        }
    }

    fn into_client(self) -> Option<ProxyOptions> {
        match self {
            ProxyRole::Client(options) => Some(options),
            _ => None,
        }
    }
}

/// The `--proxy*` options in Ncat's order: the type, the proxy's address (resolved by a step),
/// then the combination with `-l`. A client's first proxy's addresses are still to fill in.
fn proxy_options(
    cli: &Cli,
    listen: bool,
    lookup: Lookup,
    steps: &mut Vec<Step>,
) -> Result<ProxyRole, Failure> {
    let dns = cli
        .proxy_dns
        .as_deref()
        .map(ProxyDns::parse)
        .transpose()?
        .unwrap_or_default();
    let Some(address) = cli.proxy.first() else {
        return match cli.proxy_type.first() {
            None => Ok(ProxyRole::None),
            Some(_) if !listen => Err(fatal(
                "Proxy type (--proxy-type) specified without proxy address (--proxy).",
            )),
            // The SOCKS server is an extension: Ncat's speaks only HTTP.
            Some(t) => match ProxyKind::parse(t) {
                Ok(kind) => Ok(ProxyRole::Server(kind)),
                Err(_) => Err(fatal(format!(
                    "Invalid proxy type \"{t}\"; the proxy server speaks \"http\", \"socks4\" and \"socks5\"."
                ))),
            },
        };
    };
    let kind = ProxyKind::parse(cli.proxy_type.first().map_or("http", String::as_str))?;
    let mut hops = proxy::parse_chain(address, kind)?;
    // One proxy takes --proxy-auth (or NCAT_PROXY_AUTH) unless its URL has credentials; in
    // a chain each hop's credentials go in its URL, so none reach the wrong proxy.
    match hops.as_mut_slice() {
        [only] => only.auth = only.auth.take().or_else(|| proxy_auth(cli)),
        _ if !cli.proxy_auth.is_empty() => {
            return Err(fatal(
                "--proxy-auth cannot be used with a proxy chain: give each hop its credentials in its URL (http://user:password@host:port).",
            ));
        }
        _ => {}
    }
    steps.push(Step::Resolve {
        name: Name::Proxy,
        host: hops[0].host.clone(),
        lookup,
    });
    if listen {
        return Err(fatal("Invalid option combination: --proxy and -l."));
    }
    let options = ProxyOptions {
        hops,
        first_addrs: Vec::new(),
        dns,
    };
    Ok(ProxyRole::Client(options))
}

/// `-s`: refused with `-l`; with `-U` it is a path (see `unix_source`), else a name resolved
/// by a step.
fn source_address(
    cli: &Cli,
    listen: bool,
    lookup: Lookup,
    steps: &mut Vec<Step>,
) -> Result<(), Failure> {
    match cli.source.as_deref() {
        None => Ok(()),
        Some(_) if listen => Err(fatal(
            "-l and -s are incompatible.  Specify the address and port to bind to like you would a host to connect to.",
        )),
        Some(_) if cli.unixsock => Ok(()),
        Some(source) => {
            steps.push(Step::Resolve {
                name: Name::Source,
                host: source.to_string(),
                lookup,
            });
            Ok(())
        }
    }
}

/// Whether any `--ssl*` option asks for TLS (each of them turns it on, as in Ncat).
fn wants_tls(cli: &Cli) -> bool {
    cli.ssl
        || cli.ssl_verify
        || !cli.ssl_trustfile.is_empty()
        || cli.ssl_cert.is_some()
        || cli.ssl_key.is_some()
        || cli.ssl_ciphers.is_some()
        || cli.ssl_servername.is_some()
        || cli.ssl_alpn.is_some()
        || !cli.ssl_pin.is_empty()
        || cli.ssl_client_ca.is_some()
}

/// The `--ssl*` options, checked.
fn tls_options(cli: &Cli, listen: bool) -> Result<Option<TlsOptions>, Failure> {
    if !wants_tls(cli) {
        return Ok(None);
    }
    if cli.ssl_cert.is_some() != cli.ssl_key.is_some() {
        return Err(fatal(
            "The --ssl-key and --ssl-cert options must be used together.",
        ));
    }
    if cli.ssl_trustfile.len() > 1 {
        return Err(fatal("The --ssl-trustfile option may be given only once."));
    }
    if listen && cli.ssl_alpn.is_some() {
        return Err(fatal("ALPN is not supported in listen mode\n"));
    }
    if listen && !cli.ssl_pin.is_empty() {
        return Err(fatal("--ssl-pin applies to connect mode only."));
    }
    if !listen && cli.ssl_client_ca.is_some() {
        return Err(fatal("--ssl-client-ca applies to listen mode only."));
    }
    let pins = cli
        .ssl_pin
        .iter()
        .map(|pin| tls::parse_pin(pin).map_err(Failure::Fatal))
        .collect::<Result<Vec<_>, _>>()?;
    // DTLS runs on OpenSSL, which takes OpenSSL's cipher strings as Ncat does.
    let (suites, cipher_list) = match cli.ssl_ciphers.as_deref() {
        Some(list) if cli.udp => (None, Some(list.to_string())),
        Some(list) => (Some(tls::parse_suites(list).map_err(Failure::Fatal)?), None),
        None => (None, None),
    };
    let alpn = cli
        .ssl_alpn
        .as_deref()
        .map(|list| {
            list.split(',')
                .filter(|p| !p.is_empty())
                .map(|p| p.as_bytes().to_vec())
                .collect()
        })
        .unwrap_or_default();
    Ok(Some(TlsOptions {
        cert: cli.ssl_cert.as_ref().map(PathBuf::from),
        key: cli.ssl_key.as_ref().map(PathBuf::from),
        verify: cli.ssl_verify || !cli.ssl_trustfile.is_empty(),
        trustfile: cli.ssl_trustfile.first().map(PathBuf::from),
        suites,
        cipher_list,
        pins,
        client_ca: cli.ssl_client_ca.as_ref().map(PathBuf::from),
        servername: cli.ssl_servername.clone(),
        alpn,
        names: Vec::new(),
    }))
}

/// What UDP mode cannot do (yet, or as in Ncat).
fn udp_checks(cli: &Cli, listen: bool) -> Result<(), Failure> {
    if !cli.udp {
        return Ok(());
    }
    if wants_tls(cli) && cli.zero_io {
        return Err(fatal("-z is not supported with DTLS (-u --ssl)."));
    }
    // Brokering runs on the hub, which DTLS sessions join as TCP clients do; plain UDP peers
    // have no sessions to join with.
    if (cli.broker || cli.chat) && !wants_tls(cli) {
        return Err(fatal("UDP mode does not support connection brokering."));
    }
    if !cli.proxy.is_empty() || !cli.proxy_type.is_empty() {
        return Err(fatal("Proxies are not supported with -u (UDP)."));
    }
    if listen && cli.unixsock && cli.keep_open {
        // As for UDP in Ncat 7.93; several peers cannot share one connected Unix socket.
        return Err(fatal(
            "-k is not supported with Unix datagram sockets (-U -u).",
        ));
    }
    Ok(())
}

/// `-U`: the positional argument is a path (a trailing port is ignored, as in Ncat).
fn unix_socket_path(cli: &Cli, listen: bool) -> Result<Option<PathBuf>, Failure> {
    if !cli.unixsock {
        return Ok(None);
    }
    if !cli.proxy.is_empty() {
        return Err(fatal(
            "Proxy option not supported when using Unix domain sockets.",
        ));
    }
    if wants_tls(cli) {
        return Err(fatal(
            "SSL option not supported when using Unix domain sockets.",
        ));
    }
    if cli.source_port.is_some() {
        return Err(fatal(
            "Specifying source port when using Unix domain sockets doesn't make sense.",
        ));
    }
    match cli.positionals.first() {
        Some(path) => Ok(Some(PathBuf::from(path))),
        None => Err(fatal(format!(
            "You have to specify path to a socket to {}.",
            if listen { "listen on" } else { "connect to" }
        ))),
    }
}

/// The positional `[hostname] [port]`: the host (resolved by a step, unless `resolve` is
/// `None` because a proxy handles the target's name) and the port (or, with `-z`, range).
fn ip_target(
    cli: &Cli,
    listen: bool,
    resolve: Option<Lookup>,
    default_port: u16,
    steps: &mut Vec<Step>,
) -> Result<IpTarget, Failure> {
    // Positional arguments: `[hostname] [port]` (Ncat 7.94 and later). In connect mode the
    // first is always the host (a decimal integer is an IPv4 address: `2130706433`). In listen
    // mode a lone argument of at most five digits is the port, unless `-p` gave the port.
    let mut positionals = cli.positionals.iter();
    let first_is_host = match (listen, cli.positionals.as_slice()) {
        (_, []) => false,
        (true, [only]) => {
            cli.source_port.is_some() || !(parse::is_all_digits(only) && only.len() <= 5)
        }
        _ => true,
    };
    let host = if first_is_host {
        positionals.next().cloned()
    } else {
        None
    };
    let mut ports: Vec<&str> = Vec::new();
    if listen && let Some(p) = cli.source_port.as_deref() {
        ports.push(p);
    }
    ports.extend(positionals.map(String::as_str));

    match (host.as_deref(), resolve) {
        // An empty name (`ncat "" 9000`) names no host, as in Ncat.
        (None | Some(""), _) if !listen => {
            return Err(fatal("You must specify a host to connect to."));
        }
        (Some(h), Some(lookup)) => steps.push(Step::Resolve {
            name: Name::Target,
            host: h.to_string(),
            lookup,
        }),
        _ => {}
    }
    if ports.len() > 1 {
        return Err(fatal(format!(
            "Got more than one port specification: {}.",
            ports.join(" ")
        )));
    }
    let ports = match ports.first() {
        None => default_port..=default_port,
        Some(p) => {
            let single = parse::port(p).map(|n| n..=n);
            // A range of ports is an extension, for -z only.
            let range = || cli.zero_io.then(|| parse::port_range(p)).flatten();
            single
                .or_else(range)
                .ok_or_else(|| fatal(format!("Invalid port number \"{p}\".")))?
        }
    };
    Ok(IpTarget { host, ports })
}

/// What a listener does with its clients, and what cannot go with that.
fn listen_kind(
    cli: &Cli,
    proxy_server: Option<ProxyKind>,
    has_exec: bool,
) -> Result<ListenKind, Failure> {
    let kind = if let Some(proxy_kind) = proxy_server {
        ListenKind::ProxyServer(proxy_kind)
    } else if cli.chat {
        ListenKind::Chat
    } else if cli.broker {
        ListenKind::Broker
    } else if cli.keep_open {
        ListenKind::KeepOpen
    } else {
        ListenKind::Single
    };
    if has_exec && matches!(kind, ListenKind::Broker | ListenKind::Chat) {
        return Err(fatal("Invalid option combination: --broker and -e."));
    }
    if matches!(kind, ListenKind::ProxyServer(_)) {
        let combination = |what: &str| {
            Err(fatal(format!(
                "Invalid option combination: {what} has no effect with --proxy-type."
            )))
        };
        if cli.telnet {
            return combination("--telnet");
        }
        if has_exec {
            return combination("--exec");
        }
        if cli.broker || cli.chat {
            return combination("--broker");
        }
    }
    Ok(kind)
}

/// A listener on a Unix socket, on the host's first address (once resolved), or on every
/// address of the family.
fn listen_mode(
    cli: &Cli,
    kind: ListenKind,
    unix_path: Option<PathBuf>,
    target: &IpTarget,
    family: Family,
) -> Mode {
    let port = *target.ports.start();
    let endpoints = match (unix_path, &target.host) {
        (Some(path), _) => vec![Endpoint::Unix(path)],
        (None, Some(_)) => Vec::new(),
        (None, None) => family
            .wildcards()
            .into_iter()
            .map(|ip| Endpoint::Ip(SocketAddr::new(ip, port)))
            .collect(),
    };
    Mode::Listen {
        kind,
        endpoints,
        transport: transport(cli),
    }
}

/// What connect mode refuses.
fn connect_checks(cli: &Cli, has_allow: bool) -> Result<(), Failure> {
    let combination = |what: &str| {
        Err(fatal(format!(
            "Invalid option combination: `{what}' with connect."
        )))
    };
    if has_allow {
        return Err(fatal(
            "Invalid option combination: allow/deny with connect.",
        ));
    }
    if cli.max_conns.is_some() {
        return combination("--max-conns");
    }
    if cli.chat {
        return combination("--chat");
    }
    // Connect-mode -k (Ncat 7.96): TCP only, Unix stream sockets included.
    if cli.keep_open && cli.udp {
        return Err(fatal(
            "Invalid option combination: `--keep-open' with non-TCP protocol.",
        ));
    }
    Ok(())
}

/// Connect mode or `-z`, over IP or a Unix socket (addresses still to fill in).
fn connect_mode(cli: &Cli, unix_path: Option<PathBuf>, target: &IpTarget) -> Result<Mode, Failure> {
    let transport = transport(cli);
    let host = target.host.clone().unwrap_or_default();
    Ok(match unix_path {
        Some(_) if cli.zero_io && cli.udp => {
            return Err(fatal("-z is not supported yet with -U -u."));
        }
        Some(path) if cli.zero_io => Mode::ProbeUnix { path },
        Some(path) => Mode::ConnectUnix { path, transport },
        None if cli.zero_io => Mode::Probe {
            host,
            addrs: Vec::new(),
            ports: target.ports.clone(),
            transport,
        },
        None => Mode::Connect {
            host,
            addrs: Vec::new(),
            port: *target.ports.start(),
            transport,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Request, parse};

    fn plan(line: &str) -> Plan {
        let args = line.split_whitespace().map(Into::into).collect();
        match parse(args) {
            Ok(Request::Run(cli)) => check(&cli),
            _ => panic!("not a run request: {line}"),
        }
    }

    fn resolves(plan: &Plan) -> Vec<(Name, &str)> {
        plan.steps
            .iter()
            .filter_map(|step| match step {
                Step::Resolve { name, host, .. } => Some((*name, host.as_str())),
                _ => None,
            })
            .collect()
    }

    /// The I/O is planned, not done: names that cannot resolve and files that cannot be opened
    /// pass the check, in Ncat's order.
    #[test]
    fn io_is_planned_in_ncats_order() {
        let p = plan("ncat -v -o /nonexistent/x -s src.invalid --denyfile /no dst.invalid 80");
        assert!(p.outcome.is_ok());
        let kinds: Vec<&str> = p
            .steps
            .iter()
            .map(|step| match step {
                Step::LoadScript(_) => "script",
                Step::OpenLogs { .. } => "logs",
                Step::Notice(_) => "notice",
                Step::Resolve { .. } => "resolve",
                Step::ReadAccess(_) => "access",
            })
            .collect();
        assert_eq!(kinds, ["logs", "notice", "resolve", "access", "resolve"]);
        assert_eq!(
            resolves(&p),
            [(Name::Source, "src.invalid"), (Name::Target, "dst.invalid")]
        );
    }

    /// A failure found after a step stands behind it: `-l --proxy` is refused only after the
    /// proxy's name is resolved (Ncat reports an unresolvable proxy first, with status 1).
    #[test]
    fn a_check_failure_keeps_the_steps_before_it() {
        let p = plan("ncat -l --proxy proxy.invalid:3128");
        assert_eq!(resolves(&p), [(Name::Proxy, "proxy.invalid")]);
        assert_eq!(
            p.outcome.unwrap_err().to_string(),
            "Ncat: Invalid option combination: --proxy and -l. QUITTING."
        );
        // Refused before anything is opened.
        let p = plan("ncat -o /tmp/x --sctp 127.0.0.1 80");
        assert!(p.steps.is_empty());
        assert!(p.outcome.is_err());
    }

    /// With a proxy the target's name is the proxy's to resolve.
    #[test]
    fn a_proxied_target_is_not_resolved_here() {
        let p = plan("ncat --proxy 127.0.0.1:3128 target.invalid 80");
        assert_eq!(resolves(&p), [(Name::Proxy, "127.0.0.1")]);
        assert!(p.outcome.is_ok());
    }

    #[test]
    fn warnings_are_notices() {
        let p = plan("ncat -l -m 2 0");
        assert!(
            matches!(p.steps.last(), Some(Step::Notice(line)) if line.contains("Maximum connections ignored"))
        );
    }
}

//! The validated configuration: the command line checked in Ncat's order, with Ncat's messages.
//! Nothing past this module looks at raw option strings.

use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::cli::Cli;
use crate::error::{Failure, strerror};
use crate::io::exec::ExecCommand;
use crate::io::pump::Transforms;
use crate::io::session_log::SessionLog;
use crate::net::access::{AccessList, Lookup, Source};
use crate::net::resolve::{self, Family};
use crate::net::stream::Endpoint;
use crate::net::tls::{self, TlsOptions};
use crate::parse::{self, QuitAfterEof};
use crate::proxy::{self, ProxyDns, ProxyKind, ProxyOptions};

/// Ncat's default port in both modes.
pub const DEFAULT_PORT: u16 = 31337;
/// Ncat's default `--max-conns`.
pub const DEFAULT_MAX_CONNS: usize = 100;
/// Default connect timeout per address.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time a broker/chat client may sit on a full queue without reading.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(2);

/// What a listener does with its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenKind {
    /// `-l`: one client, then exit.
    Single,
    /// `-l -k`: many clients; stdin to all of them, their data to stdout.
    KeepOpen,
    /// `--broker`: each client's data to every other client.
    Broker,
    /// `--chat`: the broker plus IDs, line framing, escaping and announcements.
    Chat,
    /// `--proxy-type http`, `socks4` or `socks5`: a proxy server; stdin and stdout are unused.
    ProxyServer(ProxyKind),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Connect {
        /// The target as typed, for messages.
        host: String,
        /// Every resolved address, tried in order.
        addrs: Vec<IpAddr>,
        port: u16,
    },
    /// `-U`: connect to a Unix stream socket.
    ConnectUnix { path: PathBuf },
    Listen {
        kind: ListenKind,
        /// What to bind (one socket each).
        endpoints: Vec<Endpoint>,
    },
    /// `-z`: only report whether the ports are open.
    Probe {
        /// The target as typed, for the TLS server name.
        host: String,
        addrs: Vec<IpAddr>,
        ports: RangeInclusive<u16>,
    },
    /// `-z -U`: only report whether the Unix socket accepts connections.
    ProbeUnix { path: PathBuf },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    /// `-s`, resolved (connect mode only).
    pub source_addr: Option<IpAddr>,
    /// `-s` with `-U -u`: the client's own datagram socket path.
    pub unix_source: Option<PathBuf>,
    /// `-p` in connect mode.
    pub source_port: Option<u16>,
    pub connect_timeout: Duration,
    /// `0` rejects every client, as in Ncat.
    pub max_conns: usize,
    pub send_only: bool,
    pub recv_only: bool,
    pub no_shutdown: bool,
    pub stall_timeout: Duration,
    /// `-C`: LF to CRLF on the way to the network.
    pub crlf: bool,
    /// `-u`: UDP instead of TCP.
    pub udp: bool,
    /// `-q`: what stdin's EOF does to the session (see [`QuitAfterEof`]); `None` for the mode's
    /// own rule.
    pub quit_after: Option<QuitAfterEof>,
    /// `-k` in connect mode (TCP only): the peer's EOF closes stdout, and stdin goes on being
    /// sent until it ends (Ncat 7.96 and later).
    pub keep_open_connect: bool,
    /// `-t`: answer Telnet negotiation (connect, `-l` and exec sessions).
    pub telnet: bool,
    /// `--chat-utf8` (an extension): chat lets printable UTF-8 through unescaped.
    pub chat_utf8: bool,
    /// `--chat-console` (an extension): the listener's stdout shows the chat.
    pub chat_console: bool,
    /// `-d`: pause after every read.
    pub delay: Option<Duration>,
    /// `-i`: give up after this long without a read.
    pub idle_timeout: Option<Duration>,
    /// `-o` / `-x`, opened at start-up.
    pub log: Arc<SessionLog>,
    /// `--allow`/`--deny` and their files.
    pub access: Arc<AccessList>,
    /// `-e` / `-c`: the program each connection is relayed to.
    pub exec: Option<ExecCommand>,
    /// `--test`: print `NCAT TEST: LISTEN` once listening.
    pub test_banner: bool,
    /// `--ssl` and its options.
    pub tls: Option<Arc<TlsOptions>>,
    /// `--proxy` and its options (connect mode).
    pub proxy: Option<ProxyOptions>,
    /// `--proxy-auth` (or `NCAT_PROXY_AUTH`): what a proxy server requires of its clients
    /// (the client's credentials are in its hops).
    pub proxy_auth: Option<String>,
    /// `-4` / `-6`, for names resolved after start-up.
    pub family: Family,
    /// `--progress`: report transfer counts on stderr (connect mode and `-l`).
    pub progress: bool,
}

impl Config {
    /// The byte-level options, as the pump takes them.
    pub fn transforms(&self) -> Transforms {
        Transforms {
            crlf: self.crlf,
            delay: self.delay,
            idle: self.idle_timeout,
            telnet: self.telnet,
        }
    }

    /// Whether stdin's EOF ends the session at once: `--send-only` (unless `-q` says never), or
    /// `-q 0`. Any other session goes on until the peer closes, or until the `-q` timer.
    pub fn ends_at_stdin_eof(&self) -> bool {
        match self.quit_after {
            None => self.send_only,
            Some(QuitAfterEof::Never) => false,
            Some(QuitAfterEof::After(delay)) => delay.is_zero(),
        }
    }

    /// `-q TIME` with TIME above zero: how long a session lasts after stdin's EOF. It then
    /// ends as an idle timeout does (Ncat reuses that timer: its message and status).
    pub fn quit_timer(&self) -> Option<Duration> {
        match self.quit_after {
            Some(QuitAfterEof::After(delay)) if !delay.is_zero() => Some(delay),
            _ => None,
        }
    }
}

#[cfg(test)]
impl Config {
    pub fn listen_kind(&self) -> Option<ListenKind> {
        match self.mode {
            Mode::Listen { kind, .. } => Some(kind),
            _ => None,
        }
    }
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

fn time_option(arg: &Option<String>, what: &str) -> Result<Option<Duration>, Failure> {
    arg.as_deref()
        .map(|a| parse::time(a, what))
        .transpose()
        .map_err(Failure::Fatal)
}

/// Builds the allow and deny sets. A bad entry prints its explanation, then fails.
fn access_list(cli: &Cli, lookup: Lookup) -> Result<AccessList, Failure> {
    let source = Source {
        allow: cli.allow.clone(),
        allow_files: cli.allowfile.clone(),
        deny: cli.deny.clone(),
        deny_files: cli.denyfile.clone(),
        lookup: Some(lookup),
    };
    AccessList::new(source).map_err(|e| {
        if let Some(detail) = e.detail {
            crate::say!("Ncat: {detail}");
        }
        Failure::Fatal(e.fatal)
    })
}

/// The credentials for either proxy side: `--proxy-auth`, else `NCAT_PROXY_AUTH` (which keeps
/// them out of `ps`).
fn proxy_auth(cli: &Cli) -> Option<String> {
    cli.proxy_auth
        .first()
        .cloned()
        .or_else(|| std::env::var("NCAT_PROXY_AUTH").ok())
}

/// The `--proxy*` options in Ncat's order: the type, the proxy's address (resolved now; failing
/// is a network error, status 1), then the combination with `-l`. Returns the client settings,
/// and the kind of proxy server this is, if it is one.
fn proxy_options(
    cli: &Cli,
    listen: bool,
    family: Family,
) -> Result<(Option<ProxyOptions>, Option<ProxyKind>), Failure> {
    let dns = cli
        .proxy_dns
        .as_deref()
        .map(ProxyDns::parse)
        .transpose()?
        .unwrap_or_default();
    let Some(address) = cli.proxy.first() else {
        return match cli.proxy_type.first() {
            None => Ok((None, None)),
            Some(_) if !listen => Err(Failure::Fatal(
                "Proxy type (--proxy-type) specified without proxy address (--proxy).".into(),
            )),
            // The SOCKS server is an extension: Ncat's speaks only HTTP.
            Some(t) => match ProxyKind::parse(t) {
                Ok(kind) => Ok((None, Some(kind))),
                Err(_) => Err(Failure::Fatal(format!(
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
            return Err(Failure::Fatal(
                "--proxy-auth cannot be used with a proxy chain: give each hop its credentials in its URL (http://user:password@host:port)."
                    .into(),
            ));
        }
        _ => {}
    }
    let first = &hops[0];
    let first_addrs = resolve::resolve(&first.host, family, cli.nodns).map_err(|e| {
        let hint = if family == Family::V6 {
            "\nNcat: Did you specify the port number? It's required for IPv6."
        } else {
            ""
        };
        Failure::Network(format!(
            "Could not resolve proxy \"{}\": {e}.{hint}",
            first.host
        ))
    })?;
    if listen {
        return Err(Failure::Fatal(
            "Invalid option combination: --proxy and -l.".into(),
        ));
    }
    Ok((
        Some(ProxyOptions {
            hops,
            first_addrs,
            dns,
        }),
        None,
    ))
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

/// The `--ssl*` options, checked. `names` are what a generated certificate is made out to.
fn tls_options(cli: &Cli, listen: bool, names: Vec<String>) -> Result<Option<TlsOptions>, Failure> {
    if !wants_tls(cli) {
        return Ok(None);
    }
    let fatal = |msg: &str| Err(Failure::Fatal(msg.into()));
    if cli.ssl_cert.is_some() != cli.ssl_key.is_some() {
        return fatal("The --ssl-key and --ssl-cert options must be used together.");
    }
    if cli.ssl_trustfile.len() > 1 {
        return fatal("The --ssl-trustfile option may be given only once.");
    }
    if listen && cli.ssl_alpn.is_some() {
        return fatal("ALPN is not supported in listen mode\n");
    }
    if listen && !cli.ssl_pin.is_empty() {
        return fatal("--ssl-pin applies to connect mode only.");
    }
    if !listen && cli.ssl_client_ca.is_some() {
        return fatal("--ssl-client-ca applies to listen mode only.");
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
        names,
    }))
}

/// The names a generated certificate is valid for: the address as typed (Ncat's common name),
/// or `localhost` and the loopback addresses when listening on every address.
fn certificate_names(host: Option<&str>, endpoints: &[Endpoint]) -> Vec<String> {
    let mut names: Vec<String> = match host {
        Some(h) => vec![h.to_string()],
        None => vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
    };
    for endpoint in endpoints {
        if let Some(ip) = endpoint.ip().filter(|ip| !ip.is_unspecified()) {
            let ip = ip.to_string();
            if !names.contains(&ip) {
                names.push(ip);
            }
        }
    }
    names
}

/// What UDP mode cannot do (yet, or as in Ncat).
fn udp_checks(cli: &Cli, listen: bool) -> Result<(), Failure> {
    let fatal = |msg: &str| Err(Failure::Fatal(msg.into()));
    if !cli.udp {
        return Ok(());
    }
    if wants_tls(cli) && cli.zero_io {
        return fatal("-z is not supported with DTLS (-u --ssl).");
    }
    // Brokering runs on the hub, which DTLS sessions join as TCP clients do; plain UDP peers
    // have no sessions to join with.
    if (cli.broker || cli.chat) && !wants_tls(cli) {
        return fatal("UDP mode does not support connection brokering.");
    }
    if !cli.proxy.is_empty() || !cli.proxy_type.is_empty() {
        return fatal("Proxies are not supported with -u (UDP).");
    }
    if listen && cli.unixsock && cli.keep_open {
        // As for UDP in Ncat 7.93; several peers cannot share one connected Unix socket.
        return fatal("-k is not supported with Unix datagram sockets (-U -u).");
    }
    if cli.telnet {
        return fatal("-t is not supported yet with -u.");
    }
    Ok(())
}

/// `-U`: the positional argument is a path (a trailing port is ignored, as in Ncat).
fn unix_socket_path(cli: &Cli, listen: bool) -> Result<Option<PathBuf>, Failure> {
    if !cli.unixsock {
        return Ok(None);
    }
    if !cli.proxy.is_empty() {
        return Err(Failure::Fatal(
            "Proxy option not supported when using Unix domain sockets.".into(),
        ));
    }
    if wants_tls(cli) {
        return Err(Failure::Fatal(
            "SSL option not supported when using Unix domain sockets.".into(),
        ));
    }
    if cli.source_port.is_some() {
        return Err(Failure::Fatal(
            "Specifying source port when using Unix domain sockets doesn't make sense.".into(),
        ));
    }
    match cli.positionals.first() {
        Some(path) => Ok(Some(PathBuf::from(path))),
        None => Err(Failure::Fatal(format!(
            "You have to specify path to a socket to {}.",
            if listen { "listen on" } else { "connect to" }
        ))),
    }
}

type IpTarget = (Option<String>, Option<Vec<IpAddr>>, RangeInclusive<u16>);

/// The positional `[hostname] [port]`: the host resolved, and the port (or, with `-z`, range).
/// `resolve_host` is false when a proxy handles the target's name; `default_port` is used when
/// no port is given.
fn ip_target(
    cli: &Cli,
    listen: bool,
    family: Family,
    resolve_host: bool,
    default_port: u16,
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

    let resolved = match host.as_deref() {
        // An empty name (`ncat "" 9000`) names no host, as in Ncat.
        None | Some("") if !listen => {
            return Err(Failure::Fatal(
                "You must specify a host to connect to.".into(),
            ));
        }
        None => None,
        Some(_) if !resolve_host => Some(Vec::new()),
        Some(h) => Some(
            resolve::resolve(h, family, cli.nodns)
                .map_err(|e| Failure::Fatal(format!("Could not resolve hostname \"{h}\": {e}.")))?,
        ),
    };
    if ports.len() > 1 {
        return Err(Failure::Fatal(format!(
            "Got more than one port specification: {}.",
            ports.join(" ")
        )));
    }
    let port_range = match ports.first() {
        None => default_port..=default_port,
        Some(p) => {
            let single = parse::port(p).map(|n| n..=n);
            // A range of ports is an extension, for -z only.
            let range = || cli.zero_io.then(|| parse::port_range(p)).flatten();
            single
                .or_else(range)
                .ok_or_else(|| Failure::Fatal(format!("Invalid port number \"{p}\".")))?
        }
    };
    Ok((host, resolved, port_range))
}

/// Validates the command line. Prints the `-v` version banner at the point Ncat does.
pub fn build(cli: &Cli) -> Result<Config, Failure> {
    for (values, name) in [
        (&cli.proxy, "--proxy"),
        (&cli.proxy_type, "--proxy-type"),
        (&cli.proxy_auth, "--proxy-auth"),
    ] {
        if values.len() > 1 {
            return Err(Failure::Fatal(format!(
                "You can't specify more than one {name}."
            )));
        }
    }
    // Values Ncat checks while reading the options.
    let connect_timeout = time_option(&cli.wait, "-w timeout")?.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
    let stall_timeout =
        time_option(&cli.stall_timeout, "--stall-timeout")?.unwrap_or(DEFAULT_STALL_TIMEOUT);
    let delay = time_option(&cli.delay, "-d delay")?;
    let idle_timeout = time_option(&cli.idle_timeout, "-i timeout")?;
    let quit_after = cli
        .quit_after
        .as_deref()
        .map(parse::quit_after_eof)
        .transpose()
        .map_err(Failure::Fatal)?;
    // Checked even where the option is then ignored (single-client listen mode): a value that
    // is not a whole number is an error, never silently read as a smaller one (Ncat's atoi).
    let max_conns = match cli.max_conns.as_deref() {
        None => DEFAULT_MAX_CONNS,
        Some(arg) => match parse::whole_number(arg) {
            Some(-1) => DEFAULT_MAX_CONNS,
            Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
            _ => {
                return Err(Failure::Fatal(format!(
                    "Invalid maximum number of connections \"{arg}\"."
                )));
            }
        },
    };
    // Each given once at most, and only one of them (Ncat counts repeats too).
    if cli.exec.len() + cli.sh_exec.len() + cli.lua_exec.len() > 1 {
        return Err(Failure::Fatal(
            "Only one of --exec, --sh-exec, and --lua-exec is allowed.".into(),
        ));
    }
    if cli.pty && cli.exec.is_empty() && cli.sh_exec.is_empty() {
        return Err(Failure::Fatal("--pty works only with -e or -c.".into()));
    }
    let exec = match (cli.exec.first(), cli.sh_exec.first(), cli.lua_exec.first()) {
        (Some(line), _, _) => Some(ExecCommand {
            pty: cli.pty,
            ..ExecCommand::direct(line)
        }),
        (_, Some(line), _) => Some(ExecCommand {
            pty: cli.pty,
            ..ExecCommand::shell(line)
        }),
        (_, _, Some(script)) => {
            crate::io::lua::check(script)?;
            Some(ExecCommand::lua(script).map_err(|e| {
                Failure::Fatal(format!(
                    "Cannot find this program to run the Lua script: {}.",
                    strerror(&e)
                ))
            })?)
        }
        _ => None,
    };
    if let Some(name) = unsupported(cli) {
        return Err(Failure::Fatal(format!("{name} is not supported yet.")));
    }

    let family = if cli.ipv4 {
        Family::V4
    } else if cli.ipv6 {
        Family::V6
    } else {
        Family::Any
    };
    let listen = cli.listen || cli.broker;

    let source_port = match cli.source_port.as_deref() {
        None => None,
        Some(arg) => {
            let digits = arg.trim_start();
            if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return Err(Failure::Fatal(format!(
                    "Invalid source port number \"{arg}\"."
                )));
            }
            Some(parse::port(arg).ok_or_else(|| {
                Failure::Fatal(format!("Invalid source port {}.", parse::atoi(arg)))
            })?)
        }
    };

    let log = SessionLog::open(
        cli.output.as_deref(),
        cli.hex_dump.as_deref(),
        cli.append_output,
    )
    .map_err(|e| Failure::Plain(format!("open: {}", strerror(&e))))?;

    if cli.verbose > 0 {
        crate::say!("{}", crate::cli::version_line());
    }

    if cli.zero_io && listen {
        return Err(Failure::Fatal(
            "Services designed for LISTENING can't be used with -z".into(),
        ));
    }
    if cli.zero_io && cli.telnet {
        return Err(Failure::Fatal(
            "Invalid option combination: -z and -t.".into(),
        ));
    }
    if cli.zero_io && exec.is_some() {
        return Err(Failure::Fatal(
            "Command execution can't be done along with option -z.".into(),
        ));
    }

    let (proxy, proxy_server) = proxy_options(cli, listen, family)?;
    if proxy.is_some() && cli.zero_io && cli.udp {
        return Err(Failure::Fatal(
            "-z is not supported with --proxy and -u.".into(),
        ));
    }

    let source_addr = match cli.source.as_deref() {
        None => None,
        Some(_) if listen => {
            return Err(Failure::Fatal(
                "-l and -s are incompatible.  Specify the address and port to bind to like you would a host to connect to.".into(),
            ));
        }
        // With -U, -s is the path of the client's datagram socket (see `unix_source`).
        Some(_) if cli.unixsock => None,
        Some(src) => Some(
            resolve::resolve(src, family, cli.nodns)
                .map_err(|e| {
                    Failure::Fatal(format!("Could not resolve source address \"{src}\": {e}."))
                })?
                .remove(0),
        ),
    };

    let access = access_list(
        cli,
        Lookup {
            family,
            numeric_only: cli.nodns,
        },
    )?;

    udp_checks(cli, listen)?;
    for (given, name) in [
        (cli.chat_utf8, "--chat-utf8"),
        (cli.chat_console, "--chat-console"),
    ] {
        if given && !cli.chat {
            return Err(Failure::Fatal(format!("{name} works only with --chat.")));
        }
    }
    let unix_path = unix_socket_path(cli, listen)?;
    let (host, resolved, port_range) = match unix_path {
        Some(_) => (None, None, DEFAULT_PORT..=DEFAULT_PORT),
        None => {
            let default_port = proxy_server.map_or(DEFAULT_PORT, ProxyKind::default_port);
            ip_target(cli, listen, family, proxy.is_none(), default_port)?
        }
    };
    let port = *port_range.start();

    let tls;
    let mode = if listen {
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
        if exec.is_some() && matches!(kind, ListenKind::Broker | ListenKind::Chat) {
            return Err(Failure::Fatal(
                "Invalid option combination: --broker and -e.".into(),
            ));
        }
        if matches!(kind, ListenKind::ProxyServer(_)) {
            let combination = |what: &str| {
                Err(Failure::Fatal(format!(
                    "Invalid option combination: {what} has no effect with --proxy-type."
                )))
            };
            if cli.telnet {
                return combination("--telnet");
            }
            if exec.is_some() {
                return combination("--exec");
            }
            if cli.broker || cli.chat {
                return combination("--broker");
            }
        }
        if kind == ListenKind::Single && cli.max_conns.is_some() {
            crate::say!(
                "Ncat: Warning: Maximum connections ignored, since it does not take effect without -k or --broker."
            );
        }
        let endpoints = match (unix_path, resolved) {
            (Some(path), _) => vec![Endpoint::Unix(path)],
            (None, Some(mut list)) => vec![Endpoint::Ip(SocketAddr::new(list.remove(0), port))],
            (None, None) => family
                .wildcards()
                .into_iter()
                .map(|ip| Endpoint::Ip(SocketAddr::new(ip, port)))
                .collect(),
        };
        tls = tls_options(cli, true, certificate_names(host.as_deref(), &endpoints))?;
        Mode::Listen { kind, endpoints }
    } else {
        let combination = |what: &str| {
            Failure::Fatal(format!(
                "Invalid option combination: `{what}' with connect."
            ))
        };
        if access.has_allow() {
            return Err(Failure::Fatal(
                "Invalid option combination: allow/deny with connect.".into(),
            ));
        }
        if cli.max_conns.is_some() {
            return Err(combination("--max-conns"));
        }
        if cli.chat {
            return Err(combination("--chat"));
        }
        // Connect-mode -k (Ncat 7.96): TCP only, Unix stream sockets included.
        if cli.keep_open && cli.udp {
            return Err(Failure::Fatal(
                "Invalid option combination: `--keep-open' with non-TCP protocol.".into(),
            ));
        }
        tls = tls_options(cli, false, Vec::new())?;
        let addrs = resolved.unwrap_or_default();
        if let Some(path) = unix_path {
            if cli.zero_io && cli.udp {
                return Err(Failure::Fatal("-z is not supported yet with -U -u.".into()));
            }
            if cli.zero_io {
                Mode::ProbeUnix { path }
            } else {
                Mode::ConnectUnix { path }
            }
        } else if cli.zero_io {
            Mode::Probe {
                host: host.clone().unwrap_or_default(),
                addrs,
                ports: port_range,
            }
        } else {
            Mode::Connect {
                host: host.unwrap_or_default(),
                addrs,
                port,
            }
        }
    };

    Ok(Config {
        mode,
        source_addr,
        unix_source: cli
            .source
            .as_ref()
            .filter(|_| cli.unixsock)
            .map(PathBuf::from),
        source_port: if listen { None } else { source_port },
        connect_timeout,
        max_conns,
        send_only: cli.send_only,
        recv_only: cli.recv_only,
        no_shutdown: cli.no_shutdown,
        stall_timeout,
        crlf: cli.crlf,
        udp: cli.udp,
        quit_after,
        keep_open_connect: cli.keep_open && !listen,
        telnet: cli.telnet,
        chat_utf8: cli.chat_utf8,
        chat_console: cli.chat_console,
        delay,
        idle_timeout,
        log: Arc::new(log),
        access: Arc::new(access),
        exec,
        test_banner: cli.test,
        tls: tls.map(Arc::new),
        proxy_auth: proxy_auth(cli),
        proxy,
        family,
        progress: cli.progress,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Request, parse};

    fn build_line(line: &str) -> Result<Config, String> {
        let args = line.split_whitespace().map(Into::into).collect();
        match parse(args) {
            Ok(Request::Run(cli)) => build(&cli).map_err(|e| e.to_string()),
            _ => panic!("not a run request: {line}"),
        }
    }

    fn err(line: &str) -> String {
        build_line(line).unwrap_err()
    }

    /// Ncat 7.94 and later: the connect-mode host may be a decimal integer, and a lone
    /// listen-mode argument is the port only when it has at most five digits (and `-p` did not
    /// give the port).
    #[test]
    fn positional_rules_of_current_ncat() {
        let cfg = build_line("ncat 2130706433 80").unwrap();
        assert!(matches!(&cfg.mode, Mode::Connect { addrs, port: 80, .. }
            if addrs == &["127.0.0.1".parse::<IpAddr>().unwrap()]));
        let cfg = build_line("ncat -l 2130706433").unwrap();
        assert_eq!(
            cfg.mode,
            Mode::Listen {
                kind: ListenKind::Single,
                endpoints: vec![Endpoint::Ip("127.0.0.1:31337".parse().unwrap())]
            }
        );
        let cfg = build_line("ncat -l 12345").unwrap();
        assert!(matches!(&cfg.mode, Mode::Listen { endpoints, .. }
            if endpoints.iter().all(|e| e.port() == "12345")));
        let cfg = build_line("ncat -l -p 9000 2130706433").unwrap();
        assert_eq!(
            cfg.mode,
            Mode::Listen {
                kind: ListenKind::Single,
                endpoints: vec![Endpoint::Ip("127.0.0.1:9000".parse().unwrap())]
            }
        );
    }

    #[test]
    fn positional_rules() {
        let cfg = build_line("ncat -l 8080").unwrap();
        assert_eq!(
            cfg.mode,
            Mode::Listen {
                kind: ListenKind::Single,
                endpoints: vec![
                    Endpoint::Ip("[::]:8080".parse().unwrap()),
                    Endpoint::Ip("0.0.0.0:8080".parse().unwrap())
                ]
            }
        );
        let cfg = build_line("ncat -l 127.0.0.1").unwrap();
        assert_eq!(
            cfg.mode,
            Mode::Listen {
                kind: ListenKind::Single,
                endpoints: vec![Endpoint::Ip("127.0.0.1:31337".parse().unwrap())]
            }
        );
        let cfg = build_line("ncat -4 --broker 9000").unwrap();
        assert_eq!(cfg.listen_kind(), Some(ListenKind::Broker));
        let cfg = build_line("ncat 127.0.0.1").unwrap();
        assert!(matches!(cfg.mode, Mode::Connect { port: 31337, .. }));
        let cfg = build_line("ncat -lk -p 0 -6").unwrap();
        assert_eq!(
            cfg.mode,
            Mode::Listen {
                kind: ListenKind::KeepOpen,
                endpoints: vec![Endpoint::Ip("[::]:0".parse().unwrap())]
            }
        );
    }

    #[test]
    fn ncat_messages_for_bad_lines() {
        let fatal = |m: &str| format!("Ncat: {m} QUITTING.");
        assert_eq!(
            err("ncat -l -p 40998 40999 41000"),
            fatal("Got more than one port specification: 40998 41000.")
        );
        assert_eq!(
            err("ncat -l 40290 127.0.0.1"),
            fatal("Invalid port number \"127.0.0.1\".")
        );
        assert_eq!(
            err("ncat 127.0.0.1 20-30"),
            fatal("Invalid port number \"20-30\".")
        );
        assert_eq!(
            err("ncat 127.0.0.1 65536"),
            fatal("Invalid port number \"65536\".")
        );
        assert_eq!(
            err("ncat --chat 127.0.0.1 80"),
            fatal("Invalid option combination: `--chat' with connect.")
        );
        // Ncat 7.96 and later keep connect-mode -k for TCP and refuse it for anything else.
        assert!(build_line("ncat -k 127.0.0.1 80").is_ok());
        assert_eq!(
            err("ncat -k -u 127.0.0.1 80"),
            fatal("Invalid option combination: `--keep-open' with non-TCP protocol.")
        );
        assert_eq!(
            err("ncat -m 3 127.0.0.1 80"),
            fatal("Invalid option combination: `--max-conns' with connect.")
        );
        assert_eq!(
            err("ncat -l -s 127.0.0.1"),
            fatal(
                "-l and -s are incompatible.  Specify the address and port to bind to like you would a host to connect to."
            )
        );
        assert_eq!(
            err("ncat -n localhost 80"),
            fatal("Could not resolve hostname \"localhost\": Name or service not known.")
        );
        assert_eq!(
            err("ncat -p x 127.0.0.1 80"),
            fatal("Invalid source port number \"x\".")
        );
        assert_eq!(
            err("ncat -p 70000 127.0.0.1 80"),
            fatal("Invalid source port 70000.")
        );
        assert_eq!(
            err("ncat -w 0 127.0.0.1 80"),
            fatal("Invalid -w timeout \"0\" (must be greater than 0 and less than 2147483s).")
        );
        assert_eq!(
            err("ncat --sctp 127.0.0.1 80"),
            fatal("--sctp is not supported yet.")
        );
    }

    #[test]
    fn max_conns_like_atoi() {
        assert!(build_line("ncat -lk -m 3x").is_err());
        assert!(build_line("ncat -lk -m abc").is_err());
        assert!(build_line("ncat -l -m abc").is_err());
        assert!(build_line("ncat -lk -m -2").is_err());
        assert_eq!(build_line("ncat -lk -m -1").unwrap().max_conns, 100);
        assert!(build_line("ncat -lk -m -5").is_err());
    }
}

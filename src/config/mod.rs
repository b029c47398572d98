//! The validated configuration: the command line checked in Ncat's order, with Ncat's messages
//! ([`check`], no I/O), then the names resolved and the files opened ([`prepare`]). Nothing past
//! this module looks at raw option strings.

pub mod check;
pub mod prepare;

use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::cli::Cli;
use crate::error::Failure;
use crate::io::exec::ExecCommand;
use crate::io::pump::Transforms;
use crate::io::session_log::SessionLog;
use crate::net::access::AccessList;
use crate::net::resolve::Family;
use crate::net::stream::Endpoint;
use crate::net::tls::TlsOptions;
use crate::parse::QuitAfterEof;
use crate::proxy::{ProxyKind, ProxyOptions};

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

/// What carries the bytes (`-u` picks datagrams).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TCP (TLS with `--ssl`), or a Unix stream socket.
    Stream,
    /// UDP (DTLS with `--ssl`), or a Unix datagram socket.
    Datagram,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Connect {
        /// The target as typed, for messages.
        host: String,
        /// Every resolved address, tried in order.
        addrs: Vec<IpAddr>,
        port: u16,
        transport: Transport,
    },
    /// `-U`: connect to a Unix socket.
    ConnectUnix { path: PathBuf, transport: Transport },
    Listen {
        kind: ListenKind,
        /// What to bind (one socket each).
        endpoints: Vec<Endpoint>,
        transport: Transport,
    },
    /// `-z`: only report whether the ports are open.
    Probe {
        /// The target as typed, for the TLS server name.
        host: String,
        addrs: Vec<IpAddr>,
        ports: RangeInclusive<u16>,
        transport: Transport,
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

    /// The same over datagrams (UDP, DTLS, Unix datagram sockets), where without `-q` a client
    /// ends at stdin's EOF and a listener goes on (Ncat 7.95, nmap#2685).
    pub fn ends_at_stdin_eof_over_datagrams(&self, listening: bool) -> bool {
        match self.quit_after {
            None => !listening,
            Some(_) => self.ends_at_stdin_eof(),
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

/// Checks the command line, then does the I/O it asks for in Ncat's order, handing the lines
/// Ncat prints along the way (the `-v` banner, warnings) to `notice`.
pub fn build(cli: &Cli, notice: &mut dyn FnMut(&str)) -> Result<Config, Failure> {
    prepare::prepare(check::check(cli), notice)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Request, parse};

    fn build_line(line: &str) -> Result<Config, String> {
        let args = line.split_whitespace().map(Into::into).collect();
        match parse(args) {
            Ok(Request::Run(cli)) => build(&cli, &mut |_| {}).map_err(|e| e.to_string()),
            _ => panic!("not a run request: {line}"),
        }
    }

    /// A TCP listener's mode, for comparisons.
    fn tcp_listener(kind: ListenKind, endpoints: &[&str]) -> Mode {
        Mode::Listen {
            kind,
            endpoints: endpoints
                .iter()
                .map(|e| Endpoint::Ip(e.parse().unwrap()))
                .collect(),
            transport: Transport::Stream,
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
            tcp_listener(ListenKind::Single, &["127.0.0.1:31337"])
        );
        let cfg = build_line("ncat -l 12345").unwrap();
        assert!(matches!(&cfg.mode, Mode::Listen { endpoints, .. }
            if endpoints.iter().all(|e| e.port() == "12345")));
        let cfg = build_line("ncat -l -p 9000 2130706433").unwrap();
        assert_eq!(
            cfg.mode,
            tcp_listener(ListenKind::Single, &["127.0.0.1:9000"])
        );
    }

    #[test]
    fn positional_rules() {
        let cfg = build_line("ncat -l 8080").unwrap();
        assert_eq!(
            cfg.mode,
            tcp_listener(ListenKind::Single, &["[::]:8080", "0.0.0.0:8080"])
        );
        let cfg = build_line("ncat -l 127.0.0.1").unwrap();
        assert_eq!(
            cfg.mode,
            tcp_listener(ListenKind::Single, &["127.0.0.1:31337"])
        );
        let cfg = build_line("ncat -4 --broker 9000").unwrap();
        assert_eq!(cfg.listen_kind(), Some(ListenKind::Broker));
        let cfg = build_line("ncat 127.0.0.1").unwrap();
        assert!(matches!(cfg.mode, Mode::Connect { port: 31337, .. }));
        let cfg = build_line("ncat -lk -p 0 -6").unwrap();
        assert_eq!(cfg.mode, tcp_listener(ListenKind::KeepOpen, &["[::]:0"]));
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

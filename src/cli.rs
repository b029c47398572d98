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
    #[arg(
        short = '4',
        overrides_with_all = ["ipv6", "unixsock", "vsock"],
        long_help = "Use IPv4 only: host names resolve to IPv4 addresses alone, and a listener \
            binds 0.0.0.0 and not ::. By default both families are used: connect mode tries \
            every address of the target in the resolver's order, and a listener binds :: (IPv6 \
            only) and 0.0.0.0 on the same port. Of -4, -6, -U and --vsock, the last one given \
            wins."
    )]
    pub ipv4: bool,
    /// IPv6 only
    #[arg(
        short = '6',
        overrides_with_all = ["ipv4", "unixsock", "vsock"],
        long_help = "Use IPv6 only: host names resolve to IPv6 addresses alone, and a listener \
            binds :: only, so IPv4 clients cannot reach it. Without -4 or -6 both families are \
            used. Of -4, -6, -U and --vsock, the last one given wins."
    )]
    pub ipv6: bool,
    /// Unix domain sockets only
    #[arg(
        short = 'U',
        long = "unixsock",
        overrides_with_all = ["ipv4", "ipv6", "vsock"],
        long_help = "Use a Unix domain socket: the argument is the socket's path instead of a \
            host and a port (a port after it is ignored). It works in connect mode and with -l, \
            -k, --broker, --chat and exec; with -u the socket is a datagram socket. A listener \
            creates the path and leaves it in place at exit, so binding a path that exists \
            fails with Address already in use. Refused with --proxy, with any --ssl option and \
            with -p (\"Specifying source port when using Unix domain sockets doesn't make \
            sense.\"), and as -U -u -l -k. Of -4, -6, -U and --vsock, the last one given wins. \
            Example: ncat -l -U /tmp/ncat.sock, then ncat -U /tmp/ncat.sock."
    )]
    pub unixsock: bool,
    /// vsock sockets only
    #[arg(
        long,
        overrides_with_all = ["ipv4", "ipv6", "unixsock"],
        long_help = "Linux VM sockets (AF_VSOCK), where the host is a context ID. Not implemented \
            yet: the option is recognised and refused with \"--vsock is not supported yet.\" \
            (status 2), so a script written for Ncat fails clearly instead of doing something \
            else."
    )]
    pub vsock: bool,
    /// Send CRLF as the line ending
    #[arg(
        short = 'C',
        long,
        long_help = "Turn every bare line feed into CR LF in the data sent to the network: what \
            stdin delivers, or what an exec child writes. A CR LF already there is not doubled, \
            even when a read splits it, and what arrives from the network is never changed. In \
            -k, broker and chat listeners it applies to the listener's stdin. Off by default; \
            it helps with line-based protocols that insist on CR LF, such as SMTP: ncat -C \
            mail.example.org 25."
    )]
    pub crlf: bool,
    /// Run a command through /bin/sh for each connection
    #[arg(
        short = 'c',
        long = "sh-exec",
        value_name = "command",
        allow_hyphen_values = true,
        action = ArgAction::Append,
        long_help = "Run command with /bin/sh -c for each connection, its standard input and \
            output connected to the connection instead of ncat's (its standard error stays \
            ncat's). In connect mode one child serves the connection, with -l one client is \
            served, and with -l -k (or -u -l -k) every client gets a child of its own, at most \
            -m at once, while the listener's own stdin and stdout go unused. The child finds \
            its connection in NCAT_REMOTE_ADDR, NCAT_REMOTE_PORT, NCAT_LOCAL_ADDR, \
            NCAT_LOCAL_PORT and NCAT_PROTO, and inherits no descriptor besides 0, 1 and 2. When \
            the peer closes, the child's input is closed and the relay goes on until the child \
            closes its output, which half-closes the connection. Only one of -c, -e and \
            --lua-exec may be given (\"Only one of --exec, --sh-exec, and --lua-exec is \
            allowed.\"); they are refused with --broker and --chat (\"Invalid option \
            combination: --broker and -e.\"), with -z and with the HTTP proxy server. Example: \
            ncat -l -k 9000 -c 'tr a-z A-Z'."
    )]
    pub sh_exec: Vec<String>,
    /// Run a program (full path) for each connection
    #[arg(
        short = 'e',
        long = "exec",
        value_name = "command",
        allow_hyphen_values = true,
        action = ArgAction::Append,
        long_help = "Like -c, but run the program directly, without a shell. The command is \
            split into words at white space, a backslash makes the next character literal \
            (there are no quotes), and the first word must be a path, since PATH is not \
            searched: -e /bin/cat works, -e cat does not. Everything else is as for -c: the \
            connection becomes the program's standard input and output, a child per client \
            with -l -k, the NCAT_* environment, and the same conflicts. Example: ncat -l -k \
            9000 -e /bin/cat (an echo service)."
    )]
    pub exec: Vec<String>,
    /// Run a Lua script for each connection
    #[arg(
        long = "lua-exec",
        value_name = "filename",
        action = ArgAction::Append,
        long_help = "Run a Lua 5.4 script for each connection, as -e runs a program: the \
            script's io.read and io.write (its standard input and output) are the connection, \
            and it gets the same NCAT_* environment, -m accounting and EOF handling. The \
            interpreter is built in, so no system Lua is needed, and a first line starting \
            with #! is skipped. The script is loaded when ncat starts: one that is missing or \
            does not compile ends ncat at once (\"Error loading the Lua script: ...\", status \
            2), while a run-time error ends only its connection. The conflicts of -c apply. \
            Example: ncat -l -k 9000 --lua-exec echo.lua."
    )]
    pub lua_exec: Vec<String>,
    /// Run the -e/-c program on a pseudo-terminal (extension)
    #[arg(
        long,
        long_help = "Run the program of -e or -c on a new pseudo-terminal, which becomes its \
            standard input, output and error and its controlling terminal, so a shell prints \
            its prompt and does job control, and full-screen programs work (24 rows by 80 \
            columns to start with). What the peer sends is typed at that terminal, so it is \
            echoed and Ctrl-C interrupts; the peer's EOF is the terminal's end-of-file \
            character (unless the program reads the terminal raw). The session ends with the \
            program, as a login session does, and the terminal is then hung up (a background \
            job still on it gets SIGHUP) and released, as it is when the connection ends first. Output comes with the terminal's line \
            endings (\\r\\n). For a full terminal on your side run stty raw -echo first. This \
            is an extension, in connect and listen modes; it needs -e or -c (\"--pty works \
            only with -e or -c.\"). Example: ncat -l 9000 -e /bin/bash --pty, then ncat \
            host 9000."
    )]
    pub pty: bool,
    /// Loose source route hops (at most 8)
    #[arg(
        short = 'g',
        value_name = "hops",
        action = ArgAction::Append,
        long_help = "Loose source routing through up to 8 IPv4 hops, given comma-separated or \
            in repeated options (connect mode). Not implemented yet: refused with \"-g is not \
            supported yet.\" (status 2)."
    )]
    pub source_route: Vec<String>,
    /// Loose source route pointer (4, 8, 12, ...)
    #[arg(
        short = 'G',
        value_name = "n",
        allow_hyphen_values = true,
        long_help = "The hop pointer for -g source routing: 4, 8, 12 and so on up to 28. Not \
            implemented yet: refused with \"-G is not supported yet.\" (status 2)."
    )]
    pub source_route_pointer: Option<String>,
    /// At most <n> clients at once (default 100)
    #[arg(
        short = 'm',
        long = "max-conns",
        value_name = "n",
        allow_hyphen_values = true,
        long_help = "The most clients served at once by a -k, --broker or --chat listener; with \
            exec it counts running children, and with -u -l -k the peers heard from in the \
            last 60 seconds. The default is 100, -1 means the default, and 0 refuses every \
            client. A client over the limit is accepted and closed at once (with -v: New \
            connection denied: connection limit reached (N)), and a slot frees up when a \
            client leaves. The value must be a whole number from -1 up (otherwise \"Invalid \
            maximum number of connections\", status 2), even with plain -l, where a warning \
            says it has no effect, though -m 0 still refuses the one client. Refused in connect \
            mode (\"Invalid option combination: `--max-conns' with connect.\"); the HTTP proxy \
            server does not apply it. Example: ncat -l -k -m 5 9000."
    )]
    pub max_conns: Option<String>,
    /// Show this screen
    #[arg(
        short = 'h',
        long = "help",
        long_help = "Print the one-screen summary of every option on standard output and exit \
            with status 0. Like Ncat, -h acts the moment it is parsed: ncat -h --bogus prints \
            the help, while ncat --bogus -h reports the unknown option (status 2). This manual \
            is printed by ncat --man-page."
    )]
    pub help: bool,
    /// Pause after every read
    #[arg(
        short = 'd',
        long = "delay",
        value_name = "time",
        allow_hyphen_values = true,
        long_help = "Wait this long after every read before passing the data on, in both \
            directions (stdin to the network and back, exec sessions and UDP included); in -k, \
            broker and chat listeners it applies to what clients send, not to stdin. It paces \
            the data read by read, not line by line. No delay by default; seconds unless a \
            unit follows (see TIME VALUES). Example: ncat -d 200ms host 23 < script.txt."
    )]
    pub delay: Option<String>,
    /// Log session data to a file
    #[arg(
        short = 'o',
        long = "output",
        value_name = "filename",
        long_help = "Write every byte the session sends and receives to filename, raw and in \
            the order handled, with no mark of direction. The file is opened when ncat starts, \
            before any connection (created with mode 0664 less the umask), and truncated \
            unless --append-output is given; if it cannot be opened, ncat prints open: and the \
            reason and exits with status 2. In broker and chat mode each client's read is \
            logged, then each relayed message and announcement once. It can be combined with \
            -x; in chat mode each log file raises the <userN> numbers by one."
    )]
    pub output: Option<String>,
    /// Log session data to a file as hex
    #[arg(
        short = 'x',
        long = "hex-dump",
        value_name = "filename",
        long_help = "Like -o, but write a hex dump in Ncat's layout: every chunk on its own with \
            offsets restarting at 0000, 16 bytes a line as two hex digits each, then the same \
            bytes as text with everything but letters, digits and punctuation shown as a dot. \
            It is opened, truncated or appended to as -o is, and both may be used at once. \
            Example: ncat -l -x session.hex 9000."
    )]
    pub hex_dump: Option<String>,
    /// Give up after this long without data
    #[arg(
        short = 'i',
        long = "idle-timeout",
        value_name = "time",
        allow_hyphen_values = true,
        long_help = "End when nothing has been read in either direction for this long. In \
            connect mode that prints Idle timeout expired (N ms). and exits with status 1; in \
            listen modes the message ends with QUITTING. and the status is 2, and the whole \
            program ends, every client with it. A -k, broker or chat listener runs the clock \
            only while a client is connected, and client data, stdin data and new connections \
            all restart it; with -l -k and exec each connection has its own clock, and the \
            first to run out ends the program. With -u -z it is how long to wait for a refusal \
            (2 seconds by default). Off by default; seconds unless a unit follows: -i 30, \
            -i 5m."
    )]
    pub idle_timeout: Option<String>,
    /// Local port to connect from (listen: port to bind)
    #[arg(
        short = 'p',
        long = "source-port",
        value_name = "port",
        allow_hyphen_values = true,
        long_help = "In connect mode, connect from this local port (by default the system picks \
            one); a port that cannot be bound is fatal. In listen mode it is the port to \
            listen on, the same as giving it as an argument: ncat -l -p 9000 is ncat -l 9000, \
            and giving both is \"Got more than one port specification\". The value is a number \
            from 0 to 65535 (otherwise \"Invalid source port number\", status 2), and -p is \
            refused with -U. Example: ncat -p 40000 host 80."
    )]
    pub source_port: Option<String>,
    /// Local address to connect from (not with -l)
    #[arg(
        short = 's',
        long = "source",
        value_name = "addr",
        long_help = "In connect mode, connect from this local address (a name or a number, \
            resolved like the target), for a host with several addresses; one that cannot be \
            bound is fatal. It is refused with -l (\"-l and -s are incompatible.\"), since a \
            listener takes its address as the host argument: ncat -l 192.0.2.10 9000. With \
            -U -u it is the path of the client's own datagram socket (by default a temporary \
            $TMPDIR/ncat.XXXXXX, removed at the end); with plain -U it is ignored. Example: \
            ncat -s 192.0.2.10 host 80."
    )]
    pub source: Option<String>,
    /// Listen for incoming connections
    #[arg(
        short = 'l',
        long = "listen",
        long_help = "Listen for connections instead of making one. With no address a listener \
            binds :: (IPv6 only) and 0.0.0.0, on port 31337 unless one is given (3128 for the \
            HTTP proxy server, 1080 for the SOCKS one); with an address or name, only its first address. A lone \
            argument is the port if it has at most five digits and -p is not given, otherwise \
            the host: ncat -l 9000, ncat -l 127.0.0.1 9000. Plain -l serves one client and ends \
            when it leaves; -k, --broker and --chat serve many, exec options run a program per \
            client, and --proxy-type makes a proxy server. With -v the Listening on \
            lines show the real port, also for port 0. Refused with -s, -z and --proxy."
    )]
    pub listen: bool,
    /// Listen: accept more clients; connect: keep sending after the peer's EOF
    #[arg(
        short = 'k',
        long = "keep-open",
        long_help = "In listen mode, keep accepting clients instead of ending after the first: \
            stdin goes to every client connected at the time, and what each client sends goes \
            to stdout (clients do not see each other's data; --broker does that). The listener \
            then runs until a signal, a timeout (-i, -q), the end of stdin with --send-only, or \
            a fatal error. With exec each client gets a child of its own, and with -u several \
            peers are served, told apart by their source address. In connect mode (TCP, TLS \
            and Unix stream sockets) -k keeps sending stdin after the peer's EOF until stdin \
            ends, as Ncat did before 7.96; with UDP it is refused (\"Invalid option \
            combination: `--keep-open' with non-TCP protocol.\"), and so is -U -u -l -k."
    )]
    pub keep_open: bool,
    /// Numeric addresses only, no DNS lookups
    #[arg(
        short = 'n',
        long = "nodns",
        long_help = "Do not look names up: the target, -s, --proxy and the entries of --allow \
            and --deny must be numeric addresses. A name is then fatal: Could not resolve \
            hostname \"localhost\": Name or service not known. (status 2). Off by default: \
            names are resolved by the system resolver, every address kept in its order."
    )]
    pub nodns: bool,
    /// Answer Telnet option negotiation
    #[arg(
        short = 't',
        long = "telnet",
        long_help = "Reply to Telnet option negotiation, so that a Telnet server does not wait: \
            every offer (WILL, WONT) is answered DONT and every request (DO, DONT) WONT, which \
            refuses every option. The negotiation is recognised anywhere in the stream, also \
            across reads, and removed from what is printed; IAC IAC stands for one 0xFF byte. \
            It works in connect mode, with -l, in exec sessions and in -k, broker and chat \
            listeners, where each client is answered on its own connection. Refused with -z \
            (\"Invalid option combination: -z and -t.\"), with -u and with the HTTP proxy \
            server. Example: ncat -t bbs.example.org 23."
    )]
    pub telnet: bool,
    /// UDP instead of TCP
    #[arg(
        short = 'u',
        long = "udp",
        overrides_with = "sctp",
        long_help = "Use UDP instead of TCP. A client sends each stdin read as one datagram (a \
            read over 65,507 bytes as several) and prints each datagram whole, up to 64 KiB; \
            it ends at stdin's EOF (unless -q), when the peer sends an empty datagram, or with \
            Connection refused. (status 1) when an ICMP refusal comes back. A listener serves \
            the first peer that sends it a datagram and then only that peer, and the end of \
            its stdin does not end it; -u -l -k serves several peers at once, forgetting one \
            after 60 seconds of silence, and with exec gives each peer a child of its own. \
            With -z it probes by sending one NUL byte. With --ssl it is DTLS 1.2 (see --ssl). \
            Refused with --broker and --chat unless --ssl is given (\"UDP mode does not \
            support connection brokering.\"), and with --proxy, -t and connect-mode -k. Of -u \
            and --sctp the last one given wins."
    )]
    pub udp: bool,
    /// SCTP instead of TCP
    #[arg(
        long,
        overrides_with = "udp",
        long_help = "Use SCTP instead of TCP. Not implemented yet: refused with \"--sctp is not \
            supported yet.\" (status 2). Of -u and --sctp the last one given wins."
    )]
    pub sctp: bool,
    /// More messages (repeat for more)
    #[arg(
        short = 'v',
        long = "verbose",
        action = ArgAction::Count,
        long_help = "Tell on stderr what happens: -v shows the version, Connected to, Listening \
            on and Connection from lines, refused clients, TLS certificates and fingerprints, \
            proxy steps and the byte counts at the end; -vv and more add debug lines starting \
            with NCAT DEBUG:. Without -v only errors, warnings and timeouts are printed. \
            Messages never go to stdout, which carries data only."
    )]
    pub verbose: u8,
    /// Connect timeout (default 10s)
    #[arg(
        short = 'w',
        long = "wait",
        value_name = "time",
        allow_hyphen_values = true,
        long_help = "How long a connection attempt may take. Each address of the target is \
            tried in turn with the full time, and when the last one fails ncat ends with \
            TIMEOUT. (status 1). The time includes the TLS handshake, with --proxy it bounds \
            the whole set-up (the proxy's connection and its reply), and it also bounds each -z \
            probe; listeners do not use it. The default is 10 seconds; seconds unless a unit \
            follows, more than 0 (\"Invalid -w timeout\", status 2). Example: ncat -w 3s host \
            80."
    )]
    pub wait: Option<String>,
    /// Only report whether the port is open
    #[arg(
        short = 'z',
        long_help = "Only check whether something accepts connections: connect (with -w, trying \
            each address), send nothing and close at once. The status is 0 if the port is \
            open and 1 if not; nothing is printed unless -v is given. As an extension a range \
            FIRST-LAST probes each port in turn, and the status is 0 if any was open: ncat -z \
            -v host 20-25. With --ssl the TLS handshake must succeed too, with --proxy the \
            proxy's answer decides, with -U the socket path is probed, and with -u one NUL \
            byte is sent and silence for -i (2 seconds by default) counts as open. Refused \
            with -l (\"Services designed for LISTENING can't be used with -z\"), with -t, with \
            exec and with -U -u."
    )]
    pub zero_io: bool,
    /// Append to -o/-x files instead of truncating
    #[arg(
        long = "append-output",
        long_help = "Open the -o and -x files for appending instead of truncating them, so runs \
            add to one log. Off by default; without -o or -x it does nothing. Example: ncat -l \
            --chat --append-output -o chat.log 9000."
    )]
    pub append_output: bool,
    /// Only send; quit when input ends
    #[arg(
        long = "send-only",
        long_help = "Only send: stdin goes to the network, nothing received is printed, and \
            stdin's EOF ends the session with status 0, after the half-close unless \
            --no-shutdown. In connect mode the socket is never read; listeners read their \
            clients and discard the data, so a client leaving is still noticed. A UDP listener \
            is not ended by stdin's EOF, and -q changes the immediate end: a positive time \
            delays it, a negative one cancels it. Off by default. Example: ncat --send-only \
            host 9000 < file.bin."
    )]
    pub send_only: bool,
    /// Only receive; never send
    #[arg(
        long = "recv-only",
        long_help = "Only receive: stdin is never read (in every mode, as in Ncat 7.991), so a \
            closed or unreadable stdin is no error, nothing typed is consumed, and nothing is \
            ever half-closed. The session ends when the peer closes. In broker and chat mode \
            nothing at all is relayed between clients. With --send-only as well, nothing \
            moves, and connect mode or -l ends at once with status 0. Off by default. Example: \
            ncat --recv-only host 9000 > capture.bin."
    )]
    pub recv_only: bool,
    /// Do not half-close the socket when input ends
    #[arg(
        long = "no-shutdown",
        long_help = "Do not half-close the connection when stdin ends: no TCP shutdown and no \
            TLS close_notify, for peers that hang up as soon as they see an EOF. The session \
            then goes on until the peer closes, unless --send-only, -q or -i ends it, and a -k \
            listener leaves its clients open too. Off by default: normally stdin's EOF \
            half-closes the connection, so the peer sees an EOF and can still answer."
    )]
    pub no_shutdown: bool,
    /// Only these hosts may connect
    #[arg(
        long,
        value_name = "hosts",
        action = ArgAction::Append,
        long_help = "Admit only clients whose address matches one of these hosts: a \
            comma-separated list of addresses, networks (CIDR), octet ranges and names (see \
            HOST SPECIFICATIONS); the option may be repeated and the entries add up. Any other \
            client is accepted and closed at once (with -v: New connection denied: not \
            allowed), and a single-client listener goes on waiting for an admissible one. \
            --deny wins over --allow. Listen modes only (TCP, UDP and the HTTP proxy server; \
            Unix socket clients have no address and are not checked); in connect mode it is \
            refused (\"Invalid option combination: allow/deny with connect.\"). A bad entry \
            stops ncat at start: error in host specification \"10.0.0.0/33\". Example: ncat -l \
            -k --allow 192.168.1.0/24,10.0.0.1 9000."
    )]
    pub allow: Vec<String>,
    /// File listing the hosts that may connect
    #[arg(
        long,
        value_name = "file",
        action = ArgAction::Append,
        long_help = "Like --allow, with the hosts read from file: entries are separated by any \
            white space (spaces or newlines), and a comma inside an entry keeps its octet-list \
            meaning (10.1.1,3.9). There is no comment syntax: every word is an entry, so a # \
            line is an error. A file that cannot be read stops ncat (\"can't open\"), as does a \
            bad entry (\"error in hosts file\"). It may be repeated and combined with --allow. \
            As an extension, SIGHUP reads every --allowfile and --denyfile again, for the \
            connections that come next; a file that then fails to read or parse leaves the \
            lists as they were, and says why on stderr. With files, SIGHUP therefore no longer \
            ends the listener (nor its exec children)."
    )]
    pub allowfile: Vec<String>,
    /// These hosts may not connect
    #[arg(
        long,
        value_name = "hosts",
        action = ArgAction::Append,
        long_help = "Refuse clients whose address matches one of these hosts, in the syntax of \
            --allow (comma-separated, repeatable). A denied client is accepted and closed at \
            once, and a client that matches both lists is denied. Listen modes only; in connect \
            mode it is accepted and ignored, as in Ncat. Example: ncat -l -k --deny \
            192.168.1.66 9000."
    )]
    pub deny: Vec<String>,
    /// File listing the hosts that may not connect
    #[arg(
        long,
        value_name = "file",
        action = ArgAction::Append,
        long_help = "Like --deny, with the hosts read from file, in the format of --allowfile \
            (separated by white space, no comments). A file that cannot be read, or a bad \
            entry in it, stops ncat at start; as an extension, SIGHUP reads it again (see \
            --allowfile)."
    )]
    pub denyfile: Vec<String>,
    /// Relay each client's data to all other clients
    #[arg(
        long,
        long_help = "Run a hub (implies -l): what a client sends goes to every other connected \
            client, never back to the sender, and the listener's stdin goes to all of them; \
            stdout gets nothing. A client that closes, even only half-closes, is dropped, the \
            end of stdin only stops stdin being read, and the broker runs until a signal or a \
            timeout. Each client has a queue of 1 MiB: while any queue is full every sender \
            is paused, so nothing is lost, and a client that stops reading is dropped after \
            --stall-timeout. At most -m clients (100 by default). Refused with exec (\"Invalid \
            option combination: --broker and -e.\"), with -u (unless --ssl makes it DTLS) and \
            with the HTTP proxy server; it works over TLS, DTLS and Unix sockets. Example: ncat \
            -l --broker 9000."
    )]
    pub broker: bool,
    /// Multi-user chat server (implies --broker)
    #[arg(
        long,
        alias = "talk",
        long_help = "A chat server: --broker, plus a name for every client (<userN>) put in \
            front of each line it sends, control characters escaped, and arrivals and \
            departures announced to everyone (see CHAT AND BROKER PROTOCOL). The listener's \
            stdin speaks as <user0>, and --talk is another name for the option. It needs -l or \
            --broker: alone it is refused (\"Invalid option combination: `--chat' with \
            connect.\"). Example: ncat -l --chat 9000, then ncat host 9000 for each participant."
    )]
    pub chat: bool,
    /// Chat: let printable UTF-8 through unescaped (extension)
    #[arg(
        long = "chat-utf8",
        long_help = "In chat, let valid printable UTF-8 through as it is, so that \"héllo\" \
            and \"你好\" are readable; what could change a terminal's state is still escaped \
            as \\ and three octal digits: control characters (C0 but TAB, LF and CR, DEL, and \
            the C1 range U+0080-U+009F), the bidirectional embeddings, overrides and isolates \
            (U+202A-U+202E, U+2066-U+2069), and every byte of invalid UTF-8. This is an \
            extension: Ncat escapes every byte outside ASCII. It needs --chat (\"--chat-utf8 \
            works only with --chat.\"). Example: ncat -l --chat --chat-utf8 9000."
    )]
    pub chat_utf8: bool,
    /// Chat: the listener's stdout shows the conversation (extension)
    #[arg(
        long = "chat-console",
        long_help = "Make the listener's terminal a participant of the chat: its stdout shows \
            what a client would see (every framed line from the clients and every \
            announcement, escaped the same way), while its stdin goes on speaking as <user0>, \
            whose own lines are not shown back. Without it the listener's stdout gets nothing \
            in chat mode, as in Ncat. The console has a queue like a client's: if its stdout \
            stops being read, the senders pause (it is never dropped for it), and a stdout \
            whose reader has gone ends ncat. This is an extension; it needs --chat (\"--chat-console \
            works only with --chat.\"). Example: ncat -l --chat --chat-console 9000."
    )]
    pub chat_console: bool,
    /// Drop a broker/chat client that stops reading (2s)
    #[arg(
        long = "stall-timeout",
        value_name = "time",
        allow_hyphen_values = true,
        long_help = "How long a broker, chat or -k client may leave its full 1 MiB queue unread \
            before it is disconnected (in chat, announced as disconnected); meanwhile the \
            senders are paused, and they resume at full speed when it goes. This is an \
            extension: Ncat has no such limit, and there one client that stops reading stalls \
            all the others for good. The default is 2 seconds; seconds unless a unit follows, \
            more than 0. Example: ncat -l --broker --stall-timeout 10s 9000."
    )]
    pub stall_timeout: Option<String>,
    /// Show bytes, rate and time on stderr (extension)
    #[arg(
        long,
        long_help = "Show the bytes sent and received, the current rate and the elapsed time on \
            stderr while the session runs: on a terminal one line redrawn twice a second, \
            otherwise a line every 2 seconds, and a last line with the average rate at the end \
            (Ncat: sent 3.0 MiB, received 0 B, 9.8 MiB/s, 0:00:01). stdout is never touched. \
            This is an extension; it applies to connect mode and to single-client listeners \
            over TCP, TLS and Unix stream sockets, not to exec, -k, broker, chat or UDP. Off by \
            default. Example: ncat --progress host 9000 < big.iso."
    )]
    pub progress: bool,
    /// After stdin's EOF, wait this long, then quit (negative: never)
    #[arg(
        short = 'q',
        value_name = "time",
        allow_hyphen_values = true,
        long_help = "After stdin's EOF (and the half-close, unless --no-shutdown), let the \
            session go on for this long, printing what still arrives, then end it as an idle \
            timeout does: Idle timeout expired (N ms). with status 1 in connect mode, the same \
            with QUITTING. and status 2 in listen modes. If the peer closes first, the session \
            ends as usual with status 0. -q 0 quits at stdin's EOF at once (Ncat refuses 0), \
            and a negative time means stdin's EOF never ends anything, not even with \
            --send-only or UDP. It works in every mode and protocol (exec sessions do not read \
            stdin); seconds unless a unit follows. Without -q each mode has its own rule (see \
            END OF INPUT AND EXIT). Example: echo QUIT | ncat -C -q 2s mail.example.org 25."
    )]
    pub quit_after: Option<String>,
    /// Connect through a proxy (port 3128; SOCKS 1080)
    #[arg(
        long,
        value_name = "addr[:port]",
        action = ArgAction::Append,
        long_help = "Connect through the proxy at addr, on port 3128 for HTTP and 1080 for SOCKS \
            unless a port is given (host:port, or [v6]:port for an IPv6 address). --proxy-type \
            says which protocol it speaks, --proxy-auth gives credentials and --proxy-dns says \
            who resolves the target's name (see PROXIES). Bytes the target sends along with \
            the proxy's reply are kept, -w bounds the whole set-up, and with --ssl the TLS \
            session runs to the target inside the tunnel. Connect mode only: refused with -l \
            (\"Invalid option combination: --proxy and -l.\"), -U and -u, and given once at \
            most. A proxy that cannot be reached or that refuses ends ncat with status 1 \
            (Proxy connection failed, Proxy returned status code 403). As an extension, a \
            comma-separated chain of hops, each [scheme://][user:password@]host[:port] with \
            scheme http, socks4 or socks5, goes through every hop in order (see PROXIES). \
            Example: ncat --proxy proxy.example.org:8080 example.org 22, or ncat --proxy \
            socks5://a:1080,http://user:pw@b:3128 example.org 22."
    )]
    pub proxy: Vec<String>,
    /// Proxy protocol: http (default), socks4 or socks5
    #[arg(
        long = "proxy-type",
        value_name = "type",
        action = ArgAction::Append,
        long_help = "The protocol spoken to --proxy: http (the default, HTTP CONNECT), socks4 \
            or 4 (SOCKS4, or SOCKS4a when the proxy resolves the name), socks5 or 5. With -l \
            and no --proxy, http turns ncat into an HTTP proxy server on port 3128 by default, \
            and socks4 or socks5 into a SOCKS proxy server on port 1080 (an extension: Ncat's \
            proxy server speaks only HTTP; see PROXIES). In connect mode it needs --proxy (\"Proxy type (--proxy-type) specified \
            without proxy address (--proxy).\"). Example: ncat --proxy localhost:1080 \
            --proxy-type socks5 example.org 22, or ncat -l --proxy-type socks5 localhost 1080."
    )]
    pub proxy_type: Vec<String>,
    /// Proxy credentials, user:pass (or $NCAT_PROXY_AUTH)
    #[arg(
        long = "proxy-auth",
        value_name = "auth",
        action = ArgAction::Append,
        long_help = "Credentials for the proxy, as user:password. An HTTP proxy gets Basic or \
            Digest authentication once it answers 407, a SOCKS5 proxy the user name and \
            password (split at the first colon, each at most 255 bytes), and a SOCKS4 proxy \
            the whole value as its user ID. For the proxy servers (-l --proxy-type) they are \
            what clients must present (for SOCKS4, the user ID). Without the option the NCAT_PROXY_AUTH \
            environment variable is used, which keeps the password out of the process list; \
            the option wins when both are set, and it may be given once. Example: \
            NCAT_PROXY_AUTH=user:secret ncat --proxy proxy:3128 host 22."
    )]
    pub proxy_auth: Vec<String>,
    /// Resolve target: local, remote (default), both, none
    #[arg(
        long = "proxy-dns",
        value_name = "type",
        long_help = "Who resolves the target's host name when going through a proxy: remote \
            (the default) sends the name to the proxy, local resolves it here and sends the \
            address, both tries here first and falls back to the proxy, and none takes numeric \
            targets only. A numeric target is always sent as an address. A failure to resolve \
            ends ncat with status 1, and any other word is refused (\"Invalid proxy DNS \
            type.\"). Example: ncat --proxy proxy:1080 --proxy-type socks5 --proxy-dns local \
            host 22."
    )]
    pub proxy_dns: Option<String>,
    /// Use TLS (listen: a fresh self-signed certificate)
    #[arg(
        long,
        long_help = "Use TLS (1.2 or 1.3). A client runs the handshake right after connecting, \
            within -w, and by default does not verify the server's certificate: -v reports \
            what it found, --ssl-verify enforces it. A listener speaks TLS in every TCP mode \
            (-l, -k, broker, chat, exec, the HTTP proxy server), with a fresh self-signed \
            certificate unless --ssl-cert and --ssl-key give one; each client's handshake runs \
            on its own and may take at most 30 seconds. A failed handshake ends connect mode \
            and a single-client listener with status 1, and otherwise drops only that client. \
            At stdin's EOF the session sends close_notify before the TCP half-close (neither \
            with --no-shutdown). With -u it is DTLS 1.2 (OpenSSL): the client ends at stdin's \
            EOF after sending close_notify, a listener gives each new peer a session of its \
            own, so -l, -k, exec, --broker and --chat work as over TCP, and a received \
            close_notify is the peer's EOF. Every other --ssl option turns --ssl on; refused \
            with -U and with -u -z. See TLS."
    )]
    pub ssl: bool,
    /// TLS certificate (chain) file, PEM
    #[arg(
        long = "ssl-cert",
        value_name = "file",
        long_help = "The certificate to present, in PEM: the server's certificate in listen mode \
            (the file may hold the whole chain, the server's own first), a client certificate \
            in connect mode. It must come with --ssl-key (\"The --ssl-key and --ssl-cert \
            options must be used together.\"), and a listener refuses at start a key that does \
            not belong to the certificate. Turns on --ssl. Example: ncat -l --ssl-cert \
            cert.pem --ssl-key key.pem 9443."
    )]
    pub ssl_cert: Option<String>,
    /// TLS private key file, PEM
    #[arg(
        long = "ssl-key",
        value_name = "file",
        long_help = "The private key of --ssl-cert, in PEM (PKCS#8, RSA or EC); the two options \
            go together. A file that cannot be read or holds no key is fatal at start. Turns \
            on --ssl."
    )]
    pub ssl_key: Option<String>,
    /// Require a trusted certificate for the server's name
    #[arg(
        long = "ssl-verify",
        long_help = "Verify the server's certificate and give up if it fails: the chain must \
            lead to a trusted certificate (the system's store, plus --ssl-trustfile), be valid \
            now, and name the server (its subjectAltName entries, or its common name when it \
            has none; --ssl-servername changes the name checked). An untrusted chain ends with \
            Input/output error. (status 1), a name mismatch with Certificate verification \
            error. QUITTING. (status 2). Connect mode and -z only: a listener never asks \
            clients for certificates, so it has no effect there. Turns on --ssl. Example: ncat \
            --ssl-verify example.org 443."
    )]
    pub ssl_verify: bool,
    /// Also trust the certificates in this PEM file
    #[arg(
        long = "ssl-trustfile",
        value_name = "file",
        action = ArgAction::Append,
        long_help = "Trust the certificates in this PEM file as well as the system's store, and \
            verify as --ssl-verify does (it implies it). A server certificate listed in the \
            file is trusted as it stands, so a self-signed certificate can be pinned, though \
            its name and dates are still checked. It may be given once (\"The --ssl-trustfile \
            option may be given only once.\"); unlike Ncat's, it adds to the system store \
            instead of replacing it. Turns on --ssl. Example: ncat --ssl-trustfile server.pem \
            host 9443."
    )]
    pub ssl_trustfile: Vec<String>,
    /// TLS suites to allow, by rustls name (a:b:c; OpenSSL's syntax with -u)
    #[arg(
        long = "ssl-ciphers",
        value_name = "list",
        long_help = "The TLS cipher suites to offer or accept, by name, separated by colons or \
            commas, in any case; by default every suite of this build is allowed (the names \
            are listed under TLS). OpenSSL cipher strings such as HIGH:!aNULL are refused, \
            with the list of valid names, except with -u: DTLS runs on OpenSSL and takes \
            OpenSSL's cipher strings, as Ncat does (default \
            ALL:!aNULL:!eNULL:!LOW:!EXP:!RC4:!MD5:@STRENGTH). It works in connect and listen \
            modes and turns on --ssl. Example: ncat --ssl-ciphers \
            TLS13_CHACHA20_POLY1305_SHA256 host 443."
    )]
    pub ssl_ciphers: Option<String>,
    /// Server name to send (SNI) and check
    #[arg(
        long = "ssl-servername",
        value_name = "name",
        long_help = "The server name to send in the handshake (SNI) and to check the certificate \
            against, instead of the host as typed: useful when connecting by address or \
            through a tunnel. Without it a numeric target is checked as an address. Connect \
            mode; turns on --ssl. Example: ncat --ssl --ssl-servername www.example.org \
            10.0.0.5 443."
    )]
    pub ssl_servername: Option<String>,
    /// Accept only a server whose public key has this SHA-256 (extension)
    #[arg(
        long = "ssl-pin",
        value_name = "sha256:digest",
        action = ArgAction::Append,
        long_help = "Accept only a server whose certificate's public key (its DER \
            SubjectPublicKeyInfo) has this SHA-256 digest, given after sha256: as 64 hex digits \
            or in base64 (the form of curl's --pinnedpubkey and of openssl x509 -pubkey | \
            openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64). It may \
            be repeated: any one of the pins matches, so a key can be rotated. A server whose \
            key matches none is refused before any data is sent (\"Certificate pin mismatch\", \
            naming the key's own pin), whatever --ssl-verify says; the certificate's chain is \
            checked only with --ssl-verify. This is an extension; connect mode only (TLS and \
            DTLS), and it turns on --ssl. Example: ncat --ssl-pin \
            sha256:4YbL6WtXQmTnA5X1c1ZxT0W5uFgB4Rr3bH9y5lS6c2Q= host 443."
    )]
    pub ssl_pin: Vec<String>,
    /// Listen: require client certificates issued by these CAs (extension)
    #[arg(
        long = "ssl-client-ca",
        value_name = "file",
        long_help = "Require every client to present a certificate issued by one of the CA \
            certificates in this PEM file (mutual TLS): a client without one, or with one \
            another CA issued, fails its handshake and is dropped like any failed handshake. \
            Under -v the listener names each client certificate's subject. A client presents \
            its certificate with --ssl-cert and --ssl-key. This is an extension (Ncat never \
            asks clients for certificates, and --ssl-verify keeps having no effect in listen \
            mode); listen mode only, over TLS and DTLS, and it turns on --ssl. Example: ncat \
            -l --ssl --ssl-client-ca ca.pem 9443."
    )]
    pub ssl_client_ca: Option<String>,
    /// ALPN protocols to offer (h2,http/1.1)
    #[arg(
        long = "ssl-alpn",
        value_name = "list",
        long_help = "The protocols to offer by ALPN, comma-separated, the preferred one first; \
            none by default. Connect mode only: with -l it is refused (\"ALPN is not supported \
            in listen mode\"). Turns on --ssl. Example: ncat --ssl-alpn h2,http/1.1 \
            example.org 443."
    )]
    pub ssl_alpn: Option<String>,
    /// Show the version and exit
    #[arg(
        long,
        long_help = "Print the version on stderr, with the Ncat version followed and the TLS \
            library, and exit with status 0. Like -h it acts when parsed, before any later \
            error on the command line."
    )]
    pub version: bool,
    /// Hidden: event engine selection (accepted for compatibility, has no effect)
    #[arg(
        long = "nsock-engine",
        value_name = "engine",
        hide = true,
        long_help = "Accepted for compatibility with Ncat, where it picks the event engine \
            (epoll, poll or select). It has no effect here: ncat has one event loop."
    )]
    pub nsock_engine: Option<String>,
    /// Hidden: print `NCAT TEST: LISTEN` when listening
    #[arg(long, hide = true)]
    pub test: bool,
    /// Hidden: print the man page (roff) and exit
    #[arg(
        long = "man-page",
        hide = true,
        long_help = "Print this manual, in roff, on standard output and exit with status 0: \
            ncat --man-page | man -l -. This is an extension, generated from the same \
            definitions as --help, so the two always agree."
    )]
    pub man_page: bool,
    /// Hidden: print a completion script for bash, zsh or fish and exit
    #[arg(
        long,
        value_name = "shell",
        hide = true,
        long_help = "Print a completion script for bash, zsh or fish on standard output and \
            exit with status 0: ncat --completions bash > /etc/bash_completion.d/ncat. This is \
            an extension; another shell name is refused (status 2)."
    )]
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

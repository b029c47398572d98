//! The man page and shell completions, generated from the same clap definitions as `--help`
//! (`ncat --man-page`, `ncat --completions bash|zsh|fish`), so none of them is kept by hand
//! apart. The options come from their `long_help` in `cli.rs`; the reference sections and the
//! examples are written here, in a light markup (see [`roff_sections`]).

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::error::Failure;

/// One task of the EXAMPLES section: what it does, then its commands, each runnable as written.
/// `tests/guide.rs` runs every one of them (with the ports swapped for free ones).
#[derive(Debug, Clone, Copy)]
pub struct Example {
    pub task: &'static str,
    pub commands: &'static [&'static str],
}

/// The EXAMPLES section: the common tasks, on one machine (`localhost`) and ports 9000, 8080
/// and 3128, so that the tests can run them as they stand.
pub const EXAMPLES: &[Example] = &[
    Example {
        task: "Talk to someone. The first command listens, the second connects, on the same \
               host or another one; whatever one side types appears on the other's screen, \
               and Ctrl-D (or Ctrl-C) on either side ends it.",
        commands: &["ncat -l 9000", "ncat localhost 9000"],
    },
    Example {
        task: "Send a file. Both ends exit with status 0 once it is through. With --progress \
               the sender shows how far it has got; with --send-only it exits as soon as the \
               file is sent, without waiting for the receiver to close.",
        commands: &[
            "ncat -l 9000 > received.bin",
            "ncat localhost 9000 < file.bin",
            "ncat --progress localhost 9000 < file.bin",
            "ncat --send-only localhost 9000 < file.bin",
        ],
    },
    Example {
        task: "Check whether a port is open: status 0 and Connected to if it is, status 1 and \
               Connection refused if not.",
        commands: &["ncat -z -v localhost 9000"],
    },
    Example {
        task: "Offer a program as a service, one copy per client; the client prints HELLO, \
               SERVICE.",
        commands: &[
            "ncat -l -k 9000 --sh-exec 'tr a-z A-Z'",
            "echo 'hello, service' | ncat localhost 9000",
        ],
    },
    Example {
        task: "Tell each client its own address, from the environment an exec child gets.",
        commands: &[
            "ncat -l -k 9000 -c 'echo \"you are $NCAT_REMOTE_ADDR\"'",
            "ncat localhost 9000",
        ],
    },
    Example {
        task: "Forward a port: every connection to port 8080 is relayed to the service on port \
               9000 (here the listener of the first example).",
        commands: &[
            "ncat -l -k 8080 --sh-exec 'ncat localhost 9000'",
            "ncat localhost 8080",
        ],
    },
    Example {
        task: "Run a hub: what each client sends goes to all the other clients, who connect \
               with ncat localhost 9000.",
        commands: &["ncat -l --broker 9000"],
    },
    Example {
        task: "Run a chat room: every client gets a name such as <user5>, sees who else is \
               there, and reads every line with its sender's name in front.",
        commands: &["ncat -l --chat 9000"],
    },
    Example {
        task: "Admit only the clients of one network, or keep out one address; the others are \
               closed as soon as they connect.",
        commands: &[
            "ncat -l -k --allow 192.168.1.0/24 9000",
            "ncat -l -k --deny 192.168.1.66 9000",
        ],
    },
    Example {
        task: "Keep a hex dump of everything a session moves, both ways.",
        commands: &["ncat -l -x session.hex 9000"],
    },
    Example {
        task: "Encrypt with TLS: the listener makes up a certificate at start (-v shows its \
               fingerprints), and the client connects without checking it.",
        commands: &["ncat -l --ssl 9000", "ncat --ssl localhost 9000"],
    },
    Example {
        task: "Go through a proxy: the first command runs an HTTP proxy on port 3128, the \
               second reaches the listener on port 9000 through it. With a password, the \
               client can take the credentials from the environment, out of sight of ps.",
        commands: &[
            "ncat -l --proxy-type http localhost 3128",
            "ncat --proxy localhost:3128 localhost 9000",
            "ncat -l --proxy-type http --proxy-auth user:secret localhost 3128",
            "NCAT_PROXY_AUTH=user:secret ncat --proxy localhost:3128 localhost 9000",
        ],
    },
    Example {
        task: "Use UDP: the listener prints the datagram, the client exits after sending it.",
        commands: &["ncat -u -l 9000", "echo hello | ncat -u localhost 9000"],
    },
    Example {
        task: "Use a Unix domain socket instead of a port.",
        commands: &["ncat -l -U ncat.sock", "ncat -U ncat.sock"],
    },
];

/// The command as the generated documents present it.
fn command() -> clap::Command {
    Cli::command()
        .about("concatenate and redirect sockets (a reimplementation of Ncat 7.99)")
        .version(env!("CARGO_PKG_VERSION"))
}

/// `ncat(1)` in roff (with tables, for tbl: `man` runs it because of the first line).
pub fn man_page() -> Vec<u8> {
    let man = clap_mangen::Man::new(command())
        .title("NCAT")
        .section("1")
        .source(format!("ncat {}", env!("CARGO_PKG_VERSION")))
        .manual("User Commands");
    let mut head = Vec::new();
    let mut options = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = man.render_title(&mut head);
    let _ = man.render_name_section(&mut head);
    let _ = man.render_options_section(&mut options);
    let mut page = String::from("'\\\" t\n");
    page.push_str(&String::from_utf8_lossy(&head));
    page.push_str(&roff_sections(SYNOPSIS_AND_DESCRIPTION));
    page.push_str(&paragraphs(&String::from_utf8_lossy(&options)));
    page.push_str(&unlisted_options());
    page.push_str(&roff_sections(
        &REFERENCE.replace("@SUITES@", &cipher_suites().join("\n")),
    ));
    page.push_str(&roff_sections(&examples_section()));
    page.push_str(&roff_sections(CLOSING));
    tidy(&page).into_bytes()
}

/// A completion script for `shell`.
pub fn completions(shell: &str) -> Result<Vec<u8>, Failure> {
    let shell = match shell {
        "bash" => Shell::Bash,
        "zsh" => Shell::Zsh,
        "fish" => Shell::Fish,
        other => {
            return Err(Failure::Fatal(format!(
                "No completions for the shell \"{other}\" (bash, zsh and fish have them)."
            )));
        }
    };
    // Only what a user may type: the hidden options (and the positionals) stay out.
    let full = command();
    let visible = full
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_positional())
        .cloned();
    let mut cmd = clap::Command::new("ncat")
        .disable_help_flag(true)
        .disable_version_flag(true)
        .args(visible);
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "ncat", &mut out);
    Ok(out)
}

/// Every cipher suite of this build, by the names `--ssl-ciphers` takes, as example lines.
fn cipher_suites() -> Vec<String> {
    rustls::crypto::ring::default_provider()
        .cipher_suites
        .iter()
        .map(|suite| format!("$ {:?}", suite.suite()))
        .collect()
}

/// A `long_help` of several paragraphs: the blank line between two becomes an indented
/// paragraph at the option's indentation.
fn paragraphs(options: &str) -> String {
    options
        .lines()
        .map(|line| if line.is_empty() { ".IP" } else { line })
        .fold(String::new(), |mut out, line| {
            out.push_str(line);
            out.push('\n');
            out
        })
}

/// The options `--help` does not list but a user may want (the extensions `--man-page` and
/// `--completions`, and what Ncat compatibility accepts): the hidden ones with a `long_help`.
fn unlisted_options() -> String {
    let mut out = String::from(".SS \"Options not listed by \\-\\-help\"\n");
    for arg in command().get_arguments().filter(|a| a.is_hide_set()) {
        let (Some(long), Some(help)) = (arg.get_long(), arg.get_long_help()) else {
            continue;
        };
        out.push_str(&format!(".TP\n\\fB{}\\fR", escape(&format!("--{long}"))));
        if arg.get_action().takes_values() {
            for name in arg.get_value_names().unwrap_or_default() {
                out.push_str(&format!(" \\fI<{}>\\fR", escape(name.as_str())));
            }
        }
        out.push_str(&format!("\n{}\n", escape(&help.to_string())));
    }
    out
}

/// The EXAMPLES section in the markup of [`roff_sections`].
fn examples_section() -> String {
    let mut text = String::from(
        "# EXAMPLES\n\
         Start the listening command first, in a terminal of its own. On two hosts, put the \
         listener's name or address in place of localhost. The test suite runs every command \
         below as written, with the ports changed to free ones.\n",
    );
    for example in EXAMPLES {
        text.push_str(&format!("\n{}\n", example.task));
        for command in example.commands {
            text.push_str(&format!("$ {command}\n"));
        }
    }
    text
}

/// Turns the light markup below into roff: `# TITLE` starts a section, `$ command` is an
/// example line (shown verbatim), `- item` a bulleted paragraph, `: term` a paragraph tagged
/// with `term` (in bold; its text follows on the next lines), and consecutive `| cell | cell`
/// lines a table (the first row is the header); anything else is running text, and a blank
/// line ends a paragraph. Example lines right after the text of an item keep its indentation.
fn roff_sections(text: &str) -> String {
    let mut out = String::new();
    let mut in_example = false;
    // Inside a bulleted or tagged paragraph (no blank line or heading since).
    let mut in_item = false;
    // A blank line was seen: the next running text starts a new paragraph.
    let mut new_paragraph = false;
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let example = line.strip_prefix("$ ");
        if in_example && example.is_none() {
            out.push_str(".fi\n");
            in_example = false;
        }
        if let Some(title) = line.strip_prefix("# ") {
            out.push_str(&format!(".SH \"{}\"\n", escape(title)));
            in_item = false;
        } else if let Some(command) = example {
            if !in_example {
                out.push_str(if in_item { ".IP\n.nf\n" } else { ".PP\n.nf\n" });
                in_example = true;
            }
            out.push_str(&format!("    {}\n", escape(command)));
        } else if let Some(item) = line.strip_prefix("- ") {
            out.push_str(&format!(".IP \\(bu 2\n{}\n", escape(item)));
            in_item = true;
        } else if let Some(term) = line.strip_prefix(": ") {
            out.push_str(&format!(".TP\n\\fB{}\\fR\n", escape(term)));
            in_item = true;
        } else if line.starts_with("| ") {
            let mut rows = vec![cells(line)];
            while let Some(row) = lines.next_if(|l| l.starts_with("| ")) {
                rows.push(cells(row));
            }
            if new_paragraph {
                out.push_str(".PP\n");
            }
            out.push_str(&table(&rows));
        } else if line.is_empty() {
            new_paragraph = true;
            in_item = false;
            continue;
        } else {
            if new_paragraph {
                out.push_str(".PP\n");
            }
            out.push_str(&escape(line));
            out.push('\n');
        }
        new_paragraph = false;
    }
    if in_example {
        out.push_str(".fi\n");
    }
    out
}

/// The cells of a `| a | b | c` table row.
fn cells(row: &str) -> Vec<&str> {
    row.trim_start_matches("| ")
        .split(" | ")
        .map(str::trim)
        .collect()
}

/// A table for tbl: boxed, a bold header row, every cell a text block so that it wraps, within
/// a terminal's width. The first column (the row's name) gets up to 16 columns of text, the
/// others share the rest evenly, and no column is narrower than its longest word (with room
/// to spare for proportional fonts). Inside the table, lines are set ragged-right and
/// unhyphenated (narrow justified columns read badly), and both settings are restored after.
fn table(rows: &[Vec<&str>]) -> String {
    const ROOM: usize = 62;
    let columns = rows.iter().map(Vec::len).max().unwrap_or(1);
    let column = |c: usize| rows.iter().filter_map(move |r| r.get(c));
    let longest: Vec<usize> = (0..columns)
        .map(|c| column(c).map(|s| s.len()).max().unwrap_or(1))
        .collect();
    let word: Vec<usize> = (0..columns)
        .map(|c| {
            let words = column(c).flat_map(|s| s.split_whitespace());
            words.map(str::len).max().unwrap_or(1) + 2
        })
        .collect();
    let room = ROOM - 3 * (columns - 1);
    let first = longest[0].min(16).max(word[0]);
    // The widest share of the other columns that fits: each gets it, or less if it needs less.
    let share = (1..=room)
        .rev()
        .find(|&cap| {
            let others: usize = (1..columns).map(|c| longest[c].min(cap).max(word[c])).sum();
            first + others <= room
        })
        .unwrap_or(1);
    let widths: Vec<usize> = (0..columns)
        .map(|c| match c {
            0 => first,
            _ => longest[c].min(share).max(word[c]),
        })
        .collect();
    let format = |font: &str| {
        let specs: Vec<String> = widths.iter().map(|w| format!("l{font}w({w}n)")).collect();
        specs.join(" ")
    };
    let mut out =
        String::from(".nr ncat-ad \\n[.j]\n.nr ncat-hy \\n[.hy]\n.ad l\n.nh\n.TS\nallbox;\n");
    out.push_str(&format!("{}\n{}.\n", format("b"), format("")));
    for row in rows {
        let blocks: Vec<String> = (0..columns)
            .map(|c| format!("T{{\n{}\nT}}", escape(row.get(c).copied().unwrap_or(""))))
            .collect();
        out.push_str(&blocks.join("\t"));
        out.push('\n');
    }
    // On a terminal the bottom rule takes the line after the table: space for it.
    out.push_str(".TE\n.ad \\n[ncat-ad]\n.hy \\n[ncat-hy]\n.if n .sp\n");
    out
}

/// Escapes text for roff: backslashes, hyphens (so they stay hyphens), quotes (so they stay
/// straight when copied from a terminal), and a leading dot that would read as a request.
fn escape(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\e")
        .replace('-', "\\-")
        .replace('\'', "\\(aq")
        .replace('`', "\\(ga");
    if escaped.starts_with('.') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// Breaks running-text lines longer than 80 columns at spaces, so the roff source reads well;
/// requests, verbatim blocks and table layouts are left as they are.
fn tidy(page: &str) -> String {
    const LIMIT: usize = 80;
    let mut out = String::new();
    let mut verbatim = false;
    let mut table_format = false;
    for line in page.lines() {
        match line {
            ".nf" => verbatim = true,
            ".fi" => verbatim = false,
            ".TS" => table_format = true,
            _ => {}
        }
        let keep = verbatim
            || table_format
            || line.len() <= LIMIT
            || line.starts_with(['.', '\''])
            || line.contains('\t');
        if table_format && line.ends_with('.') {
            table_format = false;
        }
        if keep {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let mut current = String::new();
        for word in line.split_whitespace() {
            if !current.is_empty() && current.len() + 1 + word.len() > LIMIT {
                out.push_str(&current);
                out.push('\n');
                current.clear();
            }
            if current.is_empty() {
                if word.starts_with(['.', '\'']) {
                    current.push_str("\\&");
                }
            } else {
                current.push(' ');
            }
            current.push_str(word);
        }
        out.push_str(&current);
        out.push('\n');
    }
    out
}

const SYNOPSIS_AND_DESCRIPTION: &str = "\
# SYNOPSIS
ncat [options] hostname port

ncat -l [options] [hostname] [port]

ncat -U [options] path
# DESCRIPTION
ncat moves bytes between its standard input and output and a network connection: TCP (the \
default), UDP (-u) or a Unix domain socket (-U), optionally inside TLS (--ssl) or through a \
proxy (--proxy). It connects (the default) or listens (-l); a listener can serve one client, \
many (-k), relay them to each other (--broker, --chat), run a program for each (-e, -c, \
--lua-exec) or act as an HTTP or SOCKS proxy. Its command line, messages and exit statuses are those of \
current Ncat (7.99), so scripts written for Ncat keep working; the few differences are listed \
at the end.

Options and arguments may come in any order, short options can be bundled (-lvnp 4000) and \
take their value attached (-w5), and a long option may be shortened to any unambiguous prefix \
(--bro for --broker). Data goes to stdout and nothing else does: every message is written to \
stderr. Times (-w, -i, -d, -q, --stall-timeout) are seconds unless a unit follows: ms, s, m \
or h (500ms, 1.5m; see TIME VALUES). Without a port, 31337 is used (3128 for the HTTP proxy \
server, 1080 for the SOCKS one).
";

const REFERENCE: &str = "\
# MODES
- Connect mode (the default): connect to hostname port; standard input goes to the socket and \
the socket to standard output. Each address of the name is tried in turn.
- Listen mode (-l): wait for one client and serve it the same way, then exit.
- Keep-open mode (-l -k): serve many clients at once; standard input goes to all of them, \
their data to standard output.
- Broker mode (--broker): relay what each client sends to every other client.
- Chat mode (--chat): a broker in which every client gets a <userN> name, each line is \
prefixed with its sender's name, control characters are escaped, and arrivals and departures \
are announced.
- Exec (-e, -c, --lua-exec): connect the socket to a program's standard input and output \
instead of ncat's, one program per client in listen mode.
- Port probe (-z): only report whether a connection can be made.
- HTTP proxy server (-l --proxy-type http): serve CONNECT, GET, HEAD and POST requests.
- SOCKS proxy server (-l --proxy-type socks4 or socks5, an extension): serve CONNECT requests.
# END OF INPUT AND EXIT
Two events end a session: the end of standard input (Ctrl-D at a terminal, the end of a file \
or pipe) and the peer closing its side. What each does depends on the mode:

| Mode | At the end of stdin | When the peer closes
| Connect (TCP, TLS, -U) | The socket is half-closed (TLS sends close_notify first), and what \
arrives is still printed. | stdout is closed and the session ends, status 0. Piped stdin is \
still sent first, until it ends or is silent for 500 ms.
| Connect with -k | As above. | stdout is closed; stdin goes on being sent until it ends, then \
status 0.
| Connect with -u | The session ends, status 0. | An empty datagram ends it (0); an ICMP \
refusal ends it with Connection refused. (1).
| Exec, every mode | Not read: when the child closes its output, the socket is half-closed \
and the relay ends (0). | The child's input is closed; the relay goes on until the child \
closes its output.
| Listen (-l) | The client is half-closed; the session goes on until it closes. | The session \
ends, status 0 (1 if the connection failed).
| Listen with -k | The clients connected now are half-closed (later ones get no stdin); \
listening goes on. | That client is dropped; listening goes on.
| Broker, chat | stdin is no longer read; nothing else changes. | That client is dropped (in \
chat, announced); the hub goes on.
| UDP listener | stdin is no longer read; listening goes on. | An empty datagram is ignored; \
with -k a peer silent for 60 s is forgotten.

The options change these rules:

| Option | Effect
| --send-only | stdin's end ends the session at once, status 0 (not for a UDP listener). \
Connect mode never reads the socket; listeners read their clients and discard the data, so \
they notice a client leaving.
| --recv-only | stdin is never read, so it never ends and nothing is half-closed; the session \
ends when the peer closes. Broker and chat relay nothing. With --send-only too, nothing moves \
and the session ends at once.
| --no-shutdown | stdin's end half-closes nothing (no TLS close_notify either); the session \
waits for the peer as before.
| -q TIME | After stdin's end (and the half-close) the session goes on for TIME, then ends as an \
idle timeout: status 1 in connect mode, 2 in listen modes. A peer that closes first still \
ends it with 0. -q 0 ends it at stdin's end (0); a negative TIME means stdin's end never ends \
anything, even with --send-only or UDP.
| -k | In connect mode, see above: the peer's close no longer stops stdin being sent.
| -i TIME | Any session ends after TIME without a read either way: Idle timeout expired, \
status 1 in connect mode, 2 in listen modes (the whole listener).

Whatever the mode, a network error ends a connect-mode session with Ncat: and the reason \
(status 1) and a single-client listener silently with status 1, a stdout whose reader has gone \
(ncat ... | head) ends the program quietly with status 0, and a listener that serves many \
clients runs until a signal, a timeout or --send-only ends it.
# TIME VALUES
-w, -i, -d, -q and --stall-timeout take a time: a number, with a fraction or an exponent if \
wanted (1.5, 2e1, and 0x10 as C's strtod reads it), followed by an optional unit in either \
case: ms for milliseconds, s for seconds, m for minutes, h for hours. Without a unit it is \
seconds.

The value must come to more than 0 and at most 2147483647 milliseconds (nearly 25 days); \
otherwise ncat stops with Invalid -w timeout \"0\" (must be greater than 0 and less than \
2147483s). naming the option. A number of 100 or more without a unit is refused as a likely \
mistake (seconds were once milliseconds): write 100s, or 100ms if that was meant. -q alone also \
takes 0 (at once) and negative times (never).

Examples: -w 3 (three seconds), -w 500ms, -i 1.5m, -q 2s, --stall-timeout 1h.
# HOST SPECIFICATIONS
--allow and --deny take a comma-separated list of entries, and may be repeated; \
--allowfile and --denyfile read entries separated by white space (spaces, tabs, newlines). A \
file has no comment syntax, and an entry in a file may be at most 1023 characters. Each \
entry is, tried in this order:
: address[/bits]
An IPv4 or IPv6 address, with an optional prefix length: 0 to 32 bits for IPv4, 0 to 128 for \
IPv6 (192.168.1.0/24, 2001:db8::/32, ::1). The short IPv4 forms of inet_aton are accepted too \
(127.1 is 127.0.0.1).
: octet pattern[/bits]
Four IPv4 octets, each of them *, a number, a range a-b (either end may be left out: -5 is \
0-5, 250- is 250-255) or, in a file only, a comma-separated list of those; an optional /bits \
widens the pattern. Examples: 10.0.0.*, 192.168.0-3.1-254, and in a file 10.1.1,3.9.
: name[/bits]
A host name, resolved (not with -n) to all its addresses in the family of -4 or -6, each \
taken as an address with the same /bits.

Addresses are compared in IPv6 form, an IPv4 address as ::ffff:a.b.c.d: ::/0 therefore \
matches every client, IPv4 ones included, while 0.0.0.0/0 matches IPv4 clients only, and \
127.0.0.1 does not match a client on ::1. A client that arrives as an IPv4-mapped address is \
matched as the IPv4 address it is.

A client is admitted when it is in the allow set (if there is one) and not in the deny set, so \
deny wins. A refused TCP client is accepted and closed at once, so it sees an EOF (with -v the \
listener prints New connection denied: not allowed); a refused UDP datagram is dropped; the \
HTTP proxy server closes refused clients silently; clients of a Unix socket have no address \
and are not checked. A bad entry stops ncat before it listens, naming the entry: error in host \
specification \"10.0.0.0/33\" after a line that says what is wrong (Illegal netmask, Error \
parsing netmask, Error resolving name), or error in hosts file for a file.
# CHAT AND BROKER PROTOCOL
A broker (--broker) relays the bytes each client sends, exactly as they are, to every other \
client; the listener's stdin goes to every client, and stdout receives nothing. A client gets \
only what is relayed while it is connected: there is no history. Chat (--chat) adds the \
following, and is plain text that any client can speak: there are no commands and no \
nicknames.
: Names
Each client is called <userN>, after Ncat's habit of naming users by their file descriptor: \
the first client gets 3 plus one per log file (-o, -x) plus one per listening socket, which is \
<user5> for a listener on every address (two sockets) and <user4> for one address, -4, -6 or \
-U. Every later client gets the lowest number not in use, so numbers come back when clients \
leave. The listener's stdin speaks as <user0>.
: Announcements
When a client is admitted, everyone, the newcomer included, gets two lines, the second \
listing the clients already there in ascending order (or nobody):
$ <announce> 127.0.0.1 is connected as <user7>.
$ <announce> already connected: 127.0.0.1 as <user5>, ::1 as <user6>.
Addresses are shown without a port (IPv4-mapped ones as IPv4, Unix clients as localhost). \
When a client leaves (it closes, fails, or is dropped for not reading), the others get:
$ <announce> <user5> is disconnected.
: Lines
What a client sends is cut into lines, and each complete line goes to every other client as \
<userN>, a space, and the line, its newline included. A line that arrives in pieces is held \
until its newline and sent with one prefix; a line longer than 8 KiB goes out in pieces of 8 \
KiB, each prefixed; an unfinished last line goes out when its sender leaves. stdin is framed \
the same way, after -C.
: Escaping
Every byte but printable ASCII (0x20 to 0x7E), tab, line feed and carriage return is sent as a \
backslash and three octal digits, so no one can drive the others' terminals: ESC becomes \
\\033, NUL \\000, 0xFF \\377, and each byte of a UTF-8 letter is escaped on its own (\\303\\251 \
for an e with an acute accent). A backslash itself is not escaped, as in Ncat.
: Flow control
Each client has an outgoing queue of 1 MiB. While any queue is full, the hub stops reading \
from every sender, stdin included, so TCP back-pressure paces fast senders to the slowest \
reader and no byte is dropped (a queue may exceed 1 MiB by one 64 KiB read per sender). A \
client whose full queue makes no progress for the stall timeout (2 seconds, --stall-timeout) \
is disconnected, in chat with an announcement, and the others go on at full speed. In -k mode \
the same limit applies to the stdin data queued for each client.
: Other options
--send-only discards what clients send (only stdin is relayed); --recv-only relays nothing; -o \
and -x log every client read and every relayed message once; -d pauses after each client read; \
-t answers each client's Telnet negotiation on its own connection; -m limits the clients \
(100).
# TLS
TLS is rustls (TLS 1.2 and 1.3) with the ring provider; OpenSSL is not used.
: Certificates
A listener without --ssl-cert and --ssl-key makes a fresh certificate at start, before it \
listens: an ECDSA P-256 key, self-signed, valid for one year, kept in memory only. It is made \
out to the listening address as typed, or to localhost, 127.0.0.1 and ::1 when listening on \
every address. With -v the listener prints Generating a temporary ECDSA P-256 key and the \
certificate's SHA-1 and SHA-256 fingerprints, which a client's -v output can be compared with. \
For a lasting identity, give a PEM certificate (or chain) and its key, made for example by:
$ openssl req -x509 -newkey rsa:2048 -nodes -days 365 \\
$     -subj /CN=myhost -keyout key.pem -out cert.pem
: Verification
By default a client checks the server's certificate only to report on it: with -v it prints \
SSL connection to the address, the SHA-1 and SHA-256 fingerprints and, when the check fails, \
the subject, the issuer and the reason (Certificate verification failed (self-signed \
certificate).), and the connection goes on. --ssl-verify (or --ssl-trustfile) makes the check \
count: the chain must lead to the system's trust store (SSL_CERT_FILE and SSL_CERT_DIR replace \
it) or to --ssl-trustfile, be valid now, and name the server, in a subjectAltName entry or, \
without any, in the common name; a wildcard covers one leftmost label. An untrusted chain ends \
with Ncat: Input/output error. (status 1), a name that does not match with Ncat: Certificate \
verification error. QUITTING. (status 2). A certificate listed in --ssl-trustfile is trusted as \
it stands, which pins a self-signed server.
: Cipher suites
--ssl-ciphers takes suite names separated by : or , from this list (all are allowed by \
default):
@SUITES@
: Sessions
Listeners run every handshake on its own, for at most 30 seconds, so a slow or silent client \
holds up nobody; a single-client listener serves the first client that completes one. At the \
end of stdin a session sends close_notify before the TCP half-close (neither with \
--no-shutdown), and a peer that closes without close_notify is taken as an EOF. There is no \
TLS over Unix sockets.
: DTLS
-u --ssl is DTLS 1.2, on OpenSSL (the library Ncat uses, so its peers and cipher strings \
work unchanged; --ssl-ciphers then takes OpenSSL syntax). Each record is one datagram, of at \
most 16 KiB of data. The certificate options, the checks and the -v report are those of TLS. A \
client ends at the end of stdin, after sending close_notify (or as -q says). A listener gives \
each new peer a UDP socket of its own, connected to it, so every listen mode (-l, -k, exec, \
--broker, --chat) serves DTLS peers as it serves TCP clients, and a received close_notify is \
that peer's EOF. Datagrams that open no handshake are dropped; an unfinished handshake is \
dropped after 30 seconds. UDP has no flow control: a sender faster than its receiver loses \
records, as plain UDP loses datagrams.
# PROXIES
: Types
--proxy-type http (the default) sends CONNECT host:port HTTP/1.0 and, if the proxy answers \
407, tries again with Basic or Digest authentication, as the proxy asks. socks4 sends the \
target's IPv4 address, or its name (SOCKS4a) when the proxy resolves it, with --proxy-auth as \
the user ID. socks5 offers no authentication, or user name and password when --proxy-auth is \
given, and sends an IPv4 or IPv6 address or a name. The proxy's port defaults to 3128 for HTTP \
and 1080 for SOCKS.
: Names
--proxy-dns decides who resolves the target: remote (the default) sends the name, local \
resolves it here (Error: Failed to resolve host NAME locally. when that fails), both resolves \
here and falls back to sending the name, none accepts numeric targets only.
: Errors
A proxy that cannot be reached gives Ncat: Proxy connection failed: and the reason, an HTTP \
refusal Ncat: Proxy returned status code N., a SOCKS refusal Ncat: Error: and the proxy's \
reason; all end with status 1. Bytes the target sends right after the proxy's reply, such as \
an SSH banner, reach stdout.
: Chains (extension)
--proxy a,b,... goes through each hop in order: ncat connects to the first, and each hop's \
handshake runs through the tunnel the hops before it opened, the last one asking for the \
target. A hop is [scheme://][user:password@]host[:port]; the schemes are http, socks4 (or \
socks4a) and socks5 (or socks5h), a hop without one speaks --proxy-type, and %XX escapes in \
the credentials are decoded. The first hop's name is resolved here, every other one by the hop \
before it; --proxy-dns is about the target. Each hop takes the credentials in its URL, and \
--proxy-auth is refused with a chain (a single hop still takes it, or NCAT_PROXY_AUTH, when its \
URL has none). -w bounds the whole chain. An error names its hop, without its credentials: \
Ncat: Proxy 2 of 2 (socks5://b:1080): Error: Connection refused. An HTTP hop that answers 407 \
gets its credentials on a new chain, as a single HTTP proxy does on a new connection.
: The HTTP proxy server
ncat -l --proxy-type http [address] [port] listens where it is told (every address and port \
3128 by default) and serves each client on its own: CONNECT opens a tunnel (half-closes pass \
through both ways), and GET, HEAD and POST with an http:// URI are forwarded as HTTP/1.0 with \
Connection: close and without the hop-by-hop headers. Errors are answered 400 (bad request), \
403 (a request to the proxy itself), 405 (another method), 407 (credentials wanted), 413 (a \
request line or header too long) and 504 (target unreachable). --proxy-auth user:password \
makes it require credentials, Basic or Digest; --allow and --deny apply, -m does not, --ssl \
makes it an HTTPS proxy, and stdin and stdout are not used. It is refused with -t, exec, \
--broker and --chat.
: The SOCKS proxy server (extension)
ncat -l --proxy-type socks5 [address] [port] (port 1080 by default) serves SOCKS5 clients, and \
--proxy-type socks4 SOCKS4 and SOCKS4a ones; a client speaking another version is closed. Only \
CONNECT is served: BIND and UDP ASSOCIATE are answered \"command not supported\" (SOCKS4: \
rejected), an unknown address type \"address type not supported\", and a target that cannot be \
reached the matching reply (refused, host or network unreachable). --proxy-auth user:password \
makes SOCKS5 clients log in with that user name and password (RFC 1929), and is the user ID a \
SOCKS4 client must send. --allow and --deny close refused clients silently, -m bounds the \
clients served at once (100 by default, as for -k), -4 and -6 restrict the targets it connects \
to, -w bounds each connection to a target (10 seconds by default), and --ssl runs the whole \
exchange inside TLS. A client that has not completed its request within 30 seconds is \
closed. With -v each request is logged. It is refused where the HTTP proxy \
server is.
# ENVIRONMENT
: NCAT_PROXY_AUTH
Proxy credentials, user:password, used when --proxy-auth is not given: by the client for \
--proxy, and by the proxy servers as what clients must present. Unlike an option, it does \
not show in the process list.
: NCAT_REMOTE_ADDR, NCAT_REMOTE_PORT
Set for the children of -e, -c and --lua-exec: the peer's address and port, numeric and \
without brackets. Over a Unix socket the address is localhost and the port is empty.
: NCAT_LOCAL_ADDR, NCAT_LOCAL_PORT
The local end of the child's connection, in the same form.
: NCAT_PROTO
TCP or UDP: TCP for TLS and Unix stream sockets too, UDP for Unix datagram sockets. The rest \
of ncat's environment is passed on to the children as it is.
: TMPDIR
Where -U -u without -s makes its temporary client socket (/tmp when unset).
: SSL_CERT_FILE, SSL_CERT_DIR
A PEM file, or a colon-separated list of directories, of trusted certificates that replace the \
system's store for --ssl-verify.
# EXIT STATUS
: 0
The session ended normally: the peer closed, stdin ended under --send-only or -q 0, stdout's \
reader went away, -z found an open port, or an informational option (-h, --version, \
--man-page, --completions) was done.
: 1
A network error at run time, printed as Ncat: and the reason: Connection refused., TIMEOUT., \
Connection reset by peer., a failed TLS handshake (Input/output error.), a proxy's refusal or \
failure; also a connect-mode idle or -q timeout, -z finding nothing open, and a single-client \
listener whose client failed (silently).
: 2
Bad options and other fatal errors, printed as Ncat: ... QUITTING. (an invalid option \
combination, a name that does not resolve, an address that cannot be bound, a listen-mode idle \
or -q timeout, a certificate that does not match its name under --ssl-verify); an unknown \
option, printed as ncat: ... followed by a hint; open: or write: and the reason when a log \
file cannot be opened or stdout or a log file cannot be written.
";

const CLOSING: &str = "\
# DIFFERENCES FROM NCAT
ncat follows current Ncat (7.96 and later): connect mode ends when the peer closes, -k in \
connect mode keeps sending stdin, -q works in every mode, and --recv-only never reads stdin. \
Where it differs from Ncat, it is on purpose:
- Broker and chat clients have bounded queues: a fast sender is paced, a client that stops \
reading is dropped after --stall-timeout, and nothing is lost for the others.
- Chat is framed by line, not by read; chat names do not shift with inherited descriptors.
- Thousands of clients at once (no select() limit), a listen backlog of 4096, and reads of 64 \
KiB, UDP datagrams kept whole.
- Exec relays lose nothing, and children inherit only descriptors 0, 1 and 2.
- -t strips the negotiation it answers; -m must be a whole number; -s and -p that cannot be \
bound are fatal; a refused client does not hang a single-client listener.
- TLS is rustls: --ssl-ciphers takes suite names, the generated certificate is ECDSA P-256, \
and --ssl-trustfile adds to the system store.
- The HTTP proxy server listens where it is told.
- Extensions: --progress, --stall-timeout, --chat-utf8, --chat-console, --ssl-pin, \
--ssl-client-ca, --pty, the SOCKS proxy server, proxy chains, SIGHUP reloading \
--allowfile and --denyfile, port ranges with -z, --man-page and --completions.

The README lists every difference and the reason for each.
# SEE ALSO
nc(1), socat(1), ncat's README and docs/GUIDE.md (a walk through the common tasks)
";

#[cfg(test)]
mod tests {
    use super::*;

    /// Every visible option of the command line, as `--long` or `-s`.
    fn visible_options() -> Vec<String> {
        Cli::command()
            .get_arguments()
            .filter(|a| !a.is_hide_set() && !a.is_positional())
            .map(|a| match a.get_long() {
                Some(long) => format!("--{long}"),
                None => format!("-{}", a.get_short().unwrap_or_default()),
            })
            .collect()
    }

    #[test]
    fn the_man_page_mentions_every_option() {
        let page = String::from_utf8(man_page()).unwrap().replace("\\-", "-");
        for option in visible_options() {
            assert!(page.contains(&option), "{option} missing from the man page");
        }
        for section in [
            "SYNOPSIS",
            "EXIT STATUS",
            "ENVIRONMENT",
            "EXAMPLES",
            "NCAT_PROXY_AUTH",
            "END OF INPUT AND EXIT",
            "CHAT AND BROKER PROTOCOL",
            "HOST SPECIFICATIONS",
            "TIME VALUES",
            "TLS",
            "PROXIES",
            "DIFFERENCES FROM NCAT",
            "--man-page",
            "--completions",
        ] {
            assert!(page.contains(section), "{section}");
        }
    }

    /// The sentences of a text, counted by their ends: a period before a space or a line
    /// break, or at the very end.
    fn sentences(text: &str) -> usize {
        let text = text.trim_end();
        text.matches(". ").count() + text.matches(".\n").count() + usize::from(text.ends_with('.'))
    }

    #[test]
    fn every_listed_option_has_a_long_help_of_two_sentences_or_more() {
        for arg in Cli::command().get_arguments() {
            if arg.is_hide_set() || arg.is_positional() {
                continue;
            }
            let name = arg.get_id();
            let long = arg
                .get_long_help()
                .unwrap_or_else(|| panic!("{name} has no long_help"))
                .to_string();
            assert!(sentences(&long) >= 2, "{name}: {long}");
            // The man page's text is not the one-line summary again.
            let short = arg.get_help().map(ToString::to_string).unwrap_or_default();
            assert!(!long.starts_with(&short), "{name} repeats its summary");
        }
    }

    #[test]
    fn extensions_say_so() {
        let command = Cli::command();
        for id in [
            "progress",
            "stall_timeout",
            "chat_utf8",
            "chat_console",
            "ssl_pin",
            "ssl_client_ca",
            "proxy_type",
            "pty",
            "allowfile",
            "denyfile",
            "zero_io",
            "man_page",
            "completions",
        ] {
            let arg = command.get_arguments().find(|a| a.get_id() == id).unwrap();
            let long = arg.get_long_help().unwrap().to_string();
            assert!(long.contains("extension"), "{id}: {long}");
        }
    }

    #[test]
    fn help_stays_one_line_per_option_and_points_to_the_manual() {
        let help = crate::cli::help();
        let options = help
            .lines()
            .filter(|l| l.starts_with("  ") && l.trim_start().starts_with('-'))
            .count();
        assert_eq!(options, visible_options().len(), "{help}");
        let last = help.lines().last().unwrap();
        assert!(last.contains("ncat --man-page") && last.contains("docs/GUIDE.md"));
    }

    /// groff, run as `man` runs it (tbl first), must format the page without a warning, at
    /// terminal width and in print. Without groff the test is skipped, with a note on stderr
    /// for whoever runs it, except in CI, where groff must be there.
    #[test]
    #[allow(clippy::print_stderr)]
    fn the_man_page_renders_without_warnings() {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let page = man_page();
        for device in ["utf8", "ps"] {
            let child = Command::new("groff")
                .args(["-t", "-man", "-ww", "-z", "-T", device])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn();
            let mut child = match child {
                Ok(child) => child,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    assert!(
                        std::env::var_os("CI").is_none(),
                        "groff is not installed (CI is set): apt-get install groff"
                    );
                    eprintln!("skipped: groff is not installed");
                    return;
                }
                Err(e) => panic!("groff: {e}"),
            };
            child.stdin.take().unwrap().write_all(&page).unwrap();
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "groff -T {device} failed: {stderr}");
            assert_eq!(stderr, "", "groff -T {device} warns");
        }
    }

    #[test]
    fn the_man_page_source_is_tidy() {
        let page = String::from_utf8(man_page()).unwrap();
        assert!(page.starts_with("'\\\" t\n"), "tbl is announced for man");
        let mut verbatim = false;
        for line in page.lines() {
            match line {
                ".nf" => verbatim = true,
                ".fi" => verbatim = false,
                _ => {}
            }
            if !verbatim && !line.starts_with('.') && !line.contains('\t') {
                assert!(line.len() <= 80, "long line: {line}");
            }
            assert!(
                !line.starts_with(' ') || verbatim,
                "leading space: {line:?}"
            );
        }
    }

    #[test]
    fn examples_are_in_the_man_page() {
        let page = String::from_utf8(man_page()).unwrap();
        for example in EXAMPLES {
            for command in example.commands {
                assert!(
                    page.contains(&format!("    {}\n", escape(command))),
                    "{command}"
                );
            }
        }
    }

    #[test]
    fn completions_mention_every_option() {
        for shell in ["bash", "zsh", "fish"] {
            let script = String::from_utf8(completions(shell).unwrap()).unwrap();
            for option in visible_options() {
                let bare = option.trim_start_matches('-');
                assert!(
                    script.contains(bare),
                    "{option} missing from the {shell} completions"
                );
            }
        }
        assert!(completions("tcsh").is_err());
    }

    #[test]
    fn roff_escapes() {
        assert_eq!(escape(".start -x \\ 'q'"), "\\&.start \\-x \\e \\(aqq\\(aq");
        let text = roff_sections("# T\n$ ncat -l\ntext\n");
        assert_eq!(text, ".SH \"T\"\n.PP\n.nf\n    ncat \\-l\n.fi\ntext\n");
        let text = roff_sections("a\n\n: t\nb\n\n- c\n\nd\n");
        assert_eq!(text, "a\n.TP\n\\fBt\\fR\nb\n.IP \\(bu 2\nc\n.PP\nd\n");
        let table = roff_sections("| h1 | h2\n| a | b\n");
        assert!(table.contains(".TS\nallbox;\n"), "{table}");
        assert!(table.contains("T{\na\nT}\tT{\nb\nT}\n.TE\n"), "{table}");
    }

    #[test]
    fn tidy_wraps_running_text_only() {
        let long = "word ".repeat(40);
        let text = format!(".TP\n{long}\n.nf\n{long}\n.fi\n");
        let tidied = tidy(&text);
        assert!(
            tidied
                .lines()
                .all(|l| l.len() <= 80 || l.starts_with("word word"))
        );
        assert_eq!(tidied.matches(".nf\n").count(), 1);
        assert!(tidy(&format!("{} .x", "a ".repeat(40))).contains("\n\\&.x"));
    }
}

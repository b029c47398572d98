//! The man page and shell completions, generated from the same clap definitions as `--help`
//! (`ncat --man-page`, `ncat --completions bash|zsh|fish`), so none of them is kept by hand.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::error::Failure;

/// The command as the generated documents present it.
fn command() -> clap::Command {
    Cli::command()
        .about("concatenate and redirect sockets (a reimplementation of Ncat 7.99)")
        .version(env!("CARGO_PKG_VERSION"))
}

/// `ncat(1)` in roff.
pub fn man_page() -> Vec<u8> {
    let man = clap_mangen::Man::new(command())
        .title("NCAT")
        .section("1")
        .source(format!("ncat {}", env!("CARGO_PKG_VERSION")))
        .manual("User Commands");
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = man.render_title(&mut out);
    let _ = man.render_name_section(&mut out);
    out.extend_from_slice(roff_sections(SYNOPSIS_AND_DESCRIPTION).as_bytes());
    let _ = man.render_options_section(&mut out);
    out.extend_from_slice(roff_sections(REST).as_bytes());
    out
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

/// Turns the light markup below into roff: `# TITLE` starts a section, `$ command` is an
/// example line (shown verbatim), `- item` a bulleted paragraph, anything else running text;
/// a blank line ends a paragraph.
fn roff_sections(text: &str) -> String {
    let mut out = String::new();
    let mut in_example = false;
    for line in text.lines() {
        let example = line.strip_prefix("$ ");
        if in_example && example.is_none() {
            out.push_str(".fi\n");
            in_example = false;
        }
        if let Some(title) = line.strip_prefix("# ") {
            out.push_str(&format!(".SH \"{}\"\n", escape(title)));
        } else if let Some(command) = example {
            if !in_example {
                out.push_str(".PP\n.nf\n");
                in_example = true;
            }
            out.push_str(&format!("    {}\n", escape(command)));
        } else if let Some(item) = line.strip_prefix("- ") {
            out.push_str(&format!(".IP \\(bu 2\n{}\n", escape(item)));
        } else if line.is_empty() {
            out.push_str(".PP\n");
        } else {
            out.push_str(&escape(line));
            out.push('\n');
        }
    }
    if in_example {
        out.push_str(".fi\n");
    }
    out
}

/// Escapes text for roff: backslashes, hyphens (so they stay hyphens), and a leading dot or
/// quote that would read as a request.
fn escape(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

const SYNOPSIS_AND_DESCRIPTION: &str = "\
# SYNOPSIS
ncat [options] hostname port

ncat -l [options] [hostname] [port]

ncat -U [options] path
# DESCRIPTION
ncat moves bytes between the standard input and output and a network connection: TCP (the \
default), UDP (-u), Unix domain sockets (-U), optionally inside TLS (--ssl) or through a proxy \
(--proxy). It reads and writes the command line, messages and exit statuses of current Ncat (7.99), so \
scripts written for Ncat keep working.

Times (-w, -i, -d, -q, --stall-timeout) are seconds unless a unit follows: ms, s, m or h \
(500ms, 1.5m). Without a port, 31337 is used (3128 for the HTTP proxy server).
";

const REST: &str = "\
# MODES
- Connect mode (the default): connect to hostname:port; standard input goes to the socket and \
the socket to standard output. The end of standard input half-closes the connection; the \
program ends when the peer closes.
- Listen mode (-l): wait for one client and serve it the same way, then exit. With -k, serve \
many clients at once: standard input goes to all of them, their data to standard output.
- Broker mode (--broker): relay what each client sends to every other client.
- Chat mode (--chat): a broker in which every client gets a <userN> name, each line is \
prefixed with its sender's name, control characters are escaped, and arrivals and departures \
are announced.
- Exec (-e, -c): connect the socket to a program's standard input and output instead, one \
program per client in listen mode.
- Port probe (-z): only report whether a connection can be made.
- HTTP proxy server (-l --proxy-type http): serve CONNECT, GET, HEAD and POST requests.
# EXIT STATUS
0 when the session ends normally; 1 for a network error at run time (connection refused, \
timeout, reset, a failed TLS handshake, a proxy that refuses); 2 for bad options and other \
fatal errors, reported as \"Ncat: ... QUITTING.\".
# ENVIRONMENT
- NCAT_PROXY_AUTH: proxy credentials (user:password) when --proxy-auth is not given, so they \
do not show in the process list.
- NCAT_REMOTE_ADDR, NCAT_REMOTE_PORT, NCAT_LOCAL_ADDR, NCAT_LOCAL_PORT, NCAT_PROTO: set for \
the programs started by -e and -c, describing their connection.
# EXAMPLES
Two-user chat, host A listening and host B connecting:
$ ncat -l 9000
$ ncat hostA 9000

A client for any TCP service:
$ printf 'GET / HTTP/1.0\\r\\n\\r\\n' | ncat example.org 80

A chat server for many users:
$ ncat -l 9000 --chat

File transfer (both ends exit when the file is through):
$ ncat -l 9000 > received.bin
$ ncat hostA 9000 < file.bin

A service made of a program, one copy per client:
$ ncat -l -k 9000 -c 'echo hello from $(hostname)'

A hub relaying every client to all the others:
$ ncat -l --broker 9000

TLS, and a proxy:
$ ncat -l --ssl 9443
$ ncat --ssl-verify example.org 443
$ ncat --proxy proxy:1080 --proxy-type socks5 example.org 22
# DIFFERENCES FROM NCAT
- Current Ncat (7.99) is followed: connect mode ends when the peer closes, -k in connect mode \
keeps sending stdin, -q works in every mode, --recv-only never reads stdin.
- Broker and chat clients have bounded queues: a fast sender is paced, a client that stops \
reading is dropped after --stall-timeout (2s), and nothing is lost for the others.
- Chat is framed by line; exec children inherit only descriptors 0, 1 and 2.
- Thousands of clients at once (no select() limit); listen backlog 4096.
- TLS is rustls: --ssl-ciphers takes TLS suite names; the generated certificate is ECDSA P-256.
- The HTTP proxy server binds the address it is given.
- The README lists every difference.
# SEE ALSO
nc(1), socat(1), ncat's README and docs/GUIDE.md
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
        ] {
            assert!(page.contains(section), "{section}");
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
        assert_eq!(escape(".start -x \\"), "\\&.start \\-x \\e");
        let text = roff_sections("# T\n$ ncat -l\ntext\n");
        assert_eq!(text, ".SH \"T\"\n.PP\n.nf\n    ncat \\-l\n.fi\ntext\n");
    }
}

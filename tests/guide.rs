//! Runs the commands of docs/GUIDE.md and of the man page's EXAMPLES (`ncat::manual::EXAMPLES`),
//! as written there (through `sh`, with this build as `ncat` and their ports swapped for free
//! ones), so neither can rot.

use crate::common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};

const GUIDE: &str = include_str!("../docs/GUIDE.md");

/// This file, to check that every man page example is run by one of its tests.
const THIS_FILE: &str = include_str!("guide.rs");

/// Every command of the man page's EXAMPLES section.
fn man_page_commands() -> impl Iterator<Item = &'static str> {
    ncat::manual::EXAMPLES
        .iter()
        .flat_map(|example| example.commands.iter().copied())
}

/// A scratch directory and the port swaps for one test.
struct Session {
    dir: PathBuf,
    ports: Vec<(&'static str, String)>,
    children: Vec<Child>,
}

impl Drop for Session {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port free on every address, below the kernel's ephemeral range (32768 and up), so that
/// client sockets of tests running alongside cannot take it between this check and its use.
fn free_port() -> String {
    let seed = std::process::id() as usize * 7919
        + std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos() as usize);
    (0..10_000)
        .map(|i| 20_000 + (seed + i * 131) % 12_000)
        .find(|&port| {
            let port = port as u16;
            TcpListener::bind(("0.0.0.0", port)).is_ok() && TcpListener::bind(("::", port)).is_ok()
        })
        .expect("a free port")
        .to_string()
}

impl Session {
    fn new(tag: &str) -> Session {
        let dir = std::env::temp_dir().join(format!("ncat-guide-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Session {
            dir,
            ports: vec![
                ("9000", free_port()),
                ("3128", free_port()),
                ("8080", free_port()),
            ],
            children: Vec::new(),
        }
    }

    fn port(&self, guide_port: &str) -> u16 {
        let (_, port) = self.ports.iter().find(|(p, _)| *p == guide_port).unwrap();
        port.parse().unwrap()
    }

    /// A command of the guide or of the man page's examples (it must appear there as written)
    /// ready to run.
    fn command(&self, line: &str) -> Command {
        assert!(
            GUIDE.contains(line) || man_page_commands().any(|c| c == line),
            "neither the guide nor the man page says `{line}`: update the test with it"
        );
        // Through placeholders, so that a free port containing another's digits stays intact.
        let mut text = line.to_string();
        for (i, (from, _)) in self.ports.iter().enumerate() {
            text = text.replace(from, &format!("\u{1}{i}\u{1}"));
        }
        for (i, (_, to)) in self.ports.iter().enumerate() {
            text = text.replace(&format!("\u{1}{i}\u{1}"), to);
        }
        if !text.contains('|') {
            // The shell becomes ncat, so killing it kills ncat (after any `NAME=value`).
            let assignments = text
                .split(' ')
                .take_while(|word| word.split_once('=').is_some_and(|(n, _)| is_name(n)))
                .count();
            let mut words: Vec<&str> = text.split(' ').collect();
            words.insert(assignments, "exec");
            text = words.join(" ");
        }
        let bin_dir = PathBuf::from(env!("CARGO_BIN_EXE_ncat"))
            .parent()
            .unwrap()
            .to_path_buf();
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(text)
            .env("PATH", path)
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Starts a guide command and keeps it until the end of the test.
    fn start(&mut self, line: &str) -> usize {
        let child = self.command(line).spawn().unwrap();
        self.children.push(child);
        self.children.len() - 1
    }

    /// Starts a listener from the guide and waits until its port is listening.
    fn start_listener(&mut self, line: &str, guide_port: &str) -> usize {
        let index = self.start(line);
        let port = self.port(guide_port);
        if wait_for(|| (sockets(port, "0A") > 0).then_some(())).is_none() {
            let child = &mut self.children[index];
            let _ = child.kill();
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            panic!("`{line}` never listened on {port}: {err}");
        }
        index
    }

    /// Runs a guide command to its end; returns status, stdout and stderr.
    fn run(&self, line: &str) -> (i32, String, String) {
        let out = self.command(line).stdin(Stdio::null()).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn write(&mut self, index: usize, text: &str) {
        let stdin = self.children[index].stdin.as_mut().unwrap();
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    fn stdout(&mut self, index: usize) -> BufReader<ChildStdout> {
        BufReader::new(self.children[index].stdout.take().unwrap())
    }

    fn wait(&mut self, index: usize) -> i32 {
        self.children[index].wait().unwrap().code().unwrap_or(-1)
    }
}

/// Whether `word` is a shell variable name.
fn is_name(word: &str) -> bool {
    !word.is_empty()
        && !word.starts_with(|c: char| c.is_ascii_digit())
        && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Sockets on local `port` in a given TCP state (`0A` listening, `01` established), from
/// /proc, so that checking never takes a listener's one client slot.
fn sockets(port: u16, state: &str) -> usize {
    let local = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .flat_map(|table| {
            table
                .lines()
                .skip(1)
                .map(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    (fields[1].ends_with(&local) && fields[3] == state) as usize
                })
                .collect::<Vec<_>>()
        })
        .sum()
}

/// Reads lines until one contains `text`.
fn read_until(reader: &mut impl BufRead, text: &str) -> String {
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).unwrap();
        assert!(n > 0, "EOF before {text:?}; got {seen:?}");
        seen.push_str(&line);
        if line.contains(text) {
            return seen;
        }
    }
}

/// The two ends of a conversation: each side's words reach the other.
fn converse(session: &mut Session, a: usize, b: usize) {
    let (mut a_out, mut b_out) = (session.stdout(a), session.stdout(b));
    session.write(a, "hello from A\n");
    read_until(&mut b_out, "hello from A");
    session.write(b, "hello from B\n");
    read_until(&mut a_out, "hello from B");
    // B ends its input: A sees the close and exits, then so does B.
    drop(session.children[b].stdin.take());
    assert_eq!(session.wait(a), 0);
    assert_eq!(session.wait(b), 0);
}

#[test]
fn talk_to_someone() {
    let mut session = Session::new("talk");
    let a = session.start_listener("ncat -l 9000", "9000");
    let b = session.start("ncat localhost 9000");
    converse(&mut session, a, b);
}

#[test]
fn send_a_file_and_watch_it_go() {
    let mut session = Session::new("file");
    let data = pattern(3 << 20, 11);
    std::fs::write(session.dir.join("file.bin"), &data).unwrap();
    for sender in [
        "ncat localhost 9000 < file.bin",
        "ncat --progress localhost 9000 < file.bin",
    ] {
        let a = session.start_listener("ncat -l 9000 > received.bin", "9000");
        let (code, _, err) = session.run(sender);
        assert_eq!(code, 0, "{sender}: {err}");
        assert_eq!(session.wait(a), 0);
        let received = std::fs::read(session.dir.join("received.bin")).unwrap();
        assert_eq!(checksum(&received), checksum(&data), "{sender}");
        if sender.contains("--progress") {
            assert!(err.contains("Ncat: sent 3.0 MiB"), "{err}");
        } else {
            assert_eq!(err, "");
        }
    }
}

#[test]
fn check_whether_a_port_is_open() {
    let mut session = Session::new("probe");
    let (code, _, err) = session.run("ncat -z -v localhost 9000");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("Ncat: Connection refused."), "{err}");
    session.start_listener("ncat -l -k 9000 --sh-exec 'tr a-z A-Z'", "9000");
    let (code, _, err) = session.run("ncat -z -v localhost 9000");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("Ncat: Connected to "), "{err}");
}

#[test]
fn offer_a_program_as_a_service() {
    let mut session = Session::new("service");
    session.start_listener("ncat -l -k 9000 --sh-exec 'tr a-z A-Z'", "9000");
    for _ in 0..2 {
        let (code, out, err) = session.run("echo 'hello, service' | ncat localhost 9000");
        assert_eq!((code, out.as_str()), (0, "HELLO, SERVICE\n"), "{err}");
    }
}

/// Connects a client the way the guide says and waits until the server holds `count`.
fn join(session: &mut Session, count: usize) -> usize {
    let client = session.start("ncat localhost 9000");
    let port = session.port("9000");
    // Each connection shows twice in /proc (both ends are local): count the server's side.
    wait_for(|| (sockets(port, "01") >= count).then_some(()))
        .unwrap_or_else(|| panic!("client {count} never connected"));
    client
}

#[test]
fn run_a_hub() {
    let mut session = Session::new("hub");
    session.start_listener("ncat -l --broker 9000", "9000");
    let first = join(&mut session, 1);
    let second = join(&mut session, 2);
    let mut second_out = session.stdout(second);
    session.write(first, "to everyone else\n");
    read_until(&mut second_out, "to everyone else");
}

#[test]
fn run_a_chat_room() {
    let mut session = Session::new("chat");
    session.start_listener("ncat -l --chat 9000", "9000");
    let first = join(&mut session, 1);
    let mut first_out = session.stdout(first);
    read_until(&mut first_out, "<announce>");
    let second = join(&mut session, 2);
    read_until(&mut first_out, "is connected as <user");
    session.write(second, "hi all\x1b[2J\n");
    let line = read_until(&mut first_out, "hi all");
    // The escape sequence arrives defused.
    assert!(line.contains("<user6> hi all\\033[2J\n"), "{line:?}");
}

#[test]
fn encrypt_with_tls() {
    let mut session = Session::new("tls");
    let a = session.start_listener("ncat -l --ssl 9000", "9000");
    let b = session.start("ncat --ssl localhost 9000");
    converse(&mut session, a, b);
}

#[test]
fn go_through_a_proxy() {
    let mut session = Session::new("proxy");
    session.start_listener("ncat -l --proxy-type http localhost 3128", "3128");
    let target = session.start_listener("ncat -l 9000", "9000");
    let client = session.start("ncat --proxy localhost:3128 localhost 9000");
    converse(&mut session, target, client);
    let mut err = String::new();
    let _ = session.children[client]
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err);
    assert_eq!(err, "");
}

// The man page's examples (src/manual.rs): those the guide shares are run above.

#[test]
fn every_man_page_example_is_run() {
    for command in man_page_commands() {
        assert!(
            THIS_FILE.contains(&format!("{command:?}")),
            "no test runs the man page's `{command}`"
        );
    }
}

#[test]
fn man_send_only_file() {
    let mut session = Session::new("man-send-only");
    let data = pattern(1 << 20, 5);
    std::fs::write(session.dir.join("file.bin"), &data).unwrap();
    let a = session.start_listener("ncat -l 9000 > received.bin", "9000");
    let (code, _, err) = session.run("ncat --send-only localhost 9000 < file.bin");
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(session.wait(a), 0);
    let received = std::fs::read(session.dir.join("received.bin")).unwrap();
    assert_eq!(checksum(&received), checksum(&data));
}

#[test]
fn man_tell_each_client_its_address() {
    let mut session = Session::new("man-env");
    session.start_listener(
        "ncat -l -k 9000 -c 'echo \"you are $NCAT_REMOTE_ADDR\"'",
        "9000",
    );
    let (code, out, err) = session.run("ncat localhost 9000");
    assert_eq!(code, 0, "{err}");
    let addr = out.trim_end().strip_prefix("you are ").unwrap_or_default();
    let addr: std::net::IpAddr = addr.parse().unwrap_or_else(|_| panic!("{out:?}"));
    assert!(addr.is_loopback(), "{out:?}");
}

#[test]
fn man_forward_a_port() {
    let mut session = Session::new("man-forward");
    let target = session.start_listener("ncat -l 9000", "9000");
    session.start_listener("ncat -l -k 8080 --sh-exec 'ncat localhost 9000'", "8080");
    let client = session.start("ncat localhost 8080");
    converse(&mut session, target, client);
}

/// Waits until `child` has exited (within the tests' patience); its status.
fn exits(session: &mut Session, child: usize) -> Option<i32> {
    wait_for(|| session.children[child].try_wait().unwrap()).map(|s| s.code().unwrap_or(-1))
}

#[test]
fn man_allow_and_deny() {
    // A client from outside the allowed network is closed at once.
    let mut session = Session::new("man-allow");
    let allowing = session.start_listener("ncat -l -k --allow 192.168.1.0/24 9000", "9000");
    let refused = session.start("ncat localhost 9000");
    drop(session.children[refused].stdin.take());
    assert_eq!(exits(&mut session, refused), Some(0), "not closed at once");
    let mut out = String::new();
    let _ = session.children[refused]
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out);
    assert_eq!(out, "");
    assert!(session.children[allowing].try_wait().unwrap().is_none());
    drop(session);
    // One denied address keeps nobody else out.
    let mut session = Session::new("man-deny");
    let denying = session.start_listener("ncat -l -k --deny 192.168.1.66 9000", "9000");
    let mut denying_out = session.stdout(denying);
    let admitted = session.start("ncat localhost 9000");
    session.write(admitted, "let in\n");
    read_until(&mut denying_out, "let in");
}

#[test]
fn man_hex_dump() {
    let mut session = Session::new("man-hex");
    let a = session.start_listener("ncat -l -x session.hex 9000", "9000");
    let b = session.start("ncat localhost 9000");
    converse(&mut session, a, b);
    let dump = std::fs::read_to_string(session.dir.join("session.hex")).unwrap();
    // "hello from A\n" as Ncat's hex dump shows it: bytes, then the text with spaces as dots.
    assert!(
        dump.contains("68 65 6c 6c 6f 20 66 72  6f 6d 20 41 0a"),
        "{dump}"
    );
    assert!(dump.contains("hello.from.A."), "{dump}");
}

#[test]
fn man_proxy_with_a_password() {
    let mut session = Session::new("man-proxy-auth");
    session.start_listener(
        "ncat -l --proxy-type http --proxy-auth user:secret localhost 3128",
        "3128",
    );
    let target = session.start_listener("ncat -l 9000", "9000");
    // Without the credentials the proxy refuses.
    let (code, _, err) = session.run("ncat --proxy localhost:3128 localhost 9000");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("407"), "{err}");
    let client =
        session.start("NCAT_PROXY_AUTH=user:secret ncat --proxy localhost:3128 localhost 9000");
    converse(&mut session, target, client);
}

/// Whether a UDP socket is bound to local `port`, from /proc.
fn udp_bound(port: u16) -> bool {
    let local = format!(":{port:04X}");
    ["/proc/net/udp", "/proc/net/udp6"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .any(|table| {
            table.lines().skip(1).any(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                fields.get(1).is_some_and(|f| f.ends_with(&local))
            })
        })
}

#[test]
fn man_udp() {
    let mut session = Session::new("man-udp");
    let listener = session.start("ncat -u -l 9000");
    let port = session.port("9000");
    wait_for(|| udp_bound(port).then_some(())).expect("the UDP listener never bound");
    let mut listener_out = session.stdout(listener);
    let (code, _, err) = session.run("echo hello | ncat -u localhost 9000");
    assert_eq!((code, err.as_str()), (0, ""));
    read_until(&mut listener_out, "hello");
}

/// Whether a Unix socket bound as `name` (a path as given to bind, which /proc shows as it was
/// given) is listening, from /proc (flag `__SO_ACCEPTCON`).
fn unix_listening(name: &str) -> bool {
    std::fs::read_to_string("/proc/net/unix").is_ok_and(|table| {
        table.lines().skip(1).any(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.get(3) == Some(&"00010000") && fields.last() == Some(&name)
        })
    })
}

#[test]
fn man_unix_socket() {
    let mut session = Session::new("man-unix");
    let a = session.start("ncat -l -U ncat.sock");
    let path = session.dir.join("ncat.sock");
    wait_for(|| (path.exists() && unix_listening("ncat.sock")).then_some(()))
        .expect("the Unix listener never listened");
    let b = session.start("ncat -U ncat.sock");
    converse(&mut session, a, b);
}

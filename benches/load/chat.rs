//! The chat scenario: a join storm, then timed chat lines.
//!
//! Every client starts reading the moment it connects, as a real chat client does. Client k's
//! arrival is announced to all k+1 clients with the list of everyone before it, so N joins send
//! about 8·N³ bytes (8 GB for 1,000 clients, 64 GB for 2,000): the storm is measured on its own
//! (time from the first connect until every client has every announcement), and each client
//! checks it: the joins arrive in order with no ID missing, and each "already connected" list
//! has exactly the length the clients before it give. Only then are the chat lines sent and
//! timed, so their latency is the latency of chat, not the tail of the storm.

use super::{Metrics, Server, Target, metric, on_runtime, stamp};
use std::io::Write;
use std::net::TcpStream;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

const JOINED: &[u8] = b"<announce> 127.0.0.1 is connected as <user";
const ALREADY: &[u8] = b"<announce> already connected: ";
const LEFT: &[u8] = b"<announce> <user";

/// Progress shared by all readers.
#[derive(Default)]
struct Shared {
    /// Bytes read by all clients.
    bytes: AtomicU64,
    /// Clients that have seen the last join.
    storm_done: AtomicU64,
    /// When the last of them saw it (ns from the base).
    storm_end: AtomicU64,
    /// Chat lines received by all clients.
    lines: AtomicU64,
}

#[derive(Default)]
struct Tally {
    latencies: Vec<u64>,
    reordered: u64,
    /// Announcements out of order, missing, of the wrong length, or of a departure.
    bad_announcements: u64,
}

/// `clients` clients join, then each sends `lines` lines at `rate` lines/s (staggered evenly);
/// every other client must receive every line, in order.
pub fn chat(target: &Target, clients: usize, rate: u64, lines: u64) -> Metrics {
    let max = (clients + 10).to_string();
    let server = Server::start(target, &["-l", "--chat", "-m", &max], Stdio::null());
    let base = Instant::now();
    let shared = Arc::new(Shared::default());
    let (spawn_tx, mut spawn_rx) = tokio::sync::mpsc::unbounded_channel::<(usize, TcpStream)>();
    let expected_lines = (clients as u64 - 1) * lines;
    let expected = expected_lines * clients as u64;
    let lines_deadline = Duration::from_secs(600);
    let readers = {
        let shared = shared.clone();
        on_runtime(async move {
            let mut tasks = Vec::new();
            while let Some((me, stream)) = spawn_rx.recv().await {
                let reader = Reader::new(me, clients, shared.clone());
                tasks.push(tokio::spawn(reader.run(
                    stream,
                    expected_lines,
                    base,
                    lines_deadline,
                )));
            }
            let mut total = Tally::default();
            for task in tasks {
                if let Ok(tally) = task.await {
                    total.latencies.extend(tally.latencies);
                    total.reordered += tally.reordered;
                    total.bad_announcements += tally.bad_announcements;
                }
            }
            total
        })
    };
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], server.port));
    let mut writers = Vec::with_capacity(clients);
    for me in 0..clients {
        // A server that stops accepting leaves the connect waiting: count who got in.
        let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(3)) else {
            break;
        };
        let _ = stream.set_nodelay(true);
        writers.push(stream.try_clone().unwrap());
        let _ = spawn_tx.send((me, stream));
    }
    drop(spawn_tx);
    let connect_s = base.elapsed().as_secs_f64();
    let joined = writers.len();
    // The storm ends when every client has the last join; a server that stalls is given up on
    // after 5 s without a byte delivered.
    if joined == clients {
        let done = || shared.storm_done.load(Ordering::Relaxed) >= clients as u64;
        wait_while_moving(&shared.bytes, done);
    }
    let stormed = shared.storm_done.load(Ordering::Relaxed) == clients as u64;
    let storm_s = stormed.then(|| shared.storm_end.load(Ordering::Relaxed) as f64 / 1e9);
    let cpu_before = server.proc.cpu_now();
    let mut cpu = None;
    if stormed {
        send_lines(&mut writers, base, rate, lines);
        // Every line delivered, or 5 s without one more.
        let done = || shared.lines.load(Ordering::Relaxed) >= expected;
        wait_while_moving(&shared.lines, done);
        cpu = Some(server.proc.cpu_now() - cpu_before);
    }
    let peak_rss = server.proc.status_kib("VmHWM").map(|k| k / 1024.0);
    // Ending the server ends every reader.
    drop(server);
    drop(writers);
    let mut tally = readers.join().unwrap_or_default();
    let lat = &mut tally.latencies;
    lat.sort_unstable();
    let pct = |p: f64| {
        let i = ((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1));
        lat.get(i).map(|&ns| ns as f64 / 1e6)
    };
    vec![
        metric("joined", joined as f64),
        metric("connect s", connect_s),
        metric("join storm s", storm_s),
        metric("bad announcements", tally.bad_announcements as f64),
        metric("p50 ms", pct(0.50).filter(|_| stormed)),
        metric("p99 ms", pct(0.99).filter(|_| stormed)),
        metric(
            "max ms",
            lat.last().map(|&ns| ns as f64 / 1e6).filter(|_| stormed),
        ),
        metric(
            "lost",
            stormed.then(|| expected.saturating_sub(lat.len() as u64) as f64),
        ),
        metric("reordered", tally.reordered as f64),
        metric("broker CPU s", cpu),
        metric("broker peak RSS MiB", peak_rss),
    ]
}

/// Waits until `done`, or until `counter` has not moved for 5 s.
fn wait_while_moving(counter: &AtomicU64, done: impl Fn() -> bool) {
    let mut seen = (u64::MAX, Instant::now());
    while !done() {
        let now = counter.load(Ordering::Relaxed);
        if now != seen.0 {
            seen = (now, Instant::now());
        } else if seen.1.elapsed() >= Duration::from_secs(5) {
            return;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Each client sends `lines` lines `M <id> <seq> <stamp>`, at `rate` lines/s each.
fn send_lines(writers: &mut [TcpStream], base: Instant, rate: u64, lines: u64) {
    let interval = Duration::from_secs_f64(1.0 / (rate as f64 * writers.len() as f64));
    let mut next = Instant::now();
    for seq in 0..lines {
        for (id, w) in writers.iter_mut().enumerate() {
            let now = Instant::now();
            if next > now {
                thread::sleep(next - now);
            }
            let line = format!("M {id} {seq} {}\n", stamp(base));
            write_line(w, line.as_bytes());
            next += interval;
        }
    }
}

/// Writes a whole line. The socket shares its file description with the reader's, which
/// tokio made non-blocking, so a full send buffer returns `WouldBlock`: wait and go on
/// rather than cut the line.
fn write_line(w: &mut TcpStream, mut line: &[u8]) {
    while !line.is_empty() {
        match w.write(line) {
            Ok(n) => line = &line[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_micros(100))
            }
            Err(_) => return,
        }
    }
}

/// One client's receiving side.
struct Reader {
    me: usize,
    clients: usize,
    shared: Arc<Shared>,
    tally: Tally,
    last_seq: Vec<i64>,
    /// The ID of the latest join seen.
    last_join: Option<u64>,
    joins_seen: usize,
    /// How many clients were there before this one (the length of the first list it gets).
    before: Option<usize>,
    /// Length of the list in the latest "already connected" line, without the final dot.
    list_len: Option<usize>,
    storm_over: bool,
}

impl Reader {
    fn new(me: usize, clients: usize, shared: Arc<Shared>) -> Reader {
        Reader {
            me,
            clients,
            shared,
            tally: Tally::default(),
            last_seq: vec![-1; clients],
            last_join: None,
            joins_seen: 0,
            before: None,
            list_len: None,
            storm_over: false,
        }
    }

    /// Reads until every expected chat line has arrived or the deadline passes.
    async fn run(
        mut self,
        stream: TcpStream,
        expected: u64,
        base: Instant,
        limit: Duration,
    ) -> Tally {
        use tokio::io::AsyncReadExt;
        stream.set_nonblocking(true).unwrap();
        let Ok(mut stream) = tokio::net::TcpStream::from_std(stream) else {
            return self.tally;
        };
        let deadline = tokio::time::Instant::now() + limit;
        let mut pending = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        while (self.tally.latencies.len() as u64) < expected {
            let n = match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => n,
                _ => break,
            };
            let now = stamp(base);
            self.shared.bytes.fetch_add(n as u64, Ordering::Relaxed);
            pending.extend_from_slice(&buf[..n]);
            let mut start = 0;
            while let Some(nl) = memchr::memchr(b'\n', &pending[start..]) {
                self.line(&pending[start..start + nl], now);
                start += nl + 1;
            }
            pending.drain(..start);
        }
        self.tally
    }

    fn line(&mut self, line: &[u8], now: u64) {
        if let Some(rest) = line.strip_prefix(JOINED) {
            self.joined(rest);
        } else if let Some(list) = line.strip_prefix(ALREADY) {
            self.already_connected(list);
        } else if line.starts_with(LEFT) {
            self.tally.bad_announcements += 1;
        } else if let Some([sender, seq, sent_at]) = parse_chat_line(line) {
            let sender = sender as usize;
            if sender == self.me || sender >= self.clients {
                return;
            }
            self.tally.latencies.push(now.saturating_sub(sent_at));
            self.shared.lines.fetch_add(1, Ordering::Relaxed);
            if seq as i64 <= self.last_seq[sender] {
                self.tally.reordered += 1;
            }
            self.last_seq[sender] = seq as i64;
            return;
        }
        if !self.storm_over
            && self
                .before
                .is_some_and(|before| before + self.joins_seen == self.clients)
        {
            self.storm_over = true;
            self.shared.storm_end.fetch_max(now, Ordering::Relaxed);
            self.shared.storm_done.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// `<announce> 127.0.0.1 is connected as <userY>.`: IDs rise with every join (Ncat's are
    /// file descriptors, which may skip a number).
    fn joined(&mut self, rest: &[u8]) {
        let id = rest
            .strip_suffix(b">.")
            .and_then(|digits| std::str::from_utf8(digits).ok()?.parse::<u64>().ok());
        let Some(id) = id else {
            self.tally.bad_announcements += 1;
            return;
        };
        if let Some(previous) = self.last_join {
            if id <= previous {
                self.tally.bad_announcements += 1;
            }
            // The next list names one more client: the one that joined before this one.
            if let Some(len) = self.list_len {
                let sep = if len == 0 { 0 } else { 2 };
                self.list_len = Some(len + sep + entry_len(previous));
            }
        }
        self.last_join = Some(id);
        self.joins_seen += 1;
    }

    /// `<announce> already connected: LIST.` after a join. The first list this client gets
    /// (after its own join) says how many came before it; each later one must be exactly one
    /// name longer.
    fn already_connected(&mut self, list: &[u8]) {
        if self.last_join.is_none() {
            self.tally.bad_announcements += 1;
            return;
        }
        let names = list.strip_suffix(b".").unwrap_or(list);
        let Some(expected) = self.list_len else {
            let before = if names == b"nobody" {
                0
            } else {
                memchr::memmem::find_iter(names, b", ").count() + 1
            };
            self.before = Some(before);
            self.list_len = Some(if before == 0 { 0 } else { names.len() });
            return;
        };
        let ok = if expected == 0 {
            names == b"nobody"
        } else {
            names.len() == expected
        };
        if !ok {
            self.tally.bad_announcements += 1;
        }
    }
}

/// Length of `127.0.0.1 as <userZ>`.
fn entry_len(id: u64) -> usize {
    "127.0.0.1 as <user>".len() + id.to_string().len()
}

/// The three numbers of `... M <sender> <seq> <stamp>` (after any `<userN> ` prefixes).
fn parse_chat_line(line: &[u8]) -> Option<[u64; 3]> {
    let at = line.windows(2).rposition(|w| w == b"M ")?;
    let mut fields = line[at + 2..].split(|&b| b == b' ').map(|f| {
        f.iter().try_fold(0u64, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u64::from(d - b'0'))
        })
    });
    Some([fields.next()??, fields.next()??, fields.next()??])
}

//! The scenarios of the comparison benchmark and the load they put on a target: processes,
//! loopback clients, integrity checks and measurements from /proc.

mod chat;
mod services;

pub use chat::chat;
pub use services::{dtls_bulk, exec_service, handshakes, udp};
use std::future::Future;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

/// A binary under test.
pub struct Target {
    pub label: String,
    pub path: PathBuf,
}

/// One run's figures, in display order; `None` where the run could not measure it.
pub type Metrics = Vec<(String, Option<f64>)>;

fn metric(name: &str, value: impl Into<Option<f64>>) -> (String, Option<f64>) {
    (name.to_string(), value.into())
}

pub fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain rlimit calls.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
    }
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "Machine: {} CPUs ({cpu}), Linux {}, loopback only.",
        thread::available_parallelism().map_or(0, |n| n.get()),
        kernel.trim()
    )
}

/// Length of the repeating test pattern: a prime, so a lost or repeated block of any usual
/// size shows up as a mismatch.
const PERIOD: usize = 65_521;

/// The pattern every test stream carries, twice over so any window of PERIOD bytes is a slice.
fn pattern_table() -> &'static [u8] {
    static TABLE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut x = 0x2545f4914f6cdd1du64;
        let once: Vec<u8> = (0..PERIOD)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect();
        once.iter().chain(once.iter()).copied().collect()
    })
}

/// Whether `data` is the pattern from `offset` on.
fn matches_pattern(data: &[u8], offset: u64) -> bool {
    let table = pattern_table();
    let mut start = (offset % PERIOD as u64) as usize;
    data.chunks(PERIOD).all(|chunk| {
        let ok = chunk == &table[start..start + chunk.len()];
        start = (start + chunk.len()) % PERIOD;
        ok
    })
}

fn fill_pattern(buf: &mut [u8], offset: u64) {
    let table = pattern_table();
    let mut start = (offset % PERIOD as u64) as usize;
    for chunk in buf.chunks_mut(PERIOD) {
        chunk.copy_from_slice(&table[start..start + chunk.len()]);
        start = (start + chunk.len()) % PERIOD;
    }
}

/// The bulk scenarios' input file, in /dev/shm when there is one; removed at the end.
pub struct Corpus {
    pub path: PathBuf,
    pub len: u64,
}

impl Corpus {
    pub fn create(len: u64) -> Corpus {
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let path = dir.join(format!("ncat-bench-{}", std::process::id()));
        let mut file = std::fs::File::create(&path).expect("create the corpus");
        let mut buf = vec![0u8; 1 << 20];
        let mut written = 0;
        while written < len {
            fill_pattern(&mut buf, written);
            let n = (len - written).min(buf.len() as u64) as usize;
            file.write_all(&buf[..n]).unwrap();
            written += n as u64;
        }
        Corpus { path, len }
    }
}

impl Drop for Corpus {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A child process that is killed and reaped however the scenario ends.
pub struct Proc {
    child: Child,
    reaped: bool,
}

impl Proc {
    pub fn start(mut cmd: Command) -> Proc {
        Proc {
            child: cmd.spawn().expect("spawn"),
            reaped: false,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Waits (bounded) for the exit; returns the exit code and the CPU seconds it used.
    pub fn finish(&mut self, limit: Duration) -> Option<(i32, f64)> {
        let start = Instant::now();
        loop {
            let mut status = 0;
            // SAFETY: wait4 on our own child with a valid rusage out-parameter.
            let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
            let pid = unsafe { libc::wait4(self.pid(), &mut status, libc::WNOHANG, &mut usage) };
            if pid == self.pid() {
                self.reaped = true;
                let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
                let code = if libc::WIFEXITED(status) {
                    libc::WEXITSTATUS(status)
                } else {
                    -1
                };
                return Some((code, secs(usage.ru_utime) + secs(usage.ru_stime)));
            }
            if start.elapsed() > limit {
                return None;
            }
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// CPU seconds used so far (from /proc), its reaped children's included (exec services).
    pub fn cpu_now(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        (ticks(11) + ticks(12) + ticks(13) + ticks(14)) / hz
    }

    /// A `/proc/PID/status` figure in KiB (`VmRSS`, `VmHWM`).
    pub fn status_kib(&self, key: &str) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|l| l.starts_with(key))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Whether the process has exited (a zombie not yet reaped, or gone).
    pub fn ended(&self) -> bool {
        std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).map_or(true, |stat| {
            stat.rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z'))
        })
    }

    pub fn alive(&mut self) -> bool {
        !self.reaped && self.child.try_wait().ok().flatten().is_none()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A listening target: started with `-v`, ready once it has printed `Listening on`. Its
/// stderr is read in the background; `accepted` counts its `Connection from` lines.
pub struct Server {
    pub proc: Proc,
    pub port: u16,
    accepted: Arc<AtomicU64>,
}

impl Server {
    pub fn start(target: &Target, args: &[&str], stdout: Stdio) -> Server {
        let port = free_port();
        let mut cmd = Command::new(&target.path);
        cmd.arg("-v")
            .args(args)
            .args(["127.0.0.1", &port.to_string()]);
        cmd.stdin(Stdio::piped())
            .stdout(stdout)
            .stderr(Stdio::piped());
        let mut proc = Proc::start(cmd);
        let stderr = proc.child.stderr.take().unwrap();
        // stdin stays open, as at a terminal, for as long as the server runs.
        std::mem::forget(proc.child.stdin.take());
        let accepted = Arc::new(AtomicU64::new(0));
        let (ready_tx, ready_rx) = mpsc::channel();
        let count = accepted.clone();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("Listening on") {
                    let _ = ready_tx.send(());
                } else if line.contains("Connection from 127.0.0.1:") {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        ready_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("server ready");
        Server {
            proc,
            port,
            accepted,
        }
    }

    pub fn connect(&self) -> std::io::Result<TcpStream> {
        TcpStream::connect(("127.0.0.1", self.port))
    }

    /// Waits until the server has logged `n` accepted connections (false if it ends first).
    pub fn wait_accepted(&self, n: u64, limit: Duration) -> bool {
        let start = Instant::now();
        while self.accepted.load(Ordering::Relaxed) < n {
            if start.elapsed() > limit || self.proc.ended() {
                return false;
            }
            thread::sleep(Duration::from_millis(2));
        }
        true
    }
}

fn fnv(data: &[u8], mut h: u64) -> u64 {
    for &b in data {
        h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
    }
    h
}

fn file_checksum(path: &std::path::Path) -> (u64, u64) {
    let mut file = std::fs::File::open(path).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let (mut h, mut len) = (0xcbf29ce484222325u64, 0u64);
    loop {
        let n = file.read(&mut buf).unwrap();
        if n == 0 {
            return (h, len);
        }
        h = fnv(&buf[..n], h);
        len += n as u64;
    }
}

/// file (or `cat file |`) -> client -> listener -> /dev/null, both ends given `options` (such
/// as `--ssl`). Before its first timed run, each target also sends the file to a listener
/// writing to a file (untimed), and the checksums are compared.
pub fn bulk(target: &Target, corpus: &Corpus, through_pipe: bool, options: &[&str]) -> Metrics {
    static VERIFIED: Mutex<Vec<(String, bool)>> = Mutex::new(Vec::new());
    let key = format!("{}-{through_pipe}-{options:?}", target.label);
    let known = VERIFIED
        .lock()
        .unwrap()
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, ok)| *ok);
    let intact = match known {
        Some(ok) => ok,
        None => {
            let out_path = corpus.path.with_extension("out");
            let file = std::fs::File::create(&out_path).unwrap();
            let ok = transfer(target, corpus, through_pipe, options, Stdio::from(file)).is_some()
                && file_checksum(&corpus.path) == file_checksum(&out_path);
            let _ = std::fs::remove_file(&out_path);
            VERIFIED.lock().unwrap().push((key, ok));
            ok
        }
    };
    let gb = corpus.len as f64 / 1e9;
    let (secs, cpu) = match transfer(target, corpus, through_pipe, options, Stdio::null()) {
        Some((secs, cpu)) => (Some(secs), Some(cpu)),
        None => (None, None),
    };
    vec![
        metric("GB/s", secs.map(|s| gb / s)),
        metric("CPU s per GB", cpu.map(|c| c / gb)),
        metric("intact", if intact { 1.0 } else { 0.0 }),
    ]
}

/// One transfer of the corpus; returns the wall time and the CPU time of both ends.
fn transfer(
    target: &Target,
    corpus: &Corpus,
    through_pipe: bool,
    options: &[&str],
    sink: Stdio,
) -> Option<(f64, f64)> {
    let mut server = Server::start(target, &[&["-l"], options].concat(), sink);
    let started = Instant::now();
    let mut feeder = None;
    let mut client_cmd = Command::new(&target.path);
    client_cmd
        .args(options)
        .args(["127.0.0.1", &server.port.to_string()]);
    client_cmd.stdout(Stdio::null()).stderr(Stdio::null());
    if through_pipe {
        let mut cat = Command::new("cat");
        cat.arg(&corpus.path).stdout(Stdio::piped());
        let mut cat = Proc::start(cat);
        client_cmd.stdin(Stdio::from(cat.child.stdout.take().unwrap()));
        feeder = Some(cat);
    } else {
        client_cmd.stdin(std::fs::File::open(&corpus.path).unwrap());
    }
    let mut client = Proc::start(client_cmd);
    let limit = Duration::from_secs(120);
    let client_end = client.finish(limit);
    let server_end = server.proc.finish(limit);
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(cat) = feeder.as_mut() {
        cat.finish(limit);
    }
    match (client_end, server_end) {
        (Some((0, client_cpu)), Some((0, server_cpu))) => Some((elapsed, client_cpu + server_cpu)),
        _ => {
            eprintln!("   bulk run failed: client {client_end:?}, listener {server_end:?}");
            None
        }
    }
}

/// Reads `expected` bytes from `stream`, checking them against the pattern; counts them in
/// `counter`. Returns whether the stream was exactly right.
async fn read_pattern(stream: TcpStream, expected: u64, counter: Option<Arc<AtomicU64>>) -> bool {
    use tokio::io::AsyncReadExt;
    stream.set_nonblocking(true).unwrap();
    let Ok(mut stream) = tokio::net::TcpStream::from_std(stream) else {
        return false;
    };
    let mut buf = vec![0u8; 1 << 16];
    let mut offset = 0u64;
    while offset < expected {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        if !matches_pattern(&buf[..n], offset) {
            return false;
        }
        offset += n as u64;
        if let Some(c) = &counter {
            c.fetch_add(n as u64, Ordering::Relaxed);
        }
    }
    offset == expected
}

/// A small runtime on threads of its own, for the many sockets of one scenario.
fn on_runtime<T: Send + 'static>(
    work: impl Future<Output = T> + Send + 'static,
) -> thread::JoinHandle<T> {
    thread::spawn(move || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(work)
    })
}

/// Writes the pattern to `stream` until `len` bytes are out or `stop` is set. Returns bytes sent.
fn write_pattern(stream: &mut TcpStream, len: u64, stop: Option<&AtomicBool>) -> u64 {
    let mut buf = vec![0u8; 1 << 16];
    let mut offset = 0;
    while offset < len && !stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
        let n = (len - offset).min(buf.len() as u64) as usize;
        fill_pattern(&mut buf[..n], offset);
        if stream.write_all(&buf[..n]).is_err() {
            break;
        }
        offset += n as u64;
    }
    offset
}

/// Broker fan-out: `receivers` clients each receive `per_receiver` bytes from one sender.
pub fn fanout(target: &Target, receivers: u64, per_receiver: u64) -> Metrics {
    let max = (receivers + 10).to_string();
    let server = Server::start(target, &["--broker", "-m", &max], Stdio::null());
    let streams: Vec<TcpStream> = (0..receivers)
        .filter_map(|_| server.connect().ok())
        .collect();
    let mut sender = server.connect().expect("sender connects");
    if !server.wait_accepted(receivers + 1, Duration::from_secs(20)) {
        return vec![
            metric("aggregate GB/s", None),
            metric("broker CPU s per GB", None),
            metric("receivers exact", 0.0),
        ];
    }
    let cpu_before = server.proc.cpu_now();
    let started = Instant::now();
    let readers = on_runtime(async move {
        let tasks: Vec<_> = streams
            .into_iter()
            .map(|s| tokio::spawn(read_pattern(s, per_receiver, None)))
            .collect();
        let mut exact = 0;
        for t in tasks {
            if t.await.unwrap_or(false) {
                exact += 1;
            }
        }
        exact
    });
    write_pattern(&mut sender, per_receiver, None);
    let exact = readers.join().unwrap_or(0);
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = server.proc.cpu_now() - cpu_before;
    let gb = (receivers * per_receiver) as f64 / 1e9;
    vec![
        metric("aggregate GB/s", gb / elapsed),
        metric("broker CPU s per GB", cpu / gb),
        metric(
            "broker peak RSS MiB",
            server.proc.status_kib("VmHWM").map(|k| k / 1024.0),
        ),
        metric("receivers exact", exact as f64 / receivers as f64),
    ]
}

/// CPU seconds the whole machine has been busy (every process, the load's included), from
/// the first line of /proc/stat.
pub fn machine_busy_cpu() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<f64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: all but idle and iowait.
    let busy: f64 = [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|&i| ticks.get(i))
        .sum();
    // SAFETY: sysconf has no preconditions.
    Some(busy / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64)
}

/// Nanoseconds since a common start, for latency stamps shared by all threads.
fn stamp(base: Instant) -> u64 {
    base.elapsed().as_nanos() as u64
}

/// The kernel's count of connections dropped because a listen queue was full
/// (`ListenOverflows` in `/proc/net/netstat`).
fn listen_overflows() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/net/netstat").ok()?;
    let mut lines = text.lines();
    while let (Some(names), Some(values)) = (lines.next(), lines.next()) {
        if names.starts_with("TcpExt:") {
            return names
                .split_whitespace()
                .zip(values.split_whitespace())
                .find(|(name, _)| *name == "ListenOverflows")
                .and_then(|(_, value)| value.parse().ok());
        }
    }
    None
}

/// A burst of `count` clients opened at once from 10 threads against `--broker -m count`:
/// how many got in, how long until the server had accepted them all, and how many the
/// kernel dropped from a full listen queue meanwhile (each costs a 1 s SYN retransmission).
/// Opening stops after `budget`.
pub fn burst(target: &Target, count: usize, budget: Duration) -> Metrics {
    let max = count.to_string();
    let server = Server::start(target, &["--broker", "-m", &max], Stdio::null());
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], server.port));
    let overflows_before = listen_overflows();
    let started = Instant::now();
    let deadline = started + budget;
    let openers: Vec<_> = (0..10)
        .map(|t| {
            thread::spawn(move || {
                (t..count)
                    .step_by(10)
                    .take_while(|_| Instant::now() < deadline)
                    .filter_map(|_| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let held: Vec<TcpStream> = openers
        .into_iter()
        .flat_map(|h| h.join().unwrap_or_default())
        .collect();
    let all = server.wait_accepted(count as u64, budget.min(Duration::from_secs(20)));
    let seconds = started.elapsed().as_secs_f64();
    let overflows = listen_overflows()
        .zip(overflows_before)
        .map(|(after, before)| after - before);
    let accepted = server.accepted.load(Ordering::Relaxed) as f64;
    drop(held);
    vec![
        metric("accepted", accepted),
        metric("seconds until all accepted", all.then_some(seconds)),
        metric("listen-queue overflows", overflows),
    ]
}

/// `count` idle clients held by a broker: how many it keeps, and its memory per client.
/// Connecting stops after `budget` (Ncat lets each broker client in more slowly than the one
/// before: about 90 ms each at 1,000).
pub fn idle(target: &Target, count: usize, budget: Duration) -> Metrics {
    let max = (count + 10).to_string();
    // Without -v: a line per connection would measure stderr, not the broker.
    let port = free_port();
    let mut cmd = Command::new(&target.path);
    cmd.args(["--broker", "-m", &max, "127.0.0.1", &port.to_string()]);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut proc = Proc::start(cmd);
    let first = (0..500).find_map(|_| {
        thread::sleep(Duration::from_millis(10));
        TcpStream::connect(("127.0.0.1", port)).ok()
    });
    let Some(first) = first else {
        return vec![metric("held", 0.0)];
    };
    thread::sleep(Duration::from_millis(100));
    let rss_before = proc.status_kib("VmRSS").unwrap_or(0.0);
    let mut held = vec![first];
    // A broker that stops accepting leaves connects waiting in SYN retransmissions: give up.
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + budget;
    for _ in 1..count {
        if Instant::now() > deadline {
            break;
        }
        match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Ok(s) => held.push(s),
            Err(_) => break,
        }
    }
    // A message between two fresh clients shows the broker has processed every accept before.
    let probe = probe_broker(port);
    thread::sleep(Duration::from_millis(500));
    let rss_after = proc.status_kib("VmRSS");
    let alive = held
        .iter_mut()
        .filter_map(|s| {
            // Alive: nothing to read yet, or the probe relayed to it; dead: EOF or an error.
            s.set_nonblocking(true).unwrap();
            let mut b = [0u8; 64];
            match s.read(&mut b) {
                Ok(n) if n > 0 => Some(()),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Some(()),
                _ => None,
            }
        })
        .count();
    let per_client = rss_after
        .filter(|_| alive > 0)
        .map(|after| (after - rss_before) * 1024.0 / alive as f64);
    vec![
        metric("clients held", alive as f64),
        metric("RSS bytes per client", per_client),
        metric("probe ok", if probe && proc.alive() { 1.0 } else { 0.0 }),
    ]
}

fn probe_broker(port: u16) -> bool {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let limit = Duration::from_secs(2);
    let (Ok(mut a), Ok(mut b)) = (
        TcpStream::connect_timeout(&addr, limit),
        TcpStream::connect_timeout(&addr, limit),
    ) else {
        return false;
    };
    b.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // Retry until the broker has registered both.
    for _ in 0..100 {
        let _ = a.write_all(b"probe\n");
        let mut buf = [0u8; 64];
        b.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        if let Ok(n) = b.read(&mut buf)
            && n > 0
        {
            return true;
        }
    }
    false
}

/// Slow consumer: 4 fast receivers, and one that stops reading after 1 s, while a sender
/// writes flat out for 6 s. Compares the fast receivers' rate before and after the stall.
pub fn slow(target: &Target) -> Metrics {
    let server = Server::start(target, &["--broker"], Stdio::null());
    let fast: Vec<TcpStream> = (0..4).map(|_| server.connect().unwrap()).collect();
    let mut stalled = server.connect().unwrap();
    let mut sender = server.connect().unwrap();
    if !server.wait_accepted(6, Duration::from_secs(10)) {
        return vec![metric("after/before", None)];
    }
    let received = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let readers = {
        let received = received.clone();
        on_runtime(async move {
            let tasks: Vec<_> = fast
                .into_iter()
                .map(|s| tokio::spawn(read_pattern(s, u64::MAX, Some(received.clone()))))
                .collect();
            for t in tasks {
                let _ = t.await;
            }
        })
    };
    let stall_reader = {
        let stop = stop.clone();
        thread::spawn(move || {
            let start = Instant::now();
            let mut buf = vec![0u8; 1 << 16];
            while start.elapsed() < Duration::from_secs(1) {
                let _ = stalled.read(&mut buf);
            }
            while !stop.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(20));
            }
            stalled
        })
    };
    let writer = {
        let stop = stop.clone();
        thread::spawn(move || write_pattern(&mut sender, u64::MAX, Some(&stop)))
    };
    let start = Instant::now();
    let mut samples = Vec::new();
    let mut peak_rss: f64 = 0.0;
    while start.elapsed() < Duration::from_secs(6) {
        thread::sleep(Duration::from_millis(250));
        samples.push((
            start.elapsed().as_secs_f64(),
            received.load(Ordering::Relaxed),
        ));
        peak_rss = peak_rss.max(server.proc.status_kib("VmRSS").unwrap_or(0.0));
    }
    stop.store(true, Ordering::Relaxed);
    let rate = |from: f64, to: f64| {
        let pick = |t: f64| {
            samples
                .iter()
                .min_by(|a, b| (a.0 - t).abs().total_cmp(&(b.0 - t).abs()))
                .map_or(0, |s| s.1)
        };
        (pick(to) - pick(from)) as f64 / (to - from) / 1e9
    };
    let before = rate(0.25, 1.0);
    let after = rate(4.0, 6.0);
    drop(server);
    let _ = writer.join();
    let _ = stall_reader.join();
    let _ = readers.join();
    vec![
        metric("fast GB/s before", before),
        metric("fast GB/s after", after),
        metric(
            "after/before",
            if before > 0.0 { after / before } else { 0.0 },
        ),
        metric("broker peak RSS MiB", peak_rss / 1024.0),
    ]
}

/// Start-up: `--version`, and launch to the first byte at a listener.
pub fn startup(target: &Target) -> Metrics {
    let mut version = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let status = Command::new(&target.path)
            .arg("--version")
            .stderr(Stdio::null())
            .status();
        if status.is_ok() {
            version.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let mut first_byte = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let mut cmd = Command::new(&target.path);
        cmd.args(["127.0.0.1", &port])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut proc = Proc::start(cmd);
        let _ = proc.child.stdin.take().unwrap().write_all(b"x");
        let (mut conn, _) = listener.accept().unwrap();
        let mut b = [0u8; 1];
        if conn.read_exact(&mut b).is_ok() {
            first_byte.push(t.elapsed().as_secs_f64() * 1e3);
        }
        drop(conn);
        proc.finish(Duration::from_secs(5));
    }
    vec![
        metric("--version ms", crate::median(&version)),
        metric("launch to first byte ms", crate::median(&first_byte)),
    ]
}

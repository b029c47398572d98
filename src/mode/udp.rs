//! `-u`: UDP in connect mode and in single-peer listen mode.
//!
//! Each stdin read becomes one datagram (reads over the UDP maximum are cut into datagrams of
//! at most 65,507 bytes); each datagram received goes to stdout whole, up to 64 KiB (Ncat 7.93
//! truncates at 8 KiB). Connect mode ends at stdin EOF (or `-q` later), at an empty datagram from
//! the peer, or with `Connection refused.` when the peer's port is closed (ICMP). The listener
//! serves the first peer that sends a datagram and then only that peer; its stdin ending does
//! not end it (as in Ncat 7.93).

use bytes::{Bytes, BytesMut};
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::net::{UdpSocket, UnixDatagram};
use tokio::time::Instant;

use crate::config::Config;
use crate::error::{Ended, Failure, ModeResult, idle_expired, io_failure, strerror};
use crate::io::crlf::Crlf;
use crate::io::exec::ExecCommand;
use crate::io::stdio::{self, LocalInput, LocalOutput};
use crate::mode::exec;
use crate::net::admission::{Slots, admits};
use crate::net::resolve::show_addr;
use crate::net::stream::{Endpoint, Stream};
use crate::net::udp_socket::bind_udp;
use crate::parse::QuitAfterEof;
use std::sync::Arc;

use crate::net::stream::MAX_DATAGRAM;

/// How long `-u -z` waits for an ICMP refusal when `-i` does not say.
const PROBE_WAIT: Duration = Duration::from_secs(2);

/// `-u -z`: sends one NUL byte to each port and waits (`-i`, default 2 s) for a refusal.
/// Silence counts as open, as in Ncat. The status is 0 when any port looked open.
pub async fn probe(
    cfg: &Config,
    addrs: &[IpAddr],
    ports: std::ops::RangeInclusive<u16>,
) -> ModeResult {
    let started = Instant::now();
    let mut any_open = false;
    for port in ports {
        let socket = match open_connected(cfg, SocketAddr::new(addrs[0], port), true).await {
            Ok(socket) => socket,
            Err(failure) => {
                tracing::info!("{}", failure.to_string().trim_start_matches("Ncat: "));
                continue;
            }
        };
        let mut buf = [0u8; 1];
        let refused = match socket.send(&[0]).await {
            Err(e) => Some(e),
            Ok(_) => {
                let wait = cfg.idle_timeout.unwrap_or(PROBE_WAIT);
                tokio::time::timeout(wait, socket.recv(&mut buf))
                    .await
                    .ok()
                    .and_then(|r| r.err())
            }
        };
        match refused {
            Some(e) => tracing::info!("{}.", strerror(&e)),
            None => {
                any_open = true;
                tracing::info!("UDP packet sent successfully");
                log_totals(1, 0, started);
            }
        }
    }
    Ok(if any_open {
        Ended::Normally
    } else {
        Ended::Quietly
    })
}

pub async fn connect(cfg: &Config, addrs: &[IpAddr], port: u16) -> ModeResult {
    let socket = open_connected(cfg, SocketAddr::new(addrs[0], port), true).await?;
    if let Some(cmd) = &cfg.exec {
        exec::relay(Stream::Udp(socket), cmd, cfg).await;
        return Ok(Ended::Normally);
    }
    session(cfg, socket, None, false).await
}

/// A UDP socket bound as `-s`/`-p` say and connected to `target`.
/// With `announce`, `-v` says `Connected to`; DTLS says `SSL connection to` instead, later.
pub(crate) async fn open_connected(
    cfg: &Config,
    target: SocketAddr,
    announce: bool,
) -> Result<UdpSocket, Failure> {
    let wildcard = match target {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let local = SocketAddr::new(
        cfg.source_addr.unwrap_or(wildcard),
        cfg.source_port.unwrap_or(0),
    );
    let socket = UdpSocket::bind(local).await.map_err(io_failure)?;
    crate::net::udp_socket::widen_receive_queue(socket2::SockRef::from(&socket));
    socket.set_broadcast(true).map_err(io_failure)?;
    socket.connect(target).await.map_err(io_failure)?;
    if announce {
        tracing::info!("Connected to {}.", show_addr(&target));
    }
    Ok(socket)
}

/// Binds the UDP listening sockets and prints their `Listening on` lines.
fn bind_all(endpoints: &[Endpoint]) -> Result<Vec<UdpSocket>, Failure> {
    let mut sockets = Vec::new();
    for endpoint in endpoints {
        if let Endpoint::Ip(addr) = endpoint {
            let socket = bind_udp(*addr)?;
            let local = socket.local_addr().unwrap_or(*addr);
            tracing::info!("Listening on {}", show_addr(&local));
            sockets.push(socket);
        }
    }
    Ok(sockets)
}

pub async fn listen(cfg: &Config, endpoints: &[Endpoint]) -> ModeResult {
    let mut sockets = bind_all(endpoints)?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        // With exec, the first datagram stays queued for the relay to read (peeked, not taken).
        let peek = cfg.exec.is_some();
        let (index, received) = first_datagram(&sockets, &mut buf, peek).await;
        let (n, peer) = received.map_err(io_failure)?;
        let endpoint = Endpoint::Ip(peer);
        tracing::info!("Connection from {}.", peer.ip());
        if !peek {
            cfg.log.record(&buf[..n]);
        }
        if !admits(cfg.max_conns, 0, &cfg.access, &endpoint) {
            if peek {
                let _ = sockets[index].try_recv_from(&mut buf);
            }
            continue;
        }
        let socket = sockets.swap_remove(index);
        drop(sockets);
        socket.connect(peer).await.map_err(io_failure)?;
        if let Some(cmd) = &cfg.exec {
            exec::relay(Stream::Udp(socket), cmd, cfg).await;
            return Ok(Ended::Normally);
        }
        let first = Bytes::copy_from_slice(&buf[..n]);
        return session(cfg, socket, Some(first), true).await;
    }
}

/// Waits for a datagram on any of the (one or two) listening sockets.
async fn first_datagram(
    sockets: &[UdpSocket],
    buf: &mut [u8],
    peek: bool,
) -> (usize, io::Result<(usize, SocketAddr)>) {
    loop {
        let ready = tokio::select! {
            r = sockets[0].readable() => r.map(|_| 0),
            r = async { sockets[1].readable().await }, if sockets.len() > 1 => r.map(|_| 1),
        };
        let index = match ready {
            Ok(index) => index,
            Err(e) => return (0, Err(e)),
        };
        let received = if peek {
            sockets[index].try_peek_from(buf)
        } else {
            sockets[index].try_recv_from(buf)
        };
        match received {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            result => return (index, result),
        }
    }
}

/// A peer not heard from for this long is forgotten by `-u -l -k`.
const PEER_IDLE: Duration = Duration::from_secs(60);

/// `-u -l -k`: many peers on the listening sockets, told apart by source address. Their
/// datagrams go to stdout; stdin goes to every peer known at the time (as `-k` does for TCP).
/// A peer counts against `-m` until it has been silent for a minute. Like the single-peer
/// listener, stdin ending does not end the listener.
pub async fn listen_many(cfg: &Config, endpoints: &[Endpoint]) -> ModeResult {
    let sockets = bind_all(endpoints)?;
    if let Some(cmd) = &cfg.exec {
        return relay_per_peer(cfg, cmd, sockets).await;
    }
    let stdout = LocalOutput::stdout();
    // --recv-only never touches stdin (Ncat 7.991).
    let mut stdin = (!cfg.recv_only).then(stdio::spawn_stdin);
    let mut quit_at: Option<Instant> = None;
    let mut crlf = cfg.crlf.then(Crlf::default);
    let mut peers = Peers::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut last_event = Instant::now();
    let mut sweep = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            (index, received) = first_datagram(&sockets, &mut buf, false) => {
                let (n, peer) = received.map_err(io_failure)?;
                last_event = Instant::now();
                cfg.log.record(&buf[..n]);
                if !note_peer(cfg, &mut peers, peer, index) {
                    continue;
                }
                if let Some(delay) = cfg.delay {
                    tokio::time::sleep(delay).await;
                }
                if n > 0 && stdout.write(Bytes::copy_from_slice(&buf[..n])).await.is_err() {
                    return Ok(Ended::Normally);
                }
            }
            chunk = async { stdin.as_mut()?.recv().await }, if stdin.is_some() && !peers.is_empty() => {
                last_event = Instant::now();
                let mut data = match chunk {
                    Some(Ok(data)) => data,
                    // As in Ncat, a stdin that cannot be read ends the listener with status 1.
                    Some(Err(_)) => return Ok(Ended::Quietly),
                    None => {
                        stdin = None;
                        match stdin_eof(cfg, true) {
                            AfterStdinEof::Quit => break,
                            AfterStdinEof::Continue => {}
                            AfterStdinEof::QuitIn(delay) => quit_at = Some(Instant::now() + delay),
                        }
                        continue;
                    }
                };
                if cfg.recv_only {
                    continue;
                }
                if let Some(crlf) = crlf.as_mut() {
                    data = crlf.apply(&data);
                }
                send_to_all(cfg, &sockets, &peers, &data).await;
            }
            _ = tokio::time::sleep_until(quit_at.unwrap_or_else(Instant::now)), if quit_at.is_some() => {
                return Err(quit_timer_expired(cfg, true));
            }
            _ = sweep.tick() => {
                peers.retain(|_, (_, seen)| seen.elapsed() < PEER_IDLE);
                if let Some(idle) = cfg.idle_timeout
                    && !peers.is_empty()
                    && last_event.elapsed() >= idle
                {
                    return Err(Failure::Fatal(idle_expired(idle)));
                }
            }
        }
    }
    let _ = stdout.close().await;
    Ok(Ended::Normally)
}

/// The peers of `-u -l -k`: where each was heard from (the socket's index) and when.
type Peers = HashMap<SocketAddr, (usize, Instant)>;

/// Records a datagram's sender; a new one is logged and must pass the admission checks.
fn note_peer(cfg: &Config, peers: &mut Peers, peer: SocketAddr, index: usize) -> bool {
    if !peers.contains_key(&peer) {
        tracing::info!("Connection from {}.", peer.ip());
        if !admits(cfg.max_conns, peers.len(), &cfg.access, &Endpoint::Ip(peer)) {
            return false;
        }
    }
    peers.insert(peer, (index, Instant::now()));
    true
}

/// Sends stdin's data to every peer, from the socket that heard it, as datagrams of at most
/// [`MAX_DATAGRAM`] bytes.
async fn send_to_all(cfg: &Config, sockets: &[UdpSocket], peers: &Peers, data: &[u8]) {
    for datagram in data.chunks(MAX_DATAGRAM) {
        cfg.log.record(datagram);
        for (peer, (index, _)) in peers {
            // One unreachable peer must not stop the others.
            if let Err(e) = sockets[*index].send_to(datagram, peer).await {
                tracing::debug!("send to {}: {}", show_addr(peer), strerror(&e));
            }
        }
    }
}

/// A connected datagram socket: UDP, or a Unix datagram socket (`-U -u`).
pub(crate) trait Datagrams: std::os::fd::AsFd + Sized {
    async fn send(&self, datagram: &[u8]) -> io::Result<usize>;
    /// Receives one datagram into `buf`'s spare capacity.
    async fn recv_buf(&self, buf: &mut BytesMut) -> io::Result<usize>;
    /// The same without waiting: `WouldBlock` when nothing is queued.
    fn try_recv_buf(&self, buf: &mut BytesMut) -> io::Result<usize>;

    /// An error the kernel holds for the socket (an ICMP refusal of a datagram already sent),
    /// asked of the kernel directly, whether or not the runtime has seen the socket wake.
    fn pending_error(&self) -> Option<io::Error> {
        socket2::SockRef::from(self).take_error().ok().flatten()
    }
}

impl Datagrams for UdpSocket {
    async fn send(&self, datagram: &[u8]) -> io::Result<usize> {
        UdpSocket::send(self, datagram).await
    }
    async fn recv_buf(&self, buf: &mut BytesMut) -> io::Result<usize> {
        UdpSocket::recv_buf(self, buf).await
    }
    fn try_recv_buf(&self, buf: &mut BytesMut) -> io::Result<usize> {
        UdpSocket::try_recv_buf(self, buf)
    }
}

impl Datagrams for UnixDatagram {
    async fn send(&self, datagram: &[u8]) -> io::Result<usize> {
        UnixDatagram::send(self, datagram).await
    }
    async fn recv_buf(&self, buf: &mut BytesMut) -> io::Result<usize> {
        UnixDatagram::recv_buf(self, buf).await
    }
    fn try_recv_buf(&self, buf: &mut BytesMut) -> io::Result<usize> {
        UnixDatagram::try_recv_buf(self, buf)
    }
}

/// `-U -u` connect: from the `-s` path, or a temporary socket (removed at the end), to `path`.
pub async fn connect_unix(cfg: &Config, path: &Path, source: Option<&Path>) -> ModeResult {
    let temporary = source.is_none().then(temporary_socket_path);
    let local = source
        .map(Path::to_path_buf)
        .or_else(|| temporary.clone())
        .unwrap_or_default();
    let socket = UnixDatagram::bind(&local).map_err(io_failure)?;
    tracing::info!(
        "[{}] used as source DGRAM Unix domain socket.",
        local.display()
    );
    let result = match socket.connect(path) {
        Ok(()) => {
            tracing::info!("Connected to {}.", path.display());
            match &cfg.exec {
                Some(cmd) => {
                    exec::relay(Stream::UnixDgram(socket), cmd, cfg).await;
                    Ok(Ended::Normally)
                }
                None => session(cfg, socket, None, false).await,
            }
        }
        Err(e) => Err(io_failure(e)),
    };
    if let Some(temporary) = temporary {
        tracing::info!(
            "Deleting source DGRAM Unix domain socket. [{}]",
            temporary.display()
        );
        let _ = std::fs::remove_file(temporary);
    }
    result
}

/// `-U -u -l`: serves the first sender (which must have a named socket to be answered).
pub async fn listen_unix(cfg: &Config, path: &Path) -> ModeResult {
    let socket = UnixDatagram::bind(path)
        .map_err(|e| Failure::Fatal(format!("bind to {}: {}.", path.display(), strerror(&e))))?;
    tracing::info!("Listening on {}", path.display());
    let mut buf = vec![0u8; 1 << 16];
    let (n, peer) = socket.recv_from(&mut buf).await.map_err(io_failure)?;
    let peer_path = peer
        .as_pathname()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    tracing::info!("Connection from {}.", peer_path.display());
    if cfg.exec.is_none() {
        cfg.log.record(&buf[..n]);
    }
    if !peer_path.as_os_str().is_empty() {
        socket.connect(&peer_path).map_err(io_failure)?;
    }
    let first = Bytes::copy_from_slice(&buf[..n]);
    if let Some(cmd) = &cfg.exec {
        exec::relay_with(Stream::UnixDgram(socket), cmd, cfg, Some(first)).await;
        return Ok(Ended::Normally);
    }
    session(cfg, socket, Some(first), true).await
}

/// `$TMPDIR/ncat.XXXXXX` (or under /tmp), as Ncat names its temporary client socket.
fn temporary_socket_path() -> PathBuf {
    let dir = std::env::var_os("TMPDIR").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tag = (std::process::id() ^ nanos) & 0xff_ffff;
    dir.join(format!("ncat.{tag:06x}"))
}

/// `-u -l -k -e`: a child per peer. Each new peer gets a socket of its own, bound to the
/// listening address and connected to the peer (so the kernel routes that peer's datagrams to
/// it), and a relay whose child reads the peer's first datagram first. At most `-m` at once.
async fn relay_per_peer(cfg: &Config, cmd: &ExecCommand, sockets: Vec<UdpSocket>) -> ModeResult {
    let slots = Slots::new(cfg.max_conns);
    let cfg = Arc::new(cfg.clone());
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let (index, received) = first_datagram(&sockets, &mut buf, false).await;
        let (n, peer) = received.map_err(io_failure)?;
        tracing::info!("Connection from {}.", peer.ip());
        let Some(slot) = slots.admit(&cfg.access, &Endpoint::Ip(peer)) else {
            continue;
        };
        let local = sockets[index].local_addr().map_err(io_failure)?;
        let own = bind_udp(local)?;
        own.connect(peer).await.map_err(io_failure)?;
        let first = Bytes::copy_from_slice(&buf[..n]);
        let (cfg, cmd) = (cfg.clone(), cmd.clone());
        tokio::spawn(async move {
            exec::relay_with(Stream::Udp(own), &cmd, &cfg, Some(first)).await;
            drop(slot);
        });
    }
}

/// One peer's session over a connected socket.
async fn session(
    cfg: &Config,
    socket: impl Datagrams,
    first: Option<Bytes>,
    listening: bool,
) -> ModeResult {
    let started = Instant::now();
    let stdout = LocalOutput::stdout();
    if let Some(first) = first.filter(|d| !d.is_empty() && !cfg.send_only) {
        let _ = stdout.write(first).await;
    }
    let mut state = Session {
        stdout,
        stdin: (!cfg.recv_only).then(stdio::spawn_stdin),
        crlf: cfg.crlf.then(Crlf::default),
        batch: BytesMut::new(),
        quit_at: None,
        last_read: Instant::now(),
        sent: 0,
        received: 0,
        listening,
    };
    let idle = cfg.idle_timeout;
    loop {
        let step = tokio::select! {
            chunk = async { state.stdin.as_mut()?.recv().await }, if state.stdin.is_some() && state.quit_at.is_none() => {
                state.on_stdin(cfg, &socket, chunk).await
            }
            got = socket.recv_buf(with_room(&mut state.batch)), if !cfg.send_only || listening => {
                state.on_datagram(cfg, &socket, got).await
            }
            _ = tokio::time::sleep_until(state.quit_at.unwrap_or_else(Instant::now)), if state.quit_at.is_some() => {
                Step::End(Err(quit_timer_expired(cfg, listening)))
            }
            _ = tokio::time::sleep_until(state.last_read + idle.unwrap_or_default()), if idle.is_some() => {
                let idle = idle.unwrap_or_default();
                match state.last_read.elapsed() >= idle {
                    true if listening => Step::End(Err(Failure::Fatal(idle_expired(idle)))),
                    true => Step::End(Err(Failure::Network(idle_expired(idle)))),
                    false => Step::Go,
                }
            }
        };
        match step {
            Step::Go => {}
            Step::Stop => break,
            Step::End(result) => return result,
        }
    }
    let _ = state.stdout.close().await;
    if !listening {
        log_totals(state.sent, state.received, started);
    }
    Ok(Ended::Normally)
}

/// What one event of a session leads to.
enum Step {
    Go,
    /// The session is over: stdout is closed, the totals logged.
    Stop,
    /// The session ends with this, at once.
    End(ModeResult),
}

/// The state of one [`session`].
struct Session {
    stdout: LocalOutput,
    stdin: Option<LocalInput>,
    crlf: Option<Crlf>,
    batch: BytesMut,
    /// When `-q` ends the session, once stdin has ended.
    quit_at: Option<Instant>,
    /// The last read either way, for `-i`.
    last_read: Instant,
    sent: u64,
    received: u64,
    listening: bool,
}

impl Session {
    /// A chunk of stdin (or its end): sent as datagrams of at most [`MAX_DATAGRAM`] bytes.
    async fn on_stdin(
        &mut self,
        cfg: &Config,
        socket: &impl Datagrams,
        chunk: Option<io::Result<Bytes>>,
    ) -> Step {
        self.last_read = Instant::now();
        let mut data = match chunk {
            Some(Ok(data)) => data,
            Some(Err(_)) if self.listening => return Step::End(Ok(Ended::Quietly)),
            Some(Err(e)) => return Step::End(Err(io_failure(e))),
            None => return self.on_stdin_eof(cfg, socket),
        };
        if let Some(delay) = cfg.delay {
            tokio::time::sleep(delay).await;
        }
        if let Some(crlf) = self.crlf.as_mut() {
            data = crlf.apply(&data);
        }
        if cfg.recv_only && self.listening {
            return Step::Go;
        }
        for datagram in data.chunks(MAX_DATAGRAM) {
            cfg.log.record(datagram);
            match socket.send(datagram).await {
                Ok(n) => self.sent += n as u64,
                Err(e) => return Step::End(Err(io_failure(e))),
            }
        }
        Step::Go
    }

    fn on_stdin_eof(&mut self, cfg: &Config, socket: &impl Datagrams) -> Step {
        self.stdin = None;
        // A refusal of what was just sent may already be in; it decides the status (the
        // runtime may not have polled the socket since).
        if !self.listening
            && let Some(e) = socket.pending_error()
        {
            return Step::End(Err(io_failure(e)));
        }
        match stdin_eof(cfg, self.listening) {
            AfterStdinEof::Quit => Step::Stop,
            AfterStdinEof::Continue => Step::Go,
            AfterStdinEof::QuitIn(delay) => {
                self.quit_at = Some(Instant::now() + delay);
                Step::Go
            }
        }
    }

    /// A datagram (with those queued behind it) for stdout; an empty one ends a client.
    async fn on_datagram(
        &mut self,
        cfg: &Config,
        socket: &impl Datagrams,
        got: io::Result<usize>,
    ) -> Step {
        self.last_read = Instant::now();
        let n = match got {
            Ok(n) => n,
            Err(e) => return Step::End(Err(io_failure(e))),
        };
        self.received += n as u64;
        if n == 0 {
            // An empty datagram ends a client; a listener ignores it.
            return if self.listening { Step::Go } else { Step::Stop };
        }
        cfg.log.record(&self.batch);
        let end = match cfg.delay {
            Some(delay) => {
                tokio::time::sleep(delay).await;
                GatherEnd::Drained
            }
            None => gather_queued(
                socket,
                &mut self.batch,
                cfg,
                self.listening,
                &mut self.received,
            ),
        };
        let data = self.batch.split().freeze();
        if !cfg.send_only && self.stdout.write(data).await.is_err() {
            return Step::End(Ok(Ended::Normally));
        }
        match end {
            GatherEnd::Drained => Step::Go,
            GatherEnd::EmptyDatagram => Step::Stop,
            GatherEnd::Failed(e) => Step::End(Err(io_failure(e))),
        }
    }
}

/// Room reserved for each receive: more than the largest datagram, so none is cut.
const DATAGRAM_ROOM: usize = 1 << 16;
/// Datagrams already queued behind one just received are gathered up to this many bytes into
/// one stdout write: a hand-off to the stdout thread per datagram costs more than the receive.
const GATHER_BYTES: usize = 256 << 10;

/// `batch` with spare capacity for one more whole datagram (for a whole gathering when empty,
/// so that gathering never moves the bytes).
fn with_room(batch: &mut BytesMut) -> &mut BytesMut {
    let room = if batch.is_empty() {
        GATHER_BYTES + DATAGRAM_ROOM
    } else {
        DATAGRAM_ROOM
    };
    batch.reserve(room);
    batch
}

/// How gathering queued datagrams ended.
enum GatherEnd {
    /// Nothing more is queued, or the batch is full.
    Drained,
    /// A client got an empty datagram, which ends it (after what came before it).
    EmptyDatagram,
    /// The socket reported an error (such as an ICMP refusal); it ends the session after the
    /// data before it.
    Failed(io::Error),
}

/// Takes the datagrams already queued on `socket` into `batch` without waiting, up to
/// [`GATHER_BYTES`], logging each one on its own and counting it in `received`.
fn gather_queued(
    socket: &impl Datagrams,
    batch: &mut BytesMut,
    cfg: &Config,
    listening: bool,
    received: &mut u64,
) -> GatherEnd {
    while batch.len() < GATHER_BYTES {
        let start = batch.len();
        match socket.try_recv_buf(with_room(batch)) {
            Ok(0) if listening => {}
            Ok(0) => return GatherEnd::EmptyDatagram,
            Ok(n) => {
                *received += n as u64;
                cfg.log.record(&batch[start..]);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return GatherEnd::Failed(e),
        }
    }
    GatherEnd::Drained
}

/// What stdin's EOF does to a UDP session.
enum AfterStdinEof {
    Quit,
    Continue,
    QuitIn(Duration),
}

/// A UDP client quits at stdin's EOF unless `-q` says otherwise; a UDP listener goes on
/// (Ncat 7.95, nmap#2685) unless `-q` says otherwise.
fn stdin_eof(cfg: &Config, listening: bool) -> AfterStdinEof {
    match cfg.quit_after {
        None if listening => AfterStdinEof::Continue,
        None => AfterStdinEof::Quit,
        Some(QuitAfterEof::Never) => AfterStdinEof::Continue,
        Some(QuitAfterEof::After(delay)) if delay.is_zero() => AfterStdinEof::Quit,
        Some(QuitAfterEof::After(delay)) => AfterStdinEof::QuitIn(delay),
    }
}

/// The end of a `-q` wait: Ncat reuses its idle timer, so it ends the way `-i` does.
fn quit_timer_expired(cfg: &Config, listening: bool) -> Failure {
    let message = idle_expired(cfg.quit_timer().unwrap_or_default());
    if listening {
        Failure::Fatal(message)
    } else {
        Failure::Network(message)
    }
}

/// The `-v` closing line of a client session.
fn log_totals(sent: u64, received: u64, started: Instant) {
    tracing::info!(
        "{sent} bytes sent, {received} bytes received in {:.2} seconds.",
        started.elapsed().as_secs_f64()
    );
}

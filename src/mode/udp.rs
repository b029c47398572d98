//! `-u`: UDP (and `-U -u` Unix datagram sockets) in connect mode and in listen mode.
//!
//! One peer's session (connect mode, the single-peer listener) is the pump over a connected
//! socket (`net::datagram`): each stdin read becomes one datagram (reads over the UDP maximum
//! are cut into datagrams of at most 65,507 bytes); each datagram received goes to stdout whole,
//! up to 64 KiB (Ncat 7.93 truncates at 8 KiB). Connect mode ends at stdin EOF (or `-q` later),
//! at an empty datagram from the peer, or with `Connection refused.` when the peer's port is
//! closed (ICMP). The listener serves the first peer that sends a datagram and then only that
//! peer; its stdin ending does not end it (as in Ncat 7.95). `-l -k` tells many peers apart
//! itself.

use bytes::Bytes;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::net::{UdpSocket, UnixDatagram};
use tokio::time::Instant;

use crate::config::Config;
use crate::error::{Ended, Failure, ModeResult, idle_expired, io_failure, strerror};
use crate::io::exec::ExecCommand;
use crate::io::progress;
use crate::io::pump::{self, End, Rules};
use crate::io::stdio::{self, CHUNK, LocalOutput};
use crate::io::transform::{self, FromPeer, IdleClock, ToPeers};
use crate::mode::exec;
use crate::net::admission::{Slots, admits};
use crate::net::datagram::{Datagrams, GATHERING_READ, Incoming, Outgoing};
use crate::net::resolve::show_addr;
use crate::net::stream::{Endpoint, Stream};
use crate::net::udp_socket::bind_udp;
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
                progress::log_totals(1, 0, started.elapsed());
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
        if !admits(cfg.max_conns, 0, &cfg.access, &endpoint) {
            // Read and dropped, and logged as Ncat logs it (an admitted peer's first datagram
            // is logged by its session).
            if peek {
                let _ = sockets[index].try_recv_from(&mut buf);
            } else {
                cfg.log.record(&buf[..n]);
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
    let mut to_peers = ToPeers::new(cfg.crlf);
    let mut peers = Peers::new();
    let mut buf = vec![0u8; 1 << 16];
    let idle = IdleClock::default();
    let mut sweep = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            (index, received) = first_datagram(&sockets, &mut buf, false) => {
                let (n, peer) = received.map_err(io_failure)?;
                idle.touch();
                let datagram = Bytes::copy_from_slice(&buf[..n]);
                let Some(known) = note_peer(cfg, &mut peers, peer, index) else {
                    cfg.log.record(&datagram);
                    continue;
                };
                let (data, answer) = known.from_peer.take(datagram, &cfg.log);
                if !answer.is_empty() {
                    let _ = sockets[index].send_to(&answer, peer).await;
                }
                transform::pause(cfg.delay).await;
                if !data.is_empty() && stdout.write(data).await.is_err() {
                    return Ok(Ended::Normally);
                }
            }
            chunk = async { stdin.as_mut()?.recv().await }, if stdin.is_some() && !peers.is_empty() => {
                idle.touch();
                let data = match chunk {
                    Some(Ok(data)) => data,
                    // As in Ncat, a stdin that cannot be read ends the listener with status 1.
                    Some(Err(_)) => return Ok(Ended::Quietly),
                    // As for one peer: the listener goes on unless -q says otherwise.
                    None => {
                        stdin = None;
                        if cfg.ends_at_stdin_eof_over_datagrams(true) {
                            break;
                        }
                        quit_at = cfg.quit_timer().map(|delay| Instant::now() + delay);
                        continue;
                    }
                };
                if cfg.recv_only {
                    continue;
                }
                send_to_all(cfg, &sockets, &peers, &to_peers.convert(data)).await;
            }
            _ = tokio::time::sleep_until(quit_at.unwrap_or_else(Instant::now)), if quit_at.is_some() => {
                // Ncat reuses its idle timer for -q: its message and status.
                return Err(Failure::Fatal(idle_expired(cfg.quit_timer().unwrap_or_default())));
            }
            // -i runs only while some peer is known.
            _ = idle.expired(cfg.idle_timeout.unwrap_or_default()),
                if cfg.idle_timeout.is_some() && !peers.is_empty() =>
            {
                return Err(Failure::Fatal(idle_expired(cfg.idle_timeout.unwrap_or_default())));
            }
            _ = sweep.tick() => peers.retain(|_, known| known.seen.elapsed() < PEER_IDLE),
        }
    }
    let _ = stdout.close().await;
    Ok(Ended::Normally)
}

/// A peer of `-u -l -k`.
struct Peer {
    /// The listening socket that heard it.
    index: usize,
    /// When it was last heard from.
    seen: Instant,
    /// Its `-t` state.
    from_peer: FromPeer,
}

type Peers = HashMap<SocketAddr, Peer>;

/// Records a datagram's sender; a new one is logged and must pass the admission checks.
fn note_peer<'a>(
    cfg: &Config,
    peers: &'a mut Peers,
    peer: SocketAddr,
    index: usize,
) -> Option<&'a mut Peer> {
    if !peers.contains_key(&peer) {
        tracing::info!("Connection from {}.", peer.ip());
        if !admits(cfg.max_conns, peers.len(), &cfg.access, &Endpoint::Ip(peer)) {
            return None;
        }
    }
    let known = peers.entry(peer).or_insert_with(|| Peer {
        index,
        seen: Instant::now(),
        from_peer: FromPeer::new(cfg.telnet),
    });
    known.index = index;
    known.seen = Instant::now();
    Some(known)
}

/// Sends stdin's data to every peer, from the socket that heard it, as datagrams of at most
/// [`MAX_DATAGRAM`] bytes.
async fn send_to_all(cfg: &Config, sockets: &[UdpSocket], peers: &Peers, data: &[u8]) {
    for datagram in data.chunks(MAX_DATAGRAM) {
        cfg.log.record(datagram);
        for (peer, Peer { index, .. }) in peers {
            // One unreachable peer must not stop the others.
            if let Err(e) = sockets[*index].send_to(datagram, peer).await {
                tracing::debug!("send to {}: {}", show_addr(peer), strerror(&e));
            }
        }
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
    // A sender whose socket is already gone (a client that sent and quit) is served as an
    // unnamed one: what it sent is still delivered; nothing can be sent back.
    if !peer_path.as_os_str().is_empty()
        && let Err(e) = socket.connect(&peer_path)
    {
        tracing::debug!("cannot answer {}: {}", peer_path.display(), strerror(&e));
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

/// One peer's session over a connected socket, run by the pump: the datagram rules are the
/// pump's rules (see [`crate::net::datagram`]). `first` is a listener's first datagram.
async fn session<S: Datagrams>(
    cfg: &Config,
    socket: S,
    first: Option<Bytes>,
    listening: bool,
) -> ModeResult {
    let started = Instant::now();
    let socket = Arc::new(socket);
    // Taken together unless -d or a log wants them one by one.
    let gather = cfg.delay.is_none() && !cfg.log.is_active();
    let first = first.unwrap_or_default();
    let reader = Incoming::new(socket.clone(), &first, !listening, gather);
    let seen_error = reader.seen_error();
    let writer = Outgoing(socket.clone());
    let rules = Rules {
        read_stdin: !cfg.recv_only,
        send_stdin: true,
        // A --send-only listener still takes the datagrams (and drops them).
        read_remote: !cfg.send_only || listening,
        print_remote: !cfg.send_only,
        shutdown_on_eof: false,
        end_on_stdin_eof: cfg.ends_at_stdin_eof_over_datagrams(listening),
        quit_after: cfg.quit_timer(),
        linger: None,
        transforms: cfg.transforms(),
        read_size: if gather { GATHERING_READ } else { CHUNK },
        progress: cfg.progress,
    };
    let stdin = rules.read_stdin.then(stdio::spawn_stdin);
    let outcome = pump::run(
        reader,
        writer,
        stdin,
        LocalOutput::stdout(),
        rules,
        &cfg.log,
    )
    .await;
    match outcome.end {
        // A refusal of what was just sent may already be in; it decides the status (the
        // runtime may not have polled the socket since).
        End::StdinDone
            if !listening
                && let Some(e) = socket.pending_error().or_else(|| {
                    let seen = seen_error.lock().unwrap_or_else(|p| p.into_inner()).take();
                    seen.map(io::Error::from_raw_os_error)
                }) =>
        {
            Err(io_failure(e))
        }
        End::RemoteClosed | End::StdinDone => {
            if !listening {
                progress::log_totals(outcome.sent, outcome.received, started.elapsed());
            }
            Ok(Ended::Normally)
        }
        End::OutputGone => Ok(Ended::Normally),
        End::StdinFailed(_) if listening => Ok(Ended::Quietly),
        End::ReadFailed(e) | End::WriteFailed(e) | End::StdinFailed(e) => Err(io_failure(e)),
        End::IdleTimeout(idle) if listening => Err(Failure::Fatal(idle_expired(idle))),
        End::IdleTimeout(idle) => Err(Failure::Network(idle_expired(idle))),
    }
}

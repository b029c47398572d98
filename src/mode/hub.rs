//! The hub behind `-k`, `--broker` and `--chat`: a registry of clients, each with a bounded
//! outgoing queue, and the routing rules of the three modes.
//!
//! Routing:
//! - keep-open: stdin goes to every client; each client's data goes to stdout.
//! - broker: stdin goes to every client; each client's data goes to every *other* client.
//! - chat: like broker, but data is cut into lines, escaped and prefixed with `<userN> `, and
//!   joins and leaves are announced.
//!
//! Flow control (the one place this policy lives): each client's queue holds at most
//! [`QUEUE_LIMIT`] bytes before it counts as full. While any queue is full, the hub stops reading
//! from every sender (clients and stdin), so TCP back-pressure paces fast senders to the slowest
//! live reader and no byte is dropped. Senders already past the check finish the chunk they
//! read, so a queue can exceed the limit by at most one read chunk per sender.
//!
//! The stall rule measures the peer, not us: a client is disconnected (announced in chat) only
//! when its queue has been full for the stall timeout and in that time the peer took no bytes.
//! It took some if one of our writes to it completed, or if the kernel's count of bytes sent to
//! it and not yet taken (`SIOCOUTQ`: unsent plus unacknowledged), sampled four times per stall
//! timeout while a write waits, fell below its lowest value so far or reached zero. Neither of
//! our own measures is enough on its own:
//! - write completions: with large autotuned socket buffers a socket can stay unwritable for
//!   seconds while its reader works steadily through it;
//! - our clock: in a join storm of thousands of clients one pass of the event loop over the
//!   writers can take longer than the stall timeout, so a writer can sit unpolled, its queue
//!   full, while its peer has long taken everything.
//!
//! A reader is seen as long as it frees enough of its receive buffer per stall timeout for its
//! kernel to open the window again (a segment, 64 KiB on loopback; Linux waits for a sixteenth
//! of a large autotuned buffer). After a drop the others resume at full speed.
//!
//! Every message is a `Bytes` shared by all its recipients: one allocation, no per-client copy.

use crate::error::{Ended, ModeResult};
use crate::net::admission::admits;
use crate::net::listener::log_connection;
use crate::net::resolve::canonical_ip;
use crate::net::stream::{Endpoint, ReadHalf, Stream, UnreadProbe, WriteHalf};
use bytes::{Buf, Bytes, BytesMut};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::{self, IoSlice};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::Instant;

use crate::config::ListenKind;
use crate::io::chat::LineFramer;
use crate::io::session_log::SessionLog;
use crate::io::stdio::{CHUNK, LocalInput, LocalOutput};
use crate::io::transform::{self, FromPeer, IdleClock, ToPeers};
use crate::net::access::AccessList;

/// The ID the listener's stdin speaks as (`<user0>` in chat); no client has it, as client IDs
/// start after the descriptors Ncat would have in use.
const CONSOLE_ID: u32 = 0;

/// Bytes a client's queue may hold before the hub pauses the senders.
pub const QUEUE_LIMIT: usize = 1024 * 1024;
/// Reads smaller than this are copied into an exact-size buffer rather than keeping a whole
/// read buffer alive in every queue they sit in.
const COPY_BELOW: usize = 4096;
/// How often the delivery rate is measured.
const LOAD_WINDOW: Duration = Duration::from_millis(100);
/// Above this many deliveries a second, writers coalesce (see [`COALESCE`]).
const BUSY_RATE: f64 = 150_000.0;
/// How long a busy writer waits for more messages before writing.
const COALESCE: Duration = Duration::from_millis(1);
/// Most queued messages handed to one vectored write.
const BATCH: usize = 64;

/// The settings the hub needs from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub kind: ListenKind,
    pub max_conns: usize,
    pub stall_timeout: Duration,
    pub send_only: bool,
    pub recv_only: bool,
    pub no_shutdown: bool,
    /// stdin's EOF ends the program (`--send-only`, `-q 0`).
    pub ends_at_stdin_eof: bool,
    /// `-q TIME`: the program ends this long after stdin's EOF, as an idle timeout does.
    pub quit_after: Option<Duration>,
    /// The lowest chat ID, emulating Ncat's file-descriptor numbering.
    pub first_id: u32,
    /// `-C` on the listener's stdin.
    pub crlf: bool,
    /// `-t`: answer each client's Telnet negotiation and strip it from its data.
    pub telnet: bool,
    /// `--chat-utf8`: printable UTF-8 passes the chat escaping.
    pub chat_utf8: bool,
    /// `--chat-console`: stdout shows what a chat client would see.
    pub chat_console: bool,
    /// `-d`: pause after every client read.
    pub delay: Option<Duration>,
    /// `-o` / `-x`: every chunk read from a client and every message relayed, once.
    pub log: Arc<SessionLog>,
    /// `--allow` / `--deny`.
    pub access: Arc<AccessList>,
}

/// Why a client left.
enum Leave {
    Closed,
    Failed,
    Stalled,
}

#[derive(Default)]
struct Outbox {
    items: VecDeque<Bytes>,
    /// Bytes queued or being written, not yet accepted by the socket.
    bytes: usize,
    /// When the queue last became full, while it is full.
    full_since: Option<Instant>,
    /// Half-close the socket once the queue is drained.
    shutdown: bool,
    /// The writer found the queue empty and waits to be woken.
    writer_idle: bool,
}

struct Client {
    id: u32,
    /// The address shown in chat announcements.
    host: String,
    outbox: Mutex<Outbox>,
    wake: Notify,
}

impl Client {
    fn outbox(&self) -> MutexGuard<'_, Outbox> {
        self.outbox.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub struct Hub {
    settings: Settings,
    clients: Mutex<Registry>,
    /// How many client queues are full; senders read only while this is zero.
    full_queues: watch::Sender<usize>,
    /// How many clients are connected; stdin is read only while this is above zero.
    population: watch::Sender<usize>,
    /// Keep-open mode writes client data here, and `--chat-console` the chat.
    stdout: Option<LocalOutput>,
    /// `--chat-console`: the listener's own queue, written to stdout.
    console: Option<Arc<Client>>,
    /// Asks the listener to end the program with this status.
    exit: mpsc::UnboundedSender<ModeResult>,
    /// The last event (a client's data, stdin data, a new connection), for `-i`.
    idle: IdleClock,
    /// Messages queued since the last load check.
    deliveries: AtomicU64,
    /// Set while the hub delivers more than [`BUSY_RATE`] messages a second.
    busy: std::sync::atomic::AtomicBool,
}

impl Hub {
    pub fn new(settings: Settings, exit: mpsc::UnboundedSender<ModeResult>) -> Arc<Hub> {
        let stdout = (settings.kind == ListenKind::KeepOpen || settings.chat_console)
            .then(LocalOutput::stdout);
        // The console has a queue like a client's, so a stdout that stops pauses the senders
        // as a client that stops reading does (it is never dropped for it).
        let console = settings.chat_console.then(|| {
            Arc::new(Client {
                id: CONSOLE_ID,
                host: String::new(),
                outbox: Mutex::new(Outbox::default()),
                wake: Notify::new(),
            })
        });
        let first_id = settings.first_id;
        Arc::new(Hub {
            settings,
            clients: Mutex::new(Registry::new(first_id)),
            full_queues: watch::Sender::new(0),
            population: watch::Sender::new(0),
            stdout,
            console,
            exit,
            idle: IdleClock::default(),
            deliveries: AtomicU64::new(0),
            busy: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Watches the delivery rate and sets `busy` while it is above [`BUSY_RATE`].
    pub async fn watch_load(self: Arc<Self>) {
        let mut tick = tokio::time::interval(LOAD_WINDOW);
        loop {
            tick.tick().await;
            let n = self.deliveries.swap(0, Ordering::Relaxed);
            let rate = n as f64 / LOAD_WINDOW.as_secs_f64();
            self.busy.store(rate > BUSY_RATE, Ordering::Relaxed);
        }
    }

    /// Records activity for the idle timer.
    fn touch(&self) {
        self.idle.touch();
    }

    /// Resolves once `idle` has passed with clients connected and nothing happening
    /// (`-i` in listen mode); the timer only runs while at least one client is connected.
    pub async fn idle_expired(&self, idle: Duration) {
        let mut population = self.population.subscribe();
        loop {
            if population.wait_for(|n| *n > 0).await.is_err() {
                return std::future::pending().await;
            }
            tokio::select! {
                _ = self.idle.expired(idle) => {
                    if *self.population.borrow() > 0 {
                        return;
                    }
                }
                _ = population.wait_for(|n| *n == 0) => {}
            }
        }
    }

    fn clients(&self) -> MutexGuard<'_, Registry> {
        self.clients.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_chat(&self) -> bool {
        self.settings.kind == ListenKind::Chat
    }

    /// Handles one accepted connection: the `-v` lines, the connection limit, then serving it.
    pub fn admit(self: &Arc<Self>, stream: Stream, peer: Endpoint) {
        let ip = peer.ip().map(canonical_ip);
        let host = ip.map_or_else(|| peer.host(), |ip| ip.to_string());
        let mut clients = self.clients();
        let id = clients.lowest_free_id();
        log_connection(&peer, self.is_chat().then_some(id));
        self.touch();
        let (max, count) = (self.settings.max_conns, clients.len());
        if !admits(max, count, &self.settings.access, &peer) {
            return;
        }
        stream.set_nodelay();
        let client = Arc::new(Client {
            id,
            host: host.clone(),
            outbox: Mutex::new(Outbox::default()),
            wake: Notify::new(),
        });
        if self.is_chat() {
            let others: Vec<String> = clients
                .values()
                .map(|c| format!("{} as <user{}>", c.host, c.id))
                .collect();
            let others = if others.is_empty() {
                "nobody".to_string()
            } else {
                others.join(", ")
            };
            clients.insert(id, client.clone());
            let text = format!(
                "<announce> {host} is connected as <user{id}>.\n<announce> already connected: {others}.\n"
            );
            self.broadcast_locked(&clients, None, Bytes::from(text));
        } else {
            clients.insert(id, client.clone());
        }
        self.population.send_replace(clients.len());
        drop(clients);

        let hub = self.clone();
        tokio::spawn(async move {
            let (reader, writer) = stream.into_split();
            let leave = tokio::select! {
                leave = hub.read_loop(&client, reader) => leave,
                leave = hub.write_loop(&client, writer) => leave,
            };
            hub.remove(&client, leave);
        });
    }

    /// Reads one client until it leaves, routing what it sends.
    async fn read_loop(&self, client: &Client, mut reader: ReadHalf) -> Leave {
        let mut framer = self
            .is_chat()
            .then(|| LineFramer::new(client.id, self.settings.chat_utf8));
        let mut from_peer = FromPeer::new(self.settings.telnet);
        // Allocated only while the client is sending, so idle clients cost no buffer.
        let mut buf = BytesMut::new();
        loop {
            if self.settings.kind != ListenKind::KeepOpen {
                self.wait_until_uncongested().await;
            }
            let read = reader.read_chunk(&mut buf, CHUNK).await;
            if matches!(read, Ok(0) | Err(_)) {
                // An unfinished last line was still said, whether the connection ended in an
                // orderly close or a reset (a client that leaves with unread data resets it).
                if let Some(framer) = framer.as_mut() {
                    let mut out = BytesMut::new();
                    framer.finish(&mut out);
                    self.relay(Some(client.id), out);
                }
            }
            match read {
                Ok(0) => return Leave::Closed,
                Ok(n) => {
                    if self.settings.send_only {
                        buf.clear();
                        continue;
                    }
                    self.touch();
                    let chunk = if n < COPY_BELOW {
                        let small = Bytes::copy_from_slice(&buf);
                        buf.clear();
                        small
                    } else {
                        buf.split().freeze()
                    };
                    let (data, answer) = from_peer.take(chunk, &self.settings.log);
                    // Answers go back to this client only; the rest is its data.
                    if !answer.is_empty() {
                        self.enqueue(client, Bytes::from(answer));
                    }
                    transform::pause(self.settings.delay).await;
                    match (self.settings.kind, framer.as_mut()) {
                        (ListenKind::KeepOpen, _) => {
                            if let Some(stdout) = &self.stdout
                                && stdout.write(data).await.is_err()
                            {
                                let _ = self.exit.send(Ok(Ended::Normally));
                                return Leave::Closed;
                            }
                        }
                        (_, Some(framer)) => {
                            let mut out = BytesMut::with_capacity(data.len() + 64);
                            framer.push(&data, &mut out);
                            self.relay(Some(client.id), out);
                        }
                        (_, None) => self.relay_bytes(Some(client.id), data),
                    }
                }
                Err(_) => return Leave::Failed,
            }
        }
    }

    /// Writes a client's queue to its socket until the client fails or stalls.
    async fn write_loop(&self, client: &Client, mut writer: WriteHalf) -> Leave {
        let mut batch: VecDeque<Bytes> = VecDeque::new();
        loop {
            let shutdown = {
                let mut outbox = client.outbox();
                let take = outbox.items.len().min(BATCH);
                batch.extend(outbox.items.drain(..take));
                outbox.writer_idle = batch.is_empty();
                batch.is_empty() && outbox.shutdown
            };
            if shutdown {
                let _ = writer.shutdown().await;
                return std::future::pending().await;
            }
            if batch.is_empty() {
                client.wake.notified().await;
                if self.busy.load(Ordering::Relaxed) {
                    // Under heavy load, gather a millisecond's worth of messages into one write:
                    // far fewer packets for a little latency.
                    tokio::time::sleep(COALESCE).await;
                }
                continue;
            }
            // Boxed: the write's state (slices, stall timer) is then allocated only while a
            // write is under way, not in every idle client's task.
            let write = Box::pin(self.write_batch(client, &mut writer, &mut batch));
            if let Err(leave) = write.await {
                return leave;
            }
        }
    }

    /// Writes `batch` completely, accounting progress against the client's queue. Gives up
    /// when the queue has been full with no progress for the stall timeout.
    async fn write_batch(
        &self,
        client: &Client,
        writer: &mut WriteHalf,
        batch: &mut VecDeque<Bytes>,
    ) -> Result<(), Leave> {
        let mut last_progress = Instant::now();
        let probe = writer.unread_probe();
        while !batch.is_empty() {
            let slices: Vec<IoSlice<'_>> = batch.iter().map(|b| IoSlice::new(b)).collect();
            // Most writes go through at once: only a full socket needs the stall timer.
            let written = match writer.try_write_vectored(&slices) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let write = writer.write_vectored(&slices);
                    self.unless_stalled(client, &mut last_progress, probe, write)
                        .await?
                }
                other => other,
            };
            let mut n = match written {
                Ok(0) | Err(_) => return Err(Leave::Failed),
                Ok(n) => n,
            };
            last_progress = Instant::now();
            self.consumed(client, n);
            while n > 0 {
                let Some(front) = batch.front_mut() else {
                    break;
                };
                if front.len() <= n {
                    n -= front.len();
                    batch.pop_front();
                } else {
                    front.advance(n);
                    n = 0;
                }
            }
        }
        if writer.buffers() {
            // TLS records may still sit in the session's buffer.
            let flushed = self.unless_stalled(client, &mut last_progress, probe, writer.flush());
            if flushed.await?.is_err() {
                return Err(Leave::Failed);
            }
        }
        Ok(())
    }

    /// Runs `operation` (a write or flush waiting on a full socket), giving up when the client's
    /// queue has been full and the peer has taken nothing for the stall timeout. Four times per
    /// stall timeout the kernel is asked what the peer has not taken yet ([`PeerProgress`]):
    /// our own clock alone proves nothing, as a busy event loop can leave a writer unpolled for
    /// longer than the stall timeout while its peer reads everything it was sent.
    async fn unless_stalled<T>(
        &self,
        client: &Client,
        last_progress: &mut Instant,
        probe: UnreadProbe,
        operation: impl Future<Output = T>,
    ) -> Result<T, Leave> {
        let stall = self.settings.stall_timeout;
        let mut peer = PeerProgress::default();
        tokio::pin!(operation);
        loop {
            let stalls_at = match client.outbox().full_since {
                Some(since) => since.max(*last_progress) + stall,
                None => Instant::now() + stall,
            };
            let look = stalls_at.min(Instant::now() + stall / 4);
            tokio::select! {
                // A write that can go on wins over a timer that fired at the same time.
                biased;
                result = &mut operation => return Ok(result),
                _ = tokio::time::sleep_until(look) => {}
            }
            if peer.took_bytes(probe.unread()) {
                *last_progress = Instant::now();
            }
            if let Some(since) = client.outbox().full_since
                && Instant::now() >= since.max(*last_progress) + stall
            {
                return Err(Leave::Stalled);
            }
        }
    }

    /// Records that `n` bytes of a client's queue reached its socket.
    fn consumed(&self, client: &Client, n: usize) {
        let mut outbox = client.outbox();
        outbox.bytes = outbox.bytes.saturating_sub(n);
        if outbox.bytes < QUEUE_LIMIT && outbox.full_since.take().is_some() {
            self.full_queues.send_modify(|n| *n -= 1);
        }
    }

    /// Queues a message for one client.
    fn enqueue(&self, client: &Client, msg: Bytes) {
        let mut outbox = client.outbox();
        outbox.bytes += msg.len();
        outbox.items.push_back(msg);
        if outbox.bytes >= QUEUE_LIMIT && outbox.full_since.is_none() {
            outbox.full_since = Some(Instant::now());
            self.full_queues.send_modify(|n| *n += 1);
        }
        let wake = std::mem::take(&mut outbox.writer_idle);
        drop(outbox);
        if wake {
            client.wake.notify_one();
        }
    }

    fn broadcast_locked(
        &self,
        clients: &BTreeMap<u32, Arc<Client>>,
        from: Option<u32>,
        msg: Bytes,
    ) {
        if msg.is_empty() {
            return;
        }
        self.settings.log.record(&msg);
        let mut count = 0;
        for client in clients.values().filter(|c| Some(c.id) != from) {
            self.enqueue(client, msg.clone());
            count += 1;
        }
        if let Some(console) = self.console.as_ref().filter(|_| from != Some(CONSOLE_ID)) {
            self.enqueue(console, msg.clone());
        }
        self.deliveries.fetch_add(count, Ordering::Relaxed);
    }

    fn relay_bytes(&self, from: Option<u32>, msg: Bytes) {
        if self.settings.recv_only && self.settings.kind != ListenKind::KeepOpen {
            return;
        }
        let clients = self.clients();
        self.broadcast_locked(&clients, from, msg);
    }

    fn relay(&self, from: Option<u32>, msg: BytesMut) {
        self.relay_bytes(from, msg.freeze());
    }

    async fn wait_until_uncongested(&self) {
        if *self.full_queues.borrow() == 0 {
            return;
        }
        let mut rx = self.full_queues.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }

    /// Drops a client: unregisters it, releases its share of the congestion count, and in chat
    /// tells the others.
    fn remove(&self, client: &Arc<Client>, leave: Leave) {
        let mut clients = self.clients();
        clients.remove(&client.id);
        if client.outbox().full_since.take().is_some() {
            self.full_queues.send_modify(|n| *n -= 1);
        }
        if matches!(leave, Leave::Stalled) {
            tracing::debug!("Dropping <user{}>: it stopped reading.", client.id);
        }
        if self.is_chat() {
            let text = format!("<announce> <user{}> is disconnected.\n", client.id);
            self.broadcast_locked(&clients, None, Bytes::from(text));
        }
        self.population.send_replace(clients.len());
        tracing::debug!("Closing connection from {}.", client.host);
    }

    /// `--chat-console`: writes the console's queue (every message a client would get, but the
    /// console's own) to stdout. A stdout whose reader has gone ends the program, as in
    /// keep-open mode.
    pub async fn console_loop(self: Arc<Self>) {
        let (Some(console), Some(stdout)) = (&self.console, &self.stdout) else {
            return;
        };
        loop {
            let next = {
                let mut outbox = console.outbox();
                let next = outbox.items.pop_front();
                outbox.writer_idle = next.is_none();
                next
            };
            let Some(msg) = next else {
                console.wake.notified().await;
                continue;
            };
            let n = msg.len();
            if stdout.write(msg).await.is_err() {
                let _ = self.exit.send(Ok(Ended::Normally));
                return;
            }
            self.consumed(console, n);
        }
    }

    /// Reads the listener's stdin while clients are connected and routes it: to every client
    /// (as `<user0>` in chat). At EOF, keep-open mode half-closes the current clients and
    /// `--send-only` ends the program; otherwise the hub simply goes on.
    pub async fn stdin_loop(self: Arc<Self>, mut stdin: LocalInput) {
        let mut framer = self
            .is_chat()
            .then(|| LineFramer::new(0, self.settings.chat_utf8));
        let mut to_peers = ToPeers::new(self.settings.crlf);
        let mut population = self.population.subscribe();
        loop {
            if population.wait_for(|n| *n > 0).await.is_err() {
                return;
            }
            self.wait_until_uncongested().await;
            // Stop waiting for stdin when the last client leaves: what is typed then is for
            // the next client.
            let data = tokio::select! {
                data = stdin.recv() => data,
                _ = population.wait_for(|n| *n == 0) => continue,
            };
            let mut data = match data {
                Some(Ok(data)) => data,
                // As in Ncat, a stdin that cannot be read ends the listener with status 1.
                Some(Err(_)) => {
                    let _ = self.exit.send(Ok(Ended::Quietly));
                    return;
                }
                None => break,
            };
            self.touch();
            if self.settings.recv_only {
                continue;
            }
            data = to_peers.convert(data);
            match framer.as_mut() {
                Some(framer) => {
                    let mut out = BytesMut::new();
                    framer.push(&data, &mut out);
                    self.relay(Some(CONSOLE_ID), out);
                }
                None => self.relay_bytes(Some(CONSOLE_ID), data),
            }
        }
        if let Some(framer) = framer.as_mut() {
            let mut out = BytesMut::new();
            framer.finish(&mut out);
            self.relay(Some(CONSOLE_ID), out);
        }
        if self.settings.ends_at_stdin_eof {
            let _ = self.exit.send(Ok(Ended::Normally));
            return;
        }
        if self.settings.kind == ListenKind::KeepOpen && !self.settings.no_shutdown {
            for client in self.clients().values() {
                client.outbox().shutdown = true;
                client.wake.notify_one();
            }
        }
        if let Some(delay) = self.settings.quit_after {
            // Ncat's -q in listen mode: a fixed deadline from stdin's EOF, ended as -i ends.
            tokio::time::sleep(delay).await;
            let _ = self.exit.send(Err(crate::error::Failure::Fatal(
                crate::error::idle_expired(delay),
            )));
        }
    }
}

/// What the kernel says of a peer while one of our writes to it waits: successive counts of the
/// bytes sent to it that it has not taken (`SIOCOUTQ`). While the write waits, only the peer's
/// reading lowers the count.
#[derive(Default)]
struct PeerProgress {
    lowest_unread: Option<usize>,
}

impl PeerProgress {
    /// Takes one count (`None` where the kernel cannot tell). The peer took bytes if the count
    /// fell below the lowest so far, or if nothing is left untaken at all: the socket is then
    /// writable, and only our own scheduling delays the write. The first count is otherwise a
    /// baseline.
    fn took_bytes(&mut self, unread: Option<usize>) -> bool {
        let Some(unread) = unread else {
            return false;
        };
        let took = unread == 0 || self.lowest_unread.is_some_and(|lowest| unread < lowest);
        self.lowest_unread = Some(
            self.lowest_unread
                .map_or(unread, |lowest| lowest.min(unread)),
        );
        took
    }
}

/// The connected clients by ID, and the IDs free for the next ones. Ncat numbers chat users by
/// file descriptor, so a new client gets the lowest number not in use, from the first one; it
/// is found in O(log n), not by a scan, so a burst of thousands of arrivals stays linear.
struct Registry {
    clients: BTreeMap<u32, Arc<Client>>,
    /// Free IDs below `next`.
    gaps: BTreeSet<u32>,
    /// Every ID from here up is free.
    next: u32,
}

impl Registry {
    fn new(first: u32) -> Registry {
        Registry {
            clients: BTreeMap::new(),
            gaps: BTreeSet::new(),
            next: first,
        }
    }

    fn lowest_free_id(&self) -> u32 {
        self.gaps.first().copied().unwrap_or(self.next)
    }

    fn insert(&mut self, id: u32, client: Arc<Client>) {
        if !self.gaps.remove(&id) {
            for gap in self.next..id {
                self.gaps.insert(gap);
            }
            self.next = self.next.max(id + 1);
        }
        self.clients.insert(id, client);
    }

    fn remove(&mut self, id: &u32) {
        if self.clients.remove(id).is_none() {
            return;
        }
        if *id + 1 == self.next {
            self.next = *id;
            while self.gaps.last() == Some(&(self.next.wrapping_sub(1))) {
                self.gaps.pop_last();
                self.next -= 1;
            }
        } else {
            self.gaps.insert(*id);
        }
    }
}

impl std::ops::Deref for Registry {
    type Target = BTreeMap<u32, Arc<Client>>;

    fn deref(&self) -> &Self::Target {
        &self.clients
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: u32) -> Arc<Client> {
        Arc::new(Client {
            id,
            host: "127.0.0.1".into(),
            outbox: Mutex::new(Outbox::default()),
            wake: Notify::new(),
        })
    }

    #[test]
    fn ids_reuse_the_lowest_free_number() {
        let mut registry = Registry::new(5);
        assert_eq!(registry.lowest_free_id(), 5);
        for id in [5, 6, 7] {
            registry.insert(id, client(id));
        }
        assert_eq!(registry.lowest_free_id(), 8);
        registry.remove(&6);
        assert_eq!(registry.lowest_free_id(), 6);
        registry.remove(&5);
        assert_eq!(registry.lowest_free_id(), 5);
        registry.insert(5, client(5));
        assert_eq!(registry.lowest_free_id(), 6);
        registry.remove(&7);
        registry.remove(&5);
        assert_eq!((registry.lowest_free_id(), registry.next), (5, 5));
        assert!(registry.gaps.is_empty());
    }

    #[test]
    fn a_peer_took_bytes_when_its_count_falls_or_reaches_zero() {
        let mut peer = PeerProgress::default();
        assert!(!peer.took_bytes(None));
        assert!(
            !peer.took_bytes(Some(5000)),
            "the first count is a baseline"
        );
        assert!(!peer.took_bytes(Some(5000)));
        assert!(!peer.took_bytes(Some(7000)), "more queued is not progress");
        assert!(peer.took_bytes(Some(4000)));
        assert!(!peer.took_bytes(Some(4500)));
        assert!(
            PeerProgress::default().took_bytes(Some(0)),
            "nothing left untaken"
        );
    }

    fn test_hub(stall_timeout: Duration) -> Arc<Hub> {
        let settings = Settings {
            kind: ListenKind::Broker,
            max_conns: 10,
            stall_timeout,
            send_only: false,
            recv_only: false,
            no_shutdown: false,
            ends_at_stdin_eof: false,
            quit_after: None,
            first_id: 4,
            crlf: false,
            telnet: false,
            chat_utf8: false,
            chat_console: false,
            delay: None,
            log: Arc::default(),
            access: Arc::default(),
        };
        Hub::new(settings, mpsc::unbounded_channel().0)
    }

    /// A connected loopback pair: our writing half, and the peer, which never reads. With
    /// `fill`, the pair's buffers are filled first, so bytes stay unsent and unacknowledged.
    fn stalled_pair(fill: bool) -> (WriteHalf, std::net::TcpStream) {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let ours = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (peer, _) = listener.accept().unwrap();
        ours.set_nonblocking(true).unwrap();
        if fill {
            let chunk = vec![0u8; 65536];
            while (&ours).write(&chunk).is_ok() {}
        }
        let ours = tokio::net::TcpStream::from_std(ours).unwrap();
        (WriteHalf::Tcp(ours.into_split().1), peer)
    }

    /// Waits as the write loop does for a write that never completes, on a queue full since
    /// long ago; how long it waited until the hub gave up, if it did.
    async fn wait_on_a_write_that_never_completes(fill: bool) -> Option<Duration> {
        let stall = Duration::from_millis(200);
        let hub = test_hub(stall);
        let client = client(4);
        client.outbox().full_since = Some(Instant::now() - 10 * stall);
        let (writer, _peer) = stalled_pair(fill);
        let started = Instant::now();
        let mut last_progress = started;
        let waited = hub.unless_stalled(
            &client,
            &mut last_progress,
            writer.unread_probe(),
            std::future::pending::<()>(),
        );
        match tokio::time::timeout(50 * stall, waited).await {
            Ok(Err(Leave::Stalled)) => Some(started.elapsed()),
            _ => None,
        }
    }

    /// Our clock alone drops nobody: a peer that has taken everything it was sent is not
    /// stalled, however long our own write waits (a writer left unpolled by a busy hub).
    #[tokio::test(start_paused = true)]
    async fn a_peer_that_took_everything_is_never_stalled() {
        assert_eq!(wait_on_a_write_that_never_completes(false).await, None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_peer_that_takes_nothing_is_stalled_after_the_timeout() {
        let waited = wait_on_a_write_that_never_completes(true).await;
        assert!(
            waited.is_some_and(|w| w >= Duration::from_millis(200)),
            "{waited:?}"
        );
    }

    proptest::proptest! {
        /// The registry always offers what a scan for the lowest unused number would find.
        #[test]
        fn lowest_free_matches_a_scan(ops in proptest::collection::vec((proptest::bool::ANY, 0u32..40), 0..200)) {
            let mut registry = Registry::new(3);
            for (add, pick) in ops {
                if add {
                    let id = registry.lowest_free_id();
                    registry.insert(id, client(id));
                } else if let Some(&id) = registry.keys().nth(pick as usize % registry.len().max(1)) {
                    registry.remove(&id);
                }
                let scan = (3..).find(|id| !registry.contains_key(id)).unwrap();
                proptest::prop_assert_eq!(registry.lowest_free_id(), scan);
            }
        }
    }
}

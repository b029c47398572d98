//! The two-way pump between the local side (stdin/stdout) and one remote stream, with Ncat's
//! half-close rules. Used by connect mode and by the single-connection listener.
//!
//! The two directions run concurrently (so neither can block the other) and end like this:
//!
//! | event | what happens |
//! |---|---|
//! | stdin EOF | the socket's write side is shut down (unless `--no-shutdown`); with `--send-only` the session ends, otherwise it waits for the peer |
//! | socket EOF | stdout is flushed and closed; the session ends, except that a connect-mode client whose stdin is a pipe or file keeps sending what stdin still has ([`Rules::linger`]) |
//! | socket read or write error | the session ends with that error |
//! | stdin read error | the session ends with [`End::StdinFailed`] |
//! | stdout's reader gone | the session ends quietly (any other stdout failure ends the program: [`crate::io::stdio::output_failed`]) |
//! | no read either way for `-i` | the session ends with [`End::IdleTimeout`] |
//!
//! On the way, stdin chunks pass through `-C` and are logged as sent; socket chunks are
//! logged as received; `-d` pauses after every read.
//!
//! A direction that is switched off (`--recv-only` skips stdin) simply never finishes; a
//! session with both switched off ends at once.
//!
//! Each direction comes in two implementations with the same contract: an async one over
//! any stream (chunks through the stdio threads), and, for a plain TCP socket with no
//! transform to apply, a kernel one on a blocking thread (splice/sendfile, see `kernel_copy`).

use bytes::BytesMut;
use std::future::{Future, pending};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

use crate::io::kernel_copy::{self, CopyError};
use crate::io::progress::Progress;
use crate::io::session_log::SessionLog;
use crate::io::stdio::{self, LocalInput, LocalOutput};
use crate::io::transform::{self, FromPeer, IdleClock, ToPeers};
use crate::net::stream::Stream;

/// A linger that never gives up on the local side.
pub const UNTIL_LOCAL_EOF: Duration = Duration::MAX;

/// Which parts of the pump run.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Read stdin at all (connect-mode `--recv-only` does not).
    pub read_stdin: bool,
    /// Send what stdin delivers to the socket (`--recv-only` listeners read stdin but drop it).
    pub send_stdin: bool,
    /// Read the socket at all (connect-mode `--send-only` never does).
    pub read_remote: bool,
    /// Write what the socket delivers to stdout (`--send-only` listeners only drain it).
    pub print_remote: bool,
    /// Half-close the socket at stdin EOF (not with `--no-shutdown`).
    pub shutdown_on_eof: bool,
    /// End the session at stdin EOF (`--send-only`, `-q 0`).
    pub end_on_stdin_eof: bool,
    /// `-q TIME`: end the session this long after stdin's EOF, as [`End::IdleTimeout`].
    pub quit_after: Option<Duration>,
    /// After the peer's EOF, keep sending stdin until it ends or stays silent this long. A peer
    /// that only half-closed (as a listener does when its own input ends) then still gets the
    /// whole file; a peer that left is not waited for. `None` ends the session at once.
    /// [`UNTIL_LOCAL_EOF`] waits for the local side to end, however long it takes (an exec
    /// child finishing its answer).
    pub linger: Option<Duration>,
    /// What happens to the bytes on the way.
    pub transforms: Transforms,
    /// The most one read of the remote side takes: [`stdio::CHUNK`], or more for a reader that
    /// gathers many datagrams into one read (one stdout hand-off for all of them).
    pub read_size: usize,
    /// `--progress`: report the counts on stderr while the session runs.
    pub progress: bool,
}

/// The options that watch or change the bytes of a session.
#[derive(Debug, Clone, Copy, Default)]
pub struct Transforms {
    /// `-C`: LF to CRLF on the way out.
    pub crlf: bool,
    /// `-d`: pause after every read, both ways.
    pub delay: Option<Duration>,
    /// `-i`: end the session after this long without a read either way.
    pub idle: Option<Duration>,
    /// `-t`: answer Telnet negotiation and strip it from what the socket delivers.
    pub telnet: bool,
}

impl Rules {
    /// Whether neither direction carries anything (`--send-only` with `--recv-only`): Ncat
    /// then ends the session as soon as it starts, with status 0.
    fn moves_nothing(&self) -> bool {
        let sends = self.read_stdin && self.send_stdin;
        let prints = self.read_remote && self.print_remote;
        !sends && !prints
    }

    /// Whether bytes go through unchanged and unwatched both ways, so the kernel can move them.
    fn is_plain(&self, log: &SessionLog) -> bool {
        self.read_stdin
            && self.send_stdin
            && self.read_remote
            && self.print_remote
            && !self.transforms.crlf
            && self.transforms.delay.is_none()
            && self.transforms.idle.is_none()
            && !self.transforms.telnet
            && !log.is_active()
    }
}

/// Why the session ended.
#[derive(Debug)]
pub enum End {
    /// The peer closed its side (orderly EOF).
    RemoteClosed,
    /// stdin ended and the rules say that ends the session.
    StdinDone,
    /// Reading stdin (or an exec child's output) failed.
    StdinFailed(io::Error),
    /// Reading the socket failed.
    ReadFailed(io::Error),
    /// Writing the socket failed.
    WriteFailed(io::Error),
    /// The local output (stdout, or the exec child's stdin) takes no more data.
    OutputGone,
    /// Nothing was read either way for the `-i` time.
    IdleTimeout(Duration),
}

#[derive(Debug)]
pub struct Outcome {
    pub end: End,
    pub sent: u64,
    pub received: u64,
}

struct Counters {
    sent: AtomicU64,
    received: AtomicU64,
    /// The last read either way (for `-i`).
    idle: IdleClock,
}

impl Counters {
    fn new() -> Counters {
        Counters {
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            idle: IdleClock::default(),
        }
    }

    fn totals(&self) -> (u64, u64) {
        (
            self.sent.load(Ordering::Relaxed),
            self.received.load(Ordering::Relaxed),
        )
    }
}

/// Runs a session between stdin/stdout and a connection, moving bytes in the kernel when
/// nothing needs to see them, through the async path otherwise.
pub async fn run_stdio(stream: Stream, rules: Rules, log: &SessionLog) -> Outcome {
    if rules.moves_nothing() {
        return Outcome {
            end: End::StdinDone,
            sent: 0,
            received: 0,
        };
    }
    if !rules.is_plain(log) || stream.is_tls() {
        let (reader, writer) = stream.into_split();
        let stdin = rules.read_stdin.then(stdio::spawn_stdin);
        return run(reader, writer, stdin, LocalOutput::stdout(), rules, log).await;
    }
    let socket = match stream.into_fd() {
        Ok(socket) => Arc::new(socket),
        Err(e) => {
            return Outcome {
                end: End::ReadFailed(e),
                sent: 0,
                received: 0,
            };
        }
    };
    let counters = Arc::new(Counters::new());
    let upstream = on_thread("stdin->socket", {
        let (socket, counters) = (socket.clone(), counters.clone());
        move || {
            match kernel_copy::copy(0, socket.as_raw_fd(), &counters.sent) {
                Ok(()) => {}
                Err(CopyError::Write(e)) => return End::WriteFailed(e),
                Err(CopyError::Read(e)) => return End::StdinFailed(e),
            }
            if rules.shutdown_on_eof {
                let _ = socket2::SockRef::from(&*socket).shutdown(std::net::Shutdown::Write);
            }
            End::StdinDone
        }
    });
    let downstream = on_thread("socket->stdout", {
        let (socket, counters) = (socket.clone(), counters.clone());
        move || {
            let end = match kernel_copy::copy(socket.as_raw_fd(), 1, &counters.received) {
                Ok(()) => End::RemoteClosed,
                Err(CopyError::Read(e)) => End::ReadFailed(e),
                Err(CopyError::Write(e)) if crate::error::is_reader_gone(&e) => {
                    return End::OutputGone;
                }
                Err(CopyError::Write(e)) => crate::io::stdio::output_failed(&e),
            };
            stdio::close_stdout();
            end
        }
    });
    let end = drive(upstream, downstream, true, rules, &counters).await;
    keep_open_until_exit(socket);
    outcome(end, &counters)
}

/// Runs `work` on its own thread; the future resolves with its result.
fn on_thread<F>(name: &str, work: F) -> impl Future<Output = End> + use<F>
where
    F: FnOnce() -> End + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let _ = tx.send(work());
        });
    async move {
        match spawned {
            Ok(_) => rx
                .await
                .unwrap_or_else(|_| End::ReadFailed(io::Error::other("the copying thread ended"))),
            Err(e) => End::ReadFailed(e),
        }
    }
}

/// The copy threads may still be inside a system call on the socket when the session ends;
/// its descriptor must stay valid until the process exits, so it is never closed here.
fn keep_open_until_exit(socket: Arc<OwnedFd>) {
    std::mem::forget(socket);
}

fn outcome(end: End, counters: &Counters) -> Outcome {
    Outcome {
        end,
        sent: counters.sent.load(Ordering::Relaxed),
        received: counters.received.load(Ordering::Relaxed),
    }
}

/// Runs the session over any stream through the stdio threads. `stdin` is `None` when stdin is
/// not to be read at all.
pub async fn run<R, W>(
    reader: R,
    writer: W,
    stdin: Option<LocalInput>,
    stdout: LocalOutput,
    rules: Rules,
    log: &SessionLog,
) -> Outcome
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let counters = Counters::new();
    // Telnet answers, from the reading side to the writing side.
    let (answer_tx, answers) = mpsc::unbounded_channel::<Vec<u8>>();
    let reads_stdin = stdin.is_some();
    let upstream = async {
        match stdin {
            Some(stdin) => upstream(stdin, writer, answers, &rules, &counters, log).await,
            None => pending().await,
        }
    };
    let downstream = async {
        match rules.read_remote {
            true => downstream(reader, stdout, answer_tx, &rules, &counters, log).await,
            false => pending().await,
        }
    };
    let end = drive(upstream, downstream, reads_stdin, rules, &counters).await;
    outcome(end, &counters)
}

/// stdin -> socket, with the Telnet answers the other direction queues. Finishes with
/// StdinDone at EOF (after the half-close) or WriteFailed.
async fn upstream<W: AsyncWrite + Unpin>(
    mut stdin: LocalInput,
    mut writer: W,
    mut answers: mpsc::UnboundedReceiver<Vec<u8>>,
    rules: &Rules,
    counters: &Counters,
    log: &SessionLog,
) -> End {
    let mut to_peer = ToPeers::new(rules.transforms.crlf);
    loop {
        let chunk = tokio::select! {
            biased;
            Some(answer) = answers.recv() => {
                if let Err(e) = writer.write_all(&answer).await {
                    return End::WriteFailed(e);
                }
                counters.sent.fetch_add(answer.len() as u64, Ordering::Relaxed);
                continue;
            }
            chunk = stdin.recv() => chunk,
        };
        let mut chunk = match chunk {
            Some(Ok(chunk)) => chunk,
            Some(Err(e)) => return End::StdinFailed(e),
            None => break,
        };
        counters.idle.touch();
        transform::pause(rules.transforms.delay).await;
        if !rules.send_stdin {
            continue;
        }
        chunk = to_peer.convert(chunk);
        log.record(&chunk);
        if let Err(e) = writer.write_all(&chunk).await {
            return End::WriteFailed(e);
        }
        counters
            .sent
            .fetch_add(chunk.len() as u64, Ordering::Relaxed);
    }
    if rules.shutdown_on_eof {
        // The peer may already be gone; that is noticed on the read side.
        let _ = writer.shutdown().await;
    }
    End::StdinDone
}

/// socket -> stdout. Flushes and closes stdout whatever ends it.
async fn downstream<R: AsyncRead + Unpin>(
    mut reader: R,
    stdout: LocalOutput,
    answer_tx: mpsc::UnboundedSender<Vec<u8>>,
    rules: &Rules,
    counters: &Counters,
    log: &SessionLog,
) -> End {
    let mut from_peer = FromPeer::new(rules.transforms.telnet);
    let mut buf = BytesMut::new();
    let end = loop {
        buf.reserve(rules.read_size);
        match reader.read_buf(&mut buf).await {
            Ok(0) => break End::RemoteClosed,
            Ok(n) => {
                counters.received.fetch_add(n as u64, Ordering::Relaxed);
                counters.idle.touch();
                let (chunk, answer) = from_peer.take(buf.split().freeze(), log);
                if !answer.is_empty() {
                    let _ = answer_tx.send(answer);
                }
                transform::pause(rules.transforms.delay).await;
                if rules.print_remote && stdout.write(chunk).await.is_err() {
                    return End::OutputGone;
                }
            }
            Err(e) => break End::ReadFailed(e),
        }
    };
    match stdout.close().await {
        Ok(()) => end,
        Err(_) => End::OutputGone,
    }
}

/// The session's state machine over the two directions (see the table at the top).
async fn drive(
    upstream: impl Future<Output = End>,
    downstream: impl Future<Output = End>,
    reads_stdin: bool,
    rules: Rules,
    counters: &Counters,
) -> End {
    tokio::pin!(upstream, downstream);
    let mut stdin_done = !reads_stdin;
    let mut remote_done = false;
    let mut progress = rules.progress.then(Progress::new);
    // (The ticker is never polled without --progress.)
    let period = progress
        .as_ref()
        .map_or(Duration::from_secs(3600), Progress::interval);
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let mut quit_at: Option<tokio::time::Instant> = None;
    let end = loop {
        let lingering = remote_done && !stdin_done;
        let sent_before = counters.sent.load(Ordering::Relaxed);
        tokio::select! {
            end = &mut upstream, if !stdin_done => match end {
                End::StdinDone if remote_done => break End::RemoteClosed,
                End::StdinDone if !rules.end_on_stdin_eof => {
                    stdin_done = true;
                    quit_at = rules.quit_after.map(|d| tokio::time::Instant::now() + d);
                }
                other => break other,
            },
            end = &mut downstream, if !remote_done => match end {
                End::RemoteClosed if !stdin_done && rules.linger.is_some() => remote_done = true,
                other => break other,
            },
            _ = tokio::time::sleep(rules.linger.unwrap_or_default()), if lingering => {
                if counters.sent.load(Ordering::Relaxed) == sent_before {
                    break End::RemoteClosed;
                }
            }
            _ = counters.idle.expired(rules.transforms.idle.unwrap_or_default()),
                if rules.transforms.idle.is_some() =>
            {
                break End::IdleTimeout(rules.transforms.idle.unwrap_or_default());
            }
            _ = tokio::time::sleep_until(quit_at.unwrap_or_else(tokio::time::Instant::now)),
                if quit_at.is_some() =>
            {
                break End::IdleTimeout(rules.quit_after.unwrap_or_default());
            }
            _ = ticks.tick(), if progress.is_some() => {
                if let Some(progress) = progress.as_mut() {
                    let (sent, received) = counters.totals();
                    progress.report(sent, received);
                }
            }
        }
    };
    if let Some(progress) = progress.as_mut() {
        let (sent, received) = counters.totals();
        progress.finish(sent, received);
    }
    end
}

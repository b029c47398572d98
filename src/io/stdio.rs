//! The terminal side: stdin read on a dedicated thread, stdout written on another.
//!
//! Blocking threads keep the runtime free of the terminal: tokio's own stdin can hold the
//! runtime open until a key is pressed, and a slow stdout reader must only pace the data
//! flowing to it. Both channels are small and bounded, so back-pressure reaches the socket.

use bytes::{Bytes, BytesMut};
use std::fs::File;
use std::io::{self, Read, Write};
use std::mem::ManuallyDrop;
use std::os::fd::{FromRawFd, RawFd};
use tokio::sync::{mpsc, oneshot};

/// Largest single read from stdin (and from sockets in the pumps).
pub const CHUNK: usize = 64 * 1024;
/// Chunks in flight between a terminal thread and the runtime.
const DEPTH: usize = 4;
/// Largest single read of the stdin thread: bigger than [`CHUNK`], as a file or a pipe from a
/// fast producer then costs fewer hand-offs between the threads (a terminal or a slow
/// producer gives what it has, whatever the size).
const STDIN_CHUNK: usize = 4 * CHUNK;

/// Borrows a standard descriptor as a `File` without ever closing it.
fn borrow_fd(fd: RawFd) -> ManuallyDrop<File> {
    // SAFETY: fds 0 and 1 are kept open for the whole run (`ensure_standard_fds`), and the
    // ManuallyDrop keeps this File from closing them.
    ManuallyDrop::new(unsafe { File::from_raw_fd(fd) })
}

/// Makes sure fds 0, 1 and 2 are open, reopening `/dev/null` on any that is closed, so that no
/// socket can land on them and be mistaken for the terminal. A closed stdin then reads as EOF
/// (as in Ncat); a closed stdout is opened read-only, so writing to it still fails with EBADF
/// as on a closed descriptor (Ncat: `write: Bad file descriptor`, status 2).
///
/// `closed_at_start` has bit `fd` set for each standard descriptor that was closed when the
/// process started: the Rust runtime reopens those on `/dev/null` before `main`, so they no
/// longer look closed here.
pub fn ensure_standard_fds(closed_at_start: u8) {
    for fd in 0..=2 {
        // SAFETY: F_GETFD only queries the descriptor.
        let closed = unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1;
        if !closed && closed_at_start & (1 << fd) == 0 {
            continue;
        }
        let flags = if fd == 2 {
            libc::O_WRONLY
        } else {
            libc::O_RDONLY
        };
        // SAFETY: a valid NUL-terminated path; the new descriptor replaces `fd` (or, when `fd`
        // is free, open already returned `fd` itself, the lowest free number).
        unsafe {
            let null = libc::open(c"/dev/null".as_ptr(), flags);
            if null >= 0 && null != fd {
                libc::dup2(null, fd);
                libc::close(null);
            }
        }
    }
}

/// Whether stdin is a terminal (someone typing) rather than a pipe or a file.
pub fn stdin_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal()
}

/// Waits until `fd` is readable; used when an inherited descriptor is in non-blocking mode.
fn wait_readable(fd: RawFd) {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&mut pfd, 1, -1) };
}

/// Chunks of local input (stdin, or an exec child's output); a read error is the last item.
pub type LocalInput = mpsc::Receiver<io::Result<Bytes>>;

/// Starts the stdin thread. The channel yields chunks until EOF, when it closes, or until a
/// read error, which it delivers last (Ncat treats it as an error, not as EOF). The thread
/// reads ahead by at most a few chunks.
pub fn spawn_stdin() -> LocalInput {
    let (tx, rx) = mpsc::channel(DEPTH);
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            let mut stdin = borrow_fd(0);
            let mut buf = BytesMut::new();
            loop {
                buf.resize(STDIN_CHUNK, 0);
                match stdin.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        buf.truncate(n);
                        if tx.blocking_send(Ok(buf.split().freeze())).is_err() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => wait_readable(0),
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        break;
                    }
                }
            }
        })
        .expect("spawning the stdin thread");
    rx
}

/// Where a relay writes what the peer sent: stdout, or an exec child's stdin. Writes are
/// queued to a writer of their own; `close` flushes them and closes the output, so that its
/// reader sees EOF.
pub struct LocalOutput {
    tx: mpsc::Sender<Bytes>,
    result: oneshot::Receiver<io::Result<()>>,
}

/// The local output can take no more data: stdout's reader, or the child, went away (any
/// other stdout failure ends the program, see [`output_failed`]).
#[derive(Debug)]
pub struct OutputGone;

impl LocalOutput {
    /// Ours: writes go to fd 1 from a thread of its own.
    pub fn stdout() -> LocalOutput {
        let (tx, mut rx) = mpsc::channel::<Bytes>(DEPTH);
        let (done, result) = oneshot::channel();
        std::thread::Builder::new()
            .name("stdout".into())
            .spawn(move || {
                let mut out = borrow_fd(1);
                let mut outcome = Ok(());
                while let Some(chunk) = rx.blocking_recv() {
                    if let Err(e) = out.write_all(&chunk) {
                        if !crate::error::is_reader_gone(&e) {
                            output_failed(&e);
                        }
                        outcome = Err(e);
                        break;
                    }
                }
                drop(rx);
                if outcome.is_ok() {
                    close_stdout();
                }
                let _ = done.send(outcome);
            })
            .expect("spawning the stdout thread");
        LocalOutput { tx, result }
    }

    /// An exec child's stdin (a pipe, or a pseudo-terminal): closing it shuts the writer
    /// down, which the child sees as EOF.
    pub fn from_writer<W>(mut writer: W) -> LocalOutput
    where
        W: tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        use tokio::io::AsyncWriteExt;
        let (tx, mut rx) = mpsc::channel::<Bytes>(DEPTH);
        let (done, result) = oneshot::channel();
        tokio::spawn(async move {
            let mut outcome = Ok(());
            while let Some(chunk) = rx.recv().await {
                if let Err(e) = writer.write_all(&chunk).await {
                    outcome = Err(e);
                    break;
                }
            }
            drop(rx);
            let _ = writer.shutdown().await;
            drop(writer);
            let _ = done.send(outcome);
        });
        LocalOutput { tx, result }
    }

    /// Queues `data` for stdout, waiting while the queue is full.
    pub async fn write(&self, data: Bytes) -> Result<(), OutputGone> {
        self.tx.send(data).await.map_err(|_| OutputGone)
    }

    /// Flushes what is queued and closes stdout. Returns the first write error, if any.
    pub async fn close(self) -> io::Result<()> {
        drop(self.tx);
        self.result.await.unwrap_or(Ok(()))
    }
}

/// Closes fd 1 for the reader downstream, keeping the number taken by `/dev/null`.
pub fn close_stdout() {
    // SAFETY: a valid path; dup2 atomically replaces fd 1, then the temporary fd is closed.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
        if null >= 0 {
            libc::dup2(null, 1);
            libc::close(null);
        }
    }
}

/// Ends the program because stdout or a session log (`-o`/`-x`) could not be written, as Ncat
/// does in every mode: `write: <strerror>` and status 2. Only a reader that left (EPIPE) is a
/// quiet end, and callers check for that first.
pub fn output_failed(err: &std::io::Error) -> ! {
    crate::say!("write: {}", crate::error::strerror(err));
    crate::io::children::end_children();
    std::process::exit(2)
}

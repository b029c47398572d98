//! `--pty` (an extension): the exec child runs on a new pseudo-terminal, as its controlling
//! terminal, so shells print prompts and do job control and full-screen programs work.
//!
//! The relay holds the terminal's master side. What the peer sends is typed at the terminal;
//! the peer's EOF is the terminal's end-of-file character (twice after an unfinished line, as
//! at a keyboard), unless the child has turned line editing off, when there is no such thing
//! to send. The session ends with the child, as a login session does: what it wrote is passed
//! on, and then the master is closed, which hangs the terminal up (the kernel sends SIGHUP to
//! what still runs on it, a background job say) and releases it. When the relay ends first,
//! the master is closed the same way.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use rustix::pty::OpenptFlags;
use rustix::termios::{LocalModes, SpecialCodeIndex, Winsize};
use tokio::io::AsyncWrite;
use tokio::io::unix::AsyncFd;

use crate::io::stdio::CHUNK;

/// A new pseudo-terminal: the master for the relay, the slave for the child's fds 0-2.
pub struct Terminal {
    pub master: OwnedFd,
    pub slave: OwnedFd,
}

/// The size the terminal starts with (the kernel's default, 0 x 0, makes full-screen
/// programs fail); the child may change it.
const SIZE: Winsize = Winsize {
    ws_row: 24,
    ws_col: 80,
    ws_xpixel: 0,
    ws_ypixel: 0,
};

impl Terminal {
    pub fn open() -> io::Result<Terminal> {
        let flags = OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC;
        let master = rustix::pty::openpt(flags)?;
        rustix::pty::grantpt(&master)?;
        rustix::pty::unlockpt(&master)?;
        let slave = open_slave(&master, flags)?;
        rustix::termios::tcsetwinsize(&slave, SIZE)?;
        rustix::io::ioctl_fionbio(&master, true)?;
        Ok(Terminal { master, slave })
    }
}

#[cfg(target_os = "linux")]
fn open_slave(master: &OwnedFd, flags: OpenptFlags) -> io::Result<OwnedFd> {
    Ok(rustix::pty::ioctl_tiocgptpeer(master, flags)?)
}

#[cfg(not(target_os = "linux"))]
fn open_slave(master: &OwnedFd, flags: OpenptFlags) -> io::Result<OwnedFd> {
    let name = rustix::pty::ptsname(master, Vec::new())?;
    let flags = rustix::fs::OFlags::from(flags);
    Ok(rustix::fs::open(
        name.as_c_str(),
        flags,
        rustix::fs::Mode::empty(),
    )?)
}

/// In the child, between fork and exec, once fds 0-2 are the slave: a new session whose
/// controlling terminal it is. Only async-signal-safe system calls.
pub fn become_controlling_terminal() -> io::Result<()> {
    rustix::process::setsid()?;
    // SAFETY: fd 0 is open (it is the slave) for the rest of this process's life.
    let stdin = unsafe { BorrowedFd::borrow_raw(0) };
    Ok(rustix::process::ioctl_tiocsctty(stdin)?)
}

/// The master side, shared by the output reader and the input writer; the terminal is hung
/// up when both are gone.
#[derive(Clone)]
pub struct Master(Arc<AsyncFd<OwnedFd>>);

impl Master {
    pub fn new(fd: OwnedFd) -> io::Result<Master> {
        // SAFETY: the OwnedFd is open and moves into the AsyncFd, which alone closes it.
        let registered = unsafe { AsyncFd::register(fd) };
        Ok(Master(Arc::new(registered.map_err(io::Error::from)?)))
    }

    /// The next chunk the child wrote; `None` once its side is closed.
    pub async fn read(&self) -> Option<Bytes> {
        let mut buf = BytesMut::zeroed(CHUNK);
        loop {
            let mut ready = self.0.readable().await.ok()?;
            match ready.try_io(|fd| Ok(rustix::io::read(fd.get_ref(), &mut buf[..])?)) {
                Ok(Ok(n)) if n > 0 => {
                    buf.truncate(n);
                    return Some(buf.freeze());
                }
                // EIO: no descriptor of the slave side is open any more.
                Ok(_) => return None,
                Err(_would_block) => continue,
            }
        }
    }

    /// A chunk the child has already written, without waiting; `None` when there is none.
    pub fn try_read(&self) -> Option<Bytes> {
        let mut buf = BytesMut::zeroed(CHUNK);
        match rustix::io::read(self.0.get_ref(), &mut buf[..]) {
            Ok(n) if n > 0 => {
                buf.truncate(n);
                Some(buf.freeze())
            }
            _ => None,
        }
    }

    /// The writer through which the peer's bytes are typed at the terminal.
    pub fn writer(&self) -> Keyboard {
        Keyboard {
            master: self.clone(),
            at_line_start: true,
            eof: None,
        }
    }

    fn poll_write(&self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        loop {
            let mut ready = ready!(self.0.poll_write_ready(cx))?;
            match ready.try_io(|fd| Ok(rustix::io::write(fd.get_ref(), data)?)) {
                Ok(result) => return Poll::Ready(result),
                Err(_would_block) => continue,
            }
        }
    }

    /// What ends the input: the end-of-file character, twice after an unfinished line;
    /// nothing when the child reads the terminal raw.
    fn end_of_file(&self, at_line_start: bool) -> Vec<u8> {
        let Ok(modes) = rustix::termios::tcgetattr(self.0.get_ref().as_fd()) else {
            return Vec::new();
        };
        if !modes.local_modes.contains(LocalModes::ICANON) {
            return Vec::new();
        }
        let eof = modes.special_codes[SpecialCodeIndex::VEOF];
        if at_line_start {
            vec![eof]
        } else {
            vec![eof, eof]
        }
    }
}

/// The master's writing side; shutting it down sends the end of file.
pub struct Keyboard {
    master: Master,
    at_line_start: bool,
    /// The end-of-file bytes still to write, once shutdown has begun.
    eof: Option<Vec<u8>>,
}

impl AsyncWrite for Keyboard {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let n = ready!(self.master.poll_write(cx, data))?;
        if n > 0 {
            self.at_line_start = matches!(data[n - 1], b'\n' | b'\r');
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let eof = this
            .eof
            .get_or_insert_with(|| this.master.end_of_file(this.at_line_start));
        while !eof.is_empty() {
            let n = ready!(this.master.poll_write(cx, eof))?;
            eof.drain(..n);
        }
        Poll::Ready(Ok(()))
    }
}

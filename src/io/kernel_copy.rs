//! Copying between file descriptors on a blocking thread, the pump's fast path: on Linux
//! inside the kernel, splice(2) through pipes and sendfile(2) from regular files; elsewhere,
//! or where the kernel refuses (a terminal, say), a large-buffer read/write loop, which any
//! Unix has. The socket may be non-blocking, in which case the copy waits for it with poll(2).
//!
//! `NCAT_PORTABLE_COPY` in the environment (read once) makes Linux use the read/write loop
//! too, so the tests run the transfers through both paths.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Buffer of the read/write fallback.
const BUFFER: usize = 128 * 1024;

/// Which end of a copy failed.
#[derive(Debug)]
pub enum CopyError {
    Read(io::Error),
    Write(io::Error),
}

/// Copies `from` to `to` until EOF on `from`, counting the bytes in `moved`.
pub fn copy(from: RawFd, to: RawFd, moved: &AtomicU64) -> Result<(), CopyError> {
    copy_with(from, to, moved, !*PORTABLE_ONLY)
}

/// Whether `NCAT_PORTABLE_COPY` asks for the read/write loop everywhere.
static PORTABLE_ONLY: LazyLock<bool> =
    LazyLock::new(|| std::env::var_os("NCAT_PORTABLE_COPY").is_some());

fn copy_with(from: RawFd, to: RawFd, moved: &AtomicU64, in_kernel: bool) -> Result<(), CopyError> {
    #[cfg(target_os = "linux")]
    if in_kernel && let Ok(done) = linux::copy(from, to, moved) {
        return done;
    }
    #[cfg(not(target_os = "linux"))]
    let _ = in_kernel;
    read_write(from, to, moved)
}

/// Waits until `fd` is ready for `events` (POLLIN or POLLOUT).
fn wait(fd: RawFd, events: libc::c_short) {
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd; errors (EINTR) just lead to a retry by the caller.
    unsafe { libc::poll(&mut pfd, 1, -1) };
}

/// The outcome of one kernel call: bytes moved, or an error with `errno`.
fn check(ret: isize) -> io::Result<usize> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret as usize)
    }
}

fn would_block(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

fn read_write(from: RawFd, to: RawFd, moved: &AtomicU64) -> Result<(), CopyError> {
    let mut buf = vec![0u8; BUFFER];
    loop {
        // SAFETY: reads into a buffer of BUFFER bytes.
        match check(unsafe { libc::read(from, buf.as_mut_ptr().cast(), BUFFER) }) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                moved.fetch_add(n as u64, Ordering::Relaxed);
                write_all(to, &buf[..n])?;
            }
            Err(e) if would_block(&e) => wait(from, libc::POLLIN),
            Err(e) => return Err(CopyError::Read(e)),
        }
    }
}

fn write_all(to: RawFd, mut data: &[u8]) -> Result<(), CopyError> {
    while !data.is_empty() {
        // SAFETY: writes from a valid slice.
        match check(unsafe { libc::write(to, data.as_ptr().cast(), data.len()) }) {
            Ok(n) => data = &data[n..],
            Err(e) if would_block(&e) => wait(to, libc::POLLOUT),
            Err(e) => return Err(CopyError::Write(e)),
        }
    }
    Ok(())
}

/// splice and sendfile, which only Linux has.
#[cfg(target_os = "linux")]
mod linux {
    use super::*;

    /// Bytes asked of one splice or sendfile call.
    const SPAN: usize = 1 << 20;

    /// Picks splice when either end is a pipe, sendfile from a regular file, splice through
    /// a private pipe otherwise; `Unsupported` when the kernel refuses (EINVAL) before any
    /// byte has moved.
    pub fn copy(
        from: RawFd,
        to: RawFd,
        moved: &AtomicU64,
    ) -> Result<Result<(), CopyError>, Unsupported> {
        if is_pipe(from) || is_pipe(to) {
            splice_direct(from, to, moved)
        } else if is_regular(from) {
            sendfile(from, to, moved)
        } else {
            splice_through_pipe(from, to, moved)
        }
    }

    fn is_pipe(fd: RawFd) -> bool {
        file_type(fd) == Some(libc::S_IFIFO)
    }

    fn is_regular(fd: RawFd) -> bool {
        file_type(fd) == Some(libc::S_IFREG)
    }

    fn is_socket(fd: RawFd) -> bool {
        file_type(fd) == Some(libc::S_IFSOCK)
    }

    fn file_type(fd: RawFd) -> Option<libc::mode_t> {
        // SAFETY: fstat fills a plain struct; fd validity is checked by the call.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        (unsafe { libc::fstat(fd, &mut st) } == 0).then_some(st.st_mode & libc::S_IFMT)
    }

    fn splice(from: RawFd, to: RawFd, len: usize) -> io::Result<usize> {
        // SAFETY: plain fds and null offsets (both ends use their own file positions).
        check(unsafe {
            libc::splice(
                from,
                std::ptr::null_mut(),
                to,
                std::ptr::null_mut(),
                len,
                libc::SPLICE_F_MOVE,
            )
        })
    }

    /// The kernel cannot splice or sendfile between these two descriptors; nothing was moved.
    pub struct Unsupported;

    /// Maps the first call's EINVAL to `Unsupported`, so the caller can fall back.
    fn first_call(
        result: io::Result<usize>,
        started: bool,
    ) -> Result<io::Result<usize>, Unsupported> {
        match result {
            Err(e) if !started && e.raw_os_error() == Some(libc::EINVAL) => Err(Unsupported),
            other => Ok(other),
        }
    }

    /// Repeats a copying call until it reports EOF. `on_block` waits when an end is not ready;
    /// `on_error` says which end a failure belongs to.
    fn repeat_until_eof(
        mut call: impl FnMut() -> io::Result<usize>,
        mut on_block: impl FnMut(),
        on_error: impl Fn(io::Error) -> CopyError,
        moved: &AtomicU64,
    ) -> Result<Result<(), CopyError>, Unsupported> {
        let mut started = false;
        loop {
            match first_call(call(), started)? {
                Ok(0) => return Ok(Ok(())),
                Ok(n) => {
                    started = true;
                    moved.fetch_add(n as u64, Ordering::Relaxed);
                }
                Err(e) if would_block(&e) => on_block(),
                Err(e) => return Ok(Err(on_error(e))),
            }
        }
    }

    fn splice_direct(
        from: RawFd,
        to: RawFd,
        moved: &AtomicU64,
    ) -> Result<Result<(), CopyError>, Unsupported> {
        // A bigger pipe (stdin from `cat`, stdout into another program) means fewer calls here and
        // fewer sleeps on the other side of it; the system may cap the size, which is fine.
        for fd in [from, to] {
            if is_pipe(fd) {
                grow_pipe(fd);
            }
        }
        repeat_until_eof(
            || splice(from, to, SPAN),
            || {
                wait(from, libc::POLLIN);
                wait(to, libc::POLLOUT);
            },
            // One call moves between two ends: tell which failed by what each end is.
            |e| blame(from, e),
            moved,
        )
    }

    fn sendfile(
        from: RawFd,
        to: RawFd,
        moved: &AtomicU64,
    ) -> Result<Result<(), CopyError>, Unsupported> {
        repeat_until_eof(
            // SAFETY: plain fds; a null offset uses and advances the file position.
            || check(unsafe { libc::sendfile(to, from, std::ptr::null_mut(), SPAN) }),
            || wait(to, libc::POLLOUT),
            CopyError::Write,
            moved,
        )
    }

    /// A socket or device on both ends: splice into a private pipe, then out of it.
    fn splice_through_pipe(
        from: RawFd,
        to: RawFd,
        moved: &AtomicU64,
    ) -> Result<Result<(), CopyError>, Unsupported> {
        let (pipe_out, pipe_in) = match private_pipe() {
            Ok(pair) => pair,
            Err(_) => return Err(Unsupported),
        };
        let mut started = false;
        loop {
            let n = match first_call(splice(from, pipe_in.as_raw_fd(), SPAN), started)? {
                Ok(0) => return Ok(Ok(())),
                Ok(n) => n,
                Err(e) if would_block(&e) => {
                    wait(from, libc::POLLIN);
                    continue;
                }
                Err(e) => return Ok(Err(CopyError::Read(e))),
            };
            moved.fetch_add(n as u64, Ordering::Relaxed);
            let mut left = n;
            while left > 0 {
                match first_call(splice(pipe_out.as_raw_fd(), to, left), started) {
                    Ok(Ok(m)) => left -= m,
                    Ok(Err(e)) if would_block(&e) => wait(to, libc::POLLOUT),
                    Ok(Err(e)) => return Ok(Err(CopyError::Write(e))),
                    // The sink refuses splice: finish this piece and the rest by hand.
                    Err(Unsupported) => {
                        if let Err(e) = drain_pipe(pipe_out.as_raw_fd(), to, left) {
                            return Ok(Err(e));
                        }
                        return Ok(read_write(from, to, moved));
                    }
                }
            }
            started = true;
        }
    }

    /// Moves `left` bytes already in a pipe to `to` with read/write.
    fn drain_pipe(pipe: RawFd, to: RawFd, mut left: usize) -> Result<(), CopyError> {
        let mut buf = vec![0u8; BUFFER];
        while left > 0 {
            let want = left.min(BUFFER);
            // SAFETY: reads into a buffer of at least `want` bytes.
            let n = check(unsafe { libc::read(pipe, buf.as_mut_ptr().cast(), want) })
                .map_err(CopyError::Read)?;
            write_all(to, &buf[..n])?;
            left -= n;
        }
        Ok(())
    }

    pub fn private_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
        let mut fds = [0; 2];
        // SAFETY: pipe2 fills two fds, which we own from here on.
        check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } as isize)?;
        let (out, inp) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        grow_pipe(inp.as_raw_fd());
        Ok((out, inp))
    }

    /// Asks for a pipe buffer of [`SPAN`] bytes: fewer calls per byte. Best effort.
    fn grow_pipe(fd: RawFd) {
        // SAFETY: fcntl on a valid fd; failure leaves the pipe as it was.
        unsafe { libc::fcntl(fd, libc::F_SETPIPE_SZ, SPAN as libc::c_int) };
    }

    /// For a direct splice, which end failed: EPIPE is always the writing end (its reader is
    /// gone); anything else belongs to the socket end when there is one.
    fn blame(from: RawFd, e: io::Error) -> CopyError {
        if e.raw_os_error() == Some(libc::EPIPE) {
            CopyError::Write(e)
        } else if is_socket(from) {
            CopyError::Read(e)
        } else {
            CopyError::Write(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;

    fn pipe() -> (std::fs::File, std::fs::File) {
        let (r, w) = std::io::pipe().unwrap();
        (
            std::fs::File::from(OwnedFd::from(r)),
            std::fs::File::from(OwnedFd::from(w)),
        )
    }

    #[test]
    fn file_to_socket_with_sendfile_and_socket_to_file() {
        let dir = std::env::temp_dir();
        let src = dir.join(format!("kc-src-{}", std::process::id()));
        let dst = dir.join(format!("kc-dst-{}", std::process::id()));
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&src, &data).unwrap();
        let (a, b) = UnixStream::pair().unwrap();
        let file = std::fs::File::open(&src).unwrap();
        let sender = std::thread::spawn(move || {
            let moved = AtomicU64::new(0);
            copy(file.as_raw_fd(), a.as_raw_fd(), &moved)
                .map_err(|e| format!("{e:?}"))
                .unwrap();
            moved.into_inner()
        });
        let out = std::fs::File::create(&dst).unwrap();
        let moved = AtomicU64::new(0);
        let receiver = std::thread::spawn(move || {
            copy(b.as_raw_fd(), out.as_raw_fd(), &moved)
                .map_err(|e| format!("{e:?}"))
                .unwrap();
            moved.into_inner()
        });
        assert_eq!(sender.join().unwrap(), data.len() as u64);
        assert_eq!(receiver.join().unwrap(), data.len() as u64);
        assert_eq!(std::fs::read(&dst).unwrap(), data);
        std::fs::remove_file(src).unwrap();
        std::fs::remove_file(dst).unwrap();
    }

    /// A pipe copied to a socket along one path: everything arrives, and is counted.
    fn pipe_to_socket(in_kernel: bool) {
        let (r, mut w) = pipe();
        let (a, mut b) = UnixStream::pair().unwrap();
        let data: Vec<u8> = (0..2_000_000u32).map(|i| (i % 253) as u8).collect();
        let sent = data.clone();
        let writer = std::thread::spawn(move || w.write_all(&sent).unwrap());
        let copier = std::thread::spawn(move || {
            let moved = AtomicU64::new(0);
            copy_with(r.as_raw_fd(), a.as_raw_fd(), &moved, in_kernel)
                .map_err(|e| format!("{e:?}"))
                .unwrap();
            moved.into_inner()
        });
        // Read before joining: the copier finishes (and closes `a`) only once this end drains.
        let mut got = Vec::new();
        b.read_to_end(&mut got).unwrap();
        writer.join().unwrap();
        assert_eq!(copier.join().unwrap(), data.len() as u64);
        assert_eq!(got, data);
    }

    #[test]
    fn pipe_to_socket_with_splice() {
        pipe_to_socket(true);
    }

    #[test]
    fn the_portable_loop_moves_everything_too() {
        pipe_to_socket(false);
    }
}

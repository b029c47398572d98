//! How the program ends: every failure maps to one of Ncat's exit statuses and message shapes.

use std::fmt;

/// A failure that decides the exit status and the one line the user sees.
#[derive(Debug)]
pub enum Failure {
    /// Bad options, bind or resolution failures and the like:
    /// `Ncat: <msg> QUITTING.` and exit status 2.
    Fatal(String),
    /// A run-time network error: `Ncat: <msg>` and exit status 1.
    Network(String),
    /// A C-library-style line without the `Ncat:` prefix (`open: No such file or directory`),
    /// exit status 2.
    Plain(String),
    /// A getopt-style usage error: `ncat: <msg>`, then the `--help` hint, exit status 2.
    Usage(String),
}

impl Failure {
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Fatal(_) | Failure::Usage(_) | Failure::Plain(_) => 2,
            Failure::Network(_) => 1,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Fatal(msg) => write!(f, "Ncat: {msg} QUITTING."),
            Failure::Network(msg) => write!(f, "Ncat: {msg}"),
            Failure::Plain(msg) => write!(f, "{msg}"),
            Failure::Usage(msg) => write!(
                f,
                "ncat: {msg}\nNcat: Try `--help' or man(1) ncat for more information, usage options and help. QUITTING."
            ),
        }
    }
}

impl std::error::Error for Failure {}

/// How a mode ended when nothing failed that the user is told of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Ended {
    /// Status 0.
    Normally,
    /// Status 1 without a message, as Ncat ends when its one connection fails in listen mode
    /// or stdin cannot be read.
    Quietly,
}

impl Ended {
    pub fn exit_code(self) -> i32 {
        match self {
            Ended::Normally => 0,
            Ended::Quietly => 1,
        }
    }
}

/// What every mode returns: its end, or the failure that decides the message and status.
/// Failures are built on purpose (there is no conversion from other error types), so a `?`
/// on some other error cannot pick an exit status by accident.
pub type ModeResult = Result<Ended, Failure>;

/// A run-time socket error as Ncat reports it: `Ncat: <strerror>.`, exit status 1.
pub fn io_failure(e: std::io::Error) -> Failure {
    Failure::Network(format!("{}.", strerror(&e)))
}

/// The `-i` message (Ncat prints it as a network error in connect mode, fatal in listen mode).
pub fn idle_expired(idle: std::time::Duration) -> String {
    format!("Idle timeout expired ({} ms).", idle.as_millis())
}

/// Ncat's wording of an OS error: the C library's `strerror` text, without Rust's ` (os error N)`.
pub fn strerror(err: &std::io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => {
            // SAFETY: strerror returns a pointer to a static, NUL-terminated string.
            let text = unsafe { std::ffi::CStr::from_ptr(libc::strerror(code)) };
            text.to_string_lossy().into_owned()
        }
        None => match err.kind() {
            std::io::ErrorKind::TimedOut => "TIMEOUT".to_string(),
            _ => err.to_string(),
        },
    }
}

/// Writes one line to stderr, ignoring failure: a reader of stderr that has gone (EPIPE) or a
/// full disk must never change the exit status or end the program (`eprintln!` would panic).
pub fn stderr_line(line: fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}

/// Prints one line on stderr with `format!` syntax, never panicking (see [`stderr_line`]).
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::error::stderr_line(format_args!($($arg)*))
    };
}

/// Whether a write failed only because the reader went away.
pub fn is_reader_gone(err: &std::io::Error) -> bool {
    err.kind() == std::io::ErrorKind::BrokenPipe
}

/// Prints a failure's line on stderr and returns its exit status.
pub fn report(failure: &Failure) -> i32 {
    crate::say!("{failure}");
    failure.exit_code()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strerror_has_no_rust_suffix() {
        let err = std::io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert_eq!(strerror(&err), "Connection refused");
    }

    #[test]
    fn shapes_match_ncat() {
        assert_eq!(
            Failure::Fatal("Invalid port number \"x\".".into()).to_string(),
            "Ncat: Invalid port number \"x\". QUITTING."
        );
        assert_eq!(
            Failure::Network("TIMEOUT.".into()).to_string(),
            "Ncat: TIMEOUT."
        );
        assert_eq!(Failure::Network("x".into()).exit_code(), 1);
    }
}

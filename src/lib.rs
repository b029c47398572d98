//! ncat, a drop-in async reimplementation of Nmap's Ncat, as a library: the binary
//! (`src/main.rs`) is a thin shell over these modules, which fuzz targets and benchmarks can
//! also drive directly (the parsers above all).

// stdout carries data only and stderr may have no reader: the print macros panic on a failed
// write, so every message goes through `say!` instead.
#![deny(clippy::print_stderr, clippy::print_stdout)]

// Sockets, descriptors, signals, child processes and terminals are used the Unix way
// throughout; Linux-only calls (splice, sendfile, close_range, TIOCOUTQ, IP_MTU, TIOCGPTPEER)
// have portable fallbacks, so other Unix systems build unchanged.
#[cfg(not(unix))]
compile_error!(
    "ncat needs a Unix system: it relies on Unix sockets and descriptors, fork/exec with \
     inherited descriptors, signals and pseudo-terminals, which this target does not have"
);

pub mod cli;
pub mod config;
pub mod error;
pub mod io;
pub mod logging;
pub mod manual;
pub mod mode;
pub mod net;
pub mod parse;
pub mod proxy;
pub mod sys;

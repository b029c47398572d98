//! ncat, a drop-in async reimplementation of Nmap's Ncat, as a library: the binary
//! (`src/main.rs`) is a thin shell over these modules, which fuzz targets and benchmarks can
//! also drive directly (the parsers above all).

// stdout carries data only and stderr may have no reader: the print macros panic on a failed
// write, so every message goes through `say!` instead.
#![deny(clippy::print_stderr, clippy::print_stdout)]

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

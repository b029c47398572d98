//! ncat, a drop-in async reimplementation of Nmap's Ncat, as a library: the binary
//! (`src/main.rs`) is a thin shell over these modules, which fuzz targets and benchmarks can
//! also drive directly (the parsers above all).

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

//! ncat: a drop-in, async reimplementation of Nmap's Ncat.

#![deny(clippy::print_stderr, clippy::print_stdout)]

use ncat::{cli, config, error, io, logging, manual, mode, sys};
use std::io::Write;

fn main() {
    io::stdio::ensure_standard_fds();
    let code = match cli::parse(std::env::args_os().collect()) {
        Err(failure) => error::report(&failure.into()),
        Ok(cli::Request::Help) => print_out(cli::help().as_bytes()),
        Ok(cli::Request::ManPage) => print_out(&manual::man_page()),
        Ok(cli::Request::Completions(shell)) => match manual::completions(&shell) {
            Ok(script) => print_out(&script),
            Err(failure) => error::report(&failure.into()),
        },
        Ok(cli::Request::Version) => {
            ncat::say!("{}", cli::version_line());
            ncat::say!("Ncat: TLS by {}; no OpenSSL.", cli::TLS_LIBRARY);
            0
        }
        Ok(cli::Request::Run(args)) => run(&args),
    };
    std::process::exit(code);
}

/// Writes generated text to stdout; status 0.
fn print_out(bytes: &[u8]) -> i32 {
    let mut stdout = std::io::stdout();
    let _ = stdout.write_all(bytes).and_then(|()| stdout.flush());
    0
}

fn run(args: &cli::Cli) -> i32 {
    logging::init(args.verbose);
    let cfg = match config::build(args) {
        Ok(cfg) => cfg,
        Err(failure) => return error::report(&failure.into()),
    };
    sys::raise_fd_limit();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return error::report(&anyhow::anyhow!("starting the runtime: {e}")),
    };
    match runtime.block_on(mode::run(cfg)) {
        Ok(code) => code,
        Err(err) => error::report(&err),
    }
}

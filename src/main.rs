//! ncat: a drop-in, async reimplementation of Nmap's Ncat.

mod cli;
mod config;
mod error;
mod io;
mod logging;
mod mode;
mod net;
mod parse;
mod proxy;
mod sys;

use std::io::Write;

fn main() {
    io::stdio::ensure_standard_fds();
    let code = match cli::parse(std::env::args_os().collect()) {
        Err(failure) => error::report(&failure.into()),
        Ok(cli::Request::Help) => {
            print!("{}", cli::HELP);
            let _ = std::io::stdout().flush();
            0
        }
        Ok(cli::Request::Version) => {
            eprintln!("{}", cli::version_line());
            0
        }
        Ok(cli::Request::Run(args)) => run(&args),
    };
    std::process::exit(code);
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

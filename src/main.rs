//! ncat: a drop-in, async reimplementation of Nmap's Ncat.

#![deny(clippy::print_stderr, clippy::print_stdout)]

use ncat::{cli, config, error, io, logging, manual, mode, sys};
use std::io::Write;

/// Bit `fd` set for each of fds 0-2 that was closed when the process started.
static CLOSED_AT_START: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Runs before the Rust runtime, which reopens closed standard descriptors on `/dev/null`
/// (read-write, so a closed stdout would silently swallow data): records which were closed.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static RECORD_CLOSED_FDS: extern "C" fn() = {
    extern "C" fn record() {
        for fd in 0..=2 {
            // SAFETY: F_GETFD only queries the descriptor.
            if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
                CLOSED_AT_START.fetch_or(1 << fd, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
    record
};

fn main() {
    io::stdio::ensure_standard_fds(CLOSED_AT_START.load(std::sync::atomic::Ordering::Relaxed));
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // A `--lua-exec` child: this binary again, running the script on the connection.
    if let [_, flag, script] = args.as_slice()
        && flag == io::lua::RUN_SCRIPT
    {
        std::process::exit(io::lua::run(&script.to_string_lossy()));
    }
    let code = match cli::parse(args) {
        Err(failure) => error::report(&failure),
        Ok(cli::Request::Help) => print_out(cli::help().as_bytes()),
        Ok(cli::Request::ManPage) => print_out(&manual::man_page()),
        Ok(cli::Request::Completions(shell)) => match manual::completions(&shell) {
            Ok(script) => print_out(&script),
            Err(failure) => error::report(&failure),
        },
        Ok(cli::Request::Version) => {
            ncat::say!("{}", cli::version_line());
            ncat::say!(
                "Ncat: TLS by {}; DTLS by {}.",
                cli::TLS_LIBRARY,
                openssl::version::version()
            );
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
    let cfg = match config::build(args, &mut |line| ncat::say!("{line}")) {
        Ok(cfg) => cfg,
        Err(failure) => return error::report(&failure),
    };
    sys::raise_fd_limit();
    let runs_children = cfg.exec.is_some();
    if runs_children {
        sys::close_inherited_on_exec();
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return error::report(&error::Failure::Fatal(format!(
                "starting the runtime: {e}."
            )));
        }
    };
    let outcome = runtime.block_on(async {
        // With access lists from files, SIGHUP reads them again instead of ending the server
        // (connect mode ignores the lists, and SIGHUP keeps its usual meaning there).
        let reloads = cfg.access.has_files() && matches!(cfg.mode, config::Mode::Listen { .. });
        if reloads {
            ncat::net::access::reload_on_hangup(cfg.access.clone());
        }
        if runs_children {
            io::children::pass_termination_signals_on(!reloads);
        }
        mode::run(cfg).await
    });
    io::children::end_children();
    match outcome {
        Ok(ended) => ended.exit_code(),
        Err(failure) => error::report(&failure),
    }
}

//! `--progress`: periodic lines when stderr is a file or pipe, a live line on a terminal, and
//! nothing at all without the flag.

use crate::common::*;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A listener that takes one client and keeps what it receives; its own stdin stays open, so
/// only the client's end ends the session.
fn sink() -> (Proc, String) {
    let (listener, port) = Proc::listen(&["-l", "127.0.0.1", "0"]);
    (listener, port.to_string())
}

#[test]
fn periodic_lines_when_stderr_is_not_a_terminal() {
    let (listener, port) = sink();
    let mut client = Command::new(env!("CARGO_BIN_EXE_ncat"))
        .args(["--progress", "127.0.0.1", &port])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = client.stdin.take().unwrap();
    // A slow producer: about 2.6 s of 4 KiB pieces. (Kept sleep: the pacing is what lets the
    // periodic lines come due.)
    let started = Instant::now();
    let mut sent = 0;
    while started.elapsed() < Duration::from_millis(2600) {
        stdin.write_all(&[b'x'; 4096]).unwrap();
        sent += 4096;
        thread::sleep(Duration::from_millis(100));
    }
    drop(stdin);
    let out = client.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines.len() >= 2,
        "a periodic line and the final one: {err:?}"
    );
    assert!(
        lines.iter().all(|l| l.starts_with("Ncat: sent ")),
        "{err:?}"
    );
    assert!(!err.contains('\r'), "{err:?}");
    let last = lines.last().unwrap();
    assert!(
        last.contains(&format!("sent {:.1} KiB", sent as f64 / 1024.0)),
        "{last}"
    );
    assert_eq!(listener.wait_stdout_len(sent).len(), sent);
}

/// Opens a pseudo-terminal: the controller side, and the device path of the other side.
fn open_pty() -> (File, String) {
    // SAFETY: plain libc calls on a descriptor this function owns; ptsname's buffer is copied
    // at once.
    unsafe {
        let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(fd >= 0, "posix_openpt");
        assert_eq!(libc::grantpt(fd), 0);
        assert_eq!(libc::unlockpt(fd), 0);
        let name = std::ffi::CStr::from_ptr(libc::ptsname(fd))
            .to_string_lossy()
            .into_owned();
        (File::from_raw_fd(fd), name)
    }
}

#[test]
fn a_live_line_on_a_terminal() {
    let (listener, port) = sink();
    let (mut controller, device) = open_pty();
    let terminal = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&device)
        .unwrap();
    let mut client = Command::new(env!("CARGO_BIN_EXE_ncat"))
        .args(["--progress", "127.0.0.1", &port])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::from(terminal))
        .spawn()
        .unwrap();
    let mut stdin = client.stdin.take().unwrap();
    // A slow producer (kept sleep: the pacing lets the live line be redrawn between pieces).
    for _ in 0..8 {
        stdin.write_all(&[b'y'; 1000]).unwrap();
        thread::sleep(Duration::from_millis(150));
    }
    drop(stdin);
    assert_eq!(client.wait().unwrap().code(), Some(0));
    listener.wait_stdout_len(8000);
    let mut screen = Vec::new();
    let mut buf = [0u8; 4096];
    // The terminal holds everything written; read until the final line's newline.
    while !screen.ends_with(b"\n") {
        let n = controller.read(&mut buf).unwrap();
        assert!(n > 0);
        screen.extend_from_slice(&buf[..n]);
    }
    let screen = String::from_utf8_lossy(&screen);
    assert!(screen.matches("\rNcat: sent ").count() >= 2, "{screen:?}");
    assert!(screen.contains("\x1b[K"), "{screen:?}");
    assert!(screen.contains("sent 7.8 KiB"), "{screen:?}");
}

#[test]
fn nothing_on_stderr_without_the_flag() {
    let (listener, port) = sink();
    let input = std::env::temp_dir().join(format!("ncat-progress-{}", std::process::id()));
    std::fs::write(&input, pattern(100_000, 3)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ncat"))
        .args(["127.0.0.1", &port])
        .stdin(Stdio::from(File::open(&input).unwrap()))
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&input);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    listener.wait_stdout_closed();
}

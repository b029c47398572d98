//! The two-way pump between the local side (stdin/stdout) and one remote stream, with Ncat's
//! half-close rules. Used by connect mode and by the single-connection listener.
//!
//! The two directions run concurrently (so neither can block the other) and end like this:
//!
//! | event | what happens |
//! |---|---|
//! | stdin EOF | the socket's write side is shut down (unless `--no-shutdown`); with `--send-only` the session ends, otherwise it waits for the peer |
//! | socket EOF | stdout is flushed and closed; the session ends, except that a connect-mode client whose stdin is a pipe or file keeps sending what stdin still has ([`Rules::linger`]) |
//! | socket read or write error | the session ends with that error |
//! | stdout's reader gone | the session ends quietly |
//!
//! A direction that is switched off (`--recv-only` skips stdin) simply never finishes.

use bytes::{Bytes, BytesMut};
use std::cell::Cell;
use std::future::pending;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::io::stdio::{CHUNK, Stdout};

/// Which parts of the pump run.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Send what stdin delivers to the socket (`--recv-only` reads stdin but drops it).
    pub send_stdin: bool,
    /// Read the socket at all (connect-mode `--send-only` never does).
    pub read_remote: bool,
    /// Write what the socket delivers to stdout (`--send-only` listeners only drain it).
    pub print_remote: bool,
    /// Half-close the socket at stdin EOF (not with `--no-shutdown`).
    pub shutdown_on_eof: bool,
    /// End the session at stdin EOF (`--send-only`).
    pub end_on_stdin_eof: bool,
    /// After the peer's EOF, keep sending stdin until it ends or stays silent this long. A peer
    /// that only half-closed (as a listener does when its own input ends) then still gets the
    /// whole file; a peer that left is not waited for. `None` ends the session at once.
    pub linger: Option<Duration>,
}

/// Why the session ended.
#[derive(Debug)]
pub enum End {
    /// The peer closed its side (orderly EOF).
    RemoteClosed,
    /// stdin ended and the rules say that ends the session.
    StdinDone,
    /// Reading the socket failed.
    ReadFailed(io::Error),
    /// Writing the socket failed.
    WriteFailed(io::Error),
    /// stdout's reader went away.
    StdoutGone,
}

#[derive(Debug)]
pub struct Outcome {
    pub end: End,
    pub sent: u64,
    pub received: u64,
}

/// Runs the pump until the session ends. `stdin` is `None` when stdin is not to be read at all.
pub async fn run<R, W>(
    mut reader: R,
    mut writer: W,
    stdin: Option<mpsc::Receiver<Bytes>>,
    stdout: Stdout,
    rules: Rules,
) -> Outcome
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let sent = Cell::new(0u64);
    let received = Cell::new(0u64);
    let mut stdin_done = stdin.is_none();

    // stdin -> socket. Finishes with StdinDone at EOF (after the half-close) or WriteFailed.
    let upstream = async {
        let Some(mut stdin) = stdin else {
            return pending().await;
        };
        while let Some(chunk) = stdin.recv().await {
            if rules.send_stdin {
                if let Err(e) = writer.write_all(&chunk).await {
                    return End::WriteFailed(e);
                }
                sent.set(sent.get() + chunk.len() as u64);
            }
        }
        if rules.shutdown_on_eof {
            // The peer may already be gone; that is noticed on the read side.
            let _ = writer.shutdown().await;
        }
        End::StdinDone
    };

    // socket -> stdout. Flushes and closes stdout whatever ends it.
    let downstream = async {
        if !rules.read_remote {
            return pending().await;
        }
        let mut buf = BytesMut::new();
        let end = loop {
            buf.reserve(CHUNK);
            match reader.read_buf(&mut buf).await {
                Ok(0) => break End::RemoteClosed,
                Ok(n) => {
                    received.set(received.get() + n as u64);
                    let chunk = buf.split().freeze();
                    if rules.print_remote && stdout.write(chunk).await.is_err() {
                        return End::StdoutGone;
                    }
                }
                Err(e) => break End::ReadFailed(e),
            }
        };
        match stdout.close().await {
            Ok(()) => end,
            Err(_) => End::StdoutGone,
        }
    };

    tokio::pin!(upstream, downstream);
    let mut remote_done = false;
    let end = loop {
        let lingering = remote_done && !stdin_done;
        let sent_before = sent.get();
        tokio::select! {
            end = &mut upstream, if !stdin_done => match end {
                End::StdinDone if remote_done => break End::RemoteClosed,
                End::StdinDone if !rules.end_on_stdin_eof => stdin_done = true,
                other => break other,
            },
            end = &mut downstream, if !remote_done => match end {
                End::RemoteClosed if !stdin_done && rules.linger.is_some() => remote_done = true,
                other => break other,
            },
            _ = tokio::time::sleep(rules.linger.unwrap_or_default()), if lingering => {
                if sent.get() == sent_before {
                    break End::RemoteClosed;
                }
            }
        }
    };
    Outcome {
        end,
        sent: sent.get(),
        received: received.get(),
    }
}

//! Listen mode: bind, accept, and hand clients to the single-connection pump or to the hub.

use std::sync::Arc;
use tokio::sync::mpsc;

use crate::config::{Config, ListenKind, Transport};
use crate::error::{Ended, Failure, ModeResult, idle_expired};
use crate::io::exec::ExecCommand;
use crate::io::pump::{self, End, Rules};
use crate::io::stdio;
use crate::mode::exec;
use crate::mode::hub::{Hub, Settings};
use crate::mode::{http_proxy, socks_proxy};
use crate::net::admission::{Slots, admits};
use crate::net::dtls;
use crate::net::listener::{self, Arrival, Handshake, HandshakeFailed, log_connection};
use crate::net::stream::{Endpoint, Stream};
use crate::net::tls;
use crate::proxy::ProxyKind;

/// Serves clients on `endpoints`: TCP or Unix stream sockets, or DTLS sessions over UDP.
pub async fn run(
    cfg: &Config,
    kind: ListenKind,
    endpoints: &[Endpoint],
    transport: Transport,
) -> ModeResult {
    let datagrams = transport == Transport::Datagram;
    // As in Ncat, the certificate is ready before the first socket listens.
    let handshake = match cfg.tls.as_deref() {
        Some(opts) if datagrams => Some(Handshake::Dtls(Arc::new(dtls::Server::new(opts)?))),
        Some(opts) => Some(Handshake::Tls(tls::acceptor(opts)?)),
        None => None,
    };
    let listeners = listener::bind_all(endpoints, cfg.test_banner, datagrams)?;
    // Ncat's chat IDs are descriptor numbers: after stdio, the log files and the listeners.
    let first_id = 3 + cfg.log.files() + listeners.len() as u32;
    let (accepting, incoming) = listener::accept_all(listeners, handshake);

    match kind {
        ListenKind::Single => serve_first_client(cfg, accepting, incoming).await,
        ListenKind::ProxyServer(ProxyKind::Http) => http_proxy::run(cfg, incoming).await,
        ListenKind::ProxyServer(socks) => socks_proxy::run(cfg, socks, incoming).await,
        _ => match &cfg.exec {
            Some(cmd) => serve_exec_clients(cfg, cmd, incoming).await,
            None => serve_hub(cfg, kind, first_id, incoming).await,
        },
    }
}

/// `-l`: the first client admitted is served, then the listener ends.
async fn serve_first_client(
    cfg: &Config,
    accepting: tokio::task::JoinSet<()>,
    mut incoming: mpsc::Receiver<Arrival>,
) -> ModeResult {
    let stream = loop {
        let (stream, peer) = match incoming.recv().await {
            Some(Ok(client)) => client,
            // As in Ncat, the one client failing its TLS handshake ends the listener.
            Some(Err(HandshakeFailed)) => return Ok(Ended::Quietly),
            None => return Err(Failure::Fatal("Unable to accept connections.".into())),
        };
        log_connection(&peer, None);
        if admits(cfg.max_conns, 0, &cfg.access, &peer) {
            break stream;
        }
    };
    // One client only: stop listening, so later attempts are refused by the kernel.
    drop(accepting);
    drop(incoming);
    match &cfg.exec {
        Some(cmd) => match exec::relay(stream, cmd, cfg).await {
            End::IdleTimeout(idle) => Err(Failure::Fatal(idle_expired(idle))),
            _ => Ok(Ended::Normally),
        },
        None => serve_single(cfg, stream).await,
    }
}

/// `-k`, `--broker` and `--chat`: every client joins the hub, until it ends the listener.
async fn serve_hub(
    cfg: &Config,
    kind: ListenKind,
    first_id: u32,
    mut incoming: mpsc::Receiver<Arrival>,
) -> ModeResult {
    let (exit_tx, mut exit_rx) = mpsc::unbounded_channel();
    let hub = Hub::new(
        Settings {
            kind,
            max_conns: cfg.max_conns,
            stall_timeout: cfg.stall_timeout,
            send_only: cfg.send_only,
            recv_only: cfg.recv_only,
            no_shutdown: cfg.no_shutdown,
            ends_at_stdin_eof: cfg.ends_at_stdin_eof(),
            quit_after: cfg.quit_timer(),
            first_id,
            crlf: cfg.crlf,
            telnet: cfg.telnet,
            chat_utf8: cfg.chat_utf8,
            chat_console: cfg.chat_console,
            delay: cfg.delay,
            log: cfg.log.clone(),
            access: cfg.access.clone(),
        },
        exit_tx,
    );
    // --recv-only never touches stdin (Ncat 7.991).
    if !cfg.recv_only {
        tokio::spawn(hub.clone().stdin_loop(stdio::spawn_stdin()));
    }
    tokio::spawn(hub.clone().watch_load());
    tokio::spawn(hub.clone().console_loop());
    loop {
        tokio::select! {
            conn = incoming.recv() => match conn {
                Some(Ok((stream, peer))) => hub.admit(stream, peer),
                Some(Err(HandshakeFailed)) => {}
                None => return Err(Failure::Fatal("Unable to accept connections.".into())),
            },
            outcome = exit_rx.recv() => return outcome.unwrap_or(Ok(Ended::Normally)),
            _ = hub.idle_expired(cfg.idle_timeout.unwrap_or_default()), if cfg.idle_timeout.is_some() => {
                return Err(Failure::Fatal(idle_expired(cfg.idle_timeout.unwrap_or_default())));
            }
        }
    }
}

/// `-k` with `-e`/`-c`: a child per client, at most `-m` at once; stdin and stdout unused.
async fn serve_exec_clients(
    cfg: &Config,
    cmd: &ExecCommand,
    mut incoming: mpsc::Receiver<Arrival>,
) -> ModeResult {
    let slots = Slots::new(cfg.max_conns);
    let cfg = Arc::new(cfg.clone());
    // -i: a relay that goes idle ends the program, as Ncat's listen-mode idle timer does.
    let (idle_tx, mut idle_rx) = mpsc::unbounded_channel();
    loop {
        let arrival = tokio::select! {
            arrival = incoming.recv() => arrival,
            Some(idle) = idle_rx.recv() => return Err(Failure::Fatal(idle_expired(idle))),
        };
        let Some(arrival) = arrival else { break };
        let Ok((stream, peer)) = arrival else {
            continue;
        };
        log_connection(&peer, None);
        let Some(slot) = slots.admit(&cfg.access, &peer) else {
            continue;
        };
        let (cfg, cmd, idle_tx) = (cfg.clone(), cmd.clone(), idle_tx.clone());
        tokio::spawn(async move {
            if let End::IdleTimeout(idle) = exec::relay(stream, &cmd, &cfg).await {
                let _ = idle_tx.send(idle);
            }
            drop(slot);
        });
    }
    Err(Failure::Fatal("Unable to accept connections.".into()))
}

/// Serves the one client: status 0 when it closes, 1 (silently) when its connection fails.
async fn serve_single(cfg: &Config, stream: Stream) -> ModeResult {
    let rules = Rules {
        // --recv-only never touches stdin (Ncat 7.991), so a closed one is no error.
        read_stdin: !cfg.recv_only,
        send_stdin: true,
        read_remote: true,
        print_remote: !cfg.send_only,
        shutdown_on_eof: !cfg.no_shutdown,
        end_on_stdin_eof: cfg.ends_at_stdin_eof(),
        quit_after: cfg.quit_timer(),
        linger: None,
        transforms: cfg.transforms(),
        read_size: stdio::CHUNK,
        progress: cfg.progress,
    };
    let outcome = pump::run_stdio(stream, rules, &cfg.log).await;
    match outcome.end {
        End::RemoteClosed | End::StdinDone | End::OutputGone => Ok(Ended::Normally),
        // Ncat ends silently with status 1 when stdin cannot be read, too.
        End::ReadFailed(_) | End::WriteFailed(_) | End::StdinFailed(_) => Ok(Ended::Quietly),
        End::IdleTimeout(idle) => Err(Failure::Fatal(idle_expired(idle))),
    }
}

//! Listening sockets, bound the way Ncat binds them, and their accept loops.

use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::error::{Failure, strerror};
use crate::net::dtls::{self, DatagramIo};
use crate::net::resolve::show_addr;
use crate::net::stream::{Endpoint, Stream};
use crate::net::tls;
use crate::net::udp_socket;

/// Pending connections the kernel queues per listener. Ncat uses 10, which drops SYNs when many
/// clients arrive at once; we use the kernel's own cap instead.
const BACKLOG: i32 = 4096;

/// A listening socket.
pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
    /// UDP for DTLS: each new peer gets a session socket of its own.
    Dtls(dtls::Listener),
}

/// A new peer, before any handshake.
enum Accepted {
    Stream(Stream),
    Datagrams(DatagramIo),
}

impl Listener {
    async fn accept(&self) -> io::Result<(Accepted, Endpoint)> {
        match self {
            Listener::Tcp(l) => {
                let (s, peer) = l.accept().await?;
                Ok((Accepted::Stream(Stream::Tcp(s)), Endpoint::Ip(peer)))
            }
            Listener::Unix(l) => {
                let (s, _) = l.accept().await?;
                let stream = Stream::Unix(s);
                let peer = stream.peer();
                Ok((Accepted::Stream(stream), peer))
            }
            Listener::Dtls(l) => {
                let (io, peer) = l.accept().await?;
                Ok((Accepted::Datagrams(io), peer))
            }
        }
    }
}

/// The server side of the handshake each client goes through, if any.
#[derive(Clone)]
pub enum Handshake {
    Tls(TlsAcceptor),
    Dtls(Arc<dtls::Server>),
}

/// Binds one listener per endpoint, in order, failing on the first that cannot be bound (as
/// Ncat does). Prints `Listening on` with the real port (or the path) for each.
/// With `datagrams`, IP endpoints are bound as UDP sockets for DTLS.
pub fn bind_all(
    endpoints: &[Endpoint],
    test_banner: bool,
    datagrams: bool,
) -> Result<Vec<Listener>, Failure> {
    endpoints
        .iter()
        .map(|endpoint| {
            let listener = match endpoint {
                Endpoint::Ip(addr) if datagrams => {
                    let socket = udp_socket::bind_udp(*addr)?;
                    let local = socket.local_addr().unwrap_or(*addr);
                    tracing::info!("Listening on {}", show_addr(&local));
                    let open_error = |e: io::Error| Failure::Fatal(strerror(&e));
                    Listener::Dtls(dtls::Listener::new(socket).map_err(open_error)?)
                }
                Endpoint::Ip(addr) => {
                    let listener = bind_tcp(*addr)?;
                    let local = listener.local_addr().unwrap_or(*addr);
                    tracing::info!("Listening on {}", show_addr(&local));
                    Listener::Tcp(listener)
                }
                Endpoint::Unix(path) => {
                    let listener = bind_unix(path)?;
                    tracing::info!("Listening on {}", path.display());
                    Listener::Unix(listener)
                }
            };
            if test_banner {
                crate::say!("NCAT TEST: LISTEN");
            }
            Ok(listener)
        })
        .collect()
}

fn bind_tcp(addr: SocketAddr) -> Result<TcpListener, Failure> {
    let open_error = |e: io::Error| {
        Failure::Fatal(format!(
            "Unable to open listening socket on {}: {}",
            addr.ip(),
            strerror(&e)
        ))
    };
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .map_err(open_error)?;
    let bind_error =
        |e: io::Error| Failure::Fatal(format!("bind to {}: {}.", show_addr(&addr), strerror(&e)));
    socket.set_reuse_address(true).map_err(bind_error)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true).map_err(bind_error)?;
    }
    socket.bind(&addr.into()).map_err(bind_error)?;
    socket.listen(BACKLOG).map_err(open_error)?;
    socket.set_nonblocking(true).map_err(open_error)?;
    TcpListener::from_std(socket.into()).map_err(open_error)
}

/// Binds a Unix stream socket. As in Ncat, an existing path is an error and the socket file is
/// left in place at exit.
fn bind_unix(path: &Path) -> Result<UnixListener, Failure> {
    UnixListener::bind(path)
        .map_err(|e| Failure::Fatal(format!("bind to {}: {}.", path.display(), strerror(&e))))
}

/// A client that connected but failed its TLS handshake (already logged under `-v`).
#[derive(Debug)]
pub struct HandshakeFailed;

/// What the accept loops deliver: a client ready to serve, or a failed TLS handshake.
pub type Arrival = Result<(Stream, Endpoint), HandshakeFailed>;

/// How long a client may take over its TLS handshake (or its SOCKS request) before it is
/// dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Accepts on every listener and delivers the connections on one channel; with a handshake,
/// each connection's runs in its own task, so a slow one holds up nobody. Dropping the
/// returned `JoinSet` stops accepting and closes the listening sockets.
pub fn accept_all(
    listeners: Vec<Listener>,
    handshake: Option<Handshake>,
) -> (JoinSet<()>, mpsc::Receiver<Arrival>) {
    let (tx, rx) = mpsc::channel(64);
    let mut tasks = JoinSet::new();
    for listener in listeners {
        let (tx, handshake) = (tx.clone(), handshake.clone());
        tasks.spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((Accepted::Stream(stream), peer)) if handshake.is_none() => {
                        if tx.send(Ok((stream, peer))).await.is_err() {
                            return;
                        }
                    }
                    Ok((accepted, peer)) => {
                        let (tx, handshake) = (tx.clone(), handshake.clone());
                        tokio::spawn(async move {
                            let arrival = server_handshake(handshake, accepted, peer).await;
                            let _ = tx.send(arrival).await;
                        });
                    }
                    Err(e) => {
                        // Out of descriptors or memory: say so, keep serving the clients already
                        // connected, and retry shortly instead of spinning.
                        tracing::warn!("accept: {}", strerror(&e));
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
    }
    (tasks, rx)
}

/// The server side of a client's TLS or DTLS handshake.
async fn server_handshake(
    handshake: Option<Handshake>,
    accepted: Accepted,
    peer: Endpoint,
) -> Arrival {
    let handshake = async {
        match (handshake, accepted) {
            (Some(Handshake::Tls(acceptor)), Accepted::Stream(Stream::Tcp(tcp))) => {
                tls::accept(&acceptor, tcp)
                    .await
                    .map(|s| Stream::Tls(Box::new(s)))
            }
            (Some(Handshake::Dtls(server)), Accepted::Datagrams(io)) => {
                server.accept(io).await.map(|s| Stream::Dtls(Box::new(s)))
            }
            (_, Accepted::Stream(stream)) => Ok(stream),
            (_, Accepted::Datagrams(_)) => Err(io::ErrorKind::Unsupported.into()),
        }
    };
    let result = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await;
    match result.unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into())) {
        Ok(stream) => Ok((stream, peer)),
        Err(e) => {
            // As in Ncat, the client is logged as connected, then as failed.
            log_connection(&peer, None);
            tracing::info!("Failed SSL connection from {}: {e}", peer.host());
            Err(HandshakeFailed)
        }
    }
}

/// The two `-v` lines Ncat prints for every accepted connection (before any check).
pub fn log_connection(peer: &Endpoint, chat_id: Option<u32>) {
    match (peer, chat_id) {
        (Endpoint::Ip(addr), Some(id)) => {
            tracing::info!("Connection from {} on file descriptor {id}.", addr.ip());
        }
        (Endpoint::Ip(addr), None) => tracing::info!("Connection from {}.", addr.ip()),
        (Endpoint::Unix(_), _) => {
            tracing::info!("Connection from a client on Unix domain socket.");
        }
    }
    match peer {
        Endpoint::Ip(addr) => tracing::info!("Connection from {}.", show_addr(addr)),
        Endpoint::Unix(path) => tracing::info!("Connection from {}.", path.display()),
    }
}

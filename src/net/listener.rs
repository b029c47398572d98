//! Listening sockets, bound the way Ncat binds them, and their accept loops.

use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::error::{Failure, strerror};
use crate::net::resolve::show_addr;

/// Pending connections the kernel queues per listener. Ncat uses 10, which drops SYNs when many
/// clients arrive at once; we use the kernel's own cap instead.
const BACKLOG: i32 = 1024;

/// Binds one TCP listener per address, in order, failing on the first address that cannot be
/// bound (as Ncat does). Prints `Listening on` with the real port for each.
pub fn bind_all(addrs: &[SocketAddr], test_banner: bool) -> Result<Vec<TcpListener>, Failure> {
    addrs
        .iter()
        .map(|addr| {
            let listener = bind(*addr)?;
            let local = listener.local_addr().unwrap_or(*addr);
            tracing::info!("Listening on {}", show_addr(&local));
            if test_banner {
                eprintln!("NCAT TEST: LISTEN");
            }
            Ok(listener)
        })
        .collect()
}

fn bind(addr: SocketAddr) -> Result<TcpListener, Failure> {
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

/// Accepts on every listener and delivers the connections on one channel. Dropping the
/// returned `JoinSet` stops accepting and closes the listening sockets.
pub fn accept_all(
    listeners: Vec<TcpListener>,
) -> (JoinSet<()>, mpsc::Receiver<(TcpStream, SocketAddr)>) {
    let (tx, rx) = mpsc::channel(64);
    let mut tasks = JoinSet::new();
    for listener in listeners {
        let tx = tx.clone();
        tasks.spawn(async move {
            loop {
                match listener.accept().await {
                    Ok(conn) => {
                        if tx.send(conn).await.is_err() {
                            return;
                        }
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

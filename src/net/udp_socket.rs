//! UDP sockets as listeners need them: bound with `SO_REUSEPORT` beside the sockets of single
//! peers, and with a receive queue wide enough for bursts.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use crate::error::{Failure, strerror};
use crate::net::resolve::show_addr;

/// Binds a UDP socket with `SO_REUSEPORT`, so that sockets for single peers can be bound to the
/// same address and connected to their peer (the kernel then routes each peer's datagrams to
/// its own socket), and with a wide receive queue.
pub fn bind_udp(addr: SocketAddr) -> Result<UdpSocket, Failure> {
    let bind_error =
        |e: io::Error| Failure::Fatal(format!("bind to {}: {}.", show_addr(&addr), strerror(&e)));
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))
        .map_err(bind_error)?;
    socket.set_reuse_address(true).map_err(bind_error)?;
    socket.set_reuse_port(true).map_err(bind_error)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true).map_err(bind_error)?;
    }
    socket.bind(&addr.into()).map_err(bind_error)?;
    socket.set_nonblocking(true).map_err(bind_error)?;
    widen_receive_queue(socket2::SockRef::from(&socket));
    UdpSocket::from_std(socket.into()).map_err(bind_error)
}

/// Bytes of datagrams a UDP socket may hold for us. The system default (about 200 KB, some
/// 150 full-size datagrams) overflows whenever this process is not scheduled for a moment
/// while a fast sender goes on; the kernel caps the request at `net.core.rmem_max`.
const RECEIVE_QUEUE: usize = 4 << 20;

/// Asks for [`RECEIVE_QUEUE`]; a smaller queue still works, so a refusal is not an error.
pub fn widen_receive_queue(socket: socket2::SockRef<'_>) {
    if socket.recv_buffer_size().is_ok_and(|n| n < RECEIVE_QUEUE) {
        let _ = socket.set_recv_buffer_size(RECEIVE_QUEUE);
    }
}

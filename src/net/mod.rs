//! Sockets: resolution, listeners, outgoing connections, admission and TLS.

pub mod access;
pub mod admission;
pub mod connect;
pub mod datagram;
pub mod der;
pub mod dtls;
pub mod endpoint;
pub mod listener;
pub mod read_ahead;
pub mod resolve;
pub mod stream;
pub mod tls;
pub mod udp_socket;

//! Sockets: resolution, listeners, outgoing connections and TLS.

pub mod access;
pub mod connect;
pub mod der;
pub mod dtls;
pub mod listener;
pub mod read_ahead;
pub mod resolve;
pub mod stream;
pub mod tls;

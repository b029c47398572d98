//! Sockets: resolution, listeners and outgoing connections.

pub mod access;
pub mod connect;
pub mod listener;
pub mod resolve;
pub mod stream;

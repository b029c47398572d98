//! Sockets: resolution, listeners and outgoing connections.

pub mod connect;
pub mod listener;
pub mod resolve;

//! The integration tests, as one binary: a module per area, all sharing `common` (spawning the
//! built ncat, waiting on what it reports, and the peers the tests play).

mod common;

mod access;
mod bad_input;
mod cli;
mod connect;
mod copy_paths;
mod current_ncat;
mod dropin;
mod dtls;
mod exec;
mod guide;
mod hub;
mod listen;
mod load;
mod lua;
mod probe;
mod progress;
mod proxy;
mod proxy_chain;
mod proxy_ncat;
mod proxy_server;
mod pty;
mod reliability;
mod robustness;
mod socks_server;
mod tls;
mod transforms;
mod udp;
mod unix;

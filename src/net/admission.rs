//! Who gets in: the connection limit (`-m`) and `--allow`/`--deny`, the checks every listen
//! mode applies to each new client, and the slots that count the clients served at once.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::net::access::AccessList;
use crate::net::endpoint::Endpoint;

/// The checks every accepted client goes through: the connection limit (`count` clients are
/// being served), then `--allow`/`--deny` (Unix clients have no address to check). A refused
/// client is closed by the caller. In single mode, unlike Ncat 7.93 (which stops listening
/// before checking, then hangs), a refused client leaves the listener listening.
pub fn admits(max_conns: usize, count: usize, access: &AccessList, peer: &Endpoint) -> bool {
    if count >= max_conns {
        tracing::info!("New connection denied: connection limit reached ({count})");
        return false;
    }
    if peer.ip().is_some_and(|ip| !access.permits(ip)) {
        tracing::info!("New connection denied: not allowed");
        return false;
    }
    true
}

/// The `-m` places of modes that serve each client in a task of its own (exec relays, the
/// SOCKS server): a permit per client, given back when it is dropped.
pub struct Slots {
    permits: Arc<Semaphore>,
    max: usize,
}

impl Slots {
    pub fn new(max_conns: usize) -> Slots {
        let max = max_conns.min(Semaphore::MAX_PERMITS);
        Slots {
            permits: Arc::new(Semaphore::new(max)),
            max,
        }
    }

    /// How many places are taken.
    pub fn in_use(&self) -> usize {
        self.max - self.permits.available_permits()
    }

    /// The checks of [`admits`], then a place if one is free.
    pub fn admit(&self, access: &AccessList, peer: &Endpoint) -> Option<OwnedSemaphorePermit> {
        if !admits(self.max, self.in_use(), access, peer) {
            return None;
        }
        self.permits.clone().try_acquire_owned().ok()
    }
}

//! The steps every relay applies to the bytes of one stream, whatever moves them (the pump,
//! the hub, the `-u -l -k` demultiplexer): what comes from a peer is logged as received and
//! has its Telnet negotiation answered and stripped (`-t`), what goes to peers gets `-C`,
//! `-d` pauses after each read, and the `-i` clock runs from the last read either way.

use bytes::Bytes;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

use crate::io::crlf::Crlf;
use crate::io::session_log::SessionLog;
use crate::io::telnet::Telnet;

/// What comes from one peer.
#[derive(Debug, Default)]
pub struct FromPeer {
    telnet: Option<Telnet>,
}

impl FromPeer {
    pub fn new(telnet: bool) -> FromPeer {
        FromPeer {
            telnet: telnet.then(Telnet::default),
        }
    }

    /// A chunk from the peer: logged as received, then (`-t`) its negotiation stripped.
    /// Returns the data for the local side and the answers for that peer (empty when none).
    pub fn take(&mut self, chunk: Bytes, log: &SessionLog) -> (Bytes, Vec<u8>) {
        log.record(&chunk);
        match self.telnet.as_mut() {
            Some(telnet) => telnet.strip(&chunk),
            None => (chunk, Vec::new()),
        }
    }
}

/// What goes to the peers from the local side: `-C` (LF to CRLF, also across chunks).
#[derive(Debug, Default)]
pub struct ToPeers {
    crlf: Option<Crlf>,
}

impl ToPeers {
    pub fn new(crlf: bool) -> ToPeers {
        ToPeers {
            crlf: crlf.then(Crlf::default),
        }
    }

    pub fn convert(&mut self, chunk: Bytes) -> Bytes {
        match self.crlf.as_mut() {
            Some(crlf) => crlf.apply(&chunk),
            None => chunk,
        }
    }
}

/// `-d`: the pause after each read.
pub async fn pause(delay: Option<Duration>) {
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
}

/// The `-i` clock: when anything was last read. Any task may touch it (it is kept as
/// milliseconds since the clock started).
#[derive(Debug)]
pub struct IdleClock {
    started: Instant,
    last_ms: AtomicU64,
}

impl Default for IdleClock {
    fn default() -> IdleClock {
        IdleClock {
            started: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }
}

impl IdleClock {
    /// Something was read: the clock starts again.
    pub fn touch(&self) {
        let ms = self.started.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.started + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }

    /// Resolves once nothing has been read for `idle`.
    pub async fn expired(&self, idle: Duration) {
        loop {
            tokio::time::sleep_until(self.last() + idle).await;
            if self.last().elapsed() >= idle {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_idle_clock_restarts_at_each_touch() {
        let clock = IdleClock::default();
        let idle = Duration::from_secs(2);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        clock.touch();
        let started = Instant::now();
        clock.expired(idle).await;
        assert!(started.elapsed() >= Duration::from_millis(1900));
    }

    #[test]
    fn from_peer_strips_negotiation_and_returns_the_answer() {
        let log = SessionLog::default();
        let mut from = FromPeer::new(true);
        let (data, answer) = from.take(Bytes::from_static(&[0xff, 0xfd, 0x01, b'x']), &log);
        assert_eq!(&data[..], b"x");
        assert_eq!(answer, [0xff, 0xfc, 0x01]);
        let (data, answer) = FromPeer::new(false).take(Bytes::from_static(b"\xff\xfd\x01"), &log);
        assert_eq!(&data[..], b"\xff\xfd\x01");
        assert!(answer.is_empty());
    }
}

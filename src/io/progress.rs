//! `--progress` (an extension): bytes sent and received, the current rate and the elapsed time
//! on stderr while a session runs. On a terminal it is one line rewritten in place; otherwise a
//! line every few seconds, so a log file stays readable. stdout is never touched.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How often the live line on a terminal is redrawn.
const LIVE_EVERY: Duration = Duration::from_millis(500);
/// How often a line is written when stderr is a file or a pipe.
const LOG_EVERY: Duration = Duration::from_secs(2);

pub struct Progress {
    /// stderr is a terminal: redraw one line.
    live: bool,
    started: Instant,
    /// The total at the previous report, and when it was taken (for the current rate).
    last_total: u64,
    last_at: Instant,
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new()
    }
}

impl Progress {
    pub fn new() -> Progress {
        let now = Instant::now();
        Progress {
            live: std::io::stderr().is_terminal(),
            started: now,
            last_total: 0,
            last_at: now,
        }
    }

    pub fn interval(&self) -> Duration {
        if self.live { LIVE_EVERY } else { LOG_EVERY }
    }

    /// Reports the counts so far.
    pub fn report(&mut self, sent: u64, received: u64) {
        let now = Instant::now();
        let total = sent + received;
        let seconds = now.duration_since(self.last_at).as_secs_f64();
        let rate = if seconds > 0.0 {
            (total - self.last_total.min(total)) as f64 / seconds
        } else {
            0.0
        };
        self.last_total = total;
        self.last_at = now;
        self.print(&line(sent, received, rate, now - self.started), false);
    }

    /// The last report, with the average rate; ends the live line.
    pub fn finish(&mut self, sent: u64, received: u64) {
        let elapsed = self.started.elapsed();
        let seconds = elapsed.as_secs_f64();
        let rate = if seconds > 0.0 {
            (sent + received) as f64 / seconds
        } else {
            0.0
        };
        self.print(&line(sent, received, rate, elapsed), true);
    }

    fn print(&self, text: &str, last: bool) {
        let mut stderr = std::io::stderr().lock();
        let _ = if self.live {
            // Back to the start of the line, then clear what a longer line left behind.
            write!(stderr, "\r{text}\x1b[K{}", if last { "\n" } else { "" })
        } else {
            writeln!(stderr, "{text}")
        };
        let _ = stderr.flush();
    }
}

/// `Ncat: sent 1.5 MiB, received 12 B, 3.0 MiB/s, 0:00:02`
fn line(sent: u64, received: u64, rate: f64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs();
    format!(
        "Ncat: sent {}, received {}, {}/s, {}:{:02}:{:02}",
        human(sent as f64),
        human(received as f64),
        human(rate),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// A byte count with a binary unit: `512 B`, `1.5 KiB`, `3.2 GiB`.
fn human(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024.0 {
        return format!("{bytes:.0} B");
    }
    let mut value = bytes / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// The `-v` closing line of a client session (and of each `-z` probe): its totals and how
/// long it took.
pub fn log_totals(sent: u64, received: u64, took: Duration) {
    tracing::info!(
        "{sent} bytes sent, {received} bytes received in {:.2} seconds.",
        took.as_secs_f64()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_well() {
        assert_eq!(human(0.0), "0 B");
        assert_eq!(human(1023.0), "1023 B");
        assert_eq!(human(1536.0), "1.5 KiB");
        assert_eq!(human(3.0 * 1024.0 * 1024.0 * 1024.0), "3.0 GiB");
        assert_eq!(
            line(1536, 12, 3.0 * 1024.0 * 1024.0, Duration::from_secs(3725)),
            "Ncat: sent 1.5 KiB, received 12 B, 3.0 MiB/s, 1:02:05"
        );
    }
}

//! The children of exec relays still running: listed from their spawn until they are reaped,
//! so that a termination signal can be passed on to them and those left get SIGTERM when
//! this program ends.

use tokio::process::Command;

/// The children not yet reaped, which [`end_children`] signals.
struct Children {
    /// Their PIDs. A reaped child's PID may be reused at once, so it leaves the list right
    /// after it has been reaped, before anything else can signal it.
    running: Vec<u32>,
    /// Set once they are being ended: no child starts after that.
    ending: bool,
}

/// Held across each spawn, so that a child is listed before a signal can be passed on.
static CHILDREN: std::sync::Mutex<Children> = std::sync::Mutex::new(Children {
    running: Vec::new(),
    ending: false,
});

fn children() -> std::sync::MutexGuard<'static, Children> {
    CHILDREN.lock().unwrap_or_else(|e| e.into_inner())
}

/// A child in [`CHILDREN`] until this is dropped, right after it has been reaped.
pub struct Running(Option<u32>);

impl Running {
    pub fn spawn(command: &mut Command) -> std::io::Result<(tokio::process::Child, Running)> {
        let mut children = children();
        if children.ending {
            return Err(std::io::Error::other("the program is ending"));
        }
        let child = command.spawn()?;
        let pid = child.id();
        children.running.extend(pid);
        Ok((child, Running(pid)))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            children().running.retain(|&p| p != pid);
        }
    }
}

/// Sends `signal` to every child not yet reaped; none starts afterwards.
fn signal_children(signal: libc::c_int) {
    let mut children = children();
    children.ending = true;
    for &pid in &children.running {
        // SAFETY: kill with a PID this program spawned and has not reaped (so not reused).
        unsafe { libc::kill(pid as libc::pid_t, signal) };
    }
}

/// Ends the children still running as this program exits.
pub fn end_children() {
    signal_children(libc::SIGTERM);
}

/// From now on, SIGTERM, SIGINT and (with `hangup_too`) SIGHUP reach the children first and
/// then end this program as they would have without a handler (same status). Without
/// `hangup_too`, SIGHUP is left to the access-list reload. Must run inside the runtime.
pub fn pass_termination_signals_on(hangup_too: bool) {
    use tokio::signal::unix::{SignalKind, signal};
    let hangup = hangup_too.then_some(libc::SIGHUP);
    for number in [libc::SIGTERM, libc::SIGINT].into_iter().chain(hangup) {
        let Ok(mut arrivals) = signal(SignalKind::from_raw(number)) else {
            continue;
        };
        tokio::spawn(async move {
            arrivals.recv().await;
            signal_children(number);
            // SAFETY: restoring the default action and raising the signal ends the process.
            unsafe {
                libc::signal(number, libc::SIG_DFL);
                libc::raise(number);
            }
        });
    }
}

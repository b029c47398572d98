//! Process-wide system settings.

/// Raises the soft open-file limit to the hard limit, so thousands of clients can connect.
pub fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid rlimit struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                tracing::debug!("could not raise the open-file limit");
            }
        }
    }
}

/// Marks every descriptor above 2 close-on-exec, so that exec children get only 0, 1 and 2
/// even of what this program inherited from its own parent (what it opens itself already is).
pub fn close_inherited_on_exec() {
    #[cfg(target_os = "linux")]
    if close_range_cloexec() {
        return;
    }
    let max = max_descriptors();
    for fd in 3..max {
        // SAFETY: fcntl on a descriptor number; a closed one just fails.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
}

/// Linux 5.11's close_range(2) with CLOSE_RANGE_CLOEXEC: one call for all of them.
#[cfg(target_os = "linux")]
fn close_range_cloexec() -> bool {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: a plain system call on descriptor numbers.
    unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC) == 0 }
}

/// How many descriptor numbers to walk when there is no close_range.
fn max_descriptors() -> i32 {
    // SAFETY: sysconf only queries.
    unsafe { libc::sysconf(libc::_SC_OPEN_MAX) }.clamp(256, 65536) as i32
}

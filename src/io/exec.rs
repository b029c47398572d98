//! `-e` and `-c`: a child process as the local side of a connection.
//!
//! The child's stdin and stdout are pipes to the relay (its stderr is ours), so every byte
//! passes through the pump like terminal data does: `-C`, `-d`, `-o`/`-x` apply. The child
//! inherits no descriptor but 0, 1 and 2 (everything this program opens is close-on-exec),
//! and gets `NCAT_REMOTE_ADDR`, `NCAT_REMOTE_PORT`, `NCAT_LOCAL_ADDR`, `NCAT_LOCAL_PORT` and
//! `NCAT_PROTO`.

use bytes::BytesMut;
use std::process::Stdio;
use tokio::io::AsyncReadExt;
use tokio::process::Command;
use tokio::sync::mpsc;

use crate::io::stdio::{CHUNK, Stdout};
use crate::net::stream::Endpoint;

/// The program to run for each connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecCommand {
    /// The path to execute (never searched in PATH, as with execv).
    pub program: String,
    /// argv[0] as the child sees it.
    pub arg0: String,
    pub args: Vec<String>,
}

impl ExecCommand {
    /// `-e`: the line split Ncat's way (see [`split_words`]); no PATH search.
    pub fn direct(line: &str) -> ExecCommand {
        let mut words = split_words(line).into_iter();
        let program = words.next().unwrap_or_default();
        ExecCommand {
            arg0: program.clone(),
            program,
            args: words.collect(),
        }
    }

    /// `--lua-exec`: this binary again, running the script (see [`crate::io::lua`]).
    pub fn lua(script: &str) -> std::io::Result<ExecCommand> {
        let program = std::env::current_exe()?.to_string_lossy().into_owned();
        Ok(ExecCommand {
            program,
            arg0: "ncat".into(),
            args: vec![crate::io::lua::RUN_SCRIPT.into(), script.into()],
        })
    }

    /// `-c`: the string run by `/bin/sh -c`.
    pub fn shell(line: &str) -> ExecCommand {
        ExecCommand {
            program: "/bin/sh".into(),
            arg0: "sh".into(),
            args: vec!["-c".into(), line.into()],
        }
    }
}

/// Splits an `-e` line like Ncat: words separated by white space, no quotes, a backslash makes
/// the next character literal. Like Ncat, white space right after an escaped character other
/// than a backslash does not end the word (`x\n y` is one word, `xny`).
pub fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut escape_next = false;
    let mut swallow_space = false;
    for c in line.chars() {
        if escape_next {
            word.push(c);
            escape_next = false;
            swallow_space = c != '\\';
        } else if c == '\\' {
            escape_next = true;
        } else if c.is_whitespace() {
            if !swallow_space && !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
        } else {
            word.push(c);
            swallow_space = false;
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// The child's two pipes, seen as the pump's local side.
pub struct ChildIo {
    /// What the child writes on its stdout, chunk by chunk, until it closes it.
    pub output: crate::io::stdio::Input,
    /// The child's stdin; closing it gives the child EOF.
    pub input: Stdout,
}

/// Starts the child for a connection between `local` and `remote`. A child that cannot be
/// started reports `exec: <reason>` on stderr and behaves as one that exited at once.
pub fn spawn(cmd: &ExecCommand, local: &Endpoint, remote: &Endpoint, proto: &str) -> ChildIo {
    // execv semantics: a name without a slash is a file in the current directory.
    let program = if cmd.program.contains('/') {
        cmd.program.clone()
    } else {
        format!("./{}", cmd.program)
    };
    let mut command = Command::new(program);
    command
        .arg0(&cmd.arg0)
        .args(&cmd.args)
        .env("NCAT_REMOTE_ADDR", remote.host())
        .env("NCAT_REMOTE_PORT", remote.port())
        .env("NCAT_LOCAL_ADDR", local.host())
        .env("NCAT_LOCAL_PORT", local.port())
        .env("NCAT_PROTO", proto)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // SAFETY: the hooks only make system calls, which is allowed between fork and exec.
    unsafe {
        command.pre_exec(close_inherited_descriptors);
        let parent = std::process::id() as libc::pid_t;
        command.pre_exec(move || end_with_parent(parent));
    }
    let (tx, output) = mpsc::channel(4);
    match command.spawn() {
        Ok(mut child) => {
            let stdin = child.stdin.take();
            let mut stdout = child.stdout.take();
            tokio::spawn(async move {
                if let Some(out) = stdout.as_mut() {
                    let mut buf = BytesMut::new();
                    loop {
                        buf.reserve(CHUNK);
                        match out.read_buf(&mut buf).await {
                            Ok(n) if n > 0 => {
                                if tx.send(Ok(buf.split().freeze())).await.is_err() {
                                    break;
                                }
                            }
                            _ => break,
                        }
                    }
                }
                drop(tx);
                // Reap the child once it is done (it owns no pipe of ours any more).
                let _ = child.wait().await;
            });
            let input = match stdin {
                Some(pipe) => Stdout::from_writer(pipe),
                None => Stdout::from_writer(tokio::io::sink()),
            };
            ChildIo { output, input }
        }
        Err(e) => {
            crate::say!("exec: {}", crate::error::strerror(&e));
            drop(tx);
            ChildIo {
                output,
                input: Stdout::from_writer(tokio::io::sink()),
            }
        }
    }
}

/// Runs in the child before exec: marks every descriptor above 2 close-on-exec, including any
/// this program inherited from its own parent, so the command starts with 0, 1 and 2 only.
/// (Marking rather than closing keeps the pipe that reports a failed exec working.)
/// The child gets SIGTERM when this program ends, however it ends (a signal to a `-l -k -e`
/// server ends its children too, as in Ncat 7.991); it then exits and is reaped by init.
/// A parent that ended between the fork and the `prctl` sends no signal, so the child checks
/// that `parent` is still its parent and exits otherwise (with `_exit`: a signal raised here
/// would meet this program's handlers, which the exec has not reset yet). Elsewhere than Linux the
/// children outlive the server until their connection's EOF.
fn end_with_parent(parent: libc::pid_t) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl, getppid and _exit with integer arguments only.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
        if libc::getppid() != parent {
            libc::_exit(128 + libc::SIGTERM);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = parent;
    Ok(())
}

fn close_inherited_descriptors() -> std::io::Result<()> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: plain system calls on descriptor numbers.
    unsafe {
        if libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC) != 0 {
            let max = libc::sysconf(libc::_SC_OPEN_MAX).clamp(256, 65536) as i32;
            for fd in 3..max {
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_ncat() {
        assert_eq!(split_words("/bin/echo a  b"), ["/bin/echo", "a", "b"]);
        assert_eq!(
            split_words(r"/usr/bin/printf %s|%s|%s\n a\ b c\\d"),
            ["/usr/bin/printf", "%s|%s|%sna b", r"c\d"]
        );
        assert_eq!(split_words("  "), Vec::<String>::new());
    }

    #[test]
    fn shell_command() {
        let cmd = ExecCommand::shell("echo $NCAT_PROTO");
        assert_eq!(cmd.program, "/bin/sh");
        assert_eq!(cmd.arg0, "sh");
        assert_eq!(cmd.args, ["-c", "echo $NCAT_PROTO"]);
    }
}

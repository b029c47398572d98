//! `-e` and `-c`: a child process as the local side of a connection.
//!
//! The child's stdin and stdout are pipes to the relay (its stderr is ours), so every byte
//! passes through the pump like terminal data does: `-C`, `-d`, `-o`/`-x` apply. The child
//! inherits no descriptor but 0, 1 and 2 (everything this program opens is close-on-exec, and
//! [`crate::sys::close_inherited_on_exec`] marks what it inherited), and gets
//! `NCAT_REMOTE_ADDR`, `NCAT_REMOTE_PORT`, `NCAT_LOCAL_ADDR`, `NCAT_LOCAL_PORT` and
//! `NCAT_PROTO`.
//!
//! With `--pty` the child's fds 0-2 are a new pseudo-terminal instead (see
//! [`crate::io::pty`]).
//!
//! Children are started without running any code of ours between fork and exec (except on a
//! pseudo-terminal, which takes a `setsid`), which lets the standard library use `posix_spawn` (a `vfork`-style clone, which copies no page tables
//! only to throw them away at the exec). The spawn runs on a blocking thread, since `vfork`
//! suspends the spawning thread until the child has exec'd. Children end with this program:
//! a termination signal is passed on to them before it takes effect here (as in Ncat 7.991),
//! and whatever children remain get SIGTERM when it exits. Only a SIGKILL of this program
//! leaves them running, until their stdin's EOF.

use bytes::BytesMut;
use std::process::Stdio;
use tokio::io::AsyncReadExt;
use tokio::process::Command;
use tokio::sync::mpsc;

use crate::io::children::Running;
use crate::io::pty;
use crate::io::stdio::{CHUNK, LocalOutput};
use crate::net::stream::Endpoint;

/// The program to run for each connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecCommand {
    /// The path to execute (never searched in PATH, as with execv).
    pub program: String,
    /// argv[0] as the child sees it.
    pub arg0: String,
    pub args: Vec<String>,
    /// `--pty`: run on a new pseudo-terminal.
    pub pty: bool,
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
            pty: false,
        }
    }

    /// `--lua-exec`: this binary again, running the script (see [`crate::io::lua`]).
    pub fn lua(script: &str) -> std::io::Result<ExecCommand> {
        let program = std::env::current_exe()?.to_string_lossy().into_owned();
        Ok(ExecCommand {
            program,
            arg0: "ncat".into(),
            args: vec![crate::io::lua::RUN_SCRIPT.into(), script.into()],
            pty: false,
        })
    }

    /// `-c`: the string run by `/bin/sh -c`.
    pub fn shell(line: &str) -> ExecCommand {
        ExecCommand {
            program: "/bin/sh".into(),
            arg0: "sh".into(),
            args: vec!["-c".into(), line.into()],
            pty: false,
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
    pub output: crate::io::stdio::LocalInput,
    /// The child's stdin; closing it gives the child EOF.
    pub input: LocalOutput,
}

/// Starts the child for a connection between `local` and `remote`. A child that cannot be
/// started reports `exec: <reason>` on stderr and behaves as one that exited at once.
pub async fn spawn(cmd: &ExecCommand, local: &Endpoint, remote: &Endpoint, proto: &str) -> ChildIo {
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
        .env("NCAT_PROTO", proto);
    let started = match cmd.pty {
        true => on_terminal(command).await,
        false => on_pipes(command).await,
    };
    started.unwrap_or_else(|e| {
        crate::say!("exec: {}", crate::error::strerror(&e));
        let (_, output) = mpsc::channel(1);
        ChildIo {
            output,
            input: LocalOutput::from_writer(tokio::io::sink()),
        }
    })
}

/// Spawns on a blocking thread: `vfork` suspends the spawning thread until the exec.
async fn start(mut command: Command) -> std::io::Result<(tokio::process::Child, Running)> {
    tokio::task::spawn_blocking(move || Running::spawn(&mut command))
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)))
}

/// The child with pipes for its stdin and stdout, and this program's stderr.
async fn on_pipes(mut command: Command) -> std::io::Result<ChildIo> {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let (mut child, running) = start(command).await?;
    let stdin = child.stdin.take();
    let mut stdout = child.stdout.take();
    let (tx, output) = mpsc::channel(4);
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
        drop(running);
    });
    let input = match stdin {
        Some(pipe) => LocalOutput::from_writer(pipe),
        None => LocalOutput::from_writer(tokio::io::sink()),
    };
    Ok(ChildIo { output, input })
}

/// The child on a new pseudo-terminal (`--pty`), which is its fds 0-2.
async fn on_terminal(mut command: Command) -> std::io::Result<ChildIo> {
    let terminal = pty::Terminal::open()?;
    command
        .stdin(terminal.slave.try_clone()?)
        .stdout(terminal.slave.try_clone()?)
        .stderr(terminal.slave);
    // SAFETY: the hook makes only async-signal-safe system calls (setsid, ioctl).
    unsafe {
        command.pre_exec(pty::become_controlling_terminal);
    }
    let (mut child, running) = start(command).await?;
    let master = pty::Master::new(terminal.master)?;
    let input = LocalOutput::from_writer(master.writer());
    let (tx, output) = mpsc::channel(4);
    tokio::spawn(async move {
        loop {
            // The session ends with the child, as a login session does, even if a background
            // job still holds the terminal; a relay that has ended takes no more output.
            let chunk = tokio::select! {
                chunk = master.read() => chunk,
                _ = child.wait() => break,
                () = tx.closed() => None,
            };
            let Some(chunk) = chunk else { break };
            if tx.send(Ok(chunk)).await.is_err() {
                break;
            }
        }
        // What the child wrote before it exited is still in the terminal.
        while let Some(chunk) = master.try_read() {
            if tx.send(Ok(chunk)).await.is_err() {
                break;
            }
        }
        // Closing the master hangs the terminal up: what still runs on it gets SIGHUP.
        drop((tx, master));
        let _ = child.wait().await;
        drop(running);
    });
    Ok(ChildIo { output, input })
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

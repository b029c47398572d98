//! `-e` / `-c`: each connection relayed to its own child process.
//!
//! How a relay ends (improving on Ncat 7.93, which dropped what the child had not yet written):
//! the peer's EOF closes the child's stdin and the relay goes on until the child closes its
//! stdout; the child closing its stdout half-closes the socket and ends the relay, so every byte
//! the child wrote reaches the peer first.

use crate::config::Config;
use crate::io::exec::{self, ExecCommand};
use crate::io::pump::{self, End, Rules, UNTIL_LOCAL_EOF};
use crate::net::stream::Stream;

/// Relays one connection to a new child running `cmd`.
pub async fn relay(stream: Stream, cmd: &ExecCommand, cfg: &Config) -> End {
    relay_with(stream, cmd, cfg, None).await
}

/// Like [`relay`], with a first chunk of peer data that arrived before the stream existed
/// (the first datagram of a UDP peer): the child reads it first.
pub async fn relay_with(
    stream: Stream,
    cmd: &ExecCommand,
    cfg: &Config,
    first: Option<bytes::Bytes>,
) -> End {
    let child = exec::spawn(cmd, &stream.local(), &stream.peer(), stream.proto()).await;
    if let Some(first) = first {
        cfg.log.record(&first);
        if child.input.write(first).await.is_err() {
            return End::OutputGone;
        }
    }
    let rules = Rules {
        read_stdin: true,
        send_stdin: true,
        read_remote: true,
        print_remote: true,
        shutdown_on_eof: true,
        end_on_stdin_eof: true,
        quit_after: None,
        linger: Some(UNTIL_LOCAL_EOF),
        transforms: cfg.transforms(),
        read_size: crate::io::stdio::CHUNK,
        progress: false,
    };
    let (reader, writer) = stream.into_split();
    pump::run(
        reader,
        writer,
        Some(child.output),
        child.input,
        rules,
        &cfg.log,
    )
    .await
    .end
}

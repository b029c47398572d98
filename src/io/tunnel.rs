//! A proxy server's tunnel: bytes both ways until both sides have ended, each side's EOF passed
//! on as a half-close of the other (the rule of tokio's `copy_bidirectional`), and the first
//! error ending both.

use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::io::stdio::CHUNK;
use crate::net::stream::{ReadHalf, WriteHalf};

/// Relays between a proxy client and the target it reached; `early` is what the client sent
/// right after its request, delivered first.
pub async fn relay(
    reader: &mut ReadHalf,
    writer: &mut WriteHalf,
    early: Bytes,
    mut target: TcpStream,
) {
    if target.write_all(&early).await.is_err() {
        return;
    }
    let mut client = tokio::io::join(reader, writer);
    let _ = tokio::io::copy_bidirectional_with_sizes(&mut client, &mut target, CHUNK, CHUNK).await;
}

//! What both proxy servers do once a client has said where to go: reach that origin, then
//! relay between the two.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::net::resolve::Family;
use crate::net::stream::{ReadHalf, WriteHalf};

/// Why the origin could not be reached.
#[derive(Debug)]
pub enum Unreachable {
    /// The name did not resolve, or has no address of the family allowed (`-4`/`-6`).
    NoAddress,
    /// No connection within the time allowed.
    TimedOut,
    /// The last address tried failed so.
    Failed(io::Error),
}

/// Connects to `host:port` (a name or a numeric address): each address of `family` in turn,
/// within `limit` for all of them when there is one.
pub async fn reach(
    host: &str,
    port: u16,
    family: Family,
    limit: Option<Duration>,
) -> Result<TcpStream, Unreachable> {
    let attempt = async {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| Unreachable::NoAddress)?
            .filter(|a| family.admits(a.ip()))
            .collect();
        let mut last = Unreachable::NoAddress;
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last = Unreachable::Failed(e),
            }
        }
        Err(last)
    };
    match limit {
        Some(limit) => tokio::time::timeout(limit, attempt)
            .await
            .unwrap_or(Err(Unreachable::TimedOut)),
        None => attempt.await,
    }
}

/// Relays a tunnel both ways, passing on each side's EOF, until both are done or either
/// fails. `early` is what the client sent right after its request.
pub async fn tunnel(
    reader: &mut ReadHalf,
    writer: &mut WriteHalf,
    early: Bytes,
    origin: TcpStream,
) {
    let (mut origin_reader, mut origin_writer) = origin.into_split();
    let up = async {
        origin_writer.write_all(&early).await?;
        tokio::io::copy(reader, &mut origin_writer).await?;
        origin_writer.shutdown().await
    };
    let down = copy_then_close(&mut origin_reader, writer);
    let _ = tokio::try_join!(up, down);
}

/// Copies until EOF, then shuts the writer down.
pub async fn copy_then_close<R, W>(reader: &mut R, writer: &mut W) -> io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    tokio::io::copy(reader, writer).await?;
    writer.shutdown().await
}

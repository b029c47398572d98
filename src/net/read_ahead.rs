//! Reading a socket ahead of a reader that asks for little at a time.
//!
//! rustls reads TLS records from its transport at most 4 KiB per call, so a bulk TLS transfer
//! made five `read` system calls per 16 KiB record. [`ReadAhead`] takes up to
//! [`READ_AHEAD`] bytes per call and serves the small reads from memory. Its buffer exists only
//! while it holds bytes, so an idle connection costs nothing.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes asked of the transport in one read.
pub const READ_AHEAD: usize = 64 * 1024;

/// A transport whose reads are made [`READ_AHEAD`] bytes at a time; writes pass straight through.
#[derive(Debug)]
pub struct ReadAhead<T> {
    inner: T,
    /// Bytes read and not yet handed on are `buf[taken..]`.
    buf: Vec<u8>,
    taken: usize,
}

impl<T> ReadAhead<T> {
    pub fn new(inner: T) -> ReadAhead<T> {
        ReadAhead {
            inner,
            buf: Vec::new(),
            taken: 0,
        }
    }

    pub fn get_ref(&self) -> &T {
        &self.inner
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ReadAhead<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.taken == this.buf.len() {
            if out.remaining() >= READ_AHEAD {
                return Pin::new(&mut this.inner).poll_read(cx, out);
            }
            let mut buf = Vec::with_capacity(READ_AHEAD);
            let mut ahead = ReadBuf::uninit(buf.spare_capacity_mut());
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut ahead))?;
            let filled = ahead.filled().len();
            // SAFETY: the transport initialised (filled) the first `filled` bytes.
            unsafe { buf.set_len(filled) };
            this.buf = buf;
            this.taken = 0;
        }
        let n = out.remaining().min(this.buf.len() - this.taken);
        out.put_slice(&this.buf[this.taken..this.taken + n]);
        this.taken += n;
        if this.taken == this.buf.len() {
            this.buf = Vec::new();
            this.taken = 0;
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ReadAhead<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, data)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn small_reads_see_every_byte_in_order_and_the_end() {
        let (mut tx, rx) = tokio::io::duplex(1 << 20);
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let sent = data.clone();
        let writer = tokio::spawn(async move {
            tx.write_all(&sent).await.unwrap();
        });
        let mut reader = ReadAhead::new(rx);
        let (mut got, mut small) = (Vec::new(), [0u8; 4096]);
        loop {
            let n = reader.read(&mut small).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&small[..n]);
        }
        writer.await.unwrap();
        assert_eq!(got, data);
        assert!(reader.buf.is_empty(), "nothing held once drained");
    }

    #[tokio::test]
    async fn a_large_read_goes_straight_to_the_transport() {
        let (mut tx, rx) = tokio::io::duplex(1 << 20);
        tx.write_all(&[7u8; 1000]).await.unwrap();
        let mut reader = ReadAhead::new(rx);
        let mut big = vec![0u8; READ_AHEAD];
        assert_eq!(reader.read(&mut big).await.unwrap(), 1000);
        assert!(reader.buf.is_empty());
    }
}

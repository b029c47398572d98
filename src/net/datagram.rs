//! A connected datagram socket (UDP, or a Unix datagram socket) as the two halves of a byte
//! stream, so the pump relays it as it relays a TCP connection.
//!
//! The datagram rules become stream rules: each write goes out as datagrams of at most
//! [`MAX_DATAGRAM`] bytes; each datagram received is read whole; an empty datagram is the end
//! of the stream (a listener ignores it instead); an error the socket reports (an ICMP
//! refusal) is a read or write error.

use bytes::{Buf, BufMut, BytesMut};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf, Ready};
use tokio::net::{UdpSocket, UnixDatagram};

use crate::net::stream::MAX_DATAGRAM;

/// A connected datagram socket: UDP, or a Unix datagram socket (`-U -u`).
pub trait Datagrams: std::os::fd::AsFd + Send + Sync + Sized + 'static {
    fn poll_send(&self, cx: &mut Context<'_>, datagram: &[u8]) -> Poll<io::Result<usize>>;
    /// Waits until a datagram is waiting, or fails with the socket's pending error. (An ICMP
    /// refusal raises only the error flag, which neither wakes a wait for readability nor
    /// reaches a non-blocking receive.)
    fn recv_or_error_ready(&self) -> impl Future<Output = io::Result<()>> + Send {
        async move {
            loop {
                let ready = self.readable_or_error().await?;
                if !ready.is_error() {
                    return Ok(());
                }
                if let Some(e) = self.pending_error() {
                    return Err(e);
                }
                // The error was taken already (a send reported it): forget the wake-up.
                self.clear_error_readiness();
                if ready.is_readable() {
                    return Ok(());
                }
            }
        }
    }
    fn readable_or_error(&self) -> impl Future<Output = io::Result<Ready>> + Send;
    fn clear_error_readiness(&self);
    /// Receives one datagram into `buf`'s spare capacity without waiting (`WouldBlock` when
    /// nothing is queued).
    fn try_recv_buf<B: BufMut>(&self, buf: &mut B) -> io::Result<usize>;

    /// An error the kernel holds for the socket (an ICMP refusal of a datagram already sent),
    /// asked of the kernel directly, whether or not the runtime has seen the socket wake.
    fn pending_error(&self) -> Option<io::Error> {
        socket2::SockRef::from(self).take_error().ok().flatten()
    }
}

/// The two socket types have the same inherent methods under the same names.
macro_rules! datagram_socket {
    ($socket:ty) => {
        impl Datagrams for $socket {
            fn poll_send(&self, cx: &mut Context<'_>, datagram: &[u8]) -> Poll<io::Result<usize>> {
                <$socket>::poll_send(self, cx, datagram)
            }
            fn try_recv_buf<B: BufMut>(&self, buf: &mut B) -> io::Result<usize> {
                <$socket>::try_recv_buf(self, buf)
            }
            async fn readable_or_error(&self) -> io::Result<Ready> {
                self.ready(Interest::READABLE | Interest::ERROR).await
            }
            fn clear_error_readiness(&self) {
                let _ = self.try_io(Interest::ERROR, || {
                    Err::<(), _>(io::ErrorKind::WouldBlock.into())
                });
            }
        }
    };
}

datagram_socket!(UdpSocket);
datagram_socket!(UnixDatagram);

/// Room needed for each receive: more than the largest datagram, so none is cut.
const DATAGRAM_ROOM: usize = 1 << 16;
/// Datagrams already queued behind one just received are taken with it, up to this many
/// bytes: one hand-off to stdout for many datagrams costs less than one each.
const GATHER_BYTES: usize = 256 << 10;
/// The read size that lets one read of [`Incoming`] hold a whole gathering.
pub const GATHERING_READ: usize = GATHER_BYTES + DATAGRAM_ROOM;

/// The reading half: the peer's datagrams, in order, as one stream of bytes.
pub struct Incoming<S> {
    socket: Arc<S>,
    /// Received and not yet read.
    batch: BytesMut,
    /// What comes once `batch` is read: the end (an empty datagram) or an error.
    after: Option<io::Result<()>>,
    /// Whether an empty datagram ends the stream (a listener ignores them).
    empty_ends: bool,
    /// The OS error the last failed receive reported, shared with [`Incoming::seen_error`].
    seen_error: Arc<Mutex<Option<i32>>>,
    /// The wait for the next datagram, while one is pending.
    waiting: Option<Pin<Box<dyn Future<Output = io::Result<()>> + Send>>>,
    /// Whether queued datagrams are taken together. Off, each read is one datagram (so that
    /// `-d` pauses and the `-o`/`-x` logs go datagram by datagram, as in Ncat).
    gather: bool,
}

impl<S: Datagrams> Incoming<S> {
    /// `first` is a datagram already received (a listener's first), read before the rest.
    pub fn new(socket: Arc<S>, first: &[u8], empty_ends: bool, gather: bool) -> Incoming<S> {
        Incoming {
            socket,
            batch: BytesMut::from(first),
            after: None,
            seen_error: Arc::default(),
            waiting: None,
            empty_ends,
            gather,
        }
    }

    /// Where the OS error of a failed receive is kept: a session that ends for another reason
    /// at the same moment (stdin's end) can still report a refusal this half took.
    pub fn seen_error(&self) -> Arc<Mutex<Option<i32>>> {
        self.seen_error.clone()
    }

    /// Takes the datagrams already queued into `buf` without waiting, while it has room for a
    /// whole one, up to [`GATHER_BYTES`]; an empty datagram or an error is kept for after them.
    fn gather_queued(&mut self, buf: &mut ReadBuf<'_>) {
        while buf.filled().len() < GATHER_BYTES && buf.remaining() >= DATAGRAM_ROOM {
            match self.socket.try_recv_buf(buf) {
                Ok(0) if !self.empty_ends => {}
                Ok(0) => return self.after = Some(Ok(())),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => return self.after = Some(Err(e)),
            }
        }
    }

    /// Hands over what `batch` holds, as much as `buf` takes.
    fn hand_over_batch(&mut self, buf: &mut ReadBuf<'_>) {
        let n = self.batch.len().min(buf.remaining());
        buf.put_slice(&self.batch[..n]);
        self.batch.advance(n);
    }

    /// Reads the next datagram (and, gathering, those queued behind it) into `buf`, waiting
    /// when none is queued. A datagram goes straight into `buf` when it has room for any
    /// datagram, else through `batch`, so none is ever cut.
    fn poll_datagrams(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.batch.is_empty() {
            self.hand_over_batch(buf);
            return Poll::Ready(Ok(()));
        }
        if let Some(after) = self.after.take() {
            return Poll::Ready(after);
        }
        loop {
            let direct = buf.remaining() >= DATAGRAM_ROOM;
            let received = if direct {
                self.socket.try_recv_buf(buf)
            } else {
                self.batch.reserve(DATAGRAM_ROOM);
                self.socket.try_recv_buf(&mut self.batch)
            };
            match received {
                Ok(0) if self.empty_ends => return Poll::Ready(Ok(())),
                Ok(0) => {}
                Ok(_) if !direct => {
                    self.hand_over_batch(buf);
                    return Poll::Ready(Ok(()));
                }
                Ok(_) => {
                    if self.gather {
                        self.gather_queued(buf);
                    }
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let socket = self.socket.clone();
                    let waiting = self.waiting.get_or_insert_with(|| {
                        Box::pin(async move { socket.recv_or_error_ready().await })
                    });
                    let ready = ready!(waiting.as_mut().poll(cx));
                    self.waiting = None;
                    ready?;
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl<S: Datagrams> AsyncRead for Incoming<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = ready!(this.poll_datagrams(cx, buf));
        if let Err(e) = &result {
            *this.seen_error.lock().unwrap_or_else(|p| p.into_inner()) = e.raw_os_error();
        }
        Poll::Ready(result)
    }
}

/// The writing half: each write is one datagram of at most [`MAX_DATAGRAM`] bytes (so
/// `write_all` cuts a larger chunk into several). Datagrams have no half-close.
pub struct Outgoing<S>(pub Arc<S>);

impl<S: Datagrams> AsyncWrite for Outgoing<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.0.poll_send(cx, &buf[..buf.len().min(MAX_DATAGRAM)])
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

//! One stream type for every connection the program handles (TCP, Unix domain, UDP, TLS, DTLS),
//! so the pump, the hub and exec relays are written once.

use crate::net::dtls::{self, DtlsStream};
pub use crate::net::endpoint::Endpoint;
pub use crate::net::tls::TlsStream;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::AsyncReadExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UdpSocket, UnixDatagram, UnixStream, tcp, unix};

/// The largest UDP payload over IPv4: longer writes are cut to this size.
pub const MAX_DATAGRAM: usize = 65_507;

/// A connected stream.
#[derive(Debug)]
pub enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
    /// A connected UDP socket: each read is one datagram (an empty one reads as EOF), each
    /// write one datagram.
    Udp(UdpSocket),
    /// A connected Unix datagram socket, like `Udp`.
    UnixDgram(UnixDatagram),
    /// TLS over TCP, after the handshake.
    Tls(Box<TlsStream>),
    /// DTLS over a connected UDP socket, after the handshake: a record per write, a record per
    /// read (a close_notify reads as EOF).
    Dtls(Box<DtlsStream>),
}

impl Stream {
    pub fn local(&self) -> Endpoint {
        match self {
            Stream::Tcp(s) => Stream::ip_endpoint(s.local_addr()),
            Stream::Unix(s) => Endpoint::Unix(unix_path(s.local_addr().ok())),
            Stream::Udp(s) => Stream::ip_endpoint(s.local_addr()),
            Stream::UnixDgram(s) => Endpoint::Unix(unix_path(s.local_addr().ok())),
            Stream::Tls(s) => Stream::ip_endpoint(s.get_ref().0.get_ref().local_addr()),
            Stream::Dtls(s) => Stream::ip_endpoint(s.get_ref().socket().local_addr()),
        }
    }

    /// An IP endpoint; an unnamed one when the address cannot be had (the socket is gone).
    fn ip_endpoint(addr: io::Result<SocketAddr>) -> Endpoint {
        addr.map_or(Endpoint::Unix(PathBuf::new()), Endpoint::Ip)
    }

    /// Whether bytes pass through user space anyway (no kernel copy possible).
    pub fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_) | Stream::Dtls(_))
    }

    /// `NCAT_PROTO` for exec children (Unix stream sockets count as TCP, as in Ncat).
    pub fn proto(&self) -> &'static str {
        match self {
            Stream::Tcp(_) | Stream::Unix(_) | Stream::Tls(_) => "TCP",
            Stream::Udp(_) | Stream::UnixDgram(_) | Stream::Dtls(_) => "UDP",
        }
    }

    pub fn peer(&self) -> Endpoint {
        match self {
            Stream::Tcp(s) => Stream::ip_endpoint(s.peer_addr()),
            Stream::Unix(s) => Endpoint::Unix(unix_path(s.peer_addr().ok())),
            Stream::Udp(s) => Stream::ip_endpoint(s.peer_addr()),
            Stream::UnixDgram(s) => Endpoint::Unix(unix_path(s.peer_addr().ok())),
            Stream::Tls(s) => Stream::ip_endpoint(s.get_ref().0.get_ref().peer_addr()),
            Stream::Dtls(s) => Stream::ip_endpoint(s.get_ref().socket().peer_addr()),
        }
    }

    /// Sends small writes at once (chat latency).
    pub fn set_nodelay(&self) {
        let tcp = match self {
            Stream::Tcp(s) => s,
            Stream::Tls(s) => s.get_ref().0.get_ref(),
            _ => return,
        };
        let _ = tcp.set_nodelay(true);
    }

    pub fn into_split(self) -> (ReadHalf, WriteHalf) {
        match self {
            Stream::Tcp(s) => {
                let (r, w) = s.into_split();
                (ReadHalf::Tcp(r), WriteHalf::Tcp(w))
            }
            Stream::Unix(s) => {
                let (r, w) = s.into_split();
                (ReadHalf::Unix(r), WriteHalf::Unix(w))
            }
            Stream::Udp(s) => {
                let s = Arc::new(s);
                (ReadHalf::Udp(s.clone()), WriteHalf::Udp(s))
            }
            Stream::UnixDgram(s) => {
                let s = Arc::new(s);
                (ReadHalf::UnixDgram(s.clone()), WriteHalf::UnixDgram(s))
            }
            Stream::Tls(s) => {
                let fd = s.get_ref().0.get_ref().as_raw_fd();
                let (r, w) = tokio::io::split(*s);
                (ReadHalf::Tls(r), WriteHalf::Tls(w, fd))
            }
            Stream::Dtls(s) => {
                let max_record = s.get_ref().max_record();
                let (r, w) = tokio::io::split(*s);
                (ReadHalf::Dtls(r), WriteHalf::Dtls(w, max_record))
            }
        }
    }

    /// The descriptor, in blocking-thread hands (the kernel copy path).
    pub fn into_fd(self) -> io::Result<OwnedFd> {
        Ok(match self {
            Stream::Tcp(s) => OwnedFd::from(s.into_std()?),
            Stream::Unix(s) => OwnedFd::from(s.into_std()?),
            Stream::Udp(s) => OwnedFd::from(s.into_std()?),
            Stream::UnixDgram(s) => OwnedFd::from(s.into_std()?),
            Stream::Tls(_) | Stream::Dtls(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "a TLS session cannot be handed over as a descriptor",
                ));
            }
        })
    }
}

fn unix_path(addr: Option<tokio::net::unix::SocketAddr>) -> PathBuf {
    addr.and_then(|a| a.as_pathname().map(PathBuf::from))
        .unwrap_or_default()
}

/// The reading half of a [`Stream`].
#[derive(Debug)]
pub enum ReadHalf {
    Tcp(tcp::OwnedReadHalf),
    Unix(unix::OwnedReadHalf),
    Udp(Arc<UdpSocket>),
    UnixDgram(Arc<UnixDatagram>),
    Tls(tokio::io::ReadHalf<TlsStream>),
    Dtls(tokio::io::ReadHalf<DtlsStream>),
}

/// The writing half of a [`Stream`]; dropping it shuts the write side down.
#[derive(Debug)]
pub enum WriteHalf {
    Tcp(tcp::OwnedWriteHalf),
    Unix(unix::OwnedWriteHalf),
    Udp(Arc<UdpSocket>),
    UnixDgram(Arc<UnixDatagram>),
    /// The session's writing half, and its socket's descriptor for [`WriteHalf::unread_probe`].
    Tls(tokio::io::WriteHalf<TlsStream>, RawFd),
    /// The session's writing half and the most plaintext one record (one write) carries.
    Dtls(tokio::io::WriteHalf<DtlsStream>, usize),
}

impl ReadHalf {
    /// Waits for data and appends up to `chunk` bytes of it to `buf` (0 at EOF). Plain sockets
    /// wait for readiness first, so an idle connection holds no buffer memory.
    pub async fn read_chunk(
        &mut self,
        buf: &mut bytes::BytesMut,
        chunk: usize,
    ) -> io::Result<usize> {
        loop {
            let result = match self {
                ReadHalf::Tls(r) => {
                    buf.reserve(chunk);
                    return match r.read_buf(buf).await {
                        Err(e) if is_unclean_close(&e) => Ok(0),
                        other => other,
                    };
                }
                ReadHalf::Dtls(r) => {
                    buf.reserve(chunk.max(dtls::MAX_RECORD));
                    return r.read_buf(buf).await;
                }
                ReadHalf::Tcp(r) => {
                    r.readable().await?;
                    buf.reserve(chunk);
                    r.try_read_buf(buf)
                }
                ReadHalf::Unix(r) => {
                    r.readable().await?;
                    buf.reserve(chunk);
                    r.try_read_buf(buf)
                }
                ReadHalf::Udp(r) => {
                    r.readable().await?;
                    buf.reserve(chunk);
                    r.try_recv_buf(buf)
                }
                ReadHalf::UnixDgram(r) => {
                    r.readable().await?;
                    buf.reserve(chunk);
                    r.try_recv_buf(buf)
                }
            };
            match result {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if buf.is_empty() {
                        *buf = bytes::BytesMut::new();
                    }
                }
                other => return other,
            }
        }
    }
}

/// A TLS peer that closes the TCP connection without a close_notify alert: an ordinary EOF,
/// as for a plain socket (most TLS peers, Ncat included, never send the alert).
fn is_unclean_close(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::UnexpectedEof
}

impl WriteHalf {
    pub fn try_write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            WriteHalf::Tcp(w) => w.try_write_vectored(bufs),
            WriteHalf::Unix(w) => w.try_write_vectored(bufs),
            WriteHalf::Udp(w) => w.try_send(bufs.first().map_or(&[][..], |b| &b[..])),
            WriteHalf::UnixDgram(w) => w.try_send(bufs.first().map_or(&[][..], |b| &b[..])),
            WriteHalf::Tls(..) | WriteHalf::Dtls(..) => {
                let mut cx = Context::from_waker(std::task::Waker::noop());
                match Pin::new(self).poll_write_vectored(&mut cx, bufs) {
                    Poll::Ready(result) => result,
                    Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
                }
            }
        }
    }

    /// Whether written bytes may wait in a user-space buffer until a flush (TLS records).
    pub fn buffers(&self) -> bool {
        matches!(self, WriteHalf::Tls(..))
    }

    /// A probe of how many written bytes the peer has not taken yet, usable while this half is
    /// borrowed by a pending write.
    pub fn unread_probe(&self) -> UnreadProbe {
        UnreadProbe(match self {
            WriteHalf::Tcp(w) => Some(w.as_ref().as_raw_fd()),
            WriteHalf::Unix(w) => Some(w.as_ref().as_raw_fd()),
            WriteHalf::Tls(_, fd) => Some(*fd),
            WriteHalf::Udp(_) | WriteHalf::UnixDgram(_) | WriteHalf::Dtls(..) => None,
        })
    }
}

/// See [`WriteHalf::unread_probe`]; valid while the half it came from is alive.
#[derive(Debug, Clone, Copy)]
pub struct UnreadProbe(Option<RawFd>);

impl UnreadProbe {
    /// Bytes written to the socket that the peer has not taken yet, as the kernel counts them
    /// (`SIOCOUTQ`: unsent plus unacknowledged for TCP, unread for Unix stream sockets). While
    /// none of our writes completes, it falls only when the peer takes bytes. `None` where the
    /// kernel cannot tell (datagram sockets, other systems).
    pub fn unread(&self) -> Option<usize> {
        send_queue_bytes(self.0?)
    }
}

#[cfg(target_os = "linux")]
fn send_queue_bytes(fd: RawFd) -> Option<usize> {
    let mut queued: libc::c_int = 0;
    // SAFETY: `fd` is a socket owned by the half it was taken from, which is alive; SIOCOUTQ
    // (TIOCOUTQ on sockets) writes one int.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut queued) };
    (rc == 0).then(|| queued.max(0) as usize)
}

#[cfg(not(target_os = "linux"))]
fn send_queue_bytes(_fd: RawFd) -> Option<usize> {
    None
}

impl AsyncRead for ReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ReadHalf::Tcp(r) => Pin::new(r).poll_read(cx, buf),
            ReadHalf::Unix(r) => Pin::new(r).poll_read(cx, buf),
            ReadHalf::Udp(r) => r.poll_recv(cx, buf),
            ReadHalf::UnixDgram(r) => r.poll_recv(cx, buf),
            ReadHalf::Tls(r) => match Pin::new(r).poll_read(cx, buf) {
                Poll::Ready(Err(e)) if is_unclean_close(&e) => Poll::Ready(Ok(())),
                other => other,
            },
            ReadHalf::Dtls(r) => Pin::new(r).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for WriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WriteHalf::Tcp(w) => Pin::new(w).poll_write(cx, buf),
            WriteHalf::Unix(w) => Pin::new(w).poll_write(cx, buf),
            WriteHalf::Udp(w) => w.poll_send(cx, &buf[..buf.len().min(MAX_DATAGRAM)]),
            WriteHalf::UnixDgram(w) => w.poll_send(cx, &buf[..buf.len().min(MAX_DATAGRAM)]),
            WriteHalf::Tls(w, _) => Pin::new(w).poll_write(cx, buf),
            WriteHalf::Dtls(w, max_record) => {
                Pin::new(w).poll_write(cx, &buf[..buf.len().min(*max_record)])
            }
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WriteHalf::Tcp(w) => Pin::new(w).poll_write_vectored(cx, bufs),
            WriteHalf::Unix(w) => Pin::new(w).poll_write_vectored(cx, bufs),
            WriteHalf::Tls(w, _) => Pin::new(w).poll_write_vectored(cx, bufs),
            // A datagram (or record) per write: send the first non-empty slice.
            datagram => {
                let first = bufs
                    .iter()
                    .find(|b| !b.is_empty())
                    .map_or(&[][..], |b| &b[..]);
                Pin::new(datagram).poll_write(cx, first)
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteHalf::Tcp(w) => Pin::new(w).poll_flush(cx),
            WriteHalf::Unix(w) => Pin::new(w).poll_flush(cx),
            WriteHalf::Tls(w, _) => Pin::new(w).poll_flush(cx),
            WriteHalf::Dtls(w, _) => Pin::new(w).poll_flush(cx),
            WriteHalf::Udp(_) | WriteHalf::UnixDgram(_) => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteHalf::Tcp(w) => Pin::new(w).poll_shutdown(cx),
            WriteHalf::Unix(w) => Pin::new(w).poll_shutdown(cx),
            WriteHalf::Tls(w, _) => Pin::new(w).poll_shutdown(cx),
            // close_notify.
            WriteHalf::Dtls(w, _) => Pin::new(w).poll_shutdown(cx),
            // Datagrams have no half-close.
            WriteHalf::Udp(_) | WriteHalf::UnixDgram(_) => Poll::Ready(Ok(())),
        }
    }
}

//! DTLS 1.2 (`-u --ssl`) with OpenSSL, the library Ncat itself uses, so that cipher strings,
//! record sizes and handshake behaviour are the ones Ncat's peers expect. TLS over TCP stays on
//! rustls; the certificate checks and the `-v` report are shared with it (`net::tls`).
//!
//! A DTLS session runs over a connected UDP socket: every record is one datagram each way.
//! A listener hands each new peer a socket of its own, bound to the listening address and
//! connected to the peer, so the kernel routes that peer's datagrams to its session and the
//! sessions behave as accepted connections do (the hub, `-e`, `-m` and access lists work
//! unchanged).

use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use openssl::pkey::PKey;
use openssl::ssl::{
    Ssl, SslContext, SslContextBuilder, SslMethod, SslOptions, SslVerifyMode, SslVersion,
};
use openssl::x509::X509;
use rustls_pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::error::{Failure, strerror};
use crate::net::endpoint::Endpoint;
use crate::net::tls::{self, TlsOptions};

/// A DTLS session over a connected UDP socket.
pub type DtlsStream = tokio_openssl::SslStream<DatagramIo>;

/// The most plaintext one record carries (TLS's limit); longer writes are cut into records.
pub const MAX_RECORD: usize = 16_384;
/// Room left in a datagram for a record's header, explicit IV, MAC and padding (the largest,
/// for CBC suites with SHA-384, is under 100 bytes).
const RECORD_OVERHEAD: usize = 100;

/// Ncat's default cipher list (its `--ssl-ciphers` default), in OpenSSL's syntax.
const DEFAULT_CIPHERS: &str = "ALL:!aNULL:!eNULL:!LOW:!EXP:!RC4:!MD5:@STRENGTH";

/// While a handshake waits, how often OpenSSL is asked whether a flight must be sent again
/// (its retransmission timer starts at one second and doubles).
const RETRANSMIT_CHECK: Duration = Duration::from_millis(100);

/// The first byte of a DTLS handshake record.
const HANDSHAKE_RECORD: u8 = 0x16;

/// A connected UDP socket as OpenSSL's transport: a read is one datagram, a write one datagram.
/// A listener hands in what the peer sent before its socket was connected (its ClientHello,
/// which may come in several datagrams) as `early`.
pub struct DatagramIo {
    socket: Arc<UdpSocket>,
    early: Option<mpsc::UnboundedReceiver<Bytes>>,
    /// Resolves when the kernel holds an error for the socket (an ICMP refusal of a record
    /// sent to a peer that has gone): the runtime wakes no reader for an error alone.
    refused: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    /// The most plaintext a record may carry so that it fits one datagram on this path.
    max_record: usize,
    /// A server session past its handshake: a new ClientHello from the peer now means the peer
    /// started over (a restarted client on the same port), which ends this session.
    established: bool,
}

impl std::fmt::Debug for DatagramIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatagramIo")
            .field("socket", &self.socket)
            .finish_non_exhaustive()
    }
}

impl DatagramIo {
    fn new(socket: UdpSocket, early: Option<mpsc::UnboundedReceiver<Bytes>>) -> DatagramIo {
        let socket = Arc::new(socket);
        let watched = socket.clone();
        let refused = Box::pin(async move {
            let _ = watched.ready(Interest::ERROR).await;
        });
        DatagramIo {
            socket,
            early,
            refused: Some(refused),
            max_record: MAX_RECORD,
            established: false,
        }
    }

    pub fn socket(&self) -> &UdpSocket {
        &self.socket
    }

    /// The most plaintext to write at once: a record that fits one datagram (so none is cut
    /// into IP fragments), at most [`MAX_RECORD`].
    pub fn max_record(&self) -> usize {
        self.max_record
    }
}

impl AsyncRead for DatagramIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(refused) = this.refused.as_mut()
            && refused.as_mut().poll(cx).is_ready()
        {
            this.refused = None;
            if let Ok(Some(e)) = socket2::SockRef::from(&*this.socket).take_error() {
                return Poll::Ready(Err(e));
            }
        }
        if let Some(early) = this.early.as_mut() {
            match early.poll_recv(cx) {
                Poll::Ready(Some(datagram)) => {
                    let n = datagram.len().min(buf.remaining());
                    buf.put_slice(&datagram[..n]);
                    return Poll::Ready(Ok(()));
                }
                Poll::Ready(None) => this.early = None,
                Poll::Pending => {}
            }
        }
        let before = buf.filled().len();
        let received = this.socket.poll_recv(cx, buf);
        if this.established
            && matches!(received, Poll::Ready(Ok(())))
            && is_new_client_hello(&buf.filled()[before..])
        {
            // The peer's next ClientHello reaches the listener once this socket is closed.
            buf.set_filled(before);
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "the peer began a new DTLS session",
            )));
        }
        received
    }
}

/// A record of epoch 0 carrying a ClientHello: the start of a handshake, not a part of a
/// session (whose records after the handshake all have a higher epoch).
fn is_new_client_hello(record: &[u8]) -> bool {
    const CLIENT_HELLO: u8 = 1;
    record.len() > 13
        && record[0] == HANDSHAKE_RECORD
        && record[3..5] == [0, 0]
        && record[13] == CLIENT_HELLO
}

impl AsyncWrite for DatagramIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.socket.poll_send(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn setup_failed(e: impl std::fmt::Display) -> Failure {
    Failure::Fatal(format!("Failed to set up DTLS: {e}."))
}

/// What both sides configure the same way: DTLS 1.2, the cipher list, and the MTU taken from
/// the socket rather than asked of the transport (which is not OpenSSL's own socket).
fn context(method: SslMethod, opts: &TlsOptions) -> Result<SslContextBuilder, Failure> {
    let mut builder = SslContext::builder(method).map_err(setup_failed)?;
    builder
        .set_min_proto_version(Some(SslVersion::DTLS1_2))
        .map_err(setup_failed)?;
    let ciphers = opts.cipher_list.as_deref().unwrap_or(DEFAULT_CIPHERS);
    builder.set_cipher_list(ciphers).map_err(|_| {
        Failure::Fatal(format!(
            "Unable to set OpenSSL cipher list: {ciphers}. (--ssl-ciphers with -u takes OpenSSL cipher strings.)"
        ))
    })?;
    builder.set_options(SslOptions::NO_QUERY_MTU);
    Ok(builder)
}

/// The payload a datagram on this connected socket can carry, as OpenSSL's own datagram
/// transport works it out: the path MTU less the IP and UDP headers.
fn datagram_mtu(socket: &UdpSocket) -> u32 {
    let v6 = socket.peer_addr().is_ok_and(|a| a.is_ipv6());
    let headers = if v6 { 48 } else { 28 };
    path_mtu(socket, v6)
        .unwrap_or(1500)
        .saturating_sub(headers)
        .max(256)
}

#[cfg(target_os = "linux")]
fn path_mtu(socket: &UdpSocket, v6: bool) -> Option<u32> {
    use std::os::fd::AsRawFd;
    let (level, name) = if v6 {
        (libc::IPPROTO_IPV6, libc::IPV6_MTU)
    } else {
        (libc::IPPROTO_IP, libc::IP_MTU)
    };
    let mut mtu: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: the socket is open for the duration of the call; the option writes one int
    // into `mtu`, whose size `len` gives.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&mut mtu as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    (rc == 0 && mtu > 0).then_some(mtu as u32)
}

#[cfg(not(target_os = "linux"))]
fn path_mtu(_socket: &UdpSocket, _v6: bool) -> Option<u32> {
    None
}

/// A session on `socket`; `sni` is the server name a client sends.
fn session(ctx: &SslContext, mut io: DatagramIo, sni: Option<&str>) -> io::Result<DtlsStream> {
    let mut ssl = Ssl::new(ctx).map_err(io::Error::other)?;
    let mtu = datagram_mtu(io.socket());
    ssl.set_mtu(mtu).map_err(io::Error::other)?;
    io.max_record = (mtu as usize)
        .saturating_sub(RECORD_OVERHEAD)
        .clamp(1, MAX_RECORD);
    if let Some(name) = sni {
        ssl.set_hostname(name).map_err(io::Error::other)?;
    }
    DtlsStream::new(ssl, io).map_err(io::Error::other)
}

/// Runs a handshake to its end, waking at least every [`RETRANSMIT_CHECK`] so OpenSSL can send
/// a lost flight again.
async fn drive(stream: &mut DtlsStream, server: bool) -> Result<(), openssl::ssl::Error> {
    let mut tick = tokio::time::interval(RETRANSMIT_CHECK);
    poll_fn(|cx| {
        while tick.poll_tick(cx).is_ready() {}
        let stream = Pin::new(&mut *stream);
        if server {
            stream.poll_accept(cx)
        } else {
            stream.poll_connect(cx)
        }
    })
    .await
}

/// Hands a certificate chain and key, read as TLS reads them, to OpenSSL; a key that is not the
/// certificate's is refused.
fn use_identity(builder: &mut SslContextBuilder, (chain, key): tls::Pair) -> Result<(), Failure> {
    let mut certs = chain.iter().map(|der| X509::from_der(der));
    let leaf = certs
        .next()
        .ok_or_else(|| setup_failed("no certificate"))?
        .map_err(setup_failed)?;
    builder.set_certificate(&leaf).map_err(setup_failed)?;
    for cert in certs {
        builder
            .add_extra_chain_cert(cert.map_err(setup_failed)?)
            .map_err(setup_failed)?;
    }
    let key = PKey::private_key_from_der(key.secret_der()).map_err(setup_failed)?;
    builder.set_private_key(&key).map_err(setup_failed)?;
    builder.check_private_key().map_err(|_| {
        Failure::Fatal(
            "Failed to set up DTLS: the private key does not match the certificate.".into(),
        )
    })
}

/// The server side: the certificate of `--ssl-cert`/`--ssl-key` or a generated one, as for TLS.
pub struct Server {
    ctx: SslContext,
}

impl Server {
    pub fn new(opts: &TlsOptions) -> Result<Server, Failure> {
        let mut builder = context(SslMethod::dtls_server(), opts)?;
        use_identity(&mut builder, tls::server_identity(opts)?)?;
        if let Some(path) = &opts.client_ca {
            // The same file as for TLS, read the same way, then handed to OpenSSL.
            let store = builder.cert_store_mut();
            for der in tls::read_client_ca(path)? {
                let ca = X509::from_der(&der).map_err(setup_failed)?;
                store.add_cert(ca).map_err(setup_failed)?;
            }
            builder.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
        }
        Ok(Server {
            ctx: builder.build(),
        })
    }

    /// Completes the server side of a peer's handshake.
    pub async fn accept(&self, peer: DatagramIo) -> io::Result<DtlsStream> {
        let mut stream = session(&self.ctx, peer, None)?;
        drive(&mut stream, true).await.map_err(handshake_error)?;
        stream.get_mut().established = true;
        if let Some(der) = stream
            .ssl()
            .peer_certificate()
            .and_then(|c| c.to_der().ok())
        {
            tls::log_client_certificate(&der);
        }
        Ok(stream)
    }
}

fn handshake_error(e: openssl::ssl::Error) -> io::Error {
    match e.into_io_error() {
        Ok(e) => e,
        Err(e) => io::Error::new(io::ErrorKind::InvalidData, e.to_string()),
    }
}

/// The client side. OpenSSL runs the handshake and checks the server's signature; the
/// certificate is then checked, enforced and reported by the same code as for TLS.
pub struct Client {
    ctx: SslContext,
    checks: tls::Client,
    servername: Option<String>,
}

impl Client {
    pub fn new(opts: &TlsOptions, report: bool) -> Result<Client, Failure> {
        let mut builder = context(SslMethod::dtls_client(), opts)?;
        builder.set_verify(SslVerifyMode::NONE);
        if !opts.alpn.is_empty() {
            let mut wire = Vec::new();
            for protocol in &opts.alpn {
                wire.push(protocol.len().min(255) as u8);
                wire.extend_from_slice(&protocol[..protocol.len().min(255)]);
            }
            builder.set_alpn_protos(&wire).map_err(setup_failed)?;
        }
        if let (Some(cert), Some(key)) = (&opts.cert, &opts.key) {
            use_identity(&mut builder, tls::load_pair(cert, key)?)?;
        }
        Ok(Client {
            ctx: builder.build(),
            checks: tls::Client::new(opts, report)?,
            servername: opts.servername.clone(),
        })
    }

    /// Runs the handshake on a connected UDP socket, bounded by `timeout` (`-w`). `host` is the
    /// target as typed: the name sent (SNI) and checked unless `--ssl-servername` gives another.
    pub async fn handshake(
        &self,
        socket: UdpSocket,
        host: &str,
        timeout: Duration,
    ) -> Result<DtlsStream, Failure> {
        let peer = socket.peer_addr().ok();
        let name = self.servername.as_deref().unwrap_or(host);
        let server_name = self.checks.server_name(name, peer.map(|p| p.ip()))?;
        // Addresses are not sent as names (RFC 6066).
        let sni = name.parse::<IpAddr>().is_err().then_some(name);
        let mut stream = session(&self.ctx, DatagramIo::new(socket, None), sni)
            .map_err(crate::error::io_failure)?;
        match tokio::time::timeout(timeout, drive(&mut stream, false)).await {
            Err(_) => return Err(Failure::Network("TIMEOUT.".into())),
            Ok(Err(e)) => return Err(self.checks.handshake_failed(e)),
            Ok(Ok(())) => {}
        }
        let chain: Vec<CertificateDer<'static>> = stream
            .ssl()
            .peer_cert_chain()
            .map(|chain| {
                chain
                    .iter()
                    .filter_map(|c| c.to_der().ok())
                    .map(CertificateDer::from)
                    .collect()
            })
            .unwrap_or_default();
        self.checks.check_chain(&chain, &server_name)?;
        let reached = peer.map_or_else(|| host.to_string(), |a| crate::net::resolve::show_addr(&a));
        self.checks.report_connected(chain.first(), &reached);
        Ok(stream)
    }
}

/// How long datagrams from a new peer that still reach the listening socket are passed on to
/// its session (they were queued before the session's socket was connected).
const EARLY_WINDOW: Duration = Duration::from_secs(5);

/// A UDP listening socket that turns each new peer's first handshake record into a session
/// socket of its own.
#[derive(Debug)]
pub struct Listener {
    socket: UdpSocket,
    local: SocketAddr,
    /// Peers whose session began lately, and where their early datagrams go.
    recent: Mutex<HashMap<SocketAddr, (Instant, mpsc::UnboundedSender<Bytes>)>>,
}

impl Listener {
    pub fn new(socket: UdpSocket) -> io::Result<Listener> {
        let local = socket.local_addr()?;
        Ok(Listener {
            socket,
            local,
            recent: Mutex::new(HashMap::new()),
        })
    }

    /// Waits for a datagram that opens a handshake. Datagrams of a session just begun go to
    /// it; anything else reaching the listening socket (garbage, a stray record of a session
    /// that has ended) is dropped.
    pub async fn accept(&self) -> io::Result<(DatagramIo, Endpoint)> {
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let (n, peer) = self.socket.recv_from(&mut buf).await?;
            let datagram = Bytes::copy_from_slice(&buf[..n]);
            {
                let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
                recent.retain(|_, (since, tx)| since.elapsed() < EARLY_WINDOW && !tx.is_closed());
                if let Some((_, tx)) = recent.get(&peer) {
                    let _ = tx.send(datagram);
                    continue;
                }
            }
            if n == 0 || buf[0] != HANDSHAKE_RECORD {
                tracing::debug!("dropped a datagram from {peer} that opens no DTLS handshake");
                continue;
            }
            let own = crate::net::udp_socket::bind_udp(self.local)
                .map_err(|f| io::Error::other(f.to_string()))?;
            if let Err(e) = own.connect(peer).await {
                tracing::debug!("connect to {peer}: {}", strerror(&e));
                continue;
            }
            let (tx, rx) = mpsc::unbounded_channel();
            let _ = tx.send(datagram);
            self.recent
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(peer, (Instant::now(), tx));
            let io = DatagramIo::new(own, Some(rx));
            return Ok((io, Endpoint::Ip(peer)));
        }
    }
}

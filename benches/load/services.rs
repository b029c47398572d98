//! Services people run with ncat: many short TLS connections, a UDP receiver, an `-e` service.
//!
//! Each client here does the same work whatever the target, so differences are the server's.

use super::{Metrics, Server, Target, machine_busy_cpu, metric, on_runtime};
use std::io::Read;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Concurrent clients in the connection scenarios: enough to keep a server busy while some of
/// them wait in the kernel.
const CLIENTS: usize = 16;

/// The `p`-quantile of `sorted` (ascending), in milliseconds from nanoseconds.
fn quantile_ms(sorted: &[u64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    Some(sorted[((last as f64) * p).round() as usize] as f64 / 1e6)
}

/// Runs `CLIENTS` copies of `one` back to back until `secs` have passed; returns the time
/// each successful run took (ns, sorted) and the number of failed runs.
fn connection_loop<F, Fut>(secs: f64, one: F) -> (Vec<u64>, u64)
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Option<u64>> + Send + 'static,
{
    let one = Arc::new(one);
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let runs = on_runtime(async move {
        let tasks: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let one = one.clone();
                tokio::spawn(async move {
                    let (mut times, mut failed) = (Vec::new(), 0u64);
                    while Instant::now() < deadline {
                        match tokio::time::timeout(Duration::from_secs(5), one()).await {
                            Ok(Some(ns)) => times.push(ns),
                            _ => failed += 1,
                        }
                    }
                    (times, failed)
                })
            })
            .collect();
        let (mut times, mut failed) = (Vec::new(), 0);
        for task in tasks {
            let (t, f) = task.await.unwrap_or_default();
            times.extend(t);
            failed += f;
        }
        (times, failed)
    });
    let (mut times, failed) = runs.join().unwrap_or_default();
    times.sort_unstable();
    (times, failed)
}

/// Connects to `port` on 127.0.0.1 from the next of 62,500 loopback addresses (127.1.x.y).
/// From one address, thousands of connections a second would soon leave most ports in
/// TIME_WAIT, and the kernel's search for a free port would slow later rounds down.
async fn connect_fresh(port: u16) -> Option<tokio::net::TcpStream> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let source = std::net::Ipv4Addr::new(127, 1, (n / 250 % 250) as u8, (n % 250 + 1) as u8);
    let socket = tokio::net::TcpSocket::new_v4().ok()?;
    socket.bind((source, 0).into()).ok()?;
    socket.connect(([127, 0, 0, 1], port).into()).await.ok()
}

/// A certificate verifier that takes any certificate (the servers' are self-signed) but checks
/// the handshake signatures, so a client does the cryptography a real one does.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A TLS client that does a full handshake every time (no resumption, as `s_time -new`).
fn tls_connector() -> tokio_rustls::TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    config.resumption = rustls::client::Resumption::disabled();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// `-l -k --ssl`: clients connect, complete a full handshake, send a line, close and wait for
/// the server to close. Handshakes per second, and the time from connect to a finished
/// handshake (the moment a client can send its first byte).
pub fn handshakes(target: &Target, secs: f64) -> Metrics {
    let mut server = Server::start(target, &["-l", "-k", "--ssl"], Stdio::null());
    let port = server.port;
    let connector = tls_connector();
    let cpu_before = server.proc.cpu_now();
    let started = Instant::now();
    let (times, failed) = connection_loop(secs, move || {
        let connector = connector.clone();
        async move {
            let t = Instant::now();
            let tcp = connect_fresh(port).await?;
            let name = rustls::pki_types::ServerName::try_from("localhost").ok()?;
            let mut tls = connector.connect(name, tcp).await.ok()?;
            let handshake = t.elapsed().as_nanos() as u64;
            tls.write_all(b"one line from a short-lived client\n")
                .await
                .ok()?;
            tls.shutdown().await.ok()?;
            // The server closes once it has the client's EOF (an error here is its reset).
            let mut rest = Vec::new();
            let _ = tls.read_to_end(&mut rest).await;
            Some(handshake)
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = server.proc.cpu_now() - cpu_before;
    vec![
        metric("handshakes/s", times.len() as f64 / elapsed),
        metric("p99 ms to handshake", quantile_ms(&times, 0.99)),
        metric(
            "server CPU ms per handshake",
            (!times.is_empty()).then(|| cpu * 1e3 / times.len() as f64),
        ),
        metric("failed", failed as f64),
        metric("alive after", if server.proc.alive() { 1.0 } else { 0.0 }),
    ]
}

/// `-l -k -e /bin/cat`: clients connect, send 1 KiB, read it back and close. Connections per
/// second, the p99 of the whole exchange, and the machine's CPU per connection (the clients'
/// and the children's included: how a server accounts for its children's time differs).
pub fn exec_service(target: &Target, secs: f64) -> Metrics {
    let server = Server::start(target, &["-l", "-k", "-e", "/bin/cat"], Stdio::null());
    let port = server.port;
    let message: Arc<Vec<u8>> = Arc::new((0..1024).map(|i| (i % 251) as u8).collect());
    let cpu_before = machine_busy_cpu();
    let started = Instant::now();
    let (times, failed) = connection_loop(secs, move || {
        let message = message.clone();
        async move {
            let t = Instant::now();
            let mut tcp = connect_fresh(port).await?;
            tcp.write_all(&message).await.ok()?;
            let mut echoed = vec![0u8; message.len()];
            tcp.read_exact(&mut echoed).await.ok()?;
            (echoed == *message).then(|| t.elapsed().as_nanos() as u64)
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = machine_busy_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    vec![
        metric("connections/s", times.len() as f64 / elapsed),
        metric("p99 ms", quantile_ms(&times, 0.99)),
        metric(
            "machine CPU ms per connection",
            cpu.filter(|_| !times.is_empty())
                .map(|c| c * 1e3 / times.len() as f64),
        ),
        metric("failed", failed as f64),
    ]
}

/// Marks the last byte of every UDP test datagram, so a truncated one is seen.
const END: u8 = 0xA5;

/// One test datagram: its sequence number, filler, and [`END`].
fn datagram(seq: u64, size: usize, buf: &mut [u8]) {
    buf[..8].copy_from_slice(&seq.to_le_bytes());
    buf[8..size - 1].fill(b'u');
    buf[size - 1] = END;
}

/// Checks stdout of a UDP listener: whole datagrams of `size` bytes, back to back, sequence
/// numbers increasing (gaps are losses), each counted in `count` as it arrives. Returns whether
/// all were whole.
fn check_datagrams(mut out: impl Read, size: usize, count: &AtomicU64) -> bool {
    let mut buf = vec![0u8; size * 64];
    let (mut filled, mut whole, mut last_seq) = (0usize, true, None);
    loop {
        let n = match out.read(&mut buf[filled..]) {
            Ok(0) | Err(_) => return whole && filled == 0,
            Ok(n) => n,
        };
        filled += n;
        let records = filled / size;
        for record in buf[..records * size].chunks(size) {
            let seq = u64::from_le_bytes(record[..8].try_into().unwrap());
            if record[size - 1] != END || last_seq.is_some_and(|last| seq <= last) {
                whole = false;
            }
            last_seq = Some(seq);
        }
        count.fetch_add(records as u64, Ordering::Relaxed);
        buf.copy_within(records * size..filled, 0);
        filled -= records * size;
    }
}

/// Sends `size`-byte datagrams to `port` from a connected socket as fast as the kernel takes
/// them (batches of 64 with `sendmmsg`) for `secs`; returns how many were sent.
fn flood(port: u16, size: usize, secs: f64) -> u64 {
    const BATCH: usize = 64;
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.connect(("127.0.0.1", port)).unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&socket);
    let mut bufs = vec![vec![0u8; size]; BATCH];
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let mut seq = 0u64;
    while Instant::now() < deadline {
        for (i, buf) in bufs.iter_mut().enumerate() {
            datagram(seq + i as u64, size, buf);
        }
        let mut iovs: Vec<libc::iovec> = bufs
            .iter_mut()
            .map(|b| libc::iovec {
                iov_base: b.as_mut_ptr().cast(),
                iov_len: size,
            })
            .collect();
        // SAFETY: zeroed mmsghdr is valid; every header points at one live iovec.
        let mut headers: Vec<libc::mmsghdr> = iovs
            .iter_mut()
            .map(|iov| {
                let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
                h.msg_hdr.msg_iov = iov;
                h.msg_hdr.msg_iovlen = 1;
                h
            })
            .collect();
        // SAFETY: `headers` holds BATCH valid headers whose buffers outlive the call.
        let sent = unsafe { libc::sendmmsg(fd, headers.as_mut_ptr(), BATCH as u32, 0) };
        // Datagrams the kernel refused are not numbered: the receiver's gaps are real losses.
        seq += sent.max(0) as u64;
    }
    seq
}

/// `-u -l`: one sender floods `size`-byte datagrams for `secs`; the listener's stdout is read
/// and checked. Datagrams delivered per second of sending, the share lost, whether all were
/// whole.
pub fn udp(target: &Target, size: usize, secs: f64) -> Metrics {
    let mut server = Server::start(target, &["-u", "-l"], Stdio::piped());
    let out = server.proc.child.stdout.take().expect("stdout piped");
    let count = Arc::new(AtomicU64::new(0));
    let checker = {
        let count = count.clone();
        thread::spawn(move || check_datagrams(out, size, &count))
    };
    let cpu_before = server.proc.cpu_now();
    let sent = flood(server.port, size, secs);
    // What is still queued in the kernel or in the listener drains; then the listener ends.
    let mut seen = u64::MAX;
    while count.load(Ordering::Relaxed) != seen {
        seen = count.load(Ordering::Relaxed);
        thread::sleep(Duration::from_millis(200));
    }
    let cpu = server.proc.cpu_now() - cpu_before;
    drop(server);
    let whole = checker.join().unwrap_or(false);
    let delivered = count.load(Ordering::Relaxed);
    vec![
        metric("delivered/s", delivered as f64 / secs),
        metric(
            "lost %",
            100.0 * (sent.saturating_sub(delivered)) as f64 / sent as f64,
        ),
        metric("sent/s", sent as f64 / secs),
        metric("listener CPU s", cpu),
        metric("whole", if whole { 1.0 } else { 0.0 }),
    ]
}

/// DTLS client throughput: the target's `-u --ssl` client sends the corpus to this build's DTLS
/// listener (Ncat 7.93 has no DTLS server, so the listener is the same for both), whose stdout
/// is counted. UDP has no flow control: what the listener cannot take in time is lost, and the
/// share delivered is part of the result.
pub fn dtls_bulk(target: &Target, corpus: &super::Corpus) -> Metrics {
    let listener = Target {
        label: "listener".into(),
        path: std::path::PathBuf::from(env!("CARGO_BIN_EXE_ncat")),
    };
    let mut server = Server::start(&listener, &["-u", "--ssl", "-l"], Stdio::piped());
    let mut out = server.proc.child.stdout.take().expect("stdout piped");
    let count = Arc::new(AtomicU64::new(0));
    let counter = {
        let count = count.clone();
        thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 16];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                count.fetch_add(n as u64, Ordering::Relaxed);
            }
        })
    };
    let started = Instant::now();
    let mut client = std::process::Command::new(&target.path);
    client
        .args(["-u", "--ssl", "127.0.0.1", &server.port.to_string()])
        .stdin(std::fs::File::open(&corpus.path).expect("the corpus"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let ended = super::Proc::start(client).finish(Duration::from_secs(120));
    let secs = started.elapsed().as_secs_f64();
    // What is still queued drains; then the listener is stopped.
    let mut seen = u64::MAX;
    while count.load(Ordering::Relaxed) != seen {
        seen = count.load(Ordering::Relaxed);
        thread::sleep(Duration::from_millis(200));
    }
    drop(server);
    let _ = counter.join();
    let delivered = count.load(Ordering::Relaxed) as f64;
    let gb = corpus.len as f64 / 1e9;
    let (sent_rate, cpu) = match ended {
        Some((0, cpu)) => (Some(gb / secs), Some(cpu / gb)),
        other => {
            eprintln!("   DTLS client failed: {other:?}");
            (None, None)
        }
    };
    vec![
        metric("sent GB/s", sent_rate),
        metric("delivered GB/s", delivered / 1e9 / secs),
        metric("delivered %", 100.0 * delivered / corpus.len as f64),
        metric("client CPU s per GB", cpu),
    ]
}

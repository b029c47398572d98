//! TLS with rustls: the server side (a given PEM pair, or a fresh self-signed certificate), the
//! client side (Ncat's report-only certificate check by default, enforced with `--ssl-verify`),
//! and the fingerprints Ncat prints.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring as provider};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig,
    SignatureScheme, SupportedCipherSuite,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::error::Failure;
use crate::net::read_ahead::ReadAhead;

/// A TLS session over TCP, client or server side.
pub type TlsStream = tokio_rustls::TlsStream<ReadAhead<TcpStream>>;

/// The `--ssl*` options, checked.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// `--ssl-cert` / `--ssl-key` (always both or neither).
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// `--ssl-verify` (or `--ssl-trustfile`): refuse a server whose certificate does not check.
    pub verify: bool,
    /// `--ssl-trustfile`: trusted certificates besides the system store.
    pub trustfile: Option<PathBuf>,
    /// `--ssl-ciphers`: the suites to offer or accept (all of rustls's when `None`).
    pub suites: Option<Vec<SupportedCipherSuite>>,
    /// `--ssl-ciphers` with `-u`: an OpenSSL cipher string for DTLS, as given.
    pub cipher_list: Option<String>,
    /// `--ssl-pin`: SHA-256 digests of the public keys a server may have (any key if empty).
    pub pins: Vec<[u8; 32]>,
    /// `--ssl-client-ca`: a listener requires client certificates issued by these CAs.
    pub client_ca: Option<PathBuf>,
    /// `--ssl-servername`: the name sent (SNI) and checked, instead of the target as typed.
    pub servername: Option<String>,
    /// `--ssl-alpn`: protocols to offer.
    pub alpn: Vec<Vec<u8>>,
    /// Names a generated server certificate is valid for (the first is its common name).
    pub names: Vec<String>,
}

/// Every cipher suite this build has, by name.
fn all_suites() -> Vec<SupportedCipherSuite> {
    provider::default_provider().cipher_suites
}

fn suite_name(suite: &SupportedCipherSuite) -> String {
    format!("{:?}", suite.suite())
}

/// Parses `--ssl-ciphers`: rustls suite names separated by `:` or `,`.
pub fn parse_suites(list: &str) -> Result<Vec<SupportedCipherSuite>, String> {
    let available = all_suites();
    let mut chosen = Vec::new();
    for name in list
        .split([':', ','])
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        match available
            .iter()
            .find(|s| suite_name(s).eq_ignore_ascii_case(name))
        {
            Some(suite) => chosen.push(*suite),
            None => {
                let names: Vec<String> = available.iter().map(suite_name).collect();
                return Err(format!(
                    "Unknown cipher suite \"{name}\" in --ssl-ciphers. OpenSSL cipher strings are not supported; give TLS suite names from this list: {}.",
                    names.join(":")
                ));
            }
        }
    }
    if chosen.is_empty() {
        return Err("No cipher suite given in --ssl-ciphers.".into());
    }
    Ok(chosen)
}

fn crypto(opts: &TlsOptions) -> Arc<CryptoProvider> {
    let mut crypto = provider::default_provider();
    if let Some(suites) = &opts.suites {
        crypto.cipher_suites = suites.clone();
    }
    Arc::new(crypto)
}

pub type Pair = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// A PEM reading error in plain words (`Is a directory`, not `I/O error: ... (os error 21)`).
fn pem_error(e: rustls_pki_types::pem::Error) -> String {
    match e {
        rustls_pki_types::pem::Error::Io(io) => crate::error::strerror(&io),
        other => other.to_string(),
    }
}

/// The server side, set up before listening: the given certificate and key, or a fresh
/// self-signed pair (never written to disk).
pub fn acceptor(opts: &TlsOptions) -> Result<TlsAcceptor, Failure> {
    let (chain, key) = server_identity(opts)?;
    let failed = |e: rustls::Error| Failure::Fatal(format!("Failed to set up TLS: {e}."));
    let crypto = crypto(opts);
    let signing_key = crypto.key_provider.load_private_key(key).map_err(failed)?;
    let certified = rustls::sign::CertifiedKey::new(chain, signing_key);
    // A key that is not the certificate's is refused here, by comparing the public keys
    // directly: the path checker cannot read an X.509 v1 certificate (as `openssl x509 -req`
    // makes without extensions), which OpenSSL serves all the same.
    let cert_key = certified
        .cert
        .first()
        .and_then(|c| crate::net::der::subject_public_key_info(c));
    let own_key = certified.key.public_key();
    if let (Some(cert_key), Some(own_key)) = (cert_key, own_key.as_ref())
        && cert_key != own_key.as_ref()
    {
        return Err(Failure::Fatal(
            "Failed to set up TLS: the private key does not match the certificate.".into(),
        ));
    }
    let builder = ServerConfig::builder_with_provider(crypto.clone())
        .with_safe_default_protocol_versions()
        .map_err(failed)?;
    let builder = match &opts.client_ca {
        Some(path) => {
            let mut roots = RootCertStore::empty();
            roots.add_parsable_certificates(read_client_ca(path)?);
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                crypto,
            )
            .build()
            .map_err(|e| Failure::Fatal(format!("Failed to set up TLS: {e}.")))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder.with_cert_resolver(Arc::new(OneCertificate(Arc::new(certified))));
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The server's certificate chain and key: `--ssl-cert`/`--ssl-key`, or a fresh self-signed
/// pair (never written to disk), with its fingerprints under `-v`. Shared with DTLS.
pub fn server_identity(opts: &TlsOptions) -> Result<Pair, Failure> {
    match (&opts.cert, &opts.key) {
        (Some(cert), Some(key)) => load_pair(cert, key),
        _ => generate(&opts.names),
    }
}

/// The server's one certificate, whatever the client asks for.
#[derive(Debug)]
struct OneCertificate(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for OneCertificate {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// Reads a PEM certificate chain and private key.
pub fn load_pair(cert: &Path, key: &Path) -> Result<Pair, Failure> {
    let unreadable = |what: &str, path: &Path, e: String| {
        Failure::Fatal(format!(
            "Unable to read the {what} file \"{}\": {e}.",
            path.display()
        ))
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| unreadable("certificate", cert, pem_error(e)))?;
    if chain.is_empty() {
        return Err(unreadable(
            "certificate",
            cert,
            "no certificate in it".into(),
        ));
    }
    let key =
        PrivateKeyDer::from_pem_file(key).map_err(|e| unreadable("key", key, pem_error(e)))?;
    Ok((chain, key))
}

/// A self-signed ECDSA P-256 certificate valid for a year from now for `names`.
fn generate(names: &[String]) -> Result<Pair, Failure> {
    let failed =
        |e: rcgen::Error| Failure::Fatal(format!("Failed to generate a certificate: {e}."));
    tracing::info!(
        "Generating a temporary ECDSA P-256 key. Use --ssl-key and --ssl-cert to use a permanent one."
    );
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(failed)?;
    let names: Vec<String> = names
        .iter()
        .filter(|n| {
            n.parse::<IpAddr>().is_ok() || rustls_pki_types::DnsName::try_from(n.as_str()).is_ok()
        })
        .cloned()
        .collect();
    let mut params = rcgen::CertificateParams::new(names.clone()).map_err(failed)?;
    let common_name = names.first().map_or("localhost", String::as_str);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, common_name);
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    params.not_before = rcgen::date_time_ymd(1970, 1, 1) + now;
    params.not_after = params.not_before + Duration::from_secs(365 * 24 * 3600);
    let cert = params.self_signed(&key).map_err(failed)?;
    log_fingerprints(cert.der());
    let key = PrivateKeyDer::Pkcs8(key.serialize_der().into());
    Ok((vec![cert.der().clone()], key))
}

/// Ncat's `-v` fingerprint line, and the same for SHA-256.
fn log_fingerprints(der: &[u8]) {
    tracing::info!(
        "SHA-1 fingerprint: {}",
        fingerprint(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, der)
    );
    tracing::info!(
        "SHA-256 fingerprint: {}",
        fingerprint(&ring::digest::SHA256, der)
    );
}

/// Parses an `--ssl-pin`: `sha256:` then 64 hex digits or the digest in base64.
pub fn parse_pin(pin: &str) -> Result<[u8; 32], String> {
    use base64::Engine;
    let invalid =
        || format!("Invalid --ssl-pin \"{pin}\": give sha256: and the digest in hex or base64.");
    let digest = pin.strip_prefix("sha256:").ok_or_else(invalid)?;
    let bytes = if digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        (0..32)
            .map(|i| u8::from_str_radix(&digest[2 * i..2 * i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| invalid())?
    } else {
        let engine = &base64::engine::general_purpose::STANDARD;
        let unpadded = &base64::engine::general_purpose::STANDARD_NO_PAD;
        engine
            .decode(digest)
            .or_else(|_| unpadded.decode(digest))
            .map_err(|_| invalid())?
    };
    bytes.try_into().map_err(|_| invalid())
}

/// The pin of a certificate: the SHA-256 of its public key, in base64.
fn key_pin(cert: &[u8]) -> Option<(Vec<u8>, String)> {
    use base64::Engine;
    let key = crate::net::der::subject_public_key_info(cert)?;
    let digest = ring::digest::digest(&ring::digest::SHA256, key)
        .as_ref()
        .to_vec();
    let text = base64::engine::general_purpose::STANDARD.encode(&digest);
    Some((digest, text))
}

/// A digest in Ncat's shape: upper-case hex in groups of four (`A0DA BAE4 ...`).
pub fn fingerprint(algorithm: &'static ring::digest::Algorithm, der: &[u8]) -> String {
    let digest = ring::digest::digest(algorithm, der);
    digest
        .as_ref()
        .chunks(2)
        .map(|pair| pair.iter().map(|b| format!("{b:02X}")).collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first byte of every TLS handshake record.
const HANDSHAKE_RECORD: u8 = 0x16;

/// Completes the server side of a handshake on an accepted connection. A client that does not
/// begin with a TLS handshake record (plain text, say) is reset without an answer, as Ncat's
/// OpenSSL listener does, instead of being sent an alert it would print as data.
pub async fn accept(acceptor: &TlsAcceptor, tcp: TcpStream) -> std::io::Result<TlsStream> {
    let mut first = [0u8; 1];
    let n = tcp.peek(&mut first).await?;
    if n == 0 || first[0] != HANDSHAKE_RECORD {
        let _ = tcp.set_zero_linger();
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "wrong version number",
        ));
    }
    let tls = acceptor.accept(ReadAhead::new(tcp)).await?;
    if let Some(cert) = tls.get_ref().1.peer_certificates().and_then(|c| c.first()) {
        log_client_certificate(cert);
    }
    Ok(TlsStream::Server(tls))
}

/// `-v`: whose certificate a client presented (`--ssl-client-ca`).
pub fn log_client_certificate(der: &[u8]) {
    if let Some((subject, issuer)) = crate::net::der::subject_and_issuer_text(der) {
        tracing::info!("Client certificate: {subject} (issued by {issuer})");
    }
}

/// The CA certificates of `--ssl-client-ca` (at least one).
pub fn read_client_ca(path: &Path) -> Result<Vec<CertificateDer<'static>>, Failure> {
    let certs = read_certificates(path, "client CA")?;
    if certs.is_empty() {
        return Err(Failure::Fatal(format!(
            "Unable to read the client CA file \"{}\": no certificate in it.",
            path.display()
        )));
    }
    Ok(certs)
}

/// The PEM certificates in a file; `what` names the file in the error.
fn read_certificates(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, Failure> {
    CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            Failure::Fatal(format!(
                "Unable to read the {what} file \"{}\": {}.",
                path.display(),
                pem_error(e)
            ))
        })
}

/// The client side: a connector and the verifier whose findings it reports.
pub struct Client {
    connector: TlsConnector,
    verifier: Arc<ReportingVerifier>,
    servername: Option<String>,
}

impl Client {
    /// Sets up the client side. The trust store is loaded only when it is used: to enforce
    /// (`--ssl-verify`) or to report under `-v`.
    pub fn new(opts: &TlsOptions, report: bool) -> Result<Client, Failure> {
        let crypto = crypto(opts);
        let (webpki, listed) = if opts.verify || report {
            let listed = match opts.trustfile.as_deref() {
                Some(path) => read_trustfile(path)?,
                None => Vec::new(),
            };
            let roots = trust_store(&listed);
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), crypto.clone())
                    .build()
                    .ok();
            (webpki, listed)
        } else {
            (None, Vec::new())
        };
        let verifier = Arc::new(ReportingVerifier {
            webpki,
            listed,
            enforce: opts.verify,
            pins: opts.pins.clone(),
            crypto: crypto.clone(),
            failure: Mutex::new(None),
        });
        let builder = ClientConfig::builder_with_provider(crypto)
            .with_safe_default_protocol_versions()
            .map_err(|e| Failure::Fatal(format!("Failed to set up TLS: {e}.")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone());
        let mut config = match (&opts.cert, &opts.key) {
            (Some(cert), Some(key)) => {
                let (chain, key) = load_pair(cert, key)?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| Failure::Fatal(format!("Failed to set up TLS: {e}.")))?
            }
            _ => builder.with_no_client_auth(),
        };
        config.alpn_protocols = opts.alpn.clone();
        Ok(Client {
            connector: TlsConnector::from(Arc::new(config)),
            verifier,
            servername: opts.servername.clone(),
        })
    }

    /// Runs the handshake on a connected socket. `host` is the target as typed: the name sent
    /// and checked unless `--ssl-servername` gives another.
    pub async fn handshake(
        &self,
        tcp: TcpStream,
        host: &str,
        port: u16,
        timeout: Duration,
    ) -> Result<TlsStream, Failure> {
        let peer_ip = tcp.peer_addr().map(|a| a.ip()).ok();
        let name = self.servername.as_deref().unwrap_or(host);
        let server_name = self.server_name(name, peer_ip)?;
        let handshake = self.connector.connect(server_name, ReadAhead::new(tcp));
        let tls = match tokio::time::timeout(timeout, handshake).await {
            Err(_) => return Err(Failure::Network("TIMEOUT.".into())),
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => return Err(self.handshake_failed(e)),
        };
        let (transport, session) = tls.get_ref();
        let reached = transport.get_ref().peer_addr().map_or_else(
            |_| format!("{host}:{port}"),
            |a| crate::net::resolve::show_addr(&a),
        );
        let cert = session.peer_certificates().and_then(|c| c.first());
        self.report_connected(cert, &reached);
        Ok(TlsStream::Client(tls))
    }

    /// The name to send and check: `name` if it is a valid server name, else the address.
    pub fn server_name(
        &self,
        name: &str,
        peer_ip: Option<IpAddr>,
    ) -> Result<ServerName<'static>, Failure> {
        ServerName::try_from(name.to_owned())
            .ok()
            .or_else(|| peer_ip.map(ServerName::from))
            .ok_or_else(|| Failure::Fatal(format!("Invalid TLS server name \"{name}\".")))
    }

    /// A handshake that failed: a refused certificate is reported and named as Ncat does,
    /// anything else is an input/output error.
    pub fn handshake_failed(&self, e: impl std::fmt::Display) -> Failure {
        match self.verifier.take_failure() {
            Some(failure) => {
                failure.report();
                if let Some(pin) = failure.unpinned {
                    Failure::Network(format!(
                        "Certificate pin mismatch: the server's public key is sha256:{pin}."
                    ))
                } else if failure.name_mismatch {
                    Failure::Fatal("Certificate verification error.".into())
                } else {
                    Failure::Network("Input/output error.".into())
                }
            }
            None => {
                tracing::info!("TLS handshake failed: {e}.");
                Failure::Network("Input/output error.".into())
            }
        }
    }

    /// Checks a chain that another library's handshake received (DTLS), exactly as a TLS
    /// handshake checks it: enforced with `--ssl-verify`, reported otherwise.
    pub fn check_chain(
        &self,
        chain: &[CertificateDer<'static>],
        server_name: &ServerName<'_>,
    ) -> Result<(), Failure> {
        let Some((end_entity, intermediates)) = chain.split_first() else {
            return Err(self.handshake_failed("the server sent no certificate"));
        };
        match self.verifier.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            &[],
            UnixTime::now(),
        ) {
            Ok(_) => Ok(()),
            Err(e) => Err(self.handshake_failed(e)),
        }
    }

    /// After a completed handshake: a certificate finding not enforced, Ncat's
    /// `SSL connection to` line (the address reached, then the subject's organization if it
    /// has one) and the fingerprints.
    pub fn report_connected(&self, cert: Option<&CertificateDer<'_>>, reached: &str) {
        if let Some(failure) = self.verifier.take_failure() {
            failure.report();
        }
        let organization = cert
            .and_then(|c| crate::net::der::subject_organization(c))
            .map(|o| format!(" {o}"))
            .unwrap_or_default();
        tracing::info!("SSL connection to {reached}.{organization}");
        if let Some(cert) = cert {
            log_fingerprints(cert);
        }
    }
}

/// The certificates in `--ssl-trustfile`.
fn read_trustfile(path: &Path) -> Result<Vec<CertificateDer<'static>>, Failure> {
    read_certificates(path, "trust")
}

/// The system's trusted certificates, plus those of `--ssl-trustfile`.
fn trust_store(listed: &[CertificateDer<'static>]) -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    roots.add_parsable_certificates(listed.iter().cloned());
    roots
}

/// A server certificate that is itself listed in `--ssl-trustfile` is trusted as it stands, as
/// OpenSSL trusts it: whatever its basic constraints say (the usual `openssl req -x509`
/// certificate is marked as a CA, which the path check refuses as a server's certificate).
/// Its name and validity period are still checked.
fn check_listed(
    end_entity: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> Result<(), rustls::Error> {
    let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
    let (not_before, not_after) = crate::net::der::validity(end_entity).ok_or(
        rustls::Error::InvalidCertificate(CertificateError::BadEncoding),
    )?;
    let now_secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    if now_secs < not_before {
        return Err(rustls::Error::InvalidCertificate(
            CertificateError::NotValidYet,
        ));
    }
    if now_secs > not_after {
        return Err(rustls::Error::InvalidCertificate(CertificateError::Expired));
    }
    verify_name(&parsed, end_entity, server_name)
}

/// The server name check: the subjectAltName entries, or, for a certificate that has none,
/// its common name, as OpenSSL-based Ncat accepts (a plain `openssl req -x509 -subj
/// /CN=host` certificate has no subjectAltName).
fn verify_name(
    parsed: &rustls::server::ParsedCertificate<'_>,
    end_entity: &[u8],
    server_name: &ServerName<'_>,
) -> Result<(), rustls::Error> {
    let by_alt_name = rustls::client::verify_server_name(parsed, server_name);
    if by_alt_name.is_ok() || crate::net::der::has_subject_alt_name(end_entity) {
        return by_alt_name;
    }
    let wanted = match server_name {
        ServerName::DnsName(name) => name.as_ref().to_ascii_lowercase(),
        ServerName::IpAddress(ip) => IpAddr::from(*ip).to_string(),
        _ => return by_alt_name,
    };
    let matches = crate::net::der::common_names(end_entity)
        .iter()
        .any(|cn| name_matches(&cn.to_ascii_lowercase(), &wanted));
    if matches { Ok(()) } else { by_alt_name }
}

/// A certificate name against a host name: equal, or a `*.` wildcard for one left-most label.
fn name_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
        None => pattern == host,
    }
}

/// Why a server certificate did not check.
#[derive(Debug, Clone)]
struct VerifyFailure {
    reason: String,
    name_mismatch: bool,
    /// The server's own pin, when `--ssl-pin` named others.
    unpinned: Option<String>,
    /// The server's certificate, for the report.
    cert: Vec<u8>,
}

impl VerifyFailure {
    /// Ncat's `-v` lines for a certificate that did not check: whose it is, who issued it,
    /// its fingerprint, and why it failed.
    fn report(&self) {
        if let Some((subject, issuer)) = crate::net::der::subject_and_issuer_text(&self.cert) {
            tracing::info!("Subject: {subject}");
            tracing::info!("Issuer: {issuer}");
        }
        tracing::info!(
            "SHA-1 fingerprint: {}",
            fingerprint(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &self.cert)
        );
        tracing::info!("Certificate verification failed ({}).", self.reason);
    }
}

/// Checks the server's certificate chain and name against the trust store, and either refuses
/// the handshake (`--ssl-verify`) or only records the finding for `-v` (Ncat's default). The
/// handshake signature is always checked, so the server must hold the certificate's key.
#[derive(Debug)]
struct ReportingVerifier {
    /// `None` when the trust store is empty or was not loaded.
    webpki: Option<Arc<WebPkiServerVerifier>>,
    /// The certificates of `--ssl-trustfile`, each trusted as a server certificate too.
    listed: Vec<CertificateDer<'static>>,
    enforce: bool,
    /// `--ssl-pin`: always enforced.
    pins: Vec<[u8; 32]>,
    crypto: Arc<CryptoProvider>,
    failure: Mutex<Option<VerifyFailure>>,
}

impl ReportingVerifier {
    fn take_failure(&self) -> Option<VerifyFailure> {
        self.failure.lock().ok()?.take()
    }
}

impl ServerCertVerifier for ReportingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if !self.pins.is_empty() {
            let pin = key_pin(end_entity);
            if !pin
                .as_ref()
                .is_some_and(|(digest, _)| self.pins.iter().any(|p| p == &digest[..]))
            {
                let failure = VerifyFailure {
                    cert: end_entity.to_vec(),
                    reason: "public key pin mismatch".into(),
                    name_mismatch: false,
                    unpinned: Some(pin.map_or_else(|| "unreadable".into(), |(_, text)| text)),
                };
                if let Ok(mut slot) = self.failure.lock() {
                    *slot = Some(failure);
                }
                return Err(rustls::Error::InvalidCertificate(
                    CertificateError::ApplicationVerificationFailure,
                ));
            }
        }
        let checked = if self.listed.iter().any(|c| c == end_entity) {
            check_listed(end_entity, server_name, now)
        } else {
            match &self.webpki {
                Some(webpki) => webpki
                    .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
                    .map(|_| ()),
                None => Err(rustls::Error::InvalidCertificate(
                    CertificateError::UnknownIssuer,
                )),
            }
        };
        // A chain that checked but names the host only in its common name.
        let checked = match checked {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => rustls::server::ParsedCertificate::try_from(end_entity)
                .and_then(|parsed| verify_name(&parsed, end_entity, server_name)),
            other => other,
        };
        let Err(error) = checked else {
            return Ok(ServerCertVerified::assertion());
        };
        let failure = VerifyFailure {
            cert: end_entity.to_vec(),
            reason: reason(&error, end_entity, intermediates),
            name_mismatch: matches!(
                error,
                rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName
                        | CertificateError::NotValidForNameContext { .. }
                )
            ),
            unpinned: None,
        };
        if let Ok(mut slot) = self.failure.lock() {
            *slot = Some(failure);
        }
        if self.enforce {
            Err(error)
        } else {
            Ok(ServerCertVerified::assertion())
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.crypto.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.crypto.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.crypto
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A verification failure in the words OpenSSL (and so Ncat) uses for the common cases.
fn reason(
    error: &rustls::Error,
    end_entity: &[u8],
    intermediates: &[CertificateDer<'_>],
) -> String {
    // A self-signed certificate marked as a CA fails the path check as "CA used as end
    // entity" (webpki's error is opaque here); OpenSSL calls both cases self-signed.
    let ca_as_end_entity = matches!(
        error,
        rustls::Error::InvalidCertificate(CertificateError::Other(other))
            if format!("{other:?}").contains("CaUsedAsEndEntity")
    );
    match error {
        _ if ca_as_end_entity && crate::net::der::is_self_issued(end_entity) => {
            "self-signed certificate".into()
        }
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            if intermediates.is_empty() && crate::net::der::is_self_issued(end_entity) {
                "self-signed certificate".into()
            } else {
                "unable to get local issuer certificate".into()
            }
        }
        rustls::Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => "certificate has expired".into(),
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. },
        ) => "certificate is not yet valid".into(),
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => "certificate name does not match the host".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_names_round_trip_and_openssl_strings_are_refused() {
        let suites =
            parse_suites("TLS13_AES_128_GCM_SHA256:tls13_chacha20_poly1305_sha256").unwrap();
        assert_eq!(suites.len(), 2);
        let err = parse_suites("ALL:!aNULL").unwrap_err();
        assert!(
            err.contains("OpenSSL cipher strings are not supported"),
            "{err}"
        );
        assert!(parse_suites("").is_err());
    }

    #[test]
    fn wildcards_cover_one_label() {
        assert!(name_matches("*.example.org", "www.example.org"));
        assert!(!name_matches("*.example.org", "a.b.example.org"));
        assert!(!name_matches("*.example.org", "example.org"));
        assert!(name_matches("localhost", "localhost"));
    }

    #[test]
    fn fingerprints_are_grouped_hex() {
        let sha1 = fingerprint(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, b"abc");
        assert_eq!(sha1, "A999 3E36 4706 816A BA3E 2571 7850 C26C 9CD0 D89D");
    }

    #[test]
    fn generated_certificates_are_self_issued() {
        let (chain, _) = generate(&["127.0.0.1".into(), "localhost".into()]).unwrap();
        assert!(crate::net::der::is_self_issued(&chain[0]));
    }
}

//! TLS (`--ssl*`): generated and given certificates, verification, SNI and ALPN, hub modes,
//! handshake failures, and the option checks.

use crate::common::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;

/// A test CA and a server certificate it signed, written as PEM files in a fresh directory.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    /// `names` are the server certificate's subject alternative names.
    fn new(tag: &str, names: &[&str]) -> Pki {
        let dir = std::env::temp_dir().join(format!("ncat-tls-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "ncat test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let leaf = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.join("cert.pem"), leaf.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
        Pki { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    /// A listener serving this certificate.
    fn listen(&self, extra: &[&str]) -> (Proc, u16) {
        let (cert, key) = (self.path("cert.pem"), self.path("key.pem"));
        let mut args = vec!["--ssl-cert", &cert, "--ssl-key", &key];
        args.extend_from_slice(extra);
        Proc::listen(&args)
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs a client to completion with `input` on stdin.
fn client(args: &[&str], input: &[u8]) -> (i32, Vec<u8>, String) {
    let mut command = ncat();
    command.args(args);
    run_command(command, input)
}

#[test]
fn round_trip_with_a_generated_certificate() {
    let (mut listener, port) = Proc::listen(&["--ssl", "-l", "127.0.0.1", "0"]);
    listener.write_stdin(b"from the server\n");
    let data = pattern(300_000, 7);
    let port = port.to_string();
    let mut client = Proc::spawn(&["-v", "--ssl", "127.0.0.1", &port], false);
    client.write_stdin(&data);
    // The client ends its input only once the server's line is in: its EOF ends the session.
    assert_eq!(client.wait_stdout_len(16), b"from the server\n");
    client.close_stdin();
    assert_eq!(client.wait_exit().code(), Some(0));
    let err = client.stderr();
    assert_eq!(
        checksum(&listener.wait_stdout_len(data.len())),
        checksum(&data)
    );
    let log = listener.stderr();
    assert!(log.contains("Ncat: SHA-1 fingerprint: "), "{log}");
    assert!(log.contains("Ncat: SHA-256 fingerprint: "), "{log}");
    // The client saw the same certificate, and says it could not verify it.
    assert!(err.contains("Ncat: SSL connection to 127.0.0.1:"), "{err}");
    assert!(
        err.contains("Certificate verification failed (self-signed certificate)."),
        "{err}"
    );
    let fingerprint = |text: &str| {
        text.lines()
            .find(|l| l.contains("SHA-256 fingerprint"))
            .map(str::to_owned)
    };
    assert_eq!(fingerprint(&log), fingerprint(&err));
    assert_eq!(listener.wait_exit().code(), Some(0));
}

#[test]
fn given_certificate_verified_against_a_trust_file() {
    let pki = Pki::new("trusted", &["localhost", "127.0.0.1"]);
    let (mut listener, port) = pki.listen(&["-l", "127.0.0.1", "0"]);
    listener.close_stdin();
    let (port, ca) = (port.to_string(), pki.path("ca.pem"));
    let (code, _, err) = client(&["--ssl-trustfile", &ca, "localhost", &port], b"trusted\n");
    assert_eq!(code, 0, "{err}");
    assert_eq!(listener.wait_stdout_len(8), b"trusted\n");
}

#[test]
fn verification_rejects_an_untrusted_certificate() {
    let (_listener, port) = Proc::listen(&["--ssl", "-l", "127.0.0.1", "0"]);
    let port = port.to_string();
    let (code, out, err) = client(&["--ssl-verify", "127.0.0.1", &port], b"secret\n");
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty());
    assert_eq!(err, "Ncat: Input/output error.\n");
}

#[test]
fn verification_rejects_a_name_mismatch() {
    let pki = Pki::new("mismatch", &["www.example.com"]);
    let (_listener, port) = pki.listen(&["-lk", "127.0.0.1", "0"]);
    let (port, ca) = (port.to_string(), pki.path("ca.pem"));
    let (code, _, err) = client(&["--ssl-trustfile", &ca, "127.0.0.1", &port], b"x");
    assert_eq!(code, 2, "{err}");
    assert_eq!(err, "Ncat: Certificate verification error. QUITTING.\n");
    // The name the certificate has, given as the server name, passes.
    let (code, _, err) = client(
        &[
            "--ssl-trustfile",
            &ca,
            "--ssl-servername",
            "www.example.com",
            "127.0.0.1",
            &port,
        ],
        b"ok\n",
    );
    assert_eq!(code, 0, "{err}");
}

/// A one-shot TLS server in the test: records the SNI name and the negotiated ALPN protocol,
/// sends `reply` and closes the TCP connection without a close_notify alert.
fn recording_server(
    pki: &Pki,
    reply: &'static [u8],
) -> (u16, thread::JoinHandle<(String, String)>) {
    let chain = vec![rustls_pki_types::CertificateDer::from(pem_der(
        &std::fs::read_to_string(pki.path("cert.pem")).unwrap(),
    ))];
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(
        pem_der(&std::fs::read_to_string(pki.path("key.pem")).unwrap()).into(),
    );
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let conn = rustls::ServerConnection::new(Arc::new(config)).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        tls.write_all(reply).unwrap();
        tls.flush().unwrap();
        // Read to the client's EOF first, so the close is not a reset.
        let _ = tls.read_to_end(&mut Vec::new());
        let sni = tls.conn.server_name().unwrap_or_default().to_string();
        let alpn = String::from_utf8_lossy(tls.conn.alpn_protocol().unwrap_or_default()).into();
        (sni, alpn)
    });
    (port, server)
}

/// The DER inside a one-block PEM text.
fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    decode_base64(&body)
}

fn decode_base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|&c| c != b'=') {
        let v = ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[test]
fn sni_and_alpn_reach_the_server_and_an_unclean_close_is_eof() {
    let pki = Pki::new("sni", &["service.test"]);
    let (port, server) = recording_server(&pki, b"banner\n");
    let port = port.to_string();
    let (code, out, err) = client(
        &[
            "--ssl-servername",
            "service.test",
            "--ssl-alpn",
            "h2,http/1.1",
            "127.0.0.1",
            &port,
        ],
        b"",
    );
    let (sni, alpn) = server.join().unwrap();
    assert_eq!(sni, "service.test");
    assert_eq!(alpn, "http/1.1");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, b"banner\n");
}

#[test]
fn chat_over_tls_with_three_clients() {
    let (_listener, port) = Proc::listen(&["-l", "--chat", "--ssl", "127.0.0.1", "0"]);
    let port = port.to_string();
    let mut users: Vec<Proc> = (0..3)
        .map(|_| Proc::spawn(&["--ssl", "127.0.0.1", &port], false))
        .collect();
    // Each client sees the next one arrive.
    users[0].wait_stdout_len(1);
    for user in &users[1..] {
        user.wait_stdout_len(1);
    }
    wait_for(|| {
        String::from_utf8_lossy(&users[0].stdout())
            .contains("already connected")
            .then_some(())
    });
    users[2].write_stdin(b"hello over TLS\n");
    for user in &users[..2] {
        wait_for(|| {
            String::from_utf8_lossy(&user.stdout())
                .contains("> hello over TLS\n")
                .then_some(())
        })
        .unwrap_or_else(|| panic!("got {:?}", String::from_utf8_lossy(&user.stdout())));
    }
    users[0].close_stdin();
    for user in &users[1..] {
        wait_for(|| {
            String::from_utf8_lossy(&user.stdout())
                .contains("is disconnected")
                .then_some(())
        })
        .expect("leave announced");
    }
}

#[test]
fn a_failed_handshake_drops_only_that_client_and_frees_its_slot() {
    let (listener, port) = Proc::listen(&["--broker", "--ssl", "-m", "1", "127.0.0.1", "0"]);
    let mut plain = connect(port);
    plain.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    // Reset, as by Ncat.
    let _ = plain.read_to_end(&mut Vec::new());
    listener.wait_stderr("Failed SSL connection from 127.0.0.1");
    // The failed client took no slot: the one slot goes to the next TLS client (logged as
    // connected after the failed one, which is logged too).
    let port = port.to_string();
    let _first = Proc::spawn(&["--ssl", "127.0.0.1", &port], false);
    wait_for(|| (listener.stderr_count("Connection from 127.0.0.1:") >= 2).then_some(()))
        .expect("the TLS client is admitted");
    assert!(!listener.stderr().contains("connection limit reached"));
    // And -m 1 is in force.
    let _second = Proc::spawn(&["--ssl", "127.0.0.1", &port], false);
    listener.wait_stderr("connection limit reached");
}

#[test]
fn a_failed_handshake_ends_a_single_listener_with_status_1() {
    let (mut listener, port) = Proc::listen(&["-l", "--ssl", "127.0.0.1", "0"]);
    let mut plain = connect(port);
    plain.write_all(b"not TLS at all\r\n\r\n").unwrap();
    let mut sink = Vec::new();
    let _ = plain.read_to_end(&mut sink);
    assert_eq!(listener.wait_exit().code(), Some(1));
}

#[test]
fn exec_over_tls() {
    let (_listener, port) =
        Proc::listen(&["-l", "--ssl", "-k", "-e", "/bin/cat", "127.0.0.1", "0"]);
    let port = port.to_string();
    for round in 0..2 {
        let line = format!("echo {round}\n");
        let (code, out, err) = client(&["--ssl", "127.0.0.1", &port], line.as_bytes());
        assert_eq!(code, 0, "{err}");
        assert_eq!(out, line.as_bytes());
    }
}

#[test]
fn cipher_suites_are_chosen_by_name() {
    let (_listener, port) = Proc::listen(&[
        "--ssl-ciphers",
        "TLS13_AES_256_GCM_SHA384",
        "-lk",
        "127.0.0.1",
        "0",
    ]);
    let port = port.to_string();
    let (code, _, err) = client(
        &[
            "--ssl-ciphers",
            "TLS13_AES_256_GCM_SHA384",
            "127.0.0.1",
            &port,
        ],
        b"x",
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = client(
        &[
            "--ssl-ciphers",
            "TLS13_CHACHA20_POLY1305_SHA256",
            "127.0.0.1",
            &port,
        ],
        b"x",
    );
    assert_eq!(code, 1, "{err}");
}

#[test]
fn option_checks() {
    let fails = |args: &[&str], message: &str| {
        let out = ncat().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{args:?}: {err}");
    };
    fails(
        &["--ssl-cert", "x.pem", "127.0.0.1", "1"],
        "The --ssl-key and --ssl-cert options must be used together.",
    );
    fails(
        &[
            "--ssl-trustfile",
            "a",
            "--ssl-trustfile",
            "b",
            "127.0.0.1",
            "1",
        ],
        "The --ssl-trustfile option may be given only once.",
    );
    fails(
        &["-l", "--ssl-alpn", "h2", "127.0.0.1", "0"],
        "Ncat: ALPN is not supported in listen mode\n QUITTING.",
    );
    fails(
        &["-U", "--ssl", "/tmp/nothing.sock"],
        "SSL option not supported when using Unix domain sockets.",
    );
    fails(
        &["--ssl-ciphers", "HIGH:!aNULL", "127.0.0.1", "1"],
        "OpenSSL cipher strings are not supported",
    );
    fails(
        &[
            "-l",
            "--ssl-cert",
            "/nonexistent.pem",
            "--ssl-key",
            "/nonexistent.key",
            "0",
        ],
        "Unable to read the certificate file \"/nonexistent.pem\"",
    );
    let dir = Path::new("/");
    fails(
        &[
            "--ssl-verify",
            "--ssl-trustfile",
            dir.to_str().unwrap(),
            "127.0.0.1",
            "1",
        ],
        "Unable to read the trust file \"/\"",
    );
}

/// A certificate and key made by openssl in a fresh directory, and its public key's pin as
/// OpenSSL's own tools compute it (base64 of the SHA-256 of the DER SubjectPublicKeyInfo).
fn pinned_pair(tag: &str) -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("ncat-pin-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let shell = |script: &str| sh_in(&dir, script);
    shell(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost -keyout k.pem -out c.pem -days 1 2>/dev/null",
    );
    let pin = shell(
        "openssl x509 -in c.pem -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64",
    );
    (dir, pin)
}

#[test]
fn ssl_pin_admits_the_pinned_key_and_refuses_any_other_over_tls_and_dtls() {
    let (dir, pin) = pinned_pair("both");
    let (cert, key) = (dir.join("c.pem"), dir.join("k.pem"));
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    use base64::Engine;
    let digest = base64::engine::general_purpose::STANDARD
        .decode(&pin)
        .unwrap();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    for udp in [false, true] {
        let proto: &[&str] = if udp { &["-u"] } else { &[] };
        let mut server_args = proto.to_vec();
        server_args.extend_from_slice(&["-l", "-k", "--ssl-cert", cert, "--ssl-key", key]);
        server_args.extend_from_slice(&["-e", "/bin/cat", "127.0.0.1", "0"]);
        let (_server, port) = Proc::listen(&server_args);
        let port = port.to_string();
        for good in [format!("sha256:{pin}"), format!("sha256:{hex}")] {
            let mut args = proto.to_vec();
            args.extend_from_slice(&[
                "--ssl-pin",
                "sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            ]);
            args.extend_from_slice(&["--ssl-pin", &good, "127.0.0.1", &port]);
            let mut client = Proc::spawn(&args, false);
            client.write_stdin(b"pinned\n");
            assert_eq!(client.wait_stdout_len(7), b"pinned\n", "udp {udp}");
        }
        let mut args = proto.to_vec();
        let other = "sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        args.extend_from_slice(&["--ssl-pin", other, "127.0.0.1", &port]);
        let mut refused = Proc::spawn(&args, false);
        let status = refused.wait_exit();
        assert_eq!(status.code(), Some(1), "udp {udp}: {}", refused.stderr());
        let said = refused.stderr();
        assert!(
            said.contains(&format!(
                "Certificate pin mismatch: the server's public key is sha256:{pin}."
            )),
            "udp {udp}: {said}"
        );
        assert!(refused.stdout().is_empty());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ssl_pin_errors() {
    for (args, message) in [
        (
            &["--ssl-pin", "md5:abcd", "127.0.0.1", "1"][..],
            "Invalid --ssl-pin \"md5:abcd\"",
        ),
        (
            &["--ssl-pin", "sha256:abcd", "127.0.0.1", "1"][..],
            "Invalid --ssl-pin \"sha256:abcd\"",
        ),
        (
            &[
                "-l",
                "--ssl-pin",
                "sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                "127.0.0.1",
                "0",
            ][..],
            "--ssl-pin applies to connect mode only.",
        ),
    ] {
        let mut command = ncat();
        command.args(args);
        let (status, _, stderr) = run_command(command, b"");
        assert_eq!(status, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

#[test]
fn ssl_client_ca_requires_a_client_certificate_from_that_ca_over_tls_and_dtls() {
    let dir = std::env::temp_dir().join(format!("ncat-mtls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = "set -e
        ec='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'
        openssl req -x509 $ec -subj /CN=test-ca -keyout ca.key -out ca.pem -days 1
        openssl req -x509 $ec -subj /CN=other-ca -keyout other.key -out other.pem -days 1
        printf 'basicConstraints=CA:FALSE\\nextendedKeyUsage=clientAuth\\n' > ext
        for who in alice:ca mallory:other; do
            name=${who%%:*}; ca=${who#*:}
            openssl req $ec -subj /CN=$name -keyout $name.key -out $name.csr
            openssl x509 -req -in $name.csr -CA $ca.pem -CAkey $ca.key -CAcreateserial \\
                -extfile ext -days 1 -out $name.pem
        done";
    sh_in(&dir, script);
    let file = |name: &str| dir.join(name).to_str().unwrap().to_string();
    for udp in [false, true] {
        let proto: &[&str] = if udp { &["-u"] } else { &[] };
        let ca = file("ca.pem");
        let mut server_args = proto.to_vec();
        server_args.extend_from_slice(&["-l", "-k", "--ssl-client-ca", &ca]);
        server_args.extend_from_slice(&["-e", "/bin/cat", "127.0.0.1", "0"]);
        let (mut server, port) = Proc::listen(&server_args);
        let port = port.to_string();
        let (alice, alice_key) = (file("alice.pem"), file("alice.key"));
        let mut args = proto.to_vec();
        args.extend_from_slice(&["--ssl-cert", &alice, "--ssl-key", &alice_key]);
        args.extend_from_slice(&["127.0.0.1", &port]);
        let mut client = Proc::spawn(&args, false);
        client.write_stdin(b"mutual\n");
        assert_eq!(client.wait_stdout_len(7), b"mutual\n", "udp {udp}");
        server.wait_stderr("Client certificate: CN=alice (issued by CN=test-ca)");

        let (mallory, mallory_key) = (file("mallory.pem"), file("mallory.key"));
        let mut strangers = Vec::new();
        let mut args = proto.to_vec();
        args.extend_from_slice(&["--ssl-cert", &mallory, "--ssl-key", &mallory_key]);
        args.extend_from_slice(&["127.0.0.1", &port]);
        strangers.push(Proc::spawn(&args, false));
        let mut args = proto.to_vec();
        args.extend_from_slice(&["--ssl", "127.0.0.1", &port]);
        strangers.push(Proc::spawn(&args, false));
        for mut stranger in strangers {
            let _ = stranger.stdin.as_mut().map(|s| s.write_all(b"let me in\n"));
            // Refused: the handshake fails (or the connection is closed at once); nothing is
            // ever echoed.
            stranger.wait_exit();
            assert!(stranger.stdout().is_empty(), "udp {udp}");
        }
        // The server may log a refusal after the stranger has already given up.
        server.wait_stderr_count("Failed SSL connection from", 2);
        assert!(server.is_running());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

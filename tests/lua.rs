//! `--lua-exec`: a Lua script per connection, its `io` being the connection, in every transport.

use crate::common::*;
use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

/// Writes the test scripts into a scratch directory (once: tests run in parallel and read
/// them) and returns it.
fn scripts() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(write_scripts).clone()
}

fn write_scripts() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ncat-lua-scripts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files = [
        (
            "upper.lua",
            "while true do\n  local line = io.read('L')\n  if line == nil then break end\n  io.write(line:upper())\n  io.flush()\nend\n",
        ),
        (
            "env.lua",
            "#!/usr/bin/lua\nfor _, v in ipairs({'NCAT_REMOTE_ADDR', 'NCAT_LOCAL_PORT', 'NCAT_PROTO'}) do\n  print(v .. '=' .. tostring(os.getenv(v)))\nend\n",
        ),
        (
            "fails.lua",
            "io.write('before\\n')\nio.flush()\nerror('on purpose')\n",
        ),
        (
            "count.lua",
            "local all = io.read('a')\nio.write(('%d bytes\\n'):format(#all))\n",
        ),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir
}

fn script(name: &str) -> String {
    scripts().join(name).to_string_lossy().into_owned()
}

#[test]
fn a_script_upper_cases_over_tcp_for_each_client() {
    let upper = script("upper.lua");
    let (_listener, port) = Proc::listen(&["-l", "-k", "--lua-exec", &upper, "127.0.0.1", "0"]);
    for round in 0..2 {
        let mut client = connect(port);
        let line = format!("hello {round}\n");
        client.write_all(line.as_bytes()).unwrap();
        assert_eq!(
            read_n(&mut client, line.len()),
            line.to_uppercase().as_bytes()
        );
    }
}

#[test]
fn a_script_sees_the_ncat_environment() {
    let env = script("env.lua");
    let (_listener, port) = Proc::listen(&["-l", "--lua-exec", &env, "127.0.0.1", "0"]);
    let mut client = connect(port);
    let text = String::from_utf8(read_to_end(&mut client)).unwrap();
    assert_eq!(
        text,
        format!("NCAT_REMOTE_ADDR=127.0.0.1\nNCAT_LOCAL_PORT={port}\nNCAT_PROTO=TCP\n")
    );
}

#[test]
fn a_failing_script_ends_its_connection_not_the_server() {
    let fails = script("fails.lua");
    let (listener, port) = Proc::listen(&["-l", "-k", "--lua-exec", &fails, "127.0.0.1", "0"]);
    for _ in 0..2 {
        let mut client = connect(port);
        assert_eq!(read_to_end(&mut client), b"before\n");
    }
    let log = listener.wait_stderr("Ncat: Error running the Lua script: ");
    assert!(log.contains("fails.lua:3: on purpose"), "{log}");
}

#[test]
fn a_script_reads_until_eof_then_replies() {
    let count = script("count.lua");
    let (_listener, port) = Proc::listen(&["-l", "--lua-exec", &count, "127.0.0.1", "0"]);
    let mut client = connect(port);
    client.write_all(&[b'x'; 10_000]).unwrap();
    half_close(&client);
    assert_eq!(read_to_end(&mut client), b"10000 bytes\n");
}

#[test]
fn a_script_in_connect_mode() {
    let upper = script("upper.lua");
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port().to_string();
    let mut client = Proc::spawn(&["--lua-exec", &upper, "127.0.0.1", &port], true);
    let (mut conn, _) = server.accept().unwrap();
    conn.set_read_timeout(Some(PATIENCE)).unwrap();
    conn.write_all(b"from the server\n").unwrap();
    assert_eq!(read_n_from(&mut conn, 16), b"FROM THE SERVER\n");
    drop(conn);
    assert_eq!(client.wait_exit().code(), Some(0));
}

fn read_n_from(stream: &mut impl Read, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    stream.read_exact(&mut buf).unwrap();
    buf
}

#[test]
fn a_script_over_udp() {
    let env = script("env.lua");
    let (_listener, port) = Proc::listen(&["-u", "-l", "--lua-exec", &env, "127.0.0.1", "0"]);
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(PATIENCE)).unwrap();
    peer.send_to(b"hi\n", ("127.0.0.1", port)).unwrap();
    let mut got = String::new();
    let mut buf = [0u8; 512];
    while !got.contains("NCAT_PROTO=") {
        let (n, _) = peer.recv_from(&mut buf).unwrap();
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(got.contains("NCAT_PROTO=UDP"), "{got}");
}

#[test]
fn a_script_over_tls() {
    let upper = script("upper.lua");
    let (_listener, port) = Proc::listen(&["-l", "--ssl", "--lua-exec", &upper, "127.0.0.1", "0"]);
    let (code, out, err) = run_command(
        {
            let mut c = ncat();
            c.args(["--ssl", "127.0.0.1", &port.to_string()]);
            c
        },
        b"secret\n",
    );
    assert_eq!((code, out.as_slice()), (0, &b"SECRET\n"[..]), "{err}");
}

#[test]
fn a_script_over_a_unix_socket() {
    let upper = script("upper.lua");
    let path = scripts().join("lua.sock");
    let _ = std::fs::remove_file(&path);
    let path_arg = path.to_str().unwrap();
    let _listener = Proc::listen_ready(&["-l", "-U", "--lua-exec", &upper, path_arg]);
    let mut client = UnixStream::connect(&path).unwrap();
    client.set_read_timeout(Some(PATIENCE)).unwrap();
    client.write_all(b"unix\n").unwrap();
    assert_eq!(read_n_from(&mut client, 5), b"UNIX\n");
}

#[test]
fn a_broken_script_is_refused_at_start() {
    let dir = scripts();
    let bad = dir.join("bad.lua");
    std::fs::write(&bad, "x = = 1\n").unwrap();
    let out = ncat()
        .args(["-l", "--lua-exec"])
        .arg(&bad)
        .arg("0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "Ncat: Error loading the Lua script: {}:1: unexpected symbol near '='. QUITTING.\n",
            bad.display()
        )
    );
}

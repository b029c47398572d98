//! `-e` and `-c`: a child process per connection.

use crate::common::*;
use std::io::Write;
use std::net::TcpListener;
use std::thread;

#[test]
fn cat_round_trip_is_byte_identical() {
    let (mut listener, port) = Proc::listen(&["-l", "-e", "/bin/cat", "127.0.0.1", "0"]);
    let data = pattern(4 << 20, 5);
    let mut conn = connect(port);
    let mut writer = conn.try_clone().unwrap();
    let sent = data.clone();
    let feeder = thread::spawn(move || {
        writer.write_all(&sent).unwrap();
        half_close(&writer);
    });
    let got = read_to_end(&mut conn);
    feeder.join().unwrap();
    assert_eq!(got.len(), data.len());
    assert_eq!(checksum(&got), checksum(&data));
    assert!(listener.wait_exit().success());
}

#[test]
fn child_output_after_the_clients_eof_still_arrives() {
    // Ncat 7.93 usually printed nothing here.
    let (_listener, port) = Proc::listen(&[
        "-l",
        "-c",
        "read x; sleep 0.2; echo got $x",
        "127.0.0.1",
        "0",
    ]);
    let mut client = Proc::spawn(&["127.0.0.1", &port.to_string()], false);
    client.write_stdin(b"ping\n");
    client.close_stdin();
    assert!(client.wait_exit().success());
    assert_eq!(client.stdout(), b"got ping\n");
}

#[test]
fn shell_children_see_the_connection_in_their_environment() {
    let (_listener, port) = Proc::listen(&[
        "-l",
        "-c",
        "echo $NCAT_REMOTE_ADDR $NCAT_REMOTE_PORT $NCAT_LOCAL_ADDR $NCAT_LOCAL_PORT $NCAT_PROTO",
        "127.0.0.1",
        "0",
    ]);
    let mut conn = connect(port);
    let me = conn.local_addr().unwrap();
    let got = String::from_utf8(read_to_end(&mut conn)).unwrap();
    assert_eq!(
        got,
        format!("127.0.0.1 {} 127.0.0.1 {port} TCP\n", me.port())
    );
}

#[test]
fn children_inherit_only_stdio() {
    let log = std::env::temp_dir().join(format!("ncat-exec-fd-{}", std::process::id()));
    let (_listener, port) = Proc::listen(&[
        "-lk",
        "-o",
        log.to_str().unwrap(),
        "-c",
        "ls /proc/self/fd",
        "127.0.0.1",
        "0",
    ]);
    let mut conn = connect(port);
    let got = String::from_utf8(read_to_end(&mut conn)).unwrap();
    // ls itself opens one descriptor (3) to read the directory.
    let fds: Vec<&str> = got.lines().collect();
    assert!(
        fds.iter().all(|fd| ["0", "1", "2", "3"].contains(fd)),
        "{fds:?}"
    );
    let _ = std::fs::remove_file(&log);
}

/// A descriptor the server inherited without close-on-exec (fd 9 here) does not reach the
/// children either.
#[test]
fn children_do_not_get_what_the_server_inherited() {
    use std::os::unix::process::CommandExt;
    let mut command = ncat();
    command.args(["-v", "-lk", "-c", "ls /proc/self/fd", "127.0.0.1", "0"]);
    // SAFETY: dup2 only, between fork and exec; the new descriptor is not close-on-exec.
    unsafe {
        command.pre_exec(|| {
            libc::dup2(2, 9);
            Ok(())
        });
    }
    let listener = Proc::spawn_command(command);
    listener.wait_stderr("Listening on ");
    let mut conn = connect(listener.listening_port());
    let got = String::from_utf8(read_to_end(&mut conn)).unwrap();
    let fds: Vec<&str> = got.lines().collect();
    assert!(!fds.is_empty());
    assert!(
        fds.iter().all(|fd| ["0", "1", "2", "3"].contains(fd)),
        "{fds:?}"
    );
}

#[test]
fn keep_open_runs_a_child_per_client_within_max_conns() {
    let (listener, port) = Proc::listen(&[
        "-lk",
        "-m",
        "1",
        "-c",
        "read x; echo hello $x",
        "127.0.0.1",
        "0",
    ]);
    let mut first = connect(port);
    listener.wait_stderr("Connection from 127.0.0.1:");
    let mut second = connect(port);
    // The second is over the limit while the first child lives.
    assert_eq!(read_to_end(&mut second), b"");
    listener.wait_stderr("connection limit reached (1)");
    first.write_all(b"one\n").unwrap();
    assert_eq!(read_to_end(&mut first), b"hello one\n");
    // The slot is free again.
    let third = wait_for(|| {
        let mut c = connect(port);
        c.write_all(b"three\n").ok()?;
        let got = read_to_end(&mut c);
        (!got.is_empty()).then_some(got)
    })
    .unwrap();
    assert_eq!(third, b"hello three\n");
    assert_eq!(listener.stdout(), b"");
}

#[test]
fn connect_mode_exec() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port().to_string();
    let srv = thread::spawn(move || {
        let (mut conn, _) = server.accept().unwrap();
        conn.set_read_timeout(Some(PATIENCE)).unwrap();
        conn.write_all(b"echo me\n").unwrap();
        half_close(&conn);
        read_to_end(&mut conn)
    });
    let out = ncat()
        .args(["-e", "/bin/cat", "127.0.0.1", &port])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(srv.join().unwrap(), b"echo me\n");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_program_that_cannot_run() {
    let (mut listener, port) = Proc::listen(&["-l", "-e", "no-such-program", "127.0.0.1", "0"]);
    let mut conn = connect(port);
    assert_eq!(read_to_end(&mut conn), b"");
    assert!(listener.wait_exit().success());
    assert!(
        listener
            .stderr()
            .contains("exec: No such file or directory\n"),
        "{}",
        listener.stderr()
    );
}

#[test]
fn exec_option_errors() {
    for (args, msg) in [
        (
            &["-l", "-e", "/bin/cat", "-c", "cat"][..],
            "Only one of --exec, --sh-exec, and --lua-exec is allowed.",
        ),
        (
            &["--broker", "-e", "/bin/cat"][..],
            "Invalid option combination: --broker and -e.",
        ),
        (
            &["-z", "-c", "true", "127.0.0.1", "80"][..],
            "Command execution can't be done along with option -z.",
        ),
        (
            &["-l", "--lua-exec", "/nonexistent/x.lua"][..],
            "Error loading the Lua script: cannot open /nonexistent/x.lua: No such file or directory.",
        ),
    ] {
        let out = ncat().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("Ncat: {msg} QUITTING.\n")
        );
    }
}

//! The POP3 listener against real clients: Python's `poplib`, `openssl s_client`, and raw
//! sockets for what no well-behaved client sends.

// The fixture's helpers are not `#[test]` functions, but a failed setup step should panic
// there just the same.
#![allow(clippy::unwrap_used)]

mod pop3_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use kx_testkit::run_with_input;
use pop3_support::{BACKEND_LOCKOUT, BUSY_PASSWORD, TestServer, Tls, sample_messages};
use serde_json::json;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn alice_messages() -> Vec<Vec<u8>> {
    sample_messages()
        .into_iter()
        .filter(|(user, _)| *user == "alice")
        .map(|(_, bytes)| bytes)
        .collect()
}

/// Connects a raw socket and reads the greeting.
fn raw(server: &TestServer) -> (BufReader<TcpStream>, TcpStream) {
    let stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    assert!(read_line(&mut reader).starts_with("+OK"));
    (reader, stream)
}

fn read_line(reader: &mut impl BufRead) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    line
}

#[test]
fn poplib_reads_everything_exactly_over_stls() {
    let server = TestServer::start();
    let out = server.python(
        r#"
m = connect()
out["capa_plain"] = sorted(m.capa())
m.stls(CONTEXT)
out["capa_tls"] = sorted(m.capa())
m.user("alice")
out["pass"] = m.pass_("alice-pw").decode()
out["stat"] = list(m.stat())
out["list"] = [l.decode() for l in m.list()[1]]
out["list_2"] = m.list(2).decode()
out["uidl"] = [l.decode() for l in m.uidl()[1]]
out["retr"] = [message(m.retr(n)[1]) for n in (1, 2, 3)]
out["top_0"] = message(m.top(1, 0)[1])
out["top_1"] = message(m.top(2, 2)[1])
out["no_such"] = error(m.retr, 9)
out["noop"] = m.noop().decode()
out["stls_again"] = error(m._shortcmd, "STLS")
out["quit"] = m.quit().decode()
"#,
    );
    let messages = alice_messages();
    let sizes: Vec<usize> = messages.iter().map(Vec::len).collect();
    let total: usize = sizes.iter().sum();
    assert_eq!(
        out["capa_plain"],
        json!([
            "AUTH-RESP-CODE",
            "IMPLEMENTATION",
            "PIPELINING",
            "RESP-CODES",
            "STLS",
            "TOP",
            "UIDL"
        ])
    );
    assert_eq!(
        out["capa_tls"],
        json!([
            "AUTH-RESP-CODE",
            "IMPLEMENTATION",
            "PIPELINING",
            "RESP-CODES",
            "SASL",
            "TOP",
            "UIDL",
            "USER"
        ])
    );
    assert_eq!(
        out["pass"],
        format!("+OK Maildrop has 3 messages ({total} octets)")
    );
    assert_eq!(out["stat"], json!([3, total]));
    let list: Vec<String> = (0..3).map(|i| format!("{} {}", i + 1, sizes[i])).collect();
    assert_eq!(out["list"], json!(list));
    assert_eq!(out["list_2"], format!("+OK 2 {}", sizes[1]));
    assert_eq!(
        out["uidl"],
        json!(["1 alice-0000", "2 alice-0001", "3 alice-0002"])
    );
    let retrieved: Vec<String> = messages.iter().map(|m| hex(m)).collect();
    assert_eq!(out["retr"], json!(retrieved));
    let top_0 = b"From: kxd@example.jp\r\nSubject: Transmit Accept\r\n\r\n";
    assert_eq!(out["top_0"], hex(top_0));
    assert_eq!(
        out["top_1"],
        hex(b"Subject: dots\r\n\r\n.leading dot\r\n.\r\n")
    );
    assert_eq!(out["no_such"], "-ERR No such message");
    assert_eq!(out["noop"], "+OK");
    assert_eq!(out["stls_again"], "-ERR Already authenticated");
    assert!(out["quit"].as_str().unwrap().starts_with("+OK"));
    assert_eq!(server.backend.maildrop("alice").len(), 3);
    let audit = server.backend.audit();
    assert!(
        audit[0].starts_with("LoginSucceeded { user: \"alice\""),
        "{audit:?}"
    );
    let reads = audit.iter().filter(|e| e.starts_with("Read")).count();
    assert_eq!(reads, 5, "{audit:?}");
}

#[test]
fn deletions_happen_at_quit_and_uids_stay_stable() {
    let server = TestServer::start();
    let out = server.python(
        r#"
m = login()
out["dele"] = m.dele(1).decode()
out["dele_again"] = error(m.dele, 1)
out["retr_deleted"] = error(m.retr, 1)
out["stat"] = list(m.stat())
out["uidl"] = [l.decode() for l in m.uidl()[1]]
out["rset"] = m.rset().decode()
out["stat_rset"] = list(m.stat())[0]
m.dele(1)
m.dele(3)
"#,
    );
    assert_eq!(out["dele"], "+OK Message 1 marked for deletion");
    assert_eq!(out["dele_again"], "-ERR Message is deleted");
    assert_eq!(out["retr_deleted"], "-ERR Message is deleted");
    assert_eq!(out["stat"][0], 2);
    assert_eq!(out["uidl"], json!(["2 alice-0001", "3 alice-0002"]));
    assert_eq!(out["stat_rset"], 3);
    // The script ended without QUIT: nothing may be gone.
    server.backend.wait_unlocked("alice");
    assert_eq!(server.backend.maildrop("alice").len(), 3);

    let out = server.python(
        r#"
m = login()
out["before"] = [l.decode() for l in m.uidl()[1]]
m.dele(1)
m.dele(3)
out["quit"] = m.quit().decode()
m = login()
out["after"] = [l.decode() for l in m.uidl()[1]]
out["retr"] = message(m.retr(1)[1])
m.quit()
"#,
    );
    assert_eq!(
        out["before"],
        json!(["1 alice-0000", "2 alice-0001", "3 alice-0002"])
    );
    assert_eq!(
        out["quit"],
        "+OK kxd POP3 server signing off (1 messages left)"
    );
    assert_eq!(out["after"], json!(["1 alice-0001"]));
    assert_eq!(out["retr"], hex(&alice_messages()[1]));
    assert_eq!(server.backend.uids("alice"), ["alice-0001"]);
    let audit = server.backend.audit();
    assert!(
        audit.contains(&r#"Deleted { user: "alice", uids: ["alice-0000", "alice-0002"] }"#.into()),
        "{audit:?}"
    );
    // Bob's maildrop was never touched.
    assert_eq!(server.backend.maildrop("bob").len(), 1);
}

#[test]
fn maildrop_lock_is_exclusive() {
    let server = TestServer::start();
    let out = server.python(
        r#"
first = login()
second = tls()
second.user("alice")
out["second"] = error(second.pass_, "alice-pw")
out["bob"] = login("bob").stat()[0]
first.quit()
out["after_quit"] = login().stat()[0]
"#,
    );
    assert_eq!(
        out["second"],
        "-ERR [IN-USE] Maildrop is locked by another session"
    );
    assert_eq!(out["bob"], 1);
    assert_eq!(out["after_quit"], 3);
}

#[test]
fn plaintext_login_needs_tls() {
    let server = TestServer::start();
    let out = server.python(
        r#"
m = connect()
out["user"] = error(m.user, "alice")
out["pass"] = error(m.pass_, "alice-pw")
out["auth"] = error(m._shortcmd, "AUTH PLAIN " + plain("alice", "alice-pw"))
out["stat"] = error(m.stat)
m.quit()
"#,
    );
    let refused = "-ERR [AUTH] Plaintext authentication requires TLS: use STLS first";
    assert_eq!(out["user"], refused);
    assert_eq!(out["pass"], refused);
    assert_eq!(out["auth"], refused);
    assert_eq!(out["stat"], "-ERR Not authenticated");
    assert!(server.backend.audit().is_empty());
}

#[test]
fn plaintext_login_when_the_operator_allows_it() {
    let server = TestServer::start_with(Tls::Disabled, |config| {
        config.allow_plaintext_auth = true;
    });
    let out = server.python(
        r#"
m = connect()
out["capa"] = sorted(m.capa())
out["stls"] = error(m._shortcmd, "STLS")
m.user("alice")
m.pass_("alice-pw")
out["stat"] = m.stat()[0]
m.quit()
"#,
    );
    assert_eq!(out["stls"], "-ERR STLS is not available");
    assert!(out["capa"].as_array().unwrap().contains(&json!("USER")));
    assert!(!out["capa"].as_array().unwrap().contains(&json!("STLS")));
    assert_eq!(out["stat"], 3);
}

#[test]
fn auth_plain_after_stls() {
    let server = TestServer::start();
    let out = server.python(
        r#"
m = tls()
out["mechanisms"] = [l.decode() for l in m._longcmd("AUTH")[1]]
out["other"] = error(m._shortcmd, "AUTH CRAM-MD5")
out["bad_b64"] = error(m._shortcmd, "AUTH PLAIN !!!")
out["authzid"] = error(m._shortcmd, "AUTH PLAIN " + plain("alice", "alice-pw", "bob"))
out["cancel_challenge"] = m._shortcmd("AUTH PLAIN").decode()
out["cancel"] = error(m._shortcmd, "*")
out["initial"] = m._shortcmd("AUTH PLAIN " + plain("alice", "alice-pw")).decode()
out["stat"] = m.stat()[0]
m.quit()
m = tls()
out["challenge"] = m._shortcmd("auth plain").decode()
out["continued"] = m._shortcmd(plain("bob", "bob-pw", "bob")).decode()
out["bob_uidl"] = [l.decode() for l in m.uidl()[1]]
m.quit()
"#,
    );
    assert_eq!(out["mechanisms"], json!(["PLAIN"]));
    assert_eq!(
        out["other"],
        "-ERR Unsupported SASL mechanism; PLAIN is supported"
    );
    assert_eq!(out["bad_b64"], "-ERR Malformed SASL response");
    assert_eq!(out["authzid"], "-ERR Malformed SASL response");
    assert_eq!(out["cancel_challenge"], "+ ");
    assert_eq!(out["cancel"], "-ERR Authentication cancelled");
    let total: usize = alice_messages().iter().map(Vec::len).sum();
    assert_eq!(
        out["initial"],
        format!("+OK Maildrop has 3 messages ({total} octets)")
    );
    assert_eq!(out["stat"], 3);
    assert_eq!(out["challenge"], "+ ");
    assert!(out["continued"].as_str().unwrap().starts_with("+OK"));
    assert_eq!(out["bob_uidl"], json!(["1 bob-0003"]));
}

#[test]
fn busy_password_checks_are_a_temporary_failure_not_a_failed_login() {
    let server = TestServer::start();
    let out = server.python(&format!(
        r#"
m = tls()
out["busy"] = []
for _ in range(4):
    m.user("alice")
    out["busy"].append(error(m.pass_, {BUSY_PASSWORD:?}))
m.user("alice")
out["after"] = m.pass_("alice-pw").decode()
"#
    ));
    let busy = "-ERR [SYS/TEMP] Server busy, try again later";
    assert_eq!(out["busy"], json!([busy, busy, busy, busy]));
    assert!(out["after"].as_str().unwrap().starts_with("+OK"), "{out}");
}

#[test]
fn failed_logins_look_alike_and_end_the_session() {
    let server = TestServer::start();
    let out = server.python(
        r#"
m = tls()
m.user("alice")
out["wrong"] = error(m.pass_, "guess")
m.user("nobody")
out["unknown"] = error(m.pass_, "guess")
m.user("alice")
out["third"] = error(m.pass_, "guess again")
try:
    m.noop()
    out["closed"] = False
except (EOFError, OSError, poplib.error_proto):
    out["closed"] = True
"#,
    );
    assert_eq!(out["wrong"], "-ERR [AUTH] Authentication failed");
    assert_eq!(out["unknown"], out["wrong"]);
    assert_eq!(out["third"], out["wrong"]);
    assert_eq!(out["closed"], true);

    // The backend locks alice out after a few more failures; the client sees the same reply
    // as for a wrong password, even with the right one.
    let out = server.python(&format!(
        r#"
for _ in range({BACKEND_LOCKOUT}):
    m = tls()
    m.user("alice")
    error(m.pass_, "guess")
m = tls()
m.user("alice")
out["locked"] = error(m.pass_, "alice-pw")
"#
    ));
    assert_eq!(out["locked"], "-ERR [AUTH] Authentication failed");
    let audit = server.backend.audit();
    assert!(
        audit
            .last()
            .unwrap()
            .starts_with("LoginFailed { user: \"alice\", source: 127.0.0.1, locked_out: true"),
        "{audit:?}"
    );
    assert!(audit.iter().all(|event| !event.contains("guess")));
}

#[test]
fn junk_never_takes_the_listener_down() {
    let server = TestServer::start();
    let (mut reader, mut stream) = raw(&server);
    let mut junk: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    junk.retain(|&b| b != b'\n');
    stream.write_all(&junk).unwrap();
    stream.write_all(b"\r\n").unwrap();
    assert_eq!(read_line(&mut reader), "-ERR Line too long\r\n");
    let script: &[&[u8]] = &[
        b"\0\0\0\r\n",
        b"\xff\xfe USER\r\n",
        b"LIST 99999999999999999999\r\n",
        b"TOP\r\n",
        b"RETR 1\r\n",
        b"PASS before user\r\n",
        b"\r\n",
    ];
    stream.write_all(&script.concat()).unwrap();
    let replies: Vec<String> = script.iter().map(|_| read_line(&mut reader)).collect();
    assert_eq!(
        replies,
        [
            "-ERR Unknown command\r\n",
            "-ERR Unknown command\r\n",
            "-ERR Syntax: LIST [msg]\r\n",
            "-ERR Syntax: TOP msg n\r\n",
            "-ERR Not authenticated\r\n",
            "-ERR [AUTH] Plaintext authentication requires TLS: use STLS first\r\n",
            "-ERR Unknown command\r\n",
        ]
    );
    // Garbage where the TLS handshake should be, then a client that hangs up mid-line.
    let (mut reader, mut stream) = raw(&server);
    stream.write_all(b"STLS\r\n").unwrap();
    assert!(read_line(&mut reader).starts_with("+OK"));
    stream
        .write_all(&[0x16, 0x03, 0x01, 0xff, 0xff, 0, 1, 2])
        .unwrap();
    let mut rest = Vec::new();
    let _ = reader.read_to_end(&mut rest);
    let (_, mut stream) = raw(&server);
    stream.write_all(b"USER half a li").unwrap();
    drop(stream);

    let out = server.python(r#"out["stat"] = login().stat()[0]"#);
    assert_eq!(out["stat"], 3);
}

#[test]
fn a_dropped_connection_deletes_nothing_and_releases_the_lock() {
    let server = TestServer::start();
    server.python(
        r#"
m = login()
m.dele(1)
m.dele(2)
m.retr(3)
m.sock.close()
"#,
    );
    server.backend.wait_unlocked("alice");
    assert_eq!(server.backend.maildrop("alice").len(), 3);
    let out = server.python(r#"out["stat"] = login().stat()[0]"#);
    assert_eq!(out["stat"], 3);
}

#[test]
fn shutdown_ends_sessions_without_deleting() {
    let server = TestServer::start();
    let (mut reader, mut stream) = raw(&server);
    let backend = server.backend.clone();
    let mut tls = rustls_after_stls(&server, &mut reader, &mut stream);
    tls.write_all(b"USER alice\r\nPASS alice-pw\r\nDELE 1\r\n")
        .unwrap();
    let mut tls = BufReader::new(tls);
    for _ in 0..3 {
        assert!(read_line(&mut tls).starts_with("+OK"));
    }
    server.stop();
    assert_eq!(
        read_line(&mut tls),
        "-ERR [SYS/TEMP] Server shutting down\r\n"
    );
    assert!(!backend.is_locked("alice"));
    assert_eq!(backend.maildrop("alice").len(), 3);
}

/// Sends STLS (and whatever `injected` plaintext with it) and completes the handshake with
/// rustls, trusting only the test CA.
fn rustls_after_stls(
    server: &TestServer,
    reader: &mut BufReader<TcpStream>,
    stream: &mut TcpStream,
) -> tokio_rustls::rustls::StreamOwned<tokio_rustls::rustls::ClientConnection, TcpStream> {
    stls_with_injection(server, reader, stream, b"")
}

fn stls_with_injection(
    server: &TestServer,
    reader: &mut BufReader<TcpStream>,
    stream: &mut TcpStream,
    injected: &[u8],
) -> tokio_rustls::rustls::StreamOwned<tokio_rustls::rustls::ClientConnection, TcpStream> {
    stream.write_all(&[b"STLS\r\n", injected].concat()).unwrap();
    assert_eq!(read_line(reader), "+OK Begin TLS negotiation\r\n");
    assert!(reader.buffer().is_empty());
    let name = "localhost".try_into().unwrap();
    let connection =
        tokio_rustls::rustls::ClientConnection::new(server.pki.client_config(), name).unwrap();
    tokio_rustls::rustls::StreamOwned::new(connection, stream.try_clone().unwrap())
}

#[test]
fn plaintext_pipelined_after_stls_is_discarded() {
    let server = TestServer::start();
    let (mut reader, mut stream) = raw(&server);
    // Sent in one segment with STLS: if the server kept it, it would answer CAPA first,
    // inside TLS, as if the client had sent it encrypted.
    let tls = stls_with_injection(&server, &mut reader, &mut stream, b"CAPA\r\n");
    let mut tls = BufReader::new(tls);
    tls.get_mut().write_all(b"NOOP\r\n").unwrap();
    let mut first = String::new();
    match tls.read_line(&mut first) {
        // The injected bytes reached the handshake instead and broke it: also safe.
        Err(_) => {}
        Ok(_) => assert_eq!(first, "-ERR Not authenticated\r\n"),
    }
}

#[test]
fn implicit_tls_for_pop3s() {
    let server = TestServer::start_with(Tls::Implicit, |_| {});
    let out = server.python(
        r#"
m = poplib.POP3_SSL("127.0.0.1", PORT, context=CONTEXT, timeout=10)
out["capa"] = "STLS" in m.capa()
m.user("bob")
m.pass_("bob-pw")
out["retr"] = message(m.retr(1)[1])
m.quit()
"#,
    );
    assert_eq!(out["capa"], false);
    assert_eq!(out["retr"], hex(b"Subject: for bob only\r\n\r\nsecret\r\n"));
}

#[test]
fn openssl_s_client_speaks_stls() {
    let server = TestServer::start();
    let mut openssl = Command::new("openssl");
    openssl
        .args(["s_client", "-starttls", "pop3", "-connect"])
        .arg(format!("127.0.0.1:{}", server.port))
        .arg("-CAfile")
        .arg(&server.ca_file)
        .args(["-verify_return_error", "-verify_hostname", "localhost"])
        .args(["-crlf", "-quiet", "-ign_eof"]);
    let output = run_with_input(&mut openssl, b"USER bob\nPASS bob-pw\nSTAT\nQUIT\n");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let size = sample_messages()[3].1.len();
    assert!(stdout.contains(&format!("+OK 1 {size}\r\n")), "{stdout}");
    assert!(
        stdout.contains("+OK kxd POP3 server signing off"),
        "{stdout}"
    );
}

#[test]
fn connections_beyond_the_limit_are_refused() {
    let server = TestServer::start_with(Tls::Stls, |config| config.listen.max_connections = 1);
    let (first, _) = raw(&server);
    let second = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let mut second = BufReader::new(second);
    assert_eq!(
        read_line(&mut second),
        "-ERR [SYS/TEMP] Too many connections, try again later\r\n"
    );
    drop(first);
    let start = std::time::Instant::now();
    loop {
        let stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        if read_line(&mut BufReader::new(stream)).starts_with("+OK") {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "slot never freed");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn idle_sessions_time_out_and_keep_their_messages() {
    let server = TestServer::start_with(Tls::Disabled, |config| {
        config.allow_plaintext_auth = true;
        config.timeout_unauthenticated = Duration::from_secs(1);
        config.timeout_authenticated = Duration::from_secs(1);
    });
    let (mut reader, _stream) = raw(&server);
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());

    let (mut reader, mut stream) = raw(&server);
    // An oversized SASL response ends the exchange; the session is usable afterwards.
    let long_response = format!("{}\r\n", "A".repeat(5000));
    let script = ["AUTH PLAIN\r\n", &long_response, "USER alice\r\n"];
    stream.write_all(script.concat().as_bytes()).unwrap();
    assert_eq!(read_line(&mut reader), "+ \r\n");
    assert_eq!(read_line(&mut reader), "-ERR Line too long\r\n");
    assert_eq!(read_line(&mut reader), "+OK Send PASS\r\n");
    stream.write_all(b"PASS alice-pw\r\nDELE 1\r\n").unwrap();
    assert!(read_line(&mut reader).starts_with("+OK Maildrop has 3"));
    assert!(read_line(&mut reader).starts_with("+OK"));
    assert!(server.backend.is_locked("alice"));
    reader.read_to_end(&mut rest).unwrap();
    server.backend.wait_unlocked("alice");
    assert_eq!(server.backend.maildrop("alice").len(), 3);
}

#[test]
fn a_trickled_command_is_cut_off_at_its_deadline() {
    let server = TestServer::start_with(Tls::Disabled, |config| {
        config.allow_plaintext_auth = true;
        config.listen.command_timeout = Duration::from_secs(1);
    });
    // Whole commands with silences longer than the command deadline between them are served.
    let (mut reader, mut stream) = raw(&server);
    for _ in 0..2 {
        stream.write_all(b"CAPA\r\n").unwrap();
        assert_eq!(read_line(&mut reader), "+OK Capability list follows\r\n");
        while read_line(&mut reader) != ".\r\n" {}
        std::thread::sleep(Duration::from_millis(1500));
    }
    // A byte every 400 ms cannot finish `USER alice` in a second; each byte used to renew the
    // idle timeout.
    let trickler = std::thread::spawn(move || {
        for byte in b"USER alice\r\n" {
            if stream.write_all(&[*byte]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(400));
        }
    });
    assert_eq!(
        read_line(&mut reader),
        "-ERR Command not completed in time, closing\r\n"
    );
    let mut rest = Vec::new();
    // Closed: the end of the stream, or a reset once the trickler wrote into the closed socket.
    match reader.read_to_end(&mut rest) {
        Ok(_) => assert!(rest.is_empty(), "{rest:?}"),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
    }
    trickler.join().unwrap();
}

#[test]
fn curl_lists_retrieves_and_deletes() {
    let server = TestServer::start();
    let curl = |path: &str, extra: &[&str]| {
        let mut curl = Command::new("curl");
        curl.args(["--silent", "--show-error", "--ssl-reqd", "--cacert"])
            .arg(&server.ca_file)
            .args(["--user", "alice:alice-pw"])
            .args(extra)
            .arg(format!("pop3://127.0.0.1:{}/{path}", server.port));
        let output = run_with_input(&mut curl, b"");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "curl {path} {extra:?}: {stderr}");
        output.stdout
    };
    let sizes: Vec<String> = alice_messages()
        .iter()
        .enumerate()
        .map(|(i, m)| format!("{} {}\r\n", i + 1, m.len()))
        .collect();
    assert_eq!(String::from_utf8(curl("", &[])).unwrap(), sizes.concat());
    assert_eq!(curl("2", &[]), alice_messages()[1]);
    curl("1", &["--request", "DELE", "--head"]);
    assert_eq!(server.backend.uids("alice"), ["alice-0001", "alice-0002"]);
}

#[test]
fn failed_logins_are_answered_slowly() {
    let delay = Duration::from_millis(300);
    let server = TestServer::start_with(Tls::Disabled, |config| {
        config.allow_plaintext_auth = true;
        config.auth_failure_delay = delay;
    });
    let (mut reader, mut stream) = raw(&server);
    stream.write_all(b"USER alice\r\n").unwrap();
    assert_eq!(read_line(&mut reader), "+OK Send PASS\r\n");
    let start = std::time::Instant::now();
    stream.write_all(b"PASS wrong\r\n").unwrap();
    assert_eq!(
        read_line(&mut reader),
        "-ERR [AUTH] Authentication failed\r\n"
    );
    assert!(start.elapsed() >= delay);
}

/// Commands that get one-line replies, and the start of each reply, in RFC 1939's states.
const STATE_SCRIPT: &[(&str, &str)] = &[
    ("STAT", "-ERR Not authenticated"),
    ("NOOP", "-ERR Not authenticated"),
    ("PASS alice-pw", "-ERR USER first"),
    ("APOP alice 1234", "-ERR Unknown command"),
    ("USER alice", "+OK Send PASS"),
    ("PASS alice-pw", "+OK Maildrop has 3 messages"),
    ("USER bob", "-ERR Already authenticated"),
    ("PASS bob-pw", "-ERR Already authenticated"),
    ("AUTH PLAIN", "-ERR Already authenticated"),
    ("STLS", "-ERR Already authenticated"),
    ("LIST 4", "-ERR No such message"),
    ("LIST 0", "-ERR Syntax: LIST [msg]"),
    ("TOP 1", "-ERR Syntax: TOP msg n"),
    ("dele 3", "+OK Message 3 marked for deletion"),
    ("LIST 3", "-ERR Message is deleted"),
    ("UIDL 3", "-ERR Message is deleted"),
    ("TOP 3 0", "-ERR Message is deleted"),
    ("STAT", "+OK 2 "),
    ("RSET", "+OK Maildrop has 3 messages"),
    ("UIDL 3", "+OK 3 alice-0002"),
    ("DELE 2", "+OK"),
    ("NOOP", "+OK"),
    ("QUIT", "+OK kxd POP3 server signing off (2 messages left)"),
];

fn run_state_script(pipelined: bool) {
    let server = TestServer::start_with(Tls::Disabled, |config| {
        config.allow_plaintext_auth = true;
    });
    let (mut reader, mut stream) = raw(&server);
    if pipelined {
        let all: String = STATE_SCRIPT
            .iter()
            .map(|(c, _)| format!("{c}\r\n"))
            .collect();
        stream.write_all(all.as_bytes()).unwrap();
    }
    for (command, reply) in STATE_SCRIPT {
        if !pipelined {
            stream
                .write_all(format!("{command}\r\n").as_bytes())
                .unwrap();
        }
        let line = read_line(&mut reader);
        assert!(line.starts_with(reply), "{command}: {line:?}");
    }
    assert_eq!(server.backend.uids("alice"), ["alice-0000", "alice-0002"]);
}

#[test]
fn commands_are_checked_against_the_state() {
    run_state_script(false);
}

#[test]
fn pipelined_commands_are_answered_in_order() {
    run_state_script(true);
}

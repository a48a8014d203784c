//! The submission listener on loopback, driven by Python's `smtplib` and by a raw socket.
//! The gateway behind it is a recording fixture: this test is about the protocol.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kx_denso::AccountId;
use kx_smtp::{AuthOutcome, SmtpConfig, Submission, SubmissionService, SubmitOutcome, serve};
use kx_testkit::{Python, TestCa};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Default)]
struct Recorder {
    submissions: Mutex<Vec<Submission<AccountId>>>,
}

const USER: &str = "J13123456780";
const PASSWORD: &str = "correct horse";

impl SubmissionService for Recorder {
    type Account = AccountId;

    async fn authenticate(
        &self,
        user: &str,
        password: &str,
        _peer: IpAddr,
    ) -> AuthOutcome<AccountId> {
        if user == USER && password == PASSWORD {
            AuthOutcome::Authenticated(user.parse().expect("an account"))
        } else {
            AuthOutcome::Rejected
        }
    }

    fn sender_allowed(&self, account: &AccountId, address: &str) -> bool {
        address.eq_ignore_ascii_case(&account.address("denso.test.kokuho"))
    }

    async fn recipient_allowed(&self, _account: &AccountId, address: &str) -> bool {
        address == "transmit@denso.test.kokuho"
    }

    async fn submit(&self, submission: Submission<AccountId>) -> SubmitOutcome {
        if submission.message.windows(7).any(|w| w == b"REFUSE!") {
            return SubmitOutcome::Refused {
                code: 554,
                status: [5, 6, 0],
                text: "A11305 refused".into(),
            };
        }
        self.submissions.lock().expect("lock").push(submission);
        SubmitOutcome::Accepted("Accepted".into())
    }
}

struct Server {
    addr: SocketAddr,
    recorder: Arc<Recorder>,
    ca: TestCa,
    _shutdown: watch::Sender<bool>,
}

async fn start(configure: impl FnOnce(&mut SmtpConfig)) -> Server {
    let ca = TestCa::new("denso.test.kokuho");
    let mut config = SmtpConfig::new("kxd.test");
    config.tls = Some(ca.acceptor());
    config.max_message_size = 100_000;
    configure(&mut config);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let recorder = Arc::new(Recorder::default());
    let (tx, rx) = watch::channel(false);
    tokio::spawn(serve(listener, Arc::new(config), recorder.clone(), rx));
    Server {
        addr,
        recorder,
        ca,
        _shutdown: tx,
    }
}

/// Runs a Python script with the server's port and CA path as arguments; returns stdout.
async fn python(server: &Server, script: &str) -> String {
    let python = Python::new(script)
        .arg(server.addr.port().to_string())
        .arg(server.ca.ca_file());
    tokio::task::spawn_blocking(move || python.run())
        .await
        .expect("join")
}

const PY_PRELUDE: &str = r#"
import smtplib, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
def connect():
    s = smtplib.SMTP('127.0.0.1', port, timeout=10)
    s.ehlo('client.test')
    return s
def secure():
    s = connect()
    s.starttls(context=ctx)
    s.ehlo('client.test')
    return s
"#;

fn script(body: &str) -> String {
    format!("{PY_PRELUDE}\n{body}")
}

#[tokio::test]
async fn python_smtplib_submits_over_starttls() {
    let server = start(|_| {}).await;
    let out = python(
        &server,
        &script(
            r#"
s = connect()
print('starttls' in s.esmtp_features, 'auth' in s.esmtp_features)
s.starttls(context=ctx); s.ehlo('client.test')
print('auth' in s.esmtp_features, s.esmtp_features.get('size'))
s.login('J13123456780', 'correct horse')
msg = b'Subject: Transmit DataSend\r\n\r\n.leading dot\r\nline\r\n'
refused = s.sendmail('J13123456780@denso.test.kokuho', ['transmit@denso.test.kokuho'], msg)
print(refused)
s.quit()
"#,
        ),
    )
    .await;
    assert_eq!(out, "True False\nTrue 100000\n{}\n");
    let submissions = server.recorder.submissions.lock().expect("lock");
    assert_eq!(submissions.len(), 1);
    let s = &submissions[0];
    assert_eq!(s.account.to_string(), USER);
    assert_eq!(s.recipients, ["transmit@denso.test.kokuho"]);
    assert_eq!(
        s.message,
        b"Subject: Transmit DataSend\r\n\r\n.leading dot\r\nline\r\n"
    );
}

#[tokio::test]
async fn refusals_are_reported_with_their_codes() {
    let server = start(|_| {}).await;
    let out = python(
        &server,
        &script(
            r#"
def code(f):
    try:
        f(); return 'ok'
    except smtplib.SMTPResponseException as e:
        return e.smtp_code
    except smtplib.SMTPRecipientsRefused as e:
        return list(e.recipients.values())[0][0]
    except smtplib.SMTPNotSupportedError:
        return 'not offered'
plain = connect()
print(plain.docmd('AUTH', 'PLAIN AEoxMzEyMzQ1Njc4MABjb3JyZWN0IGhvcnNl')[0])
print(plain.docmd('MAIL', 'FROM:<J13123456780@denso.test.kokuho>')[0])
plain.quit()
s = secure()
print(code(lambda: s.login('J13123456780', 'wrong')))
s.login('J13123456780', 'correct horse')
print(s.docmd('MAIL', 'FROM:<J13123456781@denso.test.kokuho>')[0])
print(s.docmd('MAIL', 'FROM:<J13123456780@denso.test.kokuho> SIZE=200000')[0])
print(s.docmd('MAIL', 'FROM:<J13123456780@denso.test.kokuho>')[0])
print(s.docmd('RCPT', 'TO:<someone@elsewhere.test>')[0])
print(s.docmd('RCPT', 'TO:<transmit@denso.test.kokuho>')[0])
s.rset()
print(code(lambda: s.sendmail('J13123456780@denso.test.kokuho', ['transmit@denso.test.kokuho'], b'x' * 150000)))
print(code(lambda: s.sendmail('J13123456780@denso.test.kokuho', ['transmit@denso.test.kokuho'], b'REFUSE!\r\n')))
print(code(lambda: s.sendmail('J13123456780@denso.test.kokuho', ['transmit@denso.test.kokuho'], b'fine\r\n')))
s.quit()
"#,
        ),
    )
    .await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "538", "530", "535", "550", "552", "250", "550", "250", "552", "554", "ok"
        ],
        "{out}"
    );
    assert_eq!(server.recorder.submissions.lock().expect("lock").len(), 1);
}

#[tokio::test]
async fn three_wrong_passwords_close_the_connection() {
    let server = start(|_| {}).await;
    let out = python(
        &server,
        &script(
            r#"
s = secure()
# One mechanism per attempt: smtplib's login() would try PLAIN, then LOGIN.
for i in range(3):
    s.user, s.password = 'J13123456780', 'wrong%d' % i
    try:
        s.auth('PLAIN', s.auth_plain)
    except smtplib.SMTPAuthenticationError as e:
        print(e.smtp_code)
    except smtplib.SMTPServerDisconnected:
        print('closed')
# The 421 that followed the third 535 is still unread; after it the connection is gone.
print(s.noop()[0])
try:
    s.noop(); print('still open')
except smtplib.SMTPServerDisconnected:
    print('closed')
"#,
        ),
    )
    .await;
    assert_eq!(out, "535\n535\n535\n421\nclosed\n");
}

async fn read_reply(reader: &mut BufReader<TcpStream>) -> String {
    let mut reply = String::new();
    loop {
        let mut line = String::new();
        let n = tokio::time::timeout(Duration::from_secs(5), reader.read_line(&mut line))
            .await
            .expect("a reply in time")
            .expect("read");
        if n == 0 {
            return reply;
        }
        reply.push_str(&line);
        if line.as_bytes().get(3) == Some(&b' ') {
            return reply;
        }
    }
}

#[tokio::test]
async fn commands_pipelined_after_starttls_are_dropped() {
    let server = start(|_| {}).await;
    let stream = TcpStream::connect(server.addr).await.expect("connect");
    let mut reader = BufReader::new(stream);
    assert!(read_reply(&mut reader).await.starts_with("220 "));
    reader
        .get_mut()
        .write_all(b"MAIL FROM:<J13123456780@denso.test.kokuho>\r\n")
        .await
        .expect("write");
    assert!(
        read_reply(&mut reader)
            .await
            .starts_with("503 5.5.1 Send EHLO first")
    );
    reader
        .get_mut()
        .write_all(b"EHLO x\r\nSTARTTLS\r\nMAIL FROM:<J13123456780@denso.test.kokuho>\r\n")
        .await
        .expect("write");
    assert!(read_reply(&mut reader).await.contains("250 "));
    assert!(read_reply(&mut reader).await.starts_with("220 2.0.0"));
    // The injected MAIL must not be answered in plaintext: the server now waits for a TLS
    // ClientHello, so the next bytes we see are none (or a closed connection).
    let mut line = String::new();
    let read = tokio::time::timeout(Duration::from_millis(500), reader.read_line(&mut line)).await;
    assert!(
        read.is_err() || line.is_empty(),
        "answered in plaintext: {line:?}"
    );
}

#[tokio::test]
async fn junk_does_not_stop_the_listener() {
    let server = start(|c| c.max_errors = 3).await;
    let stream = TcpStream::connect(server.addr).await.expect("connect");
    let mut reader = BufReader::new(stream);
    read_reply(&mut reader).await;
    let mut junk = vec![0xffu8; 10_000];
    junk.extend_from_slice(b"\r\n\x00\x01\x02 HELLO?\r\nDATA\r\nBDAT 5\r\n");
    reader.get_mut().write_all(&junk).await.expect("write");
    let mut all = String::new();
    while let Ok(Ok(n)) =
        tokio::time::timeout(Duration::from_secs(2), reader.read_line(&mut all)).await
    {
        if n == 0 {
            break;
        }
    }
    assert!(all.contains("421 4.7.0 Too many errors"), "{all}");
    // The listener still serves the next client, all the way to a submission.
    let out = python(
        &server,
        &script(
            r#"
s = secure()
s.login('J13123456780', 'correct horse')
print(s.sendmail('J13123456780@denso.test.kokuho', ['transmit@denso.test.kokuho'], b'ok\r\n'))
"#,
        ),
    )
    .await;
    assert_eq!(out, "{}\n");
}

#[tokio::test]
async fn plaintext_auth_only_when_allowed() {
    let server = start(|c| {
        c.allow_plaintext_auth = true;
        c.tls = None;
    })
    .await;
    let out = python(
        &server,
        &script(
            r#"
s = connect()
print('starttls' in s.esmtp_features)
s.login('J13123456780', 'correct horse')
print(s.sendmail('J13123456780@denso.test.kokuho', ['transmit@denso.test.kokuho'], b'loopback\r\n'))
"#,
        ),
    )
    .await;
    assert_eq!(out, "False\n{}\n");
}

#[tokio::test]
async fn a_starttls_handshake_that_never_comes_is_cut_off() {
    let server = start(|c| c.listen.handshake_timeout = Duration::from_millis(300)).await;
    let stream = TcpStream::connect(server.addr).await.expect("connect");
    let mut reader = BufReader::new(stream);
    read_reply(&mut reader).await;
    reader
        .get_mut()
        .write_all(b"EHLO x\r\nSTARTTLS\r\n")
        .await
        .expect("write");
    assert!(read_reply(&mut reader).await.contains("250 "));
    assert!(read_reply(&mut reader).await.starts_with("220 2.0.0"));
    // No ClientHello follows: the server hangs up at the deadline, not at the idle timeout.
    let mut rest = String::new();
    let read = tokio::time::timeout(Duration::from_secs(3), reader.read_line(&mut rest)).await;
    assert_eq!(read.expect("closed in time").expect("read"), 0);
}

#[tokio::test]
async fn connections_over_the_per_address_cap_get_421() {
    let server = start(|c| c.listen.max_connections_per_address = 1).await;
    let first = TcpStream::connect(server.addr).await.expect("connect");
    let mut first = BufReader::new(first);
    assert!(read_reply(&mut first).await.starts_with("220 "));
    let second = TcpStream::connect(server.addr).await.expect("connect");
    let mut second = BufReader::new(second);
    assert_eq!(
        read_reply(&mut second).await,
        "421 4.7.0 Too many connections, try again later\r\n"
    );
}

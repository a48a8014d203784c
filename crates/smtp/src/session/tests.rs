//! Scripted sessions over an in-memory stream against the in-memory gateway. Each script is fed in
//! every chunk size from 1 to 512 bytes and must give the same replies and the same
//! submissions each time: what a client means must not depend on how its bytes are split.

use std::sync::LazyLock;
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::watch;
use tokio_rustls::rustls;

use super::run;
use crate::SmtpConfig;
use crate::fuzzing::{BUSY, MemoryService, PASSWORD, PEER, RECIPIENT, SENDER, Submitted, USER};

const MAX_SIZE: usize = 100;

/// A fresh private CA with a server certificate for `kx.test`.
static TLS: LazyLock<kx_testkit::TestCa> = LazyLock::new(|| kx_testkit::TestCa::new("kx.test"));

fn config(configure: fn(&mut SmtpConfig)) -> SmtpConfig {
    let mut config = SmtpConfig::new("kx.test");
    config.max_message_size = MAX_SIZE;
    config.allow_plaintext_auth = true;
    configure(&mut config);
    config
}

fn base64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn plain(user: &str, password: &str) -> String {
    base64(&format!("\0{user}\0{password}"))
}

/// What the client sends (CRLF appended) and the prefixes of the reply lines it gets.
#[derive(Clone)]
struct Step {
    client: String,
    replies: Vec<&'static str>,
}

fn step(client: impl Into<String>, replies: impl AsRef<[&'static str]>) -> Step {
    Step {
        client: client.into(),
        replies: replies.as_ref().to_vec(),
    }
}

/// A scripted session: the greeting is expected before the first step.
struct Script {
    name: &'static str,
    configure: fn(&mut SmtpConfig),
    steps: Vec<Step>,
    /// The messages the gateway must have been handed, from SENDER to RECIPIENT.
    submitted: Vec<Vec<u8>>,
}

impl Script {
    fn input(&self) -> Vec<u8> {
        self.steps
            .iter()
            .flat_map(|step| [step.client.as_bytes(), b"\r\n"].concat())
            .collect()
    }

    fn replies(&self) -> Vec<&'static str> {
        let greeting = std::iter::once("220 kx.test ESMTP kxd\r\n");
        greeting
            .chain(self.steps.iter().flat_map(|s| s.replies.iter().copied()))
            .collect()
    }

    fn submitted(&self) -> Vec<Submitted> {
        self.submitted
            .iter()
            .map(|message| Submitted {
                from: SENDER.into(),
                recipients: vec![RECIPIENT.into()],
                message: message.clone(),
            })
            .collect()
    }
}

fn no_change(_: &mut SmtpConfig) {}

/// The EHLO reply, its last lines (what is offered) as given.
fn ehlo(last: &[&'static str]) -> Vec<&'static str> {
    let first = [
        "250-kx.test greets client.test\r\n",
        "250-PIPELINING\r\n",
        "250-SIZE 100\r\n",
        "250-8BITMIME\r\n",
    ];
    [&first, last].concat()
}

fn ehlo_auth() -> Vec<&'static str> {
    ehlo(&["250-ENHANCEDSTATUSCODES\r\n", "250 AUTH PLAIN LOGIN\r\n"])
}

/// EHLO and a successful AUTH PLAIN: where most scripts start.
fn logged_in() -> Vec<Step> {
    vec![
        step("EHLO client.test", ehlo_auth()),
        step(
            format!("AUTH PLAIN {}", plain(USER, PASSWORD)),
            ["235 2.7.0"],
        ),
    ]
}

fn envelope() -> Vec<Step> {
    vec![
        step(format!("MAIL FROM:<{SENDER}>"), ["250 2.1.0 Sender OK"]),
        step(format!("RCPT TO:<{RECIPIENT}>"), ["250 2.1.5 Recipient OK"]),
        step("DATA", ["354 Start mail input"]),
    ]
}

fn scripts() -> Vec<Script> {
    let wrong = format!("AUTH PLAIN {}", plain(USER, "wrong"));
    vec![
        Script {
            name: "EHLO without TLS offered or plaintext AUTH",
            configure: |c| c.allow_plaintext_auth = false,
            steps: vec![
                step("EHLO client.test", ehlo(&["250 ENHANCEDSTATUSCODES\r\n"])),
                step("AUTH PLAIN AGZvbwBiYXI=", ["538 5.7.11"]),
                step("STARTTLS", ["454 4.7.0 TLS not available"]),
                step("HELO other", ["250 kx.test greets other\r\n"]),
                step("QUIT", ["221 2.0.0 Bye\r\n"]),
            ],
            submitted: vec![],
        },
        Script {
            name: "EHLO with STARTTLS offered",
            configure: |c| {
                c.allow_plaintext_auth = false;
                c.tls = Some(TLS.acceptor());
            },
            steps: vec![
                step(
                    "EHLO client.test",
                    ehlo(&["250-ENHANCEDSTATUSCODES\r\n", "250 STARTTLS\r\n"]),
                ),
                step("QUIT", ["221 2.0.0 Bye"]),
            ],
            submitted: vec![],
        },
        Script {
            name: "AUTH PLAIN inline, then once too often",
            configure: no_change,
            steps: [
                logged_in(),
                vec![step("AUTH PLAIN", ["503 5.5.1 Already authenticated"])],
            ]
            .concat(),
            submitted: vec![],
        },
        Script {
            name: "AUTH PLAIN with a continuation",
            configure: no_change,
            steps: vec![
                step("EHLO client.test", ehlo_auth()),
                step("AUTH PLAIN", ["334 \r\n"]),
                step(
                    plain(USER, PASSWORD),
                    ["235 2.7.0 Authentication successful\r\n"],
                ),
                step(format!("MAIL FROM:<{SENDER}>"), ["250 2.1.0"]),
            ],
            submitted: vec![],
        },
        Script {
            name: "AUTH LOGIN, cancelled once",
            configure: no_change,
            steps: vec![
                step("EHLO client.test", ehlo_auth()),
                step("AUTH LOGIN", ["334 VXNlcm5hbWU6\r\n"]),
                step("*", ["501 5.0.0 Authentication cancelled"]),
                step(
                    format!("AUTH LOGIN {}", base64(USER)),
                    ["334 UGFzc3dvcmQ6\r\n"],
                ),
                step(base64(PASSWORD), ["235 2.7.0"]),
            ],
            submitted: vec![],
        },
        Script {
            name: "bad Base64",
            configure: no_change,
            steps: vec![
                step("EHLO client.test", ehlo_auth()),
                step("AUTH PLAIN !!!", ["501 5.5.2 Invalid Base64"]),
                step("AUTH LOGIN", ["334 VXNlcm5hbWU6"]),
                step("%%", ["501 5.5.2 Invalid Base64"]),
                step("AUTH CRAM-MD5", ["504 5.5.4 Mechanism not supported"]),
                step(
                    format!("AUTH PLAIN {}", plain(USER, PASSWORD)),
                    ["235 2.7.0"],
                ),
            ],
            submitted: vec![],
        },
        Script {
            name: "too many AUTH failures",
            configure: no_change,
            steps: vec![
                step("EHLO client.test", ehlo_auth()),
                step(&wrong, ["535 5.7.8 Authentication credentials invalid"]),
                step("AUTH LOGIN", ["334 VXNlcm5hbWU6"]),
                step(base64(USER), ["334 UGFzc3dvcmQ6"]),
                step(base64("wrong"), ["535 5.7.8"]),
                step(
                    &wrong,
                    ["535 5.7.8", "421 4.7.0 Too many authentication failures"],
                ),
                step(format!("AUTH PLAIN {}", plain(USER, PASSWORD)), []),
            ],
            submitted: vec![],
        },
        Script {
            name: "busy password checks are a temporary failure, not a failed login",
            configure: no_change,
            steps: vec![
                step("EHLO client.test", ehlo_auth()),
                step(&wrong, ["535 5.7.8"]),
                step(&wrong, ["535 5.7.8"]),
                step(
                    format!("AUTH PLAIN {}", plain(USER, BUSY)),
                    ["454 4.7.0 Temporary authentication failure, try again later"],
                ),
                step(format!("AUTH PLAIN {}", plain(USER, BUSY)), ["454 4.7.0"]),
                step(
                    format!("AUTH PLAIN {}", plain(USER, PASSWORD)),
                    ["235 2.7.0"],
                ),
            ],
            submitted: vec![],
        },
        Script {
            name: "a message with dot-stuffed lines",
            configure: no_change,
            steps: [
                logged_in(),
                envelope(),
                vec![
                    step(
                        "Subject: t\r\n\r\n..leading dot\r\n..\r\nbare\n.\r\nlast\r\n.",
                        ["250 2.0.0 Accepted\r\n"],
                    ),
                    step("QUIT", ["221 2.0.0 Bye"]),
                ],
            ]
            .concat(),
            submitted: vec![b"Subject: t\r\n\r\n.leading dot\r\n.\r\nbare\n.\r\nlast\r\n".to_vec()],
        },
        Script {
            name: "MAIL, RCPT, DATA and the message pipelined, twice",
            configure: no_change,
            steps: [
                logged_in(),
                vec![step(
                    format!(
                        "MAIL FROM:<{SENDER}>\r\nRCPT TO:<{RECIPIENT}>\r\nDATA\r\none\r\n.\r\n\
                         MAIL FROM:<{SENDER}>\r\nRCPT TO:<{RECIPIENT}>\r\nDATA\r\ntwo\r\n.\r\nQUIT"
                    ),
                    [
                        "250 2.1.0",
                        "250 2.1.5",
                        "354 ",
                        "250 2.0.0",
                        "250 2.1.0",
                        "250 2.1.5",
                        "354 ",
                        "250 2.0.0",
                        "221 ",
                    ],
                )],
            ]
            .concat(),
            submitted: vec![b"one\r\n".to_vec(), b"two\r\n".to_vec()],
        },
        Script {
            name: "commands out of sequence",
            configure: |c| c.max_errors = 20,
            steps: vec![
                step(
                    format!("MAIL FROM:<{SENDER}>"),
                    ["503 5.5.1 Send EHLO first"],
                ),
                step("AUTH PLAIN", ["503 5.5.1 Send EHLO first"]),
                step("EHLO client.test", ehlo_auth()),
                step(
                    format!("MAIL FROM:<{SENDER}>"),
                    ["530 5.7.0 Authentication required"],
                ),
                step(format!("AUTH PLAIN {}", plain(USER, PASSWORD)), ["235 "]),
                step(format!("RCPT TO:<{RECIPIENT}>"), ["503 5.5.1 MAIL first"]),
                step("DATA", ["503 5.5.1 RCPT first"]),
                step("MAIL FROM:<other@kx.test>", ["550 5.7.1 Sender address"]),
                step(format!("MAIL FROM:<{SENDER}>"), ["250 2.1.0"]),
                step(
                    format!("MAIL FROM:<{SENDER}>"),
                    ["503 5.5.1 Sender already given"],
                ),
                step("DATA", ["503 5.5.1 RCPT first"]),
                step(
                    "RCPT TO:<elsewhere@kx.test>",
                    ["550 5.1.1 Recipient not accepted"],
                ),
                step("RSET", ["250 2.0.0 OK"]),
                step(format!("RCPT TO:<{RECIPIENT}>"), ["503 5.5.1 MAIL first"]),
            ],
            submitted: vec![],
        },
        Script {
            name: "SIZE and a message over the limit",
            configure: no_change,
            steps: [
                logged_in(),
                vec![step(
                    format!("MAIL FROM:<{SENDER}> SIZE=101"),
                    ["552 5.3.4 Message too big"],
                )],
                envelope(),
                vec![
                    step(format!("{}\r\n.", "x".repeat(MAX_SIZE)), ["552 5.3.4"]),
                    // The transaction is over; the next one starts clean.
                    step(format!("RCPT TO:<{RECIPIENT}>"), ["503 5.5.1 MAIL first"]),
                ],
                envelope(),
                vec![step(
                    format!("{}\r\n.", "x".repeat(MAX_SIZE - 2)),
                    ["250 2.0.0"],
                )],
            ]
            .concat(),
            submitted: vec![format!("{}\r\n", "x".repeat(MAX_SIZE - 2)).into_bytes()],
        },
        Script {
            name: "an over-long command line is refused whole, its tail is not a command",
            configure: no_change,
            steps: vec![
                // Read in pieces, the first 4096 bytes once made the 500 and `QUIT` the next
                // command.
                step(
                    format!("{}QUIT", "x".repeat(4096)),
                    ["500 5.5.2 Line too long"],
                ),
                step("NOOP", ["250 2.0.0 OK"]),
            ],
            submitted: vec![],
        },
        Script {
            name: "an over-long AUTH line does not swallow the next command",
            configure: no_change,
            steps: vec![
                step("EHLO client.test", ehlo_auth()),
                step("AUTH PLAIN", ["334 "]),
                step("A".repeat(2049), ["500 5.5.6 Authentication line too long"]),
                step("NOOP", ["250 2.0.0 OK"]),
                step(format!("AUTH PLAIN {}", plain(USER, PASSWORD)), ["235 "]),
            ],
            submitted: vec![],
        },
        Script {
            name: "an over-long line in a transaction: its tail RSET resets nothing",
            configure: no_change,
            steps: [
                logged_in(),
                vec![
                    step(format!("MAIL FROM:<{SENDER}>"), ["250 2.1.0"]),
                    step(
                        format!("{}RSET", "x".repeat(4096)),
                        ["500 5.5.2 Line too long"],
                    ),
                    step(format!("RCPT TO:<{RECIPIENT}>"), ["250 2.1.5"]),
                ],
            ]
            .concat(),
            submitted: vec![],
        },
        Script {
            name: "an over-long AUTH LOGIN password: back where AUTH began",
            configure: no_change,
            steps: vec![
                step("EHLO client.test", ehlo_auth()),
                step(format!("AUTH LOGIN {}", base64(USER)), ["334 UGFzc3dvcmQ6"]),
                step(
                    format!("{}QUIT", "A".repeat(2050)),
                    ["500 5.5.6 Authentication line too long"],
                ),
                step(
                    format!("MAIL FROM:<{SENDER}>"),
                    ["530 5.7.0 Authentication required"],
                ),
                step("NOOP", ["250 2.0.0 OK"]),
            ],
            submitted: vec![],
        },
        Script {
            name: "too many errors close the connection",
            configure: |c| c.max_errors = 3,
            steps: vec![
                step("FOO bar", ["500 5.5.1 Unknown command"]),
                step("BDAT 5", ["502 5.5.1 BDAT not implemented"]),
                step(
                    "HELP",
                    [
                        "502 5.5.1 HELP not implemented",
                        "421 4.7.0 Too many errors",
                    ],
                ),
                step("NOOP", []),
            ],
            submitted: vec![],
        },
        Script {
            name: "NOOP, VRFY and QUIT",
            configure: no_change,
            steps: vec![
                step("NOOP", ["250 2.0.0 OK\r\n"]),
                step(
                    "VRFY someone",
                    ["252 2.5.0 Cannot verify, send and see\r\n"],
                ),
                step("QUIT", ["221 2.0.0 Bye\r\n"]),
                step("NOOP", []),
            ],
            submitted: vec![],
        },
    ]
}

/// Plays `script` with the client's bytes written `chunk` at a time into a pipe that holds
/// at most `chunk` bytes, so that the server reads them in pieces of at most that size.
/// Returns the replies and what the gateway was handed.
async fn play(script: &Script, chunk: usize) -> (String, Vec<Submitted>) {
    let config = config(script.configure);
    let service = MemoryService::default();
    let (_shutdown, shutdown) = watch::channel(false);
    let input = script.input();
    let (server, client) = pipes(chunk);
    let session = run(server, PEER, &config, &service, shutdown);
    let ((), replies) = tokio::join!(session, converse(client, &input, chunk));
    let submitted = service.into_submissions();
    (replies, submitted)
}

/// The server's and the client's ends of a connection whose client-to-server direction holds
/// at most `chunk` bytes. One pipe each way: replies need not crawl through a pipe of one byte.
fn pipes(
    chunk: usize,
) -> (
    impl AsyncRead + AsyncWrite + Unpin + Send,
    impl AsyncRead + AsyncWrite + Unpin,
) {
    let (client_out, server_in) = tokio::io::duplex(chunk);
    let (server_out, client_in) = tokio::io::duplex(64 * 1024);
    (
        tokio::io::join(server_in, server_out),
        tokio::io::join(client_in, client_out),
    )
}

/// Writes `input` in pieces of `chunk` bytes while reading every reply until the server
/// closes. A server that closed early makes the rest of the writes fail, as for a real client.
async fn converse(stream: impl AsyncRead + AsyncWrite, input: &[u8], chunk: usize) -> String {
    let (mut read, mut write) = tokio::io::split(stream);
    let send = async {
        for piece in input.chunks(chunk) {
            if write.write_all(piece).await.is_err() {
                return;
            }
        }
        let _ = write.shutdown().await;
    };
    let mut replies = Vec::new();
    let receive = read.read_to_end(&mut replies);
    let ((), received) = tokio::join!(send, receive);
    received.expect("read");
    String::from_utf8(replies).expect("replies are UTF-8")
}

/// Checks the replies line by line against the expected prefixes.
fn check(name: &str, chunk: usize, replies: &str, expected: &[&str]) {
    let lines: Vec<&str> = replies.split_inclusive("\r\n").collect();
    let matches = lines.len() == expected.len()
        && lines
            .iter()
            .zip(expected)
            .all(|(line, prefix)| line.starts_with(prefix));
    assert!(
        matches,
        "{name}, chunk size {chunk}: expected {expected:#?}\ngot {lines:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_give_the_same_replies_in_every_chunk_size() {
    let plays = scripts().into_iter().map(|script| {
        tokio::spawn(async move {
            let (expected, submitted) = (script.replies(), script.submitted());
            for chunk in 1..=512 {
                let (replies, handed) = play(&script, chunk).await;
                check(script.name, chunk, &replies, &expected);
                assert_eq!(handed, submitted, "{}, chunk size {chunk}", script.name);
            }
        })
    });
    for played in plays.collect::<Vec<_>>() {
        played.await.expect("script");
    }
}

/// STARTTLS with a real handshake in memory, then a submission through the TLS session. A
/// few chunk sizes only: each one costs a handshake.
#[tokio::test]
async fn a_submission_goes_through_starttls() {
    let script = Script {
        name: "STARTTLS, then AUTH and a message",
        configure: |c| {
            c.allow_plaintext_auth = false;
            c.tls = Some(TLS.acceptor());
        },
        // After STARTTLS the client starts over (RFC 3207 §4.2); there is no new greeting.
        steps: [
            logged_in(),
            envelope(),
            vec![step("hello\r\n.", ["250 2.0.0"]), step("QUIT", ["221 "])],
        ]
        .concat(),
        submitted: vec![b"hello\r\n".to_vec()],
    };
    let plaintext = [
        vec!["220 kx.test ESMTP kxd\r\n"],
        ehlo(&["250-ENHANCEDSTATUSCODES\r\n", "250 STARTTLS\r\n"]),
        vec!["220 2.0.0 Ready to start TLS\r\n"],
    ]
    .concat();
    let connector = tokio_rustls::TlsConnector::from(TLS.client_config());
    for chunk in [1, 2, 3, 7, 64, 512] {
        let config = config(script.configure);
        let service = MemoryService::default();
        let (_shutdown, shutdown) = watch::channel(false);
        let (server, client) = pipes(chunk);
        let client = async {
            let mut client = BufReader::new(client);
            for piece in b"EHLO client.test\r\nSTARTTLS\r\n".chunks(chunk) {
                client.get_mut().write_all(piece).await.expect("write");
            }
            let mut before = String::new();
            while !before.contains("220 2.0.0") {
                let n = client.read_line(&mut before).await.expect("read");
                assert!(n > 0, "closed before STARTTLS: {before}");
            }
            check(script.name, chunk, &before, &plaintext);
            // Nothing follows the 220 before the handshake, so the reader holds nothing back.
            let name = rustls::pki_types::ServerName::try_from("kx.test").expect("name");
            let tls = connector
                .connect(name, client.into_inner())
                .await
                .expect("handshake");
            converse(tls, &script.input(), chunk).await
        };
        let ((), replies) = tokio::join!(run(server, PEER, &config, &service, shutdown), client);
        check(script.name, chunk, &replies, &script.replies()[1..]);
        let handed = service.into_submissions();
        assert_eq!(
            handed,
            script.submitted(),
            "{}, chunk size {chunk}",
            script.name
        );
    }
}

/// A client that takes its time: each piece is written, then the client waits.
struct Slow {
    name: &'static str,
    pieces: Vec<(String, Duration)>,
    /// The prefixes of the reply lines, the greeting first.
    replies: Vec<&'static str>,
}

/// The deadlines of the slow clients: a command line within 1 s of its first byte, a message
/// at 5 bytes/s averaged over 2 s. The client's waits are far from both, so that a loaded
/// machine cannot turn one outcome into the other.
fn impatient(config: &mut SmtpConfig) {
    config.listen.command_timeout = Duration::from_secs(1);
    config.listen.min_transfer_rate = kx_listen::MinimumRate {
        bytes_per_second: 5,
        window: Duration::from_secs(2),
    };
}

fn at_once(text: impl Into<String>) -> (String, Duration) {
    (text.into(), Duration::ZERO)
}

fn then_wait(text: impl Into<String>, millis: u64) -> (String, Duration) {
    (text.into(), Duration::from_millis(millis))
}

/// EHLO, AUTH and the envelope up to `354`, in one write.
fn ready_for_data() -> ((String, Duration), Vec<&'static str>) {
    let steps = [logged_in(), envelope()].concat();
    let input: String = steps.iter().map(|s| format!("{}\r\n", s.client)).collect();
    let mut replies = vec!["220 "];
    replies.extend(steps.iter().flat_map(|s| s.replies.iter().copied()));
    (at_once(input), replies)
}

fn slow_clients() -> Vec<Slow> {
    let trickled = |text: &str, millis| -> Vec<(String, Duration)> {
        text.chars()
            .map(|c| then_wait(c.to_string(), millis))
            .collect()
    };
    let (data, data_replies) = ready_for_data();
    vec![
        Slow {
            name: "a command trickled a byte at a time misses its deadline",
            pieces: trickled("NOOP\r\nNOOP\r\n", 400),
            replies: vec!["220 ", "421 4.4.2 Command not completed in time"],
        },
        Slow {
            name: "silence between whole commands is the idle timeout's, not the command's",
            pieces: vec![then_wait("NOOP\r\n", 2500), at_once("NOOP\r\nQUIT\r\n")],
            replies: vec!["220 ", "250 2.0.0", "250 2.0.0", "221 "],
        },
        Slow {
            name: "an over-long line is answered at once and its rest still has a deadline",
            pieces: vec![then_wait("x".repeat(5000), 2500), at_once("\r\nNOOP\r\n")],
            replies: vec!["220 ", "500 5.5.2 Line too long", "421 4.4.2 Command not"],
        },
        Slow {
            name: "message data below the minimum rate is cut off",
            pieces: [vec![data.clone()], trickled("Subject: slow\r\n\r\n", 500)].concat(),
            replies: [
                data_replies.clone(),
                vec!["421 4.4.2 Message data too slow"],
            ]
            .concat(),
        },
        Slow {
            name: "message data above the minimum rate goes through",
            pieces: [
                vec![data],
                (0..5)
                    .map(|_| then_wait("x".repeat(16) + "\r\n", 500))
                    .collect(),
                vec![at_once(".\r\nQUIT\r\n")],
            ]
            .concat(),
            replies: [data_replies, vec!["250 2.0.0", "221 "]].concat(),
        },
    ]
}

/// Plays one slow client against a session with the [`impatient`] deadlines; the replies.
async fn play_slowly(client: &Slow) -> String {
    let config = config(impatient);
    let service = MemoryService::default();
    let (_shutdown, shutdown) = watch::channel(false);
    let (server, client_end) = pipes(64 * 1024);
    let (mut read, mut write) = tokio::io::split(client_end);
    let send = async {
        for (piece, wait) in &client.pieces {
            if write.write_all(piece.as_bytes()).await.is_err() {
                return;
            }
            tokio::time::sleep(*wait).await;
        }
        let _ = write.shutdown().await;
    };
    let mut replies = Vec::new();
    let ((), (), received) = tokio::join!(
        run(server, PEER, &config, &service, shutdown),
        send,
        read.read_to_end(&mut replies)
    );
    received.expect("read");
    String::from_utf8(replies).expect("replies are UTF-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_meet_the_deadlines() {
    let plays = slow_clients().into_iter().map(|client| {
        tokio::spawn(async move {
            let replies = play_slowly(&client).await;
            check(client.name, 0, &replies, &client.replies);
        })
    });
    for played in plays.collect::<Vec<_>>() {
        played.await.expect("slow client");
    }
}

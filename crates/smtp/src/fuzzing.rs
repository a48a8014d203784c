//! A session without a socket: an in-memory gateway, a connection whose reads are given in
//! advance, and the properties every session must keep whatever a client sends. The unit tests
//! use the gateway; the fuzz target in `crates/smtp/fuzz` feeds [`session`] arbitrary bytes, and
//! the seeds and every input it ever crashed on are replayed by the unit tests.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;

use kx_listen::fuzzing::{ScriptedStream, block_on, split_input};
use tokio::sync::watch;

use crate::{AuthOutcome, SmtpConfig, Submission, SubmissionService, SubmitOutcome};

/// The one account the in-memory gateway knows.
pub const USER: &str = "user";
/// Its password.
pub const PASSWORD: &str = "secret";
/// The password it answers as if its password checks were all busy.
pub const BUSY: &str = "busy";
/// The only envelope sender it allows.
pub const SENDER: &str = "user@kx.test";
/// The only recipient it allows.
pub const RECIPIENT: &str = "transmit@kx.test";
/// Where every in-memory client connects from.
pub const PEER: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A gateway that knows one account and one recipient, and records what it is handed.
#[derive(Default)]
pub struct MemoryService {
    submissions: Mutex<Vec<Submitted>>,
}

/// What the gateway was handed, minus the account and peer every session shares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submitted {
    /// The envelope sender.
    pub from: String,
    /// The envelope recipients.
    pub recipients: Vec<String>,
    /// The message as the session handed it in.
    pub message: Vec<u8>,
}

impl MemoryService {
    /// Everything handed in so far, in order.
    pub fn into_submissions(self) -> Vec<Submitted> {
        // A poisoned lock means a session panicked, which the caller reports anyway.
        self.submissions
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SubmissionService for MemoryService {
    type Account = String;

    async fn authenticate(&self, user: &str, password: &str, _peer: IpAddr) -> AuthOutcome<String> {
        if user == USER && password == PASSWORD {
            AuthOutcome::Authenticated(user.to_owned())
        } else if password == BUSY {
            AuthOutcome::Busy
        } else {
            AuthOutcome::Rejected
        }
    }

    fn sender_allowed(&self, _account: &String, address: &str) -> bool {
        address == SENDER
    }

    async fn recipient_allowed(&self, _account: &String, address: &str) -> bool {
        address == RECIPIENT
    }

    async fn submit(&self, submission: Submission<String>) -> SubmitOutcome {
        let submitted = Submitted {
            from: submission.mail_from,
            recipients: submission.recipients,
            message: submission.message,
        };
        self.submissions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(submitted);
        SubmitOutcome::Accepted("Accepted".into())
    }
}

/// Runs one session from [`PEER`] whose reads return `chunks`, one each, then end of input.
/// Returns every byte the server wrote.
pub async fn replay(config: &SmtpConfig, service: &MemoryService, chunks: &[&[u8]]) -> Vec<u8> {
    let (stream, transcript) = ScriptedStream::new(chunks);
    let (_shutdown, shutdown) = watch::channel(false);
    crate::session::run(stream, PEER, config, service, shutdown).await;
    transcript.take()
}

/// The settings [`session`] runs under: the defaults, plaintext AUTH on (the session under
/// test has no TLS) and a small size limit, so that oversized messages are cheap to reach.
pub fn config() -> SmtpConfig {
    let mut config = SmtpConfig::new("kx.test");
    config.allow_plaintext_auth = true;
    config.max_message_size = 1000;
    config
}

/// The longest reply line, CRLF included (RFC 5321 §4.5.3.1.5).
const MAX_REPLY_LINE: usize = 512;

/// Reply bytes allowed per input byte, beyond [`REPLY_ALLOWANCE`]: `EHLO a` and its LF, 7
/// bytes, are answered with about 120.
const REPLY_PER_INPUT_BYTE: usize = 20;

/// Reply bytes allowed whatever the input: the greeting and the replies the session may send
/// as it closes.
const REPLY_ALLOWANCE: usize = 1024;

/// Plays `data` as one session twice: in one read, and split where its first bytes say (see
/// [`split_input`]). Panics unless both give the same replies and submissions, every reply line is
/// well formed (`ddd[ -]text` CRLF, printable text, at most 512 octets, a continued reply
/// keeping its code), the replies are bounded by the input, and every message handed in
/// respects the envelope and the size limit.
pub fn session(data: &[u8]) {
    let (payload, split) = split_input(data);
    let config = config();
    let (whole, whole_submitted) = play(&config, &[payload]);
    let (pieces, pieces_submitted) = play(&config, &split);
    assert_eq!(
        String::from_utf8_lossy(&whole),
        String::from_utf8_lossy(&pieces),
        "the replies depend on how the input was split: {:?}",
        split.iter().map(|chunk| chunk.len()).collect::<Vec<_>>()
    );
    assert_eq!(
        whole_submitted, pieces_submitted,
        "the submissions depend on the split"
    );
    check_replies(&whole);
    assert!(
        whole.len() <= REPLY_ALLOWANCE + REPLY_PER_INPUT_BYTE * payload.len(),
        "{} reply bytes for {} input bytes",
        whole.len(),
        payload.len()
    );
    for submitted in &whole_submitted {
        assert!(submitted.message.len() <= config.max_message_size);
        assert_eq!(submitted.from, SENDER);
        assert!((1..=config.max_recipients).contains(&submitted.recipients.len()));
        assert!(submitted.recipients.iter().all(|to| to == RECIPIENT));
    }
}

/// One session, and what the gateway was handed.
fn play(config: &SmtpConfig, chunks: &[&[u8]]) -> (Vec<u8>, Vec<Submitted>) {
    let service = MemoryService::default();
    let replies = block_on(replay(config, &service, chunks));
    (replies, service.into_submissions())
}

/// Panics unless `replies` is a sequence of well-formed reply lines starting with the greeting.
fn check_replies(replies: &[u8]) {
    assert!(replies.starts_with(b"220 "), "no greeting: {replies:?}");
    let mut continued: Option<&[u8]> = None;
    for line in replies.split_inclusive(|&b| b == b'\n') {
        let shown = String::from_utf8_lossy(line);
        let Some(text) = line.strip_suffix(b"\r\n") else {
            panic!("a reply line without CRLF: {shown:?}");
        };
        assert!(
            line.len() <= MAX_REPLY_LINE,
            "a reply line too long: {shown:?}"
        );
        let well_formed = match text {
            [a, b, c, separator, rest @ ..] => {
                (b'2'..=b'5').contains(a)
                    && [b, c].iter().all(|d| d.is_ascii_digit())
                    && matches!(separator, b' ' | b'-')
                    && rest
                        .iter()
                        .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b))
            }
            _ => false,
        };
        assert!(well_formed, "a malformed reply line: {shown:?}");
        if let Some(code) = continued {
            assert_eq!(
                code,
                &text[..3],
                "a continued reply changed its code: {shown:?}"
            );
        }
        continued = (text[3] == b'-').then(|| &text[..3]);
    }
    assert!(continued.is_none(), "a continued reply never ended");
}

#[cfg(test)]
mod tests {
    use kx_listen::fuzzing::replay_seeds;

    use super::{check_replies, session};

    #[test]
    fn the_fuzz_seeds_keep_the_session_properties() {
        replay_seeds(env!("CARGO_MANIFEST_DIR"), 10, session);
    }

    #[test]
    fn malformed_replies_are_caught() {
        let bad: [&[u8]; 7] = [
            b"",
            b"220 kx\n",
            b"220 kx\r\n25 short\r\n",
            b"220 kx\r\n250 a\rb\r\n",
            b"220 kx\r\n250 caf\xc3\xa9\r\n",
            b"220 kx\r\n250-a\r\n251 b\r\n",
            b"220 kx\r\n250-a\r\n",
        ];
        for replies in bad {
            let caught = std::panic::catch_unwind(|| check_replies(replies));
            assert!(
                caught.is_err(),
                "accepted {:?}",
                String::from_utf8_lossy(replies)
            );
        }
        check_replies(b"220 kx ESMTP\r\n250-a\r\n250 b\r\n221 2.0.0 Bye\r\n");
    }
}

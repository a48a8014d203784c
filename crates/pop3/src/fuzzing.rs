//! A session without a socket: an in-memory backend, a connection whose reads are given in
//! advance, and the properties every session must keep whatever a client sends. The
//! integration tests serve the backend over TCP; the fuzz target in `crates/pop3/fuzz` feeds
//! [`session`] arbitrary bytes, and the seeds and every input it ever crashed on are replayed
//! by the unit tests.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use kx_listen::fuzzing::{ScriptedStream, block_on, split_input};
use tokio::sync::watch;

use crate::backend::{AuditEvent, AuthOutcome, Backend, BackendError, Entry, LockError, Uid};
use crate::config::Pop3Config;
use crate::request::{Command, LineReceiver, MAX_COMMAND_LINE, MAX_SASL_LINE, RequestError};
use crate::session::SessionStream;

/// Failed logins after which the backend locks a user out, right password or not.
pub const BACKEND_LOCKOUT: u32 = 5;
/// The password the backend answers as if its password checks were all busy.
pub const BUSY_PASSWORD: &str = "busy";

/// The maildrop fixture: alice has three messages, one with dot-led lines; bob has one.
pub fn sample_messages() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "alice",
            b"From: kxd@example.jp\r\nSubject: Transmit Accept\r\n\r\nline 1\r\nline 2\r\n"
                .to_vec(),
        ),
        (
            "alice",
            b"Subject: dots\r\n\r\n.leading dot\r\n.\r\n..two\r\nlast\r\n".to_vec(),
        ),
        (
            "alice",
            [
                &b"Subject: big\r\n\r\n"[..],
                &b"0123456789abcdef\r\n".repeat(4000),
            ]
            .concat(),
        ),
        ("bob", b"Subject: for bob only\r\n\r\nsecret\r\n".to_vec()),
    ]
}

/// One stored message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// Its unique id, also the backend's handle.
    pub uid: String,
    /// The message.
    pub bytes: Vec<u8>,
}

#[derive(Default)]
struct Inner {
    passwords: HashMap<String, String>,
    maildrops: BTreeMap<String, Vec<Stored>>,
    locked: HashSet<String>,
    failures: HashMap<String, u32>,
    audit: Vec<String>,
}

/// A [`Backend`] over a few maps, with failure counting and lock-out like the real store.
#[derive(Default)]
pub struct MemoryBackend {
    inner: Mutex<Inner>,
}

/// The in-memory backend's lock: the name of the locked maildrop.
pub struct MemoryLock(String);

impl MemoryBackend {
    /// alice (password `alice-pw`) and bob (`bob-pw`) with [`sample_messages`].
    pub fn with_samples() -> Self {
        let backend = MemoryBackend::default();
        {
            let mut inner = backend.inner();
            for user in ["alice", "bob"] {
                inner.passwords.insert(user.into(), format!("{user}-pw"));
            }
            for (n, (user, bytes)) in sample_messages().into_iter().enumerate() {
                let uid = format!("{user}-{n:04}");
                let stored = Stored { uid, bytes };
                inner.maildrops.entry(user.into()).or_default().push(stored);
            }
        }
        backend
    }

    /// A poisoned lock means a session panicked, which its caller reports anyway.
    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What `user`'s maildrop holds now.
    pub fn maildrop(&self, user: &str) -> Vec<Stored> {
        self.inner()
            .maildrops
            .get(user)
            .cloned()
            .unwrap_or_default()
    }

    /// The unique ids in `user`'s maildrop now.
    pub fn uids(&self, user: &str) -> Vec<String> {
        self.maildrop(user).into_iter().map(|s| s.uid).collect()
    }

    /// Whether `user`'s maildrop is locked.
    pub fn is_locked(&self, user: &str) -> bool {
        self.inner().locked.contains(user)
    }

    /// Waits up to five seconds for `user`'s lock to go; panics if it stays.
    pub fn wait_unlocked(&self, user: &str) {
        let start = Instant::now();
        while self.is_locked(user) {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "{user} still locked"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The audit log so far, one event per line.
    pub fn audit(&self) -> Vec<String> {
        self.inner().audit.clone()
    }
}

impl Backend for MemoryBackend {
    type Account = String;
    type Lock = MemoryLock;
    type MessageId = String;

    async fn authenticate(
        &self,
        user: &str,
        password: &str,
        _source: IpAddr,
    ) -> Result<AuthOutcome<String>, BackendError> {
        if password == BUSY_PASSWORD {
            return Ok(AuthOutcome::Busy);
        }
        let mut inner = self.inner();
        let failures = inner.failures.get(user).copied().unwrap_or(0);
        if failures >= BACKEND_LOCKOUT {
            return Ok(AuthOutcome::LockedOut);
        }
        if inner.passwords.get(user).map(String::as_str) == Some(password) {
            inner.failures.remove(user);
            return Ok(AuthOutcome::Authenticated(user.to_owned()));
        }
        *inner.failures.entry(user.to_owned()).or_default() += 1;
        Ok(AuthOutcome::Rejected)
    }

    async fn lock(&self, account: &String) -> Result<MemoryLock, LockError> {
        if self.inner().locked.insert(account.clone()) {
            Ok(MemoryLock(account.clone()))
        } else {
            Err(LockError::InUse)
        }
    }

    async fn list(&self, lock: &MemoryLock) -> Result<Vec<Entry<String>>, BackendError> {
        let entries = self.maildrop(&lock.0).into_iter().map(|stored| {
            let uid = Uid::new(stored.uid.clone()).map_err(|e| BackendError(e.into()))?;
            Ok(Entry {
                id: stored.uid,
                uid,
                size: stored.bytes.len() as u64,
            })
        });
        entries.collect()
    }

    async fn fetch(&self, lock: &MemoryLock, id: &String) -> Result<Vec<u8>, BackendError> {
        let found = self.maildrop(&lock.0).into_iter().find(|s| s.uid == *id);
        found
            .map(|stored| stored.bytes)
            .ok_or_else(|| BackendError(format!("no message {id}").into()))
    }

    async fn delete(&self, lock: &MemoryLock, ids: &[String]) -> Result<(), BackendError> {
        if let Some(maildrop) = self.inner().maildrops.get_mut(&lock.0) {
            maildrop.retain(|stored| !ids.contains(&stored.uid));
        }
        Ok(())
    }

    async fn unlock(&self, lock: MemoryLock) {
        self.inner().locked.remove(&lock.0);
    }

    async fn record(&self, event: AuditEvent<'_>) {
        let line = format!("{event:?}");
        self.inner().audit.push(line);
    }
}

impl SessionStream for ScriptedStream {
    fn is_tls(&self) -> bool {
        false
    }
}

/// Where every in-memory client connects from.
pub const PEER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 50110);

/// Runs one session from [`PEER`] whose reads return `chunks`, one each, then end of input.
/// Returns every byte the server wrote.
pub async fn replay(config: Pop3Config, backend: Arc<MemoryBackend>, chunks: &[&[u8]]) -> Vec<u8> {
    let (stream, transcript) = ScriptedStream::new(chunks);
    let (_shutdown, shutdown) = watch::channel(false);
    crate::session::run(stream, PEER, Arc::new(config), backend, shutdown).await;
    transcript.take()
}

/// The settings [`session`] runs under: the defaults, plaintext login allowed (the session under
/// test has no TLS) and no delay after a failed login.
pub fn config() -> Pop3Config {
    Pop3Config {
        allow_plaintext_auth: true,
        auth_failure_delay: Duration::ZERO,
        ..Pop3Config::default()
    }
}

/// The longest status line, CRLF included (RFC 2449 §4).
const MAX_STATUS_LINE: usize = 512;

/// Plays `data` as one session twice: in one read, and split where its first bytes say (see
/// [`split_input`]). Panics unless both give the same replies and leave the maildrops the same,
/// every command line is answered by exactly one well-formed response (a status line of at most
/// 512 octets, multi-line bodies dot-stuffed and ended), a session that stops answering
/// stopped at QUIT or after a failed login, and no maildrop stays locked.
pub fn session(data: &[u8]) {
    let (payload, split) = split_input(data);
    let (whole, whole_maildrops) = play(&[payload]);
    let (pieces, pieces_maildrops) = play(&split);
    assert_eq!(
        String::from_utf8_lossy(&whole),
        String::from_utf8_lossy(&pieces),
        "the replies depend on how the input was split: {:?}",
        split.iter().map(|chunk| chunk.len()).collect::<Vec<_>>()
    );
    assert_eq!(
        whole_maildrops, pieces_maildrops,
        "the maildrops depend on the split"
    );
    check_conversation(payload, &whole);
}

/// One session against a fresh [`MemoryBackend::with_samples`]. Returns the replies and the
/// maildrops' ids after the session; panics if a maildrop is still locked.
fn play(chunks: &[&[u8]]) -> (Vec<u8>, [Vec<String>; 2]) {
    let backend = Arc::new(MemoryBackend::with_samples());
    let replies = block_on(replay(config(), Arc::clone(&backend), chunks));
    let users = ["alice", "bob"];
    for user in users {
        assert!(!backend.is_locked(user), "{user}'s maildrop stayed locked");
    }
    (replies, users.map(|user| backend.uids(user)))
}

/// What the client's next line is, for the session.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expecting {
    Command,
    SaslResponse,
}

/// Panics unless `replies` is the greeting, then one response for each line of `input` as the
/// session frames it, until either runs out.
fn check_conversation(input: &[u8], replies: &[u8]) {
    let mut lines = replies.split_inclusive(|&b| b == b'\n');
    let greeting = lines.next().map(String::from_utf8_lossy);
    assert_eq!(greeting.as_deref(), Some("+OK kxd POP3 server ready\r\n"));
    let mut receiver = LineReceiver::default();
    let mut input = input.iter();
    let mut expecting = Expecting::Command;
    // Whether the last response may have ended the session: -ERR to a login.
    let mut may_close = false;
    loop {
        let limit = match expecting {
            Expecting::Command => MAX_COMMAND_LINE,
            Expecting::SaslResponse => MAX_SASL_LINE,
        };
        let line = match receiver.next_line(&mut input, limit) {
            Err(RequestError::NeedsMoreData) => break,
            line => line,
        };
        let Some(status) = lines.next() else {
            assert!(may_close, "no response to a line after {replies:?}");
            return;
        };
        let shown = String::from_utf8_lossy(status);
        assert!(
            status.len() <= MAX_STATUS_LINE,
            "a status line too long: {shown:?}"
        );
        let text = status
            .strip_suffix(b"\r\n")
            .unwrap_or_else(|| panic!("a status line without CRLF: {shown:?}"));
        assert!(
            text.iter().all(|b| (b' '..=b'~').contains(b)),
            "a status line not printable ASCII: {shown:?}"
        );
        let command = match (expecting, line) {
            (Expecting::Command, Ok(line)) => Command::parse(&line).ok(),
            _ => None,
        };
        let login = matches!(command, Some(Command::Pass(_) | Command::Auth { .. }))
            || expecting == Expecting::SaslResponse;
        expecting = Expecting::Command;
        may_close = false;
        if text == b"+ " {
            assert!(
                matches!(&command, Some(Command::Auth { mechanism: Some(m), initial_response: None }) if m == "PLAIN"),
                "a SASL challenge answering {command:?}"
            );
            expecting = Expecting::SaslResponse;
        } else if text == b"+OK" || text.starts_with(b"+OK ") {
            if command.as_ref().is_some_and(multi_line) {
                check_body(&mut lines);
            }
            if command == Some(Command::Quit) {
                let after = lines.flatten().copied().collect::<Vec<u8>>();
                assert!(after.is_empty(), "replies after QUIT: {after:?}");
                return;
            }
        } else if text.starts_with(b"-ERR ") {
            may_close = login;
        } else {
            panic!("neither +OK nor -ERR: {shown:?}");
        }
    }
    let rest: Vec<u8> = lines.flatten().copied().collect();
    assert!(
        rest.is_empty(),
        "replies beyond the lines sent: {:?}",
        String::from_utf8_lossy(&rest)
    );
}

/// Whether a `+OK` to `command` is followed by a multi-line body.
fn multi_line(command: &Command) -> bool {
    matches!(
        command,
        Command::Auth {
            mechanism: None,
            ..
        } | Command::Capa
            | Command::List(None)
            | Command::Retr(_)
            | Command::Top { .. }
            | Command::Uidl(None)
    )
}

/// Reads a multi-line body up to its terminating `.` line: every line ends with CRLF, and a line
/// starting with `.` is stuffed.
fn check_body<'a>(lines: &mut impl Iterator<Item = &'a [u8]>) {
    for line in lines.by_ref() {
        let shown = String::from_utf8_lossy(line);
        assert!(
            line.ends_with(b"\r\n"),
            "a body line without CRLF: {shown:?}"
        );
        if line == b".\r\n" {
            return;
        }
        assert!(
            !line.starts_with(b".") || line.starts_with(b".."),
            "a body line not dot-stuffed: {shown:?}"
        );
    }
    panic!("a multi-line body without its end");
}

#[cfg(test)]
mod tests {
    use kx_listen::fuzzing::replay_seeds;

    use super::{check_conversation, session};

    #[test]
    fn the_fuzz_seeds_keep_the_session_properties() {
        replay_seeds(env!("CARGO_MANIFEST_DIR"), 6, session);
    }

    #[test]
    fn malformed_conversations_are_caught() {
        let greeting = "+OK kxd POP3 server ready\r\n";
        let bad = [
            ("NOOP\r\n", String::new()),
            ("NOOP\r\n", greeting.to_owned()),
            ("NOOP\r\n", format!("{greeting}+OK\n")),
            ("NOOP\r\n", format!("{greeting}OK\r\n")),
            ("NOOP\r\n", format!("{greeting}+OK\r\n+OK\r\n")),
            ("CAPA\r\n", format!("{greeting}+OK\r\nUSER\r\n")),
            ("CAPA\r\n", format!("{greeting}+OK\r\n.USER\r\n.\r\n")),
            ("NOOP\r\nNOOP\r\n", format!("{greeting}+OK\r\n")),
            ("AUTH X\r\n", format!("{greeting}+ \r\n")),
        ];
        for (input, replies) in bad {
            let caught = std::panic::catch_unwind(|| {
                check_conversation(input.as_bytes(), replies.as_bytes())
            });
            assert!(caught.is_err(), "accepted {input:?} answered {replies:?}");
        }
        check_conversation(
            b"CAPA\r\nAUTH PLAIN\r\n*\r\nQUIT\r\nNOOP\r\n",
            format!("{greeting}+OK\r\n..USER\r\n.\r\n+ \r\n-ERR no\r\n+OK bye\r\n").as_bytes(),
        );
    }
}

//! Test fixture for the POP3 listener: an in-memory backend, a server with the test CA's
//! certificate on a background runtime, and a runner for Python `poplib` scripts.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kx_pop3::{
    AuditEvent, AuthOutcome, Backend, BackendError, Entry, LockError, Pop3Config, TlsMode, Uid,
    serve,
};
use kx_testkit::{Python, TestCa};

/// Failed logins after which the backend locks a user out, right password or not.
pub(crate) const BACKEND_LOCKOUT: u32 = 5;
/// The password the backend answers as if its password checks were all busy.
pub(crate) const BUSY_PASSWORD: &str = "busy";

/// The maildrop fixture: alice has three messages, one with dot-led lines; bob has one.
pub(crate) fn sample_messages() -> Vec<(&'static str, Vec<u8>)> {
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
#[derive(Clone)]
pub(crate) struct Stored {
    pub(crate) uid: String,
    pub(crate) bytes: Vec<u8>,
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
pub(crate) struct MemoryBackend {
    inner: Mutex<Inner>,
}

/// The fixture's lock: the name of the locked maildrop.
pub(crate) struct MemoryLock(String);

impl MemoryBackend {
    /// alice (password `alice-pw`) and bob (`bob-pw`) with [`sample_messages`].
    pub(crate) fn with_samples() -> Self {
        let backend = MemoryBackend::default();
        {
            let mut inner = backend.inner.lock().unwrap();
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

    /// What `user`'s maildrop holds now.
    pub(crate) fn maildrop(&self, user: &str) -> Vec<Stored> {
        let inner = self.inner.lock().unwrap();
        inner.maildrops.get(user).cloned().unwrap_or_default()
    }

    /// The unique ids in `user`'s maildrop now.
    pub(crate) fn uids(&self, user: &str) -> Vec<String> {
        self.maildrop(user).into_iter().map(|s| s.uid).collect()
    }

    /// Whether `user`'s maildrop is locked.
    pub(crate) fn is_locked(&self, user: &str) -> bool {
        self.inner.lock().unwrap().locked.contains(user)
    }

    /// Waits up to five seconds for the lock to go.
    pub(crate) fn wait_unlocked(&self, user: &str) {
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
    pub(crate) fn audit(&self) -> Vec<String> {
        self.inner.lock().unwrap().audit.clone()
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
        let mut inner = self.inner.lock().unwrap();
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
        let mut inner = self.inner.lock().unwrap();
        if inner.locked.insert(account.clone()) {
            Ok(MemoryLock(account.clone()))
        } else {
            Err(LockError::InUse)
        }
    }

    async fn list(&self, lock: &MemoryLock) -> Result<Vec<Entry<String>>, BackendError> {
        let entries = self.maildrop(&lock.0).into_iter().map(|stored| Entry {
            id: stored.uid.clone(),
            uid: Uid::new(stored.uid).unwrap(),
            size: stored.bytes.len() as u64,
        });
        Ok(entries.collect())
    }

    async fn fetch(&self, lock: &MemoryLock, id: &String) -> Result<Vec<u8>, BackendError> {
        let found = self.maildrop(&lock.0).into_iter().find(|s| s.uid == *id);
        found
            .map(|stored| stored.bytes)
            .ok_or_else(|| BackendError(format!("no message {id}").into()))
    }

    async fn delete(&self, lock: &MemoryLock, ids: &[String]) -> Result<(), BackendError> {
        let mut inner = self.inner.lock().unwrap();
        if let Some(maildrop) = inner.maildrops.get_mut(&lock.0) {
            maildrop.retain(|stored| !ids.contains(&stored.uid));
        }
        Ok(())
    }

    async fn unlock(&self, lock: MemoryLock) {
        self.inner.lock().unwrap().locked.remove(&lock.0);
    }

    async fn record(&self, event: AuditEvent<'_>) {
        let line = format!("{event:?}");
        self.inner.lock().unwrap().audit.push(line);
    }
}

/// How a test server is set up.
pub(crate) enum Tls {
    Stls,
    Implicit,
    Disabled,
}

/// A POP3 listener on 127.0.0.1 with its own runtime thread; dropping it shuts it down.
pub(crate) struct TestServer {
    pub(crate) port: u16,
    pub(crate) backend: Arc<MemoryBackend>,
    pub(crate) pki: TestCa,
    pub(crate) ca_file: PathBuf,
    shutdown: tokio::sync::watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// STLS, plaintext auth refused, default limits.
    pub(crate) fn start() -> Self {
        TestServer::start_with(Tls::Stls, |_| {})
    }

    pub(crate) fn start_with(tls: Tls, adjust: impl FnOnce(&mut Pop3Config)) -> Self {
        let pki = TestCa::new("pop3.test");
        let ca_file = pki.ca_file();
        let mut config = Pop3Config {
            tls: match tls {
                Tls::Stls => TlsMode::Stls(pki.acceptor()),
                Tls::Implicit => TlsMode::Implicit(pki.acceptor()),
                Tls::Disabled => TlsMode::Disabled,
            },
            // Failed logins are part of many tests; the delay would only slow them down.
            auth_failure_delay: Duration::ZERO,
            ..Pop3Config::default()
        };
        adjust(&mut config);
        let backend = Arc::new(MemoryBackend::with_samples());
        let (shutdown, stop) = tokio::sync::watch::channel(false);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let served = backend.clone();
        let thread = std::thread::spawn(move || {
            runtime.block_on(serve(listener, config, served, stop));
        });
        TestServer {
            port,
            backend,
            pki,
            ca_file,
            shutdown,
            thread: Some(thread),
        }
    }

    /// Runs `script` under the Python prelude in `poplib_prelude.py` and returns the JSON
    /// object it leaves in `out`.
    pub(crate) fn python(&self, script: &str) -> serde_json::Value {
        let prelude = include_str!("poplib_prelude.py");
        let program = format!("{prelude}\n{script}\nprint(json.dumps(out))\n");
        let output = Python::new(program)
            .arg(self.port.to_string())
            .arg(&self.ca_file)
            .output();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "python failed:\n{stderr}");
        serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
            panic!(
                "bad JSON ({error}): {}\n{stderr}",
                String::from_utf8_lossy(&output.stdout)
            )
        })
    }

    /// Shuts the listener down and waits until `serve` has returned.
    pub(crate) fn stop(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

//! Test fixture for the POP3 listener: the crate's in-memory backend served with the test CA's
//! certificate on a background runtime, and a runner for Python `poplib` scripts.

use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub(crate) use kx_pop3::fuzzing::{BACKEND_LOCKOUT, BUSY_PASSWORD, MemoryBackend, sample_messages};
use kx_pop3::{Pop3Config, TlsMode, serve};
use kx_testkit::{Python, TestCa};

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

//! An S3-compatible server for tests: moto's server mode (`moto_server`, from PyPI, which
//! `scripts/test` installs into the test environment), on a free loopback port.

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::process::test_venv;

/// How long moto may take to answer after it was started (it imports much of Python).
const START_DEADLINE: Duration = Duration::from_secs(90);

/// A running `moto_server`, stopped when this is dropped, and also when the test process
/// ends without dropping it (a shared server, a panic that aborts): it runs under a shell
/// that kills it as soon as our end of its standard input closes.
pub struct S3Server {
    child: Child,
    lifeline: Option<ChildStdin>,
    port: u16,
    log: tempfile::NamedTempFile,
}

impl S3Server {
    /// Starts moto on a free port of 127.0.0.1 and waits until it answers.
    pub fn start() -> S3Server {
        let moto = moto_server();
        // A port the system just handed out and released: free unless someone takes it in
        // the instant before moto binds it.
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = tempfile::NamedTempFile::new().expect("a log file");
        let child = Command::new("sh")
            .arg("-c")
            .arg(r#""$0" -H 127.0.0.1 -p "$1" </dev/null & moto=$!; cat >/dev/null; kill "$moto""#)
            .arg(&moto)
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(log.reopen().expect("the log file"))
            .stderr(log.reopen().expect("the log file"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", moto.display()));
        let mut server = S3Server {
            lifeline: None,
            child,
            port,
            log,
        };
        server.lifeline = server.child.stdin.take();
        server.wait_until_answering();
        server
    }

    /// One server for the whole test binary, started by the first caller.
    pub fn shared() -> &'static S3Server {
        static SHARED: OnceLock<S3Server> = OnceLock::new();
        SHARED.get_or_init(S3Server::start)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a bucket with a name no other test of this process uses, and returns it.
    pub fn fresh_bucket(&self) -> String {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "kx-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        self.create_bucket(&name);
        name
    }

    /// Creates the bucket `name` (moto takes unsigned requests).
    pub fn create_bucket(&self, name: &str) {
        let (status, body) = self.request("PUT", &format!("/{name}"));
        assert_eq!(status, 200, "creating bucket {name}: {body}");
    }

    /// How many multipart uploads of `bucket` are begun and neither completed nor aborted.
    pub fn unfinished_uploads(&self, bucket: &str) -> usize {
        let (status, body) = self.request("GET", &format!("/{bucket}?uploads"));
        assert_eq!(status, 200, "listing uploads of {bucket}: {body}");
        body.matches("<UploadId>").count()
    }

    /// What moto has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// One plain HTTP/1.0 request; the status and the body.
    fn request(&self, method: &str, target: &str) -> (u16, String) {
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).expect("moto");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("a timeout");
        write!(
            stream,
            "{method} {target} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\n\r\n",
            self.port
        )
        .expect("the request is sent");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("moto answers");
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
        let body = response
            .split_once("\r\n\r\n")
            .map_or("", |(_, body)| body)
            .to_owned();
        (status, body)
    }

    fn wait_until_answering(&mut self) {
        let started = Instant::now();
        loop {
            if let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut answer = [0u8; 5];
                if stream.write_all(b"GET / HTTP/1.0\r\n\r\n").is_ok()
                    && stream.read_exact(&mut answer).is_ok()
                    && &answer == b"HTTP/"
                {
                    return;
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("moto_server ended ({status}):\n{}", self.log());
            }
            assert!(
                started.elapsed() < START_DEADLINE,
                "moto_server did not answer within {START_DEADLINE:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        // Closing its input makes the shell kill moto; then the shell ends.
        drop(self.lifeline.take());
        let _ = self.child.wait();
    }
}

/// `moto_server` of the test environment (`scripts/test` installs it there), or else the
/// first on PATH.
fn moto_server() -> PathBuf {
    let installed = test_venv().join("bin/moto_server");
    if installed.exists() {
        return installed;
    }
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("moto_server"))
            .find(|candidate| candidate.is_file())
    });
    on_path.unwrap_or_else(|| {
        panic!(
            "moto_server is missing: scripts/test installs it into {} \
             (pip install -r scripts/test-requirements.txt)",
            test_venv().display()
        )
    })
}

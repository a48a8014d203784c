//! Commands run to completion, and Python scripts.

use std::ffi::{OsStr, OsString};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs a command to completion, panicking with its output when it fails; its standard output.
pub fn run(command: &mut Command) -> String {
    let output = command.output().expect("the command runs");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs `command` with `input` on its standard input and collects what it writes.
pub fn run_with_input(command: &mut Command, input: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"));
    let mut stdin = child.stdin.take().expect("a piped stdin");
    // Written from a thread: a child that answers before it has read everything would
    // otherwise fill its output pipe while we block on its input.
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        // A child may end without reading all: a closed pipe is its answer, not ours.
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().expect("the command ends");
    let _ = writer.join();
    output
}

/// A Python script run by `python3` (the first on PATH, or [`Python::system`]'s), as a file so
/// that its size is not bounded by the argument limit and its standard input stays free.
pub struct Python {
    interpreter: OsString,
    script: String,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    stdin: Vec<u8>,
    timeout: Duration,
}

impl Python {
    /// `script`, without arguments or input, given two minutes.
    pub fn new(script: impl Into<String>) -> Python {
        Python {
            interpreter: "python3".into(),
            script: script.into(),
            args: Vec::new(),
            envs: Vec::new(),
            stdin: Vec::new(),
            timeout: Duration::from_secs(120),
        }
    }

    /// Runs under the system's interpreter, where `apt-get install python3-…` puts modules
    /// such as `aiosmtpd` (a `python3` earlier on PATH may be another one).
    pub fn system(mut self) -> Python {
        if std::path::Path::new("/usr/bin/python3").exists() {
            self.interpreter = "/usr/bin/python3".into();
        }
        self
    }

    /// Runs under the test environment's interpreter, where `scripts/test` installs the PyPI
    /// packages the tests use (Playwright, `prometheus_client`): `$KX_TEST_VENV/bin/python`,
    /// by default the workspace's `target/test-venv`.
    pub fn venv(mut self) -> Python {
        let python = test_venv().join("bin/python");
        assert!(
            python.exists(),
            "{} is missing: scripts/test creates it (python3 -m venv, then pip install -r scripts/test-requirements.txt)",
            python.display()
        );
        self.interpreter = python.into();
        self
    }

    /// Appends an argument (`sys.argv[1]` and on).
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Python {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Python {
        self.envs
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// What the script reads on its standard input.
    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Python {
        self.stdin = input.into();
        self
    }

    /// How long the script may run before it is killed and the test fails.
    pub fn timeout(mut self, timeout: Duration) -> Python {
        self.timeout = timeout;
        self
    }

    /// `python3 -c SCRIPT ARGS` with the environment, for a script that runs beside the test
    /// (a server) rather than to its end: the caller spawns it, feeds it and stops it, so the
    /// standard input and timeout given here do not apply.
    pub fn command(self) -> Command {
        let mut command = Command::new(&self.interpreter);
        command
            .arg("-c")
            .arg(&self.script)
            .args(&self.args)
            .envs(self.envs.iter().map(|(k, v)| (k, v)));
        command
    }

    /// Runs the script to its end (or the timeout); what it did, success or not.
    pub fn output(self) -> Output {
        let file = tempfile::Builder::new()
            .suffix(".py")
            .tempfile()
            .expect("a script file");
        std::fs::write(file.path(), &self.script).expect("the script written");
        let mut child = Command::new(&self.interpreter)
            .arg(file.path())
            .args(&self.args)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut stdin = child.stdin.take().expect("a piped stdin");
        let input = self.stdin;
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let readers = [
            drain(child.stdout.take().expect("a piped stdout")),
            drain(child.stderr.take().expect("a piped stderr")),
        ];
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("python3 can be waited for") {
                break status;
            }
            if started.elapsed() > self.timeout {
                let _ = child.kill();
                let _ = child.wait();
                let [_, stderr] = readers.map(|r| r.join().unwrap_or_default());
                panic!(
                    "python ran longer than {:?}:\n{}",
                    self.timeout,
                    String::from_utf8_lossy(&stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let _ = writer.join();
        let [stdout, stderr] = readers.map(|r| r.join().unwrap_or_default());
        Output {
            status,
            stdout,
            stderr,
        }
    }

    /// Runs the script, which must succeed; its standard output.
    pub fn run(self) -> String {
        let output = self.output();
        assert!(
            output.status.success(),
            "python failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

/// The test environment's Python virtual environment: `$KX_TEST_VENV`, by default the
/// workspace's `target/test-venv`.
pub(crate) fn test_venv() -> PathBuf {
    std::env::var_os("KX_TEST_VENV").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-venv"),
        PathBuf::from,
    )
}

/// Reads a pipe to its end on a thread of its own.
fn drain(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// Every file below `dir`, in no particular order.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    files_under_where(dir, |_| true)
}

/// Every file below `dir` whose path and every directory's on the way `keep` accepts.
pub(crate) fn files_under_where(dir: &Path, keep: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(path) = todo.pop() {
        if !keep(&path) {
            continue;
        }
        if path.is_dir() {
            todo.extend(
                std::fs::read_dir(&path)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path()),
            );
        } else if path.exists() {
            files.push(path);
        }
    }
    files
}

/// The directory the test binaries and the workspace's binaries are built into
/// (`target/debug`): a test binary lives in its `deps`.
pub(crate) fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let deps = exe.parent().expect("the test binary lives in a directory");
    deps.parent().unwrap_or(deps).to_owned()
}

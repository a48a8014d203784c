//! The real `kxd` of this workspace, run as an operator runs it: `kxd init`, `kxd admin` and
//! `kxd serve` in a temporary directory, stopped when the test ends. Shared by the 伝送 client
//! and the exchange tests.

#![allow(dead_code, unreachable_pub)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

/// How long `kxd serve` may take to write its endpoints.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// `kx` of this build.
pub fn kx_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kx"))
}

/// `kxd` of this workspace. `cargo` cannot hand another package's binary to these tests, so it
/// is built beside `kx` in the same target directory, once per test binary, and only when a
/// source it is made from is newer than it: `cargo build --bin kxd` unifies features
/// differently from `cargo test -p kx`, so asking cargo every time would rebuild it. Every
/// crate but the user's tool (`cli`, `client`, `app`) may go into kxd, whatever it is called.
pub fn kxd_bin() -> PathBuf {
    static BUILD: Once = Once::new();
    let dir = kx_bin()
        .parent()
        .expect("kx lives in a target directory")
        .to_owned();
    let kxd = dir.join("kxd");
    BUILD.call_once(|| {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let built = std::fs::metadata(&kxd).and_then(|m| m.modified()).ok();
        let mut sources: Vec<PathBuf> = std::fs::read_dir(workspace.join("crates"))
            .expect("the workspace has crates/")
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.is_dir())
            .filter(|path| {
                !matches!(
                    path.file_name().and_then(OsStr::to_str),
                    Some("cli" | "client" | "app")
                )
            })
            .collect();
        sources.push(workspace.join("Cargo.lock"));
        let fresh = built.is_some_and(|built| sources.iter().all(|s| newest(s) <= built));
        if fresh {
            return;
        }
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--bin", "kxd"])
            .current_dir(&workspace)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building kxd failed");
    });
    assert!(kxd.exists(), "{} was not built", kxd.display());
    kxd
}

/// The newest modification time of a file or of anything below a directory.
fn newest(path: &Path) -> std::time::SystemTime {
    let mut newest = std::time::SystemTime::UNIX_EPOCH;
    let mut todo = vec![path.to_owned()];
    while let Some(path) = todo.pop() {
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            todo.extend(
                std::fs::read_dir(&path)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path()),
            );
        } else if let Ok(modified) = meta.modified() {
            newest = newest.max(modified);
        }
    }
    newest
}

/// Runs a command to completion, panicking with its output when it fails.
pub fn run(command: &mut Command) -> String {
    let output = command.output().expect("the command starts");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// An initialised installation that is not served yet.
pub struct Installation {
    dir: tempfile::TempDir,
}

impl Installation {
    /// `kxd init --data DIR <args>`.
    pub fn init(args: &[&str]) -> Installation {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let installation = Installation { dir };
        run(kxd(&installation.data(), "init").args(args));
        installation
    }

    /// The temporary directory holding the data directory, the log and test files.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The data directory.
    pub fn data(&self) -> PathBuf {
        self.root().join("data")
    }

    /// The CA of the server's TLS certificate.
    pub fn ca(&self) -> PathBuf {
        self.data().join("tls/ca.pem")
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root().join("kxd.log")).unwrap_or_default()
    }

    /// `kxd admin --data DIR <args>`: its output.
    pub fn admin<S: AsRef<OsStr>>(&self, args: &[S]) -> String {
        run(kxd(&self.data(), "admin").args(args))
    }

    /// Changes `kxd.toml` as an operator would before serving.
    pub fn configure(&self, change: impl FnOnce(&mut toml::Table)) {
        let path = self.data().join("kxd.toml");
        let text = std::fs::read_to_string(&path).expect("kxd.toml");
        let mut table: toml::Table = text.parse().expect("kxd.toml is TOML");
        change(&mut table);
        std::fs::write(&path, table.to_string()).expect("kxd.toml written");
    }

    /// `kxd serve` with `envs`, once it has written `endpoints.json`.
    pub fn serve(self, envs: &[(&str, &OsStr)]) -> Served {
        let log = std::fs::File::create(self.root().join("kxd.log")).expect("a log file");
        let server = kxd(&self.data(), "serve")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("kxd serve runs");
        let mut served = Served {
            installation: self,
            server,
            endpoints: serde_json::Value::Null,
        };
        let started = Instant::now();
        served.endpoints = loop {
            if let Ok(text) = std::fs::read(served.data().join("endpoints.json"))
                && let Ok(json) = serde_json::from_slice::<serde_json::Value>(&text)
            {
                break json;
            }
            assert!(
                started.elapsed() < START_DEADLINE,
                "kxd serve did not start:\n{}",
                served.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        served
    }
}

/// A running `kxd serve`; killed when dropped.
pub struct Served {
    installation: Installation,
    server: Child,
    /// `endpoints.json`: the listeners' bound addresses by name.
    pub endpoints: serde_json::Value,
}

impl Served {
    /// The bound address of listener `name` (`smtp`, `pop3`, `https`, `api`).
    pub fn endpoint(&self, name: &str) -> String {
        self.endpoints[name]
            .as_str()
            .unwrap_or_else(|| panic!("kxd has no {name} listener: {}", self.endpoints))
            .to_owned()
    }
}

impl std::ops::Deref for Served {
    type Target = Installation;

    fn deref(&self) -> &Installation {
        &self.installation
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

fn kxd(data: &Path, command: &str) -> Command {
    let mut kxd = Command::new(kxd_bin());
    kxd.arg(command).arg("--data").arg(data);
    kxd
}

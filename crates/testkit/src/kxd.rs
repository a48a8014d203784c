//! The real `kxd` of the workspace, run as an operator runs it: `kxd init`, `kxd admin` and
//! `kxd serve` in a temporary directory.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant, SystemTime};

use crate::process::{Python, files_under_where, run, target_dir};

/// How long `kxd serve` may take to bind its listeners.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// `kxd` of this workspace, for tests of packages other than `kxd` (those pass
/// `env!("CARGO_BIN_EXE_kxd")`). Cargo cannot hand another package's binary to a test, so
/// this builds it into the same target directory, once per test binary, and only when a
/// source it is made from is newer: asking cargo every time would rebuild it whenever the
/// testing package unifies features differently.
pub fn kxd_bin() -> PathBuf {
    static BUILD: Once = Once::new();
    let kxd = target_dir().join("kxd");
    BUILD.call_once(|| {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let built = std::fs::metadata(&kxd).and_then(|m| m.modified()).ok();
        let fresh = built.is_some_and(|built| {
            newest_source(&workspace.join("crates")) <= built
                && newest_source(&workspace.join("Cargo.lock")) <= built
        });
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

/// The newest modification time of a file, or of what below a directory `kxd` is built
/// from: not the client crates, and not tests, benches, fuzz targets or build output, which
/// change without changing `kxd`.
fn newest_source(path: &Path) -> SystemTime {
    const NOT_KXD: [&str; 7] = ["cli", "client", "app", "tests", "benches", "fuzz", "target"];
    files_under_where(path, |p| {
        !p.file_name()
            .is_some_and(|n| NOT_KXD.iter().any(|x| n == *x))
    })
    .iter()
    .filter_map(|file| std::fs::metadata(file).and_then(|m| m.modified()).ok())
    .max()
    .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// `kxd init --environment`.
#[derive(Clone, Copy, Debug)]
pub enum Environment {
    /// Real Accept / Regist, hand-off to the review system.
    Production,
    /// Test Accept / Test Regist, no hand-off.
    TestLoopback,
}

/// The options of `kxd init`; [`Init::create`] runs it. SMTP and POP3 always listen on
/// 127.0.0.1 with a port the system chooses.
#[must_use]
pub struct Init {
    bin: PathBuf,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    clock: Option<String>,
    settings: Vec<(String, String)>,
    database: Option<String>,
}

impl Init {
    /// On the PostgreSQL database `url` (which may hold an installation already), whatever
    /// the tests run on.
    pub fn database(mut self, url: &str) -> Init {
        self.database = Some(url.to_owned());
        self
    }

    /// Also serves HTTPS (the web page and the exchange's bootstrap routes) on 127.0.0.1.
    pub fn https(self) -> Init {
        self.args(["--https", "127.0.0.1:0"])
    }

    /// Also serves the operators' console (pages, `/metrics`, `/healthz`, `/readyz`) on
    /// 127.0.0.1.
    pub fn console(self) -> Init {
        self.args(["--console", "127.0.0.1:0"])
    }

    /// Also serves the exchange api (mutual TLS) on 127.0.0.1.
    pub fn api(self) -> Init {
        self.args(["--api", "127.0.0.1:0"])
    }

    /// Also serves the read-only download area over FTPS on 127.0.0.1.
    pub fn ftp(self) -> Init {
        self.args(["--ftp", "127.0.0.1:0"])
    }

    /// `--environment`.
    pub fn environment(self, environment: Environment) -> Init {
        let name = match environment {
            Environment::Production => "production",
            Environment::TestLoopback => "test-loopback",
        };
        self.args(["--environment", name])
    }

    /// Seconds between Regist runs.
    pub fn regist_interval(self, seconds: u64) -> Init {
        self.args(["--regist-interval", &seconds.to_string()])
    }

    /// Accepts passwords without TLS.
    pub fn allow_plaintext_auth(self) -> Init {
        self.args(["--allow-plaintext-auth"])
    }

    /// Sets an environment variable for every `kxd` command of the installation.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Init {
        self.envs
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Runs the server on the clock file `DIR/clock`, starting at `at` (RFC 3339); see
    /// [`Installation::set_clock`].
    pub fn clock(mut self, at: &str) -> Init {
        self.clock = Some(at.to_owned());
        self
    }

    /// Replaces the line `line` of the `kxd.toml` that `kxd init` writes with `with`; the
    /// line must be there, so that a renamed default cannot silently leave the test on it.
    pub fn setting(mut self, line: &str, with: &str) -> Init {
        self.settings.push((line.to_owned(), with.to_owned()));
        self
    }

    /// [`Init::setting`] for each `(line, with)` pair.
    pub fn settings(self, pairs: &[(&str, &str)]) -> Init {
        pairs
            .iter()
            .fold(self, |init, (line, with)| init.setting(line, with))
    }

    fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Init {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Runs `kxd init` in a fresh temporary directory and applies the settings.
    pub fn create(mut self) -> Installation {
        let dir = tempfile::tempdir().expect("a temporary directory");
        if let Some(at) = &self.clock {
            let clock = dir.path().join("clock");
            std::fs::write(&clock, at).expect("the clock file");
            self.envs.push(("KXD_CLOCK_FILE".into(), clock.into()));
        }
        let installation = Installation {
            bin: self.bin,
            dir,
            envs: self.envs,
            database: self.database.or_else(crate::postgres::fresh_database),
        };
        let mut init = installation.kxd("init");
        init.args(["--smtp", "127.0.0.1:0", "--pop3", "127.0.0.1:0"])
            .args(&self.args);
        if let Some(url) = &installation.database {
            init.args(["--database", url]);
        }
        run(&mut init);
        if !self.settings.is_empty() {
            installation.edit_settings(|text| {
                for (line, with) in &self.settings {
                    assert!(text.contains(line.as_str()), "no {line} in:\n{text}");
                    *text = text.replace(line.as_str(), with);
                }
            });
        }
        installation
    }
}

/// An installation made by `kxd init`: its data directory is a temporary directory, removed
/// when this is dropped; `kxd serve` logs to `kxd.log` in it.
pub struct Installation {
    bin: PathBuf,
    dir: tempfile::TempDir,
    envs: Vec<(OsString, OsString)>,
    /// Its PostgreSQL database, when the tests run on PostgreSQL ([`crate::postgres`]).
    database: Option<String>,
}

impl Installation {
    /// `kxd init` of the binary `kxd` for the mail domain `domain`, with the options the
    /// returned [`Init`] is given.
    pub fn init(kxd: impl Into<PathBuf>, domain: &str) -> Init {
        Init {
            bin: kxd.into(),
            args: vec!["--domain".into(), domain.into()],
            envs: Vec::new(),
            clock: None,
            settings: Vec::new(),
            database: None,
        }
    }

    /// The data directory.
    pub fn data(&self) -> &Path {
        self.dir.path()
    }

    /// The CA of the server's TLS certificate, which clients trust.
    pub fn ca(&self) -> PathBuf {
        self.data().join("tls/ca.pem")
    }

    /// What `kxd serve` logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data().join("kxd.log")).unwrap_or_default()
    }

    /// `kxd <command> --data DIR` with the installation's environment.
    fn kxd(&self, command: &str) -> Command {
        let mut kxd = Command::new(&self.bin);
        kxd.arg(command)
            .arg("--data")
            .arg(self.data())
            .envs(self.envs.iter().map(|(k, v)| (k, v)));
        kxd
    }

    /// `kxd admin --data DIR <args>` (beside a running server, as an operator does); what it
    /// printed.
    pub fn admin<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run(self.kxd("admin").args(args))
    }

    /// Changes the text of `kxd.toml` (before the next `kxd serve` reads it).
    pub fn edit_settings(&self, edit: impl FnOnce(&mut String)) {
        let path = self.data().join("kxd.toml");
        let mut text = std::fs::read_to_string(&path).expect("kxd.toml");
        edit(&mut text);
        std::fs::write(&path, text).expect("kxd.toml written");
    }

    /// Moves the clock of an installation made with [`Init::clock`] to `at` (RFC 3339), in
    /// one step so that the server never reads half a time.
    pub fn set_clock(&self, at: &str) {
        let temp = self.data().join("clock.tmp");
        std::fs::write(&temp, at).expect("clock written");
        std::fs::rename(temp, self.data().join("clock")).expect("clock replaced");
    }

    /// Adds the 伝送 office (事業所) `number`.
    pub fn add_office_org(&self, number: &str) {
        self.admin(["org", "add", "--kind", "office", "--number", number]);
    }

    /// Adds the 伝送 account `id` (its organisation must exist) with `password`.
    pub fn add_account(&self, id: &str, password: &str) {
        self.admin(["account", "add", "--id", id, "--password", password]);
    }

    /// Defines the upstream kind `name`, sent to `to`, with at most `max_files` files a notice.
    pub fn define_upstream(&self, name: &str, to: &str, max_files: usize) {
        let max_files = max_files.to_string();
        self.admin([
            "upstream",
            "define",
            "--name",
            name,
            "--to",
            to,
            "--max-files",
            &max_files,
        ]);
    }

    /// Adds the exchange's society `number` called `name` with its first user `user`; what
    /// that user was given.
    pub fn add_society(&self, number: &str, name: &str, user: &str) -> Credentials {
        Credentials::parse(&self.admin([
            "society", "add", "--number", number, "--name", name, "--user", user,
        ]))
    }

    /// Adds the destination `nickname` to society `society`.
    pub fn add_destination(&self, society: &str, nickname: &str) {
        self.admin([
            "destination",
            "add",
            "--society",
            society,
            "--nickname",
            nickname,
        ]);
    }

    /// Adds the office `number` called `name` to society `society`, with a storage quota of
    /// `quota` bytes in place of the default.
    pub fn add_office(&self, society: &str, number: &str, name: &str, quota: Option<u64>) {
        let quota = quota.map(|q| q.to_string());
        let mut args = vec![
            "office",
            "add",
            "--society",
            society,
            "--number",
            number,
            "--name",
            name,
        ];
        if let Some(quota) = &quota {
            args.extend(["--quota", quota]);
        }
        self.admin(args);
    }

    /// Adds the user `id` of office `office` of society `society`; what it was given.
    pub fn add_office_user(&self, id: &str, society: &str, office: &str) -> Credentials {
        Credentials::parse(&self.admin([
            "user",
            "add",
            "--id",
            id,
            "--society",
            society,
            "--office",
            office,
        ]))
    }

    /// The rows `query` selects from the database, one a line, columns joined by `|`, read
    /// by the database's own client (`psql`, or Python's sqlite3). A boolean column reads
    /// alike on both as `CAST(column AS INTEGER)`.
    pub fn sql(&self, query: &str) -> String {
        if let Some(url) = &self.database {
            let out = Command::new("psql")
                .args([
                    url,
                    "-X",
                    "-q",
                    "-A",
                    "-t",
                    "-F",
                    "|",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-c",
                    query,
                ])
                .output()
                .expect("psql runs");
            assert!(
                out.status.success(),
                "{query}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return String::from_utf8(out.stdout).expect("UTF-8 rows");
        }
        Python::new(
            "import sqlite3, sys\n\
             db = sqlite3.connect(sys.argv[1])\n\
             for row in db.execute(sys.argv[2]):\n    \
                 print('|'.join('' if v is None else str(v) for v in row))\n\
             db.commit()\n",
        )
        .arg(self.data().join("kx.sqlite3"))
        .arg(query)
        .run()
    }

    /// Runs `kxd serve`, which must refuse to start; what it printed on its standard error.
    pub fn serve_refused(&self) -> String {
        let mut child = self
            .kxd("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kxd runs");
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("kxd serve waited for") {
                break status;
            }
            if started.elapsed() > START_DEADLINE {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "kxd serve started, but it should have refused:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(!status.success(), "kxd serve exited with success");
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().expect("piped"), &mut stderr)
            .expect("its standard error");
        stderr
    }

    /// Starts `kxd serve` and waits until it has written the ports it bound.
    pub fn serve(&self) -> Server {
        // A file left by an earlier process would name its ports, not the new ones.
        let _ = std::fs::remove_file(self.data().join("endpoints.json"));
        let mut watchdog = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg(&self.bin)
            .arg(self.data())
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("sh runs");
        let orders = watchdog.stdin.take().expect("a piped stdin");
        let mut pid = String::new();
        BufReader::new(watchdog.stdout.take().expect("a piped stdout"))
            .read_line(&mut pid)
            .expect("the watchdog prints the pid");
        let pid = pid.trim().parse().expect("a pid");
        let mut server = Server {
            watchdog,
            orders: Some(orders),
            pid,
            endpoints: BTreeMap::new(),
        };
        let started = Instant::now();
        server.endpoints = loop {
            // Read until it parses: the file may be caught half written.
            if let Ok(text) = std::fs::read(self.data().join("endpoints.json"))
                && let Ok(endpoints) = serde_json::from_slice(&text)
            {
                break endpoints;
            }
            assert!(
                started.elapsed() < START_DEADLINE,
                "kxd serve did not start:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        server
    }
}

/// Runs `kxd serve` (`$0`) on the data directory `$1` in the background, prints its pid, then
/// reads a signal name for it from standard input, sends it and reaps kxd. Standard input
/// ending without one means the test process is gone without dropping the [`Server`] (a
/// server in a static is never dropped): then kxd is stopped and the directory, whose
/// `TempDir` will never be dropped either, removed.
const WATCHDOG: &str = r#""$0" serve --data "$1" </dev/null >>"$1/kxd.log" 2>&1 &
kxd=$!
echo "$kxd"
# The shell reports a job that died by a signal on its standard error: kxd's end is expected.
if read -r signal; then
    kill -"$signal" "$kxd" 2>/dev/null
    wait "$kxd" 2>/dev/null
else
    kill "$kxd" 2>/dev/null
    wait "$kxd" 2>/dev/null
    rm -rf "$1"
fi"#;

/// A running `kxd serve`; killed (SIGKILL) and reaped when dropped, and stopped even when the
/// test process ends without dropping it.
pub struct Server {
    /// `sh` running [`WATCHDOG`].
    watchdog: Child,
    /// The watchdog's standard input.
    orders: Option<ChildStdin>,
    pid: u32,
    endpoints: BTreeMap<String, String>,
}

impl Server {
    /// The bound address of listener `name` (`smtp`, `pop3`, `https`, `api`, `ftp`,
    /// `console`), `host:port`.
    pub fn address(&self, name: &str) -> &str {
        self.endpoints
            .get(name)
            .unwrap_or_else(|| panic!("kxd has no {name} listener: {:?}", self.endpoints))
    }

    /// The bound port of listener `name`.
    pub fn port(&self, name: &str) -> u16 {
        let (_, port) = self.address(name).rsplit_once(':').expect("host:port");
        port.parse().expect("a port")
    }

    /// The process id of `kxd serve`, for tests that kill it themselves.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Stops the server as an operator does (SIGTERM) and waits until it has ended.
    pub fn stop(mut self) {
        self.signal("TERM");
    }

    fn signal(&mut self, signal: &str) {
        if let Some(mut orders) = self.orders.take() {
            // A watchdog already gone has nothing left to stop.
            let _ = writeln!(orders, "{signal}");
            drop(orders);
            let _ = self.watchdog.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Nothing a test checks may depend on a clean shutdown, and a kill is quickest.
        self.signal("KILL");
    }
}

/// What `kxd admin` printed for a new exchange user: its temporary password and one-time
/// (setup or enrolment) code.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// The temporary password, to be changed at the first login.
    pub password: String,
    /// The one-time code.
    pub code: String,
}

impl Credentials {
    /// Reads the `temporary password X` and `<kind> code X` that `kxd admin` printed in
    /// `out`.
    pub fn parse(out: &str) -> Credentials {
        Credentials {
            password: word_after(out, "password"),
            code: word_after(out, "code"),
        }
    }
}

/// The word after the first `key` in `text` (a command's output).
pub fn word_after(text: &str, key: &str) -> String {
    text.split_whitespace()
        .skip_while(|w| *w != key)
        .nth(1)
        .unwrap_or_else(|| panic!("no {key} in:\n{text}"))
        .to_owned()
}

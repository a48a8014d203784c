//! Fixture of the 伝送 client tests: the real `kxd` gateway (the binary of this workspace, on
//! loopback ports chosen by the system) and the real `kx` binary run as a user runs it, with its
//! own profile directory.

#![allow(dead_code, unreachable_pub)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use kx_testkit::{Environment, Init, Installation, Python, Server, kxd_bin};
use serde_json::Value;

/// The federation's mail domain.
pub const DOMAIN: &str = "denso.test.kokuho";
/// The office every installation has; `J<OFFICE>0` is its master ID.
pub const OFFICE: &str = "1312345678";
/// How long a test waits for a reply the server owes.
pub const DEADLINE: Duration = Duration::from_secs(20);

const KX: &str = env!("CARGO_BIN_EXE_kx");

/// An account and its password.
pub struct Account {
    pub id: String,
    pub password: String,
}

/// The real `kxd` serving the gateway from a temporary data directory.
pub struct Kxd {
    // Declared first so that it is dropped first: kxd ends before its directory goes.
    _server: Server,
    installation: Installation,
    pub smtp: String,
    pub pop3: String,
}

impl std::ops::Deref for Kxd {
    type Target = Installation;

    fn deref(&self) -> &Installation {
        &self.installation
    }
}

impl Kxd {
    /// `kxd init` with the office, then `kxd serve`.
    pub fn start(env: Environment, regist_interval: u64) -> Kxd {
        Kxd::start_with(env, regist_interval, |init| init)
    }

    /// As [`Kxd::start`], with more options given to `kxd init` by `configure`.
    pub fn start_with(
        env: Environment,
        regist_interval: u64,
        configure: impl FnOnce(Init) -> Init,
    ) -> Kxd {
        let init = Installation::init(kxd_bin(), DOMAIN)
            .environment(env)
            .regist_interval(regist_interval);
        let installation = configure(init).create();
        installation.add_office_org(OFFICE);
        let server = installation.serve();
        Kxd {
            smtp: server.address("smtp").to_owned(),
            pop3: server.address("pop3").to_owned(),
            _server: server,
            installation,
        }
    }

    /// The bound address of listener `name` (`smtp`, `pop3`, `ftp`…).
    pub fn address(&self, name: &str) -> &str {
        self._server.address(name)
    }

    /// Adds an account (its organisation must exist) with a password of its own.
    pub fn account(&self, id: &str) -> Account {
        let password = format!("pw-{id}-Secret1");
        self.add_account(id, &password);
        Account {
            id: id.to_owned(),
            password,
        }
    }
}

/// The `kx` client with its own profile home.
pub struct Client {
    pub home: tempfile::TempDir,
    pub work: tempfile::TempDir,
}

impl Client {
    pub fn new() -> Client {
        Client {
            home: tempfile::tempdir().expect("a temp dir"),
            work: tempfile::tempdir().expect("a temp dir"),
        }
    }

    /// Runs `kx denso <args>` with `--home`, in the work directory; `stdin` is written to it.
    pub fn run(&self, args: &[&str], stdin: Option<&str>, envs: &[(&str, &str)]) -> Output {
        let mut child = Command::new(KX)
            .arg("denso")
            .args(args)
            .env("KX_HOME", self.home.path())
            .env_remove("KX_PROFILE")
            .envs(envs.iter().copied())
            .current_dir(self.work.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kx runs");
        let mut pipe = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            pipe.write_all(text.as_bytes()).expect("kx reads stdin");
        }
        drop(pipe);
        child.wait_with_output().expect("kx ends")
    }

    /// Runs kx and requires exit status `code`; returns standard output.
    pub fn expect(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args, None, &[]);
        assert_eq!(
            out.status.code(),
            Some(code),
            "kx denso {args:?}\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs kx and requires success; returns standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        self.expect(0, args)
    }

    /// Runs kx with `--json` appended and requires exit 0 or 1; returns the JSON.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        let out = self.run(&args, None, &[]);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "kx denso {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "kx denso {args:?} printed no JSON ({e}):\n{}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// `kx denso login` for `account` at `kxd`, as profile `profile`, trusting the gateway's
    /// CA when `trust` holds; returns what kx did.
    pub fn try_login(
        &self,
        kxd: &Kxd,
        account: &Account,
        profile: &str,
        trust: bool,
        extra: &[&str],
    ) -> Output {
        let id = format!("{}@{DOMAIN}", account.id);
        let ca = kxd.ca();
        let mut args = vec![
            "login",
            "--smtp",
            &kxd.smtp,
            "--pop3",
            &kxd.pop3,
            "--id",
            &id,
            "--profile",
            profile,
            "--password-stdin",
        ];
        if trust {
            args.extend(["--ca", ca.to_str().expect("utf-8")]);
        }
        args.extend_from_slice(extra);
        self.run(&args, Some(&format!("{}\n", account.password)), &[])
    }

    /// `kx denso login` trusting the gateway's CA; it must succeed.
    pub fn login(&self, kxd: &Kxd, account: &Account, profile: &str, extra: &[&str]) {
        let out = self.try_login(kxd, account, profile, true, extra);
        assert!(
            out.status.success(),
            "login: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Writes a file into the work directory; returns its path as text.
    pub fn file(&self, name: &str, data: &[u8]) -> String {
        let path = self.work.path().join(name);
        std::fs::write(&path, data).expect("write");
        path.to_str().expect("utf-8").to_owned()
    }

    /// Fetches until `done` holds for `kx denso status --all --json` of `profile`.
    pub fn fetch_until(&self, profile: &str, done: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let out = self.run(&["fetch", "--profile", profile], None, &[]);
            assert!(
                matches!(out.status.code(), Some(0 | 1)),
                "fetch: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let status = self.json(&["status", "--all", "--profile", profile]);
            if done(&status) {
                return status;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "still waiting; status: {status:#}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

/// A gateway with the account `id` and a client logged in to it as profile `default`.
pub fn logged_in(env: Environment, regist_interval: u64, id: &str) -> (Kxd, Client) {
    logged_in_with(env, regist_interval, id, |init| init)
}

/// As [`logged_in`], with more options given to `kxd init` by `configure`.
pub fn logged_in_with(
    env: Environment,
    regist_interval: u64,
    id: &str,
    configure: impl FnOnce(Init) -> Init,
) -> (Kxd, Client) {
    let kxd = Kxd::start_with(env, regist_interval, configure);
    let account = kxd.account(id);
    let client = Client::new();
    client.login(&kxd, &account, "default", &[]);
    (kxd, client)
}

/// A Shift_JIS data file with a control record, `claims` claim records (7111) and
/// `benefit` benefit-management records (8221), and its end record.
pub fn data_file(claims: usize, benefit: usize) -> Vec<u8> {
    let mut records = Vec::new();
    // A complete 7111 claim record (18 items), as the gateway's own tests write it.
    for n in 0..claims {
        records.push(format!(
            "7111,202604,{OFFICE},1,00,01,1,{},10000,9000,0,1000,0,0,0,0,0,0",
            1000 + n
        ));
    }
    for _ in 0..benefit {
        records.push("8221,202604".to_owned());
    }
    let mut text = format!("1,1,0,{},711,0,0,{OFFICE},0,7,202604,1\r\n", records.len());
    for (i, r) in records.iter().enumerate() {
        text.push_str(&format!("2,{},{r}\r\n", i + 2));
    }
    text.push_str(&format!("3,{}\r\n", records.len() + 2));
    encoding_rs::SHIFT_JIS.encode(&text).0.into_owned()
}

/// The submission `number` in a status JSON.
pub fn submission<'a>(status: &'a Value, number: &str) -> &'a Value {
    status
        .as_array()
        .expect("an array")
        .iter()
        .find(|s| s["number"] == number)
        .unwrap_or_else(|| panic!("{number} not in {status:#}"))
}

/// A port free on 127.0.0.1 a moment ago, for servers that cannot report the one they bound.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A helper process that lives until this value is dropped.
pub struct Helper {
    child: std::process::Child,
    pub log: PathBuf,
}

impl Helper {
    /// Starts `program args`, logging to `log`, and waits until `ready` holds (or fails with
    /// the log after the deadline).
    pub fn start(mut command: Command, log: PathBuf, ready: impl Fn() -> bool) -> Helper {
        let file = std::fs::File::create(&log).expect("a log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("dup"))
            .stderr(file)
            .spawn()
            .expect("the helper starts");
        let mut helper = Helper { child, log };
        let started = Instant::now();
        while !ready() {
            if let Ok(Some(status)) = helper.child.try_wait() {
                panic!("helper exited with {status}:\n{}", helper.log_text());
            }
            assert!(
                started.elapsed() < DEADLINE,
                "helper not ready:\n{}",
                helper.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        helper
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether something accepts connections on 127.0.0.1:`port`.
pub fn listening(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// pyftpdlib serving `files` read-only over explicit FTPS (AUTH TLS, PROT P required) with
/// the gateway's certificate, for `account`.
pub struct FtpServer {
    pub address: String,
    _dir: tempfile::TempDir,
    _helper: Helper,
}

const PYFTPDLIB: &str = r#"
import sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import TLS_FTPHandler
from pyftpdlib.servers import FTPServer
root, port, user, password, cert, key = sys.argv[1:7]
auth = DummyAuthorizer()
auth.add_user(user, password, root, perm="elr")
handler = TLS_FTPHandler
handler.certfile = cert
handler.keyfile = key
handler.tls_control_required = True
handler.tls_data_required = True
handler.authorizer = auth
FTPServer(("127.0.0.1", int(port)), handler).serve_forever()
"#;

impl FtpServer {
    pub fn start(kxd: &Kxd, account: &Account, files: &[(&str, &[u8])]) -> FtpServer {
        let dir = tempfile::tempdir().expect("a temp dir");
        let root = dir.path().join("root");
        for (name, data) in files {
            let path = root.join(name);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            std::fs::write(path, data).expect("write");
        }
        // The gateway's own certificate: it names 127.0.0.1 and the client trusts its CA.
        let tls = kxd.data().join("tls");
        let port = free_port();
        let command = Python::new(PYFTPDLIB)
            .system()
            .arg(&root)
            .arg(port.to_string())
            .arg(&account.id)
            .arg(&account.password)
            .arg(tls.join("server.pem"))
            .arg(tls.join("server-key.pem"))
            .command();
        let helper = Helper::start(command, dir.path().join("ftp.log"), || listening(port));
        FtpServer {
            address: format!("127.0.0.1:{port}"),
            _dir: dir,
            _helper: helper,
        }
    }
}

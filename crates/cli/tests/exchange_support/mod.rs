//! The real `kxd` (built from this workspace) and `kx` parties for the exchange's end-to-end
//! tests: a served installation with a society set up by `kx society setup` and offices enrolled
//! by `kx setup` through the society's approval queue.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use kx_testkit::{Environment, Installation, Server, files_under, kxd_bin, word_after};

/// The society's PIN in every test.
pub const SOCIETY_PIN: &str = "1111";
/// The society's number.
pub const SOCIETY: &str = "06139999";
/// The login ID of the society's user.
pub const SOCIETY_ID: &str = "soc-admin";

/// The password user `id` chooses at setup in place of the temporary one.
pub fn own_password(id: &str) -> String {
    format!("Own-{id}-2026")
}

/// A served `kxd` in a temporary data directory, its clock in a file.
pub struct Kxd {
    // Declared first so that it is dropped first: kxd ends before its directory goes.
    _server: Server,
    installation: Installation,
    /// The bootstrap HTTPS URL.
    pub https: String,
    /// The api (mutual TLS) URL, which a setup must not be pointed at.
    pub api: String,
}

impl std::ops::Deref for Kxd {
    type Target = Installation;

    fn deref(&self) -> &Installation {
        &self.installation
    }
}

impl Kxd {
    /// `kxd init` with loopback listeners, the test-loopback environment and the clock file
    /// at the present, then `kxd serve`.
    pub fn start() -> Kxd {
        let installation = Installation::init(kxd_bin(), "kx.test")
            .https()
            .api()
            .environment(Environment::TestLoopback)
            .clock(&chrono::Utc::now().to_rfc3339())
            .create();
        let server = installation.serve();
        let api = format!("https://{}", server.address("api"));
        let https = format!("https://{}", server.address("https"));
        Kxd {
            _server: server,
            installation,
            https,
            api,
        }
    }

    /// Publishes app version 9.9.9 (`kxd admin app-version set`), newer than any kx here.
    pub fn publish_app_version(&self) -> String {
        self.admin([
            "app-version",
            "set",
            "--version",
            "9.9.9",
            "--url",
            "https://kx.example/download",
        ])
    }

    /// Moves the server's clock `days` from now.
    pub fn set_clock_days_ahead(&self, days: i64) {
        let at = chrono::Utc::now() + chrono::TimeDelta::days(days);
        self.set_clock(&at.to_rfc3339());
    }

    /// Creates the society with its user and two destinations: (temporary password, setup
    /// code).
    pub fn add_society(&self) -> (String, String) {
        let society = self
            .installation
            .add_society(SOCIETY, "デモ健康保険組合", SOCIETY_ID);
        for nickname in ["給付課", "業務課"] {
            self.add_destination(SOCIETY, nickname);
        }
        (society.password, society.code)
    }

    /// Creates an office of the society and its user: (temporary password, enrolment code).
    pub fn add_office(&self, number: &str, id: &str, quota: Option<u64>) -> (String, String) {
        self.installation
            .add_office(SOCIETY, number, &office_name(number), quota);
        let user = self.add_office_user(id, SOCIETY, number);
        (user.password, user.code)
    }

    /// `kxd admin user reset-password` for `id`: the new temporary password.
    pub fn reset_password(&self, id: &str) -> String {
        word_after(
            &self.admin(["user", "reset-password", "--id", id]),
            "password",
        )
    }

    /// Sealed blobs in the server's store (`DATA/blobs`) of exactly `size` bytes.
    pub fn blobs_of_size(&self, size: u64) -> Vec<PathBuf> {
        files_under(&self.data().join("blobs"))
            .into_iter()
            .filter(|path| std::fs::metadata(path).is_ok_and(|m| m.len() == size))
            .collect()
    }
}

/// The name the server gives office `number`: a town after its last digit, so that a search
/// by name tells the offices apart (a name holding the number would match its number too).
pub fn office_name(number: &str) -> String {
    const TOWNS: [&str; 10] = [
        "本町", "青葉", "桜台", "若葉", "緑町", "旭町", "泉町", "栄町", "東町", "西町",
    ];
    let digit = number
        .bytes()
        .last()
        .map_or(0, |b| usize::from(b.wrapping_sub(b'0')) % 10);
    format!("{}商事", TOWNS[digit])
}

/// A `kx` profile: an office app or the society server, in its own home directory.
pub struct Party {
    /// `$KX_HOME`.
    pub home: PathBuf,
    /// The PIN.
    pub pin: String,
    /// The server password the app logs in with: its own, chosen at setup.
    pub password: String,
}

impl Party {
    /// A party whose home is `dir/name`.
    pub fn new(dir: &Path, name: &str, pin: &str) -> Party {
        let home = dir.join(name);
        std::fs::create_dir_all(&home).expect("a home");
        Party {
            home,
            pin: pin.to_owned(),
            password: String::new(),
        }
    }

    /// The profile directory.
    pub fn profile(&self) -> PathBuf {
        self.home.join("exchange").join("default")
    }

    /// A `kx` command with this home, the fast test KDF, standard input from `stdin` lines.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kx"));
        command
            .arg("--home")
            .arg(&self.home)
            .args(args)
            .current_dir(&self.home)
            .env("KX_INSECURE_FAST_KDF", "true")
            .env_remove("KX_PROFILE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs `kx <args>` feeding `stdin` lines.
    pub fn kx_with(&self, args: &[&str], stdin: &[&str]) -> Output {
        let mut child = self.command(args).spawn().expect("kx runs");
        let mut input = child.stdin.take().expect("stdin");
        for line in stdin {
            // kx may refuse before it reads every line: a closed pipe is its answer, not ours.
            let _ = writeln!(input, "{line}");
        }
        drop(input);
        child.wait_with_output().expect("kx finishes")
    }

    /// Reruns `kx setup` (resuming the wait for the society): the PIN, then the password
    /// chosen in place of the temporary one, twice.
    pub fn resume_setup(&self) -> Output {
        self.kx_with(
            &["--pin-stdin", "--password-stdin", "setup"],
            &[&self.pin, &self.password, &self.password],
        )
    }

    /// Runs `kx --pin-stdin <args>` with the PIN.
    pub fn kx(&self, args: &[&str]) -> Output {
        let mut all = vec!["--pin-stdin"];
        all.extend_from_slice(args);
        self.kx_with(&all, &[&self.pin])
    }

    /// Runs `kx --pin-stdin <args>`, asserting success; its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.kx(args);
        assert!(
            out.status.success(),
            "kx {}:\n{}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `kx --pin-stdin <args>`, asserting it fails with exit 1; the code printed.
    pub fn refused(&self, args: &[&str]) -> String {
        let out = self.kx(args);
        code_of(&out, args)
    }

    /// The inbox as JSON.
    pub fn inbox(&self, society: bool) -> Vec<serde_json::Value> {
        let args: &[&str] = if society {
            &["society", "inbox", "--json"]
        } else {
            &["inbox", "--json"]
        };
        serde_json::from_str(&self.ok(args)).expect("inbox JSON")
    }
}

/// The code a failed `kx` printed (first word of stderr's first line), asserting exit 1.
pub fn code_of(out: &Output, args: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "kx {} should fail:\n{stdout}\n{stderr}",
        args.join(" ")
    );
    // Result lines (receive, delete, cancel) carry the code on stdout; others on stderr.
    let text = format!("{stdout}\n{stderr}");
    text.split_whitespace()
        .find(|w| w.len() == 5 && w.starts_with('E') && w[1..].bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in:\n{text}"))
        .to_owned()
}

/// A society and offices, set up through the real enrolment queue.
pub struct World {
    /// The server.
    pub kxd: Kxd,
    /// Homes of the parties.
    pub dir: tempfile::TempDir,
    /// The society server.
    pub society: Party,
    /// The offices, by number.
    pub offices: Vec<(String, Party)>,
}

impl World {
    /// A society and offices `00001`, `00002` (with `quota` for the first, if given).
    pub fn new(quota: Option<u64>) -> World {
        let mut world = World::society_only();
        world.enrol("00001", "office1", "2468", quota, true);
        world.enrol("00002", "office2", "1357", None, true);
        world
    }

    /// The society set up with `kx society setup`, no office yet.
    pub fn society_only() -> World {
        let (world, password, code) = World::society_created();
        let ca = world.kxd.ca();
        let ca = ca.to_str().expect("a UTF-8 path");
        let society = &world.society;
        let out = society.kx_with(
            &[
                "--pin-stdin",
                "--password-stdin",
                "society",
                "setup",
                "--server",
                &world.kxd.https,
                "--ca",
                ca,
                "--id",
                SOCIETY_ID,
                "--code",
                &code,
            ],
            &[SOCIETY_PIN, &password, &society.password, &society.password],
        );
        assert!(
            out.status.success(),
            "society setup: {out:?}\n{}",
            world.kxd.log()
        );
        world
    }

    /// The society created on the server, its profile not set up yet (its desk or `kx society
    /// setup` does that): the world, the society user's temporary password and the setup code.
    pub fn society_created() -> (World, String, String) {
        let kxd = Kxd::start();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut society = Party::new(dir.path(), "society", SOCIETY_PIN);
        society.password = own_password(SOCIETY_ID);
        let (password, code) = kxd.add_society();
        let world = World {
            kxd,
            dir,
            society,
            offices: Vec::new(),
        };
        (world, password, code)
    }

    /// Enrols office `number` with `kx setup` while the society approves; `right_password`
    /// false gives the app a wrong temporary password (its login then fails with E0002).
    pub fn enrol(
        &mut self,
        number: &str,
        id: &str,
        pin: &str,
        quota: Option<u64>,
        right_password: bool,
    ) -> Output {
        self.enrol_for_days(number, id, pin, quota, right_password, 730)
    }

    /// [`World::enrol`] with a certificate valid for `days`.
    pub fn enrol_for_days(
        &mut self,
        number: &str,
        id: &str,
        pin: &str,
        quota: Option<u64>,
        right_password: bool,
        days: u32,
    ) -> Output {
        let (office, setup) = self.start_setup(number, id, pin, quota, right_password, "25");
        self.wait_for_request(id);
        let days = days.to_string();
        self.society
            .ok(&["society", "approve", "--all", "--days", &days]);
        let out = setup.wait_with_output().expect("kx setup finishes");
        if right_password && days != "0" {
            assert!(
                out.status.success(),
                "kx setup {id}: {out:?}\n{}",
                self.kxd.log()
            );
        }
        self.offices.push((number.to_owned(), office));
        out
    }

    /// Adds office `number` with its user `id` and starts `kx setup` for it in the background,
    /// waiting up to `wait` seconds for the society; `right_password` false gives the app a
    /// wrong temporary password.
    pub fn start_setup(
        &self,
        number: &str,
        id: &str,
        pin: &str,
        quota: Option<u64>,
        right_password: bool,
        wait: &str,
    ) -> (Party, Child) {
        let (password, code) = self.kxd.add_office(number, id, quota);
        let mut office = Party::new(self.dir.path(), id, pin);
        office.password = own_password(id);
        let ca = self.kxd.ca();
        let password = if right_password {
            password
        } else {
            format!("{password}x")
        };
        let mut setup = office
            .command(&[
                "--pin-stdin",
                "--password-stdin",
                "setup",
                "--server",
                &self.kxd.https,
                "--ca",
                ca.to_str().expect("UTF-8"),
                "--id",
                id,
                "--code",
                &code,
                "--wait",
                wait,
                "--poll",
                "0.2",
            ])
            .spawn()
            .expect("kx setup runs");
        {
            let mut input = setup.stdin.take().expect("stdin");
            let own = &office.password;
            writeln!(input, "{pin}\n{password}\n{own}\n{own}").expect("stdin written");
        }
        (office, setup)
    }

    /// `kx setup --wait 0` for a new office: the request is queued, the app exits 75 (later).
    pub fn queue_setup(&self, number: &str, id: &str, pin: &str) -> Party {
        let (office, setup) = self.start_setup(number, id, pin, None, true, "0");
        let out = setup.wait_with_output().expect("kx setup finishes");
        assert_eq!(out.status.code(), Some(75), "{out:?}");
        office
    }

    /// Waits until the society sees a pending request of user `id`; returns its listing line.
    pub fn wait_for_request(&self, id: &str) -> String {
        let started = Instant::now();
        loop {
            let listed = self.society.ok(&["society", "approve", "--list"]);
            if let Some(line) = listed.lines().find(|l| l.contains(id)) {
                return line.to_owned();
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no request from {id}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Office `number`.
    pub fn office(&self, number: &str) -> &Party {
        &self
            .offices
            .iter()
            .find(|(n, _)| n == number)
            .expect("that office")
            .1
    }
}

/// The entries of a ZIP: name → bytes.
pub fn unzip(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut archive =
        zip::ZipArchive::new(std::fs::File::open(path).expect("the ZIP")).expect("a ZIP");
    let mut out = BTreeMap::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).expect("an entry");
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).expect("the entry");
        out.insert(entry.name().to_owned(), bytes);
    }
    out
}

/// A `KPFD.CSV` of the layout `kx check-kpfd` knows (one office called `office`, one person),
/// as Shift_JIS with CR LF.
pub fn kpfd_csv(office: &str) -> Vec<u8> {
    let mut person = vec!["2200700", "21", "ﾔﾏﾀﾞ ﾀﾛｳ", "山田　太郎", "7", "600101"];
    person.resize(36, "");
    let lines = [
        "12345,001,20260401,,,,,".to_owned(),
        "[kanri]".to_owned(),
        ",001".to_owned(),
        format!("12345,100,0001,東京都千代田区一丁目1-1,{office},山田　太郎,03,1234,5678"),
        "[data]".to_owned(),
        person.join(","),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\r\n")).collect();
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&text);
    assert!(!unmappable, "{text}");
    bytes.into_owned()
}

//! docs/first-file.md, kept true: from `kxd demo` (the README's first command, as it prints
//! its accounts) to a first file received, through the screens only. The real `kxd demo`, two
//! real `kx app`s (the society's desk and an office's app) and Playwright in Debian's
//! chromium doing what the guide says, taking the guide's pictures (`KX_SCREENSHOTS`).

mod app_support;
mod exchange_support;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use app_support::{App, flow_at};
use exchange_support::{Party, unzip};
use kx_testkit::noise;

/// A running `kxd demo`, stopped when dropped.
struct Demo {
    child: Child,
    /// What it printed, up to the line that ends its instructions.
    printed: String,
}

impl Demo {
    fn start(data: &std::path::Path) -> Demo {
        let mut child = Command::new(kx_testkit::kxd_bin())
            .args(["demo", "--data"])
            .arg(data)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("kxd demo runs");
        let stdout = child.stdout.take().expect("a piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut printed = String::new();
        while !printed.contains("or on screens") {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("kxd demo printed no instructions:\n{printed}"));
            printed.push_str(&line);
            printed.push('\n');
        }
        Demo { child, printed }
    }

    /// The value printed after `label` at the start of a line.
    fn value(&self, label: &str) -> &str {
        self.printed
            .lines()
            .find_map(|l| l.strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label} in:\n{}", self.printed))
            .trim()
    }

    /// A user's line: (its party as printed, temporary password, one-time code).
    fn user(&self, id: &str) -> (String, String, String) {
        let line = self
            .printed
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("no user {id} in:\n{}", self.printed));
        let words: Vec<&str> = line.split_whitespace().collect();
        let after = |key: &str| {
            let at = words.iter().position(|w| *w == key).expect(key);
            words[at + 1].to_owned()
        };
        let party = words[1..words
            .iter()
            .position(|w| *w == "password")
            .expect("password")]
            .join(" ");
        (party, after("password"), after("code"))
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn from_kxd_demo_to_a_first_file_received_on_screens_only() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let demo = Demo::start(&dir.path().join("demo"));
    let server = demo
        .value("KX bootstrap")
        .trim_end_matches("/api/v1/…")
        .to_owned();
    let ca = demo.value("CA certificate").to_owned();
    let (_, society_temporary, society_code) = demo.user("kenpo06139999");
    let (office_name, office_temporary, office_code) = demo.user("office0001");

    let society = Party::new(dir.path(), "kenpo", "2580");
    let office = Party::new(dir.path(), "office1", "1357");
    let desk = App::start(&society, &[]);
    let app = App::start(&office, &[]);
    let report = noise(3 << 20, 11);
    let file = dir.path().join("お知らせ.pdf");
    std::fs::write(&file, &report).expect("the file to send");
    let printed = flow_at(
        &app.url,
        include_str!("app_support/guide.py"),
        &[
            &desk.url,
            &server,
            &ca,
            "kenpo06139999",
            &society_code,
            &society_temporary,
            "office0001",
            &office_code,
            &office_temporary,
            &office_name,
            file.to_str().expect("UTF-8"),
        ],
        |q| panic!("no answer to {q:?}"),
    );
    let saved = printed
        .lines()
        .find_map(|l| l.strip_prefix("RECEIVED "))
        .unwrap_or_else(|| panic!("nothing received:\n{printed}"));
    let zip = unzip(std::path::Path::new(saved));
    assert!(
        zip["お知らせ.pdf"] == report,
        "the office received other bytes than the society sent"
    );
}

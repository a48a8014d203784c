//! What the browser tests of `kx app` share (app.rs for the office app, desk.rs for the
//! society desk): the real `kx app` of a party as a child process, a Playwright flow
//! (app.py, then the flow's script) run against it in Debian's chromium, and the society's
//! answers to the flows' questions, done with the real `kx society …` and `kxd admin`.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kx_testkit::Python;

use crate::exchange_support::{Party, SOCIETY, World};

/// How long a whole browser flow may take.
const FLOW_TIMEOUT: Duration = Duration::from_secs(150);

/// A running `kx app` of a party, killed when dropped.
pub struct App {
    child: Child,
    /// The launch URL it printed, with its one-time token.
    pub url: String,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
}

impl App {
    /// `kx app --no-open ARGS` for `party`; waits for the launch URL.
    pub fn start(party: &Party, args: &[&str]) -> App {
        let mut all = vec!["app", "--no-open"];
        all.extend_from_slice(args);
        let errors = std::fs::File::create(party.home.join("app.err")).expect("app.err");
        let mut child = party
            .command(&all)
            .stdin(Stdio::null())
            .stderr(errors)
            .spawn()
            .expect("kx app runs");
        let stdout = child.stdout.take().expect("a piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!(
                    "kx app printed no URL: {}",
                    std::fs::read_to_string(party.home.join("app.err")).unwrap_or_default()
                )
            });
        let url = line
            .strip_prefix("kx app: open ")
            .unwrap_or_else(|| panic!("not a launch line: {line}"))
            .trim()
            .to_owned();
        let port = url
            .strip_prefix("http://127.0.0.1:")
            .and_then(|rest| rest.split('/').next())
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("not a URL on 127.0.0.1: {url}"));
        assert!(url.contains("/launch/"), "{url}");
        App { child, url, port }
    }
}

impl App {
    /// Kills the app, as a PC shut down does.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Ctrl-C in the app's terminal.
    pub fn interrupt(&self) {
        let sent = std::process::Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "{sent:?}");
    }

    /// Waits until the app ends by itself (終了); its exit status.
    pub fn wait(&mut self, within: Duration) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("kx app can be waited for") {
                return status;
            }
            assert!(
                started.elapsed() < within,
                "kx app did not end within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs the flow `script` (after app_support/app.py) against `app` with `args`; each question
/// the flow asks (`ask(...)` in Python) is answered by `answer`. What the flow printed.
pub fn flow(
    app: &App,
    script: &str,
    args: &[&str],
    answer: impl FnMut(&[String]) -> String,
) -> String {
    flow_at(&app.url, script, args, answer)
}

/// [`flow`] from the launch URL `url`.
pub fn flow_at(
    url: &str,
    script: &str,
    args: &[&str],
    mut answer: impl FnMut(&[String]) -> String,
) -> String {
    let mut python = Python::new(format!("{}\n{script}", include_str!("app.py")))
        .venv()
        .env("KX_APP_URL", url)
        .env("PYTHONUNBUFFERED", "1");
    if let Some(dir) = std::env::var_os("KX_SCREENSHOTS") {
        python = python.env("KX_SCREENSHOTS", dir);
    }
    for arg in args {
        python = python.arg(arg);
    }
    let mut child = python
        .command()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().expect("a piped stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut stderr = child.stderr.take().expect("a piped stderr");
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let mut stdin = child.stdin.take().expect("a piped stdin");
    let deadline = Instant::now() + FLOW_TIMEOUT;
    let mut printed = String::new();
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => match line.strip_prefix("ASK ") {
                Some(question) => {
                    let words: Vec<String> =
                        serde_json::from_str(question).expect("a question as JSON");
                    let reply = answer(&words);
                    writeln!(stdin, "{}", serde_json::json!(reply)).expect("the answer sent");
                }
                None => {
                    printed.push_str(&line);
                    printed.push('\n');
                }
            },
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the flow ran longer than {FLOW_TIMEOUT:?}:\n{printed}\n{}",
                    errors.join().unwrap_or_default()
                );
            }
        }
    }
    drop(stdin);
    let status = child.wait().expect("python ends");
    let errors = errors.join().unwrap_or_default();
    assert!(status.success(), "the flow failed:\n{printed}\n{errors}");
    printed
}

/// A world with the society and office `00001` (user `office1`, PIN 2468) enrolled with
/// `kx setup`.
pub fn world_with_office() -> World {
    let mut w = World::society_only();
    w.enrol("00001", "office1", "2468", None, true);
    w
}

/// The society's answers to a flow's questions.
pub fn society(w: &World, question: &[String]) -> String {
    let args: Vec<&str> = question.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["approve", id] => {
            w.wait_for_request(id);
            w.society.ok(&["society", "approve", "--all"])
        }
        [decide @ ("refuse renewal" | "approve renewal")] => {
            let started = Instant::now();
            let line = loop {
                let listed = w.society.ok(&["society", "approve", "--list"]);
                if let Some(line) = listed.lines().find(|l| l.contains("Renew")) {
                    break line.to_owned();
                }
                assert!(
                    started.elapsed() < Duration::from_secs(20),
                    "no renewal request"
                );
                std::thread::sleep(Duration::from_millis(200));
            };
            let request = line.split_whitespace().next().expect("the request's ID");
            if *decide == "refuse renewal" {
                w.society
                    .ok(&["society", "approve", request, "--refuse", "事業所確認中"])
            } else {
                w.society.ok(&["society", "approve", "--yes", request])
            }
        }
        ["pull"] => {
            let pulled = w.dir.path().join("pulled");
            w.society
                .ok(&["society", "pull", "-d", pulled.to_str().expect("UTF-8")])
        }
        ["remove destination", nickname] => w.kxd.admin([
            "destination",
            "remove",
            "--society",
            SOCIETY,
            "--nickname",
            nickname,
        ]),
        // The server's clock a day on: past every session's absolute end (12 hours).
        ["end sessions"] => {
            w.kxd.set_clock_days_ahead(1);
            String::new()
        }
        other => panic!("no answer to {other:?}"),
    }
}

/// Writes `bytes` as `dir/name`.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).expect("a folder");
    std::fs::write(dir.join(name), bytes).expect("a file written");
}

/// The sealed name a flow printed after `key`.
pub fn sealed_after(printed: &str, key: &str) -> String {
    printed
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} in:\n{printed}"))
        .trim()
        .to_owned()
}

/// The sealed name a send printed.
pub fn sealed_in(out: &str) -> String {
    out.split_whitespace()
        .find(|w| w.starts_with("Send-"))
        .unwrap_or_else(|| panic!("no sealed name in {out}"))
        .to_owned()
}

/// `kx send --to TO --yes FILE` as `office`: the sealed name.
pub fn office_sends(office: &Party, to: &str, file: &Path) -> String {
    sealed_in(&office.ok(&["send", "--to", to, "--yes", file.to_str().expect("UTF-8")]))
}

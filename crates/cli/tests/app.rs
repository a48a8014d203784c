//! The office app in the browser (`kx app`) end to end: the real `kxd` and a society set up
//! with the real `kx society setup` (exchange_support), the real `kx app` of an office as a
//! child process, and Playwright in Debian's chromium using its screens as a clerk does
//! (app_support/*.py). The society's side — approving, sending to the office, pulling — is
//! the real `kx society …`, run here when a flow asks for it; curl checks what a browser
//! would never send.

mod exchange_support;

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use exchange_support::{Party, SOCIETY, World, noise, own_password, unzip};
use kx_testkit::Python;

/// How long a whole browser flow may take.
const FLOW_TIMEOUT: Duration = Duration::from_secs(150);

/// A running `kx app` of a party, killed when dropped.
struct App {
    child: Child,
    /// The launch URL it printed, with its one-time token.
    url: String,
    /// The port it listens on (127.0.0.1).
    port: u16,
}

impl App {
    /// `kx app --no-open ARGS` for `party`; waits for the launch URL.
    fn start(party: &Party, args: &[&str]) -> App {
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

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the flow `script` (after app_support/app.py) against `app` with `args`; each question
/// the flow asks (`ask(...)` in Python) is answered by `answer`. What the flow printed.
fn flow(
    app: &App,
    script: &str,
    args: &[&str],
    mut answer: impl FnMut(&[String]) -> String,
) -> String {
    let mut python = Python::new(format!("{}\n{script}", include_str!("app_support/app.py")))
        .venv()
        .env("KX_APP_URL", &app.url)
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
fn world_with_office() -> World {
    let mut w = World::society_only();
    w.enrol("00001", "office1", "2468", None, true);
    w
}

/// The society's answers to a flow's questions.
fn society(w: &World, question: &[String]) -> String {
    let args: Vec<&str> = question.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["approve", id] => {
            w.wait_for_request(id);
            w.society.ok(&["society", "approve", "--all"])
        }
        other => panic!("no answer to {other:?}"),
    }
}

#[test]
fn an_office_sets_up_in_the_wizard_then_changes_its_settings_and_pin() {
    let w = World::society_only();
    let (temporary, code) = w.kxd.add_office("00001", "office1", None);
    let office = Party::new(w.dir.path(), "office1", "2468");
    let app = App::start(&office, &[]);
    let ca = w.kxd.ca();
    let own = own_password("office1");
    let printed = flow(
        &app,
        include_str!("app_support/setup.py"),
        &[
            &w.kxd.https,
            ca.to_str().expect("UTF-8"),
            "office1",
            &code,
            &temporary,
            "2468",
            &own,
            "3579",
        ],
        |q| society(&w, q),
    );
    assert!(printed.contains("SET UP"), "{printed}");
    let user = w
        .kxd
        .sql("SELECT user_name, user_code, mail, must_change_password FROM ex_users WHERE id = 'office1'");
    assert_eq!(user.trim(), "田中　一郎|U-001|tanaka@office.example|0");
    drop(app);
    // The profile is the office's: the CLI opens it with the new PIN and the own password.
    let mut office = office;
    office.pin = "3579".into();
    office.ok(&["inbox"]);
    let _ = (SOCIETY, noise, unzip, Command::new("true"), Path::new("/"));
}

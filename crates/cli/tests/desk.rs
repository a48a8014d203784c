//! The society desk in the browser (`kx app` with a society profile) end to end: the real
//! `kxd`, the real `kx app` of the society as a child process and Playwright in Debian's
//! chromium using the desk's screens (app_support/desk_*.py, driven by app_support/mod.rs as
//! the office app's are). The offices' side — requesting a certificate, sending, receiving —
//! is the real `kx` of each office, run here before a flow or when it asks.

mod app_support;
mod exchange_support;

use std::io::Write as _;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use app_support::{App, flow, office_sends, sealed_after, society, write};
use exchange_support::{
    Party, SOCIETY_ID, SOCIETY_PIN, World, code_of, office_name, own_password, unzip,
};
use kx_testkit::noise;

#[test]
fn a_society_sets_up_its_desk_from_the_office_wizard() {
    let (mut w, temporary, code) = World::society_created();
    let mut app = App::start(&w.society, &[]);
    let ca = w.kxd.ca();
    let own = own_password(SOCIETY_ID);
    let printed = flow(
        &app,
        include_str!("app_support/desk_setup.py"),
        &[
            &w.kxd.https,
            ca.to_str().expect("UTF-8"),
            SOCIETY_ID,
            &code,
            &temporary,
            SOCIETY_PIN,
            &own,
        ],
        |q| society(&w, q),
    );
    assert!(printed.contains("SET UP"), "{printed}");
    let user = w.kxd.sql(&format!(
        "SELECT CAST(must_change_password AS INTEGER) FROM ex_users WHERE id = '{SOCIETY_ID}'"
    ));
    assert_eq!(user.trim(), "0");
    // 終了 stopped the app. The profile is the society's: the CLI opens it with the PIN and
    // the password the app stored, and the CA made in the browser issues an office's
    // certificate.
    let status = app.wait(Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    w.enrol("00001", "office1", "2468", None, true);
    w.office("00001").ok(&["inbox"]);
}

/// `number name`, as the desk shows an office.
fn shown(number: &str) -> String {
    format!("{number} {}", office_name(number))
}

#[test]
fn the_desk_approves_one_office_request_and_refuses_another_with_a_reason() {
    let w = World::society_only();
    let first = w.queue_setup("00001", "office1", "2468");
    let mut second = None;
    let app = App::start(&w.society, &[]);
    let printed = flow(
        &app,
        include_str!("app_support/desk_requests.py"),
        &[
            SOCIETY_PIN,
            &shown("00001"),
            &shown("00002"),
            "office1",
            "office2",
        ],
        |q| match q {
            [resume, _] if resume == "resume setup" => {
                let out = first.resume_setup();
                assert!(out.status.success(), "kx setup: {out:?}");
                // Set up: the office's session opens.
                first.ok(&["inbox"]);
                "office1 set up".to_owned()
            }
            [request, id] if request == "request" => {
                second = Some(w.queue_setup("00002", id, "1357"));
                String::new()
            }
            [resume, _, reason] if resume == "resume refused setup" => {
                let office: &Party = second.as_ref().expect("the second request");
                let out = office.resume_setup();
                assert_eq!(code_of(&out, &["setup"]), "E0003");
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(stderr.contains(reason.as_str()), "{stderr}");
                "office2 refused".to_owned()
            }
            other => society(&w, other),
        },
    );
    assert!(printed.contains("SET UP office1 set up"), "{printed}");
    assert!(printed.contains("REFUSED office2 refused"), "{printed}");
}

/// `kx receive --all -d DIR/received/NUMBER` as office `number`: one file.
fn receive_all(w: &World, number: &str) {
    let dir = w.dir.path().join("received").join(number);
    let out = w
        .office(number)
        .ok(&["receive", "--all", "-d", dir.to_str().expect("UTF-8")]);
    assert!(out.contains("1 received, 0 failed"), "{out}");
}

#[test]
fn the_desk_sends_to_two_offices_picked_by_number_and_name_and_lists_the_sends_by_office() {
    let w = World::new(None);
    let files = w.dir.path().join("files");
    std::fs::create_dir_all(&files).expect("files/");
    let notice = noise(3 << 20, 11);
    write(&files, "保険料のお知らせ.pdf", &notice);
    let app = App::start(&w.society, &[]);
    let printed = flow(
        &app,
        include_str!("app_support/desk_send.py"),
        &[
            SOCIETY_PIN,
            files.to_str().expect("UTF-8"),
            "保険料のお知らせ.pdf",
            &shown("00001"),
            &shown("00002"),
        ],
        |q| match q {
            [receive, number] if receive == "receive" => {
                receive_all(&w, number);
                String::new()
            }
            other => society(&w, other),
        },
    );
    // Each office opens its own send (00001 received it during the flow): the same bytes.
    receive_all(&w, "00002");
    for number in ["00001", "00002"] {
        let sealed = sealed_after(&printed, &format!("SENT {number}"));
        assert!(
            sealed.starts_with(&format!("Send-KS-06139999-{number}-")),
            "{sealed}"
        );
        let zip = unzip(&w.dir.path().join("received").join(number).join(&sealed));
        assert_eq!(
            zip.keys().collect::<Vec<_>>(),
            ["保険料のお知らせ.pdf"],
            "{number}"
        );
        assert!(
            zip["保険料のお知らせ.pdf"] == notice,
            "{number}: the file changed on the way"
        );
    }
}

#[test]
fn the_desk_shows_its_inbox_by_destination_and_receives_one_file() {
    let w = World::new(None);
    let d = w.dir.path();
    let files = d.join("files");
    let downloads = d.join("downloads");
    for dir in [&files, &downloads] {
        std::fs::create_dir_all(dir).expect("a directory");
    }
    let claim = noise(2 << 20, 5);
    write(&files, "療養費申請.pdf", &claim);
    write(&files, "資格確認.txt", "被保険者 00002\r\n".as_bytes());
    let first = office_sends(w.office("00001"), "給付課", &files.join("療養費申請.pdf"));
    let second = office_sends(w.office("00002"), "業務課", &files.join("資格確認.txt"));
    let app = App::start(&w.society, &[]);
    let printed = flow(
        &app,
        include_str!("app_support/desk_inbox.py"),
        &[
            SOCIETY_PIN,
            downloads.to_str().expect("UTF-8"),
            "給付課",
            &first,
            &shown("00001"),
            "業務課",
            &second,
            &shown("00002"),
        ],
        |q| society(&w, q),
    );
    assert!(printed.contains("RECEIVED"), "{printed}");
    let zip = unzip(&downloads.join(&first));
    assert_eq!(zip.keys().collect::<Vec<_>>(), ["療養費申請.pdf"]);
    assert!(
        zip["療養費申請.pdf"] == claim,
        "the file changed on the way"
    );
    assert!(!downloads.join(&second).exists());
}

#[test]
fn the_desk_lists_the_offices_and_those_whose_certificates_expire_within_60_days() {
    let mut w = World::society_only();
    w.enrol("00001", "office1", "2468", None, true);
    w.enrol_for_days("00002", "office2", "1357", None, true, 30);
    let app = App::start(&w.society, &[]);
    let printed = flow(
        &app,
        include_str!("app_support/desk_offices.py"),
        &[SOCIETY_PIN, &shown("00001"), &shown("00002")],
        |q| society(&w, q),
    );
    assert!(printed.contains("LISTED"), "{printed}");
}

/// `kx society serve` of a party as a child process, killed when dropped.
struct Serve(Child);

impl Serve {
    /// `kx society serve --inbox INBOX --outbox OUTBOX --interval 1 --approve` for `party`,
    /// once it reported its first round (the desk then sees it running).
    fn start(party: &Party, inbox: &Path, outbox: &Path) -> Serve {
        let log = |name: &str| std::fs::File::create(party.home.join(name)).expect("a log");
        let mut child = party
            .command(&[
                "--pin-stdin",
                "society",
                "serve",
                "--inbox",
                inbox.to_str().expect("UTF-8"),
                "--outbox",
                outbox.to_str().expect("UTF-8"),
                "--interval",
                "1",
                "--approve",
            ])
            .stdout(log("serve.out"))
            .stderr(log("serve.err"))
            .spawn()
            .expect("kx society serve runs");
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{}", party.pin).expect("the PIN written");
        drop(stdin);
        let serve = Serve(child);
        let state = party.profile().join("serve-state.json");
        let started = Instant::now();
        while !state.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "serve reported no round: {}",
                std::fs::read_to_string(party.home.join("serve.err")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        serve
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn while_serve_runs_the_desk_shows_its_state_and_nothing_else() {
    let w = World::society_only();
    let inbox = w.dir.path().join("inbox");
    let outbox = w.dir.path().join("outbox");
    let _serve = Serve::start(&w.society, &inbox, &outbox);
    let app = App::start(&w.society, &[]);
    let mut office = None;
    let printed = flow(
        &app,
        include_str!("app_support/desk_serve.py"),
        &[
            inbox.to_str().expect("UTF-8"),
            outbox.to_str().expect("UTF-8"),
        ],
        |q| match q {
            [request] if request == "request" => {
                let (party, setup) = w.start_setup("00001", "office1", "2468", None, true, "30");
                office = Some((party, setup));
                String::new()
            }
            other => society(&w, other),
        },
    );
    assert!(printed.contains("WATCHED"), "{printed}");
    // serve issued the certificate: the office's setup finished.
    let (office, setup) = office.expect("the office's request");
    let out = setup.wait_with_output().expect("kx setup finishes");
    assert!(out.status.success(), "kx setup: {out:?}");
    office.ok(&["inbox"]);
}

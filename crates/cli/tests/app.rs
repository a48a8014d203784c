//! The office app in the browser (`kx app`) end to end: the real `kxd` and a society set up
//! with the real `kx society setup` (exchange_support), the real `kx app` of an office as a
//! child process, and Playwright in Debian's chromium using its screens as a clerk does
//! (app_support/*.py, driven by app_support/mod.rs). The society's side — approving, sending
//! to the office, pulling — is the real `kx society …`, run here when a flow asks for it;
//! curl checks what a browser would never send.

mod app_support;
mod exchange_support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use app_support::{
    App, flow, flow_at, office_sends, sealed_after, sealed_in, society, world_with_office, write,
};
use exchange_support::{Party, World, kpfd_csv, own_password, unzip};
use kx_testkit::noise;

/// `kx society send --office 00001 FILES`: the sealed name.
fn society_sends(w: &World, files: &[&Path]) -> String {
    let mut args = vec!["society", "send", "--office", "00001"];
    args.extend(files.iter().map(|f| f.to_str().expect("UTF-8")));
    sealed_in(&w.society.ok(&args))
}

#[test]
fn an_app_stopped_before_its_setup_leaves_no_half_made_profile() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let office = Party::new(dir.path(), "office1", "2468");
    let mut app = App::start(&office, &[]);
    let printed = flow(&app, include_str!("app_support/abandon.py"), &[], |q| {
        panic!("no answer to {q:?}")
    });
    assert!(printed.contains("ABANDONED"), "{printed}");
    assert!(
        office.profile().exists(),
        "the app holds its profile while it runs"
    );
    app.interrupt();
    let status = app.wait(Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    assert!(
        !office.home.join("exchange").exists(),
        "the profile the app made and never set up is gone"
    );
}

#[test]
fn an_office_sets_up_in_the_wizard_then_changes_its_settings_and_pin() {
    let w = World::society_only();
    let (temporary, code) = w.kxd.add_office("00001", "office1", None);
    let office = Party::new(w.dir.path(), "office1", "2468");
    let app = std::cell::RefCell::new(App::start(&office, &[]));
    let url = app.borrow().url.clone();
    let ca = w.kxd.ca();
    let own = own_password("office1");
    let printed = flow_at(
        &url,
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
        |q| match q {
            [restart] if restart == "restart" => {
                let mut app = app.borrow_mut();
                app.kill();
                *app = App::start(&office, &[]);
                app.url.clone()
            }
            other => society(&w, other),
        },
    );
    assert!(printed.contains("SET UP"), "{printed}");
    let user = w
        .kxd
        .sql("SELECT user_name, user_code, mail, CAST(must_change_password AS INTEGER) FROM ex_users WHERE id = 'office1'");
    assert_eq!(user.trim(), "田中　一郎|U-001|tanaka@office.example|0");
    // 終了 stopped the app, which withdrew itself from the profile.
    let status = app.borrow_mut().wait(Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    assert!(!office.profile().join("app-instance.json").exists());
    // The profile is the office's: the CLI opens it with the new PIN and the password the
    // app stored when it was changed.
    let mut office = office;
    office.pin = "3579".into();
    office.ok(&["inbox"]);
}

#[test]
fn an_office_sends_with_both_functions_and_the_society_pulls_the_same_bytes() {
    let w = world_with_office();
    let office = w.office("00001");
    let files = w.dir.path().join("files");
    std::fs::create_dir_all(&files).expect("files/");
    let report = noise(19 << 20, 7);
    let memo = b"memo".to_vec();
    // Saved as UTF-8, as a spreadsheet does: the check's errors; then the fixed file.
    write(&files, "KPFD.CSV", "事業所,00001\r\n".as_bytes());
    let kpfd = kpfd_csv("00001");
    write(&files.join("fixed"), "KPFD.CSV", &kpfd);
    write(&files, "申請書.pdf", b"%PDF-1.4");
    write(&files, "report.pdf", &report);
    write(&files, "extra.csv", &noise(2 << 20, 8));
    write(&files, "huge.pdf", &vec![b'x'; 60 << 20]);
    write(&files, "memo.txt", &memo);
    write(&files, "setup.exe", b"MZ");
    let app = App::start(office, &[]);
    let printed = flow(
        &app,
        include_str!("app_support/send.py"),
        &[files.to_str().expect("UTF-8"), &office.pin],
        |q| match q {
            [vanish, function, name] if vanish == "vanish" => {
                let staged = office.profile().join("app").join(function).join(name);
                std::fs::remove_file(&staged)
                    .unwrap_or_else(|e| panic!("{}: {e}", staged.display()));
                String::new()
            }
            other => society(&w, other),
        },
    );
    assert!(
        !office.profile().join("app/attachments/huge.pdf").exists(),
        "nothing is kept of a refused file"
    );
    let e_application = sealed_after(&printed, "SENT e-application");
    let attachments = sealed_after(&printed, "SENT attachments");
    let pulled = w.dir.path().join("pulled");
    w.society
        .ok(&["society", "pull", "-d", pulled.to_str().expect("UTF-8")]);
    let sent = unzip(&pulled.join("給付課").join(&e_application));
    assert_eq!(sent.keys().collect::<Vec<_>>(), ["KPFD.CSV"]);
    assert_eq!(sent["KPFD.CSV"], kpfd);
    let sent = unzip(&pulled.join("給付課").join(&attachments));
    assert_eq!(sent.keys().collect::<Vec<_>>(), ["report.pdf"]);
    assert!(
        sent["report.pdf"] == report,
        "report.pdf changed on the way"
    );
}

#[test]
fn an_office_receives_downloads_deletes_and_sees_the_history() {
    let w = world_with_office();
    let office = w.office("00001");
    let d = w.dir.path();
    let files = d.join("files");
    let folder = d.join("received");
    let downloads = d.join("downloads");
    for dir in [&files, &folder, &downloads] {
        std::fs::create_dir_all(dir).expect("a directory");
    }
    let big = noise(12 << 20, 3);
    let small = "健保からのお知らせ\r\n".as_bytes().to_vec();
    write(&files, "scan.pdf", &big);
    write(&files, "notice.txt", &small);
    write(&files, "later.pdf", b"%PDF later");
    let first = society_sends(&w, &[&files.join("scan.pdf"), &files.join("notice.txt")]);
    let second = society_sends(&w, &[&files.join("notice.txt")]);
    let app = App::start(office, &[]);
    let printed = flow(
        &app,
        include_str!("app_support/receive.py"),
        &[
            &office.pin,
            folder.to_str().expect("UTF-8"),
            downloads.to_str().expect("UTF-8"),
            &first,
            &second,
        ],
        |q| match q {
            [send, name] if send == "society send" => society_sends(&w, &[&files.join(name)]),
            other => society(&w, other),
        },
    );
    assert!(printed.contains("RECEIVED"), "{printed}");
    for name in [&first, &second] {
        let downloaded = std::fs::read(downloads.join(name)).expect("the browser's download");
        let kept = std::fs::read(folder.join(name)).expect("the ZIP in the receive folder");
        assert!(
            downloaded == kept,
            "{name}: the download differs from the folder's ZIP"
        );
    }
    let zip = unzip(&downloads.join(&first));
    assert!(zip["scan.pdf"] == big, "scan.pdf changed on the way");
    assert_eq!(zip["notice.txt"], small);
    assert_eq!(unzip(&downloads.join(&second))["notice.txt"], small);
}

#[test]
fn an_idle_app_locks_itself_back_to_the_pin_screen() {
    let w = world_with_office();
    let office = w.office("00001");
    let file = w.dir.path().join("notice.txt");
    std::fs::write(&file, "お知らせ").expect("a file");
    let name = society_sends(&w, &[&file]);
    let app = App::start(office, &["--idle-seconds", "3"]);
    let printed = flow(
        &app,
        include_str!("app_support/idle.py"),
        &[&office.pin, &name],
        |q| society(&w, q),
    );
    assert!(printed.contains("LOCKED AFTER"), "{printed}");
}

#[test]
fn a_send_is_cancelled_while_not_downloaded_and_refused_after() {
    let w = world_with_office();
    let office = w.office("00001");
    let files = w.dir.path().join("files");
    std::fs::create_dir_all(&files).expect("files/");
    write(&files, "a.txt", b"cancelled");
    write(&files, "b.txt", b"pulled");
    let send = |name: &str| office_sends(office, "給付課", &files.join(name));
    let first = send("a.txt");
    let second = send("b.txt");
    let third = send("b.txt");
    let app = App::start(office, &[]);
    let printed = flow(
        &app,
        include_str!("app_support/sent.py"),
        &[&office.pin, &first, &second, &third],
        |q| society(&w, q),
    );
    assert!(printed.contains("CANCELLED"), "{printed}");
    // The cancelled send never reached the society; the other did.
    let pulled = w.dir.path().join("pulled").join("給付課");
    assert!(!pulled.join(&first).exists());
    assert_eq!(unzip(&pulled.join(&second))["b.txt"], b"pulled");
}

#[test]
fn the_english_toggle_switches_every_label() {
    let w = world_with_office();
    let office = w.office("00001");
    let app = App::start(office, &[]);
    let printed = flow(
        &app,
        include_str!("app_support/english.py"),
        &[&office.pin],
        |q| society(&w, q),
    );
    assert!(printed.contains("TOGGLED"), "{printed}");
}

/// `curl -s -D - -o /dev/null ARGS`: the status line and headers of the answer.
fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-D", "-", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The status code of an answer `curl` printed.
fn status(answer: &str) -> u16 {
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"))
}

/// The value of header `name` (lower-case) in an answer `curl` printed.
fn header<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    answer.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// The listening sockets on `port` in `/proc/net/FILE` (`tcp`, `tcp6`): their local
/// addresses as the kernel prints them.
fn listening(file: &str, port: u16) -> Vec<String> {
    let table = std::fs::read_to_string(format!("/proc/net/{file}")).unwrap_or_default();
    let port = format!("{port:04X}");
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (address, bound) = fields.get(1)?.rsplit_once(':')?;
            (bound == port && fields.get(3) == Some(&"0A")).then(|| address.to_owned())
        })
        .collect()
}

#[test]
fn strangers_foreign_hosts_and_other_sites_are_refused_and_a_second_app_points_at_the_first() {
    let w = world_with_office();
    let office = w.office("00001");
    let app = App::start(office, &[]);
    let base = format!("http://127.0.0.1:{}", app.port);
    let ours = format!("Origin: {base}");

    // Only on 127.0.0.1: one listening socket, on 127.0.0.1, none on IPv6; 127.0.0.2 (also
    // this machine's loopback) is not answered.
    assert_eq!(listening("tcp", app.port), ["0100007F"]);
    assert!(listening("tcp6", app.port).is_empty());
    assert!(std::net::TcpStream::connect(("127.0.0.2", app.port)).is_err());

    // Without the launch's cookie, nothing.
    for path in ["/", "/menu", "/pin", "/inbox", "/settings"] {
        let answer = curl(&[&format!("{base}{path}")]);
        assert_eq!(status(&answer), 403, "{path}: {answer}");
    }
    let answer = curl(&["-H", "Cookie: kx_app=guessed", &format!("{base}/pin")]);
    assert_eq!(status(&answer), 403, "{answer}");
    let answer = curl(&["-X", "POST", &format!("{base}/instance/launch")]);
    assert_eq!(status(&answer), 403, "no control secret: {answer}");

    // The launch: a strict, HttpOnly cookie, and the token is gone from the address.
    let launched = curl(&[&app.url]);
    assert_eq!(status(&launched), 303, "{launched}");
    assert_eq!(header(&launched, "location"), Some("/"));
    let set = header(&launched, "set-cookie").expect("a cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.starts_with("kx_app="),
        "{set}"
    );
    let cookie = format!("Cookie: {}", set.split(';').next().expect("name=value"));
    assert_eq!(
        status(&curl(&[&app.url])),
        403,
        "a launch token is good once"
    );

    let page = curl(&["-H", &cookie, &format!("{base}/pin")]);
    assert_eq!(status(&page), 200, "{page}");
    for (name, value) in [
        ("cache-control", "no-store"),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
    ] {
        assert_eq!(header(&page, name), Some(value), "{page}");
    }
    let csp = header(&page, "content-security-policy").expect("a CSP");
    assert!(csp.starts_with("default-src 'none'") && csp.contains("frame-ancestors 'none'"));

    // The language toggle goes back to a path of ours only: not to another site, be it
    // written `//host` or `/\host` (which browsers read alike), nor a broken header.
    for (back, expected) in [
        ("%2Fsent%3Fperiod%3Dall", "/sent?period=all"),
        ("%2F%2Fevil.example", "/"),
        ("%2F%5Cevil.example", "/"),
        ("https%3A%2F%2Fevil.example", "/"),
        ("%2Fpin%0D%0ASet-Cookie%3A%20x%3Dy", "/"),
    ] {
        let answer = curl(&["-H", &cookie, &format!("{base}/lang?to=en&back={back}")]);
        assert_eq!(
            (status(&answer), header(&answer, "location")),
            (303, Some(expected)),
            "back={back}: {answer}"
        );
    }

    // A page of another site whose name points at 127.0.0.1 (DNS rebinding): refused, even
    // with the cookie; so is another port.
    for host in [
        format!("evil.example:{}", app.port),
        "127.0.0.1".to_owned(),
        format!("127.0.0.1:{}", app.port.wrapping_add(1)),
    ] {
        let answer = curl(&[
            "-H",
            &cookie,
            "-H",
            &format!("Host: {host}"),
            &format!("{base}/pin"),
        ]);
        assert_eq!(status(&answer), 403, "Host {host}: {answer}");
    }

    // A form of another site posting here (CSRF), even with the cookie: refused; without an
    // Origin too. From our own origin, the PIN is checked (and wrong).
    let post = |headers: &[&str]| {
        let mut args = vec!["-H", cookie.as_str(), "--data", "pin=0000"];
        for h in headers {
            args.extend(["-H", h]);
        }
        let target = format!("{base}/pin");
        args.push(&target);
        curl(&args)
    };
    assert_eq!(status(&post(&["Origin: http://evil.example"])), 403);
    assert_eq!(status(&post(&[])), 403, "a change without an Origin");
    assert_eq!(
        status(&post(&[&ours, "Sec-Fetch-Site: cross-site"])),
        403,
        "a cross-site fetch"
    );
    let answer = post(&[&ours]);
    assert_eq!(status(&answer), 200, "{answer}");
    // Locked (no PIN given yet), the session's screens and this computer's settings are
    // out of reach even for the launched browser.
    let answer = curl(&[
        "-H",
        &cookie,
        "-H",
        &ours,
        "--data",
        "folder=/tmp&idle=1",
        &format!("{base}/settings/local"),
    ]);
    assert_eq!(
        (status(&answer), header(&answer, "location")),
        (303, Some("/")),
        "{answer}"
    );
    assert!(!office.profile().join("app-preferences.json").exists());
    // Logout and quit are changes too.
    for path in ["/logout", "/quit"] {
        let answer = curl(&[
            "-X",
            "POST",
            "-H",
            &cookie,
            "-H",
            "Origin: http://evil.example",
            &format!("{base}{path}"),
        ]);
        assert_eq!(status(&answer), 403, "{path}: {answer}");
    }

    // A second `kx app` for the profile: the first one's URL with a new token, exit 0.
    let second = office
        .command(&["app", "--no-open"])
        .output()
        .expect("kx app");
    let printed = String::from_utf8_lossy(&second.stdout);
    assert!(second.status.success(), "{second:?}");
    let url = printed
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {printed}"));
    assert!(printed.contains("already running"), "{printed}");
    assert!(
        url.starts_with(&format!("{base}/launch/")) && url != app.url,
        "{url}"
    );
    let launched = curl(&[url]);
    assert_eq!(status(&launched), 303, "{launched}");
    assert!(header(&launched, "set-cookie").is_some(), "{launched}");
    assert_eq!(
        status(&curl(&[url])),
        403,
        "the handed-off token is good once too"
    );
}

#[test]
fn an_office_renews_its_certificate_from_the_start_screen() {
    let mut w = World::society_only();
    w.enrol_for_days("00001", "office1", "2468", None, true, 30);
    let office = w.office("00001");
    let files = w.dir.path().join("files");
    std::fs::create_dir_all(&files).expect("files/");
    write(&files, "after.txt", b"sent after the renewal");
    let app = App::start(office, &[]);
    let printed = flow(
        &app,
        include_str!("app_support/renew.py"),
        &[&office.pin, files.to_str().expect("UTF-8")],
        |q| match q {
            [renew] if renew == "society renews" => w.society.ok(&["society", "renew"]),
            [publish] if publish == "publish version" => w.kxd.publish_app_version(),
            other => society(&w, other),
        },
    );
    assert!(printed.contains("RENEWED"), "{printed}");
    // The office's certificate is the renewed one (its old key kept for what was sealed for
    // it); what it sent under the session of the old one opens at the society.
    let cert = std::fs::read_to_string(office.profile().join("cert.pem")).expect("cert.pem");
    assert!(office.profile().join("old").is_dir());
    let sent = sealed_after(&printed, "SENT");
    let pulled = w.dir.path().join("pulled");
    w.society
        .ok(&["society", "pull", "-d", pulled.to_str().expect("UTF-8")]);
    assert_eq!(
        unzip(&pulled.join("給付課").join(&sent))["after.txt"],
        b"sent after the renewal"
    );
    assert!(cert.contains("BEGIN CERTIFICATE"));
}

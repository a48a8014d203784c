//! End-to-end tests of the operators' console: the real `kxd` (`kxd init --console`,
//! `kxd admin operator add`, `kxd serve`), driven by Playwright in Debian's chromium as an
//! operator and a society administrator use it, with second-factor codes computed by the test
//! (console_support/console.py), and curl for what a browser would not send.

mod gateway_support;

use std::process::Command;

use gateway_support::{DOMAIN, Kxd, claims_csv, data_send, number};
use kx_testkit::{Installation, Python, word_after};
use serde_json::json;

/// An installation serving the console (and SMTP, POP3) with the office of gateway_support.
fn kxd() -> (Kxd, String) {
    let installation = Installation::init(env!("CARGO_BIN_EXE_kxd"), DOMAIN)
        .console()
        .setting("login_penalty = 1", "login_penalty = 0")
        // The flows log in several times from one address; the per-address throttle has tests
        // of its own (hostile_logins.rs, web.rs).
        .setting("attempts_per_minute = 10", "attempts_per_minute = 1000")
        .create();
    installation.add_office_org(gateway_support::OFFICE);
    let kxd = Kxd::serving(installation);
    let url = format!("https://{}", kxd.address("console"));
    (kxd, url)
}

/// Runs a flow script of console_support under the test environment's Python.
fn flow(url: &str, script: &str, args: &[&str], envs: &[(&str, &str)]) -> String {
    let mut python = Python::new(format!(
        "{}\n{script}",
        include_str!("console_support/console.py")
    ))
    .venv()
    .env("KX_CONSOLE", url)
    .timeout(std::time::Duration::from_secs(300));
    if let Some(dir) = std::env::var_os("KX_SCREENSHOTS") {
        python = python.env("KX_SCREENSHOTS", dir);
    }
    for (key, value) in envs {
        python = python.env(key, value);
    }
    for arg in args {
        python = python.arg(arg);
    }
    python.run()
}

#[test]
fn a_federation_operator_enrols_a_second_factor_and_manages_organisations_accounts_and_the_audit_log()
 {
    let (kxd, url) = kxd();
    let out = kxd.admin([
        "operator",
        "add",
        "--id",
        "ops.tanaka",
        "--role",
        "federation",
    ]);
    let temporary = word_after(&out, "password:");
    let office = kxd.account("J13123456780");
    let n = number("2026120001");
    let answers = kxd.send(
        &office,
        &[&data_send(&office, &n, &[("CLAIM01.CSV", &claims_csv(1))])],
    );
    assert_eq!(answers[0].0, 250, "{answers:?}");

    let files = tempfile::tempdir().expect("a directory for the files to upload");
    let printed = flow(
        &url,
        include_str!("console_support/federation.py"),
        &["ops.tanaka", &temporary],
        &[
            ("KX_NUMBER", &n),
            ("KX_SENDER", "J13123456780"),
            ("KX_FILES", &files.path().display().to_string()),
        ],
    );
    assert!(printed.contains("LOCKED OUT"), "{printed}");

    // The Result and the Contact arrived in the office's mailbox, read over POP3.
    let mails = kxd.mailbox(&office);
    let subjects: Vec<&str> = mails
        .iter()
        .filter_map(|m| m.headers.get("Subject").map(String::as_str))
        .collect();
    assert!(subjects.contains(&"Transmit Result"), "{subjects:?}");
    assert!(subjects.contains(&"Transmit Contact"), "{subjects:?}");
    let contact = mails
        .iter()
        .find(|m| {
            m.headers
                .get("Subject")
                .is_some_and(|s| s == "Transmit Contact")
        })
        .unwrap();
    assert!(
        contact
            .body
            .as_deref()
            .unwrap_or_default()
            .contains("システム停止のお知らせ"),
        "{:?}",
        contact.body
    );
    assert_eq!(contact.attachments.len(), 1);
    assert!(subjects.contains(&"Transmit ExchangeInfo"), "{subjects:?}");
    let published = kxd
        .data()
        .join("service/1312345678/kaigo/exchangeinfo322/KYUFU.CSV");
    assert_eq!(
        std::fs::read_to_string(&published).expect("the published file"),
        "1,審査結果\r\n"
    );
    assert!(!kxd.data().join("etc").exists() && !kxd.data().join("service/etc").exists());

    // The account the console added has the password it showed once, and may connect from
    // the network the console set only: the right password is refused here as from the wrong
    // network, a wrong one as wrong.
    let password = word_after(&printed, "ACCOUNT_PASSWORD");
    let listed = kxd.admin(["org", "list", "--json"]);
    assert!(listed.contains("10.0.0.0/8"), "{listed}");
    let login = |password: &str| kxd.call("pop_login", json!(["J13987654320", password]));
    assert_ne!(login(&password), json!("+OK"));
    assert_ne!(login(&format!("{password}x")), json!("+OK"));
    let logins = kxd.installation().sql(
        "SELECT outcome FROM audit_log WHERE action = 'pop3.login' AND actor = 'J13987654320' ORDER BY id",
    );
    assert_eq!(
        logins.lines().collect::<Vec<_>>(),
        ["network-refused", "wrong-password"]
    );
    let users = kxd.admin(["user", "list", "--society", "06130009", "--json"]);
    assert!(
        users.contains("kenpo.test") && users.contains("temporary"),
        "{users}"
    );
    let upstreams = kxd.admin(["upstream", "list", "--json"]);
    assert!(
        upstreams.contains("KogakuInfo") && upstreams.contains("info_kogaku@"),
        "{upstreams}"
    );
    let version = kxd.admin(["app-version", "show"]);
    assert!(version.contains("\"version\":\"0.2.0\""), "{version}");

    // Every step was audited as the operator; the lock-out too.
    let audit = kxd
        .installation()
        .sql("SELECT action, outcome FROM audit_log WHERE actor = 'ops.tanaka' ORDER BY id");
    for expected in [
        "console.login|ok",
        "console.password|ok",
        "console.enrol|wrong-code",
        "console.enrol|ok",
        "console.session|started",
        "console.org.add|ok",
        "console.account.add|ok",
        "console.account.lock|ok",
        "console.account.unlock|ok",
        "console.result.deliver|ok",
        "console.contact.send|ok",
        "console.service.publish|ok",
        "console.service.notify|ok",
        "console.org.networks|ok",
        "console.app-version.set|ok",
        "console.upstream.define|ok",
        "console.society.add|ok",
        "console.user.setup-code|ok",
        "console.audit.export|",
        "console.logout|ok",
        "console.code|wrong-code",
        "console.code|locked-out",
    ] {
        assert!(audit.contains(expected), "no {expected} in:\n{audit}");
    }
    let listed = kxd.admin(["operator", "list"]);
    assert!(
        listed.contains("locked until") || listed.contains("ops.tanaka"),
        "{listed}"
    );
    kxd.admin(["operator", "unlock", "--id", "ops.tanaka"]);
}

#[test]
fn a_society_administrator_manages_its_own_society_and_reaches_nothing_of_another() {
    let (kxd, url) = kxd();
    let installation = kxd.installation();
    installation.add_society("06130001", "東京健保", "admin.a");
    installation.add_society("06130002", "大阪健保", "admin.b");
    installation.add_office("06130001", "1001", "本社", None);
    installation.add_office("06130002", "2001", "大阪本社", None);
    installation.add_office_user("tanaka.2001", "06130002", "2001");
    let file = "f".repeat(32);
    let offices = installation.sql(
        "SELECT id, number FROM ex_parties WHERE number IN ('2001', '06130002') ORDER BY number",
    );
    let ids: Vec<&str> = offices
        .lines()
        .map(|l| l.split('|').next().unwrap())
        .collect();
    // A file from the other society's office to that society, as an upload records it (the
    // console shows metadata only, so its blob is not needed).
    installation.sql(&format!(
        "INSERT INTO ex_files (id, sender_party, sender_user, recipient_party, function, name, \
         size, sha256, sent_at) VALUES ('{file}', {}, 'tanaka.2001', {}, 'attachments', \
         'KX_SECRET.zip.p7m', 10, '00', 0)",
        ids[1], ids[0]
    ));

    let out = kxd.admin([
        "operator",
        "add",
        "--id",
        "kenpo.a",
        "--role",
        "society",
        "--society",
        "06130001",
    ]);
    let temporary = word_after(&out, "password:");
    let printed = flow(
        &url,
        include_str!("console_support/society.py"),
        &["kenpo.a", &temporary, "2001", "tanaka.2001", &file],
        &[],
    );
    assert!(printed.contains("SCOPED"), "{printed}");
    // The other society's user was not touched: its temporary password is the one it had.
    let before = installation
        .sql("SELECT CAST(must_change_password AS INTEGER), failed_logins FROM ex_users WHERE id = 'tanaka.2001'");
    assert_eq!(before.trim(), "1|0");
    let audit = installation.sql("SELECT action, object FROM audit_log WHERE actor = 'kenpo.a'");
    assert!(
        !audit.contains("tanaka.2001") && !audit.contains(&file),
        "{audit}"
    );
    assert!(audit.contains("console.office.add|1002"), "{audit}");
    assert!(audit.contains("console.office.quota|1002"), "{audit}");
    let quotas = installation.sql("SELECT number, quota_bytes FROM ex_parties WHERE number IN ('1002', '2001') ORDER BY number");
    assert!(quotas.starts_with("1002|50000000\n2001|"), "{quotas}");
    assert!(!quotas.contains("2001|1000000\n"), "{quotas}");
    assert!(
        audit.contains("console.user.enrolment-code|sato.1002"),
        "{audit}"
    );
}

#[test]
fn the_console_refuses_cross_site_posts_and_sets_strict_headers() {
    let (kxd, url) = kxd();
    let curl = |args: &[&str]| {
        let out = Command::new("curl")
            .args(["-sk", "-o", "/dev/null", "-D", "-"])
            .args(args)
            .output()
            .expect("curl runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let login = curl(&[&format!("{url}/login")]);
    assert!(login.starts_with("HTTP/1.1 200"), "{login}");
    for header in [
        "content-security-policy: default-src 'none'",
        "cache-control: no-store",
        "x-frame-options: DENY",
        "strict-transport-security:",
    ] {
        assert!(
            login
                .to_ascii_lowercase()
                .contains(&header.to_ascii_lowercase()),
            "no {header} in {login}"
        );
    }
    let cross = curl(&[
        "-H",
        "Origin: https://evil.example",
        "--data",
        "id=ops&password=x",
        &format!("{url}/login"),
    ]);
    assert!(cross.starts_with("HTTP/1.1 403"), "{cross}");
    let pages = curl(&[&format!("{url}/orgs")]);
    assert!(
        pages.starts_with("HTTP/1.1 303") && pages.contains("location: /login"),
        "{pages}"
    );
    drop(kxd);
}

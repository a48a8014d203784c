//! The 伝送 client end to end: `kx denso login / send / cancel / fetch / status / show / inbox`
//! against the real gateway (see `denso_support`).

mod denso_support;

use denso_support::{
    Client, DOMAIN, Kxd, OFFICE, data_file, logged_in, logged_in_with, submission,
};
use kx_denso::ErrorCode;
use kx_testkit::Environment;

/// Sends two CSVs and one LZH of them; fetch applies Accept and Regist to each, per file; show
/// gives the counts in words and warns about claims without benefit-management forms.
#[test]
fn send_fetch_status_shows_accept_and_regist_per_file() {
    let (_kxd, client) = logged_in(Environment::Production, 0, &format!("J{OFFICE}1"));

    let claims = client.file("CLAIMS01.CSV", &data_file(2, 0));
    let benefit = client.file("BENEFIT1.CSV", &data_file(0, 1));
    let first = client.ok(&["send", &claims, &benefit]).trim().to_owned();
    assert_eq!(first, format!("{OFFICE}1000000001"));
    let packed = client.ok(&["send", "--lzh", &claims]).trim().to_owned();
    assert_eq!(
        packed,
        format!("{OFFICE}1000000002"),
        "numbers are never reused"
    );

    let status = client.fetch_until("default", |status| {
        [&first, &packed]
            .iter()
            .all(|n| submission(status, n)["regist_result"] == "Success")
    });
    let s = submission(&status, &first);
    assert_eq!(s["accept_result"], "Success");
    let files: Vec<(&str, &str)> = s["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap_or(""),
                f["result"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        files,
        [("CLAIMS01.CSV", "Success"), ("BENEFIT1.CSV", "Success")]
    );
    let p = submission(&status, &packed);
    assert_eq!(p["attachments"][0], format!("{packed}.LZH"));
    assert_eq!(
        p["files"][0]["name"], "CLAIMS01.CSV",
        "Regist names the unpacked CSV"
    );

    let table = client.ok(&["status"]);
    assert!(
        table.contains(&first) && table.contains("CLAIMS01.CSV Success"),
        "{table}"
    );

    let shown = client.expect(1, &["show", &packed]);
    assert!(
        shown.contains("CLAIMS01.CSV: 2 records in all: 2 claims (請求書), 0 benefit-management forms (給付管理票)"),
        "{shown}"
    );
    assert!(shown.contains("warning: 2 claim(s)"), "{shown}");
    let shown = client.ok(&["show", &first]);
    assert!(!shown.contains("warning"), "{shown}");

    // A claim with month 13: Success with format errors, described line by line.
    let text = String::from_utf8(data_file(1, 0)).expect("ASCII");
    let month13 = client.file(
        "MONTH13.CSV",
        text.replacen("7111,202604,", "7111,202613,", 1).as_bytes(),
    );
    let number = client.ok(&["send", &month13]).trim().to_owned();
    client.fetch_until("default", |status| {
        submission(status, &number)["regist_result"] == "Success"
    });
    let shown = client.expect(1, &["show", &number]);
    assert!(
        shown.contains("MONTH13.CSV  Success, format errors (CsvErr.txt)"),
        "{shown}"
    );
    assert!(
        shown.contains("format errors (CsvErr.txt)\n    MONTH13.CSV line 2 item 2:"),
        "{shown}"
    );
    let json = client.json(&["show", &number]);
    assert_eq!(json["csv_err"][0]["file"], "MONTH13.CSV", "{json:#}");
    assert_eq!(json["csv_err"][0]["item"], 2, "{json:#}");
}

/// What the federation would refuse is refused locally with the spec's code and both texts,
/// and no number is spent; sent anyway, the server's IFErr comes back with the same code.
#[test]
fn an_invalid_file_is_refused_locally_and_by_the_server_with_its_code() {
    let (_kxd, client) = logged_in(Environment::TestLoopback, 0, &format!("J{OFFICE}2"));
    let bad = client.file("claims-april.txt", &data_file(1, 0));

    let out = client.run(&["send", &bad], None, &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = ErrorCode::FileName;
    assert!(stderr.contains(code.code()), "{stderr}");
    assert!(stderr.contains(code.message_en()), "{stderr}");
    assert!(stderr.contains(code.message_ja()), "{stderr}");
    let status = client.json(&["status", "--all"]);
    assert_eq!(status, serde_json::json!([]), "nothing reserved");

    // Two files of one name (from two folders) would be refused too.
    let copy = client.work.path().join("copy");
    std::fs::create_dir(&copy).expect("mkdir");
    std::fs::write(copy.join("CLAIM01.CSV"), data_file(1, 0)).expect("write");
    let first = client.file("CLAIM01.CSV", &data_file(1, 0));
    let copy = copy.join("CLAIM01.CSV");
    let out = client.run(&["send", &first, copy.to_str().expect("utf-8")], None, &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(ErrorCode::DuplicateFileName.message_ja()),
        "{stderr}"
    );

    let number = client.ok(&["send", "--no-check", &bad]).trim().to_owned();
    let status = client.fetch_until("default", |s| {
        submission(s, &number)["accept_result"] == "IFErr"
    });
    let s = submission(&status, &number);
    assert_eq!(s["accept_code"], code.code());
    assert_eq!(s["codes"][0]["message_ja"], code.message_ja());
    assert_eq!(s["codes"][0]["message_en"], code.message_en());
    let table = client.expect(1, &["status"]);
    assert!(table.contains(&format!("IFErr {}", code.code())), "{table}");
    assert!(table.contains(code.message_ja()), "{table}");
}

/// A DataSend cancelled before its Regist: DeleteRegist Success on both rows.
#[test]
fn cancel_gets_delete_regist() {
    let (_kxd, client) = logged_in(Environment::TestLoopback, 3600, &format!("J{OFFICE}3"));
    let file = client.file("CLAIM01.CSV", &data_file(1, 0));
    let number = client.ok(&["send", &file]).trim().to_owned();
    let cancel = client.ok(&["cancel", &number]);
    let cancel = cancel
        .split_whitespace()
        .next()
        .expect("a number")
        .to_owned();
    let status = client.fetch_until("default", |s| {
        submission(s, &number)["cancel_result"] == "Success"
    });
    assert_eq!(
        submission(&status, &number)["cancelled_by"],
        cancel.as_str()
    );
    assert_eq!(submission(&status, &cancel)["accept_result"], "Success");
    assert_eq!(submission(&status, &cancel)["target"], number.as_str());
    let table = client.ok(&["status"]);
    assert!(table.contains(&format!("Success by {cancel}")), "{table}");
}

/// A Result to the master ID is unpacked into results/<date>/; a Contact reads as title and
/// body in the inbox, its attachment kept.
#[test]
fn results_are_extracted_and_contacts_are_readable() {
    let (kxd, client) = logged_in(Environment::Production, 0, &format!("J{OFFICE}0"));

    let data = data_file(3, 0);
    let file = client.file("out1.csv", &data);
    kxd.admin(["result", "deliver", "--org", OFFICE, "--kind", "753", &file]);
    let body = client.file(
        "body.txt",
        "３月の請求書の締め切りは、１２日（月）１７：００迄です。\n".as_bytes(),
    );
    let note = client.file("note.pdf", b"%PDF-1.4 demo");
    let id = format!("J{OFFICE}0");
    kxd.admin([
        "contact",
        "send",
        "--to",
        &id,
        "--title",
        "３月の請求書締め切りのお知らせ",
        "--body-file",
        &body,
        "--attach",
        &note,
    ]);

    let fetched = client.json(&["fetch"]);
    assert_eq!(fetched["fetched"], 2, "{fetched:#}");
    let inbox = client.ok(&["inbox"]);
    assert!(inbox.contains("３月の請求書締め切りのお知らせ"), "{inbox}");
    assert!(inbox.contains("１２日（月）１７：００迄です。"), "{inbox}");
    assert!(inbox.contains("Result"), "{inbox}");
    assert_eq!(client.ok(&["inbox"]).trim(), "(nothing new)");

    let messages = client.json(&["inbox", "--all"]);
    let saved = |kind: &str| -> std::path::PathBuf {
        let m = messages
            .as_array()
            .expect("array")
            .iter()
            .find(|m| m["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in {messages:#}"));
        m["saved_to"].as_str().expect("a path").into()
    };
    let results = saved("Result");
    let extracted = results.join(OFFICE).join("75300000.CSV");
    assert_eq!(std::fs::read(&extracted).expect("extracted"), data);
    assert!(results.starts_with(client.home.path()));
    let contact = saved("Contact");
    assert_eq!(
        std::fs::read(contact.join("note.pdf")).expect("kept"),
        b"%PDF-1.4 demo"
    );
    let _ = DOMAIN;
}

/// The client dies between RETR (committed) and DELE: the next fetch stores the rest, keeps
/// exactly one copy of each message, and leaves the server's mailbox empty.
#[test]
fn a_crash_between_retr_and_dele_loses_nothing_and_duplicates_nothing() {
    let (kxd, client) = logged_in(Environment::Production, 0, &format!("J{OFFICE}0"));
    let body = client.file("body.txt", "本文です。\n".as_bytes());
    for title in ["一通目", "二通目", "三通目"] {
        kxd.admin([
            "contact",
            "send",
            "--to",
            &format!("J{OFFICE}0"),
            "--title",
            title,
            "--body-file",
            &body,
        ]);
    }

    let crashed = client.run(&["fetch"], None, &[("KX_TEST_CRASH_AFTER_RETR", "1")]);
    assert_eq!(crashed.status.code(), None, "killed by SIGABRT");
    assert!(String::from_utf8_lossy(&crashed.stderr).contains("aborting after RETR"));

    let again = client.json(&["fetch"]);
    assert_eq!(again["on_server"], 3, "nothing was deleted: {again:#}");
    assert_eq!(
        again["fetched"], 2,
        "the first one was already stored: {again:#}"
    );
    let titles: Vec<String> = client
        .json(&["inbox", "--all"])
        .as_array()
        .expect("array")
        .iter()
        .map(|m| m["title"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(titles, ["一通目", "二通目", "三通目"]);
    let last = client.json(&["fetch"]);
    assert_eq!(last["on_server"], 0, "the mailbox is empty: {last:#}");
}

/// A service notice makes fetch download the announced data from the FTP area (Python's
/// pyftpdlib with FTP over TLS, read-only) into downloads/<date>/: a file, or every file of a
/// directory.
#[test]
fn a_service_notice_downloads_the_announced_data() {
    let kxd = Kxd::start(Environment::Production, 0);
    let master = kxd.account(&format!("J{OFFICE}0"));
    let ftp = denso_support::FtpServer::start(
        &kxd,
        &master,
        &[
            ("kaigo/exchangeinfo322", b"exchange info\r\n"),
            ("kaigo/exchangeinfo323/A0000001.CSV", b"a\r\n"),
            ("kaigo/exchangeinfo323/B0000001.CSV", b"b\r\n"),
        ],
    );
    let client = Client::new();
    client.login(&kxd, &master, "default", &["--ftp", &ftp.address]);
    for location in ["/kaigo/exchangeinfo322", "/kaigo/exchangeinfo323"] {
        kxd.admin(["service", "notify", "--org", OFFICE, "--location", location]);
    }
    let fetched = client.json(&["fetch"]);
    let saved: Vec<std::path::PathBuf> = fetched["applied"]
        .as_array()
        .expect("array")
        .iter()
        .map(|applied| {
            assert_eq!(applied["kind"], "ServiceInfo", "{fetched:#}");
            assert_eq!(applied["problem"], serde_json::Value::Null, "{fetched:#}");
            applied["saved_to"].as_str().expect("a path").into()
        })
        .collect();
    assert_eq!(saved.len(), 2, "{fetched:#}");
    assert!(saved[0].ends_with("exchangeinfo322"));
    assert_eq!(
        std::fs::read(&saved[0]).expect("downloaded"),
        b"exchange info\r\n"
    );
    assert_eq!(
        std::fs::read(saved[1].join("A0000001.CSV")).expect("downloaded"),
        b"a\r\n"
    );
    assert_eq!(
        std::fs::read(saved[1].join("B0000001.CSV")).expect("downloaded"),
        b"b\r\n"
    );
    let inbox = client.ok(&["inbox"]);
    assert!(
        inbox.contains("ExchangeInfo at /kaigo/exchangeinfo322"),
        "{inbox}"
    );
}

/// What `kxd admin service publish` puts in the organisation's folder and announces is
/// downloaded by `kx denso fetch` from kxd's own FTPS listener (AUTH TLS, PROT P).
#[test]
fn a_published_service_notice_downloads_from_kxd_over_ftps() {
    let kxd = Kxd::start_with(Environment::Production, 0, |init| init.ftp());
    let master = kxd.account(&format!("J{OFFICE}0"));
    let client = Client::new();
    let ftp = kxd.address("ftp").to_owned();
    client.login(&kxd, &master, "default", &["--ftp", &ftp]);
    let files = [
        client.file("A0000001.CSV", b"a\r\n"),
        client.file("B0000001.CSV", b"b\r\n"),
    ];
    let location = "/kaigo/exchangeinfo324";
    let mut args = vec![
        "service",
        "publish",
        "--org",
        OFFICE,
        "--location",
        location,
    ];
    args.extend(files.iter().map(String::as_str));
    kxd.admin(args);
    let fetched = client.json(&["fetch"]);
    let applied = &fetched["applied"][0];
    assert_eq!(applied["kind"], "ServiceInfo", "{fetched:#}");
    assert_eq!(applied["problem"], serde_json::Value::Null, "{fetched:#}");
    let saved = std::path::PathBuf::from(applied["saved_to"].as_str().expect("a path"));
    assert!(saved.ends_with("exchangeinfo324"), "{fetched:#}");
    for (name, data) in [("A0000001.CSV", b"a\r\n"), ("B0000001.CSV", b"b\r\n")] {
        assert_eq!(std::fs::read(saved.join(name)).expect("downloaded"), data);
    }
    let downloads = kxd.sql("SELECT object FROM audit_log WHERE action = 'ftp.download' AND outcome = 'ok' ORDER BY object");
    assert_eq!(
        downloads.lines().collect::<Vec<_>>(),
        [
            "/kaigo/exchangeinfo324/A0000001.CSV",
            "/kaigo/exchangeinfo324/B0000001.CSV"
        ],
        "{}",
        kxd.log()
    );
}

/// The password is kept only in the profile's 0600 file, never in the settings or any output;
/// `--no-save-password` keeps none and then reads it when needed.
#[test]
fn the_password_stays_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let kxd = Kxd::start(Environment::TestLoopback, 0);
    let account = kxd.account(&format!("J{OFFICE}7"));
    let client = Client::new();
    client.login(&kxd, &account, "kept", &[]);
    let dir = client.home.path().join("profiles/kept");
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
    assert_eq!(mode(&dir.join("password")), 0o600);
    assert_eq!(mode(&dir), 0o700);
    let settings = std::fs::read_to_string(dir.join("profile.toml")).expect("settings");
    assert!(!settings.contains(&account.password), "{settings}");

    client.login(&kxd, &account, "asking", &["--no-save-password"]);
    assert!(!client.home.path().join("profiles/asking/password").exists());
    let file = client.file("CLAIM01.CSV", &data_file(1, 0));
    let sent = client.run(
        &["send", "--profile", "asking", "--password-stdin", &file],
        Some(&format!("{}\n", account.password)),
        &[],
    );
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let wrong = client.run(
        &["fetch", "--profile", "asking", "--password-stdin"],
        Some("not-the-password\n"),
        &[],
    );
    assert_eq!(wrong.status.code(), Some(1), "the server refused the login");
    for out in [&sent, &wrong] {
        for stream in [&out.stdout, &out.stderr] {
            let text = String::from_utf8_lossy(stream);
            assert!(
                !text.contains(&account.password) && !text.contains("not-the-password"),
                "{text}"
            );
        }
    }
}

/// A server whose certificate the profile does not trust (here: no --ca, so the system store,
/// which lacks the gateway's private CA) never gets the password, and no profile is written.
#[test]
fn an_untrusted_server_gets_no_password() {
    let kxd = Kxd::start(Environment::TestLoopback, 0);
    let account = kxd.account(&format!("J{OFFICE}8"));
    let client = Client::new();
    let out = client.try_login(&kxd, &account, "default", false, &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("certificate") || stderr.contains("trust store"),
        "{stderr}"
    );
    assert!(!client.home.path().join("profiles/default").exists());
}

/// An insurer sends an upstream notice with a unique number of its own; an office is refused.
#[test]
fn upstream_notices_go_from_insurers_only() {
    let kxd = Kxd::start(Environment::Production, 0);
    kxd.admin(["org", "add", "--kind", "insurer", "--number", "123456"]);
    let to = format!("info_hanyo@{DOMAIN}");
    kxd.define_upstream("SampleMail", &to, 2);
    let insurer = kxd.account("H00001234560");
    let office = kxd.account(&format!("J{OFFICE}4"));
    let client = Client::new();
    client.login(&kxd, &insurer, "insurer", &[]);
    client.login(&kxd, &office, "office", &[]);
    let doc = client.file("report.pdf", b"%PDF-1.4");

    let sent = client.ok(&[
        "upstream",
        "--profile",
        "insurer",
        "--name",
        "SampleMail",
        "--to",
        &to,
        "--param",
        "0001",
        "--body",
        "資料を送付します。",
        &doc,
    ]);
    let unique = sent.split_whitespace().next().expect("a number").to_owned();
    assert!(unique.starts_with("0000123456"), "{sent}");
    let status = client.json(&["status", "--profile", "insurer"]);
    assert_eq!(submission(&status, &unique)["kind"], "Upstream");
    assert_ne!(
        submission(&status, &unique)["sent_at"],
        serde_json::Value::Null
    );
    assert_eq!(submission(&status, &unique)["target"], "SampleMail");
    // The federation answers an upstream notice with nothing (spec §4): nothing to wait for.
    let table = client.ok(&["status", "--profile", "insurer"]);
    assert!(!table.contains("waiting"), "{table}");

    let out = client.run(
        &[
            "upstream",
            "--profile",
            "office",
            "--name",
            "SampleMail",
            "--to",
            &to,
            &doc,
        ],
        None,
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let code = ErrorCode::UpstreamFromOffice;
    assert!(String::from_utf8_lossy(&out.stderr).contains(code.message_ja()));
}

/// A message larger than the server's SIZE and a file with a record error are refused before
/// a number is spent; sent anyway, the record error comes back as DataErr with its code.
#[test]
fn sizes_and_record_errors_are_refused_before_a_number_is_spent() {
    let (_kxd, client) = logged_in_with(
        Environment::TestLoopback,
        0,
        &format!("J{OFFICE}5"),
        |init| init.setting("max_message_size = 67108864", "max_message_size = 4096"),
    );

    let big = client.file("BIG01.CSV", &data_file(60, 0));
    let out = client.run(&["send", &big], None, &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the server accepts at most 4096"),
        "{stderr}"
    );

    let mut broken = data_file(1, 0);
    broken.truncate(broken.len() - b"3,3\r\n".len());
    let broken = client.file("BROKEN1.CSV", &broken);
    let out = client.run(&["send", &broken], None, &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = ErrorCode::EndRecord;
    assert!(
        stderr.contains(code.code()) && stderr.contains(code.message_ja()),
        "{stderr}"
    );
    assert_eq!(client.json(&["status", "--all"]), serde_json::json!([]));

    let number = client
        .ok(&["send", "--no-check", &broken])
        .trim()
        .to_owned();
    assert_eq!(number, format!("{OFFICE}5000000001"));
    let status = client.fetch_until("default", |s| {
        submission(s, &number)["regist_result"] == "Success"
    });
    let s = submission(&status, &number);
    assert_eq!(s["files"][0]["result"], "DataErr");
    assert_eq!(s["files"][0]["code"], code.code());
    assert_eq!(s["codes"][0]["context"], "BROKEN1.CSV");
    assert_eq!(s["codes"][0]["message_en"], code.message_en());
}

/// A crash after the number is reserved and before the message is sent: status shows the
/// number as reserved, not sent, and the next submission takes the next number.
#[test]
fn a_number_reserved_but_not_sent_is_never_reused() {
    let (_kxd, client) = logged_in(Environment::TestLoopback, 0, &format!("J{OFFICE}6"));
    let file = client.file("CLAIM01.CSV", &data_file(1, 0));
    let crashed = client.run(
        &["send", &file],
        None,
        &[("KX_TEST_CRASH_AFTER_RESERVE", "1")],
    );
    assert_eq!(crashed.status.code(), None, "killed by SIGABRT");
    let table = client.ok(&["status"]);
    assert!(
        table.contains(&format!("{OFFICE}6000000001")) && table.contains("reserved, not sent"),
        "{table}"
    );
    let next = client.ok(&["send", &file]).trim().to_owned();
    assert_eq!(next, format!("{OFFICE}6000000002"));

    // watch fetches on its own.
    let watched = client.ok(&["watch", "--interval", "1", "--count", "3"]);
    assert!(
        watched.contains("Accept") && watched.contains(&next),
        "{watched}"
    );
}

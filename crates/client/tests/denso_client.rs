//! The 伝送 client end to end: `kx denso login / send / cancel / fetch / status / show / inbox`
//! against the real gateway (see `denso_support`).

mod denso_support;

use denso_support::{Client, DOMAIN, Env, Kxd, OFFICE, data_file, submission};
use kx_denso::ErrorCode;

/// Sends two CSVs and one LZH of them; fetch applies Accept and Regist to each, per file; show
/// gives the counts in words and warns about claims without benefit-management forms.
#[test]
fn send_fetch_status_shows_accept_and_regist_per_file() {
    let kxd = Kxd::start(Env::Production, 0);
    let account = kxd.account(&format!("J{OFFICE}1"));
    let client = Client::new();
    client.login(&kxd, &account, "default", &[]);

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
}

/// What the federation would refuse is refused locally with the spec's code and both texts,
/// and no number is spent; sent anyway, the server's IFErr comes back with the same code.
#[test]
fn an_invalid_file_is_refused_locally_and_by_the_server_with_its_code() {
    let kxd = Kxd::start(Env::TestLoopback, 0);
    let account = kxd.account(&format!("J{OFFICE}2"));
    let client = Client::new();
    client.login(&kxd, &account, "office", &[]);
    let bad = client.file("claims-april.txt", &data_file(1, 0));

    let out = client.run(&["send", "--profile", "office", &bad], None, &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = ErrorCode::FileName;
    assert!(stderr.contains(code.code()), "{stderr}");
    assert!(stderr.contains(code.message_en()), "{stderr}");
    assert!(stderr.contains(code.message_ja()), "{stderr}");
    let status = client.json(&["status", "--all", "--profile", "office"]);
    assert_eq!(status, serde_json::json!([]), "nothing reserved");

    let number = client
        .ok(&["send", "--no-check", "--profile", "office", &bad])
        .trim()
        .to_owned();
    let status = client.fetch_until("office", |s| {
        submission(s, &number)["accept_result"] == "IFErr"
    });
    let s = submission(&status, &number);
    assert_eq!(s["accept_code"], code.code());
    assert_eq!(s["codes"][0]["message_ja"], code.message_ja());
    assert_eq!(s["codes"][0]["message_en"], code.message_en());
    let table = client.expect(1, &["status", "--profile", "office"]);
    assert!(table.contains(&format!("IFErr {}", code.code())), "{table}");
    assert!(table.contains(code.message_ja()), "{table}");
}

/// A DataSend cancelled before its Regist: DeleteRegist Success on both rows.
#[test]
fn cancel_gets_delete_regist() {
    let kxd = Kxd::start(Env::TestLoopback, 3600);
    let account = kxd.account(&format!("J{OFFICE}3"));
    let client = Client::new();
    client.login(&kxd, &account, "default", &[]);
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
    let kxd = Kxd::start(Env::Production, 0);
    let master = kxd.account(&format!("J{OFFICE}0"));
    let client = Client::new();
    client.login(&kxd, &master, "default", &[]);

    let data = data_file(3, 0);
    let file = client.file("out1.csv", &data);
    kxd.admin(&["result", "deliver", "--org", OFFICE, "--kind", "753", &file]);
    let body = client.file(
        "body.txt",
        "３月の請求書の締め切りは、１２日（月）１７：００迄です。\n".as_bytes(),
    );
    let note = client.file("note.pdf", b"%PDF-1.4 demo");
    let id = master.id.as_str();
    kxd.admin(&[
        "contact",
        "send",
        "--to",
        id,
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

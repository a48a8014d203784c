//! The office app and the society side against the real `kxd`: enrolment through the society's
//! queue, files both ways, cancel and its refusal after download, wrong PIN and password,
//! quota, the 70-day window, `kx society serve` with its outbox (and a KPFD.CSV the pre-send
//! check refuses never reaching it), and the sealed blobs on the server opening with
//! `openssl cms` and the recipient's key only.

mod exchange_support;

use std::path::Path;
use std::process::Command;

use exchange_support::{Kxd, Party, SOCIETY_ID, SOCIETY_PIN, World, code_of, kpfd_csv, unzip};
use kx_testkit::noise;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("a file");
    path.to_str().expect("UTF-8").to_owned()
}

/// The ID of the one file in `entries` named `name`.
fn id_of(entries: &[serde_json::Value], name: &str) -> String {
    entries
        .iter()
        .find(|e| e["name"] == name)
        .and_then(|e| e["id"].as_str())
        .unwrap_or_else(|| panic!("{name} not in {entries:?}"))
        .to_owned()
}

/// The sealed name on an `ok` line of `kx send`/`kx society send`.
fn sent_name(stdout: &str) -> String {
    stdout
        .split_whitespace()
        .find(|w| w.starts_with("Send-"))
        .unwrap_or_else(|| panic!("no sealed name in {stdout}"))
        .to_owned()
}

#[test]
fn files_travel_both_ways_and_arrive_unchanged() {
    let w = World::new(None);
    let office = w.office("00001");
    let d = w.dir.path();
    let a = noise(3 << 20, 1);
    let b = b"\xe6\x97\xa5\xe6\x9c\xac,csv\r\n".to_vec();
    let pa = write(d, "report.pdf", &a);
    let pb = write(d, "list.csv", &b);

    // Office → society (給付課), two files in one ZIP.
    let out = office.ok(&["send", "--to", "給付課", "--yes", &pa, &pb]);
    let name = sent_name(&out);
    assert!(name.starts_with("Send-JG-06139999-00001-"), "{name}");
    let sent: Vec<serde_json::Value> =
        serde_json::from_str(&office.ok(&["sent", "--json"])).expect("JSON");
    assert!(
        sent[0]["first_received_at"].is_null(),
        "未 before the society pulls"
    );
    let pulled = d.join("pulled");
    w.society
        .ok(&["society", "pull", "-d", pulled.to_str().expect("UTF-8")]);
    let zip = pulled.join("給付課").join(&name);
    let files = unzip(&zip);
    assert_eq!(files.get("report.pdf"), Some(&a));
    assert_eq!(files.get("list.csv"), Some(&b));
    assert!(
        w.society.inbox(true).is_empty(),
        "pulled files are deleted on the server"
    );
    let sent: Vec<serde_json::Value> =
        serde_json::from_str(&office.ok(&["sent", "--json", "--all"])).expect("JSON");
    assert!(
        sent[0]["first_received_at"].is_string(),
        "済 after the pull"
    );

    // Society → office, two files; the other office cannot take it.
    let c = noise(100_000, 2);
    let pc = write(d, "notice.pdf", &c);
    let out = w
        .society
        .ok(&["society", "send", "--office", "00001", &pa, &pc]);
    let name = sent_name(&out);
    assert!(name.starts_with("Send-KS-06139999-00001-"), "{name}");
    let inbox = office.inbox(false);
    let id = id_of(&inbox, &name);
    assert!(inbox[0]["last_received_at"].is_null(), "未");
    let other = w.office("00002");
    assert_eq!(other.refused(&["receive", &id, "-d", "x"]), "E8005");
    let received = d.join("received");
    let out = office.ok(&["receive", &id, "-d", received.to_str().expect("UTF-8")]);
    assert!(out.contains("1 received, 0 failed"), "{out}");
    let files = unzip(&received.join(&name));
    assert_eq!(files.get("report.pdf"), Some(&a));
    assert_eq!(files.get("notice.pdf"), Some(&c));
    assert!(
        office.inbox(false)[0]["last_received_at"].is_string(),
        "the receive time replaces 未"
    );

    // Delete after receiving: gone from the inbox, in the history.
    office.ok(&["delete", &id]);
    assert!(office.inbox(false).is_empty());
    let history: Vec<serde_json::Value> =
        serde_json::from_str(&office.ok(&["history", "--json"])).expect("JSON");
    assert_eq!(history[0]["name"], name.as_str());

    // The log names the sealed file, never the files inside or the PIN.
    let logs = std::fs::read_dir(office.profile().join("Log"))
        .expect("Log/")
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect::<String>();
    assert!(logs.contains(&name), "{logs}");
    for secret in ["report.pdf", "notice.pdf", "list.csv", "office1"] {
        assert!(!logs.contains(secret), "{secret} in the log:\n{logs}");
    }
    // The PIN as a word of its own: its four digits may well occur inside a timestamp or an id.
    assert!(
        !logs
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|word| word == "2468"),
        "the PIN in the log:\n{logs}"
    );
}

#[test]
fn a_send_can_be_cancelled_until_the_society_downloads_it() {
    let w = World::new(None);
    let office = w.office("00001");
    let d = w.dir.path();
    let file = write(d, "a.txt", b"first");

    // The destinations `--to` takes; an unknown one is refused naming them.
    let table = office.ok(&["destinations"]);
    assert_eq!(
        table.lines().collect::<Vec<_>>(),
        ["送信先", "給付課", "業務課"]
    );
    let listed: Vec<serde_json::Value> =
        serde_json::from_str(&office.ok(&["destinations", "--json"])).expect("JSON");
    assert_eq!(
        listed,
        [
            serde_json::json!({"nickname": "給付課"}),
            serde_json::json!({"nickname": "業務課"})
        ]
    );
    let out = office.kx(&["send", "--to", "給与課", "--yes", &file]);
    assert_eq!(code_of(&out, &["send"]), "E8004");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for line in [
        "E8004 送信先が登録されていません。",
        "  The destination is not registered.",
        "  no destination \"給与課\"; valid destinations: 給付課, 業務課",
        "対応方法: 健保組合の部署情報が登録されていません。健康保険組合の担当者に連絡をお願いいたします。",
        "What to do: The society's department is not registered. Please contact the health insurance society.",
    ] {
        assert!(
            stderr.lines().any(|l| l == line),
            "{line:?} not in:\n{stderr}"
        );
    }

    office.ok(&["send", "--to", "給付課", "--yes", &file]);
    let sent: Vec<serde_json::Value> =
        serde_json::from_str(&office.ok(&["sent", "--json"])).expect("JSON");
    let id = sent[0]["id"].as_str().expect("an id").to_owned();
    office.ok(&["sent", "cancel", &id]);
    assert!(
        w.society.inbox(true).is_empty(),
        "a cancelled send never arrives"
    );

    // Deleting a file never received asks first; without a terminal or --yes nothing goes.
    w.society
        .ok(&["society", "send", "--office", "00001", &file]);
    let unreceived = office.inbox(false)[0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let out = office.kx(&["delete", &unreceived]);
    assert_eq!(code_of(&out, &["delete"]), "E2001");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Not received yet (未)"));
    assert_eq!(office.inbox(false).len(), 1);
    office.ok(&["delete", "--yes", &unreceived]);
    assert!(office.inbox(false).is_empty());

    office.ok(&["send", "--to", "給付課", "--yes", &file]);
    let sent: Vec<serde_json::Value> =
        serde_json::from_str(&office.ok(&["sent", "--json"])).expect("JSON");
    let id = sent
        .iter()
        .find(|e| e["cancelled_at"].is_null())
        .and_then(|e| e["id"].as_str())
        .expect("the second send")
        .to_owned();
    w.society.ok(&[
        "society",
        "pull",
        "-d",
        d.join("in").to_str().expect("UTF-8"),
    ]);
    let out = office.kx(&["sent", "cancel", &id]);
    assert_eq!(code_of(&out, &["sent", "cancel"]), "E8005");
    // The result line on stdout with its English; the code explained once on stderr.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("E8005 ファイルの削除に失敗しました。"),
        "{stdout}"
    );
    assert!(
        stdout.contains("      Failed to delete the file."),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("対応方法: サーバ側でファイル操作のエラーが発生しています。"),
        "{stderr}"
    );
    assert!(
        stderr.contains("What to do: A file operation failed on the server."),
        "{stderr}"
    );
}

#[test]
fn wrong_pin_and_wrong_password() {
    let mut w = World::new(None);
    let office = w.office("00001");
    let out = office.kx_with(&["--pin-stdin", "inbox"], &["9999"]);
    assert_eq!(code_of(&out, &["inbox"]), "E1002");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("PINが一致しません。"), "{stderr}");
    // A request the society refuses: the app stops waiting and says why.
    let office7 = w.queue_setup("00007", "office7", "7777");
    let line = w.wait_for_request("office7");
    let request = line.split_whitespace().next().expect("the request's ID");
    w.society
        .ok(&["society", "approve", request, "--refuse", "not our office"]);
    let refused = office7.resume_setup();
    assert_eq!(code_of(&refused, &["setup"]), "E0003");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not our office"));
    assert!(
        !office7.profile().join("enrolment.json").exists(),
        "the next setup starts anew"
    );

    // An app enrolled with a wrong temporary password gets its certificate but cannot log in.
    let out = w.enrol("00003", "office3", "1122", None, false);
    assert_eq!(code_of(&out, &["setup"]), "E0002");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("パスワードが無効です。"), "{stderr}");

    // A request the society leaves undecided for 14 days expires: the app stops waiting and
    // says to ask for a new code.
    let office8 = w.queue_setup("00008", "office8", "8888");
    w.wait_for_request("office8");
    w.kxd.set_clock_days_ahead(15);
    let expired = office8.kx_with(&["--pin-stdin", "setup"], &["8888"]);
    assert_eq!(code_of(&expired, &["setup"]), "E0003");
    let stderr = String::from_utf8_lossy(&expired.stderr);
    assert!(
        stderr.contains("expired: the society did not decide the request")
            && stderr.contains("ask the society for a new one-time enrolment code"),
        "{stderr}"
    );
    assert!(
        !office8.profile().join("enrolment.json").exists(),
        "the next setup starts anew"
    );
}

/// What `kx` prints when the server refuses because the password is still temporary.
const CHANGE_IT: &str = "E0002 パスワードが無効です。\n  The password is not valid.\n\
     The password is still the temporary one: change it with `kx password change`.\n";

#[test]
fn a_temporary_password_must_be_changed_before_anything_else() {
    let w = World::new(None);
    let users: serde_json::Value =
        serde_json::from_str(&w.kxd.admin(["user", "list", "--json"])).expect("JSON");
    let passwords: Vec<(&str, &str)> = users
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|user| Some((user["id"].as_str()?, user["password"].as_str()?)))
        .collect();
    assert!(
        passwords.iter().any(|(id, _)| *id == "soc-admin")
            && passwords.iter().all(|(_, password)| *password == "set"),
        "every setup replaced its temporary password: {passwords:?}"
    );
    let refused_until_changed = |office: &Party| {
        let refused = office.kx(&["inbox"]);
        assert_eq!(code_of(&refused, &["inbox"]), "E0002");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains(CHANGE_IT), "{stderr}");
    };
    let change = |office: &Party, current: &str, new: &str| {
        let changed = office.kx_with(
            &["--pin-stdin", "--password-stdin", "password", "change"],
            &[&office.pin, current, new, new],
        );
        assert!(changed.status.success(), "{changed:?}");
    };

    // A new password the policy refuses is refused before it is sent; the setup is done but
    // the password still has to be changed.
    let office6 = w.queue_setup("00006", "office6", "6666");
    w.society.ok(&["society", "approve", "--all"]);
    let weak = office6.kx_with(
        &["--pin-stdin", "--password-stdin", "setup"],
        &["6666", "weakpassword", "weakpassword"],
    );
    assert_eq!(code_of(&weak, &["setup"]), "E1011");
    let stderr = String::from_utf8_lossy(&weak.stderr);
    assert!(
        stderr.contains("\nThe password is still the temporary one"),
        "{stderr}"
    );
    refused_until_changed(&office6);

    // A reset restricts the session the app still holds from its setup at once.
    let office = w.office("00001");
    let temporary = w.kxd.reset_password("office1");
    refused_until_changed(office);
    change(office, &temporary, "Mine-Again-2027");
    assert!(office.inbox(false).is_empty());

    // Logged out (which a temporary password allows), the app's stored password no longer
    // logs in; the change logs in with the temporary one typed as the current password.
    let temporary = w.kxd.reset_password("office1");
    assert!(office.kx(&["logout"]).status.success());
    assert_eq!(office.refused(&["inbox"]), "E0002");
    change(office, &temporary, "Mine-Third-2028");
    assert!(office.inbox(false).is_empty());
}

#[test]
fn expiring_certificates_and_app_updates() {
    let mut w = World::new(None);
    // Enrolment outlives one run: exit 75 while the society has not decided, and a rerun of
    // `kx setup` (no code needed) resumes waiting.
    let office6 = w.queue_setup("00006", "office6", "6666");
    w.society.ok(&["society", "approve", "--all"]);
    let resumed = office6.resume_setup();
    assert!(resumed.status.success(), "{resumed:?}");
    assert!(office6.inbox(false).is_empty());

    // A certificate with 30 days left: the renewal prompt (a notice without a terminal).
    let out = w.enrol_for_days("00004", "office4", "1122", None, true, 30);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("expires in 29 days"), "{stderr}");
    assert!(stderr.contains("kx renew"), "{stderr}");
    // An expired one cannot log in at all (E3002).
    let out = w.enrol_for_days("00005", "office5", "1122", None, true, 0);
    assert_eq!(code_of(&out, &["setup"]), "E3002");

    // A newer published app version is announced at start (§2.2).
    w.kxd.publish_app_version();
    let out = w.office("00001").kx(&["inbox"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("A new version of kx is available: 9.9.9"),
        "{stderr}"
    );
}

#[test]
fn a_full_office_refuses_with_e8001() {
    let w = World::new(Some(200_000));
    let d = w.dir.path();
    let first = write(d, "a.pdf", &noise(150_000, 3));
    w.society
        .ok(&["society", "send", "--office", "00001", &first]);
    let out = w
        .society
        .kx(&["society", "send", "--office", "00001", &first]);
    assert_eq!(code_of(&out, &["society send"]), "E8001");
    // The other office has room.
    w.society
        .ok(&["society", "send", "--office", "00002", &first]);
    // `serve` keeps what the full office cannot take yet in the outbox for the next round.
    let outbox = d.join("outbox");
    std::fs::create_dir_all(outbox.join("00001")).expect("outbox/00001");
    write(&outbox.join("00001"), "later.pdf", &noise(150_000, 7));
    let out = w.society.ok(&[
        "society",
        "serve",
        "--inbox",
        d.join("in").to_str().expect("UTF-8"),
        "--outbox",
        outbox.to_str().expect("UTF-8"),
        "--once",
    ]);
    assert!(out.contains("retry 00001/later.pdf  E8001"), "{out}");
    assert!(outbox.join("00001/later.pdf").exists());
    assert!(!outbox.join("failed").exists());
}

#[test]
fn files_expire_after_seventy_days() {
    let w = World::new(None);
    let office = w.office("00001");
    let d = w.dir.path();
    let file = write(d, "a.pdf", b"soon gone");
    w.society
        .ok(&["society", "send", "--office", "00001", &file]);
    let id = office.inbox(false)[0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    w.kxd.set_clock_days_ahead(69);
    assert_eq!(office.inbox(false).len(), 1, "still receivable on day 69");
    w.kxd.set_clock_days_ahead(71);
    assert!(
        office.inbox(false).is_empty(),
        "gone from the inbox on day 71"
    );
    assert_eq!(office.refused(&["receive", &id, "-d", "x"]), "E8005");
}

#[test]
fn society_serve_sends_the_outbox_and_pulls_the_inbox() {
    let w = World::new(None);
    let office = w.office("00001");
    let d = w.dir.path();
    let outbox = d.join("outbox");
    let inbox = d.join("inbox");
    std::fs::create_dir_all(outbox.join("00001")).expect("outbox/00001");
    let payload = noise(50_000, 4);
    write(&outbox.join("00001"), "notice.pdf", &payload);
    write(&outbox.join("00001"), "tool.exe", b"MZ");
    // A KPFD.CSV the check refuses never leaves the office: the society pulls one file below.
    std::fs::create_dir_all(d.join("bad")).expect("bad/");
    let bad = write(&d.join("bad"), "KPFD.CSV", &kpfd_csv("架空商事㈱"));
    let out = office.kx(&["send", "--e-application", "--to", "業務課", "--yes", &bad]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error    line 4, field 5: JIS X 0208 にない機種依存文字")
            && stderr.contains("kx: not sent: the check found errors."),
        "{stderr}"
    );
    let kpfd = kpfd_csv("架空商事株式会社");
    let file = write(d, "KPFD.CSV", &kpfd);
    office.ok(&["send", "--e-application", "--to", "業務課", "--yes", &file]);

    // An office enrolling meanwhile: serve --approve signs its request.
    let (_office3, setup) = w.start_setup("00003", "office3", "3333", None, true, "20");
    w.wait_for_request("office3");

    let args = [
        "society",
        "serve",
        "--inbox",
        inbox.to_str().expect("UTF-8"),
        "--outbox",
        outbox.to_str().expect("UTF-8"),
        "--approve",
        "--once",
    ];
    let out = w.society.ok(&args);
    let enrolled = setup.wait_with_output().expect("kx setup finishes");
    assert!(enrolled.status.success(), "{enrolled:?}");
    assert!(out.contains("sent  00001/notice.pdf"), "{out}");
    assert!(outbox.join("sent/00001/notice.pdf").exists());
    let error = std::fs::read_to_string(outbox.join("failed/00001/tool.exe.error"))
        .expect("the failure note");
    assert!(
        error.starts_with("E2004 「exe」拡張子のファイルは追加できません。"),
        "{error}"
    );
    let pulled: Vec<_> = std::fs::read_dir(inbox.join("業務課"))
        .expect("inbox/業務課")
        .flatten()
        .collect();
    assert_eq!(pulled.len(), 1);
    assert_eq!(unzip(&pulled[0].path()).get("KPFD.CSV"), Some(&kpfd));
    let received = d.join("received");
    office.ok(&["receive", "--all", "-d", received.to_str().expect("UTF-8")]);
    let zip = std::fs::read_dir(&received)
        .expect("received")
        .flatten()
        .next()
        .expect("a ZIP");
    assert_eq!(unzip(&zip.path()).get("notice.pdf"), Some(&payload));
}

#[test]
fn sealed_blobs_open_with_openssl_and_the_recipient_key_only() {
    let w = World::new(None);
    let d = w.dir.path();
    let file = write(d, "a.pdf", &noise(10_000, 5));
    let out = w
        .society
        .ok(&["society", "send", "--office", "00001", &file]);
    let size: u64 = out
        .split_whitespace()
        .zip(out.split_whitespace().skip(1))
        .find(|(_, unit)| *unit == "bytes")
        .and_then(|(n, _)| n.parse().ok())
        .expect("the sealed size");
    let blobs = w.kxd.blobs_of_size(size);
    assert_eq!(blobs.len(), 1, "one blob of {size} bytes: {blobs:?}");
    let decrypt = |office: &str, pin: &str| {
        let profile = w.office(office).profile();
        Command::new("openssl")
            .args(["cms", "-decrypt", "-inform", "DER", "-binary", "-in"])
            .arg(&blobs[0])
            .arg("-inkey")
            .arg(profile.join("key.pem"))
            .arg("-recip")
            .arg(profile.join("cert.pem"))
            .args(["-passin", &format!("pass:{pin}"), "-out"])
            .arg(d.join(format!("signed-{office}.der")))
            .output()
            .expect("openssl runs")
    };
    let ok = decrypt("00001", "2468");
    assert!(ok.status.success(), "{ok:?}");
    let verified = Command::new("openssl")
        .args([
            "cms", "-verify", "-inform", "DER", "-binary", "-purpose", "any", "-in",
        ])
        .arg(d.join("signed-00001.der"))
        .arg("-CAfile")
        .arg(w.office("00001").profile().join("society-ca.pem"))
        .arg("-out")
        .arg(d.join("plain.zip"))
        .output()
        .expect("openssl runs");
    assert!(verified.status.success(), "{verified:?}");
    assert_eq!(
        unzip(&d.join("plain.zip")).get("a.pdf"),
        Some(&noise(10_000, 5))
    );
    let refused = decrypt("00002", "1357");
    assert!(
        !refused.status.success(),
        "another office's key opens nothing"
    );

    // A blob altered on the server: the app refuses it and writes nothing.
    let mut bytes = std::fs::read(&blobs[0]).expect("the blob");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&blobs[0], bytes).expect("the altered blob");
    let office = w.office("00001");
    let id = office.inbox(false)[0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let received = d.join("received");
    let code = office.refused(&["receive", &id, "-d", received.to_str().expect("UTF-8")]);
    assert!(code == "E8002" || code == "E8003", "{code}");
    let left: Vec<_> = std::fs::read_dir(&received)
        .expect("the directory")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        left.is_empty(),
        "nothing unverified is left behind: {left:?}"
    );
}

#[test]
fn settings_pin_password_profile_logout() {
    let w = World::new(None);
    let office = w.office("00001");
    // PIN change: the rules first, then the current PIN is checked by the key file.
    let change = |lines: &[&str]| office.kx_with(&["--pin-stdin", "pin", "change"], lines);
    assert_eq!(
        code_of(&change(&["2468", "1234", "1235"]), &["pin"]),
        "E1003"
    );
    assert_eq!(
        code_of(&change(&["2468", "2468", "2468"]), &["pin"]),
        "E1004"
    );
    assert_eq!(
        code_of(&change(&["2468", "12a4", "12a4"]), &["pin"]),
        "E1005"
    );
    assert_eq!(
        code_of(&change(&["0000", "1234", "1234"]), &["pin"]),
        "E1002"
    );
    assert!(change(&["2468", "1234", "1234"]).status.success());
    let out = office.kx_with(&["--pin-stdin", "inbox"], &["2468"]);
    assert_eq!(code_of(&out, &["inbox"]), "E1002");
    let out = office.kx_with(&["--pin-stdin", "inbox", "--json"], &["1234"]);
    assert!(out.status.success(), "{out:?}");

    // Password change: the policy locally, the current password on the server.
    let password = |lines: &[&str]| {
        office.kx_with(
            &["--pin-stdin", "--password-stdin", "password", "change"],
            lines,
        )
    };
    let weak = password(&["1234", "whatever", "abcdefghijk", "abcdefghijk"]);
    assert_eq!(code_of(&weak, &["password"]), "E1011");
    let wrong = password(&[
        "1234",
        "Not-The-Current-1",
        "New-Pass-2026",
        "New-Pass-2026",
    ]);
    assert_eq!(code_of(&wrong, &["password"]), "E1002");
    let changed = password(&["1234", &office.password, "New-Pass-2026", "New-Pass-2026"]);
    assert!(changed.status.success(), "{changed:?}");

    // Profile: full-width name, half-width mail.
    let profile = |name: &str, mail: &str| {
        office.kx_with(
            &[
                "--pin-stdin",
                "profile",
                "set",
                "--name",
                name,
                "--mail",
                mail,
            ],
            &["1234"],
        )
    };
    assert_eq!(
        code_of(&profile("Yamada", "taro@example.jp"), &["profile"]),
        "E1006"
    );
    assert_eq!(
        code_of(&profile("山田　太郎", "taro@example"), &["profile"]),
        "E1008"
    );
    let out = profile("山田　太郎", "taro@example.jp");
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("taro@example.jp"));

    // Logout forgets the token; the next command logs in again.
    assert!(office.profile().join("session.json").exists());
    let out = office.kx_with(&["--pin-stdin", "logout"], &["1234"]);
    assert!(out.status.success(), "{out:?}");
    assert!(!office.profile().join("session.json").exists());
    let out = office.kx_with(&["--pin-stdin", "inbox"], &["1234"]);
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn renewals_keep_old_files_readable_and_reach_the_other_side() {
    let w = World::new(None);
    let office = w.office("00001");
    let d = w.dir.path();
    let before = noise(20_000, 6);
    let file = write(d, "before.pdf", &before);
    let out = w
        .society
        .ok(&["society", "send", "--office", "00001", &file]);
    let early = sent_name(&out);

    // The society renews: the office learns it at its next login (E3003) and seals for the
    // new certificate; the society opens it with the new key.
    w.society.ok(&["society", "renew"]);
    let out = office.kx(&["send", "--to", "給付課", "--yes", &file]);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("E3003"), "{stderr}");
    let pulled = d.join("pulled");
    w.society
        .ok(&["society", "pull", "-d", pulled.to_str().expect("UTF-8")]);
    assert_eq!(
        std::fs::read_dir(pulled.join("給付課"))
            .expect("pulled")
            .count(),
        1
    );

    // The office renews (the society approves): the file sealed for the old key still opens.
    let mut renew = office
        .command(&["--pin-stdin", "renew", "--wait", "20", "--poll", "0.2"])
        .spawn()
        .expect("kx renew runs");
    {
        use std::io::Write as _;
        let mut input = renew.stdin.take().expect("stdin");
        writeln!(input, "{}", office.pin).expect("the PIN");
    }
    let started = std::time::Instant::now();
    while !w
        .society
        .ok(&["society", "approve", "--list"])
        .contains("Renew")
    {
        assert!(started.elapsed().as_secs() < 20, "no renewal request");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    w.society.ok(&["society", "approve", "--all"]);
    let out = renew.wait_with_output().expect("kx renew finishes");
    assert!(out.status.success(), "{out:?}");
    let received = d.join("received");
    office.ok(&["receive", "--all", "-d", received.to_str().expect("UTF-8")]);
    assert_eq!(
        unzip(&received.join(&early)).get("before.pdf"),
        Some(&before)
    );
    // The replaced certificate no longer logs in (E0003).
    let profile = office.profile();
    let stale = d.join("stale");
    std::fs::create_dir_all(&stale).expect("a directory");
    for name in ["key.pem", "cert.pem"] {
        std::fs::copy(profile.join(name), stale.join(name)).expect("a copy");
        std::fs::copy(profile.join("old/1").join(name), profile.join(name)).expect("the old pair");
    }
    std::fs::remove_file(profile.join("session.json")).ok();
    assert_eq!(office.refused(&["inbox"]), "E0003");
    for name in ["key.pem", "cert.pem"] {
        std::fs::copy(stale.join(name), profile.join(name)).expect("the new pair back");
    }
    let after = write(d, "after.pdf", b"for the new key");
    let out = w
        .society
        .ok(&["society", "send", "--office", "00001", &after]);
    let late = sent_name(&out);
    office.ok(&["receive", "--all", "-d", received.to_str().expect("UTF-8")]);
    assert!(received.join(&late).exists());
}

/// A setup that fails says why: a wrong or used one-time code is the code (E1002 ワンタイムコード),
/// not the password; the api port instead of the bootstrap one is named; and nothing of the
/// failed setup is left behind.
#[test]
fn a_failed_setup_names_the_real_cause_and_leaves_nothing() {
    let kxd = Kxd::start();
    let (password, code) = kxd.add_society();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let society = Party::new(dir.path(), "society", SOCIETY_PIN);
    let own = "Own-society-2026";
    let ca = kxd.ca();
    let setup = |server: &str, code: &str| {
        society.kx_with(
            &[
                "--pin-stdin",
                "--password-stdin",
                "society",
                "setup",
                "--server",
                server,
                "--ca",
                ca.to_str().expect("UTF-8"),
                "--id",
                SOCIETY_ID,
                "--code",
                code,
            ],
            &[SOCIETY_PIN, &password, own, own],
        )
    };

    let wrong = setup(&kxd.https, "WRONG-CODE");
    assert_eq!(code_of(&wrong, &["society setup"]), "E1002");
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        stderr.starts_with(
            "E1002 ワンタイムコードが一致しません。\n  The one-time code does not match.\n"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("wrong or already used"), "{stderr}");
    assert!(!society.profile().exists(), "a half-made profile is left");

    let api = setup(&kxd.api, &code);
    assert_eq!(code_of(&api, &["society setup"]), "E0003");
    let stderr = String::from_utf8_lossy(&api.stderr);
    assert!(
        stderr.contains("This looks like the API port; use the bootstrap URL"),
        "{stderr}"
    );
    assert!(!society.profile().exists(), "a half-made profile is left");

    let done = setup(&kxd.https, &code);
    assert!(done.status.success(), "{done:?}");
    // The code worked once: another profile cannot use it again.
    let again = society.kx_with(
        &[
            "--profile",
            "again",
            "--pin-stdin",
            "--password-stdin",
            "society",
            "setup",
            "--server",
            &kxd.https,
            "--ca",
            ca.to_str().expect("UTF-8"),
            "--id",
            SOCIETY_ID,
            "--code",
            &code,
        ],
        &[SOCIETY_PIN, &password, own, own],
    );
    assert_eq!(code_of(&again, &["society setup"]), "E1002");
    assert!(
        society.profile().join("config.json").exists(),
        "the profile set up stays"
    );
    assert!(!society.home.join("exchange").join("again").exists());
}

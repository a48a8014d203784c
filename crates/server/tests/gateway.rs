//! The 伝送 gateway end to end: the real `kxd` on 127.0.0.1 (ephemeral ports), submissions with
//! Python's `smtplib`, replies collected with `poplib` and read with Python's `email` package,
//! archives made with `jlha` and unpacked with `lhasa`.
//!
//! Most tests share one production server and stay apart by using their own IDs (so their own
//! mailboxes) and their own transmission numbers; the tests that need another setting (a long
//! Regist window, test loopback, a killed server) start their own.

mod gateway_support;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use gateway_support::{
    Account, Answer, Environment, Kxd, Mail, OFFICE, TRANSMIT, claims_csv, data_delete, data_send,
    number, replies, reply, submission_variables, summary, upstream,
};
use kx_denso::Message;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// Where notices of the upstream kind `SampleMail` go.
const UPSTREAM_TO: &str = "info_hanyo@denso.test.kokuho";

/// The shared production server: Regist every second, the office, prefecture 13 and the
/// upstream kind SampleMail (at most two files).
static MAIN: LazyLock<Kxd> = LazyLock::new(|| {
    let kxd = Kxd::start(1, Environment::Production);
    kxd.admin(["org", "add", "--kind", "prefecture", "--number", "13"]);
    kxd.installation()
        .define_upstream("SampleMail", UPSTREAM_TO, 2);
    kxd
});

/// Asserts that every answer is `250 2.0.0 Accepted <number> (<verdict>)`.
fn assert_accepted(answers: &[Answer], expected: &[(&str, &str)]) {
    let got: Vec<(u16, &str)> = answers.iter().map(|a| (a.0, a.1.as_str())).collect();
    let want: Vec<(u16, String)> = expected
        .iter()
        .map(|(number, verdict)| (250, format!("2.0.0 Accepted {number} ({verdict})")))
        .collect();
    let want: Vec<(u16, &str)> = want.iter().map(|(c, t)| (*c, t.as_str())).collect();
    assert_eq!(got, want);
}

/// Asserts what every production reply carries: the account's address, the transmit address,
/// `X-DensoVersion: 3.01`.
fn assert_envelope(mail: &Mail, to: &str) {
    assert_eq!(mail.header("To"), Some(to), "{}", mail.subject());
    assert_eq!(
        mail.header("From"),
        Some("transmit@denso.test.kokuho"),
        "{}",
        mail.subject()
    );
    assert_eq!(mail.header("X-DensoVersion"), Some("3.01"));
}

/// Asserts that `mail` carries exactly one extension header (`X-Ex…-IFArea`): `name: value`.
fn assert_only_extension(mail: &Mail, name: &str, value: &str) {
    assert_eq!(mail.extension_headers(), [name], "{}", mail.subject());
    assert_eq!(mail.header(name), Some(value));
}

/// Asserts that the Regist's TransmitInfo.txt says it received `file` with `claims` 請求書 and
/// nothing else (an office gets the per-form counts, spec §6.3), and found no format error.
fn assert_received(regist: &Mail, file: &str, claims: usize) {
    let info = regist
        .attachment("TransmitInfo.txt")
        .and_then(|a| a.transmit_info.as_ref())
        .expect("a TransmitInfo.txt");
    let claims = claims.to_string();
    let receipt: BTreeMap<&str, &str> = [
        ("データファイル名", file),
        ("請求書件数", &claims),
        ("給付管理票件数", "0"),
        ("再審査申立書件数", "0"),
        ("全レコード件数", &claims),
    ]
    .into();
    let found = info
        .receipts
        .iter()
        .find(|r| r.get("データファイル名").is_some_and(|f| f == file));
    let found: Option<BTreeMap<&str, &str>> =
        found.map(|r| r.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect());
    assert_eq!(found, Some(receipt));
    assert_eq!(info.errors, 0);
}

/// Asserts that `DIR/handoff/<number>` holds exactly `files` (name, bytes, 請求書 count) and a
/// manifest that describes them.
fn assert_handed_off(kxd: &Kxd, number: &str, account: &str, files: &[(&str, &[u8], usize)]) {
    let folder = kxd.handoff(number);
    let mut expected: Vec<String> = files.iter().map(|(name, ..)| (*name).to_owned()).collect();
    expected.push("manifest.json".into());
    expected.sort();
    assert_eq!(listing(&folder), expected);
    for (name, data, _) in files {
        assert_eq!(&std::fs::read(folder.join(name)).expect("a file"), data);
    }
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(folder.join("manifest.json")).expect("manifest"))
            .expect("JSON");
    assert_eq!(manifest["transmission_number"], number);
    assert_eq!(manifest["org_code"], OFFICE);
    assert_eq!(manifest["account"], account);
    let time = |field: &str| {
        let text = manifest[field].as_str().unwrap_or_default();
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap_or_else(|e| panic!("{field} {text:?} is not RFC 3339: {e}"))
    };
    // Handed off only once the Regist window (one second on MAIN) had passed.
    let waited = time("handed_off_at") - time("received_at");
    assert!(waited >= chrono::TimeDelta::seconds(1), "{waited}");
    let described: Vec<Value> = files
        .iter()
        .map(|(name, data, records)| {
            json!({
                "name": name,
                "size": data.len(),
                "sha256": format!("{:x}", Sha256::digest(data)),
                "records": records,
            })
        })
        .collect();
    assert_eq!(manifest["files"], json!(described));
}

/// Submits the DataSend `n` carrying `CLAIM01.CSV` = `claims_csv(1)` and waits for what it
/// earns: `<prefix> Accept` Success, then `<prefix> Regist` Success.
fn send_claim(kxd: &Kxd, account: &Account, n: &str, prefix: &str) -> Vec<Mail> {
    let message = data_send(account, n, &[("CLAIM01.CSV", &claims_csv(1))]);
    assert_accepted(&kxd.send(account, &[&message]), &[(n, "Success")]);
    wait_for_accept_and_regist(kxd, account, n, prefix)
}

/// Waits for the Accept and the Regist of the good single-file DataSend `n`.
fn wait_for_accept_and_regist(kxd: &Kxd, account: &Account, n: &str, prefix: &str) -> Vec<Mail> {
    let mails = kxd.wait_for(account, |m| m.len() >= 2);
    assert_eq!(
        summary(&mails),
        [
            format!("{prefix} Accept [{n},Success]"),
            format!("{prefix} Regist [{n},Success,00001,CLAIM01.CSV,Success]"),
        ]
    );
    mails
}

#[test]
fn a_valid_datasend_is_accepted_registered_and_handed_off() {
    let kxd = &*MAIN;
    let office = kxd.account("J13123456781");
    let n = number("2026110001");
    let mails = send_claim(kxd, &office, &n, "Transmit");
    for mail in &mails {
        assert_envelope(mail, &office.address());
        assert!(mail.extension_headers().is_empty(), "{}", mail.subject());
        // Spec §6: the body of an Accept or a Regist is three empty lines.
        assert_eq!(mail.body.as_deref(), Some("\n\n\n"), "{}", mail.subject());
    }
    assert!(mails[0].attachments.is_empty());
    assert_received(&mails[1], "CLAIM01.CSV", 1);
    assert_handed_off(kxd, &n, &office.id, &[("CLAIM01.CSV", &claims_csv(1), 1)]);
}

#[test]
fn an_lzh_made_by_jlha_is_unpacked_and_its_csvs_registered() {
    let kxd = &*MAIN;
    let office = kxd.account("J13123456782");
    let n = number("2026110002");
    // Big enough for jlha to compress (-lh5-) rather than store.
    let (first, second) = (claims_csv(40), claims_csv(3));
    let work = tempfile::tempdir().expect("temp");
    std::fs::write(work.path().join("CLAIM01.CSV"), &first).expect("write");
    std::fs::write(work.path().join("CLAIM02.CSV"), &second).expect("write");
    let status = Command::new("jlha")
        .args(["a", "CLAIMS.LZH", "CLAIM01.CSV", "CLAIM02.CSV"])
        .current_dir(work.path())
        .output()
        .expect("jlha runs");
    assert!(status.status.success(), "{status:?}");
    let lzh = std::fs::read(work.path().join("CLAIMS.LZH")).expect("the archive");

    let answers = kxd.send(&office, &[&data_send(&office, &n, &[("CLAIMS.LZH", &lzh)])]);
    assert_accepted(&answers, &[(&n, "Success")]);
    let mails = kxd.wait_for(&office, |m| m.len() >= 2);
    assert_eq!(
        summary(&mails)[1],
        format!("Transmit Regist [{n},Success,00002,CLAIM01.CSV,Success,CLAIM02.CSV,Success]")
    );
    assert!(mails[1].extension_headers().is_empty());
    assert_received(&mails[1], "CLAIM01.CSV", 40);
    assert_received(&mails[1], "CLAIM02.CSV", 3);
    assert_handed_off(
        kxd,
        &n,
        &office.id,
        &[("CLAIM01.CSV", &first, 40), ("CLAIM02.CSV", &second, 3)],
    );
}

#[test]
fn a_refused_datasend_leaves_its_number_free_and_a_used_number_is_refused() {
    let kxd = &*MAIN;
    let office = kxd.account("J13123456783");
    let (n, next) = (number("2026110003"), number("2026110004"));
    let csv = claims_csv(1);
    let valid = data_send(&office, &n, &[("CLAIM01.CSV", &csv)]);
    let spaced = String::from_utf8(valid.clone()).expect("ASCII").replacen(
        "Subject: Transmit",
        "Subject:  Transmit",
        1,
    );
    // The later submission comes after the refused ones, so by the time its Regist is in
    // the mailbox the job has passed every one of them.
    let later = data_send(&office, &next, &[("CLAIM01.CSV", &csv)]);
    let answers = kxd.send(&office, &[spaced.as_bytes(), &valid, &valid, &later]);
    assert_accepted(
        &answers,
        &[
            (&n, "IFErr"),
            (&n, "Success"),
            (&n, "IFErr"),
            (&next, "Success"),
        ],
    );

    let mails = kxd.wait_for_reply(&office, "Transmit Regist", &next);
    let accepts: Vec<&Mail> = mails
        .iter()
        .filter(|m| m.subject() == "Transmit Accept")
        .collect();
    let verdicts: Vec<(&str, Option<&str>)> = accepts
        .iter()
        .map(|m| (m.if_area(), m.header("X-Ex1-IFArea")))
        .collect();
    let (refused, success) = (format!("{n},IFErr"), format!("{n},Success"));
    let next_success = format!("{next},Success");
    assert_eq!(
        verdicts,
        [
            (refused.as_str(), Some("A10101")),
            (success.as_str(), None),
            (refused.as_str(), Some("A11003")),
            (next_success.as_str(), None),
        ]
    );
    let regists: Vec<&str> = mails
        .iter()
        .filter(|m| m.subject() == "Transmit Regist")
        .map(Mail::if_area)
        .collect();
    assert_eq!(
        regists,
        [
            format!("{n},Success,00001,CLAIM01.CSV,Success"),
            format!("{next},Success,00001,CLAIM01.CSV,Success"),
        ],
        "{:?}",
        summary(&mails)
    );
}

#[test]
fn the_record_checker_verdicts_reach_the_regist_and_the_hand_off() {
    let kxd = &*MAIN;
    let office = kxd.account("J13123456789");
    let [broken, mixed, format] = ["2026110005", "2026110006", "2026110007"].map(number);
    let good = claims_csv(1);
    let csv = String::from_utf8(good.clone()).expect("ASCII");
    let no_end = csv.replacen("3,3\r\n", "", 1);
    let bad_month = csv.replacen("7111,202604,", "7111,202613,", 1);
    let answers = kxd.send(
        &office,
        &[
            &data_send(
                &office,
                &broken,
                &[("BROKEN.LZH", b"-lh5- but not an archive")],
            ),
            &data_send(
                &office,
                &mixed,
                &[("GOOD.CSV", &good), ("NOEND.CSV", no_end.as_bytes())],
            ),
            &data_send(&office, &format, &[("MONTH.CSV", bad_month.as_bytes())]),
        ],
    );
    assert_accepted(
        &answers,
        &[
            (&broken, "Success"),
            (&mixed, "Success"),
            (&format, "Success"),
        ],
    );
    let mails = kxd.wait_for_reply(&office, "Transmit Regist", &format);
    let regist = |number: &str| reply(&mails, "Transmit Regist", number);

    // The transmission system could not check it: CheckErr, no file list, nothing handed off;
    // in production it still carries a TransmitInfo.txt, with no file counted (spec §6.2).
    let check_err = regist(&broken);
    assert_eq!(check_err.if_area(), format!("{broken},CheckErr,00001"));
    assert_only_extension(check_err, "X-Ex1-IFArea", "A20001");
    let names: Vec<&str> = check_err
        .attachments
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(names, ["TransmitInfo.txt"]);
    assert!(!kxd.handoff(&broken).exists());

    // A record error keeps only that file from the review system.
    let data_err = regist(&mixed);
    assert_eq!(
        data_err.if_area(),
        format!("{mixed},Success,00002,GOOD.CSV,Success,NOEND.CSV,DataErr")
    );
    assert_only_extension(data_err, "X-Ex2-IFArea", "NOEND.CSV,A00106");
    assert_received(data_err, "GOOD.CSV", 1);
    assert_handed_off(kxd, &mixed, &office.id, &[("GOOD.CSV", &good, 1)]);

    // A format error is the review system's business: reported, and handed off all the same.
    let format_err = regist(&format);
    assert_eq!(
        format_err.if_area(),
        format!("{format},Success,00001,MONTH.CSV,Success")
    );
    assert_only_extension(format_err, "X-Ex3-IFArea", "MONTH.CSV");
    let csv_err = format_err
        .attachment("CsvErr.txt")
        .and_then(|a| a.text.as_deref());
    assert_eq!(csv_err, Some("MONTH.CSV,2,2,05,年月が正しくありません\r\n"));
    let info = format_err.attachment("TransmitInfo.txt");
    let errors = info
        .and_then(|a| a.transmit_info.as_ref())
        .map(|i| i.errors);
    assert_eq!(errors, Some(1), "one エラー情報 in TransmitInfo.txt");
    assert_handed_off(
        kxd,
        &format,
        &office.id,
        &[("MONTH.CSV", bad_month.as_bytes(), 1)],
    );
}

#[test]
fn a_number_raced_by_two_sessions_is_accepted_once() {
    let kxd = &*MAIN;
    // Prefecture 13 (識別番号 0000000013) submits too; its second ID keeps this mailbox apart.
    let prefecture = kxd.account("K00000000131");
    let n = "00000000132026110008";
    let message = data_send(&prefecture, n, &[("CLAIM01.CSV", &claims_csv(1))]);
    // Both sessions are past RCPT before either sends its DATA, then both send at once.
    let out = kxd.python(&format!(
        "import threading\n{}\
         sessions = [smtp(user, password) for _ in range(2)]\n\
         for s in sessions:\n    s.mail(sender); s.rcpt(to)\n\
         go = threading.Barrier(2)\n\
         answers = [None, None]\n\
         def finish(i):\n    go.wait()\n    code, text = sessions[i].data(base64.b64decode(message))\n    answers[i] = [code, text.decode()]\n\
         threads = [threading.Thread(target=finish, args=(i,)) for i in range(2)]\n\
         [t.start() for t in threads]; [t.join() for t in threads]\n\
         out['answers'] = sorted(answers)",
        submission_variables(&prefecture, &message)
    ));
    let answers: Vec<Answer> = serde_json::from_value(out["answers"].clone()).expect("answers");
    let won = format!("2.0.0 Accepted {n} (Success)");
    assert_eq!(
        answers.iter().filter(|a| a.1 == won).count(),
        1,
        "{answers:?}"
    );
    // The loser saw the number used (Accept IFErr), or lost the race to the commit (try again).
    let lost = answers.iter().find(|a| a.1 != won).expect("two answers");
    assert!(
        lost.1 == format!("2.0.0 Accepted {n} (IFErr)") || lost.0 == 451,
        "{lost:?}"
    );

    // The retry a 451 asks for is answered like any reuse of the number.
    assert_accepted(&kxd.send(&prefecture, &[&message]), &[(n, "IFErr")]);

    let mails = kxd.wait_for_reply(&prefecture, "Transmit Regist", n);
    reply(&mails, "Transmit Regist", n);
    let accepts: Vec<(&str, Option<&str>)> = replies(&mails, "Transmit Accept", n)
        .iter()
        .map(|m| (m.if_area(), m.header("X-Ex1-IFArea")))
        .collect();
    let (success, used) = (format!("{n},Success"), format!("{n},IFErr"));
    let (first, rest) = accepts.split_first().expect("an Accept");
    assert_eq!(*first, (success.as_str(), None), "{accepts:?}");
    let refused = (used.as_str(), Some("A11003"));
    let all_refused = rest.iter().all(|a| *a == refused);
    assert!((1..=2).contains(&rest.len()) && all_refused, "{accepts:?}");
}

/// The Regist window of [`a_datadelete_cancels_only_inside_the_window`]: long enough to cancel
/// in, short enough to wait out.
const WINDOW: Duration = Duration::from_secs(10);

#[test]
fn a_datadelete_cancels_only_inside_the_window() {
    let kxd = Kxd::start(WINDOW.as_secs(), Environment::Production);
    let office = kxd.account("J13123456781");
    let [sent, cancel, later, too_late] =
        ["2026120001", "2026120002", "2026120003", "2026120004"].map(number);
    let csv = claims_csv(1);
    let started = Instant::now();
    let answers = kxd.send(
        &office,
        &[
            &data_send(&office, &sent, &[("CLAIM01.CSV", &csv)]),
            &data_delete(&office, &cancel, &sent),
            &data_send(&office, &later, &[("CLAIM01.CSV", &csv)]),
        ],
    );
    assert_accepted(
        &answers,
        &[
            (&sent, "Success"),
            (&cancel, "Success"),
            (&later, "Success"),
        ],
    );

    // A cancellation is settled at once, not at the next Regist.
    let mails = kxd.wait_for_reply(&office, "Transmit DeleteRegist", &cancel);
    assert!(started.elapsed() < WINDOW, "the DeleteRegist waited");
    let delete_regist = reply(&mails, "Transmit DeleteRegist", &cancel);
    assert_eq!(delete_regist.if_area(), format!("{cancel},{sent},Success"));
    assert!(delete_regist.extension_headers().is_empty());
    assert_envelope(delete_regist, &office.address());

    // `later` arrived after `sent`: once its Regist is out, `sent` had its turn too.
    let mails = kxd.wait_for_reply(&office, "Transmit Regist", &later);
    assert!(
        started.elapsed() >= WINDOW,
        "the Regist came before the window closed"
    );
    assert!(
        replies(&mails, "Transmit Regist", &sent).is_empty(),
        "{:?}",
        summary(&mails)
    );
    assert!(!kxd.handoff(&sent).exists());
    assert!(kxd.handoff(&later).exists());

    // After its Regist a number is no longer managed: nothing to cancel.
    let answers = kxd.send(&office, &[&data_delete(&office, &too_late, &later)]);
    assert_accepted(&answers, &[(&too_late, "Success")]);
    let mails = kxd.wait_for_reply(&office, "Transmit DeleteRegist", &too_late);
    let no_data = reply(&mails, "Transmit DeleteRegist", &too_late);
    assert_eq!(no_data.if_area(), format!("{too_late},{later},NoData"));
    assert_only_extension(no_data, "X-Ex1-IFArea", "A10903");
}

#[test]
fn test_loopback_answers_test_replies_and_hands_nothing_off() {
    let kxd = Kxd::start(1, Environment::TestLoopback);
    let office = kxd.account("J13123456781");
    let n = number("2026130001");
    let mails = send_claim(&kxd, &office, &n, "Test");
    for mail in &mails {
        assert_envelope(mail, &office.address());
        assert!(mail.attachments.is_empty(), "{}", mail.subject());
    }
    assert!(!kxd.data().join("handoff").exists());

    // Cancelling a number never sent: the loopback's own DeleteRegist, NoData.
    let (cancel, unknown) = (number("2026130002"), number("2026139999"));
    let answers = kxd.send(&office, &[&data_delete(&office, &cancel, &unknown)]);
    assert_accepted(&answers, &[(&cancel, "Success")]);
    let mails = kxd.wait_for_reply(&office, "Test DeleteRegist", &cancel);
    let no_data = reply(&mails, "Test DeleteRegist", &cancel);
    assert_eq!(no_data.if_area(), format!("{cancel},{unknown},NoData"));
    assert_envelope(no_data, &office.address());
}

#[test]
fn an_acknowledged_datasend_survives_kill_9() {
    let kxd = Kxd::start(1, Environment::Production);
    let office = kxd.account("J13123456781");
    let n = number("2026140001");
    let message = data_send(&office, &n, &[("CLAIM01.CSV", &claims_csv(1))]);
    // SIGKILL the moment smtplib has read the 250: no QUIT, no chance to flush anything.
    let out = kxd.python(&format!(
        "{}\
         s = smtp(user, password)\n\
         out['answer'] = submit(s, sender, to, message)\n\
         os.kill(KXD_PID, signal.SIGKILL)",
        submission_variables(&office, &message)
    ));
    assert_eq!(
        out["answer"],
        json!([250, format!("2.0.0 Accepted {n} (Success)")])
    );

    kxd.restart();
    wait_for_accept_and_regist(&kxd, &office, &n, "Transmit");
}

#[test]
fn a_maildrop_stays_locked_while_its_session_lives_and_is_freed_soon_after_kxd_dies() {
    const LEASE: u64 = 6;
    let kxd = Kxd::start_with(
        1,
        Environment::Production,
        &[("maildrop_lease = 60", &format!("maildrop_lease = {LEASE}"))],
    );
    let office = kxd.account("J13123456781");
    let values = json!([office.id, office.password, LEASE]);
    // A session idles for more than two leases: its renewals keep the lock, so a second
    // session is refused and the first still reads its maildrop. Then kxd dies under it.
    let out = kxd.python(&format!(
        "user, password, lease = {values}\n\
         import time\n\
         m = pop(user, password)\n\
         time.sleep(lease * 2.4)\n\
         out['second'] = pop_login(user, password)\n\
         out['first'] = m.stat()[0]\n\
         os.kill(KXD_PID, signal.SIGKILL)"
    ));
    assert_eq!(
        out["second"], "-ERR [IN-USE] Maildrop is locked by another session",
        "{out}"
    );
    assert_eq!(out["first"], 0, "{out}");

    // The dead session's lock lapses within its lease, not after the longest idle time.
    kxd.restart();
    let out = kxd.python(&format!(
        "user, password, lease = {values}\n\
         import time\n\
         started = time.monotonic()\n\
         while (answer := pop_login(user, password)) != '+OK' and time.monotonic() - started < 4 * lease:\n    \
             time.sleep(0.5)\n\
         out['answer'] = answer\n\
         out['waited'] = time.monotonic() - started"
    ));
    assert_eq!(out["answer"], "+OK", "{out}");
    assert!(
        out["waited"]
            .as_f64()
            .is_some_and(|s| s <= (LEASE + 3) as f64),
        "{out}"
    );
}

/// The office's accounts `J{OFFICE}{seq}` for each `seq`.
fn office_accounts(kxd: &Kxd, seqs: std::ops::Range<u32>) -> Vec<Account> {
    seqs.map(|seq| kxd.account(&format!("J{OFFICE}{seq}")))
        .collect()
}

/// One `[user, password, sender, [[number, message]…]]` stream per account, for
/// [`STREAM_AND_KILL`] and [`CONCURRENT_STREAMS`]: a one-claim DataSend for each of the
/// numbers `numbers` gives the account's index.
fn streams(accounts: &[Account], numbers: impl Fn(usize) -> Vec<String>) -> Value {
    let streams = accounts.iter().enumerate().map(|(i, account)| {
        let messages: Vec<Value> = numbers(i)
            .iter()
            .map(|n| {
                let message = data_send(account, n, &[("CLAIM01.CSV", &claims_csv(1))]);
                json!([n, gateway_support::base64(&message)])
            })
            .collect();
        json!([account.id, account.password, account.address(), messages])
    });
    Value::Array(streams.collect())
}

/// Python that submits every `(user, password, sender, [[number, message]…])` stream in its
/// own thread and SIGKILLs kxd once `kill_after` messages have been answered 250; `out['acked']`
/// lists the numbers that were.
const STREAM_AND_KILL: &str = r#"
import threading
acked, lock, killed = [], threading.Lock(), threading.Event()
def stream(user, password, sender, messages):
    try:
        s = smtp(user, password)
        for number, message in messages:
            if killed.is_set():
                return
            answer = submit(s, sender, TRANSMIT, message)
            with lock:
                if answer[0] == 250 and not killed.is_set():
                    acked.append(number)
                if len(acked) >= kill_after and not killed.is_set():
                    killed.set()
                    os.kill(KXD_PID, signal.SIGKILL)
    except (smtplib.SMTPException, OSError):
        pass  # the server died under this session: its message in flight was never answered
run_streams(stream, streams)
out['acked'] = acked
"#;

#[test]
fn kill_9_during_a_stream_of_submissions_loses_and_duplicates_nothing() {
    let kxd = Kxd::start(1, Environment::Production);
    let offices = office_accounts(&kxd, 6..10);
    let streams = streams(&offices, |i| {
        (0..12)
            .map(|k| number(&format!("20261{i}{k:04}")))
            .collect()
    });
    let out = kxd.python(&format!(
        "TRANSMIT = {TRANSMIT:?}\nkill_after = 20\nstreams = {streams}\n{STREAM_AND_KILL}"
    ));
    let acked: Vec<String> = serde_json::from_value(out["acked"].clone()).expect("numbers");
    assert!(
        acked.len() >= 20,
        "the kill came after 20 acknowledgements: {acked:?}"
    );

    kxd.restart();
    for office in &offices {
        let mine: Vec<&String> = acked
            .iter()
            .filter(|n| office_of(&offices, n) == office.id)
            .collect();
        let mails = kxd.wait_for(office, |mails| {
            mine.iter()
                .all(|n| !replies(mails, "Transmit Regist", n).is_empty())
        });
        // Every acknowledged message has its Accept and its Regist; no number is answered
        // twice, acknowledged or not (a message in flight at the kill may or may not be there).
        for mail in &mails {
            let n = mail.if_area().split(',').next().unwrap_or_default();
            for subject in ["Transmit Accept", "Transmit Regist"] {
                assert!(
                    replies(&mails, subject, n).len() <= 1,
                    "{subject} twice for {n}: {:?}",
                    summary(&mails)
                );
            }
        }
        for n in &mine {
            assert_eq!(
                replies(&mails, "Transmit Accept", n).len(),
                1,
                "{n}: {:?}",
                summary(&mails)
            );
        }
    }
}

/// Python that submits every `(user, password, sender, [[number, message]…])` stream in its
/// own thread, all starting together; a `451` is retried once (as a client would).
/// `out['answers']` lists `[number, [code, text]…]` per submission, every attempt.
const CONCURRENT_STREAMS: &str = r#"
import threading
answers, lock = [], threading.Lock()
start = threading.Barrier(len(streams))
def stream(user, password, sender, messages):
    s = smtp(user, password)
    start.wait()
    for number, message in messages:
        tries = [submit(s, sender, TRANSMIT, message)]
        if tries[0][0] == 451:
            tries.append(submit(s, sender, TRANSMIT, message))
        with lock:
            answers.append([number, tries])
    s.quit()
run_streams(stream, streams)
out['answers'] = answers
"#;

#[test]
fn concurrent_submissions_get_distinct_numbers_and_a_contested_number_wins_once() {
    let kxd = Kxd::start(1, Environment::Production);
    let clients = office_accounts(&kxd, 0..8);
    // Client i sends the contested number i first, as client i+1 does (same organisation, so
    // the same number space), then five numbers of its own: 40 distinct, 8 contested.
    let contested = |i: usize| number(&format!("2026900{:03}", i % clients.len()));
    let streams = streams(&clients, |i| {
        let mut numbers = vec![contested(i), contested(i + 1)];
        numbers.extend((0..5).map(|k| number(&format!("20268{i}{k:04}"))));
        numbers
    });
    let out = kxd.python(&format!(
        "TRANSMIT = {TRANSMIT:?}\nstreams = {streams}\n{CONCURRENT_STREAMS}"
    ));
    let answers: Vec<(String, Vec<Answer>)> =
        serde_json::from_value(out["answers"].clone()).expect("answers");
    assert_eq!(answers.len(), 8 * 7);

    let mut successes: BTreeMap<&str, usize> = BTreeMap::new();
    for (n, tries) in &answers {
        let last = tries.last().expect("an answer");
        // The loser of a race may see 451 once (the winner's commit came between its check
        // and its own), then the Accept IFErr for a used number; never anything else.
        assert!(
            tries[..tries.len() - 1].iter().all(|a| a.0 == 451),
            "{n}: {tries:?}"
        );
        assert_eq!(last.0, 250, "{n}: {tries:?}");
        if last.1 == format!("2.0.0 Accepted {n} (Success)") {
            *successes.entry(n).or_default() += 1;
        } else {
            assert_eq!(last.1, format!("2.0.0 Accepted {n} (IFErr)"), "{tries:?}");
        }
    }
    assert_eq!(successes.len(), 40 + 8, "{successes:?}");
    assert!(successes.values().all(|&count| count == 1), "{successes:?}");
    for i in 0..8 {
        let mut tries: Vec<&Vec<Answer>> = answers
            .iter()
            .filter(|(n, _)| *n == contested(i))
            .map(|(_, tries)| tries)
            .collect();
        assert_eq!(tries.len(), 2);
        tries.sort_by_key(|t| t.last().map(|a| a.1.ends_with("(IFErr)")));
        assert!(tries[1].last().expect("an answer").1.ends_with("(IFErr)"));
    }

    // What was acknowledged is what is stored: one Accept Success and one Regist per number,
    // across every mailbox, and an Accept IFErr for each lost race.
    let mut accepts: BTreeMap<String, usize> = BTreeMap::new();
    let mut regists: BTreeMap<String, usize> = BTreeMap::new();
    let mut refusals = 0;
    let acknowledged: Vec<&str> = answers
        .iter()
        .filter(|(_, tries)| tries.last().is_some_and(|a| a.1.ends_with("(Success)")))
        .map(|(n, _)| n.as_str())
        .collect();
    for client in &clients {
        let mails = kxd.wait_for(client, |mails| {
            let count = |subject: &str, verdict: &str| {
                mails
                    .iter()
                    .filter(|m| m.subject() == subject && m.if_area().contains(verdict))
                    .count()
            };
            count("Transmit Accept", ",") >= 7
                && count("Transmit Regist", ",") >= count("Transmit Accept", ",Success")
        });
        for mail in &mails {
            let n = mail
                .if_area()
                .split(',')
                .next()
                .unwrap_or_default()
                .to_owned();
            match mail.subject() {
                "Transmit Accept" if mail.if_area().ends_with(",Success") => {
                    assert!(acknowledged.contains(&n.as_str()), "{n}");
                    *accepts.entry(n).or_default() += 1;
                }
                "Transmit Accept" => refusals += 1,
                "Transmit Regist" => *regists.entry(n).or_default() += 1,
                other => panic!("unexpected {other}: {:?}", summary(&mails)),
            }
        }
    }
    assert_eq!(accepts.len(), 48, "{accepts:?}");
    assert!(accepts.values().all(|&c| c == 1), "{accepts:?}");
    assert_eq!(regists, accepts);
    assert_eq!(refusals, 8);
}

/// Which of `offices` sent transmission number `n` (the stream index is its 12th character).
fn office_of<'a>(offices: &'a [Account], n: &str) -> &'a str {
    let index: usize = n[15..16].parse().expect("a stream index");
    &offices[index].id
}

/// Runs curl against this server with its CA and `account`'s credentials; its stdout.
fn curl(kxd: &Kxd, account: &Account, args: &[&str]) -> String {
    let output = Command::new("curl")
        .args(["--silent", "--show-error", "--ssl-reqd", "--cacert"])
        .arg(kxd.data().join("tls/ca.pem"))
        .args(["--user", &format!("{}:{}", account.id, account.password)])
        .args(args)
        .output()
        .expect("curl runs (scripts/test installs it)");
    assert!(
        output.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn curl_submits_over_smtp_and_collects_over_pop3() {
    let kxd = &*MAIN;
    // An office of its own: every ID of the shared office is some other test's.
    kxd.admin(["org", "add", "--kind", "office", "--number", "1311111111"]);
    let office = kxd.account("J13111111110");
    let (smtp, pop3) = kxd.ports();
    let n = "13111111112026190001";
    let message = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(
        message.path(),
        data_send(&office, n, &[("CLAIM01.CSV", &claims_csv(1))]),
    )
    .expect("write");
    let path = message.path().to_str().expect("a UTF-8 path");
    curl(
        kxd,
        &office,
        &[
            &format!("smtp://127.0.0.1:{smtp}"),
            "--mail-from",
            &office.address(),
            "--mail-rcpt",
            TRANSMIT,
            "--upload-file",
            path,
        ],
    );
    wait_for_accept_and_regist(kxd, &office, n, "Transmit");
    let list = curl(kxd, &office, &[&format!("pop3://127.0.0.1:{pop3}/")]);
    assert_eq!(list.lines().count(), 2, "{list}");
    let regist = curl(kxd, &office, &[&format!("pop3://127.0.0.1:{pop3}/2")]);
    assert!(regist.contains("Subject: Transmit Regist\r\n"), "{regist}");
    assert!(
        regist.contains(&format!("X-IFArea: {n},Success,00001,CLAIM01.CSV,Success")),
        "{regist}"
    );
}

#[test]
fn upstream_notices_are_kept_silently_or_refused_with_their_codes() {
    let kxd = &*MAIN;
    let prefecture = kxd.account("K00000000130");
    let office = kxd.account("J13123456784");
    let report: &[(&str, &[u8])] = &[("REPORT.pdf", b"%PDF-1.4\n% a report\n")];
    let unique = "00000000130000000001";
    let notice = upstream(&prefecture, UPSTREAM_TO, "SampleMail", unique, report);
    let undefined = upstream(&prefecture, UPSTREAM_TO, "NoSuchKind", unique, report);
    let script: &[(&str, &[u8])] = &[("RUN.bat", b"echo\r\n")];
    let forbidden = upstream(
        &prefecture,
        UPSTREAM_TO,
        "SampleMail",
        "00000000130000000002",
        script,
    );
    let answers = kxd.send_from(
        &prefecture,
        &prefecture.address(),
        UPSTREAM_TO,
        &[&notice, &notice, &undefined, &forbidden],
    );
    let got: Vec<(u16, &str)> = answers.iter().map(|a| (a.0, a.1.as_str())).collect();
    assert_eq!(
        got[0],
        (
            250,
            &*format!("2.0.0 Upstream notice SampleMail {unique} received")
        )
    );
    for (answer, code) in got[1..].iter().zip(["A11306", "A11303", "A11201"]) {
        assert_eq!(answer.0, 554, "{answer:?}");
        assert!(
            answer.1.starts_with(&format!("5.6.0 {code} ")),
            "{answer:?}"
        );
    }

    let from_office = upstream(&office, UPSTREAM_TO, "SampleMail", unique, report);
    let answers = kxd.send_from(&office, &office.address(), UPSTREAM_TO, &[&from_office]);
    assert_eq!(answers[0].0, 554, "{answers:?}");
    assert!(answers[0].1.contains("A11305"), "{answers:?}");

    // An upstream notice is answered by nothing but the SMTP reply.
    assert!(kxd.mailbox(&prefecture).is_empty());
    assert!(kxd.mailbox(&office).is_empty());
}

#[test]
fn an_account_can_neither_send_as_nor_read_another() {
    let kxd = &*MAIN;
    let a = kxd.account("J13123456785");
    let b = kxd.account("J13123456786");
    let n = number("2026150001");
    let own = data_send(&a, &n, &[("CLAIM01.CSV", &claims_csv(1))]);
    let answers = kxd.send_from(&a, &b.address(), TRANSMIT, &[&own]);
    assert_eq!(answers[0].0, 550, "{answers:?}");

    // The envelope is a's, the From header b's: refused, and the refusal goes to a only.
    let as_b = data_send(&b, &n, &[("CLAIM01.CSV", &claims_csv(1))]);
    let answers = kxd.send(&a, &[&as_b, &own]);
    assert_accepted(&answers, &[(&n, "IFErr"), (&n, "Success")]);
    let mails = kxd.wait_for_reply(&a, "Transmit Regist", &n);
    assert_eq!(mails[0].header("X-Ex1-IFArea"), Some("A10405"));
    assert_eq!(mails.len(), 3, "{:?}", summary(&mails));
    assert!(kxd.mailbox(&b).is_empty());
    assert_refused(&kxd.call("pop_login", json!([b.id, a.password])));

    // Not even the right password travels in the clear.
    let (id, password) = (&a.id, &a.password);
    let plain = kxd.python(&format!(
        "out['pop3'] = pop_login({id:?}, {password:?}, secure=False)\n\
         s = smtplib.SMTP('127.0.0.1', SMTP_PORT, timeout=30)\n\
         s.ehlo()\n\
         out['smtp_offers_auth'] = s.has_extn('auth')\n\
         token = base64.b64encode(('\\0%s\\0%s' % ({id:?}, {password:?})).encode()).decode()\n\
         out['smtp'] = s.docmd('AUTH', 'PLAIN ' + token)[0]"
    ));
    assert_eq!(plain["smtp_offers_auth"], false);
    assert_eq!(plain["smtp"], 538);
    assert_refused(&plain["pop3"]);
}

/// Asserts that a `pop_login` was answered `-ERR`.
fn assert_refused(pop_login: &Value) {
    let line = pop_login.as_str().unwrap_or_default();
    assert!(line.starts_with("-ERR"), "{pop_login}");
}

#[test]
fn five_wrong_passwords_lock_an_account_until_unlocked() {
    let kxd = &*MAIN;
    let office = kxd.account("J13123456787");
    let (id, password) = (&office.id, &office.password);
    let attempts = format!(
        "out['wrong'] = [smtp_auth({id:?}, 'wrong-%d' % i) for i in range(5)]\n\
         out['smtp'] = smtp_auth({id:?}, {password:?})\n\
         out['pop3'] = pop_login({id:?}, {password:?})"
    );
    let locked = kxd.python(&attempts);
    assert_eq!(locked["wrong"], json!([535, 535, 535, 535, 535]));
    assert_eq!(
        locked["smtp"], 535,
        "the right password opened a locked account"
    );
    assert_refused(&locked["pop3"]);

    assert_eq!(
        kxd.admin(["account", "unlock", "--id", id]),
        format!("unlocked {id}\n")
    );
    let after = format!(
        "out['smtp'] = smtp_auth({id:?}, {password:?})\n\
         out['pop3'] = pop_login({id:?}, {password:?})"
    );
    assert_eq!(kxd.python(&after), json!({"smtp": 235, "pop3": "+OK"}));
}

#[test]
fn a_result_reaches_the_master_and_unpacks_with_lhasa() {
    let kxd = &*MAIN;
    let master = kxd.account("J13123456780");
    let work = tempfile::tempdir().expect("temp");
    let files = [
        claims_csv(2),
        b"1,1,0,0,753,0,0,0,0,7,202604,1\r\n3,2\r\n".to_vec(),
    ];
    let paths: Vec<_> = files
        .iter()
        .enumerate()
        .map(|(i, data)| {
            let path = work.path().join(format!("OUT{i}.CSV"));
            std::fs::write(&path, data).expect("write");
            path
        })
        .collect();
    let mut args = ["result", "deliver", "--org", OFFICE, "--kind", "753"]
        .map(OsStr::new)
        .to_vec();
    args.extend(paths.iter().map(|p| p.as_os_str()));
    assert_eq!(
        kxd.admin(args),
        format!("delivered 2 file(s) to {}\n", master.id)
    );

    let mails = kxd.wait_for(&master, |m| !m.is_empty());
    assert_eq!(summary(&mails), ["Transmit Result [00002]"]);
    assert_envelope(&mails[0], &master.address());
    let [archive] = mails[0].attachments.as_slice() else {
        panic!("one attachment, not {}", mails[0].attachments.len());
    };
    let stamp = archive
        .name
        .strip_prefix(OFFICE)
        .and_then(|rest| rest.strip_suffix(".lzh"))
        .unwrap_or_default();
    assert!(
        stamp.len() == 14 && stamp.bytes().all(|b| b.is_ascii_digit()),
        "{}",
        archive.name
    );

    let out = tempfile::tempdir().expect("temp");
    std::fs::write(out.path().join(&archive.name), &archive.data).expect("write");
    let lhasa = Command::new("lhasa")
        .arg("x")
        .arg(&archive.name)
        .current_dir(out.path())
        .output()
        .expect("lhasa runs");
    assert!(lhasa.status.success(), "{lhasa:?}");
    // The archive is written as on MS-DOS (OS type `M`, for the Windows clients), and lhasa,
    // like LHa for UNIX, lower-cases such all-capital names: `75300000.CSV` → `75300000.csv`.
    let folder = out.path().join(OFFICE);
    let extracted = listing(&folder);
    let upper: Vec<String> = extracted.iter().map(|n| n.to_ascii_uppercase()).collect();
    assert_eq!(upper, ["75300000.CSV", "75300001.CSV"]);
    for (name, data) in extracted.iter().zip(&files) {
        assert_eq!(&std::fs::read(folder.join(name)).expect("extracted"), data);
    }
}

/// The names in a directory, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn a_contact_arrives_with_its_japanese_title_and_body() {
    let kxd = &*MAIN;
    let office = kxd.account("J13123456788");
    let title = "３月の請求書締め切りのお知らせ";
    let body = "３月の請求書の締め切りは、１２日（月）１７：００迄です。\nお忘れなく。\n";
    let work = tempfile::tempdir().expect("temp");
    let body_file = work.path().join("body.txt");
    std::fs::write(&body_file, body).expect("write");
    let args = [
        "contact",
        "send",
        "--to",
        &office.id,
        "--title",
        title,
        "--body-file",
    ];
    let mut args = args.map(OsStr::new).to_vec();
    args.push(body_file.as_os_str());
    assert_eq!(kxd.admin(args), "sent to 1 account(s)\n");

    let mails = kxd.wait_for(&office, |m| !m.is_empty());
    let [contact] = mails.as_slice() else {
        panic!("{:?}", summary(&mails));
    };
    assert_eq!(contact.subject(), "Transmit Contact");
    assert_eq!(contact.header("To"), Some(&*office.address()));
    assert_eq!(contact.header("X-DensoVersion"), None);
    assert_eq!(contact.content_type, "text/plain");
    assert!(contact.raw.is_ascii(), "an ISO-2022-JP message is 7-bit");
    let text = contact.body.as_deref().unwrap_or_default();
    assert_eq!(text.trim_end(), format!("{title}\n{}", body.trim_end()));

    // Collected messages can be deleted, and stay deleted.
    let deleted = kxd.call("delete_all", json!([office.id, office.password]));
    assert_eq!(deleted, 1);
    assert!(kxd.mailbox(&office).is_empty());
}

#[test]
fn a_service_notice_tells_the_master_where_the_data_lies() {
    let kxd = &*MAIN;
    // An office of its own, so that its master mailbox holds only this notice.
    kxd.admin(["org", "add", "--kind", "office", "--number", "1322222222"]);
    let master = kxd.account("J13222222220");
    let other = kxd.account("J13222222221");
    let said = kxd.admin([
        "service",
        "notify",
        "--org",
        "1322222222",
        "--location",
        "/kaigo/exchangeinfo322",
    ]);
    assert_eq!(
        said,
        "notified J13222222220: Transmit ExchangeInfo, X-IFArea: /kaigo/exchangeinfo322\n"
    );
    let mails = kxd.wait_for(&master, |m| !m.is_empty());
    let [notice] = mails.as_slice() else {
        panic!("{:?}", summary(&mails));
    };
    assert_eq!(notice.subject(), "Transmit ExchangeInfo");
    assert_eq!(notice.if_area(), "/kaigo/exchangeinfo322");
    assert!(matches!(
        Message::parse(&notice.raw),
        Ok(Message::ServiceNotice(ref n)) if n.location == "/kaigo/exchangeinfo322"
    ));
    assert!(kxd.mailbox(&other).is_empty(), "only the master is told");
}

#[test]
fn two_instances_behind_haproxy_take_smtp_pop3_and_https_alike() {
    // Two kxd on one store (the same installation: on PostgreSQL in scripts/test's second
    // pass), behind docs/haproxy.cfg.
    let kxd = Kxd::create(Kxd::init(0, Environment::TestLoopback).https());
    let second = kxd.installation().serve();
    let both = |name: &str| vec![kxd.address(name), second.address(name).to_owned()];
    let proxy = kx_testkit::haproxy::HaProxy::start(&BTreeMap::from([
        ("smtp", both("smtp")),
        ("pop3", both("pop3")),
        ("https", both("https")),
    ]));
    let (smtp, pop3) = (proxy.port("smtp"), proxy.port("pop3"));
    let office = kxd.account("J13123456780");
    let numbers: Vec<String> = (1..=6)
        .map(|i| number(&format!("20260405{i:02}")))
        .collect();
    // One SMTP session a message: the sessions alternate between the instances.
    for n in &numbers {
        let message =
            gateway_support::base64(&data_send(&office, n, &[("CLAIM01.CSV", &claims_csv(1))]));
        let answers = kxd.python_on(
            smtp,
            pop3,
            0,
            &format!(
                "out['answers'] = send({:?}, {:?}, [({:?}, {TRANSMIT:?}, {message:?})])",
                office.id,
                office.password,
                office.address()
            ),
        );
        assert_eq!(answers["answers"][0][0], 250, "{n}: {answers}");
    }
    let sessions = proxy.sessions("smtp");
    assert!(
        sessions.len() == 2 && sessions.values().all(|&n| n >= 2),
        "both instances took SMTP sessions: {sessions:?}"
    );
    // Read through the balancer, from whichever instance: every Accept and every Regist.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mails = kxd.python_on(
            smtp,
            pop3,
            0,
            &format!(
                "out['mails'] = mailbox({:?}, {:?})",
                office.id, office.password
            ),
        );
        let mails: Vec<Mail> = serde_json::from_value(mails["mails"].clone()).expect("mails");
        let all = |subject: &str| {
            numbers
                .iter()
                .all(|n| replies(&mails, subject, n).len() == 1)
        };
        if all("Test Accept") && all("Test Regist") {
            break;
        }
        assert!(Instant::now() < deadline, "{:?}", summary(&mails));
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(proxy.sessions("pop3").values().sum::<u64>() >= 1);
    // HTTPS, TLS end to end through it: the password page from both instances.
    for _ in 0..4 {
        let page = Command::new("curl")
            .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
            .arg(kxd.installation().ca())
            .arg(format!(
                "https://127.0.0.1:{}/password",
                proxy.port("https")
            ))
            .output()
            .expect("curl runs");
        assert_eq!(String::from_utf8_lossy(&page.stdout), "200", "{page:?}");
    }
    let https = proxy.sessions("https");
    assert!(https.values().all(|&n| n >= 1), "{https:?}");
}

#[test]
fn three_instances_one_killed_and_restarted_again_and_again_lose_nothing_and_repeat_nothing() {
    // Three kxd on one store behind docs/haproxy.cfg; instances 2 and 3 are killed (SIGKILL)
    // and restarted in turn every second and a half while an office submits. Claims of a
    // killed instance lapse after regist_lease.
    let kxd = Kxd::create(
        Kxd::init(0, Environment::TestLoopback)
            .setting("regist_lease = 300", "regist_lease = 4")
            .setting(
                "regist_time_budget_ms = 120000",
                "regist_time_budget_ms = 2000",
            ),
    );
    let installation = kxd.installation();
    let mut others = vec![installation.serve(), installation.serve()];
    let all = |name: &str, others: &[kx_testkit::Server]| {
        let mut addresses = vec![kxd.address(name)];
        addresses.extend(others.iter().map(|s| s.address(name).to_owned()));
        addresses
    };
    let proxy = kx_testkit::haproxy::HaProxy::start(&BTreeMap::from([
        ("smtp", all("smtp", &others)),
        ("pop3", all("pop3", &others)),
    ]));
    let (smtp, pop3) = (proxy.port("smtp"), proxy.port("pop3"));
    let office = kxd.account("J13123456780");
    let numbers: Vec<String> = (1..=60)
        .map(|i| number(&format!("20260406{i:02}")))
        .collect();
    let messages: Vec<String> = numbers
        .iter()
        .map(|n| {
            gateway_support::base64(&data_send(&office, n, &[("CLAIM01.CSV", &claims_csv(1))]))
        })
        .collect();
    let script = format!(
        "answers = []\n\
         for message in {messages:?}:\n    \
             try:\n        \
                 s = smtp({id:?}, {pw:?})\n        \
                 answers.append(submit(s, {from_:?}, {TRANSMIT:?}, message))\n        \
                 s.quit()\n    \
             except Exception as e:\n        \
                 answers.append([0, repr(e)])\n\
         out['answers'] = answers\n",
        messages = messages,
        id = office.id,
        pw = office.password,
        from_ = office.address(),
    );
    let finished = std::sync::atomic::AtomicBool::new(false);
    let kills = std::sync::atomic::AtomicUsize::new(0);
    let out = std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut turn = 0;
            while !finished.load(std::sync::atomic::Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1500));
                let victim = turn % others.len();
                // Dropping a Server kills it (SIGKILL); then it is served again.
                others[victim] = installation.serve();
                for name in ["smtp", "pop3"] {
                    proxy.set_server(
                        name,
                        &format!("kxd{}", victim + 2),
                        others[victim].address(name),
                    );
                }
                kills.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                turn += 1;
            }
        });
        let out = kxd.python_on(smtp, pop3, 0, &script);
        finished.store(true, std::sync::atomic::Ordering::SeqCst);
        out
    });
    let answers = out["answers"].as_array().expect("answers").clone();
    assert_eq!(answers.len(), numbers.len());
    let kills = kills.into_inner();
    assert!(kills >= 3, "only {kills} kills while the office submitted");
    let accepted: Vec<&String> = numbers
        .iter()
        .zip(&answers)
        .filter(|(n, a)| a[0] == 250 && a[1] == format!("2.0.0 Accepted {n} (Success)"))
        .map(|(n, _)| n)
        .collect();
    assert!(
        accepted.len() >= numbers.len() / 2,
        "most submissions went through: {answers:?}"
    );

    // Every 250 has exactly one Accept and one Regist; nothing is shown twice.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mails = loop {
        let read = kxd.python_on(
            smtp,
            pop3,
            0,
            &format!(
                "try:\n    out['mails'] = mailbox({:?}, {:?})\nexcept Exception as e:\n    out['mails'] = None",
                office.id, office.password
            ),
        );
        if let Ok(mails) = serde_json::from_value::<Vec<Mail>>(read["mails"].clone())
            && accepted
                .iter()
                .all(|n| !replies(&mails, "Test Regist", n).is_empty())
        {
            break mails;
        }
        assert!(
            Instant::now() < deadline,
            "not every accepted submission was registered"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    for n in &numbers {
        let (accepts, regists) = (
            replies(&mails, "Test Accept", n).len(),
            replies(&mails, "Test Regist", n).len(),
        );
        if accepted.contains(&n) {
            assert_eq!((accepts, regists), (1, 1), "{n}: {:?}", summary(&mails));
        } else {
            // Cut off before its 250: stored once or not at all, never twice.
            assert!(
                accepts <= 1 && regists <= accepts,
                "{n}: {:?}",
                summary(&mails)
            );
        }
    }

    // The lock-out counts failures on every instance alike: five wrong passwords through the
    // balancer, spread over the instances, lock the account for the right one too.
    let locked = kxd.account("J13123456781");
    let attempts = kxd.python_on(
        smtp,
        pop3,
        0,
        &format!(
            "out['codes'] = [pop_login({id:?}, 'wrong') for _ in range(5)] + [pop_login({id:?}, {pw:?})]",
            id = locked.id,
            pw = locked.password
        ),
    );
    let codes = attempts["codes"].as_array().expect("codes");
    assert!(
        codes[..5].iter().all(|c| c != "+OK") && codes[5] != "+OK",
        "locked after five failures on several instances: {codes:?}"
    );
}

#[test]
fn instances_on_one_database_present_one_certificate_and_one_with_its_own_refuses_to_start() {
    // A database of its own on the test server, whatever the stores of the other tests are on.
    let url = kx_testkit::postgres::fresh_database_on_server();
    let init = || {
        kx_testkit::Installation::init(env!("CARGO_BIN_EXE_kxd"), "denso.test.kokuho")
            .https()
            .database(&url)
            .create()
    };
    let identity = |installation: &kx_testkit::Installation| {
        [
            "tls/ca.pem",
            "tls/server.pem",
            "tls/server-key.pem",
            "metrics.token",
        ]
        .map(|file| std::fs::read(installation.data().join(file)).expect(file))
    };
    let first = init();
    // `kxd init` on a database that holds an installation takes its identity.
    let second = init();
    assert!(identity(&first) == identity(&second), "kxd init joined");
    // An instance set up with kxd.toml alone takes the files at its first start.
    let third = init();
    std::fs::remove_dir_all(third.data().join("tls")).expect("tls/ removed");
    std::fs::remove_file(third.data().join("metrics.token")).expect("metrics.token removed");
    let served = third.serve();
    assert!(identity(&first) == identity(&third), "kxd serve took them");
    let page = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
        .arg(first.ca())
        .arg(format!(
            "https://127.0.0.1:{}/password",
            served.port("https")
        ))
        .output()
        .expect("curl runs");
    assert_eq!(String::from_utf8_lossy(&page.stdout), "200", "{page:?}");
    drop(served);
    // One made on another database, then pointed at this one, would present another
    // certificate: it refuses to start.
    let stray = kx_testkit::Installation::init(env!("CARGO_BIN_EXE_kxd"), "denso.test.kokuho")
        .database(&kx_testkit::postgres::fresh_database_on_server())
        .create();
    stray.edit_settings(|toml| {
        *toml = toml
            .lines()
            .map(|line| {
                if line.starts_with("database = ") {
                    format!("database = {url:?}")
                } else {
                    line.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
    });
    let refused = stray.serve_refused();
    assert!(
        refused.contains("differ from the installation's identity in the database"),
        "{refused}"
    );
}

//! Issue 12, finding 10, against the real `kxd` with a movable clock: raw messages and
//! mailbox messages past their retention are freed (rows kept), what POP3 deleted is
//! collected by `kxd admin gc`, a dry run deletes nothing, and collection running beside
//! accepts never deletes a blob a committing row names.

mod gateway_support;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use chrono::{DateTime, Duration, Utc};
use gateway_support::{DOMAIN, Environment, Kxd, OFFICE, claims_csv, data_send, number};
use kx_testkit::{Installation, files_under};
use serde_json::json;

/// An installation on a clock file starting now, answering Regists at once, whose retention
/// job never runs on its own during a test (`kxd admin` runs it) and whose collector leaves
/// only blobs younger than a second.
fn installation(now: DateTime<Utc>) -> Kxd {
    let installation = Installation::init(env!("CARGO_BIN_EXE_kxd"), DOMAIN)
        .regist_interval(0)
        .environment(Environment::TestLoopback)
        .clock(&now.to_rfc3339())
        .setting("retention_interval = 3600", "retention_interval = 86400")
        .setting("gc_grace = 3600", "gc_grace = 1")
        .create();
    installation.add_office_org(OFFICE);
    Kxd::serving(installation)
}

/// The 伝送 blobs on disk (raw messages, mailbox messages), with their total size.
fn message_blobs(data: &Path) -> (Vec<PathBuf>, u64) {
    let blobs: Vec<PathBuf> = files_under(&data.join("blobs"))
        .into_iter()
        .filter(|p| {
            let relative = p.strip_prefix(data.join("blobs")).expect("below");
            !relative.starts_with("exchange") && !relative.starts_with("tmp")
        })
        .collect();
    let bytes = blobs
        .iter()
        .map(|p| std::fs::metadata(p).expect("a blob").len())
        .sum();
    (blobs, bytes)
}

/// The path of the blob a row names.
fn blob_path(data: &Path, blob: &str) -> PathBuf {
    data.join("blobs").join(&blob[..2]).join(blob)
}

/// The count on the line of `kxd admin gc` that starts with `what`.
fn count(report: &str, what: &str) -> u64 {
    report
        .lines()
        .find(|l| l.trim_start().starts_with(what))
        .and_then(|l| l[what.len() + 2..].split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {what} in:\n{report}"))
}

/// Lets the blobs written so far age past the collector's grace of a second.
fn past_grace() {
    std::thread::sleep(std::time::Duration::from_millis(1500));
}

#[test]
fn retention_frees_raw_and_mail_keeps_rows_and_gc_frees_exactly_the_unreferenced() {
    let now = Utc::now();
    let kxd = installation(now);
    let data = kxd.data().to_owned();
    let office = kxd.account("J13123456780");
    let n = number("2026040001");
    let message = data_send(&office, &n, &[("CLAIM01.CSV", &claims_csv(2))]);
    // The second use of the number is refused: a settled submission from the start.
    let answers = kxd.send(&office, &[&message, &message]);
    assert_eq!(answers[1].1, format!("2.0.0 Accepted {n} (IFErr)"));
    kxd.wait_for_reply(&office, "Test Regist", &n);
    let (before, bytes_before) = message_blobs(&data);
    // The two raw messages are the same bytes, so one blob: 1 raw, 2 Accepts, 1 Regist.
    assert_eq!(before.len(), 4);

    // POP3 deletes the three replies: their blobs are unreferenced.
    assert_eq!(
        kxd.call("delete_all", json!([office.id, office.password])),
        3
    );
    past_grace();
    let dry = kxd.admin(["gc", "--dry-run"]);
    assert!(dry.contains("would delete"), "{dry}");
    assert_eq!(count(&dry, "message blobs"), 3, "{dry}");
    assert_eq!(count(&dry, "raw messages"), 2, "{dry}");
    assert_eq!(count(&dry, "mailbox messages"), 0, "{dry}");
    assert_eq!(message_blobs(&data), (before.clone(), bytes_before));

    let done = kxd.admin(["gc"]);
    assert_eq!(count(&done, "message blobs"), 3, "{done}");
    let (after, bytes_after) = message_blobs(&data);
    assert_eq!(after.len(), 1, "{done}");
    assert!(bytes_after < bytes_before);
    for blob in kxd
        .installation()
        .sql("SELECT blob FROM submissions")
        .lines()
    {
        assert!(
            blob_path(&data, blob).exists(),
            "raw message {blob} is kept"
        );
    }
    assert_eq!(
        count(&kxd.admin(["gc"]), "total"),
        0,
        "nothing left to collect"
    );

    // A month later the settled raw messages are freed; the rows and the used number stay.
    let month = now + Duration::days(31);
    kxd.installation().set_clock(&month.to_rfc3339());
    let report = kxd.admin(["retention", "run"]);
    assert!(report.contains(" 2 raw messages freed"), "{report}");
    let rows = kxd
        .installation()
        .sql("SELECT COUNT(*), COUNT(raw_freed_at) FROM submissions");
    assert_eq!(rows.trim(), "2|2");
    assert_eq!(message_blobs(&data).0, Vec::<PathBuf>::new(), "{report}");
    let again = kxd.send(&office, &[&message]);
    assert_eq!(again[0].1, format!("2.0.0 Accepted {n} (IFErr)"));

    // Mail its client never fetches goes after [retention] mail_days (400).
    let body = data.join("contact.txt");
    std::fs::write(&body, "お知らせ").expect("the body");
    kxd.admin([
        "contact",
        "send",
        "--to",
        office.id.as_str(),
        "--title",
        "notice",
        "--body-file",
        body.to_str().expect("UTF-8"),
    ]);
    assert_eq!(kxd.mailbox(&office).len(), 2, "the Accept and the Contact");
    let later = month + Duration::days(401);
    kxd.installation().set_clock(&later.to_rfc3339());
    let report = kxd.admin(["retention", "run"]);
    assert!(report.contains(" 2 mailbox messages deleted"), "{report}");
    assert!(kxd.mailbox(&office).is_empty());
    past_grace();
    kxd.admin(["gc"]);
    assert_eq!(message_blobs(&data).0, Vec::<PathBuf>::new());

    // Audited as counts.
    let audited = kxd.installation().sql(
        "SELECT action, outcome FROM audit_log WHERE action IN ('retention.run', 'gc.run') \
         ORDER BY id",
    );
    assert!(audited.contains("gc.run|dry-run 3 ("), "{audited}");
    assert!(audited.contains("retention.run|raw 2 mail 0"), "{audited}");
    assert!(audited.contains("retention.run|raw 1 mail 2"), "{audited}");
}

#[test]
fn collection_beside_accepts_never_deletes_a_blob_a_row_names() {
    let kxd = installation(Utc::now());
    let data = kxd.data().to_owned();
    let office = kxd.account("J13123456780");
    // Garbage to collect while the accepts run: replies deleted over POP3.
    let early: Vec<Vec<u8>> = (0..4)
        .map(|i| {
            data_send(
                &office,
                &number(&format!("20260400{i:02}")),
                &[("CLAIM01.CSV", &claims_csv(1))],
            )
        })
        .collect();
    let early: Vec<&[u8]> = early.iter().map(Vec::as_slice).collect();
    kxd.send(&office, &early);
    let deleted = kxd.call("delete_all", json!([office.id, office.password]));
    assert!(
        deleted.as_u64() >= Some(4),
        "the Accepts, and Regists so far: {deleted}"
    );
    past_grace();

    let messages: Vec<String> = (0..24)
        .map(|i| {
            let n = number(&format!("20260401{i:02}"));
            gateway_support::base64(&data_send(&office, &n, &[("CLAIM01.CSV", &claims_csv(1))]))
        })
        .collect();
    let script = format!(
        "messages = {}\n\
         results = []\n\
         def stream(part):\n    \
             results.extend(send('{id}', '{pw}', [('{from_}', '{to}', m) for m in part]))\n\
         run_streams(stream, [(messages[i::4],) for i in range(4)])\n\
         out['answers'] = results\n",
        json!(messages),
        id = office.id,
        pw = office.password,
        from_ = office.address(),
        to = gateway_support::TRANSMIT,
    );
    let finished = AtomicBool::new(false);
    let runs = AtomicUsize::new(0);
    let out = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !finished.load(Ordering::SeqCst) || runs.load(Ordering::SeqCst) < 3 {
                kxd.admin(["gc"]);
                runs.fetch_add(1, Ordering::SeqCst);
            }
        });
        let out = kxd.python(&script);
        finished.store(true, Ordering::SeqCst);
        out
    });
    let answers = out["answers"].as_array().expect("answers");
    assert_eq!(answers.len(), 24);
    assert!(
        answers.iter().all(|a| a[0] == 250),
        "every message is accepted: {answers:?}"
    );
    // Every row names a blob that is there: the raw messages and the replies still held.
    let sql = kxd.installation();
    let named = sql.sql("SELECT blob FROM submissions UNION ALL SELECT blob FROM mailbox_messages");
    assert!(named.lines().count() >= 28, "{named}");
    for blob in named.lines() {
        assert!(blob_path(&data, blob).exists(), "{blob} was collected");
    }
    let mails = kxd.mailbox(&office);
    assert!(
        mails.len() >= 24,
        "every Accept can be retrieved: {}",
        mails.len()
    );
}

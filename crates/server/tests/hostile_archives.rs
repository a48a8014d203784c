//! Hostile archives and poison submissions against the real `kxd` (127.0.0.1, ephemeral ports),
//! with Python's `smtplib` and `poplib` as the clients: a DataSend whose LZH attachments
//! together unpack to far more than the message's decompression budget is answered with Regist
//! CheckErr, a DataSend the Regist job cannot finish is settled as a poison submission, and an
//! upstream notice carrying a bomb is refused at DATA while other sessions go on.

mod gateway_support;

use std::time::UNIX_EPOCH;

use gateway_support::{
    Account, Environment, Kxd, OFFICE, claims_csv, data_send, number, replies, reply, summary,
    upstream,
};
use serde_json::{Value, json};

/// Where notices of the upstream kind `SampleMail` go.
const UPSTREAM_TO: &str = "info_hanyo@denso.test.kokuho";

/// An LZH archive of `count` files `<prefix>0000.CSV`… of `size` zero bytes each: one `-lh5-`
/// stream compressed once and repeated under level-0 headers, so that a bomb of many GB is
/// made in milliseconds. Each file is under the 1 MiB below which no ratio applies to it.
fn zero_archive(prefix: &str, count: usize, size: usize) -> Vec<u8> {
    let zeros = vec![0u8; size];
    let mut writer = kx_lzh::Writer::new(Vec::new());
    writer.add_file("Z.CSV", UNIX_EPOCH, &zeros).expect("adds");
    let one = writer.finish().expect("finishes");
    // A level-2 header starts with its own length; the archive ends with a zero byte.
    let body = &one[usize::from(u16::from_le_bytes([one[0], one[1]]))..one.len() - 1];
    let crc = kx_lzh::Crc16::of(&zeros);
    let mut archive = Vec::new();
    for i in 0..count {
        let name = format!("{prefix}{i:04}.CSV");
        let mut header = b"-lh5-".to_vec();
        header.extend_from_slice(&u32::try_from(body.len()).expect("small").to_le_bytes());
        header.extend_from_slice(&u32::try_from(size).expect("small").to_le_bytes());
        // DOS time 2025-01-01 00:00, attribute "archive", the name, the CRC-16.
        header.extend_from_slice(&0x5A21_0000u32.to_le_bytes());
        header.extend_from_slice(&[0x20, 0, u8::try_from(name.len()).expect("short")]);
        header.extend_from_slice(name.as_bytes());
        header.extend_from_slice(&crc.to_le_bytes());
        let checksum = header.iter().fold(0u8, |sum, &b| sum.wrapping_add(b));
        archive.extend([u8::try_from(header.len()).expect("short"), checksum]);
        archive.extend(header);
        archive.extend_from_slice(body);
    }
    archive.push(0);
    archive
}

/// Two archives of 300 files of 1,000,000 zeros: each inside kx-lzh's per-archive defaults
/// (1 GiB, and no ratio for files under 1 MiB), 600 MB together from well under 1 MB.
fn bomb_archives() -> [Vec<u8>; 2] {
    ["A", "B"].map(|prefix| zero_archive(prefix, 300, 1_000_000))
}

/// Submits the DataSend `n` carrying `CLAIM01.CSV` and waits for its Regist Success.
fn assert_served(kxd: &Kxd, account: &Account, n: &str) {
    let message = data_send(account, n, &[("CLAIM01.CSV", &claims_csv(1))]);
    let answers = kxd.send(account, &[&message]);
    assert_eq!(answers[0].0, 250, "{answers:?}");
    let mails = kxd.wait_for_reply(account, "Transmit Regist", n);
    assert_eq!(
        reply(&mails, "Transmit Regist", n).if_area(),
        format!("{n},Success,00001,CLAIM01.CSV,Success")
    );
}

/// Waits for the Regist of `n` and asserts it is `CheckErr` for `files` attachments with
/// `X-Ex1-IFArea: <code>` alone, and that nothing was handed off.
fn assert_check_err(kxd: &Kxd, account: &Account, n: &str, files: &str, code: &str) {
    let mails = kxd.wait_for_reply(account, "Transmit Regist", n);
    let regist = reply(&mails, "Transmit Regist", n);
    assert_eq!(regist.if_area(), format!("{n},CheckErr,{files}"));
    assert_eq!(regist.extension_headers(), ["X-Ex1-IFArea"]);
    assert_eq!(regist.header("X-Ex1-IFArea"), Some(code));
    assert!(!kxd.handoff(n).exists());
}

#[test]
fn archives_over_the_message_budget_together_get_regist_check_err() {
    let kxd = Kxd::start(0, Environment::Production);
    let office = kxd.account(&format!("J{OFFICE}1"));
    let n = number("2026120001");
    let [first, second] = bomb_archives();
    let message = data_send(
        &office,
        &n,
        &[("BOMB1.LZH", &first), ("BOMB2.LZH", &second)],
    );
    assert!(message.len() < 1 << 20, "{} bytes", message.len());

    // The server checks the archives in the Regist (spec §6.2: CheckErr, e.g. an LZH that
    // cannot be unpacked), so the Accept is Success.
    let answers = kxd.send(&office, &[&message]);
    assert_eq!(
        (answers[0].0, answers[0].1.as_str()),
        (250, &*format!("2.0.0 Accepted {n} (Success)"))
    );
    assert_check_err(&kxd, &office, &n, "00002", "A20003");

    assert_served(&kxd, &office, &number("2026120002"));
}

/// The audit entries of `action`, oldest first, read from the database with its own client.
fn audit_entries(kxd: &Kxd, action: &str) -> Value {
    let rows = kxd.installation().sql(&format!(
        "SELECT actor, object, outcome FROM audit_log WHERE action = '{action}' ORDER BY id"
    ));
    rows.lines()
        .map(|row| row.split('|').map(Value::from).collect::<Value>())
        .collect()
}

#[test]
fn a_datasend_the_regist_job_cannot_finish_is_settled_once_as_a_poison_submission() {
    const BUDGET: &str = "regist_time_budget_ms = 120000";
    // Far less than parsing a 4 MB message takes on any machine: every attempt runs out.
    let kxd = Kxd::start_with(
        0,
        Environment::Production,
        &[(BUDGET, "regist_time_budget_ms = 1")],
    );
    let office = kxd.account(&format!("J{OFFICE}2"));
    let n = number("2026120003");
    let message = data_send(&office, &n, &[("CLAIMS01.CSV", &claims_csv(50_000))]);
    assert!(message.len() > 4_000_000);
    assert_eq!(kxd.send(&office, &[&message])[0].0, 250);

    assert_check_err(&kxd, &office, &n, "00001", "A20004");
    let log = kxd.log();
    assert_eq!(log.matches("it will be tried again").count(), 2, "{log}");
    assert_eq!(log.matches("poison submission").count(), 1, "{log}");
    assert_eq!(
        audit_entries(&kxd, "regist.abandoned"),
        json!([[
            office.id,
            n,
            "CheckErr A20004 after 3 attempts: out of its time budget"
        ]])
    );

    // Served again with a time budget that fits: the poison is not tried again, and
    // everything else goes on.
    kxd.installation().edit_settings(|text| {
        *text = text.replace("regist_time_budget_ms = 1\n", &format!("{BUDGET}\n"))
    });
    kxd.restart();
    assert_served(&kxd, &office, &number("2026120004"));
    let mails = kxd.mailbox(&office);
    assert_eq!(
        replies(&mails, "Transmit Regist", &n).len(),
        1,
        "{:?}",
        summary(&mails)
    );
    assert_eq!(
        audit_entries(&kxd, "regist.abandoned")
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[test]
fn an_upstream_bomb_is_refused_at_data_while_other_sessions_go_on() {
    let kxd = Kxd::start(1, Environment::Production);
    kxd.admin(["org", "add", "--kind", "prefecture", "--number", "13"]);
    kxd.installation()
        .define_upstream("SampleMail", UPSTREAM_TO, 2);
    let prefecture = kxd.account("K00000000130");
    let office = kxd.account(&format!("J{OFFICE}3"));
    let [bomb, _] = bomb_archives();
    let notice = upstream(
        &prefecture,
        UPSTREAM_TO,
        "SampleMail",
        "00000000130000000001",
        &[("BOMB.lzh", &bomb)],
    );
    let values = json!([
        prefecture.id,
        prefecture.password,
        prefecture.address(),
        UPSTREAM_TO,
        gateway_support::base64(&notice),
        office.id,
        office.password
    ]);
    // Four sessions send the bomb at once (more than the machine has cores); a second after
    // they started, another client logs in to POP3 and SMTP, each with a 30 s socket timeout.
    let out = kxd.python(&format!(
        "user, password, sender, to, message, other, other_password = {values}\n\
         import threading, time\n\
         answers = []\n\
         def bomb():\n    answers.append(send(user, password, [[sender, to, message]])[0])\n\
         threads = [threading.Thread(target=bomb) for _ in range(4)]\n\
         for t in threads: t.start()\n\
         time.sleep(1)\n\
         try:\n    out['pop3'] = pop_login(other, other_password)\n\
         except Exception as e:\n    out['pop3'] = repr(e)\n\
         try:\n    out['smtp'] = smtp_auth(other, other_password)\n\
         except Exception as e:\n    out['smtp'] = repr(e)\n\
         for t in threads: t.join()\n\
         out['bombs'] = answers"
    ));
    assert_eq!(out["pop3"], "+OK");
    assert_eq!(out["smtp"], 235);
    let bombs = out["bombs"].as_array().expect("answers");
    assert_eq!(bombs.len(), 4, "{out}");
    for answer in bombs {
        assert_eq!(answer[0], 554, "{answer}");
        let text = answer[1].as_str().unwrap_or_default();
        assert!(text.starts_with("5.6.0 A11304 "), "{answer}");
    }
    assert_served(&kxd, &office, &number("2026120005"));
}

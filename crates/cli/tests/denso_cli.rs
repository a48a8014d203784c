//! `kx denso …` as a user runs it, with Python's `email` package as the independent reader and
//! writer of mail.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kx_testkit::Python;

const KX: &str = env!("CARGO_BIN_EXE_kx");

fn kx(args: &[&str], dir: &Path) -> Output {
    Command::new(KX)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("kx runs")
}

/// Runs kx and requires success, showing its error output otherwise.
fn kx_ok(args: &[&str], dir: &Path) -> Output {
    let out = kx(args, dir);
    assert!(
        out.status.success(),
        "kx {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../denso/tests/golden")
        .join(name)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A Shift_JIS claim file with kanji, CRLF records, as offices send them.
fn claim_csv() -> Vec<u8> {
    let text = "1,1,0,1,711,0,0,1312345678,0,7,202604,1\r\n2,2,7111,202603,1312345678,1,00,00,\"介護\",100\r\n3,3\r\n";
    encoding_rs::SHIFT_JIS.encode(text).0.into_owned()
}

const READ_WITH_PYTHON_EMAIL: &str = r#"
import email, email.policy, email.utils, json, sys, hashlib
msg = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=email.policy.default)
parts = [p for p in msg.iter_attachments()]
print(json.dumps({
    'defects': [type(d).__name__ for d in msg.defects],
    'to': str(msg['To']), 'from': str(msg['From']), 'subject': str(msg['Subject']),
    'ifarea': str(msg['X-IFArea']),
    'date_ok': email.utils.parsedate_to_datetime(str(msg['Date'])) is not None,
    'multipart': msg.get_content_type(), 'charset': msg.get_param('charset'),
    'first': msg.get_payload(0).get_content_type(),
    'files': [[p.get_filename(), p.get_content_type(), p['Content-Transfer-Encoding'],
               hashlib.sha256(p.get_payload(decode=True)).hexdigest()] for p in parts],
}))
"#;

#[test]
fn a_datasend_built_by_kx_is_read_correctly_by_python_email() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let csv = claim_csv();
    let lzh: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    std::fs::write(dir.path().join("CLAIM01.CSV"), &csv).expect("write");
    std::fs::write(dir.path().join("BENEFIT2026APRIL.LZH"), &lzh).expect("write");
    kx_ok(
        &[
            "denso",
            "datasend",
            "--from",
            "J13123456780@denso.test.kokuho",
            "--number",
            "13123456782026040001",
            "--date",
            "Mon, 23 Nov 2026 10:00:00 +0900",
            "-o",
            "ds.eml",
            "CLAIM01.CSV",
            "BENEFIT2026APRIL.LZH",
        ],
        dir.path(),
    );

    let eml = dir.path().join("ds.eml");
    let read = Python::new(READ_WITH_PYTHON_EMAIL).arg(&eml).output();
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&read.stdout).expect("json");
    let sha = |b: &[u8]| {
        use sha2::Digest as _;
        format!("{:x}", sha2::Sha256::digest(b))
    };
    assert_eq!(
        got,
        serde_json::json!({
            "defects": [],
            "to": "transmit@denso.test.kokuho",
            "from": "J13123456780@denso.test.kokuho",
            "subject": "Transmit DataSend",
            "ifarea": "13123456782026040001,00002",
            "date_ok": true,
            "multipart": "multipart/mixed",
            "charset": "iso-2022-jp",
            "first": "text/plain",
            "files": [
                ["CLAIM01.CSV", "application/octet-stream", "Base64", sha(&csv)],
                ["BENEFIT2026APRIL.LZH", "application/octet-stream", "Base64", sha(&lzh)],
            ],
        })
    );
}

const WRITE_WITH_PYTHON_EMAIL: &str = r#"
import sys, email.policy
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.mime.application import MIMEApplication
msg = MIMEMultipart()
msg.set_param('charset', 'iso-2022-jp')
msg['To'] = 'transmit@denso.test.kokuho'
msg['From'] = '"Office 1" <J13123456780@denso.test.kokuho>'
msg['Subject'] = 'Transmit DataSend'
msg['X-IFArea'] = '13123456782026040002,00001'
msg['Date'] = 'Mon, 23 Nov 2026 10:00:00 +0900'
msg.attach(MIMEText('', 'plain', 'iso-2022-jp'))
part = MIMEApplication(open(sys.argv[1], 'rb').read(), 'octet-stream', name='CLAIM01.CSV')
msg.attach(part)
raw = msg.as_bytes(policy=email.policy.SMTP)
open(sys.argv[2], 'wb').write(raw)
"#;

#[test]
fn a_datasend_written_with_python_email_by_the_rules_passes_check() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let csv = dir.path().join("CLAIM01.CSV");
    std::fs::write(&csv, claim_csv()).expect("write");
    let eml = dir.path().join("py.eml");
    let wrote = Python::new(WRITE_WITH_PYTHON_EMAIL)
        .arg(&csv)
        .arg(&eml)
        .output();
    assert!(
        wrote.status.success(),
        "{}",
        String::from_utf8_lossy(&wrote.stderr)
    );
    let out = kx(&["denso", "check", "py.eml"], dir.path());
    assert!(out.status.success(), "{}", stdout(&out));
    let parsed = kx(&["denso", "parse", "--json", "py.eml"], dir.path());
    let json: serde_json::Value = serde_json::from_slice(&parsed.stdout).expect("json");
    assert_eq!(json["kind"], "DataSend");
    assert_eq!(json["transmission_number"], "13123456782026040002");
    assert_eq!(json["attachments"][0]["name"], "CLAIM01.CSV");
    assert_eq!(json["attachments"][0]["size"], claim_csv().len());
}

#[test]
fn check_exit_codes_and_json() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let valid = kx(
        &[
            "denso",
            "check",
            golden("datasend.eml").to_str().expect("path"),
        ],
        dir.path(),
    );
    assert_eq!(valid.status.code(), Some(0), "{}", stdout(&valid));

    let bad = std::fs::read(golden("datasend.eml")).expect("golden");
    let bad = String::from_utf8_lossy(&bad).replace("Subject: Transmit", "Subject:  Transmit");
    std::fs::write(dir.path().join("bad.eml"), bad).expect("write");
    let invalid = kx(&["denso", "check", "--json", "bad.eml"], dir.path());
    assert_eq!(invalid.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&invalid.stdout).expect("json");
    assert_eq!(json["valid"], false);
    assert_eq!(json["kind"], "DataSend");
    assert_eq!(json["transmission_number"], "13123456780000000000");
    assert_eq!(json["violations"][0]["code"], "A10101");
    assert!(
        json["violations"][0]["message_ja"]
            .as_str()
            .is_some_and(|m| m.contains("半角空白"))
    );
    assert!(
        json["violations"][0]["message_en"]
            .as_str()
            .is_some_and(|m| m.contains("space"))
    );

    let missing = kx(&["denso", "check", "no-such.eml"], dir.path());
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no-such.eml"));
}

#[test]
fn parse_json_of_server_messages() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let parse = |name: &str| -> serde_json::Value {
        let out = kx(
            &[
                "denso",
                "parse",
                "--json",
                golden(name).to_str().expect("path"),
            ],
            dir.path(),
        );
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("json")
    };
    let accept = parse("accept_iferr.eml");
    assert_eq!(accept["kind"], "Accept");
    assert_eq!(accept["result"], "IFErr");
    assert_eq!(accept["ex1"], "A11111");
    assert_eq!(accept["version"], "3.01");
    let checkerr = parse("regist_checkerr.eml");
    assert_eq!(
        (checkerr["result"].clone(), checkerr["file_count"].clone()),
        ("CheckErr".into(), 3.into())
    );
    let test = parse("test_accept.eml");
    assert_eq!(test["environment"], "test");
    let delete = parse("deleteregist_nodata.eml");
    assert_eq!(delete["result"], "NoData");
    assert_eq!(delete["cancelled_number"], "13123456780000000000");
    assert_eq!(
        delete["ex1_message_en"],
        "the number to cancel does not exist or is already processed"
    );
    let contact = parse("contact.eml");
    assert_eq!(contact["title"], "３月の請求書締め切りのお知らせ");
    let result = parse("result.eml");
    assert_eq!(
        result["attachments"][0]["name"],
        "131234567820040408160000.lzh"
    );
    let notice = parse("service_notice.eml");
    assert_eq!(
        (notice["kind"].clone(), notice["location"].clone()),
        ("ServiceInfo".into(), "/kaigo/exchangeinfo322".into())
    );
    let upstream = parse("upstream_samplemail.eml");
    assert_eq!(upstream["upstream_kind"], "SampleMail");
}

#[test]
fn builders_refuse_what_the_server_would_refuse() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("TOOLONGNAME.CSV"), claim_csv()).expect("write");
    let out = kx(
        &[
            "denso",
            "datasend",
            "--from",
            "J13123456780@denso.test.kokuho",
            "--number",
            "13123456782026040003",
            "-o",
            "x.eml",
            "TOOLONGNAME.CSV",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("A11101"));
    assert!(!dir.path().join("x.eml").exists());

    let other_org = kx(
        &[
            "denso",
            "datadelete",
            "--from",
            "J13123456780@denso.test.kokuho",
            "--number",
            "13123456782026040004",
            "--cancel",
            "99999999992026040001",
        ],
        dir.path(),
    );
    assert_eq!(other_org.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&other_org.stderr).contains("A11002"));

    let ok = kx(
        &[
            "denso",
            "datadelete",
            "--from",
            "J13123456780@denso.test.kokuho",
            "--number",
            "13123456782026040004",
            "--cancel",
            "13123456782026040001",
        ],
        dir.path(),
    );
    assert!(ok.status.success());
    assert!(stdout(&ok).starts_with("To: transmit@denso.test.kokuho\r\n"));

    kx_ok(
        &[
            "denso",
            "upstream",
            "--from",
            "H00001234560@denso.test.kokuho",
            "--to",
            "info_hanyo@denso.test.kokuho",
            "--name",
            "SampleMail",
            "--unique",
            "00001234562026040001",
            "--param",
            "0001",
            "--body",
            "参考資料を送付します。",
        ],
        dir.path(),
    );
}

#[test]
fn codes_table() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = kx(&["denso", "codes", "--json"], dir.path());
    let table: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    assert!(table.iter().any(|c| c["code"] == "A10101"));
    assert!(
        table
            .iter()
            .all(|c| c["message_ja"].as_str().is_some_and(|m| !m.is_empty()))
    );
}

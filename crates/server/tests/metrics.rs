//! Monitoring end to end: the real `kxd` with its console listener, scraped with `curl` over
//! HTTPS (the installation's CA) and read with the Prometheus project's own parser
//! (`prometheus_client.parser`), while Python's `smtplib` and `poplib` submit, fail to log in
//! and collect.

mod gateway_support;

use std::collections::BTreeMap;
use std::process::Command;

use gateway_support::{Environment, Kxd, OFFICE, claims_csv, data_send, number, summary};
use kx_testkit::Python;
use serde::Deserialize;
use serde_json::json;

/// Seconds between Regist runs: long enough to scrape a DataSend still waiting, short enough
/// to wait for its Regist.
const REGIST_INTERVAL: u64 = 8;

/// One HTTP answer.
struct Answer {
    status: u16,
    content_type: String,
    body: String,
}

/// `GET https://<console>/<path>` with curl, with `Authorization: Bearer <token>` if given.
fn get(kxd: &Kxd, path: &str, token: Option<&str>) -> Answer {
    let mut curl = Command::new("curl");
    curl.args(["-sS", "--max-time", "30", "--cacert"])
        .arg(kxd.installation().ca())
        .args(["-w", "\n%{http_code} %{content_type}"]);
    if let Some(token) = token {
        curl.args(["-H", &format!("Authorization: Bearer {token}")]);
    }
    let output = curl
        .arg(format!("https://{}{path}", kxd.address("console")))
        .output()
        .expect("curl runs");
    assert!(
        output.status.success(),
        "curl {path} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    let (body, trailer) = text.rsplit_once('\n').expect("the trailer");
    let (status, content_type) = trailer.split_once(' ').expect("code and type");
    Answer {
        status: status.parse().expect("a status"),
        content_type: content_type.to_owned(),
        body: body.to_owned(),
    }
}

/// One sample as the Prometheus parser read it.
#[derive(Debug, Deserialize)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A scrape, parsed: each family's type, and every sample.
#[derive(Debug, Deserialize)]
struct Scrape {
    types: BTreeMap<String, String>,
    samples: Vec<Sample>,
    #[serde(skip)]
    text: String,
}

/// The parser's reading of the exposition `text`.
const PARSE: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {"types": {}, "samples": []}
for family in text_string_to_metric_families(sys.stdin.read()):
    out["types"][family.name] = family.type
    for s in family.samples:
        out["samples"].append({"name": s.name, "labels": s.labels, "value": s.value})
print(json.dumps(out))
"#;

impl Scrape {
    /// The sum of the samples called `name` whose labels include `labels` (0 when none: a
    /// counter nothing counted yet is not exposed).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(v))
            })
            .map(|s| s.value)
            .sum()
    }
}

/// `/metrics` with the installation's token, parsed.
fn scrape(kxd: &Kxd) -> Scrape {
    let token = std::fs::read_to_string(kxd.data().join("metrics.token")).expect("the token");
    let answer = get(kxd, "/metrics", Some(token.trim()));
    assert_eq!(
        answer.status,
        200,
        "{}\nkxd log:\n{}",
        answer.body,
        kxd.log()
    );
    assert!(
        answer.content_type.starts_with("text/plain; version=0.0.4"),
        "{}",
        answer.content_type
    );
    let parsed = Python::new(PARSE).venv().stdin(answer.body.clone()).run();
    let mut scrape: Scrape = serde_json::from_str(&parsed).expect("the parser's JSON");
    scrape.text = answer.body;
    scrape
}

#[test]
fn metrics_follow_submissions_regists_and_logins_and_health_answers() {
    let kxd = Kxd::create(Kxd::init(REGIST_INTERVAL, Environment::Production).console());
    let office = kxd.account(&format!("J{OFFICE}1"));

    for path in ["/healthz", "/readyz"] {
        let answer = get(&kxd, path, None);
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (200, "ok\n"),
            "{path}"
        );
    }
    assert_eq!(get(&kxd, "/metrics", None).status, 401);
    assert_eq!(get(&kxd, "/metrics", Some("not-the-token")).status, 401);
    assert_eq!(get(&kxd, "/nothing-here", None).status, 404);

    let before = scrape(&kxd);
    for (family, kind) in [
        ("kx_submissions_waiting", "gauge"),
        ("kx_accounts_locked", "gauge"),
        ("kx_blob_bytes", "gauge"),
    ] {
        assert_eq!(before.types.get(family).map(String::as_str), Some(kind));
    }
    assert_eq!(before.value("kx_submissions_waiting", &[]), 0.0);

    // A wrong password over SMTP and over POP3, then a DataSend.
    assert_eq!(
        kxd.call("smtp_auth", json!([office.id, "not-the-password"])),
        json!(535)
    );
    assert!(
        kxd.call("pop_login", json!([office.id, "not-the-password"]))
            .as_str()
            .is_some_and(|line| line.starts_with("-ERR")),
    );
    let n = number("2026120001");
    let message = data_send(&office, &n, &[("CLAIM01.CSV", &claims_csv(1))]);
    let answers = kxd.send(&office, &[&message]);
    assert_eq!(answers[0].0, 250, "{:?}", answers[0]);

    let sent = scrape(&kxd);
    let moved =
        |name: &str, labels: &[(&str, &str)]| sent.value(name, labels) - before.value(name, labels);
    assert_eq!(
        sent.types.get("kx_messages_accepted").map(String::as_str),
        Some("counter")
    );
    assert_eq!(moved("kx_messages_accepted_total", &[]), 1.0);
    assert_eq!(moved("kx_messages_refused_total", &[]), 0.0);
    let failed = |service| [("service", service), ("outcome", "failed")];
    assert_eq!(moved("kx_logins_total", &failed("smtp")), 1.0);
    assert_eq!(moved("kx_logins_total", &failed("pop3")), 1.0);
    assert_eq!(
        moved("kx_logins_total", &[("service", "smtp"), ("outcome", "ok")]),
        1.0
    );
    assert_eq!(
        sent.value("kx_submissions_waiting", &[]),
        1.0,
        "the DataSend waits for its Regist"
    );
    assert_eq!(sent.value("kx_mailbox_messages", &[]), 1.0, "its Accept");

    let mails = kxd.wait_for(&office, |m| m.len() >= 2);
    assert_eq!(summary(&mails).len(), 2, "{:?}", summary(&mails));
    let registered = scrape(&kxd);
    assert_eq!(
        registered.value("kx_regist_total", &[("outcome", "success")])
            - before.value("kx_regist_total", &[("outcome", "success")]),
        1.0
    );
    assert_eq!(registered.value("kx_submissions_waiting", &[]), 0.0);
    assert_eq!(registered.value("kx_mailbox_messages", &[]), 2.0);
    assert_eq!(
        registered
            .types
            .get("kx_regist_latency_seconds")
            .map(String::as_str),
        Some("histogram")
    );
    assert_eq!(
        registered.value("kx_regist_latency_seconds_count", &[]),
        1.0
    );
    let waited = registered.value("kx_regist_latency_seconds_sum", &[]);
    assert!(
        waited >= REGIST_INTERVAL as f64 - 1.0,
        "a Regist comes after the interval, not {waited} s"
    );

    // Nothing in the exposition names the account, its password, its office or its file.
    for scrape in [&before, &sent, &registered] {
        for secret in [
            office.id.as_str(),
            office.password.as_str(),
            OFFICE,
            n.as_str(),
            "CLAIM01",
            "not-the-password",
        ] {
            assert!(
                !scrape.text.contains(secret),
                "{secret} in the metrics:\n{}",
                scrape.text
            );
        }
    }
}

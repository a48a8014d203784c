//! The SMTP and POP3 clients of `kx denso` against servers this project did not write:
//! Python's `aiosmtpd` (SMTP with STARTTLS and AUTH) and Debian's `dovecot-pop3d` (POP3 with
//! STLS), both on loopback with a certificate made for the test.
//!
//! Runs as root, as `scripts/test` does on CI: dovecot's mail processes run as `nobody`, so the
//! test hands the maildirs to that user.

mod denso_support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

use denso_support::{Client, Helper, free_port, listening};
use kx_denso::Message;
use kx_denso::message::Contact;
use kx_testkit::{Python, TestCa};
use sha2::{Digest as _, Sha256};

const ID: &str = "J13123456780";
const PASSWORD: &str = "interop-Secret1";
const DOMAIN: &str = "denso.test.kokuho";

/// aiosmtpd with STARTTLS required before AUTH on `port`, and one without STARTTLS on
/// `plain_port`; each DATA is written to `out` (bytes as received) and `out.json`.
const AIOSMTPD: &str = r#"
import json, os, ssl, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
port, plain_port, cert, key, user, password, out = sys.argv[1:8]
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)
class Handler:
    async def handle_DATA(self, server, session, envelope):
        with open(out + ".json", "w") as f:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                       "tls": bool(session.ssl), "authenticated": bool(session.authenticated)}, f)
        with open(out + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(out + ".tmp", out)
        return "250 2.0.0 OK"
def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user
          and auth_data.password.decode() == password)
    return AuthResult(success=ok, handled=False)
tls = Controller(Handler(), hostname="127.0.0.1", port=int(port), tls_context=ctx,
                 require_starttls=True, auth_require_tls=True, authenticator=authenticator)
plain = Controller(Handler(), hostname="127.0.0.1", port=int(plain_port),
                   auth_require_tls=False, authenticator=authenticator)
tls.start()
plain.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
"#;

/// A dovecot configuration serving POP3 (STLS required before USER/PASS) on 127.0.0.1:PORT
/// from maildirs under DIR, all files of this test, with the certificate of `ca`.
fn dovecot_config(dir: &Path, port: u16, ca: &TestCa) -> String {
    let d = dir.display();
    let (cert, key) = (ca.chain_file(), ca.key_file());
    let (cert, key) = (cert.display(), key.display());
    format!(
        "base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = pop3
listen = 127.0.0.1
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = yes
auth_mechanisms = plain
auth_username_format = %u
mail_location = maildir:{d}/home/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = static
  args = uid=65534 gid=65534 home={d}/home/%u
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
"
    )
}

/// A Contact whose body has a line starting with a dot: POP3 must stuff and unstuff it.
fn contact(title: &str) -> Vec<u8> {
    Message::Contact(Contact {
        to: format!("{ID}@{DOMAIN}"),
        from: format!("transmit@{DOMAIN}"),
        date: chrono::Local::now().fixed_offset(),
        title: title.to_owned(),
        body: ".で始まる行\n..二つの点\n本文".to_owned(),
        attachments: Vec::new(),
    })
    .to_bytes()
    .expect("a contact")
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn send_to_aiosmtpd_and_fetch_from_dovecot() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let d = dir.path();
    // dovecot's mail processes run as nobody: they must reach the maildirs.
    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let tls = TestCa::new("interop.test");
    std::fs::write(d.join("users"), format!("{ID}:{{PLAIN}}{PASSWORD}\n")).expect("write");
    let maildir = d.join("home").join(ID).join("Maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).expect("mkdir");
    }
    let mails = [contact("一通目のお知らせ"), contact("二通目のお知らせ")];
    for (i, mail) in mails.iter().enumerate() {
        std::fs::write(maildir.join("new").join(format!("100{i}.M1P1.test")), mail).expect("write");
    }
    for entry in walk(&d.join("home")) {
        std::os::unix::fs::chown(&entry, Some(65534), Some(65534)).expect("chown");
    }

    let pop3_port = free_port();
    std::fs::write(d.join("dovecot.conf"), dovecot_config(d, pop3_port, &tls)).expect("write");
    // /usr/sbin is not on every PATH; the Debian package puts it there.
    let program = ["/usr/sbin/dovecot", "dovecot"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("dovecot");
    let mut dovecot = Command::new(program);
    dovecot.arg("-F").arg("-c").arg(d.join("dovecot.conf"));
    let dovecot = Helper::start(dovecot, d.join("dovecot.out"), || listening(pop3_port));

    let (smtp_port, plain_port) = (free_port(), free_port());
    let received = d.join("received.eml");
    let smtpd = Python::new(AIOSMTPD)
        .system()
        .arg(smtp_port.to_string())
        .arg(plain_port.to_string())
        .arg(tls.chain_file())
        .arg(tls.key_file())
        .arg(ID)
        .arg(PASSWORD)
        .arg(&received)
        .command();
    let _smtpd = Helper::start(smtpd, d.join("aiosmtpd.log"), || {
        listening(smtp_port) && listening(plain_port)
    });

    let client = Client::new();
    let smtp = format!("127.0.0.1:{smtp_port}");
    let pop3 = format!("127.0.0.1:{pop3_port}");
    let id = format!("{ID}@{DOMAIN}");
    let ca = tls.ca_file();
    let login = |smtp: &str| {
        client.run(
            &[
                "login",
                "--smtp",
                smtp,
                "--pop3",
                &pop3,
                "--id",
                &id,
                "--ca",
                ca.to_str().expect("utf-8"),
                "--password-stdin",
            ],
            Some(&format!("{PASSWORD}\n")),
            &[],
        )
    };

    // A server without STARTTLS never sees the password.
    let refused = login(&format!("127.0.0.1:{plain_port}"));
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("does not offer STARTTLS"), "{stderr}");

    let out = login(&smtp);
    assert!(
        out.status.success(),
        "login: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        dovecot.log_text()
    );

    // SMTP: the message aiosmtpd received is byte for byte the one kx recorded.
    let csv = denso_support::data_file(1, 0);
    let file = client.file("CLAIM01.CSV", &csv);
    let number = client.ok(&["send", &file]).trim().to_owned();
    let sent = client.run(&["show", "--raw", &number], None, &[]).stdout;
    assert!(
        sent.starts_with(b"To: transmit@"),
        "{}",
        String::from_utf8_lossy(&sent)
    );
    assert_eq!(std::fs::read(&received).expect("aiosmtpd got it"), sent);
    let envelope: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("received.eml.json")).expect("json"))
            .expect("JSON");
    assert_eq!(envelope["from"], id.as_str());
    assert_eq!(
        envelope["to"],
        serde_json::json!([format!("transmit@{DOMAIN}")])
    );
    assert_eq!(envelope["tls"], true);
    assert_eq!(envelope["authenticated"], true);

    // POP3: both messages retrieved intact (dot-stuffed lines included), then deleted.
    let fetched = client.json(&["fetch"]);
    assert_eq!(
        fetched["on_server"],
        2,
        "{fetched:#}\n{}",
        dovecot.log_text()
    );
    assert_eq!(fetched["fetched"], 2, "{fetched:#}");
    let inbox = client.json(&["inbox"]);
    let inbox = inbox.as_array().expect("array");
    assert_eq!(inbox.len(), 2);
    for (stored, original) in inbox.iter().zip(&mails) {
        assert_eq!(stored["sha256"], sha256_hex(original).as_str());
        assert_eq!(stored["body"], ".で始まる行\n..二つの点\n本文");
    }
    assert_eq!(inbox[0]["title"], "一通目のお知らせ");
    for sub in ["new", "cur"] {
        let left: Vec<_> = std::fs::read_dir(maildir.join(sub)).expect("dir").collect();
        assert!(left.is_empty(), "{sub} still holds {left:?}");
    }
    assert_eq!(client.json(&["fetch"])["on_server"], 0);
}

fn walk(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![root.to_owned()];
    if root.is_dir() {
        for entry in std::fs::read_dir(root).expect("dir").flatten() {
            out.extend(walk(&entry.path()));
        }
    }
    out
}

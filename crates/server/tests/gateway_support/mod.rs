//! Fixture for the end-to-end tests of the 伝送 gateway: the real `kxd` binary in a temporary
//! data directory, driven by Python's `smtplib` and `poplib`, its replies read by Python's
//! `email` package (see `prelude.py`). Client messages are built with `kx_denso`, as the `kx`
//! client builds them.
#![allow(dead_code, unreachable_pub)] // each test uses a different part

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kx_denso::Mailbox;
use kx_denso::message::{Attachment, DataDelete, DataSend, Message, Upstream};
use kx_testkit::{Init, Installation, Python, Server};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

pub(crate) use kx_testkit::Environment;

/// The federation's mail domain of every installation here.
pub(crate) const DOMAIN: &str = "denso.test.kokuho";
/// The office (事業所) every installation has; its IDs are `J<OFFICE><0-9>`, `…0` the master.
pub(crate) const OFFICE: &str = "1312345678";
/// Where DataSends and DataDeletes go.
pub(crate) const TRANSMIT: &str = "transmit@denso.test.kokuho";

/// How long a test waits for a reply the server owes before it fails.
const REPLY_DEADLINE: Duration = Duration::from_secs(30);

/// An account (ID) and the password the fixture gave it.
pub(crate) struct Account {
    pub(crate) id: String,
    pub(crate) password: String,
}

impl Account {
    /// `ID@DOMAIN`.
    pub(crate) fn address(&self) -> String {
        format!("{}@{DOMAIN}", self.id)
    }
}

/// The server's answer to one mail transaction: the SMTP reply code and text.
#[derive(Debug, Deserialize)]
pub(crate) struct Answer(pub(crate) u16, pub(crate) String);

/// One installation made by `kxd init` (office [`OFFICE`] added), served by a real `kxd`.
/// The server sits behind a lock so that a shared installation in a static can be restarted.
pub(crate) struct Kxd {
    server: Mutex<Option<Server>>,
    installation: Installation,
}

impl Kxd {
    /// Initialises an installation whose Regist job runs every `regist_interval` seconds,
    /// adds the office, and serves it.
    pub(crate) fn start(regist_interval: u64, environment: Environment) -> Kxd {
        Kxd::start_with(regist_interval, environment, &[])
    }

    /// As [`Kxd::start`], with lines of `kxd.toml` replaced first: `(line, with)` pairs as
    /// `kx_testkit::Init::setting` takes them.
    pub(crate) fn start_with(
        regist_interval: u64,
        environment: Environment,
        settings: &[(&str, &str)],
    ) -> Kxd {
        Kxd::create(Kxd::init(regist_interval, environment).settings(settings))
    }

    /// The `kxd init` of [`Kxd::start`], for tests that add options (another listener).
    pub(crate) fn init(regist_interval: u64, environment: Environment) -> Init {
        Installation::init(env!("CARGO_BIN_EXE_kxd"), DOMAIN)
            .regist_interval(regist_interval)
            .environment(environment)
            // Failed logins here test answers and lock-out, not the per-source penalty
            // (hostile_logins.rs does).
            .setting("login_penalty = 1", "login_penalty = 0")
    }

    /// Creates the installation `init` describes, adds the office and serves it.
    pub(crate) fn create(init: Init) -> Kxd {
        let installation = init.create();
        installation.add_office_org(OFFICE);
        Kxd::serving(installation)
    }

    /// Serves an installation made otherwise (a clock, other settings); it must hold the
    /// office [`OFFICE`].
    pub(crate) fn serving(installation: Installation) -> Kxd {
        Kxd {
            server: Mutex::new(Some(installation.serve())),
            installation,
        }
    }

    /// The installation, for the operator's commands testkit names.
    pub(crate) fn installation(&self) -> &Installation {
        &self.installation
    }

    /// The data directory.
    pub(crate) fn data(&self) -> &Path {
        self.installation.data()
    }

    /// `DIR/handoff/<number>`: where an accepted submission is handed to the review system.
    pub(crate) fn handoff(&self, number: &str) -> PathBuf {
        self.data().join("handoff").join(number)
    }

    /// Runs `kxd admin --data DIR <args>` (beside the running server, as an operator does);
    /// returns what it printed.
    pub(crate) fn admin<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.installation.admin(args)
    }

    /// Adds the account `id` (its organisation must exist) with a password of its own.
    pub(crate) fn account(&self, id: &str) -> Account {
        let password = format!("pw-{id}-secret");
        self.installation.add_account(id, &password);
        Account {
            id: id.to_owned(),
            password,
        }
    }

    /// Serves the installation again, keeping its data: after the server was killed (then
    /// stopping it only reaps it), or stopping it first.
    pub(crate) fn restart(&self) {
        let mut server = self.server.lock().expect("not poisoned");
        if let Some(running) = server.take() {
            running.stop();
        }
        *server = Some(self.installation.serve());
    }

    /// The bound SMTP and POP3 ports, and the server's pid.
    fn served(&self) -> (u16, u16, u32) {
        let server = self.server.lock().expect("not poisoned");
        let server = server.as_ref().expect("kxd is serving");
        (server.port("smtp"), server.port("pop3"), server.pid())
    }

    /// The bound address (`host:port`) of the listener `name`.
    pub(crate) fn address(&self, name: &str) -> String {
        let server = self.server.lock().expect("not poisoned");
        server
            .as_ref()
            .expect("kxd is serving")
            .address(name)
            .to_owned()
    }

    /// The bound SMTP and POP3 ports, for clients other than the Python prelude's.
    pub(crate) fn ports(&self) -> (u16, u16) {
        let (smtp, pop3, _) = self.served();
        (smtp, pop3)
    }

    /// What the server logged so far.
    pub(crate) fn log(&self) -> String {
        self.installation.log()
    }

    /// Runs `script` after `prelude.py` with this server's ports, CA and pid; returns the
    /// JSON of the `out` object it fills.
    pub(crate) fn python(&self, script: &str) -> Value {
        let (smtp, pop3, pid) = self.served();
        self.python_on(smtp, pop3, pid, script)
    }

    /// [`Kxd::python`] with the SMTP and POP3 ports `smtp` and `pop3` (a load balancer's).
    pub(crate) fn python_on(&self, smtp: u16, pop3: u16, pid: u32, script: &str) -> Value {
        let program = format!(
            "{}\n{script}\nprint(json.dumps(out))\n",
            include_str!("prelude.py")
        );
        let output = Python::new(program)
            .arg(smtp.to_string())
            .arg(pop3.to_string())
            .arg(self.installation.ca())
            .arg(pid.to_string())
            .output();
        assert!(
            output.status.success(),
            "python failed:\n{}\nkxd log:\n{}",
            String::from_utf8_lossy(&output.stderr),
            self.log()
        );
        serde_json::from_slice(&output.stdout).expect("the script printed JSON")
    }

    /// Calls the prelude's `function` with `args` (a JSON array, which is also a Python
    /// literal as long as it holds only strings, numbers and arrays); returns its result.
    pub(crate) fn call(&self, function: &str, args: Value) -> Value {
        self.python(&format!("out['result'] = {function}(*{args})"))
            .get_mut("result")
            .map(Value::take)
            .expect("a result")
    }

    /// Submits each message in one SMTP session logged in as `account`, with the envelope
    /// `MAIL FROM:<sender>` `RCPT TO:<to>`; the server's answer to each.
    pub(crate) fn send_from(
        &self,
        account: &Account,
        sender: &str,
        to: &str,
        messages: &[&[u8]],
    ) -> Vec<Answer> {
        let envelopes: Vec<Value> = messages
            .iter()
            .map(|m| json!([sender, to, base64(m)]))
            .collect();
        let answers = self.call("send", json!([account.id, account.password, envelopes]));
        serde_json::from_value(answers).expect("answers")
    }

    /// Submits each message from `account`'s own address to the transmit address, as
    /// [`Kxd::send_from`].
    pub(crate) fn send(&self, account: &Account, messages: &[&[u8]]) -> Vec<Answer> {
        self.send_from(account, &account.address(), TRANSMIT, messages)
    }

    /// Every message in `account`'s mailbox, oldest first, read over POP3 (nothing deleted).
    /// Each must also be a 伝送 message the project's own parser reads.
    pub(crate) fn mailbox(&self, account: &Account) -> Vec<Mail> {
        let mails = self.call("mailbox", json!([account.id, account.password]));
        let mails: Vec<Mail> = serde_json::from_value(mails).expect("mails");
        for mail in &mails {
            if let Err(e) = Message::parse(&mail.raw) {
                panic!(
                    "unreadable reply ({e}):\n{}",
                    String::from_utf8_lossy(&mail.raw)
                );
            }
        }
        mails
    }

    /// Polls `account`'s mailbox until `done` holds for it; fails after [`REPLY_DEADLINE`].
    pub(crate) fn wait_for(&self, account: &Account, done: impl Fn(&[Mail]) -> bool) -> Vec<Mail> {
        let started = Instant::now();
        loop {
            let mails = self.mailbox(account);
            if done(&mails) {
                return mails;
            }
            assert!(
                started.elapsed() < REPLY_DEADLINE,
                "{} still holds only {:?}\nkxd log:\n{}",
                account.id,
                summary(&mails),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Polls until `account` holds the reply `subject` about `number`; returns the mailbox.
    pub(crate) fn wait_for_reply(
        &self,
        account: &Account,
        subject: &str,
        number: &str,
    ) -> Vec<Mail> {
        self.wait_for(account, |m| !replies(m, subject, number).is_empty())
    }
}

/// A message as Python's `email` package read it from the mailbox.
#[derive(Deserialize)]
pub(crate) struct Mail {
    /// The bytes as retrieved.
    #[serde(deserialize_with = "from_base64")]
    pub(crate) raw: Vec<u8>,
    /// Every header, unfolded.
    pub(crate) headers: BTreeMap<String, String>,
    /// The top-level content type, e.g. `multipart/mixed`.
    pub(crate) content_type: String,
    /// The first text part, decoded with its charset, LF line ends.
    pub(crate) body: Option<String>,
    /// The parts with a file name, decoded.
    pub(crate) attachments: Vec<Attached>,
}

/// One attachment of a [`Mail`].
#[derive(Deserialize)]
pub(crate) struct Attached {
    pub(crate) name: String,
    #[serde(deserialize_with = "from_base64")]
    pub(crate) data: Vec<u8>,
    /// A `.txt` attachment decoded from Shift_JIS.
    pub(crate) text: Option<String>,
    /// What a TransmitInfo.txt says.
    pub(crate) transmit_info: Option<TransmitInfo>,
}

/// The content of a TransmitInfo.txt (spec §6.3) as Python's XML parser read it.
#[derive(Deserialize)]
pub(crate) struct TransmitInfo {
    /// Each 受付情報: element name → value.
    pub(crate) receipts: Vec<BTreeMap<String, String>>,
    /// How many エラー情報.
    pub(crate) errors: usize,
}

/// Binary data as the Python side exchanges it.
pub(crate) fn base64(data: &[u8]) -> String {
    STANDARD.encode(data)
}

fn from_base64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    let text = String::deserialize(deserializer)?;
    STANDARD.decode(text).map_err(serde::de::Error::custom)
}

impl Mail {
    /// A header's unfolded value.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The Subject.
    pub(crate) fn subject(&self) -> &str {
        self.header("Subject").unwrap_or_default()
    }

    /// X-IFArea, unfolded and trimmed around commas.
    pub(crate) fn if_area(&self) -> &str {
        self.header("X-IFArea").unwrap_or_default()
    }

    /// Whether this is the reply `subject` about transmission `number`.
    pub(crate) fn answers(&self, subject: &str, number: &str) -> bool {
        self.subject() == subject && self.if_area().starts_with(&format!("{number},"))
    }

    /// The names of the extension headers (`X-Ex1-IFArea` …) it carries.
    pub(crate) fn extension_headers(&self) -> Vec<&str> {
        self.headers
            .keys()
            .map(String::as_str)
            .filter(|name| name.starts_with("X-Ex"))
            .collect()
    }

    /// The attachment called `name`, if any.
    pub(crate) fn attachment(&self, name: &str) -> Option<&Attached> {
        self.attachments.iter().find(|a| a.name == name)
    }
}

/// The replies `subject` about `number` among `mails`.
pub(crate) fn replies<'a>(mails: &'a [Mail], subject: &str, number: &str) -> Vec<&'a Mail> {
    mails
        .iter()
        .filter(|m| m.answers(subject, number))
        .collect()
}

/// The one reply `subject` about `number` among `mails`.
pub(crate) fn reply<'a>(mails: &'a [Mail], subject: &str, number: &str) -> &'a Mail {
    match replies(mails, subject, number).as_slice() {
        [one] => one,
        _ => panic!("not one {subject} for {number}: {:?}", summary(mails)),
    }
}

/// Subject and X-IFArea of each mail, for failure messages.
pub(crate) fn summary(mails: &[Mail]) -> Vec<String> {
    mails
        .iter()
        .map(|m| format!("{} [{}]", m.subject(), m.if_area()))
        .collect()
}

/// Python that binds `user, password, sender, to, message` for `account` submitting
/// `message` to the transmit address: for scripts that drive `smtplib` step by step.
pub(crate) fn submission_variables(account: &Account, message: &[u8]) -> String {
    let values = json!([
        account.id,
        account.password,
        account.address(),
        TRANSMIT,
        base64(message)
    ]);
    format!("user, password, sender, to, message = {values}\n")
}

/// A 伝送整理番号 of the office: its 識別番号 and the 10-character `serial`.
pub(crate) fn number(serial: &str) -> String {
    format!("{OFFICE}{serial}")
}

/// A data file the reference checker passes without a remark: the control record, `claims`
/// 7111 請求書 records with all 18 items valid, the end record; CRLF after each.
pub(crate) fn claims_csv(claims: usize) -> Vec<u8> {
    let mut records = vec![format!("1,1,0,{claims},711,0,0,{OFFICE},0,7,202604,1")];
    for n in 0..claims {
        records.push(format!(
            "2,{},7111,202604,{OFFICE},1,00,01,1,{},10000,9000,0,1000,0,0,0,0,0,0",
            n + 2,
            1000 + n
        ));
    }
    records.push(format!("3,{}", claims + 2));
    records
        .iter()
        .flat_map(|r| format!("{r}\r\n").into_bytes())
        .collect()
}

fn attachments(files: &[(&str, &[u8])]) -> Vec<Attachment> {
    files
        .iter()
        .map(|(name, data)| Attachment::new(*name, *data))
        .collect()
}

fn now() -> chrono::DateTime<chrono::FixedOffset> {
    chrono::Local::now().fixed_offset()
}

/// A `Transmit DataSend` from `from` carrying `files`.
pub(crate) fn data_send(from: &Account, number: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
    Message::DataSend(DataSend {
        from: Mailbox::new(from.address()),
        to: Mailbox::new(TRANSMIT),
        date: now(),
        number: number.parse().expect("a transmission number"),
        files: attachments(files),
    })
    .to_bytes()
    .expect("a DataSend builds")
}

/// A `Transmit DataDelete` from `from` cancelling `cancel`.
pub(crate) fn data_delete(from: &Account, number: &str, cancel: &str) -> Vec<u8> {
    Message::DataDelete(DataDelete {
        from: Mailbox::new(from.address()),
        to: Mailbox::new(TRANSMIT),
        date: now(),
        number: number.parse().expect("a transmission number"),
        cancel: cancel.parse().expect("a transmission number"),
    })
    .to_bytes()
    .expect("a DataDelete builds")
}

/// An upstream notice `Transmit <kind>` from `from` to `to`.
pub(crate) fn upstream(
    from: &Account,
    to: &str,
    kind: &str,
    unique: &str,
    files: &[(&str, &[u8])],
) -> Vec<u8> {
    Message::Upstream(Upstream {
        from: Mailbox::new(from.address()),
        to: Mailbox::new(to),
        date: now(),
        kind: kind.to_owned(),
        unique: unique.to_owned(),
        parameter: None,
        body: String::new(),
        files: attachments(files),
    })
    .to_bytes()
    .expect("an upstream notice builds")
}

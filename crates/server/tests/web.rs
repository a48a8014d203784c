//! End-to-end tests of the web password-change page: the real `kxd` binary (`kxd init --https
//! 127.0.0.1:0`, `kxd admin`, `kxd serve`), driven by curl over HTTPS with a cookie jar, and by
//! Python's `smtplib` to see which password the gateway accepts afterwards.

use std::path::{Path, PathBuf};
use std::process::Command;

use kx_testkit::office::{DOMAIN, MASTER_ID as ID, MASTER_PASSWORD as PASSWORD, OFFICE};
use kx_testkit::{Installation, Python, Server};

/// A served installation with the office and its master account.
struct Kxd {
    _server: Server,
    installation: Installation,
    smtp: u16,
    https: u16,
}

impl Kxd {
    /// `kxd init` with an HTTPS listener, at most `attempts` password-change submissions per
    /// minute and address, then `kxd serve`.
    fn start(attempts: u32) -> Kxd {
        let installation = Installation::init(env!("CARGO_BIN_EXE_kxd"), DOMAIN)
            .https()
            // Failed logins here test the page, not the per-source penalty (hostile_logins.rs
            // does).
            .setting("login_penalty = 1", "login_penalty = 0")
            .setting(
                "web_attempts_per_minute = 10",
                &format!("web_attempts_per_minute = {attempts}"),
            )
            .create();
        installation.add_office_org(OFFICE);
        installation.add_account(ID, PASSWORD);
        let server = installation.serve();
        Kxd {
            smtp: server.port("smtp"),
            https: server.port("https"),
            _server: server,
            installation,
        }
    }

    fn data(&self) -> &Path {
        self.installation.data()
    }

    fn log(&self) -> String {
        self.installation.log()
    }

    fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.https)
    }

    /// A client with an empty cookie jar.
    fn browser(&self, name: &str) -> Browser<'_> {
        Browser {
            kxd: self,
            jar: self.data().join(format!("{name}.cookies")),
            token: String::new(),
        }
    }

    /// `kxd admin --data DIR <args>`, beside the running server.
    fn admin(&self, args: &[&str]) {
        self.installation.admin(args);
    }

    /// The outcomes of the audit entries `action`, sorted.
    fn audit(&self, action: &str) -> Vec<String> {
        let output = self.installation.sql(&format!(
            "SELECT outcome FROM audit_log WHERE action = '{action}' ORDER BY outcome"
        ));
        output.lines().map(str::to_owned).collect()
    }

    /// Whether the gateway accepts `password` for [`ID`] (SMTP, STARTTLS, AUTH).
    fn smtp_login(&self, password: &str) -> bool {
        let script = r#"
import smtplib, ssl, sys
port, ca, user, password = sys.argv[1:]
s = smtplib.SMTP('127.0.0.1', int(port), timeout=30)
s.starttls(context=ssl.create_default_context(cafile=ca))
try:
    s.login(user, password)
    print('ok')
except smtplib.SMTPAuthenticationError:
    print('refused')
try:
    s.quit()
except Exception:
    pass
"#;
        let output = Python::new(script)
            .arg(self.smtp.to_string())
            .arg(self.installation.ca())
            .arg(ID)
            .arg(password)
            .output();
        let answer = String::from_utf8_lossy(&output.stdout);
        match answer.trim() {
            "ok" => true,
            "refused" => false,
            _ => panic!(
                "smtplib failed: {}\nkxd log:\n{}",
                String::from_utf8_lossy(&output.stderr),
                self.log()
            ),
        }
    }
}

/// One HTTP answer as curl saw it.
#[derive(Debug)]
struct Page {
    status: u16,
    /// Header lines, names lower-cased: `name: value`.
    headers: Vec<String>,
    body: String,
}

impl Page {
    fn header(&self, name: &str) -> Option<&str> {
        let prefix = format!("{name}: ");
        self.headers
            .iter()
            .find_map(|line| line.strip_prefix(&prefix))
    }

    /// The hidden CSRF field of the form.
    fn token(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).expect("the form has a CSRF field") + marker.len();
        let end = self.body[start..].find('"').expect("a closing quote");
        self.body[start..start + end].to_owned()
    }

    fn says(&self, text: &str) -> bool {
        self.body.contains(text)
    }
}

/// curl with a cookie jar, remembering the CSRF token of the last form it got.
struct Browser<'a> {
    kxd: &'a Kxd,
    jar: PathBuf,
    token: String,
}

impl Browser<'_> {
    fn curl(&self, args: &[&str]) -> Page {
        let output = Command::new("curl")
            .args(["-sS", "-i", "--max-time", "30", "--cacert"])
            .arg(self.kxd.data().join("tls/ca.pem"))
            .arg("-c")
            .arg(&self.jar)
            .arg("-b")
            .arg(&self.jar)
            .args(args)
            .output()
            .expect("curl runs");
        assert!(
            output.status.success(),
            "curl {args:?} failed: {}\nkxd log:\n{}",
            String::from_utf8_lossy(&output.stderr),
            self.kxd.log()
        );
        let text = String::from_utf8(output.stdout).expect("UTF-8");
        let (head, body) = text.split_once("\r\n\r\n").expect("headers, then a body");
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .expect("a status line");
        let headers = lines
            .map(|line| match line.split_once(": ") {
                Some((name, value)) => format!("{}: {value}", name.to_ascii_lowercase()),
                None => line.to_owned(),
            })
            .collect();
        Page {
            status,
            headers,
            body: body.to_owned(),
        }
    }

    /// `GET /password`; remembers the form's token.
    fn open(&mut self) -> Page {
        let page = self.curl(&[&self.kxd.url("/password")]);
        assert_eq!(page.status, 200, "{page:?}");
        self.token = page.token();
        page
    }

    /// Submits the form with the remembered token (if any) and `fields`, plus extra curl
    /// arguments; remembers the token of the form that comes back.
    fn submit(&mut self, fields: &[(&str, &str)], extra: &[&str]) -> Page {
        let mut args: Vec<String> = extra.iter().map(|a| (*a).to_owned()).collect();
        let mut all = vec![("csrf", self.token.clone())];
        all.extend(fields.iter().map(|(n, v)| (*n, (*v).to_owned())));
        for (name, value) in all {
            args.push("--data-urlencode".to_owned());
            args.push(format!("{name}={value}"));
        }
        args.push(self.kxd.url("/password"));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let page = self.curl(&args);
        if page.body.contains("name=\"csrf\"") {
            self.token = page.token();
        }
        page
    }

    /// Submits a password change for [`ID`].
    fn change(&mut self, current: &str, new: &str, confirm: &str) -> Page {
        self.submit(
            &[
                ("id", ID),
                ("current", current),
                ("new", new),
                ("confirm", confirm),
            ],
            &[],
        )
    }
}

const CREDENTIALS: &str = "IDまたはパスワードが正しくありません。";
const FORBIDDEN: &str = "フォームが無効です";
const DONE: &str = "パスワードを変更しました。";

/// No page may ever contain a password that was typed into the form.
fn assert_no_password(page: &Page, passwords: &[&str]) {
    for password in passwords {
        assert!(!page.body.contains(password), "{password} echoed: {page:?}");
    }
}

#[test]
fn a_password_changed_on_the_web_page_applies_to_the_next_smtp_login() {
    let kxd = Kxd::start(100);
    let mut browser = kxd.browser("main");

    // The form: its labels, a token in a hidden field and in a strict cookie, safe headers.
    let form = browser.open();
    for label in ["ID", "現在のパスワード", "新しいパスワード", "確認"] {
        assert!(form.says(label), "{label}: {form:?}");
    }
    assert_eq!(browser.token.len(), 64);
    assert_eq!(
        form.header("set-cookie"),
        Some(
            format!(
                "kx_csrf={}; Secure; HttpOnly; SameSite=Strict; Path=/password",
                browser.token
            )
            .as_str()
        )
    );
    for (name, value) in [
        (
            "content-security-policy",
            "default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'",
        ),
        ("x-frame-options", "DENY"),
        ("cache-control", "no-store"),
        ("referrer-policy", "same-origin"),
    ] {
        assert_eq!(form.header(name), Some(value), "{name}");
    }
    assert!(form.header("strict-transport-security").is_some());
    let missing = browser.curl(&[&kxd.url("/nothing")]);
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("x-frame-options"), Some("DENY"));

    // CSRF: no cookie and no token; a token without its cookie; the cookie with another
    // token; a foreign Origin; a body that is not a form. All 403, nothing changed.
    let good_new = "Fresh-Passw0rd!";
    let change = [
        ("id", ID),
        ("current", PASSWORD),
        ("new", good_new),
        ("confirm", good_new),
    ];
    let mut stranger = kxd.browser("stranger");
    let page = stranger.submit(&change, &[]);
    assert_eq!(page.status, 403, "no cookie, no token: {page:?}");
    assert!(page.says(FORBIDDEN));
    stranger.token = browser.token.clone();
    let page = stranger.submit(&change, &[]);
    assert_eq!(page.status, 403, "a token without its cookie: {page:?}");

    // Each refusal sets a fresh cookie and token, so the next check below fails on its own.
    browser.open();
    browser.token = "0".repeat(64);
    let page = browser.submit(&change, &[]);
    assert_eq!(page.status, 403, "another token: {page:?}");

    let page = browser.submit(&change, &["-H", "Origin: https://evil.example"]);
    assert_eq!(page.status, 403, "a foreign origin: {page:?}");
    let page = browser.submit(&change, &["-H", "Content-Type: text/plain"]);
    assert_eq!(page.status, 403, "not a form: {page:?}");
    assert_no_password(&page, &[PASSWORD, good_new]);

    // Wrong credentials: one message for a wrong password and an unknown ID.
    browser.open();
    let page = browser.change("Wrong-Passw0rd!", good_new, good_new);
    assert_eq!(page.status, 200);
    assert!(page.says(CREDENTIALS), "{page:?}");
    assert_no_password(&page, &["Wrong-Passw0rd!", good_new]);
    let page = browser.submit(
        &[
            ("id", "J13123456789"),
            ("current", PASSWORD),
            ("new", good_new),
            ("confirm", good_new),
        ],
        &[],
    );
    assert!(page.says(CREDENTIALS), "unknown ID: {page:?}");

    // The policy: each violation its own message.
    for (new, confirm, message) in [
        ("Aa1!short", "Aa1!short", "10文字以上64文字以下"),
        ("alllowercase12", "alllowercase12", "3種類以上"),
        ("x-J13123456780-Y", "x-J13123456780-Y", "IDを含めないで"),
        (
            good_new,
            "Fresh-Passw0rd?",
            "確認用のパスワードが一致しません",
        ),
    ] {
        let page = browser.change(PASSWORD, new, confirm);
        assert_eq!(page.status, 200, "{new}");
        assert!(page.says(message), "{new}: {page:?}");
        assert!(!page.says(DONE));
        assert_no_password(&page, &[PASSWORD, new, confirm]);
    }

    // Nothing so far changed the password.
    assert!(kxd.smtp_login(PASSWORD), "the old password still works");
    assert!(!kxd.smtp_login(good_new));

    // The change itself, then the gateway takes only the new password.
    let origin = format!("Origin: https://127.0.0.1:{}", kxd.https);
    let page = browser.submit(&change, &["-H", &origin]);
    assert_eq!(page.status, 200);
    assert!(page.says(DONE), "{page:?}");
    assert_no_password(&page, &[PASSWORD, good_new]);
    assert!(kxd.smtp_login(good_new), "the new password works");
    assert!(!kxd.smtp_login(PASSWORD), "the old one no longer does");

    // A locked account gets the message of a wrong password, even with the right one.
    kxd.admin(&["account", "lock", "--id", ID]);
    let page = browser.change(good_new, "Other-Passw0rd!", "Other-Passw0rd!");
    assert!(page.says(CREDENTIALS), "locked: {page:?}");
    kxd.admin(&["account", "unlock", "--id", ID]);
    assert!(
        kxd.smtp_login(good_new),
        "the locked attempt changed nothing"
    );

    // The audit log holds each attempt.
    assert_eq!(
        kxd.audit("web.password"),
        ["classes", "contains-id", "length", "mismatch", "ok"]
    );
    let logins = kxd.audit("web.login");
    assert!(logins.contains(&"wrong-password".to_owned()), "{logins:?}");
    assert!(logins.contains(&"unknown-account".to_owned()), "{logins:?}");
    assert!(logins.contains(&"locked".to_owned()), "{logins:?}");

    // No password reached the log.
    let log = kxd.log();
    for password in [PASSWORD, good_new, "Wrong-Passw0rd!"] {
        assert!(!log.contains(password), "{password} logged:\n{log}");
    }
}

#[test]
fn the_page_is_https_only_and_attempts_are_rate_limited() {
    let kxd = Kxd::start(2);

    // Plain HTTP to the HTTPS port gets no HTTP answer.
    let plain = Command::new("curl")
        .args(["-sS", "-i", "--max-time", "10"])
        .arg(format!("http://127.0.0.1:{}/password", kxd.https))
        .output()
        .expect("curl runs");
    assert!(!plain.status.success(), "{plain:?}");
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("HTTP/1"));

    let mut browser = kxd.browser("limited");
    browser.open();
    for _ in 0..2 {
        let page = browser.change("Wrong-Passw0rd!", "Fresh-Passw0rd!", "Fresh-Passw0rd!");
        assert_eq!(page.status, 200);
        assert!(page.says(CREDENTIALS));
    }
    let page = browser.change(PASSWORD, "Fresh-Passw0rd!", "Fresh-Passw0rd!");
    assert_eq!(page.status, 429, "{page:?}");
    assert!(page.says("試行回数が多すぎます"));
    assert!(
        kxd.smtp_login(PASSWORD),
        "the limited attempt changed nothing"
    );
}

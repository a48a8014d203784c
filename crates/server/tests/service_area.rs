//! End-to-end tests of the read-only download area of service notices: the real `kxd`
//! (`kxd init --ftp --https`, `kxd admin service publish`, `kxd serve`), read by curl over
//! FTPS and HTTPS and by Python's `ftplib.FTP_TLS`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use kx_testkit::office::{DOMAIN, MASTER_ID as ID, MASTER_PASSWORD as PASSWORD, OFFICE};
use kx_testkit::{Installation, Python, Server, files_under};

/// The other organisation: an insurer, whose folder the office must not see.
const INSURER: &str = "131011";
const INSURER_CODE: &str = "0000131011";
const INSURER_ID: &str = "H00001310110";
const INSURER_PASSWORD: &str = "pw-H00001310110-secret";
/// A second ID of the office, locked through SMTP.
const SECOND_ID: &str = "J13123456781";
const SECOND_PASSWORD: &str = "pw-J13123456781-secret";

const LOCATION: &str = "/kaigo/exchangeinfo322";
const DATA: &[u8] = b"1,1,0,1,999,0,0,1312345678,0,4,202604,1\r\n3,2\r\n";

struct Kxd {
    server: Server,
    installation: Installation,
}

impl Kxd {
    /// An installation with FTPS and HTTPS, the office (two IDs) and the insurer, a file
    /// published for each organisation.
    fn start() -> Kxd {
        let installation = Installation::init(env!("CARGO_BIN_EXE_kxd"), DOMAIN)
            .https()
            .ftp()
            .setting("login_penalty = 1", "login_penalty = 0")
            .create();
        installation.add_office_org(OFFICE);
        installation.add_account(ID, PASSWORD);
        installation.add_account(SECOND_ID, SECOND_PASSWORD);
        installation.admin(["org", "add", "--kind", "insurer", "--number", INSURER]);
        installation.add_account(INSURER_ID, INSURER_PASSWORD);
        let office_file = installation.data().join("KX000001.CSV");
        std::fs::write(&office_file, DATA).expect("write");
        let out = installation.admin([
            "service",
            "publish",
            "--org",
            OFFICE,
            "--location",
            LOCATION,
            office_file.to_str().expect("utf-8"),
        ]);
        assert!(
            out.contains(&format!("published {LOCATION}/KX000001.CSV")),
            "{out}"
        );
        assert!(out.contains(&format!("X-IFArea: {LOCATION}")), "{out}");
        let insurer_file = installation.data().join("SECRET.CSV");
        std::fs::write(&insurer_file, b"insurer only\r\n").expect("write");
        installation.admin([
            "service",
            "publish",
            "--org",
            INSURER,
            "--location",
            "/private",
            insurer_file.to_str().expect("utf-8"),
        ]);
        let server = installation.serve();
        Kxd {
            server,
            installation,
        }
    }

    /// Every file of the download area with its contents.
    fn area(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let root = self.installation.data().join("service");
        files_under(&root)
            .into_iter()
            .map(|path| {
                let data = std::fs::read(&path).expect("readable");
                (path.strip_prefix(&root).expect("below").to_owned(), data)
            })
            .collect()
    }

    fn ftp_url(&self, path: &str) -> String {
        format!("ftp://{}{path}", self.server.address("ftp"))
    }

    fn https_url(&self, path: &str) -> String {
        format!("https://{}{path}", self.server.address("https"))
    }

    /// The outcomes of the audit entries `action` with their object, sorted.
    fn audit(&self, action: &str) -> Vec<String> {
        self.installation
            .sql(&format!(
                "SELECT actor, object, outcome FROM audit_log WHERE action = '{action}' \
                 ORDER BY object, outcome"
            ))
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Asserts that the audit entries `action` include each of `entries`.
    fn audited(&self, action: &str, entries: &[String]) {
        let found = self.audit(action);
        for entry in entries {
            assert!(found.contains(entry), "no {entry} in {action}: {found:?}");
        }
    }

    /// Runs an `ftplib` script with `port`, `ca` and the helpers below defined (the SMTP port
    /// is `sys.argv[3]`); returns the JSON object it leaves in `out`.
    fn ftplib(&self, body: &str) -> serde_json::Value {
        let script = format!(
            r#"
import ftplib, io, json, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
out = {{}}
def connect():
    ftp = ftplib.FTP_TLS(context=ssl.create_default_context(cafile=ca), timeout=30)
    ftp.connect('127.0.0.1', port)
    return ftp
def attempt(f):
    try:
        return 'ok: ' + str(f())
    except ftplib.all_errors as e:
        return 'error: ' + str(e)
def fetch(ftp, path):
    data = io.BytesIO()
    ftp.retrbinary('RETR ' + path, data.write)
    return data.getvalue().decode()
{body}
print(json.dumps(out))
"#
        );
        let output = Python::new(script)
            .arg(self.server.port("ftp").to_string())
            .arg(self.installation.ca())
            .arg(self.server.port("smtp").to_string())
            .output();
        assert!(
            output.status.success(),
            "ftplib failed: {}\nkxd log:\n{}",
            String::from_utf8_lossy(&output.stderr),
            self.installation.log()
        );
        serde_json::from_slice(&output.stdout).expect("JSON from the script")
    }
}

/// Runs curl with `args`; returns its exit code and standard output.
fn curl(args: &[&str]) -> (i32, Vec<u8>) {
    let output = Command::new("curl")
        .args(["-sS", "--max-time", "30"])
        .args(args)
        .output()
        .expect("curl runs");
    (output.status.code().unwrap_or(-1), output.stdout)
}

fn ca(kxd: &Kxd) -> String {
    kxd.installation.ca().display().to_string()
}

#[test]
fn curl_lists_and_downloads_over_ftps_and_plain_ftp_is_refused() {
    let kxd = Kxd::start();
    let user = format!("{ID}:{PASSWORD}");
    let ca = ca(&kxd);
    let (code, listing) = curl(&[
        "--ssl-reqd",
        "--cacert",
        &ca,
        "-u",
        &user,
        &kxd.ftp_url(&format!("{LOCATION}/")),
    ]);
    assert_eq!(code, 0, "{}", kxd.installation.log());
    let listing = String::from_utf8(listing).unwrap();
    assert!(listing.trim_end().ends_with(" KX000001.CSV"), "{listing}");
    assert_eq!(listing.lines().count(), 1, "{listing}");
    let (code, data) = curl(&[
        "--ssl-reqd",
        "--cacert",
        &ca,
        "-u",
        &user,
        &kxd.ftp_url(&format!("{LOCATION}/KX000001.CSV")),
    ]);
    assert_eq!((code, data.as_slice()), (0, DATA));
    // Without TLS the login itself is refused (67: access denied), and nothing comes back.
    let (code, data) = curl(&[
        "-u",
        &user,
        &kxd.ftp_url(&format!("{LOCATION}/KX000001.CSV")),
    ]);
    assert_eq!((code, data.len()), (67, 0));
    assert_eq!(
        kxd.audit("ftp.download"),
        [format!("{ID}|{LOCATION}/KX000001.CSV|ok")]
    );
}

#[test]
fn ftplib_reads_its_own_folder_only_and_writes_nothing() {
    let kxd = Kxd::start();
    let before = kxd.area();
    let answers = kxd.ftplib(&format!(
        r#"
plain = ftplib.FTP(timeout=30)
plain.connect('127.0.0.1', port)
out['plain_user'] = attempt(lambda: plain.login({ID:?}, {PASSWORD:?}))
ftp = connect()
ftp.login({ID:?}, {PASSWORD:?})
out['unprotected'] = attempt(lambda: ftp.nlst())
ftp.prot_p()
out['root'] = ftp.nlst()
out['folder'] = ftp.nlst({LOCATION:?})
lines = []
ftp.retrlines('LIST ' + {LOCATION:?}, lines.append)
out['list'] = lines
out['data'] = fetch(ftp, {LOCATION:?} + '/KX000001.CSV')
def alone(f):
    # Each refusal on a connection of its own: a refused upload can leave its reply unread.
    ftp = connect()
    ftp.login({ID:?}, {PASSWORD:?})
    ftp.prot_p()
    try:
        return attempt(lambda: f(ftp))
    finally:
        ftp.close()
out['stor'] = alone(lambda f: f.storbinary('STOR ' + {LOCATION:?} + '/NEW.CSV', io.BytesIO(b'x')))
out['appe'] = alone(lambda f: f.storbinary('APPE ' + {LOCATION:?} + '/KX000001.CSV', io.BytesIO(b'x')))
out['dele'] = alone(lambda f: f.delete({LOCATION:?} + '/KX000001.CSV'))
out['mkd'] = alone(lambda f: f.mkd('/new'))
out['rmd'] = alone(lambda f: f.rmd('/kaigo'))
out['rename'] = alone(lambda f: f.rename({LOCATION:?} + '/KX000001.CSV', '/moved.csv'))
out['site'] = alone(lambda f: f.sendcmd('SITE CHMOD 777 /kaigo'))
out['missing'] = alone(lambda f: f.cwd('/no-such-folder'))
out['other'] = alone(lambda f: f.cwd('/{INSURER_CODE}'))
out['escape'] = alone(lambda f: f.cwd('../{INSURER_CODE}'))
out['up'] = alone(lambda f: f.sendcmd('CWD ..'))
# ftplib sends CDUP for '..': at the top it stays there.
out['cdup'] = alone(lambda f: (f.cwd('..'), f.nlst())[1])
out['missing_file'] = alone(lambda f: fetch(f, '/private/NOPE.CSV'))
out['other_file'] = alone(lambda f: fetch(f, '../{INSURER_CODE}/private/SECRET.CSV'))
out['cwd'] = attempt(lambda: ftp.cwd({LOCATION:?}))
out['relative'] = fetch(ftp, 'KX000001.CSV')
out['back'] = attempt(lambda: ftp.cwd('../..'))
out['pwd_root'] = ftp.nlst()
ftp.quit()
"#
    ));
    let text = |key: &str| answers[key].as_str().unwrap_or_default().to_owned();
    assert!(text("plain_user").starts_with("error: 534"), "{answers}");
    assert!(text("unprotected").starts_with("error: 5"), "{answers}");
    assert_eq!(answers["root"], serde_json::json!(["kaigo"]));
    assert_eq!(answers["folder"], serde_json::json!(["KX000001.CSV"]));
    assert_eq!(answers["list"].as_array().map(Vec::len), Some(1));
    assert_eq!(text("data").as_bytes(), DATA);
    assert_eq!(text("relative").as_bytes(), DATA);
    for write in ["stor", "appe", "dele", "mkd", "rmd", "rename"] {
        assert!(text(write).starts_with("error"), "{write}: {answers}");
    }
    for write in ["dele", "mkd", "rmd", "rename"] {
        assert!(text(write).starts_with("error: 550"), "{write}: {answers}");
    }
    assert!(text("site").starts_with("error: 502"), "{answers}");
    // Another organisation's folder, and a way above one's own, are a missing folder.
    assert!(text("missing").starts_with("error: 550"), "{answers}");
    for hidden in ["other", "escape", "up"] {
        assert_eq!(text(hidden), text("missing"), "{hidden}: {answers}");
    }
    assert_eq!(text("other_file"), text("missing_file"), "{answers}");
    assert_eq!(text("cdup"), "ok: ['kaigo']", "{answers}");
    assert!(text("cwd").starts_with("ok: 250"), "{answers}");
    assert!(text("back").starts_with("ok: 250"), "{answers}");
    assert_eq!(answers["pwd_root"], serde_json::json!(["kaigo"]));
    assert_eq!(kxd.area(), before, "the area changed");
    kxd.audited(
        "ftp.download",
        &[
            format!("{ID}|{LOCATION}/KX000001.CSV|ok"),
            format!("{ID}|/private/NOPE.CSV|missing"),
        ],
    );
    let downloads = kxd.audit("ftp.download");
    assert!(
        !downloads.iter().any(|d| d.contains("SECRET")),
        "a path outside the folder reached the area: {downloads:?}"
    );
}

#[test]
fn curl_over_https_gets_the_same_files_with_basic_auth() {
    let kxd = Kxd::start();
    let ca = ca(&kxd);
    let user = format!("{ID}:{PASSWORD}");
    let get = |user: &str, path: &str| {
        let (code, out) = curl(&[
            "--path-as-is",
            "--cacert",
            &ca,
            "-u",
            user,
            "-D",
            "-",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &kxd.https_url(path),
        ]);
        assert_eq!(code, 0);
        String::from_utf8(out).unwrap()
    };
    let (code, data) = curl(&[
        "--cacert",
        &ca,
        "-u",
        &user,
        "--fail",
        &kxd.https_url(&format!("/service{LOCATION}/KX000001.CSV")),
    ]);
    assert_eq!((code, data.as_slice()), (0, DATA));
    let (code, listing) = curl(&[
        "--cacert",
        &ca,
        "-u",
        &user,
        "--fail",
        &kxd.https_url("/service/kaigo/"),
    ]);
    assert_eq!(
        (code, listing.as_slice()),
        (0, b"exchangeinfo322/\n".as_slice())
    );
    let file = get(&user, &format!("/service{LOCATION}/KX000001.CSV"));
    assert!(file.ends_with("200"), "{file}");
    assert!(
        file.to_lowercase().contains("cache-control: no-store"),
        "{file}"
    );
    let wrong = get(&format!("{ID}:wrong"), "/service/");
    assert!(wrong.ends_with("401"), "{wrong}");
    assert!(
        wrong.to_lowercase().contains("www-authenticate: basic"),
        "{wrong}"
    );
    let anonymous = {
        let (_, out) = curl(&[
            "--cacert",
            &ca,
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &kxd.https_url("/service/"),
        ]);
        String::from_utf8(out).unwrap()
    };
    assert_eq!(anonymous, "401");
    let missing = get(&user, "/service/private/NOPE.CSV");
    assert!(missing.ends_with("404"), "{missing}");
    let body = |path: &str| {
        let url = kxd.https_url(path);
        curl(&["--path-as-is", "--cacert", &ca, "-u", &user, &url]).1
    };
    let missing_body = body("/service/private/NOPE.CSV");
    for hidden in [
        format!("/service/../{INSURER_CODE}/private/SECRET.CSV"),
        format!("/service/%2e%2e/{INSURER_CODE}/private/SECRET.CSV"),
        "/service/private/SECRET.CSV".to_owned(),
    ] {
        let answer = get(&user, &hidden);
        assert!(answer.ends_with("404"), "{hidden}: {answer}");
        assert_eq!(body(&hidden), missing_body, "{hidden}");
    }
    // The insurer reads its own file the same way.
    let (code, data) = curl(&[
        "--cacert",
        &ca,
        "-u",
        &format!("{INSURER_ID}:{INSURER_PASSWORD}"),
        "--fail",
        &kxd.https_url("/service/private/SECRET.CSV"),
    ]);
    assert_eq!((code, data.as_slice()), (0, b"insurer only\r\n".as_slice()));
    kxd.audited(
        "https-service.download",
        &[
            format!("{ID}|{LOCATION}/KX000001.CSV|ok"),
            format!("{INSURER_ID}|/private/SECRET.CSV|ok"),
        ],
    );
    kxd.audited(
        "https-service.login",
        &[format!("{ID}|{ID}|wrong-password")],
    );
}

#[test]
fn ftp_shares_the_lock_out_of_every_other_listener() {
    let kxd = Kxd::start();
    // SECOND_ID is locked by wrong SMTP passwords; ID by wrong FTP passwords.
    let answers = kxd.ftplib(&format!(
        r#"
import smtplib
smtp_port = int(sys.argv[3])
def smtp_login(user, password):
    s = smtplib.SMTP('127.0.0.1', smtp_port, timeout=30)
    s.starttls(context=ssl.create_default_context(cafile=ca))
    try:
        s.login(user, password)
        return 235
    except smtplib.SMTPAuthenticationError as e:
        return e.smtp_code
    finally:
        s.close()
def ftp_login(user, password):
    ftp = connect()
    try:
        return attempt(lambda: ftp.login(user, password))
    finally:
        ftp.close()
out['smtp_wrong'] = [smtp_login({SECOND_ID:?}, 'wrong-%d' % i) for i in range(5)]
out['ftp_after_smtp'] = ftp_login({SECOND_ID:?}, {SECOND_PASSWORD:?})
out['ftp_wrong'] = [ftp_login({ID:?}, 'wrong-%d' % i) for i in range(5)]
out['ftp_after_ftp'] = ftp_login({ID:?}, {PASSWORD:?})
out['smtp_after_ftp'] = smtp_login({ID:?}, {PASSWORD:?})
out['insurer'] = ftp_login({INSURER_ID:?}, {INSURER_PASSWORD:?})
"#
    ));
    assert_eq!(
        answers["smtp_wrong"],
        serde_json::json!([535, 535, 535, 535, 535])
    );
    let refused = answers["ftp_after_smtp"].as_str().unwrap_or_default();
    assert!(refused.starts_with("error: 530"), "{answers}");
    for wrong in answers["ftp_wrong"].as_array().unwrap() {
        assert_eq!(wrong.as_str(), Some(refused), "{answers}");
    }
    assert_eq!(
        answers["ftp_after_ftp"].as_str(),
        Some(refused),
        "{answers}"
    );
    assert_eq!(answers["smtp_after_ftp"], 535, "{answers}");
    assert!(
        answers["insurer"]
            .as_str()
            .is_some_and(|a| a.starts_with("ok: 230")),
        "{answers}"
    );
    kxd.audited("ftp.login", &[format!("{SECOND_ID}|{SECOND_ID}|locked")]);
}

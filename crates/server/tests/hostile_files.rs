//! Issue 12, findings 7–9, against the real `kxd`: the data directory is its user's alone
//! whatever the umask; nothing of an interrupted upload stays behind; sealed names that could
//! forge a line of the notification mail and uploads that are not CMS envelopes are refused;
//! the SMTP `250` never echoes client text.

#[allow(unused_imports)] // each test file uses a different part
mod exchange_support;
mod gateway_support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use exchange_support::{OFFICE, World};
use gateway_support::{Environment, Kxd, data_send, number};
use kx_testkit::{Python, files_under, run};

const KXD: &str = env!("CARGO_BIN_EXE_kxd");

/// `kxd ARGS` under `umask 022`, as a shell would start it, logging to `DIR/kxd.log`
/// (which the shell creates, with its own umask).
fn under_umask_022(args: &[&str]) -> Command {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg("umask 022; exec \"$0\" \"$@\"")
        .arg(KXD)
        .args(args);
    command
}

/// Every directory and file below `root` with its permission bits.
fn modes(root: &Path) -> Vec<(PathBuf, u32)> {
    let mut found = vec![(root.to_owned(), mode(root))];
    for entry in std::fs::read_dir(root).expect("readable") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            found.extend(modes(&path));
        } else {
            found.push((path.clone(), mode(&path)));
        }
    }
    found
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .expect("exists")
        .permissions()
        .mode()
        & 0o7777
}

/// Asserts that everything below `root` is private: directories 0700, files 0600.
fn assert_private(root: &Path) {
    let open: Vec<String> = modes(root)
        .into_iter()
        .filter(|(path, mode)| *mode != if path.is_dir() { 0o700 } else { 0o600 })
        .map(|(path, mode)| format!("{:o} {}", mode, path.display()))
        .collect();
    assert!(open.is_empty(), "not private:\n{}", open.join("\n"));
}

/// `kxd serve` started by a shell with umask 022; killed when dropped.
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn every_file_and_directory_is_private_whatever_the_umask() {
    let base = tempfile::tempdir().expect("a temporary directory");
    let data = base.path().join("kx");
    let data_arg = data.to_str().expect("UTF-8");
    run(&mut under_umask_022(&[
        "init",
        "--data",
        data_arg,
        "--domain",
        gateway_support::DOMAIN,
        "--smtp",
        "127.0.0.1:0",
        "--pop3",
        "127.0.0.1:0",
        "--https",
        "127.0.0.1:0",
        "--api",
        "127.0.0.1:0",
        "--regist-interval",
        "0",
    ]));
    assert_private(&data);
    let account = "J13123456780";
    let password = "pw-J13123456780-secret";
    for args in [
        &["org", "add", "--kind", "office", "--number", OFFICE_ORG][..],
        &["account", "add", "--id", account, "--password", password],
    ] {
        let mut admin = vec!["admin", "--data", data_arg];
        admin.extend_from_slice(args);
        run(&mut under_umask_022(&admin));
    }
    // As an installation made before kxd kept its files private would be.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");

    let log = std::fs::File::options()
        .create(true)
        .append(true)
        .open(data.join("kxd.log"))
        .expect("the log");
    std::fs::set_permissions(data.join("kxd.log"), std::fs::Permissions::from_mode(0o644))
        .expect("chmod");
    let server = Served(
        under_umask_022(&["serve", "--data", data_arg])
            .stdout(log.try_clone().expect("the log"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("kxd serve runs"),
    );
    let endpoints = wait_for_endpoints(&data);

    // A DataSend through its Regist: raw message, Accept, Regist, hand-off folder.
    let account = gateway_support::Account {
        id: account.into(),
        password: password.into(),
    };
    let n = number("2026040001");
    let message = data_send(
        &account,
        &n,
        &[("CLAIM01.CSV", &gateway_support::claims_csv(1))],
    );
    let script = format!(
        "{}\n{}\nanswers = send(user, password, [(sender, to, message)])\n\
         import time\n\
         deadline = time.time() + 30\n\
         while time.time() < deadline and len(mailbox(user, password)) < 2:\n    \
             time.sleep(0.2)\n\
         out['answers'] = answers\n\
         out['mails'] = len(mailbox(user, password))\n\
         print(json.dumps(out))\n",
        include_str!("gateway_support/prelude.py"),
        gateway_support::submission_variables(&account, &message)
    );
    let out = Python::new(script)
        .arg(port(&endpoints, "smtp"))
        .arg(port(&endpoints, "pop3"))
        .arg(data.join("tls/ca.pem"))
        .arg(server.0.id().to_string())
        .run();
    assert!(out.contains("Accepted"), "{out}");
    assert!(out.contains("\"mails\": 2"), "{out}");
    assert!(data.join("handoff").join(&n).is_dir(), "{out}");

    assert_private(&data);
    let log = std::fs::read_to_string(data.join("kxd.log")).expect("the log");
    assert!(
        log.contains("removed group and other access"),
        "the tightening is logged:\n{log}"
    );
    drop(server);
}

/// The 伝送 office of the mode test.
const OFFICE_ORG: &str = "1312345678";

/// `DIR/endpoints.json` once `kxd serve` has written it.
fn wait_for_endpoints(data: &Path) -> serde_json::Value {
    let started = Instant::now();
    loop {
        if let Ok(text) = std::fs::read(data.join("endpoints.json"))
            && let Ok(endpoints) = serde_json::from_slice(&text)
        {
            return endpoints;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "kxd serve did not start:\n{}",
            std::fs::read_to_string(data.join("kxd.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn port(endpoints: &serde_json::Value, name: &str) -> String {
    let address = endpoints[name].as_str().expect("a listener");
    address.rsplit_once(':').expect("host:port").1.to_owned()
}

/// The blob and temporary files of the exchange and the 伝送 side.
fn temporary_files(data: &Path) -> Vec<PathBuf> {
    let mut found = files_under(&data.join("blobs/tmp"));
    found.extend(files_under(&data.join("blobs/exchange/tmp")));
    found
}

#[test]
fn nothing_of_an_interrupted_upload_stays_behind() {
    let mut world = World::new(|_| {});
    let letter = world.sealed_for_office("notice.pdf", &[7u8; 300_000]);
    let society = world.society_client();
    let answer = society.upload_broken_off(OFFICE, "attachments", "Send-KS-1.zip", &letter);
    assert!(answer.contains("body_read"), "{answer}");
    assert_eq!(temporary_files(world.kxd.data()), Vec::<PathBuf>::new());
    drop(society);

    // What a crash (kill -9) mid-upload or mid-write leaves, a moment ago: gone after a start.
    world.kxd.stop();
    let data = world.kxd.data().to_owned();
    std::fs::write(data.join("blobs/exchange/tmp/4242.0"), vec![1u8; 100_000]).expect("left");
    std::fs::write(data.join("blobs/tmp/4242.1"), b"half a raw message").expect("left");
    world.kxd.serve();
    assert_eq!(temporary_files(&data), Vec::<PathBuf>::new());
    assert!(
        world.kxd.log().contains("temporary files of interrupted"),
        "{}",
        world.kxd.log()
    );
}

/// A world whose society user has a mail address, so that every stored file queues a
/// notification mail.
fn notified_world() -> World {
    let world = World::new(|_| {});
    world
        .society_client()
        .call(
            "PUT",
            "/api/v1/profile",
            Some(&serde_json::json!({"name": "健保花子", "code": "U1", "mail": "hanako@kenpo.example"})),
        )
        .expect(200);
    world
}

/// Asserts that no file, notification mail, blob or temporary file was kept.
fn assert_nothing_kept(world: &World) {
    let kxd = &world.kxd;
    assert_eq!(kxd.sql("SELECT COUNT(*) FROM ex_files").trim(), "0");
    assert_eq!(kxd.sql("SELECT COUNT(*) FROM mail_outbox").trim(), "0");
    let blobs: Vec<PathBuf> = files_under(&kxd.data().join("blobs/exchange"));
    assert!(blobs.is_empty(), "{blobs:?}");
}

/// What `kx` and openssl seal is taken, and queues its notification.
fn assert_a_sealed_file_is_taken(world: &World) {
    let sealed = world.sealed_for_society("KPFD.CSV", b"1,2,3\r\n");
    let name = "Send-JG-06139999-0001-00001-202604010900000.zip";
    world
        .office_client()
        .upload("給付課", "e-application", name, &sealed)
        .expect(201);
    assert_eq!(world.kxd.sql("SELECT COUNT(*) FROM ex_files").trim(), "1");
    assert_eq!(
        world.kxd.sql("SELECT COUNT(*) FROM mail_outbox").trim(),
        "1"
    );
}

#[test]
fn sealed_names_that_could_forge_a_line_of_the_notification_are_refused() {
    let world = notified_world();
    let office = world.office_client();
    let sealed = world.sealed_for_society("KPFD.CSV", b"1,2,3\r\n");
    for name in [
        "Send-JG-1.zip\u{2028}差出人: 国保連合会 至急ご確認ください.zip",
        "Send-JG-\u{202e}piz.exe.zip",
        "Send-JG-1\u{2029}.zip",
        "Send-JG-\u{2066}1.zip",
        "Send-JG-\u{85}1.zip",
    ] {
        let refused = office.upload("給付課", "e-application", name, &sealed);
        assert_eq!(
            (
                refused.status,
                refused.code().as_str(),
                refused.reason().as_str()
            ),
            (400, "E9998", "name"),
            "{name:?}"
        );
        assert_nothing_kept(&world);
    }
    assert_a_sealed_file_is_taken(&world);
}

#[test]
fn uploads_that_are_not_cms_envelopes_are_refused_before_they_are_kept() {
    let world = notified_world();
    let office = world.office_client();
    // Bytes that are not a CMS envelope: a ZIP, CMS data in the clear, random bytes.
    let dir = world.dir();
    let zip = dir.join("plain.zip");
    std::fs::write(
        &zip,
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00 not sealed at all",
    )
    .expect("zip");
    // A CMS ContentInfo, but of plain `id-data`: CMS, not an envelope.
    let data = dir.join("data.der");
    exchange_support::openssl(
        dir,
        &[
            "cms",
            "-data_create",
            "-binary",
            "-in",
            "plain.zip",
            "-outform",
            "DER",
            "-out",
            "data.der",
        ],
    );
    let random = dir.join("random.bin");
    std::fs::write(
        &random,
        (0..200_000u32)
            .map(|i| (i * 7919 % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .expect("random");
    for file in [&zip, &data, &random] {
        for chunked in [false, true] {
            let refused = if chunked {
                office.upload_chunked("給付課", "e-application", "Send-JG-2.zip", file)
            } else {
                office.upload("給付課", "e-application", "Send-JG-2.zip", file)
            };
            assert_eq!(
                (
                    refused.status,
                    refused.code().as_str(),
                    refused.reason().as_str()
                ),
                (400, "E9998", "not_sealed"),
                "{} chunked={chunked}",
                file.display()
            );
            assert_nothing_kept(&world);
            assert_eq!(temporary_files(world.kxd.data()), Vec::<PathBuf>::new());
        }
    }
    assert_a_sealed_file_is_taken(&world);
}

#[test]
fn the_250_prints_only_a_validated_number() {
    let kxd = Kxd::start(3600, Environment::TestLoopback);
    let office = kxd.account("J13123456780");
    let n = number("2026040002");
    let valid = data_send(
        &office,
        &n,
        &[("CLAIM01.CSV", &gateway_support::claims_csv(1))],
    );
    let text = String::from_utf8(valid).expect("ASCII");
    let forged = text.replacen(
        &format!("X-IFArea: {n}"),
        "X-IFArea: <script>alert(1)</script>\u{0}\u{1b}[31m 250 2.0.0 forged",
        1,
    );
    assert_ne!(forged, text, "the DataSend has an X-IFArea line");
    let answers = kxd.send(&office, &[forged.as_bytes(), text.as_bytes()]);
    assert_eq!(answers[0].0, 250, "{answers:?}");
    assert_eq!(answers[0].1, "2.0.0 Accepted (IFErr)");
    assert_eq!(answers[1].1, format!("2.0.0 Accepted {n} (Success)"));
    assert!(!kxd.log().contains("<script>"), "{}", kxd.log());
}

//! The office app's checks that need no server: the send rules (E2002–E2007) are applied before
//! anything is sealed or sent, one instance per profile (E0001), and usage errors exit 2.

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::process::{Command, Output};

fn kx(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kx"))
        .args(["--home"])
        .arg(home)
        .args(args)
        .current_dir(home)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running kx")
}

/// The first line of standard error, where the code and message are printed.
fn refusal(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn send_rules_are_checked_before_anything_is_sent() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let d = dir.path();
    for (name, len) in [
        ("a.pdf", 10),
        ("b.csv", 10),
        ("setup.exe", 10),
        ("KPFD.CSV", 10),
    ] {
        std::fs::write(d.join(name), vec![b'x'; len]).expect("a file");
    }
    File::create(d.join("big.pdf"))
        .and_then(|f| f.set_len(20 * 1024 * 1024 + 1))
        .expect("a sparse 20 MiB + 1 file");
    let send = |args: &[&str]| {
        let mut all = vec!["send"];
        all.extend_from_slice(args);
        refusal(&kx(d, &all))
    };
    assert_eq!(
        send(&["--to", "給付課"]),
        "E2002 送信するファイルを追加してください。"
    );
    assert_eq!(
        send(&["--to", "給付課", "a.pdf", "setup.exe"]),
        "E2004 「exe」拡張子のファイルは追加できません。"
    );
    assert_eq!(
        send(&["--e-application", "--to", "給付課", "a.pdf"]),
        "E2004 「pdf」拡張子のファイルは追加できません。"
    );
    assert_eq!(
        send(&["--to", "給付課", "a.pdf", "sub/../a.pdf"]),
        "E2003 既に同じ名前のファイルが追加されています。"
    );
    assert_eq!(
        send(&["--to", "給付課", "a.pdf", "gone.pdf"]),
        "E2007 追加したファイル（gone.pdf）が存在しません。"
    );
    assert_eq!(
        send(&["--to", "給付課", "big.pdf", "b.csv"]),
        "E2006 選択されたファイルが20MBを超えています。"
    );
    assert_eq!(send(&["a.pdf"]), "E2005 送信先を選択してください。");
    // The society side applies the same rules before it asks for its PIN.
    assert_eq!(
        refusal(&kx(
            d,
            &["society", "send", "--office", "00001", "setup.exe"]
        )),
        "E2004 「exe」拡張子のファイルは追加できません。"
    );
    // Every rule passed: only now does the app need its profile, which does not exist.
    let out = kx(d, &["send", "--to", "給付課", "a.pdf", "b.csv"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn receive_without_a_choice_and_usage_errors() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let d = dir.path();
    assert_eq!(
        refusal(&kx(d, &["receive"])),
        "E2001 受信対象のデータを選択してください。"
    );
    let out = kx(d, &["inbox"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "no profile is a usage error: {out:?}"
    );
    let out = kx(d, &["send", "--bogus"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

/// A server that is not HTTPS never gets a password or a code, and nothing is made first.
#[test]
fn setup_refuses_a_server_that_is_not_https() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let d = dir.path();
    for setup in [&["setup"][..], &["society", "setup"]] {
        let mut args = setup.to_vec();
        args.extend([
            "--server",
            "http://127.0.0.1:2443",
            "--ca",
            "ca.pem",
            "--id",
            "office1",
            "--code",
            "ABCD",
        ]);
        let out = kx(d, &args);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("must begin with https://"), "{stderr}");
        assert!(!d.join("exchange").exists(), "{setup:?} made a profile");
    }
}

#[test]
fn one_instance_per_profile() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let d = dir.path();
    let profile = d.join("exchange").join("default");
    std::fs::create_dir_all(&profile).expect("the profile directory");
    let held = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(profile.join("lock"))
        .expect("the lock file");
    held.lock().expect("the lock");
    assert_eq!(refusal(&kx(d, &["inbox"])), "E0001 多重起動はできません。");
    // Another profile is another instance.
    let out = kx(d, &["--profile", "other", "inbox"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

/// A setup that fails leaves no half-made profile behind: neither the folder it made nor the
/// keys, the sealed password and the log it wrote there; a folder that was there stays.
#[test]
fn a_failed_setup_removes_the_profile_it_made() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let home = dir.path().join("home");
    let ca = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crypto/fuzz/keys/ca.pem");
    let ca = ca.to_str().expect("UTF-8");
    for setup in [&["setup"][..], &["society", "setup"]] {
        let mut args = vec!["--pin-stdin", "--password-stdin"];
        args.extend_from_slice(setup);
        // Nothing listens on port 1: the request fails after the key and password are made.
        args.extend([
            "--server",
            "https://127.0.0.1:1",
            "--ca",
            ca,
            "--id",
            "office1",
            "--code",
            "ABCD",
            "--insecure-fast-kdf",
        ]);
        let mut child = Command::new(env!("CARGO_BIN_EXE_kx"))
            .arg("--home")
            .arg(&home)
            .args(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("running kx");
        {
            use std::io::Write as _;
            let mut input = child.stdin.take().expect("stdin");
            writeln!(input, "2468\n2468\ntemporary").expect("stdin written");
        }
        let out = child.wait_with_output().expect("kx finishes");
        assert_eq!(refusal(&out).split(' ').next(), Some("E9999"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("removed the half-made profile"), "{stderr}");
        assert!(!home.exists(), "{setup:?} left {home:?} behind");
    }
    // A usage error (no --ca) after the log was started: the folder goes too; one that was
    // there before stays.
    let out = kx(dir.path(), &["setup", "--server", "https://127.0.0.1:1"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(!dir.path().join("exchange").exists());
    let kept = dir.path().join("exchange").join("default");
    std::fs::create_dir_all(&kept).expect("a profile folder");
    let out = kx(dir.path(), &["setup", "--server", "https://127.0.0.1:1"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(kept.exists(), "a folder that was there is kept");
}

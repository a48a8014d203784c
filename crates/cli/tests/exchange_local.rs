//! The office app's checks that need no server: the send rules (E2002–E2007) and the KPFD.CSV
//! check are applied before anything is sealed or sent, one instance per profile (E0001), and
//! usage errors exit 2.

mod exchange_support;

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::process::{Command, Output};

use exchange_support::kpfd_csv;

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

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn check_kpfd_on_a_good_and_a_bad_file() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let d = dir.path();
    std::fs::write(d.join("KPFD.CSV"), kpfd_csv("架空商事株式会社")).expect("a file");
    let out = kx(d, &["check-kpfd", "KPFD.CSV"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(stdout(&out), "ok    KPFD.CSV: no findings\n");
    assert!(
        !d.join("exchange").exists(),
        "a local check makes no profile"
    );

    std::fs::create_dir(d.join("bad")).expect("bad/");
    let bad = kpfd_csv("架空商事㈱");
    // LF alone as well: a warning, printed with the error.
    let bad: Vec<u8> = bad.into_iter().filter(|&b| b != b'\r').collect();
    std::fs::write(d.join("bad/KPFD.CSV"), &bad).expect("a file");
    let out = kx(d, &["check-kpfd", "bad/KPFD.CSV"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        stdout(&out),
        "warning  line 1: 改行コードが LF のみです。CR LF にしてください。 \
         / Lines end with LF alone: CR LF is expected. (6 of 6 lines)\n\
         error    line 4, field 5: JIS X 0208 にない機種依存文字（NEC特殊文字・IBM拡張文字・外字）があります。 \
         / A character outside JIS X 0208 (NEC special, IBM extension or user-defined character). \
         (U+3231 '㈱' (NEC特殊文字, 0x878A))\n\
         bad/KPFD.CSV: 1 error(s), 1 warning(s)\n"
    );
    let out = kx(d, &["check-kpfd", "--json", "bad/KPFD.CSV"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        (json["errors"].as_u64(), json["warnings"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        json["findings"][1],
        serde_json::json!({
            "severity": "error",
            "line": 4,
            "field": 5,
            "kind": "extended-character",
            "japanese": "JIS X 0208 にない機種依存文字（NEC特殊文字・IBM拡張文字・外字）があります。",
            "english": "A character outside JIS X 0208 (NEC special, IBM extension or user-defined character).",
            "detail": "U+3231 '㈱' (NEC特殊文字, 0x878A)",
        })
    );

    // Warnings alone do not fail.
    let lf: Vec<u8> = kpfd_csv("架空商事株式会社")
        .into_iter()
        .filter(|&b| b != b'\r')
        .collect();
    std::fs::write(d.join("lf.csv"), lf).expect("a file");
    let out = kx(d, &["check-kpfd", "lf.csv"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        stdout(&out).ends_with("lf.csv: 0 error(s), 2 warning(s)\n"),
        "{out:?}"
    );

    assert_eq!(
        refusal(&kx(d, &["check-kpfd", "gone.csv"])),
        "E2007 追加したファイル（gone.csv）が存在しません。"
    );
}

#[test]
fn send_by_e_application_checks_kpfd_first() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let d = dir.path();
    std::fs::write(d.join("KPFD.CSV"), kpfd_csv("架空商事㈱")).expect("a file");
    let send = ["send", "--e-application", "--to", "給付課", "KPFD.CSV"];
    let out = kx(d, &send);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error    line 4, field 5: JIS X 0208 にない機種依存文字")
            && stderr.ends_with(
                "kx: not sent: the check found errors. Correct the file, or send it anyway with --ignore-check.\n"
            ),
        "{stderr}"
    );
    // Past the check, the send needs its profile, which does not exist: a usage error.
    let out = kx(d, &[&send[..], &["--ignore-check"]].concat());
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("KPFD.CSV: sending anyway (--ignore-check)"),
        "{out:?}"
    );
    std::fs::write(d.join("KPFD.CSV"), kpfd_csv("架空商事株式会社")).expect("a file");
    let out = kx(d, &send);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    // --ignore-check is for the e-application only.
    let out = kx(d, &["send", "--ignore-check", "--to", "給付課", "KPFD.CSV"]);
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

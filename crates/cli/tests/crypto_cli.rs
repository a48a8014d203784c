//! `kx crypto …` end to end, as an operator would use it, with `openssl` as the other party.

use std::path::Path;
use std::process::{Command, Output};

use kx_testkit::run;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn kx(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kx"))
        .arg("crypto")
        .args(args)
        .current_dir(dir)
        .env("KX_PIN", "2468")
        .output()
        .expect("running kx")
}

fn ok(dir: &Path, args: &[&str]) {
    let out = kx(dir, args);
    assert!(
        out.status.success(),
        "kx crypto {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn openssl(dir: &Path, args: &[&str]) {
    run(Command::new("openssl").args(args).current_dir(dir));
}

/// A CA, an office (P-256, key under a PIN) and a society (RSA), all made with `kx crypto`.
fn setup(d: &Path) {
    ok(d, &["keygen", "ca.key"]);
    ok(
        d,
        &[
            "ca-init",
            "--key",
            "ca.key",
            "--subject",
            "CN=CLI Society CA,O=KX Test",
            "ca.pem",
        ],
    );
    // The default PIN cost is exercised by kx-crypto's tests; a debug build here would take
    // seconds for each of the many times the key is loaded.
    ok(
        d,
        &[
            "keygen",
            "--pin-env",
            "KX_PIN",
            "--insecure-fast-kdf",
            "office.key",
        ],
    );
    ok(
        d,
        &[
            "csr",
            "--key",
            "office.key",
            "--subject",
            "CN=Office 0001,O=KX Test",
            "office.csr",
        ],
    );
    ok(
        d,
        &[
            "issue",
            "--ca-key",
            "ca.key",
            "--ca-cert",
            "ca.pem",
            "--csr",
            "office.csr",
            "office.pem",
        ],
    );
    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "society.key",
        ],
    );
    openssl(
        d,
        &[
            "req",
            "-new",
            "-key",
            "society.key",
            "-subj",
            "/CN=Society/O=KX Test",
            "-config",
            "/dev/null",
            "-out",
            "society.csr",
        ],
    );
    ok(
        d,
        &[
            "issue",
            "--society",
            "--ca-key",
            "ca.key",
            "--ca-cert",
            "ca.pem",
            "--csr",
            "society.csr",
            "society.pem",
        ],
    );
}

#[test]
fn office_to_society_and_back_through_openssl() -> TestResult {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    setup(d);
    let content: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(d.join("KPFD.CSV"), &content)?;

    ok(
        d,
        &[
            "seal",
            "--key",
            "office.key",
            "--cert",
            "office.pem",
            "--recipient",
            "society.pem",
            "--recipient",
            "office.pem",
            "KPFD.CSV",
            "sealed.p7m",
        ],
    );
    openssl(
        d,
        &[
            "cms",
            "-decrypt",
            "-inform",
            "DER",
            "-in",
            "sealed.p7m",
            "-recip",
            "society.pem",
            "-inkey",
            "society.key",
            "-out",
            "signed.der",
        ],
    );
    openssl(
        d,
        &[
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-in",
            "signed.der",
            "-CAfile",
            "ca.pem",
            "-binary",
            "-out",
            "by-openssl.csv",
        ],
    );
    assert_eq!(std::fs::read(d.join("by-openssl.csv"))?, content);
    // The sender can open its own copy too (it was a recipient).
    ok(
        d,
        &[
            "open",
            "--key",
            "office.key",
            "--cert",
            "office.pem",
            "--trust",
            "ca.pem",
            "sealed.p7m",
            "own.csv",
        ],
    );
    assert_eq!(std::fs::read(d.join("own.csv"))?, content);

    openssl(
        d,
        &[
            "cms",
            "-sign",
            "-binary",
            "-nodetach",
            "-in",
            "KPFD.CSV",
            "-signer",
            "society.pem",
            "-inkey",
            "society.key",
            "-outform",
            "DER",
            "-out",
            "reply.sig",
        ],
    );
    openssl(
        d,
        &[
            "cms",
            "-encrypt",
            "-binary",
            "-aes-256-cbc",
            "-in",
            "reply.sig",
            "-outform",
            "DER",
            "-out",
            "reply.p7m",
            "office.pem",
        ],
    );
    ok(
        d,
        &[
            "open",
            "--key",
            "office.key",
            "--trust",
            "ca.pem",
            "reply.p7m",
            "reply.csv",
        ],
    );
    assert_eq!(std::fs::read(d.join("reply.csv"))?, content);
    Ok(())
}

#[test]
fn refusals_name_the_app_code_and_leave_no_output() -> TestResult {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    setup(d);
    std::fs::write(d.join("in.txt"), b"hello")?;
    ok(
        d,
        &[
            "seal",
            "--key",
            "office.key",
            "--cert",
            "office.pem",
            "--recipient",
            "society.pem",
            "--gcm",
            "in.txt",
            "sealed.p7m",
        ],
    );

    // Signer revoked: E8002.
    ok(
        d,
        &[
            "crl",
            "--ca-key",
            "ca.key",
            "--ca-cert",
            "ca.pem",
            "--revoke",
            "office.pem",
            "ca.crl",
        ],
    );
    let out = kx(
        d,
        &[
            "open",
            "--key",
            "society.key",
            "--trust",
            "ca.pem",
            "--crl",
            "ca.crl",
            "sealed.p7m",
            "out.txt",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("E8002 健保組合の電子証明書検証時にエラーが発生しました。")
            && stderr.contains("revoked"),
        "{stderr}"
    );
    assert!(!d.join("out.txt").exists(), "nothing written on refusal");

    // Not for this key: E8003.
    let out = kx(
        d,
        &[
            "open",
            "--key",
            "office.key",
            "--trust",
            "ca.pem",
            "sealed.p7m",
            "out.txt",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("E8003 受信ファイルの復号時にエラーが発生しました。"),
        "{stderr}"
    );
    assert!(!d.join("out.txt").exists());

    // A wrong PIN is refused before anything else happens.
    let out = Command::new(env!("CARGO_BIN_EXE_kx"))
        .args([
            "crypto",
            "csr",
            "--key",
            "office.key",
            "--subject",
            "CN=x",
            "x.csr",
        ])
        .current_dir(d)
        .env("KX_PIN", "1357")
        .output()?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong PIN"));

    ok(
        d,
        &[
            "open",
            "--key",
            "society.key",
            "--trust",
            "ca.pem",
            "sealed.p7m",
            "out.txt",
        ],
    );
    assert_eq!(std::fs::read(d.join("out.txt"))?, b"hello");
    let leftovers = std::fs::read_dir(d)?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp"))
        .count();
    assert_eq!(leftovers, 0, "no temporary files left behind");
    Ok(())
}

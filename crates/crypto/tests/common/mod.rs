//! Shared fixtures for the integration tests: keys and certificates made by the real
//! `openssl` binary, so that our parsing of them is itself an interop check.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::SystemTime;

use kx_crypto::{PrivateKey, parse_certificates};
use x509_cert::Certificate;

/// What a test returns: any failure fails it, with its message.
pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Runs `openssl` with `args` in `dir`, panicking with its stderr on failure.
pub fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl binary must be installed (scripts/test installs it)");
    assert!(
        out.status.success(),
        "openssl {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `openssl cms -decrypt` of the DER message `input` in `dir` with the private key `key`
/// (and the recipient certificate `recip`, when given) into `output`: the SignedData inside.
pub fn openssl_decrypt(dir: &Path, input: &str, key: &str, recip: Option<&str>, output: &str) {
    let mut args = vec!["cms", "-decrypt", "-inform", "DER", "-in", input];
    if let Some(recip) = recip {
        args.extend(["-recip", recip]);
    }
    args.extend(["-inkey", key, "-out", output]);
    openssl(dir, &args);
}

/// `openssl cms -verify` of the DER SignedData `input` in `dir` against the CA file `ca`, its
/// content written unchanged (`-binary`) to `output`.
pub fn openssl_verify(dir: &Path, input: &str, ca: &str, output: &str) {
    openssl(
        dir,
        &[
            "cms", "-verify", "-inform", "DER", "-in", input, "-CAfile", ca, "-binary", "-out",
            output,
        ],
    );
}

/// Like [`openssl`] but returns whether it succeeded and its stderr.
pub fn openssl_status(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A directory with a CA (`ca.pem`/`ca.key`) and two parties it certified:
/// `rsa.{key,pem}` (RSA-2048) and `ec.{key,pem}` (P-256).
pub struct Fixtures {
    dir: tempfile::TempDir,
}

impl Fixtures {
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn key(&self, name: &str) -> PrivateKey {
        let pem = std::fs::read_to_string(self.path(&format!("{name}.key"))).expect("test fixture");
        PrivateKey::from_pkcs8_pem(&pem).expect("test fixture")
    }

    pub fn cert(&self, name: &str) -> Certificate {
        let bytes = std::fs::read(self.path(&format!("{name}.pem"))).expect("test fixture");
        parse_certificates(&bytes).expect("test fixture").remove(0)
    }
}

/// The fixtures, made once per test binary.
pub fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let dir = tempfile::tempdir().expect("test fixture");
        let d = dir.path();
        std::fs::write(d.join("rsa.ext"), "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nsubjectKeyIdentifier=hash\n").expect("test fixture");
        std::fs::write(d.join("ec.ext"), "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\nsubjectKeyIdentifier=hash\n").expect("test fixture");
        openssl(d, &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ca.key"]);
        openssl(d, &["req", "-new", "-x509", "-key", "ca.key", "-subj", "/CN=Interop CA", "-days", "30", "-config", "/dev/null", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", "ca.pem"]);
        openssl(d, &["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "rsa.key"]);
        openssl(d, &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ec.key"]);
        for name in ["rsa", "ec"] {
            openssl(d, &["req", "-new", "-key", &format!("{name}.key"), "-subj", &format!("/CN={name} office"), "-config", "/dev/null", "-out", &format!("{name}.csr")]);
            openssl(d, &["x509", "-req", "-in", &format!("{name}.csr"), "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "30", "-extfile", &format!("{name}.ext"), "-out", &format!("{name}.pem")]);
        }
        // A chain one longer: ca → inter (an intermediate CA) → chained (P-256 signer).
        std::fs::write(d.join("inter.ext"), "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n").expect("test fixture");
        openssl(d, &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "inter.key"]);
        openssl(d, &["req", "-new", "-key", "inter.key", "-subj", "/CN=Intermediate CA", "-config", "/dev/null", "-out", "inter.csr"]);
        openssl(d, &["x509", "-req", "-in", "inter.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "30", "-extfile", "inter.ext", "-out", "inter.pem"]);
        openssl(d, &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "chained.key"]);
        openssl(d, &["req", "-new", "-key", "chained.key", "-subj", "/CN=chained office", "-config", "/dev/null", "-out", "chained.csr"]);
        openssl(d, &["x509", "-req", "-in", "chained.csr", "-CA", "inter.pem", "-CAkey", "inter.key", "-CAcreateserial", "-days", "30", "-extfile", "ec.ext", "-out", "chained.pem"]);
        Fixtures { dir }
    })
}

/// Now, for validity checks.
pub fn now() -> SystemTime {
    SystemTime::now()
}

/// A society CA made by this crate, with an office (RSA, from the openssl fixtures) and a
/// society (P-256) certified by it.
pub struct World {
    pub ca: kx_crypto::CertificateAuthority,
    pub office_key: PrivateKey,
    pub office: Certificate,
    pub society_key: PrivateKey,
    pub society: Certificate,
}

pub const DAY: std::time::Duration = std::time::Duration::from_secs(86_400);

/// Builds a [`World`] whose certificates are valid from an hour ago for `days`.
pub fn world(days: u32) -> World {
    use kx_crypto::{CertificateAuthority, KeyKind, Profile, certificate_request};
    let start = now() - std::time::Duration::from_secs(3600);
    let ca_key = PrivateKey::generate(KeyKind::P256).expect("CA key");
    let ca = CertificateAuthority::create_root(
        ca_key,
        "CN=Test Society CA,O=KX Test",
        start,
        DAY * 3650,
    )
    .expect("root");
    let office_key = fixtures().key("rsa");
    let request =
        certificate_request(&office_key, "CN=Office 0001,O=KX Test").expect("office request");
    let office = ca
        .issue(&request, Profile::Office, start, DAY * days)
        .expect("office cert");
    let society_key = PrivateKey::generate(KeyKind::P256).expect("society key");
    let request =
        certificate_request(&society_key, "CN=Society,O=KX Test").expect("society request");
    let society = ca
        .issue(&request, Profile::Society, start, DAY * days)
        .expect("society cert");
    World {
        ca,
        office_key,
        office,
        society_key,
        society,
    }
}

/// Seals `plain` from `w`'s office for `recipients`, signed now.
pub fn seal_from_office(
    w: &World,
    content: kx_crypto::ContentEncryption,
    recipients: &[Certificate],
    plain: &[u8],
) -> Result<Vec<u8>, kx_crypto::Error> {
    use kx_crypto::{Recipient, SealOptions, Signer, seal};
    let signer = Signer::new(w.office_key.clone(), w.office.clone())?;
    let options = SealOptions {
        content,
        signing_time: now(),
    };
    let recipients = recipients
        .iter()
        .map(|c| Recipient::new(c.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    seal(&signer, &recipients, options, plain, Vec::new())
}

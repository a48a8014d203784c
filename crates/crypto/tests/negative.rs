//! Every way `open` must refuse a message, each with its own error, and never releasing the
//! plaintext.

mod common;

use std::cell::Cell;
use std::io::{self, Write};
use std::rc::Rc;

use common::{DAY, TestResult, World, fixtures, now, openssl, openssl_decrypt, world};
use kx_crypto::{
    AppCode, ContentEncryption, Error, KeyKind, PrivateKey, Profile, Quarantine, Receiver,
    Recipient, SealOptions, Signer, TrustStore, certificate_request, certificate_to_pem, open,
    seal,
};

/// A quarantine that records whether it was ever released.
struct Watched {
    data: Vec<u8>,
    released: Rc<Cell<bool>>,
}

impl Write for Watched {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.data.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Quarantine for Watched {
    type Released = Vec<u8>;
    fn release(self) -> io::Result<Vec<u8>> {
        self.released.set(true);
        Ok(self.data)
    }
}

const CONTENT: &[u8] = b"KPFD.CSV,1,2,3\r\nconfidential health insurance data\r\n";

fn seal_from_office(w: &World, content: ContentEncryption) -> Result<Vec<u8>, Error> {
    common::seal_from_office(w, content, std::slice::from_ref(&w.society), CONTENT)
}

/// Opens as the society; returns the error and checks nothing was released.
fn refused(w: &World, sealed: &[u8], trust: &TrustStore) -> Error {
    let released = Rc::new(Cell::new(false));
    let spool = Watched {
        data: Vec::new(),
        released: released.clone(),
    };
    let receiver = Receiver {
        key: &w.society_key,
        cert: Some(&w.society),
    };
    let err = open(sealed, receiver, trust, now(), spool).expect_err("open must refuse");
    assert!(!released.get(), "plaintext released despite {err}");
    err
}

fn trust(w: &World) -> TrustStore {
    TrustStore::new(vec![w.ca.certificate().clone()])
}

#[test]
fn the_intended_recipient_opens_and_releases() -> TestResult {
    let w = world(365);
    let sealed = seal_from_office(&w, ContentEncryption::Aes256Cbc)?;
    let released = Rc::new(Cell::new(false));
    let spool = Watched {
        data: Vec::new(),
        released: released.clone(),
    };
    let receiver = Receiver {
        key: &w.society_key,
        cert: Some(&w.society),
    };
    let opened = open(&sealed[..], receiver, &trust(&w), now(), spool)?;
    assert!(released.get());
    assert_eq!(opened.content, CONTENT);
    assert_eq!(opened.signer, w.office);
    Ok(())
}

#[test]
fn wrong_recipient() -> TestResult {
    let w = world(365);
    let sealed = seal_from_office(&w, ContentEncryption::Aes256Cbc)?;
    let stranger = PrivateKey::generate(KeyKind::P256)?;
    let receiver = Receiver {
        key: &stranger,
        cert: None,
    };
    let err = open(&sealed[..], receiver, &trust(&w), now(), Vec::new()).expect_err("stranger");
    // The stranger's P-256 key finds the society's ECDH entry, and unwrapping fails.
    assert!(
        matches!(err, Error::Decrypt(_) | Error::NotARecipient),
        "{err}"
    );
    assert_eq!(err.app_code(), AppCode::E8003);
    // With its own certificate given, no entry is even addressed to it.
    let request = certificate_request(&stranger, "CN=Stranger")?;
    let cert = w.ca.issue(&request, Profile::Office, now(), DAY)?;
    let receiver = Receiver {
        key: &stranger,
        cert: Some(&cert),
    };
    let err = open(&sealed[..], receiver, &trust(&w), now(), Vec::new()).expect_err("stranger");
    assert!(matches!(err, Error::NotARecipient), "{err}");
    Ok(())
}

/// Flips one bit in the middle of the encrypted content.
fn flip_middle(sealed: &mut [u8]) {
    let middle = sealed.len() / 2;
    sealed[middle] ^= 0x01;
}

#[test]
fn tampered_ciphertext_gcm_fails_the_tag() -> TestResult {
    let w = world(365);
    let mut sealed = seal_from_office(&w, ContentEncryption::Aes256Gcm)?;
    let len = sealed.len();
    // Inside the encrypted content: before the 16-byte tag and the closing octets.
    sealed[len - 60] ^= 0x01;
    let err = refused(&w, &sealed, &trust(&w));
    assert!(
        matches!(err, Error::Decrypt(m) if m.contains("GCM")),
        "{err}"
    );
    assert_eq!(err.app_code(), AppCode::E8003);
    Ok(())
}

#[test]
fn tampered_ciphertext_cbc_is_caught_by_the_signed_digest() -> TestResult {
    let w = world(365);
    // 100 kB of content: the middle of the message is ciphertext of content bytes, away from
    // any segment header, so the flip garbles content and nothing else.
    let content = vec![b'x'; 100_000];
    let signer = Signer::new(w.office_key.clone(), w.office.clone())?;
    let options = SealOptions {
        content: ContentEncryption::Aes256Cbc,
        signing_time: now(),
    };
    let mut sealed = seal(
        &signer,
        &[Recipient::new(w.society.clone())?],
        options,
        &content[..],
        Vec::new(),
    )?;
    flip_middle(&mut sealed);
    let err = refused(&w, &sealed, &trust(&w));
    // CBC has no integrity of its own: the signature over the content digest is what catches it.
    assert!(matches!(err, Error::DigestMismatch), "{err}");
    assert_eq!(err.app_code(), AppCode::E8002);
    Ok(())
}

/// Decrypts our message with openssl, lets `edit` change the SignedData, re-encrypts it with
/// openssl for the society and returns the result.
fn resealed_after(
    w: &World,
    edit: impl Fn(&mut Vec<u8>),
) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let f = fixtures();
    let dir = tempfile::tempdir_in(f.dir())?;
    let d = dir.path();
    let signer = Signer::new(w.office_key.clone(), w.office.clone())?;
    let recipient = fixtures().cert("rsa");
    // Sealed for the office's own RSA key, which openssl can decrypt with the fixture key.
    let sealed = seal(
        &signer,
        &[Recipient::new(recipient)?],
        SealOptions {
            content: ContentEncryption::Aes256Cbc,
            signing_time: now(),
        },
        CONTENT,
        Vec::new(),
    )?;
    std::fs::write(d.join("sealed.der"), sealed)?;
    let key = f.path("rsa.key");
    let key = key.to_str().ok_or("path")?;
    openssl_decrypt(d, "sealed.der", key, None, "signed.der");
    let mut signed = std::fs::read(d.join("signed.der"))?;
    edit(&mut signed);
    std::fs::write(d.join("signed.der"), signed)?;
    std::fs::write(d.join("society.pem"), certificate_to_pem(&w.society)?)?;
    openssl(
        d,
        &[
            "cms",
            "-encrypt",
            "-binary",
            "-in",
            "signed.der",
            "-outform",
            "DER",
            "-aes-256-cbc",
            "-out",
            "resealed.der",
            "society.pem",
        ],
    );
    Ok(std::fs::read(d.join("resealed.der"))?)
}

#[test]
fn tampered_signature() -> TestResult {
    let w = world(365);
    let sealed = resealed_after(&w, |signed| {
        // The RSA signature is the last field before the six closing octets.
        let at = signed.len() - 6 - 20;
        signed[at] ^= 0x01;
    })?;
    let err = refused(&w, &sealed, &trust(&w));
    assert!(matches!(err, Error::BadSignature), "{err}");
    assert_eq!(err.app_code(), AppCode::E8002);
    Ok(())
}

#[test]
fn tampered_signed_content() -> TestResult {
    let w = world(365);
    let sealed = resealed_after(&w, |signed| {
        let at = signed
            .windows(12)
            .position(|win| win == b"confidential")
            .expect("content");
        signed[at] = b'C';
    })?;
    let err = refused(&w, &sealed, &trust(&w));
    assert!(matches!(err, Error::DigestMismatch), "{err}");
    assert_eq!(err.app_code(), AppCode::E8002);
    Ok(())
}

#[test]
fn expired_signer() -> TestResult {
    let mut w = world(365);
    let request = certificate_request(&w.office_key, "CN=Office 0001,O=KX Test")?;
    w.office =
        w.ca.issue(&request, Profile::Office, now() - DAY * 10, DAY * 5)?;
    let sealed = seal_from_office(&w, ContentEncryption::Aes256Cbc)?;
    let err = refused(&w, &sealed, &trust(&w));
    assert!(matches!(err, Error::CertificateExpired { .. }), "{err}");
    assert_eq!(err.app_code(), AppCode::E8002);
    Ok(())
}

#[test]
fn revoked_signer() -> TestResult {
    let w = world(365);
    let sealed = seal_from_office(&w, ContentEncryption::Aes256Cbc)?;
    let serial = w.office.tbs_certificate.serial_number.clone();
    let crl = w.ca.crl(&[(serial, now())], now(), now() + DAY * 7)?;
    let err = refused(&w, &sealed, &trust(&w).with_crls(vec![crl]));
    assert!(matches!(err, Error::CertificateRevoked { .. }), "{err}");
    assert_eq!(err.app_code(), AppCode::E8002);
    // A CRL listing someone else changes nothing; one not signed by the issuer is ignored.
    let other = w.ca.crl(
        &[(w.society.tbs_certificate.serial_number.clone(), now())],
        now(),
        now() + DAY,
    )?;
    let released = Rc::new(Cell::new(false));
    let receiver = Receiver {
        key: &w.society_key,
        cert: Some(&w.society),
    };
    let spool = Watched {
        data: Vec::new(),
        released,
    };
    open(
        &sealed[..],
        receiver,
        &trust(&w).with_crls(vec![other]),
        now(),
        spool,
    )?;
    let forged = world(365).ca.crl(
        &[(w.office.tbs_certificate.serial_number.clone(), now())],
        now(),
        now() + DAY,
    )?;
    let receiver = Receiver {
        key: &w.society_key,
        cert: Some(&w.society),
    };
    open(
        &sealed[..],
        receiver,
        &trust(&w).with_crls(vec![forged]),
        now(),
        Vec::new(),
    )?;
    Ok(())
}

#[test]
fn untrusted_chain() -> TestResult {
    let w = world(365);
    let sealed = seal_from_office(&w, ContentEncryption::Aes256Cbc)?;
    let other_ca = world(365).ca.certificate().clone();
    let err = refused(&w, &sealed, &TrustStore::new(vec![other_ca]));
    assert!(matches!(err, Error::UntrustedChain { .. }), "{err}");
    assert_eq!(err.app_code(), AppCode::E8002);
    Ok(())
}

#[test]
fn truncated_message() -> TestResult {
    let w = world(365);
    let sealed = seal_from_office(&w, ContentEncryption::Aes256Cbc)?;
    for cut in [1, 10, sealed.len() / 2, sealed.len() - 1] {
        let err = refused(&w, &sealed[..cut], &trust(&w));
        assert!(
            matches!(err, Error::Malformed(_) | Error::Der(_)),
            "cut at {cut}: {err}"
        );
        assert_eq!(err.app_code(), AppCode::E8003);
    }
    Ok(())
}

#[test]
fn signer_certificate_not_for_signing() -> TestResult {
    let f = fixtures();
    let dir = tempfile::tempdir_in(f.dir())?;
    let d = dir.path();
    std::fs::write(d.join("ku.ext"), "keyUsage=critical,keyAgreement\n")?;
    let csr = f.path("ec.csr");
    let (ca, ca_key) = (f.path("ca.pem"), f.path("ca.key"));
    let path = |p: &std::path::Path| p.to_str().map(str::to_owned).ok_or("path");
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            &path(&csr)?,
            "-CA",
            &path(&ca)?,
            "-CAkey",
            &path(&ca_key)?,
            "-set_serial",
            "77",
            "-days",
            "3",
            "-extfile",
            "ku.ext",
            "-out",
            "ka.pem",
        ],
    );
    let cert = kx_crypto::certificate_from_pem_or_der(&std::fs::read(d.join("ka.pem"))?)?;
    let signer = Signer::new(f.key("ec"), cert)?;
    let options = SealOptions {
        content: ContentEncryption::Aes256Cbc,
        signing_time: now(),
    };
    let sealed = seal(
        &signer,
        &[Recipient::new(f.cert("rsa"))?],
        options,
        CONTENT,
        Vec::new(),
    )?;
    let key = f.key("rsa");
    let receiver = Receiver {
        key: &key,
        cert: None,
    };
    let err = open(
        &sealed[..],
        receiver,
        &TrustStore::new(vec![f.cert("ca")]),
        now(),
        Vec::new(),
    )
    .expect_err("a key-agreement-only certificate may not sign");
    assert!(
        matches!(
            err,
            Error::KeyUsage {
                purpose: "signing",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.app_code(), AppCode::E8002);
    Ok(())
}

//! The certificate authority and the key store, checked against `openssl`.

mod common;

use common::{DAY, TestResult, fixtures, now, openssl, openssl_status, world};
use kx_crypto::keystore::file::KeyFile;
use kx_crypto::keystore::{KdfCost, Pin, decrypt_key, encrypt_key};
use kx_crypto::{
    AppCode, Error, KeyKind, PrivateKey, Profile, certificate_request, certificate_to_pem,
    check_office_certificate, check_society_certificate, crl_to_pem, days_left, private_key_to_pem,
    renewal_due, request_to_pem,
};

#[test]
fn openssl_accepts_our_ca_certificates_requests_and_crl() -> TestResult {
    let w = world(365);
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    std::fs::write(d.join("ca.pem"), certificate_to_pem(w.ca.certificate())?)?;
    std::fs::write(d.join("office.pem"), certificate_to_pem(&w.office)?)?;
    std::fs::write(d.join("society.pem"), certificate_to_pem(&w.society)?)?;
    let out = openssl(
        d,
        &[
            "verify",
            "-CAfile",
            "ca.pem",
            "-purpose",
            "smimesign",
            "office.pem",
            "society.pem",
        ],
    );
    assert_eq!(String::from_utf8(out)?, "office.pem: OK\nsociety.pem: OK\n");
    let out = openssl(
        d,
        &[
            "verify",
            "-CAfile",
            "ca.pem",
            "-purpose",
            "sslclient",
            "office.pem",
        ],
    );
    assert_eq!(String::from_utf8(out)?, "office.pem: OK\n");
    // The society's server logs in to the api listener with mutual TLS too.
    let (ok, _) = openssl_status(
        d,
        &[
            "verify",
            "-CAfile",
            "ca.pem",
            "-purpose",
            "sslclient",
            "society.pem",
        ],
    );
    assert!(ok, "a society certificate is a login certificate too");

    let request = certificate_request(
        &PrivateKey::generate(KeyKind::P256)?,
        "CN=Office 0002,O=KX Test",
    )?;
    std::fs::write(d.join("req.pem"), request_to_pem(&request)?)?;
    let out = openssl(d, &["req", "-in", "req.pem", "-verify", "-noout"]);
    assert!(out.is_empty());

    let crl = w.ca.crl(
        &[(w.office.tbs_certificate.serial_number.clone(), now())],
        now(),
        now() + DAY,
    )?;
    std::fs::write(d.join("crl.pem"), crl_to_pem(&crl)?)?;
    let (ok, err) = openssl_status(
        d,
        &[
            "verify",
            "-crl_check",
            "-CAfile",
            "ca.pem",
            "-CRLfile",
            "crl.pem",
            "office.pem",
        ],
    );
    assert!(!ok && err.contains("certificate revoked"), "{err}");
    openssl(
        d,
        &[
            "verify",
            "-crl_check",
            "-CAfile",
            "ca.pem",
            "-CRLfile",
            "crl.pem",
            "society.pem",
        ],
    );
    Ok(())
}

#[test]
fn we_issue_from_an_openssl_request() -> TestResult {
    let w = world(365);
    let f = fixtures();
    let request = kx_crypto::request_from_pem_or_der(&std::fs::read(f.path("ec.csr"))?)?;
    let cert = w.ca.issue(&request, Profile::Office, now(), DAY * 30)?;
    assert_eq!(kx_crypto::PublicKey::of(&cert)?, f.key("ec").public_key());
    let mut forged = request.clone();
    forged.info.subject = "CN=Someone else".parse()?;
    let err =
        w.ca.issue(&forged, Profile::Office, now(), DAY)
            .expect_err("altered request");
    assert!(matches!(err, Error::Request(_)), "{err}");
    Ok(())
}

#[test]
fn renewal_days_left_and_app_checks() -> TestResult {
    let w = world(90);
    let t = now();
    assert_eq!(days_left(&w.office, t), 89);
    assert!(!renewal_due(&w.office, t));
    assert!(renewal_due(&w.office, t + DAY * 31));
    assert_eq!(check_office_certificate(&w.office, t), Ok(()));
    assert_eq!(
        check_office_certificate(&w.office, t + DAY * 91),
        Err(AppCode::E3002)
    );
    assert!(days_left(&w.office, t + DAY * 91) < 0);

    let new_key = PrivateKey::generate(KeyKind::P256)?;
    let request = certificate_request(&new_key, "CN=Society,O=KX Test")?;
    let renewed = w.ca.renew(
        &w.society,
        &request,
        Profile::Society,
        t + DAY * 40,
        DAY * 365,
    )?;
    assert_eq!(
        renewed.tbs_certificate.subject,
        w.society.tbs_certificate.subject
    );
    assert_eq!(
        check_society_certificate(&renewed, &renewed, t + DAY * 41),
        Ok(())
    );
    assert_eq!(
        check_society_certificate(&w.society, &renewed, t + DAY * 41),
        Err(AppCode::E3003)
    );
    assert_eq!(
        check_society_certificate(&w.society, &renewed, t + DAY * 91),
        Err(AppCode::E3001)
    );

    let late = w.ca.renew(
        &w.society,
        &request,
        Profile::Society,
        t + DAY * 91,
        DAY * 365,
    );
    assert!(
        matches!(late, Err(Error::CertificateExpired { .. })),
        "renewal after expiry"
    );
    let other = certificate_request(&new_key, "CN=Other,O=KX Test")?;
    let renamed = w.ca.renew(&w.society, &other, Profile::Society, t, DAY);
    assert!(matches!(renamed, Err(Error::Request(_))));
    Ok(())
}

#[test]
fn our_encrypted_keys_open_with_openssl_pkcs8_and_back() -> TestResult {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let f = fixtures();
    for name in ["rsa", "ec"] {
        let key = f.key(name);
        // The default's memory (N, r) is what OpenSSL limits; its p only adds time, which a
        // debug-build test need not spend.
        let cost = KdfCost {
            p: 1,
            ..KdfCost::DEFAULT
        };
        let file = encrypt_key(&key, &Pin::new("4821")?, cost)?;
        std::fs::write(d.join("enc.pem"), file.as_bytes())?;
        openssl(
            d,
            &[
                "pkcs8",
                "-in",
                "enc.pem",
                "-passin",
                "pass:4821",
                "-out",
                "plain.pem",
            ],
        );
        let plain = std::fs::read_to_string(d.join("plain.pem"))?;
        assert_eq!(plain, *private_key_to_pem(&key)?, "{name}");
        let (ok, _) = openssl_status(
            d,
            &[
                "pkcs8",
                "-in",
                "enc.pem",
                "-passin",
                "pass:4822",
                "-out",
                "x.pem",
            ],
        );
        assert!(!ok, "openssl must refuse the wrong PIN");

        openssl(
            d,
            &[
                "pkcs8",
                "-topk8",
                "-in",
                "plain.pem",
                "-v2",
                "aes-256-cbc",
                "-scrypt",
                "-passout",
                "pass:1357",
                "-out",
                "os-enc.pem",
            ],
        );
        let back = decrypt_key(&std::fs::read(d.join("os-enc.pem"))?, &Pin::new("1357")?)?;
        assert_eq!(back.public_key(), key.public_key(), "{name}");
    }
    Ok(())
}

#[test]
fn key_file_pin_change_replaces_the_file_atomically() -> TestResult {
    let dir = tempfile::tempdir()?;
    let file = KeyFile::at(dir.path().join("office.key"));
    let key = PrivateKey::generate(KeyKind::P256)?;
    file.create(&key, &Pin::new("1111")?, KdfCost::INSECURE_FAST)?;
    assert!(
        file.create(&key, &Pin::new("1111")?, KdfCost::INSECURE_FAST)
            .is_err(),
        "no overwrite"
    );
    let err = file
        .change_pin(
            &Pin::new("1112")?,
            &Pin::new("2222")?,
            KdfCost::INSECURE_FAST,
        )
        .expect_err("wrong old PIN");
    assert!(matches!(err, Error::WrongPin));
    assert_eq!(
        file.load(&Pin::new("1111")?)?.public_key(),
        key.public_key(),
        "unchanged after a refused change"
    );
    file.change_pin(
        &Pin::new("1111")?,
        &Pin::new("2222")?,
        KdfCost::INSECURE_FAST,
    )?;
    assert_eq!(
        file.load(&Pin::new("2222")?)?.public_key(),
        key.public_key()
    );
    assert!(matches!(
        file.load(&Pin::new("1111")?),
        Err(Error::WrongPin)
    ));
    let names: Vec<_> = std::fs::read_dir(dir.path())?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()?;
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("office.key")],
        "no temporary file left"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(file.path())?.permissions().mode() & 0o777,
            0o600
        );
    }
    Ok(())
}

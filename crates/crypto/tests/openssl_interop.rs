//! Interop with the real `openssl cms`, both ways, for every signer × recipient × cipher.

mod common;

use common::{TestResult, fixtures, now, openssl, openssl_decrypt, openssl_verify};
use kx_crypto::{
    ContentEncryption, KeyTransport, Receiver, Recipient, SealOptions, SignatureScheme, Signer,
    TrustStore, open, seal,
};

const SIGNERS: [(&str, SignatureScheme); 3] = [
    ("rsa", SignatureScheme::RsaPkcs1v15),
    ("rsa", SignatureScheme::RsaPss),
    ("ec", SignatureScheme::Ecdsa),
];

const RECIPIENTS: [(&str, KeyTransport); 3] = [
    ("rsa", KeyTransport::RsaOaep),
    ("rsa", KeyTransport::RsaPkcs1v15),
    ("ec", KeyTransport::EcdhP256),
];

const CIPHERS: [(ContentEncryption, &str); 2] = [
    (ContentEncryption::Aes256Cbc, "-aes-256-cbc"),
    (ContentEncryption::Aes256Gcm, "-aes-256-gcm"),
];

/// Content spanning several segments, with a tail that is not a whole block.
fn content() -> Vec<u8> {
    (0..200_003u32).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[test]
fn openssl_decrypts_and_verifies_what_we_seal() -> TestResult {
    let f = fixtures();
    let plain = content();
    std::fs::write(f.path("plain.bin"), &plain)?;
    for (signer_name, scheme) in SIGNERS {
        let signer = Signer::new(f.key(signer_name), f.cert(signer_name))?.with_scheme(scheme)?;
        for (recipient_name, transport) in RECIPIENTS {
            let recipient = Recipient::with_transport(f.cert(recipient_name), transport)?;
            for (cipher, _) in CIPHERS {
                let case = format!("{scheme:?}/{transport:?}/{cipher:?}");
                let options = SealOptions {
                    content: cipher,
                    signing_time: now(),
                };
                let sealed = seal(
                    &signer,
                    std::slice::from_ref(&recipient),
                    options,
                    &plain[..],
                    Vec::new(),
                )?;
                std::fs::write(f.path("sealed.der"), &sealed)?;
                let rk = format!("{recipient_name}.key");
                let rc = format!("{recipient_name}.pem");
                openssl_decrypt(f.dir(), "sealed.der", &rk, Some(&rc), "signed.der");
                openssl_verify(f.dir(), "signed.der", "ca.pem", "verified.bin");
                assert_eq!(std::fs::read(f.path("verified.bin"))?, plain, "{case}");
            }
        }
    }
    Ok(())
}

#[test]
fn we_open_what_openssl_signs_and_encrypts() -> TestResult {
    let f = fixtures();
    let plain = content();
    std::fs::write(f.path("in.bin"), &plain)?;
    let trust = TrustStore::new(vec![f.cert("ca")]);
    for (signer_name, scheme) in SIGNERS {
        let mut sign = vec![
            "cms",
            "-sign",
            "-binary",
            "-nodetach",
            "-in",
            "in.bin",
            "-outform",
            "DER",
        ];
        let sc = format!("{signer_name}.pem");
        let sk = format!("{signer_name}.key");
        sign.extend(["-signer", &sc, "-inkey", &sk, "-out", "os-signed.der"]);
        if scheme == SignatureScheme::RsaPss {
            sign.extend(["-keyopt", "rsa_padding_mode:pss"]);
        }
        for stream in [false, true] {
            let mut sign = sign.clone();
            // OpenSSL 3.0 cannot stream an RSA-PSS signature ("illegal zero content"); the
            // envelope around it is still streamed.
            if stream && scheme != SignatureScheme::RsaPss {
                sign.push("-stream");
            }
            openssl(f.dir(), &sign);
            for (recipient_name, transport) in RECIPIENTS {
                let rc = format!("{recipient_name}.pem");
                for (_, cipher_flag) in CIPHERS {
                    let case = format!("{scheme:?}/{transport:?}/{cipher_flag}/stream={stream}");
                    let mut enc = vec![
                        "cms",
                        "-encrypt",
                        "-binary",
                        "-in",
                        "os-signed.der",
                        "-outform",
                        "DER",
                        cipher_flag,
                        "-out",
                        "os-sealed.der",
                        "-recip",
                        &rc,
                    ];
                    match transport {
                        KeyTransport::RsaOaep => enc.extend(["-keyopt", "rsa_padding_mode:oaep"]),
                        KeyTransport::EcdhP256 | KeyTransport::RsaPkcs1v15 => {}
                    }
                    if stream {
                        enc.push("-stream");
                    }
                    openssl(f.dir(), &enc);
                    let sealed = std::fs::read(f.path("os-sealed.der"))?;
                    let key = f.key(recipient_name);
                    let cert = f.cert(recipient_name);
                    let receiver = Receiver {
                        key: &key,
                        cert: Some(&cert),
                    };
                    let opened = open(&sealed[..], receiver, &trust, now(), Vec::new())
                        .map_err(|e| format!("{case}: {e}"))?;
                    assert_eq!(opened.content, plain, "{case}");
                    assert_eq!(opened.signer, f.cert(signer_name), "{case}");
                    assert!(opened.signing_time.is_some(), "{case}");
                }
            }
        }
    }
    Ok(())
}

#[test]
fn intermediate_certificates_travel_in_the_message() -> TestResult {
    let f = fixtures();
    let signer =
        Signer::new(f.key("chained"), f.cert("chained"))?.with_chain(vec![f.cert("inter")]);
    let options = SealOptions {
        content: ContentEncryption::Aes256Cbc,
        signing_time: now(),
    };
    let sealed = seal(
        &signer,
        &[Recipient::new(f.cert("ec"))?],
        options,
        &b"chained"[..],
        Vec::new(),
    )?;
    let key = f.key("ec");
    let receiver = Receiver {
        key: &key,
        cert: None,
    };
    let trust = TrustStore::new(vec![f.cert("ca")]);
    let opened = open(&sealed[..], receiver, &trust, now(), Vec::new())?;
    assert_eq!(opened.content, b"chained");
    std::fs::write(f.path("chained.der"), &sealed)?;
    openssl_decrypt(f.dir(), "chained.der", "ec.key", None, "chained-signed.der");
    openssl_verify(f.dir(), "chained-signed.der", "ca.pem", "chained.out");
    assert_eq!(std::fs::read(f.path("chained.out"))?, b"chained");

    // Without the intermediate, the chain stops at it.
    let alone = Signer::new(f.key("chained"), f.cert("chained"))?;
    let sealed = seal(
        &alone,
        &[Recipient::new(f.cert("ec"))?],
        options,
        &b"chained"[..],
        Vec::new(),
    )?;
    let err =
        open(&sealed[..], receiver, &trust, now(), Vec::new()).expect_err("no path to the root");
    assert!(
        matches!(err, kx_crypto::Error::UntrustedChain { ref subject } if subject.contains("chained office")),
        "{err}"
    );
    Ok(())
}

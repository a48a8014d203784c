//! `check_envelope_start`: what this crate and `openssl cms` seal is recognised from its first
//! bytes, at every way of cutting them; anything else is refused without waiting for more.

mod common;

use common::{TestResult, World, fixtures, openssl, world};
use kx_crypto::{
    ContentEncryption, ENVELOPE_START_LIMIT, EnvelopeStart, Error, check_envelope_start,
};

fn sealed(w: &World, content: ContentEncryption, plain: &[u8]) -> Result<Vec<u8>, Error> {
    common::seal_from_office(w, content, &[w.society.clone(), w.office.clone()], plain)
}

/// Feeds `message` as an upload arrives, a byte more each time: undecided, then decided at one
/// point and the same from there on. Returns the verdict and how many bytes it took.
fn verdict_of(message: &[u8]) -> (EnvelopeStart, usize) {
    let decided = (0..=message.len())
        .find(|&n| check_envelope_start(&message[..n]).ok() != Some(EnvelopeStart::NeedMore))
        .expect("a whole message is decided");
    let verdict = check_envelope_start(&message[..decided]).expect("a sealed file");
    for n in [decided + 1, message.len()] {
        assert_eq!(
            check_envelope_start(&message[..n.min(message.len())]).ok(),
            Some(verdict)
        );
    }
    (verdict, decided)
}

#[test]
fn what_this_crate_seals_is_recognised_early() -> TestResult {
    let w = world(30);
    let plain = vec![b'x'; 300_000];
    for (content, kind) in [
        (ContentEncryption::Aes256Cbc, EnvelopeStart::Enveloped),
        (ContentEncryption::Aes256Gcm, EnvelopeStart::AuthEnveloped),
    ] {
        let message = sealed(&w, content, &plain)?;
        let (verdict, decided) = verdict_of(&message);
        assert_eq!(verdict, kind);
        assert!(decided < 4096, "needed {decided} bytes");
    }
    Ok(())
}

#[test]
fn what_openssl_seals_is_recognised() -> TestResult {
    let f = fixtures();
    std::fs::write(
        f.path("start-plain.txt"),
        b"not even signed, only enveloped",
    )?;
    for (cipher, kind) in [
        ("-aes-256-cbc", EnvelopeStart::Enveloped),
        ("-aes-256-gcm", EnvelopeStart::AuthEnveloped),
    ] {
        for stream in [false, true] {
            let mut args = vec![
                "cms",
                "-encrypt",
                "-binary",
                "-in",
                "start-plain.txt",
                "-outform",
                "DER",
                cipher,
                "-out",
                "start-sealed.der",
                "-recip",
                "ec.pem",
            ];
            if stream {
                args.push("-stream");
            }
            openssl(f.dir(), &args);
            let message = std::fs::read(f.path("start-sealed.der"))?;
            assert_eq!(verdict_of(&message).0, kind, "{cipher} stream={stream}");
        }
    }
    Ok(())
}

#[test]
fn anything_else_is_refused_without_waiting_for_more() -> TestResult {
    let w = world(30);
    let message = sealed(&w, ContentEncryption::Aes256Gcm, b"content")?;
    // A zip, text, a ContentInfo of SignedData, bare primitives, bad headers: refused at once.
    for junk in [
        &b"PK\x03\x04 this is a zip, not an envelope"[..],
        b"hello",
        b"\x30\x0b\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02",
        b"\x04\x05hello",
        b"\x1f\x00",
        b"\x30\xff",
    ] {
        assert!(check_envelope_start(junk).is_err(), "{junk:?}");
    }
    // The encrypted content type must be id-data and the algorithm one `open` supports: the
    // CBC OID inside an AuthEnvelopedData is refused.
    let gcm = [
        0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2e,
    ];
    let at = message
        .windows(gcm.len())
        .position(|w| w == gcm)
        .expect("the GCM OID");
    let mut wrong = message.clone();
    wrong[at + gcm.len() - 1] = 0x2a;
    assert!(check_envelope_start(&wrong).is_err());
    Ok(())
}

#[test]
fn an_endless_header_is_refused_at_the_limit() {
    // A ContentInfo whose originatorInfo goes on and on with empty elements.
    let mut endless = vec![
        0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03, 0xa0, 0x80,
        0x30, 0x80, 0x02, 0x01, 0x02, 0xa0, 0x80,
    ];
    assert_eq!(
        check_envelope_start(&endless).ok(),
        Some(EnvelopeStart::NeedMore)
    );
    while endless.len() < ENVELOPE_START_LIMIT {
        endless.extend_from_slice(&[0x04, 0x00]);
    }
    assert!(check_envelope_start(&endless).is_err());
}

//! Round-trip properties: arbitrary contents, signers, recipient sets and ciphers.

mod common;

use std::sync::OnceLock;

use common::{World, fixtures, now, world};
use kx_crypto::{
    ContentEncryption, KeyTransport, Receiver, Recipient, SealOptions, SignatureScheme, Signer,
    TrustStore, open, seal,
};
use proptest::prelude::*;

fn signer(which: u8) -> Signer {
    let f = fixtures();
    let (name, scheme) = match which % 3 {
        0 => ("rsa", SignatureScheme::RsaPkcs1v15),
        1 => ("rsa", SignatureScheme::RsaPss),
        _ => ("ec", SignatureScheme::Ecdsa),
    };
    Signer::new(f.key(name), f.cert(name))
        .and_then(|s| s.with_scheme(scheme))
        .expect("signer")
}

proptest! {
    // RSA in a debug build is slow; each case seals once and opens up to three times.
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn every_recipient_opens_exactly_what_was_sealed(
        content in prop::collection::vec(any::<u8>(), 0..150_000),
        which_signer in any::<u8>(),
        // Bit 0: the RSA party (OAEP or PKCS#1 v1.5 by bit 3), bit 1: the EC party, bit 2: a
        // second EC party certified by another CA. At least one.
        set in 1u8..16,
        gcm in any::<bool>(),
    ) {
        let f = fixtures();
        static WORLD: OnceLock<World> = OnceLock::new();
        let w = WORLD.get_or_init(|| world(30));
        let rsa_transport = if set & 8 != 0 { KeyTransport::RsaPkcs1v15 } else { KeyTransport::RsaOaep };
        let mut parties = Vec::new();
        if set & 1 != 0 {
            parties.push((f.key("rsa"), Recipient::with_transport(f.cert("rsa"), rsa_transport).expect("rsa")));
        }
        if set & 2 != 0 {
            parties.push((f.key("ec"), Recipient::new(f.cert("ec")).expect("ec")));
        }
        if set & 4 != 0 || parties.is_empty() {
            parties.push((w.society_key.clone(), Recipient::new(w.society.clone()).expect("society")));
        }
        let recipients: Vec<Recipient> = parties.iter().map(|(_, r)| r.clone()).collect();
        let content_encryption = if gcm { ContentEncryption::Aes256Gcm } else { ContentEncryption::Aes256Cbc };
        let options = SealOptions { content: content_encryption, signing_time: now() };
        let signer = signer(which_signer);
        let sealed = seal(&signer, &recipients, options, &content[..], Vec::new()).expect("seal");
        let trust = TrustStore::new(vec![f.cert("ca")]);
        for (key, recipient) in &parties {
            let receiver = Receiver { key, cert: Some(recipient.certificate()) };
            let opened = open(&sealed[..], receiver, &trust, now(), Vec::new()).expect("open");
            prop_assert_eq!(&opened.content, &content);
        }
    }
}

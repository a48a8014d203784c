//! Feeds arbitrary bytes to `open` as both an EC and an RSA recipient.
//!
//! `seeds/` holds real messages from `openssl cms` (every signer × recipient × cipher, streamed
//! and not) sealed for the test-only keys in `keys/`, so that mutations reach deep into the
//! envelope, the decrypted SignedData and the signature checks:
//! `cargo +nightly fuzz run open corpus/open seeds -- -max_total_time=600`.

#![no_main]

use std::sync::OnceLock;
use std::time::SystemTime;

use kx_crypto::{PrivateKey, Receiver, TrustStore, certificate_from_pem_or_der, open};
use libfuzzer_sys::fuzz_target;

struct Keys {
    ec: PrivateKey,
    rsa: PrivateKey,
    trust: TrustStore,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let key = |pem: &str| PrivateKey::from_pkcs8_pem(pem).expect("embedded test key");
        let ca = certificate_from_pem_or_der(include_bytes!("../keys/ca.pem")).expect("embedded CA");
        Keys {
            ec: key(include_str!("../keys/ec.key")),
            rsa: key(include_str!("../keys/rsa.key")),
            trust: TrustStore::new(vec![ca]),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let keys = keys();
    for key in [&keys.ec, &keys.rsa] {
        let receiver = Receiver { key, cert: None };
        // Any answer is fine; a panic, a hang or unbounded memory is the bug being hunted.
        let _ = open(data, receiver, &keys.trust, SystemTime::now(), Vec::new());
    }
});

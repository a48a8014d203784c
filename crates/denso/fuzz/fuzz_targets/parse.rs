//! `Message::parse` on arbitrary bytes; whatever parses must build again and parse to the same
//! message (the round trip the property tests check on generated messages).
#![no_main]

use kx_denso::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = Message::parse(data) {
        if let Ok(bytes) = message.to_bytes() {
            let again = Message::parse(&bytes).expect("a built message parses");
            assert_eq!(again, message);
        }
    }
});

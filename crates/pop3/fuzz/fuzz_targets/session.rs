//! Arbitrary bytes as what a client sends, split where the first bytes say, through the real
//! POP3 session and the in-memory backend: the properties checked are in
//! `kx_pop3::fuzzing::session`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kx_pop3::fuzzing::session(data));

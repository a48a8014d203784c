//! Arbitrary bytes as what a client sends, split where the first bytes say, through the real
//! SMTP session and the in-memory gateway: the properties checked are in
//! `kx_smtp::fuzzing::session`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kx_smtp::fuzzing::session(data));

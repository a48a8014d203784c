//! Arbitrary bytes as an upload's name and body, framed where the first byte says, through the
//! check the server applies while the body streams: the property is in
//! `kx_exchange::fuzzing::upload`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kx_exchange::fuzzing::upload(data));

//! Arbitrary bytes as an archive: read every entry and decode its data under tight limits.
//! Any outcome but a panic, a hang or unbounded memory is fine.
#![no_main]

use kx_lzh::{Budget, Limits, Reader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_entries: 64, max_total_size: 16 << 20, max_ratio: 1_000, ratio_floor: 1 << 16 };
    let mut budget = Budget::new(limits);
    let mut reader = Reader::new(data, &mut budget);
    while let Ok(Some(_entry)) = reader.next_entry() {
        if reader.read_data(&mut std::io::sink()).is_err() {
            break;
        }
    }
});

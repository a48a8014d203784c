//! Arbitrary bytes through the writer and back: the reader must return them unchanged,
//! whichever of `-lh5-` or `-lh0-` the writer chose.
#![no_main]

use std::time::UNIX_EPOCH;

use kx_lzh::{Budget, Limits, Writer, unpack};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut writer = Writer::new(Vec::new());
    writer.add_file("f", UNIX_EPOCH, data).expect("in-memory write");
    let archive = writer.finish().expect("in-memory finish");
    let entries = unpack(&archive, &mut Budget::new(Limits::unlimited())).expect("own archive reads back");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].data, data);
});

//! Test payloads that do not compress and do not repeat at any part or chunk size.

/// `len` deterministic bytes of xorshift noise from `seed`: the same for the same seed, so a
/// file written, sent and received can be compared with a fresh copy.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

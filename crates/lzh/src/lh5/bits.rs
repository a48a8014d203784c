//! The most-significant-bit-first bit stream `-lh5-` is written in.

/// Collects bits into bytes; the caller drains [`BitWriter::bytes`] whenever it likes.
#[derive(Debug, Default)]
pub(crate) struct BitWriter {
    acc: u64,
    pending: u32,
    bytes: Vec<u8>,
}

impl BitWriter {
    /// Appends the low `count` bits of `value`, most significant first (`count` ≤ 32).
    pub(crate) fn put(&mut self, count: u32, value: u32) {
        debug_assert!(count <= 32);
        if count == 0 {
            return;
        }
        self.acc = (self.acc << count) | u64::from(value & (u32::MAX >> (32 - count)));
        self.pending += count;
        while self.pending >= 8 {
            self.pending -= 8;
            self.bytes.push((self.acc >> self.pending) as u8);
        }
    }

    /// Pads the last partial byte with zero bits.
    pub(crate) fn align(&mut self) {
        if self.pending > 0 {
            self.put(8 - self.pending, 0);
        }
    }

    /// The completed bytes not yet taken.
    pub(crate) fn bytes(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_msb_first_and_pads_with_zeros() {
        let mut bits = BitWriter::default();
        bits.put(1, 1);
        bits.put(3, 0b010);
        bits.put(9, 0x1FF);
        bits.align();
        assert_eq!(bits.bytes().as_slice(), &[0b1010_1111, 0b1111_1000]);
    }
}

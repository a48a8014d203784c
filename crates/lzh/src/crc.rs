//! CRC-16/ARC, the checksum LHA keeps for every file and every level-2 header.

/// Slicing-by-8 tables: `TABLES[k][b]` is the CRC of byte `b` followed by `k` zero bytes,
/// so eight input bytes are folded in with eight independent lookups.
const TABLES: [[u16; 256]; 8] = build_tables();

const fn build_tables() -> [[u16; 256]; 8] {
    let mut tables = [[0u16; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u16;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xA001
            } else {
                crc >> 1
            };
            bit += 1;
        }
        tables[0][i] = crc;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = tables[k - 1][i];
            tables[k][i] = (prev >> 8) ^ tables[0][(prev & 0xFF) as usize];
            i += 1;
        }
        k += 1;
    }
    tables
}

/// A running CRC-16 (polynomial 0x8005 reflected, initial value 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Crc16(u16);

impl Crc16 {
    /// A checksum over no bytes.
    pub fn new() -> Self {
        Self(0)
    }

    /// Feeds `data` into the checksum.
    pub fn update(&mut self, data: &[u8]) {
        let t = &TABLES;
        let mut chunks = data.chunks_exact(8);
        for c in &mut chunks {
            let [lo, hi] = self.0.to_le_bytes();
            self.0 = t[7][usize::from(c[0] ^ lo)]
                ^ t[6][usize::from(c[1] ^ hi)]
                ^ t[5][usize::from(c[2])]
                ^ t[4][usize::from(c[3])]
                ^ t[3][usize::from(c[4])]
                ^ t[2][usize::from(c[5])]
                ^ t[1][usize::from(c[6])]
                ^ t[0][usize::from(c[7])];
        }
        for &byte in chunks.remainder() {
            self.0 = (self.0 >> 8) ^ t[0][usize::from((self.0 as u8) ^ byte)];
        }
    }

    /// The checksum of every byte fed so far.
    pub fn value(self) -> u16 {
        self.0
    }

    /// The checksum of `data` alone.
    pub fn of(data: &[u8]) -> u16 {
        let mut crc = Self::new();
        crc.update(data);
        crc.value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_arc_check_value() {
        assert_eq!(Crc16::of(b"123456789"), 0xBB3D);
    }

    #[test]
    fn every_length_and_split_agrees_with_the_bitwise_definition() {
        fn bitwise(data: &[u8]) -> u16 {
            let mut crc = 0u16;
            for &byte in data {
                crc ^= u16::from(byte);
                for _ in 0..8 {
                    crc = if crc & 1 != 0 {
                        (crc >> 1) ^ 0xA001
                    } else {
                        crc >> 1
                    };
                }
            }
            crc
        }
        let data: Vec<u8> = (0..100u32).map(|i| (i * 37 + 11) as u8).collect();
        for len in 0..data.len() {
            for split in 0..=len {
                let mut crc = Crc16::new();
                crc.update(&data[..split]);
                crc.update(&data[split..len]);
                assert_eq!(
                    crc.value(),
                    bitwise(&data[..len]),
                    "len {len} split {split}"
                );
            }
        }
    }

    #[test]
    fn is_incremental() {
        let mut crc = Crc16::new();
        crc.update(b"1234");
        crc.update(b"56789");
        assert_eq!(crc.value(), Crc16::of(b"123456789"));
    }
}

//! CRC-16/ARC, the checksum LHA keeps for every file and every level-2 header.

const TABLE: [u16; 256] = build_table();

const fn build_table() -> [u16; 256] {
    let mut table = [0u16; 256];
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
        table[i] = crc;
        i += 1;
    }
    table
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
        for &byte in data {
            self.0 = (self.0 >> 8) ^ TABLE[usize::from((self.0 as u8) ^ byte)];
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
    fn is_incremental() {
        let mut crc = Crc16::new();
        crc.update(b"1234");
        crc.update(b"56789");
        assert_eq!(crc.value(), Crc16::of(b"123456789"));
    }
}

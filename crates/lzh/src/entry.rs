//! What an archive says about each entry.

use std::fmt;
use std::time::SystemTime;

use crate::EntryPath;

/// A compression method, as named in the header (`-lh5-` …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// Stored without compression.
    Lh0,
    /// LZSS + Huffman, 4 KiB window.
    Lh4,
    /// LZSS + Huffman, 8 KiB window: what LHA writes by default and what this crate writes.
    Lh5,
    /// LZSS + Huffman, 32 KiB window.
    Lh6,
    /// LZSS + Huffman, 64 KiB window.
    Lh7,
    /// A directory (no data).
    Lhd,
    /// Anything else (`-lh1-`, `-lzs-`, `-pm2-` …): listed, but its data is not decoded.
    Other([u8; 5]),
}

impl Method {
    /// The five bytes of the header's method field.
    pub fn id(self) -> [u8; 5] {
        match self {
            Self::Lh0 => *b"-lh0-",
            Self::Lh4 => *b"-lh4-",
            Self::Lh5 => *b"-lh5-",
            Self::Lh6 => *b"-lh6-",
            Self::Lh7 => *b"-lh7-",
            Self::Lhd => *b"-lhd-",
            Self::Other(id) => id,
        }
    }

    /// The method named by a header's method field.
    pub fn from_id(id: [u8; 5]) -> Self {
        [
            Self::Lh0,
            Self::Lh4,
            Self::Lh5,
            Self::Lh6,
            Self::Lh7,
            Self::Lhd,
        ]
        .into_iter()
        .find(|method| method.id() == id)
        .unwrap_or(Self::Other(id))
    }

    /// Whether this crate decodes the method's data.
    pub fn is_supported(self) -> bool {
        !matches!(self, Self::Other(_))
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.id()))
    }
}

/// One archive entry's header: a file or a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Where it goes, already checked to be safe.
    pub path: EntryPath,
    /// Whether it is a directory (no data).
    pub is_directory: bool,
    /// How its data is compressed.
    pub method: Method,
    /// Unpacked size in bytes.
    pub size: u64,
    /// Packed size in bytes.
    pub packed_size: u64,
    /// CRC-16 of the unpacked data.
    pub crc: u16,
    /// Last modification time, when the header holds a valid one. Level 0 and 1 headers
    /// store local time without a zone; it is read in this machine's zone, as LHA does.
    pub modified: Option<SystemTime>,
    /// Header level (0, 1, 2 or 3).
    pub header_level: u8,
}

//! The one error type of this crate.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong reading, writing or extracting an archive.
///
/// Entries are named by their path once it is known, otherwise by their position
/// (`entry #1` is the first).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The reader or writer this crate was handed failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// A file or directory under the extraction target could not be read or written.
    #[error("{}: {source}", path.display())]
    File {
        /// The file or directory concerned.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// A header is not a valid LHA header.
    #[error("entry #{index}: malformed header: {detail}")]
    MalformedHeader {
        /// Position of the entry, from 1.
        index: usize,
        /// What is wrong with it.
        detail: String,
    },
    /// The archive ends in the middle of a header or of an entry's data.
    #[error("{entry}: the archive is truncated")]
    Truncated {
        /// The entry being read.
        entry: String,
    },
    /// Compressed data cannot be decoded.
    #[error("{entry}: corrupt compressed data: {detail}")]
    CorruptData {
        /// The entry being read.
        entry: String,
        /// What the decoder found.
        detail: String,
    },
    /// The data decoded does not have the CRC-16 its header promises.
    #[error("{entry}: CRC-16 mismatch (header {expected:04X}, data {actual:04X})")]
    CrcMismatch {
        /// The entry being read.
        entry: String,
        /// CRC-16 stored in the header.
        expected: u16,
        /// CRC-16 of the decoded data.
        actual: u16,
    },
    /// The entry uses a compression method this crate does not decode.
    #[error("{entry}: compression method {method} is not supported")]
    UnsupportedMethod {
        /// The entry being read.
        entry: String,
        /// The method identifier, e.g. `-lh1-`.
        method: String,
    },
    /// A path is absolute, climbs out with `..`, names a drive, or is otherwise unsafe or
    /// unrepresentable.
    #[error("unsafe or invalid path {path:?}: {reason}")]
    InvalidPath {
        /// The path as found (or given).
        path: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The entry is a symbolic or hard link; links are never created.
    #[error("{entry}: is a link, which is refused")]
    Link {
        /// The entry concerned.
        entry: String,
    },
    /// The archives drawn against one [`Budget`](crate::Budget) have more entries than
    /// [`Limits::max_entries`](crate::Limits::max_entries).
    #[error("more than {limit} entries")]
    TooManyEntries {
        /// The limit.
        limit: usize,
    },
    /// Unpacking this entry would take everything drawn against one [`Budget`](crate::Budget)
    /// beyond [`Limits::max_total_size`](crate::Limits::max_total_size).
    #[error("{entry}: total unpacked size would exceed the limit of {limit} bytes")]
    TotalSizeExceeded {
        /// The entry that crosses the limit.
        entry: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The entry, or everything drawn against one [`Budget`](crate::Budget) up to and
    /// including it, expands more than [`Limits::max_ratio`](crate::Limits::max_ratio) allows.
    #[error(
        "{entry}: {size} bytes unpacked from {packed} packed exceeds the compression ratio limit of {limit}:1"
    )]
    RatioExceeded {
        /// The entry that crosses the limit.
        entry: String,
        /// The unpacked size that breaks it (the entry's, or the running total's).
        size: u64,
        /// The packed size it came from.
        packed: u64,
        /// The limit.
        limit: u64,
    },
    /// A file is too big for the 32-bit size fields of an LZH header.
    #[error("{entry}: {size} bytes is more than an LZH entry holds (4 GiB - 1)")]
    TooLarge {
        /// The entry concerned.
        entry: String,
        /// Its size in bytes.
        size: u64,
    },
    /// The extraction target holds something in the way: a link or a file where a directory
    /// is needed, or a directory where a file is needed.
    #[error("{}: refusing to extract through or over an existing {found}", path.display())]
    Obstructed {
        /// The path in the way.
        path: PathBuf,
        /// What is there.
        found: &'static str,
    },
}

impl Error {
    /// Whether this is a [`Budget`](crate::Budget) refusing more (too many entries, too many
    /// bytes, too high a ratio) rather than a broken or unsafe archive.
    pub fn is_over_budget(&self) -> bool {
        matches!(
            self,
            Error::TooManyEntries { .. }
                | Error::TotalSizeExceeded { .. }
                | Error::RatioExceeded { .. }
        )
    }
}

//! LHA/LZH archives: read every common method, write `-lh0-` and `-lh5-`, extract safely.
//!
//! The 伝送 protocol carries claim data as `.LZH` archives in both directions; this crate is
//! where everything about that format lives. It does no I/O of its own beyond the readers and
//! writers it is handed, except [`extract`], which writes into the directory it is given.
//!
//! - [`Writer`] builds an archive (level-2 headers, Shift_JIS names, `-lh5-` with a fallback
//!   to `-lh0-` per file, directory entries).
//! - [`Reader`] reads one entry at a time (header levels 0–2, `-lh0-`, `-lh4-`…`-lh7-`,
//!   `-lhd-`), checking paths and CRC-16 and drawing every entry against a [`Budget`] of
//!   [`Limits`], which all the archives of one message share; [`unpack`] and [`list`] wrap it.
//! - [`extract`] unpacks into a directory without ever writing outside it.

mod crc;
mod entry;
mod error;
mod extract;
mod header;
mod lh5;
mod limits;
mod path;
mod reader;
mod writer;

pub use crc::Crc16;
pub use entry::{Entry, Method};
pub use error::Error;
pub use extract::{Extracted, extract, open};
pub use limits::{Budget, Limits};
pub use path::EntryPath;
pub use reader::{Reader, Unpacked, list, unpack};
pub use writer::{Compression, Writer};

//! Reading archives entry by entry, data streamed and checked against the limits and CRC.

use std::io::{self, Read, Write};

use delharc::decode::Decoder;
use delharc::{LhaDecodeReader, LhaError};

use crate::crc::Crc16;
use crate::header::entry_from;
use crate::{Budget, Entry, Error};

/// Reads an archive from any [`Read`], one entry at a time, never holding more than one
/// entry's decoder (window + buffers) in memory, each entry drawn against a [`Budget`] that
/// may be shared with other archives.
///
/// ```
/// # fn main() -> Result<(), kx_lzh::Error> {
/// # let archive = kx_lzh::Writer::new(Vec::new()).finish()?;
/// let mut budget = kx_lzh::Budget::default();
/// let mut reader = kx_lzh::Reader::new(archive.as_slice(), &mut budget);
/// while let Some(entry) = reader.next_entry()? {
///     let mut data = Vec::new();
///     reader.read_data(&mut data)?;
///     println!("{} {} bytes", entry.path, data.len());
/// }
/// # Ok(()) }
/// ```
pub struct Reader<'b, R: Read> {
    state: State<R>,
    budget: &'b mut Budget,
    /// Entries of this archive so far, to name one whose header cannot be read.
    entries: usize,
    current: Option<Entry>,
}

enum State<R: Read> {
    Start(R),
    Open(Box<LhaDecodeReader<R>>),
    Done,
}

fn header_error(index: usize, err: LhaError<io::Error>) -> Error {
    match err {
        LhaError::Io(err) if err.kind() == io::ErrorKind::UnexpectedEof => Error::Truncated {
            entry: format!("entry #{index} header"),
        },
        LhaError::Io(err) => Error::Io(err),
        other => Error::MalformedHeader {
            index,
            detail: other.to_string(),
        },
    }
}

impl<'b, R: Read> Reader<'b, R> {
    /// Reads `archive`, drawing its entries against `budget`.
    pub fn new(archive: R, budget: &'b mut Budget) -> Self {
        Self {
            state: State::Start(archive),
            budget,
            entries: 0,
            current: None,
        }
    }

    /// The next entry's header, or `None` at the end of the archive. Skips whatever of the
    /// previous entry's data was not read. Refuses unsafe paths, links and entries beyond
    /// the budget before any of their data is decoded.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, Error> {
        let index = self.entries + 1;
        let found = match std::mem::replace(&mut self.state, State::Done) {
            State::Start(archive) => match LhaDecodeReader::new(archive) {
                Ok(decoder) => {
                    self.state = State::Open(Box::new(decoder));
                    true
                }
                Err(err) => match LhaError::from(err) {
                    LhaError::HeaderParse(delharc::error::LhaHeaderError::HeaderNotFound) => false,
                    err => return Err(header_error(index, err)),
                },
            },
            State::Open(mut decoder) => {
                let more = decoder
                    .next_file()
                    .map_err(|err| header_error(index, err.into()))?;
                self.state = State::Open(decoder);
                more
            }
            State::Done => false,
        };
        self.current = None;
        let State::Open(decoder) = &self.state else {
            return Ok(None);
        };
        if !found {
            self.state = State::Done;
            return Ok(None);
        }
        self.entries = index;
        self.budget.draw_entry()?;
        let entry = entry_from(decoder.header(), index)?;
        self.budget.draw_sizes(&entry)?;
        self.current = Some(entry.clone());
        Ok(Some(entry))
    }

    /// Decodes the current entry's data into `out` and checks its CRC-16; returns the
    /// number of bytes written. A directory has none. On error, `out` holds a partial
    /// result the caller must discard.
    pub fn read_data<W: Write + ?Sized>(&mut self, out: &mut W) -> Result<u64, Error> {
        let (Some(entry), State::Open(decoder)) = (self.current.take(), &mut self.state) else {
            return Ok(0);
        };
        if entry.is_directory {
            return Ok(0);
        }
        let name = || entry.path.to_string();
        if !entry.method.is_supported() {
            return Err(Error::UnsupportedMethod {
                entry: name(),
                method: entry.method.to_string(),
            });
        }
        // The decoder is driven directly: going through delharc's `Read` would compute a second
        // CRC-16 over every byte.
        let Some(decoder) = decoder.get_mut_decoder() else {
            return Ok(0);
        };
        let mut crc = Crc16::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        while total < entry.size {
            let chunk = &mut buf[..(entry.size - total).min(64 * 1024) as usize];
            decoder.fill_buffer(chunk).map_err(|err| match err {
                LhaError::Io(err) if err.kind() == io::ErrorKind::UnexpectedEof => {
                    Error::Truncated { entry: name() }
                }
                other => Error::CorruptData {
                    entry: name(),
                    detail: other.to_string(),
                },
            })?;
            crc.update(chunk);
            out.write_all(chunk)?;
            total += chunk.len() as u64;
        }
        if crc.value() != entry.crc {
            return Err(Error::CrcMismatch {
                entry: name(),
                expected: entry.crc,
                actual: crc.value(),
            });
        }
        Ok(total)
    }
}

/// One entry of an archive unpacked in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpacked {
    /// The entry's header.
    pub entry: Entry,
    /// Its data (empty for a directory).
    pub data: Vec<u8>,
}

/// Unpacks a whole archive held in memory, e.g. an uploaded `.LZH`, drawing on `budget`.
/// Every entry's CRC is checked; the first problem refuses the whole archive.
pub fn unpack(archive: &[u8], budget: &mut Budget) -> Result<Vec<Unpacked>, Error> {
    let mut reader = Reader::new(archive, budget);
    let mut entries = Vec::new();
    while let Some(entry) = reader.next_entry()? {
        let mut data = Vec::new();
        reader.read_data(&mut data)?;
        entries.push(Unpacked { entry, data });
    }
    Ok(entries)
}

/// Lists an archive's entries without decoding their data, drawing their headers on `budget`.
pub fn list<R: Read>(archive: R, budget: &mut Budget) -> Result<Vec<Entry>, Error> {
    let mut reader = Reader::new(archive, budget);
    let mut entries = Vec::new();
    while let Some(entry) = reader.next_entry()? {
        entries.push(entry);
    }
    Ok(entries)
}

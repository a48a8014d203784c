//! LHA headers: level-2 headers written, every level's fields read into an [`Entry`].

use std::time::{SystemTime, UNIX_EPOCH};

use delharc::LhaHeader;

use crate::crc::Crc16;
use crate::path::decode_name;
use crate::{Entry, EntryPath, Error, Method};

const EXT_COMMON: u8 = 0x00;
const EXT_FILENAME: u8 = 0x01;
const EXT_DIRECTORY: u8 = 0x02;
const EXT_UNIX_MODE: u8 = 0x50;
/// Level-2 directory components are terminated by 0xFF, a byte Shift_JIS never uses.
const DIR_SEPARATOR: u8 = 0xFF;
/// The header's "reserved"/attribute byte: LHA writes 0x20 (archive) at level 2.
const ATTRIBUTE: u8 = 0x20;
/// OS id 'M' (MS-DOS): the archives go to Windows users.
const OS_ID: u8 = b'M';
const BASE_LEN: usize = 26;

/// The fields of one level-2 header.
pub(crate) struct Header<'a> {
    pub(crate) path: &'a EntryPath,
    pub(crate) method: Method,
    pub(crate) packed_size: u64,
    pub(crate) size: u64,
    pub(crate) crc: u16,
    pub(crate) modified: SystemTime,
}

fn ext_header(out: &mut Vec<u8>, id: u8, data: &[u8]) {
    out.extend_from_slice(&((data.len() + 3) as u16).to_le_bytes());
    out.push(id);
    out.extend_from_slice(data);
}

impl Header<'_> {
    /// Serialises the header, CRC included.
    pub(crate) fn to_level2(&self) -> Result<Vec<u8>, Error> {
        let too_large = |size| Error::TooLarge {
            entry: self.path.to_string(),
            size,
        };
        let packed = u32::try_from(self.packed_size).map_err(|_| too_large(self.packed_size))?;
        let size = u32::try_from(self.size).map_err(|_| too_large(self.size))?;
        let mtime = self
            .modified
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs().min(u64::from(u32::MAX)) as u32);
        let (mut dir, name) = self.path.to_shift_jis()?;
        if self.method == Method::Lhd {
            dir.extend_from_slice(&name);
            dir.push(DIR_SEPARATOR);
        }

        let mut out = Vec::with_capacity(BASE_LEN + 16 + dir.len() + name.len());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.method.id());
        out.extend_from_slice(&packed.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&mtime.to_le_bytes());
        out.extend_from_slice(&[ATTRIBUTE, 2]);
        out.extend_from_slice(&self.crc.to_le_bytes());
        out.push(OS_ID);
        // Each extended header is preceded by its size; the header CRC starts out zero.
        ext_header(&mut out, EXT_COMMON, &[0, 0]);
        let crc_at = out.len() - 2;
        if self.method != Method::Lhd {
            ext_header(&mut out, EXT_FILENAME, &name);
        }
        if !dir.is_empty() {
            ext_header(&mut out, EXT_DIRECTORY, &dir);
        }
        out.extend_from_slice(&[0, 0]);
        // A size whose low byte is 0 would read as the end-of-archive mark.
        if out.len() % 256 == 0 {
            out.push(0);
        }
        let total = u16::try_from(out.len()).map_err(|_| Error::InvalidPath {
            path: self.path.to_string(),
            reason: "too long for an LZH header",
        })?;
        out[..2].copy_from_slice(&total.to_le_bytes());
        let crc = Crc16::of(&out);
        out[crc_at..crc_at + 2].copy_from_slice(&crc.to_le_bytes());
        Ok(out)
    }
}

/// Reads the entry a parsed header describes, refusing unsafe paths and links.
pub(crate) fn entry_from(header: &LhaHeader, index: usize) -> Result<Entry, Error> {
    let (mut raw_name, mut raw_dir): (&[u8], &[u8]) = (&header.filename, &[]);
    if header.level == 0
        && let Some(nul) = raw_name.iter().position(|&b| b == 0)
    {
        raw_name = &raw_name[..nul];
    }
    let mut unix_mode = None;
    for ext in header.iter_extra() {
        match ext {
            [EXT_FILENAME, name @ ..] => raw_name = name,
            [EXT_DIRECTORY, dir @ ..] => raw_dir = dir,
            [EXT_UNIX_MODE, lo, hi, ..] => unix_mode = Some(u16::from_le_bytes([*lo, *hi])),
            _ => {}
        }
    }
    let undecodable = |raw: &[u8]| Error::InvalidPath {
        path: String::from_utf8_lossy(raw).into_owned(),
        reason: "name is neither UTF-8 nor Shift_JIS",
    };
    let mut text = String::new();
    for part in raw_dir.split(|&b| b == DIR_SEPARATOR) {
        text.push_str(&decode_name(part).ok_or_else(|| undecodable(raw_dir))?);
        text.push('/');
    }
    text.push_str(&decode_name(raw_name).ok_or_else(|| undecodable(raw_name))?);
    let text = if raw_dir.is_empty() {
        &text[1..]
    } else {
        &text
    };

    let method = Method::from_id(header.compression);
    let is_directory = header.is_directory();
    let is_link = unix_mode.is_some_and(|mode| mode & 0o170000 == 0o120000)
        || (is_directory && text.contains('|'));
    if is_link {
        return Err(Error::Link {
            entry: text.to_owned(),
        });
    }
    let path = EntryPath::new(text).map_err(|err| match err {
        Error::InvalidPath { path, reason } => Error::InvalidPath {
            path: format!("entry #{index}: {path}"),
            reason,
        },
        other => other,
    })?;
    Ok(Entry {
        path,
        is_directory,
        method,
        size: header.original_size,
        packed_size: header.compressed_size,
        crc: header.file_crc,
        modified: header.parse_last_modified().to_utc().map(SystemTime::from),
        header_level: header.level,
    })
}

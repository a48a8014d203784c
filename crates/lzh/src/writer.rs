//! Writing archives: level-2 headers, `-lh5-` or `-lh0-` data, directories.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::time::SystemTime;

use crate::crc::Crc16;
use crate::header::Header;
use crate::lh5::Lh5Encoder;
use crate::{EntryPath, Error, Method};

/// How [`Writer`] stores file data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Compression {
    /// `-lh5-`, falling back to `-lh0-` for any file it would not make smaller.
    #[default]
    Lh5,
    /// `-lh0-` (stored) for every file.
    Lh0,
}

/// Writes an LZH archive to any [`Write`]: level-2 headers, Shift_JIS names.
///
/// Call [`Writer::finish`] at the end; an archive without its end mark is truncated.
///
/// ```
/// # fn main() -> Result<(), kx_lzh::Error> {
/// use std::time::SystemTime;
///
/// let now = SystemTime::now();
/// let mut writer = kx_lzh::Writer::new(Vec::new());
/// writer.add_directory("1234567890", now)?;
/// writer.add_file("1234567890/RESULT.CSV", now, "1,審査結果\r\n".repeat(100).as_bytes())?;
/// let archive: Vec<u8> = writer.finish()?;
///
/// let entries = kx_lzh::unpack(&archive, &mut kx_lzh::Budget::default())?;
/// assert_eq!(entries[1].entry.path.to_string(), "1234567890/RESULT.CSV");
/// assert_eq!(entries[1].entry.method, kx_lzh::Method::Lh5);
/// # Ok(()) }
/// ```
pub struct Writer<W: Write> {
    out: W,
    compression: Compression,
}

impl<W: Write> Writer<W> {
    /// An archive compressing with `-lh5-`.
    pub fn new(out: W) -> Self {
        Self::with_compression(out, Compression::Lh5)
    }

    /// An archive storing file data as `compression` says.
    pub fn with_compression(out: W, compression: Compression) -> Self {
        Self { out, compression }
    }

    /// Adds a directory entry (`-lhd-`), e.g. `1234567890`.
    pub fn add_directory(&mut self, path: &str, modified: SystemTime) -> Result<(), Error> {
        let path = EntryPath::new(path)?;
        let header = Header {
            path: &path,
            method: Method::Lhd,
            packed_size: 0,
            size: 0,
            crc: 0,
            modified,
        };
        self.out.write_all(&header.to_level2()?)?;
        Ok(())
    }

    /// Adds a file held in memory; returns the method it was stored with.
    pub fn add_file(
        &mut self,
        path: &str,
        modified: SystemTime,
        data: &[u8],
    ) -> Result<Method, Error> {
        let path = EntryPath::new(path)?;
        let packed = match self.compression {
            Compression::Lh5 => {
                let mut encoder = Lh5Encoder::new(Vec::new());
                encoder.write_all(data)?;
                Some(encoder.finish()?.0).filter(|packed| packed.len() < data.len())
            }
            Compression::Lh0 => None,
        };
        let (method, body) = match &packed {
            Some(packed) => (Method::Lh5, packed.as_slice()),
            None => (Method::Lh0, data),
        };
        let size = data.len() as u64;
        let header = Header {
            path: &path,
            method,
            packed_size: body.len() as u64,
            size,
            crc: Crc16::of(data),
            modified,
        };
        self.out.write_all(&header.to_level2()?)?;
        self.out.write_all(body)?;
        Ok(method)
    }

    /// Adds a file streamed from `source` with memory bounded by the compression window:
    /// the packed data goes to `spool` (e.g. an anonymous temporary file) until its size and
    /// CRC are known for the header. `source` is read again from its start when storing
    /// wins. Returns the method the file was stored with.
    pub fn add_file_from<R, S>(
        &mut self,
        path: &str,
        modified: SystemTime,
        mut source: R,
        mut spool: S,
    ) -> Result<Method, Error>
    where
        R: Read + Seek,
        S: Read + Write + Seek,
    {
        let path = EntryPath::new(path)?;
        let start = source.stream_position()?;
        let mut crc = Crc16::new();
        let (size, packed_size) = match self.compression {
            Compression::Lh5 => {
                spool.seek(SeekFrom::Start(0))?;
                let mut encoder = Lh5Encoder::new(&mut spool);
                let size = copy_with_crc(&mut source, &mut encoder, &mut crc)?;
                (size, encoder.finish()?.1)
            }
            Compression::Lh0 => (
                copy_with_crc(&mut source, &mut io::sink(), &mut crc)?,
                u64::MAX,
            ),
        };
        let method = if packed_size < size {
            Method::Lh5
        } else {
            Method::Lh0
        };
        let stored = if method == Method::Lh5 {
            packed_size
        } else {
            size
        };
        let header = Header {
            path: &path,
            method,
            packed_size: stored,
            size,
            crc: crc.value(),
            modified,
        };
        self.out.write_all(&header.to_level2()?)?;
        let body: &mut dyn Read = if method == Method::Lh5 {
            spool.seek(SeekFrom::Start(0))?;
            &mut spool
        } else {
            source.seek(SeekFrom::Start(start))?;
            &mut source
        };
        let copied = io::copy(&mut body.take(stored), &mut self.out)?;
        if copied != stored {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{path} shrank while being archived"),
            )
            .into());
        }
        Ok(method)
    }

    /// Writes the end-of-archive mark and returns the output.
    pub fn finish(mut self) -> Result<W, Error> {
        self.out.write_all(&[0])?;
        self.out.flush()?;
        Ok(self.out)
    }
}

fn copy_with_crc(
    source: &mut impl Read,
    sink: &mut impl Write,
    crc: &mut Crc16,
) -> io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match source.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        crc.update(&buf[..n]);
        sink.write_all(&buf[..n])?;
        total += n as u64;
    }
}

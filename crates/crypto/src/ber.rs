//! Just enough BER to stream CMS: indefinite-length headers and chunked OCTET STRINGs on the
//! way out, and a pull parser on the way in that keeps only one chunk in memory.
//!
//! The small structures inside a message (recipient infos, certificates, signer infos) are
//! read whole and handed to the `cms`/`x509-cert` DER types; only the framing around the
//! content, which may be gigabytes, is handled here.

use std::io::{self, Read, Write};

use crate::error::{Error, Result};

/// Universal SEQUENCE, constructed.
pub(crate) const SEQUENCE: u8 = 0x30;
/// Universal SET, constructed.
pub(crate) const SET: u8 = 0x31;
/// Universal OCTET STRING, primitive.
pub(crate) const OCTET_STRING: u8 = 0x04;
/// Universal OCTET STRING, constructed (segments).
pub(crate) const OCTET_STRING_CONSTRUCTED: u8 = 0x24;
/// `[0]` context-specific, constructed.
pub(crate) const CONTEXT_0: u8 = 0xa0;
/// `[0]` context-specific, primitive (implicitly tagged OCTET STRING).
pub(crate) const CONTEXT_0_PRIMITIVE: u8 = 0x80;

/// The largest single element read into memory (certificates, recipient and signer infos).
const MAX_ELEMENT: u64 = 1 << 20;
/// Nesting limit for elements read whole, against stack exhaustion on hostile input.
const MAX_DEPTH: usize = 32;

/// Writes a tag with an indefinite length.
pub(crate) fn open_indefinite(w: &mut impl Write, tag: u8) -> io::Result<()> {
    w.write_all(&[tag, 0x80])
}

/// Writes the end-of-contents octets closing one indefinite-length element.
pub(crate) fn close_indefinite(w: &mut impl Write) -> io::Result<()> {
    w.write_all(&[0, 0])
}

/// Writes a tag and a definite length in DER form.
pub(crate) fn write_header(w: &mut impl Write, tag: u8, len: usize) -> io::Result<()> {
    let mut buf = [0u8; 10];
    buf[0] = tag;
    let n = if len < 0x80 {
        buf[1] = len as u8;
        2
    } else {
        let bytes = (len as u64).to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let count = bytes.len() - skip;
        buf[1] = 0x80 | count as u8;
        buf[2..2 + count].copy_from_slice(&bytes[skip..]);
        2 + count
    };
    w.write_all(&buf[..n])
}

/// Writes `tag || length || value`.
pub(crate) fn write_tlv(w: &mut impl Write, tag: u8, value: &[u8]) -> io::Result<()> {
    write_header(w, tag, value.len())?;
    w.write_all(value)
}

/// One parsed identifier + length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    /// The identifier octet (only low tag numbers occur in CMS framing).
    pub(crate) tag: u8,
    /// `None` for the indefinite form.
    pub(crate) len: Option<u64>,
}

impl Header {
    fn constructed(self) -> bool {
        self.tag & 0x20 != 0
    }
}

/// Where the current constructed element ends.
#[derive(Clone, Copy, Debug)]
pub(crate) enum End {
    /// At this absolute input position.
    At(u64),
    /// At the next end-of-contents octets.
    Eoc,
}

/// A pull parser over any reader, counting its position.
pub(crate) struct BerReader<R> {
    inner: R,
    pos: u64,
    peeked: Option<u8>,
}

impl<R: Read> BerReader<R> {
    /// Wraps `inner`, which should be buffered by the caller.
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            pos: 0,
            peeked: None,
        }
    }

    /// The underlying reader (after [`BerReader::expect_eof`], nothing is lost).
    pub(crate) fn into_inner(self) -> R {
        self.inner
    }

    fn byte(&mut self) -> Result<u8> {
        if let Some(b) = self.peeked.take() {
            self.pos += 1;
            return Ok(b);
        }
        let mut b = [0u8];
        self.inner.read_exact(&mut b).map_err(from_io)?;
        self.pos += 1;
        Ok(b[0])
    }

    fn peek(&mut self) -> Result<Option<u8>> {
        if self.peeked.is_none() {
            let mut b = [0u8];
            loop {
                match self.inner.read(&mut b) {
                    Ok(0) => return Ok(None),
                    Ok(_) => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(from_io(e)),
                }
            }
            self.peeked = Some(b[0]);
        }
        Ok(self.peeked)
    }

    fn fill(&mut self, buf: &mut [u8]) -> Result<()> {
        let mut start = 0;
        if let (Some(b), Some(first)) = (self.peeked, buf.first_mut()) {
            *first = b;
            self.peeked = None;
            start = 1;
        }
        self.inner.read_exact(&mut buf[start..]).map_err(from_io)?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    /// Reads the next identifier and length.
    pub(crate) fn header(&mut self) -> Result<Header> {
        let tag = self.byte()?;
        if tag & 0x1f == 0x1f {
            return Err(Error::Malformed(
                "high tag numbers do not occur in CMS framing",
            ));
        }
        let first = self.byte()?;
        let len = match first {
            0x80 => None,
            l if l < 0x80 => Some(u64::from(l)),
            0xff => return Err(Error::Malformed("reserved length octet")),
            l => {
                let count = usize::from(l & 0x7f);
                if count > 8 {
                    return Err(Error::Malformed("length too long"));
                }
                let mut value = 0u64;
                for _ in 0..count {
                    value = (value << 8) | u64::from(self.byte()?);
                }
                Some(value)
            }
        };
        let header = Header { tag, len };
        if len.is_none() && !header.constructed() {
            return Err(Error::Malformed("indefinite length on a primitive element"));
        }
        Ok(header)
    }

    /// Reads a header and checks its tag.
    pub(crate) fn expect(&mut self, tag: u8, what: &'static str) -> Result<Header> {
        let header = self.header()?;
        if header.tag != tag {
            return Err(Error::Malformed(what));
        }
        Ok(header)
    }

    /// Where the element whose header was just read ends.
    pub(crate) fn end_of(&self, header: Header) -> End {
        match header.len {
            Some(len) => End::At(self.pos + len),
            None => End::Eoc,
        }
    }

    /// True (and the end-of-contents consumed) when the element ending at `end` is complete.
    pub(crate) fn at_end(&mut self, end: End) -> Result<bool> {
        match end {
            End::At(at) if self.pos == at => Ok(true),
            End::At(at) if self.pos > at => Err(Error::Malformed("element overruns its parent")),
            End::At(_) => Ok(false),
            End::Eoc => {
                if self.peek()? != Some(0) {
                    return Ok(false);
                }
                if self.byte()? != 0 || self.byte()? != 0 {
                    return Err(Error::Malformed("bad end-of-contents"));
                }
                Ok(true)
            }
        }
    }

    /// Requires that the element ending at `end` is complete.
    pub(crate) fn finish(&mut self, end: End) -> Result<()> {
        if self.at_end(end)? {
            Ok(())
        } else {
            Err(Error::Malformed("unexpected trailing data in element"))
        }
    }

    /// The identifier of the next element, without consuming it (`None` at end of input).
    pub(crate) fn peek_tag(&mut self) -> Result<Option<u8>> {
        self.peek()
    }

    /// Requires that the input is exhausted.
    pub(crate) fn expect_eof(&mut self) -> Result<()> {
        match self.peek()? {
            None => Ok(()),
            Some(_) => Err(Error::Malformed("trailing data after the message")),
        }
    }

    /// Reads the next element whole, re-encoded with definite lengths (DER framing), so that
    /// the `der` types can decode it even if the sender used indefinite lengths inside.
    pub(crate) fn element(&mut self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let header = self.header()?;
        self.element_into(header, &mut out, 0)?;
        Ok(out)
    }

    fn element_into(&mut self, header: Header, out: &mut Vec<u8>, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(Error::Malformed("elements nested too deeply"));
        }
        let value = match header.len {
            Some(len) if len > MAX_ELEMENT => return Err(Error::Malformed("element too large")),
            // A definite-length element is copied as is: the DER decoder judges its inside.
            Some(len) => {
                let mut value = vec![0u8; len as usize];
                self.fill(&mut value)?;
                value
            }
            _ => {
                let end = self.end_of(header);
                let mut value = Vec::new();
                while !self.at_end(end)? {
                    let child = self.header()?;
                    self.element_into(child, &mut value, depth + 1)?;
                    if value.len() as u64 > MAX_ELEMENT {
                        return Err(Error::Malformed("element too large"));
                    }
                }
                value
            }
        };
        write_tlv(out, header.tag, &value)?;
        Ok(())
    }

    /// Streams the value of an OCTET STRING (primitive or segmented) whose header was just read.
    pub(crate) fn octets(&mut self, header: Header) -> Octets<'_, R> {
        let state = if header.constructed() {
            State::Segments {
                stack: vec![self.end_of(header)],
                remaining: 0,
            }
        } else {
            State::Primitive(header.len.unwrap_or(0))
        };
        Octets {
            reader: self,
            state,
        }
    }
}

enum State {
    Primitive(u64),
    Segments { stack: Vec<End>, remaining: u64 },
    Done,
}

/// The content of one OCTET STRING as a reader; segments are joined transparently.
pub(crate) struct Octets<'a, R> {
    reader: &'a mut BerReader<R>,
    state: State,
}

impl<R: Read> Octets<'_, R> {
    fn next_run(&mut self) -> Result<u64> {
        loop {
            match &mut self.state {
                State::Done => return Ok(0),
                State::Primitive(0) => self.state = State::Done,
                State::Primitive(n) => return Ok(*n),
                State::Segments { stack, remaining } => {
                    if *remaining > 0 {
                        return Ok(*remaining);
                    }
                    let Some(&end) = stack.last() else {
                        self.state = State::Done;
                        return Ok(0);
                    };
                    if self.reader.at_end(end)? {
                        stack.pop();
                        continue;
                    }
                    let header = self.reader.header()?;
                    match header.tag {
                        OCTET_STRING => *remaining = header.len.unwrap_or(0),
                        OCTET_STRING_CONSTRUCTED if stack.len() < MAX_DEPTH => {
                            let end = self.reader.end_of(header);
                            stack.push(end);
                        }
                        _ => return Err(Error::Malformed("bad OCTET STRING segment")),
                    }
                }
            }
        }
    }

    fn consumed(&mut self, n: usize) {
        match &mut self.state {
            State::Primitive(left)
            | State::Segments {
                remaining: left, ..
            } => *left -= n as u64,
            State::Done => {}
        }
    }

    /// Like `read`, with this crate's error.
    pub(crate) fn read_checked(&mut self, buf: &mut [u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let run = self.next_run()?;
        if run == 0 {
            return Ok(0);
        }
        let n = buf.len().min(usize::try_from(run).unwrap_or(usize::MAX));
        self.reader.fill(&mut buf[..n])?;
        self.consumed(n);
        Ok(n)
    }
}

impl<R: Read> Read for Octets<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_checked(buf).map_err(into_io)
    }
}

/// Carries a crate error through an `io::Read` boundary; [`from_io`] unpacks it again.
pub(crate) fn into_io(e: Error) -> io::Error {
    match e {
        Error::Io(e) => e,
        other => io::Error::other(other),
    }
}

/// Converts an I/O error from the input: a crate error that [`into_io`] carried through a
/// reader comes back as itself, and running out of input means the message is truncated.
pub(crate) fn from_io(e: io::Error) -> Error {
    if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
        if let Some(Ok(err)) = e.into_inner().map(|inner| inner.downcast::<Error>()) {
            return *err;
        }
        return Error::Malformed("lost error");
    }
    if e.kind() == io::ErrorKind::UnexpectedEof {
        Error::Malformed("message truncated")
    } else {
        Error::Io(e)
    }
}

/// Accumulates content and emits it as definite-length primitive OCTET STRING segments.
pub(crate) struct Segmenter {
    buf: Vec<u8>,
    size: usize,
}

impl Segmenter {
    /// Segments of `size` bytes.
    pub(crate) fn new(size: usize) -> Self {
        Self {
            buf: Vec::with_capacity(size),
            size,
        }
    }

    /// Free room before the next segment is due.
    pub(crate) fn room(&self) -> usize {
        self.size - self.buf.len()
    }

    /// The pending bytes, for in-place transformation before emission.
    pub(crate) fn pending_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Emits the pending bytes as one segment (nothing if empty).
    pub(crate) fn emit(&mut self, w: &mut impl Write) -> io::Result<()> {
        if !self.buf.is_empty() {
            write_tlv(w, OCTET_STRING, &self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segmented(parts: &[&[u8]]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        open_indefinite(&mut out, OCTET_STRING_CONSTRUCTED)?;
        for p in parts {
            write_tlv(&mut out, OCTET_STRING, p)?;
        }
        close_indefinite(&mut out)?;
        Ok(out)
    }

    #[test]
    fn long_lengths_round_trip() -> Result<()> {
        for len in [0usize, 1, 127, 128, 255, 256, 65_535, 65_536, 1 << 24] {
            let mut out = Vec::new();
            write_header(&mut out, OCTET_STRING, len)?;
            let mut r = BerReader::new(&out[..]);
            assert_eq!(
                r.header()?,
                Header {
                    tag: OCTET_STRING,
                    len: Some(len as u64)
                }
            );
        }
        Ok(())
    }

    #[test]
    fn segmented_octets_join() -> Result<()> {
        let data = segmented(&[b"hello ", b"", b"world"])?;
        let mut r = BerReader::new(&data[..]);
        let h = r.header()?;
        let mut s = String::new();
        r.octets(h).read_to_string(&mut s)?;
        assert_eq!(s, "hello world");
        r.expect_eof()?;
        Ok(())
    }

    #[test]
    fn element_converts_indefinite_to_definite() -> Result<()> {
        let mut data = Vec::new();
        open_indefinite(&mut data, SEQUENCE)?;
        write_tlv(&mut data, 0x02, &[5])?;
        close_indefinite(&mut data)?;
        let mut r = BerReader::new(&data[..]);
        assert_eq!(r.element()?, vec![0x30, 3, 2, 1, 5]);
        Ok(())
    }

    #[test]
    fn truncation_is_malformed() -> Result<()> {
        let data = segmented(&[b"abc"])?;
        let mut r = BerReader::new(&data[..data.len() - 3]);
        let h = r.header()?;
        let err =
            from_io(io::copy(&mut r.octets(h), &mut io::sink()).expect_err("truncated input"));
        assert!(matches!(err, Error::Malformed(_)), "{err}");
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn any_segmentation_reads_back_the_same(
            content in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000),
            cuts in proptest::collection::vec(0usize..2000, 0..8),
            nest in proptest::prelude::any::<bool>(),
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(content.len())).collect();
            cuts.push(0);
            cuts.push(content.len());
            cuts.sort_unstable();
            let parts: Vec<&[u8]> = cuts.windows(2).map(|w| &content[w[0]..w[1]]).collect();
            let mut data = segmented(&parts)?;
            if nest {
                // A segment may itself be a constructed OCTET STRING (BER allows it).
                let mut outer = Vec::new();
                open_indefinite(&mut outer, OCTET_STRING_CONSTRUCTED)?;
                outer.extend_from_slice(&data);
                close_indefinite(&mut outer)?;
                data = outer;
            }
            let mut r = BerReader::new(&data[..]);
            let h = r.header()?;
            let mut back = Vec::new();
            r.octets(h).read_to_end(&mut back)?;
            proptest::prop_assert_eq!(back, content);
            r.expect_eof()?;
        }
    }
}

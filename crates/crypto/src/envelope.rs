//! What the server can know of a sealed file it cannot decrypt: whether its first bytes are
//! the outer structure of a CMS EnvelopedData or AuthEnvelopedData that `open` would read.
//!
//! The check needs only the bytes before the encrypted content (ContentInfo, envelope header,
//! recipient entries, content-encryption algorithm), so an upload is judged while it streams
//! and refused before anything of it is kept.

use std::io::{self, Read};

use crate::ber::BerReader;
use crate::error::{Error, Result};
use crate::open::envelope_header;

/// The most leading bytes [`check_envelope_start`] waits for. What `kx` seals decides within a
/// few kilobytes (a recipient entry is a few hundred bytes); an envelope that is still
/// undecided after this many is refused.
pub const ENVELOPE_START_LIMIT: usize = 64 * 1024;

/// What the first bytes of an upload say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvelopeStart {
    /// Undecided so far: call again with more of the upload.
    NeedMore,
    /// A CMS EnvelopedData (AES-256-CBC) with at least one recipient entry.
    Enveloped,
    /// A CMS AuthEnvelopedData (AES-256-GCM) with at least one recipient entry.
    AuthEnveloped,
}

/// Checks `prefix`, the first bytes of an upload (or all of it), as the start of a sealed file:
/// a ContentInfo of an EnvelopedData or AuthEnvelopedData, its recipient entries, `id-data`
/// content encrypted with an algorithm `open` supports, and the start of the encrypted content.
/// [`EnvelopeStart::NeedMore`] while `prefix` ends before that and is shorter than
/// [`ENVELOPE_START_LIMIT`]; an error as soon as the bytes cannot be such a start.
///
/// Pure and panic-free on any input: the upload fuzz target calls it with arbitrary bytes.
pub fn check_envelope_start(prefix: &[u8]) -> Result<EnvelopeStart> {
    let mut input = Prefix {
        rest: prefix,
        ran_out: false,
    };
    let header = envelope_header(&mut BerReader::new(&mut input));
    match header {
        Ok(header) if header.infos.is_empty() => {
            Err(Error::Malformed("no recipient entry this crate reads"))
        }
        Ok(header) if header.authenticated => Ok(EnvelopeStart::AuthEnveloped),
        Ok(_) => Ok(EnvelopeStart::Enveloped),
        Err(_) if input.ran_out && prefix.len() < ENVELOPE_START_LIMIT => {
            Ok(EnvelopeStart::NeedMore)
        }
        Err(_) if input.ran_out => Err(Error::Malformed("envelope header too long")),
        Err(e) => Err(e),
    }
}

/// The bytes seen so far, remembering whether the parser wanted more than there is.
struct Prefix<'a> {
    rest: &'a [u8],
    ran_out: bool,
}

impl Read for Prefix<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.rest.is_empty() && !buf.is_empty() {
            self.ran_out = true;
        }
        self.rest.read(buf)
    }
}

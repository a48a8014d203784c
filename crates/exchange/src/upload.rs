//! An upload (ファイル送信) as the server judges it while it streams: the sealed name, the size
//! cap and the envelope's outer structure, decided before anything of a bad upload is kept.
//!
//! The server cannot decrypt a sealed file, but it can refuse bytes that are not one: the
//! first bytes must be a CMS EnvelopedData or AuthEnvelopedData
//! ([`kx_crypto::check_envelope_start`]). A sender may cut its body into frames as small as a
//! byte, so the start is checked again only when it has doubled since the last check (and at
//! the end): the work stays linear in the bytes held, never quadratic in the frames.

use kx_crypto::{ENVELOPE_START_LIMIT, EnvelopeStart, check_envelope_start};

use crate::lifecycle::valid_sealed_name;
use crate::send::MAX_SEALED_BYTES;

/// Why an upload is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BadUpload {
    /// The name is not a sealed file's ([`valid_sealed_name`]).
    #[error("not a sealed file's name")]
    Name,
    /// Larger than [`MAX_SEALED_BYTES`], declared or sent.
    #[error("larger than a sealed file may be")]
    TooLarge,
    /// The first bytes are not a sealed file's envelope.
    #[error("not a sealed file")]
    NotSealed,
    /// No bytes at all.
    #[error("empty")]
    Empty,
}

/// What a sealed upload turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sealed {
    /// A CMS EnvelopedData (AES-256-CBC).
    Enveloped,
    /// A CMS AuthEnvelopedData (AES-256-GCM).
    AuthEnveloped,
}

/// The smallest start checked: a ContentInfo with one recipient entry is larger.
const FIRST_CHECK: usize = 256;

/// The judgement of one upload, fed its body frame by frame.
#[derive(Debug)]
pub struct UploadCheck {
    /// The first bytes, kept until they decide the envelope (at most [`ENVELOPE_START_LIMIT`]).
    start: Vec<u8>,
    envelope: EnvelopeStart,
    /// How long `start` must be before it is checked again.
    next_check: usize,
    size: u64,
}

impl UploadCheck {
    /// Starts judging an upload named `name` whose sender declared `declared` bytes.
    pub fn new(name: &str, declared: Option<u64>) -> Result<UploadCheck, BadUpload> {
        if !valid_sealed_name(name) {
            return Err(BadUpload::Name);
        }
        if declared.is_some_and(|n| n > MAX_SEALED_BYTES) {
            return Err(BadUpload::TooLarge);
        }
        Ok(UploadCheck {
            start: Vec::new(),
            envelope: EnvelopeStart::NeedMore,
            next_check: FIRST_CHECK,
            size: 0,
        })
    }

    /// Takes the next frame of the body; an error as soon as the upload cannot be accepted,
    /// before the frame is kept.
    pub fn feed(&mut self, frame: &[u8]) -> Result<(), BadUpload> {
        self.size += frame.len() as u64;
        if self.size > MAX_SEALED_BYTES {
            return Err(BadUpload::TooLarge);
        }
        if self.envelope == EnvelopeStart::NeedMore {
            let room = ENVELOPE_START_LIMIT - self.start.len();
            self.start
                .extend_from_slice(&frame[..frame.len().min(room)]);
            if self.start.len() >= self.next_check {
                self.check()?;
                self.next_check = (self.start.len() * 2).min(ENVELOPE_START_LIMIT);
            }
        }
        Ok(())
    }

    /// The bytes taken so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The verdict once the body has ended.
    pub fn finish(mut self) -> Result<Sealed, BadUpload> {
        if self.size == 0 {
            return Err(BadUpload::Empty);
        }
        if self.envelope == EnvelopeStart::NeedMore {
            self.check()?;
        }
        match self.envelope {
            EnvelopeStart::Enveloped => Ok(Sealed::Enveloped),
            EnvelopeStart::AuthEnveloped => Ok(Sealed::AuthEnveloped),
            EnvelopeStart::NeedMore => Err(BadUpload::NotSealed),
        }
    }

    fn check(&mut self) -> Result<(), BadUpload> {
        self.envelope = check_envelope_start(&self.start).map_err(|_| BadUpload::NotSealed)?;
        if self.envelope != EnvelopeStart::NeedMore {
            self.start = Vec::new();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::judge;

    #[test]
    fn refusals_before_the_body() {
        assert_eq!(
            UploadCheck::new("a\u{2028}b.zip", None).unwrap_err(),
            BadUpload::Name
        );
        assert_eq!(
            UploadCheck::new("a.zip", Some(MAX_SEALED_BYTES + 1)).unwrap_err(),
            BadUpload::TooLarge
        );
        assert_eq!(judge("a.zip", b"", 1), Err(BadUpload::Empty));
    }

    #[test]
    fn plain_bytes_are_refused_in_any_framing() {
        let zip = b"PK\x03\x04 a ZIP that was never sealed".repeat(100);
        for frame in [1, 7, 300, zip.len()] {
            assert_eq!(judge("a.zip", &zip, frame), Err(BadUpload::NotSealed));
        }
        // A DER SEQUENCE that says it is long but never becomes an envelope.
        let mut unfinished = vec![0x30, 0x82, 0xff, 0xff, 0x06];
        unfinished.resize(512, 0);
        assert_eq!(judge("a.zip", &unfinished, 1), Err(BadUpload::NotSealed));
    }
}

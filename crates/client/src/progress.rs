//! How a long operation tells its face how far it got: a download bar, a spinner while the
//! society decides, the count of messages fetched. The library never draws anything itself.

use std::io::{self, Read};

/// What is under way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Retrieving 伝送 messages from the POP3 server (counted in messages).
    Fetching,
    /// Downloading a sealed file (bytes).
    Download,
    /// Verifying and decrypting a sealed file (bytes).
    Decryption,
    /// Sealing and uploading files (bytes of the plaintext sealed).
    Upload,
    /// Waiting for the society to issue a certificate (no total).
    WaitingForCertificate,
}

/// Receives progress. Every method has a default that does nothing; [`NoProgress`] is that.
/// `Sync`: an upload seals on one thread while it sends on another.
pub trait Progress: Sync {
    /// A phase starts, about `name` (a file, a server), with `total` units when known.
    fn start(&self, phase: Phase, name: &str, total: Option<u64>) {
        let _ = (phase, name, total);
    }

    /// `amount` more units of the current phase are done.
    fn advance(&self, amount: u64) {
        let _ = amount;
    }

    /// The current phase ended (successfully or not).
    fn finish(&self) {}
}

/// Progress nobody watches.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// A reader that reports what passes through it as progress of the current phase.
pub(crate) struct Counted<'a, R> {
    inner: R,
    progress: &'a dyn Progress,
}

impl<'a, R> Counted<'a, R> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: R, progress: &'a dyn Progress) -> Counted<'a, R> {
        Counted { inner, progress }
    }
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

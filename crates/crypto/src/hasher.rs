//! SHA-256 on a second core: the content is hashed while it is being encrypted (sealing) or
//! written out (opening), so that the two costs overlap instead of adding up, as they do
//! across the two processes of `openssl cms -sign | openssl cms -encrypt`.

use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Segments in flight: bounds the memory to a few segments whatever the file size.
const IN_FLIGHT: usize = 4;

/// A SHA-256 computed by a background thread.
///
/// The thread never outlives its owner: dropping an unfinished hash (an `open` that failed
/// midway) stops and joins it.
pub(crate) struct BackgroundHash {
    tx: Option<SyncSender<Vec<u8>>>,
    worker: Option<JoinHandle<Vec<u8>>>,
}

impl BackgroundHash {
    /// Starts the hashing thread.
    pub(crate) fn start() -> Result<Self> {
        let (tx, rx) = sync_channel::<Vec<u8>>(IN_FLIGHT);
        let worker = std::thread::Builder::new()
            .name("kx-sha256".into())
            .spawn(move || {
                let mut hash = Sha256::new();
                for chunk in rx {
                    hash.update(&chunk);
                }
                hash.finalize().to_vec()
            })?;
        Ok(Self {
            tx: Some(tx),
            worker: Some(worker),
        })
    }

    /// Queues `data` for hashing.
    pub(crate) fn update(&self, data: &[u8]) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        let stopped = || Error::Malformed("hashing thread stopped");
        let tx = self.tx.as_ref().ok_or_else(stopped)?;
        tx.send(data.to_vec()).map_err(|_| stopped())
    }

    /// The digest of everything queued.
    pub(crate) fn finish(mut self) -> Result<Vec<u8>> {
        self.stop()
            .ok_or(Error::Malformed("hashing thread panicked"))
    }

    /// Closes the queue and waits for the thread's digest.
    fn stop(&mut self) -> Option<Vec<u8>> {
        self.tx = None;
        self.worker.take()?.join().ok()
    }
}

impl Drop for BackgroundHash {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_direct_hash() -> Result<()> {
        let data: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
        let hash = BackgroundHash::start()?;
        for chunk in data.chunks(65_536) {
            hash.update(chunk)?;
        }
        assert_eq!(hash.finish()?, Sha256::digest(&data).to_vec());
        Ok(())
    }
}

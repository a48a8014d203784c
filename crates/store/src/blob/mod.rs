//! Blobs: raw messages and replies of the 伝送 side, named by the SHA-256 of their content,
//! and the exchange's sealed files, named at random.
//!
//! [`BlobStore`] is the seam between the store and where bytes are kept: [`LocalBlobs`] (a
//! directory, the embedded default) or [`S3Blobs`] (a bucket of an S3-compatible object store,
//! shared by several kxd). A blob must be durable before the metadata transaction that names it
//! commits, so a committed row never points at a missing or partial blob; and nothing
//! half-written is ever listed under a blob id.
//!
//! Garbage collection does not rest on timing: a writer records intents on its blobs in the
//! database before it writes them (`crate::intents`), and the collector leaves every blob a
//! row or an unexpired intent names. The grace period only spares what the listing and the
//! read of the rows cannot tell apart: a content-addressed blob that a new writer stores
//! again just after the read. Each backend checks the age again on the very object it
//! removes, and storing the same content anew makes it young again, so such a writer keeps
//! it, but for the instant between that check and the delete.

mod local;
mod s3;
#[cfg(test)]
mod tests;

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use bytes::Bytes;
use futures_util::Stream;
use futures_util::stream::BoxStream;
use sha2::{Digest, Sha256};

pub(crate) use self::local::LocalBlobs;
pub(crate) use self::s3::S3Blobs;
use crate::{Blobs, Error};

/// A boxed future, so [`BlobStore`] can be used as a trait object.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The name of a blob: the lower-case hex SHA-256 of its content.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct BlobId(String);

impl BlobId {
    /// The id of `data`.
    pub(crate) fn of(data: &[u8]) -> BlobId {
        BlobId::from_digest(Sha256::digest(data).as_slice())
    }

    fn from_digest(digest: &[u8]) -> BlobId {
        BlobId(hex(digest))
    }

    /// A stored name read back from the database; refuses anything that is not 64 hex digits,
    /// so a name can never reach outside the blob directory or the bucket's prefix.
    pub(crate) fn parse(text: &str) -> Result<BlobId, Error> {
        if text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(BlobId(text.to_owned()))
        } else {
            Err(Error::Invalid(format!("{text:?} is not a blob id")))
        }
    }

    /// The name as text.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// A fresh random id (256 bits, the same shape as a content id), for the exchange: each
    /// sealed file is its own blob, owned by one row, so freeing a file may delete its blob at
    /// once without asking who else shares it.
    pub(crate) fn random() -> BlobId {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        BlobId::from_digest(&bytes)
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where blobs are kept. The 伝送 side uses the content-addressed half ([`put_all`],
/// [`get`]), the exchange the streamed half ([`stage`], [`open_stream`], [`remove`]); the
/// garbage collector uses [`list`], [`remove_if_stale`] and [`sweep_temporary`] on both.
///
/// [`put_all`]: BlobStore::put_all
/// [`get`]: BlobStore::get
/// [`stage`]: BlobStore::stage
/// [`open_stream`]: BlobStore::open_stream
/// [`remove`]: BlobStore::remove
/// [`list`]: BlobStore::list
/// [`remove_if_stale`]: BlobStore::remove_if_stale
/// [`sweep_temporary`]: BlobStore::sweep_temporary
pub(crate) trait BlobStore: fmt::Debug + Send + Sync {
    /// Stores every blob durably and returns their ids in order: once this returns Ok, each
    /// survives a crash. Several at once so a batch pays for shared syncs once.
    fn put_all(&self, blobs: Vec<Vec<u8>>) -> BoxFuture<'_, Result<Vec<BlobId>, Error>>;

    /// The content of a blob, checked against its id.
    fn get(&self, id: BlobId) -> BoxFuture<'_, Result<Vec<u8>, Error>>;

    /// Every blob, for garbage collection.
    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredBlob>, Error>>;

    /// Deletes a blob if it was last written at least `grace` ago; its size if it was deleted.
    fn remove_if_stale(
        &self,
        id: BlobId,
        grace: Duration,
    ) -> BoxFuture<'_, Result<Option<u64>, Error>>;

    /// Temporary files of unfinished writes last written at least `older_than` ago: removed
    /// unless `dry_run`, and counted either way.
    fn sweep_temporary(
        &self,
        older_than: Duration,
        dry_run: bool,
    ) -> BoxFuture<'_, Result<Tally, Error>>;

    /// Starts writing a blob under a fresh random id: nothing is visible under that id until
    /// [`BlobUpload::finish`] has made all of it durable.
    fn stage(&self) -> BoxFuture<'_, Result<BlobUpload, Error>> {
        self.stage_as(BlobId::random())
    }

    /// [`BlobStore::stage`] under `id`: a copy keeps the id the rows name.
    fn stage_as(&self, id: BlobId) -> BoxFuture<'_, Result<BlobUpload, Error>>;

    /// Opens a blob for reading as a stream of chunks (nothing is read beyond the first
    /// request yet); a missing blob is [`Error::NotFound`] here, not in the stream.
    fn open_stream(&self, id: BlobId) -> BoxFuture<'_, Result<BlobStream, Error>>;

    /// Deletes a blob at once; one already gone is not an error (deletion is retried by the
    /// garbage collector).
    fn remove(&self, id: BlobId) -> BoxFuture<'_, Result<(), Error>>;
}

/// The two blob areas of a store: the 伝送 side's content-addressed blobs and the exchange's
/// sealed files, apart so that each one's garbage collection lists only its own.
pub(crate) struct BlobAreas {
    /// Raw messages, mailbox messages, upstream notices (content ids).
    pub(crate) messages: Arc<dyn BlobStore>,
    /// Sealed exchange files (random ids, one owner each).
    pub(crate) sealed: Arc<dyn BlobStore>,
}

/// Opens the blob areas `config` names: `DIR/` and `DIR/exchange/` of a local directory, or
/// `PREFIX/messages/` and `PREFIX/exchange/` of a bucket (which must exist and answer).
pub(crate) async fn open(config: &Blobs) -> Result<BlobAreas, Error> {
    Ok(match config {
        Blobs::Local(root) => BlobAreas {
            messages: Arc::new(LocalBlobs::open(root)?),
            sealed: Arc::new(LocalBlobs::open(&root.join("exchange"))?),
        },
        Blobs::S3(bucket) => {
            let client = s3::client(bucket)?;
            s3::check_reachable(&client, bucket).await?;
            BlobAreas {
                messages: Arc::new(S3Blobs::new(client.clone(), bucket, "messages")?),
                sealed: Arc::new(S3Blobs::new(client, bucket, "exchange")?),
            }
        }
    })
}

/// A blob found in the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredBlob {
    /// Its id.
    pub(crate) id: BlobId,
    /// The time since it was last written.
    pub(crate) age: Duration,
    /// Its size in bytes.
    pub(crate) size: u64,
}

/// How many things, of how many bytes in all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// How many.
    pub count: u64,
    /// Their bytes.
    pub bytes: u64,
}

impl Tally {
    /// Counts one more of `bytes`.
    pub(crate) fn add(&mut self, bytes: u64) {
        self.count += 1;
        self.bytes += bytes;
    }
}

/// A blob being written from a stream (an upload): [`write`](BlobUpload::write) each chunk as
/// it arrives, then [`finish`](BlobUpload::finish). Dropped unfinished, or after a failure, it
/// leaves nothing under a blob id (and an object store's multipart upload is aborted).
#[derive(Debug)]
pub struct BlobUpload {
    pub(crate) id: BlobId,
    writer: Writer,
    hasher: Sha256,
    size: u64,
}

/// Where an upload's bytes go.
#[derive(Debug)]
enum Writer {
    Local(local::Staging),
    S3(s3::Staging),
}

/// A blob made durable by [`BlobUpload::finish`], not yet named by any row: hand it to the
/// store call that records it (an unrecorded one is removed by the garbage collector).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagedBlob {
    pub(crate) id: BlobId,
    size: u64,
    sha256: String,
}

impl StagedBlob {
    /// Its size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The SHA-256 of its content, lower-case hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

impl BlobUpload {
    fn new(id: BlobId, writer: Writer) -> BlobUpload {
        BlobUpload {
            id,
            writer,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    /// Appends a chunk.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), Error> {
        match &mut self.writer {
            Writer::Local(staging) => staging.write(chunk).await?,
            Writer::S3(staging) => staging.write(chunk).await?,
        }
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        Ok(())
    }

    /// The bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Makes the content durable and visible under its id: once this returns, the blob
    /// survives a crash (fsynced and renamed into place, or its upload to the bucket
    /// completed).
    pub async fn finish(self) -> Result<StagedBlob, Error> {
        let id = match self.writer {
            Writer::Local(staging) => staging.finish(self.id).await?,
            Writer::S3(staging) => staging.finish(self.id).await?,
        };
        Ok(StagedBlob {
            id,
            size: self.size,
            sha256: hex(self.hasher.finalize().as_slice()),
        })
    }
}

/// A blob's content as a stream of chunks, for an HTTP body: memory holds a chunk at a time,
/// whatever the size. A failure ends it with an error (the reader sees a short body).
pub struct BlobStream(BoxStream<'static, io::Result<Bytes>>);

impl BlobStream {
    fn new(stream: impl Stream<Item = io::Result<Bytes>> + Send + 'static) -> BlobStream {
        BlobStream(Box::pin(stream))
    }
}

impl Stream for BlobStream {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for BlobStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlobStream")
    }
}

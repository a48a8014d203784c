//! Blobs in a bucket of an S3-compatible object store, for several kxd sharing one.
//!
//! Layout: `PREFIX/messages/ID` (the 伝送 side's content-addressed blobs) and
//! `PREFIX/exchange/ID` (sealed files), no fan-out (a bucket has no directory to fill), no
//! temporary names: an object appears whole when its PUT or its multipart upload completes,
//! so nothing half-written is ever listed.
//!
//! Age is the object's `Last-Modified`, read from the bucket, so every instance sees the same
//! age and garbage collection stays safe across instances. Two things keep it honest:
//! - A content-addressed blob is always PUT again, never "put if absent": a new writer of
//!   the same content makes it young, as a rename does in the local directory, so a
//!   collector that found it old and unreferenced leaves it.
//! - An object store may date a multipart upload's object by when the upload *began*, not
//!   when it completed, so a slow upload could look older than the grace period the moment it
//!   completes, before its row commits. An upload slower than [`RESTAMP_AFTER`] is therefore
//!   copied to a fresh name (a server-side copy, dated by the copy) before it is handed out.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{StreamExt as _, TryStreamExt as _};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{
    ClientOptions, GetOptions, MultipartUpload, ObjectMeta, ObjectStore as _, PutPayloadMut,
    RetryConfig,
};
use tokio::task::JoinHandle;

use super::{BlobId, BlobStore, BlobStream, BlobUpload, BoxFuture, StoredBlob, Tally, Writer};
use crate::Error;
use crate::config::S3Bucket;

/// An upload's part size: S3's minimum for every part but the last. An upload holds at most
/// two parts in memory (one filling, one on its way), whatever the file's size.
const PART_SIZE: usize = 5 * 1024 * 1024;

/// How much of a blob one ranged GET of a read stream fetches. Each range is read whole and
/// quickly, so a reader that drains the stream slowly (an office on a slow line) never holds
/// a request to the bucket open past its timeout.
const READ_CHUNK: u64 = 4 * 1024 * 1024;

/// A multipart upload that took longer than this is copied to a fresh name when it finishes
/// (see the module's documentation); garbage-collection grace periods must be longer.
pub(crate) const RESTAMP_AFTER: Duration = Duration::from_secs(5 * 60);

/// How many content-addressed blobs of a batch are PUT at once.
const PUT_CONCURRENCY: usize = 8;

/// One request to the bucket (a part, a range, a message) takes at most this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The client for `bucket`: path-style requests to its endpoint, its keys, plain HTTP only
/// where the settings allowed it (a loopback endpoint).
pub(super) fn client(bucket: &S3Bucket) -> Result<Arc<AmazonS3>, Error> {
    let options = ClientOptions::new()
        .with_timeout(REQUEST_TIMEOUT)
        .with_connect_timeout(Duration::from_secs(5))
        .with_allow_http(bucket.allow_http);
    // Retried a few times within half a minute: an SMTP client waits for its 250 meanwhile.
    let retry = RetryConfig {
        max_retries: 4,
        retry_timeout: Duration::from_secs(30),
        ..RetryConfig::default()
    };
    let mut builder = AmazonS3Builder::new()
        .with_client_options(options)
        .with_retry(retry)
        .with_bucket_name(&bucket.bucket)
        .with_region(&bucket.region)
        .with_access_key_id(bucket.keys.access_key_id())
        .with_secret_access_key(bucket.keys.secret_access_key())
        .with_virtual_hosted_style_request(false)
        .with_allow_http(bucket.allow_http);
    if let Some(endpoint) = &bucket.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    Ok(Arc::new(builder.build()?))
}

/// Fails unless the bucket answers a listing with these keys: at start, not at the first
/// message.
pub(super) async fn check_reachable(client: &AmazonS3, bucket: &S3Bucket) -> Result<(), Error> {
    let root = bucket.prefix.as_deref().map(ObjectPath::from);
    client.list_with_delimiter(root.as_ref()).await?;
    Ok(())
}

/// One area (`messages` or `exchange`) of a bucket.
#[derive(Clone)]
pub(crate) struct S3Blobs {
    client: Arc<AmazonS3>,
    /// `PREFIX/AREA`.
    root: ObjectPath,
    restamp_after: Duration,
}

impl fmt::Debug for S3Blobs {
    // The client's own Debug would show its whole configuration; the keys stay out of it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Blobs")
            .field("bucket", &self.client.to_string())
            .field("root", &self.root.as_ref())
            .finish()
    }
}

impl S3Blobs {
    /// The area `area` of `bucket`, through `client`.
    pub(crate) fn new(
        client: Arc<AmazonS3>,
        bucket: &S3Bucket,
        area: &str,
    ) -> Result<S3Blobs, Error> {
        let root = match &bucket.prefix {
            Some(prefix) => format!("{prefix}/{area}"),
            None => area.to_owned(),
        };
        Ok(S3Blobs {
            client,
            root: ObjectPath::parse(root)
                .map_err(|e| Error::Settings(format!("s3 prefix: {e}")))?,
            restamp_after: RESTAMP_AFTER,
        })
    }

    /// The same area, with uploads restamped after `after` (tests).
    #[cfg(test)]
    pub(crate) fn restamping_after(mut self, after: Duration) -> S3Blobs {
        self.restamp_after = after;
        self
    }

    fn path(&self, id: &BlobId) -> ObjectPath {
        self.root.child(id.as_str())
    }

    /// Puts other bytes under `id`, as a fault would (tests).
    #[cfg(test)]
    pub(super) async fn overwrite(&self, id: &BlobId, data: Vec<u8>) {
        self.client
            .put(&self.path(id), data.into())
            .await
            .expect("overwritten");
    }

    /// The blob an object of this area holds, if it is one.
    fn blob_of(&self, meta: &ObjectMeta) -> Option<StoredBlob> {
        let mut rest = meta.location.prefix_match(&self.root)?;
        let id = BlobId::parse(rest.next()?.as_ref()).ok()?;
        if rest.next().is_some() {
            return None;
        }
        Some(StoredBlob {
            id,
            age: age(meta),
            size: meta.size,
        })
    }

    async fn put_batch(&self, blobs: Vec<Vec<u8>>) -> Result<Vec<BlobId>, Error> {
        let ids: Vec<BlobId> = blobs.iter().map(|b| BlobId::of(b)).collect();
        let mut seen = std::collections::HashSet::new();
        let unique: Vec<(BlobId, Vec<u8>)> = ids
            .iter()
            .cloned()
            .zip(blobs)
            .filter(|(id, _)| seen.insert(id.clone()))
            .collect();
        futures_util::stream::iter(unique)
            .map(|(id, data)| async move {
                // Always a PUT, even if the object exists: see the module's documentation.
                self.client.put(&self.path(&id), data.into()).await
            })
            .buffer_unordered(PUT_CONCURRENCY)
            .try_for_each(|_| async { Ok(()) })
            .await?;
        Ok(ids)
    }

    async fn get_checked(&self, id: &BlobId) -> Result<Vec<u8>, Error> {
        let data = self
            .client
            .get(&self.path(id))
            .await
            .map_err(|e| not_found(e, id))?
            .bytes()
            .await?;
        if BlobId::of(&data) != *id {
            return Err(Error::CorruptBlob(id.to_string()));
        }
        Ok(Vec::from(data))
    }

    async fn list_all(&self) -> Result<Vec<StoredBlob>, Error> {
        let mut found = Vec::new();
        let mut listing = self.client.list(Some(&self.root));
        while let Some(meta) = listing.try_next().await? {
            found.extend(self.blob_of(&meta));
        }
        Ok(found)
    }

    /// Deletes `id` if the bucket says it was last written at least `grace` ago. Between this
    /// look and the delete, a writer of the same content could PUT it anew and lose it: a
    /// window of one request, for content that is unreferenced and older than the grace
    /// period, which S3 (no conditional delete in this client) cannot close.
    async fn remove_stale(&self, id: &BlobId, grace: Duration) -> Result<Option<u64>, Error> {
        let path = self.path(id);
        let meta = match self.client.head(&path).await {
            Ok(meta) => meta,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if age(&meta) < grace {
            return Ok(None);
        }
        self.client.delete(&path).await?;
        Ok(Some(meta.size))
    }

    async fn open_ranges(&self, id: &BlobId) -> Result<BlobStream, Error> {
        let path = self.path(id);
        let meta = self
            .client
            .head(&path)
            .await
            .map_err(|e| not_found(e, id))?;
        let client = Arc::clone(&self.client);
        // Every range from the object first seen: a changed object ends the stream with an
        // error instead of splicing two.
        let tag = meta.e_tag;
        let size = meta.size;
        let ranges = futures_util::stream::try_unfold(0u64, move |offset| {
            let client = Arc::clone(&client);
            let path = path.clone();
            let tag = tag.clone();
            async move {
                if offset >= size {
                    return Ok(None);
                }
                let end = size.min(offset + READ_CHUNK);
                let options = GetOptions {
                    range: Some((offset..end).into()),
                    if_match: tag,
                    ..GetOptions::default()
                };
                let bytes = client.get_opts(&path, options).await?.bytes().await?;
                if bytes.len() as u64 != end - offset {
                    return Err(object_store::Error::Generic {
                        store: "S3",
                        source: format!("short range {offset}..{end} of {path}").into(),
                    });
                }
                Ok(Some((bytes, end)))
            }
        });
        Ok(BlobStream::new(ranges.map_err(io::Error::other)))
    }

    async fn remove_object(&self, id: &BlobId) -> Result<(), Error> {
        match self.client.delete(&self.path(id)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

impl BlobStore for S3Blobs {
    fn put_all(&self, blobs: Vec<Vec<u8>>) -> BoxFuture<'_, Result<Vec<BlobId>, Error>> {
        Box::pin(self.put_batch(blobs))
    }

    fn get(&self, id: BlobId) -> BoxFuture<'_, Result<Vec<u8>, Error>> {
        Box::pin(async move { self.get_checked(&id).await })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredBlob>, Error>> {
        Box::pin(self.list_all())
    }

    fn remove_if_stale(
        &self,
        id: BlobId,
        grace: Duration,
    ) -> BoxFuture<'_, Result<Option<u64>, Error>> {
        Box::pin(async move { self.remove_stale(&id, grace).await })
    }

    /// Nothing to sweep: no object is written under a temporary name. The parts of a
    /// multipart upload are not objects; an upload that fails or is dropped aborts itself, and
    /// one left by a killed instance is for the bucket's lifecycle rule
    /// (`AbortIncompleteMultipartUpload`), since this client cannot list them.
    fn sweep_temporary(
        &self,
        _older_than: Duration,
        _dry_run: bool,
    ) -> BoxFuture<'_, Result<Tally, Error>> {
        Box::pin(async { Ok(Tally::default()) })
    }

    fn stage_as(&self, id: BlobId) -> BoxFuture<'_, Result<BlobUpload, Error>> {
        let staging = Staging {
            blobs: self.clone(),
            path: self.path(&id),
            buffer: PutPayloadMut::new(),
            upload: None,
            part: None,
        };
        Box::pin(async move { Ok(BlobUpload::new(id, Writer::S3(staging))) })
    }

    fn open_stream(&self, id: BlobId) -> BoxFuture<'_, Result<BlobStream, Error>> {
        Box::pin(async move { self.open_ranges(&id).await })
    }

    fn remove(&self, id: BlobId) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move { self.remove_object(&id).await })
    }
}

/// An upload on its way to the bucket: bytes gather into a part; a full part goes out while
/// the next one fills (one part in flight at a time). The multipart upload is begun with the
/// first full part, so a file smaller than a part is one plain PUT.
pub(super) struct Staging {
    blobs: S3Blobs,
    path: ObjectPath,
    buffer: PutPayloadMut,
    /// The multipart upload and when it began, once a part has gone out.
    upload: Option<(Box<dyn MultipartUpload>, Instant)>,
    /// The part on its way.
    part: Option<JoinHandle<object_store::Result<()>>>,
}

impl fmt::Debug for Staging {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Staging")
            .field("path", &self.path.as_ref())
            .field("buffered", &self.buffer.content_length())
            .field("multipart", &self.upload.is_some())
            .finish()
    }
}

impl Staging {
    /// Appends a chunk; sends a part when one is full (waiting for the previous one first,
    /// which is what keeps memory at two parts).
    pub(super) async fn write(&mut self, mut chunk: &[u8]) -> Result<(), Error> {
        while !chunk.is_empty() {
            let room = PART_SIZE - self.buffer.content_length();
            let (now, later) = chunk.split_at(room.min(chunk.len()));
            self.buffer.extend_from_slice(now);
            chunk = later;
            if self.buffer.content_length() == PART_SIZE {
                self.send_part().await?;
            }
        }
        Ok(())
    }

    async fn send_part(&mut self) -> Result<(), Error> {
        self.wait_for_part().await?;
        if self.upload.is_none() {
            let upload = self.blobs.client.put_multipart(&self.path).await?;
            self.upload = Some((upload, Instant::now()));
        }
        let payload = std::mem::take(&mut self.buffer).freeze();
        if let Some((upload, _)) = &mut self.upload {
            self.part = Some(tokio::spawn(upload.put_part(payload)));
        }
        Ok(())
    }

    async fn wait_for_part(&mut self) -> Result<(), Error> {
        if let Some(part) = self.part.take() {
            part.await??;
        }
        Ok(())
    }

    /// Sends what is left and completes the upload: once this returns, the object is stored.
    /// On failure the multipart upload is aborted (by the drop).
    pub(super) async fn finish(mut self, id: BlobId) -> Result<BlobId, Error> {
        if self.upload.is_none() {
            let payload = std::mem::take(&mut self.buffer).freeze();
            self.blobs.client.put(&self.path, payload).await?;
            return Ok(id);
        }
        self.wait_for_part().await?;
        let last = std::mem::take(&mut self.buffer);
        let Some((upload, began)) = &mut self.upload else {
            return Err(Error::Invalid("finish without an upload".into()));
        };
        if last.content_length() > 0 {
            upload.put_part(last.freeze()).await?;
        }
        upload.complete().await?;
        let began = *began;
        // Completed: nothing left for the drop to abort.
        self.upload = None;
        if began.elapsed() < self.blobs.restamp_after {
            return Ok(id);
        }
        let fresh = BlobId::random();
        let copied = self
            .blobs
            .client
            .copy(&self.path, &self.blobs.path(&fresh))
            .await;
        // Either way the first name is no one's: gone now, or left to the garbage collector.
        let _ = self.blobs.client.delete(&self.path).await;
        copied?;
        Ok(fresh)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let Some((mut upload, _)) = self.upload.take() else {
            return;
        };
        let part = self.part.take();
        // Aborted from a task of its own: a drop cannot wait. A part still on its way is let
        // finish first, since one that lands after the abort would keep the upload alive.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Some(part) = part {
                    let _ = part.await;
                }
                if let Err(e) = upload.abort().await {
                    tracing::warn!(error = %e, "s3: cannot abort an unfinished upload");
                }
            });
        }
    }
}

/// The time since the object was last written, by the bucket's clock and ours. `Last-Modified`
/// has whole seconds, so it is counted from the end of its second: an object is never taken
/// for older than it is.
fn age(meta: &ObjectMeta) -> Duration {
    (chrono::Utc::now() - meta.last_modified)
        .to_std()
        .unwrap_or(Duration::ZERO)
        .saturating_sub(Duration::from_secs(1))
}

/// A missing object as the store says it; other failures as they are.
fn not_found(e: object_store::Error, id: &BlobId) -> Error {
    match e {
        object_store::Error::NotFound { .. } => Error::NotFound(format!("blob {id}")),
        e => e.into(),
    }
}

//! The same tests on both backends: a local directory, and a bucket of moto's S3 server
//! (`kx_testkit::S3Server`, one per test binary, a fresh bucket per test).

use std::time::Duration;

use futures_util::StreamExt as _;
use kx_testkit::S3Server;
use tempfile::TempDir;

use super::*;
use crate::S3Keys;
use crate::config::S3Bucket;

/// Long enough for whole-second `Last-Modified` times, short enough for a test.
const GRACE: Duration = Duration::from_secs(2);
/// Waited for a blob to outgrow [`GRACE`] on either backend.
const PAST_GRACE: Duration = Duration::from_millis(3500);

#[derive(Clone, Copy, Debug)]
enum Backend {
    Local,
    S3,
}

/// One area of a backend, beside another (`exchange`) that must not show in its listings.
enum Fixture {
    Local {
        blobs: LocalBlobs,
        sibling: LocalBlobs,
        _dir: TempDir,
    },
    S3 {
        blobs: S3Blobs,
        sibling: S3Blobs,
        bucket: String,
    },
}

/// The settings of a fresh bucket on the shared moto server.
fn moto_bucket() -> S3Bucket {
    let server = S3Server::shared();
    S3Bucket {
        bucket: server.fresh_bucket(),
        endpoint: Some(server.endpoint()),
        region: "us-east-1".into(),
        prefix: Some("kx/test".into()),
        keys: S3Keys::new("test-key", "test-secret").expect("keys"),
        allow_http: true,
    }
}

async fn fixture(backend: Backend) -> Fixture {
    match backend {
        Backend::Local => {
            let dir = tempfile::tempdir().expect("a directory");
            Fixture::Local {
                blobs: LocalBlobs::open(dir.path()).expect("opens"),
                sibling: LocalBlobs::open(&dir.path().join("exchange")).expect("opens"),
                _dir: dir,
            }
        }
        Backend::S3 => {
            let bucket = moto_bucket();
            let client = s3::client(&bucket).expect("a client");
            s3::check_reachable(&client, &bucket)
                .await
                .expect("moto answers");
            Fixture::S3 {
                blobs: S3Blobs::new(client.clone(), &bucket, "messages").expect("an area"),
                sibling: S3Blobs::new(client, &bucket, "exchange").expect("an area"),
                bucket: bucket.bucket,
            }
        }
    }
}

impl Fixture {
    fn blobs(&self) -> &dyn BlobStore {
        match self {
            Fixture::Local { blobs, .. } => blobs,
            Fixture::S3 { blobs, .. } => blobs,
        }
    }

    fn sibling(&self) -> &dyn BlobStore {
        match self {
            Fixture::Local { sibling, .. } => sibling,
            Fixture::S3 { sibling, .. } => sibling,
        }
    }

    /// Replaces a blob's bytes behind the store's back.
    async fn corrupt(&self, id: &BlobId, data: &[u8]) {
        match self {
            Fixture::Local { blobs, .. } => std::fs::write(blobs.path(id), data).expect("written"),
            Fixture::S3 { blobs, .. } => blobs.overwrite(id, data.to_vec()).await,
        }
    }

    /// Multipart uploads begun and neither completed nor aborted (none on a directory).
    fn unfinished_uploads(&self) -> usize {
        match self {
            Fixture::Local { .. } => 0,
            Fixture::S3 { bucket, .. } => S3Server::shared().unfinished_uploads(bucket),
        }
    }

    /// Waits until no multipart upload is left (an abort runs in a task of its own).
    async fn wait_for_no_unfinished_uploads(&self) {
        for _ in 0..100 {
            if self.unfinished_uploads() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{} multipart uploads left", self.unfinished_uploads());
    }
}

async fn read_all(blobs: &dyn BlobStore, id: &BlobId) -> Vec<u8> {
    let mut stream = blobs.open_stream(id.clone()).await.expect("opens");
    let mut read = Vec::new();
    while let Some(chunk) = stream.next().await {
        read.extend_from_slice(&chunk.expect("a chunk"));
    }
    read
}

fn ids(found: &[StoredBlob]) -> Vec<BlobId> {
    let mut ids: Vec<BlobId> = found.iter().map(|b| b.id.clone()).collect();
    ids.sort();
    ids
}

async fn put_get_and_verify(backend: Backend) {
    let f = fixture(backend).await;
    let blobs = f.blobs();
    let ids = blobs
        .put_all(vec![b"abc".to_vec(), b"xyz".to_vec(), b"abc".to_vec()])
        .await
        .expect("stored");
    assert_eq!(
        ids[0].as_str(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(ids[0], ids[2]);
    assert_eq!(blobs.get(ids[0].clone()).await.expect("read"), b"abc");
    assert_eq!(blobs.get(ids[1].clone()).await.expect("read"), b"xyz");
    assert!(matches!(
        blobs.get(BlobId::of(b"never stored")).await,
        Err(Error::NotFound(_))
    ));
    f.corrupt(&ids[1], b"xyZ").await;
    assert!(matches!(
        blobs.get(ids[1].clone()).await,
        Err(Error::CorruptBlob(_))
    ));
}

async fn listing_shows_this_area_only(backend: Backend) {
    let f = fixture(backend).await;
    let put = f
        .blobs()
        .put_all(vec![b"one".to_vec(), b"three".to_vec()])
        .await
        .expect("stored");
    let mut upload = f.sibling().stage().await.expect("staged");
    upload.write(b"sealed").await.expect("written");
    let sealed = upload.finish().await.expect("finished");
    let found = f.blobs().list().await.expect("listed");
    let mut want = put.clone();
    want.sort();
    assert_eq!(ids(&found), want);
    for blob in &found {
        let expected = if blob.id == put[0] { 3 } else { 5 };
        assert_eq!(blob.size, expected);
        assert!(blob.age < Duration::from_secs(60), "{blob:?}");
    }
    assert_eq!(
        ids(&f.sibling().list().await.expect("listed")),
        vec![sealed.id]
    );
}

async fn only_stale_blobs_are_removed_and_a_rewrite_keeps_its_blob(backend: Backend) {
    let f = fixture(backend).await;
    let blobs = f.blobs();
    let id = blobs
        .put_all(vec![b"abc".to_vec()])
        .await
        .expect("stored")
        .remove(0);
    assert_eq!(
        blobs.remove_if_stale(id.clone(), GRACE).await.expect("ok"),
        None,
        "younger than the grace period"
    );
    tokio::time::sleep(PAST_GRACE).await;
    // The same content stored anew (a writer about to commit a row naming it) is young.
    blobs.put_all(vec![b"abc".to_vec()]).await.expect("stored");
    assert_eq!(
        blobs.remove_if_stale(id.clone(), GRACE).await.expect("ok"),
        None
    );
    assert_eq!(blobs.get(id.clone()).await.expect("kept"), b"abc");
    tokio::time::sleep(PAST_GRACE).await;
    assert_eq!(
        blobs.remove_if_stale(id.clone(), GRACE).await.expect("ok"),
        Some(3)
    );
    assert!(matches!(
        blobs.get(id.clone()).await,
        Err(Error::NotFound(_))
    ));
    assert!(blobs.list().await.expect("listed").is_empty());
    assert_eq!(blobs.remove_if_stale(id, GRACE).await.expect("ok"), None);
}

async fn a_large_upload_streams_in_and_out_byte_for_byte(backend: Backend) {
    let f = fixture(backend).await;
    let blobs = f.sibling();
    let data = kx_testkit::noise(20 * 1024 * 1024 + 12_345, 2);
    let mut upload = blobs.stage().await.expect("staged");
    // Network-sized frames, and one larger than an object store's part.
    let (frames, rest) = data.split_at(3 * 1024 * 1024);
    for frame in frames.chunks(64 * 1024) {
        upload.write(frame).await.expect("written");
    }
    let (big, rest) = rest.split_at(7 * 1024 * 1024);
    upload.write(big).await.expect("written");
    for frame in rest.chunks(16 * 1024 + 7) {
        upload.write(frame).await.expect("written");
    }
    assert_eq!(upload.size(), data.len() as u64);
    let staged = upload.finish().await.expect("finished");
    assert_eq!(staged.size(), data.len() as u64);
    assert_eq!(staged.sha256(), hex(Sha256::digest(&data).as_slice()));
    assert_eq!(f.unfinished_uploads(), 0);
    assert_eq!(
        ids(&blobs.list().await.expect("listed")),
        vec![staged.id.clone()]
    );
    let mut stream = blobs.open_stream(staged.id.clone()).await.expect("opens");
    let mut read = Vec::with_capacity(data.len());
    let mut largest = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("a chunk");
        largest = largest.max(chunk.len());
        read.extend_from_slice(&chunk);
    }
    assert!(read == data, "read back {} bytes, not the same", read.len());
    assert!(largest <= 4 * 1024 * 1024, "a chunk of {largest} bytes");
}

async fn small_and_empty_uploads_read_back(backend: Backend) {
    let f = fixture(backend).await;
    let blobs = f.sibling();
    for data in [&b"a sealed file"[..], b""] {
        let mut upload = blobs.stage().await.expect("staged");
        upload.write(data).await.expect("written");
        let staged = upload.finish().await.expect("finished");
        assert_eq!(read_all(blobs, &staged.id).await, data);
    }
}

async fn a_dropped_upload_leaves_nothing(backend: Backend) {
    let f = fixture(backend).await;
    let blobs = f.sibling();
    let mut upload = blobs.stage().await.expect("staged");
    // More than a part: an object store has begun a multipart upload.
    for frame in kx_testkit::noise(6 * 1024 * 1024, 2).chunks(256 * 1024) {
        upload.write(frame).await.expect("written");
    }
    if let Backend::S3 = backend {
        assert_eq!(f.unfinished_uploads(), 1);
    }
    drop(upload);
    f.wait_for_no_unfinished_uploads().await;
    assert!(blobs.list().await.expect("listed").is_empty());
    assert_eq!(
        blobs
            .sweep_temporary(Duration::ZERO, true)
            .await
            .expect("counted"),
        Tally::default(),
        "nothing left to sweep"
    );
}

async fn a_removed_blob_is_gone_and_removing_again_is_fine(backend: Backend) {
    let f = fixture(backend).await;
    let blobs = f.sibling();
    let mut upload = blobs.stage().await.expect("staged");
    upload.write(b"sealed").await.expect("written");
    let staged = upload.finish().await.expect("finished");
    blobs.remove(staged.id.clone()).await.expect("removed");
    assert!(matches!(
        blobs.open_stream(staged.id.clone()).await,
        Err(Error::NotFound(_))
    ));
    blobs.remove(staged.id).await.expect("already gone is fine");
    assert!(blobs.list().await.expect("listed").is_empty());
}

/// Each test above, once per backend: `NAME::local` and `NAME::s3`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn local() {
                    super::$name(super::Backend::Local).await;
                }

                #[tokio::test]
                async fn s3() {
                    super::$name(super::Backend::S3).await;
                }
            }
        )*
    };
}

on_both_backends!(
    put_get_and_verify,
    listing_shows_this_area_only,
    only_stale_blobs_are_removed_and_a_rewrite_keeps_its_blob,
    a_large_upload_streams_in_and_out_byte_for_byte,
    small_and_empty_uploads_read_back,
    a_dropped_upload_leaves_nothing,
    a_removed_blob_is_gone_and_removing_again_is_fine,
);

#[tokio::test]
async fn a_slow_multipart_upload_is_copied_to_a_fresh_name() {
    let bucket = moto_bucket();
    let client = s3::client(&bucket).expect("a client");
    let blobs = S3Blobs::new(client, &bucket, "exchange")
        .expect("an area")
        .restamping_after(Duration::ZERO);
    let data = kx_testkit::noise(6 * 1024 * 1024, 2);
    let mut upload = blobs.stage().await.expect("staged");
    let first = upload.id.clone();
    upload.write(&data).await.expect("written");
    let staged = upload.finish().await.expect("finished");
    assert_ne!(staged.id, first, "a fresh name");
    assert_eq!(
        ids(&blobs.list().await.expect("listed")),
        vec![staged.id.clone()]
    );
    assert_eq!(read_all(&blobs, &staged.id).await, data);
    assert_eq!(S3Server::shared().unfinished_uploads(&bucket.bucket), 0);
}

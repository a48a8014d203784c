//! The store on SQLite and a bucket of an S3-compatible server (moto's, one for this test
//! binary, a fresh bucket per test): the 伝送 side's accept and read, and an exchange file's
//! upload, download and delete, through the Store API only.

mod common;

use std::path::Path;

use futures_util::StreamExt as _;
use kx_store::exchange::{DeleteOutcome, FileRecord, SendOutcome};
use kx_store::{Blobs, Error, Store, files};
use kx_testkit::S3Server;

use common::exchange::{send, t0, world};
use common::{accept_one, mailbox};

/// A store in `dir` whose blobs are in a fresh bucket, its keys in a private file named by
/// the URL as an operator would; and the bucket's name.
async fn open_on_s3(dir: &Path) -> (Store, String) {
    let server = S3Server::shared();
    let bucket = server.fresh_bucket();
    let keys = dir.join("s3-keys");
    std::io::Write::write_all(
        &mut files::create_new(&keys).expect("created"),
        b"aws_access_key_id = test-key\naws_secret_access_key = test-secret\n",
    )
    .expect("written");
    let mut config = common::config(dir);
    config.blobs = Blobs::parse(
        &format!(
            "s3://{bucket}?endpoint={}&prefix=kx&credentials=s3-keys",
            server.endpoint()
        ),
        dir,
    )
    .expect("the setting reads");
    (Store::open(&config).await.expect("opens"), bucket)
}

async fn download(store: &Store, record: &FileRecord) -> Result<Vec<u8>, Error> {
    let mut stream = store.open_file(record).await?;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk?);
    }
    Ok(bytes)
}

#[tokio::test]
async fn accepted_messages_are_stored_in_the_bucket_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _bucket) = open_on_s3(dir.path()).await;
    let account = common::office(&store, "1312345678").await;
    let item = common::data_send(&account, "0000000001");
    let (message, accept) = (item.message.clone(), item.accept.clone());
    let ids = store.accept(vec![item]).await.unwrap();
    accept_one(&store, &account, "0000000002").await;
    assert_eq!(store.submission_message(ids[0]).await.unwrap(), message);
    let messages = mailbox(&store, &account).await;
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0], accept);
    assert!(
        !dir.path().join("blobs").exists(),
        "nothing is kept in the data directory"
    );
    let garbage = store
        .collect_garbage(std::time::Duration::ZERO, false)
        .await
        .unwrap();
    assert_eq!(garbage.messages.count, 0, "every blob is held by a row");
    assert_eq!(store.submission_message(ids[0]).await.unwrap(), message);

    // A batch that fails (it repeats a number) leaves the blobs of its new message behind,
    // held by nothing: they are deleted from the bucket.
    let failed = store
        .accept(vec![
            common::data_send(&account, "0000000003"),
            common::data_send(&account, "0000000001"),
        ])
        .await;
    assert!(matches!(failed, Err(Error::NumberUsed(_))), "{failed:?}");
    let garbage = store
        .collect_garbage(std::time::Duration::ZERO, false)
        .await
        .unwrap();
    assert_eq!(garbage.messages.count, 2, "{garbage:?}");
    assert_eq!(mailbox(&store, &account).await.len(), 2);
}

#[tokio::test]
async fn an_exchange_file_is_uploaded_downloaded_and_deleted_in_the_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let (store, bucket) = open_on_s3(dir.path()).await;
    let w = world(&store).await;
    let sealed = b"sealed bytes of a file to the society".to_vec();
    let SendOutcome::Stored(record) =
        send(&store, w.office, "off1", w.society, &sealed, t0()).await
    else {
        panic!("not stored")
    };
    assert_eq!(download(&store, &record).await.unwrap(), sealed);
    assert_eq!(
        store
            .delete_file(w.society, &record.id, t0())
            .await
            .unwrap(),
        DeleteOutcome::Deleted
    );
    assert!(matches!(
        download(&store, &record).await,
        Err(Error::NotFound(_))
    ));

    // Over quota: the upload's object is removed at once.
    let too_big = vec![7u8; 101];
    assert!(matches!(
        send(&store, w.society, "soc1", w.office, &too_big, t0()).await,
        SendOutcome::OverQuota { .. }
    ));
    // Not recorded yet: held by its intent, however short the grace period.
    let mut upload = store.exchange_upload().await.unwrap();
    upload.write(b"never recorded").await.unwrap();
    let _in_flight = upload.finish().await.unwrap();
    let garbage = store
        .collect_garbage(std::time::Duration::ZERO, false)
        .await
        .unwrap();
    assert_eq!(garbage.sealed.count, 0, "{garbage:?}");
    assert_eq!(store.sweep_temporary().await.unwrap().count, 0);
    assert_eq!(S3Server::shared().unfinished_uploads(&bucket), 0);
}

//! Garbage collection beside writers in flight (issue 15). Several kxd share one database and
//! one blob store, so a writer may wait for the write lock for any length of time between
//! writing its blobs and committing the row that names them. The collector of another instance
//! must never delete such a blob, whatever its grace period. Here that instance is a second
//! [`Store`] on the same database and blobs, collecting with a grace period of zero while the
//! naming transaction has not committed.

mod common;

use std::time::Duration;

use common::exchange::{notice, t0, world};
use common::{data_send, mailbox, open, with_office};
use futures_util::StreamExt as _;
use kx_store::exchange::{FileFunction, SendOutcome, Upload};
use kx_store::{Error, Store};
use tokio::task::JoinSet;

/// Collects as an impatient instance would: every blob no row names or no writer holds goes.
async fn collect(store: &Store) -> kx_store::Garbage {
    store
        .collect_garbage(Duration::ZERO, false)
        .await
        .expect("collected")
}

#[tokio::test]
async fn a_collection_between_a_submissions_blobs_and_its_commit_deletes_neither() {
    let (dir, store, account) = with_office().await;
    let other = open(dir.path()).await;
    let item = data_send(&account, "0000000001");
    let (message, accept) = (item.message.clone(), item.accept.clone());
    let prepared = store.prepare_submission(item).await.unwrap();

    // The blobs are durable and no row names them yet.
    let dry = other
        .collect_garbage(Duration::ZERO, true)
        .await
        .expect("dry run");
    assert_eq!(dry.messages.count, 0, "{dry:?}");
    assert_eq!(collect(&other).await.messages.count, 0);
    assert_eq!(collect(&store).await.messages.count, 0);

    let outcomes = store.accept_prepared(vec![prepared]).await.unwrap();
    let Ok(id) = outcomes[0] else {
        panic!("not stored: {outcomes:?}")
    };
    assert_eq!(store.submission_message(id).await.unwrap(), message);
    assert_eq!(
        mailbox(&store, &account).await,
        std::slice::from_ref(&accept)
    );
    // From its commit on, the rows hold the blobs.
    assert_eq!(collect(&other).await.messages.count, 0);
    assert_eq!(other.submission_message(id).await.unwrap(), message);
    assert_eq!(mailbox(&other, &account).await, [accept]);
}

#[tokio::test]
async fn a_collection_between_an_uploads_bytes_and_its_row_deletes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let other = open(dir.path()).await;
    let w = world(&store).await;
    let sealed = b"sealed bytes, durable before their row".to_vec();
    let mut upload = store.exchange_upload().await.unwrap();
    upload.write(&sealed).await.unwrap();
    let blob = upload.finish().await.unwrap();
    assert_eq!(collect(&other).await.sealed.count, 0, "held by its intent");

    let outcome = store
        .store_file(
            Upload {
                sender: w.office,
                sender_user: "off1".into(),
                recipient: w.society,
                destination: None,
                function: FileFunction::Attachments,
                name: "Send-x.p7m".into(),
                blob,
            },
            &notice("new file"),
            t0(),
        )
        .await
        .unwrap();
    let SendOutcome::Stored(record) = outcome else {
        panic!("not stored: {outcome:?}")
    };
    assert_eq!(collect(&other).await.sealed.count, 0, "held by its row");
    let mut stream = other.open_file(&record).await.unwrap();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(bytes, sealed);
}

#[tokio::test]
async fn a_failed_batch_forgets_its_intents_and_its_blobs_are_garbage_at_once() {
    let (dir, store, account) = with_office().await;
    let other = open(dir.path()).await;
    store
        .accept(vec![data_send(&account, "0000000001")])
        .await
        .unwrap();
    // The second repeats a number, so nothing of the batch is stored. The repeat's blobs are
    // those of the first submission, which its rows hold; the new message's two are garbage.
    let failed = store
        .accept(vec![
            data_send(&account, "0000000002"),
            data_send(&account, "0000000001"),
        ])
        .await;
    assert!(matches!(failed, Err(Error::NumberUsed(_))), "{failed:?}");
    assert_eq!(collect(&other).await.messages.count, 2);
    assert_eq!(mailbox(&store, &account).await.len(), 1);
}

#[tokio::test]
async fn collections_running_beside_many_writers_never_delete_a_blob_a_row_names() {
    let (dir, store, account) = with_office().await;
    let other = open(dir.path()).await;
    // A grace period a little longer than a blob takes to write: the collector also sweeps
    // temporary files that old, and a write in progress refreshes its own. Each writer then
    // waits past it before committing, as one queued behind busy instances would.
    const GRACE: Duration = Duration::from_millis(20);
    let collector = tokio::spawn(async move {
        loop {
            other
                .collect_garbage(GRACE, false)
                .await
                .expect("collected");
            tokio::task::yield_now().await;
        }
    });
    let mut writers = JoinSet::new();
    for writer in 0..4 {
        let (store, account) = (store.clone(), account.clone());
        writers.spawn(async move {
            for i in 0..6 {
                let serial = format!("{:010}", writer * 100 + i);
                let prepared = prepare_retrying(&store, || data_send(&account, &serial)).await;
                tokio::time::sleep(3 * GRACE).await;
                let outcomes = store.accept_prepared(vec![prepared]).await.unwrap();
                assert!(outcomes[0].is_ok(), "{outcomes:?}");
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }
    collector.abort();
    // Every Accept is there to read, and every raw message.
    assert_eq!(mailbox(&store, &account).await.len(), 24);
    for submission in store
        .submissions(&account.org().org_code(), 100)
        .await
        .unwrap()
    {
        store.submission_message(submission.id).await.unwrap();
    }
}

/// Prepares a submission, again when the collector swept its temporary file away in the
/// middle of a write slower than the grace period (an error the writer sees, as a client
/// would see a temporary failure, never a blob lost after the fact).
async fn prepare_retrying(
    store: &Store,
    item: impl Fn() -> kx_store::NewSubmission,
) -> kx_store::PreparedSubmission {
    for _ in 0..20 {
        match store.prepare_submission(item()).await {
            Ok(prepared) => return prepared,
            Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("prepare: {e}"),
        }
    }
    panic!("prepare failed 20 times")
}

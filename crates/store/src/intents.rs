//! Blob intents: a writer's record, in the database, of the blobs it is about to write and
//! name, so that the garbage collector of every instance leaves them alone.
//!
//! Why: a blob is durable before the transaction naming it commits, so for a while it exists
//! and no row names it. Telling such a blob from garbage by its age alone assumes that the
//! writer commits within the collector's grace period, and a writer queued behind the write
//! lock of several busy instances need not.
//!
//! How:
//! 1. The writer commits its intents (blob, area, holder, expiry) before it writes a byte
//!    ([`Intents::hold`]).
//! 2. It writes the blobs.
//! 3. The transaction naming them deletes those intents in the same commit ([`release_in`]).
//!
//! The collector lists the blobs first, then reads the rows and the unexpired intents in one
//! statement. A blob it lists was written after its intent had committed, so that read sees the
//! intent or the row that replaced it, whichever instance wrote them. What is left is the
//! window that [`BlobStore::remove_if_stale`](crate::blob::BlobStore::remove_if_stale)
//! documents.
//!
//! A writer that fails deletes its intents, best effort ([`Intents::forget`]). One that dies
//! leaves them to lapse at `expires_at`, and the retention job deletes them. A naming
//! transaction first checks that its intents are all still there and not about to lapse;
//! otherwise it stores nothing of that writer ([`Error::Lapsed`]). So the expiry bounds how
//! long a dead writer's garbage is kept. It never decides whether a named blob is kept.
//!
//! Cost: one more commit per write. Concurrent writers of one store share it: the caller that
//! finds no intent transaction running commits everything queued meanwhile. This is group
//! commit, as the gateway does for submissions, so under load there is one intent transaction
//! per batch, not per message. The intent transaction only inserts rows and reads nothing, so
//! it does not wait for the writer lock that serialises the store's other write transactions
//! on PostgreSQL (see `db`): it commits beside a group commit in progress, not after it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use crate::Error;
use crate::blob::BlobId;
use crate::db::{Conn, Db, millis, now_ms, placeholders};

/// How long a 伝送 writer's intents hold its blobs. Its commit follows within seconds. An hour
/// is far beyond any SMTP client's patience: RFC 5321 §4.5.3.2.6 gives the final reply 10
/// minutes.
const MESSAGE_LIFETIME: Duration = Duration::from_secs(3600);

/// How long a sealed upload's intent holds its blob. An upload has an idle timeout but no
/// overall deadline, so a large file on a slow line can take hours. An upload slower than
/// this is refused at its commit.
const SEALED_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// A naming transaction refuses intents that lapse within this time. This covers the clocks of
/// instances that disagree by less than this: the collector of an instance whose clock is
/// ahead treats an intent as lapsed earlier.
const CLOCK_MARGIN: Duration = Duration::from_secs(5 * 60);

/// At most this many intents per statement: four values each, well inside the bound
/// parameters that SQLite and PostgreSQL allow.
const CHUNK: usize = 250;

/// Which blob area an intent is for (the collector of each area reads its own).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Area {
    /// The 伝送 side's content-addressed blobs.
    Messages,
    /// The exchange's sealed files.
    Sealed,
}

impl Area {
    /// The word stored in `blob_intents.area`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Area::Messages => "messages",
            Area::Sealed => "sealed",
        }
    }

    fn lifetime(self) -> Duration {
        match self {
            Area::Messages => MESSAGE_LIFETIME,
            Area::Sealed => SEALED_LIFETIME,
        }
    }
}

/// One writer's committed intents: the transaction that names its blobs releases them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Hold {
    holder: String,
    /// How many distinct blobs it holds: as many intents must still be there at the release.
    blobs: usize,
}

impl Hold {
    /// The hold of a sealed upload, which is named by its blob id. The id is random and has
    /// one owner, so the row that records the file can name the hold again from the blob
    /// alone.
    pub(crate) fn sealed(blob: &BlobId) -> Hold {
        Hold {
            holder: blob.as_str().to_owned(),
            blobs: 1,
        }
    }
}

/// An intent waiting for its transaction.
#[derive(Debug)]
struct Row {
    blob: String,
    area: Area,
    holder: String,
    expires_at: i64,
}

/// What became of a queue's transaction: the error as text, since every caller in the queue
/// receives it.
type Outcome = Arc<OnceLock<Result<(), String>>>;

/// The intents gathered for the next transaction.
#[derive(Debug, Default)]
struct Queue {
    rows: Vec<Row>,
    outcome: Outcome,
}

/// The intent writer of one store, shared by its clones.
#[derive(Debug)]
pub(crate) struct Intents {
    db: Db,
    queue: Mutex<Queue>,
    /// Held by the caller that commits a queue: one intent transaction at a time, and while
    /// it runs the next queue fills.
    turn: tokio::sync::Mutex<()>,
    #[cfg(test)]
    transactions: std::sync::atomic::AtomicU64,
}

impl Intents {
    pub(crate) fn new(db: Db) -> Intents {
        Intents {
            db,
            queue: Mutex::default(),
            turn: tokio::sync::Mutex::new(()),
            #[cfg(test)]
            transactions: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Commits intents on `blobs` of `area` before they are written, under a holder of their
    /// own, in one transaction with those of concurrent callers. When this returns Ok, the
    /// collector of every instance leaves these blobs alone until the hold is released or
    /// lapses.
    pub(crate) async fn hold(&self, area: Area, blobs: &[BlobId]) -> Result<Hold, Error> {
        let holder = crate::exchange::random_hex(16);
        self.hold_as(area, holder, blobs).await
    }

    /// [`Intents::hold`] for a sealed upload's blob, before its first byte is written.
    pub(crate) async fn hold_sealed(&self, blob: &BlobId) -> Result<Hold, Error> {
        let hold = Hold::sealed(blob);
        self.hold_as(Area::Sealed, hold.holder, std::slice::from_ref(blob))
            .await
    }

    async fn hold_as(&self, area: Area, holder: String, blobs: &[BlobId]) -> Result<Hold, Error> {
        // One intent per blob and holder (the table's key), even where a writer stores the
        // same content twice.
        let mut blobs: Vec<&BlobId> = blobs.iter().collect();
        blobs.sort_unstable();
        blobs.dedup();
        let hold = Hold {
            holder,
            blobs: blobs.len(),
        };
        if blobs.is_empty() {
            return Ok(hold);
        }
        let expires_at = now_ms().saturating_add(millis(area.lifetime()));
        let outcome = {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.rows.extend(blobs.into_iter().map(|blob| Row {
                blob: blob.as_str().to_owned(),
                area,
                holder: hold.holder.clone(),
                expires_at,
            }));
            Arc::clone(&queue.outcome)
        };
        let _turn = self.turn.lock().await;
        if outcome.get().is_none() {
            // Nobody has committed this queue while we waited: commit it, with whatever
            // joined it. It is still the current queue, since only the holder of the turn
            // takes a queue and settles its outcome before giving the turn up.
            let queue =
                std::mem::take(&mut *self.queue.lock().unwrap_or_else(PoisonError::into_inner));
            let settle = Settle(&queue.outcome);
            let result = self.insert(&queue.rows).await;
            settle.done(result.as_ref().map(|_| ()).map_err(ToString::to_string));
            result?;
        }
        match outcome.get() {
            Some(Ok(())) => Ok(hold),
            Some(Err(why)) => Err(Error::Batched(why.clone())),
            None => Err(Error::Batched(
                "the intent transaction was abandoned".into(),
            )),
        }
    }

    /// Deletes the intents of writers that failed, so that their blobs become garbage at once
    /// rather than when the intents lapse. Best effort: an intent left behind only lapses.
    pub(crate) async fn forget(&self, holds: &[&Hold]) {
        for chunk in holds.chunks(CHUNK) {
            let sql = format!(
                "DELETE FROM blob_intents WHERE holder IN ({})",
                placeholders(chunk.len(), 1)
            );
            let mut query = sqlx::query(&sql);
            for hold in chunk {
                query = query.bind(&hold.holder);
            }
            if let Err(e) = query.execute(self.db.pool()).await {
                tracing::debug!(error = %e, "store: blob intents left to lapse");
            }
        }
    }

    async fn insert(&self, rows: &[Row]) -> Result<(), Error> {
        // It only inserts rows of its own, so no invariant needs the writer lock.
        let mut tx = self.db.write_rows().await?;
        for chunk in rows.chunks(CHUNK) {
            let values = (0..chunk.len())
                .map(|i| format!("({})", placeholders(4, 4 * i + 1)))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO blob_intents (blob, area, holder, expires_at) VALUES {values}"
            );
            let mut query = sqlx::query(&sql);
            for row in chunk {
                query = query
                    .bind(&row.blob)
                    .bind(row.area.as_str())
                    .bind(&row.holder)
                    .bind(row.expires_at);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        #[cfg(test)]
        self.transactions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// How many intent transactions have committed.
    #[cfg(test)]
    pub(crate) fn transactions(&self) -> u64 {
        self.transactions.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Settles a queue's outcome, as abandoned if its committer is dropped first (a cancelled
/// caller), so that the callers waiting for it fail rather than wait for ever.
struct Settle<'a>(&'a Outcome);

impl Settle<'_> {
    fn done(self, result: Result<(), String>) {
        let _ = self.0.set(result);
    }
}

impl Drop for Settle<'_> {
    fn drop(&mut self) {
        let _ = self
            .0
            .set(Err("the intent transaction was abandoned".into()));
    }
}

/// In the transaction that names the blobs of `holds`: deletes their intents and tells, for
/// each hold, whether all of its intents were still there and far from lapsing. A hold that
/// was not must not be named, since the collector may have deleted its blobs.
pub(crate) async fn release_in(
    conn: &mut Conn,
    holds: &[&Hold],
    now: i64,
) -> Result<Vec<bool>, Error> {
    let mut found: HashMap<String, (usize, i64)> = HashMap::new();
    for chunk in holds.chunks(CHUNK) {
        let sql = format!(
            "DELETE FROM blob_intents WHERE holder IN ({}) RETURNING holder, expires_at",
            placeholders(chunk.len(), 1)
        );
        let mut query = sqlx::query_as::<_, (String, i64)>(&sql);
        for hold in chunk {
            query = query.bind(&hold.holder);
        }
        for (holder, expires_at) in query.fetch_all(&mut *conn).await? {
            let entry = found.entry(holder).or_insert((0, i64::MAX));
            entry.0 += 1;
            entry.1 = entry.1.min(expires_at);
        }
    }
    let deadline = now.saturating_add(millis(CLOCK_MARGIN));
    Ok(holds
        .iter()
        .map(|hold| match found.get(&hold.holder) {
            Some(&(count, lapses)) => count == hold.blobs && lapses > deadline,
            None => hold.blobs == 0,
        })
        .collect())
}

/// [`release_in`] for one hold: [`Error::Lapsed`] when it must not be named.
pub(crate) async fn release_one_in(conn: &mut Conn, hold: &Hold, now: i64) -> Result<(), Error> {
    if release_in(conn, &[hold], now).await? == [true] {
        Ok(())
    } else {
        Err(Error::Lapsed)
    }
}

/// `$first, $first+1, …`: `n` bound parameters.
#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::future::join_all;
    use kx_denso::{AccountId, OrgKind, OrgNumber, TransmissionNumber};

    use super::*;
    use crate::{Arrival, NewSubmission, Store, SubmissionKind};

    /// A store in `dir` (on PostgreSQL when the tests run there) with one office account.
    async fn store(dir: &std::path::Path) -> (Store, AccountId) {
        let store = Store::open(&crate::testing::config(dir)).await.unwrap();
        let org = OrgNumber::new(OrgKind::Office, "1312345678").unwrap();
        store.add_org(&org, "office", &[]).await.unwrap();
        let account = org.master();
        store.add_account(&account).await.unwrap();
        (store, account)
    }

    fn data_send(account: &AccountId, serial: &str) -> NewSubmission {
        let number = TransmissionNumber::new(account.org(), serial).unwrap();
        NewSubmission {
            account: account.clone(),
            kind: SubmissionKind::DataSend,
            message: format!("X-IFArea: {number},00001\r\n").into(),
            accept: format!("X-IFArea: {number},Success\r\n").into(),
            arrival: Arrival::Success {
                number,
                cancel: None,
            },
        }
    }

    /// Moves every intent's expiry to `at`, as time passing would.
    async fn expire_all(store: &Store, at: i64) {
        sqlx::query("UPDATE blob_intents SET expires_at = $1")
            .bind(at)
            .execute(store.db.pool())
            .await
            .unwrap();
    }

    async fn intents(store: &Store) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM blob_intents")
            .fetch_one(store.db.pool())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn concurrent_writers_share_one_intent_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store(dir.path()).await;
        let blobs: Vec<BlobId> = (0..16u8).map(|i| BlobId::of(&[i])).collect();
        let holds = join_all(blobs.iter().map(|blob| {
            store
                .intents
                .hold(Area::Messages, std::slice::from_ref(blob))
        }))
        .await;
        assert!(holds.iter().all(Result::is_ok), "{holds:?}");
        // The first caller commits alone; the fifteen that queued meanwhile share the next.
        assert_eq!(store.intents.transactions(), 2);
        assert_eq!(intents(&store).await, 16);

        let holds: Vec<Hold> = holds.into_iter().map(Result::unwrap).collect();
        let mut tx = store.db.write().await.unwrap();
        let released = release_in(&mut tx, &holds.iter().collect::<Vec<_>>(), now_ms())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(released, vec![true; 16]);
        assert_eq!(intents(&store).await, 0, "released in the naming commit");
    }

    #[tokio::test]
    async fn a_writer_of_the_same_content_twice_holds_it_once() {
        let dir = tempfile::tempdir().unwrap();
        let (store, account) = store(dir.path()).await;
        let mut item = data_send(&account, "0000000001");
        item.accept = item.message.clone();
        let prepared = store.prepare_submission(item).await.unwrap();
        assert_eq!(intents(&store).await, 1);
        let outcomes = store.accept_prepared(vec![prepared]).await.unwrap();
        assert!(matches!(outcomes[..], [Ok(_)]), "{outcomes:?}");
        assert_eq!(intents(&store).await, 0);
    }

    #[tokio::test]
    async fn a_lapsed_intent_holds_nothing_and_its_writer_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (store, account) = store(dir.path()).await;
        let prepared = store
            .prepare_submission(data_send(&account, "0000000001"))
            .await
            .unwrap();
        let held = store.collect_garbage(Duration::ZERO, false).await.unwrap();
        assert_eq!(held.messages.count, 0, "held by its intents");

        // Its writer stalled past the intents' lifetime, as if it had died.
        expire_all(&store, now_ms() - 1).await;
        let collected = store.collect_garbage(Duration::ZERO, false).await.unwrap();
        assert_eq!(collected.messages.count, 2, "the message and its Accept");
        let outcomes = store.accept_prepared(vec![prepared]).await.unwrap();
        assert!(matches!(outcomes[..], [Err(Error::Lapsed)]), "{outcomes:?}");
        assert!(store.list_mail(&account).await.unwrap().is_empty());
        assert_eq!(intents(&store).await, 0, "released all the same");
    }

    #[tokio::test]
    async fn an_intent_about_to_lapse_is_not_named() {
        let dir = tempfile::tempdir().unwrap();
        let (store, account) = store(dir.path()).await;
        let prepared = store
            .prepare_submission(data_send(&account, "0000000001"))
            .await
            .unwrap();
        // Still held here, but a collector whose clock runs a minute ahead would not hold it.
        expire_all(&store, now_ms() + 60_000).await;
        let outcomes = store.accept_prepared(vec![prepared]).await.unwrap();
        assert!(matches!(outcomes[..], [Err(Error::Lapsed)]), "{outcomes:?}");
        // The number is still free: the same message is accepted when sent again.
        let again = store
            .prepare_submission(data_send(&account, "0000000001"))
            .await
            .unwrap();
        let outcomes = store.accept_prepared(vec![again]).await.unwrap();
        assert!(matches!(outcomes[..], [Ok(_)]), "{outcomes:?}");
    }

    #[tokio::test]
    async fn retention_deletes_lapsed_intents_and_a_dead_uploads_blob_is_then_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store(dir.path()).await;
        let mut upload = store.exchange_upload().await.unwrap();
        upload.write(b"never recorded").await.unwrap();
        let _staged = upload.finish().await.unwrap();
        let held = store.collect_garbage(Duration::ZERO, false).await.unwrap();
        assert_eq!(held.sealed.count, 0, "an upload in flight, however old");

        // The uploader died: its intent lapses, and retention clears it.
        expire_all(&store, now_ms() - 1).await;
        let policy = crate::Retention {
            keep_raw_messages: chrono::Duration::days(30),
            keep_mail: chrono::Duration::days(30),
            download_window: chrono::Duration::days(70),
            keep_months: 24,
            keep_sent_mails: chrono::Duration::days(7),
            orphan_grace: Duration::ZERO,
        };
        let report = store
            .run_retention(chrono::Utc::now(), &policy)
            .await
            .unwrap();
        assert_eq!(report.housekeeping, 1, "{report:?}");
        assert_eq!(report.garbage.sealed.count, 1, "{report:?}");
        assert_eq!(intents(&store).await, 0);
    }
}

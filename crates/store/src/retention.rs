//! Retention and garbage collection: one run frees what has outlived its period, then deletes
//! the blobs no row names any more.
//!
//! - 伝送: the raw message of a settled submission (registered, cancelled or refused) and of
//!   an upstream notice is freed [`Retention::keep_raw_messages`] after it was settled or
//!   received; the row stays (its number stays used, its `blob` names the SHA-256 of what
//!   arrived). Mailbox messages (Accept, Regist, DeleteRegist, Result, Contact, service
//!   notices) are deleted [`Retention::keep_mail`] after delivery if the client never did.
//! - The exchange (spec §3, §4.2): files to offices can be downloaded for 70 days, after
//!   which their bytes are deleted; every row is purged 2 years after it was sent.
//!   Certificate requests the society has not decided by their expiry are marked expired.
//!   Ended sessions, spent codes and delivered mails are cleared.
//! - Garbage: blobs that no row names and no unexpired intent holds (freed above, deleted
//!   from a mailbox by POP3, left by a refused, failed or crashed writer) and older than
//!   [`Retention::orphan_grace`], and temporary files of writes that never finished. A blob
//!   is written before the transaction naming it commits; its writer's intent, committed
//!   before the blob was written, holds it meanwhile, on every instance (see `intents`).
//!   Lapsed intents of writers that died are deleted.

use std::collections::HashSet;
use std::time::Duration as StdDuration;

use chrono::Duration;

use crate::blob::{BlobId, BlobStore, Tally};
use crate::db::{Timestamp, from_db};
use crate::exchange::ms;
use crate::{Error, Store};

/// The periods [`Store::run_retention`] applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// A settled submission's or an upstream notice's raw message is kept this long.
    pub keep_raw_messages: Duration,
    /// A mailbox message not retrieved and deleted by its client is kept this long.
    pub keep_mail: Duration,
    /// Files to offices can be downloaded this long after sending (70 days).
    pub download_window: Duration,
    /// Rows are purged this many calendar months after sending (24: two years).
    pub keep_months: u32,
    /// Delivered mails are kept this long.
    pub keep_sent_mails: Duration,
    /// The collector leaves an unreferenced blob, and a temporary file, younger than this.
    /// Writers waiting for their commit hold their blobs by intents, so this need not outlast
    /// them: it spares the temporary files of writes in progress (a write refreshes its file
    /// as it goes) and a blob just stored again by a new writer of the same content.
    pub orphan_grace: StdDuration,
}

/// What one run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Raw messages freed (submissions and upstream notices; rows kept).
    pub raw_freed: u64,
    /// Mailbox messages deleted for age.
    pub mail_removed: u64,
    /// Exchange files whose download window closed (bytes deleted, rows kept).
    pub expired: u64,
    /// Exchange rows purged for age.
    pub purged: u64,
    /// Certificate requests marked expired, undecided by their expiry.
    pub requests_expired: u64,
    /// Exchange blobs deleted with their expired or purged files.
    pub blobs_removed: u64,
    /// Ended sessions, spent codes, delivered mails and lapsed blob intents removed.
    pub housekeeping: u64,
    /// What the garbage collection at the end of the run deleted.
    pub garbage: Garbage,
}

/// Unreferenced blobs and stale temporary files, by kind: what [`Store::collect_garbage`]
/// deleted, or in a dry run would delete.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Garbage {
    /// Blobs of the 伝送 side (raw messages, mailbox messages, upstream notices).
    pub messages: Tally,
    /// Sealed exchange files.
    pub sealed: Tally,
    /// Temporary files of writes and uploads that never finished.
    pub temporary: Tally,
}

impl Garbage {
    /// Everything together.
    pub fn total(&self) -> Tally {
        Tally {
            count: self.messages.count + self.sealed.count + self.temporary.count,
            bytes: self.messages.bytes + self.sealed.bytes + self.temporary.bytes,
        }
    }
}

/// What the store holds, by kind, as its rows record it (a blob two rows share counts twice).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiskUse {
    /// Raw messages of submissions still held.
    pub raw_messages: Tally,
    /// Messages in mailboxes.
    pub mail: Tally,
    /// Raw upstream notices still held.
    pub upstream: Tally,
    /// Sealed exchange files still held.
    pub sealed: Tally,
}

/// The 伝送 blobs some row still needs or a writer is about to name (intents unexpired at
/// `$1`). One statement, so one snapshot: an intent and the row replacing it are never
/// both missed.
const HELD_MESSAGE_BLOBS: &str = "SELECT blob FROM submissions WHERE raw_freed_at IS NULL \
     UNION SELECT blob FROM mailbox_messages \
     UNION SELECT blob FROM upstream_receipts WHERE raw_freed_at IS NULL \
     UNION SELECT blob FROM blob_intents WHERE area = 'messages' AND expires_at > $1";

/// The exchange blobs some row still needs or an upload is about to name (likewise).
const HELD_SEALED_BLOBS: &str = "SELECT blob FROM ex_files WHERE blob IS NOT NULL \
     UNION SELECT blob FROM blob_intents WHERE area = 'sealed' AND expires_at > $1";

impl Store {
    /// Applies the retention periods as of `now`, then collects the garbage. Safe to run
    /// from several processes at once and to interrupt: each step is one statement or
    /// transaction, and blobs are deleted only after the rows naming them are gone.
    pub async fn run_retention(
        &self,
        now: Timestamp,
        policy: &Retention,
    ) -> Result<RetentionReport, Error> {
        let mut report = RetentionReport::default();
        let now_ms = now.timestamp_millis();

        let raw_cutoff = now_ms - ms(policy.keep_raw_messages);
        for sql in [
            "UPDATE submissions SET raw_freed_at = $1 WHERE raw_freed_at IS NULL \
             AND state IN ('registered', 'cancelled', 'refused') \
             AND COALESCE(settled_at, accepted_at) <= $2",
            "UPDATE upstream_receipts SET raw_freed_at = $1 \
             WHERE raw_freed_at IS NULL AND received_at <= $2",
        ] {
            report.raw_freed += sqlx::query(sql)
                .bind(now_ms)
                .bind(raw_cutoff)
                .execute(self.db.pool())
                .await?
                .rows_affected();
        }
        report.mail_removed = sqlx::query("DELETE FROM mailbox_messages WHERE received_at <= $1")
            .bind(now_ms - ms(policy.keep_mail))
            .execute(self.db.pool())
            .await?
            .rows_affected();

        let mut tx = self.db.write().await?;
        let expired: Vec<(String, String)> = sqlx::query_as(
            "SELECT f.id, f.blob FROM ex_files f JOIN ex_parties p ON p.id = f.recipient_party \
             WHERE p.kind = 'office' AND f.blob IS NOT NULL AND f.sent_at <= $1",
        )
        .bind(now_ms - ms(policy.download_window))
        .fetch_all(&mut *tx)
        .await?;
        for (id, _) in &expired {
            sqlx::query("UPDATE ex_files SET expired_at = $2, blob = NULL WHERE id = $1")
                .bind(id)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        report.expired = expired.len() as u64;
        report.blobs_removed += self.free_blobs(expired.iter().map(|(_, b)| b)).await;

        let cutoff = now
            .checked_sub_months(chrono::Months::new(policy.keep_months))
            .map_or(i64::MIN, |t| t.timestamp_millis());
        let mut tx = self.db.write().await?;
        let purged_blobs: Vec<String> = sqlx::query_scalar(
            "SELECT blob FROM ex_files WHERE sent_at <= $1 AND blob IS NOT NULL",
        )
        .bind(cutoff)
        .fetch_all(&mut *tx)
        .await?;
        let purged = sqlx::query("DELETE FROM ex_files WHERE sent_at <= $1")
            .bind(cutoff)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        report.purged = purged.rows_affected();
        report.blobs_removed += self.free_blobs(purged_blobs.iter()).await;

        report.requests_expired = sqlx::query(
            "UPDATE ex_certificate_requests SET state = 'expired', decided_at = $1 \
             WHERE state = 'pending' AND expires_at <= $1",
        )
        .bind(now_ms)
        .execute(self.db.pool())
        .await?
        .rows_affected();

        let mut housekeeping = 0;
        for (sql, at) in [
            ("DELETE FROM ex_sessions WHERE expires_at <= $1", now_ms),
            (
                "DELETE FROM ex_codes WHERE used_at IS NOT NULL OR expires_at <= $1",
                now_ms,
            ),
            (
                "DELETE FROM mail_outbox WHERE sent_at IS NOT NULL AND sent_at <= $1",
                now_ms - ms(policy.keep_sent_mails),
            ),
        ] {
            housekeeping += sqlx::query(sql)
                .bind(at)
                .execute(self.db.pool())
                .await?
                .rows_affected();
        }
        // By the real clock, not the policy's `now`: intents, like blob ages, are about
        // writes in flight.
        housekeeping += sqlx::query("DELETE FROM blob_intents WHERE expires_at <= $1")
            .bind(crate::db::now_ms())
            .execute(self.db.pool())
            .await?
            .rows_affected();
        report.housekeeping = housekeeping;

        report.garbage = self.collect_garbage(policy.orphan_grace, false).await?;
        Ok(report)
    }

    async fn free_blobs<'a>(&self, blobs: impl Iterator<Item = &'a String>) -> u64 {
        let mut n = 0;
        for blob in blobs {
            if let Ok(id) = BlobId::parse(blob) {
                self.free_blob(&id).await;
                n += 1;
            }
        }
        n
    }

    /// Deletes the blobs no row names that were last written at least `grace` ago, and the
    /// temporary files of writes that never finished as old; in a `dry_run` deletes nothing
    /// and reports what it would delete.
    pub async fn collect_garbage(
        &self,
        grace: StdDuration,
        dry_run: bool,
    ) -> Result<Garbage, Error> {
        let mut temporary = self.blobs.sweep_temporary(grace, dry_run).await?;
        let more = self.exchange_blobs.sweep_temporary(grace, dry_run).await?;
        temporary.count += more.count;
        temporary.bytes += more.bytes;
        Ok(Garbage {
            messages: self
                .collect_unheld(&*self.blobs, HELD_MESSAGE_BLOBS, grace, dry_run)
                .await?,
            sealed: self
                .collect_unheld(&*self.exchange_blobs, HELD_SEALED_BLOBS, grace, dry_run)
                .await?,
            temporary,
        })
    }

    /// Deletes the blobs of `blobs` that `held` does not select and that are old enough. The
    /// blobs are listed before the rows and intents are read: a blob written after the
    /// listing is not a candidate, and one written before it had its intent committed before
    /// that, so the read sees the intent or the row that released it. Only a blob that was
    /// garbage at the read and is then stored again by a new writer of the same content
    /// relies on `grace` and the age check of `remove_if_stale`.
    async fn collect_unheld(
        &self,
        blobs: &dyn BlobStore,
        held: &str,
        grace: StdDuration,
        dry_run: bool,
    ) -> Result<Tally, Error> {
        let on_disk = blobs.list().await?;
        let held: HashSet<String> = sqlx::query_scalar(held)
            .bind(crate::db::now_ms())
            .fetch_all(self.db.pool())
            .await?
            .into_iter()
            .collect();
        let mut collected = Tally::default();
        for blob in on_disk {
            if blob.age < grace || held.contains(blob.id.as_str()) {
                continue;
            }
            if dry_run {
                collected.add(blob.size);
            } else if let Some(size) = blobs.remove_if_stale(blob.id, grace).await? {
                collected.add(size);
            }
        }
        Ok(collected)
    }

    /// Removes every temporary file of unfinished writes and uploads: for `kxd serve` at
    /// start, when nothing of this installation can be in flight.
    pub async fn sweep_temporary(&self) -> Result<Tally, Error> {
        let mut swept = self.blobs.sweep_temporary(StdDuration::ZERO, false).await?;
        let more = self
            .exchange_blobs
            .sweep_temporary(StdDuration::ZERO, false)
            .await?;
        swept.count += more.count;
        swept.bytes += more.bytes;
        Ok(swept)
    }

    /// What the store holds, by kind.
    pub async fn disk_use(&self) -> Result<DiskUse, Error> {
        let mut tallies = [Tally::default(); 4];
        for (tally, sql) in tallies.iter_mut().zip([
            "SELECT COUNT(*), CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM submissions WHERE raw_freed_at IS NULL",
            "SELECT COUNT(*), CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM mailbox_messages",
            "SELECT COUNT(*), CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM upstream_receipts \
             WHERE raw_freed_at IS NULL",
            "SELECT COUNT(*), CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM ex_files WHERE blob IS NOT NULL",
        ]) {
            let (count, bytes): (i64, i64) = sqlx::query_as(sql).fetch_one(self.db.pool()).await?;
            *tally = Tally {
                count: from_db(count)?,
                bytes: from_db(bytes)?,
            };
        }
        let [raw_messages, mail, upstream, sealed] = tallies;
        Ok(DiskUse {
            raw_messages,
            mail,
            upstream,
            sealed,
        })
    }
}

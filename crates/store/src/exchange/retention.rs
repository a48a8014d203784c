//! Retention (spec §3, §4.2): files to offices can be downloaded for 70 days, after which
//! their bytes are deleted; every row is purged 2 years after it was sent. Certificate
//! requests the society has not decided by their expiry are marked expired. Also clears what
//! has no further use: ended sessions, spent codes, delivered mails, unreferenced blobs.

use std::collections::HashSet;

use chrono::Duration;

use super::ms;
use crate::blob::BlobId;
use crate::db::Timestamp;
use crate::{Error, Store};

/// The periods [`Store::run_retention`] applies (the server passes the spec's constants).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Files to offices can be downloaded this long after sending (70 days).
    pub download_window: Duration,
    /// Rows are purged this many calendar months after sending (24: two years).
    pub keep_months: u32,
    /// Delivered mails are kept this long.
    pub keep_sent_mails: Duration,
    /// An unreferenced blob younger than this may belong to an upload whose row is not
    /// committed yet, so the collector leaves it.
    pub orphan_grace: std::time::Duration,
}

/// What one run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Files whose download window closed (bytes deleted, rows kept).
    pub expired: u64,
    /// Rows purged for age.
    pub purged: u64,
    /// Certificate requests marked expired, undecided by their expiry.
    pub requests_expired: u64,
    /// Blobs deleted (expired, purged, or unreferenced).
    pub blobs_removed: u64,
    /// Ended sessions, spent codes and delivered mails removed.
    pub housekeeping: u64,
}

impl Store {
    /// Applies the retention periods as of `now`. Safe to run from several processes at
    /// once and to interrupt: each step is one transaction, and blobs are deleted only after
    /// the rows naming them are gone.
    pub async fn run_retention(
        &self,
        now: Timestamp,
        policy: &Retention,
    ) -> Result<RetentionReport, Error> {
        let mut report = RetentionReport::default();
        let now_ms = now.timestamp_millis();

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
        report.housekeeping = housekeeping;

        report.blobs_removed += self.collect_orphans(policy.orphan_grace).await?;
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

    /// Deletes exchange blobs no row names, older than `grace` (left by crashed uploads,
    /// refused uploads, or deletions that failed).
    async fn collect_orphans(&self, grace: std::time::Duration) -> Result<u64, Error> {
        let on_disk = self.exchange_blobs.list().await?;
        let referenced: HashSet<String> =
            sqlx::query_scalar("SELECT blob FROM ex_files WHERE blob IS NOT NULL")
                .fetch_all(self.db.pool())
                .await?
                .into_iter()
                .collect();
        let mut n = 0;
        for (id, age) in on_disk {
            if age >= grace && !referenced.contains(id.as_str()) {
                self.exchange_blobs.remove(&id).await?;
                n += 1;
            }
        }
        Ok(n)
    }
}

//! The notification outbox: mails queued in the transaction of the event they report, and
//! claimed by a sender task (any `kxd` process) that delivers them and records the result.
//! A mail leaves the outbox only as sent; a failed attempt is retried later, never dropped.

use chrono::Duration;

use super::ms;
use crate::db::{Timestamp, from_db, timestamp};
use crate::{Error, Store};

/// A queued mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxMail {
    /// Its id (also a stable name for a file copy).
    pub id: i64,
    /// The recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// Attempts so far.
    pub attempts: u32,
    /// When it was queued.
    pub created_at: Timestamp,
}

type MailRow = (i64, String, String, String, i64, i64);

impl Store {
    /// Claims up to `limit` mails due at `now` for `hold`: no other sender takes them until
    /// then, so a sender that dies mid-delivery only delays them; senders of several instances
    /// claiming at once take different mails.
    pub async fn claim_mails(
        &self,
        now: Timestamp,
        limit: u32,
        hold: Duration,
    ) -> Result<Vec<OutboxMail>, Error> {
        let now_ms = now.timestamp_millis();
        // Rows of its own, locked as they are read: no need for the writer lock.
        let mut tx = self.db.write_rows().await?;
        let rows: Vec<MailRow> = sqlx::query_as(&format!(
            "SELECT id, to_address, subject, body, attempts, created_at FROM mail_outbox \
             WHERE sent_at IS NULL AND next_attempt_at <= $1 \
             AND (claimed_until IS NULL OR claimed_until <= $1) ORDER BY id LIMIT $2{}",
            self.db.skip_locked()
        ))
        .bind(now_ms)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        for row in &rows {
            sqlx::query("UPDATE mail_outbox SET claimed_until = $2 WHERE id = $1")
                .bind(row.0)
                .bind(now_ms + ms(hold))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        rows.into_iter()
            .map(|(id, to, subject, body, attempts, created_at)| {
                Ok(OutboxMail {
                    id,
                    to,
                    subject,
                    body,
                    attempts: u32::try_from(from_db(attempts)?).unwrap_or(u32::MAX),
                    created_at: timestamp(created_at)?,
                })
            })
            .collect()
    }

    /// Records a delivered mail.
    pub async fn mail_sent(&self, id: i64, now: Timestamp) -> Result<(), Error> {
        sqlx::query(
            "UPDATE mail_outbox SET sent_at = $2, claimed_until = NULL, \
             attempts = attempts + 1 WHERE id = $1",
        )
        .bind(id)
        .bind(now.timestamp_millis())
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Records a failed attempt; the mail is due again at `retry_at`.
    pub async fn mail_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Timestamp,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $2, \
             next_attempt_at = $3, claimed_until = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(error)
        .bind(retry_at.timestamp_millis())
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Mails not yet delivered.
    pub async fn mails_pending(&self) -> Result<u64, Error> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL")
            .fetch_one(self.db.pool())
            .await?;
        from_db(n)
    }
}

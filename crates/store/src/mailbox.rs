//! Mailboxes: what POP3 serves. One per account; every query is scoped by the account, so
//! another account's message looks exactly like a missing one.

use std::fmt;
use std::time::Duration;

use kx_denso::AccountId;

use crate::blob::BlobId;
use crate::db::{Conn, Timestamp, from_db, millis, now_ms, timestamp, to_db};
use crate::intents::{Area, Hold, release_one_in};
use crate::{Error, Store};

/// A message's id in its mailbox: stable across restarts and deletions, never reused (POP3
/// UIDL). Per mailbox, in arrival order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uid(pub u64);

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One message of a mailbox listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailItem {
    /// Its stable id.
    pub uid: Uid,
    /// Its size in bytes, as stored (and as POP3 sends it).
    pub size: u64,
    /// When it was delivered.
    pub received_at: Timestamp,
}

impl Store {
    /// Delivers a message (e.g. a Result, Contact or service notice) into an account's
    /// mailbox; durable when this returns.
    pub async fn deliver(&self, account: &AccountId, message: Vec<u8>) -> Result<Uid, Error> {
        let size = to_db(message.len() as u64)?;
        let blob = BlobId::of(&message);
        let hold = self
            .put_held(vec![message], std::slice::from_ref(&blob))
            .await?;
        let delivered = self.deliver_held(account, (&blob, size), &hold).await;
        if delivered.is_err() {
            self.intents.forget(&[&hold]).await;
        }
        delivered
    }

    async fn deliver_held(
        &self,
        account: &AccountId,
        (blob, size): (&BlobId, i64),
        hold: &Hold,
    ) -> Result<Uid, Error> {
        let now = now_ms();
        let mut tx = self.db.write().await?;
        release_one_in(&mut tx, hold, now).await?;
        let uid = deliver_in(&mut tx, &account.to_string(), blob, size, now).await?;
        tx.commit().await?;
        Ok(uid)
    }

    /// The messages in an account's mailbox, in arrival order.
    pub async fn list_mail(&self, account: &AccountId) -> Result<Vec<MailItem>, Error> {
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT uid, size, received_at FROM mailbox_messages \
             WHERE account_id = $1 ORDER BY uid",
        )
        .bind(account.to_string())
        .fetch_all(self.db.pool())
        .await?;
        rows.into_iter()
            .map(|(uid, size, received_at)| {
                Ok(MailItem {
                    uid: Uid(from_db(uid)?),
                    size: from_db(size)?,
                    received_at: timestamp(received_at)?,
                })
            })
            .collect()
    }

    /// One message of an account's mailbox; [`Error::NotFound`] when that mailbox has no such
    /// uid (whoever else's it may be).
    pub async fn fetch_mail(&self, account: &AccountId, uid: Uid) -> Result<Vec<u8>, Error> {
        let blob: Option<String> = sqlx::query_scalar(
            "SELECT blob FROM mailbox_messages WHERE account_id = $1 AND uid = $2",
        )
        .bind(account.to_string())
        .bind(to_db(uid.0)?)
        .fetch_optional(self.db.pool())
        .await?;
        let blob = blob.ok_or_else(|| Error::NotFound(format!("message {uid}")))?;
        self.blobs.get(BlobId::parse(&blob)?).await
    }

    /// Deletes messages of an account's mailbox in one transaction (POP3 deletes at QUIT).
    /// Uids the mailbox does not hold are ignored; returns how many were deleted.
    pub async fn delete_mail(&self, account: &AccountId, uids: &[Uid]) -> Result<u64, Error> {
        let mut tx = self.db.write().await?;
        let mut deleted = 0;
        for uid in uids {
            deleted +=
                sqlx::query("DELETE FROM mailbox_messages WHERE account_id = $1 AND uid = $2")
                    .bind(account.to_string())
                    .bind(to_db(uid.0)?)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
        }
        tx.commit().await?;
        Ok(deleted)
    }

    /// Takes the mailbox's exclusive lock (POP3 RFC 1939 §8) for `holder` until `ttl` passes,
    /// across every process sharing the database. False when someone else holds it. Taking
    /// it again as the same holder extends it.
    pub async fn try_lock_mailbox(
        &self,
        account: &AccountId,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, Error> {
        let now = now_ms();
        let done = sqlx::query(
            "UPDATE mailboxes SET lock_holder = $2, lock_expires_at = $3 WHERE account_id = $1 \
             AND (lock_holder IS NULL OR lock_holder = $2 OR lock_expires_at <= $4)",
        )
        .bind(account.to_string())
        .bind(holder)
        .bind(now.saturating_add(millis(ttl)))
        .bind(now)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Releases the mailbox's lock if `holder` holds it.
    pub async fn unlock_mailbox(&self, account: &AccountId, holder: &str) -> Result<(), Error> {
        sqlx::query(
            "UPDATE mailboxes SET lock_holder = NULL, lock_expires_at = NULL \
             WHERE account_id = $1 AND lock_holder = $2",
        )
        .bind(account.to_string())
        .bind(holder)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Stores 伝送 blobs durably, `ids` being the ids of their content, once intents hold
    /// them: the transaction that names them must release the hold returned
    /// ([`release_one_in`], [`crate::intents::release_in`]), and a caller that does not
    /// commit it forgets it. On failure the hold is forgotten here.
    pub(crate) async fn put_held(
        &self,
        blobs: Vec<Vec<u8>>,
        ids: &[BlobId],
    ) -> Result<Hold, Error> {
        let hold = self.intents.hold(Area::Messages, ids).await?;
        let failure = match self.blobs.put_all(blobs).await {
            Ok(written) if written == ids => return Ok(hold),
            Ok(_) => {
                Error::Invalid("the blob store named blobs otherwise than by their content".into())
            }
            Err(e) => e,
        };
        self.intents.forget(&[&hold]).await;
        Err(failure)
    }
}

/// Adds a durable blob to a mailbox inside the caller's transaction.
pub(crate) async fn deliver_in(
    conn: &mut Conn,
    account: &str,
    blob: &BlobId,
    size: i64,
    now: i64,
) -> Result<Uid, Error> {
    let uid: Option<i64> = sqlx::query_scalar(
        "UPDATE mailboxes SET next_uid = next_uid + 1 WHERE account_id = $1 \
         RETURNING next_uid - 1",
    )
    .bind(account)
    .fetch_optional(&mut *conn)
    .await?;
    let uid = uid.ok_or_else(|| Error::NotFound(format!("mailbox of {account}")))?;
    sqlx::query(
        "INSERT INTO mailbox_messages (account_id, uid, blob, size, received_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(account)
    .bind(uid)
    .bind(blob.as_str())
    .bind(size)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(Uid(from_db(uid)?))
}

/// One mailbox's contents in figures ([`Store::mailbox_summaries`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxSummary {
    /// Whose.
    pub account: String,
    /// Messages waiting.
    pub messages: u64,
    /// Their bytes.
    pub bytes: u64,
    /// When the oldest arrived.
    pub oldest: Option<Timestamp>,
}

impl Store {
    /// Every mailbox that holds messages, fullest first: for operators, never the messages.
    pub async fn mailbox_summaries(&self) -> Result<Vec<MailboxSummary>, Error> {
        let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
            "SELECT account_id, COUNT(*), CAST(SUM(size) AS BIGINT), MIN(received_at) FROM mailbox_messages \
             GROUP BY account_id ORDER BY COUNT(*) DESC, account_id",
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.into_iter()
            .map(|(account, messages, bytes, oldest)| {
                Ok(MailboxSummary {
                    account,
                    messages: from_db(messages)?,
                    bytes: from_db(bytes)?,
                    oldest: Some(timestamp(oldest)?),
                })
            })
            .collect()
    }
}

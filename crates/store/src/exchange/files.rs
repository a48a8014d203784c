//! Sealed files between a society and its offices.
//!
//! The store holds ciphertext it cannot read and metadata about it. A file is stored in two
//! steps: its bytes stream into a [`BlobUpload`] and become durable ([`StagedBlob`]); then one
//! transaction checks the recipient's quota, records the row and queues the notifications
//! ([`Store::store_file`]). Nothing is promised to the sender before that commit.
//!
//! A row outlives its blob: deleting (recipient), cancelling (sender) and expiring free the
//! blob at once and keep the row for the sent list and the history until the purge.

use super::{PartyId, random_hex};
use crate::blob::{BlobId, BlobStream, BlobUpload, StagedBlob};
use crate::db::{Conn, Timestamp, from_db, now_ms, timestamp, to_db};
use crate::intents::{Hold, release_one_in};
use crate::words::stored_words;
use crate::{Error, Store};

/// The send function (電子申請 / 電子申請以外).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileFunction {
    /// 電子申請: `KPFD.CSV` only.
    EApplication,
    /// 電子申請以外: attachment documents.
    Attachments,
}

stored_words!(FileFunction {
    EApplication = "e-application",
    Attachments = "attachments"
});

/// A file to record, its blob already durable.
#[derive(Debug)]
pub struct Upload {
    /// The sending party.
    pub sender: PartyId,
    /// The sending user (login ID).
    pub sender_user: String,
    /// The receiving party.
    pub recipient: PartyId,
    /// Office to society: the destination nickname chosen.
    pub destination: Option<String>,
    /// The send function.
    pub function: FileFunction,
    /// The sealed name.
    pub name: String,
    /// The sealed bytes.
    pub blob: StagedBlob,
}

/// One notification mail, queued for every address it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// A file as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRecord {
    /// Its id (random).
    pub id: String,
    /// The sending party.
    pub sender: PartyId,
    /// The sending user.
    pub sender_user: String,
    /// The receiving party.
    pub recipient: PartyId,
    /// Office to society: the destination nickname.
    pub destination: Option<String>,
    /// The send function.
    pub function: FileFunction,
    /// The sealed name.
    pub name: String,
    /// Sealed size in bytes.
    pub size: u64,
    /// SHA-256 of the sealed bytes, lower-case hex.
    pub sha256: String,
    /// When it was sent.
    pub sent_at: Timestamp,
    /// When its recipient first downloaded it: the sender's 済 (spec §4.2).
    pub first_received_at: Option<Timestamp>,
    /// When its recipient last downloaded it: the recipient's receive time (spec §3).
    pub last_received_at: Option<Timestamp>,
    /// When its recipient deleted it.
    pub recipient_deleted_at: Option<Timestamp>,
    /// When its sender cancelled it.
    pub cancelled_at: Option<Timestamp>,
    /// When it expired (files to offices, 70 days after sending).
    pub expired_at: Option<Timestamp>,
    pub(crate) blob: Option<BlobId>,
}

impl FileRecord {
    /// Whether its bytes are still held (not deleted, cancelled or expired).
    pub fn available(&self) -> bool {
        self.blob.is_some()
    }
}

/// What [`Store::store_file`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    /// Recorded, notifications queued.
    Stored(Box<FileRecord>),
    /// It would take the recipient over its quota; nothing was kept.
    OverQuota {
        /// Bytes the recipient holds.
        used: u64,
        /// Its quota.
        quota: u64,
    },
}

/// What [`Store::delete_file`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// The recipient deleted it: its bytes are gone, it moves to the history.
    Deleted,
    /// The sender cancelled it before its download: its bytes are gone.
    Cancelled,
    /// The sender tried to cancel a file already downloaded: nothing changed.
    AlreadyDownloaded,
    /// No such file for this party (or already deleted / cancelled).
    NotFound,
}

type FileRow = (
    String,
    i64,
    String,
    i64,
    Option<String>,
    String,
    String,
    i64,
    String,
    Option<String>,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

const FILE_COLUMNS: &str = "SELECT id, sender_party, sender_user, recipient_party, \
     destination, function, name, size, sha256, blob, sent_at, first_received_at, \
     last_received_at, recipient_deleted_at, cancelled_at, expired_at FROM ex_files";

fn optional_time(ms: Option<i64>) -> Result<Option<Timestamp>, Error> {
    ms.map(timestamp).transpose()
}

fn file(
    (
        id,
        sender,
        sender_user,
        recipient,
        destination,
        function,
        name,
        size,
        sha256,
        blob,
        sent,
        first_received,
        last_received,
        deleted,
        cancelled,
        expired,
    ): FileRow,
) -> Result<FileRecord, Error> {
    Ok(FileRecord {
        id,
        sender: PartyId(sender),
        sender_user,
        recipient: PartyId(recipient),
        destination,
        function: function.parse()?,
        name,
        size: from_db(size)?,
        sha256,
        sent_at: timestamp(sent)?,
        first_received_at: optional_time(first_received)?,
        last_received_at: optional_time(last_received)?,
        recipient_deleted_at: optional_time(deleted)?,
        cancelled_at: optional_time(cancelled)?,
        expired_at: optional_time(expired)?,
        blob: blob.as_deref().map(BlobId::parse).transpose()?,
    })
}

/// Queues `notice` for every user of `party` with a mail address.
async fn notify_party_in(
    conn: &mut Conn,
    party: PartyId,
    notice: &Notice,
    now: Timestamp,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO mail_outbox (to_address, subject, body, created_at, next_attempt_at) \
         SELECT mail, $2, $3, $4, $4 FROM ex_users \
         WHERE party_id = $1 AND mail IS NOT NULL AND mail <> '' ORDER BY id",
    )
    .bind(party.0)
    .bind(&notice.subject)
    .bind(&notice.body)
    .bind(now.timestamp_millis())
    .execute(conn)
    .await?;
    Ok(())
}

impl Store {
    /// Starts receiving a sealed file's bytes. Its blob is held for [`Store::store_file`]
    /// before the first byte is written, so that no collector deletes it between its upload
    /// and its row; one never recorded is held until its intent lapses.
    pub async fn exchange_upload(&self) -> Result<BlobUpload, Error> {
        let upload = self.exchange_blobs.stage().await?;
        // Nothing is visible under the id before `finish`, so holding it now is in time.
        self.intents.hold_sealed(&upload.id).await?;
        Ok(upload)
    }

    /// Records a file whose bytes are durable: checks the recipient's quota, inserts the row
    /// and queues `notice` for every user of the recipient with a mail address, in one
    /// transaction. Over quota (or on any failure) the blob is removed. [`Error::Lapsed`]
    /// when the upload took so long that its blob is no longer held.
    pub async fn store_file(
        &self,
        upload: Upload,
        notice: &Notice,
        now: Timestamp,
    ) -> Result<SendOutcome, Error> {
        let blob = upload.blob.id.clone();
        let result = self.store_file_in(upload, notice, now).await;
        if !matches!(result, Ok(SendOutcome::Stored(_))) {
            self.free_blob(&blob).await;
            self.intents.forget(&[&Hold::sealed(&blob)]).await;
        }
        result
    }

    async fn store_file_in(
        &self,
        upload: Upload,
        notice: &Notice,
        now: Timestamp,
    ) -> Result<SendOutcome, Error> {
        let mut tx = self.db.write().await?;
        let quota: Option<i64> =
            sqlx::query_scalar("SELECT quota_bytes FROM ex_parties WHERE id = $1")
                .bind(upload.recipient.0)
                .fetch_optional(&mut *tx)
                .await?;
        let quota =
            from_db(quota.ok_or_else(|| Error::NotFound(format!("party {}", upload.recipient)))?)?;
        let used: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM ex_files \
             WHERE recipient_party = $1 AND blob IS NOT NULL",
        )
        .bind(upload.recipient.0)
        .fetch_one(&mut *tx)
        .await?;
        let used = from_db(used)?;
        if used.saturating_add(upload.blob.size()) > quota {
            return Ok(SendOutcome::OverQuota { used, quota });
        }
        release_one_in(&mut tx, &Hold::sealed(&upload.blob.id), now_ms()).await?;
        let id = random_hex(16);
        sqlx::query(
            "INSERT INTO ex_files (id, sender_party, sender_user, recipient_party, destination, \
             function, name, size, sha256, blob, sent_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&id)
        .bind(upload.sender.0)
        .bind(&upload.sender_user)
        .bind(upload.recipient.0)
        .bind(&upload.destination)
        .bind(upload.function.as_str())
        .bind(&upload.name)
        .bind(to_db(upload.blob.size())?)
        .bind(upload.blob.sha256())
        .bind(upload.blob.id.as_str())
        .bind(now.timestamp_millis())
        .execute(&mut *tx)
        .await?;
        notify_party_in(&mut tx, upload.recipient, notice, now).await?;
        tx.commit().await?;
        Ok(SendOutcome::Stored(Box::new(FileRecord {
            id,
            sender: upload.sender,
            sender_user: upload.sender_user,
            recipient: upload.recipient,
            destination: upload.destination,
            function: upload.function,
            name: upload.name,
            size: upload.blob.size(),
            sha256: upload.blob.sha256().to_owned(),
            sent_at: timestamp(now.timestamp_millis())?,
            first_received_at: None,
            last_received_at: None,
            recipient_deleted_at: None,
            cancelled_at: None,
            expired_at: None,
            blob: Some(upload.blob.id),
        })))
    }

    /// The file `id` if `party` sent or receives it; another party's file is not found.
    pub async fn file_for(&self, party: PartyId, id: &str) -> Result<Option<FileRecord>, Error> {
        let row: Option<FileRow> = sqlx::query_as(&format!(
            "{FILE_COLUMNS} WHERE id = $1 AND (recipient_party = $2 OR sender_party = $2)"
        ))
        .bind(id)
        .bind(party.0)
        .fetch_optional(self.db.pool())
        .await?;
        row.map(file).transpose()
    }

    /// Opens a file's bytes for streaming (the caller checked that it may).
    pub async fn open_file(&self, record: &FileRecord) -> Result<BlobStream, Error> {
        let blob = record
            .blob
            .clone()
            .ok_or_else(|| Error::NotFound(format!("file {}", record.id)))?;
        self.exchange_blobs.open_stream(blob).await
    }

    /// Records a download by the recipient at `now`: its last download, and on the first one
    /// also its first, queueing `notice` to the sending user if it has a mail address.
    /// Returns whether it was the first download.
    pub async fn mark_received(
        &self,
        recipient: PartyId,
        id: &str,
        notice: &Notice,
        now: Timestamp,
    ) -> Result<bool, Error> {
        let mut tx = self.db.write().await?;
        let row: Option<(Option<i64>, String)> = sqlx::query_as(
            "SELECT first_received_at, sender_user FROM ex_files \
             WHERE id = $1 AND recipient_party = $2 AND blob IS NOT NULL",
        )
        .bind(id)
        .bind(recipient.0)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((first_received_at, sender_user)) = row else {
            return Err(Error::NotFound(format!("file {id}")));
        };
        sqlx::query(
            "UPDATE ex_files SET last_received_at = $2, \
             first_received_at = COALESCE(first_received_at, $2) WHERE id = $1",
        )
        .bind(id)
        .bind(now.timestamp_millis())
        .execute(&mut *tx)
        .await?;
        let first = first_received_at.is_none();
        if first {
            sqlx::query(
                "INSERT INTO mail_outbox (to_address, subject, body, created_at, next_attempt_at) \
                 SELECT mail, $2, $3, $4, $4 FROM ex_users \
                 WHERE id = $1 AND mail IS NOT NULL AND mail <> ''",
            )
            .bind(&sender_user)
            .bind(&notice.subject)
            .bind(&notice.body)
            .bind(now.timestamp_millis())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(first)
    }

    /// Deletes (as recipient) or cancels (as sender, before any download) a file.
    pub async fn delete_file(
        &self,
        party: PartyId,
        id: &str,
        now: Timestamp,
    ) -> Result<DeleteOutcome, Error> {
        let mut tx = self.db.write().await?;
        let Some(record) = ({
            let row: Option<FileRow> = sqlx::query_as(&format!(
                "{FILE_COLUMNS} WHERE id = $1 AND (recipient_party = $2 OR sender_party = $2)"
            ))
            .bind(id)
            .bind(party.0)
            .fetch_optional(&mut *tx)
            .await?;
            row.map(file).transpose()?
        }) else {
            return Ok(DeleteOutcome::NotFound);
        };
        let gone = record.recipient_deleted_at.is_some() || record.cancelled_at.is_some();
        let (outcome, column) = if gone {
            (DeleteOutcome::NotFound, None)
        } else if record.recipient == party {
            (DeleteOutcome::Deleted, Some("recipient_deleted_at"))
        } else if record.first_received_at.is_some() {
            (DeleteOutcome::AlreadyDownloaded, None)
        } else if record.expired_at.is_some() {
            // Expired unread: nothing left to cancel.
            (DeleteOutcome::NotFound, None)
        } else {
            (DeleteOutcome::Cancelled, Some("cancelled_at"))
        };
        if let Some(column) = column {
            sqlx::query(&format!(
                "UPDATE ex_files SET {column} = $2, blob = NULL WHERE id = $1"
            ))
            .bind(id)
            .bind(now.timestamp_millis())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            if let Some(blob) = &record.blob {
                self.free_blob(blob).await;
            }
        }
        Ok(outcome)
    }

    /// Files to `party` still held for it (not deleted, cancelled or expired), newest first.
    /// The caller also hides those past their download window that the retention job has not
    /// reached yet.
    pub async fn inbox(&self, party: PartyId) -> Result<Vec<FileRecord>, Error> {
        self.files_where(
            "recipient_party = $1 AND blob IS NOT NULL AND recipient_deleted_at IS NULL",
            party,
            None,
        )
        .await
    }

    /// Files to `party` that it deleted, newest first (kept until the purge).
    pub async fn history(&self, party: PartyId) -> Result<Vec<FileRecord>, Error> {
        self.files_where(
            "recipient_party = $1 AND recipient_deleted_at IS NOT NULL",
            party,
            None,
        )
        .await
    }

    /// Files `party` sent since `since` (all kept when none), newest first.
    pub async fn sent(
        &self,
        party: PartyId,
        since: Option<Timestamp>,
    ) -> Result<Vec<FileRecord>, Error> {
        self.files_where("sender_party = $1 AND sent_at >= $2", party, Some(since))
            .await
    }

    async fn files_where(
        &self,
        condition: &str,
        party: PartyId,
        since: Option<Option<Timestamp>>,
    ) -> Result<Vec<FileRecord>, Error> {
        let sql = format!("{FILE_COLUMNS} WHERE {condition} ORDER BY sent_at DESC, seq DESC");
        let mut query = sqlx::query_as::<_, FileRow>(&sql).bind(party.0);
        if let Some(since) = since {
            query = query.bind(since.map_or(i64::MIN, |t| t.timestamp_millis()));
        }
        query
            .fetch_all(self.db.pool())
            .await?
            .into_iter()
            .map(file)
            .collect()
    }

    /// Deletes a blob no row needs any more; a failure is logged by leaving the blob to the
    /// garbage collector (it is unreferenced, so the next retention run removes it).
    pub(crate) async fn free_blob(&self, blob: &BlobId) {
        let _ = self.exchange_blobs.remove(blob.clone()).await;
    }
}

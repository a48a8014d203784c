//! Submissions: DataSend and DataDelete messages, from arrival to Regist (spec §4–§6).
//!
//! State machine: `accepted` → `registered` | `cancelled`; a message answered with Accept
//! IFErr is `refused` from the start and never processed. Settling is one conditional UPDATE
//! on `state = 'accepted'`, so of a concurrent cancel and register exactly one wins.

use std::fmt;
use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use kx_denso::{AccountId, ErrorCode, OrgCode, TransmissionNumber};

use crate::audit::insert_audit;
use crate::blob::{BlobId, hex};
use crate::db::{Conn, Flag, Timestamp, from_db, millis, now_ms, timestamp, to_db};
use crate::intents::{Hold, release_in, release_one_in};
use crate::mailbox::deliver_in;
use crate::orgs::invalid;
use crate::words::stored_words;
use crate::{AuditEntry, Error, Store};

/// The kind of a client message that enters the pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SubmissionKind {
    /// データ送信.
    DataSend,
    /// データ取り消し.
    DataDelete,
}

/// Where a submission stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SubmissionState {
    /// Accept Success sent; waits for its Regist (or DeleteRegist) and can still be cancelled.
    Accepted,
    /// Its Regist (or DeleteRegist) was delivered; the server no longer manages it.
    Registered,
    /// Cancelled by a DataDelete before its Regist.
    Cancelled,
    /// Answered with Accept IFErr; never processed.
    Refused,
}

stored_words!(SubmissionKind { DataSend = "DataSend", DataDelete = "DataDelete" });
stored_words!(SubmissionState {
    Accepted = "accepted",
    Registered = "registered",
    Cancelled = "cancelled",
    Refused = "refused"
});

/// A submission's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubmissionId(pub i64);

impl fmt::Display for SubmissionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What the gateway answered in the Accept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// Accept Success: the message enters the pipeline and its number becomes used.
    Success {
        /// Its transmission number; it must be the sender's organisation's.
        number: TransmissionNumber,
        /// DataDelete: the number to cancel (required); DataSend: none.
        cancel: Option<TransmissionNumber>,
    },
    /// Accept IFErr: kept for the record, never processed.
    IfErr {
        /// The code sent in `X-Ex1-IFArea`.
        code: ErrorCode,
        /// The transmission number as written, if any.
        number: Option<String>,
        /// Whether `number` is a valid, unused number of the sender's organisation; only
        /// then is it recorded as used.
        number_valid: bool,
    },
}

/// One arrived client message and its Accept, for [`Store::accept`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSubmission {
    /// The authenticated sender.
    pub account: AccountId,
    /// DataSend or DataDelete.
    pub kind: SubmissionKind,
    /// What the Accept says.
    pub arrival: Arrival,
    /// The message exactly as received.
    pub message: Vec<u8>,
    /// The Accept to deliver into the sender's mailbox.
    pub accept: Vec<u8>,
}

/// A submission as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    /// Its id.
    pub id: SubmissionId,
    /// The sender; its organisation is the submission's.
    pub account: AccountId,
    /// DataSend or DataDelete.
    pub kind: SubmissionKind,
    /// The transmission number as written (absent or malformed only when refused).
    pub number: Option<String>,
    /// DataDelete: the number to cancel.
    pub cancel_target: Option<String>,
    /// Where it stands.
    pub state: SubmissionState,
    /// Refused: the IFErr code.
    pub error_code: Option<String>,
    /// Size of the raw message in bytes.
    pub size: u64,
    /// When it was accepted (or refused).
    pub accepted_at: Timestamp,
    /// When it was registered or cancelled.
    pub settled_at: Option<Timestamp>,
    /// Registered DataSend: whether it was handed to the review system.
    pub handed_off: Option<bool>,
    /// How many times a Regist job has claimed it. Counted durably when a claim is taken,
    /// before any work, so an attempt the process died in counts too.
    pub regist_attempts: u32,
}

/// A submission taken by one Regist job until its lease ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The submission; its `regist_attempts` include this claim.
    pub submission: Submission,
    token: String,
}

/// What [`Store::register`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Registration {
    /// Registered, and the Regist delivered.
    Registered,
    /// Nothing: the submission was cancelled or claimed by another job meanwhile (the lease
    /// ran out). Nothing was delivered.
    Lost,
}

/// The outcome of a cancellation (取り消し結果), before the gateway picks a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The submission was still accepted and is now cancelled.
    Success,
    /// No such submission of this organisation, or already registered, cancelled or being
    /// registered.
    NoData,
}

/// The columns [`submission`] reads, in order.
const SUBMISSION_COLUMNS: &str = "id, account_id, kind, number, cancel_target, state, \
     error_code, size, accepted_at, settled_at, \
     CASE WHEN handed_off IS NULL THEN NULL ELSE (handed_off IS TRUE) END, regist_attempts";

type SubmissionRow = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    i64,
    i64,
    Option<i64>,
    Option<Flag>,
    i64,
);

/// A [`NewSubmission`] checked and turned into columns.
#[derive(Debug)]
struct Row {
    account: String,
    org: OrgCode,
    kind: SubmissionKind,
    number: Option<String>,
    cancel_target: Option<String>,
    state: SubmissionState,
    error_code: Option<&'static str>,
    used: Option<TransmissionNumber>,
}

impl Row {
    fn of(item: &NewSubmission) -> Result<Row, Error> {
        let org = item.account.org().org_code();
        let own = |number: &TransmissionNumber| {
            if number.org_code() == org {
                Ok(())
            } else {
                Err(Error::Invalid(format!(
                    "{number} is not a number of {}'s organisation",
                    item.account
                )))
            }
        };
        let row = |state, number, cancel_target, error_code, used| Row {
            account: item.account.to_string(),
            org: org.clone(),
            kind: item.kind,
            number,
            cancel_target,
            state,
            error_code,
            used,
        };
        match &item.arrival {
            Arrival::Success { number, cancel } => {
                own(number)?;
                if cancel.is_some() != (item.kind == SubmissionKind::DataDelete) {
                    return Err(Error::Invalid(
                        "a DataDelete, and only a DataDelete, names a number to cancel".into(),
                    ));
                }
                Ok(row(
                    SubmissionState::Accepted,
                    Some(number.to_string()),
                    cancel.as_ref().map(ToString::to_string),
                    None,
                    Some(number.clone()),
                ))
            }
            Arrival::IfErr {
                code,
                number,
                number_valid,
            } => {
                let used = match (number, number_valid) {
                    (Some(text), true) => {
                        let valid: TransmissionNumber = text.parse().map_err(invalid)?;
                        own(&valid)?;
                        Some(valid)
                    }
                    (None, true) => {
                        return Err(Error::Invalid("no number to record as used".into()));
                    }
                    (_, false) => None,
                };
                Ok(row(
                    SubmissionState::Refused,
                    number.as_deref().map(crate::db::storable_text),
                    None,
                    Some(code.code()),
                    used,
                ))
            }
        }
    }
}

/// A [`NewSubmission`] checked, with its message and Accept already written as fsynced
/// blobs, waiting for [`Store::accept_prepared`] to commit it. Built by
/// [`Store::prepare_submission`]; dropping it only leaves unreferenced blobs behind, held
/// until their intents lapse.
#[derive(Debug)]
pub struct PreparedSubmission {
    row: Row,
    message: (BlobId, i64),
    accept: (BlobId, i64),
    audit: Option<AuditEntry>,
    /// The intents holding both blobs until the commit.
    hold: Hold,
}

impl PreparedSubmission {
    /// Appends `entry` to the audit log in the transaction that stores this submission, and
    /// only if it is stored (so an acknowledged message's audit entry costs no commit of its
    /// own).
    pub fn audit_with(&mut self, entry: AuditEntry) {
        self.audit = Some(entry);
    }
}

impl Store {
    /// Stores a batch of arrived messages in one transaction (group commit): for each, its
    /// raw message and Accept as fsynced blobs, its submission row, its number as used, and
    /// the Accept in the sender's mailbox. When this returns Ok all of it is durable and SMTP
    /// may answer 250; on any error nothing of the batch is stored. [`Error::NumberUsed`]
    /// names a number used before (or twice in the batch): drop or re-answer that message
    /// and retry the rest. [`Store::accept_prepared`] refuses such a message alone instead.
    pub async fn accept(&self, batch: Vec<NewSubmission>) -> Result<Vec<SubmissionId>, Error> {
        let rows = batch.iter().map(Row::of).collect::<Result<Vec<_>, _>>()?;
        let mut sizes = Vec::with_capacity(batch.len());
        let mut blobs = Vec::with_capacity(batch.len() * 2);
        for item in batch {
            sizes.push((
                to_db(item.message.len() as u64)?,
                to_db(item.accept.len() as u64)?,
            ));
            blobs.push(item.message);
            blobs.push(item.accept);
        }
        let ids: Vec<BlobId> = blobs.iter().map(|blob| BlobId::of(blob)).collect();
        // One hold for the whole batch: it commits whole or not at all.
        let hold = self.put_held(blobs, &ids).await?;
        let stored = self.accept_in(&rows, &sizes, &ids, &hold).await;
        if stored.is_err() {
            self.intents.forget(&[&hold]).await;
        }
        stored
    }

    async fn accept_in(
        &self,
        rows: &[Row],
        sizes: &[(i64, i64)],
        blob_ids: &[BlobId],
        hold: &Hold,
    ) -> Result<Vec<SubmissionId>, Error> {
        let now = now_ms();
        let mut tx = self.db.write().await?;
        release_one_in(&mut tx, hold, now).await?;
        let mut ids = Vec::with_capacity(rows.len());
        for ((row, &(message_size, accept_size)), pair) in
            rows.iter().zip(sizes).zip(blob_ids.chunks_exact(2))
        {
            let id = insert_submission(
                &mut tx,
                row,
                (&pair[0], message_size),
                (&pair[1], accept_size),
                now,
            )
            .await??;
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// The first half of [`Store::accept_prepared`]: checks one arrived message and writes its
    /// raw message and Accept as fsynced blobs, outside any transaction, so that many
    /// submitters do this in parallel and only the commit is shared. The blobs are held for
    /// the commit first (with the holds of concurrent submitters, in one transaction), so
    /// that no collector deletes them meanwhile.
    pub async fn prepare_submission(
        &self,
        item: NewSubmission,
    ) -> Result<PreparedSubmission, Error> {
        let row = Row::of(&item)?;
        let message_size = to_db(item.message.len() as u64)?;
        let accept_size = to_db(item.accept.len() as u64)?;
        let message = BlobId::of(&item.message);
        let accept = BlobId::of(&item.accept);
        let hold = self
            .put_held(
                vec![item.message, item.accept],
                &[message.clone(), accept.clone()],
            )
            .await?;
        Ok(PreparedSubmission {
            row,
            message: (message, message_size),
            accept: (accept, accept_size),
            audit: None,
            hold,
        })
    }

    /// Commits prepared submissions in one transaction (group commit), each with its own
    /// outcome, exactly as if they had been committed one after the other in this order: a
    /// number used before, or by an earlier submission of the same batch, refuses that
    /// submission alone with [`Error::NumberUsed`] (nothing of it is stored) and the others
    /// are stored; so does [`Error::Lapsed`], for a submission prepared so long ago that its
    /// blobs are no longer held. The outer error means the transaction failed: nothing of the
    /// batch is stored. When this returns Ok, every `Ok` inside is durable and SMTP may
    /// answer 250.
    pub async fn accept_prepared(
        &self,
        batch: Vec<PreparedSubmission>,
    ) -> Result<Vec<Result<SubmissionId, Error>>, Error> {
        let holds: Vec<&Hold> = batch.iter().map(|item| &item.hold).collect();
        let outcomes = self.accept_prepared_in(&batch, &holds).await;
        if outcomes.is_err() {
            self.intents.forget(&holds).await;
        }
        outcomes
    }

    async fn accept_prepared_in(
        &self,
        batch: &[PreparedSubmission],
        holds: &[&Hold],
    ) -> Result<Vec<Result<SubmissionId, Error>>, Error> {
        let now = now_ms();
        let mut tx = self.db.write().await?;
        // Every hold of the batch is released here, also those of submissions refused below:
        // their blobs are garbage from this commit on.
        let held = release_in(&mut tx, holds, now).await?;
        let mut outcomes = Vec::with_capacity(batch.len());
        for (item, held) in batch.iter().zip(held) {
            if !held {
                outcomes.push(Err(Error::Lapsed));
                continue;
            }
            let outcome = insert_submission(
                &mut tx,
                &item.row,
                (&item.message.0, item.message.1),
                (&item.accept.0, item.accept.1),
                now,
            )
            .await?;
            if let (Ok(_), Some(entry)) = (&outcome, &item.audit) {
                insert_audit(&mut tx, entry, now).await?;
            }
            outcomes.push(outcome);
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    /// Whether the organisation has used this transmission number (spec §5 rule 10).
    pub async fn number_used(
        &self,
        org: &OrgCode,
        number: &TransmissionNumber,
    ) -> Result<bool, Error> {
        Ok(sqlx::query_scalar::<_, Flag>(
            "SELECT EXISTS (SELECT 1 FROM used_numbers WHERE org_code = $1 AND number = $2)",
        )
        .bind(org.as_str())
        .bind(number.as_str())
        .fetch_one(self.db.pool())
        .await?
        .0)
    }

    /// Claims up to `limit` accepted submissions of `kind` that arrived at least `older_than` ago
    /// and no other job holds, for `lease` (DataDeletes are claimed with no wait, so a
    /// cancellation is settled before the Regist it races). Claims of a job that died run out
    /// and are taken again; the claim condition is repeated on the updated row so two processes never hold
    /// one submission at once, and on PostgreSQL instances claiming at once skip each other's
    /// rows.
    pub async fn due_for_regist(
        &self,
        kind: SubmissionKind,
        older_than: Duration,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Claim>, Error> {
        let now = now_ms();
        let token = claim_token();
        let rows: Vec<SubmissionRow> = sqlx::query_as(&format!(
            // The rows are picked once, in a CTE of their own: a locking subquery inside the
            // UPDATE's WHERE may be run again by PostgreSQL's planner and pick more than `limit`.
            "WITH picked AS MATERIALIZED (SELECT id FROM submissions \
                 WHERE state = 'accepted' AND kind = $6 AND accepted_at <= $3 \
                 AND (claim_expires_at IS NULL OR claim_expires_at <= $4) \
                 ORDER BY id LIMIT $5{skip_locked}) \
             UPDATE submissions SET claim_token = $1, claim_expires_at = $2, \
                 regist_attempts = regist_attempts + 1 \
             WHERE id IN (SELECT id FROM picked) \
             AND state = 'accepted' AND (claim_expires_at IS NULL OR claim_expires_at <= $4) \
             RETURNING {SUBMISSION_COLUMNS}",
            skip_locked = self.db.skip_locked()
        ))
        .bind(&token)
        .bind(now.saturating_add(millis(lease)))
        .bind(now.saturating_sub(millis(older_than)))
        .bind(now)
        .bind(i64::from(limit))
        .bind(kind.as_str())
        .fetch_all(self.db.pool())
        .await?;
        let mut claims = rows
            .into_iter()
            .map(|row| {
                Ok(Claim {
                    submission: submission(row)?,
                    token: token.clone(),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        claims.sort_by_key(|c| c.submission.id);
        Ok(claims)
    }

    /// Gives a claim up before its lease ends, so that the next pass takes the submission
    /// again at once: for an attempt that failed without the process dying.
    pub async fn release(&self, claim: &Claim) -> Result<(), Error> {
        sqlx::query(
            "UPDATE submissions SET claim_token = NULL, claim_expires_at = NULL \
             WHERE id = $1 AND claim_token = $2 AND state = 'accepted'",
        )
        .bind(claim.submission.id.0)
        .bind(&claim.token)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// The raw message of a submission, for the Regist job and operators (never for a
    /// client: it is not scoped by account); [`Error::NotFound`] also once retention has freed it.
    pub async fn submission_message(&self, id: SubmissionId) -> Result<Vec<u8>, Error> {
        let blob: Option<String> = sqlx::query_scalar(
            "SELECT blob FROM submissions WHERE id = $1 AND raw_freed_at IS NULL",
        )
        .bind(id.0)
        .fetch_optional(self.db.pool())
        .await?;
        let blob =
            blob.ok_or_else(|| Error::NotFound(format!("raw message of submission {id}")))?;
        self.blobs.get(BlobId::parse(&blob)?).await
    }

    /// Settles a claimed DataSend: state `registered` and its Regist in the sender's mailbox,
    /// in one transaction. [`Registration::Lost`] when it was cancelled or re-claimed
    /// meanwhile; then nothing was delivered.
    pub async fn register(
        &self,
        claim: &Claim,
        regist: Vec<u8>,
        handed_off: bool,
    ) -> Result<Registration, Error> {
        expect_kind(claim, SubmissionKind::DataSend)?;
        let size = to_db(regist.len() as u64)?;
        let blob = BlobId::of(&regist);
        let hold = self
            .put_held(vec![regist], std::slice::from_ref(&blob))
            .await?;
        let registered = self
            .register_in(claim, (&blob, size), handed_off, &hold)
            .await;
        if !matches!(registered, Ok(Registration::Registered)) {
            self.intents.forget(&[&hold]).await;
        }
        registered
    }

    async fn register_in(
        &self,
        claim: &Claim,
        (blob, size): (&BlobId, i64),
        handed_off: bool,
        hold: &Hold,
    ) -> Result<Registration, Error> {
        let now = now_ms();
        let mut tx = self.db.write().await?;
        if !settle_claim(&mut tx, claim, Some(handed_off), now).await? {
            return Ok(Registration::Lost);
        }
        release_one_in(&mut tx, hold, now).await?;
        deliver_in(
            &mut tx,
            &claim.submission.account.to_string(),
            blob,
            size,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Registration::Registered)
    }

    /// Settles a claimed DataDelete in one transaction: cancels its target (see
    /// [`Store::cancel`]), delivers the DeleteRegist that `reply` builds for the outcome, and
    /// marks the DataDelete `registered`. `None` when the claim was lost (nothing done).
    /// A target held by the same claim can still be cancelled, so a job settles the
    /// DataDeletes of its claims before registering the DataSends.
    ///
    /// `reply` is asked for the DeleteRegist of each outcome before the transaction, so that
    /// both are durable and held before the transaction that decides between them; the one
    /// not delivered is garbage from its commit on.
    pub async fn settle_delete(
        &self,
        claim: &Claim,
        reply: impl Fn(CancelOutcome) -> Vec<u8>,
    ) -> Result<Option<CancelOutcome>, Error> {
        expect_kind(claim, SubmissionKind::DataDelete)?;
        let target: TransmissionNumber = claim
            .submission
            .cancel_target
            .as_deref()
            .unwrap_or_default()
            .parse()
            .map_err(invalid)?;
        let replies = [reply(CancelOutcome::Success), reply(CancelOutcome::NoData)];
        let sizes = [
            to_db(replies[0].len() as u64)?,
            to_db(replies[1].len() as u64)?,
        ];
        let blobs = [BlobId::of(&replies[0]), BlobId::of(&replies[1])];
        let hold = self.put_held(replies.into(), &blobs).await?;
        let settled = self
            .settle_delete_in(claim, &target, (&blobs, sizes), &hold)
            .await;
        if !matches!(settled, Ok(Some(_))) {
            self.intents.forget(&[&hold]).await;
        }
        settled
    }

    async fn settle_delete_in(
        &self,
        claim: &Claim,
        target: &TransmissionNumber,
        ([success, no_data], [success_size, no_data_size]): (&[BlobId; 2], [i64; 2]),
        hold: &Hold,
    ) -> Result<Option<CancelOutcome>, Error> {
        let account = &claim.submission.account;
        let now = now_ms();
        let mut tx = self.db.write().await?;
        if !settle_claim(&mut tx, claim, None, now).await? {
            return Ok(None);
        }
        let org = account.org().org_code();
        let outcome = cancel_in(&mut tx, &org, target, Some(&claim.token), now).await?;
        let (blob, size) = match outcome {
            CancelOutcome::Success => (success, success_size),
            CancelOutcome::NoData => (no_data, no_data_size),
        };
        release_one_in(&mut tx, hold, now).await?;
        deliver_in(&mut tx, &account.to_string(), blob, size, now).await?;
        tx.commit().await?;
        Ok(Some(outcome))
    }

    /// Cancels the organisation's submission with this number if it is still accepted and
    /// no Regist job holds it; otherwise [`CancelOutcome::NoData`].
    pub async fn cancel(
        &self,
        org: &OrgCode,
        number: &TransmissionNumber,
    ) -> Result<CancelOutcome, Error> {
        let mut tx = self.db.write().await?;
        let outcome = cancel_in(&mut tx, org, number, None, now_ms()).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// The organisation's submissions, newest first, at most `limit` (for operators).
    pub async fn submissions(&self, org: &OrgCode, limit: u32) -> Result<Vec<Submission>, Error> {
        let rows: Vec<SubmissionRow> = sqlx::query_as(&format!(
            "SELECT {SUBMISSION_COLUMNS} FROM submissions WHERE org_code = $1 \
             ORDER BY id DESC LIMIT $2"
        ))
        .bind(org.as_str())
        .bind(i64::from(limit))
        .fetch_all(self.db.pool())
        .await?;
        rows.into_iter().map(submission).collect()
    }
}

impl Store {
    /// How many submissions are in each state, and how many accepted ones a Regist job has
    /// already tried (and so are being retried), for the console's pipeline view.
    pub async fn submission_counts(&self) -> Result<PipelineCounts, Error> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT state, COUNT(*), CAST(COALESCE(SUM(CASE WHEN regist_attempts > 0 THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM submissions GROUP BY state",
        )
        .fetch_all(self.db.pool())
        .await?;
        let mut counts = PipelineCounts::default();
        for (state, count, tried) in rows {
            let count = from_db(count)?;
            match state.parse::<SubmissionState>()? {
                SubmissionState::Accepted => {
                    counts.accepted = count;
                    counts.retried = from_db(tried)?;
                }
                SubmissionState::Registered => counts.registered = count,
                SubmissionState::Cancelled => counts.cancelled = count,
                SubmissionState::Refused => counts.refused = count,
            }
        }
        Ok(counts)
    }

    /// The submissions with 伝送整理番号 `number` (in any organisation), newest first.
    pub async fn submissions_numbered(&self, number: &str) -> Result<Vec<Submission>, Error> {
        let rows: Vec<SubmissionRow> = sqlx::query_as(&format!(
            "SELECT {SUBMISSION_COLUMNS} FROM submissions WHERE number = $1 ORDER BY id DESC LIMIT 100"
        ))
        .bind(number)
        .fetch_all(self.db.pool())
        .await?;
        rows.into_iter().map(submission).collect()
    }
}

/// Submissions per state ([`Store::submission_counts`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PipelineCounts {
    /// Accepted, waiting for their Regist.
    pub accepted: u64,
    /// Of those, already claimed by a Regist job at least once.
    pub retried: u64,
    /// Registered.
    pub registered: u64,
    /// Cancelled.
    pub cancelled: u64,
    /// Refused at acceptance.
    pub refused: u64,
}

/// Inserts one submission in `tx`: its row, its number as used, its Accept in the sender's
/// mailbox. `Ok(Err(NumberUsed))` when the number is already used (also by an earlier row of
/// the same transaction): then nothing of it was written and the transaction can go on.
async fn insert_submission(
    tx: &mut Conn,
    row: &Row,
    (message_blob, message_size): (&BlobId, i64),
    (accept_blob, accept_size): (&BlobId, i64),
    now: i64,
) -> Result<Result<SubmissionId, Error>, Error> {
    if let Some(number) = &row.used {
        // Under the write lock: nobody else can use the number before this commits.
        let Flag(used) = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM used_numbers WHERE org_code = $1 AND number = $2)",
        )
        .bind(row.org.as_str())
        .bind(number.as_str())
        .fetch_one(&mut *tx)
        .await?;
        if used {
            return Ok(Err(Error::NumberUsed(number.clone())));
        }
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO submissions (account_id, org_code, kind, number, cancel_target, \
         state, error_code, blob, size, accepted_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(&row.account)
    .bind(row.org.as_str())
    .bind(row.kind.as_str())
    .bind(&row.number)
    .bind(&row.cancel_target)
    .bind(row.state.as_str())
    .bind(row.error_code)
    .bind(message_blob.as_str())
    .bind(message_size)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    if let Some(number) = &row.used {
        let recorded = sqlx::query(
            "INSERT INTO used_numbers (org_code, number, submission_id, used_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(row.org.as_str())
        .bind(number.as_str())
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if recorded.rows_affected() == 0 {
            // Checked above under the same lock; should this ever happen, the submission row
            // is already written, so the whole transaction must fail.
            return Err(Error::NumberUsed(number.clone()));
        }
    }
    deliver_in(tx, &row.account, accept_blob, accept_size, now).await?;
    Ok(Ok(SubmissionId(id)))
}

fn expect_kind(claim: &Claim, kind: SubmissionKind) -> Result<(), Error> {
    if claim.submission.kind == kind {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "submission {} is a {}, not a {kind}",
            claim.submission.id, claim.submission.kind
        )))
    }
}

/// Moves a claimed submission from `accepted` to `registered`; false when it is no longer
/// accepted or no longer this claim's.
async fn settle_claim(
    conn: &mut Conn,
    claim: &Claim,
    handed_off: Option<bool>,
    now: i64,
) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE submissions SET state = 'registered', settled_at = $3, handed_off = $4, \
         claim_token = NULL, claim_expires_at = NULL \
         WHERE id = $1 AND claim_token = $2 AND state = 'accepted'",
    )
    .bind(claim.submission.id.0)
    .bind(&claim.token)
    .bind(now)
    .bind(handed_off)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Cancels an accepted DataSend. Another job's live claim blocks it: that job may be handing
/// the data to the review system. `own_claim`'s does not: its holder has not handed it off
/// while it settles the DataDelete.
async fn cancel_in(
    conn: &mut Conn,
    org: &OrgCode,
    number: &TransmissionNumber,
    own_claim: Option<&str>,
    now: i64,
) -> Result<CancelOutcome, Error> {
    let done = sqlx::query(
        "UPDATE submissions SET state = 'cancelled', settled_at = $3, \
         claim_token = NULL, claim_expires_at = NULL \
         WHERE org_code = $1 AND number = $2 AND kind = 'DataSend' AND state = 'accepted' \
         AND (claim_expires_at IS NULL OR claim_expires_at <= $3 OR claim_token = $4)",
    )
    .bind(org.as_str())
    .bind(number.as_str())
    .bind(now)
    .bind(own_claim)
    .execute(&mut *conn)
    .await?;
    Ok(if done.rows_affected() == 1 {
        CancelOutcome::Success
    } else {
        CancelOutcome::NoData
    })
}

/// A random token naming one claim.
fn claim_token() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

fn submission(
    (
        id,
        account,
        kind,
        number,
        cancel_target,
        state,
        error_code,
        size,
        accepted_at,
        settled_at,
        handed_off,
        regist_attempts,
    ): SubmissionRow,
) -> Result<Submission, Error> {
    Ok(Submission {
        id: SubmissionId(id),
        account: account.parse().map_err(invalid)?,
        kind: kind.parse()?,
        number,
        cancel_target,
        state: state.parse()?,
        error_code,
        size: from_db(size)?,
        accepted_at: timestamp(accepted_at)?,
        settled_at: settled_at.map(timestamp).transpose()?,
        handed_off: handed_off.map(|Flag(b)| b),
        regist_attempts: u32::try_from(regist_attempts).unwrap_or(u32::MAX),
    })
}

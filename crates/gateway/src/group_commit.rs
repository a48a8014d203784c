//! Group commit for SMTP ingest: one writer task commits the submissions of many connections
//! in one transaction.
//!
//! Why: a message is acknowledged with `250` only once it is durable, and a commit costs an
//! fsync (SQLite in WAL mode with `synchronous = FULL`). fsync runs about 4,000 times a second,
//! so a commit per message caps ingest there at best; and with one transaction per message,
//! concurrent connections also queue on SQLite's single write lock, each paying its own fsync
//! in turn. `bench/ingest` measured that at 0.68× Postfix's throughput and 15× its p99 latency
//! with 8 clients; with group commit its p99 is about 2× Postfix's (README, Benchmarks).
//!
//! How:
//! - Each connection first checks its message and writes its raw message and Accept as fsynced
//!   blobs ([`Store::prepare_submission`]) itself, in parallel with the others: only the
//!   transaction is shared.
//! - It then sends the prepared submission to the gateway's single writer task over an mpsc
//!   channel, with a oneshot for its outcome, and waits.
//! - The writer takes the first request, drains whatever else is already queued (at most
//!   [`MAX_BATCH`], no waiting for more: under load the queue fills while the previous batch
//!   commits, and a lone message is committed at once), commits all of them with one
//!   [`Store::accept_prepared`] call and answers each oneshot with its own outcome.
//! - Durable before acknowledged still holds: a connection answers `250` only after the
//!   commit that contains its message.
//! - Outcomes are per message and the same as committing the batch one message after another
//!   in queue order: a number used before, or by an earlier message of the same batch, refuses
//!   that message alone ([`Committed::NumberUsed`]). If the transaction fails, every message
//!   of the batch gets [`Committed::Failed`] (a temporary failure) and nothing is stored.
//! - Audit: a stored submission's `smtp.submit` entry is written in the same transaction as
//!   the submission ([`PreparedSubmission::audit_with`]), so it costs no commit of its own.
//!   The gateway's other audit entries (logins, POP3, refusals and temporary failures) also go
//!   through this writer: each drained batch writes them in one more transaction. Every audit
//!   entry is still durable before the task that wrote it goes on (a per-message autocommit
//!   there was a second fsync per message, on the write lock, before the `250`).
//! - Shutdown: the writer stops only when every sender is gone (the gateway is dropped) and
//!   the queue is empty, so every request it received is committed and answered; SMTP
//!   sessions finish (and receive their answers) before the gateway is dropped.

use kx_store::{AuditEntry, Error as StoreError, PreparedSubmission, Store, SubmissionId};
use tokio::sync::{mpsc, oneshot};

/// At most this many submissions share one transaction.
pub(super) const MAX_BATCH: usize = 64;

/// Requests waiting for the writer; senders wait when it is full.
const QUEUE: usize = 4 * MAX_BATCH;

/// What the writer did with one submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Committed {
    /// Durable: SMTP may answer `250`.
    Stored(SubmissionId),
    /// Its transmission number was used before (or earlier in the same batch): nothing of it
    /// was stored.
    NumberUsed,
    /// The transaction failed (or the writer is gone): nothing of it was stored.
    Failed,
}

enum Request {
    Accept {
        submission: Box<PreparedSubmission>,
        reply: oneshot::Sender<Committed>,
    },
    Audit {
        entry: AuditEntry,
        reply: oneshot::Sender<bool>,
    },
}

/// The handle to a gateway's writer task.
pub(super) struct GroupCommit {
    requests: mpsc::Sender<Request>,
}

impl GroupCommit {
    /// Starts the writer task (inside a Tokio runtime); it ends once this handle is dropped
    /// and the requests already queued are committed and answered.
    pub(super) fn start(store: Store) -> GroupCommit {
        let (requests, queue) = mpsc::channel(QUEUE);
        tokio::spawn(write(store, queue));
        GroupCommit { requests }
    }

    /// Commits `submission` together with whatever else is waiting; returns once its
    /// transaction has committed (or failed).
    pub(super) async fn commit(&self, submission: PreparedSubmission) -> Committed {
        let submission = Box::new(submission);
        self.ask(
            |reply| Request::Accept { submission, reply },
            Committed::Failed,
        )
        .await
    }

    /// Writes an audit entry together with whatever else is waiting; false (and logged) when
    /// it could not be written.
    pub(super) async fn audit(&self, entry: AuditEntry) -> bool {
        self.ask(|reply| Request::Audit { entry, reply }, false)
            .await
    }

    /// Queues a request and waits for its answer; `failed` when the writer is gone or dropped
    /// the request (it panicked): then nothing is known to be durable.
    async fn ask<T>(&self, request: impl FnOnce(oneshot::Sender<T>) -> Request, failed: T) -> T {
        let (reply, answer) = oneshot::channel();
        if self.requests.send(request(reply)).await.is_err() {
            tracing::error!("the group-commit writer is gone");
            return failed;
        }
        answer.await.unwrap_or(failed)
    }
}

/// The writer: one batch at a time, until every sender is gone and the queue is empty.
async fn write(store: Store, mut queue: mpsc::Receiver<Request>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // `recv_many` waits for the first request, then takes what is already queued.
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (mut submissions, mut accepted) = (Vec::new(), Vec::new());
        let (mut entries, mut audited) = (Vec::new(), Vec::new());
        for request in batch.drain(..) {
            match request {
                Request::Accept { submission, reply } => {
                    submissions.push(*submission);
                    accepted.push(reply);
                }
                Request::Audit { entry, reply } => {
                    entries.push(entry);
                    audited.push(reply);
                }
            }
        }
        if !submissions.is_empty() {
            let outcomes = accept(&store, submissions).await;
            for (reply, outcome) in accepted.into_iter().zip(outcomes) {
                // The connection may be gone; its message is stored (or not) all the same.
                let _ = reply.send(outcome);
            }
        }
        if !entries.is_empty() {
            let written = match store.audit_all(&entries).await {
                Ok(()) => true,
                Err(e) => {
                    tracing::error!(error = %e, size = entries.len(), "audit: cannot write");
                    false
                }
            };
            for reply in audited {
                let _ = reply.send(written);
            }
        }
    }
}

/// Commits one batch of submissions: the outcome of each, in order.
async fn accept(store: &Store, submissions: Vec<PreparedSubmission>) -> Vec<Committed> {
    let size = submissions.len();
    match store.accept_prepared(submissions).await {
        Ok(outcomes) => {
            tracing::debug!(size, "smtp: batch committed");
            outcomes
                .into_iter()
                .map(|outcome| match outcome {
                    Ok(id) => Committed::Stored(id),
                    Err(StoreError::NumberUsed(_)) => Committed::NumberUsed,
                    Err(e) => {
                        tracing::error!(error = %e, "smtp: a submission was not stored");
                        Committed::Failed
                    }
                })
                .collect()
        }
        Err(e) => {
            tracing::error!(error = %e, size, "smtp: cannot store a batch of messages");
            vec![Committed::Failed; size]
        }
    }
}

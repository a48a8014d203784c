//! Durable state for `kxd`: organisations, accounts, mailboxes, submissions, upstream notices,
//! the audit log, and the blobs they point at; and the KX exchange's parties, users,
//! certificates, sessions, sealed files and notification outbox ([`exchange`]).
//!
//! One [`Store`] hides the backends: SQLite (WAL, full fsync) plus a local blob directory by
//! default. The queries are plain SQL PostgreSQL also accepts and the blob directory sits behind
//! an internal seam, so PostgreSQL and an S3-compatible object store can slot in without
//! touching the pipelines.
//!
//! Promises kept here:
//! - **Durable before acknowledged**: [`Store::accept`] returns only after every blob is
//!   fsynced and the transaction naming them is committed; SMTP may say 250 after that.
//! - **Group commit**: [`Store::accept`] takes a batch, one transaction for all of it;
//!   [`Store::accept_prepared`] does the same with an outcome per submission, as if each had
//!   been committed alone in turn (kxd's SMTP ingest batches concurrent messages this way).
//! - **Isolation**: every mailbox operation is scoped by the account; another account's
//!   message is indistinguishable from a missing one.
//! - **Passwords**: argon2id hashes only, computed by a bounded pool that refuses rather than
//!   queues without end; unknown accounts cost a hash too, and repeated failures lock the
//!   account for a while.
//! - **Race-free settlement**: a submission is registered or cancelled, never both.
//! - **Exchange files**: a sealed file's bytes are durable before one transaction checks the
//!   recipient's quota, records the file and queues its notifications; freeing a file
//!   (delete, cancel, expiry, purge) deletes its blob only after the row no longer names it.
//! - **Nothing piles up**: [`Store::run_retention`] frees what has outlived its period and
//!   [`Store::collect_garbage`] deletes blobs no row names, never one a writer on any
//!   instance is about to name: writers record their intents in the database before they
//!   write a blob (the `intents` module).
//! - **Private files**: what the store creates is its user's alone ([`files`]).

mod accounts;
mod audit;
mod blob;
mod config;
mod copy;
mod credentials;
mod db;
mod error;
pub mod exchange;
mod figures;
pub mod files;
mod identity;
mod intents;
mod mailbox;
mod network;
mod operators;
mod orgs;
mod password;
mod retention;
mod shared;
mod submissions;
mod upstream;
mod used;
mod words;

use std::sync::Arc;

pub use accounts::{Account, Login};
pub use audit::{AuditEntry, AuditFilter, AuditRecord};
pub use blob::{BlobStream, BlobUpload, StagedBlob, Tally};
pub use config::{
    Blobs, Database, DatabaseUrl, Lockout, PasswordParams, PasswordPool, S3Bucket, S3Keys,
    StoreConfig,
};
pub use copy::{BlobCopy, TableCopy};
pub use credentials::temporary_password;
pub use db::Timestamp;
pub use error::Error;
pub use figures::{LockedLogins, POISON_ACTION, SocietyQuota};
pub use identity::InstallationIdentity;
pub use mailbox::{MailItem, MailboxSummary, Uid};
pub use network::Network;
pub use operators::{
    ConsoleSession, ConsoleStage, ConsoleToken, Operator, OperatorRole, StepAcceptance,
    valid_operator_id,
};
pub use orgs::Organisation;
pub use retention::{DiskUse, Garbage, Retention, RetentionReport};
pub use shared::{LoginFailures, MinuteCount};
pub use submissions::{
    Arrival, CancelOutcome, Claim, NewSubmission, PipelineCounts, PreparedSubmission, Registration,
    Submission, SubmissionId, SubmissionKind, SubmissionState,
};
pub use upstream::{NewUpstreamNotice, UpstreamReceipt};
pub use used::UsedSnapshot;

use crate::blob::BlobStore;
use crate::db::Db;
use crate::intents::Intents;
use crate::password::Passwords;

/// The durable store. Cheap to clone; clones share connections.
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
    blobs: Arc<dyn BlobStore>,
    /// Sealed exchange files: random ids, one owner each (`blobs/exchange/`, or
    /// `PREFIX/exchange/` in a bucket).
    exchange_blobs: Arc<dyn BlobStore>,
    /// The blobs writers are about to name, recorded before they are written ([`intents`]).
    intents: Arc<Intents>,
    passwords: Arc<Passwords>,
    lockout: Lockout,
}

impl Store {
    /// Opens the store, creating what is missing and applying pending migrations. Opening an
    /// existing store keeps its data.
    pub async fn open(config: &StoreConfig) -> Result<Store, Error> {
        let blobs = blob::open(&config.blobs).await?;
        let db = Db::open(&config.database).await?;
        Ok(Store {
            intents: Arc::new(Intents::new(db.clone())),
            db,
            blobs: blobs.messages,
            exchange_blobs: blobs.sealed,
            passwords: Passwords::new(config.password, config.password_pool)?,
            lockout: Lockout {
                after: config.lockout.after.max(1),
                ..config.lockout
            },
        })
    }

    /// Closes the database connections, waiting for those in use (graceful shutdown).
    pub async fn close(&self) {
        self.db.pool().close().await;
    }

    /// The version of the newest migration applied to the database.
    pub async fn schema_version(&self) -> Result<i64, Error> {
        self.db.schema_version().await
    }
}

/// What the unit tests share.
#[cfg(test)]
pub(crate) mod testing {
    use crate::{Database, PasswordParams, StoreConfig};

    /// A store in `dir` as the unit tests open it: cheap password hashes, and on PostgreSQL
    /// when the tests run there (the same database whenever it is opened in `dir` again).
    pub(crate) fn config(dir: &std::path::Path) -> StoreConfig {
        let mut config = StoreConfig::in_dir(dir);
        config.password = PasswordParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        if let Some(url) = kx_testkit::postgres::database_for(dir) {
            config.database = Database::postgres(&url).expect("a PostgreSQL URL");
        }
        config
    }
}

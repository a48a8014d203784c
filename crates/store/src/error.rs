//! The crate's one error type.

use kx_denso::TransmissionNumber;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database refused or failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration could not be applied.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The blob directory failed.
    #[error("blob store: {0}")]
    Io(#[from] std::io::Error),
    /// The object store (the S3 bucket of the blobs) refused or failed.
    #[error("object store: {0}")]
    ObjectStore(#[from] object_store::Error),
    /// A setting (where the blobs are, their keys) is malformed or unsafe; the message says
    /// which and why, never a secret.
    #[error("{0}")]
    Settings(String),
    /// A stored blob no longer matches its SHA-256 name.
    #[error("blob {0} is corrupt")]
    CorruptBlob(String),
    /// No such organisation, account, message, submission or definition (for this account).
    #[error("not found: {0}")]
    NotFound(String),
    /// An organisation, account or definition with this key exists already.
    #[error("already exists: {0}")]
    Exists(String),
    /// The organisation has used this transmission number before; nothing of the batch
    /// holding it was stored.
    #[error("transmission number {0} has been used before")]
    NumberUsed(TransmissionNumber),
    /// This 一意番号 has been used before for this upstream kind; nothing was stored.
    #[error("unique number {unique} has been used before for {kind}")]
    UniqueUsed {
        /// The upstream kind (独自情報名).
        kind: String,
        /// The 一意番号.
        unique: String,
    },
    /// An input or a stored value breaks a rule (a malformed network, an unknown state…).
    #[error("invalid: {0}")]
    Invalid(String),
    /// Every password check is busy and the queue in front of them is full: nothing was
    /// hashed; trying again later may work.
    #[error("password checks are busy")]
    Busy,
    /// Hashing a password failed (bad parameters).
    #[error("password hashing: {0}")]
    Password(String),
    /// A write took so long that the intents holding its blobs lapsed before the transaction
    /// naming them could commit, so the collector may have deleted them: nothing of it was
    /// stored; writing it again works.
    #[error("the write took too long: its blobs were no longer held")]
    Lapsed,
    /// The transaction this call's blob intents were batched into, with other callers', failed
    /// (the message says why): nothing was written; trying again later may work.
    #[error("blob intents: {0}")]
    Batched(String),
    /// A blocking task (hashing, blob I/O) panicked or was cancelled.
    #[error("background task: {0}")]
    Task(#[from] tokio::task::JoinError),
}

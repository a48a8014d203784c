//! The metadata backend: connection, transactions and how values are stored.
//!
//! Everything SQLite-specific lives here; the queries elsewhere are plain SQL that PostgreSQL
//! also accepts (`$n` parameters, `RETURNING`, `ON CONFLICT`), so a PostgreSQL backend changes
//! this module and the migrations, not the pipelines.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::Error;
use crate::config::Database;

/// The backend's database type.
pub(crate) type Backend = sqlx::Sqlite;
/// A connection, or a transaction borrowed as one.
pub(crate) type Conn = sqlx::SqliteConnection;
/// A write transaction.
pub(crate) type Tx = sqlx::Transaction<'static, Backend>;

/// A point in time, as the store reports it.
pub type Timestamp = DateTime<Utc>;

/// How long a writer waits for another to finish before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The connection pool.
#[derive(Clone, Debug)]
pub(crate) struct Db {
    pool: sqlx::Pool<Backend>,
}

impl Db {
    /// Connects (creating the database when missing) and applies pending migrations.
    pub(crate) async fn open(database: &Database) -> Result<Db, Error> {
        let Database::Sqlite(path) = database;
        // SQLite gives the -wal and -shm files the database file's mode, so creating the
        // database file private here makes all three private.
        match crate::files::create_new(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e.into()),
        }
        // WAL lets readers run beside the writer; synchronous = FULL makes every commit
        // durable before it returns, which the SMTP 250 promise needs.
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(Db { pool })
    }

    /// The pool, for single statements and reads.
    pub(crate) fn pool(&self) -> &sqlx::Pool<Backend> {
        &self.pool
    }

    /// Starts a write transaction. SQLite's `IMMEDIATE` takes the write lock at once, so a
    /// transaction that reads before it writes waits for other writers instead of failing
    /// with a busy snapshot.
    pub(crate) async fn write(&self) -> Result<Tx, Error> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// The newest migration applied.
    pub(crate) async fn schema_version(&self) -> Result<i64, Error> {
        let version: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await?;
        Ok(version.unwrap_or(0))
    }
}

/// Now, as stored: milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// A stored time read back.
pub(crate) fn timestamp(ms: i64) -> Result<Timestamp, Error> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| Error::Invalid(format!("{ms} is not a time")))
}

/// A duration as stored (milliseconds), saturating rather than wrapping.
pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// A count or size as stored (PostgreSQL has no unsigned integers).
pub(crate) fn to_db(n: u64) -> Result<i64, Error> {
    i64::try_from(n).map_err(|_| Error::Invalid(format!("{n} is too large to store")))
}

/// A stored count or size read back.
pub(crate) fn from_db(n: i64) -> Result<u64, Error> {
    u64::try_from(n).map_err(|_| Error::Invalid(format!("stored value {n} is negative")))
}

/// Maps a uniqueness violation to `on_conflict`, any other failure to [`Error::Database`].
pub(crate) fn or_conflict(e: sqlx::Error, on_conflict: impl FnOnce() -> Error) -> Error {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => on_conflict(),
        _ => Error::Database(e),
    }
}

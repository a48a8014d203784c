//! The metadata backend: connection, transactions and how values are stored.
//!
//! SQLite (the embedded default) or PostgreSQL (several kxd on one database), chosen when the
//! store opens; sqlx's `Any` driver carries both, so the queries elsewhere are written once in
//! the SQL both accept (`$n` parameters, `RETURNING`, `ON CONFLICT`, sums cast to `BIGINT`).
//! What differs lives here and in the two migration folders, one history in two dialects.
//!
//! Writers are serialised on both: SQLite has one writer by design (`BEGIN IMMEDIATE`), and on
//! PostgreSQL every write transaction first takes one transaction-scoped advisory lock, so the
//! invariants the store keeps by reading then writing in one transaction (a number used once,
//! a quota, a settlement) hold across instances exactly as they do in one process. Group
//! commit per instance keeps that from costing a transaction per message.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::Executor as _;
use sqlx::any::AnyPoolOptions;

use crate::Error;
use crate::config::Database;

/// The backend's database type.
pub(crate) type Backend = sqlx::Any;
/// A connection, or a transaction borrowed as one.
pub(crate) type Conn = sqlx::AnyConnection;
/// A write transaction.
pub(crate) type Tx = sqlx::Transaction<'static, Backend>;

/// A point in time, as the store reports it.
pub type Timestamp = DateTime<Utc>;

/// How long a writer waits for another to finish before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The advisory lock every PostgreSQL write transaction holds (any constant of our own).
const WRITER_LOCK: i64 = 0x4b58_5354_4f52_4500; // "KXSTORE\0"

/// Which database the pool talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// SQLite: WAL, full fsync, one writer.
    Sqlite,
    /// PostgreSQL: writers serialised by [`WRITER_LOCK`].
    Postgres,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// The connection pool.
#[derive(Clone, Debug)]
pub(crate) struct Db {
    pool: sqlx::Pool<Backend>,
    dialect: Dialect,
}

impl Db {
    /// Connects (creating an SQLite database when missing) and applies pending migrations.
    pub(crate) async fn open(database: &Database) -> Result<Db, Error> {
        sqlx::any::install_default_drivers();
        let (pool, dialect) = match database {
            Database::Sqlite(path) => (open_sqlite(path).await?, Dialect::Sqlite),
            Database::Postgres(url) => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(BUSY_TIMEOUT)
                    .connect(url.expose())
                    .await?;
                (pool, Dialect::Postgres)
            }
        };
        // Both migrators lock the database while they run: instances starting together
        // apply each migration once.
        match dialect {
            Dialect::Sqlite => SQLITE_MIGRATIONS.run(&pool).await?,
            Dialect::Postgres => POSTGRES_MIGRATIONS.run(&pool).await?,
        }
        Ok(Db { pool, dialect })
    }

    /// The pool, for single statements and reads.
    pub(crate) fn pool(&self) -> &sqlx::Pool<Backend> {
        &self.pool
    }

    /// Starts a write transaction, once no other writer holds one (see the module's note).
    /// SQLite's `IMMEDIATE` takes the write lock at once, so a transaction that reads before
    /// it writes waits for other writers instead of failing with a busy snapshot.
    pub(crate) async fn write(&self) -> Result<Tx, Error> {
        match self.dialect {
            Dialect::Sqlite => Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?),
            Dialect::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(WRITER_LOCK)
                    .execute(&mut *tx)
                    .await?;
                Ok(tx)
            }
        }
    }

    /// Starts a write transaction that keeps no invariant across rows, so row locks suffice:
    /// on PostgreSQL it does not wait for the writer lock (it commits beside a group commit in
    /// progress); SQLite has one writer anyway, so it starts as [`Db::write`]'s does.
    pub(crate) async fn write_rows(&self) -> Result<Tx, Error> {
        match self.dialect {
            Dialect::Sqlite => Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?),
            Dialect::Postgres => Ok(self.pool.begin().await?),
        }
    }

    /// What a `SELECT` of rows to update ends with so that it locks them: `FOR UPDATE` on
    /// PostgreSQL; nothing on SQLite, whose one writer excludes the others anyway.
    pub(crate) fn for_update(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// What a job's `SELECT` of rows to claim ends with: on PostgreSQL `FOR UPDATE SKIP
    /// LOCKED`, so that instances claiming at once take different rows instead of waiting for
    /// one another's and then finding them taken; nothing on SQLite.
    pub(crate) fn skip_locked(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// Which database it is.
    pub(crate) fn dialect(&self) -> Dialect {
        self.dialect
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

/// SQLite in WAL mode with full fsync: readers run beside the writer, and every commit is
/// durable before it returns, which the SMTP 250 promise needs.
async fn open_sqlite(path: &std::path::Path) -> Result<sqlx::Pool<Backend>, Error> {
    // SQLite gives the -wal and -shm files the database file's mode, so creating the
    // database file private here makes all three private.
    match crate::files::create_new(path) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e.into()),
    }
    let pragmas = format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
         PRAGMA busy_timeout = {};",
        BUSY_TIMEOUT.as_millis()
    );
    let pool = AnyPoolOptions::new()
        .max_connections(8)
        .after_connect(move |conn, _| {
            let pragmas = pragmas.clone();
            Box::pin(async move {
                conn.execute(pragmas.as_str()).await?;
                Ok(())
            })
        })
        .connect(&sqlite_url(path))
        .await?;
    Ok(pool)
}

/// `sqlite://PATH?mode=rwc`, the path percent-encoded (sqlx decodes it): a data directory
/// may have spaces, `?` or Japanese in its name.
fn sqlite_url(path: &std::path::Path) -> String {
    let mut url = String::from("sqlite://");
    for byte in path.as_os_str().as_encoded_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                url.push(char::from(*byte));
            }
            other => url.push_str(&format!("%{other:02X}")),
        }
    }
    url.push_str("?mode=rwc");
    url
}

/// `$first, $first+1, …`: `n` numbered parameters of a statement built for a batch.
pub(crate) fn placeholders(n: usize, first: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Text that arrived from outside (a malformed number as written) as it can be stored:
/// PostgreSQL's text holds no NUL, so each NUL becomes U+FFFD, on both backends alike.
pub(crate) fn storable_text(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
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

/// A boolean read back: PostgreSQL answers a `BOOLEAN`, SQLite an integer. sqlx's `Any`
/// driver carries no SQLite `BOOLEAN` column at all, so a query reads such a column as an
/// expression, `(column IS TRUE)`, whose SQLite answer is an integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Flag(pub(crate) bool);

impl sqlx::Type<Backend> for Flag {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <bool as sqlx::Type<Backend>>::type_info()
    }

    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <bool as sqlx::Type<Backend>>::compatible(ty)
            || <i64 as sqlx::Type<Backend>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, Backend> for Flag {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Flag, sqlx::error::BoxDynError> {
        match <i64 as sqlx::Decode<Backend>>::decode(value.clone()) {
            Ok(n) => Ok(Flag(n != 0)),
            Err(_) => Ok(Flag(<bool as sqlx::Decode<Backend>>::decode(value)?)),
        }
    }
}

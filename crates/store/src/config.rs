//! How a [`Store`](crate::Store) is opened.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the metadata lives.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Database {
    /// An SQLite database file (created when missing), run in WAL mode with full fsync.
    Sqlite(PathBuf),
    /// A PostgreSQL database, which several kxd may share.
    Postgres(DatabaseUrl),
}

impl Database {
    /// `postgres://…` (or `postgresql://…`) as PostgreSQL; anything else is refused.
    pub fn postgres(url: &str) -> Result<Database, crate::Error> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Database::Postgres(DatabaseUrl(url.to_owned())))
        } else {
            Err(crate::Error::Invalid(format!(
                "the database must be a postgres:// URL (not {})",
                DatabaseUrl(url.to_owned()).redacted()
            )))
        }
    }
}

/// A database URL, which may carry a password: never shown whole (its `Debug` and
/// [`DatabaseUrl::redacted`] hide the password).
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The URL itself, for the driver only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with its password replaced by `***`, for logs and messages.
    pub fn redacted(&self) -> String {
        let url = &self.0;
        let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
            return url.clone();
        };
        let authority_end = url[scheme_end..]
            .find(['/', '?'])
            .map_or(url.len(), |i| scheme_end + i);
        let authority = &url[scheme_end..authority_end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => format!(
                "{}{}:***{}",
                &url[..scheme_end],
                &authority[..colon],
                &url[scheme_end + at..]
            ),
            _ => url.clone(),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// The argon2id cost parameters for account passwords.
///
/// The default is OWASP's recommended minimum for argon2id (Password Storage Cheat Sheet):
/// 19 MiB of memory (m = 19456 KiB), 2 iterations (t = 2), 1 lane (p = 1). Tests lower them to
/// stay fast; production should not. Hashes keep their parameters, so raising them later only
/// affects passwords set afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordParams {
    /// Memory cost in KiB (m).
    pub memory_kib: u32,
    /// Number of passes (t).
    pub iterations: u32,
    /// Degree of parallelism (p).
    pub parallelism: u32,
}

impl Default for PasswordParams {
    fn default() -> Self {
        PasswordParams {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// How many password checks (hashes and verifications) run at once, and how many may wait.
///
/// Each running check holds its argon2 memory cost, so `workers` × `memory_kib` bounds what
/// password checks take; a check that finds `queue` checks waiting already is refused at once
/// as busy, without hashing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordPool {
    /// Checks running at once (threads of their own). Default: the number of cores.
    pub workers: usize,
    /// Checks waiting for a worker beyond those running. Default 32.
    pub queue: usize,
}

impl Default for PasswordPool {
    fn default() -> Self {
        PasswordPool {
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            queue: 32,
        }
    }
}

/// When failed logins lock an account (or exchange user) for a while.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lockout {
    /// Failed logins within `window` that lock the account (default 5; 0 counts as 1).
    pub after: u32,
    /// How far back failures count, from the first of them. Default 30 minutes.
    pub window: Duration,
    /// How long the lock lasts; failures during it are not counted. Default 30 minutes.
    pub duration: Duration,
}

impl Default for Lockout {
    fn default() -> Self {
        Lockout {
            after: 5,
            window: Duration::from_secs(30 * 60),
            duration: Duration::from_secs(30 * 60),
        }
    }
}

/// Everything [`Store::open`](crate::Store::open) needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreConfig {
    /// The metadata database.
    pub database: Database,
    /// The directory of the local blob store (created when missing).
    pub blobs: PathBuf,
    /// When failed logins lock an account for a while.
    pub lockout: Lockout,
    /// Cost of password hashes.
    pub password: PasswordParams,
    /// How many password checks run at once.
    pub password_pool: PasswordPool,
}

impl StoreConfig {
    /// The embedded default inside a data directory: `DIR/kx.sqlite3` and `DIR/blobs/`.
    pub fn in_dir(dir: &Path) -> StoreConfig {
        StoreConfig {
            database: Database::Sqlite(dir.join("kx.sqlite3")),
            blobs: dir.join("blobs"),
            lockout: Lockout::default(),
            password: PasswordParams::default(),
            password_pool: PasswordPool::default(),
        }
    }
}

//! How a [`Store`](crate::Store) is opened.

use std::path::{Path, PathBuf};

/// Where the metadata lives.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Database {
    /// An SQLite database file (created when missing), run in WAL mode with full fsync.
    Sqlite(PathBuf),
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

/// Everything [`Store::open`](crate::Store::open) needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreConfig {
    /// The metadata database.
    pub database: Database,
    /// The directory of the local blob store (created when missing).
    pub blobs: PathBuf,
    /// Consecutive failed logins after which an account is locked (default 5; 0 counts as 1).
    pub lockout_after: u32,
    /// Cost of password hashes.
    pub password: PasswordParams,
}

impl StoreConfig {
    /// The embedded default inside a data directory: `DIR/kx.sqlite3` and `DIR/blobs/`.
    pub fn in_dir(dir: &Path) -> StoreConfig {
        StoreConfig {
            database: Database::Sqlite(dir.join("kx.sqlite3")),
            blobs: dir.join("blobs"),
            lockout_after: 5,
            password: PasswordParams::default(),
        }
    }
}

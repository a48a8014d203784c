//! The profile's local state store (`state.sqlite3`): every submission with what the server
//! answered about it, and every message fetched.
//!
//! SQLite through `rusqlite` (blocking, bundled SQLite): a CLI that does one thing at a time
//! needs no async runtime, and the bundled library behaves the same on every machine. The
//! database runs in WAL mode with `synchronous = FULL`, so a committed transaction is on disk
//! (fsync'd) before the call returns: the two promises of this module rest on that.
//!
//! - A transmission number is committed as *reserved* before its message is sent, so no crash
//!   can make the client use it twice ([`State::reserve`]).
//! - A fetched message is committed before it is deleted on the server, keyed by its POP3
//!   unique id and the SHA-256 of its bytes, so a crash between RETR and DELE neither loses nor
//!   duplicates it ([`State::store_message`]).

use std::path::Path;

use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior, params};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

pub use kx_records::ledger::{DataFileNote, FileRow, Submission};

/// What went wrong with the state store.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// SQLite failed (the file is unreadable, locked for too long, or full).
    #[error("state store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A JSON column did not read back.
    #[error("state store: {0}")]
    Json(#[from] serde_json::Error),
    /// The store was written by a newer `kx` (its schema version is unknown here).
    #[error("state store: schema version {found} is newer than this kx knows ({known})")]
    TooNew {
        /// The store's `user_version`.
        found: usize,
        /// The newest version this build migrates to.
        known: usize,
    },
    /// Every serial of the organisation is used up.
    #[error("no transmission number is left for {0}")]
    Exhausted(String),
}

/// The schema's versions in order: `MIGRATIONS[i]` takes a store from `user_version` `i` to
/// `i + 1`, each in its own transaction. Version 1 is the schema of the stores written before
/// versions were counted; its statements keep `IF NOT EXISTS` so such a store (at
/// `user_version` 0 with every table present) opens unchanged. Append, never edit.
const MIGRATIONS: &[&str] = &[V1];

/// Version 1: counters, submissions, per-file results, fetched messages.
const V1: &str = "
CREATE TABLE IF NOT EXISTS counters (
    org_code TEXT PRIMARY KEY,
    next INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS submissions (
    number TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    reserved_at TEXT NOT NULL,
    sent_at TEXT,
    send_error TEXT,
    attachments TEXT NOT NULL DEFAULT '[]',
    data_files TEXT NOT NULL DEFAULT '[]',
    target TEXT,
    raw BLOB,
    accept_result TEXT, accept_code TEXT, accept_at TEXT,
    regist_result TEXT, regist_code TEXT, regist_at TEXT,
    csv_err BLOB, transmit_info BLOB,
    cancel_result TEXT, cancel_code TEXT, cancel_at TEXT, cancelled_by TEXT
);
CREATE TABLE IF NOT EXISTS file_results (
    number TEXT NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    result TEXT NOT NULL,
    code TEXT,
    format_error INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (number, position)
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    uid TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    raw BLOB NOT NULL,
    fetched_at TEXT NOT NULL,
    kind TEXT,
    number TEXT,
    applied INTEGER NOT NULL DEFAULT 0,
    seen INTEGER NOT NULL DEFAULT 0,
    title TEXT,
    body TEXT,
    saved_to TEXT,
    problem TEXT,
    UNIQUE (uid, sha256)
);
";

/// The kind stored for a fetched message that is no 伝送 message; every other kind is a
/// [`kx_denso::message::MessageKind::as_str`].
pub(crate) const UNREADABLE: &str = "Unreadable";

/// The highest serial. A 整理番号 is the account's seq character followed by nine digits of
/// the serial, so the up to ten IDs of one organisation, each with its own store, can never
/// hand out the same number.
const MAX_SERIAL: u64 = 999_999_999;

/// A stored message.
#[derive(Clone, Debug, Serialize)]
pub struct StoredMessage {
    /// The store's id.
    pub id: i64,
    /// The POP3 unique id it was fetched under.
    pub uid: String,
    /// SHA-256 of the message as retrieved.
    pub sha256: String,
    /// When it was fetched.
    pub fetched_at: String,
    /// Its kind, once applied.
    pub kind: Option<String>,
    /// The transmission number it is about.
    pub number: Option<String>,
    /// Whether `kx denso inbox` showed it.
    pub seen: bool,
    /// Contact title, or a one-line summary.
    pub title: Option<String>,
    /// Contact body.
    pub body: Option<String>,
    /// Where its files went (Result archive, Contact attachments, service-notice download).
    pub saved_to: Option<String>,
    /// What could not be done with it.
    pub problem: Option<String>,
}

/// What applying a message to the store recorded, kept on the message row.
#[derive(Default)]
pub(crate) struct Applied {
    /// The message kind.
    pub(crate) kind: String,
    /// The number it concerns.
    pub(crate) number: Option<String>,
    /// Title or summary.
    pub(crate) title: Option<String>,
    /// Contact body.
    pub(crate) body: Option<String>,
    /// Where its files went.
    pub(crate) saved_to: Option<String>,
    /// What could not be done.
    pub(crate) problem: Option<String>,
}

/// The open store.
pub struct State {
    db: Connection,
}

/// The current time, RFC 3339 with the local offset.
pub(crate) fn now() -> String {
    chrono::Local::now()
        .fixed_offset()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// SHA-256 of bytes, lower-case hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl State {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<State, StateError> {
        let db = Connection::open(path)?;
        db.busy_timeout(std::time::Duration::from_secs(10))?;
        // WAL + FULL: every commit is fsync'd before it returns (see the module docs).
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        let mut state = State { db };
        state.migrate()?;
        Ok(state)
    }

    /// Applies the migrations the store has not seen yet, each with its version bump in one
    /// transaction; a store newer than this build is refused rather than misread.
    fn migrate(&mut self) -> Result<(), StateError> {
        let version: usize = self
            .db
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > MIGRATIONS.len() {
            return Err(StateError::TooNew {
                found: version,
                known: MIGRATIONS.len(),
            });
        }
        for (done, migration) in MIGRATIONS.iter().enumerate().skip(version) {
            let tx = self
                .db
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(migration)?;
            tx.pragma_update(None, "user_version", done + 1)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// The serial the next reservation for `org_code` would take, without taking it.
    pub(crate) fn peek_serial(&self, org_code: &str) -> Result<u64, StateError> {
        Ok(self
            .db
            .query_row(
                "SELECT next FROM counters WHERE org_code = ?1",
                [org_code],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .map_or(1, |n| n.unsigned_abs()))
    }

    /// Reserves the next number for `org_code` and records the submission as reserved, in one
    /// committed transaction. `make_number` turns the serial into the number (it may also
    /// prefix the ID's seq); a number that somehow exists already is skipped, never reused.
    pub(crate) fn reserve(
        &mut self,
        org_code: &str,
        kind: &str,
        make_number: impl Fn(u64) -> String,
    ) -> Result<String, StateError> {
        let tx = self
            .db
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut serial: u64 = tx
            .query_row(
                "SELECT next FROM counters WHERE org_code = ?1",
                [org_code],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .map_or(1, |n| n.unsigned_abs());
        let number = loop {
            if serial > MAX_SERIAL {
                return Err(StateError::Exhausted(org_code.to_owned()));
            }
            let candidate = make_number(serial);
            serial += 1;
            let taken: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM submissions WHERE number = ?1)",
                [&candidate],
                |r| r.get(0),
            )?;
            if !taken {
                break candidate;
            }
        };
        tx.execute(
            "INSERT INTO counters (org_code, next) VALUES (?1, ?2)
             ON CONFLICT (org_code) DO UPDATE SET next = excluded.next",
            params![org_code, serial as i64],
        )?;
        tx.execute(
            "INSERT INTO submissions (number, kind, reserved_at) VALUES (?1, ?2, ?3)",
            params![number, kind, now()],
        )?;
        tx.commit()?;
        Ok(number)
    }

    /// Records what a reserved submission carries, and the exact message, before it is sent.
    pub(crate) fn describe(
        &self,
        number: &str,
        attachments: &[String],
        data_files: &[DataFileNote],
        target: Option<&str>,
        raw: &[u8],
    ) -> Result<(), StateError> {
        self.db.execute(
            "UPDATE submissions SET attachments = ?2, data_files = ?3, target = ?4, raw = ?5
             WHERE number = ?1",
            params![
                number,
                serde_json::to_string(attachments)?,
                serde_json::to_string(data_files)?,
                target,
                raw
            ],
        )?;
        Ok(())
    }

    /// The message as sent (or as it would have been, for a number reserved but not sent).
    pub fn sent_message(&self, number: &str) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self
            .db
            .query_row(
                "SELECT raw FROM submissions WHERE number = ?1",
                [number],
                |r| r.get::<_, Option<Vec<u8>>>(0),
            )
            .optional()?
            .flatten())
    }

    /// Records that the server took the message, or why it did not.
    pub(crate) fn mark_sent(&self, number: &str, error: Option<&str>) -> Result<(), StateError> {
        match error {
            None => self.db.execute(
                "UPDATE submissions SET sent_at = ?2, send_error = NULL WHERE number = ?1",
                params![number, now()],
            )?,
            Some(error) => self.db.execute(
                "UPDATE submissions SET send_error = ?2 WHERE number = ?1",
                params![number, error],
            )?,
        };
        Ok(())
    }

    /// Whether a number was ever reserved here.
    pub fn has_number(&self, number: &str) -> Result<bool, StateError> {
        Ok(self.db.query_row(
            "SELECT EXISTS (SELECT 1 FROM submissions WHERE number = ?1)",
            [number],
            |r| r.get(0),
        )?)
    }

    /// Stores a fetched message durably unless the same one (same unique id and content) is
    /// already there; returns whether it was new. The commit is fsync'd (see the module docs),
    /// so the caller may DELE it on the server once this returns.
    pub(crate) fn store_message(&self, uid: &str, raw: &[u8]) -> Result<bool, StateError> {
        let inserted = self.db.execute(
            "INSERT INTO messages (uid, sha256, raw, fetched_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (uid, sha256) DO NOTHING",
            params![uid, sha256_hex(raw), raw, now()],
        )?;
        Ok(inserted == 1)
    }

    /// Messages stored but not yet applied to the submissions, oldest first.
    pub(crate) fn unapplied(&self) -> Result<Vec<(i64, Vec<u8>)>, StateError> {
        let mut stmt = self
            .db
            .prepare("SELECT id, raw FROM messages WHERE applied = 0 ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Runs `apply` on the submissions and marks the message applied, in one transaction.
    pub(crate) fn apply(
        &mut self,
        message_id: i64,
        apply: impl FnOnce(&Updates<'_>) -> Result<Applied, StateError>,
    ) -> Result<Applied, StateError> {
        let tx = self.db.transaction()?;
        let applied = apply(&Updates { db: &tx })?;
        tx.execute(
            "UPDATE messages SET applied = 1, kind = ?2, number = ?3, title = ?4, body = ?5,
             saved_to = ?6, problem = ?7 WHERE id = ?1",
            params![
                message_id,
                applied.kind,
                applied.number,
                applied.title,
                applied.body,
                applied.saved_to,
                applied.problem
            ],
        )?;
        tx.commit()?;
        Ok(applied)
    }

    /// Every submission, newest first.
    pub fn submissions(&self) -> Result<Vec<Submission>, StateError> {
        let mut stmt = self.db.prepare(
            "SELECT number, kind, reserved_at, sent_at, send_error, attachments, data_files,
                    target, accept_result, accept_code, accept_at, regist_result, regist_code,
                    regist_at, csv_err, transmit_info, cancel_result, cancel_code, cancel_at,
                    cancelled_by
             FROM submissions ORDER BY reserved_at DESC, number DESC",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                Submission {
                    number: r.get(0)?,
                    kind: r.get(1)?,
                    reserved_at: r.get(2)?,
                    sent_at: r.get(3)?,
                    send_error: r.get(4)?,
                    target: r.get(7)?,
                    accept_result: r.get(8)?,
                    accept_code: r.get(9)?,
                    accept_at: r.get(10)?,
                    regist_result: r.get(11)?,
                    regist_code: r.get(12)?,
                    regist_at: r.get(13)?,
                    csv_err: r.get(14)?,
                    transmit_info: r.get(15)?,
                    cancel_result: r.get(16)?,
                    cancel_code: r.get(17)?,
                    cancel_at: r.get(18)?,
                    cancelled_by: r.get(19)?,
                    ..Submission::default()
                },
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (mut submission, attachments, data_files) = row?;
            submission.attachments = serde_json::from_str(&attachments)?;
            submission.data_files = serde_json::from_str(&data_files)?;
            submission.files = self.file_rows(&submission.number)?;
            out.push(submission);
        }
        Ok(out)
    }

    /// One submission.
    pub fn submission(&self, number: &str) -> Result<Option<Submission>, StateError> {
        Ok(self.submissions()?.into_iter().find(|s| s.number == number))
    }

    fn file_rows(&self, number: &str) -> Result<Vec<FileRow>, StateError> {
        let mut stmt = self.db.prepare(
            "SELECT name, result, code, format_error FROM file_results
             WHERE number = ?1 ORDER BY position",
        )?;
        let rows = stmt.query_map([number], |r| {
            Ok(FileRow {
                name: r.get(0)?,
                result: r.get(1)?,
                code: r.get(2)?,
                format_error: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every stored message, oldest first (`unseen_only`: those `inbox` has not shown).
    pub fn messages(&self, unseen_only: bool) -> Result<Vec<StoredMessage>, StateError> {
        let mut stmt = self.db.prepare(
            "SELECT id, uid, fetched_at, kind, number, seen, title, body, saved_to, problem, sha256
             FROM messages WHERE applied = 1 AND (?1 = 0 OR seen = 0) ORDER BY id",
        )?;
        let rows = stmt.query_map([unseen_only], |r| {
            Ok(StoredMessage {
                id: r.get(0)?,
                uid: r.get(1)?,
                fetched_at: r.get(2)?,
                kind: r.get(3)?,
                number: r.get(4)?,
                seen: r.get(5)?,
                title: r.get(6)?,
                body: r.get(7)?,
                saved_to: r.get(8)?,
                problem: r.get(9)?,
                sha256: r.get(10)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Marks messages as shown by `inbox`.
    pub fn mark_seen(&self, ids: &[i64]) -> Result<(), StateError> {
        for id in ids {
            self.db
                .execute("UPDATE messages SET seen = 1 WHERE id = ?1", [id])?;
        }
        Ok(())
    }
}

/// The updates a fetched message makes to the submissions, inside [`State::apply`]'s
/// transaction.
pub(crate) struct Updates<'a> {
    db: &'a Connection,
}

impl Updates<'_> {
    /// Whether the number is one of ours.
    pub(crate) fn known(&self, number: &str) -> Result<bool, StateError> {
        Ok(self.db.query_row(
            "SELECT EXISTS (SELECT 1 FROM submissions WHERE number = ?1)",
            [number],
            |r| r.get(0),
        )?)
    }

    /// Records an Accept.
    pub(crate) fn accept(
        &self,
        number: &str,
        result: &str,
        code: Option<&str>,
    ) -> Result<(), StateError> {
        self.db.execute(
            "UPDATE submissions SET accept_result = ?2, accept_code = ?3, accept_at = ?4
             WHERE number = ?1",
            params![number, result, code, now()],
        )?;
        Ok(())
    }

    /// Records a Regist with its per-file results and attachments.
    pub(crate) fn regist(
        &self,
        number: &str,
        result: &str,
        code: Option<&str>,
        files: &[FileRow],
        csv_err: Option<&[u8]>,
        transmit_info: Option<&[u8]>,
    ) -> Result<(), StateError> {
        self.db.execute(
            "UPDATE submissions SET regist_result = ?2, regist_code = ?3, regist_at = ?4,
             csv_err = ?5, transmit_info = ?6 WHERE number = ?1",
            params![number, result, code, now(), csv_err, transmit_info],
        )?;
        self.db
            .execute("DELETE FROM file_results WHERE number = ?1", [number])?;
        for (position, file) in files.iter().enumerate() {
            self.db.execute(
                "INSERT INTO file_results (number, position, name, result, code, format_error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    number,
                    position as i64,
                    file.name,
                    file.result,
                    file.code,
                    file.format_error
                ],
            )?;
        }
        Ok(())
    }

    /// Records a DeleteRegist on the DataDelete (`number`) and on the submission it cancelled.
    pub(crate) fn delete_regist(
        &self,
        number: &str,
        cancelled: &str,
        result: &str,
        code: Option<&str>,
    ) -> Result<(), StateError> {
        let at = now();
        self.db.execute(
            "UPDATE submissions SET cancel_result = ?2, cancel_code = ?3, cancel_at = ?4
             WHERE number = ?1",
            params![number, result, code, at],
        )?;
        self.db.execute(
            "UPDATE submissions SET cancel_result = ?2, cancel_code = ?3, cancel_at = ?4,
             cancelled_by = ?5 WHERE number = ?1",
            params![cancelled, result, code, at, number],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store as `kx` wrote it before schema versions: version 1's tables, `user_version` 0.
    fn unversioned_store(path: &Path) {
        let db = Connection::open(path).expect("creates");
        db.execute_batch(V1).expect("version 1 schema");
        db.execute(
            "INSERT INTO submissions (number, kind, reserved_at) VALUES (?1, 'DataSend', 'x')",
            ["13123456780000000007"],
        )
        .expect("insert");
    }

    fn user_version(state: &State) -> usize {
        state
            .db
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("user_version")
    }

    #[test]
    fn a_store_from_before_versions_opens_unchanged_and_is_migrated() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("state.sqlite3");
        unversioned_store(&path);
        let state = State::open(&path).expect("opens");
        assert_eq!(user_version(&state), MIGRATIONS.len());
        let kept = state.submission("13123456780000000007").expect("reads");
        assert_eq!(kept.map(|s| s.kind).as_deref(), Some("DataSend"));
        drop(state);
        let state = State::open(&path).expect("reopens");
        assert_eq!(user_version(&state), MIGRATIONS.len());
    }

    #[test]
    fn a_store_at_version_one_is_migrated_to_the_newest() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("state.sqlite3");
        unversioned_store(&path);
        Connection::open(&path)
            .and_then(|db| db.pragma_update(None, "user_version", 1))
            .expect("version 1");
        let state = State::open(&path).expect("opens");
        assert_eq!(user_version(&state), MIGRATIONS.len());
        assert!(state.has_number("13123456780000000007").expect("reads"));
    }

    #[test]
    fn a_store_from_a_newer_kx_is_refused() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("state.sqlite3");
        Connection::open(&path)
            .and_then(|db| db.pragma_update(None, "user_version", MIGRATIONS.len() + 1))
            .expect("a newer store");
        let refused = State::open(&path).err();
        assert!(
            matches!(refused, Some(StateError::TooNew { found, .. }) if found == MIGRATIONS.len() + 1),
            "{refused:?}"
        );
    }

    #[test]
    fn numbers_are_never_reused_even_when_one_exists_already() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("state.sqlite3");
        let make = |serial: u64| format!("13123456780{serial:09}");
        {
            let mut state = State::open(&path).expect("opens");
            assert_eq!(state.peek_serial("1312345678").expect("peek"), 1);
            assert_eq!(
                state.reserve("1312345678", "DataSend", make).expect("ok"),
                "13123456780000000001"
            );
            // A number recorded by hand (say, restored from a backup) is skipped.
            state
                .db
                .execute(
                    "INSERT INTO submissions (number, kind, reserved_at) VALUES (?1, 'DataSend', 'x')",
                    ["13123456780000000002"],
                )
                .expect("insert");
        }
        let mut state = State::open(&path).expect("reopens");
        assert_eq!(
            state.reserve("1312345678", "DataSend", make).expect("ok"),
            "13123456780000000003"
        );
    }

    #[test]
    fn a_message_is_stored_once_per_uid_and_content() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let state = State::open(&dir.path().join("s.sqlite3")).expect("opens");
        assert!(state.store_message("u1", b"a").expect("ok"));
        assert!(!state.store_message("u1", b"a").expect("ok"));
        assert!(
            state.store_message("u1", b"b").expect("ok"),
            "same uid, new content"
        );
        assert!(state.store_message("u2", b"a").expect("ok"));
        assert_eq!(state.unapplied().expect("ok").len(), 3);
    }
}

//! Copying one store into another (`kxd store migrate`): an embedded installation (SQLite and
//! a blob directory) into PostgreSQL and an S3 bucket.
//!
//! - The rows, table by table in the order their references need, each with its ids; then
//!   both sides are compared table by table, by count and by a SHA-256 over every row in key
//!   order.
//! - The blobs, each under the id the rows name: a 伝送 blob is checked against its content
//!   hash as it is read, a sealed file against the SHA-256 its row records.
//!
//! A copy can be run again after an interruption: rows and blobs already there are left as
//! they are, so it goes on where it stopped.

use std::collections::{HashMap, HashSet};

use futures_util::StreamExt as _;
use sha2::{Digest, Sha256};
use sqlx::Row as _;

use crate::blob::{BlobId, BlobStore};
use crate::db::{Dialect, Flag};
use crate::{Error, Store};

/// Every table, parents before children (a reference always names a row already copied), and
/// the columns that order it. A table the schema has and this list lacks stops the copy.
const TABLES: &[(&str, &str)] = &[
    ("organisations", "code"),
    ("organisation_networks", "org_code, network"),
    ("accounts", "id"),
    ("mailboxes", "account_id"),
    ("mailbox_messages", "account_id, uid"),
    ("submissions", "id"),
    ("used_numbers", "org_code, number"),
    ("upstream_definitions", "name"),
    ("upstream_receipts", "id"),
    ("audit_log", "id"),
    ("ex_parties", "id"),
    ("ex_destinations", "id"),
    ("ex_users", "id"),
    ("ex_codes", "code_hash"),
    ("ex_certificates", "id"),
    ("ex_certificate_requests", "id"),
    ("ex_sessions", "token_hash"),
    ("ex_files", "seq"),
    ("mail_outbox", "id"),
    ("ex_settings", "key"),
    ("operators", "id"),
    ("console_sessions", "token_hash"),
    // Writes in flight when the copy began: none while kxd is stopped, and lapsing if any.
    ("blob_intents", "holder, blob"),
    ("installation_identity", "id"),
    // Counts of the last minutes: a source's penalty and its rates carry over.
    ("login_failures", "source"),
    ("rate_events", "scope, subject, minute"),
];

/// Rows copied per transaction.
const BATCH: usize = 500;

/// How a column's values are read and written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Integer,
    Text,
    Bytes,
    Boolean,
}

/// A column of a table, as the target's schema declares it.
#[derive(Clone, Debug)]
struct Column {
    name: String,
    kind: Kind,
}

/// One value of a row, whatever its column.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Value {
    Null,
    Integer(i64),
    Text(String),
    Bytes(Vec<u8>),
    Boolean(bool),
}

/// One table's copy and check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableCopy {
    /// The table.
    pub table: &'static str,
    /// Rows in the source.
    pub rows: u64,
    /// Rows written now (fewer than `rows` when an earlier run copied some).
    pub written: u64,
    /// The SHA-256 of every row in key order, the same on both sides (lower-case hex).
    pub sha256: String,
}

impl Store {
    /// Copies every row of this store's database into `target` (a store on PostgreSQL with
    /// the same migrations applied), then checks that both hold the same rows. `progress`
    /// hears each table as it is done. Blobs are copied apart ([`Store::copy_blobs_to`]).
    pub async fn copy_database_to(
        &self,
        target: &Store,
        mut progress: impl FnMut(&TableCopy),
    ) -> Result<Vec<TableCopy>, Error> {
        let (from, to) = (self.schema_version().await?, target.schema_version().await?);
        if from != to {
            return Err(Error::Invalid(format!(
                "the source is at migration {from}, the target at {to}: run the same kxd on both"
            )));
        }
        target.check_table_list().await?;
        let mut report = Vec::new();
        for &(table, key) in TABLES {
            let columns = target.columns(table).await?;
            let rows = self.rows(table, key, &columns).await?;
            let written = target.insert_missing(table, &columns, &rows).await?;
            let copied = TableCopy {
                table,
                rows: rows.len() as u64,
                written,
                sha256: digest(&rows),
            };
            let there = digest(&target.rows(table, key, &columns).await?);
            if there != copied.sha256 {
                return Err(Error::Invalid(format!(
                    "{table}: the target's rows differ from the source's after the copy \
                     (a row changed on one side since an earlier run?)"
                )));
            }
            progress(&copied);
            report.push(copied);
        }
        target.restart_identities().await?;
        Ok(report)
    }

    /// Every table of the schema is in [`TABLES`].
    async fn check_table_list(&self) -> Result<(), Error> {
        let present: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::TEXT FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
        )
        .fetch_all(self.db.pool())
        .await?;
        match present
            .iter()
            .find(|t| !TABLES.iter().any(|(known, _)| known == t))
        {
            Some(unknown) => Err(Error::Invalid(format!(
                "table {unknown} is not known to the copy: this kxd cannot migrate its store"
            ))),
            None => Ok(()),
        }
    }

    /// The columns of `table`, from the PostgreSQL schema.
    async fn columns(&self, table: &str) -> Result<Vec<Column>, Error> {
        if self.db.dialect() != Dialect::Postgres {
            return Err(Error::Invalid(
                "the copy's target must be PostgreSQL".into(),
            ));
        }
        let declared: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::TEXT, data_type::TEXT FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(table)
        .fetch_all(self.db.pool())
        .await?;
        declared
            .into_iter()
            .map(|(name, data_type)| {
                let kind = match data_type.as_str() {
                    "bigint" | "integer" | "smallint" => Kind::Integer,
                    "text" | "character varying" => Kind::Text,
                    "bytea" => Kind::Bytes,
                    "boolean" => Kind::Boolean,
                    other => {
                        return Err(Error::Invalid(format!(
                            "{table}.{name} is of type {other}, which the copy does not know"
                        )));
                    }
                };
                Ok(Column { name, kind })
            })
            .collect()
    }

    /// Every row of `table` in `key` order, read as `columns` say.
    async fn rows(
        &self,
        table: &str,
        key: &str,
        columns: &[Column],
    ) -> Result<Vec<Vec<Value>>, Error> {
        let list: Vec<String> = columns
            .iter()
            .map(|c| match c.kind {
                // A BOOLEAN column reads through `Flag` on both backends (see db.rs).
                Kind::Boolean => format!(
                    "CASE WHEN {0} IS NULL THEN NULL ELSE ({0} IS TRUE) END",
                    c.name
                ),
                _ => c.name.clone(),
            })
            .collect();
        let query = format!("SELECT {} FROM {table} ORDER BY {key}", list.join(", "));
        let rows = sqlx::query(&query).fetch_all(self.db.pool()).await?;
        rows.iter()
            .map(|row| {
                columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| read(row, i, c.kind))
                    .collect()
            })
            .collect()
    }

    /// Inserts the rows not there yet; how many were.
    async fn insert_missing(
        &self,
        table: &str,
        columns: &[Column],
        rows: &[Vec<Value>],
    ) -> Result<u64, Error> {
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        let params: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
        // Identities are BY DEFAULT in the PostgreSQL migrations: the ids are kept.
        let statement = format!(
            "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT DO NOTHING",
            names.join(", "),
            params.join(", ")
        );
        let mut written = 0;
        for batch in rows.chunks(BATCH) {
            let mut tx = self.db.write().await?;
            for row in batch {
                let mut query = sqlx::query(&statement);
                for (value, column) in row.iter().zip(columns) {
                    query = match value {
                        // PostgreSQL wants a NULL of the column's own type.
                        Value::Null => match column.kind {
                            Kind::Integer => query.bind(Option::<i64>::None),
                            Kind::Text => query.bind(Option::<String>::None),
                            Kind::Bytes => query.bind(Option::<Vec<u8>>::None),
                            Kind::Boolean => query.bind(Option::<bool>::None),
                        },
                        Value::Integer(n) => query.bind(*n),
                        Value::Text(t) => query.bind(t.clone()),
                        Value::Bytes(b) => query.bind(b.clone()),
                        Value::Boolean(b) => query.bind(*b),
                    };
                }
                written += query.execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
        }
        Ok(written)
    }

    /// Each identity column's next value past the copied ids.
    async fn restart_identities(&self) -> Result<(), Error> {
        let identities: Vec<(String, String)> = sqlx::query_as(
            "SELECT table_name::TEXT, column_name::TEXT FROM information_schema.columns \
             WHERE table_schema = current_schema() AND is_identity = 'YES'",
        )
        .fetch_all(self.db.pool())
        .await?;
        for (table, column) in identities {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), \
                 COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)"
            ))
            .execute(self.db.pool())
            .await?;
        }
        Ok(())
    }
}

/// The value at `i` of `row`, read as `kind` (a NULL as [`Value::Null`]).
fn read(row: &sqlx::any::AnyRow, i: usize, kind: Kind) -> Result<Value, Error> {
    Ok(match kind {
        Kind::Integer => row
            .try_get::<Option<i64>, _>(i)?
            .map_or(Value::Null, Value::Integer),
        Kind::Text => row
            .try_get::<Option<String>, _>(i)?
            .map_or(Value::Null, Value::Text),
        Kind::Bytes => row
            .try_get::<Option<Vec<u8>>, _>(i)?
            .map_or(Value::Null, Value::Bytes),
        Kind::Boolean => row
            .try_get::<Option<Flag>, _>(i)?
            .map_or(Value::Null, |Flag(b)| Value::Boolean(b)),
    })
}

/// A SHA-256 over the rows, each value tagged and length-prefixed so that no two different
/// tables of rows hash alike.
fn digest(rows: &[Vec<Value>]) -> String {
    let mut hash = Sha256::new();
    for row in rows {
        hash.update(b"R");
        for value in row {
            let (tag, bytes): (u8, Vec<u8>) = match value {
                Value::Null => (b'N', Vec::new()),
                Value::Integer(n) => (b'I', n.to_be_bytes().to_vec()),
                Value::Text(t) => (b'T', t.as_bytes().to_vec()),
                Value::Bytes(b) => (b'B', b.clone()),
                Value::Boolean(b) => (b'F', vec![u8::from(*b)]),
            };
            hash.update([tag]);
            hash.update((bytes.len() as u64).to_be_bytes());
            hash.update(&bytes);
        }
    }
    crate::blob::hex(&hash.finalize())
}

/// One blob area's copy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlobCopy {
    /// `messages` (伝送) or `sealed` (the exchange's files).
    pub area: &'static str,
    /// Blobs in the source.
    pub blobs: u64,
    /// Blobs written now (the others were there already).
    pub written: u64,
    /// Bytes written now.
    pub bytes: u64,
}

impl Store {
    /// Copies every blob of this store into `target` under the same ids, checked; `progress`
    /// hears each area's count after each blob.
    pub async fn copy_blobs_to(
        &self,
        target: &Store,
        mut progress: impl FnMut(&BlobCopy),
    ) -> Result<Vec<BlobCopy>, Error> {
        let sealed_sha256: HashMap<String, String> =
            sqlx::query_as("SELECT blob, sha256 FROM ex_files WHERE blob IS NOT NULL")
                .fetch_all(self.db.pool())
                .await?
                .into_iter()
                .collect();
        let mut report = Vec::new();
        for (area, from, to) in [
            ("messages", &self.blobs, &target.blobs),
            ("sealed", &self.exchange_blobs, &target.exchange_blobs),
        ] {
            let there: HashSet<String> = to
                .list()
                .await?
                .into_iter()
                .map(|b| b.id.as_str().to_owned())
                .collect();
            let listed = from.list().await?;
            let mut copied = BlobCopy {
                area,
                blobs: listed.len() as u64,
                ..BlobCopy::default()
            };
            for blob in listed {
                if !there.contains(blob.id.as_str()) {
                    copied.bytes += match area {
                        "messages" => copy_message(&**from, &**to, blob.id).await?,
                        _ => {
                            let expected = sealed_sha256.get(blob.id.as_str());
                            copy_sealed(&**from, &**to, blob.id, expected).await?
                        }
                    };
                    copied.written += 1;
                }
                progress(&copied);
            }
            report.push(copied);
        }
        Ok(report)
    }
}

/// A 伝送 blob: read checked against its name, written under the same (content) name.
async fn copy_message(from: &dyn BlobStore, to: &dyn BlobStore, id: BlobId) -> Result<u64, Error> {
    let bytes = from.get(id.clone()).await?;
    let size = bytes.len() as u64;
    let written = to.put_all(vec![bytes]).await?;
    if written.first() != Some(&id) {
        return Err(Error::CorruptBlob(id.to_string()));
    }
    Ok(size)
}

/// A sealed file, streamed under its id; its bytes must hash to what its row recorded (a
/// blob no row names any more is copied as it is, for the garbage collector to judge).
async fn copy_sealed(
    from: &dyn BlobStore,
    to: &dyn BlobStore,
    id: BlobId,
    expected: Option<&String>,
) -> Result<u64, Error> {
    let mut stream = from.open_stream(id.clone()).await?;
    let mut upload = to.stage_as(id.clone()).await?;
    while let Some(chunk) = stream.next().await {
        upload.write(&chunk?).await?;
    }
    let staged = upload.finish().await?;
    if expected.is_some_and(|sha256| sha256 != staged.sha256()) {
        to.remove(id.clone()).await?;
        return Err(Error::CorruptBlob(id.to_string()));
    }
    Ok(staged.size())
}

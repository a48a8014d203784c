//! The audit log: who did what to what, from where, with what outcome. Append-only; never
//! holds a password or message content (callers pass names and ids, not data).

use std::net::IpAddr;

use crate::db::{Conn, Timestamp, now_ms, timestamp};
use crate::{Error, Store};

/// One event to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// Who: an account ID, an operator, or `system`.
    pub actor: String,
    /// What: e.g. `smtp.login`, `pop3.retr`, `account.unlock`.
    pub action: String,
    /// To what: an account, a mailbox uid, a transmission number.
    pub object: String,
    /// The client's address, when there is a client.
    pub source_ip: Option<IpAddr>,
    /// How it ended: e.g. `ok`, `wrong-password`, `locked`.
    pub outcome: String,
}

/// A recorded event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    /// Its place in the log (grows with time).
    pub id: i64,
    /// When it was recorded.
    pub at: Timestamp,
    /// The event.
    pub entry: AuditEntry,
}

/// Which events [`Store::audit_log`] returns; unset fields match everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this actor.
    pub actor: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// Only this object.
    pub object: Option<String>,
    /// Only events at or after this time.
    pub since: Option<Timestamp>,
    /// Only events before this time.
    pub until: Option<Timestamp>,
    /// At most this many (the newest); `None` = all.
    pub limit: Option<u32>,
}

type AuditRow = (i64, i64, String, String, String, Option<String>, String);

impl AuditEntry {
    /// An entry from its parts.
    pub fn new(
        actor: &str,
        action: &str,
        object: &str,
        source_ip: Option<IpAddr>,
        outcome: &str,
    ) -> AuditEntry {
        AuditEntry {
            actor: actor.to_owned(),
            action: action.to_owned(),
            object: object.to_owned(),
            source_ip,
            outcome: outcome.to_owned(),
        }
    }
}

impl Store {
    /// Appends an event to the audit log for an action that has happened: a failure to write
    /// is logged, never hidden, and does not undo or fail the action it records.
    pub async fn record_audit(
        &self,
        actor: &str,
        action: &str,
        object: &str,
        source: Option<IpAddr>,
        outcome: &str,
    ) {
        let entry = AuditEntry::new(actor, action, object, source, outcome);
        if let Err(e) = self.audit(&entry).await {
            tracing::error!(error = %e, action, "audit: cannot write");
        }
    }

    /// Appends an event to the audit log.
    pub async fn audit(&self, entry: &AuditEntry) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, action, object, source_ip, outcome) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(now_ms())
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(&entry.object)
        .bind(entry.source_ip.map(|ip| ip.to_string()))
        .bind(&entry.outcome)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Appends several events in one transaction (one fsync): all of them or, on error, none.
    pub async fn audit_all(&self, entries: &[AuditEntry]) -> Result<(), Error> {
        let mut tx = self.db.write().await?;
        let at = now_ms();
        for entry in entries {
            insert_audit(&mut tx, entry, at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The events matching `filter`, newest first.
    pub async fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>, Error> {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT id, at, actor, action, object, source_ip, outcome FROM audit_log \
             WHERE ($1 IS NULL OR actor = $1) AND ($2 IS NULL OR action = $2) \
             AND ($3 IS NULL OR object = $3) AND ($4 IS NULL OR at >= $4) \
             AND ($6 IS NULL OR at < $6) ORDER BY id DESC LIMIT $5",
        )
        .bind(&filter.actor)
        .bind(&filter.action)
        .bind(&filter.object)
        .bind(filter.since.map(|t| t.timestamp_millis()))
        .bind(filter.limit.map_or(i64::MAX, i64::from))
        .bind(filter.until.map(|t| t.timestamp_millis()))
        .fetch_all(self.db.pool())
        .await?;
        rows.into_iter()
            .map(|(id, at, actor, action, object, source_ip, outcome)| {
                Ok(AuditRecord {
                    id,
                    at: timestamp(at)?,
                    entry: AuditEntry {
                        actor,
                        action,
                        object,
                        source_ip: source_ip
                            .map(|ip| ip.parse())
                            .transpose()
                            .map_err(|_| Error::Invalid("stored source address".into()))?,
                        outcome,
                    },
                })
            })
            .collect()
    }
}

/// Appends one event inside a transaction.
pub(crate) async fn insert_audit(
    conn: &mut Conn,
    entry: &AuditEntry,
    at: i64,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, object, source_ip, outcome) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(at)
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(&entry.object)
    .bind(entry.source_ip.map(|ip| ip.to_string()))
    .bind(&entry.outcome)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

//! Counts for monitoring, read at scrape time (`kx_web::monitor`): how much is waiting, stuck,
//! locked or about to expire. Each is one aggregate query; none returns a row's identity
//! except a society's number, which names an insurer, not a person.

use crate::db::{from_db, now_ms};
use crate::{Error, Store, Timestamp};

/// The audit action a poison submission's settlement is recorded under (by the Regist job).
pub const POISON_ACTION: &str = "regist.abandoned";

/// Logins locked now, by table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LockedLogins {
    /// 伝送 accounts (SMTP, POP3, the password page).
    pub accounts: u64,
    /// Exchange users (the KX api).
    pub exchange_users: u64,
}

/// How much of a society's storage quota its held files use (the society as recipient).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocietyQuota {
    /// The society's 保険者番号 (insurer number).
    pub number: String,
    /// Sealed bytes held for it.
    pub used: u64,
    /// Its quota.
    pub quota: u64,
}

impl Store {
    /// Whether the database answers a trivial query (readiness).
    pub async fn ping(&self) -> Result<(), Error> {
        sqlx::query("SELECT 1").execute(self.db.pool()).await?;
        Ok(())
    }

    /// Submissions (DataSends and DataDeletes) accepted and not yet settled by the Regist job.
    pub async fn submissions_waiting(&self) -> Result<u64, Error> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM submissions WHERE state = 'accepted'")
                .fetch_one(self.db.pool())
                .await?;
        from_db(n)
    }

    /// Poison submissions settled (audited as [`POISON_ACTION`]) since `since`.
    pub async fn poison_submissions(&self, since: Timestamp) -> Result<u64, Error> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = $1 AND at >= $2")
                .bind(POISON_ACTION)
                .bind(since.timestamp_millis())
                .fetch_one(self.db.pool())
                .await?;
        from_db(n)
    }

    /// Accounts and exchange users locked now: by an operator, or by failed logins until a
    /// time still ahead.
    pub async fn locked_logins(&self) -> Result<LockedLogins, Error> {
        let now = now_ms();
        let mut counts = [0; 2];
        for (count, table) in counts.iter_mut().zip(["accounts", "ex_users"]) {
            let n: i64 = sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM {table} WHERE locked OR locked_until > $1"
            ))
            .bind(now)
            .fetch_one(self.db.pool())
            .await?;
            *count = from_db(n)?;
        }
        let [accounts, exchange_users] = counts;
        Ok(LockedLogins {
            accounts,
            exchange_users,
        })
    }

    /// Current exchange certificates (societies' and offices') whose notAfter is before
    /// `before`, those already expired included.
    pub async fn certificates_expiring(&self, before: Timestamp) -> Result<u64, Error> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM ex_certificates WHERE current AND not_after < $1",
        )
        .bind(before.timestamp_millis())
        .fetch_one(self.db.pool())
        .await?;
        from_db(n)
    }

    /// Every society's quota and the sealed bytes held for it, by number.
    pub async fn society_quotas(&self) -> Result<Vec<SocietyQuota>, Error> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT p.number, CAST(COALESCE(SUM(f.size), 0) AS BIGINT), p.quota_bytes FROM ex_parties p \
             LEFT JOIN ex_files f ON f.recipient_party = p.id AND f.blob IS NOT NULL \
             WHERE p.kind = 'society' GROUP BY p.id, p.number, p.quota_bytes ORDER BY p.number",
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.into_iter()
            .map(|(number, used, quota)| {
                Ok(SocietyQuota {
                    number,
                    used: from_db(used)?,
                    quota: from_db(quota)?,
                })
            })
            .collect()
    }
}

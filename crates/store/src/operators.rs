//! The console's operators (federation operators and society administrators), their second
//! factor and their sessions.
//!
//! Passwords and lock-out are those of every other table of people who log in
//! ([`crate::credentials`]). The TOTP secret is kept as it must be to check a code (RFC 6238
//! needs the shared secret itself); a code is accepted once, by remembering the newest step.
//! Session tokens are stored as their SHA-256 only, and every step of a login (password, new
//! password, enrolment, code) hands out a new token, so a token seen before a step is worth
//! nothing after it.

use std::net::IpAddr;

use chrono::Duration;

use crate::credentials::Credentials;
use crate::db::{Flag, Timestamp, now_ms, or_conflict, timestamp};
use crate::exchange::{PartyId, ms, random_hex, sha256_hex};
use crate::words::stored_words;
use crate::{Error, Login, Store};

/// What an operator may see and do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperatorRole {
    /// A federation operator: every 伝送 organisation and every society, never a file's
    /// contents.
    Federation,
    /// A society administrator: its own society's offices, users and files' metadata only.
    Society(PartyId),
}

/// An operator as stored (never its password hash or second-factor secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operator {
    /// The login ID.
    pub id: String,
    /// What it may reach.
    pub role: OperatorRole,
    /// The password is temporary: it must be changed at the next login.
    pub must_change_password: bool,
    /// A second factor has been enrolled and confirmed.
    pub enrolled: bool,
    /// Failed logins in the current window.
    pub failed_logins: u32,
    /// Locked until unlocked.
    pub locked: bool,
    /// Locked after too many failures, until then.
    pub locked_until: Option<Timestamp>,
    /// When it was added.
    pub created_at: Timestamp,
}

/// How far a console login has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsoleStage {
    /// The password was right but is temporary: a new one must be set first.
    Password,
    /// No second factor yet: one must be enrolled.
    Enrol,
    /// The password was right: the second factor's code is asked.
    Code,
    /// Logged in.
    In,
}

stored_words!(ConsoleStage {
    Password = "password",
    Enrol = "enrol",
    Code = "code",
    In = "in"
});

/// A live console session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleSession {
    /// Whose.
    pub operator: Operator,
    /// How far its login has come.
    pub stage: ConsoleStage,
    /// The token every form of this session must carry.
    pub csrf: String,
    /// At enrolment: the secret shown, until a first code confirms it.
    pub pending_secret: Option<Vec<u8>>,
}

/// A new session's cookie token (only its hash is stored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleToken(pub String);

/// What [`Store::accept_totp_step`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepAcceptance {
    /// The step is newer than any accepted before: accepted now.
    Accepted,
    /// A code of this step or a later one was accepted already (a replay).
    Replayed,
}

type OperatorRow = (
    String,
    String,
    Option<i64>,
    Flag,
    Flag,
    i64,
    Flag,
    Option<i64>,
    i64,
);

const OPERATOR_COLUMNS: &str = "SELECT id, role, society_id, (must_change_password IS TRUE), \
     totp_secret IS NOT NULL, failed_logins, (locked IS TRUE), locked_until, created_at \
     FROM operators";

fn operator(row: OperatorRow) -> Result<Operator, Error> {
    let (id, role, society, must_change_password, enrolled, failed, locked, until, created) = row;
    let role = match (role.as_str(), society) {
        ("federation", None) => OperatorRole::Federation,
        ("society", Some(society)) => OperatorRole::Society(PartyId(society)),
        _ => return Err(Error::Invalid(format!("operator {id}'s role"))),
    };
    Ok(Operator {
        id,
        role,
        must_change_password: must_change_password.0,
        enrolled: enrolled.0,
        failed_logins: u32::try_from(failed).unwrap_or(u32::MAX),
        locked: locked.0,
        locked_until: until.map(timestamp).transpose()?,
        created_at: timestamp(created)?,
    })
}

/// Whether `id` may name an operator: 3 to 32 of `a-z 0-9 . _ -`, starting with a letter or
/// digit, so it never looks like a 伝送 ID or an exchange user's and needs no escaping in logs.
pub fn valid_operator_id(id: &str) -> bool {
    (3..=32).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

impl Store {
    /// Adds an operator with a temporary `password` (to be changed at the first login, when
    /// the second factor is also enrolled). A society administrator's society must exist.
    pub async fn add_operator(
        &self,
        id: &str,
        role: OperatorRole,
        password: &str,
    ) -> Result<(), Error> {
        if !valid_operator_id(id) {
            return Err(Error::Invalid(format!(
                "operator ID {id:?}: 3 to 32 of a-z, 0-9, '.', '_', '-'"
            )));
        }
        let (word, society) = match role {
            OperatorRole::Federation => ("federation", None),
            OperatorRole::Society(party) => ("society", Some(party.0)),
        };
        let hash = self.passwords.hash(password).await?;
        sqlx::query(
            "INSERT INTO operators (id, role, society_id, password_hash, must_change_password, \
             password_changed_at, created_at) VALUES ($1, $2, $3, $4, TRUE, $5, $5)",
        )
        .bind(id)
        .bind(word)
        .bind(society)
        .bind(hash)
        .bind(now_ms())
        .execute(self.db.pool())
        .await
        .map_err(|e| or_conflict(e, || Error::Exists(format!("operator {id}"))))?;
        Ok(())
    }

    /// Every operator, by ID.
    pub async fn operators(&self) -> Result<Vec<Operator>, Error> {
        let rows: Vec<OperatorRow> = sqlx::query_as(&format!("{OPERATOR_COLUMNS} ORDER BY id"))
            .fetch_all(self.db.pool())
            .await?;
        rows.into_iter().map(operator).collect()
    }

    /// One operator.
    pub async fn operator(&self, id: &str) -> Result<Option<Operator>, Error> {
        let row: Option<OperatorRow> = sqlx::query_as(&format!("{OPERATOR_COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(operator).transpose()
    }

    /// Checks an operator's password, as every login is checked (same work for an unknown
    /// ID, failures counted toward the lock-out).
    pub async fn verify_operator_password(&self, id: &str, password: &str) -> Result<Login, Error> {
        self.verify_password_in(Credentials::Operators, id, password)
            .await
    }

    /// Counts a wrong second-factor code as a failed login.
    pub async fn count_operator_failure(&self, id: &str) -> Result<Login, Error> {
        self.count_failure_in(Credentials::Operators, id, now_ms())
            .await
    }

    /// Sets an operator's password; a `temporary` one must be changed at the next login. A
    /// reset (temporary) also ends the operator's sessions. False when unknown.
    pub async fn set_operator_password(
        &self,
        id: &str,
        password: &str,
        temporary: bool,
    ) -> Result<bool, Error> {
        let done = self
            .set_password_in(Credentials::Operators, id, password, temporary)
            .await?;
        if done && temporary {
            self.end_operator_sessions(id).await?;
        }
        Ok(done)
    }

    /// Locks an operator until unlocked (ending its sessions), or unlocks it. False when
    /// unknown.
    pub async fn set_operator_locked(&self, id: &str, locked: bool) -> Result<bool, Error> {
        let done = self
            .set_locked_in(Credentials::Operators, id, locked)
            .await?;
        if done && locked {
            self.end_operator_sessions(id).await?;
        }
        Ok(done)
    }

    /// Forgets an operator's second factor (a lost phone): the next login enrols a new one.
    /// Ends its sessions. False when unknown.
    pub async fn reset_operator_totp(&self, id: &str) -> Result<bool, Error> {
        let done = sqlx::query(
            "UPDATE operators SET totp_secret = NULL, totp_last_step = 0 WHERE id = $1",
        )
        .bind(id)
        .execute(self.db.pool())
        .await?;
        self.end_operator_sessions(id).await?;
        Ok(done.rows_affected() > 0)
    }

    /// The operator's confirmed second-factor secret.
    pub async fn operator_totp_secret(&self, id: &str) -> Result<Option<Vec<u8>>, Error> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT totp_secret FROM operators WHERE id = $1")
                .bind(id)
                .fetch_optional(self.db.pool())
                .await?;
        row.and_then(|(secret,)| secret)
            .map(|hex| unhex(&hex))
            .transpose()
    }

    /// Records that a code of `step` was accepted, unless one of this step or a later one was
    /// (one statement, so two requests racing with the same code cannot both pass).
    pub async fn accept_totp_step(&self, id: &str, step: u64) -> Result<StepAcceptance, Error> {
        let step = i64::try_from(step).map_err(|_| Error::Invalid("TOTP step".into()))?;
        let done = sqlx::query(
            "UPDATE operators SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2",
        )
        .bind(id)
        .bind(step)
        .execute(self.db.pool())
        .await?;
        Ok(if done.rows_affected() > 0 {
            StepAcceptance::Accepted
        } else {
            StepAcceptance::Replayed
        })
    }

    /// Makes `secret` the operator's second factor, confirmed by a code of `step`.
    pub async fn confirm_operator_totp(
        &self,
        id: &str,
        secret: &[u8],
        step: u64,
    ) -> Result<(), Error> {
        let step = i64::try_from(step).map_err(|_| Error::Invalid("TOTP step".into()))?;
        sqlx::query("UPDATE operators SET totp_secret = $2, totp_last_step = $3 WHERE id = $1")
            .bind(id)
            .bind(crate::blob::hex(secret))
            .bind(step)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Starts a session of `operator` at `stage` from `ip`; `pending_secret` is the secret
    /// an enrolment shows. Returns the cookie's token.
    pub async fn create_console_session(
        &self,
        operator: &str,
        stage: ConsoleStage,
        pending_secret: Option<&[u8]>,
        ip: IpAddr,
        now: Timestamp,
    ) -> Result<ConsoleToken, Error> {
        let token = random_hex(32);
        sqlx::query(
            "INSERT INTO console_sessions (token_hash, operator_id, stage, csrf, pending_secret, \
             source_ip, created_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(sha256_hex(token.as_bytes()))
        .bind(operator)
        .bind(stage.as_str())
        .bind(random_hex(32))
        .bind(pending_secret.map(crate::blob::hex))
        .bind(ip.to_string())
        .bind(now.timestamp_millis())
        .execute(self.db.pool())
        .await?;
        Ok(ConsoleToken(token))
    }

    /// The session of `token` presented from `ip`, if it is live: used within `idle`, from
    /// the address it was started from, by an operator neither locked nor removed. Using it
    /// restarts its idle time.
    pub async fn console_session(
        &self,
        token: &str,
        ip: IpAddr,
        now: Timestamp,
        idle: Duration,
    ) -> Result<Option<ConsoleSession>, Error> {
        let hash = sha256_hex(token.as_bytes());
        type Row = (String, String, String, Option<String>, String, i64);
        let row: Option<Row> = sqlx::query_as(
            "SELECT operator_id, stage, csrf, pending_secret, source_ip, last_used_at \
             FROM console_sessions WHERE token_hash = $1",
        )
        .bind(&hash)
        .fetch_optional(self.db.pool())
        .await?;
        let Some((id, stage, csrf, pending, source, last_used)) = row else {
            return Ok(None);
        };
        let now_ms = now.timestamp_millis();
        if source != ip.to_string() || now_ms >= last_used + ms(idle) {
            return Ok(None);
        }
        let Some(operator) = self.operator(&id).await? else {
            return Ok(None);
        };
        let locked_out = operator.locked_until.is_some_and(|until| until > now);
        if operator.locked || locked_out {
            return Ok(None);
        }
        // As for API sessions: a write per page would make every view a durable commit.
        if now_ms - last_used >= ms(crate::exchange::TOUCH_EVERY) {
            sqlx::query("UPDATE console_sessions SET last_used_at = $2 WHERE token_hash = $1")
                .bind(&hash)
                .bind(now_ms)
                .execute(self.db.pool())
                .await?;
        }
        Ok(Some(ConsoleSession {
            operator,
            stage: stage.parse()?,
            csrf,
            pending_secret: pending.map(|hex| unhex(&hex)).transpose()?,
        }))
    }

    /// Ends a session (logout, or a step of the login that hands out a new token).
    pub async fn end_console_session(&self, token: &str) -> Result<(), Error> {
        sqlx::query("DELETE FROM console_sessions WHERE token_hash = $1")
            .bind(sha256_hex(token.as_bytes()))
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Ends every session of an operator.
    pub async fn end_operator_sessions(&self, id: &str) -> Result<(), Error> {
        sqlx::query("DELETE FROM console_sessions WHERE operator_id = $1")
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }
}

/// Bytes from lower-case hex as stored.
fn unhex(hex: &str) -> Result<Vec<u8>, Error> {
    let invalid = || Error::Invalid("stored hex".into());
    if !hex.len().is_multiple_of(2) {
        return Err(invalid());
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(hex.get(i..i + 2).ok_or_else(invalid)?, 16).map_err(|_| invalid())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&crate::testing::config(dir.path()))
            .await
            .unwrap();
        (dir, store)
    }

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[tokio::test]
    async fn an_operator_logs_in_with_its_password_and_a_code_once() {
        let (_dir, store) = store().await;
        store
            .add_operator("ops.tanaka", OperatorRole::Federation, "Temp-Pass-123")
            .await
            .unwrap();
        assert!(
            store
                .add_operator("Bad ID", OperatorRole::Federation, "x")
                .await
                .is_err()
        );
        assert!(matches!(
            store
                .add_operator("ops.tanaka", OperatorRole::Federation, "x")
                .await,
            Err(Error::Exists(_))
        ));
        assert_eq!(
            store
                .verify_operator_password("ops.tanaka", "Temp-Pass-123")
                .await
                .unwrap(),
            Login::Ok {
                must_change_password: true
            }
        );
        assert_eq!(
            store
                .verify_operator_password("ops.tanaka", "wrong")
                .await
                .unwrap(),
            Login::Wrong
        );
        assert_eq!(
            store
                .verify_operator_password("nobody", "wrong")
                .await
                .unwrap(),
            Login::Unknown
        );
        store
            .confirm_operator_totp("ops.tanaka", b"0123456789abcdefghij", 100)
            .await
            .unwrap();
        assert_eq!(
            store
                .operator_totp_secret("ops.tanaka")
                .await
                .unwrap()
                .as_deref(),
            Some(&b"0123456789abcdefghij"[..])
        );
        assert!(
            store
                .operator("ops.tanaka")
                .await
                .unwrap()
                .unwrap()
                .enrolled
        );
        assert_eq!(
            store.accept_totp_step("ops.tanaka", 100).await.unwrap(),
            StepAcceptance::Replayed
        );
        assert_eq!(
            store.accept_totp_step("ops.tanaka", 101).await.unwrap(),
            StepAcceptance::Accepted
        );
        assert_eq!(
            store.accept_totp_step("ops.tanaka", 101).await.unwrap(),
            StepAcceptance::Replayed
        );
        assert!(store.reset_operator_totp("ops.tanaka").await.unwrap());
        assert!(
            !store
                .operator("ops.tanaka")
                .await
                .unwrap()
                .unwrap()
                .enrolled
        );
    }

    #[tokio::test]
    async fn a_session_lives_while_used_from_its_address_by_an_unlocked_operator() {
        let (_dir, store) = store().await;
        store
            .add_operator("ops.sato", OperatorRole::Federation, "Temp-Pass-123")
            .await
            .unwrap();
        let now = chrono::Utc::now();
        let idle = Duration::minutes(15);
        let token = store
            .create_console_session("ops.sato", ConsoleStage::Enrol, Some(b"secret"), IP, now)
            .await
            .unwrap();
        let session = store
            .console_session(&token.0, IP, now, idle)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(session.stage, ConsoleStage::Enrol);
        assert_eq!(session.pending_secret.as_deref(), Some(&b"secret"[..]));
        assert_eq!(session.csrf.len(), 64);
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(
            store
                .console_session(&token.0, other, now, idle)
                .await
                .unwrap()
                .is_none()
        );
        let later = now + Duration::minutes(14);
        assert!(
            store
                .console_session(&token.0, IP, later, idle)
                .await
                .unwrap()
                .is_some()
        );
        let idle_too_long = later + Duration::minutes(15);
        assert!(
            store
                .console_session(&token.0, IP, idle_too_long, idle)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .console_session("forged", IP, later, idle)
                .await
                .unwrap()
                .is_none()
        );
        assert!(store.set_operator_locked("ops.sato", true).await.unwrap());
        assert!(
            store
                .console_session(&token.0, IP, later, idle)
                .await
                .unwrap()
                .is_none()
        );
        store.set_operator_locked("ops.sato", false).await.unwrap();
        let token = store
            .create_console_session("ops.sato", ConsoleStage::In, None, IP, now)
            .await
            .unwrap();
        store.end_console_session(&token.0).await.unwrap();
        assert!(
            store
                .console_session(&token.0, IP, now, idle)
                .await
                .unwrap()
                .is_none()
        );
    }
}

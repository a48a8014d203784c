//! API sessions: bearer tokens stored hashed, expiring when idle or old, bound to the login's
//! source address and client certificate (spec §1.3: session-hijack protection).

use std::net::IpAddr;

use chrono::Duration;

use super::{PartyId, ms, random_hex, sha256_hex};
use crate::db::{Flag, Timestamp, timestamp};
use crate::{Error, Store};

/// How stale `last_used_at` may get before a check writes it: the idle limit is minutes long,
/// and a write per request would make every API call a durable commit.
pub(crate) const TOUCH_EVERY: Duration = Duration::seconds(30);

/// How long sessions live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionLimits {
    /// Unused for this long, a session ends.
    pub idle: Duration,
    /// This long after login, a session ends however busy.
    pub absolute: Duration,
}

/// A valid session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The user's login ID.
    pub user: String,
    /// The user's party.
    pub party: PartyId,
    /// When the user logged in.
    pub created_at: Timestamp,
    /// The user's password is (now) a temporary one: read with the session, not copied at
    /// login, so a reset restricts open sessions at once and a change frees this one.
    pub must_change_password: bool,
}

/// The answer to [`Store::check_session`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionCheck {
    /// The token is valid from this address with this certificate; its idle time restarts.
    Valid(Session),
    /// Unknown, ended, idle too long or too old.
    Expired,
    /// Presented from another source address than the login's.
    Address,
    /// Presented with another client certificate than the login's.
    Certificate,
}

impl Store {
    /// Starts a session for `user` of `party` logged in from `ip` with the certificate
    /// `fingerprint`; returns the bearer token (only its hash is kept).
    pub async fn create_session(
        &self,
        user: &str,
        party: PartyId,
        ip: IpAddr,
        fingerprint: &str,
        now: Timestamp,
        limits: SessionLimits,
    ) -> Result<String, Error> {
        let token = random_hex(32);
        sqlx::query(
            "INSERT INTO ex_sessions (token_hash, user_id, party_id, source_ip, fingerprint, \
             created_at, last_used_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
        )
        .bind(sha256_hex(token.as_bytes()))
        .bind(user)
        .bind(party.0)
        .bind(ip.to_string())
        .bind(fingerprint)
        .bind(now.timestamp_millis())
        .bind(now.timestamp_millis() + ms(limits.absolute))
        .execute(self.db.pool())
        .await?;
        Ok(token)
    }

    /// Checks a bearer token presented from `ip` with the certificate `fingerprint`.
    pub async fn check_session(
        &self,
        token: &str,
        ip: IpAddr,
        fingerprint: &str,
        now: Timestamp,
        limits: SessionLimits,
    ) -> Result<SessionCheck, Error> {
        let hash = sha256_hex(token.as_bytes());
        type Row = (String, i64, String, String, i64, i64, i64, Flag);
        let row: Option<Row> = sqlx::query_as(
            "SELECT s.user_id, s.party_id, s.source_ip, s.fingerprint, s.created_at, \
             s.last_used_at, s.expires_at, (u.must_change_password IS TRUE) \
             FROM ex_sessions s JOIN ex_users u ON u.id = s.user_id WHERE s.token_hash = $1",
        )
        .bind(&hash)
        .fetch_optional(self.db.pool())
        .await?;
        let Some((
            user,
            party,
            source_ip,
            bound,
            created_at,
            last_used_at,
            expires_at,
            Flag(must_change_password),
        )) = row
        else {
            return Ok(SessionCheck::Expired);
        };
        let now_ms = now.timestamp_millis();
        if now_ms >= expires_at || now_ms >= last_used_at + ms(limits.idle) {
            return Ok(SessionCheck::Expired);
        }
        if source_ip != ip.to_string() {
            return Ok(SessionCheck::Address);
        }
        if bound != fingerprint {
            return Ok(SessionCheck::Certificate);
        }
        if now_ms - last_used_at >= ms(TOUCH_EVERY) {
            sqlx::query("UPDATE ex_sessions SET last_used_at = $2 WHERE token_hash = $1")
                .bind(&hash)
                .bind(now_ms)
                .execute(self.db.pool())
                .await?;
        }
        Ok(SessionCheck::Valid(Session {
            user,
            party: PartyId(party),
            created_at: timestamp(created_at)?,
            must_change_password,
        }))
    }

    /// Ends a session (logout). False when there was none.
    pub async fn end_session(&self, token: &str) -> Result<bool, Error> {
        let done = sqlx::query("DELETE FROM ex_sessions WHERE token_hash = $1")
            .bind(sha256_hex(token.as_bytes()))
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Ends every session of a user except `keep` (after a password change elsewhere
    /// sessions opened with the old password should not survive).
    pub async fn end_other_sessions(&self, user: &str, keep: &str) -> Result<(), Error> {
        sqlx::query("DELETE FROM ex_sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user)
            .bind(sha256_hex(keep.as_bytes()))
            .execute(self.db.pool())
            .await?;
        Ok(())
    }
}

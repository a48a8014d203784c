//! Password checks and lock-out, shared by every table of people who log in: the 伝送
//! `accounts`, the exchange's `ex_users` and the console's `operators`. The tables have the same password columns
//! (`id`, `password_hash`, `must_change_password`, `failed_logins`, `failures_since`, `locked`,
//! `locked_until`, `password_changed_at`), so one implementation serves them all and the rules
//! cannot drift.

use std::time::Duration;

use crate::accounts::Login;
use crate::db::{Flag, now_ms};
use crate::{Error, Store};

/// A table whose rows log in with a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Credentials {
    /// 伝送 accounts (SMTP, POP3, the password page).
    Accounts,
    /// Exchange users (the KX api).
    ExchangeUsers,
    /// Console operators.
    Operators,
}

impl Credentials {
    /// The table's name; a fixed word, never user input, so it may be formatted into SQL.
    fn table(self) -> &'static str {
        match self {
            Credentials::Accounts => "accounts",
            Credentials::ExchangeUsers => "ex_users",
            Credentials::Operators => "operators",
        }
    }
}

impl Store {
    /// Sets the password of `id` in `table` (argon2id hash only); a `temporary` one must be
    /// changed by its user. Clears failed logins; does not unlock. False when `id` is unknown.
    pub(crate) async fn set_password_in(
        &self,
        table: Credentials,
        id: &str,
        password: &str,
        temporary: bool,
    ) -> Result<bool, Error> {
        let hash = self.passwords.hash(password).await?;
        let done = sqlx::query(&format!(
            "UPDATE {} SET password_hash = $2, must_change_password = $3, \
             failed_logins = 0, failures_since = NULL, password_changed_at = $4 WHERE id = $1",
            table.table()
        ))
        .bind(id)
        .bind(hash)
        .bind(temporary)
        .bind(now_ms())
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Checks a login against `table`: an unknown login costs the same hashing work as a known
    /// one; a wrong password counts a failure, and the configured number within the window
    /// locks the account for a while; a right one resets the count. Nothing is counted while
    /// locked, nor when the password pool is too busy to check.
    pub(crate) async fn verify_password_in(
        &self,
        table: Credentials,
        login: &str,
        password: &str,
    ) -> Result<Login, Error> {
        let name = table.table();
        let row: Option<(Option<String>, Flag, Option<i64>, Flag)> = sqlx::query_as(&format!(
            "SELECT password_hash, (locked IS TRUE), locked_until, (must_change_password IS TRUE) \
             FROM {name} \
             WHERE id = $1"
        ))
        .bind(login)
        .fetch_optional(self.db.pool())
        .await?;
        let Some((hash, locked, locked_until, must_change_password)) = row else {
            return self.decoy_check(password).await;
        };
        let right = match self.passwords.verify(password, hash).await {
            Err(Error::Busy) => return Ok(Login::Busy),
            checked => checked?,
        };
        let now = now_ms();
        if locked.0 || locked_until.is_some_and(|until| until > now) {
            return Ok(Login::Locked);
        }
        if right {
            sqlx::query(&format!(
                "UPDATE {name} SET failed_logins = 0, failures_since = NULL, locked_until = NULL \
                 WHERE id = $1"
            ))
            .bind(login)
            .execute(self.db.pool())
            .await?;
            return Ok(Login::Ok {
                must_change_password: must_change_password.0,
            });
        }
        self.count_failure_in(table, login, now).await
    }

    /// Counts a failed login of `login` in `table` at `now` (a wrong password, or a wrong
    /// second factor after a right one): [`Login::Wrong`], [`Login::LockedOut`] when this one
    /// reached the limit, [`Login::Locked`] when it was locked already.
    pub(crate) async fn count_failure_in(
        &self,
        table: Credentials,
        login: &str,
        now: i64,
    ) -> Result<Login, Error> {
        let table = table.table();
        // One statement, so concurrent failures are all counted. A failure outside the window
        // of the first one starts a new window; the one that reaches the limit locks and starts
        // the count afresh, so after the lock the full number is needed again.
        let fresh = "(failures_since IS NULL OR failures_since <= $2 - $3)";
        let count = format!("(CASE WHEN {fresh} THEN 1 ELSE failed_logins + 1 END)");
        let reached = format!("({count} >= $5)");
        let until: Option<(Option<i64>,)> = sqlx::query_as(&format!(
            "UPDATE {table} SET \
             failed_logins = CASE WHEN {reached} THEN 0 ELSE {count} END, \
             failures_since = CASE WHEN {reached} THEN NULL WHEN {fresh} THEN $2 \
                 ELSE failures_since END, \
             locked_until = CASE WHEN {reached} THEN $2 + $4 ELSE locked_until END \
             WHERE id = $1 AND NOT locked AND (locked_until IS NULL OR locked_until <= $2) \
             RETURNING locked_until"
        ))
        .bind(login)
        .bind(now)
        .bind(millis(self.lockout.window))
        .bind(millis(self.lockout.duration))
        .bind(i64::from(self.lockout.after))
        .fetch_optional(self.db.pool())
        .await?;
        Ok(match until {
            // Locked by a concurrent failure between the check and the count.
            None => Login::Locked,
            Some((Some(until),)) if until > now => Login::LockedOut,
            Some(_) => Login::Wrong,
        })
    }

    /// The work of checking a login that has no row: a hash against the decoy, then
    /// [`Login::Unknown`] (or [`Login::Busy`], as a known one would be).
    pub(crate) async fn decoy_check(&self, password: &str) -> Result<Login, Error> {
        match self.passwords.verify(password, None).await {
            Ok(_) => Ok(Login::Unknown),
            Err(Error::Busy) => Ok(Login::Busy),
            Err(e) => Err(e),
        }
    }

    /// Locks `id` in `table` until unlocked, or unlocks it (from either lock), and clears its
    /// failed logins. False when unknown.
    pub(crate) async fn set_locked_in(
        &self,
        table: Credentials,
        id: &str,
        locked: bool,
    ) -> Result<bool, Error> {
        let done = sqlx::query(&format!(
            "UPDATE {} SET locked = $2, failed_logins = 0, failures_since = NULL, \
             locked_until = NULL WHERE id = $1",
            table.table()
        ))
        .bind(id)
        .bind(locked)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

/// A new temporary password, as operators hand out: 14 characters from an alphabet without
/// look-alikes (no 0/O, 1/l/I), about 80 bits, from the system's randomness.
pub fn temporary_password() -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore as _};
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 14];
    OsRng.fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// A duration as stored: milliseconds, at most half the range, so that adding it to now cannot
/// overflow.
fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).map_or(i64::MAX / 2, |ms| ms.min(i64::MAX / 2))
}

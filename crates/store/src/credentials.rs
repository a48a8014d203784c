//! Password checks and lock-out, shared by every table of people who log in: the 伝送
//! `accounts` and the exchange's `ex_users`. Both tables have the same password columns
//! (`id`, `password_hash`, `must_change_password`, `failed_logins`, `locked`,
//! `password_changed_at`), so one implementation serves both and the rules cannot drift.

use crate::accounts::Login;
use crate::db::now_ms;
use crate::{Error, Store};

/// A table whose rows log in with a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Credentials {
    /// 伝送 accounts (SMTP, POP3, the password page).
    Accounts,
    /// Exchange users (the KX api).
    ExchangeUsers,
}

impl Credentials {
    /// The table's name; a fixed word, never user input, so it may be formatted into SQL.
    fn table(self) -> &'static str {
        match self {
            Credentials::Accounts => "accounts",
            Credentials::ExchangeUsers => "ex_users",
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
             failed_logins = 0, password_changed_at = $4 WHERE id = $1",
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
    /// one, a wrong password counts a failure and locks after the configured number in a row,
    /// a right one resets the count.
    pub(crate) async fn verify_password_in(
        &self,
        table: Credentials,
        login: &str,
        password: &str,
    ) -> Result<Login, Error> {
        let table = table.table();
        let row: Option<(Option<String>, bool, bool)> = sqlx::query_as(&format!(
            "SELECT password_hash, locked, must_change_password FROM {table} WHERE id = $1"
        ))
        .bind(login)
        .fetch_optional(self.db.pool())
        .await?;
        let Some((hash, locked, must_change_password)) = row else {
            self.passwords.verify(password, None).await?;
            return Ok(Login::Unknown);
        };
        let right = self.passwords.verify(password, hash).await?;
        if locked {
            return Ok(Login::Locked);
        }
        if right {
            sqlx::query(&format!(
                "UPDATE {table} SET failed_logins = 0 WHERE id = $1"
            ))
            .bind(login)
            .execute(self.db.pool())
            .await?;
            return Ok(Login::Ok {
                must_change_password,
            });
        }
        // One statement, so concurrent failures are all counted.
        sqlx::query(&format!(
            "UPDATE {table} SET failed_logins = failed_logins + 1, \
             locked = (locked OR failed_logins + 1 >= $2) WHERE id = $1"
        ))
        .bind(login)
        .bind(i64::from(self.lockout_after))
        .execute(self.db.pool())
        .await?;
        Ok(Login::Wrong)
    }

    /// Locks or unlocks `id` in `table` and clears its failed logins. False when unknown.
    pub(crate) async fn set_locked_in(
        &self,
        table: Credentials,
        id: &str,
        locked: bool,
    ) -> Result<bool, Error> {
        let done = sqlx::query(&format!(
            "UPDATE {} SET locked = $2, failed_logins = 0 WHERE id = $1",
            table.table()
        ))
        .bind(id)
        .bind(locked)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

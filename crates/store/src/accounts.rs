//! Accounts (ID): password hashes, lock-out, temporary passwords.

use kx_denso::{AccountId, OrgCode};

use crate::credentials::Credentials;
use crate::db::{Timestamp, now_ms, or_conflict, timestamp};
use crate::orgs::invalid;
use crate::{Error, Store};

/// An account as stored (never its password hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Its ID, also its mail local part.
    pub id: AccountId,
    /// Whether a password has been set; without one nobody can log in.
    pub has_password: bool,
    /// The password is temporary: the user must change it.
    pub must_change_password: bool,
    /// Consecutive failed logins since the last success or unlock.
    pub failed_logins: u32,
    /// Locked accounts cannot log in until unlocked.
    pub locked: bool,
    /// When it was added.
    pub created_at: Timestamp,
}

/// The answer to a login attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Login {
    /// The password is right.
    Ok {
        /// The password is temporary: the user must change it.
        must_change_password: bool,
    },
    /// The password is wrong (or none is set); the failure was counted.
    Wrong,
    /// The account is locked, whatever the password.
    Locked,
    /// No such account. Took as long as a known one; callers should answer as for `Wrong`.
    Unknown,
}

type AccountRow = (String, bool, bool, i64, bool, i64);

const ACCOUNT_COLUMNS: &str = "SELECT id, password_hash IS NOT NULL, must_change_password, \
     failed_logins, locked, created_at FROM accounts";

impl Store {
    /// Adds an account and its (empty) mailbox. Its organisation must exist.
    pub async fn add_account(&self, id: &AccountId) -> Result<(), Error> {
        let code = id.org().org_code();
        let mut tx = self.db.write().await?;
        let org: Option<String> =
            sqlx::query_scalar("SELECT code FROM organisations WHERE code = $1")
                .bind(code.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        if org.is_none() {
            return Err(Error::NotFound(format!("organisation {code}")));
        }
        sqlx::query("INSERT INTO accounts (id, org_code, created_at) VALUES ($1, $2, $3)")
            .bind(id.to_string())
            .bind(code.as_str())
            .bind(now_ms())
            .execute(&mut *tx)
            .await
            .map_err(|e| or_conflict(e, || Error::Exists(format!("account {id}"))))?;
        sqlx::query("INSERT INTO mailboxes (account_id) VALUES ($1)")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The account with this ID.
    pub async fn account(&self, id: &AccountId) -> Result<Option<Account>, Error> {
        let row: Option<AccountRow> = sqlx::query_as(&format!("{ACCOUNT_COLUMNS} WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.db.pool())
            .await?;
        row.map(account).transpose()
    }

    /// The accounts of one organisation, or of all, ordered by ID.
    pub async fn accounts(&self, org: Option<&OrgCode>) -> Result<Vec<Account>, Error> {
        let rows: Vec<AccountRow> = match org {
            Some(code) => {
                sqlx::query_as(&format!(
                    "{ACCOUNT_COLUMNS} WHERE org_code = $1 ORDER BY id"
                ))
                .bind(code.as_str())
                .fetch_all(self.db.pool())
                .await?
            }
            None => {
                sqlx::query_as(&format!("{ACCOUNT_COLUMNS} ORDER BY id"))
                    .fetch_all(self.db.pool())
                    .await?
            }
        };
        rows.into_iter().map(account).collect()
    }

    /// Sets the password (stored as an argon2id hash only). A `temporary` one, as handed out
    /// by the federation, must be changed by the user. Clears failed logins; does not unlock.
    pub async fn set_password(
        &self,
        id: &AccountId,
        password: &str,
        temporary: bool,
    ) -> Result<(), Error> {
        let done = self
            .set_password_in(Credentials::Accounts, &id.to_string(), password, temporary)
            .await?;
        found(done, id)
    }

    /// Checks a login. `login` is the ID as the client typed it; anything that is not a known
    /// account is [`Login::Unknown`] after the same hashing work as a known one, so the answer
    /// time does not tell whether an account exists. A wrong password counts a failure and
    /// locks the account after the configured number in a row; a right one resets the count.
    pub async fn verify_password(&self, login: &str, password: &str) -> Result<Login, Error> {
        self.verify_password_in(Credentials::Accounts, login, password)
            .await
    }

    /// Locks an account: no login succeeds until [`Store::unlock`].
    pub async fn lock(&self, id: &AccountId) -> Result<(), Error> {
        let done = self
            .set_locked_in(Credentials::Accounts, &id.to_string(), true)
            .await?;
        found(done, id)
    }

    /// Unlocks an account and clears its failed logins.
    pub async fn unlock(&self, id: &AccountId) -> Result<(), Error> {
        let done = self
            .set_locked_in(Credentials::Accounts, &id.to_string(), false)
            .await?;
        found(done, id)
    }
}

fn found(done: bool, id: &AccountId) -> Result<(), Error> {
    if !done {
        Err(Error::NotFound(format!("account {id}")))
    } else {
        Ok(())
    }
}

fn account(
    (id, has_password, must_change_password, failed_logins, locked, created_at): AccountRow,
) -> Result<Account, Error> {
    Ok(Account {
        id: id.parse().map_err(invalid)?,
        has_password,
        must_change_password,
        failed_logins: u32::try_from(failed_logins)
            .map_err(|_| Error::Invalid(format!("failed logins {failed_logins}")))?,
        locked,
        created_at: timestamp(created_at)?,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use kx_denso::{OrgKind, OrgNumber};

    use crate::{PasswordParams, Store, StoreConfig};

    use super::*;

    #[tokio::test]
    async fn every_login_attempt_runs_one_hash_whether_the_account_exists_or_not() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = StoreConfig::in_dir(dir.path());
        config.password = PasswordParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        config.lockout_after = 1;
        let store = Store::open(&config).await.unwrap();
        let org = OrgNumber::new(OrgKind::Office, "1312345678").unwrap();
        store.add_org(&org, "office", &[]).await.unwrap();
        let with_password = org.account('0').unwrap();
        let without_password = org.account('1').unwrap();
        for id in [&with_password, &without_password] {
            store.add_account(id).await.unwrap();
        }
        store
            .set_password(&with_password, "s3cret", false)
            .await
            .unwrap();

        let runs = || store.passwords.runs.load(Ordering::Relaxed);
        for (login, expected) in [
            ("J13123456789", Login::Unknown),
            ("not an id at all", Login::Unknown),
            ("J13123456781", Login::Wrong),
            ("J13123456780", Login::Wrong),
            ("J13123456780", Login::Locked),
        ] {
            let before = runs();
            let login_result = store.verify_password(login, "guess").await.unwrap();
            assert_eq!(login_result, expected, "{login}");
            assert_eq!(runs(), before + 1, "{login} ran exactly one hash");
        }
    }
}

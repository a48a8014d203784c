//! Accounts (ID): password hashes, lock-out, temporary passwords.

use kx_denso::{AccountId, OrgCode};

use crate::credentials::Credentials;
use crate::db::{Flag, Timestamp, now_ms, or_conflict, timestamp};
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
    /// Failed logins in the current window (since the last success, unlock or lock).
    pub failed_logins: u32,
    /// Locked by an operator: no login until unlocked.
    pub locked: bool,
    /// Locked after too many failed logins, until then (a time past means not locked).
    pub locked_until: Option<Timestamp>,
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
    /// The password is wrong and this failure reached the limit: the account is now locked
    /// for the configured time. Callers answer as for `Wrong` and audit the lock.
    LockedOut,
    /// The account is locked, whatever the password.
    Locked,
    /// No such account. Took as long as a known one; callers should answer as for `Wrong`.
    Unknown,
    /// Nothing was checked: every password check is busy and their queue is full. Not a
    /// failure (nothing is counted); the client should try again later.
    Busy,
}

type AccountRow = (String, Flag, Flag, i64, Flag, Option<i64>, i64);

const ACCOUNT_COLUMNS: &str = "SELECT id, password_hash IS NOT NULL, (must_change_password IS TRUE), \
     failed_logins, (locked IS TRUE), locked_until, created_at FROM accounts";

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
    /// [`Error::Busy`] when the password pool is too busy to hash it now.
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
    /// time does not tell whether an account exists. A wrong password counts a failure; the
    /// configured number within the window locks the account for the configured time
    /// ([`Login::LockedOut`]); a right one resets the count.
    pub async fn verify_password(&self, login: &str, password: &str) -> Result<Login, Error> {
        self.verify_password_in(Credentials::Accounts, login, password)
            .await
    }

    /// Locks an account (an operator's decision): no login succeeds until [`Store::unlock`],
    /// however long it waits.
    pub async fn lock(&self, id: &AccountId) -> Result<(), Error> {
        let done = self
            .set_locked_in(Credentials::Accounts, &id.to_string(), true)
            .await?;
        found(done, id)
    }

    /// Unlocks an account, from an operator's lock or a temporary one, and clears its failed
    /// logins.
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
    (id, has_password, must_change_password, failed_logins, locked, locked_until, created_at): AccountRow,
) -> Result<Account, Error> {
    Ok(Account {
        id: id.parse().map_err(invalid)?,
        has_password: has_password.0,
        must_change_password: must_change_password.0,
        failed_logins: u32::try_from(failed_logins)
            .map_err(|_| Error::Invalid(format!("failed logins {failed_logins}")))?,
        locked: locked.0,
        locked_until: locked_until.map(timestamp).transpose()?,
        created_at: timestamp(created_at)?,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use kx_denso::{OrgKind, OrgNumber};

    use std::time::Duration;

    use crate::{Lockout, PasswordParams, Store, StoreConfig};

    use super::*;

    /// A store with cheap hashes and `lockout`, and the office 1312345678.
    async fn store_with(dir: &std::path::Path, lockout: Lockout) -> (Store, OrgNumber) {
        let mut config = StoreConfig::in_dir(dir);
        config.password = PasswordParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        config.lockout = lockout;
        let store = Store::open(&config).await.unwrap();
        let org = OrgNumber::new(OrgKind::Office, "1312345678").unwrap();
        store.add_org(&org, "office", &[]).await.unwrap();
        (store, org)
    }

    #[tokio::test]
    async fn every_login_attempt_runs_one_hash_whether_the_account_exists_or_not() {
        let dir = tempfile::tempdir().unwrap();
        let lockout = Lockout {
            after: 2,
            ..Lockout::default()
        };
        let (store, org) = store_with(dir.path(), lockout).await;
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
            ("J13123456780", Login::LockedOut),
            ("J13123456780", Login::Locked),
        ] {
            let before = runs();
            let login_result = store.verify_password(login, "guess").await.unwrap();
            assert_eq!(login_result, expected, "{login}");
            assert_eq!(runs(), before + 1, "{login} ran exactly one hash");
        }
    }

    #[tokio::test]
    async fn a_lock_lapses_and_failures_count_only_within_their_window() {
        let dir = tempfile::tempdir().unwrap();
        let lockout = Lockout {
            after: 2,
            window: Duration::from_secs(3600),
            duration: Duration::from_millis(300),
        };
        let (store, org) = store_with(dir.path(), lockout).await;
        let id = org.account('0').unwrap();
        store.add_account(&id).await.unwrap();
        store.set_password(&id, "s3cret", false).await.unwrap();
        let login = id.to_string();
        let attempt = |password: &'static str| store.verify_password(&login, password);

        assert_eq!(attempt("guess").await.unwrap(), Login::Wrong);
        assert_eq!(attempt("guess").await.unwrap(), Login::LockedOut);
        let account = store.account(&id).await.unwrap().unwrap();
        assert!(
            !account.locked && account.locked_until.is_some(),
            "{account:?}"
        );
        assert_eq!(attempt("s3cret").await.unwrap(), Login::Locked);
        assert_eq!(
            attempt("guess").await.unwrap(),
            Login::Locked,
            "not counted"
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(
            attempt("guess").await.unwrap(),
            Login::Wrong,
            "a fresh count"
        );
        let ok = Login::Ok {
            must_change_password: false,
        };
        assert_eq!(attempt("s3cret").await.unwrap(), ok);
        assert_eq!(
            attempt("guess").await.unwrap(),
            Login::Wrong,
            "reset by success"
        );

        store.lock(&id).await.unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(
            attempt("s3cret").await.unwrap(),
            Login::Locked,
            "an operator's lock"
        );
        store.unlock(&id).await.unwrap();
        assert_eq!(attempt("s3cret").await.unwrap(), ok);

        let dir = tempfile::tempdir().unwrap();
        let (store, org) = store_with(
            dir.path(),
            Lockout {
                window: Duration::ZERO,
                ..lockout
            },
        )
        .await;
        let id = org.account('0').unwrap();
        store.add_account(&id).await.unwrap();
        for _ in 0..3 {
            let outcome = store.verify_password(&id.to_string(), "guess").await;
            assert_eq!(
                outcome.unwrap(),
                Login::Wrong,
                "each failure its own window"
            );
        }
    }
}

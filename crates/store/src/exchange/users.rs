//! Exchange users (login ID, party, 利用者名, 利用者コード, mail, password) and their
//! one-time codes.

use argon2::password_hash::rand_core::{OsRng, RngCore as _};
use chrono::Duration;

use super::{PartyId, ms, sha256_hex};
use crate::accounts::Login;
use crate::credentials::Credentials;
use crate::db::{Conn, Flag, Timestamp, or_conflict, timestamp};
use crate::words::stored_words;
use crate::{Error, Store};

/// A user as stored (never the password hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExchangeUser {
    /// The login ID.
    pub id: String,
    /// The party it acts for.
    pub party: PartyId,
    /// 利用者名 (full-width).
    pub user_name: String,
    /// 利用者コード.
    pub user_code: String,
    /// Where notification mails go; none = no mails.
    pub mail: Option<String>,
    /// Whether a password has been set.
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

/// New profile values for [`Store::update_profile`] (already checked by the caller).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileUpdate {
    /// 利用者名.
    pub user_name: String,
    /// 利用者コード.
    pub user_code: String,
    /// Mail address; empty = none.
    pub mail: String,
}

/// What a one-time code is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodeKind {
    /// A society's first user sets up the society (CA and certificate).
    Setup,
    /// An office user enrols the office app (certificate request).
    Enrolment,
}

stored_words!(CodeKind {
    Setup = "setup",
    Enrolment = "enrolment"
});

type UserRow = (
    String,
    i64,
    String,
    String,
    Option<String>,
    Flag,
    Flag,
    i64,
    Flag,
    Option<i64>,
    i64,
);

const USER_COLUMNS: &str = "SELECT id, party_id, user_name, user_code, mail, \
     password_hash IS NOT NULL, (must_change_password IS TRUE), failed_logins, (locked IS TRUE), \
     locked_until, \
     created_at FROM ex_users";

fn user(
    (
        id,
        party,
        user_name,
        user_code,
        mail,
        has_password,
        must_change,
        failed,
        locked,
        locked_until,
        created,
    ): UserRow,
) -> Result<ExchangeUser, Error> {
    Ok(ExchangeUser {
        id,
        party: PartyId(party),
        user_name,
        user_code,
        mail,
        has_password: has_password.0,
        must_change_password: must_change.0,
        failed_logins: u32::try_from(failed)
            .map_err(|_| Error::Invalid(format!("failed logins {failed}")))?,
        locked: locked.0,
        locked_until: locked_until.map(timestamp).transpose()?,
        created_at: timestamp(created)?,
    })
}

/// Crockford's base 32 (no I, L, O, U): 32 symbols, 5 bits each; look-alikes typed by
/// mistake are mapped back when a code is checked.
const CODE_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Symbols in a code: 20 × 5 = 100 bits.
const CODE_LENGTH: usize = 20;

/// A code as typed, reduced to what counts: dashes and spaces dropped, upper-cased, O read
/// as 0 and I or L as 1.
fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect()
}

/// A fresh code, grouped by four for reading aloud: `ABCD-EFGH-…`.
fn new_code() -> String {
    let mut bytes = [0u8; CODE_LENGTH];
    OsRng.fill_bytes(&mut bytes);
    let symbols: Vec<char> = bytes
        .iter()
        .map(|b| char::from(CODE_ALPHABET[usize::from(*b) % 32]))
        .collect();
    symbols
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A user just added with what it needs to start ([`Store::add_society_with_user`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUser {
    /// Its party.
    pub party: PartyId,
    /// Its temporary password.
    pub password: String,
    /// Its one-time code.
    pub code: String,
}

impl Store {
    /// Adds a user of `party` (no password yet).
    pub async fn add_exchange_user(
        &self,
        id: &str,
        party: PartyId,
        now: Timestamp,
    ) -> Result<(), Error> {
        if self.party(party).await?.is_none() {
            return Err(Error::NotFound(format!("party {party}")));
        }
        sqlx::query("INSERT INTO ex_users (id, party_id, created_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(party.0)
            .bind(now.timestamp_millis())
            .execute(self.db.pool())
            .await
            .map_err(|e| or_conflict(e, || Error::Exists(format!("user {id}"))))?;
        Ok(())
    }

    /// The user with this login ID.
    pub async fn exchange_user(&self, id: &str) -> Result<Option<ExchangeUser>, Error> {
        let row: Option<UserRow> = sqlx::query_as(&format!("{USER_COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(user).transpose()
    }

    /// The users of one party, or of all, ordered by ID.
    pub async fn exchange_users(&self, party: Option<PartyId>) -> Result<Vec<ExchangeUser>, Error> {
        let rows: Vec<UserRow> = match party {
            Some(party) => {
                sqlx::query_as(&format!("{USER_COLUMNS} WHERE party_id = $1 ORDER BY id"))
                    .bind(party.0)
                    .fetch_all(self.db.pool())
                    .await?
            }
            None => {
                sqlx::query_as(&format!("{USER_COLUMNS} ORDER BY id"))
                    .fetch_all(self.db.pool())
                    .await?
            }
        };
        rows.into_iter().map(user).collect()
    }

    /// Sets a user's password (argon2id, as for accounts); a `temporary` one must be changed.
    pub async fn set_exchange_password(
        &self,
        id: &str,
        password: &str,
        temporary: bool,
    ) -> Result<(), Error> {
        if self
            .set_password_in(Credentials::ExchangeUsers, id, password, temporary)
            .await?
        {
            Ok(())
        } else {
            Err(Error::NotFound(format!("user {id}")))
        }
    }

    /// Adds a society with its first user, who sets it up: the user gets a temporary password
    /// and a one-time setup code valid for `code_lifetime`. A taken login ID is refused before
    /// the society is added, so no society is left without its user.
    pub async fn add_society_with_user(
        &self,
        society: (&str, &str),
        quota_bytes: u64,
        user: &str,
        now: Timestamp,
        code_lifetime: Duration,
    ) -> Result<NewUser, Error> {
        if self.exchange_user(user).await?.is_some() {
            return Err(Error::Exists(format!("user {user}")));
        }
        let (number, name) = society;
        let party = self.add_society(number, name, quota_bytes, now).await?;
        self.add_exchange_user(user, party, now).await?;
        let password = crate::temporary_password();
        self.set_exchange_password(user, &password, true).await?;
        let code = self
            .issue_code(user, CodeKind::Setup, now, code_lifetime)
            .await?;
        Ok(NewUser {
            party,
            password,
            code,
        })
    }

    /// Checks the login of a user of `party` (the party of the presented certificate) exactly
    /// as [`Store::verify_password`] checks an account's: same cost for unknown IDs, a
    /// temporary lock after the configured failures within the window. A user of another party is unknown here, after
    /// the same work and without counting a failure: a certificate can neither lock out nor
    /// probe the users of other parties.
    pub async fn verify_exchange_password(
        &self,
        party: PartyId,
        login: &str,
        password: &str,
    ) -> Result<Login, Error> {
        let member = self
            .exchange_user(login)
            .await?
            .is_some_and(|user| user.party == party);
        if !member {
            return self.decoy_check(password).await;
        }
        self.verify_password_in(Credentials::ExchangeUsers, login, password)
            .await
    }

    /// Unlocks a user, from an operator's lock or a temporary one, and clears its failed logins.
    pub async fn unlock_exchange_user(&self, id: &str) -> Result<(), Error> {
        if self
            .set_locked_in(Credentials::ExchangeUsers, id, false)
            .await?
        {
            Ok(())
        } else {
            Err(Error::NotFound(format!("user {id}")))
        }
    }

    /// Sets a user's name, code and mail address.
    pub async fn update_profile(
        &self,
        id: &str,
        update: &ProfileUpdate,
    ) -> Result<ExchangeUser, Error> {
        let mail = Some(update.mail.as_str()).filter(|m| !m.is_empty());
        let done = sqlx::query(
            "UPDATE ex_users SET user_name = $2, user_code = $3, mail = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(&update.user_name)
        .bind(&update.user_code)
        .bind(mail)
        .execute(self.db.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!("user {id}")));
        }
        self.exchange_user(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("user {id}")))
    }

    /// Issues a fresh one-time code of `kind` for `user`, valid for `lifetime`; earlier unused
    /// codes of that kind for the user stop working. Returns the code (only its hash is kept).
    pub async fn issue_code(
        &self,
        user: &str,
        kind: CodeKind,
        now: Timestamp,
        lifetime: Duration,
    ) -> Result<String, Error> {
        let code = new_code();
        let mut tx = self.db.write().await?;
        sqlx::query(
            "UPDATE ex_codes SET used_at = $3 WHERE user_id = $1 AND kind = $2 AND used_at IS NULL",
        )
        .bind(user)
        .bind(kind.as_str())
        .bind(now.timestamp_millis())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO ex_codes (code_hash, kind, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(sha256_hex(normalise_code(&code).as_bytes()))
        .bind(kind.as_str())
        .bind(user)
        .bind(now.timestamp_millis())
        .bind(now.timestamp_millis() + ms(lifetime))
        .execute(&mut *tx)
        .await
        .map_err(|e| or_conflict(e, || Error::NotFound(format!("user {user}"))))?;
        tx.commit().await?;
        Ok(code)
    }
}

/// Uses up `code` of `kind` for `user` inside a transaction: true when it was valid (issued
/// for this user, unused, unexpired); it cannot be used again.
pub(crate) async fn redeem_code_in(
    conn: &mut Conn,
    user: &str,
    code: &str,
    kind: CodeKind,
    now: Timestamp,
) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE ex_codes SET used_at = $4 WHERE code_hash = $1 AND user_id = $2 AND kind = $3 \
         AND used_at IS NULL AND expires_at > $4",
    )
    .bind(sha256_hex(normalise_code(code).as_bytes()))
    .bind(user)
    .bind(kind.as_str())
    .bind(now.timestamp_millis())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_and_typing_variants_match() {
        let code = new_code();
        assert_eq!(code.len(), CODE_LENGTH + CODE_LENGTH / 4 - 1, "{code}");
        assert_eq!(normalise_code(&code.to_lowercase()), code.replace('-', ""));
        assert_eq!(normalise_code(" ab-cd-ol "), "ABCD01");
    }
}

//! Parties (societies and their offices), destinations, quotas, the society CAs the api
//! listener trusts, and installation settings.

use std::fmt;

use crate::db::{Timestamp, from_db, or_conflict, timestamp, to_db};
use crate::words::stored_words;
use crate::{Error, Store};

/// What a party is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PartyKind {
    /// 健康保険組合: holds its own CA, receives from and sends to its offices.
    Society,
    /// 事業所: insured by one society, exchanges files with it only.
    Office,
}

stored_words!(PartyKind {
    Society = "society",
    Office = "office"
});

/// A party's id in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartyId(pub i64);

impl fmt::Display for PartyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A society or office as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Party {
    /// Its id.
    pub id: PartyId,
    /// Society or office.
    pub kind: PartyKind,
    /// Society: its 保険者番号; office: its number within the society.
    pub number: String,
    /// Its name, shown to the other side and in notifications.
    pub name: String,
    /// Office: its society. Society: none.
    pub society: Option<PartyId>,
    /// The sealed bytes it may hold as recipient.
    pub quota_bytes: u64,
    /// Society: its CA certificate (DER) once set up.
    pub ca_der: Option<Vec<u8>>,
    /// When it was added.
    pub created_at: Timestamp,
}

impl Party {
    /// The society this party belongs to: itself for a society.
    pub fn society_id(&self) -> PartyId {
        self.society.unwrap_or(self.id)
    }
}

type PartyRow = (
    i64,
    String,
    String,
    String,
    Option<i64>,
    i64,
    Option<Vec<u8>>,
    i64,
);

const PARTY_COLUMNS: &str =
    "SELECT id, kind, number, name, society_id, quota_bytes, ca_der, created_at FROM ex_parties";

fn party(
    (id, kind, number, name, society, quota, ca_der, created_at): PartyRow,
) -> Result<Party, Error> {
    Ok(Party {
        id: PartyId(id),
        kind: kind.parse()?,
        number,
        name,
        society: society.map(PartyId),
        quota_bytes: from_db(quota)?,
        ca_der,
        created_at: timestamp(created_at)?,
    })
}

/// The settings key of the society-CA generation (see [`Store::ca_generation`]).
const CA_GENERATION: &str = "ca_generation";

/// The setting that holds the published app version, as JSON.
const APP_VERSION: &str = "app_version";

impl Store {
    /// Adds a society. Fails with [`Error::Exists`] when the number is taken.
    pub async fn add_society(
        &self,
        number: &str,
        name: &str,
        quota_bytes: u64,
        now: Timestamp,
    ) -> Result<PartyId, Error> {
        self.insert_party(PartyKind::Society, number, name, None, quota_bytes, now)
            .await
    }

    /// Adds an office of `society`. Fails with [`Error::Exists`] when the society has an
    /// office with this number, [`Error::NotFound`] when `society` is not a society.
    pub async fn add_office(
        &self,
        society: PartyId,
        number: &str,
        name: &str,
        quota_bytes: u64,
        now: Timestamp,
    ) -> Result<PartyId, Error> {
        match self.party(society).await? {
            Some(p) if p.kind == PartyKind::Society => {}
            _ => return Err(Error::NotFound(format!("society {society}"))),
        }
        self.insert_party(
            PartyKind::Office,
            number,
            name,
            Some(society),
            quota_bytes,
            now,
        )
        .await
    }

    async fn insert_party(
        &self,
        kind: PartyKind,
        number: &str,
        name: &str,
        society: Option<PartyId>,
        quota_bytes: u64,
        now: Timestamp,
    ) -> Result<PartyId, Error> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO ex_parties (kind, number, name, society_id, quota_bytes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(kind.as_str())
        .bind(number)
        .bind(name)
        .bind(society.map(|s| s.0))
        .bind(to_db(quota_bytes)?)
        .bind(now.timestamp_millis())
        .fetch_one(self.db.pool())
        .await
        .map_err(|e| or_conflict(e, || Error::Exists(format!("{kind} {number}"))))?;
        Ok(PartyId(id))
    }

    /// The party with this id.
    pub async fn party(&self, id: PartyId) -> Result<Option<Party>, Error> {
        let row: Option<PartyRow> = sqlx::query_as(&format!("{PARTY_COLUMNS} WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(party).transpose()
    }

    /// The society with this number.
    pub async fn society_by_number(&self, number: &str) -> Result<Option<Party>, Error> {
        let row: Option<PartyRow> = sqlx::query_as(&format!(
            "{PARTY_COLUMNS} WHERE kind = 'society' AND number = $1"
        ))
        .bind(number)
        .fetch_optional(self.db.pool())
        .await?;
        row.map(party).transpose()
    }

    /// The office of `society` with this number.
    pub async fn office_by_number(
        &self,
        society: PartyId,
        number: &str,
    ) -> Result<Option<Party>, Error> {
        let row: Option<PartyRow> = sqlx::query_as(&format!(
            "{PARTY_COLUMNS} WHERE kind = 'office' AND society_id = $1 AND number = $2"
        ))
        .bind(society.0)
        .bind(number)
        .fetch_optional(self.db.pool())
        .await?;
        row.map(party).transpose()
    }

    /// Every society (`society` = None), or the offices of one society, ordered by number.
    pub async fn parties(&self, society: Option<PartyId>) -> Result<Vec<Party>, Error> {
        let rows: Vec<PartyRow> = match society {
            None => {
                sqlx::query_as(&format!(
                    "{PARTY_COLUMNS} WHERE kind = 'society' ORDER BY number"
                ))
                .fetch_all(self.db.pool())
                .await?
            }
            Some(society) => {
                sqlx::query_as(&format!(
                    "{PARTY_COLUMNS} WHERE kind = 'office' AND society_id = $1 ORDER BY number"
                ))
                .bind(society.0)
                .fetch_all(self.db.pool())
                .await?
            }
        };
        rows.into_iter().map(party).collect()
    }

    /// Sets a party's quota.
    pub async fn set_quota(&self, id: PartyId, quota_bytes: u64) -> Result<(), Error> {
        let done = sqlx::query("UPDATE ex_parties SET quota_bytes = $2 WHERE id = $1")
            .bind(id.0)
            .bind(to_db(quota_bytes)?)
            .execute(self.db.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!("party {id}")));
        }
        Ok(())
    }

    /// The sealed bytes `party` holds as recipient: files neither deleted, cancelled nor
    /// expired.
    pub async fn quota_used(&self, party: PartyId) -> Result<u64, Error> {
        let used: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM ex_files \
             WHERE recipient_party = $1 AND blob IS NOT NULL",
        )
        .bind(party.0)
        .fetch_one(self.db.pool())
        .await?;
        from_db(used)
    }

    /// Adds a destination (送信先) nickname to a society.
    pub async fn add_destination(
        &self,
        society: PartyId,
        nickname: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO ex_destinations (society_id, nickname, created_at) VALUES ($1, $2, $3)",
        )
        .bind(society.0)
        .bind(nickname)
        .bind(now.timestamp_millis())
        .execute(self.db.pool())
        .await
        .map_err(|e| or_conflict(e, || Error::Exists(format!("destination {nickname}"))))?;
        Ok(())
    }

    /// Removes a destination; files already sent to it keep its name.
    pub async fn remove_destination(&self, society: PartyId, nickname: &str) -> Result<(), Error> {
        let done =
            sqlx::query("DELETE FROM ex_destinations WHERE society_id = $1 AND nickname = $2")
                .bind(society.0)
                .bind(nickname)
                .execute(self.db.pool())
                .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!("destination {nickname}")));
        }
        Ok(())
    }

    /// A society's destinations, in the order they were added.
    pub async fn destinations(&self, society: PartyId) -> Result<Vec<String>, Error> {
        Ok(sqlx::query_scalar(
            "SELECT nickname FROM ex_destinations WHERE society_id = $1 \
             ORDER BY id",
        )
        .bind(society.0)
        .fetch_all(self.db.pool())
        .await?)
    }

    /// The CA certificates (DER) of every society that has set up, for the api listener's
    /// client-certificate verifier.
    pub async fn society_cas(&self) -> Result<Vec<Vec<u8>>, Error> {
        Ok(sqlx::query_scalar(
            "SELECT ca_der FROM ex_parties WHERE kind = 'society' AND ca_der IS NOT NULL \
             ORDER BY id",
        )
        .fetch_all(self.db.pool())
        .await?)
    }

    /// A number that changes whenever the set of society CAs changes, so every `kxd` process
    /// can tell cheaply when to rebuild its verifier.
    pub async fn ca_generation(&self) -> Result<i64, Error> {
        Ok(self
            .setting(CA_GENERATION)
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Bumps the CA generation inside a transaction that changed a CA.
    pub(crate) async fn bump_ca_generation(conn: &mut crate::db::Conn) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO ex_settings (key, value) VALUES ($1, '1') \
             ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(ex_settings.value AS BIGINT) + 1 AS TEXT)",
        )
        .bind(CA_GENERATION)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// The app version published to users (spec §2.2), if one is.
    pub async fn app_version(&self) -> Result<Option<kx_exchange::api::AppVersion>, Error> {
        let stored = self.setting(APP_VERSION).await?;
        stored
            .map(|json| {
                serde_json::from_str(&json)
                    .map_err(|e| Error::Invalid(format!("stored app version: {e}")))
            })
            .transpose()
    }

    /// Publishes the app version users are offered.
    pub async fn publish_app_version(
        &self,
        version: &kx_exchange::api::AppVersion,
    ) -> Result<(), Error> {
        let json = serde_json::to_string(version)
            .map_err(|e| Error::Invalid(format!("app version: {e}")))?;
        self.set_setting(APP_VERSION, &json).await
    }

    /// An installation setting (e.g. the published app version), if set.
    pub async fn setting(&self, key: &str) -> Result<Option<String>, Error> {
        Ok(
            sqlx::query_scalar("SELECT value FROM ex_settings WHERE key = $1")
                .bind(key)
                .fetch_optional(self.db.pool())
                .await?,
        )
    }

    /// Sets an installation setting.
    pub async fn set_setting(&self, key: &str, value: &str) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO ex_settings (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }
}

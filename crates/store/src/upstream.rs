//! Upstream notices (上り連絡, spec §6.7): the kinds the federation defines and the notices
//! received.

use kx_denso::{AccountId, UpstreamDefinition};

use crate::blob::BlobId;
use crate::db::{Flag, Timestamp, from_db, now_ms, or_conflict, timestamp, to_db};
use crate::intents::{Hold, release_one_in};
use crate::orgs::invalid;
use crate::{Error, Store};

/// A received upstream notice, for [`Store::receive_upstream`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUpstreamNotice {
    /// The authenticated sender.
    pub account: AccountId,
    /// The upstream kind (独自情報名); it must be defined.
    pub kind: String,
    /// The 一意番号, unique per kind.
    pub unique: String,
    /// The message exactly as received.
    pub message: Vec<u8>,
}

/// A stored upstream notice (without its content).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamReceipt {
    /// The upstream kind.
    pub kind: String,
    /// The 一意番号.
    pub unique: String,
    /// The sender.
    pub account: AccountId,
    /// Size of the raw message in bytes.
    pub size: u64,
    /// When it arrived.
    pub received_at: Timestamp,
}

type DefinitionRow = (String, String, Option<i64>, Option<i64>, Option<String>);

impl Store {
    /// Defines an upstream kind, checked by the protocol's rule
    /// ([`UpstreamDefinition::checked`]).
    pub async fn add_upstream_definition(
        &self,
        definition: &UpstreamDefinition,
    ) -> Result<(), Error> {
        let definition = definition.clone().checked().map_err(invalid)?;
        let extensions = definition.extensions.as_ref().map(|list| list.join(","));
        sqlx::query(
            "INSERT INTO upstream_definitions (name, to_address, max_files, max_bytes, extensions) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&definition.name)
        .bind(&definition.to)
        .bind(definition.max_files.map(|n| to_db(n as u64)).transpose()?)
        .bind(definition.max_bytes.map(to_db).transpose()?)
        .bind(extensions)
        .execute(self.db.pool())
        .await
        .map_err(|e| {
            or_conflict(e, || {
                Error::Exists(format!("upstream kind {}", definition.name))
            })
        })?;
        Ok(())
    }

    /// Every upstream kind, by name.
    pub async fn upstream_definitions(&self) -> Result<Vec<UpstreamDefinition>, Error> {
        let rows: Vec<DefinitionRow> = sqlx::query_as(
            "SELECT name, to_address, max_files, max_bytes, extensions \
             FROM upstream_definitions ORDER BY name",
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.into_iter().map(definition).collect()
    }

    /// The upstream kind with this name.
    pub async fn upstream_definition(
        &self,
        name: &str,
    ) -> Result<Option<UpstreamDefinition>, Error> {
        let row: Option<DefinitionRow> = sqlx::query_as(
            "SELECT name, to_address, max_files, max_bytes, extensions \
             FROM upstream_definitions WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(self.db.pool())
        .await?;
        row.map(definition).transpose()
    }

    /// Stores an accepted upstream notice durably. [`Error::UniqueUsed`] when its 一意番号
    /// was used before for its kind; [`Error::NotFound`] when the kind is not defined.
    pub async fn receive_upstream(&self, mut notice: NewUpstreamNotice) -> Result<(), Error> {
        if self.upstream_definition(&notice.kind).await?.is_none() {
            return Err(Error::NotFound(format!("upstream kind {}", notice.kind)));
        }
        let message = std::mem::take(&mut notice.message);
        let size = to_db(message.len() as u64)?;
        let blob = BlobId::of(&message);
        let hold = self
            .put_held(vec![message], std::slice::from_ref(&blob))
            .await?;
        let received = self.receive_held(&notice, (&blob, size), &hold).await;
        if received.is_err() {
            self.intents.forget(&[&hold]).await;
        }
        received
    }

    async fn receive_held(
        &self,
        notice: &NewUpstreamNotice,
        (blob, size): (&BlobId, i64),
        hold: &Hold,
    ) -> Result<(), Error> {
        let now = now_ms();
        let mut tx = self.db.write().await?;
        release_one_in(&mut tx, hold, now).await?;
        sqlx::query(
            "INSERT INTO upstream_receipts \
             (kind, unique_number, org_code, account_id, blob, size, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&notice.kind)
        .bind(&notice.unique)
        .bind(notice.account.org().org_code().as_str())
        .bind(notice.account.to_string())
        .bind(blob.as_str())
        .bind(size)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            or_conflict(e, || Error::UniqueUsed {
                kind: notice.kind.clone(),
                unique: notice.unique.clone(),
            })
        })?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether this 一意番号 has been used for this upstream kind (spec §6.7).
    pub async fn unique_used(&self, kind: &str, unique: &str) -> Result<bool, Error> {
        Ok(sqlx::query_scalar::<_, Flag>(
            "SELECT EXISTS (SELECT 1 FROM upstream_receipts \
             WHERE kind = $1 AND unique_number = $2)",
        )
        .bind(kind)
        .bind(unique)
        .fetch_one(self.db.pool())
        .await?
        .0)
    }

    /// The notices received of one kind, newest first, at most `limit`.
    pub async fn upstream_receipts(
        &self,
        kind: &str,
        limit: u32,
    ) -> Result<Vec<UpstreamReceipt>, Error> {
        let rows: Vec<(String, String, String, i64, i64)> = sqlx::query_as(
            "SELECT kind, unique_number, account_id, size, received_at FROM upstream_receipts \
             WHERE kind = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(kind)
        .bind(i64::from(limit))
        .fetch_all(self.db.pool())
        .await?;
        rows.into_iter()
            .map(|(kind, unique, account, size, received_at)| {
                Ok(UpstreamReceipt {
                    kind,
                    unique,
                    account: account.parse().map_err(invalid)?,
                    size: from_db(size)?,
                    received_at: timestamp(received_at)?,
                })
            })
            .collect()
    }
}

fn definition(
    (name, to, max_files, max_bytes, extensions): DefinitionRow,
) -> Result<UpstreamDefinition, Error> {
    Ok(UpstreamDefinition {
        name,
        to,
        max_files: max_files
            .map(|n| usize::try_from(from_db(n)?).map_err(|_| Error::Invalid(n.to_string())))
            .transpose()?,
        max_bytes: max_bytes.map(from_db).transpose()?,
        extensions: extensions.map(|e| e.split(',').map(str::to_owned).collect()),
    })
}

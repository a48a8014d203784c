//! Organisations: the federation's clients (都道府県 / 保険者 / 福祉事務所 / 事業所).

use std::net::IpAddr;

use kx_denso::{OrgCode, OrgKind, OrgNumber};

use crate::db::{Flag, Timestamp, now_ms, or_conflict, timestamp};
use crate::{Error, Network, Store};

/// An organisation as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organisation {
    /// Its kind and number; its 識別番号 is `org.org_code()`.
    pub org: OrgNumber,
    /// Its name, for people.
    pub name: String,
    /// The networks it may connect from; empty = any network.
    pub networks: Vec<Network>,
    /// When it was added.
    pub created_at: Timestamp,
}

impl Organisation {
    /// Whether a client at `ip` may connect for this organisation (spec §3: *where* the
    /// client is). No networks listed allows any.
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.networks.is_empty() || self.networks.iter().any(|n| n.contains(ip))
    }
}

type OrgRow = (String, String, String, i64);

impl Store {
    /// Adds an organisation. Fails with [`Error::Exists`] when its 識別番号 is taken.
    pub async fn add_org(
        &self,
        org: &OrgNumber,
        name: &str,
        networks: &[Network],
    ) -> Result<(), Error> {
        let code = org.org_code();
        let mut tx = self.db.write().await?;
        sqlx::query(
            "INSERT INTO organisations (code, kind, number, name, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(code.as_str())
        .bind(org.kind().as_str())
        .bind(org.number())
        .bind(name)
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(|e| or_conflict(e, || Error::Exists(format!("organisation {code}"))))?;
        insert_networks(&mut tx, &code, networks).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the networks an organisation's clients may connect from (none: any). False
    /// when there is no such organisation.
    pub async fn set_networks(&self, code: &OrgCode, networks: &[Network]) -> Result<bool, Error> {
        let mut tx = self.db.write().await?;
        let Flag(exists) =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM organisations WHERE code = $1)")
                .bind(code.as_str())
                .fetch_one(&mut *tx)
                .await?;
        if !exists {
            return Ok(false);
        }
        sqlx::query("DELETE FROM organisation_networks WHERE org_code = $1")
            .bind(code.as_str())
            .execute(&mut *tx)
            .await?;
        insert_networks(&mut tx, code, networks).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The organisation with this 識別番号.
    pub async fn org(&self, code: &OrgCode) -> Result<Option<Organisation>, Error> {
        let row: Option<OrgRow> = sqlx::query_as(
            "SELECT kind, number, name, created_at FROM organisations WHERE code = $1",
        )
        .bind(code.as_str())
        .fetch_optional(self.db.pool())
        .await?;
        match row {
            Some(row) => Ok(Some(self.organisation(row).await?)),
            None => Ok(None),
        }
    }

    /// Every organisation, ordered by 識別番号.
    pub async fn orgs(&self) -> Result<Vec<Organisation>, Error> {
        let rows: Vec<OrgRow> = sqlx::query_as(
            "SELECT kind, number, name, created_at FROM organisations ORDER BY code",
        )
        .fetch_all(self.db.pool())
        .await?;
        let mut orgs = Vec::with_capacity(rows.len());
        for row in rows {
            orgs.push(self.organisation(row).await?);
        }
        Ok(orgs)
    }

    async fn organisation(
        &self,
        (kind, number, name, created_at): OrgRow,
    ) -> Result<Organisation, Error> {
        let kind: OrgKind = kind.parse().map_err(invalid)?;
        let org = OrgNumber::new(kind, &number).map_err(invalid)?;
        let networks: Vec<String> = sqlx::query_scalar(
            "SELECT network FROM organisation_networks WHERE org_code = $1 ORDER BY network",
        )
        .bind(org.org_code().as_str())
        .fetch_all(self.db.pool())
        .await?;
        Ok(Organisation {
            org,
            name,
            networks: networks
                .iter()
                .map(|n| n.parse())
                .collect::<Result<_, _>>()?,
            created_at: timestamp(created_at)?,
        })
    }
}

/// A stored identity that no longer parses.
pub(crate) fn invalid(e: kx_denso::Error) -> Error {
    Error::Invalid(e.to_string())
}

/// Records the networks of an organisation inside a transaction.
async fn insert_networks(
    conn: &mut crate::db::Conn,
    code: &OrgCode,
    networks: &[Network],
) -> Result<(), Error> {
    for network in networks {
        sqlx::query(
            "INSERT INTO organisation_networks (org_code, network) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(code.as_str())
        .bind(network.to_string())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

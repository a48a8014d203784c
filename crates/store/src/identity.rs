//! The installation's identity, kept in the database so that every instance on it presents the
//! same certificate and accepts the same metrics token (see migration 0010).

use crate::{Error, Store};

/// What every instance of one installation presents alike (PEM text, the token as written).
#[derive(Clone, PartialEq, Eq)]
pub struct InstallationIdentity {
    /// The installation CA's certificate, which clients trust.
    pub ca_pem: String,
    /// The server certificate chain.
    pub chain_pem: String,
    /// The server certificate's private key.
    pub key_pem: String,
    /// The bearer token of `/metrics`.
    pub metrics_token: String,
}

impl std::fmt::Debug for InstallationIdentity {
    /// Leaves the key and the token out: a debug print is no place for them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstallationIdentity")
            .field("ca_pem", &self.ca_pem)
            .field("chain_pem", &self.chain_pem)
            .finish_non_exhaustive()
    }
}

type IdentityRow = (String, String, String, String);

impl Store {
    /// The identity recorded in the database, if any.
    pub async fn installation_identity(&self) -> Result<Option<InstallationIdentity>, Error> {
        let row: Option<IdentityRow> = sqlx::query_as(
            "SELECT ca_pem, chain_pem, key_pem, metrics_token FROM installation_identity \
             WHERE id = 1",
        )
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.map(
            |(ca_pem, chain_pem, key_pem, metrics_token)| InstallationIdentity {
                ca_pem,
                chain_pem,
                key_pem,
                metrics_token,
            },
        ))
    }

    /// Records `offered` as the installation's identity unless one is recorded already; the
    /// one recorded (`offered`, or what the first instance recorded).
    pub async fn share_identity(
        &self,
        offered: &InstallationIdentity,
    ) -> Result<InstallationIdentity, Error> {
        sqlx::query(
            "INSERT INTO installation_identity (id, ca_pem, chain_pem, key_pem, metrics_token) \
             VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&offered.ca_pem)
        .bind(&offered.chain_pem)
        .bind(&offered.key_pem)
        .bind(&offered.metrics_token)
        .execute(self.db.pool())
        .await?;
        self.installation_identity()
            .await?
            .ok_or_else(|| Error::Invalid("the installation identity vanished".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::InstallationIdentity;
    use crate::Store;

    fn identity(n: u8) -> InstallationIdentity {
        InstallationIdentity {
            ca_pem: format!("ca {n}"),
            chain_pem: format!("chain {n}"),
            key_pem: format!("key {n}"),
            metrics_token: format!("token {n}"),
        }
    }

    #[tokio::test]
    async fn the_first_identity_offered_is_the_one_every_instance_gets() {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::testing::config(dir.path());
        let (one, two) = (
            Store::open(&config).await.unwrap(),
            Store::open(&config).await.unwrap(),
        );
        assert_eq!(two.installation_identity().await.unwrap(), None);
        assert_eq!(one.share_identity(&identity(1)).await.unwrap(), identity(1));
        assert_eq!(two.share_identity(&identity(2)).await.unwrap(), identity(1));
        assert_eq!(
            two.installation_identity().await.unwrap(),
            Some(identity(1))
        );
        let debug = format!("{:?}", identity(3));
        assert!(
            !debug.contains("key 3") && !debug.contains("token 3"),
            "{debug}"
        );
    }
}

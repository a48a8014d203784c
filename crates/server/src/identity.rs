//! The installation's identity (CA certificate, server certificate and key, metrics token) on
//! disk and in the store, so that every instance behind a load balancer presents the same
//! certificate and accepts the same token: `kxd init` on a database that holds one takes it;
//! `kxd serve` takes the files it lacks from the database, records its own when the database
//! has none yet (an installation older than the record), and refuses to start when its files
//! differ from the database's.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use kx_listen::tls;
use kx_store::{InstallationIdentity, Store};

use crate::config::Config;
use crate::run::write_file;

/// Where `kxd init`'s identity came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Made here: the database had none.
    Made,
    /// Taken from the database, where another instance had recorded it.
    Joined,
}

/// Each file of the identity in `data_dir` with what `identity` says it holds.
fn files<'a>(
    data_dir: &Path,
    config: &Config,
    identity: &'a InstallationIdentity,
) -> [(PathBuf, &'a str); 4] {
    [
        (data_dir.join(&config.tls.ca), &identity.ca_pem),
        (data_dir.join(&config.tls.certificate), &identity.chain_pem),
        (data_dir.join(&config.tls.key), &identity.key_pem),
        (
            data_dir.join(kx_web::monitor::TOKEN_FILE),
            &identity.metrics_token,
        ),
    ]
}

/// Writes the installation's identity into the new `data_dir`: the one `store` holds, or a new
/// one, recorded there.
pub(crate) async fn create(
    data_dir: &Path,
    config: &Config,
    store: &Store,
) -> anyhow::Result<Origin> {
    let (identity, origin) = match store.installation_identity().await? {
        Some(identity) => (identity, Origin::Joined),
        None => {
            let issued = tls::issue(&config.domain)?;
            let made = InstallationIdentity {
                ca_pem: issued.ca_pem,
                chain_pem: issued.chain_pem,
                key_pem: issued.key_pem,
                metrics_token: kx_listen::random_token()?,
            };
            let recorded = store.share_identity(&made).await?;
            // Another instance initialised at the same moment may have been first.
            let origin = if recorded == made {
                Origin::Made
            } else {
                Origin::Joined
            };
            (recorded, origin)
        }
    };
    for (path, text) in files(data_dir, config, &identity) {
        write_file(&path, text.as_bytes())?;
    }
    Ok(origin)
}

/// Makes `data_dir`'s identity files those of the installation in `store` before `kxd serve`
/// reads them, or says why it cannot.
pub(crate) async fn settle(data_dir: &Path, config: &Config, store: &Store) -> anyhow::Result<()> {
    if let Some(recorded) = store.installation_identity().await? {
        // An instance set up by copying kxd.toml alone.
        let mut taken = 0;
        for (path, text) in files(data_dir, config, &recorded) {
            if !path.exists() {
                if let Some(dir) = path.parent() {
                    kx_store::files::create_dir_all(dir)
                        .with_context(|| format!("cannot create {}", dir.display()))?;
                }
                write_file(&path, text.as_bytes())?;
                taken += 1;
            }
        }
        if taken > 0 {
            tracing::info!(
                files = taken,
                "took the installation's certificates and metrics token from the database"
            );
        }
    }
    let read = |path: &Path| {
        std::fs::read_to_string(data_dir.join(path))
            .with_context(|| format!("cannot read {}", data_dir.join(path).display()))
    };
    let local = InstallationIdentity {
        ca_pem: read(&config.tls.ca)?,
        chain_pem: read(&config.tls.certificate)?,
        key_pem: read(&config.tls.key)?,
        metrics_token: kx_web::monitor::token(data_dir).context("cannot read the metrics token")?,
    };
    let recorded = store.share_identity(&local).await?;
    let differ: Vec<String> = files(data_dir, config, &local)
        .into_iter()
        .zip(files(data_dir, config, &recorded))
        .filter(|((_, here), (_, there))| here.trim() != there.trim())
        .map(|((path, _), _)| path.display().to_string())
        .collect();
    if !differ.is_empty() {
        anyhow::bail!(
            "{} differ from the installation's identity in the database, which another \
             instance recorded: this one would present another certificate. Remove them to \
             take the database's, or initialise this instance again with `kxd init --database …` \
             in an empty directory / 証明書またはメトリクスのトークンがデータベースに記録された\
             設置情報と異なります。削除すればデータベースのものを使います",
            differ.join(", ")
        );
    }
    Ok(())
}

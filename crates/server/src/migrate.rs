//! `kxd store migrate`: an embedded installation's store (SQLite and the blob directory) copied
//! to PostgreSQL and an S3-compatible bucket, checked, and resumable (kx-store's copy). Run it
//! with `kxd serve` stopped, then point `[store]` at the copy.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use kx_gateway::settings::StoreSection;
use kx_store::Store;

use crate::config::{CONFIG_FILE, Config};

/// `kxd store …`.
#[derive(clap::Subcommand)]
pub(crate) enum StoreCommand {
    /// Copy the store to PostgreSQL and an S3-compatible bucket, then check the copy: every
    /// table's rows (count and SHA-256), every blob under its id. Stop `kxd serve` first. An
    /// interrupted copy goes on where it stopped when run again.
    ///
    /// Example:
    ///   kxd store migrate --data /var/lib/kxd \
    ///     --to-database postgres://kx@db.internal:5432/kx \
    ///     --to-blobs 's3://kx-blobs?endpoint=https://s3.internal&region=us-east-1'
    Migrate {
        /// The installation's data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// The PostgreSQL database to copy to (created by the operator, empty or a copy
        /// begun before).
        #[arg(long, value_name = "URL")]
        to_database: String,
        /// Where the blobs go: `s3://BUCKET?endpoint=…&region=…` (keys from
        /// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or `credentials=FILE`), or a directory.
        #[arg(long, value_name = "URL")]
        to_blobs: String,
    },
}

/// Runs a `kxd store` command.
pub(crate) async fn run(command: StoreCommand) -> anyhow::Result<()> {
    let StoreCommand::Migrate {
        data,
        to_database,
        to_blobs,
    } = command;
    migrate(&data, to_database, to_blobs).await
}

async fn migrate(data: &Path, to_database: String, to_blobs: String) -> anyhow::Result<()> {
    let config = Config::load(data)?;
    let from = Store::open(&config.store_config(data)?)
        .await
        .context("cannot open the installation's store")?;
    let target = StoreSection {
        database: Some(to_database),
        blobs: Some(to_blobs),
    };
    let to = Store::open(&kx_gateway::store_config(data, &target, &config.security)?)
        .await
        .context("cannot open the target database and blob store")?;
    println!("copying the rows:");
    from.copy_database_to(&to, |table| {
        println!(
            "  {:<24} {:>9} rows ({} new)  sha256 {}",
            table.table,
            table.rows,
            table.written,
            &table.sha256[..16]
        );
    })
    .await
    .context("copying the rows")?;
    println!("copying the blobs:");
    let blobs = from
        .copy_blobs_to(&to, |area| {
            if area.blobs > 0 && (area.written % 100 == 0 || area.written == area.blobs) {
                eprint!(
                    "\r  {:<9} {} of {} written",
                    area.area, area.written, area.blobs
                );
            }
        })
        .await
        .context("copying the blobs")?;
    eprintln!();
    for area in &blobs {
        println!(
            "  {:<24} {:>9} blobs ({} new, {} bytes)",
            area.area, area.blobs, area.written, area.bytes
        );
    }
    from.close().await;
    to.close().await;
    println!(
        "checked: every table's rows and every blob are in the copy.\n\
         next: in {}, set [store] database and blobs to the same values, then start kxd serve.",
        data.join(CONFIG_FILE).display()
    );
    Ok(())
}

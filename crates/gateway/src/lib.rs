//! The 伝送 gateway: the protocol rules of `kx-denso` wired to the listeners and `kx-store`.
//!
//! - `submission`: SMTP submissions become Accepts (spec §4, §5), durably, before `250`.
//! - `group_commit`: the writer task that commits concurrent submissions in one transaction.
//! - `mailbox`: POP3 reads each account's own mailbox.
//! - `regist`: the periodic job that settles DataDeletes and answers DataSends with Regists,
//!   handing accepted files to the review system.
//! - `service`: the read-only download area of service notices, for FTPS and HTTPS clients.

mod group_commit;
pub mod handoff;
mod mailbox;
pub mod outgoing;
mod regist;
pub mod service;
pub mod settings;
mod submission;
mod tally;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use kx_denso::AccountId;
use kx_denso::reply::ReplyTo;
use kx_records::Tables;
use kx_store::{Blobs, Database, Login, Store, StoreConfig};
use tokio::sync::{Notify, Semaphore};

use kx_listen::{AuthOutcome, LoginCount, LoginPenalty, RateLimiter, Tally};

use crate::settings::{GatewaySettings, Security, StoreSection};
use group_commit::GroupCommit;
use tally::StoreTally;

pub use regist::run as run_regist_job;

/// The blob directory and database inside the data directory, or where `[store]` puts them,
/// with the login policy's lock-out and pool of password checks. Reads the blob store's keys
/// (from the environment or their file).
pub fn store_config(
    data_dir: &Path,
    section: &StoreSection,
    security: &Security,
) -> Result<StoreConfig, kx_store::Error> {
    let mut store = StoreConfig::in_dir(data_dir);
    if let Some(url) = &section.database {
        store.database = Database::postgres(url)?;
    }
    if let Some(blobs) = &section.blobs {
        store.blobs = Blobs::parse(blobs, data_dir)?;
    }
    store.lockout = security.lockout();
    store.password_pool = security.password_pool();
    Ok(store)
}

/// Everything the listeners and the job share.
pub struct Gateway {
    config: GatewaySettings,
    data_dir: PathBuf,
    store: Store,
    tables: Arc<Tables>,
    messages: RateLimiter<AccountId>,
    /// Slows down failed logins per source, shared with the exchange's.
    penalty: Arc<LoginPenalty>,
    /// Where the penalty and every rate limit count: the store, so every instance on it alike.
    tally: Tally,
    /// Turns to inspect a message on the blocking pool, one per core: a burst of large
    /// messages queues instead of taking every core and the memory of as many budgets.
    inspections: Semaphore,
    /// Wakes the Regist job when a DataDelete arrives, so cancellations do not wait a tick.
    wake_regist: Notify,
    /// The writer that commits SMTP submissions in batches.
    commits: GroupCommit,
}

impl Gateway {
    /// Opens the installation in `data_dir` (its settings must already be loaded). Call it
    /// within the Tokio runtime: the shared rate limits start their tasks.
    pub async fn open(data_dir: &Path, config: GatewaySettings) -> anyhow::Result<Arc<Gateway>> {
        let store = Store::open(&store_config(data_dir, &config.store, &config.security)?)
            .await
            .context("cannot open the store")?;
        let tables = match &config.denso.record_tables {
            Some(path) => {
                let path = data_dir.join(path);
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                Tables::from_toml(&text).with_context(|| path.display().to_string())?
            }
            None => Tables::default(),
        };
        let tally = Tally::new(StoreTally(store.clone()));
        Ok(Arc::new(Gateway {
            messages: RateLimiter::shared(
                config.security.messages_per_minute,
                "messages",
                tally.clone(),
            ),
            penalty: Arc::new(LoginPenalty::shared(
                config.security.penalty(),
                tally.clone(),
            )),
            tally,
            config,
            data_dir: data_dir.to_owned(),
            commits: GroupCommit::start(store.clone()),
            store,
            tables: Arc::new(tables),
            inspections: Semaphore::new(
                std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            ),
            wake_regist: Notify::new(),
        }))
    }

    /// The store, for operator commands.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The per-source penalty of failed logins, for every listener that checks passwords.
    pub fn penalty(&self) -> Arc<LoginPenalty> {
        Arc::clone(&self.penalty)
    }

    /// The tally every rate limit of the installation counts in.
    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    /// Where accepted submissions are handed to the review system: one folder per
    /// transmission number below it.
    pub fn handoff_root(&self) -> PathBuf {
        self.data_dir.join("handoff")
    }

    /// Where the download area's folders are (`DIR/service/`), for [`service::publish`].
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The federation's outgoing messages (Results, Contacts, service notices).
    pub fn outgoing(&self) -> outgoing::Outgoing<'_> {
        outgoing::Outgoing::new(&self.store, &self.config)
    }

    /// The envelope of a reply to `account`, written now.
    fn reply_to(&self, account: &AccountId) -> ReplyTo {
        ReplyTo {
            environment: self.config.environment.environment(),
            to: account.address(&self.config.domain),
            from: self.config.transmit_address(),
            date: chrono::Local::now().fixed_offset(),
        }
    }

    /// Checks a login for SMTP, POP3, the password page or the download area, applies the organisation's
    /// allowed networks and writes the attempt to the audit log. A failure waits the source's
    /// penalty before it is answered; a check the busy password pool did not run is neither
    /// audited nor penalised, as it is no failure.
    pub async fn login(
        &self,
        service: &'static str,
        user: &str,
        password: &str,
        peer: IpAddr,
    ) -> AuthOutcome<AccountId> {
        let outcome = match self.store.verify_password(user, password).await {
            Ok(Login::Ok { .. }) => match user.parse::<AccountId>() {
                Ok(account) => match self.store.org(&account.org().org_code()).await {
                    Ok(Some(org)) if org.allows(peer) => Ok(account),
                    Ok(Some(_)) => Err("network-refused"),
                    Ok(None) | Err(_) => Err("error"),
                },
                Err(_) => Err("error"),
            },
            Ok(Login::Busy) => return AuthOutcome::Busy,
            Ok(Login::Wrong) => Err("wrong-password"),
            Ok(Login::LockedOut) => Err("locked-out"),
            Ok(Login::Unknown) => Err("unknown-account"),
            Ok(Login::Locked) => Err("locked"),
            Err(e) => {
                tracing::error!(error = %e, "login: store error");
                Err("error")
            }
        };
        let word = match &outcome {
            Ok(_) => "ok",
            Err(word) => word,
        };
        // A store failure is not the client's doing: no login was judged.
        let count = match word {
            "ok" => Some(LoginCount::Ok),
            "error" => None,
            "locked-out" => Some(LoginCount::LockedOut),
            _ => Some(LoginCount::Failed),
        };
        if let Some(count) = count {
            kx_listen::count_login(service, count);
        }
        self.audit(user, &format!("{service}.login"), user, Some(peer), word)
            .await;
        match outcome {
            Ok(account) => AuthOutcome::Authenticated(account),
            // The store failed: not the client's doing, so no penalty.
            Err("error") => AuthOutcome::Rejected,
            Err(word) => {
                self.penalty.failed(peer).await;
                if word == "locked" {
                    AuthOutcome::LockedOut
                } else {
                    AuthOutcome::Rejected
                }
            }
        }
    }

    /// Writes an audit entry (batched with others by the group-commit writer); a failure to
    /// do so is logged, never hidden.
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        object: &str,
        source: Option<IpAddr>,
        outcome: &str,
    ) {
        let entry = kx_store::AuditEntry::new(actor, action, object, source, outcome);
        if !self.commits.audit(entry).await {
            tracing::error!(action, "audit: cannot write");
        }
    }
}

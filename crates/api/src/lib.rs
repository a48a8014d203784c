//! The KX exchange (spec `kx-exchange.md`, contract `docs/api/openapi.yaml`): the rules of
//! `kx-exchange` wired to the listeners and `kx-store`.
//!
//! - [`api_routes`]: the `api` listener's routes, behind mutual TLS (`trust`: the society CAs,
//!   reloaded when they change) and bearer sessions.
//! - [`bootstrap_routes`]: enrolment, society setup and the app version on the `https`
//!   listener, for parties that have no certificate yet.
//! - [`run_notifications`]: the notification outbox's sender.
//! - [`clock`]: the server's clock, which tests may move.
//! - [`run_retention_job`]: the 70-day expiry, the 2-year purge and the expiry of undecided
//!   certificate requests; the `[retention]` periods of the 伝送 side; garbage collection.
//!
//! Logs name user IDs, party numbers and file ids only: never file contents, passwords,
//! codes, PINs or personal data.

mod api;
mod bootstrap;
pub mod clock;
mod notify;
mod problem;
pub mod settings;
mod trust;

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use kx_exchange::api as wire;
use kx_store::Store;
use kx_store::exchange::{Party, PartyKind, SessionLimits};
use kx_store::{Retention, RetentionReport};
use tokio::sync::{Notify, watch};

use kx_listen::tls::Identity;
use kx_listen::{LoginPenalty, RateLimiter, Tally};

use crate::settings::ExchangeSettings;

pub use api::routes as api_routes;
pub use bootstrap::routes as bootstrap_routes;
pub use clock::Clock;
pub use notify::MAIL_OUTBOX_DIR;

pub use trust::ClientTrust;

/// Everything the exchange's routes and jobs share.
pub struct Exchange {
    config: ExchangeSettings,
    store: Store,
    clock: Clock,
    trust: Arc<ClientTrust>,
    /// Login, enrolment and setup attempts per source address.
    attempts: RateLimiter<IpAddr>,
    /// Slows down failed logins per source, shared with the gateway's.
    penalty: Arc<LoginPenalty>,
    /// Wakes the notification sender when a mail is queued.
    wake_mail: Notify,
    /// The api listener's URL, handed to enrolled parties.
    api_url: Option<String>,
}

impl Exchange {
    /// Prepares the exchange over `store`; `identity` is the installation's server
    /// certificate, `api` the api listener's bound address, if any; failed logins wait their
    /// `penalty` before they are answered, and attempts are counted in `tally`. Call it within
    /// the Tokio runtime: the shared rate limit starts its task.
    pub async fn open(
        config: ExchangeSettings,
        identity: Identity,
        store: Store,
        api: Option<SocketAddr>,
        penalty: Arc<LoginPenalty>,
        tally: Tally,
    ) -> anyhow::Result<Arc<Exchange>> {
        let trust = Arc::new(ClientTrust::new(store.clone(), identity).await?);
        let api_url = config.exchange.api_url.clone().or_else(|| {
            api.map(|addr| {
                if addr.ip().is_unspecified() {
                    format!("https://{}:{}", config.domain, addr.port())
                } else {
                    format!("https://{addr}")
                }
            })
        });
        Ok(Arc::new(Exchange {
            clock: Clock::new(config.movable_clock),
            attempts: RateLimiter::shared(
                config.exchange.login_attempts_per_minute,
                "exchange.attempts",
                tally,
            ),
            penalty,
            config,
            store,
            trust,
            wake_mail: Notify::new(),
            api_url,
        }))
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Now, by the server's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The api listener's TLS configuration source.
    pub fn trust(&self) -> Arc<ClientTrust> {
        Arc::clone(&self.trust)
    }

    /// How long a certificate request waits for its society's decision.
    fn request_lifetime(&self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.config.exchange.certificate_request_days))
    }

    fn session_limits(&self) -> SessionLimits {
        SessionLimits {
            idle: chrono::Duration::seconds(secs(self.config.exchange.session_idle)),
            absolute: chrono::Duration::seconds(secs(self.config.exchange.session_absolute)),
        }
    }

    /// The published app version, or this server's own version when none is published.
    async fn app_version(&self) -> Result<wire::AppVersion, kx_store::Error> {
        Ok(self
            .store
            .app_version()
            .await?
            .unwrap_or_else(|| wire::AppVersion {
                version: env!("CARGO_PKG_VERSION").to_owned(),
                notes: String::new(),
                url: String::new(),
            }))
    }
}

fn secs(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX / 1000)
}

/// A stored party as the wire shows it.
pub(crate) fn wire_party(party: &Party) -> wire::Party {
    wire::Party {
        kind: match party.kind {
            PartyKind::Society => wire::PartyKind::Society,
            PartyKind::Office => wire::PartyKind::Office,
        },
        number: party.number.clone(),
        name: party.name.clone(),
    }
}

/// The retention periods: `[retention]`'s, and the spec's for the exchange (kx-exchange
/// `lifecycle`): 70 days to download (files to offices), rows for 24 months.
pub fn retention_policy(settings: &settings::Retention) -> Retention {
    Retention {
        keep_raw_messages: chrono::Duration::days(i64::from(settings.raw_message_days)),
        keep_mail: chrono::Duration::days(i64::from(settings.mail_days)),
        download_window: kx_exchange::lifecycle::DOWNLOAD_WINDOW,
        keep_months: kx_exchange::lifecycle::KEEP_MONTHS,
        keep_sent_mails: chrono::Duration::days(30),
        orphan_grace: Duration::from_secs(settings.gc_grace),
    }
}

/// Runs retention once now (`kxd admin retention run`, and each tick of the job), audited as
/// `actor` with what it freed (counts, never contents).
pub async fn run_retention(
    store: &Store,
    now: DateTime<Utc>,
    settings: &settings::Retention,
    actor: &str,
) -> anyhow::Result<RetentionReport> {
    let report = store
        .run_retention(now, &retention_policy(settings))
        .await?;
    let garbage = report.garbage.total();
    tracing::info!(
        raw_freed = report.raw_freed,
        mail_removed = report.mail_removed,
        expired = report.expired,
        purged = report.purged,
        requests_expired = report.requests_expired,
        blobs_removed = report.blobs_removed,
        housekeeping = report.housekeeping,
        garbage = garbage.count,
        garbage_bytes = garbage.bytes,
        "retention: done"
    );
    let outcome = format!(
        "raw {} mail {} expired {} purged {} requests {} garbage {} ({} bytes)",
        report.raw_freed,
        report.mail_removed,
        report.expired,
        report.purged,
        report.requests_expired,
        garbage.count,
        garbage.bytes
    );
    store
        .record_audit(actor, "retention.run", &now.to_rfc3339(), None, &outcome)
        .await;
    Ok(report)
}

/// Applies retention every `[exchange] retention_interval` seconds until `shutdown`.
pub async fn run_retention_job(exchange: Arc<Exchange>, mut shutdown: watch::Receiver<bool>) {
    let interval = Duration::from_secs(exchange.config.exchange.retention_interval.max(1));
    loop {
        let now = exchange.now();
        if let Err(e) =
            run_retention(&exchange.store, now, &exchange.config.retention, "system").await
        {
            tracing::error!(error = %e, "retention: failed; retrying next tick");
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Delivers notification mails until `shutdown`: through `[notify] relay`, or as files in
/// `DIR/mail-outbox/` ([`MAIL_OUTBOX_DIR`]) when none is configured.
pub fn run_notifications(
    exchange: Arc<Exchange>,
    data_dir: &Path,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    let delivery = notify::Delivery::from_config(&exchange.config, data_dir)?;
    Ok(notify::run(exchange, delivery, shutdown))
}

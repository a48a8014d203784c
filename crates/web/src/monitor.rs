//! Monitoring on the `console` listener: `/metrics` for Prometheus, `/healthz` and `/readyz`
//! for load balancers and supervisors.
//!
//! # Routes
//!
//! | route | answer |
//! |---|---|
//! | `GET /metrics` | with `Authorization: Bearer <DIR/metrics.token>`: the figures below in the Prometheus text format 0.0.4 (`text/plain; version=0.0.4`); `401` without the token or with another; `503` when the store does not answer |
//! | `GET /healthz` | `200 ok`: the process serves requests |
//! | `GET /readyz` | `200 ok` when the store answers a trivial query and the server is not shutting down; `503` and the reason otherwise |
//!
//! The token is compared in constant time. None of these answers carries an account, a user,
//! a password, a file name or an address: the only label that names anything is a society's
//! 保険者番号 (insurer number), which names an insurer, not a person.
//!
//! # Metrics
//!
//! Counters and the histogram are counted where the event happens (`kx-smtp`, `kx-gateway`,
//! `kx-api`, `kx-listen`, through the `metrics` facade) since the process started; the gauges
//! are read from the store at each scrape ([`Snapshot`]), so every kxd of an installation
//! reports the same gauges.
//!
//! | metric | type | labels | meaning |
//! |---|---|---|---|
//! | `kx_messages_accepted_total` | counter | | SMTP messages answered `250` (DataSends, DataDeletes, upstream notices) |
//! | `kx_messages_refused_total` | counter | `code` | SMTP messages answered otherwise, by reply code (`550`, `552`, `451`, …) |
//! | `kx_regist_total` | counter | `outcome` | Regists delivered into a mailbox: `success`, or `checkerr` (poison submissions included) |
//! | `kx_regist_latency_seconds` | histogram | | from a DataSend's acceptance to its Regist in the mailbox |
//! | `kx_logins_total` | counter | `service`, `outcome` | password logins by service (`smtp`, `pop3`, `web`, `api`), `ok` or `failed` |
//! | `kx_lockouts_total` | counter | `service` | failed logins that locked their account |
//! | `kx_exchange_uploads_total` | counter | | sealed files stored by the exchange api |
//! | `kx_exchange_upload_bytes_total` | counter | | their bytes |
//! | `kx_exchange_downloads_total` | counter | | sealed file downloads started |
//! | `kx_exchange_download_bytes_total` | counter | | their bytes |
//! | `kx_submissions_waiting` | gauge | | submissions accepted and not yet settled by the Regist job (queue depth) |
//! | `kx_submissions_poison` | gauge | | poison submissions settled in the last 24 hours |
//! | `kx_mailbox_messages` | gauge | | messages in all mailboxes |
//! | `kx_mailbox_bytes` | gauge | | their bytes |
//! | `kx_exchange_quota_used_bytes` | gauge | `society` | sealed bytes held for the society |
//! | `kx_exchange_quota_bytes` | gauge | `society` | the society's quota |
//! | `kx_certificates_expiring` | gauge | | current exchange certificates whose notAfter is within 60 days (or past) |
//! | `kx_blobs` | gauge | `kind` | blobs held, by kind: `raw_messages`, `mail`, `upstream`, `sealed` |
//! | `kx_blob_bytes` | gauge | `kind` | their bytes |
//! | `kx_accounts_locked` | gauge | `kind` | logins locked now: `denso` (伝送 accounts), `exchange` (exchange users) |

use std::fmt::Write as _;
use std::io::{self, Read as _, Write as _};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kx_store::{DiskUse, LockedLogins, SocietyQuota, Store, Tally};
use subtle::ConstantTimeEq as _;
use tokio::sync::watch;

/// The file in the data directory that holds the bearer token of `/metrics`.
pub const TOKEN_FILE: &str = "metrics.token";

/// The content type of the Prometheus text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How far ahead a certificate counts as expiring.
const EXPIRY_HORIZON: chrono::Duration = chrono::Duration::days(60);

/// How far back settled poison submissions are counted.
const POISON_WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// How long `/readyz` waits for the store's answer.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// A counter or histogram counted in the libraries, described once for the exporter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// The metric's name.
    pub name: &'static str,
    /// Whether it is a histogram (otherwise a counter).
    pub histogram: bool,
    /// Its `# HELP` text.
    pub help: &'static str,
}

/// Every counter and histogram of the table above, for `# HELP` lines.
pub const EVENTS: &[Event] = &[
    counter("kx_messages_accepted_total", "SMTP messages answered 250."),
    counter(
        "kx_messages_refused_total",
        "SMTP messages refused, by reply code.",
    ),
    counter(
        "kx_regist_total",
        "Regists delivered into a mailbox, by outcome (success, checkerr).",
    ),
    Event {
        name: "kx_regist_latency_seconds",
        histogram: true,
        help: "Seconds from a DataSend's acceptance to its Regist in the mailbox.",
    },
    counter(
        "kx_logins_total",
        "Password logins by service and outcome (ok, failed).",
    ),
    counter(
        "kx_lockouts_total",
        "Failed logins that locked their account, by service.",
    ),
    counter(
        "kx_exchange_uploads_total",
        "Sealed files stored by the exchange api.",
    ),
    counter(
        "kx_exchange_upload_bytes_total",
        "Bytes of the sealed files stored.",
    ),
    counter(
        "kx_exchange_downloads_total",
        "Sealed file downloads started.",
    ),
    counter(
        "kx_exchange_download_bytes_total",
        "Bytes of the sealed file downloads started.",
    ),
];

const fn counter(name: &'static str, help: &'static str) -> Event {
    Event {
        name,
        histogram: false,
        help,
    }
}

/// The figures read from the store at scrape time: what `/metrics` reports as gauges, and
/// what a console page shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// Submissions accepted and not yet settled (queue depth).
    pub submissions_waiting: u64,
    /// Poison submissions settled in the last 24 hours.
    pub poison_submissions: u64,
    /// Blobs held, by kind; `disk.mail` is every mailbox's messages.
    pub disk: DiskUse,
    /// Each society's quota use.
    pub society_quotas: Vec<SocietyQuota>,
    /// Current exchange certificates expiring within 60 days (or expired).
    pub certificates_expiring: u64,
    /// Logins locked now.
    pub locked: LockedLogins,
}

impl Snapshot {
    /// Reads the figures from `store` as of now.
    pub async fn read(store: &Store) -> Result<Snapshot, kx_store::Error> {
        let now = chrono::Utc::now();
        Ok(Snapshot {
            submissions_waiting: store.submissions_waiting().await?,
            poison_submissions: store.poison_submissions(now - POISON_WINDOW).await?,
            disk: store.disk_use().await?,
            society_quotas: store.society_quotas().await?,
            certificates_expiring: store.certificates_expiring(now + EXPIRY_HORIZON).await?,
            locked: store.locked_logins().await?,
        })
    }

    /// The figures in the Prometheus text format, appended to `out`.
    pub fn render(&self, out: &mut String) {
        let mut gauge = |name: &str, help: &str, samples: &[(Option<(&str, &str)>, u64)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for (label, value) in samples {
                match label {
                    Some((key, text)) => {
                        let _ = writeln!(out, "{name}{{{key}=\"{}\"}} {value}", escape(text));
                    }
                    None => {
                        let _ = writeln!(out, "{name} {value}");
                    }
                }
            }
        };
        gauge(
            "kx_submissions_waiting",
            "Submissions accepted and not yet settled by the Regist job.",
            &[(None, self.submissions_waiting)],
        );
        gauge(
            "kx_submissions_poison",
            "Poison submissions settled in the last 24 hours.",
            &[(None, self.poison_submissions)],
        );
        gauge(
            "kx_mailbox_messages",
            "Messages in all mailboxes.",
            &[(None, self.disk.mail.count)],
        );
        gauge(
            "kx_mailbox_bytes",
            "Bytes of the messages in all mailboxes.",
            &[(None, self.disk.mail.bytes)],
        );
        let by_society = |figure: fn(&SocietyQuota) -> u64| {
            self.society_quotas
                .iter()
                .map(|q| (Some(("society", q.number.as_str())), figure(q)))
                .collect::<Vec<_>>()
        };
        gauge(
            "kx_exchange_quota_used_bytes",
            "Sealed bytes held for each society.",
            &by_society(|q| q.used),
        );
        gauge(
            "kx_exchange_quota_bytes",
            "Each society's storage quota.",
            &by_society(|q| q.quota),
        );
        gauge(
            "kx_certificates_expiring",
            "Current exchange certificates expiring within 60 days or expired.",
            &[(None, self.certificates_expiring)],
        );
        let kinds: [(&str, Tally); 4] = [
            ("raw_messages", self.disk.raw_messages),
            ("mail", self.disk.mail),
            ("upstream", self.disk.upstream),
            ("sealed", self.disk.sealed),
        ];
        let by_kind = |figure: fn(&Tally) -> u64| {
            kinds
                .iter()
                .map(|(kind, tally)| (Some(("kind", *kind)), figure(tally)))
                .collect::<Vec<_>>()
        };
        gauge("kx_blobs", "Blobs held, by kind.", &by_kind(|t| t.count));
        gauge(
            "kx_blob_bytes",
            "Bytes of the blobs held, by kind.",
            &by_kind(|t| t.bytes),
        );
        gauge(
            "kx_accounts_locked",
            "Logins locked now: denso accounts, exchange users.",
            &[
                (Some(("kind", "denso")), self.locked.accounts),
                (Some(("kind", "exchange")), self.locked.exchange_users),
            ],
        );
    }
}

/// A label value as the text format writes it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Reads the bearer token of `/metrics` from `DIR/metrics.token`, creating it (32 random
/// bytes, hex, a private file) when missing.
pub fn token(data_dir: &Path) -> io::Result<String> {
    let path = data_dir.join(TOKEN_FILE);
    match kx_store::files::create_new(&path) {
        Ok(mut file) => {
            let token = kx_listen::random_token().map_err(io::Error::other)?;
            file.write_all(token.as_bytes())?;
            file.sync_all()?;
            Ok(token)
        }
        // Made by `kxd init`, an earlier `kxd serve` or another kxd of the installation.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let mut token = String::new();
            std::fs::File::open(&path)?.read_to_string(&mut token)?;
            let token = token.trim().to_owned();
            if token.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} is empty", path.display()),
                ));
            }
            Ok(token)
        }
        Err(e) => Err(e),
    }
}

/// What the monitoring routes need.
pub struct Monitor {
    store: Store,
    token: String,
    events: Box<dyn Fn() -> String + Send + Sync>,
    shutdown: watch::Receiver<bool>,
}

impl Monitor {
    /// Monitoring of `store`, `/metrics` guarded by `token`; `events` renders the counters
    /// and histograms (the exporter's text) at each scrape; `/readyz` fails once `shutdown`
    /// turns true.
    pub fn new(
        store: Store,
        token: String,
        events: impl Fn() -> String + Send + Sync + 'static,
        shutdown: watch::Receiver<bool>,
    ) -> Monitor {
        Monitor {
            store,
            token,
            events: Box::new(events),
            shutdown,
        }
    }
}

/// `/metrics`, `/healthz` and `/readyz` (the listener adds the security headers; the console
/// adds the fallback).
pub fn routes(monitor: Monitor) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(Arc::new(monitor))
}

async fn metrics(State(monitor): State<Arc<Monitor>>, headers: HeaderMap) -> Response {
    if !authorized(&headers, &monitor.token) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "unauthorized\n",
        )
            .into_response();
    }
    let snapshot = match Snapshot::read(&monitor.store).await {
        Ok(snapshot) => snapshot,
        Err(e) => {
            tracing::error!(error = %e, "metrics: cannot read the store");
            return (StatusCode::SERVICE_UNAVAILABLE, "store not answering\n").into_response();
        }
    };
    let mut text = (monitor.events)();
    snapshot.render(&mut text);
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response()
}

/// Whether the request carries `Authorization: Bearer <token>`.
fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    bool::from(given.trim().as_bytes().ct_eq(token.as_bytes()))
}

async fn ready(State(monitor): State<Arc<Monitor>>) -> Response {
    if *monitor.shutdown.borrow() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response();
    }
    match tokio::time::timeout(READY_TIMEOUT, monitor.store.ping()).await {
        Ok(Ok(())) => "ok\n".into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readyz: the store failed");
            (StatusCode::SERVICE_UNAVAILABLE, "store not answering\n").into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "store not answering\n").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The metric names in the module's table.
    fn documented() -> Vec<String> {
        include_str!("monitor.rs")
            .lines()
            .filter_map(|line| line.strip_prefix("//! | `kx_"))
            .filter_map(|rest| rest.split('`').next())
            .map(|name| format!("kx_{name}"))
            .collect()
    }

    #[test]
    fn every_metric_is_in_the_table_and_every_gauge_has_help_and_type() {
        let mut text = String::new();
        Snapshot {
            submissions_waiting: 2,
            poison_submissions: 0,
            disk: DiskUse::default(),
            society_quotas: vec![SocietyQuota {
                number: "06139999".into(),
                used: 300,
                quota: 1000,
            }],
            certificates_expiring: 1,
            locked: LockedLogins::default(),
        }
        .render(&mut text);
        let mut gauges: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .map(|l| l.trim_end_matches(" gauge").to_owned())
            .collect();
        for name in &gauges {
            assert!(text.contains(&format!("# HELP {name} ")), "{name}");
        }
        assert!(text.contains("kx_submissions_waiting 2\n"));
        assert!(text.contains("kx_exchange_quota_used_bytes{society=\"06139999\"} 300\n"));
        gauges.extend(EVENTS.iter().map(|e| e.name.to_owned()));
        gauges.sort_unstable();
        let mut table = documented();
        table.sort_unstable();
        assert_eq!(gauges, table);
    }

    #[test]
    fn only_the_exact_bearer_token_is_let_in() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.parse().unwrap());
            headers
        };
        assert!(authorized(&with("Bearer s3cret"), "s3cret"));
        assert!(!authorized(&with("Bearer s3cre"), "s3cret"));
        assert!(!authorized(&with("Bearer s3cretx"), "s3cret"));
        assert!(!authorized(&with("Basic s3cret"), "s3cret"));
        assert!(!authorized(&HeaderMap::new(), "s3cret"));
    }

    #[test]
    fn the_token_is_made_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let first = token(dir.path()).unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(token(dir.path()).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(TOKEN_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
    }
}

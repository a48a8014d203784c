//! The `console` listener's routes, built in one place: monitoring (`kx_web::monitor`) now,
//! the operators' pages merged beside it. Also the process's metrics recorder, which the
//! libraries count into through the `metrics` facade.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use kx_store::Store;
use kx_web::monitor::{self, EVENTS, Monitor};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::sync::watch;

/// The bucket bounds of `kx_regist_latency_seconds`: a Regist comes after the Regist interval
/// (60 s by default), so the buckets span seconds (short test intervals) to hours (a backlog).
const REGIST_LATENCY_BUCKETS: [f64; 12] = [
    1.0, 5.0, 15.0, 30.0, 60.0, 90.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 14400.0,
];

/// How often the recorder folds histogram samples in, so that they do not pile up between
/// scrapes (or without any).
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The recorder, installed on first use: the `metrics` facade takes one per process.
fn recorder() -> anyhow::Result<PrometheusHandle> {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("kx_regist_latency_seconds".into()),
            &REGIST_LATENCY_BUCKETS,
        )
        .context("histogram buckets")?
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    for event in EVENTS {
        if event.histogram {
            metrics::describe_histogram!(event.name, event.help);
        } else {
            metrics::describe_counter!(event.name, event.help);
        }
    }
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// The console's routes for the installation in `data_dir` (without a fallback: the caller
/// adds the listener's `404`). Creates `DIR/metrics.token` if it is missing and starts the
/// recorder's upkeep, which stops with `shutdown`.
pub(crate) fn routes(
    data_dir: &Path,
    store: Store,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<Router> {
    let token = monitor::token(data_dir)
        .with_context(|| format!("cannot read or create {}", monitor::TOKEN_FILE))?;
    let handle = recorder()?;
    tokio::spawn(upkeep(handle.clone(), shutdown.clone()));
    let monitor = Monitor::new(store, token, move || handle.render(), shutdown);
    Ok(monitor::routes(monitor))
}

async fn upkeep(handle: PrometheusHandle, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(UPKEEP_INTERVAL);
    loop {
        tokio::select! {
            _ = tick.tick() => handle.run_upkeep(),
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}

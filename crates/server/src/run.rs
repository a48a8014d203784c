//! Creating an installation (`kxd init`) and running it (`kxd serve`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use kx_api::Exchange;
use kx_gateway::Gateway;
use kx_listen::{Listener, ListenerConfig, tls};
use kx_pop3::{Pop3Config, TlsMode};
use kx_smtp::SmtpConfig;
use kx_store::files;

use crate::config::{CONFIG_FILE, Config};
use crate::identity;

/// The file `kxd serve` writes once its listeners are bound: `{"smtp": "127.0.0.1:…", …}`,
/// so scripts and tests find ports chosen by the system (`127.0.0.1:0`).
pub(crate) const ENDPOINTS_FILE: &str = "endpoints.json";

/// Creates `data_dir` with `kxd.toml`, the certificates and an empty store, or joins the
/// installation already in `[store] database` (taking its certificates). Refuses a directory
/// that already holds an installation.
pub(crate) async fn init(data_dir: &Path, config: &Config) -> anyhow::Result<identity::Origin> {
    if data_dir.join(CONFIG_FILE).exists() {
        anyhow::bail!(
            "{} already holds an installation ({CONFIG_FILE} exists)",
            data_dir.display()
        );
    }
    files::create_dir_all(&data_dir.join("tls"))
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    // A directory that existed already (made empty by someone else) becomes private too.
    files::tighten(data_dir)?;
    let store = kx_store::Store::open(&config.store_config(data_dir)?).await?;
    let origin = identity::create(data_dir, config, &store).await?;
    store.close().await;
    // The settings file comes last: its presence marks a complete installation.
    write_file(&data_dir.join(CONFIG_FILE), config.to_toml()?.as_bytes())?;
    Ok(origin)
}

/// Writes a new file of the installation, private like every other (the CA certificate too:
/// the operator hands a copy to clients).
pub(crate) fn write_file(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut file =
        files::create_new(path).with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(data)?;
    file.sync_all()?;
    Ok(())
}

/// A running server: its bound addresses and the tasks to wait for.
pub(crate) struct Running {
    /// Where each listener is bound.
    pub(crate) endpoints: BTreeMap<&'static str, SocketAddr>,
    tasks: JoinSet<()>,
}

impl Running {
    /// Waits until every listener and job has stopped (after `shutdown` turned true).
    pub(crate) async fn wait(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Starts every configured listener and the Regist job; they stop when `shutdown` turns true.
pub(crate) async fn serve(
    data_dir: &Path,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<Running> {
    let config = Config::load(data_dir)?;
    let tightened = files::tighten(data_dir)
        .with_context(|| format!("cannot make {} private", data_dir.display()))?;
    if tightened > 0 {
        tracing::warn!(
            data = %data_dir.display(),
            entries = tightened,
            "data directory: removed group and other access, which it must not have"
        );
    }
    let gateway = Gateway::open(data_dir, config.gateway()).await?;
    identity::settle(data_dir, &config, gateway.store()).await?;
    let tls = tls::server_config(
        &data_dir.join(&config.tls.certificate),
        &data_dir.join(&config.tls.key),
    )?;
    let acceptor = TlsAcceptor::from(Arc::clone(&tls));
    // Nothing can be in flight before the listeners open: whatever is in the temporary areas
    // was cut off by a stop or a crash.
    let swept = gateway.store().sweep_temporary().await?;
    if swept.count > 0 {
        tracing::info!(
            files = swept.count,
            bytes = swept.bytes,
            "removed the temporary files of interrupted writes and uploads"
        );
    }
    let mut tasks = JoinSet::new();
    let mut endpoints = BTreeMap::new();
    // The api listener is bound first: its address is the URL enrolled parties are given.
    let api = match config.listeners.api {
        Some(addr) => {
            let listener = bind(addr, "api").await?;
            endpoints.insert("api", listener.local_addr()?);
            Some(listener)
        }
        None => None,
    };
    let identity = tls::Identity::load(
        &data_dir.join(&config.tls.certificate),
        &data_dir.join(&config.tls.key),
    )?;
    let exchange = Exchange::open(
        config.exchange(),
        identity,
        gateway.store().clone(),
        endpoints.get("api").copied(),
        // One penalty for every listener, so a source cannot shed it by changing protocol.
        gateway.penalty(),
        gateway.tally().clone(),
    )
    .await?;

    if let Some(addr) = config.listeners.smtp {
        let listener = bind(addr, "smtp").await?;
        endpoints.insert("smtp", listener.local_addr()?);
        let mut smtp = SmtpConfig::new(config.domain.clone());
        smtp.tls = Some(acceptor.clone());
        smtp.allow_plaintext_auth = config.security.allow_plaintext_auth;
        smtp.max_message_size = config.denso.max_message_size;
        smtp.listen = ListenerConfig {
            connections_per_minute: Some(config.security.connections_per_minute),
            tally: Some(gateway.tally().clone()),
            ..config.limits.listener("smtp")
        };
        tasks.spawn(kx_smtp::serve(
            listener,
            Arc::new(smtp),
            gateway.clone(),
            shutdown.clone(),
        ));
    }
    if let Some(addr) = config.listeners.pop3 {
        let listener = bind(addr, "pop3").await?;
        endpoints.insert("pop3", listener.local_addr()?);
        let pop3 = Pop3Config {
            tls: TlsMode::Stls(acceptor.clone()),
            allow_plaintext_auth: config.security.allow_plaintext_auth,
            listen: config.limits.listener("pop3"),
            // The gateway's per-source penalty delays failed logins instead.
            auth_failure_delay: std::time::Duration::ZERO,
            ..Pop3Config::default()
        };
        tasks.spawn(kx_pop3::serve(
            listener,
            pop3,
            gateway.clone(),
            shutdown.clone(),
        ));
    }
    if let Some(addr) = config.listeners.https {
        let listener = bind(addr, "https").await?;
        endpoints.insert("https", listener.local_addr()?);
        let app = kx_web::routes(gateway.clone(), config.security.web_attempts_per_minute)
            .merge(kx_web::service::routes(gateway.clone()))
            .merge(kx_api::bootstrap_routes(exchange.clone()))
            .fallback(not_found);
        tasks.spawn(kx_listen::https::serve(
            Listener::new(listener, config.limits.listener("https")),
            Arc::new(acceptor.clone()),
            app,
            shutdown.clone(),
        ));
    }
    if let Some(addr) = config.listeners.console {
        let listener = bind(addr, "console").await?;
        endpoints.insert("console", listener.local_addr()?);
        let app = crate::console::routes(data_dir, gateway.store().clone(), shutdown.clone())?
            .merge(kx_web::console::routes(gateway.clone(), config.console()))
            .fallback(not_found);
        tasks.spawn(kx_listen::https::serve(
            Listener::new(listener, config.limits.listener("console")),
            Arc::new(acceptor.clone()),
            app,
            shutdown.clone(),
        ));
    }
    if let Some(addr) = config.listeners.ftp {
        let listener = bind(addr, "ftp").await?;
        endpoints.insert("ftp", listener.local_addr()?);
        let ftp = kx_ftp::FtpConfig::new(&config.ftp, tls, config.limits.listener("ftp"));
        tasks.spawn(kx_ftp::serve(
            listener,
            ftp,
            gateway.clone(),
            shutdown.clone(),
        ));
    }
    if let Some(listener) = api {
        tasks.spawn(kx_listen::https::serve(
            Listener::new(listener, config.limits.listener("api")),
            exchange.trust(),
            kx_api::api_routes(exchange.clone()),
            shutdown.clone(),
        ));
    }
    tasks.spawn(kx_gateway::run_regist_job(
        gateway.clone(),
        shutdown.clone(),
    ));
    tasks.spawn(kx_api::run_retention_job(
        exchange.clone(),
        shutdown.clone(),
    ));
    tasks.spawn(kx_api::run_notifications(
        exchange.clone(),
        data_dir,
        shutdown.clone(),
    )?);

    let json = serde_json::to_vec_pretty(&endpoints)?;
    let temp = data_dir.join(format!(".{ENDPOINTS_FILE}.tmp"));
    {
        use std::io::Write as _;
        files::options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)?
            .write_all(&json)?;
    }
    std::fs::rename(&temp, data_dir.join(ENDPOINTS_FILE))?;
    for (name, addr) in &endpoints {
        tracing::info!(listener = name, %addr, "listening");
    }
    Ok(Running { endpoints, tasks })
}

/// The answer of the web listeners to a path no route serves.
async fn not_found() -> (axum::http::StatusCode, &'static str) {
    (axum::http::StatusCode::NOT_FOUND, "not found\n")
}

async fn bind(addr: SocketAddr, name: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen for {name} on {addr}"))
}

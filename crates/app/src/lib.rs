//! `kx-app`: the browser app of `kx app` — the office app's screens and the society desk,
//! served by `kx` itself on 127.0.0.1 and opened in the user's browser.
//!
//! Every rule and every call to the server comes from `kx-client`; this crate only turns them
//! into screens: plain HTML forms rendered on the server, a little script of our own for the
//! progress bars (Server-Sent Events), every asset embedded. See [`guard`] for who may talk to
//! it: the launched browser only, on this machine.
//!
//! One app runs per profile (E0001): a second `kx app` for the same profile points the browser
//! at the running one ([`run`] returns [`Launched::Elsewhere`]). While `kx society serve` holds
//! a society's profile, the app shows serve's state instead of fighting it for the lock.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use kx_client::exchange::ProfileDir;
use kx_client::kx_exchange::Code;

mod app;
mod assets;
mod basket;
mod browser;
mod error;
mod form;
pub mod guard;
mod instance;
mod jobs;
mod office;
mod page;
mod routes;
mod society;
mod words;

pub use error::{Error, Result};

/// How to run the app.
#[derive(Clone, Debug)]
pub struct Options {
    /// The profile it serves.
    pub profile: ProfileDir,
    /// The port on 127.0.0.1; 0 takes any free one.
    pub port: u16,
    /// Whether to open the system's browser at the launch URL.
    pub open_browser: bool,
    /// The time without use before the app locks itself back to the PIN screen; `None` takes
    /// the profile's preference (10 minutes unless changed in 設定).
    pub idle: Option<Duration>,
    /// Protect a new key with the cheap test key derivation: throw-away demo and test profiles.
    pub insecure_fast_kdf: bool,
}

/// Where the user's browser was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Launched {
    /// To this app, which served until it was quit.
    Here,
    /// To the app already running for the profile.
    Elsewhere,
}

/// Runs the app until the user quits it (終了) or the process is interrupted. `ready` hears the
/// launch URL (with its one-time token) once the app listens, or the running app's.
pub fn run(options: Options, ready: impl FnOnce(&str, &Launched)) -> Result<Launched> {
    kx_client::install_tls_provider();
    let lock = match options.profile.lock() {
        Ok(lock) => Some(lock),
        Err(kx_client::Error::Exchange(failure)) if failure.code == Code::E0001 => {
            match instance::hand_off(&options.profile) {
                Some(url) => {
                    ready(&url, &Launched::Elsewhere);
                    if options.open_browser {
                        browser::open(&url);
                    }
                    return Ok(Launched::Elsewhere);
                }
                None if serving(&options.profile) => None,
                None => return Err(kx_client::Error::Exchange(failure).into()),
            }
        }
        Err(err) => return Err(err.into()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Error::Serve)?;
    runtime.block_on(serve(options, lock, ready))
}

/// Whether `kx society serve` holds the profile (its state is fresh): the app then only shows
/// that state.
fn serving(profile: &ProfileDir) -> bool {
    kx_client::exchange::ServeState::read(profile)
        .ok()
        .flatten()
        .is_some_and(|state| state.is_current(chrono::Utc::now()))
}

async fn serve(
    options: Options,
    lock: Option<kx_client::exchange::ProfileLock>,
    ready: impl FnOnce(&str, &Launched),
) -> Result<Launched> {
    let wanted = SocketAddr::from((Ipv4Addr::LOCALHOST, options.port));
    let listener = tokio::net::TcpListener::bind(wanted)
        .await
        .map_err(|source| Error::Listen {
            port: options.port,
            source,
        })?;
    let port = listener.local_addr().map_err(Error::Serve)?.port();
    let control = guard::random_token();
    let app = Arc::new(app::App::new(
        options.profile.clone(),
        lock,
        guard::Guard::new(port, &control),
        options.idle,
        options.insecure_fast_kdf,
    )?);
    app.clear_staging();
    instance::publish(&app.profile, port, &control)?;
    let url = app.guard.launch_url();
    tracing::info!(port, "kx app listening on 127.0.0.1");
    ready(&url, &Launched::Here);
    if options.open_browser {
        browser::open(&url);
    }
    let ticking = app.clone();
    let ticker = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            ticking.lock_if_idle();
        }
    });
    let mut quit = app.quit.subscribe();
    let served = axum::serve(listener, routes::router(app.clone()))
        .with_graceful_shutdown(async move {
            tokio::select! {
                _ = quit.wait_for(|q| *q) => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        })
        .await;
    ticker.abort();
    instance::withdraw(&app.profile);
    app.clear_staging();
    served.map_err(Error::Serve)?;
    Ok(Launched::Here)
}

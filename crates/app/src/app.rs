//! The app's state: the profile (its lock held for the app's life), the stage of the user's
//! visit — not set up, waiting for the society, locked behind the PIN, or open — the jobs
//! under way, the files being put together for a send, and the preferences of this computer.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::response::{IntoResponse, Redirect, Response};
use kx_client::exchange::{Enrolment, Notice, ProfileDir, ProfileLock, Session};
use kx_client::kx_crypto::keystore::Pin;
use kx_client::kx_exchange::api::{PartyKind, Uploaded};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::basket::Basket;
use crate::guard::Guard;
use crate::jobs::{Jobs, lock};
use crate::page::{Header, Shown};
use crate::words::{self, Tr};

/// Where the user is.
pub(crate) enum Stage {
    /// The profile is not set up: the first setup (初回設定).
    New,
    /// The certificate was requested and the society has not issued it yet. The PIN is known
    /// when the request was made in this run; after a restart it is asked again.
    Waiting {
        /// The request.
        enrolment: Arc<Enrolment>,
        /// The PIN chosen for it, when this run chose it.
        pin: Option<Pin>,
    },
    /// Behind the PIN (PIN入力).
    Locked {
        /// Why, when the user did not lock it: shown above the PIN.
        note: Option<Tr>,
    },
    /// `kx society serve` holds the profile: the desk shows its state (see
    /// [`kx_client::exchange::ServeState`]) and nothing else.
    Watching,
    /// Logged in.
    Open {
        /// The session.
        session: Box<Session>,
        /// The notices of the login, shown as dialogs at 起動確認.
        notices: Vec<Notice>,
        /// Whether the user confirmed the start (起動確認 はい).
        started: bool,
    },
}

/// What a job leaves behind.
pub(crate) enum Outcome {
    /// Files received: a result per file.
    Received(Vec<Received>),
    /// A send: what the server took, or why not.
    Sent(Result<Uploaded, Shown>),
    /// The society issued (or refused) our certificate: setup and renewal.
    Issued(Result<(), Shown>),
    /// A society's send to several offices: per office, what the server took, or why not.
    Delivered(Vec<(String, Result<Uploaded, Shown>)>),
}

/// One received file's result.
pub(crate) struct Received {
    /// Its sealed name.
    pub(crate) name: String,
    /// Where the ZIP is (a download link's number), or why it failed.
    pub(crate) result: Result<(u64, PathBuf), Shown>,
}

/// The preferences of this computer (設定, the local part).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Preferences {
    /// Where received ZIPs are also written; without it, only the browser's downloads.
    #[serde(default)]
    pub(crate) receive_dir: Option<PathBuf>,
    /// Minutes without use before the app locks itself back to the PIN screen.
    #[serde(default = "default_idle")]
    pub(crate) idle_minutes: u32,
}

fn default_idle() -> u32 {
    10
}

impl Default for Preferences {
    fn default() -> Preferences {
        Preferences {
            receive_dir: None,
            idle_minutes: default_idle(),
        }
    }
}

/// The preferences' file in the profile.
const PREFERENCES: &str = "app-preferences.json";

/// The running app.
pub(crate) struct App {
    /// The profile.
    pub(crate) profile: ProfileDir,
    /// Its lock, for the app's life; none while `kx society serve` holds it
    /// ([`Stage::Watching`]).
    lock: Option<ProfileLock>,
    /// Office app or society desk (known once set up).
    pub(crate) kind: Mutex<Option<PartyKind>>,
    /// The launch tokens and cookies.
    pub(crate) guard: Guard,
    /// Who is logged in, for the header (kept apart from the stage, which a job may hold).
    pub(crate) who: Mutex<Option<String>>,
    /// Keys of a setup under the cheap test key derivation (demo and test profiles only).
    pub(crate) fast_kdf: bool,
    /// Where the user is.
    pub(crate) stage: Mutex<Stage>,
    /// Long operations.
    pub(crate) jobs: Jobs<Outcome>,
    /// Files chosen for a send, by function.
    pub(crate) baskets: Mutex<HashMap<&'static str, Basket>>,
    /// Received ZIPs the browser may download, by number.
    pub(crate) downloads: Mutex<HashMap<u64, PathBuf>>,
    /// The last request of the user.
    pub(crate) last_use: Mutex<Instant>,
    /// The preferences.
    pub(crate) preferences: Mutex<Preferences>,
    /// An idle time set on the command line, over the preferences'.
    pub(crate) idle_override: Option<Duration>,
    /// Set to stop the app.
    pub(crate) quit: watch::Sender<bool>,
}

impl App {
    /// The app of `profile`, whose lock is held (or, without it, that watches `serve`).
    pub(crate) fn new(
        profile: ProfileDir,
        lock: Option<ProfileLock>,
        guard: Guard,
        idle_override: Option<Duration>,
        fast_kdf: bool,
    ) -> kx_client::Result<App> {
        let kind = profile.kind()?;
        let stage = match (kind, &lock) {
            (_, None) => Stage::Watching,
            (Some(_), Some(_)) => Stage::Locked { note: None },
            (None, Some(lock)) => match kx_client::exchange::pending_enrolment(&profile, lock)? {
                Some(enrolment) => Stage::Waiting {
                    enrolment: Arc::new(enrolment),
                    pin: None,
                },
                None => Stage::New,
            },
        };
        let preferences = profile
            .read_private(PREFERENCES)?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Ok(App {
            profile,
            lock,
            kind: Mutex::new(kind),
            guard,
            who: Mutex::new(None),
            fast_kdf,
            stage: Mutex::new(stage),
            jobs: Jobs::default(),
            baskets: Mutex::new(HashMap::new()),
            downloads: Mutex::new(HashMap::new()),
            last_use: Mutex::new(Instant::now()),
            preferences: Mutex::new(preferences),
            idle_override,
            quit: watch::Sender::new(false),
        })
    }

    /// The profile's lock, for what needs it (E0001 while `serve` holds the profile).
    pub(crate) fn lock(&self) -> kx_client::Result<ProfileLock> {
        self.lock.clone().ok_or_else(|| {
            kx_client::exchange::Failure::new(kx_client::kx_exchange::Code::E0001, &[]).into()
        })
    }

    /// The header of the screens: the app's name, and who is logged in. A job holding the
    /// session (a receive, a send) means the session is open.
    pub(crate) fn header(&self) -> Header {
        let (menu, logout) = match self.stage.try_lock() {
            Ok(stage) => (
                matches!(*stage, Stage::Open { started: true, .. }),
                matches!(*stage, Stage::Open { .. }),
            ),
            Err(_) => (true, true),
        };
        Header {
            app: self.app_name(),
            who: menu.then(|| lock(&self.who).clone()).flatten(),
            menu,
            logout,
            locks_after: menu.then(|| self.idle()),
        }
    }

    /// The stage now, or `None` while a job holds it: an async handler never waits for one.
    pub(crate) fn stage_now(&self) -> Option<std::sync::MutexGuard<'_, Stage>> {
        match self.stage.try_lock() {
            Ok(stage) => Some(stage),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// A session was opened: the stage is open, not started yet (起動確認).
    pub(crate) fn opened(&self, stage: &mut Stage, session: Session, notices: Vec<Notice>) {
        *lock(&self.who) = Some(format!(
            "{} {}",
            session.party().number,
            session.party().name
        ));
        *stage = Stage::Open {
            session: Box::new(session),
            notices,
            started: false,
        };
    }

    /// Office app or society desk.
    pub(crate) fn app_name(&self) -> Tr {
        match *lock(&self.kind) {
            Some(PartyKind::Society) => words::SOCIETY_DESK,
            _ => words::OFFICE_APP,
        }
    }

    /// How long the app may stay unused before it locks itself.
    pub(crate) fn idle(&self) -> Duration {
        self.idle_override.unwrap_or_else(|| {
            Duration::from_secs(u64::from(lock(&self.preferences).idle_minutes.max(1)) * 60)
        })
    }

    /// Saves new preferences.
    pub(crate) fn set_preferences(&self, preferences: Preferences) -> kx_client::Result<()> {
        let json = serde_json::to_vec_pretty(&preferences)
            .map_err(|e| kx_client::Error::Other(e.into()))?;
        self.profile.write_private(PREFERENCES, &json)?;
        *lock(&self.preferences) = preferences;
        Ok(())
    }

    /// Notes a request of the user (the idle timer starts again).
    pub(crate) fn touch(&self) {
        *lock(&self.last_use) = Instant::now();
    }

    /// Locks the app back to the PIN screen if it was open and unused for its idle time, and
    /// no job is running. The session (its key) is dropped.
    pub(crate) fn lock_if_idle(&self) {
        // A job under way is use: the idle time counts from its end, so that its result can
        // be seen.
        if self.jobs.busy() {
            self.touch();
            return;
        }
        if lock(&self.last_use).elapsed() < self.idle() {
            return;
        }
        // A request holding the session is use: try again at the next tick.
        let Ok(mut stage) = self.stage.try_lock() else {
            return;
        };
        match &*stage {
            Stage::Open { session, .. } if session.ended_by_server() => lock_ended(&mut stage),
            Stage::Open { .. } => {
                *stage = Stage::Locked {
                    note: Some(words::LOCKED_IDLE),
                };
                tracing::info!("locked after the idle time");
            }
            _ => {}
        }
    }

    /// Runs `f` with the open session on a blocking thread (the client's calls block), or
    /// sends the user where they belong when no session is open.
    #[expect(
        clippy::result_large_err,
        reason = "the Err is the redirect a handler returns at once, never carried further"
    )]
    pub(crate) async fn with_session<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Session) -> T + Send + 'static,
    ) -> Result<T, Response> {
        let app = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut stage = lock(&app.stage);
            let done = match &mut *stage {
                Stage::Open {
                    session,
                    started: true,
                    ..
                } => f(session),
                _ => return Err(Redirect::to("/").into_response()),
            };
            if let Stage::Open { session, .. } = &*stage
                && session.ended_by_server()
            {
                lock_ended(&mut stage);
                return Err(Redirect::to("/pin").into_response());
            }
            Ok(done)
        })
        .await
        .unwrap_or_else(|_| Err(Redirect::to("/").into_response()))
    }

    /// Runs `f` on a blocking thread.
    pub(crate) async fn blocking<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&App) -> T + Send + 'static,
    ) -> T {
        let app = self.clone();
        tokio::task::spawn_blocking(move || f(&app))
            .await
            .expect("a blocking task of the app panicked")
    }

    /// Where received ZIPs go: the receive folder when set, else the app's own folder in the
    /// profile (emptied when the app starts and quits).
    pub(crate) fn receive_dir(&self) -> PathBuf {
        lock(&self.preferences)
            .receive_dir
            .clone()
            .unwrap_or_else(|| self.staging("received"))
    }

    /// A folder of the app's own in the profile.
    pub(crate) fn staging(&self, name: &str) -> PathBuf {
        self.profile.root().join("app").join(name)
    }

    /// Offers a received ZIP for download; returns its number.
    pub(crate) fn offer(&self, path: PathBuf) -> u64 {
        let mut downloads = lock(&self.downloads);
        let n = downloads.len() as u64 + 1;
        downloads.insert(n, path);
        n
    }

    /// Removes the app's own folders (received ZIPs, files staged for a send).
    pub(crate) fn clear_staging(&self) {
        let dir = self.profile.root().join("app");
        if let Err(err) = std::fs::remove_dir_all(&dir)
            && err.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(error = %err, "could not empty the app's folder");
        }
    }
}

/// Locks the app because the server ended its session; the session (its key) is dropped.
fn lock_ended(stage: &mut Stage) {
    *stage = Stage::Locked {
        note: Some(words::SESSION_ENDED),
    };
    tracing::info!("locked: the server ended the session");
}

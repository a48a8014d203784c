//! The read-only FTPS server of the download area a service notice points at (spec §3, §6.8):
//! libunftp's FTP protocol over kxd's one accept loop (`kx-listen`: caps per listener and per
//! address, lifetime, shutdown), in front of an [`Area`], the small trait the installation
//! implements. This crate knows no storage and no accounts.
//!
//! - **Explicit TLS only** (RFC 4217): `USER` and `PASS` before `AUTH TLS` are answered
//!   `534`, and every data connection must be protected (`PBSZ 0`, `PROT P`) before `LIST`,
//!   `NLST`, `RETR`… are served. The control and data connections use the installation's TLS
//!   configuration.
//! - **Login** goes through [`Area::login`] with the service name `ftp`, so FTP shares the
//!   lock-out, the per-source penalty and the audit of every other listener.
//! - **Each account sees its organisation's folder as `/`.** Every path a client sends (after
//!   libunftp joins it to the working directory) is read by [`kx_denso::location`]: a path
//!   that would lead above the folder is answered exactly as a missing one (`550`), so another
//!   organisation's folder cannot even be learnt to exist.
//! - **Read-only**: `STOR`, `APPE`, `STOU`, `DELE`, `MKD`, `RMD` and `RNTO` are answered `550
//!   Permission denied` and change nothing (`RNFR` names an existing file with `350`, as
//!   RFC 959 has it; the rename is refused at `RNTO`); `SITE` commands are `502`.
//! - **Passive data connections** are bound on the control connection's local address, on a
//!   port from [`FtpConfig::passive_ports`] (`0..=0`: any free port) and taken only from the
//!   control connection's source address. Active mode (`PORT`) is not offered.
//! - Downloads are audited by the [`Area`] (`Area::open`), never with their contents.

mod storage;

use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use kx_denso::location::Location;
use kx_listen::{AuthOutcome, Connection, Listener, ListenerConfig, Protocol};
use libunftp::options::{ActivePassiveMode, FtpsRequired, SiteMd5};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncRead;
use tokio::sync::watch;
use unftp_core::auth::{
    AuthenticationError, Authenticator, Credentials, Principal, UserDetailError, UserDetailProvider,
};

use storage::{AreaStorage, FtpUser};

/// What went wrong in a look-up on the area.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such file or folder, or a path the account may not see: one answer for both.
    #[error("no such file or folder")]
    NotFound,
    /// The area failed (a disk error, say): a temporary failure for the client.
    #[error("the download area failed: {0}")]
    Io(#[from] std::io::Error),
}

/// A file or folder of the area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// A folder (listed) or a file (downloaded).
    pub kind: EntryKind,
    /// The file's size in bytes (0 for a folder).
    pub size: u64,
    /// When it was last changed.
    pub modified: SystemTime,
}

/// Whether an [`Entry`] is a file or a folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A plain file.
    File,
    /// A folder.
    Folder,
}

/// A file being downloaded.
pub struct Download {
    /// Its bytes.
    pub reader: Box<dyn AsyncRead + Send + Sync + Unpin>,
    /// Its size in bytes.
    pub size: u64,
}

/// The download area as the FTP (and HTTPS) front ends see it: who may log in, and what lies
/// in the folder a login opens.
pub trait Area: Send + Sync + 'static {
    /// What a login opens: one organisation's folder, with who opened it (for the audit log).
    type Folder: Clone + fmt::Display + fmt::Debug + Send + Sync + 'static;

    /// Checks a 伝送 account's ID and password for `service` (`ftp`, `https-service`) from
    /// `peer`; on success, the folder of the account's organisation.
    fn login(
        &self,
        service: &'static str,
        id: &str,
        password: &str,
        peer: IpAddr,
    ) -> impl Future<Output = AuthOutcome<Self::Folder>> + Send;

    /// What `location` is in `folder`. The folder itself is a folder, even before anything is
    /// published in it.
    fn entry(
        &self,
        folder: &Self::Folder,
        location: &Location,
    ) -> impl Future<Output = Result<Entry, Error>> + Send;

    /// The names in the folder at `location`, each with its entry, sorted by name.
    fn list(
        &self,
        folder: &Self::Folder,
        location: &Location,
    ) -> impl Future<Output = Result<Vec<(String, Entry)>, Error>> + Send;

    /// Opens the file at `location` for download, and audits it.
    fn open(
        &self,
        folder: &Self::Folder,
        location: &Location,
    ) -> impl Future<Output = Result<Download, Error>> + Send;
}

/// `[ftp]` in `kxd.toml`: how the `listeners.ftp` listener hands out data connections.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FtpSettings {
    /// `passive_ports = [first, last]`: the ports passive data connections are bound on, for a
    /// firewall that must open them. Default: none given, any free port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passive_ports: Option<[u16; 2]>,
    /// `idle_timeout`: seconds a control connection may stay silent. Default 300.
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: u64,
}

fn default_idle_timeout() -> u64 {
    300
}

impl Default for FtpSettings {
    fn default() -> FtpSettings {
        FtpSettings {
            passive_ports: None,
            idle_timeout: default_idle_timeout(),
        }
    }
}

impl FtpSettings {
    /// The passive ports as libunftp takes them; `0..=0` binds any free port.
    pub fn passive_range(&self) -> RangeInclusive<u16> {
        match self.passive_ports {
            Some([first, last]) => first..=last,
            None => 0..=0,
        }
    }
}

/// Everything the FTP listener needs besides its socket and its area.
#[derive(Clone)]
pub struct FtpConfig {
    /// The installation's TLS configuration, for the control and the data connections.
    pub tls: Arc<rustls::ServerConfig>,
    /// Where passive data connections are bound (`0..=0`: any free port).
    pub passive_ports: RangeInclusive<u16>,
    /// How long a control connection may stay silent.
    pub idle_timeout: Duration,
    /// The accept loop's limits.
    pub listen: ListenerConfig,
}

impl FtpConfig {
    /// The configuration from `[ftp]` settings, the TLS configuration and the limits.
    pub fn new(
        settings: &FtpSettings,
        tls: Arc<rustls::ServerConfig>,
        listen: ListenerConfig,
    ) -> FtpConfig {
        FtpConfig {
            tls,
            passive_ports: settings.passive_range(),
            idle_timeout: Duration::from_secs(settings.idle_timeout),
            listen,
        }
    }
}

/// The greeting. No product name or version: nothing for a scanner to match.
const GREETING: &str = "KX download area: AUTH TLS required";

/// Serves FTPS on `listener` until `shutdown` turns true.
pub async fn serve<A: Area>(
    listener: tokio::net::TcpListener,
    config: FtpConfig,
    area: Arc<A>,
    shutdown: watch::Receiver<bool>,
) {
    let listener = Listener::new(listener, config.listen.clone());
    kx_listen::serve(listener, Ftp { config, area }, shutdown).await;
}

/// The FTP protocol for the accept loop.
struct Ftp<A> {
    config: FtpConfig,
    area: Arc<A>,
}

impl<A: Area> Protocol for Ftp<A> {
    fn refusal(&self) -> &[u8] {
        b"421 Too many connections, try again later.\r\n"
    }

    fn session(&self, connection: Connection) -> impl Future<Output = ()> + Send + 'static {
        let config = self.config.clone();
        let area = Arc::clone(&self.area);
        async move {
            let peer = connection.peer;
            let mut stop = connection.stop;
            // One libunftp server per connection: its login hands the folder to this
            // connection's storage alone, never to another session.
            let server = match build(&config, area) {
                Ok(server) => server,
                Err(e) => {
                    tracing::error!(error = %e, "ftp: cannot set up a session");
                    return;
                }
            };
            tokio::select! {
                result = server.service(connection.stream) => {
                    if let Err(e) = result {
                        tracing::warn!(%peer, error = %e, "ftp: session failed");
                    }
                }
                _ = async { drop(stop.wait_for(|&stop| stop).await) } => {}
            }
        }
    }
}

fn build<A: Area>(
    config: &FtpConfig,
    area: Arc<A>,
) -> Result<libunftp::Server<AreaStorage<A>, FtpUser<A::Folder>>, libunftp::ServerError> {
    let login = Arc::new(Login {
        area: Arc::clone(&area),
        folder: Mutex::new(None),
    });
    libunftp::ServerBuilder::<AreaStorage<A>, FtpUser<A::Folder>>::with_user_detail_provider(
        Box::new(move || AreaStorage::new(Arc::clone(&area))),
        login.clone(),
    )
    .authenticator(login)
    .greeting(GREETING)
    // The type parameter is unused by libunftp (a leftover of `ftps`); any path type does.
    .ftps_manual::<PathBuf>(Arc::clone(&config.tls))
    .ftps_required(FtpsRequired::All, FtpsRequired::All)
    .passive_ports(config.passive_ports.clone())
    .active_passive_mode(ActivePassiveMode::PassiveOnly)
    .sitemd5(SiteMd5::None)
    .idle_session_timeout(config.idle_timeout.as_secs())
    .build()
}

/// One connection's login: checks the password through the [`Area`], then hands the folder it
/// opened to libunftp's user detail provider, which asks for it right after.
struct Login<A: Area> {
    area: Arc<A>,
    folder: Mutex<Option<A::Folder>>,
}

impl<A: Area> fmt::Debug for Login<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Login")
    }
}

#[async_trait::async_trait]
impl<A: Area> Authenticator for Login<A> {
    async fn authenticate(
        &self,
        username: &str,
        creds: &Credentials,
    ) -> Result<Principal, AuthenticationError> {
        let Some(password) = creds.password.as_deref() else {
            return Err(AuthenticationError::BadPassword);
        };
        match self
            .area
            .login("ftp", username, password, creds.source_ip)
            .await
        {
            AuthOutcome::Authenticated(folder) => {
                *self.folder.lock().unwrap_or_else(|e| e.into_inner()) = Some(folder);
                Ok(Principal {
                    username: username.to_owned(),
                })
            }
            AuthOutcome::Busy => Err(AuthenticationError::new("the password checks are busy")),
            AuthOutcome::Rejected | AuthOutcome::LockedOut => Err(AuthenticationError::BadPassword),
        }
    }

    fn name(&self) -> &str {
        "kx"
    }
}

#[async_trait::async_trait]
impl<A: Area> UserDetailProvider for Login<A> {
    type User = FtpUser<A::Folder>;

    async fn provide_user_detail(
        &self,
        _principal: &Principal,
    ) -> Result<FtpUser<A::Folder>, UserDetailError> {
        self.folder
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .map(FtpUser)
            .ok_or_else(|| UserDetailError::new("no folder: the login did not succeed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passive_ports_default_to_any_free_one() {
        assert_eq!(FtpSettings::default().passive_range(), 0..=0);
        let set = FtpSettings {
            passive_ports: Some([50000, 50100]),
            ..FtpSettings::default()
        };
        assert_eq!(set.passive_range(), 50000..=50100);
    }
}

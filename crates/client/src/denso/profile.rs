//! Connection profiles: `<home>/profiles/<name>/profile.toml`, the password beside it, the
//! state store and the files fetched for it.
//!
//! The home is `--home DIR`, else `$KX_HOME`, else `$XDG_CONFIG_HOME/kx`, else
//! `~/.config/kx` (`%APPDATA%\kx` on Windows). The password is kept in
//! `profiles/<name>/password`, readable by its owner only (0600 in a 0700 directory; on
//! Windows the per-user ACL of the home), because `kx denso watch` must fetch unattended; with
//! `kx denso login --no-save-password` nothing is stored and every command asks for it (or
//! reads it with `--password-stdin`). The password never appears in a log, a message or the
//! profile file.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use kx_denso::AccountId;
use serde::{Deserialize, Serialize};

use kx_net::{self as net, Endpoint};

use crate::platform;

/// The settings file of a profile.
const PROFILE_FILE: &str = "profile.toml";
/// The saved password.
const PASSWORD_FILE: &str = "password";
/// The copy of the CA certificate given to `login --ca`.
const CA_FILE: &str = "ca.pem";
/// The state store.
pub(crate) const STATE_FILE: &str = "state.sqlite3";

/// What `profile.toml` holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Settings {
    /// The account ID (e.g. `J13123456780`).
    pub id: String,
    /// The federation's mail domain.
    pub domain: String,
    /// SMTP submission `host:port`.
    pub smtp: String,
    /// POP3 `host:port`.
    pub pop3: String,
    /// The FTP download area `host:port`, for service notices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ftp: Option<String>,
    /// The federation's transmit address (To of DataSend and DataDelete).
    pub transmit: String,
    /// Trust `ca.pem` in the profile directory instead of the system store.
    #[serde(default)]
    pub private_ca: bool,
    /// Skip STARTTLS / STLS (loopback only; for tests against servers without TLS).
    #[serde(default)]
    pub insecure_plaintext: bool,
    /// Socket timeout in seconds.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_timeout() -> u64 {
    net::DEFAULT_TIMEOUT.as_secs()
}

/// Where profiles live.
pub fn home(explicit: Option<&Path>) -> crate::Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir.to_owned());
    }
    if let Some(dir) = std::env::var_os("KX_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("kx"));
    }
    Ok(platform::default_home()?)
}

/// A loaded profile.
#[derive(Clone, Debug)]
pub struct Profile {
    /// Its name.
    pub name: String,
    /// Its directory.
    pub dir: PathBuf,
    /// Its settings.
    pub settings: Settings,
    /// The account.
    pub account: AccountId,
}

/// Checks a profile name: it becomes a directory name.
fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && !name.starts_with('.');
    if !ok {
        bail!("profile name {name:?}: use letters, digits, '-', '_' and '.'");
    }
    Ok(())
}

/// Splits `host:port` (`[v6]:port` for IPv6).
pub(crate) fn split_host_port(text: &str) -> anyhow::Result<(String, u16)> {
    let (host, port) = text
        .rsplit_once(':')
        .with_context(|| format!("{text:?} is not HOST:PORT"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = port
        .parse()
        .with_context(|| format!("{text:?}: the port is not a number"))?;
    if host.is_empty() {
        bail!("{text:?}: no host");
    }
    Ok((host.to_owned(), port))
}

impl Profile {
    /// Creates or replaces the profile `name` under `home` with `settings`, copying `ca` and
    /// saving `password` when given.
    pub(crate) fn save(
        home: &Path,
        name: &str,
        settings: Settings,
        ca: Option<&Path>,
        password: Option<&str>,
    ) -> anyhow::Result<Profile> {
        check_name(name)?;
        let account: AccountId = settings
            .id
            .parse()
            .with_context(|| format!("{:?} is not a 伝送 account ID", settings.id))?;
        let dir = home.join("profiles").join(name);
        platform::create_private_dir(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        if let Some(ca) = ca {
            let pem = std::fs::read(ca).with_context(|| format!("cannot read {}", ca.display()))?;
            write_private(&dir.join(CA_FILE), &pem, 0o644)?;
        }
        let text = toml::to_string(&settings)?;
        write_private(&dir.join(PROFILE_FILE), text.as_bytes(), 0o600)?;
        let password_file = dir.join(PASSWORD_FILE);
        match password {
            Some(password) => write_private(&password_file, password.as_bytes(), 0o600)?,
            None => {
                let _ = std::fs::remove_file(&password_file);
            }
        }
        Ok(Profile {
            name: name.to_owned(),
            dir,
            settings,
            account,
        })
    }

    /// Loads the profile `name` under `home`.
    pub fn load(home: &Path, name: &str) -> crate::Result<Profile> {
        check_name(name)?;
        let dir = home.join("profiles").join(name);
        let path = dir.join(PROFILE_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "no profile {name:?} ({} is missing): run kx denso login first",
                path.display()
            )
        })?;
        let settings: Settings =
            toml::from_str(&text).with_context(|| format!("{} is invalid", path.display()))?;
        let account = settings.id.parse().with_context(|| {
            format!("{}: {:?} is not an account ID", path.display(), settings.id)
        })?;
        Ok(Profile {
            name: name.to_owned(),
            dir,
            settings,
            account,
        })
    }

    /// The names of every profile under `home`.
    pub fn list(home: &Path) -> crate::Result<Vec<String>> {
        let dir = home.join("profiles");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(Vec::new());
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.path().join(PROFILE_FILE).is_file())
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .collect();
        names.sort();
        Ok(names)
    }

    /// The account's mail address.
    pub fn address(&self) -> String {
        self.account.address(&self.settings.domain)
    }

    /// The saved password, if the profile keeps one.
    pub fn saved_password(&self) -> crate::Result<Option<String>> {
        let path = self.dir.join(PASSWORD_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                platform::check_private(&path)?;
                Ok(Some(text))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow::Error::new(e)
                .context(format!("cannot read {}", path.display()))
                .into()),
        }
    }

    /// The TLS settings and endpoint for `host:port`.
    pub(crate) fn endpoint(&self, host_port: &str) -> anyhow::Result<Endpoint> {
        let ca = self.dir.join(CA_FILE);
        self.settings
            .endpoint(host_port, self.settings.private_ca.then_some(ca.as_path()))
    }
}

impl Settings {
    /// The endpoint for `host:port`, trusting `ca` (else the system store).
    pub(crate) fn endpoint(&self, host_port: &str, ca: Option<&Path>) -> anyhow::Result<Endpoint> {
        let (host, port) = split_host_port(host_port)?;
        let tls = net::tls::client_config(ca)?;
        Ok(Endpoint {
            host,
            port,
            tls: Arc::clone(&tls),
            insecure_plaintext: self.insecure_plaintext,
            timeout: Duration::from_secs(self.timeout_seconds.max(1)),
        })
    }
}

/// Writes a file with `mode` through a temporary name, so a crash leaves the old file or the
/// new one, never half of one.
fn write_private(path: &Path, data: &[u8], mode: u32) -> anyhow::Result<()> {
    let temp = path.with_extension("tmp");
    let mut file = platform::create_file_with_mode(&temp, mode)
        .with_context(|| format!("cannot write {}", temp.display()))?;
    file.write_all(data)?;
    file.sync_all()?;
    std::fs::rename(&temp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port() {
        assert_eq!(
            split_host_port("127.0.0.1:2587").expect("ok"),
            ("127.0.0.1".into(), 2587)
        );
        assert_eq!(
            split_host_port("[::1]:110").expect("ok"),
            ("::1".into(), 110)
        );
        assert!(split_host_port("localhost").is_err());
        assert!(split_host_port(":25").is_err());
        assert!(split_host_port("h:x").is_err());
    }

    #[test]
    fn profile_names_stay_inside_the_home() {
        for bad in ["", "..", "a/b", ".hidden", "a b"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        check_name("office-1.test").expect("fine");
    }
}

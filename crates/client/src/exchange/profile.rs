//! An exchange profile on disk: `$KX_HOME/exchange/<profile>/`.
//!
//! | file | what |
//! |---|---|
//! | `config.json` | kind (office/society), server URLs, login ID, party, sealed-name serial |
//! | `server-ca.pem` | the CA of the KX server's TLS certificate (`--ca` at setup) |
//! | `key.pem`, `cert.pem` | our key (under the PIN) and certificate |
//! | `old/<n>/key.pem`, `…/cert.pem` | keys replaced by a renewal, still able to open files sealed for them |
//! | `society-ca.pem` | the society's CA, the trust anchor of every exchange certificate |
//! | `society.pem` | the society's current certificates, as last fetched |
//! | `ca-key.pem` | society only: its CA key (under the PIN) |
//! | `password.enc` | the server password, under the PIN |
//! | `session.json` | the cached session token (0600) |
//! | `enrolment.json` | a certificate request still waiting for the society |
//! | `lock` | held while a command runs (E0001) |
//! | `Log/` | daily logs |
//!
//! Every file is written atomically (temporary file, fsync, rename, fsync of the directory)
//! with mode 0600 (on Windows: the per-user ACL of the home): a crash leaves the old or the
//! new file, never half of one.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use kx_crypto::keystore::KdfCost;
use kx_crypto::{Certificate, certificate_to_pem, parse_certificates};
use kx_exchange::Code;
use kx_exchange::api::{Party, PartyKind};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::failure::Failure;
use crate::platform;

/// What a profile remembers besides keys and certificates.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Config {
    /// Office app or society server.
    pub(crate) kind: PartyKind,
    /// The bootstrap (server-authenticated) URL, e.g. `https://kx.example:443`.
    pub(crate) server: String,
    /// The api (mutual TLS) URL.
    pub(crate) api_url: String,
    /// The login ID.
    pub(crate) id: String,
    /// Ourselves, as the server names us (known after the first login).
    #[serde(default)]
    pub(crate) party: Option<Party>,
    /// Our society (ourselves for a society).
    #[serde(default)]
    pub(crate) society: Option<Party>,
    /// The last serial used in a sealed name.
    #[serde(default)]
    pub(crate) serial: u32,
    /// Keys under the cheap test KDF (demo and test profiles only).
    #[serde(default)]
    pub(crate) insecure_fast_kdf: bool,
}

impl Config {
    /// The key-derivation cost for this profile's key files.
    pub(crate) fn kdf(&self) -> KdfCost {
        if self.insecure_fast_kdf {
            KdfCost::INSECURE_FAST
        } else {
            KdfCost::DEFAULT
        }
    }
}

/// The profile's lock (E0001 for a second `kx` on the same profile), held while it or any
/// clone of it lives: the browser app keeps one for its life and hands clones to the sessions
/// it opens and closes.
#[derive(Clone, Debug)]
pub struct ProfileLock {
    _file: std::sync::Arc<File>,
}

/// A profile's directory.
#[derive(Clone, Debug)]
pub struct ProfileDir {
    root: PathBuf,
}

impl ProfileDir {
    /// The profile `name` under `home` (`$KX_HOME`, default `~/.config/kx`, on Windows
    /// `%APPDATA%\kx`).
    pub fn new(home: Option<&Path>, name: &str) -> crate::Result<ProfileDir> {
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(crate::error::Usage(format!("bad profile name {name:?}")).into());
        }
        let home = match home {
            Some(home) => home.to_owned(),
            None => platform::default_home()?,
        };
        Ok(ProfileDir {
            root: home.join("exchange").join(name),
        })
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A file in the profile.
    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Whether the profile has been set up.
    pub(crate) fn exists(&self) -> bool {
        self.file("config.json").exists()
    }

    /// What the profile is: an office app, a society, or `None` when it is not set up yet.
    pub fn kind(&self) -> crate::Result<Option<PartyKind>> {
        if !self.exists() {
            return Ok(None);
        }
        Ok(Some(self.config()?.kind))
    }

    /// Writes a file of the face's own beside the profile's (the browser app's instance and
    /// preferences), atomically and private to the user. `name` is a plain file name.
    pub fn write_private(&self, name: &str, contents: &[u8]) -> crate::Result<()> {
        self.create()?;
        Ok(self.write(name, contents)?)
    }

    /// Reads a file written by [`ProfileDir::write_private`]; `None` when it is not there.
    pub fn read_private(&self, name: &str) -> crate::Result<Option<Vec<u8>>> {
        match fs::read(self.file(name)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow::Error::from(e).into()),
        }
    }

    /// Removes a file written by [`ProfileDir::write_private`] if it is there.
    pub fn remove_private(&self, name: &str) -> crate::Result<()> {
        Ok(self.remove(name)?)
    }

    /// Refuses to set up a profile twice (a usage error: choose another `--profile`).
    pub fn ensure_new(&self) -> crate::Result<()> {
        if self.exists() {
            return Err(crate::error::Usage(format!(
                "profile {} is set up already; choose another with --profile",
                self.root.display()
            ))
            .into());
        }
        Ok(())
    }

    /// Creates the directory, private to the user (0700; on Windows the per-user ACL of the
    /// home).
    pub(crate) fn create(&self) -> Result<()> {
        platform::create_private_dir(&self.root)
            .with_context(|| format!("creating {}", self.root.display()))
    }

    /// Takes the profile's lock for the life of the returned guard: a second `kx` on the same
    /// profile gets E0001 (the manual's 多重起動).
    pub fn lock(&self) -> crate::Result<ProfileLock> {
        Ok(ProfileLock {
            _file: std::sync::Arc::new(self.lock_file()?),
        })
    }

    fn lock_file(&self) -> Result<File> {
        self.create()?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.file("lock"))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(fs::TryLockError::WouldBlock) => Err(Failure::new(Code::E0001, &[]).into()),
            Err(fs::TryLockError::Error(e)) => Err(e.into()),
        }
    }

    /// The profile's settings; a profile never set up is a usage error.
    pub(crate) fn config(&self) -> Result<Config> {
        if !self.exists() {
            return Err(crate::error::Usage(format!(
                "no exchange profile at {}: run `kx setup` (or `kx society setup`) first",
                self.root.display()
            ))
            .into());
        }
        self.read_json("config.json")
    }

    /// Reads a JSON file of the profile.
    pub(crate) fn read_json<T: DeserializeOwned>(&self, name: &str) -> Result<T> {
        let path = self.file(name);
        let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))
    }

    /// Writes a JSON file of the profile, atomically.
    pub(crate) fn write_json<T: Serialize>(&self, name: &str, value: &T) -> Result<()> {
        self.write(name, &serde_json::to_vec_pretty(value)?)
    }

    /// Writes a file of the profile, atomically, mode 0600.
    pub(crate) fn write(&self, name: &str, contents: &[u8]) -> Result<()> {
        write_atomically(&self.file(name), contents)
    }

    /// The certificates in a PEM file of the profile.
    pub(crate) fn certificates(&self, name: &str) -> Result<Vec<Certificate>> {
        let path = self.file(name);
        let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        Ok(parse_certificates(&bytes)?)
    }

    /// The one certificate in a PEM file of the profile.
    pub(crate) fn certificate(&self, name: &str) -> Result<Certificate> {
        self.certificates(name)?
            .into_iter()
            .next()
            .with_context(|| format!("no certificate in {name}"))
    }

    /// Writes certificates as one PEM file.
    pub(crate) fn write_certificates(&self, name: &str, certs: &[Certificate]) -> Result<()> {
        let mut pem = String::new();
        for cert in certs {
            pem.push_str(&certificate_to_pem(cert)?);
        }
        self.write(name, pem.as_bytes())
    }

    /// Removes a file of the profile if it is there.
    pub(crate) fn remove(&self, name: &str) -> Result<()> {
        match fs::remove_file(self.file(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// The key/certificate pairs a renewal replaced, newest first: `old/<n>/`.
    pub(crate) fn old_generations(&self) -> Result<Vec<PathBuf>> {
        let dir = self.file("old");
        let mut found: Vec<(u32, PathBuf)> = match fs::read_dir(&dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let n = e.file_name().to_str()?.parse().ok()?;
                    Some((n, e.path()))
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        found.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
        Ok(found.into_iter().map(|(_, p)| p).collect())
    }

    /// Moves `key.pem` and `cert.pem` to a new `old/<n>/` before a renewal replaces them.
    pub(crate) fn retire_current_key(&self) -> Result<()> {
        let next = self
            .old_generations()?
            .first()
            .and_then(|p| p.file_name()?.to_str()?.parse::<u32>().ok())
            .map_or(1, |n| n + 1);
        let dir = self.file("old").join(next.to_string());
        fs::create_dir_all(&dir)?;
        for name in ["key.pem", "cert.pem"] {
            fs::copy(self.file(name), dir.join(name))?;
        }
        sync_dir(&dir)
    }
}

/// A setup of a profile (`kx setup`, `kx society setup`, the app's wizard), undone when it
/// fails: begun before anything makes the profile's directory (the log, the lock), it knows
/// which directories the setup made.
#[derive(Debug)]
pub struct SetupScope {
    root: PathBuf,
    /// The directories that were not there, the profile's own first, then its parents up to
    /// the first one that was.
    made: Vec<PathBuf>,
}

impl SetupScope {
    /// Notes what is there before the setup of `profile` makes anything.
    pub fn begin(profile: &ProfileDir) -> SetupScope {
        let made = profile
            .root
            .ancestors()
            .take_while(|dir| !dir.as_os_str().is_empty() && !dir.exists())
            .map(Path::to_path_buf)
            .collect();
        SetupScope {
            root: profile.root.clone(),
            made,
        }
    }

    /// After the setup failed: removes the profile's directory, with everything the setup
    /// wrote into it (keys, the sealed password, the log), when this setup made it and left
    /// nothing to keep: no settings (the profile is set up) and no request waiting for the
    /// society (a rerun resumes it). The parents it made go too when they are empty. Returns
    /// whether the directory was removed. Call it once every lock of the profile and the log
    /// are dropped (Windows removes no open file).
    pub fn failed(self) -> crate::Result<bool> {
        let Some((own, parents)) = self.made.split_first() else {
            return Ok(false);
        };
        debug_assert_eq!(own, &self.root);
        let keep = ["config.json", "enrolment.json"]
            .iter()
            .any(|name| self.root.join(name).exists());
        if keep || !self.root.exists() {
            return Ok(false);
        }
        fs::remove_dir_all(&self.root)
            .with_context(|| format!("removing the half-made {}", self.root.display()))?;
        for parent in parents {
            // Only an empty one: anything another command put there stays.
            if fs::remove_dir(parent).is_err() {
                break;
            }
        }
        Ok(true)
    }
}

/// Writes `contents` to `path` atomically, mode 0600.
pub(crate) fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = path.parent().context("a file path without a directory")?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".kx-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("writing into {}", dir.display()))?;
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .with_context(|| format!("replacing {}", path.display()))?;
    sync_dir(dir)
}

/// Makes a rename or creation in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    Ok(platform::sync_dir(dir)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_setup_removes_only_what_it_made() {
        let home = tempfile::tempdir().expect("a temporary directory");
        let kx = home.path().join("kx");
        let profile = ProfileDir::new(Some(&kx), "office").expect("a profile");

        // Made here, nothing to keep: gone with the parents it made.
        let scope = SetupScope::begin(&profile);
        profile.lock().expect("the lock");
        profile.write("password.enc", b"sealed").expect("a file");
        assert!(scope.failed().expect("removed"));
        assert!(!kx.exists(), "the parents the setup made are gone too");

        // A request waiting for the society is kept for the rerun.
        let scope = SetupScope::begin(&profile);
        profile.create().expect("the directory");
        profile.write("enrolment.json", b"{}").expect("a file");
        assert!(!scope.failed().expect("kept"));
        assert!(profile.file("enrolment.json").exists());

        // There before the setup: never removed.
        profile.remove("enrolment.json").expect("removed");
        let scope = SetupScope::begin(&profile);
        profile.write("key.new.pem", b"key").expect("a file");
        assert!(!scope.failed().expect("kept"));
        assert!(profile.file("key.new.pem").exists());
    }
}

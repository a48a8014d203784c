//! The key file on disk, replaced atomically.
//!
//! This is the crate's only file-system code, kept apart because atomic replacement needs
//! paths: a PIN change writes the re-encrypted key to a temporary file in the same directory,
//! syncs it, and renames it over the old one, so at every instant the path holds either the
//! old or the new valid key file, never a partial one.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{KdfCost, Pin, change_pin, decrypt_key, encrypt_key};
use crate::error::{Error, Result};
use crate::keys::PrivateKey;

/// A PIN-protected key file.
#[derive(Clone, Debug)]
pub struct KeyFile {
    path: PathBuf,
}

impl KeyFile {
    /// The key file at `path` (it need not exist yet).
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `key` under `pin` to a new file; refuses to overwrite an existing key.
    pub fn create(&self, key: &PrivateKey, pin: &Pin, cost: KdfCost) -> Result<()> {
        if self.path.exists() {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{} already exists", self.path.display()),
            )));
        }
        self.replace_with(encrypt_key(key, pin, cost)?.as_bytes())
    }

    /// Reads and decrypts the key.
    pub fn load(&self, pin: &Pin) -> Result<PrivateKey> {
        decrypt_key(&fs::read(&self.path)?, pin)
    }

    /// Re-encrypts the key under `new`, atomically.
    pub fn change_pin(&self, old: &Pin, new: &Pin, cost: KdfCost) -> Result<()> {
        let current = fs::read(&self.path)?;
        self.replace_with(change_pin(&current, old, new, cost)?.as_bytes())
    }

    fn replace_with(&self, contents: &[u8]) -> Result<()> {
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = self
            .path
            .file_name()
            .ok_or(Error::Key("key file path has no file name".into()))?;
        let mut tmp_name = name.to_os_string();
        tmp_name.push(".tmp");
        let tmp = dir.join(tmp_name);
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        // The key file is the user's only: 0600 on Unix; on Windows it takes the per-user ACL
        // of the profile directory it is written in.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        #[cfg(windows)]
        let _ = &mut options;
        let result = (|| -> Result<()> {
            let mut file = options.open(&tmp)?;
            file.write_all(contents)?;
            file.sync_all()?;
            fs::rename(&tmp, &self.path)?;
            // The rename itself must reach the disk before the old key is considered gone. On
            // Windows a directory cannot be opened as a file to flush it; NTFS journals the
            // rename.
            #[cfg(unix)]
            fs::File::open(dir)?.sync_all()?;
            #[cfg(windows)]
            let _ = dir;
            Ok(())
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }
}

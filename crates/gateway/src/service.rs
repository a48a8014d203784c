//! The read-only download area of service notices (spec §3, §6.8): what `kxd admin service
//! publish` puts in `DIR/service/<識別番号>/<location>/<file>`, and what FTPS (`kx-ftp`) and
//! HTTPS (`kx_web::service`) clients read from it, through [`kx_ftp::Area`].
//!
//! A login opens the folder of the account's organisation and nothing else: every path is a
//! [`Location`] inside it, so another organisation's folder cannot be named, and a path that
//! names nothing, a hidden name (the unfinished copies, `.…tmp`) or anything but a plain file
//! or folder (a symbolic link, say) is answered as missing. Every download is audited as
//! `<service>.download` with the location as its object.

use std::fmt;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use kx_denso::location::Location;
use kx_denso::{AccountId, OrgCode};
use kx_ftp::{Download, Entry, EntryKind, Error};
use kx_listen::AuthOutcome;
use kx_store::files;

use crate::Gateway;

/// The folder of the data directory that holds the download area.
pub const SERVICE_DIR: &str = "service";

/// The folder of `org` in the download area of `data_dir`.
pub fn org_folder(data_dir: &Path, org: &OrgCode) -> PathBuf {
    data_dir.join(SERVICE_DIR).join(org.as_str())
}

/// Where `location` lies under `folder`.
fn on_disk(folder: &Path, location: &Location) -> PathBuf {
    location
        .names()
        .fold(folder.to_owned(), |path, name| path.join(name))
}

/// A file to publish: its name in the folder, and where its bytes come from.
pub struct Source<'a> {
    /// The file's name (one path segment).
    pub name: String,
    /// Its contents.
    pub data: &'a mut dyn std::io::Read,
}

/// Copies `sources` into `org`'s folder at `location`, each durably (a hidden temporary copy,
/// synced, renamed into place, the folder synced): a client sees a file whole or not at all,
/// and a file published again is replaced. Returns the location of each file.
pub fn publish(
    data_dir: &Path,
    org: &OrgCode,
    location: &Location,
    sources: &mut [Source<'_>],
) -> anyhow::Result<Vec<Location>> {
    let targets = sources
        .iter()
        .map(|source| Ok(location.join(&source.name)?))
        .collect::<anyhow::Result<Vec<Location>>>()?;
    let folder = org_folder(data_dir, org);
    let dir = on_disk(&folder, location);
    files::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (source, target) in sources.iter_mut().zip(&targets) {
        let name = target.file_name().unwrap_or_default();
        let temp = dir.join(format!(".{name}.tmp"));
        let mut output = files::options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)
            .with_context(|| format!("cannot create {}", temp.display()))?;
        std::io::copy(source.data, &mut output)
            .with_context(|| format!("cannot copy {}", source.name))?;
        output.flush()?;
        output.sync_all()?;
        std::fs::rename(&temp, dir.join(name))
            .with_context(|| format!("cannot publish {target}"))?;
    }
    // The new names, and any folder created for them, survive a crash once their parents are
    // synced, up to the area itself.
    let area = data_dir.join(SERVICE_DIR);
    for ancestor in dir.ancestors().take_while(|a| a.starts_with(&area)) {
        std::fs::File::open(ancestor)?.sync_all()?;
    }
    Ok(targets)
}

/// What a login to the download area opens: the folder of the account's organisation, with
/// who opened it from where, for the audit log.
#[derive(Clone, Debug)]
pub struct Folder {
    account: AccountId,
    peer: IpAddr,
    service: &'static str,
    path: PathBuf,
}

impl fmt::Display for Folder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.account.fmt(f)
    }
}

/// The entry of a file or folder on disk; anything else is missing.
fn entry(metadata: &std::fs::Metadata) -> Result<Entry, Error> {
    let kind = if metadata.is_file() {
        EntryKind::File
    } else if metadata.is_dir() {
        EntryKind::Folder
    } else {
        return Err(Error::NotFound);
    };
    Ok(Entry {
        kind,
        size: if kind == EntryKind::File {
            metadata.len()
        } else {
            0
        },
        modified: metadata.modified()?,
    })
}

/// Reads a file or folder without following a symbolic link; a missing one is `NotFound`.
async fn look(path: &Path) -> Result<Entry, Error> {
    match tokio::fs::symlink_metadata(path).await {
        Ok(metadata) => entry(&metadata),
        Err(e) if is_missing(&e) => Err(Error::NotFound),
        Err(e) => Err(Error::Io(e)),
    }
}

/// Whether an I/O error means "nothing there" (a missing name, or a file where a folder was
/// expected on the way).
fn is_missing(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
    )
}

impl kx_ftp::Area for Gateway {
    type Folder = Folder;

    async fn login(
        &self,
        service: &'static str,
        id: &str,
        password: &str,
        peer: IpAddr,
    ) -> AuthOutcome<Folder> {
        match Gateway::login(self, service, id, password, peer).await {
            AuthOutcome::Authenticated(account) => {
                let path = org_folder(&self.data_dir, &account.org().org_code());
                AuthOutcome::Authenticated(Folder {
                    account,
                    peer,
                    service,
                    path,
                })
            }
            AuthOutcome::Rejected => AuthOutcome::Rejected,
            AuthOutcome::LockedOut => AuthOutcome::LockedOut,
            AuthOutcome::Busy => AuthOutcome::Busy,
        }
    }

    async fn entry(&self, folder: &Folder, location: &Location) -> Result<Entry, Error> {
        match look(&on_disk(&folder.path, location)).await {
            // Nothing published yet: the folder is there all the same, and empty.
            Err(Error::NotFound) if location.is_root() => Ok(Entry {
                kind: EntryKind::Folder,
                size: 0,
                modified: std::time::SystemTime::UNIX_EPOCH,
            }),
            found => found,
        }
    }

    async fn list(
        &self,
        folder: &Folder,
        location: &Location,
    ) -> Result<Vec<(String, Entry)>, Error> {
        if kx_ftp::Area::entry(self, folder, location).await?.kind != EntryKind::Folder {
            return Err(Error::NotFound);
        }
        let path = on_disk(&folder.path, location);
        let mut dir = match tokio::fs::read_dir(&path).await {
            Ok(dir) => dir,
            Err(e) if is_missing(&e) => return Ok(Vec::new()),
            Err(e) => return Err(Error::Io(e)),
        };
        let mut names = Vec::new();
        while let Some(item) = dir.next_entry().await? {
            // Only what a client could ask for: plain names (not the hidden unfinished
            // copies), plain files and folders.
            let Some(name) = item.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if location.join(&name).is_err() {
                continue;
            }
            if let Ok(found) = entry(&item.metadata().await?) {
                names.push((name, found));
            }
        }
        names.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(names)
    }

    async fn open(&self, folder: &Folder, location: &Location) -> Result<Download, Error> {
        let object = location.to_string();
        let action = format!("{}.download", folder.service);
        let actor = folder.account.to_string();
        let path = on_disk(&folder.path, location);
        let opened = match look(&path).await {
            Ok(found) if found.kind == EntryKind::File => tokio::fs::File::open(&path)
                .await
                .map(|file| (file, found.size))
                .map_err(|e| {
                    if is_missing(&e) {
                        Error::NotFound
                    } else {
                        Error::Io(e)
                    }
                }),
            Ok(_) => Err(Error::NotFound),
            Err(e) => Err(e),
        };
        let outcome = match &opened {
            Ok(_) => "ok",
            Err(Error::NotFound) => "missing",
            Err(Error::Io(_)) => "error",
        };
        self.audit(&actor, &action, &object, Some(folder.peer), outcome)
            .await;
        let (file, size) = opened?;
        Ok(Download {
            reader: Box::new(file),
            size,
        })
    }
}

//! libunftp's storage back end over an [`Area`]: reads only, every path checked as a
//! [`Location`] first.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use kx_denso::location::Location;
use tokio::io::{AsyncRead, AsyncReadExt as _};
use unftp_core::auth::UserDetail;
use unftp_core::storage::{self, ErrorKind, Fileinfo, Metadata, Permissions, StorageBackend};

use crate::{Area, Entry, EntryKind, Error};

/// The logged-in account's folder, as libunftp carries it through the session.
#[derive(Debug)]
pub(crate) struct FtpUser<F>(pub(crate) F);

impl<F: fmt::Display> fmt::Display for FtpUser<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<F: fmt::Display + fmt::Debug + Send + Sync> UserDetail for FtpUser<F> {}

/// One session's view of the area.
pub(crate) struct AreaStorage<A> {
    area: Arc<A>,
}

impl<A> AreaStorage<A> {
    pub(crate) fn new(area: Arc<A>) -> AreaStorage<A> {
        AreaStorage { area }
    }
}

impl<A> fmt::Debug for AreaStorage<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AreaStorage")
    }
}

/// An [`Entry`] as libunftp lists it: read-only for the owner, no owner or group.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Meta(Entry);

impl Metadata for Meta {
    fn len(&self) -> u64 {
        self.0.size
    }

    fn is_dir(&self) -> bool {
        self.0.kind == EntryKind::Folder
    }

    fn is_file(&self) -> bool {
        self.0.kind == EntryKind::File
    }

    fn is_symlink(&self) -> bool {
        false
    }

    fn modified(&self) -> storage::Result<SystemTime> {
        Ok(self.0.modified)
    }

    fn gid(&self) -> u32 {
        0
    }

    fn uid(&self) -> u32 {
        0
    }

    fn permissions(&self) -> Permissions {
        Permissions(if self.is_dir() { 0o500 } else { 0o400 })
    }
}

/// The location a client's path names; a path that is not one (it leads above the folder,
/// say) is missing, like a path that names nothing.
fn location(path: &Path) -> storage::Result<Location> {
    path.to_str()
        .and_then(|text| Location::parse(text).ok())
        .ok_or_else(|| ErrorKind::PermanentFileNotAvailable.into())
}

fn failure(error: Error) -> storage::Error {
    match error {
        Error::NotFound => ErrorKind::PermanentFileNotAvailable.into(),
        Error::Io(e) => storage::Error::new(ErrorKind::LocalError, e),
    }
}

/// Every command that would change the area.
fn read_only<T>() -> storage::Result<T> {
    Err(ErrorKind::PermissionDenied.into())
}

#[async_trait::async_trait]
impl<A: Area> StorageBackend<FtpUser<A::Folder>> for AreaStorage<A> {
    type Metadata = Meta;

    async fn metadata<P: AsRef<Path> + Send + fmt::Debug>(
        &self,
        user: &FtpUser<A::Folder>,
        path: P,
    ) -> storage::Result<Meta> {
        let location = location(path.as_ref())?;
        let entry = self.area.entry(&user.0, &location).await.map_err(failure)?;
        Ok(Meta(entry))
    }

    async fn list<P: AsRef<Path> + Send + fmt::Debug>(
        &self,
        user: &FtpUser<A::Folder>,
        path: P,
    ) -> storage::Result<Vec<Fileinfo<PathBuf, Meta>>> {
        let location = location(path.as_ref())?;
        let entries = self.area.list(&user.0, &location).await.map_err(failure)?;
        Ok(entries
            .into_iter()
            .map(|(name, entry)| Fileinfo {
                path: PathBuf::from(name),
                metadata: Meta(entry),
            })
            .collect())
    }

    async fn get<P: AsRef<Path> + Send + fmt::Debug>(
        &self,
        user: &FtpUser<A::Folder>,
        path: P,
        start_pos: u64,
    ) -> storage::Result<Box<dyn AsyncRead + Send + Sync + Unpin>> {
        let location = location(path.as_ref())?;
        let mut download = self.area.open(&user.0, &location).await.map_err(failure)?;
        if start_pos > 0 {
            // A restarted download (REST): skip what the client has.
            tokio::io::copy(
                &mut (&mut download.reader).take(start_pos),
                &mut tokio::io::sink(),
            )
            .await?;
        }
        Ok(download.reader)
    }

    async fn put<
        P: AsRef<Path> + Send + fmt::Debug,
        R: AsyncRead + Send + Sync + Unpin + 'static,
    >(
        &self,
        _user: &FtpUser<A::Folder>,
        _input: R,
        _path: P,
        _start_pos: u64,
    ) -> storage::Result<u64> {
        read_only()
    }

    async fn del<P: AsRef<Path> + Send + fmt::Debug>(
        &self,
        _user: &FtpUser<A::Folder>,
        _path: P,
    ) -> storage::Result<()> {
        read_only()
    }

    async fn mkd<P: AsRef<Path> + Send + fmt::Debug>(
        &self,
        _user: &FtpUser<A::Folder>,
        _path: P,
    ) -> storage::Result<()> {
        read_only()
    }

    async fn rename<P: AsRef<Path> + Send + fmt::Debug>(
        &self,
        _user: &FtpUser<A::Folder>,
        _from: P,
        _to: P,
    ) -> storage::Result<()> {
        read_only()
    }

    async fn rmd<P: AsRef<Path> + Send + fmt::Debug>(
        &self,
        _user: &FtpUser<A::Folder>,
        _path: P,
    ) -> storage::Result<()> {
        read_only()
    }

    async fn cwd<P: AsRef<Path> + Send + fmt::Debug>(
        &self,
        user: &FtpUser<A::Folder>,
        path: P,
    ) -> storage::Result<()> {
        match self.metadata(user, path).await?.0.kind {
            EntryKind::Folder => Ok(()),
            // A file is no folder to change into: the same answer as a missing one.
            EntryKind::File => Err(ErrorKind::PermanentFileNotAvailable.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_paths_stay_in_the_folder() {
        let shown = |path: &str| location(Path::new(path)).ok().map(|l| l.to_string());
        assert_eq!(shown("/kaigo/x/../y.csv").as_deref(), Some("/kaigo/y.csv"));
        assert_eq!(shown("/").as_deref(), Some("/"));
        for outside in ["/..", "/a/../../0000131011", "/a\\b", "/.x.tmp"] {
            assert_eq!(shown(outside), None, "{outside}");
        }
        assert_eq!(
            Meta(Entry {
                kind: EntryKind::File,
                size: 3,
                modified: SystemTime::UNIX_EPOCH,
            })
            .permissions()
            .to_string(),
            "r--------"
        );
    }
}

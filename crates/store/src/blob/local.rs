//! Blobs in a local directory: the embedded default.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt as _;
use tokio_util::io::ReaderStream;

use super::{BlobId, BlobStore, BlobStream, BlobUpload, BoxFuture, StoredBlob, Tally, Writer};
use crate::{Error, files};

/// How much of a blob a read stream takes from the file at a time.
const READ_CHUNK: usize = 64 * 1024;

/// How much of an upload is gathered before it is written out.
const UPLOAD_BUFFER: usize = 256 * 1024;

/// Distinguishes temporary files of concurrent writers in one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Blobs in a local directory: `ROOT/ab/abcdef…` (fan-out by the first two hex digits), written
/// to `ROOT/tmp/` first, fsynced, renamed into place, and the directory fsynced.
#[derive(Clone, Debug)]
pub(crate) struct LocalBlobs {
    root: PathBuf,
}

impl LocalBlobs {
    /// Opens (creating) the directory. What crashed writes left in its temporary area stays
    /// until [`BlobStore::sweep_temporary`]: another process may be writing there now.
    pub(crate) fn open(root: &Path) -> Result<LocalBlobs, Error> {
        let blobs = LocalBlobs {
            root: root.to_owned(),
        };
        files::create_dir_all(&blobs.temp_dir())?;
        Ok(blobs)
    }

    fn temp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub(super) fn path(&self, id: &BlobId) -> PathBuf {
        self.root.join(&id.as_str()[..2]).join(id.as_str())
    }

    /// Writes every source and syncs each touched directory once.
    fn put_sources(&self, sources: &mut [&mut dyn Read]) -> io::Result<Vec<BlobId>> {
        let mut dirs = BTreeSet::new();
        let mut ids = Vec::with_capacity(sources.len());
        for source in sources {
            let id = self.write_one(&mut **source, &mut dirs)?;
            ids.push(id);
        }
        for dir in dirs {
            File::open(dir)?.sync_all()?;
        }
        Ok(ids)
    }

    /// Copies `source` into a temporary file, fsyncs it and renames it to its id. The final
    /// name only ever holds complete content; on failure the temporary file is removed.
    /// Records the directories whose entries changed in `dirs` (they still need an fsync).
    fn write_one(&self, source: &mut dyn Read, dirs: &mut BTreeSet<PathBuf>) -> io::Result<BlobId> {
        let temp = self.temp_name("");
        let result = self.fill_and_place(&temp, source, dirs);
        if result.is_err() {
            // Best effort: a leftover is only garbage, never visible under a blob id.
            let _ = fs::remove_file(&temp);
        }
        result
    }

    fn fill_and_place(
        &self,
        temp: &Path,
        source: &mut dyn Read,
        dirs: &mut BTreeSet<PathBuf>,
    ) -> io::Result<BlobId> {
        let mut file = files::create_new(temp)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0; 64 * 1024];
        loop {
            let n = match source.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            hasher.update(&buffer[..n]);
            file.write_all(&buffer[..n])?;
        }
        file.sync_all()?;
        drop(file);
        let id = BlobId::from_digest(hasher.finalize().as_slice());
        // Same content, same name: replacing an existing blob changes nothing, and the
        // directory is synced again in case the earlier writer crashed before its sync.
        self.rename_into(temp, &id, dirs)?;
        Ok(id)
    }

    /// Renames `temp` to the blob `id`, creating its fan-out directory; records the
    /// directories whose entries changed in `dirs` (they still need an fsync).
    fn rename_into(
        &self,
        temp: &Path,
        id: &BlobId,
        dirs: &mut BTreeSet<PathBuf>,
    ) -> io::Result<()> {
        let path = self.path(id);
        let dir = path.parent().unwrap_or(&self.root).to_owned();
        if !dir.exists() {
            files::create_dir(&dir).or_else(|e| match e.kind() {
                io::ErrorKind::AlreadyExists => Ok(()),
                _ => Err(e),
            })?;
            dirs.insert(self.root.clone());
        }
        fs::rename(temp, &path)?;
        dirs.insert(dir);
        Ok(())
    }

    fn read_checked(&self, id: &BlobId) -> Result<Vec<u8>, Error> {
        let data = match fs::read(self.path(id)) {
            Ok(data) => data,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::NotFound(format!("blob {id}")));
            }
            Err(e) => return Err(e.into()),
        };
        if BlobId::of(&data) != *id {
            return Err(Error::CorruptBlob(id.to_string()));
        }
        Ok(data)
    }
}

impl LocalBlobs {
    /// Starts writing a blob under `id`: bytes go to a temporary file until
    /// [`Staging::finish`] makes them durable and visible.
    async fn stage_file(&self, id: BlobId) -> Result<BlobUpload, Error> {
        let temp = self.temp_name("");
        let file = files::tokio_options()
            .write(true)
            .create_new(true)
            .open(&temp)
            .await?;
        Ok(BlobUpload::new(
            id,
            Writer::Local(Staging {
                blobs: self.clone(),
                temp: Some(temp),
                // Network frames are small; batching them saves a blocking write per frame.
                file: Some(tokio::io::BufWriter::with_capacity(UPLOAD_BUFFER, file)),
            }),
        ))
    }

    async fn open_file(&self, id: &BlobId) -> Result<BlobStream, Error> {
        match tokio::fs::File::open(self.path(id)).await {
            Ok(file) => Ok(BlobStream::new(ReaderStream::with_capacity(
                file, READ_CHUNK,
            ))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(Error::NotFound(format!("blob {id}")))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn remove_file(&self, id: &BlobId) -> Result<(), Error> {
        match tokio::fs::remove_file(self.path(id)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn list_blocking(&self) -> io::Result<Vec<StoredBlob>> {
        let mut found = Vec::new();
        for fan in fs::read_dir(&self.root)? {
            let fan = fan?;
            if fan.file_name().len() != 2 || !fan.file_type()?.is_dir() {
                continue;
            }
            for entry in fs::read_dir(fan.path())? {
                let entry = entry?;
                let Some(id) = entry
                    .file_name()
                    .to_str()
                    .and_then(|n| BlobId::parse(n).ok())
                else {
                    continue;
                };
                let Some((age, size)) = age_and_size(&entry.path())? else {
                    continue;
                };
                found.push(StoredBlob { id, age, size });
            }
        }
        Ok(found)
    }

    /// Removes the blob `id` if its file was last written at least `grace` ago. The file is
    /// first moved aside and its age read again from the moved file itself: if a writer put
    /// the same content in place just before the move, the young file goes back (same name,
    /// same content, so putting it back is harmless even if the writer has put it there once
    /// more meanwhile).
    fn remove_if_stale_blocking(&self, id: &BlobId, grace: Duration) -> io::Result<Option<u64>> {
        let path = self.path(id);
        if age_and_size(&path)?.is_none_or(|(age, _)| age < grace) {
            return Ok(None);
        }
        let aside = self.temp_name("gc");
        match fs::rename(&path, &aside) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        }
        match age_and_size(&aside)? {
            Some((age, size)) if age >= grace => {
                fs::remove_file(&aside)?;
                Ok(Some(size))
            }
            _ => {
                fs::rename(&aside, &path)?;
                Ok(None)
            }
        }
    }

    fn sweep_temporary_blocking(&self, older_than: Duration, dry_run: bool) -> io::Result<Tally> {
        let mut swept = Tally::default();
        for entry in fs::read_dir(self.temp_dir())? {
            let path = entry?.path();
            let Some((age, size)) = age_and_size(&path)? else {
                continue;
            };
            if age < older_than {
                continue;
            }
            if !dry_run {
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    // Finished (renamed into place) or removed by its writer meanwhile.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                }
            }
            swept.add(size);
        }
        Ok(swept)
    }

    /// A fresh name in the temporary area, unique in this process and across processes.
    fn temp_name(&self, prefix: &str) -> PathBuf {
        self.temp_dir().join(format!(
            "{prefix}{}.{}",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ))
    }

    /// Moves a finished temporary file to its blob name and syncs the directories involved.
    fn place(&self, temp: &Path, id: &BlobId) -> io::Result<()> {
        let mut dirs = BTreeSet::new();
        self.rename_into(temp, id, &mut dirs)?;
        for dir in dirs {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

/// An upload's temporary file. Dropped unfinished, it is removed.
#[derive(Debug)]
pub(super) struct Staging {
    blobs: LocalBlobs,
    temp: Option<PathBuf>,
    file: Option<tokio::io::BufWriter<tokio::fs::File>>,
}

impl Staging {
    /// Appends a chunk.
    pub(super) async fn write(&mut self, chunk: &[u8]) -> Result<(), Error> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| Error::Invalid("write after finish".into()))?;
        file.write_all(chunk).await?;
        Ok(())
    }

    /// Syncs the content and moves it under `id`: once this returns, the blob survives a
    /// crash.
    pub(super) async fn finish(mut self, id: BlobId) -> Result<BlobId, Error> {
        let (Some(mut file), Some(temp)) = (self.file.take(), self.temp.clone()) else {
            return Err(Error::Invalid("finish twice".into()));
        };
        file.flush().await?;
        file.get_ref().sync_all().await?;
        drop(file);
        let blobs = self.blobs.clone();
        let placed = id.clone();
        tokio::task::spawn_blocking(move || blobs.place(&temp, &placed)).await??;
        self.temp = None;
        Ok(id)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            // Best effort: a leftover is removed by the next start or garbage collection.
            let _ = fs::remove_file(temp);
        }
    }
}

impl BlobStore for LocalBlobs {
    fn put_all(&self, blobs: Vec<Vec<u8>>) -> BoxFuture<'_, Result<Vec<BlobId>, Error>> {
        let this = self.clone();
        Box::pin(async move {
            let ids = tokio::task::spawn_blocking(move || {
                let mut slices: Vec<&[u8]> = blobs.iter().map(Vec::as_slice).collect();
                let mut sources: Vec<&mut dyn Read> =
                    slices.iter_mut().map(|s| s as &mut dyn Read).collect();
                this.put_sources(&mut sources)
            })
            .await??;
            Ok(ids)
        })
    }

    fn get(&self, id: BlobId) -> BoxFuture<'_, Result<Vec<u8>, Error>> {
        let this = self.clone();
        Box::pin(async move { tokio::task::spawn_blocking(move || this.read_checked(&id)).await? })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredBlob>, Error>> {
        let this = self.clone();
        Box::pin(
            async move { Ok(tokio::task::spawn_blocking(move || this.list_blocking()).await??) },
        )
    }

    fn remove_if_stale(
        &self,
        id: BlobId,
        grace: Duration,
    ) -> BoxFuture<'_, Result<Option<u64>, Error>> {
        let this = self.clone();
        Box::pin(async move {
            Ok(
                tokio::task::spawn_blocking(move || this.remove_if_stale_blocking(&id, grace))
                    .await??,
            )
        })
    }

    fn sweep_temporary(
        &self,
        older_than: Duration,
        dry_run: bool,
    ) -> BoxFuture<'_, Result<Tally, Error>> {
        let this = self.clone();
        Box::pin(async move {
            Ok(tokio::task::spawn_blocking(move || {
                this.sweep_temporary_blocking(older_than, dry_run)
            })
            .await??)
        })
    }

    fn stage_as(&self, id: BlobId) -> BoxFuture<'_, Result<BlobUpload, Error>> {
        Box::pin(self.stage_file(id))
    }

    fn open_stream(&self, id: BlobId) -> BoxFuture<'_, Result<BlobStream, Error>> {
        Box::pin(async move { self.open_file(&id).await })
    }

    fn remove(&self, id: BlobId) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move { self.remove_file(&id).await })
    }
}

/// The time since `path` was last written and its size; `None` when it is gone.
fn age_and_size(path: &Path) -> io::Result<Option<(Duration, u64)>> {
    match fs::symlink_metadata(path) {
        Ok(meta) => Ok(Some((
            meta.modified()?.elapsed().unwrap_or(Duration::ZERO),
            meta.len(),
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;

    /// Makes a file look `by` older than it is.
    fn age(path: &Path, by: Duration) -> io::Result<()> {
        let then = SystemTime::now() - by;
        File::options().write(true).open(path)?.set_modified(then)
    }

    /// A source that yields some bytes, then fails like a dropped connection or a full disk.
    struct FailingSource {
        left: usize,
    }

    impl Read for FailingSource {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.left == 0 {
                return Err(io::Error::other("simulated failure"));
            }
            let n = buf.len().min(self.left);
            buf[..n].fill(b'x');
            self.left -= n;
            Ok(n)
        }
    }

    fn files_under(dir: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                found.extend(files_under(&path));
            } else {
                found.push(path);
            }
        }
        found
    }

    #[tokio::test]
    async fn put_then_get_round_trips_and_names_by_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = LocalBlobs::open(dir.path()).unwrap();
        let ids = blobs
            .put_all(vec![b"abc".to_vec(), b"abc".to_vec()])
            .await
            .unwrap();
        assert_eq!(
            ids[0].as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(ids[0], ids[1]);
        assert_eq!(blobs.get(ids[0].clone()).await.unwrap(), b"abc");
        assert!(files_under(&dir.path().join("tmp")).is_empty());
    }

    #[test]
    fn a_failed_write_leaves_no_blob_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = LocalBlobs::open(dir.path()).unwrap();
        let mut source = FailingSource { left: 200_000 };
        let mut sources: [&mut dyn Read; 1] = [&mut source];
        assert!(blobs.put_sources(&mut sources).is_err());
        assert_eq!(files_under(dir.path()), Vec::<PathBuf>::new());
    }

    #[test]
    fn a_blob_that_changed_on_disk_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = LocalBlobs::open(dir.path()).unwrap();
        let mut data: &[u8] = b"original";
        let mut sources: [&mut dyn Read; 1] = [&mut data];
        let id = blobs.put_sources(&mut sources).unwrap().remove(0);
        fs::write(blobs.path(&id), b"origina").unwrap();
        assert!(matches!(
            blobs.read_checked(&id),
            Err(Error::CorruptBlob(_))
        ));
    }

    #[tokio::test]
    async fn sweeping_removes_temporary_files_older_than_asked() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = LocalBlobs::open(dir.path()).unwrap();
        // What a crash in the middle of a write leaves: a partial temporary file.
        let stale = blobs.temp_dir().join("1.0");
        let fresh = blobs.temp_dir().join("2.0");
        fs::write(&stale, b"part").unwrap();
        fs::write(&fresh, b"being written").unwrap();
        age(&stale, Duration::from_secs(7200)).unwrap();
        let hour = Duration::from_secs(3600);
        let counted = blobs.sweep_temporary(hour, true).await.unwrap();
        assert_eq!(counted, Tally { count: 1, bytes: 4 });
        assert!(stale.exists(), "a dry run removes nothing");
        assert_eq!(blobs.sweep_temporary(hour, false).await.unwrap(), counted);
        assert!(!stale.exists());
        assert!(fresh.exists());
        blobs.sweep_temporary(Duration::ZERO, false).await.unwrap();
        assert!(!fresh.exists(), "at start-up nothing is in flight");
    }

    #[tokio::test]
    async fn only_stale_blobs_are_removed_and_a_rewrite_keeps_its_blob() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = LocalBlobs::open(dir.path()).unwrap();
        let id = blobs
            .put_all(vec![b"abc".to_vec()])
            .await
            .unwrap()
            .remove(0);
        let hour = Duration::from_secs(3600);
        assert_eq!(blobs.remove_if_stale(id.clone(), hour).await.unwrap(), None);
        age(&blobs.path(&id), hour * 2).unwrap();
        // The same content stored anew (a writer about to commit a row naming it) is young.
        blobs.put_all(vec![b"abc".to_vec()]).await.unwrap();
        assert_eq!(blobs.remove_if_stale(id.clone(), hour).await.unwrap(), None);
        assert_eq!(blobs.get(id.clone()).await.unwrap(), b"abc");
        age(&blobs.path(&id), hour * 2).unwrap();
        assert_eq!(
            blobs.remove_if_stale(id.clone(), hour).await.unwrap(),
            Some(3)
        );
        assert!(matches!(blobs.read_checked(&id), Err(Error::NotFound(_))));
        assert!(files_under(&blobs.temp_dir()).is_empty());
        assert_eq!(blobs.remove_if_stale(id, hour).await.unwrap(), None);
    }

    #[test]
    fn ids_from_the_database_cannot_name_other_paths() {
        assert!(BlobId::parse("../../etc/passwd").is_err());
        assert!(BlobId::parse(&"A".repeat(64)).is_err());
        assert!(BlobId::parse(BlobId::of(b"x").as_str()).is_ok());
    }
}

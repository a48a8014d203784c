//! Safe extraction into a directory: nothing lands outside it, no partial file is left.

use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::{Budget, Error, Reader};

/// What [`extract`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extracted {
    /// Files written.
    pub files: usize,
    /// Directory entries created.
    pub directories: usize,
    /// Bytes of file data written.
    pub bytes: u64,
}

fn fs_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::File {
        path: path.to_owned(),
        source,
    }
}

/// Creates `dir` and its parents under `root`, refusing to pass through a link or a file
/// already there (a link planted in the target could otherwise lead outside it).
fn ensure_directory(root: &Path, relative: &Path) -> Result<PathBuf, Error> {
    let mut dir = root.to_owned();
    for component in relative.components() {
        dir.push(component);
        match fs::symlink_metadata(&dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(meta) => {
                let found = if meta.is_symlink() { "link" } else { "file" };
                return Err(Error::Obstructed { path: dir, found });
            }
            Err(_) => fs::create_dir(&dir).map_err(fs_error(&dir))?,
        }
    }
    Ok(dir)
}

/// A temporary file in `dir`, readable by all like any extracted file (temporary files are
/// private by default).
fn temp_file_in(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".kx-lzh-");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    builder.tempfile_in(dir)
}

/// Extracts every entry of `archive` under `dest` (created if missing), drawing on `budget`.
///
/// Paths are checked before anything is written (absolute paths, `..`, drive letters and
/// links are refused), existing links in `dest` are never followed, and each file is written
/// to a temporary name in its directory and renamed into place only once its CRC-16 has
/// checked out, so a failing entry leaves nothing behind. Entries extracted before a
/// failure stay.
pub fn extract<R: Read>(archive: R, dest: &Path, budget: &mut Budget) -> Result<Extracted, Error> {
    fs::create_dir_all(dest).map_err(fs_error(dest))?;
    let mut reader = Reader::new(archive, budget);
    let mut done = Extracted::default();
    while let Some(entry) = reader.next_entry()? {
        let relative = entry.path.to_path_buf();
        if entry.is_directory {
            ensure_directory(dest, &relative)?;
            done.directories += 1;
            continue;
        }
        let parent = match relative.parent() {
            Some(parent) => ensure_directory(dest, parent)?,
            None => dest.to_owned(),
        };
        let target = dest.join(&relative);
        if fs::symlink_metadata(&target).is_ok_and(|meta| meta.is_dir()) {
            return Err(Error::Obstructed {
                path: target,
                found: "directory",
            });
        }
        let temp = temp_file_in(&parent).map_err(fs_error(&parent))?;
        let mut out = BufWriter::new(temp);
        done.bytes += reader.read_data(&mut out)?;
        out.flush().map_err(fs_error(&target))?;
        let temp = out
            .into_inner()
            .map_err(|err| fs_error(&target)(err.into_error()))?;
        if let Some(modified) = entry.modified {
            temp.as_file()
                .set_modified(modified)
                .map_err(fs_error(&target))?;
        }
        // Renaming replaces a link at the target itself rather than writing through it.
        temp.persist(&target)
            .map_err(|err| fs_error(&target)(err.error))?;
        done.files += 1;
    }
    Ok(done)
}

/// Opens an archive file for [`extract`] or [`crate::list`].
pub fn open(path: &Path) -> Result<std::io::BufReader<File>, Error> {
    File::open(path)
        .map(std::io::BufReader::new)
        .map_err(fs_error(path))
}

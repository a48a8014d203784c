//! LZH archives: create (from files and directories), list and extract safely.

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use kx_lzh::{Budget, Compression, Entry, Extracted, Writer};

/// Creates the archive `out` from `paths` (taken relative to `base`, default the current
/// directory; directories recurse, sorted by name). `out` is replaced only once complete.
pub fn create(
    out: &Path,
    base: Option<&Path>,
    compression: Compression,
    paths: &[PathBuf],
) -> crate::Result<()> {
    Ok(create_archive(out, base, compression, paths)?)
}

fn create_archive(
    out: &Path,
    base: Option<&Path>,
    compression: Compression,
    paths: &[PathBuf],
) -> anyhow::Result<()> {
    let base = base.unwrap_or(Path::new("."));
    let out_dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut builder = tempfile::Builder::new();
    builder.prefix(".kx-lzh-");
    // Temporary files are private; the finished archive is an ordinary file.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let temp = builder
        .tempfile_in(out_dir)
        .with_context(|| format!("cannot create a file in {}", out_dir.display()))?;
    // The archive being written (and the one it replaces) may lie inside a tree being
    // archived; neither goes in.
    let own = [temp.path(), out]
        .into_iter()
        .filter_map(|path| fs::canonicalize(path).ok())
        .collect();
    let mut writer = Writer::with_compression(BufWriter::new(temp), compression);
    let mut tree = Tree {
        spool: tempfile::tempfile().context("cannot create a temporary file")?,
        base,
        own,
    };
    for path in paths {
        tree.add(&mut writer, path)?;
    }
    let temp = writer
        .finish()?
        .into_inner()
        .map_err(|err| err.into_error())?;
    temp.persist(out)
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

/// Adds files and directories under `base` to an archive.
struct Tree<'a> {
    /// Holds each file's packed data until its header can be written.
    spool: File,
    base: &'a Path,
    /// The archive's own files, never added.
    own: Vec<PathBuf>,
}

impl Tree<'_> {
    fn add(&mut self, writer: &mut Writer<impl std::io::Write>, name: &Path) -> anyhow::Result<()> {
        let full = self.base.join(name);
        let Some(entry_name) = name.to_str() else {
            bail!("{}: the name is not valid Unicode", name.display())
        };
        let meta =
            fs::metadata(&full).with_context(|| format!("cannot read {}", full.display()))?;
        let modified = meta
            .modified()
            .with_context(|| format!("{}: no modification time", full.display()))?;
        if meta.is_dir() {
            // Following links to directories could loop forever.
            if fs::symlink_metadata(&full).is_ok_and(|link| link.is_symlink()) {
                bail!(
                    "{} is a link to a directory, which is not followed",
                    full.display()
                );
            }
            // `-C DIR .` archives DIR's contents; "." itself is no entry.
            if !name.components().all(|c| c == std::path::Component::CurDir) {
                writer
                    .add_directory(entry_name, modified)
                    .with_context(|| format!("cannot add {}", full.display()))?;
            }
            let mut children = fs::read_dir(&full)
                .and_then(|dir| {
                    dir.map(|child| child.map(|c| c.file_name()))
                        .collect::<Result<Vec<_>, _>>()
                })
                .with_context(|| format!("cannot list {}", full.display()))?;
            children.sort();
            for child in children {
                self.add(writer, &name.join(child))?;
            }
        } else if fs::canonicalize(&full).is_ok_and(|path| !self.own.contains(&path)) {
            let file =
                File::open(&full).with_context(|| format!("cannot open {}", full.display()))?;
            writer
                .add_file_from(entry_name, modified, file, &mut self.spool)
                .with_context(|| format!("cannot add {}", full.display()))?;
        }
        Ok(())
    }
}

/// Extracts `archive` safely into `dest` (created if missing), within the default budgets.
pub fn extract(archive: &Path, dest: &Path) -> crate::Result<Extracted> {
    let input = kx_lzh::open(archive)?;
    let done = kx_lzh::extract(input, dest, &mut Budget::default())
        .with_context(|| format!("extracting {} into {}", archive.display(), dest.display()))?;
    Ok(done)
}

/// The entries of `archive`, in its order.
pub fn list(archive: &Path) -> crate::Result<Vec<Entry>> {
    let entries = kx_lzh::list(kx_lzh::open(archive)?, &mut Budget::default())
        .with_context(|| format!("listing {}", archive.display()))?;
    Ok(entries)
}

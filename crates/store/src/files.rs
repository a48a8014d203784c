//! The data directory is the installation's alone: it holds password hashes, the audit log,
//! raw submissions with claims data and the hand-off folders. On Unix every directory kxd
//! creates is 0700 and every file 0600, set where each is created (and not left to the
//! umask), and [`tighten`] takes group and other access away from what an older version or
//! another tool left more open. Elsewhere the platform's defaults apply.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::Path;

/// The mode of every directory kxd creates.
#[cfg(unix)]
const DIR_MODE: u32 = 0o700;
/// The mode of every file kxd creates.
#[cfg(unix)]
const FILE_MODE: u32 = 0o600;

/// Creates `path` and any missing parents, each private.
pub fn create_dir_all(path: &Path) -> io::Result<()> {
    builder().recursive(true).create(path)
}

/// Creates the directory `path` (its parent must exist), private.
pub fn create_dir(path: &Path) -> io::Result<()> {
    builder().create(path)
}

fn builder() -> fs::DirBuilder {
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder
}

/// Options that create files private; add how to open (write, create, truncate…).
pub fn options() -> OpenOptions {
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    options
}

/// Creates the new file `path` (an existing one is an error), private, for writing.
pub fn create_new(path: &Path) -> io::Result<File> {
    options().write(true).create_new(true).open(path)
}

/// The same for async code.
pub(crate) fn tokio_options() -> tokio::fs::OpenOptions {
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut options = tokio::fs::OpenOptions::new();
    #[cfg(unix)]
    options.mode(FILE_MODE);
    options
}

/// Takes group and other permissions away from `root` and what lies below it; returns how
/// many entries had them. A directory below `root` that was private already is not walked:
/// what kxd created in it is private by its mode, and nobody else can reach the rest, so a
/// start-up costs a look at the top level, not at every blob. Symbolic links are not followed.
pub fn tighten(root: &Path) -> io::Result<u64> {
    #[cfg(unix)]
    {
        let mut changed = u64::from(restrict(root, &fs::metadata(root)?)?);
        for entry in fs::read_dir(root)? {
            changed += tighten_below(&entry?.path())?;
        }
        Ok(changed)
    }
    #[cfg(not(unix))]
    {
        let _ = root;
        Ok(0)
    }
}

#[cfg(unix)]
fn tighten_below(path: &Path) -> io::Result<u64> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        // Removed meanwhile (a finished upload, a collected blob): nothing to protect.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    if meta.file_type().is_symlink() {
        return Ok(0);
    }
    let was_open = restrict(path, &meta)?;
    let mut changed = u64::from(was_open);
    if meta.is_dir() && was_open {
        for entry in fs::read_dir(path)? {
            changed += tighten_below(&entry?.path())?;
        }
    }
    Ok(changed)
}

/// Clears the group and other bits of `path`; whether there were any.
#[cfg(unix)]
fn restrict(path: &Path, meta: &fs::Metadata) -> io::Result<bool> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 == 0 {
        return Ok(false);
    }
    fs::set_permissions(path, fs::Permissions::from_mode(mode & !0o077))?;
    Ok(true)
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn created_entries_are_private_and_open_ones_are_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("data");
        create_dir_all(&root.join("a/b")).unwrap();
        create_new(&root.join("a/b/secret")).unwrap();
        assert_eq!(
            [
                mode(&root),
                mode(&root.join("a/b")),
                mode(&root.join("a/b/secret"))
            ],
            [0o700, 0o700, 0o600]
        );
        // What another tool or an older version left open.
        fs::write(root.join("log"), b"").unwrap();
        fs::set_permissions(root.join("log"), fs::Permissions::from_mode(0o644)).unwrap();
        fs::create_dir(root.join("open")).unwrap();
        fs::set_permissions(root.join("open"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(root.join("open/inside"), b"").unwrap();
        fs::set_permissions(root.join("open/inside"), fs::Permissions::from_mode(0o664)).unwrap();
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(tighten(&root).unwrap(), 4);
        for (path, want) in [
            (root.clone(), 0o700),
            (root.join("log"), 0o600),
            (root.join("open"), 0o700),
            (root.join("open/inside"), 0o600),
        ] {
            assert_eq!(mode(&path), want, "{}", path.display());
        }
        assert_eq!(tighten(&root).unwrap(), 0);
    }
}

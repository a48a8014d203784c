//! What differs between Unix and Windows, in one place: where kx keeps its profiles and how a
//! file or directory is kept to its user. The 伝送 profiles and the exchange profiles both use
//! it; nothing else in the crate names a platform.
//!
//! | | Unix | Windows |
//! |---|---|---|
//! | default home | `$HOME/.config/kx` | `%APPDATA%\kx` |
//! | a private directory | mode 0700 | the per-user ACL it inherits from `%APPDATA%` |
//! | a private file | mode 0600 (or the mode asked for) | the ACL of its directory |
//! | a private file readable by others | refused | cannot be told from the mode: trusted |
//! | a rename made durable | fsync of the directory | nothing more: the rename is the commit |
//!
//! `--home DIR` and `KX_HOME` override the default home on both.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

/// The home of kx's profiles when neither `--home` nor `KX_HOME` names one.
pub(crate) fn default_home() -> Result<PathBuf> {
    default_home_in(|name| std::env::var_os(name))
}

/// [`default_home`] with the environment looked up by `var`.
fn default_home_in(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Result<PathBuf> {
    #[cfg(unix)]
    {
        let home = var("HOME")
            .filter(|home| !home.is_empty())
            .context("no home directory: pass --home DIR or set KX_HOME (HOME is not set)")?;
        Ok(PathBuf::from(home).join(".config").join("kx"))
    }
    #[cfg(windows)]
    {
        let app_data = var("APPDATA")
            .filter(|dir| !dir.is_empty())
            .context("no home directory: pass --home DIR or set KX_HOME (APPDATA is not set)")?;
        Ok(PathBuf::from(app_data).join("kx"))
    }
}

/// Creates `dir` and its parents, `dir` private to the user.
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        // The mode applies only to a directory created here: set it on one already there.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(windows)]
    {
        // Under %APPDATA% (or a --home the user chose) a new directory inherits the per-user
        // ACL of its parent: only the user (and administrators) can read it.
        std::fs::create_dir_all(dir)
    }
}

/// Opens `path` to write it anew, readable per `mode` on Unix (`0o600`: the user only) even
/// when the file was there before.
pub(crate) fn create_file_with_mode(path: &Path, mode: u32) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        let file = options.mode(mode).open(path)?;
        // `mode` applies only when the file is created: set it again for an old file.
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        Ok(file)
    }
    #[cfg(windows)]
    {
        // The file takes the ACL of its directory (private, see `create_private_dir`); a mode
        // has no meaning here.
        let _ = mode;
        options.open(path)
    }
}

/// Refuses a file that should be private but that others may read (Unix: any group or other
/// bit). On Windows the ACL inherited from the profile's directory keeps it private.
pub(crate) fn check_private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            anyhow::bail!(
                "{} is readable by others (mode {:o}): chmod 600 it or log in again",
                path.display(),
                mode & 0o777
            );
        }
        Ok(())
    }
    #[cfg(windows)]
    {
        let _ = path;
        Ok(())
    }
}

/// Makes a rename or a creation in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(windows)]
    {
        // A directory cannot be opened as a file to flush it; NTFS journals the rename.
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn env<'a>(vars: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_home_is_under_the_users_config() {
        assert_eq!(
            default_home_in(env(&[("HOME", "/home/taro")])).expect("a home"),
            Path::new("/home/taro/.config/kx")
        );
        assert!(default_home_in(env(&[("HOME", "")])).is_err());
        assert!(default_home_in(env(&[("APPDATA", "/x")])).is_err());
    }

    #[cfg(windows)]
    #[test]
    fn the_home_is_under_the_users_app_data() {
        assert_eq!(
            default_home_in(env(&[("APPDATA", r"C:\Users\taro\AppData\Roaming")])).expect("a home"),
            Path::new(r"C:\Users\taro\AppData\Roaming\kx")
        );
        assert!(default_home_in(env(&[("HOME", r"C:\Users\taro")])).is_err());
    }

    #[test]
    fn private_files_and_directories() {
        let home = tempfile::tempdir().expect("a temporary directory");
        let dir = home.path().join("a").join("b");
        create_private_dir(&dir).expect("created");
        let path = dir.join("secret");
        std::io::Write::write_all(
            &mut create_file_with_mode(&path, 0o600).expect("opened"),
            b"x",
        )
        .expect("written");
        check_private(&path).expect("private");
        sync_dir(&dir).expect("synced");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode();
            assert_eq!(mode(&dir) & 0o777, 0o700);
            assert_eq!(mode(&path) & 0o777, 0o600);
            let open = dir.join("open");
            create_file_with_mode(&open, 0o644).expect("opened");
            assert!(check_private(&open).is_err(), "a 0644 file is not private");
        }
    }
}

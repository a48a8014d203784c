//! The pre-send check of `KPFD.CSV` on a file (e-application, 電子申請): the one place the
//! command line and the browser app call, before a send and on its own.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use anyhow::Context;
use kx_exchange::Code;
use kx_exchange::kpfd::{self, MAX_BYTES, Report};

use super::failure::Failure;

/// Checks the file at `path` as a `KPFD.CSV` (`kx_exchange::kpfd`): its name and contents.
/// A file of more than [`MAX_BYTES`] is not read: it is reported too large. A file that is
/// not there (or no file) is E2007, as a send would say.
pub fn check_kpfd(path: &Path) -> crate::Result<Report> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let gone = || Failure::new(Code::E2007, &[&name]);
    let file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Err(gone().into()),
        Err(err) => {
            return Err(anyhow::Error::new(err)
                .context(format!("reading {}", path.display()))
                .into());
        }
    };
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(gone().into());
    }
    if metadata.len() > MAX_BYTES {
        return Ok(kpfd::too_large(&name, metadata.len()));
    }
    // Bounded even if the file grows while it is read.
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or_default());
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(kpfd::check_named(&name, &bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kx_exchange::kpfd::FindingKind;

    #[test]
    fn a_file_is_checked_by_name_and_contents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("KPFD.CSV");
        std::fs::write(&path, b"").unwrap();
        let report = check_kpfd(&path).unwrap();
        assert!(report.has(FindingKind::Empty) && !report.has(FindingKind::FileName));
        let other = dir.path().join("a.csv");
        std::fs::write(&other, b"1,2,3\r\n").unwrap();
        let report = check_kpfd(&other).unwrap();
        assert!(report.has(FindingKind::FileName) && report.has(FindingKind::KanriMissing));
        let big = dir.path().join("big.csv");
        File::create(&big)
            .and_then(|f| f.set_len(MAX_BYTES + 1))
            .unwrap();
        assert!(check_kpfd(&big).unwrap().has(FindingKind::TooLarge));
        for gone in [dir.path().join("gone.csv"), dir.path().to_owned()] {
            match check_kpfd(&gone) {
                Err(crate::Error::Exchange(f)) => assert_eq!(f.code, Code::E2007),
                other => panic!("{other:?}"),
            }
        }
    }
}

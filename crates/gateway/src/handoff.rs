//! The hand-off to the claims review system (審査支払等システム, outside KX): one folder per
//! accepted submission under `DIR/handoff/`, with the data files and a `manifest.json`.
//!
//! A folder appears whole or not at all: it is written under a temporary name, every file and
//! the folder are synced, then it is renamed into place and the parent synced. The review
//! system may therefore pick up any folder whose name does not start with `.`.

use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use kx_store::files;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";

/// One data file handed off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HandoffFile {
    /// The file name as the office sent it (after unpacking an LZH).
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256, hex.
    pub sha256: String,
    /// Reception counts for the review system's own checks.
    pub records: u64,
}

/// Where a submission came from: the first half of `manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// The submission's 伝送整理番号.
    pub transmission_number: String,
    /// The sending organisation's 識別番号.
    pub org_code: String,
    /// The account that submitted.
    pub account: String,
    /// When the DataSend arrived (RFC 3339).
    pub received_at: String,
    /// When it was handed off (RFC 3339).
    pub handed_off_at: String,
}

/// What `manifest.json` says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Manifest<'a> {
    /// Where the submission came from.
    #[serde(flatten)]
    pub origin: &'a Origin,
    /// The files, in the order of the message.
    pub files: Vec<HandoffFile>,
}

/// Writes `files` and their manifest into `root/<transmission number>/`, atomically. An
/// existing folder of the same name is left alone and reported, never overwritten.
pub fn write(
    root: &Path,
    origin: &Origin,
    files: &[(String, Vec<u8>, u64)],
) -> std::io::Result<PathBuf> {
    files::create_dir_all(root)?;
    let name = &origin.transmission_number;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(std::io::Error::other(format!(
            "{name:?} cannot name a hand-off folder"
        )));
    }
    let target = root.join(name);
    if target.exists() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("{} already exists", target.display()),
        ));
    }
    let temp = root.join(format!(".{name}.tmp"));
    if temp.exists() {
        fs::remove_dir_all(&temp)?;
    }
    files::create_dir(&temp)?;
    let mut manifest = Manifest {
        origin,
        files: Vec::with_capacity(files.len()),
    };
    for (file_name, data, records) in files {
        if !is_plain_name(file_name) {
            return Err(std::io::Error::other(format!(
                "{file_name:?} is not a plain file name"
            )));
        }
        write_synced(&temp.join(file_name), data)?;
        manifest.files.push(HandoffFile {
            name: file_name.clone(),
            size: data.len() as u64,
            sha256: format!("{:x}", Sha256::digest(data)),
            records: *records,
        });
    }
    let json = serde_json::to_vec_pretty(&manifest).map_err(std::io::Error::other)?;
    write_synced(&temp.join(MANIFEST), &json)?;
    File::open(&temp)?.sync_all()?;
    fs::rename(&temp, &target)?;
    File::open(root)?.sync_all()?;
    Ok(target)
}

/// A name without directories, that cannot escape the folder.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name != MANIFEST
        && !name.contains(['/', '\\', '\0'])
}

fn write_synced(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut file = files::create_new(path)?;
    file.write_all(data)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(number: &str) -> Origin {
        Origin {
            transmission_number: number.into(),
            org_code: "1312345678".into(),
            account: "J13123456780".into(),
            received_at: "2026-11-23T10:00:00+09:00".into(),
            handed_off_at: "2026-11-23T10:01:00+09:00".into(),
        }
    }

    #[test]
    fn a_folder_appears_whole_with_its_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let files = vec![("CLAIM01.CSV".to_owned(), b"1,1\r\n".to_vec(), 3)];
        let folder = write(dir.path(), &manifest("13123456782026040001"), &files).unwrap();
        assert_eq!(fs::read(folder.join("CLAIM01.CSV")).unwrap(), b"1,1\r\n");
        let json: serde_json::Value =
            serde_json::from_slice(&fs::read(folder.join(MANIFEST)).unwrap()).unwrap();
        assert_eq!(json["files"][0]["size"], 5);
        assert_eq!(json["files"][0]["records"], 3);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["13123456782026040001"]);
        assert!(write(dir.path(), &manifest("13123456782026040001"), &files).is_err());
    }

    #[test]
    fn names_cannot_escape() {
        let dir = tempfile::tempdir().unwrap();
        let bad = vec![("../x.csv".to_owned(), vec![], 0)];
        assert!(write(dir.path(), &manifest("13123456782026040002"), &bad).is_err());
        assert!(write(dir.path(), &manifest("../13123456782026040002"), &[]).is_err());
        assert!(!dir.path().join("13123456782026040002").exists());
    }
}

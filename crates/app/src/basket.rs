//! The files chosen for a send (ファイル追加), kept in the app's folder of the profile until the
//! send: each is checked as it arrives — its extension (E2004), its name against those
//! already there (E2003), the running total against 20 MB (E2006) — so nothing doomed is ever
//! uploaded, and nothing is kept of a refused file.

use std::path::{Path, PathBuf};

use axum::extract::Multipart;
use kx_client::exchange::Failure;
use kx_client::kx_exchange::Code;
use kx_client::kx_exchange::api::Function;
use kx_client::kx_exchange::send::{Candidate, MAX_SEND_BYTES, check_chosen};
use tokio::io::AsyncWriteExt as _;

use crate::page::Shown;

/// A file chosen.
#[derive(Clone, Debug)]
pub(crate) struct Chosen {
    /// Its name, without folders.
    pub(crate) name: String,
    /// Where the app keeps it until the send.
    pub(crate) path: PathBuf,
    /// Its size when added.
    pub(crate) size: u64,
}

/// A send being put together.
#[derive(Clone, Debug, Default)]
pub(crate) struct Basket {
    /// The destination chosen (送信先), or the offices (the society desk).
    pub(crate) to: Vec<String>,
    /// The files, in the order added.
    pub(crate) files: Vec<Chosen>,
}

impl Basket {
    /// The files' size together.
    pub(crate) fn total(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// Where the files are.
    pub(crate) fn paths(&self) -> Vec<PathBuf> {
        self.files.iter().map(|f| f.path.clone()).collect()
    }

    /// Removes the file called `name` (and its copy).
    pub(crate) fn remove(&mut self, name: &str) {
        for file in self.files.iter().filter(|f| f.name == name) {
            let _ = std::fs::remove_file(&file.path);
        }
        self.files.retain(|f| f.name != name);
    }

    /// Empties the basket (after a send).
    pub(crate) fn clear(&mut self) {
        for file in &self.files {
            let _ = std::fs::remove_file(&file.path);
        }
        self.files.clear();
    }

    /// Checks the basket with `extra` added.
    fn check_with(&self, function: Function, extra: Candidate<'_>) -> Result<(), Shown> {
        let mut candidates: Vec<Candidate<'_>> = self
            .files
            .iter()
            .map(|f| Candidate {
                name: &f.name,
                size: Some(f.size),
            })
            .collect();
        candidates.push(extra);
        check_chosen(function, &candidates).map_err(|r| Failure::from(r).into())
    }
}

/// The name of an uploaded file without any folder a browser may have sent.
fn plain_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

/// Adds the files of a posted form to `basket`, each copied into `dir` (one folder per
/// function). Stops at the first refusal; what was added before it stays.
pub(crate) async fn add(
    basket: &mut Basket,
    function: Function,
    dir: &Path,
    mut form: Multipart,
) -> Result<usize, Shown> {
    let added = add_each(basket, function, dir, &mut form).await;
    if added.is_err() {
        // The browser is still sending the rest (a file far over 20 MB): read it to its end,
        // or it meets a closed connection and shows its own error page, not the dialog.
        while let Ok(Some(mut field)) = form.next_field().await {
            while let Ok(Some(_)) = field.chunk().await {}
        }
    }
    added
}

/// Adds the form's files one by one; stops at the first refusal, the rest unread.
async fn add_each(
    basket: &mut Basket,
    function: Function,
    dir: &Path,
    form: &mut Multipart,
) -> Result<usize, Shown> {
    tokio::fs::create_dir_all(dir).await.map_err(internal)?;
    let mut added = 0;
    while let Some(mut field) = form.next_field().await.map_err(too_large)? {
        let name = plain_name(field.file_name().unwrap_or_default()).to_owned();
        if name.is_empty() || name.starts_with('.') {
            continue;
        }
        basket.check_with(
            function,
            Candidate {
                name: &name,
                size: Some(0),
            },
        )?;
        let path = dir.join(&name);
        let mut file = tokio::fs::File::create(&path).await.map_err(internal)?;
        let mut size: u64 = 0;
        let room = MAX_SEND_BYTES - basket.total().min(MAX_SEND_BYTES);
        let copied: Result<(), Shown> = async {
            while let Some(chunk) = field.chunk().await.map_err(too_large)? {
                size += chunk.len() as u64;
                if size > room {
                    return Err(Failure::new(Code::E2006, &[]).into());
                }
                file.write_all(&chunk).await.map_err(internal)?;
            }
            file.sync_all().await.map_err(internal)
        }
        .await;
        if let Err(refused) = copied {
            drop(file);
            let _ = tokio::fs::remove_file(&path).await;
            return Err(refused);
        }
        basket.files.push(Chosen { name, path, size });
        added += 1;
    }
    if added == 0 {
        return Err(Failure::new(Code::E2002, &[]).into());
    }
    Ok(added)
}

/// A form larger than the limit the router allows is over 20 MB.
fn too_large(err: axum::extract::multipart::MultipartError) -> Shown {
    Failure::new(Code::E2006, &[])
        .detail(err.body_text())
        .into()
}

fn internal(err: std::io::Error) -> Shown {
    kx_client::Error::Other(err.into()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_cut_from_names() {
        assert_eq!(plain_name("C:\\Users\\a\\KPFD.CSV"), "KPFD.CSV");
        assert_eq!(plain_name("../../etc/passwd"), "passwd");
        assert_eq!(plain_name("a.pdf"), "a.pdf");
    }

    #[test]
    fn a_name_twice_or_a_wrong_kind_is_refused_before_copying() {
        let basket = Basket {
            to: Vec::new(),
            files: vec![Chosen {
                name: "a.pdf".into(),
                path: PathBuf::from("/nonexistent/a.pdf"),
                size: 10,
            }],
        };
        let twice = Candidate {
            name: "A.PDF",
            size: Some(0),
        };
        let exe = Candidate {
            name: "x.exe",
            size: Some(0),
        };
        assert_eq!(
            basket
                .check_with(Function::Attachments, twice)
                .map_err(|s| s.code),
            Err(Code::E2003)
        );
        assert_eq!(
            basket
                .check_with(Function::Attachments, exe)
                .map_err(|s| s.code),
            Err(Code::E2004)
        );
        let kpfd = Candidate {
            name: "KPFD.CSV",
            size: Some(0),
        };
        assert_eq!(
            basket
                .check_with(Function::EApplication, kpfd)
                .map_err(|s| s.code),
            Err(Code::E2004),
            "a.pdf is no e-application file"
        );
    }
}

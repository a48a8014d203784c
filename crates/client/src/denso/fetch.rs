//! Collecting: fetch once, or watch (fetch periodically).
//!
//! Fetching runs in two phases. First every message on the server is retrieved, committed to
//! the state store (fsync'd), and only then marked for deletion; the deletions happen at QUIT.
//! Then every stored message not yet applied is applied to the submissions in its own
//! transaction: Accept, Regist and DeleteRegist update them, a Result is unpacked into
//! `results/<date>/`, a Contact is kept with its attachments in `contacts/<id>/`, and a service
//! notice triggers the download of the data it announces into `downloads/<date>/`.
//!
//! A crash anywhere is repaired by running fetch again: a message retrieved but not deleted is
//! retrieved again and recognised by its unique id and SHA-256 (stored once), and a message
//! stored but not applied is applied on the next run. The face hears of each message stored
//! before its DELE ([`Checkpoint::Stored`]); the `kx` face's crash test hangs on that.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use kx_denso::Message;
use kx_denso::message::{CheckResult, FileResult};
use kx_denso::names::has_forbidden_extension;
use kx_lzh::Budget;
use serde::Serialize;

use super::profile::{Profile, split_host_port};
use super::state::{Applied, FileRow, State, StateError, Updates};
use super::submit::Checkpoint;
use crate::progress::{Phase, Progress};
use kx_net::ftp::FtpSession;
use kx_net::pop3::Pop3Session;
use kx_net::{Endpoint, NetError};
use kx_records::ledger::with_code;

/// One message applied, as a fetch reports it.
#[derive(Clone, Debug, Serialize)]
pub struct FetchReport {
    /// The store's id of the message.
    pub id: i64,
    /// Its kind ([`kx_denso::message::MessageKind::as_str`]), `Unreadable`, or `(pending)`
    /// when applying it must be retried.
    pub kind: String,
    /// The transmission number it is about.
    pub number: Option<String>,
    /// A one-line summary.
    pub summary: Option<String>,
    /// Where its files went.
    pub saved_to: Option<String>,
    /// What could not be done with it.
    pub problem: Option<String>,
}

/// What one fetch did.
#[derive(Clone, Debug, Serialize)]
pub struct Fetched {
    /// Messages on the server.
    pub on_server: usize,
    /// Of those, messages not stored before.
    #[serde(rename = "fetched")]
    pub new: usize,
    /// Every message applied (new, or left unapplied by an earlier fetch).
    pub applied: Vec<FetchReport>,
}

impl Fetched {
    /// Whether a message could not be applied or was about something this profile never sent.
    pub fn has_problem(&self) -> bool {
        self.applied.iter().any(|r| r.problem.is_some())
    }
}

/// Fetches once: retrieves, stores, deletes, then applies.
pub fn fetch(
    profile: &Profile,
    state: &mut State,
    password: &str,
    progress: &dyn Progress,
    checkpoint: &mut dyn FnMut(Checkpoint<'_>),
) -> crate::Result<Fetched> {
    Ok(fetch_once(profile, state, password, progress, checkpoint)?)
}

/// A round of [`watch`].
#[derive(Debug)]
pub enum Watched {
    /// The round fetched.
    Fetched(Fetched),
    /// The round failed (at the time given, RFC 3339); the next round repairs whatever this
    /// one left.
    Failed(String, crate::Error),
}

/// Fetches every `interval` (at least a second), `count` times or forever; `rounds` hears of
/// each. Returns whether the last round failed.
pub fn watch(
    profile: &Profile,
    state: &mut State,
    password: &str,
    interval: Duration,
    count: Option<u64>,
    rounds: &mut dyn FnMut(Watched),
) -> crate::Result<bool> {
    let mut round = 0u64;
    loop {
        round += 1;
        // A network failure is reported and retried at the next round: watch runs
        // unattended.
        let failed = match fetch_once(profile, state, password, &crate::NoProgress, &mut |_| {}) {
            Ok(fetched) => {
                rounds(Watched::Fetched(fetched));
                false
            }
            Err(e) => {
                rounds(Watched::Failed(super::state::now(), e.into()));
                true
            }
        };
        if count.is_some_and(|count| round >= count) {
            return Ok(failed);
        }
        std::thread::sleep(interval.max(Duration::from_secs(1)));
    }
}

/// Retrieves, stores, deletes, then applies; returns how many new messages were stored and
/// what applying did.
fn fetch_once(
    profile: &Profile,
    state: &mut State,
    password: &str,
    progress: &dyn Progress,
    checkpoint: &mut dyn FnMut(Checkpoint<'_>),
) -> anyhow::Result<Fetched> {
    let (on_server, new) = retrieve(profile, state, password, progress, checkpoint)?;
    let mut reports = Vec::new();
    for (id, raw) in state.unapplied()? {
        match apply_one(profile, state, password, id, &raw) {
            Ok(applied) => reports.push(FetchReport {
                id,
                kind: applied.kind,
                number: applied.number,
                summary: applied.title,
                saved_to: applied.saved_to,
                problem: applied.problem,
            }),
            // Left unapplied: the next fetch tries again (a download area that was down).
            Err(e) => reports.push(FetchReport {
                id,
                kind: "(pending)".into(),
                number: None,
                summary: None,
                saved_to: None,
                problem: Some(format!("{e:#}; will retry on the next fetch")),
            }),
        }
    }
    Ok(Fetched {
        on_server,
        new,
        applied: reports,
    })
}

/// The POP3 phase: RETR, commit, DELE for every message; QUIT. Returns how many messages
/// were on the server and how many of them were new.
fn retrieve(
    profile: &Profile,
    state: &State,
    password: &str,
    progress: &dyn Progress,
    checkpoint: &mut dyn FnMut(Checkpoint<'_>),
) -> anyhow::Result<(usize, usize)> {
    let endpoint = profile.endpoint(&profile.settings.pop3)?;
    let mut session = Pop3Session::open(&endpoint, &profile.settings.id, password)
        .with_context(|| format!("POP3 at {}", profile.settings.pop3))?;
    let listed = session.list()?;
    progress.start(
        Phase::Fetching,
        &profile.settings.pop3,
        Some(listed.len() as u64),
    );
    let mut new = 0;
    for message in &listed {
        let raw = session.retr(message.number)?;
        if state.store_message(message.uid.as_deref().unwrap_or(""), &raw)? {
            new += 1;
        }
        checkpoint(Checkpoint::Stored);
        session.dele(message.number)?;
        progress.advance(1);
    }
    progress.finish();
    session
        .quit()
        .context("the server did not confirm the deletions (they will be fetched again)")?;
    Ok((listed.len(), new))
}

/// Applies one stored message.
fn apply_one(
    profile: &Profile,
    state: &mut State,
    password: &str,
    id: i64,
    raw: &[u8],
) -> anyhow::Result<Applied> {
    let message = match Message::parse(raw) {
        Ok(message) => message,
        Err(e) => {
            return Ok(state.apply(id, |_| {
                Ok(Applied {
                    kind: super::state::UNREADABLE.into(),
                    problem: Some(format!("not a 伝送 message: {e}")),
                    ..Applied::default()
                })
            })?);
        }
    };
    // Files are written before the transaction: writing is idempotent (a finished directory
    // is kept), so a crash between the two only repeats the work.
    let saved_to = match &message {
        Message::Result(m) => Some(save_result(profile, m)?),
        Message::Contact(m) => save_contact(profile, id, m)?,
        Message::ServiceNotice(m) => Some(download(profile, password, m)?),
        _ => None,
    };
    Ok(state.apply(id, |updates| {
        let mut applied = update(updates, &message)?;
        applied.saved_to = saved_to.map(|p| p.display().to_string());
        Ok(applied)
    })?)
}

/// The store updates of one message.
fn update(updates: &Updates<'_>, message: &Message) -> Result<Applied, StateError> {
    let kind = message.kind().as_str().to_owned();
    let mut applied = Applied {
        kind,
        ..Applied::default()
    };
    let unknown = |number: &str| format!("{number} was not sent from this profile");
    match message {
        Message::Accept(m) => {
            let code = m.result.code().map(|c| c.as_str().to_owned());
            applied.title = Some(with_code(m.result.as_str(), code.as_deref()));
            match &m.number {
                Some(number) if updates.known(number.as_str())? => {
                    updates.accept(number.as_str(), m.result.as_str(), code.as_deref())?;
                }
                Some(number) => applied.problem = Some(unknown(number.as_str())),
                None => {
                    applied.problem = Some("the Accept names no transmission number".into());
                }
            }
            applied.number = m.number.as_ref().map(ToString::to_string);
        }
        Message::Regist(m) => {
            let number = m.number.as_str();
            applied.number = Some(number.to_owned());
            let (result, code, files) = match &m.check {
                CheckResult::CheckErr { code, .. } => {
                    ("CheckErr", Some(code.as_str().to_owned()), Vec::new())
                }
                CheckResult::Success { files } => (
                    "Success",
                    None,
                    files
                        .iter()
                        .map(|f| match &f.result {
                            FileResult::Success { format_error } => FileRow {
                                name: f.name.clone(),
                                result: "Success".into(),
                                code: None,
                                format_error: *format_error,
                            },
                            FileResult::DataErr(code) => FileRow {
                                name: f.name.clone(),
                                result: "DataErr".into(),
                                code: Some(code.as_str().to_owned()),
                                format_error: false,
                            },
                        })
                        .collect(),
                ),
            };
            let per_file: Vec<String> = files
                .iter()
                .map(|f| format!("{} {}", f.name, with_code(&f.result, f.code.as_deref())))
                .collect();
            applied.title = Some(match per_file.is_empty() {
                true => with_code(result, code.as_deref()),
                false => format!("{result}: {}", per_file.join(", ")),
            });
            if updates.known(number)? {
                updates.regist(
                    number,
                    result,
                    code.as_deref(),
                    &files,
                    m.csv_err.as_deref(),
                    m.transmit_info.as_deref(),
                )?;
            } else {
                applied.problem = Some(unknown(number));
            }
        }
        Message::DeleteRegist(m) => {
            let code = m.result.code().map(|c| c.as_str().to_owned());
            applied.number = Some(m.number.to_string());
            applied.title = Some(format!(
                "cancel of {}: {}",
                m.cancelled,
                with_code(m.result.as_str(), code.as_deref())
            ));
            if updates.known(m.number.as_str())? {
                updates.delete_regist(
                    m.number.as_str(),
                    m.cancelled.as_str(),
                    m.result.as_str(),
                    code.as_deref(),
                )?;
            } else {
                applied.problem = Some(unknown(m.number.as_str()));
            }
        }
        Message::Result(m) => {
            applied.title = Some(format!(
                "{} data file(s) in {}",
                m.file_count, m.archive.name
            ));
        }
        Message::Contact(m) => {
            applied.title = Some(m.title.clone());
            applied.body = Some(m.body.clone());
        }
        Message::ServiceNotice(m) => {
            applied.title = Some(format!("{} at {}", m.name, m.location));
        }
        Message::DataSend(_) | Message::DataDelete(_) | Message::Upstream(_) => {
            applied.problem = Some("a client message in the mailbox".into());
        }
    }
    Ok(applied)
}

/// Keeps only characters safe in a file name; the rest become `_`.
fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | '\0' | ':' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    match cleaned.trim_start_matches('.') {
        "" => "_".to_owned(),
        rest if rest.len() != cleaned.len() => format!("_{rest}"),
        _ => cleaned,
    }
}

/// The `yyyymmdd` of a message date.
fn day(date: &chrono::DateTime<chrono::FixedOffset>) -> String {
    date.format("%Y%m%d").to_string()
}

/// Fills a new directory through `fill` in a temporary sibling, then renames it into place;
/// an existing `target` means an earlier run finished it.
fn publish_dir(
    target: &Path,
    fill: impl FnOnce(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    if target.is_dir() {
        return Ok(());
    }
    let parent = target.parent().context("a target directory has a parent")?;
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    let temp = tempfile::Builder::new()
        .prefix(".kx-partial-")
        .tempdir_in(parent)?;
    fill(temp.path())?;
    std::fs::rename(temp.path(), target)
        .with_context(|| format!("cannot create {}", target.display()))?;
    // The temporary directory was renamed away; nothing is left to remove.
    std::mem::forget(temp);
    Ok(())
}

/// Unpacks a Result's archive into `results/<date>/<archive name>/`.
fn save_result(profile: &Profile, m: &kx_denso::message::ResultMessage) -> anyhow::Result<PathBuf> {
    let stem = m
        .archive
        .name
        .rsplit_once('.')
        .map_or(m.archive.name.as_str(), |(stem, _)| stem);
    let target = profile
        .dir
        .join("results")
        .join(day(&m.date))
        .join(safe_name(stem));
    publish_dir(&target, |dir| {
        std::fs::write(dir.join(safe_name(&m.archive.name)), &m.archive.data)?;
        kx_lzh::extract(m.archive.data.as_slice(), dir, &mut Budget::default())
            .with_context(|| format!("cannot unpack {}", m.archive.name))?;
        Ok(())
    })?;
    Ok(target)
}

/// Keeps a Contact's attachments in `contacts/<id>/` (none with a forbidden extension).
fn save_contact(
    profile: &Profile,
    id: i64,
    m: &kx_denso::message::Contact,
) -> anyhow::Result<Option<PathBuf>> {
    if m.attachments.is_empty() {
        return Ok(None);
    }
    let target = profile.dir.join("contacts").join(id.to_string());
    publish_dir(&target, |dir| {
        for a in &m.attachments {
            // §8.3.8(1): the server never sends these; a client never opens them.
            if has_forbidden_extension(&a.name) {
                continue;
            }
            std::fs::write(dir.join(safe_name(&a.name)), &a.data)?;
        }
        Ok(())
    })?;
    Ok(Some(target))
}

/// Where a service notice's data lies: an `ftp://host[:port]/path` URL, or a path on the
/// profile's FTP area.
fn ftp_location(profile: &Profile, location: &str) -> anyhow::Result<(String, String)> {
    if let Some(rest) = location.strip_prefix("ftp://") {
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let authority = if authority.contains(':') {
            authority.to_owned()
        } else {
            format!("{authority}:21")
        };
        return Ok((authority, format!("/{path}")));
    }
    let area = profile.settings.ftp.clone().with_context(|| {
        format!(
            "the notice names {location} but profile {:?} has no FTP area (kx denso login --ftp HOST:PORT)",
            profile.name
        )
    })?;
    Ok((area, location.to_owned()))
}

/// Downloads what a service notice announces into `downloads/<date>/<name>`: the file, or,
/// when the location is a directory, every file in it into `downloads/<date>/<name>/`.
fn download(
    profile: &Profile,
    password: &str,
    m: &kx_denso::message::ServiceNotice,
) -> anyhow::Result<PathBuf> {
    let (area, path) = ftp_location(profile, &m.location)?;
    let name = path
        .rsplit('/')
        .find(|s| !s.is_empty())
        .unwrap_or("download");
    let dir = profile.dir.join("downloads").join(day(&m.date));
    let target = dir.join(safe_name(name));
    if target.exists() {
        return Ok(target);
    }
    split_host_port(&area)?;
    let endpoint: Endpoint = profile.endpoint(&area)?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let context = || format!("downloading {path} from {area}");
    let mut session =
        FtpSession::open(&endpoint, &profile.settings.id, password).with_context(context)?;
    let mut temp = tempfile::NamedTempFile::new_in(&dir)?;
    match session.retrieve(&path, temp.as_file_mut()) {
        Ok(_) => {
            temp.as_file().sync_all()?;
            temp.persist(&target)
                .with_context(|| format!("cannot write {}", target.display()))?;
        }
        // Not a plain file: a directory of prepared data.
        Err(NetError::Refused { .. }) => {
            drop(temp);
            let names = session.list(&path).with_context(context)?;
            if names.is_empty() {
                anyhow::bail!("{path} on {area} is neither a file nor a directory with files");
            }
            publish_dir(&target, |tree| {
                for file in &names {
                    let mut out = std::fs::File::create(tree.join(safe_name(file)))?;
                    session
                        .retrieve(&format!("{}/{file}", path.trim_end_matches('/')), &mut out)
                        .with_context(context)?;
                    out.sync_all()?;
                }
                Ok(())
            })?;
        }
        Err(e) => return Err(anyhow::Error::new(e).context(context())),
    }
    session.quit();
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_notice_locations() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let settings = |ftp: Option<&str>| super::super::profile::Settings {
            id: "J13123456780".into(),
            domain: "denso.test.kokuho".into(),
            smtp: "127.0.0.1:25".into(),
            pop3: "127.0.0.1:110".into(),
            ftp: ftp.map(str::to_owned),
            transmit: "transmit@denso.test.kokuho".into(),
            private_ca: false,
            insecure_plaintext: false,
            timeout_seconds: 5,
        };
        let with_area = Profile::save(dir.path(), "a", settings(Some("10.0.0.1:2121")), None, None)
            .expect("saved");
        assert_eq!(
            ftp_location(&with_area, "/kaigo/exchangeinfo322").expect("ok"),
            ("10.0.0.1:2121".into(), "/kaigo/exchangeinfo322".into())
        );
        assert_eq!(
            ftp_location(&with_area, "ftp://ftp.example:990/x/y").expect("ok"),
            ("ftp.example:990".into(), "/x/y".into())
        );
        assert_eq!(
            ftp_location(&with_area, "ftp://ftp.example/x").expect("ok"),
            ("ftp.example:21".into(), "/x".into())
        );
        let without = Profile::save(dir.path(), "b", settings(None), None, None).expect("saved");
        let e = ftp_location(&without, "/kaigo/x").expect_err("no area");
        assert!(e.to_string().contains("--ftp"), "{e}");
    }

    #[test]
    fn names_from_the_server_stay_in_their_directory() {
        assert_eq!(safe_name("a.csv"), "a.csv");
        assert_eq!(safe_name("../x"), "__x");
        assert_eq!(safe_name(".."), "_");
        assert_eq!(safe_name("a/b\\c"), "a_b_c");
        assert_eq!(safe_name(".hidden"), "_hidden");
    }
}

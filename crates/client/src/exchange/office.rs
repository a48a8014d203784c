//! The office app's screens (§3, §4): inbox, receive, delete, history, send, sent status and
//! cancel. The society side reuses the listing and transfer parts.

use std::path::{Path, PathBuf};

use chrono::Utc;
use kx_exchange::Code;
use kx_exchange::api::{
    Destination, Function, HistoryEntry, InboxEntry, SentEntry, Uploaded, path,
};
use kx_exchange::lifecycle::recent_since;
use reqwest::Method;

use super::failure::Failure;
use super::session::Session;
use super::transfer::{self, Outgoing};
use crate::progress::Progress;

/// What happened to one file of an operation on several.
#[derive(Debug)]
pub struct FileOutcome<T = ()> {
    /// The file's ID.
    pub id: String,
    /// Its sealed name (empty when the server does not list it).
    pub name: String,
    /// What became of it: for a receive, where it was written.
    pub result: crate::Result<T>,
}

/// The files waiting to be received (受信ファイル一覧).
pub fn inbox(session: &Session) -> crate::Result<Vec<InboxEntry>> {
    Ok(session.api.get(path::INBOX)?)
}

/// Receives one file: downloaded, verified and opened into `dir`, named by its sealed name.
pub fn receive(
    session: &Session,
    id: &str,
    name: &str,
    dir: &Path,
    progress: &dyn Progress,
) -> crate::Result<PathBuf> {
    Ok(transfer::receive(session, id, name, dir, progress)?)
}

/// Receives the files `ids`, or with `all` every file in the inbox (E2001 when neither).
pub fn receive_each(
    session: &Session,
    ids: &[String],
    all: bool,
    dir: &Path,
    progress: &dyn Progress,
) -> crate::Result<Vec<FileOutcome<PathBuf>>> {
    if ids.is_empty() && !all {
        return Err(Failure::new(Code::E2001, &["受信"]).into());
    }
    let inbox = inbox(session)?;
    let chosen: Vec<(String, String)> = if all {
        inbox
            .iter()
            .map(|e| (e.id.clone(), e.name.clone()))
            .collect()
    } else {
        ids.iter()
            .map(|id| {
                let name = inbox
                    .iter()
                    .find(|e| &e.id == id)
                    .map_or_else(|| format!("{id}.zip"), |e| e.name.clone());
                (id.clone(), name)
            })
            .collect()
    };
    Ok(chosen
        .into_iter()
        .map(|(id, name)| {
            let result = receive(session, &id, &name, dir, progress);
            FileOutcome { id, name, result }
        })
        .collect())
}

/// Of the files `ids`, those in the inbox never received (未): once deleted they cannot be
/// received, and the society must send them again, so the user confirms first (§3.2).
pub fn unreceived(session: &Session, ids: &[String]) -> crate::Result<Vec<InboxEntry>> {
    Ok(inbox(session)?
        .into_iter()
        .filter(|e| ids.contains(&e.id) && e.last_received_at.is_none())
        .collect())
}

/// Deletes received files from the server (frees the quota), each on its own.
pub fn delete_received(session: &Session, ids: &[String]) -> crate::Result<Vec<FileOutcome>> {
    let inbox = inbox(session)?;
    Ok(remove_each(session, ids, "削除", |id| {
        inbox.iter().find(|e| e.id == id).map(|e| e.name.clone())
    }))
}

/// Deletes each file (`operation`: 削除 or 取消 for the message).
fn remove_each(
    session: &Session,
    ids: &[String],
    operation: &str,
    name_of: impl Fn(&str) -> Option<String>,
) -> Vec<FileOutcome> {
    ids.iter()
        .map(|id| {
            let name = name_of(id).unwrap_or_default();
            let result = remove(session, id, operation);
            if result.is_ok() {
                tracing::info!(id, operation, "removed");
            }
            FileOutcome {
                id: id.clone(),
                name,
                result,
            }
        })
        .collect()
}

/// Deletes one file on the server.
pub(crate) fn remove(session: &Session, id: &str, operation: &str) -> crate::Result<()> {
    session
        .api
        .call_empty::<()>(Method::DELETE, &format!("{}/{id}", path::FILES), None)
        .map_err(|e| transfer::server_failure(e, operation))?;
    Ok(())
}

/// Deleted received files, kept for 2 years from their send date (受信履歴).
pub fn history(session: &Session) -> crate::Result<Vec<HistoryEntry>> {
    Ok(session.api.get(path::HISTORY)?)
}

/// The destinations (送信先) an office may send to.
pub fn destinations(session: &Session) -> crate::Result<Vec<Destination>> {
    Ok(session.api.get(path::DESTINATIONS)?)
}

/// A send checked and ready: the files passed the rules, the destination exists.
#[derive(Debug)]
pub struct PreparedSend {
    function: Function,
    to: String,
    files: Vec<Outgoing>,
    /// The files' size together, in bytes.
    pub total: u64,
}

impl PreparedSend {
    /// How many files.
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// The destination's nickname.
    pub fn to(&self) -> &str {
        &self.to
    }

    /// The function: e-application (電子申請) or attachments (電子申請以外).
    pub fn function(&self) -> Function {
        self.function
    }

    /// Zips, signs, encrypts for the society and uploads (the user confirmed).
    pub fn send(self, session: &mut Session, progress: &dyn Progress) -> crate::Result<Uploaded> {
        let society = session.profile.certificates("society.pem")?;
        let office = session.who.party.number.clone();
        Ok(transfer::send(
            session,
            &society,
            &self.files,
            &self.to,
            &office,
            self.function,
            progress,
        )?)
    }
}

/// Checks a send's destination (E8004, naming the valid ones) after [`super::check_files`]
/// checked its files (E2002–E2007), and sums its size for the confirmation.
pub fn prepare_send(
    session: &Session,
    function: Function,
    to: &str,
    files: Vec<Outgoing>,
) -> crate::Result<PreparedSend> {
    let known = destinations(session)?;
    if !known.iter().any(|d| d.nickname == to) {
        return Err(unknown_destination(to, &known).into());
    }
    let total = files
        .iter()
        .filter_map(|f| std::fs::metadata(&f.path).ok())
        .map(|m| m.len())
        .sum();
    Ok(PreparedSend {
        function,
        to: to.to_owned(),
        files,
        total,
    })
}

/// E8004 for a destination not among `known`, its detail naming the valid ones.
fn unknown_destination(to: &str, known: &[Destination]) -> Failure {
    let failure = Failure::new(Code::E8004, &[]);
    if known.is_empty() {
        return failure.detail(format!(
            "no destination {to:?}: the society has registered no destination"
        ));
    }
    let names: Vec<&str> = known.iter().map(|d| d.nickname.as_str()).collect();
    failure.detail(format!(
        "no destination {to:?}; valid destinations: {}",
        names.join(", ")
    ))
}

/// Sent files and whether the society downloaded them (送信状況): the last 2 months, or with
/// `all` every row kept (2 years).
pub fn sent(session: &Session, all: bool) -> crate::Result<Vec<SentEntry>> {
    let target = if all {
        path::SENT.to_owned()
    } else {
        let since = recent_since(Utc::now()).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        format!(
            "{}?since={}",
            path::SENT,
            since.replace('+', "%2B").replace(':', "%3A")
        )
    };
    Ok(session.api.get(&target)?)
}

/// Cancels sends the society has not downloaded yet (健保ダウンロード 未).
pub fn cancel_sent(session: &Session, ids: &[String]) -> crate::Result<Vec<FileOutcome>> {
    let rows: Vec<SentEntry> = session.api.get(path::SENT)?;
    Ok(remove_each(session, ids, "取消", |id| {
        rows.iter().find(|e| e.id == id).map(|e| e.name.clone())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(nicknames: &[&str]) -> Vec<Destination> {
        nicknames
            .iter()
            .map(|n| Destination {
                nickname: (*n).to_owned(),
            })
            .collect()
    }

    #[test]
    fn an_unknown_destination_names_the_valid_ones() {
        let failure = unknown_destination("給与課", &named(&["給付課", "適用課"]));
        assert_eq!(failure.code, Code::E8004);
        assert_eq!(
            failure.detail.as_deref(),
            Some("no destination \"給与課\"; valid destinations: 給付課, 適用課")
        );
        let none = unknown_destination("給付課", &[]);
        assert!(
            none.detail
                .as_deref()
                .is_some_and(|d| d.contains("no destination")),
            "{none:?}"
        );
    }
}

//! The office app's screens (§3, §4): inbox, receive, delete, history, send, sent status and
//! cancel. The society side reuses the listing and transfer parts.

use std::path::{Path, PathBuf};

use anyhow::Result;
use chrono::{DateTime, Local, Utc};
use clap::{Args, Subcommand};
use kx_exchange::Code;
use kx_exchange::api::{Destination, Function, HistoryEntry, InboxEntry, Party, SentEntry, path};
use kx_exchange::lifecycle::recent_since;
use reqwest::Method;

use super::Ctx;
use super::failure::{Failure, Reported};
use super::session::Session;
use super::transfer;
use super::ui;

/// `kx send`.
#[derive(Args, Debug)]
pub(crate) struct SendArgs {
    /// The destination's nickname (送信先), e.g. 給付課.
    #[arg(long)]
    to: Option<String>,
    /// The e-application function (電子申請): KPFD.CSV only. Default: attachments (電子申請以外).
    #[arg(long)]
    e_application: bool,
    /// The files to send (at most 20 MB together).
    files: Vec<PathBuf>,
}

/// `kx sent`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct SentArgs {
    /// Every row kept (2 years) instead of the last 2 months.
    #[arg(long)]
    all: bool,
    /// JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(subcommand)]
    command: Option<SentCommand>,
}

/// `kx sent cancel`.
#[derive(Subcommand, Debug)]
pub(crate) enum SentCommand {
    /// Cancel sends the society has not downloaded yet (健保ダウンロード 未).
    Cancel {
        /// The sent files' IDs.
        #[arg(required = true)]
        ids: Vec<String>,
    },
}

/// A local time for tables.
pub(crate) fn when(at: DateTime<Utc>) -> String {
    at.with_timezone(&Local)
        .format("%Y/%m/%d %H:%M:%S")
        .to_string()
}

fn party(p: &Party) -> String {
    format!("{} {}", p.number, p.name)
}

/// Prints rows as JSON or as a table with a header.
fn print_rows<T: serde::Serialize>(
    rows: &[T],
    json: bool,
    header: &[&str],
    cells: impl Fn(&T) -> Vec<String>,
) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(rows)?);
        return Ok(());
    }
    if rows.is_empty() {
        println!("(none)");
        return Ok(());
    }
    println!("{}", header.join("\t"));
    for row in rows {
        println!("{}", cells(row).join("\t"));
    }
    Ok(())
}

/// `kx inbox`.
pub(crate) fn inbox(ctx: &Ctx, json: bool) -> Result<()> {
    let session = Session::open(ctx)?;
    let entries: Vec<InboxEntry> = session.api.get(path::INBOX)?;
    print_inbox(&entries, json)
}

/// The inbox as a table: `未` or the last receive time (§3.1).
pub(crate) fn print_inbox(entries: &[InboxEntry], json: bool) -> Result<()> {
    print_rows(
        entries,
        json,
        &[
            "ID",
            "受信日時",
            "送信日時",
            "送信元",
            "送信先",
            "サイズ",
            "受信期限",
            "ファイル名",
        ],
        |e| {
            vec![
                e.id.clone(),
                e.last_received_at.map_or_else(|| "未".to_owned(), when),
                when(e.sent_at),
                party(&e.from),
                e.destination.clone().unwrap_or_else(|| "-".into()),
                e.size.to_string(),
                e.expires_at.map_or_else(|| "-".to_owned(), when),
                e.name.clone(),
            ]
        },
    )
}

/// `kx receive`: each file downloaded and opened; a result line per file.
pub(crate) fn receive(ctx: &Ctx, ids: &[String], all: bool, dir: &Path) -> Result<()> {
    if ids.is_empty() && !all {
        return Err(Failure::new(Code::E2001, &["受信"]).into());
    }
    let session = Session::open(ctx)?;
    let inbox: Vec<InboxEntry> = session.api.get(path::INBOX)?;
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
    let mut failed = 0;
    for (id, name) in &chosen {
        match transfer::receive(&session, id, name, dir, true) {
            Ok(path) => println!("ok    {id}  {name}  -> {}", path.display()),
            Err(err) => {
                failed += 1;
                result_failure(id, name, &err);
            }
        }
    }
    println!("{} received, {failed} failed", chosen.len() - failed);
    if failed > 0 {
        return Err(Reported.into());
    }
    Ok(())
}

/// Prints one file's failure line with its code.
pub(crate) fn result_failure(id: &str, name: &str, err: &anyhow::Error) {
    match err.downcast_ref::<Failure>() {
        Some(f) => {
            println!("fail  {id}  {name}  {f}");
            tracing::warn!(id, code = f.code.code(), reason = ?f.reason, detail = ?f.detail, "file failed");
        }
        None => {
            println!(
                "fail  {id}  {name}  {} {}",
                Code::E9999.code(),
                Code::E9999.japanese()
            );
            tracing::warn!(id, error = %format!("{err:#}"), "file failed");
        }
    }
}

/// `kx delete`: warns before deleting files never received (§3.2).
pub(crate) fn delete(ctx: &Ctx, ids: &[String]) -> Result<()> {
    let session = Session::open(ctx)?;
    let inbox: Vec<InboxEntry> = session.api.get(path::INBOX)?;
    let unreceived: Vec<&InboxEntry> = inbox
        .iter()
        .filter(|e| ids.contains(&e.id) && e.last_received_at.is_none())
        .collect();
    if !unreceived.is_empty() {
        eprintln!(
            "Not received yet (未): once deleted they cannot be received; the society must send them again:"
        );
        for e in &unreceived {
            eprintln!("  {}  {}", e.id, e.name);
        }
        if !ui::confirm("Delete them anyway?", ctx.yes)? {
            return Err(Failure::new(Code::E2001, &["削除"])
                .detail("nothing deleted")
                .into());
        }
    }
    remove_each(&session, ids, "削除", |id| {
        inbox.iter().find(|e| e.id == id).map(|e| e.name.clone())
    })
}

/// Deletes each file (`operation`: 削除 or 取消 for the message), a result line each.
fn remove_each(
    session: &Session,
    ids: &[String],
    operation: &str,
    name_of: impl Fn(&str) -> Option<String>,
) -> Result<()> {
    let mut failed = 0;
    for id in ids {
        let name = name_of(id).unwrap_or_default();
        let result = session
            .api
            .call_empty::<()>(Method::DELETE, &format!("{}/{id}", path::FILES), None)
            .map_err(|e| transfer::server_failure(e, operation));
        match result {
            Ok(()) => {
                println!("ok    {id}  {name}");
                tracing::info!(id, operation, "removed");
            }
            Err(err) => {
                failed += 1;
                result_failure(id, &name, &err);
            }
        }
    }
    if failed > 0 {
        return Err(Reported.into());
    }
    Ok(())
}

/// `kx history`.
pub(crate) fn history(ctx: &Ctx, json: bool) -> Result<()> {
    let session = Session::open(ctx)?;
    let rows: Vec<HistoryEntry> = session.api.get(path::HISTORY)?;
    print_rows(
        &rows,
        json,
        &[
            "ID",
            "送信日時",
            "受信日時",
            "削除日時",
            "送信元",
            "ファイル名",
        ],
        |e| {
            vec![
                e.id.clone(),
                when(e.sent_at),
                e.last_received_at.map_or_else(|| "未".to_owned(), when),
                when(e.deleted_at),
                party(&e.from),
                e.name.clone(),
            ]
        },
    )
}

/// `kx send`: the rules first (E2002–E2007), then the destination (E8004), a confirmation,
/// and the upload.
pub(crate) fn send(ctx: &Ctx, args: &SendArgs) -> Result<()> {
    let function = if args.e_application {
        Function::EApplication
    } else {
        Function::Attachments
    };
    let to = args.to.clone().unwrap_or_default();
    let files = transfer::check_files(function, &to, &args.files)?;
    let mut session = Session::open(ctx)?;
    let destinations: Vec<Destination> = session.api.get(path::DESTINATIONS)?;
    if !destinations.iter().any(|d| d.nickname == to) {
        return Err(Failure::new(Code::E8004, &[]).into());
    }
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(&f.path).ok())
        .map(|m| m.len())
        .sum();
    let kind = match function {
        Function::EApplication => "電子申請",
        Function::Attachments => "電子申請以外",
    };
    let question = format!(
        "Send {} file(s), {total} bytes, to {to} ({kind})?",
        files.len()
    );
    if !ui::confirm(&question, ctx.yes)? {
        return Err(Failure::new(Code::E2001, &["送信"])
            .detail("not sent")
            .into());
    }
    let society = session.profile.certificates("society.pem")?;
    let office = session.who.party.number.clone();
    let uploaded = transfer::send(&mut session, &society, &files, &to, &office, function, true)?;
    println!(
        "ok    {}  {}  {} bytes  {}",
        uploaded.id,
        uploaded.name,
        uploaded.size,
        when(uploaded.sent_at)
    );
    Ok(())
}

/// `kx sent` and `kx sent cancel`.
pub(crate) fn sent(ctx: &Ctx, args: &SentArgs) -> Result<()> {
    let session = Session::open(ctx)?;
    if let Some(SentCommand::Cancel { ids }) = &args.command {
        let rows: Vec<SentEntry> = session.api.get(path::SENT)?;
        return remove_each(&session, ids, "取消", |id| {
            rows.iter().find(|e| e.id == id).map(|e| e.name.clone())
        });
    }
    let target = if args.all {
        path::SENT.to_owned()
    } else {
        let since = recent_since(Utc::now()).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        format!(
            "{}?since={}",
            path::SENT,
            since.replace('+', "%2B").replace(':', "%3A")
        )
    };
    let rows: Vec<SentEntry> = session.api.get(&target)?;
    print_sent(&rows, args.json)
}

/// The sent-status table: 健保ダウンロード 未/済, or 取消 for a cancelled send.
pub(crate) fn print_sent(rows: &[SentEntry], json: bool) -> Result<()> {
    print_rows(
        rows,
        json,
        &[
            "ID",
            "送信日時",
            "送信先",
            "サイズ",
            "ダウンロード",
            "ファイル名",
        ],
        |e| {
            let status = match (e.cancelled_at, e.first_received_at) {
                (Some(_), _) => "取消".to_owned(),
                (None, Some(at)) => format!("済 {}", when(at)),
                (None, None) => "未".to_owned(),
            };
            vec![
                e.id.clone(),
                when(e.sent_at),
                e.destination.clone().unwrap_or_else(|| party(&e.to)),
                e.size.to_string(),
                status,
                e.name.clone(),
            ]
        },
    )
}

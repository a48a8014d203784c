//! The office app's screens (§3, §4): inbox, receive, delete, history, send, sent status and
//! cancel, as tables and result lines. The society side reuses the tables.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Local, Utc};
use clap::{Args, Subcommand};
use kx_client::exchange::{self as ops, Failure, FileOutcome};
use kx_client::kx_exchange::Code;
use kx_client::kx_exchange::api::{Function, InboxEntry, Party, SentEntry};

use super::Ctx;
use super::kpfd;
use super::report::{Failed, reported, result_failure};
use super::session;
use super::ui;
use crate::progress::Bars;

type Result<T, E = Failed> = std::result::Result<T, E>;

/// `kx send`.
#[derive(Args, Debug)]
pub(crate) struct SendArgs {
    /// The destination's nickname (送信先), e.g. 給付課: see `kx destinations`.
    #[arg(long)]
    to: Option<String>,
    /// The e-application function (電子申請): KPFD.CSV only. Default: attachments (電子申請以外).
    #[arg(long)]
    e_application: bool,
    /// Send the e-application file even when its check (`kx check-kpfd`) finds errors.
    #[arg(long, requires = "e_application")]
    ignore_check: bool,
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
        let text = serde_json::to_string_pretty(rows).map_err(kx_client::Error::from)?;
        println!("{text}");
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
    let session = session::open(ctx)?;
    print_inbox(&ops::inbox(&session)?, json)
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

/// Prints a result line per received file (`ok … -> path` or `fail … code`).
pub(crate) fn print_received(outcomes: &[FileOutcome<PathBuf>]) {
    for outcome in outcomes {
        match &outcome.result {
            Ok(path) => println!(
                "ok    {}  {}  -> {}",
                outcome.id,
                outcome.name,
                path.display()
            ),
            Err(err) => result_failure(&outcome.id, &outcome.name, err),
        }
    }
}

/// `kx receive`: each file downloaded and opened; a result line per file.
pub(crate) fn receive(ctx: &Ctx, ids: &[String], all: bool, dir: &Path) -> Result<()> {
    if ids.is_empty() && !all {
        return Err(Failure::new(Code::E2001, &["受信"]).into());
    }
    let session = session::open(ctx)?;
    let outcomes = ops::receive_each(&session, ids, all, dir, &Bars::default())?;
    print_received(&outcomes);
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    println!("{} received, {failed} failed", outcomes.len() - failed);
    reported(&outcomes)
}

/// Prints a result line per removed file.
fn print_removed(outcomes: &[FileOutcome]) -> Result<()> {
    for outcome in outcomes {
        match &outcome.result {
            Ok(()) => println!("ok    {}  {}", outcome.id, outcome.name),
            Err(err) => result_failure(&outcome.id, &outcome.name, err),
        }
    }
    reported(outcomes)
}

/// `kx delete`: warns before deleting files never received (§3.2).
pub(crate) fn delete(ctx: &Ctx, ids: &[String]) -> Result<()> {
    let session = session::open(ctx)?;
    let unreceived = ops::unreceived(&session, ids)?;
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
    print_removed(&ops::delete_received(&session, ids)?)
}

/// `kx history`.
pub(crate) fn history(ctx: &Ctx, json: bool) -> Result<()> {
    let session = session::open(ctx)?;
    let rows = ops::history(&session)?;
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

/// `kx destinations`: the nicknames `kx send --to` takes.
pub(crate) fn destinations(ctx: &Ctx, json: bool) -> Result<()> {
    let session = session::open(ctx)?;
    let rows = ops::destinations(&session)?;
    print_rows(&rows, json, &["送信先"], |d| vec![d.nickname.clone()])
}

/// `kx send`: the rules first (E2002–E2007), for e-application the check of KPFD.CSV, then
/// the destination (E8004), a confirmation, and the upload.
pub(crate) fn send(ctx: &Ctx, args: &SendArgs) -> Result<()> {
    let function = if args.e_application {
        Function::EApplication
    } else {
        Function::Attachments
    };
    let to = args.to.clone().unwrap_or_default();
    let files = ops::check_files(function, &to, &args.files)?;
    if function == Function::EApplication {
        kpfd::before_send(&args.files, args.ignore_check)?;
    }
    let mut session = session::open(ctx)?;
    let prepared = ops::prepare_send(&session, function, &to, files)?;
    let kind = match function {
        Function::EApplication => "電子申請",
        Function::Attachments => "電子申請以外",
    };
    let question = format!(
        "Send {} file(s), {} bytes, to {to} ({kind})?",
        prepared.file_count(),
        prepared.total
    );
    if !ui::confirm(&question, ctx.yes)? {
        return Err(Failure::new(Code::E2001, &["送信"])
            .detail("not sent")
            .into());
    }
    let uploaded = prepared.send(&mut session, &Bars::default())?;
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
    let session = session::open(ctx)?;
    if let Some(SentCommand::Cancel { ids }) = &args.command {
        return print_removed(&ops::cancel_sent(&session, ids)?);
    }
    print_sent(&ops::sent(&session, args.all)?, args.json)
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

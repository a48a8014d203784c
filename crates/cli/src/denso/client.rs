//! The client commands with a profile: send, cancel, upstream, fetch, watch, status, show,
//! inbox.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use kx_client::denso::{
    self as ops, Checked, Checkpoint, Fetched, Profile, State, Submitted, UpstreamRequest, Watched,
};
use kx_client::kx_records::ledger::{
    CodeText, Row, StatusView, codes, file_names, has_problem, short_time, with_code,
};
use kx_client::kx_records::reception::counts_in_words;

use super::profile::{EXIT_REFUSED, EXIT_UNUSABLE, ProfileArgs};
use super::{print_json, print_violations};
use crate::progress::Bars;

type Result<T> = kx_client::Result<T>;

/// The test hook of `fetch`: `KX_TEST_CRASH_AFTER_RETR=1` aborts the process right after the
/// first message is stored, before its DELE; it has no other use.
const CRASH_AFTER_RETR: &str = "KX_TEST_CRASH_AFTER_RETR";
/// The test hook of sending: `KX_TEST_CRASH_AFTER_RESERVE=1` aborts the process right after
/// the number is reserved; it has no other use.
const CRASH_AFTER_RESERVE: &str = "KX_TEST_CRASH_AFTER_RESERVE";

/// Aborts at a checkpoint when its test hook is set.
fn crash_hooks(checkpoint: Checkpoint<'_>) {
    let set = |hook: &str| std::env::var_os(hook).is_some_and(|v| v == "1");
    match checkpoint {
        Checkpoint::Stored if set(CRASH_AFTER_RETR) => {
            eprintln!("kx denso: {CRASH_AFTER_RETR}: aborting after RETR and commit, before DELE");
            std::process::abort();
        }
        Checkpoint::Reserved(number) if set(CRASH_AFTER_RESERVE) => {
            eprintln!("kx denso: {CRASH_AFTER_RESERVE}: aborting after reserving {number}");
            std::process::abort();
        }
        _ => {}
    }
}

/// `kx denso send`.
#[derive(Args)]
pub(crate) struct SendArgs {
    /// Pack the files into one LZH archive (named after the transmission number).
    #[arg(long)]
    lzh: bool,
    /// Send even what the local checks refuse, to see the federation's own answer (for test
    /// environments).
    #[arg(long)]
    no_check: bool,
    #[command(flatten)]
    profile: ProfileArgs,
    /// The data files: CSV (up to 8 alphanumerics + .CSV) or LZH (up to 20 + .LZH).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// `kx denso cancel`.
#[derive(Args)]
pub(crate) struct CancelArgs {
    #[command(flatten)]
    profile: ProfileArgs,
    /// The transmission number of the submission to cancel.
    number: String,
}

/// Prints what the federation would refuse, then sends unless it would (or `no_check`).
fn submit(
    args: &ProfileArgs,
    profile: &Profile,
    state: &mut State,
    checked: Checked,
    no_check: bool,
) -> Result<ExitCode> {
    for (name, code) in &checked.structure_errors {
        eprintln!(
            "  {} {name}: {} (the federation answers DataErr)\n         {}",
            code.code(),
            code.message_en(),
            code.message_ja()
        );
    }
    if checked.refused() {
        if !checked.inspection.is_valid() {
            print_violations(&checked.inspection, &mut std::io::stderr().lock())?;
        }
        if !no_check {
            eprintln!(
                "kx denso: not sent (no number used): the federation would refuse this message"
            );
            return Ok(ExitCode::from(EXIT_REFUSED));
        }
        eprintln!("kx denso: --no-check: sending it anyway");
    }
    let password = args.password(profile)?;
    match ops::submit(profile, state, checked, &password, &mut crash_hooks)? {
        Submitted::Cancel { number, cancels } => println!("{number} (cancels {cancels})"),
        Submitted::Upstream { unique, kind } => println!("{unique} ({kind})"),
        Submitted::Data(number) => println!("{number}"),
        _ => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// `kx denso send`.
pub(crate) fn send(args: SendArgs) -> Result<ExitCode> {
    let (profile, mut state) = args.profile.open()?;
    let checked = ops::check_send(&profile, &state, &args.files, args.lzh)?;
    submit(&args.profile, &profile, &mut state, checked, args.no_check)
}

/// `kx denso cancel`.
pub(crate) fn cancel(args: CancelArgs) -> Result<ExitCode> {
    let (profile, mut state) = args.profile.open()?;
    let (checked, known) = ops::check_cancel(&profile, &state, &args.number)?;
    if !known {
        eprintln!(
            "kx denso: note: {} was not sent from this profile",
            args.number
        );
    }
    submit(&args.profile, &profile, &mut state, checked, false)
}

/// `kx denso upstream` with a profile (no `--from`): the message is sent.
pub(crate) fn upstream(args: &ProfileArgs, request: UpstreamRequest) -> Result<ExitCode> {
    let (profile, mut state) = args.open()?;
    let checked = ops::check_upstream(&profile, &state, request)?;
    submit(args, &profile, &mut state, checked, false)
}

/// `kx denso fetch`.
#[derive(Args)]
pub(crate) struct FetchArgs {
    /// Print what was fetched as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    profile: ProfileArgs,
}

/// `kx denso watch`.
#[derive(Args)]
pub(crate) struct WatchArgs {
    /// Seconds between fetches.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    interval: u64,
    /// Stop after this many fetches (default: run until interrupted).
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    #[command(flatten)]
    profile: ProfileArgs,
}

/// `kx denso fetch`.
pub(crate) fn fetch(args: FetchArgs) -> Result<ExitCode> {
    let (profile, mut state) = args.profile.open()?;
    let password = args.profile.password(&profile)?;
    let fetched = ops::fetch(
        &profile,
        &mut state,
        &password,
        &Bars::default(),
        &mut crash_hooks,
    )?;
    print_reports(&profile, &fetched, args.json)?;
    Ok(if fetched.has_problem() {
        ExitCode::from(EXIT_REFUSED)
    } else {
        ExitCode::SUCCESS
    })
}

/// `kx denso watch`.
pub(crate) fn watch(args: WatchArgs) -> Result<ExitCode> {
    let (profile, mut state) = args.profile.open()?;
    let password = args.profile.password(&profile)?;
    let mut printed = Ok(());
    let failed = ops::watch(
        &profile,
        &mut state,
        &password,
        Duration::from_secs(args.interval),
        args.count,
        &mut |round| match round {
            Watched::Fetched(fetched) => {
                if fetched.on_server > 0 || !fetched.applied.is_empty() {
                    printed = print_reports(&profile, &fetched, false);
                }
            }
            Watched::Failed(at, e) => eprintln!("kx denso watch: {at} {e:#}"),
        },
    )?;
    printed?;
    Ok(if failed {
        ExitCode::from(EXIT_UNUSABLE)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_reports(profile: &Profile, fetched: &Fetched, json: bool) -> Result<()> {
    if json {
        return print_json(fetched);
    }
    println!(
        "fetched {} new message(s) from {} ({} on the server)",
        fetched.new, profile.settings.pop3, fetched.on_server
    );
    for r in &fetched.applied {
        println!(
            "  {:<13} {:<20}  {}",
            r.kind,
            r.number.as_deref().unwrap_or("-"),
            r.summary.as_deref().unwrap_or("")
        );
        if let Some(path) = &r.saved_to {
            println!("  {:<13} {:<20}  saved in {path}", "", "");
        }
        if let Some(problem) = &r.problem {
            println!("  {:<13} {:<20}  problem: {problem}", "", "");
        }
    }
    Ok(())
}

/// `kx denso status`.
#[derive(Args)]
pub(crate) struct StatusArgs {
    /// Every submission (default: the last 30 days and any still open).
    #[arg(long)]
    all: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    profile: ProfileArgs,
}

/// `kx denso show`.
#[derive(Args)]
pub(crate) struct ShowArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Print the message exactly as it was sent.
    #[arg(long, conflicts_with = "json")]
    raw: bool,
    #[command(flatten)]
    profile: ProfileArgs,
    /// The transmission number.
    number: String,
}

/// `kx denso inbox`.
#[derive(Args)]
pub(crate) struct InboxArgs {
    /// Show the messages already seen too.
    #[arg(long)]
    all: bool,
    /// Print JSON (and still mark the messages seen).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    profile: ProfileArgs,
}

/// Two lines: the code, where, the English text; under it the Japanese text.
fn print_code(code: &CodeText, out: &mut impl std::io::Write, indent: &str) -> std::io::Result<()> {
    match (code.message_en, code.message_ja) {
        (Some(en), Some(ja)) => {
            writeln!(out, "{indent}{} {}: {en}", code.code, code.context)?;
            writeln!(out, "{indent}       {ja}")
        }
        _ => writeln!(
            out,
            "{indent}{} {}: (a code this client's table does not know)",
            code.code, code.context
        ),
    }
}

/// `kx denso status`.
pub(crate) fn status(args: StatusArgs) -> Result<ExitCode> {
    let (_, state) = args.profile.open()?;
    let submissions = ops::status(&state, args.all)?;
    if args.json {
        let rows: Vec<StatusView<'_>> = submissions.iter().map(StatusView::from).collect();
        print_json(&rows)?;
    } else {
        let mut out = std::io::stdout().lock();
        let mut rows = vec![
            [
                "NUMBER",
                "KIND",
                "FILES",
                "SENT",
                "ARRIVAL",
                "RECEPTION",
                "CANCEL",
            ]
            .map(str::to_owned),
        ];
        for s in &submissions {
            let row = Row::of(s);
            rows.push([
                s.number.clone(),
                s.kind.clone(),
                file_names(s),
                row.sent,
                row.arrival,
                row.reception,
                row.cancel,
            ]);
        }
        let widths: Vec<usize> = (0..7)
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        for (i, row) in rows.iter().enumerate() {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, &width)| format!("{cell:<width$}"))
                .collect();
            writeln!(out, "{}", cells.join("  ").trim_end())?;
            // Under each submission, its codes with both texts.
            if let Some(s) = i.checked_sub(1).and_then(|i| submissions.get(i)) {
                for code in codes(s) {
                    print_code(&code, &mut out, "    ")?;
                }
            }
        }
        if submissions.is_empty() {
            writeln!(
                out,
                "(no submissions{})",
                if args.all {
                    ""
                } else {
                    " in the last 30 days; --all shows every one"
                }
            )?;
        }
    }
    Ok(if submissions.iter().any(has_problem) {
        ExitCode::from(EXIT_REFUSED)
    } else {
        ExitCode::SUCCESS
    })
}

/// `kx denso show`.
pub(crate) fn show(args: ShowArgs) -> Result<ExitCode> {
    let (_, state) = args.profile.open()?;
    let Some(detail) = ops::show(&state, &args.number)? else {
        eprintln!("kx denso: {} is not in this profile's store", args.number);
        return Ok(ExitCode::from(EXIT_UNUSABLE));
    };
    if args.raw {
        let raw = state
            .sent_message(&detail.submission.number)?
            .unwrap_or_default();
        std::io::stdout().lock().write_all(&raw)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.json {
        print_json(&detail.view())?;
        return Ok(ExitCode::SUCCESS);
    }
    let (s, row, codes, csv_err, info, warnings) = (
        &detail.submission,
        &detail.row,
        &detail.codes,
        &detail.csv_err,
        &detail.info,
        &detail.warnings,
    );
    let mut out = std::io::stdout().lock();
    let line = |out: &mut std::io::StdoutLock<'_>, label: &str, value: &str| {
        writeln!(out, "  {label:<14} {value}")
    };
    writeln!(out, "{} {}", s.number, s.kind)?;
    line(&mut out, "reserved", &short_time(&s.reserved_at))?;
    line(&mut out, "sent", &row.sent)?;
    if let Some(e) = &s.send_error {
        line(&mut out, "send error", e)?;
    }
    if !s.attachments.is_empty() {
        line(&mut out, "attachments", &s.attachments.join(", "))?;
    }
    for f in &s.data_files {
        let records = f.records.map_or("structure unreadable".to_owned(), |n| {
            format!("{n} data record(s)")
        });
        line(&mut out, "data file", &format!("{} ({records})", f.name))?;
    }
    if let Some(target) = &s.target {
        let label = if s.kind == "DataDelete" {
            "cancels"
        } else {
            "upstream kind"
        };
        line(&mut out, label, target)?;
    }
    line(&mut out, "arrival", &row.arrival)?;
    if s.kind == "DataSend" {
        line(
            &mut out,
            "reception",
            &with_code(
                s.regist_result
                    .as_deref()
                    .unwrap_or(if row.reception == "waiting" {
                        "waiting"
                    } else {
                        "-"
                    }),
                s.regist_code.as_deref(),
            ),
        )?;
        for f in &s.files {
            let mut word = with_code(&f.result, f.code.as_deref());
            if f.format_error {
                word.push_str(", format errors (CsvErr.txt)");
            }
            line(&mut out, &format!("  {}", f.name), &word)?;
        }
    }
    line(&mut out, "cancel", &row.cancel)?;
    if !codes.is_empty() {
        writeln!(out, "  errors")?;
        for code in codes {
            print_code(code, &mut out, "    ")?;
        }
    }
    if let Some(csv_err) = csv_err {
        writeln!(out, "  format errors (CsvErr.txt)")?;
        for r in &csv_err.records {
            writeln!(
                out,
                "    {} line {} item {}: {} {}",
                r.file, r.line, r.item, r.code, r.text
            )?;
        }
    }
    match info {
        Some(info) => {
            writeln!(out, "  reception counts (TransmitInfo.txt)")?;
            for r in &info.receipts {
                writeln!(
                    out,
                    "    {}: {}",
                    r.file,
                    counts_in_words(r.total, r.forms.as_ref())
                )?;
            }
            if !info.errors.is_empty() {
                writeln!(out, "    {} detailed format error(s)", info.errors.len())?;
            }
        }
        None if s.regist_result.is_some() => {
            writeln!(
                out,
                "  reception counts: none (no TransmitInfo.txt: the test environment sends none)"
            )?;
        }
        None => {}
    }
    for w in warnings {
        writeln!(out, "  warning: {w}")?;
    }
    Ok(if detail.has_problem() {
        ExitCode::from(EXIT_REFUSED)
    } else {
        ExitCode::SUCCESS
    })
}

/// `kx denso inbox`.
pub(crate) fn inbox(args: InboxArgs) -> Result<ExitCode> {
    let (_, state) = args.profile.open()?;
    let messages = ops::inbox(&state, args.all)?;
    if args.json {
        print_json(&messages)?;
    } else {
        let mut out = std::io::stdout().lock();
        if messages.is_empty() {
            writeln!(out, "(nothing new)")?;
        }
        for m in &messages {
            writeln!(
                out,
                "{} {:<11} {}{}",
                short_time(&m.fetched_at),
                m.kind.as_deref().unwrap_or("?"),
                m.title.as_deref().unwrap_or(""),
                m.number
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            )?;
            if let Some(body) = m.body.as_deref().filter(|b| !b.is_empty()) {
                for line in body.lines() {
                    writeln!(out, "    {line}")?;
                }
            }
            if let Some(path) = &m.saved_to {
                writeln!(out, "    files: {path}")?;
            }
            if let Some(problem) = &m.problem {
                writeln!(out, "    problem: {problem}")?;
            }
        }
    }
    ops::mark_seen(&state, &messages)?;
    Ok(ExitCode::SUCCESS)
}

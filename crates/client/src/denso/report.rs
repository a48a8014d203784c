//! Telling the user where things stand: `kx denso status`, `kx denso show`, `kx denso inbox`.
//!
//! Error codes are always printed with both texts of the kx-denso table, Japanese and English;
//! a code from another federation's server that the table lacks is shown as such.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Args;
use kx_denso::ErrorCode;
use kx_denso::message::MessageKind;
use kx_denso::reception::{Reception, SentFile, check_reception, counts_in_words};
use kx_denso::records::{CsvErr, TransmitInfo};
use serde::Serialize;

use super::state::{StoredMessage, Submission, UNREADABLE};
use super::{EXIT_REFUSED, ProfileArgs};

/// How far back `status` looks without `--all`.
const RECENT_DAYS: i64 = 30;

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

/// An error code with its texts, for people and for JSON.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct CodeText {
    /// Where it came from: `arrival`, `reception`, a file name, `cancel`.
    pub(crate) context: String,
    /// The six-character code.
    pub(crate) code: String,
    /// The Japanese text, when the table knows the code.
    pub(crate) message_ja: Option<&'static str>,
    /// The English text, when the table knows the code.
    pub(crate) message_en: Option<&'static str>,
}

impl CodeText {
    fn new(context: &str, code: &str) -> CodeText {
        let known = ErrorCode::from_code(code);
        CodeText {
            context: context.to_owned(),
            code: code.to_owned(),
            message_ja: known.map(ErrorCode::message_ja),
            message_en: known.map(ErrorCode::message_en),
        }
    }

    /// Two lines: the code, where, the English text; under it the Japanese text.
    fn print(&self, out: &mut impl std::io::Write, indent: &str) -> std::io::Result<()> {
        match (self.message_en, self.message_ja) {
            (Some(en), Some(ja)) => {
                writeln!(out, "{indent}{} {}: {en}", self.code, self.context)?;
                writeln!(out, "{indent}       {ja}")
            }
            _ => writeln!(
                out,
                "{indent}{} {}: (a code this client's table does not know)",
                self.code, self.context
            ),
        }
    }
}

/// Every code a submission collected.
fn codes(s: &Submission) -> Vec<CodeText> {
    let mut codes = Vec::new();
    if let Some(code) = &s.accept_code {
        codes.push(CodeText::new("arrival", code));
    }
    if let Some(code) = &s.regist_code {
        codes.push(CodeText::new("reception", code));
    }
    for f in &s.files {
        if let Some(code) = &f.code {
            codes.push(CodeText::new(&f.name, code));
        }
    }
    if let Some(code) = &s.cancel_code {
        codes.push(CodeText::new("cancel", code));
    }
    codes
}

/// `2026-11-23T10:05:43+09:00` → `2026-11-23 10:05`.
fn short_time(t: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| t.to_owned())
}

/// A result with its code, when it has one, e.g. `IFErr A10101`.
pub(super) fn with_code(result: &str, code: Option<&str>) -> String {
    match code {
        Some(code) => format!("{result} {code}"),
        None => result.to_owned(),
    }
}

/// The words of each column of a submission's row.
struct Row {
    sent: String,
    arrival: String,
    reception: String,
    cancel: String,
}

impl Row {
    fn of(s: &Submission) -> Row {
        let sent = match (&s.sent_at, &s.send_error) {
            (Some(at), _) => short_time(at),
            (None, Some(_)) => "reserved, send failed".to_owned(),
            (None, None) => "reserved, not sent".to_owned(),
        };
        let arrival = match &s.accept_result {
            Some(result) => with_code(result, s.accept_code.as_deref()),
            // The federation answers an upstream notice with nothing (spec §4).
            None if s.kind == "Upstream" => "-".to_owned(),
            None if s.sent_at.is_some() => "waiting".to_owned(),
            None => "-".to_owned(),
        };
        let reception = if s.kind != "DataSend" {
            "-".to_owned()
        } else {
            match (&s.regist_result, s.accept_result.as_deref()) {
                (Some(result), _) if s.files.is_empty() => {
                    with_code(result, s.regist_code.as_deref())
                }
                (Some(_), _) => s
                    .files
                    .iter()
                    .map(|f| {
                        let mut word =
                            format!("{} {}", f.name, with_code(&f.result, f.code.as_deref()));
                        if f.format_error {
                            word.push_str(" (format errors)");
                        }
                        word
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                (None, _) if s.cancel_result.as_deref() == Some("Success") => {
                    "- (cancelled)".to_owned()
                }
                (None, Some("Success")) => "waiting".to_owned(),
                (None, _) => "-".to_owned(),
            }
        };
        let cancel = match (&s.cancel_result, &s.cancelled_by, s.kind.as_str()) {
            (Some(result), Some(by), _) => {
                format!("{} by {by}", with_code(result, s.cancel_code.as_deref()))
            }
            (Some(result), None, "DataDelete") => format!(
                "of {}: {}",
                s.target.as_deref().unwrap_or("?"),
                with_code(result, s.cancel_code.as_deref())
            ),
            (Some(result), None, _) => with_code(result, s.cancel_code.as_deref()),
            (None, _, "DataDelete") => {
                format!("of {}: waiting", s.target.as_deref().unwrap_or("?"))
            }
            (None, _, _) => "-".to_owned(),
        };
        Row {
            sent,
            arrival,
            reception,
            cancel,
        }
    }
}

/// Whether the submission still waits for an answer.
fn is_open(s: &Submission) -> bool {
    match s.kind.as_str() {
        "DataSend" => {
            s.sent_at.is_none()
                || s.accept_result.is_none()
                || (s.accept_result.as_deref() == Some("Success")
                    && s.regist_result.is_none()
                    && s.cancel_result.is_none())
        }
        "DataDelete" => s.sent_at.is_none() || s.cancel_result.is_none(),
        _ => s.sent_at.is_none(),
    }
}

fn is_recent(s: &Submission) -> bool {
    chrono::DateTime::parse_from_rfc3339(&s.reserved_at).is_ok_and(|t| {
        chrono::Local::now().fixed_offset() - t < chrono::TimeDelta::days(RECENT_DAYS)
    })
}

/// The names shown in the FILES column: the data files, else the attachments.
fn file_names(s: &Submission) -> String {
    let names: Vec<&str> = if s.data_files.is_empty() {
        s.attachments.iter().map(String::as_str).collect()
    } else {
        s.data_files.iter().map(|f| f.name.as_str()).collect()
    };
    if names.is_empty() {
        "-".to_owned()
    } else {
        names.join(",")
    }
}

/// Whether any answer carries an error.
fn has_problem(s: &Submission) -> bool {
    s.send_error.is_some()
        || s.accept_result.as_deref().is_some_and(|r| r != "Success")
        || s.regist_result.as_deref().is_some_and(|r| r != "Success")
        || s.files
            .iter()
            .any(|f| f.result != "Success" || f.format_error)
        || (s.kind == "DataDelete" && s.cancel_result.as_deref().is_some_and(|r| r != "Success"))
}

/// `kx denso status`.
pub(crate) fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let (_, state) = args.profile.open()?;
    let submissions: Vec<Submission> = state
        .submissions()?
        .into_iter()
        .filter(|s| args.all || is_open(s) || is_recent(s))
        .collect();
    if args.json {
        #[derive(Serialize)]
        struct StatusJson<'a> {
            #[serde(flatten)]
            submission: &'a Submission,
            files_sent: String,
            open: bool,
            codes: Vec<CodeText>,
        }
        let rows: Vec<StatusJson<'_>> = submissions
            .iter()
            .map(|s| StatusJson {
                submission: s,
                files_sent: file_names(s),
                open: is_open(s),
                codes: codes(s),
            })
            .collect();
        crate::denso_cmd::print_json(&rows)?;
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
                    code.print(&mut out, "    ")?;
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

/// What looks incomplete in a submission's reception ([`check_reception`]), in words.
pub(crate) fn warnings(s: &Submission, info: Option<&TransmitInfo>) -> Vec<String> {
    let sent: Vec<SentFile> = s
        .data_files
        .iter()
        .map(|f| SentFile {
            name: f.name.clone(),
            records: f.records,
        })
        .collect();
    let listed: Vec<&str> = s.files.iter().map(|f| f.name.as_str()).collect();
    let reception = Reception {
        success: s.regist_result.as_deref() == Some("Success"),
        listed: &listed,
        info,
    };
    check_reception(&sent, &reception)
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// `kx denso show`.
pub(crate) fn show(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let (_, state) = args.profile.open()?;
    let Some(s) = state.submission(&args.number)? else {
        eprintln!("kx denso: {} is not in this profile's store", args.number);
        return Ok(ExitCode::from(super::EXIT_UNUSABLE));
    };
    if args.raw {
        let raw = state.sent_message(&s.number)?.unwrap_or_default();
        std::io::stdout().lock().write_all(&raw)?;
        return Ok(ExitCode::SUCCESS);
    }
    let info = s
        .transmit_info
        .as_deref()
        .map(TransmitInfo::parse)
        .transpose();
    let csv_err = s.csv_err.as_deref().map(CsvErr::parse).transpose();
    let (info, info_problem) = match info {
        Ok(info) => (info, None),
        Err(e) => (None, Some(format!("TransmitInfo.txt does not read: {e}"))),
    };
    let (csv_err, csv_problem) = match csv_err {
        Ok(c) => (c, None),
        Err(e) => (None, Some(format!("CsvErr.txt does not read: {e}"))),
    };
    let mut warnings = warnings(&s, info.as_ref());
    warnings.extend(info_problem);
    warnings.extend(csv_problem);
    let row = Row::of(&s);
    let codes = codes(&s);
    if args.json {
        #[derive(Serialize)]
        struct ShowJson<'a> {
            #[serde(flatten)]
            submission: &'a Submission,
            codes: &'a [CodeText],
            csv_err: Vec<CsvErrJson>,
            receipts: Vec<ReceiptJson>,
            warnings: &'a [String],
        }
        #[derive(Serialize)]
        struct CsvErrJson {
            file: String,
            line: u64,
            item: u32,
            code: String,
            text: String,
        }
        #[derive(Serialize)]
        struct ReceiptJson {
            file: String,
            total: u64,
            claims: Option<u64>,
            benefit_management: Option<u64>,
            reexaminations: Option<u64>,
            words: String,
        }
        crate::denso_cmd::print_json(&ShowJson {
            submission: &s,
            codes: &codes,
            csv_err: csv_err
                .iter()
                .flat_map(|c| &c.records)
                .map(|r| CsvErrJson {
                    file: r.file.clone(),
                    line: r.line,
                    item: r.item,
                    code: r.code.clone(),
                    text: r.text.clone(),
                })
                .collect(),
            receipts: info
                .iter()
                .flat_map(|i| &i.receipts)
                .map(|r| ReceiptJson {
                    file: r.file.clone(),
                    total: r.total,
                    claims: r.forms.map(|f| f.claims),
                    benefit_management: r.forms.map(|f| f.benefit_management),
                    reexaminations: r.forms.map(|f| f.reexaminations),
                    words: counts_in_words(r.total, r.forms.as_ref()),
                })
                .collect(),
            warnings: &warnings,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
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
        for code in &codes {
            code.print(&mut out, "    ")?;
        }
    }
    if let Some(csv_err) = &csv_err {
        writeln!(out, "  format errors (CsvErr.txt)")?;
        for r in &csv_err.records {
            writeln!(
                out,
                "    {} line {} item {}: {} {}",
                r.file, r.line, r.item, r.code, r.text
            )?;
        }
    }
    match &info {
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
    for w in &warnings {
        writeln!(out, "  warning: {w}")?;
    }
    Ok(if has_problem(&s) || !warnings.is_empty() {
        ExitCode::from(EXIT_REFUSED)
    } else {
        ExitCode::SUCCESS
    })
}

/// The kinds `inbox` shows: what the federation sent on its own.
fn is_inbox_kind(m: &StoredMessage) -> bool {
    let kind = m.kind.as_deref();
    let federations_own = kind.and_then(|k| k.parse().ok()).is_some_and(|kind| {
        matches!(
            kind,
            MessageKind::Contact | MessageKind::Result | MessageKind::ServiceInfo
        )
    });
    federations_own || kind == Some(UNREADABLE) || m.problem.is_some()
}

/// `kx denso inbox`.
pub(crate) fn inbox(args: InboxArgs) -> anyhow::Result<ExitCode> {
    let (_, state) = args.profile.open()?;
    let messages: Vec<StoredMessage> = state
        .messages(!args.all)?
        .into_iter()
        .filter(is_inbox_kind)
        .collect();
    if args.json {
        crate::denso_cmd::print_json(&messages)?;
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
    let ids: Vec<i64> = messages.iter().filter(|m| !m.seen).map(|m| m.id).collect();
    state.mark_seen(&ids)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use kx_denso::records::{FormCounts, Receipt};

    use super::super::state::{DataFileNote, FileRow};
    use super::*;

    fn submission(files: &[(&str, u64)]) -> Submission {
        Submission {
            number: "13123456780000000001".into(),
            kind: "DataSend".into(),
            regist_result: Some("Success".into()),
            data_files: files
                .iter()
                .map(|(name, records)| DataFileNote {
                    name: (*name).into(),
                    records: Some(*records),
                    structure_error: None,
                })
                .collect(),
            files: files
                .iter()
                .map(|(name, _)| FileRow {
                    name: (*name).into(),
                    result: "Success".into(),
                    code: None,
                    format_error: false,
                })
                .collect(),
            ..Submission::default()
        }
    }

    fn receipt(file: &str, claims: u64, benefit: u64, total: u64) -> Receipt {
        Receipt {
            file: file.into(),
            forms: Some(FormCounts {
                claims,
                benefit_management: benefit,
                reexaminations: 0,
            }),
            total,
        }
    }

    #[test]
    fn the_submission_is_checked_against_its_regist() {
        let mut s = submission(&[("A.CSV", 5), ("B.CSV", 1)]);
        s.files.pop();
        let info = TransmitInfo {
            receipts: vec![receipt("A.CSV", 3, 0, 3)],
            errors: Vec::new(),
        };
        let w = warnings(&s, Some(&info));
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].contains("B.CSV was sent but the Regist does not list it"));
        assert!(w[1].contains("A.CSV: the federation received 3 of the 5 records"));
        assert!(w[2].contains("no benefit-management form"));
    }

    #[test]
    fn codes_carry_both_texts_or_say_they_are_unknown() {
        let known = CodeText::new("arrival", ErrorCode::FileName.code());
        assert_eq!(known.message_ja, Some(ErrorCode::FileName.message_ja()));
        let mut out = Vec::new();
        CodeText::new("arrival", "Z99999")
            .print(&mut out, "")
            .expect("written");
        assert!(String::from_utf8_lossy(&out).contains("does not know"));
    }
}

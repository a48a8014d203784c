//! Where things stand: every submission with the words of its status columns and its error
//! codes (both texts of the kx-denso table; a code from another federation's server that the
//! table lacks is said to be unknown), a submission in detail with the check of its
//! reception, and the messages the federation sent on its own.

use kx_denso::ErrorCode;
use kx_denso::message::MessageKind;
use kx_denso::reception::{Reception, SentFile, check_reception, counts_in_words};
use kx_denso::records::{CsvErr, TransmitInfo};
use serde::Serialize;

use super::state::{State, StoredMessage, Submission, UNREADABLE};

/// How far back `status` looks without `all`.
const RECENT_DAYS: i64 = 30;

/// An error code with its texts, for people and for JSON.
#[derive(Clone, Debug, Serialize)]
pub struct CodeText {
    /// Where it came from: `arrival`, `reception`, a file name, `cancel`.
    pub context: String,
    /// The six-character code.
    pub code: String,
    /// The Japanese text, when the table knows the code.
    pub message_ja: Option<&'static str>,
    /// The English text, when the table knows the code.
    pub message_en: Option<&'static str>,
}

impl CodeText {
    /// `code` as found in `context`.
    pub fn new(context: &str, code: &str) -> CodeText {
        let known = ErrorCode::from_code(code);
        CodeText {
            context: context.to_owned(),
            code: code.to_owned(),
            message_ja: known.map(ErrorCode::message_ja),
            message_en: known.map(ErrorCode::message_en),
        }
    }
}

/// Every code a submission collected.
pub fn codes(s: &Submission) -> Vec<CodeText> {
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
pub fn short_time(t: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| t.to_owned())
}

/// A result with its code, when it has one, e.g. `IFErr A10101`.
pub fn with_code(result: &str, code: Option<&str>) -> String {
    match code {
        Some(code) => format!("{result} {code}"),
        None => result.to_owned(),
    }
}

/// The words of each column of a submission's row.
#[derive(Clone, Debug)]
pub struct Row {
    /// When it was sent, or that it was only reserved.
    pub sent: String,
    /// The Accept's result, or `waiting`.
    pub arrival: String,
    /// The Regist's result per file, or `waiting`.
    pub reception: String,
    /// The cancel's result.
    pub cancel: String,
}

impl Row {
    /// The row of `s`.
    pub fn of(s: &Submission) -> Row {
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
pub fn is_open(s: &Submission) -> bool {
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

/// Whether the submission was reserved in the last 30 days.
fn is_recent(s: &Submission) -> bool {
    chrono::DateTime::parse_from_rfc3339(&s.reserved_at).is_ok_and(|t| {
        chrono::Local::now().fixed_offset() - t < chrono::TimeDelta::days(RECENT_DAYS)
    })
}

/// The names shown in the FILES column: the data files, else the attachments.
pub fn file_names(s: &Submission) -> String {
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
pub fn has_problem(s: &Submission) -> bool {
    s.send_error.is_some()
        || s.accept_result.as_deref().is_some_and(|r| r != "Success")
        || s.regist_result.as_deref().is_some_and(|r| r != "Success")
        || s.files
            .iter()
            .any(|f| f.result != "Success" || f.format_error)
        || (s.kind == "DataDelete" && s.cancel_result.as_deref().is_some_and(|r| r != "Success"))
}

/// The submissions `status` shows: every one with `all`, else those of the last 30 days and
/// any still open.
pub fn status(state: &State, all: bool) -> crate::Result<Vec<Submission>> {
    Ok(state
        .submissions()?
        .into_iter()
        .filter(|s| all || is_open(s) || is_recent(s))
        .collect())
}

/// A submission as `status --json` shows it.
#[derive(Serialize)]
pub struct StatusView<'a> {
    /// The submission.
    #[serde(flatten)]
    pub submission: &'a Submission,
    /// [`file_names`].
    pub files_sent: String,
    /// [`is_open`].
    pub open: bool,
    /// [`codes`].
    pub codes: Vec<CodeText>,
}

impl<'a> From<&'a Submission> for StatusView<'a> {
    fn from(s: &'a Submission) -> StatusView<'a> {
        StatusView {
            submission: s,
            files_sent: file_names(s),
            open: is_open(s),
            codes: codes(s),
        }
    }
}

/// What looks incomplete in a submission's reception ([`check_reception`]), in words.
fn warnings(s: &Submission, info: Option<&TransmitInfo>) -> Vec<String> {
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

/// A submission in detail: its files' results, CsvErr.txt, reception counts and the warnings
/// of [`check_reception`].
#[derive(Clone, Debug)]
pub struct Detail {
    /// The submission.
    pub submission: Submission,
    /// The words of its row.
    pub row: Row,
    /// Its codes.
    pub codes: Vec<CodeText>,
    /// CsvErr.txt, when the Regist carried one that reads.
    pub csv_err: Option<CsvErr>,
    /// TransmitInfo.txt, when the Regist carried one that reads.
    pub info: Option<TransmitInfo>,
    /// What looks incomplete, and attachments that do not read.
    pub warnings: Vec<String>,
}

impl Detail {
    /// Whether the face should tell of a problem (exit 1): an error or a warning.
    pub fn has_problem(&self) -> bool {
        has_problem(&self.submission) || !self.warnings.is_empty()
    }

    /// The detail as `show --json` shows it.
    pub fn view(&self) -> DetailView<'_> {
        DetailView {
            submission: &self.submission,
            codes: &self.codes,
            csv_err: self
                .csv_err
                .iter()
                .flat_map(|c| &c.records)
                .map(|r| CsvErrView {
                    file: r.file.clone(),
                    line: r.line,
                    item: r.item,
                    code: r.code.clone(),
                    text: r.text.clone(),
                })
                .collect(),
            receipts: self
                .info
                .iter()
                .flat_map(|i| &i.receipts)
                .map(|r| ReceiptView {
                    file: r.file.clone(),
                    total: r.total,
                    claims: r.forms.map(|f| f.claims),
                    benefit_management: r.forms.map(|f| f.benefit_management),
                    reexaminations: r.forms.map(|f| f.reexaminations),
                    words: counts_in_words(r.total, r.forms.as_ref()),
                })
                .collect(),
            warnings: &self.warnings,
        }
    }
}

/// A submission in detail as JSON.
#[derive(Serialize)]
pub struct DetailView<'a> {
    /// The submission.
    #[serde(flatten)]
    pub submission: &'a Submission,
    /// Its codes.
    pub codes: &'a [CodeText],
    /// CsvErr.txt's records.
    pub csv_err: Vec<CsvErrView>,
    /// TransmitInfo.txt's receipts.
    pub receipts: Vec<ReceiptView>,
    /// The warnings.
    pub warnings: &'a [String],
}

/// One record of CsvErr.txt.
#[derive(Serialize)]
pub struct CsvErrView {
    /// The file.
    pub file: String,
    /// The line.
    pub line: u64,
    /// The item.
    pub item: u32,
    /// The code.
    pub code: String,
    /// The text.
    pub text: String,
}

/// One receipt of TransmitInfo.txt.
#[derive(Serialize)]
pub struct ReceiptView {
    /// The file.
    pub file: String,
    /// 全レコード件数.
    pub total: u64,
    /// 請求書件数.
    pub claims: Option<u64>,
    /// 給付管理票件数.
    pub benefit_management: Option<u64>,
    /// 再審査申立書件数.
    pub reexaminations: Option<u64>,
    /// The counts in words.
    pub words: String,
}

/// The submission `number` in detail, if this profile's store has it.
pub fn show(state: &State, number: &str) -> crate::Result<Option<Detail>> {
    let Some(s) = state.submission(number)? else {
        return Ok(None);
    };
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
    Ok(Some(Detail {
        row: Row::of(&s),
        codes: codes(&s),
        submission: s,
        csv_err,
        info,
        warnings,
    }))
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

/// The messages the federation sent on its own (and any that could not be applied), not
/// yet seen, or every one with `all`.
pub fn inbox(state: &State, all: bool) -> crate::Result<Vec<StoredMessage>> {
    Ok(state
        .messages(!all)?
        .into_iter()
        .filter(is_inbox_kind)
        .collect())
}

/// Records that the user saw `messages`.
pub fn mark_seen(state: &State, messages: &[StoredMessage]) -> crate::Result<()> {
    let ids: Vec<i64> = messages.iter().filter(|m| !m.seen).map(|m| m.id).collect();
    Ok(state.mark_seen(&ids)?)
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
        let unknown = CodeText::new("arrival", "Z99999");
        assert_eq!((unknown.message_ja, unknown.message_en), (None, None));
    }
}

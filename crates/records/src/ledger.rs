//! The ledger a 伝送 client keeps of what it sent: each submission with what every answer said
//! about it (Accept, Regist per file, DeleteRegist), and the rules of where it stands — still
//! open, in trouble, the words of its status columns, its error codes with both texts of the
//! table (a code from another federation's server that the table lacks is said to be
//! unknown).

use serde::{Deserialize, Serialize};

use crate::TransmitInfo;
use crate::reception::{Reception, SentFile, check_reception};
use kx_denso::ErrorCode;

/// A data file of a submission, as the client counted it before sending.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFileNote {
    /// The CSV's name (inside the LZH when packed).
    pub name: String,
    /// Its data records, when the file's structure could be read.
    pub records: Option<u64>,
    /// The structure error the federation will answer `DataErr` with, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structure_error: Option<String>,
}

/// A submission as stored.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Submission {
    /// The transmission number (DataSend, DataDelete) or unique number (upstream).
    pub number: String,
    /// `DataSend`, `DataDelete` or `Upstream`.
    pub kind: String,
    /// When the number was reserved (RFC 3339).
    pub reserved_at: String,
    /// When the server took the message (250), if it did.
    pub sent_at: Option<String>,
    /// Why sending failed, if it did.
    pub send_error: Option<String>,
    /// The attachments' names.
    pub attachments: Vec<String>,
    /// The data files as counted before sending.
    pub data_files: Vec<DataFileNote>,
    /// DataDelete: the number it cancels; upstream: the kind name.
    pub target: Option<String>,
    /// Accept: `Success` or `IFErr`.
    pub accept_result: Option<String>,
    /// Accept: the X-Ex1 code.
    pub accept_code: Option<String>,
    /// When the Accept was fetched.
    pub accept_at: Option<String>,
    /// Regist: `Success` or `CheckErr`.
    pub regist_result: Option<String>,
    /// Regist: the X-Ex1 code of a CheckErr.
    pub regist_code: Option<String>,
    /// When the Regist was fetched.
    pub regist_at: Option<String>,
    /// The Regist's CsvErr.txt.
    #[serde(skip)]
    pub csv_err: Option<Vec<u8>>,
    /// The Regist's TransmitInfo.txt.
    #[serde(skip)]
    pub transmit_info: Option<Vec<u8>>,
    /// DeleteRegist: `Success`, `IFErr` or `NoData` (on the DataDelete and on its target).
    pub cancel_result: Option<String>,
    /// DeleteRegist: the X-Ex1 code.
    pub cancel_code: Option<String>,
    /// When the DeleteRegist was fetched.
    pub cancel_at: Option<String>,
    /// On a cancelled submission: the DataDelete's number.
    pub cancelled_by: Option<String>,
    /// The Regist's per-file results.
    pub files: Vec<FileRow>,
}

/// One data file's result in a Regist.
#[derive(Clone, Debug, Serialize)]
pub struct FileRow {
    /// The file's name.
    pub name: String,
    /// `Success` or `DataErr`.
    pub result: String,
    /// The X-Ex2 code of a DataErr.
    pub code: Option<String>,
    /// Whether the review system's format check found errors (X-Ex3).
    pub format_error: bool,
}

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

impl Submission {
    /// What looks incomplete in the submission's reception ([`check_reception`]), in words.
    pub fn warnings(&self, info: Option<&TransmitInfo>) -> Vec<String> {
        let s = self;
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
}

#[cfg(test)]
mod tests {
    use crate::TransmitInfo;
    use crate::reception::tests::receipt;

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

    #[test]
    fn the_submission_is_checked_against_its_regist() {
        let mut s = submission(&[("A.CSV", 5), ("B.CSV", 1)]);
        s.files.pop();
        let info = TransmitInfo {
            receipts: vec![receipt("A.CSV", 3, 0, 3)],
            errors: Vec::new(),
        };
        let w = s.warnings(Some(&info));
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

//! Where things stand: every submission with the words of its status columns and its error
//! codes (both texts of the kx-denso table; a code from another federation's server that the
//! table lacks is said to be unknown), a submission in detail with the check of its
//! reception, and the messages the federation sent on its own.

use kx_denso::message::MessageKind;
use kx_records::ledger::{CodeText, Row, codes, has_problem, is_open};
use kx_records::reception::counts_in_words;
use kx_records::{CsvErr, TransmitInfo};
use serde::Serialize;

use super::state::{State, StoredMessage, Submission, UNREADABLE};

/// How far back `status` looks without `all`.
const RECENT_DAYS: i64 = 30;

/// Whether the submission was reserved in the last 30 days.
fn is_recent(s: &Submission) -> bool {
    chrono::DateTime::parse_from_rfc3339(&s.reserved_at).is_ok_and(|t| {
        chrono::Local::now().fixed_offset() - t < chrono::TimeDelta::days(RECENT_DAYS)
    })
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

/// A submission in detail: its files' results, CsvErr.txt, reception counts and the warnings
/// of `kx_records::reception::check_reception`.
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
    let mut warnings = s.warnings(info.as_ref());
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

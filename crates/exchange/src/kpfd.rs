//! The pre-send check of `KPFD.CSV`, the only file the e-application function (電子申請)
//! takes (spec `kx-exchange.md` §4): pure, on the file's bytes.
//!
//! **No public specification of `KPFD.CSV` exists** (research notes `kpfd-research.md` §0). What
//! is checked comes from the 日本年金機構's `SHFD0006.CSV` format (§C, §D) and from two payroll
//! code bases that write the 健康保険組合 variant `KPFD0006.CSV` (§B). Every rule names the
//! research item it relies on and that item's confidence: a rule the research rates Medium or
//! higher (for KPFD, not only for SHFD) finds an [`Severity::Error`], a weaker one a
//! [`Severity::Warning`]. A clean report means the file has the shape the research knows, not
//! that the society will accept it.
//!
//! - `chars`: which bytes are Shift_JIS, and which characters the 使用可能文字 list allows.
//! - `layout`: lines, line endings, the `[kanri]` / `[data]` sections and field counts.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use crate::send::{E_APPLICATION_FILE, MAX_SEND_BYTES};

mod chars;
mod layout;

/// The most a `KPFD.CSV` may have: one send carries at most 20 MB (§4, E2006); certain.
pub const MAX_BYTES: u64 = MAX_SEND_BYTES;

/// At this size or more a file is likely too large for one set of notifications: 電子申請
/// 届書 files of 4.5 MB or more cannot be submitted to the 年金機構 and must be split (C8,
/// Medium, and for the 年金機構's channel, not confirmed for KPFD: a warning). "4.5 MB" is read
/// as the smaller 4,500,000 bytes.
pub const LARGE_BYTES: usize = 4_500_000;

/// A line longer than this cannot be any record the research knows: the widest, 被扶養者(異動)届
/// (139 items, C5) with the 3 健保組合 items (B6), every item as wide as the widest known item
/// (事業所所在地, 75 bytes, D4) plus its comma. An inference (Low): a warning. What it catches is
/// a file without line breaks (B9's `DO_NOT_ADD`) or one that is no CSV at all.
pub const MAX_LINE_BYTES: usize = 142 * 76;

/// Findings of one kind listed at most; the rest are counted in [`Report::omitted`].
pub const MAX_PER_KIND: usize = 20;

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The research rates the rule Medium or higher: the file is very likely refused.
    Error,
    /// The rule rests on weaker evidence (Low, or inferred): worth a look, not a refusal.
    Warning,
}

macro_rules! kinds {
    ($($(#[$doc:meta])* $name:ident => $severity:ident, $ja:literal, $en:literal;)+) => {
        /// What a finding is about: its severity and both texts come from this one table.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum FindingKind {
            $($(#[$doc])* $name,)+
        }

        impl FindingKind {
            /// Every kind, in the table's order.
            pub const ALL: &'static [FindingKind] = &[$(FindingKind::$name,)+];

            /// How much it matters, by the confidence of the research it rests on.
            pub fn severity(self) -> Severity {
                match self { $(FindingKind::$name => Severity::$severity,)+ }
            }

            /// What it is, in Japanese.
            pub fn japanese(self) -> &'static str {
                match self { $(FindingKind::$name => $ja,)+ }
            }

            /// What it is, in English.
            pub fn english(self) -> &'static str {
                match self { $(FindingKind::$name => $en,)+ }
            }
        }
    };
}

kinds! {
    /// No bytes at all: nothing to notify (B2, Medium: a file is at least its header lines).
    Empty => Error, "ファイルが空です。", "The file is empty.";
    /// More than one send may carry (§4, E2006; certain).
    TooLarge => Error, "ファイルが20MBを超えているため送信できません。", "The file is over 20 MB and cannot be sent.";
    /// [`LARGE_BYTES`] or more (C8, Medium for the 年金機構, unconfirmed for KPFD).
    Large => Warning, "ファイルが4.5MB以上あります。1回の届出としては大きすぎる可能性があります。分割を検討してください。", "The file is 4.5 MB or more, likely too large for one set of notifications: consider splitting it.";
    /// Not named `KPFD.CSV`: the e-application function refuses it (E2004; certain), but the
    /// file may be checked before it is renamed, so this is only a warning.
    FileName => Warning, "ファイル名が KPFD.CSV ではありません。電子申請で送信できるのは KPFD.CSV のみです。", "The file is not named KPFD.CSV, the only file the e-application function sends.";
    /// A UTF-8 byte order mark (D1, C2: Shift_JIS; High for SHFD, Medium for KPFD).
    Utf8Bom => Error, "UTF-8 の BOM が付いています。Shift_JIS で保存してください。", "The file starts with a UTF-8 byte order mark: save it as Shift_JIS.";
    /// UTF-8 text with Japanese characters (D1, C2; Medium for KPFD).
    Utf8 => Error, "UTF-8 で保存されています。Shift_JIS で保存してください。", "The file is UTF-8 text: save it as Shift_JIS.";
    /// A UTF-16 byte order mark (D1, C2; Medium for KPFD).
    Utf16 => Error, "UTF-16 で保存されています。Shift_JIS で保存してください。", "The file is UTF-16 text: save it as Shift_JIS.";
    /// Bytes that are no Shift_JIS (CP932) character (D1, C2; Medium for KPFD).
    NotShiftJis => Error, "Shift_JIS の文字として読めないバイトがあります。", "Bytes that are not a Shift_JIS character.";
    /// A CP932 character outside JIS X 0208: NEC特殊文字 (①, ㈱), NEC選定IBM拡張 and IBM拡張
    /// (髙, 﨑), 外字 (D1: High for SHFD, Medium for KPFD).
    ExtendedCharacter => Error, "JIS X 0208 にない機種依存文字（NEC特殊文字・IBM拡張文字・外字）があります。", "A character outside JIS X 0208 (NEC special, IBM extension or user-defined character).";
    /// A two-byte character of JIS X 0208 that the 使用可能文字 list leaves out, such as the
    /// row 2 symbols after 81AC or the box-drawing row (D1: Medium for KPFD).
    UnlistedCharacter => Error, "使用可能文字一覧にない全角文字があります。", "A full-width character not in the list of usable characters.";
    /// A one-byte character outside the list of D2 (space, `,`, `-`, digits, Latin letters,
    /// `[` `]`, half-width katakana ｦ–ﾟ): other ASCII symbols, ｡｢｣､･, control characters.
    /// D2 is Medium for SHFD and its carry-over to KPFD unconfirmed: a warning.
    UnlistedHalfWidth => Warning, "使用できない可能性のある半角文字があります。", "A half-width character that may not be usable.";
    /// A double quote in a field: the format never quotes fields (C2, Medium for SHFD;
    /// unconfirmed for KPFD). A spreadsheet saving CSV adds them.
    Quote => Warning, "項目にダブルクォート（\"）があります。項目を \" で囲むことはできません。", "A field contains a double quote: fields are never enclosed in quotes.";
    /// Lines ending in LF alone (C2: CR LF, High for SHFD; B9: CR LF for KPFD, Low).
    LfOnly => Warning, "改行コードが LF のみです。CR LF にしてください。", "Lines end with LF alone: CR LF is expected.";
    /// Lines ending in CR alone (C2, B9 as [`FindingKind::LfOnly`]).
    CrOnly => Warning, "改行コードが CR のみの行があります。CR LF にしてください。", "Lines end with CR alone: CR LF is expected.";
    /// The last line has no CR LF (C2: every record ends with CR LF; B9, Low for KPFD).
    NoFinalLineEnd => Warning, "最後の行に改行がありません。", "The last line has no line ending.";
    /// An empty line: no record of the layout is empty (B2, C3; an inference, Low).
    EmptyLine => Warning, "空の行があります。", "An empty line.";
    /// No `[kanri]` line (B2 Medium, C3 High for SHFD).
    KanriMissing => Error, "[kanri] の行がありません。", "There is no [kanri] line.";
    /// `[kanri]` elsewhere than line 2, or twice (B2 Medium, C3 High; F4).
    KanriMisplaced => Error, "[kanri] は2行目に1回だけ必要です。", "[kanri] must be line 2, once.";
    /// No `[data]` line (B2 Medium, C3 High).
    DataMissing => Error, "[data] の行がありません。", "There is no [data] line.";
    /// `[data]` before `[kanri]`, without 事業所数情報 and 事業所情報 between them, or twice
    /// (B2 Medium, C3 High; F4).
    DataMisplaced => Error, "[data] の位置が正しくありません。事業所数情報・事業所情報の後に1回だけ必要です。", "[data] is out of place: it must come once, after the office count and office records.";
    /// A `[kanri]` or `[data]` line with more than the marker: other case, spaces, the
    /// trailing commas a spreadsheet adds (C3: the marker alone, High for SHFD; B2 Medium).
    MarkerMalformed => Error, "区切りの行が正しくありません。「[kanri]」「[data]」だけの行にしてください。", "A section marker line is malformed: it must be exactly [kanri] or [data].";
    /// Another bracketed line, such as `[end]`: the research knows `[kanri]` and `[data]`
    /// only and no end marker (B2, C3; Kirico writes none). Whether one is allowed is not
    /// known (Low): a warning.
    UnknownMarker => Warning, "不明な区切りの行があります。", "An unknown section marker line.";
    /// `[data]` and nothing after it: no notification to send (B2 Medium: one data record per
    /// person; F4).
    NoRecords => Error, "[data] の後にデータレコードがありません。", "There is no data record after [data].";
    /// Line 1, the FD管理レコード, without 8 items (B3, Low-Medium).
    ManagementFields => Warning, "FD管理レコード（1行目）の項目数が違います。", "The FD management record (line 1) has the wrong number of fields.";
    /// Line 1 item 2, the FD通番, not `001`–`999` (D6 High for SHFD; its place in the KPFD
    /// line 1 is B3, Low-Medium).
    SerialNumber => Warning, "FD通番は 001～999 の3桁の数字です。", "The FD serial number must be 3 digits, 001 to 999.";
    /// Line 1 item 3, the 作成年月日, not a date as `YYYYMMDD` (D6; place B3, Low-Medium).
    CreationDate => Warning, "作成年月日は YYYYMMDD 形式の日付です。", "The creation date must be a date written YYYYMMDD.";
    /// The line after `[kanri]`, 事業所数情報, not 2 items with a number of offices second
    /// (B4, Low; C3 High for SHFD).
    OfficeCount => Warning, "事業所数情報（[kanri] の次の行）が正しくありません。", "The office count record (the line after [kanri]) is malformed.";
    /// A 事業所情報 line without 9 items (B5, Low-Medium).
    OfficeFields => Warning, "事業所情報の項目数が違います。", "An office record has the wrong number of fields.";
    /// A data record whose item 1 is no 様式コード the research knows (C5: Medium-High for
    /// SHFD; which codes KPFD carries is not confirmed).
    UnknownForm => Warning, "様式コードが不明です。", "Unknown form code (様式コード).";
    /// A known 様式 not confirmed for a society's e-application: 被扶養者(異動)届 (A9),
    /// 住所変更届 (A5: CD/DVD only), an older 算定基礎届 code (C5). A1/A2 confirm five only.
    UnconfirmedForm => Warning, "この届書が健康保険組合の電子申請で受け付けられるかは確認できていません。", "This notification is not known to be accepted by a society's e-application.";
    /// A data record without the SHFD items of its 様式 plus the 3 健保組合 items (C5, D7
    /// Medium for SHFD; B6 Medium-Low for the 3 items).
    RecordFields => Warning, "データレコードの項目数が違います。", "A data record has the wrong number of fields.";
    /// A line longer than [`MAX_LINE_BYTES`] (an inference, Low).
    LongLine => Warning, "行が長すぎます。", "The line is too long.";
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} / {}", self.japanese(), self.english())
    }
}

/// One thing the check found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The kind's severity.
    pub severity: Severity,
    /// The line, from 1; `None` for the whole file.
    pub line: Option<usize>,
    /// The field within the line, from 1 (fields are separated by `,`).
    pub field: Option<usize>,
    /// What it is.
    pub kind: FindingKind,
    /// What exactly: the character (`U+2460 '①' (NEC特殊文字, 0x8740)`), the count
    /// (`found 7, expected 8`).
    pub detail: Option<String>,
}

impl fmt::Display for Finding {
    /// `line 3, field 5: 日本語 / English (detail)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.field) {
            (Some(line), Some(field)) => write!(f, "line {line}, field {field}: ")?,
            (Some(line), None) => write!(f, "line {line}: ")?,
            (None, _) => {}
        }
        write!(f, "{}", self.kind)?;
        if let Some(detail) = &self.detail {
            write!(f, " ({detail})")?;
        }
        Ok(())
    }
}

/// What the check found, file-level findings first, then by line and field.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The findings listed.
    pub findings: Vec<Finding>,
    /// Findings not listed: beyond the first [`MAX_PER_KIND`] of their kind.
    pub omitted: usize,
}

impl Report {
    /// Nothing found.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// Whether anything found is an error.
    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    /// The errors listed.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.of(Severity::Error)
    }

    /// The warnings listed.
    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.of(Severity::Warning)
    }

    /// Whether a finding of `kind` is listed.
    pub fn has(&self, kind: FindingKind) -> bool {
        self.findings.iter().any(|f| f.kind == kind)
    }

    fn of(&self, severity: Severity) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.severity == severity)
    }
}

/// Findings as they are made, at most [`MAX_PER_KIND`] of a kind.
#[derive(Default)]
struct Findings {
    list: Vec<Finding>,
    per_kind: HashMap<FindingKind, usize>,
    omitted: usize,
}

impl Findings {
    /// Adds a finding whose detail is made only if it is listed.
    fn add_with(
        &mut self,
        kind: FindingKind,
        line: Option<usize>,
        field: Option<usize>,
        detail: impl FnOnce() -> Option<String>,
    ) {
        let count = self.per_kind.entry(kind).or_default();
        *count += 1;
        if *count > MAX_PER_KIND {
            self.omitted += 1;
            return;
        }
        self.list.push(Finding {
            severity: kind.severity(),
            line,
            field,
            kind,
            detail: detail(),
        });
    }

    fn add(
        &mut self,
        kind: FindingKind,
        line: Option<usize>,
        field: Option<usize>,
        detail: Option<String>,
    ) {
        self.add_with(kind, line, field, || detail);
    }

    fn into_report(self) -> Report {
        let mut findings = self.list;
        findings.sort_by_key(|f| (f.line.unwrap_or(0), f.field.unwrap_or(0)));
        Report {
            findings,
            omitted: self.omitted,
        }
    }
}

/// `found N, expected M`.
fn found_expected(found: impl fmt::Display, expected: impl fmt::Display) -> String {
    format!("found {found}, expected {expected}")
}

/// Checks a `KPFD.CSV`'s bytes.
pub fn check(bytes: &[u8]) -> Report {
    let mut findings = Findings::default();
    run(bytes, &mut findings);
    findings.into_report()
}

/// Checks a file called `name` (without directories): [`check`], and whether it is called
/// `KPFD.CSV` (ignoring case, as the e-application function does).
pub fn check_named(name: &str, bytes: &[u8]) -> Report {
    let mut findings = Findings::default();
    check_name(name, &mut findings);
    run(bytes, &mut findings);
    findings.into_report()
}

/// The report on a file called `name` of `size` bytes, too large to be read or sent
/// ([`MAX_BYTES`]).
pub fn too_large(name: &str, size: u64) -> Report {
    let mut findings = Findings::default();
    check_name(name, &mut findings);
    findings.add(
        FindingKind::TooLarge,
        None,
        None,
        Some(format!("{size} bytes, at most {MAX_BYTES}")),
    );
    findings.into_report()
}

fn check_name(name: &str, findings: &mut Findings) {
    if !name.eq_ignore_ascii_case(E_APPLICATION_FILE) {
        findings.add(
            FindingKind::FileName,
            None,
            None,
            Some(format!("found {name:?}")),
        );
    }
}

fn run(bytes: &[u8], findings: &mut Findings) {
    if bytes.is_empty() {
        findings.add(FindingKind::Empty, None, None, None);
        return;
    }
    if bytes.len() as u64 > MAX_BYTES {
        findings.add(
            FindingKind::TooLarge,
            None,
            None,
            Some(format!("{} bytes, at most {MAX_BYTES}", bytes.len())),
        );
        return;
    }
    if bytes.len() >= LARGE_BYTES {
        findings.add(
            FindingKind::Large,
            None,
            None,
            Some(format!("{} bytes", bytes.len())),
        );
    }
    let (bytes, characters) = match chars::unicode(bytes) {
        chars::Unicode::Utf16 => {
            // Neither lines nor fields can be read from it.
            findings.add(FindingKind::Utf16, None, None, None);
            return;
        }
        chars::Unicode::Utf8Bom => {
            findings.add(FindingKind::Utf8Bom, Some(1), None, None);
            (&bytes[3..], false)
        }
        chars::Unicode::Utf8 { line, detail } => {
            findings.add(FindingKind::Utf8, Some(line), None, Some(detail));
            (bytes, false)
        }
        chars::Unicode::No => (bytes, true),
    };
    let lines = layout::lines(bytes);
    layout::check(&lines, findings);
    if characters {
        for line in &lines {
            chars::check_line(line.number, line.bytes, findings);
        }
    }
}

#[cfg(test)]
mod tests;

//! The format check (spec §7 "Format errors"): each data record whose 交換情報識別番号 has a
//! layout is checked item by item, and every defect gets a two-character review code.

use chrono::NaiveDate;

use crate::Counts;
use crate::csv::sjis_width;
use crate::structure::{DataFile, DataRecord};
use crate::tables::{Form, ItemKind, ItemSpec, Layout, ReportField, Tables};

/// The review error codes (審査エラーコード) of the reference checker: two characters each, with
/// the Japanese text that goes into CsvErr.txt and TransmitInfo.txt.
///
/// | code | meaning |
/// |---|---|
/// | `01` | 必須項目が設定されていません (a required item is empty) |
/// | `02` | 数字項目に数字以外の文字が設定されています (a 数字 item holds a non-digit) |
/// | `03` | 英数項目に英小文字または全角文字が設定されています (a 英数 item holds lower-case or full-width) |
/// | `04` | 漢字項目に半角文字が設定されています (a 漢字 item holds half-width) |
/// | `05` | 年月が正しくありません (not a valid `yyyymm`) |
/// | `06` | 年月日が正しくありません (not a valid `yyyymmdd`) |
/// | `07` | 項目の桁数が超過しています (longer than the item's maximum) |
/// | `08` | 項目数が正しくありません (the record has the wrong number of items) |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReviewCode {
    /// `01`: a required item is empty.
    Required,
    /// `02`: a 数字 item holds something other than digits (and a leading `-`).
    Numeric,
    /// `03`: a 英数 item holds a lower-case letter or a full-width character.
    Alphanumeric,
    /// `04`: a 漢字 item holds a half-width character.
    Kanji,
    /// `05`: a `yyyymm` item is not a valid year-month.
    YearMonth,
    /// `06`: a `yyyymmdd` item is not a valid date.
    Date,
    /// `07`: an item is longer than its maximum (Shift_JIS bytes).
    TooLong,
    /// `08`: the record has more or fewer items than its layout.
    ItemCount,
}

impl ReviewCode {
    /// Every code, in table order.
    pub const ALL: [ReviewCode; 8] = [
        ReviewCode::Required,
        ReviewCode::Numeric,
        ReviewCode::Alphanumeric,
        ReviewCode::Kanji,
        ReviewCode::YearMonth,
        ReviewCode::Date,
        ReviewCode::TooLong,
        ReviewCode::ItemCount,
    ];

    /// The two characters, e.g. `01`.
    pub const fn code(self) -> &'static str {
        match self {
            ReviewCode::Required => "01",
            ReviewCode::Numeric => "02",
            ReviewCode::Alphanumeric => "03",
            ReviewCode::Kanji => "04",
            ReviewCode::YearMonth => "05",
            ReviewCode::Date => "06",
            ReviewCode::TooLong => "07",
            ReviewCode::ItemCount => "08",
        }
    }

    /// The Japanese text (エラー内容).
    pub const fn message_ja(self) -> &'static str {
        match self {
            ReviewCode::Required => "必須項目が設定されていません",
            ReviewCode::Numeric => "数字項目に数字以外の文字が設定されています",
            ReviewCode::Alphanumeric => "英数項目に英小文字または全角文字が設定されています",
            ReviewCode::Kanji => "漢字項目に半角文字が設定されています",
            ReviewCode::YearMonth => "年月が正しくありません",
            ReviewCode::Date => "年月日が正しくありません",
            ReviewCode::TooLong => "項目の桁数が超過しています",
            ReviewCode::ItemCount => "項目数が正しくありません",
        }
    }
}

/// Whether `code` has the form of a review error code: two half-width alphanumerics (英数字２桁).
pub(crate) fn is_review_code(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// One format error (エラー情報): everything a TransmitInfo.txt エラー情報 holds, of which
/// CsvErr.txt uses the file, line, item, code and text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormatError {
    /// エラーデータファイル名.
    pub file: String,
    /// エラー行番号: the record's line, the control record being line 1.
    pub line: u64,
    /// 交換情報識別番号 of the record.
    pub exchange_id: String,
    /// 保険者（事業所）番号, from the item the layout names; empty otherwise.
    pub org_number: String,
    /// 被保険者番号, from the item the layout names; empty otherwise.
    pub insured_number: String,
    /// サービス提供年月, from the item the layout names; empty otherwise.
    pub service_month: String,
    /// サービス種類, from the item the layout names; empty otherwise.
    pub service_kind: String,
    /// エラー項目番号: data item 1 is the 交換情報識別番号.
    pub item: u32,
    /// エラー項目名.
    pub item_name: String,
    /// エラーコード: two half-width alphanumerics.
    pub code: String,
    /// エラー内容 (Japanese).
    pub text: String,
}

/// Format-checks every data record and counts them by form.
pub(crate) fn check_data(
    file_name: &str,
    file: &DataFile,
    tables: &Tables,
) -> (Vec<FormatError>, Counts) {
    let mut errors = Vec::new();
    let mut counts = Counts::default();
    for record in &file.data {
        let id = record.exchange_id();
        counts.total += 1;
        match tables.form(id) {
            Some(Form::Claim) => counts.forms.claims += 1,
            Some(Form::BenefitManagement) => counts.forms.benefit_management += 1,
            Some(Form::Reexamination) => counts.forms.reexaminations += 1,
            None => {}
        }
        if let Some(layout) = tables.layout(id) {
            errors.extend(check_record(file_name, record, layout));
        }
    }
    (errors, counts)
}

/// The errors of one record: a wrong item count alone (its items are then shifted, so checking
/// them would only report noise), otherwise the first failing rule of each item.
fn check_record(file_name: &str, record: &DataRecord, layout: &Layout) -> Vec<FormatError> {
    let specs = layout.items();
    let error = |number: usize, name: &str, code: ReviewCode| {
        let mut error = FormatError {
            file: file_name.to_owned(),
            line: record.line,
            exchange_id: record.exchange_id().to_owned(),
            item: u32::try_from(number).unwrap_or(u32::MAX),
            item_name: name.to_owned(),
            code: code.code().to_owned(),
            text: code.message_ja().to_owned(),
            ..FormatError::default()
        };
        for (spec, value) in specs.iter().zip(&record.items) {
            let slot = match spec.report {
                Some(ReportField::OrgNumber) => &mut error.org_number,
                Some(ReportField::InsuredNumber) => &mut error.insured_number,
                Some(ReportField::ServiceMonth) => &mut error.service_month,
                Some(ReportField::ServiceKind) => &mut error.service_kind,
                None => continue,
            };
            slot.clone_from(value);
        }
        error
    };
    if record.items.len() != specs.len() {
        // The first item that is missing, or the first one too many (which has no name).
        let number = record.items.len().min(specs.len()) + 1;
        let name = specs.get(number - 1).map_or("", |s| s.name.as_str());
        return vec![error(number, name, ReviewCode::ItemCount)];
    }
    specs
        .iter()
        .zip(&record.items)
        .enumerate()
        .filter_map(|(index, (spec, value))| {
            check_item(spec, value).map(|code| error(index + 1, &spec.name, code))
        })
        .collect()
}

/// The first rule `value` breaks: required, then its kind, then its length.
pub(crate) fn check_item(spec: &ItemSpec, value: &str) -> Option<ReviewCode> {
    let dated = matches!(spec.kind, ItemKind::YearMonth | ItemKind::Date);
    // An all-zero date means "omitted" (research notes A7, §3.3.2 ※6).
    if value.is_empty() || (dated && value.bytes().all(|b| b == b'0')) {
        return spec.required.then_some(ReviewCode::Required);
    }
    let kind_error = match spec.kind {
        ItemKind::Numeric => {
            let digits = value.strip_prefix('-').unwrap_or(value);
            (digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()))
                .then_some(ReviewCode::Numeric)
        }
        ItemKind::Alphanumeric => value
            .chars()
            .any(|c| c.is_ascii_lowercase() || sjis_width(c) != 1)
            .then_some(ReviewCode::Alphanumeric),
        ItemKind::Kanji => value
            .chars()
            .any(|c| sjis_width(c) != 2)
            .then_some(ReviewCode::Kanji),
        ItemKind::YearMonth => {
            (!valid_date(&format!("{value}01"))).then_some(ReviewCode::YearMonth)
        }
        ItemKind::Date => (!valid_date(value)).then_some(ReviewCode::Date),
    };
    kind_error.or_else(|| {
        (value.chars().map(sjis_width).sum::<usize>() > spec.max_bytes)
            .then_some(ReviewCode::TooLong)
    })
}

/// `yyyymmdd`, exactly eight digits, a real calendar day from year 1 on.
fn valid_date(text: &str) -> bool {
    text.len() == 8
        && text.bytes().all(|b| b.is_ascii_digit())
        && !text.starts_with("0000")
        && NaiveDate::parse_from_str(text, "%Y%m%d").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: ItemKind, max_bytes: usize, required: bool) -> ItemSpec {
        ItemSpec {
            name: "項目".to_owned(),
            kind,
            max_bytes,
            required,
            report: None,
        }
    }

    #[test]
    fn review_codes_are_unique_two_characters_with_text() {
        let mut seen = std::collections::HashSet::new();
        for code in ReviewCode::ALL {
            assert!(is_review_code(code.code()));
            assert!(seen.insert(code.code()));
            assert!(!code.message_ja().is_empty());
        }
        for bad in ["", "1", "001", "０1", "1-"] {
            assert!(!is_review_code(bad), "{bad}");
        }
    }

    #[test]
    fn code_01_required() {
        let required = spec(ItemKind::Alphanumeric, 4, true);
        assert_eq!(check_item(&required, ""), Some(ReviewCode::Required));
        assert_eq!(
            check_item(&spec(ItemKind::Alphanumeric, 4, false), ""),
            None
        );
        // All zeros mean "omitted" for dates, not for numbers.
        let month = spec(ItemKind::YearMonth, 6, true);
        assert_eq!(check_item(&month, "000000"), Some(ReviewCode::Required));
        assert_eq!(check_item(&spec(ItemKind::YearMonth, 6, false), "0"), None);
        assert_eq!(check_item(&spec(ItemKind::Numeric, 3, true), "0"), None);
    }

    /// Every `ok` value passes an optional item of `kind`; every `bad` one fails with `code`.
    fn verdicts(kind: ItemKind, max_bytes: usize, ok: &[&str], bad: &[&str], code: ReviewCode) {
        let item = spec(kind, max_bytes, false);
        for value in ok {
            assert_eq!(check_item(&item, value), None, "{value}");
        }
        for value in bad {
            assert_eq!(check_item(&item, value), Some(code), "{value}");
        }
    }

    #[test]
    fn code_02_numeric() {
        verdicts(
            ItemKind::Numeric,
            5,
            &["0", "123", "-12", "00012"],
            &["12a", "-", "1-2", "１２", "1.5", " 1", "+1"],
            ReviewCode::Numeric,
        );
    }

    #[test]
    fn code_03_alphanumeric() {
        verdicts(
            ItemKind::Alphanumeric,
            10,
            &["71B2", "H123456789", "ｱｲｳ", "A B", "0"],
            &["71b2", "abc", "ＡＢ", "漢字", "A字"],
            ReviewCode::Alphanumeric,
        );
    }

    #[test]
    fn code_04_kanji() {
        verdicts(
            ItemKind::Kanji,
            20,
            &["漢字", "山田　太郎", "ＡＢＣ１２３", "カタカナ"],
            &["山田 太郎", "ABC", "漢字1", "ｶﾀｶﾅ"],
            ReviewCode::Kanji,
        );
    }

    #[test]
    fn code_05_year_month() {
        verdicts(
            ItemKind::YearMonth,
            6,
            &["202604", "000000"],
            &[
                "202613", "202600", "000001", "20264", "2026-4", "abcdef", "2026041",
            ],
            ReviewCode::YearMonth,
        );
    }

    #[test]
    fn code_06_date() {
        verdicts(
            ItemKind::Date,
            8,
            &["20240229", "0"],
            &["20230229", "20260431", "2026041", "2026-4-1", "202604011"],
            ReviewCode::Date,
        );
    }

    #[test]
    fn code_07_too_long_in_shift_jis_bytes() {
        assert_eq!(check_item(&spec(ItemKind::Numeric, 3, false), "123"), None);
        assert_eq!(
            check_item(&spec(ItemKind::Numeric, 3, false), "1234"),
            Some(ReviewCode::TooLong)
        );
        // The sign counts.
        assert_eq!(
            check_item(&spec(ItemKind::Numeric, 3, false), "-123"),
            Some(ReviewCode::TooLong)
        );
        // A kanji is two bytes.
        assert_eq!(check_item(&spec(ItemKind::Kanji, 4, false), "漢字"), None);
        assert_eq!(
            check_item(&spec(ItemKind::Kanji, 4, false), "漢字名"),
            Some(ReviewCode::TooLong)
        );
        assert_eq!(
            check_item(&spec(ItemKind::Alphanumeric, 3, false), "ｱｲｳ"),
            None
        );
        // A date longer than its item is reported as a date error first.
        assert_eq!(
            check_item(&spec(ItemKind::YearMonth, 6, false), "2026040"),
            Some(ReviewCode::YearMonth)
        );
    }
}

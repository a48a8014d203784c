//! Lines and their endings, the sections and the field counts of the layout research B2/C3
//! describe (B2: Medium for KPFD):
//!
//! ```text
//! line 1     FD管理レコード: 健保組合の事業所番号, FD通番, 作成年月日, 5 more (8 items, B3)
//! line 2     [kanri]
//! line 3     事業所数情報: 予備, 事業所情報数 (2 items, B4)
//! line 4 …   事業所情報, one per office (9 items, B5)
//! [data]
//! …          data records, one per person: 様式コード, the SHFD items, 3 健保組合 items (B6)
//! ```
//!
//! The research knows no end marker (no `[end]`): the data records run to the end of the file.

use chrono::NaiveDate;
use encoding_rs::SHIFT_JIS;

use super::{FindingKind, Findings, MAX_LINE_BYTES, found_expected};

/// How a line ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ending {
    /// CR LF, as expected.
    CrLf,
    /// LF alone.
    Lf,
    /// CR alone.
    Cr,
    /// Nothing: the last line.
    None,
}

/// One line of the file.
#[derive(Debug)]
pub(super) struct Line<'a> {
    /// From 1.
    pub(super) number: usize,
    /// Without its ending.
    pub(super) bytes: &'a [u8],
    /// Its ending.
    pub(super) ending: Ending,
}

/// The lines of `bytes`, each ended by CR LF, LF or CR (CR and LF are never part of a
/// two-byte Shift_JIS character). A `0x1A` alone at the end, the old end-of-file mark D2
/// allows, is no line.
pub(super) fn lines(bytes: &[u8]) -> Vec<Line<'_>> {
    let mut lines = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() && rest != b"\x1a" {
        let number = lines.len() + 1;
        let (line, ending, next) = match rest.iter().position(|&b| b == b'\r' || b == b'\n') {
            None => (rest, Ending::None, &rest[rest.len()..]),
            Some(end) => match (rest[end], rest.get(end + 1)) {
                (b'\r', Some(b'\n')) => (&rest[..end], Ending::CrLf, &rest[end + 2..]),
                (b'\r', _) => (&rest[..end], Ending::Cr, &rest[end + 1..]),
                _ => (&rest[..end], Ending::Lf, &rest[end + 1..]),
            },
        };
        lines.push(Line {
            number,
            bytes: line,
            ending,
        });
        rest = next;
    }
    lines
}

/// A section marker line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Marker {
    Kanri,
    Data,
    Other,
}

/// The line as text, for a detail: Shift_JIS decoded, at most 40 characters.
fn shown(bytes: &[u8]) -> String {
    let (text, _) = SHIFT_JIS.decode_without_bom_handling(bytes);
    let mut shown: String = text.chars().take(40).collect();
    if text.chars().nth(40).is_some() {
        shown.push('…');
    }
    shown
}

/// Whether `bytes` are a section marker, and whether exactly (`[kanri]`, `[data]` alone).
/// A marker is a bracketed word, give or take spaces and the trailing commas a spreadsheet
/// pads rows with.
fn marker(bytes: &[u8]) -> Option<(Marker, bool)> {
    match bytes {
        b"[kanri]" => return Some((Marker::Kanri, true)),
        b"[data]" => return Some((Marker::Data, true)),
        _ => {}
    }
    if bytes.iter().find(|&&b| b != b' ') != Some(&b'[') {
        return None;
    }
    let (text, _) = SHIFT_JIS.decode_without_bom_handling(bytes);
    let text = text.trim_end_matches([',', ' ', '\t', '\u{3000}']).trim();
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    let kind = match inner.trim().to_lowercase().as_str() {
        "kanri" => Marker::Kanri,
        "data" => Marker::Data,
        _ => Marker::Other,
    };
    Some((kind, false))
}

fn fields(bytes: &[u8]) -> Vec<&[u8]> {
    bytes.split(|&b| b == b',').collect()
}

/// A 様式コード the research knows (C5: Medium-High for SHFD).
struct Form {
    code: &'static str,
    name: &'static str,
    /// Its item count in SHFD, 様式コード included, where known (C5, D7; 資格取得届 from B6).
    shfd_items: Option<usize>,
    /// Why it is not confirmed for a society's e-application, if it is not (A1, A2 confirm
    /// 取得, 喪失, 算定, 月変, 賞与).
    unconfirmed: Option<&'static str>,
}

const FORMS: &[Form] = &[
    Form {
        code: "2200700",
        name: "資格取得届",
        shfd_items: Some(33),
        unconfirmed: None,
    },
    Form {
        code: "2201700",
        name: "資格喪失届",
        shfd_items: Some(27),
        unconfirmed: None,
    },
    Form {
        code: "2225700",
        name: "算定基礎届",
        shfd_items: Some(53),
        unconfirmed: None,
    },
    Form {
        code: "22257041",
        name: "算定基礎届",
        shfd_items: None,
        unconfirmed: Some("an older 様式コード; the current one is 2225700"),
    },
    Form {
        code: "2221700",
        name: "月額変更届",
        shfd_items: Some(49),
        unconfirmed: None,
    },
    Form {
        code: "2265700",
        name: "賞与支払届",
        shfd_items: None,
        unconfirmed: None,
    },
    Form {
        code: "22187041",
        name: "住所変更届",
        shfd_items: None,
        unconfirmed: Some("confirmed for CD/DVD filing only"),
    },
    Form {
        code: "2202700",
        name: "被扶養者（異動）届",
        shfd_items: Some(139),
        unconfirmed: Some("payroll software says it cannot be made for a 健保組合"),
    },
];

/// The 健保組合 items after the SHFD items of a data record (B6).
const SOCIETY_ITEMS: usize = 3;

/// Checks the lines: endings, lengths, sections, field counts.
pub(super) fn check(lines: &[Line<'_>], findings: &mut Findings) {
    endings(lines, findings);
    for line in lines {
        if line.bytes.is_empty() {
            findings.add(FindingKind::EmptyLine, Some(line.number), None, None);
        } else if line.bytes.len() > MAX_LINE_BYTES {
            findings.add(
                FindingKind::LongLine,
                Some(line.number),
                None,
                Some(format!(
                    "{} bytes, at most {MAX_LINE_BYTES}",
                    line.bytes.len()
                )),
            );
        }
    }
    let markers: Vec<(usize, Marker)> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, line)| {
            let (kind, exact) = marker(line.bytes)?;
            let at = Some(line.number);
            let found = || Some(format!("found {:?}", shown(line.bytes)));
            match kind {
                Marker::Other => findings.add_with(FindingKind::UnknownMarker, at, None, found),
                _ if !exact => findings.add_with(FindingKind::MarkerMalformed, at, None, found),
                _ => {}
            }
            Some((i, kind))
        })
        .collect();
    let of = |kind: Marker| -> Vec<usize> {
        markers
            .iter()
            .filter(|(_, k)| *k == kind)
            .map(|(i, _)| *i)
            .collect()
    };
    let kanris = of(Marker::Kanri);
    let datas = of(Marker::Data);
    let kanri = kanris.first().copied();
    let data = datas.first().copied();
    sections(lines, &kanris, &datas, findings);

    let mut marked = vec![false; lines.len()];
    for &(i, _) in &markers {
        marked[i] = true;
    }
    let is_marker = |i: usize| marked[i];
    if !lines.is_empty() && !is_marker(0) {
        management(&lines[0], findings);
    }
    let Some(d) = data else { return };
    if let Some(k) = kanri.filter(|&k| k < d) {
        if k + 1 < d && !is_marker(k + 1) {
            office_count(&lines[k + 1], findings);
        }
        for (i, line) in lines.iter().enumerate().take(d).skip(k + 2) {
            if !line.bytes.is_empty() && !is_marker(i) {
                office(line, findings);
            }
        }
    }
    let records: Vec<&Line<'_>> = lines
        .iter()
        .enumerate()
        .skip(d + 1)
        .filter(|(i, line)| !line.bytes.is_empty() && !is_marker(*i))
        .map(|(_, line)| line)
        .collect();
    if records.is_empty() {
        findings.add(FindingKind::NoRecords, Some(lines[d].number), None, None);
    }
    for line in records {
        record(line, findings);
    }
}

/// One finding per kind of wrong ending, at the first line with it (C2, B9).
fn endings(lines: &[Line<'_>], findings: &mut Findings) {
    let ended = lines.iter().filter(|l| l.ending != Ending::None).count();
    for (ending, kind) in [
        (Ending::Lf, FindingKind::LfOnly),
        (Ending::Cr, FindingKind::CrOnly),
    ] {
        let mut these = lines.iter().filter(|l| l.ending == ending);
        if let Some(first) = these.next() {
            let count = 1 + these.count();
            findings.add(
                kind,
                Some(first.number),
                None,
                Some(format!("{count} of {ended} lines")),
            );
        }
    }
    if let Some(last) = lines.last().filter(|l| l.ending == Ending::None) {
        findings.add(FindingKind::NoFinalLineEnd, Some(last.number), None, None);
    }
}

/// `[kanri]` on line 2 once, `[data]` once after it with 2 lines or more between (B2, C3).
fn sections(lines: &[Line<'_>], kanris: &[usize], datas: &[usize], findings: &mut Findings) {
    let number = |i: usize| Some(lines[i].number);
    match kanris.first() {
        None => findings.add(FindingKind::KanriMissing, None, None, None),
        Some(&k) if lines[k].number != 2 => findings.add(
            FindingKind::KanriMisplaced,
            number(k),
            None,
            Some(format!(
                "found on line {}, expected on line 2",
                lines[k].number
            )),
        ),
        Some(_) => {}
    }
    for &k in kanris.iter().skip(1) {
        findings.add(
            FindingKind::KanriMisplaced,
            number(k),
            None,
            Some("a second [kanri]".to_owned()),
        );
    }
    match (kanris.first(), datas.first()) {
        (_, None) => findings.add(FindingKind::DataMissing, None, None, None),
        (Some(&k), Some(&d)) if d < k => findings.add(
            FindingKind::DataMisplaced,
            number(d),
            None,
            Some("before [kanri]".to_owned()),
        ),
        (Some(&k), Some(&d)) if d - k - 1 < 2 => findings.add(
            FindingKind::DataMisplaced,
            number(d),
            None,
            Some(format!(
                "{} line(s) between [kanri] and [data], expected 2 or more (事業所数情報, 事業所情報)",
                d - k - 1
            )),
        ),
        _ => {}
    }
    for &d in datas.iter().skip(1) {
        findings.add(
            FindingKind::DataMisplaced,
            number(d),
            None,
            Some("a second [data]".to_owned()),
        );
    }
}

/// Line 1, the FD管理レコード: 8 items (B3); where it has them, the FD通番 and 作成年月日
/// (D6).
fn management(line: &Line<'_>, findings: &mut Findings) {
    let items = fields(line.bytes);
    let at = Some(line.number);
    if items.len() != 8 {
        let mut detail = found_expected(items.len(), 8);
        match items.len() {
            6 => detail.push_str("; 6 is the 年金事務所 layout of SHFD0006.CSV"),
            5 => detail.push_str("; 5 is the 年金事務所 layout before 2018"),
            _ => {}
        }
        findings.add(FindingKind::ManagementFields, at, None, Some(detail));
        // The items' places are those of another layout, or unknown.
        return;
    }
    let serial = items[1];
    if !(serial.len() == 3 && serial.iter().all(u8::is_ascii_digit) && serial != b"000") {
        findings.add(
            FindingKind::SerialNumber,
            at,
            Some(2),
            Some(format!("found {:?}", shown(serial))),
        );
    }
    let date = items[2];
    let valid = date.len() == 8
        && date.iter().all(u8::is_ascii_digit)
        && std::str::from_utf8(date)
            .ok()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y%m%d").ok())
            .is_some();
    if !valid {
        findings.add(
            FindingKind::CreationDate,
            at,
            Some(3),
            Some(format!("found {:?}", shown(date))),
        );
    }
}

/// The line after `[kanri]`, 事業所数情報: 2 items, the number of offices second (B4).
fn office_count(line: &Line<'_>, findings: &mut Findings) {
    let items = fields(line.bytes);
    let at = Some(line.number);
    if items.len() != 2 {
        findings.add(
            FindingKind::OfficeCount,
            at,
            None,
            Some(found_expected(items.len(), "2 (予備, 事業所情報数)")),
        );
        return;
    }
    let count = items[1];
    if !((1..=3).contains(&count.len()) && count.iter().all(u8::is_ascii_digit)) {
        findings.add(
            FindingKind::OfficeCount,
            at,
            Some(2),
            Some(format!(
                "found {:?}, expected the number of offices such as 001",
                shown(count)
            )),
        );
    }
}

/// A 事業所情報 line: 9 items (B5).
fn office(line: &Line<'_>, findings: &mut Findings) {
    let count = fields(line.bytes).len();
    if count != 9 {
        let mut detail = found_expected(count, 9);
        if count == 12 {
            detail.push_str("; 12 is the 年金事務所 layout of SHFD0006.CSV");
        }
        findings.add(
            FindingKind::OfficeFields,
            Some(line.number),
            None,
            Some(detail),
        );
    }
}

/// A data record: a known 様式コード first (C5), confirmed for KPFD (A1, A2), with its SHFD
/// items and the 3 健保組合 items (B6).
fn record(line: &Line<'_>, findings: &mut Findings) {
    let items = fields(line.bytes);
    let at = Some(line.number);
    let code = shown(items[0]);
    let Some(form) = FORMS.iter().find(|f| f.code == code) else {
        findings.add(
            FindingKind::UnknownForm,
            at,
            Some(1),
            Some(format!("found {code:?}")),
        );
        return;
    };
    if let Some(why) = form.unconfirmed {
        findings.add(
            FindingKind::UnconfirmedForm,
            at,
            Some(1),
            Some(format!("{code} {}: {why}", form.name)),
        );
    }
    if let Some(shfd) = form.shfd_items {
        let expected = shfd + SOCIETY_ITEMS;
        if items.len() != expected {
            let mut detail = format!(
                "{}: {} items of {} and {SOCIETY_ITEMS} 健保組合 items",
                found_expected(items.len(), expected),
                shfd,
                form.name
            );
            if items.len() == shfd {
                detail.push_str(&format!("; {shfd} is the 年金事務所 layout without them"));
            }
            findings.add(FindingKind::RecordFields, at, None, Some(detail));
        }
    }
}

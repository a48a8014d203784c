//! Small hand-built files, encoded as Shift_JIS in the test.

use encoding_rs::SHIFT_JIS;

use super::*;

/// A data record: `code`, then items up to `count` in all.
fn record(code: &str, count: usize) -> String {
    let mut items = vec![code, "21", "ﾔﾏﾀﾞ ﾀﾛｳ", "山田　太郎", "7", "600101"];
    items.resize(count, "");
    items.join(",")
}

/// The lines of a file the research's layout describes, one office, two persons.
fn good_lines() -> Vec<String> {
    vec![
        "12345,001,20260401,,,,,".to_owned(),
        "[kanri]".to_owned(),
        ",001".to_owned(),
        "12345,100,0001,東京都千代田区一丁目1-1,架空商事株式会社,山田　太郎,03,1234,5678"
            .to_owned(),
        "[data]".to_owned(),
        record("2200700", 36),
        record("2225700", 56),
    ]
}

/// `lines` joined by CR LF, with a CR LF at the end, as Shift_JIS.
fn sjis(lines: &[String]) -> Vec<u8> {
    let text: String = lines.iter().map(|l| format!("{l}\r\n")).collect();
    let (bytes, _, unmappable) = SHIFT_JIS.encode(&text);
    assert!(!unmappable, "{text}");
    bytes.into_owned()
}

/// The good file with line `n` (from 1) replaced.
fn with_line(n: usize, line: &str) -> Vec<u8> {
    let mut lines = good_lines();
    lines[n - 1] = line.to_owned();
    sjis(&lines)
}

fn kinds(report: &Report) -> Vec<FindingKind> {
    report.findings.iter().map(|f| f.kind).collect()
}

/// The report's only finding.
fn only(report: &Report) -> &Finding {
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
    &report.findings[0]
}

#[test]
fn the_known_layout_is_clean() {
    let report = check(&sjis(&good_lines()));
    assert!(report.is_clean(), "{:#?}", report.findings);
    assert!(check_named("KPFD.CSV", &sjis(&good_lines())).is_clean());
    assert!(check_named("kpfd.csv", &sjis(&good_lines())).is_clean());
    // The old end-of-file mark after the last line is allowed (D2).
    let mut eof = sjis(&good_lines());
    eof.push(0x1A);
    assert!(check(&eof).is_clean());
}

#[test]
fn every_kind_has_both_texts() {
    for (i, kind) in FindingKind::ALL.iter().enumerate() {
        assert!(!kind.japanese().is_empty() && !kind.english().is_empty());
        assert!(FindingKind::ALL[i + 1..].iter().all(|k| k != kind));
    }
    assert_eq!(FindingKind::Empty.severity(), Severity::Error);
    assert_eq!(FindingKind::LfOnly.severity(), Severity::Warning);
}

#[test]
fn findings_read_as_line_field_texts_and_detail() {
    let report = check(&with_line(
        4,
        "12345,100,0001,東京都千代田区,架空商事㈱,山田　太郎,03,1234,5678",
    ));
    let finding = only(&report);
    assert_eq!(
        finding.to_string(),
        "line 4, field 5: JIS X 0208 にない機種依存文字（NEC特殊文字・IBM拡張文字・外字）があります。 \
         / A character outside JIS X 0208 (NEC special, IBM extension or user-defined character). \
         (U+3231 '㈱' (NEC特殊文字, 0x878A))"
    );
    assert!(report.has_errors());
    assert_eq!(report.errors().count(), 1);
    assert_eq!(report.warnings().count(), 0);
    let empty = check(b"");
    assert_eq!(
        only(&empty).to_string(),
        "ファイルが空です。 / The file is empty."
    );
    assert_eq!(
        serde_json::to_value(&empty.findings[0]).unwrap(),
        serde_json::json!({
            "severity": "error", "line": null, "field": null, "kind": "empty", "detail": null
        })
    );
}

#[test]
fn unicode_text_is_an_error() {
    let text: String = good_lines().iter().map(|l| format!("{l}\r\n")).collect();
    let utf8 = check(text.as_bytes());
    let finding = only(&utf8);
    assert_eq!(
        (finding.kind, finding.line, finding.detail.as_deref()),
        (FindingKind::Utf8, Some(4), Some("U+6771 '東'"))
    );
    let bom = check(format!("\u{FEFF}{text}").as_bytes());
    assert_eq!(kinds(&bom), [FindingKind::Utf8Bom], "{:#?}", bom.findings);
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    assert_eq!(kinds(&check(&utf16)), [FindingKind::Utf16]);
    // Half-width katakana alone can be valid UTF-8 (ﾃｽ is C3 BD, "ý"): still Shift_JIS.
    assert_eq!(chars::unicode(b"\xC3\xBD"), chars::Unicode::No);
    assert_eq!(chars::unicode(b"abc"), chars::Unicode::No);
}

#[test]
fn lines_should_end_with_cr_lf() {
    let good = sjis(&good_lines());
    let lf: Vec<u8> = good.iter().copied().filter(|&b| b != b'\r').collect();
    let finding = only(&check(&lf)).clone();
    assert_eq!(
        (finding.kind, finding.severity, finding.line),
        (FindingKind::LfOnly, Severity::Warning, Some(1))
    );
    assert_eq!(finding.detail.as_deref(), Some("7 of 7 lines"));
    let cr: Vec<u8> = good.iter().copied().filter(|&b| b != b'\n').collect();
    assert_eq!(kinds(&check(&cr)), [FindingKind::CrOnly]);
    let unended = &good[..good.len() - 2];
    let finding = only(&check(unended)).clone();
    assert_eq!(
        (finding.kind, finding.line),
        (FindingKind::NoFinalLineEnd, Some(7))
    );
    let mut blank = good.clone();
    blank.extend_from_slice(b"\r\n");
    let finding = only(&check(&blank)).clone();
    assert_eq!(
        (finding.kind, finding.line),
        (FindingKind::EmptyLine, Some(8))
    );
}

#[test]
fn sections_must_be_there_in_order() {
    let mut lines = good_lines();
    lines.remove(1);
    let report = check(&sjis(&lines));
    assert!(
        report.has(FindingKind::KanriMissing),
        "{:#?}",
        report.findings
    );

    let mut lines = good_lines();
    lines.remove(4);
    let report = check(&sjis(&lines));
    assert_eq!(kinds(&report), [FindingKind::DataMissing]);

    // [data] right after the office count: no 事業所情報.
    let mut lines = good_lines();
    lines.remove(3);
    let report = check(&sjis(&lines));
    let finding = only(&report);
    assert_eq!(
        (finding.kind, finding.line),
        (FindingKind::DataMisplaced, Some(4))
    );

    // [kanri] first, the FD管理レコード missing.
    let mut lines = good_lines();
    lines.remove(0);
    let report = check(&sjis(&lines));
    assert_eq!(kinds(&report), [FindingKind::KanriMisplaced]);

    let mut lines = good_lines();
    lines.push("[data]".to_owned());
    lines.push("[kanri]".to_owned());
    let report = check(&sjis(&lines));
    assert_eq!(
        kinds(&report),
        [FindingKind::DataMisplaced, FindingKind::KanriMisplaced]
    );

    let lines = &good_lines()[..5];
    let finding = only(&check(&sjis(lines))).clone();
    assert_eq!(
        (finding.kind, finding.severity, finding.line),
        (FindingKind::NoRecords, Severity::Error, Some(5))
    );
}

#[test]
fn markers_are_exact() {
    for malformed in ["[KANRI]", "[kanri],,,,,,,,", " [kanri]"] {
        let report = check(&with_line(2, malformed));
        let finding = only(&report);
        assert_eq!(
            (finding.kind, finding.line),
            (FindingKind::MarkerMalformed, Some(2)),
            "{malformed}"
        );
    }
    assert_eq!(
        only(&check(&with_line(5, "[Data]"))).kind,
        FindingKind::MarkerMalformed
    );
    // No end marker is known: one is only a warning.
    let mut lines = good_lines();
    lines.push("[end]".to_owned());
    let report = check(&sjis(&lines));
    let finding = only(&report);
    assert_eq!(
        (finding.kind, finding.severity, finding.detail.as_deref()),
        (
            FindingKind::UnknownMarker,
            Severity::Warning,
            Some("found \"[end]\"")
        )
    );
}

#[test]
fn field_counts_of_the_header_and_records() {
    let report = check(&with_line(1, "21,01,ｹｲﾄ,001,20170101,22223"));
    let finding = only(&report);
    assert_eq!(
        (finding.kind, finding.severity, finding.line),
        (FindingKind::ManagementFields, Severity::Warning, Some(1))
    );
    assert_eq!(
        finding.detail.as_deref(),
        Some("found 6, expected 8; 6 is the 年金事務所 layout of SHFD0006.CSV")
    );
    let finding = only(&check(&with_line(1, "12345,000,20260401,,,,,"))).clone();
    assert_eq!(
        (finding.kind, finding.field),
        (FindingKind::SerialNumber, Some(2))
    );
    let finding = only(&check(&with_line(1, "12345,001,20260231,,,,,"))).clone();
    assert_eq!(
        (finding.kind, finding.field, finding.detail.as_deref()),
        (
            FindingKind::CreationDate,
            Some(3),
            Some("found \"20260231\"")
        )
    );
    assert_eq!(
        only(&check(&with_line(3, "001"))).kind,
        FindingKind::OfficeCount
    );
    assert_eq!(
        only(&check(&with_line(3, ",一"))).kind,
        FindingKind::OfficeCount
    );
    let shfd_office = "21,01,ｹｲﾄ,123,100,0000,所在地,名称,事業主氏名,03,1234,5678";
    let finding = only(&check(&with_line(4, shfd_office))).clone();
    assert_eq!(
        (finding.kind, finding.detail.as_deref()),
        (
            FindingKind::OfficeFields,
            Some("found 12, expected 9; 12 is the 年金事務所 layout of SHFD0006.CSV")
        )
    );
    let finding = only(&check(&with_line(7, &record("2225700", 53)))).clone();
    assert_eq!(
        (finding.kind, finding.line, finding.detail.as_deref()),
        (
            FindingKind::RecordFields,
            Some(7),
            Some(
                "found 53, expected 56: 53 items of 算定基礎届 and 3 健保組合 items; \
                 53 is the 年金事務所 layout without them"
            )
        )
    );
}

#[test]
fn form_codes() {
    let finding = only(&check(&with_line(7, &record("9999999", 10)))).clone();
    assert_eq!(
        (finding.kind, finding.field, finding.detail.as_deref()),
        (FindingKind::UnknownForm, Some(1), Some("found \"9999999\""))
    );
    let finding = only(&check(&with_line(7, &record("2202700", 142)))).clone();
    assert_eq!(finding.kind, FindingKind::UnconfirmedForm);
    // A count unknown for the form: not checked.
    assert!(check(&with_line(7, &record("2265700", 40))).is_clean());
}

#[test]
fn characters_outside_the_usable_list() {
    let at_name = |name: &str| {
        let report = check(&with_line(
            4,
            &format!("12345,100,0001,東京都,{name},山田　太郎,03,1234,5678"),
        ));
        let finding = only(&report).clone();
        assert_eq!((finding.line, finding.field), (Some(4), Some(5)), "{name}");
        (finding.kind, finding.detail.unwrap_or_default())
    };
    assert_eq!(
        at_name("①商事"),
        (
            FindingKind::ExtendedCharacter,
            "U+2460 '①' (NEC特殊文字, 0x8740)".to_owned()
        )
    );
    // encoding_rs writes 髙 as the IBM extension, not the NEC-selected copy.
    assert_eq!(
        at_name("髙橋商店"),
        (
            FindingKind::ExtendedCharacter,
            "U+9AD9 '髙' (IBM拡張文字, 0xFBFC)".to_owned()
        )
    );
    assert_eq!(
        at_name("∀商事"),
        (
            FindingKind::UnlistedCharacter,
            "U+2200 '∀' (0x81CD)".to_owned()
        )
    );
    assert_eq!(
        at_name("A&B"),
        (
            FindingKind::UnlistedHalfWidth,
            "U+0026 '&' (0x26)".to_owned()
        )
    );
    assert_eq!(
        at_name("｢ｶﾌﾞ"),
        (
            FindingKind::UnlistedHalfWidth,
            "U+FF62 '｢' (0xA2)".to_owned()
        )
    );
    assert_eq!(at_name("\"架空商事\"").0, FindingKind::Quote);
    // Half-width katakana with the sound marks, the long vowel, full-width space: allowed.
    assert!(
        check(&with_line(
            4,
            "12345,100,0001,東京都,ｶｸｳ ｼｮｳｼﾞｰ,山田　太郎,03,1234,5678"
        ))
        .is_clean()
    );

    // Bytes no encoder writes from text: put in by hand at the name's place.
    let raw = |bytes: &[u8]| {
        let good = sjis(&good_lines());
        let at = good
            .windows(8)
            .position(|w| w == SHIFT_JIS.encode("架空商事").0.as_ref())
            .unwrap();
        let mut file = good[..at].to_vec();
        file.extend_from_slice(bytes);
        file.extend_from_slice(&good[at..]);
        let report = check(&file);
        let finding = only(&report).clone();
        assert_eq!(
            (finding.line, finding.field),
            (Some(4), Some(5)),
            "{bytes:?}"
        );
        (finding.kind, finding.detail.unwrap_or_default())
    };
    assert_eq!(
        raw(b"\xED\x40"),
        (
            FindingKind::ExtendedCharacter,
            "U+7E8A '纊' (NEC選定IBM拡張文字, 0xED40)".to_owned()
        )
    );
    assert_eq!(
        raw(b"\xF0\x40"),
        (
            FindingKind::ExtendedCharacter,
            "U+E000 '\u{E000}' (外字, 0xF040)".to_owned()
        )
    );
    assert_eq!(
        raw(b"\x85\x40"),
        (FindingKind::NotShiftJis, "bytes 0x85 0x40".to_owned())
    );
    assert_eq!(
        raw(b"\x80"),
        (FindingKind::NotShiftJis, "bytes 0x80".to_owned())
    );
    // A lead byte without its second byte, before the comma.
    let mut lines = good_lines();
    lines[3] = "12345,100,0001,東京都,名称".to_owned() + ",山田　太郎,03,1234,5678";
    let mut file = sjis(&lines);
    let comma = file
        .windows(2)
        .position(|w| w == b"\xCC,")
        .expect("the comma after 名称");
    file.insert(comma + 1, 0x88);
    let report = check(&file);
    let finding = only(&report);
    assert_eq!(
        (finding.kind, finding.field),
        (FindingKind::NotShiftJis, Some(5))
    );
}

#[test]
fn findings_of_a_kind_are_listed_up_to_a_limit() {
    let name = "①".repeat(MAX_PER_KIND + 30);
    let report = check(&with_line(
        4,
        &format!("12345,100,0001,東京都,{name},山田　太郎,03,1234,5678"),
    ));
    assert_eq!(report.findings.len(), MAX_PER_KIND);
    assert_eq!(report.omitted, 30);
    assert!(report.has_errors());
}

#[test]
fn sizes() {
    let long = format!("2201700,{}", "1".repeat(MAX_LINE_BYTES));
    let report = check(&with_line(7, &long));
    assert!(report.has(FindingKind::LongLine), "{:#?}", report.findings);
    assert!(!report.has_errors());

    // The size is judged before anything is read: a UTF-16 file of the size is quick to check.
    let mut large = vec![0xFF, 0xFE];
    large.resize(LARGE_BYTES, b'1');
    assert_eq!(
        kinds(&check(&large)),
        [FindingKind::Large, FindingKind::Utf16]
    );
    large.pop();
    assert_eq!(kinds(&check(&large)), [FindingKind::Utf16]);

    let too_large = super::too_large("KPFD.CSV", MAX_BYTES + 1);
    assert_eq!(kinds(&too_large), [FindingKind::TooLarge]);
    assert!(too_large.has_errors());
    let over = vec![b'1'; usize::try_from(MAX_BYTES).unwrap() + 1];
    assert_eq!(kinds(&check(&over)), [FindingKind::TooLarge]);
}

/// Many lines of one kind cost no more than as many lines of any kind.
#[test]
fn many_markers() {
    let mut lines = good_lines();
    lines.extend(std::iter::repeat_n("[x]".to_owned(), 50_000));
    let report = check(&sjis(&lines));
    assert_eq!(kinds(&report), [FindingKind::UnknownMarker; MAX_PER_KIND]);
    assert_eq!(report.omitted, 50_000 - MAX_PER_KIND);
}

#[test]
fn the_name_must_be_kpfd_csv() {
    let report = check_named("KPFD0006.CSV", &sjis(&good_lines()));
    let finding = only(&report);
    assert_eq!(
        (finding.kind, finding.severity, finding.detail.as_deref()),
        (
            FindingKind::FileName,
            Severity::Warning,
            Some("found \"KPFD0006.CSV\"")
        )
    );
}

proptest::proptest! {
    /// Whatever the bytes: no panic, findings in order and where the file has lines, at most
    /// the limit of each kind.
    #[test]
    fn any_bytes_are_survived(
        bytes in proptest::prop_oneof![
            proptest::collection::vec(proptest::num::u8::ANY, 0..600),
            proptest::collection::vec(
                proptest::sample::select(&b"[kanri][data],,\r\n\r\n0123\x81\x87\x40\xED\xFC\""[..]),
                0..600,
            ),
        ],
    ) {
        let report = check(&bytes);
        let lines = bytes.iter().filter(|&&b| b == b'\n' || b == b'\r').count() + 1;
        let mut last = (0, 0);
        for finding in &report.findings {
            let at = (finding.line.unwrap_or(0), finding.field.unwrap_or(0));
            proptest::prop_assert!(at >= last, "{:?}", report.findings);
            proptest::prop_assert!(at.0 <= lines);
            proptest::prop_assert_eq!(finding.severity, finding.kind.severity());
            last = at;
        }
        for kind in FindingKind::ALL {
            proptest::prop_assert!(
                report.findings.iter().filter(|f| f.kind == *kind).count() <= MAX_PER_KIND
            );
        }
        proptest::prop_assert_eq!(report.is_clean(), report.findings.is_empty() && report.omitted == 0);
    }
}

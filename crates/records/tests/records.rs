//! The reference record checker end to end: generated data files through `check_file`, and
//! the two attachments built, parsed and compared.

use kx_denso::{ErrorCode, OrgKind};
use kx_records::{
    CsvErr, CsvErrRecord, FileCheck, FormCounts, FormatError, Receipt, Tables, TransmitInfo,
    check_file,
};
use proptest::prelude::*;

fn sjis(text: &str) -> Vec<u8> {
    encoding_rs::SHIFT_JIS.encode(text).0.into_owned()
}

/// Writes a record's items, quoting those that must be and, by `quote_mask`, some others.
fn join(items: &[String], quote_mask: u64) -> String {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            if item.contains([',', '"']) || quote_mask >> (i % 64) & 1 == 1 {
                format!("\"{}\"", item.replace('"', "\"\""))
            } else {
                item.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A whole data file: control record, `records` as data records, end record; record numbers
/// zero-padded by `padding` digits.
fn data_file(records: &[(Vec<String>, u64)], padding: usize) -> Vec<u8> {
    sjis(&data_text(records, padding))
}

fn data_text(records: &[(Vec<String>, u64)], padding: usize) -> String {
    let number = |n: usize| format!("{}{n}", "0".repeat(padding));
    let mut text = format!(
        "1,{},0,{},711,0,0,1234567890,0,7,202605,1\r\n",
        number(1),
        records.len()
    );
    for (i, (items, mask)) in records.iter().enumerate() {
        text.push_str(&format!("2,{},{}\r\n", number(i + 2), join(items, *mask)));
    }
    text.push_str(&format!("3,{}\r\n", number(records.len() + 2)));
    text
}

fn digits(max_len: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("-?[0-9]{{1,{}}}", max_len - 1))
        .expect("a valid pattern")
}

fn optional(strategy: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), strategy]
}

fn year_month() -> impl Strategy<Value = String> {
    (1990u32..2100, 1u32..=12).prop_map(|(y, m)| format!("{y}{m:02}"))
}

/// A 7111 請求書 record that obeys every rule of the default layout.
fn claim() -> impl Strategy<Value = Vec<String>> {
    let head = (
        year_month(),
        "[0-9]{10}",
        "[12]",
        prop_oneof![Just("0".to_owned()), Just("12".to_owned())],
        "0[12]",
    );
    let costs = [6, 11, 12, 12, 12, 12].map(digits);
    let facility = [6, 8, 12, 12, 12, 12].map(|n| optional(digits(n)));
    (head, costs, facility).prop_map(|((month, office, kind, law, class), costs, facility)| {
        let mut items = vec!["7111".to_owned(), month, office, kind, law, class];
        items.extend(costs);
        items.extend(facility);
        items
    })
}

/// A 71B2 再審査申立書 record that obeys every rule of the default layout.
fn reexamination() -> impl Strategy<Value = Vec<String>> {
    (
        (1990u32..2100, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| format!("{y}{m:02}{d:02}")),
        "[123]",
        "[0-9]{10}",
        "[0-9A-Z]{8}",
        "[0-9A-Z ｱ-ﾝ]{1,10}",
        year_month(),
        "[0-9A-Z]{2}",
        optional("[0-9A-Z]{4}".prop_map(String::from)),
        optional(digits(8)),
        "[0-9A-Z]{4}",
    )
        .prop_map(
            |(date, who, office, insurer, insured, month, kind, item, units, reason)| {
                vec![
                    "71B2".to_owned(),
                    date,
                    who,
                    office,
                    insurer,
                    insured,
                    month,
                    kind,
                    item,
                    units,
                    reason,
                ]
            },
        )
}

/// Text that Shift_JIS holds, with the characters that need quoting or escaping.
fn sjis_text(max: usize) -> impl Strategy<Value = String> {
    let chars = prop_oneof![
        proptest::char::range(' ', '~'),
        proptest::char::range('ぁ', 'ん'),
        proptest::sample::select(vec!['漢', '字', '　', 'ｱ', 'ﾟ', '、', '＆', '～']),
    ];
    proptest::collection::vec(chars, 0..max).prop_map(String::from_iter)
}

/// A record of an identifier the default tables have no layout for: anything goes.
fn unchecked(id: &'static str) -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(sjis_text(12), 0..6).prop_map(move |rest| {
        let mut items = vec![id.to_owned()];
        items.extend(rest);
        items
    })
}

fn any_record() -> impl Strategy<Value = (Vec<String>, u64)> {
    (
        prop_oneof![
            claim(),
            reexamination(),
            unchecked("7131"),
            unchecked("8222")
        ],
        any::<u64>(),
    )
}

proptest! {
    #[test]
    fn generated_valid_files_check_clean_with_their_counts(
        records in proptest::collection::vec(any_record(), 0..40),
        padding in 0usize..4,
    ) {
        let count = |id: &str| records.iter().filter(|(items, _)| items[0] == id).count() as u64;
        let bytes = data_file(&records, padding);
        match check_file("DATA01.CSV", &bytes, &Tables::default()) {
            FileCheck::Checked { format_errors, counts } => {
                prop_assert_eq!(format_errors, vec![]);
                prop_assert_eq!(counts.forms, FormCounts {
                    claims: count("7111"),
                    benefit_management: count("8222"),
                    reexaminations: count("71B2"),
                });
                prop_assert_eq!(counts.total, records.len() as u64);
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }

    #[test]
    fn structural_defects_make_the_file_data_err(
        records in proptest::collection::vec(any_record(), 1..20),
        defect in 0usize..5,
        pick in any::<proptest::sample::Index>(),
    ) {
        let mut lines: Vec<String> =
            data_text(&records, 0).split_inclusive("\r\n").map(String::from).collect();
        let data_line = 1 + pick.index(records.len());
        let expected = match defect {
            0 => {
                lines.pop();
                ErrorCode::EndRecord
            }
            1 => {
                let count = format!("1,1,0,{},", records.len());
                lines[0] = lines[0].replacen(&count, &format!("1,1,0,{},", records.len() + 1), 1);
                ErrorCode::RecordCount
            }
            2 => {
                let end = lines.last_mut().unwrap();
                end.truncate(end.len() - 2);
                ErrorCode::RecordTerminator
            }
            3 => {
                lines.remove(data_line);
                ErrorCode::RecordNumber
            }
            _ => {
                lines[data_line].insert(2, '\t');
                ErrorCode::ControlByte
            }
        };
        let bytes = sjis(&lines.concat());
        prop_assert_eq!(
            check_file("BAD.CSV", &bytes, &Tables::default()),
            FileCheck::DataErr(expected)
        );
    }

    #[test]
    fn one_bad_item_is_found_at_its_line_and_item(
        records in proptest::collection::vec(any_record(), 1..20),
        pick in any::<proptest::sample::Index>(),
    ) {
        // Lower-case in a 英数 item of a checked record: review code 03.
        let mut records = records;
        let target = pick.index(records.len());
        records[target].0 = vec!["71B2".into(), "20260401".into(), "1".into(), "1234567890".into(),
            "12345678".into(), "h000000001".into(), "202603".into(), "11".into(), String::new(),
            String::new(), "A001".into()];
        let bytes = data_file(&records, 0);
        let FileCheck::Checked { format_errors, .. } = check_file("X.CSV", &bytes, &Tables::default()) else {
            return Err(TestCaseError::fail("a structurally sound file"));
        };
        let bad: Vec<_> = format_errors.iter().filter(|e| e.line == target as u64 + 2).collect();
        prop_assert_eq!(bad.len(), 1);
        prop_assert_eq!(bad[0].item, 6);
        prop_assert_eq!(bad[0].code.as_str(), "03");
        prop_assert_eq!(bad[0].insured_number.as_str(), "h000000001");
    }

    #[test]
    fn csv_err_round_trips(
        records in proptest::collection::vec(
            (prop_oneof![
                "[A-Za-z0-9]{1,8}\\.(CSV|csv)",
                sjis_text(8).prop_filter("a file has a name", |s| !s.is_empty()),
            ],
             any::<u64>(), any::<u32>(), "[0-9A-Za-z]{2}", sjis_text(30)),
            0..8,
        )
    ) {
        let csv_err = CsvErr {
            records: records
                .into_iter()
                .map(|(file, line, item, code, text)| CsvErrRecord { file, line, item, code, text })
                .collect(),
        };
        let bytes = csv_err.to_bytes().unwrap();
        prop_assert_eq!(CsvErr::parse(&bytes).unwrap(), csv_err);
    }

    #[test]
    fn transmit_info_round_trips(
        receipts in proptest::collection::vec(
            (any_text(), any::<(u64, u64, u64)>(), any::<u64>(), any::<bool>()), 0..5),
        errors in proptest::collection::vec(
            (proptest::collection::vec(any_text(), 9), any::<u64>(), any::<u32>(), "[0-9A-Za-z]{2}"), 0..5),
    ) {
        let info = TransmitInfo {
            receipts: receipts
                .into_iter()
                .map(|(file, (claims, benefit_management, reexaminations), total, office)| Receipt {
                    file,
                    forms: office.then_some(FormCounts { claims, benefit_management, reexaminations }),
                    total,
                })
                .collect(),
            errors: errors
                .into_iter()
                .map(|(texts, line, item, code)| {
                    let [file, exchange_id, org_number, insured_number, service_month, service_kind, item_name, text, _] =
                        <[String; 9]>::try_from(texts).unwrap();
                    FormatError {
                        file, line, exchange_id, org_number, insured_number, service_month,
                        service_kind, item, item_name, code, text,
                    }
                })
                .collect(),
        };
        let bytes = info.to_bytes().unwrap();
        prop_assert_eq!(TransmitInfo::parse(&bytes).unwrap(), info);
    }
}

/// Any text XML 1.0 can carry: Japanese, XML's special characters, whitespace at the edges,
/// tabs and line breaks, characters Shift_JIS lacks.
fn any_text() -> impl Strategy<Value = String> {
    let chars = prop_oneof![
        proptest::char::range(' ', '~'),
        proptest::char::range('ァ', 'ヶ'),
        proptest::sample::select(vec![
            '&', '<', '>', '"', '\'', ' ', '\t', '\n', '\r', '　', '漢', 'ｱ', '¥', '😀', '\u{80}'
        ]),
    ];
    proptest::collection::vec(chars, 0..16).prop_map(String::from_iter)
}

#[test]
fn a_file_with_format_errors_feeds_both_attachments() {
    let text = "1,1,0,3,711,0,0,1234567890,0,7,202605,1\r\n\
                2,2,7111,202613,1234567890,1,0,01,1,100,1000,900,0,100,,,,,,\r\n\
                2,3,71B2,20260401,1,1234567890,12345678,H000000001,202604,11,,,a001\r\n\
                2,4,7111,202604,1234567890,1,0,01,1,100,1000,900,0,100,,,,,\r\n\
                3,5\r\n";
    let check = check_file("AAAA.CSV", &sjis(text), &Tables::default());
    let FileCheck::Checked {
        format_errors,
        counts,
    } = &check
    else {
        panic!("{check:?}");
    };
    assert_eq!(counts.total, 3);
    assert_eq!(counts.forms.claims, 2);
    assert_eq!(counts.forms.reexaminations, 1);
    let found: Vec<_> = format_errors
        .iter()
        .map(|e| (e.line, e.item, e.code.as_str()))
        .collect();
    // Line 2: 13th month; line 3: lower-case reason code; line 4: 17 items of 18.
    assert_eq!(found, [(2, 2, "05"), (3, 11, "03"), (4, 18, "08")]);
    let first = &format_errors[0];
    assert_eq!(first.item_name, "サービス提供年月");
    assert_eq!(first.exchange_id, "7111");
    assert_eq!(first.org_number, "1234567890");
    assert_eq!(first.service_month, "202613");
    assert_eq!(first.insured_number, "");
    assert_eq!(format_errors[1].service_kind, "11");
    assert_eq!(format_errors[1].insured_number, "H000000001");
    assert_eq!(
        format_errors[2].item_name,
        "特定入所者介護サービス費等_保険請求額"
    );

    let rejected = check_file("BBBB.CSV", b"", &Tables::default());
    assert_eq!(rejected, FileCheck::DataErr(ErrorCode::EmptyFile));

    let csv_err = CsvErr::from_errors(format_errors);
    assert_eq!(
        csv_err.to_bytes().unwrap(),
        sjis("AAAA.CSV,2,2,05,年月が正しくありません\r\n")
    );
    let info = TransmitInfo::from_checks(
        OrgKind::Office,
        [("AAAA.CSV", &check), ("BBBB.CSV", &rejected)],
    );
    assert_eq!(info.errors.len(), 3);
    assert_eq!(info.receipts.len(), 2);
    let parsed = TransmitInfo::parse(&info.to_bytes().unwrap()).unwrap();
    assert_eq!(parsed, info);
}

#[test]
fn too_many_items_and_kanji_items_under_an_operator_table() {
    let tables = Tables::from_toml(
        "[forms]\nclaim = []\n\
         [layouts.9999]\nitems = [\n\
           { name = \"交換情報識別番号\", kind = \"英数\", max = 4, required = true },\n\
           { name = \"氏名\", kind = \"漢字\", max = 10, required = true, transmit_info = \"被保険者番号\" },\n\
         ]\n",
    )
    .unwrap();
    let file = |records: &str, count: usize| {
        sjis(&format!(
            "1,1,0,{count},999,0,0,1234567890,0,7,202605,1\r\n{records}3,{}\r\n",
            count + 2
        ))
    };
    let check = check_file("K.CSV", &file("2,2,9999,\"山田　太郎\"\r\n", 1), &tables);
    assert!(
        matches!(&check, FileCheck::Checked { format_errors, .. } if format_errors.is_empty()),
        "{check:?}"
    );
    let FileCheck::Checked { format_errors, .. } = check_file(
        "K.CSV",
        &file("2,2,9999,山田 太郎\r\n2,3,9999,山田,余分\r\n", 2),
        &tables,
    ) else {
        panic!("structurally sound");
    };
    let found: Vec<_> = format_errors
        .iter()
        .map(|e| (e.line, e.item, e.code.as_str(), e.item_name.as_str()))
        .collect();
    assert_eq!(found, [(2, 2, "04", "氏名"), (3, 3, "08", "")]);
    assert_eq!(format_errors[0].insured_number, "山田 太郎");
}

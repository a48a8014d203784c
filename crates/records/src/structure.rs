//! The structure check (spec §7 "DataErr"): control record first, data records, end record last,
//! continuous record numbers, CRLF after every record, Shift_JIS, no control bytes.

use crate::csv::{decode_sjis, parse_digits, split_items};
use kx_denso::ErrorCode;

/// The control record (コントロールレコード): the first record of a data file, 12 items (spec §7
/// table), kept as read (unquoted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlRecord {
    /// The 12 items: レコード種別 `1`, レコード番号, ボリューム通番, レコード件数, データ種別,
    /// 福祉事務所特定番号, 保険者番号, 事業所番号, 都道府県番号, 媒体区分, 処理対象年月,
    /// ファイル管理番号.
    pub items: Vec<String>,
}

/// A data record (データレコード): `2`, the record number, then the data items.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataRecord {
    /// The record's line number, counted from the control record (= line 1).
    pub line: u64,
    /// The data items (unquoted); item 1 (index 0) is the 交換情報識別番号.
    pub items: Vec<String>,
}

impl DataRecord {
    /// The 交換情報識別番号 (data item 1), empty when the record has no data items.
    pub fn exchange_id(&self) -> &str {
        self.items.first().map_or("", String::as_str)
    }
}

/// A data file that passed the structure check: its control record and its data records (the
/// end record holds nothing beyond its number).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataFile {
    /// The control record.
    pub control: ControlRecord,
    /// The data records, in file order.
    pub data: Vec<DataRecord>,
}

/// Checks every structural rule of spec §7 and returns the parsed records, or the `A0xxxx` code
/// of the first defect found.
///
/// Order: an empty file (A00109), then the character set over the whole file (A00101, a file
/// that does not decode has no records to speak of), then each record in file order: its
/// terminator (A00102; a lone CR or LF counts), control bytes (A00108), its kind (A00104, or
/// A00103 on line 1 and A00106 for the last record), its number (A00105), its place (a second
/// control record is A00103, an end record before the last line or with more than two items
/// is A00106); last the control record's count against the data records (A00107).
pub fn check_structure(bytes: &[u8]) -> Result<DataFile, ErrorCode> {
    if bytes.is_empty() {
        return Err(ErrorCode::EmptyFile);
    }
    let text = decode_sjis(bytes).ok_or(ErrorCode::RecordCharset)?;
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let (first, rest) = lines.split_first().ok_or(ErrorCode::EmptyFile)?;
    // A record has at least one item (an empty line is one empty item), so `items[0]` exists.
    let items = read_record(first, ErrorCode::ControlRecord)?;
    if items[0] != "1" || items.len() != 12 {
        return Err(ErrorCode::ControlRecord);
    }
    check_number(&items, 1)?;
    let control = ControlRecord { items };
    let mut data = Vec::new();
    for (index, raw) in rest.iter().enumerate() {
        let line = index as u64 + 2;
        let last = index + 1 == rest.len();
        let items = read_record(raw, ErrorCode::RecordKind)?;
        let kind = items[0].as_str();
        if !matches!(kind, "1" | "2" | "3") {
            return Err(ErrorCode::RecordKind);
        }
        check_number(&items, line)?;
        match (kind, last) {
            ("1", _) => return Err(ErrorCode::ControlRecord),
            ("3", true) if items.len() == 2 => {}
            ("3", _) | ("2", true) => return Err(ErrorCode::EndRecord),
            _ => data.push(DataRecord {
                line,
                items: items[2..].to_vec(),
            }),
        }
    }
    if rest.is_empty() {
        return Err(ErrorCode::EndRecord);
    }
    if parse_digits(&control.items[3]) != Some(data.len() as u64) {
        return Err(ErrorCode::RecordCount);
    }
    Ok(DataFile { control, data })
}

/// Reads one line (with its terminator) into items: the terminator, then control bytes, then
/// the quoting. A line whose quoting is malformed cannot be read at all, so it is not the
/// record its position needs: `unreadable` names that defect.
fn read_record(raw: &str, unreadable: ErrorCode) -> Result<Vec<String>, ErrorCode> {
    let record = raw
        .strip_suffix("\r\n")
        .filter(|r| !r.contains('\r'))
        .ok_or(ErrorCode::RecordTerminator)?;
    if record.chars().any(|c| c < ' ') {
        return Err(ErrorCode::ControlByte);
    }
    split_items(record).ok_or(unreadable)
}

/// The record number (item 2) must equal the line: numbering starts at 1 and runs on. It is
/// read numerically, so zero padding does not matter (research notes A7: `2,123,…` and
/// `2,0000000123,…` are the same).
fn check_number(items: &[String], line: u64) -> Result<(), ErrorCode> {
    match items.get(1).and_then(|n| parse_digits::<u64>(n)) {
        Some(n) if n == line => Ok(()),
        _ => Err(ErrorCode::RecordNumber),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTROL: &str = "1,1,0,1,711,0,0,1111111111,0,7,202604,1\r\n";

    fn check(text: &str) -> Result<DataFile, ErrorCode> {
        check_structure(text.as_bytes())
    }

    fn file(data: &[&str], end: &str) -> String {
        let mut text = format!("1,1,0,{},711,0,0,1111111111,0,7,202604,1\r\n", data.len());
        for (i, record) in data.iter().enumerate() {
            text.push_str(&format!("2,{},{record}\r\n", i + 2));
        }
        text.push_str(end);
        text
    }

    #[test]
    fn accepts_the_spec_example() {
        let mut text = String::from("1,1,0,123,999,0,0,1111111111,0,4,200004,1\r\n");
        for n in 2..=124 {
            text.push_str(&format!("2,{n},7111,200004\r\n"));
        }
        text.push_str("3,125\r\n");
        let parsed = check(&text).unwrap();
        assert_eq!(parsed.control.items.len(), 12);
        assert_eq!(parsed.data.len(), 123);
        assert_eq!(parsed.data[0].line, 2);
        assert_eq!(parsed.data[0].exchange_id(), "7111");
        assert_eq!(parsed.data[122].line, 124);
    }

    #[test]
    fn zero_padded_and_quoted_numbers_compare_numerically() {
        let text = "\"1\",000000001,0,0001,711,0,0,1111111111,0,7,202604,1\r\n\
                    2,0000000002,\"7111\",\"a,b\",\"\"\r\n\
                    3,\"003\"\r\n";
        let parsed = check(text).unwrap();
        assert_eq!(parsed.data[0].items, ["7111", "a,b", ""]);
    }

    /// Every one of `files` is rejected with `code`.
    fn rejects(code: ErrorCode, files: &[&str]) {
        for text in files {
            assert_eq!(check(text), Err(code), "{text:?}");
        }
    }

    #[test]
    fn a00109_empty_file() {
        rejects(ErrorCode::EmptyFile, &[""]);
    }

    #[test]
    fn a00101_not_shift_jis() {
        let mut bytes = file(&["7111"], "3,3\r\n").into_bytes();
        bytes.splice(0..0, [0x82, 0x20]);
        assert_eq!(check_structure(&bytes), Err(ErrorCode::RecordCharset));
        // A Shift_JIS file with kanji in it is fine.
        let text = file(&["7111,漢字"], "3,3\r\n");
        let kanji = encoding_rs::SHIFT_JIS.encode(&text).0;
        assert!(check_structure(&kanji).is_ok());
    }

    #[test]
    fn a00102_record_not_crlf_terminated() {
        let lf_inside = file(&["7111"], "3,3\r\n").replacen("\r\n", "\n", 1);
        rejects(
            ErrorCode::RecordTerminator,
            &[
                &file(&["7111"], "3,3"),
                &file(&["7111"], "3,3\n"),
                &lf_inside,
                &file(&["71\r11"], "3,3\r\n"),
            ],
        );
    }

    #[test]
    fn a00103_control_record() {
        let twice = format!("{CONTROL}1,2,0,0,711,0,0,1111111111,0,7,202604,1\r\n3,3\r\n");
        rejects(
            ErrorCode::ControlRecord,
            &[
                // Not first.
                "2,1,7111\r\n3,2\r\n",
                // Eleven or thirteen items.
                "1,1,0,0,711,0,0,1111111111,0,7,202604\r\n3,2\r\n",
                "1,1,0,0,711,0,0,1111111111,0,7,202604,1,x\r\n3,2\r\n",
                // Unreadable quoting on line 1.
                "1,1,0,0,\"711,0,0,1111111111,0,7,202604,1\r\n3,2\r\n",
                // A second control record.
                &twice,
            ],
        );
    }

    #[test]
    fn a00104_record_kind() {
        rejects(
            ErrorCode::RecordKind,
            &[
                &file(&["7111"], "4,3\r\n"),
                &format!("{CONTROL}9,2,7111\r\n3,3\r\n"),
                &format!("{CONTROL}2,2,71\"11\r\n3,3\r\n"),
            ],
        );
    }

    #[test]
    fn a00105_record_number() {
        rejects(
            ErrorCode::RecordNumber,
            &[
                // Skipped, repeated.
                &format!("{CONTROL}2,3,7111\r\n3,4\r\n"),
                &file(&["7111"], "3,2\r\n"),
                // The control record not 1; a number that is not a number, or missing.
                "1,2,0,0,711,0,0,1111111111,0,7,202604,1\r\n3,2\r\n",
                &file(&["7111"], "3,x\r\n"),
                &file(&["7111"], "3,\r\n"),
            ],
        );
    }

    #[test]
    fn a00106_end_record() {
        rejects(
            ErrorCode::EndRecord,
            &[
                // Missing; only a control record; not last; with more than its two items.
                "1,1,0,1,711,0,0,1111111111,0,7,202604,1\r\n2,2,7111\r\n",
                "1,1,0,0,711,0,0,1111111111,0,7,202604,1\r\n",
                "1,1,0,1,711,0,0,1111111111,0,7,202604,1\r\n3,2\r\n2,3,7111\r\n",
                &file(&["7111"], "3,3,x\r\n"),
            ],
        );
    }

    #[test]
    fn a00107_record_count() {
        rejects(
            ErrorCode::RecordCount,
            &[
                "1,1,0,2,711,0,0,1111111111,0,7,202604,1\r\n2,2,7111\r\n3,3\r\n",
                "1,1,0,x,711,0,0,1111111111,0,7,202604,1\r\n2,2,7111\r\n3,3\r\n",
            ],
        );
        // No data records with a zero count is fine.
        assert!(check("1,1,0,0,711,0,0,1111111111,0,7,202604,1\r\n3,2\r\n").is_ok());
    }

    #[test]
    fn a00108_control_byte() {
        rejects(
            ErrorCode::ControlByte,
            &[
                &file(&["71\t11"], "3,3\r\n"),
                &file(&["71\u{0}11"], "3,3\r\n"),
                &file(&["7111\u{1f}"], "3,3\r\n"),
            ],
        );
    }

    #[test]
    fn the_first_defect_in_file_order_wins() {
        // A bad record number on line 2 comes before the missing terminator on line 3.
        let text = format!("{CONTROL}2,5,7111\r\n3,3");
        assert_eq!(check(&text), Err(ErrorCode::RecordNumber));
    }
}

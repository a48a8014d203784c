//! CsvErr.txt (spec §6.2, source §8.5.4): the attachment of a Regist that names files in
//! `X-Ex3-IFArea`, one CRLF-terminated Shift_JIS record per erroneous file:
//! `file,line no.,item no.,code,text`.

use crate::Error;
use crate::csv::{decode_sjis, encode_sjis, join_items, parse_digits, split_items};
use crate::format::{FormatError, is_review_code};

/// One record of CsvErr.txt: the first format error of one data file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvErrRecord {
    /// データファイル名.
    pub file: String,
    /// エラー行番号 (the control record is line 1).
    pub line: u64,
    /// エラー項目番号 (data item 1 is the 交換情報識別番号).
    pub item: u32,
    /// エラーコード: two half-width alphanumerics.
    pub code: String,
    /// エラー内容 (Japanese).
    pub text: String,
}

/// The CsvErr.txt attachment.
///
/// Items are written unquoted, as the source shows them, except an item holding a comma or a
/// double quote, which is quoted the way data files quote (`"…"`, `""` inside) so that it reads
/// back unchanged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CsvErr {
    /// One record per erroneous file, in the order the files were attached.
    pub records: Vec<CsvErrRecord>,
}

impl CsvErr {
    /// The attachment's file name.
    pub const FILE_NAME: &'static str = "CsvErr.txt";

    /// The records for a list of format errors: the first error of each file, files in the
    /// order their first error appears.
    pub fn from_errors<'a>(errors: impl IntoIterator<Item = &'a FormatError>) -> CsvErr {
        let mut records: Vec<CsvErrRecord> = Vec::new();
        for error in errors {
            if records.iter().all(|r| r.file != error.file) {
                records.push(CsvErrRecord {
                    file: error.file.clone(),
                    line: error.line,
                    item: error.item,
                    code: error.code.clone(),
                    text: error.text.clone(),
                });
            }
        }
        CsvErr { records }
    }

    /// The attachment's bytes (Shift_JIS, CRLF after every record).
    ///
    /// Fails when a record cannot be written faithfully: a code that is not two half-width
    /// alphanumerics, a control character (a CR or LF would split the record), or text that
    /// Shift_JIS cannot hold.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut bytes = Vec::new();
        for (index, record) in self.records.iter().enumerate() {
            let fail = |why: &str| Error::CsvErr(format!("record {}: {why}", index + 1));
            if !is_review_code(&record.code) {
                return Err(fail("the code is not two half-width alphanumerics"));
            }
            if record.file.is_empty() {
                return Err(fail("the file name is empty"));
            }
            if [&record.file, &record.text]
                .iter()
                .any(|s| s.chars().any(|c| c < ' '))
            {
                return Err(fail("a control character in the file name or text"));
            }
            let items = [
                record.file.clone(),
                record.line.to_string(),
                record.item.to_string(),
                record.code.clone(),
                record.text.clone(),
            ];
            let line = encode_sjis(&join_items(&items))
                .ok_or_else(|| fail("not representable in Shift_JIS"))?;
            bytes.extend(line);
            bytes.extend(b"\r\n");
        }
        Ok(bytes)
    }

    /// Reads a CsvErr.txt (Shift_JIS, CRLF after every record, five items per record).
    pub fn parse(bytes: &[u8]) -> Result<CsvErr, Error> {
        let text =
            decode_sjis(bytes).ok_or_else(|| Error::CsvErr("the file is not Shift_JIS".into()))?;
        let mut records = Vec::new();
        for (index, raw) in text.split_inclusive('\n').enumerate() {
            let fail = |why: &str| Error::CsvErr(format!("record {}: {why}", index + 1));
            let line = raw
                .strip_suffix("\r\n")
                .filter(|r| !r.contains('\r'))
                .ok_or_else(|| fail("not terminated by CRLF"))?;
            let items = split_items(line).ok_or_else(|| fail("malformed quoting"))?;
            let [file, line, item, code, text] = <[String; 5]>::try_from(items)
                .map_err(|items| fail(&format!("{} items instead of 5", items.len())))?;
            if file.is_empty() {
                return Err(fail("the file name is empty"));
            }
            if !is_review_code(&code) {
                return Err(fail("the code is not two half-width alphanumerics"));
            }
            records.push(CsvErrRecord {
                file,
                line: parse_digits(&line).ok_or_else(|| fail("the line number is not a number"))?,
                item: parse_digits(&item).ok_or_else(|| fail("the item number is not a number"))?,
                code,
                text,
            });
        }
        Ok(CsvErr { records })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(file: &str, text: &str) -> CsvErrRecord {
        CsvErrRecord {
            file: file.to_owned(),
            line: 12,
            item: 3,
            code: "07".to_owned(),
            text: text.to_owned(),
        }
    }

    #[test]
    fn builds_the_source_layout() {
        let csv_err = CsvErr {
            records: vec![
                record("AAAA.csv", "項目の桁数が超過しています"),
                record("CCCC.csv", "a,b \"c\""),
            ],
        };
        let bytes = csv_err.to_bytes().unwrap();
        let expected = "AAAA.csv,12,3,07,項目の桁数が超過しています\r\n\
                        CCCC.csv,12,3,07,\"a,b \"\"c\"\"\"\r\n";
        assert_eq!(bytes, encoding_rs::SHIFT_JIS.encode(expected).0.as_ref());
        assert_eq!(CsvErr::parse(&bytes).unwrap(), csv_err);
    }

    #[test]
    fn from_errors_keeps_the_first_error_of_each_file() {
        let error = |file: &str, line: u64| FormatError {
            file: file.to_owned(),
            line,
            item: 2,
            code: "01".to_owned(),
            text: "必須項目が設定されていません".to_owned(),
            ..FormatError::default()
        };
        let errors = [error("B.csv", 3), error("A.csv", 2), error("B.csv", 4)];
        let csv_err = CsvErr::from_errors(&errors);
        let lines: Vec<_> = csv_err
            .records
            .iter()
            .map(|r| (r.file.as_str(), r.line))
            .collect();
        assert_eq!(lines, [("B.csv", 3), ("A.csv", 2)]);
        assert!(CsvErr::from_errors(&[]).to_bytes().unwrap().is_empty());
    }

    #[test]
    fn refuses_what_it_cannot_write() {
        let bad = |record: CsvErrRecord| {
            CsvErr {
                records: vec![record],
            }
            .to_bytes()
            .is_err()
        };
        assert!(bad(CsvErrRecord {
            code: "7".into(),
            ..record("A.csv", "x")
        }));
        assert!(bad(record("", "x")));
        assert!(bad(record("A.csv", "two\r\nlines")));
        assert!(bad(record("A.csv", "😀")));
        assert!(bad(record("A.csv", "¥")));
    }

    #[test]
    fn parse_rejects_malformed_files() {
        let bad = |text: &[u8]| CsvErr::parse(text).is_err();
        assert!(bad(b"A.csv,1,1,01,x"));
        assert!(bad(b"A.csv,1,1,01,x\n"));
        assert!(bad(b"A.csv,1,1,01\r\n"));
        assert!(bad(b"A.csv,1,1,01,x,y\r\n"));
        assert!(bad(b"A.csv,one,1,01,x\r\n"));
        assert!(bad(b"A.csv,1,-1,01,x\r\n"));
        assert!(bad(b"A.csv,1,1,001,x\r\n"));
        assert!(bad(b",1,1,01,x\r\n"));
        assert!(bad(b"\"A.csv,1,1,01,x\r\n"));
        assert!(bad(&[0x82, b'\r', b'\n']));
        assert_eq!(CsvErr::parse(b"").unwrap(), CsvErr::default());
    }
}

//! The attachments of the source's Regist examples (§8.5.3 examples 2 and 3), written by the
//! record checker's types byte for byte as the golden files of `kx-denso` hold them.

fn golden(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../denso/tests/golden/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The attachments of §8.5.3 examples 2 and 3, as the record checker's types write them.
#[test]
fn regist_attachments_from_the_record_checker() {
    use kx_records::{CsvErr, FormatError, Receipt, TransmitInfo};
    let error = |file: &str, line, item, item_name: &str, code: &str, text: &str| FormatError {
        file: file.into(),
        line,
        exchange_id: "7111".into(),
        org_number: String::new(),
        insured_number: String::new(),
        service_month: "200403".into(),
        service_kind: String::new(),
        item,
        item_name: item_name.into(),
        code: code.into(),
        text: text.into(),
    };
    let errors = vec![
        error(
            "AAAA.csv",
            2,
            3,
            "事業所番号",
            "02",
            "数字項目に数字以外の文字があります",
        ),
        error(
            "CCCC.csv",
            4,
            2,
            "サービス提供年月",
            "05",
            "年月が正しくありません",
        ),
    ];
    let receipt = |file: &str, total| Receipt {
        file: file.into(),
        forms: None,
        total,
    };
    let receipts = vec![
        receipt("AAAA.csv", 12),
        receipt("BBBB.csv", 0),
        receipt("CCCC.csv", 3),
    ];
    let example2 = TransmitInfo {
        receipts: receipts.clone(),
        errors: vec![],
    };
    assert_eq!(
        example2.to_bytes().expect("builds"),
        golden("transmitinfo_example2.txt")
    );
    let example3 = TransmitInfo {
        receipts,
        errors: errors.clone(),
    };
    assert_eq!(
        example3.to_bytes().expect("builds"),
        golden("transmitinfo_example3.txt")
    );
    assert_eq!(
        CsvErr::from_errors(&errors).to_bytes().expect("builds"),
        golden("csverr_example3.txt")
    );
}

//! The Regist (受付点検情報, spec §8.5, §9.3) built from the record checker's verdicts, in the
//! envelope the gateway hands over.

use kx_denso::message::{
    CheckResult, Code, DENSO_VERSION, Environment, FileReceipt, FileResult, Regist,
};
use kx_denso::reply::ReplyTo;
use kx_denso::{OrgKind, TransmissionNumber};

use crate::{CsvErr, Error, FileCheck, TransmitInfo};

/// The Regist of a submission whose data files were checked (§8.5.2's decision table):
/// DataErr files go to `X-Ex2-IFArea`, Success files with format errors to `X-Ex3-IFArea`
/// with their first error in CsvErr.txt, and a production reply carries TransmitInfo.txt
/// with every file's counts and every format error (§9.3); the loopback test environment
/// carries none (§8.7.2).
pub fn from_checks(
    reply: ReplyTo,
    number: TransmissionNumber,
    sender: OrgKind,
    files: &[(String, FileCheck)],
) -> Result<Regist, Error> {
    let receipts = files
        .iter()
        .map(|(name, check)| FileReceipt {
            name: name.clone(),
            result: match check {
                FileCheck::DataErr(code) => FileResult::DataErr((*code).into()),
                FileCheck::Checked { format_errors, .. } => FileResult::Success {
                    format_error: !format_errors.is_empty(),
                },
            },
        })
        .collect();
    let format_errors: Vec<_> = files
        .iter()
        .flat_map(|(_, check)| match check {
            FileCheck::Checked { format_errors, .. } => format_errors.as_slice(),
            FileCheck::DataErr(_) => &[],
        })
        .collect();
    let csv_err = if format_errors.is_empty() {
        None
    } else {
        Some(CsvErr::from_errors(format_errors).to_bytes()?)
    };
    let info = TransmitInfo::from_checks(sender, files.iter().map(|(n, c)| (n.as_str(), c)));
    regist(
        reply,
        number,
        CheckResult::Success { files: receipts },
        csv_err,
        info,
    )
}

/// The Regist of a submission the transmission system itself could not check (an LZH that
/// does not unpack, limits exceeded): `CheckErr` with the code and no file list. The
/// source's §8.5.2 (version 2) says such a Regist has no attachment; version 3.01 (§9.3.2,
/// spec §6.2) attaches TransmitInfo.txt to every production Regist, so it carries one with
/// no file counted.
pub fn check_error(
    reply: ReplyTo,
    number: TransmissionNumber,
    file_count: u32,
    code: Code,
) -> Result<Regist, Error> {
    let info = TransmitInfo {
        receipts: Vec::new(),
        errors: Vec::new(),
    };
    regist(
        reply,
        number,
        CheckResult::CheckErr { file_count, code },
        None,
        info,
    )
}

/// A Regist in `reply`'s envelope. Every production Regist carries `info` as TransmitInfo.txt
/// (§9.3.2); the loopback test environment carries none (§8.7.2).
fn regist(
    reply: ReplyTo,
    number: TransmissionNumber,
    check: CheckResult,
    csv_err: Option<Vec<u8>>,
    info: TransmitInfo,
) -> Result<Regist, Error> {
    let transmit_info = match reply.environment {
        Environment::Production => Some(info.to_bytes()?),
        Environment::TestLoopback => None,
    };
    Ok(Regist {
        environment: reply.environment,
        to: reply.to,
        from: reply.from,
        date: reply.date,
        number,
        check,
        csv_err,
        transmit_info,
        version: Some(DENSO_VERSION.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Tables, check_file};
    use kx_denso::{ErrorCode, Message};

    fn reply(environment: Environment) -> ReplyTo {
        ReplyTo {
            environment,
            to: "J13123456780@denso.test.kokuho".into(),
            from: "transmit@denso.test.kokuho".into(),
            date: kx_denso::date::parse("Mon, 23 Nov 2026 10:00:00 +0900").unwrap(),
        }
    }

    fn number() -> TransmissionNumber {
        "13123456782026040001".parse().unwrap()
    }

    fn sjis(text: &str) -> Vec<u8> {
        encoding_rs::SHIFT_JIS.encode(text).0.into_owned()
    }

    #[test]
    fn regist_follows_the_decision_table() {
        let tables = Tables::default();
        let good = sjis(
            "1,1,0,1,711,0,0,1312345678,0,7,202604,1\r\n2,2,7111,202603,1312345678,1,12,01,1,100,1000,900,0,100\r\n3,3\r\n",
        );
        let broken = sjis("1,1,0,5,711,0,0,1312345678,0,7,202604,1\r\n3,2\r\n");
        let files: Vec<(String, FileCheck)> = [("GOOD.CSV", &good), ("BROKEN.CSV", &broken)]
            .into_iter()
            .map(|(n, b)| (n.to_owned(), check_file(n, b, &tables)))
            .collect();
        assert!(matches!(files[1].1, FileCheck::DataErr(_)));

        let production = from_checks(
            reply(Environment::Production),
            number(),
            OrgKind::Office,
            &files,
        )
        .unwrap();
        let CheckResult::Success { files: receipts } = &production.check else {
            panic!("checked files make a Success Regist");
        };
        assert!(matches!(receipts[1].result, FileResult::DataErr(_)));
        assert!(production.transmit_info.is_some());
        let info = TransmitInfo::parse(production.transmit_info.as_ref().unwrap()).unwrap();
        assert_eq!(info.receipts.len(), 2);
        assert_eq!(info.receipts[0].forms.map(|f| f.claims), Some(1));

        let test = from_checks(
            reply(Environment::TestLoopback),
            number(),
            OrgKind::Office,
            &files,
        )
        .unwrap();
        assert_eq!(test.transmit_info, None);
        let bytes = Message::Regist(test.clone()).to_bytes().unwrap();
        assert!(String::from_utf8_lossy(&bytes).contains("Subject: Test Regist\r\n"));
        assert_eq!(Message::parse(&bytes).unwrap(), Message::Regist(test));
    }

    #[test]
    fn a_production_check_error_still_carries_transmit_info() {
        let code = Code::from(ErrorCode::LzhUnpack);
        let production =
            check_error(reply(Environment::Production), number(), 3, code.clone()).unwrap();
        let info = TransmitInfo::parse(production.transmit_info.as_ref().unwrap()).unwrap();
        assert!(info.receipts.is_empty() && info.errors.is_empty());
        let test = check_error(reply(Environment::TestLoopback), number(), 3, code).unwrap();
        assert_eq!(test.transmit_info, None);
        let bytes = Message::Regist(production.clone()).to_bytes().unwrap();
        assert_eq!(Message::parse(&bytes).unwrap(), Message::Regist(production));
    }

    #[test]
    fn format_errors_make_ex3_and_csv_err() {
        let tables = Tables::default();
        let bad_month = sjis(
            "1,1,0,1,711,0,0,1312345678,0,7,202604,1\r\n2,2,7111,202613,1312345678,1,12,01,1,100,1000,900,0,100\r\n3,3\r\n",
        );
        let files = vec![(
            "CLAIM.CSV".to_owned(),
            check_file("CLAIM.CSV", &bad_month, &tables),
        )];
        let regist = from_checks(
            reply(Environment::Production),
            number(),
            OrgKind::Office,
            &files,
        )
        .unwrap();
        let csv_err = CsvErr::parse(regist.csv_err.as_ref().unwrap()).unwrap();
        assert_eq!(csv_err.records[0].file, "CLAIM.CSV");
        let bytes = Message::Regist(regist).to_bytes().unwrap();
        assert!(String::from_utf8_lossy(&bytes).contains("X-Ex3-IFArea: CLAIM.CSV\r\n"));
    }
}

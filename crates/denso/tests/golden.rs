//! Every sample and example of the source (§5.4(11), §6.5(9), §7, §8.3.6, §8.4.2, §8.5.3
//! examples 1–3, §8.6, §8.7.3, §10.2.9) as a golden file in `tests/golden/`: each is built byte
//! for byte from its struct and parsed back to the same struct. `tests/golden/README.md` says
//! which placeholder of the source became which value.

use chrono::{DateTime, FixedOffset};
use kx_denso::inspect::ClientKind;
use kx_denso::message::{
    Accept, ArrivalResult, Attachment, CancelResult, CheckResult, Code, Contact, DENSO_VERSION,
    DataDelete, DataSend, DeleteRegist, Environment, FileReceipt, FileResult, Regist,
    ResultMessage, ServiceNotice, Upstream,
};
use kx_denso::{Context, Mailbox, Message, inspect};

const DOMAIN: &str = "denso.test.kokuho";
const SAMPLE_CSV: &[u8] = b"1,000000001,000,000000002,821,12,400002,0000000000,00,6,2";

fn golden(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn date(text: &str) -> DateTime<FixedOffset> {
    kx_denso::date::parse(text).expect("a sample date")
}

fn addr(local: &str) -> String {
    format!("{local}@{DOMAIN}")
}

fn number(text: &str) -> kx_denso::TransmissionNumber {
    text.parse().expect("a sample transmission number")
}

fn code(text: &str) -> Code {
    Code::parse(text).expect("a sample code")
}

/// Builds `message`, compares with the golden file, parses the file back and compares again.
fn check(file: &str, message: Message) {
    let expected = golden(file);
    let built = message.to_bytes().expect("builds");
    assert!(
        built == expected,
        "{file}: built bytes differ from the golden file\n--- built\n{}\n--- golden\n{}",
        String::from_utf8_lossy(&built),
        String::from_utf8_lossy(&expected)
    );
    let parsed = Message::parse(&expected).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(parsed, message, "{file}: parsed message differs");
}

fn assert_clean(file: &str, kind: ClientKind) {
    let inspection = inspect(&golden(file), &Context::default());
    assert_eq!(inspection.kind, kind, "{file}");
    assert!(inspection.is_valid(), "{file}: {:?}", inspection.violations);
}

#[test]
fn sample_datadelete_5_4_11() {
    check(
        "datadelete.eml",
        Message::DataDelete(DataDelete {
            from: Mailbox::new(addr("J13123456780")),
            to: Mailbox::new(addr("transmit")),
            date: date("Thu, 08 Apr 2004 19:27:51 +0900"),
            number: number("13123456780000000001"),
            cancel: number("13123456780000000002"),
        }),
    );
    assert_clean("datadelete.eml", ClientKind::DataDelete);
}

#[test]
fn sample_datasend_5_4_11() {
    check(
        "datasend.eml",
        Message::DataSend(DataSend {
            from: Mailbox::new(addr("J13123456780")),
            to: Mailbox::new(addr("transmit")),
            date: date("Thu, 08 Apr 2004 19:27:51 +0900"),
            number: number("13123456780000000000"),
            files: vec![
                Attachment::new("xxxxxxx1.csv", SAMPLE_CSV),
                Attachment::new("xxxxxxx2.csv", SAMPLE_CSV),
            ],
        }),
    );
    assert_clean("datasend.eml", ClientKind::DataSend);
}

fn accept(environment: Environment, to: &str, tn: &str, result: ArrivalResult) -> Message {
    Message::Accept(Accept {
        environment,
        to: addr(to),
        from: addr("transmit"),
        date: date("Thu, 08 Apr 2004 19:30:01 +0900"),
        number: Some(number(tn)),
        result,
        version: Some(DENSO_VERSION.into()),
    })
}

#[test]
fn sample_accept_6_5_9() {
    check(
        "accept.eml",
        accept(
            Environment::Production,
            "J13123456780",
            "13123456780000000000",
            ArrivalResult::Success,
        ),
    );
}

#[test]
fn test_environment_subject_8_7_3() {
    check(
        "test_accept.eml",
        accept(
            Environment::TestLoopback,
            "J13123456780",
            "13123456780000000000",
            ArrivalResult::Success,
        ),
    );
    check(
        "test_deleteregist.eml",
        Message::DeleteRegist(DeleteRegist {
            environment: Environment::TestLoopback,
            to: addr("J13123456780"),
            from: addr("transmit"),
            date: date("Thu, 08 Apr 2004 19:45:00 +0900"),
            number: number("13123456780000000003"),
            cancelled: number("13123456780000000000"),
            result: CancelResult::Success,
            version: Some(DENSO_VERSION.into()),
        }),
    );
}

#[test]
fn example_accept_iferr_8_4_2() {
    check(
        "accept_iferr.eml",
        accept(
            Environment::Production,
            "H00006666660",
            "00006666661999061801",
            ArrivalResult::IfErr(code("A11111")),
        ),
    );
}

#[test]
fn sample_result_6_5_9() {
    check(
        "result.eml",
        Message::Result(ResultMessage {
            to: addr("J13123456780"),
            from: addr("transmit"),
            date: date("Thu, 08 Apr 2004 16:00:03 +0900"),
            file_count: 2,
            archive: Attachment::new("131234567820040408160000.lzh", SAMPLE_CSV),
            version: Some(DENSO_VERSION.into()),
        }),
    );
}

#[test]
fn example_contact_8_3_6() {
    check(
        "contact.eml",
        Message::Contact(Contact {
            to: addr("J13123456780"),
            from: addr("transmit"),
            date: date("Thu, 08 Apr 2004 16:00:03 +0900"),
            title: "３月の請求書締め切りのお知らせ".into(),
            body: "３月の請求書の締め切りは、１２日（月）１７：００迄です。".into(),
            attachments: vec![],
        }),
    );
}

fn regist(check: CheckResult, csv_err: Option<&str>, info: Option<&str>) -> Message {
    Message::Regist(Regist {
        environment: Environment::Production,
        to: addr("H00006666660"),
        from: addr("transmit"),
        date: date("Thu, 08 Apr 2004 19:40:00 +0900"),
        number: number("00006666661990061801"),
        check,
        csv_err: csv_err.map(golden),
        transmit_info: info.map(golden),
        version: Some(DENSO_VERSION.into()),
    })
}

fn three_files(format_errors: bool) -> CheckResult {
    let file = |name: &str, result| FileReceipt {
        name: name.into(),
        result,
    };
    CheckResult::Success {
        files: vec![
            file(
                "AAAA.csv",
                FileResult::Success {
                    format_error: format_errors,
                },
            ),
            file("BBBB.csv", FileResult::DataErr(code("A00100"))),
            file(
                "CCCC.csv",
                FileResult::Success {
                    format_error: format_errors,
                },
            ),
        ],
    }
}

#[test]
fn example1_regist_checkerr_8_5_3() {
    check(
        "regist_checkerr.eml",
        regist(
            CheckResult::CheckErr {
                file_count: 3,
                code: code("A22222"),
            },
            None,
            None,
        ),
    );
}

#[test]
fn example2_regist_dataerr_8_5_3() {
    check(
        "regist_example2.eml",
        regist(three_files(false), None, Some("transmitinfo_example2.txt")),
    );
}

#[test]
fn example3_regist_format_errors_8_5_3() {
    check(
        "regist_example3.eml",
        regist(
            three_files(true),
            Some("csverr_example3.txt"),
            Some("transmitinfo_example3.txt"),
        ),
    );
}

#[test]
fn deleteregist_nodata_8_6() {
    check(
        "deleteregist_nodata.eml",
        Message::DeleteRegist(DeleteRegist {
            environment: Environment::Production,
            to: addr("J13123456780"),
            from: addr("transmit"),
            date: date("Thu, 08 Apr 2004 19:45:00 +0900"),
            number: number("13123456780000000003"),
            cancelled: number("13123456780000000000"),
            result: CancelResult::NoData(kx_denso::ErrorCode::CancelNoData.into()),
            version: Some(DENSO_VERSION.into()),
        }),
    );
}

#[test]
fn example_service_notice_7() {
    check(
        "service_notice.eml",
        Message::ServiceNotice(ServiceNotice {
            to: addr("J13123456780"),
            from: addr("transmit"),
            date: date("Thu, 08 Apr 2004 16:00:03 +0900"),
            name: "ExchangeInfo".into(),
            location: "/kaigo/exchangeinfo322".into(),
        }),
    );
}

#[test]
fn example_upstream_10_2_9() {
    check(
        "upstream_samplemail.eml",
        Message::Upstream(Upstream {
            from: Mailbox::new("K00000000990@hoken.xxx.kokuho"),
            to: Mailbox::new("info_hanyo@hoken.xxx.kokuho"),
            date: date("Thu, 08 Apr 2004 19:27:51 +0900"),
            kind: "SampleMail".into(),
            unique: "00000000993333333333".into(),
            parameter: Some("0001".into()),
            body: "事業所宛事務連絡を参考資料として送付します。よろしくお願いします。".into(),
            files: vec![Attachment::new("xxx.doc", b"sample document\r\n".to_vec())],
        }),
    );
    assert_clean("upstream_samplemail.eml", ClientKind::Upstream);
}

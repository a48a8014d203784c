//! Properties over arbitrary valid messages: what the builders write, the parsers read back
//! unchanged, and `inspect` finds nothing wrong with a built client message. Neither `inspect`
//! nor `parse` panics on any bytes.

use chrono::{DateTime, FixedOffset, TimeZone};
use kx_denso::message::{
    Accept, ArrivalResult, Attachment, CancelResult, CheckResult, Code, Contact, DataDelete,
    DataSend, DeleteRegist, Environment, FileReceipt, FileResult, Regist, ResultMessage,
    ServiceNotice, Upstream,
};
use kx_denso::{
    AccountId, Context, Mailbox, Message, OrgKind, OrgNumber, TransmissionNumber, inspect,
};
use proptest::collection::{btree_set, vec};
use proptest::prelude::*;
use proptest::sample::select;

fn org(kinds: &'static [OrgKind]) -> impl Strategy<Value = OrgNumber> {
    select(kinds).prop_flat_map(|kind| {
        let digits = format!("[1-9][0-9]{{{}}}", kind.number_len() - 1);
        proptest::string::string_regex(&digits)
            .expect("a valid pattern")
            .prop_map(move |n| OrgNumber::new(kind, &n).expect("generated to the rules"))
    })
}

fn account(kinds: &'static [OrgKind]) -> impl Strategy<Value = AccountId> {
    org(kinds).prop_flat_map(|org| {
        let seqs: Vec<char> = org.kind().seq_alphabet().chars().collect();
        select(seqs).prop_map(move |seq| org.account(seq).expect("seq from the alphabet"))
    })
}

fn number_of(org: &OrgNumber) -> impl Strategy<Value = TransmissionNumber> + use<> {
    let org = org.clone();
    "[0-9A-Z]{10}".prop_map(move |serial| TransmissionNumber::new(&org, &serial).expect("valid"))
}

fn any_number() -> impl Strategy<Value = TransmissionNumber> {
    "[0-9A-Z]{20}".prop_map(|n| n.parse().expect("valid"))
}

fn date() -> impl Strategy<Value = DateTime<FixedOffset>> {
    (946_684_800i64..4_102_444_800, -720i32..=840).prop_map(|(secs, minutes)| {
        FixedOffset::east_opt(minutes * 60)
            .expect("in range")
            .timestamp_opt(secs, 0)
            .single()
            .expect("a valid instant")
    })
}

fn domain() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,7}(\\.[a-z][a-z0-9]{0,7}){1,3}"
}

fn description() -> impl Strategy<Value = Option<String>> {
    proptest::option::of("[A-Za-z0-9 あ-んア-ン漢字]{1,12}")
}

/// Text ISO-2022-JP can carry, over several lines, without a final line break.
fn jis_text() -> impl Strategy<Value = String> {
    vec("[ -~ぁ-んァ-ヶ請求書給付管理票事業所保険者連合会送付資料月日時締切漢字０-９、。（）：]{0,40}", 0..4).prop_map(|lines| lines.join("\n"))
}

fn code() -> impl Strategy<Value = Code> {
    "[A-Z0-9]{6}".prop_map(|c| Code::parse(&c).expect("six characters"))
}

/// Attachments named `names`, each holding up to `max_size` random bytes.
fn attached(names: Vec<String>, max_size: usize) -> impl Strategy<Value = Vec<Attachment>> {
    let count = names.len();
    vec(vec(any::<u8>(), 0..max_size), count).prop_map(move |datas| {
        names
            .iter()
            .zip(datas)
            .map(|(n, d)| Attachment::new(n.clone(), d))
            .collect()
    })
}

/// Data file names unique without regard to case, as `inspect` demands (`4.CSV` and `4.csv`
/// are one name): drawn unique in lower case, then some written in upper case.
fn data_files() -> impl Strategy<Value = Vec<Attachment>> {
    let name = prop_oneof!["[a-z0-9]{1,8}\\.csv", "[a-z0-9]{1,20}\\.lzh"];
    btree_set(name, 1..5)
        .prop_flat_map(|names| {
            let count = names.len();
            (Just(names), vec(any::<bool>(), count))
        })
        .prop_flat_map(|(names, upper)| {
            let names = names
                .into_iter()
                .zip(upper)
                .map(|(n, upper)| if upper { n.to_ascii_uppercase() } else { n })
                .collect();
            attached(names, 600)
        })
}

/// Unique names, as for data files: `inspect` refuses a message naming a file twice.
fn other_files() -> impl Strategy<Value = Vec<Attachment>> {
    // No .lzh: random bytes are no archive (attached archives have their own test).
    btree_set("[a-z0-9]{1,8}\\.(doc|pdf|txt|csv)", 0..3)
        .prop_flat_map(|names| attached(names.into_iter().collect(), 300))
}

fn data_send() -> impl Strategy<Value = DataSend> {
    (
        account(&OrgKind::ALL),
        domain(),
        description(),
        date(),
        data_files(),
    )
        .prop_flat_map(|(account, domain, description, date, files)| {
            number_of(account.org()).prop_map(move |number| DataSend {
                from: Mailbox {
                    address: account.address(&domain),
                    description: description.clone(),
                },
                to: Mailbox::new(format!("transmit@{domain}")),
                date,
                number,
                files: files.clone(),
            })
        })
}

fn data_delete() -> impl Strategy<Value = DataDelete> {
    (account(&OrgKind::ALL), domain(), date()).prop_flat_map(|(account, domain, date)| {
        (number_of(account.org()), number_of(account.org())).prop_map(move |(number, cancel)| {
            DataDelete {
                from: Mailbox::new(account.address(&domain)),
                to: Mailbox::new(format!("transmit@{domain}")),
                date,
                number,
                cancel,
            }
        })
    })
}

const NOT_OFFICES: &[OrgKind] = &[
    OrgKind::Prefecture,
    OrgKind::Insurer,
    OrgKind::WelfareOffice,
];

fn upstream() -> impl Strategy<Value = Upstream> {
    (
        account(NOT_OFFICES),
        domain(),
        date(),
        "U[A-Za-z0-9]{0,19}",
        "[A-Za-z0-9]{20}",
        proptest::option::of("[!-~]{1,30}"),
        jis_text(),
        other_files(),
    )
        .prop_map(
            |(account, domain, date, kind, unique, parameter, body, files)| Upstream {
                from: Mailbox::new(account.address(&domain)),
                to: Mailbox::new(format!("info_hanyo@{domain}")),
                date,
                kind,
                unique,
                parameter,
                body,
                files,
            },
        )
}

fn environment() -> impl Strategy<Value = Environment> {
    prop_oneof![
        Just(Environment::Production),
        Just(Environment::TestLoopback)
    ]
}

fn version() -> impl Strategy<Value = Option<String>> {
    proptest::option::of("[0-9A-Za-z.]{1,20}")
}

fn accept() -> impl Strategy<Value = Accept> {
    (
        environment(),
        date(),
        proptest::option::of(any_number()),
        proptest::option::of(code()),
        version(),
    )
        .prop_map(|(environment, date, number, code, version)| Accept {
            environment,
            to: "J13123456780@denso.test.kokuho".into(),
            from: "transmit@denso.test.kokuho".into(),
            date,
            number,
            result: code.map_or(ArrivalResult::Success, ArrivalResult::IfErr),
            version,
        })
}

fn file_result() -> impl Strategy<Value = FileResult> {
    prop_oneof![
        any::<bool>().prop_map(|format_error| FileResult::Success { format_error }),
        code().prop_map(FileResult::DataErr),
    ]
}

fn check_result() -> impl Strategy<Value = CheckResult> {
    prop_oneof![
        (0u32..100_000, code())
            .prop_map(|(file_count, code)| CheckResult::CheckErr { file_count, code }),
        btree_set("[A-Za-z0-9]{1,20}\\.(csv|CSV)", 0..30).prop_flat_map(|names| {
            let names: Vec<String> = names.into_iter().collect();
            let n = names.len();
            vec(file_result(), n).prop_map(move |results| CheckResult::Success {
                files: names
                    .iter()
                    .zip(results)
                    .map(|(name, result)| FileReceipt {
                        name: name.clone(),
                        result,
                    })
                    .collect(),
            })
        }),
    ]
}

fn regist() -> impl Strategy<Value = Regist> {
    (
        environment(),
        date(),
        any_number(),
        check_result(),
        vec(any::<u8>(), 1..200),
        proptest::option::of(vec(any::<u8>(), 0..200)),
        version(),
    )
        .prop_map(
            |(environment, date, number, check, csv_err, transmit_info, version)| {
                let has_format_errors = matches!(&check, CheckResult::Success { files }
                if files.iter().any(|f| f.result == FileResult::Success { format_error: true }));
                Regist {
                    environment,
                    to: "H00001234560@denso.test.kokuho".into(),
                    from: "transmit@denso.test.kokuho".into(),
                    date,
                    number,
                    check,
                    csv_err: has_format_errors.then_some(csv_err),
                    transmit_info,
                    version,
                }
            },
        )
}

fn delete_regist() -> impl Strategy<Value = DeleteRegist> {
    let result = prop_oneof![
        Just(CancelResult::Success),
        code().prop_map(CancelResult::IfErr),
        code().prop_map(CancelResult::NoData),
    ];
    (
        environment(),
        date(),
        any_number(),
        any_number(),
        result,
        version(),
    )
        .prop_map(
            |(environment, date, number, cancelled, result, version)| DeleteRegist {
                environment,
                to: "F00121234560@denso.test.kokuho".into(),
                from: "transmit@denso.test.kokuho".into(),
                date,
                number,
                cancelled,
                result,
                version,
            },
        )
}

fn result_message() -> impl Strategy<Value = ResultMessage> {
    (
        date(),
        0u32..100_000,
        "[0-9]{24}\\.lzh",
        vec(any::<u8>(), 0..2000),
        version(),
    )
        .prop_map(|(date, file_count, name, data, version)| ResultMessage {
            to: "K00000000130@denso.test.kokuho".into(),
            from: "transmit@denso.test.kokuho".into(),
            date,
            file_count,
            archive: Attachment::new(name, data),
            version,
        })
}

fn contact() -> impl Strategy<Value = Contact> {
    (
        date(),
        "[ -~ぁ-ん請求書給付管理票事業所保険者連合会送付資料月日時締切漢字０-９]{0,30}",
        jis_text(),
        other_files(),
    )
        .prop_map(|(date, title, body, attachments)| Contact {
            to: "J13123456781@denso.test.kokuho".into(),
            from: "transmit@denso.test.kokuho".into(),
            date,
            title,
            body,
            attachments,
        })
}

fn service_notice() -> impl Strategy<Value = ServiceNotice> {
    (date(), "Info[A-Za-z0-9]{0,12}", "/[a-z0-9_/]{1,40}").prop_map(|(date, name, location)| {
        ServiceNotice {
            to: "J13123456781@denso.test.kokuho".into(),
            from: "transmit@denso.test.kokuho".into(),
            date,
            name,
            location,
        }
    })
}

fn any_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        data_send().prop_map(Message::DataSend),
        data_delete().prop_map(Message::DataDelete),
        upstream().prop_map(Message::Upstream),
        accept().prop_map(Message::Accept),
        regist().prop_map(Message::Regist),
        delete_regist().prop_map(Message::DeleteRegist),
        result_message().prop_map(Message::Result),
        contact().prop_map(Message::Contact),
        service_notice().prop_map(Message::ServiceNotice),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn parse_reads_back_what_build_writes(message in any_message()) {
        let bytes = message.to_bytes().expect("a valid message builds");
        let parsed = Message::parse(&bytes).map_err(|e| TestCaseError::fail(format!("{e}\n{}", String::from_utf8_lossy(&bytes))))?;
        prop_assert_eq!(parsed, message);
    }

    #[test]
    fn built_client_messages_pass_inspect(message in prop_oneof![
        data_send().prop_map(Message::DataSend),
        data_delete().prop_map(Message::DataDelete),
        upstream().prop_map(Message::Upstream),
    ]) {
        let bytes = message.to_bytes().expect("a valid message builds");
        let inspection = inspect(&bytes, &Context::default());
        prop_assert!(inspection.is_valid(), "{:?}\n{}", inspection.violations, String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn nothing_panics_on_damaged_messages(
        message in any_message(),
        cuts in vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = message.to_bytes().expect("a valid message builds");
        for (at, byte) in cuts {
            if bytes.is_empty() { break; }
            let i = at.index(bytes.len());
            if byte % 3 == 0 { bytes.remove(i); } else { bytes[i] = byte; }
        }
        let _ = inspect(&bytes, &Context::default());
        let _ = Message::parse(&bytes);
    }

    #[test]
    fn nothing_panics_on_arbitrary_bytes(bytes in vec(any::<u8>(), 0..2000)) {
        let _ = inspect(&bytes, &Context::default());
        let _ = Message::parse(&bytes);
    }
}

/// Found by the `parse` fuzz target: a stray CR before CRLF in a body made the second parse
/// differ from the first.
#[test]
fn stray_carriage_returns_normalise_once() {
    let contact = Message::Contact(Contact {
        to: "J13123456781@denso.test.kokuho".into(),
        from: "transmit@denso.test.kokuho".into(),
        date: kx_denso::date::parse("Thu, 08 Apr 2004 16:00:03 +0900").expect("a date"),
        title: String::new(),
        body: "a\r\r\nb\rc".into(),
        attachments: vec![],
    });
    let once = Message::parse(&contact.to_bytes().expect("builds")).expect("parses");
    let twice = Message::parse(&once.to_bytes().expect("builds")).expect("parses");
    assert_eq!(once, twice);
}

/// Found by the `parse` fuzz target: a bare CR inside a header value. Reading folds it like any
/// line end; writing refuses a value whose line breaks are not folds.
#[test]
fn bare_carriage_returns_in_headers() {
    let golden = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/accept.eml"
    ))
    .expect("golden");
    let text = String::from_utf8_lossy(&golden)
        .replace("X-DensoVersion: 3.01", "X-DensoVersion: 3.01\r 2");
    let Message::Accept(accept) = Message::parse(text.as_bytes()).expect("parses") else {
        panic!("an Accept");
    };
    assert_eq!(accept.version.as_deref(), Some("3.01 2"));
    let broken = Accept {
        version: Some("3.01\rX".into()),
        ..accept
    };
    assert!(Message::Accept(broken).to_bytes().is_err());
}

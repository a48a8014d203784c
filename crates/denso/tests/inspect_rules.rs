//! One or more negative tests per rule of spec §5: a valid golden message is changed in one
//! place, and `inspect` must report that rule's code. The last test checks that every
//! interface code of the table has a case here.

use std::collections::HashSet;

use kx_denso::inspect::{ClientKind, UsedNumbers};
use kx_denso::{AccountId, Context, ErrorCode, TransmissionNumber, UpstreamDefinition, inspect};

fn golden(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Replaces the first occurrence of `from`, which must be there.
fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .unwrap_or_else(|| panic!("{:?} not in the message", String::from_utf8_lossy(from)));
    [&bytes[..at], to, &bytes[at + from.len()..]].concat()
}

struct Case {
    name: &'static str,
    base: &'static str,
    change: fn(Vec<u8>) -> Vec<u8>,
    expect: ErrorCode,
}

fn datasend_cases() -> Vec<Case> {
    vec![
        Case {
            name: "two spaces after Subject colon",
            base: "datasend.eml",
            change: |m| replace(&m, b"Subject: ", b"Subject:  "),
            expect: ErrorCode::HeaderSpacing,
        },
        Case {
            name: "no space after To colon",
            base: "datasend.eml",
            change: |m| replace(&m, b"To: ", b"To:"),
            expect: ErrorCode::HeaderSpacing,
        },
        Case {
            name: "tab after Date colon",
            base: "datasend.eml",
            change: |m| replace(&m, b"Date: ", b"Date:\t"),
            expect: ErrorCode::HeaderSpacing,
        },
        Case {
            name: "trailing half-width space",
            base: "datasend.eml",
            change: |m| replace(&m, b"DataSend\r\n", b"DataSend \r\n"),
            expect: ErrorCode::HeaderTrailingSpace,
        },
        Case {
            name: "trailing full-width space",
            base: "datasend.eml",
            change: |m| replace(&m, b"+0900\r\n", b"+0900\x81\x40\r\n"),
            expect: ErrorCode::HeaderTrailingSpace,
        },
        Case {
            name: "trailing tab",
            base: "datasend.eml",
            change: |m| replace(&m, b"00002\r\n", b"00002\t\r\n"),
            expect: ErrorCode::HeaderTrailingSpace,
        },
        Case {
            name: "bare LF",
            base: "datasend.eml",
            change: |m| replace(&m, b"MIME-Version: 1.0\r\n", b"MIME-Version: 1.0\n"),
            expect: ErrorCode::LineEnding,
        },
        Case {
            name: "bare CR",
            base: "datasend.eml",
            change: |m| replace(&m, b"MIME-Version: 1.0\r\n", b"MIME-Version: 1.0\r"),
            expect: ErrorCode::LineEnding,
        },
        Case {
            name: "no Subject",
            base: "datasend.eml",
            change: |m| replace(&m, b"Subject: Transmit DataSend\r\n", b""),
            expect: ErrorCode::SubjectMissing,
        },
        Case {
            name: "two spaces inside Subject",
            base: "datasend.eml",
            change: |m| replace(&m, b"Transmit DataSend", b"Transmit  DataSend"),
            expect: ErrorCode::SubjectForm,
        },
        Case {
            name: "no space inside Subject",
            base: "datasend.eml",
            change: |m| replace(&m, b"Transmit DataSend", b"TransmitDataSend"),
            expect: ErrorCode::SubjectForm,
        },
        Case {
            name: "a server message name",
            base: "datasend.eml",
            change: |m| replace(&m, b"Transmit DataSend", b"Transmit Accept"),
            expect: ErrorCode::SubjectForm,
        },
        Case {
            name: "no Date",
            base: "datasend.eml",
            change: |m| replace(&m, b"Date: Thu, 08 Apr 2004 19:27:51 +0900\r\n", b""),
            expect: ErrorCode::DateMissing,
        },
        Case {
            name: "no day of week",
            base: "datasend.eml",
            change: |m| replace(&m, b"Date: Thu, ", b"Date: "),
            expect: ErrorCode::DateForm,
        },
        Case {
            name: "wrong day of week",
            base: "datasend.eml",
            change: |m| replace(&m, b"Date: Thu, ", b"Date: Fri, "),
            expect: ErrorCode::DateForm,
        },
        Case {
            name: "unquoted description in To",
            base: "datasend.eml",
            change: |m| {
                replace(
                    &m,
                    b"To: transmit@denso.test.kokuho",
                    b"To: Transmit <transmit@denso.test.kokuho>",
                )
            },
            expect: ErrorCode::ToForm,
        },
        Case {
            name: "no To",
            base: "datasend.eml",
            change: |m| replace(&m, b"To: transmit@denso.test.kokuho\r\n", b""),
            expect: ErrorCode::ToForm,
        },
        Case {
            name: "From without domain",
            base: "datasend.eml",
            change: |m| {
                replace(
                    &m,
                    b"From: J13123456780@denso.test.kokuho",
                    b"From: J13123456780",
                )
            },
            expect: ErrorCode::FromForm,
        },
        Case {
            name: "description of 41 bytes",
            base: "datasend.eml",
            change: |m| {
                replace(
                    &m,
                    b"From: J13123456780@denso.test.kokuho",
                    format!(
                        "From: \"{}\" <J13123456780@denso.test.kokuho>",
                        "x".repeat(39)
                    )
                    .as_bytes(),
                )
            },
            expect: ErrorCode::DescriptionTooLong,
        },
        Case {
            name: "To another address",
            base: "datasend.eml",
            change: |m| replace(&m, b"To: transmit@", b"To: transmitx@"),
            expect: ErrorCode::WrongRecipient,
        },
        Case {
            name: "From not an account",
            base: "datasend.eml",
            change: |m| replace(&m, b"From: J13123456780@", b"From: someone@"),
            expect: ErrorCode::WrongSender,
        },
        Case {
            name: "MIME-Version 1.1",
            base: "datasend.eml",
            change: |m| replace(&m, b"MIME-Version: 1.0", b"MIME-Version: 1.1"),
            expect: ErrorCode::MimeVersion,
        },
        Case {
            name: "multipart without charset",
            base: "datasend.eml",
            change: |m| {
                replace(
                    &m,
                    b"\";\r\n     charset=iso-2022-jp\r\nContent-Transfer-Encoding: 7bit",
                    b"\"\r\nContent-Transfer-Encoding: 7bit",
                )
            },
            expect: ErrorCode::ContentType,
        },
        Case {
            name: "text/html",
            base: "datasend.eml",
            change: |m| replace(&m, b"multipart/mixed", b"text/html"),
            expect: ErrorCode::ContentType,
        },
        Case {
            name: "first part not text/plain",
            base: "datasend.eml",
            change: |m| {
                replace(
                    &m,
                    b"\r\n\r\n--=_KX_13123456780000000000\r\nContent-Type: text/plain",
                    b"\r\n\r\n--=_KX_13123456780000000000\r\nContent-Type: text/html",
                )
            },
            expect: ErrorCode::BodyPartType,
        },
        Case {
            name: "attachment not octet-stream",
            base: "datasend.eml",
            change: |m| replace(&m, b"application/octet-stream", b"text/csv"),
            expect: ErrorCode::AttachmentType,
        },
        Case {
            name: "attachment without name",
            base: "datasend.eml",
            change: |m| replace(&m, b"name=\"xxxxxxx1.csv\"", b"x=\"xxxxxxx1.csv\""),
            expect: ErrorCode::AttachmentType,
        },
        Case {
            name: "attachment quoted-printable",
            base: "datasend.eml",
            change: |m| replace(&m, b"Encoding: Base64", b"Encoding: quoted-printable"),
            expect: ErrorCode::AttachmentEncoding,
        },
        Case {
            name: "attachment invalid Base64",
            base: "datasend.eml",
            change: |m| replace(&m, b"MSww", b"M!ww"),
            expect: ErrorCode::AttachmentEncoding,
        },
        Case {
            name: "message 8bit",
            base: "datasend.eml",
            change: |m| replace(&m, b"Encoding: 7bit", b"Encoding: 8bit"),
            expect: ErrorCode::BodyEncoding,
        },
        Case {
            name: "8-bit text body",
            base: "datadelete.eml",
            change: |mut m| {
                m.extend_from_slice(b"\x82\xa0\r\n");
                m
            },
            expect: ErrorCode::BodyEncoding,
        },
        Case {
            name: "header not Shift_JIS",
            base: "datasend.eml",
            change: |m| {
                replace(
                    &m,
                    b"To: transmit@denso.test.kokuho\r\n",
                    b"To: transmit@denso.test.kokuho\r\nX-Note: \xff\xfe\r\n",
                )
            },
            expect: ErrorCode::HeaderCharset,
        },
        Case {
            name: "body not ISO-2022-JP",
            base: "datadelete.eml",
            change: |mut m| {
                m.extend_from_slice(b"\x1b$B\x21\r\n");
                m
            },
            expect: ErrorCode::BodyCharset,
        },
        Case {
            name: "line without colon",
            base: "datasend.eml",
            change: |m| {
                replace(
                    &m,
                    b"MIME-Version: 1.0\r\n",
                    b"MIME-Version: 1.0\r\nnot a header\r\n",
                )
            },
            expect: ErrorCode::Rfc2822,
        },
        Case {
            name: "Subject twice",
            base: "datasend.eml",
            change: |m| {
                replace(
                    &m,
                    b"Subject: Transmit DataSend\r\n",
                    b"Subject: Transmit DataSend\r\nSubject: Transmit DataSend\r\n",
                )
            },
            expect: ErrorCode::Rfc2822,
        },
        Case {
            name: "line of 999 characters",
            base: "datasend.eml",
            change: |m| {
                replace(
                    &m,
                    b"To: transmit@denso.test.kokuho\r\n",
                    format!(
                        "To: transmit@denso.test.kokuho\r\nX-Long: {}\r\n",
                        "a".repeat(991)
                    )
                    .as_bytes(),
                )
            },
            expect: ErrorCode::Rfc2822,
        },
        Case {
            name: "no closing boundary",
            base: "datasend.eml",
            change: |m| replace(&m, b"--=_KX_13123456780000000000--\r\n", b""),
            expect: ErrorCode::Multipart,
        },
        Case {
            name: "no X-IFArea",
            base: "datasend.eml",
            change: |m| replace(&m, b"X-IFArea: 13123456780000000000,00002\r\n", b""),
            expect: ErrorCode::IfAreaMissing,
        },
        Case {
            name: "file count of one digit",
            base: "datasend.eml",
            change: |m| replace(&m, b",00002", b",2"),
            expect: ErrorCode::DataSendIfArea,
        },
        Case {
            name: "three IFArea fields",
            base: "datasend.eml",
            change: |m| replace(&m, b",00002", b",00002,x"),
            expect: ErrorCode::DataSendIfArea,
        },
        Case {
            name: "file count differs",
            base: "datasend.eml",
            change: |m| replace(&m, b",00002", b",00003"),
            expect: ErrorCode::FileCount,
        },
        Case {
            name: "lower-case transmission number",
            base: "datasend.eml",
            change: |m| {
                replace(
                    &m,
                    b"X-IFArea: 1312345678000000000",
                    b"X-IFArea: 131234567800000000a",
                )
            },
            expect: ErrorCode::TransmissionNumberForm,
        },
        Case {
            name: "another org's number",
            base: "datasend.eml",
            change: |m| replace(&m, b"X-IFArea: 1312345678", b"X-IFArea: 1312345679"),
            expect: ErrorCode::TransmissionNumberOrg,
        },
        Case {
            name: "CSV name of 9 characters",
            base: "datasend.eml",
            change: |m| replace(&m, b"xxxxxxx1.csv", b"xxxxxxxx1.csv"),
            expect: ErrorCode::FileName,
        },
        Case {
            name: "CSV name with underscore",
            base: "datasend.eml",
            change: |m| replace(&m, b"xxxxxxx1.csv", b"xxxxxx_1.csv"),
            expect: ErrorCode::FileName,
        },
        Case {
            name: "TXT extension",
            base: "datasend.eml",
            change: |m| replace(&m, b"xxxxxxx1.csv", b"xxxxxxx1.txt"),
            expect: ErrorCode::FileName,
        },
        Case {
            name: "same name twice",
            base: "datasend.eml",
            change: |m| replace(&m, b"xxxxxxx2.csv", b"XXXXXXX1.CSV"),
            expect: ErrorCode::DuplicateFileName,
        },
    ]
}

fn other_cases() -> Vec<Case> {
    vec![
        Case {
            name: "DataDelete with one field",
            base: "datadelete.eml",
            change: |m| replace(&m, b",13123456780000000002", b""),
            expect: ErrorCode::DataDeleteIfArea,
        },
        Case {
            name: "DataDelete cancelling a malformed number",
            base: "datadelete.eml",
            change: |m| replace(&m, b",13123456780000000002", b",1312345678000000002"),
            expect: ErrorCode::TransmissionNumberForm,
        },
        Case {
            name: "DataDelete with attachments",
            base: "datasend.eml",
            change: |m| {
                replace(
                    &replace(&m, b"Transmit DataSend", b"Transmit DataDelete"),
                    b",00002",
                    b",13123456780000000009",
                )
            },
            expect: ErrorCode::DataDeleteAttachment,
        },
        Case {
            name: "DataSend without file",
            base: "datadelete.eml",
            change: |m| {
                replace(
                    &replace(&m, b"Transmit DataDelete", b"Transmit DataSend"),
                    b",13123456780000000002",
                    b",00000",
                )
            },
            expect: ErrorCode::NoDataFile,
        },
        Case {
            name: "upstream name of 21 characters",
            base: "upstream_samplemail.eml",
            change: |m| {
                replace(
                    &m,
                    b"Transmit SampleMail",
                    b"Transmit SampleMail0123456789a",
                )
            },
            expect: ErrorCode::UpstreamName,
        },
        Case {
            name: "upstream unique number of 19",
            base: "upstream_samplemail.eml",
            change: |m| replace(&m, b"00000000993333333333,", b"0000000099333333333,"),
            expect: ErrorCode::UpstreamIfArea,
        },
        Case {
            name: "upstream parameter of 31",
            base: "upstream_samplemail.eml",
            change: |m| replace(&m, b",0001", format!(",{}", "p".repeat(31)).as_bytes()),
            expect: ErrorCode::UpstreamIfArea,
        },
        Case {
            name: "upstream with a .bat",
            base: "upstream_samplemail.eml",
            change: |m| replace(&m, b"xxx.doc", b"xxx.bat"),
            expect: ErrorCode::ForbiddenExtension,
        },
        Case {
            name: "upstream from an office",
            base: "upstream_samplemail.eml",
            change: |m| replace(&m, b"From: K00000000990@", b"From: J13123456780@"),
            expect: ErrorCode::UpstreamFromOffice,
        },
    ]
}

#[test]
fn the_unchanged_bases_are_clean() {
    for base in ["datasend.eml", "datadelete.eml", "upstream_samplemail.eml"] {
        let inspection = inspect(&golden(base), &Context::default());
        assert!(inspection.is_valid(), "{base}: {:?}", inspection.violations);
    }
}

#[test]
fn each_change_reports_its_rule() {
    for case in datasend_cases().into_iter().chain(other_cases()) {
        let message = (case.change)(golden(case.base));
        let inspection = inspect(&message, &Context::default());
        assert!(
            inspection.violations.iter().any(|v| v.code == case.expect),
            "{}: expected {} in {:?}",
            case.name,
            case.expect,
            inspection.violations
        );
    }
}

#[test]
fn subject_rules_decide_the_kind() {
    let unknown = replace(
        &golden("datasend.eml"),
        b"Transmit DataSend",
        b"Transmit  DataSend",
    );
    let inspection = inspect(&unknown, &Context::default());
    assert_eq!(inspection.kind, ClientKind::Unknown);
    let data_send = inspect(&golden("datasend.eml"), &Context::default());
    assert_eq!(data_send.kind, ClientKind::DataSend);
    assert_eq!(
        data_send.transmission_number.as_deref(),
        Some("13123456780000000000")
    );
}

#[test]
fn every_violation_is_reported_not_just_the_first() {
    let mut message = golden("datasend.eml");
    message = replace(&message, b"Subject: ", b"Subject:  ");
    message = replace(&message, b"Date: Thu, ", b"Date: ");
    message = replace(&message, b"xxxxxxx2.csv", b"xxxxxxx2.exe");
    message = replace(&message, b",00002", b",00003");
    let codes: Vec<ErrorCode> = inspect(&message, &Context::default())
        .violations
        .iter()
        .map(|v| v.code)
        .collect();
    for expected in [
        ErrorCode::HeaderSpacing,
        ErrorCode::DateForm,
        ErrorCode::FileCount,
        ErrorCode::FileName,
    ] {
        assert!(
            codes.contains(&expected),
            "{expected} missing from {codes:?}"
        );
    }
}

struct Used;

impl UsedNumbers for Used {
    fn number_used(&self, number: &TransmissionNumber) -> bool {
        number.as_str() == "13123456780000000000"
    }

    fn unique_used(&self, kind: &str, unique: &str) -> bool {
        kind == "SampleMail" && unique == "00000000993333333333"
    }
}

fn codes_with(message: &[u8], context: &Context<'_>) -> Vec<ErrorCode> {
    inspect(message, context)
        .violations
        .iter()
        .map(|v| v.code)
        .collect()
}

#[test]
fn context_rules() {
    let account: AccountId = "J13123456781".parse().expect("an account");
    let context = Context {
        account: Some(&account),
        domain: Some("denso.test.kokuho"),
        transmit_address: Some("transmit@denso.test.kokuho"),
        ..Context::default()
    };
    assert_eq!(
        codes_with(&golden("datasend.eml"), &context),
        [ErrorCode::WrongSender]
    );

    let master: AccountId = "J13123456780".parse().expect("an account");
    let used = Used;
    let context = Context {
        account: Some(&master),
        domain: Some("denso.test.kokuho"),
        transmit_address: Some("submit@denso.test.kokuho"),
        used: Some(&used),
        ..Context::default()
    };
    assert_eq!(
        codes_with(&golden("datasend.eml"), &context),
        [ErrorCode::WrongRecipient, ErrorCode::TransmissionNumberUsed]
    );
    // A cancel may name a used number: that is what it is for.
    let context = Context {
        transmit_address: Some("transmit@denso.test.kokuho"),
        ..context
    };
    let delete = replace(
        &golden("datadelete.eml"),
        b",13123456780000000002",
        b",13123456780000000000",
    );
    assert_eq!(codes_with(&delete, &context), []);
}

#[test]
fn upstream_definitions() {
    let upstream = golden("upstream_samplemail.eml");
    let definition = |max_files, extensions: Option<Vec<String>>| UpstreamDefinition {
        name: "SampleMail".into(),
        to: "info_hanyo@hoken.xxx.kokuho".into(),
        max_files,
        max_bytes: Some(100),
        extensions,
    };
    let defined = [definition(Some(1), Some(vec!["doc".into()]))];
    let with = |defs: &[UpstreamDefinition]| {
        codes_with(
            &upstream,
            &Context {
                upstream: Some(defs),
                ..Context::default()
            },
        )
    };
    assert_eq!(with(&defined), []);
    assert_eq!(with(&[]), [ErrorCode::UpstreamUndefined]);
    assert_eq!(
        with(&[definition(Some(0), None)]),
        [ErrorCode::UpstreamLimits]
    );
    assert_eq!(
        with(&[definition(None, Some(vec!["pdf".into()]))]),
        [ErrorCode::UpstreamLimits]
    );
    let moved = [UpstreamDefinition {
        to: "other@hoken.xxx.kokuho".into(),
        ..definition(None, None)
    }];
    assert_eq!(with(&moved), [ErrorCode::WrongRecipient]);
    let used = Used;
    let context = Context {
        upstream: Some(&defined),
        used: Some(&used),
        ..Context::default()
    };
    assert_eq!(
        codes_with(&upstream, &context),
        [ErrorCode::UniqueNumberUsed]
    );
}

/// The §10.2.9 sample with its attachment replaced by an LZH archive.
fn upstream_with_lzh(archive: Vec<u8>) -> Vec<u8> {
    use kx_denso::message::{Attachment, Message};
    let Ok(Message::Upstream(mut notice)) = Message::parse(&golden("upstream_samplemail.eml"))
    else {
        panic!("the golden upstream notice parses");
    };
    notice.files = vec![Attachment::new("docs.lzh", archive)];
    Message::Upstream(notice).to_bytes().expect("builds")
}

fn lzh_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = kx_lzh::Writer::new(Vec::new());
    for (name, data) in files {
        writer
            .add_file(name, std::time::SystemTime::UNIX_EPOCH, data)
            .expect("adds");
    }
    writer.finish().expect("finishes")
}

#[test]
fn attached_lzh_contents_obey_the_rules() {
    let clean = upstream_with_lzh(lzh_of(&[("memo.txt", b"fine")]));
    assert_eq!(codes_with(&clean, &Context::default()), []);

    let hidden = upstream_with_lzh(lzh_of(&[("memo.txt", b"fine"), ("run.bat", b"@echo off")]));
    let inspection = inspect(&hidden, &Context::default());
    assert_eq!(inspection.first_code(), Some(ErrorCode::ForbiddenExtension));
    assert_eq!(inspection.violations[0].detail, "docs.lzh/run.bat");

    let broken = upstream_with_lzh(b"not an archive at all".to_vec());
    assert_eq!(
        codes_with(&broken, &Context::default()),
        [ErrorCode::AttachedLzh]
    );

    // The definition's limits apply to the archive and to what it holds.
    let definitions = [UpstreamDefinition {
        name: "SampleMail".into(),
        to: "info_hanyo@hoken.xxx.kokuho".into(),
        max_files: None,
        max_bytes: None,
        extensions: Some(vec!["lzh".into(), "pdf".into()]),
    }];
    let context = Context {
        upstream: Some(&definitions),
        ..Context::default()
    };
    assert_eq!(codes_with(&clean, &context), [ErrorCode::UpstreamLimits]);
}

/// The §10.2.9 sample with its attachment replaced by the LZH archives `archives`.
fn upstream_with_archives(archives: &[Vec<u8>]) -> Vec<u8> {
    use kx_denso::message::{Attachment, Message};
    let Ok(Message::Upstream(mut notice)) = Message::parse(&golden("upstream_samplemail.eml"))
    else {
        panic!("the golden upstream notice parses");
    };
    notice.files = archives
        .iter()
        .enumerate()
        .map(|(i, archive)| Attachment::new(format!("part{i}.lzh"), archive.clone()))
        .collect();
    Message::Upstream(notice).to_bytes().expect("builds")
}

#[test]
fn the_archives_of_a_message_share_one_decompression_budget() {
    let limits = kx_lzh::Limits {
        max_total_size: 3 << 20,
        ..kx_lzh::Limits::default()
    };
    let context = Context {
        unpack_limits: limits,
        ..Context::default()
    };
    let noise: Vec<u8> = (0..1u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let archive = lzh_of(&[("noise.bin", &noise)]);
    // Each archive alone is far inside the budget; four of them together are not.
    assert_eq!(
        codes_with(
            &upstream_with_archives(std::slice::from_ref(&archive)),
            &context
        ),
        []
    );
    let four = upstream_with_archives(&vec![archive; 4]);
    let inspection = inspect(&four, &context);
    assert_eq!(inspection.first_code(), Some(ErrorCode::UpstreamLimits));
    assert!(
        inspection.violations[0].detail.starts_with("part3.lzh: "),
        "{:?}",
        inspection.violations
    );

    // A bomb: far beyond the ratio at its header, refused before it is decoded.
    let bomb = upstream_with_lzh(lzh_of(&[("zeros.txt", &vec![0u8; 64 << 20])]));
    assert!(bomb.len() < 1 << 20);
    assert_eq!(
        codes_with(&bomb, &Context::default()),
        [ErrorCode::UpstreamLimits]
    );
}

#[test]
fn claimed_numbers_are_read_from_the_header_alone() {
    let datasend = golden("datasend.eml");
    let number = inspect(&datasend, &Context::default())
        .transmission_number
        .expect("a number");
    assert_eq!(
        kx_denso::claimed(&datasend),
        kx_denso::Claimed {
            number: Some(number.parse().expect("valid")),
            file_count: Some(2),
            unique: None
        }
    );
    let upstream = golden("upstream_samplemail.eml");
    let claimed = kx_denso::claimed(&upstream);
    assert_eq!(claimed.number, None);
    let (kind, unique) = claimed.unique.expect("a unique number");
    assert_eq!(kind, "SampleMail");
    assert_eq!(unique.len(), 20);
    assert_eq!(
        kx_denso::claimed(b"Subject: Transmit Accept\r\n\r\n"),
        kx_denso::Claimed::default()
    );
}

#[test]
fn every_interface_code_has_a_negative_test() {
    let mut covered: HashSet<ErrorCode> = datasend_cases()
        .into_iter()
        .chain(other_cases())
        .map(|c| c.expect)
        .collect();
    // Covered by the context tests above.
    covered.extend([
        ErrorCode::AttachedLzh,
        ErrorCode::TransmissionNumberUsed,
        ErrorCode::UpstreamUndefined,
        ErrorCode::UpstreamLimits,
        ErrorCode::UniqueNumberUsed,
    ]);
    let missing: Vec<&str> = ErrorCode::ALL
        .iter()
        .filter(|c| c.code().starts_with("A1") && **c != ErrorCode::CancelNoData)
        .filter(|c| !covered.contains(c))
        .map(|c| c.code())
        .collect();
    assert!(missing.is_empty(), "no negative test for {missing:?}");
}

#[test]
fn upstream_definitions_follow_the_naming_rule() {
    let definition = |name: &str, extensions: Option<Vec<&str>>| UpstreamDefinition {
        name: name.into(),
        to: "info@denso.test.kokuho".into(),
        max_files: None,
        max_bytes: None,
        extensions: extensions.map(|list| list.into_iter().map(String::from).collect()),
    };
    let checked = definition("SampleMail", Some(vec![".PDF", "csv"]))
        .checked()
        .expect("a valid definition");
    assert_eq!(checked.extensions, Some(vec!["pdf".into(), "csv".into()]));
    assert!(definition(&"A".repeat(20), None).checked().is_ok());
    for bad in ["", "Sample Mail", "サンプル", &"A".repeat(21)] {
        assert!(definition(bad, None).checked().is_err(), "{bad:?}");
    }
    for bad in ["", ".", "p-f", "pdf "] {
        assert!(
            definition("Kind", Some(vec![bad])).checked().is_err(),
            "{bad:?}"
        );
    }
}

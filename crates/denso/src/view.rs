//! The JSON views of every 電文 (`kx denso parse --json`), of an inspection (`kx denso check
//! --json`) and of the error-code table (`kx denso codes --json`): one flat shape for every
//! kind, so a script reads the same keys whatever it was handed.

use serde::Serialize;

use crate::codes::ErrorCode;
use crate::inspect::Inspection;
use crate::message::{
    Attachment, CSV_ERR_NAME, CheckResult, Code, DeleteRegist, Environment, FileResult, Message,
    MessageKind, Regist, TRANSMIT_INFO_NAME,
};

/// A message as JSON; fields a kind does not have are null or empty.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MessageView {
    /// The kind.
    pub kind: Option<MessageKind>,
    /// `production` or `test` (the test loopback environment).
    pub environment: &'static str,
    /// The recipient.
    pub to: String,
    /// The sender.
    pub from: String,
    /// The Date header as written.
    pub date: String,
    /// The 伝送整理番号.
    pub transmission_number: Option<String>,
    /// The result word (`Success`, `IFErr`, `CheckErr`, `NoData`).
    pub result: Option<&'static str>,
    /// The number of files.
    pub file_count: Option<u32>,
    /// The files with their results (Regist) or names (DataSend).
    pub files: Vec<FileView>,
    /// The X-Ex1 code.
    pub ex1: Option<String>,
    /// Its English text, when the table knows it.
    pub ex1_message_en: Option<&'static str>,
    /// Its Japanese text, when the table knows it.
    pub ex1_message_ja: Option<&'static str>,
    /// X-Ex2: the files answered DataErr with their codes.
    pub ex2: Vec<Ex2View>,
    /// X-Ex3: the files with format errors.
    pub ex3: Vec<String>,
    /// DataDelete / DeleteRegist: the number cancelled.
    pub cancelled_number: Option<String>,
    /// X-DensoVersion.
    pub version: Option<String>,
    /// Contact: the title; service notice: the name.
    pub title: Option<String>,
    /// The body.
    pub body: Option<String>,
    /// Upstream: 独自情報名.
    pub upstream_kind: Option<String>,
    /// Upstream: 一意番号.
    pub unique_number: Option<String>,
    /// Upstream: the parameter.
    pub parameter: Option<String>,
    /// Service notice: where the data is.
    pub location: Option<String>,
    /// The attachments' names and sizes.
    pub attachments: Vec<AttachmentView>,
}

/// One file of a message.
#[derive(Clone, Debug, Serialize)]
pub struct FileView {
    /// Its name.
    pub name: String,
    /// Regist: `Success` or `DataErr`.
    pub result: Option<&'static str>,
}

/// One X-Ex2 entry.
#[derive(Clone, Debug, Serialize)]
pub struct Ex2View {
    /// The file.
    pub file: String,
    /// Its DataErr code.
    pub code: String,
}

/// One attachment.
#[derive(Clone, Debug, Serialize)]
pub struct AttachmentView {
    /// Its name.
    pub name: String,
    /// Its size in bytes.
    pub size: usize,
}

fn attachments<'a>(list: impl IntoIterator<Item = &'a Attachment>) -> Vec<AttachmentView> {
    list.into_iter()
        .map(|a| AttachmentView {
            name: a.name.clone(),
            size: a.data.len(),
        })
        .collect()
}

fn environment(e: Environment) -> &'static str {
    match e {
        Environment::Production => "production",
        Environment::TestLoopback => "test",
    }
}

impl MessageView {
    /// Sets the result word and, when the result carries one, the X-Ex1 code with its texts.
    fn with_result(mut self, result: &'static str, code: Option<&Code>) -> MessageView {
        self.result = Some(result);
        if let Some(code) = code {
            self.ex1 = Some(code.to_string());
            self.ex1_message_en = code.known().map(ErrorCode::message_en);
            self.ex1_message_ja = code.known().map(ErrorCode::message_ja);
        }
        self
    }
}

impl From<&Message> for MessageView {
    fn from(message: &Message) -> MessageView {
        let base = MessageView {
            kind: Some(message.kind()),
            environment: "production",
            ..MessageView::default()
        };
        let date = crate::date::format;
        match message {
            Message::DataSend(m) => MessageView {
                to: m.to.to_string(),
                from: m.from.to_string(),
                date: date(&m.date),
                transmission_number: Some(m.number.to_string()),
                file_count: Some(m.files.len() as u32),
                files: m
                    .files
                    .iter()
                    .map(|f| FileView {
                        name: f.name.clone(),
                        result: None,
                    })
                    .collect(),
                attachments: attachments(&m.files),
                ..base
            },
            Message::DataDelete(m) => MessageView {
                to: m.to.to_string(),
                from: m.from.to_string(),
                date: date(&m.date),
                transmission_number: Some(m.number.to_string()),
                cancelled_number: Some(m.cancel.to_string()),
                ..base
            },
            Message::Upstream(m) => MessageView {
                to: m.to.to_string(),
                from: m.from.to_string(),
                date: date(&m.date),
                body: Some(m.body.clone()),
                upstream_kind: Some(m.kind.clone()),
                unique_number: Some(m.unique.clone()),
                parameter: m.parameter.clone(),
                attachments: attachments(&m.files),
                ..base
            },
            Message::Accept(m) => MessageView {
                environment: environment(m.environment),
                to: m.to.clone(),
                from: m.from.clone(),
                date: date(&m.date),
                transmission_number: m.number.as_ref().map(ToString::to_string),
                version: m.version.clone(),
                ..base
            }
            .with_result(m.result.as_str(), m.result.code()),
            Message::Regist(m) => regist(m, base),
            Message::DeleteRegist(m) => delete_regist(m, base),
            Message::Result(m) => MessageView {
                to: m.to.clone(),
                from: m.from.clone(),
                date: date(&m.date),
                file_count: Some(m.file_count),
                version: m.version.clone(),
                attachments: attachments([&m.archive]),
                ..base
            },
            Message::Contact(m) => MessageView {
                to: m.to.clone(),
                from: m.from.clone(),
                date: date(&m.date),
                title: Some(m.title.clone()),
                body: Some(m.body.clone()),
                attachments: attachments(&m.attachments),
                ..base
            },
            Message::ServiceNotice(m) => MessageView {
                to: m.to.clone(),
                from: m.from.clone(),
                date: date(&m.date),
                location: Some(m.location.clone()),
                title: Some(m.name.clone()),
                ..base
            },
        }
    }
}

fn regist(m: &Regist, base: MessageView) -> MessageView {
    let mut carried = Vec::new();
    if let Some(csv_err) = &m.csv_err {
        carried.push(AttachmentView {
            name: CSV_ERR_NAME.into(),
            size: csv_err.len(),
        });
    }
    if let Some(info) = &m.transmit_info {
        carried.push(AttachmentView {
            name: TRANSMIT_INFO_NAME.into(),
            size: info.len(),
        });
    }
    let view = MessageView {
        environment: environment(m.environment),
        to: m.to.clone(),
        from: m.from.clone(),
        date: crate::date::format(&m.date),
        transmission_number: Some(m.number.to_string()),
        version: m.version.clone(),
        attachments: carried,
        ..base
    };
    match &m.check {
        CheckResult::CheckErr { file_count, code } => MessageView {
            file_count: Some(*file_count),
            ..view
        }
        .with_result("CheckErr", Some(code)),
        CheckResult::Success { files } => MessageView {
            result: Some("Success"),
            file_count: Some(files.len() as u32),
            files: files
                .iter()
                .map(|f| FileView {
                    name: f.name.clone(),
                    result: Some(match f.result {
                        FileResult::Success { .. } => "Success",
                        FileResult::DataErr(_) => "DataErr",
                    }),
                })
                .collect(),
            ex2: files
                .iter()
                .filter_map(|f| match &f.result {
                    FileResult::DataErr(code) => Some(Ex2View {
                        file: f.name.clone(),
                        code: code.to_string(),
                    }),
                    FileResult::Success { .. } => None,
                })
                .collect(),
            ex3: files
                .iter()
                .filter(|f| matches!(f.result, FileResult::Success { format_error: true }))
                .map(|f| f.name.clone())
                .collect(),
            ..view
        },
    }
}

fn delete_regist(m: &DeleteRegist, base: MessageView) -> MessageView {
    MessageView {
        environment: environment(m.environment),
        to: m.to.clone(),
        from: m.from.clone(),
        date: crate::date::format(&m.date),
        transmission_number: Some(m.number.to_string()),
        cancelled_number: Some(m.cancelled.to_string()),
        version: m.version.clone(),
        ..base
    }
    .with_result(m.result.as_str(), m.result.code())
}

/// An inspection as JSON: `valid` beside the inspection's own fields.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct InspectionView<'a> {
    /// Whether the message breaks no rule.
    pub valid: bool,
    /// The inspection.
    #[serde(flatten)]
    pub inspection: &'a Inspection,
}

impl<'a> From<&'a Inspection> for InspectionView<'a> {
    fn from(inspection: &'a Inspection) -> InspectionView<'a> {
        InspectionView {
            valid: inspection.is_valid(),
            inspection,
        }
    }
}

/// One row of the error-code table as JSON.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct CodeView {
    /// The code.
    pub code: &'static str,
    /// The Japanese text.
    pub message_ja: &'static str,
    /// The English text.
    pub message_en: &'static str,
}

impl From<ErrorCode> for CodeView {
    fn from(code: ErrorCode) -> CodeView {
        CodeView {
            code: code.code(),
            message_ja: code.message_ja(),
            message_en: code.message_en(),
        }
    }
}

/// The whole error-code table, in its order.
pub fn code_table() -> Vec<CodeView> {
    ErrorCode::ALL.iter().copied().map(CodeView::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Mailbox;
    use crate::message::{Contact, DataDelete};

    fn date() -> chrono::DateTime<chrono::FixedOffset> {
        chrono::DateTime::parse_from_rfc3339("2026-04-01T09:30:00+09:00").expect("a date")
    }

    #[test]
    fn a_data_delete_names_both_numbers() {
        let message = Message::DataDelete(DataDelete {
            from: Mailbox::new("1312345678@kokuho.test"),
            to: Mailbox::new("transmit@kokuho.test"),
            date: date(),
            number: "13123456780000000002".parse().expect("a number"),
            cancel: "13123456780000000001".parse().expect("a number"),
        });
        let view = serde_json::to_value(MessageView::from(&message)).expect("JSON");
        assert_eq!(view["kind"], "DataDelete");
        assert_eq!(view["environment"], "production");
        assert_eq!(view["transmission_number"], "13123456780000000002");
        assert_eq!(view["cancelled_number"], "13123456780000000001");
        assert_eq!(view["result"], serde_json::Value::Null);
        assert_eq!(view["files"], serde_json::json!([]));
    }

    #[test]
    fn a_contact_carries_title_body_and_attachment_sizes() {
        let message = Message::Contact(Contact {
            to: "1312345678@kokuho.test".into(),
            from: "transmit@kokuho.test".into(),
            date: date(),
            title: "お知らせ".into(),
            body: "本文".into(),
            attachments: vec![Attachment::new("a.pdf", vec![0; 3])],
        });
        let view = MessageView::from(&message);
        assert_eq!(view.kind, Some(MessageKind::Contact));
        assert_eq!(view.title.as_deref(), Some("お知らせ"));
        assert_eq!(view.attachments.len(), 1);
        assert_eq!(view.attachments[0].size, 3);
    }

    #[test]
    fn the_code_table_carries_both_texts() {
        let table = code_table();
        assert_eq!(table.len(), ErrorCode::ALL.len());
        assert_eq!(table[0].code, ErrorCode::ALL[0].code());
        assert!(!table[0].message_ja.is_empty() && !table[0].message_en.is_empty());
    }
}

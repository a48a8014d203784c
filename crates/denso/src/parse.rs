//! Reading messages: what a client needs from the server's replies, and what the server needs
//! from a client message once [`crate::inspect`] has passed it.
//!
//! Parsing is lenient where the source's own samples are: folded values are unfolded, fields
//! are trimmed around commas, header names match case-insensitively. It is strict where a
//! wrong reading would mislead (a Regist file list that does not pair up, a DataErr without
//! its code).

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset};

use crate::Error;
use crate::address::Mailbox;
use crate::date;
use crate::ident::TransmissionNumber;
use crate::message::{
    Accept, ArrivalResult, Attachment, CSV_ERR_NAME, CancelResult, CheckResult, Code, Contact,
    DataDelete, DataSend, DeleteRegist, Environment, FileReceipt, FileResult, Message, Regist,
    ResultMessage, ServiceNotice, TRANSMIT_INFO_NAME, Upstream,
};
use crate::wire::{
    ContentType, Entity, decode_base64, decode_iso_2022_jp, normalize_newlines, split_multipart,
};

impl Message {
    /// Reads any 電文 from its mail bytes.
    pub fn parse(bytes: &[u8]) -> Result<Message, Error> {
        let mail = Mail::new(bytes)?;
        let (prefix, word) = mail.subject_words()?;
        let environment = match prefix {
            "Transmit" => Environment::Production,
            "Test" => Environment::TestLoopback,
            _ => {
                return Err(parse_error(format!(
                    "the Subject does not start with Transmit or Test: {prefix:?}"
                )));
            }
        };
        let test_word_allowed = matches!(word.as_str(), "Accept" | "Regist" | "DeleteRegist");
        if environment == Environment::TestLoopback && !test_word_allowed {
            return Err(parse_error(format!(
                "no test-environment message is called {word:?}"
            )));
        }
        Ok(match word.as_str() {
            "DataSend" => Message::DataSend(mail.data_send()?),
            "DataDelete" => Message::DataDelete(mail.data_delete()?),
            "Accept" => Message::Accept(mail.accept(environment)?),
            "Regist" => Message::Regist(mail.regist(environment)?),
            "DeleteRegist" => Message::DeleteRegist(mail.delete_regist(environment)?),
            "Result" => Message::Result(mail.result()?),
            "Contact" => Message::Contact(mail.contact()?),
            // A server's service notice names a download location, a path; anything else under
            // `Transmit <name>` is a client's upstream notice.
            _ if mail.ifarea()?.first().is_some_and(|f| f.starts_with('/')) => {
                Message::ServiceNotice(mail.service_notice(word)?)
            }
            _ => Message::Upstream(mail.upstream(word)?),
        })
    }
}

fn parse_error(message: impl Into<String>) -> Error {
    Error::Parse(message.into())
}

/// A message split into headers, text and attachments.
struct Mail<'a> {
    entity: Entity<'a>,
    text: String,
    attachments: Vec<Attachment>,
}

impl<'a> Mail<'a> {
    fn new(bytes: &'a [u8]) -> Result<Mail<'a>, Error> {
        let entity = Entity::parse(bytes, 1);
        let content_type = ContentType::parse(&entity.text("Content-Type").unwrap_or_default());
        let (text, attachments) = if content_type.media_type.starts_with("multipart/") {
            let boundary = content_type
                .param("boundary")
                .ok_or_else(|| parse_error("a multipart message without boundary"))?;
            let multipart = split_multipart(entity.body, entity.body_line, boundary);
            let mut parts = multipart.parts.iter();
            let text = match parts.next() {
                Some(first) => decode_text(first.body)?,
                None => String::new(),
            };
            let attachments = parts.map(attachment).collect::<Result<_, _>>()?;
            (text, attachments)
        } else {
            (decode_text(entity.body)?, Vec::new())
        };
        Ok(Mail {
            entity,
            text,
            attachments,
        })
    }

    fn required(&self, name: &str) -> Result<String, Error> {
        self.entity
            .text(name)
            .ok_or_else(|| parse_error(format!("the {name} header is missing")))
    }

    fn subject_words(&self) -> Result<(&'static str, String), Error> {
        let subject = self.required("Subject")?;
        let mut words = subject.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("Transmit"), Some(word), None) => Ok(("Transmit", word.to_owned())),
            (Some("Test"), Some(word), None) => Ok(("Test", word.to_owned())),
            _ => Err(parse_error(format!("{subject:?} is not a 伝送 Subject"))),
        }
    }

    fn mailbox(&self, name: &str) -> Result<Mailbox, Error> {
        let value = self.required(name)?;
        Mailbox::parse(&value)
            .map_err(|_| parse_error(format!("{name}: {value:?} is not an address")))
    }

    fn address(&self, name: &str) -> Result<String, Error> {
        Ok(self.mailbox(name)?.address)
    }

    fn date(&self) -> Result<DateTime<FixedOffset>, Error> {
        let value = self.required("Date")?;
        date::parse(&value)
            .ok_or_else(|| parse_error(format!("Date: {value:?} is not an RFC 2822 date")))
    }

    fn version(&self) -> Option<String> {
        self.entity.text("X-DensoVersion")
    }

    /// The X-IFArea fields, trimmed around the commas.
    fn ifarea(&self) -> Result<Vec<String>, Error> {
        Ok(fields(&self.required("X-IFArea")?))
    }

    fn ex(&self, n: u8) -> Option<Vec<String>> {
        self.entity
            .text(&format!("X-Ex{n}-IFArea"))
            .map(|v| fields(&v))
    }

    fn ex1(&self) -> Result<Code, Error> {
        let fields = self
            .ex(1)
            .ok_or_else(|| parse_error("X-Ex1-IFArea is missing"))?;
        match fields.as_slice() {
            [code] => code_field(code),
            _ => Err(parse_error("X-Ex1-IFArea holds one code")),
        }
    }

    fn data_send(self) -> Result<DataSend, Error> {
        let [number, _count] = fixed_fields(self.ifarea()?, "DataSend")?;
        Ok(DataSend {
            from: self.mailbox("From")?,
            to: self.mailbox("To")?,
            date: self.date()?,
            number: number_field(&number)?,
            files: self.attachments,
        })
    }

    fn data_delete(self) -> Result<DataDelete, Error> {
        let [number, cancel] = fixed_fields(self.ifarea()?, "DataDelete")?;
        Ok(DataDelete {
            from: self.mailbox("From")?,
            to: self.mailbox("To")?,
            date: self.date()?,
            number: number_field(&number)?,
            cancel: number_field(&cancel)?,
        })
    }

    fn upstream(self, kind: String) -> Result<Upstream, Error> {
        let mut fields = self.ifarea()?.into_iter();
        let unique = fields.next().unwrap_or_default();
        let parameter = fields.collect::<Vec<_>>();
        let parameter = (!parameter.is_empty()).then(|| parameter.join(","));
        Ok(Upstream {
            from: self.mailbox("From")?,
            to: self.mailbox("To")?,
            date: self.date()?,
            kind,
            unique,
            parameter,
            body: strip_last_newline(&self.text).to_owned(),
            files: self.attachments,
        })
    }

    fn accept(self, environment: Environment) -> Result<Accept, Error> {
        let [number, result] = fixed_fields(self.ifarea()?, "Accept")?;
        let number = if number.is_empty() {
            None
        } else {
            Some(number_field(&number)?)
        };
        let result = match result.as_str() {
            "Success" => ArrivalResult::Success,
            "IFErr" => ArrivalResult::IfErr(self.ex1()?),
            other => return Err(parse_error(format!("{other:?} is not an arrival result"))),
        };
        Ok(Accept {
            environment,
            to: self.address("To")?,
            from: self.address("From")?,
            date: self.date()?,
            number,
            result,
            version: self.version(),
        })
    }

    fn regist(self, environment: Environment) -> Result<Regist, Error> {
        let fields = self.ifarea()?;
        let [number, result, file_count] = fields
            .get(..3)
            .and_then(|f| <[String; 3]>::try_from(f.to_vec()).ok())
            .ok_or_else(|| {
                parse_error("a Regist X-IFArea starts with number, result and file count")
            })?;
        let file_count: u32 = file_count
            .parse()
            .map_err(|_| parse_error(format!("{file_count:?} is not a file count")))?;
        let check = match result.as_str() {
            "CheckErr" => CheckResult::CheckErr {
                file_count,
                code: self.ex1()?,
            },
            "Success" => CheckResult::Success {
                files: self.receipts(&fields[3..], file_count)?,
            },
            other => return Err(parse_error(format!("{other:?} is not a check result"))),
        };
        let mut csv_err = None;
        let mut transmit_info = None;
        for attachment in &self.attachments {
            match attachment.name.as_str() {
                CSV_ERR_NAME => csv_err = Some(attachment.data.clone()),
                TRANSMIT_INFO_NAME => transmit_info = Some(attachment.data.clone()),
                other => return Err(parse_error(format!("a Regist does not carry {other:?}"))),
            }
        }
        Ok(Regist {
            environment,
            to: self.address("To")?,
            from: self.address("From")?,
            date: self.date()?,
            number: number_field(&number)?,
            check,
            csv_err,
            transmit_info,
            version: self.version(),
        })
    }

    /// The per-file results of a Success Regist, with the codes of `X-Ex2-IFArea` and the
    /// format-error flags of `X-Ex3-IFArea` joined in.
    fn receipts(&self, pairs: &[String], file_count: u32) -> Result<Vec<FileReceipt>, Error> {
        if !pairs.len().is_multiple_of(2) || pairs.len() / 2 != file_count as usize {
            return Err(parse_error(format!(
                "the Regist announces {file_count} files but lists {} fields after the count",
                pairs.len()
            )));
        }
        let ex2 = self.ex(2).unwrap_or_default();
        if !ex2.len().is_multiple_of(2) {
            return Err(parse_error("X-Ex2-IFArea does not pair files with codes"));
        }
        let codes: HashMap<&str, &str> = ex2
            .chunks(2)
            .map(|p| (p[0].as_str(), p[1].as_str()))
            .collect();
        let ex3 = self.ex(3).unwrap_or_default();
        pairs
            .chunks(2)
            .map(|pair| {
                let name = pair[0].clone();
                let result = match pair[1].as_str() {
                    "Success" => FileResult::Success {
                        format_error: ex3.contains(&name),
                    },
                    "DataErr" => {
                        let code = codes.get(name.as_str()).ok_or_else(|| {
                            parse_error(format!("{name} is DataErr without a code in X-Ex2-IFArea"))
                        })?;
                        FileResult::DataErr(code_field(code)?)
                    }
                    other => return Err(parse_error(format!("{other:?} is not a file result"))),
                };
                Ok(FileReceipt { name, result })
            })
            .collect()
    }

    fn delete_regist(self, environment: Environment) -> Result<DeleteRegist, Error> {
        let [number, cancelled, result] = fixed_fields(self.ifarea()?, "DeleteRegist")?;
        let result = match result.as_str() {
            "Success" => CancelResult::Success,
            "IFErr" => CancelResult::IfErr(self.ex1()?),
            "NoData" => CancelResult::NoData(self.ex1()?),
            other => return Err(parse_error(format!("{other:?} is not a cancel result"))),
        };
        Ok(DeleteRegist {
            environment,
            to: self.address("To")?,
            from: self.address("From")?,
            date: self.date()?,
            number: number_field(&number)?,
            cancelled: number_field(&cancelled)?,
            result,
            version: self.version(),
        })
    }

    fn result(mut self) -> Result<ResultMessage, Error> {
        let [file_count] = fixed_fields(self.ifarea()?, "Result")?;
        let file_count = file_count
            .parse()
            .map_err(|_| parse_error(format!("{file_count:?} is not a file count")))?;
        if self.attachments.len() != 1 {
            return Err(parse_error("a Result carries exactly one archive"));
        }
        let archive = self.attachments.remove(0);
        Ok(ResultMessage {
            to: self.address("To")?,
            from: self.address("From")?,
            date: self.date()?,
            file_count,
            archive,
            version: self.version(),
        })
    }

    fn contact(self) -> Result<Contact, Error> {
        let text = strip_last_newline(&self.text);
        let (title, body) = text.split_once('\n').unwrap_or((text, ""));
        Ok(Contact {
            to: self.address("To")?,
            from: self.address("From")?,
            date: self.date()?,
            title: title.to_owned(),
            body: body.to_owned(),
            attachments: self.attachments,
        })
    }

    fn service_notice(self, name: String) -> Result<ServiceNotice, Error> {
        let [location] = fixed_fields(self.ifarea()?, "service notice")?;
        Ok(ServiceNotice {
            to: self.address("To")?,
            from: self.address("From")?,
            date: self.date()?,
            name,
            location,
        })
    }
}

/// Splits an unfolded IFArea value at its commas, trimming the white space left by folding.
pub(crate) fn fields(value: &str) -> Vec<String> {
    value.split(',').map(|f| f.trim().to_owned()).collect()
}

fn fixed_fields<const N: usize>(fields: Vec<String>, what: &str) -> Result<[String; N], Error> {
    let found = fields.len();
    <[String; N]>::try_from(fields)
        .map_err(|_| parse_error(format!("a {what} X-IFArea has {N} fields, not {found}")))
}

fn number_field(text: &str) -> Result<TransmissionNumber, Error> {
    text.parse()
}

fn code_field(text: &str) -> Result<Code, Error> {
    Code::parse(text).ok_or_else(|| parse_error(format!("{text:?} is not a six-character code")))
}

/// Decodes an ISO-2022-JP text body with `\n` line ends.
fn decode_text(body: &[u8]) -> Result<String, Error> {
    let text =
        decode_iso_2022_jp(body).ok_or_else(|| parse_error("the body is not ISO-2022-JP"))?;
    Ok(normalize_newlines(&text))
}

fn strip_last_newline(text: &str) -> &str {
    text.strip_suffix('\n').unwrap_or(text)
}

/// An attachment part: its name (Content-Type `name`, else Content-Disposition `filename`) and
/// its decoded content.
fn attachment(part: &Entity<'_>) -> Result<Attachment, Error> {
    let content_type = ContentType::parse(&part.text("Content-Type").unwrap_or_default());
    let disposition = ContentType::parse(&part.text("Content-Disposition").unwrap_or_default());
    let name = content_type
        .param("name")
        .or_else(|| disposition.param("filename"))
        .ok_or_else(|| parse_error("an attachment without a name"))?
        .to_owned();
    let encoding = part.text("Content-Transfer-Encoding").unwrap_or_default();
    let data = if encoding.eq_ignore_ascii_case("base64") {
        decode_base64(part.body).ok_or_else(|| parse_error(format!("{name}: invalid Base64")))?
    } else {
        part.body.to_vec()
    };
    Ok(Attachment { name, data })
}

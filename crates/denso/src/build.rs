//! Writing messages in the exact form of spec §5.4(11) and §6.
//!
//! Header order follows the source's samples: To, From, Subject, X-IFArea, X-Ex1/2/3-IFArea,
//! Date, X-DensoVersion, MIME-Version, Content-Type, Content-Transfer-Encoding. Content-Type
//! parameters go on continuation lines indented by five spaces and long IFArea values are
//! folded after a comma with six, as in the samples. Headers are Shift_JIS, bodies ISO-2022-JP,
//! attachments Base64 in 76-character lines, every line ends with CRLF.

use encoding_rs::SHIFT_JIS;

use crate::Error;
use crate::date;
use crate::message::{
    Accept, Attachment, CSV_ERR_NAME, CheckResult, Code, Contact, DataDelete, DataSend,
    DeleteRegist, FileResult, Message, Regist, ResultMessage, ServiceNotice, TRANSMIT_INFO_NAME,
    Upstream,
};
use crate::names::has_forbidden_extension;
use crate::wire::{encode_base64, encode_iso_2022_jp, normalize_newlines};

/// RFC 2822's recommended line length, used to decide when an IFArea value is folded.
const FOLD_WIDTH: usize = 78;
const PARAM_INDENT: &str = "     ";
const IFAREA_INDENT: &str = "      ";
/// The body of Accept, Regist and DeleteRegist: three empty lines (３行空行, §8.4.1).
const THREE_EMPTY_LINES: &str = "\r\n\r\n\r\n";

impl Message {
    /// Writes the message as mail bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        match self {
            Message::DataSend(m) => m.to_bytes(),
            Message::DataDelete(m) => m.to_bytes(),
            Message::Upstream(m) => m.to_bytes(),
            Message::Accept(m) => m.to_bytes(),
            Message::Regist(m) => m.to_bytes(),
            Message::DeleteRegist(m) => m.to_bytes(),
            Message::Result(m) => m.to_bytes(),
            Message::Contact(m) => m.to_bytes(),
            Message::ServiceNotice(m) => m.to_bytes(),
        }
    }
}

impl DataSend {
    /// Writes the DataSend (§5.4(11), multipart sample).
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut w = MessageWriter::new(
            &self.to.to_string(),
            &self.from.to_string(),
            "Transmit DataSend",
        );
        w.ifarea(&[self.number.to_string(), count(self.files.len())], &[]);
        w.date(&self.date);
        w.finish(self.number.as_str(), "", &self.files)
    }
}

impl DataDelete {
    /// Writes the DataDelete (§5.4(11), single-part sample).
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut w = MessageWriter::new(
            &self.to.to_string(),
            &self.from.to_string(),
            "Transmit DataDelete",
        );
        w.ifarea(&[self.number.to_string(), self.cancel.to_string()], &[]);
        w.date(&self.date);
        w.finish(self.number.as_str(), "", &[])
    }
}

impl Upstream {
    /// Writes the upstream notice (§10.2.4).
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let subject = format!("Transmit {}", self.kind);
        let mut w = MessageWriter::new(&self.to.to_string(), &self.from.to_string(), &subject);
        let mut head = vec![self.unique.clone()];
        head.extend(self.parameter.clone());
        w.ifarea(&head, &[]);
        w.date(&self.date);
        w.finish(&self.unique, &text_body(&self.body, None), &self.files)
    }
}

impl Accept {
    /// Writes the Accept (§6.5(9), §8.4).
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let subject = format!("{} Accept", self.environment.subject_prefix());
        let mut w = MessageWriter::new(&self.to, &self.from, &subject);
        let number = self
            .number
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        w.ifarea(&[number, self.result.as_str().into()], &[]);
        w.ex1(self.result.code());
        w.date(&self.date);
        w.version(self.version.as_deref());
        w.finish("Accept", THREE_EMPTY_LINES, &[])
    }
}

impl Regist {
    /// Writes the Regist (§8.5, §9.3), with the extension headers the decision table of §8.5.2
    /// asks for.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let subject = format!("{} Regist", self.environment.subject_prefix());
        let mut w = MessageWriter::new(&self.to, &self.from, &subject);
        let mut attachments = Vec::new();
        match &self.check {
            CheckResult::CheckErr { file_count, code } => {
                w.ifarea(
                    &[
                        self.number.to_string(),
                        "CheckErr".into(),
                        count(*file_count as usize),
                    ],
                    &[],
                );
                w.ex1(Some(code));
                if self.csv_err.is_some() {
                    return Err(Error::Build(
                        "a CheckErr Regist carries no CsvErr.txt".into(),
                    ));
                }
            }
            CheckResult::Success { files } => {
                let pairs: Vec<String> = files
                    .iter()
                    .map(|f| match &f.result {
                        FileResult::Success { .. } => format!("{},Success", f.name),
                        FileResult::DataErr(_) => format!("{},DataErr", f.name),
                    })
                    .collect();
                w.ifarea(
                    &[
                        self.number.to_string(),
                        "Success".into(),
                        count(files.len()),
                    ],
                    &pairs,
                );
                let ex2: Vec<String> = files
                    .iter()
                    .filter_map(|f| match &f.result {
                        FileResult::DataErr(code) => Some(format!("{},{code}", f.name)),
                        FileResult::Success { .. } => None,
                    })
                    .collect();
                let ex3: Vec<String> = files
                    .iter()
                    .filter(|f| matches!(f.result, FileResult::Success { format_error: true }))
                    .map(|f| f.name.clone())
                    .collect();
                w.folded_list("X-Ex2-IFArea", &ex2);
                w.folded_list("X-Ex3-IFArea", &ex3);
                match (&self.csv_err, ex3.is_empty()) {
                    (Some(csv_err), false) => {
                        attachments.push(Attachment::new(CSV_ERR_NAME, csv_err.clone()))
                    }
                    (None, true) => {}
                    (Some(_), true) => {
                        return Err(Error::Build(
                            "CsvErr.txt given but no file has format errors".into(),
                        ));
                    }
                    (None, false) => {
                        return Err(Error::Build(
                            "files have format errors but CsvErr.txt is missing".into(),
                        ));
                    }
                }
            }
        }
        if let Some(info) = &self.transmit_info {
            attachments.push(Attachment::new(TRANSMIT_INFO_NAME, info.clone()));
        }
        w.date(&self.date);
        w.version(self.version.as_deref());
        w.finish(self.number.as_str(), THREE_EMPTY_LINES, &attachments)
    }
}

impl DeleteRegist {
    /// Writes the DeleteRegist (§8.6).
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let subject = format!("{} DeleteRegist", self.environment.subject_prefix());
        let mut w = MessageWriter::new(&self.to, &self.from, &subject);
        w.ifarea(
            &[
                self.number.to_string(),
                self.cancelled.to_string(),
                self.result.as_str().into(),
            ],
            &[],
        );
        w.ex1(self.result.code());
        w.date(&self.date);
        w.version(self.version.as_deref());
        w.finish(self.number.as_str(), THREE_EMPTY_LINES, &[])
    }
}

impl ResultMessage {
    /// Writes the Result (§6.5(9), multipart sample).
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut w = MessageWriter::new(&self.to, &self.from, "Transmit Result");
        w.ifarea(&[count(self.file_count as usize)], &[]);
        w.date(&self.date);
        w.version(self.version.as_deref());
        w.finish(&self.archive.name, "", std::slice::from_ref(&self.archive))
    }
}

impl Contact {
    /// Writes the Contact (§8.3): title on the first body line, the content after it.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        if self.title.contains(['\r', '\n']) {
            return Err(Error::Build("a Contact title is one line".into()));
        }
        if let Some(bad) = self
            .attachments
            .iter()
            .find(|a| has_forbidden_extension(&a.name))
        {
            return Err(Error::Build(format!(
                "{} has an extension a Contact never carries",
                bad.name
            )));
        }
        let mut w = MessageWriter::new(&self.to, &self.from, "Transmit Contact");
        w.date(&self.date);
        w.finish(
            &self.title,
            &text_body(&self.body, Some(&self.title)),
            &self.attachments,
        )
    }
}

impl ServiceNotice {
    /// Writes the service notice (§7.4): the data location in X-IFArea.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let subject = format!("Transmit {}", self.name);
        let mut w = MessageWriter::new(&self.to, &self.from, &subject);
        w.ifarea(std::slice::from_ref(&self.location), &[]);
        w.date(&self.date);
        w.finish(&self.name, THREE_EMPTY_LINES, &[])
    }
}

/// A file count as five digits (`00003`).
fn count(n: usize) -> String {
    format!("{n:05}")
}

/// A text body with CRLF line ends, optionally after a title line.
fn text_body(body: &str, title: Option<&str>) -> String {
    let mut out = String::new();
    if let Some(title) = title {
        out.push_str(title);
        out.push_str("\r\n");
    }
    // The last line always gets its own CRLF, which the parser strips again, so a body that
    // itself ends with a line break keeps it.
    if !body.is_empty() {
        out.push_str(&normalize_newlines(body).replace('\n', "\r\n"));
        out.push_str("\r\n");
    }
    out
}

/// Accumulates a header block, then writes the body and parts.
struct MessageWriter {
    headers: String,
    /// The first header whose value would break the header block (a line break that is not a
    /// fold); reported by `finish`.
    broken: Option<String>,
}

impl MessageWriter {
    fn empty() -> MessageWriter {
        MessageWriter {
            headers: String::new(),
            broken: None,
        }
    }

    fn new(to: &str, from: &str, subject: &str) -> MessageWriter {
        let mut w = MessageWriter::empty();
        w.header("To", to);
        w.header("From", from);
        w.header("Subject", subject);
        w
    }

    fn header(&mut self, name: &str, value: &str) {
        let folds_only = value.split("\r\n").enumerate().all(|(i, line)| {
            !line.contains(['\r', '\n']) && (i == 0 || line.starts_with([' ', '\t']))
        });
        if !folds_only && self.broken.is_none() {
            self.broken = Some(name.to_owned());
        }
        self.headers.push_str(name);
        self.headers.push_str(": ");
        self.headers.push_str(value);
        self.headers.push_str("\r\n");
    }

    fn date(&mut self, date: &chrono::DateTime<chrono::FixedOffset>) {
        self.header("Date", &date::format(date));
    }

    fn ex1(&mut self, code: Option<&Code>) {
        if let Some(code) = code {
            self.header("X-Ex1-IFArea", code.as_str());
        }
    }

    fn version(&mut self, version: Option<&str>) {
        if let Some(v) = version {
            self.header("X-DensoVersion", v);
        }
    }

    /// `X-IFArea: <head…>[,<items…>]`, folded after the head when the line would be too long.
    fn ifarea(&mut self, head: &[String], items: &[String]) {
        self.fold("X-IFArea", &head.join(","), items);
    }

    /// A comma-separated list header, omitted when empty, folded when too long.
    fn folded_list(&mut self, name: &str, items: &[String]) {
        if let Some((first, rest)) = items.split_first() {
            self.fold(name, first, rest);
        }
    }

    /// Writes `name: head,item,item…`; when that exceeds [`FOLD_WIDTH`] the head stays on the
    /// first line and the items continue on lines of at most that width, each break after a
    /// comma (§8.5.3 example 2).
    fn fold(&mut self, name: &str, head: &str, items: &[String]) {
        let whole = std::iter::once(head)
            .chain(items.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(",");
        if name.len() + 2 + whole.len() <= FOLD_WIDTH || items.is_empty() {
            self.header(name, &whole);
            return;
        }
        let mut value = format!("{head},");
        let mut line = String::from(IFAREA_INDENT);
        for (i, item) in items.iter().enumerate() {
            let last = i + 1 == items.len();
            let piece = if last {
                item.clone()
            } else {
                format!("{item},")
            };
            if line.len() > IFAREA_INDENT.len() && line.len() + piece.len() > FOLD_WIDTH {
                value.push_str("\r\n");
                value.push_str(&line);
                line = String::from(IFAREA_INDENT);
            }
            line.push_str(&piece);
        }
        value.push_str("\r\n");
        value.push_str(&line);
        self.header(name, &value);
    }

    /// Writes the MIME headers and the body: single-part `text/plain` without attachments,
    /// otherwise `multipart/mixed` with the text first and one Base64 part per attachment.
    fn finish(
        mut self,
        seed: &str,
        text: &str,
        attachments: &[Attachment],
    ) -> Result<Vec<u8>, Error> {
        let text = encode_iso_2022_jp(text).map_err(|c| {
            Error::Build(format!(
                "the body holds {c:?}, which ISO-2022-JP cannot carry"
            ))
        })?;
        self.header("MIME-Version", "1.0");
        let mut out;
        if attachments.is_empty() {
            self.header(
                "Content-Type",
                &format!("text/plain;\r\n{PARAM_INDENT}charset=iso-2022-jp"),
            );
            self.header("Content-Transfer-Encoding", "7bit");
            out = self.encoded_headers()?;
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(&text);
            return Ok(out);
        }
        let parts: Vec<(&Attachment, String)> = attachments
            .iter()
            .map(|a| (a, encode_base64(&a.data)))
            .collect();
        let boundary = boundary(seed, &text);
        self.header(
            "Content-Type",
            &format!("multipart/mixed;\r\n{PARAM_INDENT}boundary=\"{boundary}\";\r\n{PARAM_INDENT}charset=iso-2022-jp"),
        );
        self.header("Content-Transfer-Encoding", "7bit");
        out = self.encoded_headers()?;
        out.extend_from_slice(b"\r\n");
        let mut part = MessageWriter::empty();
        part.header(
            "Content-Type",
            &format!("text/plain;\r\n{PARAM_INDENT}charset=iso-2022-jp"),
        );
        write_part(&mut out, &boundary, &part.encoded_headers()?, &text);
        for (attachment, base64) in parts {
            if attachment.name.contains(['"', '\r', '\n', '\\']) {
                return Err(Error::Build(format!(
                    "{:?} cannot be an attachment name",
                    attachment.name
                )));
            }
            let mut part = MessageWriter::empty();
            part.header(
                "Content-Type",
                &format!(
                    "application/octet-stream;\r\n{PARAM_INDENT}name=\"{}\"",
                    attachment.name
                ),
            );
            part.header("Content-Transfer-Encoding", "Base64");
            write_part(
                &mut out,
                &boundary,
                &part.encoded_headers()?,
                base64.as_bytes(),
            );
        }
        out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        Ok(out)
    }

    fn encoded_headers(&self) -> Result<Vec<u8>, Error> {
        if let Some(name) = &self.broken {
            return Err(Error::Build(format!("the {name} value holds a line break")));
        }
        let (bytes, _, had_errors) = SHIFT_JIS.encode(&self.headers);
        if had_errors {
            return Err(Error::Build(
                "a header holds text Shift_JIS cannot carry".into(),
            ));
        }
        Ok(bytes.into_owned())
    }
}

/// One body part: delimiter, headers, empty line, content. Non-empty content ends with CRLF
/// and is followed by the empty line of the samples, whose CRLF belongs to the next delimiter.
fn write_part(out: &mut Vec<u8>, boundary: &str, headers: &[u8], content: &[u8]) {
    out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    out.extend_from_slice(headers);
    out.extend_from_slice(b"\r\n");
    if !content.is_empty() {
        out.extend_from_slice(content);
        out.extend_from_slice(b"\r\n");
    }
}

/// A boundary that depends only on the message (so builds are reproducible) and does not occur
/// in its text. Base64 never holds `_`, so attachments cannot collide with it.
fn boundary(seed: &str, text: &[u8]) -> String {
    let base: String = seed
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(40)
        .collect();
    let base = format!("=_KX_{base}");
    let mut candidate = base.clone();
    let mut n = 0;
    while text
        .windows(candidate.len())
        .any(|w| w == candidate.as_bytes())
    {
        n += 1;
        candidate = format!("{base}_{n}");
    }
    candidate
}

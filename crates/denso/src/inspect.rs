//! Checking a client message against every rule of spec §5.
//!
//! [`inspect`] works on the raw bytes because several rules (one space after the colon, no
//! trailing blank, CRLF) vanish in ordinary MIME parsing. It never stops at the first problem:
//! the [`Inspection`] lists every violation, each with its own code, so a user fixes everything
//! in one round. The gateway answers IFErr with the first code.

use std::collections::HashSet;

use serde::{Serialize, Serializer};

use crate::Error;
use crate::address::{Mailbox, MailboxDefect};
use crate::codes::ErrorCode;
use crate::date;
use crate::ident::{AccountId, OrgKind, TransmissionNumber};
use crate::names::{data_file_kind, extension, has_forbidden_extension};
use crate::parse::fields;
use crate::wire::{
    ContentType, Entity, RawHeader, decode_base64, decode_iso_2022_jp, line_ending_defects,
    split_multipart,
};

/// The headers a client sets (§5.4(9)): rule 1 checks their layout, in the message and in its
/// MIME parts, and each may appear only once (RFC 2822 §3.6).
const CLIENT_HEADERS: &[&str] = &[
    "To",
    "From",
    "Subject",
    "Date",
    "X-IFArea",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
];

/// Message names a client cannot use: the server's replies.
const SERVER_WORDS: &[&str] = &["Accept", "Regist", "DeleteRegist", "Result", "Contact"];

/// The longest 独自情報名 (§10.2.4).
pub const MAX_UPSTREAM_NAME: usize = 20;
/// The length of a 一意番号 (§10.2.4).
const UNIQUE_NUMBER_LEN: usize = 20;
/// The longest upstream parameter (§10.2.4).
const MAX_UPSTREAM_PARAMETER: usize = 30;

/// An upstream kind (独自情報) as the federation defines it (§10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamDefinition {
    /// 独自情報名, the word after `Transmit` in the Subject.
    pub name: String,
    /// The address its notices are sent to.
    pub to: String,
    /// The most files one notice may carry.
    pub max_files: Option<usize>,
    /// The largest one file may be, in bytes.
    pub max_bytes: Option<u64>,
    /// The allowed extensions (lower-case, without dot); `None` allows any not forbidden.
    pub extensions: Option<Vec<String>>,
}

impl UpstreamDefinition {
    /// The definition as the federation may define it (§10): a name of 1 to
    /// [`MAX_UPSTREAM_NAME`] ASCII alphanumerics (it is a word of the Subject), and extensions
    /// that are alphanumeric words, taken with or without their dot and in any case and kept
    /// lower-case without it, as [`inspect`] compares them.
    pub fn checked(mut self) -> Result<UpstreamDefinition, Error> {
        if self.name.is_empty()
            || self.name.len() > MAX_UPSTREAM_NAME
            || !self.name.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(Error::Upstream(format!(
                "a kind name is 1 to {MAX_UPSTREAM_NAME} alphanumerics, not {:?}",
                self.name
            )));
        }
        if let Some(extensions) = &mut self.extensions {
            for extension in extensions.iter_mut() {
                let word = extension.trim_start_matches('.').to_ascii_lowercase();
                if word.is_empty() || !word.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(Error::Upstream(format!(
                        "{extension:?} is not an extension"
                    )));
                }
                *extension = word;
            }
        }
        Ok(self)
    }
}

/// What the receiving side knows beyond the message. Every field is optional: without an
/// authenticated account, the `From` address stands in for it.
#[derive(Clone, Copy, Default)]
pub struct Context<'a> {
    /// The message's decompression budget: every LZH it carries is unpacked within one
    /// [`kx_lzh::Budget`] of these limits, all archives together.
    pub unpack_limits: kx_lzh::Limits,
    /// The account that authenticated the SMTP session.
    pub account: Option<&'a AccountId>,
    /// The federation's mail domain.
    pub domain: Option<&'a str>,
    /// The federation's transmit address (To of DataSend and DataDelete).
    pub transmit_address: Option<&'a str>,
    /// The federation's upstream kinds; `None` skips the checks that need them.
    pub upstream: Option<&'a [UpstreamDefinition]>,
    /// The numbers already used, when the receiver keeps them.
    pub used: Option<&'a dyn UsedNumbers>,
}

/// The record of numbers already used, kept by the receiving server (spec §5 rule 10, §10.2.8(3)).
pub trait UsedNumbers: Sync {
    /// Whether the sender's organisation has already used this transmission number.
    fn number_used(&self, number: &TransmissionNumber) -> bool;
    /// Whether this unique number has already been used for this upstream kind.
    fn unique_used(&self, kind: &str, unique: &str) -> bool;
}

/// What kind of client message the Subject says this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum ClientKind {
    /// `Transmit DataSend`.
    DataSend,
    /// `Transmit DataDelete`.
    DataDelete,
    /// `Transmit <独自情報名>`.
    Upstream,
    /// Not recognised as a message of this system.
    Unknown,
}

/// One broken rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Violation {
    /// The rule's code.
    pub code: ErrorCode,
    /// Where and what, for the person fixing it (a header, a line, an attachment name).
    pub detail: String,
}

impl Serialize for Violation {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut s = serializer.serialize_struct("Violation", 4)?;
        s.serialize_field("code", self.code.code())?;
        s.serialize_field("message_ja", self.code.message_ja())?;
        s.serialize_field("message_en", self.code.message_en())?;
        s.serialize_field("detail", &self.detail)?;
        s.end()
    }
}

/// The result of [`inspect`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Inspection {
    /// What the Subject says the message is.
    pub kind: ClientKind,
    /// The transmission number as written in X-IFArea (DataSend, DataDelete), valid or not.
    pub transmission_number: Option<String>,
    /// The upstream kind name, for an upstream notice.
    pub upstream_kind: Option<String>,
    /// Every violation found, in the order of the message.
    pub violations: Vec<Violation>,
}

impl Inspection {
    /// Whether the message breaks no rule.
    pub fn is_valid(&self) -> bool {
        self.violations.is_empty()
    }

    /// The code the server reports in `X-Ex1-IFArea`: the first violation's.
    pub fn first_code(&self) -> Option<ErrorCode> {
        self.violations.first().map(|v| v.code)
    }
}

/// The numbers a client message claims, read from its header alone: what the receiver looks
/// up in its record of used numbers before the one [`inspect`] that needs the answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Claimed {
    /// A DataSend's or DataDelete's transmission number, when it has the right form.
    pub number: Option<TransmissionNumber>,
    /// A DataSend's file count (its X-IFArea's five digits), which a Regist repeats.
    pub file_count: Option<u32>,
    /// An upstream notice's kind (独自情報名) and unique number (一意番号), as written.
    pub unique: Option<(String, String)>,
}

/// What `raw` claims (see [`Claimed`]); nothing for a message whose Subject or X-IFArea
/// cannot be read, which [`inspect`] refuses anyway.
pub fn claimed(raw: &[u8]) -> Claimed {
    let entity = Entity::parse(raw, 1);
    let subject = entity.text("Subject").unwrap_or_default();
    let ifarea = entity
        .header("X-IFArea")
        .map(|h| fields(&h.text_lossy()))
        .unwrap_or_default();
    let mut ifarea = ifarea.into_iter();
    let (first, second) = (ifarea.next(), ifarea.next());
    match (subject.strip_prefix("Transmit "), first) {
        (Some(kind @ ("DataSend" | "DataDelete")), Some(number)) => Claimed {
            number: number.parse().ok(),
            file_count: second
                .filter(|count| {
                    kind == "DataSend"
                        && count.len() == 5
                        && count.bytes().all(|b| b.is_ascii_digit())
                })
                .and_then(|count| count.parse().ok()),
            unique: None,
        },
        (Some(kind), Some(unique)) if !SERVER_WORDS.contains(&kind) => Claimed {
            unique: Some((kind.to_owned(), unique)),
            ..Claimed::default()
        },
        _ => Claimed::default(),
    }
}

/// Checks a client message (DataSend, DataDelete or upstream notice) against spec §5.
pub fn inspect(raw: &[u8], context: &Context<'_>) -> Inspection {
    let mut run = Run {
        context,
        violations: Vec::new(),
        seen: HashSet::new(),
    };
    run.message(raw)
}

/// A single inspection in progress.
struct Run<'c> {
    context: &'c Context<'c>,
    violations: Vec<Violation>,
    seen: HashSet<(ErrorCode, String)>,
}

/// What the MIME structure yielded.
#[derive(Default)]
struct Body {
    multipart: bool,
    attachments: Vec<(String, Option<Vec<u8>>)>,
}

impl Run<'_> {
    fn report(&mut self, code: ErrorCode, detail: impl Into<String>) {
        let detail = detail.into();
        if self.seen.insert((code, detail.clone())) {
            self.violations.push(Violation { code, detail });
        }
    }

    fn message(&mut self, raw: &[u8]) -> Inspection {
        let (bad_ending, too_long) = line_ending_defects(raw);
        if let Some(line) = bad_ending {
            self.report(ErrorCode::LineEnding, format!("line {line}"));
        }
        if let Some(line) = too_long {
            self.report(
                ErrorCode::Rfc2822,
                format!("line {line} is longer than 998 characters"),
            );
        }
        let entity = Entity::parse(raw, 1);
        self.header_block(&entity);

        let subject = self.subject(&entity);
        let (kind, upstream_kind) = match subject.as_deref() {
            Some("DataSend") => (ClientKind::DataSend, None),
            Some("DataDelete") => (ClientKind::DataDelete, None),
            Some(word) if SERVER_WORDS.contains(&word) => {
                self.report(
                    ErrorCode::SubjectForm,
                    format!("{word} is a server message"),
                );
                (ClientKind::Unknown, None)
            }
            Some(word) => (ClientKind::Upstream, Some(word.to_owned())),
            None => (ClientKind::Unknown, None),
        };
        self.date(&entity);
        let from = self.mailbox(&entity, "From", ErrorCode::FromForm);
        let to = self.mailbox(&entity, "To", ErrorCode::ToForm);
        let sender = self.sender(from.as_ref());
        let body = self.mime(&entity);

        let ifarea = entity.header("X-IFArea").map(|h| fields(&h.text_lossy()));
        let mut transmission_number = None;
        match kind {
            ClientKind::DataSend => {
                transmission_number = ifarea.as_ref().and_then(|f| non_empty(&f[0]));
                self.recipient_is_transmit(to.as_ref(), from.as_ref());
                self.data_send(ifarea.as_deref(), &body, sender.as_ref());
            }
            ClientKind::DataDelete => {
                transmission_number = ifarea.as_ref().and_then(|f| non_empty(&f[0]));
                self.recipient_is_transmit(to.as_ref(), from.as_ref());
                self.data_delete(ifarea.as_deref(), &body, sender.as_ref());
            }
            ClientKind::Upstream => {
                let name = upstream_kind.as_deref().unwrap_or_default();
                self.upstream(name, ifarea.as_deref(), &body, sender.as_ref(), to.as_ref());
            }
            ClientKind::Unknown => {}
        }
        Inspection {
            kind,
            transmission_number,
            upstream_kind,
            violations: std::mem::take(&mut self.violations),
        }
    }

    /// Rules 1, 6 and 7 on a header block: layout, charset, syntax, repetitions.
    fn header_block(&mut self, entity: &Entity<'_>) {
        for line in &entity.malformed_lines {
            self.report(
                ErrorCode::Rfc2822,
                format!("line {line} is not a header field"),
            );
        }
        for header in &entity.headers {
            if header.text().is_none() {
                self.report(
                    ErrorCode::HeaderCharset,
                    format!("{} (line {})", header.name_text(), header.line),
                );
            }
            if CLIENT_HEADERS.iter().any(|n| header.is(n)) {
                self.layout(header);
            }
        }
        for name in CLIENT_HEADERS {
            if entity.count(name) > 1 {
                self.report(ErrorCode::Rfc2822, format!("{name} appears more than once"));
            }
        }
    }

    /// Rule 1: exactly one half-width space after the colon, nothing blank at the end.
    fn layout(&mut self, header: &RawHeader<'_>) {
        let value = header.value;
        let starts_right = value.first() == Some(&b' ')
            && !matches!(value.get(1), None | Some(b' ' | b'\t' | b'\r' | b'\n'))
            && !value[1..].starts_with(&[0x81, 0x40]);
        let where_ = format!("{} (line {})", header.name_text(), header.line);
        if !starts_right && !value.is_empty() {
            self.report(ErrorCode::HeaderSpacing, where_.clone());
        }
        let (decoded, _) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(value);
        if value.is_empty() || decoded.ends_with([' ', '\t', '\u{3000}']) {
            self.report(ErrorCode::HeaderTrailingSpace, where_);
        }
    }

    /// Rule 2: `Transmit` + one half-width space + a name. Returns the name when the form holds.
    fn subject(&mut self, entity: &Entity<'_>) -> Option<String> {
        let Some(header) = entity.header("Subject") else {
            self.report(ErrorCode::SubjectMissing, "Subject");
            return None;
        };
        let text = header.text_lossy();
        let name = text
            .strip_prefix("Transmit ")
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric()));
        if name.is_none() {
            self.report(ErrorCode::SubjectForm, format!("Subject: {text}"));
        }
        name.map(str::to_owned)
    }

    /// Rule 3: an RFC 2822 date with its day of week.
    fn date(&mut self, entity: &Entity<'_>) {
        match entity.text("Date") {
            None => self.report(ErrorCode::DateMissing, "Date"),
            Some(text) if date::parse(&text).is_none() => {
                self.report(ErrorCode::DateForm, format!("Date: {text}"))
            }
            Some(_) => {}
        }
    }

    /// Rule 4: `addr@domain` or `"description" <addr@domain>`.
    fn mailbox(&mut self, entity: &Entity<'_>, name: &str, code: ErrorCode) -> Option<Mailbox> {
        let Some(text) = entity.text(name) else {
            self.report(code, format!("{name} is missing"));
            return None;
        };
        match Mailbox::parse(&text) {
            Ok(mailbox) => Some(mailbox),
            Err(MailboxDefect::Form) => {
                self.report(code, format!("{name}: {text}"));
                None
            }
            Err(MailboxDefect::DescriptionTooLong) => {
                self.report(ErrorCode::DescriptionTooLong, format!("{name}: {text}"));
                None
            }
        }
    }

    /// The sending account: the authenticated one (whose address From must be), or without
    /// context the account From names.
    fn sender(&mut self, from: Option<&Mailbox>) -> Option<AccountId> {
        let from = from?;
        match (self.context.account, self.context.domain) {
            (Some(account), Some(domain)) => {
                if !from.address.eq_ignore_ascii_case(&account.address(domain)) {
                    self.report(ErrorCode::WrongSender, format!("From: {}", from.address));
                }
                Some(account.clone())
            }
            (Some(account), None) => {
                if from.local_part() != account.to_string() {
                    self.report(ErrorCode::WrongSender, format!("From: {}", from.address));
                }
                Some(account.clone())
            }
            (None, _) => match from.local_part().parse::<AccountId>() {
                Ok(account) => Some(account),
                Err(_) => {
                    self.report(
                        ErrorCode::WrongSender,
                        format!("From: {} is not an account's address", from.address),
                    );
                    None
                }
            },
        }
    }

    /// To of DataSend / DataDelete: the transmit address, or without context `transmit@` the
    /// sender's domain.
    fn recipient_is_transmit(&mut self, to: Option<&Mailbox>, from: Option<&Mailbox>) {
        let Some(to) = to else { return };
        let right = match self.context.transmit_address {
            Some(transmit) => to.address.eq_ignore_ascii_case(transmit),
            None => {
                to.local_part() == "transmit"
                    && from.is_none_or(|f| f.domain().eq_ignore_ascii_case(to.domain()))
            }
        };
        if !right {
            self.report(ErrorCode::WrongRecipient, format!("To: {}", to.address));
        }
    }

    /// Rules 5–7 on the MIME structure; collects the attachments.
    fn mime(&mut self, entity: &Entity<'_>) -> Body {
        match entity.text("MIME-Version") {
            Some(v) if v == "1.0" => {}
            other => self.report(
                ErrorCode::MimeVersion,
                format!("MIME-Version: {}", other.unwrap_or_default()),
            ),
        }
        if let Some(cte) = entity.text("Content-Transfer-Encoding")
            && !cte.eq_ignore_ascii_case("7bit")
        {
            self.report(
                ErrorCode::BodyEncoding,
                format!("Content-Transfer-Encoding: {cte}"),
            );
        }
        let content_type_text = entity.text("Content-Type").unwrap_or_default();
        let content_type = ContentType::parse(&content_type_text);
        let mut body = Body::default();
        match content_type.media_type.as_str() {
            "text/plain" => {
                if !content_type.is_iso_2022_jp() {
                    self.report(
                        ErrorCode::ContentType,
                        format!("Content-Type: {content_type_text}"),
                    );
                }
                self.text_body(entity.body, "body");
            }
            "multipart/mixed" => {
                body.multipart = true;
                let Some(boundary) = content_type.param("boundary") else {
                    self.report(ErrorCode::ContentType, "multipart/mixed without boundary");
                    return body;
                };
                if !content_type.is_iso_2022_jp() {
                    self.report(
                        ErrorCode::ContentType,
                        format!("Content-Type: {content_type_text}"),
                    );
                }
                self.multipart(entity, boundary, &mut body);
            }
            _ => self.report(
                ErrorCode::ContentType,
                format!("Content-Type: {content_type_text}"),
            ),
        }
        body
    }

    fn multipart(&mut self, entity: &Entity<'_>, boundary: &str, body: &mut Body) {
        let multipart = split_multipart(entity.body, entity.body_line, boundary);
        if !multipart.closed || multipart.parts.is_empty() {
            self.report(
                ErrorCode::Multipart,
                format!("boundary {boundary:?} not closed"),
            );
        }
        let mut parts = multipart.parts.iter();
        if let Some(first) = parts.next() {
            self.header_block(first);
            let ct = ContentType::parse(&first.text("Content-Type").unwrap_or_default());
            if ct.media_type != "text/plain" || !ct.is_iso_2022_jp() {
                self.report(
                    ErrorCode::BodyPartType,
                    format!("part 1 (line {})", first.body_line),
                );
            }
            self.text_body(first.body, "part 1");
        }
        for (i, part) in parts.enumerate() {
            self.header_block(part);
            let where_ = format!("part {}", i + 2);
            let ct = ContentType::parse(&part.text("Content-Type").unwrap_or_default());
            let name = ct.param("name").map(str::to_owned);
            if ct.media_type != "application/octet-stream" || name.is_none() {
                self.report(ErrorCode::AttachmentType, where_.clone());
            }
            let cte = part.text("Content-Transfer-Encoding").unwrap_or_default();
            let data = if cte.eq_ignore_ascii_case("base64") {
                let data = decode_base64(part.body);
                if data.is_none() {
                    self.report(
                        ErrorCode::AttachmentEncoding,
                        format!("{where_}: invalid Base64"),
                    );
                }
                data
            } else {
                self.report(
                    ErrorCode::AttachmentEncoding,
                    format!("{where_}: Content-Transfer-Encoding: {cte}"),
                );
                None
            };
            body.attachments.push((name.unwrap_or_default(), data));
        }
        if body.attachments.is_empty() {
            self.report(
                ErrorCode::ContentType,
                "multipart/mixed without attachments",
            );
        }
    }

    /// Rules 5 and 6 on a text body: 7bit, ISO-2022-JP.
    fn text_body(&mut self, bytes: &[u8], where_: &str) {
        if bytes.iter().any(|b| *b >= 0x80) {
            self.report(
                ErrorCode::BodyEncoding,
                format!("{where_} holds 8-bit bytes"),
            );
        } else if decode_iso_2022_jp(bytes).is_none() {
            self.report(ErrorCode::BodyCharset, where_.to_owned());
        }
    }

    /// Rules 8, 10 and 11: DataSend X-IFArea, its number, its files.
    fn data_send(&mut self, ifarea: Option<&[String]>, body: &Body, sender: Option<&AccountId>) {
        if !body.multipart {
            self.report(ErrorCode::ContentType, "a DataSend is multipart/mixed");
        }
        match ifarea {
            None => self.report(ErrorCode::IfAreaMissing, "X-IFArea"),
            Some([number, count]) => {
                self.own_number(number, sender, true);
                let count_ok = count.len() == 5 && count.bytes().all(|b| b.is_ascii_digit());
                if !count_ok {
                    self.report(ErrorCode::DataSendIfArea, format!("file count {count:?}"));
                } else if count.parse::<usize>().ok() != Some(body.attachments.len()) {
                    self.report(
                        ErrorCode::FileCount,
                        format!("X-IFArea says {count}, {} attached", body.attachments.len()),
                    );
                }
            }
            Some(other) => self.report(ErrorCode::DataSendIfArea, other.join(",")),
        }
        if body.attachments.is_empty() {
            self.report(ErrorCode::NoDataFile, "no attachment");
        }
        let mut names = HashSet::new();
        for (name, _) in &body.attachments {
            if data_file_kind(name).is_none() {
                self.report(ErrorCode::FileName, name.clone());
            }
            if !names.insert(name.to_ascii_uppercase()) {
                self.report(ErrorCode::DuplicateFileName, name.clone());
            }
        }
    }

    /// Rules 9 and 10: DataDelete X-IFArea and both its numbers.
    fn data_delete(&mut self, ifarea: Option<&[String]>, body: &Body, sender: Option<&AccountId>) {
        if !body.attachments.is_empty() {
            self.report(
                ErrorCode::DataDeleteAttachment,
                format!("{} attached", body.attachments.len()),
            );
        }
        match ifarea {
            None => self.report(ErrorCode::IfAreaMissing, "X-IFArea"),
            Some([number, cancel]) => {
                self.own_number(number, sender, true);
                self.own_number(cancel, sender, false);
            }
            Some(other) => self.report(ErrorCode::DataDeleteIfArea, other.join(",")),
        }
    }

    /// Rule 10: the number's form, that it is the sender's organisation's, and (for a new
    /// number) that the organisation has not used it before.
    fn own_number(&mut self, text: &str, sender: Option<&AccountId>, new: bool) {
        let Ok(number) = text.parse::<TransmissionNumber>() else {
            self.report(ErrorCode::TransmissionNumberForm, text.to_owned());
            return;
        };
        if let Some(sender) = sender
            && number.org_code() != sender.org().org_code()
        {
            self.report(ErrorCode::TransmissionNumberOrg, text.to_owned());
            return;
        }
        if new
            && self
                .context
                .used
                .is_some_and(|used| used.number_used(&number))
        {
            self.report(ErrorCode::TransmissionNumberUsed, text.to_owned());
        }
    }

    /// §10 and rule 12: upstream notices.
    fn upstream(
        &mut self,
        name: &str,
        ifarea: Option<&[String]>,
        body: &Body,
        sender: Option<&AccountId>,
        to: Option<&Mailbox>,
    ) {
        if name.len() > MAX_UPSTREAM_NAME {
            self.report(ErrorCode::UpstreamName, name.to_owned());
        }
        if sender.is_some_and(|s| s.org().kind() == OrgKind::Office) {
            self.report(ErrorCode::UpstreamFromOffice, name.to_owned());
        }
        let unique = match ifarea {
            None => {
                self.report(ErrorCode::IfAreaMissing, "X-IFArea");
                None
            }
            Some([unique, rest @ ..]) => {
                let parameter = rest.join(",");
                let unique_ok = unique.len() == UNIQUE_NUMBER_LEN
                    && unique.bytes().all(|b| b.is_ascii_alphanumeric());
                let parameter_ok = rest.is_empty()
                    || (!parameter.is_empty()
                        && parameter.len() <= MAX_UPSTREAM_PARAMETER
                        && parameter.bytes().all(|b| b.is_ascii_graphic()));
                if !unique_ok || !parameter_ok {
                    self.report(
                        ErrorCode::UpstreamIfArea,
                        ifarea.unwrap_or_default().join(","),
                    );
                }
                unique_ok.then_some(unique.as_str())
            }
            Some([]) => None,
        };
        let files = self.unpacked(&body.attachments);
        for (file, _) in &files {
            if has_forbidden_extension(file) {
                self.report(ErrorCode::ForbiddenExtension, file.clone());
            }
        }
        let Some(definitions) = self.context.upstream else {
            return;
        };
        let Some(definition) = definitions.iter().find(|d| d.name == name) else {
            self.report(ErrorCode::UpstreamUndefined, name.to_owned());
            return;
        };
        if let Some(to) = to
            && !to.address.eq_ignore_ascii_case(&definition.to)
        {
            self.report(ErrorCode::WrongRecipient, format!("To: {}", to.address));
        }
        self.upstream_limits(definition, body.attachments.len(), &files);
        if let (Some(unique), Some(used)) = (unique, self.context.used)
            && used.unique_used(name, unique)
        {
            self.report(ErrorCode::UniqueNumberUsed, unique.to_owned());
        }
    }

    /// The attachments with their sizes, each attached LZH followed by the files it holds
    /// (named `archive.lzh/inner/name`), since those must obey the rules too (§10.2.8(1)).
    /// The archives are decoded within the message's budget, their data counted and
    /// dropped as it streams: only names and sizes are kept.
    fn unpacked(
        &mut self,
        attachments: &[(String, Option<Vec<u8>>)],
    ) -> Vec<(String, Option<u64>)> {
        let mut budget = kx_lzh::Budget::new(self.context.unpack_limits);
        let mut files = Vec::new();
        for (name, data) in attachments {
            files.push((name.clone(), data.as_ref().map(|d| d.len() as u64)));
            let Some(archive) = data
                .as_ref()
                .filter(|_| extension(name).as_deref() == Some("lzh"))
            else {
                continue;
            };
            if let Err(e) = archive_files(name, archive, &mut budget, &mut files) {
                // Over the budget is a size the server does not accept; anything else is an
                // archive it cannot read.
                let code = if e.is_over_budget() {
                    ErrorCode::UpstreamLimits
                } else {
                    ErrorCode::AttachedLzh
                };
                self.report(code, format!("{name}: {e}"));
            }
        }
        files
    }

    fn upstream_limits(
        &mut self,
        definition: &UpstreamDefinition,
        attached: usize,
        files: &[(String, Option<u64>)],
    ) {
        if definition.max_files.is_some_and(|max| attached > max) {
            self.report(
                ErrorCode::UpstreamLimits,
                format!("{attached} files attached"),
            );
        }
        for (file, size) in files {
            let too_big = definition
                .max_bytes
                .zip(*size)
                .is_some_and(|(max, size)| size > max);
            if too_big {
                self.report(ErrorCode::UpstreamLimits, format!("{file} is too large"));
            }
            let allowed = definition.extensions.as_ref().is_none_or(|exts| {
                extension(file).is_some_and(|e| exts.iter().any(|a| a.eq_ignore_ascii_case(&e)))
            });
            if !allowed {
                self.report(
                    ErrorCode::UpstreamLimits,
                    format!("{file}: extension not allowed"),
                );
            }
        }
    }
}

/// Appends the files of the attached archive `name` with their sizes to `files`, decoding
/// each (to check its CRC) within `budget`.
fn archive_files(
    name: &str,
    archive: &[u8],
    budget: &mut kx_lzh::Budget,
    files: &mut Vec<(String, Option<u64>)>,
) -> Result<(), kx_lzh::Error> {
    let mut reader = kx_lzh::Reader::new(archive, budget);
    while let Some(entry) = reader.next_entry()? {
        let size = reader.read_data(&mut std::io::sink())?;
        if !entry.is_directory {
            files.push((format!("{name}/{}", entry.path), Some(size)));
        }
    }
    Ok(())
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

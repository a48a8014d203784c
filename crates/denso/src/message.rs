//! The 電文 (messages) of the protocol as data (spec §4–§6).
//!
//! Each message kind is a struct holding exactly what its headers and attachments carry;
//! [`Message::to_bytes`] writes it in the form of spec §6 and [`Message::parse`] reads it back.

use std::fmt;

use chrono::{DateTime, FixedOffset};
use serde::{Serialize, Serializer};

use crate::address::Mailbox;
use crate::codes::ErrorCode;
use crate::ident::TransmissionNumber;

/// The version the server announces in `X-DensoVersion` (§9.2).
pub const DENSO_VERSION: &str = "3.01";

/// The name of the reception-count attachment of a Regist (拡張情報ファイル, §9.3).
pub const TRANSMIT_INFO_NAME: &str = "TransmitInfo.txt";

/// The name of the format-error attachment of a Regist (§8.5.4).
pub const CSV_ERR_NAME: &str = "CsvErr.txt";

/// A six-character code as carried in `X-Ex1-IFArea` / `X-Ex2-IFArea`.
///
/// Usually one of this project's [`ErrorCode`]s, but a message from another federation's
/// server may carry codes this table does not know, and a client must still read them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(String);

impl Code {
    /// Accepts exactly six ASCII letters or digits.
    pub fn parse(text: &str) -> Option<Code> {
        (text.len() == 6 && text.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then(|| Code(text.to_owned()))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The table entry, when this project's table has the code.
    pub fn known(&self) -> Option<ErrorCode> {
        ErrorCode::from_code(&self.0)
    }
}

impl From<ErrorCode> for Code {
    fn from(code: ErrorCode) -> Code {
        Code(code.code().to_owned())
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Which environment a server reply comes from (§8.7).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Environment {
    /// 本番環境, and the test environment outside loopback mode: `Transmit …` subjects.
    #[default]
    Production,
    /// 受付サーバ折り返し機能: `Test Accept` / `Test Regist` / `Test DeleteRegist`, no
    /// TransmitInfo.txt.
    TestLoopback,
}

impl Environment {
    /// The first word of the reply subjects.
    pub const fn subject_prefix(self) -> &'static str {
        match self {
            Environment::Production => "Transmit",
            Environment::TestLoopback => "Test",
        }
    }
}

/// A file attached to a message: its name and its decoded bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Attachment {
    /// The `name` parameter of the part's Content-Type.
    pub name: String,
    /// The content after Base64 decoding.
    pub data: Vec<u8>,
}

impl Attachment {
    /// An attachment from a name and bytes.
    pub fn new(name: impl Into<String>, data: impl Into<Vec<u8>>) -> Attachment {
        Attachment {
            name: name.into(),
            data: data.into(),
        }
    }
}

/// データ送信: a client submits data files (Subject `Transmit DataSend`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSend {
    /// The submitting account's address.
    pub from: Mailbox,
    /// The federation's transmit address.
    pub to: Mailbox,
    /// When the client sent it.
    pub date: DateTime<FixedOffset>,
    /// The submission's transmission number.
    pub number: TransmissionNumber,
    /// The data files (`.CSV`, or `.LZH` holding them).
    pub files: Vec<Attachment>,
}

/// データ取り消し: a client cancels an earlier submission (Subject `Transmit DataDelete`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataDelete {
    /// The cancelling account's address.
    pub from: Mailbox,
    /// The federation's transmit address.
    pub to: Mailbox,
    /// When the client sent it.
    pub date: DateTime<FixedOffset>,
    /// This message's own transmission number.
    pub number: TransmissionNumber,
    /// The transmission number of the submission to cancel.
    pub cancel: TransmissionNumber,
}

/// 上り連絡: a notice from a prefecture, insurer or welfare office to the federation
/// (Subject `Transmit <独自情報名>`, §10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upstream {
    /// The sending account's address.
    pub from: Mailbox,
    /// The address the upstream kind defines.
    pub to: Mailbox,
    /// When the client sent it.
    pub date: DateTime<FixedOffset>,
    /// 独自情報名: the upstream kind, up to 20 alphanumerics.
    pub kind: String,
    /// 一意番号: 20 alphanumerics, unique per upstream kind.
    pub unique: String,
    /// The optional parameter, up to 30 alphanumerics or symbols.
    pub parameter: Option<String>,
    /// The body text.
    pub body: String,
    /// Attached files.
    pub files: Vec<Attachment>,
}

/// 到達情報: the arrival result of an Accept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArrivalResult {
    /// Received correctly.
    Success,
    /// The interface part is wrong; the code says how (`X-Ex1-IFArea`).
    IfErr(Code),
}

/// 到達確認情報: the server confirms a client message arrived (Subject `Transmit Accept`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accept {
    /// Production or test loopback.
    pub environment: Environment,
    /// The `From` address of the client message.
    pub to: String,
    /// The federation's transmit address.
    pub from: String,
    /// When the server sent it.
    pub date: DateTime<FixedOffset>,
    /// The client message's transmission number; `None` when it had no valid one.
    pub number: Option<TransmissionNumber>,
    /// Success or IFErr with its code.
    pub result: ArrivalResult,
    /// `X-DensoVersion`.
    pub version: Option<String>,
}

impl ArrivalResult {
    /// The word in X-IFArea: `Success` or `IFErr`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ArrivalResult::Success => "Success",
            ArrivalResult::IfErr(_) => "IFErr",
        }
    }

    /// The code of `X-Ex1-IFArea`, when there is one.
    pub fn code(&self) -> Option<&Code> {
        match self {
            ArrivalResult::Success => None,
            ArrivalResult::IfErr(code) => Some(code),
        }
    }
}

/// 受付結果: what became of one data file of a Regist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileResult {
    /// 処理済み. `format_error` says whether the review system's format check found errors in
    /// it (listed in `X-Ex3-IFArea` and CsvErr.txt).
    Success {
        /// Whether the file had format errors.
        format_error: bool,
    },
    /// レコード不正: a record error; the code goes into `X-Ex2-IFArea`.
    DataErr(Code),
}

/// One data file of a Regist and its result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileReceipt {
    /// The data file's name.
    pub name: String,
    /// Its result.
    pub result: FileResult,
}

/// 点検結果: the outcome of the server's check of a submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckResult {
    /// The files were checked one by one.
    Success {
        /// Each data file and its result, in order.
        files: Vec<FileReceipt>,
    },
    /// The transmission system itself could not check the submission (e.g. an LZH that does not
    /// unpack): no file list.
    CheckErr {
        /// How many data files the submission announced.
        file_count: u32,
        /// Why (`X-Ex1-IFArea`).
        code: Code,
    },
}

/// 受付点検情報: the result of checking a submission (Subject `Transmit Regist`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Regist {
    /// Production or test loopback.
    pub environment: Environment,
    /// The `From` address of the DataSend.
    pub to: String,
    /// The federation's transmit address.
    pub from: String,
    /// When the server sent it.
    pub date: DateTime<FixedOffset>,
    /// The submission's transmission number.
    pub number: TransmissionNumber,
    /// The check result with the per-file results.
    pub check: CheckResult,
    /// CsvErr.txt, present exactly when a Success file had format errors.
    pub csv_err: Option<Vec<u8>>,
    /// TransmitInfo.txt: always in production (version 3.01), never in test loopback.
    pub transmit_info: Option<Vec<u8>>,
    /// `X-DensoVersion`.
    pub version: Option<String>,
}

/// 取り消し結果: the result of a DataDelete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CancelResult {
    /// 削除成功.
    Success,
    /// The interface part is wrong.
    IfErr(Code),
    /// No such submission, or it is already processed (its Regist was returned).
    NoData(Code),
}

impl CancelResult {
    /// The word in X-IFArea: `Success`, `IFErr` or `NoData`.
    pub fn as_str(&self) -> &'static str {
        match self {
            CancelResult::Success => "Success",
            CancelResult::IfErr(_) => "IFErr",
            CancelResult::NoData(_) => "NoData",
        }
    }

    /// The code of `X-Ex1-IFArea`, when there is one.
    pub fn code(&self) -> Option<&Code> {
        match self {
            CancelResult::Success => None,
            CancelResult::IfErr(code) | CancelResult::NoData(code) => Some(code),
        }
    }
}

/// 取り消し情報: the result of a cancellation (Subject `Transmit DeleteRegist`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteRegist {
    /// Production or test loopback.
    pub environment: Environment,
    /// The `From` address of the DataDelete.
    pub to: String,
    /// The federation's transmit address.
    pub from: String,
    /// When the server sent it.
    pub date: DateTime<FixedOffset>,
    /// The DataDelete's own transmission number.
    pub number: TransmissionNumber,
    /// The transmission number it asked to cancel.
    pub cancelled: TransmissionNumber,
    /// What happened.
    pub result: CancelResult,
    /// `X-DensoVersion`.
    pub version: Option<String>,
}

/// 交換情報: output of the review system for an organisation (Subject `Transmit Result`), sent
/// to its master address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResultMessage {
    /// The organisation's master address.
    pub to: String,
    /// The federation's transmit address.
    pub from: String,
    /// When the server sent it.
    pub date: DateTime<FixedOffset>,
    /// How many data files the archive holds.
    pub file_count: u32,
    /// The LZH archive, named `<識別番号><yyyymmdd><hhmmss>.lzh`.
    pub archive: Attachment,
    /// `X-DensoVersion`.
    pub version: Option<String>,
}

/// 下り連絡: a notice from the federation (Subject `Transmit Contact`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    /// The receiving account's address.
    pub to: String,
    /// The federation's transmit address.
    pub from: String,
    /// When the server sent it.
    pub date: DateTime<FixedOffset>,
    /// The first body line: the notice's title.
    pub title: String,
    /// The following body lines.
    pub body: String,
    /// Attached files (never of a forbidden extension).
    pub attachments: Vec<Attachment>,
}

/// サービス情報: where prepared data can be downloaded (e.g. Subject `Transmit ExchangeInfo`,
/// `X-IFArea: /kaigo/exchangeinfo322`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceNotice {
    /// The receiving account's address.
    pub to: String,
    /// The federation's transmit address.
    pub from: String,
    /// When the server sent it.
    pub date: DateTime<FixedOffset>,
    /// The word after `Transmit` in the Subject, e.g. `ExchangeInfo`.
    pub name: String,
    /// The data location on the federation's download area.
    pub location: String,
}

/// Any 電文.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)]
pub enum Message {
    /// データ送信.
    DataSend(DataSend),
    /// データ取り消し.
    DataDelete(DataDelete),
    /// 上り連絡.
    Upstream(Upstream),
    /// 到達確認情報.
    Accept(Accept),
    /// 受付点検情報.
    Regist(Regist),
    /// 取り消し情報.
    DeleteRegist(DeleteRegist),
    /// 交換情報.
    Result(ResultMessage),
    /// 下り連絡.
    Contact(Contact),
    /// サービス情報.
    ServiceNotice(ServiceNotice),
}

/// The kind of a message, without its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum MessageKind {
    /// データ送信.
    DataSend,
    /// データ取り消し.
    DataDelete,
    /// 上り連絡.
    Upstream,
    /// 到達確認情報.
    Accept,
    /// 受付点検情報.
    Regist,
    /// 取り消し情報.
    DeleteRegist,
    /// 交換情報.
    Result,
    /// 下り連絡.
    Contact,
    /// サービス情報.
    ServiceInfo,
}

impl MessageKind {
    /// Every kind, in the order of the enum.
    pub const ALL: [MessageKind; 9] = [
        MessageKind::DataSend,
        MessageKind::DataDelete,
        MessageKind::Upstream,
        MessageKind::Accept,
        MessageKind::Regist,
        MessageKind::DeleteRegist,
        MessageKind::Result,
        MessageKind::Contact,
        MessageKind::ServiceInfo,
    ];

    /// The kind's stable name, for stores and JSON: the variant's name, never to change.
    pub const fn as_str(self) -> &'static str {
        match self {
            MessageKind::DataSend => "DataSend",
            MessageKind::DataDelete => "DataDelete",
            MessageKind::Upstream => "Upstream",
            MessageKind::Accept => "Accept",
            MessageKind::Regist => "Regist",
            MessageKind::DeleteRegist => "DeleteRegist",
            MessageKind::Result => "Result",
            MessageKind::Contact => "Contact",
            MessageKind::ServiceInfo => "ServiceInfo",
        }
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is no [`MessageKind::as_str`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a message kind")]
pub struct UnknownMessageKind(pub String);

impl std::str::FromStr for MessageKind {
    type Err = UnknownMessageKind;

    fn from_str(name: &str) -> std::result::Result<MessageKind, UnknownMessageKind> {
        MessageKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| UnknownMessageKind(name.to_owned()))
    }
}

impl Message {
    /// The message's kind.
    pub fn kind(&self) -> MessageKind {
        match self {
            Message::DataSend(_) => MessageKind::DataSend,
            Message::DataDelete(_) => MessageKind::DataDelete,
            Message::Upstream(_) => MessageKind::Upstream,
            Message::Accept(_) => MessageKind::Accept,
            Message::Regist(_) => MessageKind::Regist,
            Message::DeleteRegist(_) => MessageKind::DeleteRegist,
            Message::Result(_) => MessageKind::Result,
            Message::Contact(_) => MessageKind::Contact,
            Message::ServiceNotice(_) => MessageKind::ServiceInfo,
        }
    }
}

#[cfg(test)]
mod kind_tests {
    use super::*;

    #[test]
    fn kinds_keep_their_stored_names_and_read_back() {
        for kind in MessageKind::ALL {
            // The names stored before `as_str` existed were the Debug output.
            assert_eq!(kind.as_str(), format!("{kind:?}"));
            assert_eq!(kind.as_str().parse::<MessageKind>(), Ok(kind));
        }
        assert_eq!(
            "Unreadable".parse::<MessageKind>(),
            Err(UnknownMessageKind("Unreadable".into()))
        );
    }
}

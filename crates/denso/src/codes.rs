//! The error-code table: every six-character code the gateway puts in an `X-Ex1-IFArea` or
//! `X-Ex2-IFArea` header, with its Japanese and English text.
//!
//! The source's code appendix is missing (spec §8), so the codes are this project's decision:
//!
//! - `A1xxxx`: interface errors of a client message (Accept / DeleteRegist `X-Ex1-IFArea`),
//!   one per rule of spec §5; the middle two digits name the rule.
//! - `A2xxxx`: check errors of the transmission system itself (Regist `CheckErr`, `X-Ex1-IFArea`).
//! - `A0xxxx`: record errors of one data file (Regist `DataErr`, `X-Ex2-IFArea`).
//!
//! This file is the only place a code is spelled; everything else names an [`ErrorCode`].

use serde::{Serialize, Serializer};

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $ja:literal, $en:literal;)*) => {
        /// One entry of the error-code table (エラーコード).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The six-character code as it appears on the wire, e.g. `A10201`.
            pub const fn code(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            /// The Japanese text shown to users.
            pub const fn message_ja(self) -> &'static str {
                match self { $(ErrorCode::$variant => $ja,)* }
            }

            /// The English text shown to users and operators.
            pub const fn message_en(self) -> &'static str {
                match self { $(ErrorCode::$variant => $en,)* }
            }
        }
    };
}

error_codes! {
    // §5 rule 1: header layout (§5.4(9)).
    /// A header value does not start with exactly one half-width space after the colon.
    HeaderSpacing = "A10101", "ヘッダの項目の先頭に半角空白がちょうど1文字ありません", "a header value does not start with exactly one half-width space after the colon";
    /// A header value ends with a half-width space, a full-width space or a tab.
    HeaderTrailingSpace = "A10102", "ヘッダの項目の末尾に余分な空白またはタブがあります", "a header value ends with a half-width space, full-width space or tab";
    /// A line of the message does not end with CRLF.
    LineEnding = "A10103", "行の終端が CRLF ではありません", "a line does not end with CRLF";
    // §5 rule 2: Subject (§5.4(6)).
    /// The Subject header is missing.
    SubjectMissing = "A10201", "Subject ヘッダがありません", "the Subject header is missing";
    /// The Subject is not `Transmit` + one half-width space + a message name.
    SubjectForm = "A10202", "Subject が「Transmit」＋半角空白1文字＋電文名ではありません", "the Subject is not \"Transmit\", one half-width space and a message name";
    // §5 rule 3: Date (§5.4(4)).
    /// The Date header is missing.
    DateMissing = "A10301", "Date ヘッダがありません", "the Date header is missing";
    /// The Date is not an RFC 2822 date-time with its day of week.
    DateForm = "A10302", "Date が曜日付きの RFC2822 形式ではありません", "the Date is not an RFC 2822 date-time with a day of week";
    // §5 rule 4: To / From (§5.4(5)).
    /// The To header is missing or is not `addr@domain` / `"description" <addr@domain>`.
    ToForm = "A10401", "To ヘッダがないか形式が誤っています", "the To header is missing or malformed";
    /// The From header is missing or is not `addr@domain` / `"description" <addr@domain>`.
    FromForm = "A10402", "From ヘッダがないか形式が誤っています", "the From header is missing or malformed";
    /// A quoted address description is longer than 40 bytes (quotes included).
    DescriptionTooLong = "A10403", "メールアドレスの説明が40バイトを超えています", "an address description is longer than 40 bytes";
    /// The To address is not the federation's transmit address (or the upstream kind's address).
    WrongRecipient = "A10404", "To のアドレスが送付先ではありません", "the To address is not this message's destination";
    /// The From address is not the address of the authenticated ID.
    WrongSender = "A10405", "From のアドレスが認証された ID のアドレスではありません", "the From address is not the authenticated ID's address";
    // §5 rule 5: Content-Type and MIME (§5.4(2), §5.4(7)).
    /// MIME-Version is missing or not 1.0.
    MimeVersion = "A10501", "MIME-Version が 1.0 ではありません", "MIME-Version is missing or not 1.0";
    /// The message Content-Type does not fit its attachments (text/plain or multipart/mixed with boundary, charset=iso-2022-jp).
    ContentType = "A10502", "Content-Type が添付ファイルの有無に合っていません", "the Content-Type does not match the presence of attachments";
    /// The first part of a multipart message is not `text/plain; charset=iso-2022-jp`.
    BodyPartType = "A10503", "第1パートが text/plain;charset=iso-2022-jp ではありません", "the first part is not text/plain; charset=iso-2022-jp";
    /// An attachment part is not `application/octet-stream; name="…"`.
    AttachmentType = "A10504", "添付ファイルのパートが application/octet-stream; name=\"…\" ではありません", "an attachment part is not application/octet-stream with a name";
    /// An attachment part is not Base64-encoded, or its Base64 is invalid.
    AttachmentEncoding = "A10505", "添付ファイルが Base64 で変換されていません", "an attachment is not valid Base64";
    /// The message body is not 7bit.
    BodyEncoding = "A10506", "メール本文が 7bit ではありません", "the message body is not 7bit";
    // §5 rule 6: character sets (§5.4(8)).
    /// A header holds bytes that are not Shift_JIS.
    HeaderCharset = "A10601", "ヘッダの文字コードがシフトJISではありません", "a header is not Shift_JIS";
    /// A body holds bytes that are not ISO-2022-JP.
    BodyCharset = "A10602", "メール本文の文字コードが ISO-2022-JP ではありません", "a body is not ISO-2022-JP";
    // §5 rule 7: RFC 2822 (§5.4(10)).
    /// The message does not follow RFC 2822 (header syntax, line length, repeated headers).
    Rfc2822 = "A10701", "電文が RFC2822 に従っていません", "the message does not follow RFC 2822";
    /// The multipart structure is broken (missing or unterminated boundary).
    Multipart = "A10702", "マルチパートの構造が誤っています", "the multipart structure is broken";
    // §5 rule 8: DataSend X-IFArea.
    /// The X-IFArea header is missing.
    IfAreaMissing = "A10801", "X-IFArea ヘッダがありません", "the X-IFArea header is missing";
    /// A DataSend X-IFArea is not `<transmission number>,<file count, 5 digits>`.
    DataSendIfArea = "A10802", "データ送信の X-IFArea が「伝送整理番号,添付ファイル数(5桁)」ではありません", "the DataSend X-IFArea is not \"<transmission number>,<5-digit file count>\"";
    /// The file count of X-IFArea differs from the number of attachments.
    FileCount = "A10803", "添付ファイル数が X-IFArea のファイル数と一致しません", "the number of attachments differs from the X-IFArea file count";
    /// A DataSend carries no data file.
    NoDataFile = "A10804", "データ送信に添付ファイルがありません", "a DataSend carries no data file";
    // §5 rule 9: DataDelete X-IFArea.
    /// A DataDelete X-IFArea is not `<transmission number>,<transmission number to cancel>`.
    DataDeleteIfArea = "A10901", "データ取り消しの X-IFArea が「伝送整理番号,取消伝送整理番号」ではありません", "the DataDelete X-IFArea is not \"<transmission number>,<number to cancel>\"";
    /// A DataDelete carries attachments.
    DataDeleteAttachment = "A10902", "データ取り消しに添付ファイルがあります", "a DataDelete carries attachments";
    /// The number to cancel names no submission this server still manages (unknown, another
    /// organisation's, or already answered with its Regist): DeleteRegist `NoData`.
    CancelNoData = "A10903", "取り消し伝送整理番号のデータは存在しないか既に処理済みです", "the number to cancel does not exist or is already processed";
    // §5 rule 10: transmission numbers (§5.4(3)).
    /// A transmission number is not 20 digits or upper-case letters.
    TransmissionNumberForm = "A11001", "伝送整理番号が数字または英大文字20桁ではありません", "a transmission number is not 20 digits or upper-case letters";
    /// The transmission number's 識別番号 is not the sender's organisation.
    TransmissionNumberOrg = "A11002", "伝送整理番号の識別番号が送信元の番号と一致しません", "the transmission number's org code is not the sender's organisation";
    /// The transmission number has already been used by this organisation.
    TransmissionNumberUsed = "A11003", "伝送整理番号は既に使用されています", "the transmission number has already been used";
    // §5 rule 11: attachment names (§5.4(1)).
    /// An attachment name is not up to 8 alphanumerics + `.CSV` or up to 20 alphanumerics + `.LZH`.
    FileName = "A11101", "添付ファイル名が「英数字8桁以内.CSV」または「英数字20桁以内.LZH」ではありません", "an attachment name is not up to 8 alphanumerics + .CSV or up to 20 alphanumerics + .LZH";
    /// Two attachments of one message share a name.
    DuplicateFileName = "A11102", "同一ファイル名の添付ファイルがあります", "two attachments share a name";
    // §5 rule 12: forbidden extensions (§10.2.8(1)).
    /// An attachment has a forbidden extension.
    ForbiddenExtension = "A11201", "送信できない拡張子の添付ファイルがあります", "an attachment has a forbidden extension";
    /// An attached LZH cannot be unpacked, so its contents cannot be checked.
    AttachedLzh = "A11202", "添付の圧縮ファイル(LZH)を解凍できません", "an attached LZH archive cannot be unpacked";
    // §6.7 / §10: upstream notices.
    /// The upstream kind name (独自情報名) is longer than 20 alphanumerics.
    UpstreamName = "A11301", "独自情報名が英数字20桁以内ではありません", "the upstream kind name is not up to 20 alphanumerics";
    /// An upstream X-IFArea is not `<unique number, 20 alnum>[,<parameter, ≤30>]`.
    UpstreamIfArea = "A11302", "上り連絡の X-IFArea が「一意番号[,パラメータ]」ではありません", "the upstream X-IFArea is not \"<20-char unique number>[,<parameter>]\"";
    /// The upstream kind is not defined by this federation.
    UpstreamUndefined = "A11303", "定義されていない独自情報です", "the upstream kind is not defined";
    /// The attachments exceed the upstream kind's limits (count, size, extension).
    UpstreamLimits = "A11304", "添付ファイルが独自情報の制限を満たしていません", "the attachments exceed the upstream kind's limits";
    /// An office (事業所) sent an upstream notice, which only prefectures, insurers and welfare offices may send.
    UpstreamFromOffice = "A11305", "事業所は上り連絡を送信できません", "offices may not send upstream notices";
    /// The unique number has already been used for this upstream kind.
    UniqueNumberUsed = "A11306", "一意番号は既に使用されています", "the unique number has already been used for this upstream kind";

    // Transmission-system check errors (Regist CheckErr, X-Ex1-IFArea).
    /// An LZH attachment cannot be unpacked.
    LzhUnpack = "A20001", "圧縮ファイルを解凍できません", "an LZH attachment cannot be unpacked";
    /// An unpacked LZH holds a file that is not a data file (name, directory or link).
    LzhContent = "A20002", "圧縮ファイルの内容がデータファイルではありません", "an LZH attachment holds something other than data files";
    /// The data files exceed the reception limits (size or count).
    ReceptionLimits = "A20003", "データファイルが受付の制限を超えています", "the data files exceed the reception limits";
    /// The reception check of a DataSend failed again and again (it ran out of time, crashed,
    /// or the server stopped during it) and was abandoned: a poison submission.
    CheckAbandoned = "A20004", "受付点検を繰り返し完了できなかったため打ち切りました", "the reception check failed repeatedly and was abandoned";

    // Record errors of one data file (Regist DataErr, X-Ex2-IFArea).
    /// The data file is not Shift_JIS.
    RecordCharset = "A00101", "データファイルの文字コードがシフトJISではありません", "the data file is not Shift_JIS";
    /// A record is not terminated by CRLF.
    RecordTerminator = "A00102", "レコードの終端が CRLF ではありません", "a record is not terminated by CRLF";
    /// The first record is not a control record of 12 items.
    ControlRecord = "A00103", "先頭レコードが12項目のコントロールレコードではありません", "the first record is not a 12-item control record";
    /// A record kind other than 1, 2 or 3.
    RecordKind = "A00104", "レコード種別が 1・2・3 以外です", "a record kind is not 1, 2 or 3";
    /// A record number is skipped or repeated.
    RecordNumber = "A00105", "レコード番号が連番になっていません", "a record number is skipped or repeated";
    /// The last record is not an end record.
    EndRecord = "A00106", "最終レコードがエンドレコードではありません", "the last record is not an end record";
    /// The control record's count differs from the number of data records.
    RecordCount = "A00107", "コントロールレコードのレコード件数がデータレコード数と一致しません", "the control record's count differs from the data records";
    /// A byte 0x00–0x1F inside a record.
    ControlByte = "A00108", "レコード中に制御文字があります", "a record holds a control character";
    /// The data file is empty.
    EmptyFile = "A00109", "データファイルが空です", "the data file is empty";
}

impl ErrorCode {
    /// Looks a code up by its six characters.
    pub fn from_code(code: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.code() == code)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_six_alphanumerics_with_texts() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.code();
            assert_eq!(s.len(), 6, "{s}");
            assert!(
                s.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
                "{s}"
            );
            assert!(seen.insert(s), "duplicate {s}");
            assert!(!code.message_ja().is_empty() && !code.message_en().is_empty());
            assert_eq!(ErrorCode::from_code(s), Some(*code));
        }
    }
}

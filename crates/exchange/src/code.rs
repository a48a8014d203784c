//! The codes the office app shows (spec `kx-exchange.md` §8), with the manual's exact texts.
//!
//! This is the one table of `E` codes: the app prints `code + message`, the server answers
//! them in its error bodies, and nothing else spells a message out.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident => $ja:literal, $en:literal;)+) => {
        /// A code the app shows (エラーコード). `○`/`〇` and `●` in a text are the names of the
        /// items concerned; [`Code::fill`] puts them in.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Code {
            $($(#[$doc])* $name,)+
        }

        impl Code {
            /// Every code, in the manual's order.
            pub const ALL: &'static [Code] = &[$(Code::$name,)+];

            /// The code as printed, e.g. `"E2006"`.
            pub fn code(self) -> &'static str {
                match self { $(Code::$name => stringify!($name),)+ }
            }

            /// The manual's message, placeholders unfilled.
            pub fn japanese(self) -> &'static str {
                match self { $(Code::$name => $ja,)+ }
            }

            /// An English rendering for logs, operators and `--help`.
            pub fn english(self) -> &'static str {
                match self { $(Code::$name => $en,)+ }
            }
        }
    };
}

codes! {
    /// Already running (多重起動).
    E0001 => "多重起動はできません。", "kx is already running for this profile.";
    /// Wrong login password.
    E0002 => "パスワードが無効です。", "The password is not valid.";
    /// The login certificate is not valid.
    E0003 => "電子証明書が無効です。", "The certificate is not valid.";
    /// A required item is empty.
    E1001 => "○を入力してください。", "Enter ○.";
    /// An item does not match the stored value.
    E1002 => "○が一致しません。", "○ does not match.";
    /// Two items must be equal.
    E1003 => "〇と●が一致しません。", "〇 and ● do not match.";
    /// Two items must differ.
    E1004 => "〇と●は異なる値で入力してください。", "〇 and ● must differ.";
    /// Must be four digits.
    E1005 => "〇は数値4桁で入力してください。", "〇 must be 4 digits.";
    /// Must be full-width.
    E1006 => "〇は全角で入力してください。", "〇 must be full-width characters.";
    /// A mail address must be half-width.
    E1007 => "メールアドレスは半角で入力してください。", "The mail address must be half-width characters.";
    /// A malformed mail address.
    E1008 => "メールアドレスの形式が正しくありません。", "The mail address is malformed.";
    /// Office name, user name or mail does not match.
    E1009 => "〇が一致していません。", "〇 does not match.";
    /// Password characters outside half-width letters, digits and symbols.
    E1010 => "パスワードは半角英数記号で入力してください。", "Use only half-width letters, digits and symbols in the password.";
    /// The password lacks a required character class.
    E1011 => "パスワードは〇を含む値で入力してください。", "The password must contain 〇.";
    /// The password's length is out of bounds.
    E1012 => "パスワードは〇で入力してください。", "The password must be 〇.";
    /// Nothing checked.
    E2001 => "〇対象のデータを選択してください。", "Select the data to 〇.";
    /// No file to send.
    E2002 => "送信するファイルを追加してください。", "Add a file to send.";
    /// The same file name twice.
    E2003 => "既に同じ名前のファイルが追加されています。", "A file with the same name has already been added.";
    /// An extension the function does not accept.
    E2004 => "「〇」拡張子のファイルは追加できません。", "Files with the extension \"〇\" cannot be added.";
    /// No destination.
    E2005 => "送信先を選択してください。", "Choose a destination.";
    /// Over 20 MB in total.
    E2006 => "選択されたファイルが20MBを超えています。", "The selected files exceed 20 MB.";
    /// A file added has vanished since.
    E2007 => "追加したファイル（〇）が存在しません。", "The file added (〇) does not exist.";
    /// The society certificate held has expired.
    E3001 => "電子証明書の有効期限が失効しています。再度ログインを行い、最新の健保組合の電子証明書を取得してください。", "The certificate has expired. Log in again and fetch the society's latest certificate.";
    /// The office certificate has expired: register anew.
    E3002 => "事業所の電子証明書の有効期限が失効しています。健康保険組合の担当者へ連絡してください。", "The office certificate has expired. Contact the health insurance society.";
    /// The society certificate held is not the latest.
    E3003 => "健保組合の電子証明書が最新ではありません。再度ログインを行い、最新の電子証明書を取得してください。", "The society certificate is not the latest. Log in again and fetch the latest certificate.";
    /// The recipient's storage is full.
    E8001 => "健保の空き容量が不足しています。", "The recipient's storage on the server is full.";
    /// Verifying the sender's signature or certificate failed.
    E8002 => "健保組合の電子証明書検証時にエラーが発生しました。健康保険組合の担当者へ連絡してください。", "Verifying the sender's certificate failed. Contact the health insurance society.";
    /// Decrypting a received file failed.
    E8003 => "受信ファイルの復号時にエラーが発生しました。健康保険組合の担当者へ連絡してください。", "Decrypting the received file failed. Contact the health insurance society.";
    /// The destination is not registered.
    E8004 => "送信先が登録されていません。", "The destination is not registered.";
    /// A server-side file operation failed.
    E8005 => "ファイルの〇に失敗しました。", "The file could not be 〇.";
    /// The server failed.
    E9998 => "サーバ側でエラーが発生しました。健康保険組合の担当者へ連絡してください。", "The server failed. Contact the health insurance society.";
    /// Anything else: an unexpected client error.
    E9999 => "予期せぬエラーが発生しました。健康保険組合の担当者へ連絡してください。", "An unexpected error occurred. Contact the health insurance society and send today's log.";
}

/// The placeholders of the manual's texts: the first item, then the second.
const FIRST: [char; 2] = ['○', '〇'];
const SECOND: char = '●';

impl Code {
    /// The Japanese message with its placeholders filled: `items[0]` for `○`/`〇`, `items[1]`
    /// for `●`. Missing items leave their placeholder as is.
    pub fn fill(self, items: &[&str]) -> String {
        fill(self.japanese(), items)
    }

    /// The English message with its placeholders filled, as [`Code::fill`].
    pub fn fill_english(self, items: &[&str]) -> String {
        fill(self.english(), items)
    }

    /// TEMPORARY.
    pub fn remedy(self) -> &'static str {
        ""
    }

    /// TEMPORARY.
    pub fn remedy_english(self) -> &'static str {
        ""
    }

    /// Looks a code up by its printed form (`"E2006"`).
    pub fn from_code(code: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.code() == code)
    }
}

fn fill(template: &str, items: &[&str]) -> String {
    let mut out = String::with_capacity(template.len());
    for c in template.chars() {
        let item = if FIRST.contains(&c) {
            items.first()
        } else if c == SECOND {
            items.get(1)
        } else {
            None
        };
        match item {
            Some(item) => out.push_str(item),
            None => out.push(c),
        }
    }
    out
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code(), self.japanese())
    }
}

impl From<kx_crypto::AppCode> for Code {
    fn from(code: kx_crypto::AppCode) -> Self {
        match code {
            kx_crypto::AppCode::E3001 => Code::E3001,
            kx_crypto::AppCode::E3002 => Code::E3002,
            kx_crypto::AppCode::E3003 => Code::E3003,
            kx_crypto::AppCode::E8002 => Code::E8002,
            kx_crypto::AppCode::E8003 => Code::E8003,
            kx_crypto::AppCode::E9999 => Code::E9999,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_unique_and_found_by_its_name() {
        for (i, code) in Code::ALL.iter().enumerate() {
            assert_eq!(Code::from_code(code.code()), Some(*code));
            assert!(Code::ALL[i + 1..].iter().all(|c| c.code() != code.code()));
            assert!(!code.japanese().is_empty() && !code.english().is_empty());
        }
        assert_eq!(Code::ALL.len(), 32);
    }

    #[test]
    fn placeholders_are_filled_in_order() {
        assert_eq!(
            Code::E1004.fill(&["新しいパスワード", "現在のパスワード"]),
            "新しいパスワードと現在のパスワードは異なる値で入力してください。"
        );
        assert_eq!(
            Code::E2004.fill(&["exe"]),
            "「exe」拡張子のファイルは追加できません。"
        );
        assert_eq!(Code::E1001.fill(&[]), "○を入力してください。");
        assert_eq!(
            Code::E8005.fill_english(&["deleted"]),
            "The file could not be deleted."
        );
    }

    #[test]
    fn crypto_codes_keep_their_meaning() {
        assert_eq!(Code::from(kx_crypto::AppCode::E8002), Code::E8002);
        assert_eq!(Code::from(kx_crypto::AppCode::E3003).code(), "E3003");
    }
}

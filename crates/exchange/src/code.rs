//! The codes the office app shows (spec `kx-exchange.md` §8), with the manual's exact texts.
//!
//! This is the one table of `E` codes: the app prints `code + message`, the server answers
//! them in its error bodies, and nothing else spells a message out.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident => $ja:literal, $en:literal, $remedy:literal, $remedy_en:literal;)+) => {
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

            /// An English rendering for logs, operators and `--help`, placeholders unfilled.
            pub fn english(self) -> &'static str {
                match self { $(Code::$name => $en,)+ }
            }

            /// The manual's 対応方法: what the user does about the code, in the manual's words.
            ///
            /// The text names no item: it speaks of "the item in the error message", so it is
            /// shown after the filled message, never filled itself.
            pub fn remedy(self) -> &'static str {
                match self { $(Code::$name => $remedy,)+ }
            }

            /// An English rendering of [`Code::remedy`], as faithful to the manual as the
            /// Japanese.
            pub fn remedy_english(self) -> &'static str {
                match self { $(Code::$name => $remedy_en,)+ }
            }
        }
    };
}

codes! {
    /// Already running (多重起動).
    E0001 => "多重起動はできません。", "kx is already running for this profile.",
        "既にアプリが起動中のため、起動中の画面をご使用ください。",
        "The app is already running: use the screen that is already open.";
    /// Wrong login password.
    E0002 => "パスワードが無効です。", "The password is not valid.",
        "ログインパスワードに誤りがあります。正しいパスワードを入力してください。",
        "The login password is wrong. Enter the correct password.";
    /// The login certificate is not valid.
    E0003 => "電子証明書が無効です。", "The certificate is not valid.",
        "ログイン時に使用している電子証明書が正しくありません。認証局から最新の事業所の電子証明書をダウンロードしてください。",
        "The certificate used to log in is not correct. Download the office's latest certificate from the certificate authority.";
    /// A required item is empty.
    E1001 => "○を入力してください。", "Enter the ○.",
        "必須入力項目のため、エラーメッセージに表示されている項目を入力してください。",
        "The item named in the error message is required: enter it.";
    /// An item does not match the stored value.
    E1002 => "○が一致しません。", "The ○ does not match.",
        "エラーメッセージに表示されている項目の値が一致していないため、設定されている値で入力してください。",
        "The value of the item named in the error message does not match: enter the value that is set.";
    /// Two items must be equal.
    E1003 => "〇と●が一致しません。", "The 〇 and the ● do not match.",
        "エラーメッセージに表示されている項目は同じ値で入力してください。",
        "Enter the same value in the items named in the error message.";
    /// Two items must differ.
    E1004 => "〇と●は異なる値で入力してください。", "The 〇 and the ● must differ.",
        "エラーメッセージに表示されている項目は異なる値で入力してください。",
        "Enter different values in the items named in the error message.";
    /// Must be four digits.
    E1005 => "〇は数値4桁で入力してください。", "The 〇 must be 4 digits.",
        "エラーメッセージに表示されている項目は数値4桁で入力してください。",
        "Enter the item named in the error message as 4 digits.";
    /// Must be full-width.
    E1006 => "〇は全角で入力してください。", "The 〇 must be full-width characters.",
        "エラーメッセージに表示されている項目は全角で入力してください。",
        "Enter the item named in the error message in full-width characters.";
    /// A mail address must be half-width.
    E1007 => "メールアドレスは半角で入力してください。", "The mail address must be half-width characters.",
        "メールアドレスは半角で入力してください。",
        "Enter the mail address in half-width characters.";
    /// A malformed mail address.
    E1008 => "メールアドレスの形式が正しくありません。", "The mail address is malformed.",
        "入力したメールアドレスの形式に誤りがあるため、メールアドレスを再入力してください。",
        "The mail address entered is malformed: enter the mail address again.";
    /// Office name, user name or mail does not match.
    E1009 => "〇が一致していません。", "The 〇 does not match.",
        "設定されている値（事業所名、利用者名、メールアドレスのいずれか）に誤りがあるため、再入力してください。",
        "A value set (the office name, the user name or the mail address) is wrong: enter it again.";
    /// Password characters outside half-width letters, digits and symbols.
    E1010 => "パスワードは半角英数記号で入力してください。", "Use only half-width letters, digits and symbols in the password.",
        "パスワードは半角英数記号で入力してください。",
        "Enter the password in half-width letters, digits and symbols.";
    /// The password lacks a required character class.
    E1011 => "パスワードは〇を含む値で入力してください。", "The password must contain 〇.",
        "パスワードはエラーメッセージに表示されている内容を含む値で入力してください。",
        "Enter a password that contains what the error message names.";
    /// The password's length is out of bounds.
    E1012 => "パスワードは〇で入力してください。", "The password must be 〇.",
        "パスワードはエラーメッセージに表示されている文字数内で入力してください。",
        "Enter a password within the number of characters the error message names.";
    /// Nothing checked.
    E2001 => "〇対象のデータを選択してください。", "Select the data to 〇.",
        "チェックボックスが未選択のため、選択してください。",
        "No checkbox is selected: select the data.";
    /// No file to send.
    E2002 => "送信するファイルを追加してください。", "Add a file to send.",
        "ファイル追加ボタンから送信するファイルを追加してください。",
        "Add the files to send with the add-file button.";
    /// The same file name twice.
    E2003 => "既に同じ名前のファイルが追加されています。", "A file with the same name has already been added.",
        "既に同じ名前のファイルが追加されているため、一覧から同じ名前のファイルを削除してから追加を行ってください。",
        "A file with the same name has already been added: remove the file of that name from the list, then add the file.";
    /// An extension the function does not accept.
    E2004 => "「〇」拡張子のファイルは追加できません。", "Files with the extension \"〇\" cannot be added.",
        "エラーメッセージに表示されている拡張子のファイルの追加はできません。ファイル選択ダイアログの右下に表示されている拡張子の形式のみ追加可能です。",
        "Files with the extension named in the error message cannot be added. Only the file types shown at the bottom right of the file selection dialog can be added.";
    /// No destination.
    E2005 => "送信先を選択してください。", "Choose a destination.",
        "送信先を選択してください。",
        "Choose a destination.";
    /// Over 20 MB in total.
    E2006 => "選択されたファイルが20MBを超えています。", "The selected files exceed 20 MB.",
        "送信できるファイルサイズの合計が20MB以内のため、一覧からファイルを削除して、ファイルサイズ合計を20MB以下にしてください。",
        "The files sent at once may total at most 20 MB: remove files from the list to bring the total size to 20 MB or less.";
    /// A file added has vanished since.
    E2007 => "追加したファイル（〇）が存在しません。", "The file added (〇) does not exist.",
        "エラーメッセージに表示されているファイルが削除されている、または移動されています。一覧から上記のファイルを削除し、再度ファイル追加を行ってください。",
        "The file named in the error message has been deleted or moved. Remove it from the list and add the file again.";
    /// The society certificate held has expired.
    E3001 => "電子証明書の有効期限が失効しています。再度ログインを行い、最新の健保組合の電子証明書を取得してください。", "The certificate has expired. Log in again and fetch the society's latest certificate.",
        "事業所アプリの画面を閉じ、再度事業所アプリを起動し、ログインを行ってください。ログイン中に最新の健保組合の電子証明書のダウンロードの確認メッセージが表示されますので、「はい」を選択して、電子証明書をダウンロードしてください。",
        "Close the office app, start it again and log in. While logging in, a message asks whether to download the society's latest certificate: choose \"はい\" (yes) to download it.";
    /// The office certificate has expired: register anew.
    E3002 => "事業所の電子証明書の有効期限が失効しています。健康保険組合の担当者へ連絡してください。", "The office certificate has expired. Contact the health insurance society.",
        "事業所の電子証明書の有効期限が失効すると、KXサーバへログインすることができません。新規事業所として改めてKXへの登録が必要です。なお、新規事業所としての登録となるため、過去データは引き継げません。",
        "Once the office certificate has expired, the office cannot log in to the KX server. It must register with KX again, as a new office. Being a new registration, the past data is not carried over.";
    /// The society certificate held is not the latest.
    E3003 => "健保組合の電子証明書が最新ではありません。再度ログインを行い、最新の電子証明書を取得してください。", "The society certificate is not the latest. Log in again and fetch the latest certificate.",
        "事業所アプリの画面を閉じ、再度事業所アプリを起動し、ログインを行ってください。ログイン中に最新の健保組合の電子証明書のダウンロードの確認メッセージが表示されますので、「はい」を選択して、電子証明書をダウンロードしてください。",
        "Close the office app, start it again and log in. While logging in, a message asks whether to download the society's latest certificate: choose \"はい\" (yes) to download it.";
    /// The recipient's storage is full.
    E8001 => "健保の空き容量が不足しています。", "The recipient's storage on the server is full.",
        "健保の空き容量が不足しているため、ファイルの送信ができません。健康保険組合の担当者に連絡をお願いいたします。",
        "The society's free space is insufficient, so files cannot be sent. Please contact the health insurance society.";
    /// Verifying the sender's signature or certificate failed.
    E8002 => "健保組合の電子証明書検証時にエラーが発生しました。健康保険組合の担当者へ連絡してください。", "Verifying the sender's certificate failed. Contact the health insurance society.",
        "健保組合の電子証明書での検証時にエラーが発生しています。エラーの調査が必要となるため、健康保険組合の担当者に連絡をお願いいたします。",
        "An error occurred while verifying with the society's certificate. The error needs investigating: please contact the health insurance society.";
    /// Decrypting a received file failed.
    E8003 => "受信ファイルの復号時にエラーが発生しました。健康保険組合の担当者へ連絡してください。", "Decrypting the received file failed. Contact the health insurance society.",
        "ファイル受信時に事業所の電子証明書での復号にエラーが発生しています。エラーの調査が必要となるため、健康保険組合の担当者に連絡をお願いいたします。",
        "Decrypting a received file with the office's certificate failed. The error needs investigating: please contact the health insurance society.";
    /// The destination is not registered.
    E8004 => "送信先が登録されていません。", "The destination is not registered.",
        "健保組合の部署情報が登録されていません。健康保険組合の担当者に連絡をお願いいたします。",
        "The society's department is not registered. Please contact the health insurance society.";
    /// A server-side file operation failed.
    E8005 => "ファイルの〇に失敗しました。", "Failed to 〇 the file.",
        "サーバ側でファイル操作のエラーが発生しています。エラーの調査が必要となるため、健康保険組合の担当者に連絡をお願いいたします。",
        "A file operation failed on the server. The error needs investigating: please contact the health insurance society.";
    /// The server failed.
    E9998 => "サーバ側でエラーが発生しました。健康保険組合の担当者へ連絡してください。", "The server failed. Contact the health insurance society.",
        "サーバ側でシステムエラーが発生しています。エラーの調査が必要となるため、健康保険組合の担当者に連絡をお願いいたします。",
        "A system error occurred on the server. The error needs investigating: please contact the health insurance society.";
    /// Anything else: an unexpected client error.
    E9999 => "予期せぬエラーが発生しました。健康保険組合の担当者へ連絡してください。", "An unexpected error occurred. Contact the health insurance society and send today's log.",
        "事業所アプリ内でシステムエラーが発生しており、エラーの調査が必要となるため、健康保険組合の担当者に連絡をお願いいたします。アプリのEXEファイルがあるフォルダ内に「Log」フォルダがありますので、「Log」フォルダ内にある本日の日付のLogファイルを健康保険組合に送付してください。",
        "A system error occurred in the office app and needs investigating: please contact the health insurance society. The folder of the app's EXE file holds a \"Log\" folder: send the health insurance society today's log file from it.";
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

    /// The English message with its placeholders filled, as [`Code::fill`], each item in
    /// English ([`item_english`]) but for the file names and extensions of E2004 and E2007,
    /// which stay as they are.
    pub fn fill_english(self, items: &[&str]) -> String {
        if matches!(self, Code::E2004 | Code::E2007) {
            return fill(self.english(), items);
        }
        let english: Vec<Cow<'_, str>> = items.iter().map(|item| item_english(item)).collect();
        let refs: Vec<&str> = english.iter().map(|item| item.as_ref()).collect();
        fill(self.english(), &refs)
    }

    /// Looks a code up by its printed form (`"E2006"`).
    pub fn from_code(code: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.code() == code)
    }
}

/// The items the codes name (labels, operations, password character classes) and their English,
/// as the English messages use them: labels without an article, operations as bare verbs
/// ("Select the data to delete.", "Failed to receive the file.").
const GLOSSARY: &[(&str, &str)] = &[
    ("PIN", "PIN"),
    ("新しいPIN", "new PIN"),
    ("新しいPIN（確認）", "new PIN (again)"),
    ("パスワード", "password"),
    ("仮パスワード", "temporary password"),
    ("現在のパスワード", "current password"),
    ("新しいパスワード", "new password"),
    ("新しいパスワード（確認）", "new password (again)"),
    ("ユーザ名", "user name"),
    ("利用者名", "user name"),
    ("利用者コード", "user code"),
    ("事業所名", "office name"),
    ("メールアドレス", "mail address"),
    ("ワンタイムコード", "one-time code"),
    ("ID", "ID"),
    ("KXサーバのURL", "KX server URL"),
    ("CA証明書", "CA certificate"),
    ("受信フォルダ", "receive folder"),
    ("受信", "receive"),
    ("送信", "send"),
    ("削除", "delete"),
    ("取消", "cancel"),
    ("英大文字", "upper-case letters"),
    ("英小文字", "lower-case letters"),
    ("数字", "digits"),
    ("記号", "symbols"),
];

/// The English of an item a message names: a known label or operation, the password's
/// character classes (`英大文字・数字` → "upper-case letters and digits") and length bounds
/// (`8文字以上16文字以下` → "8 to 16 characters"). Anything else (a name the user typed) stays
/// as it is.
pub fn item_english(item: &str) -> Cow<'_, str> {
    if let Some((_, english)) = GLOSSARY.iter().find(|(ja, _)| *ja == item) {
        return Cow::Borrowed(english);
    }
    if let Some((min, max)) = item
        .strip_suffix("文字以下")
        .and_then(|rest| rest.split_once("文字以上"))
        && [min, max]
            .iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    {
        return Cow::Owned(format!("{min} to {max} characters"));
    }
    if item.contains('・') {
        let parts: Vec<Cow<'_, str>> = item.split('・').map(item_english).collect();
        if let Some((last, rest)) = parts.split_last()
            && !rest.is_empty()
        {
            let rest: Vec<&str> = rest.iter().map(|part| part.as_ref()).collect();
            return Cow::Owned(format!("{} and {last}", rest.join(", ")));
        }
    }
    Cow::Borrowed(item)
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
            Code::E8005.fill_english(&["削除"]),
            "Failed to delete the file."
        );
    }

    #[test]
    fn english_messages_name_their_items_in_english() {
        assert_eq!(
            Code::E1004.fill_english(&["新しいPIN", "PIN"]),
            "The new PIN and the PIN must differ."
        );
        assert_eq!(
            Code::E1002.fill_english(&["PIN"]),
            "The PIN does not match."
        );
        assert_eq!(
            Code::E2001.fill_english(&["受信"]),
            "Select the data to receive."
        );
        assert_eq!(
            Code::E1011.fill_english(&["英大文字・英小文字・数字"]),
            "The password must contain upper-case letters, lower-case letters and digits."
        );
        assert_eq!(
            Code::E1012.fill_english(&["8文字以上16文字以下"]),
            "The password must be 8 to 16 characters."
        );
        // A user's file names are never translated.
        assert_eq!(
            Code::E2007.fill_english(&["削除"]),
            "The file added (削除) does not exist."
        );
        assert_eq!(
            Code::E1001.fill_english(&["受付番号"]),
            "Enter the 受付番号."
        );
    }

    #[test]
    fn every_code_says_what_to_do_in_both_languages() {
        for code in Code::ALL {
            for text in [code.remedy(), code.remedy_english()] {
                assert!(!text.trim().is_empty(), "{code:?} has no remedy");
                assert!(!text.contains(['○', '〇', '●']), "{code:?}: {text}");
            }
            // The Japanese is the manual's: no English rendering left in its place.
            assert!(!code.remedy().is_ascii(), "{code:?}");
            assert!(code.remedy_english().is_ascii() || code.remedy_english().contains("はい"));
        }
        assert_eq!(
            Code::E2005.remedy(),
            "送信先を選択してください。",
            "the manual's 対応方法"
        );
    }

    #[test]
    fn crypto_codes_keep_their_meaning() {
        assert_eq!(Code::from(kx_crypto::AppCode::E8002), Code::E8002);
        assert_eq!(Code::from(kx_crypto::AppCode::E3003).code(), "E3003");
    }
}

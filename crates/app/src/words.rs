//! Every label of the screens, Japanese and English side by side: one table, so that the
//! manual's labels (受信ファイル一覧取得, ファイル送信（電子申請）, …) are written once,
//! verbatim.

use crate::page::Lang;

/// A text in both languages.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tr {
    /// 日本語.
    pub(crate) ja: &'static str,
    /// English.
    pub(crate) en: &'static str,
}

impl Tr {
    /// The text in `lang`.
    pub(crate) fn get(self, lang: Lang) -> &'static str {
        match lang {
            Lang::Ja => self.ja,
            Lang::En => self.en,
        }
    }
}

macro_rules! words {
    ($($(#[$doc:meta])* $name:ident => $ja:literal, $en:literal;)+) => {
        $($(#[$doc])* pub(crate) const $name: Tr = Tr { ja: $ja, en: $en };)+
    };
}

words! {
    OFFICE_APP => "KX 事業所アプリ", "KX office app";
    SOCIETY_DESK => "KX 健保組合デスク", "KX society desk";
    NAVIGATION => "操作", "Navigation";
    MENU => "機能一覧", "Functions";
    OTHER_LANGUAGE => "English", "日本語";
    LOGOUT => "ログアウト", "Log out";
    QUIT => "終了", "Quit";
    ERROR => "エラー", "Error";
    REMEDY => "対応方法", "What to do";
    CONFIRM => "確認", "Confirm";
    YES => "はい", "Yes";
    NO => "いいえ", "No";
    OK => "OK", "OK";
    BACK => "戻る", "Back";

    NOT_LAUNCHED => "このページは kx app が開いたブラウザからのみ使えます。", "This page only works in the browser kx app opened.";
    STALE_LAUNCH => "この起動用URLは使用済みです。kx app をもう一度実行してください。", "This launch URL was used already. Run kx app again.";
    FOREIGN_HOST => "このアドレスからは使えません。", "Not available under this address.";
    FOREIGN_ORIGIN => "他のサイトからの操作は受け付けません。", "Requests from other sites are refused.";
    QUITTING => "アプリを終了しました。このタブは閉じてください。", "The app has quit. You may close this tab.";

    PIN_ENTRY => "PIN入力", "PIN";
    PIN => "PIN", "PIN";
    PIN_CHANGE => "PIN変更", "Change PIN";
    CURRENT_PIN => "現在のPIN", "Current PIN";
    NEW_PIN => "変更後のPIN", "New PIN";
    NEW_PIN_AGAIN => "変更後のPIN再確認", "New PIN again";
    PIN_CHANGED => "PINを変更しました。", "The PIN was changed.";
    START_CONFIRM => "起動確認", "Start";
    START_QUESTION => "KX事業所アプリを起動します。よろしいですか？", "Start the KX office app?";
    LOCKED_IDLE => "しばらく操作がなかったため、ロックしました。PINを入力してください。", "Locked after a while without use. Enter the PIN.";

    SETUP => "初回設定", "First setup";
    SERVER_URL => "KXサーバのURL", "KX server URL";
    SERVER_CA => "KXサーバのCA証明書（PEM）", "KX server CA certificate (PEM)";
    LOGIN_ID => "ID", "ID";
    ONE_TIME_CODE => "ワンタイムコード", "One-time code";
    TEMPORARY_PASSWORD => "仮パスワード", "Temporary password";
    SETUP_START => "登録を申請", "Request registration";
    WAITING => "健康保険組合の承認待ち", "Waiting for the society";
    WAITING_TEXT => "電子証明書の発行を健康保険組合に依頼しました。承認されるまでこの画面のままお待ちください。", "The certificate was requested from the society. Keep this screen open until it is issued.";
    #[allow(dead_code, reason = "a label of a screen still to come")]
    ISSUED => "電子証明書が発行されました。", "The certificate was issued.";
    RESUME => "承認待ちを再開", "Resume waiting";
    RESUME_TEXT => "健康保険組合の承認待ちの申請があります。PINを入力して待機を再開してください。", "A request is waiting for the society. Enter the PIN to keep waiting.";
    NEW_PASSWORD_TEXT => "健康保険組合から受け取った仮パスワードを、ご自分で決めたパスワードに変更してください。", "Replace the temporary password the society gave with one you choose.";

    UPDATE_AVAILABLE => "新しいバージョンが公開されています", "A new version is available";
    RENEWAL_DUE => "電子証明書の更新", "Certificate renewal";
    RENEWAL_TEXT => "電子証明書の有効期限が近づいています。更新しますか？", "Our certificate expires soon. Renew it now?";
    RENEW => "更新", "Renew";
    #[allow(dead_code, reason = "a label of a screen still to come")]
    RENEWED => "電子証明書を更新しました。", "The certificate was renewed.";
    SOCIETY_CERTIFICATE => "健保組合の電子証明書", "The society's certificate";
    SOCIETY_CERTIFICATE_FETCHED => "最新の健保組合の電子証明書を取得しました。", "Fetched the society's latest certificate.";

    INBOX => "受信ファイル一覧取得", "Received files";
    SEND_E_APPLICATION => "ファイル送信（電子申請）", "Send files (e-application)";
    SEND_ATTACHMENTS => "ファイル送信（電子申請以外）", "Send files (other than e-application)";
    SENT => "送信済みファイルステータス一覧", "Sent files";
    SETTINGS => "設定変更", "Settings";
    PASSWORD_CHANGE => "パスワード変更", "Change password";

    SELECT => "選択", "Select";
    RECEIVED_AT => "受信日時", "Received";
    NOT_YET => "未", "not yet";
    DONE_MARK => "済", "done";
    SENT_AT => "送信日時", "Sent";
    FROM => "送信元", "From";
    SIZE => "サイズ", "Size";
    EXPIRES => "受信期限", "Receivable until";
    FILE_NAME => "ファイル名", "File name";
    RECEIVE => "受信", "Receive";
    DELETE => "削除", "Delete";
    HISTORY => "履歴", "History";
    INBOX_EMPTY => "受信可能なファイルはありません。", "No files to receive.";
    DOWNLOAD => "ダウンロード", "Download";
    DECRYPTION => "復号", "Decryption";
    UPLOAD => "暗号化・送信", "Encrypt and upload";
    RECEIVE_RESULT => "受信結果", "Receive result";
    DELETE_RESULT => "削除結果", "Delete result";
    SAVE => "保存", "Save";
    SAVED_IN => "保存先", "Saved in";
    SUCCESS => "成功", "Succeeded";
    FAILED => "失敗", "Failed";
    DELETE_UNRECEIVED => "未受信のファイル（受信日時が「未」）を削除すると、受信できなくなります。健康保険組合へ再送信を依頼することになります。削除しますか？", "Files never received (未) cannot be received once deleted: the society would have to send them again. Delete them?";
    DELETE_QUESTION => "選択したファイルを削除しますか？", "Delete the selected files?";
    HISTORY_TITLE => "削除済み受信ファイルの履歴", "History of deleted received files";
    HISTORY_TEXT => "履歴は送信日から2年間表示されます。", "Kept for 2 years from the send date.";
    DELETED_AT => "削除日時", "Deleted";
    NONE => "ありません。", "None.";

    DESTINATION => "送信先", "Destination";
    CHOOSE => "選択してください", "Choose";
    ADD_FILES => "ファイル追加", "Add files";
    FILES_TO_SEND => "送信するファイル", "Files to send";
    TOTAL => "合計", "Total";
    LIMIT => "上限 20MB", "limit 20 MB";
    SEND => "送信", "Send";
    SEND_QUESTION => "ファイルを送信します。よろしいですか？", "Send the files?";
    #[allow(dead_code, reason = "a label of a screen still to come")]
    SEND_RESULT => "送信結果", "Send result";
    SENT_OK => "ファイルの送信が完了しました。", "The files were sent.";
    E_APPLICATION_POLICY => "こちらから送信出来るのは「KPFD.CSV」ファイルのみです。", "Only the file KPFD.CSV can be sent here.";
    ATTACHMENTS_POLICY => "こちらから送信出来るのは各種添付書類のみです。資格取得届等の届出書類を PDF や Excel 等で送信することは出来ません。", "Only attachment documents can be sent here. Notifications such as 資格取得届 cannot be sent as PDF or Excel.";
    ALLOWED => "選択可能なファイルの種類", "File types accepted";
    #[allow(dead_code, reason = "a label of a screen still to come")]
    CHECK_FINDINGS => "KPFD.CSV の送信前チェック", "KPFD.CSV pre-send check";
    #[allow(dead_code, reason = "a label of a screen still to come")]
    CHECK_CLEAN => "問題は見つかりませんでした。", "No problems found.";
    #[allow(dead_code, reason = "a label of a screen still to come")]
    LINE => "行", "Line";
    #[allow(dead_code, reason = "a label of a screen still to come")]
    FIELD => "項目", "Field";

    PERIOD => "期間", "Period";
    LAST_TWO_MONTHS => "過去2か月", "Last 2 months";
    ALL => "全件", "All";
    SHOW => "表示", "Show";
    SEALED_NAME => "ファイル名（暗号化後）", "File name (sealed)";
    SOCIETY_DOWNLOAD => "健保ダウンロード", "Downloaded by the society";
    CANCEL_QUESTION => "選択したファイルの送信を取り消します（健康保険組合はダウンロードできなくなります）。よろしいですか？", "Cancel the selected sends (the society will not be able to download them)?";
    CANCEL_RESULT => "取消結果", "Cancel result";
    SENT_NOTE => "ファイル名は暗号化後のファイル名を表示します。健保ダウンロードが「未」のファイルは、チェックして削除すると送信を取り消せます。", "Names are those after encryption. A file the society has not downloaded (未) can be checked and deleted to cancel the send.";

    CURRENT_PASSWORD => "現在のパスワード", "Current password";
    NEW_PASSWORD => "変更後のパスワード", "New password";
    NEW_PASSWORD_AGAIN => "変更後のパスワード確認", "New password again";
    UPDATE => "更新", "Update";
    PASSWORD_CHANGED => "パスワードを変更しました。", "The password was changed.";
    USER_NAME => "利用者名", "User name";
    USER_CODE => "利用者コード", "User code";
    MAIL => "メールアドレス", "Mail address";
    APPLY => "変更情報を反映", "Apply";
    PROFILE_CHANGED => "設定を変更しました。", "The settings were changed.";
    MAIL_NOTE => "ここで指定するメールアドレス宛に、ファイル受信通知のメールが届きます。", "Notification mails go to this address.";
    LOCAL_SETTINGS => "このパソコンの設定", "On this computer";
    RECEIVE_FOLDER => "受信フォルダ（空欄：ブラウザのダウンロードのみ）", "Receive folder (empty: browser downloads only)";
    IDLE_MINUTES => "自動ロックまでの分数", "Minutes until the app locks itself";
    SAVE_SETTINGS => "保存", "Save";
    SETTINGS_SAVED => "このパソコンの設定を保存しました。", "The settings of this computer were saved.";
    FOLDER_MISSING => "受信フォルダが見つかりません。", "The receive folder does not exist.";
}

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
    DESK_START_QUESTION => "KX健保組合デスクを起動します。よろしいですか？", "Start the KX society desk?";
    LOCKED_IDLE => "しばらく操作がなかったため、ロックしました。PINを入力してください。", "Locked after a while without use. Enter the PIN.";
    SESSION_ENDED => "KXサーバがログインを終了しました。PINを入力してください。", "The KX server ended the login. Enter the PIN.";

    SETUP => "初回設定", "First setup";
    SERVER_URL => "KXサーバのURL", "KX server URL";
    SERVER_CA => "KXサーバのCA証明書（PEM）", "KX server CA certificate (PEM)";
    LOGIN_ID => "ID", "ID";
    ONE_TIME_CODE => "ワンタイムコード", "One-time code";
    TEMPORARY_PASSWORD => "仮パスワード", "Temporary password";
    SETUP_START => "登録を申請", "Request registration";
    WAITING => "健康保険組合の承認待ち", "Waiting for the society";
    WAITING_TEXT => "電子証明書の発行を健康保険組合に依頼しました。承認されるまでこの画面のままお待ちください。", "The certificate was requested from the society. Keep this screen open until it is issued.";
    RESUME => "承認待ちを再開", "Resume waiting";
    RESUME_TEXT => "健康保険組合の承認待ちの申請があります。PINを入力して待機を再開してください。", "A request is waiting for the society. Enter the PIN to keep waiting.";
    NEW_PASSWORD_TEXT => "健康保険組合から受け取った仮パスワードを、ご自分で決めたパスワードに変更してください。", "Replace the temporary password the society gave with one you choose.";

    UPDATE_AVAILABLE => "新しいバージョンが公開されています", "A new version is available";
    RENEWAL_DUE => "電子証明書の更新", "Certificate renewal";
    RENEWAL_TEXT => "電子証明書の有効期限が近づいています。更新しますか？", "Our certificate expires soon. Renew it now?";
    RENEW => "更新", "Renew";
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
    /// The file chooser's own label, apart from the button's (two controls of one name).
    FILES_TO_ADD => "追加するファイル", "Files to add";
    FILES_TO_SEND => "送信するファイル", "Files to send";
    TOTAL => "合計", "Total";
    LIMIT => "上限 20MB", "limit 20 MB";
    SEND => "送信", "Send";
    SEND_QUESTION => "ファイルを送信します。よろしいですか？", "Send the files?";
    SEND_RESULT => "送信結果", "Send result";
    SENT_OK => "ファイルの送信が完了しました。", "The files were sent.";
    E_APPLICATION_POLICY => "こちらから送信出来るのは「KPFD.CSV」ファイルのみです。", "Only the file KPFD.CSV can be sent here.";
    KPFD_CHECK => "KPFD.CSV の事前チェック", "KPFD.CSV pre-send check";
    KPFD_CLEAN => "問題は見つかりませんでした。", "Nothing found.";
    KPFD_FIX => "エラーのある KPFD.CSV は受け付けられない可能性が高いです。作成したソフトで直してから、ここで削除して追加し直してください。", "A KPFD.CSV with errors is very likely refused: fix it in the software that made it, then delete it here and add it again.";
    KPFD_OMITTED => "表示しきれなかった指摘", "Findings not listed";
    KPFD_IGNORE => "エラーがあっても送信する", "Send despite the errors";
    KPFD_HELD => "KPFD.CSV にエラーがあるため、送信していません。直して追加し直すか、「エラーがあっても送信する」を選んでください。", "Not sent: KPFD.CSV has errors. Fix it and add it again, or choose “Send despite the errors”.";
    WARNING => "注意", "Warning";
    SEVERITY => "重要度", "Severity";
    LINE => "行", "Line";
    FIELD => "項目", "Field";
    FINDING => "内容", "Finding";
    ATTACHMENTS_POLICY => "こちらから送信出来るのは各種添付書類のみです。資格取得届等の届出書類を PDF や Excel 等で送信することは出来ません。", "Only attachment documents can be sent here. Notifications such as 資格取得届 cannot be sent as PDF or Excel.";
    ALLOWED => "選択可能なファイルの種類", "File types accepted";

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

    DESK_SETUP => "健康保険組合の初回設定", "First setup of the society desk";
    DESK_SETUP_LINK => "健康保険組合の方はこちら（健保組合デスクの初回設定）", "Society staff: set up the society desk instead";
    OFFICE_SETUP_LINK => "事業所の方はこちら（事業所アプリの初回設定）", "Office staff: set up the office app instead";
    DESK_SETUP_TEXT => "健康保険組合のCA（認証局）と電子証明書をこのパソコンで作成し、KXサーバに登録します。CAの秘密鍵はPINで保護され、このパソコンから出ません。", "The society's CA and certificate are made on this computer and registered with the KX server. The CA's key stays here, under the PIN.";
    DESK_SETUP_START => "登録", "Register";
    DESK_RECEIVE => "受信", "Receive";
    DESK_SEND => "事業所へ送信", "Send to offices";
    DESK_SENT => "送信状況", "Send status";
    REQUESTS => "電子証明書の発行申請", "Certificate requests";
    OFFICES => "事業所一覧", "Offices";
    EXPIRING => "有効期限が近い事業所の電子証明書", "Office certificates expiring soon";
    REQUESTED_AT => "申請日時", "Requested";
    OFFICE_NUMBER => "事業所番号", "Office number";
    OFFICE_NAME => "事業所名", "Office name";
    USER_ID => "利用者ID", "User ID";
    REQUEST_KIND => "種別", "Kind";
    REQUEST_NEW => "新規", "New";
    REQUEST_RENEWAL => "更新", "Renewal";
    APPROVE => "承認", "Approve";
    REFUSE => "却下", "Refuse";
    REFUSE_REASON => "却下の理由（事業所に表示されます）", "Reason for refusing (shown to the office)";
    APPROVE_QUESTION => "選択した申請に電子証明書を発行します。よろしいですか？", "Issue certificates for the selected requests?";
    REFUSE_QUESTION => "選択した申請を却下します。よろしいですか？", "Refuse the selected requests?";
    DECISION_RESULT => "処理結果", "Result";
    ISSUED_MARK => "発行しました", "Issued";
    REFUSED_MARK => "却下しました", "Refused";
    NO_REQUESTS => "承認待ちの申請はありません。", "No requests are waiting.";
    SEARCH => "検索（事業所番号・事業所名）", "Search (office number or name)";
    CERT_EXPIRES => "電子証明書の有効期限", "Certificate expires";
    DAYS_LEFT => "残り日数", "Days left";
    NO_CERTIFICATE => "有効な電子証明書なし（送信不可）", "No valid certificate (cannot send)";
    EXPIRING_TEXT => "有効期限まで60日を切った事業所です。事業所アプリの起動時に更新が案内されます。", "Fewer than 60 days left: the office app offers the renewal at its start.";
    NO_EXPIRING => "有効期限が近い事業所はありません。", "No office certificate expires within 60 days.";
    CHOSEN_OFFICES => "送信先の事業所", "Offices to send to";
    CHOOSE_OFFICES => "送信先に設定", "Set as destinations";
    DELIVERY_RESULT => "事業所ごとの送信結果", "Result per office";
    ALL_DESTINATIONS => "すべての送信先", "All destinations";
    ALL_OFFICES => "すべての事業所", "All offices";
    SERVE_RUNNING => "kx society serve が実行中です", "kx society serve is running";
    SERVE_TEXT => "このプロファイルは kx society serve が自動で処理しています（受信・送信・承認）。デスクで操作するには、serve を停止してから kx app を起動し直してください。", "This profile is handled by kx society serve (receiving, sending, approving). To work on the desk, stop serve and start kx app again.";
    SERVE_STOPPED => "kx society serve の応答がありません。停止している場合は kx app を起動し直してください。", "kx society serve has not reported lately. If it stopped, start kx app again.";
    SERVE_STARTED => "開始日時", "Started";
    SERVE_LAST_ROUND => "最終処理日時", "Last round";
    SERVE_INTERVAL => "処理間隔（秒）", "Interval (seconds)";
    SERVE_INBOX => "受信フォルダ", "Inbox folder";
    SERVE_OUTBOX => "送信フォルダ", "Outbox folder";
    SERVE_APPROVING => "申請の自動承認", "Approves requests";
    SERVE_PULLED => "受信したファイル", "Files received";
    SERVE_SENT => "送信したファイル", "Files sent";
    SERVE_DECIDED => "処理した申請", "Requests decided";
    SERVE_FAILURES => "失敗", "Failures";
    SERVE_LAST_FAILURE => "最後のエラー", "Last error";
}

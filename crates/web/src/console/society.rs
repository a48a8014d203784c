//! A society administrator's screens: its own society's offices, users (with one-time
//! enrolment codes), destinations, files' metadata and certificates. The society is always
//! the session's; an id in a URL or a form that names anything outside it is answered as a
//! missing one.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use maud::html;
use serde::Deserialize;

use kx_exchange::names::{valid_login_id, valid_office_number};
use kx_store::exchange::{CodeKind, ExchangeUser, Party, PartyId, PartyKind};

use super::federation::stored;
use super::page::{
    Lang, Notice, QUOTA_INVALID, QuotaForm, Text, bytes, html_response, quota_form, time,
};
use super::require;
use super::{Console, Visit, not_found, store_failed};

/// Certificates expiring within this many days are listed first.
const EXPIRY_WARNING_DAYS: i64 = 60;

pub(super) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/offices", get(offices).post(add_office))
        .route("/offices/{number}", get(office))
        .route("/offices/{number}/quota", post(set_office_quota))
        .route("/users", get(users).post(add_user))
        .route("/users/{id}/{action}", post(user_action))
        .route("/destinations", get(destinations).post(change_destinations))
        .route("/files", get(files))
        .route("/files/{id}", get(file))
        .route("/certificates", get(certificates))
}

/// The society's overview: its figures and what waits for it.
pub(super) async fn overview(console: &Console, visit: &Visit, society: PartyId) -> Response {
    let lang = visit.lang;
    let store = console.store();
    let Some(party) = stored!(lang, "society", store.party(society).await) else {
        return not_found(visit);
    };
    let offices = stored!(lang, "offices", store.parties(Some(society)).await);
    let used = stored!(lang, "quota", store.quota_used(society).await);
    let waiting = stored!(
        lang,
        "requests",
        store.pending_requests(society, chrono::Utc::now()).await
    );
    let inbox = stored!(lang, "inbox", store.inbox(society).await);
    let figures = [
        (Text("事業所", "Offices"), offices.len().to_string()),
        (
            Text("未受信ファイル", "Files in the inbox"),
            inbox.len().to_string(),
        ),
        (
            Text("使用量", "Used"),
            format!("{} / {}", bytes(used), bytes(party.quota_bytes)),
        ),
        (
            Text("承認待ちの証明書要求", "Certificate requests waiting"),
            waiting.len().to_string(),
        ),
    ];
    let body = html! {
        p { (party.name) " (" (party.number) ")" }
        section.figures aria-label=(lang.t(Text("概況", "Figures"))) {
            @for (label, value) in &figures { div.figure { div { (lang.t(*label)) } div.v { (value) } } }
        }
        @if !waiting.is_empty() {
            p { (lang.t(Text(
                "証明書要求の承認は、組合の窓口アプリ（CA鍵を持つ端末）で行います。",
                "Certificate requests are approved on the society desk, which holds the CA key.",
            ))) }
        }
    };
    visit
        .frame()
        .respond(StatusCode::OK, Text("概要", "Overview"), None, body)
}

/// The society's office numbered `number`, if it is this society's.
async fn own_office(
    console: &Console,
    society: PartyId,
    number: &str,
) -> Result<Option<Party>, kx_store::Error> {
    console.store().office_by_number(society, number).await
}

async fn offices(State(console): State<Arc<Console>>, visit: Visit) -> Response {
    let (_, society) = require!(visit.society());
    offices_page(&console, &visit, society, StatusCode::OK, None).await
}

async fn offices_page(
    console: &Console,
    visit: &Visit,
    society: PartyId,
    status: StatusCode,
    notice: Option<&Notice>,
) -> Response {
    let lang = visit.lang;
    let store = console.store();
    let offices = stored!(lang, "offices", store.parties(Some(society)).await);
    let mut rows = Vec::with_capacity(offices.len());
    for office in offices {
        let used = stored!(lang, "quota", store.quota_used(office.id).await);
        rows.push((office, used));
    }
    let frame = visit.frame();
    let body = html! {
        table {
            thead { tr {
                th { (lang.t(Text("事業所番号", "Number"))) } th { (lang.t(Text("名称", "Name"))) }
                th { (lang.t(Text("使用量", "Used"))) } th { (lang.t(Text("容量上限", "Quota"))) }
            } }
            tbody {
                @for (office, used) in &rows {
                    tr {
                        td { a href={ "/offices/" (office.number) } { (office.number) } }
                        td { (office.name) } td.n { (bytes(*used)) } td.n { (bytes(office.quota_bytes)) }
                    }
                }
            }
        }
        (frame.add_form("/offices", Text("事業所を追加", "Add an office"), Text("追加", "Add"), html! {
            label { (lang.t(Text("事業所番号", "Number"))) input type="text" name="number" required; }
            label { (lang.t(Text("名称", "Name"))) input type="text" name="name" required; }
        }))
    };
    frame.respond(status, Text("事業所", "Offices"), notice, body)
}

#[derive(Deserialize)]
struct OfficeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    name: String,
}

async fn add_office(
    State(console): State<Arc<Console>>,
    visit: Visit,
    Form(form): Form<OfficeForm>,
) -> Response {
    require!(visit.signed_form(&form.csrf));
    let (_, society) = require!(visit.society());
    let lang = visit.lang;
    let number = form.number.trim();
    if !valid_office_number(number) || form.name.trim().is_empty() {
        let notice = Notice::error(
            lang,
            Text(
                "事業所番号（空白なし）と名称を入力してください。",
                "Enter a number (without spaces) and a name.",
            ),
        );
        return offices_page(
            &console,
            &visit,
            society,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(&notice),
        )
        .await;
    }
    let added = console
        .store()
        .add_office(
            society,
            number,
            form.name.trim(),
            console.settings.office_quota,
            chrono::Utc::now(),
        )
        .await;
    let notice = match visit.added(&console, "office.add", number, added).await {
        Ok(notice) => notice,
        Err(answer) => return answer,
    };
    offices_page(&console, &visit, society, StatusCode::OK, Some(&notice)).await
}

async fn office(
    State(console): State<Arc<Console>>,
    visit: Visit,
    Path(number): Path<String>,
) -> Response {
    let (_, society) = require!(visit.society());
    let lang = visit.lang;
    let Some(office) = stored!(lang, "office", own_office(&console, society, &number).await) else {
        return not_found(&visit);
    };
    office_page(&console, &visit, office, None).await
}

async fn office_page(
    console: &Console,
    visit: &Visit,
    office: Party,
    notice: Option<&Notice>,
) -> Response {
    let lang = visit.lang;
    let store = console.store();
    let users = stored!(lang, "users", store.exchange_users(Some(office.id)).await);
    let certificates = stored!(
        lang,
        "certificates",
        store.certificates(office.id, false).await
    );
    let used = stored!(lang, "quota", store.quota_used(office.id).await);
    let body = html! {
        dl {
            dt { (lang.t(Text("事業所番号", "Number"))) } dd { (office.number) }
            dt { (lang.t(Text("名称", "Name"))) } dd { (office.name) }
            dt { (lang.t(Text("使用量 / 容量上限", "Used / quota"))) } dd { (bytes(used)) " / " (bytes(office.quota_bytes)) }
        }
        (quota_form(&visit.frame(), &format!("/offices/{}/quota", office.number), &office.number, office.quota_bytes))
        h2 { (lang.t(Text("利用者", "Users"))) }
        (users_table(visit, &users, std::slice::from_ref(&office)))
        h2 { (lang.t(Text("証明書", "Certificates"))) }
        (certificate_table(lang, &certificates.iter().map(|c| (&office, c)).collect::<Vec<_>>()))
    };
    visit
        .frame()
        .respond(StatusCode::OK, Text("事業所", "Office"), notice, body)
}

async fn set_office_quota(
    State(console): State<Arc<Console>>,
    visit: Visit,
    Path(number): Path<String>,
    Form(form): Form<QuotaForm>,
) -> Response {
    require!(visit.signed_form(&form.csrf));
    let (_, society) = require!(visit.society());
    let lang = visit.lang;
    let Some(office) = stored!(lang, "office", own_office(&console, society, &number).await) else {
        return not_found(&visit);
    };
    let Some(bytes) = form.bytes() else {
        return office_page(
            &console,
            &visit,
            office,
            Some(&Notice::error(lang, QUOTA_INVALID)),
        )
        .await;
    };
    stored!(
        lang,
        "set quota",
        console.store().set_quota(office.id, bytes).await
    );
    visit.audit(&console, "office.quota", &number, "ok").await;
    let Some(office) = stored!(lang, "office", own_office(&console, society, &number).await) else {
        return not_found(&visit);
    };
    let notice = Notice::done_to(
        lang,
        Text("容量上限を変更しました：", "Quota changed:"),
        &number,
    );
    office_page(&console, &visit, office, Some(&notice)).await
}

fn users_table(visit: &Visit, users: &[ExchangeUser], parties: &[Party]) -> maud::Markup {
    let lang = visit.lang;
    let frame = visit.frame();
    let now = chrono::Utc::now();
    html! {
        table {
            thead { tr {
                th { "ID" } th { (lang.t(Text("所属", "Party"))) } th { (lang.t(Text("利用者名", "Name"))) }
                th { (lang.t(Text("状態", "State"))) } th { (lang.t(Text("操作", "Actions"))) }
            } }
            tbody {
                @for user in users {
                    @let party = parties.iter().find(|p| p.id == user.party);
                    tr {
                        td { (user.id) }
                        td { @if let Some(party) = party { (party.number) " " (party.name) } }
                        td { (user.user_name) }
                        td {
                            @if user.locked || user.locked_until.is_some_and(|until| until > now) { (lang.t(Text("ロック中", "locked"))) }
                            @else if user.must_change_password { (lang.t(Text("仮パスワード", "temporary password"))) }
                            @else { (lang.t(Text("有効", "active"))) }
                        }
                        td {
                            @for (action, label) in [
                                ("password", Text("パスワード再発行", "Reset password")),
                                ("code", Text("登録コード発行", "Issue enrolment code")),
                                ("unlock", Text("ロック解除", "Unlock")),
                            ] {
                                @if action != "code" || party.is_some_and(|p| p.kind == PartyKind::Office) {
                                    form.inline method="post" action={ "/users/" (user.id) "/" (action) } {
                                        (frame.csrf())
                                        button type="submit" aria-label={ (lang.t(label)) " " (user.id) } { (lang.t(label)) }
                                    }
                                    " "
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The society itself and its offices: every party whose users this administrator manages.
async fn own_parties(console: &Console, society: PartyId) -> Result<Vec<Party>, kx_store::Error> {
    let store = console.store();
    let mut parties: Vec<Party> = store.party(society).await?.into_iter().collect();
    parties.extend(store.parties(Some(society)).await?);
    Ok(parties)
}

async fn users(State(console): State<Arc<Console>>, visit: Visit) -> Response {
    let (_, society) = require!(visit.society());
    users_page(&console, &visit, society, StatusCode::OK, None, None).await
}

async fn users_page(
    console: &Console,
    visit: &Visit,
    society: PartyId,
    status: StatusCode,
    notice: Option<&Notice>,
    secret: Option<(Text, &str, &str)>,
) -> Response {
    let lang = visit.lang;
    let parties = stored!(lang, "parties", own_parties(console, society).await);
    let mut users = Vec::new();
    for party in &parties {
        users.extend(stored!(
            lang,
            "users",
            console.store().exchange_users(Some(party.id)).await
        ));
    }
    let offices: Vec<&Party> = parties
        .iter()
        .filter(|p| p.kind == PartyKind::Office)
        .collect();
    let frame = visit.frame();
    let body = html! {
        @if let Some((label, id, value)) = secret {
            p.ok role="status" { (lang.t(label)) " " (id) ": " span.secret { (value) } }
        }
        (users_table(visit, &users, &parties))
        (frame.add_form("/users", Text("事業所の利用者を追加（仮パスワードを発行します）", "Add an office user (a temporary password is issued)"), Text("追加", "Add"), html! {
            label { (lang.t(Text("事業所", "Office")))
            select name="office" required {
            @for office in &offices { option value=(office.number) { (office.number) " " (office.name) } }
            }
            }
            label { "ID" input type="text" name="id" required; }
        }))
    };
    frame.respond(status, Text("利用者", "Users"), notice, body)
}

#[derive(Deserialize)]
struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    office: String,
    #[serde(default)]
    id: String,
}

const TEMPORARY: Text = Text(
    "仮パスワード（一度だけ表示します。利用者に伝えてください）",
    "Temporary password (shown once; hand it to the user)",
);

async fn add_user(
    State(console): State<Arc<Console>>,
    visit: Visit,
    Form(form): Form<UserForm>,
) -> Response {
    require!(visit.signed_form(&form.csrf));
    let (_, society) = require!(visit.society());
    let lang = visit.lang;
    let id = form.id.trim();
    let Some(office) = stored!(
        lang,
        "office",
        own_office(&console, society, form.office.trim()).await
    ) else {
        return not_found(&visit);
    };
    if !valid_login_id(id) {
        let notice = Notice::error(
            lang,
            Text(
                "IDは半角英数字・記号で1〜64文字です。",
                "An ID is 1 to 64 ASCII letters, digits or symbols.",
            ),
        );
        return users_page(
            &console,
            &visit,
            society,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(&notice),
            None,
        )
        .await;
    }
    let store = console.store();
    match store
        .add_exchange_user(id, office.id, chrono::Utc::now())
        .await
    {
        Ok(()) => {}
        Err(kx_store::Error::Exists(_)) => {
            // Another society's user may hold the ID: say only that it cannot be used.
            let notice = Notice::error(
                lang,
                Text(
                    "このIDは使用できません。別のIDにしてください。",
                    "This ID cannot be used. Choose another.",
                ),
            );
            return users_page(
                &console,
                &visit,
                society,
                StatusCode::OK,
                Some(&notice),
                None,
            )
            .await;
        }
        Err(e) => return store_failed(lang, "add user", &e),
    }
    let password = kx_store::temporary_password();
    stored!(
        lang,
        "set password",
        store.set_exchange_password(id, &password, true).await
    );
    visit.audit(&console, "user.add", id, "ok").await;
    users_page(
        &console,
        &visit,
        society,
        StatusCode::OK,
        None,
        Some((TEMPORARY, id, &password)),
    )
    .await
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn user_action(
    State(console): State<Arc<Console>>,
    visit: Visit,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    require!(visit.signed_form(&form.csrf));
    let (_, society) = require!(visit.society());
    let lang = visit.lang;
    let store = console.store();
    let parties = stored!(lang, "parties", own_parties(&console, society).await);
    let user = stored!(lang, "user", store.exchange_user(&id).await);
    let Some(party) = user.and_then(|user| parties.into_iter().find(|p| p.id == user.party)) else {
        return not_found(&visit);
    };
    match action.as_str() {
        "password" => {
            let password = kx_store::temporary_password();
            stored!(
                lang,
                "set password",
                store.set_exchange_password(&id, &password, true).await
            );
            visit.audit(&console, "user.password", &id, "ok").await;
            users_page(
                &console,
                &visit,
                society,
                StatusCode::OK,
                None,
                Some((TEMPORARY, &id, &password)),
            )
            .await
        }
        "code" if party.kind == PartyKind::Office => {
            let days = chrono::Duration::days(i64::from(console.settings.enrolment_code_days));
            let code = stored!(
                lang,
                "issue code",
                store
                    .issue_code(&id, CodeKind::Enrolment, chrono::Utc::now(), days)
                    .await
            );
            visit
                .audit(&console, "user.enrolment-code", &id, "ok")
                .await;
            let label = Text(
                "登録コード（一度だけ表示します。利用者に伝えてください）",
                "Enrolment code (shown once; hand it to the user)",
            );
            users_page(
                &console,
                &visit,
                society,
                StatusCode::OK,
                None,
                Some((label, &id, &code)),
            )
            .await
        }
        "unlock" => {
            stored!(lang, "unlock", store.unlock_exchange_user(&id).await);
            visit.audit(&console, "user.unlock", &id, "ok").await;
            let notice = Notice::done_to(lang, Text("ロックを解除しました：", "Unlocked:"), &id);
            users_page(
                &console,
                &visit,
                society,
                StatusCode::OK,
                Some(&notice),
                None,
            )
            .await
        }
        _ => not_found(&visit),
    }
}

async fn destinations(State(console): State<Arc<Console>>, visit: Visit) -> Response {
    let (_, society) = require!(visit.society());
    destinations_page(&console, &visit, society, None).await
}

async fn destinations_page(
    console: &Console,
    visit: &Visit,
    society: PartyId,
    notice: Option<&Notice>,
) -> Response {
    let lang = visit.lang;
    let nicknames = stored!(
        lang,
        "destinations",
        console.store().destinations(society).await
    );
    let frame = visit.frame();
    let body = html! {
        p { (lang.t(Text("事業所がファイルを送るときに選ぶ送信先です。", "What offices choose as the destination of a file they send."))) }
        ul {
            @for nickname in &nicknames {
                li {
                    (nickname) " "
                    form.inline method="post" action="/destinations" {
                        (frame.csrf())
                        input type="hidden" name="remove" value=(nickname);
                        button type="submit" aria-label={ (lang.t(Text("削除", "Remove"))) " " (nickname) } { (lang.t(Text("削除", "Remove"))) }
                    }
                }
            }
        }
        (frame.add_form("/destinations", Text("送信先を追加", "Add a destination"), Text("追加", "Add"), html! {
            label { (lang.t(Text("送信先名", "Nickname"))) input type="text" name="add" required; }
        }))
    };
    frame.respond(StatusCode::OK, Text("送信先", "Destinations"), notice, body)
}

#[derive(Deserialize)]
struct DestinationForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    add: String,
    #[serde(default)]
    remove: String,
}

async fn change_destinations(
    State(console): State<Arc<Console>>,
    visit: Visit,
    Form(form): Form<DestinationForm>,
) -> Response {
    require!(visit.signed_form(&form.csrf));
    let (_, society) = require!(visit.society());
    let lang = visit.lang;
    let store = console.store();
    let (add, remove) = (form.add.trim(), form.remove.trim());
    let notice = if !add.is_empty() {
        let added = store
            .add_destination(society, add, chrono::Utc::now())
            .await;
        match visit.added(&console, "destination.add", add, added).await {
            Ok(notice) => notice,
            Err(answer) => return answer,
        }
    } else if !remove.is_empty() {
        match store.remove_destination(society, remove).await {
            Ok(()) => {
                visit
                    .audit(&console, "destination.remove", remove, "ok")
                    .await;
                Notice::done_to(lang, Text("削除しました：", "Removed:"), remove)
            }
            Err(kx_store::Error::NotFound(_)) => return not_found(&visit),
            Err(e) => return store_failed(lang, "remove destination", &e),
        }
    } else {
        Notice::error(
            lang,
            Text("送信先名を入力してください。", "Enter a nickname."),
        )
    };
    destinations_page(&console, &visit, society, Some(&notice)).await
}

async fn files(State(console): State<Arc<Console>>, visit: Visit) -> Response {
    let (_, society) = require!(visit.society());
    let lang = visit.lang;
    let store = console.store();
    let inbox = stored!(lang, "inbox", store.inbox(society).await);
    let sent = stored!(lang, "sent", store.sent(society, None).await);
    let parties = stored!(lang, "parties", own_parties(&console, society).await);
    let name_of = |id: PartyId| {
        parties
            .iter()
            .find(|p| p.id == id)
            .map_or(String::new(), |p| format!("{} {}", p.number, p.name))
    };
    let table = |records: &[kx_store::exchange::FileRecord], other: Text| {
        html! {
            table {
                thead { tr {
                    th { (lang.t(Text("ファイル名", "Sealed name"))) } th { (lang.t(other)) }
                    th { (lang.t(Text("送信日時", "Sent"))) } th { (lang.t(Text("サイズ", "Size"))) }
                    th { (lang.t(Text("受信", "Received"))) }
                } }
                tbody {
                    @for f in records {
                        tr {
                            td { a href={ "/files/" (f.id) } { (f.name) } }
                            td { (name_of(if f.sender == society { f.recipient } else { f.sender })) }
                            td { (time(f.sent_at)) } td.n { (bytes(f.size)) }
                            td { @match f.last_received_at { Some(at) => { (time(at)) }, None => { (lang.t(Text("未", "not yet"))) } } }
                        }
                    }
                }
            }
        }
    };
    let body = html! {
        p { (lang.t(Text("ファイルの中身は暗号化されており、サーバーでもこの画面でも読めません。", "Files are encrypted end to end: neither the server nor this page can read them."))) }
        h2 { (lang.t(Text("事業所から（受信箱）", "From offices (inbox)"))) }
        (table(&inbox, Text("送信元", "From")))
        h2 { (lang.t(Text("事業所へ（送信済み）", "To offices (sent)"))) }
        (table(&sent, Text("送信先", "To")))
    };
    visit
        .frame()
        .respond(StatusCode::OK, Text("ファイル", "Files"), None, body)
}

async fn file(
    State(console): State<Arc<Console>>,
    visit: Visit,
    Path(id): Path<String>,
) -> Response {
    let (_, society) = require!(visit.society());
    let lang = visit.lang;
    let Some(f) = stored!(lang, "file", console.store().file_for(society, &id).await) else {
        return not_found(&visit);
    };
    visit.audit(&console, "file.metadata", &f.id, "ok").await;
    let body = html! {
        dl {
            dt { (lang.t(Text("ファイル名", "Sealed name"))) } dd { (f.name) }
            dt { (lang.t(Text("送信者", "Sending user"))) } dd { (f.sender_user) }
            dt { (lang.t(Text("送信先", "Destination"))) } dd { @if let Some(d) = &f.destination { (d) } }
            dt { (lang.t(Text("サイズ（暗号化後）", "Size (sealed)"))) } dd { (bytes(f.size)) }
            dt { "SHA-256" } dd { code { (f.sha256) } }
            dt { (lang.t(Text("送信日時", "Sent"))) } dd { (time(f.sent_at)) }
            dt { (lang.t(Text("初回受信", "First received"))) } dd { @if let Some(at) = f.first_received_at { (time(at)) } @else { (lang.t(Text("未", "not yet"))) } }
        }
    };
    visit
        .frame()
        .respond(StatusCode::OK, Text("ファイル", "File"), None, body)
}

fn certificate_table(
    lang: Lang,
    rows: &[(&Party, &kx_store::exchange::CertificateRecord)],
) -> maud::Markup {
    let now = chrono::Utc::now();
    html! {
        table {
            thead { tr {
                th { (lang.t(Text("所属", "Party"))) } th { (lang.t(Text("利用者", "User"))) }
                th { (lang.t(Text("有効期限", "Expires"))) } th { (lang.t(Text("状態", "State"))) }
            } }
            tbody {
                @for (party, c) in rows {
                    tr {
                        td { (party.number) " " (party.name) }
                        td { @if let Some(user) = &c.user { (user) } }
                        td { (time(c.not_after)) }
                        td {
                            @if !c.current { (lang.t(Text("無効（更新済み・失効）", "not current (renewed or revoked)"))) }
                            @else if c.not_after <= now { (lang.t(Text("期限切れ", "expired"))) }
                            @else if c.not_after - now <= chrono::Duration::days(EXPIRY_WARNING_DAYS) { (lang.t(Text("60日以内に期限切れ", "expires within 60 days"))) }
                            @else { (lang.t(Text("有効", "valid"))) }
                        }
                    }
                }
            }
        }
    }
}

async fn certificates(State(console): State<Arc<Console>>, visit: Visit) -> Response {
    let (_, society) = require!(visit.society());
    let lang = visit.lang;
    let store = console.store();
    let parties = stored!(lang, "parties", own_parties(&console, society).await);
    let mut all = Vec::new();
    for party in &parties {
        for certificate in stored!(
            lang,
            "certificates",
            store.certificates(party.id, false).await
        ) {
            all.push((party, certificate));
        }
    }
    let now = chrono::Utc::now();
    let soon = now + chrono::Duration::days(EXPIRY_WARNING_DAYS);
    let expiring: Vec<_> = all
        .iter()
        .filter(|(_, c)| c.current && c.not_after <= soon)
        .map(|(p, c)| (*p, c))
        .collect();
    let others: Vec<_> = all
        .iter()
        .filter(|(_, c)| !(c.current && c.not_after <= soon))
        .map(|(p, c)| (*p, c))
        .collect();
    let waiting = stored!(lang, "requests", store.pending_requests(society, now).await);
    let body = html! {
        h2 { (lang.t(Text("60日以内に期限切れ", "Expiring within 60 days"))) }
        @if expiring.is_empty() { p { (lang.t(Text("ありません。", "None."))) } } @else { (certificate_table(lang, &expiring)) }
        h2 { (lang.t(Text("承認待ちの証明書要求", "Certificate requests waiting"))) }
        @if waiting.is_empty() { p { (lang.t(Text("ありません。", "None."))) } } @else {
            table {
                thead { tr { th { (lang.t(Text("所属", "Party"))) } th { (lang.t(Text("利用者", "User"))) } th { (lang.t(Text("要求日時", "Asked"))) } } }
                tbody {
                    @for r in &waiting {
                        tr {
                            td { @if let Some(p) = parties.iter().find(|p| p.id == r.party) { (p.number) " " (p.name) } }
                            td { (r.user) } td { (time(r.created_at)) }
                        }
                    }
                }
            }
            p { (lang.t(Text(
                "承認・拒否は、組合の窓口アプリ（CA鍵を持つ端末）で行います。",
                "Approve or refuse them on the society desk, which holds the CA key.",
            ))) }
        }
        h2 { (lang.t(Text("その他の証明書", "Other certificates"))) }
        (certificate_table(lang, &others))
    };
    html_response(
        StatusCode::OK,
        visit
            .frame()
            .page(Text("証明書", "Certificates"), None, body),
    )
}

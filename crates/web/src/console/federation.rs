//! The federation operator's screens: the dashboard, 伝送 organisations and accounts, the
//! pipeline, mailboxes and the KX societies' quotas.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;

use kx_denso::{AccountId, OrgKind, OrgNumber};
use kx_store::Network;

use super::page::{Notice, QUOTA_INVALID, QuotaForm, Text, bytes, html_response, quota_form, time};
use super::{Console, Visit, require, store_failed};

pub(super) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/orgs", get(orgs).post(add_org))
        .route("/orgs/{code}/networks", post(set_networks))
        .route("/accounts", get(accounts).post(add_account))
        .route("/accounts/{id}/{action}", post(account_action))
        .route("/pipeline", get(pipeline))
        .route("/mailboxes", get(mailboxes))
        .route("/societies", get(societies).post(add_society))
        .route("/societies/{number}/quota", post(set_quota))
}

/// Unwraps a store call or answers its failure.
macro_rules! stored {
    ($lang:expr, $what:literal, $call:expr) => {
        match $call {
            Ok(value) => value,
            Err(e) => return store_failed($lang, $what, &e),
        }
    };
}
pub(super) use stored;

/// The federation's dashboard: the figures `/metrics` gives, read the same way.
pub(super) async fn dashboard(console: &Console, visit: &Visit) -> Response {
    let lang = visit.lang;
    let store = console.store();
    let figures = stored!(lang, "figures", crate::monitor::Snapshot::read(store).await);
    let counts = stored!(lang, "pipeline counts", store.submission_counts().await);
    let disk = &figures.disk;
    let tiles = [
        (
            Text("Regist待ち", "Waiting for Regist"),
            figures.submissions_waiting.to_string(),
            "/pipeline",
        ),
        (
            Text("再試行中", "Being retried"),
            counts.retried.to_string(),
            "/pipeline",
        ),
        (
            Text("異常データ（24時間）", "Poison submissions (24 h)"),
            figures.poison_submissions.to_string(),
            "/pipeline",
        ),
        (
            Text("未受信メール", "Mail waiting"),
            format!("{} ({})", disk.mail.count, bytes(disk.mail.bytes)),
            "/mailboxes",
        ),
        (
            Text("ロック中のID", "Accounts locked"),
            figures.locked.accounts.to_string(),
            "/accounts",
        ),
        (
            Text("ロック中のKX利用者", "KX users locked"),
            figures.locked.exchange_users.to_string(),
            "/societies",
        ),
        (
            Text(
                "60日以内に期限切れの証明書",
                "Certificates expiring within 60 days",
            ),
            figures.certificates_expiring.to_string(),
            "/societies",
        ),
        (
            Text("暗号化ファイル", "Sealed files"),
            format!("{} ({})", disk.sealed.count, bytes(disk.sealed.bytes)),
            "/societies",
        ),
        (
            Text("受信データ（原本）", "Raw messages held"),
            format!(
                "{} ({})",
                disk.raw_messages.count,
                bytes(disk.raw_messages.bytes)
            ),
            "/pipeline",
        ),
    ];
    let body = html! {
        section.figures aria-label=(lang.t(Text("概況", "Figures"))) {
            @for (label, value, href) in &tiles {
                div.figure { div { a href=(href) { (lang.t(*label)) } } div.v { (value) } }
            }
        }
        h2 { (lang.t(Text("健康保険組合の容量", "Societies' storage"))) }
        @if figures.society_quotas.is_empty() { p { (lang.t(Text("健康保険組合はまだありません。", "No society yet."))) } }
        @else { table {
            thead { tr { th { (lang.t(Text("保険者番号", "Number"))) } th { (lang.t(Text("使用量", "Used"))) } th { (lang.t(Text("容量上限", "Quota"))) } } }
            tbody {
                @for q in &figures.society_quotas {
                    tr { td { (q.number) } td.n { (bytes(q.used)) } td.n { (bytes(q.quota)) } }
                }
            }
        } }
        p { (lang.t(Text("同じ数値を /metrics（Prometheus形式）でも取得できます。", "The same figures are served at /metrics (Prometheus format)."))) }
    };
    html_response(
        StatusCode::OK,
        visit
            .frame()
            .page(Text("ダッシュボード", "Dashboard"), None, body),
    )
}

fn kind_label(kind: OrgKind) -> Text {
    match kind {
        OrgKind::Office => Text("事業所", "Office"),
        OrgKind::Insurer => Text("保険者", "Insurer"),
        OrgKind::Prefecture => Text("都道府県", "Prefecture"),
        OrgKind::WelfareOffice => Text("福祉事務所", "Welfare office"),
    }
}

const KINDS: [OrgKind; 4] = [
    OrgKind::Office,
    OrgKind::Insurer,
    OrgKind::Prefecture,
    OrgKind::WelfareOffice,
];

async fn orgs(State(console): State<Arc<Console>>, visit: Visit) -> Response {
    require!(visit.federation());
    orgs_page(&console, &visit, StatusCode::OK, None).await
}

async fn orgs_page(
    console: &Console,
    visit: &Visit,
    status: StatusCode,
    notice: Option<&Notice>,
) -> Response {
    let lang = visit.lang;
    let orgs = stored!(lang, "orgs", console.store().orgs().await);
    let frame = visit.frame();
    let body = html! {
        table {
            thead { tr {
                th { (lang.t(Text("識別番号", "Code"))) }
                th { (lang.t(Text("種別", "Kind"))) }
                th { (lang.t(Text("番号", "Number"))) }
                th { (lang.t(Text("名称", "Name"))) }
                th { (lang.t(Text("接続元ネットワーク", "Networks"))) }
            } }
            tbody {
                @for org in &orgs {
                    tr {
                        td { a href={ "/accounts?org=" (org.org.org_code()) } { (org.org.org_code()) } }
                        td { (lang.t(kind_label(org.org.kind()))) }
                        td { (org.org.number()) }
                        td { (org.name) }
                        td {
                            form.inline method="post" action={ "/orgs/" (org.org.org_code()) "/networks" } {
                                (frame.csrf())
                                @let networks = org.networks.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ");
                                label { span { (lang.t(Text("接続元ネットワーク", "Networks"))) " " (org.org.org_code()) }
                                    input type="text" name="networks" value=(networks) placeholder=(lang.t(Text("制限なし", "any"))); }
                                button type="submit" { (lang.t(Text("変更", "Change"))) }
                            }
                        }
                    }
                }
            }
        }
        (frame.add_form("/orgs", Text("組織を追加", "Add an organisation"), Text("追加", "Add"), html! {
            label { (lang.t(Text("種別", "Kind")))
            select name="kind" {
            @for kind in KINDS { option value=(kind.to_string()) { (lang.t(kind_label(kind))) } }
            }
            }
            label { (lang.t(Text("番号", "Number"))) input type="text" name="number" required; }
            label { (lang.t(Text("名称", "Name"))) input type="text" name="name"; }
            label { (lang.t(Text("接続元ネットワーク（CIDR、空白区切り。空欄で制限なし）", "Networks (CIDR, space-separated; empty: any)"))) input type="text" name="networks"; }
        }))
    };
    frame.respond(status, Text("組織", "Organisations"), notice, body)
}

#[derive(Deserialize)]
struct OrgForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    networks: String,
}

async fn add_org(
    State(console): State<Arc<Console>>,
    visit: Visit,
    Form(form): Form<OrgForm>,
) -> Response {
    require!(visit.signed_form(&form.csrf));
    require!(visit.federation());
    let lang = visit.lang;
    let parsed = form
        .kind
        .parse::<OrgKind>()
        .map_err(|e| e.to_string())
        .and_then(|kind| OrgNumber::new(kind, form.number.trim()).map_err(|e| e.to_string()))
        .and_then(|org| parse_networks(&form.networks).map(|networks| (org, networks)));
    let (org, networks) = match parsed {
        Ok(parsed) => parsed,
        Err(problem) => {
            let notice = Notice::invalid(lang, &problem);
            return orgs_page(
                &console,
                &visit,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&notice),
            )
            .await;
        }
    };
    let code = org.org_code().to_string();
    let added = console
        .store()
        .add_org(&org, form.name.trim(), &networks)
        .await;
    let notice = match visit.added(&console, "org.add", &code, added).await {
        Ok(notice) => notice,
        Err(answer) => return answer,
    };
    orgs_page(&console, &visit, StatusCode::OK, Some(&notice)).await
}

#[derive(Deserialize)]
struct NetworksForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    networks: String,
}

/// The networks typed in a form: CIDRs separated by spaces or commas.
fn parse_networks(text: &str) -> Result<Vec<Network>, String> {
    text.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|n| !n.is_empty())
        .map(|n| n.parse::<Network>().map_err(|e| format!("{n}: {e}")))
        .collect()
}

async fn set_networks(
    State(console): State<Arc<Console>>,
    visit: Visit,
    Path(code): Path<String>,
    Form(form): Form<NetworksForm>,
) -> Response {
    require!(visit.signed_form(&form.csrf));
    require!(visit.federation());
    let lang = visit.lang;
    let store = console.store();
    let orgs = stored!(lang, "orgs", store.orgs().await);
    let Some(org) = orgs.into_iter().find(|o| o.org.org_code().as_str() == code) else {
        return super::not_found(&visit);
    };
    let networks = match parse_networks(&form.networks) {
        Ok(networks) => networks,
        Err(problem) => {
            let notice = Notice::invalid(lang, &problem);
            return orgs_page(
                &console,
                &visit,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&notice),
            )
            .await;
        }
    };
    stored!(
        lang,
        "set networks",
        store.set_networks(&org.org.org_code(), &networks).await
    );
    visit.audit(&console, "org.networks", &code, "ok").await;
    let notice = Notice::done_to(
        lang,
        Text("接続元ネットワークを変更しました：", "Networks changed:"),
        &code,
    );
    orgs_page(&console, &visit, StatusCode::OK, Some(&notice)).await
}

#[derive(Deserialize, Default)]
struct AccountQuery {
    #[serde(default)]
    org: String,
}

async fn accounts(
    State(console): State<Arc<Console>>,
    visit: Visit,
    Query(query): Query<AccountQuery>,
) -> Response {
    require!(visit.federation());
    accounts_page(&console, &visit, &query.org, None, None).await
}

async fn accounts_page(
    console: &Console,
    visit: &Visit,
    org: &str,
    notice: Option<&Notice>,
    password: Option<(&str, &str)>,
) -> Response {
    let lang = visit.lang;
    let org = org.trim();
    let mut accounts = stored!(lang, "accounts", console.store().accounts(None).await);
    accounts.retain(|a| {
        let number = a.id.org();
        org.is_empty() || number.org_code().as_str() == org || number.number() == org
    });
    let frame = visit.frame();
    let now = chrono::Utc::now();
    let body = html! {
        @if let Some((id, password)) = password {
            p.ok role="status" {
                (lang.t(Text("仮パスワード（一度だけ表示します。利用者に伝えてください）", "Temporary password (shown once; hand it to the user)")))
                " " (id) ": " span.secret { (password) }
            }
        }
        form method="get" action="/accounts" {
            label { (lang.t(Text("識別番号で絞り込み", "Filter by organisation code"))) input type="text" name="org" value=(org); }
            button type="submit" { (lang.t(Text("表示", "Show"))) }
        }
        table {
            thead { tr {
                th { "ID" }
                th { (lang.t(Text("パスワード", "Password"))) }
                th { (lang.t(Text("状態", "State"))) }
                th { (lang.t(Text("操作", "Actions"))) }
            } }
            tbody {
                @for account in &accounts {
                    @let id = account.id.to_string();
                    @let lapsing = account.locked_until.filter(|until| *until > now);
                    tr {
                        td { (id) }
                        td { @if !account.has_password { (lang.t(Text("未設定", "none"))) }
                             @else if account.must_change_password { (lang.t(Text("仮", "temporary"))) }
                             @else { (lang.t(Text("設定済み", "set"))) } }
                        td { @if account.locked { (lang.t(Text("ロック中", "locked"))) }
                             @else if let Some(until) = lapsing { (lang.t(Text("一時ロック：", "locked until "))) (time(until)) }
                             @else { (lang.t(Text("有効", "active"))) } }
                        td {
                            @for (action, label) in [
                                (if account.locked { "unlock" } else { "lock" },
                                 if account.locked { Text("ロック解除", "Unlock") } else { Text("ロック", "Lock") }),
                                ("password", Text("パスワード再発行", "Reset password")),
                            ] {
                                form.inline method="post" action={ "/accounts/" (id) "/" (action) } {
                                    (frame.csrf())
                                    button type="submit" aria-label={ (lang.t(label)) " " (id) } { (lang.t(label)) }
                                }
                                " "
                            }
                        }
                    }
                }
            }
        }
        (frame.add_form("/accounts", Text("IDを追加（仮パスワードを発行します）", "Add an account (a temporary password is issued)"), Text("追加", "Add"), html! {
            label { "ID" input type="text" name="id" required; }
        }))
    };
    frame.respond(StatusCode::OK, Text("ID", "Accounts"), notice, body)
}

#[derive(Deserialize)]
struct AccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
}

async fn add_account(
    State(console): State<Arc<Console>>,
    visit: Visit,
    Form(form): Form<AccountForm>,
) -> Response {
    require!(visit.signed_form(&form.csrf));
    require!(visit.federation());
    let lang = visit.lang;
    let id = match form.id.trim().parse::<AccountId>() {
        Ok(id) => id,
        Err(e) => {
            let notice = Notice::Error(format!(
                "{}: {e}",
                lang.t(Text("IDが正しくありません", "Invalid ID"))
            ));
            return accounts_page(&console, &visit, "", Some(&notice), None).await;
        }
    };
    let store = console.store();
    match store.add_account(&id).await {
        Ok(()) => {}
        Err(kx_store::Error::Exists(_)) => {
            let notice = Notice::exists(lang, &id.to_string());
            return accounts_page(&console, &visit, "", Some(&notice), None).await;
        }
        Err(kx_store::Error::NotFound(_)) => {
            let notice = Notice::error(
                lang,
                Text(
                    "先に組織を追加してください。",
                    "Add its organisation first.",
                ),
            );
            return accounts_page(&console, &visit, "", Some(&notice), None).await;
        }
        Err(e) => return store_failed(lang, "add account", &e),
    }
    let password = kx_store::temporary_password();
    stored!(
        lang,
        "set password",
        store.set_password(&id, &password, true).await
    );
    let object = id.to_string();
    visit.audit(&console, "account.add", &object, "ok").await;
    let org = id.org().org_code().to_string();
    accounts_page(&console, &visit, &org, None, Some((&object, &password))).await
}

async fn account_action(
    State(console): State<Arc<Console>>,
    visit: Visit,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<AccountForm>,
) -> Response {
    require!(visit.signed_form(&form.csrf));
    require!(visit.federation());
    let lang = visit.lang;
    let Ok(account) = id.parse::<AccountId>() else {
        return super::not_found(&visit);
    };
    let store = console.store();
    let org = account.org().org_code().to_string();
    let done = match action.as_str() {
        "lock" => store.lock(&account).await,
        "unlock" => store.unlock(&account).await,
        "password" => {
            let password = kx_store::temporary_password();
            match store.set_password(&account, &password, true).await {
                Ok(()) => {
                    visit.audit(&console, "account.password", &id, "ok").await;
                    return accounts_page(&console, &visit, &org, None, Some((&id, &password)))
                        .await;
                }
                Err(e) => Err(e),
            }
        }
        _ => return super::not_found(&visit),
    };
    match done {
        Ok(()) => {}
        Err(kx_store::Error::NotFound(_)) => return super::not_found(&visit),
        Err(e) => return store_failed(lang, "account action", &e),
    }
    visit
        .audit(&console, &format!("account.{action}"), &id, "ok")
        .await;
    let notice = Notice::done_to(lang, Text("更新しました：", "Updated:"), &id);
    accounts_page(&console, &visit, &org, Some(&notice), None).await
}

#[derive(Deserialize, Default)]
struct NumberQuery {
    #[serde(default)]
    number: String,
}

async fn pipeline(
    State(console): State<Arc<Console>>,
    visit: Visit,
    Query(query): Query<NumberQuery>,
) -> Response {
    require!(visit.federation());
    let lang = visit.lang;
    let store = console.store();
    let counts = stored!(lang, "pipeline counts", store.submission_counts().await);
    let number = query.number.trim();
    let found = if number.is_empty() {
        Vec::new()
    } else {
        stored!(
            lang,
            "submissions",
            store.submissions_numbered(number).await
        )
    };
    let poison = stored!(
        lang,
        "poison submissions",
        store
            .audit_log(&kx_store::AuditFilter {
                action: Some(kx_store::POISON_ACTION.into()),
                limit: Some(50),
                ..kx_store::AuditFilter::default()
            })
            .await
    );
    let handoff = console.gateway.handoff_root();
    let body = html! {
        table {
            thead { tr { th { (lang.t(Text("状態", "State"))) } th { (lang.t(Text("件数", "Count"))) } } }
            tbody {
                @for (label, count) in [
                    (Text("Regist待ち", "Waiting for Regist"), counts.accepted),
                    (Text("うち再試行中", "of which retried"), counts.retried),
                    (Text("受付済み", "Registered"), counts.registered),
                    (Text("取り消し", "Cancelled"), counts.cancelled),
                    (Text("受付拒否", "Refused"), counts.refused),
                ] { tr { td { (lang.t(label)) } td.n { (count) } } }
            }
        }
        form method="get" action="/pipeline" {
            label { (lang.t(Text("伝送整理番号で検索", "Search by transmission number (伝送整理番号)"))) input type="search" name="number" value=(number); }
            button type="submit" { (lang.t(Text("検索", "Search"))) }
        }
        @if !number.is_empty() {
            (submissions_table(lang, &found, &handoff))
        }
        h2 { (lang.t(Text("異常データ（処理を打ち切った送信）", "Poison submissions (given up, settled CheckErr)"))) }
        @if poison.is_empty() { p { (lang.t(Text("ありません。", "None."))) } } @else {
            table {
                thead { tr { th { (lang.t(Text("日時", "Time"))) } th { "ID" } th { (lang.t(Text("伝送整理番号", "Transmission number"))) } th { (lang.t(Text("理由", "Why"))) } } }
                tbody { @for r in &poison { tr { td { (time(r.at)) } td { (r.entry.actor) } td { (r.entry.object) } td { (r.entry.outcome) } } } }
            }
        }
    };
    visit
        .frame()
        .respond(StatusCode::OK, Text("受付状況", "Pipeline"), None, body)
}

fn submissions_table(
    lang: super::page::Lang,
    found: &[kx_store::Submission],
    handoff: &std::path::Path,
) -> Markup {
    html! {
        @if found.is_empty() {
            p { (lang.t(Text("該当する送信はありません。", "No submission has this number."))) }
        } @else {
            table {
                thead { tr {
                    th { "ID" } th { (lang.t(Text("種別", "Kind"))) } th { (lang.t(Text("状態", "State"))) }
                    th { (lang.t(Text("受付日時", "Accepted"))) } th { (lang.t(Text("Regist日時", "Settled"))) }
                    th { (lang.t(Text("引き渡し", "Handed off"))) } th { (lang.t(Text("エラーコード", "Error code"))) }
                    th { (lang.t(Text("試行回数", "Attempts"))) }
                } }
                tbody {
                    @for s in found {
                        tr {
                            td { (s.account) } td { (s.kind) } td { (s.state) }
                            td { (time(s.accepted_at)) }
                            td { @if let Some(at) = s.settled_at { (time(at)) } }
                            td { @match (s.handed_off, &s.number) {
                                (Some(true), Some(number)) => { code { (handoff.join(number).display()) } },
                                (Some(false), _) => { (lang.t(Text("なし", "none"))) },
                                _ => {},
                            } }
                            td { @if let Some(code) = &s.error_code { (code) } }
                            td.n { (s.regist_attempts) }
                        }
                    }
                }
            }
        }
    }
}

async fn mailboxes(State(console): State<Arc<Console>>, visit: Visit) -> Response {
    require!(visit.federation());
    let lang = visit.lang;
    let mailboxes = stored!(lang, "mailboxes", console.store().mailbox_summaries().await);
    let body = html! {
        @if mailboxes.is_empty() {
            p { (lang.t(Text("未受信のメールはありません。", "No mailbox holds messages."))) }
        } @else {
            table {
                thead { tr {
                    th { "ID" } th { (lang.t(Text("件数", "Messages"))) } th { (lang.t(Text("容量", "Size"))) }
                    th { (lang.t(Text("最も古いメール", "Oldest"))) }
                } }
                tbody {
                    @for m in &mailboxes {
                        tr { td { (m.account) } td.n { (m.messages) } td.n { (bytes(m.bytes)) }
                             td { @if let Some(at) = m.oldest { (time(at)) } } }
                    }
                }
            }
        }
    };
    html_response(
        StatusCode::OK,
        visit
            .frame()
            .page(Text("メールボックス", "Mailboxes"), None, body),
    )
}

async fn societies(State(console): State<Arc<Console>>, visit: Visit) -> Response {
    require!(visit.federation());
    societies_page(&console, &visit, None).await
}

#[derive(Deserialize)]
struct SocietyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    user: String,
}

async fn add_society(
    State(console): State<Arc<Console>>,
    visit: Visit,
    Form(form): Form<SocietyForm>,
) -> Response {
    require!(visit.signed_form(&form.csrf));
    require!(visit.federation());
    let lang = visit.lang;
    let (number, name, user) = (form.number.trim(), form.name.trim(), form.user.trim());
    if !kx_exchange::names::valid_office_number(number)
        || name.is_empty()
        || !kx_exchange::names::valid_login_id(user)
    {
        let notice = Notice::error(
            lang,
            Text(
                "保険者番号（空白なし）、名称、最初の利用者のID（半角1〜64文字）を入力してください。",
                "Enter the number (without spaces), the name and the first user's ID (1 to 64 ASCII characters).",
            ),
        );
        return societies_page(&console, &visit, Some(&notice)).await;
    }
    let days = chrono::Duration::days(i64::from(console.settings.enrolment_code_days));
    let added = console
        .store()
        .add_society_with_user(
            (number, name),
            console.settings.society_quota,
            user,
            chrono::Utc::now(),
            days,
        )
        .await;
    let added = match added {
        Ok(added) => added,
        Err(kx_store::Error::Exists(what)) => {
            let notice = Notice::exists(lang, &what);
            return societies_page(&console, &visit, Some(&notice)).await;
        }
        Err(e) => return store_failed(lang, "add society", &e),
    };
    visit.audit(&console, "society.add", number, "ok").await;
    visit.audit(&console, "user.setup-code", user, "ok").await;
    let notice = Notice::Done(format!(
        "{} {number} {name} — {user}: {} {} / {} {} （{} kx society setup --id {user} --code {}）",
        lang.t(super::page::ADDED),
        lang.t(Text("仮パスワード", "temporary password")),
        added.password,
        lang.t(Text("セットアップコード", "setup code")),
        added.code,
        lang.t(Text("組合の端末で：", "on the society's machine:")),
        added.code,
    ));
    societies_page(&console, &visit, Some(&notice)).await
}

async fn societies_page(console: &Console, visit: &Visit, notice: Option<&Notice>) -> Response {
    let lang = visit.lang;
    let store = console.store();
    let societies = stored!(lang, "societies", store.parties(None).await);
    let mut rows = Vec::with_capacity(societies.len());
    for society in societies {
        let used = stored!(lang, "quota", store.quota_used(society.id).await);
        let offices = stored!(lang, "offices", store.parties(Some(society.id)).await).len();
        rows.push((society, used, offices));
    }
    let frame = visit.frame();
    let body = html! {
        table {
            thead { tr {
                th { (lang.t(Text("保険者番号", "Number"))) } th { (lang.t(Text("名称", "Name"))) }
                th { (lang.t(Text("事業所数", "Offices"))) } th { (lang.t(Text("使用量", "Used"))) }
                th { (lang.t(Text("容量上限", "Quota"))) } th { (lang.t(Text("設定", "Set up"))) }
            } }
            tbody {
                @for (society, used, offices) in &rows {
                    tr {
                        td { (society.number) } td { (society.name) } td.n { (offices) }
                        td.n { (bytes(*used)) }
                        td { (quota_form(&frame, &format!("/societies/{}/quota", society.number), &society.number, society.quota_bytes)) }
                        td { @if society.ca_der.is_some() { (lang.t(Text("済", "yes"))) } @else { (lang.t(Text("未", "not yet"))) } }
                    }
                }
            }
        }
        (frame.add_form("/societies", Text("健康保険組合を追加（最初の利用者に仮パスワードとセットアップコードを発行します）", "Add a society (its first user gets a temporary password and a setup code)"), Text("追加", "Add"), html! {
            label { (lang.t(Text("保険者番号", "Number"))) input type="text" name="number" required; }
            label { (lang.t(Text("名称", "Name"))) input type="text" name="name" required; }
            label { (lang.t(Text("最初の利用者のID", "First user's ID"))) input type="text" name="user" required; }
        }))
    };
    frame.respond(
        StatusCode::OK,
        Text("健康保険組合", "Societies"),
        notice,
        body,
    )
}

async fn set_quota(
    State(console): State<Arc<Console>>,
    visit: Visit,
    Path(number): Path<String>,
    Form(form): Form<QuotaForm>,
) -> Response {
    require!(visit.signed_form(&form.csrf));
    require!(visit.federation());
    let lang = visit.lang;
    let store = console.store();
    let Some(society) = stored!(lang, "society", store.society_by_number(&number).await) else {
        return super::not_found(&visit);
    };
    let Some(bytes) = form.bytes() else {
        let notice = Notice::error(lang, QUOTA_INVALID);
        return societies_page(&console, &visit, Some(&notice)).await;
    };
    stored!(lang, "set quota", store.set_quota(society.id, bytes).await);
    visit.audit(&console, "society.quota", &number, "ok").await;
    let notice = Notice::done_to(
        lang,
        Text("容量上限を変更しました：", "Quota changed:"),
        &number,
    );
    societies_page(&console, &visit, Some(&notice)).await
}

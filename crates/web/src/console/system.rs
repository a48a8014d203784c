//! The federation operator's view of the installation: the upstream kinds (独自情報) it
//! accepts, the app version offered to KX users, and the retention runs.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use maud::html;
use serde::Deserialize;

use kx_denso::UpstreamDefinition;
use kx_exchange::api::AppVersion;
use kx_store::AuditFilter;

use super::federation::stored;
use super::page::{Notice, Text, bytes, time};
use super::{Console, Visit, require, store_failed};

/// Retention runs listed.
const RUNS_SHOWN: u32 = 20;

pub(super) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/system", get(system).post(publish_app_version))
        .route("/system/upstream", post(define_upstream))
}

async fn system(State(console): State<Arc<Console>>, visit: Visit) -> Response {
    require!(visit.federation());
    system_page(&console, &visit, None).await
}

async fn system_page(console: &Console, visit: &Visit, notice: Option<&Notice>) -> Response {
    let lang = visit.lang;
    let store = console.store();
    let upstreams = stored!(lang, "upstream kinds", store.upstream_definitions().await);
    let published = stored!(lang, "app version", store.app_version().await);
    let runs = stored!(
        lang,
        "retention runs",
        store
            .audit_log(&AuditFilter {
                action: Some("retention.run".into()),
                limit: Some(RUNS_SHOWN),
                ..AuditFilter::default()
            })
            .await
    );
    let frame = visit.frame();
    let any = lang.t(Text("制限なし", "any"));
    let body = html! {
        h2 { (lang.t(Text("独自情報（上り連絡の種類）", "Upstream kinds (独自情報)"))) }
        @if upstreams.is_empty() { p { (lang.t(Text("定義されていません。", "None defined."))) } } @else {
            table {
                thead { tr {
                    th { (lang.t(Text("名称", "Name"))) } th { (lang.t(Text("宛先", "To"))) }
                    th { (lang.t(Text("最大ファイル数", "Most files"))) } th { (lang.t(Text("最大サイズ", "Largest file"))) }
                    th { (lang.t(Text("拡張子", "Extensions"))) }
                } }
                tbody {
                    @for d in &upstreams {
                        tr {
                            td { (d.name) } td { (d.to) }
                            td.n { @match d.max_files { Some(n) => { (n) }, None => { (any) } } }
                            td.n { @match d.max_bytes { Some(n) => { (bytes(n)) }, None => { (any) } } }
                            td { @match &d.extensions { Some(e) => { (e.join(", ")) }, None => { (any) } } }
                        }
                    }
                }
            }
        }
        (frame.add_form("/system/upstream", Text("独自情報を定義", "Define an upstream kind"), Text("定義", "Define"), html! {
            label { (lang.t(Text("独自情報名", "Name"))) input type="text" name="name" required; }
            label { (lang.t(Text("宛先アドレス", "To address"))) input type="email" name="to" required; }
            label { (lang.t(Text("最大ファイル数（空欄で制限なし）", "Most files (empty: any)"))) input type="number" name="max_files" min="1"; }
            label { (lang.t(Text("最大サイズ（バイト、空欄で制限なし）", "Largest file in bytes (empty: any)"))) input type="number" name="max_bytes" min="1"; }
            label { (lang.t(Text("拡張子（カンマ区切り、空欄で禁止以外すべて）", "Extensions (comma-separated; empty: any not forbidden)"))) input type="text" name="extensions"; }
        }))
        h2 { (lang.t(Text("KXアプリの配布バージョン", "KX app version offered"))) }
        @if let Some(v) = &published {
            p { (v.version) " — " (v.notes) " " (v.url) }
        } @else {
            p { (lang.t(Text("未公開（サーバーのバージョンを案内します）", "None published (users are offered the server's own version)"))) }
        }
        (frame.add_form("/system", Text("新しいバージョンを公開", "Publish a new version"), Text("公開", "Publish"), html! {
            label { (lang.t(Text("バージョン", "Version"))) input type="text" name="version" required; }
            label { (lang.t(Text("変更内容", "Notes"))) input type="text" name="notes"; }
            label { (lang.t(Text("入手先URL", "Download URL"))) input type="url" name="url"; }
        }))
        h2 { (lang.t(Text("保存期間の処理（最近の実行）", "Retention runs (recent)"))) }
        @if runs.is_empty() { p { (lang.t(Text("まだ実行されていません。", "Not run yet."))) } } @else {
            table {
                thead { tr { th { (lang.t(Text("日時", "Time"))) } th { (lang.t(Text("実行者", "By"))) } th { (lang.t(Text("結果", "Freed"))) } } }
                tbody { @for r in &runs { tr { td { (time(r.at)) } td { (r.entry.actor) } td { (r.entry.outcome) } } } }
            }
        }
    };
    frame.respond(StatusCode::OK, Text("システム", "System"), notice, body)
}

#[derive(Deserialize)]
struct VersionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    url: String,
}

async fn publish_app_version(
    State(console): State<Arc<Console>>,
    visit: Visit,
    Form(form): Form<VersionForm>,
) -> Response {
    require!(visit.signed_form(&form.csrf));
    require!(visit.federation());
    let lang = visit.lang;
    let version = form.version.trim();
    if version.is_empty() {
        let notice = Notice::error(
            lang,
            Text("バージョンを入力してください。", "Enter a version."),
        );
        return system_page(&console, &visit, Some(&notice)).await;
    }
    let published = AppVersion {
        version: version.to_owned(),
        notes: form.notes.trim().to_owned(),
        url: form.url.trim().to_owned(),
    };
    if let Err(e) = console.store().publish_app_version(&published).await {
        return store_failed(lang, "publish app version", &e);
    }
    visit
        .audit(&console, "app-version.set", version, "ok")
        .await;
    let notice = Notice::Done(format!(
        "{} {version}",
        lang.t(Text("公開しました：", "Published:"))
    ));
    system_page(&console, &visit, Some(&notice)).await
}

#[derive(Deserialize)]
struct UpstreamForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    max_files: String,
    #[serde(default)]
    max_bytes: String,
    #[serde(default)]
    extensions: String,
}

impl UpstreamForm {
    /// The definition typed, checked as `kxd admin upstream define` checks it.
    fn definition(&self) -> Result<UpstreamDefinition, String> {
        fn number<T: std::str::FromStr>(text: &str, field: &str) -> Result<Option<T>, String> {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            text.parse()
                .map(Some)
                .map_err(|_| format!("{field}: {text}"))
        }
        let extensions: Vec<String> = self
            .extensions
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect();
        UpstreamDefinition {
            name: self.name.trim().to_owned(),
            to: self.to.trim().to_owned(),
            max_files: number(&self.max_files, "max_files")?,
            max_bytes: number(&self.max_bytes, "max_bytes")?,
            extensions: (!extensions.is_empty()).then_some(extensions),
        }
        .checked()
        .map_err(|e| e.to_string())
    }
}

async fn define_upstream(
    State(console): State<Arc<Console>>,
    visit: Visit,
    Form(form): Form<UpstreamForm>,
) -> Response {
    require!(visit.signed_form(&form.csrf));
    require!(visit.federation());
    let lang = visit.lang;
    let definition = match form.definition() {
        Ok(definition) => definition,
        Err(problem) => {
            return system_page(&console, &visit, Some(&Notice::invalid(lang, &problem))).await;
        }
    };
    let added = console.store().add_upstream_definition(&definition).await;
    let notice = match visit
        .added(&console, "upstream.define", &definition.name, added)
        .await
    {
        Ok(notice) => notice,
        Err(answer) => return answer,
    };
    system_page(&console, &visit, Some(&notice)).await
}

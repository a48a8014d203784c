//! 送信済みファイルステータス一覧 (the manual's §4.2): the last 2 months or all, the sealed
//! names, 健保ダウンロード 未/済, and the cancel of a send by checkbox while `未` (the server
//! refuses it after, E8005).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use kx_client::exchange::{self as ops, Failure};
use kx_client::kx_exchange::Code;
use kx_client::kx_exchange::api::SentEntry;
use maud::{Markup, html};
use serde::Deserialize;

use super::inbox::results;
use crate::app::App;
use crate::form::Fields;
use crate::page::{self, Shown, Visit, bytes, when};
use crate::society::is_desk;
use crate::words;

pub(super) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/sent", get(list))
        .route("/sent/cancel", post(cancel))
}

#[derive(Deserialize)]
struct Period {
    #[serde(default)]
    period: String,
    /// On the desk: only the sends to this office (送信状況 per office).
    #[serde(default)]
    office: String,
}

/// The desk's choice of one office among those the rows name.
fn office_filter(visit: &Visit, rows: &[SentEntry], only: &str) -> Markup {
    let mut offices: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.to.number.as_str(), r.to.name.as_str()))
        .collect();
    offices.sort_unstable();
    offices.dedup();
    html! {
        label for="office" { (visit.t(words::OFFICE_NAME)) }
        select #office name="office" {
            option value="" selected[only.is_empty()] { (visit.t(words::ALL_OFFICES)) }
            @for (number, name) in offices { option value=(number) selected[only == number] { (number) " " (name) } }
        }
    }
}

fn sent_page(
    visit: &Visit,
    all: bool,
    rows: &[SentEntry],
    desk: Option<&str>,
    failure: Option<&Shown>,
) -> Markup {
    let kept: Vec<&SentEntry> = rows
        .iter()
        .filter(|r| r.cancelled_at.is_none())
        .filter(|r| desk.is_none_or(|only| only.is_empty() || r.to.number == only))
        .collect();
    html! {
        @if let Some(shown) = failure { (page::failure(visit.lang, shown)) }
        form method="get" action="/sent" {
            @if let Some(only) = desk { (office_filter(visit, rows, only)) }
            fieldset {
                legend { (visit.t(words::PERIOD)) }
                label { input type="radio" name="period" value="recent" checked[!all]; " " (visit.t(words::LAST_TWO_MONTHS)) }
                label { input type="radio" name="period" value="all" checked[all]; " " (visit.t(words::ALL)) }
            }
            button.secondary type="submit" { (visit.t(words::SHOW)) }
        }
        p.detail { (visit.t(words::SENT_NOTE)) }
        form method="post" action="/sent/cancel" {
            @if kept.is_empty() { p { (visit.t(words::NONE)) } } @else {
                table {
                    caption { (visit.t(words::SENT)) }
                    (page::columns(visit.lang, &[words::SELECT, words::SENT_AT, words::DESTINATION, words::SEALED_NAME, words::SIZE, words::SOCIETY_DOWNLOAD]))
                    tbody { @for r in &kept { tr {
                        td { input type="checkbox" name="id" value=(r.id) id={ "s-" (r.id) } aria-label=(r.name); }
                        td { (when(r.sent_at)) }
                        td { (r.destination.clone().unwrap_or_else(|| format!("{} {}", r.to.number, r.to.name))) }
                        td { label for={ "s-" (r.id) } { (r.name) } }
                        td.num { (bytes(r.size)) }
                        td { (visit.t(if r.first_received_at.is_some() { words::DONE_MARK } else { words::NOT_YET })) }
                    } } }
                }
            }
            div.actions { button type="submit" { (visit.t(words::DELETE)) } }
        }
    }
}

async fn rows(app: &Arc<App>, all: bool) -> Result<Result<Vec<SentEntry>, Shown>, Response> {
    Ok(app
        .with_session(move |s| ops::sent(s, all))
        .await?
        .map_err(Shown::from))
}

/// `GET /sent?period=all|recent`.
async fn list(State(app): State<Arc<App>>, visit: Visit, Query(period): Query<Period>) -> Response {
    let all = period.period == "all";
    let desk = is_desk(&app).then_some(period.office.as_str());
    let body = match rows(&app, all).await {
        Ok(Ok(rows)) => sent_page(&visit, all, &rows, desk, None),
        Ok(Err(shown)) => sent_page(&visit, all, &[], desk, Some(&shown)),
        Err(elsewhere) => return elsewhere,
    };
    visit.page(words::SENT, &app.header(), body)
}

/// `POST /sent/cancel`: the confirmation, then a result per file.
async fn cancel(State(app): State<Arc<App>>, visit: Visit, fields: Fields) -> Response {
    let ids = fields.all("id");
    if ids.is_empty() {
        let desk = is_desk(&app).then_some("");
        let body = match rows(&app, true).await {
            Ok(Ok(rows)) => sent_page(
                &visit,
                true,
                &rows,
                desk,
                Some(&Failure::new(Code::E2001, &["削除"]).into()),
            ),
            Ok(Err(shown)) => sent_page(&visit, true, &[], desk, Some(&shown)),
            Err(elsewhere) => return elsewhere,
        };
        return visit.page(words::SENT, &app.header(), body);
    }
    if !fields.confirmed() {
        let keep: Vec<(&str, String)> = ids.iter().map(|id| ("id", id.clone())).collect();
        let question = html! { p { (visit.t(words::CANCEL_QUESTION)) } };
        let body = page::confirm(visit.lang, question, "/sent/cancel", &keep, "/sent");
        return visit.page(words::SENT, &app.header(), body);
    }
    let cancelled = match app.with_session(move |s| ops::cancel_sent(s, &ids)).await {
        Ok(cancelled) => cancelled,
        Err(elsewhere) => return elsewhere,
    };
    let body = match cancelled {
        Ok(outcomes) => results(&visit, &outcomes, words::CANCEL_RESULT, "/sent"),
        Err(err) => page::failure(visit.lang, &Shown::from(err)),
    };
    visit.page(words::CANCEL_RESULT, &app.header(), body)
}

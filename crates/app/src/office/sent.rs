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

/// What the list shows: the period and, on the desk, the office. The cancel form carries it
/// too, so that a refusal shows the list as it was.
#[derive(Deserialize, Default)]
struct Period {
    /// `all` (全件) or anything else (過去2か月).
    #[serde(default)]
    period: String,
    /// On the desk: only the sends to this office (送信状況 per office).
    #[serde(default)]
    office: String,
}

impl Period {
    fn all(&self) -> bool {
        self.period == "all"
    }

    /// The period's field value.
    fn value(&self) -> &'static str {
        if self.all() { "all" } else { "recent" }
    }

    /// The list as it was: the period, and the office when it is a number (nothing typed into
    /// the address comes back unchecked).
    fn path(&self) -> String {
        let mut path = format!("/sent?period={}", self.value());
        if !self.office.is_empty() && self.office.bytes().all(|b| b.is_ascii_digit()) {
            path.push_str("&office=");
            path.push_str(&self.office);
        }
        path
    }
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
    period: &Period,
    rows: &[SentEntry],
    desk: Option<&str>,
    failure: Option<&Shown>,
) -> Markup {
    let all = period.all();
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
            input type="hidden" name="period" value=(period.value());
            @if let Some(only) = desk { input type="hidden" name="office" value=(only); }
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
    show(&app, &visit, &period, None).await
}

/// The list of `period`, with `failure` above it.
async fn show(app: &Arc<App>, visit: &Visit, period: &Period, failure: Option<Shown>) -> Response {
    let desk = is_desk(app).then_some(period.office.as_str());
    let body = match rows(app, period.all()).await {
        Ok(Ok(rows)) => sent_page(visit, period, &rows, desk, failure.as_ref()),
        Ok(Err(shown)) => sent_page(visit, period, &[], desk, Some(&shown)),
        Err(elsewhere) => return elsewhere,
    };
    visit.page(words::SENT, &app.header(), body)
}

/// `POST /sent/cancel`: the confirmation, then a result per file.
async fn cancel(State(app): State<Arc<App>>, visit: Visit, fields: Fields) -> Response {
    let ids = fields.all("id");
    let period = Period {
        period: fields.one("period").to_owned(),
        office: fields.one("office").to_owned(),
    };
    if ids.is_empty() {
        let refused = Failure::new(Code::E2001, &["削除"]).into();
        return show(&app, &visit, &period, Some(refused)).await;
    }
    if !fields.confirmed() {
        let mut keep: Vec<(&str, String)> = ids.iter().map(|id| ("id", id.clone())).collect();
        keep.push(("period", period.value().to_owned()));
        keep.push(("office", period.office.clone()));
        let question = html! { p { (visit.t(words::CANCEL_QUESTION)) } };
        let body = page::confirm(visit.lang, question, "/sent/cancel", &keep, &period.path());
        return visit.page(words::SENT, &app.header(), body);
    }
    let cancelled = match app.with_session(move |s| ops::cancel_sent(s, &ids)).await {
        Ok(cancelled) => cancelled,
        Err(elsewhere) => return elsewhere,
    };
    let body = match cancelled {
        Ok(outcomes) => results(&visit, &outcomes, words::CANCEL_RESULT, &period.path()),
        Err(err) => page::failure(visit.lang, &Shown::from(err)),
    };
    visit.page(words::CANCEL_RESULT, &app.header(), body)
}

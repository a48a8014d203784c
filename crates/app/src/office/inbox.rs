//! 受信ファイル一覧 (the manual's §3): the list with checkboxes, 受信 with its two progress bars
//! and a result per file (the ZIPs handed to the browser, and written to the receive folder
//! when one is set), 削除 with the warning about files never received, and 履歴.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use kx_client::exchange::{self as ops, Failure, FileOutcome};
use kx_client::kx_exchange::Code;
use kx_client::kx_exchange::api::InboxEntry;
use maud::{Markup, html};
use serde::Deserialize;

use crate::app::{App, Outcome, Received, Stage};
use crate::form::Fields;
use crate::jobs::{Layout, lock};
use crate::page::{self, Shown, Visit, bytes, when};
use crate::society::is_desk;
use crate::words::{self, Tr};

pub(super) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/inbox", get(list).post(act))
        .route("/history", get(history))
}

/// The inbox table with its checkboxes, inside the form of `action`.
pub(crate) fn table(visit: &Visit, entries: &[InboxEntry], with_destination: bool) -> Markup {
    html! {
        table {
            caption { (visit.t(words::INBOX)) }
            thead { tr {
                th scope="col" { (visit.t(words::SELECT)) }
                th scope="col" { (visit.t(words::RECEIVED_AT)) }
                th scope="col" { (visit.t(words::SENT_AT)) }
                th scope="col" { (visit.t(words::FROM)) }
                @if with_destination { th scope="col" { (visit.t(words::DESTINATION)) } }
                th scope="col" { (visit.t(words::SIZE)) }
                th scope="col" { (visit.t(words::EXPIRES)) }
                th scope="col" { (visit.t(words::FILE_NAME)) }
            } }
            tbody {
                @for e in entries {
                    tr {
                        td { input type="checkbox" name="id" value=(e.id) id={ "f-" (e.id) } aria-label=(e.name); }
                        td { (e.last_received_at.map_or_else(|| visit.t(words::NOT_YET).to_owned(), when)) }
                        td { (when(e.sent_at)) }
                        td { (e.from.number) " " (e.from.name) }
                        @if with_destination { td { (e.destination.as_deref().unwrap_or("-")) } }
                        td.num { (bytes(e.size)) }
                        td { (e.expires_at.map_or_else(|| "-".to_owned(), when)) }
                        td { label for={ "f-" (e.id) } { (e.name) } }
                    }
                }
            }
        }
    }
}

/// The society desk's choice of one destination (窓口) of its inbox.
#[derive(Default, Deserialize)]
struct Only {
    #[serde(default)]
    destination: String,
}

/// The destination filter of the desk: every destination the entries name.
fn destination_filter(visit: &Visit, entries: &[InboxEntry], only: &str) -> Markup {
    let mut destinations: Vec<&str> = entries
        .iter()
        .filter_map(|e| e.destination.as_deref())
        .collect();
    destinations.sort_unstable();
    destinations.dedup();
    html! {
        form.search method="get" action="/inbox" {
            label for="destination" { (visit.t(words::DESTINATION)) }
            select #destination name="destination" {
                option value="" selected[only.is_empty()] { (visit.t(words::ALL_DESTINATIONS)) }
                @for d in destinations { option value=(d) selected[only == d] { (d) } }
            }
            button.secondary type="submit" { (visit.t(words::SHOW)) }
        }
    }
}

fn inbox_page(
    visit: &Visit,
    entries: &[InboxEntry],
    desk: Option<&str>,
    failure: Option<&Shown>,
) -> Markup {
    let shown: Vec<InboxEntry> = entries
        .iter()
        .filter(|e| {
            desk.is_none_or(|only| only.is_empty() || e.destination.as_deref() == Some(only))
        })
        .cloned()
        .collect();
    html! {
        @if let Some(shown) = failure { (page::failure(visit.lang, shown)) }
        @if let Some(only) = desk { (destination_filter(visit, entries, only)) }
        @if shown.is_empty() {
            p { (visit.t(words::INBOX_EMPTY)) }
        }
        form method="post" action="/inbox" {
            @if !shown.is_empty() { (table(visit, &shown, desk.is_some())) }
            div.actions {
                button type="submit" name="action" value="receive" { (visit.t(words::RECEIVE)) }
                button.secondary type="submit" name="action" value="delete" { (visit.t(words::DELETE)) }
                a.button href="/history" { (visit.t(words::HISTORY)) }
            }
        }
    }
}

/// `GET /inbox`: 受信ファイル一覧取得 (on the desk, `?destination=` keeps one destination).
async fn list(State(app): State<Arc<App>>, visit: Visit, Query(only): Query<Only>) -> Response {
    let listed = match app.with_session(|s| ops::inbox(s)).await {
        Ok(listed) => listed,
        Err(elsewhere) => return elsewhere,
    };
    let desk = is_desk(&app).then_some(only.destination.as_str());
    let body = match listed {
        Ok(entries) => inbox_page(&visit, &entries, desk, None),
        Err(err) => inbox_page(&visit, &[], desk, Some(&Shown::from(err))),
    };
    visit.page(words::INBOX, &app.header(), body)
}

/// Starts receiving `ids` (named `names`) as a job; returns its number.
pub(crate) fn start_receive(app: &Arc<App>, ids: Vec<String>, names: Vec<String>) -> u64 {
    let receiving = app.clone();
    app.jobs.start(words::RECEIVE, Layout::Receive, move |job| {
        let dir = receiving.receive_dir();
        let mut stage = lock(&receiving.stage);
        let Stage::Open { session, .. } = &mut *stage else {
            return Outcome::Received(Vec::new());
        };
        let files = ids
            .iter()
            .zip(&names)
            .map(|(id, name)| Received {
                name: name.clone(),
                result: std::fs::create_dir_all(&dir)
                    .map_err(|e| kx_client::Error::Other(e.into()))
                    .and_then(|()| ops::receive(session, id, name, &dir, job))
                    .map(|path| (receiving.offer(path.clone()), path))
                    .map_err(Shown::from),
            })
            .collect();
        Outcome::Received(files)
    })
}

/// `POST /inbox`: 受信 or 削除 of the files checked.
async fn act(State(app): State<Arc<App>>, visit: Visit, fields: Fields) -> Response {
    let ids = fields.all("id");
    let action = fields.one("action").to_owned();
    let operation = if action == "receive" {
        "受信"
    } else {
        "削除"
    };
    let listed = app.with_session(|s| ops::inbox(s)).await;
    let entries = match listed {
        Ok(Ok(entries)) => entries,
        Ok(Err(err)) => return show(&app, &visit, &[], Shown::from(err)),
        Err(elsewhere) => return elsewhere,
    };
    if ids.is_empty() {
        return show(
            &app,
            &visit,
            &entries,
            Failure::new(Code::E2001, &[operation]).into(),
        );
    }
    let chosen: Vec<&InboxEntry> = entries.iter().filter(|e| ids.contains(&e.id)).collect();
    if action == "receive" {
        let names = chosen.iter().map(|e| e.name.clone()).collect();
        let ids = chosen.iter().map(|e| e.id.clone()).collect();
        return Redirect::to(&format!("/jobs/{}", start_receive(&app, ids, names))).into_response();
    }
    if !fields.confirmed() {
        let unreceived: Vec<&&InboxEntry> = chosen
            .iter()
            .filter(|e| e.last_received_at.is_none())
            .collect();
        let question = html! {
            @if unreceived.is_empty() {
                p { (visit.t(words::DELETE_QUESTION)) }
            } @else {
                p.bad { (visit.t(words::DELETE_UNRECEIVED)) }
                ul { @for e in &unreceived { li { (e.name) } } }
            }
        };
        let mut keep: Vec<(&str, String)> = ids.iter().map(|id| ("id", id.clone())).collect();
        keep.push(("action", "delete".to_owned()));
        let body = page::confirm(visit.lang, question, "/inbox", &keep, "/inbox");
        return visit.page(words::DELETE, &app.header(), body);
    }
    let deleted = app
        .with_session(move |s| ops::delete_received(s, &ids))
        .await;
    match deleted {
        Ok(Ok(outcomes)) => visit.page(
            words::DELETE_RESULT,
            &app.header(),
            results(&visit, &outcomes, words::DELETE_RESULT, "/inbox"),
        ),
        Ok(Err(err)) => show(&app, &visit, &entries, Shown::from(err)),
        Err(elsewhere) => elsewhere,
    }
}

fn show(app: &App, visit: &Visit, entries: &[InboxEntry], shown: Shown) -> Response {
    let desk = is_desk(app).then_some("");
    visit.page(
        words::INBOX,
        &app.header(),
        inbox_page(visit, entries, desk, Some(&shown)),
    )
}

/// A result per file of a delete or cancel under `column` (削除結果, 取消結果), then the way
/// back.
pub(crate) fn results(visit: &Visit, outcomes: &[FileOutcome], column: Tr, back: &str) -> Markup {
    html! {
        table {
            (page::columns(visit.lang, &[words::FILE_NAME, column]))
            tbody {
                @for o in outcomes {
                    tr {
                        td { (if o.name.is_empty() { &o.id } else { &o.name }) }
                        td {
                            @match &o.result {
                                Ok(()) => span.done { (visit.t(words::SUCCESS)) },
                                Err(err) => (outcome_failure(visit, err)),
                            }
                        }
                    }
                }
            }
        }
        div.actions { a.button href=(back) { (visit.t(words::OK)) } }
    }
}

/// One file's failure in a result table: its code and message, the dialog's texts beside.
fn outcome_failure(visit: &Visit, err: &kx_client::Error) -> Markup {
    let shown = match err {
        kx_client::Error::Exchange(f) => Shown::from(f.clone()),
        other => Shown::from(Failure::new(Code::E9999, &[]).detail(other.to_string())),
    };
    html! {
        span.bad { (visit.t(words::FAILED)) }
        (page::failure(visit.lang, &shown))
    }
}

/// 受信結果: a line per file — where it was saved and its download, or its error.
pub(crate) fn received(visit: &Visit, files: &[Received]) -> Markup {
    html! {
        table {
            caption { (visit.t(words::RECEIVE_RESULT)) }
            (page::columns(visit.lang, &[words::FILE_NAME, words::RECEIVE_RESULT]))
            tbody {
                @for file in files {
                    tr {
                        td { (file.name) }
                        td {
                            @match &file.result {
                                Ok((n, path)) => {
                                    span.done { (visit.t(words::SUCCESS)) }
                                    " "
                                    a href={ "/downloads/" (n) } download=(file.name) { (visit.t(words::SAVE)) " " (file.name) }
                                    p.detail { (visit.t(words::SAVED_IN)) ": " (path.display()) }
                                }
                                Err(shown) => {
                                    span.bad { (visit.t(words::FAILED)) }
                                    (page::failure(visit.lang, shown))
                                }
                            }
                        }
                    }
                }
            }
        }
        div.actions { a.button href="/" { (visit.t(words::OK)) } }
    }
}

/// `GET /history`: 削除済み受信ファイルの履歴 (2 years from the send date).
async fn history(State(app): State<Arc<App>>, visit: Visit) -> Response {
    let listed = match app.with_session(|s| ops::history(s)).await {
        Ok(listed) => listed,
        Err(elsewhere) => return elsewhere,
    };
    let body = match listed {
        Ok(rows) => html! {
            p { (visit.t(words::HISTORY_TEXT)) }
            @if rows.is_empty() { p { (visit.t(words::NONE)) } } @else {
                table {
                    (page::columns(visit.lang, &[words::FILE_NAME, words::FROM, words::SENT_AT, words::RECEIVED_AT, words::DELETED_AT]))
                    tbody { @for r in &rows { tr {
                        td { (r.name) }
                        td { (r.from.number) " " (r.from.name) }
                        td { (when(r.sent_at)) }
                        td { (r.last_received_at.map_or_else(|| visit.t(words::NOT_YET).to_owned(), when)) }
                        td { (when(r.deleted_at)) }
                    } } }
                }
            }
            div.actions { a.button href="/inbox" { (visit.t(words::BACK)) } }
        },
        Err(err) => page::failure(visit.lang, &Shown::from(err)),
    };
    visit.page(words::HISTORY_TITLE, &app.header(), body)
}

//! 送信 from the desk: to one or several offices, picked from the list searched by number or
//! name (an office without a valid certificate cannot be picked); the files chosen as the
//! office app chooses them (ファイル追加, 削除, the running total, E2002–E2007 before anything
//! is sealed); a confirmation; then one sealed send per office, each for that office's
//! certificates, and a result per office.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use kx_client::exchange::{self as ops, Failure, Office, check_files, search_offices};
use kx_client::kx_exchange::Code;
use kx_client::kx_exchange::api::{Function, Uploaded};
use maud::{Markup, html};

use super::offices::{self, Search};
use crate::app::{App, Outcome, Stage};
use crate::form::Fields;
use crate::jobs::{Layout, lock};
use crate::office::send::{add_to, basket, chooser, remove_from};
use crate::page::{self, Shown, Visit, bytes};
use crate::words;

/// The desk's basket.
const SLUG: &str = "desk";

pub(super) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/desk/send", get(screen).post(send))
        .route("/desk/send/offices", post(pick))
        // As the office's ファイル追加 (see basket::add): the 20 MB counted as files arrive.
        .route(
            "/desk/send/add",
            post(add).layer(DefaultBodyLimit::disable()),
        )
        .route("/desk/send/remove", post(remove))
}

fn screen_body(
    visit: &Visit,
    all: &[Office],
    search: &Search,
    failure: Option<&Shown>,
    app: &App,
) -> Markup {
    let held = basket(app, SLUG);
    let found = search_offices(all, &search.q);
    let chosen: Vec<&Office> = all.iter().filter(|o| held.to.contains(&o.number)).collect();
    html! {
        @if let Some(shown) = failure { (page::failure(visit.lang, shown)) }
        (offices::search_form(visit, "/desk/send", search))
        form method="post" action="/desk/send/offices" {
            @for o in &found { input type="hidden" name="shown" value=(o.number); }
            @if found.is_empty() { p { (visit.t(words::NONE)) } } @else {
                (offices::table(visit, &found, Some(&held.to)))
            }
            button.secondary type="submit" { (visit.t(words::CHOOSE_OFFICES)) }
        }
        h2 { (visit.t(words::CHOSEN_OFFICES)) }
        @if chosen.is_empty() { p { (visit.t(words::NONE)) } } @else {
            ul.chosen { @for o in &chosen { li { (o.number) " " (o.name) } } }
        }
        (chooser(visit, "/desk/send", Function::Attachments, &held))
        form method="post" action="/desk/send" {
            div.actions { button type="submit" { (visit.t(words::SEND)) } }
        }
    }
}

async fn render(
    app: &Arc<App>,
    visit: &Visit,
    search: &Search,
    failure: Option<Shown>,
) -> Response {
    let (all, failure) = match offices::listed(app).await {
        Ok(Ok(all)) => (all, failure),
        Ok(Err(shown)) => (Vec::new(), Some(shown)),
        Err(elsewhere) => return elsewhere,
    };
    let body = screen_body(visit, &all, search, failure.as_ref(), app);
    visit.page(words::DESK_SEND, &app.header(), body)
}

/// `GET /desk/send?q=…`.
async fn screen(
    State(app): State<Arc<App>>,
    visit: Visit,
    Query(search): Query<Search>,
) -> Response {
    render(&app, &visit, &search, None).await
}

/// `POST /desk/send/offices`: the offices checked among those shown replace those shown;
/// offices picked under another search stay.
async fn pick(State(app): State<Arc<App>>, fields: Fields) -> Redirect {
    let shown = fields.all("shown");
    let checked = fields.all("to");
    let mut baskets = lock(&app.baskets);
    let held = baskets.entry(SLUG).or_default();
    held.to.retain(|n| !shown.contains(n));
    held.to
        .extend(checked.into_iter().filter(|n| shown.contains(n)));
    Redirect::to("/desk/send")
}

/// `POST /desk/send/add`: ファイル追加.
async fn add(State(app): State<Arc<App>>, visit: Visit, form: Multipart) -> Response {
    if !app.header().menu {
        return Redirect::to("/").into_response();
    }
    match add_to(&app, SLUG, Function::Attachments, form).await {
        Ok(_) => Redirect::to("/desk/send").into_response(),
        Err(shown) => render(&app, &visit, &Search::default(), Some(shown)).await,
    }
}

/// `POST /desk/send/remove`: 削除 of one file added.
async fn remove(State(app): State<Arc<App>>, fields: Fields) -> Redirect {
    remove_from(&app, SLUG, &fields);
    Redirect::to("/desk/send")
}

/// `POST /desk/send`: the checks, the confirmation, then a send per office as one job.
async fn send(State(app): State<Arc<App>>, visit: Visit, fields: Fields) -> Response {
    let held = basket(&app, SLUG);
    let Some(first) = held.to.first().cloned() else {
        let refused = Failure::new(Code::E2005, &[]).into();
        return render(&app, &visit, &Search::default(), Some(refused)).await;
    };
    let paths = held.paths();
    if let Err(err) = check_files(Function::Attachments, &first, &paths) {
        return render(&app, &visit, &Search::default(), Some(Shown::from(err))).await;
    }
    if !fields.confirmed() {
        let question = html! {
            p { (visit.t(words::SEND_QUESTION)) }
            p { (visit.t(words::CHOSEN_OFFICES)) ": " (held.to.join(", ")) }
            ul { @for f in &held.files { li { (f.name) " (" (bytes(f.size)) ")" } } }
        };
        let body = page::confirm(visit.lang, question, "/desk/send", &[], "/desk/send");
        return visit.page(words::DESK_SEND, &app.header(), body);
    }
    let sending = app.clone();
    let job = app
        .jobs
        .start(words::DESK_SEND, Layout::Upload, move |job| {
            let mut stage = lock(&sending.stage);
            let Stage::Open { session, .. } = &mut *stage else {
                return Outcome::Delivered(Vec::new());
            };
            let sends: Vec<(String, Result<Uploaded, Shown>)> = held
                .to
                .iter()
                .map(|number| {
                    let sent = ops::send_to_office(session, number, &paths, job);
                    (number.clone(), sent.map_err(Shown::from))
                })
                .collect();
            if sends.iter().all(|(_, sent)| sent.is_ok())
                && let Some(basket) = lock(&sending.baskets).get_mut(SLUG)
            {
                basket.clear();
                basket.to.clear();
            }
            Outcome::Delivered(sends)
        });
    Redirect::to(&format!("/jobs/{job}")).into_response()
}

/// 事業所ごとの送信結果.
pub(crate) fn delivered(visit: &Visit, sends: &[(String, Result<Uploaded, Shown>)]) -> Markup {
    html! {
        table {
            caption { (visit.t(words::DELIVERY_RESULT)) }
            (page::columns(visit.lang, &[words::OFFICE_NUMBER, words::SEND_RESULT]))
            tbody { @for (number, sent) in sends { tr {
                td { (number) }
                td { @match sent {
                    Ok(uploaded) => { span.done { (visit.t(words::SUCCESS)) } " " (visit.t(words::SEALED_NAME)) ": " (uploaded.name) },
                    Err(shown) => { span.bad { (visit.t(words::FAILED)) } (page::failure(visit.lang, shown)) },
                } }
            } } }
        }
        div.actions { a.button href="/desk" { (visit.t(words::OK)) } }
    }
}

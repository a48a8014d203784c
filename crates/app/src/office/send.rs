//! ファイル送信 (the manual's §4.1), both functions: 送信先 from the society's nicknames,
//! ファイル追加 with the chooser limited to what the function accepts (and each file checked as
//! it arrives), 削除 of a file added by mistake, the running total against 20 MB, the checks
//! of E2002–E2007 and E8004 before anything is sealed, the confirmation, and 送信結果.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use kx_client::exchange::{self as ops, check_files, prepare_send};
use kx_client::kx_exchange::api::{Destination, Function, Uploaded};
use kx_client::kx_exchange::send::{
    ATTACHMENT_EXTENSIONS, E_APPLICATION_FILE, MAX_SEND_BYTES, extension,
};
use maud::{Markup, html};

use crate::app::{App, Outcome, Stage};
use crate::basket::{self, Basket};
use crate::form::Fields;
use crate::jobs::{Layout, lock};
use crate::page::{self, Shown, Visit, bytes};
use crate::words::{self, Tr};

use super::kpfd;

pub(super) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/send/{function}", get(screen).post(send))
        .route("/send/{function}/destination", post(destination))
        // ファイル追加 reads what it refuses to its end (see basket::add): no limit on the
        // body here, the 20 MB are counted as the files arrive.
        .route(
            "/send/{function}/add",
            post(add).layer(DefaultBodyLimit::disable()),
        )
        .route("/send/{function}/remove", post(remove))
}

/// A send function by its path.
fn function(slug: &str) -> Option<(Function, &'static str, Tr)> {
    match slug {
        "e-application" => Some((
            Function::EApplication,
            "e-application",
            words::SEND_E_APPLICATION,
        )),
        "attachments" => Some((
            Function::Attachments,
            "attachments",
            words::SEND_ATTACHMENTS,
        )),
        _ => None,
    }
}

/// The file chooser's filter: extensions only (a browser ignores a whole name such as
/// `KPFD.CSV` there), the name itself checked as the file arrives.
fn accept(function: Function) -> String {
    match function {
        Function::EApplication => format!(".{}", extension(E_APPLICATION_FILE)),
        Function::Attachments => ATTACHMENT_EXTENSIONS
            .iter()
            .map(|e| format!(".{e}"))
            .collect::<Vec<_>>()
            .join(","),
    }
}

/// The basket of `slug` (a copy).
pub(crate) fn basket(app: &App, slug: &'static str) -> Basket {
    lock(&app.baskets).get(slug).cloned().unwrap_or_default()
}

/// What the send screen shows besides the basket.
struct Shows<'a> {
    destinations: &'a [Destination],
    failure: Option<&'a Shown>,
    /// The KPFD.CSV check of the e-application basket.
    kpfd: Option<&'a kpfd::Checked>,
    /// A send was asked for while the check found errors.
    held: bool,
}

/// The send screen.
fn screen_body(
    visit: &Visit,
    (function, slug, _): (Function, &'static str, Tr),
    basket: &Basket,
    shows: &Shows<'_>,
) -> Markup {
    let chosen = basket.to.first().map(String::as_str);
    let Shows {
        destinations,
        failure,
        kpfd: checked,
        held,
    } = *shows;
    html! {
        @if let Some(shown) = failure { (page::failure(visit.lang, shown)) }
        p { (visit.t(match function {
            Function::EApplication => words::E_APPLICATION_POLICY,
            Function::Attachments => words::ATTACHMENTS_POLICY,
        })) }
        form method="post" action={ "/send/" (slug) "/destination" } {
            label for="to" { (visit.t(words::DESTINATION)) }
            select #to name="to" {
                option value="" selected[chosen.is_none()] { (visit.t(words::CHOOSE)) }
                @for d in destinations {
                    option value=(d.nickname) selected[chosen == Some(d.nickname.as_str())] { (d.nickname) }
                }
            }
            button.secondary type="submit" { (visit.t(words::SELECT)) }
        }
        (chooser(visit, &format!("/send/{slug}"), function, basket))
        @if let Some(checked) = checked { (kpfd::findings(visit, checked, held)) }
        form method="post" action={ "/send/" (slug) } {
            @if checked.is_some_and(kpfd::has_errors) {
                div.check {
                    input #ignore-check type="checkbox" name=(kpfd::IGNORE) value="yes";
                    label for="ignore-check" { (visit.t(words::KPFD_IGNORE)) }
                }
            }
            div.actions { button type="submit" { (visit.t(words::SEND)) } }
        }
    }
}

/// ファイル追加 and the files added: the chooser limited to what `function` accepts, a 削除
/// per file, the running total against 20 MB. Its forms post to `BASE/add` and `BASE/remove`.
pub(crate) fn chooser(visit: &Visit, base: &str, function: Function, basket: &Basket) -> Markup {
    let total = basket.total();
    html! {
        form method="post" action={ (base) "/add" } enctype="multipart/form-data" {
            label for="files" { (visit.t(words::FILES_TO_ADD)) }
            input #files type="file" name="files" multiple[function == Function::Attachments]
                accept=(accept(function)) data-total="running-total" data-already=(total) data-limit=(MAX_SEND_BYTES);
            p.detail { (visit.t(words::ALLOWED)) ": " (match function {
                Function::EApplication => E_APPLICATION_FILE.to_owned(),
                Function::Attachments => accept(function),
            }) }
            button.secondary type="submit" { (visit.t(words::ADD_FILES)) }
        }
        h2 { (visit.t(words::FILES_TO_SEND)) }
        @if basket.files.is_empty() { p { (visit.t(words::NONE)) } } @else {
            table {
                (page::columns(visit.lang, &[words::FILE_NAME, words::SIZE, words::DELETE]))
                tbody { @for f in &basket.files { tr {
                    td { (f.name) }
                    td.num { (bytes(f.size)) }
                    td { form method="post" action={ (base) "/remove" } {
                        input type="hidden" name="name" value=(f.name);
                        button.secondary type="submit" aria-label={ (visit.t(words::DELETE)) " " (f.name) } { (visit.t(words::DELETE)) }
                    } }
                } } }
            }
        }
        p { (visit.t(words::TOTAL)) ": " output #running-total .total.over[total > MAX_SEND_BYTES] { (bytes(total)) } " (" (visit.t(words::LIMIT)) ")" }
    }
}

/// Checks the e-application basket's KPFD.CSV (`None` for the other function or no file).
async fn check_kpfd(app: &Arc<App>, function: Function, basket: &Basket) -> Option<kpfd::Checked> {
    if function != Function::EApplication || basket.files.is_empty() {
        return None;
    }
    let files: Vec<_> = basket
        .files
        .iter()
        .map(|f| (f.name.clone(), f.path.clone()))
        .collect();
    Some(app.blocking(move |_| kpfd::check(&files)).await)
}

/// Renders the send screen, with the society's destinations; `held` when a send waits for
/// the KPFD.CSV check's errors.
async fn render(
    app: &Arc<App>,
    visit: &Visit,
    slug: &str,
    failure: Option<Shown>,
    held: bool,
) -> Response {
    let Some(which) = function(slug) else {
        return Redirect::to("/menu").into_response();
    };
    let listed = match app.with_session(|s| ops::destinations(s)).await {
        Ok(listed) => listed,
        Err(elsewhere) => return elsewhere,
    };
    let (destinations, failure) = match listed {
        Ok(d) => (d, failure),
        Err(err) => (Vec::new(), Some(Shown::from(err))),
    };
    let held_basket = basket(app, which.1);
    let checked = check_kpfd(app, which.0, &held_basket).await;
    let shows = Shows {
        destinations: &destinations,
        failure: failure.as_ref(),
        kpfd: checked.as_ref(),
        held,
    };
    let body = screen_body(visit, which, &held_basket, &shows);
    visit.page(which.2, &app.header(), body)
}

/// `GET /send/FUNCTION`.
async fn screen(State(app): State<Arc<App>>, visit: Visit, Path(slug): Path<String>) -> Response {
    render(&app, &visit, &slug, None, false).await
}

/// `POST /send/FUNCTION/destination`: 送信先 chosen (in an open session only; the way back
/// names only a function of ours, never what was typed into the address).
async fn destination(
    State(app): State<Arc<App>>,
    Path(slug): Path<String>,
    fields: Fields,
) -> Redirect {
    let Some((_, slug, _)) = function(&slug) else {
        return Redirect::to("/menu");
    };
    if app.header().menu {
        let to = fields.one("to").to_owned();
        lock(&app.baskets).entry(slug).or_default().to =
            if to.is_empty() { Vec::new() } else { vec![to] };
    }
    Redirect::to(&format!("/send/{slug}"))
}

/// `POST /send/FUNCTION/add`: ファイル追加.
async fn add(
    State(app): State<Arc<App>>,
    visit: Visit,
    Path(slug): Path<String>,
    form: Multipart,
) -> Response {
    let Some((function, slug, _)) = function(&slug) else {
        return Redirect::to("/menu").into_response();
    };
    if !app.header().menu {
        return Redirect::to("/").into_response();
    }
    match add_to(&app, slug, function, form).await {
        Ok(_) => Redirect::to(&format!("/send/{slug}")).into_response(),
        Err(shown) => render(&app, &visit, slug, Some(shown), false).await,
    }
}

/// `POST /send/FUNCTION/remove`: 削除 of one file added (in an open session only).
async fn remove(State(app): State<Arc<App>>, Path(slug): Path<String>, fields: Fields) -> Redirect {
    let Some((_, slug, _)) = function(&slug) else {
        return Redirect::to("/menu");
    };
    if app.header().menu {
        remove_from(&app, slug, &fields);
    }
    Redirect::to(&format!("/send/{slug}"))
}

/// Adds the posted files to the basket of `slug`, each checked as it arrives.
pub(crate) async fn add_to(
    app: &App,
    slug: &'static str,
    function: Function,
    form: Multipart,
) -> Result<usize, Shown> {
    let mut held = basket(app, slug);
    let added = basket::add(&mut held, function, &app.staging(slug), form).await;
    lock(&app.baskets).insert(slug, held);
    added
}

/// Removes the file named in `fields` from the basket of `slug`.
pub(crate) fn remove_from(app: &App, slug: &'static str, fields: &Fields) {
    if let Some(basket) = lock(&app.baskets).get_mut(slug) {
        basket.remove(fields.one("name"));
    }
}

/// `POST /send/FUNCTION`: the checks, the confirmation, then the send as a job.
async fn send(
    State(app): State<Arc<App>>,
    visit: Visit,
    Path(slug): Path<String>,
    fields: Fields,
) -> Response {
    let Some((function, slug, title)) = function(&slug) else {
        return Redirect::to("/menu").into_response();
    };
    let held = basket(&app, slug);
    let to = held.to.first().cloned().unwrap_or_default();
    let paths = held.paths();
    let checked = app
        .with_session(move |s| {
            let files = check_files(function, &to, &paths)?;
            prepare_send(s, function, &to, files)
        })
        .await;
    let prepared = match checked {
        Ok(Ok(prepared)) => prepared,
        Ok(Err(err)) => return render(&app, &visit, slug, Some(Shown::from(err)), false).await,
        Err(elsewhere) => return elsewhere,
    };
    // The manual's checks first, then KPFD.CSV's contents.
    let ignore = fields.one(kpfd::IGNORE) == "yes";
    if !ignore
        && check_kpfd(&app, function, &held)
            .await
            .as_ref()
            .is_some_and(kpfd::has_errors)
    {
        return render(&app, &visit, slug, None, true).await;
    }
    if !fields.confirmed() {
        let question = html! {
            p { (visit.t(words::SEND_QUESTION)) }
            p { (visit.t(words::DESTINATION)) ": " (prepared.to()) }
            ul { @for f in &held.files { li { (f.name) " (" (bytes(f.size)) ")" } } }
        };
        let back = format!("/send/{slug}");
        let through: &[(&str, String)] = if ignore {
            &[(kpfd::IGNORE, "yes".to_owned())]
        } else {
            &[]
        };
        let body = page::confirm(visit.lang, question, &back, through, &back);
        return visit.page(title, &app.header(), body);
    }
    let sending = app.clone();
    let job = app.jobs.start(title, Layout::Upload, move |job| {
        let mut stage = lock(&sending.stage);
        let Stage::Open { session, .. } = &mut *stage else {
            return Outcome::Sent(Err(Shown::from(kx_client::Error::Usage(
                "no session".into(),
            ))));
        };
        let sent = prepared.send(session, job).map_err(Shown::from);
        if sent.is_ok()
            && let Some(basket) = lock(&sending.baskets).get_mut(slug)
        {
            basket.clear();
        }
        Outcome::Sent(sent)
    });
    Redirect::to(&format!("/jobs/{job}")).into_response()
}

/// 送信結果.
pub(crate) fn sent(visit: &Visit, sent: &Result<Uploaded, Shown>) -> Markup {
    html! {
        @match sent {
            Ok(uploaded) => {
                (page::done(visit.t(words::SENT_OK)))
                p { (visit.t(words::SEALED_NAME)) ": " (uploaded.name) }
            }
            Err(shown) => (page::failure(visit.lang, shown)),
        }
        div.actions { a.button href="/menu" { (visit.t(words::OK)) } }
    }
}

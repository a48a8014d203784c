//! The router: the guard in front of everything, the launch, the language toggle, the assets,
//! the progress of jobs (a screen and its Server-Sent Events), downloads, logout and quit;
//! then the office screens and the society desk.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use futures_util::Stream;
use maud::html;
use serde::Deserialize;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::WatchStream;
use tokio_util::io::ReaderStream;

use crate::app::{App, Outcome, Stage};
use crate::guard::{CONTROL_HEADER, Guard, Refusal, secure};
use crate::jobs::{Layout, lock};
use crate::page::{self, Lang, Visit};
use crate::words;
use crate::{assets, office, society};

/// Every route of the app.
pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/launch/{token}", get(launch))
        .route("/instance/launch", post(instance_launch))
        .route("/lang", get(language))
        .route("/assets/{name}", get(assets::serve))
        .route("/jobs/{id}", get(job))
        .route("/jobs/{id}/events", get(events))
        .route("/jobs/{id}/result", get(result))
        .route("/downloads/{n}", get(download))
        .route("/logout", post(logout))
        .route("/quit", post(quit))
        .merge(office::routes())
        .merge(society::routes())
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

/// The guard (see [`crate::guard`]) and the security headers on every answer.
async fn guard(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let open =
        path.starts_with("/launch/") || path.starts_with("/assets/") || path == "/instance/launch";
    let checked = if open {
        app.guard.check_host(request.headers())
    } else {
        app.guard.check(request.method(), request.headers())
    };
    let mut response = match checked {
        Ok(()) => {
            if !open && !path.ends_with("/events") {
                app.touch();
            }
            next.run(request).await
        }
        Err(refusal) => {
            tracing::warn!(?refusal, path, "request refused");
            let why = match refusal {
                Refusal::ForeignHost => words::FOREIGN_HOST,
                Refusal::ForeignOrigin => words::FOREIGN_ORIGIN,
                Refusal::NotLaunched => words::NOT_LAUNCHED,
                Refusal::StaleLaunch => words::STALE_LAUNCH,
            };
            page::refused(StatusCode::FORBIDDEN, why)
        }
    };
    secure(response.headers_mut());
    response
}

/// `/`: where the stage says the user is.
async fn home(State(app): State<Arc<App>>) -> Redirect {
    let Some(stage) = app.stage_now() else {
        return Redirect::to("/menu");
    };
    let to = match &*stage {
        Stage::New => "/setup",
        Stage::Watching => "/desk/serve",
        Stage::Waiting { pin: Some(_), .. } => "/setup/waiting",
        Stage::Waiting { pin: None, .. } => "/setup/resume",
        Stage::Locked { .. } => "/pin",
        Stage::Open { started: false, .. } => "/start",
        Stage::Open { .. } => "/menu",
    };
    Redirect::to(to)
}

/// `/launch/TOKEN`: the one-time token becomes the cookie; the browser goes on to `/`, so
/// the token leaves the address bar and the history.
async fn launch(State(app): State<Arc<App>>, Path(token): Path<String>) -> Response {
    match app.guard.exchange(&token) {
        Ok(cookie) => (
            [(header::SET_COOKIE, Guard::set_cookie(&cookie))],
            Redirect::to("/"),
        )
            .into_response(),
        Err(_) => page::refused(StatusCode::FORBIDDEN, words::STALE_LAUNCH),
    }
}

/// A second `kx app` for the profile asks for a launch token with the control secret.
async fn instance_launch(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let secret = headers
        .get(CONTROL_HEADER)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if app.guard.is_control(secret) {
        tracing::info!("a second kx app was pointed here");
        app.guard.launch_token().into_response()
    } else {
        StatusCode::FORBIDDEN.into_response()
    }
}

#[derive(Deserialize)]
struct Toggle {
    to: String,
    back: String,
}

/// The language toggle: sets the cookie and goes back (only to a path of ours).
async fn language(Query(toggle): Query<Toggle>) -> Response {
    // Browsers read `/\host` as `//host`, another site; a control character would break the
    // header.
    let ours = toggle.back.starts_with('/')
        && !toggle.back.starts_with("//")
        && !toggle.back.contains('\\')
        && !toggle.back.chars().any(char::is_control);
    let back = if ours { toggle.back } else { "/".to_owned() };
    (
        [(header::SET_COOKIE, Lang::from_tag(&toggle.to).set_cookie())],
        Redirect::to(&back),
    )
        .into_response()
}

/// A job's screen: its progress bars, updated by the events; the result when it ends.
async fn job(State(app): State<Arc<App>>, visit: Visit, Path(id): Path<u64>) -> Response {
    let Some(job) = app.jobs.get(id) else {
        return Redirect::to("/").into_response();
    };
    let bars = job.bars();
    if bars.finished {
        return Redirect::to(&format!("/jobs/{id}/result")).into_response();
    }
    let lang = visit.lang;
    let bar = |phase: &str, label: words::Tr| {
        html! {
            div.bar {
                label for={ "bar-" (phase) } { (label.get(lang)) }
                // Named by aria-label too: Chromium does not name a progress bar by its label.
                progress id={ "bar-" (phase) } max="100" value="0" aria-valuemin="0" aria-valuemax="100" aria-label=(label.get(lang)) {}
                output id={ "pct-" (phase) } for={ "bar-" (phase) } { "0%" }
            }
        }
    };
    let body = html! {
        section #job data-events={ "/jobs/" (id) "/events" } data-result={ "/jobs/" (id) "/result" } aria-live="polite" {
            @match job.layout {
                Layout::Waiting => {
                    p { (visit.t(words::WAITING_TEXT)) }
                    progress #bar-waiting aria-label=(visit.t(words::WAITING)) {}
                }
                Layout::Upload => {
                    p #job-name { (bars.name) }
                    (bar("upload", words::UPLOAD))
                }
                Layout::Receive => {
                    p #job-name { (bars.name) }
                    (bar("download", words::DOWNLOAD))
                    (bar("decryption", words::DECRYPTION))
                }
            }
            noscript { a href={ "/jobs/" (id) "/result" } { (visit.t(words::OK)) } }
        }
    };
    visit.page(job.title, &app.header(), body)
}

/// A job's progress as Server-Sent Events: one JSON object per change, the last one
/// `finished`.
async fn events(
    State(app): State<Arc<App>>,
    Path(id): Path<u64>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, StatusCode> {
    let job = app.jobs.get(id).ok_or(StatusCode::NOT_FOUND)?;
    let stream = WatchStream::new(job.watch())
        .throttle(Duration::from_millis(100))
        .map(|bars| {
            Ok(Event::default()
                .json_data(&bars)
                .unwrap_or_else(|_| Event::default().data("{}")))
        });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// A job's result.
async fn result(State(app): State<Arc<App>>, visit: Visit, Path(id): Path<u64>) -> Response {
    let Some(job) = app.jobs.get(id) else {
        return Redirect::to("/").into_response();
    };
    // What was received or sent is the session's: not shown once the app is locked. Only the
    // wait for the society comes before a session.
    if job.layout != Layout::Waiting && !app.header().menu {
        return Redirect::to("/").into_response();
    }
    // The manual's 受信結果 and 送信結果 screens.
    let rendered = job.with_result(|outcome| match outcome {
        Outcome::Received(files) => Ok((
            words::RECEIVE_RESULT,
            office::inbox::received(&visit, files),
        )),
        Outcome::Sent(sent) => Ok((words::SEND_RESULT, office::send::sent(&visit, sent))),
        Outcome::Delivered(sends) => Ok((job.title, society::send::delivered(&visit, sends))),
        Outcome::Issued(issued) => Err(issued.clone()),
    });
    match rendered {
        None => Redirect::to(&format!("/jobs/{id}")).into_response(),
        Some(Ok((title, body))) => visit.page(title, &app.header(), body),
        Some(Err(issued)) => office::setup::issued(&app, &visit, issued).await,
    }
}

/// A received ZIP, as a download.
async fn download(State(app): State<Arc<App>>, Path(n): Path<u64>) -> Response {
    // A received file is the session's: not handed out once the app is locked.
    if !app.header().menu {
        return Redirect::to("/").into_response();
    }
    let Some(path) = lock(&app.downloads).get(&n).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match tokio::fs::File::open(&path).await {
        Ok(file) => (
            [
                (header::CONTENT_TYPE, "application/zip".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"{}\"",
                        name.replace(['"', '\\'], "_")
                    ),
                ),
            ],
            Body::from_stream(ReaderStream::new(file)),
        )
            .into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

/// ログアウト: the session ends on the server; back to the PIN screen.
async fn logout(State(app): State<Arc<App>>) -> Redirect {
    end_session(&app).await;
    Redirect::to("/pin")
}

/// Ends the session on the server and drops it (its key with it).
pub(crate) async fn end_session(app: &Arc<App>) {
    app.blocking(|app| {
        let mut stage = lock(&app.stage);
        if let Stage::Open { session, .. } = &*stage
            && let Err(err) = kx_client::exchange::logout(session)
        {
            tracing::warn!(error = %err, "logout failed; the session is dropped all the same");
        }
        *stage = Stage::Locked { note: None };
    })
    .await;
}

/// 終了: the app stops.
async fn quit(State(app): State<Arc<App>>) -> Response {
    app.quit.send_replace(true);
    page::refused(StatusCode::OK, words::QUITTING)
}

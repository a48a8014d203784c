//! While `kx society serve` holds the profile, the desk shows what serve reports — when it
//! started, its last round, what it has done — rather than fighting it for the lock. The page
//! reloads itself every 10 seconds.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::Utc;
use kx_client::exchange::ServeState;
use maud::html;

use crate::app::{App, Stage};
use crate::page::{self, Shown, Visit, when};
use crate::words;

pub(super) fn routes() -> Router<Arc<App>> {
    Router::new().route("/desk/serve", get(state))
}

/// `GET /desk/serve`.
async fn state(State(app): State<Arc<App>>, visit: Visit) -> Response {
    if !matches!(app.stage_now().as_deref(), Some(Stage::Watching)) {
        return Redirect::to("/").into_response();
    }
    let read = app.blocking(|app| ServeState::read(&app.profile)).await;
    let body = match read {
        Ok(Some(state)) => {
            let yes_no = |b: bool| visit.t(if b { words::YES } else { words::NO });
            html! {
                meta http-equiv="refresh" content="10";
                @if state.is_current(Utc::now()) {
                    (page::done(visit.t(words::SERVE_RUNNING)))
                } @else {
                    p.bad role="status" { (visit.t(words::SERVE_STOPPED)) }
                }
                p { (visit.t(words::SERVE_TEXT)) }
                table {
                    caption { (visit.t(words::SERVE_RUNNING)) }
                    tbody {
                        tr { th scope="row" { (visit.t(words::SERVE_STARTED)) } td { (when(state.started_at)) } }
                        tr { th scope="row" { (visit.t(words::SERVE_LAST_ROUND)) } td { (when(state.last_round_at)) } }
                        tr { th scope="row" { (visit.t(words::SERVE_INTERVAL)) } td.num { (state.interval_seconds) } }
                        tr { th scope="row" { (visit.t(words::SERVE_INBOX)) } td { (state.inbox.display()) } }
                        tr { th scope="row" { (visit.t(words::SERVE_OUTBOX)) } td { (state.outbox.display()) } }
                        tr { th scope="row" { (visit.t(words::SERVE_APPROVING)) } td { (yes_no(state.approving)) } }
                        tr { th scope="row" { (visit.t(words::SERVE_PULLED)) } td.num { (state.pulled) } }
                        tr { th scope="row" { (visit.t(words::SERVE_SENT)) } td.num { (state.sent) } }
                        tr { th scope="row" { (visit.t(words::SERVE_DECIDED)) } td.num { (state.decided) } }
                        tr { th scope="row" { (visit.t(words::SERVE_FAILURES)) } td.num { (state.failures) } }
                        tr { th scope="row" { (visit.t(words::SERVE_LAST_FAILURE)) } td { (state.last_failure.as_deref().unwrap_or("-")) } }
                    }
                }
            }
        }
        Ok(None) => html! { p.bad role="status" { (visit.t(words::SERVE_STOPPED)) } },
        Err(err) => page::failure(visit.lang, &Shown::from(err)),
    };
    visit.page(words::SERVE_RUNNING, &app.header(), body)
}

//! The society desk (健保組合デスク): the same app with a society profile. Its first setup makes
//! the society's CA and certificate here; its function list leads to 受信 (the shared inbox,
//! by destination), 送信 to one or several offices, 送信状況 (the shared sent list, by office),
//! the certificate requests waiting for approval, and the offices whose certificates expire
//! within 60 days. While `kx society serve` holds the profile, the desk shows its state.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use kx_client::exchange as ops;
use kx_client::kx_exchange::api::PartyKind;
use maud::html;

use crate::app::App;
use crate::jobs::lock;
use crate::page::Visit;
use crate::words;

mod offices;
mod requests;
pub(crate) mod send;
mod serve;
mod setup;

/// The desk's routes.
pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/desk", get(menu))
        .merge(setup::routes())
        .merge(requests::routes())
        .merge(offices::routes())
        .merge(serve::routes())
        .merge(send::routes())
}

/// Whether the app serves a society.
pub(crate) fn is_desk(app: &App) -> bool {
    *lock(&app.kind) == Some(PartyKind::Society)
}

/// 機能一覧 of the desk, with what waits: requests to decide, certificates running out.
async fn menu(State(app): State<Arc<App>>, visit: Visit) -> Response {
    let header = app.header();
    if !is_desk(&app) || !header.menu {
        return Redirect::to("/").into_response();
    }
    let counted = app
        .with_session(|s| {
            let pending = ops::pending_requests(s).map(|r| r.len());
            let expiring =
                ops::offices(s).map(|offices| offices.iter().filter(|o| o.expires_soon()).count());
            (pending.ok(), expiring.ok())
        })
        .await;
    let (pending, expiring) = match counted {
        Ok(counts) => counts,
        Err(elsewhere) => return elsewhere,
    };
    let count = |n: Option<usize>| html! { @if let Some(n) = n { " (" (n) ")" } };
    let body = html! {
        nav.menu aria-label=(visit.t(words::MENU)) {
            a.button href="/inbox" { (visit.t(words::DESK_RECEIVE)) }
            a.button href="/desk/send" { (visit.t(words::DESK_SEND)) }
            a.button href="/sent" { (visit.t(words::DESK_SENT)) }
            a.button href="/desk/requests" { (visit.t(words::REQUESTS)) (count(pending)) }
            a.button href="/desk/offices" { (visit.t(words::OFFICES)) }
            a.button href="/desk/offices?soon=1" { (visit.t(words::EXPIRING)) (count(expiring)) }
            a.button href="/settings" { (visit.t(words::SETTINGS)) }
            a.button href="/password" { (visit.t(words::PASSWORD_CHANGE)) }
            form method="post" action="/quit" {
                button.secondary type="submit" { (visit.t(words::QUIT)) }
            }
        }
    };
    visit.page(words::MENU, &header, body)
}

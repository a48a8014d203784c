//! The office app's screens (the manual's §2–§5): first setup, PIN, start, the function list,
//! received files, the two send functions, sent files, and the settings. The society desk
//! shares the entry screens (setup aside), the settings and the receive result.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::html;

use crate::app::App;
use crate::page::Visit;
use crate::words;

pub(crate) mod inbox;
mod kpfd;
pub(crate) mod send;
mod sent;
pub(crate) mod settings;
pub(crate) mod setup;
pub(crate) mod start;

/// The office routes (and the entry screens both kinds share).
pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/menu", get(menu))
        .merge(setup::routes())
        .merge(start::routes())
        .merge(inbox::routes())
        .merge(sent::routes())
        .merge(settings::routes())
        .merge(send::routes())
}

/// 機能一覧: the functions of the office app (a society goes to its desk).
async fn menu(State(app): State<Arc<App>>, visit: Visit) -> Response {
    if crate::society::is_desk(&app) {
        return Redirect::to("/desk").into_response();
    }
    let header = app.header();
    if !header.menu {
        return Redirect::to("/").into_response();
    }
    let body = html! {
        nav.menu aria-label=(visit.t(words::MENU)) {
            a.button href="/inbox" { (visit.t(words::INBOX)) }
            a.button href="/send/e-application" { (visit.t(words::SEND_E_APPLICATION)) }
            a.button href="/send/attachments" { (visit.t(words::SEND_ATTACHMENTS)) }
            a.button href="/sent" { (visit.t(words::SENT)) }
            a.button href="/settings" { (visit.t(words::SETTINGS)) }
            a.button href="/password" { (visit.t(words::PASSWORD_CHANGE)) }
            form method="post" action="/quit" {
                button.secondary type="submit" { (visit.t(words::QUIT)) }
            }
        }
    };
    visit.page(words::MENU, &header, body)
}

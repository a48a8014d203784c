//! Starting the app (the manual's §2, §5.1, §5.2): PIN入力 with PIN変更, 起動確認 with the
//! login's notices as dialogs — a newer app version, the certificate renewal when fewer than 60
//! days remain, the society's newer certificate — and パスワード変更, which a temporary password
//! forces first.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use kx_client::exchange::{
    self as ops, Failure, Notice, Session, WaitOptions, renew_office, renew_society,
};
use kx_client::kx_crypto::keystore::Pin;
use kx_client::kx_exchange::api::{PartyKind, PasswordChange};
use kx_client::kx_exchange::settings::{PasswordPolicy, check_pin, item};
use maud::{Markup, html};

use crate::app::{App, Outcome, Stage};
use crate::form::Fields;
use crate::jobs::{Layout, lock};
use crate::page::{self, Shown, Visit};
use crate::words;

pub(super) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/pin", get(pin_form).post(pin))
        .route("/pin/change", get(pin_change_form).post(pin_change))
        .route("/start", get(start_form).post(start))
        .route("/renew", post(renew))
        .route("/password", get(password_form).post(password))
}

fn pin_page(visit: &Visit, note: Option<Markup>, failure: Option<&Shown>) -> Markup {
    html! {
        @if let Some(note) = note { (note) }
        @if let Some(shown) = failure { (page::failure(visit.lang, shown)) }
        form method="post" action="/pin" {
            label for="pin" { (visit.t(words::PIN)) }
            input #pin type="password" name="pin" required inputmode="numeric" maxlength="4" autofocus autocomplete="off";
            div.actions {
                button type="submit" { (visit.t(words::OK)) }
                a.button href="/pin/change" { (visit.t(words::PIN_CHANGE)) }
            }
        }
    }
}

/// `GET /pin`: PIN入力.
async fn pin_form(State(app): State<Arc<App>>, visit: Visit) -> Response {
    let note = match app.stage_now().as_deref() {
        Some(Stage::Locked { note }) => note.map(|note| page::done(visit.t(note))),
        _ => return Redirect::to("/").into_response(),
    };
    visit.page(
        words::PIN_ENTRY,
        &app.header(),
        pin_page(&visit, note, None),
    )
}

/// Opens the session with `pin`: the key, the login, the certificate checks.
fn open(app: &App, pin: &str) -> kx_client::Result<()> {
    check_pin(item::PIN, pin).map_err(Failure::from)?;
    let pin = Pin::new(pin).map_err(Failure::from)?;
    let mut stage = lock(&app.stage);
    if !matches!(*stage, Stage::Locked { .. }) {
        return Ok(());
    }
    let (session, notices) = Session::open(&app.profile, app.lock()?, pin)?;
    app.opened(&mut stage, session, notices);
    Ok(())
}

/// `POST /pin`.
async fn pin(State(app): State<Arc<App>>, visit: Visit, fields: Fields) -> Response {
    let pin = fields.one("pin").to_owned();
    match app.blocking(move |app| open(app, &pin)).await {
        Ok(()) => Redirect::to("/start").into_response(),
        Err(err) => {
            let shown = Shown::from(err);
            visit.page(
                words::PIN_ENTRY,
                &app.header(),
                pin_page(&visit, None, Some(&shown)),
            )
        }
    }
}

fn pin_change_page(visit: &Visit, failure: Option<&Shown>) -> Markup {
    html! {
        @if let Some(shown) = failure { (page::failure(visit.lang, shown)) }
        form method="post" action="/pin/change" {
            label for="current" { (visit.t(words::CURRENT_PIN)) }
            input #current type="password" name="current" required inputmode="numeric" maxlength="4" autocomplete="off";
            label for="new" { (visit.t(words::NEW_PIN)) }
            input #new type="password" name="new" required inputmode="numeric" maxlength="4" autocomplete="off";
            label for="again" { (visit.t(words::NEW_PIN_AGAIN)) }
            input #again type="password" name="again" required inputmode="numeric" maxlength="4" autocomplete="off";
            div.actions {
                button type="submit" { (visit.t(words::OK)) }
                a.button href="/pin" { (visit.t(words::BACK)) }
            }
        }
    }
}

/// `GET /pin/change`: PIN変更, from the PIN screen.
async fn pin_change_form(State(app): State<Arc<App>>, visit: Visit) -> Response {
    if !matches!(app.stage_now().as_deref(), Some(Stage::Locked { .. })) {
        return Redirect::to("/").into_response();
    }
    visit.page(
        words::PIN_CHANGE,
        &app.header(),
        pin_change_page(&visit, None),
    )
}

/// `POST /pin/change`: the confirmation first, then every key file re-encrypted.
async fn pin_change(State(app): State<Arc<App>>, visit: Visit, fields: Fields) -> Response {
    if !matches!(app.stage_now().as_deref(), Some(Stage::Locked { .. })) {
        return Redirect::to("/").into_response();
    }
    if !fields.confirmed() {
        let question = html! { p { (visit.t(words::PIN_CHANGE)) "？" } };
        let keep = ["current", "new", "again"].map(|n| (n, fields.one(n).to_owned()));
        let body = page::confirm(visit.lang, question, "/pin/change", &keep, "/pin/change");
        return visit.page(words::PIN_CHANGE, &app.header(), body);
    }
    let (current, new, again) = (
        fields.one("current").to_owned(),
        fields.one("new").to_owned(),
        fields.one("again").to_owned(),
    );
    let changed = app
        .blocking(move |app| ops::change_pin(&app.profile, &app.lock()?, &current, &new, &again))
        .await;
    match changed {
        Ok(()) => visit.page(
            words::PIN_ENTRY,
            &app.header(),
            pin_page(&visit, Some(page::done(visit.t(words::PIN_CHANGED))), None),
        ),
        Err(err) => visit.page(
            words::PIN_CHANGE,
            &app.header(),
            pin_change_page(&visit, Some(&Shown::from(err))),
        ),
    }
}

/// The notices of the login as the manual's dialogs.
fn notices(visit: &Visit, notices: &[Notice], days_left: Option<i64>) -> Markup {
    html! {
        @for notice in notices {
            @match notice {
                Notice::UpdateAvailable { version, current, notes, url } => {
                    section.dialog role="dialog" aria-labelledby="update-title" {
                        h2 #update-title { (visit.t(words::UPDATE_AVAILABLE)) }
                        p { (version) " (" (current) ")" }
                        p { (notes) }
                        p { a href=(url) rel="noopener noreferrer" target="_blank" { (url) } }
                    }
                }
                Notice::SocietyCertificateReplaced(code) => {
                    section.dialog role="dialog" aria-labelledby="society-title" {
                        h2 #society-title { (visit.t(words::SOCIETY_CERTIFICATE)) }
                        p lang="ja" { (code.code()) " " (code.japanese()) }
                        p lang="en" { (code.english()) }
                        p { (visit.t(words::SOCIETY_CERTIFICATE_FETCHED)) }
                    }
                }
                _ => {}
            }
        }
        @if let Some(days) = days_left {
            section.dialog role="dialog" aria-labelledby="renew-title" {
                h2 #renew-title { (visit.t(words::RENEWAL_DUE)) }
                p { (visit.t(words::RENEWAL_TEXT)) " (" (days) ")" }
                form method="post" action="/renew" {
                    button type="submit" { (visit.t(words::RENEW)) }
                }
            }
        }
    }
}

/// `GET /start`: 起動確認, with the login's notices.
async fn start_form(State(app): State<Arc<App>>, visit: Visit) -> Response {
    let question = if crate::society::is_desk(&app) {
        words::DESK_START_QUESTION
    } else {
        words::START_QUESTION
    };
    let body = {
        let Some(stage) = app.stage_now() else {
            return Redirect::to("/menu").into_response();
        };
        let Stage::Open {
            notices: held,
            started: false,
            session,
        } = &*stage
        else {
            return Redirect::to("/").into_response();
        };
        if session.must_change_password() {
            return Redirect::to("/password").into_response();
        }
        let days_left = held.iter().find_map(|n| match n {
            Notice::RenewalDue { days_left } => Some(*days_left),
            _ => None,
        });
        html! {
            (notices(&visit, held, days_left))
            section.dialog role="dialog" aria-labelledby="start-title" {
                h2 #start-title { (visit.t(words::START_CONFIRM)) }
                p { (visit.t(question)) }
                form method="post" action="/start" {
                    button type="submit" name="start" value="yes" autofocus { (visit.t(words::YES)) }
                    button.secondary type="submit" name="start" value="no" { (visit.t(words::NO)) }
                }
            }
        }
    };
    visit.page(words::START_CONFIRM, &app.header(), body)
}

/// `POST /start`: はい opens the function list; いいえ logs out.
async fn start(State(app): State<Arc<App>>, fields: Fields) -> Redirect {
    if fields.one("start") != "yes" {
        crate::routes::end_session(&app).await;
        return Redirect::to("/pin");
    }
    if let Some(mut stage) = app.stage_now()
        && let Stage::Open { started, .. } = &mut *stage
    {
        *started = true;
    }
    Redirect::to("/menu")
}

/// `POST /renew`: 電子証明書の更新, waiting for the society (an office) as a job.
async fn renew(State(app): State<Arc<App>>) -> Redirect {
    let renewing = app.clone();
    let job = app
        .jobs
        .start(words::RENEWAL_DUE, Layout::Waiting, move |job| {
            let mut stage = lock(&renewing.stage);
            let Stage::Open {
                session, notices, ..
            } = &mut *stage
            else {
                return Outcome::Issued(Err(Failure::new(
                    kx_client::kx_exchange::Code::E9999,
                    &[],
                )
                .into()));
            };
            let renewed = match session.kind() {
                PartyKind::Office => {
                    renew_office(session, &WaitOptions::default(), job).map(|_| ())
                }
                PartyKind::Society => renew_society(session),
            };
            if renewed.is_ok() {
                notices.retain(|n| !matches!(n, Notice::RenewalDue { .. }));
            }
            Outcome::Issued(renewed.map_err(Shown::from))
        });
    Redirect::to(&format!("/jobs/{job}"))
}

fn password_page(
    visit: &Visit,
    forced: bool,
    note: Option<Markup>,
    failure: Option<&Shown>,
) -> Markup {
    html! {
        @if let Some(note) = note { (note) }
        @if let Some(shown) = failure { (page::failure(visit.lang, shown)) }
        @if forced { p { (visit.t(words::NEW_PASSWORD_TEXT)) } }
        form method="post" action="/password" {
            @if !forced {
                label for="current" { (visit.t(words::CURRENT_PASSWORD)) }
                input #current type="password" name="current" required autocomplete="current-password";
            }
            label for="new" { (visit.t(words::NEW_PASSWORD)) }
            input #new type="password" name="new" required autocomplete="new-password";
            label for="again" { (visit.t(words::NEW_PASSWORD_AGAIN)) }
            input #again type="password" name="again" required autocomplete="new-password";
            div.actions { button type="submit" { (visit.t(words::UPDATE)) } }
        }
    }
}

/// Whether the open session's password is the temporary one; `None` without a session.
fn forced(app: &App) -> Option<bool> {
    match app.stage_now().as_deref() {
        Some(Stage::Open { session, .. }) => Some(session.must_change_password()),
        _ => None,
    }
}

/// `GET /password`: パスワード変更 (first, after a setup or a reset: the temporary one's
/// replacement).
async fn password_form(State(app): State<Arc<App>>, visit: Visit) -> Response {
    let Some(forced) = forced(&app) else {
        return Redirect::to("/").into_response();
    };
    visit.page(
        words::PASSWORD_CHANGE,
        &app.header(),
        password_page(&visit, forced, None, None),
    )
}

/// `POST /password`: the policy first, then the server.
async fn password(State(app): State<Arc<App>>, visit: Visit, fields: Fields) -> Response {
    let Some(forced) = forced(&app) else {
        return Redirect::to("/").into_response();
    };
    let typed = (
        fields.one("current").to_owned(),
        fields.one("new").to_owned(),
        fields.one("again").to_owned(),
    );
    let changed = app
        .blocking(move |app| {
            let mut stage = lock(&app.stage);
            let Stage::Open { session, .. } = &mut *stage else {
                return Err(Failure::new(kx_client::kx_exchange::Code::E9999, &[]).into());
            };
            let current = if forced {
                session.stored_password()?.to_string()
            } else {
                typed.0
            };
            if current.is_empty() {
                return Err(Failure::new(
                    kx_client::kx_exchange::Code::E1001,
                    &[item::CURRENT_PASSWORD],
                )
                .into());
            }
            let change = PasswordChange {
                current,
                new: typed.1,
                confirm: typed.2,
            };
            PasswordPolicy::default()
                .check_change(&change)
                .map_err(Failure::from)?;
            ops::change_password(session, &change)
        })
        .await;
    match changed {
        Ok(()) if forced => Redirect::to("/start").into_response(),
        Ok(()) => visit.page(
            words::PASSWORD_CHANGE,
            &app.header(),
            password_page(
                &visit,
                false,
                Some(page::done(visit.t(words::PASSWORD_CHANGED))),
                None,
            ),
        ),
        Err(err) => visit.page(
            words::PASSWORD_CHANGE,
            &app.header(),
            password_page(&visit, forced, None, Some(&Shown::from(err))),
        ),
    }
}

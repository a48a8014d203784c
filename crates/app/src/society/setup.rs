//! 初回設定 of the society desk: the society's CA and certificate are made here under the new
//! PIN (the server only learns the certificates) and registered with the one-time code; then
//! the first login, and the new password replacing the temporary one, as in the office app.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use kx_client::exchange::{self as ops, CA_DAYS, CERTIFICATE_DAYS, Session, SocietyEnrolment};
use kx_client::kx_exchange::api::PartyKind;
use maud::{Markup, html};

use crate::app::{App, Stage};
use crate::form::Fields;
use crate::jobs::lock;
use crate::office::setup::{Answers, SetupSteps, checked, setup_form, submit_setup};
use crate::page::{Header, Shown, Visit};
use crate::words;

pub(super) fn routes() -> Router<Arc<App>> {
    Router::new().route("/desk/setup", get(form).post(submit))
}

fn wizard(visit: &Visit, kept: &Fields, failure: Option<&Shown>) -> Markup {
    let intro = html! {
        p { (visit.t(words::DESK_SETUP_TEXT)) }
        p { a href="/setup" { (visit.t(words::OFFICE_SETUP_LINK)) } }
    };
    setup_form(
        visit,
        ("/desk/setup", words::DESK_SETUP_START),
        intro,
        kept,
        failure,
    )
}

/// `GET /desk/setup`.
async fn form(State(app): State<Arc<App>>, visit: Visit) -> Response {
    if !matches!(*lock(&app.stage), Stage::New) {
        return Redirect::to("/").into_response();
    }
    let body = wizard(&visit, &Fields::parse(b""), None);
    // The profile is not the society's yet: the header says whose setup this is.
    let header = Header {
        app: words::SOCIETY_DESK,
        ..app.header()
    };
    visit.page(words::DESK_SETUP, &header, body)
}

/// Makes the CA and the certificate, registers them, and logs in.
fn set_up(app: &App, answers: &Answers) -> Result<(), Shown> {
    let f = &answers.fields;
    let (server, ca, pin) = checked(app, answers)?;
    let enrolment = SocietyEnrolment::new(
        server,
        &ca,
        f.one("id").trim().to_owned(),
        f.one("code").trim().to_owned(),
        (CA_DAYS, CERTIFICATE_DAYS),
        app.fast_kdf,
    );
    let _ = std::fs::remove_file(&ca);
    let lock_held = app.lock()?;
    let society = ops::setup_society(
        &app.profile,
        &lock_held,
        &enrolment?,
        &pin,
        f.one("password"),
    )?;
    tracing::info!(society = %society.number, "society desk set up");
    *lock(&app.kind) = Some(PartyKind::Society);
    let mut stage = lock(&app.stage);
    *stage = Stage::Locked { note: None };
    let (session, notices) = Session::open(&app.profile, lock_held, pin)?;
    app.opened(&mut stage, session, notices);
    Ok(())
}

/// `POST /desk/setup`: then 起動確認, where the temporary password is replaced first.
async fn submit(State(app): State<Arc<App>>, visit: Visit, form: Multipart) -> Response {
    let steps = SetupSteps {
        app: words::SOCIETY_DESK,
        title: words::DESK_SETUP,
        form: wizard,
        run: set_up,
        next: "/start",
    };
    submit_setup(app, visit, form, steps).await
}

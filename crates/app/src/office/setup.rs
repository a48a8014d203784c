//! 初回設定: the first setup of an office app as a wizard — the server and its CA, the ID, the
//! one-time code and the temporary password the society gave, the PIN twice — then the wait
//! for the society to issue the certificate, then the new password replacing the temporary
//! one. A setup interrupted while waiting resumes with the PIN.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use kx_client::exchange::{
    self as ops, EnrolmentRequest, Failure, Session, WaitOptions, https_url,
};
use kx_client::kx_crypto::keystore::Pin;
use kx_client::kx_exchange::Code;
use kx_client::kx_exchange::api::PartyKind;
use kx_client::kx_exchange::settings::{check_new_pin, check_pin, item};
use maud::{Markup, html};
use zeroize::Zeroizing;

use crate::app::{App, Outcome, Stage};
use crate::form::Fields;
use crate::jobs::{Layout, lock};
use crate::page::{self, Header, Shown, Visit};
use crate::words::{self, Tr};

/// How long a setup waits for the society before the screen says to come back later.
const WAIT: Duration = Duration::from_secs(24 * 3600);

pub(super) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/setup", get(form).post(submit))
        .route("/setup/waiting", get(waiting))
        .route("/setup/resume", get(resume_form).post(resume))
}

/// The answers both first setups ask for — the server and its CA, the ID, the one-time code,
/// the temporary password, the PIN twice — with the fields kept after a refusal (never the
/// secrets).
pub(crate) fn credentials(visit: &Visit, kept: &Fields) -> Markup {
    html! {
        label for="server" { (visit.t(words::SERVER_URL)) }
        input #server type="url" name="server" required placeholder="https://kx.example:8443" value=(kept.one("server"));
        label for="ca" { (visit.t(words::SERVER_CA)) }
        input #ca type="file" name="ca" accept=".pem,.crt,.cer" required;
        label for="id" { (visit.t(words::LOGIN_ID)) }
        input #id type="text" name="id" required autocomplete="username" value=(kept.one("id"));
        label for="code" { (visit.t(words::ONE_TIME_CODE)) }
        input #code type="text" name="code" required autocomplete="one-time-code" value=(kept.one("code"));
        label for="password" { (visit.t(words::TEMPORARY_PASSWORD)) }
        input #password type="password" name="password" required autocomplete="current-password";
        label for="pin" { (visit.t(words::NEW_PIN)) }
        input #pin type="password" name="pin" required inputmode="numeric" maxlength="4" autocomplete="new-password";
        label for="pin_again" { (visit.t(words::NEW_PIN_AGAIN)) }
        input #pin_again type="password" name="pin_again" required inputmode="numeric" maxlength="4" autocomplete="new-password";
    }
}

/// A first setup's form: `intro`, then [`credentials`], posted to `action`.
pub(crate) fn setup_form(
    visit: &Visit,
    (action, submit): (&str, Tr),
    intro: Markup,
    kept: &Fields,
    failure: Option<&Shown>,
) -> Markup {
    html! {
        @if let Some(shown) = failure { (page::failure(visit.lang, shown)) }
        (intro)
        form method="post" action=(action) enctype="multipart/form-data" {
            (credentials(visit, kept))
            div.actions { button type="submit" { (visit.t(submit)) } }
        }
    }
}

/// The office wizard's form.
fn wizard(visit: &Visit, kept: &Fields, failure: Option<&Shown>) -> Markup {
    let intro = html! { p { a href="/desk/setup" { (visit.t(words::DESK_SETUP_LINK)) } } };
    setup_form(visit, ("/setup", words::SETUP_START), intro, kept, failure)
}

/// `GET /setup`.
async fn form(State(app): State<Arc<App>>, visit: Visit) -> Response {
    if !matches!(*lock(&app.stage), Stage::New) {
        return Redirect::to("/").into_response();
    }
    visit.page(
        words::SETUP,
        &app.header(),
        wizard(&visit, &Fields::parse(b""), None),
    )
}

/// A wizard's answers.
pub(crate) struct Answers {
    /// The fields but the CA.
    pub(crate) fields: Fields,
    /// The CA certificate file's bytes.
    ca: Vec<u8>,
}

/// Reads a wizard's form.
pub(crate) async fn read(mut form: Multipart) -> Result<Answers, Shown> {
    let mut pairs = Vec::new();
    let mut ca = Vec::new();
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| unexpected(e.body_text()))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.map_err(|e| unexpected(e.body_text()))?;
        if name == "ca" {
            ca = bytes.to_vec();
        } else {
            pairs.push(
                form_urlencoded::Serializer::new(String::new())
                    .append_pair(&name, &String::from_utf8_lossy(&bytes))
                    .finish(),
            );
        }
    }
    let joined = Zeroizing::new(pairs.join("&"));
    Ok(Answers {
        fields: Fields::parse(joined.as_bytes()),
        ca,
    })
}

/// An answer the app cannot take (a broken form, an unusable URL).
pub(crate) fn unexpected(detail: String) -> Shown {
    Failure::new(Code::E9999, &[]).detail(detail).into()
}

/// The answers of [`credentials`], checked (E1001, the PIN's rules): the server's URL, the
/// CA's file (written in the app's folder, for the caller to remove) and the new PIN.
pub(crate) fn checked(app: &App, answers: &Answers) -> Result<(String, PathBuf, Pin), Shown> {
    let f = &answers.fields;
    for (name, label) in [
        ("server", "KXサーバのURL"),
        ("id", "ID"),
        ("code", "ワンタイムコード"),
        ("password", "仮パスワード"),
    ] {
        if f.one(name).trim().is_empty() {
            return Err(Failure::new(Code::E1001, &[label]).into());
        }
    }
    if answers.ca.is_empty() {
        return Err(Failure::new(Code::E1001, &["CA証明書"]).into());
    }
    check_new_pin(f.one("pin"), f.one("pin_again")).map_err(Failure::from)?;
    let server = https_url(f.one("server").trim()).map_err(unexpected)?;
    let ca = app.staging("setup").join("server-ca.pem");
    let written = std::fs::create_dir_all(app.staging("setup"))
        .and_then(|()| std::fs::write(&ca, &answers.ca));
    written.map_err(|e| Shown::from(kx_client::Error::Other(e.into())))?;
    let pin = Pin::new(f.one("pin")).map_err(|e| Shown::from(Failure::from(e)))?;
    Ok((server, ca, pin))
}

/// Checks the answers and requests the certificate.
fn enrol(app: &App, answers: &Answers) -> Result<(), Shown> {
    let f = &answers.fields;
    let (server, ca, pin) = checked(app, answers)?;
    let request = EnrolmentRequest::new(
        Some(server),
        Some(&ca),
        Some(f.one("id").trim().to_owned()),
        Some(f.one("code").trim().to_owned()),
        app.fast_kdf,
    );
    let _ = std::fs::remove_file(&ca);
    let enrolment = ops::enrol(
        &app.profile,
        &app.lock()?,
        &request?,
        &pin,
        f.one("password"),
    )?;
    *lock(&app.stage) = Stage::Waiting {
        enrolment: Arc::new(enrolment),
        pin: Some(pin),
    };
    Ok(())
}

/// A first setup's steps: the app's name, its title, its form, what it does with the answers, and where the
/// user goes once it did.
pub(crate) struct SetupSteps {
    /// The app being set up (a new profile is neither yet): its name in the header.
    pub(crate) app: Tr,
    /// The screen's title.
    pub(crate) title: Tr,
    /// The form, with the fields kept and the refusal.
    pub(crate) form: fn(&Visit, &Fields, Option<&Shown>) -> Markup,
    /// The setup itself (blocking).
    pub(crate) run: fn(&App, &Answers) -> Result<(), Shown>,
    /// Where the user goes next.
    pub(crate) next: &'static str,
}

/// Posts a first setup: only for a new profile; a refusal shows the form again, its fields kept.
pub(crate) async fn submit_setup(
    app: Arc<App>,
    visit: Visit,
    form: Multipart,
    steps: SetupSteps,
) -> Response {
    if !matches!(*lock(&app.stage), Stage::New) {
        return Redirect::to("/").into_response();
    }
    let header = Header {
        app: steps.app,
        ..app.header()
    };
    let answers = match read(form).await {
        Ok(answers) => answers,
        Err(shown) => {
            let body = (steps.form)(&visit, &Fields::parse(b""), Some(&shown));
            return visit.page(steps.title, &header, body);
        }
    };
    let run = steps.run;
    let (answers, done) = app
        .blocking(move |app| {
            let done = run(app, &answers);
            (answers, done)
        })
        .await;
    match done {
        Ok(()) => Redirect::to(steps.next).into_response(),
        Err(shown) => {
            let body = (steps.form)(&visit, &answers.fields, Some(&shown));
            visit.page(steps.title, &header, body)
        }
    }
}

/// `POST /setup`: the request, then the wait.
async fn submit(State(app): State<Arc<App>>, visit: Visit, form: Multipart) -> Response {
    let steps = SetupSteps {
        app: words::OFFICE_APP,
        title: words::SETUP,
        form: wizard,
        run: enrol,
        next: "/setup/waiting",
    };
    submit_setup(app, visit, form, steps).await
}

/// Starts the wait for the society as a job; returns its number (none without a request).
fn wait(app: &Arc<App>) -> Option<u64> {
    let enrolment = match &*lock(&app.stage) {
        Stage::Waiting {
            enrolment,
            pin: Some(_),
        } => enrolment.clone(),
        _ => return None,
    };
    let waiting = app.clone();
    Some(app.jobs.start(words::WAITING, Layout::Waiting, move |job| {
        let options = WaitOptions {
            wait: WAIT,
            poll: Duration::from_secs(2),
        };
        Outcome::Issued(
            ops::wait_for_certificate(&waiting.profile, &enrolment, &options, job)
                .map_err(Shown::from),
        )
    }))
}

/// `GET /setup/waiting`: back to the wait under way (or a new one).
async fn waiting(State(app): State<Arc<App>>) -> Redirect {
    match wait(&app) {
        Some(job) => Redirect::to(&format!("/jobs/{job}")),
        None => Redirect::to("/"),
    }
}

fn resume_page(visit: &Visit, failure: Option<&Shown>) -> Markup {
    html! {
        @if let Some(shown) = failure { (page::failure(visit.lang, shown)) }
        p { (visit.t(words::RESUME_TEXT)) }
        form method="post" action="/setup/resume" {
            label for="pin" { (visit.t(words::PIN)) }
            input #pin type="password" name="pin" required inputmode="numeric" maxlength="4" autofocus;
            div.actions { button type="submit" { (visit.t(words::RESUME)) } }
        }
    }
}

/// `GET /setup/resume`: a request waits from an earlier run; the PIN continues it.
async fn resume_form(State(app): State<Arc<App>>, visit: Visit) -> Response {
    if !matches!(*lock(&app.stage), Stage::Waiting { pin: None, .. }) {
        return Redirect::to("/").into_response();
    }
    visit.page(words::SETUP, &app.header(), resume_page(&visit, None))
}

/// `POST /setup/resume`: the PIN is only checked once the certificate is there (the key it
/// opens is the one waiting for it); here only its form.
async fn resume(State(app): State<Arc<App>>, visit: Visit, fields: Fields) -> Response {
    let pin = check_pin(item::PIN, fields.one("pin"))
        .map_err(Failure::from)
        .and_then(|()| Pin::new(fields.one("pin")).map_err(Failure::from));
    match pin {
        Ok(pin) => {
            if let Stage::Waiting { pin: held, .. } = &mut *lock(&app.stage) {
                *held = Some(pin);
            }
            Redirect::to("/setup/waiting").into_response()
        }
        Err(failure) => visit.page(
            words::SETUP,
            &app.header(),
            resume_page(&visit, Some(&failure.into())),
        ),
    }
}

/// The society decided: on a certificate, the first login with the PIN of the setup, then the
/// password change the server insists on; on a refusal, the wizard again.
pub(crate) async fn issued(app: &Arc<App>, visit: &Visit, issued: Result<(), Shown>) -> Response {
    if matches!(app.stage_now().as_deref(), Some(Stage::Open { .. })) {
        return renewed(app, visit, issued);
    }
    if let Err(shown) = issued {
        let mut stage = lock(&app.stage);
        if matches!(*stage, Stage::Waiting { .. })
            && !app.profile.root().join("enrolment.json").exists()
        {
            *stage = Stage::New;
        }
        drop(stage);
        return visit.page(
            words::SETUP,
            &app.header(),
            wizard(visit, &Fields::parse(b""), Some(&shown)),
        );
    }
    let opened = app
        .blocking(|app| {
            let mut stage = lock(&app.stage);
            *lock(&app.kind) = Some(PartyKind::Office);
            let pin = match &mut *stage {
                Stage::Waiting { pin, .. } => pin.take(),
                Stage::Open { .. } => return Ok(()),
                _ => None,
            };
            let Some(pin) = pin else {
                *stage = Stage::Locked { note: None };
                return Ok(());
            };
            *stage = Stage::Locked { note: None };
            let (session, notices) = Session::open(&app.profile, app.lock()?, pin)?;
            app.opened(&mut stage, session, notices);
            Ok::<(), kx_client::Error>(())
        })
        .await;
    match opened {
        Ok(()) => Redirect::to("/start").into_response(),
        Err(err) => {
            let shown = Shown::from(err);
            visit.page(
                words::PIN_ENTRY,
                &app.header(),
                html! { (page::failure(visit.lang, &shown)) a.button href="/pin" { (visit.t(words::OK)) } },
            )
        }
    }
}

/// The society decided on a renewal (電子証明書の更新, from 起動確認): said so, or why not, then
/// back to 起動確認. The session goes on: the certificate it logged in with stays valid.
fn renewed(app: &App, visit: &Visit, issued: Result<(), Shown>) -> Response {
    let body = html! {
        @match issued {
            Ok(()) => (page::done(visit.t(words::RENEWED))),
            Err(shown) => (page::failure(visit.lang, &shown)),
        }
        div.actions { a.button href="/start" { (visit.t(words::OK)) } }
    };
    visit.page(words::RENEWAL_DUE, &app.header(), body)
}

//! The console's login: password, a temporary password's change, the second factor's enrolment
//! or code, and logout. Each stage that passes hands out a new session token.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{PreEscaped, html};
use serde::Deserialize;

use kx_denso::password::check_policy;
use kx_store::{ConsoleStage, Login, StepAcceptance};

use super::page::{Lang, Notice, Text, html_response, with_cookie};
use super::{Console, SESSION_COOKIE, Visit, store_failed, totp};

pub(super) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/login/password", get(step_page).post(change_password))
        .route("/login/enrol", get(step_page).post(enrol))
        .route("/login/code", get(step_page).post(code))
}

const WRONG: Text = Text(
    "IDまたはパスワードが正しくありません。",
    "The ID or password is incorrect.",
);
const WRONG_CODE: Text = Text(
    "確認コードが正しくありません。認証アプリの最新のコードを入力してください。",
    "The code is incorrect. Enter the newest code of your authenticator app.",
);
const TOO_MANY: Text = Text(
    "試行回数が多すぎます。しばらく待ってから、もう一度お試しください。",
    "Too many attempts. Wait a minute and try again.",
);
const BUSY: Text = Text(
    "サーバーが混み合っています。しばらくしてから、もう一度お試しください。",
    "The server is busy. Try again in a moment.",
);

/// Where each stage's page is.
fn stage_path(stage: ConsoleStage) -> &'static str {
    match stage {
        ConsoleStage::Password => "/login/password",
        ConsoleStage::Enrol => "/login/enrol",
        ConsoleStage::Code => "/login/code",
        ConsoleStage::In => "/",
    }
}

/// The session cookie for `token`; an empty token clears it.
fn session_cookie(token: &str) -> String {
    let age = if token.is_empty() { "; Max-Age=0" } else { "" };
    format!("{SESSION_COOKIE}={token}; Secure; HttpOnly; SameSite=Strict; Path=/{age}")
}

async fn login_form(visit: Visit) -> Response {
    if let Some(session) = &visit.session {
        return Redirect::to(stage_path(session.stage)).into_response();
    }
    let expired = visit.token.is_some().then(|| {
        Notice::error(
            visit.lang,
            Text(
                "セッションが終了しました。もう一度ログインしてください。",
                "Your session has ended. Log in again.",
            ),
        )
    });
    login_page(&visit, StatusCode::OK, expired.as_ref(), "")
}

fn login_page(visit: &Visit, status: StatusCode, notice: Option<&Notice>, id: &str) -> Response {
    let lang = visit.lang;
    let mut response = html_response(
        status,
        visit.frame().page(
            Text("ログイン", "Log in"),
            notice,
            html! {
                form method="post" action="/login" autocomplete="off" {
                    label { "ID" input type="text" name="id" value=(id) required autocomplete="username"; }
                    label {
                        (lang.t(Text("パスワード", "Password")))
                        input type="password" name="password" required autocomplete="current-password";
                    }
                    button type="submit" { (lang.t(Text("ログイン", "Log in"))) }
                }
            },
        ),
    );
    if visit.token.is_some() {
        response = with_cookie(response, &session_cookie(""));
    }
    response
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    id: String,
    #[serde(default)]
    password: String,
}

async fn login(
    State(console): State<Arc<Console>>,
    visit: Visit,
    Form(form): Form<LoginForm>,
) -> Response {
    let lang = visit.lang;
    let id = form.id.trim();
    if !console.attempts.allow(&visit.peer) {
        let notice = Notice::error(lang, TOO_MANY);
        return login_page(&visit, StatusCode::TOO_MANY_REQUESTS, Some(&notice), id);
    }
    let store = console.store();
    let checked = match store.verify_operator_password(id, &form.password).await {
        Ok(checked) => checked,
        Err(e) => return store_failed(lang, "operator login", &e),
    };
    let outcome = match checked {
        Login::Ok { .. } => "ok",
        Login::Wrong | Login::Unknown => "wrong-password",
        Login::LockedOut => "locked-out",
        Login::Locked => "locked",
        Login::Busy => "busy",
    };
    console.audit(id, "login", id, visit.peer, outcome).await;
    let must_change = match checked {
        Login::Ok {
            must_change_password,
        } => must_change_password,
        Login::Busy => {
            let notice = Notice::error(lang, BUSY);
            return login_page(&visit, StatusCode::SERVICE_UNAVAILABLE, Some(&notice), id);
        }
        Login::Wrong | Login::Unknown | Login::LockedOut | Login::Locked => {
            let notice = Notice::error(lang, WRONG);
            return login_page(&visit, StatusCode::OK, Some(&notice), id);
        }
    };
    let operator = match store.operator(id).await {
        Ok(Some(operator)) => operator,
        Ok(None) => {
            return login_page(
                &visit,
                StatusCode::OK,
                Some(&Notice::error(lang, WRONG)),
                id,
            );
        }
        Err(e) => return store_failed(lang, "operator", &e),
    };
    let stage = if must_change {
        ConsoleStage::Password
    } else if operator.enrolled {
        ConsoleStage::Code
    } else {
        ConsoleStage::Enrol
    };
    advance(&console, &visit, id, stage).await
}

/// Ends the visit's session (if any) and starts a new one of `operator` at `stage`, then
/// sends the browser to that stage's page.
async fn advance(
    console: &Console,
    visit: &Visit,
    operator: &str,
    stage: ConsoleStage,
) -> Response {
    let store = console.store();
    if let Some(token) = &visit.token
        && let Err(e) = store.end_console_session(token).await
    {
        return store_failed(visit.lang, "end session", &e);
    }
    let secret = match stage {
        ConsoleStage::Enrol => match totp::new_secret() {
            Ok(secret) => Some(secret),
            Err(e) => {
                tracing::error!(error = %e, "console: no randomness for a second factor");
                return super::failure(visit.lang);
            }
        },
        _ => None,
    };
    let token = match store
        .create_console_session(
            operator,
            stage,
            secret.as_deref(),
            visit.peer,
            chrono::Utc::now(),
        )
        .await
    {
        Ok(token) => token,
        Err(e) => return store_failed(visit.lang, "create session", &e),
    };
    if stage == ConsoleStage::In {
        console
            .audit(operator, "session", operator, visit.peer, "started")
            .await;
    }
    with_cookie(
        Redirect::to(stage_path(stage)).into_response(),
        &session_cookie(&token.0),
    )
}

/// `GET` of a stage's page: the page of the stage the session is at.
async fn step_page(visit: Visit) -> Response {
    step_response(&visit, StatusCode::OK, None)
}

fn step_response(visit: &Visit, status: StatusCode, notice: Option<&Notice>) -> Response {
    let Some(session) = &visit.session else {
        return Redirect::to("/login").into_response();
    };
    if stage_path(session.stage) != visit.path {
        return Redirect::to(stage_path(session.stage)).into_response();
    }
    let lang = visit.lang;
    let frame = visit.frame();
    let (title, body) = match session.stage {
        ConsoleStage::Password => (
            Text("パスワード変更", "Change your password"),
            html! {
                p { (lang.t(Text(
                    "仮パスワードでログインしました。新しいパスワードを設定してください。",
                    "You logged in with a temporary password. Set a new one.",
                ))) }
                form method="post" action="/login/password" autocomplete="off" {
                    (frame.csrf())
                    label { (lang.t(Text("現在のパスワード", "Current password"))) input type="password" name="current" required autocomplete="current-password"; }
                    label { (lang.t(Text("新しいパスワード", "New password"))) input type="password" name="new" required autocomplete="new-password"; }
                    label { (lang.t(Text("確認", "Confirm new password"))) input type="password" name="confirm" required autocomplete="new-password"; }
                    button type="submit" { (lang.t(Text("変更", "Change"))) }
                }
            },
        ),
        ConsoleStage::Enrol => {
            let secret = session.pending_secret.as_deref().unwrap_or_default();
            let url = totp::otpauth_url(secret, &session.operator.id);
            let qr = totp::qr_svg(&url).unwrap_or_default();
            (
                Text("2段階認証の設定", "Set up two-step verification"),
                html! {
                    p { (lang.t(Text(
                        "認証アプリ（Google Authenticator、Microsoft Authenticator など）でこのQRコードを読み取り、表示された6桁のコードを入力してください。",
                        "Scan this QR code with an authenticator app (Google Authenticator, Microsoft Authenticator, …) and enter the 6-digit code it shows.",
                    ))) }
                    figure role="img" aria-label=(lang.t(Text("2段階認証のQRコード", "Two-step verification QR code"))) { (PreEscaped(qr)) }
                    p { (lang.t(Text("読み取れない場合はこのキーを入力してください：", "If you cannot scan it, type this key:"))) " "
                        span.secret data-testid="totp-secret" { (totp::base32(secret)) } }
                    (code_form(&frame, "/login/enrol"))
                },
            )
        }
        ConsoleStage::Code => (
            Text("確認コード", "Verification code"),
            html! {
                p { (lang.t(Text("認証アプリに表示された6桁のコードを入力してください。", "Enter the 6-digit code your authenticator app shows."))) }
                (code_form(&frame, "/login/code"))
            },
        ),
        ConsoleStage::In => return Redirect::to("/").into_response(),
    };
    frame.respond(status, title, notice, body)
}

fn code_form(frame: &super::page::Frame<'_>, action: &str) -> maud::Markup {
    let lang = frame.lang;
    html! {
        form method="post" action=(action) autocomplete="off" {
            (frame.csrf())
            label { (lang.t(Text("確認コード", "Code")))
                input type="text" name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" required autocomplete="one-time-code"; }
            button type="submit" { (lang.t(Text("確認", "Verify"))) }
        }
    }
}

#[derive(Deserialize)]
pub(super) struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

async fn change_password(
    State(console): State<Arc<Console>>,
    visit: Visit,
    Form(form): Form<PasswordForm>,
) -> Response {
    let lang = visit.lang;
    let Some(session) = visit
        .session
        .as_ref()
        .filter(|s| s.stage == ConsoleStage::Password)
    else {
        return Redirect::to("/login").into_response();
    };
    if !visit.csrf_ok(&form.csrf) {
        return super::forbidden(lang);
    }
    let id = session.operator.id.clone();
    let store = console.store();
    match store.verify_operator_password(&id, &form.current).await {
        Ok(Login::Ok { .. }) => {}
        Ok(Login::Busy) => {
            return step_response(
                &visit,
                StatusCode::SERVICE_UNAVAILABLE,
                Some(&Notice::error(lang, BUSY)),
            );
        }
        Ok(_) => {
            console
                .audit(&id, "password", &id, visit.peer, "wrong-password")
                .await;
            return step_response(&visit, StatusCode::OK, Some(&Notice::error(lang, WRONG)));
        }
        Err(e) => return store_failed(lang, "operator password", &e),
    }
    if let Err(problem) = check_policy(&id, &form.current, &form.new, &form.confirm) {
        let (ja, en) = problem.message();
        let text = match lang {
            Lang::Ja => ja,
            Lang::En => en,
        };
        console
            .audit(&id, "password", &id, visit.peer, problem.name())
            .await;
        return step_response(
            &visit,
            StatusCode::OK,
            Some(&Notice::Error(text.to_owned())),
        );
    }
    match store.set_operator_password(&id, &form.new, false).await {
        Ok(_) => {}
        Err(kx_store::Error::Busy) => {
            return step_response(
                &visit,
                StatusCode::SERVICE_UNAVAILABLE,
                Some(&Notice::error(lang, BUSY)),
            );
        }
        Err(e) => return store_failed(lang, "set operator password", &e),
    }
    console.audit(&id, "password", &id, visit.peer, "ok").await;
    let next = if session.operator.enrolled {
        ConsoleStage::Code
    } else {
        ConsoleStage::Enrol
    };
    advance(&console, &visit, &id, next).await
}

#[derive(Deserialize)]
pub(super) struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

/// Confirms the enrolment's secret with a first code.
async fn enrol(
    State(console): State<Arc<Console>>,
    visit: Visit,
    Form(form): Form<CodeForm>,
) -> Response {
    let Some(session) = visit
        .session
        .as_ref()
        .filter(|s| s.stage == ConsoleStage::Enrol)
    else {
        return Redirect::to("/login").into_response();
    };
    if !visit.csrf_ok(&form.csrf) {
        return super::forbidden(visit.lang);
    }
    let id = session.operator.id.clone();
    let Some(secret) = session.pending_secret.clone() else {
        return Redirect::to("/login").into_response();
    };
    if !console.attempts.allow(&visit.peer) {
        return step_response(
            &visit,
            StatusCode::TOO_MANY_REQUESTS,
            Some(&Notice::error(visit.lang, TOO_MANY)),
        );
    }
    let Some(step) = totp::matching_step(&secret, &form.code, totp::unix_now()) else {
        console
            .audit(&id, "enrol", &id, visit.peer, "wrong-code")
            .await;
        return step_response(
            &visit,
            StatusCode::OK,
            Some(&Notice::error(visit.lang, WRONG_CODE)),
        );
    };
    if let Err(e) = console
        .store()
        .confirm_operator_totp(&id, &secret, step)
        .await
    {
        return store_failed(visit.lang, "confirm second factor", &e);
    }
    console.audit(&id, "enrol", &id, visit.peer, "ok").await;
    advance(&console, &visit, &id, ConsoleStage::In).await
}

/// Checks the second factor's code.
async fn code(
    State(console): State<Arc<Console>>,
    visit: Visit,
    Form(form): Form<CodeForm>,
) -> Response {
    let lang = visit.lang;
    let Some(session) = visit
        .session
        .as_ref()
        .filter(|s| s.stage == ConsoleStage::Code)
    else {
        return Redirect::to("/login").into_response();
    };
    if !visit.csrf_ok(&form.csrf) {
        return super::forbidden(lang);
    }
    let id = session.operator.id.clone();
    if !console.attempts.allow(&visit.peer) {
        return step_response(
            &visit,
            StatusCode::TOO_MANY_REQUESTS,
            Some(&Notice::error(lang, TOO_MANY)),
        );
    }
    let store = console.store();
    let secret = match store.operator_totp_secret(&id).await {
        Ok(Some(secret)) => secret,
        Ok(None) => return Redirect::to("/login").into_response(),
        Err(e) => return store_failed(lang, "second factor", &e),
    };
    let accepted = match totp::matching_step(&secret, &form.code, totp::unix_now()) {
        Some(step) => match store.accept_totp_step(&id, step).await {
            Ok(accepted) => accepted == StepAcceptance::Accepted,
            Err(e) => return store_failed(lang, "second factor step", &e),
        },
        None => false,
    };
    if !accepted {
        let counted = match store.count_operator_failure(&id).await {
            Ok(counted) => counted,
            Err(e) => return store_failed(lang, "count failure", &e),
        };
        let outcome = if counted == Login::LockedOut {
            "locked-out"
        } else {
            "wrong-code"
        };
        console.audit(&id, "code", &id, visit.peer, outcome).await;
        if counted != Login::Wrong {
            // Locked: the session ends with the lock, and the login page says no more.
            return super::login::login_page(
                &visit,
                StatusCode::OK,
                Some(&Notice::error(lang, WRONG_CODE)),
                "",
            );
        }
        return step_response(
            &visit,
            StatusCode::OK,
            Some(&Notice::error(lang, WRONG_CODE)),
        );
    }
    console.audit(&id, "code", &id, visit.peer, "ok").await;
    advance(&console, &visit, &id, ConsoleStage::In).await
}

#[derive(Deserialize)]
pub(super) struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout`.
pub(super) async fn logout(
    State(console): State<Arc<Console>>,
    visit: Visit,
    Form(form): Form<LogoutForm>,
) -> Response {
    let (Some(token), Some(session)) = (&visit.token, &visit.session) else {
        return Redirect::to("/login").into_response();
    };
    if !visit.csrf_ok(&form.csrf) {
        return super::forbidden(visit.lang);
    }
    if let Err(e) = console.store().end_console_session(token).await {
        return store_failed(visit.lang, "end session", &e);
    }
    console
        .audit(
            &session.operator.id,
            "logout",
            &session.operator.id,
            visit.peer,
            "ok",
        )
        .await;
    with_cookie(Redirect::to("/login").into_response(), &session_cookie(""))
}

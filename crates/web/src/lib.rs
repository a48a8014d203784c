//! The web password-change page (spec §2, §3.3.2): over HTTPS only, an ID authenticates with
//! its current password and sets a new one, which applies from the next SMTP or POP3
//! connection (sessions already open keep running; nothing but the stored hash changes).
//!
//! # Routes
//!
//! | route | answer |
//! |---|---|
//! | `GET /` | `303` to `/password` |
//! | `GET /password` | the form (ID, 現在のパスワード, 新しいパスワード, 確認) with a fresh CSRF token |
//! | `POST /password` | fields `csrf`, `id`, `current`, `new`, `confirm`; the form again with a message |
//! | anything else | `404` (`405` for another method on `/password`) |
//!
//! Every answer carries `Content-Security-Policy: default-src 'none'; style-src 'self'
//! 'unsafe-inline'; form-action 'self'`, `X-Frame-Options: DENY`, `Cache-Control: no-store`,
//! `Referrer-Policy: same-origin`, `X-Content-Type-Options: nosniff` and HSTS.
//!
//! # Checks on `POST /password`, in order
//!
//! 1. **CSRF** (`403`): the body must be `application/x-www-form-urlencoded`; an `Origin`
//!    header, when present, must be `https://` + this request's `Host`; the hidden field
//!    `csrf` must equal the `kx_csrf` cookie set with the form (double submit: `Secure;
//!    HttpOnly; SameSite=Strict; Path=/password`, 32 random bytes, compared in constant time).
//! 2. **Rate limit** (`429`): at most `security.web_attempts_per_minute` submissions per source
//!    address (default 10).
//! 3. **Credentials** (`200`, the form with `Message::Credentials`): the ID and current
//!    password are checked as an SMTP or POP3 login is (`Gateway::login`, audited as
//!    `web.login`): a wrong password, an unknown ID, a locked account and a refused network
//!    all give the same message, and a wrong password counts toward lock-out and waits the
//!    source's penalty. When the password checks are all busy, `503` with `Retry-After` and
//!    `Message::Busy`, for the check and for hashing the new password alike.
//! 4. **Policy** (`200`, the form with the first [`Problem`] found): the 伝送 password rule
//!    of `kx_denso::password`, below.
//! 5. The new password is stored (`set_password`, not temporary), audited as `web.password`
//!    with outcome `ok`; a policy refusal is audited with the problem's name.
//!
//! # Password policy
//!
//! | rule | message |
//! |---|---|
//! | 10 to 64 characters | パスワードは10文字以上64文字以下にしてください。 / The password must be 10 to 64 characters long. |
//! | printable ASCII, no spaces | 使用できる文字は半角の英字・数字・記号です（空白は使えません）。 / Use only ASCII letters, digits and symbols (no spaces). |
//! | at least 3 of: upper-case, lower-case, digit, symbol | 英大文字・英小文字・数字・記号のうち3種類以上を含めてください。 / Use at least three of: upper-case letters, lower-case letters, digits, symbols. |
//! | does not contain the ID (ignoring case) | パスワードにIDを含めないでください。 / The password must not contain the ID. |
//! | differs from the current password | 現在のパスワードとは異なるパスワードにしてください。 / The new password must differ from the current one. |
//! | the confirmation is equal | 確認用のパスワードが一致しません。 / The confirmation does not match the new password. |
//!
//! Passwords are never echoed into a page, written to a log or kept beyond the request; the ID
//! is echoed back (escaped) so a refused form need not be typed again.
//!
//! The read-only download area of service notices, on the same listener, is [`service`]. The
//! `console` listener's pages are [`console`], its monitoring routes (`/metrics`, `/healthz`,
//! `/readyz`) [`monitor`].

pub mod console;
pub mod monitor;
pub mod service;

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use subtle::ConstantTimeEq as _;

use kx_denso::password::{Problem, check_policy};
use kx_gateway::Gateway;
use kx_listen::https::Peer;
use kx_listen::{AuthOutcome, RateLimiter};

/// The CSRF cookie's name.
pub const CSRF_COOKIE: &str = "kx_csrf";

/// The largest form accepted.
const MAX_BODY: usize = 16 * 1024;

/// What a page tells the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Message {
    /// The password was changed.
    Done,
    /// Wrong ID or password, unknown ID, locked account: one message for all.
    Credentials,
    /// A policy problem.
    Policy(Problem),
    /// The form's CSRF checks failed.
    Forbidden,
    /// Too many attempts from this address.
    TooMany,
    /// The password checks are all busy: nothing was checked or changed.
    Busy,
    /// The store failed.
    Error,
}

impl Message {
    fn status(self) -> StatusCode {
        match self {
            Message::Done | Message::Credentials | Message::Policy(_) => StatusCode::OK,
            Message::Forbidden => StatusCode::FORBIDDEN,
            Message::TooMany => StatusCode::TOO_MANY_REQUESTS,
            Message::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Message::Error => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn text(self) -> (&'static str, &'static str) {
        match self {
            Message::Done => (
                "パスワードを変更しました。次回の接続から新しいパスワードが有効になります。",
                "The password has been changed. It applies from the next connection.",
            ),
            Message::Credentials => (
                "IDまたはパスワードが正しくありません。",
                "The ID or password is incorrect.",
            ),
            Message::Policy(problem) => problem.message(),
            Message::Forbidden => (
                "フォームが無効です。ページを読み込み直してから、もう一度送信してください。",
                "The form is not valid. Reload the page and submit it again.",
            ),
            Message::TooMany => (
                "試行回数が多すぎます。しばらく待ってから、もう一度お試しください。",
                "Too many attempts. Wait a minute and try again.",
            ),
            Message::Busy => (
                "サーバーが混み合っています。しばらくしてから、もう一度お試しください。",
                "The server is busy. Try again in a moment.",
            ),
            Message::Error => (
                "サーバーでエラーが発生しました。しばらくしてから、もう一度お試しください。",
                "The server failed. Try again later.",
            ),
        }
    }

    fn class(self) -> &'static str {
        if self == Message::Done { "ok" } else { "error" }
    }
}

/// What the handlers share.
struct Web {
    gateway: Arc<Gateway>,
    attempts: RateLimiter<IpAddr>,
}

/// The routes (the listener adds the security headers and the fallback).
fn router(web: Arc<Web>) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/password") }))
        .route("/password", get(form).post(submit))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(web)
}

async fn form() -> Response {
    page(None, "")
}

/// The form with a fresh CSRF token (cookie and hidden field), `message` above it and `id`
/// filled in.
fn page(message: Option<Message>, id: &str) -> Response {
    let token = match kx_listen::random_token() {
        Ok(token) => token,
        Err(e) => {
            tracing::error!(error = %e, "web: no randomness for a CSRF token");
            return (StatusCode::INTERNAL_SERVER_ERROR, "server error\n").into_response();
        }
    };
    let status = message.map_or(StatusCode::OK, Message::status);
    let notice = match message {
        Some(message) => {
            let (ja, en) = message.text();
            format!(
                "<p class=\"{}\" role=\"alert\">{ja}<br>{en}</p>\n",
                message.class()
            )
        }
        None => String::new(),
    };
    let html = format!(
        r#"<!DOCTYPE html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>パスワード変更 / Change password</title>
<style>
body {{ font-family: sans-serif; max-width: 36em; margin: 2em auto; padding: 0 1em; }}
label {{ display: block; margin-top: 1em; }}
input[type=text], input[type=password] {{ width: 100%; padding: .3em; box-sizing: border-box; }}
button {{ margin-top: 1.5em; padding: .4em 1.5em; }}
.error {{ color: #a00; border: 1px solid #a00; padding: .5em; }}
.ok {{ color: #060; border: 1px solid #060; padding: .5em; }}
.rules {{ font-size: .9em; color: #444; }}
</style>
</head>
<body>
<h1>パスワード変更 <small>/ Change password</small></h1>
{notice}<form method="post" action="/password" autocomplete="off">
<input type="hidden" name="csrf" value="{token}">
<label>ID<input type="text" name="id" value="{id}" required autocomplete="username"></label>
<label>現在のパスワード / Current password<input type="password" name="current" required autocomplete="current-password"></label>
<label>新しいパスワード / New password<input type="password" name="new" required autocomplete="new-password"></label>
<label>確認 / Confirm new password<input type="password" name="confirm" required autocomplete="new-password"></label>
<button type="submit">変更 / Change</button>
</form>
<p class="rules">10〜64文字の半角英数字・記号で、英大文字・英小文字・数字・記号のうち3種類以上を含み、IDを含まないもの。新しいパスワードは次回の接続から有効です。<br>
10 to 64 ASCII characters with at least three of: upper-case, lower-case, digits, symbols; not containing the ID. The new password applies from the next connection.</p>
</body>
</html>
"#,
        id = escape(id),
    );
    let cookie =
        format!("{CSRF_COOKIE}={token}; Secure; HttpOnly; SameSite=Strict; Path=/password");
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    match HeaderValue::from_str(&cookie) {
        Ok(value) => {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
        Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "server error\n").into_response(),
    }
    if message == Some(Message::Busy) {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(kx_listen::BUSY_RETRY_AFTER.as_secs()),
        );
    }
    response
}

/// HTML-escapes text for an attribute value or element content.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The submitted fields; a missing one is empty.
#[derive(Default)]
struct Fields {
    csrf: String,
    id: String,
    current: String,
    new: String,
    confirm: String,
}

impl Fields {
    fn parse(body: &[u8]) -> Fields {
        let mut fields = Fields::default();
        for (name, value) in form_urlencoded::parse(body) {
            let slot = match name.as_ref() {
                "csrf" => &mut fields.csrf,
                "id" => &mut fields.id,
                "current" => &mut fields.current,
                "new" => &mut fields.new,
                "confirm" => &mut fields.confirm,
                _ => continue,
            };
            *slot = value.into_owned();
        }
        fields
    }
}

/// Whether the request passes the CSRF checks (content type, origin, double-submit token).
fn csrf_ok(headers: &HeaderMap, fields: &Fields) -> bool {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return false;
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        let same = match (origin.to_str(), host) {
            (Ok(origin), Some(host)) => origin.eq_ignore_ascii_case(&format!("https://{host}")),
            _ => false,
        };
        if !same {
            return false;
        }
    }
    let Some(cookie) = csrf_cookie(headers) else {
        return false;
    };
    !fields.csrf.is_empty() && bool::from(cookie.as_bytes().ct_eq(fields.csrf.as_bytes()))
}

/// The value of the `kx_csrf` cookie, if the request has exactly one.
fn csrf_cookie(headers: &HeaderMap) -> Option<String> {
    let mut found = None;
    for value in headers.get_all(header::COOKIE) {
        let Ok(value) = value.to_str() else { continue };
        for pair in value.split(';') {
            if let Some((name, token)) = pair.trim().split_once('=')
                && name == CSRF_COOKIE
            {
                if found.is_some() {
                    return None;
                }
                found = Some(token.to_owned());
            }
        }
    }
    found.filter(|token| !token.is_empty())
}

async fn submit(
    State(web): State<Arc<Web>>,
    Extension(Peer(peer)): Extension<Peer>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = Fields::parse(&body);
    let id = fields.id.trim();
    if !csrf_ok(&headers, &fields) {
        tracing::warn!(%peer, "web: password form refused (CSRF checks)");
        return page(Some(Message::Forbidden), "");
    }
    if !web.attempts.allow(&peer) {
        tracing::warn!(%peer, "web: too many password-change attempts");
        return page(Some(Message::TooMany), id);
    }
    let account = match web.gateway.login("web", id, &fields.current, peer).await {
        AuthOutcome::Authenticated(account) => account,
        AuthOutcome::Rejected | AuthOutcome::LockedOut => {
            return page(Some(Message::Credentials), id);
        }
        AuthOutcome::Busy => return page(Some(Message::Busy), id),
    };
    let object = account.to_string();
    if let Err(problem) = check_policy(id, &fields.current, &fields.new, &fields.confirm) {
        web.gateway
            .audit(&object, "web.password", &object, Some(peer), problem.name())
            .await;
        return page(Some(Message::Policy(problem)), id);
    }
    match web
        .gateway
        .store()
        .set_password(&account, &fields.new, false)
        .await
    {
        Ok(()) => {
            web.gateway
                .audit(&object, "web.password", &object, Some(peer), "ok")
                .await;
            tracing::info!(account = %object, %peer, "web: password changed");
            page(Some(Message::Done), "")
        }
        Err(kx_store::Error::Busy) => page(Some(Message::Busy), id),
        Err(e) => {
            tracing::error!(error = %e, account = %object, "web: cannot store the password");
            web.gateway
                .audit(&object, "web.password", &object, Some(peer), "error")
                .await;
            page(Some(Message::Error), id)
        }
    }
}

/// The password page's routes, to be served by the shared HTTPS accept loop on the `https`
/// listener (together with the exchange's bootstrap routes).
pub fn routes(gateway: Arc<Gateway>, attempts_per_minute: u32) -> Router {
    let attempts =
        RateLimiter::shared(attempts_per_minute, "web.attempts", gateway.tally().clone());
    router(Arc::new(Web { gateway, attempts }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "J13123456780";

    #[test]
    fn csrf_needs_form_type_same_origin_and_matching_token() {
        let fields = Fields::parse(b"csrf=abc123&id=J13123456780&current=x&new=y&confirm=y");
        assert_eq!(fields.csrf, "abc123");
        assert_eq!(fields.id, ID);
        let headers = |pairs: &[(&'static str, &str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.append(*name, HeaderValue::from_str(value).unwrap());
            }
            map
        };
        let form = ("content-type", "application/x-www-form-urlencoded");
        let host = ("host", "kx.example:8443");
        let good = headers(&[form, host, ("cookie", "a=b; kx_csrf=abc123")]);
        assert!(csrf_ok(&good, &fields));
        let same_origin = headers(&[
            form,
            host,
            ("origin", "https://kx.example:8443"),
            ("cookie", "kx_csrf=abc123"),
        ]);
        assert!(csrf_ok(&same_origin, &fields));
        for bad in [
            headers(&[host, ("cookie", "kx_csrf=abc123")]),
            headers(&[
                ("content-type", "text/plain"),
                host,
                ("cookie", "kx_csrf=abc123"),
            ]),
            headers(&[form, host]),
            headers(&[form, host, ("cookie", "kx_csrf=abc124")]),
            headers(&[form, host, ("cookie", "kx_csrf=abc123; kx_csrf=evil")]),
            headers(&[
                form,
                host,
                ("origin", "https://evil.example"),
                ("cookie", "kx_csrf=abc123"),
            ]),
            headers(&[
                form,
                host,
                ("origin", "http://kx.example:8443"),
                ("cookie", "kx_csrf=abc123"),
            ]),
            headers(&[form, host, ("origin", "null"), ("cookie", "kx_csrf=abc123")]),
        ] {
            assert!(!csrf_ok(&bad, &fields), "{bad:?}");
        }
        let no_token = Fields::parse(b"id=x");
        assert!(!csrf_ok(
            &headers(&[form, host, ("cookie", "kx_csrf=")]),
            &no_token
        ));
    }

    #[test]
    fn the_form_escapes_the_id_and_sets_the_cookie() {
        let response = page(Some(Message::Credentials), "<b>\"x");
        assert_eq!(response.status(), StatusCode::OK);
        let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
        assert!(cookie.starts_with("kx_csrf="));
        assert!(cookie.ends_with("; Secure; HttpOnly; SameSite=Strict; Path=/password"));
        assert_eq!(
            page(Some(Message::Forbidden), "").status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(escape("<b>\"x'&"), "&lt;b&gt;&quot;x&#39;&amp;");
    }
}

//! The operators' console on `listeners.console`: federation operators (伝送 organisations and
//! accounts, the pipeline, mailboxes, societies) and society administrators (their own
//! society's offices, users, destinations, files' metadata and certificates), server-rendered,
//! Japanese first with an English toggle, no script at all.
//!
//! # Login
//!
//! `POST /login` checks the ID and password as every login is checked (argon2id in the bounded
//! pool, the same answer for an unknown ID, a wrong password and a locked operator, failures
//! counted toward the temporary lock-out) and starts a session at the first stage still to do:
//! a temporary password is changed, then a TOTP second factor is enrolled (QR code and the
//! secret in base32, confirmed by a first code) or its code entered. Every stage hands out a new
//! session token, so a token from before a stage cannot be used after it; a code is accepted
//! once, and a wrong code counts as a failed login.
//!
//! # Sessions
//!
//! The cookie `__Host-kx_console` (`Secure; HttpOnly; SameSite=Strict; Path=/`) carries a random
//! token whose SHA-256 the store keeps. A session ends on logout, after
//! `[console] idle_minutes` unused, when used from another address, and when its operator is
//! locked or has its password reset. Every form carries the session's CSRF token, and a
//! request whose `Origin` is not this console is refused before anything else.
//!
//! # Scope
//!
//! A society administrator's society comes from its session, never from the request: an id in
//! a URL or form that names another society's office, user or file is answered as a missing
//! one (404), so not even its existence shows. Every action is written to the audit log as
//! the operator; no page can show a file's contents (the server has none to show).

mod audit;
mod federation;
mod login;
mod outgoing;
mod page;
mod society;
mod system;
mod totp;

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use subtle::ConstantTimeEq as _;

use kx_gateway::Gateway;
use kx_listen::RateLimiter;
use kx_listen::https::Peer;
use kx_store::{ConsoleSession, ConsoleStage, OperatorRole, Store};

use page::{Frame, Lang, Notice, Text, html_response};

/// The session cookie. `__Host-` makes the browser refuse it unless secure, host-only and for
/// the whole site.
const SESSION_COOKIE: &str = "__Host-kx_console";

/// The largest form accepted.
const MAX_BODY: usize = 64 * 1024;

/// `[console]` in `kxd.toml`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsoleSettings {
    /// Unused for this long, a session ends.
    pub idle: std::time::Duration,
    /// Login attempts (password or code) per source address and minute.
    pub attempts_per_minute: u32,
    /// The quota of an office a society administrator adds, in bytes.
    pub office_quota: u64,
    /// The quota of a society a federation operator adds, in bytes.
    pub society_quota: u64,
    /// Days an enrolment code stays valid.
    pub enrolment_code_days: u32,
}

/// What the console's handlers share.
pub(crate) struct Console {
    gateway: Arc<Gateway>,
    settings: ConsoleSettings,
    attempts: RateLimiter<IpAddr>,
}

impl Console {
    fn store(&self) -> &Store {
        self.gateway.store()
    }

    /// Records a console action of `actor` in the audit log.
    async fn audit(&self, actor: &str, action: &str, object: &str, peer: IpAddr, outcome: &str) {
        self.store()
            .record_audit(
                actor,
                &format!("console.{action}"),
                object,
                Some(peer),
                outcome,
            )
            .await;
    }
}

/// The console's routes, to be served on `listeners.console`.
pub fn routes(gateway: Arc<Gateway>, settings: ConsoleSettings) -> Router {
    let attempts = RateLimiter::shared(
        settings.attempts_per_minute,
        "console.attempts",
        gateway.tally().clone(),
    );
    let console = Arc::new(Console {
        gateway,
        settings,
        attempts,
    });
    Router::new()
        .route("/lang", get(switch_language))
        .merge(login::routes())
        .merge(federation::routes())
        .merge(society::routes())
        .merge(audit::routes())
        .merge(outgoing::routes())
        .merge(system::routes())
        .route("/", get(home))
        .route("/logout", post(login::logout))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(same_origin))
        .with_state(console)
}

/// Refuses a request that changes something from another site: its `Origin` (which browsers
/// send with every POST) must be this console's, and `Sec-Fetch-Site` must not be cross-site.
async fn same_origin(request: axum::extract::Request, next: Next) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let headers = request.headers();
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        let origin_ok = match headers.get(header::ORIGIN).map(|v| v.to_str()) {
            None => true,
            Some(Ok(origin)) => {
                host.is_some_and(|host| origin.eq_ignore_ascii_case(&format!("https://{host}")))
            }
            Some(Err(_)) => false,
        };
        let site_ok = headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_none_or(|site| site == "same-origin" || site == "none");
        if !origin_ok || !site_ok {
            return (StatusCode::FORBIDDEN, "forbidden: cross-site request\n").into_response();
        }
    }
    next.run(request).await
}

/// `name=value` pairs of the request's cookies.
pub(crate) fn cookies(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
}

/// One request as the console sees it: who sends it, in which language, with which session.
pub(crate) struct Visit {
    lang: Lang,
    peer: IpAddr,
    path: String,
    token: Option<String>,
    session: Option<ConsoleSession>,
}

impl FromRequestParts<Arc<Console>> for Visit {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &Arc<Console>,
    ) -> Result<Visit, Response> {
        let peer = parts
            .extensions
            .get::<Peer>()
            .map(|Peer(ip)| *ip)
            .ok_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response())?;
        let lang = Lang::of(&parts.headers);
        let token = cookies(&parts.headers)
            .find(|(name, _)| *name == SESSION_COOKIE)
            .map(|(_, value)| value.to_owned());
        let session = match &token {
            Some(token) => {
                let idle = chrono::Duration::from_std(console.settings.idle)
                    .unwrap_or(chrono::Duration::minutes(15));
                match console
                    .store()
                    .console_session(token, peer, chrono::Utc::now(), idle)
                    .await
                {
                    Ok(session) => session,
                    Err(e) => {
                        tracing::error!(error = %e, "console: cannot read a session");
                        return Err(failure(lang));
                    }
                }
            }
            None => None,
        };
        Ok(Visit {
            lang,
            peer,
            path: parts.uri.path().to_owned(),
            token,
            session,
        })
    }
}

impl Visit {
    fn frame(&self) -> Frame<'_> {
        Frame {
            lang: self.lang,
            path: &self.path,
            session: self.session.as_ref(),
        }
    }

    /// The logged-in session.
    fn signed_in(&self) -> Result<&ConsoleSession, Refused> {
        match &self.session {
            Some(session) if session.stage == ConsoleStage::In => Ok(session),
            _ => Err(Refused::SignIn),
        }
    }

    /// A logged-in federation operator's session.
    fn federation(&self) -> Result<&ConsoleSession, Refused> {
        let session = self.signed_in()?;
        match session.operator.role {
            OperatorRole::Federation => Ok(session),
            OperatorRole::Society(_) => Err(Refused::NotFound),
        }
    }

    /// A logged-in society administrator's session and society.
    fn society(&self) -> Result<(&ConsoleSession, kx_store::exchange::PartyId), Refused> {
        let session = self.signed_in()?;
        match session.operator.role {
            OperatorRole::Society(party) => Ok((session, party)),
            OperatorRole::Federation => Err(Refused::NotFound),
        }
    }

    /// The answer to a refused visit.
    fn answer(&self, refused: Refused) -> Response {
        match refused {
            Refused::SignIn => Redirect::to("/login").into_response(),
            Refused::NotFound => not_found(self),
            Refused::Forbidden => forbidden(self.lang),
        }
    }

    /// Whether `csrf` is the session's token.
    fn csrf_ok(&self, csrf: &str) -> bool {
        self.session.as_ref().is_some_and(|s| {
            !csrf.is_empty() && bool::from(s.csrf.as_bytes().ct_eq(csrf.as_bytes()))
        })
    }

    /// The logged-in session of a form that carries its CSRF token.
    fn signed_form(&self, csrf: &str) -> Result<&ConsoleSession, Refused> {
        let session = self.signed_in()?;
        if !self.csrf_ok(csrf) {
            return Err(Refused::Forbidden);
        }
        Ok(session)
    }

    /// The notice after adding `name`: audited as `action` when added, "exists" when the
    /// store says it is taken; any other failure is answered.
    async fn added<T>(
        &self,
        console: &Console,
        action: &str,
        name: &str,
        result: Result<T, kx_store::Error>,
    ) -> Result<Notice, Response> {
        match result {
            Ok(_) => {
                self.audit(console, action, name, "ok").await;
                Ok(Notice::done_to(self.lang, page::ADDED, name))
            }
            Err(kx_store::Error::Exists(_)) => Ok(Notice::exists(self.lang, name)),
            Err(e) => Err(store_failed(self.lang, action, &e)),
        }
    }

    /// Records an action of this visit's operator.
    async fn audit(&self, console: &Console, action: &str, object: &str, outcome: &str) {
        let actor = self
            .session
            .as_ref()
            .map_or("-", |s| s.operator.id.as_str());
        console
            .audit(actor, action, object, self.peer, outcome)
            .await;
    }
}

/// Why a visit may not go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refused {
    /// Not logged in (or the login is not finished): to the login page.
    SignIn,
    /// Not this operator's to see: answered as a missing page.
    NotFound,
    /// A form without the session's CSRF token.
    Forbidden,
}

/// Goes on with what a check of the visit gives, or returns the visit's answer to the
/// refusal: `require!(visit.federation())`.
macro_rules! require {
    ($visit:ident . $check:ident ( $($arg:expr),* )) => {
        match $visit.$check($($arg),*) {
            Ok(value) => value,
            Err(refused) => return $visit.answer(refused),
        }
    };
}
use require;

/// The answer for a page or id that does not exist, or is not this operator's to see.
fn not_found(visit: &Visit) -> Response {
    let frame = visit.frame();
    html_response(
        StatusCode::NOT_FOUND,
        frame.page(
            Text("見つかりません", "Not found"),
            Some(&Notice::error(
                visit.lang,
                Text(
                    "このページ、またはこの項目はありません。",
                    "There is no such page or item.",
                ),
            )),
            maud::html! { p { a href="/" { (visit.lang.t(Text("トップへ", "Home"))) } } },
        ),
    )
}

/// The answer to a form whose CSRF token is wrong.
fn forbidden(lang: Lang) -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        lang.t(Text(
            "フォームが無効です。ページを読み込み直してください。\n",
            "The form is not valid. Reload the page.\n",
        )),
    )
        .into_response()
}

/// The answer when the store failed.
fn failure(lang: Lang) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        lang.t(Text(
            "サーバーでエラーが発生しました。しばらくしてから、もう一度お試しください。\n",
            "The server failed. Try again later.\n",
        )),
    )
        .into_response()
}

/// Logs a store failure and answers it.
fn store_failed(lang: Lang, what: &str, e: &kx_store::Error) -> Response {
    tracing::error!(error = %e, what, "console: store failed");
    failure(lang)
}

/// `/`: the dashboard of the operator's role.
async fn home(
    axum::extract::State(console): axum::extract::State<Arc<Console>>,
    visit: Visit,
) -> Response {
    let session = require!(visit.signed_in());
    match session.operator.role {
        OperatorRole::Federation => federation::dashboard(&console, &visit).await,
        OperatorRole::Society(party) => society::overview(&console, &visit, party).await,
    }
}

#[derive(Deserialize)]
struct LangQuery {
    to: String,
}

/// `/lang?to=en|ja`: remembers the language and goes home.
async fn switch_language(Query(query): Query<LangQuery>) -> Response {
    let lang = if query.to == "en" { Lang::En } else { Lang::Ja };
    page::with_cookie(Redirect::to("/").into_response(), &lang.cookie())
}

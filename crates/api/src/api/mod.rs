//! The `api` listener's routes (`docs/api/openapi.yaml`). The TLS layer has already required
//! a client certificate chaining to a registered society CA; here the certificate maps to its
//! party by fingerprint, the login binds a session to the source address and certificate,
//! and every route acts for the caller's party only.

mod certificates;
mod files;
mod session;

pub(crate) use certificates::{checked_certificate, conflict_or, csr_der};

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{DefaultBodyLimit, FromRequestParts, MatchedPath, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use kx_exchange::api::{self as wire, path};
use kx_store::exchange::{Party, PartyId, PartyKind, Session, SessionCheck};

use super::Exchange;
use super::problem::ApiError;
use kx_listen::https::{ClientCertificate, Peer};

/// The largest JSON body accepted (certificates and requests are a few KiB).
const MAX_JSON: usize = 256 * 1024;

/// Who is calling, filled in by [`Caller`] for the access log.
#[derive(Clone, Default)]
pub(super) struct Actor(Arc<Mutex<Option<String>>>);

impl Actor {
    fn set(&self, user: &str) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(user.to_owned());
        }
    }

    fn get(&self) -> String {
        self.0
            .lock()
            .ok()
            .and_then(|slot| slot.clone())
            .unwrap_or_else(|| "-".to_owned())
    }
}

/// Audits every routed request: who (the session's user, or `-`), the route, the path, the
/// source address and the status. Paths hold ids only, never names or contents.
pub(super) async fn audit_access(
    State(exchange): State<Arc<Exchange>>,
    matched: Option<MatchedPath>,
    mut request: Request,
    next: Next,
) -> Response {
    let actor = Actor::default();
    request.extensions_mut().insert(actor.clone());
    let peer = request.extensions().get::<Peer>().map(|p| p.0);
    let action = format!(
        "api {} {}",
        request.method(),
        matched.as_ref().map_or("?", MatchedPath::as_str)
    );
    let object = request.uri().path().to_owned();
    let response = next.run(request).await;
    exchange
        .store
        .record_audit(
            &actor.get(),
            &action,
            &object,
            peer,
            response.status().as_str(),
        )
        .await;
    response
}

/// The `api` listener's routes.
pub fn routes(exchange: Arc<Exchange>) -> Router {
    use certificates::{
        certificates, decide_request, offices, pending_requests, publish_certificate,
        request_renewal,
    };
    use files::{delete, destinations, download, history, inbox, sent, upload};
    use session::{change_password, login, logout, update_profile};
    let files = format!("{}/{{id}}", path::FILES);
    let decide = format!("{}/{{request}}", path::SOCIETY_CERTIFICATE_REQUESTS);
    Router::new()
        .route(path::SESSION, post(login).delete(logout))
        .route(path::PASSWORD, post(change_password))
        .route(path::PROFILE, axum::routing::put(update_profile))
        .route(path::DESTINATIONS, get(destinations))
        .route(path::OFFICES, get(offices))
        .route(
            path::CERTIFICATES,
            get(certificates).post(publish_certificate),
        )
        .route(path::CERTIFICATE_REQUESTS, post(request_renewal))
        .route(path::SOCIETY_CERTIFICATE_REQUESTS, get(pending_requests))
        .route(&decide, post(decide_request))
        .route(path::FILES, post(upload))
        .route(&files, get(download).delete(delete))
        .route(path::INBOX, get(inbox))
        .route(path::HISTORY, get(history))
        .route(path::SENT, get(sent))
        .route(path::APP_VERSION, get(app_version))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&exchange),
            audit_access,
        ))
        .fallback(|| async { ApiError::NoSuchRoute })
        .layer(DefaultBodyLimit::max(MAX_JSON))
        .with_state(exchange)
}

/// A caller with a valid session whose user has a password of their own: its user, party and
/// token. While the password is the temporary one an administrator gave (`kxd admin user
/// add|reset-password`), extracting a `Caller` refuses with `403 E0002
/// password_change_required`; so a handler that takes a `Caller` — every route by default —
/// is closed to such a session without having to think of it.
pub(super) struct Caller {
    user: String,
    party: Party,
    token: String,
}

/// A caller with a valid session, even while its password is temporary: taken only by the
/// handlers such a session still needs — logout, the password change itself, and `GET`
/// certificates, which the app calls at every start before it can offer the change (to check
/// its cached session, and to notice an expired or renewed society certificate, E3001/E3003).
/// The app version, also read at start, needs no session at all. Keep this list short: every
/// handler added here is open to whoever holds a temporary password.
pub(super) struct CallerWithTemporaryPassword(pub(super) Caller);

impl Caller {
    fn require(&self, kind: PartyKind) -> Result<(), ApiError> {
        if self.party.kind == kind {
            Ok(())
        } else {
            Err(match kind {
                PartyKind::Office => ApiError::OfficesOnly,
                PartyKind::Society => ApiError::SocietiesOnly,
            })
        }
    }
}

fn client_certificate(parts: &Parts) -> Result<ClientCertificate, ApiError> {
    parts
        .extensions
        .get::<ClientCertificate>()
        .cloned()
        .ok_or(ApiError::NoCertificate)
}

fn peer(parts: &Parts) -> Result<IpAddr, ApiError> {
    parts
        .extensions
        .get::<Peer>()
        .map(|p| p.0)
        .ok_or_else(|| ApiError::internal(&"no peer address"))
}

/// The request's session (bearer token, source address, client certificate), checked; the
/// user is recorded for the access log.
async fn session(parts: &Parts, exchange: &Exchange) -> Result<(Session, String), ApiError> {
    let peer = peer(parts)?;
    let certificate = client_certificate(parts)?;
    let token = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::SessionExpired)?
        .to_owned();
    let check = exchange
        .store
        .check_session(
            &token,
            peer,
            &certificate.fingerprint,
            exchange.now(),
            exchange.session_limits(),
        )
        .await?;
    let session = match check {
        SessionCheck::Valid(session) => session,
        SessionCheck::Expired => return Err(ApiError::SessionExpired),
        SessionCheck::Address => return Err(ApiError::SessionAddress),
        SessionCheck::Certificate => return Err(ApiError::SessionCertificate),
    };
    if let Some(actor) = parts.extensions.get::<Actor>() {
        actor.set(&session.user);
    }
    Ok((session, token))
}

/// The caller of a checked session.
async fn caller(exchange: &Exchange, session: Session, token: String) -> Result<Caller, ApiError> {
    Ok(Caller {
        party: party(exchange, session.party).await?,
        user: session.user,
        token,
    })
}

impl FromRequestParts<Arc<Exchange>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        exchange: &Arc<Exchange>,
    ) -> Result<Caller, ApiError> {
        let (session, token) = session(parts, exchange).await?;
        if session.must_change_password {
            return Err(ApiError::PasswordChangeRequired);
        }
        caller(exchange, session, token).await
    }
}

impl FromRequestParts<Arc<Exchange>> for CallerWithTemporaryPassword {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        exchange: &Arc<Exchange>,
    ) -> Result<CallerWithTemporaryPassword, ApiError> {
        let (session, token) = session(parts, exchange).await?;
        Ok(CallerWithTemporaryPassword(
            caller(exchange, session, token).await?,
        ))
    }
}

pub(super) fn wire_user(user: &kx_store::exchange::ExchangeUser) -> wire::User {
    wire::User {
        id: user.id.clone(),
        name: user.user_name.clone(),
        code: user.user_code.clone(),
        mail: user.mail.clone().unwrap_or_default(),
    }
}

pub(super) async fn party(exchange: &Exchange, id: PartyId) -> Result<Party, ApiError> {
    exchange
        .store
        .party(id)
        .await?
        .ok_or_else(|| ApiError::internal(&format!("party {id} vanished")))
}

/// DER as PEM with the given label (64-character lines).
pub(super) fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in text.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Parties looked up once per request.
pub(super) struct Parties<'a> {
    exchange: &'a Exchange,
    known: HashMap<PartyId, Party>,
}

impl<'a> Parties<'a> {
    pub(super) fn new(exchange: &'a Exchange) -> Parties<'a> {
        Parties {
            exchange,
            known: HashMap::new(),
        }
    }

    pub(super) async fn get(&mut self, id: PartyId) -> Result<&Party, ApiError> {
        if !self.known.contains_key(&id) {
            let found = party(self.exchange, id).await?;
            self.known.insert(id, found);
        }
        self.known
            .get(&id)
            .ok_or_else(|| ApiError::internal(&"party cache"))
    }
}

pub(super) async fn app_version(
    State(exchange): State<Arc<Exchange>>,
) -> Result<Json<wire::AppVersion>, ApiError> {
    Ok(Json(exchange.app_version().await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_file_documents_every_route() {
        let openapi = include_str!("../../../../docs/api/openapi.yaml");
        for route in [
            path::SESSION,
            path::PASSWORD,
            path::PROFILE,
            path::DESTINATIONS,
            path::OFFICES,
            path::CERTIFICATES,
            path::CERTIFICATE_REQUESTS,
            path::SOCIETY_CERTIFICATE_REQUESTS,
            path::FILES,
            path::INBOX,
            path::HISTORY,
            path::SENT,
            path::APP_VERSION,
            path::ENROLMENTS,
            path::SOCIETY_SETUP,
        ] {
            assert!(openapi.contains(&format!("  {route}:")), "{route}");
        }
    }

    #[test]
    fn pem_wraps_at_64_columns() {
        let text = pem("CERTIFICATE", &[0u8; 100]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines.last(), Some(&"-----END CERTIFICATE-----"));
    }
}

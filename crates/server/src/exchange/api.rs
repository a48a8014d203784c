//! The `api` listener's routes (`docs/api/openapi.yaml`). The TLS layer has already required
//! a client certificate chaining to a registered society CA; here the certificate maps to its
//! party by fingerprint, the login binds a session to the source address and certificate,
//! and every route acts for the caller's party only.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum::body::{Body as HttpBody, Bytes};
use axum::extract::{
    DefaultBodyLimit, Extension, FromRequestParts, MatchedPath, Path, Request, State,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http_body_util::BodyExt as _;
use kx_exchange::Code;
use kx_exchange::api::{self as wire, path};
use kx_exchange::lifecycle::download_deadline;
use kx_exchange::send::MAX_SEALED_BYTES;
use kx_exchange::settings::{PasswordPolicy, check_profile, item};
use kx_store::Login;
use kx_store::exchange::{
    CertificateRecord, Decision, DeleteOutcome, FileFunction, FileRecord, NewCertificate, Party,
    PartyId, PartyKind, ProfileUpdate, SendOutcome, SessionCheck, Upload,
};
use tokio::io::AsyncReadExt as _;

use super::notify::{Event, received_notice, sent_notice};
use super::problem::{ApiError, Body, Query};
use super::{Exchange, wire_party};
use crate::https::{ClientCertificate, Peer};

/// The largest JSON body accepted (certificates and requests are a few KiB).
const MAX_JSON: usize = 256 * 1024;
/// The longest an upload may pause between two chunks.
const UPLOAD_IDLE: std::time::Duration = std::time::Duration::from_secs(60);

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
        .audit(
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
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, Code::E9998, &[], "no_such_route")
        })
        .layer(DefaultBodyLimit::max(MAX_JSON))
        .with_state(exchange)
}

/// A caller with a valid session: its user, party and certificate.
pub(super) struct Caller {
    user: String,
    party: Party,
    token: String,
}

impl Caller {
    fn require(&self, kind: PartyKind) -> Result<(), ApiError> {
        if self.party.kind == kind {
            Ok(())
        } else {
            Err(ApiError::certificate(match kind {
                PartyKind::Office => "offices_only",
                PartyKind::Society => "societies_only",
            }))
        }
    }
}

fn client_certificate(parts: &Parts) -> Result<ClientCertificate, ApiError> {
    parts
        .extensions
        .get::<ClientCertificate>()
        .cloned()
        .ok_or_else(|| ApiError::certificate("no_certificate"))
}

fn peer(parts: &Parts) -> Result<IpAddr, ApiError> {
    parts
        .extensions
        .get::<Peer>()
        .map(|p| p.0)
        .ok_or_else(|| ApiError::internal(&"no peer address"))
}

fn session_refused(reason: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, Code::E9998, &[], reason)
}

impl FromRequestParts<Arc<Exchange>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        exchange: &Arc<Exchange>,
    ) -> Result<Caller, ApiError> {
        let peer = peer(parts)?;
        let certificate = client_certificate(parts)?;
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| session_refused("session_expired"))?
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
            SessionCheck::Expired => return Err(session_refused("session_expired")),
            SessionCheck::Address => return Err(session_refused("session_address")),
            SessionCheck::Certificate => return Err(session_refused("session_certificate")),
        };
        if let Some(actor) = parts.extensions.get::<Actor>() {
            actor.set(&session.user);
        }
        let party = exchange
            .store
            .party(session.party)
            .await?
            .ok_or_else(|| ApiError::internal(&"session of a vanished party"))?;
        Ok(Caller {
            user: session.user,
            party,
            token,
        })
    }
}

async fn login(
    State(exchange): State<Arc<Exchange>>,
    Extension(Peer(peer)): Extension<Peer>,
    certificate: Option<Extension<ClientCertificate>>,
    actor: Option<Extension<Actor>>,
    Body(login): Body<wire::Login>,
) -> Result<Json<wire::Session>, ApiError> {
    let store = exchange.store();
    if let Some(Extension(actor)) = &actor {
        actor.set(&login.id);
    }
    let audit = |outcome: &'static str| {
        let exchange = Arc::clone(&exchange);
        let id = login.id.clone();
        async move {
            exchange
                .audit(&id, "api.login", &id, Some(peer), outcome)
                .await;
        }
    };
    if !exchange.attempts.allow(&peer) {
        audit("rate-limited").await;
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            Code::E0002,
            &[],
            "too_many_attempts",
        ));
    }
    let Some(Extension(certificate)) = certificate else {
        return Err(ApiError::certificate("no_certificate"));
    };
    let registered = store
        .certificate_by_fingerprint(&certificate.fingerprint)
        .await?
        .filter(|c| c.current);
    let Some(registered) = registered else {
        audit("certificate-not-registered").await;
        return Err(ApiError::certificate("certificate_not_registered"));
    };
    let must_change_password = match store
        .verify_exchange_password(&login.id, &login.password)
        .await?
    {
        Login::Ok {
            must_change_password,
        } => must_change_password,
        Login::Wrong | Login::Unknown => {
            audit("wrong-password").await;
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                Code::E0002,
                &[],
                "password",
            ));
        }
        Login::Locked => {
            audit("locked").await;
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                Code::E0002,
                &[],
                "locked",
            ));
        }
    };
    let user = store
        .exchange_user(&login.id)
        .await?
        .ok_or_else(|| ApiError::internal(&"a verified user vanished"))?;
    if user.party != registered.party {
        audit("certificate-of-another-party").await;
        return Err(ApiError::certificate("certificate_party"));
    }
    let own = party(&exchange, user.party).await?;
    let society = party(&exchange, own.society_id()).await?;
    let token = store
        .create_session(
            &user.id,
            own.id,
            peer,
            &certificate.fingerprint,
            exchange.now(),
            exchange.session_limits(),
        )
        .await?;
    audit("ok").await;
    tracing::info!(user = %user.id, party = %own.number, "api: logged in");
    Ok(Json(wire::Session {
        token,
        party: wire_party(&own),
        society: wire_party(&society),
        user: wire_user(&user),
        must_change_password,
        app_version: Some(exchange.app_version().await?),
    }))
}

fn wire_user(user: &kx_store::exchange::ExchangeUser) -> wire::User {
    wire::User {
        id: user.id.clone(),
        name: user.user_name.clone(),
        code: user.user_code.clone(),
        mail: user.mail.clone().unwrap_or_default(),
    }
}

async fn party(exchange: &Exchange, id: PartyId) -> Result<Party, ApiError> {
    exchange
        .store
        .party(id)
        .await?
        .ok_or_else(|| ApiError::internal(&format!("party {id} vanished")))
}

async fn logout(
    State(exchange): State<Arc<Exchange>>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    exchange.store.end_session(&caller.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn change_password(
    State(exchange): State<Arc<Exchange>>,
    Extension(Peer(peer)): Extension<Peer>,
    caller: Caller,
    Body(change): Body<wire::PasswordChange>,
) -> Result<StatusCode, ApiError> {
    PasswordPolicy::default()
        .check_change(&change)
        .map_err(|refusal| ApiError::refused(&refusal, "password_policy"))?;
    let store = exchange.store();
    match store
        .verify_exchange_password(&caller.user, &change.current)
        .await?
    {
        Login::Ok { .. } => {}
        Login::Wrong | Login::Unknown => {
            exchange
                .audit(
                    &caller.user,
                    "api.password",
                    &caller.user,
                    Some(peer),
                    "wrong-password",
                )
                .await;
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                Code::E1002,
                &[item::CURRENT_PASSWORD],
                "current_password",
            ));
        }
        Login::Locked => {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                Code::E0002,
                &[],
                "locked",
            ));
        }
    }
    store
        .set_exchange_password(&caller.user, &change.new, false)
        .await?;
    store
        .end_other_sessions(&caller.user, &caller.token)
        .await?;
    exchange
        .audit(&caller.user, "api.password", &caller.user, Some(peer), "ok")
        .await;
    Ok(StatusCode::NO_CONTENT)
}

async fn update_profile(
    State(exchange): State<Arc<Exchange>>,
    caller: Caller,
    Body(update): Body<wire::ProfileUpdate>,
) -> Result<Json<wire::User>, ApiError> {
    check_profile(&update).map_err(|refusal| ApiError::refused(&refusal, "profile"))?;
    let user = exchange
        .store
        .update_profile(
            &caller.user,
            &ProfileUpdate {
                user_name: update.name,
                user_code: update.code,
                mail: update.mail,
            },
        )
        .await?;
    Ok(Json(wire_user(&user)))
}

async fn destinations(
    State(exchange): State<Arc<Exchange>>,
    caller: Caller,
) -> Result<Json<Vec<wire::Destination>>, ApiError> {
    caller.require(PartyKind::Office)?;
    let nicknames = exchange
        .store
        .destinations(caller.party.society_id())
        .await?;
    Ok(Json(
        nicknames
            .into_iter()
            .map(|nickname| wire::Destination { nickname })
            .collect(),
    ))
}

async fn offices(
    State(exchange): State<Arc<Exchange>>,
    caller: Caller,
) -> Result<Json<Vec<wire::OfficeEntry>>, ApiError> {
    caller.require(PartyKind::Society)?;
    let mut entries = Vec::new();
    for office in exchange.store.parties(Some(caller.party.id)).await? {
        let certificates = exchange.store.certificates(office.id, true).await?;
        entries.push(wire::OfficeEntry {
            number: office.number,
            name: office.name,
            certificates: certificates
                .iter()
                .map(|c| pem("CERTIFICATE", &c.der))
                .collect(),
        });
    }
    Ok(Json(entries))
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

fn certificate_entry(record: &CertificateRecord) -> wire::CertificateEntry {
    wire::CertificateEntry {
        pem: pem("CERTIFICATE", &record.der),
        fingerprint: record.fingerprint.clone(),
        not_after: record.not_after,
        current: record.current,
    }
}

/// The society of `party` with its CA certificate (DER).
async fn society_ca(exchange: &Exchange, party: &Party) -> Result<(Party, Vec<u8>), ApiError> {
    let society = self::party(exchange, party.society_id()).await?;
    let ca = society
        .ca_der
        .clone()
        .ok_or_else(|| ApiError::internal(&format!("society {} has no CA", society.number)))?;
    Ok((society, ca))
}

async fn certificates(
    State(exchange): State<Arc<Exchange>>,
    caller: Caller,
    certificate: Option<Extension<ClientCertificate>>,
) -> Result<Json<wire::Certificates>, ApiError> {
    let (society, ca) = society_ca(&exchange, &caller.party).await?;
    let published = exchange.store.certificates(society.id, false).await?;
    let own = match certificate {
        Some(Extension(c)) => exchange
            .store
            .certificate_by_fingerprint(&c.fingerprint)
            .await?
            .map(|record| certificate_entry(&record)),
        None => None,
    };
    Ok(Json(wire::Certificates {
        society_ca_pem: pem("CERTIFICATE", &ca),
        society: published.iter().map(certificate_entry).collect(),
        own,
    }))
}

/// A PEM certificate checked against the society's CA as the api listener will check it;
/// returns what the store records.
pub(super) fn checked_certificate(
    ca: &[u8],
    certificate_pem: &str,
) -> Result<NewCertificate, ApiError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let der = CertificateDer::from_pem_slice(certificate_pem.as_bytes())
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, Code::E0003, &[], "bad_certificate"))?;
    let parsed = kx_crypto::certificate_from_pem_or_der(der.as_ref())
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, Code::E0003, &[], "bad_certificate"))?;
    crate::tls::check_client_certificate(ca, der.as_ref()).map_err(|e| {
        tracing::info!(error = %e, "exchange: a certificate does not verify against its society CA");
        ApiError::new(
            StatusCode::BAD_REQUEST,
            Code::E0003,
            &[],
            "not_valid_for_society_ca",
        )
    })?;
    let not_after: chrono::DateTime<chrono::Utc> = parsed
        .tbs_certificate
        .validity
        .not_after
        .to_system_time()
        .into();
    Ok(NewCertificate {
        der: der.as_ref().to_vec(),
        not_after,
    })
}

/// A PEM PKCS#10 request as DER, checked to parse.
pub(super) fn csr_der(csr_pem: &str) -> Result<Vec<u8>, ApiError> {
    use rustls::pki_types::CertificateSigningRequestDer;
    use rustls::pki_types::pem::PemObject as _;
    let der = CertificateSigningRequestDer::from_pem_slice(csr_pem.as_bytes())
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, Code::E0003, &[], "bad_csr"))?;
    kx_crypto::request_from_pem_or_der(der.as_ref())
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, Code::E0003, &[], "bad_csr"))?;
    Ok(der.as_ref().to_vec())
}

/// A store error, with a certificate registered already answered `409 E0003`.
pub(super) fn conflict_or(e: kx_store::Error) -> ApiError {
    match e {
        kx_store::Error::Exists(_) => ApiError::new(
            StatusCode::CONFLICT,
            Code::E0003,
            &[],
            "certificate_registered",
        ),
        e => e.into(),
    }
}

async fn publish_certificate(
    State(exchange): State<Arc<Exchange>>,
    caller: Caller,
    Body(publish): Body<wire::PublishCertificate>,
) -> Result<StatusCode, ApiError> {
    caller.require(PartyKind::Society)?;
    let (_, ca) = society_ca(&exchange, &caller.party).await?;
    let certificate = checked_certificate(&ca, &publish.certificate_pem)?;
    exchange
        .store
        .publish_society_certificate(caller.party.id, &certificate, exchange.now())
        .await
        .map_err(conflict_or)?;
    tracing::info!(society = %caller.party.number, "api: society certificate published");
    Ok(StatusCode::NO_CONTENT)
}

async fn request_renewal(
    State(exchange): State<Arc<Exchange>>,
    caller: Caller,
    Body(request): Body<wire::CertificateRequest>,
) -> Result<(StatusCode, Json<wire::RequestTicket>), ApiError> {
    caller.require(PartyKind::Office)?;
    let der = csr_der(&request.csr_pem)?;
    let id = exchange
        .store
        .request_renewal(&caller.user, caller.party.id, &der, exchange.now())
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(wire::RequestTicket { request: id }),
    ))
}

async fn pending_requests(
    State(exchange): State<Arc<Exchange>>,
    caller: Caller,
) -> Result<Json<Vec<wire::PendingRequest>>, ApiError> {
    caller.require(PartyKind::Society)?;
    let mut parties = Parties::new(&exchange);
    let mut entries = Vec::new();
    for request in exchange.store.pending_requests(caller.party.id).await? {
        let office = parties.get(request.party).await?;
        entries.push(wire::PendingRequest {
            request: request.id,
            kind: match request.kind {
                kx_store::exchange::RequestKind::Enrol => wire::RequestKind::Enrol,
                kx_store::exchange::RequestKind::Renew => wire::RequestKind::Renew,
            },
            office_number: office.number.clone(),
            office_name: office.name.clone(),
            user_id: request.user,
            csr_pem: pem("CERTIFICATE REQUEST", &request.csr_der),
            created_at: request.created_at,
        });
    }
    Ok(Json(entries))
}

async fn decide_request(
    State(exchange): State<Arc<Exchange>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(decision): Body<wire::Decision>,
) -> Result<StatusCode, ApiError> {
    caller.require(PartyKind::Society)?;
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, Code::E0003, &[], "no_such_request");
    let request = exchange
        .store
        .certificate_request(&id)
        .await?
        .ok_or_else(not_found)?;
    let decision = match (decision.certificate_pem, decision.refused) {
        (Some(certificate_pem), None) => {
            let ca = caller
                .party
                .ca_der
                .clone()
                .ok_or_else(|| ApiError::internal(&"a society without CA has a session"))?;
            let certificate = checked_certificate(&ca, &certificate_pem)?;
            let issued = kx_crypto::certificate_from_pem_or_der(&certificate.der)
                .map_err(|e| ApiError::internal(&e))?;
            let asked = kx_crypto::request_from_pem_or_der(&request.csr_der)
                .map_err(|e| ApiError::internal(&e))?;
            if issued.tbs_certificate.subject_public_key_info != asked.info.public_key {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    Code::E0003,
                    &[],
                    "key_mismatch",
                ));
            }
            Decision::Issue(certificate)
        }
        (None, Some(reason)) => Decision::Refuse(reason),
        _ => return Err(ApiError::bad_request("decision")),
    };
    let decided = exchange
        .store
        .decide_request(caller.party.id, &id, &decision, exchange.now())
        .await
        .map_err(conflict_or)?;
    if !decided {
        return Err(not_found());
    }
    tracing::info!(society = %caller.party.number, issued = matches!(decision, Decision::Issue(_)), "api: certificate request decided");
    Ok(StatusCode::NO_CONTENT)
}

/// Parties looked up once per request.
struct Parties<'a> {
    exchange: &'a Exchange,
    known: HashMap<PartyId, Party>,
}

impl<'a> Parties<'a> {
    fn new(exchange: &'a Exchange) -> Parties<'a> {
        Parties {
            exchange,
            known: HashMap::new(),
        }
    }

    async fn get(&mut self, id: PartyId) -> Result<&Party, ApiError> {
        if !self.known.contains_key(&id) {
            let found = party(self.exchange, id).await?;
            self.known.insert(id, found);
        }
        self.known
            .get(&id)
            .ok_or_else(|| ApiError::internal(&"party cache"))
    }
}

/// A sealed name as the list shows it: 1 to 255 characters, no path separators or control
/// characters, so it cannot name a path or break a header.
fn valid_name(name: &str) -> bool {
    let length = name.chars().count();
    (1..=255).contains(&length)
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c.is_control() || matches!(c, '/' | '\\' | '"'))
}

fn file_function(function: wire::Function) -> FileFunction {
    match function {
        wire::Function::EApplication => FileFunction::EApplication,
        wire::Function::Attachments => FileFunction::Attachments,
    }
}

fn wire_function(function: FileFunction) -> wire::Function {
    match function {
        FileFunction::EApplication => wire::Function::EApplication,
        FileFunction::Attachments => wire::Function::Attachments,
    }
}

fn too_large() -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, Code::E2006, &[], "too_large")
}

async fn upload(
    State(exchange): State<Arc<Exchange>>,
    caller: Caller,
    Query(query): Query<wire::UploadQuery>,
    headers: HeaderMap,
    body: HttpBody,
) -> Result<(StatusCode, Json<wire::Uploaded>), ApiError> {
    let store = exchange.store();
    if !valid_name(&query.name) {
        return Err(ApiError::bad_request("name"));
    }
    let unknown = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            Code::E8004,
            &[],
            "unknown_destination",
        )
    };
    let (recipient, destination) = match caller.party.kind {
        PartyKind::Office => {
            let society = party(&exchange, caller.party.society_id()).await?;
            let known = store.destinations(society.id).await?;
            if !known.contains(&query.to) {
                return Err(unknown());
            }
            (society, Some(query.to.clone()))
        }
        PartyKind::Society => {
            let office = store
                .office_by_number(caller.party.id, &query.to)
                .await?
                .ok_or_else(unknown)?;
            (office, None)
        }
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_SEALED_BYTES) {
        return Err(too_large());
    }
    // Streamed to a temporary file: memory holds one frame at a time, whatever the size.
    let mut staging = store.exchange_upload().await?;
    let mut body = body;
    loop {
        // A sender that stalls mid-upload is cut off instead of holding a connection forever.
        let Ok(next) = tokio::time::timeout(UPLOAD_IDLE, body.frame()).await else {
            return Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                Code::E9998,
                &[],
                "upload_stalled",
            ));
        };
        let Some(frame) = next else { break };
        let frame = frame.map_err(|_| ApiError::bad_request("body_read"))?;
        if let Ok(data) = frame.into_data() {
            if staging.size() + data.len() as u64 > MAX_SEALED_BYTES {
                return Err(too_large());
            }
            staging.write(&data).await?;
        }
    }
    if staging.size() == 0 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            Code::E2002,
            &[],
            "empty",
        ));
    }
    let blob = staging.finish().await?;
    let now = exchange.now();
    let expires_at = (recipient.kind == PartyKind::Office).then(|| download_deadline(now));
    let notice = sent_notice(
        &Event {
            file: &query.name,
            sender: &caller.party.name,
            recipient: &recipient.name,
            sent_at: now,
        },
        expires_at,
    );
    let outcome = store
        .store_file(
            Upload {
                sender: caller.party.id,
                sender_user: caller.user.clone(),
                recipient: recipient.id,
                destination,
                function: file_function(query.function),
                name: query.name,
                blob,
            },
            &notice,
            now,
        )
        .await?;
    match outcome {
        SendOutcome::Stored(record) => {
            exchange.wake_mail.notify_one();
            tracing::info!(file = %record.id, from = %caller.party.number, to = %recipient.number, size = record.size, "api: file stored");
            Ok((
                StatusCode::CREATED,
                Json(wire::Uploaded {
                    id: record.id,
                    name: record.name,
                    size: record.size,
                    sent_at: record.sent_at,
                }),
            ))
        }
        SendOutcome::OverQuota { .. } => {
            tracing::info!(to = %recipient.number, "api: upload refused, recipient over quota");
            Err(ApiError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                Code::E8001,
                &[],
                "quota",
            ))
        }
    }
}

/// Whether a file to an office is past its download window at `now` (the retention job may
/// not have run yet).
fn expired(exchange: &Exchange, record: &FileRecord, recipient: &Party) -> bool {
    record.expired_at.is_some()
        || (recipient.kind == PartyKind::Office
            && exchange.now() >= download_deadline(record.sent_at))
}

async fn download(
    State(exchange): State<Arc<Exchange>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    const RECEIVE: &str = "受信";
    let not_found = |reason| ApiError::new(StatusCode::NOT_FOUND, Code::E8005, &[RECEIVE], reason);
    let store = exchange.store();
    let record = store
        .file_for(caller.party.id, &id)
        .await?
        .filter(|r| r.recipient == caller.party.id)
        .ok_or_else(|| not_found("not_found"))?;
    if record.recipient_deleted_at.is_some() {
        return Err(not_found("deleted"));
    }
    if record.cancelled_at.is_some() {
        return Err(not_found("cancelled"));
    }
    if expired(&exchange, &record, &caller.party) {
        return Err(ApiError::new(
            StatusCode::GONE,
            Code::E8005,
            &[RECEIVE],
            "expired",
        ));
    }
    let file = store.open_file(&record).await?;
    let sender = party(&exchange, record.sender).await?;
    let now = exchange.now();
    let notice = received_notice(
        &Event {
            file: &record.name,
            sender: &sender.name,
            recipient: &caller.party.name,
            sent_at: record.sent_at,
        },
        now,
    );
    if store
        .mark_received(caller.party.id, &record.id, &notice, now)
        .await?
    {
        exchange.wake_mail.notify_one();
    }
    tracing::info!(file = %record.id, party = %caller.party.number, "api: file downloaded");
    let mut response = HttpBody::from_stream(stream_file(file)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(wire::SEALED_MEDIA_TYPE),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(record.size));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", record.name)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// The file's bytes as a stream of 64 KiB chunks.
fn stream_file(
    file: tokio::fs::File,
) -> impl futures_util::Stream<Item = Result<Bytes, io::Error>> + Send + 'static {
    futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buffer = vec![0u8; 64 * 1024];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok(Bytes::from(buffer)), Some(file)))
            }
            // Ends the body early; the client sees a short read against Content-Length.
            Err(e) => Some((Err(e), None)),
        }
    })
}

async fn delete(
    State(exchange): State<Arc<Exchange>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    const DELETE: &str = "削除";
    match exchange
        .store
        .delete_file(caller.party.id, &id, exchange.now())
        .await?
    {
        DeleteOutcome::Deleted | DeleteOutcome::Cancelled => Ok(StatusCode::NO_CONTENT),
        DeleteOutcome::AlreadyDownloaded => Err(ApiError::new(
            StatusCode::CONFLICT,
            Code::E8005,
            &[DELETE],
            "already_downloaded",
        )),
        DeleteOutcome::NotFound => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            Code::E8005,
            &[DELETE],
            "not_found",
        )),
    }
}

async fn inbox(
    State(exchange): State<Arc<Exchange>>,
    caller: Caller,
) -> Result<Json<Vec<wire::InboxEntry>>, ApiError> {
    let mut parties = Parties::new(&exchange);
    let mut entries = Vec::new();
    for record in exchange.store.inbox(caller.party.id).await? {
        if expired(&exchange, &record, &caller.party) {
            continue;
        }
        let from = wire_party(parties.get(record.sender).await?);
        entries.push(wire::InboxEntry {
            expires_at: (caller.party.kind == PartyKind::Office)
                .then(|| download_deadline(record.sent_at)),
            id: record.id,
            name: record.name,
            from,
            destination: record.destination,
            function: wire_function(record.function),
            size: record.size,
            sent_at: record.sent_at,
            received_at: record.received_at,
        });
    }
    Ok(Json(entries))
}

async fn history(
    State(exchange): State<Arc<Exchange>>,
    caller: Caller,
) -> Result<Json<Vec<wire::HistoryEntry>>, ApiError> {
    let mut parties = Parties::new(&exchange);
    let mut entries = Vec::new();
    for record in exchange.store.history(caller.party.id).await? {
        let Some(deleted_at) = record.recipient_deleted_at else {
            continue;
        };
        entries.push(wire::HistoryEntry {
            from: wire_party(parties.get(record.sender).await?),
            id: record.id,
            name: record.name,
            sent_at: record.sent_at,
            received_at: record.received_at,
            deleted_at,
        });
    }
    Ok(Json(entries))
}

async fn sent(
    State(exchange): State<Arc<Exchange>>,
    caller: Caller,
    Query(query): Query<wire::SentQuery>,
) -> Result<Json<Vec<wire::SentEntry>>, ApiError> {
    let mut parties = Parties::new(&exchange);
    let mut entries = Vec::new();
    for record in exchange.store.sent(caller.party.id, query.since).await? {
        entries.push(wire::SentEntry {
            to: wire_party(parties.get(record.recipient).await?),
            id: record.id,
            name: record.name,
            destination: record.destination,
            function: wire_function(record.function),
            size: record.size,
            sent_at: record.sent_at,
            downloaded_at: record.received_at,
            cancelled_at: record.cancelled_at,
        });
    }
    Ok(Json(entries))
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
    fn sealed_names_cannot_name_paths_or_break_headers() {
        assert!(valid_name(
            "Send-KS-06139999-0001-00001-202401232041116.zip"
        ));
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a\\b",
            "a\"b",
            "a\nb",
            &"x".repeat(256),
        ] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }

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

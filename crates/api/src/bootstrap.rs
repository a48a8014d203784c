//! The bootstrap routes on the `https` listener (server-authenticated TLS only), for parties
//! without a certificate yet: an office app's enrolment with its one-time code and the
//! polling of its request, a society's setup with its one-time code, and the app version.
//!
//! Codes are checked by the store in the transaction that uses them up, and attempts are
//! rate-limited per source address, so guessing a code (100 bits) is hopeless.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Extension, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use kx_exchange::api::{self as wire, path};
use kx_store::exchange::{
    CertificateRequest, EnrolOutcome, RequestKind, RequestState, SetupOutcome,
};

use super::api::{app_version, audit_access, checked_certificate, conflict_or, csr_der, pem};
use super::problem::{ApiError, Body};
use super::{Exchange, wire_party};
use kx_listen::https::Peer;

/// The largest JSON body accepted.
const MAX_JSON: usize = 256 * 1024;

/// The bootstrap routes, to be merged into the `https` listener's router.
pub fn routes(exchange: Arc<Exchange>) -> Router {
    let status = format!("{}/{{request}}", path::ENROLMENTS);
    Router::new()
        .route(path::ENROLMENTS, post(enrol))
        .route(&status, get(request_status))
        .route(path::SOCIETY_SETUP, post(setup))
        .route(path::APP_VERSION, get(app_version))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&exchange),
            audit_access,
        ))
        .layer(DefaultBodyLimit::max(MAX_JSON))
        .with_state(exchange)
}

/// Audits a refused one-time code and answers `refusal`: unknown ID, wrong party, wrong,
/// used or expired code all look alike.
async fn refuse_code(
    exchange: &Exchange,
    id: &str,
    action: &str,
    peer: std::net::IpAddr,
    refusal: ApiError,
) -> ApiError {
    exchange
        .store
        .record_audit(id, action, id, Some(peer), "refused")
        .await;
    refusal
}

async fn enrol(
    State(exchange): State<Arc<Exchange>>,
    Extension(Peer(peer)): Extension<Peer>,
    Body(enrolment): Body<wire::Enrolment>,
) -> Result<(StatusCode, Json<wire::RequestTicket>), ApiError> {
    if !exchange.attempts.allow(&peer) {
        return Err(ApiError::TooManyAttempts);
    }
    let der = csr_der(&enrolment.csr_pem)?;
    let outcome = exchange
        .store
        .enrol(
            &enrolment.id,
            &enrolment.code,
            &der,
            exchange.now(),
            exchange.request_lifetime(),
        )
        .await?;
    match outcome {
        EnrolOutcome::Queued(request) => {
            exchange
                .store
                .record_audit(
                    &enrolment.id,
                    "api.enrol",
                    &enrolment.id,
                    Some(peer),
                    "queued",
                )
                .await;
            tracing::info!(user = %enrolment.id, "bootstrap: enrolment queued");
            Ok((StatusCode::ACCEPTED, Json(wire::RequestTicket { request })))
        }
        EnrolOutcome::Refused => Err(refuse_code(
            &exchange,
            &enrolment.id,
            "api.enrol",
            peer,
            ApiError::EnrolmentCode,
        )
        .await),
    }
}

async fn request_status(
    State(exchange): State<Arc<Exchange>>,
    Path(id): Path<String>,
) -> Result<Json<wire::RequestStatus>, ApiError> {
    let store = exchange.store();
    let request = store
        .certificate_request(&id)
        .await?
        .ok_or(ApiError::NoSuchRequest)?;
    let state = request.state_at(exchange.now());
    let mut status = wire::RequestStatus {
        state: match state {
            RequestState::Pending => wire::RequestState::Pending,
            RequestState::Issued => wire::RequestState::Issued,
            // The app reports an expired request as a refused one, saying what to do.
            RequestState::Refused | RequestState::Expired => wire::RequestState::Refused,
        },
        certificate_pem: None,
        society_ca_pem: None,
        society_certificates: Vec::new(),
        api_url: None,
        refused: match state {
            RequestState::Expired => Some(expired_reason(&request)),
            _ => request.refusal.clone(),
        },
    };
    if let (RequestState::Issued, Some(certificate)) = (request.state, &request.certificate) {
        let office = store
            .party(request.party)
            .await?
            .ok_or_else(|| ApiError::internal(&"a request of a vanished party"))?;
        let society = store
            .party(office.society_id())
            .await?
            .ok_or_else(|| ApiError::internal(&"an office of a vanished society"))?;
        status.certificate_pem = Some(pem("CERTIFICATE", certificate));
        status.society_ca_pem = society.ca_der.as_deref().map(|ca| pem("CERTIFICATE", ca));
        status.society_certificates = store
            .certificates(society.id, true)
            .await?
            .iter()
            .map(|c| pem("CERTIFICATE", &c.der))
            .collect();
        status.api_url = exchange.api_url.clone();
    }
    Ok(Json(status))
}

/// Why an expired request was refused, and what to do: a new enrolment needs a new one-time
/// code (the old one was used up), a renewal only a new request.
fn expired_reason(request: &CertificateRequest) -> String {
    let next = match request.kind {
        RequestKind::Enrol => {
            "ask the society for a new one-time enrolment code and run `kx setup` with it"
        }
        RequestKind::Renew => "run `kx renew` again and ask the society to decide it",
    };
    format!(
        "expired: the society did not decide the request by {}; {next}",
        super::notify::jst(request.expires_at)
    )
}

async fn setup(
    State(exchange): State<Arc<Exchange>>,
    Extension(Peer(peer)): Extension<Peer>,
    Body(setup): Body<wire::SocietySetup>,
) -> Result<Json<wire::SocietySetupDone>, ApiError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    if !exchange.attempts.allow(&peer) {
        return Err(ApiError::TooManyAttempts);
    }
    let ca =
        CertificateDer::from_pem_slice(setup.ca_pem.as_bytes()).map_err(|_| ApiError::BadCa)?;
    let certificate = checked_certificate(ca.as_ref(), &setup.certificate_pem)?;
    let outcome = exchange
        .store
        .setup_society(
            &setup.id,
            &setup.code,
            ca.as_ref(),
            &certificate,
            exchange.now(),
        )
        .await
        .map_err(conflict_or)?;
    match outcome {
        SetupOutcome::Done(society) => {
            exchange.trust.changed();
            let society = exchange
                .store
                .party(society)
                .await?
                .ok_or_else(|| ApiError::internal(&"a society vanished during setup"))?;
            exchange
                .store
                .record_audit(
                    &setup.id,
                    "api.society-setup",
                    &society.number,
                    Some(peer),
                    "ok",
                )
                .await;
            tracing::info!(society = %society.number, "bootstrap: society set up; its CA is trusted");
            Ok(Json(wire::SocietySetupDone {
                society: wire_party(&society),
                api_url: exchange.api_url.clone().unwrap_or_default(),
            }))
        }
        SetupOutcome::Refused => Err(refuse_code(
            &exchange,
            &setup.id,
            "api.society-setup",
            peer,
            ApiError::SetupCode,
        )
        .await),
    }
}

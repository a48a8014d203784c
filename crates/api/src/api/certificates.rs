//! Published certificates and the certificate queue.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use kx_exchange::api as wire;
use kx_store::exchange::{
    CertificateRecord, Decision, NewCertificate, Party, PartyKind, RequestState,
};

use super::{Caller, CallerWithTemporaryPassword, Parties, party, pem};
use crate::Exchange;
use crate::problem::{ApiError, Body};
use kx_listen::https::ClientCertificate;

pub(super) async fn offices(
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

fn certificate_entry(record: &CertificateRecord) -> wire::CertificateEntry {
    wire::CertificateEntry {
        pem: pem("CERTIFICATE", &record.der),
        fingerprint: record.fingerprint.clone(),
        not_after: record.not_after,
        current: record.current,
    }
}

/// The society of `party` with its CA certificate (DER).
pub(super) async fn society_ca(
    exchange: &Exchange,
    party: &Party,
) -> Result<(Party, Vec<u8>), ApiError> {
    let society = self::party(exchange, party.society_id()).await?;
    let ca = society
        .ca_der
        .clone()
        .ok_or_else(|| ApiError::internal(&format!("society {} has no CA", society.number)))?;
    Ok((society, ca))
}

pub(super) async fn certificates(
    State(exchange): State<Arc<Exchange>>,
    CallerWithTemporaryPassword(caller): CallerWithTemporaryPassword,
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
///
/// The chain and usage are checked as of the certificate's own notBefore, not now: whether it
/// is still valid is the listener's question at every handshake, and a society may well hand
/// out a certificate that has run out by the time it is registered (the office app then says
/// E3002 instead of waiting for a certificate that will never come).
pub(crate) fn checked_certificate(
    ca: &[u8],
    certificate_pem: &str,
) -> Result<NewCertificate, ApiError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let der = CertificateDer::from_pem_slice(certificate_pem.as_bytes())
        .map_err(|_| ApiError::BadCertificate)?;
    let parsed = kx_crypto::certificate_from_pem_or_der(der.as_ref())
        .map_err(|_| ApiError::BadCertificate)?;
    let validity = &parsed.tbs_certificate.validity;
    let issued_at =
        rustls::pki_types::UnixTime::since_unix_epoch(validity.not_before.to_unix_duration());
    kx_listen::tls::check_client_certificate(ca, der.as_ref(), issued_at).map_err(|e| {
        tracing::info!(error = %e, "exchange: a certificate does not verify against its society CA");
        ApiError::NotValidForSocietyCa
    })?;
    let not_after: chrono::DateTime<chrono::Utc> = validity.not_after.to_system_time().into();
    Ok(NewCertificate {
        der: der.as_ref().to_vec(),
        not_after,
    })
}

/// A PEM PKCS#10 request as DER, checked to parse.
pub(crate) fn csr_der(csr_pem: &str) -> Result<Vec<u8>, ApiError> {
    use rustls::pki_types::CertificateSigningRequestDer;
    use rustls::pki_types::pem::PemObject as _;
    let der = CertificateSigningRequestDer::from_pem_slice(csr_pem.as_bytes())
        .map_err(|_| ApiError::BadCsr)?;
    kx_crypto::request_from_pem_or_der(der.as_ref()).map_err(|_| ApiError::BadCsr)?;
    Ok(der.as_ref().to_vec())
}

/// A store error, with a certificate registered already answered `409 E0003`.
pub(crate) fn conflict_or(e: kx_store::Error) -> ApiError {
    match e {
        kx_store::Error::Exists(_) => ApiError::CertificateRegistered,
        e => e.into(),
    }
}

pub(super) async fn publish_certificate(
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

pub(super) async fn request_renewal(
    State(exchange): State<Arc<Exchange>>,
    caller: Caller,
    Body(request): Body<wire::CertificateRequest>,
) -> Result<(StatusCode, Json<wire::RequestTicket>), ApiError> {
    caller.require(PartyKind::Office)?;
    let der = csr_der(&request.csr_pem)?;
    let id = exchange
        .store
        .request_renewal(
            &caller.user,
            caller.party.id,
            &der,
            exchange.now(),
            exchange.request_lifetime(),
        )
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(wire::RequestTicket { request: id }),
    ))
}

pub(super) async fn pending_requests(
    State(exchange): State<Arc<Exchange>>,
    caller: Caller,
) -> Result<Json<Vec<wire::PendingRequest>>, ApiError> {
    caller.require(PartyKind::Society)?;
    let mut parties = Parties::new(&exchange);
    let mut entries = Vec::new();
    for request in exchange
        .store
        .pending_requests(caller.party.id, exchange.now())
        .await?
    {
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

pub(super) async fn decide_request(
    State(exchange): State<Arc<Exchange>>,
    caller: Caller,
    Path(id): Path<String>,
    Body(decision): Body<wire::Decision>,
) -> Result<StatusCode, ApiError> {
    caller.require(PartyKind::Society)?;
    let request = exchange
        .store
        .certificate_request(&id)
        .await?
        .ok_or(ApiError::NoSuchRequest)?;
    // Another society's request is answered as if it did not exist, whatever its state.
    if party(&exchange, request.party).await?.society_id() != caller.party.id {
        return Err(ApiError::NoSuchRequest);
    }
    if request.state_at(exchange.now()) == RequestState::Expired {
        return Err(ApiError::RequestExpired);
    }
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
                return Err(ApiError::KeyMismatch);
            }
            Decision::Issue(certificate)
        }
        (None, Some(reason)) => Decision::Refuse(reason),
        _ => return Err(ApiError::BadDecision),
    };
    let decided = exchange
        .store
        .decide_request(caller.party.id, &id, &decision, exchange.now())
        .await
        .map_err(conflict_or)?;
    if !decided {
        return Err(ApiError::NoSuchRequest);
    }
    tracing::info!(society = %caller.party.number, issued = matches!(decision, Decision::Issue(_)), "api: certificate request decided");
    Ok(StatusCode::NO_CONTENT)
}

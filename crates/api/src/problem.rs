//! Refusals as HTTP answers: every non-2xx answer of the exchange is a JSON
//! [`Problem`](kx_exchange::api::Problem) with a code from the one `Code` table and a
//! machine-readable reason; and body/query extractors whose rejections are problems too.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kx_exchange::Code;
use kx_exchange::Refusal;
use kx_exchange::api::{self as wire, Problem};
use kx_exchange::settings::item;
use kx_exchange::upload::BadUpload;
use serde::de::DeserializeOwned;

/// Every answer of the exchange that is not a success, named for what happened. [`ApiError::wire`]
/// is the one place that says how each is answered (status, code, placeholder items, reason):
/// the reasons are a contract with the office app and `docs/api/openapi.yaml`.
#[derive(Debug)]
pub(crate) enum ApiError {
    // The session (bearer token, source address, client certificate).
    /// No token, or an unknown, ended or expired one.
    SessionExpired,
    /// The session was opened from another source address.
    SessionAddress,
    /// The session was opened with another client certificate.
    SessionCertificate,
    /// The user's password is still the temporary one an administrator gave.
    PasswordChangeRequired,
    /// The route is for offices and the caller is a society.
    OfficesOnly,
    /// The route is for societies and the caller is an office.
    SocietiesOnly,

    // Logins and one-time codes.
    /// No client certificate came with the request.
    NoCertificate,
    /// The client certificate is not a party's current one.
    CertificateNotRegistered,
    /// Wrong password or unknown ID at login: one answer for both.
    WrongPassword,
    /// The user is locked after too many wrong passwords.
    Locked,
    /// The current password given for a change is wrong.
    WrongCurrentPassword,
    /// Too many logins, enrolments or setups from this source address.
    TooManyAttempts,
    /// An enrolment's ID or one-time code is refused.
    EnrolmentCode,
    /// A society setup's ID or one-time code is refused.
    SetupCode,
    /// A new password breaks the password policy.
    PasswordPolicy(Refusal),
    /// A profile update breaks the profile rules.
    Profile(Refusal),

    // Certificates and their requests.
    /// A society CA that is not PEM.
    BadCa,
    /// A certificate that is not a PEM X.509 certificate.
    BadCertificate,
    /// A certificate that does not verify against its society's CA.
    NotValidForSocietyCa,
    /// A request that is not a PEM PKCS#10 request.
    BadCsr,
    /// The certificate is registered already.
    CertificateRegistered,
    /// An issued certificate whose key is not the request's.
    KeyMismatch,
    /// Unknown, decided already, or another society's request.
    NoSuchRequest,
    /// The society did not decide the request in time.
    RequestExpired,
    /// A decision with neither or both of a certificate and a refusal.
    BadDecision,

    // Files.
    /// The destination is not one of the caller's.
    UnknownDestination,
    /// A sealed file name that is not a sealed file's (`kx_exchange::valid_sealed_name`): it
    /// could name a path, break a header or forge a line of a notification mail.
    BadName,
    /// An upload whose first bytes are not a CMS EnvelopedData or AuthEnvelopedData.
    NotSealed,
    /// An empty upload.
    EmptyFile,
    /// An upload over the sealed size cap.
    TooLarge,
    /// The upload paused longer than the idle limit.
    UploadStalled,
    /// The upload's body broke off.
    BodyRead,
    /// The recipient's quota would be exceeded.
    QuotaExceeded,
    /// Unknown, another party's, or (for a delete) deleted or cancelled already.
    UnknownFile(FileAction),
    /// The recipient deleted the file.
    FileDeleted,
    /// The sender cancelled the file.
    FileCancelled,
    /// The file's download window has closed.
    FileExpired,
    /// The recipient has downloaded the file, so its sender may no longer cancel it.
    AlreadyDownloaded,

    // The request's form.
    /// A JSON body that does not parse as the route's.
    BadJson,
    /// A JSON body without a JSON content type.
    JsonContentType,
    /// A JSON body over the limit.
    BodyTooLarge,
    /// A query string that does not parse as the route's.
    BadQuery,
    /// No route has this path.
    NoSuchRoute,

    /// The password checks are all busy: nothing was checked or counted; `Retry-After` says
    /// when to try again.
    Busy,
    /// The server failed: built by [`ApiError::internal`], which logs what failed, so that
    /// the client learns nothing of it.
    Internal,
}

/// What was done to a file that is not there, as `E8005` names it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum FileAction {
    /// A download.
    Receive,
    /// A delete or cancel.
    Delete,
}

impl ApiError {
    /// The server failed (logged here, without details for the client): `500 E9998`.
    pub(crate) fn internal(error: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(error = %error, "exchange: server error");
        ApiError::Internal
    }

    /// How the refusal is answered: status, code, the items filling the code's placeholders,
    /// and the machine-readable reason.
    fn wire(&self) -> (StatusCode, Code, Vec<&str>, &'static str) {
        use ApiError as E;
        match self {
            E::SessionExpired => (
                StatusCode::UNAUTHORIZED,
                Code::E9998,
                vec![],
                "session_expired",
            ),
            E::SessionAddress => (
                StatusCode::UNAUTHORIZED,
                Code::E9998,
                vec![],
                "session_address",
            ),
            E::SessionCertificate => (
                StatusCode::UNAUTHORIZED,
                Code::E9998,
                vec![],
                "session_certificate",
            ),
            E::PasswordChangeRequired => (
                StatusCode::FORBIDDEN,
                Code::E0002,
                vec![],
                wire::PASSWORD_CHANGE_REQUIRED,
            ),
            E::OfficesOnly => (StatusCode::FORBIDDEN, Code::E0003, vec![], "offices_only"),
            E::SocietiesOnly => (StatusCode::FORBIDDEN, Code::E0003, vec![], "societies_only"),
            E::NoCertificate => (StatusCode::FORBIDDEN, Code::E0003, vec![], "no_certificate"),
            E::CertificateNotRegistered => (
                StatusCode::FORBIDDEN,
                Code::E0003,
                vec![],
                "certificate_not_registered",
            ),
            E::WrongPassword => (
                StatusCode::UNAUTHORIZED,
                Code::E0002,
                vec![],
                wire::WRONG_PASSWORD,
            ),
            E::Locked => (StatusCode::UNAUTHORIZED, Code::E0002, vec![], "locked"),
            E::WrongCurrentPassword => (
                StatusCode::BAD_REQUEST,
                Code::E1002,
                vec![item::CURRENT_PASSWORD],
                "current_password",
            ),
            E::TooManyAttempts => (
                StatusCode::TOO_MANY_REQUESTS,
                Code::E0002,
                vec![],
                "too_many_attempts",
            ),
            E::EnrolmentCode => (
                StatusCode::UNAUTHORIZED,
                Code::E0002,
                vec![],
                wire::ENROLMENT_CODE,
            ),
            E::SetupCode => (
                StatusCode::UNAUTHORIZED,
                Code::E0002,
                vec![],
                wire::SETUP_CODE,
            ),
            E::PasswordPolicy(refusal) => rule(refusal, "password_policy"),
            E::Profile(refusal) => rule(refusal, "profile"),
            E::BadCa => (StatusCode::BAD_REQUEST, Code::E0003, vec![], "bad_ca"),
            E::BadCertificate => (
                StatusCode::BAD_REQUEST,
                Code::E0003,
                vec![],
                "bad_certificate",
            ),
            E::NotValidForSocietyCa => (
                StatusCode::BAD_REQUEST,
                Code::E0003,
                vec![],
                "not_valid_for_society_ca",
            ),
            E::BadCsr => (StatusCode::BAD_REQUEST, Code::E0003, vec![], "bad_csr"),
            E::CertificateRegistered => (
                StatusCode::CONFLICT,
                Code::E0003,
                vec![],
                "certificate_registered",
            ),
            E::KeyMismatch => (StatusCode::BAD_REQUEST, Code::E0003, vec![], "key_mismatch"),
            E::NoSuchRequest => (
                StatusCode::NOT_FOUND,
                Code::E0003,
                vec![],
                "no_such_request",
            ),
            E::RequestExpired => (StatusCode::GONE, Code::E0003, vec![], "request_expired"),
            E::BadDecision => (StatusCode::BAD_REQUEST, Code::E9998, vec![], "decision"),
            E::UnknownDestination => (
                StatusCode::BAD_REQUEST,
                Code::E8004,
                vec![],
                "unknown_destination",
            ),
            E::BadName => (StatusCode::BAD_REQUEST, Code::E9998, vec![], "name"),
            E::NotSealed => (StatusCode::BAD_REQUEST, Code::E9998, vec![], "not_sealed"),
            E::EmptyFile => (StatusCode::BAD_REQUEST, Code::E2002, vec![], "empty"),
            E::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                Code::E2006,
                vec![],
                "too_large",
            ),
            E::UploadStalled => (
                StatusCode::REQUEST_TIMEOUT,
                Code::E9998,
                vec![],
                "upload_stalled",
            ),
            E::BodyRead => (StatusCode::BAD_REQUEST, Code::E9998, vec![], "body_read"),
            E::QuotaExceeded => (
                StatusCode::INSUFFICIENT_STORAGE,
                Code::E8001,
                vec![],
                "quota",
            ),
            E::UnknownFile(action) => (
                StatusCode::NOT_FOUND,
                Code::E8005,
                vec![action.item()],
                "not_found",
            ),
            E::FileDeleted => (StatusCode::NOT_FOUND, Code::E8005, vec![RECEIVE], "deleted"),
            E::FileCancelled => (
                StatusCode::NOT_FOUND,
                Code::E8005,
                vec![RECEIVE],
                "cancelled",
            ),
            E::FileExpired => (StatusCode::GONE, Code::E8005, vec![RECEIVE], "expired"),
            E::AlreadyDownloaded => (
                StatusCode::CONFLICT,
                Code::E8005,
                vec![DELETE],
                "already_downloaded",
            ),
            E::BadJson => (StatusCode::BAD_REQUEST, Code::E9998, vec![], "bad_json"),
            E::JsonContentType => (
                StatusCode::BAD_REQUEST,
                Code::E9998,
                vec![],
                "json_content_type",
            ),
            E::BodyTooLarge => (
                StatusCode::BAD_REQUEST,
                Code::E9998,
                vec![],
                "body_too_large",
            ),
            E::BadQuery => (StatusCode::BAD_REQUEST, Code::E9998, vec![], "bad_query"),
            E::NoSuchRoute => (StatusCode::NOT_FOUND, Code::E9998, vec![], "no_such_route"),
            E::Busy => (StatusCode::SERVICE_UNAVAILABLE, Code::E9998, vec![], "busy"),
            E::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                Code::E9998,
                vec![],
                "server_error",
            ),
        }
    }
}

/// `E8005`'s item for a download.
const RECEIVE: &str = "受信";
/// `E8005`'s item for a delete or cancel.
const DELETE: &str = "削除";

impl FileAction {
    fn item(self) -> &'static str {
        match self {
            FileAction::Receive => RECEIVE,
            FileAction::Delete => DELETE,
        }
    }
}

/// A pure rule's refusal, with its own code and items: always the request's fault.
fn rule<'a>(
    refusal: &'a Refusal,
    reason: &'static str,
) -> (StatusCode, Code, Vec<&'a str>, &'static str) {
    (
        StatusCode::BAD_REQUEST,
        refusal.code,
        refusal.items.iter().map(String::as_str).collect(),
        reason,
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, items, reason) = self.wire();
        let mut response = (status, Json(Problem::new(code, &items, reason))).into_response();
        if let ApiError::Busy = self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(kx_listen::BUSY_RETRY_AFTER.as_secs()),
            );
        }
        response
    }
}

impl From<kx_store::Error> for ApiError {
    fn from(e: kx_store::Error) -> ApiError {
        match e {
            kx_store::Error::Busy => ApiError::Busy,
            e => ApiError::internal(&e),
        }
    }
}

impl From<BadUpload> for ApiError {
    fn from(e: BadUpload) -> ApiError {
        match e {
            BadUpload::Name => ApiError::BadName,
            BadUpload::TooLarge => ApiError::TooLarge,
            BadUpload::NotSealed => ApiError::NotSealed,
            BadUpload::Empty => ApiError::EmptyFile,
        }
    }
}

/// A JSON body whose rejection is a problem (`400 E9998 bad_json`).
pub(crate) struct Body<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::JsonContentType,
        JsonRejection::BytesRejection(_) => ApiError::BodyTooLarge,
        _ => ApiError::BadJson,
    }
}

/// A query string whose rejection is a problem (`400 E9998 bad_query`).
pub(crate) struct Query<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(_)) | Err(_) => {
                Err(ApiError::BadQuery)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::mem::discriminant;

    use super::*;

    /// A sample of every variant, and of both actions of `UnknownFile`.
    fn samples() -> Vec<ApiError> {
        use ApiError as E;
        let samples = vec![
            E::SessionExpired,
            E::SessionAddress,
            E::SessionCertificate,
            E::PasswordChangeRequired,
            E::OfficesOnly,
            E::SocietiesOnly,
            E::NoCertificate,
            E::CertificateNotRegistered,
            E::WrongPassword,
            E::Locked,
            E::WrongCurrentPassword,
            E::TooManyAttempts,
            E::EnrolmentCode,
            E::SetupCode,
            E::PasswordPolicy(Refusal::new(Code::E1001, &[item::NEW_PASSWORD])),
            E::Profile(Refusal::new(Code::E1006, &[item::USER_NAME])),
            E::BadCa,
            E::BadCertificate,
            E::NotValidForSocietyCa,
            E::BadCsr,
            E::CertificateRegistered,
            E::KeyMismatch,
            E::NoSuchRequest,
            E::RequestExpired,
            E::BadDecision,
            E::UnknownDestination,
            E::BadName,
            E::NotSealed,
            E::EmptyFile,
            E::TooLarge,
            E::UploadStalled,
            E::BodyRead,
            E::QuotaExceeded,
            E::UnknownFile(FileAction::Receive),
            E::UnknownFile(FileAction::Delete),
            E::FileDeleted,
            E::FileCancelled,
            E::FileExpired,
            E::AlreadyDownloaded,
            E::BadJson,
            E::JsonContentType,
            E::BodyTooLarge,
            E::BadQuery,
            E::NoSuchRoute,
            E::Busy,
            E::Internal,
        ];
        for sample in &samples {
            // Stops compiling when a variant is added, until it is listed here and above.
            match sample {
                E::SessionExpired
                | E::SessionAddress
                | E::SessionCertificate
                | E::PasswordChangeRequired
                | E::OfficesOnly
                | E::SocietiesOnly
                | E::NoCertificate
                | E::CertificateNotRegistered
                | E::WrongPassword
                | E::Locked
                | E::WrongCurrentPassword
                | E::TooManyAttempts
                | E::EnrolmentCode
                | E::SetupCode
                | E::PasswordPolicy(_)
                | E::Profile(_)
                | E::BadCa
                | E::BadCertificate
                | E::NotValidForSocietyCa
                | E::BadCsr
                | E::CertificateRegistered
                | E::KeyMismatch
                | E::NoSuchRequest
                | E::RequestExpired
                | E::BadDecision
                | E::UnknownDestination
                | E::BadName
                | E::NotSealed
                | E::EmptyFile
                | E::TooLarge
                | E::UploadStalled
                | E::BodyRead
                | E::QuotaExceeded
                | E::UnknownFile(_)
                | E::FileDeleted
                | E::FileCancelled
                | E::FileExpired
                | E::AlreadyDownloaded
                | E::BadJson
                | E::JsonContentType
                | E::BodyTooLarge
                | E::BadQuery
                | E::NoSuchRoute
                | E::Busy
                | E::Internal => {}
            }
        }
        samples
    }

    #[test]
    fn every_variant_has_a_reason_of_its_own() {
        let mut owners = HashMap::new();
        for sample in samples() {
            let (_, _, _, reason) = sample.wire();
            let owner = *owners.entry(reason).or_insert(discriminant(&sample));
            assert_eq!(
                owner,
                discriminant(&sample),
                "{reason} answers two variants"
            );
        }
    }

    #[test]
    fn every_answer_is_an_error_with_its_placeholders_filled() {
        for sample in samples() {
            let (status, code, items, reason) = sample.wire();
            assert!(
                status.is_client_error() || status.is_server_error(),
                "{reason}: {status}"
            );
            let problem = Problem::new(code, &items, reason);
            for text in [&problem.message, &problem.english] {
                assert!(!text.contains(['○', '〇', '●']), "{reason}: {text}");
            }
        }
    }

    /// The openapi file's texts about error answers, with their status: each response's
    /// description, with a `$ref` to a shared response read as that response's.
    fn documented(openapi: &str) -> Vec<(u16, &str)> {
        let shared: HashMap<&str, &str> = openapi
            .lines()
            .zip(openapi.lines().skip(1))
            .filter_map(|(name, next)| {
                let name = name.strip_prefix("    ")?.strip_suffix(':')?;
                Some((name, next.trim().strip_prefix("description:")?))
            })
            .collect();
        let mut texts = Vec::new();
        let mut status = None;
        for line in openapi.lines().map(str::trim) {
            if let Some(description) = line.strip_prefix("description:") {
                texts.extend(status.map(|s| (s, description)));
            }
            status = line
                .strip_prefix('"')
                .and_then(|l| l.split_once("\":"))
                .and_then(|(s, _)| s.parse::<u16>().ok());
            if let (Some(s), Some((_, name))) = (status, line.split_once("#/components/responses/"))
            {
                texts.extend(
                    name.split('"')
                        .next()
                        .and_then(|n| shared.get(n))
                        .map(|t| (s, *t)),
                );
            }
        }
        texts
    }

    #[test]
    fn every_answer_is_documented_in_the_openapi_file() {
        let openapi = include_str!("../../../docs/api/openapi.yaml");
        let texts = documented(openapi);
        for sample in samples() {
            let (status, code, _, reason) = sample.wire();
            let in_prose =
                openapi.contains(&format!("`{} {} {reason}`", status.as_u16(), code.code()));
            let in_response = texts.iter().any(|(s, text)| {
                *s == status.as_u16()
                    && text.contains(code.code())
                    && (text.contains(&format!("`{reason}`"))
                        || text.contains(&format!(" {reason}`")))
            });
            assert!(in_prose || in_response, "{status} {} {reason}", code.code());
        }
    }
}

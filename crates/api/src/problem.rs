//! Refusals as HTTP answers: every non-2xx answer of the exchange is a JSON
//! [`Problem`](kx_exchange::api::Problem) with a code from the one `Code` table and a
//! machine-readable reason; and body/query extractors whose rejections are problems too.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use kx_exchange::Code;
use kx_exchange::Refusal;
use kx_exchange::api::Problem;
use serde::de::DeserializeOwned;

/// A refusal: the status and the problem body.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    problem: Problem,
}

impl ApiError {
    /// A refusal with `code`, its placeholders filled with `items`.
    pub(crate) fn new(status: StatusCode, code: Code, items: &[&str], reason: &str) -> ApiError {
        ApiError {
            status,
            problem: Problem::new(code, items, reason),
        }
    }

    /// A rule's refusal, as `400`.
    pub(crate) fn refused(refusal: &Refusal, reason: &str) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            problem: refusal.problem(reason),
        }
    }

    /// The server failed (logged here, without details for the client): `500 E9998`.
    pub(crate) fn internal(error: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(error = %error, "exchange: server error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            Code::E9998,
            &[],
            "server_error",
        )
    }

    /// The request itself is malformed (bad JSON, bad query): `400 E9998`.
    pub(crate) fn bad_request(reason: &str) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, Code::E9998, &[], reason)
    }

    /// The caller's certificate does not allow this: `403 E0003`.
    pub(crate) fn certificate(reason: &str) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, Code::E0003, &[], reason)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.problem)).into_response()
    }
}

impl From<kx_store::Error> for ApiError {
    fn from(e: kx_store::Error) -> ApiError {
        ApiError::internal(&e)
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
    let reason = match rejection {
        JsonRejection::MissingJsonContentType(_) => "json_content_type",
        JsonRejection::BytesRejection(_) => "body_too_large",
        _ => "bad_json",
    };
    ApiError::bad_request(reason)
}

/// A query string whose rejection is a problem (`400 E9998 bad_query`).
pub(crate) struct Query<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(_)) | Err(_) => {
                Err(ApiError::bad_request("bad_query"))
            }
        }
    }
}

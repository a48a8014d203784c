//! The read-only download area of service notices over HTTPS (spec §6.8), for clients
//! without FTP: the same folders, rules and audit as `kx-ftp` serves, through the same
//! [`kx_ftp::Area`].
//!
//! # Routes
//!
//! | route | answer |
//! |---|---|
//! | `GET /service/` | the organisation's folder: one name a line, folders with a trailing `/` |
//! | `GET /service/<location>/` or `/service/<location>` naming a folder | its listing, the same way |
//! | `GET /service/<location>/<file>` | the file (`application/octet-stream`, `Content-Length`) |
//!
//! Every request carries HTTP Basic credentials, a 伝送 ID and its password, checked as an
//! SMTP or POP3 login is (`Gateway::login` through [`kx_ftp::Area::login`], audited as
//! `https-service.login`, counting toward the shared lock-out and the source's penalty).
//! Without them, or with wrong ones, `401` with `WWW-Authenticate: Basic`; when the password
//! checks are all busy, `503` with `Retry-After`. A path that names nothing, one that is no
//! [`Location`] (it leads above the folder, say) and another organisation's folder are all the
//! same `404`. Downloads are audited as `https-service.download`. The listener adds
//! `Cache-Control: no-store` and the other security headers to every answer.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use kx_denso::location::Location;
use kx_ftp::{Area, EntryKind, Error};
use kx_listen::AuthOutcome;
use kx_listen::https::Peer;

/// The service name of these logins in the audit log and the lock-out.
const SERVICE: &str = "https-service";

/// The realm the client is asked to log in to.
const CHALLENGE: &str = "Basic realm=\"KX service data\", charset=\"UTF-8\"";

/// The download area's routes, to be merged into the `https` listener's.
pub fn routes<A: Area>(area: Arc<A>) -> Router {
    Router::new()
        .route("/service", get(root::<A>))
        .route("/service/", get(root::<A>))
        .route("/service/{*path}", get(path::<A>))
        .with_state(area)
}

async fn root<A: Area>(
    State(area): State<Arc<A>>,
    Extension(Peer(peer)): Extension<Peer>,
    headers: HeaderMap,
) -> Response {
    serve(&*area, peer, &headers, "").await
}

async fn path<A: Area>(
    State(area): State<Arc<A>>,
    Extension(Peer(peer)): Extension<Peer>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve(&*area, peer, &headers, &path).await
}

async fn serve<A: Area>(
    area: &A,
    peer: std::net::IpAddr,
    headers: &HeaderMap,
    path: &str,
) -> Response {
    let Some((id, password)) = credentials(headers) else {
        return unauthorized();
    };
    let folder = match area.login(SERVICE, &id, &password, peer).await {
        AuthOutcome::Authenticated(folder) => folder,
        AuthOutcome::Rejected | AuthOutcome::LockedOut => return unauthorized(),
        AuthOutcome::Busy => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(
                    header::RETRY_AFTER,
                    HeaderValue::from(kx_listen::BUSY_RETRY_AFTER.as_secs()),
                )],
                "サーバーが混み合っています。 / The server is busy. Try again in a moment.\n",
            )
                .into_response();
        }
    };
    let Ok(location) = Location::parse(path) else {
        return failure(Error::NotFound);
    };
    let entry = match area.entry(&folder, &location).await {
        Ok(entry) => entry,
        Err(e) => return failure(e),
    };
    match entry.kind {
        EntryKind::Folder => match area.list(&folder, &location).await {
            Ok(names) => {
                let listing: String = names
                    .iter()
                    .map(|(name, entry)| match entry.kind {
                        EntryKind::Folder => format!("{name}/\n"),
                        EntryKind::File => format!("{name}\n"),
                    })
                    .collect();
                (
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                    listing,
                )
                    .into_response()
            }
            Err(e) => failure(e),
        },
        EntryKind::File => match area.open(&folder, &location).await {
            Ok(download) => (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/octet-stream"),
                    ),
                    (header::CONTENT_LENGTH, HeaderValue::from(download.size)),
                ],
                Body::from_stream(tokio_util::io::ReaderStream::new(download.reader)),
            )
                .into_response(),
            Err(e) => failure(e),
        },
    }
}

/// The ID and password of an `Authorization: Basic` header.
fn credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let (id, password) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some((id.to_owned(), password.to_owned()))
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, CHALLENGE)],
        "IDとパスワードが必要です。 / An ID and password are required.\n",
    )
        .into_response()
}

fn failure(error: Error) -> Response {
    match error {
        Error::NotFound => {
            (StatusCode::NOT_FOUND, "見つかりません。 / Not found.\n").into_response()
        }
        Error::Io(e) => {
            tracing::error!(error = %e, "service: the download area failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "サーバーでエラーが発生しました。 / The server failed.\n",
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials() {
        let mut headers = HeaderMap::new();
        assert_eq!(credentials(&headers), None);
        // "J13123456780:pa:ss" — a colon in the password stays in the password.
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic SjEzMTIzNDU2NzgwOnBhOnNz"),
        );
        assert_eq!(
            credentials(&headers),
            Some(("J13123456780".into(), "pa:ss".into()))
        );
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer SjEzMTIzNDU2NzgwOnBhOnNz"),
        );
        assert_eq!(credentials(&headers), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!"));
        assert_eq!(credentials(&headers), None);
    }
}

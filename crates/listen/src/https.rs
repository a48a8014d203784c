//! The HTTPS sessions every web listener runs on the shared accept loop (`https`: the password
//! page and the exchange's bootstrap routes; `api`: the exchange over mutual TLS): TLS
//! handshake with a deadline, HTTP/1.1 with a header deadline, the client's address and
//! certificate handed to the routes, security headers on every answer, graceful drain on
//! shutdown.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use hyper_util::rt::{TokioIo, TokioTimer};
use sha2::Digest as _;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::{Connection, Listener, Protocol, upgrade};
use tower_service::Service as _;

/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// The client's address, put into each request's extensions by the connection task.
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub IpAddr);

/// The client certificate presented in the TLS handshake (mutual TLS only), put into each
/// request's extensions: the SHA-256 of its DER (lower-case hex) and the DER.
#[derive(Clone, Debug)]
pub struct ClientCertificate {
    /// SHA-256 of the DER, lower-case hex: how the store names certificates.
    pub fingerprint: String,
}

/// Where a listener gets its TLS configuration for the next handshake.
pub trait AcceptorSource: Send + Sync + 'static {
    /// The acceptor to use now (a listener whose trusted CAs change rebuilds it).
    fn acceptor(&self) -> Pin<Box<dyn Future<Output = TlsAcceptor> + Send + '_>>;
}

impl AcceptorSource for TlsAcceptor {
    fn acceptor(&self) -> Pin<Box<dyn Future<Output = TlsAcceptor> + Send + '_>> {
        let acceptor = self.clone();
        Box::pin(async move { acceptor })
    }
}

/// Security headers on every answer: nothing may be framed, sniffed, cached or referred.
pub async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Serves `app` on `listener` over TLS through the shared accept loop (its caps, rates,
/// lifetime and drain) until `shutdown` turns true. A connection over a cap is closed without a
/// word: the client expects a TLS handshake, not plaintext.
pub async fn serve(
    listener: Listener,
    tls: Arc<dyn AcceptorSource>,
    app: Router,
    shutdown: watch::Receiver<bool>,
) {
    let https = Https {
        name: listener.config().name,
        handshake_timeout: listener.config().handshake_timeout,
        tls,
        app: app.layer(axum::middleware::map_response(security_headers)),
    };
    crate::serve(listener, https, shutdown).await;
}

/// The HTTPS protocol of one listener.
struct Https {
    name: &'static str,
    handshake_timeout: Duration,
    tls: Arc<dyn AcceptorSource>,
    app: Router,
}

impl Protocol for Https {
    fn refusal(&self) -> &[u8] {
        b""
    }

    fn session(&self, connection: Connection) -> impl Future<Output = ()> + Send + 'static {
        let deadline = self.handshake_timeout;
        connection_task(
            self.name,
            connection,
            deadline,
            Arc::clone(&self.tls),
            self.app.clone(),
        )
    }
}

/// One connection: the TLS handshake, then HTTP/1.1 until the client ends it or the loop asks
/// it to stop; then open requests get the drain time the loop grants.
async fn connection_task(
    name: &'static str,
    connection: Connection,
    handshake_timeout: Duration,
    tls: Arc<dyn AcceptorSource>,
    app: Router,
) {
    let Connection {
        stream,
        peer,
        mut stop,
    } = connection;
    let acceptor = tls.acceptor().await;
    let tls = match upgrade(&acceptor, stream, handshake_timeout).await {
        Ok(tls) => tls,
        Err(e) => {
            tracing::debug!(listener = name, %peer, error = %e, "TLS handshake failed");
            return;
        }
    };
    let certificate = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|leaf| ClientCertificate {
            fingerprint: crate::auth::hex(&sha2::Sha256::digest(leaf.as_ref())),
        });
    let service = hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(Peer(peer.ip()));
        if let Some(certificate) = &certificate {
            request.extensions_mut().insert(certificate.clone());
        }
        app.clone().call(request)
    });
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(tls), service);
    tokio::pin!(served);
    let result = tokio::select! {
        result = served.as_mut() => result,
        _ = stop.changed() => {
            served.as_mut().graceful_shutdown();
            served.as_mut().await
        }
    };
    if let Err(e) = result {
        tracing::debug!(listener = name, %peer, error = %e, "connection ended");
    }
}

//! The HTTPS accept loop every web listener shares (`https`: the password page and the
//! exchange's bootstrap routes; `api`: the exchange over mutual TLS): TLS handshake with a
//! deadline, HTTP/1.1 with a header deadline, the client's address and certificate handed to
//! the routes, security headers on every answer, graceful drain on shutdown.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use hyper_util::rt::{TokioIo, TokioTimer};
use sha2::Digest as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower_service::Service as _;

/// How long a client may take for the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long open connections may take to finish after shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

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

/// Serves `app` on `listener` over TLS until `shutdown` turns true, then lets open
/// connections finish (for a few seconds at most). `name` labels the logs.
pub async fn serve(
    name: &'static str,
    listener: TcpListener,
    tls: Arc<dyn AcceptorSource>,
    app: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let app = app.layer(axum::middleware::map_response(security_headers));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Answers are small and follow the client's last write: without this they
                    // wait for its delayed ACK (~40 ms on every new connection).
                    let _ = stream.set_nodelay(true);
                    connections.spawn(connection(
                        name,
                        stream,
                        peer,
                        Arc::clone(&tls),
                        app.clone(),
                        shutdown.clone(),
                    ));
                }
                Err(e) => {
                    tracing::warn!(listener = name, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.changed() => break,
        }
        while connections.try_join_next().is_some() {}
    }
    while connections.join_next().await.is_some() {}
}

/// One connection: the TLS handshake, then HTTP/1.1 until the client or shutdown ends it.
async fn connection(
    name: &'static str,
    stream: TcpStream,
    peer: SocketAddr,
    tls: Arc<dyn AcceptorSource>,
    app: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let acceptor = tls.acceptor().await;
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::debug!(listener = name, %peer, error = %e, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(listener = name, %peer, "TLS handshake timed out");
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
    tokio::select! {
        result = served.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(listener = name, %peer, error = %e, "connection ended");
            }
        }
        _ = shutdown.changed() => {
            served.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(DRAIN_TIMEOUT, served).await;
        }
    }
}

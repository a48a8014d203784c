//! The HTTPS sessions every web listener runs on the shared accept loop (`https`: the password
//! page and the exchange's bootstrap routes; `api`: the exchange over mutual TLS): TLS
//! handshake with a deadline, HTTP/1.1 with a header deadline, request bodies held to the
//! listener's minimum rate and body deadline, the client's address and certificate handed to
//! the routes, security headers on every answer, graceful drain on shutdown.
//!
//! Only HTTP/1.1 is served, one request at a time per connection (pipelined requests wait
//! their turn), so the accept loop's per-address connection cap is also the cap on requests
//! one address has under way at once.

use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use sha2::Digest as _;
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;

use crate::{Connection, Listener, MinimumRate, Overdue, Protocol, RateMeter, upgrade};
use tower_service::Service as _;

/// How long a client may take to send a request's headers; it also bounds how long a
/// keep-alive connection may wait for its next request (hyper starts the clock when it starts
/// reading a request head, and bytes do not renew it).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// The text of the answer to a request whose body came too slowly.
const TOO_SLOW: &str = "リクエストが時間内に届きませんでした / request not received in time\n";

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

/// Security headers on every answer: nothing may be framed, sniffed or cached, and no other
/// site is told where a link came from. The referrer policy is `same-origin`, not
/// `no-referrer`: under `no-referrer` browsers send `Origin: null` with a form's POST (Fetch
/// standard, "append a request Origin header"), and the pages' CSRF checks need the real one.
pub async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "same-origin"),
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
    let config = listener.config();
    let https = Https {
        name: config.name,
        handshake_timeout: config.handshake_timeout,
        bodies: BodyLimits {
            floor: config.min_transfer_rate,
            deadline: config.request_body_timeout,
        },
        tls,
        app: app.layer(axum::middleware::map_response(security_headers)),
    };
    crate::serve(listener, https, shutdown).await;
}

/// The HTTPS protocol of one listener.
struct Https {
    name: &'static str,
    handshake_timeout: Duration,
    bodies: BodyLimits,
    tls: Arc<dyn AcceptorSource>,
    app: Router,
}

/// How request bodies are held to time.
#[derive(Clone, Copy)]
struct BodyLimits {
    floor: MinimumRate,
    deadline: Duration,
}

impl Protocol for Https {
    fn refusal(&self) -> &[u8] {
        b""
    }

    fn session(&self, connection: Connection) -> impl Future<Output = ()> + Send + 'static {
        connection_task(
            self.name,
            connection,
            self.handshake_timeout,
            self.bodies,
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
    bodies: BodyLimits,
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
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let overdue = Arc::new(OnceLock::new());
        let mut request = request.map(|body| PacedBody::new(body, bodies, Arc::clone(&overdue)));
        request.extensions_mut().insert(Peer(peer.ip()));
        if let Some(certificate) = &certificate {
            request.extensions_mut().insert(certificate.clone());
        }
        let response = app.clone().call(request);
        async move {
            let Ok(response) = response.await;
            let Some(why) = overdue.get() else {
                return Ok::<_, Infallible>(response);
            };
            // Whatever the route made of its failed read, the client is told what happened,
            // and the connection is not kept: the rest of the body was never read.
            tracing::info!(listener = name, %peer, reason = %why, "request body cut off");
            let answer = (
                StatusCode::REQUEST_TIMEOUT,
                [(header::CONNECTION, "close")],
                TOO_SLOW,
            );
            Ok(security_headers(answer.into_response()).await)
        }
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

/// A request body held to the listener's minimum rate and body deadline, counted from the end
/// of the headers. A body that misses one fails the route's read of it, and the deadline it
/// missed is left in `overdue`, so that the answer becomes 408.
struct PacedBody {
    inner: Incoming,
    meter: RateMeter,
    /// Wakes the reader when the meter's window ends, even if no byte comes.
    window: Pin<Box<Sleep>>,
    deadline: Pin<Box<Sleep>>,
    overdue: Arc<OnceLock<Overdue>>,
}

impl PacedBody {
    fn new(inner: Incoming, limits: BodyLimits, overdue: Arc<OnceLock<Overdue>>) -> PacedBody {
        let now = Instant::now();
        let deadline = now + limits.deadline;
        let meter = RateMeter::start(limits.floor, now);
        PacedBody {
            window: Box::pin(tokio::time::sleep_until(
                meter.next_check().unwrap_or(deadline),
            )),
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
            inner,
            meter,
            overdue,
        }
    }

    /// The deadline missed by now, if any; otherwise the wake-ups for the next checks are set.
    fn missed(&mut self, cx: &mut Context<'_>) -> Option<Overdue> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            return Some(Overdue::TransferDeadline);
        }
        if !self.meter.keeps_up(Instant::now()) {
            return Some(Overdue::SlowTransfer);
        }
        if let Some(end) = self.meter.next_check() {
            if self.window.deadline() != end {
                self.window.as_mut().reset(end);
            }
            // A window that ended between the check and here gets its check on the next poll.
            if self.window.as_mut().poll(cx).is_ready() {
                cx.waker().wake_by_ref();
            }
        }
        None
    }

    fn fail(&mut self, why: Overdue) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        let _ = self.overdue.set(why);
        Poll::Ready(Some(Err(Box::new(why))))
    }
}

impl Body for PacedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Some(&why) = this.overdue.get() {
            return this.fail(why);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.meter.record(data.len());
                }
                match this.missed(cx) {
                    Some(why) => this.fail(why),
                    None => Poll::Ready(Some(Ok(frame))),
                }
            }
            Poll::Ready(other) => Poll::Ready(other.map(|end| end.map_err(Into::into))),
            Poll::Pending => match this.missed(cx) {
                Some(why) => this.fail(why),
                None => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

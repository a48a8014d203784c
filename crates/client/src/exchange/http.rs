//! The HTTPS client: blocking reqwest over rustls with the *ring* provider only, trusting just
//! the KX server's CA, presenting our certificate on the api listener (mutual TLS). Bodies are
//! streamed both ways; a refusal's JSON body becomes a [`Failure`] with the server's code.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use kx_crypto::{Certificate, PrivateKey};
use kx_exchange::Code;
use kx_exchange::api::{Problem, SEALED_MEDIA_TYPE};
use reqwest::Method;
use reqwest::blocking::{Body, Client, RequestBuilder, Response};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::failure::Failure;

/// A `--server` argument: an `https://` URL, checked before anything is made or sent.
pub fn https_url(url: &str) -> Result<String, String> {
    if url.starts_with("https://") {
        Ok(url.trim_end_matches('/').to_owned())
    } else {
        Err("the KX server's URL must begin with https://".to_owned())
    }
}

/// The TLS settings of a client trusting `server_ca`, presenting `identity` when given.
fn tls(
    server_ca: &[Certificate],
    identity: Option<(&Certificate, &PrivateKey)>,
) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in server_ca {
        roots
            .add(CertificateDer::from(der::Encode::to_der(cert)?))
            .context("the server CA certificate")?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    Ok(match identity {
        Some((cert, key)) => {
            let chain = vec![CertificateDer::from(der::Encode::to_der(cert)?)];
            let key_der = key.to_pkcs8_der()?;
            let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der.to_vec()));
            builder
                .with_client_auth_cert(chain, key)
                .context("our certificate and key")?
        }
        None => builder.with_no_client_auth(),
    })
}

/// A client of one KX listener.
pub(crate) struct Http {
    client: Client,
    base: String,
    token: Option<String>,
    /// Whether we present a certificate (the api listener) or not (the bootstrap listener).
    presents_certificate: bool,
    /// Set when the server answered that the session is over (see
    /// [`Failure::is_session_over`]); cleared by a new token.
    session_ended: AtomicBool,
}

impl Http {
    /// A client of `base` (e.g. `https://127.0.0.1:8443`) trusting `server_ca`, presenting
    /// `identity` when given (the api listener requires it). Only HTTPS: passwords, one-time
    /// codes and session tokens never travel in plaintext, not even after a redirect.
    pub(crate) fn new(
        base: &str,
        server_ca: &[Certificate],
        identity: Option<(&Certificate, &PrivateKey)>,
    ) -> Result<Http> {
        if let Err(why) = https_url(base) {
            bail!("{why} (not {base})");
        }
        let mut http = Http::build(base, tls(server_ca, identity)?, true)?;
        http.presents_certificate = identity.is_some();
        Ok(http)
    }

    /// A client of a plaintext peer, for unit tests that look at what goes on the wire.
    #[cfg(test)]
    pub(crate) fn plaintext(base: &str) -> Result<Http> {
        Http::build(base, tls(&[], None)?, false)
    }

    fn build(base: &str, tls: rustls::ClientConfig, https_only: bool) -> Result<Http> {
        let client = Client::builder()
            .use_preconfigured_tls(tls)
            .https_only(https_only)
            .connect_timeout(Duration::from_secs(20))
            // Transfers of 20 MB on a slow line take long: no overall limit, but a stalled
            // connection must not hang the app forever.
            .timeout(None)
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("kx/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the HTTPS client")?;
        Ok(Http {
            client,
            base: base.trim_end_matches('/').to_owned(),
            token: None,
            presents_certificate: false,
            session_ended: AtomicBool::new(false),
        })
    }

    /// Sends the bearer `token` with every request from now on.
    pub(crate) fn set_token(&mut self, token: Option<String>) {
        self.token = token;
        self.session_ended.store(false, Ordering::Relaxed);
    }

    /// Whether the server ended the session of the token (a refusal said so since it was set).
    pub(crate) fn session_ended(&self) -> bool {
        self.session_ended.load(Ordering::Relaxed)
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.client.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// `GET path` → JSON.
    pub(crate) fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        json(self.execute(self.request(Method::GET, path))?)
    }

    /// `method path` with a JSON body → JSON.
    pub(crate) fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T> {
        json(self.execute(self.request(method, path).json(body))?)
    }

    /// `method path` with an optional JSON body, answer ignored (204).
    pub(crate) fn call_empty<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<()> {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.execute(request)?;
        Ok(())
    }

    /// `POST path` streaming `body` (a sealed file, as it is sealed) in chunks, its length
    /// unannounced → JSON. A read error of `body` aborts the request: the server sees the body
    /// break off, never end.
    pub(crate) fn upload<T: DeserializeOwned>(
        &self,
        path: &str,
        body: impl Read + Send + 'static,
    ) -> Result<T> {
        let request = self
            .request(Method::POST, path)
            .header(reqwest::header::CONTENT_TYPE, SEALED_MEDIA_TYPE)
            .body(Body::new(body));
        json(self.execute(request)?)
    }

    /// `GET path`, the answer to be read as a stream.
    pub(crate) fn download(&self, path: &str) -> Result<Response> {
        self.execute(self.request(Method::GET, path))
    }

    /// Sends a request; a non-2xx answer becomes the server's [`Failure`].
    fn execute(&self, request: RequestBuilder) -> Result<Response> {
        let answer = execute(request, self.presents_certificate);
        if let Err(err) = &answer
            && err
                .downcast_ref::<Failure>()
                .is_some_and(Failure::is_session_over)
        {
            self.session_ended.store(true, Ordering::Relaxed);
        }
        answer
    }
}

/// Sends a request; a non-2xx answer becomes the server's [`Failure`].
fn execute(request: RequestBuilder, presents_certificate: bool) -> Result<Response> {
    let response = request
        .send()
        .map_err(|err| transport_failure(&err, presents_certificate))?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().unwrap_or_default();
    let failure = match serde_json::from_str::<Problem>(&body) {
        Ok(problem) => Failure::from(problem),
        Err(_) if status.is_server_error() => {
            Failure::new(Code::E9998, &[]).detail(format!("HTTP {status}"))
        }
        Err(_) => Failure::new(Code::E9999, &[]).detail(format!("HTTP {status}: {body:.200}")),
    };
    Err(failure.into())
}

fn json<T: DeserializeOwned>(response: Response) -> Result<T> {
    let url = response.url().path().to_owned();
    response
        .json()
        .with_context(|| format!("reading the answer of {url}"))
}

/// What to do when a listener that wants a client certificate refuses a client that presents
/// none: that client is a bootstrap client (setup) pointed at the api listener.
pub(crate) const API_PORT_HINT: &str = "This looks like the API port; use the bootstrap URL \
     (https://HOST:PORT of the bootstrap listener) with --server.";

/// A request that got no HTTP answer. A TLS alert about our certificate means the server does
/// not accept it (E0003; without a certificate to present, we are talking to the api listener
/// instead of the bootstrap one); anything else is the network (E9999 with the cause).
fn transport_failure(err: &reqwest::Error, presents_certificate: bool) -> anyhow::Error {
    let mut chain = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(err);
    while let Some(e) = source {
        chain.push_str(&e.to_string());
        chain.push_str(": ");
        source = e.source();
    }
    unanswered(chain.trim_end_matches(": "), presents_certificate).into()
}

/// The failure of a request that got no answer, from its cause chain.
fn unanswered(chain: &str, presents_certificate: bool) -> Failure {
    let refused_certificate = [
        "CertificateRequired",
        "BadCertificate",
        "UnknownCA",
        "CertificateUnknown",
        "certificate required",
        "bad certificate",
        "unknown ca",
    ]
    .iter()
    .any(|alert| chain.contains(alert));
    let code = if refused_certificate {
        Code::E0003
    } else {
        Code::E9999
    };
    let failure = Failure::new(code, &[]).detail(format!("cannot reach the KX server: {chain}"));
    if refused_certificate && !presents_certificate {
        return failure.hint(API_PORT_HINT);
    }
    failure
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setup_against_the_api_port_is_told_to_use_the_bootstrap_url() {
        let chain = "error sending request: client error (Connect): received fatal alert: CertificateRequired";
        let setup = unanswered(chain, false);
        assert_eq!(setup.code, Code::E0003);
        assert_eq!(setup.hint, Some(API_PORT_HINT));
        assert!(
            setup
                .detail
                .as_deref()
                .is_some_and(|d| d.contains("CertificateRequired"))
        );
        // A session presenting its certificate is refused for the certificate itself.
        assert_eq!(unanswered(chain, true).hint, None);
        let offline = unanswered("error sending request: Connection refused", false);
        assert_eq!((offline.code, offline.hint), (Code::E9999, None));
    }
}

//! SMTP submission (RFC 5321 + RFC 6409 habits): how 伝送 clients hand in DataSend, DataDelete
//! and upstream notices.
//!
//! `smtp-proto` parses the wire; `session` drives one connection; what happens to a message
//! is the [`SubmissionService`]'s business (the gateway: inspect, store durably, then reply),
//! so the protocol can be tested on its own.

#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod line;
mod reply;
mod session;

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

pub use kx_listen::AuthOutcome;
use kx_listen::{Connection, Listener, ListenerConfig, Protocol};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

/// Settings of the submission listener. Every field has a safe default.
#[derive(Clone)]
pub struct SmtpConfig {
    /// The name in the greeting and the EHLO reply.
    pub hostname: String,
    /// The largest message accepted, in bytes (announced as SIZE). Default 64 MiB.
    pub max_message_size: usize,
    /// Whether AUTH may run without TLS. Default false; only loopback tests switch it on.
    pub allow_plaintext_auth: bool,
    /// The TLS acceptor for STARTTLS; without it STARTTLS is not offered.
    pub tls: Option<TlsAcceptor>,
    /// The listener's caps, connection rate, deadlines (the STARTTLS handshake's too) and
    /// drain. Default
    /// [`ListenerConfig::new`]`("smtp")`.
    pub listen: ListenerConfig,
    /// How long a client may stay silent between commands, and how long a reply may wait
    /// for the client to read it. Default 5 minutes (RFC 5321 §4.5.3.2). A command line and a
    /// message have deadlines of their own ([`ListenerConfig::command_timeout`],
    /// [`ListenerConfig::min_transfer_rate`]).
    pub timeout: Duration,
    /// Failed AUTH attempts after which the connection is closed. Default 3.
    pub max_auth_failures: u32,
    /// Recipients one message may have. Default 10.
    pub max_recipients: usize,
    /// Protocol errors after which the connection is closed. Default 10.
    pub max_errors: u32,
}

impl SmtpConfig {
    /// The defaults, with this host name.
    pub fn new(hostname: impl Into<String>) -> SmtpConfig {
        SmtpConfig {
            hostname: hostname.into(),
            max_message_size: 64 * 1024 * 1024,
            allow_plaintext_auth: false,
            tls: None,
            listen: ListenerConfig::new("smtp"),
            timeout: Duration::from_secs(300),
            max_auth_failures: 3,
            max_recipients: 10,
            max_errors: 10,
        }
    }
}

/// A message received in full, handed to the gateway.
#[derive(Clone, Debug)]
pub struct Submission<A> {
    /// The authenticated account.
    pub account: A,
    /// Where the client connects from.
    pub peer: IpAddr,
    /// The envelope sender.
    pub mail_from: String,
    /// The envelope recipients.
    pub recipients: Vec<String>,
    /// The message as received (dot-unstuffed, CRLF line ends as sent).
    pub message: Vec<u8>,
}

/// What the gateway did with a submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// Stored durably; the text follows `250 2.0.0`.
    Accepted(String),
    /// Refused for good (`5xx`): the code, the enhanced status and a text for the client.
    Refused {
        /// The reply code, 550–554.
        code: u16,
        /// The enhanced status code (RFC 3463), e.g. `[5, 6, 0]`.
        status: [u8; 3],
        /// The text.
        text: String,
    },
    /// Could not be stored now (`451`); the client keeps the message and retries.
    TryLater,
}

/// The gateway behind the submission listener.
pub trait SubmissionService: Send + Sync + 'static {
    /// Who an authenticated session acts for (the 伝送 ID, 伝送用ID, for the gateway).
    type Account: Clone + std::fmt::Display + Send + Sync + 'static;

    /// Checks an ID and password (and the organisation's allowed networks) and records the
    /// attempt.
    fn authenticate(
        &self,
        user: &str,
        password: &str,
        peer: IpAddr,
    ) -> impl Future<Output = AuthOutcome<Self::Account>> + Send;

    /// Whether the authenticated account may use this envelope sender (its own address only).
    fn sender_allowed(&self, account: &Self::Account, address: &str) -> bool;

    /// Whether the authenticated account may send to this address (the transmit address or a
    /// defined upstream address).
    fn recipient_allowed(
        &self,
        account: &Self::Account,
        address: &str,
    ) -> impl Future<Output = bool> + Send;

    /// Takes a complete message. `Accepted` only once it is durable.
    fn submit(
        &self,
        submission: Submission<Self::Account>,
    ) -> impl Future<Output = SubmitOutcome> + Send;
}

/// Accepts connections on `listener` through the shared accept loop (caps, rates, lifetime,
/// panics; see [`SmtpConfig::listen`]) until `shutdown` turns true, then gives the sessions
/// under way the drain time to finish.
pub async fn serve<G: SubmissionService>(
    listener: TcpListener,
    config: Arc<SmtpConfig>,
    service: Arc<G>,
    shutdown: watch::Receiver<bool>,
) {
    let listener = Listener::new(listener, config.listen.clone());
    let mut refusal = Vec::new();
    reply::Reply::TOO_MANY_CONNECTIONS.write(&mut refusal);
    let smtp = Smtp {
        config,
        service,
        refusal,
    };
    kx_listen::serve(listener, smtp, shutdown).await;
}

/// SMTP as the accept loop sees it.
struct Smtp<G> {
    config: Arc<SmtpConfig>,
    service: Arc<G>,
    /// The reply to a connection over the listener's caps or rate.
    refusal: Vec<u8>,
}

impl<G: SubmissionService> Protocol for Smtp<G> {
    fn refusal(&self) -> &[u8] {
        &self.refusal
    }

    fn session(&self, connection: Connection) -> impl Future<Output = ()> + Send + 'static {
        session::handle(
            connection.stream,
            connection.peer,
            Arc::clone(&self.config),
            Arc::clone(&self.service),
            connection.stop,
        )
    }
}

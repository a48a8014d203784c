//! One SMTP connection: the state machine, the gate every command passes, the read loop and
//! the STARTTLS upgrade. The verbs are handled in the files next to this one.

mod auth;
mod data;
mod ehlo;
mod mail;
mod misc;
#[cfg(test)]
mod tests;

use std::net::{IpAddr, SocketAddr};
use std::slice::Iter;
use std::sync::Arc;
use std::time::Duration;

use kx_listen::{Pace, Reading};
use smtp_proto::Request;
use smtp_proto::request::receiver::{DataReceiver, DummyDataReceiver};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_rustls::server::TlsStream;

use crate::line::{Line, LineBuffer, MAX_COMMAND_LINE};
use crate::reply::Reply;
use crate::{SmtpConfig, SubmissionService};

/// Serves one accepted TCP connection until it ends.
pub(crate) async fn handle<G: SubmissionService>(
    stream: TcpStream,
    peer: SocketAddr,
    config: Arc<SmtpConfig>,
    service: Arc<G>,
    shutdown: watch::Receiver<bool>,
) {
    run(stream, peer.ip(), &config, &*service, shutdown).await;
}

/// Serves a connection over any stream: the plaintext session, then, after STARTTLS, the TLS
/// one.
pub(crate) async fn run<T, G>(
    stream: T,
    peer: IpAddr,
    config: &SmtpConfig,
    service: &G,
    shutdown: watch::Receiver<bool>,
) where
    T: AsyncRead + AsyncWrite + Unpin + Send,
    G: SubmissionService,
{
    tracing::debug!(%peer, "smtp: connection");
    let session = Session::new(stream, false, peer, config, service, shutdown.clone());
    if let End::StartTls(stream) = session.serve(true).await
        && let Some(tls) = start_tls(config, stream, peer).await
    {
        // STARTTLS is refused once the stream is TLS, so this session cannot end in another.
        Session::new(tls, true, peer, config, service, shutdown)
            .serve(false)
            .await;
    }
}

/// The STARTTLS handshake on the stream the plaintext session handed back.
async fn start_tls<T>(config: &SmtpConfig, stream: T, peer: IpAddr) -> Option<TlsStream<T>>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let acceptor = config.tls.as_ref()?;
    match kx_listen::upgrade(acceptor, stream, config.listen.handshake_timeout).await {
        Ok(tls) => Some(tls),
        Err(e) => {
            tracing::info!(%peer, error = %e, "smtp: TLS handshake failed");
            None
        }
    }
}

/// Writes one reply straight to the stream, outside the command loop.
async fn send<T: AsyncWrite + Unpin>(
    stream: &mut T,
    reply: &Reply,
    limit: Duration,
) -> std::io::Result<()> {
    let mut out = Vec::new();
    reply.write(&mut out);
    write(stream, &out, limit).await
}

/// Writes `bytes` within `limit`: a client that stops reading must not hold the session.
async fn write<T: AsyncWrite + Unpin>(
    stream: &mut T,
    bytes: &[u8],
    limit: Duration,
) -> std::io::Result<()> {
    tokio::time::timeout(limit, stream.write_all(bytes)).await?
}

/// How a session ended.
enum End<T> {
    /// The client asked for TLS; the stream goes back to be wrapped.
    StartTls(T),
    /// The connection is over.
    Closed,
}

/// What the loop does after a command or line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    /// Go on reading.
    Continue,
    /// Close the connection (after the replies written so far).
    Close,
    /// Hand the stream to TLS (after `220` to STARTTLS).
    StartTls,
}

/// Where the session stands, with what each state needs. A session starts `Connected`,
/// including the fresh one after STARTTLS (RFC 3207 §4.2: the client starts over).
enum State<A> {
    /// Nothing said yet: no EHLO or HELO.
    Connected,
    /// Greeted, not authenticated.
    Greeted,
    /// An AUTH exchange waits for the client's next line.
    Auth(AuthStep),
    /// Authenticated; no mail transaction.
    Ready {
        /// Who the session acts for.
        account: A,
    },
    /// MAIL accepted; RCPT adds recipients.
    Mail {
        /// Who the session acts for.
        account: A,
        /// The sender and the recipients so far.
        envelope: Envelope,
    },
    /// Reading the message after DATA.
    Data(Transfer<A>),
    /// Reading, and dropping, the rest of a message already too large.
    TooLarge {
        /// Who the session acts for.
        account: A,
        /// Finds the end of the message.
        receiver: DummyDataReceiver,
    },
}

/// The envelope of the mail transaction under way.
struct Envelope {
    from: String,
    recipients: Vec<String>,
}

/// A message being received.
struct Transfer<A> {
    account: A,
    envelope: Envelope,
    receiver: DataReceiver,
    message: Vec<u8>,
}

/// Where an AUTH exchange stands.
enum AuthStep {
    /// Waiting for the PLAIN response.
    Plain,
    /// Waiting for the LOGIN user name.
    LoginUser,
    /// Waiting for the LOGIN password.
    LoginPassword(String),
}

impl<A> State<A> {
    /// The state after the mail transaction under way, if any, is dropped (RSET, EHLO).
    fn without_transaction(self) -> State<A> {
        match self {
            State::Mail { account, .. } => State::Ready { account },
            state => state,
        }
    }
}

/// The connection facts, besides the state, that decide what is allowed.
#[derive(Clone, Copy)]
struct Facts {
    /// The stream is TLS.
    tls: bool,
    /// AUTH may run (TLS, or plaintext AUTH configured).
    auth_offered: bool,
}

/// The gate: whether `request` may run in `state`, or the reply that refuses it. Every
/// command passes here before its handler runs; the handlers check only their arguments.
fn admit<A>(state: &State<A>, facts: Facts, request: &Request<String>) -> Result<(), Reply> {
    let refusal = match (request, state) {
        (Request::StartTls, _) if facts.tls => Reply::ALREADY_TLS,
        (Request::Auth { .. }, _) if !facts.auth_offered => Reply::ENCRYPTION_REQUIRED,
        (Request::Auth { .. } | Request::Mail { .. }, State::Connected) => Reply::EHLO_FIRST,
        (Request::Auth { .. }, State::Greeted) => return Ok(()),
        (Request::Auth { .. }, _) => Reply::ALREADY_AUTHENTICATED,
        (Request::Mail { .. }, State::Greeted) => Reply::AUTH_REQUIRED,
        (Request::Mail { .. }, State::Ready { .. }) => return Ok(()),
        (Request::Mail { .. }, _) => Reply::SENDER_GIVEN,
        (Request::Rcpt { .. }, State::Mail { .. }) => return Ok(()),
        (Request::Rcpt { .. }, _) => Reply::MAIL_FIRST,
        (Request::Data, State::Mail { envelope, .. }) if !envelope.recipients.is_empty() => {
            return Ok(());
        }
        (Request::Data, _) => Reply::RCPT_FIRST,
        _ => return Ok(()),
    };
    Err(refusal)
}

/// One connection's session over the stream `T`.
struct Session<'a, T, G: SubmissionService> {
    stream: T,
    tls: bool,
    peer: IpAddr,
    config: &'a SmtpConfig,
    service: &'a G,
    shutdown: watch::Receiver<bool>,
    state: State<G::Account>,
    /// Frames command and AUTH lines across reads.
    lines: LineBuffer,
    /// The deadlines of commands and messages.
    pace: Pace,
    /// Replies not yet written.
    out: Vec<u8>,
    auth_failures: u32,
    errors: u32,
}

impl<'a, T: AsyncRead + AsyncWrite + Unpin + Send, G: SubmissionService> Session<'a, T, G> {
    fn new(
        stream: T,
        tls: bool,
        peer: IpAddr,
        config: &'a SmtpConfig,
        service: &'a G,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Session {
            stream,
            tls,
            peer,
            config,
            service,
            shutdown,
            state: State::Connected,
            lines: LineBuffer::default(),
            pace: config.listen.pace(),
            out: Vec::new(),
            auth_failures: 0,
            errors: 0,
        }
    }

    async fn serve(mut self, greet: bool) -> End<T> {
        let idle = self.config.timeout;
        if greet
            && send(
                &mut self.stream,
                &Reply::greeting(&self.config.hostname),
                idle,
            )
            .await
            .is_err()
        {
            return End::Closed;
        }
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let deadline = self.pace.deadline(idle);
            let read = tokio::select! {
                read = tokio::time::timeout_at(deadline, self.stream.read(&mut buf)) => read,
                _ = self.shutdown.changed() => {
                    let _ = send(&mut self.stream, &Reply::SHUTTING_DOWN, idle).await;
                    return End::Closed;
                }
            };
            let n = match read {
                Ok(Ok(0)) | Ok(Err(_)) => return End::Closed,
                Ok(Ok(n)) => n,
                // The deadline came first; the check below says which one, and whether it
                // was missed (a transfer's window may have brought enough).
                Err(_) => 0,
            };
            if n > 0 {
                let flow = self.ingest(&buf[..n]).await;
                if !self.out.is_empty() {
                    let out = std::mem::take(&mut self.out);
                    if write(&mut self.stream, &out, idle).await.is_err() {
                        return End::Closed;
                    }
                }
                match flow {
                    Flow::Continue => {}
                    Flow::Close => {
                        let _ = self.stream.shutdown().await;
                        return End::Closed;
                    }
                    // Whatever the client pipelined after STARTTLS is dropped with `buf`:
                    // nothing sent in plaintext may count as sent under TLS (STARTTLS command
                    // injection).
                    Flow::StartTls => return End::StartTls(self.stream),
                }
            }
            if let Err(why) = self.pace.check(n, self.reading(), idle, Instant::now()) {
                tracing::info!(peer = %self.peer, reason = %why, "smtp: closing a client too slow");
                let _ = send(&mut self.stream, &Reply::overdue(why), idle).await;
                return End::Closed;
            }
        }
    }

    /// What the session is reading, for its deadlines: a message is a transfer, held to the
    /// minimum rate; a line has its command deadline.
    fn reading(&self) -> Reading {
        match self.state {
            State::Data(_) | State::TooLarge { .. } => Reading::Transfer,
            _ => self.lines.reading(),
        }
    }

    /// Feeds received bytes to whatever the state is reading, line or message, until they
    /// are used up or the session must stop.
    async fn ingest(&mut self, bytes: &[u8]) -> Flow {
        let mut bytes = bytes.iter();
        while !bytes.as_slice().is_empty() {
            // Each reader puts back the state it leaves the session in.
            let flow = match std::mem::replace(&mut self.state, State::Connected) {
                State::Data(transfer) => self.read_message(transfer, &mut bytes).await,
                State::TooLarge { account, receiver } => {
                    self.skip_message(account, receiver, &mut bytes)
                }
                State::Auth(step) => self.read_auth_line(step, &mut bytes).await,
                state => {
                    self.state = state;
                    self.read_command(&mut bytes).await
                }
            };
            if flow != Flow::Continue {
                return flow;
            }
        }
        Flow::Continue
    }

    async fn read_command(&mut self, bytes: &mut Iter<'_, u8>) -> Flow {
        let parsed = match self.lines.take(bytes, MAX_COMMAND_LINE) {
            None => return Flow::Continue,
            Some(Line::TooLong) => Err(Reply::LINE_TOO_LONG),
            Some(Line::Complete(line)) => Request::parse(&mut line.iter())
                .map(Request::into_owned)
                .map_err(Reply::wire_error),
        };
        let facts = Facts {
            tls: self.tls,
            auth_offered: self.auth_offered(),
        };
        match parsed.and_then(|request| admit(&self.state, facts, &request).map(|()| request)) {
            Ok(request) => self.dispatch(request).await,
            Err(reply) => self.fail(reply),
        }
    }

    async fn dispatch(&mut self, request: Request<String>) -> Flow {
        match request {
            Request::Ehlo { host } => self.ehlo(&host),
            Request::Helo { host } => self.helo(&host),
            Request::StartTls => self.starttls(),
            Request::Auth {
                mechanism,
                initial_response,
            } => self.auth(mechanism, &initial_response).await,
            Request::Mail { from } => self.mail(from.address, from.size),
            Request::Rcpt { to } => self.rcpt(to.address).await,
            Request::Data => self.data(),
            Request::Rset => self.rset(),
            Request::Noop { .. } => self.noop(),
            Request::Quit => self.quit(),
            Request::Vrfy { .. } => self.vrfy(),
            other => self.not_implemented(other.name()),
        }
    }

    fn auth_offered(&self) -> bool {
        self.tls || self.config.allow_plaintext_auth
    }

    fn reply(&mut self, reply: &Reply) {
        reply.write(&mut self.out);
    }

    /// Refuses with `reply` and counts a protocol error; too many close the connection.
    fn fail(&mut self, reply: Reply) -> Flow {
        self.reply(&reply);
        self.errors += 1;
        if self.errors >= self.config.max_errors {
            self.reply(&Reply::TOO_MANY_ERRORS);
            tracing::info!(peer = %self.peer, code = reply.code(), "smtp: closed after too many errors");
            return Flow::Close;
        }
        Flow::Continue
    }
}

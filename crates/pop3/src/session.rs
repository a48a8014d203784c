//! One POP3 connection: the state machine, the read loop and the STLS upgrade.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kx_listen::Pace;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::backend::{Backend, Entry};
use super::config::{Pop3Config, TlsMode};
use super::error::SessionError;
use super::request::{Command, LineReceiver, MAX_SASL_LINE, RequestError};
use super::response::{Response, ResponseCode};

/// A byte stream a session can run over: plain TCP, TLS over it, or a test double.
pub(crate) trait SessionStream: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// Whether the stream is encrypted.
    fn is_tls(&self) -> bool;
}

impl SessionStream for TcpStream {
    fn is_tls(&self) -> bool {
        false
    }
}

impl<T: SessionStream> SessionStream for TlsStream<T> {
    fn is_tls(&self) -> bool {
        true
    }
}

/// Where the session stands (RFC 1939 §3), with the data each state needs.
pub(crate) enum State<B: Backend> {
    /// Before login.
    Authorization {
        /// Failed logins so far on this connection.
        failures: u32,
        /// A login step in progress.
        pending: Pending,
    },
    /// Logged in, the maildrop locked.
    Transaction(Mailbox<B>),
    /// QUIT was handled: nothing is held any more.
    Closed,
}

/// A login started by one command and finished by the next line.
#[derive(Default)]
pub(crate) enum Pending {
    /// Nothing in progress.
    #[default]
    Nothing,
    /// USER was accepted; PASS comes next.
    User(String),
    /// `AUTH PLAIN` without an initial response; the next line is the SASL response.
    SaslPlain,
}

/// The locked maildrop as numbered at login.
pub(crate) struct Mailbox<B: Backend> {
    /// The user name the client logged in with.
    pub(crate) user: String,
    /// The backend's proof that this session owns the maildrop.
    pub(crate) lock: B::Lock,
    /// The snapshot taken at login: message `n` is `messages[n - 1]`.
    pub(crate) messages: Vec<Entry<B::MessageId>>,
    /// Marked by DELE, cleared by RSET, deleted at QUIT.
    pub(crate) deleted: Vec<bool>,
}

impl<B: Backend> Mailbox<B> {
    /// The message numbered `msg`, unless it is out of range or marked as deleted.
    pub(crate) fn entry(&self, msg: u32) -> Result<(usize, &Entry<B::MessageId>), SessionError> {
        let index = usize::try_from(msg)
            .ok()
            .and_then(|msg| msg.checked_sub(1))
            .filter(|&index| index < self.messages.len())
            .ok_or(SessionError::NoSuchMessage)?;
        if self.deleted[index] {
            return Err(SessionError::MessageDeleted);
        }
        Ok((index, &self.messages[index]))
    }

    /// The messages not marked as deleted, with their numbers.
    pub(crate) fn visible(&self) -> impl Iterator<Item = (usize, &Entry<B::MessageId>)> {
        self.messages
            .iter()
            .enumerate()
            .filter(|(index, _)| !self.deleted[*index])
            .map(|(index, entry)| (index + 1, entry))
    }

    /// How many messages are not marked as deleted, and their total size: STAT's answer.
    pub(crate) fn summary(&self) -> (usize, u64) {
        self.visible().fold((0, 0), |(count, size), (_, entry)| {
            (count + 1, size + entry.size)
        })
    }

    /// `n messages (m octets)`, for the replies to PASS, RSET and LIST.
    pub(crate) fn describe(&self) -> String {
        let (count, size) = self.summary();
        format!("{count} messages ({size} octets)")
    }
}

impl<B: Backend> State<B> {
    fn awaits_sasl_response(&self) -> bool {
        matches!(
            self,
            State::Authorization {
                pending: Pending::SaslPlain,
                ..
            }
        )
    }

    /// The locked maildrop, or the error a command needing one gets.
    pub(crate) fn mailbox(&mut self) -> Result<&mut Mailbox<B>, SessionError> {
        match self {
            State::Transaction(mailbox) => Ok(mailbox),
            _ => Err(SessionError::NotAllowed("Not authenticated")),
        }
    }
}

/// What the session does after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Read the next command.
    Continue,
    /// End the session.
    Close,
    /// Hand the connection to TLS (after `+OK` to STLS).
    UpgradeTls,
}

/// One connection's session over the stream `T`.
pub(crate) struct Session<B: Backend, T> {
    pub(crate) backend: Arc<B>,
    pub(crate) config: Arc<Pop3Config>,
    pub(crate) peer: SocketAddr,
    pub(crate) state: State<B>,
    /// Replies not yet written.
    pub(crate) out: Vec<u8>,
    stream: T,
    receiver: LineReceiver,
    /// The deadlines of commands.
    pace: Pace,
    shutdown: watch::Receiver<bool>,
}

/// Serves one accepted connection until it ends, whatever the TLS mode.
pub(crate) async fn run<B: Backend, T: SessionStream>(
    stream: T,
    peer: SocketAddr,
    config: Arc<Pop3Config>,
    backend: Arc<B>,
    shutdown: watch::Receiver<bool>,
) {
    let handshake_timeout = config.listen.handshake_timeout;
    if let TlsMode::Implicit(acceptor) = &config.tls {
        let acceptor = acceptor.clone();
        match handshake(&acceptor, stream, handshake_timeout).await {
            Some(stream) => {
                Session::new(stream, peer, config, backend, shutdown)
                    .greet_and_serve()
                    .await
            }
            None => tracing::info!("TLS handshake failed"),
        }
        return;
    }
    let mut session = Session::new(stream, peer, config, backend, shutdown);
    if session.greet().await && session.serve().await == Flow::UpgradeTls {
        if let Some(mut session) = session.into_tls().await {
            // STLS is refused once the stream is TLS, so this cannot ask for another upgrade.
            session.serve().await;
            session.finish().await;
        }
        return;
    }
    session.finish().await;
}

/// A TLS handshake bounded in time; failures are logged by the caller.
async fn handshake<T: SessionStream>(
    acceptor: &TlsAcceptor,
    stream: T,
    limit: Duration,
) -> Option<TlsStream<T>> {
    match kx_listen::upgrade(acceptor, stream, limit).await {
        Ok(stream) => Some(stream),
        Err(error) => {
            tracing::debug!(%error, "TLS handshake error");
            None
        }
    }
}

impl<B: Backend, T: SessionStream> Session<B, T> {
    fn new(
        stream: T,
        peer: SocketAddr,
        config: Arc<Pop3Config>,
        backend: Arc<B>,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Session {
            backend,
            peer,
            state: State::Authorization {
                failures: 0,
                pending: Pending::Nothing,
            },
            out: Vec::new(),
            stream,
            receiver: LineReceiver::default(),
            pace: config.listen.pace(),
            config,
            shutdown,
        }
    }

    async fn greet_and_serve(mut self) {
        if self.greet().await {
            self.serve().await;
        }
        self.finish().await;
    }

    /// Sends the greeting; false if the client is already gone.
    async fn greet(&mut self) -> bool {
        Response::Ok("kxd POP3 server ready".into()).write(&mut self.out);
        self.flush().await.is_ok()
    }

    /// Reads and answers commands until the session ends or asks for TLS.
    async fn serve(&mut self) -> Flow {
        let mut buf = vec![0; 8192];
        loop {
            let deadline = self.pace.deadline(self.idle_timeout());
            let read = tokio::select! {
                read = tokio::time::timeout_at(deadline, self.stream.read(&mut buf)) => Some(read),
                _ = self.shutdown.wait_for(|&stop| stop) => None,
            };
            let Some(read) = read else {
                tracing::info!("closing for shutdown; nothing deleted");
                let text = "Server shutting down";
                Response::Err(Some(ResponseCode::SysTemp), text.into()).write(&mut self.out);
                // The client is leaving anyway: a failed write changes nothing.
                let _ = self.flush().await;
                return Flow::Close;
            };
            let n = match read {
                Ok(Ok(0)) => {
                    tracing::debug!("client closed the connection");
                    return Flow::Close;
                }
                Ok(Ok(n)) => n,
                Ok(Err(error)) => {
                    tracing::debug!(%error, "read error");
                    return Flow::Close;
                }
                // The deadline came first; the check below says which one.
                Err(_) => 0,
            };
            if n > 0 {
                let flow = self.ingest(&buf[..n]).await;
                if flow != Flow::Continue {
                    return flow;
                }
            }
            let reading = self.receiver.reading();
            if let Err(why) = self
                .pace
                .check(n, reading, self.idle_timeout(), Instant::now())
            {
                tracing::info!(reason = %why, "closing a client too slow");
                if let Some(response) = SessionError::TooSlow(why).response() {
                    response.write(&mut self.out);
                    // The client is being dropped: a failed write changes nothing.
                    let _ = self.flush().await;
                }
                return Flow::Close;
            }
        }
    }

    fn idle_timeout(&self) -> Duration {
        match self.state {
            State::Transaction(_) => self.config.timeout_authenticated,
            _ => self.config.timeout_unauthenticated,
        }
    }

    /// Answers every complete line in `bytes`, in order. Anything after a command that ends the
    /// session or starts TLS is dropped unread.
    async fn ingest(&mut self, bytes: &[u8]) -> Flow {
        let mut input = bytes.iter();
        loop {
            let result = if self.state.awaits_sasl_response() {
                match self.receiver.next_line(&mut input, MAX_SASL_LINE) {
                    Ok(line) => self.handle_sasl_response(&line).await,
                    Err(RequestError::NeedsMoreData) => return Flow::Continue,
                    Err(error) => {
                        self.cancel_pending();
                        Err(error.into())
                    }
                }
            } else {
                match self.receiver.next_command(&mut input) {
                    Ok(command) => {
                        tracing::debug!(verb = command.verb(), "command");
                        match self.validate(&command) {
                            Ok(()) => self.dispatch(command).await,
                            Err(error) => Err(error),
                        }
                    }
                    Err(RequestError::NeedsMoreData) => return Flow::Continue,
                    Err(error) => Err(error.into()),
                }
            };
            let flow = result.unwrap_or_else(|error| {
                tracing::debug!(%error, "command failed");
                if let Some(response) = error.response() {
                    response.write(&mut self.out);
                }
                if error.must_disconnect() {
                    Flow::Close
                } else {
                    Flow::Continue
                }
            });
            if let Err(error) = self.flush().await {
                tracing::debug!(%error, "write failed");
                return Flow::Close;
            }
            if flow != Flow::Continue {
                return flow;
            }
        }
    }

    /// Decides whether `command` may run in the current state and over this stream.
    fn validate(&self, command: &Command) -> Result<(), SessionError> {
        let authenticating = matches!(
            command,
            Command::User(_) | Command::Pass(_) | Command::Auth { .. }
        );
        match (&self.state, command) {
            (_, Command::Capa | Command::Quit) => Ok(()),
            (State::Authorization { .. }, Command::Stls) => match self.config.tls {
                _ if self.stream.is_tls() => Err(SessionError::NotAllowed("Already using TLS")),
                TlsMode::Stls(_) => Ok(()),
                _ => Err(SessionError::NotAllowed("STLS is not available")),
            },
            (State::Authorization { .. }, _) if authenticating && !self.plaintext_auth_ok() => {
                Err(SessionError::PlaintextAuth)
            }
            (State::Authorization { pending, .. }, Command::Pass(_))
                if !matches!(pending, Pending::User(_)) =>
            {
                Err(SessionError::NotAllowed("USER first"))
            }
            (State::Authorization { .. }, _) if authenticating => Ok(()),
            (State::Authorization { .. }, _) => Err(SessionError::NotAllowed("Not authenticated")),
            (State::Transaction(_), _) if authenticating || *command == Command::Stls => {
                Err(SessionError::NotAllowed("Already authenticated"))
            }
            (State::Transaction(_), _) => Ok(()),
            (State::Closed, _) => Err(SessionError::NotAllowed("Session is closing")),
        }
    }

    /// Whether credentials may be sent over this stream.
    pub(crate) fn plaintext_auth_ok(&self) -> bool {
        self.stream.is_tls() || self.config.allow_plaintext_auth
    }

    /// Whether STLS should be offered in CAPA.
    pub(crate) fn stls_available(&self) -> bool {
        matches!(self.config.tls, TlsMode::Stls(_)) && !self.stream.is_tls()
    }

    async fn dispatch(&mut self, command: Command) -> Result<Flow, SessionError> {
        match command {
            Command::Auth {
                mechanism,
                initial_response,
            } => self.handle_auth(mechanism, initial_response).await,
            Command::Capa => self.handle_capa(),
            Command::Dele(msg) => self.handle_dele(msg),
            Command::List(msg) => self.handle_list(msg),
            Command::Noop => self.ok("", Flow::Continue),
            Command::Pass(password) => self.handle_pass(password).await,
            Command::Quit => self.handle_quit().await,
            Command::Retr(msg) => self.handle_fetch(msg, None).await,
            Command::Rset => self.handle_rset(),
            Command::Stat => self.handle_stat(),
            Command::Stls => self.ok("Begin TLS negotiation", Flow::UpgradeTls),
            Command::Top { msg, lines } => self.handle_fetch(msg, Some(lines)).await,
            Command::Uidl(msg) => self.handle_uidl(msg),
            Command::User(name) => self.handle_user(name),
        }
    }

    /// Queues `+OK text` and returns `flow`.
    pub(crate) fn ok(&mut self, text: &str, flow: Flow) -> Result<Flow, SessionError> {
        Response::Ok(text.into()).write(&mut self.out);
        Ok(flow)
    }

    /// Writes the queued replies. Each 64 KiB must go out within the idle timeout, so a client
    /// that stops reading cannot hold the maildrop lock forever, while a slow link still gets
    /// a large message through.
    async fn flush(&mut self) -> Result<(), SessionError> {
        let limit = self.idle_timeout();
        let out = std::mem::take(&mut self.out);
        for chunk in out.chunks(64 * 1024) {
            tokio::time::timeout(limit, self.stream.write_all(chunk))
                .await
                .map_err(std::io::Error::from)??;
        }
        tokio::time::timeout(limit, self.stream.flush())
            .await
            .map_err(std::io::Error::from)??;
        // Keep the allocation for the next reply.
        self.out = out;
        self.out.clear();
        Ok(())
    }

    /// Runs the TLS handshake on this connection. Plaintext that arrived after STLS is
    /// discarded (RFC 2595 §4): the receiver starts empty.
    async fn into_tls(self) -> Option<Session<B, TlsStream<T>>> {
        let TlsMode::Stls(acceptor) = &self.config.tls else {
            return None;
        };
        let acceptor = acceptor.clone();
        let stream = handshake(&acceptor, self.stream, self.config.listen.handshake_timeout).await;
        let Some(stream) = stream else {
            tracing::info!("TLS handshake after STLS failed");
            return None;
        };
        tracing::debug!("TLS established");
        let state = match self.state {
            // A USER given before TLS must not carry over into the encrypted session.
            State::Authorization { failures, .. } => State::Authorization {
                failures,
                pending: Pending::Nothing,
            },
            other => other,
        };
        Some(Session {
            backend: self.backend,
            peer: self.peer,
            state,
            out: Vec::new(),
            stream,
            receiver: LineReceiver::default(),
            pace: self.config.listen.pace(),
            config: self.config,
            shutdown: self.shutdown,
        })
    }

    /// Ends the session: a maildrop still locked is released with nothing deleted (only QUIT
    /// deletes).
    async fn finish(mut self) {
        if let State::Transaction(mailbox) = std::mem::replace(&mut self.state, State::Closed) {
            tracing::info!(user = %mailbox.user, "session ended without QUIT; nothing deleted");
            self.backend.unlock(mailbox.lock).await;
        }
        // The peer may already be gone; there is nothing left to tell it.
        let _ = self.stream.shutdown().await;
    }
}

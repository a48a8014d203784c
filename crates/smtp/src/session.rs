//! One SMTP connection: greeting, commands, STARTTLS, AUTH, DATA.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use base64::Engine as _;
use smtp_proto::request::receiver::{
    DataReceiver, DummyDataReceiver, DummyLineReceiver, RequestReceiver,
};
use smtp_proto::{AUTH_LOGIN, AUTH_PLAIN, Error as WireError, Request};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::{AuthOutcome, SmtpConfig, Submission, SubmissionService, SubmitOutcome};

/// Longest AUTH continuation line accepted (a Base64 PLAIN response of generous size).
const MAX_AUTH_LINE: usize = 2048;

/// Runs a connection: the plaintext session, then, after STARTTLS, the TLS one.
pub(crate) async fn handle<G: SubmissionService>(
    stream: TcpStream,
    peer: SocketAddr,
    config: Arc<SmtpConfig>,
    service: Arc<G>,
    shutdown: watch::Receiver<bool>,
) {
    let peer = peer.ip();
    if !service.connection_allowed(peer) {
        let mut stream = stream;
        let _ = stream
            .write_all(b"421 4.7.0 Too many connections, try again later\r\n")
            .await;
        tracing::info!(%peer, "smtp: connection refused by rate limit");
        return;
    }
    tracing::debug!(%peer, "smtp: connection");
    let session = Session::new(stream, false, peer, &config, &*service, shutdown.clone());
    match session.run(true).await {
        End::StartTls(stream) => {
            let Some(acceptor) = &config.tls else { return };
            match kx_listen::upgrade(acceptor, stream, config.listen.handshake_timeout).await {
                Ok(tls) => {
                    Session::new(tls, true, peer, &config, &*service, shutdown)
                        .run(false)
                        .await;
                }
                Err(e) => tracing::info!(%peer, error = %e, "smtp: TLS handshake failed"),
            }
        }
        End::Closed => {}
    }
}

/// How a session ended.
enum End<T> {
    /// The client asked for TLS; the stream goes back to be wrapped.
    StartTls(T),
    /// The connection is over.
    Closed,
}

/// What the session is reading.
enum State {
    /// Commands.
    Command(RequestReceiver),
    /// The message after DATA.
    Data(DataReceiver, Vec<u8>),
    /// The rest of a message already known to be too large.
    TooLarge(DummyDataReceiver),
    /// An AUTH continuation line.
    Auth(AuthStep, Vec<u8>),
    /// The rest of an overlong AUTH line.
    SkipLine(DummyLineReceiver),
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

/// What processing one command asks of the loop.
enum Next {
    Continue,
    Close,
    StartTls,
}

struct Session<'a, T, G: SubmissionService> {
    stream: T,
    tls: bool,
    peer: IpAddr,
    config: &'a SmtpConfig,
    service: &'a G,
    shutdown: watch::Receiver<bool>,
    state: State,
    out: Vec<u8>,
    greeted: bool,
    account: Option<G::Account>,
    mail_from: Option<String>,
    recipients: Vec<String>,
    auth_failures: u32,
    errors: u32,
}

impl<'a, T: AsyncRead + AsyncWrite + Unpin, G: SubmissionService> Session<'a, T, G> {
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
            state: State::Command(RequestReceiver::default()),
            out: Vec::new(),
            greeted: false,
            account: None,
            mail_from: None,
            recipients: Vec::new(),
            auth_failures: 0,
            errors: 0,
        }
    }

    async fn run(mut self, greet: bool) -> End<T> {
        if greet {
            let greeting = format!("220 {} ESMTP kxd\r\n", self.config.hostname);
            if self.stream.write_all(greeting.as_bytes()).await.is_err() {
                return End::Closed;
            }
        }
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let read = tokio::select! {
                read = tokio::time::timeout(self.config.timeout, self.stream.read(&mut buf)) => read,
                _ = self.shutdown.changed() => {
                    let _ = self.stream.write_all(b"421 4.3.2 Server shutting down\r\n").await;
                    return End::Closed;
                }
            };
            let n = match read {
                Ok(Ok(0)) | Ok(Err(_)) => return End::Closed,
                Ok(Ok(n)) => n,
                Err(_) => {
                    let _ = self
                        .stream
                        .write_all(b"421 4.4.2 Idle too long, closing\r\n")
                        .await;
                    return End::Closed;
                }
            };
            let next = self.ingest(&buf[..n]).await;
            if !self.out.is_empty() {
                let out = std::mem::take(&mut self.out);
                if self.stream.write_all(&out).await.is_err() {
                    return End::Closed;
                }
            }
            match next {
                Next::Continue => {}
                Next::Close => {
                    let _ = self.stream.shutdown().await;
                    return End::Closed;
                }
                // Whatever the client pipelined after STARTTLS is dropped with `buf`: nothing
                // sent in plaintext may count as sent under TLS (STARTTLS command injection).
                Next::StartTls => return End::StartTls(self.stream),
            }
        }
    }

    fn reply(&mut self, text: &str) {
        self.out.extend_from_slice(text.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    /// Feeds received bytes through the current state, processing every complete command.
    async fn ingest(&mut self, bytes: &[u8]) -> Next {
        let mut iter = bytes.iter();
        while !iter.as_slice().is_empty() {
            let state =
                std::mem::replace(&mut self.state, State::Command(RequestReceiver::default()));
            let next = match state {
                State::Command(mut receiver) => {
                    let parsed = receiver.ingest(&mut iter).map(Request::into_owned);
                    self.state = State::Command(receiver);
                    match parsed {
                        Ok(request) => self.command(request).await,
                        Err(WireError::NeedsMoreData { .. }) => Next::Continue,
                        Err(e) => self.wire_error(e),
                    }
                }
                State::Data(mut receiver, mut message) => {
                    if receiver.ingest(&mut iter, &mut message) {
                        self.data_done(message).await
                    } else if message.len() > self.config.max_message_size {
                        self.state = State::TooLarge(DummyDataReceiver::new_data(&receiver));
                        Next::Continue
                    } else {
                        self.state = State::Data(receiver, message);
                        Next::Continue
                    }
                }
                State::TooLarge(mut receiver) => {
                    if receiver.ingest(&mut iter) {
                        self.reset_transaction();
                        self.reply("552 5.3.4 Message too big");
                    } else {
                        self.state = State::TooLarge(receiver);
                    }
                    Next::Continue
                }
                State::Auth(step, mut line) => match take_line(&mut iter, &mut line) {
                    Some(false) => {
                        self.state = State::Auth(step, line);
                        Next::Continue
                    }
                    Some(true) => self.auth_continue(step, line).await,
                    None => {
                        self.state = State::SkipLine(DummyLineReceiver::default());
                        self.reply("500 5.5.6 Authentication line too long");
                        Next::Continue
                    }
                },
                State::SkipLine(mut receiver) => {
                    if !receiver.ingest(&mut iter) {
                        self.state = State::SkipLine(receiver);
                    }
                    Next::Continue
                }
            };
            if !matches!(next, Next::Continue) {
                return next;
            }
        }
        Next::Continue
    }

    fn wire_error(&mut self, error: WireError) -> Next {
        let text = match error {
            WireError::UnknownCommand => "500 5.5.1 Unknown command".into(),
            WireError::InvalidSenderAddress => "501 5.1.7 Bad sender address syntax".into(),
            WireError::InvalidRecipientAddress => "501 5.1.3 Bad recipient address syntax".into(),
            WireError::SyntaxError { syntax } => format!("501 5.5.2 Syntax: {syntax}"),
            WireError::InvalidParameter { param } => format!("501 5.5.4 Invalid parameter {param}"),
            WireError::UnsupportedParameter { param } => {
                format!("504 5.5.4 Unsupported parameter {}", param.escape_default())
            }
            WireError::ResponseTooLong => "500 5.5.2 Line too long".into(),
            WireError::NeedsMoreData { .. } | WireError::InvalidResponse { .. } => {
                "500 5.5.2 Syntax error".into()
            }
        };
        self.reply(&text);
        self.count_error()
    }

    fn count_error(&mut self) -> Next {
        self.errors += 1;
        if self.errors >= self.config.max_errors {
            self.reply("421 4.7.0 Too many errors, closing");
            tracing::info!(peer = %self.peer, "smtp: closed after too many errors");
            return Next::Close;
        }
        Next::Continue
    }

    fn reset_transaction(&mut self) {
        self.mail_from = None;
        self.recipients.clear();
    }

    fn auth_allowed(&self) -> bool {
        self.tls || self.config.allow_plaintext_auth
    }

    async fn command(&mut self, request: Request<String>) -> Next {
        match request {
            Request::Ehlo { host } => {
                self.greeted = true;
                self.reset_transaction();
                self.ehlo(&host);
                Next::Continue
            }
            Request::Helo { host } => {
                self.greeted = true;
                self.reset_transaction();
                self.reply(&format!(
                    "250 {} greets {}",
                    self.config.hostname,
                    host.escape_default()
                ));
                Next::Continue
            }
            Request::StartTls => self.starttls(),
            Request::Auth {
                mechanism,
                initial_response,
            } => self.auth(mechanism, &initial_response).await,
            Request::Mail { from } => self.mail(from.address, from.size),
            Request::Rcpt { to } => self.rcpt(to.address).await,
            Request::Data => self.data(),
            Request::Rset => {
                self.reset_transaction();
                self.reply("250 2.0.0 OK");
                Next::Continue
            }
            Request::Noop { .. } => {
                self.reply("250 2.0.0 OK");
                Next::Continue
            }
            Request::Quit => {
                self.reply("221 2.0.0 Bye");
                Next::Close
            }
            Request::Vrfy { .. } => {
                self.reply("252 2.5.0 Cannot verify, send and see");
                Next::Continue
            }
            other => {
                self.reply(&format!("502 5.5.1 {} not implemented", other.name()));
                self.count_error()
            }
        }
    }

    fn ehlo(&mut self, host: &str) {
        let mut lines = vec![format!(
            "{} greets {}",
            self.config.hostname,
            host.escape_default()
        )];
        lines.push("PIPELINING".into());
        lines.push(format!("SIZE {}", self.config.max_message_size));
        lines.push("8BITMIME".into());
        lines.push("ENHANCEDSTATUSCODES".into());
        if !self.tls && self.config.tls.is_some() {
            lines.push("STARTTLS".into());
        }
        if self.auth_allowed() {
            lines.push("AUTH PLAIN LOGIN".into());
        }
        let last = lines.len() - 1;
        for (i, line) in lines.iter().enumerate() {
            let sep = if i == last { ' ' } else { '-' };
            self.out
                .extend_from_slice(format!("250{sep}{line}\r\n").as_bytes());
        }
    }

    fn starttls(&mut self) -> Next {
        if self.tls {
            self.reply("503 5.5.1 Already in TLS");
            return self.count_error();
        }
        if self.config.tls.is_none() {
            self.reply("454 4.7.0 TLS not available");
            return Next::Continue;
        }
        self.reply("220 2.0.0 Ready to start TLS");
        Next::StartTls
    }

    async fn auth(&mut self, mechanism: u64, initial: &str) -> Next {
        if !self.auth_allowed() {
            self.reply("538 5.7.11 Encryption required for requested authentication mechanism");
            return self.count_error();
        }
        if self.account.is_some() {
            self.reply("503 5.5.1 Already authenticated");
            return self.count_error();
        }
        if self.mail_from.is_some() {
            self.reply("503 5.5.1 AUTH not allowed during a mail transaction");
            return self.count_error();
        }
        match mechanism {
            AUTH_PLAIN if initial.is_empty() => {
                self.reply("334 ");
                self.state = State::Auth(AuthStep::Plain, Vec::new());
                Next::Continue
            }
            AUTH_PLAIN => self.auth_plain(initial).await,
            AUTH_LOGIN if initial.is_empty() => {
                self.reply("334 VXNlcm5hbWU6");
                self.state = State::Auth(AuthStep::LoginUser, Vec::new());
                Next::Continue
            }
            AUTH_LOGIN => match decode(initial) {
                Some(user) => {
                    self.reply("334 UGFzc3dvcmQ6");
                    self.state = State::Auth(AuthStep::LoginPassword(user), Vec::new());
                    Next::Continue
                }
                None => self.auth_syntax(),
            },
            _ => {
                self.reply("504 5.5.4 Mechanism not supported");
                self.count_error()
            }
        }
    }

    async fn auth_continue(&mut self, step: AuthStep, line: Vec<u8>) -> Next {
        let line = String::from_utf8_lossy(&line).trim().to_owned();
        if line == "*" {
            self.reply("501 5.0.0 Authentication cancelled");
            return Next::Continue;
        }
        match step {
            AuthStep::Plain => self.auth_plain(&line).await,
            AuthStep::LoginUser => match decode(&line) {
                Some(user) => {
                    self.reply("334 UGFzc3dvcmQ6");
                    self.state = State::Auth(AuthStep::LoginPassword(user), Vec::new());
                    Next::Continue
                }
                None => self.auth_syntax(),
            },
            AuthStep::LoginPassword(user) => match decode(&line) {
                Some(password) => self.login(&user, &password).await,
                None => self.auth_syntax(),
            },
        }
    }

    fn auth_syntax(&mut self) -> Next {
        self.reply("501 5.5.2 Invalid Base64 in authentication");
        self.count_error()
    }

    /// RFC 4616, decoded as POP3 does (`kx_listen::sasl`).
    async fn auth_plain(&mut self, response: &str) -> Next {
        match kx_listen::sasl::decode_plain(response.as_bytes()) {
            Ok(credentials) => self.login(&credentials.user, &credentials.password).await,
            Err(_) => self.auth_syntax(),
        }
    }

    async fn login(&mut self, user: &str, password: &str) -> Next {
        match self.service.authenticate(user, password, self.peer).await {
            AuthOutcome::Authenticated(account) => {
                tracing::info!(peer = %self.peer, %account, "smtp: authenticated");
                self.account = Some(account);
                self.reply("235 2.7.0 Authentication successful");
                Next::Continue
            }
            AuthOutcome::Rejected | AuthOutcome::LockedOut => {
                self.auth_failures += 1;
                tracing::info!(peer = %self.peer, "smtp: authentication failed");
                self.reply("535 5.7.8 Authentication credentials invalid");
                if self.auth_failures >= self.config.max_auth_failures {
                    self.reply("421 4.7.0 Too many authentication failures, closing");
                    return Next::Close;
                }
                Next::Continue
            }
        }
    }

    fn mail(&mut self, address: String, size: usize) -> Next {
        if !self.greeted {
            self.reply("503 5.5.1 Send EHLO first");
            return self.count_error();
        }
        let Some(account) = &self.account else {
            self.reply("530 5.7.0 Authentication required");
            return self.count_error();
        };
        if self.mail_from.is_some() {
            self.reply("503 5.5.1 Sender already given");
            return self.count_error();
        }
        if size > self.config.max_message_size {
            self.reply("552 5.3.4 Message too big");
            return Next::Continue;
        }
        if !self.service.sender_allowed(account, &address) {
            self.reply("550 5.7.1 Sender address is not the authenticated account's");
            return self.count_error();
        }
        self.mail_from = Some(address);
        self.reply("250 2.1.0 Sender OK");
        Next::Continue
    }

    async fn rcpt(&mut self, address: String) -> Next {
        let (Some(account), Some(_)) = (&self.account, &self.mail_from) else {
            self.reply("503 5.5.1 MAIL first");
            return self.count_error();
        };
        if self.recipients.len() >= self.config.max_recipients {
            self.reply("452 4.5.3 Too many recipients");
            return Next::Continue;
        }
        if !self.service.recipient_allowed(account, &address).await {
            self.reply("550 5.1.1 Recipient not accepted here");
            return self.count_error();
        }
        self.recipients.push(address);
        self.reply("250 2.1.5 Recipient OK");
        Next::Continue
    }

    fn data(&mut self) -> Next {
        if self.recipients.is_empty() {
            self.reply("503 5.5.1 RCPT first");
            return self.count_error();
        }
        self.reply("354 Start mail input; end with <CRLF>.<CRLF>");
        self.state = State::Data(DataReceiver::new(), Vec::new());
        Next::Continue
    }

    async fn data_done(&mut self, message: Vec<u8>) -> Next {
        let (Some(account), Some(mail_from)) = (self.account.clone(), self.mail_from.take()) else {
            self.reply("503 5.5.1 No transaction");
            return Next::Continue;
        };
        let submission = Submission {
            account,
            peer: self.peer,
            mail_from,
            recipients: std::mem::take(&mut self.recipients),
            message,
        };
        match self.service.submit(submission).await {
            SubmitOutcome::Accepted(text) => self.reply(&format!("250 2.0.0 {text}")),
            SubmitOutcome::Refused { code, status, text } => {
                let [a, b, c] = status;
                self.reply(&format!("{code} {a}.{b}.{c} {text}"));
            }
            SubmitOutcome::TryLater => {
                self.reply("451 4.3.0 Cannot store the message now, try again later")
            }
        }
        Next::Continue
    }
}

/// Collects an AUTH continuation line: `Some(true)` when complete, `Some(false)` when more is
/// needed, `None` when it is too long.
fn take_line(iter: &mut std::slice::Iter<'_, u8>, line: &mut Vec<u8>) -> Option<bool> {
    let rest = iter.as_slice();
    match rest.iter().position(|&b| b == b'\n') {
        Some(pos) => {
            line.extend_from_slice(&rest[..pos]);
            *iter = rest[pos + 1..].iter();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            (line.len() <= MAX_AUTH_LINE).then_some(true)
        }
        None => {
            line.extend_from_slice(rest);
            *iter = [].iter();
            (line.len() <= MAX_AUTH_LINE).then_some(false)
        }
    }
}

fn decode(text: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_lines() {
        let mut line = Vec::new();
        let mut iter = b"abc".iter();
        assert_eq!(take_line(&mut iter, &mut line), Some(false));
        let mut iter = b"def\r\nrest".iter();
        assert_eq!(take_line(&mut iter, &mut line), Some(true));
        assert_eq!(line, b"abcdef");
        assert_eq!(iter.as_slice(), b"rest");
        let long = vec![b'a'; MAX_AUTH_LINE + 1];
        assert_eq!(take_line(&mut long.iter(), &mut Vec::new()), None);
    }

    #[test]
    fn base64_text() {
        assert_eq!(decode("VXNlcm5hbWU6").as_deref(), Some("Username:"));
        assert_eq!(decode("!!"), None);
    }
}

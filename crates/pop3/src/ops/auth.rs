//! USER, PASS and AUTH PLAIN (RFC 1939 §7, RFC 5034), and what a login leads to.

use crate::backend::{AuditEvent, AuthOutcome, Backend, LockError};
use crate::error::SessionError;
use crate::request::Secret;
use crate::response::Response;
use crate::session::{Flow, Mailbox, Pending, Session, SessionStream, State};

impl<B: Backend, T: SessionStream> Session<B, T> {
    pub(crate) fn handle_user(&mut self, name: String) -> Result<Flow, SessionError> {
        // Always +OK: whether the name exists is not for the client to learn.
        self.set_pending(Pending::User(name));
        self.ok("Send PASS", Flow::Continue)
    }

    pub(crate) async fn handle_pass(&mut self, password: Secret) -> Result<Flow, SessionError> {
        match self.take_pending() {
            Pending::User(name) => self.login(name, password).await,
            _ => Err(SessionError::NotAllowed("USER first")),
        }
    }

    pub(crate) async fn handle_auth(
        &mut self,
        mechanism: Option<String>,
        initial_response: Option<Secret>,
    ) -> Result<Flow, SessionError> {
        self.take_pending();
        match (mechanism.as_deref(), initial_response) {
            (None, _) => {
                let lines = vec!["PLAIN".to_owned()];
                Response::Lines("SASL mechanisms".into(), lines).write(&mut self.out);
                Ok(Flow::Continue)
            }
            (Some("PLAIN"), None) => {
                self.set_pending(Pending::SaslPlain);
                Response::Continue.write(&mut self.out);
                Ok(Flow::Continue)
            }
            (Some("PLAIN"), Some(Secret(response))) => {
                // RFC 5034 §4: "=" stands for an empty initial response.
                let response = if response == "=" { "" } else { &response };
                self.plain(response.as_bytes()).await
            }
            (Some(_), _) => Err(SessionError::UnsupportedMechanism),
        }
    }

    /// The line after `+ `: the PLAIN response, or `*` to cancel.
    pub(crate) async fn handle_sasl_response(&mut self, line: &[u8]) -> Result<Flow, SessionError> {
        self.take_pending();
        if line == b"*" {
            return Err(SessionError::SaslCancelled);
        }
        self.plain(line).await
    }

    /// Drops a login step in progress (after an unreadable SASL line).
    pub(crate) fn cancel_pending(&mut self) {
        self.take_pending();
    }

    /// Decodes the PLAIN response (RFC 4616, `kx_listen::sasl`) and logs in as its authcid.
    async fn plain(&mut self, base64: &[u8]) -> Result<Flow, SessionError> {
        let credentials =
            kx_listen::sasl::decode_plain(base64).map_err(|_| SessionError::SaslMalformed)?;
        self.login(credentials.user, Secret(credentials.password))
            .await
    }

    /// Checks the credentials, then locks and snapshots the maildrop.
    async fn login(&mut self, user: String, password: Secret) -> Result<Flow, SessionError> {
        let source = self.peer.ip();
        let account = match self
            .backend
            .authenticate(&user, &password.0, source)
            .await?
        {
            AuthOutcome::Authenticated(account) => account,
            AuthOutcome::Busy => {
                tracing::info!(user, "login busy");
                return Err(SessionError::Busy);
            }
            outcome => {
                let locked_out = matches!(outcome, AuthOutcome::LockedOut);
                let event = AuditEvent::LoginFailed {
                    user: &user,
                    source,
                    locked_out,
                };
                self.backend.record(event).await;
                tracing::info!(user, locked_out, "login failed");
                let failures = match &mut self.state {
                    State::Authorization { failures, .. } => {
                        *failures += 1;
                        *failures
                    }
                    _ => 0,
                };
                tokio::time::sleep(self.config.auth_failure_delay).await;
                let disconnect = failures >= self.config.max_auth_failures;
                return Err(SessionError::AuthFailed { disconnect });
            }
        };
        let event = AuditEvent::LoginSucceeded {
            user: &user,
            source,
        };
        self.backend.record(event).await;
        let lock = self
            .backend
            .lock(&account)
            .await
            .map_err(|error| match error {
                LockError::InUse => SessionError::InUse,
                LockError::Backend(error) => error.into(),
            })?;
        let messages = match self.backend.list(&lock).await {
            Ok(messages) => messages,
            Err(error) => {
                self.backend.unlock(lock).await;
                return Err(error.into());
            }
        };
        tracing::info!(user, messages = messages.len(), "logged in");
        let mailbox = Mailbox {
            user,
            lock,
            deleted: vec![false; messages.len()],
            messages,
        };
        let text = format!("Maildrop has {}", mailbox.describe());
        self.state = State::Transaction(mailbox);
        self.ok(&text, Flow::Continue)
    }

    fn set_pending(&mut self, next: Pending) {
        if let State::Authorization { pending, .. } = &mut self.state {
            *pending = next;
        }
    }

    fn take_pending(&mut self) -> Pending {
        match &mut self.state {
            State::Authorization { pending, .. } => std::mem::take(pending),
            _ => Pending::Nothing,
        }
    }
}

//! AUTH PLAIN (RFC 4616, decoded as POP3 does by `kx_listen::sasl`) and AUTH LOGIN.

use std::slice::Iter;

use base64::Engine as _;
use smtp_proto::{AUTH_LOGIN, AUTH_PLAIN};
use tokio::io::{AsyncRead, AsyncWrite};

use super::{AuthStep, Flow, Session, State};
use crate::line::{Line, MAX_AUTH_LINE};
use crate::reply::Reply;
use crate::{AuthOutcome, SubmissionService};

impl<T: AsyncRead + AsyncWrite + Unpin + Send, G: SubmissionService> Session<'_, T, G> {
    /// The gate admits AUTH only in `Greeted`, and only where AUTH is offered.
    pub(super) async fn auth(&mut self, mechanism: u64, initial: &str) -> Flow {
        match mechanism {
            AUTH_PLAIN if initial.is_empty() => {
                self.challenge(AuthStep::Plain, &Reply::PLAIN_CHALLENGE)
            }
            AUTH_PLAIN => self.auth_plain(initial).await,
            AUTH_LOGIN if initial.is_empty() => {
                self.challenge(AuthStep::LoginUser, &Reply::LOGIN_USER_CHALLENGE)
            }
            AUTH_LOGIN => self.login_user(initial),
            _ => self.fail(Reply::MECHANISM_UNSUPPORTED),
        }
    }

    fn challenge(&mut self, step: AuthStep, reply: &Reply) -> Flow {
        self.state = State::Auth(step);
        self.reply(reply);
        Flow::Continue
    }

    /// The client's answer to a `334` challenge.
    pub(super) async fn read_auth_line(
        &mut self,
        step: AuthStep,
        bytes: &mut Iter<'_, u8>,
    ) -> Flow {
        let line = match self.lines.take(bytes, MAX_AUTH_LINE) {
            None => {
                self.state = State::Auth(step);
                return Flow::Continue;
            }
            Some(Line::TooLong) => None,
            Some(Line::Complete(line)) => Some(String::from_utf8_lossy(line).trim().to_owned()),
        };
        // Whatever the line says, the exchange is over unless it asks for another line.
        self.state = State::Greeted;
        let Some(line) = line else {
            return self.fail(Reply::AUTH_LINE_TOO_LONG);
        };
        if line == "*" {
            self.reply(&Reply::AUTH_CANCELLED);
            return Flow::Continue;
        }
        match step {
            AuthStep::Plain => self.auth_plain(&line).await,
            AuthStep::LoginUser => self.login_user(&line),
            AuthStep::LoginPassword(user) => match decode(&line) {
                Some(password) => self.login(&user, &password).await,
                None => self.fail(Reply::BAD_BASE64),
            },
        }
    }

    async fn auth_plain(&mut self, response: &str) -> Flow {
        match kx_listen::sasl::decode_plain(response.as_bytes()) {
            Ok(credentials) => self.login(&credentials.user, &credentials.password).await,
            Err(_) => self.fail(Reply::BAD_BASE64),
        }
    }

    fn login_user(&mut self, response: &str) -> Flow {
        match decode(response) {
            Some(user) => self.challenge(
                AuthStep::LoginPassword(user),
                &Reply::LOGIN_PASSWORD_CHALLENGE,
            ),
            None => self.fail(Reply::BAD_BASE64),
        }
    }

    async fn login(&mut self, user: &str, password: &str) -> Flow {
        match self.service.authenticate(user, password, self.peer).await {
            AuthOutcome::Authenticated(account) => {
                tracing::info!(peer = %self.peer, %account, "smtp: authenticated");
                self.state = State::Ready { account };
                self.reply(&Reply::AUTHENTICATED);
                Flow::Continue
            }
            AuthOutcome::Rejected | AuthOutcome::LockedOut => {
                self.auth_failures += 1;
                tracing::info!(peer = %self.peer, "smtp: authentication failed");
                self.reply(&Reply::BAD_CREDENTIALS);
                if self.auth_failures >= self.config.max_auth_failures {
                    self.reply(&Reply::TOO_MANY_AUTH_FAILURES);
                    return Flow::Close;
                }
                Flow::Continue
            }
            AuthOutcome::Busy => {
                tracing::info!(peer = %self.peer, "smtp: authentication busy");
                self.reply(&Reply::AUTH_BUSY);
                Flow::Continue
            }
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
    use super::decode;

    #[test]
    fn base64_text() {
        assert_eq!(decode("VXNlcm5hbWU6").as_deref(), Some("Username:"));
        assert_eq!(decode("!!"), None);
    }
}

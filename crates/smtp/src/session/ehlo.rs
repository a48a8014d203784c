//! HELO, EHLO and STARTTLS (RFC 5321 §4.1.1.1, RFC 3207).

use tokio::io::{AsyncRead, AsyncWrite};

use super::{Flow, Session, State};
use crate::SubmissionService;
use crate::reply::{Ehlo, Reply};

impl<T: AsyncRead + AsyncWrite + Unpin + Send, G: SubmissionService> Session<'_, T, G> {
    pub(super) fn ehlo(&mut self, client: &str) -> Flow {
        self.greeted();
        let ehlo = Ehlo {
            hostname: &self.config.hostname,
            client,
            max_message_size: self.config.max_message_size,
            starttls: !self.tls && self.config.tls.is_some(),
            auth: self.auth_offered(),
        };
        ehlo.write(&mut self.out);
        Flow::Continue
    }

    pub(super) fn helo(&mut self, client: &str) -> Flow {
        self.greeted();
        self.reply(&Reply::helo(&self.config.hostname, client));
        Flow::Continue
    }

    /// A greeting ends the mail transaction under way; an AUTH already done still holds.
    fn greeted(&mut self) {
        self.state = match std::mem::replace(&mut self.state, State::Connected) {
            State::Connected => State::Greeted,
            state => state.without_transaction(),
        };
    }

    pub(super) fn starttls(&mut self) -> Flow {
        if self.config.tls.is_none() {
            self.reply(&Reply::TLS_UNAVAILABLE);
            return Flow::Continue;
        }
        self.reply(&Reply::READY_FOR_TLS);
        Flow::StartTls
    }
}

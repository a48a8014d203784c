//! MAIL, RCPT and RSET: the envelope of a mail transaction.

use tokio::io::{AsyncRead, AsyncWrite};

use super::{Envelope, Flow, Session, State};
use crate::SubmissionService;
use crate::reply::Reply;

impl<T: AsyncRead + AsyncWrite + Unpin + Send, G: SubmissionService> Session<'_, T, G> {
    /// The gate admits MAIL only in `Ready`.
    pub(super) fn mail(&mut self, from: String, size: usize) -> Flow {
        if size > self.config.max_message_size {
            self.reply(&Reply::MESSAGE_TOO_BIG);
            return Flow::Continue;
        }
        let State::Ready { account } = &self.state else {
            return self.fail(Reply::SENDER_GIVEN);
        };
        if !self.service.sender_allowed(account, &from) {
            return self.fail(Reply::SENDER_REFUSED);
        }
        self.state = State::Mail {
            account: account.clone(),
            envelope: Envelope {
                from,
                recipients: Vec::new(),
            },
        };
        self.reply(&Reply::SENDER_OK);
        Flow::Continue
    }

    /// The gate admits RCPT only in `Mail`.
    pub(super) async fn rcpt(&mut self, to: String) -> Flow {
        let State::Mail { account, envelope } = &mut self.state else {
            return self.fail(Reply::MAIL_FIRST);
        };
        if envelope.recipients.len() >= self.config.max_recipients {
            self.reply(&Reply::TOO_MANY_RECIPIENTS);
            return Flow::Continue;
        }
        if !self.service.recipient_allowed(account, &to).await {
            return self.fail(Reply::RECIPIENT_REFUSED);
        }
        envelope.recipients.push(to);
        self.reply(&Reply::RECIPIENT_OK);
        Flow::Continue
    }

    pub(super) fn rset(&mut self) -> Flow {
        self.state = std::mem::replace(&mut self.state, State::Connected).without_transaction();
        self.reply(&Reply::OK);
        Flow::Continue
    }
}

//! DATA: reading the message (dot-unstuffed, up to the size limit) and handing it in.

use std::slice::Iter;

use smtp_proto::request::receiver::{DataReceiver, DummyDataReceiver};
use tokio::io::{AsyncRead, AsyncWrite};

use super::{Flow, Session, State, Transfer};
use crate::reply::Reply;
use crate::{Submission, SubmissionService};

impl<T: AsyncRead + AsyncWrite + Unpin + Send, G: SubmissionService> Session<'_, T, G> {
    /// The gate admits DATA only in `Mail` with a recipient.
    pub(super) fn data(&mut self) -> Flow {
        match std::mem::replace(&mut self.state, State::Connected) {
            State::Mail { account, envelope } if !envelope.recipients.is_empty() => {
                self.state = State::Data(Transfer {
                    account,
                    envelope,
                    receiver: DataReceiver::new(),
                    message: Vec::new(),
                });
                self.reply(&Reply::START_INPUT);
                Flow::Continue
            }
            state => {
                self.state = state;
                self.fail(Reply::RCPT_FIRST)
            }
        }
    }

    pub(super) async fn read_message(
        &mut self,
        mut transfer: Transfer<G::Account>,
        bytes: &mut Iter<'_, u8>,
    ) -> Flow {
        let done = transfer.receiver.ingest(bytes, &mut transfer.message);
        // Until the end is seen, the buffer may hold the CR of the final CRLF, which the
        // receiver takes back when the LF comes. Checked with or without the end: how the
        // client's bytes were split must not decide whether a message is too large.
        let limit = self.config.max_message_size + usize::from(!done);
        if transfer.message.len() > limit {
            let receiver = DummyDataReceiver::new_data(&transfer.receiver);
            return self.oversized(transfer.account, receiver, done);
        }
        if !done {
            self.state = State::Data(transfer);
            return Flow::Continue;
        }
        self.state = State::Ready {
            account: transfer.account.clone(),
        };
        let submission = Submission {
            account: transfer.account,
            peer: self.peer,
            mail_from: transfer.envelope.from,
            recipients: transfer.envelope.recipients,
            message: transfer.message,
        };
        let reply = Reply::submitted(self.service.submit(submission).await);
        count_answer(&reply);
        self.reply(&reply);
        Flow::Continue
    }

    pub(super) fn skip_message(
        &mut self,
        account: G::Account,
        mut receiver: DummyDataReceiver,
        bytes: &mut Iter<'_, u8>,
    ) -> Flow {
        let done = receiver.ingest(bytes);
        self.oversized(account, receiver, done)
    }

    /// An oversized message is read to its end, then refused; the transaction is over.
    fn oversized(&mut self, account: G::Account, receiver: DummyDataReceiver, done: bool) -> Flow {
        if done {
            self.state = State::Ready { account };
            count_answer(&Reply::MESSAGE_TOO_BIG);
            self.reply(&Reply::MESSAGE_TOO_BIG);
        } else {
            self.state = State::TooLarge { account, receiver };
        }
        Flow::Continue
    }
}

/// Counts the answer to a whole message (`kx_web::monitor` lists the metrics): 250 is an
/// accepted message, any other code a refused one, labelled with its reply code.
fn count_answer(reply: &Reply) {
    match reply.code() {
        250 => metrics::counter!("kx_messages_accepted_total").increment(1),
        code => {
            metrics::counter!("kx_messages_refused_total", "code" => code.to_string()).increment(1);
        }
    }
}

//! The TRANSACTION state (RFC 1939 §5): STAT, LIST, UIDL, RETR, TOP, DELE, RSET, and QUIT,
//! which enters UPDATE and is the only way anything gets deleted.

use crate::backend::{AuditEvent, Backend, Entry};
use crate::error::SessionError;
use crate::response::{DotStuffer, Response, ResponseCode, top};
use crate::session::{Flow, Session, SessionStream, State};

impl<B: Backend, T: SessionStream> Session<B, T> {
    pub(crate) fn handle_stat(&mut self) -> Result<Flow, SessionError> {
        let (count, size) = self.state.mailbox()?.summary();
        self.ok(&format!("{count} {size}"), Flow::Continue)
    }

    pub(crate) fn handle_list(&mut self, msg: Option<u32>) -> Result<Flow, SessionError> {
        self.scan_listing(msg, |entry| entry.size.to_string())
    }

    pub(crate) fn handle_uidl(&mut self, msg: Option<u32>) -> Result<Flow, SessionError> {
        self.scan_listing(msg, |entry| entry.uid.as_str().to_owned())
    }

    /// LIST and UIDL: `+OK n value` for one message, or a multi-line listing of all that are
    /// not marked as deleted.
    fn scan_listing(
        &mut self,
        msg: Option<u32>,
        value: impl Fn(&Entry<B::MessageId>) -> String,
    ) -> Result<Flow, SessionError> {
        let mailbox = self.state.mailbox()?;
        let response = match msg {
            Some(msg) => {
                let (_, entry) = mailbox.entry(msg)?;
                Response::Ok(format!("{msg} {}", value(entry)).into())
            }
            None => {
                let lines = mailbox
                    .visible()
                    .map(|(msg, entry)| format!("{msg} {}", value(entry)))
                    .collect();
                Response::Lines(mailbox.describe().into(), lines)
            }
        };
        response.write(&mut self.out);
        Ok(Flow::Continue)
    }

    /// RETR (`top_lines` is `None`) and TOP.
    pub(crate) async fn handle_fetch(
        &mut self,
        msg: u32,
        top_lines: Option<u32>,
    ) -> Result<Flow, SessionError> {
        let mailbox = self.state.mailbox()?;
        let (_, entry) = mailbox.entry(msg)?;
        let message = self.backend.fetch(&mailbox.lock, &entry.id).await?;
        let event = AuditEvent::Read {
            user: &mailbox.user,
            uid: entry.uid.as_str(),
            top_lines,
        };
        self.backend.record(event).await;
        let body = match top_lines {
            Some(lines) => top(&message, lines),
            None => &message,
        };
        Response::Ok(format!("{} octets", body.len()).into()).write(&mut self.out);
        let mut stuffer = DotStuffer::default();
        stuffer.push(body, &mut self.out);
        stuffer.finish(&mut self.out);
        Ok(Flow::Continue)
    }

    pub(crate) fn handle_dele(&mut self, msg: u32) -> Result<Flow, SessionError> {
        let mailbox = self.state.mailbox()?;
        let (index, _) = mailbox.entry(msg)?;
        mailbox.deleted[index] = true;
        self.ok(
            &format!("Message {msg} marked for deletion"),
            Flow::Continue,
        )
    }

    pub(crate) fn handle_rset(&mut self) -> Result<Flow, SessionError> {
        let mailbox = self.state.mailbox()?;
        mailbox.deleted.fill(false);
        let text = format!("Maildrop has {}", mailbox.describe());
        self.ok(&text, Flow::Continue)
    }

    /// QUIT: in TRANSACTION, deletes what DELE marked and releases the maildrop before
    /// replying, so a client that reconnects at once finds it unlocked.
    pub(crate) async fn handle_quit(&mut self) -> Result<Flow, SessionError> {
        let State::Transaction(mailbox) = std::mem::replace(&mut self.state, State::Closed) else {
            return self.ok("kxd POP3 server signing off", Flow::Close);
        };
        let (ids, uids): (Vec<_>, Vec<_>) = mailbox
            .messages
            .iter()
            .zip(&mailbox.deleted)
            .filter(|(_, deleted)| **deleted)
            .map(|(entry, _)| (entry.id.clone(), entry.uid.as_str()))
            .unzip();
        let deleted = if ids.is_empty() {
            Ok(())
        } else {
            self.backend.delete(&mailbox.lock, &ids).await
        };
        let (left, _) = mailbox.summary();
        let response = match deleted {
            Ok(()) => {
                if !uids.is_empty() {
                    tracing::info!(user = %mailbox.user, deleted = uids.len(), "deleted at QUIT");
                    let event = AuditEvent::Deleted {
                        user: &mailbox.user,
                        uids,
                    };
                    self.backend.record(event).await;
                }
                Response::Ok(format!("kxd POP3 server signing off ({left} messages left)").into())
            }
            Err(error) => {
                tracing::warn!(user = %mailbox.user, %error, "deletion at QUIT failed");
                let text = "Some deleted messages were not removed";
                Response::Err(Some(ResponseCode::SysTemp), text.into())
            }
        };
        self.backend.unlock(mailbox.lock).await;
        response.write(&mut self.out);
        Ok(Flow::Close)
    }
}

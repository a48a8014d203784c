//! NOOP, QUIT, VRFY, and the commands kxd knows but does not offer.

use tokio::io::{AsyncRead, AsyncWrite};

use super::{Flow, Session};
use crate::SubmissionService;
use crate::reply::Reply;

impl<T: AsyncRead + AsyncWrite + Unpin + Send, G: SubmissionService> Session<'_, T, G> {
    pub(super) fn noop(&mut self) -> Flow {
        self.reply(&Reply::OK);
        Flow::Continue
    }

    pub(super) fn quit(&mut self) -> Flow {
        self.reply(&Reply::BYE);
        Flow::Close
    }

    /// Submission has no use for address verification (RFC 5321 §3.5.3 allows 252).
    pub(super) fn vrfy(&mut self) -> Flow {
        self.reply(&Reply::CANNOT_VERIFY);
        Flow::Continue
    }

    pub(super) fn not_implemented(&mut self, verb: &str) -> Flow {
        self.fail(Reply::not_implemented(verb))
    }
}

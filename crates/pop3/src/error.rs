//! Everything that can go wrong with one command, and what the client is told about it.

use std::borrow::Cow;

use kx_listen::Overdue;

use super::backend::BackendError;
use super::request::RequestError;
use super::response::{Response, ResponseCode};

/// A command that failed, or a connection that broke.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SessionError {
    /// The login failed (wrong credentials, unknown user or lock-out: the client cannot tell).
    #[error("authentication failed")]
    AuthFailed {
        /// Too many failures: the session ends after the reply.
        disconnect: bool,
    },
    /// The store failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The backend's password checks are all busy: nothing was checked or counted.
    #[error("password checks busy")]
    Busy,
    /// The maildrop is locked by another session.
    #[error("maildrop in use")]
    InUse,
    /// The connection broke or timed out while writing.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// DELE, LIST, RETR, TOP or UIDL named a message marked as deleted.
    #[error("message deleted")]
    MessageDeleted,
    /// A message number beyond the maildrop.
    #[error("no such message")]
    NoSuchMessage,
    /// The command is not allowed now; the text says why.
    #[error("not allowed: {0}")]
    NotAllowed(&'static str),
    /// USER, PASS or AUTH over a connection without TLS.
    #[error("plaintext authentication refused")]
    PlaintextAuth,
    /// A line that is not a valid command.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The client cancelled the SASL exchange with `*`.
    #[error("authentication cancelled")]
    SaslCancelled,
    /// The SASL response is not valid base64 of `authzid NUL authcid NUL passwd`.
    #[error("malformed SASL response")]
    SaslMalformed,
    /// The client missed a deadline: silent too long, or a command line not complete in
    /// time.
    #[error(transparent)]
    TooSlow(#[from] Overdue),
    /// A SASL mechanism other than PLAIN.
    #[error("unsupported SASL mechanism")]
    UnsupportedMechanism,
}

impl SessionError {
    /// The reply, if the connection can still carry one.
    pub(crate) fn response(&self) -> Option<Response<'static>> {
        let (code, text): (Option<ResponseCode>, Cow<'static, str>) = match self {
            SessionError::AuthFailed { .. } => {
                (Some(ResponseCode::Auth), "Authentication failed".into())
            }
            SessionError::Backend(_) => (
                Some(ResponseCode::SysTemp),
                "Temporary failure, try again later".into(),
            ),
            SessionError::Busy => (
                Some(ResponseCode::SysTemp),
                "Server busy, try again later".into(),
            ),
            SessionError::InUse => (
                Some(ResponseCode::InUse),
                "Maildrop is locked by another session".into(),
            ),
            SessionError::Io(_) => return None,
            SessionError::MessageDeleted => (None, "Message is deleted".into()),
            SessionError::NoSuchMessage => (None, "No such message".into()),
            SessionError::NotAllowed(why) => (None, (*why).into()),
            SessionError::PlaintextAuth => (
                Some(ResponseCode::Auth),
                "Plaintext authentication requires TLS: use STLS first".into(),
            ),
            SessionError::Request(RequestError::NeedsMoreData) => return None,
            SessionError::Request(RequestError::LineTooLong) => (None, "Line too long".into()),
            SessionError::Request(RequestError::UnknownCommand) => (None, "Unknown command".into()),
            SessionError::Request(RequestError::Syntax { syntax }) => {
                (None, format!("Syntax: {syntax}").into())
            }
            SessionError::SaslCancelled => (None, "Authentication cancelled".into()),
            SessionError::SaslMalformed => (None, "Malformed SASL response".into()),
            // RFC 1939 §3: an idle session is closed without a word.
            SessionError::TooSlow(Overdue::Idle) => return None,
            SessionError::TooSlow(_) => (None, "Command not completed in time, closing".into()),
            SessionError::UnsupportedMechanism => (
                None,
                "Unsupported SASL mechanism; PLAIN is supported".into(),
            ),
        };
        Some(Response::Err(code, text))
    }

    /// Whether the session must end after this error.
    pub(crate) fn must_disconnect(&self) -> bool {
        matches!(
            self,
            SessionError::AuthFailed { disconnect: true }
                | SessionError::Io(_)
                | SessionError::TooSlow(_)
        )
    }
}

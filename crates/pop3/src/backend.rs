//! What the POP3 server needs from the rest of the gateway: credentials, maildrops and the
//! audit log. The server owns no storage; the gateway implements [`Backend`] over `kx-store`.

use std::future::Future;
use std::net::IpAddr;

/// A failure of the store behind the server. The client only learns that the failure is
/// temporary (`-ERR [SYS/TEMP]`); the text goes to the server log, so it must not hold message
/// contents or passwords.
#[derive(Debug, thiserror::Error)]
#[error("backend failure: {0}")]
pub struct BackendError(#[from] pub Box<dyn std::error::Error + Send + Sync>);

pub use kx_listen::AuthOutcome;

/// Why a maildrop could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another session holds the lock (`-ERR [IN-USE]`).
    #[error("maildrop in use")]
    InUse,
    /// The store failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// A message's unique-id listing (RFC 1939 §7): 1 to 70 characters in `0x21..=0x7E`.
///
/// It must never be reused for another message of the same maildrop and must be the same in
/// every session, so a client can tell which messages it already has.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Uid(String);

/// A string that is not a valid [`Uid`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a POP3 unique id is 1 to 70 characters from 0x21 to 0x7E")]
pub struct InvalidUid;

impl Uid {
    /// Checks `uid` against RFC 1939's grammar.
    pub fn new(uid: impl Into<String>) -> Result<Uid, InvalidUid> {
        let uid = uid.into();
        let printable = uid.bytes().all(|b| (0x21..=0x7e).contains(&b));
        if printable && (1..=70).contains(&uid.len()) {
            Ok(Uid(uid))
        } else {
            Err(InvalidUid)
        }
    }

    /// The id as sent in UIDL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One message of a maildrop, as listed when the session enters the TRANSACTION state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<I> {
    /// The backend's handle for [`Backend::fetch`] and [`Backend::delete`].
    pub id: I,
    /// The message's unique id.
    pub uid: Uid,
    /// The exact size in octets of what [`Backend::fetch`] returns (stored with CRLF).
    pub size: u64,
}

/// Something the audit log must keep: every access to a maildrop and every login attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditEvent<'a> {
    /// A login succeeded; the session goes on to lock the maildrop.
    LoginSucceeded {
        /// The user name as the client sent it.
        user: &'a str,
        /// Where the client connected from.
        source: IpAddr,
    },
    /// A login failed.
    LoginFailed {
        /// The user name as the client sent it (never the password).
        user: &'a str,
        /// Where the client connected from.
        source: IpAddr,
        /// Whether the backend reported the account or source as locked out.
        locked_out: bool,
    },
    /// The client read a message, whole (`RETR`) or in part (`TOP`).
    Read {
        /// The account's user name.
        user: &'a str,
        /// The message's unique id.
        uid: &'a str,
        /// `None` for RETR, the number of body lines for TOP.
        top_lines: Option<u32>,
    },
    /// Messages marked with DELE were deleted at QUIT.
    Deleted {
        /// The account's user name.
        user: &'a str,
        /// The unique ids of the deleted messages.
        uids: Vec<&'a str>,
    },
}

/// The gateway's side of POP3.
///
/// A session calls [`lock`](Backend::lock) once after a successful login, then works only
/// through the returned lock, and always gives it back through [`unlock`](Backend::unlock)
/// when it ends, however it ends (QUIT, timeout, dropped connection, shutdown). A process that
/// dies cannot give it back: an implementation shared by several `kxd` instances should expire
/// locks it has not seen used for longer than the session timeout.
pub trait Backend: Send + Sync + 'static {
    /// Who logged in: the owner of one maildrop.
    type Account: Send + Sync + 'static;
    /// Proof of exclusive access to one account's maildrop.
    type Lock: Send + Sync + 'static;
    /// The backend's handle for one message.
    type MessageId: Clone + Send + Sync + 'static;

    /// Checks `user` and `password` from `source`. The backend counts failures and decides on
    /// lock-out; it also applies any per-organisation source-network rule.
    fn authenticate(
        &self,
        user: &str,
        password: &str,
        source: IpAddr,
    ) -> impl Future<Output = Result<AuthOutcome<Self::Account>, BackendError>> + Send;

    /// Locks the account's maildrop for this session, or fails with [`LockError::InUse`].
    fn lock(
        &self,
        account: &Self::Account,
    ) -> impl Future<Output = Result<Self::Lock, LockError>> + Send;

    /// The messages in the locked maildrop, in the order they are to be numbered.
    fn list(
        &self,
        lock: &Self::Lock,
    ) -> impl Future<Output = Result<Vec<Entry<Self::MessageId>>, BackendError>> + Send;

    /// The stored bytes of one message.
    fn fetch(
        &self,
        lock: &Self::Lock,
        id: &Self::MessageId,
    ) -> impl Future<Output = Result<Vec<u8>, BackendError>> + Send;

    /// Deletes messages, all or none: called once per session, at QUIT.
    fn delete(
        &self,
        lock: &Self::Lock,
        ids: &[Self::MessageId],
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Releases the maildrop.
    fn unlock(&self, lock: Self::Lock) -> impl Future<Output = ()> + Send;

    /// Writes one event to the audit log.
    fn record(&self, event: AuditEvent<'_>) -> impl Future<Output = ()> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_follow_rfc_1939() {
        let longest = "x".repeat(70);
        for good in ["1", "~!", "H0000123456-2026-0001", longest.as_str()] {
            assert_eq!(
                Uid::new(good).map(|uid| uid.as_str().to_owned()),
                Ok(good.into())
            );
        }
        let too_long = "x".repeat(71);
        for bad in ["", "a b", "a\r\n2 b", "\u{7f}", "é", too_long.as_str()] {
            assert_eq!(Uid::new(bad), Err(InvalidUid), "{bad:?}");
        }
    }
}

//! POP3 (RFC 1939, with CAPA, STLS, UIDL, TOP and AUTH PLAIN): how 伝送 clients collect their
//! replies.
//!
//! The grammar lives in [`request`] and [`response`] and does no I/O; a session (one per
//! connection) owns the socket and runs the RFC 1939 state machine; the gateway supplies
//! credentials, maildrops and the audit log through [`Backend`]. Start a listener with
//! [`serve`].
//!
//! Decisions beyond the RFCs:
//! - USER/PASS and AUTH PLAIN are refused (`-ERR [AUTH]`) and not advertised before TLS
//!   unless [`Pop3Config::allow_plaintext_auth`] is set; APOP is not offered.
//! - USER always succeeds and every failed login gets the same reply, so the server never
//!   tells whether an ID exists or is locked out; the session ends after
//!   [`Pop3Config::max_auth_failures`] failures.
//! - Message numbers refer to the snapshot taken at login. Deletions reach the store only at
//!   QUIT; a connection that ends any other way deletes nothing and releases the lock.

mod backend;
mod config;
mod error;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod ops;
pub mod request;
pub mod response;
mod server;
mod session;

pub use backend::{
    AuditEvent, AuthOutcome, Backend, BackendError, Entry, InvalidUid, LockError, Uid,
};
pub use config::{Pop3Config, TlsMode};
pub use server::serve;

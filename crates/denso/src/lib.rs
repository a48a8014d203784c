//! The 伝送 (denso) mail protocol as pure data.
//!
//! Offices, insurers, prefectures and welfare offices submit claim data to their federation by
//! SMTP and collect replies by POP3 (`shared/spec/denso-protocol.md`). This crate holds the
//! rules of that protocol and nothing else: it never touches a socket, a file or a clock, so
//! every rule can be tested exhaustively and fuzzed.

pub mod codes;
mod error;
pub mod ident;
pub mod records;

pub use codes::ErrorCode;
pub use error::Error;
pub use ident::{AccountId, OrgCode, OrgKind, OrgNumber, TransmissionNumber};

//! The 伝送 (denso) mail protocol as pure data.
//!
//! Offices, insurers, prefectures and welfare offices submit claim data to their federation by
//! SMTP and collect replies by POP3 (`shared/spec/denso-protocol.md`). This crate holds the
//! rules of that protocol and nothing else: it never touches a socket, a file or a clock, so
//! every rule can be tested exhaustively and fuzzed.
//!
//! - [`ident`]: organisations, account IDs, 識別番号, 伝送整理番号.
//! - [`message`]: every 電文 as a struct; [`Message::to_bytes`] writes the exact form of spec
//!   §6, [`Message::parse`] reads it back.
//! - [`inspect()`]: every rule of spec §5 checked on a client message's raw bytes, each
//!   violation with its own code from [`codes`].
//! - [`records`]: the reference record checker of spec §7 (DataErr, CsvErr.txt,
//!   TransmitInfo.txt).
//! - [`location`]: the paths of the read-only download area a service notice points at.
//! - [`reply`]: what the reception server answers: Accept from an inspection, Regist from the
//!   record checker's verdicts (§8.5.2's decision table), DeleteRegist.

pub mod address;
mod build;
pub mod codes;
pub mod date;
mod error;
pub mod ident;
pub mod inspect;
pub mod location;
pub mod message;
pub mod names;
mod parse;
pub mod password;
pub mod reply;
pub mod view;
mod wire;

pub use address::Mailbox;
pub use codes::ErrorCode;
pub use error::Error;
pub use ident::{AccountId, OrgCode, OrgKind, OrgNumber, TransmissionNumber};
pub use inspect::{
    Claimed, Context, Inspection, UpstreamDefinition, UsedNumbers, Violation, claimed, inspect,
};
pub use message::Message;

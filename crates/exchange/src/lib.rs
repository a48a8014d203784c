//! The KX secure file exchange (spec `kx-exchange.md`) as pure data: the codes the app shows,
//! the API's wire types, and the rules both the office app and the server apply, so that a
//! refusal reads the same wherever it is made.
//!
//! - [`code`]: the one table of `E` codes with the manual's exact texts.
//! - [`api`]: request and response bodies of `/api/v1`, and the error body [`api::Problem`].
//! - [`send`]: what may be sent (E2002–E2007).
//! - [`kpfd`]: the pre-send check of `KPFD.CSV`, the e-application's file.
//! - [`settings`]: PIN, password policy and profile rules (E1001–E1012).
//! - [`lifecycle`]: the 70-day window, the 2-year keep, sealed file names.
//! - [`upload`]: what the server accepts as a sealed file while it streams.

pub mod api;
pub mod code;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod kpfd;
pub mod lifecycle;
pub mod names;
mod refusal;
pub mod send;
pub mod settings;
pub mod upload;

pub use code::Code;
pub use lifecycle::{sealed_name, valid_sealed_name};
pub use refusal::Refusal;

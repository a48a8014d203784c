//! What every kxd listener shares: the one accept loop ([`serve`]: caps, rates, deadlines,
//! panics, shutdown), the TLS configuration of the installation and its bounded handshake
//! ([`upgrade`]), the HTTPS sessions, rate limits, how slow a client may be ([`Pace`]), what a
//! login attempt came to, and the per-source penalty that slows down failed logins
//! ([`LoginPenalty`]).
//!
//! Protocol crates (`kx-smtp`, `kx-pop3`) and the HTTPS crates (`kx-api`, `kx-web`) build on
//! this one; it knows no protocol beyond TLS and HTTP and no storage.

mod auth;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod https;
mod limits;
mod listener;
mod pace;
mod penalty;
pub mod sasl;
mod tally;
pub mod tls;

pub use auth::{AuthOutcome, BUSY_RETRY_AFTER, LoginCount, count_login, random_token};
pub use limits::RateLimiter;
pub use listener::{Connection, Listener, ListenerConfig, Protocol, serve, upgrade};
pub use pace::{MinimumRate, Overdue, Pace, RateMeter, Reading};
pub use penalty::{LoginPenalty, PenaltyConfig};
pub use tally::{FailureRecord, RateCount, RateEvents, SharedTally, Tally};

//! The KX exchange's durable state (spec `kx-exchange.md`): societies and offices
//! ([`Party`]), their destinations and users, one-time codes, the certificate queue, API
//! sessions, the sealed files between parties and the notification outbox. Their retention is
//! the store's one retention run ([`Store::run_retention`](crate::Store::run_retention)).
//!
//! Every function that depends on the time takes `now`: the server owns the clock (tests move
//! it), the store never reads one for exchange decisions.
//!
//! Isolation: every file operation is scoped by the calling party; a file of another party is
//! indistinguishable from a missing one.

mod certificates;
mod files;
mod outbox;
mod parties;
mod sessions;
mod users;

use chrono::Duration;

pub use certificates::{
    CertificateRecord, CertificateRequest, Decision, EnrolOutcome, NewCertificate, RequestKind,
    RequestState, SetupOutcome,
};
pub use files::{DeleteOutcome, FileFunction, FileRecord, Notice, SendOutcome, Upload};
pub use outbox::OutboxMail;
pub use parties::{Party, PartyId, PartyKind};
pub(crate) use sessions::TOUCH_EVERY;
pub use sessions::{Session, SessionCheck, SessionLimits};
pub use users::{CodeKind, ExchangeUser, NewUser, ProfileUpdate};

/// Lower-case hex SHA-256 of `bytes`: certificate fingerprints, hashed codes and tokens.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest as _, Sha256};
    crate::blob::hex(Sha256::digest(bytes).as_slice())
}

/// `n` random bytes from the system, lower-case hex: for ids and tokens nobody may guess.
pub(crate) fn random_hex(n: usize) -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore as _};
    let mut bytes = vec![0u8; n];
    OsRng.fill_bytes(&mut bytes);
    crate::blob::hex(&bytes)
}

/// Milliseconds of a chrono duration, as stored.
pub(crate) fn ms(duration: Duration) -> i64 {
    duration.num_milliseconds()
}

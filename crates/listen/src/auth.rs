//! What a login attempt came to, for every listener.

use std::time::Duration;

/// How long a client told the password checks are busy is asked to wait (HTTP `Retry-After`):
/// a check takes tens of milliseconds, so the queue has long drained by then.
pub const BUSY_RETRY_AFTER: Duration = Duration::from_secs(5);

/// The result of checking a user name and password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome<A> {
    /// The credentials are right.
    Authenticated(A),
    /// Unknown user or wrong password: the two must be indistinguishable to the client.
    Rejected,
    /// Too many recent failures for this user or source: the backend refuses even a right
    /// password for now. The client is told no more than for `Rejected`, so lock-out cannot be
    /// used to learn whether an ID exists.
    LockedOut,
    /// Nothing was checked: the password checks are all busy. A temporary failure, not a
    /// failed login: it counts towards no limit, and the client should try again later (SMTP
    /// `454 4.7.0`, POP3 `-ERR [SYS/TEMP]`, HTTP `503` with `Retry-After`).
    Busy,
}

/// What a checked login is counted as for monitoring (`kx_web::monitor` lists the metrics). A
/// check the busy password pool did not run is no login attempt and is not counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginCount {
    /// The credentials were right (and the login allowed).
    Ok,
    /// Refused: wrong password, unknown ID, a locked account, a refused network.
    Failed,
    /// Refused, and this failure locked the account.
    LockedOut,
}

/// Counts one login to `service` (`smtp`, `pop3`, `web`, `api`): `kx_logins_total` by service
/// and outcome, and `kx_lockouts_total` by service for the failures that lock an account.
pub fn count_login(service: &'static str, count: LoginCount) {
    let outcome = if count == LoginCount::Ok {
        "ok"
    } else {
        "failed"
    };
    metrics::counter!("kx_logins_total", "service" => service, "outcome" => outcome).increment(1);
    if count == LoginCount::LockedOut {
        metrics::counter!("kx_lockouts_total", "service" => service).increment(1);
    }
}

/// 32 bytes from the system's random source, hex: for tokens nobody may guess (CSRF tokens,
/// mailbox lock holders).
pub fn random_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(hex(&bytes))
}

/// Lower-case hex, as the store names certificates and tokens.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

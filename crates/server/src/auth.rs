//! What a login attempt came to, for every listener.

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
}

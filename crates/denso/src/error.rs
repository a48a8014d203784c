//! The crate's error type.

/// Everything that can go wrong in `kx-denso`.
///
/// Rule violations of a client message are not errors: [`crate::inspect()`] reports them as
/// data. These variants are for input a function cannot work with at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An identity (account ID, organisation number, transmission number) is malformed.
    #[error("{0}")]
    Identity(String),
    /// A message cannot be written as asked (text a charset cannot carry, inconsistent parts).
    #[error("cannot build the message: {0}")]
    Build(String),
    /// Bytes are not a 伝送 message this crate can read.
    #[error("not a readable 伝送 message: {0}")]
    Parse(String),
    /// An upstream kind's definition breaks the rule of §10.
    #[error("upstream definition: {0}")]
    Upstream(String),
    /// A path on the download area is refused (see [`crate::location`]).
    #[error("location refused: {0}")]
    Location(String),
}

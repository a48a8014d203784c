//! The one error of the library. Each operation's failure carries what the face needs to
//! tell the user: the exchange's E-code with the manual's message, the 伝送 A-code of a local
//! refusal, whether the server refused, or the chain of causes of anything else.

use std::fmt;

use crate::exchange::Failure;
use kx_net::NetError;

/// The library's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong in an operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A KX exchange failure: its E-code with the manual's message (`E1002 PINが一致しません。`).
    #[error("{0}")]
    Exchange(Failure),
    /// The request was wrong in a way the face's parser cannot see (a missing `--server`, an
    /// office profile asked to act as a society).
    #[error("{0}")]
    Usage(String),
    /// Not yet: the society has not decided; the same operation later may succeed.
    #[error("{0}")]
    Later(String),
    /// A 伝送 message the federation would refuse (its A-code), refused before anything was
    /// sent.
    #[error("refused: {} {}\n         {}", .0.code(), .0.message_en(), .0.message_ja())]
    Denso(kx_denso::ErrorCode),
    /// Anything else, with its chain of causes (files, sockets, servers, the state store).
    #[error("{0:#}")]
    Other(anyhow::Error),
}

impl Error {
    /// Whether a 伝送 server refused (a 5xx reply, `SIZE` exceeded, no TLS to protect the
    /// password, plaintext to a host that is not loopback) or a local rule did, as opposed to
    /// the network or a file failing.
    pub fn is_refused(&self) -> bool {
        match self {
            Error::Denso(_) => true,
            Error::Other(err) => err.chain().any(|cause| {
                matches!(
                    cause.downcast_ref::<NetError>(),
                    Some(
                        NetError::Refused { .. }
                            | NetError::TooLarge { .. }
                            | NetError::NoTls(..)
                            | NetError::PlaintextNotLoopback(_)
                    )
                )
            }),
            _ => false,
        }
    }

    /// The error and all that is known of its cause, on one line, for logs and the lines of
    /// a long-running loop: a failure's code and message with its English, the server's
    /// reason, what happened and what to do; anything else with its chain of causes.
    pub fn cause_chain(&self) -> String {
        match self {
            Error::Exchange(failure) => failure.explained(),
            Error::Other(err) => format!("{err:#}"),
            other => other.to_string(),
        }
    }

    /// The exchange failure this error is to the user: a crypto failure gets the app code of
    /// its kind, anything else unexpected is E9999 with its causes.
    pub fn into_failure(self) -> std::result::Result<Failure, Error> {
        match self {
            Error::Exchange(failure) => Ok(failure),
            Error::Other(err) => Ok(match err.downcast_ref::<kx_crypto::Error>() {
                Some(crypto) => Failure::new(kx_exchange::Code::from(crypto.app_code()), &[])
                    .detail(format!("{err:#}")),
                None => Failure::new(kx_exchange::Code::E9999, &[]).detail(format!("{err:#}")),
            }),
            Error::Denso(code) => Ok(Failure::new(kx_exchange::Code::E9999, &[]).detail(format!(
                "{} {}",
                code.code(),
                code.message_en()
            ))),
            other => Err(other),
        }
    }
}

impl From<anyhow::Error> for Error {
    /// Lifts the typed failures the operations raise inside their chains.
    fn from(err: anyhow::Error) -> Error {
        let err = match err.downcast::<Failure>() {
            Ok(failure) => return Error::Exchange(failure),
            Err(err) => err,
        };
        let err = match err.downcast::<Usage>() {
            Ok(Usage(text)) => return Error::Usage(text),
            Err(err) => err,
        };
        let err = match err.downcast::<Later>() {
            Ok(Later(text)) => return Error::Later(text),
            Err(err) => err,
        };
        match err.downcast::<Error>() {
            Ok(err) => err,
            Err(err) => Error::Other(err),
        }
    }
}

impl From<Usage> for Error {
    fn from(Usage(text): Usage) -> Error {
        Error::Usage(text)
    }
}

impl From<Failure> for Error {
    fn from(failure: Failure) -> Error {
        Error::Exchange(failure)
    }
}

macro_rules! other {
    ($($source:ty),*) => {$(
        impl From<$source> for Error {
            fn from(err: $source) -> Error {
                Error::Other(anyhow::Error::new(err))
            }
        }
    )*};
}

other!(
    std::io::Error,
    kx_crypto::Error,
    kx_denso::Error,
    kx_lzh::Error,
    crate::denso::StateError,
    NetError,
    serde_json::Error
);

/// Wrong usage, raised inside an operation's chain and lifted into [`Error::Usage`].
#[derive(Debug)]
pub(crate) struct Usage(pub(crate) String);

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// Not yet, raised inside an operation's chain and lifted into [`Error::Later`].
#[derive(Debug)]
pub(crate) struct Later(pub(crate) String);

impl fmt::Display for Later {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Later {}

#[cfg(test)]
mod tests {
    use super::*;
    use kx_exchange::Code;

    #[test]
    fn the_cause_chain_names_the_cause() {
        let failure = Failure::new(Code::E9999, &[])
            .detail("cannot reach the KX server: tcp connect error: Connection refused");
        let chain = Error::Exchange(failure).cause_chain();
        assert!(
            chain.starts_with("E9999 予期せぬエラーが発生しました。"),
            "{chain}"
        );
        assert!(chain.contains("An unexpected error occurred."), "{chain}");
        assert!(chain.contains("Connection refused"), "{chain}");
        assert!(!chain.contains('\n'), "{chain}");
        let other = Error::Other(anyhow::anyhow!("socket closed").context("reading the answer"));
        assert_eq!(other.cause_chain(), "reading the answer: socket closed");
    }
}

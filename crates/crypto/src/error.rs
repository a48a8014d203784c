//! The crate's one error enum, and which of the app's codes each failure shows.

/// Everything that can go wrong in this crate.
///
/// Each failure of `open` is its own variant so that the caller (and the user) learns *which*
/// check failed; [`Error::app_code`] folds them into the codes the app shows.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading input or writing output failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A DER structure could not be decoded or encoded.
    #[error("malformed ASN.1: {0}")]
    Der(#[from] der::Error),
    /// The CMS/BER framing is not what RFC 5652 allows.
    #[error("malformed CMS message: {0}")]
    Malformed(&'static str),
    /// An algorithm or structure this crate does not implement.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A key could not be parsed, or does not fit the requested use.
    #[error("bad key: {0}")]
    Key(String),
    /// The message has no recipient entry that our key can open.
    #[error("the message is not encrypted for this key (wrong recipient)")]
    NotARecipient,
    /// Unwrapping the content-encryption key or decrypting the content failed.
    #[error("decryption failed: {0}")]
    Decrypt(&'static str),
    /// The signed content does not hash to the message digest the signer signed.
    #[error("content digest does not match the signed message digest (content was altered)")]
    DigestMismatch,
    /// The signature value does not verify with the signer's public key.
    #[error("signature does not verify")]
    BadSignature,
    /// The SignedData has no signer, or the signer's certificate is not in the message.
    #[error("signer certificate not found in the message")]
    SignerCertificateMissing,
    /// No chain from the signer's certificate to a trust anchor.
    #[error("certificate chain of {subject} does not lead to a trusted CA")]
    UntrustedChain {
        /// Subject of the certificate whose issuer could not be found or did not verify.
        subject: String,
    },
    /// A certificate in the chain is past its `notAfter`.
    #[error("certificate {subject} expired on {not_after}")]
    CertificateExpired {
        /// Subject of the expired certificate.
        subject: String,
        /// Its `notAfter`.
        not_after: String,
    },
    /// A certificate in the chain is before its `notBefore`.
    #[error("certificate {subject} is not valid before {not_before}")]
    CertificateNotYetValid {
        /// Subject of the certificate.
        subject: String,
        /// Its `notBefore`.
        not_before: String,
    },
    /// A certificate in the chain is listed on its issuer's CRL.
    #[error("certificate {subject} (serial {serial}) is revoked")]
    CertificateRevoked {
        /// Subject of the revoked certificate.
        subject: String,
        /// Its serial number in hex.
        serial: String,
    },
    /// A certificate's key usage or basic constraints do not allow its role in the chain.
    #[error("certificate {subject} may not be used for {purpose}")]
    KeyUsage {
        /// Subject of the certificate.
        subject: String,
        /// The role it was asked to play.
        purpose: &'static str,
    },
    /// The PIN is not 4 ASCII digits.
    #[error("the PIN must be exactly 4 digits")]
    PinFormat,
    /// The key file did not decrypt with this PIN.
    #[error("wrong PIN, or the key file is damaged")]
    WrongPin,
    /// The certificate authority refused a request.
    #[error("certificate request refused: {0}")]
    Request(&'static str),
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which of the app's codes (spec `kx-exchange.md` §8) a failure of this crate shows. The
/// texts live in the app's one code table (`kx_exchange::Code`); this crate only classifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AppCode {
    /// Society certificate expired: log in again to fetch the latest.
    E3001,
    /// Office certificate expired: the office must register anew.
    E3002,
    /// Society certificate superseded by a newer one.
    E3003,
    /// Verifying the sender's signature or certificate failed.
    E8002,
    /// Decrypting a received file failed.
    E8003,
    /// Anything else: an unexpected client error.
    E9999,
}

impl Error {
    /// The code the app shows for this failure when it happens while opening a received file.
    ///
    /// Anything about the signer, its signature or its chain is a verification failure
    /// (E8002); anything about our key, the envelope or the ciphertext is a decryption failure
    /// (E8003). Malformed messages count as decryption failures: they are detected before any
    /// signature can be checked.
    pub fn app_code(&self) -> AppCode {
        match self {
            Self::DigestMismatch
            | Self::BadSignature
            | Self::SignerCertificateMissing
            | Self::UntrustedChain { .. }
            | Self::CertificateExpired { .. }
            | Self::CertificateNotYetValid { .. }
            | Self::CertificateRevoked { .. }
            | Self::KeyUsage { .. } => AppCode::E8002,
            Self::Der(_)
            | Self::Malformed(_)
            | Self::NotARecipient
            | Self::Decrypt(_)
            | Self::Unsupported(_) => AppCode::E8003,
            Self::Io(_) | Self::Key(_) | Self::PinFormat | Self::WrongPin | Self::Request(_) => {
                AppCode::E9999
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_and_decryption_failures_get_distinct_codes() {
        assert_eq!(Error::BadSignature.app_code(), AppCode::E8002);
        assert_eq!(Error::NotARecipient.app_code(), AppCode::E8003);
    }
}

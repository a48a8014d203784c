//! End-to-end cryptography for the KX exchange: CMS sign + encrypt, the PIN key store and the
//! society certificate authority.

mod ber;
mod chain;
mod content;
mod error;
mod keys;
mod oid;
mod open;
mod recipient;
mod seal;
mod sig;

pub use chain::TrustStore;
pub use content::ContentEncryption;
pub use error::{AppCode, Error, Result};
pub use keys::{KeyKind, PrivateKey, PublicKey, parse_certificates};
pub use open::{Opened, Quarantine, Receiver, open};
pub use recipient::{KeyTransport, Recipient};
pub use seal::{SealOptions, Sealer, Signer, seal};
pub use sig::SignatureScheme;

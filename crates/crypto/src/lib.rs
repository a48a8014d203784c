//! End-to-end cryptography for the KX exchange: CMS sign + encrypt, the PIN key store and the
//! society certificate authority.

mod ber;
mod ca;
mod chain;
mod content;
mod error;
mod keys;
pub mod keystore;
mod oid;
mod open;
mod pem;
mod recipient;
mod seal;
mod sig;

pub use ca::{
    CertificateAuthority, Profile, RENEWAL_WINDOW_DAYS, certificate_request,
    check_office_certificate, check_society_certificate, days_left, renewal_due,
};
pub use chain::TrustStore;
pub use content::ContentEncryption;
pub use error::{AppCode, Error, Result};
pub use keys::{KeyKind, PrivateKey, PublicKey, parse_certificates};
pub use open::{Opened, Quarantine, Receiver, open};
pub use pem::{
    certificate_from_pem_or_der, certificate_to_pem, crl_from_pem_or_der, crl_to_pem,
    private_key_to_pem, request_from_pem_or_der, request_to_pem,
};
pub use recipient::{KeyTransport, Recipient};
pub use seal::{SealOptions, Sealer, Signer, seal};
pub use sig::SignatureScheme;
pub use x509_cert::Certificate;
pub use x509_cert::crl::CertificateList;
pub use x509_cert::request::CertReq;
pub use x509_cert::serial_number::SerialNumber;

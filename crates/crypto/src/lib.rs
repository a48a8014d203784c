//! End-to-end cryptography for the KX exchange: CMS sign + encrypt, the PIN key store and the
//! society certificate authority.
//!
//! Every file is signed by its sender and encrypted for its recipients (spec `kx-exchange.md`
//! §1), as CMS (RFC 5652) that `openssl cms` reads and writes:
//!
//! - [`seal`] / [`Sealer`]: SignedData (SHA-256; RSA PKCS#1 v1.5, RSA-PSS or ECDSA P-256;
//!   content-type, signing-time and message-digest signed attributes; the signer's certificate
//!   included) inside EnvelopedData (AES-256-CBC) or AuthEnvelopedData (AES-256-GCM), for one
//!   or more [`Recipient`]s by RSA-OAEP (SHA-256), RSA PKCS#1 v1.5 or ECDH P-256
//!   (RFC 5753, X9.63 KDF with SHA-256, AES-256 key wrap).
//! - [`open`]: decrypts with the [`Receiver`]'s key, verifies the signature and the signer's
//!   chain to a [`TrustStore`] (validity at the time of opening, key usage, CRLs), and reports
//!   which check failed as its own [`Error`] variant; [`Error::app_code`] maps each to the
//!   app's E8002 (verification) or E8003 (decryption). Also reads what OpenSSL writes: OAEP
//!   with SHA-1, ECDH with the SHA-1 KDF, definite or indefinite lengths.
//! - [`check_envelope_start`]: whether the first bytes of an upload are such an envelope's
//!   outer structure, for a server that holds sealed files it cannot open.
//! - [`keystore`]: the private key under the 4-digit PIN (PKCS#8 PBES2 scrypt + AES-256-CBC),
//!   with what that PIN does and does not protect against.
//! - [`CertificateAuthority`]: the society CA issuing from PKCS#10 requests, renewing, revoking
//!   (CRL), and the app's certificate checks ([`days_left`], [`renewal_due`],
//!   [`check_society_certificate`] for E3001/E3003, [`check_office_certificate`] for E3002).
//!
//! # Streaming
//!
//! Sealing and opening hold one 64 KiB segment at a time, whatever the file size. The outer
//! framing is written as BER with indefinite lengths and a segmented OCTET STRING, as
//! `openssl cms -stream` does; hashing, encryption and output proceed together.
//!
//! # Nothing decrypted is returned unverified
//!
//! `open` is one pass: plaintext is written to a caller-supplied [`Quarantine`] as it is
//! decrypted, and the quarantine is *released* only after the envelope's integrity (GCM tag
//! or CBC padding), the content digest, the signature and the chain all passed; on any error
//! it is dropped unreleased. The CLI's quarantine is a temporary file beside the destination,
//! renamed into place on release. (The alternative, verifying in a first pass and decrypting
//! in a second, would need a seekable input and twice the decryption work.)
//!
//! The crate does no I/O of its own beyond the readers and writers it is handed, reads no
//! clock (times are parameters), and the only file-system code is the atomic key-file
//! replacement in [`keystore::file`].

mod ber;
mod ca;
mod chain;
mod content;
mod envelope;
mod error;
mod hasher;
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
pub use envelope::{ENVELOPE_START_LIMIT, EnvelopeStart, check_envelope_start};
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

//! Private and public keys: RSA and ECDSA/ECDH P-256, in PKCS#8 / SubjectPublicKeyInfo form.

use der::{Decode, Encode};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rand_core::OsRng;
use rsa::{RsaPrivateKey, RsaPublicKey};
use spki::{DecodePublicKey, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::oid;

/// A party's private key.
#[derive(Clone)]
pub enum PrivateKey {
    /// An RSA key (signing with PKCS#1 v1.5 or PSS; key transport).
    Rsa(Box<RsaPrivateKey>),
    /// A NIST P-256 key (ECDSA signing; ECDH key agreement).
    P256(p256::SecretKey),
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Rsa(_) => "PrivateKey::Rsa(..)",
            Self::P256(_) => "PrivateKey::P256(..)",
        })
    }
}

/// Which kind of key to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// RSA with this many bits (2048 or more).
    Rsa(usize),
    /// NIST P-256.
    P256,
}

impl PrivateKey {
    /// Generates a fresh key from the operating system's random source.
    pub fn generate(kind: KeyKind) -> Result<Self> {
        match kind {
            KeyKind::Rsa(bits) if bits >= 2048 => Ok(Self::Rsa(Box::new(
                RsaPrivateKey::new(&mut OsRng, bits).map_err(|e| Error::Key(e.to_string()))?,
            ))),
            KeyKind::Rsa(_) => Err(Error::Key("RSA keys must have at least 2048 bits".into())),
            KeyKind::P256 => Ok(Self::P256(p256::SecretKey::random(&mut OsRng))),
        }
    }

    /// Parses an unencrypted PKCS#8 `PrivateKeyInfo` (DER).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let info = pkcs8::PrivateKeyInfo::from_der(der)?;
        match info.algorithm.oid {
            oid::RSA_ENCRYPTION => Ok(Self::Rsa(Box::new(
                RsaPrivateKey::from_pkcs8_der(der).map_err(|e| Error::Key(e.to_string()))?,
            ))),
            oid::EC_PUBLIC_KEY => Ok(Self::P256(
                p256::SecretKey::from_pkcs8_der(der).map_err(|e| Error::Key(e.to_string()))?,
            )),
            other => Err(Error::Unsupported(format!("private key algorithm {other}"))),
        }
    }

    /// Parses an unencrypted PKCS#8 key in PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self> {
        let (label, der) = der::Document::from_pem(pem)?;
        if label != "PRIVATE KEY" {
            return Err(Error::Key(format!("expected a PRIVATE KEY, found {label}")));
        }
        Self::from_pkcs8_der(der.as_bytes())
    }

    /// The key as an unencrypted PKCS#8 `PrivateKeyInfo` (DER), wiped on drop.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        let doc = match self {
            Self::Rsa(k) => k.to_pkcs8_der(),
            Self::P256(k) => k.to_pkcs8_der(),
        }
        .map_err(|e| Error::Key(e.to_string()))?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        match self {
            Self::Rsa(k) => PublicKey::Rsa(k.to_public_key()),
            Self::P256(k) => PublicKey::P256(k.public_key()),
        }
    }
}

/// A public key taken from a certificate or request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// RSA.
    Rsa(RsaPublicKey),
    /// NIST P-256.
    P256(p256::PublicKey),
}

impl PublicKey {
    /// Decodes a `SubjectPublicKeyInfo`.
    pub fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<Self> {
        let der = spki.to_der()?;
        match spki.algorithm.oid {
            oid::RSA_ENCRYPTION => Ok(Self::Rsa(
                RsaPublicKey::from_public_key_der(&der).map_err(|e| Error::Key(e.to_string()))?,
            )),
            oid::EC_PUBLIC_KEY => Ok(Self::P256(
                p256::PublicKey::from_public_key_der(&der)
                    .map_err(|e| Error::Key(e.to_string()))?,
            )),
            other => Err(Error::Unsupported(format!("public key algorithm {other}"))),
        }
    }

    /// The key of a certificate's subject.
    pub fn of(cert: &Certificate) -> Result<Self> {
        Self::from_spki(&cert.tbs_certificate.subject_public_key_info)
    }

    /// Encodes as a `SubjectPublicKeyInfo`.
    pub fn to_spki(&self) -> Result<SubjectPublicKeyInfoOwned> {
        use spki::EncodePublicKey;
        let doc = match self {
            Self::Rsa(k) => k.to_public_key_der(),
            Self::P256(k) => k.to_public_key_der(),
        }
        .map_err(|e| Error::Key(e.to_string()))?;
        Ok(SubjectPublicKeyInfoOwned::from_der(doc.as_bytes())?)
    }
}

/// Parses one or more certificates, PEM (`-----BEGIN CERTIFICATE-----` blocks) or one DER.
pub fn parse_certificates(bytes: &[u8]) -> Result<Vec<Certificate>> {
    if bytes.starts_with(b"-----BEGIN") || bytes.iter().take(64).all(u8::is_ascii) {
        let certs = Certificate::load_pem_chain(bytes)?;
        if certs.is_empty() {
            return Err(Error::Malformed("no certificate in PEM input"));
        }
        Ok(certs)
    } else {
        Ok(vec![Certificate::from_der(bytes)?])
    }
}

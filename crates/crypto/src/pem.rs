//! PEM and DER in and out for the objects operators pass around as files: certificates,
//! certificate requests, CRLs and unencrypted keys.

use der::pem::LineEnding;
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::request::CertReq;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::keys::PrivateKey;

fn encode(label: &'static str, der: &[u8]) -> Result<String> {
    Ok(der::pem::encode_string(label, LineEnding::LF, der).map_err(der::Error::from)?)
}

/// The DER inside `bytes`, which may be PEM with label `label` or DER already.
fn der_of(bytes: &[u8], label: &str) -> Result<Vec<u8>> {
    match std::str::from_utf8(bytes) {
        Ok(text) if text.trim_start().starts_with("-----BEGIN") => {
            let (found, doc) = der::Document::from_pem(text.trim_start())?;
            if found != label {
                return Err(Error::Malformed("PEM block of the wrong kind"));
            }
            Ok(doc.as_bytes().to_vec())
        }
        _ => Ok(bytes.to_vec()),
    }
}

/// A certificate as PEM.
pub fn certificate_to_pem(cert: &Certificate) -> Result<String> {
    encode("CERTIFICATE", &cert.to_der()?)
}

/// One certificate from PEM or DER.
pub fn certificate_from_pem_or_der(bytes: &[u8]) -> Result<Certificate> {
    Ok(Certificate::from_der(&der_of(bytes, "CERTIFICATE")?)?)
}

/// A PKCS#10 request as PEM.
pub fn request_to_pem(request: &CertReq) -> Result<String> {
    encode("CERTIFICATE REQUEST", &request.to_der()?)
}

/// A PKCS#10 request from PEM or DER.
pub fn request_from_pem_or_der(bytes: &[u8]) -> Result<CertReq> {
    Ok(CertReq::from_der(&der_of(bytes, "CERTIFICATE REQUEST")?)?)
}

/// A CRL as PEM.
pub fn crl_to_pem(crl: &CertificateList) -> Result<String> {
    encode("X509 CRL", &crl.to_der()?)
}

/// A CRL from PEM or DER.
pub fn crl_from_pem_or_der(bytes: &[u8]) -> Result<CertificateList> {
    Ok(CertificateList::from_der(&der_of(bytes, "X509 CRL")?)?)
}

/// An unencrypted PKCS#8 key as PEM (for interop tests and operators; the app keeps keys in
/// the [`crate::keystore`]).
pub fn private_key_to_pem(key: &PrivateKey) -> Result<Zeroizing<String>> {
    Ok(Zeroizing::new(encode("PRIVATE KEY", &key.to_pkcs8_der()?)?))
}

//! Object identifiers this crate speaks.

use der::asn1::ObjectIdentifier as Oid;

/// `id-data`.
pub(crate) const DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.1");
/// `id-signedData`.
pub(crate) const SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
/// `id-envelopedData`.
pub(crate) const ENVELOPED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.3");
/// `id-ct-authEnvelopedData` (RFC 5083).
pub(crate) const AUTH_ENVELOPED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.1.23");

/// `id-sha1` (only as a KDF or OAEP hash chosen by other senders).
pub(crate) const SHA1: Oid = Oid::new_unwrap("1.3.14.3.2.26");
/// `id-sha256`.
pub(crate) const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");

/// `rsaEncryption`: the RSA key type, and PKCS#1 v1.5 in CMS.
pub(crate) const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
/// `id-RSAES-OAEP`.
pub(crate) const RSAES_OAEP: Oid = Oid::new_unwrap("1.2.840.113549.1.1.7");
/// `id-mgf1`.
pub(crate) const MGF1: Oid = Oid::new_unwrap("1.2.840.113549.1.1.8");
/// `id-pSpecified` (OAEP label source).
pub(crate) const P_SPECIFIED: Oid = Oid::new_unwrap("1.2.840.113549.1.1.9");
/// `id-RSASSA-PSS`.
pub(crate) const RSASSA_PSS: Oid = Oid::new_unwrap("1.2.840.113549.1.1.10");
/// `sha256WithRSAEncryption`.
pub(crate) const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");

/// `id-ecPublicKey`.
pub(crate) const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
/// `ecdsa-with-SHA256`.
pub(crate) const ECDSA_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
/// `dhSinglePass-stdDH-sha1kdf-scheme` (RFC 5753), OpenSSL's default.
pub(crate) const ECDH_SHA1_KDF: Oid = Oid::new_unwrap("1.3.133.16.840.63.0.2");
/// `dhSinglePass-stdDH-sha256kdf-scheme` (RFC 5753).
pub(crate) const ECDH_SHA256_KDF: Oid = Oid::new_unwrap("1.3.132.1.11.1");

/// `id-aes256-CBC`.
pub(crate) const AES256_CBC: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.42");
/// `id-aes256-wrap` (RFC 3394).
pub(crate) const AES256_WRAP: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.45");
/// `id-aes256-GCM`.
pub(crate) const AES256_GCM: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.46");

/// `id-contentType` attribute.
pub(crate) const ATTR_CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
/// `id-messageDigest` attribute.
pub(crate) const ATTR_MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
/// `id-signingTime` attribute.
pub(crate) const ATTR_SIGNING_TIME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.5");

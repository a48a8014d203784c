//! Signatures over SHA-256: RSA PKCS#1 v1.5, RSA-PSS and ECDSA P-256, for CMS signer infos,
//! certificates, requests and CRLs alike.

use der::{Decode, Encode, asn1::Any};
use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use rand_core::OsRng;
use rsa::pkcs1::RsaPssParams;
use rsa::{Pkcs1v15Sign, Pss};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;

use crate::error::{Error, Result};
use crate::keys::{PrivateKey, PublicKey};
use crate::oid;

/// PSS salt length we sign with: the digest length, as RFC 8017 recommends.
const PSS_SALT_LEN: u8 = 32;

/// How a signer signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureScheme {
    /// RSA PKCS#1 v1.5 with SHA-256.
    RsaPkcs1v15,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt.
    RsaPss,
    /// ECDSA P-256 with SHA-256.
    Ecdsa,
}

impl SignatureScheme {
    /// The natural scheme for a key: PKCS#1 v1.5 for RSA (widest support), ECDSA for P-256.
    pub fn default_for(key: &PrivateKey) -> Self {
        match key {
            PrivateKey::Rsa(_) => Self::RsaPkcs1v15,
            PrivateKey::P256(_) => Self::Ecdsa,
        }
    }

    /// The algorithm identifier as it appears in certificates, requests and CRLs.
    pub(crate) fn algorithm(self) -> Result<AlgorithmIdentifierOwned> {
        Ok(match self {
            Self::RsaPkcs1v15 => AlgorithmIdentifierOwned {
                oid: oid::SHA256_WITH_RSA,
                parameters: Some(Any::null()),
            },
            Self::RsaPss => AlgorithmIdentifierOwned {
                oid: oid::RSASSA_PSS,
                parameters: Some(Any::from_der(
                    &RsaPssParams::new::<Sha256>(PSS_SALT_LEN).to_der()?,
                )?),
            },
            Self::Ecdsa => AlgorithmIdentifierOwned {
                oid: oid::ECDSA_WITH_SHA256,
                parameters: None,
            },
        })
    }
}

/// Signs the SHA-256 hash of `message`.
pub(crate) fn sign(key: &PrivateKey, scheme: SignatureScheme, message: &[u8]) -> Result<Vec<u8>> {
    let digest = Sha256::digest(message);
    let failed = |e: rsa::Error| Error::Key(e.to_string());
    match (key, scheme) {
        (PrivateKey::Rsa(k), SignatureScheme::RsaPkcs1v15) => k
            .sign(Pkcs1v15Sign::new::<Sha256>(), &digest)
            .map_err(failed),
        (PrivateKey::Rsa(k), SignatureScheme::RsaPss) => k
            .sign_with_rng(
                &mut OsRng,
                Pss::new_with_salt::<Sha256>(PSS_SALT_LEN.into()),
                &digest,
            )
            .map_err(failed),
        (PrivateKey::P256(k), SignatureScheme::Ecdsa) => {
            let signer = p256::ecdsa::SigningKey::from(k);
            let signature: p256::ecdsa::Signature = signer
                .sign_prehash(&digest)
                .map_err(|e| Error::Key(e.to_string()))?;
            Ok(signature.to_der().as_bytes().to_vec())
        }
        _ => Err(Error::Key(format!("{scheme:?} does not fit this key type"))),
    }
}

/// Verifies `signature` over a message whose SHA-256 hash is `digest`.
///
/// `algorithm` may be a combined identifier (`sha256WithRSAEncryption`, `ecdsa-with-SHA256`,
/// `RSASSA-PSS`) or, as CMS signer infos often carry, the bare `rsaEncryption`; the caller has
/// already established that the digest is SHA-256.
pub(crate) fn verify(
    key: &PublicKey,
    algorithm: &AlgorithmIdentifierOwned,
    digest: &[u8],
    signature: &[u8],
) -> Result<()> {
    let ok = match (key, algorithm.oid) {
        (PublicKey::Rsa(k), oid::RSA_ENCRYPTION | oid::SHA256_WITH_RSA) => k
            .verify(Pkcs1v15Sign::new::<Sha256>(), digest, signature)
            .is_ok(),
        (PublicKey::Rsa(k), oid::RSASSA_PSS) => {
            let salt = pss_salt_len(algorithm)?;
            k.verify(Pss::new_with_salt::<Sha256>(salt), digest, signature)
                .is_ok()
        }
        (PublicKey::P256(k), oid::ECDSA_WITH_SHA256) => {
            let Ok(sig) = p256::ecdsa::Signature::from_der(signature) else {
                return Err(Error::BadSignature);
            };
            p256::ecdsa::VerifyingKey::from(k)
                .verify_prehash(digest, &sig)
                .is_ok()
        }
        (_, other) => {
            return Err(Error::Unsupported(format!(
                "signature algorithm {other} for this key"
            )));
        }
    };
    if ok { Ok(()) } else { Err(Error::BadSignature) }
}

/// The salt length of PSS parameters, insisting on SHA-256 for the hash and MGF1.
fn pss_salt_len(algorithm: &AlgorithmIdentifierOwned) -> Result<usize> {
    let params = algorithm
        .parameters
        .as_ref()
        .ok_or_else(|| Error::Unsupported("RSASSA-PSS without parameters (SHA-1)".into()))?
        .to_der()?;
    let params = RsaPssParams::from_der(&params)?;
    let mgf_hash = params.mask_gen.parameters.as_ref().map(|p| p.oid);
    if params.hash.oid != oid::SHA256
        || params.mask_gen.oid != oid::MGF1
        || mgf_hash != Some(oid::SHA256)
    {
        return Err(Error::Unsupported(
            "RSASSA-PSS with a hash other than SHA-256".into(),
        ));
    }
    Ok(params.salt_len.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyKind;

    #[test]
    fn ecdsa_signs_and_verifies_and_rejects_other_messages() -> Result<()> {
        let key = PrivateKey::generate(KeyKind::P256)?;
        let alg = SignatureScheme::Ecdsa.algorithm()?;
        let sig = sign(&key, SignatureScheme::Ecdsa, b"hello")?;
        let public = key.public_key();
        verify(&public, &alg, &Sha256::digest(b"hello"), &sig)?;
        let err =
            verify(&public, &alg, &Sha256::digest(b"hellO"), &sig).expect_err("another message");
        assert!(matches!(err, Error::BadSignature));
        Ok(())
    }

    #[test]
    fn scheme_must_fit_key() -> Result<()> {
        let key = PrivateKey::generate(KeyKind::P256)?;
        assert!(sign(&key, SignatureScheme::RsaPss, b"x").is_err());
        Ok(())
    }
}

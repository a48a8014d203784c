//! Getting the content-encryption key to each recipient: RSA key transport (OAEP or
//! PKCS#1 v1.5) and ECDH P-256 key agreement (RFC 5753, X9.63 KDF, AES-256 key wrap).

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::CmsVersion;
use cms::enveloped_data::{
    KeyAgreeRecipientIdentifier, KeyAgreeRecipientInfo, KeyTransRecipientInfo,
    OriginatorIdentifierOrKey, OriginatorPublicKey, RecipientEncryptedKey, RecipientIdentifier,
    RecipientInfo,
};
use der::asn1::{Any, BitString, OctetString};
use der::{Decode, Encode, Sequence};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use rand_core::OsRng;
use rsa::pkcs1::RsaOaepParams;
use rsa::{Oaep, Pkcs1v15Encrypt};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use zeroize::Zeroizing;

use crate::content::KEY_LEN;
use crate::error::{Error, Result};
use crate::keys::{PrivateKey, PublicKey};
use crate::oid;

/// How the content-encryption key reaches a recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyTransport {
    /// RSAES-OAEP with SHA-256 and MGF1-SHA-256.
    RsaOaep,
    /// RSAES-PKCS1-v1_5, for old software only.
    RsaPkcs1v15,
    /// Ephemeral-static ECDH on P-256, X9.63 KDF with SHA-256, AES-256 key wrap.
    EcdhP256,
}

/// One recipient of a sealed message: its certificate and how to reach it.
#[derive(Clone, Debug)]
pub struct Recipient {
    cert: Certificate,
    transport: KeyTransport,
}

impl Recipient {
    /// A recipient with the default transport for its key: OAEP for RSA, ECDH for P-256.
    pub fn new(cert: Certificate) -> Result<Self> {
        let transport = match PublicKey::of(&cert)? {
            PublicKey::Rsa(_) => KeyTransport::RsaOaep,
            PublicKey::P256(_) => KeyTransport::EcdhP256,
        };
        Ok(Self { cert, transport })
    }

    /// A recipient with an explicit transport, which must fit its key type.
    pub fn with_transport(cert: Certificate, transport: KeyTransport) -> Result<Self> {
        let fits = matches!(
            (PublicKey::of(&cert)?, transport),
            (
                PublicKey::Rsa(_),
                KeyTransport::RsaOaep | KeyTransport::RsaPkcs1v15
            ) | (PublicKey::P256(_), KeyTransport::EcdhP256)
        );
        if !fits {
            return Err(Error::Key(format!(
                "{transport:?} does not fit the recipient's key"
            )));
        }
        Ok(Self { cert, transport })
    }

    /// The recipient's certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.cert
    }

    /// Encrypts `cek` for this recipient.
    pub(crate) fn wrap(&self, cek: &[u8; KEY_LEN]) -> Result<RecipientInfo> {
        let id = issuer_and_serial(&self.cert);
        let public = PublicKey::of(&self.cert)?;
        let failed = |e: rsa::Error| Error::Key(e.to_string());
        Ok(match (public, self.transport) {
            (PublicKey::Rsa(k), KeyTransport::RsaOaep) => RecipientInfo::Ktri(ktri(
                id,
                AlgorithmIdentifierOwned {
                    oid: oid::RSAES_OAEP,
                    parameters: Some(Any::from_der(&RsaOaepParams::new::<Sha256>().to_der()?)?),
                },
                k.encrypt(&mut OsRng, Oaep::new::<Sha256>(), cek)
                    .map_err(failed)?,
            )?),
            (PublicKey::Rsa(k), KeyTransport::RsaPkcs1v15) => RecipientInfo::Ktri(ktri(
                id,
                AlgorithmIdentifierOwned {
                    oid: oid::RSA_ENCRYPTION,
                    parameters: Some(Any::null()),
                },
                k.encrypt(&mut OsRng, Pkcs1v15Encrypt, cek)
                    .map_err(failed)?,
            )?),
            (PublicKey::P256(k), KeyTransport::EcdhP256) => RecipientInfo::Kari(kari(id, &k, cek)?),
            _ => {
                return Err(Error::Key(
                    "transport does not fit the recipient's key".into(),
                ));
            }
        })
    }
}

fn issuer_and_serial(cert: &Certificate) -> IssuerAndSerialNumber {
    IssuerAndSerialNumber {
        issuer: cert.tbs_certificate.issuer.clone(),
        serial_number: cert.tbs_certificate.serial_number.clone(),
    }
}

fn ktri(
    id: IssuerAndSerialNumber,
    alg: AlgorithmIdentifierOwned,
    key: Vec<u8>,
) -> Result<KeyTransRecipientInfo> {
    Ok(KeyTransRecipientInfo {
        version: CmsVersion::V0,
        rid: RecipientIdentifier::IssuerAndSerialNumber(id),
        key_enc_alg: alg,
        enc_key: OctetString::new(key)?,
    })
}

/// `ECC-CMS-SharedInfo` (RFC 5753 §7.2), the KDF's context.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EccCmsSharedInfo {
    key_info: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    entity_u_info: Option<OctetString>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT")]
    supp_pub_info: OctetString,
}

/// The KDF hash of a key-agreement scheme.
#[derive(Clone, Copy)]
enum KdfHash {
    Sha1,
    Sha256,
}

/// ANSI X9.63 KDF: the key-wrap key from the shared secret.
fn x963_kdf(
    hash: KdfHash,
    z: &[u8],
    wrap_alg: &AlgorithmIdentifierOwned,
    ukm: Option<&OctetString>,
) -> Result<Zeroizing<[u8; KEY_LEN]>> {
    let info = EccCmsSharedInfo {
        key_info: wrap_alg.clone(),
        entity_u_info: ukm.cloned(),
        supp_pub_info: OctetString::new(((KEY_LEN * 8) as u32).to_be_bytes())?,
    }
    .to_der()?;
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    match hash {
        KdfHash::Sha1 => x963_fill::<Sha1>(z, &info, out.as_mut()),
        KdfHash::Sha256 => x963_fill::<Sha256>(z, &info, out.as_mut()),
    }
    Ok(out)
}

/// `out = Hash(Z || 1 || info) || Hash(Z || 2 || info) || …`, truncated.
fn x963_fill<D: Digest>(z: &[u8], info: &[u8], out: &mut [u8]) {
    for (counter, chunk) in (1u32..).zip(out.chunks_mut(<D as Digest>::output_size())) {
        let block = D::new()
            .chain_update(z)
            .chain_update(counter.to_be_bytes())
            .chain_update(info)
            .finalize();
        chunk.copy_from_slice(&block[..chunk.len()]);
    }
}

fn wrap_algorithm() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: oid::AES256_WRAP,
        parameters: None,
    }
}

fn kari(
    id: IssuerAndSerialNumber,
    recipient: &p256::PublicKey,
    cek: &[u8; KEY_LEN],
) -> Result<KeyAgreeRecipientInfo> {
    let ephemeral = p256::SecretKey::random(&mut OsRng);
    let shared = p256::ecdh::diffie_hellman(ephemeral.to_nonzero_scalar(), recipient.as_affine());
    let wrap_alg = wrap_algorithm();
    let kek = x963_kdf(KdfHash::Sha256, shared.raw_secret_bytes(), &wrap_alg, None)?;
    let wrapped = aes_kw::KekAes256::new(kek.as_ref().into())
        .wrap_vec(cek)
        .map_err(|_| Error::Key("AES key wrap failed".into()))?;
    Ok(KeyAgreeRecipientInfo {
        version: CmsVersion::V3,
        originator: OriginatorIdentifierOrKey::OriginatorKey(OriginatorPublicKey {
            algorithm: AlgorithmIdentifierOwned {
                oid: oid::EC_PUBLIC_KEY,
                parameters: None,
            },
            public_key: BitString::from_bytes(
                ephemeral.public_key().to_encoded_point(false).as_bytes(),
            )?,
        }),
        ukm: None,
        key_enc_alg: AlgorithmIdentifierOwned {
            oid: oid::ECDH_SHA256_KDF,
            parameters: Some(Any::from_der(&wrap_alg.to_der()?)?),
        },
        recipient_enc_keys: vec![RecipientEncryptedKey {
            rid: KeyAgreeRecipientIdentifier::IssuerAndSerialNumber(id),
            enc_key: OctetString::new(wrapped)?,
        }],
    })
}

/// Whom we are, for finding our entry among the recipient infos.
pub(crate) struct Us<'a> {
    /// Our private key.
    pub(crate) key: &'a PrivateKey,
    /// Our certificate, when known; without it every entry of our key type is tried.
    pub(crate) cert: Option<&'a Certificate>,
}

impl Us<'_> {
    fn is(
        &self,
        rid_issuer_serial: Option<&IssuerAndSerialNumber>,
        rid_ski: Option<&OctetString>,
    ) -> bool {
        let Some(cert) = self.cert else { return true };
        if let Some(ias) = rid_issuer_serial {
            return *ias == issuer_and_serial(cert);
        }
        let ours = cert
            .tbs_certificate
            .get::<SubjectKeyIdentifier>()
            .ok()
            .flatten()
            .map(|(_, ski)| ski.0);
        rid_ski.is_some() && ours.as_ref() == rid_ski
    }

    /// The content-encryption key from the first entry addressed to us.
    pub(crate) fn unwrap(&self, infos: &[RecipientInfo]) -> Result<Zeroizing<Vec<u8>>> {
        let mut last_failure = None;
        for info in infos {
            let attempt = match (info, self.key) {
                (RecipientInfo::Ktri(k), PrivateKey::Rsa(key)) => {
                    let (ias, ski) = match &k.rid {
                        RecipientIdentifier::IssuerAndSerialNumber(i) => (Some(i), None),
                        RecipientIdentifier::SubjectKeyIdentifier(s) => (None, Some(&s.0)),
                    };
                    if !self.is(ias, ski) {
                        continue;
                    }
                    key_transport_decrypt(key, k)
                }
                (RecipientInfo::Kari(k), PrivateKey::P256(key)) => {
                    let Some(entry) = k.recipient_enc_keys.iter().find(|e| match &e.rid {
                        KeyAgreeRecipientIdentifier::IssuerAndSerialNumber(i) => {
                            self.is(Some(i), None)
                        }
                        KeyAgreeRecipientIdentifier::RKeyId(r) => {
                            self.is(None, Some(&r.subject_key_identifier.0))
                        }
                    }) else {
                        continue;
                    };
                    key_agreement_decrypt(key, k, &entry.enc_key)
                }
                _ => continue,
            };
            match attempt {
                Ok(cek) if cek.len() == KEY_LEN => return Ok(cek),
                Ok(_) => {
                    last_failure = Some(Error::Decrypt(
                        "content-encryption key has the wrong length",
                    ))
                }
                Err(e) => last_failure = Some(e),
            }
        }
        Err(last_failure.unwrap_or(Error::NotARecipient))
    }
}

fn key_transport_decrypt(
    key: &rsa::RsaPrivateKey,
    info: &KeyTransRecipientInfo,
) -> Result<Zeroizing<Vec<u8>>> {
    let enc = info.enc_key.as_bytes();
    let failed = |_| Error::Decrypt("RSA key transport failed (wrong key or altered message)");
    let cek = match info.key_enc_alg.oid {
        oid::RSA_ENCRYPTION => key.decrypt(Pkcs1v15Encrypt, enc).map_err(failed)?,
        oid::RSAES_OAEP => {
            let der = info
                .key_enc_alg
                .parameters
                .as_ref()
                .map(Encode::to_der)
                .transpose()?;
            let params = match &der {
                Some(der) => RsaOaepParams::from_der(der)?,
                None => RsaOaepParams::default(),
            };
            if params.p_source.oid != oid::P_SPECIFIED {
                return Err(Error::Unsupported("OAEP label source".into()));
            }
            let mgf_hash = params.mask_gen.parameters.as_ref().map(|p| p.oid);
            let padding = match (params.hash.oid, mgf_hash) {
                (oid::SHA256, Some(oid::SHA256)) => Oaep::new::<Sha256>(),
                (oid::SHA1, Some(oid::SHA1) | None) => Oaep::new::<Sha1>(),
                (oid::SHA256, Some(oid::SHA1)) => Oaep::new_with_mgf_hash::<Sha256, Sha1>(),
                _ => return Err(Error::Unsupported("OAEP hash".into())),
            };
            key.decrypt(padding, enc).map_err(failed)?
        }
        other => return Err(Error::Unsupported(format!("key transport {other}"))),
    };
    Ok(Zeroizing::new(cek))
}

fn key_agreement_decrypt(
    key: &p256::SecretKey,
    info: &KeyAgreeRecipientInfo,
    wrapped: &OctetString,
) -> Result<Zeroizing<Vec<u8>>> {
    let hash = match info.key_enc_alg.oid {
        oid::ECDH_SHA1_KDF => KdfHash::Sha1,
        oid::ECDH_SHA256_KDF => KdfHash::Sha256,
        other => return Err(Error::Unsupported(format!("key agreement {other}"))),
    };
    let wrap_alg = AlgorithmIdentifierOwned::from_der(
        &info
            .key_enc_alg
            .parameters
            .as_ref()
            .ok_or(Error::Malformed("key agreement without a wrap algorithm"))?
            .to_der()?,
    )?;
    if wrap_alg.oid != oid::AES256_WRAP {
        return Err(Error::Unsupported(format!("key wrap {}", wrap_alg.oid)));
    }
    let OriginatorIdentifierOrKey::OriginatorKey(originator) = &info.originator else {
        return Err(Error::Unsupported("static-static ECDH".into()));
    };
    let peer = originator
        .public_key
        .as_bytes()
        .and_then(|b| p256::PublicKey::from_sec1_bytes(b).ok())
        .ok_or(Error::Decrypt("originator key is not a P-256 point"))?;
    let shared = p256::ecdh::diffie_hellman(key.to_nonzero_scalar(), peer.as_affine());
    let kek = x963_kdf(
        hash,
        shared.raw_secret_bytes(),
        &wrap_alg,
        info.ukm.as_ref(),
    )?;
    let cek = aes_kw::KekAes256::new(kek.as_ref().into())
        .unwrap_vec(wrapped.as_bytes())
        .map_err(|_| Error::Decrypt("AES key unwrap failed (wrong key or altered message)"))?;
    Ok(Zeroizing::new(cek))
}

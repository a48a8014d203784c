//! The society certificate authority: a self-signed root that issues office and society
//! certificates from PKCS#10 requests (the requester keeps its private key), renews them,
//! revokes them with a CRL; and the certificate checks the app needs.

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use const_oid::AssociatedOid;
use const_oid::db::rfc5280::{ID_KP_CLIENT_AUTH, ID_KP_EMAIL_PROTECTION};
use der::asn1::{BitString, OctetString, SetOfVec};
use der::{Decode, Encode};
use rand_core::{OsRng, RngCore};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::request::{CertReq, CertReqInfo};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::chain::{Purpose, check_validity};
use crate::error::{AppCode, Error, Result};
use crate::keys::{PrivateKey, PublicKey};
use crate::sig::{self, SignatureScheme};

/// Days before expiry from which the app prompts for renewal (spec §2.2).
pub const RENEWAL_WINDOW_DAYS: i64 = 60;

const DAY: u64 = 24 * 60 * 60;

/// What an issued certificate is for. Both sign what their holder sends and receive what is
/// encrypted for it (S/MIME "email protection" is what `openssl cms -verify` checks for).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// An office: also logs in to the KX server with it (TLS client authentication, §1.3).
    Office,
    /// The society: published by the KX server for offices to encrypt to; the society's
    /// server also logs in to the KX server's api listener with it (mutual TLS, as offices
    /// do), so it carries TLS client authentication too.
    Society,
}

impl Profile {
    fn extended_key_usage(self) -> ExtendedKeyUsage {
        // Both profiles log in with mutual TLS and sign/receive S/MIME (CMS) files.
        match self {
            Self::Office | Self::Society => {
                ExtendedKeyUsage(vec![ID_KP_CLIENT_AUTH, ID_KP_EMAIL_PROTECTION])
            }
        }
    }
}

/// A certificate authority: its key and its own certificate.
#[derive(Clone, Debug)]
pub struct CertificateAuthority {
    key: PrivateKey,
    cert: Certificate,
}

/// Builds and signs a PKCS#10 request for `key` with subject `subject` (RFC 4514 text such
/// as `CN=Office 1,O=Example Society`): the key never leaves its owner, only this request does.
pub fn certificate_request(key: &PrivateKey, subject: &str) -> Result<CertReq> {
    let info = CertReqInfo {
        version: x509_cert::request::Version::V1,
        subject: parse_name(subject)?,
        public_key: key.public_key().to_spki()?,
        attributes: SetOfVec::new(),
    };
    let scheme = SignatureScheme::default_for(key);
    let signature = sig::sign(key, scheme, &info.to_der()?)?;
    Ok(CertReq {
        info,
        algorithm: scheme.algorithm()?,
        signature: BitString::from_bytes(&signature)?,
    })
}

fn parse_name(subject: &str) -> Result<Name> {
    Name::from_str(subject).map_err(|_| Error::Request("subject is not an RFC 4514 name"))
}

fn key_id(spki: &SubjectPublicKeyInfoOwned) -> Result<OctetString> {
    // RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits.
    Ok(OctetString::new(
        Sha1::digest(spki.subject_public_key.raw_bytes()).to_vec(),
    )?)
}

fn extension<E: AssociatedOid + Encode>(critical: bool, value: &E) -> Result<Extension> {
    Ok(Extension {
        extn_id: E::OID,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

fn random_serial() -> Result<SerialNumber> {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes[0] &= 0x7f; // positive
    bytes[0] |= 0x01; // and no leading zero octet to strip
    Ok(SerialNumber::new(&bytes)?)
}

fn validity(not_before: SystemTime, lifetime: Duration) -> Result<Validity> {
    Ok(Validity {
        not_before: Time::try_from(not_before)?,
        not_after: Time::try_from(not_before + lifetime)?,
    })
}

impl CertificateAuthority {
    /// Creates a new root: a self-signed CA certificate for `key`, valid from `not_before`
    /// for `lifetime`.
    pub fn create_root(
        key: PrivateKey,
        subject: &str,
        not_before: SystemTime,
        lifetime: Duration,
    ) -> Result<Self> {
        let name = parse_name(subject)?;
        let spki = key.public_key().to_spki()?;
        let id = key_id(&spki)?;
        let extensions = vec![
            extension(
                true,
                &BasicConstraints {
                    ca: true,
                    path_len_constraint: Some(0),
                },
            )?,
            extension(true, &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign))?,
            extension(false, &SubjectKeyIdentifier(id))?,
        ];
        let cert = sign_certificate(
            &key,
            name.clone(),
            name,
            spki,
            validity(not_before, lifetime)?,
            extensions,
        )?;
        Ok(Self { key, cert })
    }

    /// An existing CA; the key must belong to the certificate, which must be a CA.
    pub fn new(key: PrivateKey, cert: Certificate) -> Result<Self> {
        if key.public_key() != PublicKey::of(&cert)? {
            return Err(Error::Key(
                "the CA key does not belong to the CA certificate".into(),
            ));
        }
        let is_ca = cert
            .tbs_certificate
            .get::<BasicConstraints>()?
            .is_some_and(|(_, b)| b.ca);
        if !is_ca {
            return Err(Error::KeyUsage {
                subject: crate::chain::subject(&cert),
                purpose: "issuing certificates",
            });
        }
        Ok(Self { key, cert })
    }

    /// The CA's own certificate (the trust anchor to hand out).
    pub fn certificate(&self) -> &Certificate {
        &self.cert
    }

    /// Issues a certificate for the key in `request`, after checking the request's
    /// signature (proof that the requester holds the private key).
    pub fn issue(
        &self,
        request: &CertReq,
        profile: Profile,
        not_before: SystemTime,
        lifetime: Duration,
    ) -> Result<Certificate> {
        let key = PublicKey::from_spki(&request.info.public_key)?;
        let digest = Sha256::digest(request.info.to_der()?);
        let signature = request
            .signature
            .as_bytes()
            .ok_or(Error::Request("request signature is not whole octets"))?;
        sig::verify(&key, &request.algorithm, &digest, signature)
            .map_err(|_| Error::Request("request signature does not verify"))?;
        let ca_not_after = self
            .cert
            .tbs_certificate
            .validity
            .not_after
            .to_system_time();
        if not_before + lifetime > ca_not_after {
            return Err(Error::Request(
                "the certificate would outlive the CA certificate",
            ));
        }
        let transport = match key {
            PublicKey::Rsa(_) => KeyUsages::KeyEncipherment,
            PublicKey::P256(_) => KeyUsages::KeyAgreement,
        };
        let extensions = vec![
            extension(
                true,
                &BasicConstraints {
                    ca: false,
                    path_len_constraint: None,
                },
            )?,
            extension(
                true,
                &KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation | transport),
            )?,
            extension(false, &profile.extended_key_usage())?,
            extension(
                false,
                &SubjectKeyIdentifier(key_id(&request.info.public_key)?),
            )?,
            extension(
                false,
                &AuthorityKeyIdentifier {
                    key_identifier: Some(key_id(
                        &self.cert.tbs_certificate.subject_public_key_info,
                    )?),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                },
            )?,
        ];
        sign_certificate(
            &self.key,
            self.cert.tbs_certificate.subject.clone(),
            request.info.subject.clone(),
            request.info.public_key.clone(),
            validity(not_before, lifetime)?,
            extensions,
        )
    }

    /// Renews `current` (which this CA issued and which has not yet expired at `now`) from a
    /// request for the same subject, usually with a fresh key.
    pub fn renew(
        &self,
        current: &Certificate,
        request: &CertReq,
        profile: Profile,
        now: SystemTime,
        lifetime: Duration,
    ) -> Result<Certificate> {
        self.trust().verify(current, &[], now, Purpose::Signing)?;
        if request.info.subject != current.tbs_certificate.subject {
            return Err(Error::Request("a renewal must keep the subject"));
        }
        self.issue(request, profile, now, lifetime)
    }

    fn trust(&self) -> crate::chain::TrustStore {
        crate::chain::TrustStore::new(vec![self.cert.clone()])
    }

    /// Signs a CRL listing `revoked` (serial number, revocation time), valid from `this_update`
    /// until `next_update`.
    pub fn crl(
        &self,
        revoked: &[(SerialNumber, SystemTime)],
        this_update: SystemTime,
        next_update: SystemTime,
    ) -> Result<CertificateList> {
        let revoked = revoked
            .iter()
            .map(|(serial, at)| {
                Ok(RevokedCert {
                    serial_number: serial.clone(),
                    revocation_date: Time::try_from(*at)?,
                    crl_entry_extensions: None,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let scheme = SignatureScheme::default_for(&self.key);
        let tbs = TbsCertList {
            version: Version::V2,
            signature: scheme.algorithm()?,
            issuer: self.cert.tbs_certificate.subject.clone(),
            this_update: Time::try_from(this_update)?,
            next_update: Some(Time::try_from(next_update)?),
            revoked_certificates: (!revoked.is_empty()).then_some(revoked),
            crl_extensions: None,
        };
        let signature = sig::sign(&self.key, scheme, &tbs.to_der()?)?;
        Ok(CertificateList {
            tbs_cert_list: tbs,
            signature_algorithm: scheme.algorithm()?,
            signature: BitString::from_bytes(&signature)?,
        })
    }
}

fn sign_certificate(
    issuer_key: &PrivateKey,
    issuer: Name,
    subject: Name,
    spki: SubjectPublicKeyInfoOwned,
    validity: Validity,
    extensions: Vec<Extension>,
) -> Result<Certificate> {
    let scheme = SignatureScheme::default_for(issuer_key);
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: random_serial()?,
        signature: scheme.algorithm()?,
        issuer,
        validity,
        subject,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    let signature = sig::sign(issuer_key, scheme, &tbs.to_der()?)?;
    let cert = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: scheme.algorithm()?,
        signature: BitString::from_bytes(&signature)?,
    };
    // Round-trip so that what we return is exactly what a peer will decode.
    Ok(Certificate::from_der(&cert.to_der()?)?)
}

/// Whole days until `cert` expires (negative once expired).
pub fn days_left(cert: &Certificate, now: SystemTime) -> i64 {
    let not_after = cert.tbs_certificate.validity.not_after.to_system_time();
    match not_after.duration_since(now) {
        Ok(left) => (left.as_secs() / DAY) as i64,
        Err(past) => -(past.duration().as_secs().div_ceil(DAY) as i64),
    }
}

/// True when the app should prompt for renewal: fewer than 60 days left (spec §2.2).
pub fn renewal_due(cert: &Certificate, now: SystemTime) -> bool {
    days_left(cert, now) < RENEWAL_WINDOW_DAYS
}

/// Checks the society certificate the app holds against the one the KX server publishes:
/// E3001 when the held one has expired, E3003 when the server publishes a different (newer)
/// one. Both tell the user to log in again to fetch the latest.
pub fn check_society_certificate(
    held: &Certificate,
    published: &Certificate,
    now: SystemTime,
) -> std::result::Result<(), AppCode> {
    if check_validity(held, now).is_err() {
        return Err(AppCode::E3001);
    }
    if held != published {
        return Err(AppCode::E3003);
    }
    Ok(())
}

/// Checks the office's own certificate at login: E3002 once it has expired.
pub fn check_office_certificate(
    cert: &Certificate,
    now: SystemTime,
) -> std::result::Result<(), AppCode> {
    check_validity(cert, now).map_err(|_| AppCode::E3002)
}

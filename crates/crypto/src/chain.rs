//! Certificate checks: chain to a trust anchor, validity period, key usage, revocation.

use std::time::SystemTime;

use der::Encode;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};

use crate::error::{Error, Result};
use crate::keys::PublicKey;
use crate::sig;

/// Longest chain we follow (leaf, intermediates, anchor).
const MAX_CHAIN: usize = 8;

/// What the receiver trusts: CA certificates and the CRLs it has from them.
#[derive(Clone, Debug, Default)]
pub struct TrustStore {
    anchors: Vec<Certificate>,
    crls: Vec<CertificateList>,
}

/// The role a certificate is checked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Signs messages: needs `digitalSignature` or `nonRepudiation` when key usage is present.
    Signing,
    /// Issues certificates: needs `cA` and `keyCertSign`.
    Issuing,
}

impl TrustStore {
    /// Trusts these CA certificates.
    pub fn new(anchors: Vec<Certificate>) -> Self {
        Self {
            anchors,
            crls: Vec::new(),
        }
    }

    /// Adds revocation lists; a CRL counts only if its issuer's signature on it verifies.
    pub fn with_crls(mut self, crls: Vec<CertificateList>) -> Self {
        self.crls.extend(crls);
        self
    }

    /// Checks that `cert` may sign exchange files and chains to an anchor at time `now`: what a
    /// party checks before it seals for a certificate a server handed it, so that a server
    /// cannot slip in a key of its own.
    pub fn check_signer(&self, cert: &Certificate, now: SystemTime) -> Result<()> {
        self.verify(cert, &[], now, Purpose::Signing)
    }

    /// Checks `leaf` for `purpose` and its chain, through `intermediates`, to an anchor at
    /// time `now`.
    pub(crate) fn verify(
        &self,
        leaf: &Certificate,
        intermediates: &[Certificate],
        now: SystemTime,
        purpose: Purpose,
    ) -> Result<()> {
        check_validity(leaf, now)?;
        check_usage(leaf, purpose)?;
        let mut current = leaf;
        for _ in 0..MAX_CHAIN {
            if let Some(anchor) = self.anchors.iter().find(|a| issued(a, current)) {
                check_validity(anchor, now)?;
                self.check_revocation(current, anchor)?;
                return Ok(());
            }
            let Some(issuer) = intermediates
                .iter()
                .find(|c| *c != current && issued(c, current))
            else {
                break;
            };
            check_validity(issuer, now)?;
            check_usage(issuer, Purpose::Issuing)?;
            self.check_revocation(current, issuer)?;
            current = issuer;
        }
        Err(Error::UntrustedChain {
            subject: subject(current),
        })
    }

    fn check_revocation(&self, cert: &Certificate, issuer: &Certificate) -> Result<()> {
        let serial = &cert.tbs_certificate.serial_number;
        for crl in self.crls.iter().filter(|crl| crl_issued_by(crl, issuer)) {
            let revoked = crl.tbs_cert_list.revoked_certificates.iter().flatten();
            if revoked.into_iter().any(|r| r.serial_number == *serial) {
                return Err(Error::CertificateRevoked {
                    subject: subject(cert),
                    serial: hex(serial.as_bytes()),
                });
            }
        }
        Ok(())
    }
}

/// The certificate's subject as text, for messages.
pub(crate) fn subject(cert: &Certificate) -> String {
    cert.tbs_certificate.subject.to_string()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// True when `issuer`'s name is `cert`'s issuer name and its key verifies `cert`'s signature.
fn issued(issuer: &Certificate, cert: &Certificate) -> bool {
    issuer.tbs_certificate.subject == cert.tbs_certificate.issuer
        && signed_by(
            issuer,
            &cert.tbs_certificate,
            &cert.signature_algorithm,
            cert.signature.raw_bytes(),
        )
}

fn crl_issued_by(crl: &CertificateList, issuer: &Certificate) -> bool {
    issuer.tbs_certificate.subject == crl.tbs_cert_list.issuer
        && signed_by(
            issuer,
            &crl.tbs_cert_list,
            &crl.signature_algorithm,
            crl.signature.raw_bytes(),
        )
}

fn signed_by(
    issuer: &Certificate,
    tbs: &impl Encode,
    algorithm: &spki::AlgorithmIdentifierOwned,
    signature: &[u8],
) -> bool {
    let (Ok(key), Ok(tbs)) = (PublicKey::of(issuer), tbs.to_der()) else {
        return false;
    };
    sig::verify(&key, algorithm, &Sha256::digest(tbs), signature).is_ok()
}

/// Checks `notBefore <= now <= notAfter`.
pub(crate) fn check_validity(cert: &Certificate, now: SystemTime) -> Result<()> {
    let validity = &cert.tbs_certificate.validity;
    if now < validity.not_before.to_system_time() {
        return Err(Error::CertificateNotYetValid {
            subject: subject(cert),
            not_before: validity.not_before.to_string(),
        });
    }
    if now > validity.not_after.to_system_time() {
        return Err(Error::CertificateExpired {
            subject: subject(cert),
            not_after: validity.not_after.to_string(),
        });
    }
    Ok(())
}

fn check_usage(cert: &Certificate, purpose: Purpose) -> Result<()> {
    let usage = cert.tbs_certificate.get::<KeyUsage>()?.map(|(_, u)| u);
    let allowed = match purpose {
        Purpose::Signing => usage.is_none_or(|u| u.digital_signature() || u.non_repudiation()),
        Purpose::Issuing => {
            let ca = cert
                .tbs_certificate
                .get::<BasicConstraints>()?
                .is_some_and(|(_, b)| b.ca);
            ca && usage.is_none_or(|u| u.key_cert_sign())
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(Error::KeyUsage {
            subject: subject(cert),
            purpose: match purpose {
                Purpose::Signing => "signing",
                Purpose::Issuing => "issuing certificates",
            },
        })
    }
}

//! The installation's private CA and server certificate, and the rustls configuration that
//! serves them.
//!
//! The server key is ECDSA P-256: every TLS handshake signs once, and P-256 signs about 30
//! times faster than RSA-2048 on these machines (ARCHITECTURE.md). Session resumption (tickets
//! and the session cache) is on, so returning clients skip the signature altogether.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The PEM files of a freshly made CA and server certificate.
pub struct Issued {
    /// The CA certificate clients trust.
    pub ca_pem: String,
    /// The server certificate followed by the CA certificate.
    pub chain_pem: String,
    /// The server's private key, PKCS#8.
    pub key_pem: String,
}

/// Makes a private CA (10 years) and a server certificate (2 years) for `localhost`,
/// `127.0.0.1`, `::1` and `domain`.
pub fn issue(domain: &str) -> anyhow::Result<Issued> {
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.distinguished_name
        .push(DnType::CommonName, format!("kxd private CA for {domain}"));
    let now = time::OffsetDateTime::now_utc();
    ca.not_before = now - time::Duration::days(1);
    ca.not_after = now + time::Duration::days(3650);
    let ca_cert = ca.self_signed(&ca_key)?;

    let key = KeyPair::generate()?;
    let mut server = CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
        domain.to_owned(),
    ])?;
    server.distinguished_name.push(DnType::CommonName, domain);
    server.not_before = now - time::Duration::days(1);
    server.not_after = now + time::Duration::days(730);
    let issuer = Issuer::from_params(&ca, &ca_key);
    let server_cert = server.signed_by(&key, &issuer)?;
    Ok(Issued {
        ca_pem: ca_cert.pem(),
        chain_pem: format!("{}{}", server_cert.pem(), ca_cert.pem()),
        key_pem: key.serialize_pem(),
    })
}

/// The server's certificate chain and private key, read from PEM files.
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Identity {
    /// Reads the chain and key `kxd init` wrote.
    pub fn load(chain: &Path, key: &Path) -> anyhow::Result<Identity> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(chain)
            .with_context(|| format!("cannot read {}", chain.display()))?
            .collect::<Result<_, _>>()
            .with_context(|| format!("{} is not a PEM certificate chain", chain.display()))?;
        let key = PrivateKeyDer::from_pem_file(key)
            .with_context(|| format!("{} is not a PEM private key", key.display()))?;
        Ok(Identity { chain: certs, key })
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls server configuration for a certificate chain and key in PEM files (server
/// authentication only).
pub fn server_config(chain: &Path, key: &Path) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let identity = Identity::load(chain, key)?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(identity.chain, identity.key)?;
    config.ticketer = rustls::crypto::ring::Ticketer::new()?;
    Ok(Arc::new(config))
}

/// The rustls configuration of the exchange's api listener: mutual TLS, where the client must
/// present a certificate that chains to one of `client_cas` (DER) and is valid for client
/// authentication; a missing or foreign certificate fails the handshake. With no CA yet (no
/// society set up), a throw-away CA whose key is discarded stands in, so every client fails.
pub fn mutual_config(
    identity: &Identity,
    client_cas: &[Vec<u8>],
) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let verifier = client_verifier(client_cas)?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())?;
    config.ticketer = rustls::crypto::ring::Ticketer::new()?;
    Ok(Arc::new(config))
}

fn client_verifier(
    client_cas: &[Vec<u8>],
) -> anyhow::Result<Arc<dyn rustls::server::danger::ClientCertVerifier>> {
    let mut roots = rustls::RootCertStore::empty();
    for ca in client_cas {
        if let Err(e) = roots.add(CertificateDer::from(ca.clone())) {
            tracing::warn!(error = %e, "a society CA certificate is unusable; skipped");
        }
    }
    if roots.is_empty() {
        let placeholder = issue("placeholder.invalid")?;
        let der = CertificateDer::from_pem_slice(placeholder.ca_pem.as_bytes())?;
        roots.add(der)?;
    }
    Ok(
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()?,
    )
}

/// Checks that `certificate` (DER) would be accepted by the api listener at time `at` if `ca`
/// (DER) were its only trusted CA: the chain, the validity at `at` and the client-auth usage,
/// by the very verifier the listener uses.
pub fn check_client_certificate(
    ca: &[u8],
    certificate: &[u8],
    at: rustls::pki_types::UnixTime,
) -> anyhow::Result<()> {
    let verifier = client_verifier(&[ca.to_vec()])?;
    let leaf = CertificateDer::from(certificate.to_vec());
    verifier
        .verify_client_cert(&leaf, &[], at)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_files_make_a_server_config() {
        let issued = issue("denso.test.kokuho").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("chain.pem"), &issued.chain_pem).unwrap();
        std::fs::write(dir.path().join("key.pem"), &issued.key_pem).unwrap();
        let config =
            server_config(&dir.path().join("chain.pem"), &dir.path().join("key.pem")).unwrap();
        assert!(config.ticketer.enabled());
        assert!(issued.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    }
}

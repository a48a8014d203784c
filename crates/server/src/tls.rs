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

/// The rustls server configuration for a certificate chain and key in PEM files.
pub fn server_config(chain: &Path, key: &Path) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(chain)
        .with_context(|| format!("cannot read {}", chain.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("{} is not a PEM certificate chain", chain.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("{} is not a PEM private key", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.ticketer = rustls::crypto::ring::Ticketer::new()?;
    Ok(Arc::new(config))
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

//! A throw-away CA and server certificate for the protocol tests, which serve TLS without a
//! `kxd` installation.

use std::path::PathBuf;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::ring::default_provider;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::{ClientConfig, RootCertStore, ServerConfig};

/// A private CA and a server certificate for `localhost`, `127.0.0.1`, `::1` and a domain,
/// made as `kxd init` makes them, as files in a temporary directory.
pub struct TestCa {
    dir: tempfile::TempDir,
    server_config: Arc<ServerConfig>,
}

impl TestCa {
    /// A fresh CA and server certificate naming `domain` too.
    pub fn new(domain: &str) -> TestCa {
        let issued = kx_listen::tls::issue(domain).expect("certificates");
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(dir.path().join("ca.pem"), &issued.ca_pem).expect("CA written");
        std::fs::write(dir.path().join("chain.pem"), &issued.chain_pem).expect("chain written");
        std::fs::write(dir.path().join("key.pem"), &issued.key_pem).expect("key written");
        let server_config = kx_listen::tls::server_config(
            &dir.path().join("chain.pem"),
            &dir.path().join("key.pem"),
        )
        .expect("a server configuration");
        TestCa { dir, server_config }
    }

    /// The CA certificate, PEM: what clients trust.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The server certificate followed by the CA's, PEM.
    pub fn chain_file(&self) -> PathBuf {
        self.dir.path().join("chain.pem")
    }

    /// The server's private key, PEM.
    pub fn key_file(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }

    /// The server side, as `kxd` configures it.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.server_config.clone())
    }

    /// A rustls client configuration that trusts only this CA.
    pub fn client_config(&self) -> Arc<ClientConfig> {
        let ca = CertificateDer::from_pem_file(self.ca_file()).expect("the CA certificate");
        let mut roots = RootCertStore::empty();
        roots.add(ca).expect("a usable CA certificate");
        let config = ClientConfig::builder_with_provider(Arc::new(default_provider()))
            .with_safe_default_protocol_versions()
            .expect("the default protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    }
}

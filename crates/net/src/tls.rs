//! The TLS client configuration: rustls with the *ring* provider.
//!
//! Trust comes from `--ca FILE` (the federation's private CA, as `kxd` issues one) or, without
//! it, from the operating system's store through `rustls-native-certs`. The system store was
//! chosen over a compiled-in list (`webpki-roots`) because a federation's CA or a company's
//! TLS-inspecting proxy is installed there by the administrator (`update-ca-certificates`),
//! and security updates of the list arrive with the system, not with a new `kx` build.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use rustls::{ClientConfig, RootCertStore};

use super::NetError;

/// A client configuration trusting the certificates of the PEM file `ca`, or the system's
/// trust store when there is none.
pub fn client_config(ca: Option<&Path>) -> Result<Arc<ClientConfig>, NetError> {
    let mut roots = RootCertStore::empty();
    match ca {
        Some(path) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .and_then(Iterator::collect)
                .map_err(|e| NetError::Tls(format!("cannot read {}: {e}", path.display())))?;
            if certs.is_empty() {
                return Err(NetError::Tls(format!(
                    "{} holds no PEM certificate",
                    path.display()
                )));
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| NetError::Tls(format!("{}: {e}", path.display())))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _ignored) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(NetError::Tls(
                    "the system trust store holds no usable certificate; pass --ca FILE".into(),
                ));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| NetError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

//! Trust for outgoing TLS connections, loaded one way for every client of the process (the
//! data plane's backends, the remote Lambda endpoint): rustls with the `ring` provider, the
//! system's root certificates plus the operator's CA files (`--backend-ca-file`).

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use tokio_rustls::TlsConnector;

/// Why the roots could not be set up; both stop the server at start-up.
#[derive(Debug, thiserror::Error)]
pub enum RootsError {
    #[error("cannot read backend CA file {0}: {1}")]
    CaFile(String, String),
    #[error("cannot set up TLS for backends: {0}")]
    Tls(String),
}

type TlsBuilder = rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier>;

/// The trusted roots and the TLS client configuration made from them.
pub struct Roots {
    /// Provider and protocol versions, checked at start-up.
    builder: TlsBuilder,
    /// Operator CA files, read and parsed at start-up so a bad file stops the server.
    extra: Vec<CertificateDer<'static>>,
    /// Built on first use: reading the system's roots costs milliseconds that start-up (and a
    /// process that never opens a TLS connection) should not pay.
    connector: OnceLock<TlsConnector>,
}

impl Roots {
    /// Reads and checks `ca_files` (PEM, at least one certificate each, every one usable as a
    /// trust anchor); the system's roots are read later, by the first [`Roots::connector`].
    pub fn new(ca_files: &[PathBuf]) -> Result<Roots, RootsError> {
        let mut extra = Vec::new();
        let mut check = rustls::RootCertStore::empty();
        for path in ca_files {
            let bad = |e: String| RootsError::CaFile(path.display().to_string(), e);
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|e| bad(e.to_string()))?
                .collect::<Result<_, _>>()
                .map_err(|e| bad(e.to_string()))?;
            if certs.is_empty() {
                return Err(bad("no PEM certificates in it".into()));
            }
            for c in certs {
                check.add(c.clone()).map_err(|e| bad(e.to_string()))?;
                extra.push(c);
            }
        }
        // `ring` explicitly: test builds also compile aws-lc-rs (for the SDK), and with two
        // providers rustls would not pick one by itself.
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| RootsError::Tls(e.to_string()))?;
        Ok(Roots {
            builder,
            extra,
            connector: OnceLock::new(),
        })
    }

    /// The TLS connector (HTTP/1.1 by ALPN) trusting the system's roots and the operator's,
    /// built once.
    pub fn connector(&self) -> &TlsConnector {
        self.connector.get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            let native = rustls_native_certs::load_native_certs();
            for e in &native.errors {
                tracing::debug!(error = %e, "a system root certificate could not be loaded");
            }
            let (_added, _ignored) = roots.add_parsable_certificates(native.certs);
            // Each parsed and added once already in `new`.
            let (_added, _ignored) = roots.add_parsable_certificates(self.extra.clone());
            let mut config = self
                .builder
                .clone()
                .with_root_certificates(roots)
                .with_no_client_auth();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            TlsConnector::from(Arc::new(config))
        })
    }

    /// True once [`Roots::connector`] has read the system's roots.
    pub fn is_loaded(&self) -> bool {
        self.connector.get().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_ca_files_are_named_in_the_error() {
        let e = Roots::new(&[PathBuf::from("/nonexistent/ca.pem")])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("backend CA file /nonexistent/ca.pem"), "{e}");
        let empty =
            std::env::temp_dir().join(format!("apigw-http1-empty-{}.pem", std::process::id()));
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = Roots::new(std::slice::from_ref(&empty))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        let _ = std::fs::remove_file(&empty);
        assert!(e.contains("no PEM certificates"), "{e}");
    }

    #[test]
    fn nothing_is_loaded_before_the_first_connector() {
        let roots = Roots::new(&[]).unwrap();
        assert!(!roots.is_loaded());
    }
}

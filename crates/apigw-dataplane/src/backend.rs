//! Connections to HTTP backends: one HTTP/1.1 keep-alive pool per TLS server name, rustls with
//! the `ring` provider, the system's roots plus operator-supplied CA files.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Body;
use hyper_rustls::{FixedServerNameResolver, HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

pub type HttpClient = Client<HttpsConnector<HttpConnector>, Body>;

#[derive(Debug, thiserror::Error)]
pub enum BackendSetupError {
    #[error("cannot read backend CA file {0}: {1}")]
    CaFile(String, String),
    #[error("cannot set up TLS for backends: {0}")]
    Tls(String),
}

/// Distinguishes `Backends` instances in the per-thread pool cache.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's pool for plain and default-TLS backends: with one event loop per thread
    /// (`--io-threads`) a request then never waits on a connection driven by another thread.
    static LOCAL_DEFAULT: RefCell<Option<(u64, Arc<HttpClient>)>> = const { RefCell::new(None) };
}

type TlsBuilder = rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier>;

pub struct Backends {
    id: u64,
    /// Provider and protocol versions, checked at start-up.
    tls_builder: TlsBuilder,
    /// Operator CA files, read and parsed at start-up so a bad file stops the server.
    extra_roots: Vec<CertificateDer<'static>>,
    /// Built on first use: reading the system's roots costs milliseconds that start-up
    /// (and the control plane, which never needs them) should not pay.
    tls: OnceLock<rustls::ClientConfig>,
    /// Clients whose TLS server name is fixed by `tlsConfig.serverNameToVerify`.
    by_server_name: Mutex<HashMap<String, Arc<HttpClient>>>,
}

impl Backends {
    pub fn new(ca_files: &[PathBuf]) -> Result<Backends, BackendSetupError> {
        let mut extra_roots = Vec::new();
        let mut check = rustls::RootCertStore::empty();
        for path in ca_files {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|e| BackendSetupError::CaFile(path.display().to_string(), e.to_string()))?
                .collect::<Result<_, _>>()
                .map_err(|e| {
                    BackendSetupError::CaFile(path.display().to_string(), e.to_string())
                })?;
            if certs.is_empty() {
                return Err(BackendSetupError::CaFile(
                    path.display().to_string(),
                    "no PEM certificates in it".into(),
                ));
            }
            for c in certs {
                check.add(c.clone()).map_err(|e| {
                    BackendSetupError::CaFile(path.display().to_string(), e.to_string())
                })?;
                extra_roots.push(c);
            }
        }
        // `ring` explicitly: test builds also compile aws-lc-rs (for the SDK), and with two
        // providers rustls would not pick one by itself.
        let tls_builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| BackendSetupError::Tls(e.to_string()))?;
        Ok(Backends {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            tls_builder,
            extra_roots,
            tls: OnceLock::new(),
            by_server_name: Mutex::new(HashMap::new()),
        })
    }

    /// The TLS configuration: the system's roots plus the operator's, loaded once.
    fn tls(&self) -> &rustls::ClientConfig {
        self.tls.get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            let native = rustls_native_certs::load_native_certs();
            for e in &native.errors {
                tracing::debug!(error = %e, "a system root certificate could not be loaded");
            }
            let (_added, _ignored) = roots.add_parsable_certificates(native.certs);
            // Each parsed and added once already at start-up.
            let (_added, _ignored) = roots.add_parsable_certificates(self.extra_roots.clone());
            self.tls_builder
                .clone()
                .with_root_certificates(roots)
                .with_no_client_auth()
        })
    }

    /// The pool to use; `server_name` overrides SNI and certificate verification.
    pub fn client(&self, server_name: Option<&str>) -> Arc<HttpClient> {
        let Some(name) = server_name else {
            return LOCAL_DEFAULT.with(|local| {
                if let Some((id, c)) = &*local.borrow() {
                    if *id == self.id {
                        return c.clone();
                    }
                }
                let c = Arc::new(build_client(self.tls(), None));
                *local.borrow_mut() = Some((self.id, c.clone()));
                c
            });
        };
        let mut map = self
            .by_server_name
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(c) = map.get(name) {
            return c.clone();
        }
        let c = Arc::new(build_client(self.tls(), Some(name)));
        map.insert(name.to_string(), c.clone());
        c
    }
}

fn build_client(tls: &rustls::ClientConfig, server_name: Option<&str>) -> HttpClient {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    let builder = HttpsConnectorBuilder::new()
        .with_tls_config(tls.clone())
        .https_or_http();
    let builder = match server_name.and_then(|n| ServerName::try_from(n.to_string()).ok()) {
        Some(name) => builder.with_server_name_resolver(FixedServerNameResolver::new(name)),
        None => builder,
    };
    let connector = builder.enable_http1().wrap_connector(http);
    Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(std::time::Duration::from_secs(60))
        .build(connector)
}

/// True when the failure was the backend's certificate (500, not 503: data-plane.md §10 #6).
pub fn is_tls_failure(err: &(dyn std::error::Error + 'static)) -> bool {
    if err.downcast_ref::<rustls::Error>().is_some() {
        return true;
    }
    // `io::Error` hides a wrapped error from `source()`; look inside it.
    if let Some(inner) = err
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        if is_tls_failure(inner) {
            return true;
        }
    }
    err.source().is_some_and(is_tls_failure)
}

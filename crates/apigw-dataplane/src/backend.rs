//! Connections to HTTP backends: HTTP/1.1 keep-alive pools kept per event loop and per backend
//! origin, rustls with the `ring` provider, the system's roots plus operator-supplied CA files.
//!
//! Why not hyper-util's pooled client: per request it hashes the pool key with SipHash, races
//! a pool checkout against a lazy connect, rewrites the URI and spawns a task to put the
//! connection back. Here the pool is a stack of idle connections looked up by the origin text
//! the request already has, and a connection goes back when its response body ends: about a
//! fifth of the instructions a proxied request costs (bench/proxy-instructions.sh).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::future::poll_fn;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body::{Body as _, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_rustls::{FixedServerNameResolver, HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use rustc_hash::FxHashMap;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

type Connector = HttpsConnector<HttpConnector>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An idle connection older than this is closed rather than reused (hyper-util's and nginx's
/// upstream default), so a backend's own idle timeout rarely races a request.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Idle connections kept per origin and event loop; more are closed when they come back.
const MAX_IDLE: usize = 512;

#[derive(Debug, thiserror::Error)]
pub enum BackendSetupError {
    #[error("cannot read backend CA file {0}: {1}")]
    CaFile(String, String),
    #[error("cannot set up TLS for backends: {0}")]
    Tls(String),
}

/// Why a backend call failed; the data plane turns it into 503 (or 500 for TLS, §10 #6).
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("backend origin {0:?} is not an http(s) URL")]
    Origin(String),
    #[error("cannot connect to the backend: {0}")]
    Connect(#[source] BoxError),
    #[error("backend request failed: {0}")]
    Request(#[source] hyper::Error),
}

impl BackendError {
    /// The message with its causes (`tcp connect error: Connection refused (os error 111)`),
    /// for `$context.integrationErrorMessage` and the server log.
    pub fn detail(&self) -> String {
        let mut out = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(e) = cause {
            let text = e.to_string();
            if !out.ends_with(&text) {
                out.push_str(": ");
                out.push_str(&text);
            }
            cause = e.source();
        }
        out
    }

    /// True when the failure was the backend's certificate.
    pub fn is_tls_failure(&self) -> bool {
        match self {
            BackendError::Origin(_) => false,
            BackendError::Connect(e) => is_tls_failure(&**e),
            BackendError::Request(e) => is_tls_failure(e),
        }
    }
}

/// Distinguishes `Backends` instances in the per-thread pool map.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's pools by origin: with one event loop per thread (`--io-threads`) a
    /// request never waits on a connection another thread drives, and the lookup takes no lock.
    static POOLS: RefCell<(u64, PoolsByOrigin)> = RefCell::new((0, FxHashMap::default()));
}

/// Key: `scheme://authority`, with `#serverName` when `tlsConfig.serverNameToVerify` is set.
type PoolsByOrigin = FxHashMap<Box<str>, Arc<OriginPool>>;

/// Idle keep-alive connections to one origin, newest last.
#[derive(Default)]
struct OriginPool {
    // A Mutex, not a RefCell: a response body can finish on another thread of a work-stealing
    // runtime and bring its connection back from there. Never contended on one event loop.
    idle: Mutex<VecDeque<IdleConnection>>,
}

struct IdleConnection {
    sender: SendRequest<Body>,
    since: Instant,
}

impl OriginPool {
    fn take(&self) -> Option<SendRequest<Body>> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(c) = idle.pop_back() {
            if c.since.elapsed() > IDLE_TIMEOUT {
                // Everything below the newest is older still.
                idle.clear();
                return None;
            }
            if !c.sender.is_closed() {
                return Some(c.sender);
            }
        }
        None
    }

    fn put(&self, sender: SendRequest<Body>) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() >= MAX_IDLE {
            idle.pop_front();
        }
        idle.push_back(IdleConnection {
            sender,
            since: Instant::now(),
        });
    }
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
    /// Connectors by `tlsConfig.serverNameToVerify` (`None`: the URL's host); used only to
    /// open connections.
    connectors: Mutex<HashMap<Option<String>, Connector>>,
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
            connectors: Mutex::new(HashMap::new()),
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

    /// Sends `req` (origin-form URI, `Host` set) to `origin` (`scheme://authority`) on an
    /// idle keep-alive connection, or a new one. `server_name` overrides SNI and certificate
    /// verification. The response body gives the connection back to the pool when it ends.
    pub async fn send(
        &self,
        origin: &str,
        server_name: Option<&str>,
        mut req: Request<Body>,
    ) -> Result<Response<Body>, BackendError> {
        let pool = match server_name {
            None => self.pool(origin),
            // `#` cannot occur in an origin, so the two kinds of key never collide.
            Some(name) => self.pool(&format!("{origin}#{name}")),
        };
        while let Some(mut sender) = pool.take() {
            // Ready at once unless the connection is still finishing the last exchange.
            if poll_fn(|cx| sender.poll_ready(cx)).await.is_err() {
                continue;
            }
            match sender.try_send_request(req).await {
                Ok(resp) => return Ok(pooled_response(resp, sender, pool)),
                Err(mut e) => match e.take_message() {
                    // The connection closed before taking the request (the backend's idle
                    // timeout won the race): nothing was sent, so another connection may.
                    Some(r) => req = r,
                    None => return Err(BackendError::Request(e.into_error())),
                },
            }
        }
        // Boxed: the connect future (TCP, TLS, handshake) is most of this function's state,
        // and keeping it inline would make every pooled request's future carry and copy it.
        let mut sender = Box::pin(self.connect(origin, server_name)).await?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(BackendError::Request)?;
        Ok(pooled_response(resp, sender, pool))
    }

    /// This thread's pool for a key.
    fn pool(&self, key: &str) -> Arc<OriginPool> {
        POOLS.with(|pools| {
            let mut pools = pools.borrow_mut();
            if pools.0 != self.id {
                *pools = (self.id, FxHashMap::default());
            }
            if let Some(p) = pools.1.get(key) {
                return p.clone();
            }
            let p = Arc::new(OriginPool::default());
            pools.1.insert(key.into(), p.clone());
            p
        })
    }

    async fn connect(
        &self,
        origin: &str,
        server_name: Option<&str>,
    ) -> Result<SendRequest<Body>, BackendError> {
        let uri: Uri = origin
            .parse()
            .map_err(|_| BackendError::Origin(origin.to_string()))?;
        let mut connector = self.connector(server_name);
        poll_fn(|cx| tower_service::Service::<Uri>::poll_ready(&mut connector, cx))
            .await
            .map_err(BackendError::Connect)?;
        let io = tower_service::Service::call(&mut connector, uri)
            .await
            .map_err(BackendError::Connect)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(BackendError::Request)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "backend connection ended with an error");
            }
        });
        Ok(sender)
    }

    fn connector(&self, server_name: Option<&str>) -> Connector {
        let mut map = self.connectors.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = map.get(&server_name.map(str::to_string)) {
            return c.clone();
        }
        let c = build_connector(self.tls(), server_name);
        map.insert(server_name.map(str::to_string), c.clone());
        c
    }
}

fn build_connector(tls: &rustls::ClientConfig, server_name: Option<&str>) -> Connector {
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
    builder.enable_http1().wrap_connector(http)
}

fn pooled_response(
    resp: Response<Incoming>,
    sender: SendRequest<Body>,
    pool: Arc<OriginPool>,
) -> Response<Body> {
    let (parts, inner) = resp.into_parts();
    if inner.is_end_stream() {
        // No body to wait for (HEAD, 204, 304, `Content-Length: 0`).
        pool.put(sender);
        return Response::from_parts(parts, Body::new(inner));
    }
    let body = PooledBody {
        inner,
        ended: false,
        connection: Some((sender, pool)),
    };
    Response::from_parts(parts, Body::new(body))
}

/// A backend's response body that gives its connection back to the pool once read to the
/// end. Dropped earlier (the client went away), the connection is closed with it: HTTP/1.1
/// cannot reuse a connection with part of a response unread.
struct PooledBody {
    inner: Incoming,
    ended: bool,
    connection: Option<(SendRequest<Body>, Arc<OriginPool>)>,
}

impl http_body::Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let frame = std::task::ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if frame.is_none() {
            self.ended = true;
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        // The server stops polling once `is_end_stream` says so, hence both tests.
        if self.ended || self.inner.is_end_stream() {
            if let Some((sender, pool)) = self.connection.take() {
                pool.put(sender);
            }
        }
    }
}

/// True when the failure was the backend's certificate (500, not 503: data-plane.md §10 #6).
fn is_tls_failure(err: &(dyn std::error::Error + 'static)) -> bool {
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

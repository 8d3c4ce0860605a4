//! Connections to HTTP backends: HTTP/1.1 keep-alive pools kept per event loop and per backend
//! origin; TLS trusts what `apigw_http1::tls::Roots` loads (the system's roots plus the
//! operator's CA files).
//!
//! Why not hyper-util's pooled client: per request it hashes the pool key with SipHash, races
//! a pool checkout against a lazy connect, rewrites the URI, spawns a task to put the
//! connection back, and hyper's client connection runs a task of its own that each request
//! and response cross by channel. Here the pool is a stack of idle connections looked up by
//! the origin text the request already has, the request's task does the exchange itself
//! (`http1`), and a connection goes back when its response body ends.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use http::{Request, Response};
use rustc_hash::FxHashMap;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

pub use apigw_http1::client::ExchangeError;
use apigw_http1::client::{self as http1, Connection, ConnectionPool, RequestHead, Stream};
pub use apigw_http1::tls::RootsError as BackendSetupError;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An idle connection older than this is closed rather than reused (hyper-util's and nginx's
/// upstream default), so a backend's own idle timeout rarely races a request.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Idle connections kept per origin and event loop; more are closed when they come back.
const MAX_IDLE: usize = 512;

/// Why a backend call failed; the data plane turns it into 503 (or 500 for TLS, §10 #6).
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("backend origin {0:?} is not an http(s) URL")]
    Origin(String),
    #[error("cannot connect to the backend: {0}")]
    Connect(#[source] BoxError),
    #[error("backend request failed: {0}")]
    Request(#[source] ExchangeError),
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
    idle: Mutex<VecDeque<Connection>>,
}

impl OriginPool {
    fn take(&self) -> Option<Connection> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(mut c) = idle.pop_back() {
            if c.since.elapsed() > IDLE_TIMEOUT {
                // Everything below the newest is older still.
                idle.clear();
                return None;
            }
            if c.is_open() {
                return Some(c);
            }
        }
        None
    }
}

impl ConnectionPool for OriginPool {
    fn put(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() >= MAX_IDLE {
            idle.pop_front();
        }
        idle.push_back(conn);
    }
}

pub struct Backends {
    id: u64,
    /// Trusted roots and the TLS connector made from them (system roots read on first use).
    roots: apigw_http1::tls::Roots,
}

impl Backends {
    pub fn new(ca_files: &[PathBuf]) -> Result<Backends, BackendSetupError> {
        Ok(Backends {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            roots: apigw_http1::tls::Roots::new(ca_files)?,
        })
    }

    /// Sends `req` (origin-form URI, `Host` set) to `origin` (`scheme://authority`) on an
    /// idle keep-alive connection, or a new one. `server_name` overrides SNI and certificate
    /// verification. The response body gives the connection back to the pool when it ends.
    pub async fn send(
        &self,
        origin: &str,
        server_name: Option<&str>,
        req: Request<Body>,
    ) -> Result<Response<Body>, BackendError> {
        let pool = match server_name {
            None => self.pool(origin),
            // `#` cannot occur in an origin, so the two kinds of key never collide.
            Some(name) => self.pool(&format!("{origin}#{name}")),
        };
        let head = RequestHead::encode(&req);
        let mut body = req.into_body();
        while let Some(conn) = pool.take() {
            match http1::exchange(conn, &head, &mut body, &pool).await {
                Ok(resp) => return Ok(resp),
                // The backend closed the idle connection as the request went out (its idle
                // timeout won the race): when nothing can have been acted on, another may.
                Err(e) if head.retryable(&e) => continue,
                Err(e) => return Err(BackendError::Request(e)),
            }
        }
        // Boxed: the connect future (DNS, TCP, TLS) is most of this function's state, and
        // keeping it inline would make every pooled request's future carry and copy it.
        let conn = Box::pin(self.connect(origin, server_name)).await?;
        http1::exchange(conn, &head, &mut body, &pool)
            .await
            .map_err(BackendError::Request)
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
    ) -> Result<Connection, BackendError> {
        let bad_origin = || BackendError::Origin(origin.to_string());
        let (tls, host, port) = split_origin(origin).ok_or_else(bad_origin)?;
        let tcp = connect_tcp(host, port)
            .await
            .map_err(|e| BackendError::Connect(Box::new(ConnectError::Tcp(e))))?;
        // No Nagle delay: a request's head and body may leave in separate writes.
        let _ = tcp.set_nodelay(true);
        if !tls {
            return Ok(Connection::new(Stream::Plain(tcp)));
        }
        // SNI and the name the certificate must hold: `serverNameToVerify`, else (or when
        // it is not a usable name) the URL's host.
        let name = server_name
            .and_then(|n| ServerName::try_from(n.to_string()).ok())
            .or_else(|| ServerName::try_from(host.trim_matches(['[', ']']).to_string()).ok())
            .ok_or_else(bad_origin)?;
        let stream = self
            .roots
            .connector()
            .connect(name, tcp)
            .await
            .map_err(|e| BackendError::Connect(Box::new(ConnectError::Tls(e))))?;
        Ok(Connection::new(Stream::Tls(Box::new(stream))))
    }
}

/// Which step of opening a connection failed (in hyper-util's words, which the server log and
/// `$context.integrationErrorMessage` showed before).
#[derive(Debug, thiserror::Error)]
enum ConnectError {
    #[error("tcp connect error")]
    Tcp(#[source] std::io::Error),
    #[error("tls handshake error")]
    Tls(#[source] std::io::Error),
}

/// `http://u@host:8080` → (false, "host", 8080); `https://[::1]` → (true, "[::1]", 443).
fn split_origin(origin: &str) -> Option<(bool, &str, u16)> {
    let (tls, authority) = if let Some(rest) = origin.strip_prefix("http://") {
        (false, rest)
    } else if let Some(rest) = origin.strip_prefix("https://") {
        (true, rest)
    } else {
        return None;
    };
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let default_port = if tls { 443 } else { 80 };
    let (host, port) = if host_port.starts_with('[') {
        let end = host_port.find(']')?;
        match &host_port[end + 1..] {
            "" => (&host_port[..=end], default_port),
            p => (&host_port[..=end], p.strip_prefix(':')?.parse().ok()?),
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().ok()?),
            None => (host_port, default_port),
        }
    };
    (!host.is_empty()).then_some((tls, host, port))
}

/// Connects to the first address of `host` that answers (getaddrinfo order).
async fn connect_tcp(host: &str, port: u16) -> std::io::Result<TcpStream> {
    let mut last = None;
    for addr in tokio::net::lookup_host((host.trim_matches(['[', ']']), port)).await? {
        match TcpStream::connect(addr).await {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{host} resolves to no address"),
        )
    }))
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

#[cfg(test)]
mod tests {
    use super::split_origin;

    #[test]
    fn origins_split_into_scheme_host_and_port() {
        assert_eq!(split_origin("http://h"), Some((false, "h", 80)));
        assert_eq!(split_origin("https://u:p@h:8443"), Some((true, "h", 8443)));
        assert_eq!(split_origin("https://[::1]"), Some((true, "[::1]", 443)));
        assert_eq!(split_origin("http://[::1]:9"), Some((false, "[::1]", 9)));
        assert_eq!(split_origin("http://h:x"), None);
        assert_eq!(split_origin("http://"), None);
        assert_eq!(split_origin("ftp://h"), None);
    }
}

//! The key sets JWT authorizers verify tokens with (authorizers.md §2.3): the issuer's OpenID
//! discovery document names its `jwks_uri`, whose key set is fetched over the backends' client
//! (system roots plus `--backend-ca-file`; `http://` issuers work, for local identity providers),
//! cached per issuer for two hours, and fetched again, at most once a minute, when a token names
//! a key the cached set lacks. Failed fetches are not cached.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apigw_dataplane_rules::jwt::{Denial, KeySet};
use axum::body::Body;
use bytes::Bytes;
use http::Request;
use rustc_hash::FxHashMap;

use crate::backend::Backends;

/// "API Gateway can cache the public keys for two hours."
const KEEP: Duration = Duration::from_secs(2 * 3600);
/// An unknown `kid` refetches the set at most this often (a token with a made-up `kid` must
/// not make the gateway hammer the issuer).
const REFETCH_AFTER: Duration = Duration::from_secs(60);
/// AWS's limits on each fetch (authorizers.md §1.8).
const FETCH_TIMEOUT: Duration = Duration::from_millis(1500);
const MAX_BODY: usize = 150_000;

struct Cached {
    keys: Arc<KeySet>,
    fetched: Instant,
    /// When a token's unknown `kid` last made the set be fetched again.
    refetched: Option<Instant>,
}

/// Key sets by issuer.
#[derive(Default)]
pub struct JwksCache {
    by_issuer: Mutex<FxHashMap<String, Cached>>,
}

impl JwksCache {
    fn cached(&self, issuer: &str) -> Option<(Arc<KeySet>, Instant, Option<Instant>)> {
        let map = self.by_issuer.lock().unwrap_or_else(|e| e.into_inner());
        map.get(issuer)
            .map(|c| (c.keys.clone(), c.fetched, c.refetched))
    }

    /// The key set to verify a token naming `kid` with: the cached one while it is fresh and
    /// holds `kid` (or was fetched under a minute ago), else a new fetch.
    pub async fn keys(
        &self,
        backends: &Backends,
        issuer: &str,
        kid: Option<&str>,
    ) -> Result<Arc<KeySet>, Denial> {
        let now = Instant::now();
        let mut refetch = None;
        if let Some((keys, fetched, refetched)) = self.cached(issuer) {
            let fresh = now.saturating_duration_since(fetched) < KEEP;
            let has_kid = kid.is_none_or(|k| keys.get(k).is_some());
            let may_refetch =
                refetched.is_none_or(|at| now.saturating_duration_since(at) >= REFETCH_AFTER);
            if fresh && (has_kid || !may_refetch) {
                return Ok(keys);
            }
            if fresh {
                refetch = Some(now);
            }
        }
        let keys = Arc::new(fetch(backends, issuer).await?);
        self.by_issuer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                issuer.to_string(),
                Cached {
                    keys: keys.clone(),
                    fetched: Instant::now(),
                    refetched: refetch,
                },
            );
        Ok(keys)
    }
}

/// Discovery, then the key set.
async fn fetch(backends: &Backends, issuer: &str) -> Result<KeySet, Denial> {
    let discovery = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let doc: serde_json::Value =
        serde_json::from_slice(&get(backends, &discovery).await?).map_err(|_| unavailable())?;
    let jwks_uri = doc
        .get("jwks_uri")
        .and_then(|v| v.as_str())
        .ok_or_else(unavailable)?;
    KeySet::parse(&get(backends, jwks_uri).await?)
}

fn unavailable() -> Denial {
    Denial::KeysUnavailable
}

/// A GET that must answer 200 with at most `MAX_BODY` bytes within `FETCH_TIMEOUT`.
async fn get(backends: &Backends, url: &str) -> Result<Bytes, Denial> {
    let (origin, path, query) = crate::proxy::split_uri(url).ok_or_else(unavailable)?;
    let target = match (path.is_empty(), query.is_empty()) {
        (true, true) => "/".to_string(),
        (false, true) => path.to_string(),
        (true, false) => format!("/?{query}"),
        (false, false) => format!("{path}?{query}"),
    };
    let mut req = Request::new(Body::empty());
    *req.uri_mut() = http::Uri::try_from(target).map_err(|_| unavailable())?;
    let host = crate::proxy::host_header(origin).ok_or_else(unavailable)?;
    req.headers_mut().insert(http::header::HOST, host);
    req.headers_mut().insert(
        http::header::ACCEPT,
        http::HeaderValue::from_static("application/json"),
    );
    let call = async {
        let resp = backends.send(origin, None, req).await.map_err(|e| {
            tracing::debug!(url, error = %e.detail(), "fetching a JWT issuer's keys failed");
            unavailable()
        })?;
        if resp.status() != http::StatusCode::OK {
            tracing::debug!(url, status = %resp.status(), "a JWT issuer's keys: not 200");
            return Err(unavailable());
        }
        axum::body::to_bytes(resp.into_body(), MAX_BODY)
            .await
            .map_err(|_| unavailable())
    };
    tokio::time::timeout(FETCH_TIMEOUT, call)
        .await
        .map_err(|_| unavailable())?
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// An identity provider on loopback: discovery and a key set with `kids`, counting the
    /// key-set fetches.
    async fn provider(kids: &'static [&'static str]) -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let addr = listener.local_addr().expect("addr");
        let issuer = format!("http://{addr}/realm");
        let jwks_fetches = Arc::new(AtomicUsize::new(0));
        let count = jwks_fetches.clone();
        let base = issuer.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let (base, count) = (base.clone(), count.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0; 4096];
                    let n = s.read(&mut buf).await.unwrap_or(0);
                    let head = String::from_utf8_lossy(&buf[..n]).to_string();
                    let body = if head.starts_with("GET /realm/.well-known/openid-configuration ") {
                        format!(r#"{{"issuer":"{base}","jwks_uri":"{base}/keys"}}"#)
                    } else if head.starts_with("GET /realm/keys ") {
                        count.fetch_add(1, Ordering::SeqCst);
                        let keys: Vec<String> = kids
                            .iter()
                            .map(|k| {
                                format!(r#"{{"kty":"RSA","kid":"{k}","n":"AQAB","e":"AQAB"}}"#)
                            })
                            .collect();
                        format!(r#"{{"keys":[{}]}}"#, keys.join(","))
                    } else {
                        let _ = s
                            .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                            .await;
                        return;
                    };
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = s.write_all(resp.as_bytes()).await;
                });
            }
        });
        (issuer, jwks_fetches)
    }

    #[tokio::test]
    async fn fetches_once_and_refetches_for_unknown_kids_at_most_once_a_minute() {
        let (issuer, fetches) = provider(&["k1", "k2"]).await;
        let backends = Backends::new(&[]).expect("backends");
        let cache = JwksCache::default();
        let keys = cache
            .keys(&backends, &issuer, Some("k1"))
            .await
            .expect("keys");
        assert_eq!(keys.len(), 2);
        // Cached: a known kid. An unknown one fetches again, once within the minute.
        for kid in ["k2", "k9", "k8"] {
            cache
                .keys(&backends, &issuer, Some(kid))
                .await
                .expect("keys");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
        // A trailing slash on the issuer still finds the discovery document.
        let other = JwksCache::default();
        other
            .keys(&backends, &format!("{issuer}/"), None)
            .await
            .expect("keys");
        assert_eq!(fetches.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn an_unreachable_or_wrong_issuer_denies() {
        let backends = Backends::new(&[]).expect("backends");
        let cache = JwksCache::default();
        // Nothing listens there.
        let dead = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let addr = dead.local_addr().expect("addr");
        drop(dead);
        assert_eq!(
            cache
                .keys(&backends, &format!("http://{addr}"), Some("k"))
                .await
                .err(),
            Some(Denial::KeysUnavailable)
        );
        // A provider, but not at that path: 404.
        let (issuer, _) = provider(&["k1"]).await;
        let wrong = issuer.replace("/realm", "/other");
        assert_eq!(
            cache.keys(&backends, &wrong, Some("k1")).await.err(),
            Some(Denial::KeysUnavailable)
        );
    }
}

//! HTTP_PROXY integrations (data-plane.md §2): the backend URL, method and headers, the body
//! streamed both ways, timeouts and connection failures.

use std::borrow::Cow;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

use axum::body::Body;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, Uri};

use apigw_dataplane_rules::context::RequestContext;
use apigw_dataplane_rules::mapping::RequestView;
use apigw_model::limits::HTTP_API_PAYLOAD;

use crate::body::LimitedBody;
use crate::response::GatewayError;
use crate::routing::RouteMatch;
use crate::snapshot::{HttpProxyPlan, RouteTarget, StageEntry};
use crate::DataPlane;

const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");
const TRAILERS: HeaderName = HeaderName::from_static("trailers");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
const X_AMZN_TRACE_ID: HeaderName = HeaderName::from_static("x-amzn-trace-id");

/// Hop-by-hop headers (RFC 9110 §7.6.1), as parsed names so removing them hashes nothing new.
/// `Connection` first: `strip_hop_by_hop` reads its bit.
const HOP_BY_HOP: [HeaderName; 10] = [
    header::CONNECTION,
    KEEP_ALIVE,
    PROXY_CONNECTION,
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    TRAILERS,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// `name`'s place in [`HOP_BY_HOP`]: one string match instead of ten name comparisons.
fn hop_by_hop_index(name: &HeaderName) -> Option<usize> {
    Some(match name.as_str() {
        "connection" => 0,
        "keep-alive" => 1,
        "proxy-connection" => 2,
        "proxy-authenticate" => 3,
        "proxy-authorization" => 4,
        "te" => 5,
        "trailer" => 6,
        "trailers" => 7,
        "transfer-encoding" => 8,
        "upgrade" => 9,
        _ => return None,
    })
}

pub(crate) fn strip_hop_by_hop(h: &mut HeaderMap) {
    // One pass over the names finds the hop-by-hop ones present (usually none, or just
    // `Connection: keep-alive` on a backend's answer), as bits; only those are removed.
    let mut present: u16 = 0;
    for name in h.keys() {
        if let Some(i) = hop_by_hop_index(name) {
            present |= 1 << i;
        }
    }
    if present == 0 {
        return;
    }
    // Headers listed in `Connection` are hop-by-hop too (rare beyond close / keep-alive).
    let lists_others = |v: &HeaderValue| {
        let v = v.as_bytes();
        !v.eq_ignore_ascii_case(b"keep-alive") && !v.eq_ignore_ascii_case(b"close")
    };
    if present & 1 != 0 && h.get_all(header::CONNECTION).iter().any(lists_others) {
        let listed: Vec<HeaderName> = h
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|n| {
                !n.is_empty()
                    && !n.eq_ignore_ascii_case("close")
                    && !n.eq_ignore_ascii_case("keep-alive")
            })
            .filter_map(|n| HeaderName::from_bytes(n.as_bytes()).ok())
            .collect();
        for n in &listed {
            h.remove(n);
        }
    }
    for (i, name) in HOP_BY_HOP.iter().enumerate() {
        if present & (1 << i) != 0 {
            h.remove(name);
        }
    }
}

/// What the request brings to the integration.
pub struct ProxyRequest<'a> {
    pub method: Method,
    pub headers: HeaderMap,
    pub body: Body,
    /// Stage-relative path as received (`$request.path`).
    pub route_path: &'a str,
    /// `/prod` for a named stage, `` for `$default`.
    pub stage_prefix: &'a str,
    pub raw_query: Option<&'a str>,
    pub client: &'a crate::Client,
    pub stage: &'a StageEntry,
    pub route: &'a RouteMatch<'a, RouteTarget>,
    pub context: &'a RequestContext,
    /// What the route's authorizer let through (for a Lambda event's
    /// `requestContext.authorizer`).
    pub authorized: Option<&'a crate::authorizer::Authorized>,
}

impl<'a> ProxyRequest<'a> {
    /// `(name, decoded value)` of the route's path variables, for [`ProxyRequest::view`].
    pub(crate) fn path_parameters(&self) -> Vec<(&'a str, &str)> {
        self.route
            .path_parameters
            .iter()
            .map(|p| (p.name, p.value.as_str()))
            .collect()
    }

    /// The original request as parameter mapping reads it (§3: every value is evaluated
    /// against the request as received).
    pub(crate) fn view<'v>(
        &'v self,
        path_parameters: &'v Vec<(&'v str, &'v str)>,
        body: Option<&'v [u8]>,
    ) -> RequestView<'v> {
        RequestView {
            method: self.method.as_str(),
            path: if self.route_path.is_empty() {
                "/"
            } else {
                self.route_path
            },
            path_parameters,
            raw_query: self.raw_query,
            headers: &self.headers,
            body,
            context: self.context,
            stage_variables: &self.stage.stage_variables,
        }
    }
}

/// The URL the integration calls, before request parameter mapping.
#[derive(Debug, PartialEq, Eq)]
pub struct Target<'p> {
    /// `scheme://authority`
    pub origin: Cow<'p, str>,
    pub path: String,
    pub query: String,
}

/// Splits `scheme://authority/path?query` (anything after `#` is dropped).
pub(crate) fn split_uri(uri: &str) -> Option<(&str, &str, &str)> {
    let uri = uri.split('#').next().unwrap_or(uri);
    let scheme_end = uri.find("://")?;
    let after = &uri[scheme_end + 3..];
    let auth_end = after.find(['/', '?']).unwrap_or(after.len());
    let origin = &uri[..scheme_end + 3 + auth_end];
    let rest = &after[auth_end..];
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    Some((origin, path, query))
}

/// Replaces `{name}` (and `{name+}`) with the matched raw path parameter values.
fn substitute_path_parameters(uri: &str, route: &RouteMatch<'_, RouteTarget>) -> String {
    if !uri.contains('{') || route.path_parameters.is_empty() {
        return uri.to_string();
    }
    let mut out = uri.to_string();
    for p in &route.path_parameters {
        out = out
            .replace(&format!("{{{}}}", p.name), &p.raw)
            .replace(&format!("{{{}+}}", p.name), &p.raw);
    }
    out
}

fn join_path(base: &str, forwarded: &str) -> String {
    let base = base.trim_end_matches('/');
    let p = format!("{base}{forwarded}");
    if p.is_empty() {
        "/".to_string()
    } else if p.starts_with('/') {
        p
    } else {
        format!("/{p}")
    }
}

/// §2.1: URI with path variables substituted; the request path appended on the `$default`
/// route and for private integrations (with the stage segment, §10 #4); the client's query
/// appended to the URI's.
pub fn target<'p>(
    dp: &'p DataPlane,
    plan: &'p HttpProxyPlan,
    route: &RouteMatch<'_, RouteTarget>,
    stage_prefix: &str,
    route_path: &str,
    raw_query: Option<&str>,
) -> Result<Target<'p>, String> {
    // The path as received, stage segment included; only the `$default` route and private
    // integrations forward it.
    let forwarded = || format!("{stage_prefix}{route_path}");
    let (origin, path, uri_query) = if let Some(link) = &plan.vpc_link {
        let host = dp
            .config
            .vpc_link_targets
            .get(link)
            .or_else(|| dp.config.vpc_link_targets.get(&plan.uri))
            .ok_or_else(|| {
                format!(
                    "VPC link {link} (integration {}) has no --vpc-link-target mapping",
                    plan.integration_id
                )
            })?;
        let scheme = if plan.tls { "https" } else { "http" };
        (
            Cow::Owned(format!("{scheme}://{host}")),
            join_path("", &forwarded()),
            "",
        )
    } else if let Some(fixed) = &plan.fixed_uri {
        // No path variable in the URI: parsed when the snapshot was built.
        let path = if route.is_default {
            join_path(&fixed.path, &forwarded())
        } else if fixed.path.is_empty() {
            "/".to_string()
        } else {
            fixed.path.clone()
        };
        (
            Cow::Borrowed(fixed.origin.as_str()),
            path,
            fixed.query.as_str(),
        )
    } else {
        let uri = substitute_path_parameters(&plan.uri, route);
        let (origin, path, query) = split_uri(&uri)
            .ok_or_else(|| format!("integration URI {uri:?} is not an http(s) URL"))?;
        let path = if route.is_default {
            join_path(path, &forwarded())
        } else if path.is_empty() {
            "/".to_string()
        } else {
            path.to_string()
        };
        return Ok(Target {
            origin: Cow::Owned(origin.to_string()),
            path,
            query: merge_query(query, raw_query),
        });
    };
    let query = merge_query(uri_query, raw_query);
    Ok(Target {
        origin,
        path,
        query,
    })
}

/// The integration URI's query, then the client's.
fn merge_query(uri_query: &str, raw_query: Option<&str>) -> String {
    match (uri_query.is_empty(), raw_query.filter(|q| !q.is_empty())) {
        (true, None) => String::new(),
        (true, Some(q)) => q.to_string(),
        (false, None) => uri_query.to_string(),
        (false, Some(q)) => format!("{uri_query}&{q}"),
    }
}

/// `X-Forwarded-For/Proto/Port` and `X-Amzn-Trace-Id`, as API Gateway adds them for every
/// integration (an HTTP backend's request headers, a Lambda event's `headers`).
pub(crate) fn add_forwarding_headers(
    dp: &DataPlane,
    headers: &mut HeaderMap,
    client: &crate::Client,
    context: &RequestContext,
) {
    // Entries, not a lookup then an insert: each name is hashed once.
    match headers.entry(X_FORWARDED_FOR) {
        header::Entry::Occupied(mut e) => {
            let prev = e.get().to_str().unwrap_or("");
            let joined = if prev.is_empty() {
                Some(client.ip_header.clone())
            } else {
                HeaderValue::from_str(&format!("{prev}, {}", client.ip_text)).ok()
            };
            if let Some(v) = joined {
                e.insert(v);
            }
        }
        header::Entry::Vacant(e) => {
            e.insert(client.ip_header.clone());
        }
    }
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
    headers.insert(X_FORWARDED_PORT, dp.forwarded_port.clone());
    if let header::Entry::Vacant(e) = headers.entry(X_AMZN_TRACE_ID) {
        let epoch_secs = context.request_time_epoch_ms / 1000;
        let trace_id = apigw_dataplane_rules::context::trace_id_bytes(epoch_secs);
        if let Ok(v) = HeaderValue::from_bytes(&trace_id) {
            e.insert(v);
        }
    }
}

/// The `Host` a backend receives: the origin's host, with the port unless it is the scheme's
/// default (what an HTTP client sends for that URL).
pub(crate) fn host_header(origin: &str) -> Option<HeaderValue> {
    let (scheme, authority) = origin.split_once("://")?;
    // Credentials in the URL are not part of the host.
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let default_port = if scheme.eq_ignore_ascii_case("https") {
        ":443"
    } else {
        ":80"
    };
    let host = authority.strip_suffix(default_port).unwrap_or(authority);
    if host.is_empty() {
        return None;
    }
    HeaderValue::from_str(host).ok()
}

/// An integration URI without `{variables}`, split once per deployment.
#[derive(Debug)]
pub struct FixedUri {
    /// `scheme://authority`
    pub origin: String,
    /// The `Host` a backend at `origin` receives.
    pub host: HeaderValue,
    pub path: String,
    pub query: String,
}

impl FixedUri {
    /// `None` when a path variable can change the URI (or it is not an http(s) URL: then the
    /// request path reports that).
    pub(crate) fn parse(uri: &str) -> Option<FixedUri> {
        if uri.contains('{') {
            return None;
        }
        let (origin, path, query) = split_uri(uri)?;
        let host = host_header(origin)?;
        Some(FixedUri {
            origin: origin.to_string(),
            // `'static` bytes: every request clones it out of the shared snapshot.
            host: host
                .to_str()
                .ok()
                .and_then(apigw_dataplane_rules::interned::value)
                .unwrap_or(host),
            path: path.to_string(),
            query: query.to_string(),
        })
    }
}

/// Calls the backend. `Err` is a gateway response; the backend's own statuses are `Ok`.
pub async fn call(
    dp: &DataPlane,
    plan: &HttpProxyPlan,
    mut req: ProxyRequest<'_>,
    outcome: &mut Outcome,
) -> Result<Response<Body>, GatewayError> {
    let mut t = target(
        dp,
        plan,
        req.route,
        req.stage_prefix,
        req.route_path,
        req.raw_query,
    )
    .map_err(|reason| {
        tracing::warn!(integration = %plan.integration_id, %reason, "integration cannot be called");
        outcome.error = Some(reason);
        GatewayError::InternalServerError
    })?;

    // Request parameter mapping: every value is evaluated against the original request.
    let mut body = std::mem::replace(&mut req.body, Body::empty());
    let changes = match &plan.request_mapping {
        Some(m) if !m.is_empty() => {
            let buffered = if m.needs_body() {
                let bytes = Box::pin(axum::body::to_bytes(body, HTTP_API_PAYLOAD))
                    .await
                    .map_err(|_| GatewayError::PayloadTooLarge)?;
                body = Body::from(bytes.clone());
                Some(bytes)
            } else {
                None
            };
            let params = req.path_parameters();
            Some(m.evaluate(&req.view(&params, buffered.as_deref())))
        }
        _ => None,
    };

    let headers = &mut req.headers;
    // Room for the headers added below at once: a client's map is sized to what it sent
    // (often just Host), and growing it step by step rehashes it each time.
    headers.reserve(6);
    strip_hop_by_hop(headers);
    headers.remove(header::EXPECT);
    add_forwarding_headers(dp, headers, req.client, req.context);
    if let Some(c) = &changes {
        c.apply_headers(headers);
        if !c.query.is_empty() {
            t.query = c.apply_to_raw_query(&t.query);
        }
        if let Some(p) = &c.path {
            t.path = p.clone();
        }
    }

    // Origin-form target: the connection already goes to the origin.
    if !t.path.starts_with('/') {
        t.path.insert(0, '/');
    }
    if !t.query.is_empty() {
        t.path.push('?');
        t.path.push_str(&t.query);
    }
    let uri = Uri::try_from(t.path.as_str()).map_err(|e| {
        tracing::warn!(integration = %plan.integration_id, path = %t.path, error = %e, "backend path is not valid");
        outcome.error = Some(format!("invalid backend path {}", t.path));
        GatewayError::InternalServerError
    })?;
    let host = match &plan.fixed_uri {
        Some(fixed) if fixed.origin == t.origin => fixed.host.clone(),
        _ => host_header(&t.origin).ok_or_else(|| {
            outcome.error = Some(format!("invalid backend host in {}", t.origin));
            GatewayError::InternalServerError
        })?,
    };
    headers.insert(header::HOST, host);
    let method = plan.method.clone().unwrap_or(req.method);
    // A body of known length was held to 10 MB by its Content-Length already (and the
    // server delivers exactly that many bytes); only a chunked one is counted on the way.
    let exceeded = Arc::new(AtomicBool::new(false));
    let body = if http_body::Body::size_hint(&body).exact().is_some() {
        body
    } else {
        Body::new(LimitedBody::new(
            body,
            HTTP_API_PAYLOAD as u64,
            exceeded.clone(),
        ))
    };
    let mut out = Request::new(body);
    *out.method_mut() = method;
    *out.uri_mut() = uri;
    *out.headers_mut() = std::mem::take(headers);

    // `$context.integrationLatency` is the only reader of this clock.
    let reads_context = req.stage.access_log.is_some()
        || plan.request_mapping.is_some()
        || plan.response_mapping.is_some();
    let started = reads_context.then(Instant::now);
    // The call and its deadline pinned where they are, not moved into a `Timeout`: the call
    // is most of this future's size, and every move copied all of it.
    let call = pin!(dp
        .backends
        .send(&t.origin, plan.server_name_to_verify.as_deref(), out));
    let deadline = pin!(tokio::time::sleep(plan.timeout));
    let result = first_of(call, deadline).await;
    outcome.latency_ms = started.map(|t| t.elapsed().as_millis() as u64);
    let resp = match result {
        None => {
            outcome.error = Some("integration timed out".into());
            return Err(GatewayError::ServiceUnavailable);
        }
        Some(Err(e)) => {
            if exceeded.load(Ordering::Relaxed) {
                return Err(GatewayError::PayloadTooLarge);
            }
            let detail = e.detail();
            tracing::info!(integration = %plan.integration_id, error = %detail, "backend call failed");
            outcome.error = Some(detail);
            return Err(if e.is_tls_failure() {
                GatewayError::InternalServerError
            } else {
                GatewayError::ServiceUnavailable
            });
        }
        Some(Ok(r)) => r,
    };
    let (mut parts, body) = resp.into_parts();
    outcome.status = Some(parts.status.as_u16());
    strip_hop_by_hop(&mut parts.headers);
    Ok(Response::from_parts(parts, body))
}

/// `work`'s output, or `None` when `deadline` comes first.
pub(crate) async fn first_of<T>(
    mut work: Pin<&mut impl Future<Output = T>>,
    mut deadline: Pin<&mut tokio::time::Sleep>,
) -> Option<T> {
    poll_fn(|cx| {
        if let Poll::Ready(out) = work.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        deadline.as_mut().poll(cx).map(|()| None)
    })
    .await
}

/// What the integration did, for `$context.integration*`.
#[derive(Debug, Default)]
pub struct Outcome {
    pub status: Option<u16>,
    pub latency_ms: Option<u64>,
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_parts() {
        assert_eq!(
            split_uri("http://h:1/a/b?x=1#f"),
            Some(("http://h:1", "/a/b", "x=1"))
        );
        assert_eq!(split_uri("https://h"), Some(("https://h", "", "")));
        assert_eq!(split_uri("https://h?q"), Some(("https://h", "", "q")));
        assert_eq!(split_uri("h/a"), None);
        assert_eq!(join_path("", ""), "/");
        assert_eq!(join_path("/base/", "/prod/x"), "/base/prod/x");
        assert_eq!(join_path("", "/x/"), "/x/");
    }

    #[test]
    fn host_header_drops_default_ports_and_credentials() {
        let h = |o| host_header(o).map(|v| v.to_str().unwrap().to_string());
        assert_eq!(
            h("http://127.0.0.1:8080").as_deref(),
            Some("127.0.0.1:8080")
        );
        assert_eq!(h("http://example.com:80").as_deref(), Some("example.com"));
        assert_eq!(h("https://example.com:443").as_deref(), Some("example.com"));
        assert_eq!(
            h("https://example.com:80").as_deref(),
            Some("example.com:80")
        );
        assert_eq!(h("http://u:p@[::1]:9").as_deref(), Some("[::1]:9"));
        assert_eq!(h("http://"), None);
    }

    #[test]
    fn hop_by_hop_index_matches_the_table() {
        for (i, name) in HOP_BY_HOP.iter().enumerate() {
            assert_eq!(hop_by_hop_index(name), Some(i), "{name}");
        }
        assert_eq!(hop_by_hop_index(&header::HOST), None);
        assert_eq!(hop_by_hop_index(&HeaderName::from_static("x-te")), None);
    }

    #[test]
    fn hop_by_hop_headers_and_those_connection_lists_are_removed() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, X-Secret , close"),
        );
        h.insert(KEEP_ALIVE, HeaderValue::from_static("timeout=5"));
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        h.insert(header::UPGRADE, HeaderValue::from_static("h2c"));
        h.insert("x-kept", HeaderValue::from_static("2"));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        strip_hop_by_hop(&mut h);
        let mut left: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
        left.sort_unstable();
        assert_eq!(left, ["content-type", "x-kept"]);

        let mut plain = HeaderMap::new();
        plain.insert("x-kept", HeaderValue::from_static("2"));
        strip_hop_by_hop(&mut plain);
        assert_eq!(plain.len(), 1);
    }
}

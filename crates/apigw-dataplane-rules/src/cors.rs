//! CORS for HTTP APIs from the Api's `corsConfiguration` (http-api-cors; data-plane.md §1.4).
//!
//! * "API Gateway automatically sends a response to preflight OPTIONS requests, even if there
//!   isn't an OPTIONS route configured" — a preflight is `OPTIONS` with `Origin` and
//!   `Access-Control-Request-Method`; the gateway answers it itself (before routing):
//!   `204` with no body.
//! * "For a CORS request, API Gateway adds the configured CORS headers to the response from an
//!   integration" — only when the request carries `Origin` ("To return CORS headers, your
//!   request must contain an origin header").
//! * "API Gateway ignores CORS headers returned from your backend integration" — every
//!   `access-control-*` header of the integration response is dropped.
//!
//! Inferred details (docs/decisions.md): a disallowed origin gets the `204` without any
//! `access-control-*` header; the preflight does not check the requested method/headers against
//! the lists (the browser does); lists are joined with `,`, header names lower-cased, methods
//! upper-cased; `allowOrigins` entries may hold one `*` wildcard (`https://*`).

use apigw_model::Cors;
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_METHOD, ORIGIN,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};

/// Status of a gateway-answered preflight.
pub const PREFLIGHT_STATUS: StatusCode = StatusCode::NO_CONTENT;

#[derive(Debug, Clone, PartialEq, Eq)]
enum OriginRule {
    Any,
    Exact(String),
    /// One `*`: prefix and suffix around it.
    Glob(String, String),
}

impl OriginRule {
    fn parse(o: &str) -> OriginRule {
        let o = o.trim();
        if o == "*" {
            return OriginRule::Any;
        }
        match o.split_once('*') {
            Some((pre, suf)) => {
                OriginRule::Glob(pre.to_ascii_lowercase(), suf.to_ascii_lowercase())
            }
            None => OriginRule::Exact(o.to_ascii_lowercase()),
        }
    }

    fn matches(&self, origin_lower: &str) -> bool {
        match self {
            OriginRule::Any => true,
            OriginRule::Exact(e) => e == origin_lower,
            OriginRule::Glob(pre, suf) => {
                origin_lower.len() >= pre.len() + suf.len()
                    && origin_lower.starts_with(pre.as_str())
                    && origin_lower.ends_with(suf.as_str())
            }
        }
    }
}

/// An Api's `corsConfiguration`, compiled into ready header values.
#[derive(Debug, Clone)]
pub struct CorsPolicy {
    origins: Vec<OriginRule>,
    any_origin: bool,
    allow_credentials: bool,
    allow_methods: Option<HeaderValue>,
    allow_headers: Option<HeaderValue>,
    expose_headers: Option<HeaderValue>,
    max_age: Option<HeaderValue>,
}

fn joined(items: Option<&Vec<String>>, f: fn(&str) -> String) -> Option<HeaderValue> {
    let items: Vec<String> = items?
        .iter()
        .map(|s| f(s.trim()))
        .filter(|s| !s.is_empty())
        .collect();
    if items.is_empty() {
        return None;
    }
    let text = items.join(",");
    // `'static` bytes when possible: every answer clones these out of the shared snapshot.
    crate::interned::value(&text).or_else(|| HeaderValue::from_str(&text).ok())
}

impl CorsPolicy {
    pub fn new(cors: &Cors) -> CorsPolicy {
        let origins: Vec<OriginRule> = cors
            .allow_origins
            .iter()
            .flatten()
            .filter(|o| !o.trim().is_empty())
            .map(|o| OriginRule::parse(o))
            .collect();
        let allow_credentials = cors.allow_credentials == Some(true);
        CorsPolicy {
            // `*` answers `*` only without credentials (browsers reject `*` with credentials).
            any_origin: !allow_credentials && origins.contains(&OriginRule::Any),
            origins,
            allow_credentials,
            allow_methods: joined(cors.allow_methods.as_ref(), str::to_ascii_uppercase),
            allow_headers: joined(cors.allow_headers.as_ref(), str::to_ascii_lowercase),
            expose_headers: joined(cors.expose_headers.as_ref(), str::to_ascii_lowercase),
            max_age: cors.max_age.map(HeaderValue::from),
        }
    }

    /// A preflight: `OPTIONS` with both `Origin` and `Access-Control-Request-Method`.
    pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
        method == Method::OPTIONS
            && headers.contains_key(ORIGIN)
            && headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD)
    }

    /// The `Access-Control-Allow-Origin` value for this request's `Origin`, if allowed.
    fn allow_origin(&self, request: &HeaderMap) -> Option<HeaderValue> {
        let origin = request.get(ORIGIN)?;
        let lower = origin.to_str().ok()?.trim().to_ascii_lowercase();
        if !self.origins.iter().any(|r| r.matches(&lower)) {
            return None;
        }
        if self.any_origin {
            Some(HeaderValue::from_static("*"))
        } else {
            Some(origin.clone())
        }
    }

    /// Headers of the gateway's answer to a preflight (status [`PREFLIGHT_STATUS`], empty
    /// body). Empty when the origin is not allowed.
    pub fn preflight_headers(&self, request: &HeaderMap) -> HeaderMap {
        let mut out = HeaderMap::new();
        let Some(origin) = self.allow_origin(request) else {
            return out;
        };
        out.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if self.allow_credentials {
            out.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(v) = &self.allow_methods {
            out.insert(ACCESS_CONTROL_ALLOW_METHODS, v.clone());
        }
        if let Some(v) = &self.allow_headers {
            out.insert(ACCESS_CONTROL_ALLOW_HEADERS, v.clone());
        }
        if let Some(v) = &self.max_age {
            out.insert(ACCESS_CONTROL_MAX_AGE, v.clone());
        }
        out
    }

    /// Rewrites the CORS headers of a non-preflight response: drops every `access-control-*`
    /// header the integration sent, then adds `Access-Control-Allow-Origin`,
    /// `-Allow-Credentials` and `-Expose-Headers` when the request's origin is allowed.
    pub fn apply_to_response(&self, request: &HeaderMap, response: &mut HeaderMap) {
        strip_cors_headers(response);
        let Some(origin) = self.allow_origin(request) else {
            return;
        };
        response.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if self.allow_credentials {
            response.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(v) = &self.expose_headers {
            response.insert(ACCESS_CONTROL_EXPOSE_HEADERS, v.clone());
        }
    }
}

/// Removes every `access-control-*` header.
pub fn strip_cors_headers(headers: &mut HeaderMap) {
    let names: Vec<_> = headers
        .keys()
        .filter(|n| n.as_str().starts_with("access-control-"))
        .cloned()
        .collect();
    for n in names {
        headers.remove(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors(origins: &[&str]) -> Cors {
        Cors {
            allow_origins: Some(origins.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        }
    }

    fn req(origin: Option<&str>, request_method: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(o) = origin {
            h.insert(ORIGIN, o.parse().unwrap());
        }
        if let Some(m) = request_method {
            h.insert(ACCESS_CONTROL_REQUEST_METHOD, m.parse().unwrap());
        }
        h
    }

    fn get<'a>(h: &'a HeaderMap, n: &str) -> Option<&'a str> {
        h.get(n).map(|v| v.to_str().unwrap())
    }

    #[test]
    fn preflight_detection() {
        let h = req(Some("https://a.example"), Some("PUT"));
        assert!(CorsPolicy::is_preflight(&Method::OPTIONS, &h));
        assert!(!CorsPolicy::is_preflight(&Method::GET, &h));
        assert!(!CorsPolicy::is_preflight(
            &Method::OPTIONS,
            &req(Some("https://a.example"), None)
        ));
        assert!(!CorsPolicy::is_preflight(
            &Method::OPTIONS,
            &req(None, Some("PUT"))
        ));
    }

    #[test]
    fn preflight_with_full_configuration() {
        let p = CorsPolicy::new(&Cors {
            allow_origins: Some(vec!["https://www.example.com".into()]),
            allow_credentials: Some(true),
            allow_methods: Some(vec!["get".into(), "POST".into(), "DELETE".into()]),
            allow_headers: Some(vec!["Authorization".into(), "x-apigateway-header".into()]),
            expose_headers: Some(vec!["Date".into(), "x-api-id".into()]),
            max_age: Some(300),
        });
        let h = p.preflight_headers(&req(Some("https://www.example.com"), Some("POST")));
        assert_eq!(
            get(&h, "access-control-allow-origin"),
            Some("https://www.example.com")
        );
        assert_eq!(get(&h, "access-control-allow-credentials"), Some("true"));
        assert_eq!(
            get(&h, "access-control-allow-methods"),
            Some("GET,POST,DELETE")
        );
        assert_eq!(
            get(&h, "access-control-allow-headers"),
            Some("authorization,x-apigateway-header")
        );
        assert_eq!(get(&h, "access-control-max-age"), Some("300"));
        // Expose-Headers belongs to actual responses, not preflights.
        assert_eq!(get(&h, "access-control-expose-headers"), None);
        assert_eq!(h.len(), 5);
        assert_eq!(PREFLIGHT_STATUS.as_u16(), 204);
    }

    #[test]
    fn disallowed_origin_gets_no_cors_headers() {
        let p = CorsPolicy::new(&Cors {
            allow_origins: Some(vec!["https://www.example.com".into()]),
            allow_methods: Some(vec!["GET".into()]),
            ..Default::default()
        });
        assert!(p
            .preflight_headers(&req(Some("https://evil.example"), Some("GET")))
            .is_empty());
        let mut resp = HeaderMap::new();
        resp.insert("access-control-allow-origin", "*".parse().unwrap());
        resp.insert("content-type", "text/plain".parse().unwrap());
        p.apply_to_response(&req(Some("https://evil.example"), None), &mut resp);
        assert_eq!(get(&resp, "access-control-allow-origin"), None);
        assert_eq!(get(&resp, "content-type"), Some("text/plain"));
        // No configured origins at all: nothing is allowed.
        let none = CorsPolicy::new(&Cors::default());
        assert!(none
            .preflight_headers(&req(Some("https://www.example.com"), Some("GET")))
            .is_empty());
    }

    #[test]
    fn wildcard_origins() {
        let any = CorsPolicy::new(&cors(&["*"]));
        let h = any.preflight_headers(&req(Some("https://x.test"), Some("GET")));
        assert_eq!(get(&h, "access-control-allow-origin"), Some("*"));
        assert_eq!(get(&h, "access-control-allow-methods"), None);

        let https = CorsPolicy::new(&cors(&["https://*"]));
        let h = https.preflight_headers(&req(Some("https://x.test:8443"), Some("GET")));
        assert_eq!(
            get(&h, "access-control-allow-origin"),
            Some("https://x.test:8443")
        );
        assert!(https
            .preflight_headers(&req(Some("http://x.test"), Some("GET")))
            .is_empty());

        let sub = CorsPolicy::new(&cors(&["https://*.example.com"]));
        assert!(!sub
            .preflight_headers(&req(Some("https://a.example.com"), Some("GET")))
            .is_empty());
        assert!(sub
            .preflight_headers(&req(Some("https://example.org"), Some("GET")))
            .is_empty());
    }

    #[test]
    fn origin_comparison_ignores_case_and_echoes_the_request() {
        let p = CorsPolicy::new(&cors(&["https://WWW.Example.com"]));
        let h = p.preflight_headers(&req(Some("https://www.example.com"), Some("GET")));
        assert_eq!(
            get(&h, "access-control-allow-origin"),
            Some("https://www.example.com")
        );
    }

    #[test]
    fn actual_response_replaces_backend_cors_headers() {
        let p = CorsPolicy::new(&Cors {
            allow_origins: Some(vec!["https://app.test".into(), "https://b.test".into()]),
            allow_credentials: Some(true),
            allow_methods: Some(vec!["GET".into()]),
            expose_headers: Some(vec!["X-Api-Id".into(), "Date".into()]),
            max_age: Some(60),
            ..Default::default()
        });
        let mut resp = HeaderMap::new();
        resp.insert("access-control-allow-origin", "*".parse().unwrap());
        resp.insert("access-control-allow-methods", "PUT".parse().unwrap());
        resp.insert("x-backend", "1".parse().unwrap());
        p.apply_to_response(&req(Some("https://b.test"), None), &mut resp);
        assert_eq!(
            get(&resp, "access-control-allow-origin"),
            Some("https://b.test")
        );
        assert_eq!(get(&resp, "access-control-allow-credentials"), Some("true"));
        assert_eq!(
            get(&resp, "access-control-expose-headers"),
            Some("x-api-id,date")
        );
        assert_eq!(get(&resp, "access-control-allow-methods"), None);
        assert_eq!(get(&resp, "access-control-max-age"), None);
        assert_eq!(get(&resp, "x-backend"), Some("1"));
    }

    #[test]
    fn no_origin_means_no_cors_headers_but_backend_ones_are_still_ignored() {
        let p = CorsPolicy::new(&cors(&["*"]));
        let mut resp = HeaderMap::new();
        resp.insert("access-control-allow-origin", "https://x".parse().unwrap());
        resp.insert("access-control-expose-headers", "a".parse().unwrap());
        p.apply_to_response(&HeaderMap::new(), &mut resp);
        assert!(resp.is_empty());
    }

    #[test]
    fn max_age_minus_one_is_sent_as_is() {
        let p = CorsPolicy::new(&Cors {
            allow_origins: Some(vec!["*".into()]),
            max_age: Some(-1),
            ..Default::default()
        });
        let h = p.preflight_headers(&req(Some("https://x"), Some("GET")));
        assert_eq!(get(&h, "access-control-max-age"), Some("-1"));
    }
}

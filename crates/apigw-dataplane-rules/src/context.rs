//! `$context` variables of an HTTP API request (data-plane.md §3.6), filled in two phases:
//! what is known when the request arrives (`RequestContext` fields set by the caller), then
//! what is known once the integration answered (`record_integration`, `record_response`,
//! `record_error`). [`RequestContext::get`] looks a variable up by its `$context.` name.

use std::borrow::Cow;
use std::collections::BTreeMap;

/// Everything `$context.*` can name for one HTTP API request.
///
/// Phase-one fields are plain public fields the caller fills before routing/mapping; phase-two
/// values (integration and response results) start as `None` and render as missing until set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestContext {
    pub account_id: String,
    pub api_id: String,
    /// `Host` as received (`abc123.execute-api.localhost:4566`).
    pub domain_name: String,
    pub http_method: String,
    /// `$context.path`: the request path as received, with a named stage's segment (`/beta/pets`).
    pub path: String,
    /// Always `HTTP/1.1` towards AWS's logs, whatever the client spoke.
    pub protocol: String,
    pub request_id: String,
    /// Milliseconds since the Unix epoch when the request arrived.
    pub request_time_epoch_ms: i64,
    /// `GET /pets/{id}`, `$default`, ... (empty until a route matched).
    pub route_key: String,
    /// Stage name; `$default` for the default stage.
    pub stage: String,
    pub source_ip: String,
    pub user_agent: Option<String>,
    /// `$context.customDomain.basePathMatched`.
    pub base_path_matched: Option<String>,
    /// Authorizer output by its name under `$context.authorizer.`: `claims.sub`,
    /// `principalId`, `error`, or a Lambda authorizer's context key.
    pub authorizer: BTreeMap<String, String>,
    /// Other identity values by their name under `$context.identity.` (`caller`, `userArn`,
    /// `clientCert.subjectDN`, ...); `sourceIp` and `userAgent` have their own fields.
    pub identity: BTreeMap<String, String>,
    /// WebSocket APIs only (data-plane.md §7.10): the connection and the event.
    pub websocket: Option<WebSocketContext>,
    // Phase two.
    pub integration: IntegrationOutcome,
    pub response: ResponseOutcome,
    pub error: Option<GatewayError>,
}

/// `$context` variables of a WebSocket event (§7.10).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebSocketContext {
    pub connection_id: String,
    /// Epoch milliseconds.
    pub connected_at_ms: i64,
    /// `CONNECT`, `MESSAGE` or `DISCONNECT`.
    pub event_type: &'static str,
    /// MESSAGE events only.
    pub message_id: Option<String>,
    /// DISCONNECT events only.
    pub disconnect_status_code: Option<u16>,
    pub disconnect_reason: Option<String>,
    /// What the `$connect` authorizer returned (its `principalId` and context, values as
    /// returned), for this connection's every event (authorizers.md §4).
    pub authorizer: Option<serde_json::Map<String, serde_json::Value>>,
}

/// What the integration reported (phase two).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IntegrationOutcome {
    /// `$context.integration.status`: status the backend / function code returned.
    pub status: Option<u16>,
    /// `$context.integrationStatus` / `integration.integrationStatus`: for Lambda proxy the
    /// Lambda service's status (200), for HTTP the backend status.
    pub integration_status: Option<u16>,
    pub latency_ms: Option<u64>,
    /// `$context.awsEndpointRequestId` / `integration.requestId`.
    pub request_id: Option<String>,
    /// `$context.awsEndpointRequestId2` (`x-amz-id-2`).
    pub request_id2: Option<String>,
    /// `$context.integrationErrorMessage` / `integration.error`.
    pub error_message: Option<String>,
}

/// What the gateway sent back (phase two).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResponseOutcome {
    /// `$context.status`: the status the client got.
    pub status: Option<u16>,
    /// `$context.responseLength`: response payload bytes.
    pub length: Option<u64>,
    /// `$context.responseLatency` in ms.
    pub latency_ms: Option<u64>,
    /// `$context.dataProcessed`: bytes processed (request + response payload).
    pub data_processed: Option<u64>,
}

/// A response the gateway generated itself (`$context.error.*`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GatewayError {
    /// `Not Found`, `Service Unavailable`, ...
    pub message: String,
    /// `DEFAULT_4XX`-style gateway response type: `MISSING_AUTHENTICATION_TOKEN`,
    /// `INTEGRATION_TIMEOUT`, `THROTTLED`, ...
    pub response_type: String,
}

impl RequestContext {
    /// Phase two: the integration answered (or failed).
    pub fn record_integration(&mut self, outcome: IntegrationOutcome) {
        self.integration = outcome;
    }

    /// Phase two: the status and payload length sent to the client and the total latency.
    pub fn record_response(&mut self, status: u16, length: u64, latency_ms: u64) {
        self.response.status = Some(status);
        self.response.length = Some(length);
        self.response.latency_ms = Some(latency_ms);
    }

    /// Phase two: the gateway answered with its own error.
    pub fn record_error(&mut self, message: impl Into<String>, response_type: impl Into<String>) {
        self.error = Some(GatewayError {
            message: message.into(),
            response_type: response_type.into(),
        });
    }

    /// The value of `$context.<name>` (`name` without the `$context.` prefix), or `None` when
    /// the variable is unknown or has no value for this request.
    pub fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        fn b(v: &str) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(v))
        }
        fn opt(v: &Option<String>) -> Option<Cow<'_, str>> {
            v.as_deref().map(Cow::Borrowed)
        }
        fn n(v: Option<u64>) -> Option<Cow<'static, str>> {
            v.map(|x| Cow::Owned(x.to_string()))
        }
        fn code(v: Option<u16>) -> Option<Cow<'static, str>> {
            v.map(|x| Cow::Owned(x.to_string()))
        }
        match name {
            "accountId" => b(&self.account_id),
            "apiId" => b(&self.api_id),
            "awsEndpointRequestId" | "integration.requestId" => opt(&self.integration.request_id),
            "awsEndpointRequestId2" => opt(&self.integration.request_id2),
            "customDomain.basePathMatched" => opt(&self.base_path_matched),
            "dataProcessed" => n(self.response.data_processed),
            "domainName" => non_empty(&self.domain_name),
            "domainPrefix" => {
                let host = self.domain_name.split(':').next().unwrap_or("");
                let prefix = host.split('.').next().unwrap_or("");
                (!prefix.is_empty()).then_some(Cow::Borrowed(prefix))
            }
            "error.message" => self
                .error
                .as_ref()
                .map(|e| Cow::Borrowed(e.message.as_str())),
            "error.messageString" => self
                .error
                .as_ref()
                .map(|e| Cow::Owned(format!("\"{}\"", e.message))),
            "error.responseType" => self
                .error
                .as_ref()
                .map(|e| Cow::Borrowed(e.response_type.as_str())),
            "extendedRequestId" | "requestId" => b(&self.request_id),
            "httpMethod" => b(&self.http_method),
            "identity.sourceIp" => non_empty(&self.source_ip),
            "identity.userAgent" => opt(&self.user_agent),
            "integration.error" | "integrationErrorMessage" => opt(&self.integration.error_message),
            "integration.integrationStatus" | "integrationStatus" => {
                code(self.integration.integration_status)
            }
            "integration.latency" | "integrationLatency" => n(self.integration.latency_ms),
            "integration.status" => code(self.integration.status),
            "path" => b(&self.path),
            "protocol" => {
                if self.protocol.is_empty() {
                    b("HTTP/1.1")
                } else {
                    b(&self.protocol)
                }
            }
            "requestTime" => Some(Cow::Owned(clf_time(self.request_time_epoch_ms))),
            "requestTimeEpoch" => Some(Cow::Owned(self.request_time_epoch_ms.to_string())),
            "responseLatency" => n(self.response.latency_ms),
            "responseLength" => n(self.response.length),
            "routeKey" => non_empty(&self.route_key),
            "stage" => b(&self.stage),
            "status" => code(self.response.status),
            "connectionId" => self.websocket.as_ref().map(|w| b(&w.connection_id))?,
            "connectedAt" => self
                .websocket
                .as_ref()
                .map(|w| Cow::Owned(w.connected_at_ms.to_string())),
            "eventType" => self.websocket.as_ref().map(|w| Cow::Borrowed(w.event_type)),
            "messageId" => self.websocket.as_ref().and_then(|w| opt(&w.message_id)),
            "messageDirection" => self.websocket.as_ref().map(|_| Cow::Borrowed("IN")),
            "disconnectStatusCode" => self
                .websocket
                .as_ref()
                .and_then(|w| code(w.disconnect_status_code)),
            "disconnectReason" => self
                .websocket
                .as_ref()
                .and_then(|w| opt(&w.disconnect_reason)),
            // "Calling $context.authorizer.claims returns null."
            "authorizer.claims" => None,
            _ => {
                if let Some(rest) = name.strip_prefix("authorizer.") {
                    self.authorizer.get(rest).map(|v| Cow::Borrowed(v.as_str()))
                } else if let Some(rest) = name.strip_prefix("identity.") {
                    self.identity.get(rest).map(|v| Cow::Borrowed(v.as_str()))
                } else {
                    None
                }
            }
        }
    }
}

fn non_empty(v: &str) -> Option<Cow<'_, str>> {
    (!v.is_empty()).then_some(Cow::Borrowed(v))
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Common Log Format time in UTC: `dd/MMM/yyyy:HH:mm:ss +0000`.
pub fn clf_time(epoch_ms: i64) -> String {
    let secs = epoch_ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = apigw_model::time::civil_from_days(days);
    let month = MONTHS
        .get(usize::try_from(m - 1).unwrap_or(0))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{d:02}/{month}/{y:04}:{:02}:{:02}:{:02} +0000",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// A fresh `$context.requestId` in AWS's shape: 16 characters of URL-safe base64 ending in
/// `=` (11 random bytes), e.g. `LV7fzho-PHcEJPw=`.
pub fn generate_request_id() -> String {
    ascii(&request_id_bytes())
}

/// [`generate_request_id`] as bytes, for a header value without an intermediate `String`.
pub fn request_id_bytes() -> [u8; 16] {
    // Encoded by hand from one random draw: every request gets one.
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bits = fastrand::u128(..);
    let mut out = [b'='; 16];
    // 88 random bits = 14 whole sextets and 4 bits padded to a 15th, then one `=`.
    for (i, b) in out[..15].iter_mut().enumerate() {
        let sextet = if i < 14 {
            (bits >> (82 - 6 * i)) & 0x3f
        } else {
            (bits & 0xf) << 2
        };
        *b = ALPHABET[sextet as usize];
    }
    out
}

/// Text of bytes known to be ASCII (built from the tables above).
fn ascii(bytes: &[u8]) -> String {
    std::str::from_utf8(bytes).unwrap_or_default().to_string()
}

/// A fresh `X-Amzn-Trace-Id` value: `Root=1-<8 hex epoch seconds>-<24 hex random>`.
pub fn generate_trace_id(epoch_secs: i64) -> String {
    ascii(&trace_id_bytes(epoch_secs))
}

/// [`generate_trace_id`] as bytes, for a header value without an intermediate `String`.
pub fn trace_id_bytes(epoch_secs: i64) -> [u8; 40] {
    // Written by hand: every proxied request gets one, and `format!` was a visible share of
    // the proxy path's CPU.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 40];
    out[..7].copy_from_slice(b"Root=1-");
    let secs = u64::from(epoch_secs as u32);
    for (i, b) in out[7..15].iter_mut().enumerate() {
        *b = HEX[((secs >> (28 - 4 * i)) & 0xf) as usize];
    }
    out[15] = b'-';
    let random = fastrand::u128(..);
    for (i, b) in out[16..].iter_mut().enumerate() {
        *b = HEX[((random >> (4 * i)) & 0xf) as usize];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> RequestContext {
        RequestContext {
            account_id: "000000000000".into(),
            api_id: "abc123".into(),
            domain_name: "abc123.execute-api.localhost:4566".into(),
            http_method: "GET".into(),
            path: "/beta/pets/1".into(),
            protocol: "HTTP/1.1".into(),
            request_id: "LV7fzho-PHcEJPw=".into(),
            request_time_epoch_ms: 1_583_348_638_390,
            route_key: "GET /pets/{id}".into(),
            stage: "beta".into(),
            source_ip: "127.0.0.1".into(),
            user_agent: Some("curl/8.0".into()),
            ..Default::default()
        }
    }

    #[test]
    fn phase_one_values() {
        let c = ctx();
        let g = |n: &str| c.get(n).map(|v| v.into_owned());
        assert_eq!(g("accountId").as_deref(), Some("000000000000"));
        assert_eq!(g("apiId").as_deref(), Some("abc123"));
        assert_eq!(g("domainPrefix").as_deref(), Some("abc123"));
        assert_eq!(
            g("domainName").as_deref(),
            Some("abc123.execute-api.localhost:4566")
        );
        assert_eq!(g("extendedRequestId"), g("requestId"));
        assert_eq!(g("identity.sourceIp").as_deref(), Some("127.0.0.1"));
        assert_eq!(g("identity.userAgent").as_deref(), Some("curl/8.0"));
        assert_eq!(g("routeKey").as_deref(), Some("GET /pets/{id}"));
        assert_eq!(g("stage").as_deref(), Some("beta"));
        assert_eq!(g("path").as_deref(), Some("/beta/pets/1"));
        assert_eq!(
            g("requestTime").as_deref(),
            Some("04/Mar/2020:19:03:58 +0000")
        );
        assert_eq!(g("requestTimeEpoch").as_deref(), Some("1583348638390"));
        // Phase two not yet known.
        for n in [
            "status",
            "integrationStatus",
            "integration.status",
            "integrationLatency",
            "responseLatency",
            "responseLength",
            "error.message",
            "error.responseType",
            "integrationErrorMessage",
            "awsEndpointRequestId",
            "authorizer.claims",
            "authorizer.claims.sub",
            "nope",
        ] {
            assert_eq!(g(n), None, "{n}");
        }
    }

    #[test]
    fn phase_two_values() {
        let mut c = ctx();
        c.authorizer.insert("claims.sub".into(), "user-1".into());
        c.identity.insert("caller".into(), "AIDA".into());
        c.record_integration(IntegrationOutcome {
            status: Some(201),
            integration_status: Some(200),
            latency_ms: Some(12),
            request_id: Some("lambda-req".into()),
            request_id2: None,
            error_message: Some("boom".into()),
        });
        c.record_response(201, 42, 15);
        c.record_error("Service Unavailable", "INTEGRATION_TIMEOUT");
        let g = |n: &str| c.get(n).map(|v| v.into_owned());
        assert_eq!(g("integration.status").as_deref(), Some("201"));
        assert_eq!(g("integrationStatus").as_deref(), Some("200"));
        assert_eq!(g("integration.integrationStatus").as_deref(), Some("200"));
        assert_eq!(g("integrationLatency").as_deref(), Some("12"));
        assert_eq!(g("integration.latency").as_deref(), Some("12"));
        assert_eq!(g("awsEndpointRequestId").as_deref(), Some("lambda-req"));
        assert_eq!(g("integration.requestId").as_deref(), Some("lambda-req"));
        assert_eq!(g("integration.error").as_deref(), Some("boom"));
        assert_eq!(g("status").as_deref(), Some("201"));
        assert_eq!(g("responseLength").as_deref(), Some("42"));
        assert_eq!(g("responseLatency").as_deref(), Some("15"));
        assert_eq!(g("error.message").as_deref(), Some("Service Unavailable"));
        assert_eq!(
            g("error.messageString").as_deref(),
            Some("\"Service Unavailable\"")
        );
        assert_eq!(
            g("error.responseType").as_deref(),
            Some("INTEGRATION_TIMEOUT")
        );
        assert_eq!(g("authorizer.claims.sub").as_deref(), Some("user-1"));
        assert_eq!(g("identity.caller").as_deref(), Some("AIDA"));
    }

    #[test]
    fn clf_dates() {
        assert_eq!(clf_time(0), "01/Jan/1970:00:00:00 +0000");
        assert_eq!(clf_time(1_709_251_199_999), "29/Feb/2024:23:59:59 +0000");
        assert_eq!(clf_time(1_735_689_600_000), "01/Jan/2025:00:00:00 +0000");
    }

    #[test]
    fn ids_have_aws_shape() {
        let id = generate_request_id();
        assert_eq!(id.len(), 16, "{id}");
        assert!(id.ends_with('='), "{id}");
        assert_ne!(id, generate_request_id());
        assert!(id[..15]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        // Decodes to 11 bytes with the standard decoder.
        use base64::Engine as _;
        let decoded = base64::engine::general_purpose::URL_SAFE
            .decode(&id)
            .unwrap();
        assert_eq!(decoded.len(), 11);
        let t = generate_trace_id(0x5e9f_0c65);
        assert!(t.starts_with("Root=1-5e9f0c65-"), "{t}");
        assert_eq!(t.len(), "Root=1-5e9f0c65-1de4d666d4dd26aced652b6c".len());
        assert!(t[16..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }
}

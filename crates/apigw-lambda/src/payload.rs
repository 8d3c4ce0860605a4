//! Lambda proxy payloads for HTTP APIs (data-plane spec §4.2–§4.6): the request event an
//! `AWS_PROXY` integration sends (format 2.0 and 1.0) and the parsing of what the function
//! returned. Pure functions: no I/O, no clock (the request time is an input).

use std::time::SystemTime;

use axum::http::{HeaderName, HeaderValue};
use base64::Engine;
use bytes::Bytes;
use serde_json::{Map, Value};

use crate::time::{clf, epoch_millis};
use crate::{InvokeOutcome, LambdaError};

/// An integration's `payloadFormatVersion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadFormat {
    V1,
    V2,
}

impl PayloadFormat {
    /// `"1.0"` or `"2.0"`.
    pub fn parse(version: &str) -> Option<PayloadFormat> {
        match version {
            "1.0" => Some(PayloadFormat::V1),
            "2.0" => Some(PayloadFormat::V2),
            _ => None,
        }
    }

    /// The request event in this format.
    pub fn event(self, req: &ProxyRequest) -> Value {
        match self {
            PayloadFormat::V1 => event_v1(req),
            PayloadFormat::V2 => event_v2(req),
        }
    }

    /// Parses a function result in this format.
    pub fn parse_result(self, payload: &[u8]) -> Result<ProxyResponse, PayloadError> {
        match self {
            PayloadFormat::V1 => parse_v1(payload),
            PayloadFormat::V2 => parse_v2(payload),
        }
    }
}

/// Why an `AWS_PROXY` integration produced no response (spec §4.7, §5.5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntegrationError {
    /// The integration timeout passed: `503 {"message":"Service Unavailable"}`.
    #[error("integration timeout")]
    Timeout,
    /// Lambda rejected the invoke, the function failed, or its result is malformed:
    /// `500 {"message":"Internal Server Error"}`. The text is for the log.
    #[error("{0}")]
    Failed(String),
}

impl IntegrationError {
    /// The HTTP status and body an HTTP API answers with.
    pub fn http(&self) -> (u16, &'static str) {
        match self {
            IntegrationError::Timeout => (503, r#"{"message":"Service Unavailable"}"#),
            IntegrationError::Failed(_) => (500, r#"{"message":"Internal Server Error"}"#),
        }
    }
}

/// Turns what [`crate::Lambda::invoke`] returned into the client's response, or the error the
/// gateway answers with instead.
pub fn proxy_response(
    format: PayloadFormat,
    invoked: Result<InvokeOutcome, LambdaError>,
) -> Result<ProxyResponse, IntegrationError> {
    let out = match invoked {
        Ok(out) => out,
        Err(LambdaError::Timeout) => return Err(IntegrationError::Timeout),
        Err(e) => {
            return Err(IntegrationError::Failed(format!(
                "Lambda invoke failed: {e}"
            )))
        }
    };
    if out.function_error.is_some() {
        return Err(IntegrationError::Failed(format!(
            "the function failed: {}",
            String::from_utf8_lossy(&out.payload)
        )));
    }
    format
        .parse_result(&out.payload)
        .map_err(|e| IntegrationError::Failed(e.to_string()))
}

/// What the data plane knows about one request when it calls a Lambda proxy integration.
/// Field values are as the gateway forwards them (e.g. `headers` already carry the
/// `x-forwarded-*` / `x-amzn-trace-id` headers the gateway adds).
#[derive(Debug, Clone)]
pub struct ProxyRequest {
    /// The request's real method (also for `ANY` routes).
    pub method: String,
    /// The path as received, including a named stage's prefix (`/dev/pets/1`); no prefix on
    /// the `$default` stage.
    pub raw_path: String,
    /// The query string as received, without `?` (`""` when none).
    pub raw_query: String,
    /// Request headers in arrival order, repeated names repeated; names in any case.
    pub headers: Vec<(String, String)>,
    /// The request body; empty means "no body".
    pub body: Bytes,
    /// Route variables (greedy name without `+`), already percent-decoded.
    pub path_parameters: Vec<(String, String)>,
    pub stage_variables: Vec<(String, String)>,
    /// The matched route key, e.g. `GET /pets/{id}` or `$default`.
    pub route_key: String,
    /// Stage name; `$default` for the default stage.
    pub stage: String,
    pub api_id: String,
    pub account_id: String,
    /// The gateway request id (also sent to the client as `apigw-requestid`).
    pub request_id: String,
    /// The Host the client used, e.g. `abc123.execute-api.localhost`.
    pub domain_name: String,
    pub source_ip: String,
    /// e.g. `HTTP/1.1`.
    pub protocol: String,
    pub time: SystemTime,
    /// `requestContext.authorizer` for 2.0 (e.g. `{"jwt":{...}}`), when the route has an
    /// authorizer. 1.0 gets `{"claims":null,"scopes":null}` without one.
    pub authorizer: Option<Value>,
}

impl ProxyRequest {
    fn domain_prefix(&self) -> &str {
        self.domain_name.split('.').next().unwrap_or("")
    }

    fn user_agent(&self) -> &str {
        self.headers
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    fn content_type(&self) -> Option<&str> {
        self.headers
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.as_str())
    }

    /// The body as the event carries it: `(text, isBase64Encoded)`, `None` without a body.
    fn event_body(&self) -> Option<(String, bool)> {
        if self.body.is_empty() {
            return None;
        }
        if is_text_media_type(self.content_type()) {
            if let Ok(s) = std::str::from_utf8(&self.body) {
                return Some((s.to_string(), false));
            }
        }
        Some((
            base64::engine::general_purpose::STANDARD.encode(&self.body),
            true,
        ))
    }

    /// The path without the named stage's prefix (what the route was matched against).
    fn stage_relative_path(&self) -> &str {
        if self.stage != "$default" {
            let prefix_len = 1 + self.stage.len();
            if self.raw_path.len() >= prefix_len
                && self.raw_path.as_bytes().first() == Some(&b'/')
                && self.raw_path.get(1..prefix_len) == Some(self.stage.as_str())
            {
                let rest = &self.raw_path[prefix_len..];
                if rest.is_empty() {
                    return "/";
                }
                if rest.starts_with('/') {
                    return rest;
                }
            }
        }
        &self.raw_path
    }
}

/// Request bodies of these media types reach the function as text; everything else (also a
/// missing content type and form posts) as base64 (spec §4.4, §10 #22).
pub fn is_text_media_type(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else {
        return false;
    };
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    media.starts_with("text/")
        || media == "application/json"
        || media == "application/javascript"
        || media == "application/xml"
}

fn decode_component(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// `(name, value)` pairs of a raw query string, percent-decoded, in order.
fn query_pairs(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode_component(k), decode_component(v)),
            None => (decode_component(p), String::new()),
        })
        .collect()
}

/// Groups pairs by (lower-cased or exact) name in first-seen order.
fn group(pairs: impl IntoIterator<Item = (String, String)>) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (k, v) in pairs {
        match out.iter_mut().find(|(name, _)| *name == k) {
            Some((_, vals)) => vals.push(v),
            None => out.push((k, vec![v])),
        }
    }
    out
}

fn string_map(pairs: &[(String, String)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect()
}

/// The payload format 2.0 event (spec §4.2): absent optional keys are omitted.
pub fn event_v2(req: &ProxyRequest) -> Value {
    let mut cookies = Vec::new();
    let lowered = req.headers.iter().filter_map(|(k, v)| {
        let k = k.to_ascii_lowercase();
        if k == "cookie" {
            cookies.extend(
                v.split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(|c| Value::String(c.to_string())),
            );
            None
        } else {
            Some((k, v.clone()))
        }
    });
    let headers: Map<String, Value> = group(lowered.collect::<Vec<_>>())
        .into_iter()
        .map(|(k, vs)| (k, Value::String(vs.join(","))))
        .collect();

    let mut e = Map::new();
    e.insert("version".into(), "2.0".into());
    e.insert("routeKey".into(), req.route_key.clone().into());
    e.insert("rawPath".into(), req.raw_path.clone().into());
    e.insert("rawQueryString".into(), req.raw_query.clone().into());
    if !cookies.is_empty() {
        e.insert("cookies".into(), Value::Array(cookies));
    }
    e.insert("headers".into(), Value::Object(headers));
    let query = group(query_pairs(&req.raw_query));
    if !query.is_empty() {
        e.insert(
            "queryStringParameters".into(),
            Value::Object(
                query
                    .into_iter()
                    .map(|(k, vs)| (k, Value::String(vs.join(","))))
                    .collect(),
            ),
        );
    }
    let mut http = Map::new();
    http.insert("method".into(), req.method.clone().into());
    http.insert("path".into(), req.raw_path.clone().into());
    http.insert("protocol".into(), req.protocol.clone().into());
    http.insert("sourceIp".into(), req.source_ip.clone().into());
    http.insert("userAgent".into(), req.user_agent().into());
    let mut ctx = Map::new();
    ctx.insert("accountId".into(), req.account_id.clone().into());
    ctx.insert("apiId".into(), req.api_id.clone().into());
    if let Some(a) = &req.authorizer {
        ctx.insert("authorizer".into(), a.clone());
    }
    ctx.insert("domainName".into(), req.domain_name.clone().into());
    ctx.insert("domainPrefix".into(), req.domain_prefix().into());
    ctx.insert("http".into(), Value::Object(http));
    ctx.insert("requestId".into(), req.request_id.clone().into());
    ctx.insert("routeKey".into(), req.route_key.clone().into());
    ctx.insert("stage".into(), req.stage.clone().into());
    ctx.insert("time".into(), clf(req.time).into());
    ctx.insert("timeEpoch".into(), epoch_millis(req.time).into());
    e.insert("requestContext".into(), Value::Object(ctx));
    let body = req.event_body();
    if let Some((text, _)) = &body {
        e.insert("body".into(), text.clone().into());
    }
    if !req.path_parameters.is_empty() {
        e.insert(
            "pathParameters".into(),
            Value::Object(string_map(&req.path_parameters)),
        );
    }
    e.insert(
        "isBase64Encoded".into(),
        body.is_some_and(|(_, b64)| b64).into(),
    );
    if !req.stage_variables.is_empty() {
        e.insert(
            "stageVariables".into(),
            Value::Object(string_map(&req.stage_variables)),
        );
    }
    Value::Object(e)
}

/// The payload format 1.0 event, HTTP API flavour (spec §4.3): every key present, empty
/// maps `null`, single-value maps carry the last value.
pub fn event_v1(req: &ProxyRequest) -> Value {
    let single_and_multi = |groups: Vec<(String, Vec<String>)>| -> (Value, Value) {
        if groups.is_empty() {
            return (Value::Null, Value::Null);
        }
        let single = groups
            .iter()
            .map(|(k, vs)| {
                (
                    k.clone(),
                    Value::String(vs.last().cloned().unwrap_or_default()),
                )
            })
            .collect();
        let multi = groups
            .into_iter()
            .map(|(k, vs)| (k, Value::Array(vs.into_iter().map(Value::String).collect())))
            .collect();
        (Value::Object(single), Value::Object(multi))
    };
    let (headers, multi_headers) = single_and_multi(group(
        req.headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone())),
    ));
    let (query, multi_query) = single_and_multi(group(query_pairs(&req.raw_query)));
    let resource = match req.route_key.split_once(' ') {
        Some((_, path)) => path.to_string(),
        None => req.stage_relative_path().to_string(),
    };
    let body = req.event_body();

    let mut identity = Map::new();
    for k in [
        "accessKey",
        "accountId",
        "caller",
        "cognitoAuthenticationProvider",
        "cognitoAuthenticationType",
        "cognitoIdentityId",
        "cognitoIdentityPoolId",
        "principalOrgId",
    ] {
        identity.insert(k.into(), Value::Null);
    }
    identity.insert("sourceIp".into(), req.source_ip.clone().into());
    identity.insert("user".into(), Value::Null);
    identity.insert("userAgent".into(), req.user_agent().into());
    identity.insert("userArn".into(), Value::Null);

    let mut ctx = Map::new();
    ctx.insert("accountId".into(), req.account_id.clone().into());
    ctx.insert("apiId".into(), req.api_id.clone().into());
    ctx.insert(
        "authorizer".into(),
        req.authorizer
            .clone()
            .unwrap_or_else(|| serde_json::json!({"claims": null, "scopes": null})),
    );
    ctx.insert("domainName".into(), req.domain_name.clone().into());
    ctx.insert("domainPrefix".into(), req.domain_prefix().into());
    ctx.insert("extendedRequestId".into(), req.request_id.clone().into());
    ctx.insert("httpMethod".into(), req.method.clone().into());
    ctx.insert("identity".into(), Value::Object(identity));
    ctx.insert("path".into(), req.raw_path.clone().into());
    ctx.insert("protocol".into(), req.protocol.clone().into());
    ctx.insert("requestId".into(), req.request_id.clone().into());
    ctx.insert("requestTime".into(), clf(req.time).into());
    ctx.insert("requestTimeEpoch".into(), epoch_millis(req.time).into());
    ctx.insert("resourceId".into(), Value::Null);
    ctx.insert("resourcePath".into(), resource.clone().into());
    ctx.insert("stage".into(), req.stage.clone().into());

    let map_or_null = |pairs: &[(String, String)]| {
        if pairs.is_empty() {
            Value::Null
        } else {
            Value::Object(string_map(pairs))
        }
    };
    let mut e = Map::new();
    e.insert("version".into(), "1.0".into());
    e.insert("resource".into(), resource.into());
    e.insert("path".into(), req.raw_path.clone().into());
    e.insert("httpMethod".into(), req.method.clone().into());
    e.insert("headers".into(), headers);
    e.insert("multiValueHeaders".into(), multi_headers);
    e.insert("queryStringParameters".into(), query);
    e.insert("multiValueQueryStringParameters".into(), multi_query);
    e.insert("requestContext".into(), Value::Object(ctx));
    e.insert("pathParameters".into(), map_or_null(&req.path_parameters));
    e.insert("stageVariables".into(), map_or_null(&req.stage_variables));
    e.insert(
        "body".into(),
        body.as_ref()
            .map(|(t, _)| Value::String(t.clone()))
            .unwrap_or(Value::Null),
    );
    e.insert(
        "isBase64Encoded".into(),
        body.is_some_and(|(_, b64)| b64).into(),
    );
    Value::Object(e)
}

/// The HTTP response a function's result turns into (before response parameter mapping,
/// CORS and `apigw-requestid`, which are the data plane's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyResponse {
    pub status: u16,
    /// In order; `set-cookie` may repeat.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl ProxyResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a function's result is not a usable response. The gateway answers every one of them
/// with `500 {"message":"Internal Server Error"}` (spec §4.7); the text is for the log
/// (`$context.integrationErrorMessage`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("the function's response is not valid JSON")]
    NotJson,
    #[error("the function's response is not a JSON object with a statusCode")]
    MissingStatusCode,
    #[error("the function's response has an invalid statusCode")]
    InvalidStatusCode,
    #[error("the function's response has an invalid {0}")]
    InvalidField(&'static str),
    #[error("the function's response body is not valid base64")]
    InvalidBase64,
}

/// Content type for structured responses that set none (spec §10 #7).
pub const DEFAULT_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// Parses a payload format 2.0 result (spec §4.5), including the inferred form for results
/// that are not an object with `statusCode`.
pub fn parse_v2(payload: &[u8]) -> Result<ProxyResponse, PayloadError> {
    let value: Value = serde_json::from_slice(payload).map_err(|_| PayloadError::NotJson)?;
    let obj = match &value {
        Value::Object(o) if o.contains_key("statusCode") => o,
        Value::String(s) => return Ok(inferred(Bytes::from(s.clone()))),
        _ => return Ok(inferred(Bytes::copy_from_slice(payload))),
    };
    let status = status_code(obj.get("statusCode"))?;
    let mut headers = Vec::new();
    if let Some(h) = obj.get("headers") {
        single_headers(h, &mut headers)?;
    }
    // multiValueHeaders is not part of 2.0 and is ignored, as AWS does.
    if let Some(Value::Array(cookies)) = obj.get("cookies") {
        for c in cookies {
            match c {
                Value::String(s) => push_header(&mut headers, "set-cookie", s)?,
                _ => return Err(PayloadError::InvalidField("cookies")),
            }
        }
    }
    let b64 = matches!(obj.get("isBase64Encoded"), Some(Value::Bool(true)));
    let body = body(obj.get("body"), b64)?;
    Ok(finish(status, headers, body))
}

/// Parses a payload format 1.0 result (spec §4.6): `statusCode` required, `headers` and
/// `multiValueHeaders` merged, unknown keys ignored.
pub fn parse_v1(payload: &[u8]) -> Result<ProxyResponse, PayloadError> {
    let value: Value = serde_json::from_slice(payload).map_err(|_| PayloadError::NotJson)?;
    let Value::Object(obj) = &value else {
        return Err(PayloadError::MissingStatusCode);
    };
    if !obj.contains_key("statusCode") {
        return Err(PayloadError::MissingStatusCode);
    }
    let status = status_code(obj.get("statusCode"))?;
    let mut headers = Vec::new();
    if let Some(h) = obj.get("headers") {
        single_headers(h, &mut headers)?;
    }
    match obj.get("multiValueHeaders") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, vs) in m {
                let vs = match vs {
                    Value::Array(vs) => vs.as_slice(),
                    Value::Null => continue,
                    _ => return Err(PayloadError::InvalidField("multiValueHeaders")),
                };
                for v in vs {
                    let Some(v) = header_text(v)? else { continue };
                    // "If the same key-value pair is specified in both, the value will only
                    // appear once."
                    if !headers
                        .iter()
                        .any(|(hk, hv)| hk.eq_ignore_ascii_case(k) && *hv == v)
                    {
                        push_header(&mut headers, k, &v)?;
                    }
                }
            }
        }
        Some(_) => return Err(PayloadError::InvalidField("multiValueHeaders")),
    }
    let b64 = match obj.get("isBase64Encoded") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    let body = body(obj.get("body"), b64)?;
    Ok(finish(status, headers, body))
}

fn inferred(body: Bytes) -> ProxyResponse {
    ProxyResponse {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body,
    }
}

fn finish(status: u16, mut headers: Vec<(String, String)>, body: Bytes) -> ProxyResponse {
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        headers.push(("content-type".into(), DEFAULT_CONTENT_TYPE.into()));
    }
    ProxyResponse {
        status,
        headers,
        body,
    }
}

fn status_code(v: Option<&Value>) -> Result<u16, PayloadError> {
    let n = match v {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    match n {
        Some(n @ 100..=599) => Ok(n as u16),
        _ => Err(PayloadError::InvalidStatusCode),
    }
}

/// A header value as text: strings as-is, numbers and booleans in their JSON form (functions
/// commonly return `"Content-Length": 12`), `null` skipped.
fn header_text(v: &Value) -> Result<Option<String>, PayloadError> {
    match v {
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        Value::Null => Ok(None),
        _ => Err(PayloadError::InvalidField("headers")),
    }
}

fn single_headers(h: &Value, out: &mut Vec<(String, String)>) -> Result<(), PayloadError> {
    match h {
        Value::Null => Ok(()),
        Value::Object(m) => {
            for (k, v) in m {
                if let Some(v) = header_text(v)? {
                    push_header(out, k, &v)?;
                }
            }
            Ok(())
        }
        _ => Err(PayloadError::InvalidField("headers")),
    }
}

fn push_header(out: &mut Vec<(String, String)>, k: &str, v: &str) -> Result<(), PayloadError> {
    if HeaderName::from_bytes(k.as_bytes()).is_err() || HeaderValue::from_str(v).is_err() {
        return Err(PayloadError::InvalidField("headers"));
    }
    out.push((k.to_string(), v.to_string()));
    Ok(())
}

fn body(v: Option<&Value>, b64: bool) -> Result<Bytes, PayloadError> {
    let text = match v {
        None | Some(Value::Null) => return Ok(Bytes::new()),
        Some(Value::String(s)) => s,
        Some(_) => return Err(PayloadError::InvalidField("body")),
    };
    if b64 {
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map(Bytes::from)
            .map_err(|_| PayloadError::InvalidBase64)
    } else {
        Ok(Bytes::from(text.clone()))
    }
}

/// The payload 2.0 event of a Lambda `REQUEST` authorizer (authorizers.md §3.2): the
/// integration's 2.0 event without `body`, `isBase64Encoded` and `requestContext.authorizer`,
/// with `type`, `routeArn` and `identitySource` (the identity sources' values, in order).
pub fn authorizer_event_v2(req: &ProxyRequest, route_arn: &str, identity: &[String]) -> Value {
    let Value::Object(mut integration) = event_v2(req) else {
        return Value::Null;
    };
    integration.remove("body");
    integration.remove("isBase64Encoded");
    if let Some(Value::Object(ctx)) = integration.get_mut("requestContext") {
        ctx.remove("authorizer");
    }
    let mut e = Map::new();
    e.insert("version".into(), "2.0".into());
    e.insert("type".into(), "REQUEST".into());
    e.insert("routeArn".into(), route_arn.into());
    e.insert(
        "identitySource".into(),
        Value::Array(identity.iter().cloned().map(Value::String).collect()),
    );
    for (k, v) in integration {
        if k != "version" {
            e.insert(k, v);
        }
    }
    Value::Object(e)
}

/// The payload 1.0 event of a Lambda `REQUEST` authorizer (authorizers.md §3.2): REST's
/// `REQUEST` authorizer shape with `version`: `methodArn`, `identitySource` and
/// `authorizationToken` (the values joined with `,`), the request's headers, query and path
/// parameters, and a REST-style `requestContext`.
pub fn authorizer_event_v1(req: &ProxyRequest, route_arn: &str, identity: &[String]) -> Value {
    let Value::Object(integration) = event_v1(req) else {
        return Value::Null;
    };
    let joined = identity.join(",");
    let take = |k: &str| integration.get(k).cloned().unwrap_or(Value::Null);
    let resource = take("resource");
    let mut identity_ctx = Map::new();
    identity_ctx.insert("apiKey".into(), Value::Null);
    identity_ctx.insert("sourceIp".into(), req.source_ip.clone().into());
    identity_ctx.insert("clientCert".into(), Value::Null);
    let mut ctx = Map::new();
    ctx.insert("path".into(), req.raw_path.clone().into());
    ctx.insert("accountId".into(), req.account_id.clone().into());
    ctx.insert("resourceId".into(), Value::Null);
    ctx.insert("stage".into(), req.stage.clone().into());
    ctx.insert("requestId".into(), req.request_id.clone().into());
    ctx.insert("identity".into(), Value::Object(identity_ctx));
    ctx.insert("resourcePath".into(), resource.clone());
    ctx.insert("httpMethod".into(), req.method.clone().into());
    ctx.insert("apiId".into(), req.api_id.clone().into());
    let mut e = Map::new();
    e.insert("version".into(), "1.0".into());
    e.insert("type".into(), "REQUEST".into());
    e.insert("methodArn".into(), route_arn.into());
    e.insert("identitySource".into(), joined.clone().into());
    e.insert("authorizationToken".into(), joined.into());
    e.insert("resource".into(), resource);
    e.insert("path".into(), take("path"));
    e.insert("httpMethod".into(), take("httpMethod"));
    e.insert("headers".into(), take("headers"));
    e.insert("multiValueHeaders".into(), take("multiValueHeaders"));
    e.insert(
        "queryStringParameters".into(),
        take("queryStringParameters"),
    );
    e.insert(
        "multiValueQueryStringParameters".into(),
        take("multiValueQueryStringParameters"),
    );
    // The doc's example has `{}` for no path parameters.
    e.insert(
        "pathParameters".into(),
        match take("pathParameters") {
            Value::Null => Value::Object(Map::new()),
            v => v,
        },
    );
    e.insert("stageVariables".into(), take("stageVariables"));
    e.insert("requestContext".into(), Value::Object(ctx));
    Value::Object(e)
}

#[cfg(test)]
mod tests;

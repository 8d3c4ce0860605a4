//! Parameter mapping for integrations (control-plane.md §4.4.3–§4.4.6, §4.5.4–§4.5.5;
//! data-plane.md §3, §7.6): ONE grammar. The `parse_*` functions turn a parameter map into a
//! typed AST (or the list of what is wrong, in AWS's words); the control plane's `validate_*`
//! are those parsers, and the data plane compiles from the same AST, so whatever is accepted
//! at create time is what is evaluated at serve time.
//!
//! * [`expr`]: the HTTP API value language (`$request.header.x`, `${context.requestId}-v2`);
//! * [`jsonpath`]: the JSONPath subset after `body`;
//! * this module: keys (`append:header.x`, `overwrite:statuscode`,
//!   `integration.request.header.x`, `method.response.header.x`), WebSocket sources
//!   (`route.request.querystring.x`, `'static'`) and the AWS error messages.

pub mod expr;
pub mod jsonpath;

use std::collections::BTreeMap;

pub use expr::{is_header_name, is_variable_name, Part, Side, Source, Template};
pub use jsonpath::Step;

use crate::error::{Result, ServiceError};
use crate::validate;

/// Headers no mapping may touch (http-api-parameter-mapping, "Reserved headers").
const RESERVED_HEADERS: &[&str] = &[
    "authorization",
    "connection",
    "content-encoding",
    "content-length",
    "content-location",
    "forwarded",
    "keep-alive",
    "origin",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "via",
];
const RESERVED_HEADER_PREFIXES: &[&str] = &["access-control-", "apigw-", "x-amz-", "x-amzn-"];

pub fn is_reserved_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    RESERVED_HEADERS.contains(&n.as_str())
        || RESERVED_HEADER_PREFIXES.iter().any(|p| n.starts_with(p))
}

fn mapping_error(errors: &[String]) -> ServiceError {
    ServiceError::BadRequest(format!(
        "Invalid mapping expression specified: Validation Result: warnings : [], errors : [{}]",
        errors.join(", ")
    ))
}

fn selection_error(errors: &[String]) -> ServiceError {
    ServiceError::BadRequest(format!(
        "Invalid selection expression specified: Validation Result: warnings : [], errors : [{}]",
        errors.join(", ")
    ))
}

/// `requestParameters` of an HTTP API integration without a subtype, parsed.
pub fn validate_http_request_parameters(params: &BTreeMap<String, String>) -> Result<()> {
    parse_http_request_parameters(params)
        .map(drop)
        .map_err(|e| service_error(e, mapping_error))
}

/// `responseParameters` of an HTTP API integration: status code 200–599 → mappings.
pub fn validate_http_response_parameters(
    params: &BTreeMap<String, BTreeMap<String, String>>,
) -> Result<()> {
    parse_http_response_parameters(params)
        .map(drop)
        .map_err(|e| service_error(e, mapping_error))
}

/// How a mapping changes its target; ordered as the data plane applies them (removes, then
/// overwrites, then appends).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    Remove,
    Overwrite,
    Append,
}

impl Action {
    fn parse(a: &str) -> Option<Action> {
        match a {
            "append" => Some(Action::Append),
            "overwrite" => Some(Action::Overwrite),
            "remove" => Some(Action::Remove),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestTarget {
    /// A header name as written in the key.
    Header(String),
    QueryString(String),
    Path,
}

/// One entry of an HTTP integration's `requestParameters`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestParameter {
    pub key: String,
    pub action: Action,
    pub target: RequestTarget,
    /// Empty for `remove:` (its value is never read).
    pub value: Template,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseTarget {
    Header(String),
    /// `overwrite:statuscode`.
    StatusCode,
}

/// One entry of an HTTP integration's `responseParameters` for one status code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseParameter {
    pub key: String,
    pub action: Action,
    pub target: ResponseTarget,
    /// Empty for `remove:`.
    pub value: Template,
}

/// Why a parameter map is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamErrorKind {
    /// A value outside the member's 1–512 characters: AWS answers that one on its own.
    Length,
    /// One entry of the "Validation Result: … errors : […]" list.
    Invalid,
}

/// One thing wrong with a parameter map, in AWS's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    /// The offending key; `CODE/KEY` inside `responseParameters`.
    pub key: String,
    pub message: String,
    pub kind: ParamErrorKind,
}

impl ParamError {
    fn invalid(key: impl Into<String>, message: String) -> ParamError {
        ParamError {
            key: key.into(),
            message,
            kind: ParamErrorKind::Invalid,
        }
    }

    fn bad_source(key: &str, value: &str) -> ParamError {
        ParamError::invalid(
            key,
            format!("Invalid source: {value} specified for destination: {key}"),
        )
    }
}

fn length_error(member: &str, key: &str, value: &str) -> Option<ParamError> {
    validate::length(member, value, 1, 512)
        .err()
        .map(|e| ParamError {
            key: key.to_owned(),
            message: e.to_string(),
            kind: ParamErrorKind::Length,
        })
}

/// The control plane's answer for `errors`: a length error alone (the first), else the list.
fn service_error(errors: Vec<ParamError>, wrap: fn(&[String]) -> ServiceError) -> ServiceError {
    if let Some(e) = errors.iter().find(|e| e.kind == ParamErrorKind::Length) {
        return ServiceError::BadRequest(e.message.clone());
    }
    let messages: Vec<String> = errors.into_iter().map(|e| e.message).collect();
    wrap(&messages)
}

/// Parses an HTTP integration's `requestParameters`: `append|overwrite|remove:header.NAME`,
/// `append|overwrite|remove:querystring.NAME` or `overwrite:path` ← a request [`Template`].
pub fn parse_http_request_parameters(
    params: &BTreeMap<String, String>,
) -> std::result::Result<Vec<RequestParameter>, Vec<ParamError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (key, value) in params {
        if let Some(e) = length_error("requestParameters value", key, value) {
            errors.push(e);
            continue;
        }
        let Some((action, target)) = key.split_once(':').and_then(|(a, t)| {
            let action = Action::parse(a)?;
            let target = match t.split_once('.') {
                _ if t == "path" => (action == Action::Overwrite).then_some(RequestTarget::Path)?,
                Some(("header", name)) if is_header_name(name) => {
                    RequestTarget::Header(name.to_owned())
                }
                Some(("querystring", name)) if !name.is_empty() => {
                    RequestTarget::QueryString(name.to_owned())
                }
                _ => return None,
            };
            Some((action, target))
        }) else {
            errors.push(ParamError::invalid(
                key,
                format!("Invalid mapping key specified: {key}"),
            ));
            continue;
        };
        if let RequestTarget::Header(name) = &target {
            if is_reserved_header(name) {
                errors.push(ParamError::invalid(
                    key,
                    format!("Parameter mapping for reserved header {name} is not allowed"),
                ));
                continue;
            }
        }
        let value = if action == Action::Remove {
            Template::default()
        } else {
            match Template::parse(value, Side::Request) {
                Some(t) => t,
                None => {
                    errors.push(ParamError::bad_source(key, value));
                    continue;
                }
            }
        };
        out.push(RequestParameter {
            key: key.clone(),
            action,
            target,
            value,
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// A status code key of `responseParameters`: three digits, 200–599.
fn response_status(code: &str) -> Option<u16> {
    (code.len() == 3 && code.bytes().all(|c| c.is_ascii_digit()))
        .then(|| code.parse::<u16>().ok())
        .flatten()
        .filter(|c| (200..=599).contains(c))
}

/// Parses an HTTP integration's `responseParameters`: status code (200–599) →
/// `append|overwrite|remove:header.NAME` or `overwrite:statuscode` ← a response [`Template`].
/// A status override is a static code (100–599) or an expression with variables.
#[allow(clippy::type_complexity)]
pub fn parse_http_response_parameters(
    params: &BTreeMap<String, BTreeMap<String, String>>,
) -> std::result::Result<Vec<(u16, Vec<ResponseParameter>)>, Vec<ParamError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (code, inner) in params {
        let Some(status) = response_status(code) else {
            errors.push(ParamError::invalid(
                code.as_str(),
                format!(
                    "Invalid status code specified: {code}. Status code must be between 200 and 599"
                ),
            ));
            continue;
        };
        let mut rules = Vec::new();
        for (key, value) in inner {
            let at = format!("{code}/{key}");
            if let Some(e) = length_error("responseParameters value", &at, value) {
                errors.push(e);
                continue;
            }
            // `overwrite.statuscode` is the key pattern of the API reference (B).
            if key == "overwrite:statuscode" || key == "overwrite.statuscode" {
                let template =
                    Template::parse(value, Side::Response).filter(|t| match t.static_text() {
                        Some(s) => {
                            s.len() == 3
                                && s.bytes().all(|c| c.is_ascii_digit())
                                && s.parse::<u16>().is_ok_and(|c| (100..=599).contains(&c))
                        }
                        None => true,
                    });
                match template {
                    Some(value) => rules.push(ResponseParameter {
                        key: key.clone(),
                        action: Action::Overwrite,
                        target: ResponseTarget::StatusCode,
                        value,
                    }),
                    None => errors.push(ParamError {
                        key: at,
                        ..ParamError::bad_source(key, value)
                    }),
                }
                continue;
            }
            let header = key.split_once(':').and_then(|(a, t)| {
                let name = t.strip_prefix("header.").filter(|n| is_header_name(n))?;
                Some((Action::parse(a)?, name))
            });
            let Some((action, name)) = header else {
                errors.push(ParamError::invalid(
                    at,
                    format!("Invalid Response Actioned Parameter key specified: {key}"),
                ));
                continue;
            };
            if is_reserved_header(name) {
                errors.push(ParamError::invalid(
                    at,
                    format!("Parameter mapping for reserved header {name} is not allowed"),
                ));
                continue;
            }
            let value = if action == Action::Remove {
                Template::default()
            } else {
                match Template::parse(value, Side::Response) {
                    Some(t) => t,
                    None => {
                        errors.push(ParamError {
                            key: at,
                            ..ParamError::bad_source(key, value)
                        });
                        continue;
                    }
                }
            };
            rules.push(ResponseParameter {
                key: key.clone(),
                action,
                target: ResponseTarget::Header(name.to_owned()),
                value,
            });
        }
        out.push((status, rules));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// First-class AWS service integrations: subtype → (required, optional) parameter names.
pub const SUBTYPES: &[(&str, &[&str], &[&str])] = &[
    (
        "EventBridge-PutEvents",
        &["Detail", "DetailType", "Source"],
        &["Time", "EventBusName", "Resources", "Region", "TraceHeader"],
    ),
    (
        "SQS-SendMessage",
        &["QueueUrl", "MessageBody"],
        &[
            "DelaySeconds",
            "MessageAttributes",
            "MessageDeduplicationId",
            "MessageGroupId",
            "MessageSystemAttributes",
            "Region",
        ],
    ),
    (
        "SQS-ReceiveMessage",
        &["QueueUrl"],
        &[
            "AttributeNames",
            "MaxNumberOfMessages",
            "MessageAttributeNames",
            "ReceiveRequestAttemptId",
            "VisibilityTimeout",
            "WaitTimeSeconds",
            "Region",
        ],
    ),
    (
        "SQS-DeleteMessage",
        &["ReceiptHandle", "QueueUrl"],
        &["Region"],
    ),
    ("SQS-PurgeQueue", &["QueueUrl"], &["Region"]),
    (
        "AppConfig-GetConfiguration",
        &["Application", "Environment", "Configuration", "ClientId"],
        &["ClientConfigurationVersion", "Region"],
    ),
    (
        "Kinesis-PutRecord",
        &["StreamName", "Data", "PartitionKey"],
        &["SequenceNumberForOrdering", "ExplicitHashKey", "Region"],
    ),
    (
        "StepFunctions-StartExecution",
        &["StateMachineArn"],
        &["Name", "Input", "Region"],
    ),
    (
        "StepFunctions-StartSyncExecution",
        &["StateMachineArn"],
        &["Name", "Input", "Region", "TraceHeader"],
    ),
    (
        "StepFunctions-StopExecution",
        &["ExecutionArn"],
        &["Cause", "Error", "Region"],
    ),
];

pub fn subtype(name: &str) -> Option<(&'static [&'static str], &'static [&'static str])> {
    SUBTYPES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, r, o)| (*r, *o))
}

/// `requestParameters` of an AWS service integration: the subtype's parameter names.
pub fn validate_subtype_parameters(
    subtype_name: &str,
    params: &BTreeMap<String, String>,
) -> Result<()> {
    let (required, optional) = subtype(subtype_name).ok_or_else(|| {
        let all: Vec<&str> = SUBTYPES.iter().map(|(n, _, _)| *n).collect();
        ServiceError::BadRequest(format!(
            "Invalid integration subtype specified: {subtype_name}. Must be one of [{}]",
            all.join(", ")
        ))
    })?;
    let mut errors = Vec::new();
    for r in required {
        if !params.contains_key(*r) {
            errors.push(format!(
                "Parameter {r} is required for integration subtype {subtype_name}"
            ));
        }
    }
    for (k, v) in params {
        validate::length("requestParameters value", v, 1, 512)?;
        if !required.contains(&k.as_str()) && !optional.contains(&k.as_str()) {
            errors.push(format!(
                "Parameter {k} is not supported for integration subtype {subtype_name}"
            ));
        } else if Template::parse(v, Side::Request).is_none() {
            errors.push(format!(
                "Invalid source: {v} specified for destination: {k}"
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(selection_error(&errors))
    }
}

/// `PARAM_NAME` "must match the regular expression `'^[a-zA-Z0-9._$-]+$]'`" (sic).
fn ws_param_name_ok(n: &str) -> bool {
    !n.is_empty()
        && n.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._$-".contains(&c))
}

/// Where a WebSocket integration request parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WsTarget {
    Header,
    QueryString,
    /// A `{name}` of the integration URI.
    Path,
}

/// A WebSocket mapping source (websocket-api-data-mapping; data-plane.md §7.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsSource {
    /// `route.request.header.NAME` (`$connect` only).
    Header(String),
    /// `route.request.querystring.NAME` (`$connect` only).
    QueryString(String),
    /// `route.request.multivalueheader.NAME` (`$connect` only).
    MultiValueHeader(String),
    /// `route.request.multivaluequerystring.NAME` (`$connect` only).
    MultiValueQueryString(String),
    /// `route.request.body` (no steps: the whole message) or `route.request.body.JSONPATH`.
    Body(Vec<Step>),
    /// `context.NAME`.
    Context(String),
    /// `stageVariables.NAME`.
    StageVariable(String),
    /// `'text'`: the text between the quotes.
    Static(String),
}

/// One entry of a WebSocket integration's `requestParameters`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsRequestParameter {
    pub key: String,
    pub target: WsTarget,
    pub name: String,
    pub source: WsSource,
}

fn quoted(value: &str) -> Option<&str> {
    (value.len() >= 2)
        .then(|| value.strip_prefix('\'')?.strip_suffix('\''))
        .flatten()
}

fn ws_source(value: &str) -> Option<WsSource> {
    if let Some(text) = quoted(value) {
        return Some(WsSource::Static(text.to_owned()));
    }
    if let Some(rest) = value.strip_prefix("route.request.") {
        if let Some(path) = rest.strip_prefix("body") {
            return jsonpath::parse(path).map(WsSource::Body);
        }
        let (location, name) = rest.split_once('.')?;
        if !ws_param_name_ok(name) {
            return None;
        }
        let name = name.to_owned();
        // No `route.request.path.*`: WebSocket routes have no path parameters.
        return match location {
            "header" => Some(WsSource::Header(name)),
            "querystring" => Some(WsSource::QueryString(name)),
            "multivalueheader" => Some(WsSource::MultiValueHeader(name)),
            "multivaluequerystring" => Some(WsSource::MultiValueQueryString(name)),
            _ => None,
        };
    }
    if let Some(name) = value.strip_prefix("context.") {
        return is_variable_name(name).then(|| WsSource::Context(name.to_owned()));
    }
    if let Some(name) = value.strip_prefix("stageVariables.") {
        return is_variable_name(name).then(|| WsSource::StageVariable(name.to_owned()));
    }
    None
}

/// Parses a WebSocket integration's `requestParameters`:
/// `integration.request.{header|querystring|path}.NAME` ← a [`WsSource`].
pub fn parse_websocket_request_parameters(
    params: &BTreeMap<String, String>,
) -> std::result::Result<Vec<WsRequestParameter>, Vec<ParamError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (key, value) in params {
        if let Some(e) = length_error("requestParameters value", key, value) {
            errors.push(e);
            continue;
        }
        let target = key
            .strip_prefix("integration.request.")
            .and_then(|r| r.split_once('.'))
            .filter(|(_, name)| ws_param_name_ok(name))
            .and_then(|(location, name)| {
                let target = match location {
                    "header" => WsTarget::Header,
                    "querystring" => WsTarget::QueryString,
                    "path" => WsTarget::Path,
                    _ => return None,
                };
                Some((target, name))
            });
        let Some((target, name)) = target else {
            errors.push(ParamError::invalid(
                key,
                format!("Invalid mapping key specified: {key}"),
            ));
            continue;
        };
        let Some(source) = ws_source(value) else {
            errors.push(ParamError::bad_source(key, value));
            continue;
        };
        out.push(WsRequestParameter {
            key: key.clone(),
            target,
            name: name.to_owned(),
            source,
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// `requestParameters` of a WebSocket integration.
pub fn validate_websocket_request_parameters(params: &BTreeMap<String, String>) -> Result<()> {
    parse_websocket_request_parameters(params)
        .map(drop)
        .map_err(|e| service_error(e, mapping_error))
}

/// A WebSocket integration-response mapping source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntegrationResponseSource {
    /// `integration.response.header.NAME`.
    Header(String),
    /// `integration.response.body` (no steps: the whole body) or `….body.JSONPATH`.
    Body(Vec<Step>),
    /// `'text'`.
    Static(String),
}

/// One entry of a WebSocket integration response's `responseParameters`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationResponseParameter {
    pub key: String,
    /// The `method.response.header.NAME` name.
    pub header: String,
    pub source: IntegrationResponseSource,
}

/// Parses a WebSocket integration response's `responseParameters`:
/// `method.response.header.NAME` ← `integration.response.header.X`,
/// `integration.response.body[.JSONPATH]` or `'static'`.
pub fn parse_integration_response_parameters(
    params: &BTreeMap<String, String>,
) -> std::result::Result<Vec<IntegrationResponseParameter>, Vec<ParamError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (key, value) in params {
        if let Some(e) = length_error("responseParameters value", key, value) {
            errors.push(e);
            continue;
        }
        let Some(header) = key
            .strip_prefix("method.response.header.")
            .filter(|n| is_header_name(n))
        else {
            errors.push(ParamError::invalid(
                key,
                format!("Invalid mapping key specified: {key}"),
            ));
            continue;
        };
        let source = if let Some(text) = quoted(value) {
            Some(IntegrationResponseSource::Static(text.to_owned()))
        } else if let Some(n) = value.strip_prefix("integration.response.header.") {
            is_header_name(n).then(|| IntegrationResponseSource::Header(n.to_owned()))
        } else {
            value
                .strip_prefix("integration.response.body")
                .and_then(jsonpath::parse)
                .map(IntegrationResponseSource::Body)
        };
        let Some(source) = source else {
            errors.push(ParamError::bad_source(key, value));
            continue;
        };
        out.push(IntegrationResponseParameter {
            key: key.clone(),
            header: header.to_owned(),
            source,
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// `responseParameters` of a WebSocket integration response.
pub fn validate_integration_response_parameters(params: &BTreeMap<String, String>) -> Result<()> {
    parse_integration_response_parameters(params)
        .map(drop)
        .map_err(|e| service_error(e, mapping_error))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn http_request_keys_and_values() {
        assert!(validate_http_request_parameters(&map(&[
            ("append:header.header1", "$context.requestId"),
            ("remove:querystring.qs1", "''"),
            ("overwrite:path", "/v1/${request.path.id}"),
            ("overwrite:header.x", "static"),
            ("append:querystring.q", "$request.body.a.b"),
        ]))
        .is_ok());
        for bad in [
            ("put:header.x", "a"),
            ("append:path", "a"),
            ("append:header.authorization", "a"),
            ("append:header.X-Amz-Date", "a"),
            ("append:header.x", "$request.nope.y"),
            ("append:header.x", "$request.body..a"),
            ("append:header.x", "$request.body.a[*]"),
            ("append:header.x", "$request.body.a[?(@.x)]"),
            ("append:header.x", "${request.header.a b}"),
            ("append:header.x", "$context.bad-char"),
            ("overwrite:header.x", ""),
        ] {
            assert!(
                validate_http_request_parameters(&map(&[bad])).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn http_response_parameters() {
        let mut ok = BTreeMap::new();
        ok.insert(
            "500".to_string(),
            map(&[
                ("append:header.header1", "$context.requestId"),
                ("overwrite:statuscode", "403"),
            ]),
        );
        assert!(validate_http_response_parameters(&ok).is_ok());
        let mut bad_code = BTreeMap::new();
        bad_code.insert("600".to_string(), map(&[("overwrite:statuscode", "403")]));
        assert!(validate_http_response_parameters(&bad_code).is_err());
        let mut bad_key = BTreeMap::new();
        bad_key.insert("200".to_string(), map(&[("append:querystring.x", "a")]));
        assert!(validate_http_response_parameters(&bad_key).is_err());
    }

    fn message(r: Result<()>) -> String {
        match r {
            Err(ServiceError::BadRequest(m)) => m,
            other => panic!("expected BadRequest, got {other:?}"),
        }
    }

    /// The two expressions CreateIntegration used to accept although every call of the route
    /// then failed: a JSONPath filter and a wildcard.
    #[test]
    fn json_path_filters_and_wildcards_are_refused_at_create_time() {
        for value in ["$request.body.a[?(@.x)]", "$request.body.a[*]"] {
            assert_eq!(
                message(validate_http_request_parameters(&map(&[(
                    "append:header.x-a",
                    value
                )]))),
                format!(
                    "Invalid mapping expression specified: Validation Result: warnings : [], \
                     errors : [Invalid source: {value} specified for destination: append:header.x-a]"
                )
            );
        }
        let mut rp = BTreeMap::new();
        rp.insert(
            "200".to_string(),
            map(&[("overwrite:header.x", "${response.body.items[*].id}")]),
        );
        assert!(message(validate_http_response_parameters(&rp)).contains(
            "Invalid source: ${response.body.items[*].id} specified for destination: overwrite:header.x"
        ));
        assert!(message(validate_websocket_request_parameters(&map(&[(
            "integration.request.header.x",
            "route.request.body.a[?(@.x)]"
        )])))
        .contains("Invalid source: route.request.body.a[?(@.x)] specified"));
    }

    #[test]
    fn errors_are_listed_together_and_a_length_error_alone() {
        let m = message(validate_http_request_parameters(&map(&[
            ("put:header.a", "v"),
            ("append:header.authorization", "v"),
            ("append:header.x", "$request.nope"),
        ])));
        assert_eq!(
            m,
            // In key order.
            "Invalid mapping expression specified: Validation Result: warnings : [], errors : [\
             Parameter mapping for reserved header authorization is not allowed, \
             Invalid source: $request.nope specified for destination: append:header.x, \
             Invalid mapping key specified: put:header.a]"
        );
        let m = message(validate_http_request_parameters(&map(&[
            ("put:header.a", "v"),
            ("append:header.x", ""),
        ])));
        assert_eq!(
            m,
            "Invalid requestParameters value specified. Length must be between 1 and 512 characters"
        );
    }

    #[test]
    fn status_code_overrides() {
        for (value, ok) in [
            ("403", true),
            ("$response.body.code", true),
            ("${response.header.x}", true),
            ("700", false),
            ("99", false),
            ("abc", false),
            ("+403", false),
            ("$ 403", false),
            ("\\$403", false),
            ("$request.body.code", false),
        ] {
            let mut rp = BTreeMap::new();
            rp.insert("200".to_string(), map(&[("overwrite:statuscode", value)]));
            assert_eq!(
                validate_http_response_parameters(&rp).is_ok(),
                ok,
                "{value}"
            );
        }
    }

    #[test]
    fn websocket_request_parameters() {
        let parsed = parse_websocket_request_parameters(&map(&[
            (
                "integration.request.header.connectionId",
                "context.connectionId",
            ),
            (
                "integration.request.querystring.a",
                "route.request.body.action",
            ),
            ("integration.request.path.stage", "stageVariables.stage"),
            ("integration.request.header.X-Static", "'it''s'"),
            (
                "integration.request.header.all",
                "route.request.multivalueheader.Auth",
            ),
            ("integration.request.header.body", "route.request.body"),
        ]))
        .unwrap();
        let sources: Vec<(WsTarget, &str, &WsSource)> = parsed
            .iter()
            .map(|p| (p.target, p.name.as_str(), &p.source))
            .collect();
        assert_eq!(
            sources,
            vec![
                (
                    WsTarget::Header,
                    "X-Static",
                    &WsSource::Static("it''s".into())
                ),
                (
                    WsTarget::Header,
                    "all",
                    &WsSource::MultiValueHeader("Auth".into())
                ),
                (WsTarget::Header, "body", &WsSource::Body(vec![])),
                (
                    WsTarget::Header,
                    "connectionId",
                    &WsSource::Context("connectionId".into())
                ),
                (
                    WsTarget::Path,
                    "stage",
                    &WsSource::StageVariable("stage".into())
                ),
                (
                    WsTarget::QueryString,
                    "a",
                    &WsSource::Body(vec![Step::Key("action".into())])
                ),
            ]
        );
        for bad in [
            "static-without-quotes",
            "'",
            "$request.header.x",
            "route.request.cookie.x",
            "route.request.path.x",
            "route.request.header.a b",
            "route.request.body.a[*]",
            "route.request.body..a",
            "context.",
            "context.a-b",
            "stageVariables.",
        ] {
            assert!(
                validate_websocket_request_parameters(&map(&[(
                    "integration.request.header.x",
                    bad
                )]))
                .is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn integration_response_parameters() {
        assert!(validate_integration_response_parameters(&map(&[
            (
                "method.response.header.X-Id",
                "integration.response.header.x-id"
            ),
            ("method.response.header.X-Static", "'v'"),
            (
                "method.response.header.X-Body",
                "integration.response.body.id"
            ),
            ("method.response.header.X-All", "integration.response.body"),
        ]))
        .is_ok());
        for (k, v) in [
            ("method.response.header.", "'v'"),
            ("method.response.header.a b", "'v'"),
            ("integration.response.header.x", "'v'"),
            ("method.response.header.x", "integration.response.header."),
            ("method.response.header.x", "integration.response.body.a[*]"),
            ("method.response.header.x", "integration.response.bodyx"),
        ] {
            assert!(
                validate_integration_response_parameters(&map(&[(k, v)])).is_err(),
                "{k} = {v}"
            );
        }
    }

    #[test]
    fn subtype_parameters() {
        assert!(validate_subtype_parameters(
            "SQS-SendMessage",
            &map(&[
                ("QueueUrl", "$request.header.queueUrl"),
                ("MessageBody", "$request.body.message")
            ])
        )
        .is_ok());
        assert!(
            validate_subtype_parameters("SQS-SendMessage", &map(&[("QueueUrl", "x")])).is_err()
        );
        assert!(validate_subtype_parameters("SQS-Nope", &map(&[])).is_err());
    }
}

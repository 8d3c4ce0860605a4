//! Parameter-mapping syntax for integrations (control-plane.md §4.4.3–§4.4.6, §4.5.4–§4.5.5).
//! The control plane checks keys and values here; the data plane evaluates them.

use std::collections::BTreeMap;

use crate::error::{Result, ServiceError};
use crate::selection;
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

fn valid_header_name(n: &str) -> bool {
    !n.is_empty()
        && n.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
}

/// A request value for HTTP APIs: static text, or `$request.*`, `$context.*`, `$stageVariables.*`.
fn check_http_request_value(value: &str) -> bool {
    let Some(vars) = selection::variables(value) else {
        return false;
    };
    vars.iter().all(|v| {
        let parts: Vec<&str> = v.splitn(3, '.').collect();
        match parts.as_slice() {
            ["request", "path"] | ["request", "body"] => true,
            ["request", "header" | "querystring" | "path", name] => !name.is_empty(),
            ["request", "body", path] => {
                !path.is_empty() && !v.contains("..") && !path.contains("?(")
            }
            ["context", rest @ ..] | ["stageVariables", rest @ ..] => {
                let name = rest.join(".");
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
            }
            _ => false,
        }
    })
}

fn check_http_response_value(value: &str) -> bool {
    let Some(vars) = selection::variables(value) else {
        return false;
    };
    vars.iter().all(|v| {
        let parts: Vec<&str> = v.splitn(3, '.').collect();
        match parts.as_slice() {
            ["response", "header" | "body", name] => !name.is_empty(),
            ["response", "body"] => true,
            ["context", rest @ ..] | ["stageVariables", rest @ ..] => !rest.join(".").is_empty(),
            _ => false,
        }
    })
}

/// `requestParameters` of an HTTP API integration without a subtype.
pub fn validate_http_request_parameters(params: &BTreeMap<String, String>) -> Result<()> {
    let mut errors = Vec::new();
    for (key, value) in params {
        validate::length("requestParameters value", value, 1, 512)?;
        let ok_key = match key.split_once(':') {
            Some(("overwrite", "path")) => true,
            Some((action @ ("append" | "overwrite" | "remove"), target)) => {
                let _ = action;
                match target.split_once('.') {
                    Some(("header", name)) => {
                        if valid_header_name(name) && is_reserved_header(name) {
                            errors.push(format!(
                                "Parameter mapping for reserved header {name} is not allowed"
                            ));
                            continue;
                        }
                        valid_header_name(name)
                    }
                    Some(("querystring", name)) => !name.is_empty(),
                    _ => false,
                }
            }
            _ => false,
        };
        if !ok_key {
            errors.push(format!("Invalid mapping key specified: {key}"));
            continue;
        }
        if !key.starts_with("remove:") && !check_http_request_value(value) {
            errors.push(format!(
                "Invalid source: {value} specified for destination: {key}"
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(mapping_error(&errors))
    }
}

/// `responseParameters` of an HTTP API integration: status code 200–599 → mappings.
pub fn validate_http_response_parameters(
    params: &BTreeMap<String, BTreeMap<String, String>>,
) -> Result<()> {
    let mut errors = Vec::new();
    for (code, inner) in params {
        let valid_code = code.len() == 3
            && code.bytes().all(|c| c.is_ascii_digit())
            && (200..=599).contains(&code.parse::<u16>().unwrap_or(0));
        if !valid_code {
            errors.push(format!(
                "Invalid status code specified: {code}. Status code must be between 200 and 599"
            ));
            continue;
        }
        for (key, value) in inner {
            validate::length("responseParameters value", value, 1, 512)?;
            if key == "overwrite:statuscode" || key == "overwrite.statuscode" {
                // A static value must itself be a status code; otherwise a $-expression.
                let is_code = value.parse::<u16>().is_ok_and(|c| (100..=599).contains(&c));
                let is_expression = value.contains('$') && check_http_response_value(value);
                if !is_code && !is_expression {
                    errors.push(format!(
                        "Invalid source: {value} specified for destination: {key}"
                    ));
                }
                continue;
            }
            let header = match key.split_once(':') {
                Some(("append" | "overwrite" | "remove", target)) => target.strip_prefix("header."),
                _ => None,
            };
            match header {
                Some(name) if valid_header_name(name) => {
                    if is_reserved_header(name) {
                        errors.push(format!(
                            "Parameter mapping for reserved header {name} is not allowed"
                        ));
                    } else if !key.starts_with("remove:") && !check_http_response_value(value) {
                        errors.push(format!(
                            "Invalid source: {value} specified for destination: {key}"
                        ));
                    }
                }
                _ => errors.push(format!(
                    "Invalid Response Actioned Parameter key specified: {key}"
                )),
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(mapping_error(&errors))
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
        } else if !check_http_request_value(v) {
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

fn ws_param_name_ok(n: &str) -> bool {
    !n.is_empty()
        && n.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._$-".contains(&c))
}

/// `requestParameters` of a WebSocket integration:
/// `integration.request.{header|querystring|path}.NAME` ← `route.request.*`, `context.*`,
/// `stageVariables.*` or `'static'`.
pub fn validate_websocket_request_parameters(params: &BTreeMap<String, String>) -> Result<()> {
    let mut errors = Vec::new();
    for (key, value) in params {
        validate::length("requestParameters value", value, 1, 512)?;
        let ok_key = key
            .strip_prefix("integration.request.")
            .and_then(|r| r.split_once('.'))
            .is_some_and(|(loc, name)| {
                matches!(loc, "header" | "querystring" | "path") && ws_param_name_ok(name)
            });
        if !ok_key {
            errors.push(format!("Invalid mapping key specified: {key}"));
            continue;
        }
        if !websocket_source_ok(value, "route.request.") {
            errors.push(format!(
                "Invalid source: {value} specified for destination: {key}"
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(mapping_error(&errors))
    }
}

fn websocket_source_ok(value: &str, request_prefix: &str) -> bool {
    if value.len() >= 2 && value.starts_with('\'') && value.ends_with('\'') {
        return true;
    }
    if let Some(rest) = value.strip_prefix(request_prefix) {
        return match rest.split_once('.') {
            Some((
                "header" | "querystring" | "multivalueheader" | "multivaluequerystring" | "path",
                n,
            )) => ws_param_name_ok(n),
            Some(("body", p)) => !p.is_empty(),
            None => rest == "body",
            _ => false,
        };
    }
    for p in ["context.", "stageVariables."] {
        if let Some(n) = value.strip_prefix(p) {
            return !n.is_empty();
        }
    }
    false
}

/// `responseParameters` of a WebSocket integration response:
/// `method.response.header.NAME` ← `integration.response.header.X`, `integration.response.body.X` or `'static'`.
pub fn validate_integration_response_parameters(params: &BTreeMap<String, String>) -> Result<()> {
    let mut errors = Vec::new();
    for (key, value) in params {
        validate::length("responseParameters value", value, 1, 512)?;
        let ok_key = key
            .strip_prefix("method.response.header.")
            .is_some_and(valid_header_name);
        if !ok_key {
            errors.push(format!("Invalid mapping key specified: {key}"));
            continue;
        }
        let ok_value = (value.len() >= 2 && value.starts_with('\'') && value.ends_with('\''))
            || value
                .strip_prefix("integration.response.header.")
                .is_some_and(|n| !n.is_empty())
            || value
                .strip_prefix("integration.response.body")
                .is_some_and(|n| n.is_empty() || n.starts_with('.'));
        if !ok_value {
            errors.push(format!(
                "Invalid source: {value} specified for destination: {key}"
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(mapping_error(&errors))
    }
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

//! `Route` and `RouteResponse`, and the `RouteKey` grammar.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::enums::{AuthorizationType, ProtocolType};
use crate::error::{Result, ServiceError};
use crate::selection;
use crate::validate;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParameterConstraints {
    #[serde(rename = "required", default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
}

/// A parsed HTTP API route key: `$default` or `METHOD /path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteKey {
    Default,
    Http {
        method: String,
        path: String,
    },
    /// WebSocket keys: `$connect`, `$disconnect`, `$default` or any custom value.
    WebSocket(String),
}

impl RouteKey {
    pub fn parse(protocol: ProtocolType, key: &str) -> Result<RouteKey> {
        let invalid = || ServiceError::bad_request(format!("Invalid route key specified: {key}"));
        if key == "$default" {
            return Ok(RouteKey::Default);
        }
        match protocol {
            ProtocolType::WebSocket => {
                if key.is_empty() || key.chars().count() > 128 {
                    return Err(invalid());
                }
                if key.starts_with('$') && !matches!(key, "$connect" | "$disconnect") {
                    return Err(ServiceError::bad_request(format!(
                        "Invalid route key specified: {key}. Route keys starting with $ are reserved; use $connect, $disconnect or $default"
                    )));
                }
                Ok(RouteKey::WebSocket(key.to_string()))
            }
            ProtocolType::Http => {
                let (method, path) = key.split_once(' ').ok_or_else(invalid)?;
                if !validate::is_http_method(method) || !path.starts_with('/') || path.contains(' ')
                {
                    return Err(invalid());
                }
                let segments: Vec<&str> = path[1..].split('/').collect();
                let last = segments.len().saturating_sub(1);
                for (i, seg) in segments.iter().enumerate() {
                    if seg.is_empty() {
                        if path == "/" {
                            continue;
                        }
                        return Err(invalid());
                    }
                    if seg.contains('{') || seg.contains('}') {
                        let inner = seg
                            .strip_prefix('{')
                            .and_then(|s| s.strip_suffix('}'))
                            .ok_or_else(invalid)?;
                        let name = match inner.strip_suffix('+') {
                            Some(n) if i == last => n,
                            Some(_) => {
                                return Err(ServiceError::bad_request(format!(
                                    "Invalid route key specified: {key}. A greedy path variable must be the last path segment"
                                )))
                            }
                            None => inner,
                        };
                        if name.is_empty()
                            || !name
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                        {
                            return Err(invalid());
                        }
                    }
                }
                Ok(RouteKey::Http {
                    method: method.to_string(),
                    path: path.to_string(),
                })
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    pub route_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_gateway_managed: Option<bool>,
    pub api_key_required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_scopes: Option<Vec<String>>,
    pub authorization_type: AuthorizationType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorizer_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_selection_expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_models: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_parameters: Option<BTreeMap<String, ParameterConstraints>>,
    pub route_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_response_selection_expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_required: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_scopes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorizer_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_selection_expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_models: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_parameters: Option<BTreeMap<String, ParameterConstraints>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_response_selection_expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// The integration id a route target names (`integrations/{id}`).
pub fn target_integration_id(target: &str) -> Result<&str> {
    match target.strip_prefix("integrations/") {
        Some(id) if !id.is_empty() && !id.contains('/') => Ok(id),
        _ => Err(ServiceError::bad_request(format!(
            "Invalid target specified: {target}. A route target must be of the form integrations/{{integrationId}}"
        ))),
    }
}

impl Route {
    pub fn create(route_id: String, protocol: ProtocolType, input: RouteInput) -> Result<Route> {
        let route_key = input
            .route_key
            .clone()
            .ok_or_else(|| ServiceError::bad_request("RouteKey is required"))?;
        let mut route = Route {
            route_id,
            api_gateway_managed: None,
            api_key_required: false,
            authorization_scopes: None,
            authorization_type: AuthorizationType::None,
            authorizer_id: None,
            model_selection_expression: None,
            operation_name: None,
            request_models: None,
            request_parameters: None,
            route_key,
            route_response_selection_expression: None,
            target: None,
        };
        route.merge(input)?;
        route.validate(protocol)?;
        Ok(route)
    }

    pub fn update(&self, protocol: ProtocolType, input: RouteInput) -> Result<Route> {
        if self.api_gateway_managed == Some(true)
            && input
                .route_key
                .as_deref()
                .is_some_and(|k| k != self.route_key)
        {
            return Err(ServiceError::bad_request(
                "Cannot modify the route key of a route managed by API Gateway",
            ));
        }
        let mut next = self.clone();
        next.merge(input)?;
        next.validate(protocol)?;
        Ok(next)
    }

    /// Makes the route exactly `input` (Cloud Control's reconcile-to-model), same rules.
    pub fn replace(&self, protocol: ProtocolType, input: RouteInput) -> Result<Route> {
        let next = Route::create(self.route_id.clone(), protocol, input)?;
        if self.api_gateway_managed == Some(true) && next.route_key != self.route_key {
            return Err(ServiceError::bad_request(
                "Cannot modify the route key of a route managed by API Gateway",
            ));
        }
        Ok(Route {
            api_gateway_managed: self.api_gateway_managed,
            ..next
        })
    }

    fn merge(&mut self, input: RouteInput) -> Result<()> {
        if let Some(v) = input.api_key_required {
            self.api_key_required = v;
        }
        if let Some(v) = input.authorization_type {
            self.authorization_type = AuthorizationType::parse_member(&v, "authorization type")?;
            // Turning authorization off (NONE, or AWS_IAM, which takes no authorizer) detaches
            // the authorizer and its scopes unless the request names them (authorizers.md §1.6).
            if matches!(
                self.authorization_type,
                AuthorizationType::None | AuthorizationType::AwsIam
            ) {
                if input.authorizer_id.is_none() {
                    self.authorizer_id = None;
                }
                if input.authorization_scopes.is_none() {
                    self.authorization_scopes = None;
                }
            }
        }
        if let Some(v) = input.authorization_scopes {
            self.authorization_scopes = (!v.is_empty()).then_some(v);
        }
        if let Some(v) = input.authorizer_id {
            self.authorizer_id = (!v.is_empty()).then_some(v);
        }
        if let Some(v) = input.model_selection_expression {
            self.model_selection_expression = Some(v);
        }
        if let Some(v) = input.operation_name {
            self.operation_name = Some(v);
        }
        if let Some(v) = input.request_models {
            self.request_models = Some(v);
        }
        if let Some(v) = input.request_parameters {
            self.request_parameters = Some(v);
        }
        if let Some(v) = input.route_key {
            self.route_key = v;
        }
        if let Some(v) = input.route_response_selection_expression {
            self.route_response_selection_expression = Some(v);
        }
        if let Some(v) = input.target {
            // "" detaches the route from its integration.
            self.target = (!v.is_empty()).then_some(v);
        }
        Ok(())
    }

    /// The route's own rules. Its authorization (R1–R5 of authorizers.md §1.9) depends on the
    /// API's authorizers: [`crate::authorizer::check_route_authorization`].
    pub fn validate(&self, protocol: ProtocolType) -> Result<()> {
        RouteKey::parse(protocol, &self.route_key)?;
        validate::opt_length("operationName", &self.operation_name, 1, 64)?;
        validate::opt_length("target", &self.target, 1, 128)?;
        for v in self.request_models.iter().flat_map(|m| m.values()) {
            validate::length("requestModels", v, 1, 128)?;
        }
        if let Some(t) = &self.target {
            target_integration_id(t)?;
        }
        // authorizationType / authorizerId / authorizationScopes (R1–R5) need the API's
        // authorizers: `authorizer::check_route_authorization`, called by apigw-control.
        for expr in [
            &self.model_selection_expression,
            &self.route_response_selection_expression,
        ]
        .into_iter()
        .flatten()
        {
            if protocol == ProtocolType::WebSocket {
                selection::validate_selection_expression("selection expression", expr)?;
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteResponse {
    pub route_response_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_selection_expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_models: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_parameters: Option<BTreeMap<String, ParameterConstraints>>,
    pub route_response_key: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteResponseInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_selection_expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_models: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_parameters: Option<BTreeMap<String, ParameterConstraints>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_response_key: Option<String>,
}

impl RouteResponse {
    pub fn create(id: String, input: RouteResponseInput) -> Result<RouteResponse> {
        let key = input
            .route_response_key
            .clone()
            .ok_or_else(|| ServiceError::bad_request("RouteResponseKey is required"))?;
        let mut rr = RouteResponse {
            route_response_id: id,
            model_selection_expression: None,
            response_models: None,
            response_parameters: None,
            route_response_key: key,
        };
        rr.merge(input);
        rr.validate()?;
        Ok(rr)
    }

    pub fn update(&self, input: RouteResponseInput) -> Result<RouteResponse> {
        let mut next = self.clone();
        next.merge(input);
        next.validate()?;
        Ok(next)
    }

    /// Makes the route response exactly `input` (Cloud Control's reconcile-to-model).
    pub fn replace(&self, input: RouteResponseInput) -> Result<RouteResponse> {
        RouteResponse::create(self.route_response_id.clone(), input)
    }

    fn merge(&mut self, input: RouteResponseInput) {
        if let Some(v) = input.model_selection_expression {
            self.model_selection_expression = Some(v);
        }
        if let Some(v) = input.response_models {
            self.response_models = Some(v);
        }
        if let Some(v) = input.response_parameters {
            self.response_parameters = Some(v);
        }
        if let Some(v) = input.route_response_key {
            self.route_response_key = v;
        }
    }

    fn validate(&self) -> Result<()> {
        validate::length("routeResponseKey", &self.route_response_key, 1, 128)?;
        if self.route_response_key.starts_with('$') && self.route_response_key != "$default" {
            return Err(ServiceError::bad_request(format!(
                "Invalid route response key specified: {}. Keys starting with $ are reserved; use $default",
                self.route_response_key
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_route_keys() {
        for ok in [
            "$default",
            "GET /",
            "ANY /pets/{id}",
            "POST /a/{proxy+}",
            "GET /a/b-c_d",
        ] {
            assert!(RouteKey::parse(ProtocolType::Http, ok).is_ok(), "{ok}");
        }
        for bad in [
            "GET",
            "FETCH /",
            "GET pets",
            "GET /{proxy+}/x",
            "GET /{}",
            "GET //x",
            "$connect",
            "get /",
        ] {
            assert!(RouteKey::parse(ProtocolType::Http, bad).is_err(), "{bad}");
        }
        assert!(RouteKey::parse(ProtocolType::WebSocket, "$connect").is_ok());
        assert!(RouteKey::parse(ProtocolType::WebSocket, "sendMessage").is_ok());
        assert!(RouteKey::parse(ProtocolType::WebSocket, "$other").is_err());
    }
}

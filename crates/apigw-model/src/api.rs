//! `Api`: the root resource every other one hangs off.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::enums::{IpAddressType, ProtocolType};
use crate::error::{Result, ServiceError};
use crate::time::Timestamp;
use crate::validate;

pub const HTTP_ROUTE_SELECTION_EXPRESSION: &str = "$request.method $request.path";
pub const DEFAULT_API_KEY_SELECTION_EXPRESSION: &str = "$request.header.x-api-key";
const API_KEY_SELECTION_EXPRESSIONS: &[&str] = &[
    "$request.header.x-api-key",
    "$context.authorizer.usageIdentifierKey",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Cors {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_credentials: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_headers: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_methods: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_origins: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expose_headers: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age: Option<i64>,
}

impl Cors {
    pub fn validate(&self) -> Result<()> {
        if let Some(age) = self.max_age {
            validate::range_i64("maxAge", age, -1, 86_400)?;
        }
        for m in self.allow_methods.iter().flatten() {
            validate::length("allowMethods", m, 1, 64)?;
            let up = m.to_ascii_uppercase();
            if m != "*" && !validate::is_http_method(&up) {
                return Err(ServiceError::bad_request(format!(
                    "Invalid CORS allowMethods specified: {m}"
                )));
            }
        }
        for o in self.allow_origins.iter().flatten() {
            if o.is_empty() {
                return Err(ServiceError::bad_request(
                    "Invalid CORS allowOrigins specified: empty origin",
                ));
            }
        }
        if self.allow_credentials == Some(true)
            && self.allow_origins.iter().flatten().any(|o| o == "*")
        {
            return Err(ServiceError::bad_request(
                "allow-credentials is not supported when allow-origins is set to '*'",
            ));
        }
        Ok(())
    }
}

/// The stored resource. `apiEndpoint` is derived from the region when rendered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Api {
    pub api_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_gateway_managed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_selection_expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cors_configuration: Option<Cors>,
    pub created_date: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_schema_validation: Option<bool>,
    pub disable_execute_api_endpoint: bool,
    pub ip_address_type: IpAddressType,
    pub name: String,
    pub protocol_type: ProtocolType,
    pub route_selection_expression: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// CreateApi / UpdateApi request members. Enum members stay strings until validated.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiInput {
    pub api_key_selection_expression: Option<String>,
    pub cors_configuration: Option<Cors>,
    pub credentials_arn: Option<String>,
    pub description: Option<String>,
    pub disable_schema_validation: Option<bool>,
    pub disable_execute_api_endpoint: Option<bool>,
    pub ip_address_type: Option<String>,
    pub name: Option<String>,
    pub protocol_type: Option<String>,
    pub route_key: Option<String>,
    pub route_selection_expression: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
    pub target: Option<String>,
    pub version: Option<String>,
}

/// UpdateApi's write-only quick-create members, for the caller to apply to managed children.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QuickUpdate {
    pub target: Option<String>,
    pub route_key: Option<String>,
    pub credentials_arn: Option<String>,
}

/// What quick create (`CreateApi` with `target`) asks for besides the Api itself.
#[derive(Debug, Clone, PartialEq)]
pub struct QuickCreate {
    pub target: String,
    pub route_key: String,
    pub credentials_arn: Option<String>,
}

impl Api {
    /// `https://{id}.execute-api.{region}.amazonaws.com` (`wss://` for WebSocket).
    pub fn endpoint(&self, region: &str) -> String {
        let scheme = match self.protocol_type {
            ProtocolType::Http => "https",
            ProtocolType::WebSocket => "wss",
        };
        format!(
            "{scheme}://{}.execute-api.{region}.amazonaws.com",
            self.api_id
        )
    }

    /// Builds a new Api from a CreateApi request; returns the quick-create part, if any.
    pub fn create(
        api_id: String,
        now: Timestamp,
        input: ApiInput,
    ) -> Result<(Api, Option<QuickCreate>)> {
        let name = input
            .name
            .ok_or_else(|| ServiceError::bad_request("Name is required"))?;
        let protocol = match input.protocol_type.as_deref() {
            Some(p) => ProtocolType::parse(p),
            None => None,
        }
        .ok_or_else(|| {
            ServiceError::bad_request(
                "Invalid protocol specified. Must be one of [HTTP, WEBSOCKET]",
            )
        })?;
        let route_selection_expression = match (protocol, input.route_selection_expression) {
            (ProtocolType::Http, rse) => {
                rse.unwrap_or_else(|| HTTP_ROUTE_SELECTION_EXPRESSION.into())
            }
            (ProtocolType::WebSocket, Some(rse)) => rse,
            (ProtocolType::WebSocket, None) => {
                return Err(ServiceError::bad_request(
                    "RouteSelectionExpression is required for WebSocket APIs",
                ))
            }
        };
        let quick = match (input.target, input.route_key) {
            (Some(target), route_key) => {
                if protocol != ProtocolType::Http {
                    return Err(ServiceError::bad_request(
                        "Quick create (target) is only supported for HTTP APIs",
                    ));
                }
                validate::length("target", &target, 1, 2048)?;
                Some(QuickCreate {
                    target,
                    route_key: route_key.unwrap_or_else(|| "$default".into()),
                    credentials_arn: input.credentials_arn,
                })
            }
            (None, Some(_)) => {
                return Err(ServiceError::bad_request(
                    "RouteKey can only be specified together with Target (quick create)",
                ))
            }
            (None, None) => {
                if input.credentials_arn.is_some() {
                    return Err(ServiceError::bad_request(
                        "CredentialsArn can only be specified together with Target (quick create)",
                    ));
                }
                None
            }
        };
        let ip_address_type = match input.ip_address_type {
            Some(t) => IpAddressType::parse_member(&t, "ipAddressType")?,
            None => IpAddressType::Ipv4,
        };
        let api = Api {
            api_id,
            api_gateway_managed: None,
            api_key_selection_expression: Some(
                input
                    .api_key_selection_expression
                    .unwrap_or_else(|| DEFAULT_API_KEY_SELECTION_EXPRESSION.into()),
            ),
            cors_configuration: input.cors_configuration,
            created_date: now,
            description: input.description,
            disable_schema_validation: input.disable_schema_validation,
            disable_execute_api_endpoint: input.disable_execute_api_endpoint.unwrap_or(false),
            ip_address_type,
            name,
            protocol_type: protocol,
            route_selection_expression,
            tags: input.tags.unwrap_or_default(),
            version: input.version,
        };
        api.validate()?;
        Ok((api, quick))
    }

    /// Applies an UpdateApi request. `target`/`routeKey`/`credentialsArn` are returned for the
    /// caller to apply to the quick-create children.
    pub fn update(&mut self, input: ApiInput) -> Result<Option<QuickUpdate>> {
        if input.protocol_type.is_some() {
            return Err(ServiceError::bad_request("ProtocolType cannot be updated"));
        }
        if input.tags.is_some() {
            return Err(ServiceError::bad_request(
                "Tags cannot be updated with UpdateApi; use TagResource",
            ));
        }
        let mut next = self.clone();
        if let Some(v) = input.api_key_selection_expression {
            next.api_key_selection_expression = Some(v);
        }
        if let Some(v) = input.cors_configuration {
            next.cors_configuration = Some(v);
        }
        if let Some(v) = input.description {
            next.description = Some(v);
        }
        if let Some(v) = input.disable_schema_validation {
            next.disable_schema_validation = Some(v);
        }
        if let Some(v) = input.disable_execute_api_endpoint {
            next.disable_execute_api_endpoint = v;
        }
        if let Some(v) = input.ip_address_type {
            next.ip_address_type = IpAddressType::parse_member(&v, "ipAddressType")?;
        }
        if let Some(v) = input.name {
            next.name = v;
        }
        if let Some(v) = input.route_selection_expression {
            next.route_selection_expression = v;
        }
        if let Some(v) = input.version {
            next.version = Some(v);
        }
        next.validate()?;
        *self = next;
        let quick = (input.target.is_some()
            || input.route_key.is_some()
            || input.credentials_arn.is_some())
        .then_some(QuickUpdate {
            target: input.target,
            route_key: input.route_key,
            credentials_arn: input.credentials_arn,
        });
        Ok(quick)
    }

    /// Makes the Api exactly `input` (Cloud Control's reconcile-to-model): members absent from
    /// `input` are unset or take their defaults; id, creation date and managed flag stay.
    /// `target`/`routeKey`/`credentialsArn` are returned for the caller to apply to the
    /// quick-create children, as with `update`.
    pub fn replace(&self, mut input: ApiInput) -> Result<(Api, Option<QuickUpdate>)> {
        if input
            .protocol_type
            .as_deref()
            .is_some_and(|p| p != self.protocol_type.as_str())
        {
            return Err(ServiceError::bad_request("ProtocolType cannot be updated"));
        }
        input.protocol_type = Some(self.protocol_type.as_str().to_string());
        let quick = QuickUpdate {
            target: input.target.take(),
            route_key: input.route_key.take(),
            credentials_arn: input.credentials_arn.take(),
        };
        let (mut api, _) = Api::create(self.api_id.clone(), self.created_date, input)?;
        api.api_gateway_managed = self.api_gateway_managed;
        let any =
            quick.target.is_some() || quick.route_key.is_some() || quick.credentials_arn.is_some();
        Ok((api, any.then_some(quick)))
    }

    pub fn validate(&self) -> Result<()> {
        validate::length("name", &self.name, 1, 128)?;
        validate::opt_length("description", &self.description, 0, 1024)?;
        // The model allows 1–64; UpdateApi with "" clears it (seen in moto's suite).
        validate::opt_length("version", &self.version, 0, 64)?;
        if let Some(expr) = &self.api_key_selection_expression {
            if !API_KEY_SELECTION_EXPRESSIONS.contains(&expr.as_str()) {
                return Err(ServiceError::bad_request(format!(
                    "Invalid API key selection expression specified: {expr}. Must be one of [{}]",
                    API_KEY_SELECTION_EXPRESSIONS.join(", ")
                )));
            }
        }
        match self.protocol_type {
            ProtocolType::Http => {
                // "For HTTP APIs, the routeSelectionExpression must be ${request.method} ${request.path}."
                let rse = self.route_selection_expression.as_str();
                if rse != HTTP_ROUTE_SELECTION_EXPRESSION
                    && rse != "${request.method} ${request.path}"
                {
                    return Err(ServiceError::bad_request(format!(
                        "Invalid route selection expression specified: {rse}. For HTTP APIs it must be {HTTP_ROUTE_SELECTION_EXPRESSION}"
                    )));
                }
            }
            ProtocolType::WebSocket => {
                crate::selection::validate_selection_expression(
                    "route selection expression",
                    &self.route_selection_expression,
                )?;
                if self.cors_configuration.is_some() {
                    return Err(ServiceError::bad_request(
                        "CORS configuration is supported only for HTTP APIs",
                    ));
                }
            }
        }
        if let Some(cors) = &self.cors_configuration {
            cors.validate()?;
        }
        validate::tags(&self.tags)?;
        Ok(())
    }
}

//! `Integration`: where a route sends its requests. Rules: control-plane.md §4.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::enums::{
    ConnectionType, ContentHandlingStrategy, IntegrationType, PassthroughBehavior,
    PayloadFormatVersion, ProtocolType,
};
use crate::error::{Result, ServiceError};
use crate::mapping;
use crate::selection;
use crate::validate;

pub type ResponseParameters = BTreeMap<String, BTreeMap<String, String>>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_name_to_verify: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Integration {
    pub integration_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_gateway_managed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    pub connection_type: ConnectionType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_handling_strategy: Option<ContentHandlingStrategy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integration_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integration_response_selection_expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integration_subtype: Option<String>,
    pub integration_type: IntegrationType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integration_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passthrough_behavior: Option<PassthroughBehavior>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_format_version: Option<PayloadFormatVersion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_parameters: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_templates: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_parameters: Option<ResponseParameters>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_selection_expression: Option<String>,
    pub timeout_in_millis: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_config: Option<TlsConfig>,
}

/// CreateIntegration / UpdateIntegration request members.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_handling_strategy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integration_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integration_subtype: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integration_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integration_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passthrough_behavior: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_format_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_parameters: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_templates: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_parameters: Option<ResponseParameters>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_selection_expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_in_millis: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_config: Option<TlsConfig>,
}

/// The upper timeout bound and default per protocol (§4.3).
pub fn max_timeout(protocol: ProtocolType) -> i64 {
    match protocol {
        ProtocolType::Http => 30_000,
        ProtocolType::WebSocket => 29_000,
    }
}

fn is_lambda_uri(uri: &str) -> bool {
    // arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER] or the apigateway invocation URI.
    let lambda_arn = |s: &str| {
        let p: Vec<&str> = s.split(':').collect();
        p.len() >= 7 && p[0] == "arn" && p[2] == "lambda" && p[5] == "function" && !p[6].is_empty()
    };
    if lambda_arn(uri) {
        return true;
    }
    uri.starts_with("arn:")
        && uri.contains(":lambda:path/")
        && uri.ends_with("/invocations")
        && uri
            .split_once("/functions/")
            .map(|(_, f)| f.trim_end_matches("/invocations"))
            .is_some_and(lambda_arn)
}

fn is_http_url(uri: &str) -> bool {
    let rest = uri
        .strip_prefix("http://")
        .or_else(|| uri.strip_prefix("https://"));
    // Stage variables may supply the whole host: http://${stageVariables.url}
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
}

fn is_private_target_arn(uri: &str) -> bool {
    uri.starts_with("arn:")
        && (uri.contains(":elasticloadbalancing:") && uri.contains(":listener/")
            || uri.contains(":servicediscovery:") && uri.contains(":service/"))
}

/// `requestTemplates` and `responseTemplates`: content type → template, up to 32 KB each.
pub fn validate_templates(member: &str, templates: &BTreeMap<String, String>) -> Result<()> {
    for (k, v) in templates {
        validate::length(member, k, 1, 256)?;
        validate::length(member, v, 0, 32_768)?;
        // The data plane's parser: a template stored is a template that runs.
        if let Err(e) = apigw_vtl::validate(v) {
            return Err(ServiceError::bad_request(format!(
                "Invalid mapping template specified for key {k}: {e}"
            )));
        }
    }
    Ok(())
}

impl Integration {
    /// CreateIntegration: defaults filled in, every rule checked.
    pub fn create(
        integration_id: String,
        protocol: ProtocolType,
        input: IntegrationInput,
    ) -> Result<Integration> {
        let integration_type = match &input.integration_type {
            Some(t) => IntegrationType::parse_member(t, "integration type")?,
            None => return Err(ServiceError::bad_request("IntegrationType is required")),
        };
        let mut integration = Integration {
            integration_id,
            api_gateway_managed: None,
            connection_id: None,
            connection_type: ConnectionType::Internet,
            content_handling_strategy: None,
            credentials_arn: None,
            description: None,
            integration_method: None,
            integration_response_selection_expression: None,
            integration_subtype: None,
            integration_type,
            integration_uri: None,
            passthrough_behavior: None,
            payload_format_version: None,
            request_parameters: None,
            request_templates: None,
            response_parameters: None,
            template_selection_expression: None,
            timeout_in_millis: max_timeout(protocol),
            tls_config: None,
        };
        integration.merge(input, false)?;
        integration.fill_defaults(protocol);
        integration.validate(protocol)?;
        Ok(integration)
    }

    /// UpdateIntegration: members present replace, maps merge (§4.4.7), then every rule again.
    pub fn update(&self, protocol: ProtocolType, input: IntegrationInput) -> Result<Integration> {
        let mut next = self.clone();
        let type_changed = input
            .integration_type
            .as_deref()
            .is_some_and(|t| t != self.integration_type.as_str());
        next.merge(input, true)?;
        if type_changed {
            // Defaults that depend on the type follow it.
            next.integration_response_selection_expression = None;
        }
        next.fill_defaults(protocol);
        next.validate(protocol)?;
        Ok(next)
    }

    /// Replaces every member with `input` (Cloud Control's reconcile-to-model): members absent
    /// from `input` are unset or take their defaults; the id and managed flag stay.
    pub fn replace(&self, protocol: ProtocolType, input: IntegrationInput) -> Result<Integration> {
        let mut next = Integration::create(self.integration_id.clone(), protocol, input)?;
        next.api_gateway_managed = self.api_gateway_managed;
        Ok(next)
    }

    fn merge(&mut self, input: IntegrationInput, is_update: bool) -> Result<()> {
        if let Some(t) = input.integration_type {
            self.integration_type = IntegrationType::parse_member(&t, "integration type")?;
        }
        if let Some(v) = input.connection_type {
            self.connection_type = ConnectionType::parse_member(&v, "connection type")?;
        }
        if let Some(v) = input.content_handling_strategy {
            self.content_handling_strategy = Some(ContentHandlingStrategy::parse_member(
                &v,
                "content handling strategy",
            )?);
        }
        if let Some(v) = input.passthrough_behavior {
            self.passthrough_behavior = Some(PassthroughBehavior::parse_member(
                &v,
                "passthrough behavior",
            )?);
        }
        if let Some(v) = input.payload_format_version {
            self.payload_format_version =
                Some(PayloadFormatVersion::parse(&v).ok_or_else(|| {
                    ServiceError::bad_request(format!(
                        "Invalid payload format version specified: {v}. Must be one of [1.0, 2.0]"
                    ))
                })?);
        }
        // "" clears these: how a private integration becomes public again, or drops its role.
        set_or_clear(&mut self.connection_id, input.connection_id);
        set_or_clear(&mut self.credentials_arn, input.credentials_arn);
        set(&mut self.description, input.description);
        set(&mut self.integration_method, input.integration_method);
        set(&mut self.integration_subtype, input.integration_subtype);
        set(&mut self.integration_uri, input.integration_uri);
        set(
            &mut self.template_selection_expression,
            input.template_selection_expression,
        );
        if let Some(t) = input.timeout_in_millis {
            self.timeout_in_millis = t;
        }
        if let Some(tls) = input.tls_config {
            // {} clears the TLS configuration.
            self.tls_config = tls.server_name_to_verify.is_some().then_some(tls);
        }
        if let Some(templates) = input.request_templates {
            self.request_templates = Some(templates);
        }
        if let Some(params) = input.request_parameters {
            if is_update {
                // A key mapped to "" is removed; others are added or replaced.
                let mut merged = self.request_parameters.take().unwrap_or_default();
                for (k, v) in params {
                    if v.is_empty() {
                        merged.remove(&k);
                    } else {
                        merged.insert(k, v);
                    }
                }
                self.request_parameters = Some(merged);
            } else {
                self.request_parameters = Some(params);
            }
        }
        if let Some(params) = input.response_parameters {
            if is_update {
                // A status code mapped to {} is removed; a non-empty map replaces that code's mappings.
                let mut merged = self.response_parameters.take().unwrap_or_default();
                for (code, inner) in params {
                    if inner.is_empty() {
                        merged.remove(&code);
                    } else {
                        merged.insert(code, inner);
                    }
                }
                self.response_parameters = Some(merged);
            } else {
                self.response_parameters = Some(params);
            }
        }
        // Empty maps are not shown (AWS omits unset members).
        if self
            .request_parameters
            .as_ref()
            .is_some_and(|m| m.is_empty())
        {
            self.request_parameters = None;
        }
        if self
            .response_parameters
            .as_ref()
            .is_some_and(|m| m.is_empty())
        {
            self.response_parameters = None;
        }
        Ok(())
    }

    fn fill_defaults(&mut self, protocol: ProtocolType) {
        match protocol {
            ProtocolType::Http => {
                if self.integration_method.is_none()
                    && self.integration_type == IntegrationType::AwsProxy
                {
                    self.integration_method = Some("POST".into());
                }
                if self.payload_format_version.is_none()
                    && (self.integration_type == IntegrationType::HttpProxy
                        || self.integration_subtype.is_some())
                {
                    self.payload_format_version = Some(PayloadFormatVersion::V1);
                }
            }
            ProtocolType::WebSocket => {
                if self.payload_format_version.is_none() {
                    self.payload_format_version = Some(PayloadFormatVersion::V1);
                }
                if self.passthrough_behavior.is_none() {
                    self.passthrough_behavior = Some(PassthroughBehavior::WhenNoMatch);
                }
                self.integration_response_selection_expression = match self.integration_type {
                    IntegrationType::Http | IntegrationType::Mock => {
                        Some("${integration.response.statuscode}".into())
                    }
                    IntegrationType::Aws => {
                        Some("${integration.response.body.errorMessage}".into())
                    }
                    _ => None,
                };
            }
        }
    }

    /// Every rule of the service for an integration in an API of `protocol`.
    pub fn validate(&self, protocol: ProtocolType) -> Result<()> {
        validate::opt_length("connectionId", &self.connection_id, 1, 1024)?;
        validate::opt_length("description", &self.description, 0, 1024)?;
        validate::opt_length("integrationMethod", &self.integration_method, 1, 64)?;
        validate::opt_length("integrationSubtype", &self.integration_subtype, 1, 128)?;
        validate::opt_length("integrationUri", &self.integration_uri, 1, 2048)?;
        validate::opt_length(
            "payloadFormatVersion",
            &self.payload_format_version.map(|p| p.as_str().to_string()),
            1,
            64,
        )?;
        if let Some(tls) = &self.tls_config {
            validate::opt_length("serverNameToVerify", &tls.server_name_to_verify, 1, 512)?;
        }
        let max = max_timeout(protocol);
        if self.timeout_in_millis < 50 || self.timeout_in_millis > max {
            return Err(ServiceError::BadRequest(format!(
                "Invalid timeout specified: {}. Timeout must be between 50 and {max} milliseconds",
                self.timeout_in_millis
            )));
        }
        if let Some(m) = &self.integration_method {
            if !validate::is_http_method(m) {
                return Err(ServiceError::bad_request(format!(
                    "Invalid HTTP method specified: {m}. Must be one of [{}]",
                    validate::HTTP_METHODS.join(", ")
                )));
            }
        }
        if let Some(arn) = &self.credentials_arn {
            // Role ARN, or arn:aws:iam::*:user/* for caller pass-through (the documented form).
            let ok = arn.starts_with("arn:")
                && arn.contains(":iam::")
                && (arn.contains(":role/") || arn.contains(":user/"));
            if !ok {
                return Err(ServiceError::bad_request(format!(
                    "Invalid credentials ARN specified: {arn}"
                )));
            }
        }
        if self.connection_type == ConnectionType::VpcLink && self.connection_id.is_none() {
            return Err(ServiceError::bad_request(
                "ConnectionId must be specified for an integration with connection type VPC_LINK",
            ));
        }
        if self.connection_type == ConnectionType::Internet && self.connection_id.is_some() {
            return Err(ServiceError::bad_request(
                "ConnectionId can only be specified for an integration with connection type VPC_LINK",
            ));
        }
        if let Some(templates) = &self.request_templates {
            validate_templates("requestTemplates", templates)?;
        }
        match protocol {
            ProtocolType::Http => self.validate_http(),
            ProtocolType::WebSocket => self.validate_websocket(),
        }
    }

    fn validate_http(&self) -> Result<()> {
        if !self.integration_type.is_proxy() {
            return Err(ServiceError::bad_request(
                "Currently, an API with a protocol type of HTTP may only be associated with proxy integrations (AWS_PROXY, HTTP_PROXY)",
            ));
        }
        let websocket_only = [
            (
                "contentHandlingStrategy",
                self.content_handling_strategy.is_some(),
            ),
            ("passthroughBehavior", self.passthrough_behavior.is_some()),
            ("requestTemplates", self.request_templates.is_some()),
            (
                "templateSelectionExpression",
                self.template_selection_expression.is_some(),
            ),
        ];
        if let Some((member, _)) = websocket_only.iter().find(|(_, set)| *set) {
            return Err(ServiceError::bad_request(format!(
                "{member} is supported only for WebSocket APIs"
            )));
        }
        if self.tls_config.is_some() && self.connection_type != ConnectionType::VpcLink {
            return Err(ServiceError::bad_request(
                "TlsConfig is supported only for private integrations (connection type VPC_LINK)",
            ));
        }
        if let Some(subtype) = &self.integration_subtype {
            if self.integration_type != IntegrationType::AwsProxy {
                return Err(ServiceError::bad_request(
                    "IntegrationSubtype is supported only for AWS_PROXY integrations",
                ));
            }
            if self.payload_format_version != Some(PayloadFormatVersion::V1) {
                return Err(ServiceError::bad_request(
                    "Invalid payload format version specified for AWS service integrations. Must be 1.0",
                ));
            }
            if self.credentials_arn.is_none() {
                return Err(ServiceError::bad_request(
                    "CredentialsArn is required for AWS service integrations (IntegrationSubtype)",
                ));
            }
            let empty = BTreeMap::new();
            mapping::validate_subtype_parameters(
                subtype,
                self.request_parameters.as_ref().unwrap_or(&empty),
            )?;
        } else {
            if let Some(params) = &self.request_parameters {
                mapping::validate_http_request_parameters(params)?;
            }
            match self.integration_type {
                IntegrationType::AwsProxy => {
                    let uri = self.integration_uri.as_deref().ok_or_else(|| {
                        ServiceError::bad_request("IntegrationUri is required for AWS_PROXY integrations without an IntegrationSubtype")
                    })?;
                    if !is_lambda_uri(uri) {
                        return Err(ServiceError::bad_request(format!(
                            "Invalid integration URI specified: {uri}. For AWS_PROXY integrations specify a Lambda function ARN or invocation URI"
                        )));
                    }
                    if self.payload_format_version.is_none() {
                        return Err(ServiceError::bad_request(
                            "PayloadFormatVersion is required for Lambda proxy integrations. Must be one of [1.0, 2.0]",
                        ));
                    }
                }
                _ => {
                    let uri = self.integration_uri.as_deref().ok_or_else(|| {
                        ServiceError::bad_request(
                            "IntegrationUri is required for HTTP_PROXY integrations",
                        )
                    })?;
                    let ok = match self.connection_type {
                        ConnectionType::Internet => is_http_url(uri),
                        ConnectionType::VpcLink => is_private_target_arn(uri),
                    };
                    if !ok {
                        return Err(ServiceError::bad_request(format!(
                            "Invalid integration URI specified: {uri}. {}",
                            match self.connection_type {
                                ConnectionType::Internet => "Specify a fully-qualified http:// or https:// URL",
                                ConnectionType::VpcLink => "Specify the ARN of a load balancer listener or Cloud Map service",
                            }
                        )));
                    }
                    if self.integration_method.is_none() {
                        return Err(ServiceError::bad_request(
                            "IntegrationMethod is required for HTTP_PROXY integrations",
                        ));
                    }
                    if self.payload_format_version != Some(PayloadFormatVersion::V1) {
                        return Err(ServiceError::bad_request(
                            "Invalid payload format version specified. For HTTP_PROXY integrations it must be 1.0",
                        ));
                    }
                }
            }
        }
        if let Some(params) = &self.response_parameters {
            mapping::validate_http_response_parameters(params)?;
        }
        Ok(())
    }

    fn validate_websocket(&self) -> Result<()> {
        let http_only = [
            ("integrationSubtype", self.integration_subtype.is_some()),
            ("responseParameters", self.response_parameters.is_some()),
            ("tlsConfig", self.tls_config.is_some()),
        ];
        if let Some((member, _)) = http_only.iter().find(|(_, set)| *set) {
            return Err(ServiceError::bad_request(format!(
                "{member} is supported only for HTTP APIs"
            )));
        }
        if self.payload_format_version != Some(PayloadFormatVersion::V1) {
            return Err(ServiceError::bad_request(
                "Invalid payload format version specified. WebSocket APIs support only 1.0",
            ));
        }
        if let Some(params) = &self.request_parameters {
            mapping::validate_websocket_request_parameters(params)?;
        }
        if let Some(expr) = &self.template_selection_expression {
            selection::validate_selection_expression("template selection expression", expr)?;
        }
        match self.integration_type {
            IntegrationType::Mock => {}
            IntegrationType::Http | IntegrationType::HttpProxy => {
                let uri = self.integration_uri.as_deref().ok_or_else(|| {
                    ServiceError::bad_request(format!(
                        "IntegrationUri is required for {} integrations",
                        self.integration_type
                    ))
                })?;
                let ok = match self.connection_type {
                    ConnectionType::Internet => is_http_url(uri),
                    ConnectionType::VpcLink => is_http_url(uri) || is_private_target_arn(uri),
                };
                if !ok {
                    return Err(ServiceError::bad_request(format!(
                        "Invalid integration URI specified: {uri}. Specify a fully-qualified http:// or https:// URL"
                    )));
                }
                if self.integration_method.is_none() {
                    return Err(ServiceError::bad_request(format!(
                        "IntegrationMethod is required for {} integrations",
                        self.integration_type
                    )));
                }
            }
            IntegrationType::Aws | IntegrationType::AwsProxy => {
                let uri = self.integration_uri.as_deref().ok_or_else(|| {
                    ServiceError::bad_request(format!(
                        "IntegrationUri is required for {} integrations",
                        self.integration_type
                    ))
                })?;
                if !uri.starts_with("arn:") {
                    return Err(ServiceError::bad_request(format!(
                        "Invalid integration URI specified: {uri}. Specify an AWS service or Lambda ARN"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Target string a route uses to reach this integration.
    pub fn route_target(&self) -> String {
        format!("integrations/{}", self.integration_id)
    }
}

fn set_or_clear(field: &mut Option<String>, value: Option<String>) {
    if let Some(v) = value {
        *field = (!v.is_empty()).then_some(v);
    }
}

fn set(field: &mut Option<String>, value: Option<String>) {
    if let Some(v) = value {
        *field = Some(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http_proxy() -> IntegrationInput {
        IntegrationInput {
            integration_type: Some("HTTP_PROXY".into()),
            integration_uri: Some("https://example.com/{proxy}".into()),
            integration_method: Some("ANY".into()),
            ..Default::default()
        }
    }

    #[test]
    fn http_defaults() {
        let i = Integration::create("abc".into(), ProtocolType::Http, http_proxy()).unwrap();
        assert_eq!(i.timeout_in_millis, 30_000);
        assert_eq!(i.connection_type, ConnectionType::Internet);
        assert_eq!(i.payload_format_version, Some(PayloadFormatVersion::V1));
        assert_eq!(i.passthrough_behavior, None);
        let lambda = IntegrationInput {
            integration_type: Some("AWS_PROXY".into()),
            integration_uri: Some("arn:aws:lambda:us-east-1:000000000000:function:hello".into()),
            payload_format_version: Some("2.0".into()),
            ..Default::default()
        };
        let i = Integration::create("x".into(), ProtocolType::Http, lambda).unwrap();
        assert_eq!(i.integration_method.as_deref(), Some("POST"));
    }

    #[test]
    fn websocket_defaults() {
        let mock = IntegrationInput {
            integration_type: Some("MOCK".into()),
            ..Default::default()
        };
        let i = Integration::create("m".into(), ProtocolType::WebSocket, mock).unwrap();
        assert_eq!(i.timeout_in_millis, 29_000);
        assert_eq!(
            i.passthrough_behavior,
            Some(PassthroughBehavior::WhenNoMatch)
        );
        assert_eq!(
            i.integration_response_selection_expression.as_deref(),
            Some("${integration.response.statuscode}")
        );
    }

    #[test]
    fn rejects_what_aws_rejects() {
        let mock = IntegrationInput {
            integration_type: Some("MOCK".into()),
            ..Default::default()
        };
        assert!(Integration::create("m".into(), ProtocolType::Http, mock).is_err());
        let mut slow = http_proxy();
        slow.timeout_in_millis = Some(30_001);
        assert!(Integration::create("s".into(), ProtocolType::Http, slow.clone()).is_err());
        slow.timeout_in_millis = Some(29_500);
        assert!(Integration::create("s".into(), ProtocolType::WebSocket, slow).is_err());
        let mut v2 = http_proxy();
        v2.payload_format_version = Some("2.0".into());
        assert!(Integration::create("v".into(), ProtocolType::Http, v2).is_err());
    }

    #[test]
    fn update_merges_maps() {
        let mut input = http_proxy();
        input.request_parameters = Some(BTreeMap::from([
            ("append:header.a".to_string(), "x".to_string()),
            ("append:header.b".to_string(), "y".to_string()),
        ]));
        input.response_parameters = Some(BTreeMap::from([
            (
                "404".to_string(),
                BTreeMap::from([("append:header.e".to_string(), "1".to_string())]),
            ),
            (
                "500".to_string(),
                BTreeMap::from([("overwrite:statuscode".to_string(), "403".to_string())]),
            ),
        ]));
        let i = Integration::create("u".into(), ProtocolType::Http, input).unwrap();
        let update = IntegrationInput {
            request_parameters: Some(BTreeMap::from([
                ("append:header.a".to_string(), "".to_string()),
                ("append:header.c".to_string(), "z".to_string()),
            ])),
            response_parameters: Some(BTreeMap::from([("404".to_string(), BTreeMap::new())])),
            ..Default::default()
        };
        let u = i.update(ProtocolType::Http, update).unwrap();
        let rp = u.request_parameters.unwrap();
        assert_eq!(
            rp.keys().collect::<Vec<_>>(),
            vec!["append:header.b", "append:header.c"]
        );
        assert_eq!(
            u.response_parameters.unwrap().keys().collect::<Vec<_>>(),
            vec!["500"]
        );
    }
}

//! `IntegrationResponse`: WebSocket non-proxy integrations only (control-plane.md §4.5.5).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::enums::ContentHandlingStrategy;
use crate::error::{Result, ServiceError};
use crate::integration::validate_templates;
use crate::mapping;
use crate::selection;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationResponse {
    pub integration_response_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_handling_strategy: Option<ContentHandlingStrategy>,
    pub integration_response_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_parameters: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_templates: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_selection_expression: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationResponseInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_handling_strategy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integration_response_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_parameters: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_templates: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_selection_expression: Option<String>,
}

/// `$default`, or a `/regex/` matched against the integration's response.
pub fn validate_response_key(key: &str) -> Result<()> {
    let ok = key == "$default" || (key.len() > 2 && key.starts_with('/') && key.ends_with('/'));
    if !ok {
        return Err(ServiceError::bad_request(format!(
            "Invalid integration response key specified: {key}. Use $default or a regular expression of the form /expression/"
        )));
    }
    Ok(())
}

impl IntegrationResponse {
    pub fn create(id: String, input: IntegrationResponseInput) -> Result<IntegrationResponse> {
        let key = input
            .integration_response_key
            .clone()
            .ok_or_else(|| ServiceError::bad_request("IntegrationResponseKey is required"))?;
        let mut ir = IntegrationResponse {
            integration_response_id: id,
            content_handling_strategy: None,
            integration_response_key: key,
            response_parameters: None,
            response_templates: None,
            template_selection_expression: None,
        };
        ir.merge(input)?;
        ir.validate()?;
        Ok(ir)
    }

    pub fn update(&self, input: IntegrationResponseInput) -> Result<IntegrationResponse> {
        let mut next = self.clone();
        next.merge(input)?;
        next.validate()?;
        Ok(next)
    }

    /// Makes the integration response exactly `input` (Cloud Control's reconcile-to-model).
    pub fn replace(&self, input: IntegrationResponseInput) -> Result<IntegrationResponse> {
        IntegrationResponse::create(self.integration_response_id.clone(), input)
    }

    fn merge(&mut self, input: IntegrationResponseInput) -> Result<()> {
        if let Some(v) = input.content_handling_strategy {
            self.content_handling_strategy = Some(ContentHandlingStrategy::parse_member(
                &v,
                "content handling strategy",
            )?);
        }
        if let Some(v) = input.integration_response_key {
            self.integration_response_key = v;
        }
        if let Some(v) = input.response_parameters {
            self.response_parameters = Some(v);
        }
        if let Some(v) = input.response_templates {
            self.response_templates = Some(v);
        }
        if let Some(v) = input.template_selection_expression {
            self.template_selection_expression = Some(v);
        }
        Ok(())
    }

    fn validate(&self) -> Result<()> {
        validate_response_key(&self.integration_response_key)?;
        if let Some(p) = &self.response_parameters {
            mapping::validate_integration_response_parameters(p)?;
        }
        if let Some(t) = &self.response_templates {
            validate_templates("responseTemplates", t)?;
        }
        if let Some(e) = &self.template_selection_expression {
            selection::validate_selection_expression("template selection expression", e)?;
        }
        Ok(())
    }
}

//! `Stage` and `Deployment`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::enums::{DeploymentStatus, LoggingLevel, ProtocolType};
use crate::error::{Result, ServiceError};
use crate::time::Timestamp;
use crate::validate;

pub const DEFAULT_STAGE: &str = "$default";
pub const AUTO_DEPLOY_DESCRIPTION: &str =
    "Automatic deployment triggered by changes to the Api configuration";

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_trace_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detailed_metrics_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttling_burst_limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttling_rate_limit: Option<f64>,
}

impl RouteSettings {
    fn defaults(protocol: ProtocolType) -> RouteSettings {
        match protocol {
            ProtocolType::Http => RouteSettings {
                detailed_metrics_enabled: Some(false),
                ..Default::default()
            },
            ProtocolType::WebSocket => RouteSettings {
                data_trace_enabled: Some(false),
                detailed_metrics_enabled: Some(false),
                logging_level: Some("OFF".into()),
                ..Default::default()
            },
        }
    }

    fn validate(&self) -> Result<()> {
        if let Some(l) = &self.logging_level {
            LoggingLevel::parse_member(l, "logging level")?;
        }
        if let Some(b) = self.throttling_burst_limit {
            // The model sets no upper bound (account quotas cap it at run time, not here).
            validate::range_i64("throttlingBurstLimit", b, 0, i64::from(i32::MAX))?;
        }
        if let Some(r) = self.throttling_rate_limit {
            if r.is_nan() || r < 0.0 {
                return Err(ServiceError::bad_request(
                    "Invalid throttlingRateLimit specified. Must not be negative",
                ));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessLogSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    pub stage_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_log_settings: Option<AccessLogSettings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_gateway_managed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_deploy: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_certificate_id: Option<String>,
    pub created_date: Timestamp,
    pub default_route_settings: RouteSettings,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_deployment_status_message: Option<String>,
    pub last_updated_date: Timestamp,
    pub route_settings: BTreeMap<String, RouteSettings>,
    pub stage_variables: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_log_settings: Option<AccessLogSettings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_deploy: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_certificate_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_route_settings: Option<RouteSettings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_settings: Option<BTreeMap<String, RouteSettings>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage_variables: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
}

fn validate_stage_name(name: &str) -> Result<()> {
    validate::length("stageName", name, 1, 128)?;
    let ok = name == DEFAULT_STAGE
        || name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok {
        return Err(ServiceError::bad_request(format!(
            "Invalid stage name specified: {name}. Stage names may contain only alphanumerics, hyphens and underscores, or be $default"
        )));
    }
    Ok(())
}

fn validate_stage_variables(vars: &BTreeMap<String, String>) -> Result<()> {
    if vars.len() > 100 {
        return Err(ServiceError::bad_request(
            "Too many stage variables: at most 100 are allowed",
        ));
    }
    for (k, v) in vars {
        let key_ok = !k.is_empty()
            && k.len() <= 64
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !key_ok {
            return Err(ServiceError::bad_request(format!(
                "Invalid stage variable name specified: {k}. Names may contain only alphanumerics and underscores"
            )));
        }
        let val_ok = v.chars().count() <= 2048
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~:/?#&=,".contains(c));
        if !val_ok {
            return Err(ServiceError::bad_request(format!(
                "Invalid stage variable value specified for {k}. Values may contain only alphanumerics and -._~:/?#&=,"
            )));
        }
    }
    Ok(())
}

impl Stage {
    pub fn create(protocol: ProtocolType, now: Timestamp, input: StageInput) -> Result<Stage> {
        let stage_name = input
            .stage_name
            .clone()
            .ok_or_else(|| ServiceError::bad_request("StageName is required"))?;
        validate_stage_name(&stage_name)?;
        if input.auto_deploy == Some(true) && input.deployment_id.is_some() {
            return Err(ServiceError::bad_request(
                "DeploymentId cannot be specified for a stage with autoDeploy enabled",
            ));
        }
        let mut stage = Stage {
            stage_name,
            access_log_settings: None,
            api_gateway_managed: None,
            auto_deploy: None,
            client_certificate_id: None,
            created_date: now,
            default_route_settings: input
                .default_route_settings
                .clone()
                .unwrap_or_else(|| RouteSettings::defaults(protocol)),
            deployment_id: None,
            description: None,
            last_deployment_status_message: None,
            last_updated_date: now,
            route_settings: BTreeMap::new(),
            stage_variables: BTreeMap::new(),
            tags: input.tags.clone().unwrap_or_default(),
        };
        stage.merge(input);
        stage.validate()?;
        Ok(stage)
    }

    pub fn update(&self, now: Timestamp, input: StageInput) -> Result<Stage> {
        if input
            .stage_name
            .as_deref()
            .is_some_and(|n| n != self.stage_name)
        {
            return Err(ServiceError::bad_request("StageName cannot be updated"));
        }
        let auto_deploy = input.auto_deploy.or(self.auto_deploy).unwrap_or(false);
        if auto_deploy && input.deployment_id.is_some() {
            return Err(ServiceError::bad_request(
                "DeploymentId cannot be updated for a stage with autoDeploy enabled",
            ));
        }
        let mut next = self.clone();
        next.merge(input);
        next.last_updated_date = now;
        next.validate()?;
        Ok(next)
    }

    /// Makes the stage exactly `input` (Cloud Control's reconcile-to-model): members absent
    /// from `input` are unset or take their defaults. The deployment an auto-deploy stage points
    /// at is the service's to manage, so it stays (and may be echoed back unchanged).
    pub fn replace(
        &self,
        protocol: ProtocolType,
        now: Timestamp,
        mut input: StageInput,
    ) -> Result<Stage> {
        if input
            .stage_name
            .as_deref()
            .is_some_and(|n| n != self.stage_name)
        {
            return Err(ServiceError::bad_request("StageName cannot be updated"));
        }
        input.stage_name = Some(self.stage_name.clone());
        let auto = input.auto_deploy == Some(true);
        if auto && input.deployment_id.is_some() && input.deployment_id == self.deployment_id {
            input.deployment_id = None;
        }
        let mut next = Stage::create(protocol, self.created_date, input)?;
        next.api_gateway_managed = self.api_gateway_managed;
        next.last_updated_date = now;
        if auto {
            next.deployment_id = self.deployment_id.clone();
        }
        if next.deployment_id == self.deployment_id {
            next.last_deployment_status_message = self.last_deployment_status_message.clone();
        }
        Ok(next)
    }

    fn merge(&mut self, input: StageInput) {
        if let Some(v) = input.access_log_settings {
            self.access_log_settings = Some(v);
        }
        if let Some(v) = input.auto_deploy {
            self.auto_deploy = Some(v);
        }
        if let Some(v) = input.client_certificate_id {
            self.client_certificate_id = Some(v);
        }
        if let Some(v) = input.default_route_settings {
            self.default_route_settings = v;
        }
        if let Some(v) = input.deployment_id {
            self.deployment_id = Some(v);
        }
        if let Some(v) = input.description {
            self.description = Some(v);
        }
        if let Some(v) = input.route_settings {
            self.route_settings = v;
        }
        if let Some(v) = input.stage_variables {
            self.stage_variables = v;
        }
    }

    pub fn validate(&self) -> Result<()> {
        validate::opt_length("description", &self.description, 0, 1024)?;
        self.default_route_settings.validate()?;
        for s in self.route_settings.values() {
            s.validate()?;
        }
        validate_stage_variables(&self.stage_variables)?;
        validate::tags(&self.tags)?;
        if let Some(log) = &self.access_log_settings {
            validate::opt_length("format", &log.format, 1, 1024)?;
            if let Some(arn) = &log.destination_arn {
                if !(arn.starts_with("arn:")
                    && (arn.contains(":logs:") || arn.contains(":firehose:")))
                {
                    return Err(ServiceError::bad_request(format!(
                        "Invalid destination ARN specified: {arn}. Specify a CloudWatch Logs log group or Firehose ARN"
                    )));
                }
            }
        }
        Ok(())
    }

    pub fn is_auto_deploy(&self) -> bool {
        self.auto_deploy == Some(true)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub deployment_id: String,
    pub auto_deployed: bool,
    pub created_date: Timestamp,
    pub deployment_status: DeploymentStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_status_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage_name: Option<String>,
}

impl Deployment {
    pub fn new(
        id: String,
        now: Timestamp,
        description: Option<String>,
        auto_deployed: bool,
    ) -> Result<Deployment> {
        validate::opt_length("description", &description, 0, 1024)?;
        Ok(Deployment {
            deployment_id: id,
            auto_deployed,
            created_date: now,
            deployment_status: DeploymentStatus::Deployed,
            deployment_status_message: None,
            description,
        })
    }
}

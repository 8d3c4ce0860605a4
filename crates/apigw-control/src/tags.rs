//! TagResource / UntagResource / GetTags for APIs and stages, addressed by ARN
//! (`arn:aws:apigateway:{region}::/apis/{apiId}[/stages/{stageName}]`).

use std::collections::BTreeMap;

use apigw_model::{validate, Result, ServiceError};

use crate::state::kind;
use crate::ControlPlane;

enum Tagged {
    Api {
        region: String,
        api_id: String,
    },
    Stage {
        region: String,
        api_id: String,
        stage: String,
    },
}

fn parse_arn(arn: &str) -> Result<Tagged> {
    let invalid = || ServiceError::not_found(format!("Invalid resource ARN specified {arn}"));
    let rest = arn.strip_prefix("arn:").ok_or_else(invalid)?;
    let mut parts = rest.splitn(5, ':');
    let (_partition, service, region, _account, resource) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    );
    if service != Some("apigateway") {
        return Err(invalid());
    }
    let region = region
        .filter(|r| !r.is_empty())
        .ok_or_else(invalid)?
        .to_string();
    let segs: Vec<&str> = resource
        .ok_or_else(invalid)?
        .trim_start_matches('/')
        .split('/')
        .collect();
    match segs.as_slice() {
        ["apis", id] if !id.is_empty() => Ok(Tagged::Api {
            region,
            api_id: id.to_string(),
        }),
        ["apis", id, "stages", s] if !id.is_empty() && !s.is_empty() => Ok(Tagged::Stage {
            region,
            api_id: id.to_string(),
            stage: s.to_string(),
        }),
        _ => Err(invalid()),
    }
}

impl ControlPlane {
    pub async fn get_tags(&self, arn: &str) -> Result<BTreeMap<String, String>> {
        match parse_arn(arn)? {
            Tagged::Api { region, api_id } => {
                self.read(&region, |r| {
                    r.apis
                        .get(&api_id)
                        .map(|a| a.api.tags.clone())
                        .ok_or_else(|| crate::api_not_found(&api_id))
                })
                .await
            }
            Tagged::Stage {
                region,
                api_id,
                stage,
            } => {
                self.read(&region, |r| {
                    let api = r
                        .apis
                        .get(&api_id)
                        .ok_or_else(|| crate::api_not_found(&api_id))?;
                    api.stages
                        .get(&stage)
                        .map(|s| s.tags.clone())
                        .ok_or_else(|| {
                            ServiceError::not_found("Invalid stage identifier specified")
                        })
                })
                .await
            }
        }
    }

    /// Adds (`Some`) or removes (`None` values) tags.
    async fn change_tags(
        &self,
        arn: &str,
        f: impl FnOnce(&mut BTreeMap<String, String>),
    ) -> Result<()> {
        match parse_arn(arn)? {
            Tagged::Api { region, api_id } => {
                self.mutate(&region, |tx| {
                    let state = tx.api(&api_id)?;
                    let mut tags = state.api.tags.clone();
                    f(&mut tags);
                    validate::tags(&tags)?;
                    state.api.tags = tags;
                    let api = state.api.clone();
                    tx.put(kind::API, api_id.clone(), &api)
                })
                .await
            }
            Tagged::Stage {
                region,
                api_id,
                stage,
            } => {
                self.mutate(&region, |tx| {
                    let state = tx.api(&api_id)?;
                    let s = state.stages.get_mut(&stage).ok_or_else(|| {
                        ServiceError::not_found("Invalid stage identifier specified")
                    })?;
                    let mut tags = s.tags.clone();
                    f(&mut tags);
                    validate::tags(&tags)?;
                    s.tags = tags;
                    let s = s.clone();
                    tx.put(kind::STAGE, format!("{api_id}/{stage}"), &s)
                })
                .await
            }
        }
    }

    pub async fn tag_resource(&self, arn: &str, tags: BTreeMap<String, String>) -> Result<()> {
        self.change_tags(arn, |t| t.extend(tags)).await
    }

    pub async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<()> {
        if keys.is_empty() {
            return Err(ServiceError::bad_request("TagKeys is required"));
        }
        self.change_tags(arn, |t| {
            for k in keys {
                t.remove(k);
            }
        })
        .await
    }
}

//! The working state: every region's APIs and their children, and how each piece is stored.

use std::collections::{BTreeMap, HashMap};

use apigw_model::{Api, Deployment, Integration, IntegrationResponse, Route, RouteResponse, Stage};
use apigw_store::Record;
use serde::{Deserialize, Serialize};

/// What a deployment froze: the routes and integrations a stage serves until the next deployment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiSnapshot {
    pub api: Option<Api>,
    pub routes: BTreeMap<String, Route>,
    pub route_responses: BTreeMap<String, BTreeMap<String, RouteResponse>>,
    pub integrations: BTreeMap<String, Integration>,
    pub integration_responses: BTreeMap<String, BTreeMap<String, IntegrationResponse>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentEntry {
    pub deployment: Deployment,
    pub snapshot: ApiSnapshot,
}

#[derive(Debug, Clone)]
pub struct ApiState {
    pub api: Api,
    pub integrations: BTreeMap<String, Integration>,
    /// integration id → integration response id → response
    pub integration_responses: BTreeMap<String, BTreeMap<String, IntegrationResponse>>,
    pub routes: BTreeMap<String, Route>,
    /// route id → route response id → response
    pub route_responses: BTreeMap<String, BTreeMap<String, RouteResponse>>,
    pub stages: BTreeMap<String, Stage>,
    pub deployments: BTreeMap<String, DeploymentEntry>,
}

impl ApiState {
    pub fn new(api: Api) -> ApiState {
        ApiState {
            api,
            integrations: BTreeMap::new(),
            integration_responses: BTreeMap::new(),
            routes: BTreeMap::new(),
            route_responses: BTreeMap::new(),
            stages: BTreeMap::new(),
            deployments: BTreeMap::new(),
        }
    }

    pub fn snapshot(&self) -> ApiSnapshot {
        ApiSnapshot {
            api: Some(self.api.clone()),
            routes: self.routes.clone(),
            route_responses: self.route_responses.clone(),
            integrations: self.integrations.clone(),
            integration_responses: self.integration_responses.clone(),
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct RegionState {
    pub apis: BTreeMap<String, ApiState>,
    /// Opaque documents of other protocol layers: kind → key → document (documents.rs).
    pub documents: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
}

#[derive(Debug, Default)]
pub struct State {
    pub regions: HashMap<String, RegionState>,
}

/// Stored kinds. Keys embed the parents' ids so a child is found under its API on load.
pub mod kind {
    pub const API: &str = "api";
    pub const INTEGRATION: &str = "integration";
    pub const INTEGRATION_RESPONSE: &str = "integrationresponse";
    pub const ROUTE: &str = "route";
    pub const ROUTE_RESPONSE: &str = "routeresponse";
    pub const STAGE: &str = "stage";
    pub const DEPLOYMENT: &str = "deployment";
}

fn parse<T: serde::de::DeserializeOwned>(r: &Record) -> Option<T> {
    match serde_json::from_str(&r.body) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::error!(region = %r.region, kind = %r.kind, key = %r.key, error = %e, "unreadable stored document skipped");
            None
        }
    }
}

impl State {
    /// Rebuilds the state from stored documents (parents first, whatever the order given).
    pub fn from_records(mut records: Vec<Record>) -> State {
        let rank = |k: &str| match k {
            kind::API => 0,
            kind::INTEGRATION | kind::ROUTE => 1,
            _ => 2,
        };
        records.sort_by_key(|r| rank(&r.kind));
        let mut state = State::default();
        for r in &records {
            let region = state.regions.entry(r.region.clone()).or_default();
            if let Some(doc_kind) = r.kind.strip_prefix(crate::documents::KIND_PREFIX) {
                if let Some(v) = parse(r) {
                    region
                        .documents
                        .entry(doc_kind.to_string())
                        .or_default()
                        .insert(r.key.clone(), v);
                }
                continue;
            }
            let parts: Vec<&str> = r.key.split('/').collect();
            if r.kind == kind::API {
                if let Some(api) = parse::<Api>(r) {
                    region.apis.insert(api.api_id.clone(), ApiState::new(api));
                }
                continue;
            }
            let Some(api) = parts.first().and_then(|id| region.apis.get_mut(*id)) else {
                tracing::warn!(kind = %r.kind, key = %r.key, "stored child of a missing API skipped");
                continue;
            };
            match (r.kind.as_str(), parts.as_slice()) {
                (kind::INTEGRATION, [_, id]) => {
                    if let Some(v) = parse(r) {
                        api.integrations.insert(id.to_string(), v);
                    }
                }
                (kind::ROUTE, [_, id]) => {
                    if let Some(v) = parse(r) {
                        api.routes.insert(id.to_string(), v);
                    }
                }
                (kind::INTEGRATION_RESPONSE, [_, parent, id]) => {
                    if let Some(v) = parse(r) {
                        api.integration_responses
                            .entry(parent.to_string())
                            .or_default()
                            .insert(id.to_string(), v);
                    }
                }
                (kind::ROUTE_RESPONSE, [_, parent, id]) => {
                    if let Some(v) = parse(r) {
                        api.route_responses
                            .entry(parent.to_string())
                            .or_default()
                            .insert(id.to_string(), v);
                    }
                }
                (kind::STAGE, [_, name]) => {
                    if let Some(v) = parse(r) {
                        api.stages.insert(name.to_string(), v);
                    }
                }
                (kind::DEPLOYMENT, [_, id]) => {
                    if let Some(v) = parse(r) {
                        api.deployments.insert(id.to_string(), v);
                    }
                }
                _ => {
                    tracing::warn!(kind = %r.kind, key = %r.key, "unknown stored document skipped")
                }
            }
        }
        state
    }
}

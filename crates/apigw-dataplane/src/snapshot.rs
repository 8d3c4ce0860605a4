//! The routing snapshot: every served (API, stage) compiled from the stage's deployment.
//!
//! Built from the control plane's memory when it reports a change, never per request, and
//! swapped in whole: a request holds one `Arc<Snapshot>` from start to end, so it sees either
//! the old configuration or the new one, never a mix.

// Fx hashing: the keys are the gateway's own configuration; a request only looks them up, so
// a client cannot grow these maps, and SipHash was ~5% of the proxy path's instructions.
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use apigw_control::ServedStage;
use apigw_dataplane_rules::{AccessLogFormat, CorsPolicy, StageThrottle};
use apigw_model::{Authorizer, ConnectionType, Integration, IntegrationType, ProtocolType};

use apigw_dataplane_rules::mapping::{
    CompiledRequestMapping, CompiledResponseMapping, MappingError,
};

use crate::routing::RouteTable;

/// Everything the data plane serves, by API id (ids are unique across regions).
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The control plane's change counter this snapshot reflects.
    pub version: u64,
    pub apis: FxHashMap<String, ApiEntry>,
}

#[derive(Debug)]
pub struct ApiEntry {
    pub api_id: String,
    pub region: String,
    /// Named stages with a deployment (the `$default` stage is not in here).
    pub stages: FxHashMap<String, Arc<StageEntry>>,
    pub default_stage: Option<Arc<StageEntry>>,
}

/// One stage as its deployment froze it, plus the stage's own live settings.
#[derive(Debug)]
pub struct StageEntry {
    pub api_id: String,
    pub region: String,
    pub stage_name: String,
    pub deployment_id: String,
    pub stage_variables: BTreeMap<String, String>,
    pub routes: RouteTable<RouteTarget>,
    /// The deployed Api's `corsConfiguration`, compiled.
    pub cors: Option<CorsPolicy>,
    pub disable_execute_api_endpoint: bool,
    /// `accessLogSettings`: destination ARN and the compiled format.
    pub access_log: Option<Arc<(String, AccessLogFormat)>>,
    /// Token buckets per route key from `defaultRouteSettings` / `routeSettings`.
    pub throttle: StageThrottle,
    /// A WebSocket API's stage: its routes by key (`routes` above is then empty).
    pub websocket: Option<Arc<crate::websocket::WsStage>>,
    /// The deployment's authorizers by id (what a route's `authorizerId` names), as validated
    /// by the control plane (`apigw_model::authorizer`); routes carry them compiled (`RouteTarget::auth`).
    pub authorizers: Arc<BTreeMap<String, Authorizer>>,
    /// The stage's authorizer cache epoch (`ControlPlane::authorizer_cache_epoch`): a cached
    /// Lambda authorizer result made under another epoch must not be used (ResetAuthorizersCache).
    pub authorizer_cache_epoch: u64,
}

/// What a route leads to.
#[derive(Debug)]
pub struct RouteTarget {
    pub route_key: String,
    pub route_id: String,
    pub integration: Option<Arc<IntegrationPlan>>,
    /// How the route is authorized (its authorizer compiled with the deployment).
    pub auth: crate::authorizer::RouteAuth,
}

/// How a request reaches its backend, decided once per deployment.
#[derive(Debug)]
pub enum IntegrationPlan {
    HttpProxy(HttpProxyPlan),
    /// Lambda proxy (no subtype): the Lambda host slots in here.
    Lambda(LambdaPlan),
    /// Configured but not served locally (AWS service integrations, types HTTP APIs lack).
    Unsupported {
        integration_id: String,
        reason: String,
    },
}

impl IntegrationPlan {
    /// Whether the integration reads `$context` beyond the forwarding headers (a parameter
    /// mapping, a Lambda event). A request whose stage has no access log and whose route's
    /// integration reads nothing skips rendering it.
    pub fn reads_context(&self) -> bool {
        match self {
            IntegrationPlan::HttpProxy(h) => {
                h.request_mapping.is_some() || h.response_mapping.is_some()
            }
            IntegrationPlan::Lambda(_) => true,
            IntegrationPlan::Unsupported { .. } => false,
        }
    }
}

pub struct LambdaPlan {
    pub integration_id: String,
    /// The function the integration URI names (stage variables substituted), or why not.
    pub function: Result<apigw_lambda::FunctionRef, String>,
    pub format: apigw_lambda::payload::PayloadFormat,
    pub timeout: Duration,
    /// `requestParameters`: they change the request that becomes the event (§3).
    pub request_mapping: Option<CompiledRequestMapping>,
    pub response_mapping: Option<CompiledResponseMapping>,
}

impl std::fmt::Debug for LambdaPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LambdaPlan")
            .field("integration_id", &self.integration_id)
            .field("function", &self.function)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub struct HttpProxyPlan {
    pub integration_id: String,
    /// The integration URI with `${stageVariables.x}` already substituted. For a VPC link it
    /// is the listener/service ARN (the target comes from operator configuration).
    pub uri: String,
    /// `None` for `ANY` (the client's method is used).
    pub method: Option<http::Method>,
    pub timeout: Duration,
    /// `connectionId` of a VPC_LINK integration.
    pub vpc_link: Option<String>,
    /// Private integrations use HTTPS only when a tlsConfig is set.
    pub tls: bool,
    pub server_name_to_verify: Option<String>,
    /// `requestParameters`, compiled (`None` when there are none).
    pub request_mapping: Option<CompiledRequestMapping>,
    /// `responseParameters` by status code, compiled.
    pub response_mapping: Option<CompiledResponseMapping>,
    /// `uri` split, when no path variable can change it (not for VPC links).
    pub fixed_uri: Option<crate::proxy::FixedUri>,
}

/// Replaces `${stageVariables.name}` with the stage's value ("" when unset).
pub fn substitute_stage_variables(s: &str, vars: &BTreeMap<String, String>) -> String {
    const OPEN: &str = "${stageVariables.";
    if !s.contains(OPEN) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len()..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                out.push_str(vars.get(name).map(String::as_str).unwrap_or(""));
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn unusable(integration_id: String, e: MappingError) -> IntegrationPlan {
    IntegrationPlan::Unsupported {
        integration_id,
        reason: format!("parameter mapping {}: {}", e.key, e.message),
    }
}

type Mappings = (
    Option<CompiledRequestMapping>,
    Option<CompiledResponseMapping>,
);

/// `requestParameters` and `responseParameters`, compiled once per deployment (`None` when
/// there are none).
fn compile_mappings(integration: &Integration) -> Result<Mappings, MappingError> {
    let request = match integration.request_parameters.as_ref() {
        Some(p) if !p.is_empty() => Some(CompiledRequestMapping::compile(p)?),
        _ => None,
    };
    let response = match integration.response_parameters.as_ref() {
        Some(p) if !p.is_empty() => Some(CompiledResponseMapping::compile(p)?),
        _ => None,
    };
    Ok((request, response))
}

fn plan(integration: &Integration, vars: &BTreeMap<String, String>) -> IntegrationPlan {
    let timeout = Duration::from_millis(integration.timeout_in_millis.clamp(50, 30_000) as u64);
    let id = integration.integration_id.clone();
    match integration.integration_type {
        IntegrationType::HttpProxy => {
            let method = integration
                .integration_method
                .as_deref()
                .filter(|m| *m != "ANY")
                .and_then(|m| http::Method::from_bytes(m.as_bytes()).ok());
            let vpc = integration.connection_type == ConnectionType::VpcLink;
            let (request_mapping, response_mapping) = match compile_mappings(integration) {
                Ok(m) => m,
                Err(e) => return unusable(id, e),
            };
            let uri = substitute_stage_variables(
                integration.integration_uri.as_deref().unwrap_or(""),
                vars,
            );
            IntegrationPlan::HttpProxy(HttpProxyPlan {
                integration_id: id,
                fixed_uri: if vpc {
                    None
                } else {
                    crate::proxy::FixedUri::parse(&uri)
                },
                uri,
                method,
                timeout,
                vpc_link: if vpc {
                    integration.connection_id.clone()
                } else {
                    None
                },
                tls: integration.tls_config.is_some(),
                server_name_to_verify: integration
                    .tls_config
                    .as_ref()
                    .and_then(|t| t.server_name_to_verify.clone()),
                request_mapping,
                response_mapping,
            })
        }
        IntegrationType::AwsProxy if integration.integration_subtype.is_none() => {
            let (request_mapping, response_mapping) = match compile_mappings(integration) {
                Ok(m) => m,
                Err(e) => return unusable(id, e),
            };
            let uri = substitute_stage_variables(
                integration.integration_uri.as_deref().unwrap_or(""),
                vars,
            );
            // The control plane requires a version for Lambda proxy; 2.0 should it be absent.
            let format = match integration.payload_format_version {
                Some(apigw_model::PayloadFormatVersion::V1) => {
                    apigw_lambda::payload::PayloadFormat::V1
                }
                _ => apigw_lambda::payload::PayloadFormat::V2,
            };
            IntegrationPlan::Lambda(LambdaPlan {
                integration_id: id,
                function: apigw_lambda::FunctionRef::from_integration_uri(&uri)
                    .map_err(|e| e.to_string()),
                format,
                timeout,
                request_mapping,
                response_mapping,
            })
        }
        IntegrationType::AwsProxy => IntegrationPlan::Unsupported {
            integration_id: id,
            reason: format!(
                "AWS service integrations ({}) are not emulated",
                integration.integration_subtype.as_deref().unwrap_or("")
            ),
        },
        other => IntegrationPlan::Unsupported {
            integration_id: id,
            reason: format!("integration type {other} is not served by HTTP APIs"),
        },
    }
}

fn stage_entry(served: &ServedStage, previous: Option<&StageEntry>) -> StageEntry {
    let ServedStage {
        region,
        api,
        stage,
        deployment,
        authorizer_cache_epoch,
    } = served;
    let snap = &deployment.snapshot;
    let vars = &stage.stage_variables;
    let plans: HashMap<&str, Arc<IntegrationPlan>> = snap
        .integrations
        .iter()
        .filter(|_| api.protocol_type == ProtocolType::Http)
        .map(|(id, i)| (id.as_str(), Arc::new(plan(i, vars))))
        .collect();
    let websocket = (api.protocol_type == ProtocolType::WebSocket)
        .then(|| Arc::new(crate::websocket::plan::build(served)));
    let mut routes = RouteTable::new();
    let authorizers = crate::authorizer::Compiled::new(&snap.authorizers, ProtocolType::Http);
    for route in snap.routes.values().filter(|_| websocket.is_none()) {
        let integration = route
            .target
            .as_deref()
            .and_then(|t| apigw_model::route::target_integration_id(t).ok())
            .and_then(|id| plans.get(id).cloned());
        routes.insert(
            &route.route_key,
            RouteTarget {
                route_key: route.route_key.clone(),
                route_id: route.route_id.clone(),
                integration,
                auth: authorizers.route(route),
            },
        );
    }
    let deployed_api = snap.api.as_ref().unwrap_or(api);
    let mut throttle =
        StageThrottle::new(stage, snap.routes.values().map(|r| r.route_key.as_str()));
    if let Some(prev) = previous {
        throttle.carry_over(&prev.throttle);
    }
    let access_log = stage.access_log_settings.as_ref().and_then(|a| {
        Some(Arc::new((
            a.destination_arn.clone()?,
            AccessLogFormat::parse(a.format.as_deref()?),
        )))
    });
    StageEntry {
        api_id: api.api_id.clone(),
        region: region.clone(),
        stage_name: stage.stage_name.clone(),
        deployment_id: deployment.deployment.deployment_id.clone(),
        stage_variables: stage.stage_variables.clone(),
        routes,
        cors: deployed_api
            .cors_configuration
            .as_ref()
            .map(CorsPolicy::new),
        disable_execute_api_endpoint: deployed_api.disable_execute_api_endpoint,
        access_log,
        throttle,
        websocket,
        authorizers: Arc::new(snap.authorizers.clone()),
        authorizer_cache_epoch: *authorizer_cache_epoch,
    }
}

impl Snapshot {
    /// Compiles every served stage of every API. `previous` lends its throttle buckets to
    /// unchanged routes, so a change does not refill them.
    pub fn build(version: u64, served: &[ServedStage], previous: &Snapshot) -> Snapshot {
        let mut apis: FxHashMap<String, ApiEntry> = FxHashMap::default();
        for s in served {
            let id = &s.api.api_id;
            let is_default = s.stage.stage_name == apigw_model::stage::DEFAULT_STAGE;
            let prev = previous.apis.get(id).and_then(|p| {
                if is_default {
                    p.default_stage.as_deref()
                } else {
                    p.stages.get(&s.stage.stage_name).map(|s| s.as_ref())
                }
            });
            let built = Arc::new(stage_entry(s, prev));
            let entry = apis.entry(id.clone()).or_insert_with(|| ApiEntry {
                api_id: id.clone(),
                region: s.region.clone(),
                stages: FxHashMap::default(),
                default_stage: None,
            });
            if is_default {
                entry.default_stage = Some(built);
            } else {
                entry.stages.insert(s.stage.stage_name.clone(), built);
            }
        }
        Snapshot { version, apis }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_variables_in_uris() {
        let mut vars = BTreeMap::new();
        vars.insert("host".to_string(), "127.0.0.1:9".to_string());
        vars.insert("v".to_string(), "x".to_string());
        assert_eq!(
            substitute_stage_variables(
                "http://${stageVariables.host}/a/${stageVariables.v}?q=${stageVariables.v}",
                &vars
            ),
            "http://127.0.0.1:9/a/x?q=x"
        );
        assert_eq!(
            substitute_stage_variables("http://h/${stageVariables.none}/b", &vars),
            "http://h//b"
        );
        assert_eq!(
            substitute_stage_variables("http://h/${stageVariables.x", &vars),
            "http://h/${stageVariables.x"
        );
    }
}

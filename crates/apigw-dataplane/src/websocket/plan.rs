//! A WebSocket stage compiled from its deployment (data-plane.md §7): routes by key, each
//! route's integration with its templates parsed and its selection expressions and
//! integration responses compiled. Built with the routing snapshot, never per message.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rustc_hash::FxHashMap;

use apigw_control::ServedStage;
use apigw_dataplane_rules::mapping::CompiledWsRequestMapping;
use apigw_dataplane_rules::websocket::{ContentHandling, Passthrough, ResponseKey};
use apigw_model::selection::SelectionExpression;
use apigw_model::{
    ContentHandlingStrategy, Integration, IntegrationResponse, IntegrationType, PassthroughBehavior,
};

use crate::snapshot::substitute_stage_variables;

/// The WebSocket side of a served stage.
#[derive(Debug)]
pub struct WsStage {
    /// The deployed API's `routeSelectionExpression`.
    pub route_selection: SelectionExpression,
    pub routes: FxHashMap<String, Arc<WsRoute>>,
    /// The `$connect` route's authorization (the only route a WebSocket API authorizes, §4).
    pub connect_auth: crate::authorizer::RouteAuth,
}

impl WsStage {
    /// The route for a selection result: exact key, else `$default` (§7.2). `$connect` and
    /// `$disconnect` belong to the lifecycle: a message that evaluates to their key goes to
    /// `$default` like any other miss (localstack#7153 shows the wrong behaviour).
    pub fn route_for(&self, key: &str) -> Option<&Arc<WsRoute>> {
        let exact = match key {
            "$connect" | "$disconnect" => None,
            _ => self.routes.get(key),
        };
        exact.or_else(|| self.routes.get("$default"))
    }
}

#[derive(Debug)]
pub struct WsRoute {
    pub route_key: String,
    pub route_id: String,
    pub integration: Option<Arc<WsIntegration>>,
    /// `routeResponseSelectionExpression` is `$default` and a `$default` route response
    /// exists: the integration's result goes back to the client (§7.5).
    pub two_way: bool,
}

/// What an integration calls.
#[derive(Debug)]
pub enum Backend {
    /// `AWS_PROXY` to a Lambda function: the §7.4 events.
    LambdaProxy(apigw_lambda::FunctionRef),
    /// `AWS` with a Lambda invocation URI: the template's output is the event.
    LambdaCustom(apigw_lambda::FunctionRef),
    /// `HTTP_PROXY`: the message as is.
    HttpProxy(HttpTarget),
    /// `HTTP`: the template's output.
    Http(HttpTarget),
    Mock,
    /// Configured but not callable here; the reason goes to the log.
    Unusable(String),
}

/// Where an HTTP or HTTP_PROXY integration sends its requests.
#[derive(Debug)]
pub struct HttpTarget {
    pub method: http::Method,
    /// Stage variables substituted.
    pub uri: String,
    /// `connectionType` VPC_LINK: the link id, resolved through `--vpc-link-target`.
    pub vpc_link: Option<String>,
    /// `tlsConfig.serverNameToVerify`.
    pub server_name: Option<String>,
}

impl Backend {
    pub fn is_proxy(&self) -> bool {
        matches!(self, Backend::LambdaProxy(_) | Backend::HttpProxy(_))
    }
}

#[derive(Debug)]
pub struct WsIntegration {
    pub integration_id: String,
    pub backend: Backend,
    pub timeout: Duration,
    pub request_templates: BTreeMap<String, apigw_vtl::Template>,
    pub template_selection: Option<SelectionExpression>,
    pub passthrough: Passthrough,
    pub content_handling: Option<ContentHandling>,
    pub request_parameters: Option<CompiledWsRequestMapping>,
    /// Non-proxy integration responses, `/regex/` keys in key order, `$default` among them.
    pub responses: Vec<(ResponseKey, WsIntegrationResponse)>,
    /// Whether a message's `$context` can be read: a Lambda proxy event, or a template,
    /// selection expression or parameter naming `context`. Without it (and an access log) a
    /// message renders no `$context` at all.
    pub reads_context: bool,
}

#[derive(Debug)]
pub struct WsIntegrationResponse {
    pub key: String,
    pub templates: BTreeMap<String, apigw_vtl::Template>,
    pub template_selection: Option<SelectionExpression>,
    pub content_handling: Option<ContentHandling>,
}

fn content_handling(s: Option<ContentHandlingStrategy>) -> Option<ContentHandling> {
    s.map(|s| match s {
        ContentHandlingStrategy::ConvertToBinary => ContentHandling::ConvertToBinary,
        ContentHandlingStrategy::ConvertToText => ContentHandling::ConvertToText,
    })
}

/// Templates parsed once; one that does not parse makes the integration unusable (the control
/// plane validates with the same parser, so only data from older versions can get here).
fn templates(
    src: Option<&BTreeMap<String, String>>,
) -> Result<BTreeMap<String, apigw_vtl::Template>, String> {
    let mut out = BTreeMap::new();
    for (k, t) in src.into_iter().flatten() {
        let parsed = apigw_vtl::Template::parse(t)
            .map_err(|e| format!("template {k:?} does not parse: {e}"))?;
        out.insert(k.clone(), parsed);
    }
    Ok(out)
}

fn selection(expr: Option<&str>) -> Option<SelectionExpression> {
    expr.and_then(SelectionExpression::parse)
}

fn method(m: Option<&str>) -> http::Method {
    m.filter(|m| *m != "ANY")
        .and_then(|m| http::Method::from_bytes(m.as_bytes()).ok())
        .unwrap_or(http::Method::POST)
}

fn backend(i: &Integration, vars: &BTreeMap<String, String>) -> Backend {
    let uri = substitute_stage_variables(i.integration_uri.as_deref().unwrap_or(""), vars);
    let lambda =
        || apigw_lambda::FunctionRef::from_integration_uri(&uri).map_err(|e| e.to_string());
    match i.integration_type {
        IntegrationType::AwsProxy if i.integration_subtype.is_none() => match lambda() {
            Ok(f) => Backend::LambdaProxy(f),
            Err(e) => Backend::Unusable(e),
        },
        IntegrationType::AwsProxy => Backend::Unusable(format!(
            "AWS service integrations ({}) are not served for WebSocket APIs",
            i.integration_subtype.as_deref().unwrap_or("")
        )),
        IntegrationType::Aws if uri.contains(":lambda:path/") => match lambda() {
            Ok(f) => Backend::LambdaCustom(f),
            Err(e) => Backend::Unusable(e),
        },
        IntegrationType::Aws => Backend::Unusable(format!(
            "AWS service action {uri} is not emulated (only Lambda invocation URIs are)"
        )),
        IntegrationType::HttpProxy => Backend::HttpProxy(http_target(i, uri)),
        IntegrationType::Http => Backend::Http(http_target(i, uri)),
        IntegrationType::Mock => Backend::Mock,
    }
}

fn http_target(i: &Integration, uri: String) -> HttpTarget {
    HttpTarget {
        method: method(i.integration_method.as_deref()),
        uri,
        vpc_link: (i.connection_type == apigw_model::ConnectionType::VpcLink)
            .then(|| i.connection_id.clone())
            .flatten(),
        server_name: i
            .tls_config
            .as_ref()
            .and_then(|t| t.server_name_to_verify.clone()),
    }
}

fn integration_response(
    r: &IntegrationResponse,
) -> Result<(ResponseKey, WsIntegrationResponse), String> {
    let key = ResponseKey::parse(&r.integration_response_key).ok_or_else(|| {
        format!(
            "integration response key {:?} is neither $default nor /regex/",
            r.integration_response_key
        )
    })?;
    Ok((
        key,
        WsIntegrationResponse {
            key: r.integration_response_key.clone(),
            templates: templates(r.response_templates.as_ref())?,
            template_selection: selection(r.template_selection_expression.as_deref()),
            content_handling: content_handling(r.content_handling_strategy),
        },
    ))
}

/// Conservative: any mention of `context` in what the integration evaluates counts.
fn reads_context(
    i: &Integration,
    responses: Option<&BTreeMap<String, IntegrationResponse>>,
) -> bool {
    let mentions = |s: &str| s.contains("context");
    matches!(i.integration_type, IntegrationType::AwsProxy)
        || i.request_templates
            .iter()
            .flatten()
            .any(|(_, t)| mentions(t))
        || i.template_selection_expression
            .as_deref()
            .is_some_and(mentions)
        || i.request_parameters
            .iter()
            .flatten()
            .any(|(_, v)| mentions(v))
        || responses.into_iter().flat_map(|r| r.values()).any(|r| {
            r.response_templates
                .iter()
                .flatten()
                .any(|(_, t)| mentions(t))
                || r.template_selection_expression
                    .as_deref()
                    .is_some_and(mentions)
        })
}

fn integration(
    i: &Integration,
    responses: Option<&BTreeMap<String, IntegrationResponse>>,
    vars: &BTreeMap<String, String>,
) -> WsIntegration {
    let mut out = WsIntegration {
        integration_id: i.integration_id.clone(),
        backend: backend(i, vars),
        timeout: Duration::from_millis(i.timeout_in_millis.clamp(50, 29_000) as u64),
        request_templates: BTreeMap::new(),
        template_selection: selection(i.template_selection_expression.as_deref()),
        passthrough: match i.passthrough_behavior {
            Some(PassthroughBehavior::Never) => Passthrough::Never,
            Some(PassthroughBehavior::WhenNoTemplates) => Passthrough::WhenNoTemplates,
            _ => Passthrough::WhenNoMatch,
        },
        content_handling: content_handling(i.content_handling_strategy),
        request_parameters: None,
        responses: Vec::new(),
        reads_context: reads_context(i, responses),
    };
    match templates(i.request_templates.as_ref()) {
        Ok(t) => out.request_templates = t,
        Err(e) => out.backend = Backend::Unusable(e),
    }
    match i.request_parameters.as_ref().filter(|p| !p.is_empty()) {
        None => {}
        Some(p) => match CompiledWsRequestMapping::compile(p) {
            Ok(m) => out.request_parameters = Some(m),
            Err(e) => {
                out.backend =
                    Backend::Unusable(format!("parameter mapping {}: {}", e.key, e.message))
            }
        },
    }
    let mut list: Vec<&IntegrationResponse> =
        responses.into_iter().flat_map(|r| r.values()).collect();
    list.sort_by(|a, b| a.integration_response_key.cmp(&b.integration_response_key));
    for r in list {
        match integration_response(r) {
            Ok(r) => out.responses.push(r),
            Err(e) => out.backend = Backend::Unusable(e),
        }
    }
    out
}

/// Compiles the WebSocket side of a served stage.
pub fn build(served: &ServedStage) -> WsStage {
    let snap = &served.deployment.snapshot;
    let vars = &served.stage.stage_variables;
    let api = snap.api.as_ref().unwrap_or(&served.api);
    let integrations: FxHashMap<&str, Arc<WsIntegration>> = snap
        .integrations
        .iter()
        .map(|(id, i)| {
            (
                id.as_str(),
                Arc::new(integration(i, snap.integration_responses.get(id), vars)),
            )
        })
        .collect();
    let mut routes = FxHashMap::default();
    for route in snap.routes.values() {
        let integration = route
            .target
            .as_deref()
            .and_then(|t| apigw_model::route::target_integration_id(t).ok())
            .and_then(|id| integrations.get(id).cloned());
        let two_way = route.route_response_selection_expression.as_deref() == Some("$default")
            && snap
                .route_responses
                .get(&route.route_id)
                .is_some_and(|rs| rs.values().any(|r| r.route_response_key == "$default"));
        routes.insert(
            route.route_key.clone(),
            Arc::new(WsRoute {
                route_key: route.route_key.clone(),
                route_id: route.route_id.clone(),
                integration,
                two_way,
            }),
        );
    }
    WsStage {
        // The control plane refuses expressions that do not parse; text stays text.
        route_selection: SelectionExpression::parse(&api.route_selection_expression)
            .unwrap_or_else(|| SelectionExpression::literal(&api.route_selection_expression)),
        routes,
        connect_auth: snap
            .routes
            .values()
            .find(|r| r.route_key == "$connect")
            .map(|r| {
                crate::authorizer::Compiled::new(
                    &snap.authorizers,
                    apigw_model::ProtocolType::WebSocket,
                )
                .route(r)
            })
            .unwrap_or_default(),
    }
}

//! Running a WebSocket route's integration for one event (data-plane.md §7.4–§7.7): Lambda
//! proxy and HTTP proxy pass the event through; `AWS` (Lambda), `HTTP` and `MOCK` go through a
//! request template, the backend, integration-response selection and a response template.

use std::collections::BTreeMap;
use std::time::Instant;

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};

use apigw_dataplane_rules::context::{IntegrationOutcome, RequestContext};
use apigw_dataplane_rules::mapping::{WsRequestView, WsTarget};
use apigw_dataplane_rules::websocket::{
    convert, find_template, select_response, unmapped, ErrorFrame, Unmapped,
};

use super::event::{self, Kind};
use super::plan::{Backend, HttpTarget, WsIntegration, WsRoute};
use super::Connection;
use crate::snapshot::StageEntry;
use crate::DataPlane;

/// The `$connect` upgrade request, as its integration sees it.
pub(crate) struct ConnectRequest {
    /// Header names as the client wrote them, in order (§7.4: WebSocket events keep them).
    pub headers: Vec<(String, String)>,
    pub header_map: HeaderMap,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    pub raw_query: String,
}

impl ConnectRequest {
    pub fn from_parts(parts: &http::request::Parts) -> ConnectRequest {
        let original = parts
            .extensions
            .get::<apigw_http1::server::OriginalHeaderNames>();
        let mut headers = Vec::with_capacity(parts.headers.len());
        for (name, value) in &parts.headers {
            let spelled = original
                .and_then(|o| o.spelling(name.as_str()))
                .unwrap_or(name.as_str());
            headers.push((
                spelled.to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            ));
        }
        let raw_query = parts.uri.query().unwrap_or("").to_string();
        ConnectRequest {
            headers,
            header_map: parts.headers.clone(),
            query: apigw_dataplane_rules::mapping::parse_query(&raw_query),
            raw_query,
        }
    }
}

pub(crate) enum Event<'a> {
    Connect(&'a ConnectRequest),
    /// A text message (its ids, like the close code of a disconnect, are in `$context`).
    Message {
        body: &'a Bytes,
        json: Option<&'a serde_json::Value>,
    },
    Disconnect,
}

impl Event<'_> {
    /// The message's JSON, when it is a message and JSON.
    fn json(&self) -> Option<&serde_json::Value> {
        match self {
            Event::Message { json, .. } => *json,
            _ => None,
        }
    }
}

/// The integration's answer.
pub(crate) struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

pub(crate) enum Outcome {
    Reply(Reply),
    /// The route has no integration (`$connect` / `$disconnect` only).
    NoReply,
    Failed(Failure),
}

/// Why the client gets an error frame (or a refused handshake) instead of a reply.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The integration failed: function error, bad output, backend unreachable (§7.8
    /// `Internal server error`; a refused handshake is 502).
    Error(String),
    /// No integration response matched and there is no `$default` (§7.7 [choice]): the
    /// `Internal server error` frame, or a handshake refused with 500.
    NoResponse(String),
    /// `timeoutInMillis` passed.
    Timeout,
    /// `passthroughBehavior` refused the message (§7.6).
    Unsupported,
}

impl Failure {
    pub fn frame(&self) -> ErrorFrame {
        match self {
            Failure::Error(_) | Failure::NoResponse(_) | Failure::Timeout => {
                ErrorFrame::InternalServerError
            }
            Failure::Unsupported => ErrorFrame::UnsupportedMediaType,
        }
    }

    /// `$context.status` for the access log.
    pub fn status(&self) -> u16 {
        match self {
            Failure::Error(_) | Failure::NoResponse(_) => 500,
            Failure::Timeout => 504,
            Failure::Unsupported => 415,
        }
    }

    pub fn response_type(&self) -> &'static str {
        match self {
            Failure::Error(_) | Failure::NoResponse(_) => "INTEGRATION_FAILURE",
            Failure::Timeout => "INTEGRATION_TIMEOUT",
            Failure::Unsupported => "UNSUPPORTED_MEDIA_TYPE",
        }
    }

    /// The refused handshake (§7.1 [choice]): 502 on an error, 500 when no integration
    /// response matched (§7.7), 504 on a timeout, 415 for a passthrough rejection.
    pub fn handshake_response(&self) -> Response<Body> {
        let (status, message) = match self {
            Failure::Error(_) => (StatusCode::BAD_GATEWAY, "Internal server error"),
            Failure::NoResponse(_) => (StatusCode::INTERNAL_SERVER_ERROR, "Internal server error"),
            Failure::Timeout => (StatusCode::GATEWAY_TIMEOUT, "Endpoint request timed out"),
            Failure::Unsupported => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type"),
        };
        super::message_response(status, message)
    }
}

/// Runs `route`'s integration for `event`, recording what happened in `ctx`.
pub(crate) async fn run(
    dp: &DataPlane,
    conn: &Connection,
    stage: &StageEntry,
    route: &WsRoute,
    event: Event<'_>,
    ctx: &mut RequestContext,
) -> Outcome {
    let Some(integ) = route.integration.as_deref() else {
        return match event {
            Event::Message { .. } => Outcome::Failed(Failure::Error(format!(
                "route {} has no integration",
                route.route_key
            ))),
            _ => Outcome::NoReply,
        };
    };
    let started = Instant::now();
    let result = match &integ.backend {
        Backend::Unusable(reason) => Err(Failure::Error(reason.clone())),
        Backend::LambdaProxy(function) => {
            lambda_proxy(dp, conn, stage, integ, function, &event, ctx).await
        }
        Backend::HttpProxy(target) => http_proxy(dp, stage, integ, target, &event, ctx).await,
        Backend::Mock | Backend::Http(_) | Backend::LambdaCustom(_) => {
            non_proxy(dp, stage, integ, &event, ctx).await
        }
    };
    finish(integ, route, result, started, ctx)
}

/// A MOCK route's integration, without awaiting anything: the session answers such messages
/// in place. `None` when the route's integration is not MOCK.
pub(crate) fn run_mock(
    stage: &StageEntry,
    route: &WsRoute,
    event: Event<'_>,
    ctx: &mut RequestContext,
) -> Option<Outcome> {
    let integ = route.integration.as_deref()?;
    if !matches!(integ.backend, Backend::Mock) {
        return None;
    }
    let started = Instant::now();
    let result = prepare(integ, &event, ctx, stage).and_then(|prepared| {
        let answer = mock(prepared.body)?;
        respond(integ, &event, ctx, stage, &prepared.params, answer)
    });
    Some(finish(integ, route, result, started, ctx))
}

/// Records the integration's result in `$context` and makes it an outcome.
fn finish(
    integ: &WsIntegration,
    route: &WsRoute,
    result: Result<Reply, Failure>,
    started: Instant,
    ctx: &mut RequestContext,
) -> Outcome {
    let latency = started.elapsed().as_millis() as u64;
    match result {
        Ok(reply) => {
            ctx.record_integration(IntegrationOutcome {
                status: Some(reply.status),
                integration_status: Some(reply.status),
                latency_ms: Some(latency),
                ..Default::default()
            });
            Outcome::Reply(reply)
        }
        Err(f) => {
            let message = match &f {
                Failure::Error(m) | Failure::NoResponse(m) => m.clone(),
                Failure::Timeout => "Endpoint request timed out".to_string(),
                Failure::Unsupported => "Unsupported Media Type".to_string(),
            };
            tracing::debug!(integration = %integ.integration_id, route = %route.route_key, error = %message, "WebSocket integration failed");
            ctx.record_integration(IntegrationOutcome {
                latency_ms: Some(latency),
                error_message: Some(message),
                ..Default::default()
            });
            Outcome::Failed(f)
        }
    }
}

/// The message after the integration's `contentHandlingStrategy` (§7.7), and whether it
/// became binary.
fn request_payload(integ: &WsIntegration, event: &Event<'_>) -> Result<(Bytes, bool), Failure> {
    let Event::Message { body, .. } = event else {
        return Ok((Bytes::new(), false));
    };
    if integ.content_handling.is_none() {
        return Ok(((*body).clone(), false));
    }
    let converted = convert(integ.content_handling, body).map_err(|_| {
        Failure::Error("the message is not valid base64 (CONVERT_TO_BINARY)".into())
    })?;
    let binary = std::str::from_utf8(&converted).is_err();
    Ok((Bytes::from(converted), binary))
}

async fn lambda_proxy(
    dp: &DataPlane,
    conn: &Connection,
    stage: &StageEntry,
    integ: &WsIntegration,
    function: &apigw_lambda::FunctionRef,
    event: &Event<'_>,
    ctx: &RequestContext,
) -> Result<Reply, Failure> {
    let converted;
    let disconnect_headers;
    let kind = match event {
        Event::Connect(c) => Kind::Connect(c),
        Event::Message { .. } => {
            converted = request_payload(integ, event)?;
            // Bytes that CONVERT_TO_BINARY made go into the event base64-encoded, flagged.
            Kind::Message {
                body: &converted.0,
                base64: converted.1,
            }
        }
        Event::Disconnect => {
            disconnect_headers = conn.disconnect_headers(dp.config.listen_port);
            Kind::Disconnect {
                headers: &disconnect_headers,
            }
        }
    };
    let payload = event::lambda_event(ctx, &kind, &stage.stage_variables);
    let invoked = dp
        .lambda
        .invoke(function, Bytes::from(payload.to_string()), integ.timeout)
        .await;
    let out = match invoked {
        Ok(out) => out,
        Err(apigw_lambda::LambdaError::Timeout) => return Err(Failure::Timeout),
        Err(e) => return Err(Failure::Error(e.to_string())),
    };
    if out.function_error.is_some() {
        return Err(Failure::Error(format!(
            "the function failed: {}",
            String::from_utf8_lossy(&out.payload)
        )));
    }
    let answer = event::proxy_answer(&out.payload).map_err(Failure::Error)?;
    Ok(Reply {
        status: answer.status,
        headers: answer.headers,
        body: answer.body,
    })
}

/// `requestParameters` evaluated for the event (§7.6).
fn mapped(
    integ: &WsIntegration,
    event: &Event<'_>,
    ctx: &RequestContext,
    stage: &StageEntry,
) -> Vec<(WsTarget, String, String)> {
    let Some(m) = &integ.request_parameters else {
        return Vec::new();
    };
    let context = |name: &str| ctx.get(name).map(|v| v.into_owned());
    let (headers, query, body) = match event {
        Event::Connect(c) => (Some(&c.header_map), Some(c.query.as_slice()), None),
        Event::Message { json, .. } => (None, None, *json),
        Event::Disconnect => (None, None, None),
    };
    m.evaluate(&WsRequestView {
        headers,
        query,
        body,
        context: &context,
        stage_variables: &stage.stage_variables,
    })
}

/// An HTTP call to `uri`, bounded by the integration's timeout.
#[allow(clippy::too_many_arguments)]
async fn http_call(
    dp: &DataPlane,
    integ: &WsIntegration,
    target: &HttpTarget,
    mut headers: HeaderMap,
    params: Vec<(WsTarget, String, String)>,
    extra_query: &str,
    body: Bytes,
) -> Result<(u16, HeaderMap, Bytes), Failure> {
    let uri = target.uri.as_str();
    let (mut origin, path, query) = crate::proxy::split_uri(uri)
        .ok_or_else(|| Failure::Error(format!("integration URI {uri} is not an http(s) URL")))?;
    // A private integration: the URI names the load balancer; the operator says where it is.
    let linked;
    if let Some(link) = &target.vpc_link {
        let host = dp.config.vpc_link_targets.get(link).ok_or_else(|| {
            Failure::Error(format!("VPC link {link} has no --vpc-link-target mapping"))
        })?;
        let scheme = if origin.starts_with("https:") {
            "https"
        } else {
            "http"
        };
        linked = format!("{scheme}://{host}");
        origin = &linked;
    }
    let mut path = if path.is_empty() {
        "/".to_string()
    } else {
        path.to_string()
    };
    let mut query = query.to_string();
    let mut add_query = |pair: &str| {
        if !pair.is_empty() {
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(pair);
        }
    };
    add_query(extra_query);
    for (target, name, value) in params {
        match target {
            WsTarget::Header => {
                if let (Ok(n), Ok(v)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(&value),
                ) {
                    headers.insert(n, v);
                }
            }
            WsTarget::QueryString => {
                let enc = |s: &str| {
                    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
                        .to_string()
                };
                add_query(&format!("{}={}", enc(&name), enc(&value)));
            }
            WsTarget::Path => {
                let enc = percent_encoding::utf8_percent_encode(
                    &value,
                    percent_encoding::NON_ALPHANUMERIC,
                )
                .to_string();
                path = path.replace(&format!("{{{name}}}"), &enc);
            }
        }
    }
    if !query.is_empty() {
        path.push('?');
        path.push_str(&query);
    }
    let path_and_query = http::Uri::try_from(path.as_str())
        .map_err(|e| Failure::Error(format!("invalid backend path {path}: {e}")))?;
    let host = crate::proxy::host_header(origin)
        .ok_or_else(|| Failure::Error(format!("invalid backend host in {origin}")))?;
    headers.insert(http::header::HOST, host);
    headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    let mut req = Request::new(Body::from(body));
    *req.method_mut() = target.method.clone();
    *req.uri_mut() = path_and_query;
    *req.headers_mut() = headers;
    let call = async {
        let resp = dp
            .backends
            .send(origin, target.server_name.as_deref(), req)
            .await
            .map_err(|e| Failure::Error(e.detail()))?;
        let (parts, body) = resp.into_parts();
        let body = axum::body::to_bytes(body, apigw_model::limits::HTTP_API_PAYLOAD)
            .await
            .map_err(|e| Failure::Error(format!("reading the backend's answer: {e}")))?;
        Ok((parts.status.as_u16(), parts.headers, body))
    };
    match tokio::time::timeout(integ.timeout, call).await {
        Ok(r) => r,
        Err(_) => Err(Failure::Timeout),
    }
}

async fn http_proxy(
    dp: &DataPlane,
    stage: &StageEntry,
    integ: &WsIntegration,
    target: &HttpTarget,
    event: &Event<'_>,
    ctx: &RequestContext,
) -> Result<Reply, Failure> {
    let params = mapped(integ, event, ctx, stage);
    let mut headers = HeaderMap::new();
    let mut extra_query = "";
    let body = match event {
        Event::Connect(c) => {
            // The upgrade request's headers, less the handshake's own (§7.6 [choice]).
            for (name, value) in &c.header_map {
                let n = name.as_str();
                if n.starts_with("sec-websocket-")
                    || matches!(
                        n,
                        "upgrade"
                            | "connection"
                            | "host"
                            | "content-length"
                            | "transfer-encoding"
                            | "keep-alive"
                            | "te"
                            | "trailer"
                            | "proxy-connection"
                    )
                {
                    continue;
                }
                headers.append(name.clone(), value.clone());
            }
            extra_query = &c.raw_query;
            Bytes::new()
        }
        Event::Message { json, .. } => {
            let (payload, _) = request_payload(integ, event)?;
            let ct = if json.is_some() {
                "application/json"
            } else {
                "text/plain; charset=utf-8"
            };
            headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(ct));
            payload
        }
        Event::Disconnect => Bytes::new(),
    };
    let (status, resp_headers, body) =
        http_call(dp, integ, target, headers, params, extra_query, body).await?;
    let headers = resp_headers
        .iter()
        .filter(|(k, _)| !crate::websocket::is_handshake_header(k))
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    Ok(Reply {
        status,
        headers,
        body,
    })
}

/// `$input.params()` of a template: the `$connect` request's query string and headers.
fn template_params(event: &Event<'_>) -> apigw_vtl::Params {
    let mut params = apigw_vtl::Params {
        path: BTreeMap::new(),
        querystring: BTreeMap::new(),
        header: BTreeMap::new(),
    };
    if let Event::Connect(c) = event {
        for (k, v) in &c.query {
            params.querystring.insert(k.clone(), v.clone());
        }
        for (k, v) in &c.headers {
            params.header.insert(k.clone(), v.clone());
        }
    }
    params
}

fn render(
    template: &apigw_vtl::Template,
    body: &[u8],
    json: Option<&serde_json::Value>,
    params: &apigw_vtl::Params,
    ctx: &RequestContext,
    stage: &StageEntry,
) -> Result<String, Failure> {
    let context = |name: &str| ctx.get(name).map(|v| v.into_owned());
    let input = apigw_vtl::Input {
        body,
        params,
        context: &context,
        stage_variables: &stage.stage_variables,
        json,
    };
    template
        // Undefined references print as nothing, as recorded from API Gateway (decisions.md).
        .render_with(
            &input,
            &apigw_vtl::Limits::default(),
            apigw_vtl::Undefined::Empty,
        )
        .map_err(|e| Failure::Error(format!("mapping template failed: {e}")))
}

/// A selection expression's variable for `event` and, on the response side, the
/// integration's answer.
fn resolve(
    var: &str,
    event: &Event<'_>,
    response: Option<(u16, &HeaderMap)>,
    ctx: &RequestContext,
    stage: &StageEntry,
) -> Option<String> {
    if let Some(path) = var.strip_prefix("request.body") {
        let Event::Message {
            json: Some(body), ..
        } = event
        else {
            return None;
        };
        return apigw_model::selection::body_path(body, path)
            .and_then(apigw_model::selection::stringify);
    }
    if let Some(name) = var.strip_prefix("context.") {
        return ctx.get(name).map(|v| v.into_owned());
    }
    if let Some(name) = var.strip_prefix("stageVariables.") {
        return stage.stage_variables.get(name).cloned();
    }
    if let Some(name) = var.strip_prefix("request.header.") {
        let Event::Connect(c) = event else {
            return None;
        };
        return c
            .header_map
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
    }
    let (status, headers) = response?;
    if var == "integration.response.statuscode" {
        return Some(status.to_string());
    }
    for prefix in [
        "integration.response.header.",
        "integration.response.multivalueheader.",
    ] {
        if let Some(name) = var.strip_prefix(prefix) {
            let values: Vec<&str> = headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            return (!values.is_empty()).then(|| values.join(","));
        }
    }
    None
}

/// The integration request of a non-proxy integration (§7.6): the body after content handling
/// and the request template (or passthrough), the template's key, and the template params.
struct Prepared<'t> {
    body: Bytes,
    template_key: Option<&'t str>,
    params: apigw_vtl::Params,
}

fn prepare<'t>(
    integ: &'t WsIntegration,
    event: &Event<'_>,
    ctx: &RequestContext,
    stage: &StageEntry,
) -> Result<Prepared<'t>, Failure> {
    let (payload, _) = request_payload(integ, event)?;
    // The message's JSON, parsed once for routing, serves the template too (unless content
    // handling changed the payload).
    let payload_json = match event {
        Event::Message { json, .. } if integ.content_handling.is_none() => *json,
        _ => None,
    };
    let params = template_params(event);
    // The request template (§7.6): selection, lookup, passthrough.
    let key = match &integ.template_selection {
        Some(e) => e.evaluate_with_body(event.json(), |v| resolve(v, event, None, ctx, stage)),
        None => "$default".to_string(),
    };
    let (body, template_key) = match find_template(&integ.request_templates, &key) {
        Some((k, t)) => (
            Bytes::from(render(t, &payload, payload_json, &params, ctx, stage)?),
            Some(k),
        ),
        None => match unmapped(integ.passthrough, !integ.request_templates.is_empty()) {
            Unmapped::PassThrough => (payload, None),
            Unmapped::Reject => return Err(Failure::Unsupported),
        },
    };
    Ok(Prepared {
        body,
        template_key,
        params,
    })
}

/// What a non-proxy backend answered: status, headers, body, the value integration responses
/// are selected by, and the body's JSON when it is already parsed.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
    selector: String,
    json: Option<serde_json::Value>,
}

/// MOCK (§7.6): the rendered request template is the answer; its `statusCode` the status.
fn mock(body: Bytes) -> Result<Answer, Failure> {
    let parsed = mock_answer(&body)?;
    let status = mock_status(&parsed)?;
    Ok(Answer {
        status,
        headers: HeaderMap::new(),
        body,
        selector: status.to_string(),
        json: Some(parsed),
    })
}

/// The integration response (§7.7): selection, content handling, response template.
fn respond(
    integ: &WsIntegration,
    event: &Event<'_>,
    ctx: &RequestContext,
    stage: &StageEntry,
    params: &apigw_vtl::Params,
    answer: Answer,
) -> Result<Reply, Failure> {
    let Answer {
        status,
        headers,
        body,
        selector,
        json,
    } = answer;
    // No integration responses: the answer passes as it is ([choice]: a one-way MOCK
    // `$connect` needs none).
    if integ.responses.is_empty() {
        return Ok(Reply {
            status,
            headers: Vec::new(),
            body,
        });
    }
    let Some(response) = select_response(&integ.responses, &selector) else {
        return Err(Failure::NoResponse(format!(
            "Execution failed due to configuration error: no match for output mapping and no default output mapping configured. Endpoint Response Status Code: {status}"
        )));
    };
    let json = json.filter(|_| response.content_handling.is_none());
    let body = match response.content_handling {
        None => body,
        strategy => Bytes::from(convert(strategy, &body).map_err(|_| {
            Failure::Error(
                "the integration response is not valid base64 (CONVERT_TO_BINARY)".into(),
            )
        })?),
    };
    let key = match &response.template_selection {
        Some(e) => e.evaluate_with_body(event.json(), |v| {
            resolve(v, event, Some((status, &headers)), ctx, stage)
        }),
        None => "$default".to_string(),
    };
    let body = match find_template(&response.templates, &key) {
        Some((_, t)) => Bytes::from(render(t, &body, json.as_ref(), params, ctx, stage)?),
        None => body,
    };
    Ok(Reply {
        status,
        headers: Vec::new(),
        body,
    })
}

/// `AWS` (Lambda), `HTTP` and `MOCK`: template → backend → integration response (§7.6–§7.7).
async fn non_proxy(
    dp: &DataPlane,
    stage: &StageEntry,
    integ: &WsIntegration,
    event: &Event<'_>,
    ctx: &RequestContext,
) -> Result<Reply, Failure> {
    let prepared = prepare(integ, event, ctx, stage)?;
    let answer = match &integ.backend {
        Backend::Mock => mock(prepared.body)?,
        Backend::Http(target) => {
            let mut headers = HeaderMap::new();
            // The template's key when it is a media type, else JSON (§7.6 [choice]).
            let ct = prepared
                .template_key
                .filter(|k| k.contains('/') && !k.starts_with('$'))
                .and_then(|k| HeaderValue::from_str(k).ok())
                .unwrap_or(HeaderValue::from_static("application/json"));
            headers.insert(http::header::CONTENT_TYPE, ct);
            let params = mapped(integ, event, ctx, stage);
            let (status, h, b) =
                http_call(dp, integ, target, headers, params, "", prepared.body).await?;
            Answer {
                status,
                headers: h,
                body: b,
                selector: status.to_string(),
                json: None,
            }
        }
        Backend::LambdaCustom(function) => {
            let invoked = dp
                .lambda
                .invoke(function, prepared.body, integ.timeout)
                .await;
            let out = match invoked {
                Ok(out) => out,
                Err(apigw_lambda::LambdaError::Timeout) => return Err(Failure::Timeout),
                Err(e) => return Err(Failure::Error(e.to_string())),
            };
            let error_message = out.function_error.as_ref().map(|_| {
                serde_json::from_slice::<serde_json::Value>(&out.payload)
                    .ok()
                    .and_then(|v| {
                        v.get("errorMessage")
                            .and_then(|m| m.as_str())
                            .map(str::to_string)
                    })
                    .unwrap_or_default()
            });
            if error_message.is_some() && matches!(event, Event::Connect(_)) {
                return Err(Failure::Error("the $connect function failed".into()));
            }
            Answer {
                status: 200,
                headers: HeaderMap::new(),
                body: out.payload,
                selector: error_message.unwrap_or_default(),
                json: None,
            }
        }
        _ => return Err(Failure::Error("not a non-proxy integration".into())),
    };
    respond(integ, event, ctx, stage, &prepared.params, answer)
}

/// A MOCK integration's answer: its rendered request template, which must be JSON (§7.6).
fn mock_answer(rendered: &[u8]) -> Result<serde_json::Value, Failure> {
    serde_json::from_slice(rendered).map_err(|_| {
        Failure::Error("Execution failed due to configuration error: Unable to parse statusCode. It should be an integer that is defined in the request template.".into())
    })
}

/// A MOCK integration's status: its answer's `statusCode` (§7.6).
fn mock_status(v: &serde_json::Value) -> Result<u16, Failure> {
    let code = match v.get("statusCode") {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    code.and_then(|c| u16::try_from(c).ok())
        .filter(|c| (100..600).contains(c))
        .ok_or_else(|| {
            Failure::Error("Execution failed due to configuration error: Unable to parse statusCode. It should be an integer that is defined in the request template.".into())
        })
}

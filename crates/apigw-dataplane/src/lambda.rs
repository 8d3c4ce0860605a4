//! Lambda proxy integrations (`AWS_PROXY`, data-plane.md §4–§5): the request becomes a payload
//! 1.0 or 2.0 event, the function runs in `apigw-lambda` (hosted or remote), and its result
//! becomes the response. Event and result shapes are `apigw-lambda`'s pure functions; this
//! module only gathers the request's facts and maps failures to the gateway's answers (§4.7).

use std::time::{Instant, SystemTime};

use axum::body::Body;
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::Response;

use apigw_lambda::payload::{self, IntegrationError, ProxyRequest as Event};
use apigw_model::limits::HTTP_API_PAYLOAD;

use crate::proxy::{add_forwarding_headers, Outcome, ProxyRequest};
use crate::response::GatewayError;
use crate::snapshot::LambdaPlan;
use crate::DataPlane;

/// Invokes the function of `plan` with the request's event. `Err` is a gateway response.
pub async fn call(
    dp: &DataPlane,
    plan: &LambdaPlan,
    mut req: ProxyRequest<'_>,
    outcome: &mut Outcome,
) -> Result<Response<Body>, GatewayError> {
    let function = plan.function.as_ref().map_err(|reason| {
        tracing::warn!(integration = %plan.integration_id, %reason, "Lambda integration URI names no function");
        outcome.error = Some(reason.clone());
        GatewayError::InternalServerError
    })?;
    // The whole body goes into the event; the 10 MB limit still applies first (§9.1).
    let body: Bytes = axum::body::to_bytes(
        std::mem::replace(&mut req.body, Body::empty()),
        HTTP_API_PAYLOAD,
    )
    .await
    .map_err(|_| GatewayError::PayloadTooLarge)?;

    let mut raw_path = format!("{}{}", req.stage_prefix, req.route_path);
    let mut raw_query = req.raw_query.unwrap_or("").to_string();
    if let Some(m) = plan.request_mapping.as_ref().filter(|m| !m.is_empty()) {
        let params = req.path_parameters();
        let changes = m.evaluate(&req.view(&params, Some(&body)));
        changes.apply_headers(&mut req.headers);
        if !changes.query.is_empty() {
            raw_query = changes.apply_to_raw_query(&raw_query);
        }
        if let Some(p) = &changes.path {
            raw_path = p.clone();
        }
    }
    add_forwarding_headers(dp, &mut req.headers, req.client, req.context);
    let mut event = event_request(EventFacts {
        method: req.method.as_str(),
        raw_path,
        raw_query,
        headers: &req.headers,
        body,
        route: req.route,
        stage: req.stage,
        ctx: req.context,
        client: req.client,
    });
    event.authorizer = req.authorized.map(|a| a.event_value(plan.format));
    let mut event = plan.format.event(&event);
    if let Some(a) = req.authorized {
        a.amend_event(plan.format, &mut event);
    }

    let started = Instant::now();
    let invoked = dp
        .lambda
        .invoke(function, Bytes::from(event.to_string()), plan.timeout)
        .await;
    outcome.latency_ms = Some(started.elapsed().as_millis() as u64);
    match payload::proxy_response(plan.format, invoked) {
        Ok(r) => {
            // `$context.integrationStatus` is Lambda's own status for the invoke, not the
            // function's statusCode (§3.6).
            outcome.status = Some(200);
            let mut resp = Response::new(Body::from(r.body));
            *resp.status_mut() = http::StatusCode::from_u16(r.status)
                .map_err(|_| GatewayError::InternalServerError)?;
            let h = resp.headers_mut();
            for (k, v) in r.headers {
                if let (Ok(k), Ok(v)) = (
                    HeaderName::from_bytes(k.as_bytes()),
                    HeaderValue::from_str(&v),
                ) {
                    h.append(k, v);
                }
            }
            Ok(resp)
        }
        Err(e) => {
            tracing::info!(integration = %plan.integration_id, function = %function.name, error = %e, "Lambda integration failed");
            outcome.error = Some(e.to_string());
            Err(match e {
                IntegrationError::Timeout => GatewayError::ServiceUnavailable,
                IntegrationError::Failed(_) => GatewayError::InternalServerError,
            })
        }
    }
}

/// What a Lambda event (an integration's or an authorizer's) is made of.
pub(crate) struct EventFacts<'a> {
    pub method: &'a str,
    /// The path as the function sees it (stage prefix included), and the query without `?`.
    pub raw_path: String,
    pub raw_query: String,
    pub headers: &'a http::HeaderMap,
    pub body: Bytes,
    pub route: &'a crate::routing::RouteMatch<'a, crate::snapshot::RouteTarget>,
    pub stage: &'a crate::snapshot::StageEntry,
    pub ctx: &'a apigw_dataplane_rules::context::RequestContext,
    pub client: &'a crate::Client,
}

/// The request as `apigw-lambda` builds events from it.
pub(crate) fn event_request(f: EventFacts<'_>) -> Event {
    let headers = f
        .headers
        .iter()
        .filter(|(name, _)| **name != HeaderName::from_static("connection"))
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let ctx = f.ctx;
    Event {
        method: f.method.to_string(),
        raw_path: f.raw_path,
        raw_query: f.raw_query,
        headers,
        body: f.body,
        path_parameters: f
            .route
            .path_parameters
            .iter()
            .map(|p| (p.name.to_string(), p.value.clone()))
            .collect(),
        stage_variables: f
            .stage
            .stage_variables
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        route_key: f.route.route_key.to_string(),
        stage: f.stage.stage_name.clone(),
        api_id: f.stage.api_id.clone(),
        account_id: ctx.account_id.clone(),
        request_id: ctx.request_id.clone(),
        domain_name: ctx.domain_name.clone(),
        source_ip: f.client.ip_text.clone(),
        protocol: ctx.protocol.clone(),
        time: SystemTime::UNIX_EPOCH
            + std::time::Duration::from_millis(ctx.request_time_epoch_ms.max(0) as u64),
        authorizer: None,
    }
}

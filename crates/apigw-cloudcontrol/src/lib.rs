//! The Cloud Control API (`CloudApiService`, awsJson1_0) over the control plane.
//!
//! Job: decode `POST /` requests carrying `X-Amz-Target: CloudApiService.<Op>`, translate the
//! CloudFormation resource model of `AWS::ApiGatewayV2::Integration` to and from the
//! apigatewayv2 model (cfn.rs, derived from the model's serde form and the vendored schema),
//! run the SAME `ControlPlane` operations the /v2 wire uses, and answer with ProgressEvents.
//! Operations complete synchronously (SUCCESS or FAILED); every request's ProgressEvent is kept
//! as a control-plane document so it survives restarts.
//!
//! Boundary: no service rules live here (they are apigw-model's, reached through
//! apigw-control); errors reach the wire only through `error::CcError`.

mod cfn;
mod error;

use std::sync::Arc;

use apigw_control::ControlPlane;
use apigw_model::ServiceError;
use axum::body::Bytes;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use error::CcError;

const TARGET_PREFIX: &str = "CloudApiService.";
/// Document kind of stored resource requests.
const REQUESTS: &str = "cloudcontrol-request";

/// True when the request is addressed to Cloud Control.
pub fn is_cloud_control(headers: &HeaderMap) -> bool {
    headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with(TARGET_PREFIX))
}

/// Serves one Cloud Control request.
pub async fn handle(cp: Arc<ControlPlane>, parts: Parts, body: Bytes) -> Response {
    let region = apigw_restjson::request::region_from_parts(&parts);
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    match dispatch(&cp, &region, &target, &body).await {
        Ok(v) => {
            let mut resp = v.to_string().into_response();
            resp.headers_mut().insert(
                "content-type",
                HeaderValue::from_static("application/x-amz-json-1.0"),
            );
            resp
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ProgressEvent {
    type_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    identifier: Option<String>,
    request_token: String,
    operation: String,
    operation_status: String,
    event_time: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<String>,
}

/// What is stored per request: the event plus what ClientToken idempotency compares.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestRecord {
    event: ProgressEvent,
    client_token: Option<String>,
    fingerprint: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Input {
    type_name: Option<String>,
    identifier: Option<String>,
    desired_state: Option<String>,
    patch_document: Option<String>,
    client_token: Option<String>,
    resource_model: Option<String>,
    request_token: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
    resource_request_status_filter: Option<StatusFilter>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StatusFilter {
    operations: Option<Vec<String>>,
    operation_statuses: Option<Vec<String>>,
}

fn internal(e: ServiceError) -> CcError {
    match e {
        ServiceError::TooManyRequests { message, .. } => CcError::Throttling(message),
        other => CcError::ServiceInternalError(other.to_string()),
    }
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as f64 / 1000.0)
        .unwrap_or(0.0)
}

fn new_token() -> String {
    let hex = |n: usize| -> String {
        (0..n)
            .map(|_| char::from_digit(fastrand::u32(..16), 16).unwrap_or('0'))
            .collect()
    };
    format!("{}-{}-{}-{}-{}", hex(8), hex(4), hex(4), hex(4), hex(12))
}

fn check_type(input: &Input) -> Result<(), CcError> {
    match input.type_name.as_deref() {
        Some(cfn::TYPE_NAME) => Ok(()),
        Some(t) => Err(CcError::TypeNotFound(format!(
            "The type {t} cannot be found or is not supported."
        ))),
        None => Err(CcError::InvalidRequest("TypeName is required".into())),
    }
}

async fn dispatch(
    cp: &ControlPlane,
    region: &str,
    target: &str,
    body: &[u8],
) -> Result<Value, CcError> {
    let op = target.strip_prefix(TARGET_PREFIX).unwrap_or(target);
    let input: Input = if body.is_empty() {
        Input::default()
    } else {
        serde_json::from_slice(body).map_err(|e| CcError::Serialization(e.to_string()))?
    };
    match op {
        "CreateResource" | "UpdateResource" | "DeleteResource" => {
            check_type(&input)?;
            mutating(cp, region, op, &input).await
        }
        "GetResource" => {
            check_type(&input)?;
            get_resource(cp, region, &input).await
        }
        "ListResources" => {
            check_type(&input)?;
            list_resources(cp, region, &input).await
        }
        "GetResourceRequestStatus" => {
            let rec = find_request(cp, region, &input).await?;
            Ok(serde_json::json!({ "ProgressEvent": rec.event, "HooksProgressEvent": [] }))
        }
        "CancelResourceRequest" => {
            let rec = find_request(cp, region, &input).await?;
            Err(CcError::ConcurrentModification(format!(
                "Resource request {} is already in terminal status {} and cannot be cancelled",
                rec.event.request_token, rec.event.operation_status
            )))
        }
        "ListResourceRequests" => list_requests(cp, region, &input).await,
        _ => Err(CcError::UnknownOperation(format!(
            "Unknown operation {target}"
        ))),
    }
}

async fn find_request(
    cp: &ControlPlane,
    region: &str,
    input: &Input,
) -> Result<RequestRecord, CcError> {
    let token = input.request_token.clone().unwrap_or_default();
    let not_found =
        || CcError::RequestTokenNotFound(format!("Request with token {token} was not found"));
    let doc = cp
        .document(region, REQUESTS, &token)
        .await
        .map_err(internal)?
        .ok_or_else(not_found)?;
    serde_json::from_value(doc).map_err(|_| not_found())
}

fn identifier_of(model: &Value) -> String {
    cfn::primary_identifier()
        .iter()
        .map(|n| model.get(n).and_then(Value::as_str).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("|")
}

/// A failed handler outcome: the ProgressEvent's ErrorCode and StatusMessage.
struct Failure(&'static str, String);

impl From<ServiceError> for Failure {
    fn from(e: ServiceError) -> Failure {
        let code = match &e {
            ServiceError::BadRequest(_) => "InvalidRequest",
            ServiceError::NotFound { .. } => "NotFound",
            ServiceError::Conflict(_) => "ResourceConflict",
            ServiceError::TooManyRequests { .. } => "Throttling",
            ServiceError::Internal(_) => "ServiceInternalError",
        };
        Failure(code, e.to_string())
    }
}

fn invalid(msg: String) -> Failure {
    Failure("InvalidRequest", msg)
}

fn ids(identifier: &str) -> Result<(String, String), Failure> {
    let m = cfn::parse_identifier(identifier)
        .ok_or_else(|| Failure("NotFound", format!("Invalid identifier {identifier}")))?;
    Ok((
        m.get("ApiId").cloned().unwrap_or_default(),
        m.get("IntegrationId").cloned().unwrap_or_default(),
    ))
}

async fn mutating(
    cp: &ControlPlane,
    region: &str,
    op: &str,
    input: &Input,
) -> Result<Value, CcError> {
    let operation = match op {
        "CreateResource" => "CREATE",
        "UpdateResource" => "UPDATE",
        _ => "DELETE",
    };
    let fingerprint = serde_json::json!([
        operation,
        input.type_name,
        input.identifier,
        input.desired_state,
        input.patch_document
    ])
    .to_string();
    if let Some(ct) = &input.client_token {
        for (_, doc) in cp.documents(region, REQUESTS).await.map_err(internal)? {
            let Ok(rec) = serde_json::from_value::<RequestRecord>(doc) else {
                continue;
            };
            if rec.client_token.as_deref() == Some(ct) {
                if rec.fingerprint == fingerprint {
                    return Ok(serde_json::json!({ "ProgressEvent": rec.event }));
                }
                return Err(CcError::ClientTokenConflict(format!(
                    "The client token {ct} has already been used in another resource request"
                )));
            }
        }
    }
    let mut event = ProgressEvent {
        type_name: cfn::TYPE_NAME.into(),
        request_token: new_token(),
        operation: operation.into(),
        event_time: now_secs(),
        identifier: input.identifier.clone(),
        ..Default::default()
    };
    let outcome = match operation {
        "CREATE" => create(cp, region, input).await,
        "UPDATE" => update(cp, region, input).await,
        _ => delete(cp, region, input).await,
    };
    match outcome {
        Ok(model) => {
            event.operation_status = "SUCCESS".into();
            if let Some(m) = model {
                event.identifier = Some(identifier_of(&m));
                event.resource_model = Some(m.to_string());
            }
        }
        Err(Failure(code, msg)) => {
            event.operation_status = "FAILED".into();
            event.error_code = Some(code.into());
            event.status_message = Some(msg);
        }
    }
    let rec = RequestRecord {
        event: event.clone(),
        client_token: input.client_token.clone(),
        fingerprint,
    };
    let doc =
        serde_json::to_value(&rec).map_err(|e| CcError::ServiceInternalError(e.to_string()))?;
    cp.put_document(region, REQUESTS, &event.request_token, doc)
        .await
        .map_err(internal)?;
    Ok(serde_json::json!({ "ProgressEvent": event }))
}

fn parse_json(s: Option<&str>, what: &str) -> Result<Value, Failure> {
    serde_json::from_str(s.unwrap_or_default())
        .map_err(|e| invalid(format!("{what} is not valid JSON: {e}")))
}

async fn create(cp: &ControlPlane, region: &str, input: &Input) -> Result<Option<Value>, Failure> {
    let desired = parse_json(input.desired_state.as_deref(), "DesiredState")?;
    for p in cfn::schema_paths("readOnlyProperties") {
        if desired.pointer(&p).is_some() {
            return Err(invalid(format!(
                "Model validation failed (#: extraneous key [{}] is not permitted: read-only property)",
                p.trim_start_matches('/')
            )));
        }
    }
    cfn::validate(&desired).map_err(invalid)?;
    let api_id = desired
        .get("ApiId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let body = cfn::input_from(cfn::to_wire(&desired)).map_err(invalid)?;
    let created = cp.create_integration(region, &api_id, body).await?;
    Ok(Some(cfn::to_cfn(&api_id, &created)))
}

async fn update(cp: &ControlPlane, region: &str, input: &Input) -> Result<Option<Value>, Failure> {
    let (api_id, id) = ids(input.identifier.as_deref().unwrap_or_default())?;
    let patch_doc = parse_json(input.patch_document.as_deref(), "PatchDocument")?;
    let patch: json_patch::Patch = serde_json::from_value(patch_doc.clone())
        .map_err(|e| invalid(format!("Invalid patch document: {e}")))?;
    let touches = |p: &str| {
        patch_doc.as_array().into_iter().flatten().any(|op| {
            ["path", "from"].iter().any(|f| {
                op.get(*f)
                    .and_then(Value::as_str)
                    .is_some_and(|path| path == p || path.starts_with(&format!("{p}/")))
            })
        })
    };
    for p in cfn::schema_paths("createOnlyProperties") {
        if touches(&p) {
            return Err(Failure(
                "NotUpdatable",
                format!("Invalid patch update: createOnlyProperties [{p}] cannot be updated"),
            ));
        }
    }
    for p in cfn::schema_paths("readOnlyProperties") {
        if touches(&p) {
            return Err(invalid(format!(
                "Invalid patch update: readOnlyProperties [{p}] cannot be updated"
            )));
        }
    }
    let current = cp.get_integration(region, &api_id, &id).await?;
    let old = cfn::to_cfn(&api_id, &current);
    let mut new = old.clone();
    json_patch::patch(&mut new, &patch).map_err(|e| invalid(format!("Invalid patch: {e}")))?;
    let mut check = new.clone();
    if let Value::Object(m) = &mut check {
        m.remove("IntegrationId");
    }
    cfn::validate(&check).map_err(invalid)?;
    // Reconcile to exactly the patched model: members the patch removed are unset.
    let body = cfn::input_from(cfn::to_wire(&new)).map_err(invalid)?;
    let updated = cp.replace_integration(region, &api_id, &id, body).await?;
    Ok(Some(cfn::to_cfn(&api_id, &updated)))
}

async fn delete(cp: &ControlPlane, region: &str, input: &Input) -> Result<Option<Value>, Failure> {
    let (api_id, id) = ids(input.identifier.as_deref().unwrap_or_default())?;
    cp.delete_integration(region, &api_id, &id).await?;
    Ok(None)
}

async fn get_resource(cp: &ControlPlane, region: &str, input: &Input) -> Result<Value, CcError> {
    let identifier = input.identifier.clone().unwrap_or_default();
    let not_found = |msg: String| {
        CcError::ResourceNotFound(format!(
            "{} Handler returned status FAILED: {msg} (HandlerErrorCode: NotFound)",
            cfn::TYPE_NAME
        ))
    };
    let (api_id, id) = ids(&identifier).map_err(|Failure(_, m)| not_found(m))?;
    match cp.get_integration(region, &api_id, &id).await {
        Ok(i) => {
            let model = cfn::to_cfn(&api_id, &i);
            Ok(serde_json::json!({
                "TypeName": cfn::TYPE_NAME,
                "ResourceDescription": { "Identifier": identifier_of(&model), "Properties": model.to_string() }
            }))
        }
        Err(e @ ServiceError::NotFound { .. }) => Err(not_found(e.to_string())),
        Err(ServiceError::BadRequest(m)) => Err(CcError::InvalidRequest(m)),
        Err(e) => Err(internal(e)),
    }
}

async fn list_resources(cp: &ControlPlane, region: &str, input: &Input) -> Result<Value, CcError> {
    let missing = || {
        CcError::InvalidRequest(format!(
            "Missing or invalid ResourceModel property in {} list handler request input.Required property: (#: required key [ApiId] not found)",
            cfn::TYPE_NAME
        ))
    };
    let model: Value = input
        .resource_model
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .ok_or_else(missing)?;
    let api_id = model
        .get("ApiId")
        .and_then(Value::as_str)
        .ok_or_else(missing)?;
    let page = apigw_control::PageRequest {
        max_results: input.max_results.map(|n| n.to_string()),
        next_token: input.next_token.clone(),
    };
    let page = match cp.get_integrations(region, api_id, &page).await {
        Ok(p) => p,
        Err(ServiceError::NotFound { message, .. }) => {
            return Err(CcError::ResourceNotFound(message))
        }
        Err(ServiceError::BadRequest(m)) => return Err(CcError::InvalidRequest(m)),
        Err(e) => return Err(internal(e)),
    };
    let descriptions: Vec<Value> = page
        .items
        .iter()
        .map(|i| {
            let m = cfn::to_cfn(api_id, i);
            serde_json::json!({ "Identifier": identifier_of(&m), "Properties": m.to_string() })
        })
        .collect();
    let mut out =
        serde_json::json!({ "TypeName": cfn::TYPE_NAME, "ResourceDescriptions": descriptions });
    if let Some(t) = page.next_token {
        out["NextToken"] = Value::String(t);
    }
    Ok(out)
}

async fn list_requests(cp: &ControlPlane, region: &str, input: &Input) -> Result<Value, CcError> {
    let limit = match input.max_results {
        None => 20,
        Some(n @ 1..=100) => n as usize,
        Some(n) => {
            return Err(CcError::InvalidRequest(format!(
                "MaxResults {n} must be between 1 and 100"
            )))
        }
    };
    let filter = input.resource_request_status_filter.as_ref();
    let mut events: Vec<ProgressEvent> = cp
        .documents(region, REQUESTS)
        .await
        .map_err(internal)?
        .into_iter()
        .filter_map(|(_, d)| serde_json::from_value::<RequestRecord>(d).ok())
        .map(|r| r.event)
        .filter(|e| {
            filter
                .and_then(|f| f.operations.as_ref())
                .is_none_or(|ops| ops.contains(&e.operation))
                && filter
                    .and_then(|f| f.operation_statuses.as_ref())
                    .is_none_or(|s| s.contains(&e.operation_status))
        })
        .collect();
    // Newest first; ties broken by token so pages are stable.
    events.sort_by(|a, b| {
        b.event_time
            .total_cmp(&a.event_time)
            .then_with(|| a.request_token.cmp(&b.request_token))
    });
    let start = match &input.next_token {
        None => 0,
        Some(t) => {
            events
                .iter()
                .position(|e| &e.request_token == t)
                .ok_or_else(|| CcError::InvalidRequest(format!("Invalid NextToken {t}")))?
                + 1
        }
    };
    let page: Vec<ProgressEvent> = events.iter().skip(start).take(limit).cloned().collect();
    let mut out = serde_json::json!({ "ResourceRequestStatusSummaries": page });
    if start + page.len() < events.len() {
        if let Some(last) = page.last() {
            out["NextToken"] = Value::String(last.request_token.clone());
        }
    }
    Ok(out)
}

//! The Cloud Control API (`CloudApiService`, awsJson1_0) over the control plane.
//!
//! Job: decode `POST /` requests carrying `X-Amz-Target: CloudApiService.<Op>`, translate the
//! CloudFormation resource models of the `AWS::ApiGatewayV2::*` types (types.rs) to and from the
//! apigatewayv2 model (cfn.rs, derived from the model's serde form and each vendored schema),
//! run the SAME `ControlPlane` operations the /v2 wire uses, and answer with ProgressEvents.
//! Operations complete synchronously (SUCCESS or FAILED); every request's ProgressEvent is kept
//! as a control-plane document so it survives restarts, stored in the same commit as the
//! resource change it reports (`ControlPlane::transact`).
//!
//! Boundary: no service rules live here (they are apigw-model's, reached through
//! apigw-control); errors reach the wire only through `error::CcError`.

mod cfn;
mod error;
mod router;
mod types;

use std::sync::Arc;

use apigw_control::{ControlPlane, Tx, View};
use apigw_model::{ErrorKind, ServiceError};
use axum::body::Bytes;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use error::CcError;
use error::Failure;
pub use router::router;

const TARGET_PREFIX: &str = "CloudApiService.";
/// Document kind of stored resource requests, keyed by request token.
const REQUESTS: &str = "cloudcontrol-request";
/// Document kind of used client tokens, keyed by client token: `{requestToken, usedAt}`.
const CLIENT_TOKENS: &str = "cloudcontrol-client-token";
/// "A client token is valid for 36 hours once used." (cloudcontrol model, ClientToken)
const CLIENT_TOKEN_TTL_SECS: f64 = 36.0 * 3600.0;
/// "Resource operation requests expire after 7 days." (ListResourceRequests)
const REQUEST_TTL_SECS: f64 = 7.0 * 24.0 * 3600.0;

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
    match dispatch(&cp, &region, &target, &body, now_secs()).await {
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

fn check_type(input: &Input) -> Result<&'static types::ResourceType, CcError> {
    match input.type_name.as_deref() {
        Some(t) => types::find(t).ok_or_else(|| {
            CcError::TypeNotFound(format!("The type {t} cannot be found or is not supported."))
        }),
        None => Err(CcError::InvalidRequest("TypeName is required".into())),
    }
}

/// `now` is the request's clock (seconds since the epoch), passed in so expiry is testable.
async fn dispatch(
    cp: &ControlPlane,
    region: &str,
    target: &str,
    body: &[u8],
    now: f64,
) -> Result<Value, CcError> {
    let op = target.strip_prefix(TARGET_PREFIX).unwrap_or(target);
    let input: Input = if body.is_empty() {
        Input::default()
    } else {
        serde_json::from_slice(body).map_err(|e| CcError::Serialization(e.to_string()))?
    };
    match op {
        "CreateResource" | "UpdateResource" | "DeleteResource" => {
            let rt = check_type(&input)?;
            mutating(cp, region, rt, op, &input, now).await
        }
        "GetResource" => {
            let rt = check_type(&input)?;
            get_resource(cp, region, rt, &input).await
        }
        "ListResources" => {
            let rt = check_type(&input)?;
            list_resources(cp, region, rt, &input).await
        }
        "GetResourceRequestStatus" => {
            let rec = find_request(cp, region, &input, now).await?;
            Ok(serde_json::json!({ "ProgressEvent": rec.event, "HooksProgressEvent": [] }))
        }
        "CancelResourceRequest" => {
            let rec = find_request(cp, region, &input, now).await?;
            Err(CcError::ConcurrentModification(format!(
                "Resource request {} is already in terminal status {} and cannot be cancelled",
                rec.event.request_token, rec.event.operation_status
            )))
        }
        "ListResourceRequests" => list_requests(cp, region, &input, now).await,
        _ => Err(CcError::UnknownOperation(format!(
            "Unknown operation {target}"
        ))),
    }
}

async fn find_request(
    cp: &ControlPlane,
    region: &str,
    input: &Input,
    now: f64,
) -> Result<RequestRecord, CcError> {
    let token = input.request_token.clone().unwrap_or_default();
    let not_found =
        || CcError::RequestTokenNotFound(format!("Request with token {token} was not found"));
    let doc = cp
        .document(region, REQUESTS, &token)
        .await
        .map_err(CcError::from)?
        .ok_or_else(not_found)?;
    serde_json::from_value::<RequestRecord>(doc)
        .ok()
        .filter(|r| request_live(r.event.event_time, now))
        .ok_or_else(not_found)
}

fn request_live(event_time: f64, now: f64) -> bool {
    now - event_time < REQUEST_TTL_SECS
}

fn client_token_live(used_at: f64, now: f64) -> bool {
    now - used_at < CLIENT_TOKEN_TTL_SECS
}

/// What a ClientToken seen before means for a new request.
#[derive(Debug, PartialEq)]
enum Idempotency<E = ()> {
    /// Not used, or used more than 36 hours ago: a new request.
    New,
    /// The same request again: answer the original event.
    Replay(E),
    /// The token belongs to a different request.
    Conflict,
}

fn idempotency(used: Option<(f64, &str)>, fingerprint: &str, now: f64) -> Idempotency {
    match used {
        Some((used_at, fp)) if client_token_live(used_at, now) => {
            if fp == fingerprint {
                Idempotency::Replay(())
            } else {
                Idempotency::Conflict
            }
        }
        _ => Idempotency::New,
    }
}

pub(crate) fn invalid(msg: String) -> Failure {
    Failure::Handler("InvalidRequest", msg)
}

fn ids(rt: &types::ResourceType, identifier: &str) -> Result<Vec<String>, Failure> {
    rt.schema
        .parse_identifier(identifier)
        .map(|values| rt.registry_order(values))
        .ok_or_else(|| Failure::Handler("NotFound", format!("Invalid identifier {identifier}")))
}

async fn mutating(
    cp: &ControlPlane,
    region: &str,
    rt: &types::ResourceType,
    op: &str,
    input: &Input,
    now: f64,
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
    let mut event = ProgressEvent {
        type_name: rt.name().to_string(),
        request_token: new_token(),
        operation: operation.into(),
        event_time: now,
        identifier: input.identifier.clone(),
        ..Default::default()
    };
    let record = |event: &ProgressEvent| RequestRecord {
        event: event.clone(),
        client_token: input.client_token.clone(),
        fingerprint: fingerprint.clone(),
    };
    let fail = |event: &mut ProgressEvent, failure: Failure| {
        event.operation_status = "FAILED".into();
        event.error_code = Some(failure.code(operation).into());
        event.status_message = Some(failure.message());
        event.identifier = input.identifier.clone();
        event.resource_model = None;
    };
    // Worked out (and validated) before taking the write lock.
    let planned = plan(rt, operation, input);
    // One transaction: the ClientToken check, the resource change (the patch of an update
    // applied to the model as this transaction reads it) and the request record. Concurrent
    // calls with one ClientToken run in turn, so a later one finds the first's record; a crash
    // keeps the change and its record both or neither.
    let answered = cp
        .transact(region, |tx| {
            if let Some(ct) = &input.client_token {
                match used_client_token(tx.view(), ct, &fingerprint, now) {
                    Idempotency::New => {}
                    Idempotency::Replay(original) => return Ok(Ok(original)),
                    // Answered like a repeat, once what it saw is durable.
                    Idempotency::Conflict => {
                        return Ok(Err(CcError::ClientTokenConflict(format!(
                            "The client token {ct} has already been used in another resource request"
                        ))))
                    }
                }
            }
            let mut event = event.clone();
            // A failed change is undone, and its record alone is stored.
            match planned.and_then(|plan| tx.attempt(|tx| apply(cp, region, rt, tx, plan))) {
                Ok(model) => {
                    event.operation_status = "SUCCESS".into();
                    if let Some(mut m) = model {
                        event.identifier = Some(rt.schema.identifier_of(&m));
                        rt.schema.strip_write_only(&mut m);
                        event.resource_model = Some(m.to_string());
                    }
                }
                Err(failure) => fail(&mut event, failure),
            }
            put_request(tx, &record(&event), now)?;
            Ok::<_, ServiceError>(Ok(event))
        })
        .await;
    let event = match answered {
        Ok(Ok(event)) => event,
        // The request itself is refused (its ClientToken belongs to another request).
        Ok(Err(refused)) => return Err(refused),
        // The transaction could not be stored: its change is not made; the request is FAILED
        // with the reason, recorded on its own.
        Err(e) => {
            fail(&mut event, Failure::Service(e));
            cp.transact(region, |tx| put_request(tx, &record(&event), now))
                .await
                .map_err(CcError::from)?;
            event
        }
    };
    Ok(serde_json::json!({ "ProgressEvent": event }))
}

/// What the ClientToken `ct` means for a request of `fingerprint` at `now`.
fn used_client_token(
    view: View<'_>,
    ct: &str,
    fingerprint: &str,
    now: f64,
) -> Idempotency<ProgressEvent> {
    let used = view.document(CLIENT_TOKENS, ct);
    let original = used
        .and_then(|u| u.get("requestToken"))
        .and_then(Value::as_str)
        .and_then(|t| view.document(REQUESTS, t))
        .and_then(|d| serde_json::from_value::<RequestRecord>(d.clone()).ok());
    let used_at = used.and_then(|u| u.get("usedAt")).and_then(Value::as_f64);
    match (used_at, original) {
        (Some(at), Some(rec)) => {
            match idempotency(Some((at, &rec.fingerprint)), fingerprint, now) {
                Idempotency::Replay(()) => Idempotency::Replay(rec.event),
                Idempotency::New => Idempotency::New,
                Idempotency::Conflict => Idempotency::Conflict,
            }
        }
        _ => Idempotency::New,
    }
}

/// Puts a request's record and, when it has one, its ClientToken's entry into `tx`. Cannot fail
/// in practice (JSON values of strings and numbers), which `apply`'s callers rely on.
fn put_request(tx: &mut Tx<'_>, rec: &RequestRecord, now: f64) -> apigw_model::Result<()> {
    let token = rec.event.request_token.clone();
    let doc = serde_json::to_value(rec).map_err(|e| {
        ServiceError::caused_by(
            apigw_model::Origin::Encoding,
            "cannot encode a request record",
            e,
        )
    })?;
    tx.put_document(REQUESTS, token.clone(), doc)?;
    if let Some(ct) = &rec.client_token {
        tx.put_document(
            CLIENT_TOKENS,
            ct.clone(),
            serde_json::json!({ "requestToken": token, "usedAt": now }),
        )?;
    }
    Ok(())
}

/// What a mutating request will do, worked out (and validated) before taking the write lock.
enum Plan {
    Create {
        parents: Vec<String>,
        body: Map<String, Value>,
    },
    /// The patch applies inside the transaction that stores its result, to the model as that
    /// transaction reads it: no other write can come between the read and the change.
    Update {
        ids: Vec<String>,
        patch: json_patch::Patch,
    },
    Delete {
        ids: Vec<String>,
    },
}

fn plan(rt: &types::ResourceType, operation: &str, input: &Input) -> Result<Plan, Failure> {
    match operation {
        "CREATE" => plan_create(rt, input),
        "UPDATE" => plan_update(rt, input),
        _ => Ok(Plan::Delete {
            ids: ids(rt, input.identifier.as_deref().unwrap_or_default())?,
        }),
    }
}

/// Runs a plan inside a mutation; answers the resulting model (none for a delete).
fn apply(
    cp: &ControlPlane,
    region: &str,
    rt: &types::ResourceType,
    tx: &mut Tx<'_>,
    plan: Plan,
) -> Result<Option<Value>, Failure> {
    Ok(match plan {
        Plan::Create { parents, body } => {
            let created = rt.create(tx, &parents, body)?;
            Some(rt.model(cp.account_id(), region, &parents, &created))
        }
        Plan::Update { ids, patch } => {
            let parents = &ids[..ids.len().saturating_sub(1)];
            let current = rt.read(tx.view(), &ids)?;
            // The patch applies to the full current model, write-only members included, so a
            // patch that does not mention them leaves them as they are.
            let mut new = rt.model(cp.account_id(), region, parents, &current);
            json_patch::patch(&mut new, &patch)
                .map_err(|e| invalid(format!("Invalid patch: {e}")))?;
            rt.schema.validate(&new).map_err(invalid)?;
            // Reconcile to exactly the patched model: members the patch removed are unset.
            let body = rt.body(&new)?;
            let updated = rt.replace(tx, &ids, body)?;
            Some(rt.model(cp.account_id(), region, parents, &updated))
        }
        Plan::Delete { ids } => {
            rt.delete(tx, &ids)?;
            None
        }
    })
}

fn parse_json(s: Option<&str>, what: &str) -> Result<Value, Failure> {
    serde_json::from_str(s.unwrap_or_default())
        .map_err(|e| invalid(format!("{what} is not valid JSON: {e}")))
}

fn values_of(model: &Value, names: &[String]) -> Vec<String> {
    names
        .iter()
        .map(|n| {
            model
                .get(n)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

fn plan_create(rt: &types::ResourceType, input: &Input) -> Result<Plan, Failure> {
    let desired = parse_json(input.desired_state.as_deref(), "DesiredState")?;
    if !desired.is_object() {
        return Err(invalid(
            "Model validation failed (#: expected type: JSONObject)".into(),
        ));
    }
    for p in rt.schema.paths("readOnlyProperties") {
        if desired.pointer(&p).is_some() {
            return Err(invalid(format!(
                "Model validation failed (#: extraneous key [{}] is not permitted: read-only property)",
                p.trim_start_matches('/')
            )));
        }
    }
    rt.schema.validate(&desired).map_err(invalid)?;
    let parents = values_of(&desired, &rt.parents());
    let body = rt.body(&desired)?;
    Ok(Plan::Create { parents, body })
}

fn plan_update(rt: &types::ResourceType, input: &Input) -> Result<Plan, Failure> {
    let ids = ids(rt, input.identifier.as_deref().unwrap_or_default())?;
    let patch_doc = parse_json(input.patch_document.as_deref(), "PatchDocument")?;
    let patch: json_patch::Patch = serde_json::from_value(patch_doc.clone())
        .map_err(|e| invalid(format!("Invalid patch document: {e}")))?;
    // Paths an operation writes: `path` (except for `test`) and the `from` of a `move`.
    let touches = |p: &str| {
        let hits = |path: &str| path == p || path.starts_with(&format!("{p}/"));
        patch_doc.as_array().into_iter().flatten().any(|op| {
            let kind = op.get("op").and_then(Value::as_str).unwrap_or_default();
            let path = op.get("path").and_then(Value::as_str).unwrap_or_default();
            let from = op.get("from").and_then(Value::as_str).unwrap_or_default();
            (kind != "test" && hits(path)) || (kind == "move" && hits(from))
        })
    };
    for p in rt.schema.paths("createOnlyProperties") {
        if touches(&p) {
            return Err(Failure::Handler(
                "NotUpdatable",
                format!("Invalid patch update: createOnlyProperties [{p}] cannot be updated"),
            ));
        }
    }
    for p in rt.schema.paths("readOnlyProperties") {
        if touches(&p) {
            return Err(invalid(format!(
                "Invalid patch update: readOnlyProperties [{p}] cannot be updated"
            )));
        }
    }
    Ok(Plan::Update { ids, patch })
}

async fn get_resource(
    cp: &ControlPlane,
    region: &str,
    rt: &types::ResourceType,
    input: &Input,
) -> Result<Value, CcError> {
    let identifier = input.identifier.clone().unwrap_or_default();
    let not_found = |msg: String| {
        CcError::ResourceNotFound(format!(
            "{} Handler returned status FAILED: {msg} (HandlerErrorCode: NotFound)",
            rt.name()
        ))
    };
    let ids = ids(rt, &identifier).map_err(|f| not_found(f.message()))?;
    match cp.inspect(region, |v| rt.read(v, &ids)).await {
        Ok(wire) => {
            let mut model = rt.model(
                cp.account_id(),
                region,
                &ids[..ids.len().saturating_sub(1)],
                &wire,
            );
            rt.schema.strip_write_only(&mut model);
            Ok(serde_json::json!({
                "TypeName": rt.name(),
                "ResourceDescription": {
                    "Identifier": rt.schema.identifier_of(&model),
                    "Properties": model.to_string()
                }
            }))
        }
        // The read handler's NotFound, as Cloud Control words it.
        Err(e) if e.kind() == ErrorKind::NotFound => Err(not_found(e.to_string())),
        Err(e) => Err(e.into()),
    }
}

async fn list_resources(
    cp: &ControlPlane,
    region: &str,
    rt: &types::ResourceType,
    input: &Input,
) -> Result<Value, CcError> {
    let model: Option<Value> = input
        .resource_model
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok());
    for key in rt.schema.list_required() {
        if model
            .as_ref()
            .and_then(|m| m.get(&key))
            .and_then(Value::as_str)
            .is_none()
        {
            return Err(CcError::InvalidRequest(format!(
                "Missing or invalid ResourceModel property in {} list handler request input.Required property: (#: required key [{key}] not found)",
                rt.name()
            )));
        }
    }
    let parents = values_of(&model.unwrap_or(Value::Null), &rt.parents());
    let page = apigw_control::PageRequest {
        max_results: input.max_results.map(|n| n.to_string()),
        next_token: input.next_token.clone(),
    };
    let (items, next) = cp.inspect(region, |v| rt.list(v, &parents, &page)).await?;
    let descriptions: Vec<Value> = items
        .iter()
        .map(|i| {
            let mut m = rt.model(cp.account_id(), region, &parents, i);
            rt.schema.strip_write_only(&mut m);
            serde_json::json!({ "Identifier": rt.schema.identifier_of(&m), "Properties": m.to_string() })
        })
        .collect();
    let mut out =
        serde_json::json!({ "TypeName": rt.name(), "ResourceDescriptions": descriptions });
    if let Some(t) = next {
        out["NextToken"] = Value::String(t);
    }
    Ok(out)
}

async fn list_requests(
    cp: &ControlPlane,
    region: &str,
    input: &Input,
    now: f64,
) -> Result<Value, CcError> {
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
        .map_err(CcError::from)?
        .into_iter()
        .filter_map(|(_, d)| serde_json::from_value::<RequestRecord>(d).ok())
        .map(|r| r.event)
        .filter(|e| request_live(e.event_time, now))
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Mutex;

    use apigw_store::{Change, CommitTicket, Record, Store, StoreError};

    use super::*;

    /// Records every commit and makes it durable at once.
    #[derive(Default)]
    struct Recording(Mutex<Vec<Vec<Change>>>);

    impl Store for Recording {
        fn load_all(&self) -> Result<Vec<Record>, StoreError> {
            Ok(Vec::new())
        }
        fn commit(&self, changes: Vec<Change>) -> CommitTicket {
            self.0.lock().unwrap().push(changes);
            let (tx, rx) = tokio::sync::oneshot::channel();
            let _ = tx.send(Ok(()));
            rx
        }
        fn describe(&self) -> String {
            "recording".into()
        }
    }

    impl Recording {
        /// The kinds each commit since `from` wrote, in order.
        fn kinds_since(&self, from: usize) -> Vec<Vec<String>> {
            self.0.lock().unwrap()[from..]
                .iter()
                .map(|c| {
                    c.iter()
                        .map(|c| match c {
                            Change::Put(r) => format!("put {}", r.kind),
                            Change::Delete { kind, .. } => format!("delete {kind}"),
                            Change::Clear => "clear".into(),
                        })
                        .collect()
                })
                .collect()
        }
    }

    #[tokio::test]
    async fn each_mutating_request_is_one_commit() {
        let store = Arc::new(Recording::default());
        let cp = ControlPlane::open(store.clone()).unwrap();
        let call = |op: &str, body: Value| {
            let cp = &cp;
            let target = format!("{TARGET_PREFIX}{op}");
            async move {
                dispatch(cp, "r", &target, body.to_string().as_bytes(), now_secs())
                    .await
                    .unwrap()
            }
        };
        let api = call(
            "CreateResource",
            serde_json::json!({"TypeName": "AWS::ApiGatewayV2::Api", "DesiredState": "{\"Name\":\"a\",\"ProtocolType\":\"HTTP\"}"}),
        )
        .await;
        let api_id = api["ProgressEvent"]["Identifier"]
            .as_str()
            .unwrap()
            .to_string();
        let put_request = || vec!["put doc:cloudcontrol-request".to_string()];
        let with_token = || {
            let mut k = put_request();
            k.push("put doc:cloudcontrol-client-token".into());
            k
        };
        let mut created = vec!["put api".to_string()];
        created.extend(put_request());
        assert_eq!(store.kinds_since(0), [created]);

        let desired = serde_json::json!({"ApiId": api_id, "IntegrationType": "HTTP_PROXY",
            "IntegrationMethod": "GET", "IntegrationUri": "https://example.com",
            "PayloadFormatVersion": "1.0"});
        let create = serde_json::json!({"TypeName": "AWS::ApiGatewayV2::Integration",
            "DesiredState": desired.to_string(), "ClientToken": "ct-1"});
        let out = call("CreateResource", create.clone()).await;
        let id = out["ProgressEvent"]["Identifier"]
            .as_str()
            .unwrap()
            .to_string();
        let mut kinds = vec!["put integration".to_string()];
        kinds.extend(with_token());
        assert_eq!(store.kinds_since(1), [kinds]);
        // The repeat answers the stored event and stores nothing.
        let again = call("CreateResource", create).await;
        assert_eq!(again, out);
        assert_eq!(store.0.lock().unwrap().len(), 2);

        let patch = serde_json::json!([{"op": "add", "path": "/Description", "value": "d"}]);
        call(
            "UpdateResource",
            serde_json::json!({"TypeName": "AWS::ApiGatewayV2::Integration", "Identifier": id,
                "PatchDocument": patch.to_string()}),
        )
        .await;
        let mut kinds = vec!["put integration".to_string()];
        kinds.extend(put_request());
        assert_eq!(store.kinds_since(2), [kinds]);

        let delete =
            serde_json::json!({"TypeName": "AWS::ApiGatewayV2::Integration", "Identifier": id});
        call("DeleteResource", delete.clone()).await;
        let mut kinds = vec!["delete integration".to_string()];
        kinds.extend(put_request());
        assert_eq!(store.kinds_since(3), [kinds]);

        // A failed request changed nothing: its record alone is stored.
        let failed = call("DeleteResource", delete).await;
        assert_eq!(failed["ProgressEvent"]["ErrorCode"], "NotFound");
        assert_eq!(store.kinds_since(4), [put_request()]);
    }

    #[test]
    fn client_tokens_expire_after_36_hours() {
        let used = 1_700_000_000.0;
        let hour = 3600.0;
        // Same request within 36 h: the original event; a different one: a conflict.
        assert_eq!(
            idempotency(Some((used, "a")), "a", used + 35.9 * hour),
            Idempotency::Replay(())
        );
        assert_eq!(
            idempotency(Some((used, "a")), "b", used + hour),
            Idempotency::Conflict
        );
        // At and after 36 h the token is free again, whatever the request.
        assert_eq!(
            idempotency(Some((used, "a")), "a", used + 36.0 * hour),
            Idempotency::New
        );
        assert_eq!(
            idempotency(Some((used, "a")), "b", used + 40.0 * hour),
            Idempotency::New
        );
        assert_eq!(idempotency(None, "a", used), Idempotency::New);
    }

    #[test]
    fn requests_expire_after_7_days() {
        let t = 1_700_000_000.0;
        assert!(request_live(t, t + 6.9 * 86_400.0));
        assert!(!request_live(t, t + 7.0 * 86_400.0));
    }
}

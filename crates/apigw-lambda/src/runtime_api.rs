//! The Lambda Runtime API 2018-06-01 one execution environment's runtime polls (spec §5.3):
//! `next`, `response`, `error`, `init/error`. Each environment has its own listener, so the
//! connection says which environment is calling.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use apigw_model::limits::LAMBDA_PAYLOAD;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;

use crate::host::{EnvShared, FunctionFailure, InFlight};

pub(crate) fn router(shared: Arc<EnvShared>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{request_id}/response",
            post(response),
        )
        .route(
            "/2018-06-01/runtime/invocation/{request_id}/error",
            post(error),
        )
        .route("/2018-06-01/runtime/init/error", post(init_error))
        // Runtimes that register an internal extension (lambda_runtime's graceful-shutdown
        // handler) must get past registration; no extension events are ever sent.
        .route("/2020-01-01/extension/register", post(extension_register))
        .route("/2020-01-01/extension/event/next", get(extension_next))
        .with_state(shared)
}

fn render(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn accepted() -> Response {
    render(StatusCode::ACCEPTED, serde_json::json!({"status": "OK"}))
}

fn forbidden_transition(from: &str, to: &str) -> Response {
    render(
        StatusCode::FORBIDDEN,
        serde_json::json!({
            "errorMessage": format!(
                "State transition from {from} to {to} failed for runtime. Error: State transition is not allowed"
            ),
            "errorType": "InvalidStateTransition",
        }),
    )
}

fn invalid_request_id() -> Response {
    render(
        StatusCode::BAD_REQUEST,
        serde_json::json!({"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"}),
    )
}

fn gone() -> Response {
    render(
        StatusCode::INTERNAL_SERVER_ERROR,
        serde_json::json!({
            "errorMessage": "The execution environment is being shut down. Runtime should exit promptly.",
            "errorType": "Runtime.ExitError",
        }),
    )
}

/// Long poll for the next event.
async fn next(State(shared): State<Arc<EnvShared>>) -> Response {
    loop {
        let notified = shared.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let mut st = shared.lock();
            if st.dead || st.init_error.is_some() {
                return gone();
            }
            if st.in_flight.is_some() {
                return forbidden_transition("InvocationNext", "InvocationNext");
            }
            st.initialized = true;
            if let Some(d) = st.pending.take() {
                let deadline = SystemTime::now() + shared.timeout;
                let mut headers = HeaderMap::new();
                let mut put = |name: &'static str, value: &str| {
                    if !value.is_empty() {
                        if let Ok(v) = HeaderValue::from_str(value) {
                            headers.insert(name, v);
                        }
                    }
                };
                put("content-type", "application/json");
                put("lambda-runtime-aws-request-id", &d.request_id);
                put(
                    "lambda-runtime-deadline-ms",
                    &crate::time::epoch_millis(deadline).to_string(),
                );
                put("lambda-runtime-invoked-function-arn", &shared.function_arn);
                put("lambda-runtime-trace-id", &d.trace_id);
                if let Some(cc) = &d.client_context {
                    put("lambda-runtime-client-context", cc);
                }
                st.current = Some((d.request_id.clone(), d.log.clone()));
                st.in_flight = Some(InFlight {
                    request_id: d.request_id,
                    reply: d.reply,
                });
                let _ = d.started.send(());
                return (StatusCode::OK, headers, Body::from(d.payload)).into_response();
            }
        }
        notified.await;
    }
}

/// Reads a runtime's body up to Lambda's 6 MB; `None` when larger.
async fn read_body(req: Request) -> Option<Bytes> {
    axum::body::to_bytes(req.into_body(), LAMBDA_PAYLOAD)
        .await
        .ok()
}

async fn response(
    State(shared): State<Arc<EnvShared>>,
    Path(request_id): Path<String>,
    req: Request,
) -> Response {
    if let Some(mode) = req.headers().get("lambda-runtime-function-response-mode") {
        if mode.as_bytes() != b"streaming" {
            return render(
                StatusCode::BAD_REQUEST,
                serde_json::json!({
                    "errorMessage": "Invalid response mode header value",
                    "errorType": "Runtime.InvalidResponseModeHeader",
                }),
            );
        }
    }
    {
        let st = shared.lock();
        match &st.in_flight {
            None => return forbidden_transition("Ready", "InvocationResponse"),
            Some(f) if f.request_id != request_id => return invalid_request_id(),
            Some(_) => {}
        }
    }
    let body = read_body(req).await;
    let mut st = shared.lock();
    let Some(f) = st.in_flight.take_if(|f| f.request_id == request_id) else {
        return forbidden_transition("Ready", "InvocationResponse");
    };
    match body {
        Some(body) => {
            let _ = f.reply.send(Ok(body));
            accepted()
        }
        None => {
            let _ = f.reply.send(Err(FunctionFailure::new(
                "Function.ResponseSizeTooLarge",
                &format!(
                    "Response payload size exceeded maximum allowed payload size ({LAMBDA_PAYLOAD} bytes)."
                ),
            )));
            render(
                StatusCode::PAYLOAD_TOO_LARGE,
                serde_json::json!({
                    "errorMessage": format!("Exceeded maximum allowed payload size ({LAMBDA_PAYLOAD} bytes)."),
                    "errorType": "RequestEntityTooLarge",
                }),
            )
        }
    }
}

/// The error document the caller gets: the runtime's body when it sent one, else the one
/// Lambda synthesises.
fn failure_from(req_headers: &HeaderMap, body: Option<Bytes>) -> FunctionFailure {
    let error_type = req_headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("Unhandled");
    match body {
        Some(b) if !b.iter().all(u8::is_ascii_whitespace) => FunctionFailure { payload: b },
        _ => FunctionFailure::new(error_type, "Unknown application error occurred"),
    }
}

async fn error(
    State(shared): State<Arc<EnvShared>>,
    Path(request_id): Path<String>,
    req: Request,
) -> Response {
    {
        let st = shared.lock();
        match &st.in_flight {
            None => return forbidden_transition("Ready", "InvocationErrorResponse"),
            Some(f) if f.request_id != request_id => return invalid_request_id(),
            Some(_) => {}
        }
    }
    let headers = req.headers().clone();
    let body = read_body(req).await;
    let failure = failure_from(&headers, body);
    let mut st = shared.lock();
    let Some(f) = st.in_flight.take_if(|f| f.request_id == request_id) else {
        return forbidden_transition("Ready", "InvocationErrorResponse");
    };
    let _ = f.reply.send(Err(failure));
    accepted()
}

async fn init_error(State(shared): State<Arc<EnvShared>>, req: Request) -> Response {
    if shared.lock().initialized {
        return forbidden_transition("Ready", "InitError");
    }
    let headers = req.headers().clone();
    let body = read_body(req).await;
    let failure = failure_from(&headers, body);
    let name = shared.function_name.clone();
    tracing::warn!(function = %name, error = %String::from_utf8_lossy(&failure.payload), "function init failed");
    shared.init_failed(failure);
    // Lambda discards the environment; give the runtime a moment to exit on its own.
    let s = shared.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        s.kill(None);
    });
    accepted()
}

async fn extension_register(State(shared): State<Arc<EnvShared>>) -> Response {
    let mut resp = render(
        StatusCode::OK,
        serde_json::json!({
            "functionName": shared.function_name,
            "functionVersion": "$LATEST",
            "handler": "",
        }),
    );
    if let Ok(v) = HeaderValue::from_str(&crate::host::request_id()) {
        resp.headers_mut().insert("lambda-extension-identifier", v);
    }
    resp
}

/// Waits until the environment goes away (Lambda would send SHUTDOWN; the process is killed
/// instead).
async fn extension_next(State(shared): State<Arc<EnvShared>>) -> Response {
    loop {
        let notified = shared.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if shared.lock().dead {
            return gone();
        }
        notified.await;
    }
}

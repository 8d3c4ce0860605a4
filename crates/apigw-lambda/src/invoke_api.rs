//! Lambda's Invoke API on the gateway's port (spec §5.2), so SDKs and `aws lambda invoke`
//! can call hosted functions. The one place [`LambdaError`]s become Lambda's wire errors.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::Engine;

use apigw_model::limits::LAMBDA_PAYLOAD;

use crate::{FunctionRef, InvocationType, InvokeOptions, Lambda, LambdaError};

pub(crate) fn router(lambda: Lambda) -> Router {
    Router::new()
        .route(
            "/2015-03-31/functions/{function_name}/invocations",
            post(invoke),
        )
        .with_state(lambda)
}

impl IntoResponse for LambdaError {
    fn into_response(self) -> Response {
        let (status, error_type, kind) = self.wire();
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (
            status,
            serde_json::json!({"Type": kind, "message": self.to_string()}).to_string(),
        )
            .into_response();
        let h = resp.headers_mut();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        if let Ok(v) = HeaderValue::from_str(error_type) {
            h.insert("x-amzn-ErrorType", v);
        }
        resp
    }
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

async fn invoke(
    State(lambda): State<Lambda>,
    Path(function_name): Path<String>,
    req: Request,
) -> Response {
    match invoke_inner(lambda, function_name, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn invoke_inner(
    lambda: Lambda,
    function_name: String,
    req: Request,
) -> Result<Response, LambdaError> {
    let function = FunctionRef::parse(&function_name).ok_or_else(|| {
        LambdaError::Validation(format!(
            "1 validation error detected: Value '{function_name}' at 'functionName' failed to \
             satisfy constraint: Member must satisfy regular expression pattern: \
             (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}}:)?(\\d{{12}}:)?\
             (function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
        ))
    })?;
    let qualifier = req.uri().query().and_then(|q| {
        q.split('&').find_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k == "Qualifier").then(|| {
                percent_encoding::percent_decode_str(v)
                    .decode_utf8_lossy()
                    .into_owned()
            })
        })
    });
    let function = function.with_qualifier(qualifier.as_deref())?;
    let headers = req.headers().clone();
    let invocation_type = match header(&headers, "x-amz-invocation-type") {
        None | Some("RequestResponse") => InvocationType::RequestResponse,
        Some("Event") => InvocationType::Event,
        Some("DryRun") => InvocationType::DryRun,
        Some(other) => {
            return Err(LambdaError::Validation(format!(
                "1 validation error detected: Value '{other}' at 'invocationType' failed to \
                 satisfy constraint: Member must satisfy enum value set: [Event, \
                 RequestResponse, DryRun]"
            )))
        }
    };
    let log_tail = match header(&headers, "x-amz-log-type") {
        None | Some("None") => false,
        Some("Tail") => true,
        Some(other) => {
            return Err(LambdaError::Validation(format!(
                "1 validation error detected: Value '{other}' at 'logType' failed to satisfy \
                 constraint: Member must satisfy enum value set: [None, Tail]"
            )))
        }
    };
    let client_context = header(&headers, "x-amz-client-context").map(|cc| {
        base64::engine::general_purpose::STANDARD
            .decode(cc)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_else(|| cc.to_string())
    });
    let payload = axum::body::to_bytes(req.into_body(), LAMBDA_PAYLOAD)
        .await
        .map_err(|_| LambdaError::RequestTooLarge)?;
    let opts = InvokeOptions {
        invocation_type,
        log_tail,
        client_context,
        timeout: None,
    };
    let out = lambda.invoke_with(&function, payload, &opts).await?;
    let mut resp = Response::new(Body::from(out.payload));
    *resp.status_mut() = StatusCode::from_u16(out.status).unwrap_or(StatusCode::OK);
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    let mut put = |name: &'static str, value: Option<&str>| {
        if let Some(v) = value.and_then(|v| HeaderValue::from_str(v).ok()) {
            h.insert(name, v);
        }
    };
    put("x-amzn-RequestId", Some(&out.request_id));
    put("X-Amz-Function-Error", out.function_error.as_deref());
    put("X-Amz-Log-Result", out.log_result.as_deref());
    put("X-Amz-Executed-Version", out.executed_version.as_deref());
    Ok(resp)
}

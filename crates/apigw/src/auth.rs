//! Signature checking for the control-plane protocols when the operator configures credentials.
//!
//! Without `--credentials` every request is served whatever key signed it (as the README
//! promises); with them, a request must carry a valid SigV4 signature of one of those keys.
//! The data plane is not behind this: HTTP APIs here have no IAM authorization.

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use apigw_sigv4::{Credentials, RequestParts, SigV4Error};

pub async fn authenticate(
    State(credentials): State<Arc<Credentials>>,
    req: Request,
    next: Next,
) -> Response {
    if credentials.is_empty() {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let cloud_control = apigw_cloudcontrol::is_cloud_control(&parts.headers);
    let reject = |e: SigV4Error| {
        tracing::debug!(error = %e, path = %parts.uri.path(), "request refused");
        if cloud_control {
            apigw_cloudcontrol::CcError::Unauthenticated(e).into_response()
        } else {
            apigw_restjson::WireError::Unauthenticated(e).into_response()
        }
    };
    let bytes = match axum::body::to_bytes(body, apigw_model::limits::CONTROL_PLANE_BODY).await {
        Ok(b) => b,
        Err(_) => return apigw_restjson::WireError::PayloadTooLarge.into_response(),
    };
    let signed = RequestParts {
        method: parts.method.as_str(),
        raw_path: parts.uri.path(),
        raw_query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
    };
    if let Err(e) = apigw_sigv4::verify(
        &credentials,
        &signed,
        &apigw_sigv4::payload_hash(&bytes),
        SystemTime::now(),
    ) {
        return reject(e);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

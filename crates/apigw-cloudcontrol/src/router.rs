//! The Cloud Control wire's place on the shared port: `POST /` with
//! `X-Amz-Target: CloudApiService.*`. Anything else at `/` is not Cloud Control's and answers
//! as any unknown control-plane path does.

use std::sync::Arc;

use apigw_control::ControlPlane;
use apigw_model::limits::CONTROL_PLANE_BODY;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;

use crate::{handle, is_cloud_control, CcError};

/// The route `/` for Cloud Control, to merge into the control plane's router.
pub fn router(cp: Arc<ControlPlane>) -> Router {
    Router::new().route("/", any(serve)).with_state(cp)
}

async fn serve(State(cp): State<Arc<ControlPlane>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    if parts.method != Method::POST || !is_cloud_control(&parts.headers) {
        return apigw_restjson::unknown_path(parts.uri)
            .await
            .into_response();
    }
    match axum::body::to_bytes(body, CONTROL_PLANE_BODY).await {
        Ok(bytes) => handle(cp, parts, bytes).await,
        Err(_) => CcError::InvalidRequest("Request body is too large or unreadable".into())
            .into_response(),
    }
}

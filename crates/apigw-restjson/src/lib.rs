//! The apigatewayv2 restJson1 wire protocol (`/v2/...`), as real AWS clients speak it.
//!
//! Boundary: decodes HTTP (labels, query, JSON body, SigV4 region) into control-plane calls
//! and encodes results and errors the way the service does (status codes from the model,
//! `x-amzn-ErrorType`, `x-amzn-RequestId`, camelCase members, unset members omitted).
//! No rule of the service lives here: `apigw-control` and `apigw-model` own those.

mod error;
pub mod request;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::Router;
use serde::{Deserialize, Serialize};

use apigw_control::{ControlPlane, PageRequest};
use apigw_model::{
    ApiInput, DeploymentInput, IntegrationInput, IntegrationResponseInput, RouteInput,
    RouteResponseInput, StageInput,
};

pub use error::WireError;
use request::{JsonBody, Labels, Query, Region};

type Cp = State<Arc<ControlPlane>>;
type WireResult = Result<Response, WireError>;

fn ok<T: Serialize>(status: StatusCode, value: T) -> WireResult {
    // Sized for a typical resource so the body is written without growing.
    let mut body = Vec::with_capacity(768);
    serde_json::to_writer(&mut body, &value).map_err(|e| {
        WireError::Service(apigw_model::ServiceError::Internal(format!(
            "cannot encode the response: {e}"
        )))
    })?;
    Ok((status, [(CONTENT_TYPE, APPLICATION_JSON)], body).into_response())
}

const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

fn no_content() -> WireResult {
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn page(q: &Query) -> PageRequest {
    PageRequest {
        max_results: q.get("maxResults"),
        next_token: q.get("nextToken"),
    }
}

/// A fresh request id in the UUID form AWS uses.
pub fn request_id() -> String {
    apigw_model::ids::uuid_v4(fastrand::u128(..))
}

const X_AMZN_REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");

/// Adds `x-amzn-RequestId` to every response, success or error.
pub async fn add_request_id(mut resp: Response) -> Response {
    if !resp.headers().contains_key(X_AMZN_REQUEST_ID) {
        if let Ok(v) = HeaderValue::try_from(request_id()) {
            resp.headers_mut().insert(X_AMZN_REQUEST_ID, v);
        }
    }
    resp
}

/// The `/v2/...` routes of the apigatewayv2 API.
pub fn router(cp: Arc<ControlPlane>) -> Router {
    Router::new()
        .route("/v2/apis", get(get_apis).post(create_api))
        .route("/v2/apis/", get(get_api_without_id))
        .route("/v2/apis/{apiId}", get(get_api).patch(update_api).delete(delete_api))
        .route("/v2/apis/{apiId}/cors", delete(delete_cors))
        .route("/v2/apis/{apiId}/integrations", get(get_integrations).post(create_integration))
        .route(
            "/v2/apis/{apiId}/integrations/{integrationId}",
            get(get_integration).patch(update_integration).delete(delete_integration),
        )
        .route(
            "/v2/apis/{apiId}/integrations/{integrationId}/integrationresponses",
            get(get_integration_responses).post(create_integration_response),
        )
        .route(
            "/v2/apis/{apiId}/integrations/{integrationId}/integrationresponses/{integrationResponseId}",
            get(get_integration_response)
                .patch(update_integration_response)
                .delete(delete_integration_response),
        )
        .route("/v2/apis/{apiId}/routes", get(get_routes).post(create_route))
        .route("/v2/apis/{apiId}/routes/{routeId}", get(get_route).patch(update_route).delete(delete_route))
        .route(
            "/v2/apis/{apiId}/routes/{routeId}/requestparameters/{requestParameterKey}",
            delete(delete_route_request_parameter),
        )
        .route(
            "/v2/apis/{apiId}/routes/{routeId}/routeresponses",
            get(get_route_responses).post(create_route_response),
        )
        .route(
            "/v2/apis/{apiId}/routes/{routeId}/routeresponses/{routeResponseId}",
            get(get_route_response).patch(update_route_response).delete(delete_route_response),
        )
        .route("/v2/apis/{apiId}/stages", get(get_stages).post(create_stage))
        .route("/v2/apis/{apiId}/stages/{stageName}", get(get_stage).patch(update_stage).delete(delete_stage))
        .route("/v2/apis/{apiId}/stages/{stageName}/routesettings/{routeKey}", delete(delete_route_settings))
        .route("/v2/apis/{apiId}/stages/{stageName}/accesslogsettings", delete(delete_access_log_settings))
        .route("/v2/apis/{apiId}/deployments", get(get_deployments).post(create_deployment))
        .route(
            "/v2/apis/{apiId}/deployments/{deploymentId}",
            get(get_deployment).patch(update_deployment).delete(delete_deployment),
        )
        .route("/v2/tags/{*resourceArn}", get(get_tags).post(tag_resource).delete(untag_resource))
        .method_not_allowed_fallback(|| async { WireError::MethodNotAllowed })
        .with_state(cp)
}

/// The answer for paths no operation serves.
pub async fn unknown_path(uri: Uri) -> WireError {
    WireError::UnknownPath(uri.path().to_string())
}

// ---- Api -------------------------------------------------------------------------------

async fn create_api(
    State(cp): Cp,
    Region(r): Region,
    JsonBody(input): JsonBody<ApiInput>,
) -> WireResult {
    ok(StatusCode::CREATED, cp.create_api(&r, input).await?)
}

async fn get_api(State(cp): Cp, Region(r): Region, l: Labels) -> WireResult {
    ok(StatusCode::OK, cp.get_api(&r, l.get("apiId")).await?)
}

/// `GET /v2/apis/` (an empty ApiId): 200 with an empty object (decisions.md).
async fn get_api_without_id() -> WireResult {
    ok(StatusCode::OK, serde_json::json!({}))
}

async fn get_apis(State(cp): Cp, Region(r): Region, q: Query) -> WireResult {
    ok(StatusCode::OK, cp.get_apis(&r, &page(&q)).await?)
}

async fn update_api(
    State(cp): Cp,
    Region(r): Region,
    l: Labels,
    JsonBody(input): JsonBody<ApiInput>,
) -> WireResult {
    ok(
        StatusCode::OK,
        cp.update_api(&r, l.get("apiId"), input).await?,
    )
}

async fn delete_api(State(cp): Cp, Region(r): Region, l: Labels) -> WireResult {
    cp.delete_api(&r, l.get("apiId")).await?;
    no_content()
}

async fn delete_cors(State(cp): Cp, Region(r): Region, l: Labels) -> WireResult {
    cp.delete_cors_configuration(&r, l.get("apiId")).await?;
    no_content()
}

// ---- Integration -----------------------------------------------------------------------

async fn create_integration(
    State(cp): Cp,
    Region(r): Region,
    l: Labels,
    JsonBody(input): JsonBody<IntegrationInput>,
) -> WireResult {
    ok(
        StatusCode::CREATED,
        cp.create_integration(&r, l.get("apiId"), input).await?,
    )
}

async fn get_integration(State(cp): Cp, Region(r): Region, l: Labels) -> WireResult {
    ok(
        StatusCode::OK,
        cp.get_integration(&r, l.get("apiId"), l.get("integrationId"))
            .await?,
    )
}

async fn get_integrations(State(cp): Cp, Region(r): Region, l: Labels, q: Query) -> WireResult {
    ok(
        StatusCode::OK,
        cp.get_integrations(&r, l.get("apiId"), &page(&q)).await?,
    )
}

async fn update_integration(
    State(cp): Cp,
    Region(r): Region,
    l: Labels,
    JsonBody(input): JsonBody<IntegrationInput>,
) -> WireResult {
    ok(
        StatusCode::OK,
        cp.update_integration(&r, l.get("apiId"), l.get("integrationId"), input)
            .await?,
    )
}

async fn delete_integration(State(cp): Cp, Region(r): Region, l: Labels) -> WireResult {
    cp.delete_integration(&r, l.get("apiId"), l.get("integrationId"))
        .await?;
    no_content()
}

async fn create_integration_response(
    State(cp): Cp,
    Region(r): Region,
    l: Labels,
    JsonBody(input): JsonBody<IntegrationResponseInput>,
) -> WireResult {
    let out = cp
        .create_integration_response(&r, l.get("apiId"), l.get("integrationId"), input)
        .await?;
    ok(StatusCode::CREATED, out)
}

async fn get_integration_response(State(cp): Cp, Region(r): Region, l: Labels) -> WireResult {
    let out = cp
        .get_integration_response(
            &r,
            l.get("apiId"),
            l.get("integrationId"),
            l.get("integrationResponseId"),
        )
        .await?;
    ok(StatusCode::OK, out)
}

async fn get_integration_responses(
    State(cp): Cp,
    Region(r): Region,
    l: Labels,
    q: Query,
) -> WireResult {
    let out = cp
        .get_integration_responses(&r, l.get("apiId"), l.get("integrationId"), &page(&q))
        .await?;
    ok(StatusCode::OK, out)
}

async fn update_integration_response(
    State(cp): Cp,
    Region(r): Region,
    l: Labels,
    JsonBody(input): JsonBody<IntegrationResponseInput>,
) -> WireResult {
    let out = cp
        .update_integration_response(
            &r,
            l.get("apiId"),
            l.get("integrationId"),
            l.get("integrationResponseId"),
            input,
        )
        .await?;
    ok(StatusCode::OK, out)
}

async fn delete_integration_response(State(cp): Cp, Region(r): Region, l: Labels) -> WireResult {
    cp.delete_integration_response(
        &r,
        l.get("apiId"),
        l.get("integrationId"),
        l.get("integrationResponseId"),
    )
    .await?;
    no_content()
}

// ---- Route -----------------------------------------------------------------------------

async fn create_route(
    State(cp): Cp,
    Region(r): Region,
    l: Labels,
    JsonBody(input): JsonBody<RouteInput>,
) -> WireResult {
    ok(
        StatusCode::CREATED,
        cp.create_route(&r, l.get("apiId"), input).await?,
    )
}

async fn get_route(State(cp): Cp, Region(r): Region, l: Labels) -> WireResult {
    ok(
        StatusCode::OK,
        cp.get_route(&r, l.get("apiId"), l.get("routeId")).await?,
    )
}

async fn get_routes(State(cp): Cp, Region(r): Region, l: Labels, q: Query) -> WireResult {
    ok(
        StatusCode::OK,
        cp.get_routes(&r, l.get("apiId"), &page(&q)).await?,
    )
}

async fn update_route(
    State(cp): Cp,
    Region(r): Region,
    l: Labels,
    JsonBody(input): JsonBody<RouteInput>,
) -> WireResult {
    ok(
        StatusCode::OK,
        cp.update_route(&r, l.get("apiId"), l.get("routeId"), input)
            .await?,
    )
}

async fn delete_route(State(cp): Cp, Region(r): Region, l: Labels) -> WireResult {
    cp.delete_route(&r, l.get("apiId"), l.get("routeId"))
        .await?;
    no_content()
}

async fn delete_route_request_parameter(State(cp): Cp, Region(r): Region, l: Labels) -> WireResult {
    cp.delete_route_request_parameter(
        &r,
        l.get("apiId"),
        l.get("routeId"),
        l.get("requestParameterKey"),
    )
    .await?;
    no_content()
}

async fn create_route_response(
    State(cp): Cp,
    Region(r): Region,
    l: Labels,
    JsonBody(input): JsonBody<RouteResponseInput>,
) -> WireResult {
    ok(
        StatusCode::CREATED,
        cp.create_route_response(&r, l.get("apiId"), l.get("routeId"), input)
            .await?,
    )
}

async fn get_route_response(State(cp): Cp, Region(r): Region, l: Labels) -> WireResult {
    let out = cp
        .get_route_response(
            &r,
            l.get("apiId"),
            l.get("routeId"),
            l.get("routeResponseId"),
        )
        .await?;
    ok(StatusCode::OK, out)
}

async fn get_route_responses(State(cp): Cp, Region(r): Region, l: Labels, q: Query) -> WireResult {
    ok(
        StatusCode::OK,
        cp.get_route_responses(&r, l.get("apiId"), l.get("routeId"), &page(&q))
            .await?,
    )
}

async fn update_route_response(
    State(cp): Cp,
    Region(r): Region,
    l: Labels,
    JsonBody(input): JsonBody<RouteResponseInput>,
) -> WireResult {
    let out = cp
        .update_route_response(
            &r,
            l.get("apiId"),
            l.get("routeId"),
            l.get("routeResponseId"),
            input,
        )
        .await?;
    ok(StatusCode::OK, out)
}

async fn delete_route_response(State(cp): Cp, Region(r): Region, l: Labels) -> WireResult {
    cp.delete_route_response(
        &r,
        l.get("apiId"),
        l.get("routeId"),
        l.get("routeResponseId"),
    )
    .await?;
    no_content()
}

// ---- Stage -----------------------------------------------------------------------------

async fn create_stage(
    State(cp): Cp,
    Region(r): Region,
    l: Labels,
    JsonBody(input): JsonBody<StageInput>,
) -> WireResult {
    ok(
        StatusCode::CREATED,
        cp.create_stage(&r, l.get("apiId"), input).await?,
    )
}

async fn get_stage(State(cp): Cp, Region(r): Region, l: Labels) -> WireResult {
    ok(
        StatusCode::OK,
        cp.get_stage(&r, l.get("apiId"), l.get("stageName")).await?,
    )
}

async fn get_stages(State(cp): Cp, Region(r): Region, l: Labels, q: Query) -> WireResult {
    ok(
        StatusCode::OK,
        cp.get_stages(&r, l.get("apiId"), &page(&q)).await?,
    )
}

async fn update_stage(
    State(cp): Cp,
    Region(r): Region,
    l: Labels,
    JsonBody(input): JsonBody<StageInput>,
) -> WireResult {
    ok(
        StatusCode::OK,
        cp.update_stage(&r, l.get("apiId"), l.get("stageName"), input)
            .await?,
    )
}

async fn delete_stage(State(cp): Cp, Region(r): Region, l: Labels) -> WireResult {
    cp.delete_stage(&r, l.get("apiId"), l.get("stageName"))
        .await?;
    no_content()
}

async fn delete_route_settings(State(cp): Cp, Region(r): Region, l: Labels) -> WireResult {
    cp.delete_route_settings(&r, l.get("apiId"), l.get("stageName"), l.get("routeKey"))
        .await?;
    no_content()
}

async fn delete_access_log_settings(State(cp): Cp, Region(r): Region, l: Labels) -> WireResult {
    cp.delete_access_log_settings(&r, l.get("apiId"), l.get("stageName"))
        .await?;
    no_content()
}

// ---- Deployment ------------------------------------------------------------------------

async fn create_deployment(
    State(cp): Cp,
    Region(r): Region,
    l: Labels,
    JsonBody(input): JsonBody<DeploymentInput>,
) -> WireResult {
    ok(
        StatusCode::CREATED,
        cp.create_deployment(&r, l.get("apiId"), input).await?,
    )
}

async fn get_deployment(State(cp): Cp, Region(r): Region, l: Labels) -> WireResult {
    ok(
        StatusCode::OK,
        cp.get_deployment(&r, l.get("apiId"), l.get("deploymentId"))
            .await?,
    )
}

async fn get_deployments(State(cp): Cp, Region(r): Region, l: Labels, q: Query) -> WireResult {
    ok(
        StatusCode::OK,
        cp.get_deployments(&r, l.get("apiId"), &page(&q)).await?,
    )
}

async fn update_deployment(
    State(cp): Cp,
    Region(r): Region,
    l: Labels,
    JsonBody(input): JsonBody<DeploymentInput>,
) -> WireResult {
    ok(
        StatusCode::OK,
        cp.update_deployment(&r, l.get("apiId"), l.get("deploymentId"), input)
            .await?,
    )
}

async fn delete_deployment(State(cp): Cp, Region(r): Region, l: Labels) -> WireResult {
    cp.delete_deployment(&r, l.get("apiId"), l.get("deploymentId"))
        .await?;
    no_content()
}

// ---- Tags ------------------------------------------------------------------------------

#[derive(Serialize, Deserialize, Default)]
struct Tags {
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

async fn get_tags(State(cp): Cp, l: Labels) -> WireResult {
    ok(
        StatusCode::OK,
        Tags {
            tags: cp.get_tags(l.get("resourceArn")).await?,
        },
    )
}

async fn tag_resource(State(cp): Cp, l: Labels, JsonBody(input): JsonBody<Tags>) -> WireResult {
    cp.tag_resource(l.get("resourceArn"), input.tags).await?;
    ok(StatusCode::CREATED, serde_json::json!({}))
}

async fn untag_resource(State(cp): Cp, l: Labels, q: Query) -> WireResult {
    cp.untag_resource(l.get("resourceArn"), &q.all("tagKeys"))
        .await?;
    no_content()
}

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

use apigw_control::registry::item_path;
use apigw_control::{actions, resources, ControlPlane, PageRequest, Removal, Resource};

pub use error::WireError;
use request::{ItemIds, JsonBody, Labels, ParentIds, Query, Region, RemovalIds};

type Cp = State<Arc<ControlPlane>>;
type WireResult = Result<Response, WireError>;

fn ok<T: Serialize>(status: StatusCode, value: T) -> WireResult {
    // Sized for a typical resource so the body is written without growing.
    let mut body = Vec::with_capacity(768);
    serde_json::to_writer(&mut body, &value).map_err(|e| {
        WireError::Service(apigw_model::ServiceError::caused_by(
            apigw_model::Origin::Encoding,
            "cannot encode the response",
            e,
        ))
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

/// The `/v2/...` routes of the apigatewayv2 API: each registry resource's collection and item
/// routes (produced from its declaration), then the operations outside the registry's five.
pub fn router(cp: Arc<ControlPlane>) -> Router {
    let router = Router::new();
    let router = resource::<resources::Api>(router);
    let router = resource::<resources::Integration>(router);
    let router = resource::<resources::IntegrationResponse>(router);
    let router = resource::<resources::Route>(router);
    let router = resource::<resources::RouteResponse>(router);
    let router = resource::<resources::Stage>(router);
    let router = resource::<resources::Deployment>(router);
    let router = resource::<resources::Authorizer>(router);
    let router = removal::<actions::DeleteCorsConfiguration>(router);
    let router = removal::<actions::DeleteRouteRequestParameter>(router);
    let router = removal::<actions::DeleteRouteSettings>(router);
    let router = removal::<actions::DeleteAccessLogSettings>(router);
    router
        .route("/v2/apis/", get(get_api_without_id))
        .route(
            "/v2/apis/{apiId}/stages/{stageName}/cache/authorizers",
            delete(reset_authorizers_cache),
        )
        .route(
            "/v2/tags/{*resourceArn}",
            get(get_tags).post(tag_resource).delete(untag_resource),
        )
        .method_not_allowed_fallback(|| async { WireError::MethodNotAllowed })
        .with_state(cp)
}

/// The five routes of one registry resource: `GET`/`POST` on its collection, `GET`/`PATCH`/
/// `DELETE` on its item; labels are read into its typed ids.
fn resource<R: Resource>(router: Router<Arc<ControlPlane>>) -> Router<Arc<ControlPlane>> {
    router
        .route(R::COLLECTION, get(list::<R>).post(create::<R>))
        .route(
            &item_path::<R>(),
            get(read::<R>).patch(update::<R>).delete(remove::<R>),
        )
}

async fn create<R: Resource>(
    State(cp): Cp,
    Region(r): Region,
    ParentIds(p): ParentIds<R>,
    JsonBody(input): JsonBody<R::Input>,
) -> WireResult {
    ok(StatusCode::CREATED, cp.create::<R>(&r, &p, input).await?)
}

async fn read<R: Resource>(State(cp): Cp, Region(r): Region, ItemIds(i): ItemIds<R>) -> WireResult {
    ok(StatusCode::OK, cp.get::<R>(&r, &i).await?)
}

async fn list<R: Resource>(
    State(cp): Cp,
    Region(r): Region,
    ParentIds(p): ParentIds<R>,
    q: Query,
) -> WireResult {
    ok(StatusCode::OK, cp.list::<R>(&r, &p, &page(&q)).await?)
}

async fn update<R: Resource>(
    State(cp): Cp,
    Region(r): Region,
    ItemIds(i): ItemIds<R>,
    JsonBody(input): JsonBody<R::Input>,
) -> WireResult {
    ok(StatusCode::OK, cp.update::<R>(&r, &i, input).await?)
}

async fn remove<R: Resource>(
    State(cp): Cp,
    Region(r): Region,
    ItemIds(i): ItemIds<R>,
) -> WireResult {
    cp.delete::<R>(&r, &i).await?;
    no_content()
}

/// `DELETE` on the path of a registry `Removal`.
fn removal<A: Removal>(router: Router<Arc<ControlPlane>>) -> Router<Arc<ControlPlane>> {
    router.route(A::PATH, delete(remove_part::<A>))
}

async fn remove_part<A: Removal>(
    State(cp): Cp,
    Region(r): Region,
    RemovalIds(i): RemovalIds<A>,
) -> WireResult {
    cp.remove::<A>(&r, &i).await?;
    no_content()
}

/// The answer for paths no operation serves.
/// The control plane's form of a refusal by the HTTP server (a malformed or too slow request,
/// two `Host`s): `{"message"}`, `x-amzn-ErrorType` (`BadRequestException` for a client
/// error, as the service names malformed requests) and a request id.
pub fn refusal(status: StatusCode) -> Response {
    let mut resp = match status {
        StatusCode::PAYLOAD_TOO_LARGE => WireError::PayloadTooLarge.into_response(),
        _ => {
            let message = status.canonical_reason().unwrap_or("Bad Request");
            let mut resp = (
                status,
                axum::Json(serde_json::json!({ "message": message })),
            )
                .into_response();
            if status.is_client_error() {
                resp.headers_mut().insert(
                    "x-amzn-ErrorType",
                    HeaderValue::from_static("BadRequestException"),
                );
            }
            resp
        }
    };
    if let Ok(v) = HeaderValue::try_from(request_id()) {
        resp.headers_mut().insert(X_AMZN_REQUEST_ID, v);
    }
    resp
}

pub async fn unknown_path(uri: Uri) -> WireError {
    WireError::UnknownPath(uri.path().to_string())
}

// ---- Operations outside the registry's five -------------------------------------------------

/// `GET /v2/apis/` (an empty ApiId): 200 with an empty object (decisions.md).
async fn get_api_without_id() -> WireResult {
    ok(StatusCode::OK, serde_json::json!({}))
}

/// `ResetAuthorizersCache`: 204, or the error of its API or stage.
async fn reset_authorizers_cache(State(cp): Cp, Region(r): Region, l: Labels) -> WireResult {
    cp.reset_authorizers_cache(&r, l.get("apiId"), l.get("stageName"))
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

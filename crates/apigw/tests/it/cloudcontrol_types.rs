//! Cloud Control for the other `AWS::ApiGatewayV2::*` types (Api, Route, RouteResponse, Stage,
//! Deployment, IntegrationResponse) through aws-sdk-cloudcontrol against the real server:
//! create / get / update (JSON Patch, NotUpdatable on createOnly) / list (with and without the
//! parent id) / delete for each, the CFN shapes of their special members, write-only members,
//! and visibility both ways with the apigatewayv2 API.

#![allow(clippy::unwrap_used)]

use aws_sdk_apigatewayv2 as apigw;
use aws_sdk_cloudcontrol as cc;

use apigw::types::ProtocolType;
use cc::types::{HandlerErrorCode, OperationStatus, ProgressEvent};
use serde_json::{json, Value};

use crate::common::{err_code, Server};

const REGION: &str = "ap-southeast-2";
const API: &str = "AWS::ApiGatewayV2::Api";
const ROUTE: &str = "AWS::ApiGatewayV2::Route";
const ROUTE_RESPONSE: &str = "AWS::ApiGatewayV2::RouteResponse";
const INTEGRATION: &str = "AWS::ApiGatewayV2::Integration";
const INTEGRATION_RESPONSE: &str = "AWS::ApiGatewayV2::IntegrationResponse";
const STAGE: &str = "AWS::ApiGatewayV2::Stage";
const DEPLOYMENT: &str = "AWS::ApiGatewayV2::Deployment";

fn cc_code<E, R>(e: &cc::error::SdkError<E, R>) -> (String, String)
where
    E: cc::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match e.as_service_error() {
        Some(se) => (
            se.code().unwrap_or("").to_string(),
            se.message().unwrap_or("").to_string(),
        ),
        None => (format!("not a service error: {e:?}"), String::new()),
    }
}

async fn create_event(c: &cc::Client, type_name: &str, desired: Value) -> ProgressEvent {
    c.create_resource()
        .type_name(type_name)
        .desired_state(desired.to_string())
        .send()
        .await
        .unwrap()
        .progress_event
        .unwrap()
}

/// Creates and returns the identifier; the create must succeed.
async fn create(c: &cc::Client, type_name: &str, desired: Value) -> String {
    let ev = create_event(c, type_name, desired).await;
    assert_eq!(
        ev.operation_status(),
        Some(&OperationStatus::Success),
        "{ev:?}"
    );
    assert_eq!(ev.type_name(), Some(type_name));
    ev.identifier().unwrap().to_string()
}

/// GetResource's Properties, checking the identifier is answered in the string form.
async fn get(c: &cc::Client, type_name: &str, identifier: &str) -> Value {
    let out = c
        .get_resource()
        .type_name(type_name)
        .identifier(identifier)
        .send()
        .await
        .unwrap();
    assert_eq!(out.type_name(), Some(type_name));
    let d = out.resource_description().unwrap();
    let id = d.identifier().unwrap().to_string();
    assert!(!id.starts_with('{'), "{id}");
    serde_json::from_str(d.properties().unwrap()).unwrap()
}

async fn get_missing(c: &cc::Client, type_name: &str, identifier: &str) {
    let e = c
        .get_resource()
        .type_name(type_name)
        .identifier(identifier)
        .send()
        .await
        .unwrap_err();
    assert_eq!(cc_code(&e).0, "ResourceNotFoundException", "{e:?}");
}

async fn update(c: &cc::Client, type_name: &str, identifier: &str, patch: Value) -> ProgressEvent {
    c.update_resource()
        .type_name(type_name)
        .identifier(identifier)
        .patch_document(patch.to_string())
        .send()
        .await
        .unwrap()
        .progress_event
        .unwrap()
}

async fn delete(c: &cc::Client, type_name: &str, identifier: &str) -> ProgressEvent {
    c.delete_resource()
        .type_name(type_name)
        .identifier(identifier)
        .send()
        .await
        .unwrap()
        .progress_event
        .unwrap()
}

/// ListResources → sorted identifiers, or the error code and message.
async fn list(
    c: &cc::Client,
    type_name: &str,
    model: Option<Value>,
) -> Result<Vec<String>, (String, String)> {
    let mut req = c.list_resources().type_name(type_name);
    if let Some(m) = model {
        req = req.resource_model(m.to_string());
    }
    match req.send().await {
        Ok(out) => {
            assert_eq!(out.type_name(), Some(type_name));
            let mut ids: Vec<String> = out
                .resource_descriptions()
                .iter()
                .map(|d| d.identifier().unwrap().to_string())
                .collect();
            ids.sort();
            Ok(ids)
        }
        Err(e) => Err(cc_code(&e)),
    }
}

fn ok(ev: &ProgressEvent) {
    assert_eq!(
        ev.operation_status(),
        Some(&OperationStatus::Success),
        "{ev:?}"
    );
}

fn failed(ev: &ProgressEvent, code: HandlerErrorCode) -> String {
    assert_eq!(
        ev.operation_status(),
        Some(&OperationStatus::Failed),
        "{ev:?}"
    );
    assert_eq!(ev.error_code(), Some(&code), "{ev:?}");
    ev.status_message().unwrap_or_default().to_string()
}

fn missing_parent(type_name: &str, key: &str) -> (String, String) {
    (
        "InvalidRequestException".into(),
        format!("Missing or invalid ResourceModel property in {type_name} list handler request input.Required property: (#: required key [{key}] not found)"),
    )
}

async fn ws_api(v2: &apigw::Client) -> String {
    v2.create_api()
        .name("ws")
        .protocol_type(ProtocolType::Websocket)
        .route_selection_expression("$request.body.action")
        .send()
        .await
        .unwrap()
        .api_id
        .unwrap()
}

#[tokio::test]
async fn api_lifecycle() {
    let server = Server::start();
    let v2 = server.client(REGION);
    let c = server.cc_client(REGION);

    let id = create(
        &c,
        API,
        json!({
            "Name": "pets",
            "ProtocolType": "HTTP",
            "Description": "via cloud control",
            "DisableSchemaValidation": true,
            "FailOnWarnings": true,
            "CorsConfiguration": {"AllowOrigins": ["https://example.com"], "MaxAge": 60},
            "Tags": {"team": "a"}
        }),
    )
    .await;
    assert!(!id.contains('|'), "{id}");
    let p = get(&c, API, &id).await;
    assert_eq!(p["ApiId"], id);
    assert_eq!(p["Name"], "pets");
    assert_eq!(p["ProtocolType"], "HTTP");
    assert_eq!(
        p["RouteSelectionExpression"],
        "$request.method $request.path"
    );
    assert_eq!(
        p["ApiEndpoint"],
        format!("https://{id}.execute-api.{REGION}.amazonaws.com")
    );
    assert_eq!(
        p["ExecuteApiArn"],
        format!("arn:aws:execute-api:{REGION}:000000000000:{id}")
    );
    assert_eq!(
        p["CorsConfiguration"],
        json!({"AllowOrigins": ["https://example.com"], "MaxAge": 60})
    );
    assert_eq!(p["Tags"], json!({"team": "a"}));
    // API-only members are not schema properties; write-only ones are never read back.
    assert!(p.get("CreatedDate").is_none(), "{p}");
    assert!(p.get("DisableSchemaValidation").is_none(), "{p}");

    // Visible through apigatewayv2.
    let got = v2.get_api().api_id(&id).send().await.unwrap();
    assert_eq!(got.description(), Some("via cloud control"));
    assert_eq!(
        got.cors_configuration().unwrap().allow_origins(),
        ["https://example.com".to_string()]
    );
    assert_eq!(got.tags().unwrap()["team"], "a");

    // Update: replace, remove (cleared), add.
    ok(&update(
        &c,
        API,
        &id,
        json!([
            {"op": "replace", "path": "/Name", "value": "cats"},
            {"op": "remove", "path": "/Description"},
            {"op": "add", "path": "/Version", "value": "v2"},
            {"op": "replace", "path": "/CorsConfiguration/MaxAge", "value": 120}
        ]),
    )
    .await);
    let got = v2.get_api().api_id(&id).send().await.unwrap();
    assert_eq!(got.name(), Some("cats"));
    assert_eq!(got.description(), None);
    assert_eq!(got.version(), Some("v2"));
    assert_eq!(got.cors_configuration().unwrap().max_age(), Some(120));
    assert_eq!(
        got.disable_schema_validation(),
        Some(true),
        "write-only members the patch does not mention stay"
    );
    let msg = failed(
        &update(
            &c,
            API,
            &id,
            json!([{"op": "replace", "path": "/ProtocolType", "value": "WEBSOCKET"}]),
        )
        .await,
        HandlerErrorCode::NotUpdatable,
    );
    assert!(msg.contains("/ProtocolType"), "{msg}");
    failed(
        &update(
            &c,
            API,
            &id,
            json!([{"op": "replace", "path": "/ApiEndpoint", "value": "x"}]),
        )
        .await,
        HandlerErrorCode::InvalidRequest,
    );
    // The service's own rules apply: a bad CORS method.
    failed(
        &update(
            &c,
            API,
            &id,
            json!([{"op": "add", "path": "/CorsConfiguration/AllowMethods", "value": ["FETCH"]}]),
        )
        .await,
        HandlerErrorCode::InvalidRequest,
    );

    // Quick create: Target and RouteKey are write-only and build the managed children.
    let quick = create(
        &c,
        API,
        json!({"Name": "quick", "ProtocolType": "HTTP", "Target": "https://example.com", "RouteKey": "GET /q"}),
    )
    .await;
    let routes = v2.get_routes().api_id(&quick).send().await.unwrap();
    assert_eq!(routes.items()[0].route_key(), Some("GET /q"));
    let p = get(&c, API, &quick).await;
    assert!(
        p.get("Target").is_none() && p.get("RouteKey").is_none(),
        "{p}"
    );

    // OpenAPI import is refused plainly.
    let msg = failed(
        &create_event(&c, API, json!({"Body": {"openapi": "3.0.1"}})).await,
        HandlerErrorCode::InvalidRequest,
    );
    assert!(msg.contains("not supported"), "{msg}");
    let msg = failed(
        &create_event(
            &c,
            API,
            json!({"Name": "x", "ProtocolType": "HTTP", "Bogus": 1}),
        )
        .await,
        HandlerErrorCode::InvalidRequest,
    );
    assert!(msg.contains("extraneous key [Bogus]"), "{msg}");

    // One made through apigatewayv2 is listed; Api needs no ResourceModel.
    let other = v2
        .create_api()
        .name("v2")
        .protocol_type(ProtocolType::Http)
        .send()
        .await
        .unwrap()
        .api_id
        .unwrap();
    assert_eq!(get(&c, API, &other).await["Name"], "v2");
    let mut want = vec![id.clone(), quick.clone(), other.clone()];
    want.sort();
    assert_eq!(list(&c, API, None).await.unwrap(), want);

    ok(&delete(&c, API, &id).await);
    get_missing(&c, API, &id).await;
    let e = v2.get_api().api_id(&id).send().await.unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    failed(&delete(&c, API, &id).await, HandlerErrorCode::NotFound);
}

#[tokio::test]
async fn route_and_route_response_lifecycle() {
    let server = Server::start();
    let v2 = server.client(REGION);
    let c = server.cc_client(REGION);
    let api = ws_api(&v2).await;
    let integration = create(
        &c,
        INTEGRATION,
        json!({"ApiId": api, "IntegrationType": "MOCK"}),
    )
    .await;
    let integration_id = integration.split_once('|').unwrap().1.to_string();

    let route = create(
        &c,
        ROUTE,
        json!({
            "ApiId": api,
            "RouteKey": "sendMessage",
            "Target": format!("integrations/{integration_id}"),
            "RouteResponseSelectionExpression": "$default",
            "RequestParameters": {"route.request.querystring.token": {"Required": true}},
            "RequestModels": "{\"application/json\": \"Message\"}"
        }),
    )
    .await;
    let (api_part, route_id) = route.split_once('|').unwrap();
    assert_eq!(api_part, api);
    let p = get(&c, ROUTE, &route).await;
    assert_eq!(p["RouteId"], route_id);
    assert_eq!(p["RouteKey"], "sendMessage");
    assert_eq!(p["AuthorizationType"], "NONE");
    assert_eq!(p["RequestModels"], json!({"application/json": "Message"}));
    assert!(p.get("RequestParameters").is_none(), "write-only: {p}");
    let json_id = json!({"RouteId": route_id, "ApiId": api}).to_string();
    assert_eq!(get(&c, ROUTE, &json_id).await, p);

    // The API shape: `{key: {required}}`.
    let got = v2
        .get_route()
        .api_id(&api)
        .route_id(route_id)
        .send()
        .await
        .unwrap();
    let rp = got.request_parameters().unwrap();
    assert_eq!(rp["route.request.querystring.token"].required(), Some(true));

    ok(&update(
        &c,
        ROUTE,
        &route,
        json!([
            {"op": "replace", "path": "/RouteKey", "value": "chat"},
            {"op": "remove", "path": "/RequestModels"}
        ]),
    )
    .await);
    let got = v2
        .get_route()
        .api_id(&api)
        .route_id(route_id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.route_key(), Some("chat"));
    assert!(got.request_models().is_none());
    assert!(
        got.request_parameters().is_some(),
        "write-only RequestParameters survive a patch that does not touch them"
    );
    ok(&update(
        &c,
        ROUTE,
        &route,
        json!([{"op": "remove", "path": "/RequestParameters"}]),
    )
    .await);
    let got = v2
        .get_route()
        .api_id(&api)
        .route_id(route_id)
        .send()
        .await
        .unwrap();
    assert!(got.request_parameters().is_none());
    failed(
        &update(
            &c,
            ROUTE,
            &route,
            json!([{"op": "replace", "path": "/ApiId", "value": "other"}]),
        )
        .await,
        HandlerErrorCode::NotUpdatable,
    );
    // Referential integrity from the same model code: a target that does not exist.
    failed(
        &update(
            &c,
            ROUTE,
            &route,
            json!([{"op": "replace", "path": "/Target", "value": "integrations/nope123"}]),
        )
        .await,
        HandlerErrorCode::InvalidRequest,
    );
    failed(
        &create_event(&c, ROUTE, json!({"ApiId": api})).await,
        HandlerErrorCode::InvalidRequest,
    );

    // A route made through apigatewayv2 is listed with the CC-made one.
    let connect = v2
        .create_route()
        .api_id(&api)
        .route_key("$connect")
        .send()
        .await
        .unwrap()
        .route_id
        .unwrap();
    let mut want = vec![route.clone(), format!("{api}|{connect}")];
    want.sort();
    assert_eq!(
        list(&c, ROUTE, Some(json!({"ApiId": api}))).await.unwrap(),
        want
    );
    assert_eq!(
        list(&c, ROUTE, None).await.unwrap_err(),
        missing_parent(ROUTE, "ApiId")
    );

    // RouteResponse: ResponseParameters keep their keys, values are {Required}.
    let rr = create(
        &c,
        ROUTE_RESPONSE,
        json!({
            "ApiId": api,
            "RouteId": route_id,
            "RouteResponseKey": "$default",
            "ResponseParameters": {"route.response.header.x-a": {"Required": false}},
            "ResponseModels": {"application/json": "Reply"}
        }),
    )
    .await;
    let parts: Vec<&str> = rr.split('|').collect();
    assert_eq!(parts.len(), 3, "{rr}");
    assert_eq!(&parts[..2], [api.as_str(), route_id]);
    let p = get(&c, ROUTE_RESPONSE, &rr).await;
    assert_eq!(
        p["ResponseParameters"],
        json!({"route.response.header.x-a": {"Required": false}})
    );
    assert_eq!(p["RouteResponseId"], parts[2]);
    let json_id =
        json!({"RouteResponseId": parts[2], "ApiId": api, "RouteId": route_id}).to_string();
    assert_eq!(get(&c, ROUTE_RESPONSE, &json_id).await, p);
    let got = v2
        .get_route_response()
        .api_id(&api)
        .route_id(route_id)
        .route_response_id(parts[2])
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.response_parameters().unwrap()["route.response.header.x-a"].required(),
        Some(false)
    );
    ok(&update(
        &c,
        ROUTE_RESPONSE,
        &rr,
        json!([
            {"op": "remove", "path": "/ResponseModels"},
            {"op": "add", "path": "/ModelSelectionExpression", "value": "$request.body.kind"}
        ]),
    )
    .await);
    let got = v2
        .get_route_response()
        .api_id(&api)
        .route_id(route_id)
        .route_response_id(parts[2])
        .send()
        .await
        .unwrap();
    assert!(got.response_models().is_none());
    assert_eq!(got.model_selection_expression(), Some("$request.body.kind"));
    failed(
        &update(
            &c,
            ROUTE_RESPONSE,
            &rr,
            json!([{"op": "replace", "path": "/RouteId", "value": "x"}]),
        )
        .await,
        HandlerErrorCode::NotUpdatable,
    );
    assert_eq!(
        list(
            &c,
            ROUTE_RESPONSE,
            Some(json!({"ApiId": api, "RouteId": route_id}))
        )
        .await
        .unwrap(),
        vec![rr.clone()]
    );
    assert_eq!(
        list(&c, ROUTE_RESPONSE, Some(json!({"ApiId": api})))
            .await
            .unwrap_err(),
        missing_parent(ROUTE_RESPONSE, "RouteId")
    );

    ok(&delete(&c, ROUTE_RESPONSE, &rr).await);
    get_missing(&c, ROUTE_RESPONSE, &rr).await;
    ok(&delete(&c, ROUTE, &route).await);
    get_missing(&c, ROUTE, &route).await;
    let e = v2
        .get_route()
        .api_id(&api)
        .route_id(route_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
}

#[tokio::test]
async fn integration_response_lifecycle() {
    let server = Server::start();
    let v2 = server.client(REGION);
    let c = server.cc_client(REGION);
    let api = ws_api(&v2).await;
    let integration = v2
        .create_integration()
        .api_id(&api)
        .integration_type(apigw::types::IntegrationType::Mock)
        .send()
        .await
        .unwrap()
        .integration_id
        .unwrap();

    let ir = create(
        &c,
        INTEGRATION_RESPONSE,
        json!({
            "ApiId": api,
            "IntegrationId": integration,
            "IntegrationResponseKey": "$default",
            "ContentHandlingStrategy": "CONVERT_TO_TEXT",
            "ResponseTemplates": {"application/json": "{\"ok\": true}"},
            "ResponseParameters": "{\"method.response.header.x-id\": \"integration.response.header.id\"}"
        }),
    )
    .await;
    let parts: Vec<&str> = ir.split('|').collect();
    assert_eq!(&parts[..2], [api.as_str(), integration.as_str()]);
    let p = get(&c, INTEGRATION_RESPONSE, &ir).await;
    assert_eq!(p["IntegrationResponseKey"], "$default");
    assert_eq!(p["ContentHandlingStrategy"], "CONVERT_TO_TEXT");
    // Given as a JSON string, read back as the object; keys are user data.
    assert_eq!(
        p["ResponseParameters"],
        json!({"method.response.header.x-id": "integration.response.header.id"})
    );
    assert_eq!(
        p["ResponseTemplates"],
        json!({"application/json": "{\"ok\": true}"})
    );
    let got = v2
        .get_integration_response()
        .api_id(&api)
        .integration_id(&integration)
        .integration_response_id(parts[2])
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.response_templates().unwrap()["application/json"],
        "{\"ok\": true}"
    );
    assert_eq!(
        got.response_parameters().unwrap()["method.response.header.x-id"],
        "integration.response.header.id"
    );

    ok(&update(
        &c,
        INTEGRATION_RESPONSE,
        &ir,
        json!([
            {"op": "replace", "path": "/IntegrationResponseKey", "value": "/4\\d\\d/"},
            {"op": "remove", "path": "/ResponseTemplates"},
            {"op": "remove", "path": "/ContentHandlingStrategy"},
            {"op": "add", "path": "/ResponseParameters/method.response.header.x-b", "value": "'static'"}
        ]),
    )
    .await);
    let got = v2
        .get_integration_response()
        .api_id(&api)
        .integration_id(&integration)
        .integration_response_id(parts[2])
        .send()
        .await
        .unwrap();
    assert_eq!(got.integration_response_key(), Some("/4\\d\\d/"));
    assert!(got.response_templates().is_none());
    assert!(got.content_handling_strategy().is_none());
    assert_eq!(got.response_parameters().unwrap().len(), 2);
    assert_eq!(
        got.response_parameters().unwrap()["method.response.header.x-b"],
        "'static'"
    );
    failed(
        &update(
            &c,
            INTEGRATION_RESPONSE,
            &ir,
            json!([{"op": "replace", "path": "/IntegrationId", "value": "x"}]),
        )
        .await,
        HandlerErrorCode::NotUpdatable,
    );
    failed(
        &update(
            &c,
            INTEGRATION_RESPONSE,
            &ir,
            json!([{"op": "replace", "path": "/IntegrationResponseKey", "value": "bad"}]),
        )
        .await,
        HandlerErrorCode::InvalidRequest,
    );

    // One made through apigatewayv2 is listed too.
    let made = v2
        .create_integration_response()
        .api_id(&api)
        .integration_id(&integration)
        .integration_response_key("$default")
        .send()
        .await
        .unwrap()
        .integration_response_id
        .unwrap();
    let mut want = vec![ir.clone(), format!("{api}|{integration}|{made}")];
    want.sort();
    let model = json!({"ApiId": api, "IntegrationId": integration});
    assert_eq!(
        list(&c, INTEGRATION_RESPONSE, Some(model)).await.unwrap(),
        want
    );
    assert_eq!(
        list(&c, INTEGRATION_RESPONSE, Some(json!({"ApiId": api})))
            .await
            .unwrap_err(),
        missing_parent(INTEGRATION_RESPONSE, "IntegrationId")
    );

    // The service's rule: HTTP APIs have no integration responses.
    let http = crate::common::http_api(&v2).await;
    let http_integration = crate::common::http_proxy(&v2, &http).await;
    failed(
        &create_event(
            &c,
            INTEGRATION_RESPONSE,
            json!({"ApiId": http, "IntegrationId": http_integration, "IntegrationResponseKey": "$default"}),
        )
        .await,
        HandlerErrorCode::InvalidRequest,
    );

    ok(&delete(&c, INTEGRATION_RESPONSE, &ir).await);
    get_missing(&c, INTEGRATION_RESPONSE, &ir).await;
    failed(
        &delete(&c, INTEGRATION_RESPONSE, &ir).await,
        HandlerErrorCode::NotFound,
    );
}

#[tokio::test]
async fn stage_and_deployment_lifecycle() {
    let server = Server::start();
    let v2 = server.client(REGION);
    let c = server.cc_client(REGION);
    let api = crate::common::http_api(&v2).await;
    let integration = crate::common::http_proxy(&v2, &api).await;
    v2.create_route()
        .api_id(&api)
        .route_key("GET /x")
        .target(format!("integrations/{integration}"))
        .send()
        .await
        .unwrap();

    // Deployment.
    let dep = create(
        &c,
        DEPLOYMENT,
        json!({"ApiId": api, "Description": "first"}),
    )
    .await;
    let (_, dep_id) = dep.split_once('|').unwrap();
    let p = get(&c, DEPLOYMENT, &dep).await;
    assert_eq!(
        p,
        json!({"ApiId": api, "DeploymentId": dep_id, "Description": "first"})
    );
    let got = v2
        .get_deployment()
        .api_id(&api)
        .deployment_id(dep_id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.description(), Some("first"));

    // Stage, with every special member.
    let stage = create(
        &c,
        STAGE,
        json!({
            "ApiId": api,
            "StageName": "prod",
            "DeploymentId": dep_id,
            "Description": "production",
            "StageVariables": {"backend": "b1"},
            "RouteSettings": {"GET /x": {"ThrottlingBurstLimit": 10, "ThrottlingRateLimit": 2.5}},
            "DefaultRouteSettings": {"DetailedMetricsEnabled": true},
            "AccessLogSettings": {
                "DestinationArn": "arn:aws:logs:ap-southeast-2:123456789012:log-group:access",
                "Format": "$context.requestId"
            },
            "Tags": {"env": "prod"}
        }),
    )
    .await;
    assert_eq!(stage, format!("{api}|prod"));
    let p = get(&c, STAGE, &stage).await;
    assert_eq!(p["StageName"], "prod");
    assert_eq!(p["DeploymentId"], dep_id);
    assert_eq!(
        p["RouteSettings"],
        json!({"GET /x": {"ThrottlingBurstLimit": 10, "ThrottlingRateLimit": 2.5}})
    );
    assert_eq!(p["DefaultRouteSettings"]["DetailedMetricsEnabled"], true);
    assert_eq!(p["AccessLogSettings"]["Format"], "$context.requestId");
    assert_eq!(p["StageVariables"], json!({"backend": "b1"}));
    assert!(p.get("CreatedDate").is_none(), "{p}");
    let got = v2
        .get_stage()
        .api_id(&api)
        .stage_name("prod")
        .send()
        .await
        .unwrap();
    assert_eq!(got.deployment_id(), Some(dep_id));
    assert_eq!(
        got.route_settings().unwrap()["GET /x"].throttling_burst_limit(),
        Some(10)
    );
    assert_eq!(got.stage_variables().unwrap()["backend"], "b1");
    assert_eq!(
        got.access_log_settings().unwrap().destination_arn(),
        Some("arn:aws:logs:ap-southeast-2:123456789012:log-group:access")
    );
    assert_eq!(got.tags().unwrap()["env"], "prod");

    // JSON-typed properties may also be given as a JSON string.
    let dev = create(
        &c,
        STAGE,
        json!({"ApiId": api, "StageName": "dev", "StageVariables": "{\"backend\": \"b2\"}"}),
    )
    .await;
    let got = v2
        .get_stage()
        .api_id(&api)
        .stage_name("dev")
        .send()
        .await
        .unwrap();
    assert_eq!(got.stage_variables().unwrap()["backend"], "b2");
    let msg = failed(
        &create_event(&c, STAGE, json!({"ApiId": api, "StageName": "dev"})).await,
        HandlerErrorCode::AlreadyExists,
    );
    assert!(msg.contains("already exists"), "{msg}");
    failed(
        &create_event(
            &c,
            STAGE,
            json!({"ApiId": api, "StageName": "bad", "StageVariables": {"a": "spaces are bad"}}),
        )
        .await,
        HandlerErrorCode::InvalidRequest,
    );

    ok(&update(
        &c,
        STAGE,
        &stage,
        json!([
            {"op": "remove", "path": "/StageVariables"},
            {"op": "remove", "path": "/AccessLogSettings"},
            {"op": "replace", "path": "/Description", "value": "live"},
            {"op": "replace", "path": "/RouteSettings/GET ~1x/ThrottlingBurstLimit", "value": 20}
        ]),
    )
    .await);
    let got = v2
        .get_stage()
        .api_id(&api)
        .stage_name("prod")
        .send()
        .await
        .unwrap();
    assert_eq!(got.description(), Some("live"));
    assert!(got.stage_variables().is_none_or(|v| v.is_empty()));
    assert!(got.access_log_settings().is_none());
    assert_eq!(
        got.route_settings().unwrap()["GET /x"].throttling_burst_limit(),
        Some(20)
    );
    let msg = failed(
        &update(
            &c,
            STAGE,
            &stage,
            json!([{"op": "replace", "path": "/StageName", "value": "other"}]),
        )
        .await,
        HandlerErrorCode::NotUpdatable,
    );
    assert!(msg.contains("/StageName"), "{msg}");

    // An auto-deploy stage: its DeploymentId is the service's and may be echoed back.
    let auto = create(
        &c,
        STAGE,
        json!({"ApiId": api, "StageName": "$default", "AutoDeploy": true}),
    )
    .await;
    assert_eq!(auto, format!("{api}|$default"));
    let p = get(&c, STAGE, &auto).await;
    assert!(p["DeploymentId"].is_string(), "{p}");
    ok(&update(
        &c,
        STAGE,
        &auto,
        json!([{"op": "add", "path": "/Description", "value": "auto"}]),
    )
    .await);
    assert_eq!(
        get(&c, STAGE, &auto).await["DeploymentId"],
        p["DeploymentId"]
    );

    // Deployment: StageName is write-only and points that stage at the deployment.
    let second = create(&c, DEPLOYMENT, json!({"ApiId": api, "StageName": "dev"})).await;
    let (_, second_id) = second.split_once('|').unwrap();
    assert!(get(&c, DEPLOYMENT, &second)
        .await
        .get("StageName")
        .is_none());
    let got = v2
        .get_stage()
        .api_id(&api)
        .stage_name("dev")
        .send()
        .await
        .unwrap();
    assert_eq!(got.deployment_id(), Some(second_id));
    ok(&update(
        &c,
        DEPLOYMENT,
        &dep,
        json!([{"op": "remove", "path": "/Description"}]),
    )
    .await);
    let got = v2
        .get_deployment()
        .api_id(&api)
        .deployment_id(dep_id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.description(), None);
    failed(
        &update(
            &c,
            DEPLOYMENT,
            &dep,
            json!([{"op": "replace", "path": "/ApiId", "value": "x"}]),
        )
        .await,
        HandlerErrorCode::NotUpdatable,
    );
    // A deployment a stage points at cannot go (the service's rule).
    failed(
        &delete(&c, DEPLOYMENT, &dep).await,
        HandlerErrorCode::InvalidRequest,
    );

    let stages = list(&c, STAGE, Some(json!({"ApiId": api}))).await.unwrap();
    let mut want = vec![stage.clone(), dev.clone(), auto.clone()];
    want.sort();
    assert_eq!(stages, want);
    assert_eq!(
        list(&c, STAGE, None).await.unwrap_err(),
        missing_parent(STAGE, "ApiId")
    );
    let deployments = list(&c, DEPLOYMENT, Some(json!({"ApiId": api})))
        .await
        .unwrap();
    assert!(deployments.contains(&dep) && deployments.contains(&second));
    assert_eq!(
        list(&c, DEPLOYMENT, Some(json!({}))).await.unwrap_err(),
        missing_parent(DEPLOYMENT, "ApiId")
    );

    ok(&delete(&c, STAGE, &stage).await);
    get_missing(&c, STAGE, &stage).await;
    let e = v2
        .get_stage()
        .api_id(&api)
        .stage_name("prod")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    ok(&delete(&c, DEPLOYMENT, &dep).await);
    get_missing(&c, DEPLOYMENT, &dep).await;
}

#[tokio::test]
async fn unsupported_types_and_bad_identifiers() {
    let server = Server::start();
    let c = server.cc_client(REGION);
    for t in ["AWS::ApiGatewayV2::VpcLink", "AWS::ApiGateway::RestApi"] {
        let e = c.list_resources().type_name(t).send().await.unwrap_err();
        assert_eq!(cc_code(&e).0, "TypeNotFoundException", "{t}");
    }
    // Too few parts for the type's primary identifier.
    get_missing(&c, ROUTE_RESPONSE, "a|b").await;
    get_missing(&c, STAGE, r#"{"ApiId":"a"}"#).await;
    get_missing(&c, API, "nosuchapi0").await;
}

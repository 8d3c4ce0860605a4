//! Route, RouteResponse and DeleteRouteRequestParameter through the real SDK against the real
//! server: defaults, route-key grammar per protocol, uniqueness, targets, update semantics,
//! cascading deletes, pagination and the route quota.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeSet, HashMap};

use aws_sdk_apigatewayv2 as apigw;

use apigw::types::{AuthorizationType, ParameterConstraints, ProtocolType};

use crate::common::*;

const REGION: &str = "us-east-1";

fn bad(code_msg: (String, String)) -> String {
    assert_eq!(code_msg.0, "BadRequestException", "message: {}", code_msg.1);
    code_msg.1
}

fn required(r: bool) -> ParameterConstraints {
    ParameterConstraints::builder().required(r).build()
}

async fn route(c: &apigw::Client, api: &str, key: &str) -> String {
    c.create_route()
        .api_id(api)
        .route_key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{key}: {:?}", err_code(&e)))
        .route_id
        .unwrap()
}

// ---- create / defaults -------------------------------------------------------------------

#[tokio::test]
async fn create_route_defaults_and_absent_members() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;

    let out = c
        .create_route()
        .api_id(&api)
        .route_key("GET /pets")
        .send()
        .await
        .unwrap();
    let id = out.route_id().unwrap().to_string();
    assert_eq!(id.len(), 7, "{id}");
    assert_eq!(out.route_key(), Some("GET /pets"));
    assert_eq!(out.api_key_required(), Some(false));
    assert_eq!(out.authorization_type(), Some(&AuthorizationType::None));
    assert_eq!(out.target(), None);
    assert_eq!(out.authorizer_id(), None);
    assert!(out.authorization_scopes().is_empty());
    assert_eq!(out.request_parameters(), None);
    assert_eq!(out.api_gateway_managed(), None);

    let got = c
        .get_route()
        .api_id(&api)
        .route_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.route_id(), Some(id.as_str()));
    assert_eq!(got.route_key(), Some("GET /pets"));
    assert_eq!(got.api_key_required(), Some(false));
    assert_eq!(got.authorization_type(), Some(&AuthorizationType::None));

    // On the wire: 201, and unset members are omitted (not null).
    let r = raw(
        server.addr,
        "POST",
        &format!("/v2/apis/{api}/routes"),
        br#"{"routeKey":"POST /pets"}"#,
        REGION,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let j = r.json();
    assert_eq!(j["apiKeyRequired"], false);
    assert_eq!(j["authorizationType"], "NONE");
    assert_eq!(j["routeKey"], "POST /pets");
    let obj = j.as_object().unwrap();
    for absent in [
        "target",
        "authorizerId",
        "authorizationScopes",
        "apiGatewayManaged",
        "modelSelectionExpression",
        "operationName",
        "requestModels",
        "requestParameters",
        "routeResponseSelectionExpression",
    ] {
        assert!(!obj.contains_key(absent), "{absent} present in {j}");
    }
    let r = raw(
        server.addr,
        "GET",
        &format!("/v2/apis/{api}/routes/{id}"),
        b"",
        REGION,
    );
    assert_eq!(r.status, 200);
    assert!(r.json().get("target").is_none());

    // Every member given is echoed.
    let integ = http_proxy(&c, &api).await;
    let full = c
        .create_route()
        .api_id(&api)
        .route_key("ANY /full/{proxy+}")
        .target(format!("integrations/{integ}"))
        .api_key_required(true)
        .authorization_type(AuthorizationType::AwsIam)
        .operation_name("FullOp")
        .request_parameters("route.request.querystring.q", required(true))
        .send()
        .await
        .unwrap();
    assert_eq!(
        full.target(),
        Some(format!("integrations/{integ}").as_str())
    );
    assert_eq!(full.api_key_required(), Some(true));
    assert_eq!(full.authorization_type(), Some(&AuthorizationType::AwsIam));
    assert_eq!(full.operation_name(), Some("FullOp"));
    assert_eq!(
        full.request_parameters().unwrap()["route.request.querystring.q"].required(),
        Some(true)
    );

    // routeKey is required.
    let r = raw(
        server.addr,
        "POST",
        &format!("/v2/apis/{api}/routes"),
        b"{}",
        REGION,
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["message"], "RouteKey is required");
}

#[tokio::test]
async fn http_route_key_syntax() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;

    for key in [
        "$default",
        "GET /",
        "ANY /pets/{id}",
        "POST /a/{proxy+}",
        "GET /a/b-c_d",
        "DELETE /x",
        "HEAD /x",
        "OPTIONS /x",
        "PATCH /x",
        "PUT /x",
        "GET /{proxy+}",
    ] {
        let out = c
            .create_route()
            .api_id(&api)
            .route_key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{key}: {:?}", err_code(&e)));
        assert_eq!(out.route_key(), Some(key));
    }
    for key in [
        "FETCH /x", "GET pets", "GET", "get /x", "GET /{}", "GET //x", "GET /a b", "$connect",
        "GET /{id", "",
    ] {
        let e = c
            .create_route()
            .api_id(&api)
            .route_key(key)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            bad(err_code(&e)),
            format!("Invalid route key specified: {key}"),
            "{key}"
        );
    }
    // A greedy variable must come last.
    let e = c
        .create_route()
        .api_id(&api)
        .route_key("GET /{proxy+}/x")
        .send()
        .await
        .unwrap_err();
    let msg = bad(err_code(&e));
    assert!(
        msg.starts_with("Invalid route key specified: GET /{proxy+}/x"),
        "{msg}"
    );
    assert!(
        msg.contains("greedy path variable must be the last path segment"),
        "{msg}"
    );

    let list = c.get_routes().api_id(&api).send().await.unwrap();
    assert_eq!(list.items().len(), 11);
}

#[tokio::test]
async fn websocket_route_key_syntax() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = ws_api(&c).await;

    for key in [
        "$connect",
        "$disconnect",
        "$default",
        "sendMessage",
        "join room",
        "a/b",
    ] {
        route(&c, &api, key).await;
    }
    for key in ["$other", "$Connect", "$"] {
        let e = c
            .create_route()
            .api_id(&api)
            .route_key(key)
            .send()
            .await
            .unwrap_err();
        let msg = bad(err_code(&e));
        assert!(
            msg.starts_with(&format!("Invalid route key specified: {key}")),
            "{key}: {msg}"
        );
    }
    for key in ["", &"k".repeat(129)] {
        let e = c
            .create_route()
            .api_id(&api)
            .route_key(key)
            .send()
            .await
            .unwrap_err();
        bad(err_code(&e));
    }
    route(&c, &api, &"k".repeat(128)).await;

    // WebSocket selection expressions on routes are checked.
    let out = c
        .create_route()
        .api_id(&api)
        .route_key("withExpr")
        .route_response_selection_expression("$default")
        .model_selection_expression("${request.body.type}")
        .send()
        .await
        .unwrap();
    assert_eq!(out.route_response_selection_expression(), Some("$default"));
    assert_eq!(
        out.model_selection_expression(),
        Some("${request.body.type}")
    );
    let e = c
        .create_route()
        .api_id(&api)
        .route_key("badExpr")
        .route_response_selection_expression("$bogus.x")
        .send()
        .await
        .unwrap_err();
    bad(err_code(&e));

    assert_eq!(
        c.get_routes()
            .api_id(&api)
            .send()
            .await
            .unwrap()
            .items()
            .len(),
        8
    );
}

#[tokio::test]
async fn duplicate_route_key_is_conflict() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;

    route(&c, &api, "GET /a").await;
    route(&c, &api, "POST /a").await; // another method is another key
    route(&c, &api, "GET /a/{id}").await;
    let e = c
        .create_route()
        .api_id(&api)
        .route_key("GET /a")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err_code(&e),
        (
            "ConflictException".into(),
            "Route with key GET /a already exists for this API".into()
        )
    );
    let r = raw(
        server.addr,
        "POST",
        &format!("/v2/apis/{api}/routes"),
        br#"{"routeKey":"GET /a"}"#,
        REGION,
    );
    assert_eq!(r.status, 409);
    assert_eq!(r.header("x-amzn-ErrorType"), Some("ConflictException"));
    route(&c, &api, "$default").await;
    let e = c
        .create_route()
        .api_id(&api)
        .route_key("$default")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "ConflictException");

    // The same key in another API is fine.
    let other = http_api(&c).await;
    route(&c, &other, "GET /a").await;

    assert_eq!(
        c.get_routes()
            .api_id(&api)
            .send()
            .await
            .unwrap()
            .items()
            .len(),
        4
    );
}

#[tokio::test]
async fn route_target_must_name_an_existing_integration_of_the_api() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;
    let integ = http_proxy(&c, &api).await;

    let out = c
        .create_route()
        .api_id(&api)
        .route_key("GET /ok")
        .target(format!("integrations/{integ}"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.target(), Some(format!("integrations/{integ}").as_str()));

    for target in [
        integ.as_str(),
        "foo/bar",
        "integrations/",
        "integrations",
        "integrations/a/b",
        "lambda/xyz",
    ] {
        let e = c
            .create_route()
            .api_id(&api)
            .route_key("GET /bad")
            .target(target)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            bad(err_code(&e)),
            format!("Invalid target specified: {target}. A route target must be of the form integrations/{{integrationId}}"),
            "{target}"
        );
    }
    let e = c
        .create_route()
        .api_id(&api)
        .route_key("GET /bad")
        .target("integrations/nope123")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "Invalid target specified: integrations/nope123. Integration nope123 does not exist in this API"
    );
    // An integration of another API does not count.
    let other = http_api(&c).await;
    let foreign = http_proxy(&c, &other).await;
    let e = c
        .create_route()
        .api_id(&api)
        .route_key("GET /bad")
        .target(format!("integrations/{foreign}"))
        .send()
        .await
        .unwrap_err();
    bad(err_code(&e));
    // A deleted integration does not count either.
    let deleted = http_proxy(&c, &api).await;
    c.delete_integration()
        .api_id(&api)
        .integration_id(&deleted)
        .send()
        .await
        .unwrap();
    let e = c
        .create_route()
        .api_id(&api)
        .route_key("GET /bad")
        .target(format!("integrations/{deleted}"))
        .send()
        .await
        .unwrap_err();
    bad(err_code(&e));

    let list = c.get_routes().api_id(&api).send().await.unwrap();
    assert_eq!(list.items().len(), 1, "failed creates stored nothing");
}

#[tokio::test]
async fn authorization_rules() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;
    let auth1 = jwt_authorizer(&c, &api, "auth1").await;

    for (ty, want) in [
        (
            AuthorizationType::Jwt,
            "Invalid authorizer ID specified. Setting the authorization type to JWT requires a valid JWT authorizer.",
        ),
        (
            AuthorizationType::Custom,
            "Invalid authorizer ID specified. Setting the authorization type to CUSTOM or COGNITO_USER_POOLS requires a valid authorizer.",
        ),
    ] {
        let e = c
            .create_route()
            .api_id(&api)
            .route_key("GET /x")
            .authorization_type(ty.clone())
            .send()
            .await
            .unwrap_err();
        assert_eq!(bad(err_code(&e)), want);
    }
    let e = c
        .create_route()
        .api_id(&api)
        .route_key("GET /x")
        .authorizer_id(&auth1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "AuthorizerId can only be set when the authorization type is CUSTOM or JWT"
    );
    let e = c
        .create_route()
        .api_id(&api)
        .route_key("GET /x")
        .authorization_type(AuthorizationType::from("COGNITO"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "Invalid authorization type specified. Must be one of [NONE, AWS_IAM, CUSTOM, JWT]"
    );
    let out = c
        .create_route()
        .api_id(&api)
        .route_key("GET /x")
        .authorization_type(AuthorizationType::Jwt)
        .authorizer_id(&auth1)
        .authorization_scopes("read")
        .authorization_scopes("write")
        .send()
        .await
        .unwrap();
    assert_eq!(out.authorizer_id(), Some(auth1.as_str()));
    assert_eq!(
        out.authorization_scopes(),
        ["read".to_string(), "write".to_string()]
    );
    assert_eq!(
        c.get_routes()
            .api_id(&api)
            .send()
            .await
            .unwrap()
            .items()
            .len(),
        1
    );
}

#[tokio::test]
async fn authorizer_can_be_removed_from_a_route() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;
    let auth1 = jwt_authorizer(&c, &api, "auth1").await;
    let auth2 = lambda_authorizer(&c, &api, "auth2", true).await;
    let id = c
        .create_route()
        .api_id(&api)
        .route_key("GET /secure")
        .authorization_type(AuthorizationType::Jwt)
        .authorizer_id(&auth1)
        .send()
        .await
        .unwrap()
        .route_id
        .unwrap();

    // Clearing the authorizer alone leaves a JWT route without one: refused.
    let e = c
        .update_route()
        .api_id(&api)
        .route_id(&id)
        .authorizer_id("")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "Invalid authorizer ID specified. Setting the authorization type to JWT requires a valid JWT authorizer."
    );
    // NONE plus an empty authorizerId (what Terraform sends) turns authorization off.
    let upd = c
        .update_route()
        .api_id(&api)
        .route_id(&id)
        .authorization_type(AuthorizationType::None)
        .authorizer_id("")
        .send()
        .await
        .unwrap();
    assert_eq!(upd.authorization_type(), Some(&AuthorizationType::None));
    assert_eq!(upd.authorizer_id(), None);
    let j = raw(
        server.addr,
        "GET",
        &format!("/v2/apis/{api}/routes/{id}"),
        b"",
        REGION,
    )
    .json();
    assert_eq!(j["authorizationType"], "NONE");
    assert!(j.get("authorizerId").is_none(), "{j}");
    // And back on again.
    let upd = c
        .update_route()
        .api_id(&api)
        .route_id(&id)
        .authorization_type(AuthorizationType::Custom)
        .authorizer_id(&auth2)
        .send()
        .await
        .unwrap();
    assert_eq!(upd.authorizer_id(), Some(auth2.as_str()));
}

// ---- get / update / delete -----------------------------------------------------------------

#[tokio::test]
async fn unknown_route_and_unknown_api_are_not_found() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;

    let want = (
        "NotFoundException".to_string(),
        "Invalid Route identifier specified nope123".to_string(),
    );
    let e = c
        .get_route()
        .api_id(&api)
        .route_id("nope123")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e), want);
    let e = c
        .update_route()
        .api_id(&api)
        .route_id("nope123")
        .route_key("GET /x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e), want);
    let e = c
        .delete_route()
        .api_id(&api)
        .route_id("nope123")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e), want);
    let e = c
        .delete_route_request_parameter()
        .api_id(&api)
        .route_id("nope123")
        .request_parameter_key("route.request.header.a")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e), want);
    let e = c
        .create_route_response()
        .api_id(&api)
        .route_id("nope123")
        .route_response_key("$default")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e), want);
    let e = c
        .get_route_responses()
        .api_id(&api)
        .route_id("nope123")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e), want);

    let want = (
        "NotFoundException".to_string(),
        "Invalid API identifier specified 000000000000:noapi".to_string(),
    );
    let e = c
        .create_route()
        .api_id("noapi")
        .route_key("GET /x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e), want);
    let e = c
        .get_route()
        .api_id("noapi")
        .route_id("r")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e), want);
    let e = c.get_routes().api_id("noapi").send().await.unwrap_err();
    assert_eq!(err_code(&e), want);
    let e = c
        .update_route()
        .api_id("noapi")
        .route_id("r")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e), want);
    let e = c
        .delete_route()
        .api_id("noapi")
        .route_id("r")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e), want);
}

#[tokio::test]
async fn update_route_changes_key_and_keeps_other_members() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;
    let integ = http_proxy(&c, &api).await;
    let target = format!("integrations/{integ}");

    let created = c
        .create_route()
        .api_id(&api)
        .route_key("GET /old")
        .target(&target)
        .api_key_required(true)
        .operation_name("Op")
        .authorization_type(AuthorizationType::AwsIam)
        .request_parameters("route.request.header.h", required(true))
        .send()
        .await
        .unwrap();
    let id = created.route_id().unwrap().to_string();
    let other = route(&c, &api, "GET /taken").await;

    let upd = c
        .update_route()
        .api_id(&api)
        .route_id(&id)
        .route_key("PUT /new/{id}")
        .send()
        .await
        .unwrap();
    assert_eq!(upd.route_id(), Some(id.as_str()));
    assert_eq!(upd.route_key(), Some("PUT /new/{id}"));
    assert_eq!(upd.target(), Some(target.as_str()));
    assert_eq!(upd.api_key_required(), Some(true));
    assert_eq!(upd.operation_name(), Some("Op"));
    assert_eq!(upd.authorization_type(), Some(&AuthorizationType::AwsIam));
    assert_eq!(upd.request_parameters().unwrap().len(), 1);
    let got = c
        .get_route()
        .api_id(&api)
        .route_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.route_key(), Some("PUT /new/{id}"));
    assert_eq!(got.target(), Some(target.as_str()));

    // The old key is free again.
    route(&c, &api, "GET /old").await;

    // Updating to a key another route has → Conflict, nothing changes.
    let path = format!("/v2/apis/{api}/routes/{id}");
    let before = raw(server.addr, "GET", &path, b"", REGION).json();
    let e = c
        .update_route()
        .api_id(&api)
        .route_id(&id)
        .route_key("GET /taken")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err_code(&e),
        (
            "ConflictException".into(),
            "Route with key GET /taken already exists for this API".into()
        )
    );
    // Invalid key, invalid target, missing integration → BadRequest, nothing changes.
    let e = c
        .update_route()
        .api_id(&api)
        .route_id(&id)
        .route_key("FETCH /x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(bad(err_code(&e)), "Invalid route key specified: FETCH /x");
    let e = c
        .update_route()
        .api_id(&api)
        .route_id(&id)
        .operation_name("Changed")
        .target("nope")
        .send()
        .await
        .unwrap_err();
    bad(err_code(&e));
    let e = c
        .update_route()
        .api_id(&api)
        .route_id(&id)
        .operation_name("Changed")
        .target("integrations/missing")
        .send()
        .await
        .unwrap_err();
    bad(err_code(&e));
    let e = c
        .update_route()
        .api_id(&api)
        .route_id(&id)
        .authorization_type(AuthorizationType::Jwt)
        .send()
        .await
        .unwrap_err();
    bad(err_code(&e));
    assert_eq!(raw(server.addr, "GET", &path, b"", REGION).json(), before);
    let got_other = c
        .get_route()
        .api_id(&api)
        .route_id(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(got_other.route_key(), Some("GET /taken"));

    // Updating to its own key is not a conflict.
    let upd = c
        .update_route()
        .api_id(&api)
        .route_id(&id)
        .route_key("PUT /new/{id}")
        .send()
        .await
        .unwrap();
    assert_eq!(upd.route_key(), Some("PUT /new/{id}"));

    // Other members change independently; an empty target detaches the route.
    let upd = c
        .update_route()
        .api_id(&api)
        .route_id(&id)
        .api_key_required(false)
        .operation_name("Op2")
        .send()
        .await
        .unwrap();
    assert_eq!(upd.api_key_required(), Some(false));
    assert_eq!(upd.operation_name(), Some("Op2"));
    assert_eq!(upd.route_key(), Some("PUT /new/{id}"));
    assert_eq!(upd.target(), Some(target.as_str()));
    let upd = c
        .update_route()
        .api_id(&api)
        .route_id(&id)
        .target("")
        .send()
        .await
        .unwrap();
    assert_eq!(upd.target(), None);
    let r = raw(server.addr, "GET", &path, b"", REGION).json();
    assert!(r.get("target").is_none(), "{r}");
    // Detached, the integration can be deleted.
    c.delete_integration()
        .api_id(&api)
        .integration_id(&integ)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn managed_route_key_cannot_change() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = c
        .create_api()
        .name("quick")
        .protocol_type(ProtocolType::Http)
        .target("https://example.com")
        .route_key("GET /quick")
        .send()
        .await
        .unwrap()
        .api_id
        .unwrap();
    let routes = c.get_routes().api_id(&api).send().await.unwrap();
    assert_eq!(routes.items().len(), 1);
    let managed = &routes.items()[0];
    assert_eq!(managed.route_key(), Some("GET /quick"));
    assert_eq!(managed.api_gateway_managed(), Some(true));
    assert!(managed.target().unwrap().starts_with("integrations/"));
    let id = managed.route_id().unwrap().to_string();

    let e = c
        .update_route()
        .api_id(&api)
        .route_id(&id)
        .route_key("GET /other")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "Cannot modify the route key of a route managed by API Gateway"
    );
    // Other members may change; the key stays.
    let upd = c
        .update_route()
        .api_id(&api)
        .route_id(&id)
        .operation_name("Q")
        .send()
        .await
        .unwrap();
    assert_eq!(upd.operation_name(), Some("Q"));
    assert_eq!(upd.route_key(), Some("GET /quick"));
    assert_eq!(upd.api_gateway_managed(), Some(true));
    // A new route may not take the managed route's key.
    let e = c
        .create_route()
        .api_id(&api)
        .route_key("GET /quick")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "ConflictException");
}

#[tokio::test]
async fn delete_route_deletes_its_route_responses() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = ws_api(&c).await;
    let rid = route(&c, &api, "sendMessage").await;
    let keep = route(&c, &api, "$default").await;

    let rr = c
        .create_route_response()
        .api_id(&api)
        .route_id(&rid)
        .route_response_key("$default")
        .send()
        .await
        .unwrap()
        .route_response_id
        .unwrap();
    let kept_rr = c
        .create_route_response()
        .api_id(&api)
        .route_id(&keep)
        .route_response_key("$default")
        .send()
        .await
        .unwrap()
        .route_response_id
        .unwrap();

    let r = raw(
        server.addr,
        "DELETE",
        &format!("/v2/apis/{api}/routes/{rid}"),
        b"",
        REGION,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(r.body.is_empty());

    let e = c
        .get_route()
        .api_id(&api)
        .route_id(&rid)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err_code(&e),
        (
            "NotFoundException".into(),
            format!("Invalid Route identifier specified {rid}")
        )
    );
    let e = c
        .get_route_response()
        .api_id(&api)
        .route_id(&rid)
        .route_response_id(&rr)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    let e = c
        .get_route_responses()
        .api_id(&api)
        .route_id(&rid)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    let e = c
        .delete_route()
        .api_id(&api)
        .route_id(&rid)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");

    // The other route and its response are untouched.
    let got = c
        .get_route_response()
        .api_id(&api)
        .route_id(&keep)
        .route_response_id(&kept_rr)
        .send()
        .await
        .unwrap();
    assert_eq!(got.route_response_key(), Some("$default"));
    let list = c.get_routes().api_id(&api).send().await.unwrap();
    let ids: Vec<&str> = list.items().iter().filter_map(|r| r.route_id()).collect();
    assert_eq!(ids, [keep.as_str()]);

    // The key is free again, and the new route starts with no responses.
    let again = route(&c, &api, "sendMessage").await;
    let rrs = c
        .get_route_responses()
        .api_id(&api)
        .route_id(&again)
        .send()
        .await
        .unwrap();
    assert!(rrs.items().is_empty());
}

#[tokio::test]
async fn delete_route_request_parameter() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = ws_api(&c).await;

    let id = c
        .create_route()
        .api_id(&api)
        .route_key("$connect")
        .request_parameters("route.request.header.Auth", required(true))
        .request_parameters("route.request.querystring.token", required(false))
        .send()
        .await
        .unwrap()
        .route_id
        .unwrap();
    let got = c
        .get_route()
        .api_id(&api)
        .route_id(&id)
        .send()
        .await
        .unwrap();
    let params = got.request_parameters().unwrap();
    assert_eq!(params.len(), 2);
    assert_eq!(params["route.request.header.Auth"].required(), Some(true));
    assert_eq!(
        params["route.request.querystring.token"].required(),
        Some(false)
    );

    c.delete_route_request_parameter()
        .api_id(&api)
        .route_id(&id)
        .request_parameter_key("route.request.header.Auth")
        .send()
        .await
        .unwrap();
    let got = c
        .get_route()
        .api_id(&api)
        .route_id(&id)
        .send()
        .await
        .unwrap();
    let params = got.request_parameters().unwrap();
    assert_eq!(
        params.keys().collect::<Vec<_>>(),
        ["route.request.querystring.token"]
    );
    assert_eq!(
        got.route_key(),
        Some("$connect"),
        "the rest of the route is untouched"
    );

    // Absent key → NotFound.
    let e = c
        .delete_route_request_parameter()
        .api_id(&api)
        .route_id(&id)
        .request_parameter_key("route.request.header.Auth")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err_code(&e),
        (
            "NotFoundException".into(),
            "Invalid request parameter key specified route.request.header.Auth".into()
        )
    );

    // On the wire: 204; removing the last one removes the member.
    let r = raw(
        server.addr,
        "DELETE",
        &format!("/v2/apis/{api}/routes/{id}/requestparameters/route.request.querystring.token"),
        b"",
        REGION,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let got = c
        .get_route()
        .api_id(&api)
        .route_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.request_parameters(), None);
    let j = raw(
        server.addr,
        "GET",
        &format!("/v2/apis/{api}/routes/{id}"),
        b"",
        REGION,
    )
    .json();
    assert!(j.get("requestParameters").is_none(), "{j}");

    // A route that never had parameters.
    let plain = route(&c, &api, "plain").await;
    let e = c
        .delete_route_request_parameter()
        .api_id(&api)
        .route_id(&plain)
        .request_parameter_key("route.request.header.x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
}

// ---- route responses -----------------------------------------------------------------------

#[tokio::test]
async fn route_response_crud() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = ws_api(&c).await;
    let rid = c
        .create_route()
        .api_id(&api)
        .route_key("$default")
        .route_response_selection_expression("$default")
        .send()
        .await
        .unwrap()
        .route_id
        .unwrap();

    let created = c
        .create_route_response()
        .api_id(&api)
        .route_id(&rid)
        .route_response_key("$default")
        .model_selection_expression("$request.body.type")
        .response_models("application/json", "Reply")
        .response_parameters("method.response.header.X-A", required(false))
        .send()
        .await
        .unwrap();
    let rr = created.route_response_id().unwrap().to_string();
    assert_eq!(created.route_response_key(), Some("$default"));
    assert_eq!(
        created.model_selection_expression(),
        Some("$request.body.type")
    );
    assert_eq!(
        created.response_models().unwrap(),
        &HashMap::from([("application/json".to_string(), "Reply".to_string())])
    );
    assert_eq!(
        created.response_parameters().unwrap()["method.response.header.X-A"].required(),
        Some(false)
    );

    // Raw create is 201; a bare route response omits its unset members.
    let r = raw(
        server.addr,
        "POST",
        &format!("/v2/apis/{api}/routes/{rid}/routeresponses"),
        br#"{"routeResponseKey":"error"}"#,
        REGION,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let j = r.json();
    assert_eq!(j["routeResponseKey"], "error");
    for absent in [
        "modelSelectionExpression",
        "responseModels",
        "responseParameters",
    ] {
        assert!(j.get(absent).is_none(), "{absent} in {j}");
    }
    let rr2 = j["routeResponseId"].as_str().unwrap().to_string();

    let got = c
        .get_route_response()
        .api_id(&api)
        .route_id(&rid)
        .route_response_id(&rr)
        .send()
        .await
        .unwrap();
    assert_eq!(got.route_response_id(), Some(rr.as_str()));
    assert_eq!(got.route_response_key(), Some("$default"));
    assert_eq!(got.response_models(), created.response_models());

    let list = c
        .get_route_responses()
        .api_id(&api)
        .route_id(&rid)
        .send()
        .await
        .unwrap();
    let mut keys: Vec<&str> = list
        .items()
        .iter()
        .filter_map(|r| r.route_response_key())
        .collect();
    keys.sort();
    assert_eq!(keys, ["$default", "error"]);
    let p1 = c
        .get_route_responses()
        .api_id(&api)
        .route_id(&rid)
        .max_results("1")
        .send()
        .await
        .unwrap();
    assert_eq!(p1.items().len(), 1);
    let p2 = c
        .get_route_responses()
        .api_id(&api)
        .route_id(&rid)
        .max_results("1")
        .next_token(p1.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(p2.items().len(), 1);
    assert_eq!(p2.next_token(), None);
    assert_ne!(
        p1.items()[0].route_response_id(),
        p2.items()[0].route_response_id()
    );

    // Duplicate key on create and on update.
    let e = c
        .create_route_response()
        .api_id(&api)
        .route_id(&rid)
        .route_response_key("$default")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err_code(&e),
        (
            "ConflictException".into(),
            "A route response with key $default already exists for this route".into()
        )
    );
    let e = c
        .update_route_response()
        .api_id(&api)
        .route_id(&rid)
        .route_response_id(&rr2)
        .route_response_key("$default")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "ConflictException");
    // Reserved keys.
    let e = c
        .create_route_response()
        .api_id(&api)
        .route_id(&rid)
        .route_response_key("$other")
        .send()
        .await
        .unwrap_err();
    assert!(bad(err_code(&e)).starts_with("Invalid route response key specified: $other."));

    // Update: key changes, other members kept; then a member changes, key kept.
    let upd = c
        .update_route_response()
        .api_id(&api)
        .route_id(&rid)
        .route_response_id(&rr)
        .route_response_key("ok")
        .send()
        .await
        .unwrap();
    assert_eq!(upd.route_response_key(), Some("ok"));
    assert_eq!(upd.model_selection_expression(), Some("$request.body.type"));
    assert_eq!(upd.response_models(), created.response_models());
    let upd = c
        .update_route_response()
        .api_id(&api)
        .route_id(&rid)
        .route_response_id(&rr)
        .model_selection_expression("$request.body.kind")
        .send()
        .await
        .unwrap();
    assert_eq!(upd.route_response_key(), Some("ok"));
    assert_eq!(upd.model_selection_expression(), Some("$request.body.kind"));
    let got = c
        .get_route_response()
        .api_id(&api)
        .route_id(&rid)
        .route_response_id(&rr)
        .send()
        .await
        .unwrap();
    assert_eq!(got.route_response_key(), Some("ok"));
    assert_eq!(got.model_selection_expression(), Some("$request.body.kind"));
    // $default is free again.
    c.create_route_response()
        .api_id(&api)
        .route_id(&rid)
        .route_response_key("$default")
        .send()
        .await
        .unwrap();

    // Delete → get/update/delete NotFound with the RouteResponse message.
    c.delete_route_response()
        .api_id(&api)
        .route_id(&rid)
        .route_response_id(&rr)
        .send()
        .await
        .unwrap();
    let want = (
        "NotFoundException".to_string(),
        format!("Invalid RouteResponse identifier specified {rr}"),
    );
    let e = c
        .get_route_response()
        .api_id(&api)
        .route_id(&rid)
        .route_response_id(&rr)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e), want);
    let e = c
        .update_route_response()
        .api_id(&api)
        .route_id(&rid)
        .route_response_id(&rr)
        .route_response_key("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e), want);
    let e = c
        .delete_route_response()
        .api_id(&api)
        .route_id(&rid)
        .route_response_id(&rr)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e), want);
    let e = c
        .get_route_response()
        .api_id(&api)
        .route_id(&rid)
        .route_response_id("nope12")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err_code(&e),
        (
            "NotFoundException".into(),
            "Invalid RouteResponse identifier specified nope12".into()
        )
    );
    let list = c
        .get_route_responses()
        .api_id(&api)
        .route_id(&rid)
        .send()
        .await
        .unwrap();
    assert_eq!(list.items().len(), 2);

    // The routeResponseKey member is required.
    let r = raw(
        server.addr,
        "POST",
        &format!("/v2/apis/{api}/routes/{rid}/routeresponses"),
        b"{}",
        REGION,
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["message"], "RouteResponseKey is required");
}

// ---- pagination and quota -------------------------------------------------------------------

#[tokio::test]
async fn get_routes_pagination() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;
    let mut created = BTreeSet::new();
    for i in 0..7 {
        created.insert(route(&c, &api, &format!("GET /r{i}")).await);
    }

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut req = c.get_routes().api_id(&api).max_results("2");
        if let Some(t) = &token {
            req = req.next_token(t);
        }
        let page = req.send().await.unwrap();
        pages += 1;
        assert!(
            !page.items().is_empty() && page.items().len() <= 2,
            "page {pages}: {}",
            page.items().len()
        );
        seen.extend(
            page.items()
                .iter()
                .map(|r| r.route_id().unwrap().to_string()),
        );
        match page.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 4);
    assert_eq!(seen.len(), 7);
    let unique: BTreeSet<String> = seen.into_iter().collect();
    assert_eq!(unique, created);

    // A route deleted between pages is simply not seen; the walk still ends.
    let first = c
        .get_routes()
        .api_id(&api)
        .max_results("3")
        .send()
        .await
        .unwrap();
    let first_ids: BTreeSet<String> = first
        .items()
        .iter()
        .map(|r| r.route_id().unwrap().to_string())
        .collect();
    let victim = created
        .iter()
        .find(|id| !first_ids.contains(*id))
        .unwrap()
        .clone();
    c.delete_route()
        .api_id(&api)
        .route_id(&victim)
        .send()
        .await
        .unwrap();
    let mut rest = BTreeSet::new();
    let mut token = first.next_token().map(str::to_string);
    while let Some(t) = token {
        let page = c
            .get_routes()
            .api_id(&api)
            .max_results("3")
            .next_token(t)
            .send()
            .await
            .unwrap();
        for r in page.items() {
            assert!(rest.insert(r.route_id().unwrap().to_string()));
        }
        token = page.next_token().map(str::to_string);
    }
    assert!(first_ids.is_disjoint(&rest));
    assert_eq!(first_ids.len() + rest.len(), 6);
    assert!(!rest.contains(&victim));

    for bad_max in ["0", "501", "x"] {
        let e = c
            .get_routes()
            .api_id(&api)
            .max_results(bad_max)
            .send()
            .await
            .unwrap_err();
        assert!(bad(err_code(&e)).starts_with(&format!("Invalid maxResults specified: {bad_max}.")));
    }
    let r = raw(
        server.addr,
        "GET",
        &format!("/v2/apis/{api}/routes?maxResults=abc"),
        b"",
        REGION,
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.header("x-amzn-ErrorType"), Some("BadRequestException"));
}

#[tokio::test]
async fn route_quota_is_300_per_api() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = ws_api(&c).await;

    let mut tasks = Vec::new();
    for i in 0..300 {
        let c = c.clone();
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            route(&c, &api, &format!("action{i}")).await
        }));
    }
    let mut ids = BTreeSet::new();
    for t in tasks {
        ids.insert(t.await.unwrap());
    }
    assert_eq!(ids.len(), 300);
    let e = c
        .create_route()
        .api_id(&api)
        .route_key("one-too-many")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err_code(&e),
        (
            "TooManyRequestsException".into(),
            "Maximum number of routes per API reached: 300".into()
        )
    );
    assert_eq!(
        c.get_routes()
            .api_id(&api)
            .send()
            .await
            .unwrap()
            .items()
            .len(),
        300
    );
    // Deleting one frees one slot.
    c.delete_route()
        .api_id(&api)
        .route_id(ids.iter().next().unwrap())
        .send()
        .await
        .unwrap();
    route(&c, &api, "one-too-many").await;
    let e = c
        .create_route()
        .api_id(&api)
        .route_key("again")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "TooManyRequestsException");
}

#[tokio::test]
async fn concurrent_creates_of_one_key_yield_exactly_one_route() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;

    let mut tasks = Vec::new();
    for _ in 0..20 {
        let c = c.clone();
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            c.create_route()
                .api_id(&api)
                .route_key("GET /race")
                .send()
                .await
        }));
    }
    let (mut ok, mut conflicts) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => {
                assert_eq!(err_code(&e).0, "ConflictException");
                conflicts += 1;
            }
        }
    }
    assert_eq!((ok, conflicts), (1, 19));
    let list = c.get_routes().api_id(&api).send().await.unwrap();
    assert_eq!(list.items().len(), 1);
}

#[tokio::test]
async fn routes_are_regional() {
    let server = Server::start();
    let east = server.client(REGION);
    let west = server.client("eu-west-1");
    let api = http_api(&east).await;
    let id = route(&east, &api, "GET /x").await;

    let e = west
        .get_route()
        .api_id(&api)
        .route_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err_code(&e),
        (
            "NotFoundException".into(),
            format!("Invalid API identifier specified 000000000000:{api}")
        )
    );
    let e = west
        .create_route()
        .api_id(&api)
        .route_key("GET /y")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    east.get_route()
        .api_id(&api)
        .route_id(&id)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn route_member_length_limits() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;

    let out = c
        .create_route()
        .api_id(&api)
        .route_key("GET /a")
        .operation_name("o".repeat(64))
        .send()
        .await
        .unwrap();
    assert_eq!(out.operation_name().map(str::len), Some(64));
    let e = c
        .create_route()
        .api_id(&api)
        .route_key("GET /b")
        .operation_name("o".repeat(65))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "Invalid operationName specified. Length must be between 1 and 64 characters"
    );
    let e = c
        .create_route()
        .api_id(&api)
        .route_key("GET /b")
        .authorization_type(AuthorizationType::Jwt)
        .authorizer_id("a1")
        .authorization_scopes("s".repeat(65))
        .send()
        .await
        .unwrap_err();
    bad(err_code(&e));
    let e = c
        .create_route()
        .api_id(&api)
        .route_key("GET /b")
        .target(format!("integrations/{}", "i".repeat(120)))
        .send()
        .await
        .unwrap_err();
    bad(err_code(&e));
    assert_eq!(
        c.get_routes()
            .api_id(&api)
            .send()
            .await
            .unwrap()
            .items()
            .len(),
        1
    );
}

//! Stage and Deployment operations, including auto-deploy, through the real SDK.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use apigw::types::{AccessLogSettings, DeploymentStatus, LoggingLevel, RouteSettings};
use aws_sdk_apigatewayv2 as apigw;

use crate::common::{err_code, http_api, http_proxy, raw, ws_api, Server};

/// An HTTP API with one integration and one route; returns (api, integration).
async fn routed_http_api(c: &apigw::Client) -> (String, String) {
    let api = http_api(c).await;
    let integ = http_proxy(c, &api).await;
    c.create_route()
        .api_id(&api)
        .route_key("GET /pets")
        .target(format!("integrations/{integ}"))
        .send()
        .await
        .unwrap();
    (api, integ)
}

#[tokio::test]
async fn http_stage_defaults() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let api = http_api(&c).await;
    let s = c
        .create_stage()
        .api_id(&api)
        .stage_name("dev")
        .send()
        .await
        .unwrap();
    assert_eq!(s.stage_name(), Some("dev"));
    let drs = s.default_route_settings().unwrap();
    assert_eq!(drs.detailed_metrics_enabled(), Some(false));
    assert_eq!(drs.data_trace_enabled(), None);
    assert_eq!(drs.logging_level(), None);
    assert!(s.route_settings().unwrap().is_empty());
    assert!(s.stage_variables().unwrap().is_empty());
    assert!(s.tags().unwrap().is_empty());
    assert!(s.created_date().is_some());
    assert_eq!(s.created_date(), s.last_updated_date());
    assert!(s.deployment_id().is_none());
    assert!(s.api_gateway_managed().is_none());
    assert!(s.auto_deploy().is_none() || s.auto_deploy() == Some(false));

    // The wire document: the four maps present even when empty, nothing null.
    let r = raw(
        server.addr,
        "GET",
        &format!("/v2/apis/{api}/stages/dev"),
        b"",
        "us-east-1",
    );
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(
        v["defaultRouteSettings"],
        serde_json::json!({"detailedMetricsEnabled": false})
    );
    assert_eq!(v["routeSettings"], serde_json::json!({}));
    assert_eq!(v["stageVariables"], serde_json::json!({}));
    assert_eq!(v["tags"], serde_json::json!({}));
    assert_eq!(v["createdDate"], v["lastUpdatedDate"]);
    assert!(!r.body.contains("null"), "{}", r.body);

    let g = c
        .get_stage()
        .api_id(&api)
        .stage_name("dev")
        .send()
        .await
        .unwrap();
    assert_eq!(g.created_date(), s.created_date());
    assert_eq!(g.default_route_settings(), s.default_route_settings());
}

#[tokio::test]
async fn websocket_stage_defaults() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let api = ws_api(&c).await;
    let s = c
        .create_stage()
        .api_id(&api)
        .stage_name("production")
        .send()
        .await
        .unwrap();
    let drs = s.default_route_settings().unwrap();
    assert_eq!(drs.data_trace_enabled(), Some(false));
    assert_eq!(drs.detailed_metrics_enabled(), Some(false));
    assert_eq!(drs.logging_level(), Some(&LoggingLevel::Off));
    assert_eq!(s.created_date(), s.last_updated_date());
    assert!(s.route_settings().unwrap().is_empty());
    assert!(s.stage_variables().unwrap().is_empty());
}

#[tokio::test]
async fn stage_full_create_and_list() {
    let server = Server::start();
    let c = server.client("us-east-1");
    // Route settings must name an existing route ("GET /pets").
    let (api, _) = routed_http_api(&c).await;
    let s = c
        .create_stage()
        .api_id(&api)
        .stage_name("prod")
        .description("production")
        .stage_variables("lambdaAlias", "live")
        .stage_variables("url", "https://example.com/a?b=c&d=e#f")
        .default_route_settings(
            RouteSettings::builder()
                .throttling_burst_limit(100)
                .throttling_rate_limit(50.5)
                .build(),
        )
        .route_settings(
            "GET /pets",
            RouteSettings::builder()
                .detailed_metrics_enabled(true)
                .build(),
        )
        .access_log_settings(
            AccessLogSettings::builder()
                .destination_arn("arn:aws:logs:us-east-1:123456789012:log-group:my-group")
                .format("$context.requestId")
                .build(),
        )
        .tags("k", "v")
        .send()
        .await
        .unwrap();
    assert_eq!(s.description(), Some("production"));
    let vars = s.stage_variables().unwrap();
    assert_eq!(vars.len(), 2);
    assert_eq!(vars["lambdaAlias"], "live");
    assert_eq!(vars["url"], "https://example.com/a?b=c&d=e#f");
    let drs = s.default_route_settings().unwrap();
    assert_eq!(drs.throttling_burst_limit(), Some(100));
    assert_eq!(drs.throttling_rate_limit(), Some(50.5));
    assert_eq!(
        s.route_settings().unwrap()["GET /pets"].detailed_metrics_enabled(),
        Some(true)
    );
    let log = s.access_log_settings().unwrap();
    assert_eq!(
        log.destination_arn(),
        Some("arn:aws:logs:us-east-1:123456789012:log-group:my-group")
    );
    assert_eq!(log.format(), Some("$context.requestId"));
    assert_eq!(s.tags().unwrap()["k"], "v");

    c.create_stage()
        .api_id(&api)
        .stage_name("beta")
        .send()
        .await
        .unwrap();
    c.create_stage()
        .api_id(&api)
        .stage_name("alpha")
        .send()
        .await
        .unwrap();
    let all = c.get_stages().api_id(&api).send().await.unwrap();
    let names: HashSet<&str> = all
        .items()
        .iter()
        .map(|s| s.stage_name().unwrap())
        .collect();
    assert_eq!(names, HashSet::from(["prod", "beta", "alpha"]));

    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let p = c
            .get_stages()
            .api_id(&api)
            .max_results("1")
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert_eq!(p.items().len(), 1);
        seen.extend(
            p.items()
                .iter()
                .map(|s| s.stage_name().unwrap().to_string()),
        );
        token = p.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 3);
    assert_eq!(
        seen.iter().map(String::as_str).collect::<HashSet<_>>(),
        names
    );
}

#[tokio::test]
async fn duplicate_stage_is_conflict() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let api = http_api(&c).await;
    c.create_stage()
        .api_id(&api)
        .stage_name("dev")
        .description("first")
        .send()
        .await
        .unwrap();
    let e = c
        .create_stage()
        .api_id(&api)
        .stage_name("dev")
        .description("second")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "ConflictException");
    let s = c
        .get_stage()
        .api_id(&api)
        .stage_name("dev")
        .send()
        .await
        .unwrap();
    assert_eq!(s.description(), Some("first"));
    // The same name on another API is fine.
    let other = http_api(&c).await;
    c.create_stage()
        .api_id(&other)
        .stage_name("dev")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn bad_stage_names_rejected() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let api = http_api(&c).await;
    for bad in [
        "",
        "has space",
        "dollar$sign",
        "$custom",
        "slash/name",
        "dot.name",
        &"s".repeat(129),
    ] {
        let e = c
            .create_stage()
            .api_id(&api)
            .stage_name(bad)
            .send()
            .await
            .unwrap_err();
        assert_eq!(err_code(&e).0, "BadRequestException", "stage name {bad:?}");
    }
    for good in ["a", "Prod_2", "my-stage", &"s".repeat(128)] {
        c.create_stage()
            .api_id(&api)
            .stage_name(good)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(
        c.get_stages()
            .api_id(&api)
            .send()
            .await
            .unwrap()
            .items()
            .len(),
        4
    );
    // Stage on an unknown API.
    let e = c
        .create_stage()
        .api_id("nosuchapi1")
        .stage_name("dev")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
}

#[tokio::test]
async fn stage_variable_rules() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let api = http_api(&c).await;
    let bad_names = ["bad-name", "has space", "dot.name", ""];
    for n in bad_names {
        let e = c
            .create_stage()
            .api_id(&api)
            .stage_name("s")
            .stage_variables(n, "v")
            .send()
            .await
            .unwrap_err();
        assert_eq!(err_code(&e).0, "BadRequestException", "variable name {n:?}");
    }
    let bad_values = [
        "has space",
        "quote\"",
        "semi;colon",
        "brace{",
        &"v".repeat(2049),
    ];
    for v in bad_values {
        let e = c
            .create_stage()
            .api_id(&api)
            .stage_name("s")
            .stage_variables("n", v)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            err_code(&e).0,
            "BadRequestException",
            "variable value {v:?}"
        );
    }
    let s = c
        .create_stage()
        .api_id(&api)
        .stage_name("s")
        .stage_variables("name_1", "A-z0.9_~:/?#&=,")
        .stage_variables("long", "v".repeat(2048))
        .send()
        .await
        .unwrap();
    assert_eq!(s.stage_variables().unwrap()["name_1"], "A-z0.9_~:/?#&=,");
    // UpdateStage checks them too and leaves the stage as it was.
    let e = c
        .update_stage()
        .api_id(&api)
        .stage_name("s")
        .stage_variables("x", "bad value")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");
    let g = c
        .get_stage()
        .api_id(&api)
        .stage_name("s")
        .send()
        .await
        .unwrap();
    assert_eq!(g.stage_variables().unwrap().len(), 2);
}

#[tokio::test]
async fn unknown_stage_is_not_found() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let api = http_api(&c).await;
    let e = c
        .get_stage()
        .api_id(&api)
        .stage_name("nope")
        .send()
        .await
        .unwrap_err();
    let (code, msg) = err_code(&e);
    assert_eq!(code, "NotFoundException");
    assert_eq!(msg, "Invalid stage identifier specified");
    let e = c
        .update_stage()
        .api_id(&api)
        .stage_name("nope")
        .description("d")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err_code(&e),
        (
            "NotFoundException".into(),
            "Invalid stage identifier specified".into()
        )
    );
    let e = c
        .delete_stage()
        .api_id(&api)
        .stage_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err_code(&e),
        (
            "NotFoundException".into(),
            "Invalid stage identifier specified".into()
        )
    );
    let e = c
        .delete_access_log_settings()
        .api_id(&api)
        .stage_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    let e = c
        .get_stage()
        .api_id("nosuchapi1")
        .stage_name("nope")
        .send()
        .await
        .unwrap_err();
    let (code, msg) = err_code(&e);
    assert_eq!(code, "NotFoundException");
    assert!(msg.starts_with("Invalid API identifier specified"), "{msg}");
}

#[tokio::test]
async fn update_and_delete_stage() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let api = http_api(&c).await;
    let s = c
        .create_stage()
        .api_id(&api)
        .stage_name("dev")
        .stage_variables("a", "1")
        .send()
        .await
        .unwrap();
    let created = *s.created_date().unwrap();
    let before = *s.last_updated_date().unwrap();
    // Timestamps have one-second resolution: make sure a move would be visible.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let u = c
        .update_stage()
        .api_id(&api)
        .stage_name("dev")
        .description("now described")
        .default_route_settings(
            RouteSettings::builder()
                .detailed_metrics_enabled(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(u.description(), Some("now described"));
    assert_eq!(
        u.default_route_settings()
            .unwrap()
            .detailed_metrics_enabled(),
        Some(true)
    );
    assert_eq!(
        u.stage_variables().unwrap()["a"],
        "1",
        "members not given are kept"
    );
    assert_eq!(u.created_date(), Some(&created));
    let after = *u.last_updated_date().unwrap();
    assert!(
        after > before,
        "lastUpdatedDate moves: {before:?} -> {after:?}"
    );

    let g = c
        .get_stage()
        .api_id(&api)
        .stage_name("dev")
        .send()
        .await
        .unwrap();
    assert_eq!(g.description(), Some("now described"));
    assert_eq!(g.last_updated_date(), Some(&after));

    let r = raw(
        server.addr,
        "DELETE",
        &format!("/v2/apis/{api}/stages/dev"),
        b"",
        "us-east-1",
    );
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    let e = c
        .get_stage()
        .api_id(&api)
        .stage_name("dev")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    assert!(c
        .get_stages()
        .api_id(&api)
        .send()
        .await
        .unwrap()
        .items()
        .is_empty());
}

#[tokio::test]
async fn stage_deployment_id_must_exist() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let (api, _) = routed_http_api(&c).await;
    let e = c
        .create_stage()
        .api_id(&api)
        .stage_name("dev")
        .deployment_id("nodep1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    assert!(c
        .get_stages()
        .api_id(&api)
        .send()
        .await
        .unwrap()
        .items()
        .is_empty());

    c.create_stage()
        .api_id(&api)
        .stage_name("dev")
        .send()
        .await
        .unwrap();
    let e = c
        .update_stage()
        .api_id(&api)
        .stage_name("dev")
        .deployment_id("nodep1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    assert!(c
        .get_stage()
        .api_id(&api)
        .stage_name("dev")
        .send()
        .await
        .unwrap()
        .deployment_id()
        .is_none());

    let d = c.create_deployment().api_id(&api).send().await.unwrap();
    let dep = d.deployment_id().unwrap();
    let u = c
        .update_stage()
        .api_id(&api)
        .stage_name("dev")
        .deployment_id(dep)
        .send()
        .await
        .unwrap();
    assert_eq!(u.deployment_id(), Some(dep));
    let s2 = c
        .create_stage()
        .api_id(&api)
        .stage_name("other")
        .deployment_id(dep)
        .send()
        .await
        .unwrap();
    assert_eq!(s2.deployment_id(), Some(dep));
}

#[tokio::test]
async fn auto_deploy_with_deployment_id_rejected() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let (api, _) = routed_http_api(&c).await;
    let dep = c
        .create_deployment()
        .api_id(&api)
        .send()
        .await
        .unwrap()
        .deployment_id
        .unwrap();
    let e = c
        .create_stage()
        .api_id(&api)
        .stage_name("auto")
        .auto_deploy(true)
        .deployment_id(&dep)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");
    c.create_stage()
        .api_id(&api)
        .stage_name("auto")
        .auto_deploy(true)
        .send()
        .await
        .unwrap();
    let e = c
        .update_stage()
        .api_id(&api)
        .stage_name("auto")
        .deployment_id(&dep)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");
    // Turning autoDeploy off and pointing at a deployment in one call is fine.
    let u = c
        .update_stage()
        .api_id(&api)
        .stage_name("auto")
        .auto_deploy(false)
        .deployment_id(&dep)
        .send()
        .await
        .unwrap();
    assert_eq!(u.deployment_id(), Some(dep.as_str()));
    assert_eq!(u.auto_deploy(), Some(false));
}

#[tokio::test]
async fn delete_route_settings() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let (api, integ) = routed_http_api(&c).await;
    c.create_route()
        .api_id(&api)
        .route_key("$default")
        .target(format!("integrations/{integ}"))
        .send()
        .await
        .unwrap();
    c.create_stage()
        .api_id(&api)
        .stage_name("dev")
        .route_settings(
            "GET /pets",
            RouteSettings::builder().throttling_burst_limit(5).build(),
        )
        .route_settings(
            "$default",
            RouteSettings::builder().throttling_rate_limit(1.0).build(),
        )
        .send()
        .await
        .unwrap();
    c.delete_route_settings()
        .api_id(&api)
        .stage_name("dev")
        .route_key("GET /pets")
        .send()
        .await
        .unwrap();
    let s = c
        .get_stage()
        .api_id(&api)
        .stage_name("dev")
        .send()
        .await
        .unwrap();
    let rs = s.route_settings().unwrap();
    assert_eq!(rs.len(), 1);
    assert!(rs.contains_key("$default"));
    // Absent now: NotFound.
    let e = c
        .delete_route_settings()
        .api_id(&api)
        .stage_name("dev")
        .route_key("GET /pets")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    c.delete_route_settings()
        .api_id(&api)
        .stage_name("dev")
        .route_key("$default")
        .send()
        .await
        .unwrap();
    let s = c
        .get_stage()
        .api_id(&api)
        .stage_name("dev")
        .send()
        .await
        .unwrap();
    assert!(s.route_settings().unwrap().is_empty());
    let e = c
        .delete_route_settings()
        .api_id(&api)
        .stage_name("nope")
        .route_key("$default")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
}

#[tokio::test]
async fn delete_access_log_settings() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let api = http_api(&c).await;
    let e = c
        .create_stage()
        .api_id(&api)
        .stage_name("dev")
        .access_log_settings(
            AccessLogSettings::builder()
                .destination_arn("not-an-arn")
                .format("$context.requestId")
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");
    c.create_stage()
        .api_id(&api)
        .stage_name("dev")
        .access_log_settings(
            AccessLogSettings::builder()
                .destination_arn("arn:aws:logs:us-east-1:123456789012:log-group:g")
                .format("$context.requestId")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(c
        .get_stage()
        .api_id(&api)
        .stage_name("dev")
        .send()
        .await
        .unwrap()
        .access_log_settings()
        .is_some());
    c.delete_access_log_settings()
        .api_id(&api)
        .stage_name("dev")
        .send()
        .await
        .unwrap();
    let s = c
        .get_stage()
        .api_id(&api)
        .stage_name("dev")
        .send()
        .await
        .unwrap();
    assert!(s.access_log_settings().is_none());
}

#[tokio::test]
async fn default_stage_name_via_sdk() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let api = http_api(&c).await;
    let s = c
        .create_stage()
        .api_id(&api)
        .stage_name("$default")
        .send()
        .await
        .unwrap();
    assert_eq!(s.stage_name(), Some("$default"));
    let g = c
        .get_stage()
        .api_id(&api)
        .stage_name("$default")
        .send()
        .await
        .unwrap();
    assert_eq!(g.stage_name(), Some("$default"));
    let u = c
        .update_stage()
        .api_id(&api)
        .stage_name("$default")
        .description("d")
        .send()
        .await
        .unwrap();
    assert_eq!(u.description(), Some("d"));
    // The raw, percent-encoded path reaches the same stage.
    let r = raw(
        server.addr,
        "GET",
        &format!("/v2/apis/{api}/stages/%24default"),
        b"",
        "us-east-1",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["description"], "d");
    c.delete_stage()
        .api_id(&api)
        .stage_name("$default")
        .send()
        .await
        .unwrap();
    let e = c
        .get_stage()
        .api_id(&api)
        .stage_name("$default")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
}

#[tokio::test]
async fn create_deployment_without_routes() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let api = http_api(&c).await;
    let e = c.create_deployment().api_id(&api).send().await.unwrap_err();
    assert_eq!(
        err_code(&e),
        (
            "BadRequestException".into(),
            "Unable to deploy API because no routes exist in this API".into()
        )
    );
    // An integration alone is not enough.
    http_proxy(&c, &api).await;
    let e = c.create_deployment().api_id(&api).send().await.unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");

    let ws = ws_api(&c).await;
    let e = c.create_deployment().api_id(&ws).send().await.unwrap_err();
    assert_eq!(
        err_code(&e),
        (
            "BadRequestException".into(),
            "At least one route is required before deploying the Api".into()
        )
    );
    assert!(c
        .get_deployments()
        .api_id(&api)
        .send()
        .await
        .unwrap()
        .items()
        .is_empty());

    let e = c
        .create_deployment()
        .api_id("nosuchapi1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
}

#[tokio::test]
async fn deployment_lifecycle() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let (api, _) = routed_http_api(&c).await;
    c.create_stage()
        .api_id(&api)
        .stage_name("dev")
        .send()
        .await
        .unwrap();
    let d = c
        .create_deployment()
        .api_id(&api)
        .stage_name("dev")
        .description("first")
        .send()
        .await
        .unwrap();
    let dep = d.deployment_id().unwrap().to_string();
    assert_eq!(d.deployment_status(), Some(&DeploymentStatus::Deployed));
    assert_eq!(d.auto_deployed(), Some(false));
    assert_eq!(d.description(), Some("first"));
    assert!(d.created_date().is_some());

    let s = c
        .get_stage()
        .api_id(&api)
        .stage_name("dev")
        .send()
        .await
        .unwrap();
    assert_eq!(s.deployment_id(), Some(dep.as_str()));
    assert!(s.last_updated_date().unwrap() >= s.created_date().unwrap());

    // A deployment to a stage that does not exist fails and creates nothing.
    let e = c
        .create_deployment()
        .api_id(&api)
        .stage_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");

    let g = c
        .get_deployment()
        .api_id(&api)
        .deployment_id(&dep)
        .send()
        .await
        .unwrap();
    assert_eq!(g.description(), Some("first"));
    assert_eq!(g.deployment_status(), Some(&DeploymentStatus::Deployed));
    assert_eq!(g.created_date(), d.created_date());

    // A second deployment without a stage.
    let d2 = c.create_deployment().api_id(&api).send().await.unwrap();
    let dep2 = d2.deployment_id().unwrap().to_string();
    assert_ne!(dep, dep2);
    assert!(d2.description().is_none());
    let list = c.get_deployments().api_id(&api).send().await.unwrap();
    let ids: HashSet<&str> = list
        .items()
        .iter()
        .map(|d| d.deployment_id().unwrap())
        .collect();
    assert_eq!(ids, HashSet::from([dep.as_str(), dep2.as_str()]));
    // The stage still points at the first.
    let s = c
        .get_stage()
        .api_id(&api)
        .stage_name("dev")
        .send()
        .await
        .unwrap();
    assert_eq!(s.deployment_id(), Some(dep.as_str()));

    let u = c
        .update_deployment()
        .api_id(&api)
        .deployment_id(&dep)
        .description("renamed")
        .send()
        .await
        .unwrap();
    assert_eq!(u.description(), Some("renamed"));
    assert_eq!(u.created_date(), d.created_date());
    let g = c
        .get_deployment()
        .api_id(&api)
        .deployment_id(&dep)
        .send()
        .await
        .unwrap();
    assert_eq!(g.description(), Some("renamed"));

    // The stage's deployment cannot go.
    let e = c
        .delete_deployment()
        .api_id(&api)
        .deployment_id(&dep)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");
    c.get_deployment()
        .api_id(&api)
        .deployment_id(&dep)
        .send()
        .await
        .unwrap();
    // The unreferenced one can.
    c.delete_deployment()
        .api_id(&api)
        .deployment_id(&dep2)
        .send()
        .await
        .unwrap();
    let e = c
        .get_deployment()
        .api_id(&api)
        .deployment_id(&dep2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    let e = c
        .delete_deployment()
        .api_id(&api)
        .deployment_id(&dep2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    let e = c
        .update_deployment()
        .api_id(&api)
        .deployment_id(&dep2)
        .description("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    // Once the stage is gone the first can be deleted too.
    c.delete_stage()
        .api_id(&api)
        .stage_name("dev")
        .send()
        .await
        .unwrap();
    c.delete_deployment()
        .api_id(&api)
        .deployment_id(&dep)
        .send()
        .await
        .unwrap();
    assert!(c
        .get_deployments()
        .api_id(&api)
        .send()
        .await
        .unwrap()
        .items()
        .is_empty());
}

#[tokio::test]
async fn websocket_deployment() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let api = ws_api(&c).await;
    c.create_route()
        .api_id(&api)
        .route_key("$default")
        .send()
        .await
        .unwrap();
    c.create_stage()
        .api_id(&api)
        .stage_name("production")
        .send()
        .await
        .unwrap();
    let d = c
        .create_deployment()
        .api_id(&api)
        .stage_name("production")
        .send()
        .await
        .unwrap();
    assert_eq!(d.deployment_status(), Some(&DeploymentStatus::Deployed));
    assert_eq!(d.auto_deployed(), Some(false));
    let s = c
        .get_stage()
        .api_id(&api)
        .stage_name("production")
        .send()
        .await
        .unwrap();
    assert_eq!(s.deployment_id(), d.deployment_id());
}

#[tokio::test]
async fn auto_deploy_follows_changes() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let (api, integ) = routed_http_api(&c).await;
    let s = c
        .create_stage()
        .api_id(&api)
        .stage_name("live")
        .auto_deploy(true)
        .send()
        .await
        .unwrap();
    assert_eq!(s.auto_deploy(), Some(true));
    let first = s
        .deployment_id()
        .expect("an autoDeploy stage on a routed API is deployed at once")
        .to_string();
    let d = c
        .get_deployment()
        .api_id(&api)
        .deployment_id(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(d.auto_deployed(), Some(true));
    assert_eq!(
        d.description(),
        Some("Automatic deployment triggered by changes to the Api configuration")
    );
    assert_eq!(d.deployment_status(), Some(&DeploymentStatus::Deployed));

    // A manual deployment into an autoDeploy stage is refused.
    let e = c
        .create_deployment()
        .api_id(&api)
        .stage_name("live")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");

    // A route change redeploys.
    c.create_route()
        .api_id(&api)
        .route_key("POST /pets")
        .target(format!("integrations/{integ}"))
        .send()
        .await
        .unwrap();
    let s = c
        .get_stage()
        .api_id(&api)
        .stage_name("live")
        .send()
        .await
        .unwrap();
    let second = s.deployment_id().unwrap().to_string();
    assert_ne!(second, first);
    let d = c
        .get_deployment()
        .api_id(&api)
        .deployment_id(&second)
        .send()
        .await
        .unwrap();
    assert_eq!(d.auto_deployed(), Some(true));
    assert_eq!(
        d.description(),
        Some("Automatic deployment triggered by changes to the Api configuration")
    );
    assert!(s.last_deployment_status_message().is_some());

    // An integration change redeploys.
    c.update_integration()
        .api_id(&api)
        .integration_id(&integ)
        .description("changed")
        .send()
        .await
        .unwrap();
    let s = c
        .get_stage()
        .api_id(&api)
        .stage_name("live")
        .send()
        .await
        .unwrap();
    let third = s.deployment_id().unwrap().to_string();
    assert_ne!(third, second);
    assert_ne!(third, first);
    let d = c
        .get_deployment()
        .api_id(&api)
        .deployment_id(&third)
        .send()
        .await
        .unwrap();
    assert_eq!(d.auto_deployed(), Some(true));

    // Exactly one deployment per change, all automatic.
    let deps = c.get_deployments().api_id(&api).send().await.unwrap();
    assert_eq!(deps.items().len(), 3);
    assert!(deps.items().iter().all(|d| d.auto_deployed() == Some(true)));
}

#[tokio::test]
async fn auto_deploy_waits_for_first_route() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let api = http_api(&c).await;
    let s = c
        .create_stage()
        .api_id(&api)
        .stage_name("$default")
        .auto_deploy(true)
        .send()
        .await
        .unwrap();
    assert!(s.deployment_id().is_none());
    let integ = http_proxy(&c, &api).await;
    assert!(c
        .get_stage()
        .api_id(&api)
        .stage_name("$default")
        .send()
        .await
        .unwrap()
        .deployment_id()
        .is_none());
    c.create_route()
        .api_id(&api)
        .route_key("$default")
        .target(format!("integrations/{integ}"))
        .send()
        .await
        .unwrap();
    let s = c
        .get_stage()
        .api_id(&api)
        .stage_name("$default")
        .send()
        .await
        .unwrap();
    let dep = s
        .deployment_id()
        .expect("the first route triggers a deployment");
    let d = c
        .get_deployment()
        .api_id(&api)
        .deployment_id(dep)
        .send()
        .await
        .unwrap();
    assert_eq!(d.auto_deployed(), Some(true));
    // Manual stages are not touched by auto-deploy.
    c.create_stage()
        .api_id(&api)
        .stage_name("manual")
        .send()
        .await
        .unwrap();
    c.create_route()
        .api_id(&api)
        .route_key("GET /x")
        .target(format!("integrations/{integ}"))
        .send()
        .await
        .unwrap();
    assert!(c
        .get_stage()
        .api_id(&api)
        .stage_name("manual")
        .send()
        .await
        .unwrap()
        .deployment_id()
        .is_none());
}

#[tokio::test]
async fn enabling_auto_deploy_on_update_deploys() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let (api, _) = routed_http_api(&c).await;
    c.create_stage()
        .api_id(&api)
        .stage_name("dev")
        .send()
        .await
        .unwrap();
    let u = c
        .update_stage()
        .api_id(&api)
        .stage_name("dev")
        .auto_deploy(true)
        .send()
        .await
        .unwrap();
    assert_eq!(u.auto_deploy(), Some(true));
    let dep = u.deployment_id().expect("turning autoDeploy on deploys");
    let d = c
        .get_deployment()
        .api_id(&api)
        .deployment_id(dep)
        .send()
        .await
        .unwrap();
    assert_eq!(d.auto_deployed(), Some(true));
}

#[tokio::test]
async fn route_settings_must_name_an_existing_route() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let (api, _) = routed_http_api(&c).await;
    let settings = || RouteSettings::builder().throttling_burst_limit(5).build();
    // AWS: 404 "Unable to find Route by key GET /some-route within the provided RouteSettings".
    let e = c
        .create_stage()
        .api_id(&api)
        .stage_name("prod")
        .route_settings("GET /nope", settings())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err_code(&e),
        (
            "NotFoundException".to_string(),
            "Unable to find Route by key GET /nope within the provided RouteSettings".to_string()
        )
    );
    // The key is matched exactly: the route is `GET /pets`, not `ANY /pets`.
    let e = c
        .create_stage()
        .api_id(&api)
        .stage_name("prod")
        .route_settings("ANY /pets", settings())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    assert!(c
        .get_stage()
        .api_id(&api)
        .stage_name("prod")
        .send()
        .await
        .is_err());

    c.create_stage()
        .api_id(&api)
        .stage_name("prod")
        .route_settings("GET /pets", settings())
        .send()
        .await
        .unwrap();
    let e = c
        .update_stage()
        .api_id(&api)
        .stage_name("prod")
        .route_settings("POST /pets", settings())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    // A failed update leaves the stage as it was.
    let got = c
        .get_stage()
        .api_id(&api)
        .stage_name("prod")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.route_settings().unwrap()["GET /pets"].throttling_burst_limit(),
        Some(5)
    );
    assert!(!got.route_settings().unwrap().contains_key("POST /pets"));

    // Settings of a route deleted since stay, and other changes to the stage still work.
    let routes = c.get_routes().api_id(&api).send().await.unwrap();
    let route_id = routes.items()[0].route_id().unwrap().to_string();
    c.delete_route()
        .api_id(&api)
        .route_id(&route_id)
        .send()
        .await
        .unwrap();
    let u = c
        .update_stage()
        .api_id(&api)
        .stage_name("prod")
        .description("still fine")
        .send()
        .await
        .unwrap();
    assert!(u.route_settings().unwrap().contains_key("GET /pets"));
}

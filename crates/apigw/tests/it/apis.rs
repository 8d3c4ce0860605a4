//! Api operations (CreateApi incl. quick create, GetApi(s), UpdateApi, DeleteApi,
//! DeleteCorsConfiguration) and tagging, through the real SDK against the real server.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use apigw::types::{Cors, IntegrationType, IpAddressType, ProtocolType};
use aws_sdk_apigatewayv2 as apigw;

use crate::common::{err_code, http_api, http_proxy, raw, ws_api, Server};

fn is_iso_z(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 20
        && s.ends_with('Z')
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
}

#[tokio::test]
async fn create_http_api_minimal_defaults() {
    let server = Server::start();
    let c = server.client("eu-west-1");
    let out = c
        .create_api()
        .name("pets")
        .protocol_type(ProtocolType::Http)
        .send()
        .await
        .unwrap();
    let id = out.api_id().unwrap().to_string();
    assert_eq!(id.len(), 10, "api ids are 10 characters: {id}");
    assert!(
        id.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
        "{id}"
    );
    assert_eq!(
        out.api_endpoint(),
        Some(format!("https://{id}.execute-api.eu-west-1.amazonaws.com").as_str())
    );
    assert_eq!(out.name(), Some("pets"));
    assert_eq!(out.protocol_type(), Some(&ProtocolType::Http));
    assert_eq!(
        out.api_key_selection_expression(),
        Some("$request.header.x-api-key")
    );
    assert_eq!(
        out.route_selection_expression(),
        Some("$request.method $request.path")
    );
    assert_eq!(out.disable_execute_api_endpoint(), Some(false));
    assert_eq!(out.ip_address_type(), Some(&IpAddressType::Ipv4));
    assert!(out.created_date().is_some());
    assert!(out.cors_configuration().is_none());
    assert!(out.description().is_none());
    assert!(out.version().is_none());
    assert!(out.api_gateway_managed().is_none());

    // GetApi answers the same document.
    let got = c.get_api().api_id(&id).send().await.unwrap();
    assert_eq!(got.api_endpoint(), out.api_endpoint());
    assert_eq!(got.created_date(), out.created_date());
    assert_eq!(got.name(), Some("pets"));
    assert_eq!(
        got.route_selection_expression(),
        Some("$request.method $request.path")
    );

    // createdDate on the wire is ISO-8601 with Z.
    let r = raw(
        server.addr,
        "GET",
        &format!("/v2/apis/{id}"),
        b"",
        "eu-west-1",
    );
    assert_eq!(r.status, 200);
    let v = r.json();
    assert!(is_iso_z(v["createdDate"].as_str().unwrap()), "{v}");
}

#[tokio::test]
async fn create_websocket_api_defaults() {
    let server = Server::start();
    let c = server.client("ap-southeast-2");
    let out = c
        .create_api()
        .name("chat")
        .protocol_type(ProtocolType::Websocket)
        .route_selection_expression("$request.body.action")
        .send()
        .await
        .unwrap();
    let id = out.api_id().unwrap();
    assert_eq!(
        out.api_endpoint(),
        Some(format!("wss://{id}.execute-api.ap-southeast-2.amazonaws.com").as_str())
    );
    assert_eq!(out.protocol_type(), Some(&ProtocolType::Websocket));
    assert_eq!(
        out.route_selection_expression(),
        Some("$request.body.action")
    );
    assert_eq!(
        out.api_key_selection_expression(),
        Some("$request.header.x-api-key")
    );
    assert_eq!(out.disable_execute_api_endpoint(), Some(false));
    assert_eq!(out.ip_address_type(), Some(&IpAddressType::Ipv4));
    assert!(out.created_date().is_some());
}

#[tokio::test]
async fn create_http_api_full() {
    let server = Server::start();
    let c = server.client("us-west-2");
    let cors = Cors::builder()
        .allow_origins("https://example.com")
        .allow_methods("GET")
        .allow_methods("POST")
        .allow_headers("content-type")
        .expose_headers("x-request-id")
        .allow_credentials(true)
        .max_age(300)
        .build();
    let out = c
        .create_api()
        .name("full")
        .protocol_type(ProtocolType::Http)
        .description("a description")
        .version("v1")
        .api_key_selection_expression("$context.authorizer.usageIdentifierKey")
        .route_selection_expression("${request.method} ${request.path}")
        .disable_execute_api_endpoint(true)
        .disable_schema_validation(true)
        .ip_address_type(IpAddressType::Dualstack)
        .cors_configuration(cors.clone())
        .tags("env", "test")
        .tags("team", "platform")
        .send()
        .await
        .unwrap();
    let id = out.api_id().unwrap().to_string();
    let got = c.get_api().api_id(&id).send().await.unwrap();
    for (desc, api) in [
        (
            "create",
            (
                out.description(),
                out.version(),
                out.api_key_selection_expression(),
                out.disable_execute_api_endpoint(),
                out.ip_address_type(),
                out.cors_configuration(),
                out.tags(),
            ),
        ),
        (
            "get",
            (
                got.description(),
                got.version(),
                got.api_key_selection_expression(),
                got.disable_execute_api_endpoint(),
                got.ip_address_type(),
                got.cors_configuration(),
                got.tags(),
            ),
        ),
    ] {
        let (d, v, akse, disable, ip, cors_out, tags) = api;
        assert_eq!(d, Some("a description"), "{desc}");
        assert_eq!(v, Some("v1"), "{desc}");
        assert_eq!(
            akse,
            Some("$context.authorizer.usageIdentifierKey"),
            "{desc}"
        );
        assert_eq!(disable, Some(true), "{desc}");
        assert_eq!(ip, Some(&IpAddressType::Dualstack), "{desc}");
        assert_eq!(cors_out, Some(&cors), "{desc}");
        let tags = tags.unwrap();
        assert_eq!(tags.len(), 2, "{desc}");
        assert_eq!(tags["env"], "test");
        assert_eq!(tags["team"], "platform");
    }
    assert_eq!(got.disable_schema_validation(), Some(true));
    assert_eq!(
        got.route_selection_expression(),
        Some("${request.method} ${request.path}")
    );
}

#[tokio::test]
async fn unknown_protocol_rejected() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let e = c
        .create_api()
        .name("x")
        .protocol_type(ProtocolType::from("GRPC"))
        .send()
        .await
        .unwrap_err();
    let (code, msg) = err_code(&e);
    assert_eq!(code, "BadRequestException");
    assert_eq!(
        msg,
        "Invalid protocol specified. Must be one of [HTTP, WEBSOCKET]"
    );
    // Lower case is not the enum value either.
    let e = c
        .create_api()
        .name("x")
        .protocol_type(ProtocolType::from("http"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");
    assert!(c.get_apis().send().await.unwrap().items().is_empty());
}

#[tokio::test]
async fn route_selection_expression_rules() {
    let server = Server::start();
    let c = server.client("us-east-1");
    // WebSocket requires one.
    let e = c
        .create_api()
        .name("ws")
        .protocol_type(ProtocolType::Websocket)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");
    // HTTP accepts only the fixed one.
    let e = c
        .create_api()
        .name("h")
        .protocol_type(ProtocolType::Http)
        .route_selection_expression("$request.body.action")
        .send()
        .await
        .unwrap_err();
    let (code, msg) = err_code(&e);
    assert_eq!(code, "BadRequestException");
    assert!(msg.contains("route selection expression"), "{msg}");
    // Explicitly giving the default on HTTP is fine.
    c.create_api()
        .name("h")
        .protocol_type(ProtocolType::Http)
        .route_selection_expression("$request.method $request.path")
        .send()
        .await
        .unwrap();
    assert_eq!(c.get_apis().send().await.unwrap().items().len(), 1);
}

#[tokio::test]
async fn invalid_api_key_selection_expression_rejected() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let e = c
        .create_api()
        .name("x")
        .protocol_type(ProtocolType::Websocket)
        .route_selection_expression("$request.body.action")
        .api_key_selection_expression("$request.header.authorization")
        .send()
        .await
        .unwrap_err();
    let (code, msg) = err_code(&e);
    assert_eq!(code, "BadRequestException");
    assert!(msg.contains("API key selection expression"), "{msg}");
    let e = c
        .create_api()
        .name("x")
        .protocol_type(ProtocolType::Http)
        .api_key_selection_expression("nope")
        .send()
        .await
        .unwrap_err();
    let (code, msg) = err_code(&e);
    assert_eq!(code, "BadRequestException");
    assert!(msg.contains("API key selection expression"), "{msg}");
    // Both allowed values work.
    for ok in [
        "$request.header.x-api-key",
        "$context.authorizer.usageIdentifierKey",
    ] {
        let out = c
            .create_api()
            .name("x")
            .protocol_type(ProtocolType::Http)
            .api_key_selection_expression(ok)
            .send()
            .await
            .unwrap();
        assert_eq!(out.api_key_selection_expression(), Some(ok));
    }
    // UpdateApi validates it too and leaves the API unchanged.
    let id = http_api(&c).await;
    let e = c
        .update_api()
        .api_id(&id)
        .api_key_selection_expression("bogus")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");
    let got = c.get_api().api_id(&id).send().await.unwrap();
    assert_eq!(
        got.api_key_selection_expression(),
        Some("$request.header.x-api-key")
    );
}

#[tokio::test]
async fn name_length_limits() {
    let server = Server::start();
    let c = server.client("us-east-1");
    for bad in [String::new(), "n".repeat(129)] {
        let e = c
            .create_api()
            .name(&bad)
            .protocol_type(ProtocolType::Http)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            err_code(&e).0,
            "BadRequestException",
            "name of {} chars",
            bad.len()
        );
    }
    let ok = "n".repeat(128);
    let out = c
        .create_api()
        .name(&ok)
        .protocol_type(ProtocolType::Http)
        .send()
        .await
        .unwrap();
    assert_eq!(out.name(), Some(ok.as_str()));
    // Multi-byte characters count as one each.
    let uni = "é".repeat(128);
    c.create_api()
        .name(&uni)
        .protocol_type(ProtocolType::Http)
        .send()
        .await
        .unwrap();
    // UpdateApi with an over-long name is rejected and changes nothing.
    let id = out.api_id().unwrap();
    let e = c
        .update_api()
        .api_id(id)
        .name("x".repeat(129))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");
    let e = c.update_api().api_id(id).name("").send().await.unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");
    assert_eq!(
        c.get_api().api_id(id).send().await.unwrap().name(),
        Some(ok.as_str())
    );
}

#[tokio::test]
async fn cors_validation() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let create = |cors: Cors| {
        c.create_api()
            .name("c")
            .protocol_type(ProtocolType::Http)
            .cors_configuration(cors)
            .send()
    };

    let e = create(Cors::builder().max_age(86401).build())
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");
    let e = create(Cors::builder().max_age(-2).build())
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");
    create(Cors::builder().max_age(86400).build())
        .await
        .unwrap();
    create(Cors::builder().max_age(-1).build()).await.unwrap();

    let e = create(
        Cors::builder()
            .allow_credentials(true)
            .allow_origins("*")
            .build(),
    )
    .await
    .unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");
    // allowCredentials false with * is fine; credentials with a concrete origin too.
    create(
        Cors::builder()
            .allow_credentials(false)
            .allow_origins("*")
            .build(),
    )
    .await
    .unwrap();
    create(
        Cors::builder()
            .allow_credentials(true)
            .allow_origins("https://a.example")
            .build(),
    )
    .await
    .unwrap();

    // CORS on a WebSocket API is rejected.
    let e = c
        .create_api()
        .name("ws")
        .protocol_type(ProtocolType::Websocket)
        .route_selection_expression("$request.body.action")
        .cors_configuration(Cors::builder().allow_origins("*").build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");
    let ws = ws_api(&c).await;
    let e = c
        .update_api()
        .api_id(&ws)
        .cors_configuration(Cors::builder().allow_origins("*").build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");

    // UpdateApi validates CORS too.
    let id = http_api(&c).await;
    let e = c
        .update_api()
        .api_id(&id)
        .cors_configuration(Cors::builder().max_age(86401).build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");
    assert!(c
        .get_api()
        .api_id(&id)
        .send()
        .await
        .unwrap()
        .cors_configuration()
        .is_none());

    // Only the successful creates exist: four CORS variants plus the two helper APIs.
    assert_eq!(c.get_apis().send().await.unwrap().items().len(), 4 + 2);
}

#[tokio::test]
async fn get_api_unknown_is_not_found() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let e = c.get_api().api_id("doesnotexist").send().await.unwrap_err();
    let (code, msg) = err_code(&e);
    assert_eq!(code, "NotFoundException");
    assert!(msg.starts_with("Invalid API identifier specified"), "{msg}");
    assert!(msg.ends_with(":doesnotexist"), "{msg}");
    let e = c
        .update_api()
        .api_id("doesnotexist")
        .description("d")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    let e = c
        .delete_api()
        .api_id("doesnotexist")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
}

#[tokio::test]
async fn get_apis_paginates() {
    let server = Server::start();
    let c = server.client("us-east-1");
    assert!(c.get_apis().send().await.unwrap().items().is_empty());
    assert!(c.get_apis().send().await.unwrap().next_token().is_none());
    let mut created = HashSet::new();
    for _ in 0..7 {
        created.insert(http_api(&c).await);
    }
    let all = c.get_apis().send().await.unwrap();
    assert_eq!(all.items().len(), 7);
    assert!(all.next_token().is_none());

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = c
            .get_apis()
            .max_results("3")
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        pages += 1;
        assert!(page.items().len() <= 3);
        assert!(!page.items().is_empty());
        for a in page.items() {
            assert!(a.api_endpoint().unwrap().starts_with("https://"));
            seen.push(a.api_id().unwrap().to_string());
        }
        match page.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 7, "no duplicates across pages: {seen:?}");
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), created);

    // Bad paging input.
    for bad in ["0", "abc", "-1"] {
        let e = c.get_apis().max_results(bad).send().await.unwrap_err();
        assert_eq!(err_code(&e).0, "BadRequestException", "maxResults {bad}");
    }
    let e = c
        .get_apis()
        .next_token("!!!not-a-token!!!")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");
}

#[tokio::test]
async fn update_api_changes_only_given_members() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let out = c
        .create_api()
        .name("before")
        .protocol_type(ProtocolType::Http)
        .description("d1")
        .version("1")
        .cors_configuration(Cors::builder().allow_origins("https://a.example").build())
        .tags("k", "v")
        .send()
        .await
        .unwrap();
    let id = out.api_id().unwrap().to_string();
    let up = c
        .update_api()
        .api_id(&id)
        .name("after")
        .send()
        .await
        .unwrap();
    assert_eq!(up.name(), Some("after"));
    assert_eq!(up.description(), Some("d1"));
    assert_eq!(up.version(), Some("1"));
    assert_eq!(up.cors_configuration(), out.cors_configuration());
    assert_eq!(up.created_date(), out.created_date());
    assert_eq!(up.api_endpoint(), out.api_endpoint());
    assert_eq!(up.protocol_type(), Some(&ProtocolType::Http));
    assert_eq!(up.tags().unwrap()["k"], "v");

    let up = c
        .update_api()
        .api_id(&id)
        .description("d2")
        .disable_execute_api_endpoint(true)
        .cors_configuration(
            Cors::builder()
                .allow_origins("https://b.example")
                .max_age(10)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(up.name(), Some("after"));
    assert_eq!(up.description(), Some("d2"));
    assert_eq!(up.disable_execute_api_endpoint(), Some(true));
    assert_eq!(
        up.cors_configuration().unwrap().allow_origins(),
        ["https://b.example"]
    );
    assert_eq!(up.cors_configuration().unwrap().max_age(), Some(10));

    let got = c.get_api().api_id(&id).send().await.unwrap();
    assert_eq!(got.name(), Some("after"));
    assert_eq!(got.description(), Some("d2"));
    assert_eq!(got.version(), Some("1"));
    assert_eq!(got.disable_execute_api_endpoint(), Some(true));

    // protocolType is not an UpdateApi member in the SDK; on the wire it is rejected.
    let r = raw(
        server.addr,
        "PATCH",
        &format!("/v2/apis/{id}"),
        br#"{"protocolType":"WEBSOCKET"}"#,
        "us-east-1",
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.header("x-amzn-ErrorType"), Some("BadRequestException"));
    let got = c.get_api().api_id(&id).send().await.unwrap();
    assert_eq!(got.protocol_type(), Some(&ProtocolType::Http));
    assert!(got.api_endpoint().unwrap().starts_with("https://"));

    // An RSE that HTTP APIs do not allow is rejected on update too.
    let e = c
        .update_api()
        .api_id(&id)
        .route_selection_expression("$request.body.x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");
}

#[tokio::test]
async fn update_websocket_api_route_selection_expression() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let id = ws_api(&c).await;
    let up = c
        .update_api()
        .api_id(&id)
        .route_selection_expression("$request.body.type")
        .send()
        .await
        .unwrap();
    assert_eq!(up.route_selection_expression(), Some("$request.body.type"));
    assert_eq!(up.protocol_type(), Some(&ProtocolType::Websocket));
    assert!(up.api_endpoint().unwrap().starts_with("wss://"));
}

#[tokio::test]
async fn delete_api_removes_it_and_its_children() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let id = http_api(&c).await;
    let integ = http_proxy(&c, &id).await;
    c.create_route()
        .api_id(&id)
        .route_key("GET /x")
        .target(format!("integrations/{integ}"))
        .send()
        .await
        .unwrap();
    c.create_stage()
        .api_id(&id)
        .stage_name("dev")
        .send()
        .await
        .unwrap();
    let other = http_api(&c).await;

    let r = raw(
        server.addr,
        "DELETE",
        &format!("/v2/apis/{id}"),
        b"",
        "us-east-1",
    );
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());

    let e = c.get_api().api_id(&id).send().await.unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    let e = c
        .get_integration()
        .api_id(&id)
        .integration_id(&integ)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    let e = c.get_integrations().api_id(&id).send().await.unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    let e = c.get_routes().api_id(&id).send().await.unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    let e = c
        .get_stage()
        .api_id(&id)
        .stage_name("dev")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    let e = c.delete_api().api_id(&id).send().await.unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");

    let apis = c.get_apis().send().await.unwrap();
    assert_eq!(apis.items().len(), 1);
    assert_eq!(apis.items()[0].api_id(), Some(other.as_str()));
}

#[tokio::test]
async fn delete_cors_configuration() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let id = c
        .create_api()
        .name("c")
        .protocol_type(ProtocolType::Http)
        .cors_configuration(Cors::builder().allow_origins("https://a.example").build())
        .send()
        .await
        .unwrap()
        .api_id
        .unwrap();
    assert!(c
        .get_api()
        .api_id(&id)
        .send()
        .await
        .unwrap()
        .cors_configuration()
        .is_some());
    c.delete_cors_configuration()
        .api_id(&id)
        .send()
        .await
        .unwrap();
    let got = c.get_api().api_id(&id).send().await.unwrap();
    assert!(got.cors_configuration().is_none());
    assert_eq!(got.name(), Some("c"));
    let r = raw(
        server.addr,
        "GET",
        &format!("/v2/apis/{id}"),
        b"",
        "us-east-1",
    );
    assert!(r.json().get("corsConfiguration").is_none(), "{}", r.body);

    let e = c
        .delete_cors_configuration()
        .api_id("nosuchapi")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
}

#[tokio::test]
async fn state_is_per_region() {
    let server = Server::start();
    let east = server.client("us-east-1");
    let west = server.client("eu-west-1");
    let id = http_api(&east).await;
    assert!(east.get_api().api_id(&id).send().await.is_ok());
    let e = west.get_api().api_id(&id).send().await.unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    assert!(west.get_apis().send().await.unwrap().items().is_empty());
    let e = west.delete_api().api_id(&id).send().await.unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    let wid = http_api(&west).await;
    let w = west.get_api().api_id(&wid).send().await.unwrap();
    assert_eq!(
        w.api_endpoint(),
        Some(format!("https://{wid}.execute-api.eu-west-1.amazonaws.com").as_str())
    );
    assert_eq!(east.get_apis().send().await.unwrap().items().len(), 1);
    assert_eq!(west.get_apis().send().await.unwrap().items().len(), 1);
    // Tag ARNs name their region.
    let e = east
        .get_tags()
        .resource_arn(format!("arn:aws:apigateway:us-east-1::/apis/{wid}"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    east.get_tags()
        .resource_arn(format!("arn:aws:apigateway:eu-west-1::/apis/{wid}"))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn quick_create_http_target() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let out = c
        .create_api()
        .name("quick")
        .protocol_type(ProtocolType::Http)
        .target("https://example.com/backend")
        .send()
        .await
        .unwrap();
    let id = out.api_id().unwrap().to_string();
    assert_eq!(
        out.route_selection_expression(),
        Some("$request.method $request.path")
    );

    let integs = c.get_integrations().api_id(&id).send().await.unwrap();
    assert_eq!(integs.items().len(), 1);
    let i = &integs.items()[0];
    assert_eq!(i.integration_type(), Some(&IntegrationType::HttpProxy));
    assert_eq!(i.integration_uri(), Some("https://example.com/backend"));
    assert_eq!(i.api_gateway_managed(), Some(true));
    assert_eq!(i.payload_format_version(), Some("1.0"));
    let integ_id = i.integration_id().unwrap().to_string();

    let routes = c.get_routes().api_id(&id).send().await.unwrap();
    assert_eq!(routes.items().len(), 1);
    let r = &routes.items()[0];
    assert_eq!(r.route_key(), Some("$default"));
    assert_eq!(
        r.target(),
        Some(format!("integrations/{integ_id}").as_str())
    );
    assert_eq!(r.api_gateway_managed(), Some(true));

    let stages = c.get_stages().api_id(&id).send().await.unwrap();
    assert_eq!(stages.items().len(), 1);
    let s = &stages.items()[0];
    assert_eq!(s.stage_name(), Some("$default"));
    assert_eq!(s.auto_deploy(), Some(true));
    assert_eq!(s.api_gateway_managed(), Some(true));
    let dep = s
        .deployment_id()
        .expect("quick-created stage is deployed")
        .to_string();
    let d = c
        .get_deployment()
        .api_id(&id)
        .deployment_id(&dep)
        .send()
        .await
        .unwrap();
    assert_eq!(d.auto_deployed(), Some(true));
    assert_eq!(d.deployment_status().map(|s| s.as_str()), Some("DEPLOYED"));

    // The $default stage is reachable by name.
    let st = c
        .get_stage()
        .api_id(&id)
        .stage_name("$default")
        .send()
        .await
        .unwrap();
    assert_eq!(st.deployment_id(), Some(dep.as_str()));
}

#[tokio::test]
async fn quick_create_lambda_target_and_route_key() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:my-function";
    let out = c
        .create_api()
        .name("quick")
        .protocol_type(ProtocolType::Http)
        .target(arn)
        .route_key("GET /pets")
        .send()
        .await
        .unwrap();
    let id = out.api_id().unwrap().to_string();
    let integs = c.get_integrations().api_id(&id).send().await.unwrap();
    assert_eq!(integs.items().len(), 1);
    let i = &integs.items()[0];
    assert_eq!(i.integration_type(), Some(&IntegrationType::AwsProxy));
    assert_eq!(i.integration_uri(), Some(arn));
    assert_eq!(i.payload_format_version(), Some("2.0"));
    assert_eq!(i.integration_method(), Some("POST"));
    assert_eq!(i.api_gateway_managed(), Some(true));
    let routes = c.get_routes().api_id(&id).send().await.unwrap();
    assert_eq!(routes.items().len(), 1);
    assert_eq!(routes.items()[0].route_key(), Some("GET /pets"));
    assert_eq!(
        routes.items()[0].target(),
        Some(format!("integrations/{}", i.integration_id().unwrap()).as_str())
    );
    let s = c
        .get_stage()
        .api_id(&id)
        .stage_name("$default")
        .send()
        .await
        .unwrap();
    assert_eq!(s.auto_deploy(), Some(true));
    assert!(s.deployment_id().is_some());
}

#[tokio::test]
async fn quick_create_rejections() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let e = c
        .create_api()
        .name("ws")
        .protocol_type(ProtocolType::Websocket)
        .route_selection_expression("$request.body.action")
        .target("https://example.com")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");
    // A route key that is not one.
    let e = c
        .create_api()
        .name("h")
        .protocol_type(ProtocolType::Http)
        .target("https://example.com")
        .route_key("NOPE")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");
    // routeKey without target.
    let e = c
        .create_api()
        .name("h")
        .protocol_type(ProtocolType::Http)
        .route_key("GET /x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");
    // Nothing half-created.
    assert!(c.get_apis().send().await.unwrap().items().is_empty());
}

#[tokio::test]
async fn tags_on_api() {
    let server = Server::start();
    let c = server.client("eu-west-1");
    let id = c
        .create_api()
        .name("t")
        .protocol_type(ProtocolType::Http)
        .tags("a", "1")
        .send()
        .await
        .unwrap()
        .api_id
        .unwrap();
    let arn = format!("arn:aws:apigateway:eu-west-1::/apis/{id}");
    let tags = c.get_tags().resource_arn(&arn).send().await.unwrap();
    assert_eq!(tags.tags().unwrap().len(), 1);
    assert_eq!(tags.tags().unwrap()["a"], "1");

    c.tag_resource()
        .resource_arn(&arn)
        .tags("b", "2")
        .tags("a", "one")
        .send()
        .await
        .unwrap();
    let tags = c.get_tags().resource_arn(&arn).send().await.unwrap();
    let t = tags.tags().unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t["a"], "one");
    assert_eq!(t["b"], "2");
    // GetApi shows the same tags.
    let got = c.get_api().api_id(&id).send().await.unwrap();
    assert_eq!(got.tags().unwrap(), t);

    c.untag_resource()
        .resource_arn(&arn)
        .tag_keys("a")
        .tag_keys("missing")
        .send()
        .await
        .unwrap();
    let tags = c.get_tags().resource_arn(&arn).send().await.unwrap();
    let t = tags.tags().unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(t["b"], "2");

    c.untag_resource()
        .resource_arn(&arn)
        .tag_keys("b")
        .send()
        .await
        .unwrap();
    let tags = c.get_tags().resource_arn(&arn).send().await.unwrap();
    assert!(tags.tags().map(|t| t.is_empty()).unwrap_or(true));

    // aws: prefix is reserved, on create and on TagResource.
    let e = c
        .tag_resource()
        .resource_arn(&arn)
        .tags("aws:foo", "x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");
    let e = c
        .tag_resource()
        .resource_arn(&arn)
        .tags("AWS:foo", "x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");
    let e = c
        .create_api()
        .name("t")
        .protocol_type(ProtocolType::Http)
        .tags("aws:cloudformation:stack", "x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");
    // A failed TagResource changes nothing.
    let tags = c.get_tags().resource_arn(&arn).send().await.unwrap();
    assert!(tags.tags().map(|t| t.is_empty()).unwrap_or(true));
    // Over-long key.
    let e = c
        .tag_resource()
        .resource_arn(&arn)
        .tags("k".repeat(129), "x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");
}

#[tokio::test]
async fn tags_on_stage() {
    let server = Server::start();
    let c = server.client("eu-west-1");
    let id = http_api(&c).await;
    let st = c
        .create_stage()
        .api_id(&id)
        .stage_name("prod")
        .tags("owner", "me")
        .send()
        .await
        .unwrap();
    assert_eq!(st.tags().unwrap()["owner"], "me");
    let arn = format!("arn:aws:apigateway:eu-west-1::/apis/{id}/stages/prod");
    let t = c.get_tags().resource_arn(&arn).send().await.unwrap();
    assert_eq!(t.tags().unwrap().len(), 1);
    c.tag_resource()
        .resource_arn(&arn)
        .tags("cost", "42")
        .send()
        .await
        .unwrap();
    let s = c
        .get_stage()
        .api_id(&id)
        .stage_name("prod")
        .send()
        .await
        .unwrap();
    assert_eq!(s.tags().unwrap().len(), 2);
    assert_eq!(s.tags().unwrap()["cost"], "42");
    c.untag_resource()
        .resource_arn(&arn)
        .tag_keys("owner")
        .send()
        .await
        .unwrap();
    let t = c.get_tags().resource_arn(&arn).send().await.unwrap();
    assert_eq!(t.tags().unwrap().len(), 1);
    assert_eq!(t.tags().unwrap()["cost"], "42");
    // The API's own tags are separate.
    let api_tags = c
        .get_tags()
        .resource_arn(format!("arn:aws:apigateway:eu-west-1::/apis/{id}"))
        .send()
        .await
        .unwrap();
    assert!(api_tags.tags().map(|t| t.is_empty()).unwrap_or(true));

    // $default stage ARN.
    c.create_stage()
        .api_id(&id)
        .stage_name("$default")
        .send()
        .await
        .unwrap();
    let darn = format!("arn:aws:apigateway:eu-west-1::/apis/{id}/stages/$default");
    c.tag_resource()
        .resource_arn(&darn)
        .tags("x", "y")
        .send()
        .await
        .unwrap();
    let t = c.get_tags().resource_arn(&darn).send().await.unwrap();
    assert_eq!(t.tags().unwrap()["x"], "y");

    let e = c
        .get_tags()
        .resource_arn(format!(
            "arn:aws:apigateway:eu-west-1::/apis/{id}/stages/nope"
        ))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
}

#[tokio::test]
async fn tags_unknown_arn_is_not_found() {
    let server = Server::start();
    let c = server.client("us-east-1");
    for arn in [
        "arn:aws:apigateway:us-east-1::/apis/nosuchapi0",
        "arn:aws:apigateway:us-east-1::/restapis/abc",
        "arn:aws:lambda:us-east-1:123456789012:function:f",
        "not-an-arn",
    ] {
        let e = c.get_tags().resource_arn(arn).send().await.unwrap_err();
        assert_eq!(err_code(&e).0, "NotFoundException", "{arn}");
        let e = c
            .tag_resource()
            .resource_arn(arn)
            .tags("a", "b")
            .send()
            .await
            .unwrap_err();
        assert_eq!(err_code(&e).0, "NotFoundException", "{arn}");
        let e = c
            .untag_resource()
            .resource_arn(arn)
            .tag_keys("a")
            .send()
            .await
            .unwrap_err();
        assert_eq!(err_code(&e).0, "NotFoundException", "{arn}");
    }
}

#[tokio::test]
async fn quick_create_with_credentials_and_update_of_managed_children() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let role = "arn:aws:iam::123456789012:role/invoker";
    let id = c
        .create_api()
        .name("quick")
        .protocol_type(ProtocolType::Http)
        .target("arn:aws:lambda:us-east-1:123456789012:function:one")
        .credentials_arn(role)
        .send()
        .await
        .unwrap()
        .api_id
        .unwrap();
    let integs = c.get_integrations().api_id(&id).send().await.unwrap();
    let i = &integs.items()[0];
    assert_eq!(i.credentials_arn(), Some(role));
    let integ_id = i.integration_id().unwrap().to_string();
    let first_dep = c
        .get_stage()
        .api_id(&id)
        .stage_name("$default")
        .send()
        .await
        .unwrap()
        .deployment_id
        .unwrap();

    // credentialsArn without a target is not quick create.
    let e = c
        .create_api()
        .name("x")
        .protocol_type(ProtocolType::Http)
        .credentials_arn(role)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "BadRequestException");

    // UpdateApi with target/routeKey re-points the managed integration and route.
    c.update_api()
        .api_id(&id)
        .target("https://example.com/new")
        .route_key("ANY /proxy")
        .send()
        .await
        .unwrap();
    let i = c
        .get_integration()
        .api_id(&id)
        .integration_id(&integ_id)
        .send()
        .await
        .unwrap();
    assert_eq!(i.integration_uri(), Some("https://example.com/new"));
    assert_eq!(i.integration_type(), Some(&IntegrationType::HttpProxy));
    assert_eq!(i.api_gateway_managed(), Some(true));
    let routes = c.get_routes().api_id(&id).send().await.unwrap();
    assert_eq!(routes.items().len(), 1);
    assert_eq!(routes.items()[0].route_key(), Some("ANY /proxy"));
    assert_eq!(
        routes.items()[0].target(),
        Some(format!("integrations/{integ_id}").as_str())
    );
    // The auto-deploy stage followed the change.
    let dep = c
        .get_stage()
        .api_id(&id)
        .stage_name("$default")
        .send()
        .await
        .unwrap()
        .deployment_id
        .unwrap();
    assert_ne!(dep, first_dep);
}

#[tokio::test]
async fn deleted_api_tags_are_gone() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let id = c
        .create_api()
        .name("t")
        .protocol_type(ProtocolType::Http)
        .tags("a", "b")
        .send()
        .await
        .unwrap()
        .api_id
        .unwrap();
    c.create_stage()
        .api_id(&id)
        .stage_name("s")
        .tags("c", "d")
        .send()
        .await
        .unwrap();
    c.delete_api().api_id(&id).send().await.unwrap();
    for arn in [
        format!("arn:aws:apigateway:us-east-1::/apis/{id}"),
        format!("arn:aws:apigateway:us-east-1::/apis/{id}/stages/s"),
    ] {
        let e = c.get_tags().resource_arn(&arn).send().await.unwrap_err();
        assert_eq!(err_code(&e).0, "NotFoundException", "{arn}");
    }
}

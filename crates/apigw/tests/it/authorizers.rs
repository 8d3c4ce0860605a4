//! Authorizer and ResetAuthorizersCache through the real SDK against the real server
//! (authorizers.md §1): defaults and the wire shape, the rules of §1.3 per type and protocol,
//! update on the merged result, names, the quota, pagination, 404s, the route rules R1–R7, the
//! 409 on deleting an authorizer a route uses, restart and DeleteApi.

#![allow(clippy::unwrap_used)]

use aws_sdk_apigatewayv2 as apigw;

use apigw::types::{AuthorizationType, AuthorizerType, JwtConfiguration};

use crate::common::*;

const REGION: &str = "eu-central-1";

fn bad(code_msg: (String, String)) -> String {
    assert_eq!(code_msg.0, "BadRequestException", "message: {}", code_msg.1);
    code_msg.1
}

fn jwt_config(issuer: &str) -> JwtConfiguration {
    JwtConfiguration::builder()
        .audience("client")
        .issuer(issuer)
        .build()
}

#[tokio::test]
async fn jwt_and_lambda_authorizers_lifecycle() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;

    // JWT: echoes exactly its members, no payload version (§1.3 defaults).
    let created = c
        .create_authorizer()
        .api_id(&api)
        .name("cognito")
        .authorizer_type(AuthorizerType::Jwt)
        .identity_source("$request.header.Authorization")
        .jwt_configuration(jwt_config(
            "https://cognito-idp.eu-central-1.amazonaws.com/pool",
        ))
        .send()
        .await
        .unwrap();
    let jwt = created.authorizer_id().unwrap().to_string();
    assert_eq!(jwt.len(), 6, "{jwt}");
    assert_eq!(created.authorizer_type(), Some(&AuthorizerType::Jwt));
    assert_eq!(created.authorizer_payload_format_version(), None);
    let path = format!("/v2/apis/{api}/authorizers/{jwt}");
    let r = raw(server.addr, "GET", &path, b"", REGION);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json(),
        serde_json::json!({
            "authorizerId": jwt,
            "authorizerType": "JWT",
            "identitySource": ["$request.header.Authorization"],
            "jwtConfiguration": {
                "audience": ["client"],
                "issuer": "https://cognito-idp.eu-central-1.amazonaws.com/pool"
            },
            "name": "cognito"
        })
    );

    // REQUEST on an HTTP API: every member given is echoed.
    let uri = authorizer_uri("auth");
    let out = c
        .create_authorizer()
        .api_id(&api)
        .name("lambda")
        .authorizer_type(AuthorizerType::Request)
        .authorizer_uri(&uri)
        .authorizer_payload_format_version("2.0")
        .enable_simple_responses(true)
        .authorizer_result_ttl_in_seconds(300)
        .identity_source("$request.header.X-Token")
        .identity_source("$context.routeKey")
        .authorizer_credentials_arn("arn:aws:iam::000000000000:role/invoker")
        .identity_validation_expression("unused")
        .send()
        .await
        .unwrap();
    let lambda = out.authorizer_id().unwrap().to_string();
    assert_eq!(out.authorizer_uri(), Some(uri.as_str()));
    assert_eq!(out.authorizer_payload_format_version(), Some("2.0"));
    assert_eq!(out.enable_simple_responses(), Some(true));
    assert_eq!(out.authorizer_result_ttl_in_seconds(), Some(300));
    assert_eq!(
        out.identity_source(),
        ["$request.header.X-Token", "$context.routeKey"]
    );
    assert_eq!(
        out.authorizer_credentials_arn(),
        Some("arn:aws:iam::000000000000:role/invoker")
    );
    assert_eq!(out.identity_validation_expression(), Some("unused"));

    // Update: members absent keep their value; the merged result is validated.
    let upd = c
        .update_authorizer()
        .api_id(&api)
        .authorizer_id(&jwt)
        .identity_source("$request.querystring.token")
        .send()
        .await
        .unwrap();
    assert_eq!(upd.name(), Some("cognito"));
    assert_eq!(upd.identity_source(), ["$request.querystring.token"]);
    assert_eq!(
        upd.jwt_configuration().unwrap().issuer(),
        Some("https://cognito-idp.eu-central-1.amazonaws.com/pool")
    );
    let e = c
        .update_authorizer()
        .api_id(&api)
        .authorizer_id(&lambda)
        .authorizer_payload_format_version("1.0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "Simple responses are only supported for payload format version 2.0"
    );
    let e = c
        .update_authorizer()
        .api_id(&api)
        .authorizer_id(&lambda)
        .name("cognito")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "Authorizer name must be unique. Authorizer cognito already exists in this RestApi."
    );

    // GetAuthorizers, paginated.
    for n in 0..3 {
        jwt_authorizer(&c, &api, &format!("extra{n}")).await;
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = c
            .get_authorizers()
            .api_id(&api)
            .max_results("2")
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        assert!(page.items().len() <= 2);
        seen.extend(
            page.items()
                .iter()
                .map(|a| a.authorizer_id().unwrap().to_string()),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 5);
    assert!(seen.contains(&jwt) && seen.contains(&lambda));

    // Delete, then 404.
    let r = raw(server.addr, "DELETE", &path, b"", REGION);
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(r.body.is_empty());
    let r = raw(server.addr, "DELETE", &path, b"", REGION);
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json()["message"],
        format!("Invalid Authorizer identifier specified {jwt}")
    );
    let e = c
        .get_authorizer()
        .api_id(&api)
        .authorizer_id(&jwt)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err_code(&e),
        (
            "NotFoundException".into(),
            format!("Invalid Authorizer identifier specified {jwt}")
        )
    );
    let e = c
        .update_authorizer()
        .api_id(&api)
        .authorizer_id("nope12")
        .name("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    let e = c
        .get_authorizers()
        .api_id("nosuchapi0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err_code(&e),
        (
            "NotFoundException".into(),
            "Invalid API identifier specified 000000000000:nosuchapi0".into()
        )
    );
}

#[tokio::test]
async fn create_rules_per_type_and_protocol() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;
    let ws = ws_api(&c).await;

    // V10, AWS's text, before the rest of the request is looked at.
    let e = c
        .create_authorizer()
        .api_id(&api)
        .name("a")
        .authorizer_type(AuthorizerType::Request)
        .authorizer_uri("auth_uri")
        .identity_source("")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "AuthorizerPayloadFormatVersion is a required parameter for REQUEST authorizer"
    );
    // V15, AWS's text.
    let e = c
        .create_authorizer()
        .api_id(&api)
        .name("a")
        .authorizer_type(AuthorizerType::Request)
        .authorizer_uri(authorizer_uri("auth"))
        .authorizer_payload_format_version("2.0")
        .authorizer_result_ttl_in_seconds(60)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "Identity source must be set if authorizer caching is enabled (TTL is greater than 0)"
    );
    // V16, AWS's text.
    let e = c
        .create_authorizer()
        .api_id(&ws)
        .name("a")
        .authorizer_type(AuthorizerType::Request)
        .authorizer_uri(authorizer_uri("auth"))
        .identity_source("route.request.header.Auth")
        .authorizer_result_ttl_in_seconds(0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "AuthorizerResultTtlInSeconds cannot be set for WEBSOCKET protocol Apis."
    );
    // V4: JWT on a WebSocket API.
    let e = c
        .create_authorizer()
        .api_id(&ws)
        .name("a")
        .authorizer_type(AuthorizerType::Jwt)
        .identity_source("$request.header.Authorization")
        .jwt_configuration(jwt_config("https://issuer.example.com"))
        .send()
        .await
        .unwrap_err();
    assert!(bad(err_code(&e)).contains("only supported for HTTP APIs"));

    // Each of these is a 400 and stores nothing.
    let cases: Vec<(
        &str,
        apigw::operation::create_authorizer::builders::CreateAuthorizerFluentBuilder,
    )> = vec![
        (
            "unknown type",
            c.create_authorizer()
                .api_id(&api)
                .name("a")
                .authorizer_type(AuthorizerType::from("TOKEN")),
        ),
        (
            "JWT without configuration",
            c.create_authorizer()
                .api_id(&api)
                .name("a")
                .authorizer_type(AuthorizerType::Jwt)
                .identity_source("$request.header.Authorization"),
        ),
        (
            "JWT with two identity sources",
            c.create_authorizer()
                .api_id(&api)
                .name("a")
                .authorizer_type(AuthorizerType::Jwt)
                .identity_source("$request.header.A")
                .identity_source("$request.header.B")
                .jwt_configuration(jwt_config("https://issuer.example.com")),
        ),
        (
            "JWT with a Lambda member",
            c.create_authorizer()
                .api_id(&api)
                .name("a")
                .authorizer_type(AuthorizerType::Jwt)
                .identity_source("$request.header.A")
                .authorizer_payload_format_version("2.0")
                .jwt_configuration(jwt_config("https://issuer.example.com")),
        ),
        (
            "REQUEST with a non-Lambda URI",
            c.create_authorizer()
                .api_id(&api)
                .name("a")
                .authorizer_type(AuthorizerType::Request)
                .authorizer_payload_format_version("2.0")
                .authorizer_uri("auth_uri"),
        ),
        (
            "REQUEST with a WebSocket identity source on HTTP",
            c.create_authorizer()
                .api_id(&api)
                .name("a")
                .authorizer_type(AuthorizerType::Request)
                .authorizer_payload_format_version("2.0")
                .authorizer_uri(authorizer_uri("auth"))
                .identity_source("route.request.header.Auth"),
        ),
        (
            "payload version 3.0",
            c.create_authorizer()
                .api_id(&api)
                .name("a")
                .authorizer_type(AuthorizerType::Request)
                .authorizer_payload_format_version("3.0")
                .authorizer_uri(authorizer_uri("auth")),
        ),
        (
            "TTL above an hour",
            c.create_authorizer()
                .api_id(&api)
                .name("a")
                .authorizer_type(AuthorizerType::Request)
                .authorizer_payload_format_version("2.0")
                .authorizer_uri(authorizer_uri("auth"))
                .identity_source("$request.header.A")
                .authorizer_result_ttl_in_seconds(3601),
        ),
        (
            "name of 129 characters",
            c.create_authorizer()
                .api_id(&api)
                .name("n".repeat(129))
                .authorizer_type(AuthorizerType::Request)
                .authorizer_payload_format_version("2.0")
                .authorizer_uri(authorizer_uri("auth")),
        ),
        (
            "simple responses on WebSocket",
            c.create_authorizer()
                .api_id(&ws)
                .name("a")
                .authorizer_type(AuthorizerType::Request)
                .authorizer_uri(authorizer_uri("auth"))
                .enable_simple_responses(true),
        ),
    ];
    for (what, req) in cases {
        let e = req.send().await.unwrap_err();
        assert_eq!(err_code(&e).0, "BadRequestException", "{what}");
    }
    for id in [&api, &ws] {
        let all = c.get_authorizers().api_id(id).send().await.unwrap();
        assert!(all.items().is_empty());
    }

    // WebSocket REQUEST authorizers take route.request.* sources and no payload version.
    let out = c
        .create_authorizer()
        .api_id(&ws)
        .name("ws")
        .authorizer_type(AuthorizerType::Request)
        .authorizer_uri(authorizer_uri("auth"))
        .identity_source("route.request.header.Auth")
        .identity_source("route.request.querystring.token")
        .send()
        .await
        .unwrap();
    assert_eq!(out.authorizer_payload_format_version(), None);
    assert_eq!(out.authorizer_result_ttl_in_seconds(), None);
}

#[tokio::test]
async fn quota_of_ten_per_api() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;
    for n in 0..10 {
        jwt_authorizer(&c, &api, &format!("a{n}")).await;
    }
    let e = c
        .create_authorizer()
        .api_id(&api)
        .name("eleventh")
        .authorizer_type(AuthorizerType::Jwt)
        .identity_source("$request.header.Authorization")
        .jwt_configuration(jwt_config("https://issuer.example.com"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "TooManyRequestsException");
    let r = raw(
        server.addr,
        "POST",
        &format!("/v2/apis/{api}/authorizers"),
        br#"{"name":"x","authorizerType":"JWT","identitySource":["$request.header.A"],"jwtConfiguration":{"audience":["a"],"issuer":"https://i.example.com"}}"#,
        REGION,
    );
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["limitType"], "authorizers per API");
}

#[tokio::test]
async fn routes_use_authorizers_of_their_kind() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;
    let jwt = jwt_authorizer(&c, &api, "jwt").await;
    let lambda = lambda_authorizer(&c, &api, "lambda", true).await;
    let other_api = http_api(&c).await;
    let foreign = jwt_authorizer(&c, &other_api, "jwt").await;

    let create = |key: &str, t: AuthorizationType, id: Option<&str>| {
        c.create_route()
            .api_id(&api)
            .route_key(key)
            .authorization_type(t)
            .set_authorizer_id(id.map(str::to_string))
    };
    // R1, R2: the right kind, of this API.
    for (t, id) in [
        (AuthorizationType::Custom, jwt.as_str()),
        (AuthorizationType::Custom, "nope12"),
        (AuthorizationType::Jwt, lambda.as_str()),
        (AuthorizationType::Jwt, foreign.as_str()),
    ] {
        let e = create("GET /x", t.clone(), Some(id))
            .send()
            .await
            .unwrap_err();
        assert!(
            bad(err_code(&e)).starts_with("Invalid authorizer ID specified."),
            "{t:?} {id}"
        );
    }
    // R4.
    let e = create("GET /x", AuthorizationType::AwsIam, Some(&lambda))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "AuthorizerId can only be set when the authorization type is CUSTOM or JWT"
    );
    // R5, AWS's text.
    let e = create("GET /x", AuthorizationType::Custom, Some(&lambda))
        .authorization_scopes("read")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "Invalid Route authorization type specified. Authorization Scopes are only valid for COGNITO_USER_POOLS and JWT authorization types"
    );

    let secured = create("GET /jwt", AuthorizationType::Jwt, Some(&jwt))
        .authorization_scopes("read")
        .send()
        .await
        .unwrap();
    let secured_id = secured.route_id().unwrap().to_string();
    assert_eq!(secured.authorizer_id(), Some(jwt.as_str()));
    assert_eq!(secured.authorization_scopes(), ["read"]);
    create("GET /custom", AuthorizationType::Custom, Some(&lambda))
        .send()
        .await
        .unwrap();

    // R7: an update that leaves the route without a matching authorizer is refused.
    let e = c
        .update_route()
        .api_id(&api)
        .route_id(&secured_id)
        .authorizer_id(&lambda)
        .send()
        .await
        .unwrap_err();
    bad(err_code(&e));
    // §1.4: an authorizer cannot change type under a route that needs the other one.
    let e = c
        .update_authorizer()
        .api_id(&api)
        .authorizer_id(&jwt)
        .authorizer_type(AuthorizerType::Request)
        .authorizer_uri(authorizer_uri("auth"))
        .authorizer_payload_format_version("2.0")
        .send()
        .await
        .unwrap_err();
    assert!(
        bad(err_code(&e)).starts_with(&format!("Authorizer {jwt} is used by route GET /jwt")),
        "{e:?}"
    );

    // §1.6: a used authorizer cannot be deleted (409, AWS's text) ...
    let e = c
        .delete_authorizer()
        .api_id(&api)
        .authorizer_id(&jwt)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err_code(&e),
        (
            "ConflictException".into(),
            "Cannot delete authorizer 'jwt', is referenced in route: GET /jwt".into()
        )
    );
    // ... until the route lets it go: NONE detaches the authorizer and the scopes.
    let upd = c
        .update_route()
        .api_id(&api)
        .route_id(&secured_id)
        .authorization_type(AuthorizationType::None)
        .send()
        .await
        .unwrap();
    assert_eq!(upd.authorizer_id(), None);
    assert!(upd.authorization_scopes().is_empty());
    c.delete_authorizer()
        .api_id(&api)
        .authorizer_id(&jwt)
        .send()
        .await
        .unwrap();

    // WebSocket: JWT routes are refused (R3); CUSTOM is accepted on any route (R6).
    let ws = ws_api(&c).await;
    let ws_auth = lambda_authorizer(&c, &ws, "ws", false).await;
    let e = c
        .create_route()
        .api_id(&ws)
        .route_key("$connect")
        .authorization_type(AuthorizationType::Jwt)
        .authorizer_id(&ws_auth)
        .send()
        .await
        .unwrap_err();
    bad(err_code(&e));
    for key in ["$connect", "sendMessage"] {
        c.create_route()
            .api_id(&ws)
            .route_key(key)
            .authorization_type(AuthorizationType::Custom)
            .authorizer_id(&ws_auth)
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn reset_authorizers_cache() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;
    c.create_stage()
        .api_id(&api)
        .stage_name("$default")
        .send()
        .await
        .unwrap();
    c.reset_authorizers_cache()
        .api_id(&api)
        .stage_name("$default")
        .send()
        .await
        .unwrap();
    let r = raw(
        server.addr,
        "DELETE",
        &format!("/v2/apis/{api}/stages/%24default/cache/authorizers"),
        b"",
        REGION,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(r.body.is_empty());

    let e = c
        .reset_authorizers_cache()
        .api_id(&api)
        .stage_name("prod")
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
        .reset_authorizers_cache()
        .api_id("nosuchapi0")
        .stage_name("$default")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    let ws = ws_api(&c).await;
    c.create_stage()
        .api_id(&ws)
        .stage_name("prod")
        .send()
        .await
        .unwrap();
    let e = c
        .reset_authorizers_cache()
        .api_id(&ws)
        .stage_name("prod")
        .send()
        .await
        .unwrap_err();
    bad(err_code(&e));
}

#[tokio::test]
async fn authorizers_survive_a_restart_and_go_with_their_api() {
    let dir = fresh_dir();
    let (api, jwt, lambda) = {
        let mut server = Server::start_in(&dir);
        let c = server.client(REGION);
        let api = http_api(&c).await;
        let jwt = jwt_authorizer(&c, &api, "jwt").await;
        let lambda = lambda_authorizer(&c, &api, "lambda", true).await;
        c.create_route()
            .api_id(&api)
            .route_key("GET /x")
            .authorization_type(AuthorizationType::Jwt)
            .authorizer_id(&jwt)
            .send()
            .await
            .unwrap();
        server.kill();
        (api, jwt, lambda)
    };
    let server = Server::start_in(&dir);
    let c = server.client(REGION);
    let got = c
        .get_authorizer()
        .api_id(&api)
        .authorizer_id(&lambda)
        .send()
        .await
        .unwrap();
    assert_eq!(got.name(), Some("lambda"));
    assert_eq!(got.authorizer_payload_format_version(), Some("2.0"));
    // The route's reference survived too.
    let e = c
        .delete_authorizer()
        .api_id(&api)
        .authorizer_id(&jwt)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "ConflictException");

    c.delete_api().api_id(&api).send().await.unwrap();
    drop(server);
    let server = Server::start_in(&dir);
    let c = server.client(REGION);
    assert_eq!(
        err_code(&c.get_authorizers().api_id(&api).send().await.unwrap_err()).0,
        "NotFoundException"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

//! Integration and IntegrationResponse operations through the real SDK against the real server:
//! defaults per protocol, every validation rule of control-plane.md §4, update merge semantics,
//! referential integrity, pagination and quotas.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeSet, HashMap};

use aws_sdk_apigatewayv2 as apigw;

use apigw::operation::create_integration::builders::CreateIntegrationFluentBuilder;
use apigw::types::{
    ConnectionType, ContentHandlingStrategy, IntegrationType, PassthroughBehavior, ProtocolType,
    TlsConfigInput,
};

use crate::common::*;

const REGION: &str = "us-east-1";
const LAMBDA: &str = "arn:aws:lambda:us-east-1:000000000000:function:hello";
const LAMBDA_INVOKE: &str = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:hello/invocations";
const ROLE: &str = "arn:aws:iam::000000000000:role/apigw-sqs";
const LISTENER: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/my-lb/50dc6c495c0c9188/0467ef3c8400ae65";
const NON_PROXY_ON_HTTP: &str = "Currently, an API with a protocol type of HTTP may only be associated with proxy integrations (AWS_PROXY, HTTP_PROXY)";

fn bad(code_msg: (String, String)) -> String {
    assert_eq!(code_msg.0, "BadRequestException", "message: {}", code_msg.1);
    code_msg.1
}

fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A CreateIntegration for a valid HTTP_PROXY on an HTTP API (payload version left to the default).
fn proxy(c: &apigw::Client, api: &str) -> CreateIntegrationFluentBuilder {
    c.create_integration()
        .api_id(api)
        .integration_type(IntegrationType::HttpProxy)
        .integration_uri("https://example.com/{proxy}")
        .integration_method("ANY")
}

/// A CreateIntegration for a WebSocket MOCK integration.
fn mock(c: &apigw::Client, api: &str) -> CreateIntegrationFluentBuilder {
    c.create_integration()
        .api_id(api)
        .integration_type(IntegrationType::Mock)
}

// ---- defaults --------------------------------------------------------------------------

#[tokio::test]
async fn http_proxy_create_fills_http_defaults() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;

    let out = proxy(&c, &api).description("d").send().await.unwrap();
    let id = out.integration_id().unwrap().to_string();
    assert_eq!(id.len(), 7, "{id}");
    assert_eq!(out.integration_type(), Some(&IntegrationType::HttpProxy));
    assert_eq!(out.timeout_in_millis(), Some(30_000));
    assert_eq!(out.connection_type(), Some(&ConnectionType::Internet));
    assert_eq!(out.payload_format_version(), Some("1.0"));
    assert_eq!(out.integration_method(), Some("ANY"));
    assert_eq!(out.integration_uri(), Some("https://example.com/{proxy}"));
    assert_eq!(out.description(), Some("d"));
    // WebSocket-only and unset members are absent on an HTTP API.
    assert_eq!(out.passthrough_behavior(), None);
    assert_eq!(out.integration_response_selection_expression(), None);
    assert_eq!(out.api_gateway_managed(), None);
    assert_eq!(out.request_parameters(), None);
    assert_eq!(out.response_parameters(), None);
    assert_eq!(out.tls_config(), None);

    // Get returns the same document.
    let got = c
        .get_integration()
        .api_id(&api)
        .integration_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.integration_id(), Some(id.as_str()));
    assert_eq!(got.timeout_in_millis(), Some(30_000));
    assert_eq!(got.connection_type(), Some(&ConnectionType::Internet));
    assert_eq!(got.payload_format_version(), Some("1.0"));
    assert_eq!(got.description(), Some("d"));
    assert_eq!(got.passthrough_behavior(), None);

    // On the wire: 201 for create, and unset members are omitted rather than null.
    let r = raw(
        server.addr,
        "POST",
        &format!("/v2/apis/{api}/integrations"),
        br#"{"integrationType":"HTTP_PROXY","integrationUri":"https://example.com","integrationMethod":"GET"}"#,
        REGION,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let j = r.json();
    assert_eq!(j["timeoutInMillis"], 30_000);
    assert_eq!(j["connectionType"], "INTERNET");
    assert_eq!(j["payloadFormatVersion"], "1.0");
    let obj = j.as_object().unwrap();
    for absent in [
        "passthroughBehavior",
        "integrationResponseSelectionExpression",
        "apiGatewayManaged",
        "requestParameters",
        "responseParameters",
        "tlsConfig",
        "connectionId",
        "credentialsArn",
        "description",
    ] {
        assert!(!obj.contains_key(absent), "{absent} present in {j}");
    }
}

#[tokio::test]
async fn lambda_proxy_defaults_method_post_and_keeps_payload_version() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;

    for (uri, version) in [
        (LAMBDA, "2.0"),
        (LAMBDA_INVOKE, "1.0"),
        (&format!("{LAMBDA}:prod")[..], "2.0"),
    ] {
        let out = c
            .create_integration()
            .api_id(&api)
            .integration_type(IntegrationType::AwsProxy)
            .integration_uri(uri)
            .payload_format_version(version)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{uri}: {:?}", err_code(&e)));
        assert_eq!(out.integration_method(), Some("POST"), "{uri}");
        assert_eq!(out.payload_format_version(), Some(version), "{uri}");
        assert_eq!(out.integration_uri(), Some(uri), "stored verbatim");
        assert_eq!(out.timeout_in_millis(), Some(30_000));
        assert_eq!(out.connection_type(), Some(&ConnectionType::Internet));
        assert_eq!(out.passthrough_behavior(), None);
    }

    // An explicit method is kept.
    let out = c
        .create_integration()
        .api_id(&api)
        .integration_type(IntegrationType::AwsProxy)
        .integration_uri(LAMBDA)
        .integration_method("GET")
        .payload_format_version("2.0")
        .send()
        .await
        .unwrap();
    assert_eq!(out.integration_method(), Some("GET"));
}

#[tokio::test]
async fn websocket_defaults_per_integration_type() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = ws_api(&c).await;

    // (type, uri, method, expected integrationResponseSelectionExpression)
    type Case<'a> = (
        IntegrationType,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
    );
    let cases: [Case; 5] = [
        (
            IntegrationType::Mock,
            None,
            None,
            Some("${integration.response.statuscode}"),
        ),
        (
            IntegrationType::Http,
            Some("https://example.com/ws"),
            Some("POST"),
            Some("${integration.response.statuscode}"),
        ),
        (
            IntegrationType::Aws,
            Some("arn:aws:apigateway:us-east-1:sqs:path/000000000000/queue"),
            Some("POST"),
            Some("${integration.response.body.errorMessage}"),
        ),
        (
            IntegrationType::HttpProxy,
            Some("https://example.com/ws"),
            Some("ANY"),
            None,
        ),
        (IntegrationType::AwsProxy, Some(LAMBDA), None, None),
    ];
    for (ty, uri, method, irse) in cases {
        let mut req = c
            .create_integration()
            .api_id(&api)
            .integration_type(ty.clone());
        if let Some(u) = uri {
            req = req.integration_uri(u);
        }
        if let Some(m) = method {
            req = req.integration_method(m);
        }
        let out = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{ty:?}: {:?}", err_code(&e)));
        assert_eq!(out.timeout_in_millis(), Some(29_000), "{ty:?}");
        assert_eq!(
            out.connection_type(),
            Some(&ConnectionType::Internet),
            "{ty:?}"
        );
        assert_eq!(out.payload_format_version(), Some("1.0"), "{ty:?}");
        assert_eq!(
            out.passthrough_behavior(),
            Some(&PassthroughBehavior::WhenNoMatch),
            "{ty:?}"
        );
        assert_eq!(
            out.integration_response_selection_expression(),
            irse,
            "{ty:?}"
        );
        assert_eq!(
            out.integration_method(),
            method,
            "{ty:?}: no method default on WebSocket"
        );

        let got = c
            .get_integration()
            .api_id(&api)
            .integration_id(out.integration_id().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(
            got.integration_response_selection_expression(),
            irse,
            "{ty:?}"
        );
        assert_eq!(
            got.passthrough_behavior(),
            Some(&PassthroughBehavior::WhenNoMatch)
        );
    }

    // An explicit passthrough behaviour is kept.
    let out = mock(&c, &api)
        .passthrough_behavior(PassthroughBehavior::Never)
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.passthrough_behavior(),
        Some(&PassthroughBehavior::Never)
    );
}

// ---- integration types and URIs --------------------------------------------------------

#[tokio::test]
async fn http_api_rejects_non_proxy_types_with_aws_message() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;

    for (ty, uri) in [
        (
            IntegrationType::Aws,
            Some("arn:aws:apigateway:us-east-1:sqs:path/000000000000/q"),
        ),
        (IntegrationType::Http, Some("https://example.com")),
        (IntegrationType::Mock, None),
    ] {
        let mut req = c
            .create_integration()
            .api_id(&api)
            .integration_type(ty.clone())
            .integration_method("POST")
            .payload_format_version("1.0");
        if let Some(u) = uri {
            req = req.integration_uri(u);
        }
        let e = req.send().await.unwrap_err();
        assert_eq!(bad(err_code(&e)), NON_PROXY_ON_HTTP, "{ty:?}");
    }
    let list = c.get_integrations().api_id(&api).send().await.unwrap();
    assert!(list.items().is_empty(), "nothing stored after rejections");
}

#[tokio::test]
async fn uri_method_and_type_requirements() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;

    // HTTP_PROXY needs a fully-qualified URL and a method.
    let e = c
        .create_integration()
        .api_id(&api)
        .integration_type(IntegrationType::HttpProxy)
        .integration_method("ANY")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "IntegrationUri is required for HTTP_PROXY integrations"
    );
    for uri in [
        "example.com",
        "ftp://example.com",
        "https://",
        "https:///path",
    ] {
        let e = c
            .create_integration()
            .api_id(&api)
            .integration_type(IntegrationType::HttpProxy)
            .integration_uri(uri)
            .integration_method("ANY")
            .send()
            .await
            .unwrap_err();
        let msg = bad(err_code(&e));
        assert!(
            msg.starts_with(&format!("Invalid integration URI specified: {uri}.")),
            "{msg}"
        );
    }
    // Stage variables may supply the whole host.
    proxy(&c, &api)
        .integration_uri("http://${stageVariables.url}")
        .send()
        .await
        .unwrap();
    let e = c
        .create_integration()
        .api_id(&api)
        .integration_type(IntegrationType::HttpProxy)
        .integration_uri("https://example.com")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "IntegrationMethod is required for HTTP_PROXY integrations"
    );
    let e = proxy(&c, &api)
        .integration_method("FETCH")
        .send()
        .await
        .unwrap_err();
    let msg = bad(err_code(&e));
    assert!(
        msg.starts_with("Invalid HTTP method specified: FETCH."),
        "{msg}"
    );

    // AWS_PROXY without subtype needs a Lambda function.
    let e = c
        .create_integration()
        .api_id(&api)
        .integration_type(IntegrationType::AwsProxy)
        .payload_format_version("2.0")
        .send()
        .await
        .unwrap_err();
    assert!(bad(err_code(&e)).starts_with("IntegrationUri is required for AWS_PROXY"));
    let e = c
        .create_integration()
        .api_id(&api)
        .integration_type(IntegrationType::AwsProxy)
        .integration_uri("https://example.com")
        .payload_format_version("2.0")
        .send()
        .await
        .unwrap_err();
    assert!(
        bad(err_code(&e)).starts_with("Invalid integration URI specified: https://example.com.")
    );

    // Unknown enum values are rejected by the service (the SDK does not validate them).
    let e = c
        .create_integration()
        .api_id(&api)
        .integration_type(IntegrationType::from("LAMBDA"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "Invalid integration type specified. Must be one of [AWS, HTTP, MOCK, HTTP_PROXY, AWS_PROXY]"
    );
    let e = proxy(&c, &api)
        .connection_type(ConnectionType::from("PUBLIC"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "Invalid connection type specified. Must be one of [INTERNET, VPC_LINK]"
    );

    // integrationType is required (the SDK lets it through; send it raw too).
    let r = raw(
        server.addr,
        "POST",
        &format!("/v2/apis/{api}/integrations"),
        b"{}",
        REGION,
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.header("x-amzn-ErrorType"), Some("BadRequestException"));
    assert_eq!(r.json()["message"], "IntegrationType is required");

    // Credentials must be an IAM role (or user) ARN.
    let e = proxy(&c, &api)
        .credentials_arn("not-an-arn")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "Invalid credentials ARN specified: not-an-arn"
    );
    let ok = proxy(&c, &api).credentials_arn(ROLE).send().await.unwrap();
    assert_eq!(ok.credentials_arn(), Some(ROLE));

    // Only the successful creates were stored.
    let list = c.get_integrations().api_id(&api).send().await.unwrap();
    assert_eq!(list.items().len(), 2);
}

#[tokio::test]
async fn vpc_link_connection_rules() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;

    let e = proxy(&c, &api)
        .connection_type(ConnectionType::VpcLink)
        .integration_uri(LISTENER)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "ConnectionId must be specified for an integration with connection type VPC_LINK"
    );
    let e = proxy(&c, &api)
        .connection_id("abc123")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "ConnectionId can only be specified for an integration with connection type VPC_LINK"
    );
    // A private integration needs a listener / Cloud Map ARN, not a URL.
    let e = proxy(&c, &api)
        .connection_type(ConnectionType::VpcLink)
        .connection_id("abc123")
        .send()
        .await
        .unwrap_err();
    assert!(bad(err_code(&e))
        .starts_with("Invalid integration URI specified: https://example.com/{proxy}."));

    let out = proxy(&c, &api)
        .connection_type(ConnectionType::VpcLink)
        .connection_id("abc123")
        .integration_uri(LISTENER)
        .tls_config(
            TlsConfigInput::builder()
                .server_name_to_verify("backend.example.com")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(out.connection_type(), Some(&ConnectionType::VpcLink));
    assert_eq!(out.connection_id(), Some("abc123"));
    assert_eq!(
        out.tls_config().unwrap().server_name_to_verify(),
        Some("backend.example.com")
    );

    // tlsConfig on a public integration is rejected.
    let e = proxy(&c, &api)
        .tls_config(
            TlsConfigInput::builder()
                .server_name_to_verify("x.example.com")
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "TlsConfig is supported only for private integrations (connection type VPC_LINK)"
    );
}

#[tokio::test]
async fn private_integration_can_become_public_again() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;
    let out = proxy(&c, &api)
        .connection_type(ConnectionType::VpcLink)
        .connection_id("abc123")
        .integration_uri(LISTENER)
        .credentials_arn(ROLE)
        .tls_config(
            TlsConfigInput::builder()
                .server_name_to_verify("b.example.com")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let id = out.integration_id().unwrap();
    // "" clears connectionId and credentialsArn, {} clears tlsConfig.
    let out = c
        .update_integration()
        .api_id(&api)
        .integration_id(id)
        .connection_type(ConnectionType::Internet)
        .connection_id("")
        .credentials_arn("")
        .integration_uri("https://example.com")
        .tls_config(TlsConfigInput::builder().build())
        .send()
        .await
        .unwrap();
    assert_eq!(out.connection_type(), Some(&ConnectionType::Internet));
    assert_eq!(out.connection_id(), None);
    assert_eq!(out.credentials_arn(), None);
    assert!(out.tls_config().is_none());
    let raw = raw(
        server.addr,
        "GET",
        &format!("/v2/apis/{api}/integrations/{id}"),
        b"",
        REGION,
    );
    let body = raw.json();
    for gone in ["connectionId", "credentialsArn", "tlsConfig"] {
        assert!(body.get(gone).is_none(), "{gone} still present: {body}");
    }
}

#[tokio::test]
async fn static_status_code_override_must_be_a_status_code() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;
    for bad_code in ["700", "abc", "99"] {
        let e = proxy(&c, &api)
            .response_parameters("200", map(&[("overwrite:statuscode", bad_code)]))
            .send()
            .await
            .unwrap_err();
        bad(err_code(&e));
    }
    let ok = proxy(&c, &api)
        .response_parameters("200", map(&[("overwrite:statuscode", "204")]))
        .send()
        .await
        .unwrap();
    assert!(ok.response_parameters().is_some());
}

// ---- timeouts --------------------------------------------------------------------------

#[tokio::test]
async fn timeout_ranges_per_protocol() {
    let server = Server::start();
    let c = server.client(REGION);
    let http = http_api(&c).await;
    let ws = ws_api(&c).await;

    for t in [50, 30_000, 12_345] {
        let out = proxy(&c, &http).timeout_in_millis(t).send().await.unwrap();
        assert_eq!(out.timeout_in_millis(), Some(t));
    }
    for t in [49, 30_001, 0, -1] {
        let e = proxy(&c, &http)
            .timeout_in_millis(t)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            bad(err_code(&e)),
            format!(
                "Invalid timeout specified: {t}. Timeout must be between 50 and 30000 milliseconds"
            )
        );
    }
    for t in [50, 29_000] {
        let out = mock(&c, &ws).timeout_in_millis(t).send().await.unwrap();
        assert_eq!(out.timeout_in_millis(), Some(t));
    }
    for t in [49, 29_001, 30_000] {
        let e = mock(&c, &ws).timeout_in_millis(t).send().await.unwrap_err();
        assert_eq!(
            bad(err_code(&e)),
            format!(
                "Invalid timeout specified: {t}. Timeout must be between 50 and 29000 milliseconds"
            )
        );
    }
    assert_eq!(
        c.get_integrations()
            .api_id(&http)
            .send()
            .await
            .unwrap()
            .items()
            .len(),
        3
    );
    assert_eq!(
        c.get_integrations()
            .api_id(&ws)
            .send()
            .await
            .unwrap()
            .items()
            .len(),
        2
    );
}

// ---- payload format version ------------------------------------------------------------

#[tokio::test]
async fn payload_format_version_rules() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;
    let ws = ws_api(&c).await;

    // Lambda: 1.0 and 2.0 accepted, missing rejected.
    let e = c
        .create_integration()
        .api_id(&api)
        .integration_type(IntegrationType::AwsProxy)
        .integration_uri(LAMBDA)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "PayloadFormatVersion is required for Lambda proxy integrations. Must be one of [1.0, 2.0]"
    );
    // HTTP_PROXY: 1.0 only.
    let e = proxy(&c, &api)
        .payload_format_version("2.0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "Invalid payload format version specified. For HTTP_PROXY integrations it must be 1.0"
    );
    let out = proxy(&c, &api)
        .payload_format_version("1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(out.payload_format_version(), Some("1.0"));
    // Values outside the known set.
    for v in ["3.0", "2", ""] {
        let e = c
            .create_integration()
            .api_id(&api)
            .integration_type(IntegrationType::AwsProxy)
            .integration_uri(LAMBDA)
            .payload_format_version(v)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            bad(err_code(&e)),
            format!("Invalid payload format version specified: {v}. Must be one of [1.0, 2.0]")
        );
    }
    // WebSocket: only 1.0, even for Lambda.
    let e = c
        .create_integration()
        .api_id(&ws)
        .integration_type(IntegrationType::AwsProxy)
        .integration_uri(LAMBDA)
        .payload_format_version("2.0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "Invalid payload format version specified. WebSocket APIs support only 1.0"
    );
    let out = mock(&c, &ws)
        .payload_format_version("1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(out.payload_format_version(), Some("1.0"));

    // Update re-checks: switching an HTTP_PROXY to 2.0 is refused, switching a Lambda to 1.0 is fine.
    let id = out.integration_id().unwrap();
    let e = c
        .update_integration()
        .api_id(&ws)
        .integration_id(id)
        .payload_format_version("2.0")
        .send()
        .await
        .unwrap_err();
    assert!(bad(err_code(&e)).contains("WebSocket APIs support only 1.0"));
    let lambda = c
        .create_integration()
        .api_id(&api)
        .integration_type(IntegrationType::AwsProxy)
        .integration_uri(LAMBDA)
        .payload_format_version("2.0")
        .send()
        .await
        .unwrap();
    let upd = c
        .update_integration()
        .api_id(&api)
        .integration_id(lambda.integration_id().unwrap())
        .payload_format_version("1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(upd.payload_format_version(), Some("1.0"));
}

// ---- AWS service integrations (subtypes) ------------------------------------------------

/// Every subtype with its required parameters (control-plane.md §4.4.3).
const SUBTYPES: &[(&str, &[&str])] = &[
    ("EventBridge-PutEvents", &["Detail", "DetailType", "Source"]),
    ("SQS-SendMessage", &["QueueUrl", "MessageBody"]),
    ("SQS-ReceiveMessage", &["QueueUrl"]),
    ("SQS-DeleteMessage", &["ReceiptHandle", "QueueUrl"]),
    ("SQS-PurgeQueue", &["QueueUrl"]),
    (
        "AppConfig-GetConfiguration",
        &["Application", "Environment", "Configuration", "ClientId"],
    ),
    ("Kinesis-PutRecord", &["StreamName", "Data", "PartitionKey"]),
    ("StepFunctions-StartExecution", &["StateMachineArn"]),
    ("StepFunctions-StartSyncExecution", &["StateMachineArn"]),
    ("StepFunctions-StopExecution", &["ExecutionArn"]),
];

fn subtype(c: &apigw::Client, api: &str, name: &str) -> CreateIntegrationFluentBuilder {
    c.create_integration()
        .api_id(api)
        .integration_type(IntegrationType::AwsProxy)
        .integration_subtype(name)
        .credentials_arn(ROLE)
}

#[tokio::test]
async fn sqs_send_message_subtype() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;

    let out = subtype(&c, &api, "SQS-SendMessage")
        .request_parameters("QueueUrl", "$request.header.queueUrl")
        .request_parameters("MessageBody", "$request.body.message")
        .request_parameters("DelaySeconds", "5")
        .send()
        .await
        .unwrap();
    assert_eq!(out.integration_subtype(), Some("SQS-SendMessage"));
    assert_eq!(
        out.payload_format_version(),
        Some("1.0"),
        "subtypes default to 1.0"
    );
    assert_eq!(out.integration_uri(), None);
    assert_eq!(out.credentials_arn(), Some(ROLE));
    assert_eq!(out.timeout_in_millis(), Some(30_000));
    assert_eq!(
        out.request_parameters().unwrap(),
        &map(&[
            ("QueueUrl", "$request.header.queueUrl"),
            ("MessageBody", "$request.body.message"),
            ("DelaySeconds", "5"),
        ])
    );

    // One required parameter missing.
    let e = subtype(&c, &api, "SQS-SendMessage")
        .request_parameters("QueueUrl", "$request.header.queueUrl")
        .send()
        .await
        .unwrap_err();
    let msg = bad(err_code(&e));
    assert!(
        msg.starts_with(
            "Invalid selection expression specified: Validation Result: warnings : [], errors : ["
        ),
        "{msg}"
    );
    assert!(
        msg.contains("Parameter MessageBody is required for integration subtype SQS-SendMessage"),
        "{msg}"
    );
    // No parameters at all: both named.
    let e = subtype(&c, &api, "SQS-SendMessage")
        .send()
        .await
        .unwrap_err();
    let msg = bad(err_code(&e));
    assert!(
        msg.contains("Parameter QueueUrl is required")
            && msg.contains("Parameter MessageBody is required"),
        "{msg}"
    );
    // Credentials are required.
    let e = c
        .create_integration()
        .api_id(&api)
        .integration_type(IntegrationType::AwsProxy)
        .integration_subtype("SQS-SendMessage")
        .request_parameters("QueueUrl", "q")
        .request_parameters("MessageBody", "m")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "CredentialsArn is required for AWS service integrations (IntegrationSubtype)"
    );
    // A parameter the subtype does not know.
    let e = subtype(&c, &api, "SQS-SendMessage")
        .request_parameters("QueueUrl", "q")
        .request_parameters("MessageBody", "m")
        .request_parameters("Detail", "x")
        .send()
        .await
        .unwrap_err();
    assert!(bad(err_code(&e))
        .contains("Parameter Detail is not supported for integration subtype SQS-SendMessage"));
    // A bad source expression.
    let e = subtype(&c, &api, "SQS-SendMessage")
        .request_parameters("QueueUrl", "q")
        .request_parameters("MessageBody", "$request.nope.x")
        .send()
        .await
        .unwrap_err();
    assert!(bad(err_code(&e))
        .contains("Invalid source: $request.nope.x specified for destination: MessageBody"));
    // Unknown subtype.
    let e = subtype(&c, &api, "SQS-Nope")
        .request_parameters("QueueUrl", "q")
        .send()
        .await
        .unwrap_err();
    let msg = bad(err_code(&e));
    assert!(
        msg.starts_with("Invalid integration subtype specified: SQS-Nope. Must be one of ["),
        "{msg}"
    );
    assert!(
        msg.contains("SQS-SendMessage") && msg.contains("StepFunctions-StopExecution"),
        "{msg}"
    );
    // Subtypes are for AWS_PROXY only, with payload 1.0.
    let e = proxy(&c, &api)
        .integration_subtype("SQS-SendMessage")
        .credentials_arn(ROLE)
        .request_parameters("QueueUrl", "q")
        .request_parameters("MessageBody", "m")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "IntegrationSubtype is supported only for AWS_PROXY integrations"
    );
    let e = subtype(&c, &api, "SQS-SendMessage")
        .payload_format_version("2.0")
        .request_parameters("QueueUrl", "q")
        .request_parameters("MessageBody", "m")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "Invalid payload format version specified for AWS service integrations. Must be 1.0"
    );

    assert_eq!(
        c.get_integrations()
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
async fn every_subtype_accepts_its_required_parameters_and_needs_each() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;

    for (name, required) in SUBTYPES {
        let mut req = subtype(&c, &api, name);
        for p in *required {
            req = req.request_parameters(*p, "$request.body.value");
        }
        let out = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name}: {:?}", err_code(&e)));
        assert_eq!(out.integration_subtype(), Some(*name));

        // Dropping any one required parameter is refused, naming it.
        for missing in *required {
            let mut req = subtype(&c, &api, name);
            for p in required.iter().filter(|p| *p != missing) {
                req = req.request_parameters(*p, "'static'");
            }
            let e = req.send().await.unwrap_err();
            let msg = bad(err_code(&e));
            assert!(
                msg.contains(&format!(
                    "Parameter {missing} is required for integration subtype {name}"
                )),
                "{name} without {missing}: {msg}"
            );
        }
    }
    let list = c.get_integrations().api_id(&api).send().await.unwrap();
    assert_eq!(list.items().len(), SUBTYPES.len());
}

// ---- HTTP request / response parameter mapping ------------------------------------------

#[tokio::test]
async fn http_request_parameter_keys_and_values() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;

    let good = map(&[
        ("append:header.header1", "$context.requestId"),
        ("overwrite:header.x-custom", "static value"),
        ("remove:header.x-old", "''"),
        ("append:querystring.q", "$request.body.a.b"),
        (
            "overwrite:querystring.p",
            "${request.path.id}-${stageVariables.env}",
        ),
        ("remove:querystring.gone", "''"),
        ("overwrite:path", "/v1/${request.path.id}"),
    ]);
    let mut req = proxy(&c, &api);
    for (k, v) in &good {
        req = req.request_parameters(k, v);
    }
    let out = req.send().await.unwrap();
    assert_eq!(out.request_parameters().unwrap(), &good);
    let got = c
        .get_integration()
        .api_id(&api)
        .integration_id(out.integration_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(got.request_parameters().unwrap(), &good);
    // `overwrite:path` may take the whole request path.
    proxy(&c, &api)
        .request_parameters("overwrite:path", "$request.path")
        .send()
        .await
        .unwrap();

    // Keys outside the grammar.
    for key in [
        "put:header.x",
        "append:path",
        "remove:path",
        "overwrite:body",
        "append:header.",
        "append:querystring.",
        "header.x",
        "append:header.bad header",
    ] {
        let e = proxy(&c, &api)
            .request_parameters(key, "v")
            .send()
            .await
            .unwrap_err();
        let msg = bad(err_code(&e));
        assert!(
            msg.starts_with("Invalid mapping expression specified: Validation Result: warnings : [], errors : ["),
            "{key}: {msg}"
        );
        assert!(
            msg.contains(&format!("Invalid mapping key specified: {key}")),
            "{key}: {msg}"
        );
    }

    // Reserved headers (exact names, case-insensitively, and reserved prefixes).
    for name in [
        "authorization",
        "Authorization",
        "connection",
        "Content-Length",
        "host-not-reserved-control",
        "X-Amz-Date",
        "x-amzn-trace-id",
        "Access-Control-Allow-Origin",
        "apigw-requestid",
        "X-Forwarded-For",
        "Via",
        "TE",
    ] {
        let key = format!("overwrite:header.{name}");
        let r = proxy(&c, &api).request_parameters(&key, "v").send().await;
        if name == "host-not-reserved-control" {
            r.unwrap_or_else(|e| panic!("{name} is not reserved: {:?}", err_code(&e)));
            continue;
        }
        let msg = bad(err_code(&r.unwrap_err()));
        assert!(
            msg.contains(&format!(
                "Parameter mapping for reserved header {name} is not allowed"
            )),
            "{name}: {msg}"
        );
    }

    // Values outside the grammar.
    for value in [
        "$request.nope.y",
        "$request.body..a",
        "$request.header.",
        "${request.header.x",
        "$unknown.thing",
        "$context.bad-char",
    ] {
        let e = proxy(&c, &api)
            .request_parameters("append:header.x", value)
            .send()
            .await
            .unwrap_err();
        let msg = bad(err_code(&e));
        assert!(
            msg.contains(&format!(
                "Invalid source: {value} specified for destination: append:header.x"
            )),
            "{value}: {msg}"
        );
    }
    // An empty value on create is out of the member's 1–512 range.
    let e = proxy(&c, &api)
        .request_parameters("append:header.x", "")
        .send()
        .await
        .unwrap_err();
    bad(err_code(&e));
    let e = proxy(&c, &api)
        .request_parameters("append:header.x", "v".repeat(513))
        .send()
        .await
        .unwrap_err();
    bad(err_code(&e));

    // Several errors are reported together.
    let e = proxy(&c, &api)
        .request_parameters("put:header.a", "v")
        .request_parameters("append:header.authorization", "v")
        .send()
        .await
        .unwrap_err();
    let msg = bad(err_code(&e));
    assert!(
        msg.contains("Invalid mapping key specified: put:header.a"),
        "{msg}"
    );
    assert!(msg.contains("reserved header authorization"), "{msg}");

    // Only the three valid creates were stored.
    assert_eq!(
        c.get_integrations()
            .api_id(&api)
            .send()
            .await
            .unwrap()
            .items()
            .len(),
        3
    );
}

#[tokio::test]
async fn http_response_parameters_status_codes_and_keys() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;

    let five_hundred = map(&[
        ("append:header.header1", "$context.requestId"),
        ("overwrite:statuscode", "403"),
        ("remove:header.x-powered-by", "''"),
    ]);
    let four_oh_four = map(&[("append:header.error", "$stageVariables.environmentId")]);
    let out = proxy(&c, &api)
        .response_parameters("500", five_hundred.clone())
        .response_parameters("404", four_oh_four.clone())
        .response_parameters(
            "200",
            map(&[("overwrite:header.x-body", "$response.body.id")]),
        )
        .response_parameters(
            "599",
            map(&[("overwrite:header.x-h", "$response.header.other")]),
        )
        .send()
        .await
        .unwrap();
    let rp = out.response_parameters().unwrap();
    assert_eq!(rp.len(), 4);
    assert_eq!(rp["500"], five_hundred);
    assert_eq!(rp["404"], four_oh_four);
    let got = c
        .get_integration()
        .api_id(&api)
        .integration_id(out.integration_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(got.response_parameters().unwrap(), rp);

    // Status codes outside 200–599.
    for code in ["199", "600", "100", "abc", "20", "2000"] {
        let e = proxy(&c, &api)
            .response_parameters(code, map(&[("overwrite:statuscode", "403")]))
            .send()
            .await
            .unwrap_err();
        let msg = bad(err_code(&e));
        assert!(
            msg.contains(&format!(
                "Invalid status code specified: {code}. Status code must be between 200 and 599"
            )),
            "{code}: {msg}"
        );
    }
    // Inner keys: only header actions and overwrite:statuscode.
    for key in [
        "append:querystring.x",
        "overwrite:path",
        "append:statuscode",
        "header.x",
        "overwrite:header.",
    ] {
        let e = proxy(&c, &api)
            .response_parameters("200", map(&[(key, "v")]))
            .send()
            .await
            .unwrap_err();
        let msg = bad(err_code(&e));
        assert!(
            msg.contains(&format!(
                "Invalid Response Actioned Parameter key specified: {key}"
            )),
            "{key}: {msg}"
        );
    }
    // Reserved headers in responses and bad sources.
    let e = proxy(&c, &api)
        .response_parameters("200", map(&[("overwrite:header.Content-Length", "1")]))
        .send()
        .await
        .unwrap_err();
    assert!(bad(err_code(&e))
        .contains("Parameter mapping for reserved header Content-Length is not allowed"));
    let e = proxy(&c, &api)
        .response_parameters("200", map(&[("append:header.x", "$request.header.y")]))
        .send()
        .await
        .unwrap_err();
    assert!(bad(err_code(&e))
        .contains("Invalid source: $request.header.y specified for destination: append:header.x"));

    assert_eq!(
        c.get_integrations()
            .api_id(&api)
            .send()
            .await
            .unwrap()
            .items()
            .len(),
        1
    );
}

// ---- field applicability per protocol ---------------------------------------------------

#[tokio::test]
async fn websocket_only_fields_rejected_on_http_api() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;

    let cases: Vec<(&str, CreateIntegrationFluentBuilder)> = vec![
        (
            "passthroughBehavior",
            proxy(&c, &api).passthrough_behavior(PassthroughBehavior::Never),
        ),
        (
            "contentHandlingStrategy",
            proxy(&c, &api).content_handling_strategy(ContentHandlingStrategy::ConvertToText),
        ),
        (
            "requestTemplates",
            proxy(&c, &api).request_templates("application/json", "{}"),
        ),
        (
            "templateSelectionExpression",
            proxy(&c, &api).template_selection_expression("$default"),
        ),
    ];
    for (member, req) in cases {
        let e = req.send().await.unwrap_err();
        assert_eq!(
            bad(err_code(&e)),
            format!("{member} is supported only for WebSocket APIs")
        );
    }
    assert!(c
        .get_integrations()
        .api_id(&api)
        .send()
        .await
        .unwrap()
        .items()
        .is_empty());
}

#[tokio::test]
async fn http_only_fields_rejected_on_websocket_api() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = ws_api(&c).await;

    let cases: Vec<(&str, CreateIntegrationFluentBuilder)> = vec![
        (
            "integrationSubtype",
            mock(&c, &api).integration_subtype("SQS-SendMessage"),
        ),
        (
            "responseParameters",
            mock(&c, &api).response_parameters("200", map(&[("overwrite:statuscode", "201")])),
        ),
        (
            "tlsConfig",
            mock(&c, &api).tls_config(
                TlsConfigInput::builder()
                    .server_name_to_verify("a.example.com")
                    .build(),
            ),
        ),
    ];
    for (member, req) in cases {
        let e = req.send().await.unwrap_err();
        assert_eq!(
            bad(err_code(&e)),
            format!("{member} is supported only for HTTP APIs")
        );
    }
    assert!(c
        .get_integrations()
        .api_id(&api)
        .send()
        .await
        .unwrap()
        .items()
        .is_empty());
}

#[tokio::test]
async fn websocket_request_parameters_templates_and_selection() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = ws_api(&c).await;

    let params = map(&[
        (
            "integration.request.header.connectionId",
            "context.connectionId",
        ),
        (
            "integration.request.querystring.action",
            "route.request.body.action",
        ),
        ("integration.request.path.stage", "stageVariables.stage"),
        ("integration.request.header.X-Static", "'static'"),
        (
            "integration.request.header.auth",
            "route.request.header.Auth",
        ),
    ]);
    let mut req = c
        .create_integration()
        .api_id(&api)
        .integration_type(IntegrationType::Http)
        .integration_uri("https://example.com/ws")
        .integration_method("POST")
        .request_templates("application/json", "{\"action\": $input.json('$.action')}")
        .request_templates("text/plain", "")
        .template_selection_expression("${request.body.type}")
        .content_handling_strategy(ContentHandlingStrategy::ConvertToBinary)
        .passthrough_behavior(PassthroughBehavior::WhenNoTemplates);
    for (k, v) in &params {
        req = req.request_parameters(k, v);
    }
    let out = req.send().await.unwrap();
    assert_eq!(out.request_parameters().unwrap(), &params);
    assert_eq!(out.request_templates().unwrap().len(), 2);
    assert_eq!(out.request_templates().unwrap()["text/plain"], "");
    assert_eq!(
        out.template_selection_expression(),
        Some("${request.body.type}")
    );
    assert_eq!(
        out.content_handling_strategy(),
        Some(&ContentHandlingStrategy::ConvertToBinary)
    );
    assert_eq!(
        out.passthrough_behavior(),
        Some(&PassthroughBehavior::WhenNoTemplates)
    );
    let got = c
        .get_integration()
        .api_id(&api)
        .integration_id(out.integration_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(got.request_parameters().unwrap(), &params);
    assert_eq!(got.request_templates(), out.request_templates());

    // Keys and values outside the WebSocket grammar.
    for key in [
        "append:header.x",
        "method.request.header.x",
        "integration.request.body.x",
        "integration.request.header.",
    ] {
        let e = mock(&c, &api)
            .request_parameters(key, "'v'")
            .send()
            .await
            .unwrap_err();
        let msg = bad(err_code(&e));
        assert!(
            msg.contains(&format!("Invalid mapping key specified: {key}")),
            "{key}: {msg}"
        );
    }
    for value in [
        "static-without-quotes",
        "$request.header.x",
        "route.request.cookie.x",
        "context.",
    ] {
        let e = mock(&c, &api)
            .request_parameters("integration.request.header.x", value)
            .send()
            .await
            .unwrap_err();
        let msg = bad(err_code(&e));
        assert!(
            msg.contains(&format!("Invalid source: {value} specified")),
            "{value}: {msg}"
        );
    }
    // A template selection expression naming something unknown.
    let e = mock(&c, &api)
        .template_selection_expression("$nope.x")
        .send()
        .await
        .unwrap_err();
    assert!(bad(err_code(&e)).starts_with("Invalid template selection expression specified"));
    // Unknown passthrough behaviour.
    let e = mock(&c, &api)
        .passthrough_behavior(PassthroughBehavior::from("ALWAYS"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "Invalid passthrough behavior specified. Must be one of [WHEN_NO_MATCH, NEVER, WHEN_NO_TEMPLATES]"
    );

    assert_eq!(
        c.get_integrations()
            .api_id(&api)
            .send()
            .await
            .unwrap()
            .items()
            .len(),
        1
    );
}

// ---- UpdateIntegration -----------------------------------------------------------------

#[tokio::test]
async fn update_merges_request_and_response_parameter_maps() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;

    let created = proxy(&c, &api)
        .description("keep me")
        .timeout_in_millis(1_000)
        .request_parameters("append:header.a", "x")
        .request_parameters("append:header.b", "y")
        .request_parameters("overwrite:path", "/base/$request.path")
        .response_parameters("404", map(&[("append:header.e", "1")]))
        .response_parameters("500", map(&[("overwrite:statuscode", "403")]))
        .response_parameters(
            "200",
            map(&[("append:header.ok", "yes"), ("append:header.two", "2")]),
        )
        .send()
        .await
        .unwrap();
    let id = created.integration_id().unwrap().to_string();

    let upd = c
        .update_integration()
        .api_id(&api)
        .integration_id(&id)
        .request_parameters("append:header.a", "") // delete
        .request_parameters("append:header.c", "z") // add
        .request_parameters("append:header.b", "y2") // replace
        .response_parameters("404", HashMap::new()) // delete the status code
        .response_parameters("502", map(&[("overwrite:statuscode", "503")])) // add
        .response_parameters("200", map(&[("append:header.ok", "changed")])) // replace that code's map
        .send()
        .await
        .unwrap();
    let want_req = map(&[
        ("append:header.b", "y2"),
        ("append:header.c", "z"),
        ("overwrite:path", "/base/$request.path"),
    ]);
    assert_eq!(upd.request_parameters().unwrap(), &want_req);
    let rp = upd.response_parameters().unwrap();
    let mut codes: Vec<&str> = rp.keys().map(String::as_str).collect();
    codes.sort();
    assert_eq!(codes, ["200", "500", "502"]);
    assert_eq!(rp["500"], map(&[("overwrite:statuscode", "403")]));
    assert_eq!(rp["502"], map(&[("overwrite:statuscode", "503")]));
    assert_eq!(rp["200"], map(&[("append:header.ok", "changed")]));
    // Members not mentioned are unchanged.
    assert_eq!(upd.description(), Some("keep me"));
    assert_eq!(upd.timeout_in_millis(), Some(1_000));
    assert_eq!(upd.integration_uri(), Some("https://example.com/{proxy}"));
    assert_eq!(upd.integration_method(), Some("ANY"));
    assert_eq!(upd.payload_format_version(), Some("1.0"));
    assert_eq!(upd.integration_type(), Some(&IntegrationType::HttpProxy));

    // Get agrees with the update's answer.
    let got = c
        .get_integration()
        .api_id(&api)
        .integration_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.request_parameters().unwrap(), &want_req);
    assert_eq!(got.response_parameters().unwrap(), rp);

    // An update that does not mention the maps keeps them.
    let upd = c
        .update_integration()
        .api_id(&api)
        .integration_id(&id)
        .description("new")
        .send()
        .await
        .unwrap();
    assert_eq!(upd.description(), Some("new"));
    assert_eq!(upd.request_parameters().unwrap(), &want_req);
    assert_eq!(upd.response_parameters().unwrap().len(), 3);

    // Deleting every key removes the member altogether.
    let upd = c
        .update_integration()
        .api_id(&api)
        .integration_id(&id)
        .request_parameters("append:header.b", "")
        .request_parameters("append:header.c", "")
        .request_parameters("overwrite:path", "")
        .response_parameters("200", HashMap::new())
        .response_parameters("500", HashMap::new())
        .response_parameters("502", HashMap::new())
        .send()
        .await
        .unwrap();
    assert_eq!(upd.request_parameters(), None);
    assert_eq!(upd.response_parameters(), None);
    let r = raw(
        server.addr,
        "GET",
        &format!("/v2/apis/{api}/integrations/{id}"),
        b"",
        REGION,
    );
    assert_eq!(r.status, 200);
    let j = r.json();
    assert!(
        j.get("requestParameters").is_none() && j.get("responseParameters").is_none(),
        "{j}"
    );

    // Deleting a key that is not there is harmless.
    let upd = c
        .update_integration()
        .api_id(&api)
        .integration_id(&id)
        .request_parameters("append:header.never", "")
        .send()
        .await
        .unwrap();
    assert_eq!(upd.request_parameters(), None);
}

#[tokio::test]
async fn update_changes_members_and_revalidates() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;
    let id = http_proxy(&c, &api).await;

    let upd = c
        .update_integration()
        .api_id(&api)
        .integration_id(&id)
        .integration_uri("https://other.example.com/x")
        .integration_method("POST")
        .timeout_in_millis(5_000)
        .description("changed")
        .send()
        .await
        .unwrap();
    assert_eq!(upd.integration_id(), Some(id.as_str()));
    assert_eq!(upd.integration_uri(), Some("https://other.example.com/x"));
    assert_eq!(upd.integration_method(), Some("POST"));
    assert_eq!(upd.timeout_in_millis(), Some(5_000));
    assert_eq!(upd.description(), Some("changed"));
    assert_eq!(upd.connection_type(), Some(&ConnectionType::Internet));
    let path = format!("/v2/apis/{api}/integrations/{id}");
    let before = raw(server.addr, "GET", &path, b"", REGION).json();
    assert_eq!(before["timeoutInMillis"], 5_000);

    // Each invalid update is refused and leaves the stored integration exactly as it was.
    let e = c
        .update_integration()
        .api_id(&api)
        .integration_id(&id)
        .timeout_in_millis(40_000)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "Invalid timeout specified: 40000. Timeout must be between 50 and 30000 milliseconds"
    );
    let e = c
        .update_integration()
        .api_id(&api)
        .integration_id(&id)
        .integration_type(IntegrationType::Mock)
        .send()
        .await
        .unwrap_err();
    assert_eq!(bad(err_code(&e)), NON_PROXY_ON_HTTP);
    let e = c
        .update_integration()
        .api_id(&api)
        .integration_id(&id)
        .description("would change")
        .request_parameters("append:header.x-amz-security-token", "v")
        .send()
        .await
        .unwrap_err();
    assert!(bad(err_code(&e)).contains("reserved header x-amz-security-token"));
    let e = c
        .update_integration()
        .api_id(&api)
        .integration_id(&id)
        .description("would change")
        .passthrough_behavior(PassthroughBehavior::Never)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "passthroughBehavior is supported only for WebSocket APIs"
    );
    let e = c
        .update_integration()
        .api_id(&api)
        .integration_id(&id)
        .integration_uri("not a url")
        .send()
        .await
        .unwrap_err();
    bad(err_code(&e));

    assert_eq!(raw(server.addr, "GET", &path, b"", REGION).json(), before);
    let after = c
        .get_integration()
        .api_id(&api)
        .integration_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(after.timeout_in_millis(), Some(5_000));
    assert_eq!(after.description(), Some("changed"));
    assert_eq!(after.integration_uri(), Some("https://other.example.com/x"));
    assert_eq!(after.request_parameters(), None);

    // A valid type change re-derives what depends on the type: HTTP_PROXY → Lambda AWS_PROXY.
    let upd = c
        .update_integration()
        .api_id(&api)
        .integration_id(&id)
        .integration_type(IntegrationType::AwsProxy)
        .integration_uri(LAMBDA)
        .payload_format_version("2.0")
        .send()
        .await
        .unwrap();
    assert_eq!(upd.integration_type(), Some(&IntegrationType::AwsProxy));
    assert_eq!(upd.payload_format_version(), Some("2.0"));
    assert_eq!(upd.timeout_in_millis(), Some(5_000));
}

#[tokio::test]
async fn websocket_update_type_change_recomputes_selection_expression() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = ws_api(&c).await;

    let out = mock(&c, &api).send().await.unwrap();
    let id = out.integration_id().unwrap().to_string();
    assert_eq!(
        out.integration_response_selection_expression(),
        Some("${integration.response.statuscode}")
    );

    let upd = c
        .update_integration()
        .api_id(&api)
        .integration_id(&id)
        .integration_type(IntegrationType::Aws)
        .integration_uri("arn:aws:apigateway:us-east-1:sqs:path/000000000000/q")
        .integration_method("POST")
        .send()
        .await
        .unwrap();
    assert_eq!(
        upd.integration_response_selection_expression(),
        Some("${integration.response.body.errorMessage}")
    );
    let upd = c
        .update_integration()
        .api_id(&api)
        .integration_id(&id)
        .integration_type(IntegrationType::AwsProxy)
        .integration_uri(LAMBDA)
        .send()
        .await
        .unwrap();
    assert_eq!(upd.integration_response_selection_expression(), None);
    assert_eq!(
        upd.passthrough_behavior(),
        Some(&PassthroughBehavior::WhenNoMatch)
    );
    assert_eq!(upd.timeout_in_millis(), Some(29_000));

    // WebSocket timeout bound on update.
    let e = c
        .update_integration()
        .api_id(&api)
        .integration_id(&id)
        .timeout_in_millis(29_001)
        .send()
        .await
        .unwrap_err();
    assert!(bad(err_code(&e)).contains("between 50 and 29000"));
}

// ---- not found / delete / referential integrity -------------------------------------------

#[tokio::test]
async fn unknown_integration_and_unknown_api_are_not_found() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;

    let e = c
        .get_integration()
        .api_id(&api)
        .integration_id("nope123")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err_code(&e),
        (
            "NotFoundException".into(),
            "Invalid Integration identifier specified nope123".into()
        )
    );
    let e = c
        .update_integration()
        .api_id(&api)
        .integration_id("nope123")
        .description("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err_code(&e),
        (
            "NotFoundException".into(),
            "Invalid Integration identifier specified nope123".into()
        )
    );
    let e = c
        .delete_integration()
        .api_id(&api)
        .integration_id("nope123")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err_code(&e),
        (
            "NotFoundException".into(),
            "Invalid Integration identifier specified nope123".into()
        )
    );

    let want = (
        "NotFoundException".to_string(),
        "Invalid API identifier specified 000000000000:noapi".to_string(),
    );
    let e = proxy(&c, "noapi").send().await.unwrap_err();
    assert_eq!(err_code(&e), want);
    let e = c
        .get_integration()
        .api_id("noapi")
        .integration_id("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e), want);
    let e = c
        .get_integrations()
        .api_id("noapi")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e), want);
    let e = c
        .update_integration()
        .api_id("noapi")
        .integration_id("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e), want);
    let e = c
        .delete_integration()
        .api_id("noapi")
        .integration_id("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e), want);
    let e = c
        .create_integration_response()
        .api_id("noapi")
        .integration_id("x")
        .integration_response_key("$default")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e), want);
    let e = c
        .get_integration_responses()
        .api_id("noapi")
        .integration_id("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e), want);

    // The API exists in us-east-1 only.
    let other = server.client("eu-west-1");
    let e = other
        .get_integrations()
        .api_id(&api)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
}

#[tokio::test]
async fn delete_then_get_is_not_found() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;
    let keep = http_proxy(&c, &api).await;
    let gone = http_proxy(&c, &api).await;

    // On the wire a delete is 204 with an empty body.
    let r = raw(
        server.addr,
        "DELETE",
        &format!("/v2/apis/{api}/integrations/{gone}"),
        b"",
        REGION,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(r.body.is_empty(), "{}", r.body);

    let e = c
        .get_integration()
        .api_id(&api)
        .integration_id(&gone)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err_code(&e),
        (
            "NotFoundException".into(),
            format!("Invalid Integration identifier specified {gone}")
        )
    );
    let e = c
        .delete_integration()
        .api_id(&api)
        .integration_id(&gone)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    let list = c.get_integrations().api_id(&api).send().await.unwrap();
    let ids: Vec<&str> = list
        .items()
        .iter()
        .filter_map(|i| i.integration_id())
        .collect();
    assert_eq!(ids, [keep.as_str()]);

    // Via the SDK too.
    c.delete_integration()
        .api_id(&api)
        .integration_id(&keep)
        .send()
        .await
        .unwrap();
    assert!(c
        .get_integrations()
        .api_id(&api)
        .send()
        .await
        .unwrap()
        .items()
        .is_empty());
}

#[tokio::test]
async fn integration_referenced_by_routes_cannot_be_deleted() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;
    let id = http_proxy(&c, &api).await;

    let r1 = c
        .create_route()
        .api_id(&api)
        .route_key("GET /a")
        .target(format!("integrations/{id}"))
        .send()
        .await
        .unwrap()
        .route_id
        .unwrap();
    let e = c
        .delete_integration()
        .api_id(&api)
        .integration_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err_code(&e),
        (
            "ConflictException".into(),
            format!("Cannot delete Integration because it is referenced by the following Routes with Ids: [{r1}]")
        )
    );
    // On the wire: 409.
    let r = raw(
        server.addr,
        "DELETE",
        &format!("/v2/apis/{api}/integrations/{id}"),
        b"",
        REGION,
    );
    assert_eq!(r.status, 409);
    assert_eq!(r.header("x-amzn-ErrorType"), Some("ConflictException"));

    let r2 = c
        .create_route()
        .api_id(&api)
        .route_key("POST /b")
        .target(format!("integrations/{id}"))
        .send()
        .await
        .unwrap()
        .route_id
        .unwrap();
    let e = c
        .delete_integration()
        .api_id(&api)
        .integration_id(&id)
        .send()
        .await
        .unwrap_err();
    let (code, msg) = err_code(&e);
    assert_eq!(code, "ConflictException");
    let mut both = [r1.clone(), r2.clone()];
    both.sort();
    assert_eq!(
        msg,
        format!(
            "Cannot delete Integration because it is referenced by the following Routes with Ids: [{}, {}]",
            both[0], both[1]
        )
    );
    // Still there.
    c.get_integration()
        .api_id(&api)
        .integration_id(&id)
        .send()
        .await
        .unwrap();

    // Detach one route, delete the other: then the integration can go.
    c.update_route()
        .api_id(&api)
        .route_id(&r1)
        .target("")
        .send()
        .await
        .unwrap();
    let e = c
        .delete_integration()
        .api_id(&api)
        .integration_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err_code(&e).1,
        format!("Cannot delete Integration because it is referenced by the following Routes with Ids: [{r2}]")
    );
    c.delete_route()
        .api_id(&api)
        .route_id(&r2)
        .send()
        .await
        .unwrap();
    c.delete_integration()
        .api_id(&api)
        .integration_id(&id)
        .send()
        .await
        .unwrap();
    let e = c
        .get_integration()
        .api_id(&api)
        .integration_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
}

#[tokio::test]
async fn managed_integration_cannot_be_deleted_but_can_be_updated() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = c
        .create_api()
        .name("quick")
        .protocol_type(ProtocolType::Http)
        .target("https://example.com")
        .send()
        .await
        .unwrap()
        .api_id
        .unwrap();
    let list = c.get_integrations().api_id(&api).send().await.unwrap();
    assert_eq!(list.items().len(), 1);
    let managed = &list.items()[0];
    assert_eq!(managed.api_gateway_managed(), Some(true));
    assert_eq!(
        managed.integration_type(),
        Some(&IntegrationType::HttpProxy)
    );
    assert_eq!(managed.integration_uri(), Some("https://example.com"));
    assert_eq!(managed.payload_format_version(), Some("1.0"));
    let id = managed.integration_id().unwrap().to_string();

    let e = c
        .delete_integration()
        .api_id(&api)
        .integration_id(&id)
        .send()
        .await
        .unwrap_err();
    let (code, msg) = err_code(&e);
    assert!(
        code == "BadRequestException" || code == "ConflictException",
        "managed delete refused with {code}: {msg}"
    );
    c.get_integration()
        .api_id(&api)
        .integration_id(&id)
        .send()
        .await
        .unwrap();

    let upd = c
        .update_integration()
        .api_id(&api)
        .integration_id(&id)
        .timeout_in_millis(10_000)
        .description("tuned")
        .send()
        .await
        .unwrap();
    assert_eq!(upd.timeout_in_millis(), Some(10_000));
    assert_eq!(upd.description(), Some("tuned"));
    assert_eq!(
        upd.api_gateway_managed(),
        Some(true),
        "stays managed after an update"
    );
    let got = c
        .get_integration()
        .api_id(&api)
        .integration_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.timeout_in_millis(), Some(10_000));
    assert_eq!(got.api_gateway_managed(), Some(true));

    // A Lambda target becomes a managed AWS_PROXY with payload 2.0.
    let lambda_api = c
        .create_api()
        .name("quick-lambda")
        .protocol_type(ProtocolType::Http)
        .target(LAMBDA)
        .send()
        .await
        .unwrap()
        .api_id
        .unwrap();
    let list = c
        .get_integrations()
        .api_id(&lambda_api)
        .send()
        .await
        .unwrap();
    assert_eq!(list.items().len(), 1);
    assert_eq!(
        list.items()[0].integration_type(),
        Some(&IntegrationType::AwsProxy)
    );
    assert_eq!(list.items()[0].payload_format_version(), Some("2.0"));
    assert_eq!(list.items()[0].api_gateway_managed(), Some(true));
}

// ---- GetIntegrations pagination and quota ---------------------------------------------------

#[tokio::test]
async fn get_integrations_pagination() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;
    let mut created = BTreeSet::new();
    for _ in 0..7 {
        created.insert(http_proxy(&c, &api).await);
    }

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut req = c.get_integrations().api_id(&api).max_results("2");
        if let Some(t) = &token {
            req = req.next_token(t);
        }
        let page = req.send().await.unwrap();
        pages += 1;
        assert!(page.items().len() <= 2, "page of {}", page.items().len());
        assert!(!page.items().is_empty(), "empty page {pages}");
        seen.extend(
            page.items()
                .iter()
                .map(|i| i.integration_id().unwrap().to_string()),
        );
        match page.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 4);
    assert_eq!(seen.len(), 7, "{seen:?}");
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), 7, "duplicates in {seen:?}");
    assert_eq!(unique, created);

    // Without maxResults everything fits in one page.
    let all = c.get_integrations().api_id(&api).send().await.unwrap();
    assert_eq!(all.items().len(), 7);
    assert_eq!(all.next_token(), None);

    // Invalid maxResults and nextToken.
    for bad_max in ["0", "-1", "501"] {
        let e = c
            .get_integrations()
            .api_id(&api)
            .max_results(bad_max)
            .send()
            .await
            .unwrap_err();
        let msg = bad(err_code(&e));
        assert!(
            msg.starts_with(&format!("Invalid maxResults specified: {bad_max}.")),
            "{msg}"
        );
    }
    let r = raw(
        server.addr,
        "GET",
        &format!("/v2/apis/{api}/integrations?maxResults=abc"),
        b"",
        REGION,
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.header("x-amzn-ErrorType"), Some("BadRequestException"));
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .starts_with("Invalid maxResults specified: abc."));
    let e = c
        .get_integrations()
        .api_id(&api)
        .next_token("!!not base64!!")
        .send()
        .await
        .unwrap_err();
    assert!(bad(err_code(&e)).starts_with("Invalid nextToken specified"));
}

#[tokio::test]
async fn integration_quota_is_300_per_api() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;

    let mut tasks = Vec::new();
    for _ in 0..300 {
        let c = c.clone();
        let api = api.clone();
        tasks.push(tokio::spawn(async move { http_proxy(&c, &api).await }));
    }
    let mut ids = BTreeSet::new();
    for t in tasks {
        ids.insert(t.await.unwrap());
    }
    assert_eq!(ids.len(), 300);

    let e = proxy(&c, &api).send().await.unwrap_err();
    let (code, msg) = err_code(&e);
    assert_eq!(code, "TooManyRequestsException", "{msg}");
    assert_eq!(msg, "Maximum number of integrations per API reached: 300");
    match e.as_service_error() {
        Some(
            apigw::operation::create_integration::CreateIntegrationError::TooManyRequestsException(
                t,
            ),
        ) => {
            assert_eq!(t.limit_type(), Some("integrations per API"));
        }
        other => panic!("unexpected {other:?}"),
    }
    let all = c.get_integrations().api_id(&api).send().await.unwrap();
    assert_eq!(all.items().len(), 300);

    // The quota is per API; freeing one makes room for one.
    let other = http_api(&c).await;
    http_proxy(&c, &other).await;
    let victim = ids.iter().next().unwrap();
    c.delete_integration()
        .api_id(&api)
        .integration_id(victim)
        .send()
        .await
        .unwrap();
    http_proxy(&c, &api).await;
    let e = proxy(&c, &api).send().await.unwrap_err();
    assert_eq!(err_code(&e).0, "TooManyRequestsException");
}

// ---- IntegrationResponse -------------------------------------------------------------------

#[tokio::test]
async fn integration_response_crud_on_websocket_mock() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = ws_api(&c).await;
    let integ = mock(&c, &api).send().await.unwrap().integration_id.unwrap();

    let created = c
        .create_integration_response()
        .api_id(&api)
        .integration_id(&integ)
        .integration_response_key("$default")
        .response_templates("application/json", "{\"ok\": true}")
        .template_selection_expression("${integration.response.statuscode}")
        .response_parameters(
            "method.response.header.X-Id",
            "integration.response.header.x-id",
        )
        .response_parameters("method.response.header.X-Static", "'v'")
        .response_parameters(
            "method.response.header.X-Body",
            "integration.response.body.id",
        )
        .content_handling_strategy(ContentHandlingStrategy::ConvertToText)
        .send()
        .await
        .unwrap();
    let rid = created.integration_response_id().unwrap().to_string();
    assert_eq!(created.integration_response_key(), Some("$default"));
    assert_eq!(
        created.content_handling_strategy(),
        Some(&ContentHandlingStrategy::ConvertToText)
    );
    assert_eq!(
        created.template_selection_expression(),
        Some("${integration.response.statuscode}")
    );
    assert_eq!(created.response_parameters().unwrap().len(), 3);
    assert_eq!(
        created.response_templates().unwrap()["application/json"],
        "{\"ok\": true}"
    );

    let got = c
        .get_integration_response()
        .api_id(&api)
        .integration_id(&integ)
        .integration_response_id(&rid)
        .send()
        .await
        .unwrap();
    assert_eq!(got.integration_response_id(), Some(rid.as_str()));
    assert_eq!(got.integration_response_key(), Some("$default"));
    assert_eq!(got.response_parameters(), created.response_parameters());
    assert_eq!(got.response_templates(), created.response_templates());

    // A second response with a regex key; list shows both.
    let second = c
        .create_integration_response()
        .api_id(&api)
        .integration_id(&integ)
        .integration_response_key("/4\\d\\d/")
        .send()
        .await
        .unwrap();
    let rid2 = second.integration_response_id().unwrap().to_string();
    assert_eq!(second.response_parameters(), None);
    assert_eq!(second.content_handling_strategy(), None);
    let list = c
        .get_integration_responses()
        .api_id(&api)
        .integration_id(&integ)
        .send()
        .await
        .unwrap();
    let mut keys: Vec<&str> = list
        .items()
        .iter()
        .filter_map(|r| r.integration_response_key())
        .collect();
    keys.sort();
    assert_eq!(keys, ["$default", "/4\\d\\d/"]);
    // Paginated listing.
    let p1 = c
        .get_integration_responses()
        .api_id(&api)
        .integration_id(&integ)
        .max_results("1")
        .send()
        .await
        .unwrap();
    assert_eq!(p1.items().len(), 1);
    let p2 = c
        .get_integration_responses()
        .api_id(&api)
        .integration_id(&integ)
        .max_results("1")
        .next_token(p1.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(p2.items().len(), 1);
    assert_eq!(p2.next_token(), None);
    assert_ne!(
        p1.items()[0].integration_response_id(),
        p2.items()[0].integration_response_id()
    );

    // Duplicate key on create and on update.
    let e = c
        .create_integration_response()
        .api_id(&api)
        .integration_id(&integ)
        .integration_response_key("$default")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err_code(&e),
        (
            "ConflictException".into(),
            "An integration response with key $default already exists for this integration".into()
        )
    );
    let e = c
        .update_integration_response()
        .api_id(&api)
        .integration_id(&integ)
        .integration_response_id(&rid2)
        .integration_response_key("$default")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "ConflictException");

    // Update: the key changes, other members are kept; a mentioned member replaces.
    let upd = c
        .update_integration_response()
        .api_id(&api)
        .integration_id(&integ)
        .integration_response_id(&rid)
        .integration_response_key("/2\\d\\d/")
        .send()
        .await
        .unwrap();
    assert_eq!(upd.integration_response_key(), Some("/2\\d\\d/"));
    assert_eq!(upd.response_parameters(), created.response_parameters());
    assert_eq!(upd.response_templates(), created.response_templates());
    assert_eq!(
        upd.content_handling_strategy(),
        Some(&ContentHandlingStrategy::ConvertToText)
    );
    let upd = c
        .update_integration_response()
        .api_id(&api)
        .integration_id(&integ)
        .integration_response_id(&rid)
        .response_parameters("method.response.header.Only", "'one'")
        .send()
        .await
        .unwrap();
    assert_eq!(
        upd.response_parameters().unwrap(),
        &map(&[("method.response.header.Only", "'one'")])
    );
    // Invalid update is refused and changes nothing.
    let e = c
        .update_integration_response()
        .api_id(&api)
        .integration_id(&integ)
        .integration_response_id(&rid)
        .integration_response_key("not-a-regex")
        .send()
        .await
        .unwrap_err();
    bad(err_code(&e));
    let got = c
        .get_integration_response()
        .api_id(&api)
        .integration_id(&integ)
        .integration_response_id(&rid)
        .send()
        .await
        .unwrap();
    assert_eq!(got.integration_response_key(), Some("/2\\d\\d/"));
    // The freed $default key can be used again.
    c.create_integration_response()
        .api_id(&api)
        .integration_id(&integ)
        .integration_response_key("$default")
        .send()
        .await
        .unwrap();

    // Delete, then get/update/delete → NotFound.
    let r = raw(
        server.addr,
        "DELETE",
        &format!("/v2/apis/{api}/integrations/{integ}/integrationresponses/{rid}"),
        b"",
        REGION,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let want = (
        "NotFoundException".to_string(),
        format!("Invalid IntegrationResponse identifier specified {rid}"),
    );
    let e = c
        .get_integration_response()
        .api_id(&api)
        .integration_id(&integ)
        .integration_response_id(&rid)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e), want);
    let e = c
        .update_integration_response()
        .api_id(&api)
        .integration_id(&integ)
        .integration_response_id(&rid)
        .integration_response_key("$default")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e), want);
    let e = c
        .delete_integration_response()
        .api_id(&api)
        .integration_id(&integ)
        .integration_response_id(&rid)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e), want);
    c.delete_integration_response()
        .api_id(&api)
        .integration_id(&integ)
        .integration_response_id(&rid2)
        .send()
        .await
        .unwrap();
    let list = c
        .get_integration_responses()
        .api_id(&api)
        .integration_id(&integ)
        .send()
        .await
        .unwrap();
    assert_eq!(list.items().len(), 1);

    // Deleting the integration takes its responses with it.
    c.delete_integration()
        .api_id(&api)
        .integration_id(&integ)
        .send()
        .await
        .unwrap();
    let e = c
        .get_integration_responses()
        .api_id(&api)
        .integration_id(&integ)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err_code(&e),
        (
            "NotFoundException".into(),
            format!("Invalid Integration identifier specified {integ}")
        )
    );
}

#[tokio::test]
async fn integration_response_key_and_parameter_syntax() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = ws_api(&c).await;
    let integ = mock(&c, &api).send().await.unwrap().integration_id.unwrap();

    for key in ["$default", "/2\\d\\d/", "/.*/", "/a/"] {
        c.create_integration_response()
            .api_id(&api)
            .integration_id(&integ)
            .integration_response_key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{key}: {:?}", err_code(&e)));
    }
    for key in ["default", "$other", "/", "//", "/2\\d\\d", "200", ""] {
        let e = c
            .create_integration_response()
            .api_id(&api)
            .integration_id(&integ)
            .integration_response_key(key)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            bad(err_code(&e)),
            format!("Invalid integration response key specified: {key}. Use $default or a regular expression of the form /expression/"),
            "{key}"
        );
    }
    // Response parameter keys and sources.
    let e = c
        .create_integration_response()
        .api_id(&api)
        .integration_id(&integ)
        .integration_response_key("/5\\d\\d/")
        .response_parameters("append:header.x", "'v'")
        .send()
        .await
        .unwrap_err();
    assert!(bad(err_code(&e)).contains("Invalid mapping key specified: append:header.x"));
    let e = c
        .create_integration_response()
        .api_id(&api)
        .integration_id(&integ)
        .integration_response_key("/5\\d\\d/")
        .response_parameters("method.response.header.X", "unquoted")
        .send()
        .await
        .unwrap_err();
    assert!(bad(err_code(&e))
        .contains("Invalid source: unquoted specified for destination: method.response.header.X"));
    let e = c
        .create_integration_response()
        .api_id(&api)
        .integration_id(&integ)
        .integration_response_key("/5\\d\\d/")
        .template_selection_expression("$bogus.var")
        .send()
        .await
        .unwrap_err();
    bad(err_code(&e));
    // The integrationResponseKey member is required.
    let r = raw(
        server.addr,
        "POST",
        &format!("/v2/apis/{api}/integrations/{integ}/integrationresponses"),
        b"{}",
        REGION,
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["message"], "IntegrationResponseKey is required");

    let list = c
        .get_integration_responses()
        .api_id(&api)
        .integration_id(&integ)
        .send()
        .await
        .unwrap();
    assert_eq!(list.items().len(), 4);
}

#[tokio::test]
async fn integration_responses_only_for_websocket_non_proxy() {
    let server = Server::start();
    let c = server.client(REGION);

    // HTTP API.
    let http = http_api(&c).await;
    let hp = http_proxy(&c, &http).await;
    let e = c
        .create_integration_response()
        .api_id(&http)
        .integration_id(&hp)
        .integration_response_key("$default")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "Integration responses are supported only for WebSocket APIs"
    );

    // WebSocket proxy integrations.
    let ws = ws_api(&c).await;
    for (ty, uri, method) in [
        (
            IntegrationType::HttpProxy,
            "https://example.com",
            Some("ANY"),
        ),
        (IntegrationType::AwsProxy, LAMBDA, None),
    ] {
        let mut req = c
            .create_integration()
            .api_id(&ws)
            .integration_type(ty.clone())
            .integration_uri(uri);
        if let Some(m) = method {
            req = req.integration_method(m);
        }
        let id = req.send().await.unwrap().integration_id.unwrap();
        let e = c
            .create_integration_response()
            .api_id(&ws)
            .integration_id(&id)
            .integration_response_key("$default")
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            bad(err_code(&e)),
            "Integration responses are not supported for proxy integrations (AWS_PROXY, HTTP_PROXY)",
            "{ty:?}"
        );
    }

    // Unknown integration id.
    let e = c
        .create_integration_response()
        .api_id(&ws)
        .integration_id("nope123")
        .integration_response_key("$default")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err_code(&e),
        (
            "NotFoundException".into(),
            "Invalid Integration identifier specified nope123".into()
        )
    );
    let e = c
        .get_integration_response()
        .api_id(&ws)
        .integration_id("nope123")
        .integration_response_id("r")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");

    // A non-proxy integration with responses may not become a proxy.
    let http_integ = c
        .create_integration()
        .api_id(&ws)
        .integration_type(IntegrationType::Http)
        .integration_uri("https://example.com")
        .integration_method("POST")
        .send()
        .await
        .unwrap()
        .integration_id
        .unwrap();
    c.create_integration_response()
        .api_id(&ws)
        .integration_id(&http_integ)
        .integration_response_key("$default")
        .send()
        .await
        .unwrap();
    let e = c
        .update_integration()
        .api_id(&ws)
        .integration_id(&http_integ)
        .integration_type(IntegrationType::HttpProxy)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "Cannot change to a proxy integration type while integration responses exist"
    );
    let got = c
        .get_integration()
        .api_id(&ws)
        .integration_id(&http_integ)
        .send()
        .await
        .unwrap();
    assert_eq!(got.integration_type(), Some(&IntegrationType::Http));
    assert_eq!(
        got.integration_response_selection_expression(),
        Some("${integration.response.statuscode}")
    );
}

#[tokio::test]
async fn subtype_update_revalidates_merged_parameters() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;
    let id = subtype(&c, &api, "SQS-SendMessage")
        .request_parameters("QueueUrl", "q")
        .request_parameters("MessageBody", "m")
        .send()
        .await
        .unwrap()
        .integration_id
        .unwrap();

    // Deleting a required parameter is refused; the stored parameters stay.
    let e = c
        .update_integration()
        .api_id(&api)
        .integration_id(&id)
        .request_parameters("MessageBody", "")
        .send()
        .await
        .unwrap_err();
    assert!(bad(err_code(&e))
        .contains("Parameter MessageBody is required for integration subtype SQS-SendMessage"));
    // Adding an optional one merges with what is there.
    let upd = c
        .update_integration()
        .api_id(&api)
        .integration_id(&id)
        .request_parameters("DelaySeconds", "3")
        .send()
        .await
        .unwrap();
    assert_eq!(
        upd.request_parameters().unwrap(),
        &map(&[
            ("QueueUrl", "q"),
            ("MessageBody", "m"),
            ("DelaySeconds", "3")
        ])
    );
    // Switching subtype checks the merged map against the new subtype.
    let e = c
        .update_integration()
        .api_id(&api)
        .integration_id(&id)
        .integration_subtype("SQS-PurgeQueue")
        .send()
        .await
        .unwrap_err();
    let msg = bad(err_code(&e));
    assert!(
        msg.contains(
            "Parameter MessageBody is not supported for integration subtype SQS-PurgeQueue"
        ),
        "{msg}"
    );
    assert!(
        msg.contains(
            "Parameter DelaySeconds is not supported for integration subtype SQS-PurgeQueue"
        ),
        "{msg}"
    );
    let upd = c
        .update_integration()
        .api_id(&api)
        .integration_id(&id)
        .integration_subtype("SQS-PurgeQueue")
        .request_parameters("MessageBody", "")
        .request_parameters("DelaySeconds", "")
        .send()
        .await
        .unwrap();
    assert_eq!(upd.integration_subtype(), Some("SQS-PurgeQueue"));
    assert_eq!(
        upd.request_parameters().unwrap(),
        &map(&[("QueueUrl", "q")])
    );
    let got = c
        .get_integration()
        .api_id(&api)
        .integration_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.integration_subtype(), Some("SQS-PurgeQueue"));
    assert_eq!(got.credentials_arn(), Some(ROLE));
}

#[tokio::test]
async fn websocket_uri_and_method_requirements() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = ws_api(&c).await;

    for ty in [IntegrationType::Http, IntegrationType::HttpProxy] {
        let e = c
            .create_integration()
            .api_id(&api)
            .integration_type(ty.clone())
            .integration_uri("https://example.com")
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            bad(err_code(&e)),
            format!(
                "IntegrationMethod is required for {} integrations",
                ty.as_str()
            )
        );
        let e = c
            .create_integration()
            .api_id(&api)
            .integration_type(ty.clone())
            .integration_method("POST")
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            bad(err_code(&e)),
            format!(
                "IntegrationUri is required for {} integrations",
                ty.as_str()
            )
        );
    }
    for ty in [IntegrationType::Aws, IntegrationType::AwsProxy] {
        let e = c
            .create_integration()
            .api_id(&api)
            .integration_type(ty.clone())
            .integration_uri("https://example.com")
            .send()
            .await
            .unwrap_err();
        assert!(
            bad(err_code(&e))
                .starts_with("Invalid integration URI specified: https://example.com."),
            "{ty:?}"
        );
    }
    assert!(c
        .get_integrations()
        .api_id(&api)
        .send()
        .await
        .unwrap()
        .items()
        .is_empty());
}

#[tokio::test]
async fn integration_member_length_limits() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;

    let out = proxy(&c, &api)
        .description("d".repeat(1024))
        .send()
        .await
        .unwrap();
    assert_eq!(out.description().map(str::len), Some(1024));
    let e = proxy(&c, &api)
        .description("d".repeat(1025))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "Invalid description specified. Length must be between 0 and 1024 characters"
    );
    let long_uri = format!("https://example.com/{}", "p".repeat(2048));
    let e = proxy(&c, &api)
        .integration_uri(long_uri)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad(err_code(&e)),
        "Invalid integrationUri specified. Length must be between 1 and 2048 characters"
    );
    let ws = ws_api(&c).await;
    let e = mock(&c, &ws)
        .request_templates("application/json", "t".repeat(32_769))
        .send()
        .await
        .unwrap_err();
    bad(err_code(&e));
    mock(&c, &ws)
        .request_templates("application/json", "t".repeat(32_768))
        .send()
        .await
        .unwrap();
    assert_eq!(
        c.get_integrations()
            .api_id(&api)
            .send()
            .await
            .unwrap()
            .items()
            .len(),
        1
    );
}

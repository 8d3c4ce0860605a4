//! Operator-configured credentials: SigV4 signatures are verified with real SDK clients.

use aws_sdk_apigatewayv2 as apigw;
use aws_sdk_apigatewayv2::error::ProvideErrorMetadata;
use aws_sdk_cloudcontrol as cc;

use crate::common::{err_code, raw, Server};

fn client(s: &Server, key: &str, secret: &str) -> apigw::Client {
    let creds = aws_credential_types::Credentials::new(key, secret, None, None, "static");
    let conf = apigw::Config::builder()
        .behavior_version(apigw::config::BehaviorVersion::latest())
        .region(apigw::config::Region::new("eu-west-1"))
        .credentials_provider(creds)
        .endpoint_url(s.endpoint())
        .retry_config(apigw::config::retry::RetryConfig::disabled())
        .build();
    apigw::Client::from_conf(conf)
}

fn cc_client(s: &Server, key: &str, secret: &str) -> cc::Client {
    let creds = aws_credential_types::Credentials::new(key, secret, None, None, "static");
    let conf = cc::Config::builder()
        .behavior_version(cc::config::BehaviorVersion::latest())
        .region(cc::config::Region::new("eu-west-1"))
        .credentials_provider(creds)
        .endpoint_url(s.endpoint())
        .retry_config(cc::config::retry::RetryConfig::disabled())
        .build();
    cc::Client::from_conf(conf)
}

fn start() -> Server {
    let dir = std::env::temp_dir().join(format!(
        "apigw-it-auth-{}-{}",
        std::process::id(),
        fastrand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    Server::start_with(
        &dir,
        &[
            "--credentials",
            "AKIDOPERATOR:op3r4tor/Secret+Key",
            "--credentials",
            "AKIDSECOND:two",
        ],
    )
}

fn fastrand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[tokio::test]
async fn configured_keys_sign_every_kind_of_request() {
    let s = start();
    let c = client(&s, "AKIDOPERATOR", "op3r4tor/Secret+Key");
    let api = c
        .create_api()
        .name("signed")
        .protocol_type(apigw::types::ProtocolType::Http)
        .send()
        .await
        .unwrap();
    let id = api.api_id().unwrap();
    // `$default` is sent as %24default and signed double-encoded; the ARN path holds ':' and '/'.
    c.create_stage()
        .api_id(id)
        .stage_name("$default")
        .send()
        .await
        .unwrap();
    let stage = c
        .get_stage()
        .api_id(id)
        .stage_name("$default")
        .send()
        .await
        .unwrap();
    assert_eq!(stage.stage_name(), Some("$default"));
    let listed = c.get_apis().max_results("1").send().await.unwrap();
    assert_eq!(listed.items().len(), 1);
    let arn = format!("arn:aws:apigateway:eu-west-1::/apis/{id}");
    c.tag_resource()
        .resource_arn(&arn)
        .tags("team", "a b/c")
        .send()
        .await
        .unwrap();
    let tags = c.get_tags().resource_arn(&arn).send().await.unwrap();
    assert_eq!(
        tags.tags().unwrap().get("team").map(String::as_str),
        Some("a b/c")
    );
    c.untag_resource()
        .resource_arn(&arn)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    // The second configured key works too, and sees the same region's state.
    let other = client(&s, "AKIDSECOND", "two");
    assert_eq!(other.get_apis().send().await.unwrap().items().len(), 1);

    let cc = cc_client(&s, "AKIDOPERATOR", "op3r4tor/Secret+Key");
    let listed = cc
        .list_resources()
        .type_name("AWS::ApiGatewayV2::Integration")
        .resource_model(format!("{{\"ApiId\":\"{id}\"}}"))
        .send()
        .await
        .unwrap();
    assert!(listed.resource_descriptions().is_empty());
}

#[tokio::test]
async fn a_wrong_secret_or_unknown_key_is_refused_as_aws_does() {
    let s = start();
    let wrong = client(&s, "AKIDOPERATOR", "not-the-secret");
    let e = wrong.get_apis().send().await.unwrap_err();
    assert_eq!(e.raw_response().unwrap().status().as_u16(), 403);
    let (code, message) = err_code(&e);
    assert_eq!(code, "InvalidSignatureException");
    assert!(
        message.starts_with("The request signature we calculated does not match"),
        "{message}"
    );

    let unknown = client(&s, "AKIDSTRANGER", "op3r4tor/Secret+Key");
    let e = unknown
        .create_api()
        .name("x")
        .protocol_type(apigw::types::ProtocolType::Http)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err_code(&e),
        (
            "UnrecognizedClientException".to_string(),
            "The security token included in the request is invalid.".to_string()
        )
    );
    // Nothing was created by the refused requests.
    let good = client(&s, "AKIDOPERATOR", "op3r4tor/Secret+Key");
    assert!(good.get_apis().send().await.unwrap().items().is_empty());

    let cc = cc_client(&s, "AKIDOPERATOR", "wrong");
    let e = cc
        .list_resources()
        .type_name("AWS::ApiGatewayV2::Integration")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidSignatureException"));
}

#[test]
fn an_unsigned_or_forged_request_gets_403() {
    let s = start();
    // `raw` sends a SigV4-shaped header with a made-up signature and no X-Amz-Date.
    let r = raw(s.addr, "GET", "/v2/apis", b"", "us-east-1");
    assert_eq!(r.status, 403);
    assert_eq!(
        r.header("x-amzn-ErrorType"),
        Some("IncompleteSignatureException")
    );
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("'X-Amz-Date'"),
        "{}",
        r.body
    );

    let mut stream = std::net::TcpStream::connect(s.addr).unwrap();
    use std::io::{Read, Write};
    write!(
        stream,
        "GET /v2/apis HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        s.addr
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.1 403"), "{text}");
    assert!(
        text.contains("x-amzn-errortype: MissingAuthenticationTokenException"),
        "{text}"
    );
    assert!(
        text.ends_with(r#"{"message":"Missing Authentication Token"}"#),
        "{text}"
    );
}

#[test]
fn the_data_plane_is_not_behind_the_signature_check() {
    let s = start();
    // An unsigned data-plane request reaches the data plane (no such API: its 404), not a 403.
    let mut stream = std::net::TcpStream::connect(s.addr).unwrap();
    use std::io::{Read, Write};
    write!(
        stream,
        "GET /_aws/execute-api/nosuchapi/$default/pets HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        s.addr
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.1 404"), "{text}");
    assert!(text.ends_with(r#"{"message":"Not Found"}"#), "{text}");
}

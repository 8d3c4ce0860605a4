//! One grammar for parameter mappings: expressions the data plane cannot evaluate are refused
//! at create and update time with AWS's message, instead of being stored and then failing
//! every call of the route with a 500.

#![allow(clippy::unwrap_used)]

use aws_sdk_apigatewayv2 as apigw;

use apigw::types::IntegrationType;

use crate::common::*;

const REGION: &str = "us-east-1";

fn bad(code_msg: (String, String)) -> String {
    assert_eq!(code_msg.0, "BadRequestException", "message: {}", code_msg.1);
    code_msg.1
}

#[tokio::test]
async fn json_path_filters_and_wildcards_are_refused_when_created_or_updated() {
    let server = Server::start();
    let c = server.client(REGION);
    let api = http_api(&c).await;
    let create = || {
        c.create_integration()
            .api_id(&api)
            .integration_type(IntegrationType::HttpProxy)
            .integration_uri("https://example.com/{proxy}")
            .integration_method("ANY")
    };
    let kept = create()
        .request_parameters("append:header.x-a", "$request.body.a[0]")
        .send()
        .await
        .unwrap();
    let id = kept.integration_id().unwrap();

    for value in ["$request.body.a[?(@.x)]", "$request.body.a[*]"] {
        let expected = format!(
            "Invalid mapping expression specified: Validation Result: warnings : [], \
             errors : [Invalid source: {value} specified for destination: append:header.x-a]"
        );
        let e = create()
            .request_parameters("append:header.x-a", value)
            .send()
            .await
            .unwrap_err();
        assert_eq!(bad(err_code(&e)), expected);
        let e = c
            .update_integration()
            .api_id(&api)
            .integration_id(id)
            .request_parameters("append:header.x-a", value)
            .send()
            .await
            .unwrap_err();
        assert_eq!(bad(err_code(&e)), expected);
    }

    let got = c
        .get_integration()
        .api_id(&api)
        .integration_id(id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.request_parameters().unwrap()["append:header.x-a"],
        "$request.body.a[0]"
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

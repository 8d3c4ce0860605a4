//! Cloud Control (`AWS::ApiGatewayV2::Integration`) through aws-sdk-cloudcontrol against the
//! real server: the ProgressEvent lifecycle, CFN ⇄ apigatewayv2 mapping, JSON Patch updates,
//! schema validation, request persistence across restarts and ClientToken idempotency.

#![allow(clippy::unwrap_used)]

use aws_sdk_apigatewayv2 as apigw;
use aws_sdk_cloudcontrol as cc;

use apigw::types::ProtocolType;
use cc::types::{HandlerErrorCode, Operation, OperationStatus, ProgressEvent};
use serde_json::{json, Value};

use crate::common::Server;

const REGION: &str = "eu-central-1";
const TYPE: &str = "AWS::ApiGatewayV2::Integration";

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

async fn http_api(c: &apigw::Client) -> String {
    c.create_api()
        .name("cc")
        .protocol_type(ProtocolType::Http)
        .send()
        .await
        .unwrap()
        .api_id
        .unwrap()
}

async fn create(c: &cc::Client, desired: Value) -> ProgressEvent {
    c.create_resource()
        .type_name(TYPE)
        .desired_state(desired.to_string())
        .send()
        .await
        .unwrap()
        .progress_event
        .unwrap()
}

async fn properties(c: &cc::Client, identifier: &str) -> Value {
    let out = c
        .get_resource()
        .type_name(TYPE)
        .identifier(identifier)
        .send()
        .await
        .unwrap();
    assert_eq!(out.type_name(), Some(TYPE));
    let d = out.resource_description().unwrap();
    let props: Value = serde_json::from_str(d.properties().unwrap()).unwrap();
    // Always answered in the string form, whichever form was asked.
    let canonical = format!(
        "{}|{}",
        props["ApiId"].as_str().unwrap(),
        props["IntegrationId"].as_str().unwrap()
    );
    assert_eq!(d.identifier(), Some(canonical.as_str()));
    props
}

fn proxy_model(api: &str) -> Value {
    json!({
        "ApiId": api,
        "IntegrationType": "HTTP_PROXY",
        "IntegrationMethod": "GET",
        "IntegrationUri": "https://example.com/a",
        "PayloadFormatVersion": "1.0",
        "Description": "via cloud control",
        "ResponseParameters": {
            "200": {"ResponseParameters": [{"Destination": "append:header.x-a", "Source": "static"}]}
        }
    })
}

fn assert_failed(ev: &ProgressEvent, code: HandlerErrorCode) -> String {
    assert_eq!(
        ev.operation_status(),
        Some(&OperationStatus::Failed),
        "{ev:?}"
    );
    assert_eq!(ev.error_code(), Some(&code), "{ev:?}");
    ev.status_message().unwrap_or_default().to_string()
}

#[tokio::test]
async fn lifecycle_create_get_update_delete() {
    let server = Server::start();
    let v2 = server.client(REGION);
    let c = server.cc_client(REGION);
    let api = http_api(&v2).await;

    let ev = create(&c, proxy_model(&api)).await;
    assert_eq!(
        ev.operation_status(),
        Some(&OperationStatus::Success),
        "{ev:?}"
    );
    assert_eq!(ev.operation(), Some(&Operation::Create));
    assert!(ev.event_time().is_some());
    let identifier = ev.identifier().unwrap().to_string();
    let (api_part, id) = identifier.split_once('|').unwrap();
    assert_eq!(api_part, api);

    // CFN names and shapes; API-only members are not in the model.
    let props = properties(&c, &identifier).await;
    assert_eq!(props["ApiId"], api);
    assert_eq!(props["IntegrationId"], id);
    assert_eq!(props["IntegrationType"], "HTTP_PROXY");
    assert_eq!(props["TimeoutInMillis"], 30000);
    assert_eq!(
        props["ResponseParameters"],
        json!({"200": {"ResponseParameters": [{"Destination": "append:header.x-a", "Source": "static"}]}})
    );
    assert!(props.get("ApiGatewayManaged").is_none());
    assert!(props
        .get("IntegrationResponseSelectionExpression")
        .is_none());
    let json_id = json!({"IntegrationId": id, "ApiId": api}).to_string();
    assert_eq!(properties(&c, &json_id).await, props);

    // Visible through apigatewayv2, with the API's map shape.
    let got = v2
        .get_integration()
        .api_id(&api)
        .integration_id(id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.description(), Some("via cloud control"));
    let rp = got.response_parameters().unwrap();
    assert_eq!(rp["200"]["append:header.x-a"], "static");

    // And vice versa.
    let made = v2
        .create_integration()
        .api_id(&api)
        .integration_type(apigw::types::IntegrationType::HttpProxy)
        .integration_method("POST")
        .integration_uri("https://example.com/b")
        .send()
        .await
        .unwrap();
    let other = format!("{api}|{}", made.integration_id().unwrap());
    let p2 = properties(&c, &other).await;
    assert_eq!(p2["IntegrationUri"], "https://example.com/b");
    assert_eq!(p2["PayloadFormatVersion"], "1.0");

    // Update with replace / add / remove.
    let patch = json!([
        {"op": "replace", "path": "/IntegrationUri", "value": "https://example.com/c"},
        {"op": "add", "path": "/RequestParameters", "value": {"append:header.h": "$request.header.x"}},
        {"op": "remove", "path": "/ResponseParameters"},
        {"op": "remove", "path": "/Description"}
    ]);
    let ev = c
        .update_resource()
        .type_name(TYPE)
        .identifier(&identifier)
        .patch_document(patch.to_string())
        .send()
        .await
        .unwrap()
        .progress_event
        .unwrap();
    assert_eq!(
        ev.operation_status(),
        Some(&OperationStatus::Success),
        "{ev:?}"
    );
    assert_eq!(ev.operation(), Some(&Operation::Update));
    let props = properties(&c, &identifier).await;
    assert_eq!(props["IntegrationUri"], "https://example.com/c");
    assert_eq!(
        props["RequestParameters"]["append:header.h"],
        "$request.header.x"
    );
    assert!(props.get("ResponseParameters").is_none(), "{props}");
    // The resource is reconciled to exactly the patched model: removed members are unset.
    assert!(props.get("Description").is_none(), "{props}");
    let got = v2
        .get_integration()
        .api_id(&api)
        .integration_id(id)
        .send()
        .await
        .unwrap();
    assert!(got.response_parameters().is_none());
    assert_eq!(got.integration_uri(), Some("https://example.com/c"));

    // Removing a request parameter key clears it.
    let ev = c
        .update_resource()
        .type_name(TYPE)
        .identifier(&identifier)
        .patch_document(json!([{"op": "remove", "path": "/RequestParameters"}]).to_string())
        .send()
        .await
        .unwrap()
        .progress_event
        .unwrap();
    assert_eq!(
        ev.operation_status(),
        Some(&OperationStatus::Success),
        "{ev:?}"
    );
    assert!(properties(&c, &identifier)
        .await
        .get("RequestParameters")
        .is_none());

    // createOnly / readOnly members.
    let ev = c
        .update_resource()
        .type_name(TYPE)
        .identifier(&identifier)
        .patch_document(json!([{"op": "replace", "path": "/ApiId", "value": "zzz"}]).to_string())
        .send()
        .await
        .unwrap()
        .progress_event
        .unwrap();
    assert_failed(&ev, HandlerErrorCode::NotUpdatable);
    let ev = c
        .update_resource()
        .type_name(TYPE)
        .identifier(&identifier)
        .patch_document(
            json!([{"op": "replace", "path": "/TimeoutInMillis", "value": "slow"}]).to_string(),
        )
        .send()
        .await
        .unwrap()
        .progress_event
        .unwrap();
    assert_failed(&ev, HandlerErrorCode::InvalidRequest);

    // List with and without ApiId.
    let listed = c
        .list_resources()
        .type_name(TYPE)
        .resource_model(json!({"ApiId": api}).to_string())
        .send()
        .await
        .unwrap();
    let mut ids: Vec<&str> = listed
        .resource_descriptions()
        .iter()
        .map(|d| d.identifier().unwrap())
        .collect();
    ids.sort();
    let mut want = vec![identifier.as_str(), other.as_str()];
    want.sort();
    assert_eq!(ids, want);
    let e = c.list_resources().type_name(TYPE).send().await.unwrap_err();
    let (code, msg) = cc_code(&e);
    assert_eq!(code, "InvalidRequestException");
    assert_eq!(msg, "Missing or invalid ResourceModel property in AWS::ApiGatewayV2::Integration list handler request input.Required property: (#: required key [ApiId] not found)");

    // Delete, then it is gone; deleting again fails with NotFound.
    let ev = c
        .delete_resource()
        .type_name(TYPE)
        .identifier(&identifier)
        .send()
        .await
        .unwrap()
        .progress_event
        .unwrap();
    assert_eq!(
        ev.operation_status(),
        Some(&OperationStatus::Success),
        "{ev:?}"
    );
    assert_eq!(ev.operation(), Some(&Operation::Delete));
    let e = c
        .get_resource()
        .type_name(TYPE)
        .identifier(&identifier)
        .send()
        .await
        .unwrap_err();
    assert_eq!(cc_code(&e).0, "ResourceNotFoundException");
    let ev = c
        .delete_resource()
        .type_name(TYPE)
        .identifier(&identifier)
        .send()
        .await
        .unwrap()
        .progress_event
        .unwrap();
    assert_failed(&ev, HandlerErrorCode::NotFound);
}

#[tokio::test]
async fn validation_failures_are_failed_invalid_request() {
    let server = Server::start();
    let v2 = server.client(REGION);
    let c = server.cc_client(REGION);
    let api = http_api(&v2).await;

    let mut extra = proxy_model(&api);
    extra["Bogus"] = json!(1);
    let msg = assert_failed(&create(&c, extra).await, HandlerErrorCode::InvalidRequest);
    assert!(msg.contains("extraneous key [Bogus]"), "{msg}");

    let mut wrong = proxy_model(&api);
    wrong["TimeoutInMillis"] = json!("thirty");
    let msg = assert_failed(&create(&c, wrong).await, HandlerErrorCode::InvalidRequest);
    assert!(msg.contains("TimeoutInMillis"), "{msg}");

    let msg = assert_failed(
        &create(&c, json!({"ApiId": api})).await,
        HandlerErrorCode::InvalidRequest,
    );
    assert!(msg.contains("required key [IntegrationType]"), "{msg}");

    let mut read_only = proxy_model(&api);
    read_only["IntegrationId"] = json!("abc1234");
    assert_failed(
        &create(&c, read_only).await,
        HandlerErrorCode::InvalidRequest,
    );

    // The service's own rules: an HTTP API rejects MOCK.
    let msg = assert_failed(
        &create(&c, json!({"ApiId": api, "IntegrationType": "MOCK"})).await,
        HandlerErrorCode::InvalidRequest,
    );
    assert!(msg.contains("proxy integrations"), "{msg}");

    // A missing API is NotFound.
    assert_failed(
        &create(&c, proxy_model("nosuchapi0")).await,
        HandlerErrorCode::NotFound,
    );

    let e = c
        .get_resource()
        .type_name("AWS::ApiGatewayV2::Nope")
        .identifier("a|b")
        .send()
        .await
        .unwrap_err();
    assert_eq!(cc_code(&e).0, "TypeNotFoundException");
    let e = c
        .create_resource()
        .type_name("AWS::S3::Bucket")
        .desired_state("{}")
        .send()
        .await
        .unwrap_err();
    assert_eq!(cc_code(&e).0, "TypeNotFoundException");
}

#[tokio::test]
async fn client_token_idempotency_and_conflict() {
    let server = Server::start();
    let v2 = server.client(REGION);
    let c = server.cc_client(REGION);
    let api = http_api(&v2).await;

    let send = |model: Value| {
        c.create_resource()
            .type_name(TYPE)
            .client_token("token-1")
            .desired_state(model.to_string())
            .send()
    };
    let first = send(proxy_model(&api))
        .await
        .unwrap()
        .progress_event
        .unwrap();
    let again = send(proxy_model(&api))
        .await
        .unwrap()
        .progress_event
        .unwrap();
    assert_eq!(first.request_token(), again.request_token());
    assert_eq!(first.identifier(), again.identifier());
    let all = v2.get_integrations().api_id(&api).send().await.unwrap();
    assert_eq!(all.items().len(), 1, "the repeat did not create again");

    let mut changed = proxy_model(&api);
    changed["Description"] = json!("different");
    let e = send(changed.clone()).await.unwrap_err();
    assert_eq!(cc_code(&e).0, "ClientTokenConflictException");

    // Used tokens are durable: after a restart the repeat still answers the original event.
    let dir = server.data_dir.clone();
    let mut server = server;
    server.kill();
    let second = Server::start_in(&dir);
    let c = second.cc_client(REGION);
    let after = c
        .create_resource()
        .type_name(TYPE)
        .client_token("token-1")
        .desired_state(proxy_model(&api).to_string())
        .send()
        .await
        .unwrap()
        .progress_event
        .unwrap();
    assert_eq!(after.request_token(), first.request_token());
    let e = c
        .create_resource()
        .type_name(TYPE)
        .client_token("token-1")
        .desired_state(changed.to_string())
        .send()
        .await
        .unwrap_err();
    assert_eq!(cc_code(&e).0, "ClientTokenConflictException");
}

/// Concurrent CreateResource calls with one new ClientToken: exactly one runs, every caller gets
/// its ProgressEvent.
#[tokio::test]
async fn concurrent_requests_with_one_client_token_run_once() {
    const N: usize = 16;
    let server = Server::start();
    let v2 = server.client(REGION);
    let c = server.cc_client(REGION);
    let api = http_api(&v2).await;

    let calls: Vec<_> = (0..N)
        .map(|_| {
            let c = c.clone();
            let model = proxy_model(&api).to_string();
            tokio::spawn(async move {
                c.create_resource()
                    .type_name(TYPE)
                    .client_token("concurrent-token")
                    .desired_state(model)
                    .send()
                    .await
            })
        })
        .collect();
    let mut tokens = Vec::new();
    for call in calls {
        let event = call.await.unwrap().unwrap().progress_event.unwrap();
        assert_eq!(event.operation_status(), Some(&OperationStatus::Success));
        tokens.push(event.request_token().unwrap().to_string());
    }
    tokens.sort();
    tokens.dedup();
    assert_eq!(
        tokens.len(),
        1,
        "all callers got the same request: {tokens:?}"
    );
    let all = v2.get_integrations().api_id(&api).send().await.unwrap();
    assert_eq!(all.items().len(), 1, "exactly one integration was created");
}

/// Concurrent calls with one ClientToken but two different requests: one request runs; callers
/// of the same request get its event, callers of the other get ClientTokenConflictException.
#[tokio::test]
async fn concurrent_different_requests_with_one_client_token_conflict() {
    let server = Server::start();
    let v2 = server.client(REGION);
    let c = server.cc_client(REGION);
    let api = http_api(&v2).await;
    let mut other = proxy_model(&api);
    other["Description"] = json!("other");

    let calls: Vec<_> = (0..16)
        .map(|i| {
            let c = c.clone();
            let model = if i % 2 == 0 {
                proxy_model(&api)
            } else {
                other.clone()
            };
            tokio::spawn(async move {
                let out = c
                    .create_resource()
                    .type_name(TYPE)
                    .client_token("contended-token")
                    .desired_state(model.to_string())
                    .send()
                    .await;
                (i % 2, out)
            })
        })
        .collect();
    let mut winners = std::collections::BTreeMap::new();
    let mut conflicts = [0, 0];
    for call in calls {
        match call.await.unwrap() {
            (side, Ok(out)) => {
                let token = out.progress_event.unwrap().request_token.unwrap();
                winners.entry(side).or_insert_with(Vec::new).push(token);
            }
            (side, Err(e)) => {
                assert_eq!(cc_code(&e).0, "ClientTokenConflictException");
                conflicts[side] += 1;
            }
        }
    }
    assert_eq!(winners.len(), 1, "only one of the two requests ran");
    let (side, mut tokens) = winners.into_iter().next().unwrap();
    assert_eq!(tokens.len(), 8);
    tokens.sort();
    tokens.dedup();
    assert_eq!(
        tokens.len(),
        1,
        "callers of the winning request share its event"
    );
    assert_eq!(conflicts[1 - side], 8);
    let all = v2.get_integrations().api_id(&api).send().await.unwrap();
    assert_eq!(all.items().len(), 1);
}

#[tokio::test]
async fn requests_survive_a_restart() {
    let first = Server::start();
    let dir = first.data_dir.clone();
    let api = http_api(&first.client(REGION)).await;
    let c = first.cc_client(REGION);
    let ok = create(&c, proxy_model(&api)).await;
    let failed = create(&c, json!({"ApiId": api, "IntegrationType": "MOCK"})).await;
    let mut first = first;
    first.kill();

    let second = Server::start_in(&dir);
    let c = second.cc_client(REGION);
    let status = c
        .get_resource_request_status()
        .request_token(ok.request_token().unwrap())
        .send()
        .await
        .unwrap()
        .progress_event
        .unwrap();
    assert_eq!(status.operation_status(), Some(&OperationStatus::Success));
    assert_eq!(status.identifier(), ok.identifier());
    assert_eq!(status.event_time(), ok.event_time());

    // Filters and pagination.
    let all = c.list_resource_requests().send().await.unwrap();
    assert_eq!(all.resource_request_status_summaries().len(), 2);
    let only_failed = c
        .list_resource_requests()
        .resource_request_status_filter(
            cc::types::ResourceRequestStatusFilter::builder()
                .operation_statuses(OperationStatus::Failed)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let s = only_failed.resource_request_status_summaries();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].request_token(), failed.request_token());
    let page1 = c
        .list_resource_requests()
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(page1.resource_request_status_summaries().len(), 1);
    let page2 = c
        .list_resource_requests()
        .max_results(1)
        .next_token(page1.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page2.resource_request_status_summaries().len(), 1);
    assert!(page2.next_token().is_none());
    assert_ne!(
        page1.resource_request_status_summaries()[0].request_token(),
        page2.resource_request_status_summaries()[0].request_token()
    );

    // Terminal requests cannot be cancelled; unknown tokens are not found.
    let e = c
        .cancel_resource_request()
        .request_token(ok.request_token().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(cc_code(&e).0, "ConcurrentModificationException");
    let e = c
        .get_resource_request_status()
        .request_token("no-such-token")
        .send()
        .await
        .unwrap_err();
    assert_eq!(cc_code(&e).0, "RequestTokenNotFoundException");
}

/// One raw awsJson1_0 exchange: (status, headers lower-cased, body).
fn raw_cc(server: &Server, target: &str, body: &str) -> (u16, String, Value) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(server.addr).unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/x-amz-json-1.0\r\n\
         X-Amz-Target: {target}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/{REGION}/cloudcontrolapi/aws4_request, SignedHeaders=host, Signature=00\r\n\
         Content-Length: {}\r\n\r\n{body}",
        server.addr,
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let (head, body) = buf.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (
        status,
        head.to_ascii_lowercase(),
        serde_json::from_str(body).unwrap(),
    )
}

#[tokio::test]
async fn wire_shapes() {
    let server = Server::start();
    let (status, head, body) = raw_cc(&server, "CloudApiService.Frobnicate", "{}");
    assert_eq!(status, 400);
    assert!(
        head.contains("x-amzn-errortype: unknownoperationexception"),
        "{head}"
    );
    assert_eq!(body["__type"], "UnknownOperationException");
    assert!(body["Message"].is_string());

    let (status, head, body) = raw_cc(
        &server,
        "CloudApiService.ListResources",
        r#"{"TypeName":"AWS::ApiGatewayV2::Integration","ResourceModel":"{}"}"#,
    );
    assert_eq!(status, 400);
    assert!(
        head.contains("content-type: application/x-amz-json-1.0"),
        "{head}"
    );
    assert_eq!(body["__type"], "InvalidRequestException");

    let api = http_api(&server.client(REGION)).await;
    let desired = json!({"ApiId": api, "IntegrationType": "MOCK"}).to_string();
    let req = json!({"TypeName": TYPE, "DesiredState": desired}).to_string();
    let (status, _, body) = raw_cc(&server, "CloudApiService.CreateResource", &req);
    assert_eq!(status, 200);
    let ev = &body["ProgressEvent"];
    assert_eq!(ev["OperationStatus"], "FAILED");
    assert_eq!(ev["ErrorCode"], "InvalidRequest");
    assert!(ev["EventTime"].is_f64(), "{ev}");
}

/// Waits like Pulumi's awaiter (provider/pkg/client/awaiter.go): SUCCESS → done, FAILED → error
/// event, PENDING/IN_PROGRESS → poll GetResourceRequestStatus again.
async fn await_request(c: &cc::Client, first: ProgressEvent) -> ProgressEvent {
    let mut event = first;
    for _ in 0..50 {
        match event.operation_status() {
            Some(OperationStatus::Success) | Some(OperationStatus::Failed) => return event,
            Some(OperationStatus::Pending) | Some(OperationStatus::InProgress) => {}
            other => panic!("unexpected status {other:?} in {event:?}"),
        }
        event = c
            .get_resource_request_status()
            .request_token(event.request_token().unwrap())
            .send()
            .await
            .unwrap()
            .progress_event
            .unwrap();
    }
    panic!("request never finished: {event:?}");
}

/// Pulumi aws-native's call sequence for an Integration (control-plane.md §3.4), step by step:
/// create (new ClientToken) → wait → GetResource; update (JSON Patch) → wait → GetResource;
/// delete → wait; a second delete ends FAILED/NotFound, which Pulumi treats as gone; and a
/// Read of the deleted resource is a ResourceNotFoundException.
#[tokio::test]
async fn pulumi_aws_native_lifecycle_replay() {
    let server = Server::start();
    let c = server.cc_client(REGION);
    let v2 = server.client(REGION);
    let api = http_api(&v2).await;

    // Create: DesiredState with CFN names, as the generated SDK's inputs serialise.
    let desired = json!({
        "ApiId": api,
        "IntegrationType": "HTTP_PROXY",
        "IntegrationUri": "https://example.com/{proxy}",
        "IntegrationMethod": "ANY",
        "PayloadFormatVersion": "1.0",
        "TimeoutInMillis": 10000,
        "ResponseParameters": {"500": {"ResponseParameters": [
            {"Destination": "overwrite:statuscode", "Source": "503"}]}}
    });
    let first = c
        .create_resource()
        .type_name(TYPE)
        .desired_state(desired.to_string())
        .client_token("pulumi-create-0001")
        .send()
        .await
        .unwrap()
        .progress_event
        .unwrap();
    let done = await_request(&c, first.clone()).await;
    assert_eq!(
        done.operation_status(),
        Some(&OperationStatus::Success),
        "{done:?}"
    );
    assert_eq!(done.request_token(), first.request_token());
    let identifier = done.identifier().unwrap().to_string();
    assert!(identifier.starts_with(&format!("{api}|")), "{identifier}");

    // Read right after create: the outputs Pulumi stores.
    let outputs = properties(&c, &identifier).await;
    assert_eq!(outputs["ApiId"], api);
    assert_eq!(outputs["IntegrationType"], "HTTP_PROXY");
    assert_eq!(outputs["TimeoutInMillis"], 10000);
    assert_eq!(outputs["ConnectionType"], "INTERNET");
    assert_eq!(
        outputs["ResponseParameters"]["500"]["ResponseParameters"][0]["Destination"],
        "overwrite:statuscode"
    );
    assert!(outputs.get("ApiGatewayManaged").is_none(), "{outputs}");

    // Update: Pulumi diffs inputs and sends RFC 6902 ops on CFN paths.
    let patch = json!([
        {"op": "replace", "path": "/TimeoutInMillis", "value": 20000},
        {"op": "remove", "path": "/ResponseParameters"},
        {"op": "add", "path": "/Description", "value": "managed by pulumi"}
    ]);
    let first = c
        .update_resource()
        .type_name(TYPE)
        .identifier(&identifier)
        .patch_document(patch.to_string())
        .client_token("pulumi-update-0001")
        .send()
        .await
        .unwrap()
        .progress_event
        .unwrap();
    let done = await_request(&c, first).await;
    assert_eq!(
        done.operation_status(),
        Some(&OperationStatus::Success),
        "{done:?}"
    );
    let outputs = properties(&c, &identifier).await;
    assert_eq!(outputs["TimeoutInMillis"], 20000);
    assert_eq!(outputs["Description"], "managed by pulumi");
    assert!(outputs.get("ResponseParameters").is_none(), "{outputs}");
    // The apigatewayv2 API sees the same integration.
    let (api_part, id_part) = identifier.split_once('|').unwrap();
    let seen = v2
        .get_integration()
        .api_id(api_part)
        .integration_id(id_part)
        .send()
        .await
        .unwrap();
    assert_eq!(seen.timeout_in_millis(), Some(20000));
    assert_eq!(seen.description(), Some("managed by pulumi"));

    // Delete, then wait.
    let first = c
        .delete_resource()
        .type_name(TYPE)
        .identifier(&identifier)
        .client_token("pulumi-delete-0001")
        .send()
        .await
        .unwrap()
        .progress_event
        .unwrap();
    let done = await_request(&c, first).await;
    assert_eq!(
        done.operation_status(),
        Some(&OperationStatus::Success),
        "{done:?}"
    );
    assert_eq!(done.operation(), Some(&Operation::Delete));

    // A repeated delete (e.g. a retried `pulumi destroy`) ends FAILED/NotFound: "already gone".
    let first = c
        .delete_resource()
        .type_name(TYPE)
        .identifier(&identifier)
        .client_token("pulumi-delete-0002")
        .send()
        .await
        .unwrap()
        .progress_event
        .unwrap();
    let done = await_request(&c, first).await;
    assert_eq!(
        done.operation_status(),
        Some(&OperationStatus::Failed),
        "{done:?}"
    );
    assert_eq!(done.error_code(), Some(&HandlerErrorCode::NotFound));

    // Read after delete: Pulumi's "resource does not exist" signal.
    let e = c
        .get_resource()
        .type_name(TYPE)
        .identifier(&identifier)
        .send()
        .await
        .unwrap_err();
    assert_eq!(cc_code(&e).0, "ResourceNotFoundException");
    let e = v2
        .get_integration()
        .api_id(api_part)
        .integration_id(id_part)
        .send()
        .await
        .unwrap_err();
    assert_eq!(crate::common::err_code(&e).0, "NotFoundException");
}

/// Concurrent patches of one resource: each is applied whole or refused with
/// ConcurrentOperationException, never half-merged into another's result.
#[tokio::test]
async fn concurrent_updates_of_one_resource_apply_whole_or_are_refused() {
    const N: usize = 16;
    let server = Server::start();
    let v2 = server.client(REGION);
    let c = server.cc_client(REGION);
    let api = http_api(&v2).await;
    let created = create(&c, proxy_model(&api)).await;
    let id = created.identifier().unwrap().to_string();

    let calls: Vec<_> = (0..N)
        .map(|i| {
            let c = c.clone();
            let id = id.clone();
            let patch = json!([
                {"op": "replace", "path": "/Description", "value": format!("patch {i}")},
                {"op": "replace", "path": "/TimeoutInMillis", "value": 1000 + i}
            ])
            .to_string();
            tokio::spawn(async move {
                c.update_resource()
                    .type_name(TYPE)
                    .identifier(id)
                    .patch_document(patch)
                    .send()
                    .await
            })
        })
        .collect();
    let mut applied = Vec::new();
    for (i, call) in calls.into_iter().enumerate() {
        match call.await.unwrap() {
            Ok(out) => {
                let ev = out.progress_event.unwrap();
                assert_eq!(
                    ev.operation_status(),
                    Some(&OperationStatus::Success),
                    "{ev:?}"
                );
                applied.push(i);
            }
            Err(e) => assert_eq!(
                cc_code(&e),
                (
                    "ConcurrentOperationException".to_string(),
                    "Another resource operation is currently being performed on this resource"
                        .to_string()
                )
            ),
        }
    }
    assert!(!applied.is_empty(), "at least one patch ran");
    let props = properties(&c, &id).await;
    let description = props["Description"].as_str().unwrap().to_string();
    let i: usize = description.strip_prefix("patch ").unwrap().parse().unwrap();
    assert!(
        applied.contains(&i),
        "the result is an applied patch: {description}"
    );
    assert_eq!(
        props["TimeoutInMillis"],
        json!(1000 + i),
        "both members of one patch"
    );
}

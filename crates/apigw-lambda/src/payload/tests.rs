//! Events compared with the spec's examples (data-plane.md §4.2, §4.3) field by field, and
//! the response rules of §4.5/§4.6.

use std::time::{Duration, UNIX_EPOCH};

use serde_json::{json, Value};

use super::*;

fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Same keys in the same order, recursively, and equal values.
fn assert_same(got: &Value, want: &Value, at: &str) {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            let gk: Vec<&String> = g.keys().collect();
            let wk: Vec<&String> = w.keys().collect();
            assert_eq!(gk, wk, "keys at {at}");
            for (k, wv) in w {
                assert_same(&g[k], wv, &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(got, want, "value at {at}"),
    }
}

fn doc_v2_request() -> ProxyRequest {
    ProxyRequest {
        method: "POST".into(),
        raw_path: "/my/path".into(),
        raw_query: "parameter1=value1&parameter1=value2&parameter2=value".into(),
        headers: h(&[
            ("Header1", "value1"),
            ("Cookie", "cookie1; cookie2"),
            ("header2", "value1"),
            ("Header2", "value2"),
            ("User-Agent", "agent"),
            ("Content-Type", "text/plain"),
        ]),
        body: Bytes::from_static(b"Hello from Lambda"),
        path_parameters: h(&[("parameter1", "value1")]),
        stage_variables: h(&[("stageVariable1", "value1"), ("stageVariable2", "value2")]),
        route_key: "$default".into(),
        stage: "$default".into(),
        api_id: "api-id".into(),
        account_id: "123456789012".into(),
        request_id: "id".into(),
        domain_name: "id.execute-api.us-east-1.amazonaws.com".into(),
        source_ip: "192.0.2.1".into(),
        protocol: "HTTP/1.1".into(),
        time: UNIX_EPOCH + Duration::from_millis(1_583_348_638_390),
        authorizer: Some(
            json!({"jwt": {"claims": {"claim1": "value1", "claim2": "value2"},
                                        "scopes": ["scope1", "scope2"]}}),
        ),
    }
}

#[test]
fn v2_matches_the_doc_example() {
    // The doc example of §4.2, with: `authentication` removed (mutual TLS only); the headers
    // our request really had (user-agent, content-type) added; `time` rendered from its
    // `timeEpoch` (the doc's "12/Mar/2020" and 1583348638390 disagree: the epoch is 4 March).
    let want = json!({
      "version": "2.0",
      "routeKey": "$default",
      "rawPath": "/my/path",
      "rawQueryString": "parameter1=value1&parameter1=value2&parameter2=value",
      "cookies": ["cookie1", "cookie2"],
      "headers": {
        "header1": "value1",
        "header2": "value1,value2",
        "user-agent": "agent",
        "content-type": "text/plain"
      },
      "queryStringParameters": {"parameter1": "value1,value2", "parameter2": "value"},
      "requestContext": {
        "accountId": "123456789012",
        "apiId": "api-id",
        "authorizer": {"jwt": {"claims": {"claim1": "value1", "claim2": "value2"},
                               "scopes": ["scope1", "scope2"]}},
        "domainName": "id.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "id",
        "http": {
          "method": "POST",
          "path": "/my/path",
          "protocol": "HTTP/1.1",
          "sourceIp": "192.0.2.1",
          "userAgent": "agent"
        },
        "requestId": "id",
        "routeKey": "$default",
        "stage": "$default",
        "time": "04/Mar/2020:19:03:58 +0000",
        "timeEpoch": 1583348638390u64
      },
      "body": "Hello from Lambda",
      "pathParameters": {"parameter1": "value1"},
      "isBase64Encoded": false,
      "stageVariables": {"stageVariable1": "value1", "stageVariable2": "value2"}
    });
    assert_same(&event_v2(&doc_v2_request()), &want, "$");
}

#[test]
fn v2_matches_the_captured_minimal_event() {
    // aws-lambda-go's apigw-v2-request-no-authorizer.json (§4.2), minus mutual TLS.
    let req = ProxyRequest {
        method: "GET".into(),
        raw_path: "/".into(),
        raw_query: "".into(),
        headers: h(&[
            ("accept", "*/*"),
            ("content-length", "0"),
            ("host", "aaaaaaaaaa.execute-api.us-west-2.amazonaws.com"),
            ("user-agent", "curl/7.58.0"),
            (
                "x-amzn-trace-id",
                "Root=1-5e9f0c65-1de4d666d4dd26aced652b6c",
            ),
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-port", "443"),
            ("x-forwarded-proto", "https"),
        ]),
        body: Bytes::new(),
        path_parameters: vec![],
        stage_variables: vec![],
        route_key: "$default".into(),
        stage: "$default".into(),
        api_id: "aaaaaaaaaa".into(),
        account_id: "123456789012".into(),
        request_id: "LV7fzho-PHcEJPw=".into(),
        domain_name: "aaaaaaaaaa.execute-api.us-west-2.amazonaws.com".into(),
        source_ip: "1.2.3.4".into(),
        protocol: "HTTP/1.1".into(),
        time: UNIX_EPOCH + Duration::from_millis(1_587_481_701_067),
        authorizer: None,
    };
    let want = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": {
            "accept": "*/*",
            "content-length": "0",
            "host": "aaaaaaaaaa.execute-api.us-west-2.amazonaws.com",
            "user-agent": "curl/7.58.0",
            "x-amzn-trace-id": "Root=1-5e9f0c65-1de4d666d4dd26aced652b6c",
            "x-forwarded-for": "1.2.3.4",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https"
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "aaaaaaaaaa",
            "domainName": "aaaaaaaaaa.execute-api.us-west-2.amazonaws.com",
            "domainPrefix": "aaaaaaaaaa",
            "http": {
                "method": "GET",
                "path": "/",
                "protocol": "HTTP/1.1",
                "sourceIp": "1.2.3.4",
                "userAgent": "curl/7.58.0"
            },
            "requestId": "LV7fzho-PHcEJPw=",
            "routeKey": "$default",
            "stage": "$default",
            "time": "21/Apr/2020:15:08:21 +0000",
            "timeEpoch": 1587481701067u64
        },
        "isBase64Encoded": false
    });
    assert_same(&event_v2(&req), &want, "$");
}

#[test]
fn v1_matches_the_doc_example() {
    // The doc example of §4.3, with: `identity.clientCert` removed (mutual TLS only); the
    // content-type and user-agent headers our request had added; the single-value query
    // parameter1 is the LAST value (spec §10 #10; the doc shows the first).
    let mut req = doc_v2_request();
    req.method = "GET".into();
    req.headers = h(&[
        ("header1", "value1"),
        ("header2", "value1"),
        ("header2", "value2"),
        ("user-agent", "user-agent"),
        ("content-type", "text/plain"),
    ]);
    req.raw_query = "parameter1=value1&parameter1=value2&parameter2=value".into();
    req.body = Bytes::from_static(b"Hello from Lambda!");
    req.path_parameters = vec![];
    req.stage_variables = vec![];
    req.api_id = "id".into();
    req.request_id = "id=".into();
    req.route_key = "$default".into();
    req.time = UNIX_EPOCH + Duration::from_millis(1_583_349_317_135);
    req.authorizer = None;
    let want = json!({
      "version": "1.0",
      "resource": "/my/path",
      "path": "/my/path",
      "httpMethod": "GET",
      "headers": {"header1": "value1", "header2": "value2", "user-agent": "user-agent",
                  "content-type": "text/plain"},
      "multiValueHeaders": {"header1": ["value1"], "header2": ["value1", "value2"],
                            "user-agent": ["user-agent"], "content-type": ["text/plain"]},
      "queryStringParameters": {"parameter1": "value2", "parameter2": "value"},
      "multiValueQueryStringParameters": {"parameter1": ["value1", "value2"],
                                          "parameter2": ["value"]},
      "requestContext": {
        "accountId": "123456789012",
        "apiId": "id",
        "authorizer": {"claims": null, "scopes": null},
        "domainName": "id.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "id",
        "extendedRequestId": "id=",
        "httpMethod": "GET",
        "identity": {
          "accessKey": null,
          "accountId": null,
          "caller": null,
          "cognitoAuthenticationProvider": null,
          "cognitoAuthenticationType": null,
          "cognitoIdentityId": null,
          "cognitoIdentityPoolId": null,
          "principalOrgId": null,
          "sourceIp": "192.0.2.1",
          "user": null,
          "userAgent": "user-agent",
          "userArn": null
        },
        "path": "/my/path",
        "protocol": "HTTP/1.1",
        "requestId": "id=",
        "requestTime": "04/Mar/2020:19:15:17 +0000",
        "requestTimeEpoch": 1583349317135u64,
        "resourceId": null,
        "resourcePath": "/my/path",
        "stage": "$default"
      },
      "pathParameters": null,
      "stageVariables": null,
      "body": "Hello from Lambda!",
      "isBase64Encoded": false
    });
    assert_same(&event_v1(&req), &want, "$");
}

#[test]
fn v1_empty_request_has_nulls() {
    let mut req = doc_v2_request();
    req.headers = vec![];
    req.raw_query = String::new();
    req.body = Bytes::new();
    req.path_parameters = vec![];
    req.stage_variables = vec![];
    let e = event_v1(&req);
    for k in [
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "stageVariables",
        "body",
    ] {
        assert_eq!(e[k], Value::Null, "{k}");
    }
    assert_eq!(e["isBase64Encoded"], false);
    assert_eq!(e["requestContext"]["identity"]["userAgent"], "");
}

#[test]
fn stage_prefix_and_resource() {
    let mut req = doc_v2_request();
    req.stage = "dev".into();
    req.raw_path = "/dev/pets/1".into();
    req.route_key = "GET /pets/{id}".into();
    req.path_parameters = h(&[("id", "1")]);
    let v2 = event_v2(&req);
    assert_eq!(v2["rawPath"], "/dev/pets/1");
    assert_eq!(v2["requestContext"]["http"]["path"], "/dev/pets/1");
    assert_eq!(v2["requestContext"]["stage"], "dev");
    assert_eq!(v2["routeKey"], "GET /pets/{id}");
    let v1 = event_v1(&req);
    assert_eq!(v1["resource"], "/pets/{id}");
    assert_eq!(v1["requestContext"]["resourcePath"], "/pets/{id}");
    assert_eq!(v1["path"], "/dev/pets/1");
    assert_eq!(v1["pathParameters"], json!({"id": "1"}));
    req.route_key = "$default".into();
    assert_eq!(event_v1(&req)["resource"], "/pets/1");
    req.raw_path = "/dev".into();
    assert_eq!(event_v1(&req)["resource"], "/");
    req.raw_path = "/devices".into();
    assert_eq!(event_v1(&req)["resource"], "/devices");
}

#[test]
fn query_values_are_decoded_raw_query_is_not() {
    let mut req = doc_v2_request();
    req.raw_query = "q=a%20b&empty&x=1&x=2".into();
    let v2 = event_v2(&req);
    assert_eq!(v2["rawQueryString"], "q=a%20b&empty&x=1&x=2");
    assert_eq!(
        v2["queryStringParameters"],
        json!({"q": "a b", "empty": "", "x": "1,2"})
    );
    let v1 = event_v1(&req);
    assert_eq!(v1["queryStringParameters"]["x"], "2");
    assert_eq!(
        v1["multiValueQueryStringParameters"]["x"],
        json!(["1", "2"])
    );
}

#[test]
fn body_encoding_by_content_type() {
    let cases: &[(Option<&str>, &[u8], bool)] = &[
        (Some("application/json"), b"{\"a\":1}", false),
        (Some("application/json; charset=utf-8"), b"{}", false),
        (Some("TEXT/HTML"), b"<p>", false),
        (Some("application/xml"), b"<a/>", false),
        (Some("application/javascript"), b"x()", false),
        (Some("application/x-www-form-urlencoded"), b"a=1", true),
        (Some("application/octet-stream"), b"hello world", true),
        (None, b"hello", true),
        (Some("text/plain"), b"\xff\xfe", true),
    ];
    for (ct, body, b64) in cases {
        let mut req = doc_v2_request();
        req.headers = match ct {
            Some(ct) => h(&[("content-type", ct)]),
            None => vec![],
        };
        req.body = Bytes::copy_from_slice(body);
        for e in [event_v2(&req), event_v1(&req)] {
            assert_eq!(e["isBase64Encoded"], *b64, "{ct:?}");
            let want = if *b64 {
                base64::engine::general_purpose::STANDARD.encode(body)
            } else {
                String::from_utf8(body.to_vec()).unwrap()
            };
            assert_eq!(e["body"], want, "{ct:?}");
        }
    }
    let mut req = doc_v2_request();
    req.headers = h(&[("content-type", "application/octet-stream")]);
    req.body = Bytes::from_static(b"hello world");
    assert_eq!(event_v2(&req)["body"], "aGVsbG8gd29ybGQ=");
}

#[test]
fn v2_inferred_results() {
    let r = parse_v2(br#""Hello from Lambda!""#).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(&r.body[..], b"Hello from Lambda!");
    // The function's own JSON text, spacing and all.
    let raw = br#"{ "message": "Hello from Lambda!" }"#;
    let r = parse_v2(raw).unwrap();
    assert_eq!((r.status, &r.body[..]), (200, &raw[..]));
    assert_eq!(
        r.headers,
        vec![("content-type".to_string(), "application/json".to_string())]
    );
    for raw in [&b"[1,2]"[..], b"42", b"true", b"null"] {
        let r = parse_v2(raw).unwrap();
        assert_eq!((r.status, &r.body[..]), (200, raw));
    }
    assert_eq!(parse_v2(b"not json"), Err(PayloadError::NotJson));
    assert_eq!(parse_v2(b""), Err(PayloadError::NotJson));
}

#[test]
fn v2_structured_results() {
    let r = parse_v2(
        br#"{"cookies": ["a=1", "b=2; Path=/"], "isBase64Encoded": false, "statusCode": 201,
            "headers": {"X-Custom": "v", "content-type": "text/html", "x-n": 5},
            "multiValueHeaders": {"x-ignored": ["1"]}, "body": "<p>", "extra": 1}"#,
    )
    .unwrap();
    assert_eq!(r.status, 201);
    assert_eq!(
        r.headers,
        h(&[
            ("X-Custom", "v"),
            ("content-type", "text/html"),
            ("x-n", "5"),
            ("set-cookie", "a=1"),
            ("set-cookie", "b=2; Path=/"),
        ])
    );
    assert_eq!(&r.body[..], b"<p>");
    let r = parse_v2(br#"{"statusCode": 200, "body": "aGk=", "isBase64Encoded": true}"#).unwrap();
    assert_eq!(&r.body[..], b"hi");
    assert_eq!(r.header("content-type"), Some(DEFAULT_CONTENT_TYPE));
    let r = parse_v2(br#"{"statusCode": "204"}"#).unwrap();
    assert_eq!((r.status, r.body.len()), (204, 0));
    assert_eq!(
        parse_v2(br#"{"statusCode": 0}"#),
        Err(PayloadError::InvalidStatusCode)
    );
    assert_eq!(
        parse_v2(br#"{"statusCode": "x"}"#),
        Err(PayloadError::InvalidStatusCode)
    );
    assert_eq!(
        parse_v2(br#"{"statusCode": 200, "body": {"a": 1}}"#),
        Err(PayloadError::InvalidField("body"))
    );
    assert_eq!(
        parse_v2(br#"{"statusCode": 200, "body": "!!", "isBase64Encoded": true}"#),
        Err(PayloadError::InvalidBase64)
    );
    assert_eq!(
        parse_v2(br#"{"statusCode": 200, "headers": {"bad name": "x"}}"#),
        Err(PayloadError::InvalidField("headers"))
    );
}

#[test]
fn v1_results() {
    assert_eq!(parse_v1(br#""hi""#), Err(PayloadError::MissingStatusCode));
    assert_eq!(
        parse_v1(br#"{"body": "hi"}"#),
        Err(PayloadError::MissingStatusCode)
    );
    assert_eq!(parse_v1(b"{"), Err(PayloadError::NotJson));
    let r = parse_v1(
        br#"{"statusCode": 200, "headers": {"a": "1", "content-type": "application/json"},
            "multiValueHeaders": {"a": ["1", "2"], "set-cookie": ["x=1", "y=2"]},
            "body": "{}", "cookies": ["ignored=1"], "unknown": true}"#,
    )
    .unwrap();
    assert_eq!(
        r.headers,
        h(&[
            ("a", "1"),
            ("content-type", "application/json"),
            ("a", "2"),
            ("set-cookie", "x=1"),
            ("set-cookie", "y=2"),
        ])
    );
    let r = parse_v1(br#"{"statusCode": 200, "body": "aGk=", "isBase64Encoded": "true"}"#).unwrap();
    assert_eq!(&r.body[..], b"hi");
    assert_eq!(r.header("content-type"), Some(DEFAULT_CONTENT_TYPE));
}

#[test]
fn integration_outcomes() {
    let ok = |payload: &[u8], function_error: Option<&str>| {
        Ok(crate::InvokeOutcome {
            status: 200,
            payload: Bytes::copy_from_slice(payload),
            function_error: function_error.map(Into::into),
            log_result: None,
            executed_version: Some("$LATEST".into()),
            request_id: "r".into(),
        })
    };
    let r = proxy_response(PayloadFormat::V2, ok(b"\"hi\"", None)).unwrap();
    assert_eq!((r.status, &r.body[..]), (200, &b"hi"[..]));
    let e = proxy_response(PayloadFormat::V1, ok(b"\"hi\"", None)).unwrap_err();
    assert_eq!(e.http(), (500, r#"{"message":"Internal Server Error"}"#));
    let e = proxy_response(PayloadFormat::V2, ok(b"{}", Some("Unhandled"))).unwrap_err();
    assert_eq!(e.http().0, 500);
    let e = proxy_response(PayloadFormat::V2, Err(crate::LambdaError::Timeout)).unwrap_err();
    assert_eq!(e.http(), (503, r#"{"message":"Service Unavailable"}"#));
    let e = proxy_response(
        PayloadFormat::V2,
        Err(crate::LambdaError::ResourceNotFound("arn".into())),
    )
    .unwrap_err();
    assert_eq!(e.http().0, 500);
    assert_eq!(PayloadFormat::parse("2.0"), Some(PayloadFormat::V2));
    assert_eq!(PayloadFormat::parse("3.0"), None);
    assert_eq!(PayloadFormat::V1.event(&doc_v2_request())["version"], "1.0");
}

#[test]
fn authorizer_events_have_the_documented_keys() {
    let req = doc_v2_request();
    let arn = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/request";
    let identity = vec!["user1".to_string(), "123".to_string()];
    let v2 = authorizer_event_v2(&req, arn, &identity);
    assert_eq!(v2["version"], "2.0");
    assert_eq!(v2["type"], "REQUEST");
    assert_eq!(v2["routeArn"], arn);
    assert_eq!(v2["identitySource"], serde_json::json!(["user1", "123"]));
    assert_eq!(v2["routeKey"], req.route_key.as_str());
    assert!(v2.get("body").is_none());
    assert!(v2.get("isBase64Encoded").is_none());
    assert!(v2["requestContext"].get("authorizer").is_none());
    assert_eq!(v2["requestContext"]["http"]["method"], req.method.as_str());

    let v1 = authorizer_event_v1(&req, arn, &identity);
    assert_eq!(v1["version"], "1.0");
    assert_eq!(v1["type"], "REQUEST");
    assert_eq!(v1["methodArn"], arn);
    assert_eq!(v1["identitySource"], "user1,123");
    assert_eq!(v1["authorizationToken"], "user1,123");
    assert_eq!(v1["httpMethod"], req.method.as_str());
    assert!(v1.get("body").is_none());
    let ctx = v1["requestContext"].as_object().expect("object");
    for k in [
        "path",
        "accountId",
        "resourceId",
        "stage",
        "requestId",
        "identity",
        "resourcePath",
        "httpMethod",
        "apiId",
    ] {
        assert!(ctx.contains_key(k), "requestContext.{k}");
    }
    assert_eq!(ctx["identity"]["sourceIp"], req.source_ip.as_str());
}

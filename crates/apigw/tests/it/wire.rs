//! The restJson1 wire format as seen with raw HTTP: status codes, headers, error shapes,
//! body decoding, the SigV4 region, and robustness against garbage.

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use aws_sdk_apigatewayv2::operation::RequestId;
use serde_json::Value;

use crate::common::{err_code, http_api, raw, RawResponse, Server};

const REGION: &str = "us-east-1";

/// Sends `head` + `body` and reads whatever comes back, tolerating the server closing early
/// (the write runs on its own thread, read errors end the response).
fn exchange(addr: SocketAddr, head: String, body: Vec<u8>) -> RawResponse {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut w = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = w.write_all(head.as_bytes());
        let _ = w.write_all(&body);
    });
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let _ = writer.join();
    parse_response(&buf)
}

fn parse_response(buf: &[u8]) -> RawResponse {
    let text = String::from_utf8_lossy(buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status_line = lines
        .next()
        .unwrap_or_else(|| panic!("no response at all: {text:?}"));
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        let mut out = String::new();
        let mut s = body;
        while let Some((size, rest)) = s.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 || rest.len() < n {
                break;
            }
            out.push_str(&rest[..n]);
            s = rest.get(n + 2..).unwrap_or("");
        }
        out
    } else {
        body.to_string()
    };
    RawResponse {
        status,
        headers,
        body,
    }
}

/// A request with no Authorization header at all.
fn raw_unsigned(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> RawResponse {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    exchange(addr, head, body.to_vec())
}

fn assert_no_nulls(v: &Value, at: &str) {
    match v {
        Value::Null => panic!("null at {at}"),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| assert_no_nulls(x, &format!("{at}[{i}]"))),
        Value::Object(o) => o
            .iter()
            .for_each(|(k, x)| assert_no_nulls(x, &format!("{at}.{k}"))),
        _ => {}
    }
}

fn assert_error(r: &RawResponse, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.header("x-amzn-ErrorType"), Some(code), "{:?}", r.headers);
    assert!(
        r.header("x-amzn-RequestId").is_some_and(|v| !v.is_empty()),
        "{:?}",
        r.headers
    );
    let v = r.json();
    assert!(
        v["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        r.body
    );
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{:?}",
        r.headers
    );
}

fn is_iso_z(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 20
        && s.ends_with('Z')
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && s.chars()
            .enumerate()
            .all(|(i, c)| matches!(i, 4 | 7 | 10 | 13 | 16 | 19) || c.is_ascii_digit())
}

fn create_api_raw(server: &Server, body: &str) -> String {
    let r = raw(server.addr, "POST", "/v2/apis", body.as_bytes(), REGION);
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["apiId"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn success_status_codes_and_headers() {
    let server = Server::start();
    let r = raw(
        server.addr,
        "POST",
        "/v2/apis",
        br#"{"name":"w","protocolType":"HTTP"}"#,
        REGION,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let rid1 = r.header("x-amzn-RequestId").unwrap().to_string();
    assert!(!rid1.is_empty());
    let id = r.json()["apiId"].as_str().unwrap().to_string();

    let r = raw(server.addr, "GET", &format!("/v2/apis/{id}"), b"", REGION);
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let rid2 = r.header("x-amzn-RequestId").unwrap().to_string();
    assert_ne!(rid1, rid2, "request ids are per request");
    assert_eq!(r.json()["apiId"], id.as_str());

    let r = raw(
        server.addr,
        "PATCH",
        &format!("/v2/apis/{id}"),
        br#"{"description":"d"}"#,
        REGION,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["description"], "d");

    let r = raw(server.addr, "GET", "/v2/apis", b"", REGION);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
    assert!(r.json().get("nextToken").is_none());

    let r = raw(
        server.addr,
        "DELETE",
        &format!("/v2/apis/{id}"),
        b"",
        REGION,
    );
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty(), "{:?}", r.body);
    assert!(r.header("x-amzn-RequestId").is_some());

    // Sub-resources follow the model too.
    let id = create_api_raw(&server, r#"{"name":"w","protocolType":"HTTP"}"#);
    let r = raw(
        server.addr,
        "POST",
        &format!("/v2/apis/{id}/stages"),
        br#"{"stageName":"dev"}"#,
        REGION,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = raw(
        server.addr,
        "DELETE",
        &format!("/v2/apis/{id}/stages/dev"),
        b"",
        REGION,
    );
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());

    // And the SDK sees the request id.
    let c = server.client(REGION);
    let out = c.get_apis().send().await.unwrap();
    assert!(out.request_id().is_some_and(|r| !r.is_empty()));
    let e = c.get_api().api_id("nosuchapi0").send().await.unwrap_err();
    assert!(e.as_service_error().unwrap().request_id().is_some());
}

#[tokio::test]
async fn error_shapes() {
    let server = Server::start();
    let r = raw(server.addr, "GET", "/v2/apis/nosuchapi0", b"", REGION);
    assert_error(&r, 404, "NotFoundException");
    assert!(r.json()["message"].as_str().unwrap().contains("nosuchapi0"));

    let r = raw(
        server.addr,
        "POST",
        "/v2/apis",
        br#"{"name":"x","protocolType":"FTP"}"#,
        REGION,
    );
    assert_error(&r, 400, "BadRequestException");
    assert_eq!(
        r.json()["message"],
        "Invalid protocol specified. Must be one of [HTTP, WEBSOCKET]"
    );

    let id = create_api_raw(&server, r#"{"name":"w","protocolType":"HTTP"}"#);
    let r = raw(
        server.addr,
        "POST",
        &format!("/v2/apis/{id}/stages"),
        br#"{"stageName":"dev"}"#,
        REGION,
    );
    assert_eq!(r.status, 201);
    let r = raw(
        server.addr,
        "POST",
        &format!("/v2/apis/{id}/stages"),
        br#"{"stageName":"dev"}"#,
        REGION,
    );
    assert_error(&r, 409, "ConflictException");

    let r = raw(
        server.addr,
        "GET",
        &format!("/v2/apis/{id}/integrations/nope"),
        b"",
        REGION,
    );
    assert_error(&r, 404, "NotFoundException");
    let r = raw(
        server.addr,
        "GET",
        &format!("/v2/apis/{id}/routes?maxResults=0"),
        b"",
        REGION,
    );
    assert_error(&r, 400, "BadRequestException");
}

#[tokio::test]
async fn success_bodies_have_no_nulls() {
    let server = Server::start();
    let c = server.client(REGION);
    // Minimal resources: unset members are omitted, not null.
    let r = raw(
        server.addr,
        "POST",
        "/v2/apis",
        br#"{"name":"min","protocolType":"HTTP"}"#,
        REGION,
    );
    let v = r.json();
    assert_no_nulls(&v, "CreateApi");
    for absent in [
        "description",
        "version",
        "corsConfiguration",
        "apiGatewayManaged",
        "tags",
        "warnings",
        "importInfo",
    ] {
        assert!(v.get(absent).is_none(), "{absent} should be omitted: {v}");
    }
    let id = v["apiId"].as_str().unwrap().to_string();
    let ws = create_api_raw(
        &server,
        r#"{"name":"ws","protocolType":"WEBSOCKET","routeSelectionExpression":"$request.body.action"}"#,
    );

    let r = raw(
        server.addr,
        "POST",
        &format!("/v2/apis/{id}/integrations"),
        br#"{"integrationType":"HTTP_PROXY","integrationUri":"https://example.com","integrationMethod":"GET","payloadFormatVersion":"1.0"}"#,
        REGION,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_no_nulls(&r.json(), "CreateIntegration");
    let integ = r.json()["integrationId"].as_str().unwrap().to_string();
    let r = raw(
        server.addr,
        "POST",
        &format!("/v2/apis/{id}/routes"),
        format!(r#"{{"routeKey":"GET /x","target":"integrations/{integ}"}}"#).as_bytes(),
        REGION,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_no_nulls(&r.json(), "CreateRoute");
    let r = raw(
        server.addr,
        "POST",
        &format!("/v2/apis/{id}/stages"),
        br#"{"stageName":"dev"}"#,
        REGION,
    );
    assert_no_nulls(&r.json(), "CreateStage");
    let r = raw(
        server.addr,
        "POST",
        &format!("/v2/apis/{id}/deployments"),
        br#"{"stageName":"dev"}"#,
        REGION,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_no_nulls(&r.json(), "CreateDeployment");
    assert!(r.json().get("description").is_none());
    c.create_route()
        .api_id(&ws)
        .route_key("$default")
        .send()
        .await
        .unwrap();
    c.create_integration()
        .api_id(&ws)
        .integration_type(aws_sdk_apigatewayv2::types::IntegrationType::Mock)
        .send()
        .await
        .unwrap();
    c.create_stage()
        .api_id(&ws)
        .stage_name("prod")
        .send()
        .await
        .unwrap();

    // Quick create, for the managed flags.
    create_api_raw(
        &server,
        r#"{"name":"q","protocolType":"HTTP","target":"https://example.com"}"#,
    );

    let mut paths = vec!["/v2/apis".to_string()];
    for api in [&id, &ws] {
        for p in ["", "/integrations", "/routes", "/stages", "/deployments"] {
            paths.push(format!("/v2/apis/{api}{p}"));
        }
    }
    paths.push(format!("/v2/apis/{id}/integrations/{integ}"));
    paths.push(format!("/v2/apis/{id}/stages/dev"));
    paths.push(format!(
        "/v2/tags/arn:aws:apigateway:{REGION}::%2Fapis%2F{id}"
    ));
    for p in paths {
        let r = raw(server.addr, "GET", &p, b"", REGION);
        assert_eq!(r.status, 200, "{p}: {}", r.body);
        assert_no_nulls(&r.json(), &p);
        assert!(!r.body.contains("null"), "{p}: {}", r.body);
    }
}

#[tokio::test]
async fn timestamps_are_iso8601_utc() {
    let server = Server::start();
    let id = create_api_raw(
        &server,
        r#"{"name":"t","protocolType":"HTTP","target":"https://example.com"}"#,
    );
    let api = raw(server.addr, "GET", &format!("/v2/apis/{id}"), b"", REGION).json();
    assert!(is_iso_z(api["createdDate"].as_str().unwrap()), "{api}");
    let stage = raw(
        server.addr,
        "GET",
        &format!("/v2/apis/{id}/stages/%24default"),
        b"",
        REGION,
    )
    .json();
    assert!(is_iso_z(stage["createdDate"].as_str().unwrap()), "{stage}");
    assert!(
        is_iso_z(stage["lastUpdatedDate"].as_str().unwrap()),
        "{stage}"
    );
    let deps = raw(
        server.addr,
        "GET",
        &format!("/v2/apis/{id}/deployments"),
        b"",
        REGION,
    )
    .json();
    let d = &deps["items"][0];
    assert!(is_iso_z(d["createdDate"].as_str().unwrap()), "{deps}");
    // The year is plausible (not epoch 0).
    assert!(api["createdDate"].as_str().unwrap() > "2024");
}

#[tokio::test]
async fn malformed_and_mistyped_bodies_are_bad_requests() {
    let server = Server::start();
    let id = create_api_raw(&server, r#"{"name":"w","protocolType":"HTTP"}"#);
    let integrations = format!("/v2/apis/{id}/integrations");
    let api_path = format!("/v2/apis/{id}");
    let stages = format!("/v2/apis/{id}/stages");
    let routes = format!("/v2/apis/{id}/routes");
    let deployments = format!("/v2/apis/{id}/deployments");
    let cases: Vec<(&str, &str, &[u8])> = vec![
        ("POST", "/v2/apis", b"{"),
        ("POST", "/v2/apis", b"{\"name\":\"x\",}"),
        ("POST", "/v2/apis", b"not json"),
        ("POST", "/v2/apis", b"\xff\xfe\x00"),
        ("POST", "/v2/apis", br#"{"name":5,"protocolType":"HTTP"}"#),
        ("POST", "/v2/apis", br#"{"name":"x","protocolType":1}"#),
        ("POST", "/v2/apis", br#"{"name":"x","protocolType":"HTTP","tags":["a"]}"#),
        ("POST", "/v2/apis", br#"{"name":"x","protocolType":"HTTP","disableExecuteApiEndpoint":"yes"}"#),
        ("POST", "/v2/apis", br#"{"name":"x","protocolType":"HTTP","corsConfiguration":{"maxAge":"x"}}"#),
        ("POST", "/v2/apis", br#"{"name":"x","protocolType":"HTTP","corsConfiguration":{"maxAge":1e400}}"#),
        ("POST", "/v2/apis", br#"[{"name":"x","protocolType":"HTTP"}]"#),
        ("POST", "/v2/apis", b"[]"),
        ("POST", "/v2/apis", b"null"),
        ("POST", "/v2/apis", b"\"string\""),
        ("POST", "/v2/apis", b"42"),
        ("POST", "/v2/apis", b""),
        ("POST", "/v2/apis", b"   \n"),
        ("POST", "/v2/apis", b"{}"),
        ("POST", &integrations, br#"{"integrationType":"HTTP_PROXY","integrationUri":"https://e.com","payloadFormatVersion":"1.0","timeoutInMillis":"abc"}"#),
        ("POST", &integrations, br#"{"integrationType":"HTTP_PROXY","integrationUri":"https://e.com","payloadFormatVersion":"1.0","timeoutInMillis":1.5}"#),
        ("POST", &integrations, br#"{"integrationType":"HTTP_PROXY","integrationUri":"https://e.com","payloadFormatVersion":"1.0","timeoutInMillis":99999999999999999999999}"#),
        ("POST", &integrations, br#"{"integrationType":"HTTP_PROXY","integrationUri":"https://e.com","payloadFormatVersion":1.0}"#),
        ("POST", &integrations, b""),
        ("PATCH", &api_path, br#"{"name":5}"#),
        ("PATCH", &api_path, b"[1]"),
        ("POST", &stages, br#"{"stageName":"s","stageVariables":{"a":1}}"#),
        ("POST", &stages, br#"{"stageName":"s","routeSettings":[]}"#),
        ("POST", &stages, b""),
        ("POST", &routes, br#"{"routeKey":"GET /x","apiKeyRequired":"no"}"#),
        ("POST", &deployments, br#"{"description":["x"]}"#),
    ];
    for (method, path, body) in cases {
        let r = raw(server.addr, method, path, body, REGION);
        assert_eq!(
            r.status,
            400,
            "{method} {path} {:?}: {}",
            String::from_utf8_lossy(body),
            r.body
        );
        assert_error(&r, 400, "BadRequestException");
    }
    // Nothing above created anything.
    let list = raw(server.addr, "GET", "/v2/apis", b"", REGION).json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let list = raw(server.addr, "GET", &integrations, b"", REGION).json();
    assert!(list["items"].as_array().unwrap().is_empty());

    // An empty create body names what is missing.
    let r = raw(server.addr, "POST", "/v2/apis", b"", REGION);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("name"),
        "{}",
        r.body
    );
    // An empty PATCH body is a no-op update.
    let r = raw(server.addr, "PATCH", &format!("/v2/apis/{id}"), b"", REGION);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["name"], "w");
}

#[tokio::test]
async fn oversized_body_is_413() {
    let server = Server::start();
    let limit = 6 * 1024 * 1024;
    // Just over the limit: 413 with the error type.
    let mut body = br#"{"name":"x","protocolType":"HTTP","description":""#.to_vec();
    body.resize(limit + 1, b'a');
    let head = format!(
        "POST /v2/apis HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        server.addr,
        body.len()
    );
    let r = exchange(server.addr, head, body);
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(
        r.header("x-amzn-ErrorType"),
        Some("RequestEntityTooLargeException"),
        "{:?}",
        r.headers
    );
    assert!(r.header("x-amzn-RequestId").is_some());

    // Just under it, the body is read and judged on its content (description too long).
    let mut body = br#"{"name":"x","protocolType":"HTTP","description":""#.to_vec();
    body.resize(limit - 2, b'a');
    body.extend_from_slice(b"\"}");
    let r = raw(server.addr, "POST", "/v2/apis", &body, REGION);
    assert_error(&r, 400, "BadRequestException");

    // The server is fine afterwards.
    let r = raw(server.addr, "GET", "/v2/apis", b"", REGION);
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn unknown_paths_and_methods() {
    let server = Server::start();
    let id = create_api_raw(&server, r#"{"name":"w","protocolType":"HTTP"}"#);
    for path in [
        "/",
        "/v2",
        "/v2/nothing",
        "/v1/apis",
        &format!("/v2/apis/{id}/unknown"),
        "/v2/apis/a/b/c/d/e/f",
    ] {
        let r = raw(server.addr, "GET", path, b"", REGION);
        assert_error(&r, 404, "NotFoundException");
    }
    for (method, path) in [
        ("PUT", "/v2/apis".to_string()),
        ("DELETE", "/v2/apis".to_string()),
        ("PATCH", "/v2/apis".to_string()),
        ("POST", format!("/v2/apis/{id}")),
        ("PUT", format!("/v2/apis/{id}")),
        ("GET", format!("/v2/apis/{id}/cors")),
        ("PUT", format!("/v2/apis/{id}/stages")),
        (
            "PUT",
            "/v2/tags/arn:aws:apigateway:us-east-1::%2Fapis%2Fx".to_string(),
        ),
    ] {
        let r = raw(server.addr, method, &path, b"", REGION);
        assert_eq!(r.status, 405, "{method} {path}: {}", r.body);
        assert!(
            r.header("x-amzn-ErrorType").is_some(),
            "{method} {path}: {:?}",
            r.headers
        );
        assert!(r.header("x-amzn-RequestId").is_some(), "{method} {path}");
        assert!(r.json()["message"].is_string(), "{method} {path}");
    }
    // The API is untouched by all of that.
    let r = raw(server.addr, "GET", &format!("/v2/apis/{id}"), b"", REGION);
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn region_comes_from_the_credential_scope() {
    let server = Server::start();
    let r = raw(
        server.addr,
        "POST",
        "/v2/apis",
        br#"{"name":"r","protocolType":"HTTP"}"#,
        "eu-central-1",
    );
    assert_eq!(r.status, 201);
    let v = r.json();
    let id = v["apiId"].as_str().unwrap();
    assert_eq!(
        v["apiEndpoint"],
        format!("https://{id}.execute-api.eu-central-1.amazonaws.com")
    );
    assert_eq!(
        raw(
            server.addr,
            "GET",
            &format!("/v2/apis/{id}"),
            b"",
            "eu-central-1"
        )
        .status,
        200
    );
    assert_eq!(
        raw(
            server.addr,
            "GET",
            &format!("/v2/apis/{id}"),
            b"",
            "us-east-1"
        )
        .status,
        404
    );
    // The SDK signing for eu-central-1 lands in the same region.
    let c = server.client("eu-central-1");
    assert_eq!(
        c.get_api().api_id(id).send().await.unwrap().api_id(),
        Some(id)
    );

    // Without Authorization: us-east-1.
    let r = raw_unsigned(
        server.addr,
        "POST",
        "/v2/apis",
        br#"{"name":"u","protocolType":"HTTP"}"#,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let v = r.json();
    let uid = v["apiId"].as_str().unwrap().to_string();
    assert_eq!(
        v["apiEndpoint"],
        format!("https://{uid}.execute-api.us-east-1.amazonaws.com")
    );
    let east = server.client("us-east-1");
    east.get_api().api_id(&uid).send().await.unwrap();
    let e = c.get_api().api_id(&uid).send().await.unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    let r = raw_unsigned(server.addr, "GET", &format!("/v2/apis/{uid}"), b"");
    assert_eq!(r.status, 200);
    assert!(r.header("x-amzn-RequestId").is_some());
}

#[tokio::test]
async fn get_apis_with_trailing_slash_is_empty_object() {
    let server = Server::start();
    let c = server.client(REGION);
    http_api(&c).await;
    let r = raw(server.addr, "GET", "/v2/apis/", b"", REGION);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), serde_json::json!({}));
    assert!(r.header("x-amzn-RequestId").is_some());
}

/// xorshift64*: reproducible randomness without another dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T: ?Sized>(&mut self, xs: &[&'a T]) -> &'a T {
        xs[self.below(xs.len())]
    }
}

fn fuzz_segment(rng: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        "a",
        "Z",
        "0",
        "9",
        "-",
        "_",
        ".",
        "~",
        "$",
        "!",
        "*",
        "'",
        "(",
        ")",
        "+",
        ",",
        ";",
        "=",
        ":",
        "@",
        "%20",
        "%2F",
        "%00",
        "%ZZ",
        "%",
        "%24default",
        "%F0%9F%92%A9",
        "%C3%28",
        "..",
        "$default",
        "integrations",
    ];
    match rng.below(12) {
        0 => String::new(),
        1 => "x".repeat(1 + rng.below(3000)),
        _ => (0..1 + rng.below(12)).map(|_| rng.pick(PIECES)).collect(),
    }
}

fn fuzz_value(rng: &mut Rng, depth: usize) -> String {
    let choice = if depth > 3 {
        rng.below(9)
    } else {
        rng.below(12)
    };
    match choice {
        0 => "null".into(),
        1 => "true".into(),
        2 => format!("{}", rng.next() as i64),
        3 => "-1".into(),
        4 => "1e400".into(),
        5 => "0.5".into(),
        6 => format!("\"{}\"", fuzz_segment(rng).replace(['\\', '"'], "")),
        7 => (*rng.pick(&[
            "\"HTTP\"",
            "\"WEBSOCKET\"",
            "\"HTTP_PROXY\"",
            "\"AWS_PROXY\"",
            "\"MOCK\"",
            "\"$default\"",
            "\"GET /x\"",
            "\"https://example.com\"",
            "\"arn:aws:lambda:us-east-1:1:function:f\"",
            "\"\\u0000\"",
            "\"\\ud800\"",
        ]))
        .to_string(),
        8 => "\"\"".into(),
        9 => format!(
            "[{}]",
            (0..rng.below(4))
                .map(|_| fuzz_value(rng, depth + 1))
                .collect::<Vec<_>>()
                .join(",")
        ),
        _ => fuzz_object(rng, depth + 1),
    }
}

fn fuzz_object(rng: &mut Rng, depth: usize) -> String {
    const KEYS: &[&str] = &[
        "name",
        "protocolType",
        "routeSelectionExpression",
        "apiKeySelectionExpression",
        "corsConfiguration",
        "tags",
        "target",
        "routeKey",
        "description",
        "version",
        "integrationType",
        "integrationUri",
        "integrationMethod",
        "payloadFormatVersion",
        "timeoutInMillis",
        "requestParameters",
        "responseParameters",
        "requestTemplates",
        "stageName",
        "stageVariables",
        "autoDeploy",
        "deploymentId",
        "routeSettings",
        "defaultRouteSettings",
        "accessLogSettings",
        "maxAge",
        "allowOrigins",
        "allowCredentials",
        "integrationResponseKey",
        "routeResponseKey",
        "authorizationType",
        "connectionType",
        "tlsConfig",
        "ipAddressType",
        "credentialsArn",
        "unknownMember",
    ];
    let n = rng.below(7);
    let members: Vec<String> = (0..n)
        .map(|_| format!("\"{}\":{}", rng.pick(KEYS), fuzz_value(rng, depth + 1)))
        .collect();
    format!("{{{}}}", members.join(","))
}

fn fuzz_body(rng: &mut Rng, base: &str) -> Vec<u8> {
    match rng.below(12) {
        0 => Vec::new(),
        1 => (0..rng.below(300)).map(|_| rng.next() as u8).collect(),
        2 => {
            // Deep nesting.
            let d = 1 + rng.below(5000);
            format!("{}{}", "[".repeat(d), "]".repeat(d)).into_bytes()
        }
        3 => {
            // A valid object cut short.
            let s = fuzz_object(rng, 0);
            let cut = rng.below(s.len().max(1));
            s.as_bytes()[..cut].to_vec()
        }
        4 | 5 => fuzz_object(rng, 0).into_bytes(),
        6..=8 => base.as_bytes().to_vec(),
        _ => {
            // A valid request with a few random members added (later ones win).
            let extra = fuzz_object(rng, 0);
            let extra = extra.trim_start_matches('{').trim_end_matches('}');
            let head = base.trim_end_matches('}');
            if extra.is_empty() {
                base.as_bytes().to_vec()
            } else if head.ends_with('{') {
                format!("{head}{extra}}}").into_bytes()
            } else {
                format!("{head},{extra}}}").into_bytes()
            }
        }
    }
}

#[tokio::test]
async fn fuzz_never_yields_5xx() {
    let mut server = Server::start();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("fuzz seed {seed}");
    let mut rng = Rng(seed);
    let c = server.client(REGION);
    let api = http_api(&c).await;
    let ws = c
        .create_api()
        .name("ws")
        .protocol_type(aws_sdk_apigatewayv2::types::ProtocolType::Websocket)
        .route_selection_expression("$request.body.action")
        .send()
        .await
        .unwrap()
        .api_id
        .unwrap();
    // (path, the methods it serves, a valid body for its POST/PATCH).
    const TEMPLATES: &[(&str, &[&str], &str)] = &[
        (
            "/v2/apis",
            &["GET", "POST"],
            r#"{"name":"f","protocolType":"HTTP"}"#,
        ),
        (
            "/v2/apis",
            &["POST"],
            r#"{"name":"q","protocolType":"HTTP","target":"https://e.com"}"#,
        ),
        (
            "/v2/apis",
            &["POST"],
            r#"{"name":"w","protocolType":"WEBSOCKET","routeSelectionExpression":"$request.body.a"}"#,
        ),
        (
            "/v2/apis/{id}",
            &["GET", "PATCH", "DELETE"],
            r#"{"description":"d"}"#,
        ),
        ("/v2/apis/{id}/cors", &["DELETE"], "{}"),
        (
            "/v2/apis/{id}/integrations",
            &["GET", "POST"],
            r#"{"integrationType":"HTTP_PROXY","integrationUri":"https://e.com","payloadFormatVersion":"1.0"}"#,
        ),
        (
            "/v2/apis/{id}/integrations",
            &["POST"],
            r#"{"integrationType":"MOCK"}"#,
        ),
        (
            "/v2/apis/{id}/integrations/{x}",
            &["GET", "PATCH", "DELETE"],
            r#"{"description":"d"}"#,
        ),
        (
            "/v2/apis/{id}/integrations/{x}/integrationresponses",
            &["GET", "POST"],
            r#"{"integrationResponseKey":"$default"}"#,
        ),
        (
            "/v2/apis/{id}/integrations/{x}/integrationresponses/{x}",
            &["GET", "PATCH", "DELETE"],
            r#"{"integrationResponseKey":"/2\\d\\d/"}"#,
        ),
        (
            "/v2/apis/{id}/routes",
            &["GET", "POST"],
            r#"{"routeKey":"GET /f"}"#,
        ),
        (
            "/v2/apis/{id}/routes",
            &["POST"],
            r#"{"routeKey":"$default"}"#,
        ),
        (
            "/v2/apis/{id}/routes/{x}",
            &["GET", "PATCH", "DELETE"],
            r#"{"target":"integrations/x"}"#,
        ),
        (
            "/v2/apis/{id}/routes/{x}/requestparameters/{x}",
            &["DELETE"],
            "{}",
        ),
        (
            "/v2/apis/{id}/routes/{x}/routeresponses",
            &["GET", "POST"],
            r#"{"routeResponseKey":"$default"}"#,
        ),
        (
            "/v2/apis/{id}/routes/{x}/routeresponses/{x}",
            &["GET", "PATCH", "DELETE"],
            r#"{"routeResponseKey":"$default"}"#,
        ),
        (
            "/v2/apis/{id}/stages",
            &["GET", "POST"],
            r#"{"stageName":"s","autoDeploy":true}"#,
        ),
        (
            "/v2/apis/{id}/stages/{x}",
            &["GET", "PATCH", "DELETE"],
            r#"{"description":"d"}"#,
        ),
        (
            "/v2/apis/{id}/stages/{x}/routesettings/{x}",
            &["DELETE"],
            "{}",
        ),
        (
            "/v2/apis/{id}/stages/{x}/accesslogsettings",
            &["DELETE"],
            "{}",
        ),
        ("/v2/apis/{id}/deployments", &["GET", "POST"], "{}"),
        (
            "/v2/apis/{id}/deployments/{x}",
            &["GET", "PATCH", "DELETE"],
            r#"{"description":"d"}"#,
        ),
        (
            "/v2/tags/{x}",
            &["GET", "POST", "DELETE"],
            r#"{"tags":{"k":"v"}}"#,
        ),
        (
            "/v2/tags/arn:aws:apigateway:us-east-1::%2Fapis%2F{id}",
            &["GET", "POST", "DELETE"],
            r#"{"tags":{"k":"v"}}"#,
        ),
        ("/v2/{x}", &["GET"], "{}"),
        ("/{x}", &["GET"], "{}"),
    ];
    const METHODS: &[&str] = &["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"];
    // Ids the server handed out, so later cases hit real resources.
    let mut ids: Vec<String> = vec![api.clone(), ws.clone()];
    let mut children: Vec<String> = vec!["$default".into()];
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for i in 0..200 {
        let (template, methods, base) = TEMPLATES[rng.below(TEMPLATES.len())];
        let mut path = String::new();
        for (j, part) in template.split("{x}").enumerate() {
            if j > 0 {
                if rng.below(3) != 0 {
                    let child = &children[rng.below(children.len())];
                    path.push_str(
                        &child
                            .replace('$', "%24")
                            .replace(' ', "%20")
                            .replace('/', "%2F"),
                    );
                } else {
                    path.push_str(&fuzz_segment(&mut rng));
                }
            }
            path.push_str(part);
        }
        let id = if rng.below(4) == 0 {
            fuzz_segment(&mut rng)
        } else {
            ids[rng.below(ids.len())].clone()
        };
        path = path.replace("{id}", &id);
        if rng.below(4) == 0 {
            path.push_str(&format!(
                "?maxResults={}&nextToken={}",
                fuzz_segment(&mut rng),
                fuzz_segment(&mut rng)
            ));
        }
        let method = if rng.below(4) == 0 {
            rng.pick(METHODS)
        } else {
            methods[rng.below(methods.len())]
        };
        let body = fuzz_body(&mut rng, base);
        let region = if rng.below(10) == 0 {
            "eu-west-1"
        } else {
            REGION
        };
        let r = raw(server.addr, method, &path, &body, region);
        *statuses.entry(r.status).or_insert(0) += 1;
        if r.status == 201 {
            if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(&r.body) {
                for (k, v) in o {
                    match (k.as_str(), v.as_str()) {
                        ("apiId", Some(v)) => ids.push(v.to_string()),
                        (k, Some(v))
                            if k.ends_with("Id") || k == "stageName" || k.ends_with("Key") =>
                        {
                            children.push(v.to_string())
                        }
                        _ => {}
                    }
                }
            }
        }
        assert!(
            r.status < 500,
            "case {i} (seed {seed}): {method} {path} body {:?} -> {} {}",
            String::from_utf8_lossy(&body),
            r.status,
            r.body
        );
        if r.status >= 400 && r.header("x-amzn-RequestId").is_some() && method != "HEAD" {
            assert!(
                r.header("x-amzn-ErrorType").is_some(),
                "case {i} (seed {seed}): {method} {path} -> {} without x-amzn-ErrorType: {}",
                r.status,
                r.body
            );
        }
    }
    eprintln!("fuzz statuses: {statuses:?}");
    // Still up and answering.
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server exited"
    );
    let r = raw(server.addr, "GET", "/v2/apis", b"", REGION);
    assert_eq!(r.status, 200);
    // (The fuzz may well have deleted the APIs it started with; the server must still work.)
    let fresh = http_api(&c).await;
    c.get_api().api_id(&fresh).send().await.unwrap();
}

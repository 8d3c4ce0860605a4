//! The HTTP API data plane end to end: APIs configured through aws-sdk-apigatewayv2, traffic
//! sent over real sockets to the real `apigw` binary, which proxies to real upstream servers
//! started here (plain HTTP and HTTPS with a test CA, tests/fixtures/tls).

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_apigatewayv2 as apigw;
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::common::Server;

// ---------------------------------------------------------------------------------------------
// Upstreams

/// Answers every request with JSON describing it. `x-echo-status: N` sets the status,
/// `x-echo-header: name: value` adds a response header; `/slow/...` waits 2 s first.
async fn echo(req: Request) -> Response {
    let (parts, body) = req.into_parts();
    if parts.uri.path().starts_with("/slow") {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let mut headers = serde_json::Map::new();
    for (k, v) in &parts.headers {
        let v = v.to_str().unwrap_or("").to_string();
        let joined = match headers.get(k.as_str()) {
            Some(Value::String(prev)) => format!("{prev}, {v}"),
            _ => v,
        };
        headers.insert(k.as_str().to_string(), Value::String(joined));
    }
    let doc = json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query().unwrap_or(""),
        "headers": headers,
        "bodyLength": bytes.len(),
        "body": String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]),
    });
    let mut resp = Response::new(Body::from(doc.to_string()));
    resp.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    if let Some(s) = parts.headers.get("x-echo-status") {
        *resp.status_mut() = s
            .to_str()
            .unwrap()
            .parse::<u16>()
            .unwrap()
            .try_into()
            .unwrap();
    }
    for h in parts.headers.get_all("x-echo-header") {
        let (k, v) = h.to_str().unwrap().split_once(':').unwrap();
        resp.headers_mut().append(
            axum::http::HeaderName::from_bytes(k.trim().as_bytes()).unwrap(),
            v.trim().parse().unwrap(),
        );
    }
    resp
}

/// A plain HTTP echo upstream on 127.0.0.1; returns its address.
async fn http_upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(echo);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// An HTTPS echo upstream presenting the fixture certificate `leaf` (signed by the test CA).
async fn https_upstream(leaf: &str) -> SocketAddr {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(fixture(&format!("{leaf}.pem")))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
    let key = PrivateKeyDer::from_pem_file(fixture(&format!("{leaf}.key"))).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(echo);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let app = app.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper_util::service::TowerToHyperService::new(app);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    addr
}

/// A port nothing listens on.
async fn dead_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

// ---------------------------------------------------------------------------------------------
// A small HTTP/1.1 client (Connection: close) that can set any Host and send any body.

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {}", self.status, self.text()))
    }
    /// The echo upstream's view of the request it got.
    fn echoed(&self) -> Value {
        assert_eq!(self.status, 200, "{}", self.text());
        self.json()
    }
}

async fn send(
    addr: SocketAddr,
    method: &str,
    host: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    // The gateway may answer (413) before reading everything; keep reading what it said.
    let _ = s.write_all(body).await;
    read_reply(&mut s).await
}

async fn read_reply(s: &mut TcpStream) -> Reply {
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut buf)).await;
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(&buf)));
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let mut body = buf[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        let mut out = Vec::new();
        let mut rest = &body[..];
        while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
            let n = usize::from_str_radix(std::str::from_utf8(&rest[..eol]).unwrap().trim(), 16)
                .unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&rest[eol + 2..eol + 2 + n]);
            rest = &rest[eol + 4 + n..];
        }
        body = out;
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn host_of(api: &str, server: &Server) -> String {
    format!("{api}.execute-api.localhost:{}", server.addr.port())
}

/// GET through the Host form.
async fn get(server: &Server, api: &str, path: &str) -> Reply {
    send(server.addr, "GET", &host_of(api, server), path, &[], b"").await
}

// ---------------------------------------------------------------------------------------------
// Configuration helpers

async fn api(c: &apigw::Client) -> String {
    crate::common::http_api(c).await
}

async fn integration(c: &apigw::Client, api: &str, uri: &str, method: &str) -> String {
    c.create_integration()
        .api_id(api)
        .integration_type(apigw::types::IntegrationType::HttpProxy)
        .integration_uri(uri)
        .integration_method(method)
        .payload_format_version("1.0")
        .send()
        .await
        .unwrap()
        .integration_id
        .unwrap()
}

async fn route(c: &apigw::Client, api: &str, key: &str, integration: &str) -> String {
    c.create_route()
        .api_id(api)
        .route_key(key)
        .target(format!("integrations/{integration}"))
        .send()
        .await
        .unwrap()
        .route_id
        .unwrap()
}

async fn stage(c: &apigw::Client, api: &str, name: &str, auto: bool) {
    c.create_stage()
        .api_id(api)
        .stage_name(name)
        .auto_deploy(auto)
        .send()
        .await
        .unwrap();
}

/// An API whose `$default` route proxies everything to `upstream` on an auto-deploy `$default`
/// stage.
async fn proxy_api(c: &apigw::Client, upstream: &str) -> (String, String) {
    let a = api(c).await;
    let i = integration(c, &a, upstream, "ANY").await;
    route(c, &a, "$default", &i).await;
    stage(c, &a, "$default", true).await;
    (a, i)
}

// ---------------------------------------------------------------------------------------------
// Addressing and stages

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_and_path_forms_select_the_stage() {
    let up = http_upstream().await;
    let server = Server::start();
    let c = server.client("eu-west-1");
    let a = api(&c).await;
    let i = integration(&c, &a, &format!("http://{up}"), "ANY").await;
    route(&c, &a, "$default", &i).await;
    stage(&c, &a, "$default", true).await;
    stage(&c, &a, "prod", true).await;

    // Host form, `$default` stage: no stage segment; the full path is forwarded.
    let r = get(&server, &a, "/pets/1?x=1").await;
    let e = r.echoed();
    assert_eq!(e["path"], "/pets/1");
    assert_eq!(e["query"], "x=1");
    assert!(r.header("apigw-requestid").is_some());
    // Host form, named stage: the stage segment stays in the forwarded path (§10 #4).
    assert_eq!(
        get(&server, &a, "/prod/pets/1").await.echoed()["path"],
        "/prod/pets/1"
    );
    // Path form: explicit `$default` and a named stage; API ids of any region.
    let r = send(
        server.addr,
        "GET",
        "127.0.0.1",
        &format!("/_aws/execute-api/{a}/$default/pets/2"),
        &[],
        b"",
    )
    .await;
    assert_eq!(r.echoed()["path"], "/pets/2");
    let r = send(
        server.addr,
        "GET",
        "127.0.0.1",
        &format!("/_aws/execute-api/{a}/prod/pets/3"),
        &[],
        b"",
    )
    .await;
    assert_eq!(r.echoed()["path"], "/prod/pets/3");
    // Data-plane Host wins over control-plane paths.
    assert_eq!(
        get(&server, &a, "/v2/apis").await.echoed()["path"],
        "/v2/apis"
    );

    // Unknown API and an API without a `$default` stage: 404 Not Found, exact body.
    let r = get(&server, "nosuchapi", "/pets").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), r#"{"message":"Not Found"}"#);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.header("apigw-requestid").is_some());
    let b = api(&c).await;
    let i = integration(&c, &b, &format!("http://{up}"), "ANY").await;
    route(&c, &b, "$default", &i).await;
    stage(&c, &b, "beta", true).await;
    assert_eq!(
        get(&server, &b, "/beta/x").await.echoed()["path"],
        "/beta/x"
    );
    let r = get(&server, &b, "/gamma/x").await;
    assert_eq!(
        (r.status, r.text()),
        (404, r#"{"message":"Not Found"}"#.to_string())
    );
    // The control plane still answers on its own host.
    let r = crate::common::raw(server.addr, "GET", "/v2/apis", b"", "eu-west-1");
    assert_eq!(r.status, 200);
}

// ---------------------------------------------------------------------------------------------
// Route matching: data-plane.md §1.4's worked example end to end

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worked_routing_table_end_to_end() {
    let up = http_upstream().await;
    let server = Server::start();
    let c = server.client("us-east-1");
    let a = api(&c).await;
    for (key, name) in [
        ("GET /pets/dog/1", "static"),
        ("GET /pets/dog/{id}", "var-{id}"),
        ("GET /pets/{proxy+}", "greedy-pets/{proxy}"),
        ("ANY /{proxy+}", "greedy-any/{proxy}"),
        ("$default", "default"),
    ] {
        let i = integration(&c, &a, &format!("http://{up}/{name}"), "ANY").await;
        route(&c, &a, key, &i).await;
    }
    stage(&c, &a, "$default", true).await;
    let path = |r: Reply| r.echoed()["path"].as_str().unwrap().to_string();
    assert_eq!(path(get(&server, &a, "/pets/dog/1").await), "/static");
    assert_eq!(path(get(&server, &a, "/pets/dog/2").await), "/var-2");
    assert_eq!(
        path(get(&server, &a, "/pets/cat/1").await),
        "/greedy-pets/cat/1"
    );
    let r = send(
        server.addr,
        "POST",
        &host_of(&a, &server),
        "/test/5",
        &[],
        b"x",
    )
    .await;
    assert_eq!(path(r), "/greedy-any/test/5");
    // `/` is not taken by `{proxy+}`; `$default` gets it with the full path appended.
    assert_eq!(path(get(&server, &a, "/").await), "/default/");
    // Without `$default`, an unmatched request is 404.
    let b = api(&c).await;
    let i = integration(&c, &b, &format!("http://{up}/only"), "ANY").await;
    route(&c, &b, "GET /pets", &i).await;
    stage(&c, &b, "$default", true).await;
    assert_eq!(path(get(&server, &b, "/pets").await), "/only");
    for p in ["/pets/", "/cats", "/"] {
        let r = get(&server, &b, p).await;
        assert_eq!(
            (r.status, r.text()),
            (404, r#"{"message":"Not Found"}"#.to_string()),
            "{p}"
        );
    }
    let r = send(
        server.addr,
        "DELETE",
        &host_of(&b, &server),
        "/pets",
        &[],
        b"",
    )
    .await;
    assert_eq!(r.status, 404);
}

// ---------------------------------------------------------------------------------------------
// HTTP_PROXY request and response shape

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_proxy_forwards_what_aws_forwards() {
    let up = http_upstream().await;
    let server = Server::start();
    let c = server.client("us-east-1");
    let a = api(&c).await;
    // Fixed method, path variables, URI query merged with the client's.
    let fixed = integration(
        &c,
        &a,
        &format!("http://{up}/items/{{id}}/x?from=uri"),
        "PUT",
    )
    .await;
    route(&c, &a, "POST /pets/{id}", &fixed).await;
    let any = integration(&c, &a, &format!("http://{up}/any/{{proxy}}"), "ANY").await;
    route(&c, &a, "ANY /any/{proxy+}", &any).await;
    stage(&c, &a, "$default", true).await;

    let r = send(
        server.addr,
        "POST",
        &host_of(&a, &server),
        "/pets/7?a=1&a=2",
        &[
            ("Content-Type", "text/plain"),
            ("X-Custom", "v1"),
            ("Keep-Alive", "timeout=5"),
            ("X-Forwarded-For", "10.0.0.9"),
            ("Connection", "close, X-Drop-Me"),
            ("X-Drop-Me", "gone"),
        ],
        b"hello body",
    )
    .await;
    let e = r.echoed();
    assert_eq!(e["method"], "PUT");
    assert_eq!(e["path"], "/items/7/x");
    assert_eq!(e["query"], "from=uri&a=1&a=2");
    assert_eq!(e["body"], "hello body");
    let h = &e["headers"];
    assert_eq!(h["host"], up.to_string());
    assert_eq!(h["x-custom"], "v1");
    assert_eq!(h["content-type"], "text/plain");
    assert_eq!(h["x-forwarded-for"], "10.0.0.9, 127.0.0.1");
    assert_eq!(h["x-forwarded-proto"], "http");
    assert_eq!(h["x-forwarded-port"], server.addr.port().to_string());
    assert!(
        h["x-amzn-trace-id"]
            .as_str()
            .unwrap()
            .starts_with("Root=1-"),
        "{h}"
    );
    assert!(
        h.get("keep-alive").is_none() && h.get("x-drop-me").is_none(),
        "{h}"
    );
    assert!(r.header("apigw-requestid").is_some());

    // ANY keeps the client's method; a greedy value goes into `{proxy}` as received.
    let r = send(
        server.addr,
        "PATCH",
        &host_of(&a, &server),
        "/any/a/b%20c",
        &[],
        b"",
    )
    .await;
    let e = r.echoed();
    assert_eq!(e["method"], "PATCH");
    assert_eq!(e["path"], "/any/a/b%20c");

    // Backend statuses and headers come back unchanged.
    let r = send(
        server.addr,
        "GET",
        &host_of(&a, &server),
        "/any/teapot",
        &[
            ("x-echo-status", "418"),
            ("x-echo-header", "x-backend: yes"),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 418);
    assert_eq!(r.header("x-backend"), Some("yes"));
    assert_eq!(r.json()["path"], "/any/teapot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stage_variables_in_the_integration_uri() {
    let up = http_upstream().await;
    let server = Server::start();
    let c = server.client("us-east-1");
    let a = api(&c).await;
    let i = integration(
        &c,
        &a,
        "http://${stageVariables.backend}/${stageVariables.prefix}/{proxy}",
        "ANY",
    )
    .await;
    route(&c, &a, "ANY /{proxy+}", &i).await;
    for (name, prefix) in [("blue", "b"), ("green", "g")] {
        c.create_stage()
            .api_id(&a)
            .stage_name(name)
            .auto_deploy(true)
            .stage_variables("backend", up.to_string())
            .stage_variables("prefix", prefix)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(
        get(&server, &a, "/blue/x/y").await.echoed()["path"],
        "/b/x/y"
    );
    assert_eq!(get(&server, &a, "/green/x").await.echoed()["path"], "/g/x");
}

// ---------------------------------------------------------------------------------------------
// Gateway responses

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_dead_backends_are_503() {
    let up = http_upstream().await;
    let dead = dead_port().await;
    let server = Server::start();
    let c = server.client("us-east-1");
    let a = api(&c).await;
    let slow = c
        .create_integration()
        .api_id(&a)
        .integration_type(apigw::types::IntegrationType::HttpProxy)
        .integration_uri(format!("http://{up}/slow"))
        .integration_method("ANY")
        .payload_format_version("1.0")
        .timeout_in_millis(300)
        .send()
        .await
        .unwrap()
        .integration_id
        .unwrap();
    route(&c, &a, "GET /slow", &slow).await;
    let gone = integration(&c, &a, &format!("http://127.0.0.1:{dead}/"), "ANY").await;
    route(&c, &a, "GET /dead", &gone).await;
    stage(&c, &a, "$default", true).await;

    let started = std::time::Instant::now();
    let r = get(&server, &a, "/slow").await;
    assert!(
        started.elapsed() < Duration::from_millis(1800),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.status, 503);
    assert_eq!(r.text(), r#"{"message":"Service Unavailable"}"#);
    assert_eq!(r.header("content-length"), Some("33"));
    assert!(r.header("apigw-requestid").is_some());
    let r = get(&server, &a, "/dead").await;
    assert_eq!(
        (r.status, r.text()),
        (503, r#"{"message":"Service Unavailable"}"#.to_string())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_10_mb_are_413_and_below_stream_through() {
    let up = http_upstream().await;
    let server = Server::start();
    let c = server.client("us-east-1");
    let (a, _) = proxy_api(&c, &format!("http://{up}")).await;
    let host = host_of(&a, &server);

    // Declared too large: answered before the body is read.
    let big = vec![b'x'; 20 * 1024 * 1024];
    let r = send(server.addr, "POST", &host, "/upload", &[], &big).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.text(), r#"{"message":"Request Entity Too Large"}"#);
    assert!(r.header("apigw-requestid").is_some());

    // Chunked (no length): counted while streaming.
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /upload HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b'y'; 1024 * 1024];
    let (mut rd, mut wr) = s.into_split();
    let writer = tokio::spawn(async move {
        for _ in 0..20 {
            if wr
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await
                .is_err()
                || wr.write_all(&chunk).await.is_err()
                || wr.write_all(b"\r\n").await.is_err()
            {
                return;
            }
        }
        let _ = wr.write_all(b"0\r\n\r\n").await;
    });
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), rd.read_to_end(&mut buf)).await;
    writer.abort();
    let text = String::from_utf8_lossy(&buf);
    assert!(
        text.starts_with("HTTP/1.1 413"),
        "{}",
        &text[..text.len().min(200)]
    );

    // 9 MB goes through whole.
    let ok = vec![b'z'; 9 * 1024 * 1024];
    let r = send(server.addr, "POST", &host, "/upload", &[], &ok).await;
    assert_eq!(r.echoed()["bodyLength"], 9 * 1024 * 1024);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_headers_are_rejected() {
    let up = http_upstream().await;
    let server = Server::start();
    let c = server.client("us-east-1");
    let (a, _) = proxy_api(&c, &format!("http://{up}")).await;
    let long = "v".repeat(11_000);
    let r = send(
        server.addr,
        "GET",
        &host_of(&a, &server),
        "/x",
        &[("x-long", &long)],
        b"",
    )
    .await;
    assert_eq!(r.status, 431);
    assert_eq!(r.text(), r#"{"message":"Request Header Fields Too Large"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
/// A Lambda route whose function is neither hosted nor reachable: Lambda rejects the invoke,
/// so the HTTP API answers 500 (data-plane.md §4.7). Hosted functions: `lambda.rs`.
async fn lambda_route_to_an_unknown_function_is_500() {
    let server = Server::start();
    let c = server.client("us-east-1");
    let a = api(&c).await;
    let i = c
        .create_integration()
        .api_id(&a)
        .integration_type(apigw::types::IntegrationType::AwsProxy)
        .integration_uri("arn:aws:lambda:us-east-1:000000000000:function:f")
        .payload_format_version("2.0")
        .send()
        .await
        .unwrap()
        .integration_id
        .unwrap();
    route(&c, &a, "GET /f", &i).await;
    stage(&c, &a, "$default", true).await;
    let r = get(&server, &a, "/f").await;
    assert_eq!(
        (r.status, r.text()),
        (500, r#"{"message":"Internal Server Error"}"#.to_string())
    );
}

// ---------------------------------------------------------------------------------------------
// Deployments and live changes

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_stage_changes_only_after_create_deployment() {
    let up = http_upstream().await;
    let server = Server::start();
    let c = server.client("us-east-1");
    let a = api(&c).await;
    let i = integration(&c, &a, &format!("http://{up}/v1"), "ANY").await;
    route(&c, &a, "GET /thing", &i).await;
    stage(&c, &a, "prod", false).await;
    // No deployment yet: the stage serves nothing.
    assert_eq!(get(&server, &a, "/prod/thing").await.status, 404);
    c.create_deployment()
        .api_id(&a)
        .stage_name("prod")
        .send()
        .await
        .unwrap();
    assert_eq!(
        get(&server, &a, "/prod/thing").await.echoed()["path"],
        "/v1"
    );
    c.update_integration()
        .api_id(&a)
        .integration_id(&i)
        .integration_uri(format!("http://{up}/v2"))
        .send()
        .await
        .unwrap();
    // Still the deployed configuration.
    assert_eq!(
        get(&server, &a, "/prod/thing").await.echoed()["path"],
        "/v1"
    );
    c.create_deployment()
        .api_id(&a)
        .stage_name("prod")
        .send()
        .await
        .unwrap();
    assert_eq!(
        get(&server, &a, "/prod/thing").await.echoed()["path"],
        "/v2"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_deploy_changes_are_live_on_the_next_request() {
    let up = http_upstream().await;
    let server = Server::start();
    let c = server.client("us-east-1");
    let (a, i) = proxy_api(&c, &format!("http://{up}/one")).await;
    assert_eq!(get(&server, &a, "/x").await.echoed()["path"], "/one/x");
    for n in 0..5 {
        c.update_integration()
            .api_id(&a)
            .integration_id(&i)
            .integration_uri(format!("http://{up}/n{n}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            get(&server, &a, "/x").await.echoed()["path"],
            format!("/n{n}/x")
        );
    }
    c.delete_stage()
        .api_id(&a)
        .stage_name("$default")
        .send()
        .await
        .unwrap();
    assert_eq!(get(&server, &a, "/x").await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_during_changes_never_fail_or_see_half_a_change() {
    let up = http_upstream().await;
    let server = Server::start();
    let c = server.client("us-east-1");
    let a = api(&c).await;
    let version = |v: &str| {
        let mut m = std::collections::HashMap::new();
        m.insert("overwrite:header.x-version".to_string(), v.to_string());
        m
    };
    // The URI path and a request mapping change together in each update: a request sees both
    // from one version or both from the other.
    let i = c
        .create_integration()
        .api_id(&a)
        .integration_type(apigw::types::IntegrationType::HttpProxy)
        .integration_uri(format!("http://{up}/v0/{{proxy}}"))
        .integration_method("ANY")
        .payload_format_version("1.0")
        .set_request_parameters(Some(version("v0")))
        .send()
        .await
        .unwrap()
        .integration_id
        .unwrap();
    route(&c, &a, "ANY /{proxy+}", &i).await;
    stage(&c, &a, "$default", true).await;

    let addr = server.addr;
    let host = host_of(&a, &server);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..8 {
        let host = host.clone();
        let stop = stop.clone();
        workers.push(tokio::spawn(async move {
            let mut seen = HashSet::new();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let r = send(addr, "GET", &host, "/p", &[], b"").await;
                assert_eq!(r.status, 200, "{}", r.text());
                let e = r.json();
                let path = e["path"].as_str().unwrap().to_string();
                let header = e["headers"]["x-version"].as_str().unwrap().to_string();
                assert_eq!(path, format!("/{header}/p"), "half-applied change");
                seen.insert(header);
                n += 1;
            }
            (n, seen)
        }));
    }
    for v in 1..=15 {
        c.update_integration()
            .api_id(&a)
            .integration_id(&i)
            .integration_uri(format!("http://{up}/v{v}/{{proxy}}"))
            .set_request_parameters(Some(version(&format!("v{v}"))))
            .send()
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut total = 0;
    let mut versions = HashSet::new();
    for w in workers {
        let (n, seen) = w.await.unwrap();
        total += n;
        versions.extend(seen);
    }
    assert!(total > 50, "only {total} requests");
    assert!(versions.len() > 3, "saw {versions:?}");
    // The last change is what the next request sees.
    assert_eq!(get(&server, &a, "/p").await.echoed()["path"], "/v15/p");
}

// ---------------------------------------------------------------------------------------------
// HTTPS backends

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_backends_with_an_operator_ca_and_server_name_to_verify() {
    let tls_up = https_upstream("localhost").await;
    let named_up = https_upstream("backend-test").await;
    let dir = std::env::temp_dir().join(format!("apigw-it-dp-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = fixture("ca.pem");
    let link = format!("vlink1={named_up}");
    let server = Server::start_with(
        &dir,
        &[
            "--backend-ca-file",
            ca.to_str().unwrap(),
            "--vpc-link-target",
            &link,
        ],
    );
    let c = server.client("us-east-1");
    let (a, _) = proxy_api(&c, &format!("https://localhost:{}/secure", tls_up.port())).await;
    let e = get(&server, &a, "/x?q=1").await.echoed();
    assert_eq!(e["path"], "/secure/x");
    assert_eq!(e["query"], "q=1");

    // A VPC link integration: the target comes from --vpc-link-target, HTTPS because of
    // tlsConfig, and the certificate is checked against serverNameToVerify (it is valid only
    // for backend.test, not for 127.0.0.1).
    let b = api(&c).await;
    let private = |name: Option<&str>| {
        let mut req = c
            .create_integration()
            .api_id(&b)
            .integration_type(apigw::types::IntegrationType::HttpProxy)
            .connection_type(apigw::types::ConnectionType::VpcLink)
            .connection_id("vlink1")
            .integration_uri(
                "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/lb/1/2",
            )
            .integration_method("ANY")
            .payload_format_version("1.0");
        if let Some(n) = name {
            req = req.tls_config(
                apigw::types::TlsConfigInput::builder()
                    .server_name_to_verify(n)
                    .build(),
            );
        }
        req
    };
    let good = private(Some("backend.test"))
        .send()
        .await
        .unwrap()
        .integration_id
        .unwrap();
    let wrong = private(Some("other.test"))
        .send()
        .await
        .unwrap()
        .integration_id
        .unwrap();
    route(&c, &b, "GET /good/{proxy+}", &good).await;
    route(&c, &b, "GET /wrong", &wrong).await;
    stage(&c, &b, "live", true).await;
    // Private integrations get the stage segment and the request path.
    assert_eq!(
        get(&server, &b, "/live/good/a").await.echoed()["path"],
        "/live/good/a"
    );
    let r = get(&server, &b, "/live/wrong").await;
    assert_eq!(
        (r.status, r.text()),
        (500, r#"{"message":"Internal Server Error"}"#.to_string())
    );
    drop(server);

    // Without the operator CA the test certificate is not trusted: 500 (§10 #6).
    let server = Server::start_in(&dir);
    let r = get(&server, &a, "/x").await;
    assert_eq!(
        (r.status, r.text()),
        (500, r#"{"message":"Internal Server Error"}"#.to_string())
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// Parameter mapping (§3): the documented examples

fn params(pairs: &[(&str, &str)]) -> std::collections::HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_and_response_parameter_mapping() {
    let up = http_upstream().await;
    let server = Server::start();
    let c = server.client("us-east-1");
    let a = api(&c).await;
    let i = c
        .create_integration()
        .api_id(&a)
        .integration_type(apigw::types::IntegrationType::HttpProxy)
        .integration_uri(format!("http://{up}/orig"))
        .integration_method("ANY")
        .payload_format_version("1.0")
        // "Add a header", "rename a header", query and path rewrites (http-api-parameter-mapping).
        .set_request_parameters(Some(params(&[
            ("append:header.header1", "$context.requestId"),
            ("append:header.header2", "$request.header.h-old"),
            ("remove:header.h-old", "''"),
            (
                "overwrite:header.x-stage",
                "${stageVariables.env}-${context.stage}",
            ),
            ("append:querystring.q", "$request.path.id"),
            ("remove:querystring.secret", "''"),
            ("overwrite:header.x-from-body", "$request.body.pet.name"),
            ("overwrite:path", "/new/${request.path.id}/p"),
        ])))
        // The documented response example: 500 becomes 403 with header1; 404 gets `error`.
        .set_response_parameters(Some(
            [
                (
                    "500".to_string(),
                    params(&[
                        ("append:header.header1", "$context.requestId"),
                        ("overwrite:statuscode", "403"),
                    ]),
                ),
                (
                    "404".to_string(),
                    params(&[("append:header.error", "$stageVariables.environmentId")]),
                ),
                (
                    "200".to_string(),
                    params(&[
                        ("overwrite:header.x-echoed-path", "$response.body.path"),
                        ("overwrite:header.x-b", "$response.header.x-backend"),
                        ("remove:header.x-secret", "''"),
                    ]),
                ),
            ]
            .into_iter()
            .collect(),
        ))
        .send()
        .await
        .unwrap()
        .integration_id
        .unwrap();
    route(&c, &a, "POST /pets/{id}", &i).await;
    c.create_stage()
        .api_id(&a)
        .stage_name("$default")
        .auto_deploy(true)
        .stage_variables("env", "dev")
        .stage_variables("environmentId", "env-42")
        .send()
        .await
        .unwrap();
    let host = host_of(&a, &server);

    let r = send(
        server.addr,
        "POST",
        &host,
        "/pets/7?secret=s&keep=1",
        &[
            ("h-old", "renamed"),
            ("content-type", "application/json"),
            ("x-echo-header", "x-backend: b1"),
            ("x-echo-header", "x-secret: hidden"),
        ],
        br#"{"pet":{"name":"Rex"}}"#,
    )
    .await;
    let request_id = r.header("apigw-requestid").unwrap().to_string();
    let e = r.echoed();
    assert_eq!(e["path"], "/new/7/p");
    assert_eq!(e["query"], "keep=1&q=7");
    let h = &e["headers"];
    assert_eq!(h["header1"], request_id);
    assert_eq!(h["header2"], "renamed");
    assert!(h.get("h-old").is_none(), "{h}");
    assert_eq!(h["x-stage"], "dev-$default");
    assert_eq!(h["x-from-body"], "Rex");
    assert_eq!(e["body"], r#"{"pet":{"name":"Rex"}}"#);
    assert_eq!(r.header("x-echoed-path"), Some("/new/7/p"));
    assert_eq!(r.header("x-b"), Some("b1"));
    assert_eq!(r.header("x-secret"), None);

    let r = send(
        server.addr,
        "POST",
        &host,
        "/pets/1",
        &[("x-echo-status", "500")],
        b"{}",
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.header("header1"), r.header("apigw-requestid"));
    let r = send(
        server.addr,
        "POST",
        &host,
        "/pets/1",
        &[("x-echo-status", "404")],
        b"{}",
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("error"), Some("env-42"));
}

// ---------------------------------------------------------------------------------------------
// CORS, throttling, access logs

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflight_and_response_headers() {
    let up = http_upstream().await;
    let server = Server::start();
    let c = server.client("us-east-1");
    let a = c
        .create_api()
        .name("cors")
        .protocol_type(apigw::types::ProtocolType::Http)
        .cors_configuration(
            apigw::types::Cors::builder()
                .allow_origins("https://app.example")
                .allow_methods("GET")
                .allow_methods("POST")
                .allow_headers("x-custom")
                .expose_headers("x-backend")
                .max_age(600)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .api_id
        .unwrap();
    let i = integration(&c, &a, &format!("http://{up}/{{proxy}}"), "ANY").await;
    route(&c, &a, "GET /{proxy+}", &i).await;
    stage(&c, &a, "$default", true).await;
    let host = host_of(&a, &server);

    // Preflight without an OPTIONS route: answered by the gateway.
    let r = send(
        server.addr,
        "OPTIONS",
        &host,
        "/items",
        &[
            ("Origin", "https://app.example"),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "x-custom"),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert!(r
        .header("access-control-allow-methods")
        .unwrap()
        .contains("POST"));
    assert_eq!(r.header("access-control-allow-headers"), Some("x-custom"));
    assert_eq!(r.header("access-control-max-age"), Some("600"));
    assert!(r.header("apigw-requestid").is_some());

    // A CORS request: configured headers added, the backend's own CORS headers dropped.
    let r = send(
        server.addr,
        "GET",
        &host,
        "/items",
        &[
            ("Origin", "https://app.example"),
            (
                "x-echo-header",
                "access-control-allow-origin: https://evil.example",
            ),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(r.header("access-control-expose-headers"), Some("x-backend"));
    // A disallowed origin gets no CORS headers.
    let r = send(
        server.addr,
        "GET",
        &host,
        "/items",
        &[("Origin", "https://other.example")],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_answers_429() {
    let up = http_upstream().await;
    let server = Server::start();
    let c = server.client("us-east-1");
    let a = api(&c).await;
    let i = integration(&c, &a, &format!("http://{up}/"), "ANY").await;
    route(&c, &a, "GET /limited", &i).await;
    route(&c, &a, "GET /free", &i).await;
    c.create_stage()
        .api_id(&a)
        .stage_name("$default")
        .auto_deploy(true)
        .route_settings(
            "GET /limited",
            apigw::types::RouteSettings::builder()
                .throttling_burst_limit(3)
                .throttling_rate_limit(0.5)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(get(&server, &a, "/limited").await.status);
    }
    assert_eq!(&statuses[..3], &[200, 200, 200], "{statuses:?}");
    assert!(statuses[3..].iter().all(|s| *s == 429), "{statuses:?}");
    let r = get(&server, &a, "/limited").await;
    assert_eq!(
        (r.status, r.text()),
        (429, r#"{"message":"Too Many Requests"}"#.to_string())
    );
    assert!(r.header("apigw-requestid").is_some());
    // Other routes have no limit of their own.
    for _ in 0..10 {
        assert_eq!(get(&server, &a, "/free").await.status, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_log_lines_per_stage() {
    let up = http_upstream().await;
    let server = Server::start();
    let c = server.client("us-east-1");
    let a = api(&c).await;
    let i = integration(&c, &a, &format!("http://{up}/{{proxy}}"), "ANY").await;
    route(&c, &a, "ANY /{proxy+}", &i).await;
    let arn = "arn:aws:logs:us-east-1:000000000000:log-group:my-api-logs";
    c.create_stage()
        .api_id(&a)
        .stage_name("prod")
        .auto_deploy(true)
        .access_log_settings(
            apigw::types::AccessLogSettings::builder()
                .destination_arn(arn)
                .format(r#"{"requestId":"$context.requestId","routeKey":"$context.routeKey","status":"$context.status","path":"$context.path","len":"$context.responseLength","ip":"$context.identity.sourceIp","istatus":"$context.integrationStatus","err":"$context.error.message"}"#)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let r1 = get(&server, &a, "/prod/a/b").await;
    assert_eq!(r1.status, 200);
    let r2 = get(&server, &a, "/prod").await;
    assert_eq!(r2.status, 404);
    let file = server
        .data_dir
        .join("logs")
        .join("arn_aws_logs_us-east-1_000000000000_log-group_my-api-logs.log");
    let mut lines = Vec::new();
    for _ in 0..50 {
        if let Ok(text) = std::fs::read_to_string(&file) {
            lines = text.lines().map(str::to_string).collect();
            if lines.len() >= 2 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(lines.len(), 2, "{lines:?}");
    let l1: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(l1["requestId"], r1.header("apigw-requestid").unwrap());
    assert_eq!(l1["routeKey"], "ANY /{proxy+}");
    assert_eq!(l1["status"], "200");
    assert_eq!(l1["path"], "/prod/a/b");
    assert_eq!(l1["len"], r1.body.len().to_string());
    assert_eq!(l1["ip"], "127.0.0.1");
    assert_eq!(l1["istatus"], "200");
    assert_eq!(l1["err"], "-");
    let l2: Value = serde_json::from_str(&lines[1]).unwrap();
    assert_eq!(l2["status"], "404");
    assert_eq!(l2["err"], "Not Found");
    assert_eq!(l2["routeKey"], "-");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_log_on_stdout_and_vpc_link_by_arn() {
    use std::io::BufRead;
    let up = http_upstream().await;
    let dir = std::env::temp_dir().join(format!("apigw-it-dp-stdout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let listener_arn = "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/lb/9/9";
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_apigw"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--access-log-stdout",
            "--data-dir",
        ])
        .arg(&dir)
        .arg("--vpc-link-target")
        .arg(format!("{listener_arn}={up}"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let first = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    let addr: SocketAddr = first
        .strip_prefix("apigw listening on http://")
        .unwrap()
        .parse()
        .unwrap();
    let server = ServerRef { addr };
    let c = server.client();
    let a = api(&c).await;
    // A VPC-link integration whose target is configured by its listener ARN.
    let i = c
        .create_integration()
        .api_id(&a)
        .integration_type(apigw::types::IntegrationType::HttpProxy)
        .connection_type(apigw::types::ConnectionType::VpcLink)
        .connection_id("vlink-unmapped")
        .integration_uri(listener_arn)
        .integration_method("ANY")
        .payload_format_version("1.0")
        .send()
        .await
        .unwrap()
        .integration_id
        .unwrap();
    route(&c, &a, "GET /private", &i).await;
    c.create_stage()
        .api_id(&a)
        .stage_name("$default")
        .auto_deploy(true)
        .access_log_settings(
            apigw::types::AccessLogSettings::builder()
                .destination_arn("arn:aws:logs:us-east-1:000000000000:log-group:g")
                .format("$context.requestId $context.httpMethod $context.routeKey $context.status")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let r = send(
        addr,
        "GET",
        &format!("{a}.execute-api.localhost"),
        "/private?x=1",
        &[],
        b"",
    )
    .await;
    let e = r.echoed();
    assert_eq!(e["path"], "/private");
    assert_eq!(e["query"], "x=1");
    let line = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(
        line,
        format!(
            "{} GET GET /private 200",
            r.header("apigw-requestid").unwrap()
        )
    );
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A server started by hand (for flags the shared harness does not pass).
struct ServerRef {
    addr: SocketAddr,
}

impl ServerRef {
    fn client(&self) -> apigw::Client {
        let creds =
            aws_credential_types::Credentials::new("AKIDTEST", "secret", None, None, "static");
        let conf = apigw::Config::builder()
            .behavior_version(apigw::config::BehaviorVersion::latest())
            .region(apigw::config::Region::new("us-east-1"))
            .credentials_provider(creds)
            .endpoint_url(format!("http://{}", self.addr))
            .build();
        apigw::Client::from_conf(conf)
    }
}

#[test]
fn bad_data_plane_flags_stop_the_server() {
    for args in [
        vec!["--backend-ca-file", "/nonexistent/ca.pem"],
        vec!["--vpc-link-target", "no-target-here"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_apigw"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(std::env::temp_dir().join(format!("apigw-it-dp-flags-{}", std::process::id())))
            .args(&args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("backend CA file") || err.contains("--vpc-link-target expects"),
            "{args:?}: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(
        std::env::temp_dir().join(format!("apigw-it-dp-flags-{}", std::process::id())),
    );
}

/// An upstream that counts the TCP connections it accepts. `/chunked` answers with a streamed
/// (chunked) body, `/empty` with 204, anything else with `ok`. With `keep_alive` false it
/// closes every connection after one response.
async fn counting_upstream(keep_alive: bool) -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    async fn answer(req: Request) -> Response {
        match req.uri().path() {
            "/chunked" => {
                let parts = ["first,", "second"].map(|s| Ok::<_, std::io::Error>(s.to_string()));
                Response::new(Body::from_stream(futures_util::stream::iter(parts)))
            }
            "/empty" => {
                let mut r = Response::new(Body::empty());
                *r.status_mut() = axum::http::StatusCode::NO_CONTENT;
                r
            }
            _ => Response::new(Body::from("ok")),
        }
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let app = axum::Router::new().fallback(answer);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let service = hyper_util::service::TowerToHyperService::new(app.clone());
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .keep_alive(keep_alive)
                    .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    (addr, accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_connections_are_kept_alive_and_reused() {
    use std::sync::atomic::Ordering;
    let dir = crate::common::fresh_dir();
    // One event loop, so every request shares one pool.
    let server = Server::start_with(&dir, &["--io-threads", "1"]);
    let c = server.client("us-east-1");
    let (keep, kept_conns) = counting_upstream(true).await;
    let (close, closed_conns) = counting_upstream(false).await;
    let (kept_api, _) = proxy_api(&c, &format!("http://{keep}")).await;
    let (closing_api, _) = proxy_api(&c, &format!("http://{close}")).await;

    // Every kind of response end gives the connection back: a sized body, a chunked one, no
    // body (204) and a HEAD answer.
    for round in 0..3 {
        let r = get(&server, &kept_api, "/plain").await;
        assert_eq!(
            (r.status, r.text()),
            (200, "ok".to_string()),
            "round {round}"
        );
        let r = get(&server, &kept_api, "/chunked").await;
        assert_eq!((r.status, r.text()), (200, "first,second".to_string()));
        let r = get(&server, &kept_api, "/empty").await;
        assert_eq!((r.status, r.text()), (204, String::new()));
        let host = host_of(&kept_api, &server);
        let r = send(server.addr, "HEAD", &host, "/plain", &[], b"").await;
        assert_eq!(r.status, 200);
    }
    assert_eq!(
        kept_conns.load(Ordering::SeqCst),
        1,
        "12 sequential requests should share one backend connection"
    );

    // A backend that closes after each answer: never reused, and no request fails for it.
    for _ in 0..5 {
        let r = get(&server, &closing_api, "/plain").await;
        assert_eq!((r.status, r.text()), (200, "ok".to_string()));
    }
    assert_eq!(closed_conns.load(Ordering::SeqCst), 5);
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

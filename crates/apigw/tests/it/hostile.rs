//! Hostile and careless clients over real loopback sockets (issue 19): slow heads, slow
//! bodies, idle floods under a low file limit, smuggling vectors, two Hosts and dot segments.
//! Each test runs the binary with short bounds (the `apigw serve` flags) and checks that a
//! normal probe is still answered within a bound.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_apigatewayv2 as apigw;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::common::Server;

/// Bounds short enough for a test: half a second for heads, bodies, idleness and writes.
const SHORT: &[&str] = &[
    "--client-header-timeout",
    "0.5",
    "--client-body-timeout",
    "0.5",
    "--client-body-min-rate",
    "1000",
    "--keepalive-timeout",
    "0.5",
    "--send-timeout",
    "0.5",
];

fn short_server() -> Server {
    Server::start_args(SHORT)
}

/// Reads until the server closes (or `within` passes: then panics).
async fn until_closed(s: &mut TcpStream, within: Duration) -> String {
    let mut got = Vec::new();
    tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("still open after {within:?}"));
    String::from_utf8_lossy(&got).into_owned()
}

/// Sends `raw` on a new connection and reads the whole answer (the server closes).
async fn exchange(addr: SocketAddr, raw: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(raw).await.unwrap();
    until_closed(&mut s, Duration::from_secs(10)).await
}

/// `GET /v2/apis` answered 200 within `within`.
async fn probe(addr: SocketAddr, within: Duration) {
    let started = Instant::now();
    let got = exchange(
        addr,
        format!("GET /v2/apis HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await;
    assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "probe: {got}");
    assert!(
        started.elapsed() < within,
        "probe took {:?}",
        started.elapsed()
    );
}

fn header<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    let head = answer.split("\r\n\r\n").next()?;
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

fn body(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_heads_and_idle_sockets_are_closed_while_probes_are_answered() {
    let server = short_server();
    let addr = server.addr;
    probe(addr, Duration::from_secs(1)).await;
    let baseline = server.open_fds();
    let started = Instant::now();
    let mut attackers = Vec::new();
    for i in 0..60 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        attackers.push(tokio::spawn(async move {
            // Half of them trickle a head that never ends, half send nothing at all.
            if i % 2 == 0 {
                let _ = s.write_all(b"GET /v2/apis HTTP/1.1\r\nHost: x\r\n").await;
                let mut n = 0;
                loop {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    n += 1;
                    if s.write_all(format!("x-{n}: 1\r\n").as_bytes())
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            }
            until_closed(&mut s, Duration::from_secs(5)).await
        }));
    }
    probe(addr, Duration::from_secs(1)).await;
    for (i, a) in attackers.into_iter().enumerate() {
        let got = a.await.unwrap();
        if i % 2 == 0 {
            // The head never parsed, so which plane it was for is unknown: the plain form.
            assert!(got.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{got}");
            assert_eq!(header(&got, "content-type"), Some("application/json"));
            assert_eq!(body(&got), r#"{"message":"Request Timeout"}"#);
        } else {
            assert_eq!(got, "", "a silent connection closes without a word");
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // A keep-alive connection left idle after its answer closes too.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(format!("GET /v2/apis HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let got = until_closed(&mut idle, Duration::from_secs(3)).await;
    assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{got}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        server.open_fds() <= baseline + 2,
        "{} fds, {baseline} before",
        server.open_fds()
    );
}

/// An HTTP API whose `ANY /items/{proxy+}` route proxies to `upstream/base/{proxy}` and whose
/// `$default` route to `upstream`; returns the API id.
async fn items_api(c: &apigw::Client, upstream: SocketAddr) -> String {
    let api = crate::common::http_api(c).await;
    for (key, uri) in [
        (
            "ANY /items/{proxy+}",
            format!("http://{upstream}/base/{{proxy}}"),
        ),
        ("$default", format!("http://{upstream}")),
    ] {
        let i = c
            .create_integration()
            .api_id(&api)
            .integration_type(apigw::types::IntegrationType::HttpProxy)
            .integration_uri(uri)
            .integration_method("ANY")
            .payload_format_version("1.0")
            .send()
            .await
            .unwrap()
            .integration_id
            .unwrap();
        c.create_route()
            .api_id(&api)
            .route_key(key)
            .target(format!("integrations/{i}"))
            .send()
            .await
            .unwrap();
    }
    c.create_stage()
        .api_id(&api)
        .stage_name("$default")
        .auto_deploy(true)
        .send()
        .await
        .unwrap();
    api
}

/// A loopback HTTP server that records the request target of every request it gets and
/// answers 200 with it (read to the end of its body).
async fn recording_upstream() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let record = seen.clone();
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let record = record.clone();
        async move {
            let target = req.uri().to_string();
            record.lock().unwrap().push(target.clone());
            let _ = axum::body::to_bytes(req.into_body(), usize::MAX).await;
            target
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_bodies_end_with_408_in_each_planes_shape() {
    let server = short_server();
    let addr = server.addr;
    let (up, _) = recording_upstream().await;
    let api = items_api(&server.client("us-east-1"), up).await;
    let host = format!("{api}.execute-api.localhost:{}", addr.port());
    for (plane, host, target) in [
        ("data", host.as_str(), "/items/upload"),
        ("control", "127.0.0.1", "/v2/apis"),
    ] {
        // A 10 GB body of which two bytes come: a body too large is refused at once (413),
        // so the stall is tried on a chunked body.
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(
            format!("POST {target} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab")
                .as_bytes(),
        )
        .await
        .unwrap();
        let started = Instant::now();
        let got = until_closed(&mut s, Duration::from_secs(3)).await;
        assert!(
            got.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
            "{plane}: {got}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{plane}: {:?}",
            started.elapsed()
        );
        assert_eq!(body(&got), r#"{"message":"Request Timeout"}"#, "{plane}");
        assert_eq!(
            header(&got, "content-type"),
            Some("application/json"),
            "{plane}"
        );
        match plane {
            "data" => assert!(header(&got, "apigw-requestid").is_some(), "{got}"),
            _ => assert_eq!(
                header(&got, "x-amzn-ErrorType"),
                Some("BadRequestException")
            ),
        }

        // A trickle that never pauses long but stays far below the minimum rate.
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(
            format!("POST {target} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100000\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
        let started = Instant::now();
        let (mut r, mut w) = s.into_split();
        let trickle = tokio::spawn(async move {
            while w.write_all(b"z").await.is_ok() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let mut got = Vec::new();
        tokio::time::timeout(Duration::from_secs(3), r.read_to_end(&mut got))
            .await
            .unwrap_or_else(|_| panic!("{plane}: the trickle still holds its connection"))
            .ok();
        trickle.abort();
        let got = String::from_utf8_lossy(&got);
        assert!(
            got.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
            "{plane}: {got}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
    }
    // The declared 10 GB with two bytes: refused before reading, the connection gone soon.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!("POST /items/x HTTP/1.1\r\nHost: {host}\r\nContent-Length: 10737418240\r\n\r\nab")
            .as_bytes(),
    )
    .await
    .unwrap();
    let got = until_closed(&mut s, Duration::from_secs(3)).await;
    assert!(got.starts_with("HTTP/1.1 413 "), "{got}");
    probe(addr, Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_flood_under_a_low_file_limit_leaves_the_port_answering() {
    // 128 descriptors: the derived cap is (128 - 64) / 2 = 32 connections.
    let mut extra = SHORT.to_vec();
    extra.extend(["--io-threads", "1"]);
    let server = Server::start_with_file_limit(128, &extra);
    let addr = server.addr;
    // Warm: what the first request opens (the store's files) stays open.
    probe(addr, Duration::from_secs(1)).await;
    let baseline = server.open_fds();
    // 300 sockets that send nothing, more than the process could even hold.
    let mut flood = Vec::new();
    for _ in 0..300 {
        flood.push(TcpStream::connect(addr).await.unwrap());
    }
    // Meanwhile the port answers: at once (a refusal) and within the idle bound (served).
    let started = Instant::now();
    let got = exchange(
        addr,
        format!("GET /v2/apis HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(
        got.starts_with("HTTP/1.1 503 Service Unavailable\r\n")
            || got.starts_with("HTTP/1.1 200 OK\r\n"),
        "{got}"
    );
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let got = exchange(
            addr,
            format!("GET /v2/apis HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await;
        if got.starts_with("HTTP/1.1 200 OK\r\n") {
            break;
        }
        assert!(Instant::now() < deadline, "no 200 within 3 s: {got}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Every flood socket was closed by the server (refused, or timed out).
    for mut s in flood {
        until_closed(&mut s, Duration::from_secs(3)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        server.open_fds() <= baseline + 2,
        "{} fds, {baseline} before",
        server.open_fds()
    );
    probe(addr, Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smuggling_vectors_and_hosts_get_one_400_in_each_planes_shape() {
    let server = short_server();
    let addr = server.addr;
    let (up, seen) = recording_upstream().await;
    let api = items_api(&server.client("us-east-1"), up).await;
    let dp = format!("{api}.execute-api.localhost:{}", addr.port());
    let cp = addr.to_string();
    let chunked = |host: &str, target: &str, body: &str| {
        format!(
            "POST {target} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n{body}"
        )
    };
    let smuggled = "GET /items/smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
    for (host, target) in [(dp.as_str(), "/items/in"), (cp.as_str(), "/v2/apis")] {
        let data = host == dp;
        for raw in [
            // A request line where trailers belong, a bare LF, a trailer without a colon, a
            // chunk size with a leading space, a size that is no number.
            chunked(host, target, &format!("0\r\n{smuggled}")),
            chunked(host, target, &format!("0\r\nx-t: 1\n\r\n{smuggled}")),
            chunked(host, target, "2\r\nab\r\n0\r\nno colon here\r\n\r\n"),
            chunked(host, target, " 2\r\nab\r\n0\r\n\r\n"),
            chunked(host, target, "zz\r\nab\r\n0\r\n\r\n"),
            // Two Hosts, none, both framings.
            format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nHost: other\r\n\r\n"),
            format!("GET {target} HTTP/1.1\r\n\r\n"),
            format!("POST {target} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ] {
            let got = exchange(addr, raw.as_bytes()).await;
            assert!(got.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{raw:?}: {got}");
            assert_eq!(got.matches("HTTP/1.1 ").count(), 1, "one answer only: {got}");
            assert_eq!(body(&got), r#"{"message":"Bad Request"}"#, "{raw:?}");
            assert_eq!(header(&got, "content-type"), Some("application/json"));
            // Without a Host the plane is the control plane's (the default).
            if data && raw.contains("Host: ") {
                assert!(header(&got, "apigw-requestid").is_some(), "{raw:?}: {got}");
            } else if raw.contains("Host: ") {
                assert_eq!(header(&got, "x-amzn-ErrorType"), Some("BadRequestException"), "{raw:?}");
            }
        }
    }
    assert!(
        !seen.lock().unwrap().iter().any(|p| p.contains("smuggled")),
        "{:?}",
        seen.lock().unwrap()
    );
    // An absolute-form target names the API whatever Host says.
    let got = exchange(
        addr,
        format!("GET http://{dp}/items/abs HTTP/1.1\r\nHost: {cp}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .await;
    assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{got}");
    assert!(got.ends_with("/base/abs"), "{got}");
    probe(addr, Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_segments_never_reach_the_upstream() {
    let server = short_server();
    let addr = server.addr;
    let (up, seen) = recording_upstream().await;
    let api = items_api(&server.client("us-east-1"), up).await;
    let host = format!("{api}.execute-api.localhost:{}", addr.port());
    let get = |target: String| {
        let host = host.clone();
        async move {
            exchange(
                addr,
                format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await
        }
    };
    for target in [
        "/items/../../etc/passwd",
        "/items/a/../../../etc/passwd",
        "/items/%2e%2e/%2e%2e/etc/passwd",
        "/items/%2E%2e/x",
        "/items/.%2E/x",
        "/items/..%2f..%2fetc%2fpasswd",
        "/items/..%5C..%5Cetc",
        "/items/./x",
        "/../items/x",
        "/items/..",
    ] {
        let got = get(target.to_string()).await;
        assert!(
            got.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{target}: {got}"
        );
        assert_eq!(body(&got), r#"{"message":"Bad Request"}"#);
        assert!(header(&got, "apigw-requestid").is_some());
        // The path form too.
        let got = get(format!("/_aws/execute-api/{api}{target}")).await;
        assert!(
            got.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{target}: {got}"
        );
    }
    // Names that only look like dots pass, under the base path.
    for (target, upstream) in [
        ("/items/a.b/..c/.d", "/base/a.b/..c/.d"),
        ("/items/.../x", "/base/.../x"),
        ("/items/v1.2", "/base/v1.2"),
    ] {
        let got = get(target.to_string()).await;
        assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{target}: {got}");
        assert!(got.ends_with(upstream), "{target}: {got}");
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(seen.iter().all(|p| p.starts_with("/base/")), "{seen:?}");
}

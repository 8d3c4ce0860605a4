use super::*;

fn parse(head: &str) -> Result<RequestHead, StatusCode> {
    let (len, parsed) = parse_request(head.as_bytes())
        .map_err(|r| r.status)?
        .ok_or(StatusCode::CONTINUE)?;
    assert_eq!(len, head.len());
    Ok(parsed)
}

#[test]
fn request_heads_and_their_framing() {
    let h =
        parse("POST /a/b?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nX-A: 1\r\nX-A: 2\r\n\r\n")
            .unwrap();
    assert_eq!(h.method, Method::POST);
    assert_eq!(h.uri, "/a/b?x=1");
    assert_eq!(h.framing, BodyFraming::Length(5));
    assert_eq!(h.headers.get_all("x-a").iter().count(), 2);
    assert!(h.keep_alive && !h.expect_continue);

    let h = parse(
        "PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-Continue\r\n\r\n",
    )
    .unwrap();
    assert_eq!(h.framing, BodyFraming::CHUNKED);
    assert!(h.expect_continue);

    assert_eq!(
        parse_request(b"GET / HTTP/1.1\r\nHost: a\r\n")
            .unwrap()
            .map(|p| p.0),
        None
    );
    let h = parse("GET / HTTP/1.0\r\n\r\n").unwrap();
    assert_eq!(h.version, Version::HTTP_10);
    assert!(!h.keep_alive);
    assert_eq!(h.framing, BodyFraming::Length(0));

    let bad = |head: &str| parse(head).err();
    let b = Some(StatusCode::BAD_REQUEST);
    assert_eq!(
        bad("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n"),
        b
    );
    assert_eq!(
        bad("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
        b
    );
    assert_eq!(
        bad(
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
        ),
        b
    );
    assert_eq!(
        bad("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
        b
    );
    assert_eq!(
        bad("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"),
        b
    );
    assert_eq!(
        bad("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
        Some(StatusCode::NOT_IMPLEMENTED)
    );
    assert_eq!(bad("G@T / HTTP/1.1\r\nHost: a\r\n\r\n"), b);
    assert_eq!(bad("GET / HTTP/1.1\r\nHost: a\r\nBad Name: 1\r\n\r\n"), b);
    let many: String = (0..=MAX_HEADERS).map(|i| format!("x-{i}: 1\r\n")).collect();
    assert_eq!(
        bad(&format!("GET / HTTP/1.1\r\nHost: a\r\n{many}\r\n")),
        Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
    );
}

#[test]
fn one_host_and_absolute_form_authority_wins() {
    let bad = |head: &str| parse(head).err();
    let b = Some(StatusCode::BAD_REQUEST);
    assert_eq!(bad("GET / HTTP/1.1\r\n\r\n"), b, "HTTP/1.1 needs a Host");
    assert_eq!(bad("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), b);
    assert_eq!(bad("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), b);
    assert_eq!(bad("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n"), b);
    assert_eq!(bad("GET example.com:80 HTTP/1.1\r\nHost: a\r\n\r\n"), b);
    assert!(
        parse("GET / HTTP/1.0\r\n\r\n").is_ok(),
        "HTTP/1.0 may omit it"
    );
    let h = parse("GET http://Api.Example:8080/p?q HTTP/1.1\r\nHost: other\r\n\r\n").unwrap();
    assert_eq!(
        h.headers.get_all(HOST).iter().collect::<Vec<_>>(),
        ["Api.Example:8080"]
    );
    assert_eq!(h.uri.path(), "/p");
    let h = parse("GET http://u@api/ HTTP/1.1\r\nHost: other\r\n\r\n").unwrap();
    assert_eq!(h.headers[HOST], "api", "no user info in the host");
    assert!(parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").is_ok());
}

#[test]
fn numbers_on_the_wire() {
    let mut out = Vec::new();
    append_decimal(&mut out, 0);
    out.push(b' ');
    append_decimal(&mut out, u64::MAX);
    out.push(b' ');
    append_hex(&mut out, 0);
    out.push(b' ');
    append_hex(&mut out, 0x1a2b);
    assert_eq!(out, b"0 18446744073709551615 0 1a2b");
}

// ---- Whole connections over loopback sockets ------------------------------------------------

use std::net::SocketAddr;

use tokio::net::TcpListener;

/// Answers by path: `/hello` a fixed body, `/echo` the request body, `/ignore` 413 without
/// reading the body, `/stream` a body of unknown length, `/empty` 204, `/slow` after a pause,
/// `/fail` a body that breaks off.
#[derive(Clone)]
struct TestService;

impl Handler for TestService {
    async fn handle(&self, req: Request<Body>) -> Response<Body> {
        {
            let path = req.uri().path().to_string();
            let resp = match path.as_str() {
                "/hello" => Response::builder()
                    .header("content-type", "text/plain")
                    .body(Body::from("hello")),
                "/echo" => {
                    let method = req.method().clone();
                    let body = axum::body::to_bytes(req.into_body(), usize::MAX).await;
                    match body {
                        Ok(b) => Response::builder()
                            .header("x-method", method.as_str())
                            .body(Body::from(b)),
                        Err(e) => Response::builder()
                            .status(400)
                            .body(Body::from(format!("body failed: {e}"))),
                    }
                }
                "/ignore" => Response::builder().status(413).body(Body::empty()),
                "/stream" => Response::builder()
                    .body(Body::from_stream(futures_stream(&[Ok("abc"), Ok("def")]))),
                "/empty" => Response::builder()
                    .status(204)
                    .header("content-length", "0")
                    .body(Body::empty()),
                "/slow" => {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    Response::builder().body(Body::from("slow"))
                }
                "/fail" => {
                    Response::builder()
                        .header("content-length", "10")
                        .body(Body::from_stream(futures_stream(&[
                            Ok("par"),
                            Err("broken"),
                        ])))
                }
                "/upgrade" => return upgrade_response(true),
                "/upgrade-bug" => return upgrade_response(false),
                _ => Response::builder().status(404).body(Body::empty()),
            };
            resp.unwrap_or_else(|_| Response::new(Body::empty()))
        }
    }
}

/// A 101 whose connection, once handed over, answers `got <read_buf>` then echoes what it
/// reads until the client closes or the server stops (then `stopped`). Without `on_upgrade`,
/// the handler bug the server must not pass on.
fn upgrade_response(on_upgrade: bool) -> Response<Body> {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    resp.headers_mut()
        .insert("upgrade", HeaderValue::from_static("echo"));
    resp.headers_mut()
        .insert("connection", HeaderValue::from_static("upgrade"));
    // Framing headers a 101 must not carry: dropped by the server.
    resp.headers_mut()
        .insert("content-length", HeaderValue::from_static("0"));
    if on_upgrade {
        resp.extensions_mut()
            .insert(OnUpgrade::new(|up: Upgraded| async move {
                let Upgraded {
                    mut stream,
                    read_buf,
                    mut stop,
                } = up;
                let mut greeting = b"got ".to_vec();
                greeting.extend_from_slice(&read_buf);
                stream.write_all(&greeting).await.unwrap();
                let mut buf = [0u8; 1024];
                loop {
                    tokio::select! {
                        n = stream.read(&mut buf) => match n {
                            Ok(0) | Err(_) => return,
                            Ok(n) => stream.write_all(&buf[..n]).await.unwrap(),
                        },
                        _ = async { let _ = stop.wait_for(|s| *s).await; } => {
                            let _ = stream.write_all(b"stopped").await;
                            return;
                        }
                    }
                }
            }));
    }
    resp
}

/// A body stream of the given pieces (no `futures` dependency for one test helper).
fn futures_stream(
    items: &[Result<&'static str, &'static str>],
) -> impl futures_core::Stream<Item = Result<Bytes, io::Error>> + Send + 'static {
    struct Pieces(std::collections::VecDeque<Result<&'static str, &'static str>>);
    impl futures_core::Stream for Pieces {
        type Item = Result<Bytes, io::Error>;
        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            Poll::Ready(self.0.pop_front().map(|r| {
                r.map(|s| Bytes::from_static(s.as_bytes()))
                    .map_err(|e| io::Error::other(e.to_string()))
            }))
        }
    }
    Pieces(items.iter().copied().collect())
}

async fn start() -> (SocketAddr, watch::Sender<bool>) {
    start_with(Limits::default()).await
}

async fn start_with(limits: Limits) -> (SocketAddr, watch::Sender<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_with(stream, TestService, stop_rx.clone(), limits, ()));
        }
    });
    (addr, stop)
}

/// Bounds short enough for tests.
fn short() -> Limits {
    Limits {
        header_timeout: Duration::from_millis(400),
        body_timeout: Duration::from_millis(400),
        body_min_rate: 1000,
        idle_timeout: Duration::from_millis(300),
        send_timeout: Duration::from_millis(300),
    }
}

/// Reads until the server closes, failing if that takes longer than `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> String {
    let mut got = Vec::new();
    tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("the server closed the connection in time");
    String::from_utf8_lossy(&got).into_owned()
}

/// The bytes the server sends back, read to the close, with `date` values blanked.
async fn read_all(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut got))
        .await
        .expect("the server closed the connection in time")
        .expect("read");
    let text = String::from_utf8_lossy(&got).into_owned();
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("date: ") {
        out.push_str(&rest[..i + 6]);
        out.push('X');
        rest = &rest[i + 6 + date::LEN..];
    }
    out.push_str(rest);
    out
}

/// Sends `raw` on a new connection, half-closes it, and returns everything the server sent.
async fn exchange(addr: SocketAddr, raw: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw).await.unwrap();
    stream.shutdown().await.unwrap();
    read_all(&mut stream).await
}

#[tokio::test]
async fn keep_alive_and_pipelined_requests_are_answered_in_order() {
    let (addr, _stop) = start().await;
    let got = exchange(
        addr,
        b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n\r\nGET /hello?x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    let hello = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: X\r\ncontent-length: 5\r\n";
    assert_eq!(
        got,
        format!("{hello}\r\nhello{hello}connection: close\r\n\r\nhello")
    );
}

#[tokio::test]
async fn request_bodies_chunked_sized_and_larger_than_the_buffer() {
    let (addr, _stop) = start().await;
    let got = exchange(
        addr,
        b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: 1\r\n\r\n\
          PUT /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
    )
    .await;
    let echo = |m: &str, body: &str, close: &str| {
        format!(
            "HTTP/1.1 200 OK\r\nx-method: {m}\r\ndate: X\r\ncontent-length: {}\r\n{close}\r\n{body}",
            body.len()
        )
    };
    assert_eq!(
        got,
        echo("POST", "hello world", "") + &echo("PUT", "abc", "connection: close\r\n")
    );

    // 1 MB: read from the socket as the service takes it, in many pieces.
    let big = vec![b'z'; 1 << 20];
    let mut raw = format!(
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
        big.len()
    )
    .into_bytes();
    raw.extend_from_slice(&big);
    raw.extend_from_slice(b"GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    let got = exchange(addr, &raw).await;
    let expected = echo("POST", &"z".repeat(1 << 20), "");
    assert!(got.starts_with(&expected), "{}", &got[..200.min(got.len())]);
    assert!(
        got[expected.len()..].starts_with("HTTP/1.1 200 OK\r\n"),
        "the connection served the next request"
    );
    assert!(got.ends_with("connection: close\r\n\r\nhello"));
}

#[tokio::test]
async fn expect_100_continue_is_answered_before_the_body_is_sent() {
    let (addr, _stop) = start().await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut interim = [0u8; 25];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut interim))
        .await
        .expect("100 Continue arrives while the body is held back")
        .unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(b"hello").await.unwrap();
    let got = read_all(&mut stream).await;
    assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{got}");
    assert!(got.ends_with("\r\n\r\nhello"), "{got}");
}

#[tokio::test]
async fn http_1_0_clients_get_keep_alive_only_when_asked_and_no_chunking() {
    let (addr, _stop) = start().await;
    let got = exchange(
        addr,
        b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /stream HTTP/1.0\r\n\r\nGET /hello HTTP/1.0\r\n\r\n",
    )
    .await;
    // The second answer has no length and no chunking: it ends with the connection, so the
    // third request is never answered.
    assert_eq!(
        got,
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: X\r\ncontent-length: 5\r\nconnection: keep-alive\r\n\r\nhello\
         HTTP/1.1 200 OK\r\ndate: X\r\nconnection: close\r\n\r\nabcdef"
    );
}

#[tokio::test]
async fn bodies_of_unknown_length_are_chunked_and_bodiless_answers_stay_bodiless() {
    let (addr, _stop) = start().await;
    let got = exchange(
        addr,
        b"GET /stream HTTP/1.1\r\nHost: a\r\n\r\nHEAD /hello HTTP/1.1\r\nHost: a\r\n\r\nDELETE /empty HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(
        got,
        "HTTP/1.1 200 OK\r\ndate: X\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n\
         HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: X\r\ncontent-length: 5\r\n\r\n\
         HTTP/1.1 204 No Content\r\ndate: X\r\nconnection: close\r\n\r\n"
    );
}

#[tokio::test]
async fn bad_requests_get_400_431_or_501_and_the_connection_closes() {
    let (addr, _stop) = start().await;
    let answer = |status: &str| {
        let message = format!(r#"{{"message":"{}"}}"#, &status[4..]);
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ndate: X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{message}",
            message.len()
        )
    };
    assert_eq!(
        exchange(
            addr,
            b"GARBAGE\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n"
        )
        .await,
        answer("400 Bad Request")
    );
    assert_eq!(
        exchange(
            addr,
            b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"
        )
        .await,
        answer("400 Bad Request")
    );
    assert_eq!(
        exchange(
            addr,
            b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"
        )
        .await,
        answer("501 Not Implemented")
    );
    let mut huge = b"GET /hello HTTP/1.1\r\nHost: a\r\nx-big: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', MAX_HEAD + 10));
    assert_eq!(
        exchange(addr, &huge).await,
        answer("431 Request Header Fields Too Large")
    );
    // A chunked body that breaks its framing fails the service's read.
    let got = exchange(
        addr,
        b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    )
    .await;
    assert!(got.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{got}");
    assert!(got.contains("connection: close\r\n"), "{got}");
}

#[tokio::test]
async fn an_unread_request_body_is_drained_so_the_client_sees_the_answer() {
    let (addr, _stop) = start().await;
    // 8 MB is more than loopback's socket buffers hold: without the drain the client could
    // not finish sending, or its data would meet a reset that destroys the answer.
    let body = vec![b'x'; 8 << 20];
    let mut raw = format!(
        "POST /ignore HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(&body);
    assert_eq!(
        exchange(addr, &raw).await,
        "HTTP/1.1 413 Payload Too Large\r\ndate: X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
}

#[tokio::test]
async fn a_response_body_that_breaks_off_ends_the_connection() {
    let (addr, _stop) = start().await;
    let got = exchange(
        addr,
        b"GET /fail HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n",
    )
    .await;
    // The client sees fewer bytes than promised and a close, never a second answer.
    assert_eq!(
        got,
        "HTTP/1.1 200 OK\r\ndate: X\r\ncontent-length: 10\r\n\r\npar"
    );
}

#[tokio::test]
async fn stop_closes_idle_connections_and_lets_requests_in_flight_finish() {
    let (addr, stop) = start().await;
    let mut idle = TcpStream::connect(addr).await.unwrap();
    let mut busy = TcpStream::connect(addr).await.unwrap();
    busy.write_all(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    // Let both connections reach the server before the stop.
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(true).unwrap();
    assert_eq!(
        read_all(&mut idle).await,
        "",
        "the idle connection closes at once"
    );
    assert_eq!(
        read_all(&mut busy).await,
        "HTTP/1.1 200 OK\r\ndate: X\r\ncontent-length: 4\r\nconnection: close\r\n\r\nslow"
    );
}

#[tokio::test]
async fn heads_and_bodies_that_arrive_in_pieces() {
    let (addr, _stop) = start().await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    for piece in [
        &b"\r\nPOST /echo HTT"[..],
        b"P/1.1\r\nHost: a\r\nContent-Length: 4\r",
        b"\nConnection: close\r\n\r",
        b"\nab",
        b"cd",
    ] {
        stream.write_all(piece).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        read_all(&mut stream).await,
        "HTTP/1.1 200 OK\r\nx-method: POST\r\ndate: X\r\ncontent-length: 4\r\nconnection: close\r\n\r\nabcd"
    );
}

const UPGRADED: &str =
    "HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\nconnection: upgrade\r\n\r\n";

#[tokio::test]
async fn a_101_hands_the_connection_over_with_the_bytes_read_past_the_head() {
    let (addr, _stop) = start().await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The client's first bytes of the new protocol ride behind the request head.
    stream
        .write_all(b"GET /upgrade HTTP/1.1\r\nHost: a\r\nUpgrade: echo\r\nConnection: upgrade\r\n\r\nearly")
        .await
        .unwrap();
    let mut got = vec![0u8; UPGRADED.len() + "got early".len()];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut got))
        .await
        .unwrap()
        .unwrap();
    // The head exactly as given: no date, no framing headers.
    assert_eq!(
        String::from_utf8_lossy(&got),
        format!("{UPGRADED}got early")
    );
    stream.write_all(b"ping").await.unwrap();
    let mut echo = [0u8; 4];
    stream.read_exact(&mut echo).await.unwrap();
    assert_eq!(&echo, b"ping");
    // A request-looking line is just bytes now.
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    stream.shutdown().await.unwrap();
    assert_eq!(
        read_all(&mut stream).await,
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
    );
}

#[tokio::test]
async fn an_upgrade_after_a_request_on_the_same_connection() {
    let (addr, _stop) = start().await;
    let got = exchange(
        addr,
        b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /upgrade HTTP/1.1\r\nHost: a\r\nUpgrade: echo\r\nConnection: upgrade\r\n\r\n",
    )
    .await;
    assert_eq!(
        got,
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: X\r\ncontent-length: 5\r\n\r\nhello{UPGRADED}got "
        )
    );
}

#[tokio::test]
async fn a_101_without_on_upgrade_or_with_the_body_unread_closes_the_connection() {
    let (addr, _stop) = start().await;
    assert_eq!(
        exchange(
            addr,
            b"GET /upgrade-bug HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n"
        )
        .await,
        ""
    );
    // The body is still on its way when the handler answers: it would reach the new
    // protocol as its own bytes.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /upgrade HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_all(&mut stream).await, "");
    // A body that came whole with the head went to the handler: the hand-off goes ahead.
    let got = exchange(
        addr,
        b"POST /upgrade HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nabcdeafter",
    )
    .await;
    assert_eq!(got, format!("{UPGRADED}got after"));
}

#[tokio::test]
async fn an_upgraded_connection_sees_the_stop_signal() {
    let (addr, stop) = start().await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /upgrade HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    let mut got = vec![0u8; UPGRADED.len() + 4];
    stream.read_exact(&mut got).await.unwrap();
    stop.send(true).unwrap();
    assert_eq!(read_all(&mut stream).await, "stopped");
}

#[tokio::test]
async fn a_head_that_trickles_in_gets_408_at_the_header_deadline() {
    let (addr, _stop) = start_with(short()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nHost: a\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let trickle = async {
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if stream.write_all(b"x-a: 1\r\n").await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        () = trickle => {}
        () = tokio::time::sleep(Duration::from_secs(3)) => panic!("still open after 3 s"),
    }
    let got = closed_within(&mut stream, Duration::from_secs(2)).await;
    assert!(started.elapsed() < Duration::from_millis(1500));
    assert!(got.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{got}");
    assert!(got.ends_with(r#"{"message":"Request Timeout"}"#), "{got}");
}

#[tokio::test]
async fn silent_and_idle_connections_close_quietly() {
    let (addr, _stop) = start_with(short()).await;
    // Nothing sent at all: the head deadline runs from the accept.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    assert_eq!(closed_within(&mut silent, Duration::from_secs(2)).await, "");
    // Blank lines are not a head and do not keep a connection open.
    let mut blank = TcpStream::connect(addr).await.unwrap();
    for _ in 0..4 {
        let _ = blank.write_all(b"\r\n").await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert_eq!(closed_within(&mut blank, Duration::from_secs(2)).await, "");
    // Idle after an answer: closed after the idle timeout, with nothing more sent.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let got = closed_within(&mut idle, Duration::from_secs(2)).await;
    assert!(got.ends_with("\r\n\r\nhello"), "{got}");
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[tokio::test]
async fn a_huge_declared_body_with_two_bytes_sent_gets_408() {
    let (addr, _stop) = start_with(short()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10737418240\r\n\r\nab")
        .await
        .unwrap();
    let got = closed_within(&mut stream, Duration::from_secs(2)).await;
    assert!(got.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{got}");
    assert!(got.contains("connection: close\r\n"), "{got}");
}

#[tokio::test]
async fn a_body_below_the_minimum_rate_ends_even_if_it_never_stalls() {
    let (addr, _stop) = start_with(short()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    // One byte every 50 ms: never a pause as long as the timeout, but 20 B/s.
    let trickle = async {
        loop {
            if stream.write_all(b"1\r\nz\r\n").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::select! {
        () = trickle => {}
        () = tokio::time::sleep(Duration::from_secs(3)) => panic!("still open after 3 s"),
    }
    let got = closed_within(&mut stream, Duration::from_secs(2)).await;
    assert!(started.elapsed() < Duration::from_millis(1500));
    assert!(got.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{got}");
}

#[tokio::test]
async fn a_request_line_in_the_trailers_is_refused_not_swallowed() {
    let (addr, _stop) = start().await;
    for smuggled in [
        &b"0\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n"[..],
        b"0\r\nx-t: 1\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n",
        b" 0\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n",
    ] {
        let mut raw =
            b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        raw.extend_from_slice(smuggled);
        let got = exchange(addr, &raw).await;
        assert!(got.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{got}");
        assert!(
            got.ends_with(r#"{"message":"Bad Request"}"#),
            "only the refusal: {got}"
        );
    }
    // Well-formed trailers are still fine.
    let got = exchange(
        addr,
        b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\nok\r\n0\r\nx-t: 1\r\n\r\n",
    )
    .await;
    assert!(got.ends_with("\r\n\r\nok"), "{got}");
}

#[tokio::test]
async fn two_hosts_or_none_get_400() {
    let (addr, _stop) = start().await;
    for raw in [
        &b"GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"[..],
        b"GET /hello HTTP/1.1\r\n\r\n",
    ] {
        let got = exchange(addr, raw).await;
        assert!(got.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{got}");
    }
}

#[tokio::test]
async fn a_client_that_stops_reading_is_cut_off_at_the_send_timeout() {
    let (addr, _stop) = start_with(short()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 33554432\r\n\r\n")
        .await
        .unwrap();
    // 32 MB sent and echoed while this client reads nothing: the server's writes stall.
    let body = vec![b'z'; 1 << 20];
    let send = async {
        for _ in 0..32 {
            if stream.write_all(&body).await.is_err() {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(3), send).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let got = closed_within(&mut stream, Duration::from_secs(3)).await;
    assert!(got.len() < 32 << 20, "the answer was cut short");
}

#[tokio::test]
async fn an_upgraded_connection_has_no_http_deadlines() {
    let (addr, _stop) = start_with(short()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /upgrade HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    let mut got = vec![0u8; UPGRADED.len() + 4];
    stream.read_exact(&mut got).await.unwrap();
    // Longer than every HTTP bound, then a partial "head": just bytes to the echo.
    tokio::time::sleep(Duration::from_millis(900)).await;
    stream.write_all(b"GET / HT").await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut echo = [0u8; 8];
    stream.read_exact(&mut echo).await.unwrap();
    assert_eq!(&echo, b"GET / HT");
}

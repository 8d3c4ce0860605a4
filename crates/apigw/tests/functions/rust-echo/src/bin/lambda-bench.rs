//! Benchmark client for bench/lambda.sh (not part of the gateway). Two ways to run the same
//! warm function N times, one call at a time, printing latency percentiles:
//!
//! * `lambda-bench direct FUNCTION_BINARY N`: this program is the Runtime API (a minimal
//!   HTTP/1.1 server on loopback) for one process of the function; a call is the time from
//!   making an event available to `next` until its `response` arrives. This is the function's
//!   own Runtime API loop with the least server possible in between.
//! * `lambda-bench gateway HOST:PORT FUNCTION_NAME N`: `POST /2015-03-31/functions/NAME/invocations`
//!   on one keep-alive connection to the gateway; a call is request sent to response read.
//!
//! Prints `RESULT mode=... n=... p50_us=... p90_us=... p99_us=... mean_us=...`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Mutex};

const EVENT: &[u8] = br#"{"bench":true}"#;
const WARMUP: usize = 200;

fn report(mode: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let pct = |p: f64| us(samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)]);
    let mean = samples.iter().map(|d| us(*d)).sum::<f64>() / samples.len() as f64;
    println!(
        "RESULT mode={mode} n={} p50_us={:.0} p90_us={:.0} p99_us={:.0} mean_us={:.0}",
        samples.len(),
        pct(0.50),
        pct(0.90),
        pct(0.99),
        mean
    );
}

/// Reads one HTTP/1.1 request: (request line, body).
async fn read_request(
    r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> Option<(String, Vec<u8>)> {
    let mut line = String::new();
    if r.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        r.read_line(&mut h).await.ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).await.ok()?;
    Some((line, body))
}

async fn serve_runtime(
    stream: TcpStream,
    events: Arc<Mutex<mpsc::Receiver<u64>>>,
    responses: mpsc::Sender<Vec<u8>>,
) {
    let _ = stream.set_nodelay(true);
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    while let Some((line, body)) = read_request(&mut r).await {
        if line.starts_with("GET ") && line.contains("/runtime/invocation/next") {
            let Some(id) = events.lock().await.recv().await else {
                return;
            };
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis()
                + 60_000;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nlambda-runtime-aws-request-id: req-{id}\r\n\
                 lambda-runtime-deadline-ms: {deadline}\r\nlambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:000000000000:function:bench\r\n\
                 lambda-runtime-trace-id: Root=1-00000000-000000000000000000000000\r\ncontent-length: {}\r\n\r\n",
                EVENT.len()
            );
            if w.write_all(head.as_bytes()).await.is_err() || w.write_all(EVENT).await.is_err() {
                return;
            }
        } else {
            let ok = b"HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: 15\r\n\r\n{\"status\":\"OK\"}";
            if w.write_all(ok).await.is_err() {
                return;
            }
            if line.contains("/response") {
                let _ = responses.send(body).await;
            }
        }
    }
}

async fn direct(function: &str, n: usize) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (ev_tx, ev_rx) = mpsc::channel::<u64>(1);
    let (resp_tx, mut resp_rx) = mpsc::channel::<Vec<u8>>(1);
    let ev_rx = Arc::new(Mutex::new(ev_rx));
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(serve_runtime(s, ev_rx.clone(), resp_tx.clone()));
        }
    });
    let mut child = tokio::process::Command::new(function)
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .kill_on_drop(true)
        .spawn()
        .expect("start the function");
    let mut samples = Vec::with_capacity(n);
    for i in 0..(WARMUP + n) {
        let t = Instant::now();
        ev_tx.send(i as u64).await.expect("runtime gone");
        let body = resp_rx.recv().await.expect("no response");
        let took = t.elapsed();
        assert!(body.starts_with(b"{"), "unexpected response");
        if i >= WARMUP {
            samples.push(took);
        }
    }
    let _ = child.kill().await;
    report("direct", samples);
}

async fn gateway(addr: &str, function: &str, n: usize) {
    let stream = TcpStream::connect(addr)
        .await
        .expect("connect to the gateway");
    stream.set_nodelay(true).expect("nodelay");
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    let req = format!(
        "POST /2015-03-31/functions/{function}/invocations HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        EVENT.len()
    );
    let mut samples = Vec::with_capacity(n);
    for i in 0..(WARMUP + n) {
        let t = Instant::now();
        w.write_all(req.as_bytes()).await.expect("write");
        w.write_all(EVENT).await.expect("write");
        let mut status = String::new();
        r.read_line(&mut status).await.expect("read");
        assert!(
            status.starts_with("HTTP/1.1 200"),
            "gateway answered {status:?}"
        );
        let mut len = 0usize;
        let mut function_error = false;
        loop {
            let mut h = String::new();
            r.read_line(&mut h).await.expect("read");
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().expect("length");
                }
                if k.eq_ignore_ascii_case("x-amz-function-error") {
                    function_error = true;
                }
            }
        }
        let mut body = vec![0; len];
        r.read_exact(&mut body).await.expect("body");
        let took = t.elapsed();
        assert!(
            !function_error,
            "function error: {}",
            String::from_utf8_lossy(&body)
        );
        if i >= WARMUP {
            samples.push(took);
        }
    }
    report("gateway", samples);
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("direct") if args.len() == 4 => direct(&args[2], args[3].parse().expect("N")).await,
        Some("gateway") if args.len() == 5 => {
            gateway(&args[2], &args[3], args[4].parse().expect("N")).await
        }
        _ => {
            eprintln!("usage: lambda-bench direct FUNCTION_BINARY N | gateway HOST:PORT NAME N");
            std::process::exit(2);
        }
    }
}

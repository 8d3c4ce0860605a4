//! `PostToConnection` load: many connected WebSocket clients, and HTTP posters pushing to them
//! through a gateway's `@connections` API (one thread, so it takes one core).
//!
//! ```text
//! ws_post --url ws://127.0.0.1:PORT/path --post-base /path/to/stage [--host HOST]
//!         --connections N --posters K --duration SECS [--message TEXT]
//! ```
//! Each connection first sends `--message` and takes the text that comes back as its
//! connection id (a route whose reply is `$context.connectionId`). Then K keep-alive HTTP/1.1
//! connections post `POST {post-base}/@connections/{id}` round-robin over the ids until the
//! duration ends, while every WebSocket counts the frames it receives. Prints posts/s, the
//! post's p50/p99 in µs, frames delivered/s and errors.

use std::error::Error;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use apigw_http1::ws::{client_handshake, Incoming, Limits, Role, WsReader, WsWriter};
use http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type BoxError = Box<dyn Error + Send + Sync>;

const LIMITS: Limits = Limits {
    max_frame: 1 << 20,
    max_message: 1 << 20,
};

struct Args {
    addr: String,
    host: String,
    path: String,
    post_base: String,
    connections: usize,
    posters: usize,
    duration: Duration,
    message: String,
}

fn parse_args() -> Result<Args, String> {
    let (mut url, mut host, mut post_base) = (None, None, None);
    let (mut connections, mut posters, mut duration) = (1000usize, 8usize, 10f64);
    let mut message = r#"{"action":"whoami"}"#.to_string();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => url = Some(value()?),
            "--host" => host = Some(value()?),
            "--post-base" => post_base = Some(value()?),
            "--connections" => connections = value()?.parse().map_err(|e| format!("{e}"))?,
            "--posters" => posters = value()?.parse().map_err(|e| format!("{e}"))?,
            "--duration" => duration = value()?.parse().map_err(|e| format!("{e}"))?,
            "--message" => message = value()?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let url = url.ok_or("--url ws://HOST:PORT/PATH is required")?;
    let rest = url.strip_prefix("ws://").ok_or("only ws:// URLs")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    Ok(Args {
        addr: authority.to_string(),
        host: host.unwrap_or_else(|| authority.to_string()),
        path: path.to_string(),
        post_base: post_base.ok_or("--post-base PATH is required")?,
        connections: connections.max(1),
        posters: posters.max(1),
        duration: Duration::from_secs_f64(duration),
        message,
    })
}

/// Opens a connection, learns its id, then counts what arrives until `stop`.
async fn client(
    args: Rc<Args>,
    ids: Rc<std::cell::RefCell<Vec<String>>>,
    frames: Arc<AtomicU64>,
) -> Result<(), BoxError> {
    let mut stream = TcpStream::connect(&args.addr).await?;
    stream.set_nodelay(true)?;
    let (status, _, leftover) = client_handshake(&mut stream, &args.host, &args.path, &[]).await?;
    if status != StatusCode::SWITCHING_PROTOCOLS {
        return Err(format!("handshake answered {status}").into());
    }
    let (read, write) = stream.into_split();
    let mut reader = WsReader::new(read, leftover, Role::Client, LIMITS);
    let mut writer = WsWriter::new(write, Role::Client);
    writer.text(args.message.as_bytes()).await?;
    let id = match reader.next().await? {
        Incoming::Text(t) => String::from_utf8_lossy(&t)
            .trim()
            .trim_matches('"')
            .to_string(),
        other => return Err(format!("expected the connection id, got {other:?}").into()),
    };
    ids.borrow_mut().push(id);
    loop {
        match reader.next().await {
            Ok(Incoming::Text(_) | Incoming::Binary(_)) => {
                frames.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Incoming::Ping(p)) => writer.pong(&p).await?,
            Ok(Incoming::Pong(_)) => {}
            Ok(Incoming::Close { .. }) | Err(_) => return Ok(()),
        }
    }
}

/// Reads one HTTP/1.1 response with a `Content-Length` body; returns its status.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<u16, BoxError> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end])?.to_string();
            let status: u16 = head.get(9..12).ok_or("short status line")?.parse()?;
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            let total = end + 4 + length;
            while buf.len() < total {
                let mut chunk = [0u8; 4096];
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err("closed mid-response".into());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            buf.drain(..total);
            return Ok(status);
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err("closed before a response".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

struct PosterResult {
    ok: u64,
    errors: u64,
    latencies: Vec<u32>,
}

async fn poster(
    args: Rc<Args>,
    ids: Rc<Vec<String>>,
    start: usize,
    stop: Rc<AtomicBool>,
) -> PosterResult {
    let mut result = PosterResult {
        ok: 0,
        errors: 0,
        latencies: Vec::new(),
    };
    let Ok(mut stream) = TcpStream::connect(&args.addr).await else {
        result.errors += 1;
        return result;
    };
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::new();
    let body = b"pushed by ws_post";
    let mut i = start;
    while !stop.load(Ordering::Relaxed) {
        let id = &ids[i % ids.len()];
        i += 1;
        let req = format!(
            "POST {}/@connections/{} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n",
            args.post_base,
            id.replace('=', "%3D"),
            args.host,
            body.len()
        );
        let t = Instant::now();
        let mut wire = req.into_bytes();
        wire.extend_from_slice(body);
        if stream.write_all(&wire).await.is_err() {
            result.errors += 1;
            return result;
        }
        match read_response(&mut stream, &mut buf).await {
            Ok(200) => {
                result.ok += 1;
                result
                    .latencies
                    .push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
            }
            Ok(_) => result.errors += 1,
            Err(_) => {
                result.errors += 1;
                return result;
            }
        }
    }
    result
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

async fn run(args: Args) -> Result<(), BoxError> {
    let args = Rc::new(args);
    let ids = Rc::new(std::cell::RefCell::new(Vec::new()));
    let frames = Arc::new(AtomicU64::new(0));
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async move {
            let mut clients = Vec::new();
            for _ in 0..args.connections {
                clients.push(tokio::task::spawn_local(client(args.clone(), ids.clone(), frames.clone())));
                if clients.len() % 128 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            let deadline = Instant::now() + Duration::from_secs(30);
            while ids.borrow().len() < args.connections && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let ids: Rc<Vec<String>> = Rc::new(ids.borrow().clone());
            if ids.is_empty() {
                return Err::<(), BoxError>("no connection learned its id".into());
            }
            let before = frames.load(Ordering::Relaxed);
            let stop = Rc::new(AtomicBool::new(false));
            let started = Instant::now();
            let mut posters = Vec::new();
            for p in 0..args.posters {
                let start = p * ids.len() / args.posters;
                posters.push(tokio::task::spawn_local(poster(args.clone(), ids.clone(), start, stop.clone())));
            }
            tokio::time::sleep(args.duration).await;
            stop.store(true, Ordering::Relaxed);
            let (mut ok, mut errors, mut lat) = (0, 0, Vec::new());
            for p in posters {
                if let Ok(r) = p.await {
                    ok += r.ok;
                    errors += r.errors;
                    lat.extend(r.latencies);
                }
            }
            let secs = started.elapsed().as_secs_f64();
            // Frames still on their way arrive within a moment.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let delivered = frames.load(Ordering::Relaxed) - before;
            lat.sort_unstable();
            println!(
                "connections {} posts/s {:.0} p50_us {} p99_us {} delivered/s {:.0} delivered {} posted {} errors {}",
                ids.len(),
                ok as f64 / secs,
                percentile(&lat, 0.50),
                percentile(&lat, 0.99),
                delivered as f64 / secs,
                delivered,
                ok,
                errors
            );
            for c in clients {
                c.abort();
            }
            Ok(())
        })
        .await
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ws_post: {e}");
            std::process::exit(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ws_post: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = rt.block_on(run(args)) {
        eprintln!("ws_post: {e}");
        std::process::exit(1);
    }
}

//! A WebSocket load client on one thread (it takes one core, leaving the rest to the server).
//!
//! ```text
//! ws_load --url ws://127.0.0.1:PORT/path [--host HOST] --connections N --duration SECS
//!         [--message TEXT] [--mode rtt|idle|connect] [--messages N]
//! ```
//! - `rtt` (default): each connection sends the message, waits for one message back, and
//!   repeats (until the duration ends, or after N round trips with `--messages`, for
//!   instruction counts under callgrind); prints messages/s, the round trip's p50/p99/max in
//!   µs, and errors.
//! - `connect`: each of N workers opens a connection (handshake), closes it (close
//!   handshake), and repeats; prints connections/s.
//! - `idle`: opens N connections, prints when all are open, holds them for the duration
//!   (measure the server's memory meanwhile), then closes them.
//!
//! The clock starts once every connection is open, so the figures are the steady state.

use std::error::Error;

type BoxError = Box<dyn Error + Send + Sync>;
use std::io::Write as _;
use std::time::{Duration, Instant};

use apigw_http1::ws::{client_handshake, Incoming, Limits, Role, WsReader, WsWriter};
use http::StatusCode;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

const LIMITS: Limits = Limits {
    max_frame: 16 << 20,
    max_message: 16 << 20,
};

#[derive(Clone)]
struct Target {
    /// Where to connect (`host:port`).
    addr: String,
    /// The `Host` header.
    host: String,
    path: String,
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Rtt,
    Idle,
    Connect,
}

struct Args {
    target: Target,
    connections: usize,
    duration: Duration,
    message: String,
    mode: Mode,
    /// Round trips per connection, at most (rtt mode).
    messages: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut url = None;
    let mut host = None;
    let mut connections = 64usize;
    let mut duration = 10f64;
    let mut message = r#"{"action":"echo","data":"x"}"#.to_string();
    let mut mode = Mode::Rtt;
    let mut messages = u64::MAX;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => url = Some(value()?),
            "--host" => host = Some(value()?),
            "--connections" | "-c" => {
                connections = value()?
                    .parse()
                    .map_err(|e| format!("--connections: {e}"))?
            }
            "--duration" | "-d" => {
                duration = value()?.parse().map_err(|e| format!("--duration: {e}"))?
            }
            "--message" | "-m" => message = value()?,
            "--messages" => messages = value()?.parse().map_err(|e| format!("--messages: {e}"))?,
            "--mode" => {
                mode = match value()?.as_str() {
                    "rtt" => Mode::Rtt,
                    "idle" => Mode::Idle,
                    "connect" => Mode::Connect,
                    other => return Err(format!("unknown mode {other}")),
                }
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let url = url.ok_or("--url ws://HOST:PORT/PATH is required")?;
    let rest = url
        .strip_prefix("ws://")
        .ok_or("only ws:// URLs are supported")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    Ok(Args {
        target: Target {
            host: host.unwrap_or_else(|| authority.to_string()),
            addr,
            path: path.to_string(),
        },
        connections: connections.max(1),
        duration: Duration::from_secs_f64(duration),
        message,
        mode,
        messages,
    })
}

type Conn = (WsReader<OwnedReadHalf>, WsWriter<OwnedWriteHalf>);

async fn open(target: &Target) -> Result<Conn, BoxError> {
    let mut stream = TcpStream::connect(&target.addr).await?;
    stream.set_nodelay(true)?;
    let (status, _, leftover) =
        client_handshake(&mut stream, &target.host, &target.path, &[]).await?;
    if status != StatusCode::SWITCHING_PROTOCOLS {
        return Err(format!("handshake answered {status}").into());
    }
    let (read, write) = stream.into_split();
    Ok((
        WsReader::new(read, leftover, Role::Client, LIMITS),
        WsWriter::new(write, Role::Client),
    ))
}

/// The close handshake from the client's side: send a close, read to the server's close,
/// then to the end of the stream (the server closes TCP first, RFC 6455 §7.1.1).
async fn close(conn: Conn) -> Result<(), BoxError> {
    let (mut reader, mut writer) = conn;
    writer.close(1000, "").await?;
    loop {
        match reader.next().await {
            Ok(Incoming::Close { .. }) => break,
            Ok(_) => {}
            Err(e) => return Err(e.into()),
        }
    }
    match reader.next().await {
        Err(apigw_http1::ws::WsError::Eof) => Ok(()),
        other => Err(format!("after the close: {other:?}").into()),
    }
}

/// Sends `message` and waits for a text or binary message back.
async fn round_trip(conn: &mut Conn, message: &[u8]) -> Result<(), BoxError> {
    let (reader, writer) = conn;
    writer.text(message).await?;
    loop {
        match reader.next().await? {
            Incoming::Text(_) | Incoming::Binary(_) => return Ok(()),
            Incoming::Ping(p) => writer.pong(&p).await?,
            Incoming::Pong(_) => {}
            Incoming::Close { code, reason } => {
                return Err(format!("closed by the server: {code:?} {reason}").into())
            }
        }
    }
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

async fn open_all(args: &Args) -> (Vec<Conn>, usize) {
    let mut tasks = tokio::task::JoinSet::new();
    // Opened in waves, so a listen backlog is not overrun.
    let mut conns = Vec::with_capacity(args.connections);
    let mut errors = 0;
    let mut left = args.connections;
    while left > 0 {
        for _ in 0..left.min(128) {
            let target = args.target.clone();
            tasks.spawn(async move { open(&target).await.map_err(|e| e.to_string()) });
            left -= 1;
        }
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Ok(conn)) => conns.push(conn),
                Ok(Err(e)) => {
                    if errors == 0 {
                        eprintln!("connection failed: {e}");
                    }
                    errors += 1;
                }
                Err(_) => errors += 1,
            }
        }
    }
    (conns, errors)
}

async fn rtt(args: Args) {
    let (conns, mut errors) = open_all(&args).await;
    let opened = conns.len();
    let start = Instant::now();
    let deadline = start + args.duration;
    let message = std::sync::Arc::new(args.message.clone().into_bytes());
    let count = args.messages;
    let mut tasks = tokio::task::JoinSet::new();
    for mut conn in conns {
        let message = message.clone();
        tasks.spawn(async move {
            let mut times = Vec::with_capacity(1 << 16);
            let mut error = None;
            while Instant::now() < deadline && (times.len() as u64) < count {
                let t0 = Instant::now();
                match round_trip(&mut conn, &message).await {
                    Ok(()) => times.push(t0.elapsed().as_micros().min(u32::MAX as u128) as u32),
                    Err(e) => {
                        error = Some(e.to_string());
                        break;
                    }
                }
            }
            if error.is_none() {
                let _ = close(conn).await;
            }
            (times, error)
        });
    }
    let mut all = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((times, error)) => {
                all.extend(times);
                if let Some(e) = error {
                    if errors == 0 {
                        eprintln!("connection failed: {e}");
                    }
                    errors += 1;
                }
            }
            Err(_) => errors += 1,
        }
    }
    let secs = start.elapsed().as_secs_f64();
    all.sort_unstable();
    println!(
        "rtt: connections={opened} duration={secs:.1}s messages={} msgs/s={:.0} p50={}us p99={}us max={}us errors={errors}",
        all.len(),
        all.len() as f64 / secs,
        percentile(&all, 0.50),
        percentile(&all, 0.99),
        all.last().copied().unwrap_or(0),
    );
}

async fn connect(args: Args) {
    let start = Instant::now();
    let deadline = start + args.duration;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.connections {
        let target = args.target.clone();
        tasks.spawn(async move {
            let mut times = Vec::new();
            let mut errors = 0usize;
            let mut first_error = None;
            while Instant::now() < deadline {
                let t0 = Instant::now();
                let done = match open(&target).await {
                    Ok(conn) => close(conn).await,
                    Err(e) => Err(e),
                };
                match done {
                    Ok(()) => times.push(t0.elapsed().as_micros().min(u32::MAX as u128) as u32),
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e.to_string());
                        // A refused connection fails at once: do not spin on it.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            (times, errors, first_error)
        });
    }
    let mut all = Vec::new();
    let mut errors = 0;
    let mut first = None;
    while let Some(Ok((times, e, first_error))) = tasks.join_next().await {
        all.extend(times);
        errors += e;
        first = first.or(first_error);
    }
    if let Some(e) = first {
        eprintln!("connection failed: {e}");
    }
    let secs = start.elapsed().as_secs_f64();
    all.sort_unstable();
    println!(
        "connect: workers={} duration={secs:.1}s connections={} conns/s={:.0} p50={}us p99={}us errors={errors}",
        args.connections,
        all.len(),
        all.len() as f64 / secs,
        percentile(&all, 0.50),
        percentile(&all, 0.99),
    );
}

async fn idle(args: Args) {
    let t0 = Instant::now();
    let (conns, errors) = open_all(&args).await;
    println!(
        "idle: {} connections open after {:.2}s, errors={errors}; holding {:.0}s",
        conns.len(),
        t0.elapsed().as_secs_f64(),
        args.duration.as_secs_f64()
    );
    let _ = std::io::stdout().flush();
    tokio::time::sleep(args.duration).await;
    let mut tasks = tokio::task::JoinSet::new();
    for conn in conns {
        tasks.spawn(close(conn));
    }
    let mut close_errors = 0;
    while let Some(done) = tasks.join_next().await {
        if !matches!(done, Ok(Ok(()))) {
            close_errors += 1;
        }
    }
    println!("idle: closed, errors={close_errors}");
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = parse_args().map_err(|e| {
        format!(
            "{e}\nusage: ws_load --url ws://HOST:PORT/PATH [--host HOST] --connections N \
             --duration SECS [--message TEXT] [--mode rtt|idle|connect] [--messages N]"
        )
    })?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match args.mode {
            Mode::Rtt => rtt(args).await,
            Mode::Connect => connect(args).await,
            Mode::Idle => idle(args).await,
        }
    });
    Ok(())
}

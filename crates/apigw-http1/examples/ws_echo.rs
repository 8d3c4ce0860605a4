//! The WebSocket floor: this crate's server and codec echoing every message, with nothing
//! else on the path. What a gateway route costs on top of it is the gateway's.
//!
//! `ws_echo [ADDR] [THREADS]` (default 127.0.0.1:9001, one thread): one acceptor deals
//! connections round-robin to THREADS single-threaded event loops, the gateway's own model
//! (crates/apigw/src/connections.rs). Prints `listening on ADDR`.

use std::error::Error;
use std::io::Write as _;

use apigw_http1::server::{serve, Handler, OnUpgrade, Upgraded};
use apigw_http1::ws::{
    check_upgrade, switching_protocols, Incoming, Limits, Role, WsReader, WsWriter,
};
use axum::body::Body;
use http::{Request, Response};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

const LIMITS: Limits = Limits {
    max_frame: 1 << 20,
    max_message: 1 << 20,
};

struct Echo;

impl Handler for Echo {
    async fn handle(&self, req: Request<Body>) -> Response<Body> {
        let upgrade = match check_upgrade(req.method(), req.version(), req.headers()) {
            Ok(upgrade) => upgrade,
            Err(e) => return e.response(),
        };
        let mut resp = switching_protocols(upgrade.key);
        resp.extensions_mut().insert(OnUpgrade::new(echo));
        resp
    }
}

/// Echoes text and binary messages, answers pings, and ends with the close handshake (or
/// the close code for what the reader refused).
async fn echo(up: Upgraded) {
    let (read, write) = up.stream.into_split();
    let mut reader = WsReader::new(read, up.read_buf, Role::Server, LIMITS);
    let mut writer = WsWriter::new(write, Role::Server);
    loop {
        let sent = match reader.next().await {
            Ok(Incoming::Text(t)) => writer.text(&t).await,
            Ok(Incoming::Binary(b)) => writer.binary(&b).await,
            Ok(Incoming::Ping(p)) => writer.pong(&p).await,
            Ok(Incoming::Pong(_)) => Ok(()),
            Ok(Incoming::Close { code, .. }) => {
                let _ = writer.close(code.unwrap_or(1005), "").await;
                return;
            }
            Err(e) => {
                if let Some(code) = e.close_code() {
                    let _ = writer.close(code, "").await;
                }
                return;
            }
        };
        if sent.is_err() {
            return;
        }
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:9001".to_string());
    let threads: usize = match args.next() {
        Some(t) => t.parse()?,
        None => 1,
    };
    // Never sent: the floor runs until killed.
    let (_stop, stop_rx) = watch::channel(false);
    let mut loops = Vec::new();
    for i in 0..threads.max(1) {
        let (tx, mut rx) = mpsc::unbounded_channel::<std::net::TcpStream>();
        loops.push(tx);
        let stop_rx = stop_rx.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name(format!("ws-echo-{i}"))
            .spawn(move || {
                rt.block_on(async move {
                    while let Some(stream) = rx.recv().await {
                        if let Ok(stream) = TcpStream::from_std(stream) {
                            tokio::spawn(serve(stream, Echo, stop_rx.clone()));
                        }
                    }
                })
            })?;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(&addr).await?;
        println!("listening on {}", listener.local_addr()?);
        std::io::stdout().flush()?;
        let mut next = 0usize;
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let stream = stream.into_std()?;
            if let Some(tx) = loops.get(next % loops.len()) {
                let _ = tx.send(stream);
            }
            next = next.wrapping_add(1);
        }
    })
}

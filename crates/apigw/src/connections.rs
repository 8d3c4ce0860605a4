//! Accepting and serving connections on the one listening port.
//!
//! With `--io-threads N` (the default: one per CPU), one acceptor hands the accepted connections
//! to N single-threaded event loops in turn, and each loop serves its connections start to end
//! (nginx's worker model: no work stealing, no cross-thread wake-ups per request). The
//! connections are dealt round-robin rather than raced for: when several loops wait on one
//! listening socket, the first to wake accepts every connection of a burst, and a benchmark's
//! (or a busy client pool's) connections all land on one core. `--io-threads 0` serves every
//! connection as a task of the main work-stealing runtime instead.
//!
//! Each connection is HTTP/1.1 through `apigw-http1`'s server, driven by the task that owns
//! the connection, and served by the front service made for its peer address (the data
//! plane's `$context.identity.sourceIp` and `X-Forwarded-For`).
//!
//! Open connections (upgraded WebSockets included) are counted; above `--max-connections`
//! (by default half the file-descriptor limit, so backends, logs and functions keep theirs) a
//! new connection gets a 503 and is closed at once, so the port keeps answering. If the
//! process runs out of descriptors anyway, a spare one is given up to accept and close the
//! waiting connection, and accepting backs off briefly.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, Response};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tower_service::Service;

/// What serves every request: the gateway's front door (data plane or control plane).
pub trait App: apigw_http1::server::Handler + Clone + Send + Sync + 'static {
    /// The front door for one connection, which knows the client's address. (Passed this way
    /// rather than as a request extension: that costs allocations on every request.)
    fn for_peer(&self, peer: SocketAddr) -> Self;
}

impl<S> App for apigw_dataplane::Front<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    fn for_peer(&self, peer: SocketAddr) -> Self {
        apigw_dataplane::Front::for_peer(self, peer)
    }
}

/// How connections are bounded (flags of `apigw serve`).
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub limits: apigw_http1::server::Limits,
    /// Most connections open at once; more are refused.
    pub max_connections: usize,
}

/// Descriptors kept back from client connections at a derived cap: the store, log files, the
/// listener, function processes' pipes.
const FD_RESERVE: usize = 64;

/// The default cap: half of what the file-descriptor limit leaves after [`FD_RESERVE`], since
/// a proxied request holds a backend connection as well as its client's.
pub fn default_max_connections() -> usize {
    (open_files_limit().saturating_sub(FD_RESERVE) / 2).max(16)
}

/// The soft `RLIMIT_NOFILE` (from /proc: no unsafe code here), 1024 when unknown.
fn open_files_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
            let soft = line["Max open files".len()..].split_whitespace().next()?;
            // "unlimited" is as good as a very large number.
            Some(soft.parse().unwrap_or(1 << 20))
        })
        .unwrap_or(1024)
}

/// One open connection in the count; released when the connection (or its upgrade) ends.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

type Accepted = (std::net::TcpStream, SocketAddr, Slot);

/// What a connection above the cap hears before it is closed.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
content-length: 33\r\nconnection: close\r\n\r\n{\"message\":\"Service Unavailable\"}";

fn refuse(stream: &TcpStream) {
    // One try, never a wait: a client that does not read just gets the close.
    let _ = stream.try_write(REFUSAL);
}

/// Serves `listener` until `stop` resolves, then lets in-flight requests finish (idle
/// keep-alive connections close at once) and returns.
pub async fn serve(
    listener: TcpListener,
    app: impl App,
    io_threads: usize,
    bounds: Bounds,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), String> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let limits = bounds.limits;
    if io_threads == 0 {
        let (conn_tx, conn_rx) = mpsc::unbounded_channel();
        let loop_task = tokio::spawn(serve_loop(conn_rx, app, limits, stop_rx));
        accept(&listener, std::slice::from_ref(&conn_tx), bounds, stop).await;
        let _ = stop_tx.send(true);
        drop(conn_tx);
        return loop_task.await.map_err(|e| e.to_string());
    }
    let mut senders = Vec::with_capacity(io_threads);
    let mut threads = Vec::with_capacity(io_threads);
    for i in 0..io_threads {
        let (conn_tx, conn_rx) = mpsc::unbounded_channel();
        senders.push(conn_tx);
        let app = app.clone();
        let stop_rx = stop_rx.clone();
        let thread = std::thread::Builder::new()
            .name(format!("apigw-io-{i}"))
            .spawn(move || -> Result<(), String> {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                rt.block_on(serve_loop(conn_rx, app, limits, stop_rx));
                Ok(())
            })
            .map_err(|e| e.to_string())?;
        threads.push(thread);
    }
    accept(&listener, &senders, bounds, stop).await;
    let _ = stop_tx.send(true);
    drop(senders);
    tokio::task::spawn_blocking(move || {
        for t in threads {
            match t.join() {
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err("an I/O thread panicked".to_string()),
                Ok(Ok(())) => {}
            }
        }
        Ok(())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Accepts until `stop`, dealing connections to `loops` in turn.
async fn accept(
    listener: &TcpListener,
    loops: &[mpsc::UnboundedSender<Accepted>],
    bounds: Bounds,
    stop: impl std::future::Future<Output = ()>,
) {
    let mut stop = std::pin::pin!(stop);
    let mut next = 0usize;
    let open = Arc::new(AtomicUsize::new(0));
    // Given up when descriptors run out, so the waiting client can be told (by a close).
    let mut spare = std::fs::File::open("/dev/null").ok();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stop => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                if open.load(Ordering::Relaxed) >= bounds.max_connections {
                    tracing::debug!(%peer, "connection refused: --max-connections reached");
                    refuse(&stream);
                    continue;
                }
                open.fetch_add(1, Ordering::Relaxed);
                let slot = Slot(open.clone());
                // No Nagle delay: a proxied response's head and body may leave in separate writes.
                let _ = stream.set_nodelay(true);
                // The stream moves to another runtime: hand over the socket, not the registration.
                let Ok(stream) = stream.into_std() else {
                    continue;
                };
                if let Some(tx) = loops.get(next % loops.len()) {
                    let _ = tx.send((stream, peer, slot));
                }
                next = next.wrapping_add(1);
            }
            // A connection reset before it was accepted is that client's problem only.
            Err(e) if is_connection_error(&e) => {}
            Err(e) => {
                tracing::error!(error = %e, "accept failed");
                if is_out_of_descriptors(&e) && spare.take().is_some() {
                    // The spare's descriptor takes the waiting connection, which is refused,
                    // rather than leaving it to hang in the backlog.
                    if let Ok(Ok((stream, _))) =
                        tokio::time::timeout(Duration::from_millis(10), listener.accept()).await
                    {
                        refuse(&stream);
                    }
                    spare = std::fs::File::open("/dev/null").ok();
                }
                // Back off instead of spinning while descriptors are short.
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(50)) => {}
                    () = &mut stop => return,
                }
            }
        }
    }
}

/// EMFILE (24) or ENFILE (23), Linux's numbers (no libc here).
fn is_out_of_descriptors(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(23 | 24))
}

fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// One event loop: serves the connections it is handed until told to stop, then waits for
/// them to finish their requests.
async fn serve_loop(
    mut incoming: mpsc::UnboundedReceiver<Accepted>,
    app: impl App,
    limits: apigw_http1::server::Limits,
    mut stop: watch::Receiver<bool>,
) {
    // The connections watch a stop signal of this loop's own: it is polled as they go idle,
    // and one shared by every loop would bounce its cache line between cores per request.
    let (local_stop, local_rx) = watch::channel(*stop.borrow());
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            conn = incoming.recv() => match conn {
                Some((stream, peer, slot)) => match TcpStream::from_std(stream) {
                    Ok(stream) => {
                        let service = app.for_peer(peer);
                        connections.spawn(apigw_http1::server::serve_with(
                            stream,
                            service,
                            local_rx.clone(),
                            limits,
                            slot,
                        ));
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot register an accepted connection"),
                },
                None => break,
            },
            // Reap finished connections so the set holds only live ones.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    let _ = local_stop.send(true);
    while connections.join_next().await.is_some() {}
}

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

use std::convert::Infallible;
use std::net::SocketAddr;
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

/// Serves `listener` until `stop` resolves, then lets in-flight requests finish (idle
/// keep-alive connections close at once) and returns.
pub async fn serve(
    listener: TcpListener,
    app: impl App,
    io_threads: usize,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), String> {
    let (stop_tx, stop_rx) = watch::channel(false);
    if io_threads == 0 {
        let (conn_tx, conn_rx) = mpsc::unbounded_channel();
        let loop_task = tokio::spawn(serve_loop(conn_rx, app, stop_rx));
        accept(&listener, std::slice::from_ref(&conn_tx), stop).await;
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
                rt.block_on(serve_loop(conn_rx, app, stop_rx));
                Ok(())
            })
            .map_err(|e| e.to_string())?;
        threads.push(thread);
    }
    accept(&listener, &senders, stop).await;
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
    loops: &[mpsc::UnboundedSender<(std::net::TcpStream, SocketAddr)>],
    stop: impl std::future::Future<Output = ()>,
) {
    let mut stop = std::pin::pin!(stop);
    let mut next = 0usize;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stop => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                // No Nagle delay: a proxied response's head and body may leave in separate writes.
                let _ = stream.set_nodelay(true);
                // The stream moves to another runtime: hand over the socket, not the registration.
                let Ok(stream) = stream.into_std() else {
                    continue;
                };
                if let Some(tx) = loops.get(next % loops.len()) {
                    let _ = tx.send((stream, peer));
                }
                next = next.wrapping_add(1);
            }
            // A connection reset before it was accepted is that client's problem only.
            Err(e) if is_connection_error(&e) => {}
            Err(e) => {
                // Out of file descriptors or the like: back off instead of spinning.
                tracing::error!(error = %e, "accept failed");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(100)) => {}
                    () = &mut stop => return,
                }
            }
        }
    }
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
    mut incoming: mpsc::UnboundedReceiver<(std::net::TcpStream, SocketAddr)>,
    app: impl App,
    mut stop: watch::Receiver<bool>,
) {
    // The connections watch a stop signal of this loop's own: it is polled as they go idle,
    // and one shared by every loop would bounce its cache line between cores per request.
    let (local_stop, local_rx) = watch::channel(*stop.borrow());
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            conn = incoming.recv() => match conn {
                Some((stream, peer)) => match TcpStream::from_std(stream) {
                    Ok(stream) => {
                        let service = app.for_peer(peer);
                        connections.spawn(apigw_http1::server::serve(stream, service, local_rx.clone()));
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

//! The floor under the data plane's proxy path: the same stack (apigw-http1's server, the data
//! plane's own keep-alive backend pool, Tokio, TCP_NODELAY) forwarding every request to one
//! upstream with no gateway logic at all. bench/data-plane.sh measures it next to the real route,
//! so the report separates what the gateway adds from what the stack costs.
//!
//!   bare_proxy LISTEN_ADDR UPSTREAM_HOST:PORT
//!
//! With `BARE_PER_CORE=N` it runs N single-threaded runtimes instead, each with its own
//! SO_REUSEPORT listener and backend pool (nginx's model), to measure what the scheduling model
//! costs.

use std::sync::Arc;

use axum::body::Body;
use axum::response::IntoResponse;
use http::{Request, Response};

use apigw_dataplane::backend::Backends;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(listen), Some(upstream)) = (args.next(), args.next()) else {
        eprintln!("usage: bare_proxy LISTEN_ADDR UPSTREAM_HOST:PORT");
        std::process::exit(2);
    };
    let per_core: usize = std::env::var("BARE_PER_CORE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if per_core == 0 {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(serve(listen, upstream, false));
        return;
    }
    let threads: Vec<_> = (0..per_core)
        .map(|_| {
            let (listen, upstream) = (listen.clone(), upstream.clone());
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(serve(listen, upstream, true));
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}

async fn serve(listen: String, upstream: String, reuse_port: bool) {
    let app = Arc::new(BareProxy {
        backends: Backends::new(&[]).expect("backend TLS setup"),
        origin: format!("http://{upstream}"),
        host: http::HeaderValue::from_str(&upstream).expect("upstream is a valid Host"),
    });
    let bound = (|| {
        let addr: std::net::SocketAddr = listen
            .parse()
            .map_err(|e| std::io::Error::other(format!("{e}")))?;
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.set_reuseaddr(true)?;
        if reuse_port {
            socket.set_reuseport(true)?;
        }
        socket.bind(addr)?;
        socket.listen(1024)
    })();
    let listener = match bound {
        Ok(l) => l,
        Err(e) => {
            eprintln!("bare_proxy: cannot listen on {listen}: {e}");
            std::process::exit(1);
        }
    };
    // Never stopped: the benchmark kills the process.
    let (_stop, stop_rx) = tokio::sync::watch::channel(false);
    loop {
        match listener.accept().await {
            Ok((tcp, _)) => {
                let _ = tcp.set_nodelay(true);
                tokio::spawn(apigw_http1::server::serve(
                    tcp,
                    app.clone(),
                    stop_rx.clone(),
                ));
            }
            Err(e) => {
                eprintln!("bare_proxy: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

/// Forwards every request to the one upstream, changing only what a proxy must: the target in
/// origin form and the `Host`.
struct BareProxy {
    backends: Backends,
    origin: String,
    host: http::HeaderValue,
}

impl apigw_http1::server::Handler for BareProxy {
    async fn handle(&self, req: Request<Body>) -> Response<Body> {
        let (mut parts, body) = req.into_parts();
        if let Some(pq) = parts.uri.path_and_query() {
            parts.uri = http::Uri::from(pq.clone());
        }
        parts.headers.insert(http::header::HOST, self.host.clone());
        match self
            .backends
            .send(&self.origin, None, Request::from_parts(parts, body))
            .await
        {
            Ok(r) => r,
            Err(_) => http::StatusCode::SERVICE_UNAVAILABLE.into_response(),
        }
    }
}

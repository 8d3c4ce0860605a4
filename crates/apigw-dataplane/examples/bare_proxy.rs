//! The floor under the data plane's proxy path: the same stack (axum/hyper server, hyper-util
//! keep-alive client, Tokio multi-thread runtime, TCP_NODELAY) forwarding every request to one
//! upstream with no gateway logic at all. bench/data-plane.sh measures it next to the real route,
//! so the report separates what the gateway adds from what the stack costs.
//!
//!   bare_proxy LISTEN_ADDR UPSTREAM_HOST:PORT
//!
//! With `BARE_PER_CORE=N` it runs N single-threaded runtimes instead, each with its own
//! SO_REUSEPORT listener and backend pool (nginx's model), to measure what the scheduling model
//! costs.

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

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
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    let client: Client<HttpConnector, Body> = Client::builder(TokioExecutor::new()).build(http);
    let app = axum::Router::new().fallback(move |req: Request| {
        let client = client.clone();
        let upstream = upstream.clone();
        async move {
            let (mut parts, body) = req.into_parts();
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let Ok(uri) = format!("http://{upstream}{path}").parse() else {
                return http::StatusCode::BAD_REQUEST.into_response();
            };
            parts.uri = uri;
            parts.headers.remove(http::header::HOST);
            match client.request(Request::from_parts(parts, body)).await {
                Ok(r) => {
                    let (parts, body) = r.into_parts();
                    Response::from_parts(parts, Body::new(body))
                }
                Err(_) => http::StatusCode::SERVICE_UNAVAILABLE.into_response(),
            }
        }
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
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("bare_proxy: {e}");
    }
}

//! `apigw`: AWS API Gateway V2 on your machine.
//!
//! Boundary: the process — flags, logging, opening the store, binding the one port and
//! routing each request to the protocol that serves it. Behaviour lives in the library crates.

mod auth;
mod connections;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::post;
use axum::Router;
use clap::{Parser, Subcommand};

use apigw_control::ControlPlane;
use apigw_dataplane::{DataPlane, DataPlaneConfig};
use apigw_store::{SqliteStore, Store};

/// mimalloc: the proxy path allocates per request, and glibc malloc was ~12% of its CPU in
/// bench/data-plane.sh (docs/decisions.md, Data plane).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "apigw", version, about = "AWS API Gateway V2 on your machine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the control plane (and, as they arrive, the data plane) on one port.
    Serve(ServeArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:4566", env = "APIGW_LISTEN")]
    listen: SocketAddr,
    /// Directory for the embedded SQLite state.
    #[arg(long, default_value = "./.apigw", env = "APIGW_DATA_DIR")]
    data_dir: PathBuf,
    /// State store URL: `sqlite:DIR` (the default is the data dir). PostgreSQL is not built yet.
    #[arg(long, env = "APIGW_STORE")]
    store: Option<String>,
    /// A Lambda function to host, as NAME=COMMAND (repeatable); COMMAND runs under /bin/sh
    /// and talks the Lambda Runtime API (e.g. `python3 -m awslambdaric app.handler`).
    #[arg(long = "function", value_name = "NAME=COMMAND")]
    functions: Vec<String>,
    /// Require SigV4 signatures from these keys, as ACCESS_KEY_ID:SECRET (repeatable, or
    /// comma-separated in APIGW_CREDENTIALS). Without it any key is accepted unverified.
    #[arg(
        long = "credentials",
        value_name = "ACCESS_KEY_ID:SECRET",
        env = "APIGW_CREDENTIALS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    credentials: Vec<String>,
    /// JSON file of hosted functions with their settings (see docs/lambda.md).
    #[arg(long, value_name = "PATH", env = "APIGW_FUNCTIONS_CONFIG")]
    functions_config: Option<PathBuf>,
    /// Lambda Invoke API (https://lambda.REGION.amazonaws.com, or http[s]://host:port of an
    /// emulator) for functions not hosted here; requests are signed with SigV4 using
    /// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. https trusts the system's roots plus
    /// --backend-ca-file.
    #[arg(long, value_name = "URL", env = "APIGW_LAMBDA_ENDPOINT")]
    lambda_endpoint: Option<String>,
    /// Serve `POST /moto-api/reset` (wipes all state). For conformance test suites only.
    #[arg(long, hide = true, env = "APIGW_ENABLE_TEST_RESET")]
    enable_test_reset: bool,
    /// Where a VPC_LINK integration connects, as ID=HOST:PORT (repeatable). ID is the VPC link
    /// id (the integration's connectionId) or the integration URI (listener/Cloud Map ARN).
    #[arg(long = "vpc-link-target", value_name = "ID=HOST:PORT")]
    vpc_link_targets: Vec<String>,
    /// A PEM file of CA certificates trusted for https:// backends and an https://
    /// --lambda-endpoint, besides the system's roots (repeatable).
    #[arg(
        long = "backend-ca-file",
        value_name = "PATH",
        env = "APIGW_BACKEND_CA_FILE"
    )]
    backend_ca_files: Vec<PathBuf>,
    /// Serve connections on N single-threaded event loops, dealt to them in turn (default: one
    /// per CPU); 0 serves them on one work-stealing runtime instead. The event loops halve
    /// the proxy path's CPU per request (bench/data-plane.sh).
    #[arg(long, default_value_t = default_io_threads(), env = "APIGW_IO_THREADS")]
    io_threads: usize,
    /// Also print data-plane access-log lines on stdout (they always go to
    /// <data-dir>/logs/<destinationArn>.log).
    #[arg(long, env = "APIGW_ACCESS_LOG_STDOUT")]
    access_log_stdout: bool,
    /// Close a WebSocket connection after this many seconds without a frame from its client
    /// (AWS: 10 minutes).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 600,
        env = "APIGW_WEBSOCKET_IDLE_TIMEOUT"
    )]
    websocket_idle_timeout: u64,
    /// Close every WebSocket connection after this many seconds (AWS: 2 hours).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 7200,
        env = "APIGW_WEBSOCKET_MAX_DURATION"
    )]
    websocket_max_duration: u64,
    /// Close a connection whose request head has not fully arrived this many seconds after
    /// the connection opened or the head's first byte (408; nginx client_header_timeout).
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = seconds, env = "APIGW_CLIENT_HEADER_TIMEOUT")]
    client_header_timeout: Duration,
    /// A request body may pause this many seconds between reads, and must then average
    /// --client-body-min-rate (408; nginx client_body_timeout).
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = seconds, env = "APIGW_CLIENT_BODY_TIMEOUT")]
    client_body_timeout: Duration,
    /// Bytes per second a request body must average beyond its first --client-body-timeout.
    #[arg(
        long,
        value_name = "BYTES",
        default_value_t = 1024,
        env = "APIGW_CLIENT_BODY_MIN_RATE"
    )]
    client_body_min_rate: u64,
    /// Close a keep-alive connection idle for this many seconds between requests (nginx
    /// keepalive_timeout).
    #[arg(long, value_name = "SECONDS", default_value = "75", value_parser = seconds, env = "APIGW_KEEPALIVE_TIMEOUT")]
    keepalive_timeout: Duration,
    /// Close a connection whose client reads none of a response for this many seconds (nginx
    /// send_timeout).
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = seconds, env = "APIGW_SEND_TIMEOUT")]
    send_timeout: Duration,
    /// Most client connections open at once (WebSockets included); more get 503 and are
    /// closed. Default: half of the file-descriptor limit less 64.
    #[arg(long, value_name = "N", env = "APIGW_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
}

/// A positive number of seconds, fractions allowed (tests use short bounds).
fn seconds(s: &str) -> Result<Duration, String> {
    match s.parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 && n < 1e9 => Ok(Duration::from_secs_f64(n)),
        _ => Err(format!("expected a positive number of seconds, got {s:?}")),
    }
}

fn default_io_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn open_store(args: &ServeArgs) -> Result<Arc<dyn Store>, String> {
    let dir = match args.store.as_deref() {
        None => args.data_dir.clone(),
        Some(url) => match url.strip_prefix("sqlite:") {
            Some(path) => PathBuf::from(path.trim_start_matches("//")),
            None if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                return Err(
                    "the PostgreSQL store is not available in this build yet; use sqlite:DIR"
                        .into(),
                )
            }
            None => return Err(format!("unsupported --store URL {url}; use sqlite:DIR")),
        },
    };
    SqliteStore::open(&dir)
        .map(|s| Arc::new(s) as Arc<dyn Store>)
        .map_err(|e| e.to_string())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

fn credentials(args: &ServeArgs) -> Result<apigw_sigv4::Credentials, String> {
    let mut creds = apigw_sigv4::Credentials::new();
    for c in &args.credentials {
        let (id, secret) = apigw_sigv4::Credentials::parse_pair(c)
            .ok_or_else(|| "--credentials expects ACCESS_KEY_ID:SECRET".to_string())?;
        creds.insert(id, secret);
    }
    Ok(creds)
}

fn app(
    cp: Arc<ControlPlane>,
    dp: Arc<DataPlane>,
    credentials: apigw_sigv4::Credentials,
    lambda: apigw_lambda::Lambda,
    enable_test_reset: bool,
) -> apigw_dataplane::Front<Router> {
    let mut router = apigw_restjson::router(cp.clone());
    // Lambda's Invoke API (`POST /2015-03-31/functions/{name}/invocations`) shares the port.
    router = router.merge(lambda.invoke_api());
    // Cloud Control (awsJson1_0) shares the port: `POST /` with `X-Amz-Target: CloudApiService.*`.
    router = router.merge(apigw_cloudcontrol::router(cp.clone()));
    if enable_test_reset {
        let cp = cp.clone();
        router = router.route(
            "/moto-api/reset",
            post(move || {
                let cp = cp.clone();
                async move {
                    match cp.reset().await {
                        Ok(()) => axum::http::StatusCode::OK,
                        Err(_) => axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    }
                }
            }),
        );
    }
    let mut control = router.fallback(apigw_restjson::unknown_path);
    // Without configured credentials there is nothing to check: no layer, no cost per request.
    if !credentials.is_empty() {
        control = control.layer(axum::middleware::from_fn_with_state(
            Arc::new(credentials),
            auth::authenticate,
        ));
    }
    let control = control.layer(axum::middleware::map_response(
        apigw_restjson::add_request_id,
    ));
    // The data plane goes first: a request is the data plane's when its Host is
    // `{apiId}.execute-api.localhost` or its path starts with `/_aws/execute-api/`. It is never
    // behind the signature check (HTTP APIs here have no IAM authorization).
    apigw_dataplane::Front::new(dp, control).with_control_refusal(apigw_restjson::refusal)
}

fn dataplane_config(
    args: &ServeArgs,
    port: u16,
    credentials: &apigw_sigv4::Credentials,
) -> Result<DataPlaneConfig, String> {
    let mut vpc_link_targets = std::collections::HashMap::new();
    for t in &args.vpc_link_targets {
        match t.split_once('=') {
            Some((id, target)) if !id.is_empty() && target.contains(':') => {
                vpc_link_targets.insert(id.to_string(), target.to_string());
            }
            _ => return Err(format!("--vpc-link-target expects ID=HOST:PORT, got {t:?}")),
        }
    }
    Ok(DataPlaneConfig {
        listen_port: port,
        vpc_link_targets,
        backend_ca_files: args.backend_ca_files.clone(),
        access_log_dir: args.data_dir.join("logs"),
        access_log_stdout: args.access_log_stdout,
        credentials: (!credentials.is_empty()).then(|| Arc::new(credentials.clone())),
        websocket: apigw_dataplane::websocket::WsConfig {
            idle_timeout: std::time::Duration::from_secs(args.websocket_idle_timeout.max(1)),
            max_duration: std::time::Duration::from_secs(args.websocket_max_duration.max(1)),
            ..Default::default()
        },
    })
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let credentials = credentials(&args)?;
    let functions = apigw_lambda::config::load(args.functions_config.as_deref(), &args.functions)
        .map_err(|e| e.to_string())?;
    let lambda = apigw_lambda::Lambda::new(apigw_lambda::LambdaConfig {
        functions,
        remote_endpoint: args.lambda_endpoint.clone(),
        remote_ca_files: args.backend_ca_files.clone(),
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    let store = open_store(&args)?;
    let cp = Arc::new(ControlPlane::open(store).map_err(|e| e.to_string())?);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(store = %cp.store_description(), "state loaded");
    let dp = DataPlane::start(
        cp.clone(),
        dataplane_config(&args, addr.port(), &credentials)?,
        lambda.clone(),
    )
    .map_err(|e| e.to_string())?;
    // Tests and scripts read this line to learn the port.
    println!("apigw listening on http://{addr}");
    if !credentials.is_empty() {
        tracing::info!("SigV4 signatures are verified against the configured credentials");
    }
    let hosted = lambda.function_names();
    if !hosted.is_empty() {
        tracing::info!(functions = ?hosted, "hosting Lambda functions (started on first invoke)");
    }
    let app = app(
        cp,
        dp.clone(),
        credentials,
        lambda.clone(),
        args.enable_test_reset,
    );
    let functions = lambda.clone();
    let websockets = dp.clone();
    // On a signal, WebSocket connections close first (1001) and their `$disconnect`
    // integrations run while the functions they may call still do; then function processes
    // go, so invocations in flight end now instead of holding the graceful shutdown open
    // until their timeouts.
    let stop = async move {
        shutdown_signal().await;
        websockets
            .close_websockets(std::time::Duration::from_secs(10))
            .await;
        functions.shutdown().await;
    };
    let bounds = connections::Bounds {
        limits: apigw_http1::server::Limits {
            header_timeout: args.client_header_timeout,
            body_timeout: args.client_body_timeout,
            body_min_rate: args.client_body_min_rate.max(1),
            idle_timeout: args.keepalive_timeout,
            send_timeout: args.send_timeout,
        },
        max_connections: args
            .max_connections
            .unwrap_or_else(connections::default_max_connections)
            .max(1),
    };
    let served = connections::serve(listener, app, args.io_threads, bounds, stop).await;
    dp.flush_access_logs();
    // Function processes never outlive the gateway.
    lambda.shutdown().await;
    served
}

/// Runs the process without transparent huge pages. mimalloc asks for them on its arena, and a
/// 2 MiB page for each touched stretch made an idle server hold 8 MiB for a heap of under 2
/// (docs/decisions.md, Storage and durability). Its first allocations happen before `main`, so
/// the flag (kept across `exec`) is set and the binary started again in place: same pid, same
/// arguments, about a millisecond. A kernel without the flag, or a failed exec, only costs that
/// memory.
fn no_transparent_huge_pages() {
    use std::os::unix::process::CommandExt;
    if rustix::thread::transparent_huge_pages_are_disabled().unwrap_or(true) {
        return;
    }
    if rustix::thread::disable_transparent_huge_pages(true).is_err() {
        return;
    }
    // The file's own path, not /proc/self/exe: the process keeps its name (`ps`, `top`).
    let Ok(binary) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| binary.clone().into());
    // `exec` returns only when it failed; the process then goes on as it is.
    let _ = std::process::Command::new(binary)
        .arg0(arg0)
        .args(args)
        .exec();
}

fn main() -> std::process::ExitCode {
    no_transparent_huge_pages();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("APIGW_LOG")
                .unwrap_or_else(|_| "apigw=info,warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("apigw: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Serve(args) => runtime.block_on(serve(args)),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("apigw: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

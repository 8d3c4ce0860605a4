//! The HTTP API data plane: serves the traffic of the APIs the control plane configured.
//!
//! Job: address a request to an API (Host `{apiId}.execute-api.localhost` or path
//! `/_aws/execute-api/{apiId}/...`), select the stage and route (data-plane.md §1), run the
//! route's integration (HTTP_PROXY in `proxy.rs`, Lambda proxy in `lambda.rs` through `apigw-lambda`),
//! and answer with the backend's response or the gateway's own (§9.3).
//!
//! Boundary: it reads the control plane's state only to compile an immutable routing
//! [`snapshot::Snapshot`], rebuilt when the control plane reports a change and swapped whole;
//! requests never touch the database. The pure per-request rules (`$context`, parameter
//! mapping, CORS, throttling, access-log rendering) live in `apigw-dataplane-rules`; this crate
//! does the sockets, files and timing around them.

pub mod address;
pub mod authorizer;
pub mod backend;
mod body;
pub mod jwks;
mod lambda;
pub mod logsink;
pub mod proxy;
pub mod response;
pub mod routing;
pub mod snapshot;
pub mod websocket;

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use http::{HeaderValue, Request, Response, StatusCode};

use apigw_control::ControlPlane;
use apigw_dataplane_rules::context::{IntegrationOutcome, RequestContext};
use apigw_dataplane_rules::{CompiledResponseMapping, CorsPolicy, ResponseView};

pub use backend::BackendSetupError;
pub use response::GatewayError;
use snapshot::{IntegrationPlan, Snapshot, StageEntry};

/// A thread's handle on a shared snapshot: requests clone this (a reference count only
/// their own thread touches) instead of the shared `Arc<Snapshot>`.
struct LocalSnapshot(Arc<Snapshot>);

impl std::ops::Deref for LocalSnapshot {
    type Target = Snapshot;

    fn deref(&self) -> &Snapshot {
        &self.0
    }
}

thread_local! {
    /// Per data plane (by id): this thread's handle on its current snapshot.
    static LOCAL_SNAPSHOTS: std::cell::RefCell<Vec<(u64, Arc<LocalSnapshot>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Every data-plane answer carries its request id (`$context.requestId`).
const APIGW_REQUESTID: http::HeaderName = http::HeaderName::from_static("apigw-requestid");

/// How long the background rebuild waits after a change for more changes to fold in.
const REBUILD_PAUSE: std::time::Duration = std::time::Duration::from_millis(20);

/// Total size of the request line and header values (§9.1).
const MAX_HEADER_BYTES: usize = 10_240;

/// Operator configuration of the data plane.
#[derive(Debug, Clone, Default)]
pub struct DataPlaneConfig {
    /// The port the server listens on (`X-Forwarded-Port`).
    pub listen_port: u16,
    /// VPC link id (an integration's `connectionId`) or integration URI (listener / Cloud Map
    /// ARN) → local `host:port`.
    pub vpc_link_targets: HashMap<String, String>,
    /// PEM files of extra CAs trusted for `https://` backends (besides the system's roots).
    pub backend_ca_files: Vec<PathBuf>,
    /// Where access-log files go (`<dir>/<sanitised destinationArn>.log`).
    pub access_log_dir: PathBuf,
    /// Also print access-log lines on stdout.
    pub access_log_stdout: bool,
    /// `--credentials`: when set, `@connections` calls must be SigV4-signed by these keys.
    pub credentials: Option<Arc<apigw_sigv4::Credentials>>,
    /// WebSocket connection limits.
    pub websocket: websocket::WsConfig,
}

pub struct DataPlane {
    /// This data plane, for WebSocket sessions that outlive the request that opened them.
    me: std::sync::Weak<DataPlane>,
    cp: Arc<ControlPlane>,
    /// Tells this data plane's entries in the threads' snapshot caches from another's.
    id: u64,
    snapshot: RwLock<Arc<Snapshot>>,
    rebuilding: Mutex<()>,
    backends: backend::Backends,
    config: DataPlaneConfig,
    access_log: logsink::AccessLogSink,
    /// Where Lambda proxy integrations' functions run (hosted here or remote).
    lambda: apigw_lambda::Lambda,
    /// `X-Forwarded-Port`, rendered once.
    forwarded_port: HeaderValue,
    /// Open WebSocket connections.
    ws: websocket::Hub,
    /// JWT issuers' key sets.
    jwks: jwks::JwksCache,
    /// Lambda authorizers' cached answers.
    authorizer_results: authorizer::ResultCache,
    /// JWTs whose signatures verified lately.
    verified_tokens: authorizer::VerifiedTokens,
}

impl DataPlane {
    /// Builds the data plane and starts following the control plane's changes (needs a Tokio
    /// runtime).
    pub fn start(
        cp: Arc<ControlPlane>,
        config: DataPlaneConfig,
        lambda: apigw_lambda::Lambda,
    ) -> Result<Arc<DataPlane>, BackendSetupError> {
        let backends = backend::Backends::new(&config.backend_ca_files)?;
        // `'static` bytes: every request clones it.
        let forwarded_port =
            apigw_dataplane_rules::interned::value(&config.listen_port.to_string())
                .unwrap_or_else(|| HeaderValue::from(config.listen_port));
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        let access_log =
            logsink::AccessLogSink::start(config.access_log_dir.clone(), config.access_log_stdout);
        let ws = websocket::Hub::new(config.websocket.clone());
        let dp = Arc::new_cyclic(|me| DataPlane {
            me: me.clone(),
            cp,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            snapshot: RwLock::new(Arc::new(Snapshot::default())),
            rebuilding: Mutex::new(()),
            backends,
            config,
            access_log,
            lambda,
            forwarded_port,
            ws,
            jwks: jwks::JwksCache::default(),
            authorizer_results: authorizer::ResultCache::default(),
            verified_tokens: authorizer::VerifiedTokens::default(),
        });
        dp.rebuild();
        // Rebuild eagerly after changes so requests rarely pay for it; `snapshot()` still
        // checks the version, so a change is live on the very next request either way. A
        // burst of control-plane writes (thousands a second) costs one rebuild per pause
        // instead of one each: a rebuild reads every served stage.
        let weak = Arc::downgrade(&dp);
        let mut rx = dp.cp.subscribe_changes();
        tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                tokio::time::sleep(REBUILD_PAUSE).await;
                rx.borrow_and_update();
                match weak.upgrade() {
                    Some(dp) => {
                        dp.rebuild();
                    }
                    None => break,
                }
            }
        });
        Ok(dp)
    }

    /// The current snapshot, rebuilt first if the control plane changed since it was built.
    ///
    /// Served from this thread's cache while the control plane's change count says it is
    /// current: one shared atomic load per request. The shared lock, and the shared
    /// snapshot's reference count, are touched only after a change. Every event loop taking
    /// those per request made their cache lines bounce between cores.
    fn snapshot(&self) -> Arc<LocalSnapshot> {
        let current = self.cp.change_count();
        LOCAL_SNAPSHOTS.with(|cache| {
            let mut cache = cache.borrow_mut();
            if let Some(entry) = cache.iter().find(|e| e.0 == self.id) {
                if entry.1.version >= current {
                    return entry.1.clone();
                }
            }
            let fresh = Arc::new(LocalSnapshot(self.shared_snapshot(current)));
            cache.retain(|e| e.0 != self.id);
            if cache.len() >= 8 {
                // Data planes that come and go (tests) must not pin their snapshots forever.
                cache.remove(0);
            }
            cache.push((self.id, fresh.clone()));
            fresh
        })
    }

    /// The shared snapshot, at least as new as change `current`.
    fn shared_snapshot(&self, current: u64) -> Arc<Snapshot> {
        let snap = self
            .snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if snap.version >= current {
            return snap;
        }
        self.rebuild()
    }

    fn rebuild(&self) -> Arc<Snapshot> {
        let _one_at_a_time = self.rebuilding.lock().unwrap_or_else(|e| e.into_inner());
        // Read the version first: the state read next is at least that new.
        let version = self.cp.change_count();
        {
            let snap = self.snapshot.read().unwrap_or_else(|e| e.into_inner());
            if snap.version >= version && version > 0 {
                return snap.clone();
            }
        }
        let previous = self
            .snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let built = Arc::new(Snapshot::build(
            version,
            &self.cp.served_stages(),
            &previous,
        ));
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = built.clone();
        built
    }

    /// Waits until pending access-log lines are written.
    pub fn flush_access_logs(&self) {
        self.access_log.flush();
    }

    /// Serves one data-plane request from `client`.
    pub async fn handle(&self, req: Request<Body>, client: &Client) -> Response<Body> {
        let request_id = apigw_dataplane_rules::context::request_id_bytes();
        // The id's alphabet is ASCII: both views always exist.
        let id = std::str::from_utf8(&request_id).unwrap_or_default();
        let mut resp = self.serve(req, id, client).await;
        if let Ok(v) = HeaderValue::from_bytes(&request_id) {
            resp.headers_mut().insert(APIGW_REQUESTID, v);
        }
        resp
    }

    async fn serve(&self, req: Request<Body>, request_id: &str, client: &Client) -> Response<Body> {
        let started = Instant::now();
        // Shared copies (reference counts, not bytes): the request moves on to the integration.
        let host_header = req.headers().get(http::header::HOST).cloned();
        let host = host_header.as_ref().and_then(|h| h.to_str().ok());
        let uri = req.uri().clone();
        let Some(addr) = address::parse(host, uri.path()) else {
            return GatewayError::NotFound.into_response();
        };
        // Before routing: `..` must never reach a route's `{proxy}` (nor a backend).
        if address::has_dot_segment(addr.rest) {
            return GatewayError::BadRequest.into_response();
        }
        let snap = self.snapshot();
        let Some(api) = snap.apis.get(addr.api_id.as_ref()) else {
            return GatewayError::NotFound.into_response();
        };
        let Some(sel) = address::select_stage(api, addr.rest, addr.path_form) else {
            return GatewayError::NotFound.into_response();
        };
        if let Some(ws) = &sel.stage.websocket {
            // Boxed: the HTTP path's future does not carry the WebSocket path's state.
            return Box::pin(self.serve_websocket(req, &sel, ws, request_id, client)).await;
        }
        let (parts, body) = req.into_parts();
        let stage: &StageEntry = sel.stage;

        let epoch_ms = now_ms();
        let request = RequestFacts {
            host,
            request_id,
            client,
            epoch_ms,
        };
        // An access log reads `$context` whatever happens; otherwise only the route's
        // integration may, and the context is rendered once the route is known.
        let mut ctx = if stage.access_log.is_some() {
            self.render_context(&request, &sel, &parts)
        } else {
            // Only the clock (for the trace id) is needed so far.
            RequestContext {
                request_time_epoch_ms: epoch_ms,
                ..Default::default()
            }
        };

        // CORS needs the request's Origin after the headers went to the backend.
        let cors = stage.cors.as_ref().map(|policy| {
            let preflight = CorsPolicy::is_preflight(&parts.method, &parts.headers);
            let mut origin = http::HeaderMap::new();
            if let Some(o) = parts.headers.get(http::header::ORIGIN) {
                origin.insert(http::header::ORIGIN, o.clone());
            }
            (policy, preflight, origin)
        });
        let result = self
            .route_and_call(parts, body, &sel, &request, &mut ctx)
            .await;
        let mut resp = match result {
            Ok(r) => r,
            Err(e) => {
                ctx.record_error(e.message(), e.response_type());
                e.into_response()
            }
        };
        // CORS headers go on every answer but a preflight (which got its own already).
        if let Some((policy, false, origin)) = &cors {
            policy.apply_to_response(origin, resp.headers_mut());
        }
        self.finish(stage, ctx, resp, started)
    }

    async fn route_and_call(
        &self,
        parts: http::request::Parts,
        body: Body,
        sel: &address::StageSelection<'_>,
        request: &RequestFacts<'_>,
        ctx: &mut RequestContext,
    ) -> Result<Response<Body>, GatewayError> {
        let stage: &StageEntry = sel.stage;
        if stage.disable_execute_api_endpoint {
            return Err(GatewayError::Forbidden);
        }
        let header_bytes = parts.method.as_str().len()
            + parts.uri.path().len()
            + parts.uri.query().map_or(0, |q| q.len() + 1)
            + parts
                .headers
                .iter()
                .map(|(k, v)| k.as_str().len() + v.len())
                .sum::<usize>();
        if header_bytes > MAX_HEADER_BYTES {
            return Err(GatewayError::HeadersTooLarge);
        }
        let declared = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > apigw_model::limits::HTTP_API_PAYLOAD as u64) {
            return Err(GatewayError::PayloadTooLarge);
        }

        // CORS preflight: answered by the gateway, whatever the routes (http-api-cors).
        if let Some(cors) = &stage.cors {
            if CorsPolicy::is_preflight(&parts.method, &parts.headers) {
                let mut r = Response::new(Body::empty());
                *r.status_mut() = apigw_dataplane_rules::cors::PREFLIGHT_STATUS;
                *r.headers_mut() = cors.preflight_headers(&parts.headers);
                return Ok(r);
            }
        }

        let Some(route) = stage.routes.find(parts.method.as_str(), sel.route_path) else {
            return Err(GatewayError::NotFound);
        };
        // Rendered already for an access log; else now, if the route's integration reads it.
        let plan = route.value.integration.as_deref();
        let context_rendered = stage.access_log.is_some();
        if !context_rendered && plan.is_some_and(IntegrationPlan::reads_context) {
            *ctx = self.render_context(request, sel, &parts);
        }
        if context_rendered || plan.is_some_and(IntegrationPlan::reads_context) {
            ctx.route_key = route.route_key.to_string();
        }
        if !stage.throttle.try_acquire(route.route_key, Instant::now) {
            return Err(GatewayError::TooManyRequests);
        }
        // Authorization (authorizers.md §2.1): after throttling, before mappings and the
        // integration; the context rendered first when the authorizer reads it.
        let mut body = body;
        let auth = &route.value.auth;
        let mut authorized = None;
        if !auth.is_none() {
            if auth.reads_context() && ctx.api_id.is_empty() {
                *ctx = self.render_context(request, sel, &parts);
                ctx.route_key = route.route_key.to_string();
            }
            // SigV4 covers the body: AWS_IAM routes read it first (the 10 MB limit still holds).
            // (A request without a body, the common GET, hashes nothing: the empty body's hash
            // is a constant.)
            let mut body_hash = None;
            let no_body = declared == Some(0)
                || (declared.is_none()
                    && !parts.headers.contains_key(http::header::TRANSFER_ENCODING));
            if matches!(auth, authorizer::RouteAuth::Iam)
                && !no_body
                && !parts.headers.contains_key("x-amz-content-sha256")
            {
                let bytes = axum::body::to_bytes(
                    std::mem::replace(&mut body, Body::empty()),
                    apigw_model::limits::HTTP_API_PAYLOAD,
                )
                .await
                .map_err(|_| GatewayError::PayloadTooLarge)?;
                body_hash = Some(apigw_sigv4::payload_hash(&bytes));
                body = Body::from(bytes);
            }
            let auth_req = authorizer::AuthRequest {
                parts: &parts,
                body_hash: body_hash.as_deref(),
                stage,
                route: &route,
                stage_prefix: sel.stage_prefix,
                route_path: sel.route_path,
                ctx,
                client: request.client,
            };
            match Box::pin(authorizer::authorize(self, auth, &auth_req)).await {
                Ok(a) => {
                    // `$context.authorizer.*` only when something reads `$context`.
                    if let Some(a) = a.as_ref().filter(|_| {
                        stage.access_log.is_some()
                            || plan.is_some_and(IntegrationPlan::reads_context)
                    }) {
                        a.record(ctx);
                    }
                    authorized = a;
                }
                Err(denied) => {
                    ctx.authorizer.insert("error".into(), denied.reason.clone());
                    ctx.record_error(denied.error.message(), denied.error.response_type());
                    return Ok(denied.into_response());
                }
            }
        }
        let Some(plan) = plan else {
            tracing::warn!(api = %stage.api_id, route = %route.route_key, "route has no integration");
            return Err(GatewayError::InternalServerError);
        };
        let (response_mapping, integration_id) = match plan {
            IntegrationPlan::HttpProxy(p) => (&p.response_mapping, &p.integration_id),
            IntegrationPlan::Lambda(l) => (&l.response_mapping, &l.integration_id),
            IntegrationPlan::Unsupported {
                integration_id,
                reason,
            } => {
                tracing::warn!(api = %stage.api_id, integration = %integration_id, %reason, "integration cannot be served");
                ctx.record_integration(IntegrationOutcome {
                    error_message: Some(reason.clone()),
                    ..Default::default()
                });
                return Err(GatewayError::InternalServerError);
            }
        };
        tracing::trace!(integration = %integration_id, route = %route.route_key, "calling the integration");
        let mut outcome = proxy::Outcome::default();
        let req = proxy::ProxyRequest {
            method: parts.method,
            headers: parts.headers,
            body,
            route_path: sel.route_path,
            stage_prefix: sel.stage_prefix,
            raw_query: parts.uri.query(),
            client: request.client,
            stage,
            route: &route,
            context: ctx,
            authorized: authorized.as_ref(),
        };
        let r = match plan {
            IntegrationPlan::HttpProxy(p) => proxy::call(self, p, req, &mut outcome).await,
            // Boxed so the HTTP_PROXY path's future does not carry the Lambda call's state.
            IntegrationPlan::Lambda(l) => Box::pin(lambda::call(self, l, req, &mut outcome)).await,
            IntegrationPlan::Unsupported { .. } => Err(GatewayError::InternalServerError),
        };
        ctx.record_integration(IntegrationOutcome {
            status: outcome.status,
            integration_status: outcome.status,
            latency_ms: outcome.latency_ms,
            error_message: outcome.error,
            ..Default::default()
        });
        match (r, response_mapping) {
            (Ok(resp), Some(m)) => Box::pin(map_response(m, resp, ctx, stage)).await,
            (r, _) => r,
        }
    }

    /// `$context` for a request (data-plane.md §5), before routing adds the route key.
    fn render_context(
        &self,
        request: &RequestFacts<'_>,
        sel: &address::StageSelection<'_>,
        parts: &http::request::Parts,
    ) -> RequestContext {
        let stage = sel.stage;
        let mut path = String::with_capacity(sel.stage_prefix.len() + sel.route_path.len());
        path.push_str(sel.stage_prefix);
        path.push_str(sel.route_path);
        RequestContext {
            account_id: self.cp.account_id().to_string(),
            api_id: stage.api_id.clone(),
            domain_name: request.host.unwrap_or("").to_string(),
            http_method: parts.method.as_str().to_string(),
            path,
            protocol: "HTTP/1.1".into(),
            request_id: request.request_id.to_string(),
            request_time_epoch_ms: request.epoch_ms,
            stage: stage.stage_name.clone(),
            source_ip: request.client.ip_text.clone(),
            user_agent: parts
                .headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            ..Default::default()
        }
    }

    /// Response-side work common to every answer: the access-log line, written once the body
    /// has been sent (so `$context.responseLength` and `responseLatency` are known).
    fn finish(
        &self,
        stage: &StageEntry,
        mut ctx: RequestContext,
        resp: Response<Body>,
        started: Instant,
    ) -> Response<Body> {
        let Some(log) = stage.access_log.clone() else {
            return resp;
        };
        let sink = self.access_log.clone();
        let status = resp.status().as_u16();
        let (parts, body) = resp.into_parts();
        let counted = body::CountedBody::new(body, move |length| {
            let latency = started.elapsed().as_millis() as u64;
            ctx.record_response(status, length, latency);
            sink.write(&log.0, log.1.render(&ctx));
        });
        Response::from_parts(parts, Body::new(counted))
    }
}

/// Milliseconds since the Unix epoch (`$context.requestTimeEpoch`, WebSocket times).
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The client address as `$context.identity.sourceIp` text. IPv4 (every loopback and most
/// clients) is written digit by digit: `Display` for `IpAddr` goes through the formatter,
/// which was a visible share of the proxy path.
pub(crate) fn ip_text(ip: IpAddr) -> String {
    let IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut out = String::with_capacity(15);
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        if octet >= 100 {
            out.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            out.push(char::from(b'0' + octet / 10 % 10));
        }
        out.push(char::from(b'0' + octet % 10));
    }
    out
}

/// `responseParameters` for the backend's status code (§3.3): status and header actions.
async fn map_response(
    mapping: &CompiledResponseMapping,
    resp: Response<Body>,
    ctx: &RequestContext,
    stage: &StageEntry,
) -> Result<Response<Body>, GatewayError> {
    let Some(rules) = mapping.for_status(resp.status().as_u16()) else {
        return Ok(resp);
    };
    let (mut parts, body) = resp.into_parts();
    let (body, buffered) = if rules.needs_body() {
        let bytes = axum::body::to_bytes(body, apigw_model::limits::HTTP_API_PAYLOAD)
            .await
            .map_err(|_| GatewayError::InternalServerError)?;
        (Body::from(bytes.clone()), Some(bytes))
    } else {
        (body, None)
    };
    let changes = rules.evaluate(&ResponseView {
        status: parts.status.as_u16(),
        headers: &parts.headers,
        body: buffered.as_deref(),
        context: ctx,
        stage_variables: &stage.stage_variables,
    });
    changes.apply_headers(&mut parts.headers);
    if let Some(code) = changes
        .status
        .and_then(|c| http::StatusCode::from_u16(c).ok())
    {
        parts.status = code;
    }
    Ok(Response::from_parts(parts, body))
}

/// What a request brings besides its parts, for rendering `$context`.
struct RequestFacts<'a> {
    host: Option<&'a str>,
    request_id: &'a str,
    client: &'a Client,
    epoch_ms: i64,
}

/// The client at the other end of a connection, as the data plane reports it
/// (`$context.identity.sourceIp`, `X-Forwarded-For`): rendered once per connection.
#[derive(Debug, Clone)]
pub struct Client {
    pub ip: IpAddr,
    pub ip_text: String,
    pub ip_header: HeaderValue,
}

impl Client {
    pub fn new(ip: IpAddr) -> Client {
        let ip_text = ip_text(ip);
        let ip_header = HeaderValue::from_str(&ip_text)
            .unwrap_or_else(|_| HeaderValue::from_static("127.0.0.1"));
        Client {
            ip,
            ip_text,
            ip_header,
        }
    }
}

/// The server's front door: data-plane requests (by Host or `/_aws/execute-api/`) go to the
/// data plane, everything else to the control-plane router. The test is one header lookup and
/// a prefix check, so the control plane's path stays cheap.
#[derive(Clone)]
pub struct Front<S> {
    dp: Arc<DataPlane>,
    control: S,
    /// The client of the connection this front door serves.
    client: Client,
    /// The control plane's form of a refusal by the HTTP server (its error shape is not this
    /// crate's to know).
    control_refusal: fn(StatusCode) -> Response<Body>,
}

impl<S: Clone> Front<S> {
    pub fn new(dp: Arc<DataPlane>, control: S) -> Self {
        Front {
            dp,
            control,
            client: Client::new(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            control_refusal: apigw_http1::server::json_refusal,
        }
    }

    /// Sets how refusals of control-plane requests look.
    pub fn with_control_refusal(mut self, refusal: fn(StatusCode) -> Response<Body>) -> Self {
        self.control_refusal = refusal;
        self
    }

    /// The front door for one connection from `peer`.
    pub fn for_peer(&self, peer: SocketAddr) -> Self {
        Front {
            dp: self.dp.clone(),
            control: self.control.clone(),
            client: Client::new(peer.ip()),
            control_refusal: self.control_refusal,
        }
    }
}

impl<S> apigw_http1::server::Handler for Front<S>
where
    S: tower_service::Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    fn handle(&self, req: Request<Body>) -> impl Future<Output = Response<Body>> + Send {
        let host = req
            .headers()
            .get(http::header::HOST)
            .map(HeaderValue::as_bytes);
        // The data plane's future borrows this connection's front door: nothing is cloned
        // or allocated per request to reach it.
        let control =
            (!address::is_data_plane(host, req.uri().path())).then(|| self.control.clone());
        async move {
            match control {
                None => self.dp.handle(req, &self.client).await,
                Some(mut control) => match control.call(req).await {
                    Ok(resp) => resp,
                    Err(never) => match never {},
                },
            }
        }
    }

    /// Each plane's error shape when the head says which plane; a plain `{"message"}` when
    /// it did not parse.
    fn refuse(
        &self,
        status: StatusCode,
        req: Option<&apigw_http1::server::Refused>,
    ) -> Response<Body> {
        match req {
            Some(r)
                if address::is_data_plane(
                    r.host.as_ref().map(HeaderValue::as_bytes),
                    r.uri.path(),
                ) =>
            {
                response::refusal(status)
            }
            Some(_) => (self.control_refusal)(status),
            None => apigw_http1::server::json_refusal(status),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_text_matches_display() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.20.30.40",
            "255.255.255.255",
            "1.100.9.99",
            "::1",
            "fe80::1",
        ] {
            let parsed: IpAddr = ip.parse().unwrap();
            assert_eq!(ip_text(parsed), parsed.to_string());
        }
    }
}

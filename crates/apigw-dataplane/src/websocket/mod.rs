//! WebSocket APIs (data-plane.md §7): the handshake and `$connect`, one session task per
//! connection (messages routed by the API's `routeSelectionExpression`, `$disconnect` exactly
//! once), the connection registry, and the `@connections` management API.
//!
//! A connection lives in the task of the HTTP/1.1 connection that upgraded: its reader loop
//! runs there, its writes go through a per-connection queue drained by a writer task, and each
//! message's integration runs as a task of its own (at most [`MAX_IN_FLIGHT`] per connection),
//! so replies come back as they finish, as on AWS ("Responses are asynchronous").

mod authorize;
mod event;
mod integrate;
mod manage;
pub mod plan;
mod session;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use rustc_hash::FxHashMap;
use tokio::sync::{oneshot, watch, Notify, OwnedSemaphorePermit, Semaphore};

use apigw_dataplane_rules::context::{RequestContext, WebSocketContext};

use crate::address::StageSelection;
use crate::snapshot::StageEntry;
use crate::{Client, DataPlane};

pub use plan::WsStage;

/// Integrations running at once for one connection; further messages wait in the socket.
pub const MAX_IN_FLIGHT: usize = 16;

/// Operator limits of WebSocket connections (defaults are AWS's quotas, §9.2).
#[derive(Debug, Clone)]
pub struct WsConfig {
    /// Closed (1001) after this long without a frame from the client: 10 minutes.
    pub idle_timeout: Duration,
    /// Closed (1001) after this long whatever happens: 2 hours.
    pub max_duration: Duration,
    /// Bytes queued for a client that is not reading before `PostToConnection` answers 429
    /// and route responses wait (decisions.md).
    pub outbound_buffer: usize,
}

impl Default for WsConfig {
    fn default() -> Self {
        WsConfig {
            idle_timeout: Duration::from_secs(600),
            max_duration: Duration::from_secs(7200),
            outbound_buffer: 1024 * 1024,
        }
    }
}

/// Frame size limits (§7.3): 32 KB frames, 128 KB messages.
pub const LIMITS: apigw_http1::ws::Limits = apigw_http1::ws::Limits {
    max_frame: apigw_model::limits::WEBSOCKET_FRAME,
    max_message: apigw_model::limits::WEBSOCKET_MESSAGE,
};

/// Every open connection, by id, plus what shutting them down needs.
pub(crate) struct Hub {
    connections: Mutex<FxHashMap<String, Arc<Connection>>>,
    /// Turns true when the gateway stops: every session is asked to close with 1001, and so
    /// is every connection registered from then on. (Through each connection's own close
    /// request rather than a channel every session polls: that would cost every message.)
    stopping: AtomicBool,
    /// The HTTP servers' stop signals already watched (one task each, not one per session).
    server_stops: Mutex<Vec<watch::Receiver<bool>>>,
    /// Sessions still running (their `$disconnect` included).
    live: AtomicUsize,
    ended: Notify,
    pub config: WsConfig,
}

impl Hub {
    pub fn new(config: WsConfig) -> Hub {
        Hub {
            connections: Mutex::new(FxHashMap::default()),
            stopping: AtomicBool::new(false),
            server_stops: Mutex::new(Vec::new()),
            live: AtomicUsize::new(0),
            ended: Notify::new(),
            config,
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, FxHashMap<String, Arc<Connection>>> {
        self.connections.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, id: &str) -> Option<Arc<Connection>> {
        self.map().get(id).cloned()
    }

    fn insert(&self, c: Arc<Connection>) {
        self.map().insert(c.id.clone(), c.clone());
        // Registered after `stop_all` went through the map: closed here instead. (The map's
        // lock orders the two, so one of them sees the other.)
        if self.stopping.load(Ordering::SeqCst) {
            c.close(1001, "Going away");
        }
    }

    /// Asks every connection, and every one registered from now on, to close with 1001.
    fn stop_all(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let all: Vec<Arc<Connection>> = self.map().values().cloned().collect();
        for c in all {
            c.close(1001, "Going away");
        }
    }

    /// Closes every connection when `stop` (an HTTP server's graceful stop) turns true: one
    /// watching task per server.
    fn watch_server_stop(hub: std::sync::Weak<DataPlane>, stop: &watch::Receiver<bool>) {
        let Some(dp) = hub.upgrade() else { return };
        {
            let mut watched = dp.ws.server_stops.lock().unwrap_or_else(|e| e.into_inner());
            // Servers that went away no longer need a place here.
            watched.retain(|w| w.has_changed().is_ok());
            if watched.iter().any(|w| w.same_channel(stop)) {
                return;
            }
            watched.push(stop.clone());
        }
        drop(dp);
        let mut stop = stop.clone();
        tokio::spawn(async move {
            // A server dropped without stopping ends the wait with an error: nothing to do.
            if stop.wait_for(|s| *s).await.is_ok() {
                if let Some(dp) = hub.upgrade() {
                    dp.ws.stop_all();
                }
            }
        });
    }

    fn remove(&self, id: &str) {
        self.map().remove(id);
    }

    /// Closes every connection (1001 "Going away") and waits, up to `limit`, until their
    /// sessions ended and their `$disconnect` integrations ran.
    pub async fn shutdown(&self, limit: Duration) {
        self.stop_all();
        let wait = async {
            loop {
                let notified = self.ended.notified();
                if self.live.load(Ordering::Acquire) == 0 {
                    return;
                }
                notified.await;
            }
        };
        let _ = tokio::time::timeout(limit, wait).await;
    }
}

/// One frame queued for a client, holding its share of the connection's buffer budget.
pub(crate) struct Outbound {
    frame: Frame,
    _budget: OwnedSemaphorePermit,
}

pub(crate) enum Frame {
    Text(Bytes),
    Binary(Bytes),
    Pong(Bytes),
}

impl Frame {
    /// Text when the payload is UTF-8, binary otherwise (§7.9 [choice], RFC 6455 §5.6).
    pub fn data(payload: Bytes) -> Frame {
        if std::str::from_utf8(&payload).is_ok() {
            Frame::Text(payload)
        } else {
            Frame::Binary(payload)
        }
    }
}

/// Why a send to a client did not happen.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SendError {
    /// The client's buffer is full (`LimitExceededException`).
    Full,
    /// The connection is gone.
    Closed,
}

/// An open WebSocket connection as the rest of the gateway sees it.
pub(crate) struct Connection {
    pub id: String,
    pub api_id: String,
    pub stage_name: String,
    pub connected_at_ms: i64,
    last_active_ms: AtomicI64,
    pub source_ip: String,
    pub user_agent: Option<String>,
    /// The upgrade request's `Host`, as sent (`$context.domainName`, §7.4 [choice]).
    pub domain_name: String,
    /// Frames for the client, written by the session. A plain queue (no channel): an idle
    /// connection holds no buffer for it.
    outbound: Mutex<VecDeque<Outbound>>,
    /// Wakes the session when a frame is queued.
    queued: Notify,
    /// Bytes the queue may hold (`WsConfig::outbound_buffer`); closed when the session ends,
    /// so senders fail at once.
    budget: Arc<Semaphore>,
    close: Mutex<Option<oneshot::Sender<(u16, &'static str)>>>,
    /// What the `$connect` authorizer let through: every later event of the connection carries
    /// it (authorizers.md §4). Set once, at `$connect`.
    authorizer: std::sync::OnceLock<(
        serde_json::Map<String, serde_json::Value>,
        std::collections::BTreeMap<String, String>,
    )>,
}

impl Connection {
    /// Headers of the `$disconnect` event (§7.4): Host and the forwarding headers, made when
    /// needed rather than kept by every connection.
    pub fn disconnect_headers(&self, port: u16) -> Vec<(String, String)> {
        vec![
            ("Host".to_string(), self.domain_name.clone()),
            ("X-Forwarded-For".to_string(), self.source_ip.clone()),
            ("X-Forwarded-Port".to_string(), port.to_string()),
            ("X-Forwarded-Proto".to_string(), "http".to_string()),
        ]
    }

    pub fn last_active_ms(&self) -> i64 {
        self.last_active_ms.load(Ordering::Relaxed)
    }

    fn touch(&self) {
        self.last_active_ms.store(now_ms(), Ordering::Relaxed);
    }

    fn cost(frame: &Frame) -> usize {
        match frame {
            Frame::Text(b) | Frame::Binary(b) | Frame::Pong(b) => b.len().max(1),
        }
    }

    /// Queues `frame` if the client's buffer has room now (`PostToConnection`).
    pub fn try_send(&self, frame: Frame) -> Result<(), SendError> {
        let n = u32::try_from(Self::cost(&frame)).map_err(|_| SendError::Full)?;
        let permit = match self.budget.clone().try_acquire_many_owned(n) {
            Ok(p) => p,
            Err(tokio::sync::TryAcquireError::NoPermits) => return Err(SendError::Full),
            Err(tokio::sync::TryAcquireError::Closed) => return Err(SendError::Closed),
        };
        self.push(frame, permit);
        Ok(())
    }

    /// Queues `frame`, waiting up to `limit` for room (route responses and error frames: the
    /// client's own messages produced them, so the client is made to wait, not refused).
    pub async fn send(&self, frame: Frame, limit: Duration) -> Result<(), SendError> {
        let n = u32::try_from(Self::cost(&frame)).map_err(|_| SendError::Full)?;
        // Room now: no timer.
        if let Ok(permit) = self.budget.clone().try_acquire_many_owned(n) {
            self.push(frame, permit);
            return Ok(());
        }
        let permit =
            match tokio::time::timeout(limit, self.budget.clone().acquire_many_owned(n)).await {
                Ok(Ok(p)) => p,
                Ok(Err(_)) => return Err(SendError::Closed),
                Err(_) => return Err(SendError::Full),
            };
        self.push(frame, permit);
        Ok(())
    }

    fn push(&self, frame: Frame, permit: OwnedSemaphorePermit) {
        self.outbound
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(Outbound {
                frame,
                _budget: permit,
            });
        self.queued.notify_one();
    }

    /// The next queued frame, for the session to write.
    fn pop(&self) -> Option<Outbound> {
        self.outbound
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
    }

    /// The session is over: every send from now on fails, and what was queued is dropped.
    fn shut(&self) {
        self.budget.close();
        self.outbound
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Asks the session to close with `code` (`DeleteConnection`: 1000).
    pub fn close(&self, code: u16, reason: &'static str) -> bool {
        let sender = self.close.lock().unwrap_or_else(|e| e.into_inner()).take();
        sender.is_some_and(|s| s.send((code, reason)).is_ok())
    }
}

pub(crate) use crate::now_ms;

/// A connection id (§7.3). Drawn from the OS: an id is a capability (whoever knows one can
/// post to the connection or close it).
pub(crate) fn new_connection_id() -> String {
    apigw_dataplane_rules::websocket::new_connection_id(|b| {
        if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), b).is_err() {
            for x in b.iter_mut() {
                *x = fastrand::u8(..);
            }
        }
    })
}

/// A request or message id: the same shape, but only a label, so no system call per message.
pub(crate) fn new_id() -> String {
    apigw_dataplane_rules::websocket::new_connection_id(|b| fastrand::fill(b))
}

/// `$context` for an event of `conn`.
pub(crate) fn event_context(
    dp: &DataPlane,
    conn: &Connection,
    stage: &StageEntry,
    event_type: &'static str,
    route_key: &str,
    request_id: &str,
    message_id: Option<String>,
) -> RequestContext {
    RequestContext {
        account_id: dp.cp.account_id().to_string(),
        api_id: stage.api_id.clone(),
        domain_name: conn.domain_name.clone(),
        protocol: "HTTP/1.1".into(),
        request_id: request_id.to_string(),
        request_time_epoch_ms: now_ms(),
        route_key: route_key.to_string(),
        stage: stage.stage_name.clone(),
        source_ip: conn.source_ip.clone(),
        user_agent: conn.user_agent.clone(),
        websocket: Some(WebSocketContext {
            connection_id: conn.id.clone(),
            connected_at_ms: conn.connected_at_ms,
            event_type,
            message_id,
            disconnect_status_code: None,
            disconnect_reason: None,
            authorizer: conn.authorizer.get().map(|(json, _)| json.clone()),
        }),
        authorizer: conn
            .authorizer
            .get()
            .map(|(_, strings)| strings.clone())
            .unwrap_or_default(),
        ..Default::default()
    }
}

/// JSON error answer of the data plane's own (`{"message": …}`).
fn message_response(status: StatusCode, message: &str) -> Response<Body> {
    let body = serde_json::json!({ "message": message }).to_string();
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

impl DataPlane {
    /// A request for a WebSocket API's stage: an upgrade (handshake and `$connect`), an
    /// `@connections` call, or anything else (426).
    pub(crate) async fn serve_websocket(
        &self,
        req: Request<Body>,
        sel: &StageSelection<'_>,
        ws: &Arc<WsStage>,
        request_id: &str,
        client: &Client,
    ) -> Response<Body> {
        let stage = sel.stage;
        if let Some(id) = manage::connection_id_in(sel.route_path) {
            return manage::handle(self, stage, req, &id, request_id).await;
        }
        if !apigw_http1::ws::is_upgrade_request(req.headers()) {
            return message_response(StatusCode::UPGRADE_REQUIRED, "Upgrade Required");
        }
        if !matches!(sel.route_path, "" | "/") {
            return crate::GatewayError::NotFound.into_response();
        }
        if stage.disable_execute_api_endpoint {
            return crate::GatewayError::Forbidden.into_response();
        }
        let (parts, _body) = req.into_parts();
        let key = match apigw_http1::ws::check_upgrade(&parts.method, parts.version, &parts.headers)
        {
            Ok(u) => u.key.clone(),
            Err(e) => {
                let mut r = message_response(e.status(), "Bad Request");
                if e.status() == StatusCode::UPGRADE_REQUIRED {
                    r.headers_mut().insert(
                        http::header::SEC_WEBSOCKET_VERSION,
                        HeaderValue::from_static("13"),
                    );
                }
                return r;
            }
        };
        if !stage
            .throttle
            .try_acquire("$connect", std::time::Instant::now)
        {
            return crate::GatewayError::TooManyRequests.into_response();
        }
        self.connect(parts, key, stage, ws, client).await
    }

    async fn connect(
        &self,
        parts: http::request::Parts,
        key: HeaderValue,
        stage: &Arc<StageEntry>,
        ws: &Arc<WsStage>,
        client: &Client,
    ) -> Response<Body> {
        // The CONNECT event's request id comes from the connection-id generator, as every
        // WebSocket id does (§7.3): the HTTP request id's alphabet has `-` and `_`.
        let request_id = &new_id();
        let Some(dp) = self.me.upgrade() else {
            return crate::GatewayError::ServiceUnavailable.into_response();
        };
        let header = |name: http::HeaderName| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let domain_name = header(http::header::HOST).unwrap_or_default();
        let user_agent = header(http::header::USER_AGENT);
        let id = new_connection_id();
        let connected_at_ms = now_ms();
        let (close_tx, close_rx) = oneshot::channel();
        let conn = Arc::new(Connection {
            id: id.clone(),
            api_id: stage.api_id.clone(),
            stage_name: stage.stage_name.clone(),
            connected_at_ms,
            last_active_ms: AtomicI64::new(connected_at_ms),
            source_ip: client.ip_text.clone(),
            user_agent,
            domain_name,
            outbound: Mutex::new(VecDeque::new()),
            queued: Notify::new(),
            budget: Arc::new(Semaphore::new(self.ws.config.outbound_buffer)),
            close: Mutex::new(Some(close_tx)),
            authorizer: std::sync::OnceLock::new(),
        });

        let mut extra_headers = HeaderMap::new();
        // Without a `$connect` route or an access log there is nothing to render.
        if ws.routes.contains_key("$connect") || stage.access_log.is_some() {
            let started = std::time::Instant::now();
            let mut ctx =
                event_context(self, &conn, stage, "CONNECT", "$connect", request_id, None);
            if let Some(route) = ws.routes.get("$connect") {
                let connect = integrate::ConnectRequest::from_parts(&parts);
                // Authorization first: a refused upgrade runs no integration (§4).
                match authorize::connect(self, &ws.connect_auth, &parts, &connect, stage, &ctx)
                    .await
                {
                    Ok(None) => {}
                    Ok(Some(a)) => {
                        a.record(&mut ctx);
                        if let Some(json) = authorize::event_authorizer(&a) {
                            let _ = conn.authorizer.set((json.clone(), ctx.authorizer.clone()));
                            if let Some(w) = ctx.websocket.as_mut() {
                                w.authorizer = Some(json);
                            }
                        }
                    }
                    Err(denied) => {
                        ctx.authorizer.insert("error".into(), denied.reason.clone());
                        ctx.record_error(denied.error.message(), denied.error.response_type());
                        let r = denied.into_response();
                        ctx.record_response(
                            r.status().as_u16(),
                            0,
                            started.elapsed().as_millis() as u64,
                        );
                        self.log_ws(stage, &ctx);
                        return r;
                    }
                }
                let result = integrate::run(
                    self,
                    &conn,
                    stage,
                    route,
                    integrate::Event::Connect(&connect),
                    &mut ctx,
                )
                .await;
                let refused = match result {
                    integrate::Outcome::Reply(reply) if (200..300).contains(&reply.status) => {
                        for (k, v) in &reply.headers {
                            if let (Ok(k), Ok(v)) = (
                                http::HeaderName::from_bytes(k.as_bytes()),
                                HeaderValue::from_str(v),
                            ) {
                                if !is_handshake_header(&k) {
                                    extra_headers.append(k, v);
                                }
                            }
                        }
                        None
                    }
                    integrate::Outcome::Reply(reply) => {
                        let mut r = Response::new(Body::from(reply.body));
                        *r.status_mut() = StatusCode::from_u16(reply.status)
                            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                        Some(r)
                    }
                    integrate::Outcome::NoReply => None,
                    integrate::Outcome::Failed(f) => Some(f.handshake_response()),
                };
                if let Some(r) = refused {
                    ctx.record_response(
                        r.status().as_u16(),
                        0,
                        started.elapsed().as_millis() as u64,
                    );
                    self.log_ws(stage, &ctx);
                    return r;
                }
            }
            ctx.record_response(200, 0, started.elapsed().as_millis() as u64);
            self.log_ws(stage, &ctx);
        }

        self.ws.insert(conn.clone());
        self.ws.live.fetch_add(1, Ordering::AcqRel);
        let stage = stage.clone();
        let mut resp = apigw_http1::ws::switching_protocols(&key);
        resp.headers_mut().extend(extra_headers);
        resp.extensions_mut()
            .insert(apigw_http1::server::OnUpgrade::new(move |up| async move {
                Hub::watch_server_stop(Arc::downgrade(&dp), &up.stop);
                session::run(dp.clone(), conn, stage, up, close_rx).await;
                dp.ws.live.fetch_sub(1, Ordering::AcqRel);
                dp.ws.ended.notify_waiters();
            }));
        resp
    }

    /// Writes a WebSocket event's access-log line, if the stage logs.
    pub(crate) fn log_ws(&self, stage: &StageEntry, ctx: &RequestContext) {
        if let Some(log) = &stage.access_log {
            self.access_log.write(&log.0, log.1.render(ctx));
        }
    }

    /// Closes every WebSocket connection (1001) and waits up to `limit` for their
    /// `$disconnect` integrations: called on shutdown before hosted functions stop.
    pub async fn close_websockets(&self, limit: Duration) {
        self.ws.shutdown(limit).await;
    }
}

/// Headers a `$connect` integration may not set on the 101 (they belong to the handshake).
fn is_handshake_header(name: &http::HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "upgrade"
            | "sec-websocket-accept"
            | "sec-websocket-extensions"
            | "content-length"
            | "transfer-encoding"
    )
}

//! One connection's life after the 101: read frames until something closes it, route each
//! message to its integration, and fire `$disconnect` exactly once at the end (§7.3).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::sync::{oneshot, Semaphore};

use apigw_dataplane_rules::context::RequestContext;
use apigw_dataplane_rules::websocket::ErrorFrame;
use apigw_http1::server::Upgraded;
use apigw_http1::ws::{Incoming, Role, WsError, WsReader, WsWriter};

use super::plan::{Backend, WsRoute};
use super::{integrate, now_ms, Connection, Frame, LIMITS, MAX_IN_FLIGHT};
use crate::snapshot::StageEntry;
use crate::DataPlane;

/// How long one frame may take to reach a client that stopped reading before the connection
/// is dropped (decisions.md).
const WRITE_STALL: Duration = Duration::from_secs(30);
/// How long the close handshake may take once the gateway decided to close.
const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// How long a reply waits for room in a slow client's buffer before it is dropped.
const REPLY_WAIT: Duration = Duration::from_secs(29);

/// How a session ended: the `$disconnect` event's `disconnectStatusCode` and reason (§7.3).
struct End {
    code: u16,
    reason: String,
    /// The gateway closes (and sends this close frame), rather than answering the client's.
    by_gateway: bool,
}

impl End {
    fn gateway(code: u16, reason: &str) -> End {
        End {
            code,
            reason: reason.to_string(),
            by_gateway: true,
        }
    }
}

pub(super) async fn run(
    dp: Arc<DataPlane>,
    conn: Arc<Connection>,
    stage: Arc<StageEntry>,
    up: Upgraded,
    mut close_rx: oneshot::Receiver<(u16, &'static str)>,
) {
    let Upgraded {
        stream, read_buf, ..
    } = up;
    let (read, write) = stream.into_split();
    // The HTTP server's head buffer (8 KiB) would stay with the connection for its life; an
    // empty one is replaced by the reader's smaller one.
    let read_buf = if read_buf.is_empty() {
        bytes::BytesMut::new()
    } else {
        read_buf
    };
    let mut reader = WsReader::new(read, read_buf, Role::Server, LIMITS);
    let mut writer = WsWriter::new(write, Role::Server);

    let config = &dp.ws.config;
    let idle = tokio::time::sleep(config.idle_timeout);
    let max = tokio::time::sleep(config.max_duration);
    // The queue's wake-up lives across turns of the loop: built once, it registers its waker
    // once, not on every message. (Stopping the gateway or the server comes as a close
    // request, `close_rx`.)
    let queued = conn.queued.notified();
    tokio::pin!(idle, max, queued);
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));

    let end = 'session: loop {
        // Queued frames go out first, written here rather than in a `select!` branch: a
        // write cancelled halfway would corrupt the stream. A client that takes no frame
        // for WRITE_STALL is dropped.
        let mut wrote = false;
        while let Some(out) = conn.pop() {
            wrote = true;
            let write = write_frame(&mut writer, &out.frame);
            if !matches!(tokio::time::timeout(WRITE_STALL, write).await, Ok(Ok(()))) {
                break 'session End {
                    code: 1006,
                    reason: "Going away".into(),
                    by_gateway: false,
                };
            }
        }
        if wrote
            && !matches!(
                tokio::time::timeout(WRITE_STALL, writer.flush()).await,
                Ok(Ok(()))
            )
        {
            break End {
                code: 1006,
                reason: "Going away".into(),
                by_gateway: false,
            };
        }
        let can_read = in_flight.available_permits() > 0;
        tokio::select! {
            biased;
            asked = &mut close_rx => match asked {
                Ok((code, reason)) => break End::gateway(code, reason),
                // The registry entry went away without asking: treat as a shutdown.
                Err(_) => break End::gateway(1001, "Going away"),
            },
            // A frame next: when one is ready the other branches are not polled at all. A
            // client that never stops sending cannot hold off the signals below: the socket's
            // cooperative budget makes `next` yield after a run of frames.
            incoming = reader.next(), if can_read => {
                match incoming {
                    Ok(Incoming::Text(text)) => {
                        conn.touch();
                        let Some(routed) = route_message(&dp, &conn, &stage, &text) else { continue };
                        if routed.runs_inline() {
                            if let Some(frame) = message_now(&dp, &conn, routed, &text) {
                                let wrote = tokio::time::timeout(WRITE_STALL, async {
                                    write_frame(&mut writer, &frame).await?;
                                    writer.flush().await
                                })
                                .await;
                                if !matches!(wrote, Ok(Ok(()))) {
                                    break End { code: 1006, reason: "Going away".into(), by_gateway: false };
                                }
                            }
                            continue;
                        }
                        let Ok(permit) = in_flight.clone().try_acquire_owned() else { continue };
                        let (dp, conn) = (dp.clone(), conn.clone());
                        tokio::spawn(async move {
                            if let Some(frame) = message(&dp, &conn, routed, text).await {
                                let _ = conn.send(frame, REPLY_WAIT).await;
                            }
                            drop(permit);
                        });
                    }
                    Ok(Incoming::Binary(_)) => break End::gateway(1003, "Unsupported data"),
                    Ok(Incoming::Ping(payload)) => {
                        conn.touch();
                        let _ = conn.try_send(Frame::Pong(payload));
                    }
                    Ok(Incoming::Pong(_)) => {
                        conn.touch();
                    }
                    Ok(Incoming::Close { code, reason }) => {
                        break match code {
                            Some(code) => End { code, reason, by_gateway: false },
                            None => End {
                                code: 1005,
                                reason: "Client-side close frame status not set".into(),
                                by_gateway: false,
                            },
                        };
                    }
                    Err(WsError::TooBig) => break End::gateway(1009, "Message too big"),
                    Err(e @ (WsError::Protocol(_) | WsError::InvalidUtf8)) => {
                        let code = e.close_code().unwrap_or(1002);
                        break End::gateway(code, if code == 1007 { "Invalid frame payload data" } else { "Protocol error" });
                    }
                    Err(WsError::Eof | WsError::Io(_)) => {
                        break End { code: 1006, reason: "Going away".into(), by_gateway: false };
                    }
                }
            }
            () = &mut idle => {
                // Activity only records its time (no timer work per frame); the timer checks
                // when it fires and waits out the rest if the client was active meanwhile.
                // (The connection's last activity, in epoch milliseconds: one clock read per
                // frame serves both this and `@connections`' `lastActiveAt`.)
                let quiet_ms = (now_ms() - conn.last_active_ms()).max(0) as u64;
                let quiet = Duration::from_millis(quiet_ms);
                if quiet >= config.idle_timeout {
                    break End::gateway(1001, "Going away");
                }
                idle.as_mut().reset(tokio::time::Instant::now() + (config.idle_timeout - quiet));
            }
            () = &mut max => break End::gateway(1001, "Going away"),
            () = &mut queued => queued.set(conn.queued.notified()),
            // Every integration slot is busy: wait for one before reading more.
            // (`acquire`, not `acquire_owned`: the expression is built on every turn.)
            permit = in_flight.acquire(), if !can_read => drop(permit),
        }
    };

    // Gone from the registry first: from now on `@connections` answers 410 and sends fail.
    dp.ws.remove(&conn.id);
    conn.shut();
    // The close frame: ours, or the echo of the client's (RFC 6455 §5.5.1).
    if end.code != 1006 {
        let (code, reason) = match (end.by_gateway, end.code) {
            (true, code) => (code, end.reason.clone()),
            (false, 1005) => (1000, String::new()),
            (false, code) => (code, String::new()),
        };
        let _ = tokio::time::timeout(CLOSE_WAIT, async {
            writer.close(code, &reason).await?;
            writer.flush().await
        })
        .await;
    }
    let _ = tokio::time::timeout(CLOSE_WAIT, writer.get_mut().shutdown()).await;
    drop((reader, writer));
    // Boxed: the integration's state would otherwise be part of every idle session's future.
    Box::pin(disconnect(&dp, &conn, &stage, end.code, &end.reason)).await;
}

async fn write_frame(
    writer: &mut WsWriter<tokio::net::tcp::OwnedWriteHalf>,
    frame: &Frame,
) -> std::io::Result<()> {
    match frame {
        Frame::Text(b) => writer.text(b).await,
        Frame::Binary(b) => writer.binary(b).await,
        Frame::Pong(b) => writer.pong(b).await,
    }
}

/// A message routed (§7.2): the stage it runs on (the current deployment), its JSON and its
/// route.
struct Routed {
    stage: Arc<StageEntry>,
    json: Option<serde_json::Value>,
    route: Option<Arc<WsRoute>>,
}

impl Routed {
    /// Work with no I/O (a MOCK integration, or the Forbidden frame) runs in the session
    /// itself: a task per message would cost more than the work.
    fn runs_inline(&self) -> bool {
        match &self.route {
            None => true,
            Some(r) => r
                .integration
                .as_deref()
                .is_some_and(|i| matches!(i.backend, Backend::Mock)),
        }
    }
}

fn route_message(
    dp: &DataPlane,
    conn: &Connection,
    captured: &Arc<StageEntry>,
    text: &[u8],
) -> Option<Routed> {
    // Messages follow the stage's current deployment; a deleted stage keeps serving its
    // connections with the deployment they connected to.
    let snap = dp.snapshot();
    let stage = snap
        .apis
        .get(&conn.api_id)
        .and_then(|a| {
            if conn.stage_name == apigw_model::stage::DEFAULT_STAGE {
                a.default_stage.clone()
            } else {
                a.stages.get(&conn.stage_name).cloned()
            }
        })
        .unwrap_or_else(|| captured.clone());
    let ws = stage.websocket.clone()?;
    let json: Option<serde_json::Value> = serde_json::from_slice(text).ok();
    // Non-JSON messages go to `$default` (§7.2).
    let key = match &json {
        // Only `request.body…` variables have a value here; a path outside the JSONPath
        // subset finds nothing.
        Some(body) => ws.route_selection.evaluate_with_body(Some(body), |_| None),
        None => "$default".to_string(),
    };
    let route = ws.route_for(&key).cloned();
    Some(Routed { stage, json, route })
}

/// A message on its way through its route: what answering it needs besides the integration.
struct Handling {
    started: std::time::Instant,
    stage: Arc<StageEntry>,
    json: Option<serde_json::Value>,
    route: Arc<WsRoute>,
    request_id: String,
}

/// The route's gate: `Err` carries the frame for a message that goes no further (no route,
/// throttled), already logged. `ctx` (the caller's, so the large context is not moved about)
/// is filled in when something reads it.
fn begin(
    dp: &DataPlane,
    conn: &Connection,
    routed: Routed,
    ctx: &mut RequestContext,
) -> Result<Handling, Frame> {
    let started = std::time::Instant::now();
    let Routed { stage, json, route } = routed;
    // `$context` (and its ids) only when something can read it: the access log, or the
    // route's integration. A MOCK route whose templates name no `$context` renders none.
    let reads_context = stage.access_log.is_some()
        || route
            .as_ref()
            .and_then(|r| r.integration.as_deref())
            .is_some_and(|i| i.reads_context);
    // The request id is drawn only when something will show it: `$context`, or an error frame.
    let request_id = if reads_context {
        super::new_id()
    } else {
        String::new()
    };
    if reads_context {
        *ctx = super::event_context(
            dp,
            conn,
            &stage,
            "MESSAGE",
            route.as_ref().map_or("", |r| r.route_key.as_str()),
            &request_id,
            Some(super::new_id()),
        );
    }
    let error = |frame: ErrorFrame| {
        Frame::Text(Bytes::from(frame.render(&conn.id, &shown_id(&request_id))))
    };
    let Some(route) = route else {
        ctx.record_error("Forbidden", "ACCESS_DENIED");
        ctx.record_response(403, 0, started.elapsed().as_millis() as u64);
        dp.log_ws(&stage, ctx);
        return Err(error(ErrorFrame::Forbidden));
    };
    if !stage
        .throttle
        .try_acquire(&route.route_key, std::time::Instant::now)
    {
        ctx.record_error("Too Many Requests", "THROTTLED");
        ctx.record_response(429, 0, started.elapsed().as_millis() as u64);
        dp.log_ws(&stage, ctx);
        return Err(error(ErrorFrame::TooManyRequests));
    }
    Ok(Handling {
        started,
        stage,
        json,
        route,
        request_id,
    })
}

/// The message's request id for an error frame: the one drawn for `$context`, or a new one.
fn shown_id(drawn: &str) -> std::borrow::Cow<'_, str> {
    if drawn.is_empty() {
        super::new_id().into()
    } else {
        drawn.into()
    }
}

/// The answer as the route says: a two-way route's reply, an error frame, or nothing.
fn end(
    dp: &DataPlane,
    conn: &Connection,
    h: Handling,
    ctx: &mut RequestContext,
    outcome: integrate::Outcome,
) -> Option<Frame> {
    let Handling {
        started,
        stage,
        route,
        request_id,
        ..
    } = h;
    let (status, reply) = match outcome {
        integrate::Outcome::Reply(reply) if route.two_way => {
            (reply.status, Some(Frame::data(reply.body)))
        }
        integrate::Outcome::Reply(reply) => (reply.status, None),
        integrate::Outcome::NoReply => (200, None),
        integrate::Outcome::Failed(f) => {
            let frame = f.frame();
            ctx.record_error(frame.message(), f.response_type());
            let text = frame.render(&conn.id, &shown_id(&request_id));
            (f.status(), Some(Frame::Text(Bytes::from(text))))
        }
    };
    // What is recorded from here on is read by the access log alone.
    if stage.access_log.is_some() {
        let sent = match &reply {
            Some(Frame::Text(b) | Frame::Binary(b)) => b.len(),
            _ => 0,
        };
        ctx.record_response(status, sent as u64, started.elapsed().as_millis() as u64);
        dp.log_ws(&stage, ctx);
    }
    reply
}

/// Runs a routed message's integration: the frame to send to the client, if any.
async fn message(dp: &DataPlane, conn: &Connection, routed: Routed, text: Bytes) -> Option<Frame> {
    let mut ctx = RequestContext::default();
    let h = match begin(dp, conn, routed, &mut ctx) {
        Ok(h) => h,
        Err(frame) => return Some(frame),
    };
    let event = integrate::Event::Message {
        body: &text,
        json: h.json.as_ref(),
    };
    let outcome = integrate::run(dp, conn, &h.stage, &h.route, event, &mut ctx).await;
    end(dp, conn, h, &mut ctx, outcome)
}

/// [`message`] for what [`Routed::runs_inline`] accepts: nothing to await, so no future.
fn message_now(dp: &DataPlane, conn: &Connection, routed: Routed, text: &Bytes) -> Option<Frame> {
    let mut ctx = RequestContext::default();
    let h = match begin(dp, conn, routed, &mut ctx) {
        Ok(h) => h,
        Err(frame) => return Some(frame),
    };
    let event = integrate::Event::Message {
        body: text,
        json: h.json.as_ref(),
    };
    let outcome = integrate::run_mock(&h.stage, &h.route, event, &mut ctx).unwrap_or_else(|| {
        integrate::Outcome::Failed(integrate::Failure::Error("not a MOCK integration".into()))
    });
    end(dp, conn, h, &mut ctx, outcome)
}

/// `$disconnect` (§7.3): best effort, its result discarded.
async fn disconnect(
    dp: &DataPlane,
    conn: &Connection,
    stage: &Arc<StageEntry>,
    code: u16,
    reason: &str,
) {
    let route = stage
        .websocket
        .as_ref()
        .and_then(|ws| ws.routes.get("$disconnect").cloned());
    if route.is_none() && stage.access_log.is_none() {
        return;
    }
    let started = std::time::Instant::now();
    let request_id = super::new_id();
    let mut ctx = super::event_context(
        dp,
        conn,
        stage,
        "DISCONNECT",
        "$disconnect",
        &request_id,
        None,
    );
    if let Some(w) = ctx.websocket.as_mut() {
        w.disconnect_status_code = Some(code);
        w.disconnect_reason = Some(reason.to_string());
    }
    let status = match route {
        Some(route) => {
            let event = integrate::Event::Disconnect;
            match integrate::run(dp, conn, stage, &route, event, &mut ctx).await {
                integrate::Outcome::Failed(f) => {
                    ctx.record_error(f.frame().message(), f.response_type());
                    f.status()
                }
                integrate::Outcome::Reply(r) => r.status,
                integrate::Outcome::NoReply => 200,
            }
        }
        None => 200,
    };
    ctx.record_response(status, 0, started.elapsed().as_millis() as u64);
    dp.log_ws(stage, &ctx);
}

//! The server side: one connection served start to end by the task that owns it. It reads a
//! request head, calls the service, writes the response, and repeats while the connection
//! persists.
//!
//! What RFC 9112 asks of a server, as done here:
//! - Request bodies framed by `Content-Length` or `Transfer-Encoding: chunked`. Any other
//!   coding gets 501; conflicting framing headers get 400. A body already in the read buffer
//!   goes to the service as one piece; a longer one streams from the socket.
//! - Responses framed by their body's known length, else a `Content-Length` the service set,
//!   else chunked, or close-delimited for an HTTP/1.0 client. `Date` is added when missing. HEAD,
//!   1xx, 204 and 304 answers carry no body.
//! - `Expect: 100-continue` is answered at once (RFC 9110 §10.1.1 allows it), before the
//!   service runs.
//! - Pipelined requests are answered in order.
//! - A request body the service left unread is drained before the close (a lingering
//!   close), so the client reads the response instead of a reset.
//! - A malformed request head gets 400, a head over the limit 431, and the connection closes.
//!   So does an HTTP/1.1 request without `Host`, or any request with two (RFC 9112 §3.2); an
//!   absolute-form target's authority replaces `Host` (§3.2.2). A chunked body whose framing
//!   breaks (trailers included) gets 400 whatever the service made of its read error.
//!   Refusals are the handler's ([`Handler::refuse`]), so each plane gives them its shape.
//! - Time bounds ([`Limits`]): a request head must arrive within `header_timeout`, a body keep
//!   a minimum rate, an idle keep-alive connection closes after `idle_timeout`, and a response
//!   write that makes no progress for `send_timeout` ends the connection. Nothing of this
//!   applies after an upgrade: the upgraded protocol keeps its own rules.
//!
//! Graceful stop: a connection idle between requests closes when `stop` turns true. One with
//! a request in flight finishes it, answers with `Connection: close`, and closes.
//!
//! Upgrades (RFC 9110 §7.8): a `101 Switching Protocols` answer carrying an [`OnUpgrade`] in
//! its extensions hands the connection over. Its head goes out as given, and the callback
//! then owns the socket, with the bytes already read past the request head and the stop
//! signal, as a task of its own (spawned on the connection's runtime: the HTTP connection's
//! state is freed meanwhile). The ordinary path pays one status comparison.

use std::future::{poll_fn, Future};
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::{Buf, Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, DATE, HOST, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri, Version};
use http_body::{Body as _, Frame, SizeHint};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

use crate::date;
use crate::framing::{
    declared_length, head_len, lists_token, BodyFraming, DeclaredLength, Decoded, FramingError,
    FramingHeaders,
};

/// Largest request head (request line and headers) read before answering 431: hyper's
/// default buffer limit. It is far above API Gateway's own 10 KB header quota, which the data
/// plane enforces with AWS's response.
const MAX_HEAD: usize = 408 * 1024;
/// Most request headers accepted (hyper's default); more get 431.
const MAX_HEADERS: usize = 100;
/// Read buffer growth for request heads; request bodies read in larger steps.
const READ_CHUNK: usize = 8 * 1024;
const BODY_READ_CHUNK: usize = 64 * 1024;
/// Response data gathered into one write (copied behind the head); larger pieces are written
/// from where they are.
const GATHER: usize = 16 * 1024;
/// How long a connection is drained of a request body nobody read before it closes, and how
/// long it waits for each read meanwhile.
const LINGER: Duration = Duration::from_secs(5);
const LINGER_READ: Duration = Duration::from_secs(1);

/// What answers a connection's requests. Its future may borrow the handler: a request needs
/// no reference-counted handle, and the future lives inside the connection's own (no
/// allocation per request).
pub trait Handler {
    fn handle(&self, req: Request<Body>) -> impl Future<Output = Response<Body>> + Send;

    /// The answer to a request the server refuses by itself (400 malformed, 408 too slow, 431
    /// too large, 501 unsupported coding); the connection closes after it. `req` is what is
    /// known of the request when its head parsed. The default is `{"message": <reason>}`.
    fn refuse(&self, status: StatusCode, req: Option<&Refused>) -> Response<Body> {
        let _ = req;
        json_refusal(status)
    }
}

impl<H: Handler> Handler for Arc<H> {
    fn handle(&self, req: Request<Body>) -> impl Future<Output = Response<Body>> + Send {
        (**self).handle(req)
    }

    fn refuse(&self, status: StatusCode, req: Option<&Refused>) -> Response<Body> {
        (**self).refuse(status, req)
    }
}

/// What a [`Handler::refuse`] knows of a refused request whose head parsed: enough to tell
/// which service it was for.
#[derive(Debug, Clone)]
pub struct Refused {
    pub uri: Uri,
    /// The (first) `Host` header.
    pub host: Option<HeaderValue>,
}

/// `{"message": "<reason phrase>"}` as `application/json`, with `status`.
pub fn json_refusal(status: StatusCode) -> Response<Body> {
    let body = format!(
        r#"{{"message":"{}"}}"#,
        status.canonical_reason().unwrap_or("Error")
    );
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// Time bounds on a client connection (docs/decisions.md, "Connection bounds").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// From a connection's accept, or from the first byte of a later request, to the end of
    /// the request head (slowloris); then 408 and close.
    pub header_timeout: Duration,
    /// A request body may pause at most this long between reads, and starts with this much
    /// credit; every `body_min_rate` bytes earn one more second. So a body that keeps below
    /// the rate on average, or stalls, ends (408 and close).
    pub body_timeout: Duration,
    /// Bytes per second a request body must average (see `body_timeout`).
    pub body_min_rate: u64,
    /// How long a keep-alive connection waits for its next request.
    pub idle_timeout: Duration,
    /// How long a response write may make no progress (a client that stops reading).
    pub send_timeout: Duration,
}

impl Default for Limits {
    /// nginx's `client_header_timeout`, `client_body_timeout`, `keepalive_timeout` and
    /// `send_timeout`; the rate is Apache mod_reqtimeout's `MinRate=500` doubled.
    fn default() -> Limits {
        Limits {
            header_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(60),
            body_min_rate: 1024,
            idle_timeout: Duration::from_secs(75),
            send_timeout: Duration::from_secs(60),
        }
    }
}

/// Serves HTTP/1.1 on `stream` until the client closes, an error makes the connection
/// unusable, or `stop` turns true; with the default [`Limits`].
pub async fn serve<H: Handler>(stream: TcpStream, handler: H, stop: watch::Receiver<bool>) {
    serve_with(stream, handler, stop, Limits::default(), ()).await
}

/// [`serve`] with these `limits`. `hold` is kept for as long as the connection lives, an
/// upgraded one included (a slot in the caller's count of open connections).
pub async fn serve_with<H: Handler>(
    stream: TcpStream,
    handler: H,
    mut stop: watch::Receiver<bool>,
    limits: Limits,
    hold: impl Send + 'static,
) {
    let (read, write) = stream.into_split();
    let mut write = TimedWrite {
        inner: write,
        timeout: limits.send_timeout,
        timer: None,
        armed: false,
    };
    let mut side = Some(ReadSide {
        read,
        buf: BytesMut::with_capacity(READ_CHUNK),
        framing: BodyFraming::Length(0),
        broken: false,
        refused: None,
        limits,
        timer: None,
        body_credit: limits.body_timeout,
        body_wait: None,
    });
    let mut out = Vec::with_capacity(512);
    let mut fresh = true;
    while let Some(mut reading) = side.take() {
        let head = match read_head(&mut reading, &mut stop, fresh).await {
            Ok(Some(head)) => head,
            Ok(None) => return,
            Err(refusal) => {
                let resp = handler.refuse(refusal.status, refusal.req.as_deref());
                let timed_out = refusal.status == StatusCode::REQUEST_TIMEOUT;
                if write_refusal(&mut write, &mut out, resp).await.is_ok() && !timed_out {
                    close_after_response(&mut write, Some(reading)).await;
                }
                return;
            }
        };
        fresh = false;
        let RequestHead {
            method,
            uri,
            version,
            headers,
            framing,
            keep_alive,
            expect_continue,
            original_names,
        } = head;
        let is_head = method == Method::HEAD;

        // The body: empty, already read, or lent to the request to stream from the socket.
        let mut lent = None;
        let mut refused = None;
        let body = match framing {
            BodyFraming::Length(0) => {
                side = Some(reading);
                Body::empty()
            }
            BodyFraming::Length(n) if reading.buf.len() as u64 >= n => {
                let bytes = reading.buf.split_to(n as usize).freeze();
                side = Some(reading);
                Body::from(bytes)
            }
            framing => {
                if expect_continue
                    && write
                        .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                        .await
                        .is_err()
                {
                    return;
                }
                reading.framing = framing;
                reading.body_credit = limits.body_timeout;
                reading.body_wait = None;
                // Kept in case the body turns out malformed or too slow: the refusal then
                // needs to know which service the request was for.
                refused = Some(Refused {
                    uri: uri.clone(),
                    host: headers.get(HOST).cloned(),
                });
                let home = Arc::new(Mutex::new(None));
                lent = Some(home.clone());
                Body::new(RequestBody {
                    side: Some(reading),
                    home,
                })
            }
        };
        let mut req = Request::new(body);
        *req.method_mut() = method;
        *req.uri_mut() = uri;
        *req.version_mut() = version;
        *req.headers_mut() = headers;
        if let Some(names) = original_names {
            req.extensions_mut().insert(names);
        }

        let mut resp = handler.handle(req).await;

        // A streamed body comes back once read to its end (or dropped unread).
        if let Some(home) = &lent {
            side = take_home(home);
        }
        // A body that broke its framing or stalled is the client's fault, whatever the service
        // answered to the read error (a proxy's 503, a size limit's 413).
        let refusal = side.as_ref().and_then(|s| s.refused);
        if let Some(status) = refusal {
            resp = handler.refuse(status, refused.as_ref());
            resp.headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
        let body_done = side
            .as_ref()
            .is_some_and(|s| s.framing.is_done() && !s.broken);
        let keep_alive = keep_alive && body_done && !*stop.borrow();
        let meta = ResponseMeta {
            is_head,
            version,
            body_done,
        };
        match write_response(&mut write, &mut out, resp, meta, keep_alive).await {
            Ok(Written::KeepAlive) => {}
            Ok(Written::Upgrade(callback)) => {
                // The 101 went out only with the request body read (`body_done`), so the
                // read side is home. Nothing of the HTTP exchange stays behind.
                drop(out);
                if let Some(side) = side {
                    // The read side's timer goes with it: no HTTP bound outlives the upgrade.
                    if let Ok(stream) = side.read.reunite(write.inner) {
                        // A task of its own, so this connection's HTTP state (this future)
                        // is freed for the upgraded connection's whole life: a long-lived
                        // WebSocket then holds only what its callback keeps.
                        let upgraded = callback(Upgraded {
                            stream,
                            read_buf: side.buf,
                            stop,
                        });
                        tokio::spawn(async move {
                            let _hold = hold;
                            upgraded.await
                        });
                    }
                }
                return;
            }
            Ok(Written::Close) => {
                if side.is_none() {
                    if let Some(home) = &lent {
                        side = take_home(home);
                    }
                }
                close_after_response(&mut write, side).await;
                return;
            }
            Err(e) => {
                tracing::debug!(error = %e, "response not written; connection closed");
                return;
            }
        }
    }
}

/// What an [`OnUpgrade`] callback gets after the `101` went out: the connection itself.
#[derive(Debug)]
pub struct Upgraded {
    /// The socket, both halves reunited.
    pub stream: TcpStream,
    /// Bytes already read past the request head: the client may have sent its first
    /// frames right behind the request, without waiting for the `101`.
    pub read_buf: BytesMut,
    /// The server's graceful-stop signal (`true`: stop). The server does not wait on an
    /// upgraded connection by itself; the callback decides how to wind it down.
    pub stop: watch::Receiver<bool>,
}

type UpgradeFn = Box<dyn FnOnce(Upgraded) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// Put in a `101 Switching Protocols` response's extensions by the handler: what takes the
/// connection over once the response head is written. (Extensions must be `Clone + Sync`,
/// hence the shared slot; the callback runs at most once.)
#[derive(Clone)]
pub struct OnUpgrade(Arc<Mutex<Option<UpgradeFn>>>);

impl OnUpgrade {
    pub fn new<F, Fut>(f: F) -> OnUpgrade
    where
        F: FnOnce(Upgraded) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let f: UpgradeFn = Box::new(move |up| Box::pin(f(up)));
        OnUpgrade(Arc::new(Mutex::new(Some(f))))
    }

    fn take(&self) -> Option<UpgradeFn> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl std::fmt::Debug for OnUpgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnUpgrade")
    }
}

/// The connection's read half and the bytes read from it but not yet used.
struct ReadSide {
    read: OwnedReadHalf,
    buf: BytesMut,
    /// What is left of the request body being read.
    framing: BodyFraming,
    /// The stream ended or failed inside a body: nothing more can be read from it.
    broken: bool,
    /// The body was malformed (400) or too slow (408): the answer the client gets.
    refused: Option<StatusCode>,
    limits: Limits,
    /// The one timer of the connection's reads, made on the first read that has to wait.
    timer: Option<Pin<Box<Sleep>>>,
    /// How long the request body being read may still wait for the client; its bytes earn
    /// more (up to `body_timeout`).
    body_credit: Duration,
    /// Since when a body read has been waiting for the client.
    body_wait: Option<Instant>,
}

impl ReadSide {
    /// [`Self::poll_fill`], failing with `TimedOut` once `deadline` passes without bytes; a
    /// `None` deadline becomes `wait` from now at the first wait. The clock and the timer are
    /// touched only when the read has to wait.
    fn poll_fill_by(
        &mut self,
        cx: &mut Context<'_>,
        chunk: usize,
        deadline: &mut Option<Instant>,
        wait: Duration,
    ) -> Poll<io::Result<usize>> {
        if let Poll::Ready(read) = self.poll_fill(cx, chunk) {
            return Poll::Ready(read);
        }
        let deadline = *deadline.get_or_insert_with(|| Instant::now() + wait);
        let timer = match &mut self.timer {
            Some(timer) => {
                if timer.deadline() != deadline {
                    timer.as_mut().reset(deadline);
                }
                timer
            }
            None => self
                .timer
                .insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::ErrorKind::TimedOut.into())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_fill(&mut self, cx: &mut Context<'_>, chunk: usize) -> Poll<io::Result<usize>> {
        if self.buf.capacity() - self.buf.len() < chunk / 4 {
            self.buf.reserve(chunk);
        }
        // `read_buf` reads into the spare capacity without zeroing it; its future holds no
        // state between polls, so a fresh one per poll is the same as keeping one.
        pin!(self.read.read_buf(&mut self.buf)).poll(cx)
    }

    async fn fill(&mut self, chunk: usize) -> io::Result<usize> {
        poll_fn(|cx| self.poll_fill(cx, chunk)).await
    }

    async fn fill_by(&mut self, chunk: usize, deadline: Instant) -> io::Result<usize> {
        let mut deadline = Some(deadline);
        poll_fn(|cx| self.poll_fill_by(cx, chunk, &mut deadline, Duration::ZERO)).await
    }
}

/// A parsed request head and what it says about the connection.
struct RequestHead {
    method: Method,
    uri: Uri,
    version: Version,
    headers: HeaderMap,
    framing: BodyFraming,
    keep_alive: bool,
    expect_continue: bool,
    /// Upgrade requests only (see [`OriginalHeaderNames`]).
    original_names: Option<OriginalHeaderNames>,
}

/// The header names of an upgrade request as the client spelled them. `HeaderMap` lowers
/// names; a WebSocket gateway hands them on as written (API Gateway's `$connect` event keeps
/// `Sec-WebSocket-Key`). Only upgrade requests pay for the copy.
#[derive(Debug, Clone, Default)]
pub struct OriginalHeaderNames(Vec<String>);

impl OriginalHeaderNames {
    /// How the client first spelled `name` (given in lower case).
    pub fn spelling(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|n| n.eq_ignore_ascii_case(name))
            .map(String::as_str)
    }
}

/// Why a request is refused before the service sees it, and what is known of it.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    /// Boxed: refusals are rare, and the parse result stays small.
    req: Option<Box<Refused>>,
}

impl From<StatusCode> for Refusal {
    fn from(status: StatusCode) -> Refusal {
        Refusal { status, req: None }
    }
}

/// Reads the next request head. `Ok(None)`: the connection is over (closed by the client,
/// `stop` or the idle timeout while idle). `Err`: what to answer before closing. `fresh`: the
/// connection's first request, whose head deadline runs from the accept.
async fn read_head(
    side: &mut ReadSide,
    stop: &mut watch::Receiver<bool>,
    fresh: bool,
) -> Result<Option<RequestHead>, Refusal> {
    let mut checked: usize = 0;
    // Set from the accept, or from the first byte of a later request.
    let mut deadline = fresh.then(|| Instant::now() + side.limits.header_timeout);
    loop {
        // Empty lines before a request line are ignored (RFC 9112 §2.2).
        let blank = side
            .buf
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        side.buf.advance(blank);
        checked = checked.saturating_sub(blank);
        // Blank lines are a head begun: they do not restart the idle wait.
        if blank > 0 && deadline.is_none() {
            deadline = Some(Instant::now() + side.limits.header_timeout);
        }
        // Parsed straight away (a whole head usually arrives in one read); after a partial
        // head, again only once the new bytes could have ended it, so a head trickling in
        // is not parsed from the start at every read.
        let may_end = side.buf.len() > checked
            && (checked == 0 || head_len(&side.buf[checked.saturating_sub(3)..]).is_some());
        if may_end {
            if let Some((len, head)) = parse_request(&side.buf)? {
                side.buf.advance(len);
                return Ok(Some(head));
            }
        }
        checked = side.buf.len();
        if side.buf.len() >= MAX_HEAD {
            return Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE.into());
        }
        if !side.buf.is_empty() && deadline.is_none() {
            deadline = Some(Instant::now() + side.limits.header_timeout);
        }
        let read = if side.buf.is_empty() {
            // Idle between requests (or nothing sent yet): the one place where `stop` ends
            // the connection.
            match read_or_stop(side, stop, deadline).await {
                Some(read) => read,
                None => return Ok(None),
            }
        } else {
            side.fill_by(READ_CHUNK, deadline.unwrap_or_else(Instant::now))
                .await
        };
        match read {
            // A head begun and not finished in time gets its 408; a connection that sent
            // nothing (or only blank lines) just closes.
            Err(e) if e.kind() == io::ErrorKind::TimedOut && !side.buf.is_empty() => {
                return Err(StatusCode::REQUEST_TIMEOUT.into())
            }
            Ok(0) | Err(_) => return Ok(None),
            Ok(_) => {}
        }
    }
}

/// Reads more by `deadline` (else within the idle timeout), unless `stop` turns true first
/// (`None`).
async fn read_or_stop(
    side: &mut ReadSide,
    stop: &mut watch::Receiver<bool>,
    mut deadline: Option<Instant>,
) -> Option<io::Result<usize>> {
    if *stop.borrow() {
        return None;
    }
    let idle = side.limits.idle_timeout;
    let mut stopped = pin!(stop.changed());
    poll_fn(|cx| {
        if let Poll::Ready(read) = side.poll_fill_by(cx, READ_CHUNK, &mut deadline, idle) {
            return Poll::Ready(Some(read));
        }
        // A dropped sender means no stop will come: keep waiting for the read.
        match stopped.as_mut().poll(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(None),
            _ => Poll::Pending,
        }
    })
    .await
}

/// The request head at the start of `buf` and its length, or `None` while it is incomplete.
/// Header values are copied out of `buf` (a few small allocations), which keeps the read
/// buffer unshared and so reused in place for the next request.
fn parse_request(buf: &[u8]) -> Result<Option<(usize, RequestHead)>, Refusal> {
    const BAD: StatusCode = StatusCode::BAD_REQUEST;
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, &mut slots) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE.into())
        }
        Err(_) => return Err(BAD.into()),
    };
    let method = Method::from_bytes(req.method.unwrap_or("").as_bytes()).map_err(|_| BAD)?;
    let target = req.path.unwrap_or("");
    let uri = Uri::try_from(target.as_bytes()).map_err(|_| BAD)?;
    // Origin-form (`/...`), absolute-form (`http://host/...`) or `*`; an authority-form
    // target is for CONNECT, which nothing here serves.
    if !(target.starts_with('/') || uri.scheme().is_some() || target == "*") {
        return Err(BAD.into());
    }
    let version = match req.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    // Room for the headers a proxy adds (forwarding, tracing): growing a map rehashes it.
    let mut headers = HeaderMap::with_capacity(req.headers.len() + 6);
    let mut noted = FramingHeaders::default();
    let mut hosts = 0u32;
    for h in req.headers.iter() {
        let name = crate::names::header_name(h.name.as_bytes()).map_err(|_| BAD)?;
        let value = HeaderValue::from_bytes(h.value).map_err(|_| BAD)?;
        noted.note(&name, &value);
        hosts += u32::from(name == HOST);
        headers.append(name, value);
    }
    // From here on the head parsed: a refusal can say which service it was for.
    let refuse = |status: StatusCode, uri: &Uri, headers: &HeaderMap| Refusal {
        status,
        req: Some(Box::new(Refused {
            uri: uri.clone(),
            host: headers.get(HOST).cloned(),
        })),
    };
    // RFC 9112 §3.2: exactly one Host in HTTP/1.1, at most one before.
    if hosts > 1 || (hosts == 0 && version == Version::HTTP_11) {
        return Err(refuse(BAD, &uri, &headers));
    }
    // §3.2.2: an absolute-form target's authority is the host, whatever `Host` says.
    if let Some(authority) = uri.authority() {
        let host = match authority.port() {
            Some(port) => HeaderValue::from_str(&format!("{}:{port}", authority.host())),
            None => HeaderValue::from_str(authority.host()),
        };
        match host {
            Ok(host) => {
                headers.insert(HOST, host);
            }
            Err(_) => return Err(refuse(BAD, &uri, &headers)),
        }
    }
    let declared = match noted.declared() {
        Ok(declared) => declared,
        Err(_) => return Err(refuse(BAD, &uri, &headers)),
    };
    let framing = match declared {
        DeclaredLength::None => BodyFraming::Length(0),
        DeclaredLength::Length(n) => BodyFraming::Length(n),
        // Both framings at once is how requests are smuggled past proxies (RFC 9112 §6.3).
        DeclaredLength::Chunked | DeclaredLength::OtherCoding
            if version == Version::HTTP_10 || noted.has_length() =>
        {
            return Err(refuse(BAD, &uri, &headers))
        }
        DeclaredLength::Chunked => {
            // `gzip, chunked` would reach the service still gzipped with nothing saying so.
            if !noted.only_chunked() {
                return Err(refuse(StatusCode::NOT_IMPLEMENTED, &uri, &headers));
            }
            BodyFraming::CHUNKED
        }
        DeclaredLength::OtherCoding => return Err(refuse(BAD, &uri, &headers)),
    };
    let keep_alive = noted.keeps_alive(version);
    let expect_continue = version == Version::HTTP_11 && noted.expects_continue();
    let original_names = noted
        .has_upgrade()
        .then(|| OriginalHeaderNames(req.headers.iter().map(|h| h.name.to_string()).collect()));
    Ok(Some((
        len,
        RequestHead {
            method,
            uri,
            version,
            headers,
            framing,
            keep_alive,
            expect_continue,
            original_names,
        },
    )))
}

type Home = Arc<Mutex<Option<ReadSide>>>;

fn take_home(home: &Home) -> Option<ReadSide> {
    home.lock().unwrap_or_else(|e| e.into_inner()).take()
}

/// Why a streamed request body stopped short.
#[derive(Debug, thiserror::Error)]
pub enum RequestBodyError {
    #[error("the client closed the connection inside the request body")]
    Incomplete,
    #[error("reading the request body failed")]
    Read(#[source] io::Error),
    #[error("the request body is not valid HTTP/1.1 framing")]
    Framing(#[from] FramingError),
    #[error("the request body arrived too slowly")]
    TimedOut,
}

/// A request body read from the socket as the service takes it. Once read to its end, or
/// dropped, the connection's read side goes back home for the next request.
struct RequestBody {
    side: Option<ReadSide>,
    home: Home,
}

impl RequestBody {
    fn give_back(&mut self) {
        if let Some(side) = self.side.take() {
            *self.home.lock().unwrap_or_else(|e| e.into_inner()) = Some(side);
        }
    }

    fn fail(
        &mut self,
        error: RequestBodyError,
    ) -> Poll<Option<Result<Frame<Bytes>, RequestBodyError>>> {
        if let Some(side) = self.side.as_mut() {
            side.broken = true;
            side.refused = match error {
                RequestBodyError::Framing(_) => Some(StatusCode::BAD_REQUEST),
                RequestBodyError::TimedOut => Some(StatusCode::REQUEST_TIMEOUT),
                _ => None,
            };
        }
        self.give_back();
        Poll::Ready(Some(Err(error)))
    }
}

impl Drop for RequestBody {
    fn drop(&mut self) {
        self.give_back();
    }
}

impl http_body::Body for RequestBody {
    type Data = Bytes;
    type Error = RequestBodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, RequestBodyError>>> {
        let this = &mut *self;
        loop {
            let Some(side) = this.side.as_mut() else {
                return Poll::Ready(None);
            };
            match side.framing.decode(&mut side.buf) {
                Ok(Decoded::Data(data)) => {
                    if side.framing.is_done() {
                        this.give_back();
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Ok(Decoded::End) => {
                    this.give_back();
                    return Poll::Ready(None);
                }
                Ok(Decoded::NeedMore) => {}
                Err(e) => return this.fail(e.into()),
            }
            // Only time spent waiting for the client uses up the body's credit: a service
            // that reads slowly (a backend pushing back) is not the client's fault.
            let credit = side.body_credit;
            let mut at = side.body_wait.map(|since| since + credit);
            let polled = side.poll_fill_by(cx, BODY_READ_CHUNK, &mut at, credit);
            if polled.is_pending() {
                if side.body_wait.is_none() {
                    side.body_wait = at.map(|deadline| deadline - credit);
                }
                return Poll::Pending;
            }
            let waited = side
                .body_wait
                .take()
                .map_or(Duration::ZERO, |since| since.elapsed());
            match ready!(polled) {
                Ok(0) => return this.fail(RequestBodyError::Incomplete),
                Ok(n) => {
                    // Each byte earns 1/min_rate s more, up to a full `body_timeout`.
                    let limits = side.limits;
                    let earned =
                        Duration::from_secs_f64(n as f64 / limits.body_min_rate.max(1) as f64);
                    side.body_credit =
                        (credit.saturating_sub(waited) + earned).min(limits.body_timeout);
                }
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    return this.fail(RequestBodyError::TimedOut)
                }
                Err(e) => return this.fail(RequestBodyError::Read(e)),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.side.as_ref().is_none_or(|s| s.framing.is_done())
    }

    fn size_hint(&self) -> SizeHint {
        match &self.side {
            Some(s) => s.framing.size_hint(),
            None => SizeHint::with_exact(0),
        }
    }
}

/// What the response's framing depends on in its request.
#[derive(Clone, Copy)]
struct ResponseMeta {
    is_head: bool,
    version: Version,
    /// The request body was read to its end: nothing of it is left on the connection.
    body_done: bool,
}

/// What became of a response.
enum Written {
    /// The connection can serve another request.
    KeepAlive,
    /// The connection closes.
    Close,
    /// A `101` went out: the connection goes to this.
    Upgrade(UpgradeFn),
}

/// How a response body goes on the wire.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outgoing {
    /// No body (HEAD, 1xx, 204, 304).
    None,
    Length(u64),
    Chunked,
    /// Until the connection closes (an HTTP/1.0 client and a body of unknown length).
    Close,
}

/// Writes `resp`, and says what becomes of the connection.
async fn write_response(
    write: &mut TimedWrite,
    out: &mut Vec<u8>,
    resp: Response<Body>,
    req: ResponseMeta,
    mut keep_alive: bool,
) -> io::Result<Written> {
    let (mut parts, mut body) = resp.into_parts();
    let status = parts.status;
    if status == StatusCode::SWITCHING_PROTOCOLS {
        // Without a taker (a handler bug), or with request body bytes still on the way (they
        // would reach the new protocol as its own), no 101 goes out and the connection
        // closes: the client never speaks the new protocol to a server that does not.
        let Some(callback) = parts
            .extensions
            .remove::<OnUpgrade>()
            .and_then(|u| u.take())
        else {
            tracing::warn!(
                "a 101 response without OnUpgrade (or one already used); connection closed"
            );
            return Ok(Written::Close);
        };
        if !req.body_done {
            tracing::debug!("a 101 response with the request body unread; connection closed");
            return Ok(Written::Close);
        }
        switching_head(out, &parts.headers);
        flush(write, out).await?;
        return Ok(Written::Upgrade(callback));
    }
    let headers = &parts.headers;
    if headers
        .get_all(CONNECTION)
        .iter()
        .any(|v| lists_token(v, "close"))
    {
        keep_alive = false;
    }
    let bodiless = req.is_head
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let exact = http_body::Body::size_hint(&body).exact();
    let framing = if bodiless {
        Outgoing::None
    } else if let Some(n) = exact {
        Outgoing::Length(n)
    } else if let Ok(DeclaredLength::Length(n)) = declared_length(headers) {
        Outgoing::Length(n)
    } else if req.version == Version::HTTP_11 {
        Outgoing::Chunked
    } else {
        keep_alive = false;
        Outgoing::Close
    };

    out.clear();
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    // A bodiless HEAD or 304 answer keeps the length the service gave it: the length the
    // full answer would have.
    let keep_length = req.is_head || status == StatusCode::NOT_MODIFIED;
    let mut has_date = false;
    let mut has_length = false;
    for (name, value) in headers {
        if name == TRANSFER_ENCODING || name == CONNECTION {
            continue;
        }
        if name == CONTENT_LENGTH {
            if !keep_length {
                continue;
            }
            has_length = true;
        }
        has_date |= name == DATE;
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !has_date {
        out.extend_from_slice(b"date: ");
        date::append_now(out);
        out.extend_from_slice(b"\r\n");
    }
    match framing {
        Outgoing::Length(n) => {
            out.extend_from_slice(b"content-length: ");
            append_decimal(out, n);
            out.extend_from_slice(b"\r\n");
        }
        Outgoing::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        // A HEAD answer tells the length its GET would have, when the body knows it.
        Outgoing::None if req.is_head && !has_length => {
            if let Some(n) = exact.filter(|n| *n > 0) {
                out.extend_from_slice(b"content-length: ");
                append_decimal(out, n);
                out.extend_from_slice(b"\r\n");
            }
        }
        Outgoing::None | Outgoing::Close => {}
    }
    if !keep_alive {
        out.extend_from_slice(b"connection: close\r\n");
    } else if req.version == Version::HTTP_10 {
        out.extend_from_slice(b"connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");

    match framing {
        Outgoing::None | Outgoing::Length(0) => flush(write, out).await?,
        framing => write_body(write, out, &mut body, framing).await?,
    }
    Ok(if keep_alive {
        Written::KeepAlive
    } else {
        Written::Close
    })
}

/// A `101` head: the status line and the headers as given, but for framing headers, which a
/// 1xx answer must not carry (RFC 9110 §8.6, RFC 9112 §6.1). No `Date` (nor anything else)
/// is added.
fn switching_head(out: &mut Vec<u8>, headers: &HeaderMap) {
    out.clear();
    out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
    for (name, value) in headers {
        if name == CONTENT_LENGTH || name == TRANSFER_ENCODING {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Writes the body after the head already in `out`, gathering the pieces that are ready into
/// as few writes as possible (one, for the common small answer).
async fn write_body(
    write: &mut TimedWrite,
    out: &mut Vec<u8>,
    body: &mut Body,
    framing: Outgoing,
) -> io::Result<()> {
    let chunked = framing == Outgoing::Chunked;
    let mut left = match framing {
        Outgoing::Length(n) => Some(n),
        _ => None,
    };
    loop {
        let polled = poll_fn(|cx| Poll::Ready(Pin::new(&mut *body).poll_frame(cx))).await;
        let frame = match polled {
            Poll::Ready(frame) => frame,
            Poll::Pending => {
                // Nothing more yet: send what is gathered (the head, at first), then wait.
                flush(write, out).await?;
                poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await
            }
        };
        let data = match frame {
            None => break,
            Some(Err(e)) => {
                // What was gathered goes out, so the client sees a short body and a close
                // rather than nothing at all.
                let _ = flush(write, out).await;
                return Err(io::Error::other(e));
            }
            // Trailers are not sent (nobody asked for them with `TE: trailers`).
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) if !data.is_empty() => data,
                _ => continue,
            },
        };
        if let Some(left) = left.as_mut() {
            *left = left
                .checked_sub(data.len() as u64)
                .ok_or_else(|| io::Error::other("response body longer than its length"))?;
        }
        if chunked {
            append_hex(out, data.len());
            out.extend_from_slice(b"\r\n");
        }
        if out.len() + data.len() <= GATHER {
            out.extend_from_slice(&data);
        } else {
            write_two(write, out, &data).await?;
            out.clear();
        }
        if chunked {
            out.extend_from_slice(b"\r\n");
        }
    }
    if chunked {
        out.extend_from_slice(b"0\r\n\r\n");
    }
    flush(write, out).await?;
    if left.is_some_and(|l| l > 0) {
        // The client is waiting for bytes that will not come: only a close tells it.
        return Err(io::Error::other("response body shorter than its length"));
    }
    Ok(())
}

async fn flush(write: &mut TimedWrite, out: &mut Vec<u8>) -> io::Result<()> {
    if !out.is_empty() {
        write.write_all(out).await?;
        out.clear();
    }
    Ok(())
}

/// Writes `a` then `b` with as few system calls as the socket allows.
async fn write_two(write: &mut TimedWrite, a: &[u8], b: &[u8]) -> io::Result<()> {
    let mut slices = [IoSlice::new(a), IoSlice::new(b)];
    let mut slices = &mut slices[..];
    IoSlice::advance_slices(&mut slices, 0);
    while !slices.is_empty() {
        let n = write.write_vectored(slices).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut slices, n);
    }
    Ok(())
}

/// Writes a refusal (the handler's answer to a request the server refuses), closing after it.
async fn write_refusal(
    write: &mut TimedWrite,
    out: &mut Vec<u8>,
    resp: Response<Body>,
) -> io::Result<()> {
    let meta = ResponseMeta {
        is_head: false,
        version: Version::HTTP_11,
        body_done: false,
    };
    write_response(write, out, resp, meta, false)
        .await
        .map(|_| ())
}

/// The connection's write half, failing a write that makes no progress for `timeout` (a
/// client that stopped reading). The timer is made on the first write that has to wait.
struct TimedWrite {
    inner: OwnedWriteHalf,
    timeout: Duration,
    timer: Option<Pin<Box<Sleep>>>,
    /// The timer runs for the write now waiting.
    armed: bool,
}

impl TimedWrite {
    fn wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        if !self.armed {
            let deadline = Instant::now() + self.timeout;
            match &mut self.timer {
                Some(timer) => timer.as_mut().reset(deadline),
                None => self.timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
            self.armed = true;
        }
        match self.timer.as_mut().map(|t| t.as_mut().poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(io::ErrorKind::TimedOut.into()),
            _ => Poll::Pending,
        }
    }

    fn progress<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match polled {
            Poll::Ready(r) => {
                self.armed = false;
                Poll::Ready(r)
            }
            Poll::Pending => self.wait(cx).map(Err),
        }
    }
}

impl AsyncWrite for TimedWrite {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.progress(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.progress(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Ends the connection after a response. When the client may still be sending (a request
/// body nobody read, or a request refused before its body), closing at once would make the
/// kernel answer its data with a reset, which can destroy the response before the client
/// reads it: so the write side is shut first and what arrives is read and dropped, for a
/// while (nginx's lingering close).
async fn close_after_response(write: &mut TimedWrite, side: Option<ReadSide>) {
    let Some(mut side) = side else {
        return;
    };
    if side.broken {
        return;
    }
    let _ = write.shutdown().await;
    let deadline = tokio::time::Instant::now() + LINGER;
    loop {
        side.buf.clear();
        let until = deadline.min(tokio::time::Instant::now() + LINGER_READ);
        match tokio::time::timeout_at(until, side.fill(BODY_READ_CHUNK)).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => return,
        }
    }
}

fn append_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

fn append_hex(out: &mut Vec<u8>, n: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    let mut n = n as u64;
    loop {
        i -= 1;
        digits[i] = HEX[(n & 15) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests;

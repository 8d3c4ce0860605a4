//! The client side: HTTP/1.1 on one backend connection, driven from the request's own task:
//! the request head and body written out, the response head parsed with httparse, the
//! response body read by its framing (`Content-Length`, chunked, or up to the close). Which
//! connection to use, and where it goes when idle, is the caller's [`ConnectionPool`]
//! ([`IdlePool`] is a simple one); [`connect`] opens a new one, plain or TLS.
//!
//! Why not hyper's client connection: it runs a task per connection and passes each request
//! and response across channels, about a third of the instructions a proxied request cost
//! (bench/proxy-instructions.sh). A proxy hop needs much less: one exchange at a time per
//! connection, no upgrades, no pipelining.

use std::collections::VecDeque;
use std::future::{poll_fn, Future as _};
use std::io;
use std::mem::MaybeUninit;
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use bytes::{Buf, Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Version};
use http_body::{Body as _, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

use crate::framing::{
    head_len, BodyFraming, DeclaredLength, Decoded, FramingError, FramingHeaders,
};

/// Largest response head accepted (status line and headers).
const MAX_HEAD: usize = 128 * 1024;
/// Most response headers accepted (hyper's default is 100).
const MAX_HEADERS: usize = 128;
/// Read buffer growth: enough for a typical small response in one read, and large reads for
/// large bodies.
const READ_CHUNK: usize = 16 * 1024;
/// Longest pause between two reads of a response body (nginx's `proxy_read_timeout`): the
/// caller's own timeout ends at the response head, and a backend that stalls inside its body
/// must not hold the client's connection and this one for ever.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Why an exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("cannot write the request to the backend")]
    Write(#[source] io::Error),
    #[error("the request body failed")]
    RequestBody(#[source] axum::Error),
    #[error("the request body is not the length its Content-Length says")]
    RequestBodyLength,
    #[error("the backend closed the connection without answering")]
    NoResponse(#[source] io::Error),
    #[error("cannot read the backend's response")]
    Read(#[source] io::Error),
    #[error("the backend's response is not valid HTTP/1.1: {0}")]
    Malformed(&'static str),
    #[error("the backend's response body is not valid HTTP/1.1")]
    Framing(#[from] FramingError),
}

/// Where a connection goes once its exchange is complete and it can serve another.
pub trait ConnectionPool: Send + Sync + 'static {
    fn put(&self, conn: Connection);
}

/// Idle keep-alive connections to one origin, newest last: the pool of a client that has no
/// better one. Taken connections are checked for age and for a close by the peer.
pub struct IdlePool {
    // A Mutex, not a RefCell: a response body can finish on another thread of a work-stealing
    // runtime and bring its connection back from there.
    idle: Mutex<VecDeque<Connection>>,
    /// An idle connection older than this is closed rather than reused.
    idle_timeout: Duration,
    /// Idle connections kept; the oldest is closed when another comes back.
    max_idle: usize,
}

impl IdlePool {
    pub fn new(idle_timeout: Duration, max_idle: usize) -> IdlePool {
        IdlePool {
            idle: Mutex::new(VecDeque::new()),
            idle_timeout,
            max_idle,
        }
    }

    /// The newest idle connection still open and young enough, if any.
    pub fn take(&self) -> Option<Connection> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(mut c) = idle.pop_back() {
            if c.since.elapsed() > self.idle_timeout {
                // Everything below the newest is older still.
                idle.clear();
                return None;
            }
            if c.is_open() {
                return Some(c);
            }
        }
        None
    }
}

impl ConnectionPool for IdlePool {
    fn put(&self, conn: Connection) {
        if self.max_idle == 0 {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() >= self.max_idle {
            idle.pop_front();
        }
        idle.push_back(conn);
    }
}

/// Which step of opening a connection failed (in hyper-util's words).
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("tcp connect error")]
    Tcp(#[source] io::Error),
    #[error("tls handshake error")]
    Tls(#[source] io::Error),
}

/// Opens a connection to `host` (a name, an IPv4 address, or an IPv6 one with or without
/// brackets) and `port`: TCP to the first address that answers, in getaddrinfo order, without
/// Nagle's delay; then TLS when `tls` names the connector and the server name to verify.
pub async fn connect(
    host: &str,
    port: u16,
    tls: Option<(&TlsConnector, ServerName<'static>)>,
) -> Result<Connection, ConnectError> {
    let host = host.trim_matches(['[', ']']);
    let mut last = None;
    let mut tcp = None;
    for addr in tokio::net::lookup_host((host, port))
        .await
        .map_err(ConnectError::Tcp)?
    {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let tcp = tcp.ok_or_else(|| {
        ConnectError::Tcp(last.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{host} resolves to no address"),
            )
        }))
    })?;
    // No Nagle delay: a request's head and body may leave in separate writes.
    let _ = tcp.set_nodelay(true);
    match tls {
        None => Ok(Connection::new(Stream::Plain(tcp))),
        Some((connector, name)) => {
            let stream = connector
                .connect(name, tcp)
                .await
                .map_err(ConnectError::Tls)?;
            Ok(Connection::new(Stream::Tls(Box::new(stream))))
        }
    }
}

/// A backend connection: TCP, or TLS over TCP.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A keep-alive connection and the bytes read from it but not yet used.
pub struct Connection {
    stream: Stream,
    buf: BytesMut,
    /// When it last went idle (for the pool's idle timeout).
    pub since: Instant,
}

impl Connection {
    pub fn new(stream: Stream) -> Connection {
        Connection {
            stream,
            buf: BytesMut::with_capacity(READ_CHUNK),
            since: Instant::now(),
        }
    }

    /// False when the idle connection was closed by the backend (or it sent something
    /// unasked, which leaves the connection out of step): checked before reuse, without
    /// waiting.
    pub fn is_open(&mut self) -> bool {
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        match &mut self.stream {
            Stream::Plain(tcp) => match tcp.poll_read_ready(&mut cx) {
                Poll::Pending => true,
                Poll::Ready(Err(_)) => false,
                // Readiness can outlive the data that caused it: a read tells.
                Poll::Ready(Ok(())) => {
                    let mut probe = [0u8; 1];
                    matches!(tcp.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
                }
            },
            // Anything readable on an idle TLS connection is a close_notify, an alert or a
            // late session ticket; a new connection is the simple answer to all three.
            Stream::Tls(tls) => tls.get_ref().0.poll_read_ready(&mut cx).is_pending(),
        }
    }

    /// Reads more bytes into the buffer; `Ok(0)` at the end of the stream.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.buf.capacity() - self.buf.len() < READ_CHUNK / 4 {
            self.buf.reserve(READ_CHUNK);
        }
        // `read_buf` reads into the spare capacity without zeroing it; its future holds no
        // state between polls, so a fresh one per poll is the same as keeping one.
        pin!(self.stream.read_buf(&mut self.buf)).poll(cx)
    }

    async fn fill(&mut self) -> io::Result<usize> {
        poll_fn(|cx| self.poll_fill(cx)).await
    }
}

/// How the request body is framed on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RequestFraming {
    Empty,
    Length(u64),
    Chunked,
}

/// An encoded request head and how its body follows; encoded once, so a retry on another
/// connection sends the same bytes.
pub struct RequestHead {
    bytes: Vec<u8>,
    framing: RequestFraming,
    /// A HEAD request's response has no body whatever its headers say.
    is_head: bool,
    /// Safe to send again after a stale connection swallowed it (RFC 9110 §9.2.2).
    idempotent: bool,
}

impl RequestHead {
    /// Encodes `req`'s head (origin-form target, `Host` among its headers) with framing
    /// headers for `body`: its exact length when known, chunked otherwise.
    pub fn encode(req: &Request<Body>) -> RequestHead {
        let method = req.method();
        let body = req.body();
        let framing = if body.is_end_stream() {
            RequestFraming::Empty
        } else {
            match body.size_hint().exact() {
                Some(n) => RequestFraming::Length(n),
                None => RequestFraming::Chunked,
            }
        };
        let target = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let mut bytes = Vec::with_capacity(128 + req.headers().len() * 48);
        bytes.extend_from_slice(method.as_str().as_bytes());
        bytes.push(b' ');
        bytes.extend_from_slice(target.as_bytes());
        bytes.extend_from_slice(b" HTTP/1.1\r\n");
        let mut has_length = false;
        for (name, value) in req.headers() {
            if name == CONTENT_LENGTH {
                // Framing is ours to state; an empty body keeps the client's own header.
                if framing != RequestFraming::Empty || has_length {
                    continue;
                }
                has_length = true;
            } else if name == TRANSFER_ENCODING {
                continue;
            }
            bytes.extend_from_slice(name.as_str().as_bytes());
            bytes.extend_from_slice(b": ");
            bytes.extend_from_slice(value.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        match framing {
            RequestFraming::Length(n) => {
                bytes.extend_from_slice(b"content-length: ");
                bytes.extend_from_slice(n.to_string().as_bytes());
                bytes.extend_from_slice(b"\r\n");
            }
            RequestFraming::Chunked => bytes.extend_from_slice(b"transfer-encoding: chunked\r\n"),
            // Servers may answer 411 to a POST without a length (RFC 9112 §6.3).
            RequestFraming::Empty
                if !has_length && matches!(*method, Method::POST | Method::PUT | Method::PATCH) =>
            {
                bytes.extend_from_slice(b"content-length: 0\r\n");
            }
            RequestFraming::Empty => {}
        }
        bytes.extend_from_slice(b"\r\n");
        RequestHead {
            bytes,
            framing,
            is_head: *method == Method::HEAD,
            idempotent: matches!(
                *method,
                Method::GET
                    | Method::HEAD
                    | Method::OPTIONS
                    | Method::TRACE
                    | Method::PUT
                    | Method::DELETE
            ),
        }
    }

    /// True when a failure of this exchange on a reused connection may be retried on a new
    /// one: nothing of the body was consumed and the backend cannot have acted on it, or the
    /// method is idempotent.
    pub fn retryable(&self, error: &ExchangeError) -> bool {
        self.framing == RequestFraming::Empty
            && match error {
                ExchangeError::Write(_) => true,
                ExchangeError::NoResponse(_) => self.idempotent,
                _ => false,
            }
    }
}

/// One request/response exchange on `conn`. On success the response body owns the
/// connection and gives it back to `pool` once read to the end (when the backend keeps it
/// alive). On failure the connection is dropped (closed).
pub async fn exchange<P: ConnectionPool>(
    mut conn: Connection,
    head: &RequestHead,
    body: &mut Body,
    pool: &Arc<P>,
) -> Result<Response<Body>, ExchangeError> {
    write_request(&mut conn, head, body).await?;
    // Bytes known not to hold a whole head (see the server's `read_head`).
    let mut checked: usize = 0;
    let response = loop {
        let may_end = conn.buf.len() > checked
            && (checked == 0 || head_len(&conn.buf[checked.saturating_sub(3)..]).is_some());
        if may_end {
            if let Some((len, parsed)) = parse_response_head(&conn.buf)? {
                conn.buf.advance(len);
                checked = 0;
                // Interim answers (100 Continue, 103 Early Hints) precede the real one.
                if parsed.status.is_informational() {
                    if parsed.status == StatusCode::SWITCHING_PROTOCOLS {
                        return Err(ExchangeError::Malformed("101 to a request without Upgrade"));
                    }
                    continue;
                }
                break parsed;
            }
        }
        checked = conn.buf.len();
        if conn.buf.len() >= MAX_HEAD {
            return Err(ExchangeError::Malformed("response head too large"));
        }
        let nothing_yet = conn.buf.is_empty();
        match conn.fill().await {
            Ok(0) if nothing_yet => {
                return Err(ExchangeError::NoResponse(
                    io::ErrorKind::UnexpectedEof.into(),
                ))
            }
            Ok(0) => {
                return Err(ExchangeError::Malformed(
                    "connection closed in the response head",
                ))
            }
            Ok(_) => {}
            Err(e) if nothing_yet => return Err(ExchangeError::NoResponse(e)),
            Err(e) => return Err(ExchangeError::Read(e)),
        }
    };
    let ParsedHead {
        status,
        version,
        headers,
        framing: noted,
    } = response;
    let keep_alive = noted.keeps_alive(version);
    let framing =
        if head.is_head || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
            BodyFraming::Length(0)
        } else {
            match noted.declared().map_err(ExchangeError::Malformed)? {
                DeclaredLength::Length(n) => BodyFraming::Length(n),
                DeclaredLength::Chunked => BodyFraming::CHUNKED,
                // RFC 9112 §6.3: another coding, or no length at all, runs to the close.
                DeclaredLength::OtherCoding | DeclaredLength::None => BodyFraming::Close,
            }
        };
    let mut out = Response::new(Body::empty());
    *out.status_mut() = status;
    *out.version_mut() = version;
    *out.headers_mut() = headers;
    match framing {
        // The whole body is already here (the common small response): no body to poll
        // later, and the connection is free at once.
        BodyFraming::Length(n) if (conn.buf.len() as u64) >= n => {
            let n = n as usize;
            if n > 0 {
                *out.body_mut() = Body::from(conn.buf.split_to(n).freeze());
            }
            if keep_alive {
                release(conn, &**pool);
            }
        }
        framing => {
            *out.body_mut() = Body::new(ResponseBody {
                connection: Some(conn),
                framing,
                keep_alive,
                pool: pool.clone(),
                stall: None,
            });
        }
    }
    Ok(out)
}

/// Puts a connection whose exchange is complete back in the pool, unless the backend sent
/// more than its response.
fn release<P: ConnectionPool>(mut conn: Connection, pool: &P) {
    if conn.buf.is_empty() {
        conn.since = Instant::now();
        pool.put(conn);
    }
}

async fn write_request(
    conn: &mut Connection,
    head: &RequestHead,
    body: &mut Body,
) -> Result<(), ExchangeError> {
    let stream = &mut conn.stream;
    match head.framing {
        RequestFraming::Empty => stream
            .write_all(&head.bytes)
            .await
            .map_err(ExchangeError::Write)?,
        RequestFraming::Length(expected) => {
            let mut sent = 0u64;
            let mut pending_head = Some(&head.bytes[..]);
            while let Some(data) = next_data(body).await? {
                sent += data.len() as u64;
                if sent > expected {
                    return Err(ExchangeError::RequestBodyLength);
                }
                // The head goes out with the first data: one write for a small request.
                match pending_head.take() {
                    Some(h) => write_buf(stream, Buf::chain(h, data)).await?,
                    None => write_buf(stream, data).await?,
                }
            }
            if let Some(h) = pending_head {
                stream.write_all(h).await.map_err(ExchangeError::Write)?;
            }
            if sent != expected {
                return Err(ExchangeError::RequestBodyLength);
            }
        }
        RequestFraming::Chunked => {
            let mut pending_head = Some(&head.bytes[..]);
            while let Some(data) = next_data(body).await? {
                let size = format!("{:x}\r\n", data.len());
                let chunk = Buf::chain(Buf::chain(size.as_bytes(), data), &b"\r\n"[..]);
                match pending_head.take() {
                    Some(h) => write_buf(stream, Buf::chain(h, chunk)).await?,
                    None => write_buf(stream, chunk).await?,
                }
            }
            let last = &b"0\r\n\r\n"[..];
            match pending_head {
                Some(h) => write_buf(stream, Buf::chain(h, last)).await?,
                None => write_buf(stream, last).await?,
            }
        }
    }
    stream.flush().await.map_err(ExchangeError::Write)
}

async fn write_buf(stream: &mut Stream, mut buf: impl Buf) -> Result<(), ExchangeError> {
    stream
        .write_all_buf(&mut buf)
        .await
        .map_err(ExchangeError::Write)
}

/// The request body's next non-empty data frame (trailers are not forwarded).
async fn next_data(body: &mut Body) -> Result<Option<Bytes>, ExchangeError> {
    loop {
        match poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await {
            None => return Ok(None),
            Some(Err(e)) => return Err(ExchangeError::RequestBody(e)),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    if !data.is_empty() {
                        return Ok(Some(data));
                    }
                }
            }
        }
    }
}

struct ParsedHead {
    status: StatusCode,
    version: Version,
    headers: HeaderMap,
    framing: FramingHeaders,
}

/// The response head at the start of `buf` and its length, or `None` while it is
/// incomplete. Header values are copied out, so the read buffer stays unshared and is reused
/// in place.
fn parse_response_head(buf: &[u8]) -> Result<Option<(usize, ParsedHead)>, ExchangeError> {
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut res = httparse::Response::new(&mut []);
    let len = match httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut res, buf, &mut slots)
    {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(ExchangeError::Malformed("too many response headers"))
        }
        Err(_) => return Err(ExchangeError::Malformed("unparsable response head")),
    };
    let status = res
        .code
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or(ExchangeError::Malformed("invalid status code"))?;
    let version = match res.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    // Room for what a gateway adds to an answer (request id, CORS): growing a map rehashes it.
    let mut headers = HeaderMap::with_capacity(res.headers.len() + 4);
    let mut framing = FramingHeaders::default();
    for h in res.headers.iter() {
        let name = crate::names::header_name(h.name.as_bytes())
            .map_err(|_| ExchangeError::Malformed("invalid header name"))?;
        let value = HeaderValue::from_bytes(h.value)
            .map_err(|_| ExchangeError::Malformed("invalid header value"))?;
        framing.note(&name, &value);
        headers.append(name, value);
    }
    Ok(Some((
        len,
        ParsedHead {
            status,
            version,
            headers,
            framing,
        },
    )))
}

/// A response body read from its connection as the client takes it. Read to the end, it gives
/// the connection back to the pool; dropped earlier (the client went away), the connection is
/// closed with it: HTTP/1.1 cannot reuse a connection with part of a response unread.
struct ResponseBody<P> {
    /// `None` once the body has ended.
    connection: Option<Connection>,
    framing: BodyFraming,
    keep_alive: bool,
    pool: Arc<P>,
    /// Armed while a read waits for the backend ([`BODY_READ_TIMEOUT`]); made on the first wait.
    stall: Option<(Pin<Box<tokio::time::Sleep>>, bool)>,
}

impl<P: ConnectionPool> ResponseBody<P> {
    /// Polls the stall timer of a read that has to wait: true once it expired.
    fn stalled(&mut self, cx: &mut Context<'_>) -> bool {
        let (timer, armed) = self
            .stall
            .get_or_insert_with(|| (Box::pin(tokio::time::sleep(BODY_READ_TIMEOUT)), true));
        if !*armed {
            timer
                .as_mut()
                .reset(tokio::time::Instant::now() + BODY_READ_TIMEOUT);
            *armed = true;
        }
        timer.as_mut().poll(cx).is_ready()
    }

    fn end(&mut self) {
        if let Some(conn) = self.connection.take() {
            if self.keep_alive && self.framing != BodyFraming::Close {
                release(conn, &*self.pool);
            }
        }
    }
}

impl<P: ConnectionPool> http_body::Body for ResponseBody<P> {
    type Data = Bytes;
    type Error = ExchangeError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ExchangeError>>> {
        let this = &mut *self;
        loop {
            let Some(conn) = this.connection.as_mut() else {
                return Poll::Ready(None);
            };
            match this.framing.decode(&mut conn.buf)? {
                Decoded::Data(data) => {
                    if this.framing.is_done() {
                        // The last bytes: free the connection before the client writes them.
                        this.end();
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Decoded::End => {
                    this.end();
                    return Poll::Ready(None);
                }
                Decoded::NeedMore => {}
            }
            let filled = match conn.poll_fill(cx) {
                Poll::Ready(filled) => {
                    if let Some((_, armed)) = &mut this.stall {
                        *armed = false;
                    }
                    filled
                }
                Poll::Pending => {
                    if this.stalled(cx) {
                        this.connection = None;
                        return Poll::Ready(Some(Err(ExchangeError::Read(
                            io::ErrorKind::TimedOut.into(),
                        ))));
                    }
                    return Poll::Pending;
                }
            };
            match filled {
                Ok(0) if this.framing == BodyFraming::Close => {
                    this.connection = None;
                    return Poll::Ready(None);
                }
                Ok(0) => {
                    this.connection = None;
                    return Poll::Ready(Some(Err(ExchangeError::Malformed(
                        "connection closed in the response body",
                    ))));
                }
                Ok(_) => {}
                Err(e) => {
                    this.connection = None;
                    return Poll::Ready(Some(Err(ExchangeError::Read(e))));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.connection.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        if self.connection.is_none() {
            return SizeHint::with_exact(0);
        }
        self.framing.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_heads_parse() {
        let parse = |head: &'static [u8]| match parse_response_head(head) {
            Ok(Some((len, p))) if len == head.len() => Ok(p),
            Ok(_) => Err(ExchangeError::Malformed("incomplete")),
            Err(e) => Err(e),
        };
        let p =
            parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nX-A: 1\r\nX-A: 2\r\n\r\n").unwrap();
        assert_eq!(p.status, StatusCode::OK);
        assert_eq!(p.version, Version::HTTP_11);
        assert_eq!(p.headers.get_all("x-a").iter().count(), 2);
        assert_eq!(p.headers["content-length"], "5, 5");

        let p = parse(b"HTTP/1.0 404 Not Found\r\n\r\n").unwrap();
        assert_eq!(
            (p.status, p.version),
            (StatusCode::NOT_FOUND, Version::HTTP_10)
        );

        assert!(parse(b"HTTP/1.1 200 OK\r\nX: 1\r\n").is_err());
        assert!(parse(b"NOT HTTP\r\n\r\n").is_err());
        assert!(parse(b"HTTP/1.1 99 Low\r\n\r\n").is_err());
    }

    #[test]
    fn request_heads_state_their_framing() {
        let req = |method: Method, body: Body| {
            let mut r = Request::new(body);
            *r.method_mut() = method;
            *r.uri_mut() = "/a?b=1".parse().unwrap();
            r.headers_mut()
                .insert("host", HeaderValue::from_static("h"));
            r.headers_mut()
                .insert("content-length", HeaderValue::from_static("99"));
            String::from_utf8(RequestHead::encode(&r).bytes).unwrap()
        };
        assert_eq!(
            req(Method::POST, Body::from("hello")),
            "POST /a?b=1 HTTP/1.1\r\nhost: h\r\ncontent-length: 5\r\n\r\n"
        );
        assert_eq!(
            req(Method::GET, Body::empty()),
            "GET /a?b=1 HTTP/1.1\r\nhost: h\r\ncontent-length: 99\r\n\r\n"
        );
        // A body of unknown length goes chunked, and the client's length is dropped.
        let chunked = req(Method::PUT, Body::new(UnknownLength));
        assert!(chunked.ends_with("host: h\r\ntransfer-encoding: chunked\r\n\r\n"));
    }

    #[tokio::test]
    async fn the_idle_pool_gives_back_open_young_connections_only() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let pool = IdlePool::new(Duration::from_secs(60), 1);
        let conn = connect("127.0.0.1", port, None).await.unwrap();
        let (peer, _) = listener.accept().await.unwrap();
        pool.put(conn);
        let conn = pool.take().expect("an open connection comes back");
        pool.put(conn);
        assert!(pool.take().is_some());
        assert!(pool.take().is_none());

        // Closed by the peer while idle: not handed out.
        let conn = connect("127.0.0.1", port, None).await.unwrap();
        pool.put(conn);
        drop(peer);
        let (peer, _) = listener.accept().await.unwrap();
        drop(peer);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(pool.take().is_none());

        // Older than the idle timeout: closed, not reused.
        let pool = IdlePool::new(Duration::ZERO, 4);
        pool.put(connect("127.0.0.1", port, None).await.unwrap());
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(pool.take().is_none());

        let refused = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = connect("127.0.0.1", refused, None).await.err().unwrap();
        assert!(matches!(e, ConnectError::Tcp(_)), "{e:?}");
    }

    struct UnknownLength;

    impl http_body::Body for UnknownLength {
        type Data = Bytes;
        type Error = io::Error;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
            Poll::Ready(None)
        }
    }
}

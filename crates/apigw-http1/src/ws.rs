//! WebSocket (RFC 6455) on this crate's connections: the opening handshake of both sides and
//! a frame codec for both roles.
//!
//! A server answers an upgrade request ([`check_upgrade`]) with [`switching_protocols`] and an
//! [`OnUpgrade`](crate::server::OnUpgrade) in the response's extensions; the callback splits
//! the [`Upgraded`](crate::server::Upgraded) stream into a [`WsReader`] (which starts with the
//! bytes already read) and a [`WsWriter`].
//!
//! The reader reports what arrives (messages reassembled and checked, control frames as they
//! come); answering pings and closes is the caller's business, as is the close handshake's
//! timing. No extensions (permessage-deflate) are negotiated, so reserved bits are errors.

use std::io::{self, IoSlice};

use axum::body::Body;
use base64::Engine as _;
use bytes::{Buf, Bytes, BytesMut};
use http::header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, UPGRADE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode, Version};
use sha1::{Digest as _, Sha1};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::framing::{head_len, lists_token};

/// The GUID a server appends to the client's key (RFC 6455 §1.3).
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

const SEC_WEBSOCKET_KEY: HeaderName = http::header::SEC_WEBSOCKET_KEY;
const SEC_WEBSOCKET_VERSION: HeaderName = http::header::SEC_WEBSOCKET_VERSION;
const SEC_WEBSOCKET_PROTOCOL: HeaderName = http::header::SEC_WEBSOCKET_PROTOCOL;

/// Read buffer growth when no frame size is known yet.
/// Read buffer growth (1 KiB): small, because an idle connection keeps its buffer (a larger frame
/// reserves its whole size once its header is read).
const READ_CHUNK: usize = 1024;
/// Payloads up to this size are copied behind their frame header and written at once;
/// larger ones go out from where they are in a vectored write.
const GATHER: usize = 16 * 1024;
/// A writer's copy buffer is dropped after a frame that grew it past this.
const KEEP_BUF: usize = 64 * 1024;
/// Longest response head [`client_handshake`] reads.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;

// ---- Handshake -----------------------------------------------------------------------------

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64(SHA-1(key + GUID)).
pub fn accept_key(sec_websocket_key: &[u8]) -> HeaderValue {
    let mut sha = Sha1::new();
    sha.update(sec_websocket_key);
    sha.update(GUID.as_bytes());
    let digest = sha.finalize();
    let mut out = [0u8; 28];
    let n = base64::engine::general_purpose::STANDARD
        .encode_slice(digest, &mut out)
        .unwrap_or(0);
    // Base64 text is always a valid header value.
    HeaderValue::from_bytes(&out[..n]).unwrap_or(HeaderValue::from_static(""))
}

/// A valid upgrade request: what the answer depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeRequest<'a> {
    /// `Sec-WebSocket-Key`, for [`switching_protocols`].
    pub key: &'a HeaderValue,
    /// The subprotocols offered (`Sec-WebSocket-Protocol` tokens, in order).
    pub protocols: Vec<&'a str>,
}

/// Why a request is not a WebSocket opening handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    #[error("a WebSocket upgrade must be a GET")]
    Method,
    #[error("a WebSocket upgrade needs HTTP/1.1")]
    HttpVersion,
    #[error("no `Upgrade: websocket`")]
    Upgrade,
    #[error("`Connection` does not list `upgrade`")]
    Connection,
    #[error("missing or unsupported Sec-WebSocket-Version (13 is supported)")]
    WsVersion,
    #[error("missing or invalid Sec-WebSocket-Key")]
    Key,
    #[error("invalid Sec-WebSocket-Protocol")]
    Protocol,
}

impl HandshakeError {
    /// 426 (with `Sec-WebSocket-Version: 13`, see [`HandshakeError::response`]) for a version
    /// this server does not speak; 400 otherwise.
    pub fn status(&self) -> StatusCode {
        match self {
            HandshakeError::WsVersion => StatusCode::UPGRADE_REQUIRED,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The whole refusal: the status, and for 426 the version this server speaks
    /// (RFC 6455 §4.4).
    pub fn response(&self) -> Response<Body> {
        let mut resp = Response::new(Body::empty());
        *resp.status_mut() = self.status();
        if *self == HandshakeError::WsVersion {
            resp.headers_mut()
                .insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        }
        resp
    }
}

/// True when `headers` ask for a WebSocket upgrade (`Upgrade` lists `websocket`): a cheap
/// test to route on before [`check_upgrade`].
pub fn is_upgrade_request(headers: &HeaderMap) -> bool {
    headers
        .get_all(UPGRADE)
        .iter()
        .any(|v| lists_token(v, "websocket"))
}

/// Checks an opening handshake (RFC 6455 §4.2.1): GET, HTTP/1.1, `Upgrade: websocket`,
/// `Connection` listing `upgrade`, `Sec-WebSocket-Version: 13`, and a `Sec-WebSocket-Key`
/// that is the base64 of 16 bytes. `Host` and `Origin` are left to the caller.
pub fn check_upgrade<'a>(
    method: &Method,
    version: Version,
    headers: &'a HeaderMap,
) -> Result<UpgradeRequest<'a>, HandshakeError> {
    if method != Method::GET {
        return Err(HandshakeError::Method);
    }
    if version != Version::HTTP_11 {
        return Err(HandshakeError::HttpVersion);
    }
    if !is_upgrade_request(headers) {
        return Err(HandshakeError::Upgrade);
    }
    if !headers
        .get_all(CONNECTION)
        .iter()
        .any(|v| lists_token(v, "upgrade"))
    {
        return Err(HandshakeError::Connection);
    }
    let mut versions = headers.get_all(SEC_WEBSOCKET_VERSION).iter();
    match (versions.next(), versions.next()) {
        (Some(v), None) if v.as_bytes().trim_ascii() == b"13" => {}
        _ => return Err(HandshakeError::WsVersion),
    }
    let mut keys = headers.get_all(SEC_WEBSOCKET_KEY).iter();
    let key = match (keys.next(), keys.next()) {
        (Some(k), None) => k,
        _ => return Err(HandshakeError::Key),
    };
    let mut decoded = [0u8; 18];
    match base64::engine::general_purpose::STANDARD.decode_slice(key.as_bytes(), &mut decoded) {
        Ok(16) => {}
        _ => return Err(HandshakeError::Key),
    }
    let mut protocols = Vec::new();
    for value in headers.get_all(SEC_WEBSOCKET_PROTOCOL) {
        let value = value.to_str().map_err(|_| HandshakeError::Protocol)?;
        protocols.extend(value.split(',').map(str::trim).filter(|t| !t.is_empty()));
    }
    Ok(UpgradeRequest { key, protocols })
}

/// The `101 Switching Protocols` answer to a request with this `Sec-WebSocket-Key`. A chosen
/// subprotocol goes in a `Sec-WebSocket-Protocol` header the caller adds, and the
/// [`OnUpgrade`](crate::server::OnUpgrade) in its extensions.
pub fn switching_protocols(key: &HeaderValue) -> Response<Body> {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = resp.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(SEC_WEBSOCKET_ACCEPT, accept_key(key.as_bytes()));
    resp
}

/// The client side of the opening handshake, for tests and load tools: writes a GET upgrade
/// request for `path_and_query` with `Host: host` and `extra_headers`, and reads the answer's
/// head. A `101` must carry the right `Sec-WebSocket-Accept` (else `InvalidData`); any other
/// status comes back as it is, its body's first bytes in the leftover. The leftover is
/// what was read past the head (for a `101`, the server's first frames, if any).
pub async fn client_handshake(
    stream: &mut TcpStream,
    host: &str,
    path_and_query: &str,
    extra_headers: &[(&str, &str)],
) -> Result<(StatusCode, HeaderMap, BytesMut), io::Error> {
    let nonce: [u8; 16] = std::array::from_fn(|_| fastrand::u8(..));
    let key = base64::engine::general_purpose::STANDARD.encode(nonce);
    let mut req = format!(
        "GET {path_and_query} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
    );
    for (name, value) in extra_headers {
        req.push_str(name);
        req.push_str(": ");
        req.push_str(value);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await?;

    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let mut buf = BytesMut::with_capacity(1024);
    let len = loop {
        if let Some(len) = head_len(&buf) {
            break len;
        }
        if buf.len() >= MAX_RESPONSE_HEAD {
            return Err(invalid("response head too long"));
        }
        if stream.read_buf(&mut buf).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    };
    let mut slots = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut slots);
    match resp.parse(&buf[..len]) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return Err(invalid("malformed response head")),
    }
    let status = StatusCode::from_u16(resp.code.unwrap_or(0))
        .map_err(|_| invalid("malformed response status"))?;
    let mut headers = HeaderMap::with_capacity(resp.headers.len());
    for h in resp.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|_| invalid("malformed response header"))?;
        let value =
            HeaderValue::from_bytes(h.value).map_err(|_| invalid("malformed response header"))?;
        headers.append(name, value);
    }
    buf.advance(len);
    if status == StatusCode::SWITCHING_PROTOCOLS {
        if !is_upgrade_request(&headers) {
            return Err(invalid("101 without Upgrade: websocket"));
        }
        if !headers
            .get_all(CONNECTION)
            .iter()
            .any(|v| lists_token(v, "upgrade"))
        {
            return Err(invalid("101 without Connection: upgrade"));
        }
        if headers.get(SEC_WEBSOCKET_ACCEPT) != Some(&accept_key(key.as_bytes())) {
            return Err(invalid("wrong Sec-WebSocket-Accept"));
        }
    }
    Ok((status, headers, buf))
}

// ---- Frames --------------------------------------------------------------------------------

/// Which end of the connection this is. A server expects masked frames and sends unmasked
/// ones; a client the opposite (RFC 6455 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Server,
    Client,
}

/// Largest frame payload and largest reassembled message accepted; either exceeded is
/// [`WsError::TooBig`], found from a frame's header before its payload is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_frame: usize,
    pub max_message: usize,
}

/// What [`WsReader::next`] gives: a whole message, or a control frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// Valid UTF-8, reassembled from its fragments.
    Text(Bytes),
    Binary(Bytes),
    Ping(Bytes),
    Pong(Bytes),
    /// `code` is `None` for an empty close frame; the code, when present, is one a peer may
    /// send (RFC 6455 §7.4).
    Close {
        code: Option<u16>,
        reason: String,
    },
}

/// Why reading stopped. The connection cannot be read further; [`WsError::close_code`] is the
/// code to close it with.
#[derive(Debug, thiserror::Error)]
pub enum WsError {
    #[error("reading the connection failed")]
    Io(#[from] io::Error),
    #[error("the connection closed without a close frame")]
    Eof,
    #[error("frame or message over the size limit")]
    TooBig,
    #[error("protocol error: {0}")]
    Protocol(&'static str),
    #[error("text that is not UTF-8")]
    InvalidUtf8,
}

impl WsError {
    /// The close code to send: 1009 for [`WsError::TooBig`], 1002 for [`WsError::Protocol`],
    /// 1007 for [`WsError::InvalidUtf8`]; none when the connection itself is gone.
    pub fn close_code(&self) -> Option<u16> {
        match self {
            WsError::Io(_) | WsError::Eof => None,
            WsError::TooBig => Some(1009),
            WsError::Protocol(_) => Some(1002),
            WsError::InvalidUtf8 => Some(1007),
        }
    }
}

const OP_CONTINUATION: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// A frame header, as read.
#[derive(Debug, Clone, Copy)]
struct FrameHead {
    fin: bool,
    opcode: u8,
    mask: Option<[u8; 4]>,
    /// Header bytes, through the masking key.
    len: usize,
    payload: u64,
}

/// The frame header at the start of `buf`, or `None` while it is incomplete.
fn parse_head(buf: &[u8]) -> Result<Option<FrameHead>, WsError> {
    let (b0, b1) = match buf {
        [b0, b1, ..] => (*b0, *b1),
        _ => return Ok(None),
    };
    if b0 & 0x70 != 0 {
        return Err(WsError::Protocol("reserved bits set"));
    }
    let masked = b1 & 0x80 != 0;
    let (ext, payload) = match b1 & 0x7f {
        126 => match buf.get(2..4) {
            Some(b) => (2, u64::from(u16::from_be_bytes([b[0], b[1]]))),
            None => return Ok(None),
        },
        127 => match buf.get(2..10).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
            Some(b) => (8, u64::from_be_bytes(b)),
            None => return Ok(None),
        },
        n => (0, u64::from(n)),
    };
    if payload >> 63 != 0 {
        return Err(WsError::Protocol("payload length with its top bit set"));
    }
    let mut len = 2 + ext;
    let mask = if masked {
        let key = match buf
            .get(len..len + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
        {
            Some(key) => key,
            None => return Ok(None),
        };
        len += 4;
        Some(key)
    } else {
        None
    };
    Ok(Some(FrameHead {
        fin: b0 & 0x80 != 0,
        opcode: b0 & 0x0f,
        mask,
        len,
        payload,
    }))
}

/// XORs `data` with the masking key (RFC 6455 §5.3), eight bytes at a time.
fn apply_mask(data: &mut [u8], key: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(word) ^ wide).to_ne_bytes());
    }
    // The tail starts at a multiple of 8, so the key lines up from its first byte.
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
}

/// A message whose first fragments have arrived.
struct Partial {
    text: bool,
    data: BytesMut,
    /// How much of `data` is known to be UTF-8 (a text message is checked as it grows, so a
    /// bad one fails at the fragment that breaks it).
    utf8_checked: usize,
}

/// Checks the text in `data[*checked..]`, leaving `*checked` before a sequence that may
/// still be completed by the next fragment (unless `last`).
fn check_utf8(data: &[u8], checked: &mut usize, last: bool) -> Result<(), WsError> {
    match std::str::from_utf8(&data[*checked..]) {
        Ok(_) => {
            *checked = data.len();
            Ok(())
        }
        Err(e) if e.error_len().is_none() && !last => {
            *checked += e.valid_up_to();
            Ok(())
        }
        Err(_) => Err(WsError::InvalidUtf8),
    }
}

/// Close codes a peer may send (RFC 6455 §7.4.1, the IANA registry, and the ranges for
/// libraries and applications); 1005, 1006 and 1015 only ever stand for "none was sent".
fn valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Reads messages and control frames from one side of a WebSocket connection.
pub struct WsReader<R> {
    io: R,
    buf: BytesMut,
    role: Role,
    limits: Limits,
    message: Option<Partial>,
    /// An error was returned: the stream's framing is lost.
    failed: bool,
}

impl<R: AsyncRead + Unpin> WsReader<R> {
    /// `read_buf` holds bytes already read from `io` (an upgraded connection's
    /// [`Upgraded::read_buf`](crate::server::Upgraded)).
    pub fn new(io: R, read_buf: BytesMut, role: Role, limits: Limits) -> Self {
        WsReader {
            io,
            buf: read_buf,
            role,
            limits,
            message: None,
            failed: false,
        }
    }

    /// The next message or control frame.
    ///
    /// Cancellation-safe (fit for `tokio::select!`): every partial frame and message lives in
    /// `self`, and the only await is a read into its buffer. After an error the stream's
    /// framing is lost: further calls fail.
    pub async fn next(&mut self) -> Result<Incoming, WsError> {
        if self.failed {
            return Err(WsError::Protocol("the stream failed earlier"));
        }
        let got = self.read_next().await;
        if got.is_err() {
            self.failed = true;
        }
        got
    }

    async fn read_next(&mut self) -> Result<Incoming, WsError> {
        loop {
            let want = match self.decode()? {
                Decode::Ready(incoming) => return Ok(incoming),
                Decode::Want(n) => n,
            };
            // Room for the whole frame when its size is known (bounded by the limits
            // already checked), else a chunk.
            let spare = self.buf.capacity() - self.buf.len();
            let need = want.saturating_sub(self.buf.len()).max(READ_CHUNK / 4);
            if spare < need {
                self.buf.reserve(need.max(READ_CHUNK));
            }
            if self.io.read_buf(&mut self.buf).await? == 0 {
                return Err(WsError::Eof);
            }
        }
    }

    /// Takes whole frames off the buffer until one completes something to report.
    fn decode(&mut self) -> Result<Decode, WsError> {
        loop {
            let Some(head) = parse_head(&self.buf)? else {
                return Ok(Decode::Want(14));
            };
            self.check(&head)?;
            // Fits in usize: at most a limit, or 125 for control frames.
            let payload = head.payload as usize;
            let total = head.len.saturating_add(payload);
            if self.buf.len() < total {
                return Ok(Decode::Want(total));
            }
            self.buf.advance(head.len);
            let mut data = self.buf.split_to(payload);
            if let Some(key) = head.mask {
                apply_mask(&mut data, key);
            }
            if let Some(incoming) = self.frame(head, data)? {
                return Ok(Decode::Ready(incoming));
            }
        }
    }

    /// Everything a header alone can break: checked before the payload is read.
    fn check(&self, head: &FrameHead) -> Result<(), WsError> {
        match (self.role, head.mask.is_some()) {
            (Role::Server, false) => return Err(WsError::Protocol("unmasked frame from a client")),
            (Role::Client, true) => return Err(WsError::Protocol("masked frame from a server")),
            _ => {}
        }
        match head.opcode {
            OP_CLOSE | OP_PING | OP_PONG => {
                if !head.fin {
                    return Err(WsError::Protocol("fragmented control frame"));
                }
                if head.payload > 125 {
                    return Err(WsError::Protocol("control frame over 125 bytes"));
                }
                return Ok(());
            }
            OP_TEXT | OP_BINARY if self.message.is_some() => {
                return Err(WsError::Protocol("new message inside a fragmented one"));
            }
            OP_CONTINUATION if self.message.is_none() => {
                return Err(WsError::Protocol("continuation without a message"));
            }
            OP_TEXT | OP_BINARY | OP_CONTINUATION => {}
            _ => return Err(WsError::Protocol("unknown opcode")),
        }
        let so_far = self.message.as_ref().map_or(0, |m| m.data.len() as u64);
        if head.payload > self.limits.max_frame as u64
            || so_far.saturating_add(head.payload) > self.limits.max_message as u64
        {
            return Err(WsError::TooBig);
        }
        Ok(())
    }

    /// One whole (checked, unmasked) frame: what it completes, if anything.
    fn frame(&mut self, head: FrameHead, data: BytesMut) -> Result<Option<Incoming>, WsError> {
        let incoming = match head.opcode {
            OP_PING => Incoming::Ping(data.freeze()),
            OP_PONG => Incoming::Pong(data.freeze()),
            OP_CLOSE => close_frame(&data)?,
            OP_TEXT | OP_BINARY if head.fin => {
                if head.opcode == OP_TEXT {
                    check_utf8(&data, &mut 0, true)?;
                    Incoming::Text(data.freeze())
                } else {
                    Incoming::Binary(data.freeze())
                }
            }
            OP_TEXT | OP_BINARY => {
                let mut partial = Partial {
                    text: head.opcode == OP_TEXT,
                    data: BytesMut::with_capacity(
                        data.len().saturating_mul(2).min(self.limits.max_message),
                    ),
                    utf8_checked: 0,
                };
                partial.data.extend_from_slice(&data);
                if partial.text {
                    check_utf8(&partial.data, &mut partial.utf8_checked, false)?;
                }
                self.message = Some(partial);
                return Ok(None);
            }
            _ => {
                let Some(partial) = self.message.as_mut() else {
                    return Err(WsError::Protocol("continuation without a message"));
                };
                partial.data.extend_from_slice(&data);
                if partial.text {
                    check_utf8(&partial.data, &mut partial.utf8_checked, head.fin)?;
                }
                if !head.fin {
                    return Ok(None);
                }
                let Some(Partial { text, data, .. }) = self.message.take() else {
                    return Ok(None);
                };
                let data = data.freeze();
                if text {
                    Incoming::Text(data)
                } else {
                    Incoming::Binary(data)
                }
            }
        };
        Ok(Some(incoming))
    }
}

enum Decode {
    Ready(Incoming),
    /// Bytes the buffer must hold before decoding can go on.
    Want(usize),
}

/// A close frame's payload: nothing, or a valid code and a UTF-8 reason (RFC 6455 §5.5.1).
fn close_frame(data: &[u8]) -> Result<Incoming, WsError> {
    match data {
        [] => Ok(Incoming::Close {
            code: None,
            reason: String::new(),
        }),
        [_] => Err(WsError::Protocol("close frame with a 1-byte payload")),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !valid_close_code(code) {
                return Err(WsError::Protocol("invalid close code"));
            }
            let reason = std::str::from_utf8(reason).map_err(|_| WsError::InvalidUtf8)?;
            Ok(Incoming::Close {
                code: Some(code),
                reason: reason.to_string(),
            })
        }
    }
}

/// Writes frames to one side of a WebSocket connection: each frame in one gathered write,
/// straight to `io` (nothing is held back; [`WsWriter::flush`] matters only for a buffered
/// `io`). Not cancellation-safe: a write dropped halfway leaves a partial frame.
pub struct WsWriter<W> {
    io: W,
    role: Role,
    buf: Vec<u8>,
}

impl<W: AsyncWrite + Unpin> WsWriter<W> {
    pub fn new(io: W, role: Role) -> Self {
        WsWriter {
            io,
            role,
            buf: Vec::new(),
        }
    }

    /// One unfragmented text frame; the caller guarantees `data` is UTF-8.
    pub async fn text(&mut self, data: &[u8]) -> io::Result<()> {
        self.frame(OP_TEXT, data).await
    }

    pub async fn binary(&mut self, data: &[u8]) -> io::Result<()> {
        self.frame(OP_BINARY, data).await
    }

    /// A ping; `data` longer than 125 bytes is cut to 125.
    pub async fn ping(&mut self, data: &[u8]) -> io::Result<()> {
        self.frame(OP_PING, &data[..data.len().min(125)]).await
    }

    /// A pong; `data` longer than 125 bytes is cut to 125.
    pub async fn pong(&mut self, data: &[u8]) -> io::Result<()> {
        self.frame(OP_PONG, &data[..data.len().min(125)]).await
    }

    /// A close frame with `code` and `reason` (cut at a character boundary to fit the 125
    /// bytes of a control frame). Code 1005 ("no status") sends an empty close frame, the
    /// answer to one that came without a code.
    pub async fn close(&mut self, code: u16, reason: &str) -> io::Result<()> {
        if code == 1005 {
            return self.frame(OP_CLOSE, &[]).await;
        }
        let mut end = reason.len().min(123);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        let mut payload = [0u8; 125];
        payload[..2].copy_from_slice(&code.to_be_bytes());
        payload[2..2 + end].copy_from_slice(&reason.as_bytes()[..end]);
        self.frame(OP_CLOSE, &payload[..2 + end]).await
    }

    pub async fn flush(&mut self) -> io::Result<()> {
        self.io.flush().await
    }

    /// The inner writer (to shut it down once the close handshake is over, say).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.io
    }

    async fn frame(&mut self, opcode: u8, data: &[u8]) -> io::Result<()> {
        let mask = match self.role {
            Role::Client => Some(fastrand::u32(..).to_ne_bytes()),
            Role::Server => None,
        };
        self.buf.clear();
        encode_head(&mut self.buf, opcode, data.len(), mask);
        match mask {
            Some(key) => {
                // A client's payload is masked in a copy: it is never written as given.
                let start = self.buf.len();
                self.buf.extend_from_slice(data);
                apply_mask(&mut self.buf[start..], key);
            }
            None if data.len() > GATHER => {
                return write_two(&mut self.io, &self.buf, data).await;
            }
            None => self.buf.extend_from_slice(data),
        }
        let written = self.io.write_all(&self.buf).await;
        if self.buf.capacity() > KEEP_BUF {
            self.buf = Vec::new();
        }
        written
    }
}

/// A final frame's header (RFC 6455 §5.2), length in its shortest form.
fn encode_head(out: &mut Vec<u8>, opcode: u8, len: usize, mask: Option<[u8; 4]>) {
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    out.push(0x80 | opcode);
    if len < 126 {
        out.push(mask_bit | len as u8);
    } else if let Ok(len) = u16::try_from(len) {
        out.push(mask_bit | 126);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
}

/// Writes `a` then `b` with as few system calls as the writer allows.
async fn write_two<W: AsyncWrite + Unpin>(io: &mut W, a: &[u8], b: &[u8]) -> io::Result<()> {
    let mut slices = [IoSlice::new(a), IoSlice::new(b)];
    let mut slices = &mut slices[..];
    while !slices.is_empty() {
        let n = io.write_vectored(slices).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut slices, n);
    }
    Ok(())
}

#[cfg(test)]
mod tests;

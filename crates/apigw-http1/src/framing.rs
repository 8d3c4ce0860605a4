//! Message framing shared by both sides (RFC 9112 §6): how long a body is, decoding it from
//! the bytes read so far, and whether a connection persists.

use bytes::{Buf, Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, EXPECT, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Version};
use http_body::SizeHint;

/// Longest chunk-size or trailer line accepted in a chunked body.
const MAX_CHUNK_LINE: usize = 4096;

/// Why a body's bytes cannot be decoded (the connection cannot be used further).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    #[error("invalid chunk size")]
    ChunkSize,
    #[error("chunk data not followed by CRLF")]
    ChunkEnd,
    #[error("chunk line too long")]
    ChunkLine,
    #[error("invalid trailer field")]
    Trailer,
}

/// How a message body is delimited, and how much of it is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// Bytes still to come.
    Length(u64),
    Chunked(Chunked),
    /// Until the peer closes (a response only; its connection is never reused).
    Close,
}

/// Where a chunked body's decoder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunked {
    /// At a chunk-size line.
    Size,
    /// Inside a chunk's data, with this much left.
    Data(u64),
    /// After a chunk's data, at its CRLF.
    DataEnd,
    /// After the last chunk, at a trailer line or the final CRLF.
    Trailers,
}

/// What decoding the buffered bytes gave.
#[derive(Debug)]
pub enum Decoded {
    Data(Bytes),
    End,
    NeedMore,
}

impl BodyFraming {
    pub const CHUNKED: BodyFraming = BodyFraming::Chunked(Chunked::Size);

    /// True once the body has been decoded to its end.
    pub fn is_done(&self) -> bool {
        *self == BodyFraming::Length(0)
    }

    /// Takes the next piece of the body off the front of `buf`. Data comes out as it is (no
    /// copy): the read buffer's own bytes.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Decoded, FramingError> {
        match self {
            BodyFraming::Length(0) => Ok(Decoded::End),
            BodyFraming::Length(left) => {
                if buf.is_empty() {
                    return Ok(Decoded::NeedMore);
                }
                let n = (*left).min(buf.len() as u64) as usize;
                *left -= n as u64;
                Ok(Decoded::Data(buf.split_to(n).freeze()))
            }
            BodyFraming::Close => {
                if buf.is_empty() {
                    return Ok(Decoded::NeedMore);
                }
                Ok(Decoded::Data(buf.split().freeze()))
            }
            BodyFraming::Chunked(state) => loop {
                match *state {
                    Chunked::Size => {
                        let Some(line) = take_line(buf)? else {
                            return Ok(Decoded::NeedMore);
                        };
                        let size = chunk_size(&line)?;
                        *state = if size == 0 {
                            Chunked::Trailers
                        } else {
                            Chunked::Data(size)
                        };
                    }
                    Chunked::Data(left) => {
                        if buf.is_empty() {
                            return Ok(Decoded::NeedMore);
                        }
                        let n = left.min(buf.len() as u64) as usize;
                        *state = if n as u64 == left {
                            Chunked::DataEnd
                        } else {
                            Chunked::Data(left - n as u64)
                        };
                        return Ok(Decoded::Data(buf.split_to(n).freeze()));
                    }
                    Chunked::DataEnd => {
                        if buf.len() < 2 {
                            return Ok(Decoded::NeedMore);
                        }
                        if &buf[..2] != b"\r\n" {
                            return Err(FramingError::ChunkEnd);
                        }
                        buf.advance(2);
                        *state = Chunked::Size;
                    }
                    Chunked::Trailers => {
                        let Some(line) = take_line(buf)? else {
                            return Ok(Decoded::NeedMore);
                        };
                        if line.is_empty() {
                            *self = BodyFraming::Length(0);
                            return Ok(Decoded::End);
                        }
                        // Trailer fields are not passed on, but must be fields: a request
                        // line here is a second request that another parser would frame
                        // differently (a desync), so it is refused, not swallowed.
                        if !is_field_line(&line) {
                            return Err(FramingError::Trailer);
                        }
                    }
                }
            },
        }
    }

    /// The body's size as far as the framing tells it.
    pub fn size_hint(&self) -> SizeHint {
        match self {
            BodyFraming::Length(n) => SizeHint::with_exact(*n),
            _ => SizeHint::default(),
        }
    }
}

/// Takes one CRLF-terminated line off `buf` (without the CRLF), or `None` while incomplete.
/// A bare LF (or CR) inside it is an error: RFC 9112 §7.1 lines end with CRLF, and a lenient
/// reading is what lets two parsers disagree about where a body ends.
fn take_line(buf: &mut BytesMut) -> Result<Option<BytesMut>, FramingError> {
    match memchr::memchr(b'\n', buf) {
        Some(i) => {
            if i == 0 || buf[i - 1] != b'\r' || memchr::memchr(b'\r', &buf[..i - 1]).is_some() {
                return Err(FramingError::ChunkLine);
            }
            let line = buf.split_to(i - 1);
            buf.advance(2);
            Ok(Some(line))
        }
        None if buf.len() > MAX_CHUNK_LINE => Err(FramingError::ChunkLine),
        None if memchr::memchr(b'\r', &buf[..buf.len().saturating_sub(1)]).is_some() => {
            Err(FramingError::ChunkLine)
        }
        None => Ok(None),
    }
}

/// RFC 9112 §7.1: `chunk-size [ chunk-ext ]`, the size 1*HEXDIG from the line's first byte
/// (no sign, no leading whitespace); whitespace after it only before a `;` extension.
fn chunk_size(line: &[u8]) -> Result<u64, FramingError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 16 {
        return Err(FramingError::ChunkSize);
    }
    let rest = &line[digits..];
    let after_ws = rest
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count();
    if !(rest.is_empty() || rest.get(after_ws) == Some(&b';')) {
        return Err(FramingError::ChunkSize);
    }
    // Extensions are ignored, but hold no control characters.
    if rest.iter().any(|b| b.is_ascii_control() && *b != b'\t') {
        return Err(FramingError::ChunkSize);
    }
    line[..digits].iter().try_fold(0u64, |n, d| {
        let v = (*d as char).to_digit(16).unwrap_or(0);
        Ok((n << 4) | u64::from(v))
    })
}

/// `field-name ":" OWS field-value OWS` (RFC 9112 §5): a token, a colon, a value without
/// control characters other than HTAB.
fn is_field_line(line: &[u8]) -> bool {
    let Some(colon) = memchr::memchr(b':', line) else {
        return false;
    };
    colon > 0
        && line[..colon].iter().all(|b| is_tchar(*b))
        && line[colon + 1..]
            .iter()
            .all(|b| !b.is_ascii_control() || *b == b'\t')
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The length of the message head at the start of `buf`, through the empty line that ends
/// it, or `None` while it has not all arrived. Line ends may be CRLF or a bare LF (RFC 9112
/// §2.2 lets a recipient accept both).
pub fn head_len(buf: &[u8]) -> Option<usize> {
    for lf in memchr::memchr_iter(b'\n', buf) {
        match buf.get(lf + 1..) {
            Some([b'\n', ..]) => return Some(lf + 2),
            Some([b'\r', b'\n', ..]) => return Some(lf + 3),
            _ => {}
        }
    }
    None
}

/// True when a comma-separated header value lists `token` (case-insensitive).
pub fn lists_token(value: &HeaderValue, token: &str) -> bool {
    let v = value.as_bytes();
    // The common single-token value, without splitting.
    if v.eq_ignore_ascii_case(token.as_bytes()) {
        return true;
    }
    v.split(|b| *b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// What the framing headers of a message say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclaredLength {
    /// Neither header.
    None,
    Length(u64),
    /// `Transfer-Encoding` with `chunked` last.
    Chunked,
    /// `Transfer-Encoding` without `chunked` last.
    OtherCoding,
}

/// The headers that frame a message and decide its connection's fate, noted one by one while
/// its head is parsed, so nothing is looked up in the map afterwards.
#[derive(Debug, Clone, Copy, Default)]
pub struct FramingHeaders {
    length: Option<u64>,
    /// A `Content-Length` that is not a number, or lengths that differ.
    bad_length: bool,
    transfer_encoding: Option<TransferEncoding>,
    close: bool,
    keep_alive: bool,
    expect_continue: bool,
    /// An `Upgrade` header was seen (noted here, while the names are compared anyway).
    upgrade: bool,
}

#[derive(Debug, Clone, Copy)]
struct TransferEncoding {
    /// The last coding of the last header is `chunked`.
    chunked_last: bool,
    /// Every value is just `chunked`.
    only_chunked: bool,
}

impl FramingHeaders {
    /// Notes one header (the message's headers in order).
    pub fn note(&mut self, name: &HeaderName, value: &HeaderValue) {
        // Standard names compare as enum values: four cheap tests per header.
        if name == CONTENT_LENGTH {
            // `Content-Length: 5, 5` and repeated equal headers are one length.
            for part in value.as_bytes().split(|b| *b == b',') {
                match parse_decimal(part.trim_ascii()) {
                    Some(n) if self.length.is_none_or(|l| l == n) => self.length = Some(n),
                    _ => self.bad_length = true,
                }
            }
        } else if name == TRANSFER_ENCODING {
            let v = value.as_bytes();
            let chunked_last = v
                .rsplit(|b| *b == b',')
                .next()
                .is_some_and(|t| t.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            let only = v.trim_ascii().eq_ignore_ascii_case(b"chunked");
            let only_chunked = self.transfer_encoding.is_none_or(|t| t.only_chunked) && only;
            self.transfer_encoding = Some(TransferEncoding {
                chunked_last,
                only_chunked,
            });
        } else if name == CONNECTION {
            // The usual single token first, without splitting the value.
            let v = value.as_bytes();
            if v.eq_ignore_ascii_case(b"keep-alive") {
                self.keep_alive = true;
            } else if v.eq_ignore_ascii_case(b"close") {
                self.close = true;
            } else {
                self.close |= lists_token(value, "close");
                self.keep_alive |= lists_token(value, "keep-alive");
            }
        } else if name == EXPECT {
            self.expect_continue |= value.as_bytes().eq_ignore_ascii_case(b"100-continue");
        } else if name == http::header::UPGRADE {
            self.upgrade = true;
        }
    }

    /// RFC 9112 §6.3: `Transfer-Encoding` decides (chunked last, or another coding), else
    /// `Content-Length`; a length that cannot be read is an error.
    pub fn declared(&self) -> Result<DeclaredLength, &'static str> {
        if let Some(te) = self.transfer_encoding {
            return Ok(if te.chunked_last {
                DeclaredLength::Chunked
            } else {
                DeclaredLength::OtherCoding
            });
        }
        if self.bad_length {
            return Err("invalid Content-Length");
        }
        Ok(self
            .length
            .map_or(DeclaredLength::None, DeclaredLength::Length))
    }

    /// Whether any `Content-Length` was present (valid or not).
    pub fn has_length(&self) -> bool {
        self.length.is_some() || self.bad_length
    }

    /// `Transfer-Encoding` is present and says nothing but `chunked`.
    pub fn only_chunked(&self) -> bool {
        self.transfer_encoding.is_some_and(|t| t.only_chunked)
    }

    /// RFC 9112 §9.3: HTTP/1.1 persists unless `close`; HTTP/1.0 only with `keep-alive`.
    pub fn keeps_alive(&self, version: Version) -> bool {
        if version == Version::HTTP_10 {
            self.keep_alive && !self.close
        } else {
            !self.close
        }
    }

    /// `Expect: 100-continue`.
    pub fn expects_continue(&self) -> bool {
        self.expect_continue
    }

    pub fn has_upgrade(&self) -> bool {
        self.upgrade
    }
}

/// [`FramingHeaders::declared`] of a whole map.
pub fn declared_length(headers: &HeaderMap) -> Result<DeclaredLength, &'static str> {
    let mut f = FramingHeaders::default();
    for name in [&CONTENT_LENGTH, &TRANSFER_ENCODING] {
        for value in headers.get_all(name) {
            f.note(name, value);
        }
    }
    f.declared()
}

/// Digits only (no sign, no spaces), without overflow.
fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    digits.iter().try_fold(0u64, |n, d| {
        d.is_ascii_digit().then(|| n * 10 + u64::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(framing: &mut BodyFraming, input: &[u8]) -> Result<Vec<u8>, FramingError> {
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        // One byte at a time: every state must cope with a split anywhere.
        for b in input {
            buf.extend_from_slice(&[*b]);
            loop {
                match framing.decode(&mut buf)? {
                    Decoded::Data(d) => out.extend_from_slice(&d),
                    Decoded::End => return Ok(out),
                    Decoded::NeedMore => break,
                }
            }
        }
        Err(FramingError::ChunkEnd)
    }

    #[test]
    fn chunked_bodies_decode_across_any_split() {
        let mut f = BodyFraming::CHUNKED;
        let body = decode_all(
            &mut f,
            b"5;ext=1\r\nhello\r\nA\r\n, chunked!\r\n0\r\nx-t: 1\r\n\r\n",
        );
        assert_eq!(body.unwrap(), b"hello, chunked!");
        assert!(f.is_done());
        for bad in [
            &b"5\r\nhelloXX"[..],
            b"zz\r\n",
            b"+5\r\nhello\r\n",
            b"\r\n",
            // Leading whitespace, whitespace without an extension, a bare LF.
            b" 5\r\nhello\r\n0\r\n\r\n",
            b"5 \r\nhello\r\n0\r\n\r\n",
            b"5\nhello\r\n0\r\n\r\n",
            b"12345678901234567\r\n",
            // Trailers: a request line, a line without a colon, a bare LF, a space in a name.
            b"0\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
            b"0\r\nno-colon\r\n\r\n",
            b"0\r\nx-t: 1\n\r\n",
            b"0\r\nx t: 1\r\n\r\n",
            b"0\r\n: 1\r\n\r\n",
        ] {
            let mut f = BodyFraming::CHUNKED;
            assert!(decode_all(&mut f, bad).is_err(), "{bad:?}");
        }
        let mut f = BodyFraming::CHUNKED;
        let body = decode_all(&mut f, b"5 ;x\r\nhello\r\n0\r\nx-t:\t1 \r\ny: \r\n\r\n");
        assert_eq!(body.unwrap(), b"hello");
        let mut f = BodyFraming::CHUNKED;
        let long = vec![b'1'; MAX_CHUNK_LINE + 2];
        assert_eq!(decode_all(&mut f, &long), Err(FramingError::ChunkLine));
    }

    #[test]
    fn length_bodies_stop_at_their_length() {
        let mut f = BodyFraming::Length(3);
        assert_eq!(decode_all(&mut f, b"abc").unwrap(), b"abc");
        let mut buf = BytesMut::from(&b"abcdef"[..]);
        let mut f = BodyFraming::Length(4);
        assert!(matches!(f.decode(&mut buf), Ok(Decoded::Data(d)) if d == "abcd"));
        assert!(matches!(f.decode(&mut buf), Ok(Decoded::End)));
        assert_eq!(&buf[..], b"ef", "the next message's bytes stay");
    }

    #[test]
    fn heads_end_at_the_first_empty_line() {
        assert_eq!(head_len(b"GET / HTTP/1.1\r\nA: 1\r\n\r\nbody"), Some(24));
        assert_eq!(head_len(b"GET / HTTP/1.1\nA: 1\n\nbody"), Some(21));
        assert_eq!(head_len(b"GET / HTTP/1.1\r\nA: 1\r\n\r"), None);
        assert_eq!(head_len(b"GET / HTTP/1.1\r\nA: 1\r\n"), None);
        assert_eq!(head_len(b""), None);
    }

    #[test]
    fn framing_headers() {
        let h = |pairs: &[(&str, &str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.append(
                    http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    HeaderValue::from_str(v).unwrap(),
                );
            }
            m
        };
        use DeclaredLength as D;
        assert_eq!(declared_length(&h(&[])), Ok(D::None));
        assert_eq!(
            declared_length(&h(&[("content-length", "5, 5")])),
            Ok(D::Length(5))
        );
        assert!(declared_length(&h(&[("content-length", "1"), ("content-length", "2")])).is_err());
        assert!(declared_length(&h(&[("content-length", "-1")])).is_err());
        assert!(declared_length(&h(&[("content-length", "99999999999999999999")])).is_err());
        assert_eq!(
            declared_length(&h(&[
                ("transfer-encoding", "gzip, Chunked"),
                ("content-length", "9")
            ])),
            Ok(D::Chunked)
        );
        assert_eq!(
            declared_length(&h(&[("transfer-encoding", "gzip")])),
            Ok(D::OtherCoding)
        );

        let noted = |pairs: &[(&str, &str)]| {
            let mut f = FramingHeaders::default();
            for (k, v) in h(pairs).iter() {
                f.note(k, v);
            }
            f
        };
        assert!(noted(&[]).keeps_alive(Version::HTTP_11));
        assert!(!noted(&[("connection", "Keep-Alive, CLOSE")]).keeps_alive(Version::HTTP_11));
        assert!(!noted(&[]).keeps_alive(Version::HTTP_10));
        assert!(noted(&[("connection", "keep-alive")]).keeps_alive(Version::HTTP_10));
        assert!(noted(&[("expect", "100-Continue")]).expects_continue());
        assert!(noted(&[
            ("transfer-encoding", "chunked"),
            ("transfer-encoding", "Chunked ")
        ])
        .only_chunked());
        assert!(!noted(&[("transfer-encoding", "gzip, chunked")]).only_chunked());
        assert_eq!(
            noted(&[
                ("transfer-encoding", "chunked"),
                ("transfer-encoding", "gzip")
            ])
            .declared(),
            Ok(D::OtherCoding)
        );
    }
}

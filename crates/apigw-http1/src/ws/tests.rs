use std::time::Duration;

use super::*;

// ---- Handshake -------------------------------------------------------------------------------

#[test]
fn accept_key_of_the_rfc_example() {
    // RFC 6455 §1.3.
    assert_eq!(
        accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
}

fn upgrade_headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    headers
}

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn valid() -> Vec<(&'static str, &'static str)> {
    vec![
        ("host", "example.com"),
        ("upgrade", "websocket"),
        ("connection", "Upgrade"),
        ("sec-websocket-key", KEY),
        ("sec-websocket-version", "13"),
    ]
}

/// `valid()` with `name` replaced by `value` (removed when `None`).
fn with(name: &'static str, value: Option<&'static str>) -> HeaderMap {
    let mut pairs: Vec<_> = valid().into_iter().filter(|(n, _)| *n != name).collect();
    pairs.extend(value.map(|v| (name, v)));
    upgrade_headers(&pairs)
}

fn check(headers: &HeaderMap) -> Result<UpgradeRequest<'_>, HandshakeError> {
    check_upgrade(&Method::GET, Version::HTTP_11, headers)
}

#[test]
fn upgrade_requests_are_checked_per_rfc_6455_4_2_1() {
    let headers = upgrade_headers(&valid());
    let req = check(&headers).unwrap();
    assert_eq!(req.key, KEY);
    assert!(req.protocols.is_empty());
    assert!(is_upgrade_request(&headers));

    // Token lists and case are accepted.
    let headers = upgrade_headers(&[
        ("upgrade", "WebSocket"),
        ("connection", "keep-alive, Upgrade"),
        ("sec-websocket-key", KEY),
        ("sec-websocket-version", "13"),
        ("sec-websocket-protocol", "chat, superchat"),
        ("sec-websocket-protocol", "v2"),
    ]);
    assert_eq!(
        check(&headers).unwrap().protocols,
        vec!["chat", "superchat", "v2"]
    );

    let h = upgrade_headers(&valid());
    assert_eq!(
        check_upgrade(&Method::POST, Version::HTTP_11, &h),
        Err(HandshakeError::Method)
    );
    assert_eq!(
        check_upgrade(&Method::GET, Version::HTTP_10, &h),
        Err(HandshakeError::HttpVersion)
    );
    let err = |name, value| check(&with(name, value)).err();
    assert_eq!(err("upgrade", None), Some(HandshakeError::Upgrade));
    assert_eq!(err("upgrade", Some("h2c")), Some(HandshakeError::Upgrade));
    assert!(!is_upgrade_request(&with("upgrade", Some("h2c"))));
    assert_eq!(err("connection", None), Some(HandshakeError::Connection));
    assert_eq!(
        err("connection", Some("keep-alive")),
        Some(HandshakeError::Connection)
    );
    assert_eq!(
        err("sec-websocket-version", None),
        Some(HandshakeError::WsVersion)
    );
    assert_eq!(
        err("sec-websocket-version", Some("8")),
        Some(HandshakeError::WsVersion)
    );
    assert_eq!(err("sec-websocket-key", None), Some(HandshakeError::Key));
    // Base64, but of 15 or 17 bytes; and not base64 at all.
    assert_eq!(
        err("sec-websocket-key", Some("dGhlIHNhbXBsZSBub25jZQ")),
        Some(HandshakeError::Key)
    );
    assert_eq!(
        err("sec-websocket-key", Some("AAAAAAAAAAAAAAAAAAAA")),
        Some(HandshakeError::Key)
    );
    assert_eq!(
        err("sec-websocket-key", Some("AAAAAAAAAAAAAAAAAAAAAAA=")),
        Some(HandshakeError::Key)
    );
    assert_eq!(
        err("sec-websocket-key", Some("!!!!!!!!!!!!!!!!!!!!!!==")),
        Some(HandshakeError::Key)
    );
    let mut two_keys = upgrade_headers(&valid());
    two_keys.append("sec-websocket-key", HeaderValue::from_static(KEY));
    assert_eq!(check(&two_keys).err(), Some(HandshakeError::Key));

    assert_eq!(HandshakeError::Key.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        HandshakeError::WsVersion.status(),
        StatusCode::UPGRADE_REQUIRED
    );
    let refusal = HandshakeError::WsVersion.response();
    assert_eq!(refusal.status(), 426);
    assert_eq!(refusal.headers()["sec-websocket-version"], "13");
    assert!(HandshakeError::Method
        .response()
        .headers()
        .get("sec-websocket-version")
        .is_none());
}

#[test]
fn the_101_answer() {
    let resp = switching_protocols(&HeaderValue::from_static(KEY));
    assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(resp.headers()["upgrade"], "websocket");
    assert_eq!(resp.headers()["connection"], "Upgrade");
    assert_eq!(
        resp.headers()["sec-websocket-accept"],
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    assert_eq!(resp.headers().len(), 3);
}

// ---- Frames ----------------------------------------------------------------------------------

const LIMITS: Limits = Limits {
    max_frame: 1 << 20,
    max_message: 1 << 20,
};

/// One frame as a peer in `from` would send it (masked from a client), with `first` as its
/// first byte (FIN, RSV, opcode).
fn raw(first: u8, payload: &[u8], from: Role) -> Vec<u8> {
    let mut out = Vec::new();
    let mask = (from == Role::Client).then_some([0x37, 0xfa, 0x21, 0x3d]);
    encode_head(&mut out, 0, payload.len(), mask);
    out[0] = first;
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut out[start..], key);
    }
    out
}

/// A frame from a client: `fin`, `opcode`, masked.
fn cf(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    raw(u8::from(fin) << 7 | opcode, payload, Role::Client)
}

/// Everything a server-role reader makes of `wire`, up to and including the first error.
async fn read_all(wire: &[u8], role: Role, limits: Limits) -> Vec<Result<Incoming, String>> {
    let mut reader = WsReader::new(wire, BytesMut::new(), role, limits);
    let mut out = Vec::new();
    loop {
        match reader.next().await {
            Ok(m) => out.push(Ok(m)),
            Err(e) => {
                out.push(Err(format!("{e:?}")));
                return out;
            }
        }
    }
}

async fn server_reads(wire: &[u8]) -> Vec<Result<Incoming, String>> {
    read_all(wire, Role::Server, LIMITS).await
}

fn text(s: &str) -> Result<Incoming, String> {
    Ok(Incoming::Text(Bytes::copy_from_slice(s.as_bytes())))
}

fn err(s: &str) -> Result<Incoming, String> {
    Err(s.to_string())
}

fn protocol(why: &str) -> Result<Incoming, String> {
    Err(format!("Protocol({why:?})"))
}

#[test]
fn masking_matches_the_bytewise_definition() {
    let key = [1, 2, 0x80, 0xff];
    for len in 0..40 {
        let data: Vec<u8> = (0..len as u8).collect();
        let mut fast = data.clone();
        apply_mask(&mut fast, key);
        let slow: Vec<u8> = data
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ key[i % 4])
            .collect();
        assert_eq!(fast, slow, "len {len}");
    }
}

#[tokio::test]
async fn messages_and_control_frames_from_a_client() {
    let mut wire = cf(true, OP_TEXT, b"hello");
    wire.extend(cf(true, OP_BINARY, &[0, 1, 2]));
    wire.extend(cf(true, OP_PING, b"p"));
    wire.extend(cf(true, OP_PONG, b""));
    wire.extend(cf(true, OP_TEXT, b""));
    wire.extend(cf(true, OP_CLOSE, &[0x03, 0xe8, b'b', b'y', b'e']));
    assert_eq!(
        server_reads(&wire).await,
        vec![
            text("hello"),
            Ok(Incoming::Binary(Bytes::from_static(&[0, 1, 2]))),
            Ok(Incoming::Ping(Bytes::from_static(b"p"))),
            Ok(Incoming::Pong(Bytes::new())),
            text(""),
            Ok(Incoming::Close {
                code: Some(1000),
                reason: "bye".into()
            }),
            err("Eof"),
        ]
    );
}

#[tokio::test]
async fn masking_is_required_from_clients_and_refused_from_servers() {
    let unmasked = raw(0x81, b"hi", Role::Server);
    assert_eq!(
        server_reads(&unmasked).await,
        vec![protocol("unmasked frame from a client")]
    );
    assert_eq!(
        read_all(&unmasked, Role::Client, LIMITS).await,
        vec![text("hi"), err("Eof")]
    );
    assert_eq!(
        read_all(&cf(true, OP_TEXT, b"hi"), Role::Client, LIMITS).await,
        vec![protocol("masked frame from a server")]
    );
}

#[tokio::test]
async fn fragments_are_reassembled_with_control_frames_between() {
    // "€" (E2 82 AC) split across fragments is still valid text.
    let mut wire = cf(false, OP_TEXT, b"a\xe2");
    wire.extend(cf(true, OP_PING, b"1"));
    wire.extend(cf(false, OP_CONTINUATION, b"\x82"));
    wire.extend(cf(false, OP_CONTINUATION, b""));
    wire.extend(cf(true, OP_PONG, b"2"));
    wire.extend(cf(true, OP_CONTINUATION, b"\xacb"));
    wire.extend(cf(false, OP_BINARY, b"x"));
    wire.extend(cf(true, OP_CONTINUATION, b"y"));
    assert_eq!(
        server_reads(&wire).await,
        vec![
            Ok(Incoming::Ping(Bytes::from_static(b"1"))),
            Ok(Incoming::Pong(Bytes::from_static(b"2"))),
            text("a€b"),
            Ok(Incoming::Binary(Bytes::from_static(b"xy"))),
            err("Eof"),
        ]
    );
}

#[tokio::test]
async fn fragmentation_out_of_order_is_a_protocol_error() {
    assert_eq!(
        server_reads(&cf(true, OP_CONTINUATION, b"x")).await,
        vec![protocol("continuation without a message")]
    );
    let mut wire = cf(false, OP_TEXT, b"x");
    wire.extend(cf(true, OP_TEXT, b"y"));
    assert_eq!(
        server_reads(&wire).await,
        vec![protocol("new message inside a fragmented one")]
    );
    let mut wire = cf(false, OP_BINARY, b"x");
    wire.extend(cf(false, OP_BINARY, b"y"));
    assert_eq!(
        server_reads(&wire).await,
        vec![protocol("new message inside a fragmented one")]
    );
}

#[tokio::test]
async fn control_frames_are_short_and_whole() {
    assert_eq!(
        server_reads(&cf(true, OP_PING, &[0; 126])).await,
        vec![protocol("control frame over 125 bytes")]
    );
    assert_eq!(
        server_reads(&cf(true, OP_PONG, &[7; 125])).await,
        vec![Ok(Incoming::Pong(Bytes::from(vec![7; 125]))), err("Eof")]
    );
    for op in [OP_PING, OP_PONG, OP_CLOSE] {
        assert_eq!(
            server_reads(&cf(false, op, b"")).await,
            vec![protocol("fragmented control frame")]
        );
    }
}

#[tokio::test]
async fn reserved_bits_and_opcodes_are_protocol_errors() {
    for rsv in [0x40, 0x20, 0x10] {
        assert_eq!(
            server_reads(&raw(0x80 | rsv | OP_TEXT, b"x", Role::Client)).await,
            vec![protocol("reserved bits set")]
        );
    }
    for op in (3..=7).chain(0xb..=0xf) {
        assert_eq!(
            server_reads(&cf(true, op, b"")).await,
            vec![protocol("unknown opcode")],
            "opcode {op}"
        );
    }
}

#[tokio::test]
async fn text_must_be_utf8_and_fails_at_the_fragment_that_breaks_it() {
    assert_eq!(
        server_reads(&cf(true, OP_TEXT, b"\xff")).await,
        vec![err("InvalidUtf8")]
    );
    // A sequence cut short by the end of the message.
    assert_eq!(
        server_reads(&cf(true, OP_TEXT, b"a\xe2\x82")).await,
        vec![err("InvalidUtf8")]
    );
    let mut wire = cf(false, OP_TEXT, b"a\xe2\x82");
    wire.extend(cf(true, OP_CONTINUATION, b""));
    assert_eq!(server_reads(&wire).await, vec![err("InvalidUtf8")]);
    // No final fragment follows, yet the error is found (not Eof).
    let mut wire = cf(false, OP_TEXT, b"ok");
    wire.extend(cf(false, OP_CONTINUATION, b"\xc0\xaf"));
    assert_eq!(server_reads(&wire).await, vec![err("InvalidUtf8")]);
    // Binary is not checked.
    assert_eq!(
        server_reads(&cf(true, OP_BINARY, b"\xff")).await,
        vec![
            Ok(Incoming::Binary(Bytes::from_static(b"\xff"))),
            err("Eof")
        ]
    );
}

#[tokio::test]
async fn close_frames_carry_a_valid_code_and_a_utf8_reason() {
    assert_eq!(
        server_reads(&cf(true, OP_CLOSE, b"")).await,
        vec![
            Ok(Incoming::Close {
                code: None,
                reason: String::new()
            }),
            err("Eof")
        ]
    );
    assert_eq!(
        server_reads(&cf(true, OP_CLOSE, &[3])).await,
        vec![protocol("close frame with a 1-byte payload")]
    );
    for code in [
        1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999,
    ] {
        assert_eq!(
            server_reads(&cf(true, OP_CLOSE, &code.to_be_bytes())).await[0],
            Ok(Incoming::Close {
                code: Some(code),
                reason: String::new()
            }),
            "code {code}"
        );
    }
    for code in [
        0u16, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535,
    ] {
        assert_eq!(
            server_reads(&cf(true, OP_CLOSE, &code.to_be_bytes())).await,
            vec![protocol("invalid close code")],
            "code {code}"
        );
    }
    assert_eq!(
        server_reads(&cf(true, OP_CLOSE, &[0x03, 0xe8, 0xff])).await,
        vec![err("InvalidUtf8")]
    );
}

#[tokio::test]
async fn size_limits_are_checked_from_the_header_before_the_payload() {
    // A 1 GB length claim, with no payload behind it and the connection left open: the
    // answer comes at once, and nothing near that size is allocated.
    let (mut peer, io) = tokio::io::duplex(64);
    let mut head = Vec::new();
    encode_head(&mut head, OP_BINARY, 1 << 30, Some([1, 2, 3, 4]));
    tokio::io::AsyncWriteExt::write_all(&mut peer, &head)
        .await
        .unwrap();
    let mut reader = WsReader::new(io, BytesMut::new(), Role::Server, LIMITS);
    let got = tokio::time::timeout(Duration::from_secs(5), reader.next())
        .await
        .unwrap();
    assert!(matches!(got, Err(WsError::TooBig)), "{got:?}");
    assert!(reader.buf.capacity() < 64 * 1024);
    // Failed for good.
    assert!(matches!(reader.next().await, Err(WsError::Protocol(_))));

    let small = Limits {
        max_frame: 8,
        max_message: 12,
    };
    assert_eq!(
        read_all(&cf(true, OP_TEXT, &[b'a'; 8]), Role::Server, small).await[0],
        text("aaaaaaaa")
    );
    assert_eq!(
        read_all(&cf(true, OP_TEXT, &[b'a'; 9]), Role::Server, small).await,
        vec![err("TooBig")]
    );
    // The message grows past its limit at the third fragment.
    let mut wire = cf(false, OP_BINARY, &[0; 6]);
    wire.extend(cf(false, OP_CONTINUATION, &[0; 6]));
    wire.extend(cf(true, OP_CONTINUATION, &[0; 1]));
    assert_eq!(
        read_all(&wire, Role::Server, small).await,
        vec![err("TooBig")]
    );
    // Control frames are not held to max_frame (they are at most 125 bytes).
    assert_eq!(
        read_all(&cf(true, OP_PING, &[1; 100]), Role::Server, small).await[0],
        Ok(Incoming::Ping(Bytes::from(vec![1; 100])))
    );
    // A 64-bit length with its top bit set.
    let mut wire = vec![0x82, 0xff];
    wire.extend_from_slice(&u64::MAX.to_be_bytes());
    wire.extend_from_slice(&[0; 4]);
    assert_eq!(
        server_reads(&wire).await,
        vec![protocol("payload length with its top bit set")]
    );
}

#[tokio::test]
async fn every_length_encoding_and_a_frame_cut_short() {
    for len in [0, 125, 126, 127, 65535, 65536, 70000] {
        let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let got = server_reads(&cf(true, OP_BINARY, &payload)).await;
        assert_eq!(got[0], Ok(Incoming::Binary(payload.into())), "len {len}");
    }
    let mut wire = cf(true, OP_TEXT, b"hello");
    wire.pop();
    assert_eq!(server_reads(&wire).await, vec![err("Eof")]);
    assert_eq!(server_reads(&[0x81]).await, vec![err("Eof")]);
    assert_eq!(server_reads(&[]).await, vec![err("Eof")]);
    assert_eq!(WsError::Eof.close_code(), None, "nobody is left to tell");
    assert_eq!(WsError::TooBig.close_code(), Some(1009));
    assert_eq!(WsError::Protocol("x").close_code(), Some(1002));
    assert_eq!(WsError::InvalidUtf8.close_code(), Some(1007));
}

#[tokio::test]
async fn the_read_buffer_handed_over_is_read_first() {
    let wire = [cf(true, OP_TEXT, b"early"), cf(true, OP_TEXT, b"later")];
    // The first frame and half the second were read with the request head.
    let split = wire[0].len() + 3;
    let all = wire.concat();
    let mut reader = WsReader::new(
        &all[split..],
        BytesMut::from(&all[..split]),
        Role::Server,
        LIMITS,
    );
    assert_eq!(reader.next().await.unwrap(), text("early").unwrap());
    assert_eq!(reader.next().await.unwrap(), text("later").unwrap());
}

#[tokio::test]
async fn next_is_cancellation_safe() {
    // Two fragments and a ping, dribbled a byte at a time while `next` is cancelled over
    // and over by a timer: nothing is lost or read twice.
    let mut wire = cf(false, OP_TEXT, "héllo ".as_bytes());
    wire.extend(cf(true, OP_PING, b"p"));
    wire.extend(cf(true, OP_CONTINUATION, "wörld".as_bytes()));
    let (mut peer, io) = tokio::io::duplex(1024);
    let mut reader = WsReader::new(io, BytesMut::new(), Role::Server, LIMITS);
    let mut got = Vec::new();
    let mut sent = 0;
    while got.len() < 2 {
        tokio::select! {
            m = reader.next() => got.push(m.unwrap()),
            () = tokio::time::sleep(Duration::from_millis(1)) => {
                if let Some(b) = wire.get(sent) {
                    tokio::io::AsyncWriteExt::write_all(&mut peer, &[*b]).await.unwrap();
                    sent += 1;
                }
            }
        }
    }
    assert_eq!(
        got,
        vec![
            Incoming::Ping(Bytes::from_static(b"p")),
            text("héllo wörld").unwrap()
        ]
    );
}

#[tokio::test]
async fn writers_frame_for_their_role() {
    // Server frames: unmasked, shortest length form, as in RFC 6455 §5.7.
    let mut out = Vec::new();
    let mut w = WsWriter::new(&mut out, Role::Server);
    w.text(b"Hello").await.unwrap();
    w.ping(b"Hello").await.unwrap();
    w.pong(b"").await.unwrap();
    w.close(1000, "").await.unwrap();
    w.close(1005, "ignored").await.unwrap();
    w.flush().await.unwrap();
    assert_eq!(
        out,
        [
            &[0x81, 0x05][..],
            b"Hello",
            &[0x89, 0x05],
            b"Hello",
            &[0x8a, 0x00],
            &[0x88, 0x02, 0x03, 0xe8],
            &[0x88, 0x00],
        ]
        .concat()
    );

    // Client frames are masked: the bytes differ, and a server reads them back.
    let mut out = Vec::new();
    let mut w = WsWriter::new(&mut out, Role::Client);
    w.text(b"Hello").await.unwrap();
    w.binary(&[9; 300]).await.unwrap();
    assert_eq!(out[1], 0x85, "mask bit and length");
    assert_ne!(&out[6..11], b"Hello");
    assert_eq!(
        server_reads(&out).await,
        vec![
            text("Hello"),
            Ok(Incoming::Binary(Bytes::from(vec![9; 300]))),
            err("Eof")
        ]
    );
}

#[tokio::test]
async fn writers_and_readers_agree_on_every_size_and_both_roles() {
    for role in [Role::Server, Role::Client] {
        let peer = match role {
            Role::Server => Role::Client,
            Role::Client => Role::Server,
        };
        let mut out = Vec::new();
        let mut w = WsWriter::new(&mut out, role);
        let sizes = [0, 1, 125, 126, 65535, 65536, GATHER, GATHER + 1, 300_000];
        for n in sizes {
            w.binary(&vec![(n % 251) as u8; n]).await.unwrap();
        }
        // A reason over 123 bytes is cut at a character boundary to fit.
        let reason = "é".repeat(70);
        w.close(4000, &reason).await.unwrap();
        let got = read_all(&out, peer, LIMITS).await;
        for (i, n) in sizes.iter().enumerate() {
            assert_eq!(
                got[i],
                Ok(Incoming::Binary(Bytes::from(vec![(n % 251) as u8; *n]))),
                "{role:?} {n}"
            );
        }
        assert_eq!(
            got[sizes.len()],
            Ok(Incoming::Close {
                code: Some(4000),
                reason: "é".repeat(61)
            })
        );
    }
}

/// Valid frames, then mutated (bytes flipped, cut, spliced, duplicated) and read in both
/// roles with small limits: the reader may fail, but never panics or hangs.
#[tokio::test]
async fn mutated_frames_never_panic() {
    let mut rng = fastrand::Rng::with_seed(6455);
    let limits = Limits {
        max_frame: 300,
        max_message: 700,
    };
    let mut seen_ok = 0usize;
    for _ in 0..4000 {
        let from = if rng.bool() {
            Role::Client
        } else {
            Role::Server
        };
        let mut wire = Vec::new();
        for _ in 0..rng.usize(1..6) {
            let op = [
                OP_CONTINUATION,
                OP_TEXT,
                OP_BINARY,
                OP_CLOSE,
                OP_PING,
                OP_PONG,
            ][rng.usize(..6)];
            let len = [0, 1, 2, 5, 125, 126, 200, 400, 70000][rng.usize(..9)];
            let payload: Vec<u8> = if rng.bool() {
                "aé€😀".bytes().cycle().take(len).collect()
            } else {
                (0..len).map(|_| rng.u8(..)).collect()
            };
            let fin = u8::from(rng.u8(..4) != 0) << 7;
            wire.extend(raw(fin | op, &payload, from));
        }
        for _ in 0..rng.usize(0..4) {
            if wire.is_empty() {
                break;
            }
            let i = rng.usize(..wire.len());
            match rng.u8(..4) {
                0 => wire[i] ^= 1 << rng.u8(..8),
                1 => wire[i] = rng.u8(..),
                2 => wire.truncate(i),
                _ => {
                    let piece = wire[i..(i + rng.usize(1..20)).min(wire.len())].to_vec();
                    let at = rng.usize(..=wire.len());
                    wire.splice(at..at, piece);
                }
            }
        }
        let role = if rng.u8(..8) == 0 {
            // Sometimes the wrong role, to reach the masking rules.
            from
        } else {
            match from {
                Role::Client => Role::Server,
                Role::Server => Role::Client,
            }
        };
        let got = tokio::time::timeout(Duration::from_secs(5), read_all(&wire, role, limits))
            .await
            .expect("the reader finishes");
        seen_ok += got.iter().filter(|m| m.is_ok()).count();
    }
    assert!(seen_ok > 1000, "the mutations leave valid frames too");
}

// ---- Over a socket, through the server ---------------------------------------------------------

use crate::server::{serve, Handler, OnUpgrade, Upgraded};
use http::Request;
use tokio::net::TcpListener;

/// Echoes text and binary messages, answers pings, and returns a close; refuses what is not
/// an upgrade with the handshake's status.
struct Echo;

impl Handler for Echo {
    async fn handle(&self, req: Request<Body>) -> Response<Body> {
        let upgrade = match check_upgrade(req.method(), req.version(), req.headers()) {
            Ok(upgrade) => upgrade,
            Err(e) => return e.response(),
        };
        let mut resp = switching_protocols(upgrade.key);
        if upgrade.protocols.contains(&"echo.v1") {
            resp.headers_mut()
                .insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static("echo.v1"));
        }
        resp.extensions_mut()
            .insert(OnUpgrade::new(|up: Upgraded| async move {
                let (read, write) = up.stream.into_split();
                let mut reader = WsReader::new(read, up.read_buf, Role::Server, LIMITS);
                let mut writer = WsWriter::new(write, Role::Server);
                loop {
                    let sent = match reader.next().await {
                        Ok(Incoming::Text(t)) => writer.text(&t).await,
                        Ok(Incoming::Binary(b)) => writer.binary(&b).await,
                        Ok(Incoming::Ping(p)) => writer.pong(&p).await,
                        Ok(Incoming::Pong(_)) => Ok(()),
                        Ok(Incoming::Close { code, .. }) => {
                            let _ = writer.close(code.unwrap_or(1005), "").await;
                            return;
                        }
                        Err(e) => {
                            if let Some(code) = e.close_code() {
                                let _ = writer.close(code, "").await;
                            }
                            return;
                        }
                    };
                    if sent.is_err() {
                        return;
                    }
                }
            }));
        resp
    }
}

async fn start_echo() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let _stop = stop;
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, Echo, stop_rx.clone()));
        }
    });
    addr
}

#[tokio::test]
async fn a_websocket_session_through_the_server() {
    let addr = start_echo().await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let (status, headers, leftover) = client_handshake(
        &mut stream,
        "example.com",
        "/chat?x=1",
        &[("Sec-WebSocket-Protocol", "other, echo.v1")],
    )
    .await
    .unwrap();
    assert_eq!(status, StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(headers["sec-websocket-protocol"], "echo.v1");
    assert!(headers.get("date").is_none());
    let (read, write) = stream.into_split();
    let mut reader = WsReader::new(read, leftover, Role::Client, LIMITS);
    let mut writer = WsWriter::new(write, Role::Client);
    for msg in ["one", "two", &"x".repeat(100_000)] {
        writer.text(msg.as_bytes()).await.unwrap();
        assert_eq!(reader.next().await.unwrap(), text(msg).unwrap());
    }
    writer.ping(b"are you there").await.unwrap();
    assert_eq!(
        reader.next().await.unwrap(),
        Incoming::Pong(Bytes::from_static(b"are you there"))
    );
    writer.close(1000, "done").await.unwrap();
    assert_eq!(
        reader.next().await.unwrap(),
        Incoming::Close {
            code: Some(1000),
            reason: String::new()
        }
    );
    assert!(matches!(reader.next().await, Err(WsError::Eof)));

    // A protocol error is answered with its close code.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let (_, _, leftover) = client_handshake(&mut stream, "h", "/", &[]).await.unwrap();
    stream
        .write_all(&raw(0x81, b"unmasked", Role::Server))
        .await
        .unwrap();
    let mut reader = WsReader::new(stream, leftover, Role::Client, LIMITS);
    assert_eq!(
        reader.next().await.unwrap(),
        Incoming::Close {
            code: Some(1002),
            reason: String::new()
        }
    );
}

#[tokio::test]
async fn refused_handshakes_come_back_as_their_status() {
    let addr = start_echo().await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // A second version header makes the version unusable: 426 and the one spoken here.
    let (status, headers, _) =
        client_handshake(&mut stream, "h", "/", &[("Sec-WebSocket-Version", "8")])
            .await
            .unwrap();
    assert_eq!(status, StatusCode::UPGRADE_REQUIRED);
    assert_eq!(headers["sec-websocket-version"], "13");

    // A server that answers 101 with the wrong accept key is refused by the client.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf).await;
        let _ = s
            .write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
            .await;
    });
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let got = client_handshake(&mut stream, "h", "/", &[]).await;
    assert_eq!(
        got.err().map(|e| e.kind()),
        Some(io::ErrorKind::InvalidData)
    );
}

//! The Lambda proxy events of WebSocket APIs (data-plane.md §7.4): CONNECT, MESSAGE and
//! DISCONNECT, in the 2023+ shape AWS sends (captures in the spec), and the function's answer.

use base64::Engine as _;
use bytes::Bytes;
use serde_json::{json, Map, Value};

use apigw_dataplane_rules::context::{clf_time, RequestContext};

use super::integrate::ConnectRequest;

/// The event a `REQUEST` authorizer gets for `$connect` (authorizers.md §4): the CONNECT
/// event's headers, query, stage variables and request context, with `type` and `methodArn`
/// and no `isBase64Encoded`.
pub(super) fn connect_authorizer_event(
    ctx: &RequestContext,
    connect: &ConnectRequest,
    stage_variables: &std::collections::BTreeMap<String, String>,
    method_arn: &str,
) -> Value {
    let Value::Object(connect_event) = lambda_event(ctx, &Kind::Connect(connect), stage_variables)
    else {
        return Value::Null;
    };
    let mut e = Map::new();
    e.insert("type".into(), json!("REQUEST"));
    e.insert("methodArn".into(), json!(method_arn));
    for (k, v) in connect_event {
        if k != "isBase64Encoded" {
            e.insert(k, v);
        }
    }
    // `{}` when the stage has none (the doc's example).
    e.entry("stageVariables").or_insert_with(|| json!({}));
    Value::Object(e)
}

/// What the event is about, beyond `$context`.
pub(super) enum Kind<'a> {
    Connect(&'a ConnectRequest),
    Message {
        body: &'a [u8],
        /// The integration's `CONVERT_TO_BINARY` turned the text into bytes: the event
        /// carries the client's base64 text, flagged.
        base64: bool,
    },
    Disconnect {
        headers: &'a [(String, String)],
    },
}

/// `headers` / `multiValueHeaders` (or the query-string pair): names as the client wrote
/// them, the last value of a repeated name in the single-value map (§7.4 [choice]).
fn maps(pairs: &[(String, String)]) -> (Value, Value) {
    let mut single = Map::new();
    let mut multi: Map<String, Value> = Map::new();
    for (k, v) in pairs {
        single.insert(k.clone(), Value::String(v.clone()));
        match multi.get_mut(k) {
            Some(Value::Array(list)) => list.push(Value::String(v.clone())),
            _ => {
                multi.insert(k.clone(), json!([v]));
            }
        }
    }
    (Value::Object(single), Value::Object(multi))
}

/// The event for `ctx` (a WebSocket context: connection, event type, ids).
pub(super) fn lambda_event(
    ctx: &RequestContext,
    kind: &Kind<'_>,
    stage_variables: &std::collections::BTreeMap<String, String>,
) -> Value {
    let ws = ctx.websocket.clone().unwrap_or_default();
    let mut event = Map::new();
    let headers = match kind {
        Kind::Connect(c) => Some(c.headers.as_slice()),
        Kind::Disconnect { headers } => Some(*headers),
        Kind::Message { .. } => None,
    };
    if let Some(h) = headers {
        let (single, multi) = maps(h);
        event.insert("headers".into(), single);
        event.insert("multiValueHeaders".into(), multi);
    }
    if let Kind::Connect(c) = kind {
        if !c.query.is_empty() {
            let (single, multi) = maps(&c.query);
            event.insert("queryStringParameters".into(), single);
            event.insert("multiValueQueryStringParameters".into(), multi);
        }
    }
    let mut rc = Map::new();
    rc.insert("routeKey".into(), json!(ctx.route_key));
    if let Some(m) = &ws.message_id {
        rc.insert("messageId".into(), json!(m));
    }
    if let Some(code) = ws.disconnect_status_code {
        rc.insert("disconnectStatusCode".into(), json!(code));
    }
    rc.insert("eventType".into(), json!(ws.event_type));
    rc.insert("extendedRequestId".into(), json!(ctx.request_id));
    rc.insert(
        "requestTime".into(),
        json!(clf_time(ctx.request_time_epoch_ms)),
    );
    rc.insert("messageDirection".into(), json!("IN"));
    if let Some(reason) = &ws.disconnect_reason {
        rc.insert("disconnectReason".into(), json!(reason));
    }
    rc.insert("stage".into(), json!(ctx.stage));
    rc.insert("connectedAt".into(), json!(ws.connected_at_ms));
    rc.insert("requestTimeEpoch".into(), json!(ctx.request_time_epoch_ms));
    let mut identity = Map::new();
    if let Some(ua) = &ctx.user_agent {
        identity.insert("userAgent".into(), json!(ua));
    }
    identity.insert("sourceIp".into(), json!(ctx.source_ip));
    rc.insert("identity".into(), Value::Object(identity));
    rc.insert("requestId".into(), json!(ctx.request_id));
    rc.insert("domainName".into(), json!(ctx.domain_name));
    rc.insert("connectionId".into(), json!(ws.connection_id));
    rc.insert("apiId".into(), json!(ctx.api_id));
    // The `$connect` authorizer's answer, values as returned (§4); else `$context.authorizer`.
    match &ws.authorizer {
        Some(a) => {
            rc.insert("authorizer".into(), Value::Object(a.clone()));
        }
        None if !ctx.authorizer.is_empty() => {
            rc.insert("authorizer".into(), json!(ctx.authorizer));
        }
        None => {}
    }
    event.insert("requestContext".into(), Value::Object(rc));
    if let Kind::Message { body, base64 } = kind {
        let text = if *base64 {
            base64::engine::general_purpose::STANDARD.encode(body)
        } else {
            String::from_utf8_lossy(body).into_owned()
        };
        event.insert("body".into(), json!(text));
        event.insert("isBase64Encoded".into(), json!(base64));
    } else {
        event.insert("isBase64Encoded".into(), json!(false));
    }
    if !stage_variables.is_empty() {
        event.insert("stageVariables".into(), json!(stage_variables));
    }
    Value::Object(event)
}

/// A function's answer to a proxy event: `statusCode` (default 200), `headers`, `body`
/// (base64-decoded when `isBase64Encoded`).
#[derive(Debug, PartialEq)]
pub(super) struct ProxyAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// Reads the function's payload. An object is a proxy response; any other JSON value (a
/// function that returns a plain string, say) is the body itself ([choice]). `Err`: a
/// malformed proxy response (a `statusCode` that is no status, a non-string `body`).
pub(super) fn proxy_answer(payload: &[u8]) -> Result<ProxyAnswer, String> {
    let value: Value = serde_json::from_slice(payload)
        .map_err(|e| format!("the function's response is not JSON: {e}"))?;
    let Value::Object(obj) = value else {
        let body = match value {
            Value::String(s) => Bytes::from(s),
            other => Bytes::from(other.to_string()),
        };
        return Ok(ProxyAnswer {
            status: 200,
            headers: Vec::new(),
            body,
        });
    };
    let status = match obj.get("statusCode") {
        None | Some(Value::Null) => 200,
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .filter(|n| (100..600).contains(n))
            .ok_or_else(|| format!("statusCode {n} is not an HTTP status"))?,
        Some(Value::String(s)) => s
            .parse::<u16>()
            .ok()
            .filter(|n| (100..600).contains(n))
            .ok_or_else(|| format!("statusCode {s:?} is not an HTTP status"))?,
        Some(other) => return Err(format!("statusCode {other} is not an HTTP status")),
    };
    let mut headers = Vec::new();
    if let Some(Value::Object(h)) = obj.get("headers") {
        for (k, v) in h {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            headers.push((k.clone(), v));
        }
    }
    let base64 = obj.get("isBase64Encoded") == Some(&Value::Bool(true));
    let body = match obj.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(s)) if base64 => Bytes::from(
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|e| format!("body is not base64: {e}"))?,
        ),
        Some(Value::String(s)) => Bytes::from(s.clone()),
        Some(other) => Bytes::from(other.to_string()),
    };
    Ok(ProxyAnswer {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use apigw_dataplane_rules::context::WebSocketContext;

    fn ctx(event_type: &'static str, route_key: &str) -> RequestContext {
        RequestContext {
            api_id: "gy415nuibc".into(),
            domain_name: "127.0.0.1:4566".into(),
            request_id: "R1knPH17NjMFftw=".into(),
            request_time_epoch_ms: 1_705_751_700_453,
            route_key: route_key.into(),
            stage: "prod".into(),
            source_ip: "127.0.0.1".into(),
            user_agent: Some("ua".into()),
            websocket: Some(WebSocketContext {
                connection_id: "R1kmxc2VNjMCFIA=".into(),
                connected_at_ms: 1_705_751_697_419,
                event_type,
                message_id: (event_type == "MESSAGE").then(|| "R1knPc2ntjMCFIA=".into()),
                disconnect_status_code: (event_type == "DISCONNECT").then_some(1001),
                disconnect_reason: (event_type == "DISCONNECT").then(String::new),
                authorizer: None,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn message_event_has_the_captured_shape() {
        let e = lambda_event(
            &ctx("MESSAGE", "$default"),
            &Kind::Message {
                body: b"{\"a\": 1}",
                base64: false,
            },
            &Default::default(),
        );
        let rc = &e["requestContext"];
        assert_eq!(rc["routeKey"], "$default");
        assert_eq!(rc["messageId"], "R1knPc2ntjMCFIA=");
        assert_eq!(rc["eventType"], "MESSAGE");
        assert_eq!(rc["requestTime"], "20/Jan/2024:11:55:00 +0000");
        assert_eq!(rc["messageDirection"], "IN");
        assert_eq!(rc["connectedAt"], 1_705_751_697_419i64);
        assert_eq!(rc["identity"]["sourceIp"], "127.0.0.1");
        assert_eq!(rc["connectionId"], "R1kmxc2VNjMCFIA=");
        assert_eq!(e["body"], "{\"a\": 1}");
        assert_eq!(e["isBase64Encoded"], false);
        assert!(e.get("headers").is_none());
        assert!(rc.get("disconnectStatusCode").is_none());
    }

    #[test]
    fn disconnect_event_carries_code_and_headers() {
        let headers = vec![("Host".to_string(), "h".to_string())];
        let e = lambda_event(
            &ctx("DISCONNECT", "$disconnect"),
            &Kind::Disconnect { headers: &headers },
            &Default::default(),
        );
        assert_eq!(e["requestContext"]["disconnectStatusCode"], 1001);
        assert_eq!(e["requestContext"]["disconnectReason"], "");
        assert_eq!(e["headers"]["Host"], "h");
        assert_eq!(e["multiValueHeaders"]["Host"], json!(["h"]));
        assert!(e.get("body").is_none());
        assert!(e["requestContext"].get("messageId").is_none());
    }

    #[test]
    fn proxy_answers() {
        let a = proxy_answer(
            br#"{"statusCode": 200, "body": "hi", "headers": {"Sec-WebSocket-Protocol": "p"}}"#,
        )
        .unwrap();
        assert_eq!(a.status, 200);
        assert_eq!(a.body, "hi");
        assert_eq!(
            a.headers,
            vec![("Sec-WebSocket-Protocol".into(), "p".into())]
        );
        assert_eq!(proxy_answer(br#"{"statusCode": 400}"#).unwrap().status, 400);
        assert_eq!(proxy_answer(br#""plain""#).unwrap().body, "plain");
        assert_eq!(
            proxy_answer(br#"{"body": "aGk=", "isBase64Encoded": true}"#)
                .unwrap()
                .body,
            "hi"
        );
        assert!(proxy_answer(br#"{"statusCode": "abc"}"#).is_err());
        assert!(proxy_answer(b"not json").is_err());
    }
}

//! The `@connections` management API (data-plane.md §7.9; botocore's
//! `apigatewaymanagementapi`, restJson1): `POST` sends to a connection, `GET` describes it,
//! `DELETE` closes it. Under both addressing forms, at the stage's root.

use std::time::SystemTime;

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};

use apigw_dataplane_rules::websocket::is_valid_connection_id;
// `PostToConnection`'s `Data` limit (B: 131072 bytes) is the message payload quota.
use apigw_model::limits::WEBSOCKET_MESSAGE;

use super::{Frame, SendError};
use crate::snapshot::StageEntry;
use crate::DataPlane;

/// The connection id of a stage-relative path `/@connections/{id}` (the `@` and the id may be
/// percent-encoded: `/%40connections/R0oXAdfD0kwCH6w%3D`), decoded.
pub(super) fn connection_id_in(route_path: &str) -> Option<String> {
    let rest = route_path
        .strip_prefix("/@connections/")
        .or_else(|| route_path.strip_prefix("/%40connections/"))?;
    Some(
        percent_encoding::percent_decode_str(rest)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

/// An error in restJson1's form: status, `x-amzn-ErrorType`, `{"message": …}`.
fn error(status: StatusCode, error_type: &'static str, message: &str) -> Response<Body> {
    let body = serde_json::json!({ "message": message }).to_string();
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert("x-amzn-errortype", HeaderValue::from_static(error_type));
    r
}

fn gone() -> Response<Body> {
    error(
        StatusCode::GONE,
        "GoneException",
        "The connection with the provided id no longer exists.",
    )
}

fn iso8601_ms(epoch_ms: i64) -> String {
    let secs = apigw_model::Timestamp(epoch_ms.div_euclid(1000)).to_iso8601();
    // `2022-01-25T18:50:04Z` → `2022-01-25T18:50:04.673Z`, as AWS reports it.
    format!(
        "{}.{:03}Z",
        secs.trim_end_matches('Z'),
        epoch_ms.rem_euclid(1000)
    )
}

pub(super) async fn handle(
    dp: &DataPlane,
    stage: &StageEntry,
    req: Request<Body>,
    id: &str,
    request_id: &str,
) -> Response<Body> {
    let mut resp = answer(dp, stage, req, id).await;
    if let Ok(v) = HeaderValue::from_str(request_id) {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    resp
}

async fn answer(
    dp: &DataPlane,
    stage: &StageEntry,
    req: Request<Body>,
    id: &str,
) -> Response<Body> {
    let (parts, body) = req.into_parts();
    // Read one byte over the limit, so "too large" is told from "exactly the limit".
    let body: Bytes = match axum::body::to_bytes(body, WEBSOCKET_MESSAGE + 1).await {
        Ok(b) => b,
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PayloadTooLargeException",
                "The data has exceeded the maximum size allowed.",
            )
        }
    };
    // IAM authorization when the operator configured credentials (§7.9: SigV4, `execute-api`).
    if let Some(creds) = dp.config.credentials.as_ref().filter(|c| !c.is_empty()) {
        let signed = apigw_sigv4::RequestParts {
            method: parts.method.as_str(),
            raw_path: parts.uri.path(),
            raw_query: parts.uri.query().unwrap_or(""),
            headers: &parts.headers,
        };
        if let Err(e) = apigw_sigv4::verify(
            creds,
            &signed,
            &apigw_sigv4::payload_hash(&body),
            SystemTime::now(),
        ) {
            tracing::debug!(error = %e, "@connections request refused");
            return error(StatusCode::FORBIDDEN, "ForbiddenException", &e.to_string());
        }
    }
    if !is_valid_connection_id(id) {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequestException",
            &format!("Invalid connectionId: {id}"),
        );
    }
    // Ids are per API and stage: another stage's connection is not this endpoint's.
    let Some(conn) = dp
        .ws
        .get(id)
        .filter(|c| c.api_id == stage.api_id && c.stage_name == stage.stage_name)
    else {
        return gone();
    };
    match parts.method {
        http::Method::POST => {
            if body.len() > WEBSOCKET_MESSAGE {
                return error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "PayloadTooLargeException",
                    "The data has exceeded the maximum size allowed.",
                );
            }
            match conn.try_send(Frame::data(body)) {
                Ok(()) => Response::new(Body::empty()),
                Err(SendError::Full) => error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "LimitExceededException",
                    "The client is sending more than the allowed number of requests per unit of time or the WebSocket client side buffer is full.",
                ),
                Err(SendError::Closed) => gone(),
            }
        }
        http::Method::GET => {
            let mut identity = serde_json::Map::new();
            identity.insert("sourceIp".into(), conn.source_ip.clone().into());
            if let Some(ua) = &conn.user_agent {
                identity.insert("userAgent".into(), ua.clone().into());
            }
            let body = serde_json::json!({
                "connectedAt": iso8601_ms(conn.connected_at_ms),
                "identity": identity,
                "lastActiveAt": iso8601_ms(conn.last_active_ms()),
            });
            let mut r = Response::new(Body::from(body.to_string()));
            r.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r
        }
        http::Method::DELETE => {
            if conn.close(1000, "Connection Closed Normally") {
                let mut r = Response::new(Body::empty());
                *r.status_mut() = StatusCode::NO_CONTENT;
                r
            } else {
                gone()
            }
        }
        _ => error(StatusCode::NOT_FOUND, "NotFoundException", "Not Found"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_paths() {
        assert_eq!(
            connection_id_in("/@connections/R0oXAdfD0kwCH6w%3D").unwrap(),
            "R0oXAdfD0kwCH6w="
        );
        assert_eq!(
            connection_id_in("/%40connections/R0oXAdfD0kwCH6w=").unwrap(),
            "R0oXAdfD0kwCH6w="
        );
        assert_eq!(connection_id_in("/other"), None);
    }

    #[test]
    fn times_have_milliseconds() {
        assert_eq!(iso8601_ms(1_643_136_604_673), "2022-01-25T18:50:04.673Z");
    }
}

//! Responses the gateway makes itself (data-plane.md §9.3): the one place that maps a data-plane
//! failure to a status and body.

use axum::body::Body;
use http::{HeaderValue, Response, StatusCode};

/// Why the gateway answered instead of the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayError {
    /// A request path with a dot segment (address.rs `has_dot_segment`).
    BadRequest,
    NotFound,
    /// An authorizer found no (valid) credentials (authorizers.md §2.6, §3.4).
    Unauthorized,
    /// `disableExecuteApiEndpoint` (§10 #19: REST's answer).
    Forbidden,
    TooManyRequests,
    PayloadTooLarge,
    HeadersTooLarge,
    InternalServerError,
    ServiceUnavailable,
}

impl GatewayError {
    pub fn status(self) -> StatusCode {
        match self {
            GatewayError::BadRequest => StatusCode::BAD_REQUEST,
            GatewayError::NotFound => StatusCode::NOT_FOUND,
            GatewayError::Unauthorized => StatusCode::UNAUTHORIZED,
            GatewayError::Forbidden => StatusCode::FORBIDDEN,
            GatewayError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            GatewayError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            GatewayError::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            GatewayError::InternalServerError => StatusCode::INTERNAL_SERVER_ERROR,
            GatewayError::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn body(self) -> &'static str {
        match self {
            GatewayError::BadRequest => r#"{"message":"Bad Request"}"#,
            GatewayError::NotFound => r#"{"message":"Not Found"}"#,
            GatewayError::Unauthorized => r#"{"message":"Unauthorized"}"#,
            GatewayError::Forbidden => r#"{"message":"Forbidden"}"#,
            GatewayError::TooManyRequests => r#"{"message":"Too Many Requests"}"#,
            GatewayError::PayloadTooLarge => r#"{"message":"Request Entity Too Large"}"#,
            GatewayError::HeadersTooLarge => r#"{"message":"Request Header Fields Too Large"}"#,
            GatewayError::InternalServerError => r#"{"message":"Internal Server Error"}"#,
            GatewayError::ServiceUnavailable => r#"{"message":"Service Unavailable"}"#,
        }
    }

    /// `$context.error.responseType`-style name, for access logs.
    pub fn response_type(self) -> &'static str {
        match self {
            GatewayError::BadRequest => "DEFAULT_4XX",
            GatewayError::NotFound => "RESOURCE_NOT_FOUND",
            GatewayError::Unauthorized => "UNAUTHORIZED",
            GatewayError::Forbidden => "ACCESS_DENIED",
            GatewayError::TooManyRequests => "THROTTLED",
            GatewayError::PayloadTooLarge => "REQUEST_TOO_LARGE",
            GatewayError::HeadersTooLarge => "REQUEST_TOO_LARGE",
            GatewayError::InternalServerError => "DEFAULT_5XX",
            GatewayError::ServiceUnavailable => "INTEGRATION_FAILURE",
        }
    }

    pub fn message(self) -> &'static str {
        let b = self.body();
        &b[12..b.len() - 2]
    }

    pub fn into_response(self) -> Response<Body> {
        let body = self.body();
        let mut r = Response::new(Body::from(body));
        *r.status_mut() = self.status();
        let h = r.headers_mut();
        h.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h.insert(http::header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        r
    }
}

/// The data plane's form of a refusal by the HTTP server (malformed framing, a body too
/// slow, two `Host`s): `{"message":"<reason>"}` like every gateway answer, with its own id.
pub fn refusal(status: StatusCode) -> Response<Body> {
    let body: std::borrow::Cow<'static, str> = match status {
        StatusCode::PAYLOAD_TOO_LARGE => GatewayError::PayloadTooLarge.body().into(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => GatewayError::HeadersTooLarge.body().into(),
        _ => format!(
            r#"{{"message":"{}"}}"#,
            status.canonical_reason().unwrap_or("Bad Request")
        )
        .into(),
    };
    let len = body.len();
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(http::header::CONTENT_LENGTH, HeaderValue::from(len));
    let id = apigw_dataplane_rules::context::request_id_bytes();
    if let Ok(v) = HeaderValue::from_bytes(&id) {
        h.insert("apigw-requestid", v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_exact() {
        assert_eq!(GatewayError::ServiceUnavailable.body().len(), 33);
        assert_eq!(
            GatewayError::ServiceUnavailable.message(),
            "Service Unavailable"
        );
        assert_eq!(GatewayError::NotFound.message(), "Not Found");
    }
}

//! The one place where errors become restJson1 responses: status, `x-amzn-ErrorType`,
//! `{"message": …}` plus the modeled extra members.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use apigw_model::ServiceError;

#[derive(Debug)]
pub enum WireError {
    Service(ServiceError),
    /// The request body is larger than we read.
    PayloadTooLarge,
    /// No operation lives at this path.
    UnknownPath(String),
    /// The path exists, the method does not.
    MethodNotAllowed,
    /// Credentials are configured and the request's signature is missing or wrong.
    Unauthenticated(apigw_sigv4::SigV4Error),
}

impl From<ServiceError> for WireError {
    fn from(e: ServiceError) -> Self {
        WireError::Service(e)
    }
}

impl WireError {
    pub fn bad_request(msg: impl Into<String>) -> Self {
        WireError::Service(ServiceError::BadRequest(msg.into()))
    }
}

impl IntoResponse for WireError {
    fn into_response(self) -> Response {
        let (status, code, body) = match self {
            WireError::Service(ServiceError::BadRequest(m)) => (
                StatusCode::BAD_REQUEST,
                "BadRequestException",
                json!({ "message": m }),
            ),
            WireError::Service(ServiceError::NotFound {
                message,
                resource_type,
            }) => {
                let mut body = json!({ "message": message });
                if let Some(t) = resource_type {
                    body["resourceType"] = json!(t);
                }
                (StatusCode::NOT_FOUND, "NotFoundException", body)
            }
            WireError::Service(ServiceError::Conflict(m)) => (
                StatusCode::CONFLICT,
                "ConflictException",
                json!({ "message": m }),
            ),
            WireError::Service(ServiceError::TooManyRequests {
                message,
                limit_type,
            }) => {
                let mut body = json!({ "message": message });
                if let Some(t) = limit_type {
                    body["limitType"] = json!(t);
                }
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    "TooManyRequestsException",
                    body,
                )
            }
            WireError::Service(ServiceError::Internal(m)) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerErrorException",
                json!({ "message": m }),
            ),
            WireError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLargeException",
                json!({ "message": "Request Entity Too Large" }),
            ),
            WireError::UnknownPath(p) => (
                StatusCode::NOT_FOUND,
                "NotFoundException",
                json!({ "message": format!("No operation matches the path {p}") }),
            ),
            WireError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowedException",
                json!({ "message": "The HTTP method is not allowed for this resource" }),
            ),
            WireError::Unauthenticated(e) => (
                StatusCode::FORBIDDEN,
                e.code(),
                json!({ "message": e.to_string() }),
            ),
        };
        let mut resp = (status, axum::Json(body)).into_response();
        resp.headers_mut()
            .insert("x-amzn-ErrorType", HeaderValue::from_static(code));
        resp
    }
}

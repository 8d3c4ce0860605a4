//! The one place where errors become restJson1 responses: status and `x-amzn-ErrorType` chosen
//! by the error's kind, `{"message": …}` plus the modeled extra members.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use apigw_model::{ErrorKind, ServiceError};

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
            WireError::Service(e) => {
                let (status, code) = match e.kind() {
                    ErrorKind::BadRequest => (StatusCode::BAD_REQUEST, "BadRequestException"),
                    ErrorKind::NotFound => (StatusCode::NOT_FOUND, "NotFoundException"),
                    ErrorKind::AlreadyExists | ErrorKind::Conflict => {
                        (StatusCode::CONFLICT, "ConflictException")
                    }
                    ErrorKind::TooManyRequests => {
                        (StatusCode::TOO_MANY_REQUESTS, "TooManyRequestsException")
                    }
                    ErrorKind::Internal => (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "InternalServerErrorException",
                    ),
                };
                let mut body = json!({ "message": e.to_string() });
                // The modeled members beyond the message.
                match e {
                    ServiceError::NotFound {
                        resource_type: Some(t),
                        ..
                    } => body["resourceType"] = json!(t),
                    ServiceError::TooManyRequests {
                        limit_type: Some(t),
                        ..
                    } => body["limitType"] = json!(t),
                    _ => {}
                }
                (status, code, body)
            }
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

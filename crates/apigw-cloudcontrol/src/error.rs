//! Cloud Control errors and their one mapping to the awsJson1_0 wire.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// A Cloud Control operation that could not produce an answer (as opposed to a FAILED
/// ProgressEvent, which is a successful answer).
#[derive(Debug, thiserror::Error)]
pub enum CcError {
    #[error("{0}")]
    UnknownOperation(String),
    #[error("{0}")]
    Serialization(String),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    TypeNotFound(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    RequestTokenNotFound(String),
    #[error("{0}")]
    ClientTokenConflict(String),
    #[error("{0}")]
    ConcurrentModification(String),
    #[error("{0}")]
    ConcurrentOperation(String),
    #[error("{0}")]
    Throttling(String),
    #[error("{0}")]
    ServiceInternalError(String),
    /// Credentials are configured and the request's signature is missing or wrong.
    #[error("{0}")]
    Unauthenticated(apigw_sigv4::SigV4Error),
}

impl CcError {
    pub fn code(&self) -> &'static str {
        match self {
            CcError::UnknownOperation(_) => "UnknownOperationException",
            CcError::Serialization(_) => "SerializationException",
            CcError::InvalidRequest(_) => "InvalidRequestException",
            CcError::TypeNotFound(_) => "TypeNotFoundException",
            CcError::ResourceNotFound(_) => "ResourceNotFoundException",
            CcError::RequestTokenNotFound(_) => "RequestTokenNotFoundException",
            CcError::ClientTokenConflict(_) => "ClientTokenConflictException",
            CcError::ConcurrentModification(_) => "ConcurrentModificationException",
            CcError::ConcurrentOperation(_) => "ConcurrentOperationException",
            CcError::Throttling(_) => "ThrottlingException",
            CcError::ServiceInternalError(_) => "ServiceInternalErrorException",
            CcError::Unauthenticated(e) => e.code(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            CcError::ServiceInternalError(_) => StatusCode::INTERNAL_SERVER_ERROR,
            CcError::Unauthenticated(_) => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for CcError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "__type": self.code(), "Message": self.to_string() });
        let mut resp = (self.status(), body.to_string()).into_response();
        let h = resp.headers_mut();
        h.insert(
            "content-type",
            HeaderValue::from_static("application/x-amz-json-1.0"),
        );
        h.insert("x-amzn-ErrorType", HeaderValue::from_static(self.code()));
        resp
    }
}

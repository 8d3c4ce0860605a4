//! Cloud Control errors and their one mapping to the awsJson1_0 wire; the one choice of Cloud
//! Control codes for service errors, by their kind: as a request's error ([`CcError`], via
//! `From<ServiceError>`) and as a handler's ([`Failure`], a FAILED ProgressEvent's ErrorCode).

use apigw_model::{ErrorKind, ServiceError};
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

/// A service error answered as a request's error (reads, lists, the request records).
impl From<ServiceError> for CcError {
    fn from(e: ServiceError) -> CcError {
        match e.kind() {
            ErrorKind::NotFound => CcError::ResourceNotFound(e.to_string()),
            ErrorKind::BadRequest => CcError::InvalidRequest(e.to_string()),
            ErrorKind::TooManyRequests => CcError::Throttling(e.to_string()),
            ErrorKind::AlreadyExists | ErrorKind::Conflict | ErrorKind::Internal => {
                CcError::ServiceInternalError(e.to_string())
            }
        }
    }
}

/// A handler that failed: a FAILED ProgressEvent (a successful answer of the request).
#[derive(Debug)]
pub(crate) enum Failure {
    /// A rule of the service refused the change.
    Service(ServiceError),
    /// Cloud Control's own checks (schema, identifier, patch), with their handler code.
    Handler(&'static str, String),
}

impl From<ServiceError> for Failure {
    fn from(e: ServiceError) -> Failure {
        Failure::Service(e)
    }
}

impl Failure {
    /// The ProgressEvent's ErrorCode for an `operation` (CREATE, UPDATE, DELETE).
    pub(crate) fn code(&self, operation: &str) -> &'static str {
        match self {
            Failure::Service(e) => handler_code(e.kind(), operation),
            Failure::Handler(code, _) => code,
        }
    }

    pub(crate) fn message(&self) -> String {
        match self {
            Failure::Service(e) => e.to_string(),
            Failure::Handler(_, m) => m.clone(),
        }
    }
}

/// Handler error codes by kind. A name or key taken is `AlreadyExists` when creating, a
/// `ResourceConflict` when an update would take it.
fn handler_code(kind: ErrorKind, operation: &str) -> &'static str {
    match kind {
        ErrorKind::BadRequest => "InvalidRequest",
        ErrorKind::NotFound => "NotFound",
        ErrorKind::AlreadyExists if operation == "CREATE" => "AlreadyExists",
        ErrorKind::AlreadyExists | ErrorKind::Conflict => "ResourceConflict",
        ErrorKind::TooManyRequests => "Throttling",
        ErrorKind::Internal => "ServiceInternalError",
    }
}

//! The errors the service can answer with, in the service's own vocabulary.
//!
//! An error carries its provenance (pingora's `Error` is the model): its [`ErrorKind`] (what
//! the apigatewayv2 model calls it; what every protocol maps), its [`Origin`] (the request, or
//! our side: the store, encoding, our own wiring) and, for our side, the cause it wraps
//! (`std::error::Error::source`). Each wire protocol maps kinds, never messages, in exactly one
//! place: apigw-restjson `error.rs`, apigw-cloudcontrol `error.rs`.

use std::sync::Arc;

use thiserror::Error;

/// What went wrong, as the apigatewayv2 model classifies its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// 400 `BadRequestException`: the request breaks a rule.
    BadRequest,
    /// 404 `NotFoundException`.
    NotFound,
    /// 409 `ConflictException`: a resource of that name or key exists already.
    AlreadyExists,
    /// 409 `ConflictException`: the current state forbids the change (a resource in use).
    Conflict,
    /// 429 `TooManyRequestsException`: a quota.
    TooManyRequests,
    /// 500: something on our side failed; never caused by input.
    Internal,
}

/// Where an error comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// The request: a rule of the service refused it.
    Request,
    /// The store could not make a change durable or reload state.
    Store,
    /// A value could not be encoded or decoded.
    Encoding,
    /// Our own wiring (a route's labels that do not fit its resource, …).
    Service,
}

/// A failure on our side: where, what we were doing, and the error that caused it.
#[derive(Debug, Clone)]
pub struct InternalError {
    pub origin: Origin,
    /// What failed, in the words answered to the client.
    pub context: String,
    pub cause: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl std::fmt::Display for InternalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.cause {
            Some(cause) => write!(f, "{}: {cause}", self.context),
            None => f.write_str(&self.context),
        }
    }
}

impl std::error::Error for InternalError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
}

impl PartialEq for InternalError {
    fn eq(&self, other: &Self) -> bool {
        self.origin == other.origin && self.to_string() == other.to_string()
    }
}

impl Eq for InternalError {}

/// A failed operation, classified the way the apigatewayv2 model classifies its errors.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ServiceError {
    /// 400 `BadRequestException`.
    #[error("{0}")]
    BadRequest(String),
    /// 404 `NotFoundException`; `resource_type` is the modeled `resourceType` member.
    #[error("{message}")]
    NotFound {
        message: String,
        resource_type: Option<&'static str>,
    },
    /// 409 `ConflictException`: the name or key is taken.
    #[error("{0}")]
    AlreadyExists(String),
    /// 409 `ConflictException`.
    #[error("{0}")]
    Conflict(String),
    /// 429 `TooManyRequestsException`.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        limit_type: Option<String>,
    },
    /// 500: something on our side failed (storage, encoding); never caused by input.
    #[error(transparent)]
    Internal(InternalError),
}

impl ServiceError {
    pub fn bad_request(msg: impl Into<String>) -> Self {
        ServiceError::BadRequest(msg.into())
    }
    pub fn conflict(msg: impl Into<String>) -> Self {
        ServiceError::Conflict(msg.into())
    }
    pub fn already_exists(msg: impl Into<String>) -> Self {
        ServiceError::AlreadyExists(msg.into())
    }
    pub fn not_found(msg: impl Into<String>) -> Self {
        ServiceError::NotFound {
            message: msg.into(),
            resource_type: None,
        }
    }
    /// The quota error AWS gives when a per-API limit is reached.
    pub fn limit_exceeded(what: &str, limit: usize) -> Self {
        ServiceError::TooManyRequests {
            message: format!("Maximum number of {what} reached: {limit}"),
            limit_type: Some(what.to_string()),
        }
    }
    /// A failure on our side with no underlying error.
    pub fn internal(origin: Origin, context: impl Into<String>) -> Self {
        ServiceError::Internal(InternalError {
            origin,
            context: context.into(),
            cause: None,
        })
    }
    /// A failure on our side caused by `cause`; answered as `{context}: {cause}`.
    pub fn caused_by(
        origin: Origin,
        context: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        ServiceError::Internal(InternalError {
            origin,
            context: context.into(),
            cause: Some(Arc::new(cause)),
        })
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            ServiceError::BadRequest(_) => ErrorKind::BadRequest,
            ServiceError::NotFound { .. } => ErrorKind::NotFound,
            ServiceError::AlreadyExists(_) => ErrorKind::AlreadyExists,
            ServiceError::Conflict(_) => ErrorKind::Conflict,
            ServiceError::TooManyRequests { .. } => ErrorKind::TooManyRequests,
            ServiceError::Internal(_) => ErrorKind::Internal,
        }
    }

    pub fn origin(&self) -> Origin {
        match self {
            ServiceError::Internal(e) => e.origin,
            _ => Origin::Request,
        }
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_internal_error_keeps_its_origin_and_cause() {
        let io = std::io::Error::other("disk full");
        let e = ServiceError::caused_by(Origin::Store, "The change could not be stored", io);
        assert_eq!(e.kind(), ErrorKind::Internal);
        assert_eq!(e.origin(), Origin::Store);
        assert_eq!(e.to_string(), "The change could not be stored: disk full");
        let cause = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(cause.as_deref(), Some("disk full"));
        assert_eq!(ServiceError::bad_request("x").origin(), Origin::Request);
    }
}

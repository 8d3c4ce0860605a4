//! The errors the service can answer with, in the service's own vocabulary.
//! Each wire protocol maps these to its own shape in exactly one place.

use thiserror::Error;

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
    /// 409 `ConflictException`.
    #[error("{0}")]
    Conflict(String),
    /// 429 `TooManyRequestsException`.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        limit_type: Option<String>,
    },
    /// 500: something on our side failed (storage); never caused by input.
    #[error("{0}")]
    Internal(String),
}

impl ServiceError {
    pub fn bad_request(msg: impl Into<String>) -> Self {
        ServiceError::BadRequest(msg.into())
    }
    pub fn conflict(msg: impl Into<String>) -> Self {
        ServiceError::Conflict(msg.into())
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
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

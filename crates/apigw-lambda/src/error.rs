//! Errors of a Lambda invocation, named as Lambda's Invoke API names them. Mapped to the
//! wire in exactly one place: [`crate::invoke_api`].

/// Why an invocation did not produce a function result. A function that ran and failed is
/// not an error here: it is an [`crate::InvokeOutcome`] with `function_error` set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LambdaError {
    /// No such function (or no such version/alias) here or at `--lambda-endpoint`.
    #[error("Function not found: {0}")]
    ResourceNotFound(String),
    #[error(
        "Request must be smaller than {} bytes for the InvokeFunction operation",
        apigw_model::limits::LAMBDA_PAYLOAD
    )]
    RequestTooLarge,
    #[error("Could not parse request body into json: {0}")]
    InvalidRequestContent(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    InvalidParameterValue(String),
    #[error("Invocation type {0} is not supported")]
    InvalidInvocationType(String),
    /// The caller's timeout (an integration's `timeoutInMillis`) passed first; the function
    /// may still be running and finishes (or times out) on its own.
    #[error("the caller's timeout elapsed before the function answered")]
    Timeout,
    /// A remote Lambda answered with an error of its own.
    #[error("{error_type}: {message}")]
    Remote {
        status: u16,
        error_type: String,
        message: String,
    },
    /// Something on our side failed (could not start a process, remote unreachable, ...).
    #[error("{0}")]
    Service(String),
}

impl LambdaError {
    /// `(HTTP status, x-amzn-ErrorType, Type)` as Lambda's Invoke API reports it.
    pub fn wire(&self) -> (u16, &str, &'static str) {
        match self {
            LambdaError::ResourceNotFound(_) => (404, "ResourceNotFoundException", "User"),
            LambdaError::RequestTooLarge => (413, "RequestTooLargeException", "User"),
            LambdaError::InvalidRequestContent(_) => {
                (400, "InvalidRequestContentException", "User")
            }
            LambdaError::Validation(_) => (400, "ValidationException", "User"),
            LambdaError::InvalidParameterValue(_) => {
                (400, "InvalidParameterValueException", "User")
            }
            LambdaError::InvalidInvocationType(_) => {
                (400, "InvalidParameterValueException", "User")
            }
            LambdaError::Timeout => (504, "ServiceException", "Service"),
            LambdaError::Remote {
                status, error_type, ..
            } => (*status, error_type.as_str(), "User"),
            LambdaError::Service(_) => (500, "ServiceException", "Service"),
        }
    }
}

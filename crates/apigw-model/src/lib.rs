//! The API Gateway V2 resource model: the shapes of `Api`, `Authorizer`, `Integration`, `Route`,
//! `RouteResponse`, `IntegrationResponse`, `Stage` and `Deployment`, their defaults and every
//! validation rule of the service.
//!
//! Boundary: pure data and rules. No I/O, no clock, no randomness — callers pass ids and
//! timestamps in. The structs' serde form *is* the apigatewayv2 wire form (camelCase); the
//! CloudFormation form is derived from it, not written again.

pub mod api;
pub mod authorizer;
pub mod enums;
pub mod error;
pub mod ids;
pub mod integration;
pub mod integration_response;
pub mod limits;
pub mod mapping;
pub mod route;
pub mod selection;
pub mod stage;
pub mod time;
pub mod validate;

pub use api::{Api, ApiInput, Cors, QuickCreate, QuickUpdate};
pub use authorizer::{Authorizer, AuthorizerInput, IdentitySource, JwtConfiguration};
pub use enums::*;
pub use error::{ErrorKind, InternalError, Origin, Result, ServiceError};
pub use integration::{Integration, IntegrationInput, TlsConfig};
pub use integration_response::{IntegrationResponse, IntegrationResponseInput};
pub use route::{
    ParameterConstraints, Route, RouteInput, RouteKey, RouteResponse, RouteResponseInput,
};
pub use stage::{AccessLogSettings, Deployment, DeploymentInput, RouteSettings, Stage, StageInput};
pub use time::Timestamp;

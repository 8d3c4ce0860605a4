//! The pure per-request rules of the HTTP API data plane (data-plane.md §1.6, §2.3, §3, §9):
//! `$context` variables ([`context`]), parameter mapping of integration requests and responses
//! ([`mapping`]), CORS preflight and response headers ([`cors`]), token-bucket throttling
//! ([`throttle`]), access-log rendering ([`access_log`]), JWT authorizers' token checks
//! ([`jwt`]), Lambda authorizers' answers, policies and result cache ([`lambda_authorizer`]) and
//! `AWS_IAM` route authorization ([`iam`]).
//!
//! Boundary: no sockets, no files, no async, no clock reads — callers pass requests in as
//! borrowed views (`http::HeaderMap`, raw query, body bytes), pass `Instant`s and epoch times in,
//! and apply the returned changes themselves. Configuration (mappings, CORS, throttling limits,
//! log formats) is compiled once per routing snapshot so the per-request work stays small.

pub mod access_log;
pub mod context;
pub mod cors;
pub mod iam;
pub mod interned;
pub mod jwt;
pub mod lambda_authorizer;
pub mod mapping;
pub mod throttle;
pub mod websocket;

pub use access_log::AccessLogFormat;
pub use context::{
    GatewayError, IntegrationOutcome, RequestContext, ResponseOutcome, WebSocketContext,
};
pub use cors::CorsPolicy;
pub use mapping::{
    CompiledRequestMapping, CompiledResponseMapping, CompiledWsRequestMapping, MappingError,
    OutgoingRequest, RequestView, ResponseView, WsRequestView, WsTarget,
};
pub use throttle::{Limits, StageThrottle, TokenBucket};

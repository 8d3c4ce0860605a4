//! Size quotas on bodies and payloads, one constant per AWS limit. Every layer that reads a
//! body holds it to one of these; none writes the number again.
//!
//! AWS states its limits in "MB"/"KB"; the services enforce binary multiples (Lambda's
//! `RequestTooLargeException` names 6291456 bytes), so these are MiB/KiB.

/// A control-plane request body: apigatewayv2 restJson1 (`/v2/...`, also what the SigV4
/// check reads) and Cloud Control (`POST /`).
pub const CONTROL_PLANE_BODY: usize = 6 * 1024 * 1024;

/// Lambda's synchronous invocation payload, request and response ("6 MB").
pub const LAMBDA_PAYLOAD: usize = 6 * 1024 * 1024;

/// Lambda's asynchronous (`Event`) invocation payload ("256 KB").
pub const LAMBDA_EVENT_PAYLOAD: usize = 256 * 1024;

/// An HTTP API's request payload ("10 MB"), also the most of an integration's answer read.
pub const HTTP_API_PAYLOAD: usize = 10 * 1024 * 1024;

/// A WebSocket API's message payload ("128 KB"), also `PostToConnection`'s `Data`.
pub const WEBSOCKET_MESSAGE: usize = 128 * 1024;

/// A WebSocket API's frame ("32 KB").
pub const WEBSOCKET_FRAME: usize = 32 * 1024;

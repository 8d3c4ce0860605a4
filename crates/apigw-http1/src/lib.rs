//! HTTP/1.1 on the wire, both ways, for a proxy's hot path.
//!
//! Job: the server side of the gateway's one port ([`server`]: request heads parsed with
//! httparse, bodies streamed, responses framed and written) and the client side of backend
//! connections ([`client`]: one exchange at a time on a pooled connection; [`tls`]: the roots
//! every outgoing TLS connection trusts), and WebSocket on a connection the server hands over
//! after a `101` ([`ws`]: handshakes and frames). All run
//! inside the task that owns the connection: no per-connection tasks or channels between a
//! request and its socket, which is where hyper spends most of what a proxied request costs
//! here (bench/proxy-instructions.sh).
//!
//! Boundary: bytes and `http` types only. What a request means (control plane, data plane)
//! is the service's business; which backend connection to use is the caller's pool's.

pub mod client;
mod date;
pub mod framing;
pub mod names;
pub mod server;
pub mod tls;
pub mod ws;

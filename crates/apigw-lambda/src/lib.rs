//! Lambda for the gateway: runs functions locally behind the Lambda Runtime API 2018-06-01
//! (one child process per execution environment, as Lambda's execution model has it), sends
//! invocations of other functions to a remote Lambda Invoke API (`--lambda-endpoint`, SigV4),
//! serves the Invoke API itself (`POST /2015-03-31/functions/{name}/invocations`), and builds
//! and parses the HTTP API Lambda proxy payloads 1.0 and 2.0 ([`payload`]).
//!
//! Boundary: this crate knows functions and payloads, not APIs, routes or stages. An
//! `AWS_PROXY` integration in the data plane does:
//!
//! ```text
//! let function = FunctionRef::from_integration_uri(&uri_after_stage_variables)?;   // else 500
//! let format = PayloadFormat::parse(&integration.payload_format_version)?;          // "1.0" | "2.0"
//! let event = format.event(&ProxyRequest { .. });                                    // serde_json::Value
//! let invoked = lambda.invoke(&function, event.to_string().into(), timeout).await;
//! match payload::proxy_response(format, invoked) {
//!     Ok(ProxyResponse { status, headers, body }) => /* then response mappings, CORS */,
//!     Err(e) => /* e.http(): 500 Internal Server Error, or 503 Service Unavailable */,
//! }
//! ```
//!
//! No container isolation: a function is a local process with the gateway's user and files.

mod arn;
pub mod config;
mod error;
mod host;
mod invoke_api;
pub mod payload;
mod remote;
mod runtime_api;
mod time;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apigw_model::limits::{LAMBDA_EVENT_PAYLOAD, LAMBDA_PAYLOAD};
use base64::Engine;
use bytes::Bytes;

pub use arn::{FunctionRef, UriError};
pub use config::{ConfigError, FunctionConfig};
pub use error::LambdaError;
pub use host::request_id;

use host::Function;
use remote::Remote;

/// What the gateway hosts and where other functions live.
#[derive(Debug, Clone)]
pub struct LambdaConfig {
    pub functions: Vec<FunctionConfig>,
    /// Region of the hosted functions' ARNs and `AWS_REGION` (default `us-east-1`).
    pub region: String,
    /// Account of the hosted functions' ARNs (default `000000000000`).
    pub account_id: String,
    /// `--lambda-endpoint`: where functions not hosted here are invoked.
    pub remote_endpoint: Option<String>,
    /// PEM CA files trusted for an `https://` remote endpoint besides the system's roots
    /// (`--backend-ca-file`).
    pub remote_ca_files: Vec<std::path::PathBuf>,
}

impl Default for LambdaConfig {
    fn default() -> Self {
        LambdaConfig {
            functions: Vec::new(),
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            remote_endpoint: None,
            remote_ca_files: Vec::new(),
        }
    }
}

/// Lambda's `X-Amz-Invocation-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvocationType {
    /// Synchronous (what API Gateway uses).
    #[default]
    RequestResponse,
    /// Asynchronous: 202 at once, the function runs in the background.
    Event,
    /// Checks the call only: 204.
    DryRun,
}

/// Options of one invocation beyond the payload.
#[derive(Debug, Clone, Default)]
pub struct InvokeOptions {
    pub invocation_type: InvocationType,
    /// `X-Amz-Log-Type: Tail`: return the last 4 KB of the invocation's log.
    pub log_tail: bool,
    /// `X-Amz-Client-Context`, decoded (JSON text).
    pub client_context: Option<String>,
    /// How long the caller waits (an integration's `timeoutInMillis`). `None`: until the
    /// function answers or hits its own timeout.
    pub timeout: Option<Duration>,
}

/// The result of an invocation that reached a function. A function error is an outcome,
/// not an [`LambdaError`]: the payload is then the error document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeOutcome {
    /// 200 (RequestResponse), 202 (Event), 204 (DryRun).
    pub status: u16,
    pub payload: Bytes,
    /// `X-Amz-Function-Error` (`Unhandled`) when the function failed, crashed or timed out.
    pub function_error: Option<String>,
    /// `X-Amz-Log-Result`: base64 of the log tail, when asked for.
    pub log_result: Option<String>,
    /// `X-Amz-Executed-Version` (`$LATEST`) for synchronous invocations.
    pub executed_version: Option<String>,
    /// Lambda's request id of this invocation (the runtime's `Lambda-Runtime-Aws-Request-Id`).
    pub request_id: String,
}

/// Cloneable handle on the hosted functions and the remote endpoint.
#[derive(Clone)]
pub struct Lambda {
    inner: Arc<Inner>,
}

struct Inner {
    functions: HashMap<String, Arc<Function>>,
    remote: Option<Remote>,
    region: String,
    account_id: String,
    /// Background (`Event`) invocations still running, for shutdown.
    background: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Lambda {
    /// Checks the configuration; starts nothing (environments start on first use).
    pub fn new(config: LambdaConfig) -> Result<Lambda, ConfigError> {
        let mut functions = HashMap::new();
        for f in config.functions {
            let name = f.name.clone();
            let function = Function::new(f, &config.region, &config.account_id);
            if functions.insert(name.clone(), Arc::new(function)).is_some() {
                return Err(ConfigError(format!("function {name} is defined twice")));
            }
        }
        let remote = config
            .remote_endpoint
            .as_deref()
            .map(|url| Remote::new(url, &config.remote_ca_files))
            .transpose()?;
        Ok(Lambda {
            inner: Arc::new(Inner {
                functions,
                remote,
                region: config.region,
                account_id: config.account_id,
                background: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Names of the hosted functions.
    pub fn function_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.inner.functions.keys().cloned().collect();
        names.sort();
        names
    }

    /// The remote Invoke API, if any.
    pub fn remote_endpoint(&self) -> Option<&str> {
        self.inner.remote.as_ref().map(Remote::endpoint)
    }

    /// Live execution environments of a hosted function.
    pub fn environment_count(&self, function: &str) -> usize {
        self.inner
            .functions
            .get(function)
            .map_or(0, |f| f.environment_count())
    }

    /// Synchronous invocation as an `AWS_PROXY` integration makes it: returns the outcome,
    /// or [`LambdaError::Timeout`] once `timeout` passes (the function keeps running until
    /// it answers or reaches its own timeout; its environment is not reused before).
    pub async fn invoke(
        &self,
        function: &FunctionRef,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<InvokeOutcome, LambdaError> {
        let opts = InvokeOptions {
            timeout: Some(timeout),
            ..InvokeOptions::default()
        };
        self.invoke_with(function, payload, &opts).await
    }

    /// Any invocation the Invoke API can express.
    pub async fn invoke_with(
        &self,
        function: &FunctionRef,
        payload: Bytes,
        opts: &InvokeOptions,
    ) -> Result<InvokeOutcome, LambdaError> {
        let limit = match opts.invocation_type {
            InvocationType::Event => LAMBDA_EVENT_PAYLOAD,
            _ => LAMBDA_PAYLOAD,
        };
        if payload.len() > limit {
            return Err(LambdaError::RequestTooLarge);
        }
        let Some(hosted) = self.inner.functions.get(&function.name) else {
            if let Some(remote) = &self.inner.remote {
                let call = remote.invoke(function, &self.inner.region, payload, opts);
                return match opts.timeout {
                    Some(t) => tokio::time::timeout(t, call)
                        .await
                        .unwrap_or(Err(LambdaError::Timeout)),
                    None => call.await,
                };
            }
            return Err(LambdaError::ResourceNotFound(
                function.arn(&self.inner.region, &self.inner.account_id),
            ));
        };
        if !function.is_latest() {
            return Err(LambdaError::ResourceNotFound(
                function.arn(&self.inner.region, &self.inner.account_id),
            ));
        }
        // Lambda hands an empty payload to the function as `{}`.
        let payload = if payload.iter().all(u8::is_ascii_whitespace) {
            Bytes::from_static(b"{}")
        } else {
            if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&payload) {
                return Err(LambdaError::InvalidRequestContent(format!(
                    "Could not parse payload into json: {e}"
                )));
            }
            payload
        };
        let request_id = request_id();
        match opts.invocation_type {
            InvocationType::DryRun => {
                return Ok(InvokeOutcome {
                    status: 204,
                    payload: Bytes::new(),
                    function_error: None,
                    log_result: None,
                    executed_version: None,
                    request_id,
                })
            }
            InvocationType::Event => {
                let f = hosted.clone();
                let (id, cc) = (request_id.clone(), opts.client_context.clone());
                let task = tokio::spawn(async move {
                    let _ = f.invoke(id, payload, cc).await;
                });
                let mut bg = self
                    .inner
                    .background
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                bg.retain(|t| !t.is_finished());
                bg.push(task);
                return Ok(InvokeOutcome {
                    status: 202,
                    payload: Bytes::new(),
                    function_error: None,
                    log_result: None,
                    executed_version: None,
                    request_id,
                });
            }
            InvocationType::RequestResponse => {}
        }
        // The invocation runs in its own task: a caller that gives up (timeout, client gone)
        // never cuts a function short or leaks its environment.
        let f = hosted.clone();
        let (id, cc) = (request_id.clone(), opts.client_context.clone());
        let task = tokio::spawn(async move { f.invoke(id, payload, cc).await });
        let joined = match opts.timeout {
            Some(t) => match tokio::time::timeout(t, task).await {
                Ok(j) => j,
                Err(_) => return Err(LambdaError::Timeout),
            },
            None => task.await,
        };
        let result =
            joined.map_err(|e| LambdaError::Service(format!("invocation task failed: {e}")))??;
        let log_result = if opts.log_tail {
            // Output written just before the response may still be in the pipe.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let log = result.log.lock().unwrap_or_else(|e| e.into_inner());
            let start = log.len().saturating_sub(host::LOG_TAIL_BYTES);
            Some(base64::engine::general_purpose::STANDARD.encode(&log[start..]))
        } else {
            None
        };
        let (payload, function_error) = match result.reply {
            Ok(p) => (p, None),
            Err(failure) => (failure.payload, Some("Unhandled".to_string())),
        };
        Ok(InvokeOutcome {
            status: 200,
            payload,
            function_error,
            log_result,
            executed_version: Some("$LATEST".into()),
            request_id,
        })
    }

    /// The Invoke API routes, for the binary to mount on its port.
    pub fn invoke_api(&self) -> axum::Router {
        invoke_api::router(self.clone())
    }

    /// Kills every execution environment and waits for the processes to exit.
    pub async fn shutdown(&self) {
        let background: Vec<_> = self
            .inner
            .background
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
            .collect();
        for f in self.inner.functions.values() {
            f.shutdown().await;
        }
        for t in background {
            t.abort();
        }
    }
}

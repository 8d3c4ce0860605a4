//! `--lambda-endpoint`: invocations of functions not hosted here go to a Lambda Invoke API
//! elsewhere (real AWS Lambda over https, `cargo lambda watch`, another emulator), signed with
//! SigV4. The client is the data plane's: apigw-http1's HTTP/1.1 exchange on a connection of a
//! small keep-alive pool, TLS trusting apigw-http1's roots (the system's, read on the first
//! https call, plus the operator's `--backend-ca-file`s).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use apigw_http1::client::{self, Connection, ExchangeError, IdlePool, RequestHead};
use apigw_http1::tls::Roots;
use axum::body::Body;
use axum::http::{Request, Response, Uri};
use bytes::Bytes;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rustls::pki_types::ServerName;

/// SigV4's unreserved characters stay; everything else is `%XX`.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Signing credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Credentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
}

use crate::arn::FunctionRef;
use crate::config::ConfigError;
use crate::error::LambdaError;
use crate::{InvocationType, InvokeOptions, InvokeOutcome};

/// A connection (TCP, and the TLS handshake for https) that takes longer is not coming.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a call may take, connection to the last byte of the answer, whatever the
/// caller's own timeout: Lambda runs a function for at most 900 s, and this leaves the trip a
/// margin. (`InvokeOptions::timeout`, when shorter, ends the call first.)
const CALL_TIMEOUT: Duration = Duration::from_secs(900 + 30);
/// An idle connection older than this is closed rather than reused: below the 5 s keep-alive
/// of common servers, so their close rarely races a request (hyper-util's setting here before).
const IDLE_TIMEOUT: Duration = Duration::from_secs(4);
/// Idle connections kept to the endpoint.
const MAX_IDLE: usize = 64;

pub(crate) struct Remote {
    /// `http[s]://host[:port]` plus an optional base path, without a trailing `/`.
    base: String,
    scheme: &'static str,
    /// As sent in `Host` and signed: without the scheme's default port.
    authority: String,
    /// Where connections go (an IPv6 host keeps its brackets) and the TLS server name.
    host: String,
    port: u16,
    base_path: String,
    /// The region an AWS endpoint (`lambda[-fips].REGION.amazonaws.com[.cn]`) names: AWS only
    /// accepts signatures scoped to it, whatever region a function ARN carries.
    endpoint_region: Option<String>,
    /// Operator CA files parsed at start-up (a bad file stops the server); the system's roots
    /// are read on the first https call, not at start-up.
    roots: Roots,
    pool: Arc<IdlePool>,
    creds: Credentials,
}

impl Remote {
    /// `url` is `http[s]://host[:port][/base]`; `ca_files` are trusted besides the system's
    /// roots. Credentials come from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
    /// `AWS_SESSION_TOKEN` (any key works against emulators).
    pub fn new(url: &str, ca_files: &[PathBuf]) -> Result<Remote, ConfigError> {
        let uri: Uri = url
            .parse()
            .map_err(|_| ConfigError(format!("--lambda-endpoint {url:?} is not a URL")))?;
        let (scheme, default_port) = match uri.scheme_str() {
            Some("http") => ("http", 80),
            Some("https") => ("https", 443),
            _ => {
                return Err(ConfigError(format!(
                    "--lambda-endpoint {url:?} must start with http:// or https://"
                )))
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| ConfigError(format!("--lambda-endpoint {url:?} has no host")))?;
        let endpoint_region = aws_endpoint_region(authority.host());
        let host = authority.host().to_string();
        let port = authority.port_u16().unwrap_or(default_port);
        let authority = match authority.port_u16() {
            Some(p) if p == default_port => authority.host().to_string(),
            _ => authority.to_string(),
        };
        let base_path = uri.path().trim_end_matches('/').to_string();
        let roots = Roots::new(ca_files).map_err(|e| ConfigError(e.to_string()))?;
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Ok(Remote {
            base: format!("{scheme}://{authority}{base_path}"),
            scheme,
            authority,
            host,
            port,
            base_path,
            endpoint_region,
            roots,
            pool: Arc::new(IdlePool::new(IDLE_TIMEOUT, MAX_IDLE)),
            creds: Credentials {
                access_key_id: env("AWS_ACCESS_KEY_ID").unwrap_or_else(|| "test".into()),
                secret_access_key: env("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|| "test".into()),
                session_token: env("AWS_SESSION_TOKEN"),
            },
        })
    }

    /// A new connection to the endpoint (TCP, and TLS for https) within [`CONNECT_TIMEOUT`].
    async fn connect(&self) -> Result<Connection, String> {
        let tls = if self.scheme == "https" {
            let name = ServerName::try_from(self.host.trim_matches(['[', ']']).to_string())
                .map_err(|e| format!("{:?} is not a TLS server name: {e}", self.host))?;
            Some((self.roots.connector(), name))
        } else {
            None
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, client::connect(&self.host, self.port, tls))
            .await
        {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(with_causes(&e)),
            Err(_) => Err(format!(
                "connect error: no connection within {} s",
                CONNECT_TIMEOUT.as_secs()
            )),
        }
    }

    /// Sends a request head (origin-form, `Host` among its headers) and `payload`: on an idle
    /// connection, or a new one. A reused connection the endpoint closed as the request went
    /// out (a write failed, so it was not all sent) is retried on another; after that the
    /// endpoint may have acted, and an invocation is not repeated.
    async fn send(&self, head: &RequestHead, payload: &Bytes) -> Result<Response<Body>, String> {
        while let Some(conn) = self.pool.take() {
            let mut body = Body::from(payload.clone());
            match client::exchange(conn, head, &mut body, &self.pool).await {
                Ok(resp) => return Ok(resp),
                Err(ExchangeError::Write(_)) => continue,
                Err(e) => return Err(with_causes(&e)),
            }
        }
        let conn = self.connect().await?;
        let mut body = Body::from(payload.clone());
        client::exchange(conn, head, &mut body, &self.pool)
            .await
            .map_err(|e| with_causes(&e))
    }

    pub fn endpoint(&self) -> &str {
        &self.base
    }

    pub async fn invoke(
        &self,
        function: &FunctionRef,
        default_region: &str,
        payload: Bytes,
        opts: &InvokeOptions,
    ) -> Result<InvokeOutcome, LambdaError> {
        let region = self
            .endpoint_region
            .as_deref()
            .or(function.region.as_deref())
            .unwrap_or(default_region);
        // The name as the caller gave it, without the qualifier (that goes in the query).
        let name = match (&function.region, &function.account_id) {
            (Some(r), Some(a)) => format!("arn:aws:lambda:{r}:{a}:function:{}", function.name),
            (None, Some(a)) => format!("{a}:function:{}", function.name),
            _ => function.name.clone(),
        };
        let path = format!(
            "{}/2015-03-31/functions/{}/invocations",
            self.base_path,
            utf8_percent_encode(&name, UNRESERVED)
        );
        let query = function
            .qualifier
            .as_deref()
            .map(|q| format!("Qualifier={}", utf8_percent_encode(q, UNRESERVED)))
            .unwrap_or_default();
        let mut headers = vec![
            ("host".to_string(), self.authority.clone()),
            (
                "x-amz-invocation-type".to_string(),
                opts.invocation_type.as_str().to_string(),
            ),
        ];
        if opts.log_tail {
            headers.push(("x-amz-log-type".into(), "Tail".into()));
        }
        if let Some(cc) = &opts.client_context {
            use base64::Engine;
            headers.push((
                "x-amz-client-context".into(),
                base64::engine::general_purpose::STANDARD.encode(cc),
            ));
        }
        if let Some(t) = &self.creds.session_token {
            headers.push(("x-amz-security-token".into(), t.clone()));
        }
        let mut to_sign = axum::http::HeaderMap::new();
        for (k, v) in &headers {
            if let (Ok(k), Ok(v)) = (
                axum::http::HeaderName::from_bytes(k.as_bytes()),
                axum::http::HeaderValue::from_str(v),
            ) {
                to_sign.append(k, v);
            }
        }
        let signature = apigw_sigv4::sign(
            &self.creds.access_key_id,
            &self.creds.secret_access_key,
            region,
            "lambda",
            &apigw_sigv4::RequestParts {
                method: "POST",
                raw_path: &path,
                raw_query: &query,
                headers: &to_sign,
            },
            &payload,
            SystemTime::now(),
        );
        headers.extend(signature.into_iter().map(|(k, v)| (k.to_string(), v)));
        let target = if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        };
        let mut req = Request::post(target);
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req
            .body(Body::from(payload.clone()))
            .map_err(|e| LambdaError::Service(format!("cannot build the Invoke request: {e}")))?;
        // Encoded once: a retry on another connection sends the same bytes.
        let head = RequestHead::encode(&req);
        drop(req);
        let call = async {
            let resp = self.send(&head, &payload).await.map_err(|why| {
                tracing::warn!(endpoint = %self.base, error = %why, "remote Lambda call failed");
                LambdaError::Service(format!("Lambda endpoint {} unreachable: {why}", self.base))
            })?;
            let (parts, body) = resp.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await.map_err(|e| {
                LambdaError::Service(format!("reading the Lambda response: {}", with_causes(&e)))
            })?;
            Ok::<_, LambdaError>((parts, body))
        };
        let (parts, body) = tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .unwrap_or_else(|_| {
                tracing::warn!(endpoint = %self.base, "remote Lambda call timed out");
                Err(LambdaError::Service(format!(
                    "Lambda endpoint {} did not answer within {} s",
                    self.base,
                    CALL_TIMEOUT.as_secs()
                )))
            })?;
        let status = parts.status.as_u16();
        let header = |n: &str| {
            parts
                .headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let function_error = header("x-amz-function-error");
        let log_result = header("x-amz-log-result");
        let executed_version = header("x-amz-executed-version");
        let request_id = header("x-amzn-requestid").unwrap_or_default();
        let error_type = header("x-amzn-errortype");
        if status >= 400 {
            let doc: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let message = doc
                .get("message")
                .or_else(|| doc.get("Message"))
                .and_then(|m| m.as_str())
                .unwrap_or("")
                .to_string();
            let error_type = error_type
                .as_deref()
                .and_then(|t| t.split(':').next())
                .or_else(|| doc.get("__type").and_then(|t| t.as_str()))
                .unwrap_or("ServiceException")
                .to_string();
            if error_type == "ResourceNotFoundException" {
                return Err(LambdaError::ResourceNotFound(
                    message
                        .strip_prefix("Function not found: ")
                        .unwrap_or(&message)
                        .to_string(),
                ));
            }
            return Err(LambdaError::Remote {
                status,
                error_type,
                message,
            });
        }
        Ok(InvokeOutcome {
            status,
            payload: body,
            function_error,
            log_result,
            executed_version,
            request_id,
        })
    }
}

/// An error's text followed by its causes' (`tls handshake error: invalid peer certificate:
/// UnknownIssuer`): the outer texts alone do not say what failed.
fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

/// `REGION` of `lambda.REGION.amazonaws.com` (also `lambda-fips.`, `.amazonaws.com.cn`).
fn aws_endpoint_region(host: &str) -> Option<String> {
    let host = host.to_ascii_lowercase();
    let rest = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))?;
    let region = rest
        .strip_prefix("lambda.")
        .or_else(|| rest.strip_prefix("lambda-fips."))?;
    let valid = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    valid.then(|| region.to_string())
}

impl InvocationType {
    pub fn as_str(self) -> &'static str {
        match self {
            InvocationType::RequestResponse => "RequestResponse",
            InvocationType::Event => "Event",
            InvocationType::DryRun => "DryRun",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_endpoints_sign_the_host_without_the_default_port() {
        let r = Remote::new("https://lambda.us-east-1.amazonaws.com:443/", &[]).unwrap();
        assert_eq!(r.authority, "lambda.us-east-1.amazonaws.com");
        assert_eq!(r.endpoint(), "https://lambda.us-east-1.amazonaws.com");
        assert_eq!(r.endpoint_region.as_deref(), Some("us-east-1"));
        let r = Remote::new("https://localhost:8443/base/", &[]).unwrap();
        assert_eq!(r.authority, "localhost:8443");
        assert_eq!(r.base_path, "/base");
        assert_eq!(r.endpoint_region, None);
        let r = Remote::new("http://127.0.0.1:80", &[]).unwrap();
        assert_eq!(r.authority, "127.0.0.1");
        assert_eq!((r.host.as_str(), r.port), ("127.0.0.1", 80));
        // Nothing is loaded or connected before the first call.
        assert!(!r.roots.is_loaded());
        let r = Remote::new("https://[::1]:9443", &[]).unwrap();
        assert_eq!((r.host.as_str(), r.port), ("[::1]", 9443));
    }

    #[test]
    fn aws_endpoints_name_their_signing_region() {
        for (host, region) in [
            ("lambda.eu-west-1.amazonaws.com", Some("eu-west-1")),
            (
                "lambda-fips.us-gov-west-1.amazonaws.com",
                Some("us-gov-west-1"),
            ),
            ("lambda.cn-north-1.amazonaws.com.cn", Some("cn-north-1")),
            (
                "LAMBDA.AP-SOUTHEAST-2.AMAZONAWS.COM",
                Some("ap-southeast-2"),
            ),
            ("lambda.amazonaws.com", None),
            ("sqs.eu-west-1.amazonaws.com", None),
            ("localhost", None),
            ("127.0.0.1", None),
        ] {
            assert_eq!(aws_endpoint_region(host).as_deref(), region, "{host}");
        }
    }

    #[test]
    fn bad_endpoints_and_ca_files_are_configuration_errors() {
        assert!(Remote::new("ftp://example.com", &[]).is_err());
        assert!(Remote::new("localhost:9000", &[]).is_err());
        let missing = PathBuf::from("/nonexistent/ca.pem");
        let e = Remote::new("https://localhost:1", &[missing])
            .err()
            .unwrap();
        assert!(e.0.contains("/nonexistent/ca.pem"), "{}", e.0);
    }
}

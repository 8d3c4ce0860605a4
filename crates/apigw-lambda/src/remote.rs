//! `--lambda-endpoint`: invocations of functions not hosted here go to a Lambda Invoke API
//! elsewhere (`cargo lambda watch`, another emulator, a signing proxy), signed with SigV4.

use std::time::{Duration, SystemTime};

use axum::http::{Request, Uri};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

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

pub(crate) struct Remote {
    /// `http://host:port` plus an optional base path, without a trailing `/`.
    base: String,
    authority: String,
    base_path: String,
    client: Client<HttpConnector, Full<Bytes>>,
    creds: Credentials,
}

impl Remote {
    /// `url` is `http://host[:port][/base]`. Credentials come from `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` (any key works against emulators).
    pub fn new(url: &str) -> Result<Remote, ConfigError> {
        let uri: Uri = url
            .parse()
            .map_err(|_| ConfigError(format!("--lambda-endpoint {url:?} is not a URL")))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(ConfigError(
                    "--lambda-endpoint supports http:// only in this build (no TLS client); \
                     put a local signing or TLS proxy in front of https endpoints"
                        .into(),
                ))
            }
            _ => {
                return Err(ConfigError(format!(
                    "--lambda-endpoint {url:?} must start with http://"
                )))
            }
        }
        let authority = uri
            .authority()
            .map(|a| a.to_string())
            .ok_or_else(|| ConfigError(format!("--lambda-endpoint {url:?} has no host")))?;
        let base_path = uri.path().trim_end_matches('/').to_string();
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        Ok(Remote {
            base: format!("http://{authority}{base_path}"),
            authority,
            base_path,
            client: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(4))
                .build(connector),
            creds: Credentials {
                access_key_id: env("AWS_ACCESS_KEY_ID").unwrap_or_else(|| "test".into()),
                secret_access_key: env("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|| "test".into()),
                session_token: env("AWS_SESSION_TOKEN"),
            },
        })
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
        let region = function.region.as_deref().unwrap_or(default_region);
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
        let uri = if query.is_empty() {
            format!("http://{}{path}", self.authority)
        } else {
            format!("http://{}{path}?{query}", self.authority)
        };
        let mut req = Request::post(uri);
        for (k, v) in &headers {
            if k != "host" {
                req = req.header(k.as_str(), v.as_str());
            }
        }
        let req = req
            .body(Full::new(payload))
            .map_err(|e| LambdaError::Service(format!("cannot build the Invoke request: {e}")))?;
        let resp = self.client.request(req).await.map_err(|e| {
            LambdaError::Service(format!("Lambda endpoint {} unreachable: {e}", self.base))
        })?;
        let status = resp.status().as_u16();
        let header = |n: &str| {
            resp.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let function_error = header("x-amz-function-error");
        let log_result = header("x-amz-log-result");
        let executed_version = header("x-amz-executed-version");
        let request_id = header("x-amzn-requestid").unwrap_or_default();
        let error_type = header("x-amzn-errortype");
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| LambdaError::Service(format!("reading the Lambda response: {e}")))?
            .to_bytes();
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

impl InvocationType {
    pub fn as_str(self) -> &'static str {
        match self {
            InvocationType::RequestResponse => "RequestResponse",
            InvocationType::Event => "Event",
            InvocationType::DryRun => "DryRun",
        }
    }
}

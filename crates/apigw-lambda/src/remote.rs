//! `--lambda-endpoint`: invocations of functions not hosted here go to a Lambda Invoke API
//! elsewhere (real AWS Lambda over https, `cargo lambda watch`, another emulator), signed with
//! SigV4. TLS is the data plane's stack: rustls with `ring`, the system's roots (loaded on the
//! first call) plus the operator's `--backend-ca-file`s.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use axum::http::{Request, Uri};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

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

type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;
type TlsBuilder = rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier>;

pub(crate) struct Remote {
    /// `http[s]://host[:port]` plus an optional base path, without a trailing `/`.
    base: String,
    scheme: &'static str,
    /// As sent in `Host` and signed: without the scheme's default port (hyper leaves it out).
    authority: String,
    base_path: String,
    /// The region an AWS endpoint (`lambda[-fips].REGION.amazonaws.com[.cn]`) names: AWS only
    /// accepts signatures scoped to it, whatever region a function ARN carries.
    endpoint_region: Option<String>,
    tls_builder: TlsBuilder,
    /// Operator CA files, parsed at start-up so a bad file stops the server.
    extra_roots: Vec<CertificateDer<'static>>,
    /// Built on the first call: reading the system's roots costs milliseconds that start-up
    /// should not pay when no remote function is ever called.
    client: OnceLock<HttpClient>,
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
        let authority = match authority.port_u16() {
            Some(p) if p == default_port => authority.host().to_string(),
            _ => authority.to_string(),
        };
        let base_path = uri.path().trim_end_matches('/').to_string();
        let mut extra_roots = Vec::new();
        for path in ca_files {
            let bad =
                |e: String| ConfigError(format!("cannot read CA file {}: {e}", path.display()));
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|e| bad(e.to_string()))?
                .collect::<Result<_, _>>()
                .map_err(|e| bad(e.to_string()))?;
            if certs.is_empty() {
                return Err(bad("no PEM certificates in it".into()));
            }
            extra_roots.extend(certs);
        }
        // `ring` explicitly: test builds also compile aws-lc-rs (for the SDK), and with two
        // providers rustls would not pick one by itself.
        let tls_builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError(format!("TLS setup: {e}")))?;
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Ok(Remote {
            base: format!("{scheme}://{authority}{base_path}"),
            scheme,
            authority,
            base_path,
            endpoint_region,
            tls_builder,
            extra_roots,
            client: OnceLock::new(),
            creds: Credentials {
                access_key_id: env("AWS_ACCESS_KEY_ID").unwrap_or_else(|| "test".into()),
                secret_access_key: env("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|| "test".into()),
                session_token: env("AWS_SESSION_TOKEN"),
            },
        })
    }

    fn client(&self) -> &HttpClient {
        self.client.get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            // A plain-http endpoint never verifies a certificate: skip the system's roots.
            if self.scheme == "https" {
                let native = rustls_native_certs::load_native_certs();
                for e in &native.errors {
                    tracing::debug!(error = %e, "a system root certificate could not be loaded");
                }
                let (_added, _ignored) = roots.add_parsable_certificates(native.certs);
                let (_added, ignored) = roots.add_parsable_certificates(self.extra_roots.clone());
                if ignored > 0 {
                    tracing::warn!(ignored, "CA certificates not usable as trust anchors");
                }
            }
            let tls = self
                .tls_builder
                .clone()
                .with_root_certificates(roots)
                .with_no_client_auth();
            let mut http = HttpConnector::new();
            http.enforce_http(false);
            http.set_nodelay(true);
            http.set_connect_timeout(Some(Duration::from_secs(5)));
            let connector = HttpsConnectorBuilder::new()
                .with_tls_config(tls)
                .https_or_http()
                .enable_http1()
                .wrap_connector(http);
            Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(4))
                .build(connector)
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
        let uri = if query.is_empty() {
            format!("{}://{}{path}", self.scheme, self.authority)
        } else {
            format!("{}://{}{path}?{query}", self.scheme, self.authority)
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
        let resp = self.client().request(req).await.map_err(|e| {
            // hyper's own text is terse ("client error (Connect)"): the causes say what
            // failed (refused, certificate not trusted, ...).
            let mut why = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                why.push_str(": ");
                why.push_str(&c.to_string());
                cause = c.source();
            }
            tracing::warn!(endpoint = %self.base, error = %why, "remote Lambda call failed");
            LambdaError::Service(format!("Lambda endpoint {} unreachable: {why}", self.base))
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
        // Nothing is loaded or connected before the first call.
        assert!(r.client.get().is_none());
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

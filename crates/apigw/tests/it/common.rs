//! Shared harness: start/stop the server, build SDK clients, send raw HTTP.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_sdk_apigatewayv2 as apigw;

/// A running `apigw serve` process with its own data directory.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    owns_dir: bool,
}

pub fn fresh_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "apigw-it-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

impl Server {
    /// Starts a server on a fresh data directory.
    pub fn start() -> Server {
        let dir = fresh_dir();
        let mut s = Server::start_in(&dir);
        s.owns_dir = true;
        s
    }

    /// Starts a server on `dir` (for restart tests).
    pub fn start_in(dir: &Path) -> Server {
        Server::start_with(dir, &[])
    }

    pub fn start_with(dir: &Path, extra: &[&str]) -> Server {
        Server::spawn(Command::new(env!("CARGO_BIN_EXE_apigw")), dir, extra)
    }

    /// Starts a server with these flags on a fresh data directory (removed at the end).
    pub fn start_args(extra: &[&str]) -> Server {
        let mut s = Server::start_with(&fresh_dir(), extra);
        s.owns_dir = true;
        s
    }

    /// Starts a server on a fresh directory whose process may open at most `nofile` files
    /// (soft and hard `RLIMIT_NOFILE`, set by the shell before it becomes the server).
    pub fn start_with_file_limit(nofile: u32, extra: &[&str]) -> Server {
        let mut sh = Command::new("sh");
        sh.args([
            "-c",
            &format!("ulimit -n {nofile} && exec \"$0\" \"$@\""),
            env!("CARGO_BIN_EXE_apigw"),
        ]);
        let mut s = Server::spawn(sh, &fresh_dir(), extra);
        s.owns_dir = true;
        s
    }

    fn spawn(mut command: Command, dir: &Path, extra: &[&str]) -> Server {
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start apigw");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("apigw listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .parse()
            .unwrap();
        Server {
            child,
            addr,
            data_dir: dir.to_path_buf(),
            owns_dir: false,
        }
    }

    /// How many file descriptors the server process holds now.
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// An SDK client for `region` pointed at this server, retries off so errors surface once.
    pub fn client(&self, region: &str) -> apigw::Client {
        let creds =
            aws_credential_types::Credentials::new("AKIDTEST", "secret", None, None, "static");
        let conf = apigw::Config::builder()
            .behavior_version(apigw::config::BehaviorVersion::latest())
            .region(apigw::config::Region::new(region.to_string()))
            .credentials_provider(creds)
            .endpoint_url(self.endpoint())
            .retry_config(apigw::config::retry::RetryConfig::disabled())
            .build();
        apigw::Client::from_conf(conf)
    }

    /// A Cloud Control SDK client for `region` pointed at this server, retries off.
    pub fn cc_client(&self, region: &str) -> aws_sdk_cloudcontrol::Client {
        use aws_sdk_cloudcontrol as cc;
        let creds =
            aws_credential_types::Credentials::new("AKIDTEST", "secret", None, None, "static");
        let conf = cc::Config::builder()
            .behavior_version(cc::config::BehaviorVersion::latest())
            .region(cc::config::Region::new(region.to_string()))
            .credentials_provider(creds)
            .endpoint_url(self.endpoint())
            .retry_config(cc::config::retry::RetryConfig::disabled())
            .build();
        cc::Client::from_conf(conf)
    }

    /// Stops with SIGKILL: nothing gets a chance to flush.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops with SIGTERM and waits for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.owns_dir {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

/// A raw HTTP/1.1 exchange (Connection: close), for what SDKs cannot send.
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Sends `method path` with `body`; `region` goes into a SigV4-shaped Authorization header.
pub fn raw(addr: SocketAddr, method: &str, path: &str, body: &[u8], region: &str) -> RawResponse {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/{region}/apigateway/aws4_request, SignedHeaders=host, Signature=00\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect::<Vec<_>>();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    RawResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

/// The error code and message an SDK error carries.
pub fn err_code<E, R>(e: &aws_sdk_apigatewayv2::error::SdkError<E, R>) -> (String, String)
where
    E: aws_sdk_apigatewayv2::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match e.as_service_error() {
        Some(se) => (
            se.code().unwrap_or("").to_string(),
            se.message().unwrap_or("").to_string(),
        ),
        None => (format!("not a service error: {e:?}"), String::new()),
    }
}

/// Creates an HTTP API and returns its id.
pub async fn http_api(c: &apigw::Client) -> String {
    c.create_api()
        .name("t")
        .protocol_type(apigw::types::ProtocolType::Http)
        .send()
        .await
        .unwrap()
        .api_id
        .unwrap()
}

/// Creates a WebSocket API and returns its id.
pub async fn ws_api(c: &apigw::Client) -> String {
    c.create_api()
        .name("ws")
        .protocol_type(apigw::types::ProtocolType::Websocket)
        .route_selection_expression("$request.body.action")
        .send()
        .await
        .unwrap()
        .api_id
        .unwrap()
}

/// Creates an HTTP_PROXY integration on an HTTP API and returns its id.
pub async fn http_proxy(c: &apigw::Client, api: &str) -> String {
    c.create_integration()
        .api_id(api)
        .integration_type(apigw::types::IntegrationType::HttpProxy)
        .integration_uri("https://example.com/{proxy}")
        .integration_method("ANY")
        .payload_format_version("1.0")
        .send()
        .await
        .unwrap()
        .integration_id
        .unwrap()
}

/// The Lambda invocation URI of function `name` (an authorizer's `authorizerUri`).
pub fn authorizer_uri(name: &str) -> String {
    format!(
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:{name}/invocations"
    )
}

/// Creates a JWT authorizer named `name` on an HTTP API and returns its id.
pub async fn jwt_authorizer(c: &apigw::Client, api: &str, name: &str) -> String {
    c.create_authorizer()
        .api_id(api)
        .name(name)
        .authorizer_type(apigw::types::AuthorizerType::Jwt)
        .identity_source("$request.header.Authorization")
        .jwt_configuration(
            apigw::types::JwtConfiguration::builder()
                .audience("client")
                .issuer("https://issuer.example.com")
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("{:?}", err_code(&e)))
        .authorizer_id
        .unwrap()
}

/// Creates a Lambda REQUEST authorizer named `name` (payload 2.0 on HTTP APIs, none on
/// WebSocket APIs) and returns its id.
pub async fn lambda_authorizer(c: &apigw::Client, api: &str, name: &str, http: bool) -> String {
    let mut req = c
        .create_authorizer()
        .api_id(api)
        .name(name)
        .authorizer_type(apigw::types::AuthorizerType::Request)
        .authorizer_uri(authorizer_uri("auth"));
    if http {
        req = req.authorizer_payload_format_version("2.0");
    }
    req.send()
        .await
        .unwrap_or_else(|e| panic!("{:?}", err_code(&e)))
        .authorizer_id
        .unwrap()
}

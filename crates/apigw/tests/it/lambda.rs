//! Lambda hosting end to end: `apigw serve --functions-config` with real runtimes (PyPI
//! `awslambdaric` from the test venv, a Rust `lambda_runtime` function), called through the
//! Invoke API on the gateway's port, by raw HTTP and by the aws cli; `--lambda-endpoint`
//! checked against a fake Invoke API that verifies the SigV4 signature with botocore.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, UNIX_EPOCH};

use apigw_lambda::payload::{event_v1, event_v2, parse_v2, ProxyRequest};
use serde_json::{json, Value};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| {
            if p.is_absolute() {
                p
            } else {
                repo_root().join(p)
            }
        })
        .unwrap_or_else(|| repo_root().join("target"))
}

/// The project's test venv (tests/run.sh creates it with awslambdaric, boto3, awscli).
fn venv_bin(tool: &str) -> PathBuf {
    let p = target_dir().join("py-venv/bin").join(tool);
    assert!(
        p.exists(),
        "{} is missing: run `bash tests/run.sh` once (it creates target/py-venv), or \
         python3 -m venv target/py-venv && target/py-venv/bin/pip install awslambdaric boto3 awscli",
        p.display()
    );
    p
}

fn functions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/functions")
}

/// The Rust fixture function, built once (a no-op when `cargo build --workspace` built it).
fn rust_fixture() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "-p", "lambda-echo-fixture"])
                .current_dir(repo_root())
                .status()
                .unwrap();
            assert!(status.success(), "building lambda-echo-fixture failed");
            let bin = target_dir().join("debug/lambda-echo-fixture");
            assert!(bin.exists(), "{} not built", bin.display());
            bin
        })
        .clone()
}

/// `apigw serve` with hosted functions (and extra flags/env), killed on drop.
struct Gateway {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Gateway {
    fn start(functions: Value, extra: &[&str], env: &[(&str, &str)]) -> Gateway {
        let dir = std::env::temp_dir().join(format!(
            "apigw-it-lambda-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("functions.json");
        std::fs::write(&config, json!({ "functions": functions }).to_string()).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_apigw"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.join("data"))
            .arg("--functions-config")
            .arg(&config)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("apigw listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .parse()
            .unwrap();
        Gateway { child, addr, dir }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// POST to the Invoke API; `function` goes into the path as given (encode it yourself),
    /// `name?query` puts the query after `/invocations`.
    fn invoke(&self, function: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        let (name, query) = match function.split_once('?') {
            Some((n, q)) => (n, format!("?{q}")),
            None => (function, String::new()),
        };
        post(
            self.addr,
            &format!("/2015-03-31/functions/{name}/invocations{query}"),
            headers,
            body,
        )
    }

    fn invoke_json(&self, function: &str, body: Value) -> (Value, Resp) {
        let r = self.invoke(function, &[], body.to_string().as_bytes());
        assert_eq!(r.status, 200, "{}", r.body_text());
        (r.json(), r)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body_text()))
    }
}

fn post(addr: SocketAddr, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) before reading everything.
    let _ = s.write_all(body);
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP response: {:?}", String::from_utf8_lossy(&buf)));
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
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
        .collect();
    Resp {
        status,
        headers,
        body: buf[split + 4..].to_vec(),
    }
}

fn python_function(handler: &str) -> Value {
    json!({
        "command": format!("{} -m awslambdaric {handler}", venv_bin("python").display()),
        "workingDirectory": functions_dir().join("python"),
    })
}

#[test]
fn python_awslambdaric_cold_start_warm_reuse_and_environment() {
    let mut echo = python_function("app.echo");
    echo["environment"] = json!({"GREETING": "hi"});
    echo["memorySize"] = json!(256);
    let gw = Gateway::start(json!({ "echo": echo }), &[], &[]);
    let (a, ra) = gw.invoke_json("echo", json!({"n": 1}));
    assert_eq!(a["event"], json!({"n": 1}));
    assert_eq!(ra.header("x-amz-executed-version"), Some("$LATEST"));
    assert_eq!(ra.header("x-amz-function-error"), None);
    assert_eq!(ra.header("x-amzn-requestid"), a["requestId"].as_str());
    assert_eq!(a["functionName"], "echo");
    assert_eq!(
        a["functionArn"],
        "arn:aws:lambda:us-east-1:000000000000:function:echo"
    );
    assert_eq!(a["memory"], "256");
    let rem = a["remainingMs"].as_i64().unwrap();
    assert!(
        rem > 0 && rem <= 3000,
        "default timeout 3 s, remaining {rem}"
    );
    let env = &a["env"];
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "echo");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
    assert_eq!(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/echo");
    assert_eq!(env["AWS_REGION"], "us-east-1");
    assert_eq!(env["_HANDLER"], "app.echo");
    assert_eq!(env["TZ"], "UTC");
    assert_eq!(env["GREETING"], "hi");
    assert!(env["AWS_ACCESS_KEY_ID"].is_string());
    assert_eq!(
        Path::new(env["LAMBDA_TASK_ROOT"].as_str().unwrap()),
        functions_dir().join("python").canonicalize().unwrap()
    );
    assert!(env["_X_AMZN_TRACE_ID"]
        .as_str()
        .unwrap()
        .starts_with("Root=1-"));

    // Warm: the same process answers, with the log tail of this invocation.
    let r = gw.invoke("echo", &[("X-Amz-Log-Type", "Tail")], b"{\"n\": 2}");
    assert_eq!(r.status, 200);
    let b = r.json();
    assert_eq!(b["pid"], a["pid"], "warm environment reused");
    use base64::Engine;
    let tail = base64::engine::general_purpose::STANDARD
        .decode(r.header("x-amz-log-result").unwrap())
        .unwrap();
    let tail = String::from_utf8(tail).unwrap();
    let rid = b["requestId"].as_str().unwrap();
    assert!(tail.contains(&format!("START RequestId: {rid}")), "{tail}");
    assert!(tail.contains(&format!("echo handling {rid}")), "{tail}");
    assert!(tail.contains(&format!("REPORT RequestId: {rid}")), "{tail}");
    assert!(
        !tail.contains(a["requestId"].as_str().unwrap()),
        "only this invocation"
    );
}

#[test]
fn python_parallel_invocations_use_separate_environments() {
    let mut slow = python_function("app.slow");
    slow["reservedConcurrency"] = json!(3);
    let gw = Gateway::start(json!({ "slow": slow }), &[], &[]);
    let addr = gw.addr;
    let calls: Vec<_> = (0..3)
        .map(|_| {
            std::thread::spawn(move || {
                post(
                    addr,
                    "/2015-03-31/functions/slow/invocations",
                    &[],
                    b"{\"sleep\": 1.0}",
                )
                .json()["pid"]
                    .as_i64()
                    .unwrap()
            })
        })
        .collect();
    let pids: HashSet<i64> = calls.into_iter().map(|c| c.join().unwrap()).collect();
    assert_eq!(
        pids.len(),
        3,
        "3 parallel invocations, 3 environments: {pids:?}"
    );
}

#[test]
fn python_crash_hang_and_errors() {
    let mut hang = python_function("app.hang");
    hang["timeout"] = json!(1);
    hang["reservedConcurrency"] = json!(1);
    let gw = Gateway::start(
        json!({
            "crash": python_function("app.crash"),
            "fail": python_function("app.fail"),
            "initfail": python_function("init_fails.handler"),
            "hang": hang,
        }),
        &[],
        &[],
    );
    // Crash mid-invoke: a function error, then a fresh environment serves the next call.
    let r = gw.invoke("crash", &[], b"{}");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-amz-function-error"), Some("Unhandled"));
    assert_eq!(r.json()["errorType"], "Runtime.ExitError");
    let r = gw.invoke("crash", &[], b"{}");
    assert_eq!(
        r.json()["errorType"],
        "Runtime.ExitError",
        "a new process, crashed again"
    );

    // The handler raises: Lambda's error document from the runtime.
    let r = gw.invoke("fail", &[], b"{}");
    assert_eq!(r.header("x-amz-function-error"), Some("Unhandled"));
    let doc = r.json();
    assert_eq!(doc["errorType"], "ValueError");
    assert_eq!(doc["errorMessage"], "something went wrong!");
    assert!(doc["stackTrace"].is_array());

    // Import fails: the init error is the invocation's error.
    let r = gw.invoke("initfail", &[], b"{}");
    assert_eq!(r.header("x-amz-function-error"), Some("Unhandled"));
    let doc = r.json();
    assert_eq!(doc["errorType"], "RuntimeError");
    assert_eq!(doc["errorMessage"], "boom at init");

    // Hang past the 1 s timeout: answered promptly; the next call gets a new process even
    // with a concurrency of 1.
    let (first, _) = gw.invoke_json("hang", json!({}));
    let begin = Instant::now();
    let r = gw.invoke("hang", &[], b"{\"hang\": true}");
    assert!(
        begin.elapsed() < Duration::from_secs(3),
        "{:?}",
        begin.elapsed()
    );
    assert_eq!(r.header("x-amz-function-error"), Some("Unhandled"));
    let doc = r.json();
    assert_eq!(doc["errorType"], "Sandbox.Timedout");
    assert!(doc["errorMessage"]
        .as_str()
        .unwrap()
        .contains("Task timed out after 1.00 seconds"));
    let (after, _) = gw.invoke_json("hang", json!({}));
    assert_ne!(after["pid"], first["pid"]);
}

#[test]
fn invoke_api_names_qualifiers_types_and_errors() {
    let gw = Gateway::start(json!({ "hello": python_function("app.hello") }), &[], &[]);
    let (doc, _) = gw.invoke_json("hello", json!({"a": 1}));
    assert_eq!(
        doc,
        json!({"message": "hello from python", "input": {"a": 1}})
    );
    for name in [
        "hello:$LATEST",
        "000000000000:function:hello",
        "arn:aws:lambda:us-east-1:000000000000:function:hello",
        "arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Ahello",
        "hello?Qualifier=%24LATEST",
    ] {
        let (doc, _) = gw.invoke_json(name, json!({"b": 2}));
        assert_eq!(doc["input"], json!({"b": 2}), "{name}");
    }

    let not_found = |r: Resp, arn: &str| {
        assert_eq!(r.status, 404, "{}", r.body_text());
        assert_eq!(
            r.header("x-amzn-errortype"),
            Some("ResourceNotFoundException")
        );
        assert_eq!(
            r.json(),
            json!({"Type": "User", "message": format!("Function not found: {arn}")})
        );
    };
    not_found(
        gw.invoke("nope", &[], b"{}"),
        "arn:aws:lambda:us-east-1:000000000000:function:nope",
    );
    not_found(
        gw.invoke("hello?Qualifier=2", &[], b"{}"),
        "arn:aws:lambda:us-east-1:000000000000:function:hello:2",
    );
    not_found(
        gw.invoke("hello:live", &[], b"{}"),
        "arn:aws:lambda:us-east-1:000000000000:function:hello:live",
    );

    let r = gw.invoke("hello", &[], b"not json");
    assert_eq!(r.status, 400);
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("InvalidRequestContentException")
    );
    assert_eq!(r.json()["Type"], "User");

    let big = vec![b' '; 6 * 1024 * 1024 + 10];
    let r = gw.invoke("hello", &[], &big);
    assert_eq!(r.status, 413);
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("RequestTooLargeException")
    );
    // Just under the limit is accepted.
    let mut ok = b"{\"pad\": \"".to_vec();
    ok.resize(6 * 1024 * 1024 - 2, b'x');
    ok.extend_from_slice(b"\"}");
    let r = gw.invoke("hello", &[], &ok);
    assert_eq!(r.status, 200, "{}", &r.body_text()[..200.min(r.body.len())]);

    let r = gw.invoke("a%20b", &[], b"{}");
    assert_eq!(r.status, 400);
    assert_eq!(r.header("x-amzn-errortype"), Some("ValidationException"));

    let r = gw.invoke("hello", &[("X-Amz-Invocation-Type", "DryRun")], b"{}");
    assert_eq!((r.status, r.body.len()), (204, 0));
    let r = gw.invoke("hello", &[("X-Amz-Invocation-Type", "Event")], b"{}");
    assert_eq!(r.status, 202);
    assert_eq!(r.header("x-amz-executed-version"), None);
    let r = gw.invoke("hello", &[("X-Amz-Invocation-Type", "Sometimes")], b"{}");
    assert_eq!(r.status, 400);
}

fn aws(args: &[&str], cwd: &Path) -> std::process::Output {
    Command::new(venv_bin("aws"))
        .args(args)
        .current_dir(cwd)
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .output()
        .unwrap()
}

#[test]
fn aws_cli_lambda_invoke() {
    let gw = Gateway::start(json!({ "hello": python_function("app.hello") }), &[], &[]);
    let out_file = gw.dir.join("out.json");
    let ep = gw.endpoint();
    let o = aws(
        &[
            "lambda",
            "invoke",
            "--endpoint-url",
            &ep,
            "--function-name",
            "hello",
            "--payload",
            "{\"from\": \"cli\"}",
            "--log-type",
            "Tail",
            out_file.to_str().unwrap(),
        ],
        &gw.dir,
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let meta: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(meta["StatusCode"], 200);
    assert_eq!(meta["ExecutedVersion"], "$LATEST");
    assert!(meta["LogResult"].as_str().is_some_and(|l| !l.is_empty()));
    let written: Value = serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    assert_eq!(
        written,
        json!({"message": "hello from python", "input": {"from": "cli"}})
    );

    let o = aws(
        &[
            "lambda",
            "invoke",
            "--endpoint-url",
            &ep,
            "--function-name",
            "nope",
            out_file.to_str().unwrap(),
        ],
        &gw.dir,
    );
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("ResourceNotFoundException")
            && stderr.contains(
                "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope"
            ),
        "{stderr}"
    );
}

fn proxy_request() -> ProxyRequest {
    ProxyRequest {
        method: "POST".into(),
        raw_path: "/dev/pets/42".into(),
        raw_query: "a=1&a=2&q=hello%20world".into(),
        headers: vec![
            ("Host".into(), "abc123.execute-api.localhost".into()),
            ("User-Agent".into(), "it-test/1.0".into()),
            ("X-Multi".into(), "one".into()),
            ("x-multi".into(), "two".into()),
            ("Cookie".into(), "c1=v1; c2=v2".into()),
            ("Content-Type".into(), "application/octet-stream".into()),
        ],
        body: bytes::Bytes::from_static(b"\x00\x01binary"),
        path_parameters: vec![("id".into(), "42".into())],
        stage_variables: vec![("env".into(), "dev".into())],
        route_key: "POST /pets/{id}".into(),
        stage: "dev".into(),
        api_id: "abc123".into(),
        account_id: "000000000000".into(),
        request_id: "Ab1Cd2Ef3Gh4=".into(),
        domain_name: "abc123.execute-api.localhost".into(),
        source_ip: "127.0.0.1".into(),
        protocol: "HTTP/1.1".into(),
        time: UNIX_EPOCH + Duration::from_millis(1_764_000_000_123),
        authorizer: None,
    }
}

#[test]
fn rust_lambda_runtime_function_parses_both_payload_versions_strictly() {
    let rust = json!({ "command": rust_fixture() });
    let gw = Gateway::start(json!({ "rust": rust }), &[], &[]);
    // Echo mode: cold, then warm in the same process.
    let (a, _) = gw.invoke_json("rust", json!({"n": 1}));
    let (b, _) = gw.invoke_json("rust", json!({"n": 2}));
    assert_eq!(a["echo"], json!({"n": 1}));
    assert_eq!(a["pid"], b["pid"]);

    let req = proxy_request();
    let (out, r) = gw.invoke_json("rust", event_v2(&req));
    assert_eq!(r.header("x-amz-function-error"), None, "{out}");
    let resp = parse_v2(&serde_json::to_vec(&out).unwrap()).unwrap();
    assert_eq!(resp.status, 200);
    let parsed: Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(
        parsed["unknownKeys"],
        json!({"event": [], "requestContext": [], "http": []}),
        "every key of our 2.0 event is one aws_lambda_events knows"
    );
    assert_eq!(parsed["version"], "2.0");
    assert_eq!(parsed["routeKey"], "POST /pets/{id}");
    assert_eq!(parsed["rawPath"], "/dev/pets/42");
    assert_eq!(parsed["rawQueryString"], "a=1&a=2&q=hello%20world");
    assert_eq!(parsed["cookies"], json!(["c1=v1", "c2=v2"]));
    assert_eq!(
        parsed["headers"],
        json!([
            ["content-type", "application/octet-stream"],
            ["host", "abc123.execute-api.localhost"],
            ["user-agent", "it-test/1.0"],
            ["x-multi", "one,two"]
        ])
    );
    let mut q: Vec<String> = parsed["queryStringParameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    q.sort();
    // aws_lambda_events splits 2.0's comma-joined values back into values.
    assert_eq!(q, ["a=1", "a=2", "q=hello world"]);
    assert_eq!(parsed["pathParameters"], json!({"id": "42"}));
    assert_eq!(parsed["stageVariables"], json!({"env": "dev"}));
    assert_eq!(parsed["body"], "AAFiaW5hcnk=");
    assert_eq!(parsed["isBase64Encoded"], true);
    let c = &parsed["requestContext"];
    assert_eq!(c["routeKey"], "POST /pets/{id}");
    assert_eq!(c["accountId"], "000000000000");
    assert_eq!(c["stage"], "dev");
    assert_eq!(c["requestId"], "Ab1Cd2Ef3Gh4=");
    assert_eq!(c["apiId"], "abc123");
    assert_eq!(c["domainName"], "abc123.execute-api.localhost");
    assert_eq!(c["domainPrefix"], "abc123");
    assert_eq!(c["time"], "24/Nov/2025:16:00:00 +0000");
    assert_eq!(c["timeEpoch"], 1_764_000_000_123u64);
    assert_eq!(c["method"], "POST");
    assert_eq!(c["path"], "/dev/pets/42");
    assert_eq!(c["protocol"], "HTTP/1.1");
    assert_eq!(c["sourceIp"], "127.0.0.1");
    assert_eq!(c["userAgent"], "it-test/1.0");

    let (out, r) = gw.invoke_json("rust", event_v1(&req));
    assert_eq!(r.header("x-amz-function-error"), None, "{out}");
    let resp = parse_v2(&serde_json::to_vec(&out).unwrap()).unwrap();
    let parsed: Value = serde_json::from_slice(&resp.body).unwrap();
    // `version` (HTTP API 1.0 only) and `extendedRequestId` are not fields of the REST-shaped
    // ApiGatewayProxyRequest; everything else is.
    assert_eq!(
        parsed["unknownKeys"],
        json!({"event": ["version"], "requestContext": ["extendedRequestId"]})
    );
    assert_eq!(parsed["resource"], "/pets/{id}");
    assert_eq!(parsed["path"], "/dev/pets/42");
    assert_eq!(parsed["httpMethod"], "POST");
    assert_eq!(
        parsed["headers"],
        json!([
            ["content-type", "application/octet-stream"],
            ["cookie", "c1=v1; c2=v2"],
            ["host", "abc123.execute-api.localhost"],
            ["user-agent", "it-test/1.0"],
            ["x-multi", "two"]
        ])
    );
    assert!(parsed["multiValueHeaders"]
        .as_array()
        .unwrap()
        .contains(&json!("x-multi=one")));
    assert!(parsed["multiValueHeaders"]
        .as_array()
        .unwrap()
        .contains(&json!("x-multi=two")));
    assert_eq!(
        parsed["multiValueQueryStringParameters"],
        json!(["a=1", "a=2", "q=hello world"])
    );
    assert_eq!(parsed["pathParameters"], json!({"id": "42"}));
    assert_eq!(parsed["stageVariables"], json!({"env": "dev"}));
    assert_eq!(parsed["body"], "AAFiaW5hcnk=");
    assert_eq!(parsed["isBase64Encoded"], true);
    let c = &parsed["requestContext"];
    assert_eq!(c["resourcePath"], "/pets/{id}");
    assert_eq!(c["path"], "/dev/pets/42");
    assert_eq!(c["httpMethod"], "POST");
    assert_eq!(c["requestTime"], "24/Nov/2025:16:00:00 +0000");
    assert_eq!(c["requestTimeEpoch"], 1_764_000_000_123u64);
    assert_eq!(c["sourceIp"], "127.0.0.1");
    assert_eq!(c["userAgent"], "it-test/1.0");
    assert_eq!(c["apiId"], "abc123");
    assert_eq!(c["stage"], "dev");
}

#[test]
fn remote_lambda_requests_carry_a_sigv4_signature_botocore_accepts() {
    let secret = "remote/secret+key";
    let mut fake = Command::new(venv_bin("python"))
        .arg(functions_dir().join("fake_lambda.py"))
        .arg(secret)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(fake.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().strip_prefix("listening ").unwrap().to_string();
    let endpoint = format!("http://127.0.0.1:{port}");
    let gw = Gateway::start(
        json!({}),
        &["--lambda-endpoint", &endpoint],
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDREMOTE"),
            ("AWS_SECRET_ACCESS_KEY", secret),
            ("AWS_SESSION_TOKEN", "session-token"),
        ],
    );
    for (name, region) in [
        ("remote-fn", "us-east-1"),
        (
            "arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Aremote-fn%3Alive",
            "eu-west-1",
        ),
    ] {
        let (v, r) = gw.invoke_json(name, json!({"to": "remote"}));
        assert_eq!(r.header("x-amz-executed-version"), Some("$LATEST"));
        assert_eq!(v["verified"], true, "{v:#}");
        assert_eq!(v["algorithm"], "AWS4-HMAC-SHA256");
        assert_eq!(v["accessKey"], "AKIDREMOTE");
        assert_eq!(v["service"], "lambda");
        assert_eq!(v["region"], region);
        assert_eq!(v["invocationType"], "RequestResponse");
        assert_eq!(v["payload"], "{\"to\":\"remote\"}");
        let signed: Vec<&str> = v["signedHeaders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap())
            .collect();
        for h in ["host", "x-amz-date", "x-amz-security-token"] {
            assert!(signed.contains(&h), "{signed:?}");
        }
    }
    let (v, _) = gw.invoke_json(
        "arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Aremote-fn%3Alive",
        json!({}),
    );
    assert_eq!(
        v["path"],
        "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Aremote-fn/invocations?Qualifier=live"
    );
    // The remote's errors come back as Lambda's errors.
    let r = gw.invoke("missing", &[], b"{}");
    assert_eq!(r.status, 404);
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("ResourceNotFoundException")
    );
    let _ = fake.kill();
    let _ = fake.wait();
}

fn tls_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// fake_lambda.py over HTTPS with the test CA's `localhost` leaf; returns it and its port.
fn start_tls_fake_lambda(secret: &str) -> (Child, String) {
    let mut fake = Command::new(venv_bin("python"))
        .arg(functions_dir().join("fake_lambda.py"))
        .arg(secret)
        .arg("--tls")
        .arg(tls_fixture("localhost.pem"))
        .arg(tls_fixture("localhost.key"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(fake.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().strip_prefix("listening ").unwrap().to_string();
    (fake, port)
}

#[test]
fn remote_lambda_over_https_with_an_operator_ca_is_signed_for_its_host() {
    let secret = "tls/secret+key";
    let (mut fake, port) = start_tls_fake_lambda(secret);
    let endpoint = format!("https://localhost:{port}");
    let ca = tls_fixture("ca.pem");
    let gw = Gateway::start(
        json!({}),
        &[
            "--lambda-endpoint",
            &endpoint,
            "--backend-ca-file",
            ca.to_str().unwrap(),
        ],
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDTLS"),
            ("AWS_SECRET_ACCESS_KEY", secret),
        ],
    );
    let (v, r) = gw.invoke_json(
        "arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Aremote-fn%3Alive",
        json!({"over": "tls"}),
    );
    assert_eq!(r.header("x-amz-executed-version"), Some("$LATEST"));
    assert_eq!(v["verified"], true, "{v:#}");
    assert_eq!(v["scheme"], "https");
    assert_eq!(v["host"], format!("localhost:{port}"));
    assert_eq!(v["accessKey"], "AKIDTLS");
    assert_eq!(v["region"], "eu-west-1");
    assert_eq!(v["service"], "lambda");
    assert_eq!(v["payload"], "{\"over\":\"tls\"}");
    assert_eq!(
        v["path"],
        "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Aremote-fn/invocations?Qualifier=live"
    );
    // The connection is reused: a second call works too, and errors still map.
    let (v, _) = gw.invoke_json("remote-fn", json!({}));
    assert_eq!(v["verified"], true, "{v:#}");
    let r = gw.invoke("missing", &[], b"{}");
    assert_eq!(r.status, 404);
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("ResourceNotFoundException")
    );
    let _ = fake.kill();
    let _ = fake.wait();
}

#[test]
fn remote_lambda_over_https_with_an_untrusted_certificate_fails_as_a_service_error() {
    let (mut fake, port) = start_tls_fake_lambda("secret");
    let endpoint = format!("https://localhost:{port}");
    // No --backend-ca-file: the test CA is not among the system's roots.
    let mut gw = Gateway::start(json!({}), &["--lambda-endpoint", &endpoint], &[]);
    for _ in 0..2 {
        let r = gw.invoke("remote-fn", &[], b"{}");
        assert_eq!(r.status, 500, "{}", r.body_text());
        assert_eq!(r.header("x-amzn-errortype"), Some("ServiceException"));
        let v = r.json();
        let message = v["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&endpoint) && message.contains("certificate"),
            "{v:#}"
        );
    }
    // Still serving (no panic took anything down).
    assert!(gw.child.try_wait().unwrap().is_none());
    let _ = fake.kill();
    let _ = fake.wait();
}

#[test]
fn sigterm_kills_function_processes() {
    let mut gw = Gateway::start(json!({ "echo": python_function("app.echo") }), &[], &[]);
    let (a, _) = gw.invoke_json("echo", json!({}));
    let pid = a["pid"].as_i64().unwrap();
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    let status = Command::new("kill")
        .args(["-TERM", &gw.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = gw.child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    // The function process is gone (not even a zombie: the gateway reaped it).
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        stat.is_empty(),
        "function process {pid} still there: {stat}"
    );
}

/// One raw HTTP/1.1 exchange with an explicit Host (the data plane's Host form).
fn request(addr: SocketAddr, method: &str, path: &str, host: &str, body: &[u8]) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nUser-Agent: it-data-plane\r\n\
         Cookie: c1=v1; c2=v2\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP response: {:?}", String::from_utf8_lossy(&buf)));
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
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
        .collect();
    let mut body = buf[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Resp {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..i]).trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + n]);
        b = &b[i + 2 + n + 2..];
    }
    out
}

fn control_plane(gw: &Gateway) -> aws_sdk_apigatewayv2::Client {
    use aws_sdk_apigatewayv2 as apigw;
    let creds = aws_credential_types::Credentials::new("AKIDTEST", "secret", None, None, "static");
    let conf = apigw::Config::builder()
        .behavior_version(apigw::config::BehaviorVersion::latest())
        .region(apigw::config::Region::new("us-east-1"))
        .credentials_provider(creds)
        .endpoint_url(gw.endpoint())
        .retry_config(apigw::config::retry::RetryConfig::disabled())
        .build();
    apigw::Client::from_conf(conf)
}

/// A Lambda proxy integration for `function` and a route to it.
async fn lambda_route(
    c: &aws_sdk_apigatewayv2::Client,
    api: &str,
    route_key: &str,
    uri: &str,
    version: &str,
    timeout_ms: Option<i32>,
) {
    use aws_sdk_apigatewayv2::types::IntegrationType;
    let i = c
        .create_integration()
        .api_id(api)
        .integration_type(IntegrationType::AwsProxy)
        .integration_uri(uri)
        .payload_format_version(version)
        .set_timeout_in_millis(timeout_ms)
        .send()
        .await
        .unwrap();
    c.create_route()
        .api_id(api)
        .route_key(route_key)
        .target(format!("integrations/{}", i.integration_id().unwrap()))
        .send()
        .await
        .unwrap();
}

/// The data plane's AWS_PROXY routes call hosted functions: a Rust `lambda_runtime` function
/// deserialises both payload versions strictly (`aws_lambda_events`), a Python function's 2.0
/// response becomes the HTTP response, and failures and timeouts get the gateway's answers.
#[tokio::test(flavor = "multi_thread")]
async fn http_api_routes_call_hosted_functions() {
    let functions = json!({
        "rust": { "command": rust_fixture() },
        "http": python_function("app.http"),
        "fail": python_function("app.fail"),
        "slow": python_function("app.slow"),
    });
    let gw = tokio::task::spawn_blocking(move || Gateway::start(functions, &[], &[]))
        .await
        .unwrap();
    let c = control_plane(&gw);
    let api = c
        .create_api()
        .name("lambda-routes")
        .protocol_type(aws_sdk_apigatewayv2::types::ProtocolType::Http)
        .send()
        .await
        .unwrap();
    let api = api.api_id().unwrap().to_string();
    let arn = |f: &str| format!("arn:aws:lambda:us-east-1:000000000000:function:{f}");
    lambda_route(&c, &api, "POST /pets/{id}", &arn("rust"), "2.0", None).await;
    let apigw_form = format!(
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{}/invocations",
        arn("rust")
    );
    lambda_route(&c, &api, "GET /v1/pets/{id}", &apigw_form, "1.0", None).await;
    lambda_route(&c, &api, "GET /http", &arn("http"), "2.0", None).await;
    lambda_route(&c, &api, "GET /fail", &arn("fail"), "2.0", None).await;
    // app.slow sleeps 0.5 s; the integration gives up after 100 ms.
    lambda_route(&c, &api, "GET /slow", &arn("slow"), "2.0", Some(100)).await;
    lambda_route(&c, &api, "GET /missing", &arn("nobody"), "2.0", None).await;
    c.create_stage()
        .api_id(&api)
        .stage_name("dev")
        .auto_deploy(true)
        .send()
        .await
        .unwrap();

    let addr = gw.addr;
    let host = format!("{api}.execute-api.localhost:{}", addr.port());
    let api2 = api.clone();
    let (v2, v1, http, fail, slow, missing) = tokio::task::spawn_blocking(move || {
        (
            request(
                addr,
                "POST",
                "/dev/pets/42?a=1&a=2",
                &host,
                b"{\"name\":\"rex\"}",
            ),
            request(
                addr,
                "GET",
                &format!("/_aws/execute-api/{api2}/dev/v1/pets/7"),
                "127.0.0.1",
                b"",
            ),
            request(addr, "GET", "/dev/http", &host, b""),
            request(addr, "GET", "/dev/fail", &host, b""),
            request(addr, "GET", "/dev/slow", &host, b""),
            request(addr, "GET", "/dev/missing", &host, b""),
        )
    })
    .await
    .unwrap();

    assert_eq!(v2.status, 200, "{}", v2.body_text());
    assert!(v2.header("apigw-requestid").is_some());
    let e = v2.json();
    assert_eq!(
        e["unknownKeys"],
        json!({"event": [], "requestContext": [], "http": []}),
        "every key of the 2.0 event is one aws_lambda_events knows: {e}"
    );
    assert_eq!(e["version"], "2.0");
    assert_eq!(e["routeKey"], "POST /pets/{id}");
    assert_eq!(e["rawPath"], "/dev/pets/42");
    assert_eq!(e["rawQueryString"], "a=1&a=2");
    assert_eq!(e["cookies"], json!(["c1=v1", "c2=v2"]));
    assert_eq!(e["pathParameters"], json!({"id": "42"}));
    // No Content-Type: API Gateway base64-encodes the body (data-plane.md §4.4).
    assert_eq!(e["body"], "eyJuYW1lIjoicmV4In0=");
    assert_eq!(e["isBase64Encoded"], true);
    let ctx = &e["requestContext"];
    assert_eq!(ctx["apiId"], api.as_str());
    assert_eq!(ctx["stage"], "dev");
    assert_eq!(ctx["method"], "POST");
    assert_eq!(ctx["path"], "/dev/pets/42");
    assert_eq!(ctx["sourceIp"], "127.0.0.1");
    assert_eq!(ctx["userAgent"], "it-data-plane");
    assert_eq!(ctx["domainPrefix"], api.as_str());
    assert_eq!(ctx["requestId"].as_str(), v2.header("apigw-requestid"));
    let headers: Vec<String> = e["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h[0].as_str().unwrap().to_string())
        .collect();
    for h in [
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-port",
        "x-amzn-trace-id",
    ] {
        assert!(headers.contains(&h.to_string()), "{h} in {headers:?}");
    }

    assert_eq!(v1.status, 200, "{}", v1.body_text());
    let e = v1.json();
    assert_eq!(
        e["unknownKeys"],
        json!({"event": ["version"], "requestContext": ["extendedRequestId"]})
    );
    assert_eq!(e["resource"], "/v1/pets/{id}");
    assert_eq!(e["path"], "/dev/v1/pets/7");
    assert_eq!(e["httpMethod"], "GET");
    assert_eq!(e["pathParameters"], json!({"id": "7"}));

    assert_eq!(http.status, 201, "{}", http.body_text());
    assert_eq!(http.header("content-type"), Some("text/plain"));
    assert_eq!(http.header("set-cookie"), Some("a=1"));
    assert_eq!(http.body_text(), "method GET");

    for (r, status, body) in [
        (&fail, 500, r#"{"message":"Internal Server Error"}"#),
        (&slow, 503, r#"{"message":"Service Unavailable"}"#),
        (&missing, 500, r#"{"message":"Internal Server Error"}"#),
    ] {
        assert_eq!(r.status, status, "{}", r.body_text());
        assert_eq!(r.body_text(), body);
        assert!(r.header("apigw-requestid").is_some());
    }
}

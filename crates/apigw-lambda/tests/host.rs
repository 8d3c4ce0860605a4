#![allow(clippy::unwrap_used)]

//! The execution model through the crate's public API, with real child processes running a
//! standard-library Python runtime (`tests/runtime.py`) against the hosted Runtime API.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use apigw_lambda::{
    FunctionConfig, FunctionRef, InvocationType, InvokeOptions, Lambda, LambdaConfig, LambdaError,
};
use bytes::Bytes;
use serde_json::{json, Value};

fn function(name: &str, mode: &str, timeout_s: u64, concurrency: u32) -> FunctionConfig {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/runtime.py");
    let mut c = FunctionConfig::new(name, &format!("python3 {script} {mode}")).unwrap();
    c.timeout = Duration::from_secs(timeout_s);
    c.concurrency = concurrency;
    c
}

fn lambda(functions: Vec<FunctionConfig>) -> Lambda {
    Lambda::new(LambdaConfig {
        functions,
        ..LambdaConfig::default()
    })
    .unwrap()
}

async fn call(l: &Lambda, name: &str, event: Value) -> (Value, Option<String>) {
    let out = l
        .invoke(
            &FunctionRef::named(name),
            Bytes::from(event.to_string()),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert_eq!(out.status, 200);
    assert_eq!(out.executed_version.as_deref(), Some("$LATEST"));
    (
        serde_json::from_slice(&out.payload).unwrap(),
        out.function_error,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_start_then_warm_reuse() {
    let l = lambda(vec![function("echo", "echo", 5, 10)]);
    assert_eq!(
        l.environment_count("echo"),
        0,
        "nothing starts before the first invoke"
    );
    let (a, err) = call(&l, "echo", json!({"n": 1})).await;
    assert_eq!(err, None);
    assert_eq!(a["event"], json!({"n": 1}));
    assert_eq!(
        a["arn"],
        "arn:aws:lambda:us-east-1:000000000000:function:echo"
    );
    assert!(a["traceId"].as_str().unwrap().starts_with("Root=1-"));
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let deadline = a["deadlineMs"].as_i64().unwrap();
    assert!(
        deadline > now_ms && deadline <= now_ms + 5_000,
        "deadline {deadline} vs now {now_ms}"
    );
    let (b, _) = call(&l, "echo", json!({"n": 2})).await;
    assert_eq!(a["pid"], b["pid"], "the warm environment is reused");
    assert_ne!(a["requestId"], b["requestId"]);
    assert_eq!(l.environment_count("echo"), 1);
    l.shutdown().await;
    assert_eq!(l.environment_count("echo"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_invocations_get_their_own_environments_up_to_the_limit() {
    let l = lambda(vec![function("echo", "echo", 10, 3)]);
    let started = Instant::now();
    let calls: Vec<_> = (0..6)
        .map(|i| {
            let l = l.clone();
            tokio::spawn(async move { call(&l, "echo", json!({"sleep": 0.4, "i": i})).await.0 })
        })
        .collect();
    let mut results = Vec::new();
    for c in calls {
        results.push(c.await.unwrap());
    }
    let pids: HashSet<i64> = results.iter().map(|r| r["pid"].as_i64().unwrap()).collect();
    assert_eq!(
        pids.len(),
        3,
        "3 environments for 6 parallel calls with a limit of 3"
    );
    assert!(l.environment_count("echo") <= 3);
    // Never two events at once in one environment.
    for pid in &pids {
        let mut windows: Vec<(f64, f64)> = results
            .iter()
            .filter(|r| r["pid"].as_i64() == Some(*pid))
            .map(|r| (r["start"].as_f64().unwrap(), r["end"].as_f64().unwrap()))
            .collect();
        windows.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
        for w in windows.windows(2) {
            assert!(
                w[0].1 <= w[1].0,
                "overlapping events in pid {pid}: {windows:?}"
            );
        }
    }
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "6 x 0.4 s on 3 environments"
    );
    l.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_timeout_returns_promptly_and_the_function_times_out_on_its_own() {
    let l = lambda(vec![function("echo", "echo", 2, 10)]);
    let (warm, _) = call(&l, "echo", json!({})).await;
    let begin = Instant::now();
    let r = l
        .invoke(
            &FunctionRef::named("echo"),
            Bytes::from(json!({"hang": true}).to_string()),
            Duration::from_millis(300),
        )
        .await;
    assert_eq!(r, Err(LambdaError::Timeout));
    assert!(
        begin.elapsed() < Duration::from_millis(1500),
        "{:?}",
        begin.elapsed()
    );
    // The hanging environment is busy: the next request gets a fresh one.
    let (next, err) = call(&l, "echo", json!({"after": true})).await;
    assert_eq!(err, None);
    assert_ne!(next["pid"], warm["pid"]);
    // After its own 2 s timeout the hanging environment is killed, not reused.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(l.environment_count("echo"), 1);
    l.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_timeout_is_a_function_error_and_the_environment_is_replaced() {
    let l = lambda(vec![function("echo", "echo", 1, 1)]);
    let (first, _) = call(&l, "echo", json!({})).await;
    let begin = Instant::now();
    let (err_doc, err) = call(&l, "echo", json!({"hang": true})).await;
    assert_eq!(err.as_deref(), Some("Unhandled"));
    assert_eq!(err_doc["errorType"], "Sandbox.Timedout");
    assert!(err_doc["errorMessage"]
        .as_str()
        .unwrap()
        .ends_with("Task timed out after 1.00 seconds"));
    assert!(begin.elapsed() < Duration::from_secs(3));
    // Concurrency 1: the next call can only run once the hung process is gone.
    let (after, err) = call(&l, "echo", json!({})).await;
    assert_eq!(err, None);
    assert_ne!(after["pid"], first["pid"]);
    l.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_api_refuses_invalid_state_transitions() {
    let l = lambda(vec![function("probe", "probe", 5, 1)]);
    let (a, err) = call(&l, "probe", json!({})).await;
    assert_eq!(err, None, "{a}");
    // extension registration: 200 with an identifier; response before next: 403; wrong
    // request id: 400; a second next while an event is in flight: 403; init/error after
    // init: 403.
    assert_eq!(a["codes"], json!([200, 403, 400, 403, 403]));
    let (b, _) = call(&l, "probe", json!({})).await;
    // Answering the same event twice: 403 (carried over to this invocation).
    assert_eq!(b["codes"][0], 403);
    assert_eq!(a["pid"], b["pid"]);
    l.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashes_errors_and_oversized_results() {
    let l = lambda(vec![
        function("exit", "exit", 5, 1),
        function("echo", "echo", 5, 2),
    ]);
    let (doc, err) = call(&l, "exit", json!({})).await;
    assert_eq!(err.as_deref(), Some("Unhandled"));
    assert_eq!(doc["errorType"], "Runtime.ExitError");
    assert!(
        doc["errorMessage"]
            .as_str()
            .unwrap()
            .contains("exit status: 7"),
        "{doc}"
    );

    let (doc, err) = call(&l, "echo", json!({"fail": true})).await;
    assert_eq!(err.as_deref(), Some("Unhandled"));
    assert_eq!(
        doc,
        json!({"errorMessage": "asked to fail", "errorType": "TestError"})
    );

    let (doc, err) = call(&l, "echo", json!({"big": true})).await;
    assert_eq!(err.as_deref(), Some("Unhandled"));
    assert_eq!(doc["errorType"], "Function.ResponseSizeTooLarge");
    let (ok, err) = call(&l, "echo", json!({})).await;
    assert_eq!(err, None, "{ok}");
    l.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_errors_and_invocation_types() {
    let l = lambda(vec![function("echo", "echo", 5, 2)]);
    let f = FunctionRef::named("echo");
    let big = Bytes::from(vec![b' '; 6 * 1024 * 1024 + 1]);
    let opts = InvokeOptions::default();
    assert_eq!(
        l.invoke_with(&f, big, &opts).await,
        Err(LambdaError::RequestTooLarge)
    );
    assert!(matches!(
        l.invoke_with(&f, Bytes::from_static(b"{nope"), &opts).await,
        Err(LambdaError::InvalidRequestContent(_))
    ));
    assert_eq!(
        l.invoke_with(&FunctionRef::named("nope"), Bytes::new(), &opts)
            .await,
        Err(LambdaError::ResourceNotFound(
            "arn:aws:lambda:us-east-1:000000000000:function:nope".into()
        ))
    );
    let v1 = FunctionRef::parse("echo:1").unwrap();
    assert_eq!(
        l.invoke_with(&v1, Bytes::new(), &opts).await,
        Err(LambdaError::ResourceNotFound(
            "arn:aws:lambda:us-east-1:000000000000:function:echo:1".into()
        ))
    );
    let dry = InvokeOptions {
        invocation_type: InvocationType::DryRun,
        ..InvokeOptions::default()
    };
    let out = l.invoke_with(&f, Bytes::new(), &dry).await.unwrap();
    assert_eq!((out.status, out.payload.len()), (204, 0));
    assert_eq!(l.environment_count("echo"), 0, "DryRun starts nothing");
    let event = InvokeOptions {
        invocation_type: InvocationType::Event,
        ..InvokeOptions::default()
    };
    let out = l
        .invoke_with(&f, Bytes::from_static(b"{\"sleep\": 0.2}"), &event)
        .await
        .unwrap();
    assert_eq!(out.status, 202);
    // An empty payload reaches the function as {}; the client context as given.
    let with_cc = InvokeOptions {
        client_context: Some("{\"custom\":{\"k\":\"v\"}}".into()),
        log_tail: true,
        ..InvokeOptions::default()
    };
    let out = l.invoke_with(&f, Bytes::new(), &with_cc).await.unwrap();
    let doc: Value = serde_json::from_slice(&out.payload).unwrap();
    assert_eq!(doc["event"], json!({}));
    assert_eq!(doc["clientContext"], "{\"custom\":{\"k\":\"v\"}}");
    use base64::Engine;
    let tail = base64::engine::general_purpose::STANDARD
        .decode(out.log_result.unwrap())
        .unwrap();
    let tail = String::from_utf8(tail).unwrap();
    assert!(
        tail.starts_with(&format!("START RequestId: {}", out.request_id)),
        "{tail}"
    );
    assert!(
        tail.contains(&format!("answering {}", out.request_id)),
        "{tail}"
    );
    assert!(
        tail.contains(&format!("REPORT RequestId: {}", out.request_id)),
        "{tail}"
    );
    l.shutdown().await;
}

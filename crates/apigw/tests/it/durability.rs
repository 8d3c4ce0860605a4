//! Durability and concurrency: state survives SIGTERM and SIGKILL restarts, the data
//! directory is exclusive, and concurrent writers neither lose nor corrupt anything.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use apigw::types::{IntegrationType, ProtocolType, RouteSettings};
use aws_sdk_apigatewayv2 as apigw;
use serde_json::Value;

use crate::common::{err_code, http_proxy, raw, Server};

const REGION: &str = "eu-west-1";

/// A data directory of our own that outlives the servers started in it.
struct DataDir(PathBuf);

impl DataDir {
    fn new(tag: &str) -> DataDir {
        let d = std::env::temp_dir().join(format!(
            "apigw-it-durability-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&d).unwrap();
        DataDir(d)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Everything the fixture created, as the wire shows it (raw JSON, compared for equality).
fn snapshot(server: &Server, api: &str, integ: &str, route: &str) -> Vec<(String, Value)> {
    let paths = [
        "/v2/apis".to_string(),
        format!("/v2/apis/{api}"),
        format!("/v2/apis/{api}/integrations"),
        format!("/v2/apis/{api}/integrations/{integ}"),
        format!("/v2/apis/{api}/routes"),
        format!("/v2/apis/{api}/routes/{route}"),
        format!("/v2/apis/{api}/stages"),
        format!("/v2/apis/{api}/stages/prod"),
        format!("/v2/apis/{api}/stages/%24default"),
        format!("/v2/apis/{api}/deployments"),
        format!("/v2/tags/arn:aws:apigateway:{REGION}::%2Fapis%2F{api}"),
        format!("/v2/tags/arn:aws:apigateway:{REGION}::%2Fapis%2F{api}%2Fstages%2Fprod"),
    ];
    paths
        .into_iter()
        .map(|p| {
            let r = raw(server.addr, "GET", &p, b"", REGION);
            assert_eq!(r.status, 200, "{p}: {}", r.body);
            let v = r.json();
            (p, v)
        })
        .collect()
}

/// Builds an API with an integration, a route, two stages (one auto-deployed), a manual
/// deployment and tags. Returns (api, integration, route).
async fn fixture(c: &apigw::Client) -> (String, String, String) {
    let api = c
        .create_api()
        .name("durable")
        .protocol_type(ProtocolType::Http)
        .description("survives restarts")
        .tags("team", "core")
        .send()
        .await
        .unwrap()
        .api_id
        .unwrap();
    let integ = c
        .create_integration()
        .api_id(&api)
        .integration_type(IntegrationType::HttpProxy)
        .integration_uri("https://example.com/{proxy}")
        .integration_method("ANY")
        .payload_format_version("1.0")
        .timeout_in_millis(12_345)
        .request_parameters("append:header.x-from", "$context.requestId")
        .send()
        .await
        .unwrap()
        .integration_id
        .unwrap();
    let route = c
        .create_route()
        .api_id(&api)
        .route_key("GET /items/{id}")
        .target(format!("integrations/{integ}"))
        .operation_name("getItem")
        .send()
        .await
        .unwrap()
        .route_id
        .unwrap();
    c.create_stage()
        .api_id(&api)
        .stage_name("prod")
        .description("production")
        .stage_variables("color", "blue")
        .route_settings(
            "GET /items/{id}",
            RouteSettings::builder().throttling_burst_limit(7).build(),
        )
        .tags("stage", "prod")
        .send()
        .await
        .unwrap();
    c.create_deployment()
        .api_id(&api)
        .stage_name("prod")
        .description("manual")
        .send()
        .await
        .unwrap();
    c.create_stage()
        .api_id(&api)
        .stage_name("$default")
        .auto_deploy(true)
        .send()
        .await
        .unwrap();
    c.tag_resource()
        .resource_arn(format!("arn:aws:apigateway:{REGION}::/apis/{api}"))
        .tags("added", "later")
        .send()
        .await
        .unwrap();
    (api, integ, route)
}

#[tokio::test]
async fn state_survives_sigterm_restart() {
    let dir = DataDir::new("term");
    let mut server = Server::start_in(dir.path());
    let c = server.client(REGION);
    let (api, integ, route) = fixture(&c).await;
    let before = snapshot(&server, &api, &integ, &route);
    let status = server.terminate();
    assert!(
        status.success(),
        "SIGTERM should end the server cleanly: {status:?}"
    );
    drop(server);

    let server = Server::start_in(dir.path());
    let after = snapshot(&server, &api, &integ, &route);
    for ((p, b), (_, a)) in before.iter().zip(after.iter()) {
        assert_eq!(b, a, "{p} changed across a restart");
    }
    // A few spot checks so equality is not of two empty things.
    let c = server.client(REGION);
    let got = c.get_api().api_id(&api).send().await.unwrap();
    assert_eq!(got.description(), Some("survives restarts"));
    assert_eq!(got.tags().unwrap().len(), 2);
    let i = c
        .get_integration()
        .api_id(&api)
        .integration_id(&integ)
        .send()
        .await
        .unwrap();
    assert_eq!(i.timeout_in_millis(), Some(12_345));
    let s = c
        .get_stage()
        .api_id(&api)
        .stage_name("$default")
        .send()
        .await
        .unwrap();
    assert!(s.deployment_id().is_some());
    assert_eq!(
        c.get_deployments()
            .api_id(&api)
            .send()
            .await
            .unwrap()
            .items()
            .len(),
        2
    );

    // And the restarted server keeps working on the loaded state.
    c.update_integration()
        .api_id(&api)
        .integration_id(&integ)
        .description("after restart")
        .send()
        .await
        .unwrap();
    let s2 = c
        .get_stage()
        .api_id(&api)
        .stage_name("$default")
        .send()
        .await
        .unwrap();
    assert_ne!(
        s2.deployment_id(),
        s.deployment_id(),
        "auto-deploy still runs after a restart"
    );
}

#[tokio::test]
async fn acknowledged_writes_survive_sigkill() {
    let dir = DataDir::new("kill");
    let mut server = Server::start_in(dir.path());
    let c = server.client(REGION);
    let (api, integ, route) = fixture(&c).await;
    // A burst of further writes; the process dies the moment the last one is answered.
    let mut ids = Vec::new();
    for i in 0..20 {
        let id = c
            .create_api()
            .name(format!("burst-{i}"))
            .protocol_type(ProtocolType::Http)
            .send()
            .await
            .unwrap()
            .api_id
            .unwrap();
        ids.push(id);
    }
    c.delete_api().api_id(&ids[0]).send().await.unwrap();
    c.update_api()
        .api_id(&ids[1])
        .name("renamed")
        .send()
        .await
        .unwrap();
    c.update_stage()
        .api_id(&api)
        .stage_name("prod")
        .description("last write")
        .send()
        .await
        .unwrap();
    let before = snapshot(&server, &api, &integ, &route);
    server.kill();
    drop(server);

    let server = Server::start_in(dir.path());
    let after = snapshot(&server, &api, &integ, &route);
    for ((p, b), (_, a)) in before.iter().zip(after.iter()) {
        assert_eq!(b, a, "{p} changed across SIGKILL");
    }
    let c = server.client(REGION);
    let e = c.get_api().api_id(&ids[0]).send().await.unwrap_err();
    assert_eq!(
        err_code(&e).0,
        "NotFoundException",
        "an acknowledged delete survives"
    );
    assert_eq!(
        c.get_api().api_id(&ids[1]).send().await.unwrap().name(),
        Some("renamed")
    );
    for id in &ids[2..] {
        c.get_api().api_id(id).send().await.unwrap();
    }
    let s = c
        .get_stage()
        .api_id(&api)
        .stage_name("prod")
        .send()
        .await
        .unwrap();
    assert_eq!(s.description(), Some("last write"));
}

#[tokio::test]
async fn sigkill_right_after_single_write() {
    // The very last acknowledged write, with nothing after it to flush it along.
    let dir = DataDir::new("kill1");
    let mut server = Server::start_in(dir.path());
    let c = server.client(REGION);
    let id = c
        .create_api()
        .name("only")
        .protocol_type(ProtocolType::Http)
        .send()
        .await
        .unwrap()
        .api_id
        .unwrap();
    server.kill();
    drop(server);
    let server = Server::start_in(dir.path());
    let c = server.client(REGION);
    assert_eq!(
        c.get_api().api_id(&id).send().await.unwrap().name(),
        Some("only")
    );
}

#[tokio::test]
async fn second_server_on_same_data_dir_refuses_to_start() {
    let dir = DataDir::new("lock");
    let server = Server::start_in(dir.path());
    let c = server.client(REGION);
    let id = c
        .create_api()
        .name("first")
        .protocol_type(ProtocolType::Http)
        .send()
        .await
        .unwrap()
        .api_id
        .unwrap();

    let mut second = Command::new(env!("CARGO_BIN_EXE_apigw"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = second.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = second.kill();
            let _ = second.wait();
            panic!("a second server on the same data dir kept running");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        !status.success(),
        "the second server should exit non-zero: {status:?}"
    );
    let out = second.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("listening"),
        "it must not have served: {stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("in use"), "the reason is given: {stderr}");

    // The first server is unaffected.
    assert_eq!(
        c.get_api().api_id(&id).send().await.unwrap().name(),
        Some("first")
    );
    c.create_api()
        .name("more")
        .protocol_type(ProtocolType::Http)
        .send()
        .await
        .unwrap();
    assert_eq!(c.get_apis().send().await.unwrap().items().len(), 2);
}

/// Starts `apigw serve` on `dir` expecting it to refuse; returns what it wrote to stderr.
fn refused_start(dir: &Path) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_apigw"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("apigw started on {}", dir.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !status.success(),
        "it should exit non-zero: {status:?} {stderr}"
    );
    assert!(!stdout.contains("listening"), "it must not serve: {stdout}");
    stderr
}

#[tokio::test]
async fn a_damaged_database_stops_the_start() {
    let dir = DataDir::new("damaged");
    let mut server = Server::start_in(dir.path());
    let c = server.client(REGION);
    // Enough documents to span many pages.
    for i in 0..40 {
        c.create_api()
            .name(format!("api-{i}"))
            .protocol_type(ProtocolType::Http)
            .description("d".repeat(1000))
            .send()
            .await
            .unwrap();
    }
    assert!(server.terminate().success());
    drop(server);
    let db = dir.path().join("state.db");
    let wal = dir.path().join("state.db-wal");
    assert!(
        std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) == 0,
        "a clean stop leaves everything in state.db"
    );
    let whole = std::fs::read(&db).unwrap();
    assert!(whole.len() >= 8 * 4096, "{}", whole.len());

    let db_name = db.display().to_string();
    let truncated = &whole[..whole.len() / 2];
    std::fs::write(&db, truncated).unwrap();
    let stderr = refused_start(dir.path());
    assert!(stderr.contains(&db_name), "the file is named: {stderr}");
    assert!(
        stderr.contains("is damaged"),
        "the problem is given: {stderr}"
    );
    assert!(stderr.contains("Refusing to start"), "{stderr}");
    // Refused without touching it.
    assert_eq!(std::fs::read(&db).unwrap(), truncated);

    std::fs::write(&db, b"").unwrap();
    let stderr = refused_start(dir.path());
    assert!(stderr.contains("the file is empty (0 bytes)"), "{stderr}");

    // Put back whole, it serves everything again.
    std::fs::write(&db, &whole).unwrap();
    let server = Server::start_in(dir.path());
    let c = server.client(REGION);
    assert_eq!(c.get_apis().send().await.unwrap().items().len(), 40);
}

/// A stored document this build cannot read stops the start with its identity and the reason,
/// instead of starting without it.
#[tokio::test]
async fn an_unreadable_document_stops_the_start() {
    let dir = DataDir::new("unreadable");
    let mut server = Server::start_in(dir.path());
    let c = server.client(REGION);
    let id = c
        .create_api()
        .name("kept")
        .protocol_type(ProtocolType::Http)
        .send()
        .await
        .unwrap()
        .api_id
        .unwrap();
    assert!(server.terminate().success());
    drop(server);
    // Rewrite the API's stored body in place, keeping its length, so the file stays sound.
    let db = dir.path().join("state.db");
    let mut bytes = std::fs::read(&db).unwrap();
    let needle = format!("\"apiId\":\"{id}\"");
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .expect("the API's document in state.db");
    bytes[at..at + 8].copy_from_slice(b"\"apiId\"[");
    std::fs::write(&db, &bytes).unwrap();
    let stderr = refused_start(dir.path());
    assert!(
        stderr.contains(&format!("region {REGION}, kind api, key {id}")),
        "{stderr}"
    );
    assert!(stderr.contains("cannot be loaded"), "{stderr}");
}

#[tokio::test]
async fn data_dir_is_free_again_after_exit() {
    let dir = DataDir::new("relock");
    let mut server = Server::start_in(dir.path());
    server.kill();
    drop(server);
    // The lock dies with the process, even on SIGKILL.
    let server = Server::start_in(dir.path());
    let c = server.client(REGION);
    assert!(c.get_apis().send().await.unwrap().items().is_empty());
}

async fn all_integrations(c: &apigw::Client, api: &str, page_size: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let p = c
            .get_integrations()
            .api_id(api)
            .max_results(page_size)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        pages += 1;
        assert!(pages < 1000);
        out.extend(
            p.items()
                .iter()
                .map(|i| i.integration_id().unwrap().to_string()),
        );
        token = p.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_all_land_and_survive() {
    let dir = DataDir::new("concurrent");
    let mut server = Server::start_in(dir.path());
    let c = server.client(REGION);
    let api = c
        .create_api()
        .name("busy")
        .protocol_type(ProtocolType::Http)
        .send()
        .await
        .unwrap()
        .api_id
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let c = c.clone();
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            c.create_integration()
                .api_id(&api)
                .integration_type(IntegrationType::HttpProxy)
                .integration_uri(format!("https://example.com/{i}"))
                .integration_method("GET")
                .payload_format_version("1.0")
                .description(format!("n{i}"))
                .send()
                .await
        }));
    }
    let mut created = HashSet::new();
    let mut by_desc = HashSet::new();
    for t in tasks {
        let out = t
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("concurrent create failed: {:?}", err_code(&e)));
        assert!(
            created.insert(out.integration_id().unwrap().to_string()),
            "duplicate id"
        );
        by_desc.insert(out.description().unwrap().to_string());
    }
    assert_eq!(created.len(), 64);
    assert_eq!(by_desc.len(), 64);

    let listed = all_integrations(&c, &api, "10").await;
    assert_eq!(listed.len(), 64, "no duplicates or gaps across pages");
    assert_eq!(listed.iter().cloned().collect::<HashSet<_>>(), created);

    server.kill();
    drop(server);
    let server = Server::start_in(dir.path());
    let c = server.client(REGION);
    let listed = all_integrations(&c, &api, "7").await;
    assert_eq!(listed.len(), 64);
    assert_eq!(listed.iter().cloned().collect::<HashSet<_>>(), created);
    for id in created.iter().take(5) {
        let i = c
            .get_integration()
            .api_id(&api)
            .integration_id(id)
            .send()
            .await
            .unwrap();
        assert!(i
            .integration_uri()
            .unwrap()
            .starts_with("https://example.com/"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_of_one_integration() {
    let dir = DataDir::new("updates");
    let mut server = Server::start_in(dir.path());
    let c = server.client(REGION);
    let api = c
        .create_api()
        .name("busy")
        .protocol_type(ProtocolType::Http)
        .send()
        .await
        .unwrap()
        .api_id
        .unwrap();
    let integ = http_proxy(&c, &api).await;
    let mut tasks = Vec::new();
    for i in 0..48 {
        let c = c.clone();
        let api = api.clone();
        let integ = integ.clone();
        tasks.push(tokio::spawn(async move {
            let r = c
                .update_integration()
                .api_id(&api)
                .integration_id(&integ)
                .description(format!("writer-{i}"))
                .timeout_in_millis(1000 + i)
                .send()
                .await;
            (i, r)
        }));
    }
    let mut written = HashSet::new();
    for t in tasks {
        let (i, r) = t.await.unwrap();
        match r {
            Ok(out) => {
                // Each answer is exactly what that writer wrote (no torn mix of two writers).
                assert_eq!(out.description(), Some(format!("writer-{i}").as_str()));
                assert_eq!(out.timeout_in_millis(), Some(1000 + i));
                written.insert((format!("writer-{i}"), 1000 + i));
            }
            Err(e) => {
                let status = e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
                assert_eq!(
                    err_code(&e).0,
                    "ConflictException",
                    "only a clean conflict is acceptable (status {status})"
                );
            }
        }
    }
    assert!(!written.is_empty());
    let fin = c
        .get_integration()
        .api_id(&api)
        .integration_id(&integ)
        .send()
        .await
        .unwrap();
    let pair = (
        fin.description().unwrap().to_string(),
        fin.timeout_in_millis().unwrap(),
    );
    assert!(
        written.contains(&pair),
        "final state {pair:?} is one of the acknowledged writes"
    );
    // Other members untouched.
    assert_eq!(fin.integration_uri(), Some("https://example.com/{proxy}"));

    server.kill();
    drop(server);
    let server = Server::start_in(dir.path());
    let c = server.client(REGION);
    let again = c
        .get_integration()
        .api_id(&api)
        .integration_id(&integ)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            again.description().unwrap().to_string(),
            again.timeout_in_millis().unwrap()
        ),
        pair
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_mixed_writes_across_apis_and_regions() {
    let dir = DataDir::new("mixed");
    let mut server = Server::start_in(dir.path());
    let regions = ["us-east-1", "eu-west-1", "ap-northeast-1"];
    let mut tasks = Vec::new();
    for (n, region) in regions.iter().enumerate() {
        for i in 0..8 {
            let c = server.client(region);
            tasks.push(tokio::spawn(async move {
                let api = c
                    .create_api()
                    .name(format!("r{n}-{i}"))
                    .protocol_type(ProtocolType::Http)
                    .send()
                    .await
                    .unwrap()
                    .api_id
                    .unwrap();
                let integ = http_proxy(&c, &api).await;
                c.create_route()
                    .api_id(&api)
                    .route_key("GET /x")
                    .target(format!("integrations/{integ}"))
                    .send()
                    .await
                    .unwrap();
                c.create_stage()
                    .api_id(&api)
                    .stage_name("$default")
                    .auto_deploy(true)
                    .send()
                    .await
                    .unwrap();
                api
            }));
        }
    }
    let mut per_region: Vec<HashSet<String>> = vec![HashSet::new(); regions.len()];
    for (k, t) in tasks.into_iter().enumerate() {
        per_region[k / 8].insert(t.await.unwrap());
    }
    let check = |server: &Server, per_region: &Vec<HashSet<String>>| {
        for (n, region) in regions.iter().enumerate() {
            let v = raw(server.addr, "GET", "/v2/apis", b"", region).json();
            let ids: HashSet<String> = v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["apiId"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(&ids, &per_region[n], "{region}");
            for id in &ids {
                let s = raw(
                    server.addr,
                    "GET",
                    &format!("/v2/apis/{id}/stages/%24default"),
                    b"",
                    region,
                )
                .json();
                let dep = s["deploymentId"].as_str().unwrap_or_else(|| panic!("{s}"));
                let d = raw(
                    server.addr,
                    "GET",
                    &format!("/v2/apis/{id}/deployments/{dep}"),
                    b"",
                    region,
                );
                assert_eq!(d.status, 200, "{}", d.body);
            }
        }
    };
    check(&server, &per_region);
    server.kill();
    drop(server);
    let server = Server::start_in(dir.path());
    check(&server, &per_region);
}

#[tokio::test]
async fn deletes_stay_deleted_after_restart() {
    let dir = DataDir::new("deletes");
    let mut server = Server::start_in(dir.path());
    let c = server.client(REGION);
    let (api, integ, _route) = fixture(&c).await;
    let keep = c
        .create_api()
        .name("keep")
        .protocol_type(ProtocolType::Http)
        .send()
        .await
        .unwrap()
        .api_id
        .unwrap();
    let keep_integ = http_proxy(&c, &keep).await;
    c.create_stage()
        .api_id(&keep)
        .stage_name("gone")
        .send()
        .await
        .unwrap();
    c.delete_stage()
        .api_id(&keep)
        .stage_name("gone")
        .send()
        .await
        .unwrap();
    c.delete_api().api_id(&api).send().await.unwrap();
    server.kill();
    drop(server);

    let server = Server::start_in(dir.path());
    let c = server.client(REGION);
    let e = c.get_api().api_id(&api).send().await.unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    let e = c
        .get_integration()
        .api_id(&api)
        .integration_id(&integ)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err_code(&e).0, "NotFoundException");
    let apis = c.get_apis().send().await.unwrap();
    assert_eq!(apis.items().len(), 1);
    assert_eq!(apis.items()[0].api_id(), Some(keep.as_str()));
    assert!(c
        .get_stages()
        .api_id(&keep)
        .send()
        .await
        .unwrap()
        .items()
        .is_empty());
    c.get_integration()
        .api_id(&keep)
        .integration_id(&keep_integ)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_concurrent_writes_keeps_every_acknowledged_one() {
    let dir = DataDir::new("inflight");
    let mut server = Server::start_in(dir.path());
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut tasks = Vec::new();
    for t in 0..16 {
        let c = server.client(REGION);
        let acked = acked.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                // Quick create: an API, an integration, a route, a stage and a deployment in
                // one write; after the crash each is there completely or not at all.
                let r = c
                    .create_api()
                    .name(format!("t{t}-{n}"))
                    .protocol_type(ProtocolType::Http)
                    .target("https://example.com")
                    .send()
                    .await;
                match r {
                    Ok(out) => acked.lock().unwrap().push(out.api_id.unwrap()),
                    // Only the kill may end a writer: an error the server answered is a failure
                    // (a response cut off by the kill is not).
                    Err(e) => {
                        let status = e.raw_response().map(|r| r.status().as_u16());
                        if e.as_service_error().is_some() || status.is_some_and(|s| s >= 500) {
                            panic!(
                                "write failed before the kill: {status:?} {:?}",
                                err_code(&e)
                            );
                        }
                        break;
                    }
                }
            }
        }));
    }
    // Let the writers get going, then pull the plug mid-flight.
    while acked.lock().unwrap().len() < 50 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    for t in tasks {
        t.await.unwrap();
    }
    drop(server);
    let acked: Vec<String> = acked.lock().unwrap().clone();
    assert!(acked.len() >= 50);

    let server = Server::start_in(dir.path());
    let listed = raw(server.addr, "GET", "/v2/apis", b"", REGION).json();
    let present: HashSet<String> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["apiId"].as_str().unwrap().to_string())
        .collect();
    for id in &acked {
        assert!(present.contains(id), "acknowledged API {id} was lost");
    }
    // At most the requests in flight at the kill may have landed unacknowledged.
    assert!(
        present.len() <= acked.len() + 16,
        "{} present, {} acked",
        present.len(),
        acked.len()
    );
    let c = server.client(REGION);
    for id in &present {
        let integs = c.get_integrations().api_id(id).send().await.unwrap();
        assert_eq!(integs.items().len(), 1, "{id}");
        let routes = c.get_routes().api_id(id).send().await.unwrap();
        assert_eq!(routes.items().len(), 1, "{id}");
        let stage = c
            .get_stage()
            .api_id(id)
            .stage_name("$default")
            .send()
            .await
            .unwrap();
        let dep = stage
            .deployment_id()
            .unwrap_or_else(|| panic!("{id}: stage without deployment"));
        c.get_deployment()
            .api_id(id)
            .deployment_id(dep)
            .send()
            .await
            .unwrap();
    }
}

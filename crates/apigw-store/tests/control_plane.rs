//! The SQLite engine under its real consumer when a commit fails: whatever shares the failed
//! transaction or is queued behind it fails too, and afterwards memory, the database and what
//! the callers were told all agree, across a restart as well.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use apigw_control::ControlPlane;
use apigw_store::{SqliteStore, Store};
use serde_json::json;

const REGION: &str = "us-east-1";

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("apigw-store-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Every insert of a `doc:boom` document fails, from outside the store.
fn arm_failure(dir: &Path) {
    let conn = rusqlite::Connection::open(dir.join("state.db")).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER boom BEFORE INSERT ON documents WHEN NEW.kind = 'doc:boom'
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
    )
    .unwrap();
}

/// The keys of `doc:<kind>` documents in the database.
fn on_disk(store: &SqliteStore, kind: &str) -> BTreeSet<String> {
    let kind = format!("doc:{kind}");
    store
        .load_all()
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == kind)
        .map(|r| r.key)
        .collect()
}

async fn in_memory(cp: &ControlPlane, kind: &str) -> BTreeSet<String> {
    cp.documents(REGION, kind)
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_a_failed_commit_memory_disk_and_answers_agree() {
    let dir = tmpdir("failed-commit");
    let store = Arc::new(SqliteStore::open(&dir).unwrap());
    let cp = Arc::new(ControlPlane::open(store.clone()).unwrap());
    let api = cp
        .create_api(
            REGION,
            apigw_model::ApiInput {
                name: Some("kept".into()),
                protocol_type: Some("HTTP".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .api
        .api_id;
    arm_failure(&dir);

    // Rounds of concurrent writers, one of which fails: those sharing its group commit or
    // queued behind it fail with it; those before it land.
    let mut acknowledged = BTreeSet::new();
    let mut failed = 0;
    for round in 0..10 {
        let writers: Vec<_> = (0..20)
            .map(|i| {
                let cp = cp.clone();
                tokio::spawn(async move {
                    let kind = if i == round * 2 { "boom" } else { "ok" };
                    let key = format!("{round}-{i}");
                    let r = cp.put_document(REGION, kind, &key, json!({ "i": i })).await;
                    (kind, key, r)
                })
            })
            .collect();
        for w in writers {
            let (kind, key, r) = w.await.unwrap();
            match r {
                Ok(()) => {
                    assert_eq!(kind, "ok");
                    acknowledged.insert(key);
                }
                Err(e) => {
                    assert!(matches!(e, apigw_model::ServiceError::Internal(_)), "{e:?}");
                    failed += 1;
                }
            }
        }
    }
    assert!(failed >= 10, "every boom fails");
    assert!(!acknowledged.is_empty());
    assert_eq!(on_disk(&store, "ok"), acknowledged);
    assert_eq!(in_memory(&cp, "ok").await, acknowledged);
    assert!(on_disk(&store, "boom").is_empty());
    assert!(in_memory(&cp, "boom").await.is_empty());

    // Writes go on, and a restart finds exactly the same.
    cp.put_document(REGION, "ok", "after", json!({}))
        .await
        .unwrap();
    acknowledged.insert("after".into());
    drop(cp);
    drop(store);
    let store = Arc::new(SqliteStore::open(&dir).unwrap());
    let cp = ControlPlane::open(store.clone()).unwrap();
    assert_eq!(in_memory(&cp, "ok").await, acknowledged);
    cp.get_api(REGION, &api).await.unwrap();
}

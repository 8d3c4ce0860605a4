//! The API Gateway V2 control plane: every apigatewayv2 operation over the resource model.
//!
//! Boundary: takes already-decoded requests (model input structs, ids, the region) and
//! returns model structs or a `ServiceError`; it never sees HTTP. The wire protocols
//! (restJson1 for apigatewayv2, awsJson1_0 for Cloud Control) are thin layers over it, so
//! both enforce the same rules.
//!
//! State lives in memory (reads never touch the database) and every mutation is made durable
//! through a [`Store`] before its caller is answered. Writers are serialised by one lock and
//! hand their changes to the store in that order; readers wait until what they saw is durable,
//! so nobody ever observes a write that a crash could take back.

mod api;
mod documents;
mod integration;
pub mod page;
mod route;
mod stage;
pub mod state;
mod tags;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use apigw_model::{Result, ServiceError, Timestamp};
use apigw_store::{Change, Record, Store};
use serde::Serialize;
use tokio::sync::watch;

pub use api::ApiView;
pub use page::{Page, PageRequest};
pub use state::{ApiSnapshot, ApiState, DeploymentEntry, RegionState};

/// A stage with the deployment it serves (see [`ControlPlane::served_stages`]).
#[derive(Debug, Clone)]
pub struct ServedStage {
    pub region: String,
    pub api: apigw_model::Api,
    pub stage: apigw_model::Stage,
    pub deployment: DeploymentEntry,
}

/// The account id reported in ARNs and messages.
pub const DEFAULT_ACCOUNT_ID: &str = "000000000000";

pub struct ControlPlane {
    state: RwLock<state::State>,
    store: Arc<dyn Store>,
    account_id: String,
    /// Sequence number of the last mutation applied in memory.
    applied: AtomicU64,
    /// Highest sequence number known durable.
    durable: watch::Sender<u64>,
    /// Bumped on every successful mutation; the data plane watches it to rebuild its routes.
    changes: watch::Sender<u64>,
    /// The same count, for readers that only compare it (the data plane, per request): an
    /// atomic load, where reading the watch takes its lock.
    change_count: AtomicU64,
}

/// One mutation in progress: the region's state plus the documents to store. Other layers get
/// one through [`ControlPlane::transact`] and drive it with the operations' step forms
/// (`tx.create_integration(..)`, …) and [`Tx::put_document`]; all of it becomes one commit.
pub struct Tx<'a> {
    pub(crate) region: &'a str,
    pub(crate) state: &'a mut RegionState,
    pub(crate) now: Timestamp,
    changes: Vec<Change>,
}

impl Tx<'_> {
    pub(crate) fn put<T: Serialize>(&mut self, kind: &str, key: String, value: &T) -> Result<()> {
        let body =
            serde_json::to_string(value).map_err(|e| ServiceError::Internal(e.to_string()))?;
        self.changes.push(Change::Put(Record {
            region: self.region.to_string(),
            kind: kind.to_string(),
            key,
            version: 1,
            body,
        }));
        Ok(())
    }

    pub(crate) fn delete(&mut self, kind: &str, key: String) {
        self.changes.push(Change::Delete {
            region: self.region.to_string(),
            kind: kind.to_string(),
            key,
        });
    }

    pub(crate) fn api(&mut self, api_id: &str) -> Result<&mut ApiState> {
        self.state
            .apis
            .get_mut(api_id)
            .ok_or_else(|| api_not_found(api_id))
    }
}

pub(crate) fn api_not_found(api_id: &str) -> ServiceError {
    ServiceError::NotFound {
        message: format!("Invalid API identifier specified {DEFAULT_ACCOUNT_ID}:{api_id}"),
        resource_type: None,
    }
}

pub(crate) fn now() -> Timestamp {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    Timestamp(secs)
}

/// A fresh lower-case alphanumeric id of `len` characters not already in use.
pub(crate) fn new_id(len: usize, taken: impl Fn(&str) -> bool) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    loop {
        let id: String = (0..len)
            .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
            .collect();
        if !taken(&id) {
            return id;
        }
    }
}

impl ControlPlane {
    /// Builds the control plane over `store`, loading everything it holds.
    pub fn open(
        store: Arc<dyn Store>,
    ) -> std::result::Result<ControlPlane, apigw_store::StoreError> {
        let state = state::State::from_records(store.load_all()?);
        Ok(ControlPlane {
            state: RwLock::new(state),
            store,
            account_id: DEFAULT_ACCOUNT_ID.to_string(),
            applied: AtomicU64::new(0),
            durable: watch::channel(0).0,
            changes: watch::channel(0).0,
            change_count: AtomicU64::new(0),
        })
    }

    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    pub fn store_description(&self) -> String {
        self.store.describe()
    }

    /// Receives a new value after every committed change of any resource.
    pub fn subscribe_changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// How many changes have been committed: state read after this read is at least that new.
    pub fn change_count(&self) -> u64 {
        self.change_count.load(Ordering::Acquire)
    }

    /// Runs `f` on the region's state under the write lock, then waits until its changes are
    /// durable. `f` must check everything before it mutates: an error leaves state untouched.
    pub(crate) async fn mutate<T>(
        &self,
        region: &str,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T>,
    ) -> Result<T> {
        self.transact(region, f).await
    }

    /// One atomic mutation for another protocol layer: everything `f` does to `tx` (operations
    /// and documents) is applied under one write lock and stored in one commit, answered once
    /// durable. As with every operation, `f` must fail before it changes anything: its error
    /// leaves state untouched and stores nothing.
    pub async fn transact<T, E: From<ServiceError>>(
        &self,
        region: &str,
        f: impl FnOnce(&mut Tx<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let (out, seq, ticket) = {
            let mut guard = self.state.write().unwrap_or_else(|e| e.into_inner());
            let region_state = guard.regions.entry(region.to_string()).or_default();
            let mut tx = Tx {
                region,
                state: region_state,
                now: now(),
                changes: Vec::new(),
            };
            let out = f(&mut tx)?;
            if tx.changes.is_empty() {
                return Ok(out);
            }
            let seq = self.applied.fetch_add(1, Ordering::SeqCst) + 1;
            // Queued while the lock is held, so the store applies changes in memory order.
            let ticket = self.store.commit(tx.changes);
            (out, seq, ticket)
        };
        let result = match ticket.await {
            Ok(r) => r,
            Err(_) => Err(apigw_store::StoreError::WriterGone),
        };
        match result {
            Ok(()) => {
                self.durable.send_if_modified(|d| {
                    let moved = seq > *d;
                    *d = (*d).max(seq);
                    moved
                });
                let count = self.change_count.fetch_add(1, Ordering::AcqRel) + 1;
                self.changes.send_modify(|c| *c = (*c).max(count));
                Ok(out)
            }
            Err(e) => {
                tracing::error!(error = %e, "a write could not be made durable; reloading state from the store");
                self.reload_after_failure();
                Err(ServiceError::Internal(format!("The change could not be stored: {e}")).into())
            }
        }
    }

    /// After a failed commit the memory holds changes the store does not: take the store's word.
    fn reload_after_failure(&self) {
        let mut guard = self.state.write().unwrap_or_else(|e| e.into_inner());
        match self.store.load_all() {
            Ok(records) => *guard = state::State::from_records(records),
            Err(e) => tracing::error!(error = %e, "reloading state failed"),
        }
        let applied = self.applied.load(Ordering::SeqCst);
        self.durable.send_modify(|d| *d = (*d).max(applied));
    }

    /// Runs `f` on the region's state under the read lock; answers only once what `f` saw is durable.
    pub(crate) async fn read<T>(
        &self,
        region: &str,
        f: impl FnOnce(&RegionState) -> Result<T>,
    ) -> Result<T> {
        let (out, seen) = {
            let guard = self.state.read().unwrap_or_else(|e| e.into_inner());
            let seen = self.applied.load(Ordering::SeqCst);
            let out = match guard.regions.get(region) {
                Some(r) => f(r),
                None => f(&RegionState::default()),
            };
            (out, seen)
        };
        if *self.durable.borrow() < seen {
            let mut rx = self.durable.subscribe();
            // The sender lives as long as `self`, so this only ends when durable ≥ seen.
            let _ = rx.wait_for(|d| *d >= seen).await;
        }
        out
    }

    /// A copy of one API's whole state (for the data plane and Cloud Control).
    pub async fn api_state(&self, region: &str, api_id: &str) -> Result<ApiState> {
        self.read(region, |r| {
            r.apis
                .get(api_id)
                .cloned()
                .ok_or_else(|| api_not_found(api_id))
        })
        .await
    }

    /// Every stage that points at an existing deployment, with that deployment and its API,
    /// across all regions: what the data plane serves. Copies only those deployments, so the
    /// cost does not grow with the API's deployment history.
    pub fn served_stages(&self) -> Vec<ServedStage> {
        let guard = self.state.read().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for (region, r) in &guard.regions {
            for a in r.apis.values() {
                for stage in a.stages.values() {
                    let Some(d) = stage
                        .deployment_id
                        .as_deref()
                        .and_then(|id| a.deployments.get(id))
                    else {
                        continue;
                    };
                    out.push(ServedStage {
                        region: region.clone(),
                        api: a.api.clone(),
                        stage: stage.clone(),
                        deployment: d.clone(),
                    });
                }
            }
        }
        out
    }

    /// Wipes all state (the test-only `/moto-api/reset`).
    pub async fn reset(&self) -> Result<()> {
        let ticket = {
            let mut guard = self.state.write().unwrap_or_else(|e| e.into_inner());
            guard.regions.clear();
            self.applied.fetch_add(1, Ordering::SeqCst);
            self.store.commit(vec![Change::Clear])
        };
        let seq = self.applied.load(Ordering::SeqCst);
        match ticket.await {
            Ok(Ok(())) => {
                self.durable.send_modify(|d| *d = (*d).max(seq));
                let count = self.change_count.fetch_add(1, Ordering::AcqRel) + 1;
                self.changes.send_modify(|c| *c = (*c).max(count));
                Ok(())
            }
            _ => {
                self.reload_after_failure();
                Err(ServiceError::Internal("reset could not be stored".into()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Mutex;

    use apigw_model::{ApiInput, IntegrationInput};
    use apigw_store::{CommitTicket, StoreError};

    use super::*;

    /// Records every commit and makes it durable at once.
    #[derive(Default)]
    struct Recording(Mutex<Vec<Vec<Change>>>);

    impl Store for Recording {
        fn load_all(&self) -> std::result::Result<Vec<Record>, StoreError> {
            Ok(Vec::new())
        }
        fn commit(&self, changes: Vec<Change>) -> CommitTicket {
            self.0.lock().unwrap().push(changes);
            let (tx, rx) = tokio::sync::oneshot::channel();
            let _ = tx.send(Ok(()));
            rx
        }
        fn describe(&self) -> String {
            "recording".into()
        }
    }

    fn kinds(changes: &[Change]) -> Vec<&str> {
        changes
            .iter()
            .map(|c| match c {
                Change::Put(r) => r.kind.as_str(),
                Change::Delete { kind, .. } => kind.as_str(),
                Change::Clear => "clear",
            })
            .collect()
    }

    #[tokio::test]
    async fn a_transaction_is_one_commit_and_a_failed_one_stores_nothing() {
        let store = Arc::new(Recording::default());
        let cp = ControlPlane::open(store.clone()).unwrap();
        let api = cp
            .create_api(
                "r",
                ApiInput {
                    name: Some("a".into()),
                    protocol_type: Some("HTTP".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let input = IntegrationInput {
            integration_type: Some("HTTP_PROXY".into()),
            integration_uri: Some("https://example.com".into()),
            integration_method: Some("GET".into()),
            payload_format_version: Some("1.0".into()),
            ..Default::default()
        };

        let created = cp
            .transact("r", |tx| {
                let i = tx.create_integration(&api.api.api_id, input.clone())?;
                tx.put_document("request", "t1".into(), serde_json::json!({"ok": true}))?;
                Ok::<_, ServiceError>(i)
            })
            .await
            .unwrap();
        {
            let commits = store.0.lock().unwrap();
            assert_eq!(commits.len(), 2, "the API, then the transaction");
            assert_eq!(kinds(&commits[1]), ["integration", "doc:request"]);
        }
        assert_eq!(
            cp.document("r", "request", "t1").await.unwrap(),
            Some(serde_json::json!({"ok": true}))
        );
        cp.get_integration("r", &api.api.api_id, &created.integration_id)
            .await
            .unwrap();

        // A step that fails fails the whole transaction before anything is stored.
        let e = cp
            .transact("r", |tx| {
                tx.create_integration("nope", input.clone())?;
                tx.put_document("request", "t2".into(), serde_json::json!({}))
            })
            .await
            .unwrap_err();
        assert!(matches!(e, ServiceError::NotFound { .. }));
        assert_eq!(store.0.lock().unwrap().len(), 2);
        assert_eq!(cp.document("r", "request", "t2").await.unwrap(), None);
    }
}

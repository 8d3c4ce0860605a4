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
//!
//! A commit that fails takes every commit queued behind it down too (the store refuses them:
//! each was built on memory holding the failed change). The first writer to learn of it marks
//! memory stale, so no further write is queued; once the store has answered everything queued
//! before (`Store::resume`, a barrier), memory is rebuilt from what is durable and writes go on.
//! So the store never applies a change computed from a state it does not hold, and memory ends
//! up equal to the store before anything new is written.

mod api;
mod authorizer;
mod documents;
mod integration;
pub mod page;
pub mod registry;
mod route;
mod stage;
pub mod state;
mod tags;
mod tx;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use apigw_model::{Origin, Result, ServiceError, Timestamp};
use apigw_store::{Change, Store};
use tokio::sync::watch;

pub use api::ApiView;
pub use page::{Page, PageRequest};
pub use registry::{IdList, Removal, Resource};
pub use state::{ApiSnapshot, ApiState, DeploymentEntry, LoadError, RegionState};
pub use tx::{Tx, View};

/// The resources of the registry (registry.rs); each one's declaration, `impl Resource`, sits
/// next to its rules.
pub mod resources {
    /// `AWS::ApiGatewayV2::Api`, `/v2/apis/{apiId}` (api.rs).
    pub struct Api;
    /// `/v2/apis/{apiId}/authorizers/{authorizerId}` (authorizer.rs).
    pub struct Authorizer;
    /// `/v2/apis/{apiId}/integrations/{integrationId}` (integration.rs).
    pub struct Integration;
    /// `…/integrations/{integrationId}/integrationresponses/{integrationResponseId}`.
    pub struct IntegrationResponse;
    /// `/v2/apis/{apiId}/routes/{routeId}` (route.rs).
    pub struct Route;
    /// `…/routes/{routeId}/routeresponses/{routeResponseId}`.
    pub struct RouteResponse;
    /// `/v2/apis/{apiId}/stages/{stageName}` (stage.rs).
    pub struct Stage;
    /// `/v2/apis/{apiId}/deployments/{deploymentId}` (stage.rs).
    pub struct Deployment;
}

/// The registry's operations outside the five (`Removal`s), declared next to their rules.
pub mod actions {
    /// `DELETE /v2/apis/{apiId}/cors` (api.rs).
    pub struct DeleteCorsConfiguration;
    /// `DELETE …/routes/{routeId}/requestparameters/{requestParameterKey}` (route.rs).
    pub struct DeleteRouteRequestParameter;
    /// `DELETE …/stages/{stageName}/routesettings/{routeKey}` (stage.rs).
    pub struct DeleteRouteSettings;
    /// `DELETE …/stages/{stageName}/accesslogsettings` (stage.rs).
    pub struct DeleteAccessLogSettings;
}

/// Why the control plane could not start over a store.
#[derive(Debug)]
pub enum OpenError {
    Store(apigw_store::StoreError),
    /// A stored document cannot be turned into state: starting without it would lose it.
    Document {
        store: String,
        error: LoadError,
    },
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Store(e) => e.fmt(f),
            OpenError::Document { store, error } => write!(
                f,
                "refusing to start on {store}: {error}. Nothing was changed; an apigw that \
                 reads this document, or a backup, is needed"
            ),
        }
    }
}

impl std::error::Error for OpenError {}

impl From<apigw_store::StoreError> for OpenError {
    fn from(e: apigw_store::StoreError) -> Self {
        OpenError::Store(e)
    }
}

/// A stage with the deployment it serves (see [`ControlPlane::served_stages`]).
#[derive(Debug, Clone)]
pub struct ServedStage {
    pub region: String,
    pub api: apigw_model::Api,
    pub stage: apigw_model::Stage,
    pub deployment: DeploymentEntry,
    /// The stage's authorizer cache epoch ([`ControlPlane::authorizer_cache_epoch`]): when it
    /// differs from the one a cached Lambda authorizer result was made under, that result is
    /// stale (ResetAuthorizersCache). The deployment's authorizers are in
    /// `deployment.snapshot.authorizers`.
    pub authorizer_cache_epoch: u64,
}

/// The account id reported in ARNs and messages.
pub const DEFAULT_ACCOUNT_ID: &str = "000000000000";

pub struct ControlPlane {
    memory: RwLock<Memory>,
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
    /// One reload of memory at a time after a failed commit.
    recovery: tokio::sync::Mutex<()>,
    /// Per stage: times its authorizer cache was reset (authorizer.rs).
    authorizer_cache: authorizer::CacheEpochs,
}

/// Where a write stands once it had the lock.
enum Queued<T, F> {
    /// It changed nothing: its answer, given once what it saw (up to commit `seen`) is durable.
    Done { out: T, seen: u64, epoch: u64 },
    /// Its changes are queued in the store as commit `seq`.
    Pending {
        out: T,
        seq: u64,
        epoch: u64,
        ticket: apigw_store::CommitTicket,
    },
    /// Memory is stale: the write did not run and is handed back.
    Stale(F),
}

/// What the lock guards: the state, and whether it can be trusted.
struct Memory {
    state: state::State,
    /// Times memory was rebuilt from the store after a failed commit. A writer notes it when it
    /// queues its commit and a reader when it reads, to tell whether that rebuild came after.
    epoch: u64,
    /// From when a failed commit is noticed until memory is rebuilt: memory may hold changes
    /// that will never be durable, so no write may be queued on top of it.
    stale: bool,
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

/// Builds the state from every document `store` holds, streamed: each becomes state as it is
/// read, so loading never holds all of them at once. The outer error is the store's, the
/// inner a document that cannot be loaded (the scan stops at it).
fn load(
    store: &dyn Store,
) -> std::result::Result<std::result::Result<state::State, LoadError>, apigw_store::StoreError> {
    let mut loader = state::Loader::new(&state::FORMATS);
    let mut failed = None;
    store.load_each(&mut |record| match loader.add(record) {
        Ok(()) => std::ops::ControlFlow::Continue(()),
        Err(e) => {
            failed = Some(e);
            std::ops::ControlFlow::Break(())
        }
    })?;
    Ok(match failed {
        Some(e) => Err(e),
        None => loader.finish(),
    })
}

impl ControlPlane {
    /// Builds the control plane over `store`, loading everything it holds. Any stored document
    /// it cannot load stops it ([`OpenError::Document`]).
    pub fn open(store: Arc<dyn Store>) -> std::result::Result<ControlPlane, OpenError> {
        let state = match load(&*store)? {
            Ok(state) => state,
            Err(error) => {
                return Err(OpenError::Document {
                    store: store.describe(),
                    error,
                })
            }
        };
        Ok(ControlPlane {
            memory: RwLock::new(Memory {
                state,
                epoch: 0,
                stale: false,
            }),
            store,
            account_id: DEFAULT_ACCOUNT_ID.to_string(),
            applied: AtomicU64::new(0),
            durable: watch::channel(0).0,
            changes: watch::channel(0).0,
            change_count: AtomicU64::new(0),
            recovery: tokio::sync::Mutex::new(()),
            authorizer_cache: authorizer::CacheEpochs::default(),
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

    fn memory_read(&self) -> std::sync::RwLockReadGuard<'_, Memory> {
        self.memory.read().unwrap_or_else(|e| e.into_inner())
    }

    fn memory_write(&self) -> std::sync::RwLockWriteGuard<'_, Memory> {
        self.memory.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` as one transaction on the region's state, then waits until its changes are
    /// durable. `f` works on copies (`tx.rs`): its error leaves state untouched.
    pub(crate) async fn mutate<T>(
        &self,
        region: &str,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T>,
    ) -> Result<T> {
        self.transact(region, f).await
    }

    /// One atomic mutation for another protocol layer: everything `f` does to `tx` (the
    /// registry's rules and documents) is applied under one write lock and stored in one commit,
    /// answered once durable. `f` works on copies of what it touches, swapped in only when it
    /// returns `Ok`: its error leaves state untouched and stores nothing, whatever it did before.
    pub async fn transact<T, E: From<ServiceError>>(
        &self,
        region: &str,
        f: impl FnOnce(&mut Tx<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        // What the transaction replaced, dropped after the lock is released.
        let mut replaced = Vec::new();
        let out = self
            .write(|state| {
                let mut tx = Tx::new(region, state.regions.get(region), now());
                let out = f(&mut tx)?;
                let (overlay, changes) = tx.into_parts();
                if !changes.is_empty() {
                    replaced = overlay.apply(state.regions.entry(region.to_string()).or_default());
                }
                Ok((out, changes))
            })
            .await;
        drop(replaced);
        out
    }

    /// Applies `f` to memory under the write lock and queues the changes it returns in the same
    /// order, then waits until they are durable.
    async fn write<T, E: From<ServiceError>, F>(&self, mut f: F) -> std::result::Result<T, E>
    where
        F: FnOnce(&mut state::State) -> std::result::Result<(T, Vec<Change>), E>,
    {
        let (out, seq, epoch, ticket) = loop {
            match self.queue(f)? {
                Queued::Done { out, seen, epoch } => {
                    if *self.durable.borrow() >= seen {
                        return Ok(out);
                    }
                    self.wait_durable(seen).await;
                    if self.epoch() != epoch {
                        // What it saw was rolled back by a failed commit: its answer may rest
                        // on a change that was never stored.
                        return Err(ServiceError::internal(
                            Origin::Store,
                            "The change could not be made: a change it depended on could not be stored",
                        )
                        .into());
                    }
                    return Ok(out);
                }
                Queued::Pending {
                    out,
                    seq,
                    epoch,
                    ticket,
                } => break (out, seq, epoch, ticket),
                // A failed commit was noticed and memory not rebuilt yet: rebuild it (or wait
                // for the rebuild under way) before this write runs.
                Queued::Stale(back) => {
                    f = back;
                    self.recover().await?;
                }
            }
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
                self.count_change();
                Ok(out)
            }
            Err(e) => {
                tracing::error!(error = %e, "a write could not be made durable; reloading state from the store");
                self.after_failure(epoch).await;
                Err(
                    ServiceError::caused_by(Origin::Store, "The change could not be stored", e)
                        .into(),
                )
            }
        }
    }

    fn epoch(&self) -> u64 {
        self.memory_read().epoch
    }

    /// The synchronous half of [`ControlPlane::write`] (the lock is never held across an await).
    fn queue<T, E, F>(&self, f: F) -> std::result::Result<Queued<T, F>, E>
    where
        F: FnOnce(&mut state::State) -> std::result::Result<(T, Vec<Change>), E>,
    {
        let mut memory = self.memory_write();
        if memory.stale {
            return Ok(Queued::Stale(f));
        }
        let (out, changes) = f(&mut memory.state)?;
        if changes.is_empty() {
            return Ok(Queued::Done {
                out,
                seen: self.applied.load(Ordering::SeqCst),
                epoch: memory.epoch,
            });
        }
        let seq = self.applied.fetch_add(1, Ordering::SeqCst) + 1;
        // Queued while the lock is held, so the store applies changes in memory order.
        let ticket = self.store.commit(changes);
        Ok(Queued::Pending {
            out,
            seq,
            epoch: memory.epoch,
            ticket,
        })
    }

    fn count_change(&self) {
        let count = self.change_count.fetch_add(1, Ordering::AcqRel) + 1;
        self.changes.send_modify(|c| *c = (*c).max(count));
    }

    /// A commit queued at `epoch` failed (or was refused behind one that did).
    async fn after_failure(&self, epoch: u64) {
        {
            let mut memory = self.memory_write();
            // Rebuilt since this commit was queued: that rebuild's barrier came after it, so
            // its failure is already accounted for.
            if memory.epoch != epoch {
                return;
            }
            memory.stale = true;
        }
        if let Err(e) = self.recover().await {
            // Memory stays stale: the next write tries again, and fails until it can.
            tracing::error!(error = %e, "reloading state after a failed write failed");
        }
    }

    /// Rebuilds stale memory from the store. Nothing is queued meanwhile (writers wait while
    /// memory is stale), so once the store has answered everything queued before, what it holds
    /// is exactly what is durable.
    async fn recover(&self) -> Result<()> {
        let _one = self.recovery.lock().await;
        let barrier = {
            let memory = self.memory_read();
            if !memory.stale {
                return Ok(());
            }
            self.store.resume()
        };
        fn failed(e: impl std::error::Error + Send + Sync + 'static) -> ServiceError {
            ServiceError::caused_by(
                Origin::Store,
                "The state could not be reloaded after a failed change",
                e,
            )
        }
        match barrier.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(failed(e)),
            Err(_) => return Err(failed(apigw_store::StoreError::WriterGone)),
        }
        let state = load(&*self.store).map_err(failed)?.map_err(failed)?;
        let mut memory = self.memory_write();
        memory.state = state;
        memory.epoch += 1;
        memory.stale = false;
        // Every sequence number handed out so far is settled (durable, or lost and gone from
        // memory): release the readers waiting on them; they see the epoch moved and re-read.
        let applied = self.applied.load(Ordering::SeqCst);
        self.durable.send_modify(|d| *d = (*d).max(applied));
        // The data plane may have built routes from memory holding the lost change.
        self.count_change();
        tracing::info!("state reloaded from the store after a failed write");
        Ok(())
    }

    /// Runs `f` on the region's state under the read lock; answers only once what `f` saw is
    /// durable. Should memory be rebuilt after a failed commit meanwhile, what `f` saw may
    /// include a change that was never stored: it runs again on the rebuilt state.
    pub(crate) async fn read<T>(
        &self,
        region: &str,
        f: impl Fn(&RegionState) -> Result<T>,
    ) -> Result<T> {
        loop {
            let (out, seen, epoch) = {
                let memory = self.memory_read();
                let seen = self.applied.load(Ordering::SeqCst);
                let out = match memory.state.regions.get(region) {
                    Some(r) => f(r),
                    None => f(&RegionState::default()),
                };
                (out, seen, memory.epoch)
            };
            if *self.durable.borrow() >= seen {
                return out;
            }
            self.wait_durable(seen).await;
            if self.epoch() == epoch {
                return out;
            }
        }
    }

    /// Runs `f` on a view of the region under the read lock; answers only once what `f` saw is
    /// durable (see [`ControlPlane::read`]).
    pub async fn inspect<T>(&self, region: &str, f: impl Fn(View<'_>) -> Result<T>) -> Result<T> {
        self.read(region, |r| f(View::of(region, Some(r)))).await
    }

    /// Waits until every commit up to `seen` is settled (durable, or failed and rolled back).
    async fn wait_durable(&self, seen: u64) {
        if *self.durable.borrow() >= seen {
            return;
        }
        let mut rx = self.durable.subscribe();
        // The sender lives as long as `self`, so this only ends when durable ≥ seen.
        let _ = rx.wait_for(|d| *d >= seen).await;
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
        let epochs = self.authorizer_cache.all();
        let memory = self.memory_read();
        let mut out = Vec::new();
        for (region, r) in &memory.state.regions {
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
                        stage: apigw_model::Stage::clone(stage),
                        deployment: (**d).clone(),
                        authorizer_cache_epoch: epochs
                            .get(&(
                                region.clone(),
                                a.api.api_id.clone(),
                                stage.stage_name.clone(),
                            ))
                            .copied()
                            .unwrap_or(0),
                    });
                }
            }
        }
        out
    }

    /// Wipes all state (the test-only `/moto-api/reset`).
    pub async fn reset(&self) -> Result<()> {
        self.write(|state| {
            state.regions.clear();
            Ok(((), vec![Change::Clear]))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Mutex;

    use apigw_model::{ApiInput, IntegrationInput};
    use apigw_store::{CommitTicket, Record, StoreError};

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
        cp.get::<resources::Integration>(
            "r",
            &[api.api.api_id.clone(), created.integration_id.clone()],
        )
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

        // A step that succeeded before a later one failed is not in memory either: the
        // transaction worked on copies.
        let before = cp.memory_read().state.regions["r"].clone();
        let e = cp
            .transact("r", |tx| {
                tx.create_integration(&api.api.api_id, input.clone())?;
                tx.put_document("request", "t3".into(), serde_json::json!({}))?;
                Err::<(), _>(ServiceError::bad_request("later step"))
            })
            .await
            .unwrap_err();
        assert!(matches!(e, ServiceError::BadRequest(_)));
        assert_eq!(cp.memory_read().state.regions["r"], before);
        assert_eq!(store.0.lock().unwrap().len(), 2);

        // A part that fails alone (`attempt`) is undone; the rest of the transaction stands.
        cp.transact("r", |tx| {
            let failed = tx.attempt(|tx| {
                tx.create_integration(&api.api.api_id, input.clone())?;
                tx.put_document("request", "lost".into(), serde_json::json!({}))?;
                Err::<(), _>(ServiceError::bad_request("this part"))
            });
            assert!(failed.is_err());
            tx.put_document("request", "kept".into(), serde_json::json!({}))
        })
        .await
        .unwrap();
        {
            let commits = store.0.lock().unwrap();
            assert_eq!(kinds(&commits[2]), ["doc:request"]);
        }
        let memory = cp.memory_read();
        let region = &memory.state.regions["r"];
        assert_eq!(region.apis, before.apis);
        assert!(region.documents["request"].contains_key("kept"));
        assert!(!region.documents["request"].contains_key("lost"));
    }

    #[tokio::test]
    async fn reset_authorizers_cache_moves_the_stage_epoch_and_reports_a_change() {
        use apigw_model::{AuthorizerInput, JwtConfiguration, RouteInput, StageInput};
        let store = Arc::new(Recording::default());
        let cp = ControlPlane::open(store.clone()).unwrap();
        let api = cp.create_api("r", http_api()).await.unwrap().api.api_id;
        let parent = [api.clone()];
        let authorizer = cp
            .create::<resources::Authorizer>(
                "r",
                &parent,
                AuthorizerInput {
                    name: Some("jwt".into()),
                    authorizer_type: Some("JWT".into()),
                    identity_source: Some(vec!["$request.header.Authorization".into()]),
                    jwt_configuration: Some(JwtConfiguration {
                        audience: Some(vec!["aud".into()]),
                        issuer: Some("https://issuer.example.com".into()),
                    }),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        cp.create::<resources::Route>(
            "r",
            &parent,
            RouteInput {
                route_key: Some("GET /x".into()),
                authorization_type: Some("JWT".into()),
                authorizer_id: Some(authorizer.authorizer_id.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        cp.create::<resources::Stage>(
            "r",
            &parent,
            StageInput {
                stage_name: Some("$default".into()),
                auto_deploy: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let served = cp.served_stages();
        assert_eq!(served.len(), 1);
        assert_eq!(served[0].authorizer_cache_epoch, 0);
        // The deployment froze the authorizer the route uses.
        assert_eq!(
            served[0].deployment.snapshot.authorizers[&authorizer.authorizer_id],
            authorizer
        );

        let commits = store.0.lock().unwrap().len();
        let changes = cp.change_count();
        cp.reset_authorizers_cache("r", &api, "$default")
            .await
            .unwrap();
        assert_eq!(cp.authorizer_cache_epoch("r", &api, "$default"), 1);
        assert_eq!(cp.served_stages()[0].authorizer_cache_epoch, 1);
        assert!(cp.change_count() > changes, "the data plane must rebuild");
        assert_eq!(store.0.lock().unwrap().len(), commits, "nothing is stored");

        let e = cp
            .reset_authorizers_cache("r", &api, "prod")
            .await
            .unwrap_err();
        assert!(matches!(e, ServiceError::NotFound { .. }), "{e:?}");
        let e = cp
            .reset_authorizers_cache("r", "nope", "$default")
            .await
            .unwrap_err();
        assert!(matches!(e, ServiceError::NotFound { .. }), "{e:?}");
        let ws = cp
            .create_api(
                "r",
                ApiInput {
                    name: Some("ws".into()),
                    protocol_type: Some("WEBSOCKET".into()),
                    route_selection_expression: Some("$request.body.action".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .api
            .api_id;
        cp.create::<resources::Stage>(
            "r",
            std::array::from_ref(&ws),
            StageInput {
                stage_name: Some("prod".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let e = cp
            .reset_authorizers_cache("r", &ws, "prod")
            .await
            .unwrap_err();
        assert!(matches!(e, ServiceError::BadRequest(_)), "{e:?}");
        assert_eq!(cp.authorizer_cache_epoch("r", &ws, "prod"), 0);
    }

    /// An engine in memory with the failure contract of `Store`: fails every commit that puts a
    /// `doc:boom` document, refuses the commits behind it until resumed, and can hold its queue
    /// so a test stacks commits behind one that will fail.
    #[derive(Default)]
    struct Faulty(Mutex<FaultyQueue>);

    type Reply = tokio::sync::oneshot::Sender<std::result::Result<(), StoreError>>;

    #[derive(Default)]
    struct FaultyQueue {
        docs: std::collections::BTreeMap<(String, String, String), Record>,
        /// `None`: a resume.
        jobs: std::collections::VecDeque<(Option<Vec<Change>>, Reply)>,
        held: bool,
        failed: bool,
        /// Resumes that fail before one succeeds.
        resume_failures: usize,
    }

    impl FaultyQueue {
        fn drain(&mut self) {
            while let Some((job, reply)) = self.jobs.pop_front() {
                let result = match job {
                    None if self.resume_failures > 0 => {
                        self.resume_failures -= 1;
                        Err(StoreError::Database("cannot resume yet".into()))
                    }
                    None => {
                        self.failed = false;
                        Ok(())
                    }
                    Some(_) if self.failed => Err(StoreError::Aborted("injected".into())),
                    Some(changes)
                        if changes
                            .iter()
                            .any(|c| matches!(c, Change::Put(r) if r.kind == "doc:boom")) =>
                    {
                        self.failed = true;
                        Err(StoreError::Io("injected failure".into()))
                    }
                    Some(changes) => {
                        for c in changes {
                            match c {
                                Change::Put(r) => {
                                    let id = (r.region.clone(), r.kind.clone(), r.key.clone());
                                    self.docs.insert(id, r);
                                }
                                Change::Delete { region, kind, key } => {
                                    self.docs.remove(&(region, kind, key));
                                }
                                Change::Clear => self.docs.clear(),
                            }
                        }
                        Ok(())
                    }
                };
                let _ = reply.send(result);
            }
        }
    }

    impl Faulty {
        fn enqueue(&self, job: Option<Vec<Change>>) -> CommitTicket {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let mut q = self.0.lock().unwrap();
            q.jobs.push_back((job, tx));
            if !q.held {
                q.drain();
            }
            rx
        }
        fn hold(&self) {
            self.0.lock().unwrap().held = true;
        }
        fn release(&self) {
            let mut q = self.0.lock().unwrap();
            q.held = false;
            q.drain();
        }
        async fn wait_queued(&self, n: usize) {
            while self.0.lock().unwrap().jobs.len() < n {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        }
        fn disk(&self) -> state::State {
            state::State::from_records(self.load_all().unwrap()).unwrap()
        }
    }

    impl Store for Faulty {
        fn load_all(&self) -> std::result::Result<Vec<Record>, StoreError> {
            Ok(self.0.lock().unwrap().docs.values().cloned().collect())
        }
        fn commit(&self, changes: Vec<Change>) -> CommitTicket {
            self.enqueue(Some(changes))
        }
        fn resume(&self) -> CommitTicket {
            self.enqueue(None)
        }
        fn describe(&self) -> String {
            "faulty".into()
        }
    }

    fn http_api() -> ApiInput {
        ApiInput {
            name: Some("a".into()),
            protocol_type: Some("HTTP".into()),
            ..Default::default()
        }
    }

    fn assert_memory_is_disk(cp: &ControlPlane, store: &Faulty) {
        let memory = cp.memory_read();
        assert!(!memory.stale);
        assert_eq!(memory.state, store.disk());
    }

    fn is_internal(e: &ServiceError) -> bool {
        matches!(e, ServiceError::Internal(_))
    }

    #[tokio::test]
    async fn a_failed_commit_fails_the_commits_behind_it_and_memory_returns_to_disk() {
        let store = Arc::new(Faulty::default());
        let cp = Arc::new(ControlPlane::open(store.clone()).unwrap());
        let api = cp.create_api("r", http_api()).await.unwrap().api.api_id;
        let before = store.disk();

        store.hold();
        let failing = tokio::spawn({
            let cp = cp.clone();
            async move {
                cp.put_document("r", "boom", "k", serde_json::json!(1))
                    .await
            }
        });
        store.wait_queued(1).await;
        // Built on memory that holds the change that will fail.
        let behind = tokio::spawn({
            let cp = cp.clone();
            async move {
                cp.transact("r", |tx| {
                    let saw = tx.view().document("boom", "k").is_some();
                    tx.put_document("derived", "d".into(), serde_json::json!({ "saw": saw }))
                })
                .await
            }
        });
        store.wait_queued(2).await;
        // A reader that saw both: it waits for them.
        let reader = tokio::spawn({
            let cp = cp.clone();
            async move {
                let boom = cp.document("r", "boom", "k").await;
                let derived = cp.document("r", "derived", "d").await;
                (boom, derived)
            }
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!reader.is_finished());
        assert!(cp.memory_read().state.regions["r"]
            .documents
            .contains_key("derived"));

        store.release();
        let e = failing.await.unwrap().unwrap_err();
        assert!(is_internal(&e), "{e:?}");
        let e = behind.await.unwrap().unwrap_err();
        assert!(is_internal(&e), "{e:?}");
        // What the reader saw was never stored: it read again.
        let (boom, derived) = reader.await.unwrap();
        assert_eq!((boom.unwrap(), derived.unwrap()), (None, None));
        assert_memory_is_disk(&cp, &store);
        assert_eq!(store.disk(), before);

        // Writes go on, on the rebuilt state.
        cp.put_document("r", "after", "k", serde_json::json!(2))
            .await
            .unwrap();
        cp.get_api("r", &api).await.unwrap();
        assert_memory_is_disk(&cp, &store);
        assert!(store.disk().regions["r"].documents.contains_key("after"));
    }

    #[tokio::test]
    async fn a_write_queued_before_the_failure_is_noticed_is_refused_too() {
        let store = Arc::new(Faulty::default());
        let cp = Arc::new(ControlPlane::open(store.clone()).unwrap());
        cp.create_api("r", http_api()).await.unwrap();
        store.hold();
        let failing = tokio::spawn({
            let cp = cp.clone();
            async move {
                cp.put_document("r", "boom", "k", serde_json::json!(1))
                    .await
            }
        });
        store.wait_queued(1).await;
        // The store has failed it, but its writer has not run yet to notice.
        store.release();
        let e = cp
            .put_document("r", "late", "k", serde_json::json!(1))
            .await
            .unwrap_err();
        assert!(is_internal(&e), "{e:?}");
        assert!(failing.await.unwrap().is_err());
        assert_memory_is_disk(&cp, &store);
        assert!(!store.disk().regions["r"].documents.contains_key("late"));
        cp.put_document("r", "late", "k", serde_json::json!(1))
            .await
            .unwrap();
        assert_memory_is_disk(&cp, &store);
    }

    #[tokio::test]
    async fn no_write_is_queued_until_memory_is_rebuilt() {
        let store = Arc::new(Faulty::default());
        let cp = ControlPlane::open(store.clone()).unwrap();
        cp.create_api("r", http_api()).await.unwrap();
        store.0.lock().unwrap().resume_failures = 2;
        let e = cp
            .put_document("r", "boom", "k", serde_json::json!(1))
            .await
            .unwrap_err();
        assert!(is_internal(&e), "{e:?}");
        // The store cannot resume yet: memory stays stale and writes are refused before they
        // reach the store.
        assert!(cp.memory_read().stale);
        let e = cp
            .put_document("r", "next", "k", serde_json::json!(1))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("could not be reloaded"), "{e:?}");
        assert!(!store.disk().regions["r"].documents.contains_key("next"));
        // Once it can, the next write rebuilds memory first, then lands.
        cp.put_document("r", "next", "k", serde_json::json!(1))
            .await
            .unwrap();
        assert_memory_is_disk(&cp, &store);
        assert!(store.disk().regions["r"].documents.contains_key("next"));
        assert!(!store.disk().regions["r"].documents.contains_key("boom"));
        // A reset after all that is stored like any write.
        cp.reset().await.unwrap();
        assert_memory_is_disk(&cp, &store);
        assert!(store.disk().regions.is_empty());
    }

    #[tokio::test]
    async fn a_document_that_cannot_be_loaded_stops_the_open() {
        let store = Arc::new(Faulty::default());
        store.0.lock().unwrap().docs.insert(
            ("eu-west-1".into(), "api".into(), "abc".into()),
            Record {
                region: "eu-west-1".into(),
                kind: "api".into(),
                key: "abc".into(),
                version: 1,
                body: "{not json".into(),
            },
        );
        let e = match ControlPlane::open(store) {
            Ok(_) => panic!("opened"),
            Err(e) => e.to_string(),
        };
        assert!(e.starts_with("refusing to start on faulty: "), "{e}");
        assert!(e.contains("region eu-west-1, kind api, key abc"), "{e}");
    }

    /// What a transaction's copy costs (run with --release --ignored --nocapture).
    #[tokio::test]
    #[ignore]
    async fn measure_create_cost() {
        let store = Arc::new(Recording::default());
        let cp = ControlPlane::open(store.clone()).unwrap();
        let api = cp.create_api("r", http_api()).await.unwrap().api.api_id;
        let input = IntegrationInput {
            integration_type: Some("HTTP_PROXY".into()),
            integration_uri: Some("https://example.com".into()),
            integration_method: Some("ANY".into()),
            payload_format_version: Some("1.0".into()),
            ..Default::default()
        };
        let t = std::time::Instant::now();
        for _ in 0..250 {
            cp.transact("r", |tx| tx.create_integration(&api, input.clone()))
                .await
                .unwrap();
        }
        eprintln!(
            "250 creates: {:?} ({:?} each)",
            t.elapsed(),
            t.elapsed() / 250
        );
        let state = cp.memory_read().state.regions["r"].apis[&api].clone();
        let t = std::time::Instant::now();
        for _ in 0..1000 {
            std::hint::black_box(state.clone());
        }
        eprintln!(
            "clone of an API with 250 integrations: {:?}",
            t.elapsed() / 1000
        );
        let one = state.integrations.iter().next().unwrap().1;
        let t = std::time::Instant::now();
        for i in 0..1000 {
            let mut copy = state.clone();
            let mut next = one.clone();
            next.integration_id = format!("new{i}");
            copy.integrations.insert(next);
            std::hint::black_box(copy);
        }
        eprintln!("copy + one insert: {:?}", t.elapsed() / 1000);
    }
}

//! The working state: every region's APIs and their children, and how each piece is stored.
//!
//! Every stored document carries the format version it was written at ([`DOCUMENT_VERSION`]
//! now). Loading upgrades older ones through [`UPGRADES`] in memory (they are rewritten at the
//! current version when next changed), and refuses, naming the document, anything it cannot
//! turn into state: a body that does not decode, a version from a newer apigw, a kind or key it
//! does not know. Serving without a document would silently lose it at the next write.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use apigw_model::{
    Api, Authorizer, Deployment, Integration, IntegrationResponse, Route, RouteResponse, Stage,
};
use apigw_store::Record;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The format version documents are written at. Bump it, and add an [`Upgrade`] for each kind
/// whose stored shape changes, whenever a change to a stored type would not read old documents
/// the same way (a renamed or re-typed member, a member whose absence now means something else).
/// Version 1 is every document stored before versions existed.
pub const DOCUMENT_VERSION: u32 = 1;

/// One step of the upgrade from format version `from` to `from + 1`, for some kinds.
pub struct Upgrade {
    pub from: u32,
    /// The stored kinds the step rewrites (`doc:<kind>` for opaque documents); documents of
    /// other kinds are the same at both versions. A change to a stored type also changes the
    /// deployments that froze it (their snapshots): list `deployment` then.
    pub kinds: &'static [&'static str],
    pub apply: fn(Value) -> std::result::Result<Value, String>,
}

/// Every upgrade step, in order of `from`. Steps are kept as long as data directories written
/// at their `from` version must still load.
pub const UPGRADES: &[Upgrade] = &[];

/// The formats a load understands: the current version and the steps up to it.
pub struct Formats {
    pub current: u32,
    pub upgrades: &'static [Upgrade],
}

/// This build's formats.
pub const FORMATS: Formats = Formats {
    current: DOCUMENT_VERSION,
    upgrades: UPGRADES,
};

/// A stored document the state cannot be built from, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub region: String,
    pub kind: String,
    pub key: String,
    pub reason: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the stored document (region {}, kind {}, key {}) cannot be loaded: {}",
            self.region, self.kind, self.key, self.reason
        )
    }
}

impl std::error::Error for LoadError {}

/// What a deployment froze: the routes, integrations and authorizers a stage serves until the
/// next deployment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiSnapshot {
    pub api: Option<Api>,
    pub routes: BTreeMap<String, Route>,
    pub route_responses: BTreeMap<String, BTreeMap<String, RouteResponse>>,
    pub integrations: BTreeMap<String, Integration>,
    pub integration_responses: BTreeMap<String, BTreeMap<String, IntegrationResponse>>,
    /// authorizer id → authorizer. Absent in deployments made before authorizers existed
    /// (and omitted when empty), so those documents read and write as they were.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub authorizers: BTreeMap<String, Authorizer>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentEntry {
    pub deployment: Deployment,
    pub snapshot: ApiSnapshot,
}

/// A value shared between copies of the state and copied on write: cloning it counts a
/// reference; the first change made through a clone copies the value (`Arc::make_mut`). A
/// transaction's copy of an API (tx.rs) therefore costs a reference count per collection, and
/// a change copies the collection it touches, whose entries are shared in turn, not the API.
#[derive(Default, PartialEq, Eq)]
pub struct Shared<T>(Arc<T>);

impl<T> Shared<T> {
    pub fn new(value: T) -> Shared<T> {
        Shared(Arc::new(value))
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(Arc::clone(&self.0))
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<T> std::ops::Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Clone> std::ops::DerefMut for Shared<T> {
    fn deref_mut(&mut self) -> &mut T {
        Arc::make_mut(&mut self.0)
    }
}

impl<T> From<T> for Shared<T> {
    fn from(value: T) -> Shared<T> {
        Shared::new(value)
    }
}

impl<'a, T> IntoIterator for &'a Shared<T>
where
    &'a T: IntoIterator,
{
    type Item = <&'a T as IntoIterator>::Item;
    type IntoIter = <&'a T as IntoIterator>::IntoIter;
    fn into_iter(self) -> Self::IntoIter {
        (&*self.0).into_iter()
    }
}

impl<T: Serialize> Serialize for Shared<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// The key of a large collection (integrations, routes: up to 300 per API). Ids are a few
/// characters, held inline (up to 23 bytes): copying the collection allocates and counts
/// nothing for its keys, and a key costs no allocation of its own.
pub type Key = smol_str::SmolStr;

/// An integration as memory holds it. Most integrations set none of the optional members
/// beyond method and URI (an HTTP_PROXY or Lambda proxy without mappings): those keep only
/// what they set, in a quarter of the model's size; any other is kept whole. Its id is the
/// key it is held under (an integration whose own id differs is kept whole). Read it back with [`StoredIntegration::to_model`].
#[derive(Debug, Clone, PartialEq)]
pub enum StoredIntegration {
    Lean {
        integration_method: Option<Box<str>>,
        integration_uri: Option<Box<str>>,
        timeout_in_millis: i64,
        connection_type: apigw_model::ConnectionType,
        integration_type: apigw_model::IntegrationType,
        payload_format_version: Option<apigw_model::PayloadFormatVersion>,
        api_gateway_managed: Option<bool>,
    },
    Full(Box<Integration>),
}

impl StoredIntegration {
    /// The form to hold `integration` in under the key `id`.
    pub fn new(integration: Integration, id: &str) -> StoredIntegration {
        // Every member named, so a member added to the model cannot be dropped unnoticed.
        let Integration {
            integration_id: _,
            api_gateway_managed,
            connection_id,
            connection_type,
            content_handling_strategy,
            credentials_arn,
            description,
            integration_method: _,
            integration_response_selection_expression,
            integration_subtype,
            integration_type,
            integration_uri: _,
            passthrough_behavior,
            payload_format_version,
            request_parameters,
            request_templates,
            response_parameters,
            template_selection_expression,
            timeout_in_millis,
            tls_config,
        } = &integration;
        let lean = integration.integration_id == id
            && connection_id.is_none()
            && content_handling_strategy.is_none()
            && credentials_arn.is_none()
            && description.is_none()
            && integration_response_selection_expression.is_none()
            && integration_subtype.is_none()
            && passthrough_behavior.is_none()
            && request_parameters.is_none()
            && request_templates.is_none()
            && response_parameters.is_none()
            && template_selection_expression.is_none()
            && tls_config.is_none();
        if !lean {
            return StoredIntegration::Full(Box::new(integration));
        }
        StoredIntegration::Lean {
            api_gateway_managed: *api_gateway_managed,
            connection_type: *connection_type,
            integration_type: *integration_type,
            payload_format_version: *payload_format_version,
            timeout_in_millis: *timeout_in_millis,
            integration_method: integration.integration_method.map(String::into_boxed_str),
            integration_uri: integration.integration_uri.map(String::into_boxed_str),
        }
    }

    /// The integration, as the model has it; `id` is the key it is held under.
    pub fn to_model(&self, id: &str) -> Integration {
        match self {
            StoredIntegration::Full(i) => Integration::clone(i),
            StoredIntegration::Lean {
                integration_method,
                integration_uri,
                timeout_in_millis,
                connection_type,
                integration_type,
                payload_format_version,
                api_gateway_managed,
            } => Integration {
                integration_id: id.to_string(),
                api_gateway_managed: *api_gateway_managed,
                connection_id: None,
                connection_type: *connection_type,
                content_handling_strategy: None,
                credentials_arn: None,
                description: None,
                integration_method: integration_method.as_deref().map(str::to_string),
                integration_response_selection_expression: None,
                integration_subtype: None,
                integration_type: *integration_type,
                integration_uri: integration_uri.as_deref().map(str::to_string),
                passthrough_behavior: None,
                payload_format_version: *payload_format_version,
                request_parameters: None,
                request_templates: None,
                response_parameters: None,
                template_selection_expression: None,
                timeout_in_millis: *timeout_in_millis,
                tls_config: None,
            },
        }
    }

    /// `api_gateway_managed`, without building the model.
    pub fn is_managed(&self) -> bool {
        match self {
            StoredIntegration::Full(i) => i.api_gateway_managed == Some(true),
            StoredIntegration::Lean {
                api_gateway_managed,
                ..
            } => *api_gateway_managed == Some(true),
        }
    }
}

/// An API's integrations in id order, each a [`StoredIntegration`]. Reads hand out the model
/// (`get`, `iter`). Held in buckets by the id's first byte: copying the collection for a
/// change (copy-on-write, see [`Shared`]) copies the few buckets' handles and the one bucket it
/// changes, a dozen entries, where one map copied (then later dropped) all 300 of an API's
/// integrations at every create, half a create's instructions in the rules.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Integrations {
    buckets: Shared<BTreeMap<Option<u8>, Shared<Bucket>>>,
    len: usize,
}

type Bucket = BTreeMap<Key, Arc<StoredIntegration>>;

/// Ids order by their bytes, so ordering buckets by the first byte (none for an empty id)
/// and each bucket by id is the ids' order.
fn bucket_of(id: &str) -> Option<u8> {
    id.as_bytes().first().copied()
}

impl Integrations {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn entry(&self, id: &str) -> Option<&Arc<StoredIntegration>> {
        self.buckets.get(&bucket_of(id))?.get(id)
    }

    pub fn contains_key(&self, id: &str) -> bool {
        self.entry(id).is_some()
    }

    pub fn get(&self, id: &str) -> Option<Integration> {
        self.entry(id).map(|i| i.to_model(id))
    }

    /// Adds or replaces the integration under its id.
    pub fn insert(&mut self, integration: Integration) {
        let id = Key::from(integration.integration_id.as_str());
        let stored = StoredIntegration::new(integration, &id);
        self.put(id, stored);
    }

    /// Adds the integration under `id` (a stored document's key).
    pub fn insert_at(&mut self, id: &str, integration: Integration) {
        self.put(Key::from(id), StoredIntegration::new(integration, id));
    }

    fn put(&mut self, id: Key, stored: StoredIntegration) {
        let bucket = self.buckets.entry(bucket_of(&id)).or_default();
        if bucket.insert(id, Arc::new(stored)).is_none() {
            self.len += 1;
        }
    }

    pub fn remove(&mut self, id: &str) -> bool {
        let key = bucket_of(id);
        let Some(bucket) = self.buckets.get_mut(&key) else {
            return false;
        };
        if bucket.remove(id).is_none() {
            return false;
        }
        if bucket.is_empty() {
            // No empty bucket is kept: equal collections are equal structures.
            self.buckets.remove(&key);
        }
        self.len -= 1;
        true
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.stored().map(|(id, _)| id)
    }

    /// Every integration, in id order, as the model has it.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Integration)> {
        self.stored().map(|(id, i)| (id, i.to_model(id)))
    }

    /// The entries as held, for reads that need no model (`StoredIntegration::is_managed`).
    pub fn stored(&self) -> impl Iterator<Item = (&str, &StoredIntegration)> {
        self.buckets
            .values()
            .flat_map(|b| b.iter().map(|(k, v)| (k.as_str(), &**v)))
    }
}

/// One API and its children. Each collection (and each integration, route and stage) is
/// [`Shared`], so copying an ApiState copies no resource.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiState {
    pub api: Api,
    pub integrations: Integrations,
    /// integration id → integration response id → response
    pub integration_responses: Shared<BTreeMap<String, BTreeMap<String, IntegrationResponse>>>,
    pub routes: Shared<BTreeMap<Key, Shared<Route>>>,
    /// route id → route response id → response
    pub route_responses: Shared<BTreeMap<String, BTreeMap<String, RouteResponse>>>,
    pub stages: Shared<BTreeMap<String, Shared<Stage>>>,
    /// Shared, never changed in place: a transaction's copy of the API does not copy them.
    pub deployments: Shared<BTreeMap<String, Arc<DeploymentEntry>>>,
    /// authorizer id → authorizer (at most 10 per API).
    pub authorizers: Shared<BTreeMap<String, Authorizer>>,
}

impl ApiState {
    pub fn new(api: Api) -> ApiState {
        ApiState {
            api,
            integrations: Integrations::default(),
            integration_responses: Shared::default(),
            routes: Shared::default(),
            route_responses: Shared::default(),
            stages: Shared::default(),
            deployments: Shared::default(),
            authorizers: Shared::default(),
        }
    }

    pub fn snapshot(&self) -> ApiSnapshot {
        ApiSnapshot {
            api: Some(self.api.clone()),
            routes: unshared(&self.routes),
            route_responses: (*self.route_responses).clone(),
            integrations: self
                .integrations
                .iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            integration_responses: (*self.integration_responses).clone(),
            authorizers: (*self.authorizers).clone(),
        }
    }
}

fn unshared<T: Clone>(map: &BTreeMap<Key, Shared<T>>) -> BTreeMap<String, T> {
    map.iter()
        .map(|(k, v)| (k.to_string(), T::clone(v)))
        .collect()
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct RegionState {
    pub apis: BTreeMap<String, ApiState>,
    /// Opaque documents of other protocol layers: kind → key → document (documents.rs).
    pub documents: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
}

#[derive(Debug, Default, PartialEq)]
pub struct State {
    pub regions: HashMap<String, RegionState>,
}

/// Stored kinds. Keys embed the parents' ids so a child is found under its API on load.
pub mod kind {
    pub const API: &str = "api";
    pub const INTEGRATION: &str = "integration";
    pub const INTEGRATION_RESPONSE: &str = "integrationresponse";
    pub const ROUTE: &str = "route";
    pub const ROUTE_RESPONSE: &str = "routeresponse";
    pub const STAGE: &str = "stage";
    pub const DEPLOYMENT: &str = "deployment";
    /// `{apiId}/{authorizerId}`.
    pub const AUTHORIZER: &str = "authorizer";
}

fn load_error(r: &Record, reason: String) -> LoadError {
    LoadError {
        region: r.region.clone(),
        kind: r.kind.clone(),
        key: r.key.clone(),
        reason,
    }
}

/// Decodes a document of any version `formats` knows, upgrading it on the way. A document
/// already current (or whose kind no later step touches) decodes straight from its text.
fn decode<T: serde::de::DeserializeOwned>(r: &Record, formats: &Formats) -> Result<T, LoadError> {
    if r.version == 0 || r.version > formats.current {
        return Err(load_error(
            r,
            format!(
                "its format version {} is not one this apigw understands (1 to {}); was it \
                 written by a newer apigw?",
                r.version, formats.current
            ),
        ));
    }
    let bad = |e: serde_json::Error| load_error(r, format!("format version {}: {e}", r.version));
    let mut steps = formats
        .upgrades
        .iter()
        .filter(|u| u.from >= r.version && u.kinds.contains(&r.kind.as_str()))
        .peekable();
    if steps.peek().is_none() {
        return serde_json::from_str(&r.body).map_err(bad);
    }
    let mut doc: Value = serde_json::from_str(&r.body).map_err(bad)?;
    for step in steps {
        doc = (step.apply)(doc).map_err(|e| {
            load_error(
                r,
                format!("upgrading it from format version {}: {e}", step.from),
            )
        })?;
    }
    serde_json::from_value(doc).map_err(|e| {
        load_error(
            r,
            format!("upgraded to format version {}: {e}", formats.current),
        )
    })
}

impl State {
    /// Rebuilds the state from stored documents (parents first, whatever the order given).
    pub fn from_records(records: Vec<Record>) -> Result<State, LoadError> {
        State::from_records_with(records, &FORMATS)
    }

    /// As [`State::from_records`], reading the formats `formats` describes.
    pub fn from_records_with(records: Vec<Record>, formats: &Formats) -> Result<State, LoadError> {
        let mut loader = Loader::new(formats);
        for r in &records {
            loader.add(r)?;
        }
        loader.finish()
    }
}

/// Builds the state from stored documents handed over one at a time, in any order, so a
/// start-up never holds every stored document at once: each becomes state as it arrives. A
/// child whose API has not arrived yet waits for it (an API changed after its children were
/// stored comes after them in the store's order); only those are held until [`Loader::finish`].
pub struct Loader<'f> {
    state: State,
    formats: &'f Formats,
    waiting: Vec<Record>,
}

impl<'f> Loader<'f> {
    pub fn new(formats: &'f Formats) -> Loader<'f> {
        Loader {
            state: State::default(),
            formats,
            waiting: Vec::new(),
        }
    }

    pub fn add(&mut self, r: &Record) -> Result<(), LoadError> {
        let formats = self.formats;
        if let Some(doc_kind) = r.kind.strip_prefix(crate::documents::KIND_PREFIX) {
            let doc = decode(r, formats)?;
            self.region(&r.region)
                .documents
                .entry(doc_kind.to_string())
                .or_default()
                .insert(r.key.clone(), doc);
            return Ok(());
        }
        if r.kind == kind::API {
            let api: Api = decode(r, formats)?;
            if api.api_id != r.key {
                return Err(load_error(r, format!("it holds API {}", api.api_id)));
            }
            self.region(&r.region)
                .apis
                .insert(api.api_id.clone(), ApiState::new(api));
            return Ok(());
        }
        let segments = r.key.split('/').count();
        let known = matches!(
            (r.kind.as_str(), segments),
            (
                kind::INTEGRATION | kind::ROUTE | kind::STAGE | kind::DEPLOYMENT | kind::AUTHORIZER,
                2
            ) | (kind::INTEGRATION_RESPONSE | kind::ROUTE_RESPONSE, 3)
        );
        if !known {
            return Err(load_error(
                r,
                "no document of this kind has such a key (was it written by a newer apigw?)".into(),
            ));
        }
        let api_id = r.key.split('/').next().unwrap_or_default();
        let loaded = self
            .state
            .regions
            .get(&r.region)
            .is_some_and(|region| region.apis.contains_key(api_id));
        if !loaded {
            self.waiting.push(r.clone());
            return Ok(());
        }
        self.add_child(r)
    }

    /// The state, once every document was added.
    pub fn finish(mut self) -> Result<State, LoadError> {
        for r in std::mem::take(&mut self.waiting) {
            self.add_child(&r)?;
        }
        Ok(self.state)
    }

    /// (Called for APIs and opaque documents only: children find their API's region.)
    fn region(&mut self, region: &str) -> &mut RegionState {
        self.state.regions.entry(region.to_string()).or_default()
    }

    /// A child of a known kind and key shape (checked by `add`).
    fn add_child(&mut self, r: &Record) -> Result<(), LoadError> {
        let formats = self.formats;
        let parts: Vec<&str> = r.key.split('/').collect();
        let Some(api) = parts
            .first()
            .and_then(|id| self.state.regions.get_mut(&r.region)?.apis.get_mut(*id))
        else {
            // Unreachable (no API shows it) and harmless: its API's deletion removes every
            // child in the same commit, so only an older build's failure could leave one.
            tracing::warn!(region = %r.region, kind = %r.kind, key = %r.key, "stored child of a missing API skipped");
            return Ok(());
        };
        match (r.kind.as_str(), parts.as_slice()) {
            (kind::INTEGRATION, [_, id]) => {
                api.integrations.insert_at(id, decode(r, formats)?);
            }
            (kind::ROUTE, [_, id]) => {
                api.routes
                    .insert(Key::from(*id), Shared::new(decode(r, formats)?));
            }
            (kind::INTEGRATION_RESPONSE, [_, parent, id]) => {
                api.integration_responses
                    .entry(parent.to_string())
                    .or_default()
                    .insert(id.to_string(), decode(r, formats)?);
            }
            (kind::ROUTE_RESPONSE, [_, parent, id]) => {
                api.route_responses
                    .entry(parent.to_string())
                    .or_default()
                    .insert(id.to_string(), decode(r, formats)?);
            }
            (kind::STAGE, [_, name]) => {
                api.stages
                    .insert(name.to_string(), Shared::new(decode(r, formats)?));
            }
            (kind::AUTHORIZER, [_, id]) => {
                api.authorizers.insert(id.to_string(), decode(r, formats)?);
            }
            (kind::DEPLOYMENT, [_, id]) => {
                api.deployments
                    .insert(id.to_string(), Arc::new(decode(r, formats)?));
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Documents exactly as the last release without versions wrote them (captured from it):
    /// every stored kind, including a deployment's snapshot and an opaque document.
    const VERSION_1: &[(&str, &str, &str, &str)] = &[
        (
            "eu-west-1",
            "api",
            "cw8sglree5",
            r#"{"apiId":"cw8sglree5","apiKeySelectionExpression":"$request.header.x-api-key","createdDate":"2026-12-07T00:35:11Z","disableExecuteApiEndpoint":false,"ipAddressType":"ipv4","name":"ws","protocolType":"WEBSOCKET","routeSelectionExpression":"$request.body.action"}"#,
        ),
        (
            "eu-west-1",
            "doc:request",
            "token-1",
            r#"{"operation":"CREATE","status":"SUCCESS"}"#,
        ),
        (
            "eu-west-1",
            "integration",
            "cw8sglree5/kkusg1w",
            r#"{"integrationId":"kkusg1w","connectionType":"INTERNET","integrationResponseSelectionExpression":"${integration.response.statuscode}","integrationType":"MOCK","passthroughBehavior":"WHEN_NO_MATCH","payloadFormatVersion":"1.0","timeoutInMillis":29000}"#,
        ),
        (
            "eu-west-1",
            "integrationresponse",
            "cw8sglree5/kkusg1w/q0mgor",
            r#"{"integrationResponseId":"q0mgor","integrationResponseKey":"$default"}"#,
        ),
        (
            "eu-west-1",
            "route",
            "cw8sglree5/gex6ug6",
            r#"{"routeId":"gex6ug6","apiKeyRequired":false,"authorizationType":"NONE","routeKey":"$default","target":"integrations/kkusg1w"}"#,
        ),
        (
            "eu-west-1",
            "routeresponse",
            "cw8sglree5/gex6ug6/s2iryo",
            r#"{"routeResponseId":"s2iryo","routeResponseKey":"$default"}"#,
        ),
        (
            "us-east-1",
            "api",
            "9o994mof0d",
            r#"{"apiId":"9o994mof0d","apiKeySelectionExpression":"$request.header.x-api-key","createdDate":"2026-12-07T00:35:11Z","description":"golden","disableExecuteApiEndpoint":false,"ipAddressType":"ipv4","name":"http","protocolType":"HTTP","routeSelectionExpression":"$request.method $request.path","tags":{"team":"core"}}"#,
        ),
        (
            "us-east-1",
            "deployment",
            "9o994mof0d/5vmucm",
            r#"{"deployment":{"deploymentId":"5vmucm","autoDeployed":false,"createdDate":"2026-12-07T00:35:11Z","deploymentStatus":"DEPLOYED","description":"manual"},"snapshot":{"api":{"apiId":"9o994mof0d","apiKeySelectionExpression":"$request.header.x-api-key","createdDate":"2026-12-07T00:35:11Z","description":"golden","disableExecuteApiEndpoint":false,"ipAddressType":"ipv4","name":"http","protocolType":"HTTP","routeSelectionExpression":"$request.method $request.path","tags":{"team":"core"}},"routes":{"j6ieb80":{"routeId":"j6ieb80","apiKeyRequired":false,"authorizationType":"NONE","routeKey":"GET /items/{id}","target":"integrations/44pebyf"}},"routeResponses":{},"integrations":{"44pebyf":{"integrationId":"44pebyf","connectionType":"INTERNET","integrationMethod":"ANY","integrationType":"HTTP_PROXY","integrationUri":"https://example.com/{proxy}","payloadFormatVersion":"1.0","requestParameters":{"append:header.x-from":"$context.requestId"},"timeoutInMillis":30000}},"integrationResponses":{}}}"#,
        ),
        (
            "us-east-1",
            "integration",
            "9o994mof0d/44pebyf",
            r#"{"integrationId":"44pebyf","connectionType":"INTERNET","integrationMethod":"ANY","integrationType":"HTTP_PROXY","integrationUri":"https://example.com/{proxy}","payloadFormatVersion":"1.0","requestParameters":{"append:header.x-from":"$context.requestId"},"timeoutInMillis":30000}"#,
        ),
        (
            "us-east-1",
            "route",
            "9o994mof0d/j6ieb80",
            r#"{"routeId":"j6ieb80","apiKeyRequired":false,"authorizationType":"NONE","routeKey":"GET /items/{id}","target":"integrations/44pebyf"}"#,
        ),
        (
            "us-east-1",
            "stage",
            "9o994mof0d/prod",
            r#"{"stageName":"prod","createdDate":"2026-12-07T00:35:11Z","defaultRouteSettings":{"detailedMetricsEnabled":false},"deploymentId":"5vmucm","lastDeploymentStatusMessage":"Successfully deployed stage with deployment ID '5vmucm'","lastUpdatedDate":"2026-12-07T00:35:11Z","routeSettings":{},"stageVariables":{"color":"blue"},"tags":{}}"#,
        ),
    ];

    fn rec(region: &str, kind: &str, key: &str, version: u32, body: &str) -> Record {
        Record {
            region: region.into(),
            kind: kind.into(),
            key: key.into(),
            version,
            body: body.into(),
        }
    }

    fn version_1() -> Vec<Record> {
        VERSION_1
            .iter()
            .map(|(region, kind, key, body)| rec(region, kind, key, 1, body))
            .collect()
    }

    /// The loaded piece of state a record became, encoded again.
    fn reencoded(state: &State, r: &Record) -> Value {
        let region = &state.regions[&r.region];
        if let Some(k) = r.kind.strip_prefix(crate::documents::KIND_PREFIX) {
            return region.documents[k][&r.key].clone();
        }
        let parts: Vec<&str> = r.key.split('/').collect();
        let api = &region.apis[parts[0]];
        let json = |v: Result<Value, serde_json::Error>| v.unwrap();
        match r.kind.as_str() {
            kind::API => json(serde_json::to_value(&api.api)),
            kind::INTEGRATION => json(serde_json::to_value(
                api.integrations.get(parts[1]).unwrap(),
            )),
            kind::ROUTE => json(serde_json::to_value(&api.routes[parts[1]])),
            kind::STAGE => json(serde_json::to_value(&api.stages[parts[1]])),
            kind::DEPLOYMENT => json(serde_json::to_value(&*api.deployments[parts[1]])),
            kind::AUTHORIZER => json(serde_json::to_value(&api.authorizers[parts[1]])),
            kind::INTEGRATION_RESPONSE => json(serde_json::to_value(
                &api.integration_responses[parts[1]][parts[2]],
            )),
            kind::ROUTE_RESPONSE => json(serde_json::to_value(
                &api.route_responses[parts[1]][parts[2]],
            )),
            k => panic!("{k}"),
        }
    }

    #[test]
    fn version_1_documents_load_unchanged() {
        let records = version_1();
        let state = State::from_records(records.clone()).unwrap();
        assert_eq!(state.regions.len(), 2);
        for r in &records {
            let stored: Value = serde_json::from_str(&r.body).unwrap();
            assert_eq!(reencoded(&state, r), stored, "{} {}", r.kind, r.key);
        }
        // Whatever order the store gives them in.
        let mut reversed = records;
        reversed.reverse();
        assert_eq!(State::from_records(reversed).unwrap(), state);
    }

    fn load_err(records: Vec<Record>) -> LoadError {
        State::from_records(records).unwrap_err()
    }

    #[test]
    fn a_document_that_cannot_be_loaded_stops_the_load_naming_it() {
        let api = version_1()
            .into_iter()
            .find(|r| r.kind == kind::API && r.region == "us-east-1")
            .unwrap();
        let with = |bad: Record| {
            let mut records = version_1();
            records.push(bad);
            records
        };
        let id = api.key.clone();

        let e = load_err(with(rec(
            "us-east-1",
            "route",
            &format!("{id}/r1"),
            1,
            "{\"routeId\":",
        )));
        assert_eq!(
            (e.region.as_str(), e.kind.as_str(), e.key.as_str()),
            ("us-east-1", "route", format!("{id}/r1").as_str())
        );
        assert!(e.reason.contains("format version 1: EOF"), "{e}");
        let shown = e.to_string();
        assert!(
            shown.contains("region us-east-1, kind route, key"),
            "{shown}"
        );

        // A body of the wrong shape, not just broken JSON.
        let e = load_err(with(rec("us-east-1", "stage", &format!("{id}/s"), 1, "[]")));
        assert_eq!(e.kind, "stage");

        let e = load_err(with(rec("eu-west-1", "doc:request", "t2", 2, "{}")));
        assert!(
            e.reason
                .contains("format version 2 is not one this apigw understands (1 to 1)"),
            "{e}"
        );
        assert!(e.reason.contains("newer apigw"), "{e}");
        let e = load_err(with(rec("eu-west-1", "doc:request", "t2", 0, "{}")));
        assert!(e.reason.contains("format version 0"), "{e}");

        let e = load_err(with(rec(
            "us-east-1",
            "vpclink",
            &format!("{id}/a"),
            1,
            "{}",
        )));
        assert_eq!(e.kind, "vpclink");
        let e = load_err(with(rec(
            "us-east-1",
            "authorizer",
            &format!("{id}/a"),
            1,
            "{}",
        )));
        assert_eq!(e.kind, "authorizer");
        let e = load_err(with(rec("us-east-1", "route", &id, 1, "{}")));
        assert!(
            e.reason.contains("no document of this kind has such a key"),
            "{e}"
        );

        let mut renamed = api.clone();
        renamed.key = "other".into();
        let e = load_err(with(renamed));
        assert!(e.reason.contains(&format!("it holds API {id}")), "{e}");

        // A child whose API is gone shows nowhere: skipped (with a warning), not fatal.
        let state = State::from_records(with(rec(
            "us-east-1",
            "route",
            "gone/r1",
            1,
            r#"{"routeId":"r1","routeKey":"GET /"}"#,
        )))
        .unwrap();
        assert_eq!(state, State::from_records(version_1()).unwrap());
    }

    /// Version 1 routes had `routeKey` under another name; version 2 notes have a `text` member
    /// the version 1 ones spelled `note`. (Invented, to exercise the registry.)
    const STEPS: &[Upgrade] = &[
        Upgrade {
            from: 1,
            kinds: &["route", "deployment"],
            apply: |mut v| {
                let Some(route) = v.as_object_mut() else {
                    return Err("not an object".into());
                };
                if let Some(key) = route.remove("key") {
                    route.insert("routeKey".into(), key);
                }
                Ok(v)
            },
        },
        Upgrade {
            from: 2,
            kinds: &["doc:note"],
            apply: |v| Ok(serde_json::json!({"text": v["note"], "upgraded": true})),
        },
    ];
    const LATER: Formats = Formats {
        current: 3,
        upgrades: STEPS,
    };

    #[test]
    fn old_versions_are_upgraded_step_by_step_when_loaded() {
        let mut records = version_1();
        let api = records
            .iter()
            .find(|r| r.kind == kind::API)
            .unwrap()
            .clone();
        let id = api.key.clone();
        let region = api.region.clone();
        records.push(rec(
            &region,
            "route",
            &format!("{id}/old"),
            1,
            r#"{"routeId":"old","apiKeyRequired":false,"authorizationType":"NONE","key":"GET /old"}"#,
        ));
        records.push(rec(
            &region,
            "route",
            &format!("{id}/new"),
            3,
            r#"{"routeId":"new","apiKeyRequired":false,"authorizationType":"NONE","routeKey":"GET /new"}"#,
        ));
        records.push(rec(&region, "doc:note", "n1", 1, r#"{"note":"one"}"#));
        records.push(rec(&region, "doc:note", "n2", 2, r#"{"note":"two"}"#));
        records.push(rec(&region, "doc:note", "n3", 3, r#"{"text":"three"}"#));
        let state = State::from_records_with(records, &LATER).unwrap();
        let r = &state.regions[&region];
        assert_eq!(r.apis[&id].routes["old"].route_key, "GET /old");
        assert_eq!(r.apis[&id].routes["new"].route_key, "GET /new");
        let notes = &r.documents["note"];
        assert_eq!(
            notes["n1"],
            serde_json::json!({"text": "one", "upgraded": true})
        );
        assert_eq!(
            notes["n2"],
            serde_json::json!({"text": "two", "upgraded": true})
        );
        assert_eq!(notes["n3"], serde_json::json!({"text": "three"}));

        // A step that fails names the document and the step.
        let e = State::from_records_with(
            vec![api, rec(&region, "route", &format!("{id}/x"), 1, "[]")],
            &LATER,
        )
        .unwrap_err();
        assert_eq!(e.key, format!("{id}/x"));
        assert!(
            e.reason
                .contains("upgrading it from format version 1: not an object"),
            "{e}"
        );
    }

    #[test]
    fn integrations_read_back_as_stored_lean_or_whole() {
        let lean: Integration = serde_json::from_str(
            r#"{"integrationId":"abc1234","connectionType":"INTERNET","integrationMethod":"ANY","integrationType":"HTTP_PROXY","integrationUri":"https://example.com","payloadFormatVersion":"1.0","timeoutInMillis":30000}"#,
        )
        .unwrap();
        let mut whole = lean.clone();
        whole.integration_id = "xyz9876".into();
        whole.request_parameters = Some([("append:header.a".into(), "'b'".into())].into());
        let mut managed = lean.clone();
        managed.integration_id = "mmm0000".into();
        managed.api_gateway_managed = Some(true);
        let mut map = Integrations::default();
        for i in [&lean, &whole, &managed] {
            map.insert(i.clone());
        }
        let held = |map: &Integrations, id: &str| map.entry(id).unwrap().clone();
        assert!(matches!(
            held(&map, "abc1234").as_ref(),
            StoredIntegration::Lean { .. }
        ));
        assert!(matches!(
            held(&map, "xyz9876").as_ref(),
            StoredIntegration::Full(_)
        ));
        for i in [&lean, &whole, &managed] {
            assert_eq!(map.get(&i.integration_id).as_ref(), Some(i));
        }
        let managed_ids: Vec<&str> = map
            .stored()
            .filter(|(_, i)| i.is_managed())
            .map(|(id, _)| id)
            .collect();
        assert_eq!(managed_ids, ["mmm0000"]);
        assert_eq!(
            map.keys().collect::<Vec<_>>(),
            ["abc1234", "mmm0000", "xyz9876"]
        );
        // Held under another key than its own id (only a hand-edited store): kept whole.
        map.insert_at("other00", lean.clone());
        assert!(matches!(
            held(&map, "other00").as_ref(),
            StoredIntegration::Full(_)
        ));
        assert_eq!(map.get("other00").unwrap().integration_id, "abc1234");
        assert!(map.remove("other00") && !map.remove("other00"));
        assert_eq!(map.len(), 3);
        // Emptied buckets go: the same integrations make equal collections however reached.
        let mut other = Integrations::default();
        other.insert(whole.clone());
        other.insert(lean.clone());
        map.remove("mmm0000");
        assert_eq!(map, other);
        assert_eq!(map.keys().collect::<Vec<_>>(), ["abc1234", "xyz9876"]);
        assert!(map.remove("abc1234") && map.remove("xyz9876") && map.is_empty());
        assert_eq!(map, Integrations::default());
    }

    #[test]
    fn the_registry_is_in_order_and_ends_at_the_current_version() {
        let mut from = 0;
        for step in FORMATS.upgrades {
            assert!(step.from > from && step.from < FORMATS.current);
            from = step.from;
        }
        assert_eq!(FORMATS.current, DOCUMENT_VERSION);
    }
}

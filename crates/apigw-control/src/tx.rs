//! Transactions atomic by construction.
//!
//! A [`Tx`] never writes to the state it was opened on. The first time a rule touches an API it
//! gets a copy of that API's state (`Tx::api`); documents it writes are kept aside; the region
//! itself is only read. When the rule returns `Ok`, [`Tx::into_parts`] hands over the copies,
//! which [`Overlay::apply`] swaps in whole under the same write lock, together with the
//! [`Change`]s queued for the store. When it returns `Err`, the copies are dropped: whatever a
//! rule did before failing never reaches memory, so no rule can leave half a change behind.
//!
//! The store boundary is unchanged and engine-neutral: a transaction's result is a list of
//! whole-document puts and deletes (`apigw_store::Change`), committed as one unit.

use std::collections::BTreeMap;

use apigw_model::{Origin, Result, ServiceError, Timestamp};
use apigw_store::{Change, Record};
use serde::Serialize;
use serde_json::Value;

use crate::state::{self, ApiState, RegionState};

static EMPTY: RegionState = RegionState {
    apis: BTreeMap::new(),
    documents: BTreeMap::new(),
};

/// What a successful transaction replaces in its region: the APIs it touched (`None`: deleted)
/// and the documents it wrote.
#[derive(Default, Clone)]
pub(crate) struct Overlay {
    apis: BTreeMap<String, Option<ApiState>>,
    documents: BTreeMap<String, BTreeMap<String, Value>>,
}

impl Overlay {
    /// Swaps the transaction's copies into the region; answers the states they replaced (for
    /// the caller to drop once it no longer holds the lock).
    pub(crate) fn apply(self, region: &mut RegionState) -> Vec<ApiState> {
        let mut replaced = Vec::new();
        for (id, api) in self.apis {
            let old = match api {
                Some(api) => region.apis.insert(id, api),
                None => region.apis.remove(&id),
            };
            replaced.extend(old);
        }
        for (kind, docs) in self.documents {
            region.documents.entry(kind).or_default().extend(docs);
        }
        replaced
    }
}

/// One mutation in progress over one region. Other layers get one through
/// [`crate::ControlPlane::transact`] and drive it with the registry's rules
/// (`registry::Resource::create(tx, ..)`, …) and [`Tx::put_document`]; all of it becomes one
/// commit, or nothing.
pub struct Tx<'a> {
    pub(crate) region: &'a str,
    base: &'a RegionState,
    overlay: Overlay,
    pub(crate) now: Timestamp,
    changes: Vec<Change>,
}

impl<'a> Tx<'a> {
    pub(crate) fn new(region: &'a str, base: Option<&'a RegionState>, now: Timestamp) -> Tx<'a> {
        Tx {
            region,
            base: base.unwrap_or(&EMPTY),
            overlay: Overlay::default(),
            now,
            changes: Vec::new(),
        }
    }

    pub(crate) fn into_parts(self) -> (Overlay, Vec<Change>) {
        (self.overlay, self.changes)
    }

    /// Runs `f` as a part of this transaction that fails alone: its error undoes what it did
    /// (its copies and its queued documents) and the transaction goes on without it. Cloud
    /// Control uses it to store a FAILED request's record in the transaction whose resource
    /// change failed.
    pub fn attempt<T, E>(
        &mut self,
        f: impl FnOnce(&mut Tx<'a>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let overlay = self.overlay.clone();
        let queued = self.changes.len();
        let out = f(self);
        if out.is_err() {
            self.overlay = overlay;
            self.changes.truncate(queued);
        }
        out
    }

    /// The region as this transaction sees it (its own changes included).
    pub fn view(&self) -> View<'_> {
        View {
            region: self.region,
            base: self.base,
            overlay: Some(&self.overlay),
        }
    }

    pub(crate) fn put<T: Serialize>(&mut self, kind: &str, key: String, value: &T) -> Result<()> {
        let body = serde_json::to_string(value).map_err(|e| {
            ServiceError::caused_by(
                Origin::Encoding,
                format!("cannot encode a {kind} document"),
                e,
            )
        })?;
        self.changes.push(Change::Put(Record {
            region: self.region.to_string(),
            kind: kind.to_string(),
            key,
            version: state::DOCUMENT_VERSION,
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

    /// The transaction's own copy of an API's state, made on first use.
    pub(crate) fn api(&mut self, api_id: &str) -> Result<&mut ApiState> {
        if !self.overlay.apis.contains_key(api_id) {
            let copy = self
                .base
                .apis
                .get(api_id)
                .cloned()
                .ok_or_else(|| crate::api_not_found(api_id))?;
            self.overlay.apis.insert(api_id.to_string(), Some(copy));
        }
        self.overlay
            .apis
            .get_mut(api_id)
            .and_then(Option::as_mut)
            .ok_or_else(|| crate::api_not_found(api_id))
    }

    pub(crate) fn api_exists(&self, api_id: &str) -> bool {
        self.view().api(api_id).is_ok()
    }

    pub(crate) fn insert_api(&mut self, api_id: String, state: ApiState) {
        self.overlay.apis.insert(api_id, Some(state));
    }

    /// Removes an API; answers its state as it was in this transaction.
    pub(crate) fn remove_api(&mut self, api_id: &str) -> Result<ApiState> {
        let current = match self.overlay.apis.remove(api_id) {
            Some(api) => api,
            None => self.base.apis.get(api_id).cloned(),
        };
        let current = current.ok_or_else(|| crate::api_not_found(api_id))?;
        self.overlay.apis.insert(api_id.to_string(), None);
        Ok(current)
    }

    /// Stores (or replaces) the document `key` of `kind` as part of this mutation.
    pub fn put_document(&mut self, kind: &str, key: String, body: Value) -> Result<()> {
        self.put(
            &format!("{}{kind}", crate::documents::KIND_PREFIX),
            key.clone(),
            &body,
        )?;
        self.overlay
            .documents
            .entry(kind.to_string())
            .or_default()
            .insert(key, body);
        Ok(())
    }
}

/// A region's state as a reader or a transaction sees it.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub region: &'a str,
    base: &'a RegionState,
    overlay: Option<&'a Overlay>,
}

impl<'a> View<'a> {
    pub(crate) fn of(region: &'a str, base: Option<&'a RegionState>) -> View<'a> {
        View {
            region,
            base: base.unwrap_or(&EMPTY),
            overlay: None,
        }
    }

    pub fn api(&self, api_id: &str) -> Result<&'a ApiState> {
        let found = match self.overlay.and_then(|o| o.apis.get(api_id)) {
            Some(touched) => touched.as_ref(),
            None => self.base.apis.get(api_id),
        };
        found.ok_or_else(|| crate::api_not_found(api_id))
    }

    /// Every API of the region, in id order.
    pub fn apis(&self) -> Vec<(&'a str, &'a ApiState)> {
        let Some(overlay) = self.overlay.filter(|o| !o.apis.is_empty()) else {
            return self
                .base
                .apis
                .iter()
                .map(|(k, v)| (k.as_str(), v))
                .collect();
        };
        let mut all: BTreeMap<&'a str, &'a ApiState> = self
            .base
            .apis
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .collect();
        for (k, v) in &overlay.apis {
            match v {
                Some(v) => {
                    all.insert(k.as_str(), v);
                }
                None => {
                    all.remove(k.as_str());
                }
            }
        }
        all.into_iter().collect()
    }

    pub fn document(&self, kind: &str, key: &str) -> Option<&'a Value> {
        self.overlay
            .and_then(|o| o.documents.get(kind))
            .and_then(|d| d.get(key))
            .or_else(|| self.base.documents.get(kind).and_then(|d| d.get(key)))
    }

    /// Every document of `kind`, in key order.
    pub fn documents(&self, kind: &str) -> Vec<(&'a str, &'a Value)> {
        let mut all: BTreeMap<&'a str, &'a Value> = self
            .base
            .documents
            .get(kind)
            .map(|d| d.iter().map(|(k, v)| (k.as_str(), v)).collect())
            .unwrap_or_default();
        if let Some(d) = self.overlay.and_then(|o| o.documents.get(kind)) {
            all.extend(d.iter().map(|(k, v)| (k.as_str(), v)));
        }
        all.into_iter().collect()
    }
}

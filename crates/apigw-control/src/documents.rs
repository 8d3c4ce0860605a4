//! Opaque JSON documents of a kind, per region, kept in memory and made durable through the
//! store like every other piece of state. Other protocol layers (Cloud Control's resource
//! requests) keep their own records here without the control plane knowing their shape.

use apigw_model::Result;
use serde_json::Value;

use crate::ControlPlane;

/// Stored kinds of documents are prefixed so they never clash with resource kinds.
pub(crate) const KIND_PREFIX: &str = "doc:";

impl ControlPlane {
    /// Stores (or replaces) the document `key` of `kind` in `region`; answers once durable.
    pub async fn put_document(
        &self,
        region: &str,
        kind: &str,
        key: &str,
        body: Value,
    ) -> Result<()> {
        self.mutate(region, |tx| tx.put_document(kind, key.to_string(), body))
            .await
    }

    /// Stores several documents (`(kind, key, body)`) in one durable change.
    pub async fn put_documents(
        &self,
        region: &str,
        docs: Vec<(&str, String, Value)>,
    ) -> Result<()> {
        self.mutate(region, |tx| {
            for (kind, key, body) in docs {
                tx.put_document(kind, key, body)?;
            }
            Ok(())
        })
        .await
    }

    /// One document of `kind` in `region`, if stored.
    pub async fn document(&self, region: &str, kind: &str, key: &str) -> Result<Option<Value>> {
        self.read(region, |r| {
            Ok(r.documents.get(kind).and_then(|d| d.get(key)).cloned())
        })
        .await
    }

    /// Every document of `kind` in `region`, in key order.
    pub async fn documents(&self, region: &str, kind: &str) -> Result<Vec<(String, Value)>> {
        self.read(region, |r| {
            Ok(r.documents
                .get(kind)
                .map(|d| d.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default())
        })
        .await
    }
}

//! Durable state for apigw.
//!
//! Boundary: stores opaque JSON documents keyed by `(region, kind, key)` and promises that a
//! commit whose ticket resolved `Ok` survives a crash. It knows nothing of API Gateway's rules;
//! the control plane keeps the working state in memory and uses a `Store` to make it durable.
//! Engines: SQLite (embedded, the default). The trait is shaped so a PostgreSQL engine can sit
//! beside it: everything is whole-document puts and deletes applied in one transaction.

mod sqlite;

pub use sqlite::SqliteStore;

use thiserror::Error;
use tokio::sync::oneshot;

#[derive(Debug, Clone, Error)]
pub enum StoreError {
    #[error("the data directory {0} is in use by another apigw process")]
    Locked(String),
    #[error("storage I/O failed: {0}")]
    Io(String),
    #[error("database error: {0}")]
    Database(String),
    #[error("the store's writer has stopped")]
    WriterGone,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

/// One stored document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub region: String,
    /// What the document is (`api`, `integration`, …); the control plane chooses the names.
    pub kind: String,
    /// Unique within `(region, kind)`; children embed their parents' ids.
    pub key: String,
    /// The document, JSON.
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Put(Record),
    Delete {
        region: String,
        kind: String,
        key: String,
    },
    /// Removes everything (the test-only reset).
    Clear,
}

/// Resolves when the changes it was issued for are durable (or failed).
pub type CommitTicket = oneshot::Receiver<Result<(), StoreError>>;

pub trait Store: Send + Sync + 'static {
    /// Every document, for building the in-memory state at start-up.
    fn load_all(&self) -> Result<Vec<Record>, StoreError>;

    /// Queues `changes` to be applied atomically. Changes are applied in the order `commit` was
    /// called; several callers' changes may share one transaction (group commit).
    fn commit(&self, changes: Vec<Change>) -> CommitTicket;

    /// A short name for logs (`sqlite:/path`).
    fn describe(&self) -> String;
}

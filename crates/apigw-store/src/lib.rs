//! Durable state for apigw.
//!
//! Boundary: stores opaque JSON documents keyed by `(region, kind, key)`, each with the format
//! version its writer gave it, and promises that a commit whose ticket resolved `Ok` survives a
//! crash. It knows nothing of API Gateway's rules or of what a version means: the control plane
//! keeps the working state in memory, uses a `Store` to make it durable, and upgrades old
//! document versions itself when it loads them. Engines: SQLite (embedded, the default). The
//! trait is shaped so a PostgreSQL engine can sit beside it: everything is whole-document puts
//! and deletes applied in one transaction, in the order they were queued.

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
    /// The database exists but cannot be trusted (unreadable, truncated, failed its integrity
    /// check). Never served as if empty.
    #[error(
        "the database {path} is damaged: {problem}. Refusing to start on it: restore it from a \
         backup, or move it aside to start with an empty state"
    )]
    Damaged { path: String, problem: String },
    /// Not applied because a commit queued before it failed (see [`Store::resume`]).
    #[error("not applied, an earlier commit failed: {0}")]
    Aborted(String),
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
    /// The format version of `body`, chosen by the writer (1 for every document stored before
    /// versions existed); the store keeps it and gives it back, the reader interprets it.
    pub version: u32,
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

    /// Every document, handed to `visit` one at a time until it answers `Break`: what a
    /// start-up reads without holding every document in memory at once. The default reads
    /// them through [`Store::load_all`]; an engine that can stream them overrides it.
    fn load_each(
        &self,
        visit: &mut dyn FnMut(&Record) -> std::ops::ControlFlow<()>,
    ) -> Result<(), StoreError> {
        for r in self.load_all()? {
            if visit(&r).is_break() {
                break;
            }
        }
        Ok(())
    }

    /// Queues `changes` to be applied atomically. Changes are applied in the order `commit` was
    /// called; several callers' changes may share one transaction (group commit).
    ///
    /// A failure stops the queue: the failed commit and every commit queued after it resolve
    /// `Err` without applying anything (those behind it get [`StoreError::Aborted`]: they were
    /// built on a state that never became durable) until [`Store::resume`] is called.
    fn commit(&self, changes: Vec<Change>) -> CommitTicket;

    /// Restarts the queue after a failure. The ticket resolves once every commit queued before
    /// this call has been answered; commits queued after it are applied normally. It resolves
    /// `Err` if the engine cannot go on yet (the queue then stays stopped; call again to retry).
    /// Without a failure it is only that barrier.
    ///
    /// The default, an empty commit, is that barrier for an engine whose commits cannot fail;
    /// an engine whose commits can fail must stop its queue as described and override this.
    fn resume(&self) -> CommitTicket {
        self.commit(Vec::new())
    }

    /// A short name for logs (`sqlite:/path`).
    fn describe(&self) -> String;
}

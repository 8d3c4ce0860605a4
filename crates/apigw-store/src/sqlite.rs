//! The embedded engine: one SQLite file in the data directory, written by one thread that
//! folds every commit queued meanwhile into a single transaction (one fsync for many writers).
//!
//! Documents live in an append-only table keyed by a sequence number: a put appends a row and
//! deletes the document's previous row (found through an in-memory index), so a create touches
//! only the right edge of one B-tree instead of a random leaf per document. That keeps each
//! group commit to a few sequential pages in the WAL.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection};
use tokio::sync::oneshot;

use crate::{Change, CommitTicket, Record, Store, StoreError};

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    // 1: one row per document, keyed by its identity (random ids: every write a random leaf).
    "CREATE TABLE resources (
        region TEXT NOT NULL,
        kind   TEXT NOT NULL,
        key    TEXT NOT NULL,
        body   TEXT NOT NULL,
        PRIMARY KEY (region, kind, key)
    ) WITHOUT ROWID;",
    // 2: append-only documents; `seq` is the rowid, so new rows always go to the right edge.
    // Exactly one row per (region, kind, key): the writer deletes the old row when it appends.
    "CREATE TABLE documents (
        seq    INTEGER PRIMARY KEY,
        region TEXT NOT NULL,
        kind   TEXT NOT NULL,
        key    TEXT NOT NULL,
        body   TEXT NOT NULL
    );
    INSERT INTO documents (region, kind, key, body)
        SELECT region, kind, key, body FROM resources ORDER BY region, kind, key;
    DROP TABLE resources;",
];

/// Upper bound on commits folded into one transaction.
const MAX_BATCH: usize = 512;

type Job = (Vec<Change>, oneshot::Sender<Result<(), StoreError>>);

pub struct SqliteStore {
    path: PathBuf,
    reader: Mutex<Connection>,
    queue: mpsc::Sender<Job>,
    // Held for the life of the store: a second process on the same data dir is refused.
    _lock: File,
}

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    // WAL + synchronous=FULL: a commit is on disk (WAL fsynced) before it is acknowledged.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let done: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let done = usize::try_from(done).unwrap_or(0);
    if done > MIGRATIONS.len() {
        return Err(StoreError::Database(format!(
            "the database schema (version {done}) is newer than this apigw understands ({})",
            MIGRATIONS.len()
        )));
    }
    if done == MIGRATIONS.len() {
        return Ok(());
    }
    // Every pending step in one transaction: a new data dir pays one commit, and an
    // interrupted upgrade leaves the previous version intact.
    let tx = conn.transaction()?;
    for sql in &MIGRATIONS[done..] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
    tx.commit()?;
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `dir`, taking the directory's lock.
    pub fn open(dir: &Path) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Io(format!("{}: {e}", dir.display())))?;
        let lock = File::create(dir.join("LOCK")).map_err(|e| StoreError::Io(e.to_string()))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Locked(dir.display().to_string()))
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(StoreError::Io(e.to_string())),
        }
        let path = dir.join("state.db");
        let mut writer = open_connection(&path)?;
        migrate(&mut writer)?;
        let reader = open_connection(&path)?;
        let index = DocumentIndex::load(&writer)?;
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("apigw-store-writer".into())
            .spawn(move || writer_loop(writer, index, rx))
            .map_err(|e| StoreError::Io(e.to_string()))?;
        Ok(SqliteStore {
            path,
            reader: Mutex::new(reader),
            queue: tx,
            _lock: lock,
        })
    }
}

/// Where each live document's row is: (region, kind, key) → seq. Owned by the writer thread.
#[derive(Default)]
struct DocumentIndex {
    rows: HashMap<String, HashMap<String, HashMap<String, i64>>>,
    next_seq: i64,
}

impl DocumentIndex {
    /// Reads every row's identity. Should an older row of the same document be found (not
    /// written by this engine, but cheap to heal), it is deleted so loads stay unambiguous.
    fn load(conn: &Connection) -> Result<DocumentIndex, StoreError> {
        let mut index = DocumentIndex {
            next_seq: 1,
            ..DocumentIndex::default()
        };
        let mut stale = Vec::new();
        {
            let mut stmt =
                conn.prepare("SELECT seq, region, kind, key FROM documents ORDER BY seq")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let seq: i64 = row.get(0)?;
                let (region, kind, key): (String, String, String) =
                    (row.get(1)?, row.get(2)?, row.get(3)?);
                if let Some(old) = index.insert(region, kind, key, seq) {
                    stale.push(old);
                }
                index.next_seq = seq + 1;
            }
        }
        for seq in stale {
            conn.execute("DELETE FROM documents WHERE seq = ?1", [seq])?;
        }
        Ok(index)
    }

    fn insert(&mut self, region: String, kind: String, key: String, seq: i64) -> Option<i64> {
        self.rows
            .entry(region)
            .or_default()
            .entry(kind)
            .or_default()
            .insert(key, seq)
    }

    fn remove(&mut self, region: &str, kind: &str, key: &str) -> Option<i64> {
        self.rows.get_mut(region)?.get_mut(kind)?.remove(key)
    }
}

fn apply(
    tx: &rusqlite::Transaction<'_>,
    index: &mut DocumentIndex,
    changes: &[Change],
) -> Result<(), rusqlite::Error> {
    let mut append = tx.prepare_cached(
        "INSERT INTO documents (seq, region, kind, key, body) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut delete = tx.prepare_cached("DELETE FROM documents WHERE seq = ?1")?;
    for c in changes {
        match c {
            Change::Put(r) => {
                let seq = index.next_seq;
                append.execute(params![seq, r.region, r.kind, r.key, r.body])?;
                index.next_seq += 1;
                if let Some(old) =
                    index.insert(r.region.clone(), r.kind.clone(), r.key.clone(), seq)
                {
                    delete.execute([old])?;
                }
            }
            Change::Delete { region, kind, key } => {
                if let Some(old) = index.remove(region, kind, key) {
                    delete.execute([old])?;
                }
            }
            Change::Clear => {
                tx.execute("DELETE FROM documents", [])?;
                index.rows.clear();
            }
        }
    }
    Ok(())
}

/// How long a commit may wait for as many writers as the previous batch held.
const GATHER_WINDOW: Duration = Duration::from_micros(200);

fn writer_loop(mut conn: Connection, mut index: DocumentIndex, rx: mpsc::Receiver<Job>) {
    // Writers answered together come back together: waiting briefly for as many as the last
    // batch held keeps batches full instead of alternating a lone commit with a large one.
    let mut last_batch = 1usize;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        let deadline = Instant::now() + GATHER_WINDOW;
        while batch.len() < last_batch.min(MAX_BATCH) {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            match rx.recv_timeout(deadline - now) {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        last_batch = batch.len();
        let started = Instant::now();
        let result = (|| -> Result<(), rusqlite::Error> {
            let tx = conn.transaction()?;
            for (changes, _) in &batch {
                apply(&tx, &mut index, changes)?;
            }
            tx.commit()
        })();
        let result = result.map_err(StoreError::from);
        tracing::trace!(
            commits = batch.len(),
            micros = started.elapsed().as_micros() as u64,
            "group commit"
        );
        if let Err(e) = &result {
            tracing::error!(error = %e, "commit failed; the batch was rolled back");
            // The index saw the rolled-back rows: read it again from what is on disk.
            match DocumentIndex::load(&conn) {
                Ok(fresh) => index = fresh,
                Err(e) => tracing::error!(error = %e, "cannot re-read the document index"),
            }
        }
        for (_, reply) in batch {
            // The caller may have gone away (client disconnected); the write still happened.
            let _ = reply.send(result.clone());
        }
    }
}

impl Store for SqliteStore {
    fn load_all(&self) -> Result<Vec<Record>, StoreError> {
        let conn = self
            .reader
            .lock()
            .map_err(|_| StoreError::Database("reader poisoned".into()))?;
        let mut stmt =
            conn.prepare("SELECT region, kind, key, body FROM documents ORDER BY seq")?;
        let rows = stmt.query_map([], |r| {
            Ok(Record {
                region: r.get(0)?,
                kind: r.get(1)?,
                key: r.get(2)?,
                body: r.get(3)?,
            })
        })?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::from)
    }

    fn commit(&self, changes: Vec<Change>) -> CommitTicket {
        let (tx, rx) = oneshot::channel();
        if let Err(mpsc::SendError((_, reply))) = self.queue.send((changes, tx)) {
            let _ = reply.send(Err(StoreError::WriterGone));
        }
        rx
    }

    fn describe(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(kind: &str, key: &str, body: &str) -> Record {
        Record {
            region: "us-east-1".into(),
            kind: kind.into(),
            key: key.into(),
            body: body.into(),
        }
    }

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("apigw-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[tokio::test]
    async fn commits_survive_reopen() {
        let dir = tmpdir("reopen");
        {
            let s = SqliteStore::open(&dir).unwrap();
            let t1 = s.commit(vec![
                Change::Put(rec("api", "a", "{}")),
                Change::Put(rec("api", "b", "{}")),
            ]);
            let t2 = s.commit(vec![Change::Delete {
                region: "us-east-1".into(),
                kind: "api".into(),
                key: "a".into(),
            }]);
            t1.await.unwrap().unwrap();
            t2.await.unwrap().unwrap();
        }
        let s = SqliteStore::open(&dir).unwrap();
        assert_eq!(s.load_all().unwrap(), vec![rec("api", "b", "{}")]);
        s.commit(vec![Change::Clear]).await.unwrap().unwrap();
        assert!(s.load_all().unwrap().is_empty());
    }

    #[test]
    fn second_open_is_refused() {
        let dir = tmpdir("lock");
        let _s = SqliteStore::open(&dir).unwrap();
        assert!(matches!(
            SqliteStore::open(&dir),
            Err(StoreError::Locked(_))
        ));
    }

    #[tokio::test]
    async fn concurrent_commits_all_land() {
        let dir = tmpdir("concurrent");
        let s = std::sync::Arc::new(SqliteStore::open(&dir).unwrap());
        let tickets: Vec<_> = (0..1000)
            .map(|i| s.commit(vec![Change::Put(rec("x", &i.to_string(), "1"))]))
            .collect();
        for t in tickets {
            t.await.unwrap().unwrap();
        }
        assert_eq!(s.load_all().unwrap().len(), 1000);
    }

    #[tokio::test]
    async fn a_document_keeps_one_row_whatever_happens_to_it() {
        let dir = tmpdir("one-row");
        {
            let s = SqliteStore::open(&dir).unwrap();
            for v in 0..5 {
                let body = format!("{{\"v\":{v}}}");
                s.commit(vec![Change::Put(rec("api", "a", &body))])
                    .await
                    .unwrap()
                    .unwrap();
            }
            // Two writers' changes to one document folded into one transaction.
            let t1 = s.commit(vec![Change::Put(rec("api", "b", "1"))]);
            let t2 = s.commit(vec![Change::Put(rec("api", "b", "2"))]);
            t1.await.unwrap().unwrap();
            t2.await.unwrap().unwrap();
        }
        let conn = Connection::open(dir.join("state.db")).unwrap();
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM documents", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 2);
        drop(conn);
        let s = SqliteStore::open(&dir).unwrap();
        assert_eq!(
            s.load_all().unwrap(),
            vec![rec("api", "a", "{\"v\":4}"), rec("api", "b", "2")]
        );
    }

    #[test]
    fn a_version_1_database_is_migrated_with_its_documents() {
        let dir = tmpdir("migrate");
        std::fs::create_dir_all(&dir).unwrap();
        {
            let conn = Connection::open(dir.join("state.db")).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.execute(
                "INSERT INTO resources VALUES ('us-east-1', 'api', 'x', '{}')",
                [],
            )
            .unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
        }
        let s = SqliteStore::open(&dir).unwrap();
        assert_eq!(s.load_all().unwrap(), vec![rec("api", "x", "{}")]);
    }
}

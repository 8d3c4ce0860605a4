//! The embedded engine: one SQLite file in the data directory, written by one thread that
//! folds every commit queued meanwhile into a single transaction (one fsync for many writers).
//!
//! Documents live in an append-only table keyed by a sequence number: a put appends a row and
//! deletes the document's previous row (found through an in-memory index), so a create touches
//! only the right edge of one B-tree instead of a random leaf per document. That keeps each
//! group commit to a few sequential pages in the WAL.
//!
//! Opening refuses a database it cannot trust (see [`SqliteStore::open`]) rather than starting
//! empty on it. A failed transaction stops the writer's queue: it answers every commit behind
//! it unapplied until the owner resumes it (see [`Store::resume`]).

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
    // 3: each document's format version. Rows stored before versions existed are version 1;
    // adding a column with a constant default rewrites no row.
    "ALTER TABLE documents ADD COLUMN version INTEGER NOT NULL DEFAULT 1;",
];

/// Upper bound on commits folded into one transaction.
const MAX_BATCH: usize = 512;

type Reply = oneshot::Sender<Result<(), StoreError>>;

enum Job {
    Commit(Vec<Change>, Reply),
    /// The barrier of [`Store::resume`]: restarts the queue after a failure.
    Resume(Reply),
}

pub struct SqliteStore {
    path: PathBuf,
    reader: Mutex<Connection>,
    checked: Mutex<Checked>,
    queue: mpsc::Sender<Job>,
    writer: Option<std::thread::JoinHandle<()>>,
    // Held for the life of the store: a second process on the same data dir is refused.
    _lock: File,
}

impl Drop for SqliteStore {
    /// Waits for the writer to answer what was queued and close its connection, so the
    /// directory's lock is released only once nothing of this store touches the file.
    fn drop(&mut self) {
        drop(std::mem::replace(&mut self.queue, mpsc::channel().0));
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(|e| classify(path, e))?;
    // WAL + synchronous=FULL: a commit is on disk (WAL fsynced) before it is acknowledged.
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(|e| classify(path, e))?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(|e| classify(path, e))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(|e| classify(path, e))?;
    Ok(conn)
}

/// SQLite's verdicts on the file itself become [`StoreError::Damaged`]; anything else (I/O,
/// permissions, a full disk) is reported as it is, with the file's name.
fn classify(path: &Path, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
            StoreError::Damaged {
                path: path.display().to_string(),
                problem: e.to_string(),
            }
        }
        _ => StoreError::Database(format!("{}: {e}", path.display())),
    }
}

/// `PRAGMA quick_check`: every page and row readable and well-formed (without comparing index
/// contents, which this schema does not have). Costs one read of the file, at start only.
fn check_integrity(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let checked = |e| match classify(path, e) {
        StoreError::Damaged { path, problem } => StoreError::Damaged {
            path,
            problem: format!("integrity check failed: {problem}"),
        },
        e => e,
    };
    let mut stmt = conn.prepare("PRAGMA quick_check(5)").map_err(checked)?;
    let problems = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(checked)?;
    if problems.len() == 1 && problems[0] == "ok" {
        return Ok(());
    }
    Err(StoreError::Damaged {
        path: path.display().to_string(),
        problem: format!("integrity check failed: {}", problems.join("; ")),
    })
}

/// Suffix of SQLite's write-ahead log next to the database file.
fn wal_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push("-wal");
    PathBuf::from(p)
}

fn file_len(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

/// Creates a database with the whole schema under a temporary name, then renames it into
/// place: a `state.db` that exists was always fully created, so an empty or short one is
/// damage, never a store that was about to be made.
fn create(dir: &Path, path: &Path) -> Result<(), StoreError> {
    let io = |e: std::io::Error| StoreError::Io(format!("{}: {e}", path.display()));
    let tmp = dir.join("state.db.new");
    for leftover in [tmp.clone(), wal_path(&tmp), dir.join("state.db.new-shm")] {
        match std::fs::remove_file(&leftover) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
    }
    let mut conn = open_connection(&tmp)?;
    migrate(&mut conn, &tmp)?;
    // Closing the only connection checkpoints the WAL into the file (fsynced) and removes it.
    conn.close().map_err(|(_, e)| classify(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(io)?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    Ok(())
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let done = schema_version(conn, path)?;
    if done > MIGRATIONS.len() {
        return Err(StoreError::Database(format!(
            "{}: the database schema (version {done}) is newer than this apigw understands ({})",
            path.display(),
            MIGRATIONS.len()
        )));
    }
    if done == MIGRATIONS.len() {
        return Ok(());
    }
    // Every pending step in one transaction: a new data dir pays one commit, and an
    // interrupted upgrade leaves the previous version intact.
    let run = |conn: &mut Connection| -> Result<(), rusqlite::Error> {
        let tx = conn.transaction()?;
        for sql in &MIGRATIONS[done..] {
            tx.execute_batch(sql)?;
        }
        tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
        tx.commit()
    };
    run(conn).map_err(|e| classify(path, e))
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `dir`, taking the directory's lock. An existing
    /// database that is damaged is refused ([`StoreError::Damaged`]), never served as empty.
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
        let damaged = |problem: &str| StoreError::Damaged {
            path: path.display().to_string(),
            problem: problem.to_string(),
        };
        let logged = file_len(&wal_path(&path)).is_some_and(|n| n > 0);
        match file_len(&path) {
            None if logged => {
                // Creating a fresh file here would let SQLite replay that log into it.
                return Err(damaged(
                    "the file is missing but its write-ahead log (state.db-wal) is present",
                ));
            }
            None => create(dir, &path)?,
            // A database is never empty once created, unless all of it is still in the log
            // (possible only for one written by an earlier apigw, killed at its first start).
            Some(0) if !logged => {
                return Err(damaged("the file is empty (0 bytes)"));
            }
            Some(_) => {}
        }
        let mut writer = open_connection(&path)?;
        let current = schema_version(&writer, &path)? == MIGRATIONS.len();
        if !current {
            // Never migrate a damaged file: check first, here.
            check_integrity(&writer, &path)?;
            migrate(&mut writer, &path)?;
        }
        let reader = open_connection(&path)?;
        // The reader scans the table start to end (loads): a page cache would only hold
        // pages it never reads again.
        reader
            .pragma_update(None, "cache_size", -64)
            .map_err(|e| classify(&path, e))?;
        // A current file is checked, and its index read, by the writer thread while the
        // control plane loads the documents through the reader: both run at once, and a load
        // answers only once the check has (`SqliteStore::checked`).
        let (checked_tx, checked_rx) = mpsc::channel();
        if !current {
            let _ = checked_tx.send(Ok(()));
        }
        let (tx, rx) = mpsc::channel::<Job>();
        let writer_path = path.clone();
        let writer = std::thread::Builder::new()
            .name("apigw-store-writer".into())
            .spawn(move || {
                // The check and the index's scan read the whole file once: on a connection of
                // their own without a page cache, closed after, so the writer's cache holds
                // only what commits touch (2 MB of pages kept after every start otherwise).
                let scan = open_connection(&writer_path).and_then(|c| {
                    c.pragma_update(None, "cache_size", -64)
                        .map_err(|e| classify(&writer_path, e))?;
                    Ok(c)
                });
                if current {
                    let checked = match &scan {
                        Ok(c) => check_integrity(c, &writer_path),
                        Err(e) => Err(e.clone()),
                    };
                    let _ = checked_tx.send(checked);
                }
                let writer = Writer::start(writer, scan.as_ref().ok(), &writer_path);
                drop(scan);
                writer.run(rx)
            })
            .map_err(|e| StoreError::Io(e.to_string()))?;
        Ok(SqliteStore {
            path,
            reader: Mutex::new(reader),
            checked: Mutex::new(Checked::Pending(checked_rx)),
            queue: tx,
            writer: Some(writer),
            _lock: lock,
        })
    }

    /// Waits for the integrity check of [`SqliteStore::open`] (run by the writer thread).
    fn checked(&self) -> Result<(), StoreError> {
        let mut checked = self
            .checked
            .lock()
            .map_err(|_| StoreError::Database("check poisoned".into()))?;
        if let Checked::Pending(rx) = &*checked {
            let result = rx.recv().unwrap_or(Err(StoreError::WriterGone));
            *checked = Checked::Done(result);
        }
        match &*checked {
            Checked::Done(result) => result.clone(),
            Checked::Pending(_) => Err(StoreError::WriterGone),
        }
    }
}

/// Where the integrity check of an open store stands.
enum Checked {
    Pending(mpsc::Receiver<Result<(), StoreError>>),
    Done(Result<(), StoreError>),
}

fn schema_version(conn: &Connection, path: &Path) -> Result<usize, StoreError> {
    let done: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|e| classify(path, e))?;
    Ok(usize::try_from(done).unwrap_or(0))
}

/// Where each live document's row is: a 64-bit hash of its identity (region, kind, key) → seq.
/// The hash stands in for the three strings (about 20 bytes a document instead of 60, held
/// for every document while the store is open). Documents whose identities hash alike are
/// told apart by the database: a row is only ever deleted `WHERE seq = ? AND region = ? AND
/// kind = ? AND key = ?`, so a hash never deletes another document's row. Owned by the writer.
#[derive(Default)]
struct DocumentIndex {
    rows: HashMap<u64, i64>,
    /// Hashes of several live documents (practically never): every one of their rows.
    shared: HashMap<u64, Vec<i64>>,
    next_seq: i64,
}

/// Deletes the row `seq` if it holds the document (region, kind, key); answers whether it did.
const DELETE_ROW: &str =
    "DELETE FROM documents WHERE seq = ?1 AND region = ?2 AND kind = ?3 AND key = ?4";

fn identity(region: &str, kind: &str, key: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    // SipHash with fixed keys: the same within the process, which is all the index needs.
    let mut h = std::hash::DefaultHasher::new();
    (region, kind, key).hash(&mut h);
    h.finish()
}

impl DocumentIndex {
    /// Reads every row's identity. Should an older row of the same document be found (not
    /// written by this engine, but cheap to heal), it is deleted so loads stay unambiguous.
    fn load(conn: &Connection) -> Result<DocumentIndex, rusqlite::Error> {
        let mut index = DocumentIndex {
            next_seq: 1,
            ..DocumentIndex::default()
        };
        // Sized once: growing it by doubling left ~2 MiB of freed tables per 100,000
        // documents that the allocator keeps while the server idles after its start.
        let count: i64 = conn.query_row("SELECT count(*) FROM documents", [], |r| r.get(0))?;
        index.rows.reserve(usize::try_from(count).unwrap_or(0));
        // Rows whose hash was already taken: an older row of the same document, or another
        // document with the same hash. Told apart once the scan is over.
        let mut taken = Vec::new();
        {
            let mut stmt =
                conn.prepare("SELECT seq, region, kind, key FROM documents ORDER BY seq")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let seq: i64 = row.get(0)?;
                let hash = identity(
                    row.get_ref(1)?.as_str()?,
                    row.get_ref(2)?.as_str()?,
                    row.get_ref(3)?.as_str()?,
                );
                if index.rows.contains_key(&hash) || index.shared.contains_key(&hash) {
                    let (region, kind, key): (String, String, String) =
                        (row.get(1)?, row.get(2)?, row.get(3)?);
                    taken.push((hash, seq, region, kind, key));
                } else {
                    index.rows.insert(hash, seq);
                }
                index.next_seq = seq + 1;
            }
        }
        let mut delete = conn.prepare(DELETE_ROW)?;
        for (hash, seq, region, kind, key) in taken {
            index.remove(&mut delete, hash, &region, &kind, &key)?;
            index.add(hash, seq);
        }
        Ok(index)
    }

    /// Deletes the document's row, if the index holds one.
    fn remove(
        &mut self,
        delete: &mut rusqlite::Statement<'_>,
        hash: u64,
        region: &str,
        kind: &str,
        key: &str,
    ) -> Result<(), rusqlite::Error> {
        if let Some(&seq) = self.rows.get(&hash) {
            if delete.execute(params![seq, region, kind, key])? == 1 {
                self.rows.remove(&hash);
            }
            return Ok(());
        }
        let Some(seqs) = self.shared.get_mut(&hash) else {
            return Ok(());
        };
        for i in 0..seqs.len() {
            if delete.execute(params![seqs[i], region, kind, key])? == 1 {
                seqs.swap_remove(i);
                break;
            }
        }
        if seqs.len() <= 1 {
            let left = seqs.first().copied();
            self.shared.remove(&hash);
            if let Some(seq) = left {
                self.rows.insert(hash, seq);
            }
        }
        Ok(())
    }

    /// Notes a document's new row (its previous one already removed).
    fn add(&mut self, hash: u64, seq: i64) {
        if let Some(seqs) = self.shared.get_mut(&hash) {
            seqs.push(seq);
        } else if let Some(other) = self.rows.insert(hash, seq) {
            self.rows.remove(&hash);
            self.shared.insert(hash, vec![other, seq]);
        }
    }

    fn clear(&mut self) {
        self.rows.clear();
        self.shared.clear();
    }
}

fn apply(
    tx: &rusqlite::Transaction<'_>,
    index: &mut DocumentIndex,
    changes: &[Change],
) -> Result<(), rusqlite::Error> {
    let mut append = tx.prepare_cached(
        "INSERT INTO documents (seq, region, kind, key, version, body)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut delete = tx.prepare_cached(DELETE_ROW)?;
    for c in changes {
        match c {
            Change::Put(r) => {
                let seq = index.next_seq;
                append.execute(params![seq, r.region, r.kind, r.key, r.version, r.body])?;
                index.next_seq += 1;
                let hash = identity(&r.region, &r.kind, &r.key);
                index.remove(&mut delete, hash, &r.region, &r.kind, &r.key)?;
                index.add(hash, seq);
            }
            Change::Delete { region, kind, key } => {
                let hash = identity(region, kind, key);
                index.remove(&mut delete, hash, region, kind, key)?;
            }
            Change::Clear => {
                tx.execute("DELETE FROM documents", [])?;
                index.clear();
            }
        }
    }
    Ok(())
}

/// How long a commit may wait for as many writers as the previous batch held.
const GATHER_WINDOW: Duration = Duration::from_micros(200);

/// The writer thread's state.
struct Writer {
    conn: Connection,
    index: DocumentIndex,
    /// Set by a failed transaction, cleared by a resume: while set, commits are refused
    /// unapplied, since each was built on a state the failed one never made durable.
    failed: Option<StoreError>,
    /// The index could not be re-read after a failure; a resume must do it first.
    index_stale: bool,
    /// Writers answered together come back together: waiting briefly for as many as the last
    /// batch held keeps batches full instead of alternating a lone commit with a large one.
    last_batch: usize,
}

impl Writer {
    /// Reads the document index first; a file that cannot be read fails every commit until
    /// a resume manages to read it (a load would have refused the file already).
    fn start(conn: Connection, scan: Option<&Connection>, path: &Path) -> Writer {
        let mut writer = Writer {
            conn,
            index: DocumentIndex::default(),
            failed: None,
            index_stale: true,
            last_batch: 1,
        };
        match DocumentIndex::load(scan.unwrap_or(&writer.conn)) {
            Ok(index) => {
                writer.index = index;
                writer.index_stale = false;
            }
            Err(e) => writer.failed = Some(classify(path, e)),
        }
        writer
    }

    fn run(mut self, rx: mpsc::Receiver<Job>) {
        // A resume met while gathering a batch ends the batch and is handled next.
        let mut next: Option<Job> = None;
        loop {
            let job = match next.take() {
                Some(job) => job,
                None => match rx.recv() {
                    Ok(job) => job,
                    Err(_) => return,
                },
            };
            match job {
                Job::Resume(reply) => {
                    let _ = reply.send(self.resume());
                }
                Job::Commit(changes, reply) => {
                    if let Some(cause) = &self.failed {
                        let _ = reply.send(Err(StoreError::Aborted(cause.to_string())));
                        continue;
                    }
                    let batch = self.gather((changes, reply), &rx, &mut next);
                    self.commit(batch);
                }
            }
        }
    }

    fn gather(
        &mut self,
        first: (Vec<Change>, Reply),
        rx: &mpsc::Receiver<Job>,
        next: &mut Option<Job>,
    ) -> Vec<(Vec<Change>, Reply)> {
        let mut batch = vec![first];
        let deadline = Instant::now() + GATHER_WINDOW;
        let mut take = |job: Job, batch: &mut Vec<_>| match job {
            Job::Commit(changes, reply) => {
                batch.push((changes, reply));
                true
            }
            resume @ Job::Resume(_) => {
                *next = Some(resume);
                false
            }
        };
        while batch.len() < self.last_batch.min(MAX_BATCH) {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            match rx.recv_timeout(deadline - now) {
                Ok(job) => {
                    if !take(job, &mut batch) {
                        return batch;
                    }
                }
                Err(_) => break,
            }
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => {
                    if !take(job, &mut batch) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        batch
    }

    fn commit(&mut self, batch: Vec<(Vec<Change>, Reply)>) {
        self.last_batch = batch.len();
        let started = Instant::now();
        let (conn, index) = (&mut self.conn, &mut self.index);
        let result = (|| -> Result<(), rusqlite::Error> {
            let tx = conn.transaction()?;
            for (changes, _) in &batch {
                apply(&tx, index, changes)?;
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
            tracing::error!(error = %e, "commit failed; the batch was rolled back and the queue stops until resumed");
            self.failed = Some(e.clone());
            // The index saw the rolled-back rows: read it again from what is on disk.
            self.reload_index();
        }
        for (_, reply) in batch {
            // The caller may have gone away (client disconnected); the write still happened.
            let _ = reply.send(result.clone());
        }
    }

    fn reload_index(&mut self) {
        match DocumentIndex::load(&self.conn) {
            Ok(fresh) => {
                self.index = fresh;
                self.index_stale = false;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot re-read the document index");
                self.index_stale = true;
            }
        }
    }

    /// Every commit queued before the resume has been answered (the queue is in order).
    fn resume(&mut self) -> Result<(), StoreError> {
        if self.index_stale {
            self.reload_index();
            if self.index_stale {
                return Err(StoreError::Database(
                    "the document index cannot be re-read after a failed commit".into(),
                ));
            }
        }
        self.failed = None;
        Ok(())
    }
}

impl SqliteStore {
    fn scan(
        &self,
        visit: &mut dyn FnMut(&Record) -> std::ops::ControlFlow<()>,
    ) -> Result<(), rusqlite::Error> {
        fn text(row: &rusqlite::Row<'_>, i: usize, into: &mut String) -> rusqlite::Result<()> {
            let value = row.get_ref(i)?;
            let s = value.as_str().map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(i, value.data_type(), e.into())
            })?;
            into.clear();
            into.push_str(s);
            Ok(())
        }
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let mut stmt =
            conn.prepare("SELECT region, kind, key, version, body FROM documents ORDER BY seq")?;
        let mut rows = stmt.query([])?;
        let mut record = Record {
            region: String::new(),
            kind: String::new(),
            key: String::new(),
            version: 0,
            body: String::new(),
        };
        while let Some(r) = rows.next()? {
            text(r, 0, &mut record.region)?;
            text(r, 1, &mut record.kind)?;
            text(r, 2, &mut record.key)?;
            record.version = r.get(3)?;
            text(r, 4, &mut record.body)?;
            if visit(&record).is_break() {
                break;
            }
        }
        Ok(())
    }
}

impl Store for SqliteStore {
    fn load_all(&self) -> Result<Vec<Record>, StoreError> {
        let mut all = Vec::new();
        self.load_each(&mut |r| {
            all.push(r.clone());
            std::ops::ControlFlow::Continue(())
        })?;
        Ok(all)
    }

    /// Streams the documents through one reused record (no allocation per row), then
    /// answers the integrity check's verdict before anything else: what a damaged file
    /// yielded is never to be trusted, whatever the visitor made of it.
    fn load_each(
        &self,
        visit: &mut dyn FnMut(&Record) -> std::ops::ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let scanned = self.scan(visit);
        self.checked()?;
        scanned.map_err(|e| classify(&self.path, e))
    }

    fn commit(&self, changes: Vec<Change>) -> CommitTicket {
        let (tx, rx) = oneshot::channel();
        if let Err(mpsc::SendError(Job::Commit(_, reply) | Job::Resume(reply))) =
            self.queue.send(Job::Commit(changes, tx))
        {
            let _ = reply.send(Err(StoreError::WriterGone));
        }
        rx
    }

    fn resume(&self) -> CommitTicket {
        let (tx, rx) = oneshot::channel();
        if let Err(mpsc::SendError(Job::Commit(_, reply) | Job::Resume(reply))) =
            self.queue.send(Job::Resume(tx))
        {
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
            version: 1,
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

    /// A data dir as the previous release left it: schema version 2 (no document versions),
    /// WAL mode, documents as it wrote them. They load unchanged, as format version 1.
    #[tokio::test]
    async fn a_version_2_database_keeps_its_documents_as_format_version_1() {
        let dir = tmpdir("schema-2");
        std::fs::create_dir_all(&dir).unwrap();
        let api = r#"{"apiEndpoint":"https://abc123.execute-api.us-east-1.amazonaws.com","apiId":"abc123","createdDate":1700000000,"name":"old","protocolType":"HTTP","routeSelectionExpression":"$request.method $request.path"}"#;
        {
            let conn = Connection::open(dir.join("state.db")).unwrap();
            conn.pragma_update(None, "journal_mode", "WAL").unwrap();
            conn.execute_batch(MIGRATIONS[1].split("INSERT").next().unwrap())
                .unwrap();
            conn.execute(
                "INSERT INTO documents (region, kind, key, body) VALUES
                    ('us-east-1', 'api', 'abc123', ?1),
                    ('eu-west-1', 'doc:request', 't1', '{\"ok\":true}')",
                [api],
            )
            .unwrap();
            conn.pragma_update(None, "user_version", 2).unwrap();
        }
        {
            let s = SqliteStore::open(&dir).unwrap();
            let mut doc = rec("doc:request", "t1", "{\"ok\":true}");
            doc.region = "eu-west-1".into();
            assert_eq!(s.load_all().unwrap(), vec![rec("api", "abc123", api), doc]);
            // Written at another version, read back at it; the old row is replaced.
            let mut newer = rec("api", "abc123", "{}");
            newer.version = 2;
            s.commit(vec![Change::Put(newer)]).await.unwrap().unwrap();
        }
        let conn = Connection::open(dir.join("state.db")).unwrap();
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
        let rows: Vec<(String, i64)> = conn
            .prepare("SELECT key, version FROM documents ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows, [("t1".to_string(), 1), ("abc123".to_string(), 2)]);
    }

    /// Refused by the open, or (for a current schema, checked while the documents load) by
    /// the load that every start makes before serving.
    fn open_err(dir: &Path) -> String {
        match SqliteStore::open(dir).and_then(|s| s.load_all()) {
            Ok(_) => panic!("{} opened", dir.display()),
            Err(e) => {
                assert!(matches!(e, StoreError::Damaged { .. }), "{e:?}");
                e.to_string()
            }
        }
    }

    /// A store with enough documents to span many pages, closed cleanly (WAL checkpointed).
    async fn written_store(name: &str) -> PathBuf {
        let dir = tmpdir(name);
        let s = SqliteStore::open(&dir).unwrap();
        let body = format!("{{\"pad\":\"{}\"}}", "x".repeat(500));
        let tickets: Vec<_> = (0..200)
            .map(|i| s.commit(vec![Change::Put(rec("api", &i.to_string(), &body))]))
            .collect();
        for t in tickets {
            t.await.unwrap().unwrap();
        }
        drop(s);
        assert!(!wal_path(&dir.join("state.db")).exists());
        dir
    }

    #[tokio::test]
    async fn a_truncated_database_is_refused_not_served_empty() {
        let dir = written_store("truncated").await;
        let db = dir.join("state.db");
        let len = std::fs::metadata(&db).unwrap().len();
        assert!(len > 16 * 4096, "{len}");
        let f = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
        f.set_len(len / 2).unwrap();
        drop(f);
        let e = open_err(&dir);
        assert!(e.contains(&db.display().to_string()), "{e}");
        assert!(e.contains("is damaged: "), "{e}");
        // Refusing changed nothing: still refused.
        assert_eq!(std::fs::metadata(&db).unwrap().len(), len / 2);
        open_err(&dir);
    }

    #[tokio::test]
    async fn an_emptied_or_overwritten_database_is_refused() {
        let dir = written_store("emptied").await;
        let db = dir.join("state.db");
        let bytes = std::fs::read(&db).unwrap();

        std::fs::write(&db, b"").unwrap();
        let e = open_err(&dir);
        assert!(e.contains("empty (0 bytes)"), "{e}");

        std::fs::write(&db, &bytes[..60]).unwrap();
        open_err(&dir);

        let mut garbage = bytes.clone();
        garbage[..16].copy_from_slice(b"not a database!!");
        std::fs::write(&db, &garbage).unwrap();
        open_err(&dir);

        // A leaf page overwritten with noise: the header is fine, the tree is not.
        let mut noisy = bytes.clone();
        for (i, b) in noisy[4096 * 3..4096 * 4].iter_mut().enumerate() {
            *b = (i * 7 + 13) as u8;
        }
        std::fs::write(&db, &noisy).unwrap();
        let e = open_err(&dir);
        assert!(e.contains("integrity check failed"), "{e}");

        // The database gone but its log left behind.
        std::fs::remove_file(&db).unwrap();
        std::fs::write(wal_path(&db), b"x").unwrap();
        let e = open_err(&dir);
        assert!(e.contains("missing"), "{e}");

        std::fs::write(&db, &bytes).unwrap();
        std::fs::remove_file(wal_path(&db)).unwrap();
        assert_eq!(
            SqliteStore::open(&dir).unwrap().load_all().unwrap().len(),
            200
        );
    }

    #[test]
    fn a_new_database_appears_whole() {
        let dir = tmpdir("create");
        std::fs::create_dir_all(&dir).unwrap();
        // Left by a start that died while creating: ignored and replaced.
        std::fs::write(dir.join("state.db.new"), b"half").unwrap();
        drop(SqliteStore::open(&dir).unwrap());
        assert!(!dir.join("state.db.new").exists());
        let conn = Connection::open(dir.join("state.db")).unwrap();
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
    }

    /// Makes every insert of the document keyed `boom` fail, from outside the store.
    fn arm_failure(dir: &Path) {
        let conn = Connection::open(dir.join("state.db")).unwrap();
        conn.execute_batch(
            "CREATE TRIGGER boom BEFORE INSERT ON documents WHEN NEW.key = 'boom'
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
        )
        .unwrap();
    }

    #[tokio::test]
    async fn a_failed_commit_fails_every_commit_behind_it_until_resumed() {
        let dir = tmpdir("poison");
        let s = SqliteStore::open(&dir).unwrap();
        s.commit(vec![Change::Put(rec("api", "a", "1"))])
            .await
            .unwrap()
            .unwrap();
        arm_failure(&dir);

        // Queued together: whether or not they share the failed transaction, none applies.
        let failed = s.commit(vec![Change::Put(rec("api", "boom", "1"))]);
        let behind = s.commit(vec![
            Change::Put(rec("api", "a", "2")),
            Change::Put(rec("api", "b", "1")),
        ]);
        let e = failed.await.unwrap().unwrap_err();
        assert!(e.to_string().contains("injected failure"), "{e}");
        assert!(behind.await.unwrap().is_err());
        // Queued after the failure was known: still refused until the owner resumes.
        let late = s.commit(vec![Change::Delete {
            region: "us-east-1".into(),
            kind: "api".into(),
            key: "a".into(),
        }]);
        let e = late.await.unwrap().unwrap_err();
        assert!(matches!(e, StoreError::Aborted(_)), "{e:?}");
        assert_eq!(s.load_all().unwrap(), vec![rec("api", "a", "1")]);

        s.resume().await.unwrap().unwrap();
        s.commit(vec![Change::Put(rec("api", "a", "3"))])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s.load_all().unwrap(), vec![rec("api", "a", "3")]);
        drop(s);
        // The index was re-read after the rollback: still one row per document.
        let conn = Connection::open(dir.join("state.db")).unwrap();
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM documents", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 1);
    }

    /// Two documents whose identities hash alike (forced here; practically never): each put
    /// or delete touches only its own document's row.
    #[test]
    fn documents_sharing_a_hash_keep_their_own_rows() {
        let dir = tmpdir("hash");
        std::fs::create_dir_all(&dir).unwrap();
        let mut conn = open_connection(&dir.join("state.db")).unwrap();
        migrate(&mut conn, &dir.join("state.db")).unwrap();
        let mut index = DocumentIndex {
            next_seq: 1,
            ..DocumentIndex::default()
        };
        const HASH: u64 = 7;
        let rows = |conn: &Connection| -> Vec<(i64, String)> {
            conn.prepare("SELECT seq, key FROM documents ORDER BY seq")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let put = |conn: &Connection, index: &mut DocumentIndex, key: &str| {
            let seq = index.next_seq;
            index.next_seq += 1;
            conn.execute(
                "INSERT INTO documents (seq, region, kind, key, version, body)
                    VALUES (?1, 'r', 'k', ?2, 1, '{}')",
                params![seq, key],
            )
            .unwrap();
            let mut delete = conn.prepare(DELETE_ROW).unwrap();
            index.remove(&mut delete, HASH, "r", "k", key).unwrap();
            index.add(HASH, seq);
        };
        put(&conn, &mut index, "a");
        put(&conn, &mut index, "b");
        put(&conn, &mut index, "c");
        put(&conn, &mut index, "b");
        assert_eq!(
            rows(&conn),
            [(1, "a".into()), (3, "c".into()), (4, "b".into())]
        );
        assert_eq!(index.shared[&HASH].len(), 3);
        let mut delete = conn.prepare(DELETE_ROW).unwrap();
        index.remove(&mut delete, HASH, "r", "k", "a").unwrap();
        index.remove(&mut delete, HASH, "r", "k", "c").unwrap();
        assert_eq!(rows(&conn), [(4, "b".into())]);
        // One document left with the hash: back in the plain map.
        assert!(index.shared.is_empty());
        assert_eq!(index.rows[&HASH], 4);
        index.remove(&mut delete, HASH, "r", "k", "zzz").unwrap();
        assert_eq!(rows(&conn), [(4, "b".into())]);
        index.remove(&mut delete, HASH, "r", "k", "b").unwrap();
        assert!(rows(&conn).is_empty() && index.rows.is_empty());
    }

    #[tokio::test]
    async fn resume_is_a_barrier_and_ends_a_batch() {
        let dir = tmpdir("barrier");
        let s = std::sync::Arc::new(SqliteStore::open(&dir).unwrap());
        arm_failure(&dir);
        // Commits before the resume share its fate; commits after it apply, even when all
        // were queued at once.
        let before: Vec<_> = (0..20)
            .map(|i| {
                let key = if i == 0 {
                    "boom".to_string()
                } else {
                    i.to_string()
                };
                s.commit(vec![Change::Put(rec("x", &key, "1"))])
            })
            .collect();
        let resumed = s.resume();
        let after: Vec<_> = (0..20)
            .map(|i| s.commit(vec![Change::Put(rec("y", &i.to_string(), "1"))]))
            .collect();
        for t in before {
            assert!(t.await.unwrap().is_err());
        }
        resumed.await.unwrap().unwrap();
        for t in after {
            t.await.unwrap().unwrap();
        }
        let kinds: Vec<_> = s.load_all().unwrap().into_iter().map(|r| r.kind).collect();
        assert_eq!(kinds, vec!["y"; 20]);
    }
}

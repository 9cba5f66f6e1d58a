//! The embedded SQLite backend: one file, no setup.
//!
//! - WAL journal with `synchronous=FULL`: a commit returns only after the WAL is
//!   synced, so an acknowledged write survives power loss.
//! - One writer connection, owned by one writer thread (SQLite allows one
//!   writer anyway, and it makes check-then-insert inside an `IMMEDIATE`
//!   transaction race-free), and a small pool of reader connections, which
//!   WAL lets run beside it. Reads run on the blocking pool (`spawn_blocking`);
//!   no lock is held across an `.await`.
//! - Group commit: writes are queued to the writer thread, which runs every
//!   write waiting (up to `storage.commit_batch`) in one transaction, each in
//!   its own savepoint, and commits them with one fsync. A write that fails
//!   rolls back to its savepoint and leaves the others in; each caller is
//!   answered only after the shared commit returned, so an acknowledgement
//!   still means the write is on disk. Under load the fsync, not the number
//!   of writes, is the cost; alone, a write waits for nothing.
//! - Person state is encoded ([`super::state_codec`]) by the caller before
//!   the write is queued, so the writer thread never serialises. A decision's
//!   ranking and first-place distribution are stored as Snappy-compressed
//!   JSON (BLOBs in columns declared TEXT, whose older rows hold the JSON
//!   text; the decision log reads both), and stored responses compressed
//!   ([`crate::idempotency`]): a Recommend's write changed 5 pages, now 3.5.
//! - The schema is versioned with `rusqlite_migration` (`PRAGMA user_version`).
//! - Checkpoints run on a thread of their own (`PASSIVE`, at most every
//!   `CHECKPOINT_EVERY`, 200 ms while writes arrive), not inline in the commit that
//!   crosses SQLite's auto-checkpoint threshold: copying the WAL back and
//!   syncing the database file stalled every write queued behind that commit.
//!   A passive checkpoint never lets the WAL start over while writes keep
//!   coming (SQLite rewinds it only when every frame is back in the file as
//!   the next write begins), so under sustained load the WAL grew without
//!   bound (13 GB in a minute of `tutti seed`). Past `storage.wal_max_mb`
//!   the writer thread, between two commits, checkpoints what the background
//!   round has not copied yet, so a following write can rewind the WAL
//!   (`journal_size_limit` trims the file back).
//! - `secure_delete` is on, and erasing a person checkpoints and truncates the
//!   WAL, so erased rows leave no bytes in free pages or old WAL frames.
//! - `storage.max_bytes` caps the file (`max_page_count`): a write past it is
//!   [`StorageError::Full`] and rolled back; reads go on.

use super::audit_chain;
use super::{
    AssessmentCursor, AssessmentPage, AuditRow, EncodeErased, EncodedUpdate, Erased, History,
    IdempotencyRecord, Kind, NewDecision, NewFeedback, NewPerson, PersonRecord,
    RecommendationRecord, RecommendationRole, Result, StateUpdate, Storage, StorageError,
    StoredAssessment, StoredFeedback, StoredIntervention, StoredRecommendation, StoredResponse,
    Subject, WriteSnapshot,
};
use super::{context_of_request, to_json};
use super::{snappy, state_codec};
use crate::convert::ids::{DecisionId, PersonId, RecommendationId, RequestId, TenantId};
use rusqlite::types::ValueRef;
use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};
use rusqlite_migration::{M, Migrations};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};
use tutti_engine::ids::{InterventionId, Timestamp};
use tutti_engine::state::PersonState;

/// Schema versions, oldest first. Append; never edit a released migration.
const MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!("migrations/0001_initial.sql")),
    M::up(include_str!("migrations/0002_shadow_mode.sql")),
    M::up(include_str!("migrations/0003_first_place_distribution.sql")),
    M::up(include_str!("migrations/0004_audit_chain.sql")),
    M::up(include_str!("migrations/0005_cds_tokens.sql")),
];

/// Takes a CDS token id unless a live claim holds it: a new row, or an
/// expired one taken over; one row changed means claimed.
const CLAIM_TOKEN: &str = "INSERT INTO cds_tokens (tenant, issuer, jti, expires_at)
     VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (tenant, issuer, jti) DO UPDATE SET expires_at = excluded.expires_at
     WHERE cds_tokens.expires_at < ?5";

/// Rows deleted per transaction by the idempotency sweep, so it never holds
/// the writer for long.
const SWEEP_BATCH: i64 = 1000;

/// Reader connections kept open for reuse.
const MAX_IDLE_READERS: usize = 8;

/// Least time between background checkpoints while writes arrive.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// How long a connection waits for a lock held by another process before `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Prepared statements kept per connection (see `open_connection`).
const STATEMENT_CACHE: usize = 64;

/// How the SQLite backend runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteOptions {
    /// Cap on the file's size (`storage.max_bytes`).
    pub max_bytes: Option<u64>,
    /// Most writes committed together (`storage.commit_batch`); 1: each alone.
    pub commit_batch: usize,
    /// WAL size past which the writer thread rewinds it between commits
    /// (`storage.wal_max_mb`); also its size after a rewind.
    pub wal_max_bytes: u64,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            max_bytes: None,
            commit_batch: 64,
            wal_max_bytes: 256 << 20,
        }
    }
}

/// SQLite storage in one file.
#[derive(Debug, Clone)]
pub struct SqliteStorage {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    // Fields drop in order: readers first, so the writer is the last
    // connection to close and checkpoints and removes the WAL (a read-only
    // connection cannot).
    readers: Mutex<Vec<Connection>>,
    writer: Writer,
    max_bytes: Option<u64>,
    /// Held by whichever checkpoint runs: SQLite refuses a second one at the
    /// same time (`SQLITE_BUSY`, no busy handler), so erasure's truncating
    /// checkpoint would otherwise fail whenever the checkpointer was busy.
    checkpointing: Arc<Mutex<()>>,
}

/// What the writer and checkpointer threads share: commits and writes since
/// the file was opened (group commit's effect, read by `stats`) and the
/// checkpointer's request that the writer rewind the WAL.
#[derive(Debug, Default)]
struct Counts {
    commits: AtomicU64,
    writes: AtomicU64,
    queued: AtomicU64,
    /// Set by the checkpointer when the WAL has outgrown
    /// `SqliteOptions::wal_max_bytes`; the writer thread rewinds it.
    rewind_wal: AtomicBool,
}

/// The queue to the writer thread, which owns the writer connection.
#[derive(Debug)]
struct Writer {
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    counts: Arc<Counts>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue ends the thread after what is queued; joining it
        // closes the writer connection (checkpoint, WAL removed) before a
        // restart in the same process opens the file again.
        drop(
            self.queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        if let Some(t) = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = t.join();
        }
    }
}

/// Work for the writer thread.
enum Job {
    /// A write, run in the next batch's transaction.
    Write(Box<dyn Pending>),
    /// Something that needs the connection outside any transaction (a checkpoint).
    Exclusive(Box<dyn FnOnce(&mut Connection) + Send>),
}

/// One queued write, type-erased so writes of any result type share a batch.
trait Pending: Send {
    /// Runs the write inside the batch's transaction, in its own savepoint.
    fn run(&mut self, tx: &Transaction<'_>);
    /// Whether it succeeded so far (and so must be committed).
    fn succeeded(&self) -> bool;
    /// Answers the caller: its own result if it failed, else the commit's.
    fn finish(self: Box<Self>, commit: std::result::Result<(), &StorageError>);
}

struct PendingWrite<T, F> {
    f: Option<F>,
    out: Option<Result<T>>,
    reply: tokio::sync::oneshot::Sender<Result<T>>,
    deadline: Option<std::time::Instant>,
}

impl<T, F> PendingWrite<T, F> {
    fn late(&self) -> bool {
        self.deadline
            .is_some_and(|d| std::time::Instant::now() >= d)
    }
}

impl<T, F> Pending for PendingWrite<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
{
    fn run(&mut self, tx: &Transaction<'_>) {
        let Some(f) = self.f.take() else {
            return;
        };
        if self.late() {
            self.out = Some(Err(StorageError::DeadlineExceeded));
            return;
        }
        // Cached: parsed once per connection, not once per write.
        if let Err(e) = tx
            .prepare_cached("SAVEPOINT w")
            .and_then(|mut s| s.execute([]))
        {
            self.out = Some(Err(db(e)));
            return;
        }
        // A panic inside `f` must not take the writer thread (and every
        // later write) with it: it fails this write only.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(tx)))
            .unwrap_or_else(|_| Err(StorageError::Unavailable("a write panicked".into())));
        // The caller has given up: roll back rather than commit a write whose
        // answer nobody receives.
        let result = match result {
            Ok(_) if self.late() => Err(StorageError::DeadlineExceeded),
            other => other,
        };
        let result = match result {
            Ok(v) => tx
                .prepare_cached("RELEASE w")
                .and_then(|mut s| s.execute([]))
                .map(|_| v)
                .map_err(db),
            Err(e) => Err(e),
        };
        if result.is_err() && !tx.is_autocommit() {
            // Best effort: if this fails too, the commit fails for the batch.
            let _ = tx.execute_batch("ROLLBACK TO w; RELEASE w");
        }
        self.out = Some(result);
    }

    fn succeeded(&self) -> bool {
        matches!(self.out, Some(Ok(_)))
    }

    fn finish(self: Box<Self>, commit: std::result::Result<(), &StorageError>) {
        let out = match (self.out, commit) {
            (Some(Ok(_)), Err(e)) => Err(again(e)),
            (Some(out), _) => out,
            (None, Err(e)) => Err(again(e)),
            (None, Ok(())) => Err(StorageError::Unavailable("write was not run".into())),
        };
        // The caller may have gone (its call was cancelled); nothing to tell.
        let _ = self.reply.send(out);
    }
}

/// The same failure, for every write of a batch.
fn again(e: &StorageError) -> StorageError {
    match e {
        StorageError::Full(m) => StorageError::Full(m.clone()),
        StorageError::DeadlineExceeded => StorageError::DeadlineExceeded,
        other @ (StorageError::NotFound { .. }
        | StorageError::AlreadyExists { .. }
        | StorageError::Conflict
        | StorageError::DuplicateRequest
        | StorageError::Corrupt(_)
        | StorageError::Migration(_)
        | StorageError::Unavailable(_)
        | StorageError::Backend(_)) => StorageError::Unavailable(other.to_string()),
    }
}

/// The writer thread: takes every queued write (up to `max_batch`), runs them
/// in one transaction and commits once, then nudges the checkpointer.
fn writer_loop(
    conn: &mut Connection,
    queue: mpsc::Receiver<Job>,
    max_batch: usize,
    counts: &Counts,
    checkpoint: mpsc::SyncSender<()>,
    checkpointing: &Mutex<()>,
) {
    let mut batch: Vec<Box<dyn Pending>> = Vec::with_capacity(max_batch);
    while let Ok(job) = queue.recv() {
        let mut exclusive = None;
        match job {
            Job::Exclusive(f) => {
                f(conn);
                continue;
            }
            Job::Write(w) => batch.push(w),
        }
        while batch.len() < max_batch {
            match queue.try_recv() {
                Ok(Job::Write(w)) => batch.push(w),
                Ok(Job::Exclusive(f)) => {
                    exclusive = Some(f);
                    break;
                }
                Err(_) => break,
            }
        }
        counts
            .writes
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        counts.commits.fetch_add(1, Ordering::Relaxed);
        commit_batch(conn, &mut batch);
        if counts.rewind_wal.swap(false, Ordering::Relaxed) {
            rewind_wal(conn, checkpointing, counts);
        }
        // Full means a nudge is already waiting: one checkpoint serves both.
        let _ = checkpoint.try_send(());
        if let Some(f) = exclusive {
            f(conn);
        }
    }
}

/// On the writer thread between commits, so no frame is added meanwhile:
/// copies what the background checkpoint has not (little: it just ran).
/// Once every frame is back in the file, readers that start read the file
/// alone, and the next write starts the WAL over as soon as the readers from
/// before have finished (SQLite tries at every write, without waiting).
/// `PASSIVE`, not `RESTART`: `RESTART` waits for those readers through the
/// busy handler's sleeps, which under eight callers held every queued write
/// for 10-20 ms and tripled Recommend's p99. Skipped (and asked for again)
/// while the background checkpoint runs, rather than holding every queued
/// write behind it.
fn rewind_wal(conn: &Connection, checkpointing: &Mutex<()>, counts: &Counts) {
    let Ok(_running) = checkpointing.try_lock() else {
        counts.rewind_wal.store(true, Ordering::Relaxed);
        return;
    };
    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
        tracing::warn!(error = %e, "WAL checkpoint before a rewind failed");
    }
}

/// The checkpointer thread: after writes, copies committed WAL frames back
/// into the database file on its own connection, at most every
/// [`CHECKPOINT_EVERY`]. `PASSIVE` never blocks the writer or readers; what a
/// reader's snapshot still needs is copied by a later round. When the WAL has
/// outgrown `rewind_frames` it asks the writer thread to rewind it.
/// Ends when the writer thread drops its sender.
fn checkpoint_loop(
    conn: &Connection,
    nudges: &mpsc::Receiver<()>,
    lock: &Mutex<()>,
    counts: &Counts,
    rewind_frames: i64,
) {
    // When the next round may run.
    let mut not_before = Instant::now();
    while nudges.recv().is_ok() {
        // Nudges until then join this round.
        loop {
            let wait = not_before.saturating_duration_since(Instant::now());
            if wait.is_zero() {
                break;
            }
            match nudges.recv_timeout(wait) {
                Ok(()) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
        let passive = || -> rusqlite::Result<i64> {
            let _running = lock.lock().unwrap_or_else(PoisonError::into_inner);
            // (busy, frames in the WAL, frames copied back)
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
        };
        match passive() {
            Ok(frames) if frames >= rewind_frames => {
                // One more round for what arrived during this one, so the
                // tail the writer thread copies (and holds writes for) is
                // only what arrives meanwhile. (A round copies everything
                // there was when it began; repeating until a small tail was
                // "left" stopped after this one round every time.)
                if let Err(e) = passive() {
                    tracing::warn!(error = %e, "background WAL checkpoint failed");
                }
                counts.rewind_wal.store(true, Ordering::Relaxed);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "background WAL checkpoint failed"),
        }
        not_before = Instant::now() + CHECKPOINT_EVERY;
    }
}

fn commit_batch(conn: &mut Connection, batch: &mut Vec<Box<dyn Pending>>) {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let e = db(e);
            for w in batch.drain(..) {
                w.finish(Err(&e));
            }
            return;
        }
    };
    for w in batch.iter_mut() {
        // Some errors (a full disk, I/O) make SQLite roll back the whole
        // transaction; a write run after that would commit on its own.
        if tx.is_autocommit() {
            break;
        }
        w.run(&tx);
    }
    let commit = if tx.is_autocommit() {
        Err(StorageError::Unavailable(
            "the shared transaction was rolled back by an error in another write; retry".into(),
        ))
    } else if batch.iter().any(|w| w.succeeded()) {
        tx.commit().map_err(db)
    } else {
        // Nothing to keep.
        drop(tx);
        Ok(())
    };
    for w in batch.drain(..) {
        w.finish(commit.as_ref().map(|_| ()));
    }
}

impl SqliteStorage {
    /// Opens (creating if needed) the database file and migrates it to the latest schema.
    pub async fn open(path: impl Into<PathBuf>) -> Result<Self> {
        Self::open_with_options(path, SqliteOptions::default()).await
    }

    /// As [`SqliteStorage::open`], with the file capped at `max_bytes`.
    pub async fn open_with(path: impl Into<PathBuf>, max_bytes: Option<u64>) -> Result<Self> {
        Self::open_with_options(
            path,
            SqliteOptions {
                max_bytes,
                ..SqliteOptions::default()
            },
        )
        .await
    }

    /// As [`SqliteStorage::open`], with the given options.
    pub async fn open_with_options(
        path: impl Into<PathBuf>,
        options: SqliteOptions,
    ) -> Result<Self> {
        let path = path.into();
        let max_bytes = options.max_bytes;
        tokio::task::spawn_blocking(move || {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| StorageError::Backend(Box::new(e)))?;
            }
            let mut writer = open_connection(&path, false)?;
            Migrations::from_slice(MIGRATIONS)
                .to_latest(&mut writer)
                .map_err(|e| StorageError::Migration(e.to_string()))?;
            let tx = writer
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            let chained = audit_chain::backfill(&tx)?;
            tx.commit().map_err(db)?;
            if chained > 0 {
                tracing::info!(
                    rows = chained,
                    "audit rows from before schema version 4 chained"
                );
            }
            cap(&writer, max_bytes)?;
            // Checkpoints are the checkpointer thread's, not the committing
            // writer's; a rewound WAL is trimmed back to its working size.
            let page: i64 = writer
                .query_row("PRAGMA page_size", [], |r| r.get(0))
                .map_err(db)?;
            let wal_max = i64::try_from(options.wal_max_bytes).unwrap_or(i64::MAX);
            let rewind_frames = (wal_max / page.max(512)).max(1);
            writer
                .execute_batch(&format!(
                    "PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {wal_max};"
                ))
                .map_err(db)?;
            let checkpointing = Arc::new(Mutex::new(()));
            let counts = Arc::new(Counts::default());
            let checkpointer = {
                let conn = open_connection(&path, false)?;
                let (nudge, nudges) = mpsc::sync_channel(1);
                let lock = Arc::clone(&checkpointing);
                let counts = Arc::clone(&counts);
                let thread = std::thread::Builder::new()
                    .name("tutti-sqlite-checkpoint".into())
                    .spawn(move || checkpoint_loop(&conn, &nudges, &lock, &counts, rewind_frames))
                    .map_err(|e| StorageError::Unavailable(format!("checkpoint thread: {e}")))?;
                (nudge, thread)
            };
            let (queue, jobs) = mpsc::channel();
            let thread = {
                let counts = Arc::clone(&counts);
                let lock = Arc::clone(&checkpointing);
                let max_batch = options.commit_batch.max(1);
                std::thread::Builder::new()
                    .name("tutti-sqlite-writer".into())
                    .spawn(move || {
                        let mut conn = writer;
                        let (nudge, checkpoint_thread) = checkpointer;
                        writer_loop(&mut conn, jobs, max_batch, &counts, nudge, &lock);
                        // The checkpointer's connection closes first, so the
                        // writer's is the last and removes the WAL.
                        let _ = checkpoint_thread.join();
                        drop(conn);
                    })
                    .map_err(|e| StorageError::Unavailable(format!("writer thread: {e}")))?
            };
            Ok(Self {
                inner: Arc::new(Inner {
                    path,
                    readers: Mutex::new(Vec::new()),
                    writer: Writer {
                        queue: Mutex::new(Some(queue)),
                        thread: Mutex::new(Some(thread)),
                        counts,
                    },
                    max_bytes,
                    checkpointing,
                }),
            })
        })
        .await
        .map_err(join_error)?
    }

    /// The configured size cap, if any.
    pub fn max_bytes(&self) -> Option<u64> {
        self.inner.max_bytes
    }

    /// Transactions committed and writes they carried since the file was
    /// opened: with concurrent writers the first is smaller (group commit).
    pub fn commit_counts(&self) -> (u64, u64) {
        let c = &self.inner.writer.counts;
        (
            c.commits.load(Ordering::Relaxed),
            c.writes.load(Ordering::Relaxed),
        )
    }

    fn submit(&self, job: Job) -> Result<()> {
        if matches!(job, Job::Write(_)) {
            self.inner
                .writer
                .counts
                .queued
                .fetch_add(1, Ordering::Relaxed);
        }
        let queue = self
            .inner
            .writer
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        queue
            .as_ref()
            .and_then(|q| q.send(job).ok())
            .ok_or_else(|| StorageError::Unavailable("the database writer has stopped".into()))
    }

    /// Runs `f` on the writer connection outside any transaction, between batches.
    async fn exclusive<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> T + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.submit(Job::Exclusive(Box::new(move |conn| {
            let _ = reply.send(f(conn));
        })))?;
        answer
            .await
            .map_err(|_| StorageError::Unavailable("the database writer has stopped".into()))
    }

    /// Writes the WAL back into the database file and truncates it, so no old
    /// page version (an erased row's bytes) stays in the WAL. Best effort: a
    /// reader in the middle of a snapshot makes SQLite skip the truncation,
    /// which the next erase or the last connection's close completes.
    async fn checkpoint_truncate(&self) {
        let lock = Arc::clone(&self.inner.checkpointing);
        let result = self
            .exclusive(move |conn| {
                let _running = lock.lock().unwrap_or_else(PoisonError::into_inner);
                conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })
            })
            .await;
        match result {
            Ok(Ok((0, _, _))) => {}
            Ok(Ok((busy, log, done))) => {
                tracing::warn!(busy, log, done, "WAL checkpoint after erasure incomplete");
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "WAL checkpoint after erasure failed"),
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint task failed"),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Queues `f` for the writer thread, which runs it in the next batch's
    /// `IMMEDIATE` transaction; returns once that transaction committed.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let deadline = crate::deadline::current().map(tokio::time::Instant::into_std);
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.submit(Job::Write(Box::new(PendingWrite {
            f: Some(f),
            out: None,
            reply,
            deadline,
        })))?;
        answer
            .await
            .map_err(|_| StorageError::Unavailable("the database writer has stopped".into()))?
    }

    /// Runs `f` in one read transaction on a pooled reader connection.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let pooled = inner
                .readers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            let mut conn = match pooled {
                Some(c) => c,
                None => open_connection(&inner.path, true)?,
            };
            let out = {
                let tx = conn.transaction().map_err(db)?;
                let out = f(&tx);
                // Read-only: nothing to commit; finishing ends the snapshot.
                tx.finish().map_err(db)?;
                out
            };
            let mut pool = inner.readers.lock().unwrap_or_else(PoisonError::into_inner);
            if pool.len() < MAX_IDLE_READERS {
                pool.push(conn);
            }
            out
        })
        .await
        .map_err(join_error)?
    }
}

/// A decision's ranking and first-place distribution as stored: their JSON,
/// Snappy-compressed, as a BLOB (the columns are declared TEXT and held the
/// JSON text until this was written; SQLite keeps a BLOB a BLOB in them, and
/// the decision log reads both). A ranking is 5.7 KB of JSON and 1.7 KB
/// compressed: it fits its table page instead of taking an overflow page,
/// on every Recommend. (PostgreSQL compresses large values itself.)
fn packed_json<T: serde::Serialize>(v: &T) -> Result<Vec<u8>> {
    let json = to_json(v)?;
    let mut out = Vec::new();
    snappy::compress_into(&mut out, json.as_bytes())
        .map_err(|e| StorageError::Corrupt(format!("compress: {e}")))?;
    Ok(out)
}

/// A stored state's bytes: a BLOB (the binary form) or TEXT (the JSON of
/// versions before issue 8).
#[expect(
    clippy::wildcard_enum_match_arm,
    reason = "rusqlite's ValueRef: a state is a BLOB or TEXT; any other type is refused"
)]
fn state_bytes(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Vec<u8>> {
    match r.get_ref(i)? {
        ValueRef::Blob(b) | ValueRef::Text(b) => Ok(b.to_vec()),
        other => Err(rusqlite::Error::InvalidColumnType(
            i,
            "state".into(),
            other.data_type(),
        )),
    }
}

fn open_connection(path: &Path, read_only: bool) -> Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags).map_err(db)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db)?;
    // Every statement a connection runs stays parsed: the writer alone runs
    // about thirty distinct ones, past rusqlite's default of 16, and parsing
    // was a sixth of the writer thread's time under Recommend load.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    if !read_only {
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(db)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StorageError::Unavailable(format!(
                "cannot switch {} to WAL (got {mode})",
                path.display()
            )));
        }
    }
    // secure_delete: deleted content is overwritten with zeros, in the WAL
    // frames a delete writes and so in the file after a checkpoint.
    conn.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA foreign_keys = OFF; PRAGMA secure_delete = ON;",
    )
    .map_err(db)?;
    Ok(conn)
}

/// Caps the file at `max_bytes` on the writer connection (`max_page_count`
/// is per connection, so it is set again on every open).
fn cap(conn: &Connection, max_bytes: Option<u64>) -> Result<()> {
    let Some(max) = max_bytes else {
        return Ok(());
    };
    let page: u64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .map_err(db)?;
    let pages = (max / page.max(1)).max(1);
    let set: u64 = conn
        .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
            r.get(0)
        })
        .map_err(db)?;
    tracing::info!(max_bytes = max, pages = set, "database size capped");
    Ok(())
}

/// A tenant's own interventions, by id: for the server and the read-only
/// decision log alike.
pub(super) fn select_interventions(
    conn: &Connection,
    tenant: &TenantId,
) -> Result<Vec<StoredIntervention>> {
    conn.prepare_cached(
        "SELECT intervention_id, payload, version FROM interventions
         WHERE tenant = ?1 ORDER BY intervention_id",
    )
    .map_err(db)?
    .query_map(params![tenant.as_str()], |r| {
        Ok(StoredIntervention {
            id: InterventionId(r.get(0)?),
            payload: r.get(1)?,
            version: r.get(2)?,
        })
    })
    .map_err(db)?
    .collect::<rusqlite::Result<Vec<_>>>()
    .map_err(db)
}

pub(super) fn db(e: rusqlite::Error) -> StorageError {
    use rusqlite::ErrorCode as C;
    match e.sqlite_error_code() {
        Some(C::DiskFull) => StorageError::Full(e.to_string()),
        // Conditions an operator can clear (a lock, a read-only remount, a
        // failing or vanished disk): the caller should retry, not report a defect.
        Some(
            C::DatabaseBusy
            | C::DatabaseLocked
            | C::ReadOnly
            | C::SystemIoFailure
            | C::CannotOpen
            | C::FileLockingProtocolFailed,
        ) => StorageError::Unavailable(e.to_string()),
        _ => StorageError::Backend(Box::new(e)),
    }
}

fn join_error(e: tokio::task::JoinError) -> StorageError {
    StorageError::Unavailable(format!("storage task failed: {e}"))
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// `conn.execute` through the statement cache (`Connection::execute` parses
/// its SQL on every call).
fn exec(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<usize> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute(params))
        .map_err(db)
}

/// `conn.query_row(..).optional()` through the statement cache.
fn one<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Option<T>> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.query_row(params, f).optional())
        .map_err(db)
}

/// Inserts the idempotency row; [`StorageError::DuplicateRequest`] if the key is taken.
fn insert_idempotency(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    idem: &IdempotencyRecord,
) -> Result<()> {
    let taken = one(
        tx,
        "SELECT 1 FROM idempotency WHERE tenant = ?1 AND method = ?2 AND request_id = ?3",
        params![tenant.as_str(), idem.method, idem.request_id.as_str()],
        |_| Ok(()),
    )?;
    if taken.is_some() {
        return Err(StorageError::DuplicateRequest);
    }
    // The call's audit row commits with the data it records: a committed write
    // never lacks its row, and a rolled-back one never has it.
    if let Some(row) = &idem.audit {
        audit_chain::append(tx, row)?;
    }
    exec(
        tx,
        "INSERT INTO idempotency (tenant, method, request_id, request_hash, response, person_id, create_time)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            tenant.as_str(),
            idem.method,
            idem.request_id.as_str(),
            idem.request_hash,
            idem.response,
            idem.person.as_ref().map(PersonId::as_str),
            idem.create_time.0,
        ],
    )?;
    Ok(())
}

/// Counter changes that go with a state update.
#[derive(Default)]
struct Counters {
    assessments: u32,
    feedback: u32,
    latest_assessment_time: Option<Timestamp>,
}

/// Writes a new person state if the stored version is still the one it was
/// computed from.
fn apply_state(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    update: &EncodedUpdate,
    counters: Counters,
) -> Result<()> {
    let changed = exec(
        tx,
        "UPDATE people SET
                state = ?1, version = version + 1, update_time = ?2,
                assessment_count = assessment_count + ?3,
                feedback_count = feedback_count + ?4,
                latest_assessment_time = CASE
                    WHEN ?5 IS NULL THEN latest_assessment_time
                    WHEN latest_assessment_time IS NULL OR latest_assessment_time < ?5 THEN ?5
                    ELSE latest_assessment_time END
             WHERE tenant = ?6 AND person_id = ?7 AND version = ?8",
        params![
            update.state,
            update.update_time.0,
            counters.assessments,
            counters.feedback,
            counters.latest_assessment_time.map(|t| t.0),
            tenant.as_str(),
            update.person.as_str(),
            update.expected_version,
        ],
    )?;
    if changed == 1 {
        return Ok(());
    }
    let exists = one(
        tx,
        "SELECT 1 FROM people WHERE tenant = ?1 AND person_id = ?2",
        params![tenant.as_str(), update.person.as_str()],
        |_| Ok(()),
    )?;
    Err(match exists {
        Some(()) => StorageError::Conflict,
        None => StorageError::NotFound {
            kind: Kind::Person,
            id: update.person.to_string(),
        },
    })
}

fn select_response(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    method: &str,
    request_id: &RequestId,
) -> Result<Option<StoredResponse>> {
    one(
        tx,
        "SELECT request_hash, response FROM idempotency
         WHERE tenant = ?1 AND method = ?2 AND request_id = ?3",
        params![tenant.as_str(), method, request_id.as_str()],
        |r| {
            Ok(StoredResponse {
                request_hash: r.get(0)?,
                response: r.get(1)?,
            })
        },
    )
}

fn select_person(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    person: PersonId,
) -> Result<Option<PersonRecord>> {
    let row = one(
        tx,
        "SELECT conditions, create_time, assessment_count, feedback_count,
                        latest_assessment_time, state, version
                 FROM people WHERE tenant = ?1 AND person_id = ?2",
        params![tenant.as_str(), person.as_str()],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, u32>(2)?,
                r.get::<_, u32>(3)?,
                r.get::<_, Option<i64>>(4)?,
                state_bytes(r, 5)?,
                r.get::<_, i64>(6)?,
            ))
        },
    )?;
    let Some((conditions, create, assessments, feedback, latest, state, version)) = row else {
        return Ok(None);
    };
    let conditions = serde_json::from_str(&conditions)
        .map_err(|e| StorageError::Corrupt(format!("person conditions: {e}")))?;
    let state = match state_codec::decode(&state) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(
                tenant = %tenant, person = %person, error = %e,
                "stored person state does not decode; it will be rebuilt from events"
            );
            None
        }
    };
    Ok(Some(PersonRecord {
        id: person,
        conditions,
        create_time: Timestamp(create),
        assessment_count: assessments,
        feedback_count: feedback,
        latest_assessment_time: latest.map(Timestamp),
        state,
        version,
    }))
}

fn select_recommendation(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    id: &RecommendationId,
) -> Result<Option<RecommendationRecord>> {
    let row = one(
        tx,
        "SELECT r.decision_id, r.person_id, r.intervention_id, d.request, r.role
                 FROM recommendations r
                 JOIN decisions d ON d.tenant = r.tenant AND d.decision_id = r.decision_id
                 WHERE r.tenant = ?1 AND r.recommendation_id = ?2",
        params![tenant.as_str(), id.as_str()],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        },
    )?;
    let Some((decision, person, intervention, request, role)) = row else {
        return Ok(None);
    };
    let corrupt = |what: &str| StorageError::Corrupt(format!("stored {what} id"));
    Ok(Some(RecommendationRecord {
        id: id.clone(),
        decision: DecisionId::parse(&decision).map_err(|_| corrupt("decision"))?,
        person: PersonId::parse(&person).map_err(|_| corrupt("person"))?,
        intervention: InterventionId(intervention),
        context: context_of_request(&request)?,
        role: RecommendationRole::parse(&role)?,
    }))
}

#[async_trait::async_trait]
impl Storage for SqliteStorage {
    async fn find_response(
        &self,
        tenant: &TenantId,
        method: &str,
        request_id: &RequestId,
    ) -> Result<Option<StoredResponse>> {
        let (tenant, method, request_id) = (tenant.clone(), method.to_owned(), request_id.clone());
        self.read(move |tx| select_response(tx, &tenant, &method, &request_id))
            .await
    }

    async fn read_for_write(
        &self,
        tenant: &TenantId,
        method: &str,
        request_id: &RequestId,
        subject: Subject<'_>,
    ) -> Result<WriteSnapshot> {
        let (tenant, method, request_id) = (tenant.clone(), method.to_owned(), request_id.clone());
        let (person, recommendation) = match subject {
            Subject::Person(p) => (Some(p.clone()), None),
            Subject::Recommendation(r) => (None, Some(r.clone())),
        };
        // One read transaction on one pooled connection: one trip to the
        // blocking pool, and the response and the person from one snapshot.
        self.read(move |tx| {
            let response = select_response(tx, &tenant, &method, &request_id)?;
            let recommendation = match &recommendation {
                Some(id) => select_recommendation(tx, &tenant, id)?,
                None => None,
            };
            let person = match (person, &recommendation) {
                (Some(p), _) => select_person(tx, &tenant, p)?,
                (None, Some(r)) => select_person(tx, &tenant, r.person.clone())?,
                (None, None) => None,
            };
            Ok(WriteSnapshot {
                response,
                recommendation,
                person,
            })
        })
        .await
    }

    async fn create_person(
        &self,
        tenant: &TenantId,
        person: NewPerson,
        idem: IdempotencyRecord,
    ) -> Result<()> {
        let tenant = tenant.clone();
        let conditions = to_json(&person.conditions)?;
        let state = state_codec::encode(&person.state)?;
        self.write(move |tx| {
            insert_idempotency(tx, &tenant, &idem)?;
            let exists = one(tx, "SELECT 1 FROM people WHERE tenant = ?1 AND person_id = ?2",
                    params![tenant.as_str(), person.id.as_str()],
                    |_| Ok(()),
                )?;
            if exists.is_some() {
                return Err(StorageError::AlreadyExists {
                    kind: Kind::Person,
                    id: person.id.to_string(),
                });
            }
            exec(tx, "INSERT INTO people (tenant, person_id, conditions, create_time, update_time, state, version)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5, 1)",
                params![
                    tenant.as_str(),
                    person.id.as_str(),
                    conditions,
                    person.create_time.0,
                    state
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn get_person(
        &self,
        tenant: &TenantId,
        person: &PersonId,
    ) -> Result<Option<PersonRecord>> {
        let (tenant, person) = (tenant.clone(), person.clone());
        self.read(move |tx| select_person(tx, &tenant, person))
            .await
    }

    async fn delete_person(
        &self,
        tenant: &TenantId,
        person: &PersonId,
        idem: IdempotencyRecord,
        encode: EncodeErased,
    ) -> Result<Erased> {
        let (tenant, person) = (tenant.clone(), person.clone());
        let erased = self
            .write(move |tx| {
                let t = tenant.as_str();
                let p = person.as_str();
                let del = |sql: &str| exec(tx, sql, params![t, p]).map(count);
                if del("DELETE FROM people WHERE tenant = ?1 AND person_id = ?2")? == 0 {
                    return Err(StorageError::NotFound {
                        kind: Kind::Person,
                        id: person.to_string(),
                    });
                }
                let erased = Erased {
                    assessments: del(
                        "DELETE FROM assessments WHERE tenant = ?1 AND person_id = ?2",
                    )?,
                    recommendations: del(
                        "DELETE FROM recommendations WHERE tenant = ?1 AND person_id = ?2",
                    )?,
                    feedback: del("DELETE FROM feedback WHERE tenant = ?1 AND person_id = ?2")?,
                    decisions: del("DELETE FROM decisions WHERE tenant = ?1 AND person_id = ?2")?,
                };
                // Stored responses of their earlier writes hold their data too.
                del("DELETE FROM idempotency WHERE tenant = ?1 AND person_id = ?2")?;
                let idem = IdempotencyRecord {
                    response: encode(erased),
                    person: None,
                    ..idem
                };
                insert_idempotency(tx, &tenant, &idem)?;
                Ok(erased)
            })
            .await?;
        self.checkpoint_truncate().await;
        Ok(erased)
    }

    async fn record_assessments(
        &self,
        tenant: &TenantId,
        update: StateUpdate,
        assessments: Vec<StoredAssessment>,
        idem: IdempotencyRecord,
    ) -> Result<()> {
        let tenant = tenant.clone();
        let update = update.encode()?;
        self.write(move |tx| {
            insert_idempotency(tx, &tenant, &idem)?;
            apply_state(tx, &tenant, &update,
                Counters {
                    assessments: count(assessments.len()),
                    feedback: 0,
                    latest_assessment_time: assessments.iter().map(|a| a.observe_time).max(),
                },
            )?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO assessments (tenant, person_id, assessment_id, observe_time, create_time, payload)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(db)?;
            for a in &assessments {
                insert
                    .execute(params![
                        tenant.as_str(),
                        update.person.as_str(),
                        a.id,
                        a.observe_time.0,
                        idem.create_time.0,
                        a.payload
                    ])
                    .map_err(db)?;
            }
            Ok(())
        })
        .await
    }

    async fn list_assessments(
        &self,
        tenant: &TenantId,
        person: &PersonId,
        after: Option<AssessmentCursor>,
        limit: u32,
    ) -> Result<AssessmentPage> {
        let (tenant, person) = (tenant.clone(), person.clone());
        self.read(move |tx| {
            let total: Option<u32> = one(tx, "SELECT assessment_count FROM people WHERE tenant = ?1 AND person_id = ?2",
                    params![tenant.as_str(), person.as_str()],
                    |r| r.get(0),
                )?;
            let Some(total) = total else {
                return Err(StorageError::NotFound {
                    kind: Kind::Person,
                    id: person.to_string(),
                });
            };
            let (after_time, after_id) = match &after {
                Some(c) => (Some(c.observe_time.0), Some(c.id.as_str())),
                None => (None, None),
            };
            let mut stmt = tx
                .prepare_cached(
                    "SELECT assessment_id, observe_time, payload FROM assessments
                     WHERE tenant = ?1 AND person_id = ?2
                       AND (?3 IS NULL OR observe_time < ?3 OR (observe_time = ?3 AND assessment_id < ?4))
                     ORDER BY observe_time DESC, assessment_id DESC
                     LIMIT ?5",
                )
                .map_err(db)?;
            let mut items = stmt
                .query_map(
                    params![
                        tenant.as_str(),
                        person.as_str(),
                        after_time,
                        after_id,
                        i64::from(limit) + 1
                    ],
                    |r| {
                        Ok(StoredAssessment {
                            id: r.get(0)?,
                            observe_time: Timestamp(r.get(1)?),
                            payload: r.get(2)?,
                        })
                    },
                )
                .map_err(db)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(db)?;
            let more = items.len() > limit as usize;
            items.truncate(limit as usize);
            Ok(AssessmentPage { items, total, more })
        })
        .await
    }

    async fn load_history(&self, tenant: &TenantId, person: &PersonId) -> Result<History> {
        let (tenant, person) = (tenant.clone(), person.clone());
        self.read(move |tx| {
            let t = tenant.as_str();
            let p = person.as_str();
            let assessments = tx
                .prepare_cached(
                    "SELECT assessment_id, observe_time, payload FROM assessments
                     WHERE tenant = ?1 AND person_id = ?2 ORDER BY rowid",
                )
                .map_err(db)?
                .query_map(params![t, p], |r| {
                    Ok(StoredAssessment {
                        id: r.get(0)?,
                        observe_time: Timestamp(r.get(1)?),
                        payload: r.get(2)?,
                    })
                })
                .map_err(db)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(db)?;
            let recommendations = tx
                .prepare_cached(
                    "SELECT for_time, intervention_id FROM recommendations
                     WHERE tenant = ?1 AND person_id = ?2 AND role <> 'shadow' ORDER BY rowid",
                )
                .map_err(db)?
                .query_map(params![t, p], |r| {
                    Ok(StoredRecommendation {
                        at: Timestamp(r.get(0)?),
                        intervention: InterventionId(r.get(1)?),
                    })
                })
                .map_err(db)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(db)?;
            let feedback_rows = tx
                .prepare_cached(
                    "SELECT f.observe_time, f.intervention_id, d.request, f.payload
                     FROM feedback f
                     JOIN recommendations r
                       ON r.tenant = f.tenant AND r.recommendation_id = f.recommendation_id
                     JOIN decisions d
                       ON d.tenant = r.tenant AND d.decision_id = r.decision_id
                     WHERE f.tenant = ?1 AND f.person_id = ?2 ORDER BY f.rowid",
                )
                .map_err(db)?
                .query_map(params![t, p], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Vec<u8>>(3)?,
                    ))
                })
                .map_err(db)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(db)?;
            let feedback = feedback_rows
                .into_iter()
                .map(|(at, iv, request, payload)| {
                    Ok(StoredFeedback {
                        observe_time: Timestamp(at),
                        intervention: InterventionId(iv),
                        context: context_of_request(&request)?,
                        payload,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(History {
                assessments,
                recommendations,
                feedback,
            })
        })
        .await
    }

    async fn record_decision(
        &self,
        tenant: &TenantId,
        update: StateUpdate,
        decision: NewDecision,
        idem: IdempotencyRecord,
    ) -> Result<()> {
        let tenant = tenant.clone();
        let request = to_json(&decision.query)?;
        // The two large JSON columns, compressed (see `packed_json`).
        let ranking = packed_json(&decision.ranking)?;
        let first_place = packed_json(&decision.first_place)?;
        let update = update.encode()?;
        self.write(move |tx| {
            insert_idempotency(tx, &tenant, &idem)?;
            apply_state(tx, &tenant, &update, Counters::default())?;
            exec(
                tx,
                "INSERT INTO decisions (tenant, decision_id, person_id, request, model_version,
                                        decide_time, for_time, safety_mode, exploration, ranking,
                                        shadow, platform_intervention_id, first_place)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    tenant.as_str(),
                    decision.id.as_str(),
                    decision.person.as_str(),
                    request,
                    decision.model_version,
                    decision.decide_time.0,
                    decision.query.now.0,
                    decision.ranking.safety_mode,
                    decision.ranking.exploration,
                    ranking,
                    decision.shadow,
                    decision
                        .platform_intervention
                        .as_ref()
                        .map(InterventionId::as_str),
                    first_place,
                ],
            )?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO recommendations (tenant, recommendation_id, decision_id, person_id,
                                                  intervention_id, role, rank, score, propensity,
                                                  for_time)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(db)?;
            let role = if decision.shadow {
                RecommendationRole::Shadow
            } else {
                RecommendationRole::Live
            };
            for item in &decision.items {
                insert
                    .execute(params![
                        tenant.as_str(),
                        item.id.as_str(),
                        decision.id.as_str(),
                        decision.person.as_str(),
                        item.intervention.as_str(),
                        role.as_str(),
                        item.rank,
                        item.score,
                        item.propensity,
                        decision.query.now.0,
                    ])
                    .map_err(db)?;
            }
            if let Some(choice) = &decision.platform_choice {
                insert
                    .execute(params![
                        tenant.as_str(),
                        choice.id.as_str(),
                        decision.id.as_str(),
                        decision.person.as_str(),
                        choice.intervention.as_str(),
                        RecommendationRole::Platform.as_str(),
                        None::<u32>,
                        None::<f64>,
                        None::<f64>,
                        decision.query.now.0,
                    ])
                    .map_err(db)?;
            }
            Ok(())
        })
        .await
    }

    async fn get_recommendation(
        &self,
        tenant: &TenantId,
        id: &RecommendationId,
    ) -> Result<Option<RecommendationRecord>> {
        let (tenant, id) = (tenant.clone(), id.clone());
        self.read(move |tx| select_recommendation(tx, &tenant, &id))
            .await
    }

    async fn record_feedback(
        &self,
        tenant: &TenantId,
        update: StateUpdate,
        feedback: NewFeedback,
        idem: IdempotencyRecord,
    ) -> Result<()> {
        let tenant = tenant.clone();
        let update = update.encode()?;
        self.write(move |tx| {
            insert_idempotency(tx, &tenant, &idem)?;
            apply_state(
                tx,
                &tenant,
                &update,
                Counters {
                    feedback: 1,
                    ..Counters::default()
                },
            )?;
            exec(
                tx,
                "INSERT INTO feedback (tenant, feedback_id, recommendation_id, person_id,
                                       intervention_id, observe_time, create_time, payload)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    tenant.as_str(),
                    feedback.id,
                    feedback.recommendation.as_str(),
                    update.person.as_str(),
                    feedback.intervention.as_str(),
                    feedback.observe_time.0,
                    idem.create_time.0,
                    feedback.payload,
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn recent_states(&self, tenant: &TenantId, limit: u32) -> Result<Vec<PersonState>> {
        let tenant = tenant.clone();
        self.read(move |tx| {
            // The inner query orders by small columns only, so SQLite does not
            // read (and sort) every person's state to pick the newest.
            let mut stmt = tx
                .prepare(
                    "SELECT state FROM people WHERE tenant = ?1 AND person_id IN (
                         SELECT person_id FROM people WHERE tenant = ?1
                         ORDER BY update_time DESC, person_id LIMIT ?2)",
                )
                .map_err(db)?;
            let rows = stmt
                .query_map(params![tenant.as_str(), limit], |r| state_bytes(r, 0))
                .map_err(db)?;
            let mut states = Vec::new();
            for row in rows {
                if let Ok(state) = state_codec::decode(&row.map_err(db)?) {
                    states.push(state);
                }
            }
            Ok(states)
        })
        .await
    }

    async fn list_interventions(&self, tenant: &TenantId) -> Result<Vec<StoredIntervention>> {
        let tenant = tenant.clone();
        self.read(move |tx| select_interventions(tx, &tenant)).await
    }

    async fn create_intervention(
        &self,
        tenant: &TenantId,
        intervention: StoredIntervention,
        idem: IdempotencyRecord,
    ) -> Result<()> {
        let tenant = tenant.clone();
        self.write(move |tx| {
            insert_idempotency(tx, &tenant, &idem)?;
            let exists = one(tx, "SELECT 1 FROM interventions WHERE tenant = ?1 AND intervention_id = ?2",
                    params![tenant.as_str(), intervention.id.as_str()],
                    |_| Ok(()),
                )?;
            if exists.is_some() {
                return Err(StorageError::AlreadyExists {
                    kind: Kind::Intervention,
                    id: intervention.id.to_string(),
                });
            }
            exec(tx, "INSERT INTO interventions (tenant, intervention_id, payload, version, create_time, update_time)
                 VALUES (?1, ?2, ?3, 1, ?4, ?4)",
                params![
                    tenant.as_str(),
                    intervention.id.as_str(),
                    intervention.payload,
                    idem.create_time.0
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn update_intervention(
        &self,
        tenant: &TenantId,
        intervention: StoredIntervention,
        idem: IdempotencyRecord,
    ) -> Result<()> {
        let tenant = tenant.clone();
        self.write(move |tx| {
            insert_idempotency(tx, &tenant, &idem)?;
            let changed = exec(
                tx,
                "UPDATE interventions SET payload = ?1, version = ?2, update_time = ?3
                     WHERE tenant = ?4 AND intervention_id = ?5 AND version = ?6",
                params![
                    intervention.payload,
                    intervention.version,
                    idem.create_time.0,
                    tenant.as_str(),
                    intervention.id.as_str(),
                    intervention.version - 1
                ],
            )?;
            if changed == 1 {
                return Ok(());
            }
            let exists = one(
                tx,
                "SELECT 1 FROM interventions WHERE tenant = ?1 AND intervention_id = ?2",
                params![tenant.as_str(), intervention.id.as_str()],
                |_| Ok(()),
            )?;
            Err(match exists {
                Some(()) => StorageError::Conflict,
                None => StorageError::NotFound {
                    kind: Kind::Intervention,
                    id: intervention.id.to_string(),
                },
            })
        })
        .await
    }

    async fn append_audit(&self, rows: Vec<AuditRow>) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.write(move |tx| {
            for r in &rows {
                audit_chain::append(tx, r)?;
            }
            Ok(())
        })
        .await
    }

    async fn catalog_stamps(&self) -> Result<Vec<(TenantId, i64)>> {
        self.read(|tx| {
            tx.prepare_cached(
                "SELECT tenant, count(*) + sum(version) * 1000003 + max(update_time)
                 FROM interventions GROUP BY tenant",
            )
            .map_err(db)?
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(db)?
            .filter_map(|row| match row {
                Ok((t, stamp)) => TenantId::parse(&t).ok().map(|t| Ok((t, stamp))),
                Err(e) => Some(Err(db(e))),
            })
            .collect()
        })
        .await
    }

    async fn claim_token(
        &self,
        tenant: &TenantId,
        issuer: &str,
        jti: &str,
        expires_at: i64,
        expired_before: i64,
    ) -> Result<bool> {
        let (tenant, issuer, jti) = (
            tenant.as_str().to_owned(),
            issuer.to_owned(),
            jti.to_owned(),
        );
        let changed = self
            .write(move |tx| {
                tx.prepare_cached(CLAIM_TOKEN)
                    .and_then(|mut st| {
                        st.execute(params![tenant, issuer, jti, expires_at, expired_before])
                    })
                    .map_err(db)
            })
            .await?;
        Ok(changed == 1)
    }

    async fn sweep_tokens(&self, before: i64) -> Result<u64> {
        let n = self
            .write(move |tx| {
                exec(
                    tx,
                    "DELETE FROM cds_tokens WHERE expires_at < ?1",
                    params![before],
                )
            })
            .await?;
        Ok(n as u64)
    }

    async fn sweep_idempotency(&self, before: Timestamp) -> Result<u64> {
        let mut total = 0;
        loop {
            let n = self
                .write(move |tx| {
                    exec(
                        tx,
                        "DELETE FROM idempotency WHERE rowid IN
                           (SELECT rowid FROM idempotency WHERE create_time < ?1 LIMIT ?2)",
                        params![before.0, SWEEP_BATCH],
                    )
                })
                .await?;
            total += n as u64;
            if (n as i64) < SWEEP_BATCH {
                if total > 0 {
                    // The expired responses hold health data: leave no copy
                    // of them in old WAL frames either.
                    self.checkpoint_truncate().await;
                }
                return Ok(total);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! Migrations and group commit on a real file in a temporary directory.
    use super::*;
    use crate::convert::ids::RequestId;
    use tutti_engine::Engine;

    #[test]
    fn migrations_are_valid() {
        assert!(Migrations::from_slice(MIGRATIONS).validate().is_ok());
    }

    #[test]
    fn a_version_1_file_migrates_to_live_decisions_with_rows_in_their_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut conn = Connection::open(dir.path().join("v1.db")).expect("opens");
        Migrations::from_slice(&MIGRATIONS[..1])
            .to_latest(&mut conn)
            .expect("version 1");
        conn.execute_batch(
            "INSERT INTO decisions VALUES ('t', 'd1', 'p1', '{}', 'm', 1, 1, 0, 0.3, '{}');
             INSERT INTO recommendations VALUES ('t', 'r2', 'd1', 'p1', 'b', 2, 0.5, 0.25, 1);
             INSERT INTO recommendations VALUES ('t', 'r1', 'd1', 'p1', 'a', 1, 0.9, 0.75, 1);",
        )
        .expect("version 1 rows");
        Migrations::from_slice(MIGRATIONS)
            .to_latest(&mut conn)
            .expect("migrates");
        let rows: Vec<(String, String, Option<u32>, Option<f64>)> = conn
            .prepare("SELECT recommendation_id, role, rank, propensity FROM recommendations ORDER BY rowid")
            .expect("prepares")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .expect("reads")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        assert_eq!(
            rows,
            vec![
                ("r2".into(), "live".into(), Some(2), Some(0.25)),
                ("r1".into(), "live".into(), Some(1), Some(0.75)),
            ],
            "replay reads rows in rowid order, so the rebuild keeps it"
        );
        let (shadow, platform): (bool, Option<String>) = conn
            .query_row(
                "SELECT shadow, platform_intervention_id FROM decisions",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("decision");
        assert!(!shadow);
        assert_eq!(platform, None);
    }

    // The storage contract (idempotency, tenancy, optimistic concurrency,
    // erasure, ...) is tested on both backends by tests/tests/storage_contract.rs;
    // what is SQLite's own, group commit, is tested here.

    fn idem(request_id: &str) -> IdempotencyRecord {
        IdempotencyRecord {
            method: "/m".into(),
            request_id: RequestId::parse(request_id).expect("id"),
            request_hash: "h".into(),
            response: vec![1],
            person: None,
            create_time: Timestamp(1),
            audit: None,
        }
    }

    fn new_person(engine: &Engine, id: &str) -> NewPerson {
        NewPerson {
            id: PersonId::parse(id).expect("id"),
            conditions: vec![],
            create_time: Timestamp(1),
            state: engine.new_person(vec![]),
        }
    }

    /// Holds the writer thread until the returned sender is dropped, so the
    /// writes queued meanwhile are all waiting when it takes the next batch.
    async fn hold_writer(db: &SqliteStorage) -> std::sync::mpsc::Sender<()> {
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel();
        db.submit(Job::Exclusive(Box::new(move |_| {
            let _ = started.send(());
            let _ = held.recv();
        })))
        .expect("queued");
        running.await.expect("the writer runs the hold");
        release
    }

    /// Waits (bounded) until `writes` more writes than `base` were queued.
    async fn wait_queued(db: &SqliteStorage, base: u64, writes: u64) {
        let queued = || db.inner.writer.counts.queued.load(Ordering::Relaxed);
        for _ in 0..10_000 {
            if queued() >= base + writes {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        panic!("only {} of {writes} writes were queued", queued() - base);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_share_one_commit_and_a_failing_one_rolls_back_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = SqliteStorage::open(dir.path().join("t.db"))
            .await
            .expect("opens");
        let engine = Engine::with_defaults();
        let tenant = TenantId::parse("a").expect("id");
        db.create_person(&tenant, new_person(&engine, "taken"), idem("r0"))
            .await
            .expect("created");
        let before = db.commit_counts();
        let base = db.inner.writer.counts.queued.load(Ordering::Relaxed);
        let release = hold_writer(&db).await;
        // Ten new people and one id that is taken: queued while the writer is held.
        let mut tasks = Vec::new();
        for i in 0..11 {
            let (db, tenant) = (db.clone(), tenant.clone());
            let person = if i == 5 {
                new_person(&engine, "taken")
            } else {
                new_person(&engine, &format!("p{i}"))
            };
            tasks.push(tokio::spawn(async move {
                db.create_person(&tenant, person, idem(&format!("r{}", i + 1)))
                    .await
            }));
        }
        wait_queued(&db, base, 11).await;
        drop(release);
        let mut ok = 0;
        for (i, t) in tasks.into_iter().enumerate() {
            match t.await.expect("task") {
                Ok(()) => ok += 1,
                Err(StorageError::AlreadyExists { .. }) => assert_eq!(i, 5),
                Err(e) => panic!("write {i}: {e}"),
            }
        }
        assert_eq!(ok, 10);
        let after = db.commit_counts();
        let (commits, writes) = (after.0 - before.0, after.1 - before.1);
        assert_eq!(writes, 11);
        assert!(
            commits < writes,
            "{writes} queued writes took {commits} commits"
        );
        for i in (0..11).filter(|i| *i != 5) {
            let p = PersonId::parse(&format!("p{i}")).expect("id");
            assert!(db.get_person(&tenant, &p).await.expect("read").is_some());
        }
        // The failed write kept nothing: not even its idempotency key.
        assert!(
            db.find_response(&tenant, "/m", &RequestId::parse("r6").expect("id"))
                .await
                .expect("read")
                .is_none()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn committed_writes_reach_the_database_file_while_it_is_open() {
        // The writer never checkpoints (`wal_autocheckpoint = 0`): without
        // the checkpointer thread every page would stay in the WAL, which
        // would grow without bound, and the main file would not change until
        // the last connection closed.
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("t.db");
        let db = SqliteStorage::open(&path).await.expect("opens");
        let engine = Engine::with_defaults();
        let tenant = TenantId::parse("a").expect("id");
        let size = || std::fs::metadata(&path).map_or(0, |m| m.len());
        let before = size();
        for i in 0..300 {
            db.create_person(
                &tenant,
                new_person(&engine, &format!("p{i}")),
                idem(&format!("r{i}")),
            )
            .await
            .expect("created");
        }
        // A liveness bound, not a speed claim: checkpoints come every 200 ms.
        for _ in 0..1_000 {
            if size() > before + 256 * 1024 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "the database file grew from {before} to {} bytes in 10 s",
            size()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_stays_bounded_under_writes_that_never_pause() {
        // Passive checkpoints alone never rewind the WAL while writes keep
        // coming, so it grew by every byte written. Here 32 writers without
        // a pause write about ten times the rewind threshold; the WAL may
        // overshoot it by what arrives between two checkpoint rounds.
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("t.db");
        let threshold = 32 << 20;
        let db = SqliteStorage::open_with_options(
            &path,
            SqliteOptions {
                wal_max_bytes: threshold,
                ..SqliteOptions::default()
            },
        )
        .await
        .expect("opens");
        let engine = Engine::with_defaults();
        let tenant = TenantId::parse("a").expect("id");
        let per_write = 64 * 1024;
        let writes = 10 * threshold / per_write;
        let wal = dir.path().join("t.db-wal");
        let done = Arc::new(AtomicBool::new(false));
        let watcher = {
            let (wal, done) = (wal.clone(), Arc::clone(&done));
            tokio::task::spawn_blocking(move || {
                let mut largest = 0;
                while !done.load(Ordering::Relaxed) {
                    largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
                    std::thread::sleep(Duration::from_millis(2));
                }
                largest
            })
        };
        let mut tasks = tokio::task::JoinSet::new();
        for worker in 0..32 {
            let (db, tenant, person) = (db.clone(), tenant.clone(), new_person(&engine, "x"));
            tasks.spawn(async move {
                let mut i = worker;
                while i < writes {
                    let id = PersonId::parse(&format!("p{i}")).expect("id");
                    let mut p = person.clone();
                    p.id = id.clone();
                    db.create_person(&tenant, p.clone(), idem(&format!("c{i}")))
                        .await
                        .expect("created");
                    db.record_assessments(
                        &tenant,
                        StateUpdate {
                            person: id,
                            expected_version: 1,
                            state: p.state,
                            update_time: Timestamp(1),
                        },
                        vec![StoredAssessment {
                            id: format!("a{i}"),
                            observe_time: Timestamp(1),
                            // Incompressible, so each write is ~16 pages.
                            payload: (0..per_write)
                                .map(|b| (b * 7919 % 251) as u8 ^ (i as u8))
                                .collect(),
                        }],
                        idem(&format!("r{i}")),
                    )
                    .await
                    .expect("recorded");
                    i += 32;
                }
            });
        }
        while let Some(t) = tasks.join_next().await {
            t.expect("writer task");
        }
        done.store(true, Ordering::Relaxed);
        let largest = watcher.await.expect("watcher");
        let file = std::fs::metadata(&path).map_or(0, |m| m.len());
        assert!(
            file > 8 * threshold,
            "the test must write well past the threshold: database {file} bytes"
        );
        assert!(
            largest < 4 * threshold,
            "WAL reached {largest} bytes (rewind at {threshold}); database {file}"
        );
    }

    #[tokio::test]
    async fn a_batch_of_one_commits_each_write_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = SqliteStorage::open_with_options(
            dir.path().join("t.db"),
            SqliteOptions {
                commit_batch: 1,
                ..SqliteOptions::default()
            },
        )
        .await
        .expect("opens");
        let engine = Engine::with_defaults();
        let tenant = TenantId::parse("a").expect("id");
        let release = hold_writer(&db).await;
        let mut tasks = Vec::new();
        for i in 0..4 {
            let (db, tenant, person) = (
                db.clone(),
                tenant.clone(),
                new_person(&engine, &format!("p{i}")),
            );
            tasks.push(tokio::spawn(async move {
                db.create_person(&tenant, person, idem(&format!("r{i}")))
                    .await
            }));
        }
        wait_queued(&db, 0, 4).await;
        drop(release);
        for t in tasks {
            t.await.expect("task").expect("written");
        }
        assert_eq!(db.commit_counts(), (4, 4));
    }
}

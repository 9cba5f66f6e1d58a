//! The audit trail: every call to the tenant API — reads, writes and refused
//! ones — is recorded (time, tenant, principal, method, resource, status code,
//! call id, idempotency key, trace id). No payloads and no free text. Rows are
//! append-only and hash-chained per tenant ([`crate::storage::audit_chain`];
//! `tutti audit verify` checks the chains).
//!
//! The audit layer ([`crate::middleware::audit`]) puts an [`AuditNote`] into each request; the auth layer and
//! the handler fill in who called and which resource. Then, by kind of call:
//! - a write commits its audit row in the same transaction as its data (the
//!   note hands the row to the idempotency record, see
//!   [`crate::idempotency::Idempotency::audited`]): a committed write never
//!   lacks its row, even if the call is cancelled or the process dies right
//!   after the commit;
//! - any other call (reads, failed writes, permission refusals) gets its row
//!   from the layer once the response is ready, through the [`AuditSink`],
//!   which group-commits (rows arriving while a batch is written go into the
//!   next transaction). A response is released only once its row is durable;
//!   if that fails the call fails rather than go unrecorded (`UNAVAILABLE`
//!   with `RetryInfo` when the disk is full or unavailable, else `INTERNAL`). The
//!   row is written by a task of its own, so a caller who hangs up does not
//!   stop it;
//! - calls refused as unauthenticated and calls shed under overload are
//!   counted, not written one by one (an unauthenticated flood must not turn
//!   into a flood of fsyncs): one summary row per (tenant, method, code) with
//!   its `count`, and one log line, every `audit.summary_seconds`.

use crate::error::ServiceError;
use crate::storage::{AuditRow, Storage, StorageError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tonic::Code;
use tutti_engine::ids::Timestamp;

/// Rows written in one transaction at most.
const MAX_BATCH: usize = 512;
/// Rows waiting before callers wait for room.
const QUEUE: usize = 4096;
/// Distinct summary keys kept per window; past it methods are pooled as `other`
/// (a caller choosing method names must not grow the map without bound).
const MAX_SUMMARY_KEYS: usize = 1024;

/// How a call's audit record is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Disposition {
    /// One durable row when the call ends.
    #[default]
    Row,
    /// Refused as unauthenticated: counted into a summary row.
    Unauthenticated,
    /// Shed under overload: counted into a summary row.
    Shed,
}

/// What the layers and the handler learn about a call, shared through the
/// request extensions.
#[derive(Debug, Clone, Default)]
pub struct AuditNote(Arc<Mutex<Note>>);

#[derive(Debug, Default)]
struct Note {
    method: String,
    call_id: String,
    trace_id: String,
    tenant: String,
    principal: String,
    resource: String,
    request_id: Option<String>,
    disposition: Disposition,
    /// A row handed to a write transaction that has not reported back yet.
    pending: bool,
    /// Rows committed with writes.
    committed: u32,
}

impl AuditNote {
    /// A note for one call of `method`.
    pub fn new(method: String, call_id: String, trace_id: String) -> Self {
        Self(Arc::new(Mutex::new(Note {
            method,
            call_id,
            trace_id,
            ..Note::default()
        })))
    }

    fn with<T>(&self, f: impl FnOnce(&mut Note) -> T) -> T {
        // The lock is held only for a field assignment; a poisoned note is still usable.
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Who called.
    pub fn set_caller(&self, tenant: &str, principal: &str) {
        self.with(|n| {
            n.tenant = tenant.to_owned();
            n.principal = principal.to_owned();
        });
    }

    /// Which resource the call is about, and its idempotency key (writes).
    pub fn set_resource(&self, resource: String, request_id: Option<&str>) {
        self.with(|n| {
            n.resource = resource;
            n.request_id = request_id.map(str::to_owned);
        });
    }

    /// The call was refused as unauthenticated.
    pub fn mark_unauthenticated(&self) {
        self.with(|n| n.disposition = Disposition::Unauthenticated);
    }

    /// The call was shed under overload.
    pub fn mark_shed(&self) {
        self.with(|n| n.disposition = Disposition::Shed);
    }

    /// The row a write commits with its data (status OK: it is only committed
    /// if the write succeeds). Report the outcome with [`AuditNote::settle`].
    pub fn pending_row(&self, time: Timestamp) -> AuditRow {
        self.with(|n| {
            n.pending = true;
            n.row(Code::Ok as i32, time)
        })
    }

    /// Whether the write that took the pending row committed.
    pub fn settle(&self, committed: bool) {
        self.with(|n| {
            if n.pending && committed {
                n.committed += 1;
            }
            n.pending = false;
        });
    }

    /// What to record for the call that ended with `code`.
    pub(crate) fn finish(&self, code: Code, time: Timestamp) -> Finish {
        self.with(|n| {
            if code == Code::Ok && n.committed > 0 {
                return Finish::Done;
            }
            let row = n.row(code as i32, time);
            match n.disposition {
                Disposition::Row => Finish::Row(row),
                Disposition::Unauthenticated | Disposition::Shed => Finish::Count(row),
            }
        })
    }

    /// The row for a finished call of the EHR routes (their own middleware):
    /// `None` when its writes committed their rows already.
    pub fn finish_row(&self, code: Code, time: Timestamp) -> Option<AuditRow> {
        match self.finish(code, time) {
            Finish::Done => None,
            Finish::Row(row) | Finish::Count(row) => Some(row),
        }
    }
}

impl Note {
    fn row(&self, code: i32, time: Timestamp) -> AuditRow {
        AuditRow {
            time,
            tenant: self.tenant.clone(),
            principal: self.principal.clone(),
            method: self.method.clone(),
            resource: self.resource.clone(),
            code,
            call_id: self.call_id.clone(),
            request_id: self.request_id.clone(),
            trace_id: self.trace_id.clone(),
            count: 1,
        }
    }
}

/// What a finished call's audit record needs.
pub(crate) enum Finish {
    /// Recorded already, with the write.
    Done,
    /// One durable row.
    Row(AuditRow),
    /// Counted into a summary.
    Count(AuditRow),
}

/// Why an audit row could not be made durable. Kept apart from
/// [`StorageError`] (which is not `Clone`) because one failure answers every
/// call of the batch.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuditFailure {
    /// The disk (or `storage.max_bytes`) is full.
    #[error("full: {0}")]
    Full(String),
    /// Storage is locked, read-only or failing I/O: worth retrying.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Anything else, or the writer is gone.
    #[error("{0}")]
    Failed(String),
}

impl AuditFailure {
    fn of(e: &StorageError) -> Self {
        match e {
            StorageError::Full(c) => AuditFailure::Full(c.clone()),
            StorageError::Unavailable(c) => AuditFailure::Unavailable(c.clone()),
            other @ (StorageError::NotFound { .. }
            | StorageError::AlreadyExists { .. }
            | StorageError::Conflict
            | StorageError::DuplicateRequest
            | StorageError::Corrupt(_)
            | StorageError::Migration(_)
            | StorageError::DeadlineExceeded
            | StorageError::Backend(_)) => AuditFailure::Failed(other.to_string()),
        }
    }

    /// What the call answers: a call that cannot be audited is refused, and
    /// a full or unavailable disk is the retryable `UNAVAILABLE` it is, not a
    /// server defect.
    pub fn into_service_error(self) -> ServiceError {
        match self {
            AuditFailure::Full(c) => ServiceError::Storage(StorageError::Full(c)),
            AuditFailure::Unavailable(c) => ServiceError::Storage(StorageError::Unavailable(c)),
            AuditFailure::Failed(c) => ServiceError::Internal(format!("audit: {c}")),
        }
    }
}

type Ack = oneshot::Sender<Result<(), AuditFailure>>;

/// Calls counted per window: (tenant, principal, method, code) -> the first row and how many.
type Counts = HashMap<(String, String, String, i32), AuditRow>;

/// Where audit rows go; cheap to clone.
#[derive(Debug, Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<(AuditRow, Ack)>,
    counts: Arc<Mutex<Counts>>,
}

impl AuditSink {
    /// Starts the writer task, summarising counted calls every `summary`. It
    /// ends (after writing what is queued and counted) once every sink clone is
    /// dropped; await the handle to be sure the trail is complete.
    pub fn spawn(storage: Arc<dyn Storage>, summary: Duration) -> (Self, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let counts = Arc::new(Mutex::new(Counts::new()));
        let task = tokio::spawn(write_loop(storage, rx, Arc::clone(&counts), summary));
        (Self { tx, counts }, task)
    }

    /// Appends a row and waits until it is durable.
    pub async fn append(&self, row: AuditRow) -> Result<(), AuditFailure> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send((row, ack))
            .await
            .map_err(|_| AuditFailure::Failed("audit writer stopped".to_owned()))?;
        done.await
            .map_err(|_| AuditFailure::Failed("audit writer dropped the row".to_owned()))?
    }

    /// Counts a refused call into its summary row (no I/O).
    pub fn count(&self, row: AuditRow) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let method = if counts.len() >= MAX_SUMMARY_KEYS {
            "other".to_owned()
        } else {
            row.method.clone()
        };
        let key = (
            row.tenant.clone(),
            row.principal.clone(),
            method.clone(),
            row.code,
        );
        counts
            .entry(key)
            .and_modify(|r| r.count = r.count.saturating_add(1))
            .or_insert(AuditRow { method, ..row });
    }
}

fn take_summaries(counts: &Mutex<Counts>) -> Vec<AuditRow> {
    let drained: Vec<AuditRow> = counts
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .drain()
        .map(|(_, row)| row)
        .collect();
    for r in &drained {
        // One line per key and window: the rate-limited log of refused calls.
        tracing::warn!(
            tenant = %r.tenant,
            method = %r.method,
            code = r.code,
            count = r.count,
            "calls refused (unauthenticated or shed) in the last window"
        );
    }
    drained
}

async fn write_loop(
    storage: Arc<dyn Storage>,
    mut rx: mpsc::Receiver<(AuditRow, Ack)>,
    counts: Arc<Mutex<Counts>>,
    summary: Duration,
) {
    let mut tick = tokio::time::interval(summary);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        tokio::select! {
            n = rx.recv_many(&mut batch, MAX_BATCH) => {
                if n == 0 {
                    break;
                }
                let (rows, acks): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
                let n = rows.len();
                let result = storage
                    .append_audit(rows)
                    .await
                    .map_err(|e| AuditFailure::of(&e));
                if let Err(e) = &result {
                    tracing::error!(error = %e, rows = n, "audit write failed");
                }
                for ack in acks {
                    // The caller may have gone away (connection closed); nothing to do.
                    let _ = ack.send(result.clone());
                }
            }
            _ = tick.tick() => write_summaries(storage.as_ref(), &counts).await,
        }
    }
    write_summaries(storage.as_ref(), &counts).await;
}

async fn write_summaries(storage: &dyn Storage, counts: &Mutex<Counts>) {
    let rows = take_summaries(counts);
    if rows.is_empty() {
        return;
    }
    if let Err(e) = storage.append_audit(rows).await {
        tracing::error!(error = %e, "audit summary write failed");
    }
}

//! The audit trail: every call to the tenant API — reads, writes and rejected
//! ones — appends one row (time, tenant, principal, method, resource, status
//! code, call id, idempotency key). No payloads and no free text.
//!
//! [`AuditLayer`] puts an [`AuditNote`] into each request; the auth layer and
//! the handler fill in who called and which resource; when the response is
//! ready the row goes to the [`AuditSink`]. The sink group-commits: rows that
//! arrive while a batch is being written go into the next transaction, so the
//! cost of a durable audit row is shared under load. A response is released
//! only once its audit row is durable; if the audit write fails the call fails
//! (`INTERNAL`) rather than go unrecorded.

use crate::auth::is_tenant_api;
use crate::error::ServiceError;
use crate::storage::{AuditRow, Storage};
use crate::telemetry::{CallId, grpc_code};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tower::{Layer, Service};
use tutti_engine::ids::Timestamp;

/// Rows written in one transaction at most.
const MAX_BATCH: usize = 512;
/// Rows waiting before callers wait for room.
const QUEUE: usize = 4096;

/// What the layers and the handler learn about a call, shared through the
/// request extensions.
#[derive(Debug, Clone, Default)]
pub struct AuditNote(Arc<Mutex<Note>>);

#[derive(Debug, Default)]
struct Note {
    tenant: String,
    principal: String,
    resource: String,
    request_id: Option<String>,
}

impl AuditNote {
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

    /// The row for a finished call (used by the EHR routes' audit middleware).
    pub fn into_row(
        &self,
        method: String,
        code: i32,
        call_id: String,
        time: Timestamp,
    ) -> AuditRow {
        self.row(method, code, call_id, time)
    }

    fn row(&self, method: String, code: i32, call_id: String, time: Timestamp) -> AuditRow {
        self.with(|n| AuditRow {
            time,
            tenant: std::mem::take(&mut n.tenant),
            principal: std::mem::take(&mut n.principal),
            method,
            resource: std::mem::take(&mut n.resource),
            code,
            call_id,
            request_id: n.request_id.take(),
        })
    }
}

type Ack = oneshot::Sender<Result<(), String>>;

/// Where audit rows go; cheap to clone.
#[derive(Debug, Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<(AuditRow, Ack)>,
}

impl AuditSink {
    /// Starts the writer task. It ends (after writing what is queued) once every
    /// sink clone is dropped; await the handle to be sure the trail is complete.
    pub fn spawn(storage: Arc<dyn Storage>) -> (Self, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        (Self { tx }, tokio::spawn(write_loop(storage, rx)))
    }

    /// Appends a row and waits until it is durable.
    pub async fn append(&self, row: AuditRow) -> Result<(), String> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send((row, ack))
            .await
            .map_err(|_| "audit writer stopped".to_owned())?;
        done.await
            .map_err(|_| "audit writer dropped the row".to_owned())?
    }
}

async fn write_loop(storage: Arc<dyn Storage>, mut rx: mpsc::Receiver<(AuditRow, Ack)>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (rows, acks): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
        let n = rows.len();
        let result = storage.append_audit(rows).await.map_err(|e| e.to_string());
        if let Err(e) = &result {
            tracing::error!(error = %e, rows = n, "audit write failed");
        }
        for ack in acks {
            // The caller may have gone away (connection closed); nothing to do.
            let _ = ack.send(result.clone());
        }
    }
}

/// Tower layer that writes an audit row for every tenant-API call.
#[derive(Debug, Clone)]
pub struct AuditLayer {
    sink: AuditSink,
}

impl AuditLayer {
    /// A layer writing to `sink`.
    pub fn new(sink: AuditSink) -> Self {
        Self { sink }
    }
}

impl<S> Layer<S> for AuditLayer {
    type Service = Audit<S>;
    fn layer(&self, inner: S) -> Audit<S> {
        Audit {
            inner,
            sink: self.sink.clone(),
        }
    }
}

/// The service [`AuditLayer`] produces.
#[derive(Debug, Clone)]
pub struct Audit<S> {
    inner: S,
    sink: AuditSink,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

fn now() -> Timestamp {
    crate::convert::wall_clock()
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Audit<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<ReqBody>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let method = req.uri().path().to_owned();
        if !is_tenant_api(&method) {
            return Box::pin(inner.call(req));
        }
        let note = AuditNote::default();
        req.extensions_mut().insert(note.clone());
        let call_id = req
            .extensions()
            .get::<CallId>()
            .map(|c| c.0.clone())
            .unwrap_or_default();
        let sink = self.sink.clone();
        Box::pin(async move {
            let response = inner.call(req).await?;
            let row = note.row(method, grpc_code(&response) as i32, call_id, now());
            match sink.append(row).await {
                Ok(()) => Ok(response),
                Err(cause) => Ok(ServiceError::Internal(format!("audit: {cause}"))
                    .into_status()
                    .into_http()),
            }
        })
    }
}

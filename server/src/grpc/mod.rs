//! The `tutti.v1` service adapters, one file per service. Each handler does
//! four things: validate, convert, call the engine and storage, convert back.
//! What they share lives here: [`App`] (storage, engines, limits, clock),
//! [`Call`] (who is calling, from the auth layer) and [`handle`], which turns a
//! handler's [`ServiceError`] into a status in the one place that does so.

pub mod catalog;
pub mod people;
pub mod recommendation;
pub mod state;

use crate::audit::AuditNote;
use crate::auth::Caller;
use crate::config::{LimitsConfig, TenantMode};
use crate::convert::ids::TenantId;
use crate::ehr::fhir::CodeMap;
use crate::engines::Engines;
use crate::error::{Result, ServiceError};
use crate::storage::Storage;
use crate::validate::Ctx;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use tonic::{Request, Response, Status};
use tutti_engine::Engine;
use tutti_engine::ids::Timestamp;

/// Everything the handlers share.
#[derive(Debug)]
pub struct App {
    /// Durable storage.
    pub storage: Arc<dyn Storage>,
    /// Per-tenant engines.
    pub engines: Arc<Engines>,
    /// Request limits.
    pub limits: LimitsConfig,
    /// Tenants whose mode is set in the configuration; the rest are live.
    pub modes: HashMap<String, TenantMode>,
    /// Observation codes FHIR ingest understands.
    pub fhir_codes: CodeMap,
    /// Counters of recommendations and feedback.
    pub metrics: crate::metrics::Metrics,
}

impl App {
    /// Server time. The one place handlers read the clock (the engine never does).
    pub fn now(&self) -> Timestamp {
        crate::convert::wall_clock()
    }

    /// The tenant's engine.
    pub async fn engine(&self, tenant: &TenantId) -> Result<Arc<Engine>> {
        self.engines.for_tenant(tenant).await
    }

    /// Whether the tenant's platform shows Tutti's ranking (live) or its own choice (shadow).
    pub fn mode(&self, tenant: &TenantId) -> TenantMode {
        self.modes.get(tenant.as_str()).copied().unwrap_or_default()
    }

    /// A validation context for this tenant's engine, at `now`.
    pub fn ctx<'a>(&'a self, engine: &'a Engine, now: Timestamp) -> Ctx<'a> {
        Ctx {
            now,
            engine,
            limits: &self.limits,
        }
    }
}

/// The caller of one request, as the auth layer established it.
#[derive(Debug, Clone)]
pub struct Call {
    /// Tenant every read and write is scoped to.
    pub tenant: TenantId,
    /// Who called.
    pub principal: String,
    note: Option<AuditNote>,
}

impl Call {
    /// A caller established outside the gRPC auth layer (the EHR routes, which
    /// authenticate with the EHR's JWT or an app session instead).
    pub fn new(tenant: TenantId, principal: impl Into<String>, note: Option<AuditNote>) -> Self {
        Self {
            tenant,
            principal: principal.into(),
            note,
        }
    }

    /// Reads the caller from the request extensions. Missing means the service
    /// was mounted without the auth layer: a wiring defect.
    pub fn from_request<T>(request: &Request<T>) -> Result<Self> {
        let caller = request
            .extensions()
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ServiceError::Internal("no caller: auth layer missing".into()))?;
        Ok(Self {
            tenant: caller.tenant,
            principal: caller.principal,
            note: request.extensions().get::<AuditNote>().cloned(),
        })
    }

    /// The call's audit note, if it is audited.
    pub fn note(&self) -> Option<&AuditNote> {
        self.note.as_ref()
    }

    /// Names the resource (and idempotency key) for the audit row.
    pub fn audit(&self, resource: impl Into<String>, request_id: Option<&str>) {
        if let Some(note) = &self.note {
            note.set_resource(resource.into(), request_id);
        }
    }
}

/// Runs a handler body and maps its error to a status.
pub async fn handle<Req, Resp, F, Fut>(
    request: Request<Req>,
    f: F,
) -> std::result::Result<Response<Resp>, Status>
where
    F: FnOnce(Call, Req) -> Fut,
    Fut: Future<Output = Result<Resp>>,
{
    let call = Call::from_request(&request).map_err(ServiceError::into_status)?;
    f(call, request.into_inner())
        .await
        .map(Response::new)
        .map_err(ServiceError::into_status)
}

/// Runs CPU work (engine updates, ranking) on the blocking pool.
pub async fn blocking<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ServiceError::Internal(format!("engine task: {e}")))?
}

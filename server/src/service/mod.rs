//! What every door into Tutti shares: the handlers behind the `tutti.v1`
//! services, called by the gRPC adapters ([`crate::grpc`]) and the EHR routes
//! ([`crate::ehr`]) alike, so a CDS card and a `Recommend` call take one path.
//!
//! A handler takes a parsed command ([`crate::command`]) and does the rest:
//! read, call the engine, store, convert back. What handlers share lives
//! here: [`App`] (storage, engines, limits, clock), [`Call`] (who is calling)
//! and [`blocking`]. It must not know about a transport (no tonic, no HTTP).

pub mod catalog;
pub mod people;
pub mod recommendation;
pub mod state;

use crate::audit::AuditNote;
use crate::config::{LimitsConfig, TenantMode};
use crate::convert::ids::TenantId;
use crate::engines::Engines;
use crate::error::{Result, ServiceError};
use crate::storage::Storage;
use crate::validate::Ctx;
use std::collections::HashMap;
use std::sync::Arc;
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
    /// Counters of recommendations and feedback.
    pub metrics: crate::metrics::Metrics,
    /// Writes to one person, one at a time on this replica.
    pub queue: crate::queue::PersonQueue,
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

    /// A parsing context for this tenant's engine, at `now`.
    pub fn ctx<'a>(&'a self, engine: &'a Engine, now: Timestamp) -> Ctx<'a> {
        Ctx {
            now,
            engine,
            limits: &self.limits,
        }
    }
}

/// The caller of one request, as authentication established it.
#[derive(Debug, Clone)]
pub struct Call {
    /// Tenant every read and write is scoped to.
    pub tenant: TenantId,
    /// Who called.
    pub principal: String,
    note: Option<AuditNote>,
}

impl Call {
    /// A caller and the call's audit note (if the call is audited).
    pub fn new(tenant: TenantId, principal: impl Into<String>, note: Option<AuditNote>) -> Self {
        Self {
            tenant,
            principal: principal.into(),
            note,
        }
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

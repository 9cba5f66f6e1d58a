//! Back-pressure: a global and a per-tenant limit on tenant-API calls in
//! flight, as a tower layer after authentication (it needs the tenant).
//!
//! - A tenant with `limits.max_in_flight_per_tenant` calls running gets
//!   `RESOURCE_EXHAUSTED` at once: its own quota, so one busy tenant cannot
//!   take every slot from the others.
//! - Past `limits.max_in_flight` a call waits up to `limits.queue_ms` (never
//!   past its deadline) for a slot, then gets `UNAVAILABLE`: the server, not
//!   the caller, is the bottleneck.
//!
//! Both carry `google.rpc.RetryInfo` (`limits.retry_after_ms`) so clients back
//! off instead of queueing blind, and are counted (`tutti.shed`), not audited
//! one by one (see [`crate::audit`]).

use crate::audit::AuditNote;
use crate::auth::{Caller, is_tenant_api};
use crate::config::LimitsConfig;
use crate::convert::ids::TenantId;
use crate::error::ServiceError;
use crate::metrics::Metrics;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::{Layer, Service};

/// Tenants' semaphores kept before idle ones are dropped.
const MAX_TENANTS: usize = 10_000;

/// The limits and their current use.
#[derive(Debug)]
pub struct Limiter {
    global: Arc<Semaphore>,
    per_tenant: usize,
    tenants: Mutex<HashMap<TenantId, Arc<Semaphore>>>,
    queue: Duration,
    retry_after: Duration,
}

impl Limiter {
    /// From the (validated) limits.
    pub fn new(limits: &LimitsConfig) -> Self {
        Self {
            global: Arc::new(Semaphore::new(limits.max_in_flight)),
            per_tenant: limits.max_in_flight_per_tenant,
            tenants: Mutex::new(HashMap::new()),
            queue: Duration::from_millis(limits.queue_ms),
            retry_after: Duration::from_millis(limits.retry_after_ms),
        }
    }

    fn tenant(&self, tenant: &TenantId) -> Arc<Semaphore> {
        let mut map = self.tenants.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_TENANTS && !map.contains_key(tenant) {
            let full = self.per_tenant;
            map.retain(|_, s| s.available_permits() < full);
        }
        Arc::clone(
            map.entry(tenant.clone())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_tenant))),
        )
    }

    /// Slots for one call of `tenant`, or why it is shed.
    async fn admit(
        &self,
        tenant: &TenantId,
    ) -> Result<(OwnedSemaphorePermit, OwnedSemaphorePermit), (&'static str, ServiceError)> {
        let own = self
            .tenant(tenant)
            .try_acquire_owned()
            .map_err(|_| ("tenant", ServiceError::TenantBusy(self.retry_after)))?;
        let mut wait = self.queue;
        if let Some(deadline) = crate::deadline::current() {
            wait = wait.min(deadline.saturating_duration_since(tokio::time::Instant::now()));
        }
        let global = match Arc::clone(&self.global).try_acquire_owned() {
            Ok(p) => p,
            Err(_) => tokio::time::timeout(wait, Arc::clone(&self.global).acquire_owned())
                .await
                .ok()
                .and_then(Result::ok)
                .ok_or(("global", ServiceError::Overloaded(self.retry_after)))?,
        };
        Ok((own, global))
    }
}

/// Tower layer applying a [`Limiter`].
#[derive(Debug, Clone)]
pub struct ShedLayer {
    limiter: Arc<Limiter>,
    metrics: Metrics,
}

impl ShedLayer {
    /// A layer admitting calls through `limiter`.
    pub fn new(limiter: Arc<Limiter>, metrics: Metrics) -> Self {
        Self { limiter, metrics }
    }
}

impl<S> Layer<S> for ShedLayer {
    type Service = Shed<S>;
    fn layer(&self, inner: S) -> Shed<S> {
        Shed {
            inner,
            limiter: Arc::clone(&self.limiter),
            metrics: self.metrics.clone(),
        }
    }
}

/// The service [`ShedLayer`] produces.
#[derive(Debug, Clone)]
pub struct Shed<S> {
    inner: S,
    limiter: Arc<Limiter>,
    metrics: Metrics,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Shed<S>
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

    fn call(&mut self, req: http::Request<ReqBody>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let tenant = req.extensions().get::<Caller>().map(|c| c.tenant.clone());
        let (Some(tenant), true) = (tenant, is_tenant_api(req.uri().path())) else {
            return Box::pin(inner.call(req));
        };
        let limiter = Arc::clone(&self.limiter);
        let metrics = self.metrics.clone();
        Box::pin(async move {
            match limiter.admit(&tenant).await {
                Ok(permits) => {
                    let response = inner.call(req).await;
                    drop(permits);
                    response
                }
                Err((scope, e)) => {
                    if let Some(note) = req.extensions().get::<AuditNote>() {
                        note.mark_shed();
                    }
                    metrics.shed(scope, req.uri().path().trim_start_matches('/'));
                    Ok(e.into_status().into_http())
                }
            }
        })
    }
}

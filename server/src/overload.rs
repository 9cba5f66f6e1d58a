//! Back-pressure: a global and a per-tenant limit on tenant-API calls in
//! flight, applied by a layer after authentication (it needs the tenant:
//! [`crate::middleware::shed`]).
//!
//! A call past either limit waits up to `limits.queue_ms` in all (never past
//! its deadline) for a slot, then is shed:
//! - past `limits.max_in_flight_per_tenant` with `RESOURCE_EXHAUSTED`: its
//!   own quota, so one busy tenant cannot take every slot from the others;
//! - past `limits.max_in_flight` with `UNAVAILABLE`: the server, not the
//!   caller, is the bottleneck.
//!
//! The wait is what lets a burst through: a platform running 200 workers
//! against one tenant keeps 200 calls in flight, each a few milliseconds
//! long, and shedding the 129th at once turned a busy minute into errors
//! (a simulated clinic of 200 people in lockstep failed this way).
//!
//! Both carry `google.rpc.RetryInfo` (`limits.retry_after_ms`) so clients back
//! off instead of queueing blind, and are counted (`tutti.shed`), not audited
//! one by one (see [`crate::audit`]).

use crate::config::LimitsConfig;
use crate::convert::ids::TenantId;
use crate::error::ServiceError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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

    /// Slots for one call of `tenant`, or why it is shed (and which limit:
    /// `tenant` or `global`).
    pub async fn admit(
        &self,
        tenant: &TenantId,
    ) -> Result<(OwnedSemaphorePermit, OwnedSemaphorePermit), (&'static str, ServiceError)> {
        let mut wait = self.queue;
        if let Some(deadline) = crate::deadline::current() {
            wait = wait.min(deadline.saturating_duration_since(tokio::time::Instant::now()));
        }
        let until = tokio::time::Instant::now() + wait;
        let own = acquire(self.tenant(tenant), until)
            .await
            .ok_or(("tenant", ServiceError::TenantBusy(self.retry_after)))?;
        let global = acquire(Arc::clone(&self.global), until)
            .await
            .ok_or(("global", ServiceError::Overloaded(self.retry_after)))?;
        Ok((own, global))
    }
}

/// A slot at once, or the first one freed before `until`.
async fn acquire(
    semaphore: Arc<Semaphore>,
    until: tokio::time::Instant,
) -> Option<OwnedSemaphorePermit> {
    match Arc::clone(&semaphore).try_acquire_owned() {
        Ok(p) => Some(p),
        Err(_) => tokio::time::timeout_at(until, semaphore.acquire_owned())
            .await
            .ok()
            .and_then(Result::ok),
    }
}

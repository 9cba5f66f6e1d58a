//! One [`Engine`] per tenant: the built-in catalogues plus the tenant's own
//! interventions, with the tenant's engine configuration. Engines are immutable
//! and cached; a change to a tenant's catalogue invalidates its entry and the
//! next request builds a new one. Tenants with no interventions of their own and
//! the default configuration share one engine.
//!
//! The population model can be swapped while serving ([`Engines::reload`], see
//! [`crate::model`]): the base engine is replaced and every cached tenant
//! engine dropped, and an epoch counter keeps an engine that was being built
//! from the old model out of the cache.
//!
//! # Online pooling
//! With `[pooling] enabled`, each tenant is served the base model refitted on
//! its own people ([`tutti_engine::train::pool`]): after enough recorded
//! assessments and feedback ([`Engines::note_writes`]) a background task
//! reads the most recently updated people's stored states, refits on the
//! blocking pool and swaps the tenant's engine; requests keep the engine they
//! started with. The pooled model's version is `<base>+pool.<evidence>.<digest>`
//! (the assessments and reports it was fitted on, and a digest of its
//! content), so every decision names exactly what ranked it. A reload or a
//! catalogue change drops the tenant's pooled model (it was fitted against the
//! old one) and the next writes refit it.

use crate::config::{Config, PoolingConfig};
use crate::convert::FromWire as _;
use crate::convert::ids::TenantId;
use crate::error::{Result, ServiceError};
use crate::storage::{AuditRow, Storage, StorageError};
use prost::Message;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};
use tutti_engine::Engine;
use tutti_engine::catalog::Intervention;
use tutti_engine::config::EngineConfig;
use tutti_engine::population::PopulationModel;
use tutti_engine::train::{self, Collector};
use tutti_proto::v1 as pb;

/// The audit trail's principal for a pooling refit's read of people's states.
pub const POOLING_PRINCIPAL: &str = "tutti:pooling";
/// The audit trail's method for a pooling refit.
pub const POOLING_METHOD: &str = "tutti.internal/PoolingRefit";

/// Per-tenant engines.
#[derive(Debug)]
pub struct Engines {
    /// Built-in catalogues, population model and the default configuration.
    base: RwLock<Arc<Engine>>,
    /// Tenants whose configuration differs from `[engine]`.
    tenant_configs: HashMap<String, EngineConfig>,
    storage: Arc<dyn Storage>,
    cache: RwLock<Cache>,
    pooling: PoolingConfig,
    /// Per tenant: what is due for pooling.
    pools: Mutex<HashMap<TenantId, PoolState>>,
}

/// A tenant's pooling progress.
#[derive(Debug, Default)]
struct PoolState {
    /// Assessments and feedback reports recorded since the last refit began.
    writes: u64,
    /// The evidence the last refit read.
    evidence: u64,
    /// A refit is running.
    running: bool,
    /// A person was erased since the running refit read the states.
    erased: bool,
    /// When the latest refit started.
    last_start: Option<Instant>,
    /// A refit is due but waits out `pooling.min_interval_seconds`.
    waiting: bool,
    /// How long the latest finished refit took.
    last_took: Duration,
}

/// A refit waits at least this many times as long as the last one took, so
/// background refits take at most a tenth of a core whatever the write rate:
/// at one refit a second, a tenant of 200 people under 64 writing callers
/// lost 15-27% of its write throughput to them.
const REFIT_SPACING: f64 = 9.0;

impl PoolState {
    /// Marks a refit as started (it reads every state from now on).
    fn begin(&mut self) {
        self.running = true;
        self.waiting = false;
        self.writes = 0;
        self.erased = false;
        self.last_start = Some(Instant::now());
    }

    /// When a due refit may start: now, or after what is left of `interval`.
    fn delay(&self, interval: Duration) -> Duration {
        self.last_start
            .map_or(Duration::ZERO, |t| interval.saturating_sub(t.elapsed()))
    }

    /// Whether enough writes arrived since the last refit began to fit again;
    /// if so marks the refit started (no delay) or waiting (the delay).
    fn schedule(&mut self, pooling: &PoolingConfig) -> Option<Duration> {
        let need = u64::from(pooling.min_writes)
            .max((pooling.refit_share * self.evidence as f64).ceil() as u64);
        if self.writes < need {
            return None;
        }
        let interval = Duration::from_secs(pooling.min_interval_seconds)
            .max(self.last_took.mul_f64(REFIT_SPACING));
        let delay = self.delay(interval);
        if delay.is_zero() {
            self.begin();
        } else {
            self.waiting = true;
        }
        Some(delay)
    }

    /// A refit ended (with the evidence it read, if it succeeded): when the
    /// next one starts, if one is due. Writes and erasures that arrived while
    /// it ran were counted but started nothing, so nothing is left unfitted
    /// for want of a later write.
    fn finish(&mut self, evidence: Option<u64>, pooling: &PoolingConfig) -> Option<Duration> {
        if let Some(e) = evidence {
            self.evidence = e;
        }
        self.running = false;
        self.last_took = self.last_start.map_or(Duration::ZERO, |t| t.elapsed());
        if self.erased {
            // Someone was erased while this fit read the states.
            self.begin();
            return Some(Duration::ZERO);
        }
        self.schedule(pooling)
    }
}

#[derive(Debug, Default)]
struct Cache {
    engines: HashMap<TenantId, Arc<Engine>>,
    /// Bumped on every model reload.
    epoch: u64,
    /// Bumped on every invalidation, so an engine built from a catalogue read
    /// before a change is not cached after it.
    generations: HashMap<TenantId, u64>,
    /// Tenants' pooled population models (fitted at the current epoch and generation).
    pooled: HashMap<TenantId, Arc<PopulationModel>>,
}

impl Engines {
    /// Builds the shared base engine (built-in catalogues) with the configured
    /// default engine parameters and `population` (the catalogue prior when
    /// `None`). CPU work: runs on the blocking pool.
    pub async fn new(
        config: &Config,
        storage: Arc<dyn Storage>,
        population: Option<PopulationModel>,
    ) -> Result<Self> {
        let defaults = config.engine.clone();
        let base = tokio::task::spawn_blocking(move || {
            let builtin = Engine::with_defaults();
            let population = population.unwrap_or_else(|| builtin.population().clone());
            Engine::new(
                defaults,
                builtin.processes().clone(),
                builtin.interventions().clone(),
                population,
            )
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("building the engine: {e}")))??;
        let mut tenant_configs = HashMap::new();
        for tenant in config.tenants.keys() {
            let c = config
                .engine_for(tenant)
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            if c != config.engine {
                tenant_configs.insert(tenant.clone(), c);
            }
        }
        Ok(Self {
            base: RwLock::new(Arc::new(base)),
            tenant_configs,
            storage,
            cache: RwLock::new(Cache::default()),
            pooling: config.pooling.clone(),
            pools: Mutex::new(HashMap::new()),
        })
    }

    /// The engine with the built-in catalogues and default configuration.
    pub fn base(&self) -> Arc<Engine> {
        Arc::clone(&self.base.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Serves `population` from now on; returns the new model version. Fails,
    /// leaving the current model in place, if it does not fit the catalogues.
    pub async fn reload(&self, population: PopulationModel) -> Result<String> {
        let base = self.base();
        let built = tokio::task::spawn_blocking(move || {
            Engine::new(
                base.config().clone(),
                base.processes().clone(),
                base.interventions().clone(),
                population,
            )
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("building the engine: {e}")))??;
        let version = built.model_version();
        let mut cache = self.cache.write().unwrap_or_else(PoisonError::into_inner);
        *self.base.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(built);
        cache.engines.clear();
        cache.pooled.clear();
        cache.epoch += 1;
        drop(cache);
        self.reset_pools(None);
        Ok(version)
    }

    /// The tenant's engine (its pooled model when it has one), built on first use.
    pub async fn for_tenant(&self, tenant: &TenantId) -> Result<Arc<Engine>> {
        let (generation, epoch, base, pooled) = {
            let cache = self.cache.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(e) = cache.engines.get(tenant) {
                return Ok(Arc::clone(e));
            }
            // Read under the cache lock: reload swaps the base under it too,
            // so base and epoch belong together.
            (
                cache.generations.get(tenant).copied().unwrap_or(0),
                cache.epoch,
                self.base(),
                cache.pooled.get(tenant).cloned(),
            )
        };
        let engine = self.build(tenant, base, pooled).await?;
        let mut cache = self.cache.write().unwrap_or_else(PoisonError::into_inner);
        if cache.generations.get(tenant).copied().unwrap_or(0) == generation && cache.epoch == epoch
        {
            cache.engines.insert(tenant.clone(), Arc::clone(&engine));
        }
        Ok(engine)
    }

    /// The tenant's engine on `base`'s population, or on `population` when given.
    async fn build(
        &self,
        tenant: &TenantId,
        base: Arc<Engine>,
        population: Option<Arc<PopulationModel>>,
    ) -> Result<Arc<Engine>> {
        let own = self.own_interventions(tenant).await?;
        let config = self.tenant_configs.get(tenant.as_str()).cloned();
        if own.is_empty() && config.is_none() && population.is_none() {
            return Ok(base);
        }
        let built = tokio::task::spawn_blocking(move || {
            let catalog = if own.is_empty() {
                base.interventions().clone()
            } else {
                base.interventions().with_additions(own, base.processes())?
            };
            Engine::new(
                config.unwrap_or_else(|| base.config().clone()),
                base.processes().clone(),
                catalog,
                population.map_or_else(|| base.population().clone(), |p| (*p).clone()),
            )
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("building a tenant engine: {e}")))??;
        Ok(Arc::new(built))
    }

    /// Forgets the tenant's engine (and pooled model) after its catalogue changed.
    pub fn invalidate(&self, tenant: &TenantId) {
        let mut cache = self.cache.write().unwrap_or_else(PoisonError::into_inner);
        cache.engines.remove(tenant);
        cache.pooled.remove(tenant);
        *cache.generations.entry(tenant.clone()).or_insert(0) += 1;
        drop(cache);
        self.reset_pools(Some(tenant));
    }

    /// Counts `n` recorded assessments or feedback reports for the tenant and
    /// starts a background refit of its pooled model when one is due: at
    /// once, or when `pooling.min_interval_seconds` since the last one have
    /// passed (a burst of writes then costs one refit, not one per threshold,
    /// and the last writes of a burst are still fitted). Writes that make a
    /// refit due while one runs start the next when it ends.
    pub fn note_writes(self: &Arc<Self>, tenant: &TenantId, n: u64) {
        if !self.pooling.enabled || n == 0 {
            return;
        }
        let delay = {
            let mut pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
            let st = pools.entry(tenant.clone()).or_default();
            st.writes += n;
            if st.running || st.waiting {
                return;
            }
            match st.schedule(&self.pooling) {
                Some(delay) => delay,
                None => return,
            }
        };
        self.spawn_refit(tenant.clone(), delay);
    }

    /// A person of the tenant was erased: refit now, so their profile leaves
    /// the pooled model (after the running refit, if one read them).
    pub fn note_erasure(self: &Arc<Self>, tenant: &TenantId) {
        if !self.pooling.enabled {
            return;
        }
        {
            let mut pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
            let st = pools.entry(tenant.clone()).or_default();
            st.erased = true;
            // A running refit goes again; a waiting one reads after the erasure.
            if st.running || st.waiting {
                return;
            }
            st.begin();
        }
        self.spawn_refit(tenant.clone(), Duration::ZERO);
    }

    /// Refits after `delay` (the refit is marked waiting until then, running
    /// from then on), and again, for as long as erasures or enough writes
    /// arrive while it fits: nothing recorded is left unfitted for want of a
    /// later write.
    fn spawn_refit(self: &Arc<Self>, tenant: TenantId, delay: Duration) {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let mut delay = delay;
            loop {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                    let mut pools = this.pools.lock().unwrap_or_else(PoisonError::into_inner);
                    let st = pools.entry(tenant.clone()).or_default();
                    st.begin();
                }
                let outcome = this.refit(&tenant).await;
                let next = {
                    let mut pools = this.pools.lock().unwrap_or_else(PoisonError::into_inner);
                    let st = pools.entry(tenant.clone()).or_default();
                    let evidence = outcome
                        // Transient (storage busy, a catalogue edit mid-way):
                        // the next writes try again.
                        .inspect_err(|e| {
                            tracing::warn!(tenant = %tenant, error = %e, "pooling refit failed");
                        })
                        .ok();
                    st.finish(evidence, &this.pooling)
                };
                match next {
                    Some(d) => delay = d,
                    None => break,
                }
            }
        });
    }

    /// Refits the tenant's pooled model from its people's stored states and
    /// serves it; returns the evidence read.
    async fn refit(&self, tenant: &TenantId) -> Result<u64> {
        let (generation, epoch, base) = {
            let cache = self.cache.read().unwrap_or_else(PoisonError::into_inner);
            (
                cache.generations.get(tenant).copied().unwrap_or(0),
                cache.epoch,
                self.base(),
            )
        };
        let unpooled = self.build(tenant, base, None).await?;
        let states = self
            .storage
            .recent_states(tenant, self.pooling.max_people)
            .await?;
        let evidence: u64 = states.iter().map(train::evidence).sum();
        if states.len() < self.pooling.min_people as usize {
            return Ok(evidence);
        }
        // Reading people's states is an access to health data like any
        // caller's: it goes in the tenant's audit trail.
        self.storage
            .append_audit(vec![AuditRow {
                time: crate::convert::wall_clock(),
                tenant: tenant.as_str().to_owned(),
                principal: POOLING_PRINCIPAL.to_owned(),
                method: POOLING_METHOD.to_owned(),
                resource: format!("people ({} most recently updated)", states.len()),
                code: 0,
                call_id: uuid::Uuid::new_v4().to_string(),
                request_id: None,
                trace_id: String::new(),
                count: 1,
            }])
            .await?;
        let people = states.len();
        let started = Instant::now();
        let engine = Arc::clone(&unpooled);
        let population = tokio::task::spawn_blocking(move || {
            let mut rows = Collector::new(&engine);
            for (i, state) in states.into_iter().enumerate() {
                rows.add_state(i.to_string(), state);
            }
            let (mut model, _) = train::pool(
                String::new(),
                engine.population(),
                &rows.finish(),
                engine.interventions(),
                engine.processes(),
            )?;
            let digest = Sha256::digest(serde_json::to_vec(&model).unwrap_or_default());
            model.version = format!(
                "{}+pool.{evidence}.{}",
                engine.population().version,
                digest
                    .iter()
                    .take(4)
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            );
            Ok::<_, tutti_engine::EngineError>(model)
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("pooling: {e}")))??;
        let version = population.version.clone();
        let mut cache = self.cache.write().unwrap_or_else(PoisonError::into_inner);
        // A reload or catalogue change while fitting made this fit stale.
        if cache.generations.get(tenant).copied().unwrap_or(0) == generation && cache.epoch == epoch
        {
            cache.pooled.insert(tenant.clone(), Arc::new(population));
            cache.engines.remove(tenant);
            tracing::info!(
                tenant = %tenant, version = %version, people, evidence,
                seconds = started.elapsed().as_secs_f64(),
                "tenant population refitted on its people"
            );
            Ok(evidence)
        } else {
            // Nothing was installed: the next writes refit against the new model.
            Ok(0)
        }
    }

    /// Starts pooling over for `tenant` (or every tenant): its model is gone.
    fn reset_pools(&self, tenant: Option<&TenantId>) {
        let mut pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        for (t, st) in pools.iter_mut() {
            if tenant.is_none_or(|x| x == t) {
                st.evidence = 0;
                // Due on the next write.
                st.writes = st.writes.max(u64::from(self.pooling.min_writes));
            }
        }
    }

    async fn own_interventions(&self, tenant: &TenantId) -> Result<Vec<Intervention>> {
        self.storage
            .list_interventions(tenant)
            .await?
            .into_iter()
            .map(|stored| {
                let wire = pb::Intervention::decode(stored.payload.as_slice()).map_err(|e| {
                    StorageError::Corrupt(format!("intervention {}: {e}", stored.id))
                })?;
                Intervention::from_wire(&wire).map_err(|e| {
                    ServiceError::from(StorageError::Corrupt(format!(
                        "intervention {}: {e}",
                        stored.id
                    )))
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pooling(min_interval_seconds: u64) -> PoolingConfig {
        PoolingConfig {
            min_writes: 20,
            refit_share: 0.1,
            min_interval_seconds,
            ..PoolingConfig::default()
        }
    }

    /// A refit running; `writes` arrive while it fits (counted, starting nothing).
    fn running_with(writes: u64) -> PoolState {
        let mut st = PoolState {
            writes: 20,
            ..PoolState::default()
        };
        assert_eq!(st.schedule(&pooling(5)), Some(Duration::ZERO));
        assert!(st.running && st.writes == 0);
        st.writes += writes;
        st
    }

    #[test]
    fn writes_that_arrive_during_a_refit_start_the_next_when_it_ends() {
        let cfg = pooling(5);
        let mut st = running_with(25);
        // The first refit read 100 assessments and reports: 25 more are due.
        let next = st.finish(Some(100), &cfg).expect("a refit is due");
        // Within the minimum interval of the last start: it waits.
        assert!(next > Duration::ZERO && next <= Duration::from_secs(5));
        assert!(st.waiting && !st.running);
        assert_eq!(st.evidence, 100);

        // With no minimum interval (and a refit that took no time) it starts at once.
        let mut st = running_with(25);
        st.last_start = None;
        assert_eq!(st.finish(Some(100), &pooling(0)), Some(Duration::ZERO));
        assert!(st.running && st.writes == 0);
    }

    #[test]
    fn a_slow_refit_spaces_out_the_next_beyond_the_minimum_interval() {
        // As if the refit just finished had taken a second: the next one due
        // waits about nine, though no minimum interval is configured.
        let mut st = PoolState {
            writes: 50,
            evidence: 100,
            last_took: Duration::from_secs(1),
            last_start: Some(Instant::now()),
            ..PoolState::default()
        };
        let wait = st.schedule(&pooling(0)).expect("due");
        assert!(
            wait > Duration::from_secs(8) && wait <= Duration::from_secs(9),
            "{wait:?}"
        );
        assert!(st.waiting);
    }

    #[test]
    fn a_refit_ends_idle_when_too_few_writes_arrived() {
        let mut st = running_with(5);
        assert_eq!(st.finish(Some(1000), &pooling(5)), None);
        assert!(!st.running && !st.waiting);
        // Writes are still counted toward the next: 100 of 1000 make it due.
        assert_eq!(st.writes, 5);
    }

    #[test]
    fn an_erasure_during_a_refit_refits_at_once_even_when_it_failed() {
        let mut st = running_with(0);
        st.erased = true;
        assert_eq!(st.finish(None, &pooling(5)), Some(Duration::ZERO));
        assert!(st.running && !st.erased);
        assert_eq!(st.evidence, 0, "a failed refit keeps the evidence it had");
    }
}

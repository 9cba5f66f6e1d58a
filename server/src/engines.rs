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

use crate::config::Config;
use crate::convert::FromWire as _;
use crate::convert::ids::TenantId;
use crate::error::{Result, ServiceError};
use crate::storage::{Storage, StorageError};
use prost::Message;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use tutti_engine::Engine;
use tutti_engine::catalog::Intervention;
use tutti_engine::config::EngineConfig;
use tutti_engine::population::PopulationModel;
use tutti_proto::v1 as pb;

/// Per-tenant engines.
#[derive(Debug)]
pub struct Engines {
    /// Built-in catalogues, population model and the default configuration.
    base: RwLock<Arc<Engine>>,
    /// Tenants whose configuration differs from `[engine]`.
    tenant_configs: HashMap<String, EngineConfig>,
    storage: Arc<dyn Storage>,
    cache: RwLock<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    engines: HashMap<TenantId, Arc<Engine>>,
    /// Bumped on every model reload.
    epoch: u64,
    /// Bumped on every invalidation, so an engine built from a catalogue read
    /// before a change is not cached after it.
    generations: HashMap<TenantId, u64>,
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
        cache.epoch += 1;
        Ok(version)
    }

    /// The tenant's engine, built on first use.
    pub async fn for_tenant(&self, tenant: &TenantId) -> Result<Arc<Engine>> {
        let (generation, epoch, base) = {
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
            )
        };
        let own = self.own_interventions(tenant).await?;
        let config = self.tenant_configs.get(tenant.as_str()).cloned();
        let engine = if own.is_empty() && config.is_none() {
            base
        } else {
            let built = tokio::task::spawn_blocking(move || {
                let catalog = base.interventions().with_additions(own, base.processes())?;
                Engine::new(
                    config.unwrap_or_else(|| base.config().clone()),
                    base.processes().clone(),
                    catalog,
                    base.population().clone(),
                )
            })
            .await
            .map_err(|e| ServiceError::Internal(format!("building a tenant engine: {e}")))??;
            Arc::new(built)
        };
        let mut cache = self.cache.write().unwrap_or_else(PoisonError::into_inner);
        if cache.generations.get(tenant).copied().unwrap_or(0) == generation && cache.epoch == epoch
        {
            cache.engines.insert(tenant.clone(), Arc::clone(&engine));
        }
        Ok(engine)
    }

    /// Forgets the tenant's engine after its catalogue changed.
    pub fn invalidate(&self, tenant: &TenantId) {
        let mut cache = self.cache.write().unwrap_or_else(PoisonError::into_inner);
        cache.engines.remove(tenant);
        *cache.generations.entry(tenant.clone()).or_insert(0) += 1;
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

//! The model layer: one tenant's validated configuration, catalogues and
//! population model, and what is derived from them once (the catalogue
//! resolved to positions, the neighbour index, the value unit of the map).
//! Ranking, learning and insights sit above it and read it; it knows nothing
//! about any person.

use crate::catalog::{InterventionCatalog, ProcessCatalog};
use crate::config::{EngineConfig, fnv1a64};
use crate::error::Result;
use crate::network::{self, NetworkEstimate, NetworkPrior, NetworkStats};
use crate::population::{NeighbourIndex, PopulationModel};
use std::sync::Arc;

/// The intervention catalogue resolved to positions once, so ranking never
/// hashes or compares id strings in its inner loops.
#[derive(Debug)]
pub(crate) struct CompiledCatalog {
    /// Per intervention (catalogue order).
    pub items: Vec<CompiledIntervention>,
    /// Distinct families.
    pub families: usize,
}

/// One intervention resolved to positions.
#[derive(Debug)]
pub(crate) struct CompiledIntervention {
    /// Family index.
    pub family: usize,
    /// `(process index, catalogue weight)` of each target.
    pub targets: Vec<(usize, f64)>,
    /// Population mean gain when done (trained, else the catalogue's prior,
    /// its spread shrunk by `catalog_trust`).
    pub effect: f64,
}

impl CompiledCatalog {
    fn new(
        interventions: &InterventionCatalog,
        processes: &ProcessCatalog,
        population: &PopulationModel,
    ) -> Self {
        let mut families: Vec<&str> = Vec::new();
        let r = &population.response;
        let all = interventions.all();
        let catalogue_mean =
            all.iter().map(|iv| iv.prior_effect).sum::<f64>() / all.len().max(1) as f64;
        let items = interventions
            .all()
            .iter()
            .map(|iv| {
                let family = match families.iter().position(|f| *f == iv.family) {
                    Some(i) => i,
                    None => {
                        families.push(&iv.family);
                        families.len() - 1
                    }
                };
                let prior = catalogue_mean + r.catalog_trust * (iv.prior_effect - catalogue_mean);
                let effect = population.population_effect(&iv.id, prior);
                CompiledIntervention {
                    family,
                    // The catalogue was validated against these processes.
                    targets: iv
                        .targets
                        .iter()
                        .filter_map(|t| processes.index_of(&t.process).map(|p| (p, t.weight)))
                        .collect(),
                    effect,
                }
            })
            .collect();
        Self {
            items,
            families: families.len(),
        }
    }
}

/// A tenant's model: configuration, catalogues, population model and what is
/// derived from them. Immutable; a changed catalogue or configuration makes a
/// new one.
#[derive(Debug, Clone)]
pub struct Model {
    pub(crate) config: EngineConfig,
    pub(crate) processes: ProcessCatalog,
    pub(crate) interventions: InterventionCatalog,
    pub(crate) population: PopulationModel,
    pub(crate) compiled: Arc<CompiledCatalog>,
    /// Within-person variance of each network variable (lagged network prior).
    pub(crate) variance: Vec<f64>,
    /// Innovation variance of each network variable.
    pub(crate) innovation_variance: Vec<f64>,
    pub(crate) neighbours: Option<Arc<NeighbourIndex>>,
    /// Population value of an average process, the unit of relative values.
    pub(crate) value_unit: f64,
    pub(crate) version: String,
    /// The version plus a fingerprint of the catalogue: what a cached
    /// posterior must have been computed with.
    pub(crate) cache_tag: String,
}

impl Model {
    /// Builds and validates a model.
    pub fn new(
        config: EngineConfig,
        processes: ProcessCatalog,
        interventions: InterventionCatalog,
        population: PopulationModel,
    ) -> Result<Self> {
        config.validate()?;
        population.validate(&processes)?;
        let version = format!("{}+cfg.{}", population.version, config.digest());
        let ids: Vec<&str> = interventions
            .all()
            .iter()
            .map(|iv| iv.id.as_str())
            .chain(processes.all().iter().map(|p| p.id.as_str()))
            .collect();
        let fingerprint = fnv1a64(ids.join(",").as_bytes());
        Ok(Self {
            variance: population.within_person_variance(),
            innovation_variance: population.innovation_variance(),
            neighbours: NeighbourIndex::new(&population).map(Arc::new),
            value_unit: population.map.value_unit(),
            compiled: Arc::new(CompiledCatalog::new(
                &interventions,
                &processes,
                &population,
            )),
            cache_tag: format!("{version}/{fingerprint:016x}"),
            version,
            config,
            processes,
            interventions,
            population,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }
    /// The process catalogue.
    pub fn processes(&self) -> &ProcessCatalog {
        &self.processes
    }
    /// The intervention catalogue.
    pub fn interventions(&self) -> &InterventionCatalog {
        &self.interventions
    }
    /// The population model.
    pub fn population(&self) -> &PopulationModel {
        &self.population
    }
    /// Version of the model that makes decisions: the population model's
    /// version plus a digest of the configuration.
    pub fn version(&self) -> &str {
        &self.version
    }
    /// Network variables (`2P + 1`).
    pub(crate) fn variables(&self) -> usize {
        network::variable_count(self.processes.len())
    }
    /// The lagged network rows `targets` of `stats` under the population prior.
    pub(crate) fn estimate_network(
        &self,
        stats: &NetworkStats,
        targets: &[usize],
    ) -> NetworkEstimate {
        network::estimate(
            stats,
            NetworkPrior {
                coefficients: &self.population.network,
                variance: &self.variance,
                innovation_variance: &self.innovation_variance,
            },
            self.config.network_shrinkage,
            targets,
        )
    }
    pub(crate) fn compiled(&self) -> &CompiledCatalog {
        &self.compiled
    }
    pub(crate) fn neighbours(&self) -> Option<&NeighbourIndex> {
        self.neighbours.as_deref()
    }
}

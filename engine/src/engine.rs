//! The [`Engine`] facade: one validated configuration, catalogue and population
//! model, and the operations the server, tools and benches call on a
//! [`PersonState`]. `Engine` is `Send + Sync` and immutable; a tenant whose
//! catalogue or configuration changes gets a new one.

use crate::catalog::{Condition, InterventionCatalog, ProcessCatalog};
use crate::config::EngineConfig;
use crate::error::Result;
use crate::ids::{InterventionId, Timestamp};
use crate::insights::Insights;
use crate::observe::{Assessment, Feedback};
use crate::rank::{Ranking, RecommendQuery};
use crate::response::PopulationModel;
use crate::state::PersonState;

/// The recommendation engine for one tenant.
#[derive(Debug, Clone)]
pub struct Engine {
    config: EngineConfig,
    processes: ProcessCatalog,
    interventions: InterventionCatalog,
    population: PopulationModel,
}

impl Engine {
    /// Builds an engine; fails if the configuration or catalogues are inconsistent.
    pub fn new(
        config: EngineConfig,
        processes: ProcessCatalog,
        interventions: InterventionCatalog,
        population: PopulationModel,
    ) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            processes,
            interventions,
            population,
        })
    }

    /// The built-in catalogues, default configuration and catalogue-derived population priors.
    pub fn with_defaults() -> Self {
        todo!()
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
    /// Version of the model that makes decisions: the population model's version
    /// plus a digest of the configuration, so every logged decision names it.
    pub fn model_version(&self) -> String {
        todo!()
    }

    /// A new person with no observations yet.
    pub fn new_person(&self, conditions: Vec<Condition>) -> PersonState {
        todo!("{conditions:?}")
    }

    /// Folds one assessment into the person's state (O(d^2), no refit of history).
    pub fn observe_assessment(
        &self,
        state: &mut PersonState,
        assessment: &Assessment,
    ) -> Result<()> {
        todo!("{state:?} {assessment:?}")
    }

    /// Remembers that an intervention was recommended (dose limits, habituation).
    pub fn observe_recommendation(
        &self,
        state: &mut PersonState,
        intervention: &InterventionId,
        at: Timestamp,
    ) -> Result<()> {
        todo!("{state:?} {intervention} {at:?}")
    }

    /// Folds feedback on an intervention into the person's state.
    pub fn observe_feedback(&self, state: &mut PersonState, feedback: &Feedback) -> Result<()> {
        todo!("{state:?} {feedback:?}")
    }

    /// Ranks interventions for the person. Pure: the same state, query and seed give the same ranking.
    pub fn recommend(&self, state: &PersonState, query: &RecommendQuery) -> Result<Ranking> {
        todo!("{state:?} {query:?}")
    }

    /// What the person's data show.
    pub fn insights(&self, state: &PersonState, now: Timestamp) -> Insights {
        todo!("{state:?} {now:?}")
    }
}

//! The [`Engine`] facade: one tenant's validated model (configuration,
//! catalogues, population model; see [`crate::model`]) and the operations the
//! server, tools and benches call on a [`PersonState`]. `Engine` is
//! `Send + Sync` and immutable; a tenant whose catalogue or configuration
//! changes gets a new one.
//!
//! Costs: `observe_*` are `O(d²)` at most (no estimation); `recommend` and
//! `insights` read the person's posterior (the process map, the benefit of
//! every intervention) from the cache [`Engine::refresh`] stores in the state,
//! or compute it (about 50 µs) when the cache is stale. The server refreshes
//! after every write, off the request path of the next ranking.

use crate::benefit;
use crate::catalog::{Condition, InterventionCatalog, ProcessCatalog};
use crate::config::EngineConfig;
use crate::error::Result;
use crate::follow::FollowState;
use crate::ids::{InterventionId, Timestamp};
use crate::insights::{self, Insights};
use crate::learn;
use crate::map::MapStats;
use crate::model::Model;
use crate::network::{self, NetworkEstimate, NetworkStats};
use crate::observe::{Assessment, Feedback};
use crate::population::PopulationModel;
use crate::rank::{self, Ranking, RecommendQuery};
use crate::state::{CacheKey, OutcomeHistory, PersonState, STATE_FORMAT, VariableTrack};

/// The recommendation engine for one tenant.
#[derive(Debug, Clone)]
pub struct Engine {
    model: Model,
}

impl Engine {
    /// Builds an engine; fails if the configuration or catalogues are inconsistent.
    pub fn new(
        config: EngineConfig,
        processes: ProcessCatalog,
        interventions: InterventionCatalog,
        population: PopulationModel,
    ) -> Result<Self> {
        Ok(Self {
            model: Model::new(config, processes, interventions, population)?,
        })
    }

    /// The built-in catalogues, default configuration and catalogue-derived population priors.
    pub fn with_defaults() -> Self {
        let processes = ProcessCatalog::builtin();
        // The built-in kernels target only built-in processes (tested in catalog).
        let interventions = InterventionCatalog::builtin(&processes)
            .expect("built-in interventions fit the built-in processes");
        let population = PopulationModel::from_catalog(&processes);
        Self::new(
            EngineConfig::default(),
            processes,
            interventions,
            population,
        )
        .expect("defaults are valid")
    }

    /// The model (configuration, catalogues, population model).
    pub fn model(&self) -> &Model {
        &self.model
    }
    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        self.model.config()
    }
    /// The process catalogue.
    pub fn processes(&self) -> &ProcessCatalog {
        self.model.processes()
    }
    /// The intervention catalogue.
    pub fn interventions(&self) -> &InterventionCatalog {
        self.model.interventions()
    }
    /// The population model.
    pub fn population(&self) -> &PopulationModel {
        self.model.population()
    }
    /// Version of the model that makes decisions: the population model's version
    /// plus a digest of the configuration, so every logged decision names it.
    pub fn model_version(&self) -> String {
        self.model.version().to_owned()
    }

    /// A new person with no observations yet.
    pub fn new_person(&self, conditions: Vec<Condition>) -> PersonState {
        let p = self.processes().len();
        let d = network::variable_count(p);
        let mut conditions = conditions;
        conditions.sort();
        conditions.dedup();
        PersonState {
            format: STATE_FORMAT,
            conditions,
            layout: self
                .processes()
                .all()
                .iter()
                .map(|p| p.id.clone())
                .collect(),
            assessments: 0,
            revision: 0,
            first_at: None,
            last_at: None,
            last_values: Vec::new(),
            last_rated: false,
            held_row: None,
            risk_flags: Vec::new(),
            variables: vec![VariableTrack::default(); d],
            network: NetworkStats::new(d),
            map: MapStats::new(p),
            outcome: OutcomeHistory::default(),
            follow: FollowState::new(&self.population().follow),
            interventions: Default::default(),
            pending: Vec::new(),
            cache: None,
        }
    }

    /// Folds one assessment into the person's state (`O(d²)`, no refit of
    /// history; see the internal `learn` module).
    pub fn observe_assessment(
        &self,
        state: &mut PersonState,
        assessment: &Assessment,
    ) -> Result<()> {
        learn::observe_assessment(&self.model, state, assessment)
    }

    /// Remembers that an intervention was recommended (dose limits, habituation).
    pub fn observe_recommendation(
        &self,
        state: &mut PersonState,
        intervention: &InterventionId,
        at: Timestamp,
    ) -> Result<()> {
        learn::observe_recommendation(&self.model, state, intervention, at)
    }

    /// Remembers that a ranking's items were all offered at `at` (one
    /// decision: habituation counts it once), as the server records what it
    /// returns.
    pub fn observe_ranking(
        &self,
        state: &mut PersonState,
        ranking: &Ranking,
        at: Timestamp,
    ) -> Result<()> {
        for item in &ranking.items {
            learn::observe_recommendation(&self.model, state, &item.intervention, at)?;
        }
        Ok(())
    }

    /// Folds feedback on an intervention into the person's state (see the internal `learn` module).
    pub fn observe_feedback(&self, state: &mut PersonState, feedback: &Feedback) -> Result<()> {
        learn::observe_feedback(&self.model, state, feedback)
    }

    /// Ranks interventions for the person. Pure: the same state, query and seed give the same ranking.
    pub fn recommend(&self, state: &PersonState, query: &RecommendQuery) -> Result<Ranking> {
        rank::rank(&self.model, state, query)
    }

    /// [`Self::recommend`] plus the propensity of *every* candidate, not only
    /// the `k` returned: `(id, probability of being ranked first)` in
    /// catalogue order, summing to one. Off-policy evaluation needs the whole
    /// distribution of a target configuration; the ranking is identical to
    /// `recommend`'s.
    pub fn recommend_with_propensities(
        &self,
        state: &PersonState,
        query: &RecommendQuery,
    ) -> Result<(Ranking, Vec<(InterventionId, f64)>)> {
        rank::rank_all(&self.model, state, query)
    }

    /// What the person's data show.
    pub fn insights(&self, state: &PersonState, now: Timestamp) -> Insights {
        if learn::check_state(&self.model, state).is_ok() {
            insights::build(&self.model, state, now)
        } else {
            // A state from another process set: report what the population
            // knows rather than mixing layouts; the server rebuilds by replay.
            let fresh = self.new_person(state.conditions.clone());
            insights::build(&self.model, &fresh, now)
        }
    }

    /// Computes the person's posterior (map, benefits, process values) and
    /// caches it in the state, so the next rankings skip the estimation.
    /// Cheap to call when the cache is already current.
    pub fn refresh(&self, state: &mut PersonState) -> Result<()> {
        learn::check_state(&self.model, state)?;
        let key = self.cache_key(state);
        if state.has_fresh_cache(&key) {
            return Ok(());
        }
        state.cache = Some(benefit::posterior(
            &self.model,
            state,
            &self.model.cache_tag,
        ));
        Ok(())
    }

    /// What a current cache of `state` would be tagged with.
    pub fn cache_key(&self, state: &PersonState) -> CacheKey {
        CacheKey {
            revision: state.revision,
            model: self.model.cache_tag.clone(),
        }
    }

    /// The person's lagged network estimate (every equation), for insights and research.
    pub fn network_estimate(&self, state: &PersonState) -> Result<NetworkEstimate> {
        learn::check_state(&self.model, state)?;
        let targets: Vec<usize> = (0..state.variables.len()).collect();
        Ok(self.model.estimate_network(&state.network, &targets))
    }
}

#[cfg(test)]
mod tests;

//! Engine hyperparameters. One typed struct with documented defaults; the server
//! fills it from its configuration (per tenant) and the tuner searches over it.

use crate::error::{EngineError, Result};
use serde::{Deserialize, Serialize};

/// Hyperparameters of the engine. Every field has a default chosen so that a new
/// tenant gets cautious, explainable behaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// Exploration level: 0 is greedy (posterior means); 1 is plain Thompson
    /// sampling; values in between scale the posterior spread used for sampling.
    pub exploration: f64,
    /// Ridge strength pulling each person's network toward the population network,
    /// in pseudo-observations. 0 turns shrinkage off (ordinary least squares).
    pub network_shrinkage: f64,
    /// Strength of the population prior on intervention responses, in pseudo-observations.
    pub prior_strength: f64,
    /// Weight of similar people (nearest neighbours) in the response prior, 0-1.
    pub neighbour_weight: f64,
    /// Number of nearest neighbours used for similar-person pooling.
    pub neighbours: usize,
    /// Penalty for a second item on already-covered processes/families, 0-1 (0: none).
    pub diversity: f64,
    /// Fraction of the response lost per recent repetition (habituation), 0-1.
    pub habituation: f64,
    /// Monte Carlo draws used to estimate propensities.
    pub propensity_draws: usize,
    /// Minimum propensity any candidate keeps when exploring (clipping), 0-0.5.
    pub propensity_floor: f64,
    /// Width (in posterior sd) under which top items are reported indistinguishable.
    pub indistinguishable_z: f64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            exploration: 0.3,
            network_shrinkage: 20.0,
            prior_strength: 5.0,
            neighbour_weight: 0.5,
            neighbours: 10,
            diversity: 0.5,
            habituation: 0.15,
            propensity_draws: 200,
            propensity_floor: 0.0,
            indistinguishable_z: 1.0,
        }
    }
}

impl EngineConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<()> {
        let unit = |name: &str, v: f64| {
            if v.is_finite() && (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(EngineError::InvalidConfig(format!(
                    "{name} must be in [0, 1], got {v}"
                )))
            }
        };
        let non_neg = |name: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(EngineError::InvalidConfig(format!(
                    "{name} must be finite and >= 0, got {v}"
                )))
            }
        };
        unit("exploration", self.exploration)?;
        non_neg("network_shrinkage", self.network_shrinkage)?;
        non_neg("prior_strength", self.prior_strength)?;
        unit("neighbour_weight", self.neighbour_weight)?;
        unit("diversity", self.diversity)?;
        unit("habituation", self.habituation)?;
        non_neg("indistinguishable_z", self.indistinguishable_z)?;
        if !(0.0..=0.5).contains(&self.propensity_floor) {
            return Err(EngineError::InvalidConfig(
                "propensity_floor must be in [0, 0.5]".into(),
            ));
        }
        if self.propensity_draws == 0 || self.propensity_draws > 100_000 {
            return Err(EngineError::InvalidConfig(
                "propensity_draws must be in 1..=100000".into(),
            ));
        }
        if self.neighbours == 0 {
            return Err(EngineError::InvalidConfig(
                "neighbours must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

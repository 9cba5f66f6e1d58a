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
    /// sampling; values in between scale the posterior spread used for
    /// sampling. Never used in safety mode.
    pub exploration: f64,
    /// Ridge strength pulling each person's lagged network (insights) toward
    /// the population network, in pseudo-observations. 0 turns shrinkage off
    /// (ordinary least squares).
    pub network_shrinkage: f64,
    /// Most weight given to similar people (nearest neighbours) in the
    /// response prior, 0-1: a trained model carries the weight its training
    /// found them worth (`ResponsePrior::neighbour_weight`), and the smaller
    /// of the two is used. 0 turns similar-person pooling off.
    pub neighbour_weight: f64,
    /// Number of nearest neighbours used for similar-person pooling.
    pub neighbours: usize,
    /// Penalty for a second item on already-covered processes/families, 0-1 (0: none).
    pub diversity: f64,
    /// Habituation rate: the benefit is multiplied by `exp(-habituation × m)`,
    /// `m` the person's recent doses of the intervention (each fading by half
    /// every `habituation_half_life_days`, or every two later decisions when the
    /// person's timestamps are a replay, seconds apart) plus half those of its
    /// family, 0-1.
    pub habituation: f64,
    /// Half-life in days of a dose in the habituation memory.
    pub habituation_half_life_days: f64,
    /// Minimum propensity any candidate keeps when exploring (clipping), 0-0.5.
    pub propensity_floor: f64,
    /// Width (in posterior sd) under which top items are reported indistinguishable.
    pub indistinguishable_z: f64,
    /// Largest gap in days between two consecutive assessments that still counts
    /// as one lagged step of the network; longer gaps break the chain.
    pub max_gap_days: f64,
    /// Half-life in days of the smoothed (EWMA) process and well-being levels.
    pub level_half_life_days: f64,
    /// Half-life in days of the weights in the trend regression (points per week).
    pub trend_half_life_days: f64,
    /// Half-life in days of a row in the person's process map, so the map
    /// follows a person whose life changes; 0 keeps every row at full weight.
    pub map_half_life_days: f64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            exploration: 0.05,
            network_shrinkage: 20.0,
            neighbour_weight: 1.0,
            neighbours: 10,
            diversity: 0.5,
            habituation: 0.3,
            habituation_half_life_days: 14.0,
            propensity_floor: 0.0,
            indistinguishable_z: 1.0,
            max_gap_days: 14.0,
            level_half_life_days: 3.0,
            trend_half_life_days: 28.0,
            map_half_life_days: 180.0,
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
        unit("neighbour_weight", self.neighbour_weight)?;
        unit("diversity", self.diversity)?;
        unit("habituation", self.habituation)?;
        non_neg("indistinguishable_z", self.indistinguishable_z)?;
        let positive = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(EngineError::InvalidConfig(format!(
                    "{name} must be finite and > 0, got {v}"
                )))
            }
        };
        positive("max_gap_days", self.max_gap_days)?;
        positive(
            "habituation_half_life_days",
            self.habituation_half_life_days,
        )?;
        positive("level_half_life_days", self.level_half_life_days)?;
        positive("trend_half_life_days", self.trend_half_life_days)?;
        non_neg("map_half_life_days", self.map_half_life_days)?;
        if !(self.propensity_floor.is_finite() && (0.0..=0.5).contains(&self.propensity_floor)) {
            return Err(EngineError::InvalidConfig(
                "propensity_floor must be in [0, 0.5]".into(),
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

impl EngineConfig {
    /// A short, stable digest of the configuration (FNV-1a 64 over its JSON
    /// form, first 8 hex digits). Logged decisions name the model that made
    /// them; two engines with the same digest rank identically given the same
    /// population model. FNV needs no extra crate and is stable across Rust
    /// releases, unlike `std`'s `DefaultHasher`.
    pub fn digest(&self) -> String {
        // Serialising a struct of numbers cannot fail.
        let json = serde_json::to_string(self).expect("EngineConfig serialises to JSON");
        format!("{:08x}", fnv1a64(json.as_bytes()) >> 32)
    }
}

/// FNV-1a, 64 bit.
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate() {
        assert_eq!(EngineConfig::default().validate(), Ok(()));
    }

    #[test]
    fn out_of_range_values_are_rejected() {
        let bad = [
            EngineConfig {
                exploration: 1.5,
                ..EngineConfig::default()
            },
            EngineConfig {
                network_shrinkage: f64::NAN,
                ..EngineConfig::default()
            },
            EngineConfig {
                propensity_floor: 0.6,
                ..EngineConfig::default()
            },
            EngineConfig {
                map_half_life_days: -1.0,
                ..EngineConfig::default()
            },
            EngineConfig {
                max_gap_days: 0.0,
                ..EngineConfig::default()
            },
        ];
        for c in bad {
            assert!(c.validate().is_err(), "{c:?} should be invalid");
        }
    }

    #[test]
    fn digest_is_stable_and_sensitive() {
        let a = EngineConfig::default();
        let b = EngineConfig {
            exploration: 0.31,
            ..EngineConfig::default()
        };
        assert_eq!(a.digest(), a.clone().digest());
        assert_eq!(a.digest().len(), 8);
        assert_ne!(a.digest(), b.digest());
    }

    #[test]
    fn fnv_matches_reference_vector() {
        // Published FNV-1a 64 test vector for "a".
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let r: std::result::Result<EngineConfig, _> =
            serde_json::from_str(r#"{"exploraton": 0.2}"#);
        assert!(r.is_err());
    }
}

//! Population-level knowledge: what is known before a person's own data
//! arrive, and how far people differ from it. [`PopulationModel`] is the
//! catalogue's cold-start prior ([`PopulationModel::from_catalog`]) or a model
//! trained from logs ([`crate::train`]); `tutti train` writes it as a versioned
//! artifact the server loads.
//!
//! It holds the *hierarchy* of the person models: the population process map
//! and how much maps vary between people ([`MapPrior`]); the variances of the
//! response model and the scales of its signals ([`ResponsePrior`]); the
//! follow-through priors ([`FollowPrior`]); the expected-recovery curve
//! ([`RecoveryPrior`]); trained population effects per intervention; and
//! reference people for similar-person pooling, compared by their maps
//! ([`NeighbourIndex`]). Nothing here knows about a particular person.

use crate::catalog::ProcessCatalog;
use crate::error::{EngineError, Result};
use crate::follow::FollowPrior;
use crate::ids::{InterventionId, ProcessId};
use crate::network;
use serde::{Deserialize, Serialize};
use smartcore::algorithm::neighbour::linear_search::LinearKNNSearch;
use smartcore::metrics::distance::Distance;
use std::collections::BTreeMap;

/// Population autoregression of every variable in the catalogue prior network.
const PRIOR_AUTOREGRESSION: f64 = 0.5;
/// Population lagged effect of one point of a pole on next-step well-being in
/// the catalogue prior network (insights only).
const PRIOR_OUTCOME_LINK: f64 = 0.03;
/// Population within-person innovation sd of any variable (0-100 scale).
const PRIOR_INNOVATION_SD: f64 = 10.0;
/// Population prior mean and sd of well-being at intake.
const PRIOR_WELLBEING_MEAN: f64 = 45.0;
const PRIOR_WELLBEING_SD: f64 = 20.0;

/// The population process map and how much people differ from it.
///
/// A person's map is the within-person regression of well-being on their
/// process poles at the same assessment (points of well-being per rating
/// point), plus the lagged pole contrast of each process (`a - m` at the
/// previous assessment). See [`crate::map`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapPrior {
    /// Population mean coefficient of each pole (network layout: `2p`
    /// adaptive, `2p + 1` maladaptive).
    pub pole_mean: Vec<f64>,
    /// Between-person sd of each pole's coefficient.
    pub pole_sd: Vec<f64>,
    /// Population mean coefficient of each process's lagged pole contrast.
    pub lag_mean: Vec<f64>,
    /// Between-person sd of the lagged coefficients.
    pub lag_sd: Vec<f64>,
    /// Typical residual sd of well-being around a person's map (points).
    pub residual_sd: f64,
    /// Pseudo-observations behind `residual_sd`.
    pub residual_df: f64,
    /// Between-person correlation of a process's two pole coefficients
    /// (negative: someone whose well-being rises with the adaptive pole
    /// usually falls with the maladaptive one), so each pole's data inform
    /// the other's.
    pub pole_correlation: f64,
    /// How far an intervention moves the maladaptive pole down per point it
    /// moves the adaptive pole up (the poles are distinct signals, and
    /// kernels rarely move both equally).
    pub maladaptive_share: f64,
}

impl MapPrior {
    /// The uninformative-direction default: every adaptive pole helps and
    /// every maladaptive pole hurts well-being a little on average, with a
    /// between-person spread wide enough for a person's map to be sparse or
    /// reversed: the person's data decide which processes matter for them.
    pub fn default_for(processes: usize) -> Self {
        let mut pole_mean = Vec::with_capacity(2 * processes);
        for _ in 0..processes {
            pole_mean.extend([0.08, -0.08]);
        }
        Self {
            pole_mean,
            pole_sd: vec![0.15; 2 * processes],
            lag_mean: vec![0.0; processes],
            lag_sd: vec![0.04; processes],
            residual_sd: 10.0,
            residual_df: 4.0,
            pole_correlation: -0.5,
            maladaptive_share: 1.0,
        }
    }

    /// Processes the prior covers.
    pub fn processes(&self) -> usize {
        self.lag_mean.len()
    }

    /// The value of improving process `p` by one point on each pole it moves
    /// (adaptive up one point, maladaptive down `maladaptive_share`), in
    /// well-being points, under pole coefficients `pole` and lagged
    /// coefficients `lag`: a lasting shift moves both the same-occasion and
    /// the next-occasion terms.
    pub fn process_value(&self, pole: &[f64], lag: &[f64], p: usize) -> f64 {
        let k = self.maladaptive_share;
        pole[network::adaptive(p)] - k * pole[network::maladaptive(p)] + (1.0 + k) * lag[p]
    }

    /// The population value of an average process: the unit of the person's
    /// relative process values (see [`crate::benefit`]). Floored so that a
    /// trained map in which nothing matters on average cannot divide by zero.
    pub fn value_unit(&self) -> f64 {
        let p = self.processes().max(1);
        let mean = (0..self.processes())
            .map(|i| self.process_value(&self.pole_mean, &self.lag_mean, i))
            .sum::<f64>()
            / p as f64;
        let spread = self.pole_sd.iter().sum::<f64>() / self.pole_sd.len().max(1) as f64;
        mean.max(0.25 * spread).max(1e-3)
    }
}

/// Variances and signal scales of the person response model (see [`crate::benefit`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponsePrior {
    /// Sd of a person's responsiveness on a process beyond what their map
    /// says (relative units: 1 is an average process's value).
    pub responsiveness_sd: f64,
    /// Sd of a person's multiplier on a kernel family's predicted benefit
    /// (relative: 1 would be "anything from nothing to twice as much").
    pub family_sd: f64,
    /// Sd of a person x intervention residual as a share of the benefit the
    /// person's map predicts for it: responses are multiplicative, so a
    /// large expected effect varies more between people than a small one.
    pub item_sd_share: f64,
    /// Smallest sd of a person x intervention residual (points).
    pub item_sd_floor: f64,
    /// Helpfulness points (0-100) per well-being point of benefit.
    pub helpfulness_slope: f64,
    /// Sd of one helpfulness rating around what the benefit implies.
    pub helpfulness_noise_sd: f64,
    /// Population mean of a person's rating level: the helpfulness they give
    /// an exercise that does nothing for them.
    pub rater_mean: f64,
    /// Between-person sd of that level (some people rate everything high).
    pub rater_sd: f64,
    /// Sd of the well-being change after an intervention around its benefit:
    /// everything else in a life moves well-being too.
    pub outcome_change_sd: f64,
    /// Smallest sd of a process-change signal (points).
    pub process_change_min_sd: f64,
    /// Rating noise of one pole (sd, points), for process-change signals.
    pub rating_noise_sd: f64,
    /// How far the catalogue's relative effect sizes are trusted, 0-1: an
    /// untrained intervention's population effect is the catalogue mean plus
    /// this share of its `prior_effect`'s distance from the mean. Trial
    /// effects come from other people and other versions of an exercise, so
    /// their differences are weaker evidence than their average; a trained
    /// model replaces them with this population's own.
    pub catalog_trust: f64,
    /// How far similar people's residuals carry over to this person, 0-1:
    /// the weight of the neighbours' mean residual on an intervention (at
    /// full evidence) in the prior of this person's own. Training learns it
    /// by predicting each reference person's residuals from their nearest
    /// other reference people; it is 0 where people's responses beyond their
    /// maps do not run with their maps and levels, and the neighbours would
    /// only add noise. Models trained before it existed read 0.5, the weight
    /// they were used with.
    #[serde(default = "default_neighbour_weight")]
    pub neighbour_weight: f64,
}

fn default_neighbour_weight() -> f64 {
    0.5
}

impl Default for ResponsePrior {
    fn default() -> Self {
        Self {
            responsiveness_sd: 0.4,
            family_sd: 0.5,
            item_sd_share: 0.5,
            item_sd_floor: 0.3,
            helpfulness_slope: 5.0,
            helpfulness_noise_sd: 15.0,
            rater_mean: 55.0,
            rater_sd: 12.0,
            outcome_change_sd: 15.0,
            process_change_min_sd: 2.0,
            rating_noise_sd: 10.0,
            catalog_trust: 0.3,
            neighbour_weight: default_neighbour_weight(),
        }
    }
}

/// Parameters of the expected-recovery curve (see [`crate::insights`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryPrior {
    /// Well-being (0-100) that people in care approach.
    pub asymptote: f64,
    /// Time constant of the approach, weeks.
    pub tau_weeks: f64,
    /// Sd of one outcome measure around the person's true level.
    pub noise_sd: f64,
    /// Sd of a person's true curve around the expected one.
    pub curve_sd: f64,
    /// One-sided z for "clearly below" (1.645: 5% false alarms per check).
    pub z: f64,
}

impl Default for RecoveryPrior {
    fn default() -> Self {
        Self {
            asymptote: 65.0,
            tau_weeks: 8.0,
            noise_sd: 10.0,
            curve_sd: 4.0,
            z: 1.645,
        }
    }
}

impl RecoveryPrior {
    /// Expected well-being `weeks` after a start at `w0`.
    pub fn expected(&self, w0: f64, weeks: f64) -> f64 {
        let target = self.asymptote.max(w0);
        w0 + (target - w0) * (1.0 - (-weeks.max(0.0) / self.tau_weeks.max(1e-6)).exp())
    }
}

/// A population mean gain and the evidence behind it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EffectPrior {
    /// Mean gain in well-being points when done.
    pub mean: f64,
    /// Observations behind it.
    pub n: u32,
}

/// One reference person for similar-person pooling: their process map, their
/// levels, and how interventions worked for them beyond what their map said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceProfile {
    /// Levels of every network variable (0-100), in [`PopulationModel::processes`] layout.
    pub features: Vec<f64>,
    /// Their relative process values (one per process; 1 is an average
    /// process's value), the map the search compares people by.
    pub map: Vec<f64>,
    /// Mean residual gain per intervention (observed benefit minus what their
    /// map predicted), in well-being points.
    pub effects: BTreeMap<InterventionId, EffectPrior>,
}

/// Population-level knowledge: the hierarchy the person models shrink toward.
/// Serialisable: `tutti train` writes it as a versioned artifact that the
/// server loads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationModel {
    /// Version string, e.g. `catalog-prior` or `trained-2026-11-25-ab12cd`.
    pub version: String,
    /// Process order of every per-variable vector (network layout, see [`network`]).
    pub processes: Vec<ProcessId>,
    /// Population lagged network `B0` for insights, row-major `d x d`
    /// (`target * d + source`).
    pub network: Vec<f64>,
    /// Population mean of each variable (imputation, headroom reference).
    pub variable_mean: Vec<f64>,
    /// Between-person sd of each variable (neighbour scaling).
    pub variable_sd: Vec<f64>,
    /// Within-person innovation sd of each variable.
    pub innovation_sd: Vec<f64>,
    /// The population process map and its between-person spread.
    pub map: MapPrior,
    /// Variances and signal scales of the response model.
    pub response: ResponsePrior,
    /// Trained population mean gain per intervention; the catalogue's
    /// `prior_effect` is used for interventions not listed.
    pub effects: BTreeMap<InterventionId, EffectPrior>,
    /// Reference people for similar-person pooling.
    pub profiles: Vec<ReferenceProfile>,
    /// Follow-through priors.
    pub follow: FollowPrior,
    /// Expected-recovery curve.
    pub recovery: RecoveryPrior,
}

impl PopulationModel {
    /// The cold-start model (`version = "catalog-prior"`): population levels
    /// from the process catalogue, the default [`MapPrior`] (every process
    /// equally likely to matter, in either direction for some people), the
    /// default response and follow-through priors, a lagged network for
    /// insights in which each variable persists (0.5) and adaptive poles help
    /// next-step well-being a little, no trained effects and no reference
    /// people.
    pub fn from_catalog(processes: &ProcessCatalog) -> Self {
        let p = processes.len();
        let d = network::variable_count(p);
        let out = network::outcome(d);
        let mut b0 = vec![0.0; d * d];
        for i in 0..d {
            b0[i * d + i] = PRIOR_AUTOREGRESSION;
        }
        for k in 0..p {
            b0[out * d + network::adaptive(k)] = PRIOR_OUTCOME_LINK;
            b0[out * d + network::maladaptive(k)] = -PRIOR_OUTCOME_LINK;
        }
        let mut mean = Vec::with_capacity(d);
        let mut sd = Vec::with_capacity(d);
        for pr in processes.all() {
            mean.extend([pr.prior_adaptive_mean, pr.prior_maladaptive_mean]);
            sd.extend([pr.prior_sd, pr.prior_sd]);
        }
        mean.push(PRIOR_WELLBEING_MEAN);
        sd.push(PRIOR_WELLBEING_SD);
        Self {
            version: "catalog-prior".into(),
            processes: processes.all().iter().map(|p| p.id.clone()).collect(),
            network: b0,
            variable_mean: mean,
            variable_sd: sd,
            innovation_sd: vec![PRIOR_INNOVATION_SD; d],
            map: MapPrior::default_for(p),
            response: ResponsePrior::default(),
            effects: BTreeMap::new(),
            profiles: Vec::new(),
            follow: FollowPrior::default(),
            recovery: RecoveryPrior::default(),
        }
    }

    /// Checks that the model fits a process catalogue (same processes, same
    /// order), that its vectors have the sizes the layout implies and that
    /// every number is finite and every spread positive.
    pub fn validate(&self, processes: &ProcessCatalog) -> Result<()> {
        let same = self.processes.len() == processes.len()
            && self
                .processes
                .iter()
                .zip(processes.all())
                .all(|(a, b)| *a == b.id);
        if !same {
            return Err(EngineError::IncompatibleState(format!(
                "population model `{}` was built for processes [{}], the catalogue has [{}]",
                self.version,
                join(self.processes.iter().map(ProcessId::as_str)),
                join(processes.all().iter().map(|p| p.id.as_str())),
            )));
        }
        let p = processes.len();
        let d = network::variable_count(p);
        let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
        let positive = |v: &[f64]| v.iter().all(|x| x.is_finite() && *x > 0.0);
        let non_negative = |v: &[f64]| v.iter().all(|x| x.is_finite() && *x >= 0.0);
        let m = &self.map;
        let f = &self.follow;
        let r = &self.response;
        let shapes = self.network.len() == d * d
            && self.variable_mean.len() == d
            && self.variable_sd.len() == d
            && self.innovation_sd.len() == d
            && m.pole_mean.len() == 2 * p
            && m.pole_sd.len() == 2 * p
            && m.lag_mean.len() == p
            && m.lag_sd.len() == p
            && self
                .profiles
                .iter()
                .all(|x| x.features.len() == d && x.map.len() == p);
        let values = finite(&self.network)
            && finite(&self.variable_mean)
            && positive(&self.variable_sd)
            && positive(&self.innovation_sd)
            && finite(&m.pole_mean)
            && positive(&m.pole_sd)
            && finite(&m.lag_mean)
            && positive(&m.lag_sd)
            && positive(&[m.residual_sd, m.residual_df])
            && m.pole_correlation.is_finite()
            && m.pole_correlation.abs() < 1.0
            && m.maladaptive_share.is_finite()
            && m.maladaptive_share >= 0.0
            && positive(&[
                r.responsiveness_sd,
                r.family_sd,
                r.item_sd_floor,
                r.helpfulness_slope,
                r.helpfulness_noise_sd,
                r.rater_sd,
                r.outcome_change_sd,
                r.process_change_min_sd,
                r.rating_noise_sd,
            ])
            && r.item_sd_share.is_finite()
            && r.item_sd_share >= 0.0
            && (0.0..=1.0).contains(&r.catalog_trust)
            && (0.0..=1.0).contains(&r.neighbour_weight)
            && r.rater_mean.is_finite()
            && self
                .profiles
                .iter()
                .all(|x| finite(&x.features) && finite(&x.map))
            && self.effects.values().all(|e| e.mean.is_finite())
            // A NaN follow-through prior reaches every score.
            && f.mean > 0.0
            && f.mean < 1.0
            && finite(&[
                f.effort_slope,
                f.time_pressure,
                f.modality_mismatch,
                f.in_session_boost,
                f.aid_lift,
                f.capacity_slope,
                f.drift_per_week,
            ])
            && non_negative(&[f.person_sd, f.person_slope_sd, f.item_sd]);
        if !(shapes && values) {
            return Err(EngineError::IncompatibleState(format!(
                "population model `{}` has vectors that do not fit {p} processes, non-finite values or non-positive spreads",
                self.version
            )));
        }
        Ok(())
    }

    /// The population mean gain of an intervention with catalogue prior `prior_effect`.
    pub fn population_effect(&self, id: &InterventionId, prior_effect: f64) -> f64 {
        self.effects.get(id).map_or(prior_effect, |e| e.mean)
    }

    /// Within-person variance of each variable, the stationary variance its
    /// innovation sd and population autoregression imply
    /// (`innovation² / (1 - b0_ii²)`): the spread of the lagged network's
    /// pseudo-observations (see [`network`]).
    pub fn within_person_variance(&self) -> Vec<f64> {
        let d = self.innovation_sd.len();
        self.innovation_sd
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let rho = self
                    .network
                    .get(i * d + i)
                    .copied()
                    .unwrap_or(0.0)
                    .abs()
                    .min(0.95);
                s * s / (1.0 - rho * rho)
            })
            .collect()
    }

    /// Population innovation variance of each variable.
    pub fn innovation_variance(&self) -> Vec<f64> {
        self.innovation_sd.iter().map(|s| s * s).collect()
    }
}

fn join<'a>(it: impl Iterator<Item = &'a str>) -> String {
    it.collect::<Vec<_>>().join(", ")
}

/// Weight of the levels against the map in the neighbour distance: people
/// are similar mainly when the same processes move their well-being, and
/// only secondarily when they stand at similar levels.
const LEVEL_WEIGHT: f64 = 0.5;

/// Squared Euclidean distance between two points of the same length (the
/// search only compares them; [`NeighbourIndex::nearest`] takes the root of
/// the `k` it keeps). smartcore's `Euclidian` walks its generic array view
/// one boxed iterator step at a time and takes a root per point: with
/// 10,000 reference people that search took about 0.9 ms of every ranking.
#[derive(Debug, Clone, Copy)]
struct SquaredEuclidean;

impl Distance<Vec<f64>> for SquaredEuclidean {
    fn distance(&self, a: &Vec<f64>, b: &Vec<f64>) -> f64 {
        a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
    }
}

/// Nearest-neighbour search over the reference people, by their maps
/// (relative process values) and, with half the weight, their standardised
/// levels. Built once per engine.
pub struct NeighbourIndex {
    search: LinearKNNSearch<Vec<f64>, SquaredEuclidean>,
    level_scale: Vec<f64>,
    len: usize,
}

impl std::fmt::Debug for NeighbourIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NeighbourIndex")
            .field("profiles", &self.len)
            .finish()
    }
}

impl NeighbourIndex {
    /// Builds the index, or `None` when the model has no reference profiles.
    pub fn new(model: &PopulationModel) -> Option<Self> {
        if model.profiles.is_empty() {
            return None;
        }
        let level_scale: Vec<f64> = model
            .variable_sd
            .iter()
            .map(|s| LEVEL_WEIGHT / s.max(1e-6))
            .collect();
        let data = model
            .profiles
            .iter()
            .map(|p| Self::point(&p.map, &p.features, &level_scale))
            .collect();
        let search = LinearKNNSearch::new(data, SquaredEuclidean).ok()?;
        Some(Self {
            search,
            level_scale,
            len: model.profiles.len(),
        })
    }

    fn point(map: &[f64], levels: &[f64], scale: &[f64]) -> Vec<f64> {
        map.iter()
            .copied()
            .chain(levels.iter().zip(scale).map(|(x, s)| x * s))
            .collect()
    }

    /// Reference people indexed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the index is empty (never: `new` refuses an empty model).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `k` nearest reference people to a person with relative process
    /// values `map` and levels `levels` (0-100), as `(profile index,
    /// distance)`, nearest first.
    pub fn nearest(&self, map: &[f64], levels: &[f64], k: usize) -> Vec<(usize, f64)> {
        if levels.len() != self.level_scale.len() || k == 0 {
            return Vec::new();
        }
        let q = Self::point(map, levels, &self.level_scale);
        let mut found: Vec<(usize, f64)> = self
            .search
            .find(&q, k.min(self.len))
            .map(|v| v.into_iter().map(|(i, d2, _)| (i, d2.sqrt())).collect())
            .unwrap_or_default();
        found.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        found
    }
}

/// What similar people say about one intervention beyond their maps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NeighbourEvidence {
    /// Distance-weighted mean residual gain among neighbours who did it.
    pub mean: f64,
    /// Rows behind it.
    pub rows: u32,
}

/// Rows of neighbour evidence at which it earns half its weight.
const NEIGHBOUR_HALF_ROWS: f64 = 5.0;

impl NeighbourEvidence {
    /// The mean shrunk toward nothing by how few rows are behind it: what
    /// the neighbours say at full weight (see [`ResponsePrior::neighbour_weight`]).
    pub fn shrunk(&self) -> f64 {
        let rows = f64::from(self.rows);
        rows / (rows + NEIGHBOUR_HALF_ROWS) * self.mean
    }
}

/// Pools the neighbours' evidence on `id` (weights `n / (1 + distance)`).
pub fn neighbour_evidence(
    model: &PopulationModel,
    neighbours: &[(usize, f64)],
    id: &InterventionId,
) -> Option<NeighbourEvidence> {
    let mut wsum = 0.0;
    let mut sum = 0.0;
    let mut rows = 0;
    for &(i, dist) in neighbours {
        if let Some(e) = model.profiles.get(i).and_then(|p| p.effects.get(id)) {
            let w = f64::from(e.n) / (1.0 + dist);
            wsum += w;
            sum += w * e.mean;
            rows += e.n;
        }
    }
    (wsum > 0.0).then(|| NeighbourEvidence {
        mean: sum / wsum,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit;

    #[test]
    fn the_catalogue_model_fits_its_catalogue() {
        let pc = testkit::processes();
        let m = PopulationModel::from_catalog(&pc);
        assert_eq!(m.version, "catalog-prior");
        assert_eq!(m.validate(&pc), Ok(()));
        let d = 7;
        assert_eq!(m.network[6 * d], PRIOR_OUTCOME_LINK);
        assert_eq!(m.network[6 * d + 6], PRIOR_AUTOREGRESSION);
        let other = ProcessCatalog::new(vec![pc.all()[1].clone()]).expect("valid");
        assert!(matches!(
            m.validate(&other),
            Err(EngineError::IncompatibleState(_))
        ));
        let mut bad = m.clone();
        bad.response.helpfulness_slope = 0.0;
        assert!(bad.validate(&pc).is_err());
        let mut bad = m.clone();
        bad.map.pole_mean.pop();
        assert!(bad.validate(&pc).is_err());
    }

    #[test]
    fn the_value_unit_is_an_average_process_and_stays_positive() {
        let m = MapPrior::default_for(3);
        assert!((m.value_unit() - 0.16).abs() < 1e-12);
        let flat = MapPrior {
            pole_mean: vec![0.0; 6],
            ..MapPrior::default_for(3)
        };
        assert!(flat.value_unit() > 0.0);
    }

    #[test]
    fn neighbours_are_found_by_map_first() {
        let pc = testkit::processes();
        let mut m = PopulationModel::from_catalog(&pc);
        let profile = |map: [f64; 3], level: f64, effect: f64| ReferenceProfile {
            features: vec![level; 7],
            map: map.to_vec(),
            effects: [(
                InterventionId::from("defuse"),
                EffectPrior { mean: effect, n: 2 },
            )]
            .into_iter()
            .collect(),
        };
        m.profiles = vec![
            profile([3.0, 0.0, 0.0], 50.0, 4.0),
            profile([0.0, 3.0, 0.0], 50.0, -1.0),
        ];
        let idx = NeighbourIndex::new(&m).expect("has profiles");
        // Same levels as both; the map decides.
        let near = idx.nearest(&[2.5, 0.2, 0.0], &[50.0; 7], 1);
        assert_eq!(near[0].0, 0);
        // The distance is Euclidean (the search compares squares), nearest first.
        let both = idx.nearest(&[2.5, 0.2, 0.0], &[50.0; 7], 2);
        assert_eq!(both.iter().map(|n| n.0).collect::<Vec<_>>(), [0, 1]);
        assert!((both[0].1 - (0.25_f64 + 0.04).sqrt()).abs() < 1e-12);
        assert!((both[1].1 - (6.25_f64 + 7.84).sqrt()).abs() < 1e-12);
        let ev = neighbour_evidence(&m, &near, &InterventionId::from("defuse")).expect("did it");
        assert!((ev.mean - 4.0).abs() < 1e-12);
        assert_eq!(ev.rows, 2);
        assert!(idx.nearest(&[0.0; 3], &[50.0; 2], 1).is_empty());
    }
}

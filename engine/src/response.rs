//! Per-person, per-intervention response posteriors with a population prior
//! (catalogue or trained model) and similar-person pooling (nearest neighbours
//! over profiles, with smartcore).
//!
//! # What is estimated
//! `θ` = the well-being gain (0-100 points) when this person does this
//! intervention. Each person x intervention pair has a Normal belief about `θ`:
//!
//! - **Prior mean** = `base × factor`. `base` is the population's expected
//!   gain: the trained population mean when a trained [`PopulationModel`] has
//!   one, else the catalogue's `prior_effect`, mixed with the mean gain of the
//!   person's nearest reference profiles (smartcore KNN over standardised
//!   process levels) with weight `neighbour_weight × m / (m + 5)`, `m` being the
//!   neighbours' rows on that intervention, so sparse neighbours barely count.
//!   `factor` personalises it through the processes it targets: the person's
//!   leverage on those processes (their lagged influence on well-being times
//!   the room left, see `rank`) relative to the population's leverage. A
//!   typical person at cold start gets `factor = 1`, i.e. the catalogue's
//!   number. The factor is clamped to `[-1, 4]`: the network can reverse or
//!   amplify an effect, but not without limit on a few noisy observations.
//! - **Prior variance** = `σ² / prior_strength` (`σ` = [`PopulationModel::benefit_noise_sd`],
//!   the noise of one benefit signal, so `prior_strength` reads as
//!   pseudo-observations) plus `base² Var(factor)`, the uncertainty of the
//!   person's own network: idiographic influences are uncertain and we say so.
//! - **Data** enter as Gaussian signals with their own variances and are kept
//!   as sufficient statistics ([`BenefitStats`]: total precision and
//!   precision-weighted sum), not as a posterior, so the prior can be
//!   recomputed at every ranking as the person's profile, network or the
//!   population model change. The posterior is the usual conjugate Normal
//!   combination.
//!
//! # From feedback to a benefit signal (only for what was done)
//! - **Helpfulness** `h` (0-100): `(h - 50) / 50 × 10` points, variance 10².
//!   50 is "neither"; a very helpful exercise (100) reads as a 10-point gain,
//!   about a PHQ-9 minimal-important-difference on our 0-100 scale. People rate
//!   politely, so this signal is noisy and weighted like one pseudo-observation.
//! - **Process change**: post ratings of the targeted processes against the
//!   person's smoothed level before, mapped to well-being through the person's
//!   lagged influences and their persistence `1 / (1 - ρ)` (ρ = well-being
//!   autoregression, capped at 0.8). Its variance propagates rating noise (10
//!   points per pole) and the influences' uncertainty, with a floor of 2².
//! - **Next outcome**: the change of well-being at the next assessment within
//!   7 days, against the smoothed level when the feedback came, split between
//!   the interventions done in between; variance 12², because everything else
//!   in a life moves well-being too.
//! - Partly done: every signal counts half (precision × 0.5). Not done: no
//!   benefit signal (`θ` is the gain *when done*; not doing it is follow-through's
//!   business). SUDS before/after is not used: within-session distress
//!   reduction does not track outcome well (inhibitory-learning accounts of
//!   exposure), so it stays in the event log for research rather than biasing `θ`.
//! - Habituation and repetition are applied at ranking time; signals are not
//!   de-habituated (a simplification: repeated kernels teach slightly low).

use crate::catalog::{InterventionCatalog, ProcessCatalog};
use crate::error::{EngineError, Result};
use crate::follow::FollowPrior;
use crate::ids::{InterventionId, ProcessId};
use crate::insights::RecoveryPrior;
use crate::network;
use serde::{Deserialize, Serialize};
use smartcore::algorithm::neighbour::linear_search::LinearKNNSearch;
use smartcore::metrics::distance::euclidian::Euclidian;
use std::collections::BTreeMap;

/// Population autoregression of every variable in the catalogue prior network.
const PRIOR_AUTOREGRESSION: f64 = 0.5;
/// Population lagged effect of one point of a pole on next-step well-being
/// (+ for adaptive, - for maladaptive): 0.3 points per 10 points.
const PRIOR_OUTCOME_LINK: f64 = 0.03;
/// Population within-person innovation sd of any variable (0-100 scale).
const PRIOR_INNOVATION_SD: f64 = 10.0;
/// Population prior mean and sd of well-being at intake.
const PRIOR_WELLBEING_MEAN: f64 = 45.0;
const PRIOR_WELLBEING_SD: f64 = 20.0;
/// Rows of evidence at which neighbours get half of `neighbour_weight`.
const NEIGHBOUR_HALF_ROWS: f64 = 5.0;
/// Pseudo-rows of the catalogue prior when fitting population effects.
const FIT_PRIOR_ROWS: f64 = 5.0;

/// Variance of one helpfulness signal.
pub const HELPFULNESS_VAR: f64 = 100.0;
/// Variance of one next-outcome signal.
pub const OUTCOME_CHANGE_VAR: f64 = 144.0;
/// Smallest variance of a process-change signal.
pub const PROCESS_CHANGE_MIN_VAR: f64 = 4.0;
/// Rating noise of one pole (sd, points).
pub const RATING_NOISE_SD: f64 = 10.0;

/// Population-level knowledge: response priors per intervention (from the
/// catalogue or a trained artifact), the population process network, and
/// reference profiles for similar-person pooling. Serialisable: `tutti train`
/// writes it as a versioned artifact that the server loads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationModel {
    /// Version string, e.g. `catalog-prior` or `trained-2026-11-25-ab12cd`.
    pub version: String,
    /// Process order of every per-variable vector (network layout, see [`network`]).
    pub processes: Vec<ProcessId>,
    /// Population network `B0`, row-major `d x d` (`target * d + source`).
    pub network: Vec<f64>,
    /// Population mean of each variable (imputation, headroom at cold start).
    pub variable_mean: Vec<f64>,
    /// Between-person sd of each variable (KNN standardisation).
    pub variable_sd: Vec<f64>,
    /// Within-person innovation sd of each variable.
    pub innovation_sd: Vec<f64>,
    /// Sd of one benefit signal, the unit of `prior_strength`.
    pub benefit_noise_sd: f64,
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

/// A population mean gain and the rows behind it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EffectPrior {
    /// Mean gain in well-being points when done.
    pub mean: f64,
    /// Observations behind it.
    pub n: u32,
}

/// One reference person: process levels and what helped them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceProfile {
    /// Levels of every network variable (0-100), in [`PopulationModel::processes`] layout.
    pub features: Vec<f64>,
    /// Mean observed gain per intervention.
    pub effects: BTreeMap<InterventionId, EffectPrior>,
}

/// One training row for [`PopulationModel::fit`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingRow {
    /// Pseudonymous person key; rows of one person form one reference profile.
    pub person: String,
    /// The person's levels of every network variable (0-100) when it was done.
    pub profile: Vec<f64>,
    /// The intervention.
    pub intervention: InterventionId,
    /// Observed well-being gain (points).
    pub benefit: f64,
}

impl PopulationModel {
    /// The cold-start model (`version = "catalog-prior"`): population means from
    /// the process catalogue, a population network in which every adaptive pole
    /// helps and every maladaptive pole hurts next-step well-being equally
    /// (0.3 points per 10), each variable persists with autoregression 0.5,
    /// no trained effects and no reference profiles. Equal links are a
    /// deliberate "we do not know yet": the person's data decide which
    /// processes matter for them.
    pub fn from_catalog(_interventions: &InterventionCatalog, processes: &ProcessCatalog) -> Self {
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
            benefit_noise_sd: 10.0,
            effects: BTreeMap::new(),
            profiles: Vec::new(),
            follow: FollowPrior::default(),
            recovery: RecoveryPrior::default(),
        }
    }

    /// A trained model: population mean gains per intervention (the sample
    /// mean shrunk toward the catalogue prior by 5 pseudo-rows) and one
    /// reference profile per training person (mean profile, mean gain per
    /// intervention). Everything else starts from [`Self::from_catalog`].
    pub fn fit(
        version: impl Into<String>,
        rows: &[TrainingRow],
        interventions: &InterventionCatalog,
        processes: &ProcessCatalog,
    ) -> Result<Self> {
        let mut model = Self::from_catalog(interventions, processes);
        model.version = version.into();
        let d = model.variable_mean.len();
        struct Acc {
            sum: f64,
            n: u32,
        }
        let mut totals: BTreeMap<&InterventionId, Acc> = BTreeMap::new();
        /// Per training person: summed profile, rows, per-intervention sums.
        type Person<'r> = (Vec<f64>, u32, BTreeMap<&'r InterventionId, Acc>);
        let mut people: BTreeMap<&str, Person<'_>> = BTreeMap::new();
        for r in rows {
            let Some(iv) = interventions.get(&r.intervention) else {
                return Err(EngineError::UnknownIntervention(r.intervention.to_string()));
            };
            if r.profile.len() != d
                || !r
                    .profile
                    .iter()
                    .all(|v| v.is_finite() && (0.0..=100.0).contains(v))
                || !r.benefit.is_finite()
            {
                return Err(EngineError::InvalidObservation(format!(
                    "training row for `{}`: profile must have {d} values in [0, 100] and a finite benefit",
                    iv.id
                )));
            }
            let t = totals
                .entry(&r.intervention)
                .or_insert(Acc { sum: 0.0, n: 0 });
            t.sum += r.benefit;
            t.n += 1;
            let (prof, n, effects) = people
                .entry(r.person.as_str())
                .or_insert_with(|| (vec![0.0; d], 0, BTreeMap::new()));
            for (a, v) in prof.iter_mut().zip(&r.profile) {
                *a += v;
            }
            *n += 1;
            let e = effects
                .entry(&r.intervention)
                .or_insert(Acc { sum: 0.0, n: 0 });
            e.sum += r.benefit;
            e.n += 1;
        }
        for (id, acc) in totals {
            let prior = interventions.get(id).map_or(0.0, |iv| iv.prior_effect);
            let mean = (FIT_PRIOR_ROWS * prior + acc.sum) / (FIT_PRIOR_ROWS + f64::from(acc.n));
            model
                .effects
                .insert(id.clone(), EffectPrior { mean, n: acc.n });
        }
        model.profiles = people
            .into_values()
            .map(|(sum, n, effects)| ReferenceProfile {
                features: sum.iter().map(|s| s / f64::from(n)).collect(),
                effects: effects
                    .into_iter()
                    .map(|(id, a)| {
                        (
                            id.clone(),
                            EffectPrior {
                                mean: a.sum / f64::from(a.n),
                                n: a.n,
                            },
                        )
                    })
                    .collect(),
            })
            .collect();
        Ok(model)
    }

    /// Checks that the model fits a process catalogue (same processes, same
    /// order) and that its vectors have the sizes the layout implies.
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
        let d = network::variable_count(processes.len());
        let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
        let ok = self.network.len() == d * d
            && self.variable_mean.len() == d
            && self.variable_sd.len() == d
            && self.innovation_sd.len() == d
            && finite(&self.network)
            && finite(&self.variable_mean)
            && self
                .variable_sd
                .iter()
                .chain(&self.innovation_sd)
                .all(|v| v.is_finite() && *v > 0.0)
            && self.benefit_noise_sd.is_finite()
            && self.benefit_noise_sd > 0.0
            && self
                .profiles
                .iter()
                .all(|p| p.features.len() == d && finite(&p.features))
            && self.effects.values().all(|e| e.mean.is_finite());
        if !ok {
            return Err(EngineError::IncompatibleState(format!(
                "population model `{}` has vectors that do not fit {d} variables, or non-finite values",
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
    /// (`innovation² / (1 - b0_ii²)`): the spread of the network's
    /// pseudo-observations, so that `network_shrinkage` counts observations of
    /// a typical person (see [`network`]).
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

/// Nearest-neighbour search over the reference profiles (standardised by the
/// population sd so every pole counts alike). Built once per engine.
pub struct NeighbourIndex {
    search: LinearKNNSearch<Vec<f64>, Euclidian<f64>>,
    scale: Vec<f64>,
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
        let scale: Vec<f64> = model
            .variable_sd
            .iter()
            .map(|s| 1.0 / s.max(1e-6))
            .collect();
        let data = model
            .profiles
            .iter()
            .map(|p| p.features.iter().zip(&scale).map(|(x, s)| x * s).collect())
            .collect();
        let search = LinearKNNSearch::new(data, Euclidian::new()).ok()?;
        Some(Self {
            search,
            scale,
            len: model.profiles.len(),
        })
    }

    /// The `k` nearest reference profiles to `features` (0-100 levels), as
    /// `(profile index, standardised distance)`, nearest first.
    pub fn nearest(&self, features: &[f64], k: usize) -> Vec<(usize, f64)> {
        if features.len() != self.scale.len() || k == 0 {
            return Vec::new();
        }
        let q: Vec<f64> = features
            .iter()
            .zip(&self.scale)
            .map(|(x, s)| x * s)
            .collect();
        let mut found: Vec<(usize, f64)> = self
            .search
            .find(&q, k.min(self.len))
            .map(|v| v.into_iter().map(|(i, dist, _)| (i, dist)).collect())
            .unwrap_or_default();
        found.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        found
    }
}

/// What similar people say about one intervention.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NeighbourEvidence {
    /// Distance-weighted mean gain among neighbours who did it.
    pub mean: f64,
    /// Rows behind it.
    pub rows: u32,
}

/// Pools the neighbours' evidence on `id` (weights `1 / (1 + distance)`).
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

/// The population base gain mixed with neighbours: weight
/// `neighbour_weight × rows / (rows + 5)` on the neighbours.
pub fn pooled_base(
    population: f64,
    neighbours: Option<NeighbourEvidence>,
    neighbour_weight: f64,
) -> f64 {
    match neighbours {
        Some(nb) => {
            let rows = f64::from(nb.rows);
            let w = neighbour_weight * rows / (rows + NEIGHBOUR_HALF_ROWS);
            (1.0 - w) * population + w * nb.mean
        }
        None => population,
    }
}

/// Sufficient statistics of the benefit signals for one person x intervention.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct BenefitStats {
    /// Sum of signal precisions.
    pub precision: f64,
    /// Sum of precision x value.
    pub weighted_sum: f64,
    /// Signals folded in.
    pub signals: u32,
}

impl BenefitStats {
    /// Folds in one signal `value` with variance `var`, weighted by `weight`
    /// (1 done, 0.5 partly).
    pub fn add(&mut self, value: f64, var: f64, weight: f64) {
        if !(value.is_finite() && var.is_finite() && var > 0.0 && weight > 0.0) {
            return;
        }
        let prec = weight / var;
        self.precision += prec;
        self.weighted_sum += prec * value;
        self.signals += 1;
    }
}

/// A Normal belief about a gain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Belief {
    /// Mean.
    pub mean: f64,
    /// Variance.
    pub var: f64,
}

/// Conjugate Normal posterior from a prior and the data's sufficient statistics.
pub fn posterior(prior: Belief, data: &BenefitStats) -> Belief {
    let prior_prec = 1.0 / prior.var.max(1e-9);
    let prec = prior_prec + data.precision.max(0.0);
    Belief {
        mean: (prior_prec * prior.mean + data.weighted_sum) / prec,
        var: 1.0 / prec,
    }
}

/// The helpfulness signal: `(h - 50) / 50 × 10` points.
pub fn helpfulness_signal(h: f64) -> f64 {
    (h.clamp(0.0, 100.0) - 50.0) / 50.0 * 10.0
}

/// One pole's change and how it reaches well-being.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoleChange {
    /// Post rating minus smoothed level before (points).
    pub change: f64,
    /// Lagged influence of the pole on well-being (per point).
    pub influence: f64,
    /// Standard error of the influence.
    pub influence_se: f64,
}

/// The process-change signal: `(value, variance)`, or `None` without changes.
pub fn process_change_signal(changes: &[PoleChange], autoregression: f64) -> Option<(f64, f64)> {
    if changes.is_empty() {
        return None;
    }
    let persistence = 1.0 / (1.0 - autoregression.clamp(0.0, 0.8));
    let mut value = 0.0;
    let mut var = 0.0;
    for c in changes {
        value += c.influence * c.change;
        var += c.influence.powi(2) * RATING_NOISE_SD.powi(2)
            + c.change.powi(2) * c.influence_se.powi(2);
    }
    Some((
        persistence * value,
        (persistence.powi(2) * var).max(PROCESS_CHANGE_MIN_VAR),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Intervention, Modality, Process, Target};

    fn processes() -> ProcessCatalog {
        let p = |id: &str| Process {
            id: ProcessId::from(id),
            display_name: id.into(),
            dimension: id.into(),
            adaptive_pole: "a".into(),
            maladaptive_pole: "m".into(),
            prior_adaptive_mean: 45.0,
            prior_maladaptive_mean: 55.0,
            prior_sd: 20.0,
            min_observations: 20,
        };
        ProcessCatalog::new(vec![p("affect"), p("social")]).expect("valid")
    }

    fn interventions(pc: &ProcessCatalog) -> InterventionCatalog {
        let iv = |id: &str, process: &str, effect: f64| Intervention {
            id: InterventionId::from(id),
            display_name: id.into(),
            family: id.into(),
            instructions: "do".into(),
            targets: vec![Target {
                process: ProcessId::from(process),
                weight: 1.0,
            }],
            effort_minutes: 5,
            modality: Modality::App,
            requires_clinician: false,
            contraindications: vec![],
            min_days_between: 0,
            evidence: "e".into(),
            prior_effect: effect,
            built_in: false,
            safety: false,
            follow_through_aid: false,
        };
        InterventionCatalog::new(vec![iv("a", "affect", 2.0), iv("b", "social", 3.0)], pc)
            .expect("valid")
    }

    #[test]
    fn catalog_model_fits_its_catalogue_and_has_a_sensible_network() {
        let pc = processes();
        let m = PopulationModel::from_catalog(&interventions(&pc), &pc);
        assert_eq!(m.version, "catalog-prior");
        assert_eq!(m.validate(&pc), Ok(()));
        let d = 5;
        assert_eq!(m.network[4 * d], PRIOR_OUTCOME_LINK);
        assert_eq!(m.network[4 * d + 1], -PRIOR_OUTCOME_LINK);
        assert_eq!(m.network[4 * d + 4], PRIOR_AUTOREGRESSION);
        let other = ProcessCatalog::new(vec![pc.all()[1].clone()]).expect("valid");
        assert!(matches!(
            m.validate(&other),
            Err(EngineError::IncompatibleState(_))
        ));
    }

    #[test]
    fn fit_pools_rows_and_builds_profiles() {
        let pc = processes();
        let ic = interventions(&pc);
        let row = |person: &str, level: f64, iv: &str, benefit: f64| TrainingRow {
            person: person.into(),
            profile: vec![level; 5],
            intervention: InterventionId::from(iv),
            benefit,
        };
        let rows = vec![
            row("p1", 20.0, "a", 10.0),
            row("p1", 20.0, "a", 8.0),
            row("p2", 80.0, "a", -2.0),
            row("p2", 80.0, "b", 6.0),
        ];
        let m = PopulationModel::fit("trained-test", &rows, &ic, &pc).expect("fits");
        assert_eq!(m.version, "trained-test");
        assert_eq!(m.profiles.len(), 2);
        let a = m.effects[&InterventionId::from("a")];
        assert_eq!(a.n, 3);
        // (5 × 2 + 16) / 8
        assert!((a.mean - 26.0 / 8.0).abs() < 1e-12);
        assert_eq!(m.validate(&pc), Ok(()));

        let idx = NeighbourIndex::new(&m).expect("has profiles");
        let near_low = idx.nearest(&[25.0; 5], 1);
        assert_eq!(near_low.len(), 1);
        let ev = neighbour_evidence(&m, &near_low, &InterventionId::from("a")).expect("p1 did a");
        assert!((ev.mean - 9.0).abs() < 1e-12);
        let near_high = idx.nearest(&[75.0; 5], 1);
        let ev = neighbour_evidence(&m, &near_high, &InterventionId::from("a")).expect("p2 did a");
        assert!((ev.mean + 2.0).abs() < 1e-12);

        let bad = vec![row("p1", 20.0, "zzz", 1.0)];
        assert!(PopulationModel::fit("x", &bad, &ic, &pc).is_err());
        let short = vec![TrainingRow {
            profile: vec![1.0; 2],
            ..row("p1", 20.0, "a", 1.0)
        }];
        assert!(PopulationModel::fit("x", &short, &ic, &pc).is_err());
    }

    #[test]
    fn neighbours_pull_the_base_in_proportion_to_their_evidence() {
        let few = Some(NeighbourEvidence {
            mean: 10.0,
            rows: 1,
        });
        let many = Some(NeighbourEvidence {
            mean: 10.0,
            rows: 100,
        });
        let b_few = pooled_base(2.0, few, 0.5);
        let b_many = pooled_base(2.0, many, 0.5);
        assert!(2.0 < b_few && b_few < b_many && b_many < 6.0 + 1e-9);
        assert_eq!(pooled_base(2.0, many, 0.0), 2.0);
        assert_eq!(pooled_base(2.0, None, 1.0), 2.0);
    }

    #[test]
    fn helpful_feedback_raises_the_posterior_and_unhelpful_lowers_it() {
        let prior = Belief {
            mean: 2.0,
            var: 20.0,
        };
        let mut up = BenefitStats::default();
        let mut down = BenefitStats::default();
        for _ in 0..3 {
            up.add(helpfulness_signal(90.0), HELPFULNESS_VAR, 1.0);
            down.add(helpfulness_signal(10.0), HELPFULNESS_VAR, 1.0);
        }
        let pu = posterior(prior, &up);
        let pd = posterior(prior, &down);
        assert!(pu.mean > prior.mean && pd.mean < prior.mean);
        assert!(pu.var < prior.var);
        // Half-weight signals move it less.
        let mut half = BenefitStats::default();
        for _ in 0..3 {
            half.add(helpfulness_signal(90.0), HELPFULNESS_VAR, 0.5);
        }
        let ph = posterior(prior, &half);
        assert!(prior.mean < ph.mean && ph.mean < pu.mean);
        // Garbage signals are ignored.
        let mut g = BenefitStats::default();
        g.add(f64::NAN, 1.0, 1.0);
        g.add(1.0, 0.0, 1.0);
        assert_eq!(g, BenefitStats::default());
    }

    #[test]
    fn process_change_maps_through_influence() {
        let improve = [
            PoleChange {
                change: 10.0,
                influence: 0.05,
                influence_se: 0.01,
            },
            PoleChange {
                change: -10.0,
                influence: -0.05,
                influence_se: 0.01,
            },
        ];
        let (v, var) = process_change_signal(&improve, 0.5).expect("has changes");
        assert!((v - 2.0).abs() < 1e-12);
        assert!(var >= PROCESS_CHANGE_MIN_VAR);
        let worsen = [PoleChange {
            change: -10.0,
            influence: 0.05,
            influence_se: 0.01,
        }];
        assert!(process_change_signal(&worsen, 0.5).expect("has").0 < 0.0);
        assert_eq!(process_change_signal(&[], 0.5), None);
    }
}

//! Whether an off-policy estimate can be trusted: effective sample size,
//! overlap between the target and logging policies, the tail of the
//! importance weights, and clipping, turned into typed warnings with
//! plain-language messages for a data scientist's table.

use super::OffPolicyData;
use super::estimate::Clipped;
use serde::{Deserialize, Serialize};
use std::fmt;

/// When a diagnostic becomes a warning.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiagnosticThresholds {
    /// A logging probability below this counts as poor overlap (its weight
    /// would exceed `1 / min_propensity`).
    pub min_propensity: f64,
    /// Warn when the target's average probability on actions logged with
    /// `0 < μ < min_propensity` exceeds this.
    pub max_low_overlap_mass: f64,
    /// Warn when the target's average probability on actions outside the
    /// logging support (`μ = 0`) exceeds this.
    pub max_unsupported_mass: f64,
    /// Warn when the mean importance weight is further than this from one
    /// (and more than three standard errors away).
    pub max_weight_mean_deviation: f64,
    /// Warn when the effective sample size is below this many decisions ...
    pub min_ess: f64,
    /// ... or below this share of the decisions.
    pub min_ess_fraction: f64,
    /// Warn when the Pareto tail shape of the weights exceeds this (0.7 is the
    /// PSIS rule: beyond it importance sampling is unreliable in practice).
    pub max_pareto_k: f64,
    /// Warn when one decision carries more than this share of the total weight.
    pub max_weight_share: f64,
    /// Warn when more than this share of decisions had their weight clipped.
    pub max_clipped_fraction: f64,
}

impl Default for DiagnosticThresholds {
    fn default() -> Self {
        Self {
            min_propensity: 0.05,
            max_low_overlap_mass: 0.05,
            max_unsupported_mass: 0.001,
            max_weight_mean_deviation: 0.05,
            min_ess: 100.0,
            min_ess_fraction: 0.01,
            max_pareto_k: 0.7,
            max_weight_share: 0.05,
            max_clipped_fraction: 0.05,
        }
    }
}

/// Facts about the importance weights of a log under a target policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// Decisions.
    pub n: usize,
    /// Kish effective sample size of the unclipped weights.
    pub effective_sample_size: f64,
    /// Mean unclipped weight; about one when propensities are right and the
    /// target stays within the logging support.
    pub mean_weight: f64,
    /// Standard error of `mean_weight`.
    pub mean_weight_std_error: f64,
    /// Largest unclipped weight.
    pub max_weight: f64,
    /// Largest weight over the sum of weights.
    pub max_weight_share: f64,
    /// Estimated generalised-Pareto shape of the upper tail of the weights
    /// (PSIS `k̂`); `None` when the tail is too short or too discrete to fit.
    pub pareto_k: Option<f64>,
    /// Target's average probability on actions logged with
    /// `0 < μ < min_propensity`: exact where the full logging distribution is
    /// known, otherwise estimated from the taken actions (unbiased, noisier).
    pub low_overlap_mass: f64,
    /// Target's average probability on actions with `μ = 0`, over the
    /// decisions whose full logging distribution is known (`None` if none).
    pub unsupported_mass: Option<f64>,
    /// Decisions where the target puts probability on an action with `μ = 0`.
    pub unsupported_decisions: usize,
    /// Decisions that carry the full logging distribution.
    pub with_logging_distribution: usize,
    /// Share of decisions whose weight the clipping threshold caps.
    pub clipped_fraction: f64,
    /// Problems found, most fundamental first.
    pub warnings: Vec<OpeWarning>,
}

/// A reason to distrust an off-policy estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OpeWarning {
    /// No logged action has positive target probability.
    NoOverlap,
    /// The target puts probability where the logging policy never goes.
    UnsupportedActions {
        /// Average target probability outside the support.
        mass: f64,
        /// Decisions affected.
        decisions: usize,
    },
    /// The target leans on actions the logging policy rarely took.
    PoorOverlap {
        /// Average target probability on rarely logged actions.
        mass: f64,
        /// The "rarely" threshold on the logging probability.
        min_propensity: f64,
    },
    /// The weights do not average one.
    WeightsDoNotAverageOne {
        /// Mean weight.
        mean_weight: f64,
        /// Its standard error.
        std_error: f64,
    },
    /// Too few effective decisions.
    LowEffectiveSampleSize {
        /// Kish effective sample size.
        effective_sample_size: f64,
        /// Decisions.
        n: usize,
    },
    /// A few decisions dominate.
    HeavyTailedWeights {
        /// Largest weight.
        max_weight: f64,
        /// Its share of the total weight.
        max_weight_share: f64,
        /// Pareto tail shape, if fitted.
        pareto_k: Option<f64>,
    },
    /// Many weights were clipped.
    HeavyClipping {
        /// The maximum weight used.
        clip: f64,
        /// Share of decisions clipped.
        clipped_fraction: f64,
    },
}

impl OpeWarning {
    /// Stable short code for filtering (`low_effective_sample_size`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoOverlap => "no_overlap",
            Self::UnsupportedActions { .. } => "unsupported_actions",
            Self::PoorOverlap { .. } => "poor_overlap",
            Self::WeightsDoNotAverageOne { .. } => "weights_do_not_average_one",
            Self::LowEffectiveSampleSize { .. } => "low_effective_sample_size",
            Self::HeavyTailedWeights { .. } => "heavy_tailed_weights",
            Self::HeavyClipping { .. } => "heavy_clipping",
        }
    }

    /// What is wrong and what it means, in plain language.
    pub fn message(&self) -> String {
        match *self {
            Self::NoOverlap => {
                "The target policy never chooses any action that was actually taken in \
                 this log, so the log says nothing about it: no estimate is possible."
                    .into()
            }
            Self::UnsupportedActions { mass, decisions } => format!(
                "In {decisions} decisions the target chooses interventions the logging policy never \
                 chooses there ({} of the target's probability on average). The log cannot say how \
                 those would have gone: IPS and SNIPS leave them out and DR relies on its reward \
                 model's guess, so all estimates are biased by an unknown amount.",
                percent(mass)
            ),
            Self::PoorOverlap {
                mass,
                min_propensity,
            } => format!(
                "The target puts {} of its probability on interventions the logging policy chose \
                 less than {} of the time. A decision that took one of them can weigh more than \
                 {:.0} ordinary decisions, so a few decisions dominate the estimate: expect wide or \
                 unreliable intervals. A propensity floor when logging, or clipping here, helps.",
                percent(mass),
                percent(min_propensity),
                1.0 / min_propensity
            ),
            Self::WeightsDoNotAverageOne {
                mean_weight,
                std_error,
            } => {
                let cause = if mean_weight < 1.0 {
                    format!(
                        "either the target puts about {} of its probability where the logging \
                         policy never goes, or the logged propensities are too large",
                        percent(1.0 - mean_weight)
                    )
                } else {
                    "the logged propensities look too small: they may not be the probabilities \
                     the logging policy actually used"
                        .to_owned()
                };
                format!(
                    "The importance weights average {mean_weight:.2} (standard error \
                     {std_error:.2}) where they should average 1: {cause}. Check the log before \
                     trusting any estimate."
                )
            }
            Self::LowEffectiveSampleSize {
                effective_sample_size,
                n,
            } => {
                let why = if effective_sample_size > 0.5 * n as f64 {
                    "there are too few decisions to trust it"
                } else {
                    "the target differs so much from the logging policy that most decisions \
                     tell little about it"
                };
                format!(
                    "The estimate effectively rests on {effective_sample_size:.0} of {n} decisions \
                     (effective sample size): {why}. Treat the result as exploratory."
                )
            }
            Self::HeavyTailedWeights {
                max_weight,
                max_weight_share,
                pareto_k,
            } => {
                let k = pareto_k.map_or(String::new(), |k| format!(", tail shape k = {k:.2}"));
                format!(
                    "A few decisions carry much of the weight (largest weight {max_weight:.1}, \
                     {} of the total{k}). The estimate can swing with one decision and its \
                     interval is likely too narrow. Clip the weights or collect more exploratory \
                     data.",
                    percent(max_weight_share)
                )
            }
            Self::HeavyClipping {
                clip,
                clipped_fraction,
            } => format!(
                "{} of decisions had their weight capped at {clip}. Clipping lowers variance but \
                 biases the estimates (IPS downward for non-negative rewards, SNIPS toward the \
                 actions the logging policy favoured, DR toward its reward model).",
                percent(clipped_fraction)
            ),
        }
    }
}

impl fmt::Display for OpeWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p != 0.0 && p.abs() < 1.0 {
        format!("{p:.1}%")
    } else {
        format!("{p:.0}%")
    }
}

/// Kish effective sample size `(Σw)² / Σw²`: how many equally weighted
/// decisions the weighted sample is worth. Between 1 and `n` when any weight
/// is positive; 0 when none is.
pub fn effective_sample_size(weights: &[f64]) -> f64 {
    let sum: f64 = weights.iter().sum();
    let sum_sq: f64 = weights.iter().map(|w| w * w).sum();
    if sum_sq > 0.0 {
        sum * sum / sum_sq
    } else {
        0.0
    }
}

/// The shape `k̂` of a generalised Pareto distribution fitted to the upper
/// tail of `weights`, as in Pareto-smoothed importance sampling (Vehtari et
/// al. 2024): the tail is the largest `min(0.2 n, 3 √n)` weights, fitted by
/// Zhang and Stephens' (2009) empirical-Bayes estimator with its weakly
/// informative adjustment. Larger is heavier; above 0.7 the variance of an
/// importance-sampling estimate is effectively unbounded for the sample at
/// hand. `None` when the tail has fewer than 5 weights or is too discrete
/// (a quarter or more of it tied at its threshold), as happens with a few
/// distinct propensities; the largest-weight share is the fallback then.
pub fn pareto_k(weights: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = weights.iter().copied().filter(|w| w.is_finite()).collect();
    let n = sorted.len();
    let tail = (0.2 * n as f64)
        .ceil()
        .min((3.0 * (n as f64).sqrt()).ceil()) as usize;
    if tail < 5 || tail >= n {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let cutoff = sorted[n - tail - 1];
    let exceedances: Vec<f64> = sorted[n - tail..].iter().map(|w| w - cutoff).collect();
    gpd_shape(&exceedances)
}

/// Zhang-Stephens estimate of the GPD shape from sorted, non-negative
/// exceedances (port of `gpdfit` in the R package loo).
fn gpd_shape(x: &[f64]) -> Option<f64> {
    let n = x.len();
    let nf = n as f64;
    let x_max = *x.last()?;
    let first_quartile = x[((nf / 4.0 + 0.5).floor() as usize).saturating_sub(1)];
    if !(first_quartile > 0.0 && x_max > 0.0) {
        return None;
    }
    const PRIOR: f64 = 3.0;
    let grid = 30 + nf.sqrt().floor() as usize;
    let thetas: Vec<f64> = (1..=grid)
        .map(|j| {
            1.0 / x_max + (1.0 - (grid as f64 / (j as f64 - 0.5)).sqrt()) / PRIOR / first_quartile
        })
        .collect();
    let profile: Vec<f64> = thetas
        .iter()
        .map(|&theta| {
            let k = x.iter().map(|xi| (-theta * xi).ln_1p()).sum::<f64>() / nf;
            let l = nf * ((-theta / k).ln() - k - 1.0);
            if l.is_finite() { l } else { f64::NEG_INFINITY }
        })
        .collect();
    let top = profile.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !top.is_finite() {
        return None;
    }
    let weights: Vec<f64> = profile.iter().map(|l| (l - top).exp()).collect();
    let total: f64 = weights.iter().sum();
    let theta_hat = thetas.iter().zip(&weights).map(|(t, w)| t * w).sum::<f64>() / total;
    let k = x.iter().map(|xi| (-theta_hat * xi).ln_1p()).sum::<f64>() / nf;
    // Weakly informative prior pulling toward 0.5 with 10 pseudo-observations.
    let k = k * nf / (nf + 10.0) + 10.0 * 0.5 / (nf + 10.0);
    k.is_finite().then_some(k)
}

/// Diagnoses `data` under an optional clipping threshold.
pub fn diagnose(
    data: &OffPolicyData<'_>,
    clip: Option<f64>,
    thresholds: &DiagnosticThresholds,
) -> Diagnostics {
    let weights = data.weights();
    let n = data.len();
    let nf = n as f64;
    let total: f64 = weights.iter().sum();
    let mean_weight = total / nf;
    let mean_weight_std_error = if n > 1 {
        let var = weights
            .iter()
            .map(|w| (w - mean_weight).powi(2))
            .sum::<f64>()
            / (nf - 1.0);
        (var / nf).sqrt()
    } else {
        0.0
    };
    let max_weight = weights.iter().copied().fold(0.0, f64::max);
    let max_weight_share = if total > 0.0 { max_weight / total } else { 0.0 };
    let ess = effective_sample_size(weights);
    let pareto_k = pareto_k(weights);
    let clipped_fraction = Clipped::new(weights, clip).clipped_fraction;

    let t = thresholds.min_propensity;
    let mut low_mass = 0.0;
    let mut unsupported_mass = 0.0;
    let mut unsupported_decisions = 0;
    let mut with_distribution = 0;
    for (i, decision) in data.decisions().iter().enumerate() {
        let target = &data.targets()[i];
        match &decision.logging_distribution {
            Some(logging) => {
                with_distribution += 1;
                let mut outside = 0.0;
                for (p, mu) in target.iter().zip(logging) {
                    if *mu <= 0.0 {
                        outside += p;
                    } else if *mu < t {
                        low_mass += p;
                    }
                }
                unsupported_mass += outside;
                if outside > 0.0 {
                    unsupported_decisions += 1;
                }
            }
            // E_μ[w 1{μ(A) < t}] = Σ_{a: 0 < μ(a) < t} π(a).
            None if decision.propensity < t => low_mass += weights[i],
            None => {}
        }
    }
    let low_overlap_mass = low_mass / nf;
    let unsupported_mass =
        (with_distribution > 0).then(|| unsupported_mass / with_distribution as f64);

    let mut warnings = Vec::new();
    if total <= 0.0 {
        warnings.push(OpeWarning::NoOverlap);
    }
    if let Some(mass) = unsupported_mass
        && mass > thresholds.max_unsupported_mass
    {
        warnings.push(OpeWarning::UnsupportedActions {
            mass,
            decisions: unsupported_decisions,
        });
    }
    let deviation = (mean_weight - 1.0).abs();
    if total > 0.0
        && deviation > thresholds.max_weight_mean_deviation
        && deviation > 3.0 * mean_weight_std_error
    {
        warnings.push(OpeWarning::WeightsDoNotAverageOne {
            mean_weight,
            std_error: mean_weight_std_error,
        });
    }
    if low_overlap_mass > thresholds.max_low_overlap_mass {
        warnings.push(OpeWarning::PoorOverlap {
            mass: low_overlap_mass,
            min_propensity: t,
        });
    }
    if total > 0.0 && (ess < thresholds.min_ess || ess < thresholds.min_ess_fraction * nf) {
        warnings.push(OpeWarning::LowEffectiveSampleSize {
            effective_sample_size: ess,
            n,
        });
    }
    let heavy_k = pareto_k.is_some_and(|k| k > thresholds.max_pareto_k);
    if total > 0.0 && (heavy_k || max_weight_share > thresholds.max_weight_share) {
        warnings.push(OpeWarning::HeavyTailedWeights {
            max_weight,
            max_weight_share,
            pareto_k,
        });
    }
    if let Some(clip) = clip
        && clipped_fraction > thresholds.max_clipped_fraction
    {
        warnings.push(OpeWarning::HeavyClipping {
            clip,
            clipped_fraction,
        });
    }

    Diagnostics {
        n,
        effective_sample_size: ess,
        mean_weight,
        mean_weight_std_error,
        max_weight,
        max_weight_share,
        pareto_k,
        low_overlap_mass,
        unsupported_mass,
        unsupported_decisions,
        with_logging_distribution: with_distribution,
        clipped_fraction,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Draws from a generalised Pareto with shape `k` (scale 1).
    fn gpd_sample(k: f64, n: usize, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let u: f64 = rng.random();
                if k == 0.0 {
                    -(1.0 - u).ln()
                } else {
                    ((1.0 - u).powf(-k) - 1.0) / k
                }
            })
            .collect()
    }

    #[test]
    fn pareto_k_recovers_known_tail_shapes() {
        for (k, seed) in [(1.0, 1), (0.5, 2), (0.0, 3), (-0.5, 4)] {
            let est = pareto_k(&gpd_sample(k, 4000, seed)).expect("fits");
            assert!((est - k).abs() < 0.25, "k = {k}: estimated {est}");
        }
        // Heavy and light tails are told apart, which is what the warning needs.
        let heavy = pareto_k(&gpd_sample(1.2, 1000, 5)).expect("fits");
        let light = pareto_k(&gpd_sample(0.1, 1000, 6)).expect("fits");
        assert!(heavy > 0.7 && light < 0.5, "{heavy} {light}");
    }

    #[test]
    fn pareto_k_declines_short_or_discrete_tails() {
        assert_eq!(pareto_k(&[1.0, 2.0, 3.0]), None);
        let discrete: Vec<f64> = (0..1000).map(|i| [0.0, 1.0, 2.0][i % 3]).collect();
        assert_eq!(pareto_k(&discrete), None);
    }

    #[test]
    fn kish_ess_is_n_for_equal_weights_and_one_for_a_single_weight() {
        assert_eq!(effective_sample_size(&[2.0; 10]), 10.0);
        assert_eq!(effective_sample_size(&[0.0, 0.0, 5.0]), 1.0);
        assert_eq!(effective_sample_size(&[0.0, 0.0]), 0.0);
    }

    #[test]
    fn every_warning_has_a_code_and_a_readable_message() {
        let all = [
            OpeWarning::NoOverlap,
            OpeWarning::UnsupportedActions {
                mass: 0.3,
                decisions: 12,
            },
            OpeWarning::PoorOverlap {
                mass: 0.4,
                min_propensity: 0.05,
            },
            OpeWarning::WeightsDoNotAverageOne {
                mean_weight: 0.7,
                std_error: 0.02,
            },
            OpeWarning::WeightsDoNotAverageOne {
                mean_weight: 1.4,
                std_error: 0.02,
            },
            OpeWarning::LowEffectiveSampleSize {
                effective_sample_size: 12.3,
                n: 1000,
            },
            OpeWarning::HeavyTailedWeights {
                max_weight: 80.0,
                max_weight_share: 0.2,
                pareto_k: Some(0.9),
            },
            OpeWarning::HeavyClipping {
                clip: 10.0,
                clipped_fraction: 0.08,
            },
        ];
        for w in &all {
            let m = w.to_string();
            assert!(m.len() > 60 && m.ends_with('.'), "{m}");
            assert!(!m.contains("NaN") && !m.contains("inf"), "{m}");
            assert!(!w.code().is_empty());
        }
        assert!(all[1].message().contains("30%"));
        assert!(all[2].message().contains("more than 20 ordinary"));
        assert!(all[3].message().contains("30%"));
        assert!(all[5].message().contains("12 of 1000"));
        assert!(all[5].message().contains("differs so much"));
        let few = OpeWarning::LowEffectiveSampleSize {
            effective_sample_size: 40.0,
            n: 50,
        };
        assert!(few.message().contains("too few decisions"));
        let json = serde_json::to_string(&all[5]).expect("serialises");
        assert!(
            json.contains("\"kind\":\"low_effective_sample_size\""),
            "{json}"
        );
    }
}

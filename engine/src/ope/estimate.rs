//! The estimators (IPS, SNIPS, DR, on-policy mean), weight clipping and the
//! percentile bootstrap they share.
//!
//! Every estimator here is a ratio of sums over decisions, `Σ a_i / Σ b_i`
//! (`b_i = 1` except for SNIPS), so one bootstrap routine serves all of them
//! and can evaluate several on the same resamples.

use super::{LoggedDecision, OffPolicyData, RewardPredictions, effective_sample_size};
use crate::error::{EngineError, Result};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// How to compute an estimate and its interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EstimatorOptions {
    /// Maximum importance weight `M`; weights above it are set to `M`. `None`
    /// means no clipping. Must be positive.
    pub clip: Option<f64>,
    /// Bootstrap resamples `B`: 0 for a point estimate only (the interval and
    /// standard error are then `NaN`; for simulation and tuning loops),
    /// otherwise at least 10, and 1000 or more for a report.
    pub bootstrap_resamples: usize,
    /// Interval coverage, in (0, 1); 0.9 gives the 5th and 95th percentiles.
    pub confidence: f64,
    /// Seed of the bootstrap resampling.
    pub seed: u64,
}

impl Default for EstimatorOptions {
    fn default() -> Self {
        Self {
            clip: None,
            bootstrap_resamples: 1000,
            confidence: 0.9,
            seed: 0,
        }
    }
}

impl EstimatorOptions {
    /// Fewest bootstrap resamples accepted, apart from 0 (no interval).
    pub const MIN_RESAMPLES: usize = 10;

    /// Checks the ranges.
    pub fn validate(&self) -> Result<()> {
        if let Some(m) = self.clip
            && !(m.is_finite() && m > 0.0)
        {
            return Err(EngineError::InvalidConfig(format!(
                "clip (maximum weight) must be positive and finite, got {m}"
            )));
        }
        if self.bootstrap_resamples != 0 && self.bootstrap_resamples < Self::MIN_RESAMPLES {
            return Err(EngineError::InvalidConfig(format!(
                "bootstrap_resamples must be 0 (no interval) or at least {}, got {}",
                Self::MIN_RESAMPLES,
                self.bootstrap_resamples
            )));
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(EngineError::InvalidConfig(format!(
                "confidence must be in (0, 1), got {}",
                self.confidence
            )));
        }
        Ok(())
    }
}

/// Which estimator produced a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Estimator {
    /// Inverse propensity scoring.
    Ips,
    /// Self-normalised inverse propensity scoring.
    Snips,
    /// Doubly robust.
    DoublyRobust,
    /// Mean observed reward: the logging policy's own value.
    OnPolicy,
}

impl Estimator {
    /// Short label for a table.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ips => "IPS",
            Self::Snips => "SNIPS",
            Self::DoublyRobust => "DR",
            Self::OnPolicy => "logging policy (observed mean)",
        }
    }
}

/// A value with its bootstrap interval and the weight facts behind it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Point estimate. `NaN` only for SNIPS when no weight is positive (the
    /// target never agrees with a logged action; nothing can be said).
    pub value: f64,
    /// Lower bound of the percentile bootstrap interval (`NaN` without resamples).
    pub lower: f64,
    /// Upper bound of the percentile bootstrap interval (`NaN` without resamples).
    pub upper: f64,
    /// Standard deviation of the bootstrap replicates (`NaN` without resamples).
    pub std_error: f64,
    /// Decisions used.
    pub n: usize,
    /// Kish effective sample size `(Σw)² / Σw²` of the weights used (after
    /// clipping); `n` for the on-policy mean.
    pub effective_sample_size: f64,
    /// Largest importance weight *before* clipping: how far clipping reached.
    pub max_weight: f64,
    /// Share of decisions whose weight was clipped.
    pub clipped_fraction: f64,
}

/// A paired difference between two estimates from the same resamples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    /// Point difference.
    pub value: f64,
    /// Lower bound of the percentile bootstrap interval.
    pub lower: f64,
    /// Upper bound of the percentile bootstrap interval.
    pub upper: f64,
    /// Standard deviation of the bootstrap replicates.
    pub std_error: f64,
}

/// Inverse propensity scoring: `(1/n) Σ min(w_i, M) r_i`.
pub fn ips(data: &OffPolicyData<'_>, options: &EstimatorOptions) -> Result<Estimate> {
    options.validate()?;
    let weights = Clipped::new(data.weights(), options.clip);
    let stat = ips_statistic(data, &weights);
    Ok(single(&stat, &weights, options))
}

/// Self-normalised IPS: `Σ min(w_i, M) r_i / Σ min(w_i, M)`.
pub fn snips(data: &OffPolicyData<'_>, options: &EstimatorOptions) -> Result<Estimate> {
    options.validate()?;
    let weights = Clipped::new(data.weights(), options.clip);
    let stat = snips_statistic(data, &weights);
    Ok(single(&stat, &weights, options))
}

/// Doubly robust with the reward model's `predictions`:
/// `(1/n) Σ [Σ_a π(a|x_i) q_ia + min(w_i, M) (r_i - q_iA)]`.
///
/// Fails if `predictions` were made for a different log.
pub fn doubly_robust(
    data: &OffPolicyData<'_>,
    predictions: &RewardPredictions,
    options: &EstimatorOptions,
) -> Result<Estimate> {
    options.validate()?;
    predictions.check_fits(data)?;
    let weights = Clipped::new(data.weights(), options.clip);
    let stat = dr_statistic(data, &weights, predictions);
    Ok(single(&stat, &weights, options))
}

/// The mean observed reward, the logging policy's own value, with the same
/// kind of interval. Fails on an empty log or a non-finite reward.
pub fn on_policy(decisions: &[LoggedDecision], options: &EstimatorOptions) -> Result<Estimate> {
    options.validate()?;
    if decisions.is_empty() {
        return Err(EngineError::InvalidObservation(
            "the log has no decisions".into(),
        ));
    }
    if let Some(i) = decisions.iter().position(|d| !d.reward.is_finite()) {
        return Err(EngineError::InvalidObservation(format!(
            "decision {i}: reward is not finite"
        )));
    }
    let stat = Statistic::mean(decisions.iter().map(|d| d.reward).collect());
    let ones = Clipped::new(&vec![1.0; decisions.len()], None);
    Ok(single(&stat, &ones, options))
}

/// Importance weights after clipping, with what clipping did.
pub(crate) struct Clipped {
    pub(crate) used: Vec<f64>,
    pub(crate) max_raw: f64,
    pub(crate) clipped_fraction: f64,
}

impl Clipped {
    pub(crate) fn new(raw: &[f64], clip: Option<f64>) -> Self {
        let max_raw = raw.iter().copied().fold(0.0, f64::max);
        let (used, clipped) = match clip {
            Some(m) => {
                let clipped = raw.iter().filter(|w| **w > m).count();
                (raw.iter().map(|w| w.min(m)).collect(), clipped)
            }
            None => (raw.to_vec(), 0),
        };
        let clipped_fraction = if raw.is_empty() {
            0.0
        } else {
            clipped as f64 / raw.len() as f64
        };
        Self {
            used,
            max_raw,
            clipped_fraction,
        }
    }
}

/// A ratio of sums `Σ num_i / Σ den_i`; `den = None` means `den_i = 1`.
pub(crate) struct Statistic {
    num: Vec<f64>,
    den: Option<Vec<f64>>,
}

impl Statistic {
    pub(crate) fn mean(num: Vec<f64>) -> Self {
        Self { num, den: None }
    }

    pub(crate) fn value(&self) -> f64 {
        let num: f64 = self.num.iter().sum();
        let den = match &self.den {
            Some(d) => d.iter().sum(),
            None => self.num.len() as f64,
        };
        ratio(num, den)
    }
}

fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 { num / den } else { f64::NAN }
}

pub(crate) fn ips_statistic(data: &OffPolicyData<'_>, weights: &Clipped) -> Statistic {
    Statistic::mean(
        weights
            .used
            .iter()
            .zip(data.rewards())
            .map(|(w, r)| w * r)
            .collect(),
    )
}

pub(crate) fn snips_statistic(data: &OffPolicyData<'_>, weights: &Clipped) -> Statistic {
    Statistic {
        num: ips_statistic(data, weights).num,
        den: Some(weights.used.clone()),
    }
}

/// Callers check that `predictions` fit `data` first.
pub(crate) fn dr_statistic(
    data: &OffPolicyData<'_>,
    weights: &Clipped,
    predictions: &RewardPredictions,
) -> Statistic {
    let terms = (0..data.len())
        .map(|i| {
            let q = predictions.row(i);
            let direct: f64 = data.targets()[i].iter().zip(q).map(|(p, q)| p * q).sum();
            let a = data.action_indices()[i];
            direct + weights.used[i] * (data.decisions()[i].reward - q[a])
        })
        .collect();
    Statistic::mean(terms)
}

fn single(stat: &Statistic, weights: &Clipped, options: &EstimatorOptions) -> Estimate {
    let replicates = bootstrap(&[stat], options.bootstrap_resamples, options.seed);
    estimate(stat, &replicates[0], weights, options.confidence)
}

pub(crate) fn estimate(
    stat: &Statistic,
    replicates: &[f64],
    weights: &Clipped,
    confidence: f64,
) -> Estimate {
    let (lower, upper, std_error) = percentile_interval(replicates, confidence);
    Estimate {
        value: stat.value(),
        lower,
        upper,
        std_error,
        n: stat.num.len(),
        effective_sample_size: effective_sample_size(&weights.used),
        max_weight: weights.max_raw,
        clipped_fraction: weights.clipped_fraction,
    }
}

pub(crate) fn difference(
    a: &Statistic,
    a_replicates: &[f64],
    b: &Statistic,
    b_replicates: &[f64],
    confidence: f64,
) -> Difference {
    let replicates: Vec<f64> = a_replicates
        .iter()
        .zip(b_replicates)
        .map(|(x, y)| x - y)
        .collect();
    let (lower, upper, std_error) = percentile_interval(&replicates, confidence);
    Difference {
        value: a.value() - b.value(),
        lower,
        upper,
        std_error,
    }
}

/// `Σa_num/Σa_den − Σb_num/Σb_den` over units both sides measured (`a[i]`
/// and `b[i]` are one unit, e.g. one logged decision), with a paired
/// percentile bootstrap interval at `confidence`: both ratios are recomputed
/// on the same resamples of the units, the same bootstrap the estimators use.
/// For comparing two policies' per-decision estimates on one log (`tutti
/// tune`). Empty input gives NaN.
pub fn paired_ratio_difference(
    a: &[(f64, f64)],
    b: &[(f64, f64)],
    resamples: usize,
    seed: u64,
    confidence: f64,
) -> Difference {
    let n = a.len().min(b.len());
    let stat = |xs: &[(f64, f64)]| Statistic {
        num: xs[..n].iter().map(|x| x.0).collect(),
        den: Some(xs[..n].iter().map(|x| x.1).collect()),
    };
    let (sa, sb) = (stat(a), stat(b));
    let reps = bootstrap(&[&sa, &sb], resamples, seed);
    difference(&sa, &reps[0], &sb, &reps[1], confidence)
}

/// `resamples` bootstrap replicates of each statistic, all on the same
/// resamples of the decisions (so differences are paired). All statistics must
/// cover the same decisions. Returns `[statistic][resample]`.
///
/// A resample is drawn as counts: `n` uniform indices, each from one 32-bit
/// draw by multiply-shift (bias below `n / 2^32`, negligible), which is several
/// times faster than `random_range` where it matters, in debug-built tests.
pub(crate) fn bootstrap(stats: &[&Statistic], resamples: usize, seed: u64) -> Vec<Vec<f64>> {
    let n = stats.first().map_or(0, |s| s.num.len());
    let mut out = vec![Vec::with_capacity(resamples); stats.len()];
    if n == 0 {
        return out;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut counts = vec![0.0f64; n];
    for _ in 0..resamples {
        counts.fill(0.0);
        for _ in 0..n {
            counts[uniform_index(&mut rng, n)] += 1.0;
        }
        for (stat, replicates) in stats.iter().zip(out.iter_mut()) {
            let num = dot(&counts, &stat.num);
            let den = stat.den.as_ref().map_or(n as f64, |d| dot(&counts, d));
            replicates.push(ratio(num, den));
        }
    }
    out
}

fn uniform_index(rng: &mut ChaCha8Rng, n: usize) -> usize {
    match u32::try_from(n) {
        Ok(n32) => ((u64::from(rng.next_u32()) * u64::from(n32)) >> 32) as usize,
        Err(_) => rng.random_range(0..n),
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Percentile interval and standard deviation of the finite replicates
/// (a SNIPS resample with no positive weight has no value and is skipped).
/// All `NaN` when no replicate is finite.
pub(crate) fn percentile_interval(replicates: &[f64], confidence: f64) -> (f64, f64, f64) {
    let mut finite: Vec<f64> = replicates
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    if finite.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    finite.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    let lower = quantile(&finite, tail);
    let upper = quantile(&finite, 1.0 - tail);
    let m = finite.len() as f64;
    let mean = finite.iter().sum::<f64>() / m;
    let var = if finite.len() > 1 {
        finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (m - 1.0)
    } else {
        0.0
    };
    (lower, upper, var.sqrt())
}

/// Linear-interpolation quantile (Hyndman-Fan type 7) of sorted, non-empty data.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_interpolates_between_order_statistics() {
        let v = [0.0, 1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.0), 0.0);
        assert_eq!(quantile(&v, 1.0), 4.0);
        assert_eq!(quantile(&v, 0.5), 2.0);
        assert!((quantile(&v, 0.05) - 0.2).abs() < 1e-12);
    }

    #[test]
    fn percentile_interval_skips_undefined_replicates() {
        let (lo, hi, se) = percentile_interval(&[f64::NAN, 1.0, 1.0], 0.9);
        assert_eq!((lo, hi, se), (1.0, 1.0, 0.0));
        let (lo, hi, se) = percentile_interval(&[f64::NAN], 0.9);
        assert!(lo.is_nan() && hi.is_nan() && se.is_nan());
    }

    #[test]
    fn paired_ratio_difference_pairs_the_units() {
        // b is a with every ratio's numerator raised by 0.1 per unit of its
        // denominator: the difference is exactly -0.1 on every resample, so
        // pairing leaves no interval width, though the units vary widely.
        let a: Vec<(f64, f64)> = (0..200)
            .map(|i| (f64::from(i % 17) - 8.0, 1.0 + f64::from(i % 3)))
            .collect();
        let b: Vec<(f64, f64)> = a.iter().map(|&(x, d)| (x + 0.1 * d, d)).collect();
        let d = paired_ratio_difference(&a, &b, 200, 7, 0.95);
        assert!((d.value + 0.1).abs() < 1e-12, "{d:?}");
        assert!(
            (d.lower + 0.1).abs() < 1e-9 && (d.upper + 0.1).abs() < 1e-9,
            "{d:?}"
        );
        // Unrelated noise between the two sides widens it around the truth.
        let c: Vec<(f64, f64)> = a
            .iter()
            .enumerate()
            .map(|(i, &(x, d))| (x + 0.1 * d + if i % 2 == 0 { 1.0 } else { -1.0 }, d))
            .collect();
        let d = paired_ratio_difference(&a, &c, 400, 7, 0.95);
        assert!(
            d.lower < -0.1 && d.upper > -0.1 && d.upper - d.lower > 0.05,
            "{d:?}"
        );
        assert!(
            paired_ratio_difference(&[], &[], 10, 7, 0.95)
                .value
                .is_nan()
        );
    }

    #[test]
    fn bootstrap_is_reproducible_and_seed_dependent() {
        let stat = Statistic::mean((0..50).map(f64::from).collect());
        let a = bootstrap(&[&stat], 30, 7);
        let b = bootstrap(&[&stat], 30, 7);
        let c = bootstrap(&[&stat], 30, 8);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a[0].len(), 30);
    }

    #[test]
    fn bootstrap_standard_error_matches_the_textbook_formula() {
        // For a mean, the bootstrap SD approaches sd/sqrt(n) (with divisor n).
        let xs: Vec<f64> = (0..200).map(|i| f64::from(i % 10)).collect();
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
        let stat = Statistic::mean(xs);
        let reps = bootstrap(&[&stat], 2000, 1);
        let (lo, hi, se) = percentile_interval(&reps[0], 0.9);
        let expected = sd / n.sqrt();
        assert!((se / expected - 1.0).abs() < 0.1, "se {se} vs {expected}");
        assert!(lo < mean && mean < hi);
        // A normal 90% interval is ±1.645 SE; the percentile one is close.
        assert!(((hi - lo) / (2.0 * 1.645 * expected) - 1.0).abs() < 0.15);
    }

    #[test]
    fn clipping_caps_weights_and_counts_them() {
        let c = Clipped::new(&[0.5, 2.0, 10.0, 30.0], Some(5.0));
        assert_eq!(c.used, vec![0.5, 2.0, 5.0, 5.0]);
        assert_eq!(c.max_raw, 30.0);
        assert_eq!(c.clipped_fraction, 0.5);
        let c = Clipped::new(&[0.5, 2.0], None);
        assert_eq!(c.used, vec![0.5, 2.0]);
        assert_eq!(c.clipped_fraction, 0.0);
    }

    #[test]
    fn options_out_of_range_are_rejected() {
        let ok = EstimatorOptions::default();
        assert!(ok.validate().is_ok());
        let point_only = EstimatorOptions {
            bootstrap_resamples: 0,
            ..ok
        };
        assert!(point_only.validate().is_ok());
        for bad in [
            EstimatorOptions {
                clip: Some(0.0),
                ..ok
            },
            EstimatorOptions {
                clip: Some(f64::INFINITY),
                ..ok
            },
            EstimatorOptions {
                bootstrap_resamples: 3,
                ..ok
            },
            EstimatorOptions {
                bootstrap_resamples: 1,
                ..ok
            },
            EstimatorOptions {
                confidence: 1.0,
                ..ok
            },
            EstimatorOptions {
                confidence: f64::NAN,
                ..ok
            },
        ] {
            assert!(
                matches!(bad.validate(), Err(EngineError::InvalidConfig(_))),
                "{bad:?}"
            );
        }
    }
}

//! The person's process map from their own ratings: how much, and in which
//! direction, each process pole moves *this* person's well-being.
//!
//! # Model
//! At every assessment that carries an outcome, well-being `y` (0-100) is
//! regressed within the person on
//! - every pole at the same assessment (`2P` regressors: the PBAT poles are
//!   distinct signals, so a person may be moved by their maladaptive cognition
//!   and not at all by the adaptive one), and
//! - each process's pole contrast `a - m` at the previous assessment (`P`
//!   regressors), when that was at most `max_gap_days` earlier, else the
//!   person's smoothed contrast (mean imputation: a missing lag carries no
//!   information and should pull nothing).
//!
//! The regression has an unpenalised person intercept: sums are centred on
//! the person's own means, so their between-person level (someone who rates
//! everything high and feels fine) never leaks into the slopes.
//!
//! # Sufficient statistics
//! [`MapStats`] keeps the weighted count, sums and the packed cross-product
//! matrix of `[z, y]`; an update is `O(k²)` with `k = 3P` and never revisits
//! history, so irregular spacing and missing days cost nothing. Old rows fade
//! with a configurable half-life, so the map can follow a person whose life
//! changes. Missing poles are imputed by the caller from the person's smoothed
//! level: that attenuates the slopes of rarely rated poles toward zero, which
//! the prior then fills in.
//!
//! # Estimation (empirical Bayes per person)
//! Coefficients get the population prior `N(μ0, s·D)` ([`MapPrior`]), `D` the
//! between-person variances, and the scale `s` is chosen per person by
//! maximising the marginal likelihood over a small grid (with a log-normal
//! hyperprior around 1): a person whose well-being tracks a few processes
//! strongly is shrunk less than one whose ratings say little. The residual
//! variance pools the person's residuals with the population's
//! (`residual_df` pseudo-observations), so three assessments do not produce a
//! spuriously tight map. The posterior is Gaussian; ranking and insights read
//! it as per-process values with intervals.
//!
//! Ratings carry measurement noise, which attenuates every slope by about
//! the same reliability; ranking compares processes and interventions with
//! each other, so a common attenuation does not change the order.

use crate::ids::Timestamp;
use crate::population::MapPrior;
use crate::stats::{Cholesky, dot, packed, packed_len};
use serde::{Deserialize, Serialize};

/// Scale midpoint subtracted from poles and well-being before accumulating,
/// so raw sums stay small and centring loses fewer digits.
const SHIFT: f64 = 50.0;
/// Grid of prior scales tried per person (log-spaced around 1).
const SCALES: [f64; 5] = [0.3, 0.55, 1.0, 1.8, 3.3];
/// Sd of the log-normal hyperprior on the scale.
const SCALE_LOG_SD: f64 = 0.7;
/// EM steps of the per-process relevance.
const RELEVANCE_STEPS: usize = 3;
/// Pseudo-observations (per pole pair) behind a relevance multiplier of 1.
const RELEVANCE_DF: f64 = 2.0;

/// Incremental, exponentially weighted sufficient statistics of the map regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapStats {
    processes: usize,
    rows: u32,
    weight: f64,
    last_at: Option<Timestamp>,
    first_at: Option<Timestamp>,
    sz: Vec<f64>,
    sy: f64,
    /// Packed upper triangle of `Σ w z z'`.
    szz: Vec<f64>,
    szy: Vec<f64>,
    syy: f64,
}

impl MapStats {
    /// Empty statistics for `processes` processes.
    pub fn new(processes: usize) -> Self {
        let k = 3 * processes;
        Self {
            processes,
            rows: 0,
            weight: 0.0,
            last_at: None,
            first_at: None,
            sz: vec![0.0; k],
            sy: 0.0,
            szz: vec![0.0; packed_len(k)],
            szy: vec![0.0; k],
            syy: 0.0,
        }
    }

    /// Processes covered.
    pub fn processes(&self) -> usize {
        self.processes
    }

    /// Regressors per row (`3P`).
    pub fn regressors(&self) -> usize {
        3 * self.processes
    }

    /// Rows folded in (assessments with an outcome).
    pub fn rows(&self) -> u32 {
        self.rows
    }

    /// Effective (faded) number of rows.
    pub fn weight(&self) -> f64 {
        self.weight
    }

    /// Days between the first and the latest row.
    pub fn span_days(&self) -> f64 {
        match (self.first_at, self.last_at) {
            (Some(a), Some(b)) => b.days_since(a).max(0.0),
            _ => 0.0,
        }
    }

    /// Whether the sizes agree with each other.
    pub fn is_consistent(&self) -> bool {
        let k = self.regressors();
        self.sz.len() == k && self.szy.len() == k && self.szz.len() == packed_len(k)
    }

    /// Whether every sum is finite.
    pub fn is_finite(&self) -> bool {
        self.weight.is_finite()
            && self.sy.is_finite()
            && self.syy.is_finite()
            && self
                .sz
                .iter()
                .chain(&self.szz)
                .chain(&self.szy)
                .all(|v| v.is_finite())
    }

    /// Folds in one row: `poles` (2P values, 0-100), `lag` (P contrasts,
    /// -100..100) and well-being `y` (0-100) at `at`. Older rows fade by half
    /// every `half_life_days` (0 or less: no fading).
    pub fn push(&mut self, poles: &[f64], lag: &[f64], y: f64, at: Timestamp, half_life_days: f64) {
        let p = self.processes;
        debug_assert!(poles.len() == 2 * p && lag.len() == p);
        if let Some(last) = self.last_at
            && half_life_days > 0.0
        {
            let dt = at.days_since(last).max(0.0);
            let decay = 0.5f64.powf(dt / half_life_days);
            if decay < 1.0 {
                self.weight *= decay;
                self.sy *= decay;
                self.syy *= decay;
                for v in self.sz.iter_mut().chain(&mut self.szz).chain(&mut self.szy) {
                    *v *= decay;
                }
            }
        }
        let k = self.regressors();
        let z: Vec<f64> = poles
            .iter()
            .map(|v| v - SHIFT)
            .chain(lag.iter().copied())
            .collect();
        let y = y - SHIFT;
        self.weight += 1.0;
        self.sy += y;
        self.syy += y * y;
        for i in 0..k {
            self.sz[i] += z[i];
            self.szy[i] += z[i] * y;
            let base = packed(k, i, i);
            for j in i..k {
                self.szz[base + (j - i)] += z[i] * z[j];
            }
        }
        self.rows += 1;
        self.last_at = Some(self.last_at.map_or(at, |l| l.max(at)));
        self.first_at.get_or_insert(at);
    }

    fn zz(&self, i: usize, j: usize) -> f64 {
        let k = self.regressors();
        let (a, b) = if i <= j { (i, j) } else { (j, i) };
        self.szz[packed(k, a, b)]
    }
}

/// The person's map: posterior of the pole and lag coefficients.
#[derive(Debug, Clone, PartialEq)]
pub struct MapFit {
    /// Rows behind it.
    pub rows: u32,
    /// Effective (faded) rows.
    pub weight: f64,
    /// Days the rows span.
    pub span_days: f64,
    /// Posterior mean of the `3P` coefficients (poles in network layout, then lags).
    pub coef: Vec<f64>,
    /// Posterior covariance, row-major `3P x 3P`.
    pub cov: Vec<f64>,
    /// Residual sd of well-being around the map.
    pub residual_sd: f64,
    /// Prior scale chosen for this person (1 = the population's spread).
    pub scale: f64,
    /// Per process: correlation of its pole contrast with well-being in the
    /// person's own data (0 without spread).
    pub correlation: Vec<f64>,
}

impl MapFit {
    /// The prior alone (no rows, or statistics that cannot be used).
    pub fn prior(prior: &MapPrior, rows: u32) -> Self {
        let (mu, var) = prior_moments(prior);
        let k = mu.len();
        let mut cov = vec![0.0; k * k];
        for i in 0..k {
            cov[i * k + i] = var[i];
        }
        Self {
            rows,
            weight: 0.0,
            span_days: 0.0,
            coef: mu,
            cov,
            residual_sd: prior.residual_sd,
            scale: 1.0,
            correlation: vec![0.0; prior.processes()],
        }
    }

    /// Processes covered.
    pub fn processes(&self) -> usize {
        self.correlation.len()
    }

    /// The value of improving process `p` (see [`MapPrior::process_value`])
    /// as a linear form over the coefficients: `(index, weight)` triples.
    pub fn value_form(prior: &MapPrior, processes: usize, p: usize) -> [(usize, f64); 3] {
        let k = prior.maladaptive_share;
        [(2 * p, 1.0), (2 * p + 1, -k), (2 * processes + p, 1.0 + k)]
    }

    /// Mean and variance of a linear form over the coefficients.
    pub fn form(&self, form: &[(usize, f64)]) -> (f64, f64) {
        let k = self.coef.len();
        let mean = form.iter().map(|&(i, w)| w * self.coef[i]).sum();
        let mut var = 0.0;
        for &(i, wi) in form {
            for &(j, wj) in form {
                var += wi * wj * self.cov[i * k + j];
            }
        }
        (mean, var.max(0.0))
    }
}

/// Prior mean and variance of the `3P` coefficients.
fn prior_moments(prior: &MapPrior) -> (Vec<f64>, Vec<f64>) {
    let mu: Vec<f64> = prior
        .pole_mean
        .iter()
        .chain(&prior.lag_mean)
        .copied()
        .collect();
    let var: Vec<f64> = prior
        .pole_sd
        .iter()
        .chain(&prior.lag_sd)
        .map(|s| s * s)
        .collect();
    (mu, var)
}

/// Centred cross-products of the statistics.
struct Centred {
    c: Vec<f64>,
    cy: Vec<f64>,
    cyy: f64,
    n: f64,
}

fn centre(stats: &MapStats) -> Centred {
    let k = stats.regressors();
    let w = stats.weight.max(1e-12);
    let zbar: Vec<f64> = stats.sz.iter().map(|s| s / w).collect();
    let ybar = stats.sy / w;
    let mut c = vec![0.0; k * k];
    for i in 0..k {
        for j in i..k {
            let v = stats.zz(i, j) - w * zbar[i] * zbar[j];
            c[i * k + j] = v;
            c[j * k + i] = v;
        }
    }
    let cy = (0..k).map(|i| stats.szy[i] - w * zbar[i] * ybar).collect();
    Centred {
        c,
        cy,
        cyy: (stats.syy - w * ybar * ybar).max(0.0),
        n: stats.weight,
    }
}

/// The prior on the coefficients at one setting of the person's scales:
/// its mean, its precision matrix and the log determinant of its covariance.
struct Prior {
    mean: Vec<f64>,
    precision: Vec<f64>,
    log_det_cov: f64,
}

impl Prior {
    /// The population prior with the person's global scale and per-process
    /// relevance multipliers: the two poles of a process are correlated
    /// (`pole_correlation`), processes and lags independent.
    fn new(prior: &MapPrior, global: f64, relevance: &[f64]) -> Self {
        let (mean, var) = prior_moments(prior);
        let k = mean.len();
        let p = prior.processes();
        let rho = prior.pole_correlation.clamp(-0.95, 0.95);
        let mut precision = vec![0.0; k * k];
        let mut log_det_cov = 0.0;
        for (q, rel) in relevance.iter().enumerate().take(p) {
            let (a, m) = (2 * q, 2 * q + 1);
            let s = global * rel;
            let (va, vm) = (s * var[a], s * var[m]);
            let c = rho * (va * vm).sqrt();
            let det = va * vm - c * c;
            precision[a * k + a] = vm / det;
            precision[m * k + m] = va / det;
            precision[a * k + m] = -c / det;
            precision[m * k + a] = -c / det;
            log_det_cov += det.ln();
        }
        for i in 2 * p..k {
            precision[i * k + i] = 1.0 / (global * var[i]);
            log_det_cov += (global * var[i]).ln();
        }
        Self {
            mean,
            precision,
            log_det_cov,
        }
    }
}

/// One evaluation of the posterior at a prior setting and noise `s2`.
struct Solved {
    chol: Cholesky,
    coef: Vec<f64>,
    log_ml: f64,
}

fn solve(cen: &Centred, prior: &Prior, s2: f64) -> Option<Solved> {
    let mu = &prior.mean;
    let k = mu.len();
    let mut a = prior.precision.clone();
    for (x, c) in a.iter_mut().zip(&cen.c) {
        *x += c / s2;
    }
    let (chol, _) = Cholesky::with_jitter(&a, k)?;
    // Residual from the prior mean: r = y - Zμ0, in cross-products.
    let cmu: Vec<f64> = (0..k)
        .map(|i| dot(&cen.c[i * k..(i + 1) * k], mu))
        .collect();
    let rz: Vec<f64> = (0..k).map(|i| (cen.cy[i] - cmu[i]) / s2).collect();
    let rr = (cen.cyy - 2.0 * dot(mu, &cen.cy) + dot(mu, &cmu)).max(0.0);
    let mut delta = rz.clone();
    chol.solve(&mut delta);
    let coef: Vec<f64> = mu.iter().zip(&delta).map(|(m, d)| m + d).collect();
    // log N(r; 0, s2 I + Z S Z') by Woodbury and the matrix determinant lemma.
    let quad = rr / s2 - dot(&rz, &delta);
    let log_det = cen.n * s2.ln() + prior.log_det_cov + chol.log_det();
    Some(Solved {
        chol,
        coef,
        log_ml: -0.5 * (log_det + quad),
    })
}

/// The person's map from their statistics and the population prior.
pub fn fit(stats: &MapStats, prior: &MapPrior) -> MapFit {
    let p = prior.processes();
    if stats.processes() != p || !stats.is_consistent() || !stats.is_finite() || stats.rows < 2 {
        return MapFit::prior(prior, stats.rows);
    }
    let k = 3 * p;
    let cen = centre(stats);
    let s0 = prior.residual_sd.powi(2);
    let rss = |coef: &[f64]| {
        let cb: Vec<f64> = (0..k)
            .map(|i| dot(&cen.c[i * k..(i + 1) * k], coef))
            .collect();
        (cen.cyy - 2.0 * dot(coef, &cen.cy) + dot(coef, &cb)).max(0.0)
    };
    let ones = vec![1.0; p];
    // Residual variance at the population's scale, pooled with the prior guess.
    let Some(first) = solve(&cen, &Prior::new(prior, 1.0, &ones), s0) else {
        return MapFit::prior(prior, stats.rows);
    };
    let df = (cen.n - 1.0).max(0.0);
    let s2 = ((prior.residual_df * s0 + rss(&first.coef)) / (prior.residual_df + df)).max(1e-6);
    // The person's global scale: the grid point with the largest marginal
    // likelihood under a log-normal hyperprior around 1.
    let mut best: Option<(f64, Solved)> = None;
    for &scale in &SCALES {
        if let Some(mut s) = solve(&cen, &Prior::new(prior, scale, &ones), s2) {
            s.log_ml += -0.5 * (scale.ln() / SCALE_LOG_SD).powi(2);
            if best.as_ref().is_none_or(|(_, b)| s.log_ml > b.log_ml) {
                best = Some((scale, s));
            }
        }
    }
    let Some((scale, mut sol)) = best else {
        return MapFit::prior(prior, stats.rows);
    };
    // Per-process relevance (automatic relevance determination by EM, each
    // multiplier shrunk toward 1 by `RELEVANCE_DF` pseudo-observations): the
    // few processes that drive this person get room, the rest are pulled to
    // the population, as sparse maps need.
    let mut relevance = ones;
    let (mean, var) = prior_moments(prior);
    let rho = prior.pole_correlation.clamp(-0.95, 0.95);
    for _ in 0..RELEVANCE_STEPS {
        let cov = sol.chol.inverse();
        for (q, r) in relevance.iter_mut().enumerate() {
            let (a, m) = (2 * q, 2 * q + 1);
            let (sa, sm) = (var[a].sqrt(), var[m].sqrt());
            // Standardised deviations from the prior mean, and their second moment
            // under the base correlation.
            let (da, dm) = ((sol.coef[a] - mean[a]) / sa, (sol.coef[m] - mean[m]) / sm);
            let (caa, cmm, cam) = (
                cov[a * k + a] / (sa * sa),
                cov[m * k + m] / (sm * sm),
                cov[a * k + m] / (sa * sm),
            );
            let e =
                (da * da + caa + dm * dm + cmm - 2.0 * rho * (da * dm + cam)) / (1.0 - rho * rho);
            // Inverse-gamma posterior mode with `RELEVANCE_DF` pseudo-observations at 1.
            *r = ((RELEVANCE_DF + e / scale) / (RELEVANCE_DF + 2.0)).clamp(0.05, 20.0);
        }
        match solve(&cen, &Prior::new(prior, scale, &relevance), s2) {
            Some(s) => sol = s,
            None => break,
        }
    }
    let cov = sol.chol.inverse();
    let correlation = (0..p)
        .map(|q| {
            let (a, m) = (2 * q, 2 * q + 1);
            let vc = cen.c[a * k + a] + cen.c[m * k + m] - 2.0 * cen.c[a * k + m];
            let cc = cen.cy[a] - cen.cy[m];
            let den = (vc * cen.cyy).sqrt();
            if den > 1e-9 {
                (cc / den).clamp(-1.0, 1.0)
            } else {
                0.0
            }
        })
        .collect();
    MapFit {
        rows: stats.rows,
        weight: stats.weight,
        span_days: stats.span_days(),
        coef: sol.coef,
        cov,
        residual_sd: s2.sqrt(),
        scale,
        correlation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::StandardNormal;

    fn day(d: f64) -> Timestamp {
        Timestamp(0).plus_days(20_000.0 + d)
    }

    /// `n` daily rows of 3 processes whose well-being follows `truth` (per
    /// pole, same occasion) plus a person level `level`, with rating noise.
    fn simulate(truth: [f64; 6], level: f64, n: usize, seed: u64) -> MapStats {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut s = MapStats::new(3);
        for t in 0..n {
            let poles: Vec<f64> = (0..6)
                .map(|_| 50.0 + 15.0 * rng.sample::<f64, _>(StandardNormal))
                .collect();
            let y = level
                + (0..6).map(|i| truth[i] * (poles[i] - 50.0)).sum::<f64>()
                + 4.0 * rng.sample::<f64, _>(StandardNormal);
            let noisy: Vec<f64> = poles
                .iter()
                .map(|v| v + 3.0 * rng.sample::<f64, _>(StandardNormal))
                .collect();
            s.push(&noisy, &[0.0; 3], y, day(t as f64), 0.0);
        }
        s
    }

    fn value(fit: &MapFit, prior: &MapPrior, p: usize) -> (f64, f64) {
        fit.form(&MapFit::value_form(prior, 3, p))
    }

    #[test]
    fn a_person_s_own_map_is_recovered_including_a_reversed_sign() {
        let prior = MapPrior::default_for(3);
        // Cognition drives well-being strongly, social not at all, sleep the
        // other way round from the population's expectation.
        let s = simulate([0.4, -0.3, 0.0, 0.0, -0.2, 0.25], 60.0, 120, 1);
        let fit = fit(&s, &prior);
        let (cog, cog_var) = value(&fit, &prior, 0);
        let (soc, _) = value(&fit, &prior, 1);
        let (slp, slp_var) = value(&fit, &prior, 2);
        assert!((cog - 0.7).abs() < 0.15, "{cog}");
        assert!(soc.abs() < 0.12, "{soc}");
        assert!(slp < -0.3, "{slp}");
        assert!(cog - 1.645 * cog_var.sqrt() > 0.0);
        assert!(slp + 1.645 * slp_var.sqrt() < 0.0);
        assert!(fit.correlation[0] > 0.5 && fit.correlation[2] < -0.3);
    }

    #[test]
    fn the_between_person_level_does_not_leak_into_the_slopes() {
        let prior = MapPrior::default_for(3);
        let low = fit(
            &simulate([0.3, -0.3, 0.0, 0.0, 0.0, 0.0], 20.0, 80, 2),
            &prior,
        );
        let high = fit(
            &simulate([0.3, -0.3, 0.0, 0.0, 0.0, 0.0], 85.0, 80, 2),
            &prior,
        );
        for (a, b) in low.coef.iter().zip(&high.coef) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
    }

    #[test]
    fn with_few_rows_the_prior_dominates_and_uncertainty_is_wide() {
        let prior = MapPrior::default_for(3);
        let few = fit(
            &simulate([0.4, -0.3, 0.0, 0.0, 0.0, 0.0], 50.0, 4, 3),
            &prior,
        );
        let many = fit(
            &simulate([0.4, -0.3, 0.0, 0.0, 0.0, 0.0], 50.0, 200, 3),
            &prior,
        );
        let (_, v_few) = value(&few, &prior, 0);
        let (_, v_many) = value(&many, &prior, 0);
        assert!(v_few > 5.0 * v_many);
        assert_eq!(fit(&MapStats::new(3), &prior), MapFit::prior(&prior, 0));
    }

    #[test]
    fn a_strongly_driven_person_is_shrunk_less_than_a_flat_one() {
        let prior = MapPrior::default_for(3);
        let strong = fit(
            &simulate([0.6, -0.5, 0.0, 0.0, -0.4, 0.4], 50.0, 150, 4),
            &prior,
        );
        let flat = fit(&simulate([0.0; 6], 50.0, 150, 4), &prior);
        assert!(
            strong.scale > flat.scale,
            "{} vs {}",
            strong.scale,
            flat.scale
        );
    }

    #[test]
    fn incremental_statistics_equal_the_batch_ones_and_fade_with_time() {
        let a = simulate([0.2, 0.0, 0.0, 0.0, 0.0, 0.0], 50.0, 30, 5);
        let b = simulate([0.2, 0.0, 0.0, 0.0, 0.0, 0.0], 50.0, 30, 5);
        assert_eq!(a, b);
        assert_eq!(a.rows(), 30);
        assert!((a.weight() - 30.0).abs() < 1e-12);
        let mut faded = MapStats::new(3);
        faded.push(&[50.0; 6], &[0.0; 3], 50.0, day(0.0), 10.0);
        faded.push(&[50.0; 6], &[0.0; 3], 50.0, day(10.0), 10.0);
        assert!((faded.weight() - 1.5).abs() < 1e-12);
        assert!((faded.span_days() - 10.0).abs() < 1e-12);
    }
}

//! The idiographic lagged process network: a VAR(1) over the person's process
//! poles and well-being, kept as incremental sufficient statistics and
//! estimated with ridge shrinkage toward the population network (idionomic
//! pooling). With shrinkage 0 it reproduces ordinary least squares.
//!
//! # Variables
//! For `P` processes the network has `d = 2P + 1` variables: for process `p`
//! its adaptive pole at index `2p` and its maladaptive pole at `2p + 1` (PBAT
//! reads the poles as distinct signals, so they are not collapsed into one
//! score), and well-being (0-100, higher is better) at index `2P`.
//!
//! # Model
//! `y_t = a + B y_{t-1} + e_t`, one equation per variable, fitted from
//! consecutive pairs of assessments. The state keeps only the cross-products
//! of the regressor `x = [1, y_{t-1}]` with itself (`Sxx`, packed upper
//! triangle) and with `y_t` (`Sxy`), the diagonal of `Syy` and the pair count
//! `n`. An update is `O(d^2)` and never revisits history, and summing pairs one
//! at a time gives exactly the batch cross-products (tested).
//! Values are stored shifted by the scale midpoint (50) so the raw sums stay
//! small and centring loses fewer digits; the estimates do not depend on it.
//!
//! # Estimation
//! Each row `b_j` minimises `sum (y_j - a_j - b_j'x)^2 + λ Σ_k s_k (b_jk - b0_jk)^2`
//! where `b0` is the population network and `s_k` the typical within-person
//! variance of variable `k`. The penalty is what `λ` extra *pseudo-observations*
//! with that spread, whose next step follows `b0`, would add; so
//! `network_shrinkage` reads as "how many of the person's own observations the
//! population is worth". The intercept is not penalised (estimation works on
//! centred cross-products, which is equivalent). With `λ = 0` this is ordinary
//! least squares (tested against a direct batch solve to 1e-8).
//!
//! Uncertainty is the conjugate reading of the same ridge: `Cov(b_j) = s_j^2 M^-1`
//! with `M = C + λ diag(s)`. The residual variance `s_j^2` pools the ridge
//! residuals with a prior guess (the population innovation variance worth
//! [`PRIOR_RESIDUAL_DF`] observations), so a person with three assessments does
//! not get a spuriously tight interval. Data sufficiency is reported as the
//! effective share of own data, `tr(C M^-1) / d` (the ridge's effective degrees
//! of freedom per coefficient): it equals `n / (n + λ)` when the person's
//! variability matches the population's, and is lower for someone whose ratings
//! hardly move, who has indeed told us less.
//!
//! # Cost
//! Estimation is one Cholesky factorisation and inverse of a `d x d` matrix,
//! `O(d^3)` (about 10 µs for 12 processes). Updates never estimate; ranking
//! needs only the outcome row, and the engine caches it in the person's state
//! (see `Engine::refresh`).
//!
//! Missing poles in an assessment are filled by the caller (the person's
//! current smoothed level, else the population prior mean) before a pair is
//! added: an imputed value carries no information about dynamics, it only keeps
//! the pair usable for the variables that were rated. This attenuates the
//! estimated effects of rarely rated variables toward zero, which combined with
//! shrinkage errs on the side of the population network.

use crate::stats::{Cholesky, dot, packed};
use serde::{Deserialize, Serialize};

/// Scale midpoint subtracted before accumulating.
const SHIFT: f64 = 50.0;

/// Pseudo-observations behind the prior residual variance.
pub const PRIOR_RESIDUAL_DF: f64 = 4.0;

/// Number of network variables for `processes` processes.
pub fn variable_count(processes: usize) -> usize {
    2 * processes + 1
}
/// Index of the adaptive pole of process `p`.
pub fn adaptive(p: usize) -> usize {
    2 * p
}
/// Index of the maladaptive pole of process `p`.
pub fn maladaptive(p: usize) -> usize {
    2 * p + 1
}
/// Index of well-being among `d` variables.
pub fn outcome(d: usize) -> usize {
    d - 1
}

/// Incremental sufficient statistics of a VAR(1) with intercept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkStats {
    dim: usize,
    n: u32,
    /// Packed upper triangle of `X'X`, `X` rows `[1, y_{t-1} - 50]`.
    sxx: Vec<f64>,
    /// `X'Y`, `(d + 1) x d`, row-major; row 0 is the sum of `y_t - 50`.
    sxy: Vec<f64>,
    /// Diagonal of `Y'Y`.
    syy: Vec<f64>,
}

impl NetworkStats {
    /// Empty statistics for `dim` variables.
    pub fn new(dim: usize) -> Self {
        let k = dim + 1;
        Self {
            dim,
            n: 0,
            sxx: vec![0.0; k * (k + 1) / 2],
            sxy: vec![0.0; k * dim],
            syy: vec![0.0; dim],
        }
    }

    /// Builds the statistics from a series of complete vectors, pairing each
    /// with its successor when `keep(i)` says the pair `(i, i + 1)` counts.
    pub fn from_series(series: &[Vec<f64>], keep: impl Fn(usize) -> bool) -> Self {
        let dim = series.first().map_or(0, Vec::len);
        let mut s = Self::new(dim);
        for (i, w) in series.windows(2).enumerate() {
            if keep(i) {
                s.push(&w[0], &w[1]);
            }
        }
        s
    }

    /// Number of variables.
    pub fn dim(&self) -> usize {
        self.dim
    }
    /// Number of pairs folded in.
    pub fn n(&self) -> u32 {
        self.n
    }

    /// Whether the buffers have the sizes `dim` implies (guards persisted state).
    pub fn is_consistent(&self) -> bool {
        let k = self.dim + 1;
        self.sxx.len() == k * (k + 1) / 2
            && self.sxy.len() == k * self.dim
            && self.syy.len() == self.dim
    }

    /// Whether every accumulated value is finite (a corrupted persisted state is not).
    pub fn is_finite(&self) -> bool {
        self.sxx
            .iter()
            .chain(&self.sxy)
            .chain(&self.syy)
            .all(|v| v.is_finite())
    }

    /// Folds in one lagged pair: `prev` at `t - 1`, `next` at `t`, both complete
    /// vectors of `dim` values on the 0-100 scale.
    pub fn push(&mut self, prev: &[f64], next: &[f64]) {
        assert!(
            prev.len() == self.dim && next.len() == self.dim,
            "network pair has {} and {} values, expected {}",
            prev.len(),
            next.len(),
            self.dim
        );
        let d = self.dim;
        let k = d + 1;
        // Row 0 of the packed triangle: the intercept column.
        self.sxx[0] += 1.0;
        for (slot, &x) in self.sxx[1..k].iter_mut().zip(prev) {
            *slot += x - SHIFT;
        }
        let mut at = k;
        for i in 0..d {
            let xi = prev[i] - SHIFT;
            for (slot, &xj) in self.sxx[at..at + (d - i)].iter_mut().zip(&prev[i..]) {
                *slot += xi * (xj - SHIFT);
            }
            at += d - i;
        }
        for ((sum, sq), &y) in self.sxy[..d].iter_mut().zip(&mut self.syy).zip(next) {
            let y = y - SHIFT;
            *sum += y;
            *sq += y * y;
        }
        for (row, &x) in self.sxy[d..].chunks_exact_mut(d).zip(prev) {
            let xi = x - SHIFT;
            for (slot, &y) in row.iter_mut().zip(next) {
                *slot += xi * (y - SHIFT);
            }
        }
        self.n += 1;
    }

    fn xx(&self, i: usize, j: usize) -> f64 {
        let (i, j) = if i <= j { (i, j) } else { (j, i) };
        self.sxx[packed(self.dim + 1, i, j)]
    }

    fn xy(&self, i: usize, t: usize) -> f64 {
        self.sxy[i * self.dim + t]
    }
}

/// The population network a person's estimate shrinks toward.
#[derive(Debug, Clone, Copy)]
pub struct NetworkPrior<'a> {
    /// `B0`, row-major `d x d`: entry `target * d + source`.
    pub coefficients: &'a [f64],
    /// Typical within-person variance of each variable (scales the pseudo-observations).
    pub variance: &'a [f64],
    /// Population residual (innovation) variance of each variable.
    pub innovation_variance: &'a [f64],
}

/// One equation of the estimated network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowEstimate {
    /// Index of the variable this row predicts.
    pub target: usize,
    /// Intercept on the original 0-100 scale.
    pub intercept: f64,
    /// Lagged coefficient of each source variable on the target.
    pub coef: Vec<f64>,
    /// Standard error of each coefficient.
    pub se: Vec<f64>,
    /// Covariance of the two poles' coefficients of each process,
    /// `cov(coef[2p], coef[2p + 1])`, for intervals on their difference.
    pub pole_cov: Vec<f64>,
    /// Residual standard deviation.
    pub residual_sd: f64,
}

/// A (partial) network estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkEstimate {
    /// Pairs behind the estimate.
    pub n: u32,
    /// Effective share of own data in the coefficients, 0-1.
    pub own_weight: f64,
    /// The same share per source variable, `(C M^-1)_ii`: a pole the person
    /// never varies teaches nothing about its influence, however many pairs.
    #[serde(default)]
    pub own_weight_by_variable: Vec<f64>,
    /// The share for each process's pole contrast `(e_a - e_m) / √2`, the
    /// direction of its influence as ranking uses it: poles that always move
    /// together in opposite directions leave each pole's coefficient
    /// uncertain but their contrast well known.
    #[serde(default)]
    pub own_weight_by_process: Vec<f64>,
    /// Within-person standard deviation of each variable, blended with the
    /// population's (used to standardise edges).
    pub sd: Vec<f64>,
    /// The rows asked for, in the order asked.
    pub rows: Vec<RowEstimate>,
}

impl NetworkEstimate {
    /// The row predicting `target`, if it was estimated.
    pub fn row(&self, target: usize) -> Option<&RowEstimate> {
        self.rows.iter().find(|r| r.target == target)
    }
}

/// Estimates the rows predicting `targets` with ridge strength `shrinkage`
/// (pseudo-observations) toward `prior`.
pub fn estimate(
    stats: &NetworkStats,
    prior: NetworkPrior<'_>,
    shrinkage: f64,
    targets: &[usize],
) -> NetworkEstimate {
    let d = stats.dim;
    assert!(
        prior.coefficients.len() == d * d
            && prior.variance.len() == d
            && prior.innovation_variance.len() == d,
        "network prior does not match {d} variables"
    );
    if !stats.is_finite() {
        return prior_estimate(stats.n, prior, targets);
    }
    let n = f64::from(stats.n);
    let lambda = shrinkage.max(0.0);
    let (xbar, ybar): (Vec<f64>, Vec<f64>) = if stats.n > 0 {
        (
            (0..d).map(|j| stats.xx(0, j + 1) / n).collect(),
            (0..d).map(|t| stats.xy(0, t) / n).collect(),
        )
    } else {
        (vec![0.0; d], vec![0.0; d])
    };
    // Centred cross-products (row-major d x d): the intercept is left unpenalised.
    let mut c = vec![0.0; d * d];
    if stats.n > 0 {
        for i in 0..d {
            for j in i..d {
                let v = stats.xx(i + 1, j + 1) - n * xbar[i] * xbar[j];
                c[i * d + j] = v;
                c[j * d + i] = v;
            }
        }
    }
    let mut m = c.clone();
    for i in 0..d {
        m[i * d + i] += lambda * prior.variance[i];
    }
    let Some((chol, jitter)) = Cholesky::with_jitter(&m, d) else {
        return prior_estimate(stats.n, prior, targets);
    };
    let inv = chol.inverse();
    // (C M^-1)_ij: the share of own data along each direction.
    // `inv` is symmetric, so column j is row j.
    let w = |i: usize, j: usize| dot(&c[i * d..(i + 1) * d], &inv[j * d..(j + 1) * d]);
    let own_weight_by_variable: Vec<f64> = (0..d).map(|i| w(i, i).clamp(0.0, 1.0)).collect();
    let edf: f64 = own_weight_by_variable.iter().sum();
    let own_weight_by_process: Vec<f64> = (0..d / 2)
        .map(|p| {
            let (a, m) = (adaptive(p), maladaptive(p));
            ((w(a, a) + w(m, m) - w(a, m) - w(m, a)) / 2.0).clamp(0.0, 1.0)
        })
        .collect();
    let own_weight = if d == 0 { 0.0 } else { edf / d as f64 };
    let sd = (0..d)
        .map(|i| {
            let k0 = 2.0;
            ((c[i * d + i].max(0.0) + k0 * prior.variance[i]) / (n + k0)).sqrt()
        })
        .collect();

    let rows = targets
        .iter()
        .map(|&t| {
            let b0 = &prior.coefficients[t * d..(t + 1) * d];
            let cxy: Vec<f64> = (0..d)
                .map(|i| {
                    if stats.n == 0 {
                        0.0
                    } else {
                        stats.xy(i + 1, t) - n * xbar[i] * ybar[t]
                    }
                })
                .collect();
            let mut b: Vec<f64> = (0..d)
                .map(|i| cxy[i] + (lambda * prior.variance[i] + jitter) * b0[i])
                .collect();
            chol.solve(&mut b);
            let cyy = if stats.n == 0 {
                0.0
            } else {
                stats.syy[t] - n * ybar[t] * ybar[t]
            };
            let bcb: f64 = (0..d).map(|i| b[i] * dot(&c[i * d..(i + 1) * d], &b)).sum();
            let sse = (cyy - 2.0 * dot(&b, &cxy) + bcb).max(0.0);
            let df = (n - 1.0 - edf).max(0.0);
            let s2 =
                (sse + PRIOR_RESIDUAL_DF * prior.innovation_variance[t]) / (df + PRIOR_RESIDUAL_DF);
            let se = (0..d)
                .map(|i| (s2 * inv[i * d + i]).max(0.0).sqrt())
                .collect();
            let pole_cov = (0..d / 2)
                .map(|p| s2 * inv[adaptive(p) * d + maladaptive(p)])
                .collect();
            let a_shifted = ybar[t] - dot(&b, &xbar);
            let intercept = SHIFT + a_shifted - SHIFT * b.iter().sum::<f64>();
            RowEstimate {
                target: t,
                intercept,
                coef: b,
                se,
                pole_cov,
                residual_sd: s2.sqrt(),
            }
        })
        .collect();
    NetworkEstimate {
        n: stats.n,
        own_weight,
        own_weight_by_variable,
        own_weight_by_process,
        sd,
        rows,
    }
}

/// The population network with prior-only uncertainty; used when the system
/// is numerically hopeless (non-finite persisted statistics).
fn prior_estimate(n: u32, prior: NetworkPrior<'_>, targets: &[usize]) -> NetworkEstimate {
    let d = prior.variance.len();
    NetworkEstimate {
        n,
        own_weight: 0.0,
        own_weight_by_variable: vec![0.0; d],
        own_weight_by_process: vec![0.0; d / 2],
        sd: prior.variance.iter().map(|v| v.sqrt()).collect(),
        rows: targets
            .iter()
            .map(|&t| {
                prior_row(
                    t,
                    &prior.coefficients[t * d..(t + 1) * d],
                    prior.innovation_variance[t],
                )
            })
            .collect(),
    }
}

/// The population row with prior-only uncertainty; used when the system is
/// numerically hopeless (non-finite persisted statistics).
fn prior_row(target: usize, b0: &[f64], innovation_variance: f64) -> RowEstimate {
    let d = b0.len();
    RowEstimate {
        target,
        intercept: SHIFT * (1.0 - b0.iter().sum::<f64>()),
        coef: b0.to_vec(),
        se: vec![innovation_variance.sqrt() / 10.0; d],
        pole_cov: vec![0.0; d / 2],
        residual_sd: innovation_variance.sqrt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::DMatrix;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn flat_prior(d: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut b0 = vec![0.0; d * d];
        for i in 0..d {
            b0[i * d + i] = 0.4;
        }
        (b0, vec![400.0; d], vec![100.0; d])
    }

    /// A stable VAR(1) series of `len` points in `d` variables.
    fn simulate(d: usize, len: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut b = vec![0.0; d * d];
        for t in 0..d {
            for s in 0..d {
                b[t * d + s] = if t == s {
                    0.5
                } else {
                    rng.random_range(-0.15..0.15)
                };
            }
        }
        let mut y: Vec<f64> = (0..d).map(|_| rng.random_range(30.0..70.0)).collect();
        let mut out = vec![y.clone()];
        for _ in 1..len {
            let next: Vec<f64> = (0..d)
                .map(|t| {
                    let mean: f64 =
                        50.0 + (0..d).map(|s| b[t * d + s] * (y[s] - 50.0)).sum::<f64>();
                    mean + rng.random_range(-10.0..10.0)
                })
                .collect();
            y = next;
            out.push(y.clone());
        }
        (out, b)
    }

    /// OLS VAR(1) computed directly from the stacked design matrix.
    fn batch_ols(series: &[Vec<f64>]) -> (DMatrix<f64>, DMatrix<f64>) {
        let d = series[0].len();
        let n = series.len() - 1;
        let x = DMatrix::from_fn(n, d + 1, |r, c| if c == 0 { 1.0 } else { series[r][c - 1] });
        let y = DMatrix::from_fn(n, d, |r, c| series[r + 1][c]);
        let xtx = x.transpose() * &x;
        let xty = x.transpose() * &y;
        let coef = xtx.clone().lu().solve(&xty).expect("design has full rank");
        (coef, xtx)
    }

    #[test]
    fn packed_index_walks_the_upper_triangle_in_order() {
        let k = 5;
        let mut expected = 0;
        for i in 0..k {
            for j in i..k {
                assert_eq!(packed(k, i, j), expected);
                expected += 1;
            }
        }
        assert_eq!(expected, k * (k + 1) / 2);
    }

    #[test]
    fn zero_shrinkage_reproduces_batch_ols() {
        for (d, len, seed) in [(3, 40, 1), (5, 120, 2), (7, 300, 3)] {
            let (series, _) = simulate(d, len, seed);
            let stats = NetworkStats::from_series(&series, |_| true);
            let (b0, var, innov) = flat_prior(d);
            let targets: Vec<usize> = (0..d).collect();
            let prior = NetworkPrior {
                coefficients: &b0,
                variance: &var,
                innovation_variance: &innov,
            };
            let est = estimate(&stats, prior, 0.0, &targets);
            let (ols, _) = batch_ols(&series);
            for row in &est.rows {
                assert!(
                    (row.intercept - ols[(0, row.target)]).abs() < 1e-8,
                    "intercept {} vs {}",
                    row.intercept,
                    ols[(0, row.target)]
                );
                for s in 0..d {
                    let diff = (row.coef[s] - ols[(s + 1, row.target)]).abs();
                    assert!(diff < 1e-8, "d={d} coef[{}][{s}] off by {diff}", row.target);
                }
            }
            assert!((est.own_weight - 1.0).abs() < 1e-9);
        }
    }

    #[test]
    fn cholesky_solve_and_inverse_match_nalgebra() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for d in [1usize, 2, 7, 25] {
            let a = DMatrix::from_fn(d, d, |_, _| rng.random_range(-1.0..1.0));
            let m = &a * a.transpose() + DMatrix::identity(d, d) * 0.5;
            let flat: Vec<f64> = (0..d * d).map(|k| m[(k / d, k % d)]).collect();
            let ch = Cholesky::new(&flat, d).expect("positive definite");
            let inv = ch.inverse();
            let reference = m.clone().try_inverse().expect("invertible");
            for i in 0..d {
                for j in 0..d {
                    assert!((inv[i * d + j] - reference[(i, j)]).abs() < 1e-9);
                }
            }
            let mut b: Vec<f64> = (0..d).map(|i| i as f64 - 1.0).collect();
            let expected = &reference * nalgebra::DVector::from_column_slice(&b);
            ch.solve(&mut b);
            for i in 0..d {
                assert!((b[i] - expected[i]).abs() < 1e-9);
            }
        }
        assert!(
            Cholesky::new(&[1.0, 2.0, 2.0, 1.0], 2).is_none(),
            "indefinite"
        );
    }

    #[test]
    fn corrupted_statistics_fall_back_to_the_population() {
        let (series, _) = simulate(3, 20, 1);
        let mut stats = NetworkStats::from_series(&series, |_| true);
        stats.sxy[4] = f64::NAN;
        assert!(stats.is_consistent() && !stats.is_finite());
        let (b0, var, innov) = flat_prior(3);
        let est = estimate(
            &stats,
            NetworkPrior {
                coefficients: &b0,
                variance: &var,
                innovation_variance: &innov,
            },
            20.0,
            &[2],
        );
        assert_eq!(est.rows[0].coef, b0[6..9].to_vec());
        assert_eq!(est.own_weight, 0.0);
    }

    #[test]
    fn gaps_break_the_chain() {
        let (series, _) = simulate(3, 30, 9);
        let all = NetworkStats::from_series(&series, |_| true);
        let some = NetworkStats::from_series(&series, |i| i % 3 != 0);
        assert_eq!(all.n(), 29);
        assert_eq!(some.n(), 19);
        assert_ne!(all, some);
    }

    #[test]
    fn no_data_gives_the_population_network() {
        let d = 5;
        let (mut b0, var, innov) = flat_prior(d);
        b0[4 * d + 1] = -0.07;
        let stats = NetworkStats::new(d);
        for lambda in [0.0, 20.0] {
            let est = estimate(
                &stats,
                NetworkPrior {
                    coefficients: &b0,
                    variance: &var,
                    innovation_variance: &innov,
                },
                lambda,
                &[4],
            );
            let row = est.row(4).expect("asked for row 4");
            for s in 0..d {
                assert!((row.coef[s] - b0[4 * d + s]).abs() < 1e-9);
            }
            assert_eq!(est.own_weight, 0.0);
            assert!(row.se.iter().all(|s| s.is_finite() && *s > 0.0));
        }
    }

    #[test]
    fn shrinkage_moves_the_estimate_between_ols_and_prior() {
        let d = 3;
        let (series, _) = simulate(d, 60, 4);
        let stats = NetworkStats::from_series(&series, |_| true);
        let (b0, var, innov) = flat_prior(d);
        let prior = NetworkPrior {
            coefficients: &b0,
            variance: &var,
            innovation_variance: &innov,
        };
        let target = 2;
        let ols = estimate(&stats, prior, 0.0, &[target]);
        // The simulated series has a within-person variance near 45; with the
        // prior's 400 and λ = 5 the own-data share is about 59·45 / (59·45 + 5·400).
        let mid = estimate(&stats, prior, 5.0, &[target]);
        let strong = estimate(&stats, prior, 1e7, &[target]);
        let dist = |e: &NetworkEstimate| -> f64 {
            e.rows[0]
                .coef
                .iter()
                .zip(&b0[target * d..])
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
                .sqrt()
        };
        assert!(dist(&strong) < 1e-3);
        assert!(dist(&mid) < dist(&ols));
        assert!(dist(&mid) > dist(&strong));
        assert!(ols.own_weight > mid.own_weight && mid.own_weight > strong.own_weight);
        // Roughly n / (n + λ) for data whose spread is near the population's.
        assert!(
            mid.own_weight > 0.4 && mid.own_weight < 0.75,
            "{}",
            mid.own_weight
        );
    }

    #[test]
    fn estimates_recover_a_known_network_and_intervals_cover_it() {
        let d = 3;
        let (series, truth) = simulate(d, 2000, 11);
        let stats = NetworkStats::from_series(&series, |_| true);
        let (b0, var, innov) = flat_prior(d);
        let targets: Vec<usize> = (0..d).collect();
        let est = estimate(
            &stats,
            NetworkPrior {
                coefficients: &b0,
                variance: &var,
                innovation_variance: &innov,
            },
            20.0,
            &targets,
        );
        for row in &est.rows {
            for s in 0..d {
                let z = (row.coef[s] - truth[row.target * d + s]) / row.se[s];
                assert!(z.abs() < 4.0, "z = {z} for {}<-{s}", row.target);
            }
            // Uniform noise on [-10, 10] has sd 5.77.
            assert!((row.residual_sd - 5.77).abs() < 0.5, "{}", row.residual_sd);
        }
    }

    #[test]
    fn intervals_narrow_with_more_data() {
        let d = 3;
        let (series, _) = simulate(d, 400, 5);
        let (b0, var, innov) = flat_prior(d);
        let prior = NetworkPrior {
            coefficients: &b0,
            variance: &var,
            innovation_variance: &innov,
        };
        let short = NetworkStats::from_series(&series[..40], |_| true);
        let long = NetworkStats::from_series(&series, |_| true);
        let se = |s: &NetworkStats| estimate(s, prior, 20.0, &[2]).rows[0].se[0];
        assert!(se(&long) < se(&short));
    }

    proptest! {
        #[test]
        fn incremental_statistics_equal_batch_cross_products(
            d in 1usize..6,
            raw in proptest::collection::vec(0.0f64..100.0, 2..240),
            gap_every in 2usize..9,
        ) {
            let len = raw.len() / d;
            prop_assume!(len >= 2);
            let series: Vec<Vec<f64>> = (0..len).map(|i| raw[i * d..(i + 1) * d].to_vec()).collect();
            let keep = |i: usize| !i.is_multiple_of(gap_every);
            let mut inc = NetworkStats::new(d);
            for i in 0..len - 1 {
                if keep(i) {
                    inc.push(&series[i], &series[i + 1]);
                }
            }
            let pairs: Vec<usize> = (0..len - 1).filter(|&i| keep(i)).collect();
            prop_assert_eq!(inc.n() as usize, pairs.len());
            let rows = pairs.len();
            let x = DMatrix::from_fn(rows, d + 1, |r, c| {
                if c == 0 { 1.0 } else { series[pairs[r]][c - 1] - SHIFT }
            });
            let y = DMatrix::from_fn(rows, d, |r, c| series[pairs[r] + 1][c] - SHIFT);
            let xtx = x.transpose() * &x;
            let xty = x.transpose() * &y;
            let yty = y.transpose() * &y;
            let tol = |v: f64| 1e-9 * (1.0 + v.abs());
            for i in 0..=d {
                for j in 0..=d {
                    prop_assert!((inc.xx(i, j) - xtx[(i, j)]).abs() <= tol(xtx[(i, j)]));
                }
                for t in 0..d {
                    prop_assert!((inc.xy(i, t) - xty[(i, t)]).abs() <= tol(xty[(i, t)]));
                }
            }
            for t in 0..d {
                prop_assert!((inc.syy[t] - yty[(t, t)]).abs() <= tol(yty[(t, t)]));
            }
            prop_assert!(inc.is_consistent() && inc.is_finite());
        }

        #[test]
        fn estimates_are_finite_and_own_weight_is_a_share(
            d in 1usize..5,
            len in 0usize..30,
            lambda in 0.0f64..100.0,
            seed in any::<u64>(),
        ) {
            let (series, _) = simulate(d, len.max(1), seed);
            let stats = NetworkStats::from_series(&series, |_| true);
            let (b0, var, innov) = flat_prior(d);
            let targets: Vec<usize> = (0..d).collect();
            let est = estimate(&stats, NetworkPrior {
                coefficients: &b0, variance: &var, innovation_variance: &innov,
            }, lambda, &targets);
            prop_assert!((0.0..=1.0).contains(&est.own_weight));
            for row in &est.rows {
                prop_assert!(row.intercept.is_finite());
                prop_assert!(row.coef.iter().chain(&row.se).all(|v| v.is_finite()));
                prop_assert!(row.residual_sd > 0.0);
            }
        }
    }
}

//! The engine's leaf of shared numerics: the one interval type every estimate
//! is reported in, data sufficiency, Gaussian beliefs, the normal and logistic
//! functions, and the small dense Cholesky factorisation the person models
//! solve with. It imports nothing from the rest of the crate, so every other
//! module may depend on it without creating a cycle.

use serde::{Deserialize, Serialize};

/// z of the 95th percentile of the normal, for 90% intervals.
pub const Z90: f64 = 1.644_853_626_951_472_2;

/// A mean with a 90% interval.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Interval {
    /// Posterior mean.
    pub mean: f64,
    /// 5th percentile.
    pub lower: f64,
    /// 95th percentile.
    pub upper: f64,
}

impl Interval {
    /// The 90% interval of a normal belief.
    pub fn normal(mean: f64, sd: f64) -> Self {
        let sd = sd.max(0.0);
        Self {
            mean,
            lower: mean - Z90 * sd,
            upper: mean + Z90 * sd,
        }
    }

    /// The interval scaled by `k` (a negative `k` swaps the ends).
    pub fn scaled(self, k: f64) -> Self {
        let (a, b) = (self.lower * k, self.upper * k);
        Self {
            mean: self.mean * k,
            lower: a.min(b),
            upper: a.max(b),
        }
    }

    /// Whether the interval excludes zero.
    pub fn excludes_zero(&self) -> bool {
        self.lower > 0.0 || self.upper < 0.0
    }
}

/// How much of an estimate rests on the person's own data.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Sufficiency {
    /// Observations of this person behind the estimate.
    pub observations: u32,
    /// Weight of own data against the prior, 0-1.
    pub own_weight: f64,
}

/// A normal belief about one quantity.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Gaussian {
    /// Mean.
    pub mean: f64,
    /// Variance.
    pub var: f64,
}

impl Gaussian {
    /// The belief `N(mean, sd²)`.
    pub fn with_sd(mean: f64, sd: f64) -> Self {
        Self { mean, var: sd * sd }
    }

    /// Standard deviation.
    pub fn sd(&self) -> f64 {
        self.var.max(0.0).sqrt()
    }

    /// Its 90% interval.
    pub fn interval(&self) -> Interval {
        Interval::normal(self.mean, self.sd())
    }
}

/// Standard normal density.
#[inline]
pub fn norm_pdf(z: f64) -> f64 {
    const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
    INV_SQRT_2PI * (-0.5 * z * z).exp()
}

/// Standard normal distribution function, accurate in both tails (through
/// `erfc`, not `1 - erf`, so `Φ(-9)` keeps its 1e-19 rather than rounding to 0).
#[inline]
pub fn norm_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z * std::f64::consts::FRAC_1_SQRT_2)
}

/// Table range and resolution of [`norm_cdf_pdf_fast`].
const TABLE_LIMIT: f64 = 9.0;
const TABLE_STEPS_PER_UNIT: f64 = 128.0;

/// `(Φ(z), φ(z))` at every table knot, built once.
fn normal_table() -> &'static [(f64, f64)] {
    static TABLE: std::sync::OnceLock<Vec<(f64, f64)>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let n = (2.0 * TABLE_LIMIT * TABLE_STEPS_PER_UNIT) as usize;
        (0..=n)
            .map(|i| {
                let z = -TABLE_LIMIT + i as f64 / TABLE_STEPS_PER_UNIT;
                (norm_cdf(z), norm_pdf(z))
            })
            .collect()
    })
}

/// `(Φ(z), φ(z))` to about 1e-10 absolute, several times faster than
/// [`norm_cdf`]: cubic Hermite interpolation between knots 1/128 apart, with
/// the exact derivatives (`Φ' = φ`, `φ' = -zφ`). Absolute, not relative,
/// accuracy: fine where the values are summed or multiplied into
/// probabilities (exact propensities), not for tail ratios.
#[inline]
pub fn norm_cdf_pdf_fast(z: f64) -> (f64, f64) {
    if z <= -TABLE_LIMIT {
        return (0.0, 0.0);
    }
    if z >= TABLE_LIMIT {
        return (1.0, 0.0);
    }
    let table = normal_table();
    let x = (z + TABLE_LIMIT) * TABLE_STEPS_PER_UNIT;
    let i = (x as usize).min(table.len() - 2);
    let t = x - i as f64;
    let h = 1.0 / TABLE_STEPS_PER_UNIT;
    let (c0, p0) = table[i];
    let (c1, p1) = table[i + 1];
    let z0 = -TABLE_LIMIT + i as f64 * h;
    let z1 = z0 + h;
    // Hermite basis on [0, 1].
    let t2 = t * t;
    let t3 = t2 * t;
    let h00 = 2.0 * t3 - 3.0 * t2 + 1.0;
    let h10 = t3 - 2.0 * t2 + t;
    let h01 = -2.0 * t3 + 3.0 * t2;
    let h11 = t3 - t2;
    let cdf = h00 * c0 + h10 * h * p0 + h01 * c1 + h11 * h * p1;
    let pdf = h00 * p0 + h10 * h * (-z0 * p0) + h01 * p1 + h11 * h * (-z1 * p1);
    (cdf.clamp(0.0, 1.0), pdf.max(0.0))
}

/// Logistic function.
#[inline]
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Log-odds of a probability, kept finite.
#[inline]
pub fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
}

/// Index of `(i, j)`, `i <= j`, in a packed upper triangle of a `k x k` matrix
/// (row `i` starts after the `k + (k-1) + ... + (k-i+1)` entries of earlier rows).
#[inline]
pub fn packed(k: usize, i: usize, j: usize) -> usize {
    debug_assert!(i <= j && j < k);
    i * (2 * k - i + 1) / 2 + (j - i)
}

/// Entries of a packed upper triangle of a `k x k` matrix.
pub fn packed_len(k: usize) -> usize {
    k * (k + 1) / 2
}

/// Dot product of two equally long slices, with four independent
/// accumulators so the additions pipeline (a plain fold is one long
/// dependency chain the compiler may not reorder).
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 4];
    let mut ca = a.chunks_exact(4);
    let mut cb = b.chunks_exact(4);
    for (x, y) in (&mut ca).zip(&mut cb) {
        acc[0] += x[0] * y[0];
        acc[1] += x[1] * y[1];
        acc[2] += x[2] * y[2];
        acc[3] += x[3] * y[3];
    }
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// A lower-triangular Cholesky factor `L` (row-major), `M = L L'`. Hand-written
/// for the small dense systems of the person models (d = 12 to 40): about 4x
/// faster than a generic dynamic matrix at these sizes, which is what keeps
/// estimation off the latency budget.
#[derive(Debug, Clone)]
pub struct Cholesky {
    l: Vec<f64>,
    d: usize,
}

impl Cholesky {
    /// Factorises a symmetric matrix (row-major `d x d`); `None` unless
    /// positive definite.
    pub fn new(m: &[f64], d: usize) -> Option<Self> {
        debug_assert_eq!(m.len(), d * d);
        let mut l = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..=i {
                let s = dot(&l[i * d..i * d + j], &l[j * d..j * d + j]);
                if i == j {
                    let v = m[i * d + i] - s;
                    if !(v > 0.0 && v.is_finite()) {
                        return None;
                    }
                    l[i * d + i] = v.sqrt();
                } else {
                    l[i * d + j] = (m[i * d + j] - s) / l[j * d + j];
                }
            }
        }
        Some(Self { l, d })
    }

    /// Factorises, adding a growing ridge to the diagonal when `m` is only
    /// semi-definite (collinear data and a flat prior). Returns the factor and
    /// the jitter used.
    pub fn with_jitter(m: &[f64], d: usize) -> Option<(Self, f64)> {
        if let Some(ch) = Self::new(m, d) {
            return Some((ch, 0.0));
        }
        let trace: f64 = (0..d).map(|i| m[i * d + i]).sum();
        let base = (trace.abs() / d.max(1) as f64).max(1.0);
        let mut jitter = base * 1e-10;
        for _ in 0..6 {
            let mut mj = m.to_vec();
            for i in 0..d {
                mj[i * d + i] += jitter;
            }
            if let Some(ch) = Self::new(&mj, d) {
                return Some((ch, jitter));
            }
            jitter *= 1e3;
        }
        None
    }

    /// Dimension.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// `log det M`.
    pub fn log_det(&self) -> f64 {
        (0..self.d).map(|i| 2.0 * self.l[i * self.d + i].ln()).sum()
    }

    /// Solves `L y = b` in place (forward substitution).
    pub fn forward(&self, b: &mut [f64]) {
        let (l, d) = (&self.l, self.d);
        for i in 0..d {
            let s = dot(&l[i * d..i * d + i], &b[..i]);
            b[i] = (b[i] - s) / l[i * d + i];
        }
    }

    /// Solves `M x = b` in place.
    pub fn solve(&self, b: &mut [f64]) {
        self.forward(b);
        let (l, d) = (&self.l, self.d);
        // Backward with L' column by column (row i of L), so memory is read in order.
        for i in (0..d).rev() {
            b[i] /= l[i * d + i];
            let bi = b[i];
            for (bk, lik) in b[..i].iter_mut().zip(&l[i * d..i * d + i]) {
                *bk -= lik * bi;
            }
        }
    }

    /// `M^-1` (row-major, symmetric) as `L^-T L^-1`.
    pub fn inverse(&self) -> Vec<f64> {
        let (l, d) = (&self.l, self.d);
        // `u` holds `L^-1` transposed (upper triangular), so that both the
        // substitution and the product below read contiguous rows.
        let mut u = vec![0.0; d * d];
        for j in 0..d {
            u[j * d + j] = 1.0 / l[j * d + j];
            for i in j + 1..d {
                let s = dot(&l[i * d + j..i * d + i], &u[j * d + j..j * d + i]);
                u[j * d + i] = -s / l[i * d + i];
            }
        }
        let mut inv = vec![0.0; d * d];
        for i in 0..d {
            for k in i..d {
                let v = dot(&u[i * d + k..(i + 1) * d], &u[k * d + k..(k + 1) * d]);
                inv[i * d + k] = v;
                inv[k * d + i] = v;
            }
        }
        inv
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_functions_match_reference_values() {
        // Reference values from the standard normal tables (Abramowitz & Stegun 26.2).
        assert!((norm_cdf(0.0) - 0.5).abs() < 1e-15);
        assert!((norm_cdf(1.0) - 0.841_344_746_068_542_9).abs() < 1e-14);
        assert!((norm_cdf(-1.959_963_984_540_054) - 0.025).abs() < 1e-14);
        // Far tail keeps its relative precision.
        let t = norm_cdf(-9.0);
        assert!((t / 1.128_588_405_953_834e-19 - 1.0).abs() < 1e-10, "{t}");
        assert!((norm_pdf(0.0) - 0.398_942_280_401_432_7).abs() < 1e-16);
        assert!((norm_cdf(Z90) - 0.95).abs() < 1e-14);
    }

    #[test]
    fn the_fast_normal_matches_the_exact_one_to_1e_10() {
        let mut z = -10.0;
        while z < 10.0 {
            let (c, p) = norm_cdf_pdf_fast(z);
            assert!(
                (c - norm_cdf(z)).abs() < 1e-10,
                "cdf at {z}: {c} vs {}",
                norm_cdf(z)
            );
            assert!(
                (p - norm_pdf(z)).abs() < 1e-10,
                "pdf at {z}: {p} vs {}",
                norm_pdf(z)
            );
            z += 0.0137;
        }
    }

    #[test]
    fn intervals_scale_and_flip() {
        let i = Interval::normal(1.0, 1.0);
        assert!((i.upper - i.mean - Z90).abs() < 1e-15);
        let f = i.scaled(-2.0);
        assert!(f.lower < f.mean && f.mean < f.upper);
        assert_eq!(f.mean, -2.0);
        assert!(Interval::normal(3.0, 1.0).excludes_zero());
        assert!(!Interval::normal(1.0, 1.0).excludes_zero());
    }

    #[test]
    fn cholesky_solves_inverts_and_gives_the_log_determinant() {
        let m = [4.0, 2.0, 0.6, 2.0, 5.0, 1.0, 0.6, 1.0, 3.0];
        let ch = Cholesky::new(&m, 3).expect("positive definite");
        let mut x = [1.0, 2.0, 3.0];
        ch.solve(&mut x);
        for i in 0..3 {
            let r: f64 = (0..3).map(|j| m[i * 3 + j] * x[j]).sum();
            assert!((r - [1.0, 2.0, 3.0][i]).abs() < 1e-12);
        }
        let inv = ch.inverse();
        for i in 0..3 {
            for j in 0..3 {
                let v: f64 = (0..3).map(|k| m[i * 3 + k] * inv[k * 3 + j]).sum();
                assert!((v - f64::from(u8::from(i == j))).abs() < 1e-12);
            }
        }
        // det = 4(15-1) - 2(6-0.6) + 0.6(2-3) = 44.6
        assert!((ch.log_det() - 44.6f64.ln()).abs() < 1e-12);
        assert!(Cholesky::new(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
        let (_, jitter) = Cholesky::with_jitter(&[1.0, 1.0, 1.0, 1.0], 2).expect("jittered");
        assert!(jitter > 0.0);
    }

    #[test]
    fn packed_indices_cover_the_triangle_once() {
        let k = 5;
        let mut seen = vec![false; packed_len(k)];
        for i in 0..k {
            for j in i..k {
                let p = packed(k, i, j);
                assert!(!seen[p]);
                seen[p] = true;
            }
        }
        assert!(seen.iter().all(|s| *s));
    }
}

//! Exact first-place probabilities of a Thompson draw: for independent normal
//! draws `X_i ~ N(μ_i, s_i²)`, the probability that each is the largest,
//!
//! `P_i = ∫ φ_i(x) Π_{j≠i} Φ_j(x) dx`,
//!
//! a one-dimensional integral, computed to about 1e-10 rather than estimated
//! by replaying the draw: off-policy evaluation divides by these numbers, and
//! Monte Carlo noise in a logged propensity becomes bias in every estimate
//! made from the log.
//!
//! # Method
//! The integrand is negligible below `L = max_i(μ_i - 7 s_i)` (the leader's
//! lower tail, mass below 1.3e-12) and above `U = max_i(μ_i + 7 s_i)`;
//! candidates whose upper tail does not reach `L` get probability 0 (they
//! win with probability below 1.3e-12). On `[L, U]` the integrand is a smooth
//! bump that vanishes at both ends, for which the trapezoid rule on a uniform
//! grid converges geometrically; a spacing of 0.4 of the smallest sd is
//! accurate to about 1e-9 (tested against adaptive quadrature), with the
//! normal functions read from a table accurate to 1e-10
//! ([`crate::stats::norm_cdf_pdf_fast`]). A candidate whose chance of beating
//! the leader alone is below 1e-12 is left at 0 before integrating. When the
//! sds differ so much that the grid would exceed 4096 points, each
//! probability is instead integrated over its own standardised draw with
//! adaptive Simpson quadrature to 1e-11. The probabilities are renormalised
//! to sum to one exactly (the correction is of the order of the error).

use crate::stats::{norm_cdf, norm_cdf_pdf_fast, norm_pdf};

/// Tail cut, in sd.
const TAIL: f64 = 7.0;
/// Grid points per smallest sd.
const POINTS_PER_SD: f64 = 2.5;
/// Largest grid before falling back to per-candidate adaptive quadrature.
const MAX_GRID: usize = 4096;
/// Absolute tolerance of the adaptive fallback.
const FALLBACK_TOL: f64 = 1e-11;
/// Width (in sd of the candidate's own draw) of the fallback's fixed panels.
const PANEL: f64 = 0.25;

/// The probability that each of independent `N(means[i], sds[i]²)` draws is
/// the largest. Sums to 1 (empty input: empty output).
pub(crate) fn first_place(means: &[f64], sds: &[f64]) -> Vec<f64> {
    let m = means.len();
    debug_assert_eq!(m, sds.len());
    match m {
        0 => return Vec::new(),
        1 => return vec![1.0],
        _ => {}
    }
    // A zero sd is a point mass; a tiny positive sd keeps the maths uniform
    // (far below any difference that could matter).
    let scale = 1.0
        + means.iter().fold(0.0f64, |a, x| a.max(x.abs()))
        + sds.iter().fold(0.0f64, |a, x| a.max(x.abs()));
    let s: Vec<f64> = sds.iter().map(|x| x.abs().max(1e-9 * scale)).collect();
    let lo = (0..m)
        .map(|i| means[i] - TAIL * s[i])
        .fold(f64::NEG_INFINITY, f64::max);
    let hi = (0..m)
        .map(|i| means[i] + TAIL * s[i])
        .fold(f64::NEG_INFINITY, f64::max);
    // A candidate that would beat the leader (highest mean) with probability
    // below 1e-12 wins the whole draw with less: its share is left at 0.
    let leader = (0..m).fold(0, |b, i| if means[i] > means[b] { i } else { b });
    let live: Vec<usize> = (0..m)
        .filter(|&i| {
            i == leader
                || (means[i] + TAIL * s[i] >= lo
                    && norm_cdf((means[i] - means[leader]) / s[i].hypot(s[leader])) > 1e-12)
        })
        .collect();
    let mut p = vec![0.0; m];
    if live.len() == 1 {
        p[live[0]] = 1.0;
        return p;
    }
    let smin = live.iter().map(|&i| s[i]).fold(f64::INFINITY, f64::min);
    let steps = ((hi - lo) / smin * POINTS_PER_SD).ceil();
    if steps.is_finite() && (steps as usize) < MAX_GRID {
        trapezoid(means, &s, &live, lo, hi, steps as usize, &mut p);
    } else {
        for &i in &live {
            p[i] = adaptive(means, &s, &live, i);
        }
    }
    let total: f64 = p.iter().sum();
    if total > 0.0 && total.is_finite() {
        for x in &mut p {
            *x /= total;
        }
    } else {
        // Unreachable for finite input; a uniform answer beats a NaN in the log.
        let u = 1.0 / live.len() as f64;
        for &i in &live {
            p[i] = u;
        }
    }
    p
}

/// Trapezoid rule on `steps` intervals of `[lo, hi]`, accumulating into `p`.
fn trapezoid(
    means: &[f64],
    s: &[f64],
    live: &[usize],
    lo: f64,
    hi: f64,
    steps: usize,
    p: &mut [f64],
) {
    let n = live.len();
    let steps = steps.max(2);
    let h = (hi - lo) / steps as f64;
    let mut cdf = vec![0.0; n];
    let mut pdf = vec![0.0; n];
    let mut prefix = vec![0.0; n + 1];
    for k in 0..=steps {
        let x = lo + h * k as f64;
        let w = if k == 0 || k == steps { 0.5 * h } else { h };
        for (a, &i) in live.iter().enumerate() {
            let (c, d) = norm_cdf_pdf_fast((x - means[i]) / s[i]);
            cdf[a] = c;
            pdf[a] = d / s[i];
        }
        // Leave-one-out products without division (a tiny Φ would lose digits).
        prefix[0] = 1.0;
        for a in 0..n {
            prefix[a + 1] = prefix[a] * cdf[a];
        }
        let mut suffix = 1.0;
        for a in (0..n).rev() {
            p[live[a]] += w * pdf[a] * prefix[a] * suffix;
            suffix *= cdf[a];
        }
    }
}

/// `P_i` over the standardised draw `z` of candidate `i`, by adaptive Simpson.
fn adaptive(means: &[f64], s: &[f64], live: &[usize], i: usize) -> f64 {
    let f = |z: f64| {
        let x = means[i] + s[i] * z;
        let mut v = norm_pdf(z);
        for &j in live {
            if j != i {
                v *= norm_cdf((x - means[j]) / s[j]);
            }
        }
        v
    };
    // Fixed panels first: adaptive quadrature alone can accept a "flat zero"
    // estimate when all the mass sits between its first sample points.
    let panels = (2.0 * TAIL / PANEL) as usize;
    (0..panels)
        .map(|k| {
            let a = -TAIL + PANEL * k as f64;
            let b = a + PANEL;
            let (fa, fm, fb) = (f(a), f(0.5 * (a + b)), f(b));
            let whole = simpson_rule(a, b, fa, fm, fb);
            simpson(
                &f,
                a,
                b,
                fa,
                fm,
                fb,
                whole,
                FALLBACK_TOL / panels as f64,
                40,
            )
        })
        .sum()
}

fn simpson_rule(a: f64, b: f64, fa: f64, fm: f64, fb: f64) -> f64 {
    (b - a) / 6.0 * (fa + 4.0 * fm + fb)
}

#[allow(clippy::too_many_arguments)] // reason: the classic recursive form, all values are needed
fn simpson(
    f: &impl Fn(f64) -> f64,
    a: f64,
    b: f64,
    fa: f64,
    fm: f64,
    fb: f64,
    whole: f64,
    tol: f64,
    depth: u32,
) -> f64 {
    let m = 0.5 * (a + b);
    let (lm, rm) = (0.5 * (a + m), 0.5 * (m + b));
    let (flm, frm) = (f(lm), f(rm));
    let left = simpson_rule(a, m, fa, flm, fm);
    let right = simpson_rule(m, b, fm, frm, fb);
    let delta = left + right - whole;
    if depth == 0 || delta.abs() <= 15.0 * tol {
        left + right + delta / 15.0
    } else {
        simpson(f, a, m, fa, flm, fm, left, 0.5 * tol, depth - 1)
            + simpson(f, m, b, fm, frm, fb, right, 0.5 * tol, depth - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Independent reference: each probability by adaptive quadrature alone.
    fn reference(means: &[f64], sds: &[f64]) -> Vec<f64> {
        let live: Vec<usize> = (0..means.len()).collect();
        let p: Vec<f64> = live
            .iter()
            .map(|&i| adaptive(means, sds, &live, i))
            .collect();
        let t: f64 = p.iter().sum();
        p.iter().map(|x| x / t).collect()
    }

    #[test]
    fn two_candidates_match_the_closed_form() {
        // P(X1 > X2) = Φ((μ1 - μ2) / sqrt(s1² + s2²)).
        for (m1, s1, m2, s2) in [
            (1.0, 1.0, 0.0, 1.0),
            (0.3, 0.2, 0.0, 2.0),
            (-1.0, 3.0, 2.0, 0.5),
            (5.0, 1.0, 0.0, 1.0),
        ] {
            let p = first_place(&[m1, m2], &[s1, s2]);
            let exact = norm_cdf((m1 - m2) / f64::hypot(s1, s2));
            assert!((p[0] - exact).abs() < 1e-9, "{p:?} vs {exact}");
            assert!((p[0] + p[1] - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn ties_are_fair_and_hopeless_candidates_get_zero() {
        let p = first_place(&[1.0, 1.0, 1.0], &[1.0, 1.0, 1.0]);
        assert!(p.iter().all(|x| (x - 1.0 / 3.0).abs() < 1e-10), "{p:?}");
        let p = first_place(&[100.0, 0.0], &[1.0, 1.0]);
        assert_eq!(p, vec![1.0, 0.0]);
        assert_eq!(first_place(&[2.0], &[0.0]), vec![1.0]);
        assert!(first_place(&[], &[]).is_empty());
        // A point mass against a normal: P(X < c) for the point's share.
        let p = first_place(&[1.0, 0.0], &[0.0, 1.0]);
        assert!((p[0] - norm_cdf(1.0)).abs() < 1e-8, "{p:?}");
    }

    #[test]
    fn many_candidates_with_unequal_spreads_match_the_reference() {
        let means: Vec<f64> = (0..50).map(|i| (f64::from(i) * 0.37).sin() * 2.0).collect();
        let sds: Vec<f64> = (0..50)
            .map(|i| 0.3 + (f64::from(i) * 0.71).cos().abs())
            .collect();
        let p = first_place(&means, &sds);
        let r = reference(&means, &sds);
        for (a, b) in p.iter().zip(&r) {
            assert!((a - b).abs() < 1e-8, "{a} vs {b}");
        }
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // Wildly unequal spreads take the adaptive path and still agree.
        let p = first_place(&[0.0, 0.1, 0.05], &[1e-5, 1.0, 2.0]);
        let r = reference(&[0.0, 0.1, 0.05], &[1e-5, 1.0, 2.0]);
        for (a, b) in p.iter().zip(&r) {
            assert!((a - b).abs() < 1e-7, "{a} vs {b}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn probabilities_are_exact_against_the_reference(
            cands in proptest::collection::vec((-3.0f64..3.0, 0.05f64..3.0), 2..12),
        ) {
            let means: Vec<f64> = cands.iter().map(|c| c.0).collect();
            let sds: Vec<f64> = cands.iter().map(|c| c.1).collect();
            let p = first_place(&means, &sds);
            let r = reference(&means, &sds);
            for (a, b) in p.iter().zip(&r) {
                prop_assert!((a - b).abs() < 1e-7, "{} vs {}", a, b);
            }
            prop_assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
    }
}

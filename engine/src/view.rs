//! A person as the ranking and insights code sees them at one moment: current
//! levels (observed or imputed), the outcome row of their network with
//! uncertainty, and each process's *leverage* on well-being.
//!
//! # Leverage (ours)
//! How much well-being a one-point push on a process is worth for this person:
//! `leverage = (h_a + s) β_a - h_m β_m`, where `β_a`, `β_m` are the lagged
//! influences of the adaptive and maladaptive poles on well-being (per point),
//! `h_a = (100 - adaptive) / 100` and `h_m = maladaptive / 100` are the
//! headroom (a pole at its ceiling, adaptive near 100 or maladaptive near 0,
//! has nothing left to gain), and `s = max(adaptive - 50, 0) / 50` when
//! `β_a > 0` is the *strength* term. The strength term is the orchestra
//! principle made explicit: a strong adaptive process that is linked to
//! well-being is a lever to build on (using it more, carrying it into other
//! areas of life), not a finished job, so it keeps value even as its headroom
//! shrinks. It is linear in the influences, so its variance follows exactly
//! from their covariance.
//!
//! The view is built per call from the state and is never stored; it is what
//! makes ranking and insights agree with each other.

use crate::engine::Engine;
use crate::follow::Z90;
use crate::network::{self, NetworkEstimate, RowEstimate};
use crate::rank::Interval;
use crate::state::PersonState;
use std::borrow::Cow;

/// One process as it stands for the person.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ProcessView {
    /// Smoothed adaptive level, if ever rated.
    pub adaptive: Option<f64>,
    /// Smoothed maladaptive level, if ever rated.
    pub maladaptive: Option<f64>,
    /// Adaptive level used (observed or population mean).
    pub a: f64,
    /// Maladaptive level used.
    pub m: f64,
    /// Lagged influence of the adaptive pole on well-being, per point.
    pub beta_a: f64,
    /// Lagged influence of the maladaptive pole, per point.
    pub beta_m: f64,
    /// Headroom, 0-1 (mean of the two poles').
    pub headroom: f64,
    /// Repair part of the leverage.
    pub repair: f64,
    /// Strength part of the leverage.
    pub strength: f64,
    /// Leverage on well-being per point.
    pub leverage: f64,
    /// Variance of the leverage.
    pub leverage_var: f64,
    /// Well-being change for a 10-point improvement on both poles, with 90% interval.
    pub influence: Interval,
    /// Share of own data in the process's influence (pole contrast), 0-1.
    pub own_weight: f64,
}

/// The person at one moment.
#[derive(Debug, Clone)]
pub(crate) struct PersonView<'a> {
    /// Current level of every network variable (observed or imputed).
    pub levels: Vec<f64>,
    /// The outcome row of the network estimate.
    pub estimate: Cow<'a, NetworkEstimate>,
    /// Per process, in catalogue order.
    pub processes: Vec<ProcessView>,
}

impl<'a> PersonView<'a> {
    /// Builds the view; the state's layout must match the engine's catalogue.
    pub fn new(engine: &Engine, state: &'a PersonState) -> Self {
        let pop = engine.population();
        let d = pop.variable_mean.len();
        let levels: Vec<f64> = (0..d)
            .map(|i| {
                state
                    .variables
                    .get(i)
                    .and_then(|v| v.level)
                    .unwrap_or(pop.variable_mean[i])
            })
            .collect();
        let estimate = engine.outcome_estimate(state);
        let out = network::outcome(d);
        let row = estimate
            .row(out)
            .cloned()
            .unwrap_or_else(|| fallback_row(engine, out));
        let processes = (0..engine.processes().len())
            .map(|p| {
                let ia = network::adaptive(p);
                let im = network::maladaptive(p);
                let observed = |i: usize| state.variables.get(i).and_then(|v| v.level);
                ProcessView {
                    own_weight: estimate
                        .own_weight_by_process
                        .get(p)
                        .copied()
                        .unwrap_or(0.0),
                    ..process_view(observed(ia), observed(im), levels[ia], levels[im], &row, p)
                }
            })
            .collect();
        Self {
            levels,
            estimate,
            processes,
        }
    }

    /// The outcome row.
    pub fn row(&self) -> Option<&RowEstimate> {
        self.estimate.rows.first()
    }
}

fn fallback_row(engine: &Engine, out: usize) -> RowEstimate {
    let pop = engine.population();
    let d = pop.variable_mean.len();
    RowEstimate {
        target: out,
        intercept: 0.0,
        coef: pop.network[out * d..(out + 1) * d].to_vec(),
        se: vec![0.0; d],
        pole_cov: vec![0.0; d / 2],
        residual_sd: pop.innovation_sd[out],
    }
}

/// The leverage of one process given levels and the outcome row.
pub(crate) fn process_view(
    adaptive: Option<f64>,
    maladaptive: Option<f64>,
    a: f64,
    m: f64,
    row: &RowEstimate,
    p: usize,
) -> ProcessView {
    let ia = network::adaptive(p);
    let im = network::maladaptive(p);
    let beta_a = row.coef[ia];
    let beta_m = row.coef[im];
    let (se_a, se_m) = (row.se[ia], row.se[im]);
    let cov = row.pole_cov.get(p).copied().unwrap_or(0.0);
    let h_a = ((100.0 - a) / 100.0).clamp(0.0, 1.0);
    let h_m = (m / 100.0).clamp(0.0, 1.0);
    let s = if beta_a > 0.0 {
        ((a - 50.0) / 50.0).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let c_a = h_a + s;
    let c_m = -h_m;
    let repair = h_a * beta_a - h_m * beta_m;
    let strength = s * beta_a;
    let leverage_var =
        (c_a * c_a * se_a * se_a + c_m * c_m * se_m * se_m + 2.0 * c_a * c_m * cov).max(0.0);
    let infl = 10.0 * (beta_a - beta_m);
    let infl_sd = 10.0 * (se_a * se_a + se_m * se_m - 2.0 * cov).max(0.0).sqrt();
    ProcessView {
        adaptive,
        maladaptive,
        a,
        m,
        beta_a,
        beta_m,
        headroom: (h_a + h_m) / 2.0,
        repair,
        strength,
        leverage: repair + strength,
        leverage_var,
        influence: Interval {
            mean: infl,
            lower: infl - Z90 * infl_sd,
            upper: infl + Z90 * infl_sd,
        },
        own_weight: 0.0,
    }
}

/// Population leverage of each process: population network, population means,
/// no uncertainty. The denominator of the personal factor.
pub(crate) fn population_leverage(b0: &[f64], mean: &[f64], processes: usize) -> Vec<f64> {
    let d = mean.len();
    let out = network::outcome(d);
    let row = RowEstimate {
        target: out,
        intercept: 0.0,
        coef: b0[out * d..(out + 1) * d].to_vec(),
        se: vec![0.0; d],
        pole_cov: vec![0.0; processes],
        residual_sd: 0.0,
    };
    (0..processes)
        .map(|p| {
            let a = mean[network::adaptive(p)];
            let m = mean[network::maladaptive(p)];
            process_view(None, None, a, m, &row, p).leverage
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(beta_a: f64, beta_m: f64) -> RowEstimate {
        RowEstimate {
            target: 2,
            intercept: 0.0,
            coef: vec![beta_a, beta_m, 0.5],
            se: vec![0.01, 0.01, 0.01],
            pole_cov: vec![0.0],
            residual_sd: 10.0,
        }
    }

    #[test]
    fn headroom_shrinks_repair_near_the_ceiling() {
        let r = row(0.05, -0.05);
        let low = process_view(None, None, 20.0, 80.0, &r, 0);
        let high = process_view(None, None, 95.0, 5.0, &r, 0);
        assert!(low.repair > 3.0 * high.repair);
        assert!(low.headroom > high.headroom);
        assert!((low.influence.mean - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_strong_linked_process_keeps_leverage_through_its_strength() {
        let r = row(0.05, -0.05);
        let strong = process_view(None, None, 90.0, 10.0, &r, 0);
        assert!(strong.strength > strong.repair);
        // No strength credit when the link is not positive.
        let unlinked = process_view(None, None, 90.0, 10.0, &row(-0.01, 0.0), 0);
        assert_eq!(unlinked.strength, 0.0);
    }

    #[test]
    fn population_leverage_is_positive_for_the_catalog_network() {
        // One process: b0 rows for a, m, outcome.
        let b0 = vec![0.5, 0.0, 0.0, 0.0, 0.5, 0.0, 0.03, -0.03, 0.5];
        let lev = population_leverage(&b0, &[45.0, 55.0, 45.0], 1);
        assert!((lev[0] - (0.55 * 0.03 + 0.55 * 0.03)).abs() < 1e-12);
    }
}

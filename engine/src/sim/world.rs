//! The shared half of the generative model: the [`World`] every person in one
//! run shares (kernel effect structure calibrated to the catalogue, population
//! truths drawn once per seed, per-tick constants) and the network helpers
//! persons are built with. See [`crate::sim`] for the model in words.

use super::scenario::Scenario;
use super::{Catalogs, SimRng};
use crate::catalog::{Condition, Modality};
use crate::error::Result;
use crate::ids::{InterventionId, ProcessId, Timestamp};
use nalgebra::{DMatrix, DVector};
use rand::Rng;
use rand_distr::StandardNormal;

/// Simulated day 0: Monday 2026-01-05, 09:00 UTC.
pub(crate) const EPOCH: Timestamp = Timestamp(1_767_603_600_000);

/// Share of the maladaptive pole's move relative to the adaptive one is drawn
/// per person and process in `[KAPPA_LO, KAPPA_HI]`; its mean calibrates kernels.
pub(crate) const KAPPA_LO: f64 = 0.4;
pub(crate) const KAPPA_HI: f64 = 1.0;

/// One row of a sparse lagged network: `target` at t+1 depends on `source` at t.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Edge {
    pub target: usize,
    pub source: usize,
    pub coef: f64,
}

/// An intervention as the simulator needs it.
#[derive(Debug, Clone)]
pub(crate) struct Kernel {
    pub id: InterventionId,
    pub family: usize,
    pub effort: f64,
    /// Clinician-led or in-session: hard to do outside a session.
    pub needs_session: bool,
    pub aid: bool,
    pub safety: bool,
    /// Bit mask of contraindicating conditions.
    pub contra: u32,
    /// Range into [`World::entries`].
    pub entries: (usize, usize),
}

/// One pole a kernel moves: `base` is the push (0-100 points) per full dose at
/// multiplier 1 and headroom 1; positive on adaptive poles, negative on
/// maladaptive ones.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub pole: usize,
    pub process: usize,
    pub base: f64,
    pub adaptive: bool,
}

/// Per-tick constants derived from the weekly scenario parameters.
#[derive(Debug, Clone)]
pub(crate) struct TickParams {
    pub wellbeing_persistence: f64,
    pub wellbeing_noise: f64,
    pub load_persistence: f64,
    pub load_noise: f64,
    pub load_event: f64,
    pub forget: f64,
    pub hab_decay: f64,
    pub aid_decay: f64,
    /// Expected number of decisions an aid's carry-over lasts (geometric sum).
    pub aid_horizon: f64,
    pub risk_end: f64,
}

/// What every person in one run shares.
#[derive(Debug, Clone)]
pub(crate) struct World {
    pub scenario: Scenario,
    pub n_proc: usize,
    pub n_poles: usize,
    pub kernels: Vec<Kernel>,
    pub entries: Vec<Entry>,
    pub n_families: usize,
    pub process_ids: Vec<ProcessId>,
    /// Population truth: true mean effect of each kernel relative to the catalogue's.
    pub pop_mult: Vec<f64>,
    /// Population truth: mean relevance of each pole for well-being (mean 1).
    pub pop_relevance: Vec<f64>,
    /// Population network (weekly coefficients, without the diagonal).
    pub pop_edges: Vec<Edge>,
    pub prior_mean: Vec<f64>,
    pub prior_sd: Vec<f64>,
    pub ticks_per_week: u32,
    /// Which occasions of a week carry a decision.
    pub decision_occasion: Vec<bool>,
    pub tick: TickParams,
    pub cond_bits: Vec<(u32, f64, Condition)>,
}

/// Bit of a condition in a contraindication mask.
pub(crate) fn cond_bit(c: Condition) -> u32 {
    1u32 << (c as u32)
}

pub(crate) fn normal(rng: &mut SimRng) -> f64 {
    rng.sample(StandardNormal)
}

pub(crate) fn uniform(rng: &mut SimRng) -> f64 {
    rng.random::<f64>()
}

pub(crate) fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

pub(crate) fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// Room a pole has to move in the push's direction, 1 at mid-scale, 0 at the bound.
#[inline]
pub(crate) fn headroom(level: f64, up: bool) -> f64 {
    if up {
        (100.0 - level) * 0.02
    } else {
        level * 0.02
    }
}

/// Per-tick version of a weekly probability.
pub(crate) fn per_tick_prob(p_week: f64, ticks: f64) -> f64 {
    1.0 - (1.0 - p_week.clamp(0.0, 1.0)).powf(1.0 / ticks)
}

/// Innovation sd per tick that keeps the stationary variance of an AR(1) the
/// same as with the weekly parameters.
pub(crate) fn per_tick_sd(sd_week: f64, a_week: f64, a_tick: f64) -> f64 {
    if a_week <= 0.0 {
        sd_week
    } else {
        sd_week * ((1.0 - a_tick * a_tick) / (1.0 - a_week * a_week)).sqrt()
    }
}

impl World {
    /// Builds the world for one seed: kernel effect structure from the
    /// catalogue, and the population truths drawn from `rng`.
    pub fn new(scenario: &Scenario, catalogs: &Catalogs, rng: &mut SimRng) -> Result<Self> {
        scenario.validate()?;
        let procs = catalogs.processes.all();
        let n_proc = procs.len();
        let n_poles = 2 * n_proc;
        let d = &scenario.dynamics;
        let s = f64::from(scenario.measurement.assessments_per_week);

        let mut prior_mean = Vec::with_capacity(n_poles);
        let mut prior_sd = Vec::with_capacity(n_poles);
        for p in procs {
            prior_mean.push(p.prior_adaptive_mean);
            prior_mean.push(p.prior_maladaptive_mean);
            prior_sd.push(p.prior_sd);
            prior_sd.push(p.prior_sd);
        }

        // Population relevance of each pole for well-being: lognormal, mean 1.
        let sl = d.population_loading_sd;
        let pop_relevance: Vec<f64> = (0..n_poles)
            .map(|_| (sl * normal(rng) - 0.5 * sl * sl).exp())
            .collect();

        // Population network: a few random lagged cross-edges per pole.
        let mut pop_edges = Vec::new();
        if n_poles > 2 {
            for target in 0..n_poles {
                for _ in 0..d.edges_per_pole {
                    let mut source = rng.random_range(0..n_poles);
                    while source == target || source == sibling(target) {
                        source = rng.random_range(0..n_poles);
                    }
                    pop_edges.push(Edge {
                        target,
                        source,
                        coef: d.edge_sd * normal(rng),
                    });
                }
            }
        }

        // Population long-run loadings through the network, used to calibrate
        // kernels so that the catalogue's prior_effect is the average person's
        // lasting gain (before miscalibration and heterogeneity).
        let mut pop_diag = vec![d.persistence; n_poles];
        let mut edges0 = pop_edges.clone();
        add_sibling_edges(&mut edges0, n_poles, d.pole_coupling);
        stabilise(&mut edges0, &mut pop_diag);
        let beta0: Vec<f64> = (0..n_poles)
            .map(|p| pole_sign(p) * d.outcome_loading * pop_relevance[p])
            .collect();
        let y0 = long_run_loadings(&pop_diag, &edges0, &beta0);

        let mut families: Vec<&str> = Vec::new();
        let mut kernels = Vec::with_capacity(catalogs.interventions.len());
        let mut entries = Vec::new();
        let kappa_mean = 0.5 * (KAPPA_LO + KAPPA_HI);
        for iv in catalogs.interventions.all() {
            let family = match families.iter().position(|f| *f == iv.family) {
                Some(f) => f,
                None => {
                    families.push(&iv.family);
                    families.len() - 1
                }
            };
            // Lasting gain per unit push, at the prior levels, for the average person.
            let mut g1 = 0.0;
            let mut g1_naive = 0.0;
            for t in &iv.targets {
                let k = catalogs
                    .processes
                    .index_of(&t.process)
                    .ok_or_else(|| crate::EngineError::UnknownProcess(t.process.to_string()))?;
                let (pa, pm) = (2 * k, 2 * k + 1);
                let ha = headroom(prior_mean[pa], true);
                let hm = headroom(prior_mean[pm], false);
                g1 += t.weight
                    * ((1.0 - pop_diag[pa]) * y0[pa] * ha
                        - kappa_mean * (1.0 - pop_diag[pm]) * y0[pm] * hm);
                g1_naive += t.weight * (beta0[pa].abs() * ha + kappa_mean * beta0[pm].abs() * hm);
            }
            g1 *= d.retention;
            g1_naive *= d.retention;
            // A population network can, rarely, route a kernel's push against
            // well-being; fall back to the direct path so calibration stays sane.
            let g = if g1 > 0.2 * g1_naive { g1 } else { g1_naive };
            let c = if g > 1e-9 {
                scenario.response.effect_scale * iv.prior_effect / g
            } else {
                0.0
            };
            let start = entries.len();
            for t in &iv.targets {
                let k = catalogs
                    .processes
                    .index_of(&t.process)
                    .ok_or_else(|| crate::EngineError::UnknownProcess(t.process.to_string()))?;
                entries.push(Entry {
                    pole: 2 * k,
                    process: k,
                    base: c * t.weight,
                    adaptive: true,
                });
                entries.push(Entry {
                    pole: 2 * k + 1,
                    process: k,
                    base: -c * t.weight,
                    adaptive: false,
                });
            }
            let contra = iv
                .contraindications
                .iter()
                .fold(0u32, |m, c| m | cond_bit(*c));
            let effort = f64::from(iv.effort_minutes);
            kernels.push(Kernel {
                id: iv.id.clone(),
                family,
                effort,
                needs_session: iv.requires_clinician || iv.modality == Modality::InSession,
                aid: iv.follow_through_aid,
                safety: iv.safety,
                contra,
                entries: (start, entries.len()),
            });
        }

        // The catalogue's evidence comes from other people: the population's
        // true mean effect differs from it by a kernel-specific factor.
        let sc = scenario.response.catalog_miscalibration_sd;
        let pop_mult = kernels
            .iter()
            .map(|_| (sc * normal(rng) - 0.5 * sc * sc).exp())
            .collect();

        let m = &scenario.measurement;
        let apw = m.assessments_per_week as usize;
        let mut decision_occasion = vec![false; apw];
        for i in 0..m.decisions_per_week as usize {
            decision_occasion[i * apw / m.decisions_per_week as usize] = true;
        }

        let aw = d.wellbeing_persistence;
        let aw_t = aw.powf(1.0 / s);
        let l = &scenario.life_load;
        let lp_t = l.persistence.powf(1.0 / s);
        let tick = TickParams {
            wellbeing_persistence: aw_t,
            wellbeing_noise: per_tick_sd(d.wellbeing_noise_sd, aw, aw_t),
            load_persistence: lp_t,
            load_noise: per_tick_sd(l.noise_sd, l.persistence, lp_t),
            load_event: per_tick_prob(l.event_rate, s),
            forget: per_tick_prob(d.forgetting, s),
            hab_decay: 0.5f64.powf(1.0 / (scenario.response.habituation_half_life_weeks * s)),
            aid_decay: 0.5f64.powf(1.0 / (scenario.follow_through.aid_half_life_weeks * s)),
            aid_horizon: 1.0
                / (1.0
                    - 0.5f64.powf(
                        1.0 / (scenario.follow_through.aid_half_life_weeks
                            * f64::from(m.decisions_per_week)),
                    )),
            risk_end: per_tick_prob(1.0 / scenario.risk.mean_duration_weeks, s),
        };

        let cond_bits = scenario
            .conditions
            .iter()
            .map(|c| (cond_bit(c.condition), c.share, c.condition))
            .collect();

        Ok(Self {
            scenario: scenario.clone(),
            n_proc,
            n_poles,
            kernels,
            entries,
            n_families: families.len(),
            process_ids: procs.iter().map(|p| p.id.clone()).collect(),
            pop_mult,
            pop_relevance,
            pop_edges,
            prior_mean,
            prior_sd,
            ticks_per_week: m.assessments_per_week,
            decision_occasion,
            tick,
            cond_bits,
        })
    }

    /// The timestamp of a tick.
    pub fn time_of(&self, tick: u32) -> Timestamp {
        EPOCH.plus_days(7.0 * f64::from(tick) / f64::from(self.ticks_per_week))
    }
}

/// +1 for adaptive poles (more is better for well-being), -1 for maladaptive.
#[inline]
pub(crate) fn pole_sign(pole: usize) -> f64 {
    if pole.is_multiple_of(2) { 1.0 } else { -1.0 }
}

#[inline]
pub(crate) fn sibling(pole: usize) -> usize {
    pole ^ 1
}

pub(crate) fn add_sibling_edges(edges: &mut Vec<Edge>, n_poles: usize, coupling: f64) {
    if coupling > 0.0 {
        for target in 0..n_poles {
            edges.push(Edge {
                target,
                source: sibling(target),
                coef: -coupling,
            });
        }
    }
}

/// Scales each row so `|a_dd| + sum |edges| <= 0.95`: the infinity norm of the
/// transition matrix stays below 1, so every person's network is stable and
/// `(I - A)` is invertible, whatever the draws.
pub(crate) fn stabilise(edges: &mut [Edge], diag: &mut [f64]) {
    let n = diag.len();
    let mut row = vec![0.0; n];
    for e in edges.iter() {
        row[e.target] += e.coef.abs();
    }
    for (d, a) in diag.iter_mut().enumerate() {
        *a = a.clamp(0.0, 0.95);
        let room = 0.95 - *a;
        row[d] = if row[d] > room && row[d] > 0.0 {
            room / row[d]
        } else {
            1.0
        };
    }
    for e in edges.iter_mut() {
        e.coef *= row[e.target];
    }
}

/// `y` with `(I - A)^T y = beta`: the long-run well-being gain per unit change
/// of each pole's intercept, through the whole network.
pub(crate) fn long_run_loadings(diag: &[f64], edges: &[Edge], beta: &[f64]) -> Vec<f64> {
    let n = diag.len();
    let mut m = DMatrix::<f64>::identity(n, n);
    for (d, a) in diag.iter().enumerate() {
        m[(d, d)] -= a;
    }
    for e in edges {
        m[(e.target, e.source)] -= e.coef;
    }
    let b = DVector::from_column_slice(beta);
    // Diagonally dominant by construction (see `stabilise`), so LU succeeds.
    match m.transpose().lu().solve(&b) {
        Some(y) => y.iter().copied().collect(),
        None => beta.to_vec(),
    }
}

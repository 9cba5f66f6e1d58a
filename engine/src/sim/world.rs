//! The shared half of the generative model: the [`World`] every person in one
//! run shares (true kernel effects drawn once per seed, independent of the
//! catalogue up to the configured correlation; the population's average
//! process-to-outcome map; per-tick constants) and the network helpers
//! persons are built with. See [`crate::sim`] for the model in words.

use super::person::Person;
use super::scenario::Scenario;
use super::{Catalogs, SimRng};
use crate::catalog::{Condition, Modality};
use crate::error::Result;
use crate::ids::{InterventionId, ProcessId, Timestamp};
use nalgebra::{DMatrix, DVector};
use rand::{Rng, SeedableRng};
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
    /// Range into [`World::entries`]: the true targets, the catalogue's
    /// first (two entries, adaptive then maladaptive, per process), then a
    /// hidden one if any.
    pub entries: (usize, usize),
    /// Processes among the true targets that the catalogue lists (the first
    /// ones): what a platform asks about after the exercise.
    pub listed: usize,
}

/// One pole a kernel moves: `base` is the push (0-100 points) per full dose at
/// multiplier 1 and room 1; positive on adaptive poles, negative on
/// maladaptive ones. True weights and sizes, not the catalogue's.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub pole: usize,
    pub process: usize,
    pub base: f64,
    pub adaptive: bool,
}

/// The uniform draws that place one process in a person's map (compared
/// with the scenario's probabilities when the map is built): a person draws
/// their own, or shares the population's (`Dynamics::map_heterogeneity`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProcessMap {
    /// Driver if below the process's driver probability.
    pub u: f64,
    /// Only one pole matters if below `single_pole_share`.
    pub single: f64,
    /// Which pole, if only one.
    pub keep_adaptive: bool,
    /// Reversed if below `loading_sign_flip`.
    pub flip: f64,
}

impl ProcessMap {
    pub(crate) fn draw(rng: &mut SimRng) -> Self {
        Self {
            u: uniform(rng),
            single: uniform(rng),
            keep_adaptive: uniform(rng) < 0.5,
            flip: uniform(rng),
        }
    }
}

/// Per-tick constants derived from the weekly scenario parameters.
#[derive(Debug, Clone)]
pub(crate) struct TickParams {
    /// Sd of the momentary state at one occasion (see `Dynamics::state_sd`).
    pub state_sd: f64,
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
    /// Population truth: mean relevance of each pole for well-being (mean 1).
    pub pop_relevance: Vec<f64>,
    /// Population truth: probability that each process drives a person's
    /// well-being (mean `map_density`, uneven like the relevance).
    pub driver_prob: Vec<f64>,
    /// The population's own map draws, shared by people to the extent
    /// `map_heterogeneity < 1`.
    pub pop_map: Vec<ProcessMap>,
    /// Scale on every loading so the expected total over a sparse map stays
    /// `n_poles x outcome_loading` (see `Dynamics::outcome_loading`).
    pub loading_norm: f64,
    /// Population network (weekly coefficients, without the diagonal).
    pub pop_edges: Vec<Edge>,
    pub prior_mean: Vec<f64>,
    pub prior_sd: Vec<f64>,
    pub ticks_per_week: u32,
    /// Which occasions of a week carry a decision.
    pub decision_occasion: Vec<bool>,
    pub tick: TickParams,
    pub cond_bits: Vec<(u32, f64, Condition)>,
    /// Per kernel entry: the average person's `map_kcoef` (their map through
    /// their network, the population's response), estimated over
    /// [`POPULATION_SAMPLE`] people drawn apart from the run's.
    pub pop_kcoef: Vec<f64>,
    /// Per pole: the mean and variance of a person's map loading over the
    /// same sample, the prior the map-posterior oracle updates.
    pub beta_mean: Vec<f64>,
    pub beta_var: Vec<f64>,
}

/// People drawn to estimate the average person's kernel coefficients.
const POPULATION_SAMPLE: u64 = 400;

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

/// Room a pole has to move, 1 at mid-scale and falling smoothly to 0 at
/// either bound: `4 p (1 - p)` with `p = level / 100`, the slope of
/// `100 sigmoid(z)` in `z`, i.e. a push acts on the logit of the level.
/// *Why this form:* extremes are sticky in both directions (a pole pinned
/// near 0 or 100 is an entrenched habit), and it is deliberately not the
/// engine's linear `(100 - level) / 100`, so a policy is not rewarded for
/// sharing the simulator's assumptions.
#[inline]
pub(crate) fn headroom(level: f64) -> f64 {
    let p = (level * 0.01).clamp(0.0, 1.0);
    4.0 * p * (1.0 - p)
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
    pub(crate) fn new(scenario: &Scenario, catalogs: &Catalogs, rng: &mut SimRng) -> Result<Self> {
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
        // Processes that matter more on average are drivers for more people.
        let rel: Vec<f64> = (0..n_proc)
            .map(|k| 0.5 * (pop_relevance[2 * k] + pop_relevance[2 * k + 1]))
            .collect();
        let rel_mean = rel.iter().sum::<f64>() / n_proc.max(1) as f64;
        let driver_prob: Vec<f64> = rel
            .iter()
            .map(|r| (d.map_density * r / rel_mean).clamp(0.02_f64.min(d.map_density), 1.0))
            .collect();
        let pop_map: Vec<ProcessMap> = (0..n_proc).map(|_| ProcessMap::draw(rng)).collect();
        // Share of poles that carry a driver's loading, on average.
        let driver_share = driver_prob.iter().sum::<f64>() / n_proc.max(1) as f64
            * (1.0 - 0.5 * d.single_pole_share);
        let loading_norm =
            1.0 / (driver_share + d.nondriver_loading * (1.0 - driver_share)).max(1e-6);

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

        // The average person's long-run loadings through the population
        // network: the expected loading of each pole over maps (drivers,
        // non-drivers, single poles, sign flips). Used only to set the one
        // global scale of all pushes.
        let mut pop_diag = vec![d.persistence; n_poles];
        let mut edges0 = pop_edges.clone();
        add_sibling_edges(&mut edges0, n_poles, d.pole_coupling);
        stabilise(&mut edges0, &mut pop_diag);
        let h = d.map_heterogeneity;
        let beta0: Vec<f64> = (0..n_poles)
            .map(|p| {
                // Own maps: the expectation; the shared population map: its draw.
                let q = driver_prob[p / 2] * (1.0 - 0.5 * d.single_pole_share);
                let own = (q + d.nondriver_loading * (1.0 - q)) * (1.0 - 2.0 * d.loading_sign_flip);
                let m = &pop_map[p / 2];
                let single = m.single < d.single_pole_share;
                let drives =
                    m.u < driver_prob[p / 2] && (!single || (p % 2 == 0) == m.keep_adaptive);
                let shared = if drives { 1.0 } else { d.nondriver_loading }
                    * if m.flip < d.loading_sign_flip {
                        -1.0
                    } else {
                        1.0
                    };
                pole_sign(p)
                    * d.outcome_loading
                    * loading_norm
                    * pop_relevance[p]
                    * (h * own + (1.0 - h) * shared)
            })
            .collect();
        let y0 = long_run_loadings(&pop_diag, &edges0, &beta0);

        // True kernel effects, independent of the catalogue by default: a
        // push size per kernel whose log correlates `effect_prior_correlation`
        // with the log of the catalogue's prior_effect, true target weights
        // that are the catalogue's with lognormal error, sometimes a process
        // the catalogue does not list. *Why:* a catalogue is evidence from
        // other people and other measures; a simulator that rewards
        // believing it exactly rewards sharing its assumptions.
        let r = &scenario.response;
        let ivs = catalogs.interventions.all();
        let log_prior: Vec<f64> = ivs
            .iter()
            .map(|iv| iv.prior_effect.max(0.01).ln())
            .collect();
        let nk = ivs.len().max(1) as f64;
        let lp_mean = log_prior.iter().sum::<f64>() / nk;
        let lp_sd = (log_prior.iter().map(|l| (l - lp_mean).powi(2)).sum::<f64>() / nk).sqrt();
        let rho = r.effect_prior_correlation;
        let urho = (1.0 - rho * rho).sqrt();
        let kappa_mean = 0.5 * (KAPPA_LO + KAPPA_HI);

        let mut families: Vec<&str> = Vec::new();
        let mut kernels = Vec::with_capacity(ivs.len());
        let mut entries = Vec::new();
        // Per kernel: (process, true weight) and the average person's gain per unit push.
        let mut targets: Vec<(usize, f64)> = Vec::new();
        let mut unit_gain = Vec::with_capacity(ivs.len());
        for (j, iv) in ivs.iter().enumerate() {
            let family = match families.iter().position(|f| *f == iv.family) {
                Some(f) => f,
                None => {
                    families.push(&iv.family);
                    families.len() - 1
                }
            };
            let u = if lp_sd > 1e-9 {
                (log_prior[j] - lp_mean) / lp_sd
            } else {
                0.0
            };
            let z_size = normal(rng);
            let size = (r.effect_size_sd * (rho * u + urho * z_size)).exp();

            targets.clear();
            let sw = r.target_weight_error;
            for t in &iv.targets {
                let k = catalogs
                    .processes
                    .index_of(&t.process)
                    .ok_or_else(|| crate::EngineError::UnknownProcess(t.process.to_string()))?;
                let err = (sw * normal(rng) - 0.5 * sw * sw).exp();
                targets.push((k, t.weight * err));
            }
            let listed = targets.len();
            // Always drawn, so the stream does not depend on the outcome.
            let (u_hidden, u_proc, u_weight) = (uniform(rng), uniform(rng), uniform(rng));
            if u_hidden < r.hidden_target_share && n_proc > listed {
                let free = n_proc - listed;
                let mut pick = ((u_proc * free as f64) as usize).min(free - 1);
                // The pick-th process not already a target.
                let mut hidden = None;
                for k in 0..n_proc {
                    if targets.iter().any(|&(t, _)| t == k) {
                        continue;
                    }
                    if pick == 0 {
                        hidden = Some(k);
                        break;
                    }
                    pick -= 1;
                }
                if let Some(k) = hidden {
                    let listed_sum: f64 = targets.iter().map(|&(_, w)| w).sum();
                    targets.push((k, (0.2 + 0.4 * u_weight) * listed_sum.max(1e-9)));
                }
            }
            // Renormalise to the catalogue's total weight.
            let cat_sum: f64 = iv.targets.iter().map(|t| t.weight).sum();
            let true_sum: f64 = targets.iter().map(|&(_, w)| w).sum();
            let scale = if true_sum > 0.0 {
                cat_sum / true_sum
            } else {
                0.0
            };

            // Lasting gain per unit push, at the prior levels, for the average person.
            let mut g1 = 0.0;
            let mut g1_naive = 0.0;
            let start = entries.len();
            for &(k, w) in &targets {
                let w = w * scale;
                let (pa, pm) = (2 * k, 2 * k + 1);
                let ha = headroom(prior_mean[pa]);
                let hm = headroom(prior_mean[pm]);
                g1 += w
                    * ((1.0 - pop_diag[pa]) * y0[pa] * ha
                        - kappa_mean * (1.0 - pop_diag[pm]) * y0[pm] * hm);
                g1_naive += w * (beta0[pa].abs() * ha + kappa_mean * beta0[pm].abs() * hm);
                entries.push(Entry {
                    pole: pa,
                    process: k,
                    base: size * w,
                    adaptive: true,
                });
                entries.push(Entry {
                    pole: pm,
                    process: k,
                    base: -size * w,
                    adaptive: false,
                });
            }
            // A population network can, rarely, route a push against
            // well-being; fall back to the direct path so the scale stays sane.
            let g = if g1 > 0.2 * g1_naive { g1 } else { g1_naive };
            unit_gain.push(d.retention * g * size);

            let contra = iv
                .contraindications
                .iter()
                .fold(0u32, |m, c| m | cond_bit(*c));
            kernels.push(Kernel {
                id: iv.id.clone(),
                family,
                effort: f64::from(iv.effort_minutes),
                needs_session: iv.requires_clinician || iv.modality == Modality::InSession,
                aid: iv.follow_through_aid,
                safety: iv.safety,
                contra,
                entries: (start, entries.len()),
                listed,
            });
        }
        // One global scale: the average person's lasting gain from a dose,
        // averaged over the catalogue, is the catalogue's mean prior_effect
        // (times effect_scale). Which kernel gets how much is the world's.
        let mean_prior = ivs.iter().map(|iv| iv.prior_effect).sum::<f64>() / nk;
        let mean_gain = unit_gain.iter().sum::<f64>() / nk;
        let c = if mean_gain > 1e-12 {
            r.effect_scale * mean_prior / mean_gain
        } else {
            0.0
        };
        for e in &mut entries {
            e.base *= c;
        }

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
            state_sd: d.state_sd * (s.min(7.0) / 7.0).sqrt(),
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

        let mut world = Self {
            scenario: scenario.clone(),
            n_proc,
            n_poles,
            kernels,
            entries,
            n_families: families.len(),
            process_ids: procs.iter().map(|p| p.id.clone()).collect(),
            pop_relevance,
            driver_prob,
            pop_map,
            loading_norm,
            pop_edges,
            prior_mean,
            prior_sd,
            ticks_per_week: m.assessments_per_week,
            decision_occasion,
            tick,
            cond_bits,
            pop_kcoef: Vec::new(),
            beta_mean: Vec::new(),
            beta_var: Vec::new(),
        };
        // The average person, for the population oracle: drawn after every
        // population truth, on a generator of their own.
        let mut sample = SimRng::seed_from_u64(rng.random());
        (world.pop_kcoef, world.beta_mean, world.beta_var) = world.average_person(&mut sample);
        Ok(world)
    }

    /// Over [`POPULATION_SAMPLE`] people drawn from `rng`: the mean of
    /// [`Person::map_kcoef`], and the mean and variance of each pole's loading.
    fn average_person(&self, rng: &mut SimRng) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut person = Person::default();
        let n = POPULATION_SAMPLE as f64;
        let mut sum = vec![0.0; self.entries.len()];
        let (mut b1, mut b2) = (vec![0.0; self.n_poles], vec![0.0; self.n_poles]);
        for _ in 0..POPULATION_SAMPLE {
            person.reset(self, rng);
            for (s, k) in sum.iter_mut().zip(&person.map_kcoef) {
                *s += k / n;
            }
            for ((m1, m2), b) in b1.iter_mut().zip(&mut b2).zip(&person.beta) {
                *m1 += b / n;
                *m2 += b * b / n;
            }
        }
        let var = b1
            .iter()
            .zip(&b2)
            .map(|(m1, m2)| (m2 - m1 * m1).max(1e-12))
            .collect();
        (sum, b1, var)
    }

    /// The timestamp of a tick.
    pub(crate) fn time_of(&self, tick: u32) -> Timestamp {
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

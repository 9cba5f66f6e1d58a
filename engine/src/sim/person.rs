//! One synthetic person: ground truth (traits drawn once) and latent state
//! (evolving per tick), plus the exogenous draws that drive them.
//!
//! Everything here works on indices and flat `f64` buffers that are allocated
//! once per runner and reused for every person and tick; nothing is allocated
//! per tick or per decision. See [`crate::sim`] for the model in words.

use super::SimRng;
use super::world::{
    Edge, Entry, KAPPA_HI, KAPPA_LO, ProcessMap, World, add_sibling_edges, cond_bit, headroom,
    logit, long_run_loadings, normal, per_tick_prob, per_tick_sd, pole_sign, sibling, sigmoid,
    stabilise, uniform,
};
use crate::catalog::Condition;
use crate::observe::{Context, Setting};
use nalgebra::{DMatrix, DVector};
use rand::Rng;

/// Exogenous draws for one tick, made whether or not they are used, so the
/// random stream stays aligned across policies (common random numbers).
#[derive(Debug, Clone, Default)]
pub(crate) struct NatureDraws {
    pub innovation: Vec<f64>,
    pub state: Vec<f64>,
    pub rating_noise: Vec<f64>,
    pub item_u: Vec<f64>,
    pub outcome_noise: Vec<f64>,
    pub wellbeing: f64,
    pub load: f64,
    pub load_event: f64,
    pub miss: f64,
    pub risk_onset: f64,
    pub risk_end: f64,
    pub detect: f64,
    pub dropout: f64,
}

impl NatureDraws {
    pub(crate) fn fill(&mut self, world: &World, rng: &mut SimRng) {
        let n = world.n_poles;
        self.innovation.resize(n, 0.0);
        self.state.resize(n, 0.0);
        self.rating_noise.resize(n, 0.0);
        self.item_u.resize(n, 0.0);
        self.outcome_noise
            .resize(world.scenario.measurement.outcomes.len(), 0.0);
        for v in &mut self.innovation {
            *v = normal(rng);
        }
        for v in &mut self.state {
            *v = normal(rng);
        }
        for v in &mut self.rating_noise {
            *v = normal(rng);
        }
        for v in &mut self.item_u {
            *v = uniform(rng);
        }
        for v in &mut self.outcome_noise {
            *v = normal(rng);
        }
        self.wellbeing = normal(rng);
        self.load = normal(rng);
        self.load_event = uniform(rng);
        self.miss = uniform(rng);
        self.risk_onset = uniform(rng);
        self.risk_end = uniform(rng);
        self.detect = uniform(rng);
        self.dropout = uniform(rng);
    }
}

/// Exogenous draws for one decision (drawn before the policy chooses).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DecisionDraws {
    pub minutes: f64,
    pub minutes_known: f64,
    pub setting: f64,
    pub follow: f64,
    pub partly: f64,
    pub spent: f64,
    pub helpfulness: f64,
    pub report: f64,
    pub report_helpfulness: f64,
    pub post_ratings: f64,
    /// Rating noise for post-exercise ratings, by targeted pole (targets past
    /// the fourth are rated without noise; catalogue kernels have at most three).
    pub post_noise: [f64; POST_POLES],
}

/// Poles with their own post-rating noise draw.
pub(crate) const POST_POLES: usize = 8;

impl DecisionDraws {
    pub(crate) fn draw(rng: &mut SimRng) -> Self {
        Self {
            minutes: normal(rng),
            minutes_known: uniform(rng),
            setting: uniform(rng),
            follow: uniform(rng),
            partly: uniform(rng),
            spent: normal(rng),
            helpfulness: normal(rng),
            report: uniform(rng),
            report_helpfulness: uniform(rng),
            post_ratings: uniform(rng),
            post_noise: std::array::from_fn(|_| normal(rng)),
        }
    }
}

/// The situation at one decision, true and as the platform reports it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Situation {
    pub minutes: f64,
    pub in_session: bool,
    pub context: Context,
}

/// What happened after a decision, computed when its effect lands.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Outcome {
    /// Well-being points the person felt (immediate effect through their loadings).
    pub felt: f64,
}

/// One synthetic person: ground truth (traits) and latent state. Buffers are
/// reused across people by [`Person::reset`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Person {
    // --- ground truth ---
    pub conditions: Vec<Condition>,
    pub cond_mask: u32,
    pub mu0: Vec<f64>,
    pub c0: Vec<f64>,
    pub a: Vec<f64>,
    pub edges: Vec<Edge>,
    /// The person's map: well-being points per point of each pole, at the
    /// same occasion (sparse: drivers, small non-driver loadings, reversed
    /// signs for some processes).
    pub beta: Vec<f64>,
    /// Whether each pole carries a driver's loading.
    pub driver: Vec<bool>,
    /// Whether each process's loadings are reversed for this person.
    pub flipped: Vec<bool>,
    pub load_push: Vec<f64>,
    pub noise_sd: Vec<f64>,
    pub w_base: f64,
    pub retention: f64,
    /// Signed response multiplier per entry (incl. pole coupling and contraindication harm).
    pub mult: Vec<f64>,
    /// Lasting well-being gain per full dose at room 1, per entry.
    pub kcoef: Vec<f64>,
    /// The same with the population's response instead of the person's
    /// multipliers (what a policy that knew the map, but not how this person
    /// responds to each kernel, would expect).
    pub map_kcoef: Vec<f64>,
    pub hab_rate: f64,
    pub ft_logit: f64,
    pub effort_sens: f64,
    pub ln_minutes: f64,
    pub help_bias: f64,
    pub miss_logit: f64,
    pub drop_log: f64,
    pub risk_log: f64,
    pub load_mean: f64,
    // --- state ---
    /// Each pole's level (what interventions move and networks propagate).
    pub x: Vec<f64>,
    /// Each pole at this occasion: the level plus the momentary state,
    /// clamped to 0-100 (what is rated, and what well-being answers to now).
    pub x_now: Vec<f64>,
    pub x_next: Vec<f64>,
    pub c: Vec<f64>,
    /// Well-being at this occasion (what the instruments measure), from the
    /// poles now, momentary states included.
    pub w: f64,
    /// Well-being from the poles' levels (no momentary states): the person's
    /// true well-being, which outcomes, drop-out and risk answer to, so that
    /// a good or bad day is not counted as change.
    pub w_level: f64,
    /// Well-being's own AR(1) residual.
    pub w_resid: f64,
    /// The lagged part of well-being (`outcome_lag_share > 0`).
    pub w_lag: f64,
    pub w_start: f64,
    pub load: f64,
    pub hab: Vec<f64>,
    pub hab_family: Vec<f64>,
    pub done_before: Vec<bool>,
    pub self_efficacy: f64,
    /// Follow-through log-odds carried over from done aids.
    pub aid_boost: f64,
    pub ft_recent: f64,
    pub in_risk: bool,
    /// An episode began at the last tick (counted as a safety event).
    pub risk_started: bool,
    /// A safety intervention was done since the last tick.
    pub safety_pending: bool,
    pub answered: u32,
    // --- scratch for the truth at a decision ---
    pub follow: Vec<f64>,
    follow_logit: Vec<f64>,
    expected_dose: Vec<f64>,
    pub gain: Vec<f64>,
    /// Expected gain with the population's response per kernel (see `map_kcoef`).
    pub map_gain: Vec<f64>,
    /// Expected gain with the average person's map and response (`World::pop_kcoef`).
    pub pop_gain: Vec<f64>,
    /// Per pole: the long-run well-being gain of a lasting unit shift of its
    /// intercept through the person's network, per unit of push
    /// (`(1 - a) y`): what a push on the pole is worth to this person.
    pub pole_value: Vec<f64>,
    pub eligible: Vec<bool>,
    /// Expected gain with the population's response and the posterior mean
    /// of the person's map (see [`Person::note_measure`]); filled only when
    /// a policy reads it.
    pub post_gain: Vec<f64>,
    /// The map-posterior oracle's data: over every well-being measure, the
    /// precision-weighted `Σ z zᵀ` and `Σ z r` of the regression of the
    /// measure `r` on `z = (1, x_now - mu0)`, the *true* poles at that
    /// occasion (row-major, intercept first).
    post_zz: Vec<f64>,
    post_zr: Vec<f64>,
    fam_size: Vec<f64>,
    fam_class: Vec<f64>,
    kappa: Vec<f64>,
}

impl Person {
    /// Draws a new person's ground truth and starting state.
    pub(crate) fn reset(&mut self, world: &World, rng: &mut SimRng) {
        let sc = &world.scenario;
        let d = &sc.dynamics;
        let n = world.n_poles;
        let s = f64::from(world.ticks_per_week);

        self.conditions.clear();
        self.cond_mask = 0;
        for &(bit, share, c) in &world.cond_bits {
            if uniform(rng) < share {
                self.conditions.push(c);
                self.cond_mask |= bit;
            }
        }

        // Starting levels and well-being share one severity factor, so people
        // who start worse on processes also start lower on well-being.
        let sev = normal(rng);
        let k = d.severity_coupling;
        let uk = (1.0 - k * k).sqrt();
        self.mu0.clear();
        for p in 0..n {
            let z = k * sev + uk * normal(rng);
            let v = world.prior_mean[p] - pole_sign(p) * world.prior_sd[p] * z;
            self.mu0.push(v.clamp(2.0, 98.0));
        }
        self.w_base = (d.baseline_wellbeing_mean
            - d.baseline_wellbeing_sd * (k * sev + uk * normal(rng)))
        .clamp(5.0, 95.0);

        // Person network: persistence, the population edges perturbed, one
        // idiosyncratic edge per pole with probability `network_heterogeneity`.
        let h = d.network_heterogeneity;
        let mut diag_week: Vec<f64> = (0..n)
            .map(|_| d.persistence + d.persistence_sd * normal(rng))
            .collect();
        self.edges.clear();
        for e in &world.pop_edges {
            self.edges.push(Edge {
                coef: e.coef + h * d.edge_sd * normal(rng),
                ..*e
            });
        }
        if n > 2 {
            for target in 0..n {
                if uniform(rng) < h {
                    let mut source = rng.random_range(0..n);
                    while source == target || source == sibling(target) {
                        source = rng.random_range(0..n);
                    }
                    self.edges.push(Edge {
                        target,
                        source,
                        coef: d.edge_sd * normal(rng),
                    });
                }
            }
        }
        add_sibling_edges(&mut self.edges, n, d.pole_coupling);
        stabilise(&mut self.edges, &mut diag_week);
        // Per tick: a^(1/s) on the diagonal and edges / s keep the weekly
        // behaviour roughly the same at any cadence and stay stable (see
        // `stabilise`: a^(1/s) <= 1 - (1 - a)/s).
        self.a.clear();
        self.noise_sd.clear();
        for &aw in &diag_week {
            let at = aw.powf(1.0 / s);
            self.a.push(at);
            self.noise_sd.push(per_tick_sd(d.innovation_sd, aw, at));
        }
        for e in &mut self.edges {
            e.coef /= s;
        }

        // The person's map: which processes drive their well-being (sparse,
        // at least one), sometimes through one pole only, sometimes in the
        // unexpected direction; lognormal loadings around the population's
        // uneven profile. Every draw is made whatever its outcome, so the
        // stream stays aligned.
        let sh = d.loading_heterogeneity;
        self.beta.clear();
        self.driver.clear();
        self.flipped.clear();
        let mut any_driver = false;
        let mut closest = (0usize, f64::INFINITY);
        for k in 0..world.n_proc {
            let q = world.driver_prob[k];
            let own = ProcessMap::draw(rng);
            let m = if uniform(rng) < d.map_heterogeneity {
                own
            } else {
                world.pop_map[k]
            };
            let is_driver = m.u < q;
            any_driver |= is_driver;
            if m.u / q.max(1e-9) < closest.1 {
                closest = (k, m.u / q.max(1e-9));
            }
            let single = m.single < d.single_pole_share;
            let flip = m.flip < d.loading_sign_flip;
            self.flipped.push(flip);
            for p in [2 * k, 2 * k + 1] {
                let z = normal(rng);
                let pole_drives = is_driver && (!single || (p % 2 == 0) == m.keep_adaptive);
                self.driver.push(pole_drives);
                let size = d.outcome_loading
                    * world.loading_norm
                    * world.pop_relevance[p]
                    * (sh * z - 0.5 * sh * sh).exp();
                let sign = if flip { -pole_sign(p) } else { pole_sign(p) };
                self.beta.push(sign * size);
            }
        }
        if !any_driver {
            // Everyone's well-being depends on something: the process that
            // came closest to being drawn becomes a driver (both poles).
            let k = closest.0;
            self.driver[2 * k] = true;
            self.driver[2 * k + 1] = true;
        }
        for (b, &drives) in self.beta.iter_mut().zip(&self.driver) {
            if !drives {
                *b *= d.nondriver_loading;
            }
        }
        let y = long_run_loadings(&self.a, &self.edges, &self.beta);
        self.pole_value.clear();
        self.pole_value
            .extend(y.iter().zip(&self.a).map(|(y, a)| (1.0 - a) * y));

        self.retention = (d.retention + d.retention_sd * normal(rng)).clamp(0.05, 1.0);

        // Life load hits some poles harder than others.
        let l = &sc.life_load;
        self.load_mean = l.mean + l.between_sd * normal(rng);
        self.load_push.clear();
        for p in 0..n {
            let u = 2.0 * uniform(rng);
            self.load_push
                .push(-pole_sign(p) * l.process_effect * u * (1.0 - self.a[p]));
        }
        // The load a person lives with on average, events included.
        let tp = &world.tick;
        let typical_load =
            self.load_mean + tp.load_event * l.event_size / (1.0 - tp.load_persistence);

        // Intercepts so that the stationary mean under the person's typical
        // load is mu0: c0 = (I - A) mu0 - load_push * typical_load. Starting
        // levels are then where the person's life keeps them, and nobody
        // drifts just because the simulation started.
        self.c0.clear();
        for p in 0..n {
            self.c0
                .push(self.mu0[p] * (1.0 - self.a[p]) - self.load_push[p] * typical_load);
        }
        for e in &self.edges {
            self.c0[e.target] -= e.coef * self.mu0[e.source];
        }

        // True responses: a class per family (responder / null / backfire),
        // lognormal size shared within the family, a kernel-specific jitter.
        let r = &sc.response;
        let hs = r.heterogeneity_sd;
        let (fs, ks) = (
            r.family_share.sqrt() * hs,
            (1.0 - r.family_share).sqrt() * hs,
        );
        self.fam_class.clear();
        self.fam_size.clear();
        for _ in 0..world.n_families {
            let u = uniform(rng);
            self.fam_class.push(if u < r.backfire_share {
                -1.0
            } else if u < r.backfire_share + r.null_share {
                0.0
            } else {
                1.0
            });
            self.fam_size.push(normal(rng));
        }
        self.kappa.clear();
        for _ in 0..world.n_proc {
            self.kappa
                .push(KAPPA_LO + (KAPPA_HI - KAPPA_LO) * uniform(rng));
        }
        let (fam, fam_class, kappa) = (&self.fam_size, &self.fam_class, &self.kappa);
        self.mult.clear();
        self.kcoef.clear();
        self.map_kcoef.clear();
        for kern in &world.kernels {
            let z = normal(rng);
            let f = kern.family;
            let m = if kern.contra & self.cond_mask != 0 {
                -r.contraindicated_harm * (0.3 * z).exp()
            } else if fam_class[f] > 0.0 {
                (fs * fam[f] + ks * z - 0.5 * hs * hs).exp()
            } else if fam_class[f] == 0.0 {
                0.05 * z
            } else {
                -r.backfire_size * (0.3 * fam[f] + 0.2 * z).exp()
            };
            for e in &world.entries[kern.entries.0..kern.entries.1] {
                let mm = if e.adaptive { m } else { m * kappa[e.process] };
                self.mult.push(mm);
                self.kcoef.push(self.per_push(e, &y) * mm);
                self.map_kcoef.push(self.map_coef(e, &y));
            }
        }

        self.hab_rate = (r.habituation + r.habituation_sd * normal(rng)).max(0.0);
        let f = &sc.follow_through;
        self.ft_logit = logit(f.base) + f.base_sd * normal(rng);
        self.effort_sens = (f.effort_sensitivity + f.effort_sensitivity_sd * normal(rng)).max(0.0);
        self.ln_minutes = f.minutes_median.ln() + f.minutes_between_sd * normal(rng);
        self.help_bias = r.helpfulness_bias_sd * normal(rng);
        let mi = &sc.missing;
        self.miss_logit = logit(mi.assessment_base) + mi.person_sd * normal(rng);
        self.drop_log = sc.dropout.person_sd * normal(rng);
        let rp = sc.risk.person_sd;
        self.risk_log = rp * normal(rng) - 0.5 * rp * rp;

        // Starting state: near the set points, with one week's worth of noise.
        self.x.clear();
        for p in 0..n {
            let v = self.mu0[p] + d.innovation_sd * normal(rng);
            self.x.push(v.clamp(0.0, 100.0));
        }
        self.x_next.clear();
        self.x_next.resize(n, 0.0);
        let state_sd = world.tick.state_sd;
        self.x_now.clear();
        for p in 0..n {
            let v = self.x[p] + state_sd * normal(rng);
            self.x_now.push(v.clamp(0.0, 100.0));
        }
        self.c.clear();
        self.c.extend_from_slice(&self.c0);
        self.in_risk = false;
        self.w_resid = d.wellbeing_noise_sd * normal(rng);
        self.w_lag = self.implied_wellbeing(world, &self.x_now);
        self.set_wellbeing(world);
        self.w_start = self.w_level;
        self.load = typical_load + l.noise_sd * normal(rng);
        let nk = world.kernels.len();
        self.hab.clear();
        self.hab.resize(nk, 0.0);
        self.hab_family.clear();
        self.hab_family.resize(world.n_families, 0.0);
        self.done_before.clear();
        self.done_before.resize(nk, false);
        self.self_efficacy = 0.5;
        self.aid_boost = 0.0;
        self.ft_recent = 0.5;
        self.in_risk = false;
        self.safety_pending = false;
        self.answered = 0;
        self.follow.clear();
        self.follow.resize(nk, 0.0);
        self.follow_logit.clear();
        self.follow_logit.resize(nk, 0.0);
        self.expected_dose.clear();
        self.expected_dose.resize(nk, 0.0);
        self.gain.clear();
        self.gain.resize(nk, 0.0);
        self.map_gain.clear();
        self.map_gain.resize(nk, 0.0);
        self.pop_gain.clear();
        self.pop_gain.resize(nk, 0.0);
        self.eligible.clear();
        self.eligible.resize(nk, false);
        self.post_gain.clear();
        self.post_gain.resize(nk, 0.0);
        self.post_zz.clear();
        self.post_zz.resize((n + 1) * (n + 1), 0.0);
        self.post_zr.clear();
        self.post_zr.resize(n + 1, 0.0);
    }

    /// Adds one measure of well-being now (`read`, in well-being points,
    /// with error variance `var`) to the map-posterior oracle's data.
    pub(crate) fn note_measure(&mut self, read: f64, var: f64) {
        let d = self.post_zr.len();
        let w = 1.0 / var;
        let z: Vec<f64> = std::iter::once(1.0)
            .chain(self.x_now.iter().zip(&self.mu0).map(|(x, m)| x - m))
            .collect();
        for (i, zi) in z.iter().enumerate() {
            self.post_zr[i] += w * zi * read;
            for (j, zj) in z.iter().enumerate() {
                self.post_zz[i * d + j] += w * zi * zj;
            }
        }
    }

    /// Per kernel entry, [`Person::map_kcoef`] with the posterior mean of
    /// the map in place of the true one: the prior is the world's spread of
    /// maps ([`World::beta_mean`], [`World::beta_var`]), the data every
    /// well-being measure so far against the true poles at its occasion, and
    /// the person's own network, retention and room are known, as they are
    /// to the map oracle. No rating noise and no missing item: a bound on
    /// what any learner can read from the person's ratings.
    fn posterior_kcoef(&self, world: &World) -> Vec<f64> {
        let n = world.n_poles;
        let d = n + 1;
        // Well-being answers to the poles now through (1 - lag) of the map.
        let share = (1.0 - world.scenario.dynamics.outcome_lag_share).max(1e-6);
        let mut a = DMatrix::<f64>::from_row_slice(d, d, &self.post_zz);
        let mut b = DVector::<f64>::from_column_slice(&self.post_zr);
        a[(0, 0)] += 1e-8;
        for p in 0..n {
            let prec = 1.0 / (share * share * world.beta_var[p]);
            a[(p + 1, p + 1)] += prec;
            b[p + 1] += prec * share * world.beta_mean[p];
        }
        let beta: Vec<f64> = match a.cholesky() {
            Some(c) => {
                let t = c.solve(&b);
                (0..n).map(|p| t[p + 1] / share).collect()
            }
            None => world.beta_mean.clone(),
        };
        let y = long_run_loadings(&self.a, &self.edges, &beta);
        world
            .kernels
            .iter()
            .flat_map(|k| &world.entries[k.entries.0..k.entries.1])
            .map(|e| self.map_coef(e, &y))
            .collect()
    }

    /// Lasting well-being gain of entry `e`'s full dose at room 1 and
    /// multiplier 1, through the long-run loadings `y`.
    fn per_push(&self, e: &Entry, y: &[f64]) -> f64 {
        self.retention * (1.0 - self.a[e.pole]) * y[e.pole] * e.base
    }

    /// [`Person::per_push`] with the population's response: a maladaptive
    /// pole moves by the mean share of the adaptive one.
    fn map_coef(&self, e: &Entry, y: &[f64]) -> f64 {
        let kappa_mean = 0.5 * (KAPPA_LO + KAPPA_HI);
        self.per_push(e, y) * if e.adaptive { 1.0 } else { kappa_mean }
    }

    /// Well-being the poles imply through the person's map (less a risk
    /// episode's drop): from the poles now (`x_now`) or their levels (`x`).
    #[inline]
    fn implied_wellbeing(&self, world: &World, poles: &[f64]) -> f64 {
        let mut implied = self.w_base;
        for ((b, x), mu) in self.beta.iter().zip(poles).zip(&self.mu0) {
            implied += b * (x - mu);
        }
        if self.in_risk {
            implied -= world.scenario.risk.wellbeing_drop;
        }
        implied
    }

    /// Sets well-being now and its level: the contemporaneous and lagged
    /// parts mixed by `outcome_lag_share`, plus the residual.
    #[inline]
    fn set_wellbeing(&mut self, world: &World) {
        let lag = world.scenario.dynamics.outcome_lag_share;
        let (now, level) = if lag < 1.0 {
            (
                self.implied_wellbeing(world, &self.x_now),
                self.implied_wellbeing(world, &self.x),
            )
        } else {
            (0.0, 0.0)
        };
        let rest = lag * self.w_lag + self.w_resid;
        self.w = ((1.0 - lag) * now + rest).clamp(0.0, 100.0);
        self.w_level = ((1.0 - lag) * level + rest).clamp(0.0, 100.0);
    }

    /// Habituation factor of kernel `j` now.
    #[inline]
    fn habituation(&self, world: &World, j: usize) -> f64 {
        let fh = world.scenario.response.family_habituation;
        let h = self.hab[j];
        let others = self.hab_family[world.kernels[j].family] - h;
        let load = self.hab_rate * (h + fh * others.max(0.0));
        // Most kernels are untouched most of the time: skip the exp.
        if load < 1e-9 { 1.0 } else { (-load).exp() }
    }

    /// One tick of the latent dynamics, with the dose of the last decision (if
    /// any) landing now. Returns what the person felt from that dose.
    pub(crate) fn evolve(
        &mut self,
        world: &World,
        draws: &NatureDraws,
        dose: Option<(usize, f64)>,
    ) -> Outcome {
        let n = world.n_poles;
        let tp = &world.tick;
        // Lagged network: x' = c + A x + load + noise.
        for p in 0..n {
            self.x_next[p] = self.c[p]
                + self.a[p] * self.x[p]
                + self.load_push[p] * self.load
                + self.noise_sd[p] * draws.innovation[p];
        }
        for e in &self.edges {
            self.x_next[e.target] += e.coef * self.x[e.source];
        }
        // The lagged part of well-being moves toward what the processes
        // implied at the last occasion; the residual is an AR(1).
        let aw = tp.wellbeing_persistence;
        if world.scenario.dynamics.outcome_lag_share > 0.0 {
            self.w_lag = aw * self.w_lag + (1.0 - aw) * self.implied_wellbeing(world, &self.x_now);
        }
        self.w_resid = aw * self.w_resid + tp.wellbeing_noise * draws.wellbeing;

        // Learned change fades slowly (relapse).
        if tp.forget > 0.0 {
            for p in 0..n {
                self.c[p] = self.c0[p] + (1.0 - tp.forget) * (self.c[p] - self.c0[p]);
            }
        }

        let mut out = Outcome::default();
        if let Some((j, amount)) = dose
            && amount > 0.0
        {
            let hab = self.habituation(world, j);
            let kern = &world.kernels[j];
            for (i, e) in world.entries[kern.entries.0..kern.entries.1]
                .iter()
                .enumerate()
            {
                let m = self.mult[kern.entries.0 + i];
                let push = amount * hab * e.base * m * headroom(self.x[e.pole]);
                self.x_next[e.pole] += push;
                // The lasting part moves the pole's intercept.
                self.c[e.pole] += self.retention * (1.0 - self.a[e.pole]) * push;
                out.felt += self.beta[e.pole] * push;
            }
            self.hab[j] += amount;
            self.hab_family[kern.family] += amount;
            self.done_before[j] = true;
            if kern.aid {
                let carry = world.scenario.follow_through.aid_carryover;
                self.aid_boost = (self.aid_boost + amount * carry).min(2.0 * carry);
            }
        }
        // Guard against runaway lasting change: an intercept alone may not
        // imply a set point beyond -100..200 (levels are clamped to 0-100).
        for p in 0..n {
            let lim = 100.0 * (1.0 - self.a[p]);
            self.c[p] = self.c[p].clamp(-lim, 2.0 * lim);
            self.x[p] = self.x_next[p].clamp(0.0, 100.0);
            self.x_now[p] = (self.x[p] + tp.state_sd * draws.state[p]).clamp(0.0, 100.0);
        }
        // Well-being at this occasion, from the processes at this occasion
        // (and the risk state that held while they moved).
        self.set_wellbeing(world);
        for h in &mut self.hab {
            *h *= tp.hab_decay;
        }
        for h in &mut self.hab_family {
            *h *= tp.hab_decay;
        }
        self.aid_boost *= tp.aid_decay;

        // Life load: AR(1) around the person's mean with occasional events.
        let l = &world.scenario.life_load;
        self.load = self.load_mean
            + tp.load_persistence * (self.load - self.load_mean)
            + tp.load_noise * draws.load
            + if draws.load_event < tp.load_event {
                l.event_size
            } else {
                0.0
            };

        // Risk episodes: onset more likely when well-being is low; safety work
        // shortens them.
        let rk = &world.scenario.risk;
        if self.in_risk {
            let mut end = tp.risk_end;
            if self.safety_pending {
                end = 1.0 - (1.0 - end) * (1.0 - rk.safety_resolution);
            }
            if draws.risk_end < end {
                self.in_risk = false;
            }
            self.risk_started = false;
        } else {
            let week = rk.weekly_rate
                * (self.risk_log + rk.low_wellbeing * (40.0 - self.w_level) / 10.0).exp();
            let p = per_tick_prob(week.min(1.0), f64::from(world.ticks_per_week));
            self.in_risk = draws.risk_onset < p;
            self.risk_started = self.in_risk;
        }
        self.safety_pending = false;
        out
    }

    /// The true situation at a decision.
    pub(crate) fn situation(&self, world: &World, draws: &DecisionDraws) -> Situation {
        let f = &world.scenario.follow_through;
        let m = &world.scenario.measurement;
        let ln_minutes = self.ln_minutes + f.minutes_within_sd * draws.minutes
            - f.load_minutes * self.load.max(0.0);
        let minutes = ln_minutes.exp().clamp(1.0, 600.0);
        let in_session = draws.setting < m.in_session_share;
        let context = Context {
            minutes_available: (draws.minutes_known < m.minutes_known)
                .then(|| minutes.round() as u32),
            setting: Some(if in_session {
                Setting::InSession
            } else {
                Setting::BetweenSessions
            }),
            capacity: None,
        };
        Situation {
            minutes,
            in_session,
            context,
        }
    }

    /// Log-odds of doing kernel `j` now, and the share done partly.
    #[inline]
    fn follow_through(&self, world: &World, j: usize, sit: &Situation) -> (f64, f64) {
        let f = &world.scenario.follow_through;
        let k = &world.kernels[j];
        // Softplus of log(effort / minutes), shifted to 0 at effort == minutes:
        // short exercises get a small bonus, long ones a penalty that grows
        // with the log of how far they overshoot the time the person has.
        // (softplus(ln r) = ln(1 + r), one log instead of exp + log.)
        let sp = (k.effort / sit.minutes).ln_1p() - std::f64::consts::LN_2;
        let mut z = self.ft_logit - self.effort_sens * sp - f.load_sensitivity * self.load
            + f.success_sensitivity * (self.self_efficacy - 0.5)
            + self.aid_boost;
        if sit.in_session {
            z += f.in_session_bonus;
        } else if k.needs_session {
            z -= f.out_of_session_penalty;
        }
        if k.aid {
            z += f.aid_bonus;
        }
        if self.done_before[j] {
            z += f.familiarity_bonus;
        }
        let partly = if k.effort > sit.minutes {
            (2.0 * f.partly_share).min(1.0)
        } else {
            f.partly_share
        };
        (z, partly)
    }

    /// Fills `follow`, `gain`, `map_gain` and `eligible` for every kernel:
    /// the truth the oracles act on and regret is measured against.
    pub(crate) fn truth(&mut self, world: &World, sit: &Situation, flagged: bool, posterior: bool) {
        let acute = if flagged {
            cond_bit(Condition::AcuteSuicidality)
        } else {
            0
        };
        let mask = self.cond_mask | acute;
        let post_kcoef = if posterior {
            self.posterior_kcoef(world)
        } else {
            Vec::new()
        };
        for j in 0..world.kernels.len() {
            let k = &world.kernels[j];
            let (z, partly) = self.follow_through(world, j, sit);
            let pf = sigmoid(z);
            let (mut lasting, mut map_lasting, mut pop_lasting, mut post_lasting) =
                (0.0, 0.0, 0.0, 0.0);
            for i in k.entries.0..k.entries.1 {
                let room = headroom(self.x[world.entries[i].pole]);
                lasting += self.kcoef[i] * room;
                map_lasting += self.map_kcoef[i] * room;
                pop_lasting += world.pop_kcoef[i] * room;
                if let Some(c) = post_kcoef.get(i) {
                    post_lasting += c * room;
                }
            }
            self.follow[j] = pf;
            self.follow_logit[j] = z;
            self.expected_dose[j] = 1.0 - 0.5 * partly;
            let common = pf * self.expected_dose[j] * self.habituation(world, j);
            self.gain[j] = common * lasting;
            self.map_gain[j] = common * map_lasting;
            self.pop_gain[j] = common * pop_lasting;
            self.post_gain[j] = common * post_lasting;
            self.eligible[j] = k.contra & mask == 0;
        }
        add_aid_value(world, self, Which::Person);
        add_aid_value(world, self, Which::Map);
        add_aid_value(world, self, Which::Population);
        if posterior {
            add_aid_value(world, self, Which::Posterior);
        }
    }

    /// Whether the person does kernel `j` now: the dose (0, 0.5 or 1).
    pub(crate) fn act(
        &self,
        world: &World,
        j: usize,
        sit: &Situation,
        draws: &DecisionDraws,
    ) -> f64 {
        let (z, partly) = self.follow_through(world, j, sit);
        if draws.follow < sigmoid(z) {
            if draws.partly < partly { 0.5 } else { 1.0 }
        } else {
            0.0
        }
    }
}

/// Which expected gains [`add_aid_value`] works on.
#[derive(Clone, Copy)]
enum Which {
    Person,
    Map,
    Population,
    Posterior,
}

/// An aid is also worth the follow-through it adds to the next decisions:
/// approximated as the lift on the best ordinary kernel (by the same gains)
/// over the carry-over's expected lifetime in decisions.
fn add_aid_value(world: &World, p: &mut Person, which: Which) {
    let carry = world.scenario.follow_through.aid_carryover;
    if carry <= 0.0 {
        return;
    }
    let gain = match which {
        Which::Person => &p.gain,
        Which::Map => &p.map_gain,
        Which::Population => &p.pop_gain,
        Which::Posterior => &p.post_gain,
    };
    let mut best: Option<usize> = None;
    for (j, k) in world.kernels.iter().enumerate() {
        if p.eligible[j] && !k.aid && !k.safety && best.is_none_or(|b| gain[j] > gain[b]) {
            best = Some(j);
        }
    }
    let Some(b) = best else { return };
    if gain[b] <= 0.0 {
        return;
    }
    let lift = (2.0 * carry - p.aid_boost).clamp(0.0, carry);
    let zb = p.follow_logit[b];
    let per_follow = gain[b] / p.follow[b].max(1e-9);
    let value = world.tick.aid_horizon * (sigmoid(zb + lift) - sigmoid(zb)) * per_follow;
    let gain = match which {
        Which::Person => &mut p.gain,
        Which::Map => &mut p.map_gain,
        Which::Population => &mut p.pop_gain,
        Which::Posterior => &mut p.post_gain,
    };
    for (j, k) in world.kernels.iter().enumerate() {
        if k.aid {
            gain[j] += p.follow[j] * p.expected_dose[j] * value;
        }
    }
}

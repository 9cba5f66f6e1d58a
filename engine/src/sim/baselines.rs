//! Baseline policies the engine is measured against, from the floor (random)
//! to the ceiling (an oracle that knows the truth), with a map oracle and a
//! structured learner in between.
//!
//! All of them follow the production safety rules through
//! [`PersonView::candidates`]: contraindicated interventions are never chosen,
//! and an active risk flag means a safety intervention. Learning baselines
//! learn from the same assessments and feedback the engine gets, and from
//! nothing else; only [`Oracle`], [`MapOracle`], [`MapPosteriorOracle`] and
//! [`PopulationOracle`] read the ground truth.
//!
//! Reward for the learning baselines is what a platform can observe:
//! `dose x helpfulness / 100` from feedback (done = 1, partly = 0.5, not done =
//! 0; a done exercise without a rating counts as neutral, 50). It mixes
//! follow-through and perceived benefit, as any engagement-driven bandit would.

use super::SimRng;
use super::policy::{PersonView, Policy};
use crate::catalog::{InterventionCatalog, Modality};
use crate::error::{EngineError, Result};
use crate::ids::{InterventionId, ProcessId, Timestamp};
use crate::observe::{Assessment, Completion, Feedback, Setting};
use nalgebra::{DMatrix, DVector, SMatrix, SVector};
use rand::Rng;

/// Error for a view with no allowed intervention (an empty or fully
/// contraindicated catalogue): the runner cannot continue honestly.
fn no_candidate(view: &PersonView<'_>) -> EngineError {
    EngineError::InvalidCatalog(format!(
        "no intervention may be recommended to simulated person {} (catalogue empty or all contraindicated)",
        view.person
    ))
}

/// The allowed intervention with the largest of `gains` (the first on ties).
fn largest(view: &PersonView<'_>, gains: &[f64]) -> Result<InterventionId> {
    let mut best: Option<(usize, f64)> = None;
    for i in view.candidates() {
        if best.is_none_or(|(_, b)| gains[i] > b) {
            best = Some((i, gains[i]));
        }
    }
    let (i, _) = best.ok_or_else(|| no_candidate(view))?;
    Ok(view.id(i))
}

/// Uniform over a filtered candidate set, without allocating.
fn uniform_candidate(view: &PersonView<'_>, rng: &mut SimRng) -> Option<usize> {
    let n = view.candidates().count();
    if n == 0 {
        return None;
    }
    view.candidates().nth(rng.random_range(0..n))
}

/// The observable reward in a feedback message (see the module docs).
pub fn reward(feedback: &Feedback) -> Option<f64> {
    let dose = match feedback.completion? {
        Completion::Done => 1.0,
        Completion::Partly => 0.5,
        Completion::NotDone => return Some(0.0),
    };
    Some(dose * feedback.helpfulness.unwrap_or(50.0) / 100.0)
}

/// A catalogue-based guess of the reward before any feedback: even odds of
/// doing it, helpfulness rising with the catalogue's prior effect.
fn prior_reward(catalog: &InterventionCatalog, i: usize) -> f64 {
    let pe = catalog.all()[i].prior_effect;
    0.5 * (50.0 + 5.0 * pe).clamp(0.0, 100.0) / 100.0
}

/// Chooses uniformly at random among the allowed interventions: the floor.
#[derive(Debug, Clone, Default)]
pub struct Random;

impl Policy for Random {
    fn name(&self) -> &str {
        "random"
    }
    fn choose(&mut self, view: &PersonView<'_>, rng: &mut SimRng) -> Result<InterventionId> {
        let i = uniform_candidate(view, rng).ok_or_else(|| no_candidate(view))?;
        Ok(view.id(i))
    }
}

/// Knows every person's true responses and follow-through, and picks the
/// largest true expected gain now: the ceiling regret is measured against.
/// (Myopic: it does not plan for habituation or drop-out.)
#[derive(Debug, Clone, Default)]
pub struct Oracle;

impl Policy for Oracle {
    fn name(&self) -> &str {
        "oracle"
    }
    fn choose(&mut self, view: &PersonView<'_>, _rng: &mut SimRng) -> Result<InterventionId> {
        largest(view, view.truth.expected_gain)
    }
}

/// Knows each person's map (which poles drive their well-being, how much,
/// through their own network) and the world's true kernel effects, room to
/// move, follow-through and habituation, but not how this person responds to
/// each kernel or family (their multipliers, null responses, backfires); it
/// picks the largest expected gain on that knowledge
/// ([`super::GroundTruth::map_expected_gain`]). *Why:* it separates what
/// knowing the person's map is worth from what learning their individual
/// responses is worth; a learner that only estimates maps can at best reach it.
#[derive(Debug, Clone, Default)]
pub struct MapOracle;

impl Policy for MapOracle {
    fn name(&self) -> &str {
        "map_oracle"
    }
    fn choose(&mut self, view: &PersonView<'_>, _rng: &mut SimRng) -> Result<InterventionId> {
        largest(view, view.truth.map_expected_gain)
    }
}

/// Knows what [`MapOracle`] knows of the world (true kernel effects, room to
/// move, the person's follow-through and habituation) but only the average
/// person's map through the average network, not this person's
/// ([`super::GroundTruth::population_expected_gain`]). *Why:* it bounds what
/// learning from other people (pooling, `tutti train`) can give; the
/// distance from it to the map oracle is what the person's own map is worth.
#[derive(Debug, Clone, Default)]
pub struct PopulationOracle;

impl Policy for PopulationOracle {
    fn name(&self) -> &str {
        "population_oracle"
    }
    fn choose(&mut self, view: &PersonView<'_>, _rng: &mut SimRng) -> Result<InterventionId> {
        largest(view, view.truth.population_expected_gain)
    }
}

/// Knows what [`PopulationOracle`] knows of the world, and of the person's
/// map only what their well-being measures so far say about it, read against
/// their true poles (no rating noise, no skipped item) with the world's true
/// spread of maps as the prior and their own network known
/// ([`super::GroundTruth::map_posterior_expected_gain`]). *Why:* it bounds
/// what any learner can read of the map from the ratings a world's
/// measurement gives: between the population oracle (no ratings) and the map
/// oracle (the map itself), it says how much of the distance the ratings
/// can cover. (It does not learn from feedback.)
#[derive(Debug, Clone, Default)]
pub struct MapPosteriorOracle;

impl Policy for MapPosteriorOracle {
    fn name(&self) -> &str {
        "map_posterior_oracle"
    }
    fn reads_map_posterior(&self) -> bool {
        true
    }
    fn choose(&mut self, view: &PersonView<'_>, _rng: &mut SimRng) -> Result<InterventionId> {
        largest(view, view.truth.map_posterior_expected_gain)
    }
}

/// A fixed CBT-like protocol: one kernel family per week in a set order
/// (activation first, then thinking, problem solving, lifestyle, relapse
/// prevention), repeated; within a family it rotates to the least recently
/// used kernel. It personalises nothing, which is the point.
#[derive(Debug, Clone)]
pub struct FixedProtocol {
    families: Vec<String>,
    last_used: Vec<u32>,
    decisions: u32,
}

impl FixedProtocol {
    /// The default CBT-like sequence by week.
    pub const CBT: &'static [&'static str] = &[
        "behavioural_activation",
        "behavioural_activation",
        "behavioural_activation",
        "cognitive_restructuring",
        "cognitive_restructuring",
        "cognitive_restructuring",
        "problem_solving",
        "problem_solving",
        "sleep",
        "physical_activity",
        "social_connection",
        "committed_action",
    ];

    /// The default CBT-like protocol.
    pub fn cbt() -> Self {
        Self::new(Self::CBT.iter().map(|s| s.to_string()).collect())
    }

    /// A protocol over the given kernel families, one per week, repeated.
    pub fn new(families: Vec<String>) -> Self {
        Self {
            families,
            last_used: Vec::new(),
            decisions: 0,
        }
    }
}

impl Policy for FixedProtocol {
    fn name(&self) -> &str {
        "fixed_protocol"
    }
    fn choose(&mut self, view: &PersonView<'_>, _rng: &mut SimRng) -> Result<InterventionId> {
        let all = view.interventions.all();
        if self.last_used.len() != all.len() {
            self.last_used = vec![0; all.len()];
        }
        self.decisions += 1;
        let n = self.families.len().max(1);
        // This week's family, or the next one in the sequence that has an
        // allowed kernel; in safety mode none matches and the fallback below
        // gives the first safety intervention.
        let mut pick = None;
        for step in 0..n {
            let Some(family) = self.families.get((view.week as usize + step) % n) else {
                break;
            };
            pick = view
                .candidates()
                .filter(|&i| all[i].family == *family)
                .min_by_key(|&i| (self.last_used[i], all[i].effort_minutes, i));
            if pick.is_some() {
                break;
            }
        }
        let i = match pick {
            Some(i) => i,
            None => view
                .candidates()
                .min_by_key(|&i| (self.last_used[i], i))
                .ok_or_else(|| no_candidate(view))?,
        };
        self.last_used[i] = self.decisions;
        Ok(view.id(i))
    }
}

/// Epsilon-greedy on the person's own mean reward per intervention, starting
/// from a catalogue-based prior worth `prior_weight` observations.
#[derive(Debug, Clone)]
pub struct EpsilonGreedy {
    epsilon: f64,
    prior_weight: f64,
    sum: Vec<f64>,
    n: Vec<f64>,
    last: Option<(usize, InterventionId)>,
}

impl EpsilonGreedy {
    /// Explores uniformly with probability `epsilon` (clamped to 0-1).
    pub fn new(epsilon: f64) -> Self {
        Self {
            epsilon: epsilon.clamp(0.0, 1.0),
            prior_weight: 1.0,
            sum: Vec::new(),
            n: Vec::new(),
            last: None,
        }
    }
}

impl Default for EpsilonGreedy {
    fn default() -> Self {
        Self::new(0.1)
    }
}

impl Policy for EpsilonGreedy {
    fn name(&self) -> &str {
        "epsilon_greedy"
    }
    fn choose(&mut self, view: &PersonView<'_>, rng: &mut SimRng) -> Result<InterventionId> {
        let k = view.interventions.len();
        if self.sum.len() != k {
            self.sum = (0..k)
                .map(|i| self.prior_weight * prior_reward(view.interventions, i))
                .collect();
            self.n = vec![self.prior_weight; k];
        }
        let explore = rng.random::<f64>() < self.epsilon;
        let i = if explore {
            uniform_candidate(view, rng)
        } else {
            // Greedy; ties broken at random so equal priors do not always
            // favour the first id.
            let mut best: Option<(usize, f64)> = None;
            let mut ties = 0u32;
            for i in view.candidates() {
                let v = self.sum[i] / self.n[i];
                match best {
                    Some((_, b)) if v < b => {}
                    Some((_, b)) if v == b => {
                        ties += 1;
                        if rng.random_range(0..=ties) == 0 {
                            best = Some((i, v));
                        }
                    }
                    _ => {
                        best = Some((i, v));
                        ties = 0;
                    }
                }
            }
            best.map(|(i, _)| i)
        }
        .ok_or_else(|| no_candidate(view))?;
        let id = view.id(i);
        self.last = Some((i, id.clone()));
        Ok(id)
    }
    fn observe_feedback(&mut self, feedback: &Feedback) -> Result<()> {
        if let (Some((i, id)), Some(r)) = (&self.last, reward(feedback))
            && *id == feedback.intervention
        {
            self.sum[*i] += r;
            self.n[*i] += 1.0;
        }
        Ok(())
    }
}

/// Context features for [`LinUcb`].
const D: usize = 6;
type Mat = SMatrix<f64, D, D>;
type Vector = SVector<f64, D>;

/// Disjoint LinUCB (Li et al. 2010) over a small person-profile context that
/// changes with time: intercept, latest observed well-being, mean adaptive and
/// mean maladaptive level, minutes available, in session. One ridge model per
/// intervention, learned within the person from the observable reward, with
/// the catalogue-based reward as prior mean of the intercept.
#[derive(Debug, Clone)]
pub struct LinUcb {
    alpha: f64,
    arms: Vec<(Mat, Vector)>,
    profile: [f64; 3],
    last: Option<(usize, InterventionId, Vector)>,
}

impl LinUcb {
    /// `alpha` scales the confidence bonus.
    pub fn new(alpha: f64) -> Self {
        Self {
            alpha: alpha.max(0.0),
            arms: Vec::new(),
            profile: [0.0; 3],
            last: None,
        }
    }

    fn context(&self, view: &PersonView<'_>) -> Vector {
        let minutes = view
            .context
            .minutes_available
            .map_or(0.0, |m| (f64::from(m.max(1)).ln() - 20f64.ln()) / 2.0);
        let in_session = matches!(
            view.context.setting,
            Some(crate::observe::Setting::InSession)
        );
        Vector::from([
            1.0,
            self.profile[0],
            self.profile[1],
            self.profile[2],
            minutes,
            if in_session { 1.0 } else { 0.0 },
        ])
    }
}

impl Default for LinUcb {
    fn default() -> Self {
        Self::new(0.3)
    }
}

impl Policy for LinUcb {
    fn name(&self) -> &str {
        "linucb"
    }
    fn observe_assessment(&mut self, a: &Assessment) -> Result<()> {
        // Centred, scaled profile; a missing part keeps its last value.
        if !a.outcomes.is_empty() {
            let wb = a
                .outcomes
                .iter()
                .map(|o| o.instrument.to_wellbeing(o.score))
                .sum::<f64>()
                / a.outcomes.len() as f64;
            self.profile[0] = (wb - 50.0) / 50.0;
        }
        let mean = |f: &dyn Fn(&crate::observe::Rating) -> Option<f64>| {
            let (s, n) = a
                .ratings
                .iter()
                .filter_map(f)
                .fold((0.0, 0u32), |(s, n), v| (s + v, n + 1));
            (n > 0).then(|| (s / f64::from(n) - 50.0) / 50.0)
        };
        if let Some(v) = mean(&|r| r.adaptive) {
            self.profile[1] = v;
        }
        if let Some(v) = mean(&|r| r.maladaptive) {
            self.profile[2] = v;
        }
        Ok(())
    }
    fn choose(&mut self, view: &PersonView<'_>, _rng: &mut SimRng) -> Result<InterventionId> {
        let k = view.interventions.len();
        if self.arms.len() != k {
            // Ridge prior: A = I, b = A * theta0 with theta0 = (prior reward, 0, ...).
            self.arms = (0..k)
                .map(|i| {
                    let mut b = Vector::zeros();
                    b[0] = prior_reward(view.interventions, i);
                    (Mat::identity(), b)
                })
                .collect();
        }
        let x = self.context(view);
        let mut best: Option<(usize, f64)> = None;
        for i in view.candidates() {
            let (a_inv, b) = &self.arms[i];
            let theta = a_inv * b;
            let ax = a_inv * x;
            let ucb = theta.dot(&x) + self.alpha * x.dot(&ax).max(0.0).sqrt();
            if best.is_none_or(|(_, v)| ucb > v) {
                best = Some((i, ucb));
            }
        }
        let (i, _) = best.ok_or_else(|| no_candidate(view))?;
        let id = view.id(i);
        self.last = Some((i, id.clone(), x));
        Ok(id)
    }
    fn observe_feedback(&mut self, feedback: &Feedback) -> Result<()> {
        if let (Some((i, id, x)), Some(r)) = (&self.last, reward(feedback))
            && *id == feedback.intervention
        {
            // Sherman-Morrison update of the stored inverse.
            let (a_inv, b) = &mut self.arms[*i];
            let ax = *a_inv * x;
            let denom = 1.0 + x.dot(&ax);
            *a_inv -= (ax * ax.transpose()) / denom;
            *b += x * r;
        }
        Ok(())
    }
}

/// Log-odds a kernel that needs a clinician or a session loses outside one
/// (what any platform knows about homework that needs a therapist).
const OUT_OF_SESSION: f64 = -2.0;

/// The strong simple baseline the engine has to beat: a person's map
/// estimated by regression, kernels scored through the catalogue's targets,
/// follow-through learned per person.
///
/// - **Map**: within the person, a ridge regression (toward 0) of observed
///   well-being (the mean of the assessment's outcome instruments on the
///   0-100 scale, [`crate::observe::Instrument::to_wellbeing`]) on the pole
///   ratings of the same assessment, centred on the person's own means; a
///   blank item counts as the pole's running mean.
/// - **Benefit** of kernel `j`: `sum over its catalogue targets of weight x
///   (beta_adaptive - beta_maladaptive)`, plus a small common term so the
///   cold start follows the catalogue, times `sqrt(prior_effect / mean
///   prior_effect)` (the catalogue as a mild scale only); then nudged by the
///   person's mean helpfulness for `j` and discounted for recent repeats.
/// - **Follow-through**: a per-person logistic regression of done (fully or
///   partly) on `ln(effort / minutes available)` (the person's usual minutes
///   when unknown), intercept and slope with weak priors, refitted from the
///   completion reports.
/// - **Choice**: greedy on benefit x P(do), uniform with probability `epsilon`.
#[derive(Debug, Clone)]
pub struct StructuredLearner {
    epsilon: f64,
    /// Ridge penalty, in observations of typical within-person rating variance.
    ridge_obs: f64,
    /// Processes in the order of the first assessment's ratings (pole `2k`
    /// is process `k`'s adaptive pole, `2k + 1` its maladaptive one).
    order: Vec<ProcessId>,
    /// Poles (2 x processes), set at the first assessment.
    d: usize,
    n: f64,
    sx: Vec<f64>,
    sy: f64,
    sxx: Vec<f64>,
    sxy: Vec<f64>,
    pole_sum: Vec<f64>,
    pole_n: Vec<f64>,
    x: Vec<f64>,
    beta: Vec<f64>,
    fitted: bool,
    /// Follow-through observations: (ln effort/minutes, done 0/1, offset).
    ft: Vec<(f64, f64, f64)>,
    ft_coef: (f64, f64),
    ln_minutes_sum: f64,
    ln_minutes_n: f64,
    help_sum: Vec<f64>,
    help_n: Vec<f64>,
    /// Recent recommendations per kernel (decayed with a 14-day half-life) and when.
    recent: Vec<(f64, Timestamp)>,
    /// The last choice: index, id, and its follow-through inputs.
    last: Option<(usize, InterventionId, f64, f64)>,
}

impl StructuredLearner {
    /// Explores uniformly with probability `epsilon` (clamped to 0-1).
    pub fn new(epsilon: f64) -> Self {
        Self {
            epsilon: epsilon.clamp(0.0, 1.0),
            ridge_obs: 20.0,
            order: Vec::new(),
            d: 0,
            n: 0.0,
            sx: Vec::new(),
            sy: 0.0,
            sxx: Vec::new(),
            sxy: Vec::new(),
            pole_sum: Vec::new(),
            pole_n: Vec::new(),
            x: Vec::new(),
            beta: Vec::new(),
            fitted: true,
            ft: Vec::new(),
            ft_coef: (FT_PRIOR.0, FT_PRIOR.1),
            ln_minutes_sum: 0.0,
            ln_minutes_n: 0.0,
            help_sum: Vec::new(),
            help_n: Vec::new(),
            recent: Vec::new(),
            last: None,
        }
    }

    /// Sets the ridge penalty, in observations' worth of typical
    /// within-person rating variance (default 20; larger shrinks the map
    /// toward 0 for longer).
    pub fn with_ridge(mut self, observations: f64) -> Self {
        self.ridge_obs = observations.max(0.0);
        self
    }

    /// The estimated map (well-being points per rating point, adaptive and
    /// maladaptive pole of each process in catalogue order).
    pub fn map(&self) -> &[f64] {
        &self.beta
    }

    fn fit_map(&mut self) -> Result<()> {
        if self.fitted || self.d == 0 {
            return Ok(());
        }
        self.fitted = true;
        let d = self.d;
        if self.n < 3.0 {
            self.beta.iter_mut().for_each(|b| *b = 0.0);
            return Ok(());
        }
        // Centred cross-products plus the ridge (within-person rating
        // variance is of the order of 100 points squared).
        let n = self.n;
        let lambda = self.ridge_obs * 100.0;
        let a = DMatrix::from_fn(d, d, |i, j| {
            self.sxx[i * d + j] - self.sx[i] * self.sx[j] / n + if i == j { lambda } else { 0.0 }
        });
        let b = DVector::from_fn(d, |i, _| self.sxy[i] - self.sx[i] * self.sy / n);
        let chol = a.cholesky().ok_or_else(|| {
            EngineError::InvalidConfig("structured learner: ridge system not positive".into())
        })?;
        let beta = chol.solve(&b);
        self.beta.copy_from_slice(beta.as_slice());
        Ok(())
    }

    fn fit_follow_through(&mut self) {
        // A few Newton steps on the penalised log-likelihood (2 parameters).
        let (mut a, mut b) = self.ft_coef;
        for _ in 0..4 {
            let (mut ga, mut gb) = (
                -(a - FT_PRIOR.0) / FT_PRIOR_SD.0.powi(2),
                -(b - FT_PRIOR.1) / FT_PRIOR_SD.1.powi(2),
            );
            let (mut haa, mut hab, mut hbb) = (
                1.0 / FT_PRIOR_SD.0.powi(2),
                0.0,
                1.0 / FT_PRIOR_SD.1.powi(2),
            );
            for &(f, y, off) in &self.ft {
                let p = sigmoid(a + b * f + off);
                let w = p * (1.0 - p);
                ga += y - p;
                gb += (y - p) * f;
                haa += w;
                hab += w * f;
                hbb += w * f * f;
            }
            let det = haa * hbb - hab * hab;
            if det <= 1e-12 {
                break;
            }
            a += (hbb * ga - hab * gb) / det;
            b += (haa * gb - hab * ga) / det;
        }
        self.ft_coef = (a, b);
    }
}

/// The follow-through model's inputs for one kernel: `ln(effort / minutes)`
/// and the out-of-session offset.
fn follow_inputs(
    iv: &crate::catalog::Intervention,
    ln_minutes: f64,
    in_session: bool,
) -> (f64, f64) {
    let f = f64::from(iv.effort_minutes.max(1)).ln() - ln_minutes;
    let needs_session = iv.requires_clinician || iv.modality == Modality::InSession;
    let off = if needs_session && !in_session {
        OUT_OF_SESSION
    } else {
        0.0
    };
    (f, off)
}

/// Prior mean of the follow-through intercept (logit 0.6) and slope.
const FT_PRIOR: (f64, f64) = (0.405, -0.8);
/// Prior sd of the intercept and slope.
const FT_PRIOR_SD: (f64, f64) = (1.0, 0.5);

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl Default for StructuredLearner {
    fn default() -> Self {
        Self::new(0.05)
    }
}

impl Policy for StructuredLearner {
    fn name(&self) -> &str {
        "structured"
    }

    fn observe_assessment(&mut self, a: &Assessment) -> Result<()> {
        if self.d == 0 {
            // The first assessment (the runner creates one learner per person).
            let d = 2 * a.ratings.len();
            self.order = a.ratings.iter().map(|r| r.process.clone()).collect();
            self.d = d;
            self.n = 0.0;
            self.sy = 0.0;
            self.sx = vec![0.0; d];
            self.sxx = vec![0.0; d * d];
            self.sxy = vec![0.0; d];
            self.pole_sum = vec![0.0; d];
            self.pole_n = vec![0.0; d];
            self.x = vec![0.0; d];
            self.beta = vec![0.0; d];
        }
        let d = self.d;
        for (i, r) in a.ratings.iter().enumerate() {
            // Ratings come in the same order each time; look up otherwise.
            let k = if self.order.get(i) == Some(&r.process) {
                i
            } else {
                match self.order.iter().position(|id| *id == r.process) {
                    Some(k) => k,
                    None => continue,
                }
            };
            for (p, v) in [(2 * k, r.adaptive), (2 * k + 1, r.maladaptive)] {
                self.x[p] = match v {
                    Some(v) => {
                        self.pole_sum[p] += v;
                        self.pole_n[p] += 1.0;
                        v
                    }
                    // A blank item counts as the pole's usual level.
                    None if self.pole_n[p] > 0.0 => self.pole_sum[p] / self.pole_n[p],
                    None => 50.0,
                };
            }
        }
        if a.outcomes.is_empty() {
            return Ok(());
        }
        let y = a
            .outcomes
            .iter()
            .map(|o| o.instrument.to_wellbeing(o.score))
            .sum::<f64>()
            / a.outcomes.len() as f64;
        self.n += 1.0;
        self.sy += y;
        for i in 0..d {
            let xi = self.x[i];
            self.sx[i] += xi;
            self.sxy[i] += xi * y;
            for j in 0..d {
                self.sxx[i * d + j] += xi * self.x[j];
            }
        }
        self.fitted = false;
        Ok(())
    }

    fn choose(&mut self, view: &PersonView<'_>, rng: &mut SimRng) -> Result<InterventionId> {
        let all = view.interventions.all();
        let k = all.len();
        if self.help_sum.len() != k {
            self.help_sum = vec![0.0; k];
            self.help_n = vec![0.0; k];
            self.recent = vec![(0.0, view.now); k];
        }
        self.fit_map()?;
        if let Some(m) = view.context.minutes_available {
            self.ln_minutes_sum += f64::from(m.max(1)).ln();
            self.ln_minutes_n += 1.0;
        }
        let ln_minutes = match view.context.minutes_available {
            Some(m) => f64::from(m.max(1)).ln(),
            None if self.ln_minutes_n > 0.0 => self.ln_minutes_sum / self.ln_minutes_n,
            None => 20f64.ln(),
        };
        let in_session = matches!(view.context.setting, Some(Setting::InSession));
        let mean_prior = all.iter().map(|iv| iv.prior_effect).sum::<f64>() / k.max(1) as f64;
        let (fa, fb) = self.ft_coef;

        let explore = rng.random::<f64>() < self.epsilon;
        let mut best: Option<(usize, f64)> = None;
        for i in view.candidates() {
            let iv = &all[i];
            let mut benefit = 0.01;
            for t in &iv.targets {
                if let Some(k) = self.order.iter().position(|id| *id == t.process) {
                    benefit += t.weight * (self.beta[2 * k] - self.beta[2 * k + 1]);
                }
            }
            benefit *= (iv.prior_effect.max(0.0) / mean_prior.max(1e-9)).sqrt();
            let hn = self.help_n[i];
            if hn > 0.0 {
                let h = (self.help_sum[i] / hn - 50.0) / 50.0;
                benefit += benefit.abs() * 0.5 * h * hn / (hn + 2.0);
            }
            let (n_recent, at) = self.recent[i];
            let recent = n_recent * 0.5f64.powf(view.now.days_since(at).max(0.0) / 14.0);
            if benefit > 0.0 {
                benefit *= 0.7f64.powf(recent);
            }
            let (f, off) = follow_inputs(iv, ln_minutes, in_session);
            let score = sigmoid(fa + fb * f + off) * benefit;
            if best.is_none_or(|(_, b)| score > b) {
                best = Some((i, score));
            }
        }
        let i = if explore {
            uniform_candidate(view, rng)
        } else {
            best.map(|(i, _)| i)
        }
        .ok_or_else(|| no_candidate(view))?;
        let (f, off) = follow_inputs(&all[i], ln_minutes, in_session);
        let (n_recent, at) = self.recent[i];
        self.recent[i] = (
            1.0 + n_recent * 0.5f64.powf(view.now.days_since(at).max(0.0) / 14.0),
            view.now,
        );
        let id = view.id(i);
        self.last = Some((i, id.clone(), f, off));
        Ok(id)
    }

    fn observe_feedback(&mut self, feedback: &Feedback) -> Result<()> {
        let Some((i, id, f, off)) = &self.last else {
            return Ok(());
        };
        if *id != feedback.intervention {
            return Ok(());
        }
        let (i, f, off) = (*i, *f, *off);
        if let Some(h) = feedback.helpfulness {
            self.help_sum[i] += h;
            self.help_n[i] += 1.0;
        }
        if let Some(c) = feedback.completion {
            let done = if c == Completion::NotDone { 0.0 } else { 1.0 };
            self.ft.push((f, done, off));
            self.fit_follow_through();
        }
        Ok(())
    }
}

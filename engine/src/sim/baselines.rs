//! Baseline policies the engine is measured against, from the floor (random)
//! to the ceiling (an oracle that knows the truth).
//!
//! All of them follow the production safety rules through
//! [`PersonView::candidates`]: contraindicated interventions are never chosen,
//! and an active risk flag means a safety intervention. Learning baselines
//! learn from the same feedback the engine gets, and from nothing else.
//!
//! Reward for the learning baselines is what a platform can observe:
//! `dose x helpfulness / 100` from feedback (done = 1, partly = 0.5, not done =
//! 0; a done exercise without a rating counts as neutral, 50). It mixes
//! follow-through and perceived benefit, as any engagement-driven bandit would.

use super::SimRng;
use super::policy::{PersonView, Policy};
use crate::catalog::InterventionCatalog;
use crate::error::{EngineError, Result};
use crate::ids::InterventionId;
use crate::observe::{Assessment, Completion, Feedback};
use nalgebra::{SMatrix, SVector};
use rand::Rng;

/// Error for a view with no allowed intervention (an empty or fully
/// contraindicated catalogue): the runner cannot continue honestly.
fn no_candidate(view: &PersonView<'_>) -> EngineError {
    EngineError::InvalidCatalog(format!(
        "no intervention may be recommended to simulated person {} (catalogue empty or all contraindicated)",
        view.person
    ))
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
        let mut best: Option<(usize, f64)> = None;
        for i in view.candidates() {
            let g = view.truth.expected_gain[i];
            if best.is_none_or(|(_, b)| g > b) {
                best = Some((i, g));
            }
        }
        let (i, _) = best.ok_or_else(|| no_candidate(view))?;
        Ok(view.id(i))
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

//! The [`Policy`] trait: what a decision-maker sees about one person
//! ([`PersonView`]) and the feedback hooks through which it learns.
//!
//! The hooks mirror the engine API one to one (`new_person`,
//! `observe_assessment`, `recommend`, `observe_recommendation`,
//! `observe_feedback`), and the simulator hands policies exactly the
//! [`Assessment`] and [`Feedback`] values a platform would send the server, with
//! the same gaps: missing assessments are never delivered, missing feedback is
//! never delivered, and a skipped exercise is reported less often than a done
//! one. A policy is created per person (by the runner's factory), so people are
//! independent and can be simulated in parallel; population knowledge enters
//! only through fixed priors (the catalogue, or a trained population model),
//! never by learning across people during a run.

use super::SimRng;
use crate::catalog::{Condition, InterventionCatalog, ProcessCatalog};
use crate::error::Result;
use crate::ids::{InterventionId, Timestamp};
use crate::observe::{Assessment, Context, Feedback};

/// What a policy knows when a person starts: their standing conditions (as a
/// clinician knows them at intake).
#[derive(Debug, Clone, Copy)]
pub struct Intake<'a> {
    /// Index of the person in the run.
    pub person: u64,
    /// Standing conditions (contraindication matching).
    pub conditions: &'a [Condition],
    /// Time of intake.
    pub now: Timestamp,
}

/// Ground truth at a decision. Only the oracles may read it:
/// [`super::baselines::Oracle`] (`expected_gain`),
/// [`super::baselines::MapOracle`] (`map_expected_gain`),
/// [`super::baselines::PopulationOracle`] (`population_expected_gain`) and
/// [`super::baselines::MapPosteriorOracle`] (`map_posterior_expected_gain`);
/// a learning policy that does is cheating.
#[derive(Debug, Clone, Copy)]
pub struct GroundTruth<'a> {
    /// True expected lasting well-being gain of recommending each intervention
    /// now (follow-through x dose x habituation x the person's true response
    /// through their own map and network), by catalogue index. Regret and
    /// captured share are measured in it.
    pub expected_gain: &'a [f64],
    /// The same expectation for someone who knows the person's map (which
    /// poles drive their well-being, how much, through their network) and
    /// the world's true kernel effects (sizes, target weights, room to
    /// move), follow-through and habituation, but not how *this* person
    /// responds to each kernel or family (their multipliers, null responses
    /// and backfires): what the map oracle maximises.
    pub map_expected_gain: &'a [f64],
    /// The same expectation for someone who knows what the map oracle knows
    /// of the world but only the average person's map (through the average
    /// network), not this person's: what the population oracle maximises,
    /// the most that learning from other people can give.
    pub population_expected_gain: &'a [f64],
    /// The same expectation with the posterior mean of the person's map in
    /// place of the map, from every well-being measure so far read against
    /// the person's true poles (no rating noise) under the world's true
    /// spread of maps, the person's network and retention known: what the
    /// map-posterior oracle maximises, a bound on what reading the map from
    /// the person's ratings can give. Zero unless the policy asks for it
    /// ([`Policy::reads_map_posterior`]).
    pub map_posterior_expected_gain: &'a [f64],
    /// True probability of following through on each intervention now.
    pub follow_through: &'a [f64],
    /// The person's map, per pole (network layout): well-being points per
    /// point of the pole at the same occasion.
    pub loadings: &'a [f64],
    /// Per pole: what a lasting push on it is worth to this person through
    /// their network (well-being points per point of push).
    pub pole_values: &'a [f64],
}

/// What a policy sees at a decision: the observed data and the situation, as
/// the server would have it.
#[derive(Debug, Clone, Copy)]
pub struct PersonView<'a> {
    /// Index of the person in the run.
    pub person: u64,
    /// Week since the person started (0-based).
    pub week: u32,
    /// Decisions made for this person before this one.
    pub decision: u32,
    /// Time of the decision.
    pub now: Timestamp,
    /// The situation as reported (minutes available may be unknown).
    pub context: Context,
    /// Standing conditions.
    pub conditions: &'a [Condition],
    /// The latest answered assessment, if any (it may be from an earlier occasion).
    pub latest: Option<&'a Assessment>,
    /// Whether `latest` was answered at this occasion.
    pub latest_is_fresh: bool,
    /// The latest answered assessment carried a risk flag: the safety rule applies.
    pub risk_flagged: bool,
    /// The process catalogue.
    pub processes: &'a ProcessCatalog,
    /// The intervention catalogue (indices below are into `interventions.all()`).
    pub interventions: &'a InterventionCatalog,
    /// Per intervention: not contraindicated by standing conditions or by the
    /// acute condition a risk flag implies.
    pub(crate) eligible: &'a [bool],
    /// A risk flag is active and the catalogue has an eligible safety intervention.
    pub(crate) safety_mode: bool,
    /// Ground truth, for the oracle only.
    pub truth: GroundTruth<'a>,
}

impl PersonView<'_> {
    /// Whether intervention `i` is not contraindicated now.
    pub fn is_eligible(&self, i: usize) -> bool {
        self.eligible.get(i).copied().unwrap_or(false)
    }

    /// Whether intervention `i` is a safety-path intervention.
    pub fn is_safety(&self, i: usize) -> bool {
        self.interventions.all().get(i).is_some_and(|iv| iv.safety)
    }

    /// Whether the production rules allow choosing intervention `i` now: not
    /// contraindicated, and a safety intervention exactly when a risk flag is
    /// active (if the catalogue has no eligible safety intervention, any
    /// eligible one, so the person still gets something).
    pub fn is_candidate(&self, i: usize) -> bool {
        self.is_eligible(i) && self.is_safety(i) == self.safety_mode
    }

    /// Whether the safety rule is in force: a risk flag is active and there is
    /// an eligible safety intervention to give.
    pub fn safety_mode(&self) -> bool {
        self.safety_mode
    }

    /// Indices of the interventions allowed now (see [`Self::is_candidate`]).
    pub fn candidates(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.interventions.len()).filter(move |&i| self.is_candidate(i))
    }

    /// The id of intervention `i`.
    pub fn id(&self, i: usize) -> InterventionId {
        self.interventions.all()[i].id.clone()
    }
}

/// A decision-maker for one person. The runner calls, in time order:
/// `start` once, then per occasion `observe_feedback` (for the previous
/// decision, when the person reported it), `observe_assessment` (when they
/// answered), and at decision occasions `choose` followed by
/// `observe_recommendation`.
pub trait Policy {
    /// Short name used in reports, e.g. `random`, `engine`.
    fn name(&self) -> &str;

    /// A new person (the engine's `new_person`).
    fn start(&mut self, intake: &Intake<'_>) -> Result<()> {
        let _ = intake;
        Ok(())
    }

    /// An answered assessment (the engine's `observe_assessment`).
    fn observe_assessment(&mut self, assessment: &Assessment) -> Result<()> {
        let _ = assessment;
        Ok(())
    }

    /// Whether [`GroundTruth::map_posterior_expected_gain`] is to be filled
    /// (a linear solve per decision, so only for the oracle that reads it).
    fn reads_map_posterior(&self) -> bool {
        false
    }

    /// The intervention to recommend now. Must honour the safety rule: with
    /// `view.risk_flagged`, a safety intervention (see [`PersonView::candidates`]).
    fn choose(&mut self, view: &PersonView<'_>, rng: &mut SimRng) -> Result<InterventionId>;

    /// The recommendation was shown (the engine's `observe_recommendation`).
    fn observe_recommendation(
        &mut self,
        intervention: &InterventionId,
        at: Timestamp,
    ) -> Result<()> {
        let _ = (intervention, at);
        Ok(())
    }

    /// Feedback the person or platform sent (the engine's `observe_feedback`).
    fn observe_feedback(&mut self, feedback: &Feedback) -> Result<()> {
        let _ = feedback;
        Ok(())
    }
}

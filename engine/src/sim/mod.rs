//! A synthetic population with ground truth, and baseline policies, so that
//! learning claims are shown against known truth rather than asserted.
//!
//! The simulator is pure like the rest of the engine: no I/O, clock, threads or
//! global state. Randomness comes from a seed; a run is a function of
//! (scenario, catalogues, policy, people, weeks, seed). Callers parallelise over
//! people with [`Simulation::run_people`] and [`SimReport::merge`].
//!
//! # Layout
//! - [`scenario`]: the documented configuration ([`Scenario`]) and the named
//!   scenarios shipped in `data/scenarios/*.toml`.
//! - `world`, `person`: the generative model (internal).
//! - [`policy`]: the [`Policy`] trait and what a policy sees ([`PersonView`]).
//! - [`baselines`]: [`Random`], [`FixedProtocol`], [`EpsilonGreedy`], [`LinUcb`],
//!   [`StructuredLearner`] (the strong simple baseline), [`PopulationOracle`],
//!   [`MapPosteriorOracle`], [`MapOracle`], [`Oracle`].
//! - [`engine_policy`]: [`EnginePolicy`], the real [`crate::Engine`] behind the trait.
//! - [`runner`]: [`Simulation`], [`run`]; random streams per person.
//! - [`report`]: [`SimReport`], [`Metrics`], [`summarise`], [`paired_difference`].
//!
//! # The generative model
//! Time moves in ticks, one per assessment occasion (`assessments_per_week`
//! per week); all parameters are stated per week and converted, so cadence
//! changes measurement, not people. The world is meant to be an *independent
//! judge*: it does not share the engine's assumptions (the catalogue's
//! effects, its target weights, a linear headroom, lagged process-to-outcome
//! paths), so a policy is not rewarded for believing them. Each person has,
//! as ground truth:
//!
//! - **Latent processes.** Both poles of every catalogue process (adaptive and
//!   maladaptive are distinct signals, as in the PBAT), 0-100, starting near
//!   the catalogue's priors. One severity factor moves the starting processes
//!   and well-being together, so worse processes go with lower well-being.
//!   Each pole has a *level* and, at each occasion, a *momentary state* around
//!   it (`state_sd` at a daily occasion, averaged down at coarser cadences):
//!   the day's mood, last night's sleep. States pass without trace;
//!   interventions and the network move levels.
//! - **A person-specific lagged network** (VAR(1)) for the levels: `x' = c +
//!   A x + load + noise`. `A` has each pole's persistence, a negative
//!   coupling between the two poles of a process, and sparse cross-edges:
//!   the population's edges perturbed plus idiosyncratic ones
//!   (`network_heterogeneity`). Rows are scaled so the network is always
//!   stable. *Why:* idiographic work finds that how processes drive each
//!   other differs between people (domain brief section 3).
//! - **A sparse personal map.** Each process *drives* the person's well-being
//!   with probability `map_density` (scaled by how much it matters in the
//!   population, at least one per person); sometimes through one pole only
//!   (`single_pole_share`); drivers get lognormal loadings around an uneven
//!   population profile, non-drivers a small one (`nondriver_loading`); for
//!   `loading_sign_flip` of processes the sign is reversed (more of the
//!   "adaptive" pole goes with *lower* well-being for this person). With
//!   `map_heterogeneity` below 1, people share the population's map.
//!   *Why:* Sanford et al. 2022 found almost no group-level paths; which
//!   processes matter, and in which direction, is personal, and a policy
//!   that helps processes that do not matter for *this* person should not
//!   score.
//! - **Well-being, contemporaneously.** At each occasion `w = base + sum
//!   loading x (pole now - set point) + residual`, the residual an AR(1)
//!   (`wellbeing_persistence`); poles "now" include the momentary state, so
//!   a shock to a driver moves well-being at the same occasion.
//!   `outcome_lag_share = 1` restores the earlier lagged form. The same
//!   formula on the levels (no momentary states) is the person's *true*
//!   well-being, which outcomes, drop-out and risk answer to, so that a good
//!   or bad day is not counted as change; instruments measure the moment.
//!   *Why:*
//!   experience-sampling data show process-outcome relations mostly within
//!   the moment; a simulator where outcomes follow processes only with a lag
//!   rewards lagged models by construction.
//! - **True intervention effects, independent of the catalogue.** A done
//!   kernel pushes the poles it *truly* targets (the adaptive pole up, the
//!   maladaptive one down by a person-specific share): true weights are the
//!   catalogue's with lognormal error (`target_weight_error`), some kernels
//!   also move a process the catalogue does not list (`hidden_target_share`),
//!   and each kernel's push size is lognormal across kernels
//!   (`effect_size_sd`) with only `effect_prior_correlation` (log scale) to
//!   the catalogue's `prior_effect`. One global scale makes the average
//!   person's lasting gain, averaged over the catalogue, the catalogue's mean
//!   `prior_effect`. The push is scaled by the room the pole has, `4 p (1 -
//!   p)` with `p = level / 100` (a push on the logit scale: extremes are
//!   sticky both ways), not the engine's linear headroom. Then by a person x
//!   kernel multiplier: per kernel family, a person is a responder (lognormal
//!   size, mostly shared within the family), a non-responder, or someone the
//!   family backfires for; contraindicated kernels harm people with the
//!   condition. *Why:* the catalogue is evidence from other people and other
//!   measures, and averages hide subgroups with negative effects.
//! - **Learning and relapse.** Part of each push lasts (`retention`, moving
//!   the pole's intercept, which then propagates through the network), the
//!   rest fades; lasting change slowly decays (`forgetting`). *Why:* therapy
//!   gains are partly skills that stay and partly states that pass.
//! - **Habituation.** The effect shrinks with recent doses of the same kernel
//!   (and, less, of its family) and recovers with a half-life. *Why:* prompt
//!   and exercise effects decay with repetition (HeartSteps); a policy that
//!   repeats its favourite should pay for it.
//! - **Follow-through.** `P(do it) = logistic(person baseline - effort
//!   sensitivity x softplus(log(effort / minutes available)) - load + past
//!   success + in-session bonus - clinician-led-outside-session penalty +
//!   aid bonus + aid carry-over + familiarity)`; a share is done only partly
//!   (half dose), more when effort exceeds the minutes. Minutes vary per
//!   decision and shrink under load; the platform reports them only
//!   sometimes. A done follow-through aid (if-then plan, two-minute start)
//!   raises the odds of *later* exercises for a while (`aid_carryover`; 0
//!   for a sceptical world). Past success is self-efficacy: an exercise that
//!   felt helpful raises it, a skipped one lowers it. *Why:* follow-through is
//!   where therapy fails most often, and depends on effort, time, life and
//!   self-efficacy; if-then plans work on goal attainment (d = 0.65).
//! - **Life load.** An AR(1) per person around their own mean, with
//!   occasional events; it pushes processes toward their maladaptive side,
//!   lowers follow-through and minutes, and raises missingness. Starting
//!   levels are the person's equilibrium under their typical load, so no one
//!   drifts merely because the simulation started. *Why:* rent,
//!   deadlines and conflict confound everything: when load is high people do
//!   less *and* feel worse, which a naive learner mistakes for causation.
//! - **Measurement.** Ratings are the poles now (level + state) + noise,
//!   rounded, clamped, some items blank; outcome instruments (PHQ-9,
//!   single-item well-being, ... as configured) are generated from latent
//!   well-being on their own scales. Whole assessments are skipped with a
//!   probability that rises with burden (assessments already answered), load,
//!   low well-being and crises. Feedback is sent more often after a done
//!   exercise than a skipped one (missing not at random), helpfulness = felt
//!   gain + rating bias + noise, and some feedback carries noisy ratings of
//!   the catalogue-listed targets taken after the exercise (`post_ratings`).
//!   *Why:* idiographic models need many observations and self-report burden
//!   erodes them (domain brief section 8).
//! - **Drop-out.** A weekly hazard that rises when the person is not
//!   improving, not following through, or heavily measured. Drop-outs keep
//!   living (their latent state evolves without help to the horizon) and
//!   their remaining decision slots count the oracle's gain as regret. *Why:*
//!   only 9 of 21 patients kept answering through a 6-month therapy in one
//!   study; a policy that loses people must not look good for it.
//! - **Risk episodes.** Onset more likely at low well-being, lowering it while
//!   they last; an answered assessment shows a flag with probability
//!   `detection` (a skipped one shows nothing); a done safety intervention
//!   shortens the episode. *Why:* the safety path must hold, and missed risk
//!   under missing data is a real failure mode worth counting.
//!
//! # Decisions and measures
//! At each decision occasion the runner draws the situation, computes the
//! truth (each kernel's follow-through probability and true expected lasting
//! gain, and the same gain with the population's response in place of the
//! person's multipliers), asks the policy, and records: regret (best allowed
//! expected gain minus the chosen one's, never negative), the chosen, best
//! and mean allowed gain (the last is what a uniformly random allowed choice
//! gets in expectation), follow-through, safety-rule violations (a flag
//! without a safety intervention), contraindicated choices, and missed risk.
//! The outcome is true well-being (its level) at the horizon minus at the
//! start, for everyone who started (drop-outs included).
//!
//! The headline is the **captured share**, `(sum chosen - sum random) / (sum
//! best - sum random)` over decisions (per week for the learning curve): 0
//! for a random policy in expectation, 1 for the oracle. The oracle maximises
//! the true expected gain (myopically; an aid's value includes an
//! approximation of its carry-over), so it is the ceiling for regret, not a
//! planner. The map oracle maximises the gain with the population's response
//! ([`GroundTruth::map_expected_gain`]): what knowing the person's map, but
//! not their individual responses, is worth. The population oracle knows the
//! same of the world but only the average person's map
//! ([`GroundTruth::population_expected_gain`], estimated over 400 people drawn
//! apart from the run's): the most that learning from other people can give.
//! The map-posterior oracle knows what the population oracle knows, and of
//! the person's map only its posterior mean from their well-being measures
//! so far, read against their true poles
//! ([`GroundTruth::map_posterior_expected_gain`]): the most reading the map
//! from ratings can give. Only these four may read [`GroundTruth`]. Regret is an expected-value gap in lasting well-being
//! points; the outcome improvement is what actually happened.
//!
//! # Calibration, roughly
//! With the defaults (weekly measurement), 24 weeks of a random
//! evidence-based kernel a week give about +13 well-being points (about 3.5
//! PHQ-9 points), a fixed CBT-like protocol a little more, the oracle about
//! +45; a quarter to a third of people drop out. On `individual` (daily
//! ratings, sparse personal maps) the structured learner captures about a
//! fifth of what the oracle gains over random, the map oracle about half
//! (`docs/benchmarks.md`, "Simulator: captured share"). These are sanity
//! anchors, not estimates: use the scenarios to ask how conclusions change
//! with the world, not what the world is.

pub mod baselines;
pub mod engine_policy;
mod person;
pub mod policy;
pub mod report;
pub mod runner;
pub mod scenario;
mod world;

#[cfg(test)]
mod tests;

pub use baselines::{
    EpsilonGreedy, FixedProtocol, LinUcb, MapOracle, MapPosteriorOracle, Oracle, PopulationOracle,
    Random, StructuredLearner,
};
pub use engine_policy::{ClinicPool, EnginePolicy};
pub use policy::{GroundTruth, Intake, PersonView, Policy};
pub use report::{
    Estimate, Metrics, PolicySummary, SimReport, Summary, paired_difference, summarise,
};
pub use runner::{Simulation, run};
pub use scenario::{CLOCK_SQUEEZE, Clock, Scenario};

use crate::catalog::{InterventionCatalog, ProcessCatalog};
use crate::error::Result;

/// The random generator handed to policies (and used throughout the simulator).
pub type SimRng = rand_chacha::ChaCha8Rng;

/// The catalogues a simulation runs on; use the same ones as the engine under
/// test, so intervention ids agree.
#[derive(Debug, Clone)]
pub struct Catalogs {
    /// Processes (their poles are the latent variables).
    pub processes: ProcessCatalog,
    /// Interventions (the actions).
    pub interventions: InterventionCatalog,
}

impl Catalogs {
    /// The built-in catalogues.
    pub fn builtin() -> Result<Self> {
        let processes = ProcessCatalog::builtin();
        let interventions = InterventionCatalog::builtin(&processes)?;
        Ok(Self {
            processes,
            interventions,
        })
    }

    /// The catalogues an engine uses.
    pub fn of(engine: &crate::Engine) -> Self {
        Self {
            processes: engine.processes().clone(),
            interventions: engine.interventions().clone(),
        }
    }
}

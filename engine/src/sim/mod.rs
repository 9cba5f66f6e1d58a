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
//! - [`baselines`]: [`Random`], [`FixedProtocol`], [`EpsilonGreedy`], [`LinUcb`], [`Oracle`].
//! - [`engine_policy`]: [`EnginePolicy`], the real [`crate::Engine`] behind the trait.
//! - [`runner`]: [`Simulation`], [`run`]; random streams per person.
//! - [`report`]: [`SimReport`], [`Metrics`], [`summarise`], [`paired_difference`].
//!
//! # The generative model
//! Time moves in ticks, one per assessment occasion (`assessments_per_week`
//! per week); all parameters are stated per week and converted, so cadence
//! changes measurement, not people. Each person has, as ground truth:
//!
//! - **Latent processes.** Both poles of every catalogue process (adaptive and
//!   maladaptive are distinct signals, as in the PBAT), 0-100, starting near
//!   the catalogue's priors. One severity factor moves the starting processes
//!   and well-being together, so worse processes go with lower well-being.
//! - **A person-specific lagged network** (VAR(1)): `x' = c + A x + load +
//!   noise`. `A` has each pole's persistence, a negative coupling between the
//!   two poles of a process, and sparse cross-edges: the population's edges
//!   perturbed plus idiosyncratic ones (`network_heterogeneity`). Rows are
//!   scaled so the network is always stable. *Why:* idiographic work finds
//!   that how processes drive each other differs between people (domain brief
//!   section 3), and the engine claims to learn exactly this.
//! - **Well-being** follows the processes with a lag: `w' = a w + (1 - a)
//!   (w0 + beta . (x - x0)) + noise`, with person-specific loadings `beta`
//!   (lognormal around an uneven population profile, occasionally of the
//!   unexpected sign). *Why:* the processes that matter differ between people,
//!   sometimes in direction (Sanford et al. 2022 found almost no group-level
//!   paths); a policy that helps the processes that do not matter for *this*
//!   person should not score.
//! - **True intervention effects.** A done kernel pushes the poles it targets
//!   (catalogue weights; the adaptive pole up, the maladaptive one down by a
//!   person-specific share), scaled by headroom (a pole near its bound has
//!   little room) and by a person x kernel multiplier: per kernel family, a
//!   person is a responder (lognormal size, mostly shared within the family),
//!   a non-responder, or someone the family backfires for; contraindicated
//!   kernels harm people with the condition. The catalogue's `prior_effect`
//!   is calibrated to be the *average* person's lasting gain, then the
//!   population's true mean is drawn around it (`catalog_miscalibration_sd`):
//!   the evidence comes from other people. *Why:* averages hide subgroups with
//!   negative effects; a simulator where everyone responds like the mean makes
//!   personalisation look pointless and exploration free.
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
//! - **Measurement.** Ratings are latent + noise, rounded, clamped, some
//!   items blank; outcome instruments (PHQ-9, single-item well-being, ... as
//!   configured) are generated from latent well-being on their own scales.
//!   Whole assessments are skipped with a probability that rises with burden
//!   (assessments already answered), load, low well-being and crises.
//!   Feedback is sent more often after a done exercise than a skipped one
//!   (missing not at random), helpfulness = felt gain + rating bias + noise,
//!   and some feedback carries noisy ratings of the targeted processes taken
//!   after the exercise (`post_ratings`).
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
//! gain), asks the policy, and records: regret (best allowed expected gain
//! minus the chosen one's, never negative), follow-through, safety-rule
//! violations (a flag without a safety intervention), contraindicated
//! choices, and missed risk. The outcome is true well-being at the horizon
//! minus at the start, for everyone who started (drop-outs included).
//!
//! The oracle maximises that true expected gain (myopically; an aid's value
//! includes an approximation of its carry-over), so it is the ceiling for
//! regret, not a planner. Regret is an expected-value gap in lasting
//! well-being points; the outcome improvement is what actually happened.
//!
//! # Calibration, roughly
//! With the defaults, 26 weeks of a random evidence-based kernel a week give
//! about +13 well-being points (about 3.5 PHQ-9 points), a fixed CBT-like
//! protocol a little more, the oracle about +37; a quarter of people drop out,
//! a sixth of assessments are missing, 4% deteriorate by 10+ points. These
//! are sanity anchors, not estimates: use the scenarios to ask how
//! conclusions change with the world, not what the world is.

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

pub use baselines::{EpsilonGreedy, FixedProtocol, LinUcb, Oracle, Random};
pub use engine_policy::EnginePolicy;
pub use policy::{GroundTruth, Intake, PersonView, Policy};
pub use report::{
    Estimate, Metrics, PolicySummary, SimReport, Summary, paired_difference, summarise,
};
pub use runner::{Simulation, run};
pub use scenario::Scenario;

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

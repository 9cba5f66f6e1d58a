//! Scenario configuration: every parameter of the generative model, with
//! documented defaults, loaded from TOML (`deny_unknown_fields`, so a typo is an
//! error rather than a silently ignored knob).
//!
//! The defaults describe a plausible outpatient population on weekly
//! measurement; the named scenarios in `data/scenarios/*.toml` (compiled into
//! the crate) override only what makes them different. All rates and dynamics
//! are stated per **week**; the simulator converts them to its tick (one
//! assessment occasion), so changing `assessments_per_week` changes how often
//! people are measured, not how fast they change.

use crate::catalog::Condition;
use crate::error::{EngineError, Result};
use crate::ids::Timestamp;
use crate::observe::Instrument;
use serde::{Deserialize, Serialize};

/// A named simulation scenario: population, measurement and every part of the
/// generative model. See the module docs of [`crate::sim`] for the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// Short name, e.g. `homogeneous`.
    pub name: String,
    /// One or two sentences on what the scenario is for.
    pub description: String,
    /// Default number of simulated people (callers may override).
    pub people: usize,
    /// Default number of weeks (callers may override).
    pub weeks: u32,
    /// How and how often people are measured and asked.
    pub measurement: Measurement,
    /// Missing assessments and feedback.
    pub missing: Missingness,
    /// Latent process network and well-being.
    pub dynamics: Dynamics,
    /// True responses to interventions.
    pub response: Response,
    /// Whether people do what is suggested.
    pub follow_through: FollowThrough,
    /// Time-varying life load (rent, deadlines, children, conflict).
    pub life_load: LifeLoad,
    /// Leaving care early.
    pub dropout: Dropout,
    /// Acute risk episodes.
    pub risk: Risk,
    /// Standing conditions and their prevalence (contraindication matching).
    pub conditions: Vec<ConditionShare>,
}

/// Measurement cadence, noise and instruments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Measurement {
    /// Assessment occasions per week (1 = weekly PBAT, 7 = daily sampling), 1-14.
    /// One occasion is one simulator tick.
    pub assessments_per_week: u32,
    /// Decisions (recommendations) per week, 1..=`assessments_per_week`; they
    /// are spread evenly over the week's occasions.
    pub decisions_per_week: u32,
    /// Standard deviation of a process rating around its latent level (0-100
    /// scale). Single items are noisy; ~8 points matches typical retest error.
    pub rating_noise_sd: f64,
    /// Outcome instruments generated from latent well-being.
    pub outcomes: Vec<OutcomeSpec>,
    /// Share of decisions whose context tells how many minutes the person has.
    pub minutes_known: f64,
    /// Share of decisions made in a session with the clinician (the rest are
    /// between sessions).
    pub in_session_share: f64,
    /// Share of feedback messages on a done exercise that include ratings of
    /// its targeted processes taken right after it (as an app asks "how is
    /// this now?"); they show the immediate change, with rating noise.
    pub post_ratings: f64,
    /// The clock on the timestamps the policy is given (the truth always runs
    /// on the simulated days).
    pub clock: Clock,
    /// Share of decisions whose context reports the person's capacity now
    /// (`Context::capacity`, 0-100, 50 typical), as a platform with a daily
    /// check-in item on stress or load would: `50 - 20 x` the person's life
    /// load (in sd units) plus noise. 0 by default: most platforms send none.
    pub capacity_known: f64,
    /// Sd of the reported capacity around that (0-100 scale).
    pub capacity_noise_sd: f64,
    /// Minutes between an occasion's process ratings and its outcome
    /// measures when they are sent as two assessments (negative: the
    /// outcomes first), as platforms do whose questionnaires and check-ins
    /// are separate instruments, or arrive as separate FHIR resources; 0
    /// (the default) sends them together. At most 12 hours either way.
    pub outcomes_apart_minutes: f64,
    /// Rankings the platform asks for at each decision, a minute apart,
    /// acting on the last (1-5; 1 by default). *Why:* platforms ask again
    /// when a page is reloaded or the app reopened before the person picks;
    /// the answer may differ (exploration draws again, dose limits count
    /// what was shown), and that must not cost the person a good choice.
    #[serde(default = "one")]
    pub recommend_calls: u32,
}

/// How the caller stamps what it sends, as platforms driving the API do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// Every event on its simulated day.
    #[default]
    Real,
    /// Weeks of care replayed in seconds: every timestamp squeezed
    /// [`CLOCK_SQUEEZE`]-fold (a platform backfilling history, or a
    /// simulation driving the API faster than real time).
    Squeezed,
    /// Ratings on their days, but decisions and feedback stamped by a wall
    /// clock that runs fast, long after them (a caller that backdates
    /// assessments and leaves `request_time` and `observe_time` to the server).
    ServerStamped,
}

/// How many times faster than real time a squeezed clock runs.
pub const CLOCK_SQUEEZE: f64 = 1e5;

impl Clock {
    /// What the policy sees for an event at real time `at` that started at
    /// `origin`: an assessment (`decision = false`), or a decision or
    /// feedback (`decision = true`).
    pub fn stamp(self, origin: Timestamp, at: Timestamp, decision: bool) -> Timestamp {
        let squeezed = || Timestamp(origin.0 + ((at.0 - origin.0) as f64 / CLOCK_SQUEEZE) as i64);
        match (self, decision) {
            (Self::Real, _) | (Self::ServerStamped, false) => at,
            (Self::Squeezed, _) => squeezed(),
            // A year after the care began, running fast from there.
            (Self::ServerStamped, true) => squeezed().plus_days(400.0),
        }
    }
}

/// One outcome instrument in the assessments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeSpec {
    /// The instrument.
    pub instrument: Instrument,
    /// Given at every `every`-th assessment occasion (1 = each one).
    #[serde(default = "one")]
    pub every: u32,
    /// Noise sd in the instrument's own units (e.g. ~2.5 PHQ-9 points).
    pub noise_sd: f64,
    /// How far this instrument reads from the true well-being, in points of
    /// the common 0-100 scale (negative: it reads worse). *Why:* real
    /// instruments disagree (a PHQ-9 and a single well-being item put the
    /// same person at different places), and a platform sends them as they
    /// are; the engine must not mistake the weekly questionnaire's arrival
    /// for a change in the person.
    #[serde(default)]
    pub bias: f64,
}

fn one() -> u32 {
    1
}

/// Missing data: burden, life load, low mood and crises make people skip
/// assessments; feedback is missing more often when the person did not do the
/// exercise (missing not at random, as in real platforms).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Missingness {
    /// Probability an assessment is skipped at the start, for a typical person.
    pub assessment_base: f64,
    /// Log-odds added per 26 assessments already answered (response fatigue).
    pub burden: f64,
    /// Log-odds added per unit of life load.
    pub life_load: f64,
    /// Log-odds added per 20 well-being points below 50.
    pub low_wellbeing: f64,
    /// Log-odds added during a risk episode.
    pub in_risk: f64,
    /// Between-person sd of the log-odds (some people always answer).
    pub person_sd: f64,
    /// Probability a single pole rating is left blank in an answered assessment.
    pub item: f64,
    /// Probability feedback is sent when the person did the exercise.
    pub feedback_done: f64,
    /// Probability feedback is sent when they did not.
    pub feedback_not_done: f64,
    /// Probability a helpfulness rating is included in feedback on a done exercise.
    pub helpfulness: f64,
}

/// The latent process network and well-being.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Dynamics {
    /// Weekly autoregression of each pole (how much of this week's deviation remains next week).
    pub persistence: f64,
    /// Between-person sd of `persistence`.
    pub persistence_sd: f64,
    /// Lagged cross-edges per pole in the population network.
    pub edges_per_pole: u32,
    /// Sd of a cross-edge coefficient.
    pub edge_sd: f64,
    /// Lag effect of a process's maladaptive pole on its adaptive pole and vice
    /// versa (negative coupling; the poles are distinct but related signals).
    pub pole_coupling: f64,
    /// How person-specific the network is: 0 = everyone has the population
    /// network; 1 = edges perturbed by their full sd and one idiosyncratic edge
    /// per pole.
    pub network_heterogeneity: f64,
    /// Weekly innovation sd of each pole (0-100 scale).
    pub innovation_sd: f64,
    /// Sd of each pole's momentary state around its level at a daily
    /// occasion (the day's mood, last night's sleep, a quarrel): it moves
    /// well-being at the same occasion through the person's map, then passes
    /// without trace (it does not carry over and interventions do not move
    /// it). A "past week" rating averages seven days, so at weekly cadence
    /// it is `state_sd / sqrt(7)`. *Why:* in experience sampling most of a
    /// process's variation is day to day, and it is what reveals a person's
    /// contemporaneous map.
    pub state_sd: f64,
    /// Weekly persistence of well-being's own residual (the part the
    /// processes do not explain), an AR(1).
    pub wellbeing_persistence: f64,
    /// Weekly innovation sd of well-being's residual.
    pub wellbeing_noise_sd: f64,
    /// How well-being follows the processes: 0 = contemporaneously (at each
    /// occasion, `w = base + sum loading x (pole - set point) + residual`);
    /// 1 = with a lag (the implied level is approached with
    /// `wellbeing_persistence`, the simulator's behaviour before issue 7);
    /// in between, a mix of the two.
    pub outcome_lag_share: f64,
    /// Mean absolute well-being points per process point, per pole, summed
    /// over the person's map: the loadings are scaled so that the expected
    /// total over all poles is `2 x processes x outcome_loading` whatever
    /// the map's density.
    pub outcome_loading: f64,
    /// Probability that a process is a *driver* of a person's well-being (at
    /// least one per person); scaled per process by the population's
    /// relevance, so some processes drive more people than others. 1 = every
    /// process matters for everyone.
    pub map_density: f64,
    /// How personal the map is: for each process, the probability that a
    /// person draws their own place in the map (driver or not, which pole,
    /// reversed or not) rather than sharing the population's. 0 = everyone
    /// has the same map (up to `loading_heterogeneity`).
    pub map_heterogeneity: f64,
    /// Loading of a non-driver pole relative to a driver's (it still
    /// correlates a little with well-being).
    pub nondriver_loading: f64,
    /// Probability that only one pole of a driver process matters (the other
    /// gets the non-driver loading): for some people it is the absence of
    /// the adaptive behaviour that hurts, for others the presence of the
    /// maladaptive one.
    pub single_pole_share: f64,
    /// Unevenness of the population's average loadings across poles (log sd).
    pub population_loading_sd: f64,
    /// Between-person log sd of loadings (which processes matter for *this* person).
    pub loading_heterogeneity: f64,
    /// Probability that a process's loadings have the unexpected sign for a
    /// person (both poles reversed: more of the "adaptive" pole goes with
    /// lower well-being for them).
    pub loading_sign_flip: f64,
    /// Mean starting well-being (0-100; ~40 is a moderately depressed clinical sample).
    pub baseline_wellbeing_mean: f64,
    /// Between-person sd of starting well-being.
    pub baseline_wellbeing_sd: f64,
    /// How strongly one severity factor drives both the starting processes and
    /// well-being (0-1).
    pub severity_coupling: f64,
    /// Mean share of an intervention's immediate effect that lasts (learning).
    pub retention: f64,
    /// Between-person sd of `retention`.
    pub retention_sd: f64,
    /// Weekly share of learned change that is lost again (relapse).
    pub forgetting: f64,
}

/// True responses to interventions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Response {
    /// Multiplies every true effect per dose. Kernel pushes are scaled once,
    /// globally, so that the average person's lasting gain from one dose,
    /// averaged over the catalogue, equals the catalogue's mean
    /// `prior_effect` (an exercise done about weekly); a daily
    /// micro-decision should carry less (set ~0.25 with daily decisions).
    pub effect_scale: f64,
    /// Correlation (on the log scale, across kernels) between a kernel's true
    /// push size on its processes and the catalogue's `prior_effect`: 0 = the
    /// catalogue's ranking of sizes says nothing, 1 = sizes follow it
    /// exactly (up to `effect_size_sd`). The catalogue is evidence from other
    /// people, not the truth.
    pub effect_prior_correlation: f64,
    /// Log sd of true push sizes across kernels.
    pub effect_size_sd: f64,
    /// Log sd of the error on each catalogue target weight (the true weights
    /// are the catalogue's times a lognormal factor, renormalised).
    pub target_weight_error: f64,
    /// Probability that a kernel also moves one process the catalogue does
    /// not list for it, with a weight drawn from U(0.2, 0.6) before
    /// renormalising.
    pub hidden_target_share: f64,
    /// Log sd of a person's response multiplier among responders.
    pub heterogeneity_sd: f64,
    /// Share of that variance shared within a kernel family (a person who
    /// responds to one defusion exercise tends to respond to the others).
    pub family_share: f64,
    /// Share of person x family pairs with essentially no response.
    pub null_share: f64,
    /// Share of person x family pairs for whom the family backfires.
    pub backfire_share: f64,
    /// Mean size of a backfire relative to the typical benefit.
    pub backfire_size: f64,
    /// Response multiplier (negative = harm) of a contraindicated kernel in a
    /// person with the condition.
    pub contraindicated_harm: f64,
    /// Mean habituation rate: the effect is multiplied by `exp(-rate * recent doses)`.
    pub habituation: f64,
    /// Between-person sd of the habituation rate.
    pub habituation_sd: f64,
    /// Half-life (weeks) of the memory of recent doses.
    pub habituation_half_life_weeks: f64,
    /// Weight of doses of other kernels of the same family in habituation.
    pub family_habituation: f64,
    /// Helpfulness points (0-100) per well-being point the person felt.
    pub helpfulness_per_point: f64,
    /// Noise sd of a helpfulness rating.
    pub helpfulness_noise_sd: f64,
    /// Between-person sd of rating bias (some people rate everything high).
    pub helpfulness_bias_sd: f64,
}

/// Follow-through: the probability of doing the suggestion now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FollowThrough {
    /// Probability for a typical person, typical load, effort equal to the
    /// minutes they have.
    pub base: f64,
    /// Between-person sd of the log-odds.
    pub base_sd: f64,
    /// Log-odds lost per unit of log(effort / minutes available) beyond them.
    pub effort_sensitivity: f64,
    /// Between-person sd of `effort_sensitivity`.
    pub effort_sensitivity_sd: f64,
    /// Median minutes a person has for an exercise.
    pub minutes_median: f64,
    /// Between-person log sd of minutes.
    pub minutes_between_sd: f64,
    /// Decision-to-decision log sd of minutes.
    pub minutes_within_sd: f64,
    /// Log-minutes lost per unit of life load.
    pub load_minutes: f64,
    /// Log-odds lost per unit of life load.
    pub load_sensitivity: f64,
    /// Log-odds gained from past success (self-efficacy from 0 to 1 moves the
    /// log-odds by this much).
    pub success_sensitivity: f64,
    /// Log-odds gained when the decision is made in a session.
    pub in_session_bonus: f64,
    /// Log-odds lost by a clinician-led or in-session kernel outside a session.
    pub out_of_session_penalty: f64,
    /// Log-odds gained by follow-through aids (micro-versions, if-then plans).
    pub aid_bonus: f64,
    /// Log-odds gained by a kernel the person has done before.
    pub familiarity_bonus: f64,
    /// Log-odds added to *later* exercises after a follow-through aid (an
    /// if-then plan, a two-minute start) was done; it fades with
    /// `aid_half_life_weeks` and is capped at twice this value. 0 makes aids
    /// worth only their own small effect (a sceptical world).
    pub aid_carryover: f64,
    /// Half-life of the aid carry-over, in weeks.
    pub aid_half_life_weeks: f64,
    /// Probability that doing it means doing it partly (half the dose).
    pub partly_share: f64,
}

/// Life load: an AR(1) per person with occasional shocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LifeLoad {
    /// Population mean load (0 = typical).
    pub mean: f64,
    /// Between-person sd of a person's mean load.
    pub between_sd: f64,
    /// Weekly persistence of load around the person's mean.
    pub persistence: f64,
    /// Weekly innovation sd.
    pub noise_sd: f64,
    /// Weekly probability of a life event (deadline, eviction notice, illness).
    pub event_rate: f64,
    /// Size of a life event in load units.
    pub event_size: f64,
    /// Process points pushed toward the maladaptive side per unit of load.
    pub process_effect: f64,
}

/// Drop-out: a weekly hazard that rises when the person is not improving, is
/// not following through, or is measured heavily.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Dropout {
    /// Weekly hazard for a typical person who is improving and engaged.
    pub weekly_hazard: f64,
    /// Log-hazard per 10 well-being points short of 3 points improvement.
    pub not_improving: f64,
    /// Log-hazard per unit of (0.5 - recent follow-through) x 2.
    pub low_follow_through: f64,
    /// Log-hazard per log(assessments per week) (measurement burden).
    pub burden: f64,
    /// Between-person sd of the log-hazard.
    pub person_sd: f64,
    /// Weeks before not improving counts.
    pub grace_weeks: u32,
}

/// Acute risk episodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Risk {
    /// Weekly onset hazard for a typical person at well-being 40.
    pub weekly_rate: f64,
    /// Log-hazard per 10 well-being points below 40.
    pub low_wellbeing: f64,
    /// Between-person sd of the log-hazard.
    pub person_sd: f64,
    /// Mean episode length in weeks without safety work.
    pub mean_duration_weeks: f64,
    /// Probability an answered assessment during an episode carries a flag.
    pub detection: f64,
    /// Well-being points lost while an episode lasts.
    pub wellbeing_drop: f64,
    /// Added weekly probability the episode ends when a safety intervention was done.
    pub safety_resolution: f64,
}

/// Prevalence of one standing condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionShare {
    /// The condition.
    pub condition: Condition,
    /// Share of people who have it.
    pub share: f64,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            name: "default".into(),
            description: "A plausible outpatient population on weekly measurement.".into(),
            people: 1000,
            weeks: 26,
            measurement: Measurement::default(),
            missing: Missingness::default(),
            dynamics: Dynamics::default(),
            response: Response::default(),
            follow_through: FollowThrough::default(),
            life_load: LifeLoad::default(),
            dropout: Dropout::default(),
            risk: Risk::default(),
            conditions: default_conditions(),
        }
    }
}

/// Rough clinical-sample prevalences; what matters is that contraindications
/// bite for a realistic minority.
fn default_conditions() -> Vec<ConditionShare> {
    [
        (Condition::TraumaHistory, 0.30),
        (Condition::Dissociation, 0.05),
        (Condition::PsychosisHistory, 0.03),
        (Condition::Bipolar, 0.04),
        (Condition::Seizures, 0.01),
        (Condition::Cardiac, 0.03),
        (Condition::Respiratory, 0.05),
        (Condition::Pregnancy, 0.02),
        (Condition::UnstableMedical, 0.02),
        (Condition::DrowsyDrivingRisk, 0.05),
        (Condition::ExerciseRestriction, 0.05),
    ]
    .into_iter()
    .map(|(condition, share)| ConditionShare { condition, share })
    .collect()
}

impl Default for Measurement {
    fn default() -> Self {
        Self {
            assessments_per_week: 1,
            decisions_per_week: 1,
            rating_noise_sd: 8.0,
            outcomes: vec![
                OutcomeSpec {
                    instrument: Instrument::Phq9,
                    every: 1,
                    noise_sd: 2.5,
                    bias: 0.0,
                },
                OutcomeSpec {
                    instrument: Instrument::Wellbeing,
                    every: 1,
                    noise_sd: 10.0,
                    bias: 0.0,
                },
            ],
            minutes_known: 0.8,
            in_session_share: 0.25,
            post_ratings: 0.5,
            clock: Clock::Real,
            capacity_known: 0.0,
            capacity_noise_sd: 10.0,
            outcomes_apart_minutes: 0.0,
            recommend_calls: 1,
        }
    }
}

impl Default for Missingness {
    fn default() -> Self {
        Self {
            assessment_base: 0.10,
            burden: 0.8,
            life_load: 0.4,
            low_wellbeing: 0.3,
            in_risk: 0.7,
            person_sd: 0.8,
            item: 0.03,
            feedback_done: 0.85,
            feedback_not_done: 0.5,
            helpfulness: 0.9,
        }
    }
}

impl Default for Dynamics {
    fn default() -> Self {
        Self {
            persistence: 0.5,
            persistence_sd: 0.1,
            edges_per_pole: 2,
            edge_sd: 0.12,
            pole_coupling: 0.15,
            network_heterogeneity: 0.5,
            innovation_sd: 5.0,
            state_sd: 12.0,
            wellbeing_persistence: 0.5,
            wellbeing_noise_sd: 3.0,
            outcome_lag_share: 0.0,
            outcome_loading: 0.1,
            map_density: 0.5,
            map_heterogeneity: 1.0,
            nondriver_loading: 0.1,
            single_pole_share: 0.25,
            population_loading_sd: 0.4,
            loading_heterogeneity: 0.6,
            loading_sign_flip: 0.04,
            baseline_wellbeing_mean: 40.0,
            baseline_wellbeing_sd: 12.0,
            severity_coupling: 0.5,
            retention: 0.5,
            retention_sd: 0.15,
            forgetting: 0.01,
        }
    }
}

impl Default for Response {
    fn default() -> Self {
        Self {
            effect_scale: 1.0,
            effect_prior_correlation: 0.25,
            effect_size_sd: 0.35,
            target_weight_error: 0.3,
            hidden_target_share: 0.2,
            heterogeneity_sd: 0.5,
            family_share: 0.7,
            null_share: 0.15,
            backfire_share: 0.08,
            backfire_size: 0.5,
            contraindicated_harm: 1.0,
            habituation: 0.3,
            habituation_sd: 0.1,
            habituation_half_life_weeks: 2.0,
            family_habituation: 0.5,
            helpfulness_per_point: 5.0,
            helpfulness_noise_sd: 15.0,
            helpfulness_bias_sd: 10.0,
        }
    }
}

impl Default for FollowThrough {
    fn default() -> Self {
        Self {
            base: 0.6,
            base_sd: 0.8,
            effort_sensitivity: 1.0,
            effort_sensitivity_sd: 0.3,
            minutes_median: 20.0,
            minutes_between_sd: 0.5,
            minutes_within_sd: 0.5,
            load_minutes: 0.3,
            load_sensitivity: 0.5,
            success_sensitivity: 1.0,
            in_session_bonus: 1.0,
            out_of_session_penalty: 2.5,
            aid_bonus: 0.5,
            familiarity_bonus: 0.3,
            aid_carryover: 0.6,
            aid_half_life_weeks: 2.0,
            partly_share: 0.25,
        }
    }
}

impl Default for LifeLoad {
    fn default() -> Self {
        Self {
            mean: 0.0,
            between_sd: 0.5,
            persistence: 0.8,
            noise_sd: 0.25,
            event_rate: 0.04,
            event_size: 1.5,
            process_effect: 4.0,
        }
    }
}

impl Default for Dropout {
    fn default() -> Self {
        Self {
            weekly_hazard: 0.01,
            not_improving: 0.8,
            low_follow_through: 0.8,
            burden: 0.3,
            person_sd: 0.5,
            grace_weeks: 3,
        }
    }
}

impl Default for Risk {
    fn default() -> Self {
        Self {
            weekly_rate: 0.003,
            low_wellbeing: 0.5,
            person_sd: 1.0,
            mean_duration_weeks: 2.0,
            detection: 0.85,
            wellbeing_drop: 8.0,
            safety_resolution: 0.5,
        }
    }
}

/// Scenarios shipped with the crate, by name.
const NAMED: &[(&str, &str)] = &[
    ("default", include_str!("../../data/scenarios/default.toml")),
    (
        "homogeneous",
        include_str!("../../data/scenarios/homogeneous.toml"),
    ),
    (
        "individual",
        include_str!("../../data/scenarios/individual.toml"),
    ),
    (
        "low_follow_through",
        include_str!("../../data/scenarios/low_follow_through.toml"),
    ),
    (
        "risk_episodes",
        include_str!("../../data/scenarios/risk_episodes.toml"),
    ),
    (
        "daily_sampling",
        include_str!("../../data/scenarios/daily_sampling.toml"),
    ),
];

/// Old names that still load a shipped scenario (alias, name).
const ALIASES: &[(&str, &str)] = &[("highly_individual", "individual")];

impl Scenario {
    /// Names of the scenarios shipped with the crate.
    pub fn names() -> impl Iterator<Item = &'static str> {
        NAMED.iter().map(|(n, _)| *n)
    }

    /// A scenario shipped with the crate. `highly_individual`, its name
    /// before issue 7, is an alias of `individual`.
    pub fn named(name: &str) -> Result<Self> {
        let name = ALIASES
            .iter()
            .find(|(alias, _)| *alias == name)
            .map_or(name, |(_, to)| to);
        let (_, text) = NAMED.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            let known: Vec<&str> = Self::names().collect();
            EngineError::InvalidConfig(format!(
                "unknown scenario `{name}`; known: {}",
                known.join(", ")
            ))
        })?;
        Self::from_toml(text)
    }

    /// Parses and validates a scenario; fields left out keep their defaults.
    pub fn from_toml(text: &str) -> Result<Self> {
        let s: Scenario = toml::from_str(text)
            .map_err(|e| EngineError::InvalidConfig(format!("scenario: {e}")))?;
        s.validate()?;
        Ok(s)
    }

    /// Checks every parameter's range, so the generative model can trust them.
    pub fn validate(&self) -> Result<()> {
        let mut c = Checker {
            scenario: &self.name,
        };
        c.range("people", self.people as f64, 1.0, 10_000_000.0)?;
        c.range("weeks", f64::from(self.weeks), 1.0, 520.0)?;

        let m = &self.measurement;
        c.range(
            "measurement.assessments_per_week",
            f64::from(m.assessments_per_week),
            1.0,
            14.0,
        )?;
        c.range(
            "measurement.decisions_per_week",
            f64::from(m.decisions_per_week),
            1.0,
            f64::from(m.assessments_per_week),
        )?;
        c.range("measurement.rating_noise_sd", m.rating_noise_sd, 0.0, 50.0)?;
        c.prob("measurement.minutes_known", m.minutes_known)?;
        c.prob("measurement.in_session_share", m.in_session_share)?;
        c.prob("measurement.post_ratings", m.post_ratings)?;
        c.prob("measurement.capacity_known", m.capacity_known)?;
        c.range(
            "measurement.capacity_noise_sd",
            m.capacity_noise_sd,
            0.0,
            100.0,
        )?;
        c.range(
            "measurement.outcomes_apart_minutes",
            m.outcomes_apart_minutes,
            -720.0,
            720.0,
        )?;
        c.range(
            "measurement.recommend_calls",
            f64::from(m.recommend_calls),
            1.0,
            5.0,
        )?;
        for o in &m.outcomes {
            c.range(
                "measurement.outcomes.every",
                f64::from(o.every),
                1.0,
                1000.0,
            )?;
            let (lo, hi) = o.instrument.range();
            c.range("measurement.outcomes.noise_sd", o.noise_sd, 0.0, hi - lo)?;
            c.range("measurement.outcomes.bias", o.bias, -50.0, 50.0)?;
        }

        let x = &self.missing;
        c.prob("missing.assessment_base", x.assessment_base)?;
        c.range("missing.burden", x.burden, -10.0, 10.0)?;
        c.range("missing.life_load", x.life_load, -10.0, 10.0)?;
        c.range("missing.low_wellbeing", x.low_wellbeing, -10.0, 10.0)?;
        c.range("missing.in_risk", x.in_risk, -10.0, 10.0)?;
        c.range("missing.person_sd", x.person_sd, 0.0, 5.0)?;
        c.prob("missing.item", x.item)?;
        c.prob("missing.feedback_done", x.feedback_done)?;
        c.prob("missing.feedback_not_done", x.feedback_not_done)?;
        c.prob("missing.helpfulness", x.helpfulness)?;

        let d = &self.dynamics;
        c.range("dynamics.persistence", d.persistence, 0.0, 0.95)?;
        c.range("dynamics.persistence_sd", d.persistence_sd, 0.0, 0.5)?;
        c.range(
            "dynamics.edges_per_pole",
            f64::from(d.edges_per_pole),
            0.0,
            8.0,
        )?;
        c.range("dynamics.edge_sd", d.edge_sd, 0.0, 1.0)?;
        c.range("dynamics.pole_coupling", d.pole_coupling, 0.0, 0.9)?;
        c.prob("dynamics.network_heterogeneity", d.network_heterogeneity)?;
        c.range("dynamics.innovation_sd", d.innovation_sd, 0.0, 50.0)?;
        c.range("dynamics.state_sd", d.state_sd, 0.0, 50.0)?;
        c.range(
            "dynamics.wellbeing_persistence",
            d.wellbeing_persistence,
            0.0,
            0.99,
        )?;
        c.range(
            "dynamics.wellbeing_noise_sd",
            d.wellbeing_noise_sd,
            0.0,
            50.0,
        )?;
        c.prob("dynamics.outcome_lag_share", d.outcome_lag_share)?;
        c.range("dynamics.outcome_loading", d.outcome_loading, 0.0, 2.0)?;
        c.range("dynamics.map_density", d.map_density, 0.01, 1.0)?;
        c.prob("dynamics.map_heterogeneity", d.map_heterogeneity)?;
        c.prob("dynamics.nondriver_loading", d.nondriver_loading)?;
        c.prob("dynamics.single_pole_share", d.single_pole_share)?;
        c.range(
            "dynamics.population_loading_sd",
            d.population_loading_sd,
            0.0,
            3.0,
        )?;
        c.range(
            "dynamics.loading_heterogeneity",
            d.loading_heterogeneity,
            0.0,
            3.0,
        )?;
        c.prob("dynamics.loading_sign_flip", d.loading_sign_flip)?;
        c.range(
            "dynamics.baseline_wellbeing_mean",
            d.baseline_wellbeing_mean,
            0.0,
            100.0,
        )?;
        c.range(
            "dynamics.baseline_wellbeing_sd",
            d.baseline_wellbeing_sd,
            0.0,
            50.0,
        )?;
        c.prob("dynamics.severity_coupling", d.severity_coupling)?;
        c.range("dynamics.retention", d.retention, 0.01, 1.0)?;
        c.range("dynamics.retention_sd", d.retention_sd, 0.0, 0.5)?;
        c.prob("dynamics.forgetting", d.forgetting)?;

        let r = &self.response;
        c.range("response.effect_scale", r.effect_scale, 0.0, 10.0)?;
        c.prob(
            "response.effect_prior_correlation",
            r.effect_prior_correlation,
        )?;
        c.range("response.effect_size_sd", r.effect_size_sd, 0.0, 3.0)?;
        c.range(
            "response.target_weight_error",
            r.target_weight_error,
            0.0,
            3.0,
        )?;
        c.prob("response.hidden_target_share", r.hidden_target_share)?;
        c.range("response.heterogeneity_sd", r.heterogeneity_sd, 0.0, 3.0)?;
        c.prob("response.family_share", r.family_share)?;
        c.prob("response.null_share", r.null_share)?;
        c.prob("response.backfire_share", r.backfire_share)?;
        if r.null_share + r.backfire_share > 1.0 {
            return Err(c.err("response.null_share + response.backfire_share must be <= 1"));
        }
        c.range("response.backfire_size", r.backfire_size, 0.0, 5.0)?;
        c.range(
            "response.contraindicated_harm",
            r.contraindicated_harm,
            0.0,
            5.0,
        )?;
        c.range("response.habituation", r.habituation, 0.0, 5.0)?;
        c.range("response.habituation_sd", r.habituation_sd, 0.0, 5.0)?;
        c.range(
            "response.habituation_half_life_weeks",
            r.habituation_half_life_weeks,
            0.01,
            520.0,
        )?;
        c.prob("response.family_habituation", r.family_habituation)?;
        c.range(
            "response.helpfulness_per_point",
            r.helpfulness_per_point,
            0.0,
            100.0,
        )?;
        c.range(
            "response.helpfulness_noise_sd",
            r.helpfulness_noise_sd,
            0.0,
            100.0,
        )?;
        c.range(
            "response.helpfulness_bias_sd",
            r.helpfulness_bias_sd,
            0.0,
            100.0,
        )?;

        let f = &self.follow_through;
        c.prob_open("follow_through.base", f.base)?;
        c.range("follow_through.base_sd", f.base_sd, 0.0, 5.0)?;
        c.range(
            "follow_through.effort_sensitivity",
            f.effort_sensitivity,
            0.0,
            10.0,
        )?;
        c.range(
            "follow_through.effort_sensitivity_sd",
            f.effort_sensitivity_sd,
            0.0,
            5.0,
        )?;
        c.range(
            "follow_through.minutes_median",
            f.minutes_median,
            1.0,
            600.0,
        )?;
        c.range(
            "follow_through.minutes_between_sd",
            f.minutes_between_sd,
            0.0,
            3.0,
        )?;
        c.range(
            "follow_through.minutes_within_sd",
            f.minutes_within_sd,
            0.0,
            3.0,
        )?;
        c.range("follow_through.load_minutes", f.load_minutes, 0.0, 5.0)?;
        c.range(
            "follow_through.load_sensitivity",
            f.load_sensitivity,
            -10.0,
            10.0,
        )?;
        c.range(
            "follow_through.success_sensitivity",
            f.success_sensitivity,
            -10.0,
            10.0,
        )?;
        c.range(
            "follow_through.in_session_bonus",
            f.in_session_bonus,
            -10.0,
            10.0,
        )?;
        c.range(
            "follow_through.out_of_session_penalty",
            f.out_of_session_penalty,
            -10.0,
            10.0,
        )?;
        c.range("follow_through.aid_bonus", f.aid_bonus, -10.0, 10.0)?;
        c.range(
            "follow_through.familiarity_bonus",
            f.familiarity_bonus,
            -10.0,
            10.0,
        )?;
        c.range("follow_through.aid_carryover", f.aid_carryover, 0.0, 5.0)?;
        c.range(
            "follow_through.aid_half_life_weeks",
            f.aid_half_life_weeks,
            0.01,
            520.0,
        )?;
        c.prob("follow_through.partly_share", f.partly_share)?;

        let l = &self.life_load;
        c.range("life_load.mean", l.mean, -5.0, 5.0)?;
        c.range("life_load.between_sd", l.between_sd, 0.0, 5.0)?;
        c.range("life_load.persistence", l.persistence, 0.0, 0.99)?;
        c.range("life_load.noise_sd", l.noise_sd, 0.0, 5.0)?;
        c.prob("life_load.event_rate", l.event_rate)?;
        c.range("life_load.event_size", l.event_size, 0.0, 10.0)?;
        c.range("life_load.process_effect", l.process_effect, 0.0, 50.0)?;

        let o = &self.dropout;
        c.prob("dropout.weekly_hazard", o.weekly_hazard)?;
        c.range("dropout.not_improving", o.not_improving, -10.0, 10.0)?;
        c.range(
            "dropout.low_follow_through",
            o.low_follow_through,
            -10.0,
            10.0,
        )?;
        c.range("dropout.burden", o.burden, -10.0, 10.0)?;
        c.range("dropout.person_sd", o.person_sd, 0.0, 5.0)?;
        c.range("dropout.grace_weeks", f64::from(o.grace_weeks), 0.0, 520.0)?;

        let k = &self.risk;
        c.prob("risk.weekly_rate", k.weekly_rate)?;
        c.range("risk.low_wellbeing", k.low_wellbeing, -10.0, 10.0)?;
        c.range("risk.person_sd", k.person_sd, 0.0, 5.0)?;
        c.range(
            "risk.mean_duration_weeks",
            k.mean_duration_weeks,
            1.0,
            520.0,
        )?;
        c.prob("risk.detection", k.detection)?;
        c.range("risk.wellbeing_drop", k.wellbeing_drop, 0.0, 100.0)?;
        c.prob("risk.safety_resolution", k.safety_resolution)?;

        for (i, cs) in self.conditions.iter().enumerate() {
            c.prob("conditions.share", cs.share)?;
            if self.conditions[..i]
                .iter()
                .any(|o| o.condition == cs.condition)
            {
                return Err(c.err("conditions: a condition is listed twice"));
            }
        }
        Ok(())
    }
}

struct Checker<'a> {
    scenario: &'a str,
}

impl Checker<'_> {
    fn err(&self, msg: &str) -> EngineError {
        EngineError::InvalidConfig(format!("scenario `{}`: {msg}", self.scenario))
    }
    fn range(&mut self, name: &str, v: f64, lo: f64, hi: f64) -> Result<()> {
        if v.is_finite() && (lo..=hi).contains(&v) {
            Ok(())
        } else {
            Err(self.err(&format!("{name} must be in [{lo}, {hi}], got {v}")))
        }
    }
    fn prob(&mut self, name: &str, v: f64) -> Result<()> {
        self.range(name, v, 0.0, 1.0)
    }
    /// A probability that is turned into log-odds, so it must be strictly inside (0, 1).
    fn prob_open(&mut self, name: &str, v: f64) -> Result<()> {
        if v.is_finite() && v > 0.0 && v < 1.0 {
            Ok(())
        } else {
            Err(self.err(&format!("{name} must be in (0, 1), got {v}")))
        }
    }
}

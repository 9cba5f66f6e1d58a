//! What the engine is told about a person: assessments (process ratings, outcome
//! measures, risk flags) and feedback after an intervention. The server converts
//! wire messages into these after validating them; the engine re-checks only
//! what its maths depends on (finite, in range).

use crate::catalog::Condition;
use crate::ids::{InterventionId, ProcessId, Timestamp};
use serde::{Deserialize, Serialize};

/// One rating of one process; the poles are distinct signals, either may be missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rating {
    /// Process id.
    pub process: ProcessId,
    /// Adaptive pole, 0-100.
    pub adaptive: Option<f64>,
    /// Maladaptive pole, 0-100.
    pub maladaptive: Option<f64>,
}

/// A standardised outcome instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Instrument {
    /// PHQ-9 total, 0-27, higher is worse.
    Phq9,
    /// GAD-7 total, 0-21, higher is worse.
    Gad7,
    /// WHO-5 percentage, 0-100, higher is better.
    Who5,
    /// OQ-45 total, 0-180, higher is worse.
    Oq45,
    /// Single-item well-being, 0-100, higher is better.
    Wellbeing,
    /// Single-item distress, 0-100, higher is worse.
    Distress,
}

impl Instrument {
    /// The instrument's valid score range `(min, max)`.
    pub fn range(self) -> (f64, f64) {
        match self {
            Instrument::Phq9 => (0.0, 27.0),
            Instrument::Gad7 => (0.0, 21.0),
            Instrument::Who5 | Instrument::Wellbeing | Instrument::Distress => (0.0, 100.0),
            Instrument::Oq45 => (0.0, 180.0),
        }
    }

    /// Whether a higher score means the person is better.
    pub fn higher_is_better(self) -> bool {
        matches!(self, Instrument::Who5 | Instrument::Wellbeing)
    }

    /// The score on the common 0-100 well-being scale (higher is better).
    pub fn to_wellbeing(self, score: f64) -> f64 {
        let (lo, hi) = self.range();
        let unit = ((score - lo) / (hi - lo)).clamp(0.0, 1.0);
        if self.higher_is_better() {
            100.0 * unit
        } else {
            100.0 * (1.0 - unit)
        }
    }
}

/// One outcome score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// Instrument.
    pub instrument: Instrument,
    /// Raw score within the instrument's range.
    pub score: f64,
}

/// Acute risk seen in an assessment; any flag sends the person down the safety path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskFlag {
    /// Positive suicidality screen.
    Suicidality,
    /// Recent self-harm.
    SelfHarm,
    /// Crisis contact.
    CrisisContact,
    /// Active psychosis.
    Psychosis,
    /// Intoxication or withdrawal.
    Intoxication,
}

impl RiskFlag {
    /// The acute condition this flag implies for contraindication matching.
    pub fn condition(self) -> Condition {
        match self {
            RiskFlag::Suicidality | RiskFlag::SelfHarm | RiskFlag::CrisisContact => {
                Condition::AcuteSuicidality
            }
            RiskFlag::Psychosis => Condition::ActivePsychosis,
            RiskFlag::Intoxication => Condition::Intoxication,
        }
    }
}

/// One timestamped assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// When the person made the ratings.
    pub at: Timestamp,
    /// Process ratings, each process at most once.
    pub ratings: Vec<Rating>,
    /// Outcome scores, each instrument at most once.
    pub outcomes: Vec<Outcome>,
    /// Acute risk flags.
    pub risk_flags: Vec<RiskFlag>,
}

/// Whether the person did the intervention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Completion {
    /// Done fully.
    Done,
    /// Done in part.
    Partly,
    /// Not done.
    NotDone,
}

/// What the clinician did with a suggestion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClinicianDecision {
    /// Accepted.
    Accepted,
    /// Replaced by another intervention.
    Overridden {
        /// The intervention chosen instead, if given.
        replacement: Option<InterventionId>,
    },
    /// Rejected without replacement.
    Rejected,
}

/// Feedback on one recommended intervention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    /// The intervention the feedback is about.
    pub intervention: InterventionId,
    /// When it was observed.
    pub at: Timestamp,
    /// Whether the person did it (None when only the clinician reported).
    pub completion: Option<Completion>,
    /// Minutes spent.
    pub minutes_spent: Option<u32>,
    /// Helpfulness 0-100.
    pub helpfulness: Option<f64>,
    /// SUDS before, 0-100.
    pub distress_before: Option<f64>,
    /// SUDS after, 0-100.
    pub distress_after: Option<f64>,
    /// Process ratings after the intervention.
    pub post_ratings: Vec<Rating>,
    /// The clinician's decision, if reported.
    pub clinician: Option<ClinicianDecision>,
    /// The context the recommendation was made in (minutes available, setting).
    pub context: Context,
}

/// Where the next intervention would happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Setting {
    /// In a session with the clinician.
    InSession,
    /// Between sessions.
    BetweenSessions,
    /// A short moment in an app.
    App,
}

/// The situation a recommendation is for.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Context {
    /// Minutes the person has now, if known.
    pub minutes_available: Option<u32>,
    /// Where it would happen, if known.
    pub setting: Option<Setting>,
    /// How much room the person's life leaves now, 0-100 (50 typical), if
    /// the platform knows (a check-in item, a load score): low capacity makes
    /// any exercise less likely to happen.
    #[serde(default)]
    pub capacity: Option<f64>,
}

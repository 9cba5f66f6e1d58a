//! Ranking: expected benefit through the processes that matter for this person,
//! times the probability they follow through, with headroom, Thompson-sampling
//! exploration and logged propensities, diversity across processes, dose limits,
//! habituation, safety rules and explanations.

use crate::ids::{InterventionId, ProcessId, Timestamp};
use crate::observe::Context;
use serde::{Deserialize, Serialize};

/// What the caller asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecommendQuery {
    /// Number of items wanted (1-20).
    pub k: usize,
    /// The situation.
    pub context: Context,
    /// Interventions never to return.
    pub exclude: Vec<InterventionId>,
    /// Interventions that must appear first, in order (unless contraindicated now).
    pub pin: Vec<InterventionId>,
    /// The time the recommendation is for.
    pub now: Timestamp,
    /// Seed for exploration; same state, query and seed give the same ranking.
    pub seed: u64,
}

/// A mean with a 90% interval.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Interval {
    /// Posterior mean.
    pub mean: f64,
    /// 5th percentile.
    pub lower: f64,
    /// 95th percentile.
    pub upper: f64,
}

/// How much of an estimate rests on the person's own data.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Sufficiency {
    /// Observations of this person behind the estimate.
    pub observations: u32,
    /// Weight of own data against the prior, 0-1.
    pub own_weight: f64,
}

/// One targeted process in an explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetExplanation {
    /// Process id.
    pub process: ProcessId,
    /// Catalogue weight of the intervention on this process.
    pub weight: f64,
    /// Influence of the process on the person's outcome (well-being points per 10 points of the process).
    pub influence: Interval,
    /// Current adaptive level, if ever rated.
    pub adaptive_level: Option<f64>,
    /// Current maladaptive level, if ever rated.
    pub maladaptive_level: Option<f64>,
    /// Room left to improve, 0-1.
    pub headroom: f64,
}

/// One ranked item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankedItem {
    /// The intervention.
    pub intervention: InterventionId,
    /// Ranking score used (sampled when exploring).
    pub score: f64,
    /// Expected well-being gain if done (0-100 scale points).
    pub benefit: Interval,
    /// Probability of following through now.
    pub follow_through: Interval,
    /// Targeted processes with how they stand for this person.
    pub targets: Vec<TargetExplanation>,
    /// Probability the policy ranks this intervention first, 0-1.
    pub propensity: f64,
    /// Here because it was pinned.
    pub pinned: bool,
    /// A clinician must review or lead it first (safety path, contraindication review, clinician-led kernel).
    pub requires_clinician_review: bool,
    /// Drawn by exploration rather than being the greedy best.
    pub exploratory: bool,
    /// Builds on a strength rather than repairing a deficit.
    pub builds_on_strength: bool,
    /// Times recommended to this person before.
    pub times_recommended: u32,
    /// Times done (fully or partly).
    pub times_done: u32,
    /// Mean reported helpfulness, if any.
    pub mean_helpfulness: Option<f64>,
    /// What the benefit estimate rests on.
    pub sufficiency: Sufficiency,
    /// Plain-language rationale, readable in five seconds.
    pub summary: String,
}

/// The result of ranking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranking {
    /// Items, best first.
    pub items: Vec<RankedItem>,
    /// The top items cannot be told apart.
    pub indistinguishable: bool,
    /// A risk flag put the safety path first.
    pub safety_mode: bool,
    /// Exploration level actually used (0 in safety mode).
    pub exploration: f64,
    /// Plain-language note on the ranking as a whole.
    pub note: String,
}

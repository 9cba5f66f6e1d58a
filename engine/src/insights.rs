//! What a person's data show, for clinicians: which processes drive their
//! outcome, trends, follow-through, whether they are on track.

use crate::ids::ProcessId;
use crate::rank::{Interval, Sufficiency};
use serde::{Deserialize, Serialize};

/// One process in this person's data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessInsight {
    /// Process id.
    pub process: ProcessId,
    /// Latest smoothed adaptive level, if ever rated.
    pub adaptive_level: Option<f64>,
    /// Latest smoothed maladaptive level, if ever rated.
    pub maladaptive_level: Option<f64>,
    /// Adaptive trend, points per week.
    pub adaptive_trend: f64,
    /// Maladaptive trend, points per week.
    pub maladaptive_trend: f64,
    /// Lagged influence of the adaptive pole on well-being (per 10 points).
    pub adaptive_influence: Interval,
    /// Lagged influence of the maladaptive pole on well-being (per 10 points).
    pub maladaptive_influence: Interval,
    /// What the estimates rest on.
    pub sufficiency: Sufficiency,
}

/// One lagged edge of the network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    /// Source variable, e.g. `affect.adaptive` or `outcome`.
    pub source: String,
    /// Target variable at the next time point.
    pub target: String,
    /// Standardised coefficient with interval.
    pub weight: Interval,
}

/// Recovery-curve verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackStatus {
    /// Too few outcome measures.
    InsufficientData,
    /// At or above the expected curve.
    OnTrack,
    /// Clearly below the expected curve.
    NotOnTrack,
}

/// The person's trajectory against the expected one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Track {
    /// Verdict.
    pub status: TrackStatus,
    /// Weeks since the first outcome measure.
    pub weeks_in_care: f64,
    /// Expected well-being by now.
    pub expected_wellbeing: f64,
    /// Observed (smoothed) well-being now.
    pub observed_wellbeing: f64,
    /// Suggested review steps when not on track.
    pub suggested_steps: Vec<String>,
}

/// Follow-through so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowThrough {
    /// Recommendations with feedback.
    pub reported: u32,
    /// Done fully.
    pub done: u32,
    /// Done partly.
    pub partly: u32,
    /// Probability of following through on a typical intervention now.
    pub probability: Interval,
}

/// Everything the insights view shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Insights {
    /// Assessments the insights rest on.
    pub assessment_count: u32,
    /// Per-process insights, most influential first.
    pub processes: Vec<ProcessInsight>,
    /// Strongest lagged edges.
    pub edges: Vec<Edge>,
    /// Recovery tracking.
    pub track: Track,
    /// Follow-through.
    pub follow_through: FollowThrough,
    /// Latest assessment carried a risk flag.
    pub risk_active: bool,
    /// Plain-language summary.
    pub summary: String,
}

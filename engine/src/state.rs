//! [`PersonState`]: everything the engine remembers about one person, updated
//! incrementally and serialisable so the server can store it.
//!
//! The state is a forward filter: each assessment, recommendation and feedback
//! is folded in once, in `O(d^2)` or less, and nothing keeps the raw history
//! (the server stores the events; replaying them rebuilds the state). What it
//! holds and why:
//! - the variable layout (process ids in network order) it was built with, so
//!   a tenant's changed process set is detected instead of silently mixed;
//! - per variable: smoothed level (time-aware EWMA, half-life
//!   `level_half_life_days`, so daily and weekly schedules smooth alike) and a
//!   discounted least-squares trend on time (half-life `trend_half_life_days`),
//!   both `O(1)` per observation;
//! - the sufficient statistics of the person's process map
//!   ([`crate::map::MapStats`]), which ranking uses, and of the lagged network
//!   ([`crate::network::NetworkStats`]), which insights show, plus the complete
//!   vector of the latest assessment to pair with the next one;
//! - the outcome trajectory for not-on-track checks (first point, count, last few);
//! - per intervention, keyed by [`InterventionId`] (not catalogue position,
//!   because tenant catalogues change): recommendation and completion history
//!   for dose limits and habituation, the evidence of its benefit
//!   ([`ItemEvidence`]: raw sums, so a new population model reads old
//!   evidence on its own scales), the follow-through effect, helpfulness and
//!   clinician decisions;
//! - interventions awaiting the next outcome for the outcome-change signal;
//! - the risk flags of the latest assessment;
//! - a revision counter, bumped by every change that moves the person's
//!   posterior, and an optional cache of that posterior ([`PersonCache`]),
//!   tagged with the revision and model it was computed from, so ranking can
//!   skip the estimation (see `Engine::refresh`).
//!
//! [`STATE_FORMAT`] is written into every state; a state from an older engine
//! lacks it and does not decode, and the server rebuilds it from events.

use crate::catalog::{Condition, Intervention};
use crate::follow::{FollowState, LogitEffect};
use crate::ids::{InterventionId, ProcessId, Timestamp};
use crate::map::MapStats;
use crate::network::NetworkStats;
use crate::observe::RiskFlag;
use crate::stats::Gaussian;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the state's layout and meaning.
pub const STATE_FORMAT: u32 = 4;
/// Recent timestamps kept per intervention (dose limits look back a few days,
/// habituation two weeks; a handful is enough for either).
pub(crate) const RECENT_KEPT: usize = 8;
/// Outcome points kept for the recent-mean comparison with the recovery curve.
pub(crate) const RECENT_OUTCOMES: usize = 5;
/// Interventions awaiting the next outcome at most.
pub(crate) const PENDING_KEPT: usize = 8;

/// A row of the map regression waiting for its occasion's ratings: an
/// outcome measured without them, its poles imputed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct HeldRow {
    pub(crate) at: Timestamp,
    pub(crate) poles: Vec<f64>,
    pub(crate) lag: Vec<f64>,
    pub(crate) wellbeing: f64,
}

/// Everything the engine remembers about one person. Serialisable (serde) so the
/// server can persist it beside the raw events; the engine never stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonState {
    /// Layout and meaning version ([`STATE_FORMAT`]).
    pub format: u32,
    /// Standing conditions (contraindication matching).
    pub conditions: Vec<Condition>,
    pub(crate) layout: Vec<ProcessId>,
    pub(crate) assessments: u32,
    pub(crate) revision: u64,
    pub(crate) first_at: Option<Timestamp>,
    pub(crate) last_at: Option<Timestamp>,
    /// Complete (imputed) vector of the latest assessment, empty before the first.
    pub(crate) last_values: Vec<f64>,
    /// Whether the latest assessment rated any process pole.
    pub(crate) last_rated: bool,
    /// A map row whose outcome came without ratings, held for ratings of the
    /// same occasion sent apart (see `learn::observe_assessment`).
    pub(crate) held_row: Option<HeldRow>,
    pub(crate) risk_flags: Vec<RiskFlag>,
    pub(crate) variables: Vec<VariableTrack>,
    pub(crate) network: NetworkStats,
    pub(crate) map: MapStats,
    pub(crate) outcome: OutcomeHistory,
    pub(crate) follow: FollowState,
    pub(crate) interventions: BTreeMap<InterventionId, InterventionRecord>,
    pub(crate) pending: Vec<PendingOutcome>,
    pub(crate) cache: Option<PersonCache>,
}

impl PersonState {
    /// Assessments folded in.
    pub fn assessment_count(&self) -> u32 {
        self.assessments
    }
    /// Lagged pairs in the network.
    pub fn network_observations(&self) -> u32 {
        self.network.n()
    }
    /// Assessments with an outcome behind the process map.
    pub fn map_observations(&self) -> u32 {
        self.map.rows()
    }
    /// Time of the latest assessment.
    pub fn last_assessment_at(&self) -> Option<Timestamp> {
        self.last_at
    }
    /// Whether the latest assessment carried a risk flag.
    pub fn risk_active(&self) -> bool {
        !self.risk_flags.is_empty()
    }
    /// Risk flags of the latest assessment.
    pub fn risk_flags(&self) -> &[RiskFlag] {
        &self.risk_flags
    }
    /// Process ids in the order of the person's network variables.
    pub fn layout(&self) -> &[ProcessId] {
        &self.layout
    }
    /// Marks new data folded in. The cached posterior goes with the old
    /// revision: its key would never match again, and a stale cache is a
    /// third of the stored state that every write would carry for nothing.
    pub(crate) fn changed(&mut self) {
        self.revision += 1;
        self.cache = None;
    }
    /// Whether the cached posterior is current (see `Engine::refresh`).
    pub fn has_fresh_cache(&self, key: &CacheKey) -> bool {
        self.cache.as_ref().is_some_and(|c| c.key == *key)
    }
    /// Smoothed well-being, if any outcome was ever reported.
    pub fn wellbeing(&self) -> Option<f64> {
        self.variables.last().and_then(|v| v.level)
    }
}

/// Level and trend of one network variable.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct VariableTrack {
    /// Smoothed level, once observed.
    pub level: Option<f64>,
    /// Time of the latest observation.
    pub last_at: Option<Timestamp>,
    /// Observations.
    pub n: u32,
    /// Discounted regression on time.
    pub trend: TrendStats,
}

impl VariableTrack {
    /// Folds in one observation `y` at `at`; `origin` anchors the time axis.
    pub fn observe(
        &mut self,
        y: f64,
        at: Timestamp,
        origin: Timestamp,
        level_half_life: f64,
        trend_half_life: f64,
    ) {
        self.level = Some(match (self.level, self.last_at) {
            (Some(level), Some(last)) => {
                let dt = at.days_since(last).max(0.0);
                // Each observation moves the level by at least a fifth, so
                // ratings stamped close together (several a day, or weeks of
                // history replayed through the API in seconds) still move it
                // rather than freezing it at the first few.
                let alpha = (1.0 - 0.5f64.powf(dt / level_half_life)).max(0.2);
                level + alpha * (y - level)
            }
            _ => y,
        });
        self.trend
            .observe(at.days_since(origin), y, trend_half_life);
        self.last_at = Some(at);
        self.n += 1;
    }
}

/// Exponentially discounted least squares of a value on time (days).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct TrendStats {
    s0: f64,
    st: f64,
    stt: f64,
    sy: f64,
    sty: f64,
    t_last: f64,
    n: u32,
}

impl TrendStats {
    /// Folds in `y` at time `t` (days), discounting older points by half per
    /// `half_life` days.
    pub fn observe(&mut self, t: f64, y: f64, half_life: f64) {
        if self.n > 0 {
            let decay = 0.5f64.powf((t - self.t_last).max(0.0) / half_life);
            self.s0 *= decay;
            self.st *= decay;
            self.stt *= decay;
            self.sy *= decay;
            self.sty *= decay;
        }
        self.s0 += 1.0;
        self.st += t;
        self.stt += t * t;
        self.sy += y;
        self.sty += t * y;
        self.t_last = t;
        self.n += 1;
    }

    /// The discounted mean: the level over the trend's half-life (steadier
    /// than the smoothed level, which follows the last few days).
    pub fn mean(&self) -> Option<f64> {
        (self.s0 > 0.0).then(|| self.sy / self.s0)
    }

    /// Slope in points per week; 0 under three points or without spread in time.
    pub fn per_week(&self) -> f64 {
        if self.n < 3 {
            return 0.0;
        }
        let den = self.s0 * self.stt - self.st * self.st;
        let scale = self.s0 * self.stt;
        if den <= 1e-9 * scale.max(1e-12) {
            return 0.0;
        }
        7.0 * (self.s0 * self.sty - self.st * self.sy) / den
    }

    /// Effective observations in the current window.
    pub fn weight(&self) -> f64 {
        self.s0
    }
}

/// The outcome trajectory.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OutcomeHistory {
    /// First outcome: when, and well-being then.
    pub first: Option<(Timestamp, f64)>,
    /// Outcome points.
    pub count: u32,
    /// The last few outcome points, oldest first.
    pub recent: Vec<(Timestamp, f64)>,
}

impl OutcomeHistory {
    /// Folds in one outcome point.
    pub fn observe(&mut self, at: Timestamp, wellbeing: f64) {
        if self.first.is_none() {
            self.first = Some((at, wellbeing));
        }
        self.count += 1;
        self.recent.push((at, wellbeing));
        if self.recent.len() > RECENT_OUTCOMES {
            self.recent.remove(0);
        }
    }
}

/// What the engine knows about one intervention for one person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterventionRecord {
    /// Times recommended.
    pub recommended: u32,
    /// Latest recommendation times, oldest first.
    pub recent_recommended: Vec<Timestamp>,
    /// Reported done.
    pub done: u32,
    /// Reported partly done.
    pub partly: u32,
    /// Reported not done.
    pub not_done: u32,
    /// Latest times done or partly done, oldest first.
    pub recent_done: Vec<Timestamp>,
    /// Sum of helpfulness ratings.
    pub helpfulness_sum: f64,
    /// Helpfulness ratings.
    pub helpfulness_n: u32,
    /// The latest helpfulness rating.
    pub last_helpfulness: Option<f64>,
    /// Evidence of its benefit for this person.
    pub evidence: ItemEvidence,
    /// Person x intervention follow-through effect.
    pub follow: LogitEffect,
    /// Clinician accepted it (each offsets one decline in ranking).
    pub clinician_accepted: u32,
    /// Clinician rejected or overrode it.
    pub clinician_declined: u32,
}

impl InterventionRecord {
    /// A record with no history.
    pub fn new(item_sd: f64) -> Self {
        Self {
            recommended: 0,
            recent_recommended: Vec::new(),
            done: 0,
            partly: 0,
            not_done: 0,
            recent_done: Vec::new(),
            helpfulness_sum: 0.0,
            helpfulness_n: 0,
            last_helpfulness: None,
            evidence: ItemEvidence::default(),
            follow: LogitEffect::prior(item_sd),
            clinician_accepted: 0,
            clinician_declined: 0,
        }
    }

    /// Mean reported helpfulness.
    pub fn mean_helpfulness(&self) -> Option<f64> {
        (self.helpfulness_n > 0).then(|| self.helpfulness_sum / f64::from(self.helpfulness_n))
    }
}

/// The evidence on one intervention's benefit `θ` for one person, as raw
/// sufficient statistics of two observation channels (see [`crate::benefit`]):
/// - benefit signals in well-being points, `o = d·θ + ε` with known variance
///   (the outcome change after it, the process change through the map), `d`
///   the dose (1 done, 0.5 partly);
/// - helpfulness ratings `h = a + slope·d·θ + ε`, `a` the person's own rating
///   level. Only sums of `d`, `d²`, `h` and `d·h` are kept, so the slope and
///   noise are applied when the posterior is computed, by whatever population
///   model is current.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ItemEvidence {
    /// `Σ d² / var` of the benefit signals.
    pub precision: f64,
    /// `Σ d·o / var`.
    pub weighted_sum: f64,
    /// Benefit signals.
    pub signals: u32,
    /// Of those, process-change signals (they share the map's error, so each
    /// further one teaches less; see `crate::learn`).
    pub process_signals: u32,
    /// Helpfulness ratings.
    pub ratings: u32,
    /// `Σ d` over ratings.
    pub sum_dose: f64,
    /// `Σ d²` over ratings.
    pub sum_dose_sq: f64,
    /// `Σ h`.
    pub sum_rating: f64,
    /// `Σ d·h`.
    pub sum_dose_rating: f64,
    /// `Σ h²` (the spread of repeated ratings, for training).
    pub sum_rating_sq: f64,
    /// `Σ d·m` over ratings, `m` the share of the exercise's benefit the
    /// person still got when they did it (the habituation memory). Training
    /// reads ratings per unit of exposure, so a clinic that repeats its
    /// favourites daily does not teach the pooled model that they are weak
    /// (0 in states written before it was kept: training then uses `sum_dose`).
    #[serde(default)]
    pub sum_exposure: f64,
    /// `Σ (d·m)²` over ratings.
    #[serde(default)]
    pub sum_exposure_sq: f64,
    /// `Σ d·m·h` over ratings.
    #[serde(default)]
    pub sum_exposure_rating: f64,
}

impl ItemEvidence {
    /// Folds in one benefit signal `value` (points) with variance `var` at dose `dose`.
    pub fn add_signal(&mut self, value: f64, var: f64, dose: f64) {
        if !(value.is_finite() && var.is_finite() && var > 0.0 && dose > 0.0 && dose.is_finite()) {
            return;
        }
        self.precision += dose * dose / var;
        self.weighted_sum += dose * value / var;
        self.signals += 1;
    }

    /// Folds in one helpfulness rating `h` (0-100) at dose `dose`, of which
    /// `exposure` (at most `dose`) reached the person past habituation.
    pub fn add_rating(&mut self, h: f64, dose: f64, exposure: f64) {
        if !(h.is_finite() && dose.is_finite() && dose > 0.0) {
            return;
        }
        let h = h.clamp(0.0, 100.0);
        self.ratings += 1;
        self.sum_dose += dose;
        let m = if exposure.is_finite() {
            exposure.clamp(0.0, dose)
        } else {
            dose
        };
        self.sum_exposure += m;
        self.sum_exposure_sq += m * m;
        self.sum_exposure_rating += m * h;
        self.sum_dose_sq += dose * dose;
        self.sum_rating += h;
        self.sum_dose_rating += dose * h;
        self.sum_rating_sq += h * h;
    }

    /// Whether anything was observed.
    pub fn is_empty(&self) -> bool {
        self.signals == 0 && self.ratings == 0
    }

    /// Observations of any kind.
    pub fn count(&self) -> u32 {
        self.signals + self.ratings
    }
}

/// The person's record of each catalogue intervention, by catalogue position.
/// Both the catalogue and the state's map are ordered by id, so one merge pass
/// replaces a string-keyed lookup per intervention.
pub(crate) fn records_by_position<'s>(
    catalogue: &[Intervention],
    state: &'s PersonState,
) -> Vec<Option<&'s InterventionRecord>> {
    debug_assert!(
        catalogue.windows(2).all(|w| w[0].id < w[1].id),
        "catalogue is ordered by id"
    );
    let mut out = vec![None; catalogue.len()];
    let mut records = state.interventions.iter().peekable();
    for (pos, iv) in catalogue.iter().enumerate() {
        while let Some((id, _)) = records.peek() {
            if *id < &iv.id {
                records.next();
            } else {
                break;
            }
        }
        if let Some((id, r)) = records.peek()
            && *id == &iv.id
        {
            out[pos] = Some(*r);
        }
    }
    out
}

/// Keeps the latest `RECENT_KEPT` timestamps, in time order.
pub(crate) fn push_recent(v: &mut Vec<Timestamp>, at: Timestamp) {
    let pos = v.partition_point(|t| *t <= at);
    v.insert(pos, at);
    if v.len() > RECENT_KEPT {
        v.remove(0);
    }
}

/// An intervention done, awaiting the next outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingOutcome {
    /// The intervention.
    pub intervention: InterventionId,
    /// When the feedback came.
    pub at: Timestamp,
    /// Smoothed well-being then.
    pub baseline: f64,
    /// 1 done, 0.5 partly.
    pub dose: f64,
}

/// What a cached posterior was computed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheKey {
    /// The state's revision.
    pub revision: u64,
    /// The engine's model version (population model, configuration, catalogue).
    pub model: String,
}

/// One process as the person's posterior sees it.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ProcessBelief {
    /// Well-being points per point of improvement on this process, from the
    /// person's ratings (the map alone).
    pub map_value: Gaussian,
    /// Relative value (1 = an average process), after feedback as well.
    pub value: Gaussian,
    /// Correlation of its pole contrast with well-being in their own data.
    pub correlation: f64,
    /// Share of the relative value's precision from the person's own data, 0-1.
    pub own_weight: f64,
}

/// The person's posterior, cached by `Engine::refresh`: what ranking and
/// insights read instead of estimating.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonCache {
    /// What it was computed from.
    pub key: CacheKey,
    /// Posterior benefit (well-being points when done) per catalogue position.
    pub items: Vec<Gaussian>,
    /// Share of each item's benefit precision from the person's own data.
    pub item_own_weight: Vec<f64>,
    /// The part of each item's benefit variance that only trying it can
    /// reduce (its family and its own residual): the person's map firms up
    /// from their ratings whatever is recommended, so exploration is spent on
    /// this part only.
    pub item_explore_var: Vec<f64>,
    /// Per process (catalogue order).
    pub processes: Vec<ProcessBelief>,
    /// Posterior mean of the pole coefficients (network layout; well-being
    /// points per rating point), for process-change signals.
    pub poles: Vec<f64>,
    /// Their posterior variances.
    pub poles_var: Vec<f64>,
    /// The person's rating level (helpfulness of an exercise that does nothing).
    pub rater: f64,
    /// Rows behind the map, and the days they span.
    pub map_rows: u32,
    /// Days the map's rows span.
    pub map_span_days: f64,
    /// Residual sd of well-being around the map.
    pub map_residual_sd: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trend_recovers_a_linear_slope() {
        let mut t = TrendStats::default();
        for day in 0..30 {
            t.observe(f64::from(day), 40.0 + 0.5 * f64::from(day), 28.0);
        }
        assert!((t.per_week() - 3.5).abs() < 1e-9, "{}", t.per_week());
        let mut flat = TrendStats::default();
        flat.observe(0.0, 10.0, 28.0);
        flat.observe(1.0, 90.0, 28.0);
        assert_eq!(flat.per_week(), 0.0, "two points are not a trend");
    }

    #[test]
    fn level_follows_recent_values_more_than_old_ones() {
        let mut v = VariableTrack::default();
        let origin = Timestamp(0);
        for day in 0..10 {
            v.observe(20.0, Timestamp(day * Timestamp::DAY_MS), origin, 3.0, 28.0);
        }
        for day in 10..20 {
            v.observe(80.0, Timestamp(day * Timestamp::DAY_MS), origin, 3.0, 28.0);
        }
        let level = v.level.expect("observed");
        assert!(level > 70.0 && level < 80.0, "{level}");
        assert_eq!(v.n, 20);
        // The same ratings stamped a second apart still reach the new level.
        let mut fast = VariableTrack::default();
        for (i, y) in [20.0; 10].into_iter().chain([80.0; 10]).enumerate() {
            fast.observe(y, Timestamp(i as i64 * 1000), origin, 3.0, 28.0);
        }
        let level = fast.level.expect("observed");
        assert!(level > 70.0 && level < 80.0, "{level}");
    }

    #[test]
    fn recent_lists_stay_sorted_and_bounded() {
        let mut v = Vec::new();
        for i in (0..20).rev() {
            push_recent(&mut v, Timestamp(i));
        }
        assert_eq!(v.len(), RECENT_KEPT);
        assert!(v.windows(2).all(|w| w[0] <= w[1]));
        let mut o = OutcomeHistory::default();
        for i in 0..9 {
            o.observe(Timestamp(i), f64::from(i as i32));
        }
        assert_eq!(o.first, Some((Timestamp(0), 0.0)));
        assert_eq!(o.recent.len(), RECENT_OUTCOMES);
        assert_eq!(o.count, 9);
    }
}

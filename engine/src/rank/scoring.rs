//! The score of each candidate: `benefit × P(follow-through)`, the well-being
//! gain to expect from *suggesting* it, since a kernel that is not done helps
//! nobody. `benefit` is the person's posterior ([`crate::benefit`]);
//! follow-through comes from [`crate::follow`]. The score's posterior sd uses
//! the delta method for a product of independent beliefs.
//!
//! Adjustments, each multiplying a positive benefit (a harmful estimate is
//! never made to look less harmful):
//! - **habituation**: `exp(-habituation × m)`, `m` the recent doses of the
//!   intervention, each fading by half every `habituation_half_life_days`
//!   (or, when the person's timestamps are a replay, every
//!   [`HABITUATION_HALF_LIFE_DECISIONS`] later decisions), plus half the
//!   recent doses of other kernels of its family
//!   (HeartSteps saw prompt effects decay with repetition; a second defusion
//!   exercise is less new than a first one);
//! - **rotation**: when well-being has plateaued, families used in the last 28
//!   days get × 0.75, so the list turns to kernels not tried recently;
//! - **clinician declines**: × 0.7 per rejection or override (up to three), so
//!   the clinician's judgement teaches without banning.
//! - **follow-through aids** (`follow_through_aid`, e.g. if-then plans) add the
//!   value of making the next kernels happen: the follow-through lift an
//!   if-then plan gives this person (large when follow-through is low or
//!   middling, small when it is already high) times the benefit of the best
//!   other candidates. Together with the logit-scale effort penalty this makes
//!   aids and low-effort variants rise when a person rarely follows through.

use super::RecommendQuery;
use super::filters::{Group, Selection};
use crate::catalog::{Condition, Intervention};
use crate::follow::{self, FollowEstimate, Situation};
use crate::model::Model;
use crate::state::{InterventionRecord, PersonCache, PersonState};
use crate::stats::Gaussian;

/// Weight of a family member's doses in an intervention's habituation.
const FAMILY_HABITUATION: f64 = 0.5;
/// Mean time between a person's decisions (days) under which their clock is
/// taken to be a replay rather than real time: no care schedule decides
/// several times an hour, but platforms that replay history or drive the API
/// faster than real time stamp weeks of care seconds apart.
const REPLAY_SPACING_DAYS: f64 = 1.0 / 24.0;
/// On a replayed clock a dose weighs half after this many later decisions
/// instead of after `habituation_half_life_days` (two weeks at one decision a
/// week). Fading by days alone kept every dose at full weight on such clocks
/// and buried whatever worked (-5 points of captured share on the simulator
/// with its clock squeezed 10^5-fold); fading by decisions on a real clock
/// misjudges daily schedules, whose doses the days fade more slowly.
const HABITUATION_HALF_LIFE_DECISIONS: f64 = 2.0;
const ROTATION_PENALTY: f64 = 0.75;
const DECLINE_PENALTY: f64 = 0.7;
const DECLINES_COUNTED: u32 = 3;
const AID_TYPICAL_TOP: usize = 3;

/// One candidate with its beliefs and score.
pub(super) struct Candidate<'a> {
    /// Position in the catalogue (and in the compiled catalogue).
    pub pos: usize,
    pub iv: &'a Intervention,
    pub record: Option<&'a InterventionRecord>,
    pub group: Group,
    pub contraindicated: Vec<Condition>,
    /// Benefit if done, adjusted for habituation, rotation and declines.
    pub benefit: Gaussian,
    pub follow: FollowEstimate,
    pub score: f64,
    pub score_sd: f64,
    /// Sd of the score along what only trying it can teach (the exploration scale).
    pub explore_sd: f64,
    /// Share of the benefit's precision from the person's own data.
    pub own_weight: f64,
    /// Observations on this intervention itself.
    pub signals: u32,
    /// Drawn by exploration rather than the greedy best (set by ordering).
    pub exploratory: bool,
}

pub(super) fn score<'a>(
    model: &'a Model,
    state: &'a PersonState,
    post: &PersonCache,
    selection: &Selection<'a>,
    query: &RecommendQuery,
) -> Vec<Candidate<'a>> {
    let config = model.config();
    let prior = &model.population().follow;
    let compiled = model.compiled();
    // Fading dose memory per catalogue position and per family.
    let all = model.interventions().all();
    let records = crate::state::records_by_position(all, state);
    let mut decisions: Vec<_> = records
        .iter()
        .flatten()
        .flat_map(|r| r.recent_recommended.iter().copied())
        .collect();
    // One decision shows several items at one time: count decisions, not items.
    decisions.sort_unstable();
    decisions.dedup();
    let replayed = match (decisions.first(), decisions.last()) {
        (Some(first), Some(last)) if decisions.len() >= 2 => {
            last.days_since(*first) / ((decisions.len() - 1) as f64) < REPLAY_SPACING_DAYS
        }
        _ => false,
    };
    let memory: Vec<f64> = records
        .iter()
        .map(|r| {
            r.map_or(0.0, |r| {
                r.recent_done
                    .iter()
                    .filter_map(|t| {
                        let age = query.now.days_since(*t);
                        let later = decisions.len() - decisions.partition_point(|d| d <= t);
                        (age >= 0.0).then(|| {
                            let halves = if replayed {
                                later as f64 / HABITUATION_HALF_LIFE_DECISIONS
                            } else {
                                age / config.habituation_half_life_days
                            };
                            0.5f64.powf(halves)
                        })
                    })
                    .sum()
            })
        })
        .collect();
    let mut family_memory = vec![0.0; compiled.families];
    for (pos, m) in memory.iter().enumerate() {
        family_memory[compiled.items[pos].family] += m;
    }
    let mut cands: Vec<Candidate<'a>> = selection
        .entries
        .iter()
        .map(|s| {
            let raw = post.items[s.pos];
            let own = memory[s.pos];
            let family = family_memory[compiled.items[s.pos].family] - own;
            let mut mult = (-config.habituation * (own + FAMILY_HABITUATION * family)).exp();
            if let Some(r) = s.record {
                mult *= DECLINE_PENALTY.powi(r.clinician_declined.min(DECLINES_COUNTED) as i32);
            }
            if selection.rotated[compiled.items[s.pos].family] {
                mult *= ROTATION_PENALTY;
            }
            let benefit = if raw.mean > 0.0 {
                Gaussian {
                    mean: raw.mean * mult,
                    var: raw.var * mult * mult,
                }
            } else {
                raw
            };
            let sit = Situation::of(s.iv, &query.context, prior, query.now);
            let follow = follow::predict(prior, &state.follow, s.record.map(|r| &r.follow), &sit);
            Candidate {
                pos: s.pos,
                iv: s.iv,
                record: s.record,
                group: s.group,
                contraindicated: s.contraindicated.clone(),
                benefit,
                follow,
                score: 0.0,
                score_sd: 0.0,
                explore_sd: post.item_explore_var[s.pos].max(0.0).sqrt(),
                own_weight: post.item_own_weight[s.pos],
                signals: s.record.map_or(0, |r| r.evidence.count()),
                exploratory: false,
            }
        })
        .collect();

    // Follow-through aids: the value of making the next kernels happen.
    let mut typical: Vec<f64> = cands
        .iter()
        .filter(|c| c.group == Group::Ranked && !c.iv.follow_through_aid)
        .map(|c| c.benefit.mean)
        .collect();
    typical.sort_by(|a, b| b.total_cmp(a));
    typical.truncate(AID_TYPICAL_TOP);
    let typical_benefit = if typical.is_empty() {
        0.0
    } else {
        (typical.iter().sum::<f64>() / typical.len() as f64).max(0.0)
    };
    let person_follow = follow::predict(
        prior,
        &state.follow,
        None,
        &Situation::typical(Some(query.now)),
    )
    .probability
    .mean;
    let lift = follow::aid_lift(person_follow, prior);
    for c in &mut cands {
        if c.iv.follow_through_aid {
            c.benefit.mean += lift * typical_benefit;
        }
        let (b, vb) = (c.benefit.mean, c.benefit.var.max(0.0));
        let f = c.follow.probability.mean;
        let sf = f * (1.0 - f) * c.follow.logit_sd;
        c.score = b * f;
        c.score_sd = (f * f * vb + b * b * sf * sf + vb * sf * sf).sqrt();
        let ve = c.explore_sd * c.explore_sd;
        c.explore_sd = (f * f * ve + b * b * sf * sf + ve * sf * sf).sqrt();
    }
    cands
}

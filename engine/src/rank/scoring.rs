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
//!   (or, when the person's timestamps are a replay, every two later
//!   decisions: [`crate::habituation`]), plus half the recent doses of other
//!   kernels of its family
//!   (HeartSteps saw prompt effects decay with repetition; a second defusion
//!   exercise is less new than a first one);
//! - **rotation**: when well-being has plateaued, families used in the last 28
//!   days get × 0.75, so the list turns to kernels not tried recently;
//! - **clinician declines**: × 0.7 per net decline (up to three), so the
//!   clinician's judgement teaches without banning. A decline is a rejection
//!   or an override (what a CDS Hooks override sends); each acceptance of the
//!   same intervention takes one back (declines − acceptances, floored at 0),
//!   because a clinician who later accepts what they once declined has changed
//!   their mind about it for this person. Acceptances never push the score
//!   above the undeclined one: they say "fine to suggest", not "better".
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

const ROTATION_PENALTY: f64 = 0.75;
const DECLINE_PENALTY: f64 = 0.7;
const DECLINES_COUNTED: u32 = 3;
const AID_TYPICAL_TOP: usize = 3;

/// Declines the penalty counts: rejections and overrides less acceptances of
/// the same intervention, between 0 and [`DECLINES_COUNTED`].
fn net_declines(r: &InterventionRecord) -> u32 {
    r.clinician_declined
        .saturating_sub(r.clinician_accepted)
        .min(DECLINES_COUNTED)
}

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
    let prior = &model.population().follow;
    let compiled = model.compiled();
    let memory = crate::habituation::Memory::at(model, state, query.now);
    let mut cands: Vec<Candidate<'a>> = selection
        .entries
        .iter()
        .map(|s| {
            let raw = post.items[s.pos];
            let mut mult = memory.multiplier(model, s.pos);
            if let Some(r) = s.record {
                mult *= DECLINE_PENALTY.powi(net_declines(r) as i32);
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

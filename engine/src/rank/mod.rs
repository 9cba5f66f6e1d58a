//! Ranking: expected benefit for this person times the probability they follow
//! through, with safety rules, dose limits, Thompson-sampling exploration with
//! exact logged propensities, diversity across processes, and explanations.
//!
//! # Pipeline
//! 1. `filters`: which interventions may appear, and in which group (safety
//!    path, pinned, ranked, or shown only for clinician review).
//! 2. `scoring`: the benefit posterior ([`crate::benefit`]) with
//!    habituation, rotation and clinician-decline adjustments, follow-through
//!    ([`crate::follow`]), and the score `benefit × P(follow-through)` with its
//!    posterior sd.
//! 3. `order`: the Thompson draw and the diversity re-ranking.
//! 4. `propensity`: the exact probability that the policy puts each
//!    candidate first.
//! 5. `explain`: the plain-language summary of each item and the ranking's note.
//!
//! # Order and exploration
//! In safety mode, safety kernels come first (greedy order), then pins, then
//! the rest; exploration is off and every item needs clinician review.
//! Otherwise pins come first in the order given, then the rest, ordered by
//! Thompson sampling: one draw `μ + e σ z` per candidate (`e` =
//! `exploration`, 0 is greedy) from `ChaCha8Rng::seed_from_u64(seed)`. The
//! posterior sd `σ` shrinks as the person's map and feedback firm up, so
//! exploration fades by itself where it has nothing left to learn and stays
//! where an intervention's fit for this person is still open. A greedy
//! diversity re-ranking then builds the list: each next pick maximises
//! `draw - diversity × overlap × |draw|`, overlap being 1 for a family already
//! listed, else the weighted share of its target processes already covered.
//! The first pick is therefore the plain Thompson argmax.
//!
//! A contraindicated intervention never ranks first: outside safety mode it
//! may be listed further down, marked `requires_clinician_review` with the
//! reason, and its propensity is 0.
//!
//! With `propensity_floor = f > 0` and exploration on, the first pick is
//! instead uniform over the `m` eligible candidates with probability `m·f`
//! (capped at 1): a real ε-mixture, so the logged probability is the true one
//! and never below `f` (HeartSteps-style clipping for off-policy evaluation).
//!
//! # Honesty
//! When the first two ranked items' scores differ by less than
//! `indistinguishable_z` standard deviations of their difference, the ranking
//! says they cannot be told apart (the Personalized Advantage Index lesson:
//! most people have no meaningful advantage between the top options).

mod explain;
mod filters;
mod order;
pub(crate) mod propensity;
mod scoring;

use crate::benefit;
use crate::error::{EngineError, Result};
use crate::ids::{InterventionId, ProcessId, Timestamp};
use crate::learn;
use crate::model::Model;
use crate::observe::Context;
use crate::state::PersonState;
use filters::Group;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeSet;

pub use crate::stats::{Interval, Sufficiency};

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

/// One targeted process in an explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetExplanation {
    /// Process id.
    pub process: ProcessId,
    /// Catalogue weight of the intervention on this process.
    pub weight: f64,
    /// Influence of the process on the person's well-being from their map:
    /// well-being points per 10 points of improvement on it, with 90% interval.
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

/// Most items a ranking returns.
pub const MAX_K: usize = 20;

/// Ranks interventions; see the module docs for the policy.
pub(crate) fn rank(model: &Model, state: &PersonState, query: &RecommendQuery) -> Result<Ranking> {
    Ok(rank_inner(model, state, query)?.0)
}

/// The ranking plus the propensity of every candidate (in catalogue order),
/// for tests and off-policy evaluation.
pub(crate) fn rank_all(
    model: &Model,
    state: &PersonState,
    query: &RecommendQuery,
) -> Result<(Ranking, Vec<(InterventionId, f64)>)> {
    let (ranking, all) = rank_inner(model, state, query)?;
    let ids = model.interventions().all();
    Ok((
        ranking,
        all.into_iter()
            .map(|(pos, p)| (ids[pos].id.clone(), p))
            .collect(),
    ))
}

/// The ranking plus `(catalogue position, propensity)` of every candidate.
fn rank_inner(
    model: &Model,
    state: &PersonState,
    query: &RecommendQuery,
) -> Result<(Ranking, Vec<(usize, f64)>)> {
    learn::check_state(model, state)?;
    for p in &query.pin {
        if model.interventions().get(p).is_none() {
            return Err(EngineError::UnknownIntervention(p.to_string()));
        }
    }
    let config = model.config();
    let k = query.k.min(MAX_K);
    let safety_mode = state.risk_active();
    let exploration = if safety_mode { 0.0 } else { config.exploration };
    let post = match &state.cache {
        Some(c) if c.key.revision == state.revision && c.key.model == model.cache_tag => {
            Cow::Borrowed(c)
        }
        _ => Cow::Owned(benefit::posterior(model, state, &model.cache_tag)),
    };
    let levels = benefit::levels(model, state);

    let selection = filters::select(model, state, query, safety_mode);
    let mut cands = scoring::score(model, state, &post, &selection, query);

    // Thompson draw on the main stream; always one normal per candidate so the
    // stream's use does not depend on the exploration level.
    let mut rng = ChaCha8Rng::seed_from_u64(query.seed);
    let draws: Vec<f64> = cands
        .iter()
        .map(|c| {
            let z: f64 = rng.sample(StandardNormal);
            c.score + exploration * c.explore_sd * z
        })
        .collect();

    let mut head: Vec<usize> = (0..cands.len())
        .filter(|&i| cands[i].group == Group::Safety)
        .collect();
    head.sort_by(|&a, &b| cands[b].score.total_cmp(&cands[a].score).then(a.cmp(&b)));
    let mut pinned: Vec<(usize, usize)> = (0..cands.len())
        .filter_map(|i| match cands[i].group {
            Group::Pinned(pos) => Some((pos, i)),
            Group::Safety | Group::Ranked => None,
        })
        .collect();
    pinned.sort_unstable();
    head.extend(pinned.into_iter().map(|(_, i)| i));
    // May rank first: ranked and not contraindicated. Listed further down only:
    // ranked but contraindicated (clinician review).
    let eligible: Vec<usize> = (0..cands.len())
        .filter(|&i| cands[i].group == Group::Ranked && cands[i].contraindicated.is_empty())
        .collect();
    let reviewed: Vec<usize> = (0..cands.len())
        .filter(|&i| cands[i].group == Group::Ranked && !cands[i].contraindicated.is_empty())
        .collect();

    let floor = if exploration > 0.0 && head.is_empty() && eligible.len() > 1 {
        config.propensity_floor.min(1.0 / eligible.len() as f64)
    } else {
        0.0
    };
    let forced_first = if floor > 0.0 {
        let u: f64 = rng.random();
        (u < floor * eligible.len() as f64).then(|| eligible[rng.random_range(0..eligible.len())])
    } else {
        None
    };
    let wanted = k.saturating_sub(head.len());
    let plan = order::Plan {
        model,
        cands: &cands,
        head: &head,
        eligible: &eligible,
        reviewed: &reviewed,
        diversity: config.diversity,
        wanted,
    };
    let list_order = plan.diversify(&draws, forced_first);
    let greedy: BTreeSet<usize> = if exploration > 0.0 {
        let means: Vec<f64> = cands.iter().map(|c| c.score).collect();
        plan.diversify(&means, None).into_iter().collect()
    } else {
        list_order.iter().copied().collect()
    };

    // Propensities of being first.
    let mut prop = vec![0.0; cands.len()];
    if let Some(&first) = head.first() {
        prop[first] = 1.0;
    } else if !eligible.is_empty() {
        if exploration == 0.0 || eligible.len() == 1 {
            let best = order::argmax(&eligible, |i| cands[i].score);
            prop[best] = 1.0;
        } else {
            let means: Vec<f64> = eligible.iter().map(|&i| cands[i].score).collect();
            let sds: Vec<f64> = eligible
                .iter()
                .map(|&i| exploration * cands[i].explore_sd)
                .collect();
            let p = propensity::first_place(&means, &sds);
            let m = eligible.len() as f64;
            for (&i, pi) in eligible.iter().zip(p) {
                prop[i] = (1.0 - m * floor) * pi + floor;
            }
        }
    }

    let list: Vec<usize> = head.iter().chain(&list_order).copied().take(k).collect();
    let ranked_in_list: Vec<usize> = list
        .iter()
        .copied()
        .filter(|&i| cands[i].group == Group::Ranked)
        .collect();
    let indistinguishable = match ranked_in_list.as_slice() {
        [a, b, ..] => {
            let (a, b) = (&cands[*a], &cands[*b]);
            let sd = (a.score_sd.powi(2) + b.score_sd.powi(2)).sqrt();
            (a.score - b.score).abs() < config.indistinguishable_z * sd
        }
        _ => false,
    };
    for &i in &list {
        let c = &mut cands[i];
        c.exploratory = exploration > 0.0 && c.group == Group::Ranked && !greedy.contains(&i);
    }
    let facts = explain::Facts::new(model, state, &post, &levels, safety_mode);
    let items: Vec<RankedItem> = list
        .iter()
        .map(|&i| facts.item(&cands[i], draws[i], prop[i]))
        .collect();
    let any_exploratory = items.iter().any(|it| it.exploratory);
    let note = facts.note(explain::NoteFacts {
        cands: &cands,
        ranked_in_list: &ranked_in_list,
        indistinguishable,
        plateau: selection.plateau,
        dropped: &selection.dropped,
        context: &query.context,
        empty: items.is_empty(),
        only_review: head.is_empty() && eligible.is_empty() && !reviewed.is_empty(),
        any_exploratory,
    });
    let all = cands.iter().zip(&prop).map(|(c, p)| (c.pos, *p)).collect();
    Ok((
        Ranking {
            items,
            indistinguishable,
            safety_mode,
            exploration,
            note,
        },
        all,
    ))
}

#[cfg(test)]
mod tests;

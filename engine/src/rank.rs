//! Ranking: expected benefit through the processes that matter for this person,
//! times the probability they follow through, with headroom, Thompson-sampling
//! exploration and logged propensities, diversity across processes, dose limits,
//! habituation, safety rules and explanations.
//!
//! # Score
//! `score = benefit × P(follow-through)`: the well-being gain to expect from
//! *suggesting* it, since a kernel that is not done helps nobody. `benefit`
//! is the posterior of [`crate::response`], whose prior runs through the
//! person's leverage on the targeted processes (the internal `view` module: their own
//! lagged influence on well-being times headroom, plus the strength term);
//! follow-through comes from [`crate::follow`]. The score's posterior sd uses
//! the delta method for a product of independent beliefs.
//!
//! Adjustments, each multiplying a positive benefit (a harmful estimate is
//! never made to look less harmful):
//! - **habituation**: `(1 - habituation)^r`, `r` = times done in the last 14 days
//!   (HeartSteps saw prompt effects decay with repetition);
//! - **rotation**: when well-being has plateaued (at least 6 outcome points over
//!   3 weeks, trend under 0.5 points/week) families used in the last 28 days get
//!   × 0.75, so the list turns to kernels not tried recently;
//! - **clinician declines**: × 0.7 per rejection or override (up to three), so
//!   the clinician's judgement teaches without banning.
//! - **follow-through aids** (`follow_through_aid`, e.g. if-then plans) add the
//!   value of making the next kernels happen: the follow-through lift an
//!   if-then plan gives this person (large when follow-through is low or
//!   middling, small when it is already high) times the benefit of the best
//!   other candidates. Together with the logit-scale effort penalty this makes
//!   aids and low-effort variants rise when a person rarely follows through.
//!
//! # Filters (never silently bypassed)
//! Exclusions always win. Safety-path kernels (`safety = true`) are for the
//! safety path only unless pinned. Without risk, a contraindicated kernel
//! stays in the list but is marked `requires_clinician_review` and says why;
//! with an active risk flag it is removed (standing conditions plus the acute
//! conditions the flags imply), even when pinned, and the note says so.
//! Unpinned kernels that do not fit the context (longer than the minutes
//! available; needing a session outside one) or would break a dose limit
//! (`min_days_between`; by default not three days running) are left out and
//! counted in the note. Pins bypass context and dose: the clinician chose them.
//!
//! # Order and exploration
//! In safety mode, safety kernels come first (greedy order), then pins, then
//! the rest; exploration is off and every item needs clinician review.
//! Otherwise pins come first in the order given, then the rest. The rest are
//! ordered by Thompson sampling: one draw `μ + e σ z` per candidate (`e` =
//! `exploration`, so 0 is greedy) from `ChaCha8Rng::seed_from_u64(seed)`,
//! then a greedy diversity re-ranking: each next pick maximises
//! `draw - diversity × overlap × |draw|`, overlap being 1 for a family already
//! listed, else the weighted share of its target processes already covered.
//! The first pick is therefore the plain Thompson argmax.
//!
//! With `propensity_floor = f > 0` and exploration on, the first pick is
//! instead uniform over the `m` candidates with probability `m·f` (capped at
//! 1): a real ε-mixture, so the logged probability is the true one and never
//! below `f` (HeartSteps-style clipping for off-policy evaluation).
//!
//! # Propensities
//! The propensity of an item is the probability that the policy puts it first.
//! Pins or safety kernels make the first place deterministic (1 for it, 0 for
//! the others); so does greedy ranking (1 for the argmax). Otherwise it is
//! estimated by `propensity_draws` Monte Carlo replays of the Thompson draw
//! on a separate deterministic stream (a xoshiro256++ generator seeded from
//! ChaCha stream 1 of the same seed, so it never perturbs the ranking draw),
//! with one uniform pseudo-draw added so no candidate the policy can pick is
//! logged at probability 0 (which would make inverse-propensity weights
//! infinite). Replays skip candidates that cannot reach the current best
//! within 4 sd (chance below 3e-5 per replay). Over all candidates the
//! propensities sum to 1; a test checks them against how often the policy
//! really puts each item first over many seeds.
//!
//! # Honesty
//! When the first two ranked items' scores differ by less than
//! `indistinguishable_z` standard deviations of their difference, the ranking
//! says they cannot be told apart (the Personalized Advantage Index lesson:
//! most people have no meaningful advantage between the top options).
//! `sufficiency` counts the network pairs and direct benefit signals behind
//! an item; `own_weight` is the share of its posterior precision that comes
//! from the person (direct signals, plus the prior in proportion to the
//! own-data weight of the targeted processes' influences, since the prior mean
//! is personalised through them). A summary says "in their data" only when
//! the person has the process's `min_observations` pairs and their own data
//! carry at least half of its influence estimate.

use crate::catalog::{Condition, Intervention};
use crate::engine::{CompiledCatalog, CompiledIntervention, Engine};
use crate::error::{EngineError, Result};
use crate::follow::{self, FollowEstimate, Infeasible, Z90};
use crate::ids::{InterventionId, ProcessId, Timestamp};
use crate::observe::Context;
use crate::response::{self, Belief};
use crate::state::{InterventionRecord, PersonState};
use crate::view::PersonView;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

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

/// Most items a ranking returns.
pub const MAX_K: usize = 20;
const HABITUATION_WINDOW_DAYS: f64 = 14.0;
const ROTATION_WINDOW_DAYS: f64 = 28.0;
const PLATEAU_MIN_POINTS: u32 = 6;
const PLATEAU_MIN_DAYS: f64 = 21.0;
const PLATEAU_SLOPE: f64 = 0.5;
const ROTATION_PENALTY: f64 = 0.75;
const DECLINE_PENALTY: f64 = 0.7;
const DECLINES_COUNTED: u32 = 3;
/// The personal factor may reverse or amplify the population effect, within limits.
const FACTOR_MIN: f64 = -1.0;
const FACTOR_MAX: f64 = 4.0;
/// Beyond a factor sd of 1 the prior already says "could be anything"; more
/// width would only add noise to exploration.
const FACTOR_VAR_CAP: f64 = 1.0;
const SUMMARY_MAX_CHARS: usize = 200;
/// Tail cut of the propensity replays, in sd (one-sided mass 3.2e-5).
const TAIL_SD: f64 = 4.0;
const AID_TYPICAL_TOP: usize = 3;
const LOW_FOLLOW: f64 = 0.4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    Safety,
    Pinned(usize),
    Ranked,
}

struct Candidate<'a> {
    /// Position in the catalogue (and in the compiled catalogue).
    pos: usize,
    iv: &'a Intervention,
    record: Option<&'a InterventionRecord>,
    group: Group,
    contraindicated: Vec<Condition>,
    benefit: Belief,
    follow: FollowEstimate,
    score: f64,
    score_sd: f64,
    builds_on_strength: bool,
    signals: u32,
    own_weight: f64,
}

#[derive(Default)]
struct Dropped {
    too_long: u32,
    needs_session: u32,
    dose: u32,
    contraindicated: u32,
    pins: Vec<InterventionId>,
}

/// Ranks interventions; see the module docs for the policy.
pub(crate) fn rank(
    engine: &Engine,
    state: &PersonState,
    query: &RecommendQuery,
) -> Result<Ranking> {
    Ok(rank_inner(engine, state, query)?.0)
}

/// The ranking plus the propensity of every candidate (in catalogue order),
/// for tests and off-policy evaluation.
pub(crate) fn rank_all(
    engine: &Engine,
    state: &PersonState,
    query: &RecommendQuery,
) -> Result<(Ranking, Vec<(InterventionId, f64)>)> {
    let (ranking, all) = rank_inner(engine, state, query)?;
    let ids = engine.interventions().all();
    Ok((
        ranking,
        all.into_iter()
            .map(|(pos, p)| (ids[pos].id.clone(), p))
            .collect(),
    ))
}

/// The ranking plus `(catalogue position, propensity)` of every candidate.
fn rank_inner(
    engine: &Engine,
    state: &PersonState,
    query: &RecommendQuery,
) -> Result<(Ranking, Vec<(usize, f64)>)> {
    for p in &query.pin {
        if engine.interventions().get(p).is_none() {
            return Err(EngineError::UnknownIntervention(p.to_string()));
        }
    }
    let config = engine.config();
    let k = query.k.min(MAX_K);
    let safety_mode = state.risk_active();
    let exploration = if safety_mode { 0.0 } else { config.exploration };
    let view = PersonView::new(engine, state);
    let pairs = view.estimate.n;

    let excluded: BTreeSet<&InterventionId> = query.exclude.iter().collect();
    let mut pins: Vec<&InterventionId> = Vec::new();
    for p in &query.pin {
        if !excluded.contains(p) && !pins.contains(&p) {
            pins.push(p);
        }
    }
    let mut conditions: BTreeSet<Condition> = state.conditions.iter().copied().collect();
    if safety_mode {
        conditions.extend(state.risk_flags().iter().map(|f| f.condition()));
    }
    let compiled = engine.compiled();
    let records = records_by_position(engine, state);
    let plateau = plateaued(engine, state, query.now);
    let mut rotated_families = vec![false; compiled.families];
    if plateau {
        for (pos, r) in records.iter().enumerate() {
            if let Some(r) = r
                && count_recent(&r.recent_done, query.now, ROTATION_WINDOW_DAYS) > 0
            {
                rotated_families[compiled.items[pos].family] = true;
            }
        }
    }
    let neighbours = engine
        .neighbours()
        .map(|idx| idx.nearest(&view.levels, config.neighbours))
        .unwrap_or_default();
    let follow_prior = &engine.population().follow;
    let person_follow = follow::predict(follow_prior, &state.follow.person, None, 0.0)
        .probability
        .mean;

    let mut dropped = Dropped::default();
    let mut cands: Vec<Candidate<'_>> = Vec::with_capacity(engine.interventions().len());
    for (pos, iv) in engine.interventions().all().iter().enumerate() {
        if excluded.contains(&iv.id) {
            continue;
        }
        let pin_pos = pins.iter().position(|p| **p == iv.id);
        let contraindicated: Vec<Condition> = iv
            .contraindications
            .iter()
            .copied()
            .filter(|c| conditions.contains(c))
            .collect();
        if safety_mode && !contraindicated.is_empty() {
            if pin_pos.is_some() {
                dropped.pins.push(iv.id.clone());
            } else {
                dropped.contraindicated += 1;
            }
            continue;
        }
        let group = match pin_pos {
            _ if safety_mode && iv.safety => Group::Safety,
            Some(i) => Group::Pinned(i),
            // Safety-path kernels are not ordinary suggestions.
            None if iv.safety => continue,
            None => Group::Ranked,
        };
        let record = records[pos];
        if group == Group::Ranked {
            match follow::feasible(iv, &query.context) {
                Err(Infeasible::TooLong) => {
                    dropped.too_long += 1;
                    continue;
                }
                Err(Infeasible::NeedsSession) => {
                    dropped.needs_session += 1;
                    continue;
                }
                Ok(()) => {}
            }
            if dose_blocked(iv, record, query.now) {
                dropped.dose += 1;
                continue;
            }
        }
        let benefit = benefit_belief(
            engine,
            &view,
            iv,
            &compiled.items[pos].targets,
            record,
            &neighbours,
            query.now,
            rotated_families[compiled.items[pos].family],
        );
        let offset = follow::offset(iv, &query.context, follow_prior);
        let follow = follow::predict(
            follow_prior,
            &state.follow.person,
            record.map(|r| &r.follow),
            offset,
        );
        cands.push(Candidate {
            pos,
            iv,
            record,
            group,
            contraindicated,
            benefit: benefit.belief,
            follow,
            score: 0.0,
            score_sd: 0.0,
            builds_on_strength: benefit.builds_on_strength,
            signals: record.map_or(0, |r| r.benefit.signals),
            own_weight: benefit.own_weight,
        });
    }

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
    let lift = follow::aid_lift(person_follow, follow_prior);
    for c in &mut cands {
        if c.iv.follow_through_aid {
            c.benefit.mean += lift * typical_benefit;
        }
        let (b, vb) = (c.benefit.mean, c.benefit.var.max(0.0));
        let f = c.follow.probability.mean;
        let sf = f * (1.0 - f) * c.follow.logit_sd;
        c.score = b * f;
        c.score_sd = (f * f * vb + b * b * sf * sf + vb * sf * sf).sqrt();
    }

    // Thompson draw on the main stream; always one normal per candidate so the
    // stream's use does not depend on the exploration level.
    let mut rng = ChaCha8Rng::seed_from_u64(query.seed);
    let draws: Vec<f64> = cands
        .iter()
        .map(|c| {
            let z: f64 = rng.sample(StandardNormal);
            c.score + exploration * c.score_sd * z
        })
        .collect();

    let mut head: Vec<usize> = (0..cands.len())
        .filter(|&i| cands[i].group == Group::Safety)
        .collect();
    head.sort_by(|&a, &b| cands[b].score.total_cmp(&cands[a].score).then(a.cmp(&b)));
    let mut pinned: Vec<(usize, usize)> = (0..cands.len())
        .filter_map(|i| match cands[i].group {
            Group::Pinned(pos) => Some((pos, i)),
            _ => None,
        })
        .collect();
    pinned.sort_unstable();
    head.extend(pinned.into_iter().map(|(_, i)| i));
    let ranked: Vec<usize> = (0..cands.len())
        .filter(|&i| cands[i].group == Group::Ranked)
        .collect();

    let floor = if exploration > 0.0 && head.is_empty() && ranked.len() > 1 {
        config.propensity_floor.min(1.0 / ranked.len() as f64)
    } else {
        0.0
    };
    let forced_first = if floor > 0.0 {
        let u: f64 = rng.random();
        (u < floor * ranked.len() as f64).then(|| ranked[rng.random_range(0..ranked.len())])
    } else {
        None
    };
    let wanted = k.saturating_sub(head.len());
    let processes = engine.processes().len();
    let order = diversify(
        compiled,
        &cands,
        &head,
        &ranked,
        &draws,
        config.diversity,
        forced_first,
        wanted,
        processes,
    );
    let greedy: BTreeSet<usize> = if exploration > 0.0 {
        let means: Vec<f64> = cands.iter().map(|c| c.score).collect();
        diversify(
            compiled,
            &cands,
            &head,
            &ranked,
            &means,
            config.diversity,
            None,
            wanted,
            processes,
        )
        .into_iter()
        .collect()
    } else {
        order.iter().copied().collect()
    };

    // Propensities of being first.
    let mut propensity = vec![0.0; cands.len()];
    if let Some(&first) = head.first() {
        propensity[first] = 1.0;
    } else if !ranked.is_empty() {
        if exploration == 0.0 || ranked.len() == 1 {
            let best = argmax(&ranked, |i| cands[i].score);
            propensity[best] = 1.0;
        } else {
            let means: Vec<f64> = ranked.iter().map(|&i| cands[i].score).collect();
            let sds: Vec<f64> = ranked
                .iter()
                .map(|&i| exploration * cands[i].score_sd)
                .collect();
            let mut stream = ChaCha8Rng::seed_from_u64(query.seed);
            stream.set_stream(1);
            let mut mc = Xoshiro256pp::seed_from(&mut stream);
            let p = first_place_probabilities(&means, &sds, config.propensity_draws, &mut mc);
            let m = ranked.len() as f64;
            for (&i, pi) in ranked.iter().zip(p) {
                propensity[i] = (1.0 - m * floor) * pi + floor;
            }
        }
    }

    let list: Vec<usize> = head.iter().chain(&order).copied().take(k).collect();
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

    let items: Vec<RankedItem> = list
        .iter()
        .map(|&i| {
            let c = &cands[i];
            let exploratory = exploration > 0.0 && c.group == Group::Ranked && !greedy.contains(&i);
            ranked_item(
                engine,
                &view,
                c,
                draws[i],
                propensity[i],
                exploratory,
                safety_mode,
                pairs,
            )
        })
        .collect();
    let any_exploratory = items.iter().any(|it| it.exploratory);

    let note = ranking_note(NoteFacts {
        cands: &cands,
        ranked_in_list: &ranked_in_list,
        safety_mode,
        indistinguishable,
        pairs,
        plateau,
        dropped: &dropped,
        context: &query.context,
        empty: items.is_empty(),
        any_exploratory,
    });
    let all = cands
        .iter()
        .zip(&propensity)
        .map(|(c, p)| (c.pos, *p))
        .collect();
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

/// The benefit belief of one intervention for the person, with adjustments.
struct BenefitView {
    belief: Belief,
    builds_on_strength: bool,
    own_weight: f64,
}

#[allow(clippy::too_many_arguments)] // reason: one private call site; the facts are independent
fn benefit_belief(
    engine: &Engine,
    view: &PersonView<'_>,
    iv: &Intervention,
    targets: &[(usize, f64)],
    record: Option<&InterventionRecord>,
    neighbours: &[(usize, f64)],
    now: Timestamp,
    rotated: bool,
) -> BenefitView {
    let config = engine.config();
    let population = engine.population();
    let pop_leverage = engine.population_leverage();
    let (mut lev, mut lev_var, mut pop, mut strength, mut repair) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut own, mut wsum) = (0.0, 0.0);
    for &(p, weight) in targets {
        let pv = &view.processes[p];
        lev += weight * pv.leverage;
        lev_var += weight * weight * pv.leverage_var;
        pop += weight * pop_leverage[p];
        strength += weight * pv.strength;
        repair += weight * pv.repair;
        own += weight * pv.own_weight;
        wsum += weight;
    }
    let network_own = if wsum > 0.0 { own / wsum } else { 0.0 };
    let pop = pop.max(1e-9);
    let factor = (lev / pop).clamp(FACTOR_MIN, FACTOR_MAX);
    let factor_var = (lev_var / (pop * pop)).min(FACTOR_VAR_CAP);
    let base = response::pooled_base(
        population.population_effect(&iv.id, iv.prior_effect),
        response::neighbour_evidence(population, neighbours, &iv.id),
        config.neighbour_weight,
    );
    let prior = Belief {
        mean: base * factor,
        var: population.benefit_noise_sd.powi(2) / config.prior_strength.max(1e-6)
            + base * base * factor_var,
    };
    let stats = record.map(|r| r.benefit).unwrap_or_default();
    let post = response::posterior(prior, &stats);
    let prior_prec = 1.0 / prior.var.max(1e-9);
    let own_weight = ((stats.precision + prior_prec * network_own)
        / (stats.precision + prior_prec))
        .clamp(0.0, 1.0);

    let mut mult = 1.0;
    if let Some(r) = record {
        let reps = count_recent(&r.recent_done, now, HABITUATION_WINDOW_DAYS);
        mult *= (1.0 - config.habituation).powi(reps as i32);
        mult *= DECLINE_PENALTY.powi(r.clinician_declined.min(DECLINES_COUNTED) as i32);
    }
    if rotated {
        mult *= ROTATION_PENALTY;
    }
    let belief = if post.mean > 0.0 {
        Belief {
            mean: post.mean * mult,
            var: post.var * mult * mult,
        }
    } else {
        post
    };
    BenefitView {
        belief,
        builds_on_strength: strength > repair && strength > 0.0,
        own_weight,
    }
}

/// Greedy diversity re-ranking of `ranked` after the fixed `head`; returns up
/// to `wanted` indices. `forced_first`, if any, takes the first place.
#[allow(clippy::too_many_arguments)] // reason: called twice (sampled and greedy) with the same facts
fn diversify(
    compiled: &CompiledCatalog,
    cands: &[Candidate<'_>],
    head: &[usize],
    ranked: &[usize],
    values: &[f64],
    diversity: f64,
    forced_first: Option<usize>,
    wanted: usize,
    processes: usize,
) -> Vec<usize> {
    let mut cover = Coverage::new(compiled.families, processes);
    for &h in head {
        cover.add(&compiled.items[cands[h].pos]);
    }
    let mut left: Vec<usize> = ranked.to_vec();
    let mut out = Vec::with_capacity(wanted.min(left.len()));
    while out.len() < wanted && !left.is_empty() {
        let pick = match forced_first {
            Some(f) if out.is_empty() && left.contains(&f) => f,
            _ => argmax(&left, |i| {
                values[i]
                    - diversity * cover.overlap(&compiled.items[cands[i].pos]) * values[i].abs()
            }),
        };
        left.retain(|&i| i != pick);
        cover.add(&compiled.items[cands[pick].pos]);
        out.push(pick);
    }
    out
}

/// Families listed, and per process the largest target weight listed so far.
struct Coverage {
    families: Vec<bool>,
    processes: Vec<f64>,
}

impl Coverage {
    fn new(families: usize, processes: usize) -> Self {
        Self {
            families: vec![false; families],
            processes: vec![0.0; processes],
        }
    }

    fn add(&mut self, iv: &CompiledIntervention) {
        self.families[iv.family] = true;
        for &(p, w) in &iv.targets {
            self.processes[p] = self.processes[p].max(w);
        }
    }

    /// 1 for a family already listed, else the weighted share of its targets
    /// already covered.
    fn overlap(&self, iv: &CompiledIntervention) -> f64 {
        if self.families[iv.family] {
            return 1.0;
        }
        let (mut hit, mut total) = (0.0, 0.0);
        for &(p, w) in &iv.targets {
            hit += w.min(self.processes[p]);
            total += w;
        }
        if total > 0.0 { hit / total } else { 0.0 }
    }
}

/// The index in `among` with the largest `value`; ties go to the earliest.
fn argmax(among: &[usize], value: impl Fn(usize) -> f64) -> usize {
    let mut best = among[0];
    let mut best_v = value(best);
    for &i in &among[1..] {
        let v = value(i);
        if v > best_v {
            best = i;
            best_v = v;
        }
    }
    best
}

/// Monte Carlo probability that each of `means + sds × z` is the largest, with
/// one uniform pseudo-draw so every entry stays positive; sums to 1.
///
/// Each replay draws the candidate with the highest mean first, then visits
/// the others in decreasing order of `mean + 4 sd` and stops once none of the
/// rest can reach the current best within 4 sd: a candidate skipped that way
/// had less than a 3e-5 chance to win that replay, far below the Monte Carlo
/// error, and the saving is what keeps ranking within its latency budget.
fn first_place_probabilities(
    means: &[f64],
    sds: &[f64],
    draws: usize,
    rng: &mut impl Rng,
) -> Vec<f64> {
    let m = means.len();
    let mut counts = vec![0u32; m];
    if m > 0 {
        let lead = means
            .iter()
            .zip(sds)
            .map(|(u, s)| u - TAIL_SD * s)
            .fold(f64::NEG_INFINITY, f64::max);
        let top = argmax(&(0..m).collect::<Vec<_>>(), |i| means[i]);
        // (upper bound, mean, sd, index) of every other candidate that can win.
        let mut rest: Vec<(f64, f64, f64, usize)> = (0..m)
            .filter(|&i| i != top)
            .map(|i| (means[i] + TAIL_SD * sds[i], means[i], sds[i], i))
            .filter(|c| c.0 >= lead)
            .collect();
        rest.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.3.cmp(&b.3)));
        for _ in 0..draws {
            let z: f64 = rng.sample(StandardNormal);
            let mut best = top;
            let mut best_v = means[top] + sds[top] * z;
            for &(upper, mean, sd, i) in &rest {
                if upper < best_v {
                    break;
                }
                let z: f64 = rng.sample(StandardNormal);
                let v = mean + sd * z;
                if v > best_v {
                    best = i;
                    best_v = v;
                }
            }
            counts[best] += 1;
        }
    }
    let total = draws as f64 + 1.0;
    counts
        .iter()
        .map(|&c| (f64::from(c) + 1.0 / m as f64) / total)
        .collect()
}

/// xoshiro256++ (Blackman & Vigna 2018) for the propensity replays: thousands
/// of normals per ranking, several times cheaper than ChaCha8 and ample for
/// estimating probabilities. Seeded from ChaCha stream 1 of the query seed, so
/// the replays are deterministic and never touch the ranking's own stream.
struct Xoshiro256pp {
    s: [u64; 4],
}

impl Xoshiro256pp {
    fn seed_from(rng: &mut ChaCha8Rng) -> Self {
        let mut s = [0u64; 4];
        for x in &mut s {
            *x = rng.next_u64();
        }
        if s == [0; 4] {
            // The all-zero state is the generator's one fixed point.
            s[0] = 1;
        }
        Self { s }
    }
}

impl RngCore for Xoshiro256pp {
    fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// The person's record of each catalogue intervention, by catalogue position.
/// Both the catalogue and the state's map are ordered by id, so one merge pass
/// replaces fifty map lookups on strings.
fn records_by_position<'s>(
    engine: &Engine,
    state: &'s PersonState,
) -> Vec<Option<&'s InterventionRecord>> {
    let all = engine.interventions().all();
    debug_assert!(
        all.windows(2).all(|w| w[0].id < w[1].id),
        "catalogue is ordered by id"
    );
    let mut out = vec![None; all.len()];
    let mut records = state.interventions.iter().peekable();
    for (pos, iv) in all.iter().enumerate() {
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

/// Timestamps in `ts` at most `window` days before `now` (and not after it).
fn count_recent(ts: &[Timestamp], now: Timestamp, window: f64) -> u32 {
    ts.iter()
        .filter(|t| {
            let age = now.days_since(**t);
            (0.0..=window).contains(&age)
        })
        .count() as u32
}

/// Dose limits: `min_days_between` days since the last recommendation or
/// completion, or by default not three days running.
fn dose_blocked(iv: &Intervention, record: Option<&InterventionRecord>, now: Timestamp) -> bool {
    let Some(r) = record else {
        return false;
    };
    let ages = r
        .recent_recommended
        .iter()
        .chain(&r.recent_done)
        .map(|t| now.days_since(*t))
        .filter(|age| *age >= 0.0);
    if iv.min_days_between > 0 {
        let limit = f64::from(iv.min_days_between);
        ages.into_iter().any(|age| age < limit)
    } else {
        let (mut today, mut yesterday) = (false, false);
        for age in ages {
            today |= age < 1.0;
            yesterday |= (1.0..2.0).contains(&age);
        }
        today && yesterday
    }
}

/// Well-being has levelled off below the recovery asymptote.
fn plateaued(engine: &Engine, state: &PersonState, now: Timestamp) -> bool {
    let Some((t0, _)) = state.outcome.first else {
        return false;
    };
    let Some(track) = state.variables.last() else {
        return false;
    };
    let level = track.level.unwrap_or(0.0);
    state.outcome.count >= PLATEAU_MIN_POINTS
        && now.days_since(t0) >= PLATEAU_MIN_DAYS
        && track.trend.per_week().abs() < PLATEAU_SLOPE
        && level < engine.population().recovery.asymptote
}

#[allow(clippy::too_many_arguments)] // reason: one private call site assembling an item from independent facts
fn ranked_item(
    engine: &Engine,
    view: &PersonView<'_>,
    c: &Candidate<'_>,
    draw: f64,
    propensity: f64,
    exploratory: bool,
    safety_mode: bool,
    pairs: u32,
) -> RankedItem {
    let sd = c.benefit.var.max(0.0).sqrt();
    let targets: Vec<TargetExplanation> =
        c.iv.targets
            .iter()
            .filter_map(|t| {
                let p = engine.processes().index_of(&t.process)?;
                let pv = &view.processes[p];
                Some(TargetExplanation {
                    process: t.process.clone(),
                    weight: t.weight,
                    influence: pv.influence,
                    adaptive_level: pv.adaptive,
                    maladaptive_level: pv.maladaptive,
                    headroom: pv.headroom,
                })
            })
            .collect();
    let requires_clinician_review =
        safety_mode || c.iv.requires_clinician || !c.contraindicated.is_empty();
    let (times_recommended, times_done, mean_helpfulness) = match c.record {
        Some(r) => (r.recommended, r.done + r.partly, r.mean_helpfulness()),
        None => (0, 0, None),
    };
    let summary = item_summary(
        engine,
        view,
        c,
        safety_mode,
        pairs,
        times_done,
        mean_helpfulness,
    );
    RankedItem {
        intervention: c.iv.id.clone(),
        score: draw,
        benefit: Interval {
            mean: c.benefit.mean,
            lower: c.benefit.mean - Z90 * sd,
            upper: c.benefit.mean + Z90 * sd,
        },
        follow_through: c.follow.probability,
        targets,
        propensity,
        pinned: matches!(c.group, Group::Pinned(_)),
        requires_clinician_review,
        exploratory,
        builds_on_strength: c.builds_on_strength,
        times_recommended,
        times_done,
        mean_helpfulness,
        sufficiency: Sufficiency {
            observations: pairs + c.signals,
            own_weight: c.own_weight,
        },
        summary,
    }
}

fn condition_label(c: Condition) -> &'static str {
    match c {
        Condition::TraumaHistory => "trauma history",
        Condition::Dissociation => "dissociation",
        Condition::PsychosisHistory => "psychosis history",
        Condition::Bipolar => "bipolar disorder",
        Condition::Seizures => "seizures",
        Condition::Cardiac => "a cardiac condition",
        Condition::Respiratory => "a respiratory condition",
        Condition::Pregnancy => "pregnancy",
        Condition::UnstableMedical => "an unstable medical condition",
        Condition::DrowsyDrivingRisk => "drowsy-driving risk",
        Condition::ExerciseRestriction => "exercise restriction",
        Condition::AcuteSuicidality => "acute suicidality",
        Condition::ActivePsychosis => "active psychosis",
        Condition::Intoxication => "intoxication",
    }
}

/// Plain-language rationale, at most ~200 characters, most important first.
fn item_summary(
    engine: &Engine,
    view: &PersonView<'_>,
    c: &Candidate<'_>,
    safety_mode: bool,
    pairs: u32,
    times_done: u32,
    helpfulness: Option<f64>,
) -> String {
    // The target that carries most of this person's expected gain.
    let main =
        c.iv.targets
            .iter()
            .filter_map(|t| {
                let p = engine.processes().index_of(&t.process)?;
                Some((
                    t.weight * view.processes[p].leverage.max(0.0) + 1e-12 * t.weight,
                    p,
                ))
            })
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, p)| p);
    let mut parts: Vec<String> = Vec::new();
    if c.group == Group::Safety {
        parts.push(
            "Safety first: risk flag in the latest assessment; go through it with the person now."
                .into(),
        );
    }
    if let Some(p) = main {
        let process = &engine.processes().all()[p];
        let pv = &view.processes[p];
        let name = process.display_name.as_str();
        let levels = match (pv.adaptive, pv.maladaptive) {
            (Some(a), Some(m)) => format!("{a:.0} adaptive, {m:.0} maladaptive"),
            (Some(a), None) => format!("adaptive {a:.0}"),
            (None, Some(m)) => format!("maladaptive {m:.0}"),
            (None, None) => "not yet rated".into(),
        };
        parts.push(if c.builds_on_strength {
            format!("Builds on {name}, a strength ({levels}).")
        } else {
            format!("Targets {name} ({levels}).")
        });
        if !c.contraindicated.is_empty() && !safety_mode {
            let what: Vec<&str> = c
                .contraindicated
                .iter()
                .map(|x| condition_label(*x))
                .collect();
            parts.push(format!(
                "Clinician review: caution with {}.",
                what.join(", ")
            ));
        } else if c.iv.requires_clinician && c.group != Group::Safety {
            parts.push("Clinician-led.".into());
        }
        if pairs >= process.min_observations && pv.own_weight >= 0.5 {
            parts.push(format!(
                "In their data +10 there goes with {:+.1} well-being ({pairs} obs).",
                pv.influence.mean
            ));
        } else if c.signals > 0 {
            parts.push(format!(
                "Learning from their feedback ({} reports); population evidence otherwise.",
                c.signals
            ));
        } else {
            parts.push("Population evidence so far.".into());
        }
    }
    if times_done > 0 {
        parts.push(match helpfulness {
            Some(h) => format!("Done {times_done}x, rated {h:.0}/100 helpful."),
            None => format!("Done {times_done}x."),
        });
    } else if c.follow.probability.mean < LOW_FOLLOW {
        parts.push("Follow-through may be hard; keep it small.".into());
    }
    let mut out = String::new();
    for part in parts {
        let extra = if out.is_empty() { 0 } else { 1 };
        if out.chars().count() + extra + part.chars().count() > SUMMARY_MAX_CHARS {
            if out.is_empty() {
                out = part.chars().take(SUMMARY_MAX_CHARS - 1).collect::<String>() + "…";
            }
            continue;
        }
        if extra == 1 {
            out.push(' ');
        }
        out.push_str(&part);
    }
    out
}

struct NoteFacts<'a> {
    cands: &'a [Candidate<'a>],
    ranked_in_list: &'a [usize],
    safety_mode: bool,
    indistinguishable: bool,
    pairs: u32,
    plateau: bool,
    dropped: &'a Dropped,
    context: &'a Context,
    empty: bool,
    any_exploratory: bool,
}

fn ranking_note(f: NoteFacts<'_>) -> String {
    let mut parts: Vec<String> = Vec::new();
    if f.safety_mode {
        parts.push("Risk flag in the latest assessment: safety interventions first, exploration off, contraindicated interventions removed; every item needs clinician review.".into());
    }
    for id in &f.dropped.pins {
        parts.push(format!(
            "Pinned `{id}` dropped: contraindicated while risk is active."
        ));
    }
    if f.empty {
        parts.push("No intervention fits this request.".into());
    }
    if f.indistinguishable
        && let [a, b, ..] = f.ranked_in_list
    {
        parts.push(format!(
            "The top two ({} and {}) cannot be told apart on current evidence; choose with the person.",
            f.cands[*a].iv.display_name, f.cands[*b].iv.display_name
        ));
    }
    if f.pairs < 3 {
        parts.push(
            "Few observations so far: based on their current profile and population evidence."
                .into(),
        );
    }
    if f.plateau {
        parts.push("Well-being has levelled off: favouring kernels not used recently.".into());
    }
    let d = f.dropped;
    if d.too_long > 0 {
        let minutes = f.context.minutes_available.unwrap_or(0);
        parts.push(format!(
            "{} left out as longer than the {minutes} minutes available.",
            d.too_long
        ));
    }
    if d.needs_session > 0 {
        parts.push(format!(
            "{} left out as they need a session.",
            d.needs_session
        ));
    }
    if d.dose > 0 {
        parts.push(format!(
            "{} left out as suggested too recently (dose limits).",
            d.dose
        ));
    }
    if d.contraindicated > 0 {
        parts.push(format!(
            "{} left out as contraindicated.",
            d.contraindicated
        ));
    }
    if f.any_exploratory {
        parts.push("Some items are tried to learn what works for this person.".into());
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EngineConfig;
    use crate::observe::{Completion, RiskFlag, Setting};
    use crate::testkit::*;
    use proptest::prelude::*;
    use rand::RngCore;

    #[test]
    fn first_place_probabilities_are_fair_for_ties_and_tiny_for_hopeless_items() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let p = first_place_probabilities(&[1.0, 1.0, 1.0], &[1.0, 1.0, 1.0], 3000, &mut rng);
        assert!(p.iter().all(|x| (x - 1.0 / 3.0).abs() < 0.04), "{p:?}");
        let p = first_place_probabilities(&[10.0, 0.0], &[0.1, 0.1], 200, &mut rng);
        assert!(p[0] > 0.99 && p[1] > 0.0 && p[1] < 0.01, "{p:?}");
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn xoshiro_matches_the_reference_output() {
        // Reference implementation, state {1, 2, 3, 4}.
        let mut x = Xoshiro256pp { s: [1, 2, 3, 4] };
        assert_eq!(x.next_u64(), 41_943_041);
        assert_eq!(x.next_u64(), 58_720_359);
    }

    #[test]
    fn diversity_pushes_a_second_kernel_of_the_same_family_down() {
        let pc = processes();
        let ivs = vec![
            Iv::new("a1", "fam-a", &[("cognition", 1.0)], 5, 3.0).iv,
            Iv::new("a2", "fam-a", &[("cognition", 1.0)], 5, 2.9).iv,
            Iv::new("b1", "fam-b", &[("social", 1.0)], 5, 2.0).iv,
        ];
        let ic = crate::catalog::InterventionCatalog::new(ivs, &pc).expect("valid");
        let pop = crate::response::PopulationModel::from_catalog(&ic, &pc);
        let order = |diversity: f64| {
            let cfg = EngineConfig {
                exploration: 0.0,
                diversity,
                ..EngineConfig::default()
            };
            let e = Engine::new(cfg, pc.clone(), ic.clone(), pop.clone()).expect("valid");
            let s = e.new_person(vec![]);
            e.recommend(&s, &query(3, 0.0, 1))
                .expect("ranks")
                .items
                .iter()
                .map(|i| i.intervention.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(order(0.0), ["a1", "a2", "b1"]);
        assert_eq!(order(0.8), ["a1", "b1", "a2"]);
    }

    #[test]
    fn k_is_capped_and_zero_returns_nothing() {
        let e = engine();
        let s = e.new_person(vec![]);
        assert!(
            e.recommend(&s, &query(0, 0.0, 1))
                .expect("ranks")
                .items
                .is_empty()
        );
        let r = e.recommend(&s, &query(500, 0.0, 1)).expect("ranks");
        assert!(r.items.len() <= MAX_K);
    }

    const CONDITIONS: [Condition; 3] = [
        Condition::TraumaHistory,
        Condition::Dissociation,
        Condition::Cardiac,
    ];
    const FLAGS: [RiskFlag; 5] = [
        RiskFlag::Suicidality,
        RiskFlag::SelfHarm,
        RiskFlag::CrisisContact,
        RiskFlag::Psychosis,
        RiskFlag::Intoxication,
    ];
    const PROCESSES: [&str; 3] = ["cognition", "social", "sleep"];

    type Ratings = Vec<(usize, f64, f64)>;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn pins_exclusions_safety_and_propensity_rules_always_hold(
            conds in proptest::collection::vec(0usize..3, 0..3),
            days in proptest::collection::vec(
                (proptest::collection::vec((0usize..3, 0.0f64..100.0, 0.0f64..100.0), 0..4),
                 proptest::option::of(0.0f64..100.0)),
                0..6),
            risk in proptest::option::of(0usize..5),
            feedback_in in proptest::collection::vec((0usize..9, 0u8..4, proptest::option::of(0.0f64..100.0)), 0..8),
            recs in proptest::collection::vec(0usize..9, 0..6),
            k in 0usize..12,
            pins in proptest::collection::vec(0usize..9, 0..4),
            excludes in proptest::collection::vec(0usize..9, 0..4),
            minutes in proptest::option::of(1u32..40),
            setting in proptest::option::of(0u8..3),
            seed in any::<u64>(),
            exploration in proptest::sample::select(vec![0.0, 0.3, 1.0]),
            floor in proptest::sample::select(vec![0.0, 0.05]),
            diversity in 0.0f64..1.0,
        ) {
            let e = engine_with(EngineConfig {
                exploration,
                propensity_floor: floor,
                diversity,
                propensity_draws: 50,
                ..EngineConfig::default()
            });
            let ids: Vec<InterventionId> = e.interventions().all().iter().map(|iv| iv.id.clone()).collect();
            let mut s = e.new_person(conds.iter().map(|&c| CONDITIONS[c]).collect());
            let n = days.len();
            for (i, (ratings, wellbeing)) in days.iter().enumerate() {
                let ratings: Ratings = ratings.clone();
                let named: Vec<(&str, f64, f64)> = ratings.iter().map(|(p, a, m)| (PROCESSES[*p], *a, *m)).collect();
                let mut a = assessment(i as f64, &named, *wellbeing);
                if i + 1 == n && let Some(f) = risk {
                    a.risk_flags = vec![FLAGS[f]];
                }
                e.observe_assessment(&mut s, &a).expect("valid assessment");
            }
            for (j, (iv, c, h)) in feedback_in.iter().enumerate() {
                let completion = match c {
                    0 => Some(Completion::Done),
                    1 => Some(Completion::Partly),
                    2 => Some(Completion::NotDone),
                    _ => None,
                };
                let fb = feedback(ids[*iv].as_str(), n as f64 - 0.5 + 0.01 * j as f64, completion, *h);
                e.observe_feedback(&mut s, &fb).expect("valid feedback");
            }
            for r in &recs {
                e.observe_recommendation(&mut s, &ids[*r], day(n as f64 - 0.2)).expect("known");
            }
            let mut q = query(k, n as f64, seed);
            q.pin = pins.iter().map(|&i| ids[i].clone()).collect();
            q.exclude = excludes.iter().map(|&i| ids[i].clone()).collect();
            q.context.minutes_available = minutes;
            q.context.setting = setting.map(|x| [Setting::InSession, Setting::BetweenSessions, Setting::App][x as usize]);

            let (r, all_p) = rank_all(&e, &s, &q).expect("ranks");
            prop_assert_eq!(&e.recommend(&s, &q).expect("ranks"), &r, "deterministic");

            let safety = risk.is_some() && n > 0;
            prop_assert_eq!(r.safety_mode, safety);
            let mut conditions: Vec<Condition> = s.conditions.clone();
            if safety {
                conditions.push(FLAGS[risk.unwrap_or(0)].condition());
                prop_assert_eq!(r.exploration, 0.0);
            }
            let iv_of = |id: &InterventionId| e.interventions().get(id).expect("catalogue item");
            let contraindicated = |id: &InterventionId| {
                iv_of(id).contraindications.iter().any(|c| conditions.contains(c))
            };

            // Size, uniqueness, exclusions.
            prop_assert!(r.items.len() <= k.min(MAX_K));
            let returned: Vec<&InterventionId> = r.items.iter().map(|i| &i.intervention).collect();
            let unique: BTreeSet<&InterventionId> = returned.iter().copied().collect();
            prop_assert_eq!(unique.len(), returned.len());
            for x in &q.exclude {
                prop_assert!(!returned.contains(&x), "excluded {} returned", x);
            }

            // The fixed head: safety kernels (in safety mode), then pins in order.
            let mut prefix: Vec<&InterventionId> = Vec::new();
            if safety {
                prefix.extend(ids.iter().filter(|id| iv_of(id).safety && !q.exclude.contains(id)));
            }
            for p in &q.pin {
                let dropped = q.exclude.contains(p)
                    || prefix.contains(&p)
                    || (safety && contraindicated(p));
                if !dropped {
                    prefix.push(p);
                }
            }
            let head = prefix.len().min(r.items.len());
            prop_assert_eq!(&returned[..head], &prefix[..head]);
            prop_assert!(head == prefix.len() || r.items.len() == k.min(MAX_K));

            for it in &r.items {
                let iv = iv_of(&it.intervention);
                if safety {
                    prop_assert!(!contraindicated(&it.intervention), "contraindicated {} in safety mode", it.intervention);
                    prop_assert!(it.requires_clinician_review);
                    prop_assert!(!it.exploratory);
                } else {
                    if contraindicated(&it.intervention) {
                        prop_assert!(it.requires_clinician_review);
                        prop_assert!(it.summary.contains("Clinician review"), "{}", it.summary);
                    }
                    prop_assert!(!iv.safety || it.pinned, "safety kernel outside the safety path");
                }
                let filtered = !(it.pinned || (safety && iv.safety));
                if filtered && let Some(m) = minutes {
                    prop_assert!(iv.effort_minutes <= m);
                }
                for p in [it.follow_through.lower, it.follow_through.mean, it.follow_through.upper, it.propensity] {
                    prop_assert!((0.0..=1.0).contains(&p), "probability {}", p);
                }
                prop_assert!(it.follow_through.lower <= it.follow_through.mean + 1e-12);
                prop_assert!(it.follow_through.mean <= it.follow_through.upper + 1e-12);
                prop_assert!(it.benefit.lower <= it.benefit.mean && it.benefit.mean <= it.benefit.upper);
                prop_assert!((0.0..=1.0).contains(&it.sufficiency.own_weight));
                prop_assert!(!it.summary.is_empty() && it.summary.chars().count() <= SUMMARY_MAX_CHARS);
            }

            // Propensities.
            let sum_returned: f64 = r.items.iter().map(|i| i.propensity).sum();
            prop_assert!(sum_returned <= 1.0 + 1e-9);
            let sum_all: f64 = all_p.iter().map(|(_, p)| p).sum();
            if all_p.is_empty() {
                prop_assert_eq!(sum_all, 0.0);
            } else {
                prop_assert!((sum_all - 1.0).abs() < 1e-9, "sum {}", sum_all);
            }
            if r.exploration == 0.0 || !prefix.is_empty() {
                prop_assert!(all_p.iter().all(|(_, p)| *p == 0.0 || *p == 1.0));
            } else if floor > 0.0 && all_p.len() > 1 {
                let f = floor.min(1.0 / all_p.len() as f64);
                prop_assert!(all_p.iter().all(|(_, p)| *p >= f - 1e-12));
            }
            if let Some(first) = r.items.first()
                && (r.exploration == 0.0 || !prefix.is_empty())
            {
                prop_assert_eq!(first.propensity, 1.0);
            }
        }
    }
}

//! The runner: simulates people one at a time, each on its own random streams
//! derived from (seed, person index), so a report does not depend on how
//! people are split across calls or threads: `run_people(0..n)` equals the
//! merge of `run_people(0..k)` and `run_people(k..n)`.
//!
//! Streams per person (ChaCha8, one key per seed, one stream id per person
//! and purpose): *traits* (who the person is), *nature* (every exogenous draw
//! per tick, drawn whether used or not), *decisions* (the situation and the
//! person's reaction at each decision, drawn before the policy chooses) and
//! *policy* (handed to the policy). Two policies run with the same seed
//! therefore meet the same people in the same lives (common random numbers),
//! and differences between them are the policies' doing.

use super::person::{DecisionDraws, NatureDraws, Person};
use super::policy::{GroundTruth, Intake, PersonView, Policy};
use super::report::SimReport;
use super::scenario::Scenario;
use super::world::{World, normal, sigmoid, uniform};
use super::{Catalogs, SimRng};
use crate::error::{EngineError, Result};
use crate::ids::{InterventionId, Timestamp};
use crate::observe::{Assessment, Completion, Context, Feedback, Outcome, Rating, RiskFlag};
use rand::SeedableRng;
use std::ops::Range;

/// Purposes of a person's random streams.
#[derive(Clone, Copy)]
enum Stream {
    Traits = 0,
    Nature = 1,
    Decisions = 2,
    Policy = 3,
}

const STREAMS_PER_PERSON: u64 = 4;
/// The world's stream id, outside every person's.
const WORLD_STREAM: u64 = u64::MAX;
/// Person `i`'s capacity-report stream is `CAPACITY_STREAM - i`, far above
/// every person's block.
const CAPACITY_STREAM: u64 = u64::MAX - 1;

/// A simulated world for one scenario and seed: the population truths are drawn
/// when it is built; people are drawn on demand by index. Immutable and
/// `Sync`, so callers may share it across threads and run disjoint ranges of
/// people in parallel.
#[derive(Debug, Clone)]
pub struct Simulation {
    world: World,
    catalogs: Catalogs,
    seed: u64,
}

/// Reusable per-runner buffers (no allocation per tick or decision).
struct Workspace {
    person: Person,
    nature: NatureDraws,
    assessment: Assessment,
    feedback: Feedback,
}

/// A decision whose dose lands at the next tick.
#[derive(Clone, Copy)]
struct Pending {
    kernel: usize,
    dose: f64,
    context: Context,
    draws: DecisionDraws,
}

impl Simulation {
    /// Builds the world for `scenario` on `catalogs` with `seed`.
    pub fn new(scenario: &Scenario, catalogs: &Catalogs, seed: u64) -> Result<Self> {
        let mut rng = stream(seed, WORLD_STREAM);
        let world = World::new(scenario, catalogs, &mut rng)?;
        Ok(Self {
            world,
            catalogs: catalogs.clone(),
            seed,
        })
    }

    /// The scenario.
    pub fn scenario(&self) -> &Scenario {
        &self.world.scenario
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Simulates people `people` (indices) for `weeks` weeks, each with a new
    /// policy from `factory` (called once more for the report's policy name).
    /// Person `i` is the same person in every call with this simulation's
    /// seed, so disjoint ranges may run on different threads and be merged.
    pub fn run_people<P, F>(&self, people: Range<u64>, weeks: u32, factory: F) -> Result<SimReport>
    where
        P: Policy,
        F: Fn() -> P,
    {
        if weeks == 0 || weeks > 520 {
            return Err(EngineError::InvalidConfig(format!(
                "weeks must be in 1..=520, got {weeks}"
            )));
        }
        let name = factory().name().to_owned();
        let mut report = SimReport::new(&self.world.scenario.name, &name, self.seed, weeks);
        let mut ws = Workspace {
            person: Person::default(),
            nature: NatureDraws::default(),
            assessment: Assessment {
                at: Timestamp::default(),
                ratings: self
                    .world
                    .process_ids
                    .iter()
                    .map(|id| Rating {
                        process: id.clone(),
                        adaptive: None,
                        maladaptive: None,
                    })
                    .collect(),
                outcomes: Vec::with_capacity(self.world.scenario.measurement.outcomes.len()),
                risk_flags: Vec::with_capacity(1),
            },
            feedback: Feedback {
                intervention: InterventionId(String::with_capacity(64)),
                at: Timestamp::default(),
                completion: None,
                minutes_spent: None,
                helpfulness: None,
                distress_before: None,
                distress_after: None,
                post_ratings: Vec::new(),
                clinician: None,
                context: Context::default(),
            },
        };
        for person in people {
            let mut policy = factory();
            self.simulate_person(person, weeks, &mut policy, &mut ws, &mut report)?;
        }
        Ok(report)
    }

    fn rng(&self, person: u64, purpose: Stream) -> SimRng {
        stream(
            self.seed,
            person
                .wrapping_mul(STREAMS_PER_PERSON)
                .wrapping_add(purpose as u64),
        )
    }

    fn simulate_person<P: Policy>(
        &self,
        person: u64,
        weeks: u32,
        policy: &mut P,
        ws: &mut Workspace,
        rep: &mut SimReport,
    ) -> Result<()> {
        let world = &self.world;
        let sc = &world.scenario;
        let interventions = &self.catalogs.interventions;
        let mut nature_rng = self.rng(person, Stream::Nature);
        let mut decision_rng = self.rng(person, Stream::Decisions);
        let mut policy_rng = self.rng(person, Stream::Policy);
        // Its own stream, outside the per-person block, so that reporting
        // capacity or not leaves every other draw as it was.
        let mut capacity_rng = stream(self.seed, CAPACITY_STREAM - person);
        {
            let mut traits = self.rng(person, Stream::Traits);
            ws.person.reset(world, &mut traits);
        }
        let p = &mut ws.person;
        let origin = world.time_of(0);
        let clock = sc.measurement.clock;
        policy.start(&Intake {
            person,
            conditions: &p.conditions,
            now: origin,
        })?;

        let s = world.ticks_per_week;
        let n_ticks = weeks * s;
        let mut active = true;
        let mut pending: Option<Pending> = None;
        let mut to_report: Option<(Pending, f64)> = None;
        let mut has_latest = false;
        let mut flagged = false;
        let mut regret = 0.0;
        let mut decisions = 0u32;
        let apw_ln = f64::from(s).ln();

        for t in 0..=n_ticks {
            ws.nature.fill(world, &mut nature_rng);
            let draws = &ws.nature;
            if t > 0 {
                let dose = pending.map(|d| (d.kernel, d.dose));
                if let Some(d) = pending
                    && d.dose > 0.0
                    && world.kernels[d.kernel].safety
                {
                    p.safety_pending = true;
                }
                let felt = p.evolve(world, draws, dose).felt;
                if p.risk_started {
                    rep.totals.risk_episodes += 1;
                }
                if let Some(d) = pending.take() {
                    // What the person would rate it, and what it does to
                    // their confidence: success breeds follow-through.
                    let r = &sc.response;
                    let perceived = 50.0
                        + r.helpfulness_per_point * felt
                        + p.help_bias
                        + r.helpfulness_noise_sd * d.draws.helpfulness;
                    if d.dose > 0.0 {
                        let helped = if perceived > 50.0 { 1.0 } else { 0.0 };
                        p.self_efficacy += 0.3 * (helped - p.self_efficacy);
                    } else {
                        p.self_efficacy += 0.1 * (0.0 - p.self_efficacy);
                    }
                    to_report = Some((d, perceived));
                }
            }

            if t.is_multiple_of(s) {
                let week = (t / s) as usize;
                // Drop-out, checked once a week: more likely when not
                // improving, not following through, or measured heavily.
                if t > 0 && active {
                    let o = &sc.dropout;
                    let short = if week as u32 > o.grace_weeks {
                        ((p.w_start + 3.0 - p.w_level) / 10.0).clamp(0.0, 3.0)
                    } else {
                        0.0
                    };
                    let hazard = o.weekly_hazard
                        * (p.drop_log
                            + o.not_improving * short
                            + o.low_follow_through * (0.5 - p.ft_recent) * 2.0
                            + o.burden * apw_ln)
                            .exp();
                    if draws.dropout < 1.0 - (-hazard).exp() {
                        active = false;
                        rep.totals.dropouts += 1;
                    }
                }
                let wk = &mut rep.weekly[week];
                wk.wellbeing_sum += p.w_level;
                wk.regret_sum += regret;
                wk.active += u64::from(active);
            }

            if active {
                let now = world.time_of(t);
                if let Some((d, perceived)) = to_report.take() {
                    let fb = &mut ws.feedback;
                    let done = d.dose > 0.0;
                    let m = &sc.missing;
                    let p_report = if done {
                        m.feedback_done
                    } else {
                        m.feedback_not_done
                    };
                    if d.draws.report < p_report {
                        let kern = &world.kernels[d.kernel];
                        fb.intervention.0.clone_from(&kern.id.0);
                        fb.at = clock.stamp(origin, Timestamp(now.0 - 3_600_000), true);
                        fb.completion = Some(if d.dose >= 1.0 {
                            Completion::Done
                        } else if done {
                            Completion::Partly
                        } else {
                            Completion::NotDone
                        });
                        fb.minutes_spent = done.then(|| {
                            (kern.effort * d.dose * (0.3 * d.draws.spent).exp())
                                .round()
                                .max(1.0) as u32
                        });
                        fb.helpfulness = (done && d.draws.report_helpfulness < m.helpfulness)
                            .then(|| perceived.clamp(0.0, 100.0).round());
                        fb.context = d.context;
                        fill_post_ratings(&mut fb.post_ratings, world, p, &d, &self.catalogs);
                        policy.observe_feedback(fb)?;
                        rep.totals.feedback_sent += 1;
                    }
                }

                rep.totals.assessments_due += 1;
                let m = &sc.missing;
                let z = p.miss_logit
                    + m.burden * f64::from(p.answered) / 26.0
                    + m.life_load * p.load
                    + m.low_wellbeing * (50.0 - p.w) / 20.0
                    + if p.in_risk { m.in_risk } else { 0.0 };
                if draws.miss < sigmoid(z) {
                    rep.totals.assessments_missing += 1;
                } else {
                    p.answered += 1;
                    fill_assessment(
                        &mut ws.assessment,
                        world,
                        p,
                        draws,
                        t,
                        clock.stamp(origin, now, false),
                    );
                    if policy.reads_map_posterior() {
                        note_measures(p, world, &ws.assessment);
                    }
                    flagged = !ws.assessment.risk_flags.is_empty();
                    has_latest = true;
                    observe_measured(policy, &ws.assessment, &world.scenario.measurement)?;
                }
            }

            if t < n_ticks && world.decision_occasion[(t % s) as usize] {
                let dd = DecisionDraws::draw(&mut decision_rng);
                let mut sit = p.situation(world, &dd);
                let m = &sc.measurement;
                if m.capacity_known > 0.0 && uniform(&mut capacity_rng) < m.capacity_known {
                    let reported =
                        50.0 - 20.0 * p.load + m.capacity_noise_sd * normal(&mut capacity_rng);
                    sit.context.capacity = Some(reported.clamp(0.0, 100.0).round());
                }
                p.truth(world, &sit, flagged && active, policy.reads_map_posterior());
                let safety_mode = flagged
                    && active
                    && world
                        .kernels
                        .iter()
                        .zip(&p.eligible)
                        .any(|(k, &e)| e && k.safety);
                // The best allowed expected gain, and what a uniformly random
                // allowed choice gets in expectation (the captured share's floor).
                let (mut best, mut random_sum, mut allowed) = (f64::NEG_INFINITY, 0.0, 0u32);
                for (j, k) in world.kernels.iter().enumerate() {
                    if p.eligible[j] && k.safety == safety_mode {
                        best = best.max(p.gain[j]);
                        random_sum += p.gain[j];
                        allowed += 1;
                    }
                }
                let best = best.max(0.0);
                let random_gain = if allowed > 0 {
                    random_sum / f64::from(allowed)
                } else {
                    0.0
                };
                if !active {
                    // A person who left gets nothing; the oracle's gain is lost.
                    regret += best;
                    continue;
                }
                // Decisions come 5 minutes into their occasion, a repeated ask a minute later each.
                let asked_at = |call: u32| {
                    let minutes = 5.0 + f64::from(call);
                    clock.stamp(origin, world.time_of(t).plus_days(minutes / 1440.0), true)
                };
                let now = asked_at(0);
                let mut view = PersonView {
                    person,
                    week: t / s,
                    decision: decisions,
                    now,
                    context: sit.context,
                    conditions: &p.conditions,
                    latest: has_latest.then_some(&ws.assessment),
                    latest_is_fresh: has_latest
                        && ws.assessment.at == clock.stamp(origin, world.time_of(t), false),
                    risk_flagged: flagged,
                    processes: &self.catalogs.processes,
                    interventions,
                    eligible: &p.eligible,
                    safety_mode,
                    truth: GroundTruth {
                        expected_gain: &p.gain,
                        map_expected_gain: &p.map_gain,
                        population_expected_gain: &p.pop_gain,
                        map_posterior_expected_gain: &p.post_gain,
                        follow_through: &p.follow,
                        loadings: &p.beta,
                        pole_values: &p.pole_value,
                    },
                };
                // A platform that asks again (a reloaded page) acts on its last answer.
                let calls = world.scenario.measurement.recommend_calls.max(1);
                let mut id = policy.choose(&view, &mut policy_rng)?;
                policy.observe_recommendation(&id, now)?;
                for call in 1..calls {
                    view.now = asked_at(call);
                    id = policy.choose(&view, &mut policy_rng)?;
                    policy.observe_recommendation(&id, view.now)?;
                }
                let j = interventions
                    .index_of(&id)
                    .ok_or_else(|| EngineError::UnknownIntervention(id.to_string()))?;

                decisions += 1;
                let tot = &mut rep.totals;
                tot.decisions += 1;
                tot.chosen_gain_sum += p.gain[j];
                tot.best_gain_sum += best;
                tot.random_gain_sum += random_gain;
                regret += (best - p.gain[j]).max(0.0);
                if flagged {
                    tot.risk_flagged_decisions += 1;
                    if safety_mode && !world.kernels[j].safety {
                        tot.safety_rule_violations += 1;
                    }
                } else if p.in_risk {
                    tot.missed_risk_decisions += 1;
                }
                if !p.eligible[j] {
                    tot.contraindicated_choices += 1;
                }

                let dose = p.act(world, j, &sit, &dd);
                if dose >= 1.0 {
                    tot.done += 1;
                } else if dose > 0.0 {
                    tot.partly += 1;
                }
                let wk = &mut rep.weekly[(t / s) as usize];
                wk.decisions += 1;
                wk.chosen_gain_sum += p.gain[j];
                wk.best_gain_sum += best;
                wk.random_gain_sum += random_gain;
                wk.followed += u64::from(dose > 0.0);
                p.ft_recent += 0.3 * (if dose > 0.0 { 1.0 } else { 0.0 } - p.ft_recent);
                pending = Some(Pending {
                    kernel: j,
                    dose,
                    context: sit.context,
                    draws: dd,
                });
            }
        }

        let tot = &mut rep.totals;
        let improvement = p.w_level - p.w_start;
        tot.people += 1;
        tot.improvement_sum += improvement;
        tot.improvement_sq_sum += improvement * improvement;
        tot.start_wellbeing_sum += p.w_start;
        tot.responders += u64::from(improvement >= 10.0);
        tot.deteriorated += u64::from(improvement <= -10.0);
        tot.regret_sum += regret;
        Ok(())
    }
}

/// Ratings of a done kernel's targeted processes right after it (with the
/// configured probability), reusing the buffer's entries.
fn fill_post_ratings(
    out: &mut Vec<Rating>,
    world: &World,
    p: &Person,
    d: &Pending,
    catalogs: &Catalogs,
) {
    let m = &world.scenario.measurement;
    let kern = &world.kernels[d.kernel];
    // Only the catalogue's targets are asked about; a hidden one is hidden.
    let n_targets = kern.listed;
    let wanted = if d.dose > 0.0 && d.draws.post_ratings < m.post_ratings {
        n_targets
    } else {
        0
    };
    out.truncate(wanted);
    for t in 0..wanted {
        let e = &world.entries[kern.entries.0 + 2 * t];
        let rate = |pole: usize, i: usize| {
            let noise = d.draws.post_noise.get(i).copied().unwrap_or(0.0);
            (p.x_now[pole] + m.rating_noise_sd * noise)
                .clamp(0.0, 100.0)
                .round()
        };
        let adaptive = Some(rate(e.pole, 2 * t));
        let maladaptive = Some(rate(e.pole + 1, 2 * t + 1));
        let id = &catalogs.processes.all()[e.process].id;
        match out.get_mut(t) {
            Some(r) => {
                r.process.0.clone_from(&id.0);
                r.adaptive = adaptive;
                r.maladaptive = maladaptive;
            }
            None => out.push(Rating {
                process: id.clone(),
                adaptive,
                maladaptive,
            }),
        }
    }
}

/// One stream of the ChaCha8 generator keyed by `seed`.
fn stream(seed: u64, id: u64) -> SimRng {
    let mut rng = SimRng::seed_from_u64(seed);
    rng.set_stream(id);
    rng
}

/// Gives the policy an answered occasion: as one assessment, or as ratings
/// and outcomes apart (`outcomes_apart_minutes`).
fn observe_measured<P: Policy>(
    policy: &mut P,
    a: &Assessment,
    m: &super::scenario::Measurement,
) -> Result<()> {
    if m.outcomes_apart_minutes == 0.0 || a.outcomes.is_empty() {
        return policy.observe_assessment(a);
    }
    for part in split_occasion(a, m.outcomes_apart_minutes) {
        policy.observe_assessment(&part)?;
    }
    Ok(())
}

/// One occasion as a platform sends it in two parts, in the order sent: its
/// ratings (with any risk flags) and its outcomes, the second part
/// `apart_minutes` after the first; the ratings first when positive.
pub(crate) fn split_occasion(a: &Assessment, apart_minutes: f64) -> [Assessment; 2] {
    let mut ratings = Assessment {
        outcomes: Vec::new(),
        ..a.clone()
    };
    let mut outcomes = Assessment {
        ratings: Vec::new(),
        risk_flags: Vec::new(),
        ..a.clone()
    };
    let later = Timestamp(a.at.0 + (apart_minutes.abs() * 60_000.0) as i64);
    if apart_minutes > 0.0 {
        outcomes.at = later;
        [ratings, outcomes]
    } else {
        ratings.at = later;
        [outcomes, ratings]
    }
}

/// Hands the well-being measures of an answered assessment to the
/// map-posterior oracle's data, each read back into well-being points (less
/// the instrument's known bias) with its error variance: the instrument's
/// noise on that scale and the spread of well-being's own residual.
fn note_measures(p: &mut Person, world: &World, a: &Assessment) {
    let m = &world.scenario.measurement;
    let resid = world.scenario.dynamics.wellbeing_noise_sd.powi(2);
    for o in &a.outcomes {
        let Some(spec) = m.outcomes.iter().find(|s| s.instrument == o.instrument) else {
            continue;
        };
        let (lo, hi) = spec.instrument.range();
        let unit = (o.score - lo) / (hi - lo);
        let read = if spec.instrument.higher_is_better() {
            100.0 * unit
        } else {
            100.0 * (1.0 - unit)
        };
        let sd = spec.noise_sd * 100.0 / (hi - lo);
        p.note_measure(read - spec.bias, sd * sd + resid);
    }
}

/// Writes an answered assessment into the reused buffer: every pole rated
/// with noise (some left blank), outcome instruments due at this occasion,
/// a risk flag when an episode is detected.
fn fill_assessment(
    a: &mut Assessment,
    world: &World,
    p: &Person,
    draws: &NatureDraws,
    tick: u32,
    now: Timestamp,
) {
    let m = &world.scenario.measurement;
    let item = world.scenario.missing.item;
    a.at = now;
    let rate = |pole: usize| {
        (draws.item_u[pole] >= item).then(|| {
            (p.x_now[pole] + m.rating_noise_sd * draws.rating_noise[pole])
                .clamp(0.0, 100.0)
                .round()
        })
    };
    for (k, r) in a.ratings.iter_mut().enumerate() {
        r.adaptive = rate(2 * k);
        r.maladaptive = rate(2 * k + 1);
    }
    a.outcomes.clear();
    for (i, spec) in m.outcomes.iter().enumerate() {
        if tick.is_multiple_of(spec.every) {
            let (lo, hi) = spec.instrument.range();
            let read = (p.w + spec.bias).clamp(0.0, 100.0);
            let unit = if spec.instrument.higher_is_better() {
                read / 100.0
            } else {
                1.0 - read / 100.0
            };
            let score =
                (lo + unit * (hi - lo) + spec.noise_sd * draws.outcome_noise[i]).clamp(lo, hi);
            a.outcomes.push(Outcome {
                instrument: spec.instrument,
                score: score.round(),
            });
        }
    }
    a.risk_flags.clear();
    if p.in_risk && draws.detect < world.scenario.risk.detection {
        a.risk_flags.push(RiskFlag::Suicidality);
    }
}

/// Simulates people `0..n_people` for `weeks` weeks: one world from `seed`,
/// one policy per person from `factory`.
pub fn run<P, F>(
    scenario: &Scenario,
    catalogs: &Catalogs,
    factory: F,
    n_people: u64,
    weeks: u32,
    seed: u64,
) -> Result<SimReport>
where
    P: Policy,
    F: Fn() -> P,
{
    Simulation::new(scenario, catalogs, seed)?.run_people(0..n_people, weeks, factory)
}

//! What a person's data show, for clinicians: their process map (which
//! processes move their well-being, in which direction, how sure we are and on
//! how much data), trends, the lagged network, follow-through, whether they
//! are on track.
//!
//! # Not on track
//! The expected recovery curve is an exponential approach from the person's
//! first well-being `W0` toward the population asymptote `A` (never below
//! `W0`): `E(t) = W0 + (max(A, W0) - W0) (1 - exp(-t / τ))`, after the
//! expected-recovery curves of OQ-Analyst (Lambert), with "people like them"
//! entering through the starting point. Parameters live in the population
//! model ([`RecoveryPrior`]), so a trained model can replace them.
//!
//! The verdict compares the mean of the last (up to three) outcome points with
//! the curve at the same times. Someone is *not on track* only when that mean
//! is below the curve by more than `z × sqrt(noise² / m + curve_sd²)`: single
//! measures are noisy (`noise_sd`) and the curve itself is uncertain
//! (`curve_sd`), and a false alarm costs clinician trust. Under three outcome
//! points there is no verdict. Not-on-track comes with review steps modelled
//! on the clinical support tools of the Trier Treatment Navigator and
//! OQ-Analyst (risk, alliance, formulation, barriers, change of approach),
//! ordered by what the person's own data suggest.
//!
//! # The map
//! Each process's *drive* is the well-being change that goes with 10 points of
//! improvement on it (adaptive up, maladaptive down) in the person's own
//! ratings ([`crate::map`]), with its 90% interval, the correlation of the
//! process with their well-being, and the share of the estimate that rests on
//! their own data; processes are listed by how strongly they drive this person
//! (interval-aware: a wide interval around a large value ranks below a firm
//! one). The relative value adds what feedback taught (see [`crate::benefit`]).
//!
//! # Other views
//! Levels are the smoothed (EWMA) levels, trends the discounted regression
//! slopes in points per week (see [`crate::state`]); the lagged influences
//! and edges come from the person's lagged network with 90% intervals; edges
//! are standardised by the person's within-person spread (blended with the
//! population's for short series) and exclude each variable's own
//! autoregression, which is rarely what a clinician is looking for.

use crate::benefit;
use crate::follow::{self, Situation};
use crate::ids::{ProcessId, Timestamp};
use crate::model::Model;
use crate::network;
use crate::population::RecoveryPrior;
use crate::state::{OutcomeHistory, PersonCache, PersonState};
use crate::stats::{Interval, Sufficiency, Z90};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Strongest edges reported.
const EDGES_REPORTED: usize = 10;
/// Outcome points averaged for the verdict.
const VERDICT_POINTS: usize = 3;
/// Follow-through below which review steps start with barriers.
const LOW_FOLLOW_THROUGH: f64 = 0.4;

impl RecoveryPrior {
    /// The verdict for an outcome history at `now`.
    pub fn track(
        &self,
        history: &OutcomeHistory,
        now: Timestamp,
        follow_low: bool,
        risk: bool,
    ) -> Track {
        let Some((t0, w0)) = history.first else {
            return Track {
                status: TrackStatus::InsufficientData,
                weeks_in_care: 0.0,
                expected_wellbeing: 0.0,
                observed_wellbeing: 0.0,
                suggested_steps: Vec::new(),
            };
        };
        let weeks_in_care = now.days_since(t0).max(0.0) / 7.0;
        let expected_now = self.expected(w0, weeks_in_care);
        let recent = &history.recent[history.recent.len().saturating_sub(VERDICT_POINTS)..];
        let m = recent.len().max(1) as f64;
        let observed = recent.iter().map(|(_, w)| w).sum::<f64>() / m;
        if history.count < 3 {
            return Track {
                status: TrackStatus::InsufficientData,
                weeks_in_care,
                expected_wellbeing: expected_now,
                observed_wellbeing: observed,
                suggested_steps: Vec::new(),
            };
        }
        let expected_then = recent
            .iter()
            .map(|(t, _)| self.expected(w0, t.days_since(t0) / 7.0))
            .sum::<f64>()
            / m;
        let tolerance = self.z * (self.noise_sd.powi(2) / m + self.curve_sd.powi(2)).sqrt();
        let behind = observed < expected_then - tolerance;
        Track {
            status: if behind {
                TrackStatus::NotOnTrack
            } else {
                TrackStatus::OnTrack
            },
            weeks_in_care,
            expected_wellbeing: expected_now,
            observed_wellbeing: observed,
            suggested_steps: if behind {
                review_steps(follow_low, risk)
            } else {
                Vec::new()
            },
        }
    }
}

fn review_steps(follow_low: bool, risk: bool) -> Vec<String> {
    let mut steps = Vec::new();
    if risk {
        steps.push("Review risk and the safety plan first.".to_string());
    } else {
        steps.push("Check for risk, recent stressors and life events.".to_string());
    }
    let barriers = "Ask what gets in the way; try smaller steps and if-then plans.".to_string();
    if follow_low {
        steps.push(barriers.clone());
    }
    steps.push("Discuss progress openly and check the working alliance.".to_string());
    steps.push(
        "Revisit the formulation: which processes move well-being in their data?".to_string(),
    );
    if !follow_low {
        steps.push(barriers);
    }
    steps.push("Change approach: a kernel family not tried recently.".to_string());
    steps.push("Consider consultation or a change in intensity of care.".to_string());
    steps
}

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
    /// What the lagged estimates rest on.
    pub sufficiency: Sufficiency,
    /// The person's map: well-being change that goes with 10 points of
    /// improvement on this process (adaptive up, maladaptive down), 90% interval.
    pub drive: Interval,
    /// Correlation of the process's pole contrast with well-being in their data.
    pub correlation: f64,
    /// Relative value of working on this process for them (1 = an average
    /// process), from their map and their feedback, 90% interval.
    pub relative_value: Interval,
    /// What the map rests on: assessments with an outcome, and the share of
    /// the estimate from the person's own data.
    pub map_sufficiency: Sufficiency,
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

/// Name of network variable `i` for edges: `process.adaptive`, `process.maladaptive`, `outcome`.
fn variable_name(model: &Model, i: usize) -> String {
    let d = model.variables();
    if i == network::outcome(d) {
        return "outcome".into();
    }
    let p = &model.processes().all()[i / 2];
    let pole = if i.is_multiple_of(2) {
        "adaptive"
    } else {
        "maladaptive"
    };
    format!("{}.{pole}", p.id)
}

fn per_ten(coef: f64, se: f64) -> Interval {
    Interval {
        mean: 10.0 * coef,
        lower: 10.0 * (coef - Z90 * se),
        upper: 10.0 * (coef + Z90 * se),
    }
}

/// Builds the insights; the state's layout must match the model's catalogue.
pub(crate) fn build(model: &Model, state: &PersonState, now: Timestamp) -> Insights {
    let post: Cow<'_, PersonCache> = match &state.cache {
        Some(c) if c.key.revision == state.revision && c.key.model == model.cache_tag => {
            Cow::Borrowed(c)
        }
        _ => Cow::Owned(benefit::posterior(model, state, &model.cache_tag)),
    };
    let d = model.variables();
    let full = model.estimate_network(&state.network, &(0..d).collect::<Vec<_>>());
    let outcome_row = full.row(network::outcome(d));
    let observed = |i: usize| state.variables.get(i).and_then(|v| v.level);
    let mut processes: Vec<(f64, ProcessInsight)> = model
        .processes()
        .all()
        .iter()
        .enumerate()
        .map(|(p, process)| {
            let (ia, im) = (network::adaptive(p), network::maladaptive(p));
            let pole = |i: usize| match outcome_row {
                Some(r) => per_ten(r.coef[i], r.se[i]),
                None => Interval::default(),
            };
            let trend = |i: usize| state.variables.get(i).map_or(0.0, |v| v.trend.per_week());
            let belief = &post.processes[p];
            let drive = belief.map_value.interval().scaled(10.0);
            // Interval-aware strength: how far from zero the interval stays.
            let strength = drive.mean.abs() - 0.5 * (drive.upper - drive.lower).abs() / 2.0;
            (
                strength,
                ProcessInsight {
                    process: process.id.clone(),
                    adaptive_level: observed(ia),
                    maladaptive_level: observed(im),
                    adaptive_trend: trend(ia),
                    maladaptive_trend: trend(im),
                    adaptive_influence: pole(ia),
                    maladaptive_influence: pole(im),
                    sufficiency: Sufficiency {
                        observations: full.n,
                        own_weight: full.own_weight_by_process.get(p).copied().unwrap_or(0.0),
                    },
                    drive,
                    correlation: belief.correlation,
                    relative_value: belief.value.interval(),
                    map_sufficiency: Sufficiency {
                        observations: post.map_rows,
                        own_weight: belief.own_weight,
                    },
                },
            )
        })
        .collect();
    processes.sort_by(|a, b| b.0.total_cmp(&a.0));
    let processes: Vec<ProcessInsight> = processes.into_iter().map(|(_, p)| p).collect();

    let mut edges: Vec<Edge> = Vec::new();
    for row in &full.rows {
        let sd_t = full.sd[row.target].max(1e-9);
        for (s, (&b, &se)) in row.coef.iter().zip(&row.se).enumerate() {
            if s == row.target {
                continue;
            }
            let k = full.sd[s] / sd_t;
            edges.push(Edge {
                source: variable_name(model, s),
                target: variable_name(model, row.target),
                weight: Interval {
                    mean: b * k,
                    lower: (b - Z90 * se) * k,
                    upper: (b + Z90 * se) * k,
                },
            });
        }
    }
    edges.sort_by(|a, b| b.weight.mean.abs().total_cmp(&a.weight.mean.abs()));
    edges.truncate(EDGES_REPORTED);

    let prior = &model.population().follow;
    let probability =
        follow::predict(prior, &state.follow, None, &Situation::typical(Some(now))).probability;
    let follow_through = FollowThrough {
        reported: state.follow.reported,
        done: state.follow.done,
        partly: state.follow.partly,
        probability,
    };
    let follow_low = state.follow.reported >= 3 && probability.mean < LOW_FOLLOW_THROUGH;
    let risk_active = state.risk_active();
    let track = model
        .population()
        .recovery
        .track(&state.outcome, now, follow_low, risk_active);

    let summary = summarise(
        model,
        state,
        &post,
        &processes,
        &follow_through,
        &track,
        risk_active,
    );
    Insights {
        assessment_count: state.assessments,
        processes,
        edges,
        track,
        follow_through,
        risk_active,
        summary,
    }
}

/// Smallest own-data share at which the summary speaks of the person's own map.
const OWN_MAP: f64 = 0.3;

fn summarise(
    model: &Model,
    state: &PersonState,
    post: &PersonCache,
    processes: &[ProcessInsight],
    follow: &FollowThrough,
    track: &Track,
    risk: bool,
) -> String {
    let mut parts = Vec::new();
    if risk {
        parts.push("Risk flag in the latest assessment: safety review first.".to_string());
    }
    parts.push(format!("{} assessments.", state.assessments));
    if let Some(w) = state.wellbeing() {
        let trend = state.variables.last().map_or(0.0, |v| v.trend.per_week());
        parts.push(format!("Well-being {w:.0}/100 ({trend:+.1} per week)."));
    }
    let name = |p: &ProcessInsight| {
        model
            .processes()
            .get(&p.process)
            .map_or(p.process.to_string(), |x| x.display_name.clone())
    };
    let firm: Vec<&ProcessInsight> = processes
        .iter()
        .filter(|p| p.map_sufficiency.own_weight >= OWN_MAP && p.drive.excludes_zero())
        .take(3)
        .collect();
    if firm.is_empty() {
        parts.push(
            "Too few observations for personal links yet; population evidence in use.".to_string(),
        );
    } else {
        let list: Vec<String> = firm
            .iter()
            .map(|p| format!("{} ({:+.1} per 10 points)", name(p), p.drive.mean))
            .collect();
        parts.push(format!(
            "Strongest link in their data: {} over {} assessments with an outcome.",
            list.join(", "),
            post.map_rows
        ));
    }
    if follow.reported > 0 {
        parts.push(format!(
            "Follows through about {:.0}% of the time.",
            100.0 * follow.probability.mean
        ));
    }
    parts.push(
        match track.status {
            TrackStatus::InsufficientData => "Too few outcome measures to judge progress.",
            TrackStatus::OnTrack => "On track against the expected recovery curve.",
            TrackStatus::NotOnTrack => {
                "Not on track: below the expected recovery curve; review suggested."
            }
        }
        .to_string(),
    );
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::{Completion, RiskFlag};
    use crate::testkit::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn history(points: &[(f64, f64)]) -> OutcomeHistory {
        let mut h = OutcomeHistory::default();
        for &(d, w) in points {
            h.observe(day(d), w);
        }
        h
    }

    #[test]
    fn the_expected_curve_starts_at_the_start_and_approaches_the_asymptote() {
        let r = RecoveryPrior::default();
        assert_eq!(r.expected(40.0, 0.0), 40.0);
        assert!(r.expected(40.0, 8.0) > 50.0 && r.expected(40.0, 8.0) < 65.0);
        assert!((r.expected(40.0, 200.0) - 65.0).abs() < 1e-6);
        assert_eq!(
            r.expected(80.0, 10.0),
            80.0,
            "no expected decline above the asymptote"
        );
    }

    #[test]
    fn verdicts_need_three_points_and_flag_only_clear_shortfalls() {
        let r = RecoveryPrior::default();
        let few = r.track(
            &history(&[(0.0, 40.0), (7.0, 30.0)]),
            day(14.0),
            false,
            false,
        );
        assert_eq!(few.status, TrackStatus::InsufficientData);
        assert!(few.suggested_steps.is_empty());

        let worse: Vec<(f64, f64)> = (0..8)
            .map(|w| (7.0 * f64::from(w), 40.0 - 2.0 * f64::from(w)))
            .collect();
        let t = r.track(&history(&worse), day(49.0), false, false);
        assert_eq!(t.status, TrackStatus::NotOnTrack);
        assert!(t.expected_wellbeing > t.observed_wellbeing);
        assert!(t.suggested_steps.len() >= 4);
        assert!((t.weeks_in_care - 7.0).abs() < 1e-9);

        let better: Vec<(f64, f64)> = (0..8)
            .map(|w| (7.0 * f64::from(w), 40.0 + 3.0 * f64::from(w)))
            .collect();
        assert_eq!(
            r.track(&history(&better), day(49.0), false, false).status,
            TrackStatus::OnTrack
        );

        // Flat for three weeks: a little behind the curve, but within noise.
        let flat: Vec<(f64, f64)> = (0..4).map(|w| (7.0 * f64::from(w), 40.0)).collect();
        assert_eq!(
            r.track(&history(&flat), day(21.0), false, false).status,
            TrackStatus::OnTrack
        );

        // With low follow-through and risk, the steps start with risk then barriers.
        let t = r.track(&history(&worse), day(49.0), true, true);
        assert!(t.suggested_steps[0].contains("safety plan"));
        assert!(t.suggested_steps[1].contains("in the way"));
    }

    #[test]
    fn insights_name_the_process_that_drives_wellbeing_with_intervals() {
        let e = engine();
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut s = e.new_person(vec![]);
        let mut prev: f64 = 50.0;
        for d in 0..200 {
            let cog: f64 = rng.random_range(10.0..90.0);
            let soc: f64 = rng.random_range(10.0..90.0);
            let w = (50.0 + 0.5 * (prev - 50.0) + rng.random_range(-5.0f64..5.0)).clamp(0.0, 100.0);
            let a = assessment(
                f64::from(d),
                &[
                    ("cognition", cog, 100.0 - cog),
                    ("social", soc, 100.0 - soc),
                    ("sleep", 50.0, 50.0),
                ],
                Some(w),
            );
            e.observe_assessment(&mut s, &a).expect("valid");
            prev = cog;
        }
        e.observe_feedback(
            &mut s,
            &feedback("defuse", 200.0, Some(Completion::Done), Some(70.0)),
        )
        .expect("valid");
        let ins = e.insights(&s, day(201.0));
        assert_eq!(ins.assessment_count, 200);
        assert_eq!(ins.processes[0].process.as_str(), "cognition");
        let cog = &ins.processes[0];
        assert!(
            cog.adaptive_influence.lower > 0.0,
            "{:?}",
            cog.adaptive_influence
        );
        assert!(
            cog.maladaptive_influence.upper < 0.0,
            "{:?}",
            cog.maladaptive_influence
        );
        assert!(cog.sufficiency.own_weight > 0.8);
        assert_eq!(cog.sufficiency.observations, 199);
        let edge = ins
            .edges
            .iter()
            .find(|x| x.source == "cognition.adaptive" && x.target == "outcome")
            .expect("a strongest edge");
        assert!(edge.weight.lower > 0.0);
        assert!(ins.edges.iter().all(|x| x.source != x.target));
        assert!(ins.edges.len() <= EDGES_REPORTED);
        assert!(
            ins.summary
                .contains("Strongest link in their data: Cognition"),
            "{}",
            ins.summary
        );
        assert_eq!(ins.follow_through.reported, 1);
        assert_eq!(ins.follow_through.done, 1);
        assert!(!ins.risk_active);
        assert_ne!(ins.track.status, TrackStatus::InsufficientData);
    }

    #[test]
    fn cold_start_insights_are_honest_about_what_they_rest_on() {
        let e = engine();
        let mut s = e.new_person(vec![]);
        let mut a = assessment(0.0, &[("cognition", 30.0, 70.0)], Some(40.0));
        a.risk_flags = vec![RiskFlag::SelfHarm];
        e.observe_assessment(&mut s, &a).expect("valid");
        let ins = e.insights(&s, day(1.0));
        assert!(ins.risk_active);
        assert!(ins.summary.starts_with("Risk flag"));
        assert!(
            ins.summary.contains("population evidence"),
            "{}",
            ins.summary
        );
        assert_eq!(ins.track.status, TrackStatus::InsufficientData);
        assert!(
            ins.processes
                .iter()
                .all(|p| p.sufficiency.observations == 0 && p.sufficiency.own_weight == 0.0)
        );
        let cog = ins
            .processes
            .iter()
            .find(|p| p.process.as_str() == "cognition")
            .expect("listed");
        assert_eq!(cog.adaptive_level, Some(30.0));
        let social = ins
            .processes
            .iter()
            .find(|p| p.process.as_str() == "social")
            .expect("listed");
        assert_eq!(social.adaptive_level, None);
    }

    #[test]
    fn trends_are_reported_in_points_per_week() {
        let e = engine();
        let mut s = e.new_person(vec![]);
        for d in 0..21 {
            let v = 30.0 + f64::from(d);
            e.observe_assessment(
                &mut s,
                &assessment(f64::from(d), &[("sleep", v, 100.0 - v)], Some(v)),
            )
            .expect("valid");
        }
        let ins = e.insights(&s, day(21.0));
        let sleep = ins
            .processes
            .iter()
            .find(|p| p.process.as_str() == "sleep")
            .expect("listed");
        assert!(
            (sleep.adaptive_trend - 7.0).abs() < 1e-6,
            "{}",
            sleep.adaptive_trend
        );
        assert!((sleep.maladaptive_trend + 7.0).abs() < 1e-6);
    }
}

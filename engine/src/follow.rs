//! Follow-through: the probability that this person does this intervention now,
//! from their history, its effort, the context and how their life is going,
//! with a population prior.
//!
//! # Model
//! A hierarchical logistic model:
//! `logit P(do) = logit(population mean) + offset + u + b·x + v_j`, where
//! - `offset` holds the known covariates at population strength: effort
//!   (minutes, on a log scale against a 10-minute reference), how much of the
//!   available time it takes, how well its modality fits the setting, and the
//!   capacity the platform reports for the person now, if it does;
//! - `u` is how much this person follows through in general and `b` how
//!   differently from the population they react to effort relative to the time
//!   they have (`x = ln(effort / minutes available)`, 10 minutes when unknown):
//!   two people with the same completion rate may differ in whether a
//!   30-minute exercise is out of reach;
//! - `v_j` is how this intervention in particular goes for them.
//!
//! `(u, b)` is a correlated Gaussian, `v_j` one per intervention. A logistic
//! rather than a Beta count because the covariates are the point: the same
//! person who never does a 30-minute exercise may well do a 2-minute one, and
//! because effects add on the logit scale, an effort penalty costs more when
//! the person's baseline is low, which is exactly why low-effort variants rise
//! for people who rarely follow through.
//!
//! # Updates and forgetting
//! Each report is one observation `y` (done = 1, partly = 0.5 as a soft label,
//! not done = 0). The update is an assumed-density filter (a one-step
//! Laplace / extended-Kalman update): the likelihood is linearised at the
//! current mean and the surprise is shared between `u`, `b` and `v_j` in
//! proportion to their uncertainty along the report's covariates. Life
//! changes, so `u` drifts: its variance grows by `drift_per_week` per week
//! between reports (a random walk), which lets old reports fade and the
//! estimate follow a person through a hard month. `O(1)`, deterministic.
//!
//! Predictions integrate the logit uncertainty: the mean uses the probit
//! approximation `σ(μ / sqrt(1 + π s² / 8))`, the 90% interval is exact for a
//! logit-normal (`σ(μ ± 1.645 s)`).

use crate::catalog::{Intervention, Modality};
use crate::ids::Timestamp;
use crate::observe::{Completion, Context, Setting};
use crate::stats::{Interval, Z90, logit, sigmoid};
use serde::{Deserialize, Serialize};

/// Effort (minutes) of the "typical" intervention the person-level estimate refers to.
pub const REFERENCE_EFFORT_MINUTES: f64 = 10.0;

/// Population priors and covariate effects of follow-through (logit scale).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FollowPrior {
    /// Population probability of doing a typical 10-minute intervention.
    pub mean: f64,
    /// Between-person sd of the person effect.
    pub person_sd: f64,
    /// Between-person sd of the person's effort sensitivity (logit per
    /// e-fold of effort relative to the minutes they have).
    pub person_slope_sd: f64,
    /// Sd of a person's deviation on one intervention.
    pub item_sd: f64,
    /// Logit lost per e-fold of effort above the reference.
    pub effort_slope: f64,
    /// Logit lost when the intervention takes all the minutes available
    /// (nothing up to half of them).
    pub time_pressure: f64,
    /// Logit lost when the modality fits the setting only loosely.
    pub modality_mismatch: f64,
    /// Logit gained when it is done in session with the clinician.
    pub in_session_boost: f64,
    /// Logit gained on later interventions by an if-then plan (Gollwitzer &
    /// Sheeran 2006: d = 0.65, about 1.2 on the log-odds scale; we take 1.0).
    pub aid_lift: f64,
    /// Logit gained per 50 points of reported capacity above 50 (0-100; the
    /// platform's optional signal of how much room the person's life leaves).
    pub capacity_slope: f64,
    /// Variance added to the person effect per week (random-walk forgetting).
    pub drift_per_week: f64,
}

impl Default for FollowPrior {
    fn default() -> Self {
        Self {
            mean: 0.6,
            person_sd: 1.0,
            person_slope_sd: 0.5,
            item_sd: 0.6,
            effort_slope: 0.5,
            time_pressure: 1.5,
            modality_mismatch: 0.5,
            in_session_boost: 1.0,
            aid_lift: 1.0,
            capacity_slope: 0.8,
            drift_per_week: 0.03,
        }
    }
}

/// A Gaussian belief about one logit-scale effect.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogitEffect {
    /// Posterior mean.
    pub mean: f64,
    /// Posterior variance.
    pub var: f64,
}

impl LogitEffect {
    /// The prior belief with standard deviation `sd`.
    pub fn prior(sd: f64) -> Self {
        Self {
            mean: 0.0,
            var: sd * sd,
        }
    }
}

/// Person-level follow-through state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowState {
    /// Means of the person effect `u` and effort-sensitivity deviation `b`.
    pub person: [f64; 2],
    /// Their covariance, packed `(var u, cov(u, b), var b)`.
    pub cov: [f64; 3],
    /// Time of the latest report (forgetting runs from here).
    pub last_at: Option<Timestamp>,
    /// Reports folded in.
    pub reported: u32,
    /// Reported done.
    pub done: u32,
    /// Reported partly done.
    pub partly: u32,
}

impl FollowState {
    /// A person with no reports.
    pub fn new(prior: &FollowPrior) -> Self {
        Self {
            person: [0.0, 0.0],
            cov: [prior.person_sd.powi(2), 0.0, prior.person_slope_sd.powi(2)],
            last_at: None,
            reported: 0,
            done: 0,
            partly: 0,
        }
    }

    /// The person-level covariance at `now`, with the drift since the last
    /// report (capped at the population spread: forgetting never makes a
    /// person less known than a stranger).
    fn cov_at(&self, prior: &FollowPrior, now: Option<Timestamp>) -> [f64; 3] {
        let mut c = self.cov;
        if let (Some(last), Some(now)) = (self.last_at, now) {
            let weeks = (now.days_since(last) / 7.0).max(0.0);
            c[0] = (c[0] + prior.drift_per_week * weeks).min(prior.person_sd.powi(2).max(c[0]));
        }
        c
    }
}

/// Why an intervention cannot be done in a context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Infeasible {
    /// Longer than the minutes available.
    TooLong,
    /// Needs the clinician or a session, and the setting is not a session.
    NeedsSession,
}

/// Whether the intervention can be done at all in this context.
pub fn feasible(iv: &Intervention, ctx: &Context) -> Result<(), Infeasible> {
    if let Some(m) = ctx.minutes_available
        && iv.effort_minutes > m
    {
        return Err(Infeasible::TooLong);
    }
    match ctx.setting {
        Some(Setting::App | Setting::BetweenSessions)
            if iv.requires_clinician || iv.modality == Modality::InSession =>
        {
            Err(Infeasible::NeedsSession)
        }
        _ => Ok(()),
    }
}

/// The observation a completion report stands for.
pub fn completion_score(c: Completion) -> f64 {
    match c {
        Completion::Done => 1.0,
        Completion::Partly => 0.5,
        Completion::NotDone => 0.0,
    }
}

/// Known covariates of doing `iv` in `ctx`, on the logit scale, at population strength.
pub fn offset(iv: &Intervention, ctx: &Context, prior: &FollowPrior) -> f64 {
    let effort = f64::from(iv.effort_minutes.max(1));
    let mut o = -prior.effort_slope * (effort / REFERENCE_EFFORT_MINUTES).ln();
    if let Some(m) = ctx.minutes_available {
        let share = effort / f64::from(m.max(1));
        // Saturates at twice the penalty: a pinned or safety kernel longer
        // than the time now is unlikely now, not impossible later.
        o -= prior.time_pressure * ((share - 0.5) / 0.5).clamp(0.0, 2.0);
    }
    o += match (ctx.setting, iv.modality) {
        (Some(Setting::InSession), Modality::InSession) => prior.in_session_boost,
        (Some(Setting::App), Modality::BetweenSessions) => -prior.modality_mismatch,
        _ => 0.0,
    };
    if let Some(c) = ctx.capacity {
        o += prior.capacity_slope * (c.clamp(0.0, 100.0) - 50.0) / 50.0;
    }
    o
}

/// The person-level covariate of `iv` in `ctx`: effort relative to the
/// minutes the person has (the reference effort when unknown), on a log scale.
pub fn effort_covariate(iv: &Intervention, ctx: &Context) -> f64 {
    let effort = f64::from(iv.effort_minutes.max(1));
    let minutes = ctx
        .minutes_available
        .map_or(REFERENCE_EFFORT_MINUTES, |m| f64::from(m.max(1)));
    (effort / minutes).ln()
}

/// A follow-through prediction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FollowEstimate {
    /// Mean probability and 90% interval.
    pub probability: Interval,
    /// Mean of the linear predictor.
    pub logit_mean: f64,
    /// Sd of the linear predictor.
    pub logit_sd: f64,
}

/// What one prediction or report is about: the offset at population strength,
/// the person-level covariate and when.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Situation {
    /// Known covariates ([`offset`]).
    pub offset: f64,
    /// Effort relative to the minutes available ([`effort_covariate`]).
    pub effort: f64,
    /// When (for forgetting); `None` ignores drift.
    pub at: Option<Timestamp>,
}

impl Situation {
    /// The situation of doing `iv` in `ctx` at `at`.
    pub fn of(iv: &Intervention, ctx: &Context, prior: &FollowPrior, at: Timestamp) -> Self {
        Self {
            offset: offset(iv, ctx, prior),
            effort: effort_covariate(iv, ctx),
            at: Some(at),
        }
    }

    /// A typical 10-minute intervention with nothing known about the context.
    pub fn typical(at: Option<Timestamp>) -> Self {
        Self {
            offset: 0.0,
            effort: 0.0,
            at,
        }
    }
}

/// Predicts follow-through from the person's state, the (optional) person x
/// intervention effect and the situation.
pub fn predict(
    prior: &FollowPrior,
    person: &FollowState,
    item: Option<&LogitEffect>,
    sit: &Situation,
) -> FollowEstimate {
    let item = item.copied().unwrap_or(LogitEffect::prior(prior.item_sd));
    let c = person.cov_at(prior, sit.at);
    let x = sit.effort;
    let mu = logit(prior.mean) + sit.offset + person.person[0] + person.person[1] * x + item.mean;
    let var = (c[0] + 2.0 * x * c[1] + x * x * c[2] + item.var).max(0.0);
    let sd = var.sqrt();
    let lower = sigmoid(mu - Z90 * sd);
    let upper = sigmoid(mu + Z90 * sd);
    // The probit approximation drifts in the far tails; the mean of a
    // logit-normal always lies inside its central 90%.
    let mean = sigmoid(mu / (1.0 + std::f64::consts::PI * var / 8.0).sqrt()).clamp(lower, upper);
    FollowEstimate {
        probability: Interval { mean, lower, upper },
        logit_mean: mu,
        logit_sd: sd,
    }
}

/// Folds one report `y` in [0, 1] into the person and item effects.
pub fn update(
    prior: &FollowPrior,
    person: &mut FollowState,
    item: &mut LogitEffect,
    sit: &Situation,
    y: f64,
) {
    let y = y.clamp(0.0, 1.0);
    let c = person.cov_at(prior, sit.at);
    let x = sit.effort;
    let eta = logit(prior.mean) + sit.offset + person.person[0] + person.person[1] * x + item.mean;
    let p = sigmoid(eta);
    // Curvature floor: a near-certain prediction still learns a little from a surprise.
    let h = (p * (1.0 - p)).max(1e-4);
    let g = y - p;
    // Σ·z for the observation's covariates z = (1, x, 1) over (u, b, v).
    let su = c[0] + x * c[1];
    let sb = c[1] + x * c[2];
    let sv = item.var;
    let s = su + x * sb + sv + 1.0 / h;
    let step = g / h / s;
    person.person[0] += su * step;
    person.person[1] += sb * step;
    item.mean += sv * step;
    // Σ - Σz z'Σ / s, keeping the person block and the item variance (the
    // cross-covariance between them is dropped: an assumed-density projection).
    person.cov = [
        (c[0] - su * su / s).max(1e-9),
        c[1] - su * sb / s,
        (c[2] - sb * sb / s).max(1e-9),
    ];
    item.var = (sv - sv * sv / s).max(1e-9);
    if sit.at.is_some() {
        person.last_at = sit.at;
    }
}

/// Increase in follow-through probability that an if-then plan brings to a
/// later intervention whose probability is `p`.
pub fn aid_lift(p: f64, prior: &FollowPrior) -> f64 {
    (sigmoid(logit(p) + prior.aid_lift) - p).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::InterventionId;
    use proptest::prelude::*;

    fn iv(effort: u32, modality: Modality) -> Intervention {
        Intervention {
            id: InterventionId::from("x"),
            display_name: "X".into(),
            family: "f".into(),
            instructions: "do".into(),
            targets: vec![],
            effort_minutes: effort,
            modality,
            requires_clinician: false,
            contraindications: vec![],
            min_days_between: 0,
            evidence: "e".into(),
            prior_effect: 2.0,
            built_in: false,
            safety: false,
            follow_through_aid: false,
        }
    }

    fn at(days: f64) -> Timestamp {
        Timestamp(0).plus_days(20_000.0 + days)
    }

    #[test]
    fn cold_start_predicts_the_population_mean_for_the_reference_effort() {
        let prior = FollowPrior::default();
        let st = FollowState::new(&prior);
        let e = predict(&prior, &st, None, &Situation::typical(None));
        // Uncertainty pulls the mean toward 0.5 a little but not past it.
        assert!(e.probability.mean > 0.5 && e.probability.mean <= 0.6);
        assert!(
            e.probability.lower < e.probability.mean && e.probability.mean < e.probability.upper
        );
    }

    #[test]
    fn longer_and_tighter_fitting_interventions_are_less_likely() {
        let prior = FollowPrior::default();
        let none = Context::default();
        let short = offset(&iv(3, Modality::App), &none, &prior);
        let long = offset(&iv(30, Modality::BetweenSessions), &none, &prior);
        assert!(short > 0.0 && long < 0.0);
        let tight = Context {
            minutes_available: Some(32),
            ..Context::default()
        };
        assert!(offset(&iv(30, Modality::BetweenSessions), &tight, &prior) < long);
        let app = Context {
            setting: Some(Setting::App),
            ..Context::default()
        };
        assert!(offset(&iv(30, Modality::BetweenSessions), &app, &prior) < long);
        let stretched = Context {
            capacity: Some(10.0),
            ..Context::default()
        };
        assert!(offset(&iv(30, Modality::BetweenSessions), &stretched, &prior) < long);
    }

    #[test]
    fn feasibility_follows_time_and_setting() {
        let app = Context {
            minutes_available: Some(5),
            setting: Some(Setting::App),
            capacity: None,
        };
        assert_eq!(feasible(&iv(3, Modality::App), &app), Ok(()));
        assert_eq!(
            feasible(&iv(10, Modality::App), &app),
            Err(Infeasible::TooLong)
        );
        assert_eq!(
            feasible(&iv(3, Modality::InSession), &app),
            Err(Infeasible::NeedsSession)
        );
        let session = Context {
            setting: Some(Setting::InSession),
            ..Context::default()
        };
        assert_eq!(feasible(&iv(50, Modality::InSession), &session), Ok(()));
    }

    #[test]
    fn reports_move_the_estimate_in_their_direction_and_generalise_to_other_items() {
        let prior = FollowPrior::default();
        let mut up = FollowState::new(&prior);
        let mut down = FollowState::new(&prior);
        let mut item_up = LogitEffect::prior(prior.item_sd);
        let mut item_down = LogitEffect::prior(prior.item_sd);
        for d in 0..6 {
            let sit = Situation {
                at: Some(at(f64::from(d))),
                ..Situation::typical(None)
            };
            update(&prior, &mut up, &mut item_up, &sit, 1.0);
            update(&prior, &mut down, &mut item_down, &sit, 0.0);
        }
        let now = Situation::typical(Some(at(6.0)));
        let p_up = predict(&prior, &up, Some(&item_up), &now).probability.mean;
        let p_down = predict(&prior, &down, Some(&item_down), &now)
            .probability
            .mean;
        assert!(p_up > 0.8, "{p_up}");
        assert!(p_down < 0.3, "{p_down}");
        let other_down = predict(&prior, &down, None, &now).probability.mean;
        assert!(other_down < 0.45, "{other_down}");
        assert!(up.cov[0] < prior.person_sd.powi(2));
    }

    #[test]
    fn a_person_who_skips_long_exercises_but_does_short_ones_learns_a_steeper_effort_slope() {
        let prior = FollowPrior::default();
        let mut st = FollowState::new(&prior);
        let ctx = Context {
            minutes_available: Some(10),
            ..Context::default()
        };
        for d in 0..12 {
            let (effort, y) = if d % 2 == 0 { (30, 0.0) } else { (2, 1.0) };
            let i = iv(effort, Modality::App);
            let sit = Situation::of(&i, &ctx, &prior, at(f64::from(d)));
            let mut item = LogitEffect::prior(prior.item_sd);
            update(&prior, &mut st, &mut item, &sit, y);
        }
        assert!(st.person[1] < -0.2, "{:?}", st.person);
        let long = Situation::of(&iv(30, Modality::App), &ctx, &prior, at(12.0));
        let short = Situation::of(&iv(2, Modality::App), &ctx, &prior, at(12.0));
        let fresh = FollowState::new(&prior);
        let gap = |s: &FollowState| {
            predict(&prior, s, None, &short).probability.mean
                - predict(&prior, s, None, &long).probability.mean
        };
        assert!(
            gap(&st) > gap(&fresh) + 0.1,
            "{} vs {}",
            gap(&st),
            gap(&fresh)
        );
    }

    #[test]
    fn old_reports_fade_so_the_estimate_follows_a_change() {
        let prior = FollowPrior::default();
        let mut st = FollowState::new(&prior);
        let mut item = LogitEffect::prior(prior.item_sd);
        for d in 0..10 {
            let sit = Situation::typical(Some(at(f64::from(d))));
            update(&prior, &mut st, &mut item, &sit, 1.0);
        }
        let tight = st.cov[0];
        let later = predict(&prior, &st, None, &Situation::typical(Some(at(200.0))));
        let soon = predict(&prior, &st, None, &Situation::typical(Some(at(10.0))));
        assert!(later.logit_sd > soon.logit_sd);
        assert!(later.logit_sd <= prior.person_sd.hypot(prior.item_sd) + 1e-9);
        assert!(tight < prior.person_sd.powi(2));
    }

    #[test]
    fn effort_costs_more_when_follow_through_is_low() {
        let prior = FollowPrior::default();
        let ratio = |u: f64| {
            let mut person = FollowState::new(&prior);
            person.person[0] = u;
            person.cov = [0.1, 0.0, 0.01];
            let sit = |effort| Situation {
                offset: offset(&iv(effort, Modality::App), &Context::default(), &prior),
                effort: effort_covariate(&iv(effort, Modality::App), &Context::default()),
                at: None,
            };
            predict(&prior, &person, None, &sit(30)).probability.mean
                / predict(&prior, &person, None, &sit(3)).probability.mean
        };
        assert!(ratio(-2.0) < ratio(1.5));
    }

    #[test]
    fn aid_lift_is_larger_when_follow_through_is_middling_or_low_than_when_high() {
        let prior = FollowPrior::default();
        assert!(aid_lift(0.3, &prior) > aid_lift(0.95, &prior));
        assert!(aid_lift(0.5, &prior) > 0.15);
    }

    proptest! {
        #[test]
        fn probabilities_stay_in_the_unit_interval(
            reports in proptest::collection::vec((0u8..3, -3.0f64..3.0), 0..40),
            off in -6.0f64..6.0,
        ) {
            let prior = FollowPrior::default();
            let mut st = FollowState::new(&prior);
            let mut item = LogitEffect::prior(prior.item_sd);
            for (i, (r, x)) in reports.iter().enumerate() {
                let sit = Situation { offset: off, effort: *x, at: Some(at(i as f64)) };
                update(&prior, &mut st, &mut item, &sit, f64::from(*r) / 2.0);
                prop_assert!(st.cov[0] > 0.0 && st.cov[2] > 0.0 && item.var > 0.0);
                prop_assert!(st.cov[1].powi(2) <= st.cov[0] * st.cov[2] * (1.0 + 1e-9) + 1e-12);
            }
            let e = predict(&prior, &st, Some(&item), &Situation { offset: off, effort: 1.0, at: None });
            let p = e.probability;
            prop_assert!((0.0..=1.0).contains(&p.lower));
            prop_assert!((0.0..=1.0).contains(&p.mean));
            prop_assert!((0.0..=1.0).contains(&p.upper));
            prop_assert!(p.lower <= p.mean + 1e-12 && p.mean <= p.upper + 1e-12);
        }
    }
}

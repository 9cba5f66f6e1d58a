//! Follow-through: the probability that this person does this intervention now,
//! from their history, its effort and the context, with a population prior.
//!
//! # Model
//! A hierarchical logistic model:
//! `logit P(do) = logit(population mean) + u_person + v_person,intervention + offset`,
//! where `offset` holds the known covariates: effort (minutes, on a log scale
//! against a 10-minute reference), how much of the available time it takes,
//! and how well its modality fits the setting (an in-session kernel done with
//! the clinician is almost always done; homework squeezed into an app moment
//! less so). `u` (how much this person follows through in general) and `v`
//! (how this intervention in particular goes for them, i.e. past success) are
//! Gaussian on the logit scale with population priors.
//!
//! A logistic rather than a Beta-Bernoulli model because the covariates are
//! the point: the same person who never does a 30-minute exercise may well do
//! a 2-minute one, and a Beta count cannot say so. Because effects add on the
//! logit scale, an effort penalty costs proportionally more when the person's
//! baseline is low, which is exactly why low-effort variants rise for people
//! who rarely follow through.
//!
//! # Updates
//! Each report is one observation `y` (done = 1, partly = 0.5 as a soft label,
//! not done = 0). The update is an assumed-density filter (a one-step Laplace /
//! extended-Kalman update): the likelihood is linearised at the current mean
//! and credit for a surprise is split between `u` and `v` in proportion to
//! their variances, so early reports mostly teach about the person, later ones
//! about the intervention. `O(1)`, order-dependent but deterministic, and close
//! to the exact posterior for the handful of reports a person produces.
//!
//! Predictions integrate the logit uncertainty: the mean uses the probit
//! approximation `σ(μ / sqrt(1 + π s² / 8))`, the 90% interval is exact for a
//! logit-normal (`σ(μ ± 1.645 s)`).

use crate::catalog::{Intervention, Modality};
use crate::observe::{Completion, Context, Setting};
use crate::rank::Interval;
use serde::{Deserialize, Serialize};

/// Effort (minutes) of the "typical" intervention the person-level estimate refers to.
pub const REFERENCE_EFFORT_MINUTES: f64 = 10.0;

/// z of the 95th percentile of the normal, for 90% intervals.
pub const Z90: f64 = 1.644_853_626_951_472_2;

/// Population priors and covariate effects of follow-through (logit scale).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowPrior {
    /// Population probability of doing a typical 10-minute intervention.
    pub mean: f64,
    /// Between-person sd of the person effect.
    pub person_sd: f64,
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
}

impl Default for FollowPrior {
    fn default() -> Self {
        Self {
            mean: 0.6,
            person_sd: 1.0,
            item_sd: 0.7,
            effort_slope: 0.5,
            time_pressure: 1.5,
            modality_mismatch: 0.5,
            in_session_boost: 1.0,
            aid_lift: 1.0,
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
    /// The person effect `u`.
    pub person: LogitEffect,
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
            person: LogitEffect::prior(prior.person_sd),
            reported: 0,
            done: 0,
            partly: 0,
        }
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

/// Known covariates of doing `iv` in `ctx`, on the logit scale.
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
    o
}

/// Logistic function.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Log-odds of a probability, kept finite.
pub fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
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

/// Predicts follow-through from the person effect, the (optional) person x
/// intervention effect and the covariate offset.
pub fn predict(
    prior: &FollowPrior,
    person: &LogitEffect,
    item: Option<&LogitEffect>,
    offset: f64,
) -> FollowEstimate {
    let item = item.copied().unwrap_or(LogitEffect::prior(prior.item_sd));
    let mu = logit(prior.mean) + person.mean + item.mean + offset;
    let var = (person.var + item.var).max(0.0);
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
    person: &mut LogitEffect,
    item: &mut LogitEffect,
    offset: f64,
    y: f64,
) {
    let y = y.clamp(0.0, 1.0);
    let eta = logit(prior.mean) + person.mean + item.mean + offset;
    let p = sigmoid(eta);
    // Curvature floor: a near-certain prediction still learns a little from a surprise.
    let h = (p * (1.0 - p)).max(1e-4);
    let g = y - p;
    let s = person.var + item.var + 1.0 / h;
    for e in [&mut *person, &mut *item] {
        let k = e.var / s;
        e.mean += k * g / h;
        e.var -= e.var * k;
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

    #[test]
    fn cold_start_predicts_the_population_mean_for_the_reference_effort() {
        let prior = FollowPrior::default();
        let st = FollowState::new(&prior);
        let e = predict(&prior, &st.person, None, 0.0);
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
            setting: None,
        };
        assert!(offset(&iv(30, Modality::BetweenSessions), &tight, &prior) < long);
        let app = Context {
            minutes_available: None,
            setting: Some(Setting::App),
        };
        assert!(offset(&iv(30, Modality::BetweenSessions), &app, &prior) < long);
    }

    #[test]
    fn feasibility_follows_time_and_setting() {
        let app = Context {
            minutes_available: Some(5),
            setting: Some(Setting::App),
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
            minutes_available: None,
            setting: Some(Setting::InSession),
        };
        assert_eq!(feasible(&iv(50, Modality::InSession), &session), Ok(()));
    }

    #[test]
    fn reports_move_the_estimate_in_their_direction() {
        let prior = FollowPrior::default();
        let mut up = FollowState::new(&prior);
        let mut down = FollowState::new(&prior);
        let mut item_up = LogitEffect::prior(prior.item_sd);
        let mut item_down = LogitEffect::prior(prior.item_sd);
        for _ in 0..6 {
            update(&prior, &mut up.person, &mut item_up, 0.0, 1.0);
            update(&prior, &mut down.person, &mut item_down, 0.0, 0.0);
        }
        let p_up = predict(&prior, &up.person, Some(&item_up), 0.0)
            .probability
            .mean;
        let p_down = predict(&prior, &down.person, Some(&item_down), 0.0)
            .probability
            .mean;
        assert!(p_up > 0.8, "{p_up}");
        assert!(p_down < 0.3, "{p_down}");
        // The person effect generalises to other interventions.
        let other_down = predict(&prior, &down.person, None, 0.0).probability.mean;
        assert!(other_down < 0.45, "{other_down}");
        assert!(up.person.var < prior.person_sd.powi(2));
    }

    #[test]
    fn effort_costs_more_when_follow_through_is_low() {
        let prior = FollowPrior::default();
        let ratio = |u: f64| {
            let person = LogitEffect { mean: u, var: 0.1 };
            let short = predict(
                &prior,
                &person,
                None,
                offset(&iv(3, Modality::App), &Context::default(), &prior),
            );
            let long = predict(
                &prior,
                &person,
                None,
                offset(&iv(30, Modality::App), &Context::default(), &prior),
            );
            long.probability.mean / short.probability.mean
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
            reports in proptest::collection::vec(0u8..3, 0..40),
            off in -6.0f64..6.0,
        ) {
            let prior = FollowPrior::default();
            let mut st = FollowState::new(&prior);
            let mut item = LogitEffect::prior(prior.item_sd);
            for r in reports {
                update(&prior, &mut st.person, &mut item, off, f64::from(r) / 2.0);
                prop_assert!(st.person.var > 0.0 && item.var > 0.0);
            }
            let e = predict(&prior, &st.person, Some(&item), off);
            let p = e.probability;
            prop_assert!((0.0..=1.0).contains(&p.lower));
            prop_assert!((0.0..=1.0).contains(&p.mean));
            prop_assert!((0.0..=1.0).contains(&p.upper));
            prop_assert!(p.lower <= p.mean + 1e-12 && p.mean <= p.upper + 1e-12);
        }
    }
}

//! Off-policy evaluation: how a candidate policy (another engine configuration,
//! a fixed protocol, a clinician's rule) *would have done* on decisions that
//! were made by a different, logging policy, using the probabilities the
//! logging policy had of taking each action.
//!
//! This module owns the logged-decision type, the estimators (IPS, SNIPS, DR),
//! their bootstrap intervals, overlap and weight diagnostics with plain-language
//! warnings, a small reward model for DR and the combined [`EvaluationReport`].
//! Like the rest of the engine it does no I/O and reads no clock: the caller
//! passes the log in and a seed for the bootstrap, and the same inputs always
//! give the same report. Reading logs, choosing features and drawing tables is
//! the caller's job (`tutti evaluate`).
//!
//! # Setting
//! Each logged decision `i` has a context `x_i`, candidate actions, the action
//! `A_i` the logging policy `μ` took with probability `p_i = μ(A_i | x_i)`, and
//! the reward `r_i` observed after it. The target policy `π` gives a
//! distribution `π(· | x_i)` over the same candidates. The value to estimate is
//! `V(π) = E_x Σ_a π(a | x) E[r | x, a]`, the mean reward had `π` decided. The
//! importance weight of a decision is `w_i = π(A_i | x_i) / p_i`.
//!
//! # Estimators, what they assume, when to trust them
//! All three assume the log is what it says it is: decisions are independent
//! given their contexts (no carry-over from one decision's action to the next
//! decision's reward), `p_i` is the true probability the logging policy had of
//! taking `A_i`, and the reward of a decision depends only on its context and
//! action (no hidden confounder that the logging policy saw but the log lacks:
//! whatever the logging policy used to decide must be in the context it
//! logged, which holds automatically when `p_i` is the policy's own
//! randomisation probability).
//!
//! - **IPS** (inverse propensity scoring), `(1/n) Σ w_i r_i`: unbiased when
//!   every action `π` can take has `μ > 0` (*support*). Its variance grows with
//!   the weights, so it is trustworthy when weights are moderate: a healthy
//!   effective sample size (ESS), no single decision carrying a large share of
//!   the total weight. Adding a constant to every reward changes it unless the
//!   weights average exactly one, one reason SNIPS exists.
//! - **SNIPS** (self-normalised IPS), `Σ w_i r_i / Σ w_i`: a weighted mean, so it
//!   always lies within the observed rewards and is invariant to shifting them.
//!   Slightly biased (`O(1/n)`), consistent, usually much lower variance than
//!   IPS. The default choice when there is no good reward model.
//! - **DR** (doubly robust), `(1/n) Σ [Σ_a π(a|x_i) q(x_i,a) + w_i (r_i - q(x_i,A_i))]`
//!   with a reward model `q`: unbiased when the propensities are right,
//!   whatever `q` is, *provided `q` was not fitted on the decision it
//!   predicts*; the better `q`, the lower the variance. [`evaluate`] therefore
//!   cross-fits the built-in ridge model (fit on the other folds, predict on
//!   this one). With poor support DR leans on `q`'s extrapolation for the
//!   actions the log never took, so it is only as good as `q` there.
//!
//! A large effect that only IPS shows, or estimates that disagree by more than
//! their intervals, are signs of weight problems; read the warnings first.
//!
//! # Clipping
//! Each estimator takes an optional maximum weight `M` and uses `min(w_i, M)`.
//! Clipping trades variance for a bias toward the rewards of the actions the
//! logging policy favoured (for IPS toward zero with non-negative rewards); the
//! share of clipped decisions is reported so the trade is visible. The
//! logging-side counterpart, as in HeartSteps, is to never let the live policy
//! give an eligible action a probability below a floor (the engine's
//! `propensity_floor`): that guarantees support by design and is better than
//! any clipping after the fact.
//!
//! # Intervals: why the bootstrap percentile
//! Intervals come from `B` bootstrap resamples of the decisions (drawn with a
//! seeded `ChaCha8Rng`, so reproducible), taking the `(1-c)/2` and `(1+c)/2`
//! quantiles of the resampled estimates. The percentile bootstrap needs no
//! variance formula (SNIPS is a ratio, DR has a fitted model in it), follows
//! the skew that importance weights produce instead of forcing a symmetric
//! interval, respects SNIPS's range, and every estimator in a report uses the
//! *same* resamples, so differences between them are paired. It is not magic:
//! it treats decisions as independent (resample people, not decisions, when a
//! person contributes many correlated decisions; see open questions below), it
//! undercovers when a handful of huge weights dominate (exactly when the
//! heavy-tail warning fires), and the DR interval holds the reward model's
//! predictions fixed rather than refitting it per resample (cross-fitting keeps
//! that honest; in-sample predictions make DR's interval too narrow).
//!
//! Measured on the synthetic bandit of the tests (4 actions, weights up to
//! about 9, 1000 logs, `B = 1000`): 90% intervals covered the true value in
//! 90% (IPS), 89% (SNIPS) and 88% (DR) of logs of 200 decisions, and in 91%,
//! 90% and 90% of logs of 1000; with `B = 100` about 1.5 points less. In a
//! log of 2000 decisions with a deterministic target on an action logged 1% of
//! the time (effective sample size 18), SNIPS's and DR's intervals both missed
//! the truth: that is what the warnings are for.
//!
//! # Mapping the Tutti decision log to [`LoggedDecision`]
//! The server logs each `Recommend` call as a decision: the query (context,
//! exclusions, pins, time, seed), the model version, and for every returned
//! item its rank and `propensity`, the probability that the engine's
//! randomised ranking would have put that intervention *first*. Feedback later
//! says which intervention the person did and how it went.
//!
//! - `context`: numeric features chosen by the analyst from the logged query
//!   and the person's state at decision time (minutes available, setting
//!   one-hot, recent process levels, ...). Only DR's reward model reads it.
//! - `candidates`: the returned interventions (add any other intervention the
//!   target may choose; its logging probability is then unknown, see below).
//! - `action`: the intervention the person did. The logged propensity is the
//!   probability of being ranked *first*, which is the probability of the
//!   person doing it only when the person does the first item. Decisions where
//!   they did a lower-ranked item are best treated intent-to-treat: `action` =
//!   the first-ranked item and `reward` = what followed the decision. Using the
//!   item done with its rank-1 propensity is biased.
//! - `propensity`: that item's logged propensity. It must be positive: an
//!   action logged with propensity zero (a log written with Monte Carlo
//!   propensities, or a candidate the engine's exact propensities left at 0
//!   because its chance of beating the leader was below 1e-12) cannot be used.
//! - `logging_distribution`: the logged propensities of all candidates, in the
//!   same order. They need not sum to one (items not returned hold the rest),
//!   and an action with propensity 0 here is outside the logging support.
//! - `reward`: the outcome the analyst wants to optimise, e.g. the reported
//!   helpfulness, or the change in well-being from the assessment before to the
//!   one after. Use one definition for every decision, including those with no
//!   follow-through (a missing outcome treated as missing at random only if it
//!   is).
//!
//! Shadow-mode logs are different: the action there is the *platform's*
//! choice, and the logged probabilities are the engine's, i.e. the target
//! distribution, not the logging one. They can be evaluated only with the
//! platform's own propensities.
//!
//! # Use
//! ```
//! use tutti_engine::ope::{evaluate, EvaluationConfig, LoggedDecision, OffPolicyData};
//!
//! let log = vec![
//!     LoggedDecision {
//!         context: vec![1.0],
//!         candidates: vec!["a".into(), "b".into()],
//!         action: "a".into(),
//!         propensity: 0.5,
//!         logging_distribution: Some(vec![0.5, 0.5]),
//!         reward: 3.0,
//!     },
//!     LoggedDecision {
//!         context: vec![0.0],
//!         candidates: vec!["a".into(), "b".into()],
//!         action: "b".into(),
//!         propensity: 0.5,
//!         logging_distribution: Some(vec![0.5, 0.5]),
//!         reward: 1.0,
//!     },
//! ];
//! // Target: always "a".
//! let data = OffPolicyData::from_policy(&log, &|d: &LoggedDecision| {
//!     d.candidates.iter().map(|c| if c.as_str() == "a" { 1.0 } else { 0.0 }).collect()
//! })?;
//! let report = evaluate(&data, &EvaluationConfig::default())?;
//! assert_eq!(report.ips.value, 3.0);
//! assert_eq!(report.snips.value, 3.0);
//! assert!(!report.diagnostics.warnings.is_empty()); // two decisions are not enough
//! # Ok::<(), tutti_engine::EngineError>(())
//! ```
//!
//! # Open questions
//! Decisions of one person are correlated; a person-level (cluster) bootstrap
//! would need a person key on [`LoggedDecision`]. Rankings are slates, but the
//! estimators here evaluate the first position only.

mod diagnostics;
mod estimate;
mod report;
mod reward;

#[cfg(test)]
mod synthetic;
#[cfg(test)]
mod tests;

pub use diagnostics::{
    DiagnosticThresholds, Diagnostics, OpeWarning, diagnose, effective_sample_size, pareto_k,
};
pub use estimate::{
    Difference, Estimate, Estimator, EstimatorOptions, doubly_robust, ips, on_policy,
    paired_ratio_difference, snips,
};
pub use report::{EvaluationConfig, EvaluationReport, evaluate, evaluate_with_predictions};
pub use reward::{RewardModel, RewardPredictions, RidgeConfig, RidgeRewardModel};

use crate::error::{EngineError, Result};
use crate::ids::InterventionId;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Tolerance for probabilities that must sum to one or match each other; they
/// are often sums of floats computed elsewhere.
const PROBABILITY_TOLERANCE: f64 = 1e-6;

/// One decision of the logging policy, as an estimator needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedDecision {
    /// Features of the situation, opaque to the estimators; only reward models
    /// read them. Every decision of a log should have the same length.
    pub context: Vec<f64>,
    /// The actions that could have been taken, without duplicates.
    pub candidates: Vec<InterventionId>,
    /// The action taken; one of `candidates`.
    pub action: InterventionId,
    /// Probability that the logging policy took `action` here, in (0, 1].
    pub propensity: f64,
    /// The logging policy's probabilities for every candidate, same order as
    /// `candidates`, when known. Entries are in [0, 1] and sum to at most one
    /// (the rest is on actions not listed); the entry for `action` equals
    /// `propensity`. Without it, overlap is judged from the taken actions only.
    pub logging_distribution: Option<Vec<f64>>,
    /// The observed reward (finite).
    pub reward: f64,
}

/// A policy to evaluate: its probability for each candidate of a decision.
///
/// Closures `Fn(&LoggedDecision) -> Vec<f64>` implement it. The vector has
/// one entry per `decision.candidates`, in that order, non-negative, summing
/// to one.
pub trait TargetPolicy {
    /// The target's distribution over `decision.candidates`.
    fn distribution(&self, decision: &LoggedDecision) -> Vec<f64>;
}

impl<F> TargetPolicy for F
where
    F: Fn(&LoggedDecision) -> Vec<f64>,
{
    fn distribution(&self, decision: &LoggedDecision) -> Vec<f64> {
        self(decision)
    }
}

/// A validated log paired with the target policy's distributions: the input
/// of every estimator. Building it checks every decision once, so the
/// estimators themselves cannot meet malformed data.
#[derive(Debug, Clone)]
pub struct OffPolicyData<'a> {
    decisions: &'a [LoggedDecision],
    targets: Vec<Vec<f64>>,
    actions: Vec<usize>,
    weights: Vec<f64>,
}

impl<'a> OffPolicyData<'a> {
    /// Pairs `decisions` with the target distribution of each (same order).
    ///
    /// Fails with [`EngineError::InvalidObservation`] naming the first bad
    /// decision: an empty log, a count mismatch, no or duplicate candidates, an
    /// action that is not a candidate, a propensity outside (0, 1], a non-finite
    /// reward or context value, a logging distribution that is malformed or
    /// disagrees with the propensity, or a target distribution that is
    /// malformed.
    pub fn new(decisions: &'a [LoggedDecision], targets: Vec<Vec<f64>>) -> Result<Self> {
        if decisions.is_empty() {
            return Err(invalid("the log has no decisions"));
        }
        if targets.len() != decisions.len() {
            return Err(invalid(format!(
                "{} target distributions for {} decisions",
                targets.len(),
                decisions.len()
            )));
        }
        let mut actions = Vec::with_capacity(decisions.len());
        let mut weights = Vec::with_capacity(decisions.len());
        for (i, (decision, target)) in decisions.iter().zip(&targets).enumerate() {
            let action = validate_decision(decision).map_err(|e| at(i, e))?;
            validate_target(decision, target).map_err(|e| at(i, e))?;
            actions.push(action);
            weights.push(target[action] / decision.propensity);
        }
        Ok(Self {
            decisions,
            targets,
            actions,
            weights,
        })
    }

    /// Pairs `decisions` with the distributions `policy` gives them.
    pub fn from_policy<P>(decisions: &'a [LoggedDecision], policy: &P) -> Result<Self>
    where
        P: TargetPolicy + ?Sized,
    {
        let targets = decisions.iter().map(|d| policy.distribution(d)).collect();
        Self::new(decisions, targets)
    }

    /// Number of decisions (at least one).
    pub fn len(&self) -> usize {
        self.decisions.len()
    }

    /// Always false: an empty log is rejected.
    pub fn is_empty(&self) -> bool {
        self.decisions.is_empty()
    }

    /// The decisions.
    pub fn decisions(&self) -> &'a [LoggedDecision] {
        self.decisions
    }

    /// The target distribution of each decision.
    pub fn targets(&self) -> &[Vec<f64>] {
        &self.targets
    }

    /// Index of the taken action in each decision's candidates.
    pub fn action_indices(&self) -> &[usize] {
        &self.actions
    }

    /// Unclipped importance weights `π(A_i) / p_i`, all finite and `>= 0`.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The observed rewards.
    pub(crate) fn rewards(&self) -> impl Iterator<Item = f64> + '_ {
        self.decisions.iter().map(|d| d.reward)
    }
}

/// Checks a decision and returns the index of its action among the candidates.
fn validate_decision(d: &LoggedDecision) -> std::result::Result<usize, String> {
    if d.candidates.is_empty() {
        return Err("no candidates".into());
    }
    let mut seen = HashSet::with_capacity(d.candidates.len());
    for c in &d.candidates {
        if !seen.insert(c) {
            return Err(format!("candidate `{c}` listed twice"));
        }
    }
    let action = d
        .candidates
        .iter()
        .position(|c| *c == d.action)
        .ok_or_else(|| format!("action `{}` is not among the candidates", d.action))?;
    if !(d.propensity.is_finite() && d.propensity > 0.0 && d.propensity <= 1.0) {
        return Err(format!(
            "propensity {} of the action taken must be in (0, 1]",
            d.propensity
        ));
    }
    if !d.reward.is_finite() {
        return Err(format!("reward {} is not finite", d.reward));
    }
    if d.context.iter().any(|v| !v.is_finite()) {
        return Err("context has a non-finite value".into());
    }
    if let Some(dist) = &d.logging_distribution {
        if dist.len() != d.candidates.len() {
            return Err(format!(
                "logging distribution has {} entries for {} candidates",
                dist.len(),
                d.candidates.len()
            ));
        }
        if dist
            .iter()
            .any(|p| !(p.is_finite() && (0.0..=1.0).contains(p)))
        {
            return Err("logging distribution has an entry outside [0, 1]".into());
        }
        let total: f64 = dist.iter().sum();
        if total > 1.0 + PROBABILITY_TOLERANCE {
            return Err(format!("logging distribution sums to {total} > 1"));
        }
        if (dist[action] - d.propensity).abs() > PROBABILITY_TOLERANCE {
            return Err(format!(
                "logging distribution gives the action {} but its propensity is {}",
                dist[action], d.propensity
            ));
        }
    }
    Ok(action)
}

fn validate_target(d: &LoggedDecision, target: &[f64]) -> std::result::Result<(), String> {
    if target.len() != d.candidates.len() {
        return Err(format!(
            "target distribution has {} entries for {} candidates",
            target.len(),
            d.candidates.len()
        ));
    }
    if target.iter().any(|p| !(p.is_finite() && *p >= 0.0)) {
        return Err("target distribution has a negative or non-finite entry".into());
    }
    let total: f64 = target.iter().sum();
    if (total - 1.0).abs() > PROBABILITY_TOLERANCE {
        return Err(format!("target distribution sums to {total}, not 1"));
    }
    Ok(())
}

fn invalid(message: impl Into<String>) -> EngineError {
    EngineError::InvalidObservation(message.into())
}

fn at(i: usize, message: String) -> EngineError {
    invalid(format!("decision {i}: {message}"))
}

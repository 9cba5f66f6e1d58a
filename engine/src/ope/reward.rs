//! Reward models for the doubly robust estimator: the [`RewardModel`] trait,
//! a built-in per-action ridge regression, and [`RewardPredictions`], a model's
//! predictions for every candidate of every decision of a log (optionally
//! cross-fitted, so no decision is predicted by a model that saw it).

use super::{LoggedDecision, OffPolicyData};
use crate::error::{EngineError, Result};
use crate::ids::InterventionId;
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Predicts the expected reward of an action in a context.
pub trait RewardModel {
    /// Expected reward of `action` in `context`; should be finite.
    fn predict(&self, context: &[f64], action: &InterventionId) -> f64;
}

/// Settings of the built-in ridge reward model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RidgeConfig {
    /// Ridge penalty on standardised features, also the pseudo-count pulling
    /// an action's intercept toward the overall mean reward. Read it as "how
    /// many decisions the prior is worth". Must be positive.
    pub lambda: f64,
}

impl Default for RidgeConfig {
    fn default() -> Self {
        Self { lambda: 1.0 }
    }
}

/// Per-action linear regression of reward on the standardised context with a
/// ridge penalty; with no features it is the per-action mean (shrunk toward
/// the overall mean by `lambda` pseudo-decisions). Actions never seen in
/// fitting are predicted at the overall mean. Contexts must have the length
/// it was fitted on (a missing trailing feature counts as the action's mean).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RidgeRewardModel {
    feature_means: Vec<f64>,
    /// `1 / sd` per feature, 0 for a constant feature (it carries nothing).
    feature_inv_scales: Vec<f64>,
    overall_mean: f64,
    actions: BTreeMap<InterventionId, ActionFit>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ActionFit {
    intercept: f64,
    /// Mean standardised context of the action's decisions.
    centre: Vec<f64>,
    coefficients: Vec<f64>,
}

impl RidgeRewardModel {
    /// Fits one regression per action taken in `decisions`.
    ///
    /// Fails on an empty log, contexts of different lengths, non-finite values
    /// or a non-positive `lambda`.
    pub fn fit(decisions: &[LoggedDecision], config: &RidgeConfig) -> Result<Self> {
        let all: Vec<&LoggedDecision> = decisions.iter().collect();
        Self::fit_refs(&all, config)
    }

    fn fit_refs(decisions: &[&LoggedDecision], config: &RidgeConfig) -> Result<Self> {
        if !(config.lambda.is_finite() && config.lambda > 0.0) {
            return Err(EngineError::InvalidConfig(format!(
                "ridge lambda must be positive and finite, got {}",
                config.lambda
            )));
        }
        let first = decisions.first().ok_or_else(|| {
            EngineError::InvalidObservation("no decisions to fit a reward model on".into())
        })?;
        let d = first.context.len();
        for (i, dec) in decisions.iter().enumerate() {
            if dec.context.len() != d {
                return Err(EngineError::InvalidObservation(format!(
                    "decision {i}: context has {} features, the first decision has {d}",
                    dec.context.len()
                )));
            }
            if !dec.reward.is_finite() || dec.context.iter().any(|v| !v.is_finite()) {
                return Err(EngineError::InvalidObservation(format!(
                    "decision {i}: non-finite reward or context"
                )));
            }
        }
        let n = decisions.len() as f64;
        let mut feature_means = vec![0.0; d];
        for dec in decisions {
            for (m, v) in feature_means.iter_mut().zip(&dec.context) {
                *m += v / n;
            }
        }
        let mut feature_inv_scales = vec![0.0; d];
        for (k, inv) in feature_inv_scales.iter_mut().enumerate() {
            let var = decisions
                .iter()
                .map(|dec| (dec.context[k] - feature_means[k]).powi(2))
                .sum::<f64>()
                / n;
            // A constant feature (or nearly) would only add noise to the solve.
            *inv = if var > 1e-24 { 1.0 / var.sqrt() } else { 0.0 };
        }
        let overall_mean = decisions.iter().map(|dec| dec.reward).sum::<f64>() / n;

        let mut by_action: BTreeMap<&InterventionId, Vec<&LoggedDecision>> = BTreeMap::new();
        for dec in decisions {
            by_action.entry(&dec.action).or_default().push(dec);
        }
        let mut model = Self {
            feature_means,
            feature_inv_scales,
            overall_mean,
            actions: BTreeMap::new(),
        };
        for (action, rows) in by_action {
            let fit = model.fit_action(&rows, config.lambda);
            model.actions.insert(action.clone(), fit);
        }
        Ok(model)
    }

    fn standardise(&self, context: &[f64]) -> Vec<f64> {
        context
            .iter()
            .zip(&self.feature_means)
            .zip(&self.feature_inv_scales)
            .map(|((v, m), s)| (v - m) * s)
            .collect()
    }

    fn fit_action(&self, rows: &[&LoggedDecision], lambda: f64) -> ActionFit {
        let d = self.feature_means.len();
        let n = rows.len();
        let z: Vec<Vec<f64>> = rows.iter().map(|r| self.standardise(&r.context)).collect();
        let mut centre = vec![0.0; d];
        for zi in &z {
            for (c, v) in centre.iter_mut().zip(zi) {
                *c += v / n as f64;
            }
        }
        let y_mean = rows.iter().map(|r| r.reward).sum::<f64>() / n as f64;
        // Centred ridge: the intercept is not penalised toward zero (rewards
        // may sit anywhere on their scale) but pulled toward the overall mean.
        // Cross-products are accumulated directly: only the d x d solve needs
        // a matrix.
        let mut gram = DMatrix::<f64>::zeros(d, d);
        let mut rhs = DVector::<f64>::zeros(d);
        let mut xc = vec![0.0; d];
        for (zi, row) in z.iter().zip(rows) {
            for (x, (v, c)) in xc.iter_mut().zip(zi.iter().zip(&centre)) {
                *x = v - c;
            }
            let yc = row.reward - y_mean;
            for j in 0..d {
                rhs[j] += xc[j] * yc;
                for k in j..d {
                    gram[(j, k)] += xc[j] * xc[k];
                }
            }
        }
        for j in 0..d {
            gram[(j, j)] += lambda;
            for k in 0..j {
                gram[(j, k)] = gram[(k, j)];
            }
        }
        let coefficients = match gram.cholesky() {
            Some(chol) => chol.solve(&rhs).iter().copied().collect(),
            // Unreachable with lambda > 0 (the matrix is positive definite);
            // falling back to "no slope" keeps the model usable regardless.
            None => vec![0.0; d],
        };
        let intercept = (n as f64 * y_mean + lambda * self.overall_mean) / (n as f64 + lambda);
        ActionFit {
            intercept,
            centre,
            coefficients,
        }
    }
}

impl RewardModel for RidgeRewardModel {
    fn predict(&self, context: &[f64], action: &InterventionId) -> f64 {
        let Some(fit) = self.actions.get(action) else {
            return self.overall_mean;
        };
        let z = self.standardise(context);
        fit.intercept
            + z.iter()
                .zip(&fit.centre)
                .zip(&fit.coefficients)
                .map(|((v, c), b)| (v - c) * b)
                .sum::<f64>()
    }
}

/// A reward model's prediction for every candidate of every decision of one
/// log, which is all DR needs from a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RewardPredictions {
    rows: Vec<Vec<f64>>,
}

impl RewardPredictions {
    /// Predictions of a model fitted elsewhere (on other data, or a fixed
    /// guess). Fitting it on this same log biases DR slightly; prefer
    /// [`RewardPredictions::cross_fitted`]. Fails on a non-finite prediction.
    pub fn from_model<M>(data: &OffPolicyData<'_>, model: &M) -> Result<Self>
    where
        M: RewardModel + ?Sized,
    {
        let rows = data
            .decisions()
            .iter()
            .enumerate()
            .map(|(i, d)| predict_row(model, d, i))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { rows })
    }

    /// Cross-fitted ridge predictions: decisions are split into `folds`
    /// interleaved folds (`i % folds`), and each fold is predicted by a model
    /// fitted on the others, so DR stays unbiased with known propensities.
    /// `folds` is capped at the number of decisions; `folds <= 1` fits on the
    /// whole log (in-sample).
    pub fn cross_fitted(
        data: &OffPolicyData<'_>,
        config: &RidgeConfig,
        folds: usize,
    ) -> Result<Self> {
        let decisions = data.decisions();
        // Checked here, where the index is the log's, not a fold's.
        let d = decisions[0].context.len();
        if let Some(i) = decisions.iter().position(|x| x.context.len() != d) {
            return Err(EngineError::InvalidObservation(format!(
                "decision {i}: context has {} features, the first decision has {d}",
                decisions[i].context.len()
            )));
        }
        let folds = folds.min(decisions.len());
        if folds <= 1 {
            let model = RidgeRewardModel::fit(decisions, config)?;
            return Self::from_model(data, &model);
        }
        let mut rows = vec![Vec::new(); decisions.len()];
        for fold in 0..folds {
            let train: Vec<&LoggedDecision> = decisions
                .iter()
                .enumerate()
                .filter(|(i, _)| i % folds != fold)
                .map(|(_, d)| d)
                .collect();
            let model = RidgeRewardModel::fit_refs(&train, config)?;
            for (i, d) in decisions.iter().enumerate().skip(fold).step_by(folds) {
                rows[i] = predict_row(&model, d, i)?;
            }
        }
        Ok(Self { rows })
    }

    /// Predictions for decision `i`, one per candidate.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.rows[i]
    }

    /// Ok when these predictions have the shape of `data`.
    pub(crate) fn check_fits(&self, data: &OffPolicyData<'_>) -> Result<()> {
        let fits = self.rows.len() == data.len()
            && self
                .rows
                .iter()
                .zip(data.decisions())
                .all(|(r, d)| r.len() == d.candidates.len());
        if fits {
            Ok(())
        } else {
            Err(EngineError::InvalidObservation(
                "reward predictions were made for a different log".into(),
            ))
        }
    }
}

fn predict_row<M>(model: &M, d: &LoggedDecision, i: usize) -> Result<Vec<f64>>
where
    M: RewardModel + ?Sized,
{
    d.candidates
        .iter()
        .map(|a| {
            let q = model.predict(&d.context, a);
            if q.is_finite() {
                Ok(q)
            } else {
                Err(EngineError::InvalidObservation(format!(
                    "decision {i}: reward model predicts {q} for `{a}`"
                )))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(context: Vec<f64>, action: &str, reward: f64) -> LoggedDecision {
        LoggedDecision {
            context,
            candidates: vec!["a".into(), "b".into(), "c".into()],
            action: action.into(),
            propensity: 0.5,
            logging_distribution: None,
            reward,
        }
    }

    #[test]
    fn ridge_recovers_a_linear_reward_per_action() {
        // r = 2 + 3 x0 - x1 for "a", 10 - 2 x0 for "b", noise-free.
        let mut log = Vec::new();
        for i in 0..200 {
            let x0 = f64::from(i % 17) / 4.0;
            let x1 = f64::from(i % 5) - 2.0;
            log.push(decision(vec![x0, x1], "a", 2.0 + 3.0 * x0 - x1));
            log.push(decision(vec![x0, x1], "b", 10.0 - 2.0 * x0));
        }
        let model = RidgeRewardModel::fit(&log, &RidgeConfig { lambda: 1e-6 }).expect("fits");
        let a = model.predict(&[1.0, 0.5], &"a".into());
        let b = model.predict(&[1.0, 0.5], &"b".into());
        assert!((a - 4.5).abs() < 1e-4, "{a}");
        assert!((b - 8.0).abs() < 1e-4, "{b}");
        // Never taken: the overall mean.
        let c = model.predict(&[1.0, 0.5], &"c".into());
        let mean = log.iter().map(|d| d.reward).sum::<f64>() / log.len() as f64;
        assert!((c - mean).abs() < 1e-9);
    }

    #[test]
    fn without_features_ridge_is_the_shrunk_action_mean() {
        let log = vec![
            decision(vec![], "a", 1.0),
            decision(vec![], "a", 3.0),
            decision(vec![], "b", 8.0),
        ];
        let model = RidgeRewardModel::fit(&log, &RidgeConfig { lambda: 1.0 }).expect("fits");
        let overall = 4.0;
        let a = model.predict(&[], &"a".into());
        assert!((a - (2.0 * 2.0 + overall) / 3.0).abs() < 1e-12);
        let tiny = RidgeRewardModel::fit(&log, &RidgeConfig { lambda: 1e-9 }).expect("fits");
        assert!((tiny.predict(&[], &"a".into()) - 2.0).abs() < 1e-6);
        assert!((tiny.predict(&[], &"b".into()) - 8.0).abs() < 1e-6);
    }

    #[test]
    fn constant_features_are_ignored() {
        let log: Vec<_> = (0..10)
            .map(|i| decision(vec![5.0, f64::from(i)], "a", f64::from(i)))
            .collect();
        let model = RidgeRewardModel::fit(&log, &RidgeConfig { lambda: 1e-6 }).expect("fits");
        let p = model.predict(&[5.0, 4.0], &"a".into());
        assert!((p - 4.0).abs() < 1e-3, "{p}");
    }

    #[test]
    fn ridge_rejects_bad_inputs() {
        let log = vec![decision(vec![1.0], "a", 1.0), decision(vec![], "a", 1.0)];
        assert!(RidgeRewardModel::fit(&log, &RidgeConfig::default()).is_err());
        assert!(RidgeRewardModel::fit(&[], &RidgeConfig::default()).is_err());
        let ok = vec![decision(vec![1.0], "a", 1.0)];
        assert!(RidgeRewardModel::fit(&ok, &RidgeConfig { lambda: 0.0 }).is_err());
    }

    #[test]
    fn cross_fitting_predicts_each_decision_without_it() {
        // Two decisions with wildly different rewards: each fold's model has
        // only seen the other one, so it cannot predict its own reward.
        let log = vec![decision(vec![], "a", 0.0), decision(vec![], "a", 100.0)];
        let targets = vec![vec![1.0, 0.0, 0.0]; 2];
        let data = OffPolicyData::new(&log, targets).expect("valid");
        let tiny = RidgeConfig { lambda: 1e-9 };
        let cross = RewardPredictions::cross_fitted(&data, &tiny, 2).expect("fits");
        assert!((cross.row(0)[0] - 100.0).abs() < 1e-6);
        assert!((cross.row(1)[0] - 0.0).abs() < 1e-6);
        let in_sample = RewardPredictions::cross_fitted(&data, &tiny, 1).expect("fits");
        assert!((in_sample.row(0)[0] - 50.0).abs() < 1e-6);
    }
}

//! The evaluation report: IPS, SNIPS and DR for the target, the logging
//! policy's observed mean for comparison, the paired difference, and the
//! diagnostics, all from one set of bootstrap resamples.

use super::diagnostics::{DiagnosticThresholds, Diagnostics, diagnose};
use super::estimate::{
    self, Clipped, Difference, Estimate, Estimator, EstimatorOptions, Statistic,
};
use super::reward::{RewardPredictions, RidgeConfig};
use super::{OffPolicyData, OpeWarning};
use crate::error::{EngineError, Result};
use serde::{Deserialize, Serialize};

/// Everything an evaluation needs besides the data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvaluationConfig {
    /// Clipping, bootstrap and interval settings.
    pub estimator: EstimatorOptions,
    /// When diagnostics become warnings.
    pub thresholds: DiagnosticThresholds,
    /// The built-in reward model used by [`evaluate`].
    pub ridge: RidgeConfig,
    /// Cross-fitting folds for the built-in reward model (1 = in-sample).
    pub cross_fit_folds: usize,
}

impl Default for EvaluationConfig {
    fn default() -> Self {
        Self {
            estimator: EstimatorOptions::default(),
            thresholds: DiagnosticThresholds::default(),
            ridge: RidgeConfig::default(),
            cross_fit_folds: 2,
        }
    }
}

impl EvaluationConfig {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<()> {
        self.estimator.validate()?;
        if !(self.ridge.lambda.is_finite() && self.ridge.lambda > 0.0) {
            return Err(EngineError::InvalidConfig(format!(
                "ridge lambda must be positive and finite, got {}",
                self.ridge.lambda
            )));
        }
        if self.cross_fit_folds == 0 {
            return Err(EngineError::InvalidConfig(
                "cross_fit_folds must be at least 1".into(),
            ));
        }
        let t = &self.thresholds;
        let shares = [
            ("min_propensity", t.min_propensity),
            ("max_low_overlap_mass", t.max_low_overlap_mass),
            ("max_unsupported_mass", t.max_unsupported_mass),
            ("min_ess_fraction", t.min_ess_fraction),
            ("max_weight_share", t.max_weight_share),
            ("max_clipped_fraction", t.max_clipped_fraction),
        ];
        for (name, v) in shares {
            if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                return Err(EngineError::InvalidConfig(format!(
                    "{name} must be in [0, 1], got {v}"
                )));
            }
        }
        for (name, v) in [
            ("min_ess", t.min_ess),
            ("max_weight_mean_deviation", t.max_weight_mean_deviation),
            ("max_pareto_k", t.max_pareto_k),
        ] {
            if !v.is_finite() {
                return Err(EngineError::InvalidConfig(format!(
                    "{name} must be finite, got {v}"
                )));
            }
        }
        Ok(())
    }
}

/// How a target policy would have done on a log, by three estimators, next to
/// what the logging policy did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationReport {
    /// Decisions evaluated.
    pub n: usize,
    /// Inverse propensity scoring.
    pub ips: Estimate,
    /// Self-normalised IPS.
    pub snips: Estimate,
    /// Doubly robust.
    pub doubly_robust: Estimate,
    /// The logging policy's observed mean reward.
    pub on_policy: Estimate,
    /// DR minus the observed mean, with a paired interval: the estimated gain
    /// of switching to the target (an interval above zero says "better").
    pub improvement: Difference,
    /// Weight and overlap diagnostics, including the warnings.
    pub diagnostics: Diagnostics,
    /// The settings used.
    pub config: EvaluationConfig,
}

impl EvaluationReport {
    /// The four estimates as table rows, target estimators first.
    pub fn rows(&self) -> [(Estimator, &Estimate); 4] {
        [
            (Estimator::Ips, &self.ips),
            (Estimator::Snips, &self.snips),
            (Estimator::DoublyRobust, &self.doubly_robust),
            (Estimator::OnPolicy, &self.on_policy),
        ]
    }

    /// The warnings (also in `diagnostics`).
    pub fn warnings(&self) -> &[OpeWarning] {
        &self.diagnostics.warnings
    }
}

/// Evaluates the target of `data` with DR's reward model being the built-in
/// ridge, cross-fitted over `config.cross_fit_folds` folds.
pub fn evaluate(data: &OffPolicyData<'_>, config: &EvaluationConfig) -> Result<EvaluationReport> {
    config.validate()?;
    let predictions = RewardPredictions::cross_fitted(data, &config.ridge, config.cross_fit_folds)?;
    evaluate_with_predictions(data, &predictions, config)
}

/// Evaluates the target of `data` with DR using the given reward predictions
/// (for example [`RewardPredictions::from_model`] with a model trained on
/// other data).
pub fn evaluate_with_predictions(
    data: &OffPolicyData<'_>,
    predictions: &RewardPredictions,
    config: &EvaluationConfig,
) -> Result<EvaluationReport> {
    config.validate()?;
    predictions.check_fits(data)?;
    let options = &config.estimator;
    let weights = Clipped::new(data.weights(), options.clip);
    let ones = Clipped::new(&vec![1.0; data.len()], None);

    let ips = estimate::ips_statistic(data, &weights);
    let snips = estimate::snips_statistic(data, &weights);
    let dr = estimate::dr_statistic(data, &weights, predictions);
    let observed = Statistic::mean(data.rewards().collect());
    let reps = estimate::bootstrap(
        &[&ips, &snips, &dr, &observed],
        options.bootstrap_resamples,
        options.seed,
    );
    let c = options.confidence;
    Ok(EvaluationReport {
        n: data.len(),
        ips: estimate::estimate(&ips, &reps[0], &weights, c),
        snips: estimate::estimate(&snips, &reps[1], &weights, c),
        doubly_robust: estimate::estimate(&dr, &reps[2], &weights, c),
        on_policy: estimate::estimate(&observed, &reps[3], &ones, c),
        improvement: estimate::difference(&dr, &reps[2], &observed, &reps[3], c),
        diagnostics: diagnose(data, options.clip, &config.thresholds),
        config: *config,
    })
}

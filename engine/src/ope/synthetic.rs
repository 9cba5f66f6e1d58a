//! Synthetic contextual bandits with an exactly known policy value, for the
//! tests: a finite set of equally likely contexts, linear mean rewards per
//! action plus Gaussian noise, and explicit logging and target distributions,
//! so `V(π) = (1/m) Σ_x Σ_a π(a|x) f(x, a)` is a finite sum.

use super::{LoggedDecision, RewardModel};
use crate::ids::InterventionId;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// A bandit problem: contexts, actions, mean rewards and a logging policy.
pub(super) struct Bandit {
    pub contexts: Vec<Vec<f64>>,
    pub actions: Vec<InterventionId>,
    /// `[context][action]` mean reward.
    pub mean_reward: Vec<Vec<f64>>,
    /// `[context][action]` logging probabilities.
    pub logging: Vec<Vec<f64>>,
    pub noise_sd: f64,
}

/// One simulated log with the context index of each decision.
pub(super) struct Log {
    pub decisions: Vec<LoggedDecision>,
    pub context_ids: Vec<usize>,
}

fn softmax(logits: &[f64]) -> Vec<f64> {
    let top = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = logits.iter().map(|l| (l - top).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

const BIAS: [f64; 4] = [1.0, 1.5, 0.5, 2.0];
const SLOPE: [[f64; 2]; 4] = [[1.0, 0.0], [-1.0, 0.5], [0.5, -1.0], [0.0, 1.0]];

impl Bandit {
    /// Four actions, twelve contexts in [-1, 1]^2, a softmax logging policy
    /// that favours action 0 (every probability at least about 0.1).
    pub(crate) fn standard() -> Self {
        let m = 12;
        let contexts: Vec<Vec<f64>> = (0..m)
            .map(|c| {
                let u = c as f64 / (m - 1) as f64;
                let v = ((c * 7) % m) as f64 / (m - 1) as f64;
                vec![2.0 * u - 1.0, 2.0 * v - 1.0]
            })
            .collect();
        let mean_reward = contexts
            .iter()
            .map(|x| {
                (0..4)
                    .map(|a| BIAS[a] + SLOPE[a][0] * x[0] + SLOPE[a][1] * x[1])
                    .collect()
            })
            .collect();
        let logging = contexts
            .iter()
            .map(|x| softmax(&[0.8, 0.3 * x[0], 0.0, -0.3 + 0.3 * x[1]]))
            .collect();
        Self {
            contexts,
            actions: ["a", "b", "c", "d"].into_iter().map(Into::into).collect(),
            mean_reward,
            logging,
            noise_sd: 1.0,
        }
    }

    /// The same problem with action `d` logged with probability `p_d` in every
    /// context (the others rescaled); `p_d = 0` takes it out of the support.
    pub(crate) fn with_rare_last_action(mut self, p_d: f64) -> Self {
        for row in &mut self.logging {
            let rest: f64 = row[..3].iter().sum();
            for p in &mut row[..3] {
                *p *= (1.0 - p_d) / rest;
            }
            row[3] = p_d;
        }
        self
    }

    /// A target leaning toward the best action: softmax of `2 f(x, ·)`.
    pub(crate) fn greedy_target(&self) -> Vec<Vec<f64>> {
        self.mean_reward
            .iter()
            .map(|f| softmax(&f.iter().map(|v| 2.0 * v).collect::<Vec<_>>()))
            .collect()
    }

    /// Always the action with index `a`.
    pub(crate) fn constant_target(&self, a: usize) -> Vec<Vec<f64>> {
        let mut row = vec![0.0; self.actions.len()];
        row[a] = 1.0;
        vec![row; self.contexts.len()]
    }

    /// Exact value of `policy` (`[context][action]`).
    pub(crate) fn value(&self, policy: &[Vec<f64>]) -> f64 {
        let total: f64 = policy
            .iter()
            .zip(&self.mean_reward)
            .map(|(p, f)| p.iter().zip(f).map(|(p, f)| p * f).sum::<f64>())
            .sum();
        total / self.contexts.len() as f64
    }

    /// `n` decisions of the logging policy, reproducible from `seed`.
    pub(crate) fn log(&self, n: usize, seed: u64, with_distribution: bool) -> Log {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut decisions = Vec::with_capacity(n);
        let mut context_ids = Vec::with_capacity(n);
        for _ in 0..n {
            let c = rng.random_range(0..self.contexts.len());
            let probs = &self.logging[c];
            let u: f64 = rng.random();
            let mut a = 0;
            let mut acc = probs[0];
            while u >= acc && a + 1 < probs.len() {
                a += 1;
                acc += probs[a];
            }
            // Never pick an action outside the support through rounding.
            while probs[a] == 0.0 {
                a -= 1;
            }
            let noise: f64 = rng.sample(StandardNormal);
            decisions.push(LoggedDecision {
                context: self.contexts[c].clone(),
                candidates: self.actions.clone(),
                action: self.actions[a].clone(),
                propensity: probs[a],
                logging_distribution: with_distribution.then(|| probs.clone()),
                reward: self.mean_reward[c][a] + self.noise_sd * noise,
            });
            context_ids.push(c);
        }
        Log {
            decisions,
            context_ids,
        }
    }
}

impl Log {
    /// The per-decision target distributions of a `[context][action]` policy.
    pub(crate) fn targets(&self, policy: &[Vec<f64>]) -> Vec<Vec<f64>> {
        self.context_ids
            .iter()
            .map(|c| policy[*c].clone())
            .collect()
    }
}

/// The true mean reward as a reward model (the best DR can hope for).
pub(super) struct TrueModel<'a>(pub &'a Bandit);

impl RewardModel for TrueModel<'_> {
    fn predict(&self, context: &[f64], action: &InterventionId) -> f64 {
        let a = self.0.actions.iter().position(|x| x == action);
        let c = self.0.contexts.iter().position(|x| x == context);
        match (c, a) {
            (Some(c), Some(a)) => self.0.mean_reward[c][a],
            _ => 0.0,
        }
    }
}

/// A constant guess: a useless reward model.
pub(super) struct ConstantModel(pub f64);

impl RewardModel for ConstantModel {
    fn predict(&self, _: &[f64], _: &InterventionId) -> f64 {
        self.0
    }
}

/// Mean and standard error of the mean.
pub(super) fn mean_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// Sample variance.
pub(super) fn variance(xs: &[f64]) -> f64 {
    let (_, se) = mean_se(xs);
    se * se * xs.len() as f64
}

//! Results: [`SimReport`] holds additive totals for one (scenario, policy,
//! seed), so partial runs over disjoint ranges of people [`SimReport::merge`]
//! exactly; [`Metrics`] are the per-person means derived from it;
//! [`summarise`] turns reports over seeds into means with 95% intervals, and
//! [`paired_difference`] compares two policies seed by seed (the runner uses
//! common random numbers, so paired differences are much tighter than the
//! two intervals suggest). Everything is serde-serialisable; writing CSV or
//! JSON is the caller's business.

use crate::error::{EngineError, Result};
use serde::{Deserialize, Serialize};

/// Additive totals over people.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// People simulated.
    pub people: u64,
    /// Sum of true well-being improvements (end - start, 0-100 scale).
    pub improvement_sum: f64,
    /// Sum of squared improvements (for the between-person sd).
    pub improvement_sq_sum: f64,
    /// Sum of true starting well-being.
    pub start_wellbeing_sum: f64,
    /// People whose true well-being rose by at least 10 points.
    pub responders: u64,
    /// People whose true well-being fell by at least 10 points.
    pub deteriorated: u64,
    /// Sum over people of cumulative regret against the oracle (expected
    /// lasting well-being points; decision slots after drop-out count the
    /// oracle's whole gain).
    pub regret_sum: f64,
    /// Sum of the true expected gain of the chosen interventions.
    pub chosen_gain_sum: f64,
    /// Sum of the best true expected gain at each decision made.
    pub best_gain_sum: f64,
    /// Sum over decisions made of the mean true expected gain over the
    /// allowed interventions: what a uniformly random allowed choice gets in
    /// expectation (the floor of [`Metrics::captured_share`]).
    #[serde(default)]
    pub random_gain_sum: f64,
    /// Decisions made (while people were in care).
    pub decisions: u64,
    /// Decisions followed through fully.
    pub done: u64,
    /// Decisions followed through partly.
    pub partly: u64,
    /// Feedback messages delivered to the policy.
    pub feedback_sent: u64,
    /// Assessment occasions while in care.
    pub assessments_due: u64,
    /// Of those, skipped.
    pub assessments_missing: u64,
    /// People who dropped out before the end.
    pub dropouts: u64,
    /// Risk episodes that began (safety events).
    pub risk_episodes: u64,
    /// Decisions made under an active risk flag.
    pub risk_flagged_decisions: u64,
    /// Decisions made during a risk episode that no flag showed (missed risk).
    pub missed_risk_decisions: u64,
    /// Decisions under a risk flag that were not a safety intervention.
    pub safety_rule_violations: u64,
    /// Decisions for an intervention contraindicated for the person now.
    pub contraindicated_choices: u64,
}

/// Totals for one week (index 0 = start).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WeekTotals {
    /// Sum of true well-being at the start of the week (everyone, incl. drop-outs).
    pub wellbeing_sum: f64,
    /// Sum of cumulative regret so far.
    pub regret_sum: f64,
    /// People still in care.
    pub active: u64,
    /// Decisions made during the week.
    pub decisions: u64,
    /// Of those, followed through (fully or partly).
    pub followed: u64,
    /// Sum of the true expected gain of the interventions chosen this week.
    #[serde(default)]
    pub chosen_gain_sum: f64,
    /// Sum of the best allowed true expected gain at this week's decisions.
    #[serde(default)]
    pub best_gain_sum: f64,
    /// Sum of the mean allowed true expected gain at this week's decisions.
    #[serde(default)]
    pub random_gain_sum: f64,
}

/// Totals for one (scenario, policy, seed) over some people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimReport {
    /// Scenario name.
    pub scenario: String,
    /// Policy name.
    pub policy: String,
    /// Seed of the simulated world and people.
    pub seed: u64,
    /// Weeks simulated.
    pub weeks: u32,
    /// Totals over people.
    pub totals: Totals,
    /// Totals per week, `weeks + 1` entries (0 = start, `weeks` = end).
    pub weekly: Vec<WeekTotals>,
}

macro_rules! metrics {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// Per-person means of one report (`T = f64`), or their estimates
        /// over seeds (`T = Estimate`).
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct Metrics<T = f64> {
            $($(#[$doc])* pub $name: T,)*
        }

        impl<T> Metrics<T> {
            /// Field names, in order.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($name)),*];

            /// The metric called `name`.
            pub fn get(&self, name: &str) -> Option<&T> {
                match name {
                    $(stringify!($name) => Some(&self.$name),)*
                    _ => None,
                }
            }

            /// Builds every field from its name.
            pub fn from_fn(mut f: impl FnMut(&'static str) -> T) -> Self {
                Self { $($name: f(stringify!($name)),)* }
            }

            /// (name, value) pairs, in order (e.g. for a CSV row).
            pub fn pairs(&self) -> Vec<(&'static str, &T)> {
                vec![$((stringify!($name), &self.$name)),*]
            }
        }
    };
}

metrics! {
    /// Mean true well-being improvement, end - start (0-100 points).
    mean_improvement,
    /// Between-person sd of the improvement.
    sd_improvement,
    /// Mean true starting well-being.
    mean_start_wellbeing,
    /// Share improving by at least 10 points.
    responder_rate,
    /// Share worsening by at least 10 points.
    deterioration_rate,
    /// Mean cumulative regret per person against the oracle (lasting well-being points).
    mean_regret,
    /// Mean true expected gain of a chosen intervention.
    mean_chosen_gain,
    /// Mean best true expected gain at a decision.
    mean_best_gain,
    /// Mean true expected gain of a uniformly random allowed choice.
    mean_random_gain,
    /// Share of what the oracle gains over random that the policy gains:
    /// (chosen - random) / (best - random), summed over decisions; 0 for
    /// random, 1 for the oracle, negative below random.
    captured_share,
    /// Share of decisions followed through (fully or partly).
    follow_through_rate,
    /// Share of decisions done fully.
    done_rate,
    /// Share of assessment occasions skipped while in care.
    missing_rate,
    /// Share of people who dropped out.
    dropout_rate,
    /// Risk episodes per person (safety events).
    risk_episodes_per_person,
    /// Share of decisions made under a risk flag.
    risk_flagged_share,
    /// Share of decisions made in an undetected risk episode.
    missed_risk_share,
    /// Safety-rule violations per person (should be 0).
    safety_violations_per_person,
    /// Contraindicated choices per person (should be 0).
    contraindicated_per_person,
    /// Decisions per person.
    decisions_per_person,
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::NAN }
}

/// (chosen - random) / (best - random); NaN when the oracle has nothing over
/// random (no decisions, or every allowed choice equal).
fn captured(chosen: f64, best: f64, random: f64) -> f64 {
    let room = best - random;
    if room > 1e-12 {
        (chosen - random) / room
    } else {
        f64::NAN
    }
}

impl SimReport {
    /// An empty report.
    pub fn new(scenario: &str, policy: &str, seed: u64, weeks: u32) -> Self {
        Self {
            scenario: scenario.to_owned(),
            policy: policy.to_owned(),
            seed,
            weeks,
            totals: Totals::default(),
            weekly: vec![WeekTotals::default(); weeks as usize + 1],
        }
    }

    /// Adds another part of the same run (a disjoint range of people).
    pub fn merge(&mut self, other: &SimReport) -> Result<()> {
        if self.scenario != other.scenario
            || self.policy != other.policy
            || self.seed != other.seed
            || self.weeks != other.weeks
        {
            return Err(EngineError::InvalidConfig(format!(
                "cannot merge report ({}, {}, seed {}, {} weeks) into ({}, {}, seed {}, {} weeks)",
                other.scenario,
                other.policy,
                other.seed,
                other.weeks,
                self.scenario,
                self.policy,
                self.seed,
                self.weeks
            )));
        }
        let (t, o) = (&mut self.totals, &other.totals);
        t.people += o.people;
        t.improvement_sum += o.improvement_sum;
        t.improvement_sq_sum += o.improvement_sq_sum;
        t.start_wellbeing_sum += o.start_wellbeing_sum;
        t.responders += o.responders;
        t.deteriorated += o.deteriorated;
        t.regret_sum += o.regret_sum;
        t.chosen_gain_sum += o.chosen_gain_sum;
        t.best_gain_sum += o.best_gain_sum;
        t.random_gain_sum += o.random_gain_sum;
        t.decisions += o.decisions;
        t.done += o.done;
        t.partly += o.partly;
        t.feedback_sent += o.feedback_sent;
        t.assessments_due += o.assessments_due;
        t.assessments_missing += o.assessments_missing;
        t.dropouts += o.dropouts;
        t.risk_episodes += o.risk_episodes;
        t.risk_flagged_decisions += o.risk_flagged_decisions;
        t.missed_risk_decisions += o.missed_risk_decisions;
        t.safety_rule_violations += o.safety_rule_violations;
        t.contraindicated_choices += o.contraindicated_choices;
        for (w, o) in self.weekly.iter_mut().zip(&other.weekly) {
            w.wellbeing_sum += o.wellbeing_sum;
            w.regret_sum += o.regret_sum;
            w.active += o.active;
            w.decisions += o.decisions;
            w.followed += o.followed;
            w.chosen_gain_sum += o.chosen_gain_sum;
            w.best_gain_sum += o.best_gain_sum;
            w.random_gain_sum += o.random_gain_sum;
        }
        Ok(())
    }

    /// Per-person means.
    pub fn metrics(&self) -> Metrics {
        let t = &self.totals;
        let n = t.people as f64;
        let d = t.decisions as f64;
        let mean = ratio(t.improvement_sum, n);
        let var = if t.people > 1 {
            ((t.improvement_sq_sum - n * mean * mean) / (n - 1.0)).max(0.0)
        } else {
            f64::NAN
        };
        Metrics {
            mean_improvement: mean,
            sd_improvement: var.sqrt(),
            mean_start_wellbeing: ratio(t.start_wellbeing_sum, n),
            responder_rate: ratio(t.responders as f64, n),
            deterioration_rate: ratio(t.deteriorated as f64, n),
            mean_regret: ratio(t.regret_sum, n),
            mean_chosen_gain: ratio(t.chosen_gain_sum, d),
            mean_best_gain: ratio(t.best_gain_sum, d),
            mean_random_gain: ratio(t.random_gain_sum, d),
            captured_share: captured(t.chosen_gain_sum, t.best_gain_sum, t.random_gain_sum),
            follow_through_rate: ratio((t.done + t.partly) as f64, d),
            done_rate: ratio(t.done as f64, d),
            missing_rate: ratio(t.assessments_missing as f64, t.assessments_due as f64),
            dropout_rate: ratio(t.dropouts as f64, n),
            risk_episodes_per_person: ratio(t.risk_episodes as f64, n),
            risk_flagged_share: ratio(t.risk_flagged_decisions as f64, d),
            missed_risk_share: ratio(t.missed_risk_decisions as f64, d),
            safety_violations_per_person: ratio(t.safety_rule_violations as f64, n),
            contraindicated_per_person: ratio(t.contraindicated_choices as f64, n),
            decisions_per_person: ratio(d, n),
        }
    }

    /// Mean true well-being at the start of each week (`weeks + 1` points).
    pub fn wellbeing_curve(&self) -> Vec<f64> {
        let n = self.totals.people as f64;
        self.weekly
            .iter()
            .map(|w| ratio(w.wellbeing_sum, n))
            .collect()
    }

    /// Mean cumulative regret at the start of each week.
    pub fn regret_curve(&self) -> Vec<f64> {
        let n = self.totals.people as f64;
        self.weekly.iter().map(|w| ratio(w.regret_sum, n)).collect()
    }

    /// Share of people still in care at the start of each week.
    pub fn retention_curve(&self) -> Vec<f64> {
        let n = self.totals.people as f64;
        self.weekly
            .iter()
            .map(|w| ratio(w.active as f64, n))
            .collect()
    }

    /// Captured share of the decisions made in each week (NaN for a week
    /// without decisions, e.g. the last entry).
    pub fn captured_share_curve(&self) -> Vec<f64> {
        self.weekly
            .iter()
            .map(|w| captured(w.chosen_gain_sum, w.best_gain_sum, w.random_gain_sum))
            .collect()
    }

    /// Follow-through rate of the decisions made in each week.
    pub fn follow_through_curve(&self) -> Vec<f64> {
        self.weekly
            .iter()
            .map(|w| ratio(w.followed as f64, w.decisions as f64))
            .collect()
    }
}

/// A mean over seeds with a 95% t-interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Mean over seeds.
    pub mean: f64,
    /// Standard deviation over seeds.
    pub sd: f64,
    /// Lower end of the 95% interval for the mean.
    pub lower: f64,
    /// Upper end of the 95% interval for the mean.
    pub upper: f64,
    /// Number of seeds.
    pub n: usize,
}

/// Two-sided 97.5% quantiles of Student's t for 1-30 degrees of freedom.
const T975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

fn t975(df: usize) -> f64 {
    match df {
        0 => f64::NAN,
        1..=30 => T975[df - 1],
        // Good to 0.002 beyond the table.
        _ => 1.96 + 2.4 / df as f64,
    }
}

impl Estimate {
    /// Mean and 95% interval of finite values (NaN ones are skipped, e.g. a
    /// rate with no decisions). A single value gives an unbounded interval:
    /// one seed says nothing about the spread between seeds.
    pub fn from_values(values: impl IntoIterator<Item = f64>) -> Self {
        let v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
        let n = v.len();
        if n == 0 {
            return Self {
                mean: f64::NAN,
                sd: f64::NAN,
                lower: f64::NAN,
                upper: f64::NAN,
                n,
            };
        }
        let mean = v.iter().sum::<f64>() / n as f64;
        if n == 1 {
            return Self {
                mean,
                sd: f64::NAN,
                lower: f64::NEG_INFINITY,
                upper: f64::INFINITY,
                n,
            };
        }
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let sd = var.sqrt();
        let half = t975(n - 1) * sd / (n as f64).sqrt();
        Self {
            mean,
            sd,
            lower: mean - half,
            upper: mean + half,
            n,
        }
    }
}

/// One (scenario, policy) over seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicySummary {
    /// Scenario name.
    pub scenario: String,
    /// Policy name.
    pub policy: String,
    /// Seeds summarised.
    pub seeds: Vec<u64>,
    /// People per seed (mean).
    pub people: f64,
    /// Each metric's mean and interval over seeds.
    pub metrics: Metrics<Estimate>,
    /// Mean true well-being per week, over seeds.
    pub wellbeing_curve: Vec<Estimate>,
    /// Mean cumulative regret per week, over seeds.
    pub regret_curve: Vec<Estimate>,
    /// Captured share of each week's decisions, over seeds (a learning
    /// curve: a policy that learns rises from near 0).
    pub captured_share_curve: Vec<Estimate>,
}

/// Every (scenario, policy) in a set of reports, in first-seen order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// One row per (scenario, policy).
    pub rows: Vec<PolicySummary>,
}

impl Summary {
    /// The row for a policy (first scenario that has it).
    pub fn policy(&self, name: &str) -> Option<&PolicySummary> {
        self.rows.iter().find(|r| r.policy == name)
    }
}

/// Means and 95% intervals over seeds, per (scenario, policy). Each seed's
/// report counts once, whatever its number of people.
pub fn summarise(reports: &[SimReport]) -> Summary {
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for r in reports {
        let k = (r.scenario.as_str(), r.policy.as_str());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let rows = keys
        .into_iter()
        .map(|(scenario, policy)| {
            let group: Vec<&SimReport> = reports
                .iter()
                .filter(|r| r.scenario == scenario && r.policy == policy)
                .collect();
            let ms: Vec<Metrics> = group.iter().map(|r| r.metrics()).collect();
            let metrics = Metrics::from_fn(|name| {
                Estimate::from_values(ms.iter().filter_map(|m| m.get(name).copied()))
            });
            let weeks = group.iter().map(|r| r.weekly.len()).min().unwrap_or(0);
            let curve = |of: fn(&SimReport) -> Vec<f64>| {
                let curves: Vec<Vec<f64>> = group.iter().map(|r| of(r)).collect();
                (0..weeks)
                    .map(|w| Estimate::from_values(curves.iter().map(|c| c[w])))
                    .collect()
            };
            PolicySummary {
                scenario: scenario.to_owned(),
                policy: policy.to_owned(),
                seeds: group.iter().map(|r| r.seed).collect(),
                people: group.iter().map(|r| r.totals.people as f64).sum::<f64>()
                    / group.len().max(1) as f64,
                metrics,
                wellbeing_curve: curve(SimReport::wellbeing_curve),
                regret_curve: curve(SimReport::regret_curve),
                captured_share_curve: curve(SimReport::captured_share_curve),
            }
        })
        .collect();
    Summary { rows }
}

/// The difference `a - b` in one metric, paired by seed (same scenario), with
/// a 95% interval over seeds. `None` if the metric is unknown or no seed is in
/// both sets.
pub fn paired_difference(a: &[SimReport], b: &[SimReport], metric: &str) -> Option<Estimate> {
    Metrics::<f64>::NAMES.contains(&metric).then_some(())?;
    let diffs: Vec<f64> = a
        .iter()
        .filter_map(|ra| {
            let rb = b
                .iter()
                .find(|rb| rb.seed == ra.seed && rb.scenario == ra.scenario)?;
            Some(ra.metrics().get(metric)? - rb.metrics().get(metric)?)
        })
        .collect();
    (!diffs.is_empty()).then(|| Estimate::from_values(diffs))
}

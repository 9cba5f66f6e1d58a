//! `tutti tune`: searches engine hyperparameters ([`EngineConfig`] fields such
//! as `exploration`, `map_half_life_days`, `diversity`, `habituation`) on
//! the simulator or on a tenant's decision log, and writes a ranked table of
//! the configurations tried with their intervals, `trials.csv`,
//! `summary.json`, `best.toml` and a plot (`trials.{svg,png}`).
//!
//! It owns the search space, the search strategy, the selection rule and the
//! files. Scoring a configuration reuses the other subcommands: the
//! simulator's fixed chunks on a rayon pool ([`crate::simulate`]) and the
//! decision-log replay with off-policy estimates ([`crate::evaluate`]).
//!
//! # Search space
//! `--space FILE` is TOML with one key per `EngineConfig` field: a list of
//! values (`exploration = [0.1, 0.3]`) or a range (`map_half_life_days = { min =
//! 1, max = 50, log = true }`); fields left out keep the baseline's value.
//! Unknown fields, empty lists, `min > max`, a log range through 0, and
//! values the engine would reject are errors naming the field. Without a
//! file the space is [`DEFAULT_SPACE`].
//!
//! # Strategy, and why
//! Trial 0 is always the baseline (`--base-config`, the default configuration
//! otherwise): every other trial is compared with it. When every dimension is
//! a list and the grid has at most `--trials` points, the whole grid is run;
//! otherwise `--trials` seeded random draws (uniform, or log-uniform for
//! `log = true`, rounded to 3 significant digits so `best.toml` reads well;
//! duplicates are dropped). Random search rather than a model-based optimiser
//! because with a handful of seeds the objective is noisy, the useful spaces
//! have 2-5 dimensions, and random search has no tuning knobs of its own to
//! get wrong; it is also trivially reproducible.
//!
//! `--halving` (simulated source only) is one round of successive halving:
//! every trial runs on the first third of the people, the best third by the
//! objective (and the baseline) continue on the rest, and their two parts are
//! merged (the simulator draws each person's life from (seed, person index),
//! so the second part is not a re-run). It is off by default: on a third of
//! the people the objective is noisier, and a good configuration can be
//! dropped by chance; use it when the space is large and each run is slow.
//!
//! # Objectives and intervals
//! - `--simulated`: the objective is the mean improvement in true well-being
//!   (regret, follow-through and safety-rule violations are reported too).
//!   Every trial meets the same people in the same lives on every seed
//!   (common random numbers), so a trial's difference from another is
//!   computed seed by seed; intervals are 95% t-intervals over seeds, like
//!   `tutti simulate`'s (one seed gives none).
//! - `--db FILE --tenant T`: the objective is the SNIPS (default) or doubly
//!   robust estimate of the mean reward, as `tutti evaluate` computes it, with
//!   its 95% bootstrap interval and overlap warnings per trial. Differences
//!   between trials are bootstrapped on the same resamples of the decisions
//!   both evaluated (paired).
//!
//! # Selection and the safety constraint
//! The best trial is the one with the highest objective among those that do
//! not increase safety-rule violations over the baseline; a trial that does
//! is listed but never selected, whatever its objective. Simulated: its total
//! violations (decisions under a risk flag that were not a safety
//! intervention) over all seeds exceed the baseline's on the same people. Log:
//! its expected violations on the logged risk-flagged decisions (the target's
//! probability of ranking a non-safety intervention first there) exceed the
//! baseline's. Trials whose difference from the best has an interval
//! containing 0 are marked as not distinguishable from it, and the table says
//! so in words when that includes the baseline.
//!
//! # Determinism
//! Output is a function of the arguments alone: trials are drawn from
//! `--search-seed`, people are simulated in fixed chunks merged in order, the
//! bootstrap is seeded, and nothing written depends on the thread count or
//! the clock; the same arguments give byte-identical `trials.csv`,
//! `best.toml` and `summary.json` on 1 or 16 threads.

use crate::args::{LogArgs, SeedsArgs, ThreadsArgs};
use crate::bootstrap::{chunks, engine_with, load_engine_config};
use crate::evaluate::{Replay, TenantLog};
use crate::output::{self, Cell, Table, text_table, with_interval};
use crate::plot::{LineChart, Series};
use crate::simulate::Plan;
use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use rand::{Rng as _, SeedableRng as _};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tutti_engine::config::EngineConfig;
use tutti_engine::ope::{
    EvaluationConfig, EvaluationReport, LoggedDecision, OffPolicyData, RewardPredictions,
};
use tutti_engine::sim::report::Estimate;
use tutti_engine::sim::{Catalogs, EnginePolicy, SimReport, SimRng, Simulation};

/// The space searched without `--space`: the hyperparameters that move the
/// ranking (how much to explore, how fast a person's map forgets, how much
/// to diversify the list and to discount repeats), over ranges wide enough to
/// include clearly bad values.
pub const DEFAULT_SPACE: &str = r#"
exploration = { min = 0.0, max = 1.0 }
map_half_life_days = { min = 30.0, max = 720.0, log = true }
diversity = { min = 0.0, max = 1.0 }
habituation = { min = 0.0, max = 0.5 }
"#;

/// The objective on a decision log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Self-normalised IPS (bounded by the observed rewards; no reward model).
    Snips,
    /// Doubly robust with the cross-fitted ridge reward model.
    Dr,
}

/// Arguments of `tutti tune`.
#[derive(Debug, Clone, Args)]
pub struct TuneArgs {
    /// Score configurations on the simulator (known truth).
    #[arg(long, conflicts_with_all = ["db", "url", "tenant"], required_unless_present_any = ["db", "url"])]
    pub simulated: bool,
    /// The stored decision log to score on.
    #[command(flatten)]
    pub log: LogArgs,
    /// Search space (TOML: per `EngineConfig` field a list or `{ min, max, log }`)
    /// [default: exploration, map_half_life_days, diversity, habituation].
    #[arg(long, value_name = "FILE")]
    pub space: Option<PathBuf>,
    /// Configuration the trials start from and are compared with (TOML)
    /// [default: the default configuration].
    #[arg(long, value_name = "FILE")]
    pub base_config: Option<PathBuf>,
    /// Trials besides the baseline (random search), or the largest grid run whole.
    #[arg(long, default_value_t = 20)]
    pub trials: usize,
    /// Seed of the random search.
    #[arg(long, default_value_t = 0)]
    pub search_seed: u64,
    /// One round of successive halving (simulated only): all trials on a third
    /// of the people, the best third on the rest.
    #[arg(long, requires = "simulated")]
    pub halving: bool,
    /// The simulated worlds (`--simulated`).
    #[command(flatten)]
    pub world: SeedsArgs,
    /// Simulated: items the engine ranks per decision.
    #[arg(long, default_value_t = 5)]
    pub k: usize,
    /// Log: the estimate to maximise.
    #[arg(long, value_enum, default_value_t = Objective::Snips)]
    pub objective: Objective,
    /// Log: bootstrap resamples for the intervals.
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,
    /// Log: maximum importance weight (clipping) [default: none].
    #[arg(long)]
    pub clip: Option<f64>,
    /// Rows of the table printed on the terminal.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Output directory (created if needed).
    #[arg(long, value_name = "DIR", default_value = "tune-out")]
    pub out: PathBuf,
    /// The worker pool; results do not depend on it.
    #[command(flatten)]
    pub threads: ThreadsArgs,
    /// Skip the SVG/PNG plot.
    #[arg(long)]
    pub no_plots: bool,
}

// ------------------------------------------------------------ space

/// Where one dimension's values come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Domain {
    /// These values.
    Values(Vec<f64>),
    /// A range, drawn uniformly (or log-uniformly).
    Range {
        /// Lower end.
        min: f64,
        /// Upper end.
        max: f64,
        /// Draw the logarithm uniformly.
        log: bool,
    },
}

/// One searched `EngineConfig` field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dimension {
    /// The field name.
    pub field: String,
    /// The field is an integer (values are rounded).
    pub integer: bool,
    /// Its values.
    pub domain: Domain,
}

/// The search space: dimensions in field-name order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Space {
    /// The dimensions.
    pub dimensions: Vec<Dimension>,
}

/// `config` with `field` set to `value`, through serde so the space follows
/// `EngineConfig` without a list of fields to keep in sync.
fn with_field(config: &EngineConfig, field: &str, value: f64) -> anyhow::Result<EngineConfig> {
    let mut json = serde_json::to_value(config).context("encoding the configuration")?;
    let map = json
        .as_object_mut()
        .context("the configuration is not a JSON object")?;
    let current = map.get(field).with_context(|| {
        format!(
            "`{field}` is not an engine configuration field (known: {})",
            field_names().join(", ")
        )
    })?;
    let number = if current.is_u64() || current.is_i64() {
        if value.fract() != 0.0 || value < 0.0 {
            bail!("`{field}` takes a whole number >= 0, got {value}");
        }
        serde_json::Value::from(value as u64)
    } else {
        serde_json::Value::from(value)
    };
    map.insert(field.to_owned(), number);
    let out: EngineConfig = serde_json::from_value(json).with_context(|| format!("`{field}`"))?;
    out.validate()
        .map_err(|e| anyhow::anyhow!("`{field}` = {value}: {e}"))?;
    Ok(out)
}

fn field_names() -> Vec<String> {
    match serde_json::to_value(EngineConfig::default()) {
        Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

fn is_integer_field(field: &str) -> bool {
    serde_json::to_value(EngineConfig::default())
        .ok()
        .and_then(|v| v.get(field).map(|f| f.is_u64() || f.is_i64()))
        .unwrap_or(false)
}

#[expect(
    clippy::wildcard_enum_match_arm,
    reason = "toml's Value: anything but a number is refused by name"
)]
fn number(field: &str, v: &toml::Value) -> anyhow::Result<f64> {
    match v {
        toml::Value::Integer(i) => Ok(*i as f64),
        toml::Value::Float(f) if f.is_finite() => Ok(*f),
        other => bail!("`{field}`: expected a number, got {other}"),
    }
}

impl Space {
    /// Parses a space file (see the module docs); `base` checks each value.
    #[expect(
        clippy::wildcard_enum_match_arm,
        reason = "toml's Value: anything but the types a field takes is refused by name"
    )]
    pub fn from_toml(text: &str, base: &EngineConfig) -> anyhow::Result<Self> {
        let table: toml::Table = toml::from_str(text).context("parsing the search space")?;
        if table.is_empty() {
            bail!("the search space names no field");
        }
        let known = field_names();
        let mut dimensions = Vec::new();
        for (field, value) in &table {
            if !known.contains(field) {
                bail!(
                    "unknown field `{field}` in the search space (engine configuration fields: {})",
                    known.join(", ")
                );
            }
            let integer = is_integer_field(field);
            let domain = match value {
                toml::Value::Array(items) => {
                    if items.is_empty() {
                        bail!("`{field}`: the list of values is empty");
                    }
                    let mut values = Vec::with_capacity(items.len());
                    for item in items {
                        let v = number(field, item)?;
                        with_field(base, field, v)?;
                        if !values.contains(&v) {
                            values.push(v);
                        }
                    }
                    Domain::Values(values)
                }
                toml::Value::Table(range) => {
                    for key in range.keys() {
                        if !["min", "max", "log"].contains(&key.as_str()) {
                            bail!("`{field}`: unknown range key `{key}` (use min, max, log)");
                        }
                    }
                    let bound = |key: &str| {
                        range
                            .get(key)
                            .with_context(|| format!("`{field}`: a range needs `{key}`"))
                            .and_then(|v| number(field, v))
                    };
                    let (min, max) = (bound("min")?, bound("max")?);
                    let log = match range.get("log") {
                        None => false,
                        Some(toml::Value::Boolean(b)) => *b,
                        Some(other) => bail!("`{field}`: `log` must be true or false, got {other}"),
                    };
                    if min > max {
                        bail!("`{field}`: invalid range, min {min} > max {max}");
                    }
                    if log && min <= 0.0 {
                        bail!("`{field}`: a log range needs min > 0, got {min}");
                    }
                    // The engine's valid ranges are intervals: checking the
                    // ends checks every value between them.
                    with_field(base, field, min)?;
                    with_field(base, field, max)?;
                    Domain::Range { min, max, log }
                }
                other => bail!(
                    "`{field}`: expected a list of values or {{ min, max, log }}, got {other}"
                ),
            };
            dimensions.push(Dimension {
                field: field.clone(),
                integer,
                domain,
            });
        }
        Ok(Self { dimensions })
    }

    /// The full grid when every dimension is a list of at most `limit`
    /// points in all; `None` otherwise.
    fn grid(&self, limit: usize) -> Option<Vec<Vec<f64>>> {
        let mut size: usize = 1;
        for d in &self.dimensions {
            match &d.domain {
                Domain::Values(v) => size = size.checked_mul(v.len())?,
                Domain::Range { .. } => return None,
            }
        }
        if size > limit {
            return None;
        }
        let mut points: Vec<Vec<f64>> = vec![Vec::new()];
        for d in &self.dimensions {
            let Domain::Values(values) = &d.domain else {
                return None;
            };
            points = points
                .into_iter()
                .flat_map(|p| {
                    values.iter().map(move |v| {
                        let mut q = p.clone();
                        q.push(*v);
                        q
                    })
                })
                .collect();
        }
        Some(points)
    }

    /// One random point.
    fn draw(&self, rng: &mut SimRng) -> Vec<f64> {
        self.dimensions
            .iter()
            .map(|d| {
                let v = match &d.domain {
                    Domain::Values(values) => values[rng.random_range(0..values.len())],
                    Domain::Range { min, max, log } => {
                        let u: f64 = rng.random();
                        if *log {
                            (min.ln() + u * (max.ln() - min.ln())).exp()
                        } else {
                            min + u * (max - min)
                        }
                        .clamp(*min, *max)
                    }
                };
                if d.integer {
                    v.round()
                } else if matches!(d.domain, Domain::Range { .. }) {
                    round_significant(v, 3).clamp(range_min(d), range_max(d))
                } else {
                    v
                }
            })
            .collect()
    }
}

fn range_min(d: &Dimension) -> f64 {
    match &d.domain {
        Domain::Range { min, .. } => *min,
        Domain::Values(_) => f64::NEG_INFINITY,
    }
}

fn range_max(d: &Dimension) -> f64 {
    match &d.domain {
        Domain::Range { max, .. } => *max,
        Domain::Values(_) => f64::INFINITY,
    }
}

/// `v` rounded to `digits` significant digits (through the decimal form, so
/// the value written is the value run).
fn round_significant(v: f64, digits: usize) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    format!("{v:.prec$e}", prec = digits.saturating_sub(1))
        .parse()
        .unwrap_or(v)
}

/// A configuration to try.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    /// Trial number; 0 is the baseline.
    pub trial: usize,
    /// The searched fields' values, in space order.
    pub values: Vec<f64>,
    /// The full configuration.
    pub config: EngineConfig,
}

/// The trials: the baseline first, then the grid or the random draws.
pub fn candidates(
    space: &Space,
    base: &EngineConfig,
    trials: usize,
    seed: u64,
) -> anyhow::Result<(String, Vec<Candidate>)> {
    let build = |values: &[f64]| -> anyhow::Result<EngineConfig> {
        let mut config = base.clone();
        for (d, v) in space.dimensions.iter().zip(values) {
            config = with_field(&config, &d.field, *v)?;
        }
        Ok(config)
    };
    let base_values: Vec<f64> = space
        .dimensions
        .iter()
        .map(|d| field_value(base, &d.field))
        .collect();
    let mut out = vec![Candidate {
        trial: 0,
        values: base_values,
        config: base.clone(),
    }];
    let (strategy, points) = match space.grid(trials.max(1)) {
        Some(grid) => ("grid".to_owned(), grid),
        None => {
            let mut rng = SimRng::seed_from_u64(seed);
            let points = (0..trials).map(|_| space.draw(&mut rng)).collect();
            (format!("random (seed {seed})"), points)
        }
    };
    for values in points {
        let config = build(&values)?;
        if out.iter().any(|c| c.config == config) {
            continue;
        }
        out.push(Candidate {
            trial: out.len(),
            values,
            config,
        });
    }
    Ok((strategy, out))
}

fn field_value(config: &EngineConfig, field: &str) -> f64 {
    serde_json::to_value(config)
        .ok()
        .and_then(|v| v.get(field).and_then(serde_json::Value::as_f64))
        .unwrap_or(f64::NAN)
}

/// `field=value` for every field that differs from the baseline.
fn changes(config: &EngineConfig, base: &EngineConfig) -> String {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(config), serde_json::to_value(base))
    else {
        return String::new();
    };
    let changed: Vec<String> = a
        .iter()
        .filter(|(k, v)| b.get(*k) != Some(*v))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if changed.is_empty() {
        "(baseline)".into()
    } else {
        changed.join(" ")
    }
}

// ------------------------------------------------------------ scoring

/// A value with a 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// Point value.
    pub value: f64,
    /// Lower end (`-inf` when there is no interval, e.g. one seed).
    pub lower: f64,
    /// Upper end.
    pub upper: f64,
}

impl Interval {
    fn of(e: &Estimate) -> Self {
        Self {
            value: e.mean,
            lower: e.lower,
            upper: e.upper,
        }
    }

    /// The interval contains 0 (or is unbounded).
    fn contains_zero(&self) -> bool {
        !(self.lower > 0.0 || self.upper < 0.0)
    }
}

/// The units a paired difference is computed over: per seed (simulated) or
/// per decision, as a ratio of sums (log).
#[derive(Debug, Clone)]
enum Units {
    Seeds(BTreeMap<u64, f64>),
    Decisions(BTreeMap<usize, (f64, f64)>),
}

/// Seed of the paired bootstrap: fixed, so differences are reproducible and
/// every pair of trials uses the same resamples.
const BOOTSTRAP_SEED: u64 = 0x7475_6e65;

/// `a - b`, paired over the units both have, with a 95% interval.
fn paired(a: &Units, b: &Units, resamples: usize) -> Interval {
    match (a, b) {
        (Units::Seeds(a), Units::Seeds(b)) => Interval::of(&Estimate::from_values(
            a.iter()
                .filter_map(|(s, x)| Some(x - b.get(s)?))
                .collect::<Vec<_>>(),
        )),
        (Units::Decisions(a), Units::Decisions(b)) => {
            // The decisions both trials' replays kept, paired.
            let (xs, ys): (Vec<_>, Vec<_>) =
                a.iter().filter_map(|(i, x)| Some((*x, *b.get(i)?))).unzip();
            let d = tutti_engine::ope::paired_ratio_difference(
                &xs,
                &ys,
                resamples,
                BOOTSTRAP_SEED,
                0.95,
            );
            Interval {
                value: d.value,
                lower: d.lower,
                upper: d.upper,
            }
        }
        _ => Interval {
            value: f64::NAN,
            lower: f64::NAN,
            upper: f64::NAN,
        },
    }
}

/// What the simulator measured for one trial.
#[derive(Debug, Clone, Serialize)]
pub struct SimScore {
    /// People per seed the trial ran on (fewer when halving dropped it).
    pub people: u64,
    /// Mean true improvement over seeds.
    pub improvement: Interval,
    /// Mean regret against the oracle.
    pub regret: Interval,
    /// Follow-through rate.
    pub follow_through: Interval,
    /// Safety-rule violations per person.
    pub safety_violations_per_person: Interval,
    /// Safety-rule violations, all seeds and people.
    pub safety_violations: u64,
    /// Regret minus the baseline's, paired by seed.
    pub regret_minus_baseline: Interval,
}

/// What the off-policy estimators said for one trial.
#[derive(Debug, Clone, Serialize)]
pub struct LogScore {
    /// Decisions evaluated.
    pub decisions: usize,
    /// Decisions the replay left out.
    pub skipped: usize,
    /// IPS, SNIPS and DR with their bootstrap intervals and diagnostics.
    pub evaluation: EvaluationReport,
    /// Expected safety-rule violations on the logged risk-flagged decisions:
    /// the target's probability of putting a non-safety intervention first.
    pub expected_safety_violations: f64,
    /// Logged decisions on the safety path.
    pub safety_decisions: usize,
}

/// One trial's result.
#[derive(Debug, Clone, Serialize)]
pub struct Trial {
    /// Trial number; 0 is the baseline.
    pub trial: usize,
    /// Fields that differ from the baseline, `field=value`.
    pub changes: String,
    /// The searched fields' values, in space order.
    pub values: Vec<f64>,
    /// The full configuration.
    pub config: EngineConfig,
    /// Ran on the full budget (false: dropped by halving).
    pub complete: bool,
    /// Does not increase safety-rule violations over the baseline.
    pub safe: bool,
    /// The objective with its 95% interval.
    pub objective: Interval,
    /// Objective minus the baseline's, paired.
    pub minus_baseline: Interval,
    /// Best minus this trial, paired (`None` for the best itself).
    pub best_minus_this: Option<Interval>,
    /// Rank among complete trials by objective (1 = highest).
    pub rank: Option<usize>,
    /// Simulated source.
    pub simulated: Option<SimScore>,
    /// Log source.
    pub log: Option<LogScore>,
    #[serde(skip)]
    units: Units,
    #[serde(skip)]
    safety_total: f64,
}

impl Trial {
    fn new(c: &Candidate, base: &EngineConfig, objective: Interval, units: Units) -> Self {
        Self {
            trial: c.trial,
            changes: changes(&c.config, base),
            values: c.values.clone(),
            config: c.config.clone(),
            complete: true,
            safe: true,
            objective,
            minus_baseline: objective,
            best_minus_this: None,
            rank: None,
            simulated: None,
            log: None,
            units,
            safety_total: 0.0,
        }
    }
}

/// Runs each listed trial on every seed over `people`; one merged report
/// per (trial, seed), in that order.
fn simulate_trials(
    plan: &Plan,
    sims: &[Simulation],
    engines: &[tutti_engine::Engine],
    which: &[usize],
    people: Range<u64>,
    pool: &rayon::ThreadPool,
) -> anyhow::Result<Vec<Vec<SimReport>>> {
    let parts = chunks(people);
    let jobs: Vec<(usize, usize, Range<u64>)> = which
        .iter()
        .flat_map(|&t| {
            let parts = &parts;
            (0..sims.len()).flat_map(move |s| parts.iter().map(move |r| (t, s, r.clone())))
        })
        .collect();
    let results: Vec<tutti_engine::Result<SimReport>> = pool.install(|| {
        jobs.par_iter()
            .map(|(t, s, range)| {
                sims[*s].run_people(range.clone(), plan.weeks, || {
                    EnginePolicy::named(&engines[*t], format!("trial_{t}")).with_k(plan.k)
                })
            })
            .collect()
    });
    let mut it = results.into_iter();
    let mut out = Vec::with_capacity(which.len());
    for _ in which {
        let mut per_seed = Vec::with_capacity(sims.len());
        for _ in sims {
            let mut merged: Option<SimReport> = None;
            for _ in &parts {
                let part = it.next().context("missing simulation part")??;
                match &mut merged {
                    None => merged = Some(part),
                    Some(m) => m.merge(&part)?,
                }
            }
            per_seed.push(merged.context("no people simulated")?);
        }
        out.push(per_seed);
    }
    Ok(out)
}

fn over_seeds(reports: &[SimReport], metric: &str) -> BTreeMap<u64, f64> {
    reports
        .iter()
        .filter_map(|r| Some((r.seed, *r.metrics().get(metric)?)))
        .collect()
}

fn estimate(values: &BTreeMap<u64, f64>) -> Interval {
    Interval::of(&Estimate::from_values(values.values().copied()))
}

/// Scores the candidates on the simulator.
fn score_simulated(
    args: &TuneArgs,
    plan: &Plan,
    cands: &[Candidate],
    pool: &rayon::ThreadPool,
) -> anyhow::Result<Vec<Trial>> {
    let catalogs = Catalogs::builtin()?;
    let sims = plan
        .seeds
        .iter()
        .map(|&seed| Simulation::new(&plan.scenario, &catalogs, seed))
        .collect::<tutti_engine::Result<Vec<_>>>()?;
    let engines = cands
        .iter()
        .map(|c| engine_with(c.config.clone()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let all: Vec<usize> = (0..cands.len()).collect();
    let mut reports: Vec<Vec<SimReport>>;
    let mut people = vec![plan.people; cands.len()];
    if args.halving && cands.len() > 3 && plan.people >= 3 {
        let first = plan.people / 3;
        reports = simulate_trials(plan, &sims, &engines, &all, 0..first, pool)?;
        let mut order: Vec<usize> = (1..cands.len()).collect();
        let mean = |t: usize| {
            let v = over_seeds(&reports[t], "mean_improvement");
            v.values().sum::<f64>() / v.len().max(1) as f64
        };
        order.sort_by(|a, b| mean(*b).total_cmp(&mean(*a)).then(a.cmp(b)));
        let keep = (cands.len() - 1).div_ceil(3);
        let mut survivors: Vec<usize> = std::iter::once(0)
            .chain(order.into_iter().take(keep))
            .collect();
        survivors.sort_unstable();
        let rest = simulate_trials(plan, &sims, &engines, &survivors, first..plan.people, pool)?;
        for (t, more) in survivors.iter().zip(rest) {
            for (r, m) in reports[*t].iter_mut().zip(&more) {
                r.merge(m)?;
            }
        }
        for (t, p) in people.iter_mut().enumerate() {
            if !survivors.contains(&t) {
                *p = first;
            }
        }
    } else {
        reports = simulate_trials(plan, &sims, &engines, &all, 0..plan.people, pool)?;
    }
    let base_regret = over_seeds(&reports[0], "mean_regret");
    let trials = cands
        .iter()
        .zip(&reports)
        .zip(&people)
        .map(|((c, r), &p)| {
            let improvement = over_seeds(r, "mean_improvement");
            let regret = over_seeds(r, "mean_regret");
            let violations: u64 = r.iter().map(|x| x.totals.safety_rule_violations).sum();
            let mut trial = Trial::new(
                c,
                &cands[0].config,
                estimate(&improvement),
                Units::Seeds(improvement),
            );
            trial.complete = p == plan.people;
            trial.safety_total = violations as f64;
            trial.simulated = Some(SimScore {
                people: p,
                improvement: trial.objective,
                regret: estimate(&regret),
                follow_through: estimate(&over_seeds(r, "follow_through_rate")),
                safety_violations_per_person: estimate(&over_seeds(
                    r,
                    "safety_violations_per_person",
                )),
                safety_violations: violations,
                regret_minus_baseline: paired(
                    &Units::Seeds(regret),
                    &Units::Seeds(base_regret.clone()),
                    0,
                ),
            });
            trial
        })
        .collect();
    Ok(trials)
}

fn evaluation_config(args: &TuneArgs) -> anyhow::Result<EvaluationConfig> {
    let mut config = EvaluationConfig::default();
    config.estimator.bootstrap_resamples = args.bootstrap;
    config.estimator.confidence = 0.95;
    config.estimator.clip = args.clip;
    config.validate()?;
    if args.bootstrap == 0 {
        bail!("--bootstrap must be at least 10: the table needs intervals");
    }
    Ok(config)
}

/// Scores one candidate on a replayed log.
fn score_log(
    log: &TenantLog,
    c: &Candidate,
    base: &EngineConfig,
    args: &TuneArgs,
    config: &EvaluationConfig,
) -> anyhow::Result<Trial> {
    let Replay {
        engine,
        rows,
        skipped,
        ..
    } = log.replay(c.config.clone())?;
    if rows.is_empty() {
        bail!(
            "trial {}: no usable decisions (skipped: {skipped:?})",
            c.trial
        );
    }
    let decisions: Vec<LoggedDecision> = rows.iter().map(|r| r.decision.clone()).collect();
    let targets: Vec<Vec<f64>> = rows.iter().map(|r| r.target.clone()).collect();
    let data = OffPolicyData::new(&decisions, targets)?;
    let evaluation = tutti_engine::ope::evaluate(&data, config)?;
    let clip = |w: f64| config.estimator.clip.map_or(w, |m| w.min(m));
    let units: BTreeMap<usize, (f64, f64)> = match args.objective {
        Objective::Snips => rows
            .iter()
            .zip(data.weights())
            .map(|(r, w)| (r.index, (clip(*w) * r.decision.reward, clip(*w))))
            .collect(),
        Objective::Dr => {
            let q = RewardPredictions::cross_fitted(&data, &config.ridge, config.cross_fit_folds)?;
            rows.iter()
                .enumerate()
                .map(|(i, r)| {
                    let qi = q.row(i);
                    let direct: f64 = r.target.iter().zip(qi).map(|(p, q)| p * q).sum();
                    let a = data.action_indices()[i];
                    let term = direct + clip(data.weights()[i]) * (r.decision.reward - qi[a]);
                    (r.index, (term, 1.0))
                })
                .collect()
        }
    };
    let estimate = match args.objective {
        Objective::Snips => &evaluation.snips,
        Objective::Dr => &evaluation.doubly_robust,
    };
    let objective = Interval {
        value: estimate.value,
        lower: estimate.lower,
        upper: estimate.upper,
    };
    let is_safety = |id: &tutti_engine::ids::InterventionId| {
        engine.interventions().get(id).is_some_and(|iv| iv.safety)
    };
    let safety_rows: Vec<_> = rows.iter().filter(|r| r.safety_mode).collect();
    let expected: f64 = safety_rows
        .iter()
        .map(|r| {
            r.decision
                .candidates
                .iter()
                .zip(&r.target)
                .filter(|(id, _)| !is_safety(id))
                .map(|(_, p)| p)
                .sum::<f64>()
        })
        .sum();
    let mut trial = Trial::new(c, base, objective, Units::Decisions(units));
    trial.safety_total = expected;
    trial.log = Some(LogScore {
        decisions: rows.len(),
        skipped: skipped.empty_ranking + skipped.zero_propensity + skipped.target_empty,
        evaluation,
        expected_safety_violations: expected,
        safety_decisions: safety_rows.len(),
    });
    Ok(trial)
}

/// Safety, differences, ranks and the best trial's index.
fn rank(trials: &mut [Trial], resamples: usize) -> anyhow::Result<usize> {
    let base_units = trials[0].units.clone();
    let base_safety = trials[0].safety_total;
    for t in trials.iter_mut() {
        // A trial dropped by halving ran on fewer people than the baseline:
        // their difference would compare different populations.
        t.minus_baseline = if t.complete {
            paired(&t.units, &base_units, resamples)
        } else {
            Interval {
                value: f64::NAN,
                lower: f64::NAN,
                upper: f64::NAN,
            }
        };
        // A tolerance only for the float sums of expected violations.
        t.safe = t.safety_total <= base_safety + 1e-9;
    }
    let mut order: Vec<usize> = (0..trials.len()).filter(|&i| trials[i].complete).collect();
    order.sort_by(|&a, &b| {
        trials[b]
            .objective
            .value
            .total_cmp(&trials[a].objective.value)
            .then(a.cmp(&b))
    });
    for (r, &i) in order.iter().enumerate() {
        trials[i].rank = Some(r + 1);
    }
    let best = order
        .iter()
        .copied()
        .find(|&i| trials[i].safe && trials[i].objective.value.is_finite())
        .context("no trial could be scored")?;
    let best_units = trials[best].units.clone();
    for (i, t) in trials.iter_mut().enumerate() {
        if i != best && t.complete {
            t.best_minus_this = Some(paired(&best_units, &t.units, resamples));
        }
    }
    Ok(best)
}

// ------------------------------------------------------------ output

/// Everything in `summary.json`. No times or thread counts: the file is a
/// function of the arguments alone.
#[derive(Debug, Clone, Serialize)]
pub struct TuneSummary {
    /// `simulated` or `db`.
    pub source: String,
    /// Simulated: scenario, people, weeks, seeds; db: file and tenant.
    pub origin: String,
    /// What is maximised.
    pub objective: String,
    /// `grid` or `random (seed S)`.
    pub strategy: String,
    /// Successive halving was used.
    pub halving: bool,
    /// The space searched.
    pub space: Space,
    /// The baseline configuration (trial 0).
    pub baseline: EngineConfig,
    /// Trial number of the best.
    pub best: usize,
    /// The best configuration (as in `best.toml`).
    pub best_config: EngineConfig,
    /// The best cannot be told apart from the baseline.
    pub best_indistinguishable_from_baseline: bool,
    /// Trials whose difference from the best has an interval containing 0.
    pub indistinguishable_from_best: Vec<usize>,
    /// Trials excluded for more safety-rule violations than the baseline.
    pub excluded_for_safety: Vec<usize>,
    /// Every trial.
    pub trials: Vec<Trial>,
}

fn interval_cells(i: &Interval) -> [Cell; 3] {
    [
        Cell::Float(i.value),
        Cell::Float(i.lower),
        Cell::Float(i.upper),
    ]
}

fn trials_table(s: &TuneSummary) -> Table {
    let mut header: Vec<String> = ["trial", "rank", "best", "complete", "safe", "changes"]
        .into_iter()
        .map(String::from)
        .collect();
    header.extend(s.space.dimensions.iter().map(|d| d.field.clone()));
    let triple = |h: &mut Vec<String>, n: &str| {
        h.extend([n.to_owned(), format!("{n}_lower"), format!("{n}_upper")]);
    };
    triple(&mut header, "objective");
    triple(&mut header, "minus_baseline");
    triple(&mut header, "best_minus_this");
    header.push("indistinguishable_from_best".into());
    let simulated = s.source == "simulated";
    if simulated {
        header.push("people".into());
        for n in [
            "regret",
            "regret_minus_baseline",
            "follow_through",
            "safety_violations_per_person",
        ] {
            triple(&mut header, n);
        }
        header.push("safety_violations".into());
    } else {
        header.extend(["decisions".into(), "skipped".into()]);
        for n in ["ips", "snips", "dr"] {
            triple(&mut header, n);
        }
        header.extend([
            "effective_sample_size".into(),
            "max_weight".into(),
            "expected_safety_violations".into(),
            "warnings".into(),
        ]);
    }
    header.push("model_version".into());
    let mut t = Table::new(header);
    for trial in &s.trials {
        let mut row = vec![
            Cell::Int(trial.trial as i64),
            Cell::opt_int(trial.rank.map(|r| r as i64)),
            Cell::Bool(trial.trial == s.best),
            Cell::Bool(trial.complete),
            Cell::Bool(trial.safe),
            Cell::text(&trial.changes),
        ];
        row.extend(trial.values.iter().map(|v| Cell::Float(*v)));
        row.extend(interval_cells(&trial.objective));
        row.extend(interval_cells(&trial.minus_baseline));
        match &trial.best_minus_this {
            Some(d) => row.extend(interval_cells(d)),
            None => row.extend([Cell::Null, Cell::Null, Cell::Null]),
        }
        row.push(Cell::Bool(
            s.indistinguishable_from_best.contains(&trial.trial),
        ));
        if let Some(sim) = &trial.simulated {
            row.push(Cell::Int(sim.people as i64));
            for i in [
                &sim.regret,
                &sim.regret_minus_baseline,
                &sim.follow_through,
                &sim.safety_violations_per_person,
            ] {
                row.extend(interval_cells(i));
            }
            row.push(Cell::Int(sim.safety_violations as i64));
        }
        if let Some(log) = &trial.log {
            let e = &log.evaluation;
            row.extend([
                Cell::Int(log.decisions as i64),
                Cell::Int(log.skipped as i64),
            ]);
            for x in [&e.ips, &e.snips, &e.doubly_robust] {
                row.extend([
                    Cell::Float(x.value),
                    Cell::Float(x.lower),
                    Cell::Float(x.upper),
                ]);
            }
            let codes: Vec<&str> = e.warnings().iter().map(|w| w.code()).collect();
            row.extend([
                Cell::Float(e.snips.effective_sample_size),
                Cell::Float(e.diagnostics.max_weight),
                Cell::Float(log.expected_safety_violations),
                Cell::text(codes.join(";")),
            ]);
        }
        row.push(Cell::text(model_version(&trial.config)));
        t.push(row);
    }
    t
}

fn model_version(config: &EngineConfig) -> String {
    engine_with(config.clone()).map_or_else(|_| String::new(), |e| e.model_version())
}

/// `best.toml`: an `[engine]` section, which `tutti serve --config` reads as
/// part of the server configuration and `--engine-config` / `--target-config`
/// read on their own.
pub fn best_toml(s: &TuneSummary) -> anyhow::Result<String> {
    #[derive(Serialize)]
    struct File<'a> {
        engine: &'a EngineConfig,
    }
    let best = s
        .trials
        .iter()
        .find(|t| t.trial == s.best)
        .context("the best trial is missing")?;
    let body = toml::to_string(&File {
        engine: &s.best_config,
    })
    .context("encoding best.toml")?;
    let verdict = if s.best == 0 {
        "the baseline itself: no trial did better".to_owned()
    } else if s.best_indistinguishable_from_baseline {
        "NOT distinguishable from the baseline (its interval of the difference contains 0)"
            .to_owned()
    } else {
        "better than the baseline (interval of the difference above 0)".to_owned()
    };
    Ok(format!(
        "# Written by `tutti tune` ({}, {}).\n# Trial {} ({}): {} {} [{}, {}]; {verdict}.\n\
         # Use as `tutti serve --config best.toml` (or merge the [engine] section into the\n\
         # server's file), or `tutti simulate --engine-config best.toml`.\n\n{body}",
        s.source,
        s.origin,
        best.trial,
        best.changes,
        s.objective,
        fmt(best.objective.value),
        fmt(best.objective.lower),
        fmt(best.objective.upper),
    ))
}

fn fmt(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.4}")
    } else {
        "-".into()
    }
}

fn signed(i: &Interval, digits: usize) -> String {
    if !i.value.is_finite() {
        return "-".into();
    }
    if i.lower.is_finite() && i.upper.is_finite() {
        format!(
            "{:+.digits$} [{:+.digits$}, {:+.digits$}]",
            i.value, i.lower, i.upper
        )
    } else {
        format!("{:+.digits$} [no interval]", i.value)
    }
}

/// The table printed on the terminal, with the verdict in words.
pub fn render(s: &TuneSummary, top: usize) -> String {
    let simulated = s.source == "simulated";
    let digits = if simulated { 2 } else { 4 };
    let mut ranked: Vec<&Trial> = s.trials.iter().filter(|t| t.rank.is_some()).collect();
    ranked.sort_by_key(|t| t.rank);
    let mut shown: Vec<&Trial> = ranked.iter().take(top.max(1)).copied().collect();
    if !shown.iter().any(|t| t.trial == 0)
        && let Some(b) = ranked.iter().find(|t| t.trial == 0)
    {
        shown.push(b);
    }
    // text_table right-aligns; padding makes the parameters read left to right.
    let width = shown
        .iter()
        .map(|t| t.changes.chars().count())
        .max()
        .unwrap_or(0);
    let rows: Vec<Vec<String>> = shown
        .iter()
        .map(|t| {
            let mark = if t.trial == s.best {
                "best"
            } else if !t.safe {
                "excluded: safety"
            } else if s.indistinguishable_from_best.contains(&t.trial) {
                "~ best"
            } else {
                ""
            };
            let o = &t.objective;
            let mut row = vec![
                t.rank.map_or_else(String::new, |r| r.to_string()),
                t.trial.to_string(),
                format!("{:<width$}", t.changes),
                with_interval(o.value, o.lower, o.upper, digits),
                if t.trial == 0 {
                    "-".into()
                } else {
                    signed(&t.minus_baseline, digits)
                },
            ];
            if let Some(sim) = &t.simulated {
                row.push(with_interval(
                    sim.regret.value,
                    sim.regret.lower,
                    sim.regret.upper,
                    1,
                ));
                row.push(format!("{:.2}", sim.follow_through.value));
                row.push(sim.safety_violations.to_string());
            }
            if let Some(log) = &t.log {
                row.push(format!("{:.0}", log.evaluation.snips.effective_sample_size));
                row.push(format!("{:.3}", log.expected_safety_violations));
                row.push(log.evaluation.warnings().len().to_string());
            }
            row.push(mark.into());
            row
        })
        .collect();
    let mut header = vec![
        "rank",
        "trial",
        "changed parameters",
        if simulated {
            "improvement [95% CI]"
        } else if s.objective.starts_with("dr") {
            "DR [95% CI]"
        } else {
            "SNIPS [95% CI]"
        },
        "minus baseline [95% CI]",
    ];
    if simulated {
        header.extend(["regret", "follow-through", "safety viol."]);
    } else {
        header.extend(["ESS", "exp. safety viol.", "warnings"]);
    }
    header.push("");
    let mut out = text_table(&header, &rows);
    let complete = s.trials.iter().filter(|t| t.complete).count();
    if complete < s.trials.len() {
        out.push_str(&format!(
            "({} of {} trials dropped by halving after a third of the people; see trials.csv)\n",
            s.trials.len() - complete,
            s.trials.len()
        ));
    }
    let best = s.trials.iter().find(|t| t.trial == s.best);
    out.push('\n');
    if let Some(b) = best.filter(|b| b.trial != 0) {
        out.push_str(&format!("best: trial {} ({})\n", b.trial, b.changes));
    }
    let others: Vec<String> = s
        .indistinguishable_from_best
        .iter()
        .map(|t| t.to_string())
        .collect();
    if s.best == 0 {
        out.push_str("best: the baseline; no trial beat it, keep the current configuration.\n");
    } else if s.best_indistinguishable_from_baseline {
        out.push_str(
            "the best cannot be told apart from the baseline: the interval of its difference contains 0. \
             The data do not show it is better; keep the baseline or run more seeds/people.\n",
        );
    } else {
        out.push_str(
            "the best is better than the baseline: the interval of its difference is above 0.\n",
        );
    }
    if s.best != 0 && s.trials.len() > 2 {
        // Picking the highest of many noisy estimates favours lucky ones.
        out.push_str(if s.source == "simulated" {
            "the best of several trials is optimistic on the seeds it was picked on: confirm with \
             `tutti simulate --engine-config best.toml` on other seeds.\n"
        } else {
            "the best of several trials is optimistic on the decisions it was picked on: confirm on \
             later decisions (or the simulator) before shipping.\n"
        });
    }
    if !others.is_empty() {
        out.push_str(&format!(
            "not distinguishable from the best (~): trial(s) {}; the ranking among them is noise.\n",
            others.join(", ")
        ));
    }
    if !s.excluded_for_safety.is_empty() {
        let ex: Vec<String> = s
            .excluded_for_safety
            .iter()
            .map(|t| t.to_string())
            .collect();
        out.push_str(&format!(
            "excluded for more safety-rule violations than the baseline: trial(s) {}.\n",
            ex.join(", ")
        ));
    }
    if let Some(log) = best.and_then(|b| b.log.as_ref()) {
        for w in log.evaluation.warnings() {
            out.push_str(&format!(
                "best trial warning [{}] {}\n",
                w.code(),
                w.message()
            ));
        }
    }
    out
}

fn plot(s: &TuneSummary, dir: &Path) -> anyhow::Result<()> {
    let mut ranked: Vec<&Trial> = s.trials.iter().filter(|t| t.rank.is_some()).collect();
    ranked.sort_by_key(|t| t.rank);
    let band = |i: &Interval| i.lower.is_finite() && i.upper.is_finite();
    let trials = Series {
        name: "trials, by rank (band: 95% interval)".into(),
        points: ranked
            .iter()
            .enumerate()
            .map(|(r, t)| ((r + 1) as f64, t.objective.value))
            .collect(),
        band: ranked
            .iter()
            .enumerate()
            .filter(|(_, t)| band(&t.objective))
            .map(|(r, t)| ((r + 1) as f64, t.objective.lower, t.objective.upper))
            .collect(),
    };
    let base = s.trials[0].objective.value;
    let baseline = Series {
        name: "baseline".into(),
        points: vec![(1.0, base), (ranked.len().max(1) as f64, base)],
        band: Vec::new(),
    };
    LineChart {
        title: format!("tutti tune: {} per trial", s.objective),
        x_label: "rank".into(),
        y_label: s.objective.clone(),
        series: vec![trials, baseline],
    }
    .write(dir, "trials")
}

/// Runs the search as the arguments say and writes `trials.csv`,
/// `best.toml`, `summary.json` and the plot into `--out`.
pub fn tune(args: &TuneArgs) -> anyhow::Result<TuneSummary> {
    if args.trials == 0 {
        bail!("--trials must be at least 1");
    }
    let base = load_engine_config(args.base_config.as_deref())?;
    let space = match &args.space {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Space::from_toml(&text, &base).with_context(|| format!("in {}", path.display()))?
        }
        None => Space::from_toml(DEFAULT_SPACE, &base)?,
    };
    let (strategy, cands) = candidates(&space, &base, args.trials, args.search_seed)?;
    let pool = args.threads.pool()?;
    let (source, origin, objective, mut trials, resamples) = if args.simulated {
        let plan = Plan::engine_only(&args.world, args.k)?;
        let origin = format!(
            "scenario {}, {} people x {} weeks, seeds {:?}",
            plan.scenario.name, plan.people, plan.weeks, plan.seeds
        );
        let trials = score_simulated(args, &plan, &cands, &pool)?;
        (
            "simulated",
            origin,
            "mean improvement".to_owned(),
            trials,
            0,
        )
    } else {
        let log = args.log.open("tune")?;
        let config = evaluation_config(args)?;
        let trials = pool.install(|| {
            cands
                .par_iter()
                .map(|c| score_log(&log, c, &base, args, &config))
                .collect::<anyhow::Result<Vec<_>>>()
        })?;
        let origin = format!(
            "{}, tenant {}, {} decisions",
            log.origin(),
            log.tenant(),
            log.len()
        );
        let objective = match args.objective {
            Objective::Snips => "snips estimate of the mean reward",
            Objective::Dr => "dr estimate of the mean reward",
        };
        ("db", origin, objective.to_owned(), trials, args.bootstrap)
    };
    let best = rank(&mut trials, resamples)?;
    let indistinguishable_from_best = trials
        .iter()
        .filter(|t| t.safe && t.best_minus_this.is_some_and(|d| d.contains_zero()))
        .map(|t| t.trial)
        .collect();
    let excluded_for_safety = trials
        .iter()
        .filter(|t| t.complete && !t.safe)
        .map(|t| t.trial)
        .collect();
    let summary = TuneSummary {
        source: source.into(),
        origin,
        objective,
        strategy,
        halving: args.halving,
        space,
        baseline: base,
        best: trials[best].trial,
        best_config: trials[best].config.clone(),
        best_indistinguishable_from_baseline: best != 0
            && trials[best].minus_baseline.contains_zero(),
        indistinguishable_from_best,
        excluded_for_safety,
        trials,
    };
    let dir = output::out_dir(&args.out)?;
    trials_table(&summary).write_csv(&dir.join("trials.csv"))?;
    output::write_file(&dir.join("best.toml"), best_toml(&summary)?.as_bytes())?;
    output::write_json(&dir.join("summary.json"), &summary)?;
    if !args.no_plots {
        plot(&summary, &dir)?;
    }
    Ok(summary)
}

/// Runs `tutti tune`.
pub fn run(args: TuneArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let summary = tune(&args)?;
    println!(
        "tuned on {} ({}): {} trial(s) incl. the baseline, {}{}\n",
        summary.source,
        summary.origin,
        summary.trials.len(),
        summary.strategy,
        if summary.halving { ", halving" } else { "" }
    );
    print!("{}", render(&summary, args.top));
    println!(
        "\ntook {:.1} s; wrote trials.csv, best.toml, summary.json{} to {}",
        started.elapsed().as_secs_f64(),
        if args.no_plots {
            ""
        } else {
            ", trials.svg/png"
        },
        args.out.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> EngineConfig {
        EngineConfig::default()
    }

    #[test]
    fn the_default_space_parses_and_draws_within_its_ranges() {
        let space = Space::from_toml(DEFAULT_SPACE, &base()).expect("valid");
        assert_eq!(space.dimensions.len(), 4);
        let (strategy, c) = candidates(&space, &base(), 30, 7).expect("draws");
        assert!(strategy.starts_with("random"));
        assert_eq!(c[0].config, base());
        for cand in &c[1..] {
            cand.config
                .validate()
                .expect("every draw is a valid configuration");
            assert!((30.0..=720.0).contains(&cand.config.map_half_life_days));
        }
        let (_, again) = candidates(&space, &base(), 30, 7).expect("draws");
        assert_eq!(
            c.iter().map(|x| x.values.clone()).collect::<Vec<_>>(),
            again.iter().map(|x| x.values.clone()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_small_list_space_is_run_as_a_whole_grid_without_duplicating_the_baseline() {
        // The grid includes the baseline's own exploration (whatever the
        // engine's default is), so one grid point is the baseline itself.
        let text = format!(
            "exploration = [0.5, {}]\nneighbours = [10, 20]\n",
            base().exploration
        );
        let space = Space::from_toml(&text, &base()).expect("valid");
        let (strategy, c) = candidates(&space, &base(), 20, 0).expect("grid");
        assert_eq!(strategy, "grid");
        // 4 grid points, one of which is the baseline itself.
        assert_eq!(c.len(), 4);
        assert_eq!(c[3].config.neighbours, 20);
    }

    #[test]
    fn bad_spaces_are_rejected_with_the_field_named() {
        for (text, needle) in [
            ("explorashun = [0.1]", "unknown field `explorashun`"),
            (
                "map_half_life_days = { min = 10, max = 1 }",
                "min 10 > max 1",
            ),
            (
                "map_half_life_days = { min = 0, max = 1, log = true }",
                "min > 0",
            ),
            ("exploration = [0.5, 1.5]", "exploration"),
            ("exploration = []", "empty"),
            ("neighbours = [2.5]", "whole number"),
            (
                "diversity = { min = 0, max = 1, step = 0.1 }",
                "unknown range key",
            ),
        ] {
            let e = Space::from_toml(text, &base()).expect_err(text);
            assert!(format!("{e:#}").contains(needle), "{text}: {e:#}");
        }
    }

    #[test]
    fn round_significant_keeps_three_digits() {
        assert_eq!(round_significant(12.3456, 3), 12.3);
        assert_eq!(round_significant(0.0012345, 3), 0.00123);
        assert_eq!(round_significant(0.0, 3), 0.0);
    }

    #[test]
    fn paired_decision_differences_are_zero_for_identical_trials() {
        let u = Units::Decisions((0..50).map(|i| (i, (f64::from(i as u8), 1.0))).collect());
        let d = paired(&u, &u, 200);
        assert_eq!((d.value, d.lower, d.upper), (0.0, 0.0, 0.0));
        assert!(d.contains_zero());
    }
}

//! `tutti evaluate`: how a candidate engine configuration (the *target*)
//! would have done on logged decisions, by IPS, SNIPS and doubly robust
//! estimates with bootstrap intervals and overlap warnings
//! ([`tutti_engine::ope`]). Two sources of logs:
//!
//! - `--simulated`: the simulator runs a *logging* engine (by default the
//!   default configuration with exploration 1.0, i.e. full Thompson sampling)
//!   over a synthetic population, and at every decision also asks the target
//!   engine, fed the same observations, for its full distribution over the
//!   same candidates. Because the simulator knows the truth, the report puts
//!   the true value beside the estimates (see "Truth" below).
//! - `--db FILE --tenant T`: reads the server's decision log read-only and
//!   replays each person's events with the target engine up to each decision
//!   (assessments and feedback stored before it, earlier recommendations),
//!   then ranks with the *stored* query (same context, exclusions, pins, time
//!   and exploration seed). So the target's distribution is recomputed from
//!   stored data, not approximated.
//!
//! # Mapping a logged decision (both sources)
//! As the `ope` module docs recommend, intent-to-treat: the action is the
//! rank-1 item, its propensity the logged probability of being ranked first,
//! and the reward is what followed the decision: `dose x helpfulness / 100`
//! from the feedback (done = 1, partly = 0.5, not done = 0; done without a
//! rating counts 0.5), the best of the feedback on any of the decision's items,
//! and 0 when no feedback came. Candidates are the items with a logging
//! probability plus any the target could put first.
//!
//! Since schema version 3 the server logs every candidate's probability of
//! being ranked first, not only the returned items', so the logging
//! distribution is known in full and an item it gave 0 is a known 0. For
//! decisions logged before, only the returned items' propensities are known:
//! when the target could put first an item the server did not return, its
//! logging probability is unknown (not necessarily 0), so that decision
//! carries no logging distribution and overlap is judged from the taken
//! actions. Decisions whose rank-1 propensity is 0 cannot be used and
//! are counted as skipped. Replaying assumes the tenant's catalogue and the
//! built-in population model are what they were when the log was written.
//!
//! # Shadow decisions
//! A decision logged in shadow mode ranked as usual, but the person was
//! offered the platform's choice. Its action is that choice, and the
//! probability with which the platform's policy chose it was never logged, so
//! no importance weight exists: taking the rank-1 item instead would credit the
//! engine with outcomes of interventions it did not choose. Shadow decisions
//! are therefore left out of IPS, SNIPS and DR (counted under
//! `skipped.shadow`) and summarised apart ([`ShadowSummary`]): how often the
//! logged ranking and the target agree with the platform, the reward the
//! platform's choices earned (overall, and when the logged engine agreed or
//! not), and a direct-method estimate of the target's value. The direct method
//! fits the same ridge reward model DR uses on the platform's choices and
//! averages its predictions over the target's distribution; actions the
//! platform never took are predicted at the platform's mean reward, so the
//! share of the target's probability on them (`target_mass_on_untried`) says
//! how much of the estimate is extrapolation. With only shadow decisions in
//! the log, there are no off-policy estimates at all: the summary is the
//! evaluation. In replay, an earlier shadow decision counts the platform's
//! choice as offered, as the server does.
//!
//! # Truth (simulated source)
//! - `--reward true-gain`: the reward of a decision is the simulator's true
//!   expected lasting well-being gain of the logged action. The estimand
//!   `mean_i sum_a target(a | h_i) gain(h_i, a)` over the logged decisions is
//!   then known exactly: the estimators' intervals should cover it.
//! - `--reward observed` (default): the reward is what a platform sees (above).
//!   Its expectation per action is not known in closed form, so the truth shown
//!   is the target's mean reward when it runs *on-policy* over the same people
//!   and seed. That differs from the off-policy estimand by the history shift
//!   (the target would have seen other histories), so small gaps are expected.

use crate::args::{LogArgs, ScenarioArgs, ThreadsArgs, World};
use crate::bootstrap::{chunks, engine_with, load_engine_config, tenant_engine};
use crate::output::{self, Cell, Table, text_table};
use anyhow::bail;
use clap::{Args, ValueEnum};
use rand::RngCore as _;
use rayon::prelude::*;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use tutti_engine::Engine;
use tutti_engine::config::EngineConfig;
use tutti_engine::ids::{InterventionId, Timestamp};
use tutti_engine::observe::{Assessment, Context, Feedback, Setting};
use tutti_engine::ope::{
    EvaluationConfig, EvaluationReport, LoggedDecision, OffPolicyData, RewardModel as _,
    RidgeConfig, RidgeRewardModel,
};
use tutti_engine::rank::RecommendQuery;
use tutti_engine::sim::baselines::reward as feedback_reward;
use tutti_engine::sim::{Catalogs, Intake, PersonView, Policy, SimRng, Simulation};
use tutti_engine::state::PersonState;
use tutti_server::convert::ids::TenantId;
use tutti_server::offline::{
    self, History, LogDecision, LogFeedback, LogRecommendation, LogTables, StoredAssessment,
    StoredFeedback, StoredRecommendation,
};

/// The reward of a simulated decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RewardKind {
    /// What a platform observes: dose x helpfulness / 100 from feedback, 0 without feedback.
    Observed,
    /// The simulator's true expected lasting gain of the logged action (exact truth).
    TrueGain,
}

/// Arguments of `tutti evaluate`.
#[derive(Debug, Clone, Args)]
#[command(
    mut_arg("people", |a| a.default_value("300").help("Simulated: people")),
    mut_arg("weeks", |a| a.default_value("12").help("Simulated: weeks"))
)]
pub struct EvaluateArgs {
    /// Generate the log with the simulator (known truth).
    #[arg(long, conflicts_with_all = ["db", "url", "tenant"], required_unless_present_any = ["db", "url"])]
    pub simulated: bool,
    /// The stored decision log to evaluate on.
    #[command(flatten)]
    pub log: LogArgs,
    /// Engine configuration to evaluate (TOML) [default: the default configuration].
    #[arg(long, value_name = "FILE")]
    pub target_config: Option<PathBuf>,
    /// Simulated logging engine configuration (TOML) [default: the default
    /// configuration with exploration 1.0 and exact propensities].
    #[arg(long, value_name = "FILE")]
    pub logging_config: Option<PathBuf>,
    /// The simulated world (`--simulated`).
    #[command(flatten)]
    pub world: ScenarioArgs,
    /// Simulated: items each engine ranks.
    #[arg(long, default_value_t = 5)]
    pub k: usize,
    /// Simulated: reward definition.
    #[arg(long, value_enum, default_value_t = RewardKind::Observed)]
    pub reward: RewardKind,
    /// Worker threads for the simulation.
    #[command(flatten)]
    pub threads: ThreadsArgs,
    /// Bootstrap resamples for the intervals.
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,
    /// Interval coverage.
    #[arg(long, default_value_t = 0.95)]
    pub confidence: f64,
    /// Maximum importance weight (clipping) [default: none].
    #[arg(long)]
    pub clip: Option<f64>,
    /// Output directory (created if needed).
    #[arg(long, value_name = "DIR", default_value = "eval-out")]
    pub out: PathBuf,
}

/// A value with an interval, for the truth line.
#[derive(Debug, Clone, Serialize)]
pub struct Truth {
    /// `exact_estimand` or `on_policy_simulation`.
    pub kind: String,
    /// The value.
    pub value: f64,
    /// Lower end of a 95% interval (the on-policy run's sampling error; equal
    /// to `value` for the exact estimand).
    pub lower: f64,
    /// Upper end.
    pub upper: f64,
    /// Decisions behind it.
    pub decisions: usize,
}

/// Whether each estimator's interval contains the truth.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    /// IPS.
    pub ips: bool,
    /// SNIPS.
    pub snips: bool,
    /// Doubly robust.
    pub doubly_robust: bool,
}

/// Decisions left out, by reason.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Skipped {
    /// The decision returned no items.
    pub empty_ranking: usize,
    /// The rank-1 item has logged propensity 0.
    pub zero_propensity: usize,
    /// The target ranked nothing (e.g. every candidate excluded now).
    pub target_empty: usize,
    /// Logged in shadow mode: the action was the platform's choice, whose
    /// logging propensity is unknown (summarised in [`ShadowSummary`] instead).
    pub shadow: usize,
}

/// What the shadow decisions of a log say (see the module docs).
#[derive(Debug, Clone, Serialize)]
pub struct ShadowSummary {
    /// Shadow decisions summarised.
    pub decisions: usize,
    /// Of them, with feedback on the platform's choice.
    pub with_feedback: usize,
    /// Share whose logged rank-1 item was the platform's choice.
    pub logged_agreement: f64,
    /// Mean probability that the target ranks the platform's choice first.
    pub target_agreement: f64,
    /// Mean reward of the platform's choices (0 without feedback).
    pub platform_mean_reward: f64,
    /// Mean reward where the logged rank-1 item was the platform's choice.
    pub reward_when_agreed: Option<f64>,
    /// Mean reward where it was not.
    pub reward_when_disagreed: Option<f64>,
    /// Direct-method estimate of the target's mean reward on these decisions.
    pub direct_method: Option<f64>,
    /// Mean share of the target's probability on actions the platform never
    /// took: the part of `direct_method` that is extrapolated.
    pub target_mass_on_untried: f64,
}

/// One shadow decision, as `shadow.csv` shows it.
#[derive(Debug, Clone)]
pub(crate) struct ShadowRow {
    person: String,
    decision: String,
    platform: InterventionId,
    logged_first: InterventionId,
    has_feedback: bool,
    reward: f64,
    context: Vec<f64>,
    /// The target's distribution over every candidate.
    target: Vec<(InterventionId, f64)>,
}

/// `report.json`.
#[derive(Debug, Clone, Serialize)]
pub struct EvaluateReport {
    /// `simulated` or `db`.
    pub source: String,
    /// Simulated: scenario; db: the file.
    pub origin: String,
    /// db: tenant.
    pub tenant: Option<String>,
    /// Reward definition.
    pub reward: String,
    /// The logging configuration (simulated) or the model versions in the log (db).
    pub logging: serde_json::Value,
    /// The target configuration.
    pub target_config: EngineConfig,
    /// The target's model version.
    pub target_model_version: String,
    /// Decisions in the source.
    pub decisions_total: usize,
    /// Decisions evaluated.
    pub decisions_used: usize,
    /// Decisions left out.
    pub skipped: Skipped,
    /// Decisions whose logging distribution over the candidates is fully known.
    pub with_logging_distribution: usize,
    /// The estimates and diagnostics; `None` when no decision could be used
    /// (a log of shadow decisions only).
    pub evaluation: Option<EvaluationReport>,
    /// db: the shadow decisions, when there are any.
    pub shadow: Option<ShadowSummary>,
    /// Simulated: the true value.
    pub truth: Option<Truth>,
    /// Simulated: whether the intervals cover it.
    pub covered: Option<Coverage>,
    /// Simulated with `true-gain`: the target's on-policy mean true gain too.
    pub on_policy_target: Option<Truth>,
}

/// A decision with what the report shows per row.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) person: String,
    /// Position of the decision in its log (db: the tenant's decisions in
    /// person and time order; simulated: the logging run's decisions).
    pub(crate) index: usize,
    /// The decision was made on the safety path (a risk flag was active).
    pub(crate) safety_mode: bool,
    pub(crate) decision: LoggedDecision,
    pub(crate) target: Vec<f64>,
    /// Simulated: the exact target value at this decision (sum of target x true gain).
    pub(crate) true_target_gain: Option<f64>,
}

/// The simulated logging policy by default: full Thompson sampling
/// (exploration 1.0), so every candidate has a real chance of being logged
/// and off-policy estimates of other configurations have support. Its
/// propensities are exact first-place probabilities, so no logged weight is
/// inflated by replay noise.
pub fn default_logging_config() -> EngineConfig {
    EngineConfig {
        exploration: 1.0,
        ..EngineConfig::default()
    }
}

/// Context features for DR's reward model: minutes known, log minutes
/// relative to 20, the setting one-hot, and the safety path.
fn features(context: &Context, safety: bool) -> Vec<f64> {
    let (known, minutes) = match context.minutes_available {
        Some(m) => (1.0, (f64::from(m.max(1)) / 20.0).ln()),
        None => (0.0, 0.0),
    };
    let setting = |s: Setting| f64::from(u8::from(context.setting == Some(s)));
    vec![
        known,
        minutes,
        setting(Setting::InSession),
        setting(Setting::BetweenSessions),
        setting(Setting::App),
        f64::from(u8::from(safety)),
    ]
}

/// Normalises a distribution that should sum to one (exact propensities can
/// still be off by rounding).
fn normalised(mut v: Vec<f64>) -> Vec<f64> {
    let total: f64 = v.iter().sum();
    if total > 0.0 {
        for p in &mut v {
            *p /= total;
        }
    }
    v
}

// ------------------------------------------------------------ simulated

/// What the logging policy records per simulated decision.
struct SimRecord {
    person: u64,
    safety_mode: bool,
    decision: LoggedDecision,
    target: Vec<f64>,
    true_target_gain: f64,
}

/// Shared per-chunk output of the simulated policies.
#[derive(Default)]
struct Sink {
    records: Vec<SimRecord>,
}

/// A simulated policy that acts with one engine and, if given, asks a second
/// (target) engine fed the same observations for its distribution at every
/// decision. Contraindicated interventions are excluded up front (the
/// clinician's review), so the rank-1 item is the one done and the logged
/// propensity is the probability of the action taken.
struct Logger<'a> {
    acting: &'a Engine,
    target: Option<&'a Engine>,
    k: usize,
    reward: RewardKind,
    acting_state: Option<PersonState>,
    target_state: Option<PersonState>,
    sink: &'a RefCell<Sink>,
    person: u64,
    /// Index in the sink of the last decision and its action, awaiting feedback.
    pending: Option<(usize, InterventionId)>,
}

impl<'a> Logger<'a> {
    fn new(
        acting: &'a Engine,
        target: Option<&'a Engine>,
        k: usize,
        reward: RewardKind,
        sink: &'a RefCell<Sink>,
    ) -> Self {
        Self {
            acting,
            target,
            k,
            reward,
            acting_state: None,
            target_state: None,
            sink,
            person: 0,
            pending: None,
        }
    }
}

fn not_started() -> tutti_engine::EngineError {
    tutti_engine::EngineError::IncompatibleState("logger used before start()".into())
}

impl Policy for Logger<'_> {
    fn name(&self) -> &str {
        if self.target.is_some() {
            "logging"
        } else {
            "target_on_policy"
        }
    }

    fn start(&mut self, intake: &Intake<'_>) -> tutti_engine::Result<()> {
        self.person = intake.person;
        self.pending = None;
        self.acting_state = Some(self.acting.new_person(intake.conditions.to_vec()));
        self.target_state = self
            .target
            .map(|t| t.new_person(intake.conditions.to_vec()));
        Ok(())
    }

    fn observe_assessment(&mut self, assessment: &Assessment) -> tutti_engine::Result<()> {
        let state = self.acting_state.as_mut().ok_or_else(not_started)?;
        self.acting.observe_assessment(state, assessment)?;
        self.acting.refresh(state)?;
        if let (Some(t), Some(s)) = (self.target, self.target_state.as_mut()) {
            t.observe_assessment(s, assessment)?;
            t.refresh(s)?;
        }
        Ok(())
    }

    fn choose(
        &mut self,
        view: &PersonView<'_>,
        rng: &mut SimRng,
    ) -> tutti_engine::Result<InterventionId> {
        let exclude: Vec<InterventionId> = (0..view.interventions.len())
            .filter(|&i| !view.is_eligible(i))
            .map(|i| view.id(i))
            .collect();
        let query = RecommendQuery {
            k: self.k,
            context: view.context,
            exclude,
            pin: Vec::new(),
            now: view.now,
            seed: rng.next_u64(),
        };
        let state = self.acting_state.as_ref().ok_or_else(not_started)?;
        let (ranking, logging) = self.acting.recommend_with_propensities(state, &query)?;
        let action = ranking
            .items
            .first()
            .map(|i| i.intervention.clone())
            .ok_or_else(|| {
                tutti_engine::EngineError::InvalidCatalog(format!(
                    "empty ranking for simulated person {}",
                    view.person
                ))
            })?;
        let mut candidates: Vec<InterventionId> =
            logging.iter().map(|(id, _)| id.clone()).collect();
        let mut logging_p: Vec<f64> = logging.iter().map(|(_, p)| *p).collect();
        let target_all = match (self.target, self.target_state.as_ref()) {
            (Some(t), Some(s)) => t.recommend_with_propensities(s, &query)?.1,
            _ => logging.clone(),
        };
        for (id, p) in &target_all {
            if *p > 0.0 && !candidates.contains(id) {
                candidates.push(id.clone());
                logging_p.push(0.0);
            }
        }
        let logging_p = normalised(logging_p);
        let mut target = vec![0.0; candidates.len()];
        for (id, p) in &target_all {
            if let Some(i) = candidates.iter().position(|c| c == id) {
                target[i] = *p;
            }
        }
        let target = normalised(target);
        let gain = |id: &InterventionId| {
            view.interventions
                .index_of(id)
                .map_or(0.0, |i| view.truth.expected_gain[i])
        };
        let true_target_gain: f64 = candidates
            .iter()
            .zip(&target)
            .map(|(id, p)| p * gain(id))
            .sum();
        let a = candidates.iter().position(|c| *c == action).unwrap_or(0);
        let reward = match self.reward {
            RewardKind::TrueGain => gain(&action),
            RewardKind::Observed => 0.0,
        };
        let mut sink = self.sink.borrow_mut();
        sink.records.push(SimRecord {
            person: self.person,
            safety_mode: view.safety_mode(),
            decision: LoggedDecision {
                context: features(&view.context, view.safety_mode()),
                candidates,
                action: action.clone(),
                propensity: logging_p[a],
                logging_distribution: Some(logging_p),
                reward,
            },
            target,
            true_target_gain,
        });
        self.pending = Some((sink.records.len() - 1, action.clone()));
        Ok(action)
    }

    fn observe_recommendation(
        &mut self,
        intervention: &InterventionId,
        at: Timestamp,
    ) -> tutti_engine::Result<()> {
        let state = self.acting_state.as_mut().ok_or_else(not_started)?;
        self.acting
            .observe_recommendation(state, intervention, at)?;
        if let (Some(t), Some(s)) = (self.target, self.target_state.as_mut()) {
            t.observe_recommendation(s, intervention, at)?;
        }
        Ok(())
    }

    fn observe_feedback(&mut self, feedback: &Feedback) -> tutti_engine::Result<()> {
        let state = self.acting_state.as_mut().ok_or_else(not_started)?;
        self.acting.observe_feedback(state, feedback)?;
        if let (Some(t), Some(s)) = (self.target, self.target_state.as_mut()) {
            t.observe_feedback(s, feedback)?;
        }
        if self.reward == RewardKind::Observed
            && let Some((i, action)) = &self.pending
            && *action == feedback.intervention
        {
            let r = feedback_reward(feedback).unwrap_or(0.0);
            let mut sink = self.sink.borrow_mut();
            if let Some(rec) = sink.records.get_mut(*i) {
                rec.decision.reward = rec.decision.reward.max(r);
            }
        }
        Ok(())
    }
}

/// Where and how long the simulated logs run.
struct Run<'a> {
    sim: &'a Simulation,
    people: u64,
    weeks: u32,
    k: usize,
    reward: RewardKind,
    pool: &'a rayon::ThreadPool,
}

/// Runs `acting` (and `target` alongside, if given) over all people on the
/// pool; records in person order.
fn simulate_log(
    run: &Run<'_>,
    acting: &Engine,
    target: Option<&Engine>,
) -> anyhow::Result<Vec<SimRecord>> {
    let Run {
        sim,
        people,
        weeks,
        k,
        reward,
        pool,
    } = *run;
    let parts = chunks(0..people);
    let results: Vec<tutti_engine::Result<Vec<SimRecord>>> = pool.install(|| {
        parts
            .par_iter()
            .map(|range| {
                let sink = RefCell::new(Sink::default());
                sim.run_people(range.clone(), weeks, || {
                    Logger::new(acting, target, k, reward, &sink)
                })?;
                Ok(sink.into_inner().records)
            })
            .collect()
    });
    let mut out = Vec::new();
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

/// Mean of the records' rewards with a 95% interval clustered by person.
fn clustered_mean(records: &[SimRecord], value: impl Fn(&SimRecord) -> f64) -> (f64, f64) {
    let n = records.len() as f64;
    if records.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = records.iter().map(&value).sum::<f64>() / n;
    let mut by_person: HashMap<u64, f64> = HashMap::new();
    for r in records {
        *by_person.entry(r.person).or_default() += value(r) - mean;
    }
    let var: f64 = by_person.values().map(|s| s * s).sum();
    (mean, 1.96 * var.sqrt() / n)
}

fn evaluation_config(args: &EvaluateArgs) -> anyhow::Result<EvaluationConfig> {
    let mut config = EvaluationConfig::default();
    config.estimator.bootstrap_resamples = args.bootstrap;
    config.estimator.confidence = args.confidence;
    config.estimator.clip = args.clip;
    config.validate()?;
    Ok(config)
}

/// Evaluates on a simulated log; returns the report and the rows.
fn evaluate_simulated(args: &EvaluateArgs) -> anyhow::Result<(EvaluateReport, Vec<Row>)> {
    let World {
        scenario,
        people,
        weeks,
        seed,
    } = args.world.world()?;
    let logging_config = match &args.logging_config {
        Some(p) => load_engine_config(Some(p))?,
        None => default_logging_config(),
    };
    let target_config = load_engine_config(args.target_config.as_deref())?;
    let logging = engine_with(logging_config.clone())?;
    let target = engine_with(target_config.clone())?;
    let catalogs = Catalogs::builtin()?;
    let sim = Simulation::new(&scenario, &catalogs, seed)?;
    let pool = args.threads.pool()?;
    let k = args.k.clamp(1, 20);
    let run = Run {
        sim: &sim,
        people,
        weeks,
        k,
        reward: args.reward,
        pool: &pool,
    };
    let records = simulate_log(&run, &logging, Some(&target))?;
    if records.is_empty() {
        bail!("the simulation made no decisions");
    }
    let on_policy = simulate_log(&run, &target, None)?;
    let rows: Vec<Row> = records
        .iter()
        .enumerate()
        .map(|(index, r)| Row {
            person: format!("sim-{}", r.person),
            index,
            safety_mode: r.safety_mode,
            decision: r.decision.clone(),
            target: r.target.clone(),
            true_target_gain: Some(r.true_target_gain),
        })
        .collect();
    let decisions: Vec<LoggedDecision> = rows.iter().map(|r| r.decision.clone()).collect();
    let targets: Vec<Vec<f64>> = rows.iter().map(|r| r.target.clone()).collect();
    let data = OffPolicyData::new(&decisions, targets)?;
    let evaluation = tutti_engine::ope::evaluate(&data, &evaluation_config(args)?)?;

    let (on_value, on_half) = clustered_mean(&on_policy, |r| r.decision.reward);
    let on_policy_truth = Truth {
        kind: "on_policy_simulation".into(),
        value: on_value,
        lower: on_value - on_half,
        upper: on_value + on_half,
        decisions: on_policy.len(),
    };
    let (truth, on_policy_target) = match args.reward {
        RewardKind::TrueGain => {
            let exact =
                records.iter().map(|r| r.true_target_gain).sum::<f64>() / records.len() as f64;
            (
                Truth {
                    kind: "exact_estimand".into(),
                    value: exact,
                    lower: exact,
                    upper: exact,
                    decisions: records.len(),
                },
                Some(on_policy_truth),
            )
        }
        RewardKind::Observed => (on_policy_truth, None),
    };
    let covers = |e: &tutti_engine::ope::Estimate| e.lower <= truth.upper && truth.lower <= e.upper;
    let covered = Coverage {
        ips: covers(&evaluation.ips),
        snips: covers(&evaluation.snips),
        doubly_robust: covers(&evaluation.doubly_robust),
    };
    let report = EvaluateReport {
        source: "simulated".into(),
        origin: format!(
            "scenario {}, {} people x {} weeks, seed {}",
            scenario.name, people, weeks, seed
        ),
        tenant: None,
        reward: match args.reward {
            RewardKind::Observed => "observed",
            RewardKind::TrueGain => "true_gain",
        }
        .into(),
        logging: serde_json::json!({
            "config": logging_config,
            "model_version": logging.model_version(),
        }),
        target_config,
        target_model_version: target.model_version(),
        decisions_total: records.len(),
        decisions_used: records.len(),
        skipped: Skipped::default(),
        with_logging_distribution: records.len(),
        evaluation: Some(evaluation),
        shadow: None,
        truth: Some(truth),
        covered: Some(covered),
        on_policy_target,
    };
    Ok((report, rows))
}

// ------------------------------------------------------------ decision log

/// A tenant's decision log, read once in one snapshot (after its audit row),
/// that can be replayed with any number of target configurations (`tutti
/// tune --db` replays it once per candidate); `tutti train --db` reads it too.
#[derive(Debug)]
pub struct TenantLog {
    origin: String,
    tenant: TenantId,
    /// Every table of the tenant, as read.
    pub tables: LogTables,
}

/// A target configuration replayed over a tenant's log.
pub(crate) struct Replay {
    /// The target engine (the tenant's catalogue).
    pub(crate) engine: Engine,
    /// One row per usable decision, in log order.
    pub(crate) rows: Vec<Row>,
    /// Decisions left out.
    pub(crate) skipped: Skipped,
    /// Model versions that wrote the log.
    pub(crate) versions: BTreeSet<String>,
    /// Shadow decisions (not in `rows`, see the module docs).
    pub(crate) shadow_rows: Vec<ShadowRow>,
}

impl TenantLog {
    /// A tenant's log as read from `origin` (see [`crate::args::LogArgs::read`]).
    pub fn new(tables: LogTables, origin: String, tenant: TenantId) -> anyhow::Result<Self> {
        if tables.decisions.is_empty() {
            bail!(
                "tenant `{}` has no logged decisions in {origin}",
                tenant.as_str()
            );
        }
        Ok(Self {
            origin,
            tenant,
            tables,
        })
    }

    /// Decisions in the log.
    pub fn len(&self) -> usize {
        self.tables.decisions.len()
    }

    /// Whether the log has no decisions (never, once opened).
    pub fn is_empty(&self) -> bool {
        self.tables.decisions.is_empty()
    }

    /// Where it was read: the database file, or PostgreSQL's host, port and
    /// database.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tenant.
    pub fn tenant(&self) -> &str {
        self.tenant.as_str()
    }

    /// Replays every person's stored events with `config` up to each logged
    /// decision and takes the target's distribution for the stored query.
    pub(crate) fn replay(&self, config: EngineConfig) -> anyhow::Result<Replay> {
        let engine = tenant_engine(config, &self.tables.interventions)?;
        let decisions = &self.tables.decisions;
        let conditions: HashMap<&str, _> = self
            .tables
            .people
            .iter()
            .map(|p| (p.id.as_str(), p.conditions.clone()))
            .collect();
        let recs_by_decision: HashMap<&str, Vec<&LogRecommendation>> = self
            .tables
            .recommendations
            .iter()
            .fold(HashMap::new(), |mut m, r| {
                m.entry(r.decision.as_str()).or_default().push(r);
                m
            });
        let decision_of_rec: HashMap<&str, &LogDecision> = {
            let by_id: HashMap<&str, &LogDecision> =
                decisions.iter().map(|d| (d.id.as_str(), d)).collect();
            self.tables
                .recommendations
                .iter()
                .filter_map(|r| Some((r.id.as_str(), *by_id.get(r.decision.as_str())?)))
                .collect()
        };
        // Feedback decoded once, with the context of its decision.
        let mut feedback_by_person: HashMap<&str, Vec<(&LogFeedback, Feedback, &str)>> =
            HashMap::new();
        for f in &self.tables.feedback {
            let Some(d) = decision_of_rec.get(f.recommendation.as_str()) else {
                continue;
            };
            let domain = offline::decode_feedback(f, d.query.context)?;
            feedback_by_person
                .entry(f.person.as_str())
                .or_default()
                .push((f, domain, d.id.as_str()));
        }
        let mut assessments_by_person: HashMap<&str, Vec<_>> = HashMap::new();
        for a in &self.tables.assessments {
            assessments_by_person
                .entry(a.person.as_str())
                .or_default()
                .push(a);
        }

        let mut skipped = Skipped::default();
        let mut rows = Vec::new();
        let mut shadow_rows = Vec::new();
        let mut versions = BTreeSet::new();
        // Decisions are sorted by person, then time: a person's earlier
        // decisions are the slice from their first one.
        let mut person_start = 0;
        for (i, d) in decisions.iter().enumerate() {
            if decisions[person_start].person != d.person {
                person_start = i;
            }
            versions.insert(d.model_version.clone());
            let Some(first) = d.ranking.items.first() else {
                skipped.empty_ranking += 1;
                continue;
            };
            // A shadow decision's rank-1 propensity is not the action's, so a
            // zero there does not make it unusable for the shadow summary.
            let usable = first.propensity > 0.0 && first.propensity <= 1.0;
            if !d.shadow && !usable {
                skipped.zero_propensity += 1;
                continue;
            }
            let person = d.person.as_str();
            // What the server knew when it decided.
            let history = History {
                assessments: assessments_by_person
                    .get(person)
                    .into_iter()
                    .flatten()
                    .filter(|a| a.create_time <= d.decide_time)
                    .map(|a| StoredAssessment {
                        id: a.id.clone(),
                        observe_time: a.observe_time,
                        payload: a.payload.clone(),
                    })
                    .collect(),
                recommendations: decisions[person_start..i]
                    .iter()
                    .filter(|e| e.decide_time < d.decide_time)
                    .flat_map(|e| {
                        offered(e).map(|intervention| StoredRecommendation {
                            at: e.query.now,
                            intervention: intervention.clone(),
                        })
                    })
                    .collect(),
                feedback: feedback_by_person
                    .get(person)
                    .into_iter()
                    .flatten()
                    .filter(|(f, _, _)| f.create_time <= d.decide_time)
                    .map(|(f, domain, _)| StoredFeedback {
                        observe_time: f.observe_time,
                        intervention: f.intervention.clone(),
                        context: domain.context,
                        payload: f.payload.clone(),
                    })
                    .collect(),
            };
            let conds = conditions.get(person).cloned().unwrap_or_default();
            let state = offline::rebuild(&engine, conds, &history, Vec::new())
                .map_err(|e| anyhow::anyhow!("replaying person {person}: {e}"))?;
            let (_, target_all) = engine.recommend_with_propensities(&state, &d.query)?;
            if target_all.iter().all(|(_, p)| *p <= 0.0) {
                skipped.target_empty += 1;
                continue;
            }
            let rewards: Vec<f64> = recs_by_decision
                .get(d.id.as_str())
                .into_iter()
                .flatten()
                .flat_map(|r| {
                    feedback_by_person
                        .get(person)
                        .into_iter()
                        .flatten()
                        .filter(move |(f, _, _)| f.recommendation == r.id)
                })
                .filter_map(|(_, domain, _)| feedback_reward(domain))
                .collect();
            let reward = rewards.iter().copied().fold(0.0, f64::max);
            if d.shadow {
                skipped.shadow += 1;
                let Some(platform) = d.platform_intervention.clone() else {
                    bail!("shadow decision {} has no platform choice", d.id);
                };
                let total: f64 = target_all.iter().map(|(_, p)| p.max(0.0)).sum();
                shadow_rows.push(ShadowRow {
                    person: d.person.clone(),
                    decision: d.id.clone(),
                    platform,
                    logged_first: first.intervention.clone(),
                    has_feedback: !rewards.is_empty(),
                    reward,
                    context: features(&d.query.context, d.safety_mode),
                    target: target_all
                        .iter()
                        .map(|(id, p)| (id.clone(), p.max(0.0) / total))
                        .collect(),
                });
                continue;
            }
            // Since schema version 3 the log holds every candidate's
            // first-place probability, so the logging distribution is known
            // in full and an item it gave 0 is a known 0.
            let (mut candidates, mut logged): (Vec<InterventionId>, Vec<f64>) = match &d.first_place
            {
                Some(all) => all.iter().cloned().unzip(),
                None => d
                    .ranking
                    .items
                    .iter()
                    .map(|i| (i.intervention.clone(), i.propensity))
                    .unzip(),
            };
            let complete = d.first_place.is_some();
            let mut extra = false;
            for (id, p) in &target_all {
                if *p > 0.0 && !candidates.contains(id) {
                    candidates.push(id.clone());
                    logged.push(0.0);
                    extra = true;
                }
            }
            if !candidates.contains(&first.intervention) {
                candidates.push(first.intervention.clone());
                logged.push(first.propensity);
            }
            let mut target = vec![0.0; candidates.len()];
            for (id, p) in &target_all {
                if let Some(i) = candidates.iter().position(|c| c == id) {
                    target[i] = *p;
                }
            }
            let logged_total: f64 = logged.iter().sum();
            let logging_distribution =
                ((complete || !extra) && logged_total <= 1.0 + 1e-9).then_some(logged);
            rows.push(Row {
                person: d.person.clone(),
                index: i,
                safety_mode: d.safety_mode,
                decision: LoggedDecision {
                    context: features(&d.query.context, d.safety_mode),
                    candidates,
                    action: first.intervention.clone(),
                    propensity: first.propensity,
                    logging_distribution,
                    reward,
                },
                target: normalised(target),
                true_target_gain: None,
            });
        }
        Ok(Replay {
            engine,
            rows,
            skipped,
            versions,
            shadow_rows,
        })
    }
}

/// Evaluates the target on a tenant's decision log.
fn evaluate_db(args: &EvaluateArgs) -> anyhow::Result<(EvaluateReport, Vec<Row>, Vec<ShadowRow>)> {
    let log = args.log.open("evaluate")?;
    let target_config = load_engine_config(args.target_config.as_deref())?;
    let Replay {
        engine,
        rows,
        skipped,
        versions,
        shadow_rows,
    } = log.replay(target_config.clone())?;
    if rows.is_empty() && shadow_rows.is_empty() {
        bail!("no usable decisions (skipped: {skipped:?})");
    }
    let evaluation = if rows.is_empty() {
        None
    } else {
        let logged: Vec<LoggedDecision> = rows.iter().map(|r| r.decision.clone()).collect();
        let targets: Vec<Vec<f64>> = rows.iter().map(|r| r.target.clone()).collect();
        let data = OffPolicyData::new(&logged, targets)?;
        Some(tutti_engine::ope::evaluate(
            &data,
            &evaluation_config(args)?,
        )?)
    };
    let with_dist = rows
        .iter()
        .filter(|r| r.decision.logging_distribution.is_some())
        .count();
    let report = EvaluateReport {
        source: "db".into(),
        origin: log.origin().to_owned(),
        tenant: Some(log.tenant().to_owned()),
        reward: "observed".into(),
        logging: serde_json::json!({ "model_versions": versions }),
        target_config,
        target_model_version: engine.model_version(),
        decisions_total: log.len(),
        decisions_used: rows.len(),
        skipped,
        with_logging_distribution: with_dist,
        evaluation,
        shadow: shadow_summary(&shadow_rows)?,
        truth: None,
        covered: None,
        on_policy_target: None,
    };
    Ok((report, rows, shadow_rows))
}

/// What the person was offered at a logged decision: Tutti's items when
/// live, the platform's choice in shadow mode (as the server's replay counts).
fn offered(d: &LogDecision) -> Box<dyn Iterator<Item = &InterventionId> + '_> {
    if d.shadow {
        Box::new(d.platform_intervention.iter())
    } else {
        Box::new(d.ranking.items.iter().map(|it| &it.intervention))
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (n, total) = values.fold((0usize, 0.0), |(n, t), v| (n + 1, t + v));
    (n > 0).then(|| total / n as f64)
}

/// The shadow summary (module docs); `None` without shadow decisions.
fn shadow_summary(rows: &[ShadowRow]) -> anyhow::Result<Option<ShadowSummary>> {
    if rows.is_empty() {
        return Ok(None);
    }
    let agreed = |r: &ShadowRow| r.logged_first == r.platform;
    let target_of = |r: &ShadowRow, a: &InterventionId| {
        r.target
            .iter()
            .find(|(id, _)| id == a)
            .map_or(0.0, |(_, p)| *p)
    };
    // The reward model reads context, action and reward only; candidates
    // and propensity are placeholders that keep the decision well-formed.
    let fitted: Vec<LoggedDecision> = rows
        .iter()
        .map(|r| LoggedDecision {
            context: r.context.clone(),
            candidates: vec![r.platform.clone()],
            action: r.platform.clone(),
            propensity: 1.0,
            logging_distribution: None,
            reward: r.reward,
        })
        .collect();
    let model = RidgeRewardModel::fit(&fitted, &RidgeConfig::default())?;
    let tried: BTreeSet<&InterventionId> = rows.iter().map(|r| &r.platform).collect();
    let direct = mean(rows.iter().map(|r| {
        r.target
            .iter()
            .map(|(a, p)| p * model.predict(&r.context, a))
            .sum::<f64>()
    }));
    let untried = mean(rows.iter().map(|r| {
        r.target
            .iter()
            .filter(|(a, _)| !tried.contains(a))
            .map(|(_, p)| *p)
            .sum::<f64>()
    }));
    let n = rows.len() as f64;
    Ok(Some(ShadowSummary {
        decisions: rows.len(),
        with_feedback: rows.iter().filter(|r| r.has_feedback).count(),
        logged_agreement: rows.iter().filter(|r| agreed(r)).count() as f64 / n,
        target_agreement: rows.iter().map(|r| target_of(r, &r.platform)).sum::<f64>() / n,
        platform_mean_reward: rows.iter().map(|r| r.reward).sum::<f64>() / n,
        reward_when_agreed: mean(rows.iter().filter(|r| agreed(r)).map(|r| r.reward)),
        reward_when_disagreed: mean(rows.iter().filter(|r| !agreed(r)).map(|r| r.reward)),
        direct_method: direct,
        target_mass_on_untried: untried.unwrap_or(0.0),
    }))
}

// ------------------------------------------------------------ output

fn estimates_table(report: &EvaluateReport) -> Table {
    let mut t = Table::new([
        "estimator",
        "value",
        "lower",
        "upper",
        "std_error",
        "effective_sample_size",
        "max_weight",
        "clipped_fraction",
        "n",
    ]);
    for (estimator, e) in report.evaluation.iter().flat_map(EvaluationReport::rows) {
        t.push(vec![
            Cell::text(format!("{estimator:?}").to_lowercase()),
            Cell::Float(e.value),
            Cell::Float(e.lower),
            Cell::Float(e.upper),
            Cell::Float(e.std_error),
            Cell::Float(e.effective_sample_size),
            Cell::Float(e.max_weight),
            Cell::Float(e.clipped_fraction),
            Cell::Int(e.n as i64),
        ]);
    }
    if let Some(truth) = &report.truth {
        t.push(vec![
            Cell::text(format!("truth_{}", truth.kind)),
            Cell::Float(truth.value),
            Cell::Float(truth.lower),
            Cell::Float(truth.upper),
            Cell::Null,
            Cell::Null,
            Cell::Null,
            Cell::Null,
            Cell::Int(truth.decisions as i64),
        ]);
    }
    if let Some(shadow) = &report.shadow {
        t.push(vec![
            Cell::text("shadow_direct_method"),
            Cell::opt_float(shadow.direct_method),
            Cell::Null,
            Cell::Null,
            Cell::Null,
            Cell::Null,
            Cell::Null,
            Cell::Null,
            Cell::Int(shadow.decisions as i64),
        ]);
    }
    t
}

fn decisions_table(rows: &[Row]) -> Table {
    let mut t = Table::new([
        "person",
        "action",
        "propensity",
        "target_probability",
        "weight",
        "reward",
        "candidates",
        "logging_distribution_known",
        "true_target_gain",
    ]);
    for r in rows {
        let d = &r.decision;
        let a = d.candidates.iter().position(|c| *c == d.action);
        let pi = a.map_or(0.0, |a| r.target[a]);
        t.push(vec![
            Cell::text(&r.person),
            Cell::text(d.action.as_str()),
            Cell::Float(d.propensity),
            Cell::Float(pi),
            Cell::Float(pi / d.propensity),
            Cell::Float(d.reward),
            Cell::Int(d.candidates.len() as i64),
            Cell::Bool(d.logging_distribution.is_some()),
            Cell::opt_float(r.true_target_gain),
        ]);
    }
    t
}

fn shadow_table(rows: &[ShadowRow]) -> Table {
    let mut t = Table::new([
        "person",
        "decision_id",
        "platform_action",
        "logged_first",
        "agreed",
        "target_probability",
        "feedback",
        "reward",
    ]);
    for r in rows {
        let pi = r
            .target
            .iter()
            .find(|(id, _)| *id == r.platform)
            .map_or(0.0, |(_, p)| *p);
        t.push(vec![
            Cell::text(&r.person),
            Cell::text(&r.decision),
            Cell::text(r.platform.as_str()),
            Cell::text(r.logged_first.as_str()),
            Cell::Bool(r.logged_first == r.platform),
            Cell::Float(pi),
            Cell::Bool(r.has_feedback),
            Cell::Float(r.reward),
        ]);
    }
    t
}

/// The terminal summary.
pub fn render(report: &EvaluateReport) -> String {
    let mut out = format!(
        "target {} on {} ({} of {} decisions used, reward: {})\n\n",
        report.target_model_version,
        report.origin,
        report.decisions_used,
        report.decisions_total,
        report.reward
    );
    match &report.evaluation {
        Some(e) => out.push_str(&render_estimates(report, e)),
        None => out
            .push_str("no off-policy estimates: every usable decision was logged in shadow mode\n"),
    }
    if let Some(shadow) = &report.shadow {
        out.push_str(&render_shadow(report.skipped.shadow, shadow));
    }
    out
}

fn render_estimates(report: &EvaluateReport, e: &EvaluationReport) -> String {
    let mut rows: Vec<Vec<String>> = e
        .rows()
        .iter()
        .map(|(estimator, est)| {
            vec![
                estimator.label().to_owned(),
                format!("{:.4}", est.value),
                format!("[{:.4}, {:.4}]", est.lower, est.upper),
                format!("{:.0}", est.effective_sample_size),
            ]
        })
        .collect();
    if let Some(t) = &report.truth {
        let interval = if t.lower < t.upper {
            format!("[{:.4}, {:.4}]", t.lower, t.upper)
        } else {
            "exact".into()
        };
        rows.push(vec![
            format!("TRUE value ({})", t.kind.replace('_', " ")),
            format!("{:.4}", t.value),
            interval,
            t.decisions.to_string(),
        ]);
    }
    if let Some(t) = &report.on_policy_target {
        rows.push(vec![
            "target run on-policy (mean true gain)".into(),
            format!("{:.4}", t.value),
            format!("[{:.4}, {:.4}]", t.lower, t.upper),
            t.decisions.to_string(),
        ]);
    }
    let level = format!("{:.0}% interval", e.config.estimator.confidence * 100.0);
    let mut out = String::new();
    out.push_str(&text_table(
        &["estimate", "value", &level, "ESS / decisions"],
        &rows,
    ));
    out.push_str(&format!(
        "\nDR minus the logging policy's observed mean: {:+.4} [{:+.4}, {:+.4}]\n",
        e.improvement.value, e.improvement.lower, e.improvement.upper
    ));
    if let Some(c) = &report.covered {
        out.push_str(&format!(
            "intervals cover the true value: IPS {}, SNIPS {}, DR {}\n",
            yes(c.ips),
            yes(c.snips),
            yes(c.doubly_robust)
        ));
    }
    if e.warnings().is_empty() {
        out.push_str("no warnings: overlap and effective sample size look adequate\n");
    } else {
        out.push_str("\nwarnings:\n");
        for w in e.warnings() {
            out.push_str(&format!("- [{}] {}\n", w.code(), w.message()));
        }
    }
    out
}

fn render_shadow(skipped: usize, s: &ShadowSummary) -> String {
    let opt = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.4}"));
    let rows = vec![
        vec![
            "logged ranking's first = platform's choice".to_owned(),
            format!("{:.1}%", 100.0 * s.logged_agreement),
        ],
        vec![
            "target's probability of the platform's choice".to_owned(),
            format!("{:.1}%", 100.0 * s.target_agreement),
        ],
        vec![
            "platform's mean reward".to_owned(),
            format!("{:.4}", s.platform_mean_reward),
        ],
        vec![
            "  where the logged ranking agreed".to_owned(),
            opt(s.reward_when_agreed),
        ],
        vec![
            "  where it did not".to_owned(),
            opt(s.reward_when_disagreed),
        ],
        vec!["target, direct method".to_owned(), opt(s.direct_method)],
        vec![
            "  target's probability on actions the platform never took".to_owned(),
            format!("{:.1}%", 100.0 * s.target_mass_on_untried),
        ],
    ];
    format!(
        "\nshadow mode: {} decisions ({} with feedback) where the platform's choice was shown; \
         their logging propensity is unknown, so they are not in the estimates above \
         ({skipped} skipped as shadow)\n\n{}",
        s.decisions,
        s.with_feedback,
        text_table(&["shadow", "value"], &rows)
    )
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "NO" }
}

/// Evaluates as the arguments say and writes `report.json`,
/// `estimates.csv`, `decisions.csv` and, when the log has shadow decisions,
/// `shadow.csv` into `--out`.
pub fn evaluate(args: &EvaluateArgs) -> anyhow::Result<EvaluateReport> {
    let (report, rows, shadow_rows) = if args.simulated {
        let (report, rows) = evaluate_simulated(args)?;
        (report, rows, Vec::new())
    } else {
        evaluate_db(args)?
    };
    let dir = output::out_dir(&args.out)?;
    output::write_json(&dir.join("report.json"), &report)?;
    estimates_table(&report).write_csv(&dir.join("estimates.csv"))?;
    decisions_table(&rows).write_csv(&dir.join("decisions.csv"))?;
    if !shadow_rows.is_empty() {
        shadow_table(&shadow_rows).write_csv(&dir.join("shadow.csv"))?;
    }
    Ok(report)
}

/// Runs `tutti evaluate`.
pub fn run(args: EvaluateArgs) -> anyhow::Result<()> {
    let report = evaluate(&args)?;
    print!("{}", render(&report));
    let shadow = if report.shadow.is_some() {
        ", shadow.csv"
    } else {
        ""
    };
    println!(
        "\nwrote report.json, estimates.csv, decisions.csv{shadow} to {}",
        display(&args.out)
    );
    Ok(())
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

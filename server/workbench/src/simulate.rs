//! `tutti simulate`: runs policies over a synthetic population with known
//! ground truth ([`tutti_engine::sim`]) and writes what a data scientist reads
//! first: a table on the terminal, `summary.json`/`summary.csv` (means and 95%
//! intervals over seeds), `metrics.csv` and `seeds.csv` (every metric, tidy),
//! `weekly.csv` (curves) and plots: `outcome.{svg,png}`, `regret.{svg,png}`,
//! `captured_share.{svg,png}` (the learning curve) and, with the engine,
//! `network.{svg,png}`.
//!
//! The headline is the **captured share**: of what the oracle gains over a
//! uniformly random allowed choice (true expected gain per decision), the
//! share a policy gains; 0 for random, 1 for the oracle. Beside the engine it
//! runs the floor (`random`), the ceiling (`oracle`), a map oracle that knows
//! each person's process-to-outcome map but not their individual responses,
//! and a structured learner (per-person ridge map plus follow-through), the
//! strong simple baseline.
//!
//! It owns the command line, the parallel schedule and the files; the
//! simulation itself is the engine's. People are simulated in fixed chunks of
//! [`CHUNK`](crate::bootstrap::CHUNK) on a rayon pool (`--threads`) and merged in chunk order, so the
//! results do not depend on the number of threads: the same arguments give a
//! byte-identical `summary.json` (the simulator draws every person's life
//! from (seed, person index), see [`tutti_engine::sim::runner`]).

use crate::args::{SeedsArgs, ThreadsArgs, World};
use crate::bootstrap::{chunks, engine_with_model, load_engine_config, load_model};
use crate::output::{self, Cell, Table, text_table, with_interval};
use crate::plot::{LineChart, NetworkChart, Series};
use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use rayon::prelude::*;
use serde::Serialize;
use std::cell::RefCell;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tutti_engine::Engine;
use tutti_engine::config::EngineConfig;
use tutti_engine::ids::{InterventionId, Timestamp};
use tutti_engine::observe::{Assessment, Feedback};
use tutti_engine::population::PopulationModel;
use tutti_engine::sim::report::Estimate;
use tutti_engine::sim::{
    Catalogs, ClinicPool, EnginePolicy, EpsilonGreedy, FixedProtocol, Intake, LinUcb, MapOracle,
    MapPosteriorOracle, Metrics, Oracle, PersonView, Policy, PopulationOracle, Random, Scenario,
    SimReport, SimRng, Simulation, StructuredLearner, Summary, paired_difference, summarise,
};
use tutti_engine::state::PersonState;

/// A policy the simulator can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKind {
    /// The Tutti engine with `--engine-config` (default configuration otherwise).
    Engine,
    /// The same engine pooling each seed's people online, as the server does
    /// for a tenant (`[pooling]`): people run one after another, each ranked
    /// by the model refitted on everyone before them. One sequential job per
    /// seed, so it does not spread over `--threads`.
    EnginePooled,
    /// Uniform over the allowed interventions (the floor).
    Random,
    /// A fixed CBT-like protocol (one family per week, personalises nothing).
    Fixed,
    /// Epsilon-greedy on the person's own rewards.
    Epsilon,
    /// Disjoint LinUCB on a small person profile.
    Linucb,
    /// Per-person ridge map of well-being on the processes, catalogue
    /// targets, learned follow-through (the strong simple baseline).
    Structured,
    /// Knows each person's map and the true population effects, not their
    /// individual responses.
    MapOracle,
    /// Knows what the map oracle knows of the world but only the average
    /// person's map: the most that learning from other people can give.
    PopulationOracle,
    /// Knows what the population oracle knows, and of the person's map what
    /// their well-being measures say read against their true poles (no
    /// rating noise): a bound on what reading the map from ratings can give.
    MapPosteriorOracle,
    /// Knows the truth (the ceiling regret is measured against).
    Oracle,
}

impl PolicyKind {
    /// The name the simulator's reports use.
    pub fn report_name(self) -> &'static str {
        match self {
            PolicyKind::Engine => "engine",
            PolicyKind::EnginePooled => "engine_pooled",
            PolicyKind::Random => "random",
            PolicyKind::Fixed => "fixed_protocol",
            PolicyKind::Epsilon => "epsilon_greedy",
            PolicyKind::Linucb => "linucb",
            PolicyKind::Structured => "structured",
            PolicyKind::MapOracle => "map_oracle",
            PolicyKind::PopulationOracle => "population_oracle",
            PolicyKind::MapPosteriorOracle => "map_posterior_oracle",
            PolicyKind::Oracle => "oracle",
        }
    }
}

/// Arguments of `tutti simulate`.
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// The worlds to simulate.
    #[command(flatten)]
    pub world: SeedsArgs,
    /// Policies to run, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "engine,random,fixed,epsilon,linucb,structured,map-oracle,oracle"
    )]
    pub policies: Vec<PolicyKind>,
    /// Engine configuration (TOML, the fields of `[engine]` in the server config).
    #[arg(long, value_name = "FILE")]
    pub engine_config: Option<PathBuf>,
    /// Trained model for the engine (an artifact from `tutti train`, or a
    /// directory of them) [default: the catalogue's priors].
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// Items the engine ranks per decision (the simulated clinician keeps the
    /// first one that is not contraindicated).
    #[arg(long, default_value_t = 5)]
    pub k: usize,
    /// Exploration rate of the epsilon-greedy baseline.
    #[arg(long, default_value_t = 0.1)]
    pub epsilon: f64,
    /// Confidence-bonus scale of the LinUCB baseline.
    #[arg(long, default_value_t = 0.3)]
    pub linucb_alpha: f64,
    /// Output directory (created if needed).
    #[arg(long, value_name = "DIR", default_value = "sim-out")]
    pub out: PathBuf,
    /// The worker pool.
    #[command(flatten)]
    pub threads: ThreadsArgs,
    /// Skip the SVG/PNG plots.
    #[arg(long)]
    pub no_plots: bool,
    /// Whose process network to draw (`network.svg/png`): the index of a
    /// simulated person of the first seed, followed under the engine
    /// [default: of the first 20, the one with the most assessments].
    #[arg(long)]
    pub network_person: Option<u64>,
}

/// What to simulate, resolved from the arguments.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The world.
    pub scenario: Scenario,
    /// People per seed.
    pub people: u64,
    /// Weeks.
    pub weeks: u32,
    /// Seeds, one world each.
    pub seeds: Vec<u64>,
    /// Policies, in report order.
    pub policies: Vec<PolicyKind>,
    /// The engine's configuration.
    pub engine_config: EngineConfig,
    /// The engine's trained population model (catalogue priors when `None`).
    pub population: Option<PopulationModel>,
    /// Items the engine ranks.
    pub k: usize,
    /// Epsilon of the epsilon-greedy baseline.
    pub epsilon: f64,
    /// Alpha of LinUCB.
    pub linucb_alpha: f64,
    /// Whose network `network.svg/png` shows (`None`: see the argument).
    pub network_person: Option<u64>,
}

impl Plan {
    /// Resolves and checks the arguments.
    pub fn from_args(args: &SimulateArgs) -> anyhow::Result<Self> {
        let mut plan = Self::engine_only(&args.world, args.k)?;
        plan.policies = Vec::new();
        for p in &args.policies {
            if !plan.policies.contains(p) {
                plan.policies.push(*p);
            }
        }
        if plan.policies.is_empty() {
            bail!("--policies is empty");
        }
        if !(0.0..=1.0).contains(&args.epsilon) {
            bail!("--epsilon must be in [0, 1]");
        }
        if !(args.linucb_alpha.is_finite() && args.linucb_alpha >= 0.0) {
            bail!("--linucb-alpha must be >= 0");
        }
        plan.engine_config = load_engine_config(args.engine_config.as_deref())?;
        plan.population = args.model.as_deref().map(load_model).transpose()?;
        plan.epsilon = args.epsilon;
        plan.linucb_alpha = args.linucb_alpha;
        plan.network_person = args.network_person;
        Ok(plan)
    }

    /// The engine alone with the default configuration over `world`, ranking
    /// `k` items: what `tutti tune --simulated` varies the configuration of.
    pub fn engine_only(world: &SeedsArgs, k: usize) -> anyhow::Result<Self> {
        let World {
            scenario,
            people,
            weeks,
            ..
        } = world.scenario.world()?;
        let seeds = world.seeds()?;
        if !(1..=20).contains(&k) {
            bail!("--k must be in 1..=20");
        }
        Ok(Self {
            scenario,
            people,
            weeks,
            seeds,
            policies: vec![PolicyKind::Engine],
            engine_config: EngineConfig::default(),
            population: None,
            k,
            epsilon: 0.1,
            linucb_alpha: 0.3,
            network_person: None,
        })
    }
}

/// Runs one policy on one chunk of people.
fn run_part(
    plan: &Plan,
    sim: &Simulation,
    engine: &Engine,
    policy: PolicyKind,
    people: Range<u64>,
) -> tutti_engine::Result<SimReport> {
    let weeks = plan.weeks;
    match policy {
        PolicyKind::Engine => {
            sim.run_people(people, weeks, || EnginePolicy::new(engine).with_k(plan.k))
        }
        PolicyKind::EnginePooled => {
            let pool = std::cell::RefCell::new(ClinicPool::new(engine));
            sim.run_people(people, weeks, || {
                EnginePolicy::named(engine, "engine_pooled")
                    .with_k(plan.k)
                    .with_pool(&pool)
            })
        }
        PolicyKind::Random => sim.run_people(people, weeks, || Random),
        PolicyKind::Fixed => sim.run_people(people, weeks, FixedProtocol::cbt),
        PolicyKind::Epsilon => sim.run_people(people, weeks, || EpsilonGreedy::new(plan.epsilon)),
        PolicyKind::Linucb => sim.run_people(people, weeks, || LinUcb::new(plan.linucb_alpha)),
        PolicyKind::Structured => sim.run_people(people, weeks, StructuredLearner::default),
        PolicyKind::MapOracle => sim.run_people(people, weeks, || MapOracle),
        PolicyKind::PopulationOracle => sim.run_people(people, weeks, || PopulationOracle),
        PolicyKind::MapPosteriorOracle => sim.run_people(people, weeks, || MapPosteriorOracle),
        PolicyKind::Oracle => sim.run_people(people, weeks, || Oracle),
    }
}

/// Runs every (seed, policy) over all people on `pool`; one merged report per
/// pair, seeds outer, policies inner.
pub fn run_plan(plan: &Plan, pool: &rayon::ThreadPool) -> anyhow::Result<Vec<SimReport>> {
    let catalogs = Catalogs::builtin()?;
    let engine = engine_with_model(plan.engine_config.clone(), plan.population.as_ref())?;
    let sims = plan
        .seeds
        .iter()
        .map(|&seed| Simulation::new(&plan.scenario, &catalogs, seed))
        .collect::<tutti_engine::Result<Vec<_>>>()?;
    // A pooled clinic is one sequence of people: splitting it would split the pool.
    let parts = |p: PolicyKind| {
        if p == PolicyKind::EnginePooled {
            std::iter::once(0..plan.people).collect()
        } else {
            chunks(0..plan.people)
        }
    };
    let mut jobs: Vec<(usize, PolicyKind, Range<u64>)> = Vec::new();
    for s in 0..sims.len() {
        for &p in &plan.policies {
            jobs.extend(parts(p).into_iter().map(|r| (s, p, r)));
        }
    }
    let results: Vec<tutti_engine::Result<SimReport>> = pool.install(|| {
        jobs.par_iter()
            .map(|(s, p, range)| run_part(plan, &sims[*s], &engine, *p, range.clone()))
            .collect()
    });
    let mut reports = Vec::with_capacity(sims.len() * plan.policies.len());
    let mut it = results.into_iter();
    for &p in sims.iter().flat_map(|_| &plan.policies) {
        let mut merged: Option<SimReport> = None;
        for _ in 0..parts(p).len() {
            let part = it.next().context("missing simulation part")??;
            match &mut merged {
                None => merged = Some(part),
                Some(m) => m.merge(&part)?,
            }
        }
        reports.push(merged.context("no people simulated")?);
    }
    Ok(reports)
}

/// The engine-minus-baseline difference in one metric, paired by seed.
#[derive(Debug, Clone, Serialize)]
pub struct Difference {
    /// The baseline.
    pub baseline: String,
    /// The metric (a [`Metrics`] field name).
    pub metric: String,
    /// Engine minus baseline, mean and 95% interval over seeds.
    pub engine_minus_baseline: Estimate,
}

/// Everything in `summary.json`. No times or thread counts: the file is a
/// function of the arguments alone.
#[derive(Debug, Clone, Serialize)]
pub struct SimulationSummary {
    /// Scenario name.
    pub scenario: String,
    /// What the scenario is for.
    pub scenario_description: String,
    /// People per seed.
    pub people: u64,
    /// Weeks simulated.
    pub weeks: u32,
    /// Seeds run.
    pub seeds: Vec<u64>,
    /// Policies run (report names).
    pub policies: Vec<String>,
    /// The engine's configuration.
    pub engine_config: EngineConfig,
    /// The engine's model version (population model + configuration digest).
    pub engine_model_version: String,
    /// Means and 95% intervals over seeds, per policy, with curves.
    pub summary: Summary,
    /// Engine minus each baseline, paired by seed (empty without the engine).
    pub differences: Vec<Difference>,
}

/// The metrics shown in `summary.csv` and on the terminal.
pub const HEADLINE: &[&str] = &[
    "mean_improvement",
    "captured_share",
    "mean_regret",
    "follow_through_rate",
    "risk_episodes_per_person",
    "safety_violations_per_person",
    "missed_risk_share",
    "dropout_rate",
    "responder_rate",
    "deterioration_rate",
];

fn summary_of(plan: &Plan, reports: &[SimReport]) -> anyhow::Result<SimulationSummary> {
    let summary = summarise(reports);
    let by_policy = |name: &str| -> Vec<SimReport> {
        reports
            .iter()
            .filter(|r| r.policy == name)
            .cloned()
            .collect()
    };
    let mut differences = Vec::new();
    if plan.policies.contains(&PolicyKind::Engine) {
        let engine = by_policy("engine");
        for p in plan.policies.iter().filter(|p| **p != PolicyKind::Engine) {
            let base = by_policy(p.report_name());
            for metric in [
                "mean_improvement",
                "captured_share",
                "mean_regret",
                "follow_through_rate",
            ] {
                if let Some(d) = paired_difference(&engine, &base, metric) {
                    differences.push(Difference {
                        baseline: p.report_name().to_owned(),
                        metric: metric.to_owned(),
                        engine_minus_baseline: d,
                    });
                }
            }
        }
    }
    Ok(SimulationSummary {
        scenario: plan.scenario.name.clone(),
        scenario_description: plan.scenario.description.clone(),
        people: plan.people,
        weeks: plan.weeks,
        seeds: plan.seeds.clone(),
        policies: plan
            .policies
            .iter()
            .map(|p| p.report_name().to_owned())
            .collect(),
        engine_config: plan.engine_config.clone(),
        engine_model_version: engine_with_model(
            plan.engine_config.clone(),
            plan.population.as_ref(),
        )?
        .model_version(),
        summary,
        differences,
    })
}

fn estimate_cells(e: &Estimate) -> [Cell; 3] {
    [
        Cell::Float(e.mean),
        Cell::Float(e.lower),
        Cell::Float(e.upper),
    ]
}

fn summary_table(s: &SimulationSummary) -> Table {
    let mut header: Vec<String> = ["scenario", "policy", "seeds", "people"]
        .into_iter()
        .map(String::from)
        .collect();
    for m in HEADLINE {
        header.extend([(*m).to_owned(), format!("{m}_lower"), format!("{m}_upper")]);
    }
    let mut t = Table::new(header);
    for row in &s.summary.rows {
        let mut cells = vec![
            Cell::text(&row.scenario),
            Cell::text(&row.policy),
            Cell::Int(row.seeds.len() as i64),
            Cell::Float(row.people),
        ];
        for m in HEADLINE {
            if let Some(e) = row.metrics.get(m) {
                cells.extend(estimate_cells(e));
            }
        }
        t.push(cells);
    }
    t
}

fn metrics_table(s: &SimulationSummary) -> Table {
    let mut t = Table::new([
        "scenario", "policy", "metric", "mean", "sd", "lower", "upper", "seeds",
    ]);
    for row in &s.summary.rows {
        for (name, e) in row.metrics.pairs() {
            t.push(vec![
                Cell::text(&row.scenario),
                Cell::text(&row.policy),
                Cell::text(name),
                Cell::Float(e.mean),
                Cell::Float(e.sd),
                Cell::Float(e.lower),
                Cell::Float(e.upper),
                Cell::Int(e.n as i64),
            ]);
        }
    }
    t
}

fn seeds_table(reports: &[SimReport]) -> Table {
    let mut header = vec![
        "scenario".to_owned(),
        "policy".into(),
        "seed".into(),
        "people".into(),
    ];
    header.extend(Metrics::<f64>::NAMES.iter().map(|n| (*n).to_owned()));
    let mut t = Table::new(header);
    for r in reports {
        let mut cells = vec![
            Cell::text(&r.scenario),
            Cell::text(&r.policy),
            Cell::Int(r.seed as i64),
            Cell::Int(r.totals.people as i64),
        ];
        cells.extend(
            r.metrics()
                .pairs()
                .into_iter()
                .map(|(_, v)| Cell::Float(*v)),
        );
        t.push(cells);
    }
    t
}

/// Mean over seeds (with interval) of a per-week curve.
fn curve_over_seeds(reports: &[&SimReport], of: fn(&SimReport) -> Vec<f64>) -> Vec<Estimate> {
    let curves: Vec<Vec<f64>> = reports.iter().map(|r| of(r)).collect();
    let weeks = curves.iter().map(Vec::len).min().unwrap_or(0);
    (0..weeks)
        .map(|w| Estimate::from_values(curves.iter().map(|c| c[w])))
        .collect()
}

fn weekly_table(s: &SimulationSummary, reports: &[SimReport]) -> Table {
    let mut t = Table::new([
        "scenario",
        "policy",
        "week",
        "wellbeing",
        "wellbeing_lower",
        "wellbeing_upper",
        "improvement",
        "cumulative_regret",
        "cumulative_regret_lower",
        "cumulative_regret_upper",
        "in_care",
        "follow_through",
        "captured_share",
        "captured_share_lower",
        "captured_share_upper",
    ]);
    for row in &s.summary.rows {
        let group: Vec<&SimReport> = reports.iter().filter(|r| r.policy == row.policy).collect();
        let retention = curve_over_seeds(&group, SimReport::retention_curve);
        let follow = curve_over_seeds(&group, SimReport::follow_through_curve);
        let start = row.wellbeing_curve.first().map_or(f64::NAN, |e| e.mean);
        let nan = Estimate::from_values([]);
        for (week, (w, r)) in row
            .wellbeing_curve
            .iter()
            .zip(&row.regret_curve)
            .enumerate()
        {
            let mut cells = vec![
                Cell::text(&row.scenario),
                Cell::text(&row.policy),
                Cell::Int(week as i64),
                Cell::Float(w.mean),
                Cell::Float(w.lower),
                Cell::Float(w.upper),
                Cell::Float(w.mean - start),
                Cell::Float(r.mean),
                Cell::Float(r.lower),
                Cell::Float(r.upper),
                Cell::Float(retention.get(week).map_or(f64::NAN, |e| e.mean)),
                Cell::Float(follow.get(week).map_or(f64::NAN, |e| e.mean)),
            ];
            cells.extend(estimate_cells(
                row.captured_share_curve.get(week).unwrap_or(&nan),
            ));
            t.push(cells);
        }
    }
    t
}

fn curve_series(name: &str, curve: &[Estimate]) -> Series {
    Series {
        name: name.to_owned(),
        // A week without decisions (the horizon) has no captured share.
        points: curve
            .iter()
            .enumerate()
            .filter(|(_, e)| e.mean.is_finite())
            .map(|(w, e)| (w as f64, e.mean))
            .collect(),
        band: curve
            .iter()
            .enumerate()
            .filter(|(_, e)| e.lower.is_finite() && e.upper.is_finite())
            .map(|(w, e)| (w as f64, e.lower, e.upper))
            .collect(),
    }
}

fn plots(s: &SimulationSummary, dir: &Path) -> anyhow::Result<()> {
    let seeds = s.seeds.len();
    let band = if seeds > 1 {
        format!(", band = 95% interval over {seeds} seeds")
    } else {
        String::new()
    };
    LineChart {
        title: format!(
            "True well-being, {} ({} people{band})",
            s.scenario, s.people
        ),
        x_label: "week".into(),
        y_label: "mean true well-being (0-100)".into(),
        series: s
            .summary
            .rows
            .iter()
            .map(|r| curve_series(&r.policy, &r.wellbeing_curve))
            .collect(),
    }
    .write(dir, "outcome")?;
    LineChart {
        title: format!("Cumulative regret against the oracle, {}", s.scenario),
        x_label: "week".into(),
        y_label: "well-being points lost per person".into(),
        series: s
            .summary
            .rows
            .iter()
            .map(|r| curve_series(&r.policy, &r.regret_curve))
            .collect(),
    }
    .write(dir, "regret")?;
    LineChart {
        title: format!(
            "Captured share by week (learning curve), {}{band}",
            s.scenario
        ),
        x_label: "week".into(),
        y_label: "(policy - random) / (oracle - random), true gain".into(),
        series: s
            .summary
            .rows
            .iter()
            .map(|r| curve_series(&r.policy, &r.captured_share_curve))
            .collect(),
    }
    .write(dir, "captured_share")
}

/// What a [`Tapped`] engine policy reports of each simulated person.
pub(crate) trait Listener {
    /// A new person.
    fn start(&mut self, intake: &Intake<'_>) -> tutti_engine::Result<()>;
    /// An answered assessment.
    fn assessment(&mut self, assessment: &Assessment) -> tutti_engine::Result<()>;
    /// A recommendation was shown.
    fn recommendation(
        &mut self,
        intervention: &InterventionId,
        at: Timestamp,
    ) -> tutti_engine::Result<()> {
        let _ = (intervention, at);
        Ok(())
    }
    /// Feedback came back.
    fn feedback(&mut self, feedback: &Feedback) -> tutti_engine::Result<()>;
}

/// The engine policy, with every event it sees also passed to a listener
/// (shared through a `RefCell` because the simulator builds one policy per
/// person from a factory, while the listener outlives them).
pub(crate) struct Tapped<'e, 'c, L> {
    /// The engine policy that decides.
    pub(crate) inner: EnginePolicy<'e>,
    /// Who else hears the events.
    pub(crate) listener: &'c RefCell<L>,
}

impl<L: Listener> Policy for Tapped<'_, '_, L> {
    fn name(&self) -> &str {
        "engine"
    }

    fn start(&mut self, intake: &Intake<'_>) -> tutti_engine::Result<()> {
        self.listener.borrow_mut().start(intake)?;
        self.inner.start(intake)
    }

    fn observe_assessment(&mut self, assessment: &Assessment) -> tutti_engine::Result<()> {
        self.listener.borrow_mut().assessment(assessment)?;
        self.inner.observe_assessment(assessment)
    }

    fn choose(
        &mut self,
        view: &PersonView<'_>,
        rng: &mut SimRng,
    ) -> tutti_engine::Result<InterventionId> {
        self.inner.choose(view, rng)
    }

    fn observe_recommendation(
        &mut self,
        intervention: &InterventionId,
        at: Timestamp,
    ) -> tutti_engine::Result<()> {
        self.listener
            .borrow_mut()
            .recommendation(intervention, at)?;
        self.inner.observe_recommendation(intervention, at)
    }

    fn observe_feedback(&mut self, feedback: &Feedback) -> tutti_engine::Result<()> {
        self.listener.borrow_mut().feedback(feedback)?;
        self.inner.observe_feedback(feedback)
    }
}

/// Mirrors the engine's view of the person into a state of our own, so that
/// it can be read after the run.
struct Mirror<'e> {
    engine: &'e Engine,
    state: Option<PersonState>,
}

impl Mirror<'_> {
    fn with_state(
        &mut self,
        f: impl FnOnce(&Engine, &mut PersonState) -> tutti_engine::Result<()>,
    ) -> tutti_engine::Result<()> {
        match self.state.as_mut() {
            Some(s) => f(self.engine, s),
            None => Ok(()),
        }
    }
}

impl Listener for Mirror<'_> {
    fn start(&mut self, intake: &Intake<'_>) -> tutti_engine::Result<()> {
        self.state = Some(self.engine.new_person(intake.conditions.to_vec()));
        Ok(())
    }

    fn assessment(&mut self, assessment: &Assessment) -> tutti_engine::Result<()> {
        self.with_state(|e, s| e.observe_assessment(s, assessment))
    }

    fn recommendation(
        &mut self,
        intervention: &InterventionId,
        at: Timestamp,
    ) -> tutti_engine::Result<()> {
        self.with_state(|e, s| e.observe_recommendation(s, intervention, at))
    }

    fn feedback(&mut self, feedback: &Feedback) -> tutti_engine::Result<()> {
        self.with_state(|e, s| e.observe_feedback(s, feedback))
    }
}

/// Draws the engine's estimate of one simulated person's lagged network at
/// the end of the run (`network.svg/png`): what a clinician would see in
/// their insights.
fn network_plot(plan: &Plan, person: Option<u64>, dir: &Path) -> anyhow::Result<()> {
    let engine = engine_with_model(plan.engine_config.clone(), plan.population.as_ref())?;
    let seed = plan.seeds.first().copied().unwrap_or(1);
    let sim = Simulation::new(&plan.scenario, &Catalogs::of(&engine), seed)?;
    let follow = |p: u64| -> anyhow::Result<PersonState> {
        let mirror = RefCell::new(Mirror {
            engine: &engine,
            state: None,
        });
        sim.run_people(p..p + 1, plan.weeks, || Tapped {
            inner: EnginePolicy::new(&engine).with_k(plan.k),
            listener: &mirror,
        })?;
        mirror
            .into_inner()
            .state
            .with_context(|| format!("person {p} was not simulated"))
    };
    // People who drop out early have little network to show; by default the
    // best-observed of the first few is drawn.
    let (person, state) = match person {
        Some(p) => (p, follow(p)?),
        None => {
            let mut best: Option<(u64, PersonState)> = None;
            for p in 0..plan.people.min(20) {
                let s = follow(p)?;
                if best
                    .as_ref()
                    .is_none_or(|(_, b)| s.assessment_count() > b.assessment_count())
                {
                    best = Some((p, s));
                }
            }
            best.context("no simulated people")?
        }
    };
    let now = state.last_assessment_at().unwrap_or_default();
    let insights = engine.insights(&state, now);
    let mut nodes = Vec::new();
    let mut index = std::collections::HashMap::new();
    for p in engine.processes().all() {
        for (pole, sign) in [("adaptive", "+"), ("maladaptive", "-")] {
            index.insert(format!("{}.{pole}", p.id), nodes.len());
            nodes.push(format!("{} {sign}", p.id));
        }
    }
    index.insert("outcome".to_owned(), nodes.len());
    nodes.push("well-being".to_owned());
    let edges = insights
        .edges
        .iter()
        .filter_map(|e| {
            let certain = e.weight.lower > 0.0 || e.weight.upper < 0.0;
            Some((
                *index.get(&e.source)?,
                *index.get(&e.target)?,
                e.weight.mean,
                certain,
            ))
        })
        .collect();
    NetworkChart {
        title: format!(
            "Engine's estimate of simulated person {person}'s network after {} weeks ({} assessments, seed {seed})",
            plan.weeks,
            state.assessment_count()
        ),
        nodes,
        edges,
    }
    .write(dir, "network")
}

/// The table printed on the terminal.
pub fn render_table(s: &SimulationSummary) -> String {
    let rows: Vec<Vec<String>> = s
        .summary
        .rows
        .iter()
        .map(|r| {
            let m = &r.metrics;
            let f = |e: &Estimate, d: usize| with_interval(e.mean, e.lower, e.upper, d);
            vec![
                r.policy.clone(),
                f(&m.captured_share, 3),
                f(&m.mean_improvement, 1),
                f(&m.mean_regret, 1),
                f(&m.follow_through_rate, 2),
                f(&m.risk_episodes_per_person, 3),
                f(&m.safety_violations_per_person, 3),
                f(&m.dropout_rate, 2),
            ]
        })
        .collect();
    let mut out = text_table(
        &[
            "policy",
            "captured share [95% CI]",
            "improvement",
            "regret vs oracle",
            "follow-through",
            "risk episodes/person",
            "safety violations/person",
            "drop-out",
        ],
        &rows,
    );
    for (metric, label, digits) in [
        ("captured_share", "captured share", 3),
        ("mean_improvement", "mean improvement", 2),
    ] {
        let diffs: Vec<&Difference> = s
            .differences
            .iter()
            .filter(|d| d.metric == metric)
            .collect();
        if diffs.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "\nengine minus baseline, {label} (paired by seed):\n"
        ));
        for d in diffs {
            let e = &d.engine_minus_baseline;
            out.push_str(&format!(
                "  vs {:<15} {:+.digits$}{}\n",
                d.baseline,
                e.mean,
                if e.lower.is_finite() {
                    format!(" [{:+.digits$}, {:+.digits$}]", e.lower, e.upper)
                } else {
                    String::new()
                }
            ));
        }
    }
    out
}

/// Writes every output file into `dir`; returns the summary.
pub fn write_outputs(
    plan: &Plan,
    reports: &[SimReport],
    dir: &Path,
    draw: bool,
) -> anyhow::Result<SimulationSummary> {
    let dir = output::out_dir(dir)?;
    let summary = summary_of(plan, reports)?;
    output::write_json(&dir.join("summary.json"), &summary)?;
    summary_table(&summary).write_csv(&dir.join("summary.csv"))?;
    metrics_table(&summary).write_csv(&dir.join("metrics.csv"))?;
    seeds_table(reports).write_csv(&dir.join("seeds.csv"))?;
    weekly_table(&summary, reports).write_csv(&dir.join("weekly.csv"))?;
    if draw {
        plots(&summary, &dir)?;
        if plan.policies.contains(&PolicyKind::Engine) {
            network_plot(plan, plan.network_person, &dir)?;
        }
    }
    Ok(summary)
}

/// Runs `tutti simulate`.
pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let plan = Plan::from_args(&args)?;
    let pool = args.threads.pool()?;
    println!(
        "simulating scenario `{}`: {} people x {} weeks x {} seed(s), policies {}, {} thread(s)",
        plan.scenario.name,
        plan.people,
        plan.weeks,
        plan.seeds.len(),
        plan.policies
            .iter()
            .map(|p| p.report_name())
            .collect::<Vec<_>>()
            .join(","),
        pool.current_num_threads()
    );
    let started = Instant::now();
    let reports = run_plan(&plan, &pool)?;
    let elapsed = started.elapsed();
    let summary = write_outputs(&plan, &reports, &args.out, !args.no_plots)?;
    println!();
    print!("{}", render_table(&summary));
    println!(
        "\ncaptured share: of what the oracle gains over a random allowed choice (true expected gain per decision), the share the policy gains (0 = random, 1 = oracle).\nimprovement and regret in true well-being points (0-100); regret is the expected lasting gain the oracle would have had.\nsimulated in {:.1} s; wrote summary.json, summary.csv, metrics.csv, seeds.csv, weekly.csv{} to {}",
        elapsed.as_secs_f64(),
        if args.no_plots {
            ""
        } else {
            ", outcome.svg/png, regret.svg/png, captured_share.svg/png, network.svg/png"
        },
        args.out.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[expect(
        clippy::wildcard_enum_match_arm,
        reason = "a test takes the one subcommand it parsed"
    )]
    fn only_seed_means_one_seed_and_seeds_count_from_it() {
        let parse = |argv: &[&str]| {
            let mut full = vec!["tutti", "simulate"];
            full.extend_from_slice(argv);
            let cli = <crate::Cli as clap::Parser>::try_parse_from(full).expect("parses");
            match cli.command {
                crate::Command::Simulate(a) => Plan::from_args(&a).expect("valid"),
                other => panic!("parsed as {other:?}"),
            }
        };
        assert_eq!(parse(&["--seed", "7"]).seeds, vec![7]);
        assert_eq!(parse(&["--seed", "7", "--seeds", "3"]).seeds, vec![7, 8, 9]);
        assert_eq!(parse(&[]).seeds, vec![1, 2, 3, 4, 5]);
        let p = parse(&["--policies", "random,oracle,random"]);
        assert_eq!(p.policies, vec![PolicyKind::Random, PolicyKind::Oracle]);
    }

    #[test]
    fn a_pooled_clinic_runs_whole_and_reports_beside_the_others() {
        let cli = <crate::Cli as clap::Parser>::try_parse_from([
            "tutti",
            "simulate",
            "--people",
            &(crate::bootstrap::CHUNK + 5).to_string(),
            "--weeks",
            "2",
            "--seeds",
            "2",
            "--policies",
            "engine-pooled,random",
        ])
        .expect("parses");
        let crate::Command::Simulate(args) = cli.command else {
            panic!("not simulate");
        };
        let plan = Plan::from_args(&args).expect("valid");
        let reports = run_plan(
            &plan,
            &crate::bootstrap::thread_pool(Some(2)).expect("pool"),
        )
        .expect("runs");
        let names: Vec<&str> = reports.iter().map(|r| r.policy.as_str()).collect();
        assert_eq!(
            names,
            ["engine_pooled", "random", "engine_pooled", "random"],
            "seeds outer, policies inner"
        );
        for r in &reports {
            assert_eq!(
                r.totals.people,
                crate::bootstrap::CHUNK + 5,
                "{}: everyone, once",
                r.policy
            );
        }
    }
}

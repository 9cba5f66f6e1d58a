//! `tutti train`: fits a population model ([`tutti_engine::train`]) from
//! logged events and writes it as a versioned artifact ([`tutti_server::model`])
//! that `tutti serve` loads at start and picks up while running.
//!
//! Two sources, replayed the same way through [`Collector`]:
//! - `--db FILE --tenant T`: a server's SQLite file, opened read-only (it can
//!   run beside a live server): every person's assessments and feedback in
//!   time order, each feedback with the context of the decision it answers.
//! - `--simulated`: the simulator's people under the engine (the `logging`
//!   configuration, default exploration), for trying the pipeline and for
//!   showing on ground truth what training buys (docs/data-science.md).
//!
//! The version defaults to `trained-<UTC time>-<content digest>`: sortable,
//! so a model directory serves the newest run, and tied to the content, so two
//! different models never share a name.

use crate::args::{LogArgs, ScenarioArgs, ThreadsArgs, World};
use crate::bootstrap::{chunks, engine_with, load_engine_config, tenant_engine};
use crate::simulate::{Listener, Tapped};
use anyhow::{Context as _, bail};
use clap::Args;
use rayon::prelude::*;
use sha2::{Digest as _, Sha256};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use tutti_engine::Engine;
use tutti_engine::config::EngineConfig;
use tutti_engine::observe::{Assessment, Context, Feedback};
use tutti_engine::sim::{Catalogs, EnginePolicy, Intake, Simulation};
use tutti_engine::train::{Collector, TrainingSet, train};
use tutti_server::model::{FORMAT, ModelArtifact, valid_version};
use tutti_server::offline::{
    Event, History, LogDecision, StoredAssessment, StoredFeedback, ordered_events,
};

/// Arguments of `tutti train`.
#[derive(Debug, Clone, Args)]
#[command(
    mut_arg("people", |a| a.default_value("2000").help("Simulated: people in the log")),
    mut_arg("weeks", |a| a.default_value("26").help("Simulated: weeks each person is followed"))
)]
pub struct TrainArgs {
    /// Train on a simulated log (known truth).
    #[arg(long, conflicts_with_all = ["db", "url", "tenant"], required_unless_present_any = ["db", "url"])]
    pub simulated: bool,
    /// The stored events to train on.
    #[command(flatten)]
    pub log: LogArgs,
    /// The simulated world (`--simulated`).
    #[command(flatten)]
    pub world: ScenarioArgs,
    /// Simulated: the first person's index. The world (true population
    /// effects) depends on the seed only, so people `--first-person ..` of the
    /// same seed are new people from the same population.
    #[arg(long, default_value_t = 0)]
    pub first_person: u64,
    /// Simulated: configuration of the engine that makes the logged decisions.
    #[arg(long, value_name = "FILE")]
    pub engine_config: Option<PathBuf>,
    /// Model version (default: `trained-<UTC time>-<digest>`).
    #[arg(long)]
    pub version: Option<String>,
    /// Directory the artifact is written to (a server's `[model] path`).
    #[arg(long, value_name = "DIR", default_value = "models")]
    pub out: PathBuf,
    /// Worker threads for the simulation.
    #[command(flatten)]
    pub threads: ThreadsArgs,
}

/// Feeds the simulated engine's events to a collector.
struct Collecting<'e> {
    engine: &'e Engine,
    collector: Collector<'e>,
}

impl Listener for Collecting<'_> {
    fn start(&mut self, intake: &Intake<'_>) -> tutti_engine::Result<()> {
        self.collector.start_person(
            format!("sim-{}", intake.person),
            self.engine.new_person(intake.conditions.to_vec()),
        );
        Ok(())
    }

    fn assessment(&mut self, assessment: &Assessment) -> tutti_engine::Result<()> {
        self.collector.assessment(assessment)
    }

    fn feedback(&mut self, feedback: &Feedback) -> tutti_engine::Result<()> {
        self.collector.feedback(feedback)
    }
}

fn simulated_set(args: &TrainArgs) -> anyhow::Result<(TrainingSet, serde_json::Value)> {
    let World {
        scenario,
        people,
        weeks,
        seed,
    } = args.world.world()?;
    let engine = engine_with(load_engine_config(args.engine_config.as_deref())?)?;
    let sim = Simulation::new(&scenario, &Catalogs::of(&engine), seed)?;
    let pool = args.threads.pool()?;
    let parts = chunks(args.first_person..args.first_person + people);
    let sets: Vec<anyhow::Result<TrainingSet>> = pool.install(|| {
        parts
            .par_iter()
            .map(|range| {
                let listener = RefCell::new(Collecting {
                    engine: &engine,
                    collector: Collector::new(&engine).keeping_people(),
                });
                sim.run_people(range.clone(), weeks, || Tapped {
                    inner: EnginePolicy::new(&engine),
                    listener: &listener,
                })?;
                Ok(listener.into_inner().collector.finish())
            })
            .collect()
    });
    // Chunk order, whatever the thread count: the artifact is a function of
    // the arguments.
    let mut set = TrainingSet::default();
    for part in sets {
        set.append(part?);
    }
    let source = serde_json::json!({
        "kind": "simulated",
        "scenario": scenario.name,
        "people": people,
        "first_person": args.first_person,
        "weeks": weeks,
        "seed": seed,
        "logging_model_version": engine.model_version(),
    });
    Ok((set, source))
}

fn db_set(args: &TrainArgs) -> anyhow::Result<(TrainingSet, serde_json::Value)> {
    let log = args.log.open("train")?;
    // The tenant's own interventions count too: their rows train their effects.
    let engine = tenant_engine(EngineConfig::default(), &log.tables.interventions)?;
    let context_of_rec: HashMap<&str, Context> = {
        let by_id: HashMap<&str, &LogDecision> = log
            .tables
            .decisions
            .iter()
            .map(|d| (d.id.as_str(), d))
            .collect();
        log.tables
            .recommendations
            .iter()
            .filter_map(|r| Some((r.id.as_str(), by_id.get(r.decision.as_str())?.query.context)))
            .collect()
    };
    // Per person, what the server's replay reads: assessments and feedback
    // (with the context of the decision it answers), in the server's order.
    let mut histories: BTreeMap<&str, History> = BTreeMap::new();
    for a in &log.tables.assessments {
        histories
            .entry(a.person.as_str())
            .or_default()
            .assessments
            .push(StoredAssessment {
                id: a.id.clone(),
                observe_time: a.observe_time,
                payload: a.payload.clone(),
            });
    }
    let mut unmatched = 0usize;
    for f in &log.tables.feedback {
        let Some(context) = context_of_rec.get(f.recommendation.as_str()) else {
            unmatched += 1;
            continue;
        };
        if engine.interventions().get(&f.intervention).is_none() {
            unmatched += 1;
            continue;
        }
        histories
            .entry(f.person.as_str())
            .or_default()
            .feedback
            .push(StoredFeedback {
                observe_time: f.observe_time,
                intervention: f.intervention.clone(),
                context: *context,
                payload: f.payload.clone(),
            });
    }
    let conditions: HashMap<&str, _> = log
        .tables
        .people
        .iter()
        .map(|p| (p.id.as_str(), p.conditions.clone()))
        .collect();
    let mut collector = Collector::new(&engine).keeping_people();
    for (person, history) in &histories {
        let conds = conditions.get(person).cloned().unwrap_or_default();
        // Pseudonymous ids stay in the tenant's database: the artifact only
        // needs to tell people apart.
        let key = format!("{:x}", Sha256::digest(person.as_bytes()))[..16].to_owned();
        collector.start_person(key, engine.new_person(conds));
        for (_, event) in ordered_events(history, Vec::new())? {
            match event {
                Event::Assessment(a) => collector.assessment(&a)?,
                Event::Feedback(f) => collector.feedback(&f)?,
                Event::Recommendation(_) => {}
            }
        }
    }
    let mut set = collector.finish();
    // The served model is shared by every tenant: a tenant's own intervention
    // ids mean nothing elsewhere (and could collide with another tenant's),
    // so only built-in interventions are learned from.
    let builtin = Engine::with_defaults();
    let before = set.effects.len() + set.follow.len();
    set.effects
        .retain(|r| builtin.interventions().get(&r.intervention).is_some());
    set.follow
        .retain(|r| builtin.interventions().get(&r.intervention).is_some());
    let tenant_own_rows = before - set.effects.len() - set.follow.len();
    let source = serde_json::json!({
        "kind": "decision_log",
        "tenant": log.tenant(),
        "people": log.tables.people.len(),
        "assessments": log.tables.assessments.len(),
        "feedback": log.tables.feedback.len(),
        "feedback_without_decision": unmatched,
        "rows_on_tenant_interventions": tenant_own_rows,
        "decisions": log.len(),
    });
    Ok((set, source))
}

/// Trains and writes the artifact; returns it and its path.
pub fn train_model(args: &TrainArgs) -> anyhow::Result<(ModelArtifact, PathBuf)> {
    if let Some(v) = &args.version
        && !valid_version(v)
    {
        bail!("--version `{v}` must be 1-100 of [A-Za-z0-9._-], not starting with a dot");
    }
    let (set, source) = if args.simulated {
        simulated_set(args)?
    } else {
        db_set(args)?
    };
    if set.effects.is_empty() && set.follow.is_empty() {
        bail!("no feedback to learn from (the log has no feedback with a completion)");
    }
    let base = Engine::with_defaults();
    let (mut population, report) = train("pending", &set, base.interventions(), base.processes())?;
    let digest = {
        let json = serde_json::to_vec(&population).context("serialising the model")?;
        format!("{:x}", Sha256::digest(&json))[..8].to_owned()
    };
    let now = time::OffsetDateTime::now_utc();
    let version = args.version.clone().unwrap_or_else(|| {
        format!(
            "trained-{:04}{:02}{:02}T{:02}{:02}{:02}Z-{digest}",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            now.second()
        )
    });
    population.version = version.clone();
    let artifact = ModelArtifact {
        format: FORMAT.to_owned(),
        version,
        created_at: now
            .format(&time::format_description::well_known::Rfc3339)
            .context("formatting the time")?,
        source,
        report,
        population,
    };
    artifact.validate(base.processes())?;
    let path = artifact.write(&args.out)?;
    Ok((artifact, path))
}

/// Runs `tutti train`.
pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let (artifact, path) = train_model(&args)?;
    let r = &artifact.report;
    println!("trained model {}", artifact.version);
    let kept = |n: usize, what: String| {
        if n > 0 {
            what
        } else {
            "kept at the prior (too little data)".to_owned()
        }
    };
    println!(
        "  response: {} benefit rows from {} ratings, {} interventions with a trained multiplier, {} reference profiles",
        r.effect_rows, r.effect_ratings, r.interventions_trained, r.reference_profiles
    );
    println!(
        "  process map: {}; rating level: {}; helpfulness noise: {}",
        kept(r.map_people, format!("from {} people's maps", r.map_people)),
        kept(r.rater_people, format!("from {} people", r.rater_people)),
        kept(
            r.noise_df as usize,
            format!("from {} repeated ratings", r.noise_df)
        ),
    );
    if let Some(s) = &r.rating_spread {
        println!(
            "  ratings beyond the maps ({} rows; measured, not applied): family sd {:.2}, \
             intervention sd {:.2} of the prediction",
            s.rows, s.family_sd, s.item_sd_share
        );
    }
    if let Some(scale) = r.spread_scale {
        // The grid's ends bound what it can tell.
        let grid = tutti_engine::train::SPREAD_GRID;
        let at = if scale <= grid[0] {
            "at or below"
        } else if scale >= grid[grid.len() - 1] {
            "at or above"
        } else {
            "at"
        };
        println!(
            "  response spreads: the feedback of {} people is likeliest {at} {scale:.2} times the \
             model's (measured, not applied)",
            r.spread_people
        );
    }
    println!(
        "  similar people: {}",
        kept(
            r.neighbour_pairs,
            format!(
                "weight {:.2}, from {} residuals of reference people predicted by their nearest others",
                artifact.population.response.neighbour_weight, r.neighbour_pairs
            )
        ),
    );
    let (b, a) = (&r.follow_before, &r.follow_after);
    println!(
        "  follow-through: {} reports; base rate {:.2} -> {:.2} (covariates kept at the prior: the logging policy chose them)",
        r.follow_rows, b.mean, a.mean,
    );
    println!(
        "  population levels: {}",
        if r.level_people > 0 {
            format!("from {} people", r.level_people)
        } else {
            "kept at the catalogue's (too few people)".to_owned()
        }
    );
    println!("wrote {}", path.display());
    Ok(())
}

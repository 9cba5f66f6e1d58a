//! `tutti seed`: fills a database (a SQLite file or PostgreSQL) with many
//! people, each with a year of weekly assessments and the engine state they
//! produce, to measure start-up, memory and latency at scale
//! (`docs/benchmarks.md`, "A million people").
//!
//! It writes through the same [`Storage`] trait the server uses (so the rows,
//! the compact state and the idempotency records are exactly what the server
//! would have stored), with many writes in flight so SQLite's group commit
//! and PostgreSQL's pool are used as in service. Folding 52 assessments into
//! an engine state costs milliseconds, which a million times is hours, so the
//! histories come from `--profiles` distinct simulated people computed with
//! the real engine, each reused for many person ids (with fresh assessment
//! ids): the data have the size and shape of real people, not their variety.
//!
//! It must not be pointed at a production database: it only adds rows, but
//! they are synthetic people.

use anyhow::Context as _;
use clap::Args;
use prost::Message as _;
use rand::{Rng as _, SeedableRng as _};
use rayon::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tutti_engine::Engine;
use tutti_engine::ids::Timestamp;
use tutti_engine::observe::Assessment;
use tutti_engine::state::PersonState;
use tutti_proto::v1 as pb;
use tutti_server::config::{Secret, StorageConfig};
use tutti_server::convert::FromWire as _;
use tutti_server::convert::ids::{PersonId, RequestId, TenantId, new_uuid};
use tutti_server::storage::{
    self, IdempotencyRecord, NewPerson, StateUpdate, Storage, StoredAssessment,
};

/// Arguments of `tutti seed`.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// People to add.
    #[arg(long)]
    pub people: usize,
    /// Weekly assessments per person (52: a year).
    #[arg(long, default_value_t = 52)]
    pub weeks: usize,
    /// SQLite file to fill (ignored with --url).
    #[arg(long, value_name = "PATH", default_value = "tutti.db")]
    pub data: PathBuf,
    /// PostgreSQL database to fill instead (`postgres://…`).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Tenant of the people.
    #[arg(long, default_value = "default")]
    pub tenant: String,
    /// Person ids are `<prefix>-<n>`, n from 0.
    #[arg(long, default_value = "seed")]
    pub prefix: String,
    /// Distinct simulated histories the people are drawn from.
    #[arg(long, default_value_t = 64)]
    pub profiles: usize,
    /// Writes in flight at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Seed of the simulated histories.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// One simulated person: the stored form of each assessment (without its
/// id, which every seeded person gets fresh) and the state they lead to.
struct Profile {
    assessments: Vec<(pb::Assessment, Timestamp)>,
    state: PersonState,
}

fn profile(engine: &Engine, weeks: usize, seed: u64, end: SystemTime) -> anyhow::Result<Profile> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let processes = [
        "affect",
        "cognition",
        "attention",
        "self",
        "social",
        "behavior",
    ];
    let levels: Vec<f64> = processes
        .iter()
        .map(|_| rng.random_range(25.0..75.0))
        .collect();
    let mut state = engine.new_person(vec![]);
    let mut assessments = Vec::with_capacity(weeks);
    for w in 0..weeks {
        let at = end - Duration::from_secs(((weeks - w) * 7 * 86_400) as u64);
        let mut ts = prost_types::Timestamp::from(at);
        ts.nanos -= ts.nanos % 1_000_000;
        let wire = pb::Assessment {
            id: String::new(),
            observe_time: Some(ts),
            ratings: processes
                .iter()
                .zip(&levels)
                .map(|(p, level)| {
                    let a: f64 = (level + rng.random_range(-12.0..12.0)).clamp(0.0, 100.0);
                    pb::ProcessRating {
                        process_id: (*p).to_owned(),
                        adaptive: Some(a.round()),
                        maladaptive: Some(
                            (100.0 - a + rng.random_range(-8.0..8.0))
                                .clamp(0.0, 100.0)
                                .round(),
                        ),
                    }
                })
                .collect(),
            outcomes: vec![pb::OutcomeMeasure {
                instrument: pb::Instrument::Who5 as i32,
                score: (levels[0] + rng.random_range(-15.0..15.0))
                    .clamp(0.0, 100.0)
                    .round(),
            }],
            risk_flags: vec![],
        };
        let domain = Assessment::from_wire(&wire).map_err(|e| anyhow::anyhow!("{e}"))?;
        engine.observe_assessment(&mut state, &domain)?;
        assessments.push((wire, domain.at));
    }
    // As the server stores a person after a ranking: the posterior cached in the state.
    engine.refresh(&mut state)?;
    Ok(Profile { assessments, state })
}

/// Runs `tutti seed`.
pub fn run(args: SeedArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.people > 0 && args.profiles > 0 && args.concurrency > 0,
        "--people, --profiles and --concurrency must be at least 1"
    );
    let tenant = TenantId::parse(&args.tenant).map_err(|e| anyhow::anyhow!("--tenant: {e}"))?;
    let engine = Engine::with_defaults();
    let end = SystemTime::now();
    let started = Instant::now();
    let profiles: Vec<Profile> = (0..args.profiles)
        .into_par_iter()
        .map(|i| {
            profile(
                &engine,
                args.weeks,
                args.seed.wrapping_mul(7919) ^ i as u64,
                end,
            )
        })
        .collect::<anyhow::Result<_>>()?;
    let profiles = Arc::new(profiles);
    eprintln!(
        "seed: {} profiles of {} weeks in {:.1} s; state {} bytes",
        args.profiles,
        args.weeks,
        started.elapsed().as_secs_f64(),
        storage::state_codec::encode(&profiles[0].state)?.len()
    );
    let config = StorageConfig {
        path: args.data.clone(),
        url: args.url.clone().map(Secret::new),
        pool_size: args.concurrency.min(64),
        ..StorageConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async move {
        let db = storage::open(&config).await?;
        let written = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for worker in 0..args.concurrency {
            let (db, tenant, profiles, written) = (
                Arc::clone(&db),
                tenant.clone(),
                Arc::clone(&profiles),
                Arc::clone(&written),
            );
            let (people, stride, prefix) = (args.people, args.concurrency, args.prefix.clone());
            tasks.spawn(async move {
                let mut i = worker;
                while i < people {
                    seed_person(
                        &*db,
                        &tenant,
                        &format!("{prefix}-{i}"),
                        &profiles[i % profiles.len()],
                    )
                    .await?;
                    let n = written.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    if n % 10_000 == 0 {
                        eprintln!("seed: {n} people");
                    }
                    i += stride;
                }
                anyhow::Ok(())
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.context("seed task")??;
        }
        anyhow::Ok(())
    })?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "seed: {} people with {} assessments each in {secs:.1} s ({:.0} people/s) into {}",
        args.people,
        args.weeks,
        args.people as f64 / secs,
        storage::describe(&StorageConfig {
            path: args.data,
            url: args.url.map(Secret::new),
            ..StorageConfig::default()
        })
    );
    Ok(())
}

async fn seed_person(
    db: &dyn Storage,
    tenant: &TenantId,
    id: &str,
    profile: &Profile,
) -> anyhow::Result<()> {
    let person = PersonId::parse(id).map_err(|e| anyhow::anyhow!("person id {id}: {e}"))?;
    let now = Timestamp(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
    );
    let idem = |what: &str| -> anyhow::Result<IdempotencyRecord> {
        Ok(IdempotencyRecord {
            method: format!("/tutti.seed/{what}"),
            request_id: RequestId::parse(&format!("seed-{id}"))
                .map_err(|e| anyhow::anyhow!("{e}"))?,
            request_hash: String::new(),
            response: Vec::new(),
            person: Some(person.clone()),
            create_time: now,
            audit: None,
        })
    };
    db.create_person(
        tenant,
        NewPerson {
            id: person.clone(),
            conditions: vec![],
            create_time: now,
            state: profile.state.clone(),
        },
        idem("CreatePerson")?,
    )
    .await?;
    let assessments = profile
        .assessments
        .iter()
        .map(|(wire, at)| {
            let stored = pb::Assessment {
                id: new_uuid(),
                ..wire.clone()
            };
            StoredAssessment {
                id: stored.id.clone(),
                observe_time: *at,
                payload: stored.encode_to_vec(),
            }
        })
        .collect();
    let idem_assessments = idem("RecordAssessments")?;
    db.record_assessments(
        tenant,
        StateUpdate {
            person,
            expected_version: 1,
            state: profile.state.clone(),
            update_time: now,
        },
        assessments,
        idem_assessments,
    )
    .await?;
    Ok(())
}

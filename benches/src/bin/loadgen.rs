//! `loadgen`: drives a real Tutti server over gRPC with a platform-like mix of
//! calls and writes a JSON report (configuration, throughput, p50/p90/p99/p99.9
//! latency per method, errors, git sha) from which `docs/benchmarks.md` quotes.
//!
//! By default it starts the server in-process on `127.0.0.1:0` over a fresh
//! SQLite file (the same `tutti_server::serve` the binary runs, so the numbers
//! include transport, validation, storage with fsync and audit); `--target`
//! points it at a running server instead. Before the measured phase it creates
//! `--people` people with `--history` days of backfilled assessments each.
//!
//! Absolute latencies depend on the machine, so the report also measures a
//! baseline in the same process and on the same connections: `grpc.health.v1`
//! Check, which costs transport but no work. Ratios to it (`x_health`) travel
//! between machines better than microseconds do.
//!
//! It owns load generation only: it asserts nothing about speed.

use anyhow::{Context as _, bail};
use clap::Parser;
use hdrhistogram::Histogram;
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};
use tokio::net::TcpListener;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tutti_proto::v1::people_service_client::PeopleServiceClient;
use tutti_proto::v1::recommendation_service_client::RecommendationServiceClient;
use tutti_proto::v1::{
    Assessment, BatchRecordAssessmentsRequest, Completion, CreatePersonRequest, Feedback,
    Instrument, OutcomeMeasure, ProcessRating, RecommendRequest, RecommendationContext,
    RecordAssessmentRequest, RecordFeedbackRequest,
};

#[derive(Debug, Clone, Parser, Serialize)]
#[command(about = "Load generator for the Tutti gRPC service")]
struct Args {
    /// A running server (`http://host:port`) [default: start one in-process].
    #[arg(long)]
    target: Option<String>,
    /// People created before the run.
    #[arg(long, default_value_t = 200)]
    people: usize,
    /// Days of backfilled daily assessments per person.
    #[arg(long, default_value_t = 60)]
    history: usize,
    /// Concurrent callers (each with its own connection).
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Seconds of measured load per phase.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of unmeasured warm-up before the measured phase.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Share of calls that are Recommend; the rest split between
    /// RecordAssessment and RecordFeedback as `--assess-share` says.
    #[arg(long, default_value_t = 0.6)]
    recommend_share: f64,
    /// Share of calls that are RecordAssessment.
    #[arg(long, default_value_t = 0.25)]
    assess_share: f64,
    /// Seed of the call mix.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where to write the JSON report [default: stdout only].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Storage of the in-process servers.
    #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
    backend: Backend,
    /// In-process replicas (each its own runtime, all on one database);
    /// callers are spread over them.
    #[arg(long, default_value_t = 1)]
    replicas: usize,
    /// PostgreSQL database for `--backend postgres` [default: a throwaway
    /// cluster this run starts and removes].
    #[arg(long)]
    postgres_url: Option<String>,
    /// The judge's run: for SQLite (1 replica) and PostgreSQL (1 and 2
    /// replicas), at 1, 8 and 64 callers, the health-check baseline and each
    /// of Recommend, RecordAssessment and RecordFeedback alone, each phase
    /// `--duration` seconds; ratios are against the baseline of the same
    /// server and caller count.
    #[arg(long)]
    matrix: bool,
    /// Use people a `tutti seed` run stored (`<--seeded-prefix>-<n>`, n below
    /// this) instead of creating `--people`; with `--target`.
    #[arg(long)]
    seeded_people: Option<usize>,
    /// Prefix of the seeded people's ids.
    #[arg(long, default_value = "seed")]
    seeded_prefix: String,
    /// `storage.commit_batch` of in-process SQLite servers (1: no group commit).
    #[arg(long, default_value_t = 64)]
    commit_batch: usize,
    /// Turn online pooling off in in-process servers (`pooling.enabled`), to
    /// measure what its background refits cost under load.
    #[arg(long)]
    no_pooling: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Backend {
    Sqlite,
    Postgres,
}

/// Latency summary of one method, microseconds.
#[derive(Debug, Clone, Serialize)]
struct MethodReport {
    calls: u64,
    errors: u64,
    throughput_per_s: f64,
    p50_us: u64,
    p90_us: u64,
    p99_us: u64,
    p999_us: u64,
    max_us: u64,
    /// p50 over the health-check baseline's p50.
    p50_x_health: f64,
}

#[derive(Debug, Clone, Serialize)]
struct Report {
    tool: &'static str,
    git_sha: String,
    started_at_unix_s: u64,
    config: Args,
    cores: usize,
    baseline_health: MethodReport,
    methods: BTreeMap<String, MethodReport>,
    total_throughput_per_s: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Health,
    Recommend,
    Assess,
    Feedback,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Health => "grpc.health.v1.Health/Check",
            Op::Recommend => "tutti.v1.RecommendationService/Recommend",
            Op::Assess => "tutti.v1.PeopleService/RecordAssessment",
            Op::Feedback => "tutti.v1.RecommendationService/RecordFeedback",
        }
    }
}

/// Reports a failed call (the first few of a run, so a failure has a cause
/// beside its count) and returns `false`.
fn failed(op: Op, status: &tonic::Status) -> bool {
    static SHOWN: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    if SHOWN.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < 5 {
        eprintln!(
            "loadgen: {} failed: {:?} {}",
            op.name(),
            status.code(),
            status.message()
        );
    }
    false
}

#[derive(Default)]
struct Tally {
    hist: BTreeMap<Op, Histogram<u64>>,
    errors: BTreeMap<Op, u64>,
}

impl Tally {
    fn record(&mut self, op: Op, took: Duration, ok: bool) -> anyhow::Result<()> {
        let h = match self.hist.entry(op) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(Histogram::new_with_bounds(1, 60_000_000, 3)?)
            }
        };
        h.saturating_record(u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1));
        if !ok {
            *self.errors.entry(op).or_default() += 1;
        }
        Ok(())
    }

    fn merge(&mut self, other: Tally) -> anyhow::Result<()> {
        for (op, h) in other.hist {
            match self.hist.get_mut(&op) {
                Some(mine) => mine.add(h)?,
                None => {
                    self.hist.insert(op, h);
                }
            }
        }
        for (op, n) in other.errors {
            *self.errors.entry(op).or_default() += n;
        }
        Ok(())
    }
}

fn now_ts(offset_days: f64) -> prost_types::Timestamp {
    let t = SystemTime::now() - Duration::from_secs_f64(offset_days * 86_400.0);
    let mut ts = prost_types::Timestamp::from(t);
    ts.nanos -= ts.nanos % 1_000_000;
    ts
}

/// A plausible assessment: three processes on both poles, well-being.
fn assessment(rng: &mut ChaCha8Rng, days_ago: f64) -> Assessment {
    let mut r = |mid: f64| (mid + rng.random_range(-15.0..15.0)).clamp(0.0, 100.0);
    Assessment {
        id: String::new(),
        observe_time: Some(now_ts(days_ago)),
        ratings: ["affect", "cognition", "social"]
            .iter()
            .map(|p| ProcessRating {
                process_id: (*p).to_owned(),
                adaptive: Some(r(55.0)),
                maladaptive: Some(r(40.0)),
            })
            .collect(),
        outcomes: vec![OutcomeMeasure {
            instrument: Instrument::Wellbeing as i32,
            score: r(50.0),
        }],
        risk_flags: vec![],
    }
}

fn rid() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn connect(addr: &str) -> anyhow::Result<Channel> {
    Endpoint::from_shared(addr.to_owned())?
        .tcp_nodelay(true)
        .connect()
        .await
        .with_context(|| format!("connecting to {addr}"))
}

async fn setup(addr: &str, args: &Args) -> anyhow::Result<Vec<String>> {
    let mut people = PeopleServiceClient::new(connect(addr).await?);
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed ^ 0x5eed);
    let mut names = Vec::with_capacity(args.people);
    let run = &rid()[..8];
    for i in 0..args.people {
        let person = people
            .create_person(CreatePersonRequest {
                request_id: rid(),
                person_id: format!("load-{run}-{i}"),
                conditions: vec![],
            })
            .await?
            .into_inner()
            .person
            .context("CreatePerson returned no person")?;
        let history: Vec<Assessment> = (0..args.history)
            .map(|d| assessment(&mut rng, (args.history - d) as f64 + 0.5))
            .collect();
        if !history.is_empty() {
            people
                .batch_record_assessments(BatchRecordAssessmentsRequest {
                    request_id: rid(),
                    person: person.name.clone(),
                    assessments: history,
                })
                .await?;
        }
        names.push(person.name);
    }
    Ok(names)
}

/// One caller: its own connection, its own deterministic mix.
#[allow(clippy::too_many_arguments)] // one caller's whole setting, passed once
async fn caller(
    addr: String,
    people: Vec<String>,
    args: Args,
    worker: u64,
    baseline: bool,
    only: Option<Op>,
    until: Instant,
    measure_from: Instant,
) -> anyhow::Result<Tally> {
    let channel = connect(&addr).await?;
    let mut health = HealthClient::new(channel.clone());
    let mut people_api = PeopleServiceClient::new(channel.clone());
    let mut recs = RecommendationServiceClient::new(channel);
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed.wrapping_mul(1_000_003) ^ worker);
    let mut tally = Tally::default();
    let mut last_recommendation: Option<String> = None;
    while Instant::now() < until {
        let u: f64 = rng.random();
        let op = if baseline {
            Op::Health
        } else if let Some(only) = only {
            // Feedback needs a recommendation to report on: one unmeasured
            // Recommend before each.
            if only == Op::Feedback && last_recommendation.is_none() {
                Op::Recommend
            } else {
                only
            }
        } else if u < args.recommend_share {
            Op::Recommend
        } else if u < args.recommend_share + args.assess_share || last_recommendation.is_none() {
            Op::Assess
        } else {
            Op::Feedback
        };
        let person = &people[rng.random_range(0..people.len())];
        let started = Instant::now();
        let ok = match op {
            Op::Health => health
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .is_ok(),
            Op::Recommend => {
                let minutes = [5, 10, 20, 30][rng.random_range(0..4)];
                match recs
                    .recommend(RecommendRequest {
                        request_id: rid(),
                        person: person.clone(),
                        max_results: 5,
                        context: Some(RecommendationContext {
                            minutes_available: minutes,
                            ..Default::default()
                        }),
                        ..Default::default()
                    })
                    .await
                {
                    Ok(r) => {
                        last_recommendation = r
                            .into_inner()
                            .recommendations
                            .first()
                            .map(|x| x.recommendation_id.clone());
                        true
                    }
                    Err(status) => failed(op, &status),
                }
            }
            Op::Assess => people_api
                .record_assessment(RecordAssessmentRequest {
                    request_id: rid(),
                    person: person.clone(),
                    assessment: Some(assessment(&mut rng, 0.0)),
                })
                .await
                .map_or_else(|status| failed(op, &status), |_| true),
            Op::Feedback => {
                let id = last_recommendation.take().unwrap_or_default();
                recs.record_feedback(RecordFeedbackRequest {
                    request_id: rid(),
                    feedback: Some(Feedback {
                        recommendation_id: id,
                        completion: Completion::Done as i32,
                        helpfulness: Some(rng.random_range(20.0..90.0)),
                        observe_time: Some(now_ts(0.0)),
                        ..Default::default()
                    }),
                })
                .await
                .map_or_else(|status| failed(op, &status), |_| true)
            }
        };
        let measured = only.is_none_or(|o| o == op) || baseline;
        if started >= measure_from && measured {
            tally.record(op, started.elapsed(), ok)?;
        }
    }
    Ok(tally)
}

async fn phase(
    addrs: &[String],
    people: &[String],
    args: &Args,
    baseline: bool,
    only: Option<Op>,
) -> anyhow::Result<(Tally, f64)> {
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(args.warmup);
    let until = measure_from + Duration::from_secs_f64(args.duration);
    let mut tasks = Vec::new();
    for w in 0..args.concurrency {
        tasks.push(tokio::spawn(caller(
            addrs[w % addrs.len()].clone(),
            people.to_vec(),
            args.clone(),
            w as u64,
            baseline,
            only,
            until,
            measure_from,
        )));
    }
    let mut tally = Tally::default();
    for t in tasks {
        tally.merge(t.await??)?;
    }
    Ok((tally, args.duration))
}

fn summarise(h: &Histogram<u64>, errors: u64, seconds: f64, health_p50: f64) -> MethodReport {
    let p50 = h.value_at_quantile(0.5);
    MethodReport {
        calls: h.len(),
        errors,
        throughput_per_s: h.len() as f64 / seconds,
        p50_us: p50,
        p90_us: h.value_at_quantile(0.9),
        p99_us: h.value_at_quantile(0.99),
        p999_us: h.value_at_quantile(0.999),
        max_us: h.max(),
        p50_x_health: p50 as f64 / health_p50.max(1.0),
    }
}

fn git_sha() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| "unknown".to_owned(), |s| s.trim().to_owned())
}

/// In-process servers on one database, each on its own runtime and thread
/// (as separate processes would be), and what keeps their data alive.
struct Servers {
    addrs: Vec<String>,
    stops: Vec<tokio::sync::oneshot::Sender<()>>,
    threads: Vec<std::thread::JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl Servers {
    fn start(
        args: &Args,
        backend: Backend,
        replicas: usize,
        pg_url: Option<&str>,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("tutti-loadgen-")
            .tempdir()?;
        let mut config = tutti_server::config::Config::default();
        config.storage.path = dir.path().join("tutti.db");
        config.storage.commit_batch = args.commit_batch;
        config.pooling.enabled = !args.no_pooling;
        if backend == Backend::Postgres {
            let url = pg_url.context("--backend postgres needs a database")?;
            config.storage.url = Some(tutti_server::config::Secret::new(url));
        }
        let mut servers = Self {
            addrs: Vec::new(),
            stops: Vec::new(),
            threads: Vec::new(),
            _dir: Some(dir),
        };
        for _ in 0..replicas.max(1) {
            let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
            listener.set_nonblocking(true)?;
            servers
                .addrs
                .push(format!("http://{}", listener.local_addr()?));
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            let config = config.clone();
            servers.threads.push(std::thread::spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => return eprintln!("loadgen: replica runtime: {e}"),
                };
                runtime.block_on(async move {
                    let served = match TcpListener::from_std(listener) {
                        Ok(l) => tutti_server::serve(l, config, async move {
                            let _ = rx.await;
                        })
                        .await
                        .map_err(anyhow::Error::from),
                        Err(e) => Err(e.into()),
                    };
                    if let Err(e) = served {
                        eprintln!("loadgen: replica failed: {e:#}");
                    }
                });
            }));
            servers.stops.push(tx);
        }
        Ok(servers)
    }

    fn stop(self) {
        for tx in self.stops {
            let _ = tx.send(());
        }
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// Waits until every address answers health checks (bounded, no fixed sleep).
async fn wait_healthy(addrs: &[String]) -> anyhow::Result<()> {
    for addr in addrs {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(ch) = connect(addr).await
                && HealthClient::new(ch)
                    .check(HealthCheckRequest::default())
                    .await
                    .is_ok()
            {
                break;
            }
            if Instant::now() > deadline {
                bail!("{addr} did not become healthy within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}

/// One row of the judge's table.
#[derive(Debug, Clone, Serialize)]
struct MatrixRow {
    backend: Backend,
    replicas: usize,
    callers: usize,
    method: String,
    #[serde(flatten)]
    report: MethodReport,
    /// Throughput over the health-check baseline's (same server, same callers).
    throughput_x_health: f64,
}

#[derive(Debug, Clone, Serialize)]
struct MatrixReport {
    tool: &'static str,
    git_sha: String,
    started_at_unix_s: u64,
    config: Args,
    cores: usize,
    rows: Vec<MatrixRow>,
}

async fn run_matrix(args: &Args, pg_url: Option<&str>) -> anyhow::Result<Vec<MatrixRow>> {
    let mut rows = Vec::new();
    let setups = [
        (Backend::Sqlite, 1),
        (Backend::Postgres, 1),
        (Backend::Postgres, 2),
    ];
    for (n, (backend, replicas)) in setups.into_iter().enumerate() {
        // A fresh database per setup, so no setup reads another's rows.
        let url = match (backend, pg_url) {
            (Backend::Postgres, Some(base)) => Some(fresh_pg_database(base, n)?),
            _ => None,
        };
        if backend == Backend::Postgres && url.is_none() {
            eprintln!("loadgen: no PostgreSQL: skipping the PostgreSQL rows");
            continue;
        }
        let servers = Servers::start(args, backend, replicas, url.as_deref())?;
        wait_healthy(&servers.addrs).await?;
        eprintln!(
            "loadgen: {backend:?} x{replicas}: creating {} people with {} days of history",
            args.people, args.history
        );
        let people = setup(&servers.addrs[0], args).await?;
        for callers in [1, 8, 64] {
            let args = Args {
                concurrency: callers,
                ..args.clone()
            };
            let (base, secs) = phase(&servers.addrs, &people, &args, true, None).await?;
            let h = base.hist.get(&Op::Health).context("no baseline calls")?;
            let health = summarise(
                h,
                base.errors.get(&Op::Health).copied().unwrap_or(0),
                secs,
                h.value_at_quantile(0.5) as f64,
            );
            let health_p50 = health.p50_us as f64;
            let health_tp = health.throughput_per_s;
            rows.push(MatrixRow {
                backend,
                replicas,
                callers,
                method: Op::Health.name().to_owned(),
                report: health,
                throughput_x_health: 1.0,
            });
            for op in [Op::Recommend, Op::Assess, Op::Feedback] {
                let (t, secs) = phase(&servers.addrs, &people, &args, false, Some(op)).await?;
                let h = t.hist.get(&op).context("no calls")?;
                let report =
                    summarise(h, t.errors.get(&op).copied().unwrap_or(0), secs, health_p50);
                eprintln!(
                    "loadgen: {backend:?} x{replicas} {callers:>2} callers {:<48} {:>8.0}/s p50 {:>6} us ({:>5.1}x health) p99 {:>7} us",
                    op.name(),
                    report.throughput_per_s,
                    report.p50_us,
                    report.p50_x_health,
                    report.p99_us
                );
                rows.push(MatrixRow {
                    backend,
                    replicas,
                    callers,
                    method: op.name().to_owned(),
                    throughput_x_health: report.throughput_per_s / health_tp.max(1e-9),
                    report,
                });
            }
        }
        servers.stop();
    }
    Ok(rows)
}

/// A new database next to the one `base` names (same server and user).
fn fresh_pg_database(base: &str, n: usize) -> anyhow::Result<String> {
    let (prefix, _) = base
        .rsplit_once('/')
        .context("a postgres:// URL with a database")?;
    let name = format!("loadgen_{}_{n}", std::process::id());
    let cluster = PG
        .get()
        .and_then(|c| c.as_ref())
        .context("no cluster to create databases in")?;
    cluster.create_database(&name).map_err(anyhow::Error::msg)?;
    Ok(format!("{prefix}/{name}"))
}

/// The throwaway cluster of this run, if it started one.
static PG: std::sync::OnceLock<Option<tutti_tests::postgres::PgCluster>> =
    std::sync::OnceLock::new();

/// The PostgreSQL database to use: `--postgres-url`, or one on a throwaway
/// cluster (when the PostgreSQL binaries are installed).
fn postgres_url(args: &Args, needed: bool) -> anyhow::Result<Option<String>> {
    if let Some(url) = &args.postgres_url {
        return Ok(Some(url.clone()));
    }
    if !needed {
        return Ok(None);
    }
    let cluster = PG.get_or_init(|| match tutti_tests::postgres::PgCluster::start() {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!("loadgen: cannot start PostgreSQL: {e}");
            None
        }
    });
    match cluster {
        Some(c) => Ok(Some(
            c.create_database("loadgen").map_err(anyhow::Error::msg)?,
        )),
        None => Ok(None),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let shares = args.recommend_share + args.assess_share;
    if !(0.0..=1.0).contains(&args.recommend_share) || !(0.0..=1.0).contains(&shares) {
        bail!("--recommend-share and --assess-share must be in [0, 1] and sum to at most 1");
    }
    if args.people == 0
        || args.concurrency == 0
        || args.duration <= 0.0
        || args.warmup < 0.0
        || args.replicas == 0
    {
        bail!(
            "--people, --concurrency and --replicas must be at least 1, --duration > 0, --warmup >= 0"
        );
    }
    let started_at_unix_s = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if args.matrix {
        let pg = postgres_url(&args, true)?;
        let rows = run_matrix(&args, pg.as_deref()).await?;
        let report = MatrixReport {
            tool: "tutti-loadgen-matrix/1",
            git_sha: git_sha(),
            started_at_unix_s,
            config: args.clone(),
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            rows,
        };
        let json = serde_json::to_string_pretty(&report)?;
        println!("{json}");
        if let Some(path) = &args.out {
            std::fs::write(path, &json).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("loadgen: wrote {}", path.display());
        }
        let errors: u64 = report.rows.iter().map(|r| r.report.errors).sum();
        if errors > 0 {
            bail!("{errors} calls failed; the report above is not a valid measurement");
        }
        return Ok(());
    }
    // In-process servers unless a target is given; kept alive until the end.
    let mut servers = None;
    let addrs = match &args.target {
        Some(t) => vec![t.clone()],
        None => {
            let pg = postgres_url(&args, args.backend == Backend::Postgres)?;
            let s = Servers::start(&args, args.backend, args.replicas, pg.as_deref())?;
            let addrs = s.addrs.clone();
            servers = Some(s);
            addrs
        }
    };
    wait_healthy(&addrs).await?;
    let addr = addrs[0].clone();
    eprintln!(
        "loadgen: {addr}: {} people with {} days of history",
        args.seeded_people.unwrap_or(args.people),
        args.history
    );
    let people = match args.seeded_people {
        Some(n) => (0..n)
            .map(|i| format!("people/{}-{i}", args.seeded_prefix))
            .collect(),
        None => setup(&addr, &args).await?,
    };
    eprintln!(
        "loadgen: baseline (health check), {} callers, {} s",
        args.concurrency, args.duration
    );
    let (base, secs) = phase(&addrs, &people, &args, true, None).await?;
    let health_hist = base.hist.get(&Op::Health).context("no baseline calls")?;
    let health_p50 = health_hist.value_at_quantile(0.5) as f64;
    let baseline_health = summarise(
        health_hist,
        base.errors.get(&Op::Health).copied().unwrap_or(0),
        secs,
        health_p50,
    );
    eprintln!(
        "loadgen: mixed load, {} callers, {} s",
        args.concurrency, args.duration
    );
    let (load, secs) = phase(&addrs, &people, &args, false, None).await?;
    let mut methods = BTreeMap::new();
    let mut total = 0.0;
    for (op, h) in &load.hist {
        let m = summarise(
            h,
            load.errors.get(op).copied().unwrap_or(0),
            secs,
            health_p50,
        );
        total += m.throughput_per_s;
        methods.insert(op.name().to_owned(), m);
    }
    let report = Report {
        tool: "tutti-loadgen/1",
        git_sha: git_sha(),
        started_at_unix_s,
        config: args.clone(),
        cores: std::thread::available_parallelism().map_or(1, usize::from),
        baseline_health,
        methods,
        total_throughput_per_s: total,
    };
    let json = serde_json::to_string_pretty(&report)?;
    println!("{json}");
    if let Some(path) = &args.out {
        std::fs::write(path, &json).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("loadgen: wrote {}", path.display());
    }
    if let Some(s) = servers {
        s.stop();
    }
    // Latencies of failed calls measure the failure, not the service.
    let errors: u64 =
        report.baseline_health.errors + report.methods.values().map(|m| m.errors).sum::<u64>();
    if errors > 0 {
        bail!("{errors} calls failed; the report above is not a valid measurement");
    }
    Ok(())
}

//! The argument groups the tools share (`#[command(flatten)]`), so a flag
//! means the same thing, and is checked the same way, in every tool that
//! takes it:
//!
//! - [`ScenarioArgs`]: the simulated world (`--scenario`, `--scenario-file`,
//!   `--people`, `--weeks`, `--seed`), and [`SeedsArgs`] for the tools that
//!   run several worlds (`--seeds`).
//! - [`LogArgs`]: a tenant's stored log (`--db` or `--url`, `--tenant`,
//!   `--operator`).
//! - [`ThreadsArgs`]: the worker pool (`--threads`).
//!
//! Where a tool's default differs from the group's (`evaluate` simulates 300
//! people for 12 weeks, `train` 2000 for 26, the others the scenario's own),
//! the tool sets it on its command with `mut_arg`, so `--help` shows it.

use crate::bootstrap;
use crate::evaluate::TenantLog;
use anyhow::bail;
use clap::Args;
use std::path::{Path, PathBuf};
use tutti_engine::sim::Scenario;
use tutti_server::convert::ids::TenantId;
use tutti_server::offline::{DecisionLog, LogTables, OfflineAccess};
use tutti_server::storage::postgres::{PgOptions, PgStorage};

/// The simulated world: a shipped scenario or a scenario file, how many
/// people for how many weeks, and the seed that draws them.
#[derive(Debug, Clone, Default, Args)]
pub struct ScenarioArgs {
    /// Named scenario shipped with the engine: default, homogeneous,
    /// individual, low_follow_through, risk_episodes, daily_sampling.
    #[arg(long, value_name = "NAME", conflicts_with = "scenario_file")]
    pub scenario: Option<String>,
    /// Scenario TOML file (fields left out keep their defaults).
    #[arg(long, value_name = "FILE")]
    pub scenario_file: Option<PathBuf>,
    /// People (per seed) [default: the scenario's].
    #[arg(long)]
    pub people: Option<u64>,
    /// Weeks to simulate [default: the scenario's].
    #[arg(long)]
    pub weeks: Option<u32>,
    /// Seed of the world and its people (with `--seeds`, the first) [default: 1].
    #[arg(long)]
    pub seed: Option<u64>,
}

/// A scenario with its size resolved and checked.
#[derive(Debug, Clone)]
pub struct World {
    /// The scenario.
    pub scenario: Scenario,
    /// People (per seed).
    pub people: u64,
    /// Weeks.
    pub weeks: u32,
    /// The (first) seed.
    pub seed: u64,
}

impl ScenarioArgs {
    /// The named scenario, the scenario file, or the default scenario.
    pub fn load(&self) -> anyhow::Result<Scenario> {
        bootstrap::load_scenario(self.scenario.as_deref(), self.scenario_file.as_deref())
    }

    /// The scenario with `--people` and `--weeks` (the scenario's own when
    /// not given) checked.
    pub fn world(&self) -> anyhow::Result<World> {
        let scenario = self.load()?;
        let people = self.people.unwrap_or(scenario.people as u64);
        let weeks = self.weeks.unwrap_or(scenario.weeks);
        if people == 0 {
            bail!("--people must be at least 1");
        }
        if !(1..=520).contains(&weeks) {
            bail!("--weeks must be in 1..=520");
        }
        Ok(World {
            scenario,
            people,
            weeks,
            seed: self.seed.unwrap_or(1),
        })
    }
}

/// [`ScenarioArgs`] run over several seeds (independent worlds), for the
/// tools that report intervals over seeds (`simulate`, `tune --simulated`).
#[derive(Debug, Clone, Default, Args)]
pub struct SeedsArgs {
    /// The world.
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Number of seeds (independent worlds) to run, starting at `--seed`
    /// [default: 5, or 1 when only `--seed` is given].
    #[arg(long, value_name = "N")]
    pub seeds: Option<u32>,
}

impl SeedsArgs {
    /// The seeds to run, in order.
    pub fn seeds(&self) -> anyhow::Result<Vec<u64>> {
        let n = self
            .seeds
            .unwrap_or(if self.scenario.seed.is_some() { 1 } else { 5 });
        if n == 0 {
            bail!("--seeds must be at least 1");
        }
        let first = self.scenario.seed.unwrap_or(1);
        Ok((0..u64::from(n)).map(|i| first + i).collect())
    }
}

/// Who runs a tool that reads a tenant's data, for the tenant's audit trail
/// (see [`tutti_server::offline`]).
#[derive(Debug, Clone, Args)]
pub struct OperatorArgs {
    /// Who runs this: an operator or service-account id (never a patient's),
    /// recorded in the tenant's audit trail before any data are read.
    #[arg(long, env = "TUTTI_OPERATOR", default_value = "cli")]
    pub operator: String,
}

impl OperatorArgs {
    /// The audited access of `tool` to `tenant`.
    pub fn access(&self, tool: &'static str, tenant: &TenantId) -> anyhow::Result<OfflineAccess> {
        let ok = (1..=128).contains(&self.operator.len())
            && self.operator.bytes().all(|b| b.is_ascii_graphic());
        if !ok {
            bail!("--operator must be 1-128 printable ASCII characters without spaces");
        }
        Ok(OfflineAccess {
            tool,
            tenant: tenant.clone(),
            principal: self.operator.clone(),
        })
    }
}

/// A tenant's stored log: a SQLite file a server wrote, or the PostgreSQL
/// database several replicas share, read after an audit row names the
/// operator. Optional here, so a tool can offer it beside `--simulated`;
/// `export`, which reads nothing else, requires one of them and `--tenant`.
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// SQLite database written by `tutti serve` (opened read-only).
    #[arg(long, value_name = "FILE", requires = "tenant", conflicts_with = "url")]
    pub db: Option<PathBuf>,
    /// PostgreSQL database instead (`postgres://…`, as `storage.url`). Read
    /// in one read-only snapshot; connecting migrates its schema to this
    /// version's, as a replica of this version would.
    #[arg(long, value_name = "URL", requires = "tenant")]
    pub url: Option<String>,
    /// Tenant whose data to read.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Who reads it.
    #[command(flatten)]
    pub operator: OperatorArgs,
}

/// Where a tenant's log is stored.
#[derive(Debug, Clone, Copy)]
pub enum LogSource<'a> {
    /// A SQLite file.
    Sqlite(&'a Path),
    /// A PostgreSQL URL.
    Postgres(&'a str),
}

impl LogSource<'_> {
    /// Appends the audit row of `access`, then reads every table of its
    /// tenant from one snapshot. Returns them with a description of the
    /// source for reports (a path, or host, port and database: never the
    /// URL's credentials).
    pub fn read(self, access: &OfflineAccess) -> anyhow::Result<(LogTables, String)> {
        match self {
            LogSource::Sqlite(path) => {
                let tables = DecisionLog::open_audited(path, access)?.read_all(&access.tenant)?;
                Ok((tables, path.display().to_string()))
            }
            LogSource::Postgres(url) => {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(async {
                    let db = PgStorage::open(&PgOptions {
                        url: url.to_owned(),
                        pool_size: 1,
                        tls_ca_path: None,
                    })
                    .await?;
                    let tables = db.read_log(access).await?;
                    Ok((tables, db.target().to_owned()))
                })
            }
        }
    }
}

impl LogArgs {
    /// The store and the tenant, parsed.
    pub fn source(&self) -> anyhow::Result<(LogSource<'_>, TenantId)> {
        let store = match (&self.db, &self.url) {
            (Some(path), None) => LogSource::Sqlite(path),
            (None, Some(url)) => LogSource::Postgres(url),
            (Some(_), Some(_)) => bail!("--db and --url name two logs: give one"),
            (None, None) => bail!("--tenant needs --db or --url"),
        };
        let Some(name) = &self.tenant else {
            bail!("--db and --url need --tenant");
        };
        let tenant =
            TenantId::parse(name).map_err(|e| anyhow::anyhow!("--tenant `{name}`: {e}"))?;
        Ok((store, tenant))
    }

    /// Reads the tenant's whole log for `tool`, after its audit row.
    pub fn read(&self, tool: &'static str) -> anyhow::Result<(LogTables, String, TenantId)> {
        let (store, tenant) = self.source()?;
        let (tables, origin) = store.read(&self.operator.access(tool, &tenant)?)?;
        Ok((tables, origin, tenant))
    }

    /// Reads the tenant's whole log for `tool` (see [`TenantLog::new`]).
    pub fn open(&self, tool: &'static str) -> anyhow::Result<TenantLog> {
        let (tables, origin, tenant) = self.read(tool)?;
        TenantLog::new(tables, origin, tenant)
    }
}

/// The worker pool of the tools that simulate or replay in parallel. Results
/// never depend on its size: work is split in fixed chunks merged in order.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct ThreadsArgs {
    /// Worker threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
}

impl ThreadsArgs {
    /// A rayon pool with `--threads` workers.
    pub fn pool(&self) -> anyhow::Result<rayon::ThreadPool> {
        bootstrap::thread_pool(self.threads)
    }
}

//! The argument groups the tools share (`#[command(flatten)]`), so a flag
//! means the same thing, and is checked the same way, in every tool that
//! takes it:
//!
//! - [`ScenarioArgs`]: the simulated world (`--scenario`, `--scenario-file`,
//!   `--people`, `--weeks`, `--seed`), and [`SeedsArgs`] for the tools that
//!   run several worlds (`--seeds`).
//! - [`LogArgs`]: a tenant's stored log (`--db`, `--tenant`, `--operator`).
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
use tutti_server::offline::OfflineAccess;

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

/// A tenant's stored log: a SQLite file a server wrote, read read-only after
/// an audit row names the operator. Optional here, so a tool can offer it
/// beside `--simulated`; `export`, which reads nothing else, makes both
/// flags required.
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// SQLite database written by `tutti serve` (opened read-only).
    #[arg(long, value_name = "FILE", requires = "tenant")]
    pub db: Option<PathBuf>,
    /// Tenant whose data to read.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Who reads it.
    #[command(flatten)]
    pub operator: OperatorArgs,
}

impl LogArgs {
    /// The database and the tenant, parsed.
    pub fn source(&self) -> anyhow::Result<(&Path, TenantId)> {
        let (Some(path), Some(name)) = (&self.db, &self.tenant) else {
            bail!("--db needs --tenant");
        };
        let tenant =
            TenantId::parse(name).map_err(|e| anyhow::anyhow!("--tenant `{name}`: {e}"))?;
        Ok((path, tenant))
    }

    /// Reads the tenant's whole log for `tool` (see [`TenantLog::open`]).
    pub fn open(&self, tool: &'static str) -> anyhow::Result<TenantLog> {
        let (path, tenant) = self.source()?;
        TenantLog::open(path, &tenant, tool, &self.operator)
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

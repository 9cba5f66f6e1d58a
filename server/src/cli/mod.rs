//! The `tutti` command line. Each subcommand is one module with its clap
//! arguments and a `run` function; `main.rs` only parses and dispatches.
//!
//! # Layout
//! - [`serve`]: `tutti serve`, the gRPC service.
//! - [`audit`]: `tutti audit verify`, the audit trail's hash chains checked.
//! - [`simulate`]: `tutti simulate`, policies on the synthetic population.
//! - [`evaluate`]: `tutti evaluate`, off-policy evaluation of an engine
//!   configuration on a simulated or a stored decision log.
//! - [`export`]: `tutti export`, a tenant's decision log and assessments as
//!   CSV and Parquet.
//! - [`tune`]: `tutti tune`, a search over engine hyperparameters on the
//!   simulator or a decision log, with intervals and a safety constraint.
//! - [`train`]: `tutti train`, a population model artifact from logged events.
//! - [`seed`]: `tutti seed`, many synthetic people with a year of history, to
//!   measure the service at scale.
//! - [`output`], [`columnar`], [`plot`]: CSV/JSON/terminal tables, Parquet
//!   files and SVG/PNG charts shared by the data-science subcommands.

pub mod audit;
pub mod columnar;
pub mod evaluate;
pub mod export;
pub mod output;
pub mod plot;
pub mod seed;
pub mod serve;
pub mod simulate;
pub mod train;
pub mod tune;

use crate::convert::ids::TenantId;
use crate::storage::decision_log::OfflineAccess;
use clap::{Args, Parser, Subcommand};

/// Who runs a tool that reads a tenant's data, for the tenant's audit trail
/// (see [`crate::storage::decision_log`]).
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
            anyhow::bail!("--operator must be 1-128 printable ASCII characters without spaces");
        }
        Ok(OfflineAccess {
            tool,
            tenant: tenant.clone(),
            principal: self.operator.clone(),
        })
    }
}

/// Tutti: recommends the next therapeutic intervention and learns from feedback.
#[derive(Debug, Parser)]
#[command(
    name = "tutti",
    version,
    about = "Tutti: recommends the next therapeutic intervention for a person in therapy and learns from feedback."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the gRPC service.
    Serve(serve::ServeArgs),
    /// Runs policies over a synthetic population with known ground truth and
    /// writes tables and plots.
    Simulate(simulate::SimulateArgs),
    /// Estimates how an engine configuration would have done on logged
    /// decisions (IPS, SNIPS, doubly robust).
    Evaluate(evaluate::EvaluateArgs),
    /// Writes a tenant's decision log and assessments as CSV and Parquet.
    Export(export::ExportArgs),
    /// Fits a population model from logged events and writes a versioned
    /// artifact the server loads.
    Train(train::TrainArgs),
    /// Searches engine hyperparameters on the simulator or a decision log and
    /// writes the best configuration.
    Tune(tune::TuneArgs),
    /// Checks the audit trail (`tutti audit verify`).
    Audit(audit::AuditArgs),
    /// Fills a database with many synthetic people, each with a year of
    /// weekly assessments (for measuring at scale).
    Seed(seed::SeedArgs),
}

impl Cli {
    /// Runs the chosen subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Serve(args) => serve::run(args),
            Command::Simulate(args) => simulate::run(args),
            Command::Evaluate(args) => evaluate::run(args),
            Command::Export(args) => export::run(args),
            Command::Train(args) => train::run(args),
            Command::Tune(args) => tune::run(args),
            Command::Audit(args) => audit::run(args),
            Command::Seed(args) => seed::run(args),
        }
    }
}

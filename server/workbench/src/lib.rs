//! # tutti-workbench
//!
//! The data-science tools of the `tutti` binary: simulation on a synthetic
//! population with known truth, off-policy evaluation, hyperparameter search,
//! training of population models, exports for pandas and polars, and seeding
//! a database at scale; with the CSV, Parquet and chart files they write.
//!
//! It owns the command lines of those tools and everything heavy they need
//! (rayon, plotters with an embedded font, PNG, Parquet), so the serving
//! library `tutti-server` links none of it. The modelling is the engine's
//! (`tutti-engine`); from the server it uses only transport-free parts: the
//! stored log through [`tutti_server::offline`], model artifacts
//! (`tutti_server::model`), the configuration types, and (for `seed`) the
//! `Storage` trait. It must not reach into the server's gRPC, auth or serving
//! code. The `tutti` binary (crate `tutti-cli`) puts [`Command`] beside
//! `serve` and `audit`.
//!
//! # Layout
//! - [`args`]: the argument groups the tools share (scenario, seeds, log
//!   source, operator, threads).
//! - [`bootstrap`]: the one start-up of every tool: logging, worker pool,
//!   scenario, engine configuration, engines.
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
//!   files and SVG/PNG charts shared by the tools.

pub mod args;
pub mod bootstrap;
pub mod columnar;
pub mod evaluate;
pub mod export;
pub mod output;
pub mod plot;
pub mod seed;
pub mod simulate;
pub mod train;
pub mod tune;

use clap::{Parser, Subcommand};

/// The tools' part of the `tutti` command line, parsed on its own: what
/// tests and other programs use to run a tool as `tutti <tool> ...` would.
#[derive(Debug, Parser)]
#[command(name = "tutti")]
pub struct Cli {
    /// The tool.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Runs the tool.
    pub fn run(self) -> anyhow::Result<()> {
        self.command.run()
    }
}

/// The tools (subcommands of `tutti`).
#[derive(Debug, Subcommand)]
pub enum Command {
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
    /// Fills a database with many synthetic people, each with a year of
    /// weekly assessments (for measuring at scale).
    Seed(seed::SeedArgs),
}

impl Command {
    /// Runs the tool, after the shared start-up ([`bootstrap::init_logging`]).
    pub fn run(self) -> anyhow::Result<()> {
        bootstrap::init_logging();
        match self {
            Command::Simulate(args) => simulate::run(args),
            Command::Evaluate(args) => evaluate::run(args),
            Command::Export(args) => export::run(args),
            Command::Train(args) => train::run(args),
            Command::Tune(args) => tune::run(args),
            Command::Seed(args) => seed::run(args),
        }
    }
}

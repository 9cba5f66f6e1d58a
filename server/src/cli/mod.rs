//! The `tutti` command line. Each subcommand is one module with its clap
//! arguments and a `run` function; `main.rs` only parses and dispatches.
//! Data-science subcommands (`simulate`, `evaluate`, `export`, `train`, `tune`)
//! are added here the same way.

pub mod serve;

use clap::{Parser, Subcommand};

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
}

impl Cli {
    /// Runs the chosen subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Serve(args) => serve::run(args),
        }
    }
}

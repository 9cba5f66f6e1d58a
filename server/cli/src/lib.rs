//! # tutti-cli
//!
//! The `tutti` command line: parses it and runs the chosen subcommand. The
//! service (`serve`) and its audit check (`audit`) are the serving library's
//! ([`tutti_server`]); the data-science tools (`simulate`, `evaluate`,
//! `export`, `train`, `tune`, `seed`) are [`tutti_workbench`]'s. This crate
//! only wires them into one binary, so the serving library links none of the
//! tools' dependencies, and owns what a process needs that a library must
//! not do: building the runtime, binding the socket, handling signals.
//!
//! # Layout
//! - [`serve`]: `tutti serve`, the gRPC service.
//! - [`audit`]: `tutti audit verify`, the audit trail's hash chains checked.
//! - `main.rs`: the binary.

pub mod audit;
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
    /// The data-science tools.
    #[command(flatten)]
    Tool(Box<tutti_workbench::Command>),
    /// Checks the audit trail (`tutti audit verify`).
    Audit(audit::AuditArgs),
}

impl Cli {
    /// Runs the chosen subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Serve(args) => serve::run(args),
            Command::Tool(tool) => tool.run(),
            Command::Audit(args) => audit::run(args),
        }
    }
}

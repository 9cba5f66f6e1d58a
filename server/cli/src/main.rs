//! The `tutti` binary: parses the command line and runs it. Wiring only.

use clap::Parser as _;
use std::process::ExitCode;

fn main() -> ExitCode {
    match tutti_cli::Cli::parse().run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the cause chain on one line, without a backtrace.
            eprintln!("tutti: {e:#}");
            ExitCode::FAILURE
        }
    }
}

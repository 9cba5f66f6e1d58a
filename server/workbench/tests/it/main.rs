//! The data-science tools through their command-line code paths, as one test
//! binary with a module per behaviour.

mod evaluate_simulated;
mod simulate_cli;
mod train_cli;
mod train_simulated;
mod tune_cli;

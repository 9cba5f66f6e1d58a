//! # tutti-engine
//!
//! The pure heart of Tutti: what a person's process ratings say about them, what
//! is likely to help them next, and how to learn from what happened after.
//!
//! It owns domain types, catalogues, per-person models, ranking, insights and the
//! simulator. It must not do I/O, read the environment or the clock, spawn
//! threads or depend on tokio/tonic/hyper: time and randomness come in as
//! arguments, so the same state and seed always give the same answer (CI checks
//! `cargo tree -p tutti-engine -e normal`).
//!
//! ## Layout (lower layers first; a module imports only from layers below it)
//! - [`stats`]: the leaf of shared numerics: [`stats::Interval`], `Z90`,
//!   [`stats::Sufficiency`], Gaussian beliefs, normal functions, Cholesky.
//! - [`ids`], [`error`]: id newtypes and time; the error type.
//! - [`observe`], [`catalog`], [`config`]: what the engine is told,
//!   processes and intervention kernels, typed hyperparameters.
//! - [`follow`] (follow-through), [`map`] (the person's process map from their
//!   ratings), [`network`] (the lagged process network, for insights).
//! - [`population`]: the population model, the hierarchy person models shrink toward.
//! - [`model`]: one tenant's configuration, catalogues and population model,
//!   compiled once ([`model::Model`]).
//! - [`state`]: [`state::PersonState`], everything the engine remembers about one person.
//! - [`benefit`]: the person's posterior benefit of every intervention, pooled
//!   through their map (internal).
//! - `learn` (internal): folding assessments, recommendations and feedback into a state.
//! - [`rank`]: ranking with exploration, exact propensities, diversity, safety,
//!   dose and explanations.
//! - [`insights`]: what a person's data show, for clinicians.
//! - [`engine`]: the [`Engine`] facade the server, tools and benches call.
//! - [`sim`]: a synthetic population with ground truth, and baseline policies.
//! - [`ope`]: off-policy evaluation of logged decisions (IPS, SNIPS, DR, diagnostics).
//! - [`train`]: fitting a population model from logs.

pub mod benefit;
pub mod catalog;
pub mod config;
pub mod engine;
pub mod error;
pub mod follow;
mod habituation;
pub mod ids;
pub mod insights;
mod learn;
pub mod map;
pub mod model;
pub mod network;
pub mod observe;
pub mod ope;
pub mod population;
pub mod rank;
pub mod sim;
pub mod state;
pub mod stats;
#[cfg(test)]
mod testkit;
pub mod train;

pub use engine::Engine;
pub use error::{EngineError, Result};

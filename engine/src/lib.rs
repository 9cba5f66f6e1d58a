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
//! ## Layout
//! - [`ids`]: newtypes for process and intervention ids, and [`ids::Timestamp`].
//! - [`catalog`]: processes and intervention kernels, built-in data files and tenant additions.
//! - [`observe`]: what the engine is told: assessments and feedback.
//! - [`config`]: typed hyperparameters ([`config::EngineConfig`]).
//! - [`network`]: the idiographic lagged process network (VAR(1) with shrinkage).
//! - [`response`]: per-person, per-intervention response posteriors and population pooling.
//! - [`follow`]: follow-through probability.
//! - [`state`]: [`state::PersonState`], everything the engine remembers about one person.
//! - `view` (internal): a person as ranking and insights see them now (levels, leverage).
//! - [`rank`]: ranking with exploration, diversity, safety, dose and explanations.
//! - [`insights`]: what a person's data show, for clinicians.
//! - [`engine`]: the [`Engine`] facade the server, tools and benches call.
//! - [`sim`]: a synthetic population with ground truth, and baseline policies.
//! - [`ope`]: off-policy evaluation of logged decisions (IPS, SNIPS, DR, diagnostics).
//! - [`train`]: fitting a population model (priors, reference profiles, follow-through) from logs.

pub mod catalog;
pub mod config;
pub mod engine;
pub mod error;
pub mod follow;
pub mod ids;
pub mod insights;
pub mod network;
pub mod observe;
pub mod ope;
pub mod rank;
pub mod response;
pub mod sim;
pub mod state;
#[cfg(test)]
mod testkit;
pub mod train;
mod view;

pub use engine::Engine;
pub use error::{EngineError, Result};

//! # tutti-server
//!
//! Everything around the engine: gRPC transport, storage, configuration, auth,
//! audit and telemetry. It is the only place where wire types meet domain types
//! and where errors become `tonic::Status`.
//!
//! # Layout
//! - [`config`]: the typed, layered configuration.
//! - [`serve`]: [`serve()`], which runs the service on a bound listener until shutdown.

pub mod config;
pub mod serve;

pub use serve::serve;

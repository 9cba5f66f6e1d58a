//! # tutti-server
//!
//! Everything around the engine: gRPC transport, storage, configuration, auth,
//! audit and telemetry. It is the only place where wire types meet domain types
//! and where errors become `tonic::Status`. It must not contain modelling or
//! ranking logic: that is `tutti-engine`'s.
//!
//! # Layout
//! - [`config`]: the typed, layered configuration (defaults, TOML, `TUTTI_*`, flags).
//! - [`mod@serve`]: [`serve()`], which runs the service on a bound listener until shutdown.
//! - [`grpc`]: one adapter per `tutti.v1` service: parse the request into its
//!   command, run the handler, map the error to a status.
//! - [`command`]: one typed command per RPC, parsed once from its request with
//!   every violation collected.
//! - [`validate`]: the field rules the commands are parsed with.
//! - [`service`]: the handlers (read, engine, store, convert back) behind the
//!   gRPC services and the EHR routes alike, and the person-state loading
//!   (the replay itself is [`offline`]'s).
//! - [`convert`]: wire <-> domain conversions, id newtypes ([`convert::ids`]) and
//!   page tokens ([`convert::page`]).
//! - [`error`]: [`error::ServiceError`], the field [`error::Violations`], and the
//!   one mapping to `tonic::Status` (the one builder of `INVALID_ARGUMENT` with
//!   `google.rpc.BadRequest` among it).
//! - [`middleware`]: the tower stack in front of every service: library layers
//!   where they fit (CORS, request id, trace), one [`middleware::Around`] shape
//!   for Tutti's own (auth, audit, deadline, shedding, call metrics).
//! - [`auth`]: tenant, principal and roles from API keys or bearer JWTs.
//! - [`jwt`]: the one JWT verifier (bearer tokens and the EHR's CDS tokens).
//! - [`audit`]: an audit row per tenant-API call, committed with the write it
//!   records, hash-chained per tenant; refused calls counted.
//! - [`deadline`]: the caller's `grpc-timeout`, honoured down to storage.
//! - [`overload`]: global and per-tenant concurrency limits, shedding with `RetryInfo`.
//! - [`tls`]: TLS and mutual TLS with certificates reloaded while serving.
//! - [`metrics`]: OpenTelemetry metrics, OTLP and Prometheus text.
//! - [`idempotency`]: request ids, stored first responses, concurrency retries.
//! - [`queue`]: one write at a time per person within a replica.
//! - [`engines`]: one cached engine per tenant (built-ins plus its own interventions).
//! - [`model`]: trained model artifacts: format, loading, and hot reload while serving.
//! - [`storage`]: the async storage trait and its backends (SQLite, PostgreSQL).
//! - [`offline`]: the transport-free API offline tools read the stored log
//!   through (audited reads, payload decoding, the one event replay).
//! - [`telemetry`]: log setup, and the request span, log line and ids the
//!   trace and request-id layers use.
//! - [`ehr`]: the EHR integration on the same port: CDS Hooks services, FHIR R4
//!   ingest, the clinician app; with gRPC-Web and CORS set up in [`mod@serve`].

pub mod audit;
pub mod auth;
pub mod command;
pub mod config;
pub mod convert;
pub mod deadline;
pub mod ehr;
pub mod engines;
pub mod error;
pub mod grpc;
pub mod idempotency;
pub mod jwt;
pub mod metrics;
pub mod middleware;
pub mod model;
pub mod offline;
pub mod overload;
pub mod queue;
pub mod serve;
pub mod service;
pub mod storage;
pub mod telemetry;
pub mod tls;
pub mod validate;

pub use serve::{serve, serve_with};

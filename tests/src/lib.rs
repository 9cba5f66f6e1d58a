//! # tutti-tests
//!
//! The integration-test harness: it starts the real Tutti server (the same
//! [`tutti_server::serve()`] the binary runs) on `127.0.0.1:0` over a fresh SQLite
//! file in a temporary directory, waits until `grpc.health.v1` reports SERVING,
//! and hands out typed gRPC clients that talk to it over loopback.
//!
//! It owns only test plumbing: it must not reach into the server's internals
//! (storage, engine) — every test sees the service exactly as a client does.
//!
//! # Layout
//! - [`server`]: [`TestServer`]: start, restart on the same data file, stop.
//! - [`fixtures`]: valid requests (assessments, interventions, people) and ids.
//! - [`audit`]: a tenant's audit rows read from the data file, and `tutti audit verify`.
//! - [`assertions`]: status codes, `google.rpc.BadRequest` field violations, estimates.
//! - [`db_files`]: a SQLite database's files read raw (is a marker's byte left?).
//! - [`decision_log`]: a small decision log written through the server, for the offline tools.
//! - [`pki`]: throwaway CAs and certificates for the TLS tests.
//! - [`raw`]: calls with raw bodies, and calls held open (load).
//! - [`jwt`]: JWTs signed with the test keys (CDS Hooks and access tokens),
//!   shared with the process tests of `tutti-cli`.
//! - [`tokens`]: the login issuer of the bearer-JWT tests, and its access tokens.
//! - [`ehr`]: a pretend EHR: signed CDS Hooks JWTs, FHIR fixtures, an HTTP
//!   client, the CDS Hooks response rules, a small real FHIR server.
//! - [`smart`]: a pretend EHR authorization server for SMART App Launch, and
//!   a browser that follows redirects by hand.
//! - [`postgres`]: a throwaway PostgreSQL cluster the tests start themselves.
//!
//! The test targets live in `tests/*.rs`, one file per behaviour.

pub mod assertions;
pub mod audit;
pub mod db_files;
pub mod decision_log;
pub mod ehr;
pub mod fixtures;
pub mod jwt;
pub mod pki;
pub mod postgres;
pub mod raw;
pub mod server;
pub mod smart;
pub mod tokens;

pub use server::{CatalogClient, Headers, PeopleClient, RecommendationClient, TestServer};

//! The `tutti` binary as a process (cargo builds it for the tests of the
//! package that owns it): one test binary, one module per behaviour, for what
//! a task cannot show: SIGTERM, kill -9, refusals at start-up, a disk that
//! fills up, several replicas on one PostgreSQL database, what the process
//! exports over OTLP, a start with TLS and keys and a certificate reloaded on
//! SIGHUP, bearer JWTs checked against a JWK Set file rotated while serving,
//! error details as they cross a real socket, stored responses expiring and
//! erased data gone from the files a running process keeps open, the
//! `audit verify` subcommand against a tampered copy of what `serve` wrote.

mod support;

mod audit_verify;
mod bearer_jwt;
mod data_lifecycle;
mod error_details;
mod full_disk;
mod graceful_shutdown;
mod kill_9;
mod otlp_export;
mod refuses_insecure_start;
mod replicas;
mod secure_start;

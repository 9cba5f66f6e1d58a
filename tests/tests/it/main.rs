//! The integration tests of `tutti-tests`, linked as one binary: one module per
//! behaviour (each module's docs say which), so cargo links one test executable
//! instead of one per file. Run one behaviour with a module filter, e.g.
//! `cargo test -p tutti-tests --test it pooling::`.
//!
//! `telemetry` and `ehr_logs_no_secrets` stay separate binaries: each installs
//! the process-wide `tracing` subscriber, which here would also capture every
//! other test running beside it.

mod assessments;
mod audit;
mod audit_atomic;
mod audit_chain;
mod auth;
mod batch_backfill;
mod bearer_jwt;
mod catalog;
mod cds_cards;
mod cds_discovery;
mod cds_feedback;
mod cds_jwt;
mod data_lifecycle;
mod deadline;
mod decode_fuzz;
mod delete_erases;
mod durability_restart;
mod ehr_app_api;
mod ehr_audit;
mod ehr_end_to_end;
mod error_details;
mod evaluate_decision_log;
mod export_round_trip;
mod feedback;
mod feedback_learning;
mod fhir_ingest;
mod grpc_web_cors;
mod health_reflection;
mod idempotency;
mod insights;
mod limits;
mod model_reload;
mod offline_postgres;
mod overload;
mod people;
mod pooling;
mod postgres_tls;
mod recommend;
mod safety;
mod shadow_mode;
mod sim_over_grpc;
mod smart_launch;
mod storage_contract;
mod tenancy;
mod tls;
mod train_decision_log;
mod tune_decision_log;
mod validation;

//! The audit trail as the offline tools see it: a tenant's rows read from a
//! data file, and `tutti audit verify` run in-process over it. For the tests
//! that check what was audited after the server wrote it.

use clap::Parser as _;
use std::path::Path;
use tutti_cli::Cli;
use tutti_server::convert::ids::TenantId;
use tutti_server::storage::AuditRow;
use tutti_server::storage::decision_log::DecisionLog;

/// `tenant`'s audit rows in the data file at `path`, oldest first.
pub fn trail(path: &Path, tenant: &str) -> Vec<AuditRow> {
    let tenant = TenantId::parse(tenant).expect("tenant id");
    DecisionLog::open(path)
        .expect("opens")
        .snapshot(|s| s.audit(&tenant))
        .expect("reads the audit trail")
}

/// `tutti audit verify --db path`: every tenant's hash chain checked; the
/// error's whole chain of causes if one does not verify.
pub fn verify(path: &Path) -> Result<(), String> {
    Cli::try_parse_from([
        "tutti",
        "audit",
        "verify",
        "--db",
        path.to_str().expect("utf-8"),
    ])
    .expect("arguments parse")
    .run()
    .map_err(|e| format!("{e:#}"))
}

//! `tutti audit verify`: walks every tenant's audit hash chain in a database
//! file, or a PostgreSQL database with `--url` (read-only; safe beside a
//! running server) and reports the first
//! changed, removed or reordered row of each, and each chain's head to anchor
//! elsewhere (`--expect` checks a head recorded earlier, which catches a
//! rewrite of a whole chain).

use anyhow::Context as _;
use clap::{Args, Subcommand};
use rusqlite::{Connection, OpenFlags, OptionalExtension as _, params};
use std::path::PathBuf;
use tutti_server::storage::audit_chain;
use tutti_server::storage::postgres::{PgOptions, PgStorage};

/// Arguments of `tutti audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: AuditCommand,
}

/// The audit subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verifies the per-tenant hash chains; exits non-zero on any break.
    Verify(VerifyArgs),
}

/// Arguments of `tutti audit verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The SQLite database file.
    #[arg(long, value_name = "PATH", default_value = "tutti.db")]
    pub db: PathBuf,
    /// A PostgreSQL database instead (`postgres://…`, as `storage.url`).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Only this tenant's chain.
    #[arg(long)]
    pub tenant: Option<String>,
    /// A head recorded earlier, `TENANT:SEQ:HASH`: the chain must still hold
    /// that row with that hash. Repeatable.
    #[arg(long, value_name = "TENANT:SEQ:HASH")]
    pub expect: Vec<String>,
}

/// Runs `tutti audit`.
pub fn run(args: AuditArgs) -> anyhow::Result<()> {
    match args.command {
        AuditCommand::Verify(v) => verify(v),
    }
}

/// Prints each chain's verdict; returns how many are broken.
fn print_reports(reports: &[audit_chain::ChainReport]) -> usize {
    let mut broken = 0;
    for r in reports {
        let name = if r.tenant.is_empty() {
            "(unauthenticated)"
        } else {
            r.tenant.as_str()
        };
        match &r.problem {
            None => println!(
                "ok      tenant {name}: {} rows, head {}:{}",
                r.rows, r.head.0, r.head.1
            ),
            Some(p) => {
                broken += 1;
                println!("BROKEN  tenant {name}: {p}");
            }
        }
    }
    broken
}

fn verify_postgres(url: &str, args: &VerifyArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.expect.is_empty(),
        "--expect is checked on SQLite files only; compare the heads printed here instead"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let reports = runtime.block_on(async {
        let db = PgStorage::open(&PgOptions {
            url: url.to_owned(),
            pool_size: 1,
            tls_ca_path: None,
        })
        .await?;
        db.verify_audit(args.tenant.as_deref()).await
    })?;
    let broken = print_reports(&reports);
    if broken > 0 {
        anyhow::bail!("{broken} audit chain check(s) failed");
    }
    println!("all audit chains verify ({} tenants)", reports.len());
    Ok(())
}

fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    if let Some(url) = &args.url {
        return verify_postgres(url, &args);
    }
    let conn = Connection::open_with_flags(
        &args.db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("opening {}", args.db.display()))?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version < 4 {
        anyhow::bail!(
            "{} has schema version {version}: its audit rows are chained when a server (version 4 or later) first opens it",
            args.db.display()
        );
    }
    // One snapshot for the whole walk, so rows appended meanwhile cannot look like breaks.
    conn.execute_batch("BEGIN")?;
    let reports = audit_chain::verify(&conn, args.tenant.as_deref())?;
    let mut broken = print_reports(&reports);
    for e in &args.expect {
        let mut parts = e.splitn(3, ':');
        let (Some(tenant), Some(seq), Some(hash)) = (parts.next(), parts.next(), parts.next())
        else {
            anyhow::bail!("--expect takes TENANT:SEQ:HASH, got `{e}`");
        };
        let seq: i64 = seq.parse().context("--expect: SEQ is a number")?;
        let stored: Option<String> = conn
            .query_row(
                "SELECT hash FROM audit WHERE tenant = ?1 AND tenant_seq = ?2",
                params![tenant, seq],
                |r| r.get(0),
            )
            .optional()?;
        if stored.as_deref() == Some(hash) {
            println!("ok      tenant {tenant}: row {seq} matches the expected head");
        } else {
            broken += 1;
            println!(
                "BROKEN  tenant {tenant}: row {seq} does not match the expected head (chain rewritten)"
            );
        }
    }
    conn.execute_batch("COMMIT")?;
    if broken > 0 {
        anyhow::bail!("{broken} audit chain check(s) failed");
    }
    println!("all audit chains verify ({} tenants)", reports.len());
    Ok(())
}

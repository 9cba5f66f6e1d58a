//! The per-tenant hash chain over audit rows, and its verification
//! (`tutti audit verify`). Shared by the server's writer and the offline
//! tools, which append their own rows to the same chains.
//!
//! A row's hash is SHA-256 over the previous row's hash and every field of the
//! row, each length-prefixed so no two different rows encode alike. Appending
//! reads the tenant's head from `audit_heads` and must run inside an
//! `IMMEDIATE` transaction (one writer at a time), so two appends never link
//! to the same predecessor.

use super::{AuditRow, Result, StorageError};
use crate::convert::hex;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use tutti_engine::ids::Timestamp;

/// `prev_hash` of a tenant's first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Classified as the data writes are: the audit row shares their
/// transaction, so a full disk is `Full` here too, not a backend defect.
fn db(e: rusqlite::Error) -> StorageError {
    super::sqlite::db(e)
}

fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

/// The hash of `row` as the `seq`-th row of its tenant after `prev`.
pub fn row_hash(prev: &str, seq: i64, row: &AuditRow) -> String {
    let mut h = Sha256::new();
    field(&mut h, b"tutti.audit.v1");
    field(&mut h, prev.as_bytes());
    field(&mut h, row.tenant.as_bytes());
    field(&mut h, &seq.to_be_bytes());
    field(&mut h, &row.time.0.to_be_bytes());
    field(&mut h, row.principal.as_bytes());
    field(&mut h, row.method.as_bytes());
    field(&mut h, row.resource.as_bytes());
    field(&mut h, &row.code.to_be_bytes());
    field(&mut h, row.call_id.as_bytes());
    match &row.request_id {
        Some(r) => {
            field(&mut h, b"1");
            field(&mut h, r.as_bytes());
        }
        None => field(&mut h, b"0"),
    }
    field(&mut h, row.trace_id.as_bytes());
    field(&mut h, &row.count.to_be_bytes());
    hex(&h.finalize())
}

fn head(conn: &Connection, tenant: &str) -> Result<(i64, String)> {
    // Cached, like the insert below: the chain is extended on every write.
    Ok(conn
        .prepare_cached("SELECT seq, hash FROM audit_heads WHERE tenant = ?1")
        .and_then(|mut s| {
            s.query_row(params![tenant], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(db)?
        .unwrap_or_else(|| (0, GENESIS.to_owned())))
}

fn set_head(conn: &Connection, tenant: &str, seq: i64, hash: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit_heads (tenant, seq, hash) VALUES (?1, ?2, ?3)
         ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
    )
    .and_then(|mut s| s.execute(params![tenant, seq, hash]))
    .map_err(db)?;
    Ok(())
}

/// Appends `row` to its tenant's chain. Call inside an `IMMEDIATE` transaction.
pub fn append(conn: &Connection, row: &AuditRow) -> Result<()> {
    let (last, prev) = head(conn, &row.tenant)?;
    let seq = last + 1;
    let hash = row_hash(&prev, seq, row);
    conn.prepare_cached(
        "INSERT INTO audit (time, tenant, principal, method, resource, code, call_id, request_id,
                            trace_id, count, tenant_seq, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )
    .map_err(db)?
    .execute(params![
        row.time.0,
        row.tenant,
        row.principal,
        row.method,
        row.resource,
        row.code,
        row.call_id,
        row.request_id,
        row.trace_id,
        row.count,
        seq,
        prev,
        hash
    ])
    .map_err(db)?;
    set_head(conn, &row.tenant, seq, &hash)
}

const SELECT: &str = "SELECT seq, time, tenant, principal, method, resource, code, call_id,
                             request_id, trace_id, count, tenant_seq, prev_hash, hash
                      FROM audit";

struct Stored {
    seq: i64,
    row: AuditRow,
    tenant_seq: Option<i64>,
    prev_hash: Option<String>,
    hash: Option<String>,
}

fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Stored> {
    Ok(Stored {
        seq: r.get(0)?,
        row: AuditRow {
            time: Timestamp(r.get(1)?),
            tenant: r.get(2)?,
            principal: r.get(3)?,
            method: r.get(4)?,
            resource: r.get(5)?,
            code: r.get(6)?,
            call_id: r.get(7)?,
            request_id: r.get(8)?,
            trace_id: r.get(9)?,
            count: r.get(10)?,
        },
        tenant_seq: r.get(11)?,
        prev_hash: r.get(12)?,
        hash: r.get(13)?,
    })
}

/// Chains rows written before schema version 4, in their order. Call inside
/// an `IMMEDIATE` transaction; returns how many rows it chained.
pub fn backfill(conn: &Connection) -> Result<usize> {
    let legacy = conn
        .prepare(&format!("{SELECT} WHERE hash IS NULL ORDER BY seq"))
        .map_err(db)?
        .query_map([], read)
        .map_err(db)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db)?;
    for s in &legacy {
        let (last, prev) = head(conn, &s.row.tenant)?;
        let seq = last + 1;
        let hash = row_hash(&prev, seq, &s.row);
        conn.execute(
            "UPDATE audit SET tenant_seq = ?1, prev_hash = ?2, hash = ?3 WHERE seq = ?4",
            params![seq, prev, hash, s.seq],
        )
        .map_err(db)?;
        set_head(conn, &s.row.tenant, seq, &hash)?;
    }
    Ok(legacy.len())
}

/// What verification found for one tenant's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// The tenant (empty: calls refused before any tenant was established).
    pub tenant: String,
    /// Rows read.
    pub rows: u64,
    /// The last row's tenant sequence number and hash, to anchor elsewhere.
    pub head: (i64, String),
    /// The first break found, if any.
    pub problem: Option<String>,
}

/// Checks one tenant's chain row by row, in insertion order; shared by the
/// SQLite walk below and the PostgreSQL one
/// ([`crate::storage::postgres::PgStorage::verify_audit`]).
#[derive(Debug)]
pub struct ChainWalk {
    report: ChainReport,
}

impl ChainWalk {
    /// Starts the walk of `tenant`'s chain.
    pub fn new(tenant: &str) -> Self {
        Self {
            report: ChainReport {
                tenant: tenant.to_owned(),
                rows: 0,
                head: (0, GENESIS.to_owned()),
                problem: None,
            },
        }
    }

    /// The next stored row: its global sequence number, its chain fields
    /// (`None` for a row never chained) and its content.
    pub fn push(
        &mut self,
        global_seq: i64,
        chained: Option<(i64, String, String)>,
        row: &AuditRow,
    ) {
        let report = &mut self.report;
        report.rows += 1;
        if report.problem.is_some() {
            return;
        }
        let expected = report.head.0 + 1;
        let Some((seq, prev, hash)) = chained else {
            report.problem = Some(format!("row {global_seq} is not chained"));
            return;
        };
        if seq > expected {
            report.problem = Some(format!(
                "rows {expected}..{} are missing (removed) before row {seq}",
                seq - 1
            ));
        } else if seq < expected {
            report.problem = Some(format!(
                "row {seq} appears after row {} (rows reordered)",
                expected - 1
            ));
        } else if prev != report.head.1 {
            report.problem = Some(format!(
                "row {seq} does not link to row {} (a row before it was changed or removed)",
                expected - 1
            ));
        } else if row_hash(&prev, seq, row) != hash {
            report.problem = Some(format!("row {seq} was changed after it was written"));
        }
        report.head = (seq, hash);
    }

    /// Ends the walk against the stored head of the chain.
    pub fn finish(mut self, head_seq: i64, head_hash: &str) -> ChainReport {
        let report = &mut self.report;
        if report.problem.is_none()
            && (head_seq, head_hash) != (report.head.0, report.head.1.as_str())
        {
            report.problem = Some(format!(
                "the chain ends at row {} but {head_seq} rows were written (rows removed at the end)",
                report.head.0
            ));
        }
        self.report
    }
}

/// Walks every tenant's chain (or only `only`'s) in insertion order.
pub fn verify(conn: &Connection, only: Option<&str>) -> Result<Vec<ChainReport>> {
    let mut tenants: Vec<String> = conn
        .prepare(
            "SELECT tenant FROM audit_heads UNION SELECT DISTINCT tenant FROM audit ORDER BY 1",
        )
        .map_err(db)?
        .query_map([], |r| r.get(0))
        .map_err(db)?
        .collect::<rusqlite::Result<_>>()
        .map_err(db)?;
    if let Some(t) = only {
        tenants.retain(|x| x == t);
    }
    let mut out = Vec::new();
    for tenant in tenants {
        let mut stmt = conn
            .prepare(&format!("{SELECT} WHERE tenant = ?1 ORDER BY seq"))
            .map_err(db)?;
        let rows = stmt.query_map(params![tenant], read).map_err(db)?;
        let mut walk = ChainWalk::new(&tenant);
        for stored in rows {
            let s = stored.map_err(db)?;
            let chained = match (s.tenant_seq, s.prev_hash, s.hash) {
                (Some(seq), Some(prev), Some(hash)) => Some((seq, prev, hash)),
                _ => None,
            };
            walk.push(s.seq, chained, &s.row);
        }
        let (head_seq, head_hash) = head(conn, &tenant)?;
        out.push(walk.finish(head_seq, &head_hash));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(tenant: &str, code: i32) -> AuditRow {
        AuditRow {
            time: Timestamp(1),
            tenant: tenant.into(),
            principal: "p".into(),
            method: "/m".into(),
            resource: "people/x".into(),
            code,
            call_id: "c".into(),
            request_id: None,
            trace_id: String::new(),
            count: 1,
        }
    }

    #[test]
    fn every_field_changes_the_hash() {
        let base = row_hash(GENESIS, 1, &row("a", 0));
        assert_ne!(base, row_hash(GENESIS, 2, &row("a", 0)));
        assert_ne!(base, row_hash(GENESIS, 1, &row("b", 0)));
        assert_ne!(base, row_hash(GENESIS, 1, &row("a", 5)));
        let mut r = row("a", 0);
        r.request_id = Some(String::new());
        assert_ne!(
            base,
            row_hash(GENESIS, 1, &r),
            "None differs from an empty id"
        );
        assert_ne!(base, row_hash(&"1".repeat(64), 1, &row("a", 0)));
    }
}

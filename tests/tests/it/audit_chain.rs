//! Behaviour: reads and writes are audited with the caller's trace id; each
//! tenant's rows form a hash chain that `tutti audit verify` checks, and it
//! catches a row changed, removed (in the middle or at the end) or reordered
//! in the SQLite file, even by someone who dropped the append-only triggers;
//! calls refused as unauthenticated and calls shed under overload are
//! counted into summary rows, each with one log line per window, not written
//! one by one.

use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use tonic::Code;
use tutti_proto::v1::{GetPersonRequest, ListProcessesRequest};
use tutti_server::config::ApiKeyConfig;
use tutti_server::storage::AuditRow;
use tutti_tests::TestServer;
use tutti_tests::audit::{trail, verify};
use tutti_tests::fixtures::{new_person, now, record_assessment, valid_assessment};
use tutti_tests::raw::hold_until_refused;
use tutti_tests::{Headers, assertions::expect_code};

fn trace_header(trace_id: &str) -> String {
    format!("00-{trace_id}-00f067aa0ba902b7-01")
}

#[tokio::test]
async fn reads_and_writes_are_audited_with_the_callers_trace_id() {
    let mut server = TestServer::start().await.expect("server starts");
    let write_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let read_trace = "0af7651916cd43dd8448eb211c80319c";
    let mut people = server
        .people_with(Headers::tenant("clinic-a").with("traceparent", &trace_header(write_trace)));
    let person = new_person(&mut people).await;
    server
        .people_with(Headers::tenant("clinic-a").with("traceparent", &trace_header(read_trace)))
        .get_person(GetPersonRequest {
            name: person.clone(),
        })
        .await
        .expect("read");
    server.shutdown().await.expect("stops");
    let rows = trail(server.data_path(), "clinic-a");
    let by_trace =
        |t: &str| -> Vec<&AuditRow> { rows.iter().filter(|r| r.trace_id == t).collect() };
    let writes = by_trace(write_trace);
    assert_eq!(writes.len(), 1, "{rows:?}");
    assert!(writes[0].method.ends_with("/CreatePerson"));
    assert_eq!(writes[0].resource, person);
    assert!(
        writes[0].request_id.is_some(),
        "a write's row names its request id"
    );
    let reads = by_trace(read_trace);
    assert_eq!(reads.len(), 1, "the read is audited too: {rows:?}");
    assert!(reads[0].method.ends_with("/GetPerson"));
    assert_eq!(
        (reads[0].code, reads[0].resource.as_str()),
        (0, person.as_str())
    );
    // Calls without a traceparent still get a trace id of their own.
    assert!(rows.iter().all(|r| r.trace_id.len() == 32), "{rows:?}");
    verify(server.data_path()).expect("the untouched chain verifies");
}

/// A copy of the database to tamper with, and a connection to it with the
/// append-only triggers dropped (as an attacker with the file would).
fn tampered_copy(src: &Path, dir: &Path, name: &str) -> (std::path::PathBuf, Connection) {
    let dst = dir.join(name);
    std::fs::copy(src, &dst).expect("copy the database");
    let conn = Connection::open(&dst).expect("open the copy");
    conn.execute_batch("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;")
        .expect("drop the triggers");
    (dst, conn)
}

fn seq_of(conn: &Connection, tenant_seq: i64) -> i64 {
    conn.query_row(
        "SELECT seq FROM audit WHERE tenant = 'clinic-a' AND tenant_seq = ?1",
        params![tenant_seq],
        |r| r.get(0),
    )
    .expect("row exists")
}

#[tokio::test]
async fn audit_verify_detects_a_changed_removed_or_reordered_row() {
    let mut server = TestServer::start().await.expect("server starts");
    let mut people = server.people_as("clinic-a");
    let person = new_person(&mut people).await;
    for _ in 0..3 {
        record_assessment(&mut people, &person, valid_assessment(now())).await;
    }
    people
        .get_person(GetPersonRequest {
            name: person.clone(),
        })
        .await
        .expect("read");
    // A clean stop checkpoints the WAL into the file, which is then copied whole.
    server.shutdown().await.expect("stops");
    let db = server.data_path().to_path_buf();
    verify(&db).expect("the untouched chain verifies");
    let n = trail(&db, "clinic-a").len() as i64;
    assert!(n >= 5, "{n} rows");

    // The triggers stop a casual edit.
    let guarded = Connection::open(&db).expect("open");
    assert!(
        guarded
            .execute(
                "UPDATE audit SET principal = 'mallory' WHERE tenant_seq = 2",
                []
            )
            .is_err(),
        "an audit row was updated in place"
    );
    assert!(
        guarded
            .execute("DELETE FROM audit WHERE tenant_seq = 2", [])
            .is_err()
    );
    drop(guarded);

    let dir = tempfile::tempdir().expect("temp dir");
    let (changed, conn) = tampered_copy(&db, dir.path(), "changed.db");
    conn.execute(
        "UPDATE audit SET code = 7 WHERE tenant = 'clinic-a' AND tenant_seq = 3",
        [],
    )
    .expect("change a row");
    drop(conn);
    let e = verify(&changed).expect_err("a changed row is detected");
    assert!(e.contains("failed"), "{e}");

    let (removed, conn) = tampered_copy(&db, dir.path(), "removed.db");
    conn.execute(
        "DELETE FROM audit WHERE tenant = 'clinic-a' AND tenant_seq = 2",
        [],
    )
    .expect("remove a row");
    drop(conn);
    verify(&removed).expect_err("a removed row is detected");

    let (truncated, conn) = tampered_copy(&db, dir.path(), "truncated.db");
    conn.execute(
        "DELETE FROM audit WHERE tenant = 'clinic-a' AND tenant_seq = ?1",
        params![n],
    )
    .expect("remove the last row");
    drop(conn);
    verify(&truncated).expect_err("a row removed from the end is detected");

    let (reordered, conn) = tampered_copy(&db, dir.path(), "reordered.db");
    let (a, b) = (seq_of(&conn, 2), seq_of(&conn, 3));
    conn.execute_batch(&format!(
        "UPDATE audit SET seq = -1 WHERE seq = {a};
         UPDATE audit SET seq = {a} WHERE seq = {b};
         UPDATE audit SET seq = {b} WHERE seq = -1;"
    ))
    .expect("swap two rows");
    drop(conn);
    verify(&reordered).expect_err("reordered rows are detected");
}

fn key(secret: &str, tenant: &str) -> ApiKeyConfig {
    ApiKeyConfig {
        sha256: Sha256::digest(secret.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        tenant: tenant.to_owned(),
        principal: None,
        roles: None,
    }
}

/// What the audit module logs at WARN (its summary lines), as JSON lines,
/// for as long as the guard lives. `#[tokio::test]` runs the server's tasks on
/// the test's own thread, so a thread-scoped subscriber sees the audit
/// writer's lines and no other test's.
#[derive(Clone, Default)]
struct AuditLog(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for AuditLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl AuditLog {
    fn capture() -> (Self, tracing::subscriber::DefaultGuard) {
        let log = Self::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_env_filter("tutti_server::audit=warn")
            .with_writer(move || writer.clone())
            .finish();
        (log, tracing::subscriber::set_default(subscriber))
    }

    /// `(tenant, method, code, count)` of each summary line, sorted.
    fn summaries(&self) -> Vec<Summary> {
        let bytes = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut lines = String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| {
                v["fields"]["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("calls refused"))
            })
            .map(|v| {
                let f = &v["fields"];
                (
                    f["tenant"].as_str().unwrap_or_default().to_owned(),
                    f["method"].as_str().unwrap_or_default().to_owned(),
                    f["code"].as_i64().unwrap_or(-1),
                    f["count"].as_i64().unwrap_or(-1),
                )
            })
            .collect::<Vec<_>>();
        lines.sort();
        lines
    }
}

/// `(tenant, method, code, count)` of a summary row or log line.
type Summary = (String, String, i64, i64);

/// The audit rows with `code`, as [`Summary`]s, sorted.
fn summary_rows(db: &Path, code: Code) -> Vec<Summary> {
    let conn = Connection::open(db).expect("open");
    let mut stmt = conn
        .prepare(
            "SELECT tenant, method, code, count FROM audit WHERE code = ?1 ORDER BY 1, 2, 3, 4",
        )
        .expect("prepare");
    stmt.query_map(params![code as i32], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })
    .expect("query")
    .collect::<rusqlite::Result<_>>()
    .expect("rows")
}

#[tokio::test]
async fn unauthenticated_calls_are_counted_not_written_one_by_one() {
    const REFUSED: usize = 40;
    let mut server = TestServer::start_with(|c| {
        c.auth.api_keys = vec![key("acme-secret-key-0123456789", "acme")];
        c.audit.summary_seconds = 3600;
    })
    .await
    .expect("server starts");
    let (log, guard) = AuditLog::capture();
    for i in 0..REFUSED {
        let headers = if i % 2 == 0 {
            Headers::none()
        } else {
            Headers::bearer("not-a-key")
        };
        let r = server
            .catalog_with(headers)
            .list_processes(ListProcessesRequest {})
            .await;
        expect_code(r, Code::Unauthenticated, "refused");
    }
    // Stopping flushes the window's summary.
    server.shutdown().await.expect("stops");
    // One window: one log line per summary row, with the same count.
    assert_eq!(
        log.summaries(),
        summary_rows(server.data_path(), Code::Unauthenticated),
        "summary log lines and rows"
    );
    drop(guard);
    let conn = Connection::open(server.data_path()).expect("open");
    let (rows, calls): (i64, i64) = conn
        .query_row(
            "SELECT count(*), coalesce(sum(count), 0) FROM audit WHERE code = ?1",
            params![Code::Unauthenticated as i32],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("query");
    assert_eq!(calls, REFUSED as i64, "every refused call is counted");
    assert!(
        rows <= 2,
        "{rows} rows for {REFUSED} refused calls: not summarised"
    );
    drop(conn);
    verify(server.data_path()).expect("summary rows are chained too");
}

#[tokio::test]
async fn shed_calls_are_counted_not_written_one_by_one() {
    const SHED: usize = 30;
    let mut server = TestServer::start_with(|c| {
        c.limits.max_in_flight = 1;
        c.limits.queue_ms = 0;
        c.audit.summary_seconds = 3600;
    })
    .await
    .expect("server starts");
    let (log, guard) = AuditLog::capture();
    let list = || {
        let mut catalog = server.catalog_as("tenant-b");
        async move {
            catalog
                .list_processes(ListProcessesRequest {})
                .await
                .map(drop)
        }
    };
    // The first refusal, then more while the held call keeps the one slot.
    let (held, first) = hold_until_refused(server.channel(), "tenant-a", list).await;
    assert_eq!(first.code(), Code::Unavailable, "{first:?}");
    for _ in 1..SHED {
        let shed = list().await.expect_err("a call while the slot is held");
        assert_eq!(shed.code(), Code::Unavailable, "{shed:?}");
    }
    held.release().await;
    server.shutdown().await.expect("stops");
    // tenant-b's only: a held call of tenant-a that lost the race for the
    // slot to a probe was shed too (and opened again).
    let of_b = |rows: Vec<Summary>| -> Vec<Summary> {
        rows.into_iter().filter(|r| r.0 == "tenant-b").collect()
    };
    let rows = of_b(summary_rows(server.data_path(), Code::Unavailable));
    assert_eq!(
        rows.iter().map(|r| r.3).sum::<i64>(),
        SHED as i64,
        "every shed call is counted: {rows:?}"
    );
    assert_eq!(rows.len(), 1, "{SHED} shed calls: not summarised: {rows:?}");
    let logged: Vec<Summary> = of_b(log.summaries())
        .into_iter()
        .filter(|l| l.2 == Code::Unavailable as i64)
        .collect();
    assert_eq!(logged, rows, "one summary log line per summary row");
    drop(guard);
    verify(server.data_path()).expect("summary rows are chained too");
}

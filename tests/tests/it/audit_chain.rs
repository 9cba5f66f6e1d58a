//! Behaviour: reads and writes are audited with the caller's trace id; each
//! tenant's rows form a hash chain that `tutti audit verify` checks, and it
//! catches a row changed, removed (in the middle or at the end) or reordered
//! in the SQLite file, even by someone who dropped the append-only triggers;
//! calls refused as unauthenticated are counted into summary rows, not
//! written one by one.

use clap::Parser as _;
use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};
use std::path::Path;
use tonic::Code;
use tutti_cli::Cli;
use tutti_proto::v1::{GetPersonRequest, ListProcessesRequest};
use tutti_server::config::ApiKeyConfig;
use tutti_server::convert::ids::TenantId;
use tutti_server::storage::AuditRow;
use tutti_server::storage::decision_log::DecisionLog;
use tutti_tests::TestServer;
use tutti_tests::fixtures::{new_person, now, record_assessment, valid_assessment};
use tutti_tests::{Headers, assertions::expect_code};

fn trail(path: &Path, tenant: &str) -> Vec<AuditRow> {
    let tenant = TenantId::parse(tenant).expect("tenant id");
    DecisionLog::open(path)
        .expect("opens")
        .snapshot(|s| s.audit(&tenant))
        .expect("reads the audit trail")
}

fn verify(path: &Path) -> Result<(), String> {
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

#[tokio::test]
async fn unauthenticated_calls_are_counted_not_written_one_by_one() {
    const REFUSED: usize = 40;
    let mut server = TestServer::start_with(|c| {
        c.auth.api_keys = vec![key("acme-secret-key-0123456789", "acme")];
        c.audit.summary_seconds = 3600;
    })
    .await
    .expect("server starts");
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

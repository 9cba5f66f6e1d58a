//! Behaviour: `tutti audit verify`, the binary's subcommand, passes on the
//! database a real `tutti serve` wrote and prints each chain's head; on a copy
//! whose audit row was changed with SQLite (the append-only triggers dropped,
//! as an attacker with the file would) it exits non-zero naming the broken
//! chain, and likewise when the last row was removed. A tail removed together
//! with `audit_heads` rewritten to match leaves a consistent chain the walk
//! cannot fault: `--expect TENANT:SEQ:HASH`, a head recorded elsewhere
//! earlier, is what catches it.

use crate::support::{self, db_files};

use rusqlite::{Connection, params};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tutti_proto::v1::people_service_client::PeopleServiceClient;
use tutti_proto::v1::{
    Assessment, CreatePersonRequest, GetPersonRequest, ProcessRating, RecordAssessmentRequest,
};

const TENANT: &str = "clinic-a";

/// A database with a few audited calls of [`TENANT`], written by a real
/// process that then stopped cleanly.
async fn audited_database(dir: &Path) -> PathBuf {
    let db = support::db_path(dir);
    let server = support::Server::spawn(support::serve_command(&db, &[]))
        .await
        .expect("tutti serve starts");
    let mut people = PeopleServiceClient::with_interceptor(
        server.channel(),
        support::Headers::default().with("x-tutti-tenant", TENANT),
    );
    people
        .create_person(CreatePersonRequest {
            request_id: "audit-create".into(),
            person_id: "p-audit".into(),
            conditions: vec![],
        })
        .await
        .expect("create");
    for i in 0..3_u64 {
        people
            .record_assessment(RecordAssessmentRequest {
                request_id: format!("audit-assess-{i}"),
                person: "people/p-audit".into(),
                assessment: Some(Assessment {
                    observe_time: Some(prost_types::Timestamp::from(
                        std::time::SystemTime::now() - Duration::from_secs(3600 * (i + 1)),
                    )),
                    ratings: vec![ProcessRating {
                        process_id: "affect".into(),
                        adaptive: Some(60.0),
                        maladaptive: Some(30.0),
                    }],
                    ..Default::default()
                }),
            })
            .await
            .expect("assessment");
    }
    people
        .get_person(GetPersonRequest {
            name: "people/p-audit".into(),
        })
        .await
        .expect("read");
    server.stop_cleanly().await;
    db
}

/// A copy of `db` (with its WAL, if any) as `dir/name`, and a connection to
/// it with the append-only triggers dropped.
fn tampered_copy(db: &Path, dir: &Path, name: &str) -> (PathBuf, Connection) {
    let dst = dir.join(name);
    for file in db_files::files(db) {
        let suffix = file
            .to_string_lossy()
            .strip_prefix(&*db.to_string_lossy())
            .map(str::to_owned)
            .unwrap_or_default();
        std::fs::copy(&file, format!("{}{suffix}", dst.display())).expect("copy");
    }
    let conn = Connection::open(&dst).expect("open the copy");
    conn.execute_batch("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;")
        .expect("drop the triggers");
    (dst, conn)
}

/// `(seq, hash)` of [`TENANT`]'s chain head as `audit verify` printed it.
fn printed_head(out: &str) -> (i64, String) {
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("ok      tenant {TENANT}:")))
        .unwrap_or_else(|| panic!("no verdict for {TENANT}:\n{out}"));
    let head = line
        .rsplit_once(", head ")
        .map(|(_, h)| h)
        .unwrap_or_else(|| panic!("no head in `{line}`"));
    let (seq, hash) = head.split_once(':').expect("SEQ:HASH");
    (seq.parse().expect("a number"), hash.to_owned())
}

#[tokio::test]
async fn audit_verify_fails_on_a_changed_row_or_tail_and_expect_catches_a_rewritten_head() {
    let dir = support::temp_dir();
    let db = audited_database(dir.path()).await;

    let (ok, out) = support::audit_verify(&db).expect("runs");
    assert!(ok, "the intact database:\n{out}");
    let (n, head) = printed_head(&out);
    assert!(
        n >= 5,
        "{n} rows: the writes and the read are audited\n{out}"
    );
    let expect = format!("{TENANT}:{n}:{head}");
    let (ok, out) = support::audit_verify_with(&db, &["--expect", &expect]).expect("runs");
    assert!(ok, "the recorded head is the head:\n{out}");
    assert!(out.contains("matches the expected head"), "{out}");

    // A changed row.
    let (changed, conn) = tampered_copy(&db, dir.path(), "changed.db");
    conn.execute(
        "UPDATE audit SET code = 7 WHERE tenant = ?1 AND tenant_seq = 2",
        params![TENANT],
    )
    .expect("change a row");
    drop(conn);
    let (ok, out) = support::audit_verify(&changed).expect("runs");
    assert!(!ok, "a changed row passed:\n{out}");
    assert!(
        out.contains(&format!("BROKEN  tenant {TENANT}")) && out.contains("check(s) failed"),
        "the message names the broken chain:\n{out}"
    );

    // The last row removed: audit_heads still names it.
    let (truncated, conn) = tampered_copy(&db, dir.path(), "truncated.db");
    conn.execute(
        "DELETE FROM audit WHERE tenant = ?1 AND tenant_seq = ?2",
        params![TENANT, n],
    )
    .expect("remove the last row");
    drop(conn);
    let (ok, out) = support::audit_verify(&truncated).expect("runs");
    assert!(!ok, "a removed last row passed:\n{out}");
    assert!(out.contains("rows removed at the end"), "{out}");

    // The last row removed and the head rewritten to match: a chain the walk
    // cannot fault, which only a head anchored elsewhere exposes.
    let (rewritten, conn) = tampered_copy(&db, dir.path(), "rewritten.db");
    conn.execute_batch(&format!(
        "DELETE FROM audit WHERE tenant = '{TENANT}' AND tenant_seq = {n};
         UPDATE audit_heads SET seq = {m}, hash =
           (SELECT hash FROM audit WHERE tenant = '{TENANT}' AND tenant_seq = {m})
         WHERE tenant = '{TENANT}';",
        m = n - 1
    ))
    .expect("remove the last row and rewrite the head");
    drop(conn);
    let (ok, out) = support::audit_verify(&rewritten).expect("runs");
    assert!(ok, "without --expect a consistent rewrite verifies:\n{out}");
    let (ok, out) = support::audit_verify_with(&rewritten, &["--expect", &expect]).expect("runs");
    assert!(!ok, "--expect missed a truncated chain:\n{out}");
    assert!(
        out.contains(&format!(
            "BROKEN  tenant {TENANT}: row {n} does not match the expected head"
        )),
        "{out}"
    );
}

//! Behaviour: stored first responses (idempotency records, which hold health
//! data) expire after `idempotency.ttl_seconds`, after which a retry is a new
//! request; erasing a person leaves none of their data in the database files
//! (the file, its WAL and shared memory), not in free pages, not in old WAL
//! frames: only their pseudonymous id in audit rows, which hold no payload.

use rusqlite::{Connection, OpenFlags, params};
use std::path::PathBuf;
use std::time::Duration;
use tonic::Code;
use tutti_proto::v1::{Completion, CreatePersonRequest, DeletePersonRequest};
use tutti_tests::TestServer;
use tutti_tests::db_files::{holding, idempotency_records, person_rows};
use tutti_tests::fixtures::{
    create_person, feedback, new_person_id, now, person_name, recommend, recommend_request,
    record_assessment, record_feedback, rid, valid_assessment,
};

#[tokio::test]
async fn erasure_leaves_no_bytes_of_the_person_in_the_database_files() {
    let mut server = TestServer::start().await.expect("server starts");
    let mut people = server.people();
    let mut recs = server.recommendations();
    let id = new_person_id();
    let name = person_name(&id);
    create_person(&mut people, &id, &[]).await;
    for _ in 0..3 {
        record_assessment(&mut people, &name, valid_assessment(now())).await;
    }
    let answer = recommend(&mut recs, recommend_request(&name)).await;
    let rec = answer.recommendations.first().expect("a recommendation");
    // Free text only this person's feedback holds.
    let marker = format!("barrier-marker-{}", uuid::Uuid::new_v4().simple());
    let mut f = feedback(&rec.recommendation_id, Completion::Partly);
    f.barrier = marker.clone();
    record_feedback(&mut recs, f).await;

    let db = server.data_path().to_path_buf();
    assert!(
        !holding(&db, &marker).is_empty(),
        "the marker is not in the files before erasure: the test would prove nothing"
    );

    people
        .delete_person(DeletePersonRequest {
            request_id: rid(),
            name: name.clone(),
        })
        .await
        .expect("erase");
    // While the server runs, and after it stopped.
    assert_eq!(
        holding(&db, &marker),
        Vec::<PathBuf>::new(),
        "erased bytes remain"
    );
    server.shutdown().await.expect("stops");
    assert_eq!(
        holding(&db, &marker),
        Vec::<PathBuf>::new(),
        "erased bytes remain"
    );

    // Rows: the id survives only in audit rows (who did what, no payload).
    assert_eq!(
        person_rows(&db, &id),
        Vec::new(),
        "rows of the erased person remain"
    );
    let conn = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open");
    let audited: i64 = conn
        .query_row(
            "SELECT count(*) FROM audit WHERE resource = ?1",
            params![name],
            |r| r.get(0),
        )
        .expect("count");
    assert!(audited > 0, "the audit trail keeps who touched the record");
}

#[tokio::test]
async fn stored_responses_expire_and_a_retry_after_that_is_a_new_request() {
    let server = TestServer::start_with(|c| {
        c.idempotency.ttl_seconds = 1;
        c.idempotency.sweep_seconds = 1;
    })
    .await
    .expect("server starts");
    let mut people = server.people();
    let request = CreatePersonRequest {
        request_id: rid(),
        person_id: new_person_id(),
        conditions: vec![],
    };
    people
        .create_person(request.clone())
        .await
        .expect("first call");
    // Until the record expires a retry replays the first answer; after, the
    // same request is new, and the person it would create exists.
    let mut expired = false;
    for _ in 0..400 {
        match people.create_person(request.clone()).await {
            Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(s) => {
                assert_eq!(s.code(), Code::AlreadyExists, "{s:?}");
                expired = true;
                break;
            }
        }
    }
    assert!(expired, "the stored response never expired");
    assert_eq!(
        idempotency_records(server.data_path(), &request.request_id),
        0,
        "the expired record is deleted"
    );
}

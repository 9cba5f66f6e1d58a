//! Behaviour: the caller's `grpc-timeout` is honoured end to end. A write
//! stuck behind a lock on the database answers DEADLINE_EXCEEDED (with
//! `ErrorInfo`) when the caller's time is up, and writes nothing, even after
//! the lock is gone: the storage layer rolls back a write whose caller gave up.

use rusqlite::Connection;
use tonic::Code;
use tonic_types::StatusExt as _;
use tutti_proto::v1::{CreatePersonRequest, GetPersonRequest};
use tutti_tests::TestServer;
use tutti_tests::assertions::expect_code;
use tutti_tests::fixtures::{create_person, new_person_id, person_name, rid};

#[tokio::test]
async fn a_write_past_its_deadline_answers_deadline_exceeded_and_writes_nothing() {
    let server = TestServer::start().await.expect("server starts");
    let mut people = server.people();
    // Another process holds the database's write lock.
    let blocker = Connection::open(server.data_path()).expect("open");
    blocker
        .execute_batch("BEGIN IMMEDIATE")
        .expect("take the write lock");

    let id = new_person_id();
    let mut request = tonic::Request::new(CreatePersonRequest {
        request_id: rid(),
        person_id: id.clone(),
        conditions: vec![],
    });
    // Set as a header rather than with `set_timeout`, so only the server's
    // clock decides.
    request
        .metadata_mut()
        .insert("grpc-timeout", "400m".parse().expect("ascii"));
    let status = expect_code(
        people.create_person(request).await,
        Code::DeadlineExceeded,
        "write stuck behind a lock",
    );
    let info = status
        .get_error_details()
        .error_info()
        .cloned()
        .expect("ErrorInfo");
    assert_eq!(info.reason, "DEADLINE_EXCEEDED");

    blocker.execute_batch("ROLLBACK").expect("release the lock");
    drop(blocker);
    // The server has one writer: once this write is through, the expired one
    // has finished (rolled back) too.
    create_person(&mut people, &new_person_id(), &[]).await;
    let r = people
        .get_person(GetPersonRequest {
            name: person_name(&id),
        })
        .await;
    expect_code(r, Code::NotFound, "the expired write left nothing behind");
    server.stop().await.expect("clean stop");
}

//! Behaviour: a write whose caller gives up leaves both its data and its audit
//! row, or neither, however the call ends: the client drops it before the
//! commit, the client drops it after the commit but before reading the
//! response, or the caller's deadline passes first. (The crash between the
//! two is `server/cli/tests/it/kill_9.rs`'s.)
//!
//! What the server does, and why the invariant holds:
//! - A write queued to the SQLite writer thread runs whether or not anyone
//!   still waits for its answer (the reply just goes unread). This is why a
//!   row written after the response, in a transaction of its own, could be
//!   lost: the data committed, but the call that would have written the row
//!   was dropped with its caller.
//! - The audit layer runs each call in a task of its own
//!   (`tutti_server::middleware::audit`), so a caller hanging up does not
//!   drop the handler either: a write that reached the server runs to its end.
//! - A write's audit row (status OK) is inserted by the write itself, in its
//!   savepoint of the writer's transaction (`insert_idempotency` in the
//!   SQLite backend): the data and the row commit or roll back together, and
//!   nothing after the commit is needed for the row to exist.
//! - A write the writer reaches after the caller's deadline is rolled back,
//!   row included; the caller gets `DEADLINE_EXCEEDED`, which the audit layer
//!   records in a row of its own. (A write run just before the deadline but
//!   committed just after it is kept, with its OK row, beside that
//!   `DEADLINE_EXCEEDED` row: hence "an OK row", not "a row", below.)
//!
//! So, for each request id: its data exists iff an audit row with status OK
//! names it (and at most one does); and the audit chains verify.
//!
//! Each case is made to happen, not hoped for across retries: another
//! connection holds SQLite's write lock (`BEGIN IMMEDIATE`), so nothing can
//! commit. The writes' futures are polled (their requests go out) while a few
//! calls with a short `grpc-timeout`, sent after them on the same HTTP/2
//! connection, run into their deadline. Their answers arrive while the lock
//! is still held: the server had them, so it had the earlier streams too
//! (accepted and spawned in order), and nothing has committed. Then one group
//! of futures is dropped while the lock is still held (cancelled before the
//! commit); the lock is released; the other group is dropped once its data
//! is in the file, without having been polled since (cancelled after the
//! commit, its response never read).

use rusqlite::{Connection, params};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;
use tokio::task::JoinSet;
use tonic::{Code, Response, Status};
use tutti_proto::v1::{CreatePersonRequest, RecordAssessmentRequest};
use tutti_tests::audit::verify;
use tutti_tests::fixtures::{new_person_id, now, person_name, rid, valid_assessment};
use tutti_tests::{PeopleClient, TestServer};

/// A write in flight whose answer the test never needs.
type Call = Pin<Box<dyn Future<Output = Result<(), Status>>>>;

/// Writes per group (half CreatePerson, half RecordAssessment).
const PER_GROUP: usize = 6;
/// Calls that run into their deadline while the lock is held.
const EXPIRING: usize = 3;

fn create(mut people: PeopleClient, request_id: &str, person_id: &str) -> Call {
    let request = CreatePersonRequest {
        request_id: request_id.to_owned(),
        person_id: person_id.to_owned(),
        conditions: vec![],
    };
    Box::pin(async move { people.create_person(request).await.map(drop) })
}

fn record(mut people: PeopleClient, request_id: &str, person_id: &str) -> Call {
    let request = RecordAssessmentRequest {
        request_id: request_id.to_owned(),
        person: person_name(person_id),
        assessment: Some(valid_assessment(now())),
    };
    Box::pin(async move { people.record_assessment(request).await.map(drop) })
}

/// One write of the test: its request id and where its data would be.
struct Write {
    request_id: String,
    person_id: String,
    /// RecordAssessment (data: an assessment of the person) rather than
    /// CreatePerson (data: the person).
    assessment: bool,
}

impl Write {
    fn new(person_id: String, assessment: bool) -> Self {
        Self {
            request_id: rid(),
            person_id,
            assessment,
        }
    }

    fn call(&self, people: PeopleClient) -> Call {
        if self.assessment {
            record(people, &self.request_id, &self.person_id)
        } else {
            create(people, &self.request_id, &self.person_id)
        }
    }

    fn data_exists(&self, db: &Connection) -> bool {
        let sql = if self.assessment {
            "SELECT count(*) FROM assessments WHERE person_id = ?1"
        } else {
            "SELECT count(*) FROM people WHERE person_id = ?1"
        };
        db.query_row(sql, params![self.person_id], |r| r.get::<_, i64>(0))
            .expect("count the data")
            > 0
    }

    /// The status codes of the audit rows naming this request id.
    fn audit_codes(&self, db: &Connection) -> Vec<i32> {
        let mut stmt = db
            .prepare("SELECT code FROM audit WHERE request_id = ?1 ORDER BY seq")
            .expect("prepare");
        stmt.query_map(params![self.request_id], |r| r.get(0))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows")
    }
}

/// Polls every call in `calls` (none may finish: the database is locked)
/// until `until` finishes, and returns its output. The calls are left
/// pending, to be dropped by the caller.
async fn poll_until<U>(calls: &mut [Call], until: impl Future<Output = U>) -> U {
    let mut until = std::pin::pin!(until);
    std::future::poll_fn(|cx| {
        for call in calls.iter_mut() {
            if let Poll::Ready(r) = call.as_mut().poll(cx) {
                panic!("a write was answered while the database was locked: {r:?}");
            }
        }
        until.as_mut().poll(cx)
    })
    .await
}

/// Waits (bounded) until every write in `writes` is in the database file.
async fn wait_until_committed(db: &Path, writes: &[Write]) {
    let conn = Connection::open(db).expect("open");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let missing = writes.iter().filter(|w| !w.data_exists(&conn)).count();
        if missing == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{missing} of {} writes still not committed",
            writes.len()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn cancelled_writes_leave_both_their_data_and_audit_row_or_neither() {
    let mut server = TestServer::start().await.expect("server starts");
    // People to record assessments for, one per write, so each write's data
    // is told apart by person.
    let mut targets = Vec::new();
    for _ in 0..PER_GROUP {
        let w = Write::new(new_person_id(), false);
        w.call(server.people()).await.expect("create a target");
        targets.push(w.person_id);
    }
    // Half new people, half an assessment of a target.
    let group = |targets: &mut Vec<String>| -> Vec<Write> {
        (0..PER_GROUP / 2)
            .flat_map(|_| {
                let target = targets.pop().expect("a target per assessment");
                [Write::new(new_person_id(), false), Write::new(target, true)]
            })
            .collect()
    };
    // Dropped before the commit.
    let before = group(&mut targets);
    // Dropped after the commit, before their response was read.
    let after = group(&mut targets);
    let expiring: Vec<Write> = (0..EXPIRING)
        .map(|_| Write::new(new_person_id(), false))
        .collect();

    // Another process holds the database's write lock.
    let blocker = Connection::open(server.data_path()).expect("open");
    blocker
        .execute_batch("BEGIN IMMEDIATE")
        .expect("take the write lock");

    let mut calls: Vec<Call> = before
        .iter()
        .chain(&after)
        .map(|w| w.call(server.people()))
        .collect();
    let expired = {
        let requests: Vec<CreatePersonRequest> = expiring
            .iter()
            .map(|w| CreatePersonRequest {
                request_id: w.request_id.clone(),
                person_id: w.person_id.clone(),
                conditions: vec![],
            })
            .collect();
        let people = server.people();
        async move {
            // Spawned from inside this future, which is polled after the
            // writes: their requests are on the connection first.
            let mut set = JoinSet::new();
            for r in requests {
                let mut people = people.clone();
                let mut request = tonic::Request::new(r);
                // Short: the writer waits for the lock at most 5 s (its busy
                // timeout), after which the whole batch would fail instead.
                request
                    .metadata_mut()
                    .insert("grpc-timeout", "300m".parse().expect("ascii"));
                set.spawn(async move { people.create_person(request).await });
            }
            set.join_all().await
        }
    };
    let expired: Vec<Result<Response<_>, Status>> = poll_until(&mut calls, expired).await;
    for r in &expired {
        assert_eq!(
            r.as_ref().map(drop).map_err(Status::code),
            Err(Code::DeadlineExceeded),
            "{r:?}"
        );
    }
    let mut after_calls = calls.split_off(before.len());
    // Cancelled before the commit: the lock is still held.
    drop(calls);
    blocker.execute_batch("ROLLBACK").expect("release the lock");
    drop(blocker);

    // Not polled again once committed: these callers never read their answers.
    wait_until_committed(server.data_path(), &after).await;
    after_calls.clear();

    // The calls run in tasks of their own, each holding the audit writer
    // open; stopping waits for the writer, so for every call to finish.
    server.shutdown().await.expect("stops");
    let db = Connection::open(server.data_path()).expect("open");
    const OK: i32 = Code::Ok as i32;
    for (group, writes) in [
        ("before the commit", &before),
        ("after the commit", &after),
        ("by the deadline", &expiring),
    ] {
        for w in writes {
            let (data, codes) = (w.data_exists(&db), w.audit_codes(&db));
            let ok_rows = codes.iter().filter(|c| **c == OK).count();
            assert!(
                ok_rows <= 1,
                "cancelled {group}: {} has {ok_rows} OK rows: {codes:?}",
                w.request_id
            );
            assert_eq!(
                data,
                ok_rows == 1,
                "cancelled {group}: request {} (person {}): data {data}, audit codes {codes:?}",
                w.request_id,
                w.person_id
            );
        }
    }
    // The deadline rolled these back; their failure is on the record.
    for w in &expiring {
        assert!(!w.data_exists(&db), "an expired write was committed");
        assert_eq!(
            w.audit_codes(&db),
            vec![Code::DeadlineExceeded as i32],
            "the expired call's row"
        );
    }
    // The server had them (see the module docs), so it finished them although
    // their callers had gone: the case a row written after the response lost.
    let committed_before = before.iter().filter(|w| w.data_exists(&db)).count();
    assert!(
        committed_before > 0,
        "no write cancelled before its commit was committed: the case is not exercised"
    );
    drop(db);
    verify(server.data_path()).expect("the audit chains verify");
}

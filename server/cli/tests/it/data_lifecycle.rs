//! Behaviour: a real `tutti serve` lets a stored first response (health data)
//! expire after `idempotency.ttl_seconds`, after which a retry is a new
//! request and the record is gone from the table; and erasing a person
//! leaves no byte of their data in the database file, its WAL or its shared
//! memory, while the process runs and after it stopped. The process twin of
//! `tests/tests/it/data_lifecycle.rs`.

use crate::support::{
    self,
    db_files::{holding, idempotency_records, person_rows},
};

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tonic::Code;
use tutti_proto::v1::people_service_client::PeopleServiceClient;
use tutti_proto::v1::recommendation_service_client::RecommendationServiceClient;
use tutti_proto::v1::{
    Assessment, Completion, CreatePersonRequest, DeletePersonRequest, Feedback, Instrument,
    OutcomeMeasure, ProcessRating, RecommendRequest, RecommendationContext,
    RecordAssessmentRequest, RecordFeedbackRequest,
};

/// Unique within this machine's runs: the test's process id and the clock.
fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// A valid assessment `minutes_ago`.
fn assessment(minutes_ago: u64) -> Assessment {
    let rating = |p: &str, a: f64, m: f64| ProcessRating {
        process_id: p.into(),
        adaptive: Some(a),
        maladaptive: Some(m),
    };
    Assessment {
        observe_time: Some(prost_types::Timestamp::from(
            SystemTime::now() - Duration::from_secs(60 * minutes_ago),
        )),
        ratings: vec![
            rating("affect", 60.0, 30.0),
            rating("cognition", 55.0, 35.0),
            rating("self", 50.0, 40.0),
        ],
        outcomes: vec![OutcomeMeasure {
            instrument: Instrument::Phq9 as i32,
            score: 8.0,
        }],
        ..Default::default()
    }
}

#[tokio::test]
async fn erasure_leaves_no_bytes_of_the_person_in_the_database_files() {
    let dir = support::temp_dir();
    let db = support::db_path(dir.path());
    let server = support::Server::spawn(support::serve_command(&db, &[]))
        .await
        .expect("tutti serve starts");
    let mut people = PeopleServiceClient::new(server.channel());
    let mut recs = RecommendationServiceClient::new(server.channel());
    let id = unique("p-erase");
    let name = format!("people/{id}");
    people
        .create_person(CreatePersonRequest {
            request_id: unique("create"),
            person_id: id.clone(),
            conditions: vec![],
        })
        .await
        .expect("create");
    for i in 0..3 {
        people
            .record_assessment(RecordAssessmentRequest {
                request_id: unique("assess"),
                person: name.clone(),
                assessment: Some(assessment(30 * (3 - i))),
            })
            .await
            .expect("assessment");
    }
    let answer = recs
        .recommend(RecommendRequest {
            request_id: unique("rec"),
            person: name.clone(),
            context: Some(RecommendationContext::default()),
            ..Default::default()
        })
        .await
        .expect("recommend")
        .into_inner();
    let rec = answer.recommendations.first().expect("a recommendation");
    // Free text only this person's feedback holds.
    let marker = unique("barrier-marker");
    recs.record_feedback(RecordFeedbackRequest {
        request_id: unique("feedback"),
        feedback: Some(Feedback {
            recommendation_id: rec.recommendation_id.clone(),
            completion: Completion::Partly as i32,
            barrier: marker.clone(),
            observe_time: Some(prost_types::Timestamp::from(SystemTime::now())),
            ..Default::default()
        }),
    })
    .await
    .expect("feedback");
    assert!(
        !holding(&db, &marker).is_empty(),
        "the marker is not in the files before erasure: the test would prove nothing"
    );

    people
        .delete_person(DeletePersonRequest {
            request_id: unique("erase"),
            name: name.clone(),
        })
        .await
        .expect("erase");
    assert_eq!(
        holding(&db, &marker),
        Vec::<PathBuf>::new(),
        "erased bytes remain while the process runs"
    );
    server.stop_cleanly().await;
    assert_eq!(
        holding(&db, &marker),
        Vec::<PathBuf>::new(),
        "erased bytes remain after the process stopped"
    );

    // The id survives only in audit rows (who did what, no payload).
    assert_eq!(
        person_rows(&db, &id),
        Vec::new(),
        "rows of the erased person remain"
    );
}

#[tokio::test]
async fn stored_responses_expire_and_a_retry_after_that_is_a_new_request() {
    let dir = support::temp_dir();
    let db = support::db_path(dir.path());
    let mut cmd = support::serve_command(&db, &[]);
    cmd.env("TUTTI_IDEMPOTENCY__TTL_SECONDS", "1")
        .env("TUTTI_IDEMPOTENCY__SWEEP_SECONDS", "1");
    let server = support::Server::spawn(cmd)
        .await
        .expect("tutti serve starts");
    let mut people = PeopleServiceClient::new(server.channel());
    let request = CreatePersonRequest {
        request_id: unique("create"),
        person_id: unique("p-ttl"),
        conditions: vec![],
    };
    people
        .create_person(request.clone())
        .await
        .expect("first call");
    people
        .create_person(request.clone())
        .await
        .expect("a retry at once replays the first answer");
    // Once the record expires the same request is new, and the person it
    // would create exists.
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
    // Read beside the live process.
    assert_eq!(
        idempotency_records(&db, &request.request_id),
        0,
        "the expired record is deleted"
    );
}

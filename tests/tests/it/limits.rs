//! Behaviour: configured request limits hold. A message larger than
//! `limits.max_message_bytes` is refused before it is read, and a batch larger
//! than `limits.max_batch` is INVALID_ARGUMENT; neither stores anything.

use std::time::Duration;
use tonic::Code;
use tutti_proto::v1::BatchRecordAssessmentsRequest;
use tutti_tests::TestServer;
use tutti_tests::assertions::expect_invalid_field;
use tutti_tests::fixtures::{assessment_series, backfill, get_person, hours_ago, new_person, rid};

#[tokio::test]
async fn a_message_over_the_size_limit_is_refused_and_stores_nothing() {
    let server = TestServer::start_with(|c| c.limits.max_message_bytes = 64 * 1024)
        .await
        .expect("server starts");
    let mut people = server.people();
    let person = new_person(&mut people).await;
    // About 2000 assessments of ~100 bytes each: far over 64 KiB.
    let result = people
        .batch_record_assessments(BatchRecordAssessmentsRequest {
            request_id: rid(),
            person: person.clone(),
            assessments: assessment_series(2000, hours_ago(1), Duration::from_secs(60), 1),
        })
        .await;
    let status = result.expect_err("an oversized message must be refused");
    assert!(
        matches!(status.code(), Code::ResourceExhausted | Code::OutOfRange),
        "expected RESOURCE_EXHAUSTED (or tonic's OUT_OF_RANGE) for an oversized message, got {status:?}"
    );
    assert_eq!(get_person(&mut people, &person).await.assessment_count, 0);
    // A batch under the limit still goes through.
    let recorded = backfill(
        &mut people,
        &person,
        assessment_series(50, hours_ago(1), Duration::from_secs(60), 2),
    )
    .await;
    assert_eq!(recorded, 50);
}

#[tokio::test]
async fn a_batch_over_the_configured_maximum_is_invalid() {
    let server = TestServer::start_with(|c| c.limits.max_batch = 10)
        .await
        .expect("server starts");
    let mut people = server.people();
    let person = new_person(&mut people).await;
    let result = people
        .batch_record_assessments(BatchRecordAssessmentsRequest {
            request_id: rid(),
            person: person.clone(),
            assessments: assessment_series(11, hours_ago(1), Duration::from_secs(60), 3),
        })
        .await;
    expect_invalid_field(result, "assessments", "batch of 11 with max_batch 10");
    assert_eq!(get_person(&mut people, &person).await.assessment_count, 0);
    let ten = assessment_series(10, hours_ago(1), Duration::from_secs(60), 4);
    assert_eq!(backfill(&mut people, &person, ten).await, 10);
}

//! Behaviour: a backfill from an experience-sampling app stores thousands of
//! assessments in one call, all or nothing.

use std::collections::HashSet;
use std::time::Duration;
use tonic::Code;
use tutti_proto::v1::BatchRecordAssessmentsRequest;
use tutti_tests::TestServer;
use tutti_tests::assertions::{expect_code, expect_invalid_field};
use tutti_tests::fixtures::{
    assessment_series, backfill, from_now, get_person, hours_ago, list_all_assessments, new_person,
    new_person_id, person_name, rid,
};

async fn start() -> TestServer {
    TestServer::start().await.expect("server starts")
}

#[tokio::test]
async fn batch_records_five_thousand_assessments_in_one_call() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    // Every 10 minutes for ~35 days, the contract's maximum batch size.
    let series = assessment_series(5000, hours_ago(1), Duration::from_secs(600), 11);
    let recorded = backfill(&mut people, &person, series).await;
    assert_eq!(recorded, 5000);
    assert_eq!(
        get_person(&mut people, &person).await.assessment_count,
        5000
    );
    let all = list_all_assessments(&mut people, &person, 1000).await;
    assert_eq!(all.len(), 5000);
    let ids: HashSet<&str> = all.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids.len(), 5000, "assessment ids are not unique");
}

#[tokio::test]
async fn batch_in_any_order_is_listed_newest_first_and_adds_to_single_records() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    let mut series = assessment_series(40, hours_ago(2), Duration::from_secs(3600), 5);
    series.reverse();
    series.swap(3, 17);
    let sent_times: HashSet<_> = series.iter().map(|a| a.observe_time).collect();
    assert_eq!(backfill(&mut people, &person, series).await, 40);
    let second = assessment_series(10, hours_ago(100), Duration::from_secs(60), 6);
    assert_eq!(backfill(&mut people, &person, second).await, 10);

    let all = list_all_assessments(&mut people, &person, 0).await;
    assert_eq!(all.len(), 50);
    assert_eq!(get_person(&mut people, &person).await.assessment_count, 50);
    let times: Vec<_> = all
        .iter()
        .map(|a| {
            std::time::SystemTime::try_from(a.observe_time.expect("observe_time")).expect("valid")
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "not newest first");
    assert!(
        sent_times
            .iter()
            .all(|t| all.iter().any(|a| &a.observe_time == t)),
        "an assessment of the first batch is missing"
    );
}

#[tokio::test]
async fn batch_with_one_invalid_assessment_stores_none() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    let mut series = assessment_series(10, hours_ago(1), Duration::from_secs(3600), 9);
    series[3].observe_time = Some(tutti_tests::fixtures::ts(from_now(Duration::from_secs(
        3600,
    ))));
    let result = people
        .batch_record_assessments(BatchRecordAssessmentsRequest {
            request_id: rid(),
            person: person.clone(),
            assessments: series,
        })
        .await;
    expect_invalid_field(
        result,
        "assessments[3].observe_time",
        "batch with one future assessment",
    );
    assert_eq!(get_person(&mut people, &person).await.assessment_count, 0);
    assert!(
        list_all_assessments(&mut people, &person, 0)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn batch_for_an_unknown_person_returns_not_found() {
    let server = start().await;
    let result = server
        .people()
        .batch_record_assessments(BatchRecordAssessmentsRequest {
            request_id: rid(),
            person: person_name(&new_person_id()),
            assessments: assessment_series(3, hours_ago(1), Duration::from_secs(60), 1),
        })
        .await;
    expect_code(result, Code::NotFound, "batch for an unknown person");
}

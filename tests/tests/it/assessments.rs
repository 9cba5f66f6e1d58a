//! Behaviour: one assessment at a time is stored with a server-assigned id,
//! counted on the person, and listed newest first in pages.

use std::collections::HashSet;
use std::time::Duration;
use tonic::Code;
use tutti_proto::v1::{
    Assessment, Instrument, ListAssessmentsRequest, RecordAssessmentRequest, RiskFlag,
};
use tutti_tests::TestServer;
use tutti_tests::assertions::expect_code;
use tutti_tests::fixtures::{
    assessment_series, backfill, from_now, get_person, hours_ago, list_all_assessments, new_person,
    new_person_id, now, outcome, person_name, rating, record_assessment, rid, valid_assessment,
};

async fn start() -> TestServer {
    TestServer::start().await.expect("server starts")
}

fn without_id(mut a: Assessment) -> Assessment {
    a.id.clear();
    a
}

fn time_of(a: &Assessment) -> std::time::SystemTime {
    std::time::SystemTime::try_from(a.observe_time.expect("observe_time is set"))
        .expect("observe_time is valid")
}

#[tokio::test]
async fn record_assessment_stores_it_with_a_server_assigned_id_and_counts_it() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    let mut sent = valid_assessment(hours_ago(2));
    sent.outcomes.push(outcome(Instrument::Gad7, 6.0));
    sent.risk_flags.clear();
    let stored = record_assessment(&mut people, &person, sent.clone()).await;
    assert!(!stored.id.is_empty(), "no id assigned");
    assert_eq!(
        without_id(stored.clone()),
        sent,
        "the stored assessment differs from the one sent"
    );
    assert_eq!(get_person(&mut people, &person).await.assessment_count, 1);
    let listed = list_all_assessments(&mut people, &person, 0).await;
    assert_eq!(listed, vec![stored]);
}

#[tokio::test]
async fn a_rating_may_set_only_one_pole() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    let mut sent = valid_assessment(hours_ago(1));
    sent.ratings = vec![
        rating("affect", Some(70.0), None),
        rating("cognition", None, Some(20.0)),
        rating("self", Some(0.0), Some(100.0)),
    ];
    let stored = record_assessment(&mut people, &person, sent.clone()).await;
    assert_eq!(
        without_id(stored),
        sent,
        "a missing pole must stay missing, not become 0"
    );
}

#[tokio::test]
async fn an_assessment_may_carry_risk_flags_and_outcomes_only() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    let sent = Assessment {
        id: String::new(),
        observe_time: valid_assessment(hours_ago(1)).observe_time,
        ratings: vec![],
        outcomes: vec![
            outcome(Instrument::Phq9, 21.0),
            outcome(Instrument::Who5, 20.0),
        ],
        risk_flags: vec![RiskFlag::SelfHarm as i32],
    };
    let stored = record_assessment(&mut people, &person, sent.clone()).await;
    assert_eq!(without_id(stored), sent);
}

#[tokio::test]
async fn an_observe_time_a_few_minutes_ahead_is_accepted_for_clock_skew() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    let sent = valid_assessment(from_now(Duration::from_secs(3 * 60)));
    let stored = record_assessment(&mut people, &person, sent.clone()).await;
    assert_eq!(without_id(stored), sent);
}

#[tokio::test]
async fn assessment_ids_are_unique_within_a_person() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    let mut ids = HashSet::new();
    for h in 1..=5 {
        let stored = record_assessment(&mut people, &person, valid_assessment(hours_ago(h))).await;
        assert!(
            ids.insert(stored.id.clone()),
            "id {} assigned twice",
            stored.id
        );
    }
    assert_eq!(get_person(&mut people, &person).await.assessment_count, 5);
}

#[tokio::test]
async fn list_assessments_returns_newest_first_whatever_the_recording_order() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    for h in [5, 1, 9, 3, 7] {
        record_assessment(&mut people, &person, valid_assessment(hours_ago(h))).await;
    }
    let resp = people
        .list_assessments(ListAssessmentsRequest {
            person: person.clone(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("ListAssessments")
        .into_inner();
    assert_eq!(resp.total_size, 5);
    assert!(resp.next_page_token.is_empty());
    let times: Vec<_> = resp.assessments.iter().map(time_of).collect();
    let mut sorted = times.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "not newest first");
}

#[tokio::test]
async fn list_assessments_pages_walk_every_assessment_once_newest_first() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    let n = 250;
    let recorded = backfill(
        &mut people,
        &person,
        assessment_series(n, hours_ago(1), Duration::from_secs(3600), 7),
    )
    .await;
    assert_eq!(recorded as usize, n);

    let first = people
        .list_assessments(ListAssessmentsRequest {
            person: person.clone(),
            page_size: 64,
            page_token: String::new(),
        })
        .await
        .expect("ListAssessments")
        .into_inner();
    assert_eq!(first.assessments.len(), 64);
    assert_eq!(first.total_size as usize, n);
    assert!(!first.next_page_token.is_empty());

    let all = list_all_assessments(&mut people, &person, 64).await;
    assert_eq!(all.len(), n, "paging did not return every assessment");
    let ids: HashSet<&str> = all.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids.len(), n, "paging returned duplicates");
    let times: Vec<_> = all.iter().map(time_of).collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "pages are not newest first"
    );
    let big = list_all_assessments(&mut people, &person, 1000).await;
    assert_eq!(big, all, "small pages and one big page disagree");
}

#[tokio::test]
async fn list_assessments_without_page_size_returns_one_hundred() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    backfill(
        &mut people,
        &person,
        assessment_series(150, hours_ago(1), Duration::from_secs(1800), 3),
    )
    .await;
    let page = people
        .list_assessments(ListAssessmentsRequest {
            person: person.clone(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("ListAssessments")
        .into_inner();
    assert_eq!(page.assessments.len(), 100, "page_size 0 must mean 100");
    assert_eq!(page.total_size, 150);
    assert!(!page.next_page_token.is_empty());
}

#[tokio::test]
async fn record_assessment_for_an_unknown_person_returns_not_found() {
    let server = start().await;
    let mut people = server.people();
    let name = person_name(&new_person_id());
    let result = people
        .record_assessment(RecordAssessmentRequest {
            request_id: rid(),
            person: name.clone(),
            assessment: Some(valid_assessment(now())),
        })
        .await;
    expect_code(
        result,
        Code::NotFound,
        "RecordAssessment for an unknown person",
    );
    let listed = people
        .list_assessments(ListAssessmentsRequest {
            person: name,
            page_size: 0,
            page_token: String::new(),
        })
        .await;
    expect_code(
        listed,
        Code::NotFound,
        "ListAssessments for an unknown person",
    );
}

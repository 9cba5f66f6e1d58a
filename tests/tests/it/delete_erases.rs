//! Behaviour: DeletePerson erases a person and all their data (assessments,
//! recommendations, feedback), reports what it erased, and a person recreated
//! under the same id starts empty.

use std::time::Duration;
use tonic::Code;
use tutti_proto::v1::{
    Completion, DeletePersonRequest, DeletePersonResponse, GetPersonInsightsRequest,
    GetPersonRequest, ListAssessmentsRequest, RecordFeedbackRequest,
};
use tutti_tests::assertions::expect_code;
use tutti_tests::fixtures::{
    assessment_series, backfill, create_person, feedback, get_person, hours_ago, new_person_id,
    person_name, recommend, recommend_request, record_assessment, record_feedback, rid,
    valid_assessment,
};
use tutti_tests::{PeopleClient, RecommendationClient, TestServer};

async fn start() -> TestServer {
    TestServer::start().await.expect("server starts")
}

/// A person with 13 assessments, 5 recommendations and 2 feedback reports;
/// returns (person id, recommendation ids).
async fn populated_person(
    people: &mut PeopleClient,
    recs: &mut RecommendationClient,
) -> (String, Vec<String>) {
    let id = new_person_id();
    create_person(people, &id, &[]).await;
    let person = person_name(&id);
    backfill(
        people,
        &person,
        assessment_series(10, hours_ago(4), Duration::from_secs(3600), 3),
    )
    .await;
    for h in 1..=3 {
        record_assessment(people, &person, valid_assessment(hours_ago(h))).await;
    }
    let decision = recommend(recs, recommend_request(&person)).await;
    assert_eq!(decision.recommendations.len(), 5);
    let rec_ids: Vec<String> = decision
        .recommendations
        .into_iter()
        .map(|r| r.recommendation_id)
        .collect();
    record_feedback(recs, feedback(&rec_ids[0], Completion::Done)).await;
    record_feedback(recs, feedback(&rec_ids[1], Completion::NotDone)).await;
    (id, rec_ids)
}

async fn delete(people: &mut PeopleClient, person: &str) -> DeletePersonResponse {
    people
        .delete_person(DeletePersonRequest {
            request_id: rid(),
            name: person.to_owned(),
        })
        .await
        .unwrap_or_else(|s| panic!("DeletePerson {person}: {s:?}"))
        .into_inner()
}

#[tokio::test]
async fn delete_person_erases_everything_and_reports_what_it_erased() {
    let server = start().await;
    let (mut people, mut recs) = (server.people(), server.recommendations());
    let (id, rec_ids) = populated_person(&mut people, &mut recs).await;
    let person = person_name(&id);

    let erased = delete(&mut people, &person).await;
    assert_eq!(erased.erased_assessments, 13);
    assert_eq!(erased.erased_recommendations, 5);
    assert_eq!(erased.erased_feedback, 2);

    expect_code(
        people
            .get_person(GetPersonRequest {
                name: person.clone(),
            })
            .await,
        Code::NotFound,
        "GetPerson",
    );
    expect_code(
        people
            .list_assessments(ListAssessmentsRequest {
                person: person.clone(),
                page_size: 0,
                page_token: String::new(),
            })
            .await,
        Code::NotFound,
        "ListAssessments",
    );
    expect_code(
        people
            .get_person_insights(GetPersonInsightsRequest {
                person: person.clone(),
            })
            .await,
        Code::NotFound,
        "GetPersonInsights",
    );
    expect_code(
        recs.recommend(recommend_request(&person)).await,
        Code::NotFound,
        "Recommend",
    );
    let late = recs
        .record_feedback(RecordFeedbackRequest {
            request_id: rid(),
            feedback: Some(feedback(&rec_ids[2], Completion::Done)),
        })
        .await;
    expect_code(late, Code::NotFound, "feedback on an erased recommendation");
    expect_code(
        people
            .delete_person(DeletePersonRequest {
                request_id: rid(),
                name: person,
            })
            .await,
        Code::NotFound,
        "deleting again with a new request id",
    );
}

#[tokio::test]
async fn a_person_recreated_after_deletion_starts_empty() {
    let server = start().await;
    let (mut people, mut recs) = (server.people(), server.recommendations());
    let (id, _) = populated_person(&mut people, &mut recs).await;
    let person = person_name(&id);
    delete(&mut people, &person).await;

    let again = create_person(&mut people, &id, &[]).await;
    assert_eq!((again.assessment_count, again.feedback_count), (0, 0));
    let listed = people
        .list_assessments(ListAssessmentsRequest {
            person: person.clone(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("ListAssessments")
        .into_inner();
    assert!(
        listed.assessments.is_empty() && listed.total_size == 0,
        "old assessments came back"
    );
    let insights = people
        .get_person_insights(GetPersonInsightsRequest {
            person: person.clone(),
        })
        .await
        .expect("insights")
        .into_inner();
    assert_eq!(insights.assessment_count, 0);
    assert_eq!(insights.follow_through.expect("follow_through").reported, 0);
    let mut req = recommend_request(&person);
    req.max_results = 20;
    let resp = recommend(&mut recs, req).await;
    for item in &resp.recommendations {
        let r = item.rationale.as_ref().expect("rationale");
        assert_eq!(
            (r.times_recommended, r.times_done),
            (0, 0),
            "old history leaked into the new person"
        );
        assert_eq!(r.mean_helpfulness, None);
    }
    let p = get_person(&mut people, &person).await;
    assert_eq!((p.assessment_count, p.feedback_count), (0, 0));
}

#[tokio::test]
async fn deleting_one_person_leaves_the_others_alone() {
    let server = start().await;
    let (mut people, mut recs) = (server.people(), server.recommendations());
    let (gone, _) = populated_person(&mut people, &mut recs).await;
    let (kept, kept_recs) = populated_person(&mut people, &mut recs).await;
    delete(&mut people, &person_name(&gone)).await;
    let p = get_person(&mut people, &person_name(&kept)).await;
    assert_eq!((p.assessment_count, p.feedback_count), (13, 2));
    record_feedback(&mut recs, feedback(&kept_recs[4], Completion::Partly)).await;
}

#[tokio::test]
async fn delete_unknown_person_returns_not_found() {
    let server = start().await;
    let result = server
        .people()
        .delete_person(DeletePersonRequest {
            request_id: rid(),
            name: person_name(&new_person_id()),
        })
        .await;
    expect_code(result, Code::NotFound, "DeletePerson of an unknown person");
}

//! Behaviour: every write takes a request id. A retry of the same request with
//! the same id returns the first response and stores nothing twice, even when
//! the retries race; the same id with a different request fails with
//! FAILED_PRECONDITION and stores nothing.

use std::time::Duration;
use tonic::Code;
use tutti_proto::v1::{
    BatchRecordAssessmentsRequest, Completion, CreateInterventionRequest, CreatePersonRequest,
    DeletePersonRequest, GetInterventionRequest, ListInterventionsRequest, RecordAssessmentRequest,
    RecordFeedbackRequest, UpdateInterventionRequest,
};
use tutti_tests::TestServer;
use tutti_tests::assertions::expect_code;
use tutti_tests::fixtures::{
    assessment_series, create_intervention, feedback, get_person, hours_ago, list_all_assessments,
    list_all_interventions, new_intervention_id, new_person, new_person_id, person_name,
    recommend_request, record_assessment, rid, valid_assessment, valid_intervention,
};

async fn start() -> TestServer {
    TestServer::start().await.expect("server starts")
}

/// The contract every write keeps: `req` sent once and then `retries` more
/// times returns the first response each time; `req` changed by `change` under
/// the same request id is refused with FAILED_PRECONDITION. Returns the first
/// response; the caller checks that nothing was stored twice.
async fn replays_and_refuses_a_changed_request<Req, Resp, F, Fut>(
    mut call: F,
    req: Req,
    retries: usize,
    change: impl FnOnce(&mut Req),
    what: &str,
) -> Resp
where
    Req: Clone,
    Resp: PartialEq + std::fmt::Debug,
    F: FnMut(Req) -> Fut,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
{
    let first = call(req.clone())
        .await
        .unwrap_or_else(|s| panic!("{what}: the first call fails: {s:?}"))
        .into_inner();
    for _ in 0..retries {
        let retry = call(req.clone())
            .await
            .unwrap_or_else(|s| panic!("{what}: a retry fails: {s:?}"))
            .into_inner();
        assert_eq!(retry, first, "{what}: a retry returns the first response");
    }
    let mut changed = req;
    change(&mut changed);
    expect_code(call(changed).await, Code::FailedPrecondition, what);
    first
}

#[tokio::test]
async fn create_person_retry_returns_the_first_person_instead_of_already_exists() {
    let server = start().await;
    let mut people = server.people();
    let other = new_person_id();
    let req = CreatePersonRequest {
        request_id: rid(),
        person_id: new_person_id(),
        conditions: vec![],
    };
    replays_and_refuses_a_changed_request(
        |r| {
            let mut c = people.clone();
            async move { c.create_person(r).await }
        },
        req,
        1,
        |r| r.person_id = other.clone(),
        "same request id, different person",
    )
    .await;
    let got = people
        .get_person(tutti_proto::v1::GetPersonRequest {
            name: person_name(&other),
        })
        .await;
    expect_code(got, Code::NotFound, "the second person must not be created");
}

#[tokio::test]
async fn record_assessment_retry_returns_the_same_assessment_and_stores_it_once() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    let req = RecordAssessmentRequest {
        request_id: rid(),
        person: person.clone(),
        assessment: Some(valid_assessment(hours_ago(1))),
    };
    replays_and_refuses_a_changed_request(
        |r| {
            let mut c = people.clone();
            async move { c.record_assessment(r).await }
        },
        req,
        3,
        |r| r.assessment.as_mut().expect("set").ratings[0].adaptive = Some(11.0),
        "same id, other ratings",
    )
    .await;
    assert_eq!(get_person(&mut people, &person).await.assessment_count, 1);
    assert_eq!(list_all_assessments(&mut people, &person, 0).await.len(), 1);
}

#[tokio::test]
async fn racing_retries_store_one_assessment() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    let req = RecordAssessmentRequest {
        request_id: rid(),
        person: person.clone(),
        assessment: Some(valid_assessment(hours_ago(1))),
    };
    let calls = (0..8).map(|_| {
        let mut client = server.people();
        let req = req.clone();
        tokio::spawn(async move { client.record_assessment(req).await.map(|r| r.into_inner()) })
    });
    let mut ids = std::collections::HashSet::new();
    for call in calls.collect::<Vec<_>>() {
        let resp = call
            .await
            .expect("task")
            .expect("every racing retry succeeds");
        ids.insert(resp.assessment.expect("assessment").id);
    }
    assert_eq!(
        ids.len(),
        1,
        "racing retries got different assessments: {ids:?}"
    );
    assert_eq!(get_person(&mut people, &person).await.assessment_count, 1);
}

#[tokio::test]
async fn batch_retry_returns_the_first_count_and_stores_the_batch_once() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    let req = BatchRecordAssessmentsRequest {
        request_id: rid(),
        person: person.clone(),
        assessments: assessment_series(50, hours_ago(1), Duration::from_secs(3600), 31),
    };
    let first = replays_and_refuses_a_changed_request(
        |r| {
            let mut c = people.clone();
            async move { c.batch_record_assessments(r).await }
        },
        req,
        1,
        |r| {
            r.assessments.pop();
        },
        "same id, other batch",
    )
    .await;
    assert_eq!(first.recorded, 50);
    assert_eq!(get_person(&mut people, &person).await.assessment_count, 50);
}

#[tokio::test]
async fn recommend_retry_returns_the_same_decision_and_recommendation_ids() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    record_assessment(&mut people, &person, valid_assessment(hours_ago(1))).await;
    let recs = server.recommendations();
    let first = replays_and_refuses_a_changed_request(
        |r| {
            let mut c = recs.clone();
            async move { c.recommend(r).await }
        },
        recommend_request(&person),
        1,
        |r| r.max_results = 2,
        "same id, other max_results",
    )
    .await;
    let erased = people
        .delete_person(DeletePersonRequest {
            request_id: rid(),
            name: person,
        })
        .await
        .expect("DeletePerson")
        .into_inner();
    assert_eq!(
        erased.erased_recommendations as usize,
        first.recommendations.len(),
        "the retry or the conflicting request logged recommendations again"
    );
}

#[tokio::test]
async fn record_feedback_retry_returns_the_same_feedback_and_stores_it_once() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    record_assessment(&mut people, &person, valid_assessment(hours_ago(1))).await;
    let mut recs = server.recommendations();
    let decision = recs
        .recommend(recommend_request(&person))
        .await
        .expect("Recommend")
        .into_inner();
    let rec_id = &decision.recommendations[0].recommendation_id;
    let req = RecordFeedbackRequest {
        request_id: rid(),
        feedback: Some(feedback(rec_id, Completion::Done)),
    };
    replays_and_refuses_a_changed_request(
        |r| {
            let mut c = recs.clone();
            async move { c.record_feedback(r).await }
        },
        req,
        1,
        |r| r.feedback.as_mut().expect("set").completion = Completion::NotDone as i32,
        "same id, other completion",
    )
    .await;
    assert_eq!(get_person(&mut people, &person).await.feedback_count, 1);
}

#[tokio::test]
async fn create_intervention_retry_returns_the_first_result_instead_of_already_exists() {
    let server = start().await;
    let mut catalog = server.catalog();
    let all = ListInterventionsRequest {
        page_size: 200,
        ..Default::default()
    };
    let before = list_all_interventions(&mut catalog, all.clone())
        .await
        .len();
    let other_id = new_intervention_id("t-other");
    let req = CreateInterventionRequest {
        request_id: rid(),
        intervention: Some(valid_intervention(&new_intervention_id("t-idem"))),
    };
    replays_and_refuses_a_changed_request(
        |r| {
            let mut c = catalog.clone();
            async move { c.create_intervention(r).await }
        },
        req,
        1,
        |r| r.intervention.as_mut().expect("set").id = other_id.clone(),
        "same id, other intervention",
    )
    .await;
    assert_eq!(
        list_all_interventions(&mut catalog, all).await.len(),
        before + 1
    );
    let got = catalog
        .get_intervention(GetInterventionRequest { id: other_id })
        .await;
    expect_code(
        got,
        Code::NotFound,
        "the conflicting intervention must not be created",
    );
}

#[tokio::test]
async fn update_intervention_retry_returns_the_first_result() {
    let server = start().await;
    let mut catalog = server.catalog();
    let stored = create_intervention(
        &mut catalog,
        valid_intervention(&new_intervention_id("t-upd")),
    )
    .await;
    let mut change = stored.clone();
    change.display_name = "First rename".to_owned();
    let req = UpdateInterventionRequest {
        request_id: rid(),
        intervention: Some(change),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["display_name".to_owned()],
        }),
    };
    replays_and_refuses_a_changed_request(
        |r| {
            let mut c = catalog.clone();
            async move { c.update_intervention(r).await }
        },
        req,
        1,
        |r| r.intervention.as_mut().expect("set").display_name = "Second rename".to_owned(),
        "same id, other name",
    )
    .await;
    let now = catalog
        .get_intervention(GetInterventionRequest { id: stored.id })
        .await
        .expect("GetIntervention")
        .into_inner()
        .intervention
        .expect("intervention");
    assert_eq!(now.display_name, "First rename");
}

#[tokio::test]
async fn delete_person_retry_returns_the_first_counts_instead_of_not_found() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    record_assessment(&mut people, &person, valid_assessment(hours_ago(1))).await;
    let req = DeletePersonRequest {
        request_id: rid(),
        name: person.clone(),
    };
    let first = replays_and_refuses_a_changed_request(
        |r| {
            let mut c = people.clone();
            async move { c.delete_person(r).await }
        },
        req,
        1,
        |r| r.name = person_name(&new_person_id()),
        "same id, other person",
    )
    .await;
    assert_eq!(first.erased_assessments, 1);
}

#[tokio::test]
async fn one_request_id_in_two_methods_does_not_replay_the_other_response() {
    let server = start().await;
    let mut people = server.people();
    let shared = rid();
    let id = new_person_id();
    people
        .create_person(CreatePersonRequest {
            request_id: shared.clone(),
            person_id: id.clone(),
            conditions: vec![],
        })
        .await
        .expect("CreatePerson");
    // Reusing the key for another method must never return CreatePerson's response:
    // it either conflicts or is an independent request.
    let result = people
        .record_assessment(RecordAssessmentRequest {
            request_id: shared,
            person: person_name(&id),
            assessment: Some(valid_assessment(hours_ago(1))),
        })
        .await;
    match result {
        Ok(resp) => {
            let a = resp
                .into_inner()
                .assessment
                .expect("an assessment, not another response");
            assert!(!a.id.is_empty());
            assert_eq!(
                get_person(&mut people, &person_name(&id))
                    .await
                    .assessment_count,
                1
            );
        }
        Err(status) => {
            assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
            assert_eq!(
                get_person(&mut people, &person_name(&id))
                    .await
                    .assessment_count,
                0
            );
        }
    }
}

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

#[tokio::test]
async fn create_person_retry_returns_the_first_person_instead_of_already_exists() {
    let server = start().await;
    let mut people = server.people();
    let req = CreatePersonRequest {
        request_id: rid(),
        person_id: new_person_id(),
        conditions: vec![],
    };
    let first = people
        .create_person(req.clone())
        .await
        .expect("first")
        .into_inner();
    let retry = people
        .create_person(req.clone())
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(
        retry, first,
        "the retry must return the first response (same create_time)"
    );

    let mut changed = req.clone();
    changed.person_id = new_person_id();
    let result = people.create_person(changed.clone()).await;
    expect_code(
        result,
        Code::FailedPrecondition,
        "same request id, different person",
    );
    let got = people
        .get_person(tutti_proto::v1::GetPersonRequest {
            name: person_name(&changed.person_id),
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
    let first = people
        .record_assessment(req.clone())
        .await
        .expect("first")
        .into_inner();
    for _ in 0..3 {
        let retry = people
            .record_assessment(req.clone())
            .await
            .expect("retry")
            .into_inner();
        assert_eq!(retry, first, "the retry must return the same assessment id");
    }
    assert_eq!(get_person(&mut people, &person).await.assessment_count, 1);

    let mut changed = req.clone();
    changed.assessment.as_mut().expect("set").ratings[0].adaptive = Some(11.0);
    expect_code(
        people.record_assessment(changed).await,
        Code::FailedPrecondition,
        "same id, other ratings",
    );
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
    let first = people
        .batch_record_assessments(req.clone())
        .await
        .expect("first")
        .into_inner();
    let retry = people
        .batch_record_assessments(req.clone())
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(first.recorded, 50);
    assert_eq!(retry, first);
    assert_eq!(get_person(&mut people, &person).await.assessment_count, 50);

    let mut changed = req.clone();
    changed.assessments.pop();
    expect_code(
        people.batch_record_assessments(changed).await,
        Code::FailedPrecondition,
        "same id, other batch",
    );
    assert_eq!(get_person(&mut people, &person).await.assessment_count, 50);
}

#[tokio::test]
async fn recommend_retry_returns_the_same_decision_and_recommendation_ids() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    record_assessment(&mut people, &person, valid_assessment(hours_ago(1))).await;
    let mut recs = server.recommendations();
    let req = recommend_request(&person);
    let first = recs
        .recommend(req.clone())
        .await
        .expect("first")
        .into_inner();
    let retry = recs
        .recommend(req.clone())
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(
        retry, first,
        "the retry must return the first ranking unchanged"
    );

    let mut changed = req.clone();
    changed.max_results = 2;
    expect_code(
        recs.recommend(changed).await,
        Code::FailedPrecondition,
        "same id, other max_results",
    );

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
    let first = recs
        .record_feedback(req.clone())
        .await
        .expect("first")
        .into_inner();
    let retry = recs
        .record_feedback(req.clone())
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(retry, first);
    assert_eq!(get_person(&mut people, &person).await.feedback_count, 1);

    let mut changed = req.clone();
    changed.feedback.as_mut().expect("set").completion = Completion::NotDone as i32;
    expect_code(
        recs.record_feedback(changed).await,
        Code::FailedPrecondition,
        "same id, other completion",
    );
    assert_eq!(get_person(&mut people, &person).await.feedback_count, 1);
}

#[tokio::test]
async fn create_intervention_retry_returns_the_first_result_instead_of_already_exists() {
    let server = start().await;
    let mut catalog = server.catalog();
    let before = list_all_interventions(
        &mut catalog,
        ListInterventionsRequest {
            page_size: 200,
            ..Default::default()
        },
    )
    .await
    .len();
    let req = CreateInterventionRequest {
        request_id: rid(),
        intervention: Some(valid_intervention(&new_intervention_id("t-idem"))),
    };
    let first = catalog
        .create_intervention(req.clone())
        .await
        .expect("first")
        .into_inner();
    let retry = catalog
        .create_intervention(req.clone())
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(retry, first);
    let after = list_all_interventions(
        &mut catalog,
        ListInterventionsRequest {
            page_size: 200,
            ..Default::default()
        },
    )
    .await
    .len();
    assert_eq!(after, before + 1);

    let mut changed = req.clone();
    let other_id = new_intervention_id("t-other");
    changed.intervention.as_mut().expect("set").id = other_id.clone();
    expect_code(
        catalog.create_intervention(changed).await,
        Code::FailedPrecondition,
        "same id, other intervention",
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
    let first = catalog
        .update_intervention(req.clone())
        .await
        .expect("first")
        .into_inner();
    let retry = catalog
        .update_intervention(req.clone())
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(retry, first);

    let mut changed = req.clone();
    changed.intervention.as_mut().expect("set").display_name = "Second rename".to_owned();
    expect_code(
        catalog.update_intervention(changed).await,
        Code::FailedPrecondition,
        "same id, other name",
    );
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
    let first = people
        .delete_person(req.clone())
        .await
        .expect("first")
        .into_inner();
    assert_eq!(first.erased_assessments, 1);
    let retry = people
        .delete_person(req.clone())
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(retry, first);
    let other = DeletePersonRequest {
        request_id: req.request_id.clone(),
        name: person_name(&new_person_id()),
    };
    expect_code(
        people.delete_person(other).await,
        Code::FailedPrecondition,
        "same id, other person",
    );
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

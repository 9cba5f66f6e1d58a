//! Behaviour: everything acknowledged is durable. People, assessments,
//! decisions, feedback, tenant interventions, erasures and idempotency keys
//! survive a clean restart and an abrupt stop of the server on the same file.

use std::time::Duration;
use tonic::Code;
use tutti_proto::v1::{
    Completion, CreatePersonRequest, DeletePersonRequest, GetInterventionRequest,
    GetPersonInsightsRequest, GetPersonRequest, RecordAssessmentRequest,
};
use tutti_tests::TestServer;
use tutti_tests::assertions::expect_code;
use tutti_tests::fixtures::{
    assessment_series, backfill, create_intervention, feedback, get_person, hours_ago,
    list_all_assessments, new_intervention_id, new_person, new_person_id, person_name, recommend,
    recommend_request, record_assessment, record_feedback, rid, valid_assessment,
    valid_intervention,
};

async fn start() -> TestServer {
    TestServer::start().await.expect("server starts")
}

#[tokio::test]
async fn data_survives_a_clean_restart() {
    let mut server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    backfill(
        &mut people,
        &person,
        assessment_series(40, hours_ago(2), Duration::from_secs(3600), 17),
    )
    .await;
    record_assessment(&mut people, &person, valid_assessment(hours_ago(1))).await;
    let mut recs = server.recommendations();
    let decision = recommend(&mut recs, recommend_request(&person)).await;
    record_feedback(
        &mut recs,
        feedback(
            &decision.recommendations[0].recommendation_id,
            Completion::Done,
        ),
    )
    .await;
    let mine = create_intervention(
        &mut server.catalog(),
        valid_intervention(&new_intervention_id("t-keep")),
    )
    .await;
    let person_before = get_person(&mut people, &person).await;
    let assessments_before = list_all_assessments(&mut people, &person, 1000).await;

    server.restart().await.expect("restart");
    let mut people = server.people();
    assert_eq!(get_person(&mut people, &person).await, person_before);
    assert_eq!(
        list_all_assessments(&mut people, &person, 1000).await,
        assessments_before
    );
    assert_eq!(
        (person_before.assessment_count, person_before.feedback_count),
        (41, 1)
    );
    let got = server
        .catalog()
        .get_intervention(GetInterventionRequest {
            id: mine.id.clone(),
        })
        .await
        .expect("the tenant intervention survives")
        .into_inner()
        .intervention;
    assert_eq!(got, Some(mine));
    let insights = people
        .get_person_insights(GetPersonInsightsRequest {
            person: person.clone(),
        })
        .await
        .expect("insights after restart")
        .into_inner();
    assert_eq!(insights.assessment_count, 41);
    assert_eq!(insights.follow_through.expect("follow_through").reported, 1);
}

#[tokio::test]
async fn a_recommendation_made_before_a_restart_takes_feedback_after_it() {
    let mut server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    record_assessment(&mut people, &person, valid_assessment(hours_ago(1))).await;
    let decision = recommend(&mut server.recommendations(), recommend_request(&person)).await;
    let rec = decision.recommendations[0].clone();

    server.restart().await.expect("restart");
    record_feedback(
        &mut server.recommendations(),
        feedback(&rec.recommendation_id, Completion::Done),
    )
    .await;
    assert_eq!(
        get_person(&mut server.people(), &person)
            .await
            .feedback_count,
        1
    );
    // The engine state learnt before the restart is still there.
    let mut req = recommend_request(&person);
    let id = rec.intervention.expect("intervention").id;
    req.pinned_intervention_ids = vec![id.clone()];
    let again = recommend(&mut server.recommendations(), req).await;
    let rationale = again.recommendations[0]
        .rationale
        .clone()
        .expect("rationale");
    assert_eq!(
        again.recommendations[0]
            .intervention
            .as_ref()
            .expect("intervention")
            .id,
        id
    );
    assert_eq!(
        rationale.times_recommended, 1,
        "the pre-restart recommendation was forgotten"
    );
    assert_eq!(rationale.times_done, 1, "the feedback was not folded in");
}

#[tokio::test]
async fn idempotency_keys_survive_a_restart() {
    let mut server = start().await;
    let mut people = server.people();
    let create = CreatePersonRequest {
        request_id: rid(),
        person_id: new_person_id(),
        conditions: vec![],
    };
    let created = people
        .create_person(create.clone())
        .await
        .expect("create")
        .into_inner();
    let person = person_name(&create.person_id);
    let record = RecordAssessmentRequest {
        request_id: rid(),
        person: person.clone(),
        assessment: Some(valid_assessment(hours_ago(1))),
    };
    let recorded = people
        .record_assessment(record.clone())
        .await
        .expect("record")
        .into_inner();

    server.restart().await.expect("restart");
    let mut people = server.people();
    assert_eq!(
        people
            .create_person(create)
            .await
            .expect("retry create")
            .into_inner(),
        created
    );
    assert_eq!(
        people
            .record_assessment(record)
            .await
            .expect("retry record")
            .into_inner(),
        recorded
    );
    assert_eq!(get_person(&mut people, &person).await.assessment_count, 1);
}

#[tokio::test]
async fn an_erased_person_stays_erased_after_a_restart() {
    let mut server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    record_assessment(&mut people, &person, valid_assessment(hours_ago(1))).await;
    people
        .delete_person(DeletePersonRequest {
            request_id: rid(),
            name: person.clone(),
        })
        .await
        .expect("DeletePerson");

    server.restart().await.expect("restart");
    let got = server
        .people()
        .get_person(GetPersonRequest { name: person })
        .await;
    expect_code(got, Code::NotFound, "erased person after restart");
}

#[tokio::test]
async fn acknowledged_writes_survive_an_abrupt_stop() {
    let mut server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    backfill(
        &mut people,
        &person,
        assessment_series(25, hours_ago(2), Duration::from_secs(3600), 5),
    )
    .await;
    let one = record_assessment(&mut people, &person, valid_assessment(hours_ago(1))).await;
    let mut recs = server.recommendations();
    let decision = recommend(&mut recs, recommend_request(&person)).await;
    record_feedback(
        &mut recs,
        feedback(
            &decision.recommendations[0].recommendation_id,
            Completion::Partly,
        ),
    )
    .await;

    server
        .abort_and_restart()
        .await
        .expect("restart after an abrupt stop");
    let mut people = server.people();
    let p = get_person(&mut people, &person).await;
    assert_eq!((p.assessment_count, p.feedback_count), (26, 1));
    let listed = list_all_assessments(&mut people, &person, 1000).await;
    assert!(
        listed.contains(&one),
        "the acknowledged single assessment is missing"
    );
}

#[tokio::test]
async fn the_server_restarts_repeatedly_on_the_same_file() {
    let mut server = start().await;
    let mut expected = 0;
    let person = new_person(&mut server.people()).await;
    for round in 0..3u64 {
        record_assessment(
            &mut server.people(),
            &person,
            valid_assessment(hours_ago(10 - round)),
        )
        .await;
        expected += 1;
        server.restart().await.expect("restart");
        assert_eq!(
            get_person(&mut server.people(), &person)
                .await
                .assessment_count,
            expected
        );
    }
    server.stop().await.expect("clean stop");
}

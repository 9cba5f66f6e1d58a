//! Behaviour: feedback is recorded against a recommendation id, counted on the
//! person, and refused for recommendations that do not exist.

use tonic::Code;
use tutti_proto::v1::{
    ClinicianDecision, ClinicianReview, Completion, Feedback, RecordFeedbackRequest,
};
use tutti_tests::TestServer;
use tutti_tests::assertions::expect_code;
use tutti_tests::fixtures::{
    feedback, get_person, hours_ago, new_person, rating, recommend, recommend_request,
    record_assessment, record_feedback, rid, ts, valid_assessment,
};

async fn start() -> TestServer {
    TestServer::start().await.expect("server starts")
}

/// A person with one assessment and one decision; returns (person, recommendation ids).
async fn person_with_recommendations(server: &TestServer) -> (String, Vec<String>) {
    let mut people = server.people();
    let person = new_person(&mut people).await;
    record_assessment(&mut people, &person, valid_assessment(hours_ago(2))).await;
    let resp = recommend(&mut server.recommendations(), recommend_request(&person)).await;
    let ids = resp
        .recommendations
        .into_iter()
        .map(|r| r.recommendation_id)
        .collect();
    (person, ids)
}

fn without_id(mut f: Feedback) -> Feedback {
    f.id.clear();
    f
}

#[tokio::test]
async fn record_feedback_stores_it_with_an_id_and_counts_it() {
    let server = start().await;
    let (person, recs) = person_with_recommendations(&server).await;
    let sent = Feedback {
        minutes_spent: Some(7),
        helpfulness: Some(80.0),
        distress_before: Some(60.0),
        distress_after: Some(35.0),
        barrier: "Was tired after work.".to_owned(),
        post_ratings: vec![rating("affect", Some(70.0), Some(20.0))],
        observe_time: Some(ts(hours_ago(1))),
        ..feedback(&recs[0], Completion::Done)
    };
    let stored = record_feedback(&mut server.recommendations(), sent.clone()).await;
    assert!(!stored.id.is_empty(), "no feedback id assigned");
    assert_eq!(
        without_id(stored),
        sent,
        "stored feedback differs from the one sent"
    );
    assert_eq!(
        get_person(&mut server.people(), &person)
            .await
            .feedback_count,
        1
    );
}

#[tokio::test]
async fn every_completion_and_a_clinician_review_alone_are_accepted() {
    let server = start().await;
    let (person, recs) = person_with_recommendations(&server).await;
    let mut client = server.recommendations();
    let mut ids = std::collections::HashSet::new();
    for (rec, completion) in
        recs.iter()
            .zip([Completion::Done, Completion::Partly, Completion::NotDone])
    {
        let stored = record_feedback(&mut client, feedback(rec, completion)).await;
        assert!(ids.insert(stored.id));
    }
    let reviews = [
        ClinicianReview {
            decision: ClinicianDecision::Accepted as i32,
            reason: String::new(),
            replacement_intervention_id: String::new(),
        },
        ClinicianReview {
            decision: ClinicianDecision::Overridden as i32,
            reason: "Prefers to start with sleep.".to_owned(),
            replacement_intervention_id: "sleep-fixed-wake-time".to_owned(),
        },
    ];
    for (rec, review) in recs[3..].iter().zip(reviews) {
        let sent = Feedback {
            completion: Completion::Unspecified as i32,
            clinician: Some(review),
            ..feedback(rec, Completion::Unspecified)
        };
        let stored = record_feedback(&mut client, sent.clone()).await;
        assert_eq!(without_id(stored.clone()), sent);
        assert!(ids.insert(stored.id));
    }
    assert_eq!(
        get_person(&mut server.people(), &person)
            .await
            .feedback_count,
        5
    );
}

#[tokio::test]
async fn a_clinician_review_and_a_later_completion_report_are_both_kept() {
    let server = start().await;
    let (person, recs) = person_with_recommendations(&server).await;
    let mut client = server.recommendations();
    let review = Feedback {
        clinician: Some(ClinicianReview {
            decision: ClinicianDecision::Accepted as i32,
            reason: String::new(),
            replacement_intervention_id: String::new(),
        }),
        ..feedback(&recs[0], Completion::Unspecified)
    };
    let first = record_feedback(&mut client, review).await;
    let second = record_feedback(&mut client, feedback(&recs[0], Completion::Done)).await;
    assert_ne!(first.id, second.id);
    assert_eq!(
        get_person(&mut server.people(), &person)
            .await
            .feedback_count,
        2
    );
}

#[tokio::test]
async fn feedback_on_an_unknown_recommendation_returns_not_found() {
    let server = start().await;
    let (person, _) = person_with_recommendations(&server).await;
    let result = server
        .recommendations()
        .record_feedback(RecordFeedbackRequest {
            request_id: rid(),
            feedback: Some(feedback(&rid(), Completion::Done)),
        })
        .await;
    expect_code(
        result,
        Code::NotFound,
        "feedback on an unknown recommendation",
    );
    assert_eq!(
        get_person(&mut server.people(), &person)
            .await
            .feedback_count,
        0
    );
}

/// Writes of every kind racing on one person (assessments, some stamped
/// before others already stored, recommendations and feedback) each land
/// once: they queue per person on the server, and none is lost or doubled.
#[tokio::test]
async fn writes_of_every_kind_racing_on_one_person_each_land_once() {
    let server = start().await;
    let (person, recs) = person_with_recommendations(&server).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..12u64 {
        let (mut people, person) = (server.people(), person.clone());
        // Odd ones an hour earlier than even ones: some arrive out of order.
        let at =
            std::time::SystemTime::now() - std::time::Duration::from_secs(60 * (i % 2) * 60 + i);
        tasks.spawn(async move {
            record_assessment(&mut people, &person, valid_assessment(at)).await;
        });
    }
    for _ in 0..6 {
        let (mut rec_api, person) = (server.recommendations(), person.clone());
        tasks.spawn(async move {
            recommend(&mut rec_api, recommend_request(&person)).await;
        });
    }
    for id in &recs {
        let (mut rec_api, id) = (server.recommendations(), id.clone());
        tasks.spawn(async move {
            record_feedback(&mut rec_api, feedback(&id, Completion::Done)).await;
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a write task panicked");
    }
    let stored = get_person(&mut server.people(), &person).await;
    assert_eq!(stored.assessment_count, 13);
    assert_eq!(stored.feedback_count, recs.len() as u32);
}

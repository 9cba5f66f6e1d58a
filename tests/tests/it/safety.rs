//! Behaviour: an acute risk flag in the latest assessment sends the person down
//! the safety path: a safety intervention first, safety_mode on, no
//! exploration, and interventions contraindicated by the risk removed.

use std::time::Duration;
use tutti_proto::v1::{RecommendResponse, RiskFlag};
use tutti_tests::PeopleClient;
use tutti_tests::TestServer;
use tutti_tests::fixtures::{
    assessment_series, backfill, hours_ago, new_person, recommend, recommend_request,
    record_assessment, valid_assessment,
};

/// The built-in safety-path interventions (safety planning, crisis resources).
const SAFETY: [&str; 2] = ["safety-plan", "crisis-resources-card"];

async fn start() -> TestServer {
    TestServer::start().await.expect("server starts")
}

/// A person with two weeks of history whose latest assessment carries `flag`.
async fn person_at_risk(people: &mut PeopleClient, flag: RiskFlag) -> String {
    let person = new_person(people).await;
    backfill(
        people,
        &person,
        assessment_series(14, hours_ago(24), Duration::from_secs(86_400), 8),
    )
    .await;
    let mut latest = valid_assessment(hours_ago(1));
    latest.risk_flags = vec![flag as i32];
    record_assessment(people, &person, latest).await;
    person
}

fn first_id(resp: &RecommendResponse) -> &str {
    &resp
        .recommendations
        .first()
        .expect("at least one item")
        .intervention
        .as_ref()
        .expect("intervention")
        .id
}

fn assert_safety_path(resp: &RecommendResponse, what: &str) {
    assert!(resp.safety_mode, "{what}: safety_mode is off");
    assert!(
        SAFETY.contains(&first_id(resp)),
        "{what}: first item is {}, not a safety intervention",
        first_id(resp)
    );
    assert_eq!(resp.exploration, 0.0, "{what}: exploration in safety mode");
    for item in &resp.recommendations {
        let rationale = item.rationale.as_ref().expect("rationale");
        assert!(
            !rationale.exploratory,
            "{what}: exploratory item in safety mode"
        );
    }
    assert!(
        !resp.recommendations[0].summary.trim().is_empty(),
        "{what}: the safety item is not explained"
    );
}

#[tokio::test]
async fn a_suicidality_flag_puts_a_safety_intervention_first_in_safety_mode() {
    let server = start().await;
    let person = person_at_risk(&mut server.people(), RiskFlag::Suicidality).await;
    let resp = recommend(&mut server.recommendations(), recommend_request(&person)).await;
    assert_safety_path(&resp, "suicidality");
    assert!(!resp.recommendations.is_empty());
}

#[tokio::test]
async fn every_risk_flag_sends_the_person_down_the_safety_path() {
    let server = start().await;
    let mut people = server.people();
    for flag in [
        RiskFlag::Suicidality,
        RiskFlag::SelfHarm,
        RiskFlag::CrisisContact,
        RiskFlag::Psychosis,
        RiskFlag::Intoxication,
    ] {
        let person = person_at_risk(&mut people, flag).await;
        let resp = recommend(&mut server.recommendations(), recommend_request(&person)).await;
        assert_safety_path(&resp, &format!("{flag:?}"));
    }
}

#[tokio::test]
async fn the_safety_path_comes_before_pins() {
    let server = start().await;
    let person = person_at_risk(&mut server.people(), RiskFlag::Suicidality).await;
    let mut req = recommend_request(&person);
    req.pinned_intervention_ids = vec!["defusion-having-the-thought".to_owned()];
    let resp = recommend(&mut server.recommendations(), req).await;
    assert_safety_path(&resp, "suicidality with a pin");
}

#[tokio::test]
async fn exposure_is_removed_under_a_suicidality_flag_even_when_pinned() {
    let server = start().await;
    let person = person_at_risk(&mut server.people(), RiskFlag::Suicidality).await;
    let mut req = recommend_request(&person);
    req.max_results = 20;
    // Built-in exposure kernels are contraindicated under acute suicidality.
    req.pinned_intervention_ids = vec!["exposure-in-vivo-step".to_owned()];
    let resp = recommend(&mut server.recommendations(), req).await;
    assert!(resp.safety_mode);
    for item in &resp.recommendations {
        let id = &item.intervention.as_ref().expect("intervention").id;
        assert!(
            !id.starts_with("exposure-"),
            "{id} recommended under acute suicidality"
        );
    }
}

#[tokio::test]
async fn the_safety_path_ends_when_a_later_assessment_has_no_risk_flag() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    let mut flagged = valid_assessment(hours_ago(48));
    flagged.risk_flags = vec![RiskFlag::Suicidality as i32];
    record_assessment(&mut people, &person, flagged).await;
    let mut recs = server.recommendations();
    assert!(
        recommend(&mut recs, recommend_request(&person))
            .await
            .safety_mode
    );
    record_assessment(&mut people, &person, valid_assessment(hours_ago(1))).await;
    let resp = recommend(&mut recs, recommend_request(&person)).await;
    assert!(
        !resp.safety_mode,
        "safety mode still on after a clean latest assessment"
    );
}

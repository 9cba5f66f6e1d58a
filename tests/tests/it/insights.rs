//! Behaviour: GetPersonInsights says what a person's data show: which
//! processes drive their outcome, their levels and trends, whether they are on
//! track, their follow-through and whether a risk is active.

use std::time::Duration;
use tonic::Code;
use tutti_proto::v1::{
    Completion, GetPersonInsightsRequest, GetPersonInsightsResponse, RiskFlag, TrackStatus,
};
use tutti_tests::assertions::{assert_estimate, assert_probability, expect_code};
use tutti_tests::fixtures::{
    RATED_PROCESSES, affect_driven_series, assessment_series, backfill, feedback, hours_ago,
    new_person, new_person_id, person_name, recommend, recommend_request, record_assessment,
    record_feedback, valid_assessment,
};
use tutti_tests::{PeopleClient, TestServer};

async fn start() -> TestServer {
    TestServer::start().await.expect("server starts")
}

async fn insights(people: &mut PeopleClient, person: &str) -> GetPersonInsightsResponse {
    people
        .get_person_insights(GetPersonInsightsRequest {
            person: person.to_owned(),
        })
        .await
        .unwrap_or_else(|s| panic!("GetPersonInsights {person}: {s:?}"))
        .into_inner()
}

fn assert_well_formed(i: &GetPersonInsightsResponse) {
    assert!(!i.model_version.is_empty(), "no model version");
    assert!(!i.summary.trim().is_empty(), "no summary");
    for p in &i.processes {
        let what = format!("process {}", p.process_id);
        for level in [p.adaptive_level, p.maladaptive_level]
            .into_iter()
            .flatten()
        {
            assert!((0.0..=100.0).contains(&level), "{what}: level {level}");
        }
        assert!(
            p.adaptive_trend.is_finite() && p.maladaptive_trend.is_finite(),
            "{what}: trend"
        );
        assert_estimate(
            p.adaptive_influence.as_ref(),
            &format!("{what} adaptive influence"),
        );
        assert_estimate(
            p.maladaptive_influence.as_ref(),
            &format!("{what} maladaptive influence"),
        );
        if let Some(s) = &p.sufficiency {
            assert!(
                (0.0..=1.0).contains(&s.own_data_weight),
                "{what}: own_data_weight"
            );
        }
    }
    for e in &i.edges {
        assert!(
            !e.source.is_empty() && !e.target.is_empty(),
            "edge without ends"
        );
        assert_estimate(
            e.weight.as_ref(),
            &format!("edge {} -> {}", e.source, e.target),
        );
    }
    let track = i.track.as_ref().expect("track is set");
    assert_ne!(
        track.status,
        TrackStatus::Unspecified as i32,
        "track status unspecified"
    );
    if track.status == TrackStatus::NotOnTrack as i32 {
        assert!(
            !track.suggested_steps.is_empty(),
            "not on track but no suggested steps"
        );
    }
    let ft = i.follow_through.as_ref().expect("follow_through is set");
    assert!(
        ft.done + ft.partly <= ft.reported,
        "more done than reported"
    );
    assert_probability(ft.probability.as_ref(), "follow-through probability");
}

#[tokio::test]
async fn insights_for_a_new_person_report_insufficient_data() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    let i = insights(&mut people, &person).await;
    assert_eq!(i.person, person);
    assert_eq!(i.assessment_count, 0);
    assert!(!i.risk_active);
    assert_eq!(
        i.track.as_ref().expect("track").status,
        TrackStatus::InsufficientData as i32
    );
    let ft = i.follow_through.as_ref().expect("follow_through");
    assert_eq!((ft.reported, ft.done, ft.partly), (0, 0, 0));
    assert_well_formed(&i);
}

#[tokio::test]
async fn insights_after_a_backfill_describe_the_rated_processes() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    backfill(
        &mut people,
        &person,
        assessment_series(60, hours_ago(1), Duration::from_secs(43_200), 13),
    )
    .await;
    let i = insights(&mut people, &person).await;
    assert_eq!(i.person, person);
    assert_eq!(i.assessment_count, 60);
    assert_well_formed(&i);
    for rated in RATED_PROCESSES {
        let p = i
            .processes
            .iter()
            .find(|p| p.process_id == rated)
            .unwrap_or_else(|| panic!("no insight for rated process {rated}"));
        assert!(
            p.adaptive_level.is_some() && p.maladaptive_level.is_some(),
            "{rated}: levels missing"
        );
        let s = p.sufficiency.as_ref().expect("sufficiency");
        assert!(s.observations > 0, "{rated}: rests on no observations");
    }
    for p in &i.processes {
        if !RATED_PROCESSES.contains(&p.process_id.as_str()) {
            assert!(
                p.adaptive_level.is_none() && p.maladaptive_level.is_none(),
                "{}: never rated, yet has a level",
                p.process_id
            );
        }
    }
    assert_ne!(
        i.track.as_ref().expect("track").status,
        TrackStatus::InsufficientData as i32,
        "60 well-being measures over a month are not insufficient"
    );
}

#[tokio::test]
async fn insights_identify_the_process_that_drives_the_outcome() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    backfill(
        &mut people,
        &person,
        affect_driven_series(200, hours_ago(1), Duration::from_secs(4 * 3600), 99),
    )
    .await;
    let i = insights(&mut people, &person).await;
    assert_well_formed(&i);
    let top = i.processes.first().expect("at least one process insight");
    assert_eq!(
        top.process_id, "affect",
        "most influential first: affect drives well-being in this data"
    );
    let influence = top.adaptive_influence.expect("adaptive influence");
    assert!(
        influence.mean > 0.0,
        "affect (adaptive) should raise next well-being, got {influence:?}"
    );
    assert!(
        influence.lower > 0.0,
        "with 200 points the interval should exclude zero, got {influence:?}"
    );
    for other in i
        .processes
        .iter()
        .filter(|p| p.process_id == "cognition" || p.process_id == "self")
    {
        let e = other.adaptive_influence.expect("adaptive influence");
        assert!(
            e.mean.abs() < influence.mean,
            "{} looks as influential as affect: {e:?} vs {influence:?}",
            other.process_id
        );
    }
    assert!(
        i.edges
            .iter()
            .any(|e| e.source.starts_with("affect") && e.target == "outcome"),
        "the network has no affect -> outcome edge: {:?}",
        i.edges
            .iter()
            .map(|e| format!("{} -> {}", e.source, e.target))
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn insights_report_follow_through_counts() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    record_assessment(&mut people, &person, valid_assessment(hours_ago(3))).await;
    let mut recs = server.recommendations();
    let resp = recommend(&mut recs, recommend_request(&person)).await;
    let ids: Vec<&str> = resp
        .recommendations
        .iter()
        .map(|r| r.recommendation_id.as_str())
        .collect();
    for (id, c) in ids.iter().zip([
        Completion::Done,
        Completion::Partly,
        Completion::NotDone,
        Completion::Done,
    ]) {
        record_feedback(&mut recs, feedback(id, c)).await;
    }
    let i = insights(&mut people, &person).await;
    let ft = i.follow_through.as_ref().expect("follow_through");
    assert_eq!((ft.reported, ft.done, ft.partly), (4, 2, 1));
    assert_well_formed(&i);
}

#[tokio::test]
async fn insights_report_an_active_risk_only_while_the_latest_assessment_carries_one() {
    let server = start().await;
    let mut people = server.people();
    let person = new_person(&mut people).await;
    let mut flagged = valid_assessment(hours_ago(5));
    flagged.risk_flags = vec![RiskFlag::Suicidality as i32];
    record_assessment(&mut people, &person, flagged).await;
    assert!(
        insights(&mut people, &person).await.risk_active,
        "risk flag in the latest assessment"
    );
    record_assessment(&mut people, &person, valid_assessment(hours_ago(1))).await;
    assert!(
        !insights(&mut people, &person).await.risk_active,
        "latest assessment is clean"
    );
}

#[tokio::test]
async fn insights_for_an_unknown_person_return_not_found() {
    let server = start().await;
    let result = server
        .people()
        .get_person_insights(GetPersonInsightsRequest {
            person: person_name(&new_person_id()),
        })
        .await;
    expect_code(result, Code::NotFound, "insights for an unknown person");
}

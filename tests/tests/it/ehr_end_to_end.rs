//! End to end, as an EHR would drive it: a FHIR bundle in (prefetch), a card
//! out, the clinician overrides it (feedback in), and the next card for the
//! same patient changes; the whole time the same person is also reachable
//! over gRPC under the pseudonymous id, never the patient's.
//!
//! Cause and effect: the server does not explore (so a new `hookInstance` is
//! not a new random draw), and a control patient with the same data gets the
//! same calls but no feedback. Its top suggestion stays put; the overridden
//! one leaves the top at once, so only the feedback can have moved it.

use serde_json::{Value, json};
use tutti_proto::v1::{GetPersonInsightsRequest, ListAssessmentsRequest};
use tutti_tests::TestServer;
use tutti_tests::ehr::{
    self, PATIENT_VIEW, TENANT, cds_post, hook, person_of, prefetch_of, the_card, weekly_history,
};

fn top(card: &Value) -> String {
    card["suggestions"][0]["label"]
        .as_str()
        .expect("label")
        .to_owned()
}

/// The card for `patient` after a chart opening with the same six weeks of data.
async fn open_chart(server: &TestServer, patient: &str) -> anyhow::Result<Value> {
    let service = format!("/cds-services/{PATIENT_VIEW}");
    let data = weekly_history(patient, 6, 14.0, -1.0);
    let r = cds_post(server, &service, &hook(patient, prefetch_of(data))).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    Ok(the_card(&r.json()))
}

#[tokio::test]
async fn bundle_in_card_out_feedback_in_and_the_next_card_changes() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| {
        ehr::configure(c);
        c.engine.exploration = 0.0;
    })
    .await?;
    let service = format!("/cds-services/{PATIENT_VIEW}");
    let first = open_chart(&server, "MRN-0042").await?;
    let control_first = open_chart(&server, "MRN-0043").await?;
    assert_eq!(
        top(&first),
        top(&control_first),
        "the same data gives the same top suggestion"
    );
    let person = person_of("MRN-0042", ehr::ISS, TENANT);
    assert!(
        !person.contains("0042"),
        "the person id hides the record number"
    );
    let listed = server
        .people_as(TENANT)
        .list_assessments(ListAssessmentsRequest {
            person: format!("people/{person}"),
            page_size: 100,
            page_token: String::new(),
        })
        .await?
        .into_inner();
    assert_eq!(
        listed.total_size, 6,
        "a PHQ-9 and a process questionnaire each week, one assessment per instant: {listed:?}"
    );

    // The clinician overrides the first patient's card; the control's is left alone.
    let fb = json!({"feedback": [{"card": first["uuid"], "outcome": "overridden",
        "overrideReason": {"reason": {"system": "http://tutti.health/fhir/CodeSystem/override-reasons", "code": "not-a-fit-now"}},
        "outcomeTimestamp": "2026-11-20T10:00:00Z"}]});
    let r = cds_post(&server, &format!("{service}/feedback"), &fb).await?;
    assert_eq!(r.status, 200, "{}", r.text);

    // The same data again (a new chart opening) for both: nothing stored twice.
    let next = open_chart(&server, "MRN-0042").await?;
    let control_next = open_chart(&server, "MRN-0043").await?;
    assert_ne!(next["uuid"], first["uuid"], "a new decision is logged");
    assert_eq!(
        top(&control_next),
        top(&control_first),
        "without feedback the top suggestion stays the same across these calls"
    );
    assert_ne!(
        top(&next),
        top(&first),
        "the overridden suggestion leaves the top on the next card"
    );
    let listed = server
        .people_as(TENANT)
        .list_assessments(ListAssessmentsRequest {
            person: format!("people/{person}"),
            page_size: 100,
            page_token: String::new(),
        })
        .await?
        .into_inner();
    assert_eq!(
        listed.total_size, 6,
        "prefetch repeated, nothing stored twice"
    );
    let insights = server
        .people_as(TENANT)
        .get_person_insights(GetPersonInsightsRequest {
            person: format!("people/{person}"),
        })
        .await?
        .into_inner();
    assert_eq!(insights.assessment_count, 6);
    server.stop().await
}

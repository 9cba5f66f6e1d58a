//! End to end, as an EHR would drive it: a FHIR bundle in (prefetch), a card
//! out, the clinician overrides it (feedback in), and the next card for the
//! same patient changes; the whole time the same person is also reachable
//! over gRPC under the pseudonymous id, never the patient's.

use serde_json::json;
use tutti_proto::v1::{GetPersonInsightsRequest, ListAssessmentsRequest};
use tutti_tests::ehr::{
    self, PATIENT_VIEW, TENANT, cds_post, hook, person_of, prefetch_of, the_card, weekly_history,
};

#[tokio::test]
async fn bundle_in_card_out_feedback_in_and_the_next_card_changes() -> anyhow::Result<()> {
    let server = ehr::start().await?;
    let service = format!("/cds-services/{PATIENT_VIEW}");
    let data = weekly_history("MRN-0042", 6, 14.0, -1.0);
    let first = the_card(
        &cds_post(
            &server,
            &service,
            &hook("MRN-0042", prefetch_of(data.clone())),
        )
        .await?
        .json(),
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

    let mut rejected = Vec::new();
    let mut card = first.clone();
    // The clinician overrides the card's suggestion until Tutti offers something else.
    for round in 0..3 {
        let top = card["suggestions"][0]["label"]
            .as_str()
            .expect("label")
            .to_owned();
        rejected.push(top.clone());
        let fb = json!({"feedback": [{"card": card["uuid"], "outcome": "overridden",
            "overrideReason": {"reason": {"system": "http://tutti.health/fhir/CodeSystem/override-reasons", "code": "not-a-fit-now"}},
            "outcomeTimestamp": "2026-11-20T10:00:00Z"}]});
        let r = cds_post(&server, &format!("{service}/feedback"), &fb).await?;
        assert_eq!(r.status, 200, "{}", r.text);
        // The same data again (a new chart opening): nothing stored twice.
        let next = the_card(
            &cds_post(
                &server,
                &service,
                &hook("MRN-0042", prefetch_of(data.clone())),
            )
            .await?
            .json(),
        );
        assert_ne!(next["uuid"], card["uuid"], "a new decision is logged");
        let now_top = next["suggestions"][0]["label"]
            .as_str()
            .expect("label")
            .to_owned();
        card = next;
        if now_top != top {
            break;
        }
        assert!(
            round < 2,
            "the top suggestion never changed after {rejected:?} were rejected"
        );
    }
    assert_ne!(
        card["suggestions"][0]["label"],
        first["suggestions"][0]["label"]
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

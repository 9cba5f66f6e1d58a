//! `POST /cds-services/{id}/feedback`: accepted and overridden outcomes are
//! stored against the logged decision as clinician reviews (RecordFeedback),
//! duplicates change nothing, bad entries are 400 with an OperationOutcome,
//! and one tenant's EHR cannot give feedback on another tenant's card.

use serde_json::json;
use tutti_proto::v1::GetPersonRequest;
use tutti_tests::ehr::{
    self, Jwt, OTHER_ISS, PATIENT_VIEW, TENANT, cds_post, hook, person_of, post, prefetch_of,
    the_card, url, weekly_history,
};

const FEEDBACK: &str = "/cds-services/tutti-patient-view/feedback";

async fn feedback_count(server: &tutti_tests::TestServer, person: &str) -> anyhow::Result<u32> {
    let p = server
        .people_as(TENANT)
        .get_person(GetPersonRequest {
            name: format!("people/{person}"),
        })
        .await?
        .into_inner()
        .person
        .expect("person");
    Ok(p.feedback_count)
}

#[tokio::test]
async fn accepted_and_overridden_feedback_is_recorded_once() -> anyhow::Result<()> {
    let server = ehr::start().await?;
    let r = cds_post(
        &server,
        &format!("/cds-services/{PATIENT_VIEW}"),
        &hook("pt-fb", prefetch_of(weekly_history("pt-fb", 5, 15.0, -1.0))),
    )
    .await?;
    let card = the_card(&r.json());
    let person = person_of("pt-fb", ehr::ISS, TENANT);
    let second = card["suggestions"][1]["uuid"]
        .as_str()
        .expect("uuid")
        .to_owned();
    let accepted = json!({"feedback": [{
        "card": card["uuid"], "outcome": "accepted",
        "acceptedSuggestions": [{"id": second}],
        "outcomeTimestamp": "2026-11-20T10:05:31Z"
    }]});
    let r = cds_post(&server, FEEDBACK, &accepted).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(feedback_count(&server, &person).await?, 1);
    // The EHR may send the same feedback again (even later): nothing changes.
    let r = cds_post(&server, FEEDBACK, &accepted).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut later = accepted.clone();
    later["feedback"][0]["outcomeTimestamp"] = json!("2026-11-20T11:00:00Z");
    assert_eq!(cds_post(&server, FEEDBACK, &later).await?.status, 200);
    assert_eq!(feedback_count(&server, &person).await?, 1);

    let overridden = json!({"feedback": [{
        "card": card["uuid"], "outcome": "overridden",
        "overrideReason": {"reason": {"system": "http://tutti.health/fhir/CodeSystem/override-reasons",
            "code": "patient-declined"}, "userComment": "Mrs Example said no"},
        "outcomeTimestamp": "2026-11-20T10:06:00Z"
    }]});
    assert_eq!(cds_post(&server, FEEDBACK, &overridden).await?.status, 200);
    assert_eq!(cds_post(&server, FEEDBACK, &overridden).await?.status, 200);
    assert_eq!(feedback_count(&server, &person).await?, 2);

    // The feedback endpoint accepts its service's URL as audience too.
    let token = Jwt::for_url(&url(&server, &format!("/cds-services/{PATIENT_VIEW}"))).sign();
    let without_reason = json!({"feedback": [{"card": card["suggestions"][2]["uuid"], "outcome": "overridden",
        "outcomeTimestamp": "2026-11-20T10:07:00Z"}]});
    let r = post(&server, FEEDBACK, Some(&token), &without_reason).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(feedback_count(&server, &person).await?, 3);
    server.stop().await
}

#[tokio::test]
async fn bad_feedback_is_refused_with_an_operation_outcome_and_stores_nothing() -> anyhow::Result<()>
{
    let server = ehr::start().await?;
    let r = cds_post(
        &server,
        &format!("/cds-services/{PATIENT_VIEW}"),
        &hook(
            "pt-fb2",
            prefetch_of(weekly_history("pt-fb2", 4, 12.0, 0.0)),
        ),
    )
    .await?;
    let card = the_card(&r.json());
    let person = person_of("pt-fb2", ehr::ISS, TENANT);
    let bad = json!({"feedback": [
        {"card": card["uuid"], "outcome": "maybe", "outcomeTimestamp": "2026-11-20T10:00:00Z"},
        {"card": card["uuid"], "outcome": "accepted", "outcomeTimestamp": "2026-11-20T10:00:00Z"},
        {"card": "not-a-uuid", "outcome": "overridden"},
    ]});
    let r = cds_post(&server, FEEDBACK, &bad).await?;
    assert_eq!(r.status, 400, "{}", r.text);
    let oo = r.json();
    let paths: Vec<String> = oo["issue"]
        .as_array()
        .expect("issues")
        .iter()
        .map(|i| i["expression"][0].as_str().expect("path").to_owned())
        .collect();
    assert_eq!(
        paths,
        vec![
            "feedback[0].outcome",
            "feedback[1].acceptedSuggestions",
            "feedback[2].card",
            "feedback[2].outcomeTimestamp"
        ]
    );
    assert_eq!(feedback_count(&server, &person).await?, 0);

    // Another tenant's EHR does not see this card.
    let other = json!({"feedback": [{"card": card["uuid"], "outcome": "overridden",
        "outcomeTimestamp": "2026-11-20T10:00:00Z"}]});
    let token = Jwt::for_url(&url(&server, FEEDBACK))
        .claim("iss", json!(OTHER_ISS))
        .sign();
    let r = post(&server, FEEDBACK, Some(&token), &other).await?;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(feedback_count(&server, &person).await?, 0);
    server.stop().await
}

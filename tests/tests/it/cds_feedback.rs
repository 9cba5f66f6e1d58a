//! `POST /cds-services/{id}/feedback`: accepted and overridden outcomes are
//! stored against the logged decision as clinician reviews (RecordFeedback),
//! duplicates change nothing, bad entries are 400 with an OperationOutcome,
//! and one tenant's EHR cannot give feedback on another tenant's card.

use prost::Message as _;
use serde_json::json;
use tutti_proto::v1::{
    ClinicianDecision, ClinicianReview, Completion, Feedback, GetPersonRequest,
    RecordFeedbackRequest,
};
use tutti_server::convert::ids::RecommendationId;
use tutti_server::ehr::cds;
use tutti_tests::ehr::{
    self, Jwt, OTHER_ISS, PATIENT_VIEW, TENANT, assert_golden, cds_post, hook, person_of, post,
    prefetch_of, the_card, url, weekly_history,
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

/// The clinician review reasons of every stored feedback row, oldest first.
fn stored_reasons(server: &tutti_tests::TestServer) -> anyhow::Result<Vec<String>> {
    let conn = rusqlite::Connection::open(server.data_path())?;
    let mut stmt = conn.prepare("SELECT payload FROM feedback ORDER BY create_time, rowid")?;
    let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
    let mut out = Vec::new();
    for payload in rows {
        let fb = Feedback::decode(payload?.as_slice())?;
        out.push(fb.clinician.map(|c| c.reason).unwrap_or_default());
    }
    Ok(out)
}

/// `text` is nowhere in the data file or its write-ahead log.
fn assert_not_stored(server: &tutti_tests::TestServer, text: &str) -> anyhow::Result<()> {
    let data = server.data_path();
    let wal = data.with_extension("db-wal");
    for file in [data, wal.as_path()] {
        let Ok(bytes) = std::fs::read(file) else {
            continue;
        };
        assert!(
            !bytes.windows(text.len()).any(|w| w == text.as_bytes()),
            "{text:?} is stored in {}",
            file.display()
        );
    }
    Ok(())
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
    // The override's userComment is free text that may name the patient: the
    // stored review holds the coded reason only, and no table holds the comment.
    let reasons = stored_reasons(&server)?;
    assert_eq!(
        reasons,
        vec![
            String::new(),
            "cds override http://tutti.health/fhir/CodeSystem/override-reasons|patient-declined Patient declined".to_owned(),
        ]
    );
    assert_not_stored(&server, "Mrs Example")?;

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

/// The stored feedback of a CDS feedback entry, read back over gRPC: the
/// RecordFeedback the feedback path made, replayed under its request id,
/// answers the first result (and a request that differs in anything, such as
/// a reason with the user's comment in it, would be refused instead).
async fn stored_review(
    server: &tutti_tests::TestServer,
    recommendation: &str,
    decision: ClinicianDecision,
    reason: &str,
    at: &str,
) -> anyhow::Result<Feedback> {
    let rec = RecommendationId::parse(recommendation)?;
    let request = RecordFeedbackRequest {
        request_id: cds::feedback_request_id(&rec, decision),
        feedback: Some(Feedback {
            recommendation_id: recommendation.to_owned(),
            clinician: Some(ClinicianReview {
                decision: decision as i32,
                reason: reason.to_owned(),
                replacement_intervention_id: String::new(),
            }),
            observe_time: Some(at.parse()?),
            ..Feedback::default()
        }),
    };
    let stored = server
        .recommendations_as(TENANT)
        .record_feedback(request)
        .await?
        .into_inner()
        .feedback
        .expect("feedback");
    Ok(stored)
}

#[tokio::test]
async fn the_stored_reviews_of_cds_feedback_match_their_golden() -> anyhow::Result<()> {
    let server = ehr::start().await?;
    let r = cds_post(
        &server,
        &format!("/cds-services/{PATIENT_VIEW}"),
        &hook(
            "pt-fb3",
            prefetch_of(weekly_history("pt-fb3", 5, 15.0, -1.0)),
        ),
    )
    .await?;
    let card = the_card(&r.json());
    let person = person_of("pt-fb3", ehr::ISS, TENANT);
    let uuid = |v: &serde_json::Value| v.as_str().expect("uuid").to_owned();
    let (first, second) = (uuid(&card["uuid"]), uuid(&card["suggestions"][1]["uuid"]));
    let sent = json!({"feedback": [
        {"card": first, "outcome": "accepted", "acceptedSuggestions": [{"id": second}],
         "outcomeTimestamp": "2026-11-20T10:05:31Z"},
        {"card": first, "outcome": "overridden",
         "overrideReason": {"reason": {"system": "http://tutti.health/fhir/CodeSystem/override-reasons",
             "code": "not-a-fit-now"}, "userComment": "Seen by Dr Example, patient prefers walking"},
         "outcomeTimestamp": "2026-11-20T10:06:00Z"},
    ]});
    let r = cds_post(&server, FEEDBACK, &sent).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(feedback_count(&server, &person).await?, 2);
    let accepted = stored_review(
        &server,
        &second,
        ClinicianDecision::Accepted,
        "",
        "2026-11-20T10:05:31Z",
    )
    .await?;
    let overridden = stored_review(
        &server,
        &first,
        ClinicianDecision::Rejected,
        "cds override http://tutti.health/fhir/CodeSystem/override-reasons|not-a-fit-now Not a fit for this patient right now",
        "2026-11-20T10:06:00Z",
    )
    .await?;
    assert_eq!(
        feedback_count(&server, &person).await?,
        2,
        "reading back stored nothing new"
    );
    let review = |fb: &Feedback, on: &str| {
        assert_eq!(fb.recommendation_id, on);
        assert!(!fb.id.is_empty());
        let c = fb.clinician.clone().expect("clinician review");
        json!({
            "recommendation_id": if on == first { "<card>" } else { "<second suggestion>" },
            "decision": ClinicianDecision::try_from(c.decision).expect("known").as_str_name(),
            "reason": c.reason,
            "replacement_intervention_id": c.replacement_intervention_id,
            "completion": Completion::try_from(fb.completion).expect("known").as_str_name(),
            "observe_time": fb.observe_time.map(|t| t.to_string()),
        })
    };
    assert_golden(
        "cds_feedback_review",
        &json!([review(&accepted, &second), review(&overridden, &first)]),
    );
    server.stop().await
}
